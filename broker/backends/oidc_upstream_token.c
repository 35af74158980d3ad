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

#define KID_MAX 256
#define SUB_MAX 255

typedef enum key_type {
    KEY_NONE = 0,
    KEY_RSA = 1,
    KEY_EC_P256 = 2,
} key_type;

typedef struct key {
    char *kid; /* NULL when the JWK has none */
    char *alg; /* the JWK's "alg", or NULL */
    key_type type;
    cjose_jwk_t *jwk;
} key;

struct eh_oidcup_jwks {
    key *keys;
    size_t n;
};

/* The only algorithms an ID token may be signed with, and the key type each
 * needs. */
static const struct {
    const char *alg;
    key_type type;
} allowed_algs[] = {
    {"RS256", KEY_RSA},
    {"PS256", KEY_RSA},
    {"ES256", KEY_EC_P256},
};

/* Members that only a private or symmetric key has. */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* say writes a reason into why (whylen bytes; nothing when whylen is 0). */
static void say(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* type_for_alg returns the key type alg needs, KEY_NONE when alg is not
 * allowed. */
static key_type type_for_alg(const char *alg)
{
    for (size_t i = 0; alg != NULL && i < sizeof(allowed_algs) / sizeof(allowed_algs[0]); i++) {
        if (strcmp(alg, allowed_algs[i].alg) == 0)
            return allowed_algs[i].type;
    }
    return KEY_NONE;
}

int eh_oidcup_alg_allowed(const char *alg)
{
    return type_for_alg(alg) != KEY_NONE;
}

/* key_usable tells whether the JWK object j may verify signatures of the
 * allowed algorithms, and of which key type (*type). */
static int key_usable(const json_t *j, key_type *type)
{
    const char *kty = json_string_value(json_object_get(j, "kty"));
    const char *crv = json_string_value(json_object_get(j, "crv"));
    json_t *use = json_object_get(j, "use"), *ops = json_object_get(j, "key_ops");
    json_t *alg = json_object_get(j, "alg"), *kid = json_object_get(j, "kid"), *op;
    size_t i;
    int verify = 0;

    *type = KEY_NONE;
    if (kty != NULL && strcmp(kty, "RSA") == 0)
        *type = KEY_RSA;
    else if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
        *type = KEY_EC_P256;
    if (*type == KEY_NONE)
        return 0;
    if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
        return 0;
    if (ops != NULL) {
        if (!json_is_array(ops))
            return 0;
        json_array_foreach(ops, i, op)
        {
            verify |= json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
        }
        if (!verify)
            return 0;
    }
    if (alg != NULL && type_for_alg(json_string_value(alg)) != *type)
        return 0;
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                        json_string_length(kid) > KID_MAX ||
                        strlen(json_string_value(kid)) != json_string_length(kid)))
        return 0;
    for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++) {
        if (json_object_get(j, private_members[i]) != NULL)
            return 0;
    }
    return 1;
}

/* key_import makes a key of the JWK object j (already found usable) into
 * *k. EH_ERR_INVALID when cjose refuses it or it is too weak. */
static eh_rc key_import(const json_t *j, key_type type, key *k)
{
    const char *kid = json_string_value(json_object_get(j, "kid"));
    const char *alg = json_string_value(json_object_get(j, "alg"));
    char *text = json_dumps(j, JSON_COMPACT);
    cjose_err err;
    eh_rc rc = EH_ERR_NOMEM;

    memset(k, 0, sizeof(*k));
    if (text == NULL)
        goto cleanup;
    k->type = type;
    rc = EH_ERR_INVALID;
    k->jwk = eh_jwk_ok(j) ? cjose_jwk_import(text, strlen(text), &err) : NULL;
    if (k->jwk == NULL)
        goto cleanup;
    if (cjose_jwk_get_kty(k->jwk, &err) != (type == KEY_RSA ? CJOSE_JWK_KTY_RSA : CJOSE_JWK_KTY_EC))
        goto cleanup;
    if (type == KEY_RSA && cjose_jwk_get_keysize(k->jwk, &err) < EH_OIDCUP_RSA_MIN_BITS)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((kid != NULL && (k->kid = strdup(kid)) == NULL) ||
        (alg != NULL && (k->alg = strdup(alg)) == NULL))
        goto cleanup;
    rc = EH_OK;
cleanup:
    free(text);
    if (rc != EH_OK) {
        if (k->jwk != NULL)
            cjose_jwk_release(k->jwk);
        free(k->kid);
        free(k->alg);
        memset(k, 0, sizeof(*k));
    }
    return rc;
}

eh_rc eh_oidcup_jwks_parse(const char *text, size_t len, eh_oidcup_jwks **out, char *why,
                           size_t whylen)
{
    eh_oidcup_jwks *set = NULL;
    json_t *root = NULL, *keys, *j;
    json_error_t jerr;
    size_t i;
    eh_rc rc = EH_ERR_INVALID;

    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    keys = json_object_get(root, "keys");
    if (!json_is_object(root) || !json_is_array(keys)) {
        say(why, whylen, "the JWK Set is not a JSON object with a \"keys\" array");
        goto cleanup;
    }
    if (json_array_size(keys) > EH_OIDCUP_JWKS_MAX_KEYS) {
        say(why, whylen, "the JWK Set has more than %d keys", EH_OIDCUP_JWKS_MAX_KEYS);
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((set = calloc(1, sizeof(*set))) == NULL ||
        (set->keys = calloc(json_array_size(keys) + 1, sizeof(*set->keys))) == NULL)
        goto cleanup;
    json_array_foreach(keys, i, j)
    {
        key_type type;
        eh_rc krc;
        if (!json_is_object(j) || !key_usable(j, &type))
            continue;
        krc = key_import(j, type, &set->keys[set->n]);
        if (krc == EH_ERR_NOMEM)
            goto cleanup;
        if (krc == EH_OK)
            set->n++;
    }
    *out = set;
    set = NULL;
    rc = EH_OK;
cleanup:
    eh_oidcup_jwks_free(set);
    json_decref(root);
    return rc;
}

size_t eh_oidcup_jwks_count(const eh_oidcup_jwks *jwks)
{
    return jwks == NULL ? 0 : jwks->n;
}

void eh_oidcup_jwks_free(eh_oidcup_jwks *jwks)
{
    if (jwks == NULL)
        return;
    for (size_t i = 0; jwks->keys != NULL && i < jwks->n; i++) {
        cjose_jwk_release(jwks->keys[i].jwk);
        free(jwks->keys[i].kid);
        free(jwks->keys[i].alg);
    }
    free(jwks->keys);
    free(jwks);
}

/* find_key chooses the key of jwks for a token signed with alg naming kid
 * (may be NULL): with a kid, a key with exactly that kid, of the type alg
 * needs and not bound to another alg; without, the only key that fits. */
static eh_rc find_key(const eh_oidcup_jwks *jwks, const char *kid, const char *alg, const key **out)
{
    key_type type = type_for_alg(alg);
    size_t fitting = 0;

    *out = NULL;
    for (size_t i = 0; jwks != NULL && i < jwks->n; i++) {
        const key *k = &jwks->keys[i];
        if (k->type != type || (k->alg != NULL && strcmp(k->alg, alg) != 0))
            continue;
        if (kid != NULL) {
            /* only ever compared: a kid is a name in this set, nothing else */
            if (k->kid != NULL && strcmp(k->kid, kid) == 0) {
                *out = k;
                return EH_OK;
            }
            continue;
        }
        fitting++;
        *out = k;
    }
    if (kid == NULL && fitting > 1) {
        *out = NULL;
        return EH_ERR_INVALID;
    }
    return *out != NULL ? EH_OK : EH_ERR_NOT_FOUND;
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
        say(why, whylen, "the ID token's iss is not the provider's issuer");
        return EH_ERR_INVALID;
    }
    if (!audience_ok(claims, x->client_id)) {
        say(why, whylen, "the ID token's aud or azp is not our client_id");
        return EH_ERR_INVALID;
    }
    if (!json_is_number(exp)) {
        say(why, whylen, "the ID token has no exp");
        return EH_ERR_INVALID;
    }
    if (json_number_value(exp) <= now - skew) {
        say(why, whylen, "the ID token has expired");
        return EH_ERR_INVALID;
    }
    if (!json_is_number(iat)) {
        say(why, whylen, "the ID token has no iat");
        return EH_ERR_INVALID;
    }
    if (json_number_value(iat) > now + skew) {
        say(why, whylen, "the ID token was issued in the future (iat)");
        return EH_ERR_INVALID;
    }
    if (nbf != NULL && (!json_is_number(nbf) || json_number_value(nbf) > now + skew)) {
        say(why, whylen, "the ID token is not valid yet (nbf)");
        return EH_ERR_INVALID;
    }
    if (x->nonce == NULL || !json_is_string(nonce) ||
        strlen(json_string_value(nonce)) != json_string_length(nonce) ||
        !eh_token_equal(json_string_value(nonce), x->nonce)) {
        say(why, whylen, "the ID token's nonce is not the one we sent");
        return EH_ERR_INVALID;
    }
    if (!json_is_string(sub) || json_string_length(sub) == 0 || json_string_length(sub) > SUB_MAX ||
        strlen(json_string_value(sub)) != json_string_length(sub)) {
        say(why, whylen, "the ID token has no usable sub");
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
    const key *k = NULL;
    const char *alg, *signed_alg;
    uint8_t *plain = NULL;
    size_t len, plain_len = 0;
    json_error_t jerr;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    *claims = NULL;
    say(why, whylen, "no reason");
    if (token == NULL || x == NULL || x->issuer == NULL || x->client_id == NULL) {
        say(why, whylen, "no ID token");
        goto cleanup;
    }
    len = strlen(token);
    if (len > EH_OIDCUP_TOKEN_MAX) {
        say(why, whylen, "the ID token is over %d bytes", EH_OIDCUP_TOKEN_MAX);
        rc = EH_ERR_TOO_LARGE;
        goto cleanup;
    }
    if (len == 0 || !b64url_only(token, len) || decode_header(token, &header) != EH_OK) {
        say(why, whylen, "the ID token is not a JWS compact serialisation");
        goto cleanup;
    }
    alg = json_string_value(json_object_get(header, "alg"));
    if (!eh_oidcup_alg_allowed(alg)) {
        say(why, whylen, "the ID token's alg is not allowed (only RS256, PS256, ES256)");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (json_object_get(header, "crit") != NULL) {
        say(why, whylen, "the ID token's header has a crit member");
        goto cleanup;
    }
    if (!three_parts(token)) {
        say(why, whylen, "the ID token is not a signed JWT of three parts");
        goto cleanup;
    }
    kid = json_object_get(header, "kid");
    if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                        json_string_length(kid) > KID_MAX ||
                        strlen(json_string_value(kid)) != json_string_length(kid))) {
        say(why, whylen, "the ID token's kid is not a usable string");
        goto cleanup;
    }
    rc = find_key(jwks, json_string_value(kid), alg, &k);
    if (rc != EH_OK) {
        say(why, whylen,
            rc == EH_ERR_NOT_FOUND
                ? "no key of the provider's JWK Set fits the ID token's kid and alg"
                : "the ID token names no kid and the provider has several keys");
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    jws = eh_jws_compact_ok(token, len) ? cjose_jws_import(token, len, &err) : NULL;
    if (jws == NULL) {
        say(why, whylen, "the ID token is not a JWS cjose can read");
        goto cleanup;
    }
    /* cjose decoded the same header; make sure it acts on the alg we checked */
    signed_alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &err);
    if (signed_alg == NULL || strcmp(signed_alg, alg) != 0) {
        say(why, whylen, "the ID token's header is ambiguous");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (!cjose_jws_verify(jws, k->jwk, &err)) {
        say(why, whylen, "the ID token's signature does not verify");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err)) {
        say(why, whylen, "the ID token has no payload");
        goto cleanup;
    }
    payload = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(payload)) {
        say(why, whylen, "the ID token's payload is not a JSON object");
        goto cleanup;
    }
    rc = check_claims(payload, x, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    *claims = payload;
    payload = NULL;
    say(why, whylen, "valid");
cleanup:
    json_decref(header);
    json_decref(payload);
    cjose_jws_release(jws);
    return rc;
}
