/* eidhub: the SAML HTTP-POST binding (see saml_post.h). */
#include "broker/saml/saml_post.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "broker/buf.h"
#include "broker/i18n.h"
#include "broker/page.h"

eh_rc eh_saml_b64_encode(const char *data, size_t len, char **out)
{
    char *b;

    if (len > (size_t)1 << 28)
        return EH_ERR_TOO_LARGE;
    b = malloc(4 * ((len + 2) / 3) + 1);
    if (b == NULL)
        return EH_ERR_NOMEM;
    EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)data, (int)len);
    *out = b;
    return EH_OK;
}

static int is_b64(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

eh_rc eh_saml_b64_decode(const char *b64, size_t len, size_t max, char **out, size_t *out_len)
{
    char *clean = NULL, *bin = NULL;
    size_t n = 0, pad = 0;
    int got;
    eh_rc rc = EH_ERR_INVALID;

    if (len / 4 * 3 > max + 3 + len / 76 * 3) /* a quick bound before allocating */
        return EH_ERR_TOO_LARGE;
    clean = malloc(len + 1);
    if (clean == NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        char c = b64[i];
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        if (!is_b64(c) || (pad > 0 && c != '='))
            goto cleanup;
        pad += c == '=';
        clean[n++] = c;
    }
    if (n == 0 || n % 4 != 0 || pad > 2)
        goto cleanup;
    if (n / 4 * 3 - pad > max) {
        rc = EH_ERR_TOO_LARGE;
        goto cleanup;
    }
    bin = malloc(n / 4 * 3 + 1);
    if (bin == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    got = EVP_DecodeBlock((unsigned char *)bin, (const unsigned char *)clean, (int)n);
    if (got < 0 || (size_t)got < pad)
        goto cleanup;
    *out_len = (size_t)got - pad; /* EVP_DecodeBlock counts the padding as bytes */
    bin[*out_len] = '\0';
    *out = bin;
    bin = NULL;
    rc = EH_OK;
cleanup:
    free(clean);
    free(bin);
    return rc;
}

eh_rc eh_saml_post_read(const eh_http_request *req, const char *field, size_t max, char **xml,
                        size_t *xml_len, char **relay_state)
{
    const char *body = (const char *)req->body;
    char *b64 = NULL, *relay = NULL;
    eh_rc rc;

    if (relay_state != NULL)
        *relay_state = NULL;
    if (body == NULL || req->body_len == 0)
        return EH_ERR_NOT_FOUND;
    rc = eh_http_param_get(body, req->body_len, field, &b64);
    if (rc != EH_OK)
        return rc;
    rc = eh_http_param_get(body, req->body_len, "RelayState", &relay);
    if (rc == EH_ERR_NOT_FOUND) {
        relay = NULL;
        rc = EH_OK;
    } else if (rc == EH_OK && strlen(relay) > EH_SAML_RELAY_STATE_MAX) {
        rc = EH_ERR_INVALID;
    }
    if (rc == EH_OK)
        rc = eh_saml_b64_decode(b64, strlen(b64), max, xml, xml_len);
    if (rc == EH_OK && relay_state != NULL) {
        *relay_state = relay;
        relay = NULL;
    }
    free(b64);
    free(relay);
    return rc;
}

eh_rc eh_saml_post_send(eh_http_response *resp, const char *locale, const char *action,
                        const char *field, const char *xml, size_t xml_len,
                        const char *relay_state)
{
    char *b64 = NULL, *html = NULL;
    eh_buf body;
    eh_rc rc = eh_saml_b64_encode(xml, xml_len, &b64);

    if (rc != EH_OK)
        return rc;
    eh_buf_init(&body);
    eh_buf_append(&body, "<form method=\"post\" id=\"saml-post\" action=\"");
    eh_buf_append_html(&body, action);
    eh_buf_append(&body, "\" data-autosubmit>\n<input type=\"hidden\" name=\"");
    eh_buf_append_html(&body, field);
    eh_buf_append(&body, "\" value=\"");
    eh_buf_append_html(&body, b64);
    eh_buf_append(&body, "\">\n");
    if (relay_state != NULL) {
        eh_buf_append(&body, "<input type=\"hidden\" name=\"RelayState\" value=\"");
        eh_buf_append_html(&body, relay_state);
        eh_buf_append(&body, "\">\n");
    }
    eh_buf_append(&body, "<p>");
    eh_buf_append_html(&body, eh_i18n(locale, "saml_post_wait"));
    eh_buf_append(&body, "</p>\n<button type=\"submit\" id=\"saml-continue\">");
    eh_buf_append_html(&body, eh_i18n(locale, "continue"));
    eh_buf_append(&body, "</button>\n</form>\n");
    rc = eh_buf_finish(&body, &html, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "saml_post_title"), NULL, html);
    free(html);
    free(b64);
    return rc;
}
