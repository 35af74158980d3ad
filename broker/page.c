#include "broker/page.h"

#include <stdlib.h>
#include <string.h>

#include "broker/buf.h"
#include "broker/i18n.h"

#define CSP                                                                                       \
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "                  \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

/* security_headers adds what every page carries. */
static eh_rc security_headers(eh_http_response *resp)
{
    static const char *const headers[][2] = {
        {"Content-Security-Policy", CSP},
        {"Cache-Control", "no-store"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        eh_rc rc = eh_http_response_set_header(resp, headers[i][0], headers[i][1]);
        if (rc != EH_OK)
            return rc;
    }
    return EH_OK;
}

eh_rc eh_page_send(eh_http_response *resp, int status, const char *locale, const char *title,
                   const char *head_extra, const char *body_html)
{
    eh_buf b;
    char *html = NULL;
    size_t len = 0;
    eh_rc rc;

    if (locale == NULL)
        locale = "en";
    eh_buf_init(&b);
    eh_buf_appendf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n",
                   strcmp(locale, "et") == 0 ? "et" : "en");
    eh_buf_append(&b, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>");
    eh_buf_append_html(&b, title);
    eh_buf_append(&b, "</title>\n<link rel=\"stylesheet\" href=\"/assets/eidhub.css\">\n"
                      "<script src=\"/assets/eidhub.js\" defer></script>\n");
    if (head_extra != NULL)
        eh_buf_append(&b, head_extra);
    eh_buf_append(&b, "</head>\n<body>\n<header><span class=\"brand\">");
    eh_buf_append_html(&b, eh_i18n(locale, "brand"));
    eh_buf_append(&b, "</span></header>\n<main>\n<h1>");
    eh_buf_append_html(&b, title);
    eh_buf_append(&b, "</h1>\n");
    eh_buf_append(&b, body_html);
    eh_buf_append(&b, "\n</main>\n</body>\n</html>\n");
    rc = eh_buf_finish(&b, &html, &len);
    if (rc != EH_OK)
        return rc;
    rc = eh_http_response_take_body(resp, status, "text/html; charset=utf-8", html, len);
    if (rc == EH_OK)
        rc = security_headers(resp);
    return rc;
}

eh_rc eh_page_error(eh_http_response *resp, int status, const char *locale,
                    const char *message_key, const char *href, const char *label_key)
{
    eh_buf b;
    char *body = NULL;
    eh_rc rc;

    eh_buf_init(&b);
    eh_buf_append(&b, "<p class=\"error\" role=\"alert\">");
    eh_buf_append_html(&b, eh_i18n(locale, message_key));
    eh_buf_append(&b, "</p>\n");
    if (href != NULL && label_key != NULL) {
        eh_buf_append(&b, "<p><a class=\"button\" href=\"");
        eh_buf_append_html(&b, href);
        eh_buf_append(&b, "\">");
        eh_buf_append_html(&b, eh_i18n(locale, label_key));
        eh_buf_append(&b, "</a></p>\n");
    }
    rc = eh_buf_finish(&b, &body, NULL);
    if (rc != EH_OK)
        return rc;
    rc = eh_page_send(resp, status, locale, eh_i18n(locale, "error_title"), NULL, body);
    free(body);
    return rc;
}

void eh_page_append_decision(eh_buf *out, const char *action, const char *csrf,
                             const char *locale, eh_page_choice primary, eh_page_choice secondary)
{
    const eh_page_choice *choices[] = {&primary, &secondary};

    eh_buf_append(out, "<form method=\"post\" action=\"");
    eh_buf_append_html(out, action);
    eh_buf_append(out, "\">\n<input type=\"hidden\" name=\"csrf\" value=\"");
    eh_buf_append_html(out, csrf);
    eh_buf_append(out, "\">\n");
    for (size_t i = 0; i < 2; i++) {
        eh_buf_append(out, i == 0 ? "<button type=\"submit\" name=\"decision\" value=\""
                                  : "<button type=\"submit\" class=\"secondary\" "
                                    "name=\"decision\" value=\"");
        eh_buf_append_html(out, choices[i]->value);
        eh_buf_append(out, "\" id=\"");
        eh_buf_append_html(out, choices[i]->id);
        eh_buf_append(out, "\">");
        eh_buf_append_html(out, eh_i18n(locale, choices[i]->label_key));
        eh_buf_append(out, "</button>\n");
    }
    eh_buf_append(out, "</form>\n");
}

eh_rc eh_redirect(eh_http_response *resp, const char *location)
{
    eh_rc rc = eh_http_response_set_header(resp, "Location", location);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Referrer-Policy", "no-referrer");
    resp->status = 303;
    return rc;
}
