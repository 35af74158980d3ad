/* eidhub: single sign-on sessions.
 *
 * After a citizen authenticates, eidhub keeps an SSO session in the store
 * ("sso:<digest of the cookie's secret>"), bound to the browser by the
 * cookie EH_SSO_COOKIE (a random secret, HttpOnly, SameSite=Lax). It holds
 * the identity the backend established, the time and level of that
 * authentication, a public session id (the OIDC "sid") and the requesters
 * that received an answer in it, so that a second portal gets the citizen
 * back without a new Mobile-ID prompt (after the citizen confirms), and a
 * logout reaches every portal of the session. Its lifetime is short and
 * depends on the level of assurance (configuration member "sso"). */
#ifndef EH_SSO_H
#define EH_SSO_H

#include <jansson.h>

#include "broker/authn.h"
#include "broker/http.h"
#include "broker/rc.h"

#define EH_SSO_COOKIE "eidhub_sso"

struct eh_broker;

typedef struct eh_sso {
    char *key;          /* store key "sso:..." */
    char *sid;          /* public session id */
    eh_identity *identity;
    json_t *requesters; /* object: client_id -> {"sub": ...} */
    int64_t expires;    /* seconds since the epoch */
    json_t *upstream;   /* what the backend needs to end the session it came from (the
                         * eIDAS Connector: {"country", "name_id", "name_id_format",
                         * "session_index"}), or NULL; never part of the identity */
} eh_sso;

/* eh_sso_lifetime_s returns the configured lifetime of a session at loa, 0
 * when SSO is switched off. */
unsigned eh_sso_lifetime_s(struct eh_broker *b, eh_loa loa);

/* eh_sso_create stores a new session for identity id, with requester (when
 * not NULL) as its first requester (no subject, as eh_sso_add_requester
 * with sub NULL) and upstream (a JSON object, copied; NULL for none, as
 * eh_sso_set_upstream), and sets its cookie on resp; *out (caller frees
 * with eh_sso_free) describes it. The session and its sid index are written
 * in one exchange with the store (eh_store_batch). EH_ERR_NOT_FOUND when
 * SSO is switched off (nothing stored). */
eh_rc eh_sso_create(struct eh_broker *b, const eh_identity *id, const char *requester,
                    const json_t *upstream, eh_http_response *resp, eh_sso **out);

/* eh_sso_of_request loads the session the request's cookie names;
 * EH_ERR_NOT_FOUND when there is none or it expired. */
eh_rc eh_sso_of_request(struct eh_broker *b, const eh_http_request *req, eh_sso **out);

/* eh_sso_load loads the session stored under key. */
eh_rc eh_sso_load(struct eh_broker *b, const char *key, eh_sso **out);

/* eh_sso_add_requester records that client_id received an answer with
 * subject sub in the session (kept until the session ends). */
eh_rc eh_sso_add_requester(struct eh_broker *b, const char *key, const char *client_id,
                           const char *sub);

/* eh_sso_set_upstream records in the session under key what its backend
 * needs to end the upstream session (a JSON object, copied). */
eh_rc eh_sso_set_upstream(struct eh_broker *b, const char *key, const json_t *upstream);

/* eh_sso_detach removes from the session under key the requester (when not
 * NULL) and, drop_upstream non-zero, its upstream: the party that itself
 * asked for the end of the session is then not told again when it ends.
 * EH_ERR_NOT_FOUND when there is no such session. */
eh_rc eh_sso_detach(struct eh_broker *b, const char *key, const char *requester,
                    int drop_upstream);

/* eh_sso_end ends the session stored under key (atomically: of two logouts
 * one gets it) and returns what it was in *out (may be NULL), so the
 * requesters can be told. */
eh_rc eh_sso_end(struct eh_broker *b, const char *key, eh_sso **out);

/* eh_sso_find_sid returns the store key of the session with public id sid. */
eh_rc eh_sso_find_sid(struct eh_broker *b, const char *sid, char **key);

/* eh_sso_forget clears the browser's SSO cookie. */
eh_rc eh_sso_forget(struct eh_broker *b, eh_http_response *resp);

void eh_sso_free(eh_sso *s);

#endif
