#include "tests/unit/suites.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/jwt.h"
#include "broker/keys.h"
#include "tests/unit/testutil.h"

/* Keys are made once for the whole suite (an RSA key takes a while): an EC
 * key, a second EC key and an RSA key, in a folder removed at the end. */
static char *dir;

static void make_key(eh_key_type type, unsigned bits, const char *name)
{
    char err[256], *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    ck_assert_msg(eh_key_generate(type, bits, path, err, sizeof(err)) == EH_OK, "%s", err);
    free(path);
}

static void keys_setup(void)
{
    dir = eh_test_tmpdir();
    make_key(EH_KEY_EC_P256, 0, "ec.pem");
    make_key(EH_KEY_EC_P256, 0, "ec2.pem");
    make_key(EH_KEY_RSA, 3072, "rsa.pem");
}

static void keys_teardown(void)
{
    eh_test_rmtree(dir);
    free(dir);
    dir = NULL;
}

/* keyset loads the named key files; active names the one that signs. */
static eh_keyset *keyset(const char *first, const char *second, const char *active)
{
    const char *names[] = {first, second};
    eh_keyset *ks = NULL;
    char err[256];

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    for (size_t i = 0; i < 2 && names[i] != NULL; i++) {
        char *path = NULL;
        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, names[i]), 0);
        ck_assert_msg(
            eh_keyset_add_pem(ks, path, strcmp(names[i], active) == 0, err, sizeof(err)) == EH_OK,
            "%s", err);
        free(path);
    }
    ck_assert_msg(eh_keyset_finish(ks, err, sizeof(err)) == EH_OK, "%s", err);
    return ks;
}

/* public_jwk returns the published (public only) JWK of key kid in ks. */
static cjose_jwk_t *public_jwk(const eh_keyset *ks, const char *kid)
{
    char *text = NULL, *one;
    json_t *jwks, *k;
    size_t i;
    cjose_jwk_t *jwk = NULL;
    cjose_err cerr;

    ck_assert_int_eq(eh_keyset_jwks_json(ks, &text), EH_OK);
    jwks = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(jwks);
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) != 0)
            continue;
        ck_assert_ptr_null(json_object_get(k, "d"));
        one = json_dumps(k, JSON_COMPACT);
        jwk = cjose_jwk_import(one, strlen(one), &cerr);
        free(one);
    }
    ck_assert_msg(jwk != NULL, "kid %s not published", kid);
    json_decref(jwks);
    free(text);
    return jwk;
}

/* claims returns a typical set of ID token claims (caller decrefs). */
static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:[s,s], s:b}", "iss", "https://id.example.ee",
                     "sub", "EE38001085718", "aud", "portal", "iat", (json_int_t)1700000000, "exp",
                     (json_int_t)1700000300, "given_name", "Mari-Liis Õunapuu", "amr", "mID", "pwd",
                     "x", 1);
}

/* verify imports a compact JWS, checks its signature with jwk, its header
 * (alg, kid, typ) and returns its payload parsed (caller decrefs). */
static json_t *verify(const char *compact, cjose_jwk_t *jwk, const char *alg, const char *kid,
                      const char *typ)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(compact, strlen(compact), &cerr);
    cjose_header_t *hdr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    json_t *payload;

    ck_assert_msg(jws != NULL, "not a JWS: %s", cerr.message);
    ck_assert_msg(cjose_jws_verify(jws, jwk, &cerr), "signature: %s", cerr.message);
    hdr = cjose_jws_get_protected(jws);
    ck_assert_str_eq(cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr), alg);
    ck_assert_str_eq(cjose_header_get(hdr, CJOSE_HDR_KID, &cerr), kid);
    ck_assert_str_eq(cjose_header_get(hdr, "typ", &cerr), typ);
    ck_assert(cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr));
    payload = json_loadb((const char *)plain, plain_len, 0, NULL);
    ck_assert_ptr_nonnull(payload);
    cjose_jws_release(jws);
    return payload;
}

/* signature_ok tells whether compact verifies with jwk. */
static int signature_ok(const char *compact, cjose_jwk_t *jwk)
{
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(compact, strlen(compact), &cerr);
    int ok;

    if (jws == NULL)
        return 0;
    ok = cjose_jws_verify(jws, jwk, &cerr);
    cjose_jws_release(jws);
    return ok;
}

START_TEST(es256_sign_and_verify)
{
    eh_keyset *ks = keyset("ec.pem", NULL, "ec.pem");
    const eh_key *key = eh_keyset_active_get(ks);
    json_t *c = claims(), *payload;
    cjose_jwk_t *pub = public_jwk(ks, eh_key_kid_get(key));
    char *jwt = NULL;
    const char *dot1, *dot2;

    ck_assert_int_eq(eh_jwt_sign(ks, c, "JWT", &jwt), EH_OK);
    /* header.payload.signature, the ES256 signature raw R||S (64 bytes) */
    dot1 = strchr(jwt, '.');
    ck_assert_ptr_nonnull(dot1);
    dot2 = strchr(dot1 + 1, '.');
    ck_assert_ptr_nonnull(dot2);
    ck_assert_ptr_null(strchr(dot2 + 1, '.'));
    ck_assert_uint_eq(strlen(dot2 + 1), 86);
    ck_assert_ptr_null(strchr(jwt, '='));
    /* with the published public key, and with the key itself */
    payload = verify(jwt, pub, "ES256", eh_key_kid_get(key), "JWT");
    ck_assert(json_equal(payload, c));
    json_decref(payload);
    ck_assert(signature_ok(jwt, eh_key_cjose_get(key)));
    cjose_jwk_release(pub);
    free(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(typ_is_as_given)
{
    eh_keyset *ks = keyset("ec.pem", NULL, "ec.pem");
    const eh_key *key = eh_keyset_active_get(ks);
    json_t *c = json_pack("{s:s, s:{}}", "iss", "https://id.example.ee", "events"), *payload;
    char *jwt = NULL;

    ck_assert_int_eq(eh_jwt_sign(ks, c, "logout+jwt", &jwt), EH_OK);
    payload = verify(jwt, eh_key_cjose_get(key), "ES256", eh_key_kid_get(key), "logout+jwt");
    ck_assert(json_equal(payload, c));
    json_decref(payload);
    free(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(tampering_breaks_the_signature)
{
    eh_keyset *ks = keyset("ec.pem", NULL, "ec.pem");
    const eh_key *key = eh_keyset_active_get(ks);
    json_t *c = claims();
    char *jwt = NULL, *dot;

    ck_assert_int_eq(eh_jwt_sign(ks, c, "JWT", &jwt), EH_OK);
    ck_assert(signature_ok(jwt, eh_key_cjose_get(key)));
    /* one character of the payload changed */
    dot = strchr(jwt, '.') + 1;
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    ck_assert(!signature_ok(jwt, eh_key_cjose_get(key)));
    free(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(only_the_active_key_signs)
{
    /* two keys loaded, the second active: its kid, its signature */
    eh_keyset *ks = keyset("ec.pem", "ec2.pem", "ec2.pem");
    const eh_key *active = eh_keyset_active_get(ks), *other = eh_keyset_at(ks, 0);
    json_t *c = claims(), *payload;
    char *jwt = NULL;

    ck_assert_ptr_ne(active, other);
    ck_assert_str_ne(eh_key_kid_get(active), eh_key_kid_get(other));
    ck_assert_int_eq(eh_jwt_sign(ks, c, "JWT", &jwt), EH_OK);
    payload = verify(jwt, eh_key_cjose_get(active), "ES256", eh_key_kid_get(active), "JWT");
    json_decref(payload);
    ck_assert(!signature_ok(jwt, eh_key_cjose_get(other)));
    free(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(ps256_with_rsa)
{
    eh_keyset *ks = keyset("rsa.pem", "ec.pem", "rsa.pem");
    const eh_key *key = eh_keyset_active_get(ks);
    json_t *c = claims(), *payload;
    cjose_jwk_t *pub = public_jwk(ks, eh_key_kid_get(key));
    char *jwt = NULL;

    ck_assert_str_eq(eh_key_alg_get(key), "PS256");
    ck_assert_int_eq(eh_jwt_sign(ks, c, "JWT", &jwt), EH_OK);
    payload = verify(jwt, pub, "PS256", eh_key_kid_get(key), "JWT");
    ck_assert(json_equal(payload, c));
    json_decref(payload);
    cjose_jwk_release(pub);
    free(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(no_active_key)
{
    eh_keyset *ks = NULL;
    json_t *c = claims();
    char *jwt = NULL;

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    ck_assert_int_eq(eh_jwt_sign(ks, c, "JWT", &jwt), EH_ERR_KEY);
    ck_assert_ptr_null(jwt);
    json_decref(c);
    eh_keyset_free(ks);
}
END_TEST

Suite *suite_jwt(void)
{
    Suite *s = suite_create("jwt");
    TCase *tc = tcase_create("jwt");
    tcase_add_unchecked_fixture(tc, keys_setup, keys_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, es256_sign_and_verify);
    tcase_add_test(tc, typ_is_as_given);
    tcase_add_test(tc, tampering_breaks_the_signature);
    tcase_add_test(tc, only_the_active_key_signs);
    tcase_add_test(tc, ps256_with_rsa);
    tcase_add_test(tc, no_active_key);
    suite_add_tcase(s, tc);
    return s;
}
