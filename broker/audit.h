/* eidhub: the tamper-evident audit trail (docs/audit.md).
 *
 * Every release of attributes to a requester and every policy change is
 * appended to one file, one JSON object per line (JSON Lines). Each entry
 * carries "seq" (1, 2, 3, ... without gaps), "time" (Unix seconds), "type"
 * and "prev": base64url(SHA-256(the bytes of the previous line, without its
 * newline)); the first line's prev is the hash of nothing. So an entry that
 * is edited, deleted, inserted or moved breaks the chain after it. Every
 * `checkpoint_every` entries a "checkpoint" entry follows, whose "jws" is a
 * JWS (the broker's active signing key) over {"iss", "seq", "head", "time"}:
 * the head (the hash of the line before it) at that seq. The hash of the
 * last line, the head, can be published so that an outside party can hold
 * the operator to everything before it.
 *
 * Never in it: attribute values, names of people, national identifiers.
 * A release entry holds the requester, the method, the level of assurance,
 * the NAMES of the released attributes, the policy name and version, and a
 * pseudonymous subject (the pairwise subject of the citizen for the sector
 * EH_AUDIT_SECTOR, which no requester can have: a policy's sector has no
 * spaces).
 *
 * Appending is safe from many processes (nginx workers) and threads at
 * once: each append opens the file (O_APPEND), takes an exclusive flock(),
 * reads the last line for the previous hash and seq, writes its line(s)
 * with one write(), fdatasync()s, and closes. A write that fails is cut
 * off again (ftruncate), so the file only ever holds whole lines. */
#ifndef EH_AUDIT_H
#define EH_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/authn.h"
#include "broker/keys.h"
#include "broker/rc.h"

struct eh_config;

/* The sector of the audit log's pseudonymous subjects (never a policy's). */
#define EH_AUDIT_SECTOR "eidhub audit"
/* A checkpoint after every this many entries, unless configured. */
#define EH_AUDIT_CHECKPOINT_DEFAULT 100
#define EH_AUDIT_CHECKPOINT_MAX 1000000
/* base64url of a SHA-256 (43 characters) and its NUL. */
#define EH_AUDIT_HASH_SIZE 44
/* The longest line the log accepts or verifies. */
#define EH_AUDIT_LINE_MAX (64 * 1024)
/* The "typ" of a checkpoint's JWS header. */
#define EH_AUDIT_CHECKPOINT_TYP "audit-checkpoint+jwt"

typedef struct eh_audit eh_audit;
typedef struct eh_audit_txn eh_audit_txn;

/* eh_audit_hash writes base64url(SHA-256(len bytes of data)) into out: the
 * hash of a line (without its newline) that the next line's prev holds. */
eh_rc eh_audit_hash(const void *data, size_t len, char out[EH_AUDIT_HASH_SIZE]);

/* eh_audit_new prepares appending to file (absolute path; created with mode
 * 0640 at the first entry) with a checkpoint after every checkpoint_every
 * (1 to EH_AUDIT_CHECKPOINT_MAX) entries, signed with the active key of
 * keys under the name issuer. keys, issuer and subject_secret are borrowed
 * and must outlive the audit; subject_secret may be NULL (then release
 * entries carry no subject). Nothing is opened yet. Caller frees with
 * eh_audit_free. */
eh_rc eh_audit_new(const char *file, unsigned checkpoint_every, const eh_keyset *keys,
                   const char *issuer, const unsigned char *subject_secret, size_t secret_len,
                   eh_audit **out);

/* eh_audit_load reads the configuration's "audit" member (member, from
 * cfg's file): {"file": path (relative to the configuration's folder),
 * "checkpoint_every": N}. The file's folder must exist; the file itself is
 * created by the first append (by nginx's workers, so they own it). *out is
 * NULL when member is NULL (no audit configured). Errors are one line
 * "<file>: $.audit...: <what>" in err (EH_ERR_CONFIG). keys and cfg are
 * borrowed as for eh_audit_new. */
eh_rc eh_audit_load(const json_t *member, const struct eh_config *cfg, const eh_keyset *keys,
                    eh_audit **out, char *err, size_t errlen);

/* eh_audit_free releases a (NULL is fine). */
void eh_audit_free(eh_audit *a);

/* eh_audit_file_get returns the log's path (borrowed). */
const char *eh_audit_file_get(const eh_audit *a);

/* eh_audit_begin opens the log and takes its exclusive lock, for a change
 * that must not happen unless it can be audited: begin, make the change,
 * then eh_audit_commit its entry, or eh_audit_abort when the change did
 * not happen. While a transaction is open, no other append (of any process
 * or thread, this one included) can proceed: commit or abort soon, and
 * append nothing else in between. *out is NULL when a is NULL (no audit:
 * commit and abort accept NULL). Fails (EH_ERR_IO, logged) when the log
 * cannot be opened, locked or read, or ends with an incomplete line. */
eh_rc eh_audit_begin(const eh_audit *a, eh_audit_txn **out);

/* eh_audit_commit appends one entry of type with the members of fields
 * (borrowed; must not hold seq, time, type or prev) and, when the next seq
 * is a multiple of checkpoint_every + 1, a checkpoint after it (so that
 * each checkpoint follows checkpoint_every entries), in one write, then
 * fdatasync()s, unlocks and frees t (also on failure, which is logged and
 * leaves the file as it was). On success *seq (may be NULL) is the entry's
 * seq. */
eh_rc eh_audit_commit(eh_audit_txn *t, const char *type, const json_t *fields, int64_t *seq);

/* eh_audit_abort unlocks and frees t without writing (NULL is fine). */
void eh_audit_abort(eh_audit_txn *t);

/* eh_audit_append is begin + commit: appends one entry (EH_OK and nothing
 * written when a is NULL). */
eh_rc eh_audit_append(const eh_audit *a, const char *type, const json_t *fields, int64_t *seq);

/* eh_audit_release appends a "release" entry: requester, method, loa, the
 * sorted names of released's attributes (never their values), the
 * pseudonymous subject of released (omitted without a subject secret) and
 * {"name": policy_name, "version": policy_version}. */
eh_rc eh_audit_release(const eh_audit *a, const char *requester, const char *policy_name,
                       int policy_version, const eh_identity *released);

/* eh_audit_policy_change_fields returns the members of a "policy_change"
 * entry (caller decrefs): name, old_version, new_version, account, why
 * (the operator's text), action (e.g. "edit", "rollback to version 2"). */
json_t *eh_audit_policy_change_fields(const char *name, int old_version, int new_version,
                                      const char *account, const char *why, const char *action);

/* eh_audit_policy_refused appends a "policy_refused" entry: account,
 * endpoint, reason. */
eh_rc eh_audit_policy_refused(const eh_audit *a, const char *account, const char *endpoint,
                              const char *reason);

/* eh_audit_checkpoint appends a checkpoint now, signing the current head
 * (for `eidhubctl audit checkpoint`, e.g. before publishing the head). The
 * log must exist already (EH_ERR_NOT_FOUND otherwise: a checkpoint never
 * creates it). *seq (may be NULL) is the checkpoint's seq. */
eh_rc eh_audit_checkpoint(const eh_audit *a, int64_t *seq);

/* eh_audit_head writes the head of the log at file (the hash of its last
 * line; of nothing for an empty log) into head. Fails when the file cannot
 * be read or its last line is incomplete (one line in err). */
eh_rc eh_audit_head(const char *file, char head[EH_AUDIT_HASH_SIZE], char *err, size_t errlen);

/* What eh_audit_verify found. */
typedef struct eh_audit_report {
    int64_t entries;               /* lines checked (all of them when intact) */
    int64_t last_checkpoint_seq;   /* 0: none */
    int64_t unsigned_entries;      /* entries after the last checkpoint */
    char head[EH_AUDIT_HASH_SIZE]; /* the hash of the last line */
    int64_t bad_line;              /* 0 when intact, else the first bad line (1-based) */
    char problem[512];             /* "line 17: ..." when not intact */
} eh_audit_report;

/* eh_audit_verify re-reads the log at file (the part of it that existed
 * when it started: appends going on meanwhile are fine) and checks every
 * line: a JSON object, seq one more than the line before (1 first), prev
 * the hash of the line before, and for a checkpoint, a JWS that verifies
 * with a key of jwks_json (a JWK Set text; ES256 or PS256, found by kid)
 * and signs this very seq - 1 and head. Checkpoints cannot be checked
 * without keys: jwks_json NULL makes any checkpoint a failure. When
 * published_head is not NULL, one of the lines (or the empty log) must
 * hash to it: the log still holds what was published. Returns EH_OK when
 * all is well; EH_ERR_INVALID with report->bad_line and report->problem
 * naming the first bad line; EH_ERR_IO when the file cannot be read (the
 * reason in problem). */
eh_rc eh_audit_verify(const char *file, const char *jwks_json, const char *published_head,
                      eh_audit_report *report);

#endif
