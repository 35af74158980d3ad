/* eidhub: signed JSON Web Tokens (ID tokens, later logout tokens).
 *
 * Signed with the key set's active key through cjose: ES256 for EC P-256,
 * PS256 for RSA; the header names the key's kid and typ. */
#ifndef EH_JWT_H
#define EH_JWT_H

#include <jansson.h>

#include "broker/jwks.h"
#include "broker/keys.h"
#include "broker/rc.h"

/* A token (compact serialisation) longer than this is refused unread. */
#define EH_JWT_MAX 16384

/* eh_jwt_sign serialises claims and signs them with the active key of ks
 * into a JWS compact serialisation (*out, caller frees). typ is the header's
 * "typ" ("JWT", "logout+jwt", ...). */
eh_rc eh_jwt_sign(const eh_keyset *ks, const json_t *claims, const char *typ, char **out);

/* eh_jwt_verify checks that token is a JWS signed by one of ks's keys (found
 * by the header's kid, with that key's own alg) and returns its claims
 * (caller owns). It checks the signature only: the caller checks iss, aud
 * and times as its protocol requires. EH_ERR_CRYPTO for a bad or foreign
 * signature, EH_ERR_INVALID for anything malformed. */
eh_rc eh_jwt_verify(const eh_keyset *ks, const char *token, json_t **claims);

/* eh_jwt_verify_jwks does the same with another party's public keys (a
 * client's registered JWK Set): the header's alg must be one jwks.h allows
 * (never "none" or HS*) and fit the key eh_jwks_find picks by the header's
 * kid (only a lookup key); a header with "crit" is refused. Signature only:
 * the caller checks the claims. EH_ERR_CRYPTO when no key fits or the
 * signature does not verify, EH_ERR_INVALID for anything malformed. */
eh_rc eh_jwt_verify_jwks(const eh_jwks *jwks, const char *token, json_t **claims);

#endif
