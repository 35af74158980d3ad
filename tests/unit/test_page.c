#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/i18n.h"
#include "broker/page.h"

/* body returns resp's body as a NUL-terminated copy (caller frees). */
static char *body(const eh_http_response *resp)
{
    char *s = malloc(resp->body_len + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, resp->body, resp->body_len);
    s[resp->body_len] = '\0';
    ck_assert_uint_eq(strlen(s), resp->body_len);
    return s;
}

/* header returns a response header that must be there. */
static const char *header(const eh_http_response *resp, const char *name)
{
    const char *v = eh_http_response_header_get(resp, name);
    ck_assert_msg(v != NULL, "no %s header", name);
    return v;
}

/* count tells how many times needle occurs in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* check_page_headers checks what every page must carry. */
static void check_page_headers(const eh_http_response *resp)
{
    const char *csp = header(resp, "Content-Security-Policy");
    ck_assert_str_eq(header(resp, "Content-Type"), "text/html; charset=utf-8");
    ck_assert_ptr_null(strstr(csp, "unsafe-inline"));
    ck_assert_ptr_null(strstr(csp, "unsafe-eval"));
    ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
    ck_assert_ptr_nonnull(strstr(csp, "frame-ancestors 'none'"));
    ck_assert_str_eq(header(resp, "Cache-Control"), "no-store");
    ck_assert_str_eq(header(resp, "X-Frame-Options"), "DENY");
    ck_assert_str_eq(header(resp, "Referrer-Policy"), "no-referrer");
}

START_TEST(page_layout_and_headers)
{
    eh_http_response resp;
    char *html;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_page_send(&resp, 200, "et", "Sisselogimine", NULL, "<p id=\"b\">x</p>"),
                     EH_OK);
    ck_assert_int_eq(resp.status, 200);
    check_page_headers(&resp);
    html = body(&resp);
    ck_assert_int_eq(strncmp(html, "<!DOCTYPE html>\n", 16), 0);
    ck_assert_ptr_nonnull(strstr(html, "<html lang=\"et\">"));
    ck_assert_ptr_nonnull(strstr(html, "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(html, "<title>Sisselogimine</title>"));
    ck_assert_ptr_nonnull(strstr(html, "<h1>Sisselogimine</h1>"));
    ck_assert_ptr_nonnull(strstr(html, "<p id=\"b\">x</p>"));
    ck_assert_ptr_nonnull(strstr(html, "href=\"/assets/eidhub.css\""));
    ck_assert_ptr_nonnull(strstr(html, "src=\"/assets/eidhub.js\""));
    /* no inline script: the only <script> is the external one */
    ck_assert_int_eq(count(html, "<script"), 1);
    ck_assert_ptr_nonnull(strstr(html, "</html>"));
    free(html);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(page_status_locale_and_head)
{
    eh_http_response resp;
    char *html;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_page_send(&resp, 429, "en", "T", "<meta name=\"x\" content=\"y\">\n", ""),
                     EH_OK);
    ck_assert_int_eq(resp.status, 429);
    check_page_headers(&resp);
    html = body(&resp);
    ck_assert_ptr_nonnull(strstr(html, "<html lang=\"en\">"));
    /* head_extra goes into <head> */
    ck_assert_ptr_nonnull(strstr(html, "<meta name=\"x\" content=\"y\">"));
    ck_assert(strstr(html, "<meta name=\"x\"") < strstr(html, "</head>"));
    free(html);
    eh_http_response_free(&resp);

    /* any locale but et is English: never copied into the page */
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_page_send(&resp, 200, "\"><script>x</script>", "T", NULL, ""), EH_OK);
    html = body(&resp);
    ck_assert_ptr_nonnull(strstr(html, "<html lang=\"en\">"));
    ck_assert_int_eq(count(html, "<script"), 1);
    free(html);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(page_escapes_title)
{
    eh_http_response resp;
    char *html;

    eh_http_response_init(&resp);
    ck_assert_int_eq(
        eh_page_send(&resp, 200, "en", "</title><script>alert('x')</script>&", NULL, "<p>ok</p>"),
        EH_OK);
    html = body(&resp);
    ck_assert_int_eq(count(html, "<script"), 1);
    ck_assert_int_eq(count(html, "</title>"), 1);
    ck_assert_ptr_nonnull(strstr(html, "<title>&lt;/title&gt;&lt;script&gt;alert(&#39;x&#39;)"
                                       "&lt;/script&gt;&amp;</title>"));
    ck_assert_ptr_nonnull(strstr(html, "<h1>&lt;/title&gt;"));
    free(html);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(page_replaces_earlier_headers)
{
    /* a page sent after another (an error after a half-built answer) does not
     * repeat or keep weaker headers */
    eh_http_response resp;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_http_response_set_header(&resp, "Cache-Control", "public, max-age=60"),
                     EH_OK);
    ck_assert_int_eq(eh_page_send(&resp, 200, "en", "A", NULL, ""), EH_OK);
    ck_assert_int_eq(eh_page_send(&resp, 500, "en", "B", NULL, ""), EH_OK);
    ck_assert_int_eq(resp.status, 500);
    check_page_headers(&resp);
    for (size_t i = 0, csp = 0; i < resp.n_headers; i++) {
        if (strcasecmp(resp.header_names[i], "Content-Security-Policy") == 0)
            ck_assert_uint_eq(++csp, 1);
        if (strcasecmp(resp.header_names[i], "Cache-Control") == 0)
            ck_assert_str_eq(resp.header_values[i], "no-store");
    }
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(error_page)
{
    eh_http_response resp;
    char *html;

    eh_http_response_init(&resp);
    ck_assert_int_eq(
        eh_page_error(&resp, 400, "et", "bad_request", "/login?a=1&b=\"x\"", "try_again"), EH_OK);
    ck_assert_int_eq(resp.status, 400);
    check_page_headers(&resp);
    html = body(&resp);
    ck_assert_ptr_nonnull(strstr(html, "<html lang=\"et\">"));
    ck_assert_ptr_nonnull(strstr(html, eh_i18n("et", "error_title")));
    ck_assert_ptr_nonnull(strstr(html, eh_i18n("et", "bad_request")));
    ck_assert_ptr_nonnull(strstr(html, "role=\"alert\""));
    /* the link's href is escaped in its attribute */
    ck_assert_ptr_nonnull(strstr(html, "href=\"/login?a=1&amp;b=&quot;x&quot;\""));
    ck_assert_ptr_nonnull(strstr(html, eh_i18n("et", "try_again")));
    free(html);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(error_page_escapes_unknown_keys)
{
    /* an unknown key shows as itself, still escaped */
    eh_http_response resp;
    char *html;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_page_error(&resp, 500, "en", "<img src=x onerror=alert(1)>", NULL, NULL),
                     EH_OK);
    html = body(&resp);
    ck_assert_ptr_null(strstr(html, "<img"));
    ck_assert_ptr_nonnull(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"));
    /* without href or label there is no link */
    ck_assert_ptr_null(strstr(html, "<a "));
    free(html);
    eh_http_response_free(&resp);

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_page_error(&resp, 500, "en", "bad_request", "/x", NULL), EH_OK);
    html = body(&resp);
    ck_assert_ptr_null(strstr(html, "<a "));
    free(html);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(redirect_is_303_with_location)
{
    eh_http_response resp;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_redirect(&resp, "https://portal.example/cb?code=x&state=y"), EH_OK);
    ck_assert_int_eq(resp.status, 303);
    ck_assert_str_eq(header(&resp, "Location"), "https://portal.example/cb?code=x&state=y");
    ck_assert_str_eq(header(&resp, "Cache-Control"), "no-store");
    ck_assert_str_eq(header(&resp, "Referrer-Policy"), "no-referrer");
    /* a second redirect replaces the first */
    ck_assert_int_eq(eh_redirect(&resp, "/login"), EH_OK);
    ck_assert_str_eq(header(&resp, "Location"), "/login");
    for (size_t i = 0, n = 0; i < resp.n_headers; i++)
        if (strcasecmp(resp.header_names[i], "Location") == 0)
            ck_assert_uint_eq(++n, 1);
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(redirect_refuses_header_injection)
{
    eh_http_response resp;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_redirect(&resp, "/x\r\nSet-Cookie: a=b"), EH_ERR_INVALID);
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Location"));
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Set-Cookie"));
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(assets_have_their_types)
{
    eh_http_request req = {.method = EH_HTTP_GET, .path = "/assets/eidhub.css", .query = ""};
    eh_http_response resp;
    char *text;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_assets_css_handle(NULL, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(header(&resp, "Content-Type"), "text/css; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(header(&resp, "Cache-Control"), "max-age="));
    text = body(&resp);
    ck_assert_uint_gt(strlen(text), 100);
    ck_assert_ptr_nonnull(strstr(text, "body{"));
    ck_assert_ptr_null(strstr(text, "<"));
    free(text);
    eh_http_response_free(&resp);

    req.path = "/assets/eidhub.js";
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_assets_js_handle(NULL, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(header(&resp, "Content-Type"), "text/javascript; charset=utf-8");
    text = body(&resp);
    ck_assert_int_eq(strncmp(text, "'use strict';", 13), 0);
    /* the polling page's hooks */
    ck_assert_ptr_nonnull(strstr(text, "eh-poll"));
    ck_assert_ptr_nonnull(strstr(text, "data-status"));
    ck_assert_ptr_nonnull(strstr(text, "data-next"));
    ck_assert_ptr_null(strstr(text, "eval("));
    free(text);
    eh_http_response_free(&resp);
}
END_TEST

Suite *suite_page(void)
{
    Suite *s = suite_create("page");
    TCase *tc = tcase_create("page");
    tcase_add_test(tc, page_layout_and_headers);
    tcase_add_test(tc, page_status_locale_and_head);
    tcase_add_test(tc, page_escapes_title);
    tcase_add_test(tc, page_replaces_earlier_headers);
    tcase_add_test(tc, error_page);
    tcase_add_test(tc, error_page_escapes_unknown_keys);
    tcase_add_test(tc, redirect_is_303_with_location);
    tcase_add_test(tc, redirect_refuses_header_injection);
    tcase_add_test(tc, assets_have_their_types);
    suite_add_tcase(s, tc);
    return s;
}
