#include "tests/unit/suites.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/metrics.h"

/* shared_block maps a fresh shared metrics block and attaches it. */
static void *shared_block(void)
{
    void *p =
        mmap(NULL, eh_metrics_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(eh_metrics_attach(p, eh_metrics_size(), 1), EH_OK);
    return p;
}

static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(eh_metrics_render(&text, &len), EH_OK);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

static const char *const requesters[] = {"portal", "odd\"name\\with\nnewline"};

START_TEST(counters_add_up_across_processes)
{
    void *block;
    enum { CHILDREN = 4, EACH = 2500 };
    char *text;

    /* the layout (and so whether a block is kept) includes the requesters */
    eh_metrics_set_requesters(requesters, 2);
    block = shared_block();
    for (int c = 0; c < CHILDREN; c++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int i = 0; i < EACH; i++) {
                eh_metrics_login_started("portal", NULL);
                eh_metrics_login_finished("portal", "mobile_id", i % 2 ? NULL : "access_denied");
                eh_metrics_request(0, 200, 1000);
                eh_metrics_rate_limited("mid:addr");
                if (i % 100 == 0)
                    eh_metrics_heap_trimmed();
            }
            _exit(0);
        }
    }
    for (int c = 0; c < CHILDREN; c++) {
        int status = 0;
        ck_assert_int_gt(wait(&status), 0);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    text = render();
    ck_assert_ptr_nonnull(
        strstr(text, "eidhub_logins_started_total{requester=\"portal\",method=\"none\"} 10000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_logins_finished_total{requester=\"portal\","
                                       "method=\"mobile_id\",outcome=\"released\"} 5000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_logins_finished_total{requester=\"portal\","
                                       "method=\"mobile_id\",outcome=\"access_denied\"} 5000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_requests_total{endpoint=\"/.well-known/"
                                       "openid-configuration\",status=\"2xx\"} 10000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_rate_limited_total{section=\"mid\"} 10000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_heap_trims_total 100\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_request_duration_seconds_count{endpoint=\"/."
                                       "well-known/openid-configuration\"} 10000\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_request_duration_seconds_sum{endpoint=\"/."
                                       "well-known/openid-configuration\"} 10.000000\n"));
    free(text);
    /* re-attaching a block of the same layout keeps its numbers */
    ck_assert_int_eq(eh_metrics_attach(block, eh_metrics_size(), 0), EH_OK);
    text = render();
    ck_assert_ptr_nonnull(strstr(text, "eidhub_rate_limited_total{section=\"mid\"} 10000\n"));
    free(text);
    /* ... and one of another layout starts again */
    eh_metrics_forget_requesters(requesters);
    ck_assert_int_eq(eh_metrics_attach(block, eh_metrics_size(), 0), EH_OK);
    text = render();
    ck_assert_ptr_nonnull(strstr(text, "eidhub_rate_limited_total{section=\"mid\"} 0\n"));
    free(text);
}
END_TEST

START_TEST(histogram_buckets_are_cumulative)
{
    char *text;

    shared_block();
    eh_metrics_upstream(EH_UPSTREAM_MOBILE_ID, 3000);     /* 3 ms */
    eh_metrics_upstream(EH_UPSTREAM_MOBILE_ID, 30000);    /* 30 ms */
    eh_metrics_upstream(EH_UPSTREAM_MOBILE_ID, 20000000); /* 20 s: +Inf only */
    eh_metrics_upstream(EH_UPSTREAM_NONE, 1000);          /* not counted */
    eh_metrics_store(EH_STORE_OP_GET, 100, EH_OK);
    eh_metrics_store(EH_STORE_OP_GET, 100, EH_ERR_NOT_FOUND);
    eh_metrics_store(EH_STORE_OP_GET, 100, EH_ERR_STORE_TIMEOUT);
    text = render();
    ck_assert_ptr_nonnull(strstr(
        text, "eidhub_upstream_duration_seconds_bucket{upstream=\"mobile_id\",le=\"0.005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "eidhub_upstream_duration_seconds_bucket{upstream=\"mobile_id\",le=\"0.025\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "eidhub_upstream_duration_seconds_bucket{upstream=\"mobile_id\",le=\"0.05\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "eidhub_upstream_duration_seconds_bucket{upstream=\"mobile_id\",le=\"10\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
        text, "eidhub_upstream_duration_seconds_bucket{upstream=\"mobile_id\",le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "eidhub_upstream_duration_seconds_sum{upstream=\"mobile_id\"} 20.033000\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "eidhub_upstream_duration_seconds_count{upstream=\"mobile_id\"} 3\n"));
    ck_assert_ptr_null(strstr(text, "upstream=\"none\""));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_store_errors_total{op=\"get\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_store_duration_seconds_count{op=\"get\"} 3\n"));
    free(text);
}
END_TEST

START_TEST(exposition_lines_parse)
{
    regex_t sample, help, type;
    char *text, *line, *save = NULL;
    int samples = 0, helps = 0, types = 0;

    shared_block();
    eh_metrics_set_requesters(requesters, 2);
    eh_metrics_login_started(requesters[1], "smart_id");
    eh_metrics_login_finished("unknown-client", "no-such-method", "temporarily_unavailable");
    eh_metrics_request(9999, 302, 10);
    eh_metrics_rate_limited("zzz:addr");
    text = render();
    /* a label value: any characters but \, " and newline, or their escapes */
    ck_assert_int_eq(
        regcomp(
            &sample,
            "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\"\\\\n])*\""
            "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\"\\\\n])*\")*\\})? [0-9]+(\\.[0-9]+)?$",
            REG_EXTENDED | REG_NOSUB),
        0);
    ck_assert_int_eq(regcomp(&help, "^# HELP eidhub_[a-z_]+ [^\n]+$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert_int_eq(
        regcomp(&type, "^# TYPE eidhub_[a-z_]+ (counter|histogram)$", REG_EXTENDED | REG_NOSUB), 0);
    ck_assert(text[strlen(text) - 1] == '\n');
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP", 6) == 0) {
            ck_assert_msg(regexec(&help, line, 0, NULL, 0) == 0, "bad HELP: %s", line);
            helps++;
        } else if (strncmp(line, "# TYPE", 6) == 0) {
            ck_assert_msg(regexec(&type, line, 0, NULL, 0) == 0, "bad TYPE: %s", line);
            types++;
        } else {
            ck_assert_msg(regexec(&sample, line, 0, NULL, 0) == 0, "bad sample: %s", line);
            samples++;
        }
    }
    ck_assert_int_eq(helps, 9);
    ck_assert_int_eq(types, 9);
    ck_assert_int_gt(samples, 20);
    regfree(&sample);
    regfree(&help);
    regfree(&type);
    free(text);
    text = render();
    ck_assert_ptr_nonnull(strstr(text, "eidhub_logins_started_total{requester=\"odd\\\"name\\\\with"
                                       "\\nnewline\",method=\"smart_id\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_logins_finished_total{requester=\"other\","
                                       "method=\"none\",outcome=\"other\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "eidhub_requests_total{endpoint=\"other\",status=\"3xx\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "eidhub_rate_limited_total{section=\"other\"} 1\n"));
    ck_assert_str_eq(eh_metrics_outcome(NULL), "released");
    ck_assert_str_eq(eh_metrics_outcome("server_error"), "server_error");
    ck_assert_str_eq(eh_metrics_outcome("login_required"), "other");
    free(text);
    eh_metrics_forget_requesters(requesters);
}
END_TEST

START_TEST(attach_refuses_a_small_block)
{
    char small[16];
    ck_assert_int_eq(eh_metrics_attach(small, sizeof(small), 1), EH_ERR_INVALID);
    ck_assert_int_eq(eh_metrics_attach(NULL, eh_metrics_size(), 1), EH_ERR_INVALID);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, counters_add_up_across_processes);
    tcase_add_test(tc, histogram_buckets_are_cumulative);
    tcase_add_test(tc, exposition_lines_parse);
    tcase_add_test(tc, attach_refuses_a_small_block);
    suite_add_tcase(s, tc);
    return s;
}
