#include "tests/unit/suites.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/keys.h"
#include "broker/dispatch.h"
#include "metadata/discovery.h"
#include "tests/unit/testutil.h"

static char *dir;
static eh_broker *broker;

static void setup(void)
{
    char err[512], *path;
    dir = eh_test_tmpdir();
    path = eh_test_config(dir, "[]");
    ck_assert_msg(eh_broker_load(path, &broker, err, sizeof(err)) == EH_OK, "%s", err);
    free(path);
}

static void teardown(void)
{
    eh_broker_free(broker);
    eh_test_rmtree(dir);
    free(dir);
}

static json_t *fetch(eh_handler_fn fn, int *status);

static json_t *fetch(eh_handler_fn fn, int *status)
{
    eh_http_request req = {.method = EH_HTTP_GET, .path = "/", .query = ""};
    eh_http_response resp;
    json_t *doc;
    eh_http_response_init(&resp);
    ck_assert_int_eq(fn(broker, &req, &resp), EH_OK);
    *status = resp.status;
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Content-Type"), "application/json");
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    eh_http_response_free(&resp);
    return doc;
}

/* has_string tells whether the JSON array arr holds the string s. */
static int has_string(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

START_TEST(discovery_document_is_complete)
{
    int status;
    json_t *doc = fetch(eh_discovery_handle, &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "issuer")), "http://127.0.0.1:8080");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "jwks_uri")),
                     "http://127.0.0.1:8080/jwks");
    ck_assert_str_eq(json_string_value(json_object_get(doc, "authorization_endpoint")),
                     "http://127.0.0.1:8080/authorize");
    ck_assert(has_string(json_object_get(doc, "response_types_supported"), "code"));
    ck_assert(!has_string(json_object_get(doc, "response_types_supported"), "id_token"));
    ck_assert(has_string(json_object_get(doc, "subject_types_supported"), "pairwise"));
    ck_assert(has_string(json_object_get(doc, "id_token_signing_alg_values_supported"), "ES256"));
    ck_assert(has_string(json_object_get(doc, "code_challenge_methods_supported"), "S256"));
    ck_assert(!has_string(json_object_get(doc, "code_challenge_methods_supported"), "plain"));
    ck_assert(has_string(json_object_get(doc, "acr_values_supported"),
                         "http://eidas.europa.eu/LoA/high"));
    ck_assert(has_string(json_object_get(doc, "claims_supported"), "birthdate"));
    ck_assert(has_string(json_object_get(doc, "ui_locales_supported"), "et"));
    json_decref(doc);
}
END_TEST

START_TEST(jwks_publishes_the_active_key)
{
    int status;
    json_t *doc = fetch(eh_jwks_handle, &status);
    json_t *keys = json_object_get(doc, "keys"), *k = json_array_get(keys, 0);
    const eh_key *active = eh_keyset_active_get(eh_broker_keys_get(broker));
    ck_assert_int_eq(status, 200);
    ck_assert_uint_eq(json_array_size(keys), 1);
    ck_assert_str_eq(json_string_value(json_object_get(k, "kid")), eh_key_kid_get(active));
    ck_assert_str_eq(json_string_value(json_object_get(k, "kty")), "EC");
    ck_assert_str_eq(json_string_value(json_object_get(k, "alg")), "ES256");
    ck_assert_ptr_null(json_object_get(k, "d"));
    json_decref(doc);
}
END_TEST

Suite *suite_discovery(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("documents");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, discovery_document_is_complete);
    tcase_add_test(tc, jwks_publishes_the_active_key);
    suite_add_tcase(s, tc);
    return s;
}
