/* eidhub: a login transaction, from the requester's request to the answer.
 *
 * A transaction lives in the store under "txn:<id>" for at most
 * EH_TXN_TTL_MS and is bound to the browser by the cookie EH_TXN_COOKIE,
 * which holds only its random id. It carries the internal authentication
 * request, the frontend's protocol state (e.g. OIDC redirect_uri, state,
 * nonce, PKCE challenge), the backend's state (e.g. a Mobile-ID session)
 * and a CSRF token that every form of the flow must return. */
#ifndef EH_TXN_H
#define EH_TXN_H

#include <jansson.h>

#include "broker/authn.h"
#include "broker/http.h"
#include "broker/rc.h"
#include "broker/store.h"

#define EH_TXN_COOKIE "eidhub_txn"
#define EH_TXN_TTL_MS (15u * 60u * 1000u)

typedef struct eh_txn {
    char *id;
    char *csrf; /* derived from id (eh_txn_new) */
    eh_authn_request *authn;
    json_t *frontend; /* object, owned by the frontend */
    json_t *backend;  /* object, owned by the backend in use */
    json_t *flow;     /* the flow's own state: the policy the login started under
                       * ("policy": {"name", "fallback", "version"}), the identity
                       * waiting for consent ("pending"), the SSO session ("sid") */
    int64_t created;  /* seconds since the epoch */
} eh_txn;

/* eh_txn_new makes a transaction with a fresh random id and the CSRF token
 * derived from it (a digest of the id, never stored: only the browser that
 * holds the id's cookie gets pages carrying it),
 * taking ownership of authn (freed with the transaction, also on failure). */
eh_rc eh_txn_new(eh_authn_request *authn, eh_txn **out);

/* eh_txn_save writes txn to the store (replacing what was there), living
 * EH_TXN_TTL_MS from its creation. */
eh_rc eh_txn_save(eh_store *store, const eh_txn *txn);

/* eh_txn_load reads the transaction id (EH_ERR_NOT_FOUND when missing or
 * expired); eh_txn_take reads and deletes it atomically, so that exactly one
 * of several concurrent completions wins. */
eh_rc eh_txn_load(eh_store *store, const char *id, eh_txn **out);
eh_rc eh_txn_take(eh_store *store, const char *id, eh_txn **out);

/* eh_txn_of_request loads (take when take is non-zero) the transaction the
 * request's cookie names. EH_ERR_NOT_FOUND when there is no cookie or no
 * such transaction. */
eh_rc eh_txn_of_request(eh_store *store, const eh_http_request *req, int take, eh_txn **out);

/* eh_txn_bind sets the browser cookie for txn on resp; secure follows the
 * broker's issuer scheme. eh_txn_unbind clears it. */
eh_rc eh_txn_bind(eh_http_response *resp, const eh_txn *txn, int secure);
eh_rc eh_txn_unbind(eh_http_response *resp, int secure);

/* eh_txn_csrf_ok tells whether the form field "csrf" of the url-encoded body
 * equals the transaction's token (constant time). */
int eh_txn_csrf_ok(const eh_txn *txn, const eh_http_request *req);

/* eh_txn_free releases txn (NULL is fine). */
void eh_txn_free(eh_txn *txn);

#endif
