/* eidhub: the single sign-on confirmation. A citizen who already has an
 * SSO session is not asked to authenticate again, but sees which requester
 * is asking and chooses: continue (the requester gets its answer from the
 * session's identity), log in again, or cancel. */
#include <stdlib.h>
#include <string.h>

#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/page.h"
#include "broker/sso.h"

/* session_of loads the SSO session the transaction was offered. */
static eh_rc session_of(eh_broker *b, const eh_txn *txn, eh_sso **out)
{
    const char *key = json_string_value(json_object_get(txn->flow, "sso"));
    return key ? eh_sso_load(b, key, out) : EH_ERR_NOT_FOUND;
}

eh_rc eh_sso_page_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_sso *sso = NULL;
    const eh_backend_def *method;
    const char *locale, *requester;
    char *html = NULL;
    eh_buf body;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    locale = txn->authn->locale ? txn->authn->locale : "en";
    if (session_of(b, txn, &sso) != EH_OK) {
        rc = eh_redirect(resp, "/login");
        goto cleanup;
    }
    method = eh_backend_find(sso->identity->method);
    requester = eh_flow_requester_name(b, txn);
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "sso_already"));
    eh_buf_append(&body, " <strong id=\"sso-method\">");
    eh_buf_append_html(&body, method ? eh_i18n(locale, method->label_key) : "?");
    eh_buf_append(&body, "</strong>.</p>\n<p><span class=\"requester\" id=\"sso-requester\">");
    eh_buf_append_html(&body, requester ? requester : txn->authn->requester);
    eh_buf_append(&body, "</span> ");
    eh_buf_append_html(&body, eh_i18n(locale, "sso_asks"));
    eh_buf_append(&body, "</p>\n");
    eh_page_append_decision(&body, "/sso", txn->csrf, locale,
                            (eh_page_choice){"continue", "sso-continue", "sso_continue"},
                            (eh_page_choice){"other", "sso-other", "sso_other"});
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "sso_title"), NULL, html);
cleanup:
    free(html);
    eh_sso_free(sso);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_sso_decide_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_sso *sso = NULL;
    char *decision = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (!eh_txn_csrf_ok(txn, req)) {
        rc = eh_page_error(resp, 403, txn->authn->locale, "forbidden", NULL, NULL);
        goto cleanup;
    }
    eh_http_param_get((const char *)req->body, req->body_len, "decision", &decision);
    if (decision == NULL || strcmp(decision, "continue") != 0) {
        /* log in again: forget the session for this transaction */
        json_object_del(txn->flow, "sso");
        json_object_del(txn->flow, "sid");
        rc = eh_txn_save(eh_broker_store_get(b), txn);
        if (rc == EH_OK)
            rc = eh_redirect(resp, "/login");
        goto cleanup;
    }
    eh_txn_free(txn);
    txn = NULL;
    /* take: the transaction completes once */
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK) {
        rc = EH_OK;
        goto cleanup;
    }
    if (session_of(b, txn, &sso) != EH_OK) {
        /* the session ended meanwhile: authenticate anew */
        json_object_del(txn->flow, "sso");
        json_object_del(txn->flow, "sid");
        rc = eh_txn_save(eh_broker_store_get(b), txn);
        if (rc == EH_OK)
            rc = eh_redirect(resp, "/login");
        goto cleanup;
    }
    rc = eh_flow_complete(b, txn, sso->identity, resp);
cleanup:
    free(decision);
    eh_sso_free(sso);
    eh_txn_free(txn);
    return rc;
}
