#include "broker/cookie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* find_in_header looks for name in one Cookie header ("a=1; b=2"); counts
 * every occurrence in *seen and remembers the first value. */
static void find_in_header(const char *header, const char *name, const char **value,
                           size_t *value_len, int *seen)
{
    size_t name_len = strlen(name);
    const char *p = header;

    while (*p) {
        const char *end = strchr(p, ';');
        size_t pair_len;
        while (*p == ' ' || *p == '\t')
            p++;
        pair_len = end ? (size_t)(end - p) : strlen(p);
        if (pair_len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            if (*seen == 0) {
                *value = p + name_len + 1;
                *value_len = pair_len - name_len - 1;
            }
            (*seen)++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
}

eh_rc eh_cookie_get(const eh_http_request *req, const char *name, char **value)
{
    const char *found = NULL;
    size_t found_len = 0;
    int seen = 0;

    *value = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Cookie") == 0)
            find_in_header(req->headers[i].value, name, &found, &found_len, &seen);
    }
    if (seen == 0)
        return EH_ERR_NOT_FOUND;
    if (seen > 1 || found_len > EH_COOKIE_VALUE_MAX)
        return EH_ERR_INVALID;
    while (found_len > 0 && (found[found_len - 1] == ' ' || found[found_len - 1] == '\t'))
        found_len--;
    *value = strndup(found, found_len);
    return *value ? EH_OK : EH_ERR_NOMEM;
}

eh_rc eh_cookie_set(eh_http_response *resp, const char *name, const char *value, int max_age,
                    int secure)
{
    return eh_cookie_set_scoped(resp, name, value, max_age, secure, "/", "Lax");
}

eh_rc eh_cookie_set_scoped(eh_http_response *resp, const char *name, const char *value,
                           int max_age, int secure, const char *path, const char *samesite)
{
    char header[EH_COOKIE_VALUE_MAX + 256];
    int n;

    if (strpbrk(value, ";, \t\r\n\"\\") != NULL || path[0] != '/' ||
        strpbrk(path, ";, \t\r\n\"\\") != NULL || strpbrk(samesite, "; \t\r\n") != NULL)
        return EH_ERR_INVALID;
    n = snprintf(header, sizeof(header), "%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=%s%s",
                 name, value, path, max_age, samesite, secure ? "; Secure" : "");
    if (n < 0 || (size_t)n >= sizeof(header))
        return EH_ERR_TOO_LARGE;
    return eh_http_response_add_header(resp, "Set-Cookie", header);
}
