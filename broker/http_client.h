/* eidhub: outgoing HTTP calls to identity providers (libcurl easy API).
 *
 * Blocking, so only ever called from handlers the dispatch table marks
 * blocking (the module runs them in its thread pool). Every call is bounded
 * by its timeouts and by a maximum answer size, follows no redirects, speaks
 * only http(s), and can pin the server's public key. */
#ifndef EH_HTTP_CLIENT_H
#define EH_HTTP_CLIENT_H

#include <stddef.h>

#include "broker/metrics.h"
#include "broker/rc.h"

#define EH_HTTP_CLIENT_MAX_BODY (256 * 1024)

typedef struct eh_http_call {
    const char *method;            /* "GET" or "POST" */
    const char *url;
    const char *json_body;         /* sent as application/json when not NULL */
    const char *pinned_public_key; /* curl's "sha256//..." list, or NULL */
    unsigned timeout_ms;           /* whole call */
    unsigned connect_timeout_ms;
    const char *form_body;     /* sent as application/x-www-form-urlencoded when not NULL
                                * (and json_body is NULL) */
    const char *authorization; /* the Authorization header's value, or NULL */
    const char *soap_body;     /* a SOAP 1.1 envelope sent as text/xml (SAML's SOAPAction)
                                * when json_body and form_body are NULL */
    int upstream; /* an eh_upstream: whose duration histogram the call
                   * counts in; 0 (EH_UPSTREAM_NONE) for none */
    const void *raw_body;         /* binary body of raw_body_len bytes, sent as
                                   * raw_content_type when the bodies above are NULL */
    size_t raw_body_len;
    const char *raw_content_type; /* e.g. "application/ocsp-request" */
    const char *raw_accept;       /* the Accept header with raw_body, or NULL for any */
} eh_http_call;

typedef struct eh_http_answer {
    long status; /* HTTP status */
    char *body;  /* NUL-terminated, caller frees */
    size_t body_len;
} eh_http_answer;

/* eh_http_client_init initialises libcurl once per process; call it before
 * any thread starts (eh_broker_load does). */
eh_rc eh_http_client_init(void);

/* eh_http_client_call performs call and fills answer (whatever the status).
 * EH_ERR_IO when no answer came (connect failure, timeout, TLS, pin),
 * EH_ERR_TOO_LARGE when the answer exceeds EH_HTTP_CLIENT_MAX_BODY,
 * EH_ERR_INVALID for a raw_content_type or raw_accept holding a line break.
 * why gets curl's reason. */
eh_rc eh_http_client_call(const eh_http_call *call, eh_http_answer *answer, char *why,
                          size_t whylen);

/* eh_http_client_other_threads counts the threads other than the calling
 * one that keep a handle which has not been freed yet: a thread frees its
 * handle when it ends (eh_broker_process_exit waits for that). */
unsigned eh_http_client_other_threads(void);

/* eh_http_answer_clear frees what answer holds. */
void eh_http_answer_clear(eh_http_answer *answer);

#endif
