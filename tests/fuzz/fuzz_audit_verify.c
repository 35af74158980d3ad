/* Fuzz target: the audit trail's verification (eh_audit_verify and
 * eh_audit_head), which reads a log that may have been tampered with; and
 * its append path with hostile field values.
 *
 * Input, by its first byte:
 *   0x01       the rest is lines of JSON objects: each becomes the fields of
 *              one entry appended (eh_audit_append, a checkpoint after every
 *              two, signed with tests/fuzz/fixtures/oidc-ec.key.pem) to a
 *              new log; that log must then verify intact, with its head as
 *              the published head (append and verify agree, whatever the
 *              values: newlines, format characters, huge numbers);
 *   otherwise  the bytes of a log file, verified with that key's JWK Set and
 *              with none, and with a published head.
 *
 * Invariants: problem is NUL-terminated and one line; an intact log
 * reports as many entries as it has lines; a bad one names a line. Set
 * FZ_DUMP=path to keep the log mode 0x01 wrote (to make seeds). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/audit.h"
#include "broker/keys.h"
#include "tests/fuzz/fuzz_util.h"

static eh_keyset *keys;
static char *jwks;
static char log_path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];

    fz_init();
    if (eh_keyset_new(&keys) != EH_OK ||
        eh_keyset_add_pem(keys, fz_fixture("oidc-ec.key.pem"), 1, err, sizeof(err)) != EH_OK ||
        eh_keyset_finish(keys, err, sizeof(err)) != EH_OK ||
        eh_keyset_jwks_json(keys, &jwks) != EH_OK) {
        fprintf(stderr, "audit keys: %s\n", err);
        abort();
    }
    snprintf(log_path, sizeof(log_path), "%s/audit.log", fz_tmpdir());
    return 0;
}

static void check_report(eh_rc rc, const eh_audit_report *r, size_t lines)
{
    FZ_CHECK(fz_terminated(r->problem, sizeof(r->problem)));
    FZ_CHECK(strpbrk(r->problem, "\r\n") == NULL);
    FZ_CHECK(fz_terminated(r->head, sizeof(r->head)));
    if (rc == EH_OK) {
        FZ_CHECK(r->bad_line == 0);
        FZ_CHECK(r->entries >= 0 && (size_t)r->entries <= lines);
        FZ_CHECK(strlen(r->head) == EH_AUDIT_HASH_SIZE - 1);
    } else if (rc == EH_ERR_INVALID) {
        FZ_CHECK(r->problem[0] != '\0');
    }
}

static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n + (size > 0 && data[size - 1] != '\n');
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
}

static void verify_bytes(const uint8_t *data, size_t size)
{
    eh_audit_report r;
    char head[EH_AUDIT_HASH_SIZE], err[256];
    eh_rc rc;

    write_file(log_path, data, size);
    rc = eh_audit_verify(log_path, jwks, NULL, &r);
    check_report(rc, &r, count_lines(data, size));
    rc = eh_audit_verify(log_path, NULL, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
    check_report(rc, &r, count_lines(data, size));
    memset(err, 'X', sizeof(err));
    memset(head, 'X', sizeof(head));
    rc = eh_audit_head(log_path, head, err, sizeof(err));
    if (rc == EH_OK)
        FZ_CHECK(fz_terminated(head, sizeof(head)) && strlen(head) == EH_AUDIT_HASH_SIZE - 1);
    else
        FZ_CHECK(fz_terminated(err, sizeof(err)));
}

static void append_and_verify(const uint8_t *data, size_t size)
{
    eh_audit *a = NULL;
    eh_audit_report r;
    char *parts[16], head[EH_AUDIT_HASH_SIZE], err[256];
    size_t n = fz_split(data, size, '\n', parts, 16), appended = 0;
    eh_rc rc;

    unlink(log_path);
    if (eh_audit_new(log_path, 2, keys, "https://id.example.ee",
                     (const unsigned char *)"0123456789abcdef0123456789abcdef", 32, &a) != EH_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *fields = json_loads(parts[i], 0, NULL);
        if (json_is_object(fields) && eh_audit_append(a, "fuzz", fields, NULL) == EH_OK)
            appended++;
        json_decref(fields);
    }
    if (appended > 0) {
        FZ_CHECK(eh_audit_head(log_path, head, err, sizeof(err)) == EH_OK);
        rc = eh_audit_verify(log_path, jwks, head, &r);
        if (rc != EH_OK)
            fprintf(stderr, "a log eidhub wrote does not verify: %s\n", r.problem);
        FZ_CHECK(rc == EH_OK);
        FZ_CHECK(r.entries >= (int64_t)appended);
        if (getenv("FZ_DUMP") != NULL) {
            char cmd[1024];
            snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", log_path, getenv("FZ_DUMP"));
            if (system(cmd) != 0)
                fprintf(stderr, "cannot copy the log\n");
        }
    }
    eh_audit_free(a);
    fz_free_parts(parts, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 1)
        append_and_verify(data + 1, size - 1);
    else
        verify_bytes(data, size);
    return 0;
}
