/* Unit tests of private_key_jwt client authentication: the registered JWK
 * Set (broker/jwks.c, through the configuration), the verification of
 * client assertions (broker/frontends/oidc_client_assertion.c, with
 * broker/jwt.c's eh_jwt_verify_jwks) on crafted JWTs, and the single use
 * of each jti in a real (embedded) store. */
#include "tests/unit/suites.h"
#include "tests/unit/testutil.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/config.h"
#include "broker/frontends/oidc_client_assertion.h"
#include "broker/jwks.h"
#include "broker/jwt.h"
#include "broker/store.h"

#define ISSUER "https://id.example.ee"
#define TOKEN_ENDPOINT ISSUER "/token"
#define CLIENT "portal"

static cjose_jwk_t *rsa1, *rsa_small, *ec1, *ec2;

static void keys_setup(void)
{
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err err;

    rsa1 = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
    rsa_small = cjose_jwk_create_RSA_random(1024, e, sizeof(e), &err);
    ec1 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ec2 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ck_assert(rsa1 && rsa_small && ec1 && ec2);
}

static void keys_teardown(void)
{
    cjose_jwk_release(rsa1);
    cjose_jwk_release(rsa_small);
    cjose_jwk_release(ec1);
    cjose_jwk_release(ec2);
}

/* jwk returns the JWK of k (private members too when priv) as a JSON object
 * with kid (NULL: none) and the members of extra (may be NULL) merged in;
 * a null member of extra removes that member. */
static json_t *jwk(const cjose_jwk_t *k, int priv, const char *kid, const char *extra)
{
    cjose_err err;
    char *text = cjose_jwk_to_json(k, priv, &err);
    json_t *j = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(j);
    free(text);
    json_object_del(j, "kid");
    if (kid != NULL)
        json_object_set_new(j, "kid", json_string(kid));
    return eh_test_json_apply(j, extra);
}

/* set makes a JWK Set object of up to three keys (NULL-terminated). */
static json_t *set(json_t *a, json_t *b, json_t *c)
{
    json_t *keys = json_array();
    json_t *all[] = {a, b, c};

    for (size_t i = 0; i < 3 && all[i] != NULL; i++)
        json_array_append_new(keys, all[i]);
    return json_pack("{s:o}", "keys", keys);
}

/* jwks_of reads s (consumed), expecting success. */
static eh_jwks *jwks_of(json_t *s)
{
    eh_jwks *out = NULL;
    char why[256] = "";
    ck_assert_msg(eh_jwks_from_json(s, &out, why, sizeof(why)) == EH_OK, "%s", why);
    json_decref(s);
    return out;
}

/* jwks_why reads s (consumed), expecting refusal; returns the reason. */
static const char *jwks_why(json_t *s)
{
    static char why[256];
    eh_jwks *out = NULL;
    why[0] = '\0';
    ck_assert_int_eq(eh_jwks_from_json(s, &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_ptr_null(out);
    json_decref(s);
    return why;
}

/* The client's usual set: ec1 ("ec-1") and rsa1 ("rsa-1"). */
static eh_jwks *usual(void)
{
    return jwks_of(set(jwk(ec1, 0, "ec-1", NULL), jwk(rsa1, 0, "rsa-1", NULL), NULL));
}

/* claims returns valid assertion claims for now with changes (a JSON
 * object text, null members removed; may be NULL) applied. */
static json_t *claims(const char *changes)
{
    json_int_t now = (json_int_t)time(NULL);
    char jti[64];
    static unsigned n;

    snprintf(jti, sizeof(jti), "jti-%u-%lld", ++n, (long long)now);
    return eh_test_json_apply(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", CLIENT, "sub",
                                        CLIENT, "aud", TOKEN_ENDPOINT, "jti", jti, "iat", now,
                                        "exp", now + 60),
                              changes);
}

/* sign makes a compact JWS of payload (consumed) with k, alg and kid (may
 * be NULL); crit (may be NULL) becomes a "crit" header. */
static char *sign(const cjose_jwk_t *k, const char *alg, const char *kid, json_t *payload,
                  const char *crit)
{
    return eh_test_jws(k, alg, kid, NULL, crit, payload);
}

/* b64url encodes s without padding (caller frees). */
static char *b64url(const char *s)
{
    char *out = NULL;
    size_t len = 0;
    cjose_err err;
    ck_assert(cjose_base64url_encode((const uint8_t *)s, strlen(s), &out, &len, &err));
    return out;
}

/* unsigned_token makes header.payload. with alg "none". */
static char *unsigned_token(json_t *payload)
{
    char *p = json_dumps(payload, JSON_COMPACT), *h = b64url("{\"alg\":\"none\"}");
    char *b = b64url(p), *out = NULL;
    ck_assert_int_ge(asprintf(&out, "%s.%s.", h, b), 0);
    free(p);
    free(h);
    free(b);
    json_decref(payload);
    return out;
}

static const eh_client_assertion_expect *expect(void)
{
    static eh_client_assertion_expect x;
    x.client_id = CLIENT;
    x.issuer = ISSUER;
    x.token_endpoint = TOKEN_ENDPOINT;
    x.now = (int64_t)time(NULL);
    return &x;
}

/* verify runs eh_client_assertion_verify on token (freed) with keys. */
static eh_rc verify(const eh_jwks *keys, char *token, char *why, size_t whylen)
{
    char *jti = NULL;
    int64_t exp = 0;
    eh_rc rc = eh_client_assertion_verify(token, keys, expect(), &jti, &exp, why, whylen);
    if (rc == EH_OK) {
        ck_assert_ptr_nonnull(jti);
        ck_assert_int_gt(exp, expect()->now - EH_CLIENT_ASSERTION_SKEW_S);
    } else {
        ck_assert_ptr_null(jti);
    }
    free(jti);
    free(token);
    return rc;
}

/* ---- the registered JWK Set ---------------------------------------------- */

START_TEST(jwks_accepts_public_rsa_and_ec)
{
    eh_jwks *k = jwks_of(set(jwk(ec1, 0, "ec-1", "{\"use\": \"sig\", \"alg\": \"ES256\"}"),
                             jwk(rsa1, 0, NULL, "{\"key_ops\": [\"verify\"], \"alg\": \"PS256\"}"),
                             NULL));
    ck_assert_uint_eq(eh_jwks_count(k), 2);
    ck_assert_ptr_nonnull(eh_jwks_find(k, "ec-1", "ES256"));
    ck_assert_ptr_null(eh_jwks_find(k, "ec-1", "RS256")); /* type mismatch */
    ck_assert_ptr_nonnull(eh_jwks_find(k, NULL, "PS256"));
    ck_assert_ptr_null(eh_jwks_find(k, NULL, "RS256")); /* the RSA key is bound to PS256 */
    ck_assert_ptr_null(eh_jwks_find(k, "../../etc/passwd", "ES256"));
    ck_assert_ptr_null(eh_jwks_find(k, NULL, "none"));
    ck_assert_ptr_null(eh_jwks_find(k, NULL, "HS256"));
    eh_jwks_free(k);
}
END_TEST

START_TEST(jwks_refusals)
{
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 1, "a", NULL), NULL, NULL)),
                     "keys[0]: has the private or symmetric member \"d\"; register only public keys");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", NULL), jwk(rsa1, 1, "b", NULL), NULL)),
                     "keys[1]: has the private or symmetric member \"d\"; register only public keys");
    ck_assert_str_eq(
        jwks_why(set(json_pack("{s:s, s:s}", "kty", "oct", "k", "c2VjcmV0"), NULL, NULL)),
        "keys[0]: has the private or symmetric member \"k\"; register only public keys");
    ck_assert_str_eq(jwks_why(set(json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
                                            "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
                                  NULL, NULL)),
                     "keys[0]: must be an RSA key or an EC key on P-256 (kty \"RSA\" or \"EC\" "
                     "with crv \"P-256\")");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"crv\": \"P-384\"}"), NULL, NULL)),
                     "keys[0]: must be an RSA key or an EC key on P-256 (kty \"RSA\" or \"EC\" "
                     "with crv \"P-256\")");
    ck_assert_str_eq(jwks_why(set(jwk(rsa_small, 0, "a", NULL), NULL, NULL)),
                     "keys[0]: an RSA key must have at least 2048 bits");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"use\": \"enc\"}"), NULL, NULL)),
                     "keys[0]: \"use\" must be \"sig\"");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"key_ops\": [\"sign\"]}"), NULL, NULL)),
                     "keys[0]: \"key_ops\" must hold \"verify\"");
    ck_assert_str_eq(jwks_why(set(jwk(rsa1, 0, "a", "{\"alg\": \"HS256\"}"), NULL, NULL)),
                     "keys[0]: \"alg\" must be RS256 or PS256 for an RSA key");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"alg\": \"none\"}"), NULL, NULL)),
                     "keys[0]: \"alg\" must be ES256 for a P-256 key");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"alg\": \"RS256\"}"), NULL, NULL)),
                     "keys[0]: \"alg\" must be ES256 for a P-256 key");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "", NULL), NULL, NULL)),
                     "keys[0]: \"kid\" must be a non-empty string of at most 256 bytes");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "same", NULL), jwk(ec2, 0, "same", NULL), NULL)),
                     "keys[1]: its kid is also the kid of keys[0]");
    ck_assert_str_eq(jwks_why(set(jwk(ec1, 0, "a", "{\"x\": null}"), NULL, NULL)),
                     "keys[0]: is not a valid public JWK (a member is missing or malformed)");
    ck_assert_str_eq(jwks_why(set(NULL, NULL, NULL)),
                     "must be a JWK Set: an object with a non-empty \"keys\" array");
    ck_assert_str_eq(jwks_why(json_string("https://portal.example/jwks")),
                     "must be a JWK Set: an object with a non-empty \"keys\" array");
    {
        json_t *many = json_array();
        for (int i = 0; i < EH_JWKS_MAX_KEYS + 1; i++)
            json_array_append_new(many, jwk(ec1, 0, NULL, NULL));
        ck_assert_str_eq(jwks_why(json_pack("{s:o}", "keys", many)), "has more than 16 keys");
    }
}
END_TEST

START_TEST(jwks_no_kid_several_keys)
{
    eh_jwks *k = jwks_of(set(jwk(ec1, 0, NULL, NULL), jwk(ec2, 0, NULL, NULL), NULL));
    char why[256];

    /* without a kid the choice would be a guess: refused */
    ck_assert_ptr_null(eh_jwks_find(k, NULL, "ES256"));
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", NULL, claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    eh_jwks_free(k);
}
END_TEST

/* ---- the assertion -------------------------------------------------------- */

START_TEST(assertion_accepted)
{
    eh_jwks *k = usual();
    char why[256] = "";

    ck_assert_msg(verify(k, sign(ec1, "ES256", "ec-1", claims(NULL), NULL), why, sizeof(why)) ==
                      EH_OK, "%s", why);
    ck_assert_msg(verify(k, sign(rsa1, "RS256", "rsa-1", claims(NULL), NULL), why, sizeof(why)) ==
                      EH_OK, "%s", why);
    ck_assert_msg(verify(k, sign(rsa1, "PS256", "rsa-1", claims(NULL), NULL), why, sizeof(why)) ==
                      EH_OK, "%s", why);
    /* aud: the issuer, or an array naming the token endpoint; no iat */
    ck_assert_msg(verify(k, sign(ec1, "ES256", "ec-1", claims("{\"aud\": \"" ISSUER "\"}"), NULL),
                         why, sizeof(why)) == EH_OK, "%s", why);
    ck_assert_msg(verify(k, sign(ec1, "ES256", "ec-1",
                                 claims("{\"aud\": [\"https://other.example\", \"" TOKEN_ENDPOINT
                                        "\"], \"iat\": null}"), NULL),
                         why, sizeof(why)) == EH_OK, "%s", why);
    /* the kid is only a lookup key: none is fine when one key fits */
    ck_assert_msg(verify(k, sign(rsa1, "PS256", NULL, claims(NULL), NULL), why, sizeof(why)) ==
                      EH_OK, "%s", why);
    eh_jwks_free(k);
}
END_TEST

/* at builds claims with exp (and iat, nbf when not 0) relative to now. */
static json_t *at(long exp, long iat, long nbf)
{
    json_int_t now = (json_int_t)time(NULL);
    json_t *c = claims("{\"iat\": null}");
    json_object_set_new(c, "exp", json_integer(now + exp));
    if (iat != 0)
        json_object_set_new(c, "iat", json_integer(now + iat));
    if (nbf != 0)
        json_object_set_new(c, "nbf", json_integer(now + nbf));
    return c;
}

START_TEST(assertion_times)
{
    eh_jwks *k = usual();
    char why[256] = "";

    ck_assert_msg(verify(k, sign(ec1, "ES256", "ec-1", at(-30, -100, -100), NULL), why,
                         sizeof(why)) == EH_OK, "%s", why);
    ck_assert_msg(verify(k, sign(ec1, "ES256", "ec-1", at(290, -5, 0), NULL), why, sizeof(why)) ==
                      EH_OK, "%s", why);
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", at(-70, -100, 0), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion has expired");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", at(3600, 0, 0), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion lives too long (exp more than 300 s ahead)");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", at(200, -200, 0), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion lives too long (exp more than 300 s after iat)");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", at(200, 120, 0), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion's iat is not a time in the past");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", at(200, 0, 120), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion is not valid yet (nbf)");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", claims("{\"exp\": null}"), NULL), why,
                            sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion has no exp");
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", claims("{\"exp\": \"soon\"}"), NULL),
                            why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion has no exp");
    eh_jwks_free(k);
}
END_TEST

START_TEST(assertion_claims_refused)
{
    static const struct {
        const char *changes, *why;
    } cases[] = {
        {"{\"iss\": \"tax\"}", "the assertion's iss and sub are not both the client_id"},
        {"{\"sub\": \"tax\"}", "the assertion's iss and sub are not both the client_id"},
        {"{\"iss\": null}", "the assertion's iss and sub are not both the client_id"},
        {"{\"sub\": [\"portal\"]}", "the assertion's iss and sub are not both the client_id"},
        {"{\"aud\": \"https://id.example.ee/token/\"}",
         "the assertion's aud names neither the token endpoint nor the issuer"},
        {"{\"aud\": \"https://evil.example/token\"}",
         "the assertion's aud names neither the token endpoint nor the issuer"},
        {"{\"aud\": [\"https://evil.example\", 7]}",
         "the assertion's aud names neither the token endpoint nor the issuer"},
        {"{\"aud\": null}", "the assertion's aud names neither the token endpoint nor the issuer"},
        {"{\"jti\": null}", "the assertion has no usable jti"},
        {"{\"jti\": \"\"}", "the assertion has no usable jti"},
        {"{\"jti\": 42}", "the assertion has no usable jti"},
    };
    eh_jwks *k = usual();
    char why[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why[0] = '\0';
        ck_assert_int_eq(verify(k, sign(ec1, "ES256", "ec-1", claims(cases[i].changes), NULL), why,
                                sizeof(why)), EH_ERR_INVALID);
        ck_assert_msg(strcmp(why, cases[i].why) == 0, "%s: %s", cases[i].changes, why);
    }
    eh_jwks_free(k);
}
END_TEST

START_TEST(assertion_signature_refused)
{
    eh_jwks *k = usual();
    cjose_err err;
    char why[256], *tok;
    cjose_jwk_t *oct;
    char *pub = cjose_jwk_to_json(rsa1, false, &err);

    /* alg none */
    ck_assert_int_ne(verify(k, unsigned_token(claims(NULL)), why, sizeof(why)), EH_OK);
    /* HS256 keyed with the client's own public key (the classic confusion) */
    oct = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &err);
    ck_assert_ptr_nonnull(oct);
    ck_assert_int_eq(verify(k, sign(oct, "HS256", "rsa-1", claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(k, sign(oct, "HS256", NULL, claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    cjose_jwk_release(oct);
    free(pub);
    /* another key, under a registered kid and under none */
    ck_assert_int_eq(verify(k, sign(ec2, "ES256", "ec-1", claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(k, sign(ec2, "ES256", "ec-2", claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    /* the right key, but a kid naming the other key type */
    ck_assert_int_eq(verify(k, sign(ec1, "ES256", "rsa-1", claims(NULL), NULL), why, sizeof(why)),
                     EH_ERR_CRYPTO);
    /* a crit header */
    ck_assert_int_ne(verify(k, sign(ec1, "ES256", "ec-1", claims(NULL), "[\"exp\"]"), why,
                            sizeof(why)), EH_OK);
    /* a tampered payload */
    tok = sign(ec1, "ES256", "ec-1", claims(NULL), NULL);
    {
        char *dot = strchr(tok, '.');
        dot[3] = dot[3] == 'A' ? 'B' : 'A';
    }
    ck_assert_int_ne(verify(k, tok, why, sizeof(why)), EH_OK);
    /* not a JWS at all, and far too large */
    ck_assert_int_eq(verify(k, strdup("not.a.jwt!"), why, sizeof(why)), EH_ERR_INVALID);
    {
        char *big = malloc(EH_JWT_MAX + 2);
        memset(big, 'A', EH_JWT_MAX + 1);
        big[EH_JWT_MAX + 1] = '\0';
        ck_assert_int_eq(verify(k, big, why, sizeof(why)), EH_ERR_TOO_LARGE);
    }
    eh_jwks_free(k);
}
END_TEST

START_TEST(subject_peeked)
{
    char *id = NULL, *tok = unsigned_token(claims(NULL));

    /* read without any verification: only to know whose keys to try */
    ck_assert_int_eq(eh_client_assertion_subject(tok, &id), EH_OK);
    ck_assert_str_eq(id, CLIENT);
    free(id);
    free(tok);
    ck_assert_int_eq(eh_client_assertion_subject("a.b", &id), EH_ERR_INVALID);
    ck_assert_ptr_null(id);
    ck_assert_int_eq(eh_client_assertion_subject("x", &id), EH_ERR_INVALID);
}
END_TEST

/* ---- registration and the jti's single use -------------------------------- */

/* rp_doc returns a configuration text with one relying party whose other
 * members are extra (a JSON fragment starting with a comma, may be ""). */
static char *rp_doc(const char *extra)
{
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"" ISSUER "\", \"keys\": [{\"file\": \"k.pem\"}], "
                              "\"relying_parties\": [{\"client_id\": \"" CLIENT "\", "
                              "\"redirect_uris\": [\"https://portal.example/cb\"], "
                              "\"display_name\": \"Portal\", \"policy\": \"basic\", "
                              "\"subject_type\": \"public\"%s}]}",
                              extra),
                     0);
    return text;
}

static eh_rc parse(const char *extra, eh_config **cfg, char *err, size_t errlen)
{
    char *text = rp_doc(extra);
    eh_rc rc = eh_config_parse(text, strlen(text), "/etc/eidhub/broker.json", cfg, err, errlen);
    free(text);
    return rc;
}

/* jwks_member returns ", \"jwks\": <set>" for set (consumed). */
static char *jwks_member(json_t *s)
{
    char *text = json_dumps(s, JSON_COMPACT), *out = NULL;
    ck_assert_int_ge(asprintf(&out, ", \"jwks\": %s", text), 0);
    free(text);
    json_decref(s);
    return out;
}

#define SECRET_HASH "\"client_secret_sha256\": \"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\""

START_TEST(registration)
{
    char err[512], *keys = jwks_member(set(jwk(ec1, 0, "ec-1", NULL), NULL, NULL)), *extra = NULL;
    char *priv = jwks_member(set(jwk(ec1, 1, "ec-1", NULL), NULL, NULL));
    eh_config *cfg = NULL;
    const struct {
        const char *extra, *err;
    } bad[] = {
        {", \"token_endpoint_auth_method\": \"private_key_jwt\"",
         "$.relying_parties[0].token_endpoint_auth_method: private_key_jwt needs the client's "
         "public keys in \"jwks\" (a JWK Set)"},
        {", \"token_endpoint_auth_method\": \"client_secret_jwt\"",
         "$.relying_parties[0].token_endpoint_auth_method: must be \"client_secret_basic\""},
        {", \"token_endpoint_auth_method\": \"client_secret_basic\"",
         "$.relying_parties[0].token_endpoint_auth_method: needs client_secret_sha256"},
        {", " SECRET_HASH ", \"token_endpoint_auth_method\": \"none\"",
         "$.relying_parties[0].token_endpoint_auth_method: \"none\" (a public client) cannot"},
        {", \"token_endpoint_auth_method\": \"private_key_jwt\", \"jwks_uri\": "
         "\"https://portal.example/jwks\"",
         "$.relying_parties[0].jwks_uri: is not supported: give the client's public keys inline"},
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(parse(bad[i].extra, &cfg, err, sizeof(err)), EH_ERR_CONFIG);
        ck_assert_msg(strstr(err, bad[i].err) != NULL, "%s", err);
    }
    /* keys with a secret, keys for a secret client, private keys */
    ck_assert_int_ge(asprintf(&extra, ", " SECRET_HASH ", \"token_endpoint_auth_method\": "
                                      "\"private_key_jwt\"%s", keys), 0);
    ck_assert_int_eq(parse(extra, &cfg, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "a private_key_jwt client must not have a client_secret_sha256"),
                  "%s", err);
    free(extra);
    ck_assert_int_ge(asprintf(&extra, ", " SECRET_HASH "%s", keys), 0);
    ck_assert_int_eq(parse(extra, &cfg, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.relying_parties[0].jwks: is only used with"), "%s", err);
    free(extra);
    ck_assert_int_ge(asprintf(&extra, ", \"token_endpoint_auth_method\": \"private_key_jwt\"%s",
                              priv), 0);
    ck_assert_int_eq(parse(extra, &cfg, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.relying_parties[0].jwks: keys[0]: has the private or symmetric "
                              "member \"d\""), "%s", err);
    {
        json_t *full = jwk(ec1, 1, NULL, NULL); /* the private value is never quoted */
        ck_assert_ptr_null(strstr(err, json_string_value(json_object_get(full, "d"))));
        json_decref(full);
    }
    free(extra);
    /* the defaults: secret or none */
    ck_assert_int_eq(parse(", " SECRET_HASH, &cfg, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(cfg->rps[0].token_endpoint_auth, EH_CLIENT_AUTH_SECRET);
    ck_assert_ptr_null(cfg->rps[0].jwks);
    eh_config_free(cfg);
    ck_assert_int_eq(parse("", &cfg, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(cfg->rps[0].token_endpoint_auth, EH_CLIENT_AUTH_NONE);
    eh_config_free(cfg);
    /* a good private_key_jwt registration */
    ck_assert_int_ge(asprintf(&extra, ", \"token_endpoint_auth_method\": \"private_key_jwt\"%s",
                              keys), 0);
    ck_assert_msg(parse(extra, &cfg, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(cfg->rps[0].token_endpoint_auth, EH_CLIENT_AUTH_PRIVATE_KEY_JWT);
    ck_assert_uint_eq(eh_jwks_count(cfg->rps[0].jwks), 1);
    eh_config_free(cfg);
    free(extra);
    free(keys);
    free(priv);
}
END_TEST

START_TEST(jti_single_use)
{
    char err[512], *extra = NULL, *keys, why[256] = "", *tok;
    eh_config *cfg = NULL;
    eh_store *store = NULL;
    int64_t now = (int64_t)time(NULL);

    keys = jwks_member(set(jwk(ec1, 0, "ec-1", NULL), NULL, NULL));
    ck_assert_int_ge(asprintf(&extra, ", \"token_endpoint_auth_method\": \"private_key_jwt\"%s",
                              keys), 0);
    ck_assert_msg(parse(extra, &cfg, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size() * 4, &store), EH_OK);

    tok = sign(ec1, "ES256", "ec-1", claims("{\"jti\": \"once\"}"), NULL);
    ck_assert_msg(eh_client_assertion_check(store, &cfg->rps[0], ISSUER, tok, now, why,
                                            sizeof(why)) == EH_OK, "%s", why);
    /* the same assertion again, and another one with the same jti */
    ck_assert_int_eq(eh_client_assertion_check(store, &cfg->rps[0], ISSUER, tok, now, why,
                                               sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "the assertion's jti was used before (a replay)");
    free(tok);
    tok = sign(ec1, "ES256", "ec-1", claims("{\"jti\": \"once\", \"aud\": \"" ISSUER "\"}"), NULL);
    ck_assert_int_eq(eh_client_assertion_check(store, &cfg->rps[0], ISSUER, tok, now, why,
                                               sizeof(why)), EH_ERR_INVALID);
    free(tok);
    /* a fresh jti passes; a refused assertion spends nothing */
    tok = sign(ec2, "ES256", "ec-1", claims("{\"jti\": \"twice\"}"), NULL);
    ck_assert_int_eq(eh_client_assertion_check(store, &cfg->rps[0], ISSUER, tok, now, why,
                                               sizeof(why)), EH_ERR_CRYPTO);
    free(tok);
    tok = sign(ec1, "ES256", "ec-1", claims("{\"jti\": \"twice\"}"), NULL);
    ck_assert_msg(eh_client_assertion_check(store, &cfg->rps[0], ISSUER, tok, now, why,
                                            sizeof(why)) == EH_OK, "%s", why);
    free(tok);
    eh_store_free(store);
    eh_config_free(cfg);
    free(extra);
    free(keys);
}
END_TEST

Suite *suite_client_assertion(void)
{
    Suite *s = suite_create("client_assertion");
    TCase *tc = tcase_create("core");

    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jwks_accepts_public_rsa_and_ec);
    tcase_add_test(tc, jwks_refusals);
    tcase_add_test(tc, jwks_no_kid_several_keys);
    tcase_add_test(tc, assertion_accepted);
    tcase_add_test(tc, assertion_times);
    tcase_add_test(tc, assertion_claims_refused);
    tcase_add_test(tc, assertion_signature_refused);
    tcase_add_test(tc, subject_peeked);
    tcase_add_test(tc, registration);
    tcase_add_test(tc, jti_single_use);
    suite_add_tcase(s, tc);
    return s;
}
