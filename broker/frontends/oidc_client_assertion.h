/* eidhub: private_key_jwt client authentication at the token endpoint
 * (OpenID Connect Core 1.0 section 9, RFC 7523 sections 2.2 and 3, RFC 7521
 * section 4.2).
 *
 * A relying party registered with "token_endpoint_auth_method":
 * "private_key_jwt" proves who it is with client_assertion_type
 * urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a
 * client_assertion: a JWS it signed with one of the public keys registered
 * in its "jwks". The assertion is accepted when
 *   - its signature verifies with one of those keys (broker/jwt.h
 *     eh_jwt_verify_jwks: RS256, PS256 or ES256 only, never none or HS*;
 *     the kid only ever a lookup key);
 *   - iss and sub are both the client_id;
 *   - aud is, or is an array holding, the token endpoint's URL or the
 *     issuer (OpenID Connect Core allows either);
 *   - exp is present, not past (EH_CLIENT_ASSERTION_SKEW_S tolerated) and at
 *     most EH_CLIENT_ASSERTION_MAX_LIFETIME_S ahead (longer-lived assertions
 *     are refused: a stolen one must not stay usable); iat, when present,
 *     neither in the future nor more than that lifetime before exp; nbf,
 *     when present, not in the future (both with the skew);
 *   - jti is present and has not been seen before for this client: it is
 *     remembered in the store under "replay:jti:<client_id>:<digest>" until
 *     exp (plus the skew), counted atomically (eh_store_incr, so of two
 *     concurrent uses across nodes exactly one passes). */
#ifndef EH_OIDC_CLIENT_ASSERTION_H
#define EH_OIDC_CLIENT_ASSERTION_H

#include <stddef.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/jwks.h"
#include "broker/rc.h"
#include "broker/store.h"

#define EH_CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define EH_CLIENT_ASSERTION_MAX_LIFETIME_S 300
#define EH_CLIENT_ASSERTION_SKEW_S 60
#define EH_CLIENT_ASSERTION_JTI_MAX 256

/* eh_client_assertion_subject reads the sub claim of assertion without
 * verifying anything (*client_id, caller frees): only to know whose keys to
 * verify it with, when the request names no client_id. EH_ERR_INVALID when
 * the assertion is malformed or has no string sub. */
eh_rc eh_client_assertion_subject(const char *assertion, char **client_id);

/* What an assertion must say (strings borrowed). */
typedef struct eh_client_assertion_expect {
    const char *client_id;
    const char *issuer;         /* ours */
    const char *token_endpoint; /* ours: issuer + "/token" */
    int64_t now;                /* seconds since the epoch */
} eh_client_assertion_expect;

/* eh_client_assertion_verify checks assertion's signature with keys and its
 * claims against x, as described above, all but the replay. On success
 * *jti is its jti (caller frees) and *exp its exp. Otherwise why (whylen
 * bytes) gets a reason fit for the log (it never quotes the assertion) and
 * the result is EH_ERR_CRYPTO (alg or signature), EH_ERR_TOO_LARGE or
 * EH_ERR_INVALID (malformed, a claim missing or wrong). */
eh_rc eh_client_assertion_verify(const char *assertion, const eh_jwks *keys,
                                 const eh_client_assertion_expect *x, char **jti, int64_t *exp,
                                 char *why, size_t whylen);

/* eh_client_assertion_check authenticates relying party rp (registered for
 * private_key_jwt) with assertion at time now: eh_client_assertion_verify,
 * then the jti is spent in store. EH_OK: authenticated. EH_ERR_CRYPTO,
 * EH_ERR_TOO_LARGE, EH_ERR_INVALID (also for a replayed jti): refused, why
 * says why. Store errors (EH_ERR_STORE_*) are passed on: nobody is
 * authenticated when the replay cannot be checked. */
eh_rc eh_client_assertion_check(eh_store *store, const eh_config_rp *rp, const char *issuer,
                                const char *assertion, int64_t now, char *why, size_t whylen);

#endif
