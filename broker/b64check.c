#include "broker/b64check.h"

#include <string.h>

int eh_b64_ok(const char *s, size_t len, int url)
{
    const char *alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t data = 0, pad = 0;

    if (s == NULL)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=') {
            pad++;
        } else if (pad > 0 || s[i] == '\0' || strchr(alphabet, s[i]) == NULL) {
            return 0;
        } else {
            data++;
        }
    }
    if (pad > 2 || data % 4 == 1)
        return 0;
    /* padding, when present, must complete the last quantum exactly */
    return pad == 0 || (data + pad) % 4 == 0;
}

/* b64url_bare_ok tells whether len bytes at s are base64url without
 * padding, the form RFC 7515 section 2 prescribes for JWS parts and JWK
 * members. */
static int b64url_bare_ok(const char *s, size_t len)
{
    return eh_b64_ok(s, len, 1) && memchr(s, '=', len) == NULL;
}

int eh_jws_compact_ok(const char *s, size_t len)
{
    const char *end = s + len, *p = s;
    int parts = 0;

    if (s == NULL)
        return 0;
    while (p <= end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        if (!b64url_bare_ok(p, (size_t)(stop - p)))
            return 0;
        parts++;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    return parts == 3;
}

int eh_jwk_ok(const json_t *jwk)
{
    static const char *const plain[] = {"kty", "kid", "alg", "use", "crv"};
    const char *name;
    json_t *value;

    if (!json_is_object(jwk))
        return 0;
    json_object_foreach((json_t *)jwk, name, value) {
        int is_plain = 0;
        for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
            is_plain |= strcmp(name, plain[i]) == 0;
        if (is_plain || !json_is_string(value))
            continue;
        if (!b64url_bare_ok(json_string_value(value), json_string_length(value)))
            return 0;
    }
    return 1;
}
