#include "tests/unit/testutil.h"

#include <check.h>
#include <cjose/cjose.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/file.h"
#include "broker/store.h"
#include "broker/keys.h"
#include "broker/saml/saml_crypto.h"

char *eh_test_tmpdir(void)
{
    char *dir = strdup("/tmp/eh-unit.XXXXXX");
    ck_assert_ptr_nonnull(dir);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

char *eh_test_write(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    FILE *f;

    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

void eh_test_rmtree(const char *dir)
{
    char *cmd = NULL;
    if (dir == NULL || strncmp(dir, "/tmp/eh-unit.", 13) != 0)
        return;
    if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
}

char *eh_test_config(const char *dir, const char *rps_json)
{
    char err[512], *key = NULL, *text = NULL, *path;
    struct stat st;

    ck_assert_int_ge(asprintf(&key, "%s/key.pem", dir), 0);
    if (stat(key, &st) != 0)
        ck_assert_msg(eh_key_generate(EH_KEY_EC_P256, 0, key, err, sizeof(err)) == EH_OK, "%s",
                      err);
    free(eh_test_write(dir, "subject.secret", "0123456789abcdef0123456789abcdef-test-only\n"));
    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"http://127.0.0.1:8080\",\n"
                              " \"keys\": [{\"file\": \"key.pem\", \"active\": true}],\n"
                              " \"subject_secret_file\": \"subject.secret\",\n"
                              " \"relying_parties\": %s}\n",
                              rps_json),
                     0);
    path = eh_test_write(dir, "broker.json", text);
    free(key);
    free(text);
    return path;
}

char *eh_test_saml_fixture(const char *name, size_t *len)
{
    char path[512], *text = NULL;
    size_t n = 0;

    snprintf(path, sizeof(path), EH_TEST_FIXTURES "/saml/%s", name);
    ck_assert_msg(eh_file_read(path, 1 << 20, &text, &n) == EH_OK, "cannot read %s", path);
    if (len != NULL)
        *len = n;
    return text;
}

void eh_test_saml_keys_add(eh_saml_keys *k, const char *name)
{
    char why[200] = "";
    size_t n = 0;
    char *pem = eh_test_saml_fixture(name, &n);

    ck_assert_msg(eh_saml_keys_add_pem(k, pem, n, why, sizeof(why)) == EH_OK, "%s: %s", name, why);
    free(pem);
}

eh_saml_keys *eh_test_saml_keys(const char *name)
{
    eh_saml_keys *k = eh_saml_keys_new();

    ck_assert_ptr_nonnull(k);
    eh_test_saml_keys_add(k, name);
    return k;
}

json_t *eh_test_json_apply(json_t *c, const char *changes)
{
    json_t *x, *v;
    const char *k;
    void *tmp;

    if (changes == NULL)
        return c;
    x = json_loads(changes, 0, NULL);
    ck_assert_msg(x != NULL, "bad changes %s", changes);
    json_object_foreach_safe(x, tmp, k, v)
    {
        if (json_is_null(v))
            json_object_del(c, k);
        else
            json_object_set(c, k, v);
    }
    json_decref(x);
    return c;
}

char *eh_test_jws(const void *k, const char *alg, const char *kid, const char *typ,
                  const char *crit, json_t *payload)
{
    cjose_err err;
    cjose_header_t *h = cjose_header_new(&err);
    char *text = json_dumps(payload, JSON_COMPACT), *out;
    cjose_jws_t *jws;
    const char *ser = NULL;

    ck_assert(cjose_header_set(h, CJOSE_HDR_ALG, alg, &err));
    if (kid != NULL)
        ck_assert(cjose_header_set(h, CJOSE_HDR_KID, kid, &err));
    if (typ != NULL)
        ck_assert(cjose_header_set(h, "typ", typ, &err));
    if (crit != NULL)
        ck_assert(cjose_header_set_raw(h, "crit", crit, &err));
    jws = cjose_jws_sign((const cjose_jwk_t *)k, h, (const uint8_t *)text, strlen(text), &err);
    ck_assert_msg(jws != NULL, "cjose_jws_sign %s: %s", alg, err.message);
    ck_assert(cjose_jws_export(jws, &ser, &err));
    out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    free(text);
    json_decref(payload);
    return out;
}

eh_broker *eh_test_broker(const char *dir, const char *rps_json)
{
    char err[512], *path = eh_test_config(dir, rps_json);
    eh_broker *b = NULL;
    eh_store *store = NULL;

    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
    eh_broker_set_store(b, store);
    free(path);
    return b;
}
