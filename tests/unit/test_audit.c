#include "tests/unit/suites.h"

#include <cjose/cjose.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attributes/pairwise.h"
#include "broker/audit.h"
#include "broker/broker.h"
#include "broker/jwt.h"
#include "broker/keys.h"
#include "tests/unit/testutil.h"

#define ISSUER "https://id.example.ee"
#define SECRET "0123456789abcdef0123456789abcdef-audit-test"

/* Two keys for the whole suite: "key.pem" signs, "other.pem" is somebody
 * else's. Each test has a folder of its own for its log. */
static char *keydir;
static eh_keyset *keys, *other_keys;
static char *jwks, *other_jwks;

static eh_keyset *load_keyset(const char *name)
{
    eh_keyset *ks = NULL;
    char err[256], *path = NULL;

    ck_assert_int_ge(asprintf(&path, "%s/%s", keydir, name), 0);
    ck_assert_msg(eh_key_generate(EH_KEY_EC_P256, 0, path, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_keyset_new(&ks), EH_OK);
    ck_assert_msg(eh_keyset_add_pem(ks, path, 1, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_msg(eh_keyset_finish(ks, err, sizeof(err)) == EH_OK, "%s", err);
    free(path);
    return ks;
}

static void suite_setup(void)
{
    keydir = eh_test_tmpdir();
    keys = load_keyset("key.pem");
    other_keys = load_keyset("other.pem");
    ck_assert_int_eq(eh_keyset_jwks_json(keys, &jwks), EH_OK);
    ck_assert_int_eq(eh_keyset_jwks_json(other_keys, &other_jwks), EH_OK);
}

static void suite_teardown(void)
{
    eh_keyset_free(keys);
    eh_keyset_free(other_keys);
    free(jwks);
    free(other_jwks);
    eh_test_rmtree(keydir);
    free(keydir);
}

/* A log in a new folder. */
typedef struct tlog {
    char *dir;
    char *file;
    eh_audit *audit;
} tlog;

static tlog tlog_new(unsigned every, int with_secret)
{
    tlog t;
    t.dir = eh_test_tmpdir();
    ck_assert_int_ge(asprintf(&t.file, "%s/audit.jsonl", t.dir), 0);
    ck_assert_int_eq(eh_audit_new(t.file, every, keys, ISSUER,
                                  with_secret ? (const unsigned char *)SECRET : NULL,
                                  with_secret ? strlen(SECRET) : 0, &t.audit),
                     EH_OK);
    return t;
}

static void tlog_free(tlog *t)
{
    eh_audit_free(t->audit);
    eh_test_rmtree(t->dir);
    free(t->dir);
    free(t->file);
}

/* refused appends a policy_refused entry naming n (a stand-in for any). */
static void refused(const eh_audit *a, int n)
{
    char reason[64];
    snprintf(reason, sizeof(reason), "reason %d", n);
    ck_assert_int_eq(eh_audit_policy_refused(a, "alice", "POST /admin/api/policy", reason), EH_OK);
}

/* The lines of a file (each without its newline), NULL-ended; caller frees
 * with free_lines. */
static char **read_lines(const char *file, size_t *n)
{
    FILE *f = fopen(file, "r");
    char **lines = calloc(4096, sizeof(*lines)), *line = NULL;
    size_t cap = 0;
    ssize_t len;

    ck_assert_ptr_nonnull(f);
    *n = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        ck_assert_uint_lt(*n, 4095);
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        lines[(*n)++] = strdup(line);
    }
    free(line);
    fclose(f);
    return lines;
}

static void free_lines(char **lines)
{
    for (size_t i = 0; lines[i] != NULL; i++)
        free(lines[i]);
    free(lines);
}

/* write_lines replaces the file with lines (each followed by a newline,
 * skipping skip, a 0-based index or -1). */
static void write_lines(const char *file, char **lines, size_t n, long skip)
{
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++) {
        if ((long)i != skip)
            fprintf(f, "%s\n", lines[i]);
    }
    ck_assert_int_eq(fclose(f), 0);
}

/* replace returns a copy of s with the first from replaced by to. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    char *out = NULL;
    ck_assert_msg(at != NULL, "%s not in %s", from, s);
    ck_assert_int_ge(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)), 0);
    return out;
}

static char *read_all(const char *file)
{
    FILE *f = fopen(file, "r");
    char *text = calloc(1, 1 << 20);
    ck_assert_ptr_nonnull(f);
    fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    return text;
}

/* verify_fails expects verification of file to fail at line with a
 * problem containing what. */
static void verify_fails(const char *file, const char *keyset_jwks, long line, const char *what)
{
    eh_audit_report r;
    ck_assert_int_eq(eh_audit_verify(file, keyset_jwks, NULL, &r), EH_ERR_INVALID);
    ck_assert_msg(r.bad_line == line, "bad line %ld, not %ld: %s", (long)r.bad_line, line,
                  r.problem);
    ck_assert_msg(strstr(r.problem, what) != NULL, "\"%s\" not in \"%s\"", what, r.problem);
}

START_TEST(entries_are_chained)
{
    tlog t = tlog_new(100, 1);
    char **lines, prev[EH_AUDIT_HASH_SIZE], head[EH_AUDIT_HASH_SIZE], err[256];
    eh_audit_report r;
    size_t n;

    /* nothing written by merely preparing */
    ck_assert_int_ne(access(t.file, F_OK), 0);
    for (int i = 0; i < 5; i++)
        refused(t.audit, i);
    lines = read_lines(t.file, &n);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(eh_audit_hash("", 0, prev), EH_OK);
    ck_assert_str_eq(prev, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        char *again;
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(json_integer_value(json_object_get(e, "seq")), (json_int_t)i + 1);
        ck_assert_str_eq(json_string_value(json_object_get(e, "type")), "policy_refused");
        ck_assert_str_eq(json_string_value(json_object_get(e, "prev")), prev);
        ck_assert(json_integer_value(json_object_get(e, "time")) > 1700000000);
        ck_assert_str_eq(json_string_value(json_object_get(e, "account")), "alice");
        /* canonical: compact, keys sorted */
        again = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        ck_assert_str_eq(again, lines[i]);
        free(again);
        ck_assert_int_eq(eh_audit_hash(lines[i], strlen(lines[i]), prev), EH_OK);
        json_decref(e);
    }
    ck_assert_int_eq(eh_audit_head(t.file, head, err, sizeof(err)), EH_OK);
    ck_assert_str_eq(head, prev);
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    ck_assert_int_eq(r.entries, 5);
    ck_assert_int_eq(r.last_checkpoint_seq, 0);
    ck_assert_int_eq(r.unsigned_entries, 5);
    ck_assert_str_eq(r.head, head);
    /* no keys are needed while there is no checkpoint */
    ck_assert_int_eq(eh_audit_verify(t.file, NULL, NULL, &r), EH_OK);
    /* a published head of any line, or of the empty log, is found */
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, head, &r), EH_OK);
    ck_assert_int_eq(eh_audit_hash(lines[1], strlen(lines[1]), head), EH_OK);
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, head, &r), EH_OK);
    ck_assert_int_eq(
        eh_audit_verify(t.file, jwks, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", &r), EH_OK);
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

START_TEST(empty_log)
{
    tlog t = tlog_new(100, 1);
    char head[EH_AUDIT_HASH_SIZE], err[256];
    eh_audit_report r;
    int64_t seq = 0;

    /* a checkpoint never creates the log */
    ck_assert_int_eq(eh_audit_checkpoint(t.audit, &seq), EH_ERR_NOT_FOUND);
    ck_assert_int_ne(access(t.file, F_OK), 0);
    ck_assert_int_ne(eh_audit_head(t.file, head, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_ERR_IO);
    free(eh_test_write(t.dir, "audit.jsonl", ""));
    ck_assert_int_eq(eh_audit_head(t.file, head, err, sizeof(err)), EH_OK);
    ck_assert_str_eq(head, "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    ck_assert_int_eq(r.entries, 0);
    ck_assert_str_eq(r.head, head);
    /* the NULL audit (none configured) does nothing */
    ck_assert_int_eq(eh_audit_policy_refused(NULL, "a", "b", "c"), EH_OK);
    ck_assert_int_eq(eh_audit_release(NULL, "portal", "portal", 1, NULL), EH_OK);
    tlog_free(&t);
}
END_TEST

START_TEST(checkpoints_are_signed)
{
    tlog t = tlog_new(3, 1);
    char **lines, head[EH_AUDIT_HASH_SIZE];
    eh_audit_report r;
    cjose_jws_t *jws;
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t n, plain_len = 0;
    json_t *cp, *claims;
    const char *compact;
    int64_t seq = 0;

    for (int i = 0; i < 7; i++)
        refused(t.audit, i);
    /* 1 2 3 cp4 5 6 7 cp8 9 */
    lines = read_lines(t.file, &n);
    ck_assert_uint_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(e, "type")),
                         i == 3 || i == 7 ? "checkpoint" : "policy_refused");
        json_decref(e);
    }
    cp = json_loads(lines[7], 0, NULL);
    compact = json_string_value(json_object_get(cp, "jws"));
    jws = cjose_jws_import(compact, strlen(compact), &cerr);
    ck_assert_ptr_nonnull(jws);
    ck_assert(cjose_jws_verify(jws, eh_key_cjose_get(eh_keyset_active_get(keys)), &cerr));
    ck_assert_str_eq(cjose_header_get(cjose_jws_get_protected(jws), "typ", &cerr),
                     EH_AUDIT_CHECKPOINT_TYP);
    ck_assert(cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr));
    claims = json_loadb((const char *)plain, plain_len, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(claims, "seq")), 7);
    ck_assert_int_eq(eh_audit_hash(lines[6], strlen(lines[6]), head), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "head")), head);
    ck_assert_str_eq(json_string_value(json_object_get(cp, "prev")), head);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")), ISSUER);
    json_decref(claims);
    json_decref(cp);
    cjose_jws_release(jws);

    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    ck_assert_int_eq(r.entries, 9);
    ck_assert_int_eq(r.last_checkpoint_seq, 8);
    ck_assert_int_eq(r.unsigned_entries, 1);
    /* a forced checkpoint signs the head now */
    ck_assert_int_eq(eh_audit_checkpoint(t.audit, &seq), EH_OK);
    ck_assert_int_eq(seq, 10);
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    ck_assert_int_eq(r.last_checkpoint_seq, 10);
    ck_assert_int_eq(r.unsigned_entries, 0);
    /* checkpoints need keys to be checked, the right ones */
    verify_fails(t.file, NULL, 4, "no keys to check");
    verify_fails(t.file, other_jwks, 4, "not in the JWK Set");
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

/* Appenders in other processes. */
START_TEST(concurrent_processes)
{
    tlog t = tlog_new(EH_AUDIT_CHECKPOINT_MAX, 1);
    char **lines;
    eh_audit_report r;
    pid_t pids[8];
    size_t n;

    for (int p = 0; p < 8; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            int ok = 1;
            for (int i = 0; i < 50; i++)
                ok = ok && eh_audit_policy_refused(t.audit, "alice", "POST /admin/api/policy",
                                                   "from a child") == EH_OK;
            _exit(ok ? 0 : 1);
        }
    }
    for (int p = 0; p < 8; p++) {
        int status = 0;
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    lines = read_lines(t.file, &n);
    ck_assert_uint_eq(n, 400);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        ck_assert_ptr_nonnull(e);
        ck_assert_int_eq(json_integer_value(json_object_get(e, "seq")), (json_int_t)i + 1);
        json_decref(e);
    }
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    ck_assert_int_eq(r.entries, 400);
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

static void *append_50(void *arg)
{
    for (int i = 0; i < 50; i++) {
        if (eh_audit_policy_refused(arg, "bob", "POST /admin/api/rollback", "from a thread") !=
            EH_OK)
            return arg;
    }
    return NULL;
}

/* Appenders in threads of one process, with checkpoints among them. */
START_TEST(concurrent_threads)
{
    tlog t = tlog_new(10, 1);
    eh_audit_report r;
    pthread_t threads[6];

    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, append_50, t.audit), 0);
    for (int i = 0; i < 6; i++) {
        void *failed = NULL;
        ck_assert_int_eq(pthread_join(threads[i], &failed), 0);
        ck_assert_ptr_null(failed);
    }
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, NULL, &r), EH_OK);
    /* 300 entries, a checkpoint after every 10 */
    ck_assert_int_eq(r.entries, 330);
    ck_assert_int_eq(r.last_checkpoint_seq, 330);
    tlog_free(&t);
}
END_TEST

/* A log of 5 entries for the tampering tests, the second one a release to
 * "portal-a". */
static tlog tampering_log(char ***lines, size_t *n)
{
    tlog t = tlog_new(100, 1);
    eh_identity *id = NULL;

    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->method = strdup("mobile_id");
    id->loa = EH_LOA_HIGH;
    json_object_set_new(id->attributes, "given_name", json_string("Mari"));
    refused(t.audit, 0);
    ck_assert_int_eq(eh_audit_release(t.audit, "portal-a", "portal-a", 2, id), EH_OK);
    for (int i = 2; i < 5; i++)
        refused(t.audit, i);
    eh_identity_free(id);
    *lines = read_lines(t.file, n);
    ck_assert_uint_eq(*n, 5);
    return t;
}

START_TEST(an_edited_line_is_found)
{
    size_t n;
    char **lines, *edited;
    tlog t = tampering_log(&lines, &n);

    edited = replace(lines[1], "\"requester\":\"portal-a\"", "\"requester\":\"portal-b\"");
    free(lines[1]);
    lines[1] = edited;
    write_lines(t.file, lines, n, -1);
    verify_fails(t.file, jwks, 3, "prev hash does not match line 2");
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

START_TEST(a_deleted_line_is_found)
{
    size_t n;
    char **lines;
    tlog t = tampering_log(&lines, &n);

    write_lines(t.file, lines, n, 2);
    verify_fails(t.file, jwks, 3, "seq 4 follows seq 2");
    /* the first one */
    write_lines(t.file, lines, n, 0);
    verify_fails(t.file, jwks, 1, "a log starts at seq 1");
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

START_TEST(a_reordered_pair_is_found)
{
    size_t n;
    char **lines, *swap;
    tlog t = tampering_log(&lines, &n);

    swap = lines[1];
    lines[1] = lines[2];
    lines[2] = swap;
    write_lines(t.file, lines, n, -1);
    verify_fails(t.file, jwks, 2, "seq 3 follows seq 1");
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

START_TEST(a_truncated_last_line_is_found)
{
    size_t n;
    char **lines;
    tlog t = tampering_log(&lines, &n);
    struct stat st;

    off_t cut;

    ck_assert_int_eq(stat(t.file, &st), 0);
    cut = st.st_size - 10;
    ck_assert_int_eq(truncate(t.file, cut), 0);
    verify_fails(t.file, jwks, 5, "truncated");
    /* and appending refuses to build on it: nothing is written */
    ck_assert_int_eq(eh_audit_policy_refused(t.audit, "alice", "x", "y"), EH_ERR_IO);
    ck_assert_int_eq(stat(t.file, &st), 0);
    ck_assert_int_eq(st.st_size, cut);
    verify_fails(t.file, jwks, 5, "truncated");
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

/* An edit of the last line breaks no chain: a published head (or a
 * checkpoint after it) is what catches it. */
START_TEST(an_edited_last_line_is_found_by_the_published_head)
{
    size_t n;
    char **lines, head[EH_AUDIT_HASH_SIZE], err[256], *edited;
    eh_audit_report r;
    tlog t = tampering_log(&lines, &n);

    ck_assert_int_eq(eh_audit_head(t.file, head, err, sizeof(err)), EH_OK);
    edited = replace(lines[4], "reason 4", "reason X");
    free(lines[4]);
    lines[4] = edited;
    write_lines(t.file, lines, n, -1);
    ck_assert_int_eq(eh_audit_verify(t.file, jwks, head, &r), EH_ERR_INVALID);
    ck_assert_msg(strstr(r.problem, "is the hash of no line") != NULL, "%s", r.problem);
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

/* rechain recomputes every prev from line from on, as a forger would. */
static void rechain(char **lines, size_t n, size_t from)
{
    for (size_t i = from; i < n; i++) {
        json_t *e = json_loads(lines[i], 0, NULL);
        char prev[EH_AUDIT_HASH_SIZE];
        ck_assert_int_eq(eh_audit_hash(lines[i - 1], strlen(lines[i - 1]), prev), EH_OK);
        json_object_set_new(e, "prev", json_string(prev));
        free(lines[i]);
        lines[i] = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(e);
    }
}

START_TEST(a_forged_checkpoint_is_found)
{
    tlog t = tlog_new(3, 1);
    char **lines, *edited, *jws = NULL, *line = NULL;
    json_t *claims, *cp;
    size_t n;

    for (int i = 0; i < 5; i++)
        refused(t.audit, i);
    lines = read_lines(t.file, &n); /* 1 2 3 cp4 5 6 */
    ck_assert_uint_eq(n, 6);

    /* an edit whose chain is made whole again: the checkpoint's signature
     * still names the old head */
    edited = replace(lines[1], "reason 1", "reason X");
    free(lines[1]);
    lines[1] = edited;
    rechain(lines, n, 2);
    write_lines(t.file, lines, n, -1);
    verify_fails(t.file, jwks, 4, "signs another head");

    /* a checkpoint signed by another key, over the forged head */
    cp = json_loads(lines[3], 0, NULL);
    claims = json_pack("{s:s, s:i, s:s, s:i}", "iss", ISSUER, "seq", 3, "head",
                       json_string_value(json_object_get(cp, "prev")), "time", 1700000000);
    ck_assert_int_eq(eh_jwt_sign(other_keys, claims, EH_AUDIT_CHECKPOINT_TYP, &jws), EH_OK);
    json_object_set_new(cp, "jws", json_string(jws));
    free(lines[3]);
    lines[3] = json_dumps(cp, JSON_COMPACT | JSON_SORT_KEYS);
    rechain(lines, n, 4);
    write_lines(t.file, lines, n, -1);
    verify_fails(t.file, jwks, 4, "not in the JWK Set");

    /* the right kid, a signature that is not the key's */
    {
        const char *real_kid = eh_key_kid_get(eh_keyset_active_get(keys));
        const char *fake_kid = eh_key_kid_get(eh_keyset_active_get(other_keys));
        char *dot = strchr(jws, '.'), *header = NULL, *hdr_text = NULL, *swapped;
        uint8_t *raw = NULL;
        size_t raw_len = 0;
        cjose_err cerr;
        ck_assert(cjose_base64url_decode(jws, (size_t)(dot - jws), &raw, &raw_len, &cerr));
        hdr_text = strndup((const char *)raw, raw_len);
        swapped = replace(hdr_text, fake_kid, real_kid);
        ck_assert(cjose_base64url_encode((const uint8_t *)swapped, strlen(swapped), &header,
                                         &raw_len, &cerr));
        free(line);
        ck_assert_int_ge(asprintf(&line, "%s%s", header, dot), 0);
        json_object_set_new(cp, "jws", json_string(line));
        free(lines[3]);
        lines[3] = json_dumps(cp, JSON_COMPACT | JSON_SORT_KEYS);
        rechain(lines, n, 4);
        write_lines(t.file, lines, n, -1);
        verify_fails(t.file, jwks, 4, "does not verify");
        free(raw);
        free(hdr_text);
        free(swapped);
        free(header);
    }
    free(line);
    free(jws);
    json_decref(claims);
    json_decref(cp);
    free_lines(lines);
    tlog_free(&t);
}
END_TEST

START_TEST(no_personal_data)
{
    tlog t = tlog_new(100, 1);
    eh_identity *id = NULL;
    char *text, **lines, *expected = NULL;
    json_t *e, *names;
    size_t n;

    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->method = strdup("mobile_id");
    id->loa = EH_LOA_HIGH;
    id->auth_time = 1700000000;
    json_object_set_new(id->attributes, "given_name", json_string("Mari-Liis"));
    json_object_set_new(id->attributes, "family_name", json_string("Männik"));
    json_object_set_new(id->attributes, "date_of_birth", json_string("1980-01-08"));
    json_object_set_new(id->attributes, "person_identifier", json_string("EE38001085718"));
    json_object_set_new(id->attributes, "age_over_18", json_true());
    ck_assert_int_eq(eh_audit_release(t.audit, "tax-office", "tax-office", 3, id), EH_OK);

    text = read_all(t.file);
    ck_assert_ptr_null(strstr(text, "38001085718"));
    ck_assert_ptr_null(strstr(text, "Mari"));
    ck_assert_ptr_null(strstr(text, "M\u00e4nnik"));
    ck_assert_ptr_null(strstr(text, "1980"));
    lines = read_lines(t.file, &n);
    ck_assert_uint_eq(n, 1);
    e = json_loads(lines[0], 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(e, "type")), "release");
    ck_assert_str_eq(json_string_value(json_object_get(e, "requester")), "tax-office");
    ck_assert_str_eq(json_string_value(json_object_get(e, "method")), "mobile_id");
    ck_assert_str_eq(json_string_value(json_object_get(e, "loa")), "high");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "policy"), "name")),
                     "tax-office");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(e, "policy"), "version")),
                     3);
    names = json_pack("[s,s,s,s,s]", "age_over_18", "date_of_birth", "family_name", "given_name",
                      "person_identifier");
    ck_assert(json_equal(json_object_get(e, "attributes"), names));
    /* the pseudonym of the audit sector */
    ck_assert_int_eq(eh_pairwise_subject((const unsigned char *)SECRET, strlen(SECRET),
                                         EH_AUDIT_SECTOR, "EE38001085718", &expected),
                     EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(e, "subject")), expected);
    ck_assert_uint_eq(json_object_size(e), 10);
    json_decref(e);
    json_decref(names);
    free_lines(lines);
    free(text);
    free(expected);
    tlog_free(&t);

    /* without a subject secret, no subject */
    t = tlog_new(100, 0);
    ck_assert_int_eq(eh_audit_release(t.audit, "bar", "bar", 0, id), EH_OK);
    lines = read_lines(t.file, &n);
    e = json_loads(lines[0], 0, NULL);
    ck_assert_ptr_null(json_object_get(e, "subject"));
    text = read_all(t.file);
    ck_assert_ptr_null(strstr(text, "38001085718"));
    json_decref(e);
    free(text);
    free_lines(lines);
    tlog_free(&t);
    eh_identity_free(id);
}
END_TEST

START_TEST(transactions)
{
    tlog t = tlog_new(100, 1);
    eh_audit_txn *txn = NULL;
    json_t *fields =
        eh_audit_policy_change_fields("portal", 2, 3, "alice", "more age checks", "edit");
    json_t *bad = json_pack("{s:i}", "seq", 7);
    eh_audit_report r;
    int64_t seq = 0;
    char **lines;
    size_t n;

    refused(t.audit, 0);
    /* an aborted change writes nothing */
    ck_assert_int_eq(eh_audit_begin(t.audit, &txn), EH_OK);
    ck_assert_ptr_nonnull(txn);
    eh_audit_abort(txn);
    ck_assert_int_eq(eh_audit_begin(t.audit, &txn), EH_OK);
    ck_assert_int_eq(eh_audit_commit(txn, "policy_change", fields, &seq), EH_OK);
    ck_assert_int_eq(seq, 2);
    /* reserved members and the checkpoint type are the log's own */
    ck_assert_int_eq(eh_audit_append(t.audit, "policy_change", bad, NULL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_audit_begin(t.audit, &txn), EH_OK);
    ck_assert_int_eq(eh_audit_commit(txn, "checkpoint", NULL, NULL), EH_ERR_INVALID);
    lines = read_lines(t.file, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lines[1] + strlen(lines[1]) -
                         strlen(",\"type\":\"policy_change\",\"why\":"
                                "\"more age checks\"}"),
                     ",\"type\":\"policy_change\",\"why\":\"more age checks\"}");
    ck_assert_ptr_nonnull(strstr(lines[1], "\"new_version\":3,\"old_version\":2"));
    ck_assert_int_eq(eh_audit_verify(t.file, NULL, NULL, &r), EH_OK);
    /* a NULL audit gives a NULL transaction, which commit accepts */
    ck_assert_int_eq(eh_audit_begin(NULL, &txn), EH_OK);
    ck_assert_ptr_null(txn);
    ck_assert_int_eq(eh_audit_commit(NULL, "policy_change", fields, NULL), EH_OK);
    free_lines(lines);
    json_decref(fields);
    json_decref(bad);
    tlog_free(&t);
}
END_TEST

/* config writes a broker configuration with audit member text (or none). */
static eh_rc load_with(const char *dir, const char *audit_json, eh_broker **b, char *err,
                       size_t errlen)
{
    char *path = eh_test_config(dir, "[]"), *text = read_all(path), *with = NULL;
    eh_rc rc;

    text[strlen(text) - 2] = '\0'; /* drop "}\n" */
    ck_assert_int_ge(asprintf(&with, "%s, \"audit\": %s}\n", text, audit_json), 0);
    free(eh_test_write(dir, "broker.json", with));
    rc = eh_broker_load(path, b, err, errlen);
    free(path);
    free(text);
    free(with);
    return rc;
}

START_TEST(configuration)
{
    char *dir = eh_test_tmpdir(), err[1024], *expected = NULL;
    eh_broker *b = NULL;

    ck_assert_msg(load_with(dir, "{\"file\": \"audit.jsonl\"}", &b, err, sizeof(err)) == EH_OK,
                  "%s", err);
    ck_assert_ptr_nonnull(eh_broker_audit_get(b));
    ck_assert_int_ge(asprintf(&expected, "%s/audit.jsonl", dir), 0);
    ck_assert_str_eq(eh_audit_file_get(eh_broker_audit_get(b)), expected);
    ck_assert_int_eq(eh_audit_policy_refused(eh_broker_audit_get(b), "a", "b", "c"), EH_OK);
    ck_assert_int_eq(access(expected, F_OK), 0);
    eh_broker_free(b);
    b = NULL;

    ck_assert_int_eq(load_with(dir, "{\"file\": \"nowhere/audit.jsonl\"}", &b, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.audit.file: the folder of") != NULL, "%s", err);
    ck_assert_int_eq(
        load_with(dir, "{\"file\": \"a\", \"checkpoint_every\": 0}", &b, err, sizeof(err)),
        EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.audit.checkpoint_every: must be an integer from 1 to") != NULL,
                  "%s", err);
    ck_assert_int_eq(load_with(dir, "{\"file\": \"a\", \"rotate\": true}", &b, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.audit.rotate: unknown member") != NULL, "%s", err);
    ck_assert_int_eq(load_with(dir, "{}", &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.audit.file: is required") != NULL, "%s", err);
    ck_assert_int_eq(load_with(dir, "\"audit.jsonl\"", &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "$.audit: must be an object") != NULL, "%s", err);
    ck_assert_int_eq(load_with(dir, "{\"file\": \".\"}", &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "is not a regular file") != NULL, "%s", err);
    ck_assert_ptr_null(b);
    free(expected);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_audit(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("audit");

    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, entries_are_chained);
    tcase_add_test(tc, empty_log);
    tcase_add_test(tc, checkpoints_are_signed);
    tcase_add_test(tc, concurrent_processes);
    tcase_add_test(tc, concurrent_threads);
    tcase_add_test(tc, an_edited_line_is_found);
    tcase_add_test(tc, a_deleted_line_is_found);
    tcase_add_test(tc, a_reordered_pair_is_found);
    tcase_add_test(tc, a_truncated_last_line_is_found);
    tcase_add_test(tc, an_edited_last_line_is_found_by_the_published_head);
    tcase_add_test(tc, a_forged_checkpoint_is_found);
    tcase_add_test(tc, no_personal_data);
    tcase_add_test(tc, transactions);
    tcase_add_test(tc, configuration);
    suite_add_tcase(s, tc);
    return s;
}
