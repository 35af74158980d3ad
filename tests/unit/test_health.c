#include "tests/unit/suites.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/health.h"
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

/* health returns the parsed answer of GET /healthz and its status. */
static json_t *health(int *status)
{
    eh_http_request req = {.method = EH_HTTP_GET, .path = "/healthz", .query = ""};
    eh_http_response resp;
    json_t *doc;
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_health_handle(broker, &req, &resp), EH_OK);
    *status = resp.status;
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Content-Type"), "application/json");
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Cache-Control"), "no-store");
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    eh_http_response_free(&resp);
    return doc;
}

START_TEST(reachable_store_is_ok)
{
    eh_store *store = NULL;
    int status;
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
    eh_broker_set_store(broker, store);
    json_t *doc = health(&status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "store"), "type")),
                     "shm");
    ck_assert(json_is_true(json_object_get(json_object_get(doc, "store"), "reachable")));
    json_decref(doc);
}
END_TEST

START_TEST(unreachable_store_is_503)
{
    eh_store *store = NULL;
    char err[256];
    int status;
    /* port 1 on loopback: nothing listens there, connect is refused at once */
    ck_assert_int_eq(eh_store_redis_new("redis://127.0.0.1:1/0", 200, &store, err, sizeof(err)),
                     EH_OK);
    eh_broker_set_store(broker, store);
    json_t *doc = health(&status);
    ck_assert_int_eq(status, 503);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "status")), "unavailable");
    json_t *s = json_object_get(doc, "store");
    ck_assert_str_eq(json_string_value(json_object_get(s, "type")), "redis");
    ck_assert(json_is_false(json_object_get(s, "reachable")));
    ck_assert_str_eq(json_string_value(json_object_get(s, "error")), "store unavailable");
    json_decref(doc);
}
END_TEST

START_TEST(no_store_is_503)
{
    int status;
    json_t *doc = health(&status);
    ck_assert_int_eq(status, 503);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "store"), "type")),
                     "none");
    json_decref(doc);
}
END_TEST

Suite *suite_health(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("healthz");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reachable_store_is_ok);
    tcase_add_test(tc, unreachable_store_is_503);
    tcase_add_test(tc, no_store_is_503);
    suite_add_tcase(s, tc);
    return s;
}
