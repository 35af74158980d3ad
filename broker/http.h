/* eidhub: neutral HTTP request and response types.
 *
 * The core never sees a web server's types. A host (the nginx module, the
 * tests) fills an eh_http_request, calls eh_broker_handle and writes the
 * eh_http_response back. The request is read-only to the core and owned by
 * the host; the response is filled by the core with memory it allocates
 * (malloc) and is released by the host with eh_http_response_free, so it can
 * be built on any thread. */
#ifndef EH_HTTP_H
#define EH_HTTP_H

#include <stddef.h>

#include "broker/rc.h"

typedef enum eh_http_method {
    EH_HTTP_OTHER = 0,
    EH_HTTP_GET = 1 << 0,
    EH_HTTP_HEAD = 1 << 1,
    EH_HTTP_POST = 1 << 2,
    EH_HTTP_OPTIONS = 1 << 3,
} eh_http_method;

typedef struct eh_http_header {
    const char *name; /* as received; compare case-insensitively */
    const char *value;
} eh_http_header;

typedef struct eh_http_request {
    eh_http_method method;
    const char *path;  /* decoded, normalised path, e.g. "/authorize" */
    const char *query; /* raw query string without '?', "" when none */
    const eh_http_header *headers;
    size_t n_headers;
    const unsigned char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    const char *client_addr; /* the peer's address as text */
    int https;               /* the request reached us over TLS */
    const char *request_id;  /* the host's id of this request (hex, at most
                              * EH_REQUEST_ID_MAX characters), or NULL: the
                              * core makes one */
} eh_http_request;

#define EH_REQUEST_ID_MAX 64

typedef struct eh_http_response {
    int status; /* 200 unless a handler sets another */
    char **header_names;
    char **header_values;
    size_t n_headers;
    char *body; /* malloc'd, may be NULL */
    size_t body_len;
} eh_http_response;

/* eh_http_method_parse maps "GET", "HEAD", "POST", "OPTIONS" (exact case) to
 * the enum, anything else to EH_HTTP_OTHER. */
eh_http_method eh_http_method_parse(const char *name, size_t len);

/* eh_http_header_get returns the value of the first header called name
 * (case-insensitive), borrowed from req, or NULL. */
const char *eh_http_header_get(const eh_http_request *req, const char *name);

/* eh_http_query_get copies the URL-decoded value of the first query (or
 * form) parameter called name in the application/x-www-form-urlencoded text
 * `encoded` (len bytes) into a new NUL-terminated string (*value, caller
 * frees). EH_ERR_NOT_FOUND when absent, EH_ERR_INVALID for malformed
 * percent-encoding or a decoded NUL byte. A parameter given twice is
 * EH_ERR_INVALID too (OAuth 2.0 forbids repeated parameters). */
eh_rc eh_http_param_get(const char *encoded, size_t len, const char *name, char **value);

/* eh_http_form_decode decodes len bytes of form encoding at s ('+' is a
 * space, %XX escapes) into a new NUL-terminated string (*out, caller frees).
 * Refuses bad escapes and NUL bytes (EH_ERR_INVALID). */
eh_rc eh_http_form_decode(const char *s, size_t len, char **out);

/* eh_http_response_init sets resp to an empty 200 answer. */
void eh_http_response_init(eh_http_response *resp);

/* eh_http_response_free releases what resp holds and re-initialises it. */
void eh_http_response_free(eh_http_response *resp);

/* eh_http_response_add_header appends a header (both strings copied).
 * Refuses names or values with CR, LF or NUL (header injection). */
eh_rc eh_http_response_add_header(eh_http_response *resp, const char *name, const char *value);

/* eh_http_response_set_header replaces the value of the first header called
 * name (case-insensitive), or adds it. Same refusals as add_header. */
eh_rc eh_http_response_set_header(eh_http_response *resp, const char *name, const char *value);

/* eh_http_response_set_body sets status, Content-Type and a copy of len
 * bytes of body, replacing any body set before. */
eh_rc eh_http_response_set_body(eh_http_response *resp, int status, const char *content_type,
                                const void *body, size_t len);

/* eh_http_response_take_body is eh_http_response_set_body that takes
 * ownership of a malloc'd body instead of copying it (also on failure). */
eh_rc eh_http_response_take_body(eh_http_response *resp, int status, const char *content_type,
                                 char *body, size_t len);

/* eh_http_response_header_get returns the value of the first response
 * header called name (case-insensitive), or NULL. */
const char *eh_http_response_header_get(const eh_http_response *resp, const char *name);

#endif
