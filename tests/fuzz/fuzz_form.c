/* Fuzz target: application/x-www-form-urlencoded text, as in OIDC request
 * parameters (query strings of /authorize, bodies of /token and of every
 * form of the flow): eh_http_param_get and eh_http_form_decode.
 *
 * Differential: both are compared with a plain reference decoder written
 * from broker/http.h's contract ('+' is a space, %XX escapes, bad escapes
 * and NUL bytes refused, a repeated parameter refused). A decoded value
 * round-trips through percent-encoding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/http.h"
#include "tests/fuzz/fuzz_util.h"

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ref_decode: the contract. Returns EH_OK with *out (len in *n) or
 * EH_ERR_INVALID. */
static eh_rc ref_decode(const unsigned char *s, size_t len, char **out, size_t *n)
{
    char *buf = malloc(len + 1);
    size_t k = 0;

    if (buf == NULL)
        abort();
    for (size_t i = 0; i < len; i++) {
        int c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex(s[i + 1]) : -1, lo = i + 2 < len ? hex(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(buf);
                return EH_ERR_INVALID;
            }
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0) {
            free(buf);
            return EH_ERR_INVALID;
        }
        buf[k++] = (char)c;
    }
    buf[k] = '\0';
    *out = buf;
    *n = k;
    return EH_OK;
}

/* ref_param: the contract of eh_http_param_get. */
static eh_rc ref_param(const unsigned char *s, size_t len, const char *name, char **value)
{
    const unsigned char *p = s, *end = s + len, *found = NULL;
    size_t found_len = 0, n;

    *value = NULL;
    while (p < end) {
        const unsigned char *amp = memchr(p, '&', (size_t)(end - p));
        const unsigned char *pair_end = amp ? amp : end;
        const unsigned char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const unsigned char *key_end = eq ? eq : pair_end;
        char *key;
        if (ref_decode(p, (size_t)(key_end - p), &key, &n) != EH_OK)
            return EH_ERR_INVALID;
        if (strcmp(key, name) == 0) {
            if (found != NULL) {
                free(key);
                return EH_ERR_INVALID;
            }
            found = eq ? eq + 1 : pair_end;
            found_len = (size_t)(pair_end - found);
        }
        free(key);
        p = amp ? amp + 1 : end;
    }
    if (found == NULL)
        return EH_ERR_NOT_FOUND;
    return ref_decode(found, found_len, value, &n);
}

/* encode percent-encodes every byte of s but the unreserved ones. */
static char *encode(const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1), *o = out;

    if (out == NULL)
        abort();
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = digits[c >> 4];
            *o++ = digits[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static void check_param(const uint8_t *data, size_t size, const char *name)
{
    char *got = NULL, *want = NULL;
    eh_rc rc = eh_http_param_get((const char *)data, size, name, &got);
    eh_rc ref = ref_param(data, size, name, &want);

    if (rc != ref)
        fprintf(stderr, "eh_http_param_get(%s): rc %d, the contract says %d\n", name, rc, ref);
    FZ_CHECK(rc == ref);
    if (rc == EH_OK) {
        FZ_CHECK(got != NULL && strcmp(got, want) == 0);
    } else {
        FZ_CHECK(got == NULL);
    }
    free(got);
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"client_id",
                                        "redirect_uri",
                                        "response_type",
                                        "scope",
                                        "state",
                                        "nonce",
                                        "code",
                                        "code_verifier",
                                        "grant_type",
                                        "csrf",
                                        "prompt",
                                        "code_challenge",
                                        "max_age",
                                        "ui_locales",
                                        "login_hint",
                                        "phone",
                                        "personal_code",
                                        "a",
                                        "",
                                        NULL};
    char *got = NULL, *want = NULL, *enc, *back = NULL;
    size_t want_len = 0;
    const uint8_t *eq, *amp;
    eh_rc rc, ref;

    fz_init();
    /* the whole input as one value */
    rc = eh_http_form_decode((const char *)data, size, &got);
    ref = ref_decode(data, size, &want, &want_len);
    if (rc != ref)
        fprintf(stderr, "eh_http_form_decode: rc %d, the contract says %d\n", rc, ref);
    FZ_CHECK(rc == ref);
    if (rc == EH_OK) {
        FZ_CHECK(got != NULL);
        FZ_CHECK(strlen(got) == want_len && memcmp(got, want, want_len) == 0);
        enc = encode(got);
        FZ_CHECK(eh_http_form_decode(enc, strlen(enc), &back) == EH_OK);
        FZ_CHECK(strcmp(back, got) == 0);
        free(enc);
        free(back);
    } else {
        FZ_CHECK(got == NULL);
    }
    free(got);
    free(want);

    /* the whole input as a query string or form body */
    for (size_t i = 0; names[i] != NULL; i++)
        check_param(data, size, names[i]);
    /* and the name of its first parameter, whatever it is */
    amp = memchr(data, '&', size);
    eq = memchr(data, '=', amp ? (size_t)(amp - data) : size);
    if (eq != NULL && ref_decode(data, (size_t)(eq - data), &want, &want_len) == EH_OK) {
        check_param(data, size, want);
        free(want);
    }
    return 0;
}
