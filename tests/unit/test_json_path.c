#include "tests/unit/suites.h"

#include <string.h>

#include "broker/json_path.h"

START_TEST(paths_are_built)
{
    char p[EH_JSON_PATH_MAX], q[EH_JSON_PATH_MAX];
    eh_json_path_member(p, sizeof(p), NULL, "relying_parties");
    ck_assert_str_eq(p, "$.relying_parties");
    eh_json_path_index(q, sizeof(q), p, 3);
    ck_assert_str_eq(q, "$.relying_parties[3]");
    eh_json_path_member(p, sizeof(p), q, "redirect_uris");
    ck_assert_str_eq(p, "$.relying_parties[3].redirect_uris");
    eh_json_path_member(p, sizeof(p), "$", "has space");
    ck_assert_str_eq(p, "$[\"has space\"]");
    eh_json_path_member(p, sizeof(p), "$", "9lives");
    ck_assert_str_eq(p, "$[\"9lives\"]");
}
END_TEST

START_TEST(long_paths_are_truncated_safely)
{
    char p[16];
    eh_json_path_member(p, sizeof(p), "$.aaaaaaaaaaaaaaaaaaaa", "b");
    ck_assert_uint_eq(strlen(p), 15);
}
END_TEST

Suite *suite_json_path(void)
{
    Suite *s = suite_create("json_path");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, paths_are_built);
    tcase_add_test(tc, long_paths_are_truncated_safely);
    suite_add_tcase(s, tc);
    return s;
}
