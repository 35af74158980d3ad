/* eidhub: the broker's signing keys.
 *
 * Keys come from PEM files: EC P-256 (alg ES256, the default) or RSA of at
 * least 3072 bits (alg PS256). Several keys may be loaded at once (to publish
 * the next key before it is used, or to keep an old one verifiable); exactly
 * one is active and signs. Each key's kid is its RFC 7638 JWK thumbprint
 * (SHA-256, base64url), so a kid never has to be configured or kept in sync. */
#ifndef EH_KEYS_H
#define EH_KEYS_H

#include <stddef.h>

#include "broker/rc.h"

typedef struct eh_key eh_key;
typedef struct eh_keyset eh_keyset;

typedef enum eh_key_type {
    EH_KEY_EC_P256 = 0, /* ES256 */
    EH_KEY_RSA = 1,     /* PS256, >= 3072 bits */
} eh_key_type;

/* eh_keyset_new returns an empty key set (caller owns, eh_keyset_free). */
eh_rc eh_keyset_new(eh_keyset **out);

/* eh_keyset_free releases ks and wipes its private keys (NULL is fine). */
void eh_keyset_free(eh_keyset *ks);

/* eh_keyset_add_pem loads the private key in the PEM file at path and adds
 * it to ks, active if active is non-zero. Refuses (EH_ERR_KEY, with a
 * one-line reason naming the file in err) a file that cannot be read or
 * parsed, an encrypted key, a key that is neither EC P-256 nor RSA, an RSA
 * key under 3072 bits, a second active key, and a key already in the set
 * (same thumbprint). Logs a warning when the file is readable by group or
 * others. */
eh_rc eh_keyset_add_pem(eh_keyset *ks, const char *path, int active, char *err, size_t errlen);

/* eh_keyset_finish checks the set is usable: at least one key, and exactly
 * one active (a set of one key makes that key active). */
eh_rc eh_keyset_finish(eh_keyset *ks, char *err, size_t errlen);

/* eh_keyset_count / eh_keyset_at enumerate the keys (borrowed pointers,
 * valid as long as ks). eh_keyset_active_get returns the active key. */
size_t eh_keyset_count(const eh_keyset *ks);
const eh_key *eh_keyset_at(const eh_keyset *ks, size_t i);
const eh_key *eh_keyset_active_get(const eh_keyset *ks);

/* eh_keyset_find_kid returns the key whose kid equals kid, or NULL. kid is
 * only ever compared, never used as a path. */
const eh_key *eh_keyset_find_kid(const eh_keyset *ks, const char *kid);

/* eh_key_kid_get: the RFC 7638 thumbprint (borrowed). eh_key_alg_get:
 * "ES256" or "PS256". eh_key_type_get: the key's type. */
const char *eh_key_kid_get(const eh_key *k);
const char *eh_key_alg_get(const eh_key *k);
eh_key_type eh_key_type_get(const eh_key *k);

/* eh_key_cjose_get returns the key as a cjose_jwk_t * (borrowed, typed void
 * here so that this header needs no cjose), for signing with cjose_jws_sign. */
void *eh_key_cjose_get(const eh_key *k);

/* eh_keyset_jwks_json returns the public JWK Set of ks as a compact JSON text
 * (caller frees): each key with kty, its public parameters, kid, use "sig"
 * and alg. No private parameter ever appears in it. */
eh_rc eh_keyset_jwks_json(const eh_keyset *ks, char **out);

/* eh_keyset_algs_json returns a JSON array text of the distinct algs in ks
 * (caller frees), e.g. ["ES256","PS256"], active key's alg first. */
eh_rc eh_keyset_algs_json(const eh_keyset *ks, char **out);

/* eh_jwk_thumbprint computes the RFC 7638 SHA-256 thumbprint (base64url, no
 * padding) of the JWK in the JSON text jwk_json into *out (caller frees with
 * free). Only the members RFC 7638 requires for the key's kty are used (EC:
 * crv, kty, x, y; RSA: e, kty, n; oct: k, kty; OKP: crv, kty, x), so kid,
 * use, alg and private members do not change it. Returns EH_ERR_INVALID for
 * text that is not a JWK of a known kty with those members as strings. */
eh_rc eh_jwk_thumbprint(const char *jwk_json, char **out);

/* eh_key_generate writes a new private key of type (bits for RSA: 3072 to
 * 16384, else EH_ERR_KEY; ignored for EC) as unencrypted PKCS#8 PEM to path,
 * created with mode 0600. It refuses (EH_ERR_IO) to overwrite an existing
 * file, and removes the file it created if a later step fails. */
eh_rc eh_key_generate(eh_key_type type, unsigned bits, const char *path, char *err, size_t errlen);

#endif
