/* eidhub: the HTML pages citizens see.
 *
 * Every page goes through eh_page_send: one layout, the stylesheet and
 * script from /assets (no inline script, so the Content-Security-Policy
 * allows none), no caching, no framing, no referrer. Handlers pass body
 * HTML in which every outside value was escaped with eh_buf_append_html. */
#ifndef EH_PAGE_H
#define EH_PAGE_H

#include "broker/http.h"
#include "broker/rc.h"

/* eh_page_send makes resp a complete HTML page with status, in locale
 * ("et"/"en"), with title (plain text, escaped here) and body_html (trusted
 * HTML). head_extra (trusted, may be NULL) goes into <head>. */
eh_rc eh_page_send(eh_http_response *resp, int status, const char *locale, const char *title,
                   const char *head_extra, const char *body_html);

/* eh_page_error sends an error page: the catalog's error title and the
 * catalog text of message_key, with an optional link (href trusted, label a
 * catalog key) under it. */
eh_rc eh_page_error(eh_http_response *resp, int status, const char *locale,
                    const char *message_key, const char *href, const char *label_key);

/* A button of a decision form: the value it posts as "decision", its
 * element id and the catalog key of its label. */
typedef struct eh_page_choice {
    const char *value;
    const char *id;
    const char *label_key;
} eh_page_choice;

/* eh_page_append_decision appends to out a POST form to action carrying the
 * CSRF token csrf and two buttons: primary, then secondary (styled as the
 * lesser choice). */
struct eh_buf;
void eh_page_append_decision(struct eh_buf *out, const char *action, const char *csrf,
                             const char *locale, eh_page_choice primary, eh_page_choice secondary);

/* eh_redirect answers 303 See Other to location (an absolute or
 * root-relative URL the caller built safely). */
eh_rc eh_redirect(eh_http_response *resp, const char *location);

/* Handlers (dispatch table) for the static assets. */
struct eh_broker;
eh_rc eh_assets_css_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp);
eh_rc eh_assets_js_handle(struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp);

#endif
