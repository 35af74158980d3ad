/* eidhub: ID tokens of national OpenID Connect eID providers (see
 * oidc_upstream_token.h). */
#include "broker/b64check.h"
#include "broker/backends/oidc_upstream_token.h"

#include <cjose/cjose.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/random.h"

#define KID_MAX EH_JWKS_KID_MAX
#define SUB_MAX 255

int eh_oidcup_alg_allowed(const char *alg)
{
    return eh_jwks_alg_allowed(alg);
}

eh_rc eh_oidcup_jwks_parse(const char *text, size_t len, eh_oidcup_jwks **out, char *why,
                           size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    char inner[160] = "";
    eh_rc rc;

    *out = NULL;
    if (!json_is_object(root) || !json_is_array(json_object_get(root, "keys"))) {
        eh_why(why, whylen, "the JWK Set is not a JSON object with a \"keys\" array");
        json_decref(root);
        return EH_ERR_INVALID;
    }
    rc = eh_jwks_from_json_usable(root, EH_OIDCUP_JWKS_MAX_KEYS, out, inner, sizeof(inner));
    if (rc == EH_ERR_INVALID)
        eh_why(why, whylen, "the JWK Set %s", inner);
    json_decref(root);
    return rc;
}

size_t eh_oidcup_jwks_count(const eh_oidcup_jwks *jwks)
{
    return eh_jwks_count(jwks);
}

void eh_oidcup_jwks_free(eh_oidcup_jwks *jwks)
{
    eh_jwks_free(jwks);
}

/* b64url_only tells whether s is made of base64url characters and dots. */
static int b64url_only(const char *s, size_t len)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    return strspn(s, set) == len;
}

/* decode_header parses the JOSE header of the compact token (the text
 * before its first dot) into *out. */
static eh_rc decode_header(const char *token, json_t **out)
{
    const char *dot = strchr(token, '.');
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_error_t jerr;
    cjose_err err;

    *out = NULL;
    if (dot == NULL || dot == token || !eh_b64_ok(token, (size_t)(dot - token), 1) ||
        !cjose_base64url_decode(token, (size_t)(dot - token), &raw, &raw_len, &err))
        return EH_ERR_INVALID;
    *out = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, &jerr);
    cjose_get_dealloc()(raw);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return EH_ERR_INVALID;
    }
    return EH_OK;
}

/* three_parts tells whether token is header.payload.signature with no part
 * empty (a five-part token is encrypted, which we do not accept). */
static int three_parts(const char *token)
{
    const char *first = strchr(token, '.'), *second;

    if (first == NULL || first == token)
        return 0;
    second = strchr(first + 1, '.');
    return second != NULL && second != first + 1 && second[1] != '\0' &&
           strchr(second + 1, '.') == NULL;
}

/* audience_ok checks aud and azp against client_id. */
static int audience_ok(const json_t *claims, const char *client_id)
{
    json_t *aud = json_object_get(claims, "aud"), *azp = json_object_get(claims, "azp"), *a;
    size_t i;
    int found = 0;

    if (azp != NULL && !(json_is_string(azp) && strcmp(json_string_value(azp), client_id) == 0))
        return 0;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return 0;
    json_array_foreach(aud, i, a)
    {
        if (!json_is_string(a))
            return 0;
        found |= strcmp(json_string_value(a), client_id) == 0;
    }
    /* OIDC Core 3.1.3.7: with several audiences, azp names the client */
    return found && (json_array_size(aud) == 1 || azp != NULL);
}

/* check_claims checks the payload's claims against x. */
static eh_rc check_claims(const json_t *claims, const eh_oidcup_expect *x, char *why, size_t whylen)
{
    json_t *iss = json_object_get(claims, "iss"), *sub = json_object_get(claims, "sub");
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    json_t *nbf = json_object_get(claims, "nbf"), *nonce = json_object_get(claims, "nonce");
    double now = (double)x->now, skew = (double)x->skew_s;

    if (!json_is_string(iss) || strcmp(json_string_value(iss), x->issuer) != 0) {
        eh_why(why, whylen, "the ID token's iss is not the provider's issuer");
        return EH_ERR_INVALID;
    }
    if (!audience_ok(claims, x->client_id)) {
        eh_why(why, whylen, "the ID token's aud or azp is not our client_id");
        return EH_ERR_INVALID;
    }
    if (!json_is_number(exp)) {
        eh_why(why, whylen, "the ID token has no exp");
        return EH_ERR_INVALID;
    }
    if (json_number_value(exp) <= now - skew) {
        eh_why(why, whylen, "the ID token has expired");
        return EH_ERR_INVALID;
    }
    if (!json_is_number(iat)) {
        eh_why(why, whylen, "the ID token has no iat");
        return EH_ERR_INVALID;
    }
    if (json_number_value(iat) > now + skew) {
        eh_why(why, whylen, "the ID token was issued in the future (iat)");
        return EH_ERR_INVALID;
    }
    if (nbf != NULL && (!json_is_number(nbf) || json_number_value(nbf) > now + skew)) {
        eh_why(why, whylen, "the ID token is not valid yet (nbf)");
        return EH_ERR_INVALID;
    }
    if (x->nonce == NULL || !json_is_string(nonce) ||
        strlen(json_string_value(nonce)) != json_string_length(nonce) ||
        !eh_token_equal(json_string_value(nonce), x->nonce)) {
        eh_why(why, whylen, "the ID token's nonce is not the one we sent");
        return EH_ERR_INVALID;
    }
    if (!json_is_string(sub) || json_string_length(sub) == 0 || json_string_length(sub) > SUB_MAX ||
        strlen(json_string_value(sub)) != json_string_length(sub)) {
        eh_why(why, whylen, "the ID token has no usable sub");
        return EH_ERR_INVALID;
    }
    return EH_OK;
}

eh_rc eh_oidcup_id_token_verify(const char *token, const eh_oidcup_jwks *jwks,
                                const eh_oidcup_expect *x, json_t **claims, char *why,
                                size_t whylen)
{
    json_t *header = NULL, *kid, *payload = NULL;
    cjose_jws_t *jws = NULL;
    const cjose_jwk_t *k = NULL;
    const char *alg, *signed_alg;
    uint8_t *plain = NULL;
    size_t len, plain_len = 0;
    json_error_t jerr;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    *claims = NULL;
    eh_why(why, whylen, "no reason");
    if (token == NULL || x == NULL || x->issuer == NULL || x->client_id == NULL) {
        eh_why(why, whylen, "no ID token");
        goto cleanup;
    }
    len = strlen(token);
    if (len > EH_OIDCUP_TOKEN_MAX) {
        eh_why(why, whylen, "the ID token is over %d bytes", EH_OIDCUP_TOKEN_MAX);
        rc = EH_ERR_TOO_LARGE;
        goto cleanup;
    }
    if (len == 0 || !b64url_only(token, len) || decode_header(token, &header) != EH_OK) {
        eh_why(why, whylen, "the ID token is not a JWS compact serialisation");
        goto cleanup;
    }
    alg = json_string_value(json_object_get(header, "alg"));
    if (!eh_oidcup_alg_allowed(alg)) {
        eh_why(why, whylen, "the ID token's alg is not allowed (only RS256, PS256, ES256)");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (json_object_get(header, "crit") != NULL) {
        eh_why(why, whylen, "the ID token's header has a crit member");
        goto cleanup;
    }
    if (!three_parts(token)) {
        eh_why(why, whylen, "the ID token is not a signed JWT of three parts");
        goto cleanup;
    }
    kid = json_object_get(header, "kid");
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                        json_string_length(kid) > KID_MAX ||
                        strlen(json_string_value(kid)) != json_string_length(kid))) {
        eh_why(why, whylen, "the ID token's kid is not a usable string");
        goto cleanup;
    }
    if (kid == NULL && eh_jwks_fitting(jwks, alg) > 1) {
        eh_why(why, whylen, "the ID token names no kid and the provider has several keys");
        goto cleanup;
    }
    k = eh_jwks_find(jwks, json_string_value(kid), alg);
    if (k == NULL) {
        /* not in this copy of the set: the caller may fetch it again once */
        rc = EH_ERR_NOT_FOUND;
        eh_why(why, whylen, "no key of the provider's JWK Set fits the ID token's kid and alg");
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    jws = eh_jws_compact_ok(token, len) ? cjose_jws_import(token, len, &err) : NULL;
    if (jws == NULL) {
        eh_why(why, whylen, "the ID token is not a JWS cjose can read");
        goto cleanup;
    }
    /* cjose decoded the same header; make sure it acts on the alg we checked */
    signed_alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &err);
    if (signed_alg == NULL || strcmp(signed_alg, alg) != 0) {
        eh_why(why, whylen, "the ID token's header is ambiguous");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (!cjose_jws_verify(jws, (cjose_jwk_t *)k, &err)) {
        eh_why(why, whylen, "the ID token's signature does not verify");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err)) {
        eh_why(why, whylen, "the ID token has no payload");
        goto cleanup;
    }
    payload = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(payload)) {
        eh_why(why, whylen, "the ID token's payload is not a JSON object");
        goto cleanup;
    }
    rc = check_claims(payload, x, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    *claims = payload;
    payload = NULL;
    eh_why(why, whylen, "valid");
cleanup:
    json_decref(header);
    json_decref(payload);
    cjose_jws_release(jws);
    return rc;
}
