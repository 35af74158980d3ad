#include "tests/unit/suites.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/config.h"
#include "policies/policy_store.h"
#include "tests/unit/testutil.h"

#define AGE_ONLY "{\"release\": [\"age_over_18\"], \"release_always\": [\"age_over_18\"]}"
#define NAMES "{\"profile\": \"basic\", \"consent\": true}"

static char *dir;
static eh_policy_store *ps;

static void setup(void)
{
    char err[256];
    dir = eh_test_tmpdir();
    ck_assert_msg(eh_policy_store_open(dir, &ps, err, sizeof(err)) == EH_OK, "%s", err);
}

static void teardown(void)
{
    eh_policy_store_free(ps);
    ps = NULL;
    eh_test_rmtree(dir);
    free(dir);
}

static json_t *doc(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

/* save_text saves text on top of base and returns the rc (version in *v). */
static eh_rc save_text(const char *name, int base, const char *text, int *v, char *err,
                       size_t errlen)
{
    json_t *d = doc(text);
    eh_rc rc = eh_policy_store_save(ps, name, base, d, "alice", "because", v, err, errlen);
    json_decref(d);
    return rc;
}

static int exists(const char *sub)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    return stat(path, &st) == 0;
}

/* count_entries counts the entries of dir/sub other than . and .. */
static int count_entries(const char *sub)
{
    char path[1024];
    struct dirent *de;
    DIR *d;
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    d = opendir(path);
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

START_TEST(fallback_then_saved_versions)
{
    char err[256];
    eh_policy *p = NULL;
    int v = 0;

    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 0);
    ck_assert_uint_eq(json_array_size(p->release), 2);
    eh_policy_free(p);
    ck_assert_int_eq(eh_policy_store_current_version(ps, "portal", &v), EH_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", NULL, &p), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "no-such-profile", &p),
                     EH_ERR_NOT_FOUND);

    ck_assert_msg(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(v, 1);
    ck_assert(exists("portal/1.json"));
    ck_assert_int_eq(count_entries("portal"), 1); /* no temporary file left */
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 1);
    ck_assert_str_eq(p->name, "portal");
    ck_assert_uint_eq(json_array_size(p->release), 1);
    ck_assert_str_eq(json_string_value(json_array_get(p->release, 0)), "age_over_18");
    eh_policy_free(p);

    ck_assert_msg(save_text("portal", 1, NAMES, &v, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(eh_policy_store_current_version(ps, "portal", &v), EH_OK);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 2);
    ck_assert_int_eq(p->consent, 1);
    eh_policy_free(p);
}
END_TEST

START_TEST(file_holds_document_and_meta)
{
    char err[256], path[1024];
    json_t *record, *meta, *expected;
    int v = 0;

    ck_assert_int_eq(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)), EH_OK);
    snprintf(path, sizeof(path), "%s/portal/1.json", dir);
    record = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(record);
    expected = doc(AGE_ONLY);
    ck_assert(json_equal(json_object_get(record, "document"), expected));
    json_decref(expected);
    meta = json_object_get(record, "meta");
    ck_assert_int_eq(json_integer_value(json_object_get(meta, "version")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(meta, "by")), "alice");
    ck_assert_str_eq(json_string_value(json_object_get(meta, "why")), "because");
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(meta, "at"))), 20);
    ck_assert_int_eq(json_object_size(record), 2);
    json_decref(record);
}
END_TEST

START_TEST(stale_base_and_invalid_documents_are_refused)
{
    char err[256];
    int v = 0;

    ck_assert_int_eq(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(save_text("portal", 0, NAMES, &v, err, sizeof(err)), EH_ERR_CONFLICT);
    ck_assert_int_eq(save_text("portal", 5, NAMES, &v, err, sizeof(err)), EH_ERR_CONFLICT);
    ck_assert_int_eq(save_text("portal", 1, "{\"release\": [\"shoe_size\"]}", &v, err, sizeof(err)),
                     EH_ERR_INVALID);
    ck_assert_msg(strncmp(err, "$.release[0]", 12) == 0, "%s", err);
    ck_assert_int_eq(save_text("portal", 1, "{\"relase\": []}", &v, err, sizeof(err)),
                     EH_ERR_INVALID);
    ck_assert_msg(strstr(err, "$.relase") != NULL, "%s", err);
    ck_assert(!exists("portal/2.json"));
    ck_assert_int_eq(count_entries("portal"), 1);
    ck_assert_int_eq(eh_policy_store_current_version(ps, "portal", &v), EH_OK);
    ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(versions_history_and_profile_version)
{
    char err[256];
    eh_policy *p = NULL;
    json_t *meta = NULL, *history = NULL;
    int v = 0;

    ck_assert_int_eq(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(save_text("portal", 1, NAMES, &v, err, sizeof(err)), EH_OK);

    ck_assert_int_eq(eh_policy_store_version(ps, "portal", 1, &p), EH_OK);
    ck_assert_int_eq(p->version, 1);
    ck_assert_uint_eq(json_array_size(p->release_always), 1);
    eh_policy_free(p);
    ck_assert_int_eq(eh_policy_store_version(ps, "portal", 3, &p), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(eh_policy_store_version(ps, "portal", 0, &p), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_policy_store_version(ps, "nobody", 1, &p), EH_ERR_NOT_FOUND);

    ck_assert_int_eq(eh_policy_store_read(ps, "portal", 0, "basic", &p, &meta), EH_OK);
    ck_assert_int_eq(p->version, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(meta, "version")), 0);
    ck_assert(json_is_null(json_object_get(meta, "by")));
    eh_policy_free(p);
    json_decref(meta);
    ck_assert_int_eq(eh_policy_store_read(ps, "portal", 2, "basic", &p, &meta), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(meta, "by")), "alice");
    eh_policy_free(p);
    json_decref(meta);

    ck_assert_int_eq(eh_policy_store_history(ps, "portal", &history), EH_OK);
    ck_assert_uint_eq(json_array_size(history), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(history, 0), "version")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(history, 1), "version")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(history, 1), "why")),
                     "because");
    json_decref(history);
    ck_assert_int_eq(eh_policy_store_history(ps, "nobody", &history), EH_OK);
    ck_assert_uint_eq(json_array_size(history), 0);
    json_decref(history);
}
END_TEST

START_TEST(diff_member_by_member)
{
    json_t *from = doc("{\"a\": 1, \"b\": [1], \"same\": \"x\"}");
    json_t *to = doc("{\"b\": [2], \"c\": true, \"same\": \"x\"}");
    json_t *changes = NULL, *expected = doc("[{\"member\": \"a\", \"from\": 1, \"to\": null},"
                                            " {\"member\": \"b\", \"from\": [1], \"to\": [2]},"
                                            " {\"member\": \"c\", \"from\": null, \"to\": true}]");

    ck_assert_int_eq(eh_policy_diff(from, to, &changes), EH_OK);
    ck_assert_msg(json_equal(changes, expected), "%s", json_dumps(changes, 0));
    json_decref(changes);
    ck_assert_int_eq(eh_policy_diff(from, from, &changes), EH_OK);
    ck_assert_uint_eq(json_array_size(changes), 0);
    json_decref(changes);
    ck_assert_int_eq(eh_policy_diff(from, NULL, &changes), EH_ERR_INVALID);
    json_decref(from);
    json_decref(to);
    json_decref(expected);
}
END_TEST

START_TEST(diff_of_effective_policies)
{
    eh_policy *a = NULL, *b = NULL;
    json_t *ea = NULL, *eb = NULL, *changes = NULL;
    json_t *da = doc(AGE_ONLY), *db = doc("{\"profile\": \"age-only\", \"min_loa\": \"high\"}");
    char err[256];

    ck_assert_msg(eh_policy_from_json("p", 1, da, &a, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_msg(eh_policy_from_json("p", 2, db, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_policy_effective_json(a, &ea), EH_OK);
    ck_assert_int_eq(eh_policy_effective_json(b, &eb), EH_OK);
    ck_assert_int_eq(eh_policy_diff(ea, eb, &changes), EH_OK);
    ck_assert_uint_eq(json_array_size(changes), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "member")),
                     "min_loa");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(changes, 0), "to")), "high");
    json_decref(changes);
    json_decref(ea);
    json_decref(eb);
    json_decref(da);
    json_decref(db);
    eh_policy_free(a);
    eh_policy_free(b);
}
END_TEST

START_TEST(names_never_leave_the_folder)
{
    static const char *const bad[] = {"../x", "a/b",    ".hidden", "..",        ".",   "",
                                      "a b",  "tab\tx", "/abs",    "x/../../y", "\x7f"};
    char err[256], long_name[EH_POLICY_NAME_MAX + 2];
    eh_policy *p = NULL;
    json_t *h = NULL;
    int v = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!eh_policy_name_valid(bad[i]), "%s", bad[i]);
        ck_assert_int_eq(save_text(bad[i], 0, AGE_ONLY, &v, err, sizeof(err)), EH_ERR_INVALID);
        ck_assert_int_eq(eh_policy_store_current(ps, bad[i], "basic", &p), EH_ERR_INVALID);
        ck_assert_int_eq(eh_policy_store_version(ps, bad[i], 1, &p), EH_ERR_INVALID);
        ck_assert_int_eq(eh_policy_store_history(ps, bad[i], &h), EH_ERR_INVALID);
    }
    ck_assert(!eh_policy_name_valid(NULL));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    ck_assert(!eh_policy_name_valid(long_name));
    long_name[EH_POLICY_NAME_MAX] = '\0';
    ck_assert(eh_policy_name_valid(long_name));
    ck_assert(eh_policy_name_valid("tartu-portal"));
    ck_assert(eh_policy_name_valid("x..y"));
    ck_assert(eh_policy_name_valid("urn:ee:portal"));
    ck_assert_int_eq(count_entries(""), 0); /* nothing was created anywhere */
}
END_TEST

START_TEST(client_ids_that_cannot_name_a_policy_are_refused)
{
    static const char *const bad[] = {"../x", "a/b", ".hidden"};
    char text[512], err[512];
    eh_config *cfg = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"issuer\": \"https://id.example.ee\", \"keys\": [{\"file\": \"k.pem\"}], "
                 "\"relying_parties\": [{\"client_id\": \"%s\", \"redirect_uris\": "
                 "[\"https://p.example/cb\"], \"display_name\": \"P\", \"policy\": \"basic\", "
                 "\"subject_type\": \"public\"}]}",
                 bad[i]);
        ck_assert_int_eq(
            eh_config_parse(text, strlen(text), "/etc/broker.json", &cfg, err, sizeof(err)),
            EH_ERR_CONFIG);
        ck_assert_msg(strstr(err, "$.relying_parties[0].client_id: must be") != NULL, "%s", err);
    }
}
END_TEST

START_TEST(concurrent_saves_exactly_one_wins)
{
    enum { N = 8 };
    pid_t pids[N];
    int go[2], wins = 0, conflicts = 0, v = 0;
    char c = 'x';

    ck_assert_int_eq(pipe(go), 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            char err[256], text[128];
            eh_rc rc;
            close(go[1]);
            if (read(go[0], &c, 1) != 0) /* wait until the parent lets all go */
                _exit(3);
            snprintf(text, sizeof(text), "{\"profile\": \"basic\", \"sector\": \"s%d\"}", i);
            rc = save_text("portal", 0, text, &v, err, sizeof(err));
            _exit(rc == EH_OK ? 0 : rc == EH_ERR_CONFLICT ? 1 : 2);
        }
    }
    close(go[0]);
    close(go[1]); /* every child's read returns now */
    for (int i = 0; i < N; i++) {
        int status = 0;
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert(WIFEXITED(status));
        wins += WEXITSTATUS(status) == 0;
        conflicts += WEXITSTATUS(status) == 1;
    }
    ck_assert_int_eq(wins, 1);
    ck_assert_int_eq(conflicts, N - 1);
    ck_assert_int_eq(count_entries("portal"), 1);
    ck_assert_int_eq(eh_policy_store_current_version(ps, "portal", &v), EH_OK);
    ck_assert_int_eq(v, 1);
}
END_TEST

START_TEST(other_process_saves_are_seen_within_a_second)
{
    eh_policy *p = NULL;
    pid_t pid;
    int status = 0;

    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 0);
    eh_policy_free(p);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char err[256];
        int v = 0;
        _exit(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)) == EH_OK ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    usleep(1100 * 1000);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 1);
    ck_assert_uint_eq(json_array_size(p->release_always), 1);
    eh_policy_free(p);

    /* and a second save by another process (the folder existed already) */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char err[256];
        int v = 0;
        _exit(save_text("portal", 1, NAMES, &v, err, sizeof(err)) == EH_OK ? 0 : 1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    usleep(1100 * 1000);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_OK);
    ck_assert_int_eq(p->version, 2);
    eh_policy_free(p);
}
END_TEST

START_TEST(open_refuses_a_missing_folder)
{
    char err[256], path[1024];
    eh_policy_store *other = NULL;

    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_eq(eh_policy_store_open(path, &other, err, sizeof(err)), EH_ERR_IO);
    ck_assert_ptr_null(other);
    ck_assert(strstr(err, "missing") != NULL);
    free(eh_test_write(dir, "file", "x"));
    snprintf(path, sizeof(path), "%s/file", dir);
    ck_assert_int_eq(eh_policy_store_open(path, &other, err, sizeof(err)), EH_ERR_IO);
    ck_assert(strstr(err, "not a folder") != NULL);
}
END_TEST

START_TEST(a_broken_current_version_fails_closed)
{
    char err[256];
    eh_policy *p = NULL;
    int v = 0;

    ck_assert_int_eq(save_text("portal", 0, AGE_ONLY, &v, err, sizeof(err)), EH_OK);
    free(eh_test_write(dir, "portal/2.json",
                       "{\"document\": {\"release\": [\"shoe\"]}, "
                       "\"meta\": {\"version\": 2}}"));
    usleep(1100 * 1000);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_ERR_INVALID);
    ck_assert_ptr_null(p);
    free(eh_test_write(dir, "portal/3.json", "not json"));
    usleep(1100 * 1000);
    ck_assert_int_eq(eh_policy_store_current(ps, "portal", "basic", &p), EH_ERR_INVALID);
    ck_assert_ptr_null(p);
}
END_TEST

Suite *suite_policy_store(void)
{
    Suite *s = suite_create("policy_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, fallback_then_saved_versions);
    tcase_add_test(tc, file_holds_document_and_meta);
    tcase_add_test(tc, stale_base_and_invalid_documents_are_refused);
    tcase_add_test(tc, versions_history_and_profile_version);
    tcase_add_test(tc, diff_member_by_member);
    tcase_add_test(tc, diff_of_effective_policies);
    tcase_add_test(tc, names_never_leave_the_folder);
    tcase_add_test(tc, client_ids_that_cannot_name_a_policy_are_refused);
    tcase_add_test(tc, concurrent_saves_exactly_one_wins);
    tcase_add_test(tc, other_process_saves_are_seen_within_a_second);
    tcase_add_test(tc, open_refuses_a_missing_folder);
    tcase_add_test(tc, a_broken_current_version_fails_closed);
    suite_add_tcase(s, tc);
    return s;
}
