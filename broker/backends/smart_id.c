/* eidhub: the Smart-ID backend (see smart_id.h): what is Smart-ID's own.
 * The pages and the transaction's state are the SK flow's (sk_flow.h). */
#include "broker/backends/smart_id.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/sid_client.h"
#include "broker/backends/sk_flow.h"
#include "broker/backends/sk_verify.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/i18n.h"
#include "broker/log.h"

#define CODE_MAX 12     /* "DDMMYY-NNNNN" */
#define DOCUMENT_MAX 64 /* as eh_sid_document_valid */
#define SEMANTICS_MAX 32

/* The endResults Smart-ID reports as COMPLETE without success and the HTTP
 * errors that concern the citizen (eh_sid_http_result), each with its own
 * message in the catalog ("sid_<RESULT>"). */
static const char *const sid_results[] = {"USER_REFUSED",
                                          "TIMEOUT",
                                          "DOCUMENT_UNUSABLE",
                                          "WRONG_VC",
                                          "REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP",
                                          "USER_REFUSED_CERT_CHOICE",
                                          "USER_REFUSED_DISPLAYTEXTANDPIN",
                                          "USER_REFUSED_VC_CHOICE",
                                          "USER_REFUSED_CONFIRMATIONMESSAGE",
                                          "USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE",
                                          "ACCOUNT_NOT_FOUND",
                                          "NO_SUITABLE_ACCOUNT",
                                          "VIEW_APP",
                                          "CLIENT_TOO_OLD",
                                          "UNDER_MAINTENANCE",
                                          NULL};

/* The countries whose personal codes the form takes (their names are the
 * catalog's "country_<XX>"). */
static const char *const countries[] = {"EE", "LV", "LT", NULL};

/* country_known tells whether country is one of those. */
static int country_known(const char *country)
{
    for (size_t i = 0; country != NULL && countries[i] != NULL; i++) {
        if (strcmp(country, countries[i]) == 0)
            return 1;
    }
    return 0;
}

eh_loa eh_sid_level_loa(const char *certificate_level)
{
    if (certificate_level != NULL && strcmp(certificate_level, "QUALIFIED") == 0)
        return EH_LOA_HIGH;
    if (certificate_level != NULL && strcmp(certificate_level, "ADVANCED") == 0)
        return EH_LOA_SUBSTANTIAL;
    return EH_LOA_NONE;
}

eh_loa eh_sid_loa(const void *state)
{
    return state ? ((const eh_sid *)state)->loa : EH_LOA_NONE;
}

/* sid_settings: the shared settings of a loaded state. */
static const eh_sk_settings *sid_settings(const void *state)
{
    return &((const eh_sid *)state)->sk;
}

/* hint_person reads a login_hint naming a person: "38001085718" (Estonian)
 * or a country and code, "EE38001085718", "LV040404-10003". Fills country
 * and code (normalised) and returns 1 when it does. */
static int hint_person(const char *hint, char country[3], char code[CODE_MAX + 1])
{
    if (hint == NULL)
        return 0;
    snprintf(country, 3, "EE");
    if (strlen(hint) > 2 && hint[0] >= 'A' && hint[0] <= 'Z' && hint[1] >= 'A' && hint[1] <= 'Z') {
        snprintf(country, 3, "%.2s", hint);
        hint += 2;
    }
    return country_known(country) && eh_sid_personal_code(country, hint, code, CODE_MAX + 1);
}

/* sid_form_fields: the personal code and its country; or, folded away, a
 * Smart-ID document number. */
static void sid_form_fields(eh_buf *b, const char *locale, const json_t *values,
                            const char *login_hint)
{
    const char *code = json_string_value(json_object_get(values, "personal_code"));
    const char *country = json_string_value(json_object_get(values, "country"));
    const char *document = json_string_value(json_object_get(values, "document_number"));
    char hint_country[3], hint_code[CODE_MAX + 1];
    char key[32];

    if (code == NULL && document == NULL && hint_person(login_hint, hint_country, hint_code)) {
        code = hint_code;
        country = hint_country;
    }
    eh_buf_append(b, "<label for=\"country\">");
    eh_buf_append_html(b, eh_i18n(locale, "sid_country"));
    eh_buf_append(b, "</label>\n<select id=\"country\" name=\"country\">\n");
    for (size_t i = 0; countries[i] != NULL; i++) {
        snprintf(key, sizeof(key), "country_%s", countries[i]);
        eh_buf_appendf(b, "<option value=\"%s\"%s>", countries[i],
                       (country ? strcmp(country, countries[i]) == 0 : i == 0) ? " selected" : "");
        eh_buf_append_html(b, eh_i18n(locale, key));
        eh_buf_append(b, "</option>\n");
    }
    eh_buf_append(b, "</select>\n<label for=\"personal_code\">");
    eh_buf_append_html(b, eh_i18n(locale, "sid_code"));
    eh_buf_append(b, "</label>\n<input type=\"text\" id=\"personal_code\" name=\"personal_code\" "
                     "autocomplete=\"off\" value=\"");
    eh_buf_append_html(b, code ? code : "");
    eh_buf_appendf(b, "\">\n<details%s><summary>", document ? " open" : "");
    eh_buf_append_html(b, eh_i18n(locale, "sid_use_document"));
    eh_buf_append(b, "</summary>\n<label for=\"document_number\">");
    eh_buf_append_html(b, eh_i18n(locale, "sid_document"));
    eh_buf_append(b, "</label>\n<input type=\"text\" id=\"document_number\" "
                     "name=\"document_number\" autocomplete=\"off\" value=\"");
    eh_buf_append_html(b, document ? document : "");
    eh_buf_append(b, "\">\n</details>\n");
}

/* read_document: a document number, when the form has one. */
static eh_rc read_document(const char *document, json_t **entered, const char **error_key)
{
    if (!eh_sid_document_valid(document)) {
        *error_key = "sid_bad_document";
        *entered = json_pack("{s:s?}", "document_number",
                             strlen(document) <= DOCUMENT_MAX ? document : NULL);
        return *entered ? EH_ERR_INVALID : EH_ERR_NOMEM;
    }
    *entered = json_pack("{s:s}", "document_number", document);
    return *entered ? EH_OK : EH_ERR_NOMEM;
}

/* read_person: a country of ours and a personal code valid there. */
static eh_rc read_person(const char *country, const char *code, json_t **entered,
                         const char **error_key)
{
    char normal[CODE_MAX + 1], semantics[SEMANTICS_MAX];

    if (!country_known(country) || !eh_sid_personal_code(country, code, normal, sizeof(normal))) {
        *error_key = "sid_bad_code";
        *entered = json_pack("{s:s?, s:s?}", "country", country_known(country) ? country : NULL,
                             "personal_code", code && strlen(code) <= CODE_MAX ? code : NULL);
        return *entered ? EH_ERR_INVALID : EH_ERR_NOMEM;
    }
    snprintf(semantics, sizeof(semantics), "PNO%s-%s", country, normal);
    *entered = json_pack("{s:s, s:s, s:s}", "country", country, "personal_code", normal,
                         "semantics_id", semantics);
    OPENSSL_cleanse(normal, sizeof(normal));
    OPENSSL_cleanse(semantics, sizeof(semantics));
    return *entered ? EH_OK : EH_ERR_NOMEM;
}

/* sid_read_form: a document number when only that is given, else the
 * personal code of a country of ours (Estonia when none is sent). */
static eh_rc sid_read_form(const void *state, const eh_http_request *req, json_t **entered,
                           const char **error_key)
{
    const char *body = req->body ? (const char *)req->body : "";
    char *country = NULL, *code = NULL, *document = NULL;
    eh_rc rc;

    (void)state;
    *entered = NULL;
    *error_key = NULL;
    eh_http_param_get(body, req->body_len, "country", &country);
    eh_http_param_get(body, req->body_len, "personal_code", &code);
    eh_http_param_get(body, req->body_len, "document_number", &document);
    if (document != NULL && document[0] != '\0' && (code == NULL || code[0] == '\0'))
        rc = read_document(document, entered, error_key);
    else
        rc = read_person(country ? country : "EE", code, entered, error_key);
    free(country);
    if (code != NULL)
        OPENSSL_cleanse(code, strlen(code));
    free(code);
    free(document);
    return rc;
}

/* sid_counters: per person (semantics identifier, or document number). */
static size_t sid_counters(const void *state, const json_t *entered,
                           eh_sk_counter out[EH_SK_COUNTERS_MAX])
{
    const char *person = json_string_value(json_object_get(entered, "semantics_id"));
    if (person == NULL)
        person = json_string_value(json_object_get(entered, "document_number"));
    out[0] = (eh_sk_counter){"person", person, sid_settings(state)->limit_person};
    return 1;
}

/* result_of maps an HTTP error to the citizen's result (eh_sid_http_result);
 * a 480 is also the operator's: this client needs an update. */
static const char *result_of(long status, int at_start)
{
    if (status == 480)
        eh_log(EH_LOG_ERROR, "smart_id: the API answered 480: it no longer supports this client");
    return eh_sid_http_result(status, at_start);
}

/* sid_start: by document number or semantics identifier, showing the
 * configured text or "Log in" in the citizen's language; an HTTP error that
 * concerns the citizen becomes the outcome. */
static eh_rc sid_start(const void *state, const json_t *entered, const unsigned char *hash,
                       const char *locale, char **session, char outcome[EH_SK_OUTCOME_MAX],
                       char *why, size_t whylen)
{
    const eh_sid *sid = state;
    const char *document = json_string_value(json_object_get(entered, "document_number"));
    const char *semantics = json_string_value(json_object_get(entered, "semantics_id"));
    const char *text =
        sid->sk.display_text ? sid->sk.display_text : eh_i18n(locale, "sid_display_text");
    long status = 0;
    eh_rc rc;

    rc = eh_sid_client_start(sid, document ? "document" : "etsi", document ? document : semantics,
                             hash, text, session, &status, why, whylen);
    if (rc != EH_OK)
        eh_sk_outcome_set(outcome, result_of(status, 1));
    return rc;
}

/* answer_acceptable checks what eh_sk_flow_verify does not: the level of
 * the certificate (at least the one asked), the interaction (one we
 * allowed) and, for a document number, that it is the one asked. */
static int answer_acceptable(const eh_sid *sid, const json_t *entered, const eh_sid_session *s)
{
    const char *document = json_string_value(json_object_get(entered, "document_number"));
    eh_loa got = eh_sid_level_loa(s->cert_level);

    if (got == EH_LOA_NONE || got < sid->loa) {
        eh_log(EH_LOG_WARN, "smart_id: answer refused: certificate level lower than asked");
        return 0;
    }
    if (s->interaction_flow != NULL && strcmp(s->interaction_flow, "verificationCodeChoice") != 0 &&
        strcmp(s->interaction_flow, "displayTextAndPIN") != 0) {
        eh_log(EH_LOG_WARN, "smart_id: answer refused: an interaction that was not allowed");
        return 0;
    }
    if (document != NULL &&
        (s->document_number == NULL || strcmp(s->document_number, document) != 0)) {
        eh_log(EH_LOG_WARN, "smart_id: answer refused: not the document asked for");
        return 0;
    }
    return 1;
}

/* sid_poll: an HTTP error that concerns the citizen is its result (404: the
 * session expired); endResult OK is verified, at the certificate's level. */
static void sid_poll(const void *state, const json_t *entered, const unsigned char *hash,
                     size_t hash_len, const char *session, eh_sk_poll *out)
{
    const eh_sid *sid = state;
    const char *result;
    eh_sid_session s;
    long status = 0;
    eh_rc rc = eh_sid_client_poll(sid, session, &s, &status, out->why, sizeof(out->why));

    if (rc != EH_OK) {
        result = result_of(status, 0);
        eh_sk_outcome_set(out->outcome, result ? result : "unavailable");
        return;
    }
    if (strcmp(s.state, "RUNNING") == 0) {
        out->running = 1;
    } else if (strcmp(s.end_result, "OK") != 0) {
        eh_sk_outcome_set(out->outcome, s.end_result);
    } else if (!answer_acceptable(sid, entered, &s)) {
        eh_sk_outcome_set(out->outcome, "verify_failed");
    } else {
        /* "OK", or why not (a revoked certificate has its own message) */
        eh_sk_flow_verify(&sid->sk, "smart_id", hash, hash_len, s.signature_value, s.cert,
                          json_string_value(json_object_get(entered, "country")),
                          json_string_value(json_object_get(entered, "personal_code")),
                          eh_sid_level_loa(s.cert_level), &out->identity, out->outcome);
    }
    eh_sid_session_clear(&s);
}

static const eh_sk_ops sid_ops = {
    .name = "smart_id",
    .prefix = "sid",
    .results = sid_results,
    .start_on_submit = 0, /* the code is shown before the request is sent */
    .settings = sid_settings,
    .form_fields = sid_form_fields,
    .read_form = sid_read_form,
    .counters = sid_counters,
    .verification_code = eh_sid_verification_code,
    .start = sid_start,
    .poll = sid_poll,
};

eh_rc eh_sid_form_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_form_handle(&sid_ops, b, req, resp);
}

eh_rc eh_sid_start_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_start_handle(&sid_ops, b, req, resp);
}

eh_rc eh_sid_wait_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_wait_handle(&sid_ops, b, req, resp);
}

eh_rc eh_sid_status_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_status_handle(&sid_ops, b, req, resp);
}

eh_rc eh_sid_finish_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    return eh_sk_finish_handle(&sid_ops, b, req, resp);
}
