#include "broker/b64check.h"
#include "broker/jwt.h"

#include <cjose/cjose.h>
#include <stdlib.h>
#include <string.h>

eh_rc eh_jwt_sign(const eh_keyset *ks, const json_t *claims, const char *typ, char **out)
{
    const eh_key *key = eh_keyset_active_get(ks);
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    const char *compact = NULL;
    char *payload = NULL;
    cjose_err err;
    eh_rc rc = EH_ERR_NOMEM;

    if (key == NULL)
        return EH_ERR_KEY;
    payload = json_dumps(claims, JSON_COMPACT);
    hdr = cjose_header_new(&err);
    if (payload == NULL || hdr == NULL)
        goto cleanup;
    rc = EH_ERR_CRYPTO;
    if (!cjose_header_set(hdr, CJOSE_HDR_ALG, eh_key_alg_get(key), &err) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, eh_key_kid_get(key), &err) ||
        !cjose_header_set(hdr, "typ", typ, &err))
        goto cleanup;
    jws = cjose_jws_sign(eh_key_cjose_get(key), hdr, (const uint8_t *)payload, strlen(payload),
                         &err);
    if (jws == NULL || !cjose_jws_export(jws, &compact, &err))
        goto cleanup;
    *out = strdup(compact);
    rc = *out ? EH_OK : EH_ERR_NOMEM;
cleanup:
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    return rc;
}

/* A key chooser: the key (cjose) that verifies a signature of alg by the key
 * named kid (NULL when the header has none), or NULL. */
typedef const cjose_jwk_t *(*key_chooser)(const void *keys, const char *kid, const char *alg);

/* choose_own picks one of the broker's own keys: by kid, with its own alg. */
static const cjose_jwk_t *choose_own(const void *keys, const char *kid, const char *alg)
{
    const eh_key *key = kid ? eh_keyset_find_kid(keys, kid) : NULL;

    if (key == NULL || strcmp(alg, eh_key_alg_get(key)) != 0)
        return NULL;
    return eh_key_cjose_get(key);
}

/* choose_jwks picks a key of another party's JWK Set (broker/jwks.h). */
static const cjose_jwk_t *choose_jwks(const void *keys, const char *kid, const char *alg)
{
    return eh_jwks_find(keys, kid, alg);
}

/* verify checks token's signature with the key choose finds in keys and
 * returns its claims (see eh_jwt_verify). A header with "crit" is refused:
 * we understand no extension. */
static eh_rc verify(const void *keys, key_chooser choose, const char *token, json_t **claims)
{
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    const char *kid, *alg;
    const cjose_jwk_t *jwk;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    *claims = NULL;
    if (token == NULL || strlen(token) > EH_JWT_MAX || !eh_jws_compact_ok(token, strlen(token)) ||
        (jws = cjose_jws_import(token, strlen(token), &err)) == NULL)
        return EH_ERR_INVALID;
    hdr = cjose_jws_get_protected(jws);
    if (hdr == NULL || json_object_get((json_t *)hdr, "crit") != NULL)
        goto cleanup;
    kid = cjose_header_get(hdr, CJOSE_HDR_KID, &err);
    alg = cjose_header_get(hdr, CJOSE_HDR_ALG, &err);
    if (kid == NULL && json_object_get((json_t *)hdr, CJOSE_HDR_KID) != NULL)
        goto cleanup; /* a kid that is not a string */
    rc = EH_ERR_CRYPTO;
    jwk = alg != NULL ? choose(keys, kid, alg) : NULL;
    if (jwk == NULL || !cjose_jws_verify(jws, jwk, &err) ||
        !cjose_jws_get_plaintext(jws, &plain, &plain_len, &err))
        goto cleanup;
    rc = EH_ERR_INVALID;
    *claims = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(*claims)) {
        rc = EH_OK;
    } else {
        json_decref(*claims);
        *claims = NULL;
    }
cleanup:
    cjose_jws_release(jws);
    return rc;
}

eh_rc eh_jwt_verify(const eh_keyset *ks, const char *token, json_t **claims)
{
    return verify(ks, choose_own, token, claims);
}

eh_rc eh_jwt_verify_jwks(const eh_jwks *jwks, const char *token, json_t **claims)
{
    return verify(jwks, choose_jwks, token, claims);
}
