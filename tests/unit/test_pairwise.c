#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "attributes/pairwise.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* A 32-byte secret, the shortest accepted. */
static const unsigned char secret[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN (sizeof(secret) - 1)

/* sub computes a pairwise subject with the test secret, expecting EH_OK. */
static char *sub(const char *sector, const char *subject)
{
    char *out = NULL;
    ck_assert_int_eq(eh_pairwise_subject(secret, SECRET_LEN, sector, subject, &out), EH_OK);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(matches_independent_vectors)
{
    /* Computed outside eidhub with the OpenSSL command line, padding '='
     * dropped:
     *   printf 'https://portal.example\0EE38001085718' \
     *     | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary \
     *     | basenc --base64url
     *   -> t2RBnf-GtCGNzitkgQZ1erOlOBgJq3Yamq51Ey27_4U=
     * and, with a 70-byte key (longer than SHA-256's block, so HMAC hashes it
     * first), K=$(printf 'k%.0s' $(seq 70)):
     *   printf 'urn:sector:b\0EE49002124277' \
     *     | openssl dgst -sha256 -hmac "$K" -binary | basenc --base64url
     *   -> pKpUNO8B_PYVU7HIf0Ww4BWw5qihpUdGvN8vE5JzcHc= */
    unsigned char long_secret[70];
    char *s = sub("https://portal.example", "EE38001085718");

    ck_assert_str_eq(s, "t2RBnf-GtCGNzitkgQZ1erOlOBgJq3Yamq51Ey27_4U");
    free(s);
    memset(long_secret, 'k', sizeof(long_secret));
    s = NULL;
    ck_assert_int_eq(
        eh_pairwise_subject(long_secret, sizeof(long_secret), "urn:sector:b", "EE49002124277", &s),
        EH_OK);
    ck_assert_str_eq(s, "pKpUNO8B_PYVU7HIf0Ww4BWw5qihpUdGvN8vE5JzcHc");
    free(s);
}
END_TEST

START_TEST(deterministic_and_base64url)
{
    char *a = sub("https://portal.example", "EE38001085718");
    char *b = sub("https://portal.example", "EE38001085718");
    ck_assert_str_eq(a, b);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strspn(a, B64URL), 43);
    /* never the subject itself, nor containing it */
    ck_assert_ptr_null(strstr(a, "38001085718"));
    free(a);
    free(b);
}
END_TEST

START_TEST(differs_per_sector_subject_and_secret)
{
    unsigned char other[SECRET_LEN];
    char *base = sub("https://a.example", "EE38001085718");
    char *s2 = sub("https://b.example", "EE38001085718");
    char *s3 = sub("https://a.example", "EE38001085729");
    char *s4 = NULL;

    ck_assert_str_ne(base, s2);
    ck_assert_str_ne(base, s3);
    memcpy(other, secret, SECRET_LEN);
    other[0] ^= 1;
    ck_assert_int_eq(
        eh_pairwise_subject(other, SECRET_LEN, "https://a.example", "EE38001085718", &s4), EH_OK);
    ck_assert_str_ne(base, s4);
    free(base);
    free(s2);
    free(s3);
    free(s4);
}
END_TEST

START_TEST(separator_keeps_sector_and_subject_apart)
{
    /* without the 0x00 between them, ("ab", "c") and ("a", "bc") would
     * share a subject */
    char *a = sub("ab", "c"), *b = sub("a", "bc");
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(refuses_bad_input)
{
    char *out = NULL;

    ck_assert_int_eq(eh_pairwise_subject(secret, SECRET_LEN - 1, "s", "EE1", &out), EH_ERR_INVALID);
    ck_assert_int_eq(eh_pairwise_subject(secret, 0, "s", "EE1", &out), EH_ERR_INVALID);
    ck_assert_int_eq(eh_pairwise_subject(secret, SECRET_LEN, "", "EE1", &out), EH_ERR_INVALID);
    ck_assert_int_eq(eh_pairwise_subject(secret, SECRET_LEN, "s", "", &out), EH_ERR_INVALID);
    ck_assert_ptr_null(out);
}
END_TEST

Suite *suite_pairwise(void)
{
    Suite *s = suite_create("pairwise");
    TCase *tc = tcase_create("pairwise");
    tcase_add_test(tc, matches_independent_vectors);
    tcase_add_test(tc, deterministic_and_base64url);
    tcase_add_test(tc, differs_per_sector_subject_and_secret);
    tcase_add_test(tc, separator_keeps_sector_and_subject_apart);
    tcase_add_test(tc, refuses_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
