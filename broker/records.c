#include "broker/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/pairwise.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/flow.h"

/* key_of returns "rel:<pseudonym>" of the citizen (caller frees). */
static eh_rc key_of(struct eh_broker *b, const eh_identity *id, char **key)
{
    const eh_config *cfg = eh_broker_config_get(b);
    char subject[256], *pseudonym = NULL;
    eh_rc rc;

    if (cfg->subject_secret == NULL)
        return EH_ERR_NOT_FOUND;
    if ((rc = eh_identity_subject(id, subject, sizeof(subject))) != EH_OK ||
        (rc = eh_pairwise_subject(cfg->subject_secret, cfg->subject_secret_len, "my-eidhub",
                                  subject, &pseudonym)) != EH_OK)
        return rc;
    if (asprintf(key, "rel:%s", pseudonym) < 0)
        rc = EH_ERR_NOMEM;
    free(pseudonym);
    return rc;
}

/* The stored list is JSON Lines, newest first: one release per line, each
 * line an object written by jansson (compact JSON holds no raw newline).
 * Adding a release puts its line in front of the stored text and cuts the
 * text after EH_RECORDS_MAX lines, so a login neither parses nor rewrites
 * the whole list (with a full list that was about a quarter of a worker's
 * CPU: bench/results/profile-2026-11-23.md); expired releases are cut from
 * the end, where the oldest are, and never shown. */

/* line_time returns the "time" of one stored line, or -1 when the line is
 * not a release (then it is treated as expired). */
static json_int_t line_time(const char *line, size_t len)
{
    json_t *e = json_loadb(line, len, 0, NULL);
    json_t *t = json_object_get(e, "time");
    json_int_t v = json_is_integer(t) ? json_integer_value(t) : -1;

    json_decref(e);
    return v;
}

/* oldest_kept returns the earliest time a release may have to be kept. */
static json_int_t oldest_kept(struct eh_broker *b)
{
    return (json_int_t)time(NULL) - (json_int_t)eh_broker_config_get(b)->retention_days * 86400;
}

eh_rc eh_records_list(struct eh_broker *b, const eh_identity *citizen, json_t **out)
{
    char *key = NULL, *text = NULL;
    size_t len = 0;
    json_int_t oldest = oldest_kept(b);
    eh_rc rc = key_of(b, citizen, &key);

    *out = NULL;
    if (rc == EH_OK)
        rc = eh_store_get(eh_broker_store_get(b), key, &text, &len);
    if (rc == EH_ERR_NOT_FOUND)
        rc = EH_OK;
    if (rc == EH_OK && (*out = json_array()) == NULL)
        rc = EH_ERR_NOMEM;
    for (const char *p = text, *end = text + len; rc == EH_OK && p != NULL && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *stop = nl ? nl : end;
        json_t *e = json_loadb(p, (size_t)(stop - p), 0, NULL);
        json_t *t = json_object_get(e, "time");
        /* a line that is no release (damaged) is skipped, an expired one hidden */
        if (json_is_object(e) && json_is_integer(t) && json_integer_value(t) >= oldest &&
            json_array_append(*out, e) != 0)
            rc = EH_ERR_NOMEM;
        json_decref(e);
        p = nl ? nl + 1 : end;
    }
    if (rc != EH_OK) {
        json_decref(*out);
        *out = NULL;
    }
    free(key);
    free(text);
    return rc;
}

/* kept_prefix returns how many bytes at the start of the stored text old
 * (len bytes, whole lines) stay when a new line goes in front: at most
 * max lines, without the expired ones at the end. */
static size_t kept_prefix(const char *old, size_t len, size_t max, json_int_t oldest)
{
    size_t cut = 0, lines = 0;

    while (cut < len && lines < max) {
        const char *nl = memchr(old + cut, '\n', len - cut);
        cut = nl ? (size_t)(nl - old) + 1 : len;
        lines++;
    }
    while (cut > 0) {
        size_t end = old[cut - 1] == '\n' ? cut - 1 : cut, start = end;
        while (start > 0 && old[start - 1] != '\n')
            start--;
        if (line_time(old + start, end - start) >= oldest)
            break;
        cut = start;
    }
    return cut;
}

eh_rc eh_records_add(struct eh_broker *b, const eh_txn *txn, const eh_identity *released)
{
    const eh_config *cfg = eh_broker_config_get(b);
    eh_store *store = eh_broker_store_get(b);
    json_t *entry = NULL, *names = json_array(), *v;
    const char *name;
    char *key = NULL, *old = NULL, *line = NULL, *text = NULL;
    size_t old_len = 0, text_len = 0;
    eh_buf out;
    eh_rc rc;

    eh_buf_init(&out);
    if (names == NULL)
        return EH_ERR_NOMEM;
    json_object_foreach(released->attributes, name, v) {
        json_array_append_new(names, json_string(name));
    }
    if ((rc = key_of(b, released, &key)) != EH_OK)
        goto cleanup;
    rc = eh_store_get(store, key, &old, &old_len);
    if (rc != EH_OK && rc != EH_ERR_NOT_FOUND)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    entry =
        json_pack("{s:I, s:s, s:s?, s:s, s:s?, s:O}", "time", (json_int_t)time(NULL), "requester",
                  txn->authn->requester, "requester_name", eh_flow_requester_name(b, txn), "loa",
                  eh_loa_name(released->loa), "method", released->method, "attributes", names);
    if (entry == NULL || (line = json_dumps(entry, JSON_COMPACT)) == NULL)
        goto cleanup;
    eh_buf_append(&out, line);
    eh_buf_append(&out, "\n");
    if (old != NULL)
        eh_buf_append_len(&out, old, kept_prefix(old, old_len, EH_RECORDS_MAX - 1, oldest_kept(b)));
    if ((rc = eh_buf_finish(&out, &text, &text_len)) != EH_OK)
        goto cleanup;
    rc = eh_store_set(store, key, text, text_len, cfg->retention_days * 86400u * 1000u);
cleanup:
    free(key);
    free(old);
    free(line);
    free(text);
    eh_buf_free(&out);
    json_decref(names);
    json_decref(entry);
    return rc;
}
