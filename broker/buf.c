#include "broker/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eh_buf_init(eh_buf *b)
{
    memset(b, 0, sizeof(*b));
}

/* reserve makes room for extra more bytes plus the NUL. */
static int reserve(eh_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (b->failed)
        return 0;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 1;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void eh_buf_append_len(eh_buf *b, const char *s, size_t len)
{
    if (!reserve(b, len))
        return;
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void eh_buf_append(eh_buf *b, const char *s)
{
    eh_buf_append_len(b, s, strlen(s));
}

void eh_buf_appendf(eh_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void eh_buf_append_html(eh_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            eh_buf_append(b, "&amp;");
            break;
        case '<':
            eh_buf_append(b, "&lt;");
            break;
        case '>':
            eh_buf_append(b, "&gt;");
            break;
        case '"':
            eh_buf_append(b, "&quot;");
            break;
        case '\'':
            eh_buf_append(b, "&#39;");
            break;
        default:
            eh_buf_append_len(b, s, 1);
        }
    }
}

void eh_buf_append_urlenc(eh_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            eh_buf_append_len(b, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            eh_buf_append_len(b, esc, 3);
        }
    }
}

eh_rc eh_buf_finish(eh_buf *b, char **out, size_t *len)
{
    if (b->failed) {
        eh_buf_free(b);
        return EH_ERR_NOMEM;
    }
    if (!reserve(b, 0)) {
        eh_buf_free(b);
        return EH_ERR_NOMEM;
    }
    b->data[b->len] = '\0';
    *out = b->data;
    if (len != NULL)
        *len = b->len;
    eh_buf_init(b);
    return EH_OK;
}

void eh_buf_free(eh_buf *b)
{
    free(b->data);
    eh_buf_init(b);
}
