#include "broker/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

eh_http_method eh_http_method_parse(const char *name, size_t len)
{
    static const struct {
        const char *name;
        eh_http_method method;
    } methods[] = {
        {"GET", EH_HTTP_GET},
        {"HEAD", EH_HTTP_HEAD},
        {"POST", EH_HTTP_POST},
        {"OPTIONS", EH_HTTP_OPTIONS},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0)
            return methods[i].method;
    }
    return EH_HTTP_OTHER;
}

const char *eh_http_header_get(const eh_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    }
    return NULL;
}

/* hex_value returns the value of hex digit c, or -1. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

eh_rc eh_http_form_decode(const char *s, size_t len, char **out)
{
    char *buf = malloc(len + 1);
    size_t n = 0;

    if (buf == NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0') {
            free(buf);
            return EH_ERR_INVALID;
        }
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(buf);
                return EH_ERR_INVALID;
            }
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = buf;
    return EH_OK;
}

eh_rc eh_http_param_get(const char *encoded, size_t len, const char *name, char **value)
{
    size_t name_len = strlen(name);
    const char *p = encoded, *end = encoded + len;
    const char *found = NULL;
    size_t found_len = 0;

    *value = NULL;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *key_end = eq ? eq : pair_end;
        char *key = NULL;
        eh_rc rc = eh_http_form_decode(p, (size_t)(key_end - p), &key);
        if (rc != EH_OK)
            return rc;
        if (strlen(key) == name_len && memcmp(key, name, name_len) == 0) {
            free(key);
            if (found != NULL)
                return EH_ERR_INVALID;
            found = eq ? eq + 1 : pair_end;
            found_len = (size_t)(pair_end - found);
        } else {
            free(key);
        }
        p = amp ? amp + 1 : end;
    }
    if (found == NULL)
        return EH_ERR_NOT_FOUND;
    return eh_http_form_decode(found, found_len, value);
}

void eh_http_response_init(eh_http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = 200;
}

void eh_http_response_free(eh_http_response *resp)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    free(resp->header_names);
    free(resp->header_values);
    free(resp->body);
    eh_http_response_init(resp);
}

/* header_text_ok refuses CR, LF (response splitting) and empty names. */
static int header_text_ok(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

eh_rc eh_http_response_add_header(eh_http_response *resp, const char *name, const char *value)
{
    char **names, **values;

    if (name == NULL || value == NULL || *name == '\0' || !header_text_ok(name) ||
        !header_text_ok(value))
        return EH_ERR_INVALID;
    names = realloc(resp->header_names, (resp->n_headers + 1) * sizeof(*names));
    if (names == NULL)
        return EH_ERR_NOMEM;
    resp->header_names = names;
    values = realloc(resp->header_values, (resp->n_headers + 1) * sizeof(*values));
    if (values == NULL)
        return EH_ERR_NOMEM;
    resp->header_values = values;
    names[resp->n_headers] = strdup(name);
    values[resp->n_headers] = strdup(value);
    if (names[resp->n_headers] == NULL || values[resp->n_headers] == NULL) {
        free(names[resp->n_headers]);
        free(values[resp->n_headers]);
        return EH_ERR_NOMEM;
    }
    resp->n_headers++;
    return EH_OK;
}

eh_rc eh_http_response_set_header(eh_http_response *resp, const char *name, const char *value)
{
    char *copy;

    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], name) != 0)
            continue;
        if (value == NULL || !header_text_ok(value))
            return EH_ERR_INVALID;
        copy = strdup(value);
        if (copy == NULL)
            return EH_ERR_NOMEM;
        free(resp->header_values[i]);
        resp->header_values[i] = copy;
        return EH_OK;
    }
    return eh_http_response_add_header(resp, name, value);
}

eh_rc eh_http_response_take_body(eh_http_response *resp, int status, const char *content_type,
                                 char *body, size_t len)
{
    eh_rc rc = eh_http_response_set_header(resp, "Content-Type", content_type);
    if (rc != EH_OK) {
        free(body);
        return rc;
    }
    free(resp->body);
    resp->body = body;
    resp->body_len = len;
    resp->status = status;
    return EH_OK;
}

eh_rc eh_http_response_set_body(eh_http_response *resp, int status, const char *content_type,
                                const void *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return EH_ERR_NOMEM;
    if (len > 0)
        memcpy(copy, body, len);
    copy[len] = '\0';
    return eh_http_response_take_body(resp, status, content_type, copy, len);
}

const char *eh_http_response_header_get(const eh_http_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], name) == 0)
            return resp->header_values[i];
    }
    return NULL;
}
