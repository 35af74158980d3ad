#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/http.h"

START_TEST(methods_parse_exactly)
{
    ck_assert_int_eq(eh_http_method_parse("GET", 3), EH_HTTP_GET);
    ck_assert_int_eq(eh_http_method_parse("POST", 4), EH_HTTP_POST);
    ck_assert_int_eq(eh_http_method_parse("HEAD", 4), EH_HTTP_HEAD);
    ck_assert_int_eq(eh_http_method_parse("get", 3), EH_HTTP_OTHER);
    ck_assert_int_eq(eh_http_method_parse("GETX", 4), EH_HTTP_OTHER);
    ck_assert_int_eq(eh_http_method_parse("GET", 2), EH_HTTP_OTHER);
}
END_TEST

START_TEST(headers_are_case_insensitive)
{
    eh_http_header h[] = {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
    eh_http_request req = {.headers = h, .n_headers = 3};
    ck_assert_str_eq(eh_http_header_get(&req, "content-type"), "text/plain");
    ck_assert_str_eq(eh_http_header_get(&req, "X-a"), "1");
    ck_assert_ptr_null(eh_http_header_get(&req, "missing"));
}
END_TEST

static char *param(const char *q, const char *name, eh_rc want)
{
    char *v = NULL;
    ck_assert_int_eq(eh_http_param_get(q, strlen(q), name, &v), want);
    return v;
}

START_TEST(params_decode)
{
    char *v = param("a=1&redirect_uri=https%3A%2F%2Fx.ee%2Fcb&s=a+b", "redirect_uri", EH_OK);
    ck_assert_str_eq(v, "https://x.ee/cb");
    free(v);
    v = param("a=1&s=a+b%21", "s", EH_OK);
    ck_assert_str_eq(v, "a b!");
    free(v);
    v = param("flag&x=", "flag", EH_OK);
    ck_assert_str_eq(v, "");
    free(v);
    v = param("x=", "x", EH_OK);
    ck_assert_str_eq(v, "");
    free(v);
    ck_assert_ptr_null(param("a=1", "b", EH_ERR_NOT_FOUND));
    ck_assert_ptr_null(param("", "b", EH_ERR_NOT_FOUND));
}
END_TEST

START_TEST(params_refuse_bad_input)
{
    ck_assert_ptr_null(param("a=%2", "a", EH_ERR_INVALID));
    ck_assert_ptr_null(param("a=%", "a", EH_ERR_INVALID));
    ck_assert_ptr_null(param("a=%zz", "a", EH_ERR_INVALID));
    ck_assert_ptr_null(param("a=x%00y", "a", EH_ERR_INVALID));
    /* OAuth 2.0: a repeated parameter is an error, not "the first one". */
    ck_assert_ptr_null(param("a=1&a=2", "a", EH_ERR_INVALID));
    /* a percent-encoded name matches its decoded form */
    char *v = param("%61=7", "a", EH_OK);
    ck_assert_str_eq(v, "7");
    free(v);
}
END_TEST

START_TEST(response_headers_and_body)
{
    eh_http_response resp;
    eh_http_response_init(&resp);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_int_eq(eh_http_response_add_header(&resp, "X-One", "1"), EH_OK);
    ck_assert_int_eq(eh_http_response_set_body(&resp, 201, "text/plain", "hello", 5), EH_OK);
    ck_assert_int_eq(eh_http_response_set_body(&resp, 202, "application/json", "{}", 2), EH_OK);
    ck_assert_int_eq(resp.status, 202);
    ck_assert_str_eq(resp.body, "{}");
    ck_assert_uint_eq(resp.body_len, 2);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "content-type"), "application/json");
    ck_assert_uint_eq(resp.n_headers, 2); /* Content-Type replaced, not repeated */
    eh_http_response_free(&resp);
    ck_assert_uint_eq(resp.n_headers, 0);
    ck_assert_ptr_null(resp.body);
}
END_TEST

START_TEST(response_headers_refuse_injection)
{
    eh_http_response resp;
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_http_response_add_header(&resp, "Location", "https://a\r\nSet-Cookie: x"),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_http_response_add_header(&resp, "X\nY", "1"), EH_ERR_INVALID);
    ck_assert_int_eq(eh_http_response_add_header(&resp, "", "1"), EH_ERR_INVALID);
    ck_assert_int_eq(eh_http_response_set_header(&resp, "X", "a"), EH_OK);
    ck_assert_int_eq(eh_http_response_set_header(&resp, "x", "b\r"), EH_ERR_INVALID);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "X"), "a");
    ck_assert_uint_eq(resp.n_headers, 1);
    eh_http_response_free(&resp);
}
END_TEST

Suite *suite_http(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("types");
    tcase_add_test(tc, methods_parse_exactly);
    tcase_add_test(tc, headers_are_case_insensitive);
    tcase_add_test(tc, params_decode);
    tcase_add_test(tc, params_refuse_bad_input);
    tcase_add_test(tc, response_headers_and_body);
    tcase_add_test(tc, response_headers_refuse_injection);
    suite_add_tcase(s, tc);
    return s;
}
