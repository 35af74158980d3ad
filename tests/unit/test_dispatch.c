#include "tests/unit/suites.h"

#include <string.h>

#include "broker/dispatch.h"

START_TEST(known_routes_are_found)
{
    eh_rc rc;
    const eh_route *r = eh_dispatch_find(EH_HTTP_GET, "/.well-known/openid-configuration", &rc);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(rc, EH_OK);
    ck_assert_int_eq(r->mode, EH_ROUTE_INLINE);
    r = eh_dispatch_find(EH_HTTP_HEAD, "/jwks", &rc);
    ck_assert_ptr_nonnull(r);
    r = eh_dispatch_find(EH_HTTP_GET, "/healthz", &rc);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->mode, EH_ROUTE_BLOCKING);
}
END_TEST

START_TEST(wrong_method_and_unknown_path)
{
    eh_rc rc;
    ck_assert_ptr_null(eh_dispatch_find(EH_HTTP_POST, "/jwks", &rc));
    ck_assert_int_eq(rc, EH_ERR_HTTP_METHOD);
    ck_assert_ptr_null(eh_dispatch_find(EH_HTTP_OTHER, "/jwks", &rc));
    ck_assert_int_eq(rc, EH_ERR_HTTP_METHOD);
    ck_assert_ptr_null(eh_dispatch_find(EH_HTTP_GET, "/jwks/", &rc));
    ck_assert_int_eq(rc, EH_ERR_HTTP_NO_ROUTE);
    ck_assert_ptr_null(eh_dispatch_find(EH_HTTP_GET, "/JWKS", &rc));
    ck_assert_int_eq(rc, EH_ERR_HTTP_NO_ROUTE);
}
END_TEST

START_TEST(table_has_no_duplicates)
{
    size_t n;
    const eh_route *routes = eh_dispatch_routes(&n);
    ck_assert_uint_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(routes[i].handler);
        ck_assert_msg(routes[i].path[0] == '/', "%s", routes[i].path);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(routes[i].path, routes[j].path) != 0 ||
                              (routes[i].methods & routes[j].methods) == 0,
                          "%s twice", routes[i].path);
    }
}
END_TEST

Suite *suite_dispatch(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, known_routes_are_found);
    tcase_add_test(tc, wrong_method_and_unknown_path);
    tcase_add_test(tc, table_has_no_duplicates);
    suite_add_tcase(s, tc);
    return s;
}
