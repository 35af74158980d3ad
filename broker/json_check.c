#include "broker/json_check.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/json_path.h"

/* fail writes "<file>: <path>: <message>" and returns EH_ERR_CONFIG. */
eh_rc eh_check_fail(eh_check *v, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(v->err, v->errlen, "%s: %s: %s", v->file, path, msg);
    /* one printable line, whatever values from the document the message quotes */
    for (char *p = v->err; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return EH_ERR_CONFIG;
}

/* check_members refuses any member of obj not named in allowed (NULL-ended),
 * so that a misspelt option is an error rather than silently ignored. */
eh_rc eh_check_members(eh_check *v, const json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *value;
    char sub[EH_JSON_PATH_MAX];

    json_object_foreach((json_t *)obj, key, value) {
        int known = 0;
        (void)value;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            eh_json_path_member(sub, sizeof(sub), path, key);
            return eh_check_fail(v, sub, "unknown member");
        }
    }
    return EH_OK;
}

/* get_string reads member name of obj as a new string in *out. A missing
 * member is an error when required, otherwise leaves *out NULL. */
eh_rc eh_check_string(eh_check *v, const json_t *obj, const char *path, const char *name,
                        int required, char **out)
{
    char sub[EH_JSON_PATH_MAX];
    json_t *m = json_object_get(obj, name);

    eh_json_path_member(sub, sizeof(sub), path, name);
    *out = NULL;
    if (m == NULL) {
        if (required)
            return eh_check_fail(v, sub, "is required");
        return EH_OK;
    }
    if (!json_is_string(m))
        return eh_check_fail(v, sub, "must be a string");
    if (json_string_length(m) == 0 || strlen(json_string_value(m)) != json_string_length(m))
        return eh_check_fail(v, sub, "must be a non-empty string without NUL bytes");
    *out = strdup(json_string_value(m));
    return *out ? EH_OK : EH_ERR_NOMEM;
}

/* loopback_host tells whether host names this machine, where plain http is
 * acceptable (development, tests, native clients). */
static int loopback_host(const char *host)
{
    struct in_addr v4;
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    /* only a real IPv4 address in 127.0.0.0/8, never a name like 127.evil.example */
    return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

/* check_url refuses anything but an absolute https URL (http for loopback
 * hosts) with a host and without userinfo or fragment; no_query refuses a
 * query too. Parsed by libcurl's URL API, not by hand. */
eh_rc eh_check_url(eh_check *v, const char *path, const char *url, int no_query)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *part = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (u == NULL)
        goto cleanup;
    rc = eh_check_fail(v, path, "must be an absolute http(s) URL (http only for loopback hosts), "
                       "without user info or fragment%s",
              no_query ? " or query" : "");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto cleanup;
    if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 && loopback_host(host)))
        goto cleanup;
    /* exactly a lower-case scheme, "://", the host: libcurl would also read
     * "https:/host" or "HTTPS://host" */
    if (strncmp(url, scheme, strlen(scheme)) != 0 || strncmp(url + strlen(scheme), "://", 3) != 0 ||
        url[strlen(scheme) + 3] == '/')
        goto cleanup;
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK)
        goto cleanup;
    if (curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK || strchr(url, '#') != NULL)
        goto cleanup;
    if (no_query && (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
                     strchr(url, '?') != NULL))
        goto cleanup;
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            goto cleanup;
    }
    rc = EH_OK;
    v->err[0] = '\0';
cleanup:
    curl_free(scheme);
    curl_free(host);
    curl_free(part);
    curl_url_cleanup(u);
    return rc;
}

/* get_url_array reads member name (an array of URLs) into a new vector. */
eh_rc eh_check_url_array(eh_check *v, const json_t *obj, const char *path, const char *name,
                           int required, char ***out, size_t *n)
{
    char sub[EH_JSON_PATH_MAX], item_path[EH_JSON_PATH_MAX];
    json_t *arr = json_object_get(obj, name), *item;
    size_t i;
    eh_rc rc;

    eh_json_path_member(sub, sizeof(sub), path, name);
    *out = NULL;
    *n = 0;
    if (arr == NULL)
        return required ? eh_check_fail(v, sub, "is required") : EH_OK;
    if (!json_is_array(arr) || (required && json_array_size(arr) == 0))
        return eh_check_fail(v, sub, required ? "must be a non-empty array of URLs" : "must be an array of URLs");
    *out = calloc(json_array_size(arr) + 1, sizeof(char *));
    if (*out == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(arr, i, item) {
        eh_json_path_index(item_path, sizeof(item_path), sub, i);
        if (!json_is_string(item))
            return eh_check_fail(v, item_path, "must be a string");
        rc = eh_check_url(v, item_path, json_string_value(item), 0);
        if (rc != EH_OK)
            return rc;
        (*out)[i] = strdup(json_string_value(item));
        if ((*out)[i] == NULL)
            return EH_ERR_NOMEM;
        *n = i + 1;
    }
    return EH_OK;
}


eh_rc eh_check_uint(eh_check *v, const json_t *obj, const char *path, const char *name,
                    unsigned min, unsigned max, unsigned *out)
{
    char sub[EH_JSON_PATH_MAX];
    json_t *m = json_object_get(obj, name);

    if (m == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, name);
    if (!json_is_integer(m) || json_integer_value(m) < (json_int_t)min ||
        json_integer_value(m) > (json_int_t)max)
        return eh_check_fail(v, sub, "must be an integer from %u to %u", min, max);
    *out = (unsigned)json_integer_value(m);
    return EH_OK;
}

eh_rc eh_check_resolve(const char *config_path, const char *file, char **out)
{
    char *copy, *dir;
    int n;

    if (file[0] == '/') {
        *out = strdup(file);
        return *out ? EH_OK : EH_ERR_NOMEM;
    }
    copy = strdup(config_path);
    if (copy == NULL)
        return EH_ERR_NOMEM;
    dir = dirname(copy);
    n = asprintf(out, "%s/%s", dir, file);
    free(copy);
    return n < 0 ? EH_ERR_NOMEM : EH_OK;
}

