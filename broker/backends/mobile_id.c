/* eidhub: the Mobile-ID backend's pages and flow (see mobile_id.h). */
#include "broker/backends/mobile_id.h"

#include <cjose/cjose.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/ee_personal_code.h"
#include "broker/backends/mid_client.h"
#include "broker/backends/sk_verify.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"
#include "broker/rate_limit.h"

#define PHONE_MAX 16
#define CODE_MAX 11

/* The results MID reports as COMPLETE without success, each with its own
 * message in the catalog ("mid_<RESULT>"). */
static const char *const known_results[] = {"USER_CANCELLED", "TIMEOUT",        "NOT_MID_CLIENT",
                                            "PHONE_ABSENT",   "DELIVERY_ERROR", "SIM_ERROR",
                                            "SIGNATURE_HASH_MISMATCH"};


int eh_mid_phone_valid(const char *phone)
{
    size_t n = strlen(phone);
    if (n < 9 || n > PHONE_MAX || phone[0] != '+' || phone[1] == '0')
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (!isdigit((unsigned char)phone[i]))
            return 0;
    }
    return 1;
}

/* locale_of returns the transaction's locale. */
static const char *locale_of(const eh_txn *txn)
{
    return txn->authn->locale ? txn->authn->locale : "en";
}

/* send_form renders the phone/personal-code form, with an error message
 * (catalog key, may be NULL) and the values entered so far. */
static eh_rc send_form(eh_http_response *resp, int status, const eh_txn *txn, const char *error_key,
                       const char *phone, const char *code)
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
    eh_buf_append(&b, "<form method=\"post\" action=\"/auth/mid\" id=\"mid-form\">\n"
                      "<input type=\"hidden\" name=\"csrf\" value=\"");
    eh_buf_append_html(&b, txn->csrf);
    eh_buf_append(&b, "\">\n<label for=\"phone\">");
    eh_buf_append_html(&b, eh_i18n(locale, "mid_phone"));
    eh_buf_append(&b, "</label>\n<input type=\"tel\" id=\"phone\" name=\"phone\" "
                      "autocomplete=\"tel\" required value=\"");
    eh_buf_append_html(&b, phone ? phone : "+372");
    eh_buf_append(&b, "\">\n<label for=\"personal_code\">");
    eh_buf_append_html(&b, eh_i18n(locale, "mid_code"));
    eh_buf_append(&b, "</label>\n<input type=\"text\" id=\"personal_code\" name=\"personal_code\" "
                      "inputmode=\"numeric\" required value=\"");
    eh_buf_append_html(&b, code ? code : "");
    eh_buf_append(&b, "\">\n<p><button type=\"submit\" id=\"mid-submit\">");
    eh_buf_append_html(&b, eh_i18n(locale, "mid_submit"));
    eh_buf_append(&b, "</button></p>\n</form>\n");
    eh_login_append_cancel(&b, txn, locale);
    rc = eh_buf_finish(&b, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, status, locale, eh_i18n(locale, "mid_title"), NULL, html);
    free(html);
    return rc;
}

/* hint_code returns the personal code in a login_hint ("38001085718" or
 * "EE38001085718"), or NULL. */
static const char *hint_code(const char *hint)
{
    if (hint == NULL)
        return NULL;
    if (strncmp(hint, "EE", 2) == 0)
        hint += 2;
    return eh_ee_personal_code_valid(hint) ? hint : NULL;
}

eh_rc eh_mid_form_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (eh_broker_backend_get(b, "mobile_id") == NULL) {
        rc = eh_page_error(resp, 404, locale_of(txn), "mid_unavailable", "/login", "try_again");
    } else {
        /* after a failed attempt, the form keeps what the citizen typed */
        json_t *retry = json_object_get(txn->backend, "retry");
        const char *code = json_string_value(json_object_get(retry, "personal_code"));
        rc = send_form(resp, 200, txn, NULL, json_string_value(json_object_get(retry, "phone")),
                       code ? code : hint_code(txn->authn->login_hint));
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

eh_rc eh_mid_start_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_mid *mid = eh_broker_backend_get(b, "mobile_id");
    eh_store *store = eh_broker_store_get(b);
    const char *body = req->body ? (const char *)req->body : "";
    char *phone = NULL, *code = NULL, *session = NULL, *hash_b64 = NULL, why[256];
    unsigned char hash[64];
    char vc[5];
    eh_txn *txn = NULL;
    eh_rc rc = EH_OK;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (mid == NULL) {
        rc = eh_page_error(resp, 404, locale_of(txn), "mid_unavailable", "/login", "try_again");
        goto cleanup;
    }
    if (!eh_txn_csrf_ok(txn, req)) {
        rc = eh_page_error(resp, 403, locale_of(txn), "forbidden", NULL, NULL);
        goto cleanup;
    }
    eh_http_param_get(body, req->body_len, "phone", &phone);
    eh_http_param_get(body, req->body_len, "personal_code", &code);
    if (phone == NULL || strlen(phone) > PHONE_MAX || !eh_mid_phone_valid(phone)) {
        rc = send_form(resp, 400, txn, "mid_bad_phone", phone && strlen(phone) <= PHONE_MAX ? phone : NULL, code && strlen(code) <= CODE_MAX ? code : NULL);
        goto cleanup;
    }
    if (code == NULL || !eh_ee_personal_code_valid(code)) {
        rc = send_form(resp, 400, txn, "mid_bad_code", phone,
                       code && strlen(code) <= CODE_MAX ? code : NULL);
        goto cleanup;
    }
    /* all three counters count every attempt; any one over its limit stops it */
    if (eh_rate_limited(store, "mid:person", code, mid->limit_person, mid->limit_window_s) |
        eh_rate_limited(store, "mid:phone", phone, mid->limit_phone, mid->limit_window_s) |
        eh_rate_limited(store, "mid:addr", req->client_addr, mid->limit_address,
                        mid->limit_window_s)) {
        eh_log(EH_LOG_WARN, "mobile_id: attempt over the rate limit refused");
        rc = send_form(resp, 429, txn, "mid_rate_limited", phone, code);
        goto cleanup;
    }
    if ((rc = eh_random_bytes(hash, mid->hash_len)) != EH_OK ||
        (rc = eh_mid_verification_code(hash, mid->hash_len, vc)) != EH_OK)
        goto cleanup;
    rc = eh_mid_client_start(mid, phone, code, hash,
                             strcmp(locale_of(txn), "et") == 0 ? "EST" : "ENG", &session, why,
                             sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_ERROR, "mobile_id: cannot start a session: %s", why);
        rc = eh_page_error(resp, 502, locale_of(txn), "mid_unavailable", "/auth/mid", "try_again");
        goto cleanup;
    }
    hash_b64 = b64(hash, mid->hash_len);
    rc = EH_ERR_NOMEM;
    if (hash_b64 == NULL)
        goto cleanup;
    json_object_clear(txn->backend);
    if (json_object_set_new(txn->backend, "method", json_string("mobile_id")) != 0 ||
        json_object_set_new(txn->backend, "session", json_string(session)) != 0 ||
        json_object_set_new(txn->backend, "hash", json_string(hash_b64)) != 0 ||
        json_object_set_new(txn->backend, "vc", json_string(vc)) != 0 ||
        json_object_set_new(txn->backend, "phone", json_string(phone)) != 0 ||
        json_object_set_new(txn->backend, "personal_code", json_string(code)) != 0)
        goto cleanup;
    rc = eh_txn_save(store, txn);
    if (rc == EH_OK)
        rc = eh_redirect(resp, "/auth/mid/wait");
cleanup:
    OPENSSL_cleanse(hash, sizeof(hash));
    free(phone);
    if (code != NULL)
        OPENSSL_cleanse(code, strlen(code));
    free(code);
    free(session);
    free(hash_b64);
    eh_txn_free(txn);
    return rc;
}

/* mid_session_of returns the txn's running Mobile-ID session id, or NULL. */
static const char *session_of(const eh_txn *txn)
{
    json_t *method = json_object_get(txn->backend, "method");
    if (!json_is_string(method) || strcmp(json_string_value(method), "mobile_id") != 0)
        return NULL;
    return json_string_value(json_object_get(txn->backend, "session"));
}

/* verify_answer checks a COMPLETE/OK answer and returns the identity. */
static eh_rc verify_answer(const eh_mid *mid, const eh_txn *txn, const eh_mid_session *s,
                           eh_identity **out)
{
    const char *hash_b64 = json_string_value(json_object_get(txn->backend, "hash"));
    const char *code = json_string_value(json_object_get(txn->backend, "personal_code"));
    uint8_t *hash = NULL;
    size_t hash_len = 0;
    eh_sk_subject subject = {0};
    char why[256];
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    if (hash_b64 == NULL || code == NULL || s->signature_value == NULL || s->cert == NULL ||
        !cjose_base64_decode(hash_b64, strlen(hash_b64), &hash, &hash_len, &err))
        goto cleanup;
    rc = eh_sk_verify(mid->trust, hash, hash_len, s->signature_value, s->cert,
                      (int64_t)time(NULL), &subject, why, sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_WARN, "mobile_id: answer refused: %s", why);
        goto cleanup;
    }
    if (subject.personal_code == NULL || strcmp(subject.personal_code, code) != 0 ||
        subject.country == NULL || strcmp(subject.country, "EE") != 0) {
        eh_log(EH_LOG_WARN, "mobile_id: answer refused: the certificate is not the person's "
                            "who started");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    rc = eh_sk_subject_to_identity(&subject, "mobile_id", EH_LOA_HIGH, (int64_t)time(NULL), out);
cleanup:
    if (hash != NULL)
        cjose_get_dealloc()(hash);
    eh_sk_subject_free(&subject);
    return rc;
}

/* record_outcome stores the end of the Mobile-ID session in the transaction:
 * the session id is dropped (it is never polled again) and either the
 * verified identity or the reason is kept for /auth/mid/finish. */
static eh_rc record_outcome(eh_store *store, eh_txn *txn, const char *outcome,
                            const eh_identity *id)
{
    json_t *id_json = NULL;
    eh_rc rc;

    json_object_del(txn->backend, "session");
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

/* poll_once asks MID once (a short long-poll) and records a final outcome.
 * *running is set while the phone has not answered. */
static eh_rc poll_once(eh_broker *b, eh_txn *txn, int *running)
{
    const eh_mid *mid = eh_broker_backend_get(b, "mobile_id");
    const char *session = session_of(txn);
    eh_mid_session s;
    eh_identity *id = NULL;
    char why[256], outcome[64];
    eh_rc rc;

    *running = 0;
    if (session == NULL || mid == NULL)
        return EH_OK; /* already ended */
    rc = eh_mid_client_poll(mid, session, &s, why, sizeof(why));
    if (rc == EH_ERR_NOT_FOUND) {
        return record_outcome(eh_broker_store_get(b), txn, "TIMEOUT", NULL);
    } else if (rc != EH_OK) {
        eh_log(EH_LOG_ERROR, "mobile_id: session status unavailable: %s", why);
        return record_outcome(eh_broker_store_get(b), txn, "unavailable", NULL);
    }
    if (strcmp(s.state, "RUNNING") == 0) {
        *running = 1;
        eh_mid_session_clear(&s);
        return EH_OK;
    }
    snprintf(outcome, sizeof(outcome), "verify_failed");
    if (strcmp(s.result, "OK") == 0) {
        if (verify_answer(mid, txn, &s, &id) == EH_OK)
            snprintf(outcome, sizeof(outcome), "OK");
    } else {
        for (size_t i = 0; i < sizeof(known_results) / sizeof(known_results[0]); i++) {
            if (strcmp(s.result, known_results[i]) == 0)
                snprintf(outcome, sizeof(outcome), "%s", known_results[i]);
        }
        eh_log(EH_LOG_INFO, "mobile_id: session ended with %s", outcome);
    }
    rc = record_outcome(eh_broker_store_get(b), txn, outcome, id);
    eh_identity_free(id);
    eh_mid_session_clear(&s);
    return rc;
}

eh_rc eh_mid_wait_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    const char *vc, *locale;
    char *html = NULL;
    eh_buf body;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    locale = locale_of(txn);
    vc = json_string_value(json_object_get(txn->backend, "vc"));
    if (vc == NULL) {
        rc = eh_redirect(resp, "/auth/mid");
        goto cleanup;
    }
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "mid_verification_code"));
    eh_buf_append(&body, "</p>\n<p class=\"code\" id=\"verification-code\">");
    eh_buf_append_html(&body, vc);
    eh_buf_append(&body, "</p>\n<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "mid_check_phone"));
    eh_buf_append(&body, "</p>\n<p id=\"eh-poll\" data-status=\"/auth/mid/status\" "
                         "data-next=\"/auth/mid/finish\" aria-live=\"polite\">");
    eh_buf_append_html(&body, eh_i18n(locale, "mid_waiting"));
    eh_buf_append(&body, "</p>\n");
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "mid_title"),
                          "<noscript><meta http-equiv=\"refresh\" "
                          "content=\"3;url=/auth/mid/finish\"></noscript>\n",
                          html);
cleanup:
    free(html);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_mid_status_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    int running = 0;
    const char *state;
    char body[64];
    eh_rc rc = eh_txn_of_request(eh_broker_store_get(b), req, 0, &txn);

    if (rc == EH_OK)
        rc = poll_once(b, txn, &running);
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

/* outcome_key maps an outcome to its catalog message. */
static void outcome_message(const char *outcome, char *key, size_t len)
{
    for (size_t i = 0; i < sizeof(known_results) / sizeof(known_results[0]); i++) {
        if (strcmp(outcome, known_results[i]) == 0) {
            snprintf(key, len, "mid_%s", outcome);
            return;
        }
    }
    snprintf(key, len, "%s",
             strcmp(outcome, "unavailable") == 0 ? "mid_unavailable" : "mid_verify_failed");
}

/* send_failure tells the citizen why Mobile-ID did not work, with a way to
 * try again, choose another method or give up (the requester then gets
 * access_denied). The transaction stays for another try. */
static eh_rc send_failure(eh_broker *b, eh_txn *txn, const char *outcome, eh_http_response *resp)
{
    const char *locale = locale_of(txn);
    char key[64], *html = NULL;
    json_t *retry;
    eh_buf body;
    eh_rc rc;

    outcome_message(outcome, key, sizeof(key));
    retry = json_pack("{s:O?, s:O?}", "phone", json_object_get(txn->backend, "phone"),
                      "personal_code", json_object_get(txn->backend, "personal_code"));
    json_object_clear(txn->backend);
    if (retry == NULL || json_object_set_new(txn->backend, "retry", retry) != 0)
        return EH_ERR_NOMEM;
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc != EH_OK)
        return rc;
    eh_buf_init(&body);
    eh_buf_append(&body, "<p class=\"error\" role=\"alert\" id=\"error\">");
    eh_buf_append_html(&body, eh_i18n(locale, key));
    eh_buf_append(&body, "</p>\n<p><a class=\"button\" id=\"try-again\" href=\"/auth/mid\">");
    eh_buf_append_html(&body, eh_i18n(locale, "try_again"));
    eh_buf_append(&body, "</a></p>\n");
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "mid_title"), NULL, html);
    free(html);
    return rc;
}

eh_rc eh_mid_finish_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_identity *id = NULL;
    const char *outcome;
    int running = 0;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (session_of(txn) != NULL && (rc = poll_once(b, txn, &running)) != EH_OK)
        goto cleanup;
    outcome = json_string_value(json_object_get(txn->backend, "outcome"));
    if (running || outcome == NULL) {
        rc = eh_redirect(resp, running ? "/auth/mid/wait" : "/auth/mid");
        goto cleanup;
    }
    if (strcmp(outcome, "OK") != 0) {
        rc = send_failure(b, txn, outcome, resp);
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
        rc = eh_flow_complete(b, txn, id, resp);
cleanup:
    eh_identity_free(id);
    eh_txn_free(txn);
    return rc;
}
