/* eidhub: private_key_jwt client authentication (see
 * oidc_client_assertion.h). */
#include "broker/frontends/oidc_client_assertion.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/b64check.h"
#include "broker/jwt.h"
#include "broker/random.h"

#define CLIENT_ID_MAX 128 /* as the configuration allows */

/* plain_string tells whether j is a non-empty string of at most max bytes
 * without an embedded NUL. */
static int plain_string(const json_t *j, size_t max)
{
    return json_is_string(j) && json_string_length(j) > 0 && json_string_length(j) <= max &&
           strlen(json_string_value(j)) == json_string_length(j);
}

eh_rc eh_client_assertion_subject(const char *assertion, char **client_id)
{
    const char *payload, *end;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *claims = NULL, *sub;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    *client_id = NULL;
    if (assertion == NULL || strlen(assertion) > EH_JWT_MAX ||
        !eh_jws_compact_ok(assertion, strlen(assertion)))
        return EH_ERR_INVALID;
    payload = strchr(assertion, '.') + 1;
    end = strchr(payload, '.');
    if (!cjose_base64url_decode(payload, (size_t)(end - payload), &raw, &raw_len, &err))
        return EH_ERR_INVALID;
    claims = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    sub = json_object_get(claims, "sub");
    if (plain_string(sub, CLIENT_ID_MAX)) {
        *client_id = strdup(json_string_value(sub));
        rc = *client_id != NULL ? EH_OK : EH_ERR_NOMEM;
    }
    cjose_get_dealloc()(raw);
    json_decref(claims);
    return rc;
}

/* audience_ok tells whether aud (a string, or an array of strings) names
 * the token endpoint or the issuer. */
static int audience_ok(const json_t *aud, const eh_client_assertion_expect *x)
{
    const json_t *a;
    size_t i;
    int found = 0;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), x->token_endpoint) == 0 ||
               strcmp(json_string_value(aud), x->issuer) == 0;
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, a)
    {
        if (!json_is_string(a))
            return 0;
        found |= strcmp(json_string_value(a), x->token_endpoint) == 0 ||
                 strcmp(json_string_value(a), x->issuer) == 0;
    }
    return found;
}

/* check_claims checks the verified claims against x. */
static eh_rc check_claims(const json_t *claims, const eh_client_assertion_expect *x, char *why,
                          size_t whylen)
{
    json_t *iss = json_object_get(claims, "iss"), *sub = json_object_get(claims, "sub");
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    json_t *nbf = json_object_get(claims, "nbf"), *jti = json_object_get(claims, "jti");
    double now = (double)x->now, skew = EH_CLIENT_ASSERTION_SKEW_S,
           life = EH_CLIENT_ASSERTION_MAX_LIFETIME_S;

    if (!plain_string(iss, CLIENT_ID_MAX) || strcmp(json_string_value(iss), x->client_id) != 0 ||
        !plain_string(sub, CLIENT_ID_MAX) || strcmp(json_string_value(sub), x->client_id) != 0) {
        eh_why(why, whylen, "the assertion's iss and sub are not both the client_id");
        return EH_ERR_INVALID;
    }
    if (!audience_ok(json_object_get(claims, "aud"), x)) {
        eh_why(why, whylen, "the assertion's aud names neither the token endpoint nor the issuer");
        return EH_ERR_INVALID;
    }
    if (!json_is_number(exp)) {
        eh_why(why, whylen, "the assertion has no exp");
        return EH_ERR_INVALID;
    }
    if (json_number_value(exp) <= now - skew) {
        eh_why(why, whylen, "the assertion has expired");
        return EH_ERR_INVALID;
    }
    if (json_number_value(exp) > now + life + skew) {
        eh_why(why, whylen, "the assertion lives too long (exp more than %d s ahead)",
            EH_CLIENT_ASSERTION_MAX_LIFETIME_S);
        return EH_ERR_INVALID;
    }
    if (iat != NULL && (!json_is_number(iat) || json_number_value(iat) > now + skew)) {
        eh_why(why, whylen, "the assertion's iat is not a time in the past");
        return EH_ERR_INVALID;
    }
    if (iat != NULL && json_number_value(exp) - json_number_value(iat) > life) {
        eh_why(why, whylen, "the assertion lives too long (exp more than %d s after iat)",
            EH_CLIENT_ASSERTION_MAX_LIFETIME_S);
        return EH_ERR_INVALID;
    }
    if (nbf != NULL && (!json_is_number(nbf) || json_number_value(nbf) > now + skew)) {
        eh_why(why, whylen, "the assertion is not valid yet (nbf)");
        return EH_ERR_INVALID;
    }
    if (!plain_string(jti, EH_CLIENT_ASSERTION_JTI_MAX)) {
        eh_why(why, whylen, "the assertion has no usable jti");
        return EH_ERR_INVALID;
    }
    return EH_OK;
}

eh_rc eh_client_assertion_verify(const char *assertion, const eh_jwks *keys,
                                 const eh_client_assertion_expect *x, char **jti, int64_t *exp,
                                 char *why, size_t whylen)
{
    json_t *claims = NULL;
    eh_rc rc;

    *jti = NULL;
    *exp = 0;
    if (assertion == NULL || strlen(assertion) > EH_JWT_MAX) {
        eh_why(why, whylen, "the assertion is missing or over %d bytes", EH_JWT_MAX);
        return EH_ERR_TOO_LARGE;
    }
    rc = eh_jwt_verify_jwks(keys, assertion, &claims);
    if (rc != EH_OK) {
        eh_why(why, whylen, rc == EH_ERR_CRYPTO
                             ? "the assertion's alg is not allowed, or no registered key of the "
                               "client verifies its signature"
                             : "the assertion is not a signed JWT");
        goto cleanup;
    }
    if ((rc = check_claims(claims, x, why, whylen)) != EH_OK)
        goto cleanup;
    *jti = strdup(json_string_value(json_object_get(claims, "jti")));
    *exp = (int64_t)json_number_value(json_object_get(claims, "exp"));
    rc = *jti != NULL ? EH_OK : EH_ERR_NOMEM;
cleanup:
    json_decref(claims);
    return rc;
}

eh_rc eh_client_assertion_check(eh_store *store, const eh_config_rp *rp, const char *issuer,
                                const char *assertion, int64_t now, char *why, size_t whylen)
{
    eh_client_assertion_expect x = {rp->client_id, issuer, NULL, now};
    char key[EH_STORE_KEY_MAX + 1], *token_endpoint = NULL, *jti = NULL, *digest = NULL;
    int64_t exp = 0, count = 0, ttl_s;
    eh_rc rc = EH_ERR_NOMEM;

    if (rp->token_endpoint_auth != EH_CLIENT_AUTH_PRIVATE_KEY_JWT || rp->jwks == NULL) {
        eh_why(why, whylen, "the client is not registered for private_key_jwt");
        return EH_ERR_INVALID;
    }
    if (asprintf(&token_endpoint, "%s/token", issuer) < 0) {
        token_endpoint = NULL;
        goto cleanup;
    }
    x.token_endpoint = token_endpoint;
    if ((rc = eh_client_assertion_verify(assertion, rp->jwks, &x, &jti, &exp, why, whylen)) !=
        EH_OK)
        goto cleanup;
    if ((rc = eh_token_digest(jti, &digest)) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), "replay:jti:%s:%s", rp->client_id, digest);
    /* remembered as long as the assertion could still be accepted */
    ttl_s = exp - now + EH_CLIENT_ASSERTION_SKEW_S;
    if (ttl_s < 1)
        ttl_s = 1;
    if ((rc = eh_store_incr(store, key, (uint32_t)ttl_s * 1000u, &count)) != EH_OK)
        goto cleanup;
    if (count > 1) {
        eh_why(why, whylen, "the assertion's jti was used before (a replay)");
        rc = EH_ERR_INVALID;
    }
cleanup:
    free(token_endpoint);
    free(jti);
    free(digest);
    return rc;
}
