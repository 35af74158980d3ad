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

eh_rc eh_jwt_verify(const eh_keyset *ks, const char *token, json_t **claims)
{
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    const char *kid, *alg;
    const eh_key *key;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    *claims = NULL;
    if (token == NULL || strlen(token) > 16384 || !eh_jws_compact_ok(token, strlen(token)) ||
        (jws = cjose_jws_import(token, strlen(token), &err)) == NULL)
        return EH_ERR_INVALID;
    hdr = cjose_jws_get_protected(jws);
    kid = hdr ? cjose_header_get(hdr, CJOSE_HDR_KID, &err) : NULL;
    alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &err) : NULL;
    key = kid ? eh_keyset_find_kid(ks, kid) : NULL;
    rc = EH_ERR_CRYPTO;
    if (key == NULL || alg == NULL || strcmp(alg, eh_key_alg_get(key)) != 0 ||
        !cjose_jws_verify(jws, eh_key_cjose_get(key), &err) ||
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
