#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/keys.h"
#include "tests/unit/testutil.h"

static char *dir;

static void setup(void)
{
    dir = eh_test_tmpdir();
}

static void teardown(void)
{
    eh_test_rmtree(dir);
    free(dir);
}

static eh_http_request get(const char *path)
{
    eh_http_request req = {.method = EH_HTTP_GET, .path = path, .query = "", .client_addr = "127.0.0.1"};
    return req;
}

START_TEST(load_and_answer)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_http_response resp;
    eh_http_request req = get("/jwks");

    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_uint_eq(eh_keyset_count(eh_broker_keys_get(b)), 1);
    ck_assert_str_eq(eh_broker_config_get(b)->issuer, "http://127.0.0.1:8080");
    ck_assert_ptr_null(eh_broker_store_get(b));
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, eh_broker_jwks_get(b));
    ck_assert_str_eq(eh_http_response_header_get(&resp, "X-Content-Type-Options"), "nosniff");
    eh_http_response_free(&resp);
    eh_broker_free(b);
    free(path);
}
END_TEST

START_TEST(routing_errors_and_blocking)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_http_response resp;
    eh_http_request req = get("/nope");

    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_ERR_HTTP_NO_ROUTE);
    req = get("/jwks");
    req.method = EH_HTTP_POST;
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_ERR_HTTP_METHOD);
    ck_assert(!eh_broker_blocking(&req));
    req = get("/healthz");
    ck_assert(eh_broker_blocking(&req));
    req = get("/.well-known/openid-configuration");
    ck_assert(!eh_broker_blocking(&req));
    eh_http_response_free(&resp);
    eh_broker_free(b);
    free(path);
}
END_TEST

START_TEST(key_errors_name_the_key)
{
    char err[512], *path;
    eh_broker *b = NULL;
    free(eh_test_write(dir, "key.pem", "not a key\n"));
    path = eh_test_config(dir, "[]");
    ck_assert_int_ne(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "broker.json: $.keys[0]: ") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "key.pem") != NULL, "%s", err);
    free(path);
}
END_TEST

START_TEST(store_is_owned_and_replaced)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_store *s1 = NULL, *s2 = NULL;
    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &s1), EH_OK);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &s2), EH_OK);
    eh_broker_set_store(b, s1);
    eh_broker_set_store(b, s1); /* setting the same store twice keeps it */
    ck_assert_ptr_eq(eh_broker_store_get(b), s1);
    eh_broker_set_store(b, s2); /* frees s1 */
    ck_assert_ptr_eq(eh_broker_store_get(b), s2);
    eh_broker_free(b);
    free(path);
}
END_TEST

Suite *suite_broker(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, load_and_answer);
    tcase_add_test(tc, routing_errors_and_blocking);
    tcase_add_test(tc, key_errors_name_the_key);
    tcase_add_test(tc, store_is_owned_and_replaced);
    suite_add_tcase(s, tc);
    return s;
}
