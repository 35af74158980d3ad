#include "tests/unit/suites.h"

#include <stdio.h>
#include <string.h>

#include "broker/store.h"

START_TEST(bare_shm_url_is_64_mib)
{
    char err[256] = "stale";
    size_t size = 0;

    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://", &size, err, sizeof(err)), EH_OK);
    ck_assert_uint_eq(size, (size_t)64 * 1024 * 1024);
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(size_suffixes)
{
    static const struct {
        const char *url;
        unsigned long long size;
    } cases[] = {
        {"shm://?size=32m", 32ULL << 20},  {"shm://?size=32M", 32ULL << 20},
        {"shm://?size=1024k", 1ULL << 20}, {"shm://?size=2048K", 2ULL << 20},
        {"shm://?size=1g", 1ULL << 30},    {"shm://?size=64g", 64ULL << 30},
        {"shm://?size=64G", 64ULL << 30},  {"shm://?size=2097152", 2ULL << 20},
        {"SHM://?size=2m", 2ULL << 20},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256];
        size_t size = 0;
        eh_rc rc = eh_store_url_parse_shm_size(cases[i].url, &size, err, sizeof(err));
        ck_assert_msg(rc == EH_OK, "%s: %s", cases[i].url, err);
        ck_assert_msg(size == cases[i].size, "%s: got %zu", cases[i].url, size);
    }
}
END_TEST

START_TEST(junk_is_refused_with_a_message)
{
    static const char *const bad[] = {
        "shm:/",
        "redis://localhost",
        "shm://host",
        "shm:///",
        "shm://?",
        "shm://?size=",
        "shm://?size=m",
        "shm://?size=-1m",
        "shm://?size=+4m",
        "shm://?size= 4m",
        "shm://?size=4 m",
        "shm://?size=4mb",
        "shm://?size=4t",
        "shm://?size=4.5m",
        "shm://?size=0x400000",
        "shm://?size=4m&x=1",
        "shm://?sizes=4m",
        "shm://?SIZE=4m",
        "shm://?size=4m#frag",
        "shm://?size=99999999999999999999999999",
        "shm://?size=18446744073709551616",
        "",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        size_t size = 12345;
        eh_rc rc = eh_store_url_parse_shm_size(bad[i], &size, err, sizeof(err));
        ck_assert_msg(rc == EH_ERR_CONFIG, "\"%s\" was accepted (rc %d)", bad[i], rc);
        ck_assert_msg(strncmp(err, "store URL: ", 11) == 0, "\"%s\": message \"%s\"", bad[i], err);
        ck_assert_uint_eq(size, 12345);
    }
}
END_TEST

START_TEST(sizes_out_of_range_are_refused)
{
    char err[256];
    char url[64];
    size_t size;
    size_t min = eh_store_shm_min_size();

    snprintf(url, sizeof(url), "shm://?size=%zu", min - 1);
    ck_assert_int_eq(eh_store_url_parse_shm_size(url, &size, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "at least"));
    snprintf(url, sizeof(url), "shm://?size=%zu", min);
    ck_assert_int_eq(eh_store_url_parse_shm_size(url, &size, err, sizeof(err)), EH_OK);
    ck_assert_uint_eq(size, min);
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://?size=0", &size, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://?size=1k", &size, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://?size=65g", &size, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_int_eq(
        eh_store_url_parse_shm_size("shm://?size=68719476737", &size, err, sizeof(err)),
        EH_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "64g"));
    ck_assert_int_eq(
        eh_store_url_parse_shm_size("shm://?size=68719476736", &size, err, sizeof(err)), EH_OK);
}
END_TEST

START_TEST(null_arguments)
{
    size_t size;

    ck_assert_int_eq(eh_store_url_parse_shm_size(NULL, &size, NULL, 0), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://", NULL, NULL, 0), EH_ERR_INVALID);
    /* No room for a message is fine. */
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://x", &size, NULL, 0), EH_ERR_CONFIG);
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://", &size, NULL, 0), EH_OK);
}
END_TEST

START_TEST(message_is_cut_to_errlen)
{
    char err[8];

    memset(err, 'x', sizeof(err));
    ck_assert_int_eq(eh_store_url_parse_shm_size("shm://x", &(size_t){0}, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
}
END_TEST

Suite *suite_store_url(void)
{
    Suite *s = suite_create("store_url");
    TCase *tc = tcase_create("shm");

    tcase_add_test(tc, bare_shm_url_is_64_mib);
    tcase_add_test(tc, size_suffixes);
    tcase_add_test(tc, junk_is_refused_with_a_message);
    tcase_add_test(tc, sizes_out_of_range_are_refused);
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, message_is_cut_to_errlen);
    suite_add_tcase(s, tc);
    return s;
}
