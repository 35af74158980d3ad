/* eidhub: verifying the audit trail (broker/audit.h, docs/audit.md):
 * the chain of hashes, seq continuity and the checkpoints' signatures. */
#include "broker/b64check.h"
#include "broker/audit.h"

#include <cjose/cjose.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* A public key a checkpoint may be signed with. */
typedef struct vkey {
    char *kid;
    cjose_jwk_t *jwk;
} vkey;

/* A verification in progress. */
typedef struct verifier {
    vkey *keys; /* NULL: no JWK Set given */
    size_t n_keys;
    eh_audit_report *report;
    int64_t line;                  /* the line being checked, 1-based */
    int64_t seq;                   /* the seq of the line before (0 at the start) */
    char prev[EH_AUDIT_HASH_SIZE]; /* the hash of the line before */
} verifier;

/* bad records the first problem, at the current line, and returns
 * EH_ERR_INVALID. */
static eh_rc bad(verifier *vf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static eh_rc bad(verifier *vf, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    vf->report->bad_line = vf->line;
    snprintf(vf->report->problem, sizeof(vf->report->problem), "line %" PRId64 ": %s", vf->line,
             msg);
    return EH_ERR_INVALID;
}

static void keys_free(verifier *vf)
{
    for (size_t i = 0; i < vf->n_keys; i++) {
        free(vf->keys[i].kid);
        cjose_jwk_release(vf->keys[i].jwk);
    }
    free(vf->keys);
    vf->keys = NULL;
    vf->n_keys = 0;
}

/* keys_load imports every key of the JWK Set text jwks (keys without a kid
 * are of no use: a checkpoint names its key). */
static eh_rc keys_load(verifier *vf, const char *jwks)
{
    json_t *set = json_loads(jwks, JSON_REJECT_DUPLICATES, NULL), *k;
    json_t *list = json_object_get(set, "keys");
    char *text = NULL;
    size_t i;
    cjose_err cerr;
    eh_rc rc = EH_ERR_INVALID;

    if (!json_is_array(list)) {
        snprintf(vf->report->problem, sizeof(vf->report->problem),
                 "the JWK Set is not a JSON object with a \"keys\" array");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((vf->keys = calloc(json_array_size(list) + 1, sizeof(*vf->keys))) == NULL)
        goto cleanup;
    json_array_foreach(list, i, k)
    {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        vkey *v = &vf->keys[vf->n_keys];
        if (kid == NULL)
            continue;
        free(text);
        if ((text = json_dumps(k, JSON_COMPACT)) == NULL)
            goto cleanup;
        v->jwk = eh_jwk_ok(k) ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
        if (v->jwk == NULL) {
            rc = EH_ERR_INVALID;
            snprintf(vf->report->problem, sizeof(vf->report->problem),
                     "the JWK Set's key %.64s cannot be read: %s", kid, cerr.message);
            goto cleanup;
        }
        vf->n_keys++;
        if ((v->kid = strdup(kid)) == NULL)
            goto cleanup;
    }
    rc = EH_OK;
cleanup:
    free(text);
    json_decref(set);
    return rc;
}

/* check_checkpoint verifies the jws of a checkpoint entry: a known key, its
 * signature, and that it signs the line before (seq and head). */
static eh_rc check_checkpoint(verifier *vf, const json_t *entry)
{
    const char *compact = json_string_value(json_object_get(entry, "jws"));
    const char *alg, *kid, *typ;
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    cjose_jwk_t *jwk = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    json_t *claims = NULL;
    const char *head;
    json_t *seq;
    cjose_err cerr;
    eh_rc rc;

    if (compact == NULL) {
        rc = bad(vf, "a checkpoint without its jws");
        goto cleanup;
    }
    if (vf->keys == NULL) {
        rc = bad(vf, "a checkpoint, but no keys to check its signature with (give --jwks or "
                     "--config)");
        goto cleanup;
    }
    jws = eh_jws_compact_ok(compact, strlen(compact))
              ? cjose_jws_import(compact, strlen(compact), &cerr)
              : NULL;
    if (jws == NULL || (hdr = cjose_jws_get_protected(jws)) == NULL) {
        rc = bad(vf, "the checkpoint's jws is not a JWS");
        goto cleanup;
    }
    alg = cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr);
    kid = cjose_header_get(hdr, CJOSE_HDR_KID, &cerr);
    typ = cjose_header_get(hdr, "typ", &cerr);
    if (alg == NULL || (strcmp(alg, "ES256") != 0 && strcmp(alg, "PS256") != 0)) {
        rc = bad(vf, "the checkpoint is signed with alg %.32s (only ES256 and PS256 are accepted)",
                 alg ? alg : "(none)");
        goto cleanup;
    }
    if (typ == NULL || strcmp(typ, EH_AUDIT_CHECKPOINT_TYP) != 0) {
        rc = bad(vf, "the checkpoint's JWS is not of type %s", EH_AUDIT_CHECKPOINT_TYP);
        goto cleanup;
    }
    for (size_t i = 0; kid != NULL && i < vf->n_keys && jwk == NULL; i++) {
        if (strcmp(vf->keys[i].kid, kid) == 0)
            jwk = vf->keys[i].jwk;
    }
    if (jwk == NULL) {
        rc = bad(vf,
                 "the checkpoint is signed by key %.64s, which is not in the JWK Set "
                 "(forged, or signed by a retired key: give its JWK Set too)",
                 kid ? kid : "(no kid)");
        goto cleanup;
    }
    if (!cjose_jws_verify(jws, jwk, &cerr) ||
        !cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) {
        rc = bad(vf, "the checkpoint's signature does not verify (forged or altered checkpoint)");
        goto cleanup;
    }
    claims = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
    seq = json_object_get(claims, "seq");
    head = json_string_value(json_object_get(claims, "head"));
    if (!json_is_integer(seq) || json_integer_value(seq) != vf->seq || head == NULL ||
        strcmp(head, vf->prev) != 0) {
        rc = bad(vf,
                 "the checkpoint signs another head than that of line %" PRId64 " (seq %" PRId64
                 "): the entries before it were changed",
                 vf->line - 1, vf->seq);
        goto cleanup;
    }
    rc = EH_OK;
cleanup:
    json_decref(claims);
    cjose_jws_release(jws);
    return rc;
}

/* check_line checks one line (len bytes, newline included when present):
 * its form, seq and prev, and a checkpoint's signature. */
static eh_rc check_line(verifier *vf, const char *line, size_t len)
{
    json_t *entry = NULL, *seq, *t;
    const char *type, *prev;
    int64_t s;
    eh_rc rc;

    if (len == 0 || line[len - 1] != '\n') {
        rc = bad(vf, "truncated: the last line is incomplete (no newline at its end)");
        goto cleanup;
    }
    len--;
    if (len > EH_AUDIT_LINE_MAX) {
        rc = bad(vf, "longer than %d bytes", EH_AUDIT_LINE_MAX);
        goto cleanup;
    }
    entry = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    seq = json_object_get(entry, "seq");
    t = json_object_get(entry, "time");
    type = json_string_value(json_object_get(entry, "type"));
    prev = json_string_value(json_object_get(entry, "prev"));
    if (!json_is_object(entry) || !json_is_integer(seq) || !json_is_integer(t) || type == NULL ||
        prev == NULL) {
        rc = bad(vf, "not an audit entry (a JSON object with seq, time, type and prev)");
        goto cleanup;
    }
    s = json_integer_value(seq);
    if (s != vf->seq + 1) {
        if (vf->seq == 0)
            rc = bad(vf, "seq %" PRId64 ", but a log starts at seq 1 (entries before it deleted)",
                     s);
        else if (s > vf->seq + 1)
            rc = bad(vf, "seq %" PRId64 " follows seq %" PRId64 " (entries deleted or seq edited)",
                     s, vf->seq);
        else
            rc = bad(vf,
                     "seq %" PRId64 " follows seq %" PRId64
                     " (entries reordered, repeated or edited)",
                     s, vf->seq);
        goto cleanup;
    }
    if (strcmp(prev, vf->prev) != 0) {
        if (vf->line == 1)
            rc = bad(vf, "prev hash is not that of an empty log (line 1 edited, or entries before "
                         "it deleted)");
        else
            rc = bad(vf,
                     "prev hash does not match line %" PRId64
                     " (edited or deleted entry: line %" PRId64
                     " was changed, or entries between them removed)",
                     vf->line - 1, vf->line - 1);
        goto cleanup;
    }
    if (strcmp(type, "checkpoint") == 0) {
        if ((rc = check_checkpoint(vf, entry)) != EH_OK)
            goto cleanup;
        vf->report->last_checkpoint_seq = s;
        vf->report->unsigned_entries = -1; /* the checkpoint itself is not counted */
    }
    vf->report->unsigned_entries++;
    vf->seq = s;
    rc = eh_audit_hash(line, len, vf->prev);
cleanup:
    json_decref(entry);
    return rc;
}

eh_rc eh_audit_verify(const char *file, const char *jwks_json, const char *published_head,
                      eh_audit_report *report)
{
    verifier vf;
    FILE *f = NULL;
    int fd = -1, head_found;
    struct stat st;
    char *line = NULL;
    size_t cap = 0;
    off_t left;
    eh_rc rc;

    memset(report, 0, sizeof(*report));
    memset(&vf, 0, sizeof(vf));
    vf.report = report;
    if ((rc = eh_audit_hash("", 0, vf.prev)) != EH_OK)
        goto cleanup;
    head_found = published_head != NULL && strcmp(published_head, vf.prev) == 0;
    if (jwks_json != NULL && (rc = keys_load(&vf, jwks_json)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_IO;
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(report->problem, sizeof(report->problem), "%s: cannot open: %s", file,
                 strerror(errno));
        goto cleanup;
    }
    /* Appenders hold an exclusive lock while they write: under a shared
     * one, the size is a boundary between whole lines, and what lies
     * before it never changes by appending. */
    if (flock(fd, LOCK_SH) != 0 || fstat(fd, &st) != 0 || flock(fd, LOCK_UN) != 0 ||
        (f = fdopen(fd, "r")) == NULL) {
        snprintf(report->problem, sizeof(report->problem), "%s: cannot read: %s", file,
                 strerror(errno));
        goto cleanup;
    }
    fd = -1;
    left = st.st_size;
    rc = EH_OK;
    while (left > 0 && rc == EH_OK) {
        ssize_t n = getline(&line, &cap, f);
        if (n <= 0) {
            snprintf(report->problem, sizeof(report->problem), "%s: cannot read: %s", file,
                     ferror(f) ? strerror(errno) : "the file became shorter");
            rc = EH_ERR_IO;
            goto cleanup;
        }
        if ((off_t)n > left)
            n = (ssize_t)left; /* only what existed when verification began */
        left -= n;
        vf.line++;
        rc = check_line(&vf, line, (size_t)n);
        if (rc == EH_OK) {
            report->entries++;
            head_found = head_found || (published_head && strcmp(published_head, vf.prev) == 0);
        }
    }
    if (rc != EH_OK)
        goto cleanup;
    memcpy(report->head, vf.prev, sizeof(report->head));
    if (published_head != NULL && !head_found) {
        rc = EH_ERR_INVALID;
        snprintf(report->problem, sizeof(report->problem),
                 "the published head %.43s is the hash of no line: the log was rewritten or cut "
                 "short after it was published",
                 published_head);
    }
cleanup:
    free(line);
    keys_free(&vf);
    if (f != NULL)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return rc;
}
