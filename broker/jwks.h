/* eidhub: JWK Sets of other parties' public signature keys.
 *
 * A relying party that authenticates with private_key_jwt registers its
 * public keys as a JWK Set (RFC 7517); the broker verifies the client's
 * signed assertions with them (broker/jwt.h eh_jwt_verify_jwks). A set is
 * read strictly, once, at configuration load, so that a wrong key is an
 * error for the operator and never a silent gap at login:
 *   - only public signature keys: RSA of at least EH_JWKS_RSA_MIN_BITS, EC
 *     on P-256; no private or symmetric member (d, p, q, dp, dq, qi, oth,
 *     k), no "oct" or "OKP" key;
 *   - "use", when present, "sig"; "key_ops", when present, with "verify";
 *     "alg", when present, one of the allowed algorithms fitting the key;
 *   - "kid", when present, a non-empty string, unique in the set;
 *   - 1 to EH_JWKS_MAX_KEYS keys.
 * Allowed algorithms: RS256, PS256 (RSA keys) and ES256 (P-256 keys); never
 * "none", never HS* (a public key is no shared secret). */
#ifndef EH_JWKS_H
#define EH_JWKS_H

#include <jansson.h>
#include <stddef.h>

#include "broker/rc.h"

#define EH_JWKS_MAX_KEYS 16
#define EH_JWKS_RSA_MIN_BITS 2048
#define EH_JWKS_KID_MAX 256

typedef struct eh_jwks eh_jwks;

/* eh_jwks_from_json reads the JWK Set object set into *out (caller frees
 * with eh_jwks_free), applying every rule above. EH_ERR_INVALID when set
 * breaks one: why (whylen bytes) then says which, naming the key by its
 * index ("keys[1]: ...") and never quoting key material. */
eh_rc eh_jwks_from_json(const json_t *set, eh_jwks **out, char *why, size_t whylen);

/* eh_jwks_from_json_usable reads a JWK Set another party publishes (an
 * OpenID provider's jwks_uri) into *out (caller frees with eh_jwks_free):
 * the keys that break a rule above (encryption keys, other curves, short
 * RSA keys, private members...) are left out rather than refused, kids need
 * not be unique (eh_jwks_find takes the first), and the set may end up
 * empty. EH_ERR_INVALID (with why) when set is not an object with a "keys"
 * array or has more than max_keys entries. */
eh_rc eh_jwks_from_json_usable(const json_t *set, size_t max_keys, eh_jwks **out, char *why,
                               size_t whylen);

/* eh_jwks_count returns how many keys jwks holds (0 for NULL). */
size_t eh_jwks_count(const eh_jwks *jwks);

/* eh_jwks_free releases jwks (NULL is fine). */
void eh_jwks_free(eh_jwks *jwks);

/* eh_jwks_alg_allowed tells whether alg (may be NULL) is RS256, PS256 or
 * ES256 (exact case). */
int eh_jwks_alg_allowed(const char *alg);

/* eh_jwks_algs returns the allowed algorithms, NULL-terminated (static),
 * e.g. for token_endpoint_auth_signing_alg_values_supported. */
const char *const *eh_jwks_algs(void);

/* eh_jwks_find returns the key (a cjose_jwk_t *, borrowed, typed void so
 * that this header needs no cjose) that verifies a signature of alg by the
 * key named kid (may be NULL): with a kid, the key with exactly that kid
 * (only ever compared, never used as a path or URL), of the type alg needs
 * and not bound to another alg; without a kid, the only key that fits. NULL
 * when alg is not allowed, no key fits, or (no kid) several do. */
const void *eh_jwks_find(const eh_jwks *jwks, const char *kid, const char *alg);

/* eh_jwks_fitting counts the keys of jwks that may verify a signature of
 * alg whatever their kid (0 when alg is not allowed): without a kid,
 * eh_jwks_find finds one only when this is 1. */
size_t eh_jwks_fitting(const eh_jwks *jwks, const char *alg);

#endif
