/* eidhub: appending to the audit trail (broker/audit.h, docs/audit.md).
 * Verification is in broker/audit_verify.c. */
#include "broker/audit.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attributes/pairwise.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/json_check.h"
#include "broker/jwt.h"
#include "broker/log.h"

/* How much of the file's end is read first to find its last line. */
#define TAIL_FIRST_READ 4096

struct eh_audit {
    char *file;
    unsigned every;
    const eh_keyset *keys;
    const char *issuer;
    const unsigned char *secret; /* NULL: no subjects */
    size_t secret_len;
};

/* An open append: the file locked, what its last line says. */
struct eh_audit_txn {
    const eh_audit *a;
    int fd;
    off_t size;       /* the file's size when locked */
    int64_t last_seq; /* 0 for an empty log */
    char head[EH_AUDIT_HASH_SIZE];
};

eh_rc eh_audit_hash(const void *data, size_t len, char out[EH_AUDIT_HASH_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char *enc = NULL;
    size_t enc_len = 0;
    cjose_err err;
    eh_rc rc = EH_ERR_CRYPTO;

    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (!cjose_base64url_encode(md, md_len, &enc, &enc_len, &err))
        goto cleanup;
    rc = EH_ERR_INTERNAL;
    if (enc_len != EH_AUDIT_HASH_SIZE - 1)
        goto cleanup;
    memcpy(out, enc, EH_AUDIT_HASH_SIZE);
    rc = EH_OK;
cleanup:
    free(enc);
    return rc;
}

/* ------------------------------------------------------------ setup */

eh_rc eh_audit_new(const char *file, unsigned checkpoint_every, const eh_keyset *keys,
                   const char *issuer, const unsigned char *subject_secret, size_t secret_len,
                   eh_audit **out)
{
    eh_audit *a = NULL;
    eh_rc rc = EH_ERR_INVALID;

    if (file == NULL || file[0] != '/' || checkpoint_every < 1 ||
        checkpoint_every > EH_AUDIT_CHECKPOINT_MAX || keys == NULL || issuer == NULL)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((a = calloc(1, sizeof(*a))) == NULL || (a->file = strdup(file)) == NULL)
        goto cleanup;
    a->every = checkpoint_every;
    a->keys = keys;
    a->issuer = issuer;
    a->secret = subject_secret;
    a->secret_len = subject_secret ? secret_len : 0;
    *out = a;
    a = NULL;
    rc = EH_OK;
cleanup:
    eh_audit_free(a);
    return rc;
}

eh_rc eh_audit_load(const json_t *member, const eh_config *cfg, const eh_keyset *keys,
                    eh_audit **out, char *err, size_t errlen)
{
    static const char *const allowed[] = {"file", "checkpoint_every", NULL};
    eh_check v = {cfg->path, err, errlen};
    unsigned every = EH_AUDIT_CHECKPOINT_DEFAULT;
    char *file = NULL, *path = NULL, *copy = NULL;
    struct stat st;
    eh_rc rc = EH_OK;

    *out = NULL;
    if (member == NULL)
        goto cleanup;
    if (!json_is_object(member)) {
        rc = eh_check_fail(&v, "$.audit",
                           "must be an object {\"file\": path, \"checkpoint_every\": entries}");
        goto cleanup;
    }
    if ((rc = eh_check_members(&v, member, "$.audit", allowed)) != EH_OK ||
        (rc = eh_check_string(&v, member, "$.audit", "file", 1, &file)) != EH_OK ||
        (rc = eh_check_uint(&v, member, "$.audit", "checkpoint_every", 1, EH_AUDIT_CHECKPOINT_MAX,
                            &every)) != EH_OK ||
        (rc = eh_check_resolve(cfg->path, file, &path)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((copy = strdup(path)) == NULL)
        goto cleanup;
    if (stat(dirname(copy), &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = eh_check_fail(&v, "$.audit.file", "the folder of %s does not exist", path);
        goto cleanup;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        rc = eh_check_fail(&v, "$.audit.file", "%s is not a regular file", path);
        goto cleanup;
    }
    rc = eh_audit_new(path, every, keys, cfg->issuer, cfg->subject_secret, cfg->subject_secret_len,
                      out);
    if (rc != EH_OK && rc != EH_ERR_NOMEM)
        rc = eh_check_fail(&v, "$.audit.file", "must be a file name");
cleanup:
    if (rc == EH_ERR_NOMEM)
        snprintf(err, errlen, "%s: out of memory", cfg->path);
    free(file);
    free(path);
    free(copy);
    return rc;
}

void eh_audit_free(eh_audit *a)
{
    if (a == NULL)
        return;
    free(a->file);
    free(a);
}

const char *eh_audit_file_get(const eh_audit *a)
{
    return a->file;
}

/* ------------------------------------------------------------ the last line */

/* lock_fd takes flock op on fd, retrying when a signal interrupts. */
static int lock_fd(int fd, int op)
{
    int r;
    do {
        r = flock(fd, op);
    } while (r != 0 && errno == EINTR);
    return r;
}

/* read_last reads the last line of the size bytes of fd (locked): its seq
 * into *seq and its hash into head (an empty file: seq 0, the hash of
 * nothing). EH_ERR_INVALID (reason in why) when the file does not end with
 * a newline, or its last line is not an entry; EH_ERR_IO when it cannot be
 * read. */
static eh_rc read_last(int fd, off_t size, int64_t *seq, char head[EH_AUDIT_HASH_SIZE], char *why,
                       size_t whylen)
{
    size_t want = TAIL_FIRST_READ;
    char *buf = NULL, *line = NULL;
    size_t line_len = 0;
    json_t *entry = NULL;
    json_t *s;
    eh_rc rc;

    if (size == 0) {
        *seq = 0;
        return eh_audit_hash("", 0, head);
    }
    for (;;) {
        size_t n = (off_t)want < size ? want : (size_t)size;
        off_t start = size - (off_t)n;
        ssize_t got;
        char *nl;
        rc = EH_ERR_NOMEM;
        free(buf);
        if ((buf = malloc(n)) == NULL)
            goto cleanup;
        got = pread(fd, buf, n, start);
        if (got < 0 || (size_t)got != n) {
            snprintf(why, whylen, "cannot read: %s", got < 0 ? strerror(errno) : "short read");
            rc = EH_ERR_IO;
            goto cleanup;
        }
        rc = EH_ERR_INVALID;
        if (buf[n - 1] != '\n') {
            snprintf(why, whylen,
                     "its last line is incomplete (no newline at the end): "
                     "check it with eidhubctl audit verify");
            goto cleanup;
        }
        nl = n >= 2 ? memrchr(buf, '\n', n - 1) : NULL;
        if (nl != NULL || start == 0) {
            line = nl ? nl + 1 : buf;
            line_len = (size_t)(buf + n - 1 - line);
            break;
        }
        if (want > EH_AUDIT_LINE_MAX) {
            snprintf(why, whylen, "its last line is longer than %d bytes", EH_AUDIT_LINE_MAX);
            goto cleanup;
        }
        want *= 2;
    }
    entry = json_loadb(line, line_len, JSON_REJECT_DUPLICATES, NULL);
    s = json_object_get(entry, "seq");
    if (!json_is_integer(s) || json_integer_value(s) < 1) {
        snprintf(why, whylen, "its last line is not an audit entry (no seq)");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    *seq = json_integer_value(s);
    rc = eh_audit_hash(line, line_len, head);
cleanup:
    json_decref(entry);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ appending */

/* begin_txn opens (creating it when create) and locks the log and reads
 * its last line into a new transaction. */
static eh_rc begin_txn(const eh_audit *a, int create, eh_audit_txn **out)
{
    eh_audit_txn *t = NULL;
    struct stat st;
    char why[256] = "";
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if (a == NULL)
        return EH_OK;
    if ((t = calloc(1, sizeof(*t))) == NULL)
        goto cleanup;
    t->a = a;
    t->fd = open(a->file, O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
    if (t->fd < 0) {
        rc = errno == ENOENT && !create ? EH_ERR_NOT_FOUND : EH_ERR_IO;
        snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
        goto cleanup;
    }
    rc = EH_ERR_IO;
    if (lock_fd(t->fd, LOCK_EX) != 0 || fstat(t->fd, &st) != 0) {
        snprintf(why, sizeof(why), "cannot lock: %s", strerror(errno));
        goto cleanup;
    }
    t->size = st.st_size;
    rc = read_last(t->fd, t->size, &t->last_seq, t->head, why, sizeof(why));
    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_IO;
    if (rc != EH_OK)
        goto cleanup;
    *out = t;
    t = NULL;
cleanup:
    if (rc != EH_OK)
        eh_log(EH_LOG_ERROR, "audit: %s: %s", a->file, why[0] ? why : eh_strerror(rc));
    eh_audit_abort(t);
    return rc;
}

eh_rc eh_audit_begin(const eh_audit *a, eh_audit_txn **out)
{
    return begin_txn(a, 1, out);
}

void eh_audit_abort(eh_audit_txn *t)
{
    if (t == NULL)
        return;
    if (t->fd >= 0)
        close(t->fd); /* releases the lock */
    free(t);
}

/* entry_line serialises an entry (fields plus seq, time, type, prev) as
 * one canonical line without its newline (*out, caller frees). */
static eh_rc entry_line(int64_t seq, int64_t now, const char *type, const json_t *fields,
                        const char *prev, char **out)
{
    json_t *entry = fields ? json_deep_copy(fields) : json_object();
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if (entry == NULL)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (!json_is_object(entry) || json_object_get(entry, "seq") || json_object_get(entry, "time") ||
        json_object_get(entry, "type") || json_object_get(entry, "prev"))
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (json_object_set_new(entry, "seq", json_integer(seq)) != 0 ||
        json_object_set_new(entry, "time", json_integer(now)) != 0 ||
        json_object_set_new(entry, "type", json_string(type)) != 0 ||
        json_object_set_new(entry, "prev", json_string(prev)) != 0)
        goto cleanup;
    if ((*out = json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
        goto cleanup;
    rc = EH_OK;
    if (strlen(*out) > EH_AUDIT_LINE_MAX) {
        free(*out);
        *out = NULL;
        rc = EH_ERR_TOO_LARGE;
    }
cleanup:
    json_decref(entry);
    return rc;
}

/* checkpoint_line makes the checkpoint entry at seq that follows the line
 * whose hash is head: its jws signs {"iss", "seq": seq - 1, "head", "time"}. */
static eh_rc checkpoint_line(const eh_audit *a, int64_t seq, int64_t now, const char *head,
                             char **out)
{
    json_t *claims = json_pack("{s:s, s:I, s:s, s:I}", "iss", a->issuer, "seq",
                               (json_int_t)(seq - 1), "head", head, "time", (json_int_t)now);
    json_t *fields = NULL;
    char *jws = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (claims == NULL)
        goto cleanup;
    if ((rc = eh_jwt_sign(a->keys, claims, EH_AUDIT_CHECKPOINT_TYP, &jws)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((fields = json_pack("{s:s}", "jws", jws)) == NULL)
        goto cleanup;
    rc = entry_line(seq, now, "checkpoint", fields, head, out);
cleanup:
    json_decref(claims);
    json_decref(fields);
    free(jws);
    return rc;
}

/* finish writes what t's entry (type NULL: only a checkpoint) makes, in
 * one write, syncs, and frees t. */
static eh_rc finish(eh_audit_txn *t, const char *type, const json_t *fields, int64_t *seq)
{
    const eh_audit *a;
    int64_t now = (int64_t)time(NULL), next;
    char *line = NULL, *text = NULL;
    char head[EH_AUDIT_HASH_SIZE];
    const char *what = NULL;
    size_t len = 0;
    ssize_t written;
    eh_buf buf;
    eh_rc rc = EH_ERR_INVALID;

    eh_buf_init(&buf);
    if (t == NULL)
        return EH_OK;
    a = t->a;
    next = t->last_seq + 1;
    memcpy(head, t->head, sizeof(head));
    if (type != NULL) {
        if ((rc = entry_line(next, now, type, fields, head, &line)) != EH_OK)
            goto cleanup;
        eh_buf_append(&buf, line);
        eh_buf_append(&buf, "\n");
        if ((rc = eh_audit_hash(line, strlen(line), head)) != EH_OK)
            goto cleanup;
        free(line);
        line = NULL;
        if (seq != NULL)
            *seq = next;
    }
    /* checkpoints sit at the multiples of every + 1: each follows every
     * entries (a forced one comes in addition) */
    if (type == NULL || (next + 1) % ((int64_t)a->every + 1) == 0) {
        int64_t cp = type == NULL ? next : next + 1;
        if ((rc = checkpoint_line(a, cp, now, head, &line)) != EH_OK)
            goto cleanup;
        eh_buf_append(&buf, line);
        eh_buf_append(&buf, "\n");
        if (type == NULL && seq != NULL)
            *seq = cp;
    }
    if ((rc = eh_buf_finish(&buf, &text, &len)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_IO;
    written = write(t->fd, text, len);
    if (written < 0 || (size_t)written != len) {
        what = written < 0 ? strerror(errno) : "short write";
        /* leave only whole lines: cut off whatever part was written */
        if (written > 0 && ftruncate(t->fd, t->size) != 0)
            eh_log(EH_LOG_ERROR, "audit: %s: cannot cut off a partial line: %s", a->file,
                   strerror(errno));
        goto cleanup;
    }
    if (fdatasync(t->fd) != 0) {
        what = strerror(errno);
        goto cleanup;
    }
    rc = EH_OK;
cleanup:
    if (rc != EH_OK)
        eh_log(EH_LOG_ERROR, "audit: %s: cannot append: %s", a->file,
               what ? what : eh_strerror(rc));
    free(line);
    free(text);
    eh_buf_free(&buf);
    eh_audit_abort(t);
    return rc;
}

eh_rc eh_audit_commit(eh_audit_txn *t, const char *type, const json_t *fields, int64_t *seq)
{
    if (t != NULL && (type == NULL || strcmp(type, "checkpoint") == 0)) {
        eh_audit_abort(t);
        return EH_ERR_INVALID;
    }
    return finish(t, type, fields, seq);
}

eh_rc eh_audit_append(const eh_audit *a, const char *type, const json_t *fields, int64_t *seq)
{
    eh_audit_txn *t = NULL;
    eh_rc rc = eh_audit_begin(a, &t);

    if (rc != EH_OK)
        return rc;
    return eh_audit_commit(t, type, fields, seq);
}

eh_rc eh_audit_checkpoint(const eh_audit *a, int64_t *seq)
{
    eh_audit_txn *t = NULL;
    eh_rc rc = begin_txn(a, 0, &t);

    if (rc != EH_OK || t == NULL)
        return rc;
    return finish(t, NULL, NULL, seq);
}

/* ------------------------------------------------------------ entries */

/* cmp_names orders C strings for qsort. */
static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* sorted_names returns the keys of obj as a new sorted JSON array (NULL
 * when out of memory). */
static json_t *sorted_names(const json_t *obj)
{
    size_t n = json_object_size(obj), i = 0;
    const char **names = calloc(n ? n : 1, sizeof(*names));
    json_t *list = json_array(), *value, *result = NULL;
    const char *key;

    if (names == NULL || list == NULL)
        goto cleanup;
    json_object_foreach((json_t *)obj, key, value)
    {
        (void)value;
        names[i++] = key;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (i = 0; i < n; i++) {
        if (json_array_append_new(list, json_string(names[i])) != 0)
            goto cleanup;
    }
    result = list;
    list = NULL;
cleanup:
    free(names);
    json_decref(list);
    return result;
}

/* audit_subject returns the citizen's pseudonym in the audit sector (NULL
 * in *out without a secret or an identifier). */
static eh_rc audit_subject(const eh_audit *a, const eh_identity *id, char **out)
{
    char subject[256];
    eh_rc rc;

    *out = NULL;
    if (a->secret == NULL || id->country == NULL || id->id_value == NULL)
        return EH_OK;
    rc = eh_identity_subject(id, subject, sizeof(subject));
    if (rc == EH_OK)
        rc = eh_pairwise_subject(a->secret, a->secret_len, EH_AUDIT_SECTOR, subject, out);
    OPENSSL_cleanse(subject, sizeof(subject));
    return rc;
}

eh_rc eh_audit_release(const eh_audit *a, const char *requester, const char *policy_name,
                       int policy_version, const eh_identity *released)
{
    json_t *fields = NULL, *names = NULL;
    char *subject = NULL;
    eh_rc rc = EH_OK;

    if (a == NULL)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (requester == NULL || released == NULL)
        goto cleanup;
    if ((rc = audit_subject(a, released, &subject)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((names = sorted_names(released->attributes)) == NULL)
        goto cleanup;
    fields = json_pack("{s:s, s:s?, s:s, s:O, s:{s:s?, s:i}}", "requester", requester, "method",
                       released->method, "loa", eh_loa_name(released->loa), "attributes", names,
                       "policy", "name", policy_name, "version", policy_version);
    if (fields == NULL ||
        (subject != NULL && json_object_set_new(fields, "subject", json_string(subject)) != 0))
        goto cleanup;
    rc = eh_audit_append(a, "release", fields, NULL);
cleanup:
    json_decref(fields);
    json_decref(names);
    free(subject);
    return rc;
}

json_t *eh_audit_policy_change_fields(const char *name, int old_version, int new_version,
                                      const char *account, const char *why, const char *action)
{
    return json_pack("{s:s, s:i, s:i, s:s?, s:s?, s:s?}", "name", name, "old_version", old_version,
                     "new_version", new_version, "account", account, "why", why, "action", action);
}

eh_rc eh_audit_policy_refused(const eh_audit *a, const char *account, const char *endpoint,
                              const char *reason)
{
    json_t *fields;
    eh_rc rc;

    if (a == NULL)
        return EH_OK;
    fields =
        json_pack("{s:s?, s:s?, s:s?}", "account", account, "endpoint", endpoint, "reason", reason);
    if (fields == NULL)
        return EH_ERR_NOMEM;
    rc = eh_audit_append(a, "policy_refused", fields, NULL);
    json_decref(fields);
    return rc;
}

/* ------------------------------------------------------------ head */

eh_rc eh_audit_head(const char *file, char head[EH_AUDIT_HASH_SIZE], char *err, size_t errlen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int64_t seq = 0;
    char why[256] = "";
    eh_rc rc = EH_ERR_IO;

    if (fd < 0) {
        snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
        goto cleanup;
    }
    if (lock_fd(fd, LOCK_SH) != 0 || fstat(fd, &st) != 0) {
        snprintf(why, sizeof(why), "cannot lock: %s", strerror(errno));
        goto cleanup;
    }
    rc = read_last(fd, st.st_size, &seq, head, why, sizeof(why));
cleanup:
    if (rc != EH_OK)
        snprintf(err, errlen, "%s: %s", file, why[0] ? why : eh_strerror(rc));
    if (fd >= 0)
        close(fd);
    return rc;
}
