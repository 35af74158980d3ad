#include "tests/unit/suites.h"

#include <stdio.h>
#include <string.h>

#include "broker/log.h"

static char last_line[2048];
static eh_log_level last_level;
static int calls;

static void capture(void *ctx, eh_log_level level, const char *msg)
{
    *(int *)ctx += 1;
    last_level = level;
    snprintf(last_line, sizeof(last_line), "%s", msg);
}

START_TEST(sink_receives_formatted_lines)
{
    calls = 0;
    eh_log_set_sink(capture, &calls, EH_LOG_INFO);
    eh_log(EH_LOG_WARN, "store %s answered %d", "redis", 7);
    ck_assert_int_eq(calls, 1);
    ck_assert_int_eq(last_level, EH_LOG_WARN);
    ck_assert_str_eq(last_line, "store redis answered 7");
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}
END_TEST

START_TEST(levels_below_minimum_are_dropped)
{
    calls = 0;
    eh_log_set_sink(capture, &calls, EH_LOG_WARN);
    eh_log(EH_LOG_INFO, "quiet");
    eh_log(EH_LOG_DEBUG, "quieter");
    ck_assert_int_eq(calls, 0);
    eh_log(EH_LOG_ERROR, "loud");
    ck_assert_int_eq(calls, 1);
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}
END_TEST

START_TEST(long_lines_are_cut_not_overflowed)
{
    char big[4000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    calls = 0;
    eh_log_set_sink(capture, &calls, EH_LOG_DEBUG);
    eh_log(EH_LOG_INFO, "%s", big);
    ck_assert_uint_eq(strlen(last_line), 1023);
    ck_assert_str_eq(eh_log_level_name(EH_LOG_DEBUG), "debug");
    ck_assert_str_eq(eh_log_level_name((eh_log_level)9), "?");
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}
END_TEST

START_TEST(json_lines_carry_the_request_context)
{
    calls = 0;
    eh_log_set_sink(capture, &calls, EH_LOG_INFO);
    eh_log_set_format(EH_LOG_JSON);
    eh_log_context_set("0123abcd");
    eh_log_login_set("Lg-id_1");
    eh_log(EH_LOG_INFO, "say \"%s\"\\ then\n%c", "hi", 1);
    ck_assert_ptr_nonnull(strstr(last_line, "\"level\":\"info\",\"request_id\":\"0123abcd\","
                                            "\"login_id\":\"Lg-id_1\",\"msg\":\"say \\\"hi\\\"\\\\ "
                                            "then\\n\\u0001\"}"));
    ck_assert(strncmp(last_line, "{\"time\":\"", 9) == 0);
    ck_assert_uint_eq(strlen(last_line), 24 + strlen("{\"time\":\"\",\"level\":\"info\",\"request_id\":"
                                                     "\"0123abcd\",\"login_id\":\"Lg-id_1\",\"msg\":"
                                                     "\"say \\\"hi\\\"\\\\ then\\n\\u0001\"}"));
    ck_assert_str_eq(eh_log_request_id(), "0123abcd");
    eh_log_context_set(NULL);
    ck_assert_str_eq(eh_log_login_id(), "");
    eh_log(EH_LOG_INFO, "plain");
    ck_assert_ptr_null(strstr(last_line, "request_id"));
    eh_log_set_format(EH_LOG_TEXT);
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}
END_TEST

Suite *suite_log(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("sink");
    tcase_add_test(tc, sink_receives_formatted_lines);
    tcase_add_test(tc, levels_below_minimum_are_dropped);
    tcase_add_test(tc, long_lines_are_cut_not_overflowed);
    tcase_add_test(tc, json_lines_carry_the_request_context);
    suite_add_tcase(s, tc);
    return s;
}
