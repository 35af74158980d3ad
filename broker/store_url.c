/* eidhub: reading store URLs from the configuration.
 *
 * Only the shm:// form is read here; redis:// URLs are read by
 * eh_store_redis_new, which knows what it needs from them. */
#include "broker/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define EH_SHM_URL_PREFIX "shm://"
#define EH_SHM_URL_SIZE "?size="
#define EH_SHM_DEFAULT_SIZE ((size_t)64 * 1024 * 1024)
#define EH_SHM_MAX_SIZE ((unsigned long long)64 * 1024 * 1024 * 1024)

/* eh_store_url_fail writes one line into err (errlen bytes, when there is
 * room) and returns EH_ERR_CONFIG. */
static eh_rc eh_store_url_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static eh_rc eh_store_url_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return EH_ERR_CONFIG;
}

/* eh_store_url_size reads a byte count: decimal digits and an optional k, m
 * or g (either case, powers of 1024). Anything else, or a count past
 * EH_SHM_MAX_SIZE, fails. */
static int eh_store_url_size(const char *p, unsigned long long *out)
{
    unsigned long long n = 0, unit = 1;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (unsigned long long)(*p - '0');
        if (n > EH_SHM_MAX_SIZE)
            return -1;
    }
    switch (*p) {
    case '\0':
        break;
    case 'k':
    case 'K':
        unit = 1024;
        p++;
        break;
    case 'm':
    case 'M':
        unit = 1024 * 1024;
        p++;
        break;
    case 'g':
    case 'G':
        unit = 1024 * 1024 * 1024;
        p++;
        break;
    default:
        return -1;
    }
    if (*p != '\0' || n > EH_SHM_MAX_SIZE / unit)
        return -1;
    *out = n * unit;
    return 0;
}

eh_rc eh_store_url_parse_shm_size(const char *url, size_t *size, char *err, size_t errlen)
{
    const char *rest;
    unsigned long long n;
    size_t min = eh_store_shm_min_size();

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (url == NULL || size == NULL)
        return EH_ERR_INVALID;
    if (strncasecmp(url, EH_SHM_URL_PREFIX, strlen(EH_SHM_URL_PREFIX)) != 0)
        return eh_store_url_fail(err, errlen, "store URL: not a shm:// URL");
    rest = url + strlen(EH_SHM_URL_PREFIX);
    if (*rest == '\0') {
        *size = EH_SHM_DEFAULT_SIZE;
        return EH_OK;
    }
    if (strncmp(rest, EH_SHM_URL_SIZE, strlen(EH_SHM_URL_SIZE)) != 0)
        return eh_store_url_fail(err, errlen,
                                 "store URL: expected \"shm://\" or \"shm://?size=<n>[k|m|g]\"");
    if (eh_store_url_size(rest + strlen(EH_SHM_URL_SIZE), &n) != 0)
        return eh_store_url_fail(err, errlen,
                                 "store URL: size must be a whole number of bytes with an "
                                 "optional k, m or g suffix, at most 64g");
    if (n < min)
        return eh_store_url_fail(err, errlen, "store URL: size must be at least %zuk", min / 1024);
    if (n > SIZE_MAX)
        return eh_store_url_fail(err, errlen, "store URL: size too large for this system");
    *size = (size_t)n;
    return EH_OK;
}
