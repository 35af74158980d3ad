/* eidhub: ID tokens of national OpenID Connect eID providers.
 *
 * The JWK Set a provider publishes (only its public signature keys: RSA of
 * at least 2048 bits, EC P-256) and the validation of an ID token against
 * it, through cjose (SECURITY.md "we are a client"):
 *   - alg only from an allow-list: RS256, PS256, ES256; never "none", never
 *     HS* (a provider's public key is no shared secret), no "crit" header,
 *     no encrypted (five-part) tokens;
 *   - the key chosen by the header's kid among the set's keys of the type
 *     alg needs; the kid is only ever compared with the keys' kids, never
 *     used as a path, URL or anything else; no kid: the set's only key of
 *     that type;
 *   - the signature verified by cjose with that key;
 *   - iss byte-equal to the provider's issuer; aud the client_id or an array
 *     holding it (with several, azp must be present), azp when present the
 *     client_id; exp after now - skew; iat present and not after now + skew;
 *     nbf, when present, not after now + skew; nonce equal (constant time);
 *     sub a non-empty string.
 * Levels of assurance (acr) are the caller's business: the provider's
 * configuration maps them. */
#ifndef EH_OIDC_UPSTREAM_TOKEN_H
#define EH_OIDC_UPSTREAM_TOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/jwks.h"
#include "broker/rc.h"

/* An ID token (compact serialisation) longer than this is refused. */
#define EH_OIDCUP_TOKEN_MAX (16 * 1024)
/* A JWK Set with more keys than this is refused. */
#define EH_OIDCUP_JWKS_MAX_KEYS 32
/* RSA keys shorter than this are left out of a JWK Set. */
#define EH_OIDCUP_RSA_MIN_BITS EH_JWKS_RSA_MIN_BITS

/* A provider's keys: a JWK Set of broker/jwks.h, read leniently. */
typedef struct eh_jwks eh_oidcup_jwks;

/* eh_oidcup_jwks_parse reads the JWK Set in the JSON text (len bytes) into
 * *out (caller frees with eh_oidcup_jwks_free), with
 * eh_jwks_from_json_usable. Keys that cannot verify our
 * allowed algorithms are left out without error: symmetric ("oct") keys,
 * keys with "use" other than "sig" or "key_ops" without "verify", RSA keys
 * under EH_OIDCUP_RSA_MIN_BITS, EC keys not on P-256, keys with private
 * members, keys whose "alg" is not allowed. EH_ERR_INVALID (why says what)
 * when the text is not a JSON object with a "keys" array, or it holds more
 * than EH_OIDCUP_JWKS_MAX_KEYS entries. A set may end up empty. */
eh_rc eh_oidcup_jwks_parse(const char *text, size_t len, eh_oidcup_jwks **out, char *why,
                           size_t whylen);

/* eh_oidcup_jwks_count returns how many usable keys jwks holds. */
size_t eh_oidcup_jwks_count(const eh_oidcup_jwks *jwks);

/* eh_oidcup_jwks_free releases jwks (NULL is fine). */
void eh_oidcup_jwks_free(eh_oidcup_jwks *jwks);

/* eh_oidcup_alg_allowed tells whether alg (may be NULL) is one of RS256,
 * PS256, ES256 (exact case). */
int eh_oidcup_alg_allowed(const char *alg);

/* What an ID token must say (all strings borrowed). */
typedef struct eh_oidcup_expect {
    const char *issuer;    /* the provider's issuer, compared byte for byte */
    const char *client_id; /* ours at the provider */
    const char *nonce;     /* the one sent in the authorization request */
    int64_t now;           /* seconds since the epoch */
    unsigned skew_s;       /* tolerated clock difference */
} eh_oidcup_expect;

/* eh_oidcup_id_token_verify validates the ID token (compact JWS) against
 * the keys of jwks and the expectations x, as described above. On success
 * *claims is its payload, a JSON object (caller decrefs). Otherwise *claims
 * stays NULL, why gets a reason fit for the log (it never quotes the token's
 * values) and the result tells what failed:
 *   EH_ERR_NOT_FOUND  no key of jwks fits the token's kid and alg: the
 *                     caller may fetch the provider's JWK Set once more
 *                     (key rollover) and try again;
 *   EH_ERR_CRYPTO     alg not allowed, or the signature does not verify;
 *   EH_ERR_TOO_LARGE  the token is over EH_OIDCUP_TOKEN_MAX;
 *   EH_ERR_INVALID    anything else (malformed, a claim missing or wrong). */
eh_rc eh_oidcup_id_token_verify(const char *token, const eh_oidcup_jwks *jwks,
                                const eh_oidcup_expect *x, json_t **claims, char *why,
                                size_t whylen);

#endif
