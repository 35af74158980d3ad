#include "tests/unit/suites.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/i18n.h"

/* Keys the code looks up, including the ones it builds ("mid_" + a
 * Mobile-ID result): a key missing from the catalog would show the citizen
 * the key itself. The whole catalog, whatever is added to it, is checked by
 * every_catalog_entry_has_both_texts, which reads it from the source. */
static const char *const keys[] = {
    "brand",
    "error_title",
    "bad_request",
    "session_expired",
    "forbidden",
    "store_unavailable",
    "try_again",
    "cancel",
    "login_title",
    "login_to",
    "choose_method",
    "no_method",
    "method_mobile_id",
    "mid_title",
    "mid_phone",
    "mid_code",
    "mid_submit",
    "mid_bad_phone",
    "mid_bad_code",
    "mid_rate_limited",
    "mid_verification_code",
    "mid_check_phone",
    "mid_waiting",
    "mid_USER_CANCELLED",
    "mid_TIMEOUT",
    "mid_NOT_MID_CLIENT",
    "mid_PHONE_ABSENT",
    "mid_DELIVERY_ERROR",
    "mid_SIM_ERROR",
    "mid_SIGNATURE_HASH_MISMATCH",
    "mid_verify_failed",
    "mid_unavailable",
};

/* Texts that are the same in both languages on purpose. */
static int same_in_both(const char *key)
{
    /* names of products are the same in every language */
    return strcmp(key, "brand") == 0 || strcmp(key, "method_smart_id") == 0;
}

/* pick_req returns the locale of a request with Accept-Language value (or
 * none when value is NULL). */
static const char *pick_req(const char *value)
{
    eh_http_header h[] = {{"Accept-Language", value}};
    eh_http_request req = {.headers = h, .n_headers = value != NULL};
    return eh_i18n_locale_of_request(&req);
}

START_TEST(lookup_in_both_languages)
{
    ck_assert_str_eq(eh_i18n("en", "login_title"), "Log in");
    ck_assert_str_eq(eh_i18n("et", "login_title"), "Sisselogimine");
    ck_assert_str_eq(eh_i18n("en", "mid_code"), "Personal identification code");
    ck_assert_str_eq(eh_i18n("et", "mid_code"), "Isikukood");
}
END_TEST

START_TEST(other_locales_are_english)
{
    ck_assert_str_eq(eh_i18n("fr", "login_title"), "Log in");
    ck_assert_str_eq(eh_i18n(NULL, "login_title"), "Log in");
    ck_assert_str_eq(eh_i18n("", "login_title"), "Log in");
    ck_assert_str_eq(eh_i18n("ET", "login_title"), "Log in");
    ck_assert_str_eq(eh_i18n("et-EE", "login_title"), "Log in");
}
END_TEST

START_TEST(unknown_key_returns_itself)
{
    ck_assert_str_eq(eh_i18n("et", "no_such_key"), "no_such_key");
    ck_assert_str_eq(eh_i18n("en", ""), "");
    ck_assert_str_eq(eh_i18n("en", "<script>"), "<script>");
    /* keys match whole, not as prefixes */
    ck_assert_str_eq(eh_i18n("en", "mid_"), "mid_");
    ck_assert_str_eq(eh_i18n("en", "login_titles"), "login_titles");
}
END_TEST

START_TEST(every_key_has_both_texts)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *en = eh_i18n("en", keys[i]), *et = eh_i18n("et", keys[i]);
        ck_assert_ptr_nonnull(en);
        ck_assert_ptr_nonnull(et);
        ck_assert_msg(en[0] != '\0' && et[0] != '\0', "%s: empty text", keys[i]);
        ck_assert_msg(strcmp(en, keys[i]) != 0, "%s: not in the catalog", keys[i]);
        ck_assert_msg(same_in_both(keys[i]) || strcmp(en, et) != 0, "%s: not translated", keys[i]);
    }
}
END_TEST

/* catalog_keys reads the keys of the catalog from broker/i18n.c itself
 * (every entry starts a line with {"key",), so that a key added there is
 * checked here without being listed twice. Returns their number. */
static size_t catalog_keys(char keys_out[][64], size_t max)
{
    char path[4096], line[1024], *cut;
    FILE *f;
    int in_catalog = 0;
    size_t n = 0;

    /* the source tree is where EH_TEST_FIXTURES (…/tests/fixtures) is */
    snprintf(path, sizeof(path), "%s", EH_TEST_FIXTURES);
    cut = strstr(path, "tests/fixtures");
    ck_assert_ptr_nonnull(cut);
    snprintf(cut, sizeof(path) - (size_t)(cut - path), "broker/i18n.c");
    f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = line;
        size_t len;
        if (strstr(line, "catalog[] = {") != NULL) {
            in_catalog = 1;
            continue;
        }
        if (!in_catalog)
            continue;
        if (strncmp(line, "};", 2) == 0)
            break;
        while (*p == ' ')
            p++;
        if (strncmp(p, "{\"", 2) != 0)
            continue;
        p += 2;
        len = strcspn(p, "\"");
        ck_assert_uint_lt(len, 64);
        ck_assert_uint_lt(n, max);
        memcpy(keys_out[n], p, len);
        keys_out[n][len] = '\0';
        n++;
    }
    fclose(f);
    return n;
}

START_TEST(every_catalog_entry_has_both_texts)
{
    static char found[256][64];
    size_t n = catalog_keys(found, 256);

    ck_assert_uint_ge(n, sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < n; i++) {
        const char *en = eh_i18n("en", found[i]), *et = eh_i18n("et", found[i]);
        ck_assert_msg(strcmp(en, found[i]) != 0 || strcmp(et, found[i]) != 0,
                      "%s: read from the source but not found", found[i]);
        ck_assert_msg(en[0] != '\0' && et[0] != '\0', "%s: empty text", found[i]);
        ck_assert_msg(!isspace((unsigned char)en[0]) && !isspace((unsigned char)et[0]),
                      "%s: text starts with a space", found[i]);
        ck_assert_msg(same_in_both(found[i]) || strcmp(en, et) != 0, "%s: not translated",
                      found[i]);
        /* one entry per key: a second one would never be reached */
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(found[i], found[j]) != 0, "%s: listed twice", found[i]);
    }
    /* the hand-written list above is all in the catalog */
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        size_t j = 0;
        while (j < n && strcmp(found[j], keys[k]) != 0)
            j++;
        ck_assert_msg(j < n, "%s: not in the catalog", keys[k]);
    }
}
END_TEST

START_TEST(pick_first_supported)
{
    ck_assert_str_eq(eh_i18n_pick("fr et-EE en"), "et");
    ck_assert_str_eq(eh_i18n_pick("fr en et"), "en");
    ck_assert_str_eq(eh_i18n_pick("et"), "et");
    ck_assert_str_eq(eh_i18n_pick("EN-gb"), "en");
    ck_assert_str_eq(eh_i18n_pick("fi,,  ET"), "et");
    /* the returned names are the static supported ones */
    ck_assert_str_eq(eh_i18n_pick("et-EE"), "et");
}
END_TEST

START_TEST(pick_ignores_q_values)
{
    /* the first listed supported locale wins, whatever its weight */
    ck_assert_str_eq(eh_i18n_pick("en-GB;q=0.8, et;q=0.9"), "en");
    ck_assert_str_eq(eh_i18n_pick("de-DE,de;q=0.9,et;q=0.8,en;q=0.7"), "et");
    ck_assert_str_eq(eh_i18n_pick("fr;q=1.0, en;q=0.5"), "en");
    /* a parameter is never read as a language */
    ck_assert_ptr_null(eh_i18n_pick("fr;et=1"));
    ck_assert_ptr_null(eh_i18n_pick("fr;q=et"));
}
END_TEST

START_TEST(pick_refuses_garbage)
{
    const char *bad[] = {"",        " ",      ",,,",       ";;;", "e",    "eng",
                         "english", "etc",    "eten",      "*",   "x-et", "fr",
                         "q=0.9",   ";q=0.8", "\xc3\xb5t", "e t", "-et"};
    ck_assert_ptr_null(eh_i18n_pick(NULL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(eh_i18n_pick(bad[i]) == NULL, "picked from \"%s\"", bad[i]);
}
END_TEST

START_TEST(pick_survives_long_input)
{
    size_t n = 100000;
    char *s = malloc(n + 4);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        s[i] = "fr;q=0.1, "[i % 10];
    memcpy(s + n, " et", 4);
    ck_assert_str_eq(eh_i18n_pick(s), "et");
    s[n] = '\0';
    ck_assert_ptr_null(eh_i18n_pick(s));
    free(s);
}
END_TEST

START_TEST(locale_of_request)
{
    ck_assert_str_eq(pick_req(NULL), "en");
    ck_assert_str_eq(pick_req("et-EE,et;q=0.9,en;q=0.8"), "et");
    ck_assert_str_eq(pick_req("ru-RU,ru;q=0.9"), "en");
    ck_assert_str_eq(pick_req(""), "en");
}
END_TEST

Suite *suite_i18n(void)
{
    Suite *s = suite_create("i18n");
    TCase *tc = tcase_create("i18n");
    tcase_add_test(tc, lookup_in_both_languages);
    tcase_add_test(tc, other_locales_are_english);
    tcase_add_test(tc, unknown_key_returns_itself);
    tcase_add_test(tc, every_key_has_both_texts);
    tcase_add_test(tc, every_catalog_entry_has_both_texts);
    tcase_add_test(tc, pick_first_supported);
    tcase_add_test(tc, pick_ignores_q_values);
    tcase_add_test(tc, pick_refuses_garbage);
    tcase_add_test(tc, pick_survives_long_input);
    tcase_add_test(tc, locale_of_request);
    suite_add_tcase(s, tc);
    return s;
}
