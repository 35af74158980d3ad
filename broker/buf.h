/* eidhub: a growable text buffer, for pages and URLs.
 *
 * Appends never fail loudly: the first allocation failure marks the buffer
 * failed, later appends do nothing, and eh_buf_finish reports it, so callers
 * build a whole text and check once. */
#ifndef EH_BUF_H
#define EH_BUF_H

#include <stddef.h>

#include "broker/rc.h"

typedef struct eh_buf {
    char *data; /* NUL-terminated while not failed */
    size_t len;
    size_t cap;
    int failed;
} eh_buf;

/* eh_buf_init makes b empty (no allocation yet). */
void eh_buf_init(eh_buf *b);

/* eh_buf_append_len / eh_buf_append / eh_buf_appendf add text. */
void eh_buf_append_len(eh_buf *b, const char *s, size_t len);
void eh_buf_append(eh_buf *b, const char *s);
void eh_buf_appendf(eh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* eh_buf_append_html adds s with the five HTML-significant characters
 * (& < > " ') escaped, so any input is safe in text and in quoted attributes. */
void eh_buf_append_html(eh_buf *b, const char *s);

/* eh_buf_append_urlenc adds s percent-encoded for a query component (every
 * byte but unreserved ones, RFC 3986), e.g. for redirect parameters. */
void eh_buf_append_urlenc(eh_buf *b, const char *s);

/* eh_buf_finish hands the text to the caller (*out, free() it; *len may be
 * NULL) and empties b. EH_ERR_NOMEM when any append failed. */
eh_rc eh_buf_finish(eh_buf *b, char **out, size_t *len);

/* eh_buf_free releases b's memory. */
void eh_buf_free(eh_buf *b);

#endif
