/* eidhub: the pages and transaction state Mobile-ID and Smart-ID share (see
 * sk_flow.h). */
#include "broker/b64check.h"
#include "broker/backends/sk_flow.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/backends/sk_ocsp.h"
#include "broker/backends/sk_verify.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"
#include "broker/rate_limit.h"

#define KEY_MAX 96
#define PATH_MAX_LEN 64

/* locale_of returns the transaction's locale. */
static const char *locale_of(const eh_txn *txn)
{
    return txn->authn->locale ? txn->authn->locale : "en";
}

/* key_of writes the catalog key "<prefix>_<suffix>" into key. */
static const char *key_of(char key[KEY_MAX], const eh_sk_ops *ops, const char *suffix)
{
    snprintf(key, KEY_MAX, "%s_%s", ops->prefix, suffix);
    return key;
}

/* path_of writes the backend's path "/auth/<prefix><suffix>" into path. */
static const char *path_of(char path[PATH_MAX_LEN], const eh_sk_ops *ops, const char *suffix)
{
    snprintf(path, PATH_MAX_LEN, "/auth/%s%s", ops->prefix, suffix);
    return path;
}

/* text_of returns the catalog text of "<prefix>_<suffix>" in locale. */
static const char *text_of(const eh_sk_ops *ops, const char *locale, const char *suffix)
{
    char key[KEY_MAX];
    return eh_i18n(locale, key_of(key, ops, suffix));
}

void eh_sk_outcome_set(char outcome[EH_SK_OUTCOME_MAX], const char *text)
{
    snprintf(outcome, EH_SK_OUTCOME_MAX, "%s", text ? text : "");
}

/* The flow's own refusals of a verified answer (eh_sk_flow_verify), each
 * with its message "<prefix>_<outcome>". */
static const char *const flow_results[] = {"revoked", "revocation_unavailable", NULL};

/* known_result tells whether outcome is one of the backend's results or
 * of the flow's own refusals with a message. */
static int known_result(const eh_sk_ops *ops, const char *outcome)
{
    for (size_t i = 0; ops->results[i] != NULL; i++) {
        if (strcmp(outcome, ops->results[i]) == 0)
            return 1;
    }
    for (size_t i = 0; flow_results[i] != NULL; i++) {
        if (strcmp(outcome, flow_results[i]) == 0)
            return 1;
    }
    return 0;
}

/* send_form renders the backend's form with an error message (catalog key,
 * may be NULL) and the values entered so far (may be NULL). */
static eh_rc send_form(const eh_sk_ops *ops, eh_http_response *resp, int status, const eh_txn *txn,
                       const char *error_key, const json_t *values, const char *hint)
{
    const char *locale = locale_of(txn);
    char *html = NULL;
    eh_buf b;
    eh_rc rc;

    eh_buf_init(&b);
    if (error_key != NULL) {
        eh_buf_append(&b, "<p class=\"error\" role=\"alert\" id=\"error\">");
        eh_buf_append_html(&b, eh_i18n(locale, error_key));
        eh_buf_append(&b, "</p>\n");
    }
    eh_buf_appendf(&b,
                   "<form method=\"post\" action=\"/auth/%s\" id=\"%s-form\">\n"
                   "<input type=\"hidden\" name=\"csrf\" value=\"",
                   ops->prefix, ops->prefix);
    eh_buf_append_html(&b, txn->csrf);
    eh_buf_append(&b, "\">\n");
    ops->form_fields(&b, locale, values, hint);
    eh_buf_appendf(&b, "<p><button type=\"submit\" id=\"%s-submit\">", ops->prefix);
    eh_buf_append_html(&b, text_of(ops, locale, "submit"));
    eh_buf_append(&b, "</button></p>\n</form>\n");
    eh_login_append_cancel(&b, txn, locale);
    rc = eh_buf_finish(&b, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, status, locale, text_of(ops, locale, "title"), NULL, html);
    free(html);
    return rc;
}

/* send_unavailable answers that the backend is not configured. */
static eh_rc send_unavailable(const eh_sk_ops *ops, eh_http_response *resp, const eh_txn *txn)
{
    char key[KEY_MAX];
    return eh_page_error(resp, 404, locale_of(txn), key_of(key, ops, "unavailable"), "/login",
                         "try_again");
}

eh_rc eh_sk_form_handle(const eh_sk_ops *ops, eh_broker *b, const eh_http_request *req,
                        eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (eh_broker_backend_get(b, ops->name) == NULL) {
        rc = send_unavailable(ops, resp, txn);
    } else {
        /* after a failed attempt, the form keeps what the citizen typed */
        rc = send_form(ops, resp, 200, txn, NULL, json_object_get(txn->backend, "retry"),
                       txn->authn->login_hint);
    }
    eh_txn_free(txn);
    return rc;
}

/* b64 encodes bytes as standard base64 (caller frees). */
static char *b64(const unsigned char *data, size_t len)
{
    char *out = NULL;
    size_t out_len = 0;
    cjose_err err;
    return cjose_base64_encode(data, len, &out, &out_len, &err) ? out : NULL;
}

/* over_limit counts one attempt against each of the backend's counters and
 * the client address's, every one of them, in one exchange with the store,
 * and tells whether any is now over its limit. */
static int over_limit(const eh_sk_ops *ops, eh_store *store, const void *state,
                      const json_t *entered, const eh_http_request *req)
{
    const eh_sk_settings *s = ops->settings(state);
    eh_sk_counter counters[EH_SK_COUNTERS_MAX];
    eh_rate_counter all[EH_SK_COUNTERS_MAX + 1];
    char sections[EH_SK_COUNTERS_MAX + 1][PATH_MAX_LEN];
    size_t n = ops->counters(state, entered, counters), k = 0;

    for (size_t i = 0; i < n && i < EH_SK_COUNTERS_MAX; i++, k++) {
        snprintf(sections[k], sizeof(sections[k]), "%s:%s", ops->prefix, counters[i].kind);
        all[k] = (eh_rate_counter){sections[k], counters[i].value, counters[i].limit};
    }
    snprintf(sections[k], sizeof(sections[k]), "%s:addr", ops->prefix);
    all[k] = (eh_rate_counter){sections[k], req->client_addr, s->limit_address};
    return eh_rate_limited_all(store, all, k + 1, s->limit_window_s);
}

/* record_outcome stores the end of the session in the transaction: the
 * session id is dropped (it is never polled again) and either the verified
 * identity or the reason is kept for /finish. */
static eh_rc record_outcome(eh_store *store, eh_txn *txn, const char *outcome,
                            const eh_identity *id)
{
    json_t *id_json = NULL;
    eh_rc rc;

    json_object_del(txn->backend, "session");
    json_object_del(txn->backend, "starting");
    if (json_object_set_new(txn->backend, "outcome", json_string(outcome)) != 0)
        return EH_ERR_NOMEM;
    if (id != NULL) {
        if ((rc = eh_identity_to_json(id, &id_json)) != EH_OK)
            return rc;
        if (json_object_set_new(txn->backend, "identity", id_json) != 0)
            return EH_ERR_NOMEM;
    }
    return eh_txn_save(store, txn);
}

/* normalise makes p's outcome one the flow knows: OK only with an identity,
 * a result of the backend, one of flow_results, "unavailable", else
 * "verify_failed"; and logs
 * the end of the session. */
static void normalise(const eh_sk_ops *ops, eh_sk_poll *p)
{
    if (strcmp(p->outcome, "OK") == 0) {
        if (p->identity == NULL)
            eh_sk_outcome_set(p->outcome, "verify_failed");
        return;
    }
    eh_identity_free(p->identity);
    p->identity = NULL;
    if (strcmp(p->outcome, "unavailable") == 0) {
        eh_log(EH_LOG_ERROR, "%s: session status unavailable: %s", ops->name, p->why);
        return;
    }
    if (!known_result(ops, p->outcome))
        eh_sk_outcome_set(p->outcome, "verify_failed");
    eh_log(EH_LOG_INFO, "%s: session ended with %s", ops->name, p->outcome);
}

/* start_session asks the service to start the session of txn's hash and
 * records it in txn (not saved). *refused gets the outcome when the service
 * refused the citizen, "unavailable" when it failed otherwise, "" when the
 * session started. */
static eh_rc start_session(const eh_sk_ops *ops, const void *state, eh_txn *txn,
                           const unsigned char *hash, char refused[EH_SK_OUTCOME_MAX])
{
    const json_t *entered = json_object_get(txn->backend, "entered");
    char *session = NULL, why[256] = "";
    eh_rc rc;

    refused[0] = '\0';
    rc = ops->start(state, entered, hash, locale_of(txn), &session, refused, why, sizeof(why));
    if (rc != EH_OK) {
        if (refused[0] != '\0' && known_result(ops, refused)) {
            eh_log(EH_LOG_INFO, "%s: the service refused the session: %s", ops->name, refused);
        } else {
            eh_log(EH_LOG_ERROR, "%s: cannot start a session: %s", ops->name, why);
            eh_sk_outcome_set(refused, "unavailable");
        }
        return EH_OK;
    }
    rc = json_object_set_new(txn->backend, "session", json_string(session)) == 0 ? EH_OK
                                                                                 : EH_ERR_NOMEM;
    free(session);
    return rc;
}

eh_rc eh_sk_start_handle(const eh_sk_ops *ops, eh_broker *b, const eh_http_request *req,
                         eh_http_response *resp)
{
    const void *state = eh_broker_backend_get(b, ops->name);
    eh_store *store = eh_broker_store_get(b);
    const eh_sk_settings *s = state ? ops->settings(state) : NULL;
    json_t *entered = NULL, *fresh = NULL;
    const char *error_key = NULL;
    char key[KEY_MAX], path[PATH_MAX_LEN], refused[EH_SK_OUTCOME_MAX] = "";
    char *hash_b64 = NULL;
    unsigned char hash[64];
    eh_txn *txn = NULL;
    eh_rc rc = EH_OK;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (state == NULL) {
        rc = send_unavailable(ops, resp, txn);
        goto cleanup;
    }
    if (!eh_txn_csrf_ok(txn, req)) {
        rc = eh_page_error(resp, 403, locale_of(txn), "forbidden", NULL, NULL);
        goto cleanup;
    }
    rc = ops->read_form(state, req, &entered, &error_key);
    if (rc == EH_ERR_INVALID) {
        rc = send_form(ops, resp, 400, txn, error_key, entered, NULL);
        goto cleanup;
    } else if (rc != EH_OK) {
        goto cleanup;
    }
    /* every counter counts every attempt; any one over its limit stops it */
    if (over_limit(ops, store, state, entered, req)) {
        eh_log(EH_LOG_WARN, "%s: attempt over the rate limit refused", ops->name);
        rc = send_form(ops, resp, 429, txn, key_of(key, ops, "rate_limited"), entered, NULL);
        goto cleanup;
    }
    if ((rc = eh_random_bytes(hash, s->hash_len)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    hash_b64 = b64(hash, s->hash_len);
    /* the verification code is not stored: the wait page derives it from
     * the hash again */
    fresh =
        json_pack("{s:s, s:O, s:s?}", "method", ops->name, "entered", entered, "hash", hash_b64);
    if (hash_b64 == NULL || fresh == NULL)
        goto cleanup;
    /* the backend's state changes only once the new attempt is under way */
    json_object_clear(txn->backend);
    if (json_object_update(txn->backend, fresh) != 0)
        goto cleanup;
    if (ops->start_on_submit) {
        if ((rc = start_session(ops, state, txn, hash, refused)) != EH_OK)
            goto cleanup;
        if (strcmp(refused, "unavailable") == 0) {
            rc = eh_page_error(resp, 502, locale_of(txn), key_of(key, ops, "unavailable"),
                               path_of(path, ops, ""), "try_again");
            goto cleanup;
        }
        if (refused[0] != '\0') {
            rc = record_outcome(store, txn, refused, NULL);
            if (rc == EH_OK)
                rc = eh_redirect(resp, path_of(path, ops, "/finish"));
            goto cleanup;
        }
    }
    /* otherwise the wait page shows the code before the first poll starts
     * the session */
    rc = eh_txn_save(store, txn);
    if (rc == EH_OK)
        rc = eh_redirect(resp, path_of(path, ops, "/wait"));
cleanup:
    OPENSSL_cleanse(hash, sizeof(hash));
    json_decref(entered);
    json_decref(fresh);
    free(hash_b64);
    eh_txn_free(txn);
    return rc;
}

/* in_progress tells whether txn holds a session of this backend that has not
 * ended: started, or waiting for its start (a code shown, no session yet). */
static int in_progress(const eh_sk_ops *ops, const eh_txn *txn)
{
    const char *method = json_string_value(json_object_get(txn->backend, "method"));
    return method != NULL && strcmp(method, ops->name) == 0 &&
           json_object_get(txn->backend, "outcome") == NULL &&
           json_is_string(json_object_get(txn->backend, "hash"));
}

/* start_pending starts the session the submit left to the first poll, once:
 * a "starting" mark keeps a second poll from starting it again, and a mark
 * older than the call could take means it never finished. */
static eh_rc start_pending(const eh_sk_ops *ops, eh_broker *b, const void *state, eh_txn *txn,
                           const unsigned char *hash, int *running)
{
    eh_store *store = eh_broker_store_get(b);
    json_t *mark = json_object_get(txn->backend, "starting");
    json_int_t now = (json_int_t)time(NULL);
    json_int_t grace = (json_int_t)(ops->settings(state)->request_timeout_ms / 1000u) + 2;
    char refused[EH_SK_OUTCOME_MAX];
    eh_rc rc;

    if (mark != NULL) {
        if (now - json_integer_value(mark) <= grace) {
            *running = 1;
            return EH_OK;
        }
        eh_log(EH_LOG_ERROR, "%s: a session start did not finish", ops->name);
        return record_outcome(store, txn, "unavailable", NULL);
    }
    if (json_object_set_new(txn->backend, "starting", json_integer(now)) != 0)
        return EH_ERR_NOMEM;
    if ((rc = eh_txn_save(store, txn)) != EH_OK ||
        (rc = start_session(ops, state, txn, hash, refused)) != EH_OK)
        return rc;
    if (refused[0] != '\0')
        return record_outcome(store, txn, refused, NULL);
    json_object_del(txn->backend, "starting");
    *running = 1;
    return eh_txn_save(store, txn);
}

/* poll_once follows the session of txn one step (a short long-poll, or its
 * start) and records a final outcome. *running is set while the citizen has
 * not answered. */
static eh_rc poll_once(const eh_sk_ops *ops, eh_broker *b, eh_txn *txn, int *running)
{
    const void *state = eh_broker_backend_get(b, ops->name);
    const char *hash_b64 = json_string_value(json_object_get(txn->backend, "hash"));
    const char *session = json_string_value(json_object_get(txn->backend, "session"));
    uint8_t *hash = NULL;
    size_t hash_len = 0;
    eh_sk_poll p;
    cjose_err err;
    eh_rc rc = EH_OK;

    memset(&p, 0, sizeof(p));
    *running = 0;
    if (state == NULL || !in_progress(ops, txn))
        return EH_OK; /* already ended, or never started */
    if (!eh_b64_ok(hash_b64, strlen(hash_b64), 0) ||
        !cjose_base64_decode(hash_b64, strlen(hash_b64), &hash, &hash_len, &err) ||
        hash_len != ops->settings(state)->hash_len) {
        rc = record_outcome(eh_broker_store_get(b), txn, "unavailable", NULL);
        goto cleanup;
    }
    if (session == NULL) {
        rc = start_pending(ops, b, state, txn, hash, running);
        goto cleanup;
    }
    ops->poll(state, json_object_get(txn->backend, "entered"), hash, hash_len, session, &p);
    if (p.running) {
        *running = 1;
        goto cleanup;
    }
    normalise(ops, &p);
    rc = record_outcome(eh_broker_store_get(b), txn, p.outcome, p.identity);
cleanup:
    if (hash != NULL) {
        OPENSSL_cleanse(hash, hash_len);
        cjose_get_dealloc()(hash);
    }
    eh_identity_free(p.identity);
    return rc;
}

/* verification_code_of writes the verification code of the login under
 * way in txn (from its hash) into vc; EH_ERR_NOT_FOUND when no attempt is
 * under way or its hash does not decode. */
static eh_rc verification_code_of(const eh_sk_ops *ops, eh_broker *b, const eh_txn *txn, char vc[5])
{
    const char *hash_b64 = json_string_value(json_object_get(txn->backend, "hash"));
    const void *state = eh_broker_backend_get(b, ops->name);
    uint8_t *hash = NULL;
    size_t hash_len = 0;
    cjose_err err;
    eh_rc rc = EH_ERR_NOT_FOUND;

    if (state == NULL || hash_b64 == NULL || !eh_b64_ok(hash_b64, strlen(hash_b64), 0) ||
        !cjose_base64_decode(hash_b64, strlen(hash_b64), &hash, &hash_len, &err))
        return rc;
    if (hash_len == ops->settings(state)->hash_len)
        rc = ops->verification_code(hash, hash_len, vc);
    OPENSSL_cleanse(hash, hash_len);
    cjose_get_dealloc()(hash);
    return rc;
}

eh_rc eh_sk_wait_handle(const eh_sk_ops *ops, eh_broker *b, const eh_http_request *req,
                        eh_http_response *resp)
{
    eh_txn *txn = NULL;
    const char *locale;
    char vc[5], *html = NULL, *head = NULL, path[PATH_MAX_LEN];
    eh_buf body;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    locale = locale_of(txn);
    if (verification_code_of(ops, b, txn, vc) != EH_OK) {
        rc = eh_redirect(resp, path_of(path, ops, ""));
        goto cleanup;
    }
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, text_of(ops, locale, "verification_code"));
    eh_buf_append(&body, "</p>\n<p class=\"code\" id=\"verification-code\">");
    eh_buf_append_html(&body, vc);
    eh_buf_append(&body, "</p>\n<p>");
    eh_buf_append_html(&body, text_of(ops, locale, "check_phone"));
    eh_buf_appendf(&body,
                   "</p>\n<p id=\"eh-poll\" data-status=\"/auth/%s/status\" "
                   "data-next=\"/auth/%s/finish\" aria-live=\"polite\">",
                   ops->prefix, ops->prefix);
    eh_buf_append_html(&body, text_of(ops, locale, "waiting"));
    eh_buf_append(&body, "</p>\n");
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK && asprintf(&head,
                                "<noscript><meta http-equiv=\"refresh\" "
                                "content=\"3;url=/auth/%s/finish\"></noscript>\n",
                                ops->prefix) < 0) {
        head = NULL;
        rc = EH_ERR_NOMEM;
    }
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, text_of(ops, locale, "title"), head, html);
cleanup:
    free(html);
    free(head);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_sk_status_handle(const eh_sk_ops *ops, eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp)
{
    eh_txn *txn = NULL;
    int running = 0;
    const char *state;
    char body[64];
    eh_rc rc = eh_txn_of_request(eh_broker_store_get(b), req, 0, &txn);

    if (rc == EH_OK)
        rc = poll_once(ops, b, txn, &running);
    /* RUNNING keeps the page polling; anything else sends it to /finish,
     * which tells the citizen what happened. */
    state = rc == EH_OK && running ? "RUNNING" : "COMPLETE";
    snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
    eh_txn_free(txn);
    rc = eh_http_response_set_body(resp, 200, "application/json", body, strlen(body));
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    return rc;
}

/* outcome_message maps an outcome to its catalog message. */
static const char *outcome_message(const eh_sk_ops *ops, const char *outcome, char key[KEY_MAX])
{
    if (known_result(ops, outcome))
        return key_of(key, ops, outcome);
    return key_of(key, ops, strcmp(outcome, "unavailable") == 0 ? "unavailable" : "verify_failed");
}

/* send_failure tells the citizen why the login did not work, with a way to
 * try again, choose another method or give up (the requester then gets
 * access_denied). The transaction stays for another try, with what the
 * citizen entered for the form. */
static eh_rc send_failure(const eh_sk_ops *ops, eh_broker *b, eh_txn *txn, const char *outcome,
                          eh_http_response *resp)
{
    const char *locale = locale_of(txn);
    char key[KEY_MAX], *html = NULL;
    json_t *entered = json_object_get(txn->backend, "entered");
    json_t *retry = json_is_object(entered) ? json_deep_copy(entered) : json_object();
    eh_buf body;
    eh_rc rc;

    outcome_message(ops, outcome, key);
    json_object_clear(txn->backend);
    if (retry == NULL || json_object_set_new(txn->backend, "retry", retry) != 0)
        return EH_ERR_NOMEM;
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc != EH_OK)
        return rc;
    eh_buf_init(&body);
    eh_buf_append(&body, "<p class=\"error\" role=\"alert\" id=\"error\">");
    eh_buf_append_html(&body, eh_i18n(locale, key));
    eh_buf_appendf(&body, "</p>\n<p><a class=\"button\" id=\"try-again\" href=\"/auth/%s\">",
                   ops->prefix);
    eh_buf_append_html(&body, eh_i18n(locale, "try_again"));
    eh_buf_append(&body, "</a></p>\n");
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, text_of(ops, locale, "title"), NULL, html);
    free(html);
    return rc;
}

eh_rc eh_sk_finish_handle(const eh_sk_ops *ops, eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_identity *id = NULL;
    const char *outcome;
    char path[PATH_MAX_LEN];
    int running = 0;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (in_progress(ops, txn) && (rc = poll_once(ops, b, txn, &running)) != EH_OK)
        goto cleanup;
    outcome = json_string_value(json_object_get(txn->backend, "outcome"));
    if (running || outcome == NULL) {
        rc = eh_redirect(resp, path_of(path, ops, running ? "/wait" : ""));
        goto cleanup;
    }
    if (strcmp(outcome, "OK") != 0) {
        rc = send_failure(ops, b, txn, outcome, resp);
        goto cleanup;
    }
    /* Take the transaction: of two tabs finishing at once, one completes. */
    eh_txn_free(txn);
    txn = NULL;
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK)
        return EH_OK;
    outcome = json_string_value(json_object_get(txn->backend, "outcome"));
    if (outcome == NULL || strcmp(outcome, "OK") != 0) {
        rc = eh_page_error(resp, 409, locale_of(txn), "session_expired", NULL, NULL);
        goto cleanup;
    }
    rc = eh_identity_from_json(json_object_get(txn->backend, "identity"), &id);
    if (rc == EH_OK)
        rc = eh_flow_complete(b, txn, id, resp); /* which also clears the cookie */
cleanup:
    eh_identity_free(id);
    eh_txn_free(txn);
    return rc;
}

/* check_revocation asks the OCSP responder about cert (unless the
 * settings switch that off) and sets outcome to why it is refused. */
static eh_rc check_revocation(const eh_sk_settings *s, const char *name, X509 *cert, int64_t now,
                              char outcome[EH_SK_OUTCOME_MAX])
{
    char why[320];

    if (s->ocsp == NULL)
        return EH_OK;
    switch (eh_sk_ocsp_check(s->ocsp, cert, now, why, sizeof(why))) {
    case EH_SK_OCSP_GOOD:
        return EH_OK;
    case EH_SK_OCSP_REVOKED:
        eh_log(EH_LOG_WARN, "%s: answer refused: %s", name, why);
        eh_sk_outcome_set(outcome, "revoked");
        return EH_ERR_KEY;
    case EH_SK_OCSP_UNAVAILABLE:
        eh_log(EH_LOG_ERROR, "%s: answer refused: revocation cannot be checked: %s", name, why);
        eh_sk_outcome_set(outcome, "revocation_unavailable");
        return EH_ERR_IO;
    default:
        eh_log(EH_LOG_WARN, "%s: answer refused: OCSP: %s", name, why);
        eh_sk_outcome_set(outcome, "verify_failed");
        return EH_ERR_KEY;
    }
}

eh_rc eh_sk_flow_verify(const eh_sk_settings *s, const char *name, const unsigned char *hash,
                        size_t hash_len, const char *signature_b64, const char *cert_b64,
                        const char *country, const char *personal_code, eh_loa loa,
                        eh_identity **out, char outcome[EH_SK_OUTCOME_MAX])
{
    eh_sk_subject subject = {0};
    int64_t now = (int64_t)time(NULL);
    char why[256];
    eh_rc rc;

    eh_sk_outcome_set(outcome, "verify_failed");
    rc = eh_sk_verify(s->trust, hash, hash_len, signature_b64, cert_b64, now, &subject, why,
                      sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_WARN, "%s: answer refused: %s", name, why);
        goto cleanup;
    }
    if (personal_code != NULL &&
        (subject.personal_code == NULL || strcmp(subject.personal_code, personal_code) != 0 ||
         subject.country == NULL || country == NULL || strcmp(subject.country, country) != 0)) {
        eh_log(EH_LOG_WARN,
               "%s: answer refused: the certificate is not the person's who "
               "started",
               name);
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if ((rc = check_revocation(s, name, subject.certificate, now, outcome)) != EH_OK)
        goto cleanup;
    rc = eh_sk_subject_to_identity(&subject, name, loa, now, out);
    if (rc == EH_OK)
        eh_sk_outcome_set(outcome, "OK");
cleanup:
    eh_sk_subject_free(&subject);
    return rc;
}
