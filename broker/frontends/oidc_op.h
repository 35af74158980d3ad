/* eidhub: the OpenID Connect provider frontend (oidc_op).
 *
 * Municipal portals, registered in the configuration as relying parties,
 * log citizens in with the authorization code flow (PROTOCOLS.md section 2,
 * modelled on TARA): exact redirect_uri matching, PKCE S256 (required for
 * public clients), single-use codes living EH_OIDC_CODE_TTL_S seconds whose
 * reuse revokes what their first use issued, client_secret_basic,
 * client_secret_post and private_key_jwt (oidc_client_assertion.h), ES256
 * ID tokens, opaque access tokens for userinfo. */
#ifndef EH_OIDC_OP_H
#define EH_OIDC_OP_H

#include "broker/authn.h"
#include "broker/http.h"
#include "broker/rc.h"
#include "broker/txn.h"
#include "policies/policy.h"

#define EH_OIDC_CODE_TTL_S 30
#define EH_OIDC_TOKEN_TTL_S 600
#define EH_OIDC_ID_TOKEN_TTL_S 300

struct eh_broker;

/* Handlers (dispatch table):
 *   GET/POST /authorize   validate, start a transaction, on to /login
 *   POST     /token       redeem a code for an ID token and access token
 *   GET/POST /userinfo    the released claims, for a Bearer access token */
eh_rc eh_oidc_authorize_handle(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);
eh_rc eh_oidc_token_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp);
eh_rc eh_oidc_userinfo_handle(struct eh_broker *b, const eh_http_request *req,
                              eh_http_response *resp);

/*   GET/POST /logout      end_session_endpoint: ends the browser's SSO
 *                         session and tells every portal of it */
eh_rc eh_oidc_logout_handle(struct eh_broker *b, const eh_http_request *req,
                            eh_http_response *resp);

/* eh_oidc_logout_session ends the SSO session stored under key, sends the
 * back-channel logout to each of its portals that registered one, and (resp
 * not NULL) clears the browser's SSO cookie. A session already ended is
 * EH_OK. */
eh_rc eh_oidc_logout_session(struct eh_broker *b, const char *key, eh_http_response *resp);

/* eh_oidc_logged_out_page answers resp with the "you have logged out" page
 * in locale (may be NULL: the default language). */
eh_rc eh_oidc_logged_out_page(eh_http_response *resp, const char *locale);

/* Frontend hooks for broker/flow.c. */
eh_rc eh_oidc_complete(struct eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                       const eh_identity *released, eh_http_response *resp);
eh_rc eh_oidc_fail(struct eh_broker *b, const eh_txn *txn, const char *error,
                   const char *description, eh_http_response *resp);
const char *eh_oidc_display_name(struct eh_broker *b, const eh_txn *txn);

/* eh_oidc_redirect_url builds redirect_uri with the parameters appended to
 * its query (names and values percent-encoded; NULL values skipped), the
 * last one the issuer (RFC 9207) unless issuer is NULL. names/values hold n
 * entries. Caller frees. */
eh_rc eh_oidc_redirect_url(const char *redirect_uri, const char *const *names,
                           const char *const *values, size_t n, const char *issuer, char **out);

/* eh_oidc_code_redeem takes the authorization code out of the store (so
 * it is redeemed at most once) and checks that it was issued to client_id
 * for redirect_uri and that verifier (NULL when none was sent) satisfies its
 * PKCE challenge. EH_OK: *payload is the code's payload (caller decrefs:
 * sub, claims, nonce, acr, amr, auth_time, scope, ...) and *digest its
 * digest (caller frees). EH_ERR_NOT_FOUND: invalid, expired or used (a
 * second use revokes what the first issued). EH_ERR_UNMET: it does not
 * match; *why says how (a static text for an OAuth error_description).
 * Store errors otherwise. Blocks (store). */
eh_rc eh_oidc_code_redeem(struct eh_broker *b, const char *client_id, const char *code,
                          const char *redirect_uri, const char *verifier, json_t **payload,
                          char **digest, const char **why);

/* eh_oidc_userinfo_claims returns (caller owns) what userinfo answers for
 * a redeemed code's payload: its released claims and its sub; NULL when out
 * of memory or the payload has no sub. */
json_t *eh_oidc_userinfo_claims(const json_t *payload);

#endif
