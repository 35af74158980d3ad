#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/random.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define N_TOKENS 1000

/* is_b64url43 tells whether s is 43 base64url characters (32 bytes, no
 * padding). */
static int is_b64url43(const char *s)
{
    return strlen(s) == 43 && strspn(s, B64URL) == 43;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(token_is_43_base64url_characters)
{
    for (int i = 0; i < 100; i++) {
        char *t = NULL;
        ck_assert_int_eq(eh_random_token(&t), EH_OK);
        ck_assert_msg(is_b64url43(t), "bad token %s", t);
        free(t);
    }
}
END_TEST

START_TEST(tokens_are_unique)
{
    char **t = calloc(N_TOKENS, sizeof(char *));
    ck_assert_ptr_nonnull(t);
    for (int i = 0; i < N_TOKENS; i++)
        ck_assert_int_eq(eh_random_token(&t[i]), EH_OK);
    qsort(t, N_TOKENS, sizeof(char *), cmp_str);
    for (int i = 1; i < N_TOKENS; i++)
        ck_assert_str_ne(t[i - 1], t[i]);
    for (int i = 0; i < N_TOKENS; i++)
        free(t[i]);
    free(t);
}
END_TEST

START_TEST(tokens_use_the_whole_alphabet)
{
    /* 1000 tokens hold 43000 characters: every one of the 64 appears (a
     * generator stuck on a few values, or a hex or standard base64 alphabet,
     * would not). The chance of a miss by bad luck is below 1e-280. */
    int seen[256] = {0};
    for (int i = 0; i < N_TOKENS; i++) {
        char *t = NULL;
        ck_assert_int_eq(eh_random_token(&t), EH_OK);
        for (const char *p = t; *p; p++)
            seen[(unsigned char)*p] = 1;
        free(t);
    }
    for (const char *c = B64URL; *c; c++)
        ck_assert_msg(seen[(unsigned char)*c], "'%c' never drawn", *c);
    ck_assert(!seen['+'] && !seen['/'] && !seen['=']);
}
END_TEST

START_TEST(random_bytes_differ)
{
    unsigned char a[32] = {0}, b[32] = {0};
    ck_assert_int_eq(eh_random_bytes(a, sizeof(a)), EH_OK);
    ck_assert_int_eq(eh_random_bytes(b, sizeof(b)), EH_OK);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(eh_random_bytes(a, 0), EH_OK);
}
END_TEST

START_TEST(digest_is_stable_and_hides_the_token)
{
    char *t = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL;

    ck_assert_int_eq(eh_random_token(&t), EH_OK);
    ck_assert_int_eq(eh_token_digest(t, &d1), EH_OK);
    ck_assert_int_eq(eh_token_digest(t, &d2), EH_OK);
    ck_assert_str_eq(d1, d2);
    ck_assert_str_ne(d1, t);
    ck_assert(is_b64url43(d1));
    /* one character more gives another digest */
    t[42] = t[42] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(eh_token_digest(t, &d3), EH_OK);
    ck_assert_str_ne(d1, d3);
    free(t);
    free(d1);
    free(d2);
    free(d3);
}
END_TEST

START_TEST(digest_is_sha256_base64url)
{
    /* printf abc | openssl dgst -sha256 -binary | basenc --base64url */
    char *d = NULL;
    ck_assert_int_eq(eh_token_digest("abc", &d), EH_OK);
    ck_assert_str_eq(d, "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    free(d);
    ck_assert_int_eq(eh_token_digest("", &d), EH_OK);
    ck_assert_str_eq(d, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    free(d);
}
END_TEST

START_TEST(token_equal)
{
    ck_assert(eh_token_equal("abc", "abc"));
    ck_assert(eh_token_equal("", ""));
    ck_assert(!eh_token_equal("abc", "abd"));
    ck_assert(!eh_token_equal("abc", "Abc"));
    ck_assert(!eh_token_equal("abc", "abcd"));
    ck_assert(!eh_token_equal("abcd", "abc"));
    ck_assert(!eh_token_equal("", "a"));
    ck_assert(!eh_token_equal("a", ""));
}
END_TEST

Suite *suite_random(void)
{
    Suite *s = suite_create("random");
    TCase *tc = tcase_create("random");
    tcase_add_test(tc, token_is_43_base64url_characters);
    tcase_add_test(tc, tokens_are_unique);
    tcase_add_test(tc, tokens_use_the_whole_alphabet);
    tcase_add_test(tc, random_bytes_differ);
    tcase_add_test(tc, digest_is_stable_and_hides_the_token);
    tcase_add_test(tc, digest_is_sha256_base64url);
    tcase_add_test(tc, token_equal);
    suite_add_tcase(s, tc);
    return s;
}
