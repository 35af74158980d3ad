/* eidhub: the method-choice page and the citizen's "cancel". */
#include <stdlib.h>
#include <string.h>

#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/page.h"

/* offered tells whether backend d may authenticate txn: configured, allowed
 * by the policy, at the level asked, and the one asked for when the
 * requester named a method. */
static int offered(eh_broker *b, const eh_txn *txn, const eh_policy *p, const eh_backend_def *d)
{
    eh_loa want = txn->authn->min_loa == EH_LOA_NONE ? EH_LOA_LOW : txn->authn->min_loa;
    if (eh_broker_backend_get(b, d->name) == NULL || !eh_policy_allows_method(p, d->name))
        return 0;
    if (!eh_loa_satisfies(eh_backend_loa(d, eh_broker_backend_get(b, d->name)), want,
                          txn->authn->comparison))
        return 0;
    return txn->authn->method_hint == NULL || strcmp(txn->authn->method_hint, d->name) == 0;
}

/* choice_offered tells whether choice c of backend d may authenticate txn:
 * d offered as above (its own loa aside), c at the level asked and of a
 * country the policy allows (and the one the requester named, if any). */
static int choice_offered(eh_broker *b, const eh_txn *txn, const eh_policy *p,
                          const eh_backend_def *d, const eh_backend_choice *c)
{
    eh_loa want = txn->authn->min_loa == EH_LOA_NONE ? EH_LOA_LOW : txn->authn->min_loa;
    int level = 0;

    if (eh_broker_backend_get(b, d->name) == NULL || !eh_policy_allows_method(p, d->name))
        return 0;
    for (int l = EH_LOA_LOW; l <= EH_LOA_HIGH; l++)
        level |= (c->loas & (1u << l)) && eh_loa_satisfies((eh_loa)l, want, txn->authn->comparison);
    if (!level || (c->country != NULL && !eh_policy_allows_country(p, c->country)))
        return 0;
    if (txn->authn->country_hint != NULL && c->country != NULL &&
        strcmp(txn->authn->country_hint, c->country) != 0)
        return 0;
    return txn->authn->method_hint == NULL || strcmp(txn->authn->method_hint, d->name) == 0;
}

/* choices_of returns the several choices backend d offers (NULL, *n 0, when
 * it is a single choice or not configured). */
static const eh_backend_choice *choices_of(eh_broker *b, const eh_backend_def *d, size_t *n)
{
    void *state = eh_broker_backend_get(b, d->name);

    *n = 0;
    return d->choices != NULL && state != NULL ? d->choices(state, n) : NULL;
}

void eh_login_append_cancel(eh_buf *out, const eh_txn *txn, const char *locale)
{
    eh_buf_append(out, "<form class=\"inline\" method=\"post\" action=\"/cancel\">"
                       "<input type=\"hidden\" name=\"csrf\" value=\"");
    eh_buf_append_html(out, txn->csrf);
    eh_buf_append(out, "\"><button class=\"secondary\" type=\"submit\" id=\"cancel\">");
    eh_buf_append_html(out, eh_i18n(locale, "cancel"));
    eh_buf_append(out, "</button></form>\n");
}

eh_rc eh_login_failure_page(eh_http_response *resp, int status, const eh_txn *txn,
                            const char *title_key, const char *message_key,
                            const char *retry_href)
{
    const char *locale = txn->authn->locale ? txn->authn->locale : "en";
    char *html = NULL;
    eh_buf body;
    eh_rc rc;

    eh_buf_init(&body);
    eh_buf_append(&body, "<p class=\"error\" role=\"alert\" id=\"error\">");
    eh_buf_append_html(&body, eh_i18n(locale, message_key));
    eh_buf_append(&body, "</p>\n");
    if (retry_href != NULL) {
        eh_buf_append(&body, "<p><a class=\"button\" id=\"try-again\" href=\"");
        eh_buf_append_html(&body, retry_href);
        eh_buf_append(&body, "\">");
        eh_buf_append_html(&body, eh_i18n(locale, "try_again"));
        eh_buf_append(&body, "</a></p>\n");
    }
    eh_buf_append(&body, "<p><a id=\"choose-another\" href=\"/login\">");
    eh_buf_append_html(&body, eh_i18n(locale, "oidc_choose_another"));
    eh_buf_append(&body, "</a></p>\n");
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, status, locale, eh_i18n(locale, title_key), NULL, html);
    free(html);
    return rc;
}

eh_rc eh_login_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_policy *policy = NULL;
    const eh_backend_def *defs, *only = NULL;
    const eh_backend_choice *choices, *only_choice = NULL;
    const char *locale, *requester_name;
    size_t n, n_choices, count = 0;
    eh_buf body;
    char *html = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    locale = txn->authn->locale ? txn->authn->locale : "en";
    if ((rc = eh_flow_policy(b, txn, &policy)) != EH_OK)
        goto cleanup;
    requester_name = eh_flow_requester_name(b, txn);
    defs = eh_backends(&n);
    for (size_t i = 0; i < n; i++) {
        if (defs[i].choices != NULL) {
            choices = choices_of(b, &defs[i], &n_choices);
            for (size_t c = 0; c < n_choices; c++) {
                if (choice_offered(b, txn, policy, &defs[i], &choices[c])) {
                    count++;
                    only_choice = &choices[c];
                }
            }
        } else if (offered(b, txn, policy, &defs[i])) {
            count++;
            only = &defs[i];
            only_choice = NULL;
        }
    }
    /* A requester that named the method goes straight to it. */
    if (count == 1 && txn->authn->method_hint != NULL) {
        rc = eh_redirect(resp, only_choice != NULL ? only_choice->href : only->start_path);
        goto cleanup;
    }
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "login_to"));
    eh_buf_append(&body, " <span class=\"requester\">");
    eh_buf_append_html(&body, requester_name ? requester_name : txn->authn->requester);
    eh_buf_append(&body, "</span>.</p>\n");
    if (count == 0) {
        eh_buf_append(&body, "<p class=\"error\" role=\"alert\">");
        eh_buf_append_html(&body, eh_i18n(locale, "no_method"));
        eh_buf_append(&body, "</p>\n");
    } else {
        eh_buf_append(&body, "<h2>");
        eh_buf_append_html(&body, eh_i18n(locale, "choose_method"));
        eh_buf_append(&body, "</h2>\n<ul class=\"methods\">\n");
        for (size_t i = 0; i < n; i++) {
            choices = choices_of(b, &defs[i], &n_choices);
            for (size_t c = 0; c < n_choices; c++) {
                const char *label = choices[c].label_en;
                if (!choice_offered(b, txn, policy, &defs[i], &choices[c]))
                    continue;
                if (strcmp(locale, "et") == 0 && choices[c].label_et != NULL)
                    label = choices[c].label_et;
                eh_buf_appendf(&body, "<li><a class=\"button\" id=\"method-%s-", defs[i].name);
                eh_buf_append_html(&body, choices[c].id);
                eh_buf_append(&body, "\" href=\"");
                eh_buf_append_html(&body, choices[c].href);
                eh_buf_append(&body, "\">");
                eh_buf_append_html(&body, label);
                eh_buf_append(&body, "</a></li>\n");
            }
            if (defs[i].choices != NULL || !offered(b, txn, policy, &defs[i]))
                continue;
            eh_buf_appendf(&body, "<li><a class=\"button\" id=\"method-%s\" href=\"%s\">",
                           defs[i].name, defs[i].start_path);
            eh_buf_append_html(&body, eh_i18n(locale, defs[i].label_key));
            eh_buf_append(&body, "</a></li>\n");
        }
        eh_buf_append(&body, "</ul>\n");
    }
    eh_login_append_cancel(&body, txn, locale);
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "login_title"), NULL, html);
cleanup:
    free(html);
    eh_policy_free(policy);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_cancel_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_txn *txn = NULL;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (!eh_txn_csrf_ok(txn, req)) {
        rc = eh_page_error(resp, 403, txn->authn->locale, "forbidden", NULL, NULL);
        goto cleanup;
    }
    eh_txn_free(txn);
    txn = NULL;
    /* take: a cancel and a completion racing end the transaction once */
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK)
        return EH_OK;
    rc = eh_flow_fail(b, txn, "access_denied", "the citizen cancelled the login", resp);
cleanup:
    eh_txn_free(txn);
    return rc;
}
