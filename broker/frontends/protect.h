/* eidhub: protecting an existing web application (docs/protect.md).
 *
 * An nginx location with `eidhub_protect <client_id>;` passes requests on
 * to an application (proxy_pass, fastcgi_pass, ...) only for citizens with
 * an application session, and tells the application who they are in request
 * headers, as mod_auth_openidc and oauth2-proxy do. This file is the
 * decision logic; the module only strips headers, runs eh_protect_check in
 * its thread pool and applies the verdict.
 *
 *   no session  -> 303 into our own OIDC authorization flow for the relying
 *                  party (state, nonce, PKCE S256), with the redirect_uri
 *                  <issuer>/protect/callback; the callback redeems the code
 *                  inside the core, keeps the claims userinfo would return in
 *                  an application session (store key "app:", cookie
 *                  eidhub_app_<hash of client_id>) and goes back to the
 *                  original path and query (a local path only)
 *   session     -> continue, with X-Eidhub-Sub and one X-Eidhub-<Claim> per
 *                  released claim (values percent-encoded UTF-8, RFC 3986)
 *
 * Client-sent headers that look like identity headers (the prefix, any case,
 * '-' or '_'; any header name a claim is mapped to) are always removed by the
 * host before anything else: eh_protect_header_is_identity. */
#ifndef EH_PROTECT_H
#define EH_PROTECT_H

#include <jansson.h>
#include <stddef.h>

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;
struct eh_check;
struct eh_config_rp;

#define EH_PROTECT_CALLBACK_PATH "/protect/callback"
#define EH_PROTECT_LOGOUT_PATH "/protect/logout"
#define EH_PROTECT_DEFAULT_PREFIX "X-Eidhub-"
#define EH_PROTECT_DEFAULT_SESSION_S (30u * 60u)
#define EH_PROTECT_STATE_COOKIE "eidhub_pst"
#define EH_PROTECT_RETURN_MAX 2048

/* A relying party's "protect" member of the configuration. */
typedef struct eh_protect_config {
    unsigned session_s;    /* application session lifetime, seconds */
    char *header_prefix;   /* of identity headers, e.g. "X-Eidhub-" */
    json_t *claim_headers; /* {"claim": "Header-Name"}; may be NULL */
    char *scope;           /* scope asked for; NULL: derived from the policy */
} eh_protect_config;

/* eh_protect_config_parse reads the "protect" member of relying party obj
 * (path is its JSON path) into *out (NULL when absent; caller frees with
 * eh_protect_config_free). Errors go through v as for the rest of the
 * configuration. */
eh_rc eh_protect_config_parse(struct eh_check *v, const json_t *obj, const char *path,
                              eh_protect_config **out);

/* eh_protect_config_free releases c (NULL is fine). */
void eh_protect_config_free(eh_protect_config *c);

/* eh_protect_rp returns the relying party client_id that a location may be
 * protected for (borrowed from b's configuration, valid as long as b), or
 * NULL with the reason in err: unknown client_id, or <issuer>/protect/callback
 * missing from its redirect_uris. Never blocks. */
const struct eh_config_rp *eh_protect_rp(const struct eh_broker *b, const char *client_id,
                                         char *err, size_t errlen);

/* eh_protect_header_is_identity tells whether the request header name
 * (len bytes, not NUL-terminated) must be removed before a request goes to
 * rp's application: its name starts with the identity header prefix or is a
 * header some claim is mapped to, compared case-insensitively with '-' and
 * '_' taken as equal (CGI and many frameworks merge them). Never blocks. */
int eh_protect_header_is_identity(const struct eh_config_rp *rp, const char *name, size_t len);

/* eh_protect_return_ok tells whether s (the original request's path and
 * query) is acceptable as a return address: a local path only, starting
 * with '/' but not "//" or "/\", printable ASCII without '\', at most
 * EH_PROTECT_RETURN_MAX bytes. */
int eh_protect_return_ok(const char *s);

typedef enum eh_protect_verdict {
    EH_PROTECT_RESPOND = 0,  /* answer the client with out (a redirect, an error) */
    EH_PROTECT_CONTINUE = 1, /* pass the request on, adding out's headers to it */
} eh_protect_verdict;

/* eh_protect_check decides about req, a request of a location protected for
 * rp whose original path and query is return_to (the raw request target).
 * With a valid application session: *verdict EH_PROTECT_CONTINUE and out's
 * headers (out->header_names/values, out initialised by the caller) are the
 * identity headers to add to the request; nothing else in out is meaningful.
 * Otherwise *verdict EH_PROTECT_RESPOND and out is the answer: 303 into the
 * login for GET and HEAD, 401 for other methods, 400 for a return address
 * eh_protect_return_ok refuses. The host must already have removed identity
 * headers from req. Blocks (store): run it off the event loop. Returns a
 * store error (EH_ERR_STORE_*) when the store cannot answer. */
eh_rc eh_protect_check(struct eh_broker *b, const struct eh_config_rp *rp,
                       const eh_http_request *req, const char *return_to,
                       eh_protect_verdict *verdict, eh_http_response *out);

/* eh_protect_header_value encodes a claim value for a request header:
 * strings as percent-encoded UTF-8 (RFC 3986: everything but A-Z a-z 0-9
 * "-._~" as %XX), true/false and numbers as their JSON text, objects and
 * arrays as their compact JSON text, percent-encoded. Never holds CR, LF or
 * any byte outside visible ASCII. Caller frees. */
eh_rc eh_protect_header_value(const json_t *value, char **out);

/* Handlers (dispatch table):
 *   GET      /protect/callback  the end of the login: redeem the code, open
 *                               the application session, back to the app
 *   GET/POST /protect/logout    end the browser's application sessions and
 *                               its single sign-on session, then to the
 *                               local path return_to (or a logout page) */
eh_rc eh_protect_callback_handle(struct eh_broker *b, const eh_http_request *req,
                                 eh_http_response *resp);
eh_rc eh_protect_logout_handle(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);

#endif
