#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/json_check.h"

#define FILE_NAME "/etc/eidhub/broker.json"
#define URL_ERR                                                                                    \
    "must be an absolute http(s) URL (http only for loopback hosts), without user info or "        \
    "fragment"

/* The check under test and its error line; reset by setup. */
static char err[512];
static eh_check v;

static void setup(void)
{
    memset(err, 0, sizeof(err));
    v.file = FILE_NAME;
    v.err = err;
    v.errlen = sizeof(err);
}

/* obj parses a JSON object text (caller decrefs). */
static json_t *obj(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    ck_assert_msg(o != NULL, "%s: %s", text, je.text);
    return o;
}

/* expect_err checks that rc is EH_ERR_CONFIG with error line want. */
static void expect_err(eh_rc rc, const char *want)
{
    ck_assert_int_eq(rc, EH_ERR_CONFIG);
    ck_assert_str_eq(err, want);
}

/* url_ok / url_bad check one URL. */
static void url_ok(const char *url, int no_query)
{
    eh_rc rc = eh_check_url(&v, "$.u", url, no_query);
    ck_assert_msg(rc == EH_OK, "refused %s: %s", url, err);
    ck_assert_str_eq(err, "");
}

static void url_bad(const char *url, int no_query)
{
    eh_rc rc = eh_check_url(&v, "$.u", url, no_query);
    ck_assert_msg(rc == EH_ERR_CONFIG, "accepted %s", url);
    ck_assert_msg(strncmp(err, FILE_NAME ": $.u: " URL_ERR, strlen(FILE_NAME ": $.u: " URL_ERR)) ==
                      0,
                  "%s", err);
}

START_TEST(fail_formats_one_line)
{
    expect_err(eh_check_fail(&v, "$.a[2].b", "must be %s %d", "at most", 7),
               FILE_NAME ": $.a[2].b: must be at most 7");
}
END_TEST

START_TEST(fail_truncates_to_the_buffer)
{
    char small[16];
    eh_check s = {.file = FILE_NAME, .err = small, .errlen = sizeof(small)};
    char big[2000];

    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(eh_check_fail(&s, "$", "%s", big), EH_ERR_CONFIG);
    ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
    ck_assert_int_eq(strncmp(small, FILE_NAME, sizeof(small) - 1), 0);
    /* a message longer than the internal buffer still ends properly */
    ck_assert_int_eq(eh_check_fail(&v, "$", "%s", big), EH_ERR_CONFIG);
    ck_assert_uint_lt(strlen(err), sizeof(err));
}
END_TEST

START_TEST(members_refuses_unknown)
{
    static const char *const allowed[] = {"a", "b", NULL};
    static const char *const none[] = {NULL};
    json_t *o = obj("{\"a\": 1, \"b\": 2}");

    ck_assert_int_eq(eh_check_members(&v, o, "$.x", allowed), EH_OK);
    json_decref(o);
    o = obj("{\"a\": 1, \"c\": 2}");
    expect_err(eh_check_members(&v, o, "$.x", allowed), FILE_NAME ": $.x.c: unknown member");
    json_decref(o);
    /* case matters; a name that is not an identifier is quoted in the path */
    o = obj("{\"A\": 1}");
    expect_err(eh_check_members(&v, o, "$", allowed), FILE_NAME ": $.A: unknown member");
    json_decref(o);
    o = obj("{\"a b\": 1}");
    ck_assert_int_eq(eh_check_members(&v, o, "$", allowed), EH_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "unknown member"));
    ck_assert_ptr_null(strchr(err, '\n'));
    json_decref(o);
    o = obj("{}");
    ck_assert_int_eq(eh_check_members(&v, o, "$", none), EH_OK);
    json_decref(o);
}
END_TEST

START_TEST(string_member)
{
    json_t *o = obj("{\"s\": \"text\", \"n\": 3, \"e\": \"\", \"z\": null}");
    char *out = (char *)"unset";

    ck_assert_int_eq(eh_check_string(&v, o, "$.r", "s", 1, &out), EH_OK);
    ck_assert_str_eq(out, "text");
    free(out);
    ck_assert_int_eq(eh_check_string(&v, o, "$.r", "missing", 0, &out), EH_OK);
    ck_assert_ptr_null(out);
    expect_err(eh_check_string(&v, o, "$.r", "missing", 1, &out),
               FILE_NAME ": $.r.missing: is required");
    ck_assert_ptr_null(out);
    expect_err(eh_check_string(&v, o, "$.r", "n", 0, &out), FILE_NAME ": $.r.n: must be a string");
    expect_err(eh_check_string(&v, o, "$.r", "z", 0, &out), FILE_NAME ": $.r.z: must be a string");
    expect_err(eh_check_string(&v, o, "$.r", "e", 0, &out),
               FILE_NAME ": $.r.e: must be a non-empty string without NUL bytes");
    ck_assert_ptr_null(out);
    json_decref(o);
    /* an embedded NUL would silently cut the value short */
    o = json_object();
    json_object_set_new(o, "s", json_stringn("ab\0cd", 5));
    expect_err(eh_check_string(&v, o, "$", "s", 1, &out),
               FILE_NAME ": $.s: must be a non-empty string without NUL bytes");
    ck_assert_ptr_null(out);
    json_decref(o);
}
END_TEST

START_TEST(url_accepts_https_and_loopback_http)
{
    url_ok("https://id.example.ee", 1);
    url_ok("https://id.example.ee/cb", 1);
    url_ok("https://id.example.ee:8443/a/b", 1);
    url_ok("https://id.example.ee/cb?x=1", 0);
    url_ok("http://127.0.0.1:8080/cb", 1);
    url_ok("http://127.1.2.3/cb", 1);
    url_ok("http://localhost/cb", 1);
    url_ok("http://[::1]:8080/cb", 1);
    /* numeric forms libcurl normalises to 127.0.0.1 */
    url_ok("http://2130706433/cb", 1);
    ck_assert_int_eq(eh_check_url(&v, "$.u", "https://a.ee", 0), EH_OK);
}
END_TEST

START_TEST(url_refuses_plain_http_to_remote_hosts)
{
    url_bad("http://id.example.ee/cb", 0);
    url_bad("http://10.0.0.1/cb", 0);
    url_bad("http://[::2]/cb", 0);
    url_bad("http://localhost.example.ee/cb", 0);
    url_bad("http://0.0.0.0/cb", 0);
}
END_TEST

START_TEST(url_refuses_loopback_lookalike_names)
{
    /* a DNS name that merely starts with "127." is anyone's host */
    url_bad("http://127.attacker.example/cb", 0);
    url_bad("http://127.0.0.1.attacker.example/cb", 0);
    url_bad("http://127.0.0.1%2eattacker.example/cb", 0);
}
END_TEST

START_TEST(url_refuses_other_shapes)
{
    const char *bad[] = {
        "",
        "id.example.ee",
        "/cb",
        "//id.example.ee/cb",
        "ftp://id.example.ee/",
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "https://",
        "https:cb",
        "https://id.example.ee/cb#frag",
        "https://id.example.ee/cb#",
        "https://user@id.example.ee/",
        "https://user:pw@id.example.ee/",
        "https://:pw@id.example.ee/",
        "https://@id.example.ee/",
        "https://a.ee\\@evil.example/",
        "https://id.example.ee/a b",
        "https://id.example.ee/\t",
        "https://id.example.ee/\x7f",
        "https://id.example.ee/\xc3\xb5",
        "https://id.example.ee/cb\r\nX: y",
        " https://id.example.ee/",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        url_bad(bad[i], 0);
}
END_TEST

START_TEST(url_query_refused_when_no_query)
{
    url_bad("https://id.example.ee/?x=1", 1);
    url_bad("https://id.example.ee/?", 1);
    ck_assert_int_eq(eh_check_url(&v, "$.u", "https://id.example.ee/?x=1", 1), EH_ERR_CONFIG);
    ck_assert_str_eq(err, FILE_NAME ": $.u: " URL_ERR " or query");
    url_ok("https://id.example.ee/?x=1", 0);
}
END_TEST

START_TEST(url_array_reads_and_checks_each)
{
    json_t *o = obj("{\"u\": [\"https://a.ee/cb\", \"http://127.0.0.1/cb\"], \"e\": [], "
                    "\"s\": \"https://a.ee\", \"m\": [\"https://a.ee/\", 3], "
                    "\"b\": [\"https://a.ee/\", \"https://a.ee/#f\"]}");
    char **out = NULL;
    size_t n = 99;

    ck_assert_int_eq(eh_check_url_array(&v, o, "$.rp", "u", 1, &out, &n), EH_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0], "https://a.ee/cb");
    ck_assert_str_eq(out[1], "http://127.0.0.1/cb");
    ck_assert_ptr_null(out[2]);
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);

    ck_assert_int_eq(eh_check_url_array(&v, o, "$.rp", "absent", 0, &out, &n), EH_OK);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(n, 0);
    expect_err(eh_check_url_array(&v, o, "$.rp", "absent", 1, &out, &n),
               FILE_NAME ": $.rp.absent: is required");
    expect_err(eh_check_url_array(&v, o, "$.rp", "e", 1, &out, &n),
               FILE_NAME ": $.rp.e: must be a non-empty array of URLs");
    /* optional and empty is fine */
    ck_assert_int_eq(eh_check_url_array(&v, o, "$.rp", "e", 0, &out, &n), EH_OK);
    ck_assert_uint_eq(n, 0);
    free(out);
    expect_err(eh_check_url_array(&v, o, "$.rp", "s", 0, &out, &n),
               FILE_NAME ": $.rp.s: must be an array of URLs");
    json_decref(o);
}
END_TEST

START_TEST(url_array_names_the_bad_item)
{
    json_t *o =
        obj("{\"m\": [\"https://a.ee/\", 3], \"b\": [\"https://a.ee/\", \"https://a.ee/#f\"]}");
    char **out = NULL;
    size_t n = 0;

    expect_err(eh_check_url_array(&v, o, "$.rp", "m", 1, &out, &n),
               FILE_NAME ": $.rp.m[1]: must be a string");
    /* on failure the caller frees the n entries read so far and the vector */
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);
    out = NULL;
    ck_assert_int_eq(eh_check_url_array(&v, o, "$.rp", "b", 1, &out, &n), EH_ERR_CONFIG);
    ck_assert_str_eq(err, FILE_NAME ": $.rp.b[1]: " URL_ERR);
    ck_assert_uint_eq(n, 1);
    for (size_t i = 0; i < n; i++)
        free(out[i]);
    free(out);
    json_decref(o);
}
END_TEST

START_TEST(uint_range)
{
    json_t *o = obj("{\"t\": 30, \"lo\": 0, \"hi\": 121, \"neg\": -1, \"f\": 3.0, \"s\": \"5\", "
                    "\"huge\": 9223372036854775807, \"b\": true, \"min\": 1, \"max\": 120}");
    unsigned out = 7;

    ck_assert_int_eq(eh_check_uint(&v, o, "$.mid", "t", 1, 120, &out), EH_OK);
    ck_assert_uint_eq(out, 30);
    ck_assert_int_eq(eh_check_uint(&v, o, "$.mid", "min", 1, 120, &out), EH_OK);
    ck_assert_uint_eq(out, 1);
    ck_assert_int_eq(eh_check_uint(&v, o, "$.mid", "max", 1, 120, &out), EH_OK);
    ck_assert_uint_eq(out, 120);
    out = 7;
    ck_assert_int_eq(eh_check_uint(&v, o, "$.mid", "absent", 1, 120, &out), EH_OK);
    ck_assert_uint_eq(out, 7);
    const char *bad[] = {"lo", "hi", "neg", "f", "s", "huge", "b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[256];
        snprintf(want, sizeof(want), FILE_NAME ": $.mid.%s: must be an integer from 1 to 120",
                 bad[i]);
        expect_err(eh_check_uint(&v, o, "$.mid", bad[i], 1, 120, &out), want);
        ck_assert_uint_eq(out, 7);
    }
    /* the whole unsigned range */
    json_decref(o);
    o = obj("{\"u\": 4294967295, \"over\": 4294967296}");
    ck_assert_int_eq(eh_check_uint(&v, o, "$", "u", 0, 4294967295u, &out), EH_OK);
    ck_assert_uint_eq(out, 4294967295u);
    ck_assert_int_eq(eh_check_uint(&v, o, "$", "over", 0, 4294967295u, &out), EH_ERR_CONFIG);
    json_decref(o);
}
END_TEST

START_TEST(resolve_relative_and_absolute)
{
    char *out = NULL;

    ck_assert_int_eq(eh_check_resolve("/etc/eidhub/broker.json", "keys/a.pem", &out), EH_OK);
    ck_assert_str_eq(out, "/etc/eidhub/keys/a.pem");
    free(out);
    ck_assert_int_eq(eh_check_resolve("/etc/eidhub/broker.json", "/srv/k.pem", &out), EH_OK);
    ck_assert_str_eq(out, "/srv/k.pem");
    free(out);
    ck_assert_int_eq(eh_check_resolve("/broker.json", "a.pem", &out), EH_OK);
    ck_assert_str_eq(out, "//a.pem");
    free(out);
    ck_assert_int_eq(eh_check_resolve("/etc/eidhub/broker.json", "../x/a.pem", &out), EH_OK);
    ck_assert_str_eq(out, "/etc/eidhub/../x/a.pem");
    free(out);
    /* the configuration path itself is left untouched */
    {
        char path[] = "/etc/eidhub/broker.json";
        ck_assert_int_eq(eh_check_resolve(path, "a", &out), EH_OK);
        ck_assert_str_eq(path, "/etc/eidhub/broker.json");
        free(out);
    }
}
END_TEST

Suite *suite_json_check(void)
{
    Suite *s = suite_create("json_check");
    TCase *tc = tcase_create("json_check");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, fail_formats_one_line);
    tcase_add_test(tc, fail_truncates_to_the_buffer);
    tcase_add_test(tc, members_refuses_unknown);
    tcase_add_test(tc, string_member);
    tcase_add_test(tc, url_accepts_https_and_loopback_http);
    tcase_add_test(tc, url_refuses_plain_http_to_remote_hosts);
    tcase_add_test(tc, url_refuses_loopback_lookalike_names);
    tcase_add_test(tc, url_refuses_other_shapes);
    tcase_add_test(tc, url_query_refused_when_no_query);
    tcase_add_test(tc, url_array_reads_and_checks_each);
    tcase_add_test(tc, url_array_names_the_bad_item);
    tcase_add_test(tc, uint_range);
    tcase_add_test(tc, resolve_relative_and_absolute);
    suite_add_tcase(s, tc);
    return s;
}
