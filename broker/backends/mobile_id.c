/* eidhub: the Mobile-ID backend (see mobile_id.h): what is Mobile-ID's own.
 * The pages and the transaction's state are the SK flow's (sk_flow.h). */
#include "broker/backends/mobile_id.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/ee_personal_code.h"
#include "broker/backends/mid_client.h"
#include "broker/backends/sk_flow.h"
#include "broker/backends/sk_verify.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/i18n.h"

#define PHONE_MAX 16
#define CODE_MAX 11

/* The results MID reports as COMPLETE without success, each with its own
 * message in the catalog ("mid_<RESULT>"). */
static const char *const mid_results[] = {
    "USER_CANCELLED", "TIMEOUT",   "NOT_MID_CLIENT",          "PHONE_ABSENT",
    "DELIVERY_ERROR", "SIM_ERROR", "SIGNATURE_HASH_MISMATCH", NULL};

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

/* mid_settings: the shared settings of a loaded state (all of Mobile-ID's). */
static const eh_sk_settings *mid_settings(const void *state)
{
    return &((const eh_mid *)state)->sk;
}

/* mid_form_fields: phone number and personal code. */
static void mid_form_fields(eh_buf *b, const char *locale, const json_t *values,
                            const char *login_hint)
{
    const char *phone = json_string_value(json_object_get(values, "phone"));
    const char *code = json_string_value(json_object_get(values, "personal_code"));

    if (code == NULL)
        code = hint_code(login_hint);
    eh_buf_append(b, "<label for=\"phone\">");
    eh_buf_append_html(b, eh_i18n(locale, "mid_phone"));
    eh_buf_append(b, "</label>\n<input type=\"tel\" id=\"phone\" name=\"phone\" "
                     "autocomplete=\"tel\" required value=\"");
    eh_buf_append_html(b, phone ? phone : "+372");
    eh_buf_append(b, "\">\n<label for=\"personal_code\">");
    eh_buf_append_html(b, eh_i18n(locale, "mid_code"));
    eh_buf_append(b, "</label>\n<input type=\"text\" id=\"personal_code\" name=\"personal_code\" "
                     "inputmode=\"numeric\" required value=\"");
    eh_buf_append_html(b, code ? code : "");
    eh_buf_append(b, "\">\n");
}

/* mid_read_form: an E.164 phone number and a valid Estonian personal code.
 * What is shown again is cut to what fits the fields. */
static eh_rc mid_read_form(const void *state, const eh_http_request *req, json_t **entered,
                           const char **error_key)
{
    const char *body = req->body ? (const char *)req->body : "";
    char *phone = NULL, *code = NULL;
    int phone_ok, code_ok;
    eh_rc rc = EH_ERR_NOMEM;

    (void)state;
    *entered = NULL;
    *error_key = NULL;
    eh_http_param_get(body, req->body_len, "phone", &phone);
    eh_http_param_get(body, req->body_len, "personal_code", &code);
    phone_ok = phone != NULL && strlen(phone) <= PHONE_MAX && eh_mid_phone_valid(phone);
    code_ok = code != NULL && eh_ee_personal_code_valid(code);
    *entered =
        json_pack("{s:s?, s:s?}", "phone", phone && strlen(phone) <= PHONE_MAX ? phone : NULL,
                  "personal_code", code && (code_ok || strlen(code) <= CODE_MAX) ? code : NULL);
    if (*entered == NULL)
        goto cleanup;
    rc = EH_OK;
    if (!phone_ok) {
        *error_key = "mid_bad_phone";
        rc = EH_ERR_INVALID;
    } else if (!code_ok) {
        *error_key = "mid_bad_code";
        rc = EH_ERR_INVALID;
    }
cleanup:
    free(phone);
    if (code != NULL)
        OPENSSL_cleanse(code, strlen(code));
    free(code);
    return rc;
}

/* mid_counters: per personal code and per phone number. */
static size_t mid_counters(const void *state, const json_t *entered,
                           eh_sk_counter out[EH_SK_COUNTERS_MAX])
{
    const eh_sk_settings *s = mid_settings(state);
    out[0] = (eh_sk_counter){"person", json_string_value(json_object_get(entered, "personal_code")),
                             s->limit_person};
    out[1] = (eh_sk_counter){"phone", json_string_value(json_object_get(entered, "phone")),
                             s->limit_phone};
    return 2;
}

/* mid_start: POST /authentication in the citizen's language. */
static eh_rc mid_start(const void *state, const json_t *entered, const unsigned char *hash,
                       const char *locale, char **session, char outcome[EH_SK_OUTCOME_MAX],
                       char *why, size_t whylen)
{
    (void)outcome; /* MID refuses no citizen at the start: its results come later */
    return eh_mid_client_start(state, json_string_value(json_object_get(entered, "phone")),
                               json_string_value(json_object_get(entered, "personal_code")), hash,
                               strcmp(locale, "et") == 0 ? "EST" : "ENG", session, why, whylen);
}

/* mid_poll: 404 is a session MID forgot (TIMEOUT); result OK is verified
 * and must be the person whose personal code was entered. */
static void mid_poll(const void *state, const json_t *entered, const unsigned char *hash,
                     size_t hash_len, const char *session, eh_sk_poll *out)
{
    const eh_mid *mid = state;
    eh_mid_session s;
    eh_rc rc = eh_mid_client_poll(mid, session, &s, out->why, sizeof(out->why));

    if (rc == EH_ERR_NOT_FOUND) {
        eh_sk_outcome_set(out->outcome, "TIMEOUT");
        return;
    } else if (rc != EH_OK) {
        eh_sk_outcome_set(out->outcome, "unavailable");
        return;
    }
    if (strcmp(s.state, "RUNNING") == 0) {
        out->running = 1;
    } else if (strcmp(s.result, "OK") != 0) {
        eh_sk_outcome_set(out->outcome, s.result);
    } else {
        /* "OK", or why not (a revoked certificate has its own message) */
        eh_sk_flow_verify(&mid->sk, "mobile_id", hash, hash_len, s.signature_value, s.cert, "EE",
                          json_string_value(json_object_get(entered, "personal_code")), EH_LOA_HIGH,
                          &out->identity, out->outcome);
    }
    eh_mid_session_clear(&s);
}

static const eh_sk_ops mid_ops = {
    .name = "mobile_id",
    .prefix = "mid",
    .results = mid_results,
    .start_on_submit = 1,
    .settings = mid_settings,
    .form_fields = mid_form_fields,
    .read_form = mid_read_form,
    .counters = mid_counters,
    .verification_code = eh_mid_verification_code,
    .start = mid_start,
    .poll = mid_poll,
};

eh_rc eh_mid_form_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_form_handle(&mid_ops, b, req, resp);
}

eh_rc eh_mid_start_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_start_handle(&mid_ops, b, req, resp);
}

eh_rc eh_mid_wait_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_wait_handle(&mid_ops, b, req, resp);
}

eh_rc eh_mid_status_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_status_handle(&mid_ops, b, req, resp);
}

eh_rc eh_mid_finish_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_finish_handle(&mid_ops, b, req, resp);
}
