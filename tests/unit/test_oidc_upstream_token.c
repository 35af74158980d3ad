/* Unit tests of the national OpenID Connect eID backend: ID token validation
 * on crafted JWTs (SECURITY.md "we are a client"), JWK Sets, key rollover
 * with a stand-in for the network, the provider settings and the mapping
 * of claims into an identity. */
#include "tests/unit/suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/backends/oidc_upstream.h"
#include "broker/backends/oidc_upstream_token.h"
#include "tests/unit/testutil.h"

#define ISS "https://eid.example.fr"
#define CLIENT "eidhub-client"
#define NONCE "n-0S6_WzA2Mj"

static cjose_jwk_t *rsa1, *rsa2, *ec1, *rsa_small;

static void keys_setup(void)
{
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err err;

    rsa1 = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
    rsa2 = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
    rsa_small = cjose_jwk_create_RSA_random(1024, e, sizeof(e), &err);
    ec1 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
    ck_assert_ptr_nonnull(rsa1);
    ck_assert_ptr_nonnull(rsa2);
    ck_assert_ptr_nonnull(rsa_small);
    ck_assert_ptr_nonnull(ec1);
}

static void keys_teardown(void)
{
    cjose_jwk_release(rsa1);
    cjose_jwk_release(rsa2);
    cjose_jwk_release(rsa_small);
    cjose_jwk_release(ec1);
}

/* public_jwk returns the public JWK of k as a JSON object with kid (may be
 * NULL) and extra members merged in (may be NULL). */
static json_t *public_jwk(const cjose_jwk_t *k, const char *kid, const char *extra)
{
    cjose_err err;
    char *text = cjose_jwk_to_json(k, false, &err);
    json_t *j = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(j);
    free(text);
    if (kid != NULL)
        json_object_set_new(j, "kid", json_string(kid));
    else
        json_object_del(j, "kid");
    if (extra != NULL) {
        json_t *x = json_loads(extra, 0, NULL);
        ck_assert_ptr_nonnull(x);
        json_object_update(j, x);
        json_decref(x);
    }
    return j;
}

/* jwks_text builds a JWK Set text of up to four keys (NULL-terminated). */
static char *jwks_text(json_t *a, json_t *b, json_t *c, json_t *d)
{
    json_t *keys = json_array(), *set;
    json_t *all[] = {a, b, c, d};
    char *text;

    for (size_t i = 0; i < 4 && all[i] != NULL; i++)
        json_array_append_new(keys, all[i]);
    set = json_pack("{s:o}", "keys", keys);
    text = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return text;
}

static eh_oidcup_jwks *jwks_of(char *text)
{
    eh_oidcup_jwks *j = NULL;
    char why[256];
    ck_assert_msg(eh_oidcup_jwks_parse(text, strlen(text), &j, why, sizeof(why)) == EH_OK, "%s",
                  why);
    free(text);
    return j;
}

/* The provider's usual set: rsa1 ("rsa-1"), ec1 ("ec-1"). */
static eh_oidcup_jwks *usual_jwks(void)
{
    return jwks_of(
        jwks_text(public_jwk(rsa1, "rsa-1", NULL), public_jwk(ec1, "ec-1", NULL), NULL, NULL));
}

/* claims returns valid claims for now, with changes (a JSON object text
 * whose null members are removed, may be NULL) applied. */
static json_t *claims(const char *changes)
{
    int64_t now = (int64_t)time(NULL);
    return eh_test_json_apply(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS, "aud",
                                        CLIENT, "sub", "abc123", "nonce", NONCE, "iat",
                                        (json_int_t)now, "exp", (json_int_t)(now + 300), "acr",
                                        "eidas2"),
                              changes);
}

/* sign makes a compact JWS of payload with k, alg and kid (may be NULL);
 * extra_header (a JSON object text, may be NULL) is added to the header. */
static char *sign_with(const cjose_jwk_t *k, const char *alg, const char *kid, json_t *payload,
                       const char *extra_header)
{
    return eh_test_jws(k, alg, kid, "JWT", extra_header, payload);
}

static char *b64url(const char *s)
{
    char *out = NULL, *copy;
    size_t len = 0;
    cjose_err err;
    ck_assert(cjose_base64url_encode((const uint8_t *)s, strlen(s), &out, &len, &err));
    copy = strndup(out, len);
    cjose_get_dealloc()(out);
    return copy;
}

/* unsigned_token makes header.payload.signature from texts, signature
 * given as is (may be ""). */
static char *unsigned_token(const char *header, json_t *payload, const char *signature)
{
    char *p = json_dumps(payload, JSON_COMPACT), *h64 = b64url(header), *p64 = b64url(p), *out;
    ck_assert_int_ge(asprintf(&out, "%s.%s.%s", h64, p64, signature), 0);
    free(p);
    free(h64);
    free(p64);
    json_decref(payload);
    return out;
}

static eh_oidcup_expect expect(void)
{
    return (eh_oidcup_expect){ISS, CLIENT, NONCE, (int64_t)time(NULL), 60};
}

/* verify checks token against jwks and returns the result (the token and
 * the claims are freed). */
static eh_rc verify(eh_oidcup_jwks *jwks, char *token)
{
    eh_oidcup_expect x = expect();
    json_t *out = NULL;
    char why[256] = "";
    eh_rc rc = eh_oidcup_id_token_verify(token, jwks, &x, &out, why, sizeof(why));

    ck_assert(rc == EH_OK ? out != NULL : out == NULL);
    ck_assert_msg(strchr(why, '\n') == NULL && why[0] != '\0', "why: %s", why);
    json_decref(out);
    free(token);
    return rc;
}

START_TEST(valid_tokens_of_each_allowed_alg)
{
    eh_oidcup_jwks *j = usual_jwks();
    eh_oidcup_expect x = expect();
    json_t *out = NULL;
    char why[256], *t;

    ck_assert_uint_eq(eh_oidcup_jwks_count(j), 2);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "PS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(verify(j, sign_with(ec1, "ES256", "ec-1", claims(NULL), NULL)), EH_OK);
    t = sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL);
    ck_assert_int_eq(eh_oidcup_id_token_verify(t, j, &x, &out, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(out, "sub")), "abc123");
    ck_assert_str_eq(json_string_value(json_object_get(out, "acr")), "eidas2");
    json_decref(out);
    free(t);
    ck_assert(eh_oidcup_alg_allowed("RS256") && eh_oidcup_alg_allowed("PS256") &&
              eh_oidcup_alg_allowed("ES256"));
    ck_assert(!eh_oidcup_alg_allowed(NULL) && !eh_oidcup_alg_allowed("none") &&
              !eh_oidcup_alg_allowed("HS256") && !eh_oidcup_alg_allowed("rs256") &&
              !eh_oidcup_alg_allowed("RS384"));
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(alg_none_is_refused)
{
    eh_oidcup_jwks *j = usual_jwks();

    ck_assert_int_eq(
        verify(j, unsigned_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims(NULL), "")),
        EH_ERR_CRYPTO);
    ck_assert_int_eq(
        verify(j, unsigned_token("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", claims(NULL), "")),
        EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(j, unsigned_token("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", claims(NULL),
                                              "c2lnbmF0dXJl")),
                     EH_ERR_CRYPTO);
    for (size_t i = 0; i < 4; i++) {
        const char *hdr[] = {"{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}", "{\"alg\":\"\"}",
                             "{\"typ\":\"JWT\"}"};
        ck_assert_int_eq(verify(j, unsigned_token(hdr[i], claims(NULL), "")), EH_ERR_CRYPTO);
    }
    /* alg given twice: the header is refused before anyone picks one */
    ck_assert_int_eq(
        verify(j, unsigned_token("{\"alg\":\"RS256\",\"alg\":\"none\"}", claims(NULL), "")),
        EH_ERR_INVALID);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(hs256_keyed_with_the_public_key_is_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    cjose_err err;
    /* the attacker's HMAC key: the provider's public key as published */
    char *pub = cjose_jwk_to_json(rsa1, false, &err);
    cjose_jwk_t *oct = cjose_jwk_create_oct_spec((const uint8_t *)pub, strlen(pub), &err);

    ck_assert_ptr_nonnull(oct);
    ck_assert_int_eq(verify(j, sign_with(oct, "HS256", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(j, sign_with(oct, "HS256", NULL, claims(NULL), NULL)), EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(j, sign_with(oct, "HS512", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    /* nor when the provider's set holds a symmetric key: it is never used */
    {
        json_t *k = json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "hmac", "k", "c2VjcmV0");
        eh_oidcup_jwks *j2 = jwks_of(jwks_text(k, public_jwk(rsa1, "rsa-1", NULL), NULL, NULL));
        ck_assert_uint_eq(eh_oidcup_jwks_count(j2), 1);
        ck_assert_int_eq(verify(j2, sign_with(oct, "HS256", "hmac", claims(NULL), NULL)),
                         EH_ERR_CRYPTO);
        eh_oidcup_jwks_free(j2);
    }
    cjose_jwk_release(oct);
    free(pub);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(other_algs_are_refused)
{
    eh_oidcup_jwks *j = usual_jwks();

    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS384", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "PS512", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(bad_signatures_are_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    char *t = sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL);
    char *last = strrchr(t, '.') + 5;

    *last = *last == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(j, t), EH_ERR_CRYPTO);
    /* signed by another key that claims the provider's kid */
    ck_assert_int_eq(verify(j, sign_with(rsa2, "RS256", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(verify(j, sign_with(rsa2, "PS256", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    /* the payload changed after signing */
    {
        char *good = sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL);
        char *other = sign_with(rsa1, "RS256", "rsa-1", claims("{\"sub\": \"victim\"}"), NULL);
        char *mix = NULL, *g2 = strchr(good, '.'), *o2 = strchr(other, '.');
        ck_assert_int_ge(asprintf(&mix, "%.*s%.*s%s", (int)(g2 - good), good,
                                  (int)(strrchr(other, '.') - o2), o2, strrchr(good, '.')),
                         0);
        ck_assert_int_eq(verify(j, mix), EH_ERR_CRYPTO);
        free(good);
        free(other);
    }
    /* an ES256 token whose kid names the RSA key: no key of that type */
    ck_assert_int_eq(verify(j, sign_with(ec1, "ES256", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(wrong_iss_or_aud_is_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    const char *bad[] = {
        "{\"iss\": \"https://eid.example.fr/\"}",
        "{\"iss\": \"https://EID.example.fr\"}",
        "{\"iss\": \"https://other-provider.example\"}",
        "{\"iss\": null}",
        "{\"iss\": [\"https://eid.example.fr\"]}",
        "{\"aud\": \"someone-else\"}",
        "{\"aud\": null}",
        "{\"aud\": []}",
        "{\"aud\": [\"someone-else\"]}",
        "{\"aud\": [\"eidhub-client\", \"someone-else\"]}",
        "{\"aud\": [\"eidhub-client\", \"someone-else\"], \"azp\": \"someone-else\"}",
        "{\"aud\": \"eidhub-client\", \"azp\": \"someone-else\"}",
        "{\"aud\": [\"eidhub-client\", 7]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(bad[i]), NULL)) ==
                          EH_ERR_INVALID,
                      "accepted %s", bad[i]);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1",
                                         claims("{\"aud\": [\"eidhub-client\", \"x\"], "
                                                "\"azp\": \"eidhub-client\"}"),
                                         NULL)),
                     EH_OK);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1",
                                         claims("{\"aud\": [\"eidhub-client\"]}"), NULL)),
                     EH_OK);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(missing_sub_or_iat_is_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    const char *bad[] = {"{\"sub\": null}",     "{\"sub\": \"\"}",    "{\"sub\": 12}",
                         "{\"iat\": null}",     "{\"iat\": \"now\"}", "{\"exp\": null}",
                         "{\"exp\": \"later\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(bad[i]), NULL)) ==
                          EH_ERR_INVALID,
                      "accepted %s", bad[i]);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(wrong_nonce_is_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    const char *bad[] = {"{\"nonce\": null}", "{\"nonce\": \"n-0S6_WzA2Mk\"}",
                         "{\"nonce\": \"n-0S6_WzA2Mj \"}", "{\"nonce\": \"\"}",
                         "{\"nonce\": [\"n-0S6_WzA2Mj\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(bad[i]), NULL)) ==
                          EH_ERR_INVALID,
                      "accepted %s", bad[i]);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(expired_or_future_tokens_are_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    long long now = (long long)time(NULL);
    char c[128];

    snprintf(c, sizeof(c), "{\"exp\": %lld}", now - 61);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_ERR_INVALID);
    snprintf(c, sizeof(c), "{\"exp\": %lld, \"iat\": %lld}", now - 3600, now - 3900);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_ERR_INVALID);
    snprintf(c, sizeof(c), "{\"exp\": %lld}", now - 30); /* within the skew */
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_OK);
    snprintf(c, sizeof(c), "{\"iat\": %lld}", now + 120);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_ERR_INVALID);
    snprintf(c, sizeof(c), "{\"iat\": %lld}", now + 30);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_OK);
    snprintf(c, sizeof(c), "{\"nbf\": %lld}", now + 120);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(c), NULL)), EH_ERR_INVALID);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(kid_is_only_a_lookup_key)
{
    const char *odd[] = {"../../etc/passwd", "?x=1",  "https://evil.example/jwks",
                         "rsa-1 ",           "RSA-1", "%2e%2e%2fetc"};
    eh_oidcup_jwks *j = usual_jwks();

    /* names of no key: not found (the caller may fetch the set once more) */
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
        ck_assert_msg(verify(j, sign_with(rsa1, "RS256", odd[i], claims(NULL), NULL)) ==
                          EH_ERR_NOT_FOUND,
                      "kid %s", odd[i]);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-2", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    eh_oidcup_jwks_free(j);
    /* the same names as kids of real keys in the set are plain names */
    j = jwks_of(jwks_text(public_jwk(rsa1, "../../etc/passwd", NULL),
                          public_jwk(rsa2, "?x=1", NULL), NULL, NULL));
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "../../etc/passwd", claims(NULL), NULL)),
                     EH_OK);
    ck_assert_int_eq(verify(j, sign_with(rsa2, "RS256", "?x=1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "?x=1", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    /* no kid with two RSA keys: ambiguous */
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", NULL, claims(NULL), NULL)), EH_ERR_INVALID);
    eh_oidcup_jwks_free(j);
    /* no kid with one key of the type: that key */
    j = jwks_of(jwks_text(public_jwk(rsa1, NULL, NULL), public_jwk(ec1, "ec-1", NULL), NULL, NULL));
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", NULL, claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(verify(j, sign_with(ec1, "ES256", NULL, claims(NULL), NULL)), EH_OK);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(malformed_tokens_are_refused)
{
    eh_oidcup_jwks *j = usual_jwks();
    char *t = sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL), *big, *jwe = NULL;
    const char *junk[] = {"",
                          ".",
                          "..",
                          "a.b.c",
                          "eyJhbGciOiJSUzI1NiJ9",
                          "eyJhbGciOiJSUzI1NiJ9..",
                          "not a token at all",
                          "eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n"};

    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        ck_assert_msg(verify(j, strdup(junk[i])) != EH_OK, "accepted %s", junk[i]);
    ck_assert_int_ne(verify(j, NULL), EH_OK);
    /* five parts: an encrypted token */
    ck_assert_int_ge(asprintf(&jwe, "%s.AAAA.BBBB", t), 0);
    ck_assert_int_eq(verify(j, jwe), EH_ERR_INVALID);
    /* over the size limit */
    big = calloc(EH_OIDCUP_TOKEN_MAX + 10, 1);
    memset(big, 'A', EH_OIDCUP_TOKEN_MAX + 5);
    ck_assert_int_eq(verify(j, big), EH_ERR_TOO_LARGE);
    /* a critical extension we do not understand */
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), "[\"exp\"]")),
                     EH_ERR_INVALID);
    free(t);
    eh_oidcup_jwks_free(j);
}
END_TEST

START_TEST(jwks_keeps_only_usable_signature_keys)
{
    eh_oidcup_jwks *j = NULL;
    cjose_err err;
    char why[256], x[64], *priv = cjose_jwk_to_json(rsa2, true, &err);
    json_t *private_key = json_loads(priv, 0, NULL), *padded;
    const char *not_sets[] = {"", "[]", "{}", "{\"keys\": {}}", "null", "{\"keys\": [1]"};

    free(priv);
    json_object_set_new(private_key, "kid", json_string("private"));
    j = jwks_of(jwks_text(public_jwk(rsa1, "enc", "{\"use\": \"enc\"}"),
                          public_jwk(rsa_small, "small", NULL), private_key,
                          public_jwk(ec1, "ec-ps", "{\"alg\": \"PS256\"}")));
    ck_assert_uint_eq(eh_oidcup_jwks_count(j), 0);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "enc", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(verify(j, sign_with(rsa_small, "RS256", "small", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(verify(j, sign_with(rsa2, "RS256", "private", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    eh_oidcup_jwks_free(j);
    /* a key bound to PS256 does not verify RS256 */
    j = jwks_of(jwks_text(public_jwk(rsa1, "rsa-1", "{\"alg\": \"PS256\", \"use\": \"sig\"}"),
                          public_jwk(ec1, "ec-1", "{\"key_ops\": [\"verify\"]}"), NULL, NULL));
    ck_assert_uint_eq(eh_oidcup_jwks_count(j), 2);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "PS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(verify(j, sign_with(ec1, "ES256", "ec-1", claims(NULL), NULL)), EH_OK);
    eh_oidcup_jwks_free(j);
    /* base64url with padding is not a JWK member (RFC 7518 section 6): the
     * same EC key with "x" padded is dropped, the RSA key beside it kept */
    padded = public_jwk(ec1, "ec-padded", NULL);
    snprintf(x, sizeof(x), "%s=", json_string_value(json_object_get(padded, "x")));
    ck_assert_uint_eq(strlen(x), 44);
    json_object_set_new(padded, "x", json_string(x));
    j = jwks_of(jwks_text(padded, public_jwk(rsa1, "rsa-1", NULL), NULL, NULL));
    ck_assert_uint_eq(eh_oidcup_jwks_count(j), 1);
    ck_assert_int_eq(verify(j, sign_with(ec1, "ES256", "ec-padded", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(verify(j, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    eh_oidcup_jwks_free(j);
    for (size_t i = 0; i < sizeof(not_sets) / sizeof(not_sets[0]); i++) {
        j = NULL;
        ck_assert_int_eq(
            eh_oidcup_jwks_parse(not_sets[i], strlen(not_sets[i]), &j, why, sizeof(why)),
            EH_ERR_INVALID);
        ck_assert_ptr_null(j);
    }
    eh_oidcup_jwks_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- a provider
 * with a stand-in for the network: discovery and a JWK Set that tests
 * change, and the URLs fetched. */
static char *net_jwks;
static int net_discovery_calls, net_jwks_calls;
static char net_urls[4096];
static const char *net_issuer = ISS;

static eh_rc fake_fetch(const eh_http_call *call, eh_http_answer *answer, char *why, size_t whylen)
{
    memset(answer, 0, sizeof(*answer));
    strncat(net_urls, call->url, sizeof(net_urls) - strlen(net_urls) - 2);
    strcat(net_urls, "\n");
    answer->status = 200;
    if (strcmp(call->url, ISS "/.well-known/openid-configuration") == 0) {
        json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "issuer", net_issuer,
                              "authorization_endpoint", ISS "/authorize", "token_endpoint",
                              ISS "/token", "userinfo_endpoint", ISS "/userinfo", "jwks_uri",
                              ISS "/jwks", "authorization_response_iss_parameter_supported", 1);
        net_discovery_calls++;
        answer->body = json_dumps(d, JSON_COMPACT);
        json_decref(d);
    } else if (strcmp(call->url, ISS "/jwks") == 0) {
        net_jwks_calls++;
        answer->body = strdup(net_jwks);
    } else {
        snprintf(why, whylen, "no such URL");
        return EH_ERR_IO;
    }
    answer->body_len = strlen(answer->body);
    return EH_OK;
}

static const char *provider_json =
    "{\"providers\": [{\"id\": \"fr\", \"display_name\": {\"en\": \"France\", \"et\": "
    "\"Prantsusmaa\"}, \"issuer\": \"" ISS "\", \"client_id\": \"" CLIENT "\", "
    "\"client_secret\": \"s3cret\", \"scopes\": [\"openid\", \"profile\"], "
    "\"claim_mapping\": {\"given_name\": \"given_name\", \"family_name\": \"family_name\", "
    "\"birthdate\": \"date_of_birth\"}, \"subject\": {\"id_claim\": \"sub\"}, "
    "\"loa_mapping\": {\"eidas1\": \"low\", \"eidas2\": \"substantial\", \"eidas3\": "
    "\"high\"}, \"acr_values\": [\"eidas2\", \"eidas3\"], \"country\": \"FR\"}], "
    "\"jwks_refresh_min_seconds\": 1}";

static eh_oidcup *load_provider(const char *text)
{
    json_t *settings = json_loads(text, 0, NULL);
    void *state = NULL;
    char err[512] = "";

    ck_assert_ptr_nonnull(settings);
    ck_assert_msg(eh_oidcup_load(settings, "/etc/eidhub/broker.json", "$.backends.oidc_upstream",
                                 &state, err, sizeof(err)) == EH_OK,
                  "%s", err);
    json_decref(settings);
    ((eh_oidcup *)state)->fetch = fake_fetch;
    return state;
}

/* verify_at checks token at provider fr (the token is freed). */
static eh_rc verify_at(eh_oidcup *up, char *token)
{
    const eh_oidcup_provider *p = eh_oidcup_provider_find(up, "fr");
    eh_oidcup_meta *m = NULL;
    eh_oidcup_expect x = expect();
    json_t *out = NULL;
    char why[256];
    eh_rc rc = eh_oidcup_meta_get(up, p, &m, why, sizeof(why));

    if (rc == EH_OK)
        rc = eh_oidcup_verify(up, p, m, token, &x, &out, why, sizeof(why));
    json_decref(out);
    eh_oidcup_meta_release(p, m);
    free(token);
    return rc;
}

/* The cache's clock in unknown_kid_fetches_the_set_again_once_per_interval:
 * it moves only when the test says, so the test holds however slowly it
 * runs (valgrind, a busy machine). */
static int64_t fake_now_ms;

static int64_t fake_clock(void)
{
    return fake_now_ms;
}

START_TEST(unknown_kid_fetches_the_set_again_once_per_interval)
{
    eh_oidcup *up;

    net_discovery_calls = net_jwks_calls = 0;
    net_urls[0] = '\0';
    net_issuer = ISS;
    net_jwks = jwks_text(public_jwk(rsa1, "rsa-1", NULL), NULL, NULL, NULL);
    up = load_provider(provider_json);
    fake_now_ms = 1000000;
    up->now_ms = fake_clock;
    /* nothing is fetched at load */
    ck_assert_int_eq(net_discovery_calls + net_jwks_calls, 0);
    ck_assert_int_eq(verify_at(up, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(net_discovery_calls, 1);
    ck_assert_int_eq(net_jwks_calls, 1);
    ck_assert_int_eq(verify_at(up, sign_with(rsa1, "RS256", "rsa-1", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(net_discovery_calls, 1);
    ck_assert_int_eq(net_jwks_calls, 1);

    /* the provider rolls over to rsa-2 */
    free(net_jwks);
    net_jwks =
        jwks_text(public_jwk(rsa1, "rsa-1", NULL), public_jwk(rsa2, "rsa-2", NULL), NULL, NULL);
    fake_now_ms += 1000; /* jwks_refresh_min_seconds */
    ck_assert_int_eq(verify_at(up, sign_with(rsa2, "RS256", "rsa-2", claims(NULL), NULL)), EH_OK);
    ck_assert_int_eq(net_jwks_calls, 2);
    /* another unknown kid right away: no fetch, refused */
    ck_assert_int_eq(verify_at(up, sign_with(rsa2, "RS256", "rsa-3", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(
        verify_at(up, sign_with(rsa2, "RS256", "../../etc/passwd", claims(NULL), NULL)),
        EH_ERR_NOT_FOUND);
    ck_assert_int_eq(net_jwks_calls, 2);
    /* later, one more fetch for a kid still unknown, then refused */
    fake_now_ms += 1000; /* jwks_refresh_min_seconds */
    ck_assert_int_eq(verify_at(up, sign_with(rsa2, "RS256", "?x=1", claims(NULL), NULL)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(net_jwks_calls, 3);
    /* a kid is never part of a URL we fetch */
    ck_assert_ptr_null(strstr(net_urls, "passwd"));
    ck_assert_ptr_null(strstr(net_urls, "x=1"));
    ck_assert_ptr_null(strstr(net_urls, "rsa-"));
    /* a forged token with a known kid does not fetch anything */
    ck_assert_int_eq(verify_at(up, sign_with(rsa1, "RS256", "rsa-2", claims(NULL), NULL)),
                     EH_ERR_CRYPTO);
    ck_assert_int_eq(net_jwks_calls, 3);
    eh_oidcup_free(up);
    free(net_jwks);
    net_jwks = NULL;
}
END_TEST

START_TEST(discovery_of_another_issuer_is_refused)
{
    const eh_oidcup_provider *p;
    eh_oidcup_meta *m = NULL;
    eh_oidcup *up;
    char why[256];

    net_jwks = jwks_text(public_jwk(rsa1, "rsa-1", NULL), NULL, NULL, NULL);
    net_issuer = "https://attacker.example";
    up = load_provider(provider_json);
    p = eh_oidcup_provider_find(up, "fr");
    ck_assert_int_eq(eh_oidcup_meta_get(up, p, &m, why, sizeof(why)), EH_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(why, "issuer"));
    net_issuer = ISS;
    ck_assert_int_eq(eh_oidcup_meta_get(up, p, &m, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(m->token_endpoint, ISS "/token");
    ck_assert_int_eq(m->iss_parameter_supported, 1);
    eh_oidcup_meta_release(p, m);
    eh_oidcup_free(up);
    free(net_jwks);
    net_jwks = NULL;
}
END_TEST

START_TEST(settings_and_choices)
{
    eh_oidcup *up = load_provider(provider_json);
    const eh_oidcup_provider *p = eh_oidcup_provider_find(up, "fr");
    const eh_backend_choice *c;
    size_t n = 0;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(eh_oidcup_provider_find(up, "FR"));
    ck_assert_ptr_null(eh_oidcup_provider_find(up, NULL));
    ck_assert_str_eq(p->scope, "openid profile");
    ck_assert_str_eq(p->subject_country, "FR");
    ck_assert_str_eq(p->subject_id_type, "OIDC");
    ck_assert_int_eq(eh_oidcup_acr_loa(p, "eidas2"), EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(eh_oidcup_acr_loa(p, "eidas4"), EH_LOA_NONE);
    ck_assert_int_eq(eh_oidcup_acr_loa(p, NULL), EH_LOA_NONE);
    c = eh_oidcup_choices(up, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(c[0].id, "fr");
    ck_assert_str_eq(c[0].href, "/auth/oidc?provider=fr");
    ck_assert_str_eq(c[0].label_en, "France");
    ck_assert_str_eq(c[0].label_et, "Prantsusmaa");
    ck_assert_str_eq(c[0].country, "FR");
    ck_assert_uint_eq(c[0].loas,
                      (1u << EH_LOA_LOW) | (1u << EH_LOA_SUBSTANTIAL) | (1u << EH_LOA_HIGH));
    eh_oidcup_free(up);
}
END_TEST

START_TEST(bad_settings_are_one_line)
{
    /* each replaces part of a valid provider; the error names the member */
    static const struct {
        const char *from, *to, *where;
    } cases[] = {
        {"\"id\": \"fr\"", "\"id\": \"F R\"", "providers[0].id"},
        {"\"id\": \"fr\"", "\"id\": \"../x\"", "providers[0].id"},
        {"\"loa_mapping\"", "\"loa_mappings\"", "loa_mappings"},
        {"\"eidas3\": \"high\"", "\"eidas3\": \"top\"", "loa_mapping.eidas3"},
        {"[\"eidas2\", \"eidas3\"]", "[\"eidas4\"]", "acr_values[0]"},
        {"\"date_of_birth\"", "\"birthday\"", "claim_mapping.birthdate"},
        {"\"given_name\": \"given_name\"", "\"given_name\": \"person_identifier\"",
         "claim_mapping.given_name"},
        {"\"client_secret\": \"s3cret\"", "\"client_secret\": \"\"", "client_secret"},
        {"\"client_secret\": \"s3cret\"", "\"secret\": \"s3cret\"", "secret"},
        {"\"client_secret\": \"s3cret\"",
         "\"client_secret\": \"s3cret\", \"client_secret_file\": \"x\"", "providers[0]"},
        {"\"issuer\": \"" ISS "\"", "\"issuer\": \"http://eid.example.fr\"", "issuer"},
        {"\"issuer\": \"" ISS "\"", "\"issuer\": \"" ISS "?a=b\"", "issuer"},
        {"[\"openid\", \"profile\"]", "[\"profile\"]", "scopes"},
        {"[\"openid\", \"profile\"]", "[\"openid\", \"a b\"]", "scopes[1]"},
        {"\"country\": \"FR\"", "\"country\": \"fr\"", "country"},
        {"{\"id_claim\": \"sub\"}", "{\"country\": \"France\"}", "subject.country"},
        {"\"jwks_refresh_min_seconds\": 1", "\"jwks_refresh_min_seconds\": 0",
         "jwks_refresh_min_seconds"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *at = strstr(provider_json, cases[i].from);
        char *text = NULL, err[512] = "";
        json_t *settings;
        void *state = NULL;
        ck_assert_ptr_nonnull(at);
        ck_assert_int_ge(asprintf(&text, "%.*s%s%s", (int)(at - provider_json), provider_json,
                                  cases[i].to, at + strlen(cases[i].from)),
                         0);
        settings = json_loads(text, 0, NULL);
        ck_assert_msg(settings != NULL, "case %zu is not JSON", i);
        ck_assert_msg(eh_oidcup_load(settings, "/etc/eidhub/broker.json",
                                     "$.backends.oidc_upstream", &state, err,
                                     sizeof(err)) == EH_ERR_CONFIG,
                      "case %zu accepted", i);
        ck_assert_ptr_null(state);
        ck_assert_msg(strncmp(err, "/etc/eidhub/broker.json: $.backends.oidc_upstream", 49) == 0 &&
                          strstr(err, cases[i].where) != NULL && strchr(err, '\n') == NULL,
                      "case %zu: %s", i, err);
        ck_assert_msg(strstr(err, "s3cret") == NULL, "the secret is in the error: %s", err);
        json_decref(settings);
        free(text);
    }
}
END_TEST

START_TEST(two_providers_need_distinct_ids_and_issuers)
{
    const char *tpl = "{\"providers\": [%s, %s]}";
    const char *a = "{\"id\": \"a\", \"display_name\": \"A\", \"issuer\": \"https://a.example\", "
                    "\"client_id\": \"c\", \"client_secret\": \"s\", \"country\": \"FR\", "
                    "\"loa_mapping\": {\"x\": \"low\"}}";
    const char *b_same_id = "{\"id\": \"a\", \"display_name\": \"B\", \"issuer\": "
                            "\"https://b.example\", \"client_id\": \"c\", \"client_secret\": "
                            "\"s\", \"country\": \"BE\", \"loa_mapping\": {\"y\": \"high\"}}";
    const char *b_same_iss = "{\"id\": \"b\", \"display_name\": \"B\", \"issuer\": "
                             "\"https://a.example\", \"client_id\": \"c\", \"client_secret\": "
                             "\"s\", \"country\": \"BE\", \"loa_mapping\": {\"y\": \"high\"}}";
    const char *b = "{\"id\": \"b\", \"display_name\": \"B\", \"issuer\": \"https://b.example\", "
                    "\"client_id\": \"c\", \"client_secret\": \"s\", \"country\": \"BE\", "
                    "\"loa_mapping\": {\"y\": \"high\"}, \"subject\": {\"country\": \"BE\", "
                    "\"id_claim\": \"national_number\", \"id_type\": \"PNO\"}}";
    const char *seconds[] = {b_same_id, b_same_iss, b};
    for (size_t i = 0; i < 3; i++) {
        char *text = NULL, err[512] = "";
        void *state = NULL;
        json_t *settings;
        ck_assert_int_ge(asprintf(&text, tpl, a, seconds[i]), 0);
        settings = json_loads(text, 0, NULL);
        ck_assert_ptr_nonnull(settings);
        ck_assert_int_eq(eh_oidcup_load(settings, "f", "$.b", &state, err, sizeof(err)),
                         i < 2 ? EH_ERR_CONFIG : EH_OK);
        if (i == 2) {
            const eh_oidcup *up = state;
            size_t n = 0;
            ck_assert_uint_eq(up->n, 2);
            ck_assert_uint_eq(eh_oidcup_choices(up, &n)[1].loas, 1u << EH_LOA_HIGH);
            ck_assert_str_eq(up->providers[1].subject_claim, "national_number");
            ck_assert_str_eq(up->providers[1].scope, "openid");
            ck_assert_ptr_null(up->providers[1].label_et);
        }
        eh_oidcup_free(state);
        json_decref(settings);
        free(text);
    }
}
END_TEST

START_TEST(client_secret_file)
{
    char *dir = eh_test_tmpdir(), *text = NULL, err[512] = "";
    char *file = eh_test_write(dir, "fr.secret", "from-a-file\n");
    void *state = NULL;
    json_t *settings;
    const char *at = strstr(provider_json, "\"client_secret\": \"s3cret\"");

    ck_assert_int_ge(asprintf(&text, "%.*s\"client_secret_file\": \"fr.secret\"%s",
                              (int)(at - provider_json), provider_json,
                              at + strlen("\"client_secret\": \"s3cret\"")),
                     0);
    settings = json_loads(text, 0, NULL);
    free(text);
    ck_assert_int_ge(asprintf(&text, "%s/broker.json", dir), 0);
    ck_assert_msg(eh_oidcup_load(settings, text, "$.b", &state, err, sizeof(err)) == EH_OK, "%s",
                  err);
    ck_assert_str_eq(((eh_oidcup *)state)->providers[0].client_secret, "from-a-file");
    eh_oidcup_free(state);
    state = NULL;
    unlink(file);
    ck_assert_int_eq(eh_oidcup_load(settings, text, "$.b", &state, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "client_secret_file"));
    json_decref(settings);
    free(text);
    free(file);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(claims_become_an_identity)
{
    eh_oidcup *up = load_provider(provider_json);
    const eh_oidcup_provider *p = eh_oidcup_provider_find(up, "fr");
    json_t *id_claims = json_pack("{s:s, s:s, s:I}", "sub", "3f2a9c", "given_name", "Jean",
                                  "auth_time", (json_int_t)1700000000);
    json_t *info = json_pack("{s:s, s:s, s:s, s:i}", "sub", "3f2a9c", "given_name", "Jean-Luc",
                             "family_name", "Dupont", "birthdate", 1980);
    eh_identity *id = NULL;
    char subject[64];

    ck_assert_int_eq(eh_oidcup_identity(p, id_claims, info, EH_LOA_SUBSTANTIAL, 1800000000, &id),
                     EH_OK);
    ck_assert_str_eq(id->country, "FR");
    ck_assert_str_eq(id->id_type, "OIDC");
    ck_assert_str_eq(id->id_value, "3f2a9c");
    ck_assert_str_eq(id->method, "oidc_upstream");
    ck_assert_int_eq(id->loa, EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(id->auth_time, 1700000000);
    ck_assert_int_eq(eh_identity_subject(id, subject, sizeof(subject)), EH_OK);
    ck_assert_str_eq(subject, "FR3f2a9c");
    /* userinfo wins; a value of the wrong type is left out */
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "given_name")), "Jean-Luc");
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "family_name")), "Dupont");
    ck_assert_ptr_null(json_object_get(id->attributes, "date_of_birth"));
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "person_identifier")),
                     "FR3f2a9c");
    eh_identity_free(id);
    id = NULL;
    /* a good date; no userinfo; auth_time in the future is not believed */
    json_object_set_new(id_claims, "birthdate", json_string("1980-01-08"));
    json_object_set_new(id_claims, "auth_time", json_integer(1900000000));
    ck_assert_int_eq(eh_oidcup_identity(p, id_claims, NULL, EH_LOA_HIGH, 1800000000, &id), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "date_of_birth")),
                     "1980-01-08");
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "given_name")), "Jean");
    ck_assert_int_eq(id->auth_time, 1800000000);
    eh_identity_free(id);
    id = NULL;
    /* no usable identifier */
    json_object_set_new(id_claims, "sub", json_string("with\nnewline"));
    ck_assert_int_eq(eh_oidcup_identity(p, id_claims, NULL, EH_LOA_HIGH, 1800000000, &id),
                     EH_ERR_INVALID);
    json_object_del(id_claims, "sub");
    ck_assert_int_eq(eh_oidcup_identity(p, id_claims, NULL, EH_LOA_HIGH, 1800000000, &id),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(id);
    json_decref(id_claims);
    json_decref(info);
    eh_oidcup_free(up);
}
END_TEST

Suite *suite_oidc_upstream_token(void)
{
    Suite *s = suite_create("oidc_upstream_token");
    TCase *tc = tcase_create("id_token");
    TCase *tp = tcase_create("provider");

    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, valid_tokens_of_each_allowed_alg);
    tcase_add_test(tc, alg_none_is_refused);
    tcase_add_test(tc, hs256_keyed_with_the_public_key_is_refused);
    tcase_add_test(tc, other_algs_are_refused);
    tcase_add_test(tc, bad_signatures_are_refused);
    tcase_add_test(tc, wrong_iss_or_aud_is_refused);
    tcase_add_test(tc, missing_sub_or_iat_is_refused);
    tcase_add_test(tc, wrong_nonce_is_refused);
    tcase_add_test(tc, expired_or_future_tokens_are_refused);
    tcase_add_test(tc, kid_is_only_a_lookup_key);
    tcase_add_test(tc, malformed_tokens_are_refused);
    tcase_add_test(tc, jwks_keeps_only_usable_signature_keys);
    suite_add_tcase(s, tc);
    tcase_add_unchecked_fixture(tp, keys_setup, keys_teardown);
    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, unknown_kid_fetches_the_set_again_once_per_interval);
    tcase_add_test(tp, discovery_of_another_issuer_is_refused);
    tcase_add_test(tp, settings_and_choices);
    tcase_add_test(tp, bad_settings_are_one_line);
    tcase_add_test(tp, two_providers_need_distinct_ids_and_issuers);
    tcase_add_test(tp, client_secret_file);
    tcase_add_test(tp, claims_become_an_identity);
    suite_add_tcase(s, tp);
    return s;
}
