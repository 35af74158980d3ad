/* eidhub: where a login's two halves meet.
 *
 * A frontend (oidc_op, later eidas_proxy) starts a transaction; a backend
 * (mobile_id, ...) authenticates the citizen and hands the result here,
 * never to a frontend directly. eh_flow_complete runs the response steps
 * (today: release minimisation by the requester's profile) and lets the
 * frontend that started the transaction answer its requester. The frontends
 * are listed in broker/flow.c, one line each. */
#ifndef EH_FLOW_H
#define EH_FLOW_H

#include "broker/authn.h"
#include "broker/http.h"
#include "broker/rc.h"
#include "broker/txn.h"
#include "policies/policy.h"

struct eh_broker;
struct eh_sso;

typedef struct eh_frontend_def {
    const char *protocol; /* the eh_authn_request's protocol, e.g. "oidc" */
    /* answer the requester with the identity minimised by policy */
    eh_rc (*complete)(struct eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                      const eh_identity *released, eh_http_response *resp);
    /* answer the requester with a protocol error (OAuth 2.0 vocabulary:
     * access_denied, login_required, ...) */
    eh_rc (*fail)(struct eh_broker *b, const eh_txn *txn, const char *error,
                  const char *description, eh_http_response *resp);
    /* session_ended (may be NULL): the SSO session s ended; tell this
     * protocol's requesters among s->requesters that take a logout
     * (blocking, bounded) */
    void (*session_ended)(struct eh_broker *b, const struct eh_sso *s);
    /* display_name: the requester's name for the citizen's pages, in the
     * transaction's locale (else English, else any), borrowed from the
     * configuration; NULL when it has none. Looked up, not stored in the
     * transaction: a waiting login's transaction is the store's cost per
     * citizen. */
    const char *(*display_name)(struct eh_broker *b, const eh_txn *txn);
} eh_frontend_def;

/* eh_flow_requester_name returns the display name of the requester that
 * started txn (its frontend's display_name hook: borrowed, lives as long as
 * b; or the "display_name" a transaction stored by an earlier version
 * carries, borrowed from txn), or NULL when it has none. */
const char *eh_flow_requester_name(struct eh_broker *b, const eh_txn *txn);

/* eh_flow_session_ended tells those who took part in the ended SSO
 * session s: each frontend's session_ended hook, and the logout hook of
 * the backend that established its identity (with s->upstream). A backend
 * that leaves an object "upstream" in txn->flow before eh_flow_complete has
 * it kept in the SSO session the login opens (never in the identity, so no
 * policy can release it). Blocking: call from thread-pool handlers. */
void eh_flow_session_ended(struct eh_broker *b, const struct eh_sso *s);

/* eh_flow_logout_session ends the SSO session stored under key as a logout
 * does (every requester that takes a logout is told), for a logout that
 * arrives from a peer rather than from the citizen's browser (SAML Single
 * Logout). A session already ended is EH_OK. */
eh_rc eh_flow_logout_session(struct eh_broker *b, const char *key);

/* eh_flow_start_policy records in txn the policy that governs the login
 * (requester name, the profile its registration names, the current version)
 * and returns it (caller frees). Frontends call it when a login starts. */
eh_rc eh_flow_start_policy(struct eh_broker *b, eh_txn *txn, const char *name,
                           const char *fallback, eh_policy **out);

/* eh_flow_policy returns the policy version txn started under. */
eh_rc eh_flow_policy(struct eh_broker *b, const eh_txn *txn, eh_policy **out);

/* eh_flow_complete finishes txn with identity id: checks the policy's
 * method, country and level, runs the release step, and either shows the
 * consent page (when the policy asks for consent; the transaction goes back
 * into the store until the citizen decides) or lets the frontend answer.
 * The caller has taken txn out of the store, so a transaction completes at
 * most once. */
eh_rc eh_flow_complete(struct eh_broker *b, const eh_txn *txn, const eh_identity *id,
                       eh_http_response *resp);

/* The description eh_flow_complete gives with "access_denied" when the
 * authentication does not meet the policy's level, methods or countries
 * (frontends that distinguish it from a citizen's refusal compare it). */
#define EH_FLOW_UNMET_POLICY "the authentication does not meet the policy"

/* eh_flow_fail ends txn with an error for its requester (same ownership).
 * Whenever a login ends (released or failed) the flow also clears the
 * browser's transaction cookie. */
eh_rc eh_flow_fail(struct eh_broker *b, const eh_txn *txn, const char *error,
                   const char *description, eh_http_response *resp);

/* eh_flow_txn_or_page loads (or takes) the request's transaction; when there
 * is none it fills resp with the "session expired" page (or a 503 page when
 * the store fails) and returns non-EH_OK, so a handler just returns EH_OK. */
eh_rc eh_flow_txn_or_page(struct eh_broker *b, const eh_http_request *req, int take,
                          eh_txn **out, eh_http_response *resp);

/* eh_login_append_cancel adds to out the "cancel and return to the service"
 * form of txn (a POST to /cancel with the CSRF token), for every page of a
 * flow. */
struct eh_buf;
void eh_login_append_cancel(struct eh_buf *out, const eh_txn *txn, const char *locale);

/* eh_login_failure_page fills resp with a page of a backend's flow that
 * tells the citizen what went wrong (the catalog text of message_key, under
 * the title title_key), with "Try again" (a link to retry_href, when not
 * NULL), "Choose another way" (/login) and "Cancel". */
eh_rc eh_login_failure_page(eh_http_response *resp, int status, const eh_txn *txn,
                            const char *title_key, const char *message_key,
                            const char *retry_href);

/* Handlers (dispatch table):
 *   GET  /login    the method-choice page of the request's transaction
 *   POST /cancel   the citizen gives up: the requester gets access_denied
 *   GET  /consent  what will be released, to whom (when the policy asks)
 *   POST /consent  the citizen allows (the requester gets its answer) or
 *                  denies (access_denied) */
eh_rc eh_login_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_cancel_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_consent_page_handle(struct eh_broker *b, const eh_http_request *req,
                             eh_http_response *resp);
eh_rc eh_consent_decide_handle(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);

/*   GET  /sso      a citizen with an SSO session sees who asks
 *   POST /sso      continue with the session, or log in again */
eh_rc eh_sso_page_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_sso_decide_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp);

/* eh_flow_release lets the frontend of txn answer with released (after the
 * citizen's consent, or directly when none is asked). */
eh_rc eh_flow_release(struct eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                      const eh_identity *released, eh_http_response *resp);

#endif
