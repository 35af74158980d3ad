/* eidhub: "My eidhub", the citizen's own page. A citizen with an SSO
 * session sees every release of their data in the retention period (when,
 * to whom, at which level, through which method, which attribute names) and
 * can end their session everywhere. Changes are POSTs protected by the
 * SameSite=Lax session cookie and an Origin check. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/frontends/oidc_op.h"
#include "broker/i18n.h"
#include "broker/me.h"
#include "broker/page.h"
#include "broker/records.h"
#include "broker/sso.h"

/* append_row appends one release as a table row. */
static void append_row(eh_buf *b, const char *locale, const json_t *r)
{
    char when[32];
    time_t t = (time_t)json_integer_value(json_object_get(r, "time"));
    struct tm tm;
    const char *name = json_string_value(json_object_get(r, "requester_name"));
    const eh_backend_def *method = eh_backend_find(json_string_value(json_object_get(r, "method")));
    json_t *attr;
    size_t i;

    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    eh_buf_append(b, "<tr><td>");
    eh_buf_append_html(b, when);
    eh_buf_append(b, "</td><td class=\"requester\">");
    eh_buf_append_html(b, name ? name : json_string_value(json_object_get(r, "requester")));
    eh_buf_append(b, "</td><td>");
    eh_buf_append_html(b, json_string_value(json_object_get(r, "loa")));
    eh_buf_append(b, "</td><td>");
    eh_buf_append_html(b, method ? eh_i18n(locale, method->label_key) : "?");
    eh_buf_append(b, "</td><td>");
    json_array_foreach(json_object_get(r, "attributes"), i, attr) {
        if (i > 0)
            eh_buf_append(b, ", ");
        eh_buf_append_html(b, json_string_value(attr));
    }
    eh_buf_append(b, "</td></tr>\n");
}

eh_rc eh_me_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const char *locale = eh_i18n_locale_of_request(req);
    eh_sso *sso = NULL;
    json_t *records = NULL, *r;
    char *html = NULL;
    eh_buf body;
    size_t i;
    eh_rc rc;

    if (eh_sso_of_request(b, req, &sso) != EH_OK)
        return eh_page_error(resp, 200, locale, "me_login_first", NULL, NULL);
    rc = eh_records_list(b, sso->identity, &records);
    if (rc != EH_OK)
        goto cleanup;
    eh_buf_init(&body);
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "me_intro"));
    eh_buf_append(&body, "</p>\n");
    if (json_array_size(records) == 0) {
        eh_buf_append(&body, "<p id=\"releases-none\">");
        eh_buf_append_html(&body, eh_i18n(locale, "me_none"));
        eh_buf_append(&body, "</p>\n");
    } else {
        static const char *const heads[] = {"me_when", "me_to", "me_level", "me_method", "me_what"};
        eh_buf_append(&body, "<table id=\"releases\">\n<tr>");
        for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
            eh_buf_append(&body, "<th>");
            eh_buf_append_html(&body, eh_i18n(locale, heads[h]));
            eh_buf_append(&body, "</th>");
        }
        eh_buf_append(&body, "</tr>\n");
        json_array_foreach(records, i, r) {
            append_row(&body, locale, r);
        }
        eh_buf_append(&body, "</table>\n");
    }
    eh_buf_append(&body, "<form method=\"post\" action=\"/me/logout\"><button type=\"submit\" "
                         "id=\"end-sessions\">");
    eh_buf_append_html(&body, eh_i18n(locale, "me_end_sessions"));
    eh_buf_append(&body, "</button></form>\n");
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "me_title"), NULL, html);
cleanup:
    free(html);
    json_decref(records);
    eh_sso_free(sso);
    return rc;
}

eh_rc eh_me_logout_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const char *locale = eh_i18n_locale_of_request(req);
    const char *origin = eh_http_header_get(req, "Origin");
    eh_sso *sso = NULL;
    eh_rc rc;

    if (origin != NULL && strcmp(origin, eh_broker_config_get(b)->issuer) != 0)
        return eh_page_error(resp, 403, locale, "forbidden", NULL, NULL);
    if (eh_sso_of_request(b, req, &sso) != EH_OK)
        return eh_redirect(resp, "/me");
    rc = eh_oidc_logout_session(b, sso->key, resp);
    eh_sso_free(sso);
    if (rc == EH_OK)
        rc = eh_redirect(resp, "/me");
    return rc;
}
