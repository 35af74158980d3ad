/* eidhub: logout. RP-initiated logout (OpenID Connect RP-Initiated Logout
 * 1.0: end_session_endpoint with id_token_hint and a registered
 * post_logout_redirect_uri only) ends the browser's SSO session, and every
 * portal of that session that registered a backchannel_logout_uri is told
 * with a signed logout token (OpenID Connect Back-Channel Logout 1.0); the
 * eIDAS peers of the session that take a SAML logout are told through
 * broker/flow.h (eh_flow_session_ended). The back-channel calls run in the
 * thread-pool task of the logout request, each bounded in time and retried
 * a bounded number of times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/flow.h"
#include "broker/frontends/oidc_op.h"
#include "broker/http_client.h"
#include "broker/i18n.h"
#include "broker/jwt.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"
#include "broker/sso.h"

#define BACKCHANNEL_TRIES 3
#define BACKCHANNEL_TIMEOUT_MS 1500
#define PARAM_MAX 8192

/* notify_one posts a logout token for sid to one relying party. */
static void notify_one(eh_broker *b, const eh_config_rp *rp, const char *sid)
{
    const eh_config *cfg = eh_broker_config_get(b);
    json_t *claims = NULL;
    char *jti = NULL, *token = NULL, why[256];
    eh_buf form;
    char *body = NULL;

    if (eh_random_token(&jti) != EH_OK)
        return;
    claims = json_pack("{s:s, s:s, s:I, s:s, s:s, s:{s:{}}}", "iss", cfg->issuer, "aud",
                       rp->client_id, "iat", (json_int_t)time(NULL), "jti", jti, "sid", sid,
                       "events", "http://schemas.openid.net/event/backchannel-logout");
    if (claims == NULL || eh_jwt_sign(eh_broker_keys_get(b), claims, "logout+jwt", &token) != EH_OK)
        goto cleanup;
    eh_buf_init(&form);
    eh_buf_append(&form, "logout_token=");
    eh_buf_append_urlenc(&form, token);
    if (eh_buf_finish(&form, &body, NULL) != EH_OK)
        goto cleanup;
    for (int attempt = 1; attempt <= BACKCHANNEL_TRIES; attempt++) {
        eh_http_call call = {.method = "POST",
                             .url = rp->backchannel_logout_uri,
                             .form_body = body,
                             .timeout_ms = BACKCHANNEL_TIMEOUT_MS,
                             .connect_timeout_ms = BACKCHANNEL_TIMEOUT_MS,
                             .upstream = EH_UPSTREAM_BACKCHANNEL_LOGOUT};
        eh_http_answer answer = {0};
        eh_rc rc = eh_http_client_call(&call, &answer, why, sizeof(why));
        long status = answer.status;
        eh_http_answer_clear(&answer);
        if (rc == EH_OK && status >= 200 && status < 300)
            goto cleanup;
        eh_log(EH_LOG_WARN, "logout: back-channel logout of %s failed (attempt %d of %d): %s",
               rp->client_id, attempt, BACKCHANNEL_TRIES, rc == EH_OK ? "HTTP error" : why);
    }
cleanup:
    free(body);
    free(jti);
    free(token);
    json_decref(claims);
}

eh_rc eh_oidc_logged_out_page(eh_http_response *resp, const char *locale)
{
    char *body = NULL;
    eh_buf page;
    eh_rc rc;

    eh_buf_init(&page);
    eh_buf_append(&page, "<p id=\"logged-out\">");
    eh_buf_append_html(&page, eh_i18n(locale, "logout_done"));
    eh_buf_append(&page, "</p>\n");
    rc = eh_buf_finish(&page, &body, NULL);
    if (rc == EH_OK)
        rc = eh_page_send(resp, 200, locale, eh_i18n(locale, "logout_title"), NULL, body);
    free(body);
    return rc;
}

eh_rc eh_oidc_logout_session(eh_broker *b, const char *key, eh_http_response *resp)
{
    eh_sso *sso = NULL;
    const char *client_id;
    json_t *v;
    eh_rc rc = eh_sso_end(b, key, &sso);

    if (rc == EH_OK) {
        json_object_foreach(sso->requesters, client_id, v) {
            const eh_config_rp *rp = eh_config_rp_find(eh_broker_config_get(b), client_id);
            (void)v;
            if (rp != NULL && rp->backchannel_logout_uri != NULL)
                notify_one(b, rp, sso->sid);
        }
        /* eIDAS peers (Connectors we answered, the node we logged in
         * through) that take a SAML logout */
        eh_flow_session_ended(b, sso);
        eh_log(EH_LOG_INFO, "logout: session ended (%zu services)",
               json_object_size(sso->requesters));
    }
    eh_sso_free(sso);
    if (rc == EH_ERR_NOT_FOUND)
        rc = EH_OK;
    if (rc == EH_OK && resp != NULL)
        rc = eh_sso_forget(b, resp);
    return rc;
}

/* registered_logout_uri tells whether uri is one of rp's
 * post_logout_redirect_uris (byte-equal). */
static int registered_logout_uri(const eh_config_rp *rp, const char *uri)
{
    for (size_t i = 0; i < rp->n_post_logout_redirect_uris; i++) {
        if (strcmp(rp->post_logout_redirect_uris[i], uri) == 0)
            return 1;
    }
    return 0;
}

/* hint_claims verifies an id_token_hint: our signature and our issuer (it
 * may have expired: a hint only says who asks). */
static json_t *hint_claims(eh_broker *b, const char *hint)
{
    json_t *claims = NULL;
    const char *iss;
    if (eh_jwt_verify(eh_broker_keys_get(b), hint, &claims) != EH_OK)
        return NULL;
    iss = json_string_value(json_object_get(claims, "iss"));
    if (iss == NULL || strcmp(iss, eh_broker_config_get(b)->issuer) != 0) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}

eh_rc eh_oidc_logout_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const char *src = req->method == EH_HTTP_POST ? (const char *)req->body : req->query;
    size_t len = src ? (req->method == EH_HTTP_POST ? req->body_len : strlen(src)) : 0;
    const char *locale = eh_i18n_locale_of_request(req), *client_id = NULL;
    char *hint = NULL, *redirect = NULL, *state = NULL, *param_client = NULL, *key = NULL,
         *url = NULL;
    json_t *claims = NULL;
    const eh_config_rp *rp = NULL;
    eh_sso *sso = NULL;
    eh_rc rc = EH_OK;

    if (src != NULL &&
        (eh_http_param_get(src, len, "id_token_hint", &hint) == EH_ERR_INVALID ||
         eh_http_param_get(src, len, "post_logout_redirect_uri", &redirect) == EH_ERR_INVALID ||
         eh_http_param_get(src, len, "state", &state) == EH_ERR_INVALID ||
         eh_http_param_get(src, len, "client_id", &param_client) == EH_ERR_INVALID)) {
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    if (hint != NULL && (strlen(hint) > PARAM_MAX || (claims = hint_claims(b, hint)) == NULL)) {
        eh_log(EH_LOG_INFO, "logout: refused an id_token_hint we did not issue");
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    client_id = claims ? json_string_value(json_object_get(claims, "aud")) : param_client;
    if (claims != NULL && param_client != NULL && client_id != NULL &&
        strcmp(client_id, param_client) != 0) {
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    if (redirect != NULL) {
        rp = client_id ? eh_config_rp_find(eh_broker_config_get(b), client_id) : NULL;
        if (rp == NULL || !registered_logout_uri(rp, redirect)) {
            eh_log(EH_LOG_INFO, "logout: refused an unregistered post_logout_redirect_uri");
            rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
            goto cleanup;
        }
    }
    /* the browser's session; else the one the hint names */
    if (eh_sso_of_request(b, req, &sso) == EH_OK) {
        key = strdup(sso->key);
    } else if (claims != NULL && json_is_string(json_object_get(claims, "sid"))) {
        eh_sso_find_sid(b, json_string_value(json_object_get(claims, "sid")), &key);
    }
    if (key != NULL && (rc = eh_oidc_logout_session(b, key, resp)) != EH_OK)
        goto cleanup;
    if (key == NULL && (rc = eh_sso_forget(b, resp)) != EH_OK)
        goto cleanup;
    if (redirect != NULL) {
        const char *names[] = {"state"};
        const char *values[] = {state};
        rc = eh_oidc_redirect_url(redirect, names, values, 1, NULL, &url);
        if (rc == EH_OK)
            rc = eh_redirect(resp, url);
    } else {
        rc = eh_oidc_logged_out_page(resp, locale);
    }
cleanup:
    free(hint);
    free(redirect);
    free(state);
    free(param_client);
    free(key);
    free(url);
    json_decref(claims);
    eh_sso_free(sso);
    return rc;
}
