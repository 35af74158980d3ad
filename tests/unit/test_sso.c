#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/sso.h"
#include "tests/unit/testutil.h"

static char *dir;
static eh_broker *broker;

static void setup(void)
{
    dir = eh_test_tmpdir();
    broker = eh_test_broker(dir, "[]");
}

static void teardown(void)
{
    eh_broker_free(broker);
    eh_test_rmtree(dir);
    free(dir);
}

static eh_identity *citizen(eh_loa loa)
{
    eh_identity *id = NULL;
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->method = strdup("mobile_id");
    id->loa = loa;
    json_object_set_new(id->attributes, "given_name", json_string("JAAN"));
    return id;
}

/* request_with_cookie builds a request carrying the Set-Cookie of resp. */
static eh_http_request request_with_cookie(const eh_http_response *resp, eh_http_header *h,
                                           char *buf, size_t len)
{
    const char *set = eh_http_response_header_get(resp, "Set-Cookie");
    eh_http_request req = {.method = EH_HTTP_GET, .path = "/", .query = ""};
    ck_assert_ptr_nonnull(set);
    snprintf(buf, len, "%.*s", (int)strcspn(set, ";"), set);
    h->name = "Cookie";
    h->value = buf;
    req.headers = h;
    req.n_headers = 1;
    return req;
}

START_TEST(create_find_add_end)
{
    eh_identity *id = citizen(EH_LOA_HIGH);
    eh_http_response resp;
    eh_http_header h;
    char cookie[512], *key = NULL;
    eh_sso *s = NULL, *again = NULL, *ended = NULL;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_sso_create(broker, id, NULL, NULL, &resp, &s), EH_OK);
    ck_assert(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), "HttpOnly") != NULL);
    eh_http_request req = request_with_cookie(&resp, &h, cookie, sizeof(cookie));
    ck_assert_int_eq(eh_sso_of_request(broker, &req, &again), EH_OK);
    ck_assert_str_eq(again->sid, s->sid);
    ck_assert_str_eq(again->identity->id_value, "38001085718");
    /* the cookie holds a secret, not the store key nor the sid */
    ck_assert(strstr(cookie, s->sid) == NULL && strstr(s->key, strchr(cookie, '=') + 1) == NULL);
    ck_assert_int_eq(eh_sso_add_requester(broker, s->key, "portal-a", NULL), EH_OK);
    ck_assert_int_eq(eh_sso_add_requester(broker, s->key, "portal-b", "x"), EH_OK);
    ck_assert_int_eq(eh_sso_find_sid(broker, s->sid, &key), EH_OK);
    ck_assert_str_eq(key, s->key);
    ck_assert_int_eq(eh_sso_end(broker, s->key, &ended), EH_OK);
    ck_assert_uint_eq(json_object_size(ended->requesters), 2);
    /* ended once: a second end and a lookup find nothing */
    ck_assert_int_eq(eh_sso_end(broker, s->key, NULL), EH_ERR_NOT_FOUND);
    eh_sso_free(again);
    again = NULL;
    ck_assert_int_eq(eh_sso_of_request(broker, &req, &again), EH_ERR_NOT_FOUND);
    free(key);
    key = NULL;
    ck_assert_int_eq(eh_sso_find_sid(broker, s->sid, &key), EH_ERR_NOT_FOUND);
    eh_sso_free(s);
    eh_sso_free(ended);
    eh_identity_free(id);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(created_with_its_first_requester_and_upstream)
{
    eh_identity *id = citizen(EH_LOA_HIGH);
    json_t *upstream = json_pack("{s:s}", "country", "CA");
    eh_http_response resp;
    char *key = NULL;
    eh_sso *s = NULL, *again = NULL;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_sso_create(broker, id, "portal-a", upstream, &resp, &s), EH_OK);
    ck_assert_ptr_nonnull(eh_http_response_header_get(&resp, "Set-Cookie"));
    /* one write made the session with both, and its sid index */
    ck_assert_int_eq(eh_sso_load(broker, s->key, &again), EH_OK);
    ck_assert_uint_eq(json_object_size(again->requesters), 1);
    ck_assert_ptr_nonnull(json_object_get(again->requesters, "portal-a"));
    ck_assert_ptr_null(
        json_string_value(json_object_get(json_object_get(again->requesters, "portal-a"), "sub")));
    ck_assert_str_eq(json_string_value(json_object_get(again->upstream, "country")), "CA");
    ck_assert_int_eq(eh_sso_find_sid(broker, s->sid, &key), EH_OK);
    ck_assert_str_eq(key, s->key);
    /* the upstream was copied: the caller's object is its own */
    ck_assert_int_eq(json_object_set_new(upstream, "country", json_string("SE")), 0);
    eh_sso_free(again);
    again = NULL;
    ck_assert_int_eq(eh_sso_load(broker, s->key, &again), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(again->upstream, "country")), "CA");
    /* a second requester is added as before, and detaching takes one off */
    ck_assert_int_eq(eh_sso_add_requester(broker, s->key, "portal-b", "x"), EH_OK);
    ck_assert_int_eq(eh_sso_detach(broker, s->key, "portal-a", 0), EH_OK);
    eh_sso_free(again);
    again = NULL;
    ck_assert_int_eq(eh_sso_load(broker, s->key, &again), EH_OK);
    ck_assert_uint_eq(json_object_size(again->requesters), 1);
    ck_assert_ptr_nonnull(json_object_get(again->requesters, "portal-b"));
    eh_sso_free(again);
    eh_sso_free(s);
    free(key);
    json_decref(upstream);
    eh_identity_free(id);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(lifetimes_are_short_and_by_level)
{
    ck_assert_uint_eq(eh_sso_lifetime_s(broker, EH_LOA_HIGH), 600);
    ck_assert_uint_eq(eh_sso_lifetime_s(broker, EH_LOA_SUBSTANTIAL), 1200);
    ck_assert_uint_eq(eh_sso_lifetime_s(broker, EH_LOA_LOW), 1800);
    ck_assert_uint_eq(eh_sso_lifetime_s(broker, EH_LOA_NONE), 0);
}
END_TEST

START_TEST(garbage_cookies_find_nothing)
{
    eh_http_header h[] = {{"Cookie", "eidhub_sso=not-a-session"}};
    eh_http_header twice[] = {{"Cookie", "eidhub_sso=a; eidhub_sso=b"}};
    eh_http_request req = {.method = EH_HTTP_GET, .path = "/", .query = "", .headers = h,
                           .n_headers = 1};
    eh_sso *s = NULL;
    ck_assert_int_eq(eh_sso_of_request(broker, &req, &s), EH_ERR_NOT_FOUND);
    req.headers = twice;
    ck_assert_int_eq(eh_sso_of_request(broker, &req, &s), EH_ERR_NOT_FOUND);
    req.n_headers = 0;
    ck_assert_int_eq(eh_sso_of_request(broker, &req, &s), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_sso_find_sid(broker, "no such sid", NULL), EH_ERR_NOT_FOUND);
}
END_TEST

Suite *suite_sso(void)
{
    Suite *s = suite_create("sso");
    TCase *tc = tcase_create("sessions");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_find_add_end);
    tcase_add_test(tc, created_with_its_first_requester_and_upstream);
    tcase_add_test(tc, lifetimes_are_short_and_by_level);
    tcase_add_test(tc, garbage_cookies_find_nothing);
    suite_add_tcase(s, tc);
    return s;
}
