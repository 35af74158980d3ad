#include "tests/unit/suites.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "broker/keys.h"
#include "broker/log.h"
#include "broker/rc.h"

/* RFC 7638 section 3.1: the example RSA key and its SHA-256 thumbprint. */
#define EH_RFC7638_N                                                                               \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" \
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY" \
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f" \
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define EH_RFC7638_JWK "{\"kty\":\"RSA\",\"n\":\"" EH_RFC7638_N "\",\"e\":\"AQAB\"}"
#define EH_RFC7638_THUMBPRINT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* The suite's temporary folder; filled once by eh_keys_setup. */
static char eh_keys_dir[512];

/* eh_keys_path writes the path of name inside the suite's folder into buf. */
static const char *eh_keys_path(char *buf, size_t len, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", eh_keys_dir, name);

    ck_assert(n > 0 && (size_t)n < len);
    return buf;
}

/* eh_keys_write_pkey writes pkey as PEM into the suite's folder under name
 * with mode 0600, encrypted with pass when pass is not NULL. */
static void eh_keys_write_pkey(EVP_PKEY *pkey, const char *name, const char *pass)
{
    char path[PATH_MAX];
    FILE *fp = fopen(eh_keys_path(path, sizeof(path), name), "w");
    int ok;

    ck_assert_ptr_nonnull(fp);
    if (pass)
        ok = PEM_write_PKCS8PrivateKey(fp, pkey, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass);
    else
        ok = PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL);
    ck_assert_int_eq(ok, 1);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);
}

/* eh_keys_write_text writes text into the suite's folder under name, with
 * mode (before the umask). */
static void eh_keys_write_text(const char *name, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    FILE *fp = fopen(eh_keys_path(path, sizeof(path), name), "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(chmod(path, mode), 0);
}

/* eh_keys_read_text returns the contents of the file at path (caller frees). */
static char *eh_keys_read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    char *text = calloc(1, 65536);
    size_t n;

    ck_assert_ptr_nonnull(fp);
    ck_assert_ptr_nonnull(text);
    n = fread(text, 1, 65535, fp);
    text[n] = '\0';
    fclose(fp);
    return text;
}

/* Once per suite (the RSA 3072 keygen takes about a second): a temporary
 * folder with two EC P-256 keys and an RSA 3072 key from eh_key_generate,
 * and, written with OpenSSL directly, keys eidhub must refuse. */
static void eh_keys_setup(void)
{
    char path[PATH_MAX];
    char err[512];
    char *text;
    EVP_PKEY *pkey;
    const char *tmp = getenv("TMPDIR");
    int n;

    n = snprintf(eh_keys_dir, sizeof(eh_keys_dir), "%s/eh-keys-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert(n > 0 && (size_t)n < sizeof(eh_keys_dir));
    ck_assert_ptr_nonnull(mkdtemp(eh_keys_dir));

    ck_assert_int_eq(eh_key_generate(EH_KEY_EC_P256, 0, eh_keys_path(path, sizeof(path), "ec1.pem"),
                                     err, sizeof(err)),
                     EH_OK);
    ck_assert_int_eq(eh_key_generate(EH_KEY_EC_P256, 0, eh_keys_path(path, sizeof(path), "ec2.pem"),
                                     err, sizeof(err)),
                     EH_OK);
    ck_assert_int_eq(eh_key_generate(EH_KEY_RSA, 3072,
                                     eh_keys_path(path, sizeof(path), "rsa3072.pem"), err,
                                     sizeof(err)),
                     EH_OK);

    /* The same EC key under another name. */
    text = eh_keys_read_text(eh_keys_path(path, sizeof(path), "ec1.pem"));
    eh_keys_write_text("ec1-copy.pem", text, 0600);
    free(text);

    /* A usable key that others may read (loads, with a warning). */
    text = eh_keys_read_text(eh_keys_path(path, sizeof(path), "ec2.pem"));
    eh_keys_write_text("loose.pem", text, 0644);
    free(text);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ck_assert_ptr_nonnull(pkey);
    eh_keys_write_pkey(pkey, "rsa2048.pem", NULL);
    EVP_PKEY_free(pkey);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    ck_assert_ptr_nonnull(pkey);
    eh_keys_write_pkey(pkey, "p384.pem", NULL);
    EVP_PKEY_free(pkey);

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(pkey);
    eh_keys_write_pkey(pkey, "encrypted.pem", "correct horse battery staple");
    EVP_PKEY_free(pkey);

    eh_keys_write_text("notakey.pem", "this is not a key\n", 0600);
}

/* Removes the suite's folder and everything in it. */
static void eh_keys_teardown(void)
{
    char path[PATH_MAX];
    DIR *dir = opendir(eh_keys_dir);
    struct dirent *de;

    if (!dir)
        return;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        unlink(eh_keys_path(path, sizeof(path), de->d_name));
    }
    closedir(dir);
    rmdir(eh_keys_dir);
}

/* eh_keys_load returns a new key set holding the one key file name. */
static eh_keyset *eh_keys_load(const char *name, int active)
{
    eh_keyset *ks = NULL;
    char path[PATH_MAX];
    char err[512] = "";

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    ck_assert_msg(eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), name), active, err,
                                    sizeof(err)) == EH_OK,
                  "%s", err);
    return ks;
}

/* eh_keys_refused asserts that name is refused with EH_ERR_KEY, with the
 * file's path and want in the error line. */
static void eh_keys_refused(const char *name, const char *want)
{
    eh_keyset *ks = NULL;
    char path[PATH_MAX];
    char err[512] = "";

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    eh_keys_path(path, sizeof(path), name);
    ck_assert_int_eq(eh_keyset_add_pem(ks, path, 1, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_msg(strstr(err, path) != NULL, "no path in: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "no \"%s\" in: %s", want, err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_uint_eq(eh_keyset_count(ks), 0);
    eh_keyset_free(ks);
}

START_TEST(test_ec_load)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 0);
    const eh_key *k = eh_keyset_at(ks, 0);
    char err[256] = "";

    ck_assert_uint_eq(eh_keyset_count(ks), 1);
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(eh_key_type_get(k), EH_KEY_EC_P256);
    ck_assert_str_eq(eh_key_alg_get(k), "ES256");
    ck_assert_uint_eq(strlen(eh_key_kid_get(k)), 43);
    ck_assert_ptr_nonnull(eh_key_cjose_get(k));
    ck_assert_int_eq(cjose_jwk_get_kty(eh_key_cjose_get(k), NULL), CJOSE_JWK_KTY_EC);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    ck_assert_ptr_eq(eh_keyset_active_get(ks), k);
    ck_assert_ptr_null(eh_keyset_at(ks, 1));
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_rsa3072_load)
{
    eh_keyset *ks = eh_keys_load("rsa3072.pem", 1);
    const eh_key *k = eh_keyset_at(ks, 0);

    ck_assert_int_eq(eh_key_type_get(k), EH_KEY_RSA);
    ck_assert_str_eq(eh_key_alg_get(k), "PS256");
    ck_assert_uint_eq(strlen(eh_key_kid_get(k)), 43);
    ck_assert_int_eq(cjose_jwk_get_kty(eh_key_cjose_get(k), NULL), CJOSE_JWK_KTY_RSA);
    ck_assert_ptr_eq(eh_keyset_active_get(ks), k);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_rsa2048_refused)
{
    eh_keys_refused("rsa2048.pem", "2048 bits is too short");
}
END_TEST

START_TEST(test_other_curve_refused)
{
    eh_keys_refused("p384.pem", "only P-256");
}
END_TEST

START_TEST(test_encrypted_refused)
{
    eh_keys_refused("encrypted.pem", "encrypted");
}
END_TEST

START_TEST(test_not_a_key_refused)
{
    eh_keys_refused("notakey.pem", "no PEM private key");
}
END_TEST

START_TEST(test_missing_refused)
{
    eh_keys_refused("no-such-key.pem", "No such file");
}
END_TEST

START_TEST(test_directory_refused)
{
    eh_keyset *ks = NULL;
    char err[512] = "";

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    ck_assert_int_eq(eh_keyset_add_pem(ks, eh_keys_dir, 0, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, eh_keys_dir));
    eh_keyset_free(ks);
}
END_TEST

/* The last line logged, for test_loose_mode_warns. */
static char eh_keys_logged[1024];

static void eh_keys_log_sink(void *ctx, eh_log_level level, const char *msg)
{
    (void)ctx;
    snprintf(eh_keys_logged, sizeof(eh_keys_logged), "%s: %s", eh_log_level_name(level), msg);
}

START_TEST(test_loose_mode_warns)
{
    char path[PATH_MAX];
    eh_keyset *ks;

    eh_keys_logged[0] = '\0';
    eh_log_set_sink(eh_keys_log_sink, NULL, EH_LOG_DEBUG);
    ks = eh_keys_load("loose.pem", 1);
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
    ck_assert_uint_eq(eh_keyset_count(ks), 1);
    ck_assert_ptr_nonnull(strstr(eh_keys_logged, "warn: "));
    ck_assert_ptr_nonnull(strstr(eh_keys_logged, eh_keys_path(path, sizeof(path), "loose.pem")));
    ck_assert_ptr_nonnull(strstr(eh_keys_logged, "0644"));
    eh_keyset_free(ks);

    /* a 0600 key logs nothing */
    eh_keys_logged[0] = '\0';
    eh_log_set_sink(eh_keys_log_sink, NULL, EH_LOG_DEBUG);
    ks = eh_keys_load("ec1.pem", 1);
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
    ck_assert_str_eq(eh_keys_logged, "");
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_two_keys_one_active)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 0);
    char path[PATH_MAX];
    char err[512] = "";
    const eh_key *ec;
    const eh_key *rsa;

    ck_assert_int_eq(
        eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), "rsa3072.pem"), 1, err, sizeof(err)),
        EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    ck_assert_uint_eq(eh_keyset_count(ks), 2);
    ec = eh_keyset_at(ks, 0);
    rsa = eh_keyset_at(ks, 1);
    ck_assert_ptr_eq(eh_keyset_active_get(ks), rsa);
    ck_assert_str_ne(eh_key_kid_get(ec), eh_key_kid_get(rsa));
    ck_assert_ptr_eq(eh_keyset_find_kid(ks, eh_key_kid_get(ec)), ec);
    ck_assert_ptr_eq(eh_keyset_find_kid(ks, eh_key_kid_get(rsa)), rsa);
    ck_assert_ptr_null(eh_keyset_find_kid(ks, "../../etc/passwd"));
    ck_assert_ptr_null(eh_keyset_find_kid(ks, ""));
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_two_active_refused)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 1);
    char path[PATH_MAX];
    char err[512] = "";

    eh_keys_path(path, sizeof(path), "ec2.pem");
    ck_assert_int_eq(eh_keyset_add_pem(ks, path, 1, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "second active key"));
    ck_assert_uint_eq(eh_keyset_count(ks), 1);
    /* the same key is fine when it is not active */
    ck_assert_int_eq(eh_keyset_add_pem(ks, path, 0, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_duplicate_refused)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 1);
    char path[PATH_MAX];
    char err[512] = "";

    /* the same file twice */
    eh_keys_path(path, sizeof(path), "ec1.pem");
    ck_assert_int_eq(eh_keyset_add_pem(ks, path, 0, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, "same key as"));
    /* the same key in another file */
    eh_keys_path(path, sizeof(path), "ec1-copy.pem");
    ck_assert_int_eq(eh_keyset_add_pem(ks, path, 0, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, eh_key_kid_get(eh_keyset_at(ks, 0))));
    ck_assert_uint_eq(eh_keyset_count(ks), 1);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_single_key_becomes_active)
{
    eh_keyset *ks = eh_keys_load("ec2.pem", 0);
    char err[256] = "";

    ck_assert_ptr_null(eh_keyset_active_get(ks));
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    ck_assert_ptr_eq(eh_keyset_active_get(ks), eh_keyset_at(ks, 0));
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_zero_keys_refused)
{
    eh_keyset *ks = NULL;
    char err[256] = "";

    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, "no signing key"));
    ck_assert_ptr_null(eh_keyset_active_get(ks));
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_none_active_refused)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 0);
    char path[PATH_MAX];
    char err[256] = "";

    ck_assert_int_eq(
        eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), "ec2.pem"), 0, err, sizeof(err)),
        EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, "none is active"));
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_thumbprint_rfc7638)
{
    char *tp = NULL;
    char *json;
    cjose_jwk_t *jwk;

    ck_assert_int_eq(eh_jwk_thumbprint(EH_RFC7638_JWK, &tp), EH_OK);
    ck_assert_str_eq(tp, EH_RFC7638_THUMBPRINT);
    free(tp);

    /* optional members and member order do not change it (the RFC's own
     * example carries alg and kid) */
    ck_assert_int_eq(eh_jwk_thumbprint("{\"alg\":\"RS256\",\"e\":\"AQAB\",\"kid\":\"2011-04-29\","
                                       "\"use\":\"sig\",\"n\":\"" EH_RFC7638_N
                                       "\",\"kty\":\"RSA\"}",
                                       &tp),
                     EH_OK);
    ck_assert_str_eq(tp, EH_RFC7638_THUMBPRINT);
    free(tp);

    /* the same key through cjose, as keys.c computes kids */
    jwk = cjose_jwk_import(EH_RFC7638_JWK, strlen(EH_RFC7638_JWK), NULL);
    ck_assert_ptr_nonnull(jwk);
    json = cjose_jwk_to_json(jwk, false, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_int_eq(eh_jwk_thumbprint(json, &tp), EH_OK);
    ck_assert_str_eq(tp, EH_RFC7638_THUMBPRINT);
    free(tp);
    cjose_get_dealloc()(json);
    cjose_jwk_release(jwk);

    /* not JWKs */
    tp = NULL;
    ck_assert_int_eq(eh_jwk_thumbprint("", &tp), EH_ERR_INVALID);
    ck_assert_int_eq(eh_jwk_thumbprint("[]", &tp), EH_ERR_INVALID);
    ck_assert_int_eq(eh_jwk_thumbprint("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", &tp), EH_ERR_INVALID);
    ck_assert_int_eq(eh_jwk_thumbprint("{\"kty\":\"XX\",\"e\":\"AQAB\"}", &tp), EH_ERR_INVALID);
    ck_assert_int_eq(eh_jwk_thumbprint("{\"kty\":\"RSA\",\"e\":1,\"n\":\"AQAB\"}", &tp),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(tp);
}
END_TEST

START_TEST(test_kid_stable)
{
    const char *names[] = {"ec1.pem", "rsa3072.pem"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        eh_keyset *a = eh_keys_load(names[i], 0);
        eh_keyset *b = eh_keys_load(names[i], 1);
        const eh_key *k = eh_keyset_at(a, 0);
        char *json = cjose_jwk_to_json(eh_key_cjose_get(k), false, NULL);
        char *tp = NULL;

        /* the same file gives the same kid, in any set, active or not */
        ck_assert_str_eq(eh_key_kid_get(k), eh_key_kid_get(eh_keyset_at(b, 0)));
        /* and it is the RFC 7638 thumbprint of the public key */
        ck_assert_ptr_nonnull(json);
        ck_assert_int_eq(eh_jwk_thumbprint(json, &tp), EH_OK);
        ck_assert_str_eq(eh_key_kid_get(k), tp);
        free(tp);
        cjose_get_dealloc()(json);
        eh_keyset_free(a);
        eh_keyset_free(b);
    }
}
END_TEST

/* eh_keys_jwks_find returns the member of the JWKS keys array with kid. */
static json_t *eh_keys_jwks_find(json_t *keys, const char *kid)
{
    for (size_t i = 0; i < json_array_size(keys); i++) {
        json_t *jwk = json_array_get(keys, i);
        const char *k = json_string_value(json_object_get(jwk, "kid"));
        if (k && strcmp(k, kid) == 0)
            return jwk;
    }
    return NULL;
}

START_TEST(test_jwks)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    eh_keyset *ks = eh_keys_load("ec1.pem", 0);
    char path[PATH_MAX];
    char err[512] = "";
    char *text = NULL;
    json_t *root;
    json_t *keys;

    ck_assert_int_eq(
        eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), "rsa3072.pem"), 1, err, sizeof(err)),
        EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_keyset_jwks_json(ks, &text), EH_OK);
    ck_assert_ptr_null(strchr(text, '\n'));
    root = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(root);
    keys = json_object_get(root, "keys");
    ck_assert_uint_eq(json_array_size(keys), 2);
    for (size_t i = 0; i < eh_keyset_count(ks); i++) {
        const eh_key *k = eh_keyset_at(ks, i);
        json_t *jwk = eh_keys_jwks_find(keys, eh_key_kid_get(k));

        ck_assert_ptr_nonnull(jwk);
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "use")), "sig");
        ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), eh_key_alg_get(k));
        if (eh_key_type_get(k) == EH_KEY_EC_P256) {
            ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
            ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256");
            /* coordinates are 32 bytes: 43 base64url characters */
            ck_assert_uint_eq(json_string_length(json_object_get(jwk, "x")), 43);
            ck_assert_uint_eq(json_string_length(json_object_get(jwk, "y")), 43);
        } else {
            ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), "RSA");
            ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
            /* 3072 bits = 384 bytes = 512 base64url characters */
            ck_assert_uint_eq(json_string_length(json_object_get(jwk, "n")), 512);
        }
        for (size_t p = 0; p < sizeof(private_members) / sizeof(private_members[0]); p++)
            ck_assert_ptr_null(json_object_get(jwk, private_members[p]));
    }
    json_decref(root);
    free(text);

    ck_assert_int_eq(eh_keyset_algs_json(ks, &text), EH_OK);
    ck_assert_str_eq(text, "[\"PS256\",\"ES256\"]");
    free(text);
    eh_keyset_free(ks);
}
END_TEST

START_TEST(test_algs_distinct)
{
    eh_keyset *ks = eh_keys_load("ec1.pem", 1);
    char path[PATH_MAX];
    char err[512] = "";
    char *text = NULL;

    ck_assert_int_eq(
        eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), "ec2.pem"), 0, err, sizeof(err)),
        EH_OK);
    ck_assert_int_eq(eh_keyset_algs_json(ks, &text), EH_OK);
    ck_assert_str_eq(text, "[\"ES256\"]");
    free(text);
    eh_keyset_free(ks);
}
END_TEST

/* eh_keys_sign_verify signs a payload with the active key of a set made of
 * the files active (active) and other, then verifies the JWS with the JWK
 * the set publishes for the active key, and checks the other published key
 * does not verify it. */
static void eh_keys_sign_verify(const char *active, const char *other)
{
    static const char payload[] = "{\"sub\":\"test\"}";
    eh_keyset *ks = eh_keys_load(active, 1);
    char path[PATH_MAX];
    char err[512] = "";
    const eh_key *k;
    cjose_header_t *hdr;
    cjose_jws_t *jws;
    cjose_jws_t *got;
    const char *compact = NULL;
    char *jwks = NULL;
    char *pub_text;
    json_t *root;
    cjose_jwk_t *pub;
    cjose_jwk_t *wrong;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cjose_err cerr;

    ck_assert_int_eq(
        eh_keyset_add_pem(ks, eh_keys_path(path, sizeof(path), other), 0, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_keyset_finish(ks, err, sizeof(err)), EH_OK);
    k = eh_keyset_active_get(ks);

    hdr = cjose_header_new(&cerr);
    ck_assert_ptr_nonnull(hdr);
    ck_assert(cjose_header_set(hdr, CJOSE_HDR_ALG, eh_key_alg_get(k), &cerr));
    ck_assert(cjose_header_set(hdr, CJOSE_HDR_KID, eh_key_kid_get(k), &cerr));
    jws =
        cjose_jws_sign(eh_key_cjose_get(k), hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    ck_assert_msg(jws != NULL, "cjose_jws_sign: %s", cerr.message);
    ck_assert(cjose_jws_export(jws, &compact, &cerr));

    ck_assert_int_eq(eh_keyset_jwks_json(ks, &jwks), EH_OK);
    root = json_loads(jwks, 0, NULL);
    ck_assert_ptr_nonnull(root);

    pub_text = json_dumps(eh_keys_jwks_find(json_object_get(root, "keys"), eh_key_kid_get(k)),
                          JSON_COMPACT);
    ck_assert_ptr_nonnull(pub_text);
    pub = cjose_jwk_import(pub_text, strlen(pub_text), &cerr);
    ck_assert_msg(pub != NULL, "cjose_jwk_import: %s", cerr.message);
    free(pub_text);

    pub_text = json_dumps(
        eh_keys_jwks_find(json_object_get(root, "keys"), eh_key_kid_get(eh_keyset_at(ks, 1))),
        JSON_COMPACT);
    ck_assert_ptr_nonnull(pub_text);
    wrong = cjose_jwk_import(pub_text, strlen(pub_text), &cerr);
    ck_assert_ptr_nonnull(wrong);
    free(pub_text);

    got = cjose_jws_import(compact, strlen(compact), &cerr);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(cjose_jws_verify(got, pub, &cerr), "cjose_jws_verify: %s", cerr.message);
    ck_assert(cjose_jws_get_plaintext(got, &plain, &plain_len, &cerr));
    ck_assert_uint_eq(plain_len, strlen(payload));
    ck_assert_int_eq(memcmp(plain, payload, plain_len), 0);
    cjose_jws_release(got);

    got = cjose_jws_import(compact, strlen(compact), &cerr);
    ck_assert_ptr_nonnull(got);
    ck_assert(!cjose_jws_verify(got, wrong, &cerr));
    cjose_jws_release(got);

    cjose_jwk_release(wrong);
    cjose_jwk_release(pub);
    json_decref(root);
    free(jwks);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    eh_keyset_free(ks);
}

START_TEST(test_jws_es256_verifies_with_jwks)
{
    eh_keys_sign_verify("ec1.pem", "ec2.pem");
}
END_TEST

START_TEST(test_jws_ps256_verifies_with_jwks)
{
    eh_keys_sign_verify("rsa3072.pem", "ec1.pem");
}
END_TEST

START_TEST(test_generate)
{
    char path[PATH_MAX];
    char err[512] = "";
    struct stat st;
    char *before;
    char *after;
    eh_keyset *ks;

    eh_keys_path(path, sizeof(path), "generated.pem");
    ck_assert_int_eq(eh_key_generate(EH_KEY_EC_P256, 0, path, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    before = eh_keys_read_text(path);
    ck_assert_ptr_nonnull(strstr(before, "-----BEGIN PRIVATE KEY-----"));

    /* never overwritten */
    ck_assert_int_eq(eh_key_generate(EH_KEY_EC_P256, 0, path, err, sizeof(err)), EH_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "refusing to overwrite"));
    after = eh_keys_read_text(path);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);

    ks = eh_keys_load("generated.pem", 1);
    ck_assert_str_eq(eh_key_alg_get(eh_keyset_at(ks, 0)), "ES256");
    eh_keyset_free(ks);

    /* a short RSA key is refused and leaves no file behind */
    eh_keys_path(path, sizeof(path), "short.pem");
    ck_assert_int_eq(eh_key_generate(EH_KEY_RSA, 2048, path, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(err, "3072"));
    ck_assert_int_ne(access(path, F_OK), 0);

    /* a folder that does not exist */
    eh_keys_path(path, sizeof(path), "no-such-dir/key.pem");
    ck_assert_int_eq(eh_key_generate(EH_KEY_EC_P256, 0, path, err, sizeof(err)), EH_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

START_TEST(test_generated_rsa_mode)
{
    char path[PATH_MAX];
    struct stat st;

    /* the suite's RSA key came from eh_key_generate too */
    ck_assert_int_eq(stat(eh_keys_path(path, sizeof(path), "rsa3072.pem"), &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

Suite *suite_keys(void)
{
    Suite *s = suite_create("keys");
    TCase *tc = tcase_create("keys");

    /* one fixture for the whole suite: RSA generation is slow */
    tcase_add_unchecked_fixture(tc, eh_keys_setup, eh_keys_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ec_load);
    tcase_add_test(tc, test_rsa3072_load);
    tcase_add_test(tc, test_rsa2048_refused);
    tcase_add_test(tc, test_other_curve_refused);
    tcase_add_test(tc, test_encrypted_refused);
    tcase_add_test(tc, test_not_a_key_refused);
    tcase_add_test(tc, test_missing_refused);
    tcase_add_test(tc, test_directory_refused);
    tcase_add_test(tc, test_loose_mode_warns);
    tcase_add_test(tc, test_two_keys_one_active);
    tcase_add_test(tc, test_two_active_refused);
    tcase_add_test(tc, test_duplicate_refused);
    tcase_add_test(tc, test_single_key_becomes_active);
    tcase_add_test(tc, test_zero_keys_refused);
    tcase_add_test(tc, test_none_active_refused);
    tcase_add_test(tc, test_thumbprint_rfc7638);
    tcase_add_test(tc, test_kid_stable);
    tcase_add_test(tc, test_jwks);
    tcase_add_test(tc, test_algs_distinct);
    tcase_add_test(tc, test_jws_es256_verifies_with_jwks);
    tcase_add_test(tc, test_jws_ps256_verifies_with_jwks);
    tcase_add_test(tc, test_generate);
    tcase_add_test(tc, test_generated_rsa_mode);
    suite_add_tcase(s, tc);
    return s;
}
