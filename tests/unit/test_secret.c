#include "tests/unit/suites.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/secret.h"
#include "tests/unit/testutil.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
/* FIPS 180-2 appendix B.1: SHA-256("abc") */
#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* SHA-256 of the empty string */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* read_all returns the contents of path (caller frees) and its length. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *text = calloc(1, 4096);

    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(text);
    *len = fread(text, 1, 4095, f);
    fclose(f);
    return text;
}

/* join returns dir/name (caller frees). */
static char *join(const char *dir, const char *name)
{
    char *path = NULL;
    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    return path;
}

START_TEST(sha256_hex_vectors)
{
    char hex[EH_SHA256_HEX_SIZE];

    memset(hex, 'x', sizeof(hex));
    ck_assert_int_eq(eh_secret_sha256_hex("abc", hex), EH_OK);
    ck_assert_str_eq(hex, ABC_SHA256);
    ck_assert_int_eq(eh_secret_sha256_hex("", hex), EH_OK);
    ck_assert_str_eq(hex, EMPTY_SHA256);
}
END_TEST

START_TEST(matches_only_the_right_secret)
{
    char upper[65];

    ck_assert(eh_secret_matches("abc", ABC_SHA256));
    ck_assert(eh_secret_matches("", EMPTY_SHA256));
    ck_assert(!eh_secret_matches("abd", ABC_SHA256));
    ck_assert(!eh_secret_matches("abc ", ABC_SHA256));
    ck_assert(!eh_secret_matches("ABC", ABC_SHA256));
    /* the registered digest is lowercase (the configuration refuses any
     * other form), so an uppercase one never matches */
    for (size_t i = 0; i < 65; i++)
        upper[i] = (char)toupper((unsigned char)ABC_SHA256[i]);
    ck_assert(!eh_secret_matches("abc", upper));
    /* wrong lengths: truncated, extended, empty */
    ck_assert(!eh_secret_matches(
        "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"));
    ck_assert(!eh_secret_matches("abc", ABC_SHA256 "0"));
    ck_assert(!eh_secret_matches("abc", ""));
    /* the secret is never compared with the digest itself */
    ck_assert(!eh_secret_matches(ABC_SHA256, ABC_SHA256));
}
END_TEST

START_TEST(new_secret_is_random_base64url)
{
    char *a = NULL, *b = NULL;
    ck_assert_int_eq(eh_secret_new(&a), EH_OK);
    ck_assert_int_eq(eh_secret_new(&b), EH_OK);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strspn(a, B64URL), 43);
    ck_assert_str_ne(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(secret_file_is_private_and_well_formed)
{
    char *dir = eh_test_tmpdir(), *p1 = join(dir, "one.secret"), *p2 = join(dir, "two.secret");
    char err[256] = "";
    char *t1, *t2;
    size_t l1, l2;
    struct stat st;
    mode_t old = umask(0); /* the file must be 0600 whatever the umask */

    ck_assert_int_eq(eh_secret_file_create(p1, err, sizeof(err)), EH_OK);
    umask(old);
    ck_assert_int_eq(eh_secret_file_create(p2, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(stat(p1, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    t1 = read_all(p1, &l1);
    t2 = read_all(p2, &l2);
    /* 32 random bytes in base64url and one newline */
    ck_assert_uint_eq(l1, 44);
    ck_assert_uint_eq(strspn(t1, B64URL), 43);
    ck_assert_int_eq(t1[43], '\n');
    ck_assert_uint_eq(l2, 44);
    ck_assert_str_ne(t1, t2);
    free(t1);
    free(t2);
    free(p1);
    free(p2);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(secret_file_never_overwrites)
{
    char *dir = eh_test_tmpdir(), *path = eh_test_write(dir, "subject.secret", "keep me\n");
    char *link = join(dir, "link.secret"), *target = join(dir, "target");
    char err[256] = "", *text;
    size_t len;
    struct stat st;

    ck_assert_int_eq(eh_secret_file_create(path, err, sizeof(err)), EH_ERR_IO);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "error does not name the file: %s", err);
    ck_assert_ptr_null(strchr(err, '\n'));
    text = read_all(path, &len);
    ck_assert_str_eq(text, "keep me\n");
    free(text);
    /* a dangling symlink is not followed: nothing appears at its target */
    ck_assert_int_eq(symlink(target, link), 0);
    ck_assert_int_eq(eh_secret_file_create(link, err, sizeof(err)), EH_ERR_IO);
    ck_assert_int_ne(stat(target, &st), 0);
    free(link);
    free(target);
    free(path);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(secret_file_in_missing_folder)
{
    char err[256] = "";
    ck_assert_int_eq(eh_secret_file_create("/nonexistent-eh/dir/x.secret", err, sizeof(err)),
                     EH_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-eh/dir/x.secret: "));
}
END_TEST

Suite *suite_secret(void)
{
    Suite *s = suite_create("secret");
    TCase *tc = tcase_create("secret");
    tcase_add_test(tc, sha256_hex_vectors);
    tcase_add_test(tc, matches_only_the_right_secret);
    tcase_add_test(tc, new_secret_is_random_base64url);
    tcase_add_test(tc, secret_file_is_private_and_well_formed);
    tcase_add_test(tc, secret_file_never_overwrites);
    tcase_add_test(tc, secret_file_in_missing_folder);
    suite_add_tcase(s, tc);
    return s;
}
