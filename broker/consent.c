/* eidhub: the consent page. When a requester's policy asks for consent, the
 * citizen sees, before anything is released, exactly which attributes go
 * to which requester, in plain words, and allows or denies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/page.h"

/* describe appends the plain-words name of attribute name in locale. */
static void describe(eh_buf *b, const char *locale, const char *name)
{
    char key[96];
    int n = 0;

    if (sscanf(name, "age_over_%d", &n) == 1 && n > 0) {
        eh_buf_append_html(b, eh_i18n(locale, "attr_age_over"));
        eh_buf_appendf(b, " %d", n);
        return;
    }
    if (strncmp(name, "is_resident_of_", 15) == 0) {
        eh_buf_append_html(b, eh_i18n(locale, "attr_is_resident_of"));
        eh_buf_append(b, " ");
        eh_buf_append_html(b, name + 15);
        return;
    }
    snprintf(key, sizeof(key), "attr_%s", name);
    eh_buf_append_html(b, eh_i18n(locale, key));
}

/* append_value appends a released value as text (yes/no for booleans). */
static void append_value(eh_buf *b, const char *locale, const json_t *v)
{
    if (json_is_boolean(v))
        eh_buf_append_html(b, eh_i18n(locale, json_is_true(v) ? "yes" : "no"));
    else if (json_is_string(v))
        eh_buf_append_html(b, json_string_value(v));
    else if (json_is_integer(v))
        eh_buf_appendf(b, "%lld", (long long)json_integer_value(v));
}

eh_rc eh_consent_page_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    json_t *pending, *attrs, *value;
    const char *locale, *requester, *name;
    char *html = NULL;
    eh_buf body;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    locale = txn->authn->locale ? txn->authn->locale : "en";
    pending = json_object_get(txn->flow, "pending");
    if (pending == NULL) {
        rc = eh_page_error(resp, 400, locale, "session_expired", NULL, NULL);
        goto cleanup;
    }
    requester = eh_flow_requester_name(b, txn);
    attrs = json_object_get(pending, "attributes");
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "consent_intro"));
    eh_buf_append(&body, " <span class=\"requester\" id=\"consent-requester\">");
    eh_buf_append_html(&body, requester ? requester : txn->authn->requester);
    eh_buf_append(&body, "</span>:</p>\n<ul id=\"consent-list\">\n");
    eh_buf_append(&body, "<li>");
    eh_buf_append_html(&body, eh_i18n(locale, "consent_subject"));
    eh_buf_append(&body, "</li>\n");
    json_object_foreach(attrs, name, value) {
        eh_buf_append(&body, "<li data-attribute=\"");
        eh_buf_append_html(&body, name);
        eh_buf_append(&body, "\">");
        describe(&body, locale, name);
        eh_buf_append(&body, ": <strong>");
        append_value(&body, locale, value);
        eh_buf_append(&body, "</strong></li>\n");
    }
    eh_buf_append(&body, "</ul>\n");
    eh_page_append_decision(&body, "/consent", txn->csrf, locale,
                            (eh_page_choice){"allow", "consent-allow", "consent_allow"},
                            (eh_page_choice){"deny", "consent-deny", "consent_deny"});
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "consent_title"), NULL, html);
cleanup:
    free(html);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_consent_decide_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_policy *policy = NULL;
    eh_identity *released = NULL;
    char *decision = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (!eh_txn_csrf_ok(txn, req) || json_object_get(txn->flow, "pending") == NULL) {
        rc = eh_page_error(resp, 403, txn->authn->locale, "forbidden", NULL, NULL);
        goto cleanup;
    }
    eh_http_param_get((const char *)req->body, req->body_len, "decision", &decision);
    eh_txn_free(txn);
    txn = NULL;
    /* take: the decision ends the transaction exactly once */
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK)
        goto cleanup_ok;
    if (decision == NULL || strcmp(decision, "allow") != 0) {
        rc = eh_flow_fail(b, txn, "access_denied", "the citizen did not consent", resp);
    } else if ((rc = eh_flow_policy(b, txn, &policy)) == EH_OK &&
               (rc = eh_identity_from_json(json_object_get(txn->flow, "pending"),
                                           &released)) == EH_OK) {
        rc = eh_flow_release(b, txn, policy, released, resp);
    }
cleanup:
    free(decision);
    eh_identity_free(released);
    eh_policy_free(policy);
    eh_txn_free(txn);
    return rc;
cleanup_ok:
    free(decision);
    return EH_OK;
}
