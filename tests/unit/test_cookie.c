#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/cookie.h"

/* get looks name up in a request with the given Cookie header values (and
 * an unrelated header), expecting want; returns the value (caller frees). */
static char *get(const char *name, eh_rc want, const char *c1, const char *c2)
{
    eh_http_header h[3] = {{"Accept", "text/html"}, {"Cookie", c1}, {"cookie", c2}};
    eh_http_request req = {.headers = h, .n_headers = c1 == NULL ? 1 : c2 == NULL ? 2 : 3};
    char *v = (char *)"unset";
    ck_assert_int_eq(eh_cookie_get(&req, name, &v), want);
    if (want != EH_OK)
        ck_assert_ptr_null(v);
    return v;
}

/* expect checks that name has value in the given headers. */
static void expect(const char *name, const char *value, const char *c1, const char *c2)
{
    char *v = get(name, EH_OK, c1, c2);
    ck_assert_str_eq(v, value);
    free(v);
}

/* set_header returns the Set-Cookie header eh_cookie_set makes (caller
 * frees), or NULL when it refuses with want. */
static char *set_header(const char *name, const char *value, int max_age, int secure, eh_rc want)
{
    eh_http_response resp;
    char *h = NULL;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_cookie_set(&resp, name, value, max_age, secure), want);
    if (want == EH_OK) {
        ck_assert_ptr_nonnull(eh_http_response_header_get(&resp, "Set-Cookie"));
        h = strdup(eh_http_response_header_get(&resp, "Set-Cookie"));
    } else {
        ck_assert_uint_eq(resp.n_headers, 0);
    }
    eh_http_response_free(&resp);
    return h;
}

START_TEST(parses_several_cookies)
{
    expect("a", "1", "a=1; b=2; c=3", NULL);
    expect("b", "2", "a=1; b=2; c=3", NULL);
    expect("c", "3", "a=1; b=2; c=3", NULL);
    expect("b", "2", "a=1;b=2;c=3", NULL);
    /* across two Cookie headers (HTTP/2 splits them), names case-insensitive */
    expect("b", "2", "a=1", "b=2");
    expect("a", "1", "a=1", "b=2");
    /* values may hold '=' (base64 padding) */
    expect("a", "x=y==", "a=x=y==", NULL);
    expect("a", "", "a=; b=2", NULL);
}
END_TEST

START_TEST(tolerates_whitespace)
{
    expect("b", "2", "a=1;   b=2 ;\tc=3", NULL);
    expect("a", "1", "  a=1  ", NULL);
    expect("c", "3", "a=1;\t c=3\t", NULL);
}
END_TEST

START_TEST(names_match_exactly)
{
    /* a longer or shorter name, or another case, is another cookie */
    ck_assert_ptr_null(get("eidhub_txn", EH_ERR_NOT_FOUND, "eidhub_txnX=1; xeidhub_txn=2", NULL));
    ck_assert_ptr_null(get("eidhub_txn", EH_ERR_NOT_FOUND, "EIDHUB_TXN=1; eidhub_tx=2", NULL));
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, "b=a=1", NULL));
    /* a name without '=' is no cookie of that name */
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, "a; a ;b=1", NULL));
    expect("eidhub_txn", "v", "eidhub_txnX=1; eidhub_txn=v", NULL);
}
END_TEST

START_TEST(missing_cookie)
{
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, NULL, NULL));
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, "", NULL));
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, ";;; ;", NULL));
    ck_assert_ptr_null(get("a", EH_ERR_NOT_FOUND, "b=1", "c=2"));
}
END_TEST

START_TEST(duplicate_is_invalid)
{
    /* an attacker who can plant a second cookie (a sibling subdomain) must
     * not get to choose which copy counts */
    ck_assert_ptr_null(get("a", EH_ERR_INVALID, "a=1; a=2", NULL));
    ck_assert_ptr_null(get("a", EH_ERR_INVALID, "a=1; a=1", NULL));
    ck_assert_ptr_null(get("a", EH_ERR_INVALID, "a=1", "a=2"));
    ck_assert_ptr_null(get("a", EH_ERR_INVALID, "b=0", "x=1; a=2; a=3"));
}
END_TEST

START_TEST(oversized_value_is_invalid)
{
    char cookie[EH_COOKIE_VALUE_MAX + 16], *v;

    memcpy(cookie, "a=", 2);
    memset(cookie + 2, 'v', EH_COOKIE_VALUE_MAX);
    cookie[2 + EH_COOKIE_VALUE_MAX] = '\0';
    v = get("a", EH_OK, cookie, NULL);
    ck_assert_uint_eq(strlen(v), EH_COOKIE_VALUE_MAX);
    free(v);
    strcat(cookie, "v");
    ck_assert_ptr_null(get("a", EH_ERR_INVALID, cookie, NULL));
    /* huge */
    {
        size_t n = 1 << 20;
        char *big = malloc(n + 3);
        ck_assert_ptr_nonnull(big);
        memcpy(big, "a=", 2);
        memset(big + 2, 'v', n);
        big[n + 2] = '\0';
        ck_assert_ptr_null(get("a", EH_ERR_INVALID, "b=1", big));
        free(big);
    }
}
END_TEST

START_TEST(set_makes_a_safe_cookie)
{
    char *h = set_header("eidhub_txn", "abc-_123", 900, 0, EH_OK);
    ck_assert_str_eq(h, "eidhub_txn=abc-_123; Path=/; Max-Age=900; HttpOnly; SameSite=Lax");
    free(h);
    h = set_header("eidhub_txn", "abc", 900, 1, EH_OK);
    ck_assert_str_eq(h, "eidhub_txn=abc; Path=/; Max-Age=900; HttpOnly; SameSite=Lax; Secure");
    free(h);
    /* Max-Age=0 deletes */
    h = set_header("eidhub_txn", "", 0, 1, EH_OK);
    ck_assert_str_eq(h, "eidhub_txn=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    free(h);
}
END_TEST

START_TEST(set_refuses_unsafe_values)
{
    const char *bad[] = {"a;b",
                         "a,b",
                         "a b",
                         "a\"b",
                         "a\\b",
                         "a\rb",
                         "a\nb",
                         "a\tb",
                         "x; Domain=evil.example",
                         "x\r\nSet-Cookie: y=1",
                         "\"quoted\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_ptr_null(set_header("a", bad[i], 10, 1, EH_ERR_INVALID));
}
END_TEST

START_TEST(set_refuses_values_too_long)
{
    char value[EH_COOKIE_VALUE_MAX + 300];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    ck_assert_ptr_null(set_header("a", value, 10, 1, EH_ERR_TOO_LARGE));
}
END_TEST

START_TEST(set_then_get_round_trip)
{
    char *h = set_header("eidhub_txn", "Zm9vYmFy_-", 60, 1, EH_OK);
    /* what a browser sends back: the pair before the first ';' */
    char *semi = strchr(h, ';');
    *semi = '\0';
    expect("eidhub_txn", "Zm9vYmFy_-", "other=1", h);
    free(h);
}
END_TEST

Suite *suite_cookie(void)
{
    Suite *s = suite_create("cookie");
    TCase *tc = tcase_create("cookie");
    tcase_add_test(tc, parses_several_cookies);
    tcase_add_test(tc, tolerates_whitespace);
    tcase_add_test(tc, names_match_exactly);
    tcase_add_test(tc, missing_cookie);
    tcase_add_test(tc, duplicate_is_invalid);
    tcase_add_test(tc, oversized_value_is_invalid);
    tcase_add_test(tc, set_makes_a_safe_cookie);
    tcase_add_test(tc, set_refuses_unsafe_values);
    tcase_add_test(tc, set_refuses_values_too_long);
    tcase_add_test(tc, set_then_get_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
