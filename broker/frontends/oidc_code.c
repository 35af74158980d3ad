/* eidhub: the OpenID Connect frontend's end of a login: the authorization
 * code (or the error) on the relying party's registered redirect_uri. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/oidc_map.h"
#include "attributes/pairwise.h"
#include "attributes/registry.h"
#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/frontends/oidc_op.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"

eh_rc eh_oidc_redirect_url(const char *redirect_uri, const char *const *names,
                           const char *const *values, size_t n, const char *issuer, char **out)
{
    eh_buf b;
    char sep = strchr(redirect_uri, '?') ? '&' : '?';

    eh_buf_init(&b);
    eh_buf_append(&b, redirect_uri);
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL)
            continue;
        eh_buf_appendf(&b, "%c%s=", sep, names[i]);
        eh_buf_append_urlenc(&b, values[i]);
        sep = '&';
    }
    if (issuer != NULL) {
        eh_buf_appendf(&b, "%ciss=", sep);
        eh_buf_append_urlenc(&b, issuer);
    }
    return eh_buf_finish(&b, out, NULL);
}

/* rp_of returns the relying party that started txn. */
static const eh_config_rp *rp_of(eh_broker *b, const eh_txn *txn)
{
    const char *client_id = json_string_value(json_object_get(txn->frontend, "client_id"));
    return client_id ? eh_config_rp_find(eh_broker_config_get(b), client_id) : NULL;
}

/* subject_of returns the relying party's subject for the citizen: public
 * (country + identifier) only when both its registration and its policy say
 * so, otherwise pairwise, per the policy's sector or else per client. */
static eh_rc subject_of(eh_broker *b, const eh_config_rp *rp, const eh_policy *policy,
                        const eh_identity *id, char **out)
{
    const eh_config *cfg = eh_broker_config_get(b);
    char subject[256];
    eh_rc rc = eh_identity_subject(id, subject, sizeof(subject));

    if (rc != EH_OK)
        return rc;
    if (eh_oidc_subject_type(rp->subject_type, policy->subject_type) == EH_SUBJECT_PUBLIC) {
        *out = strdup(subject);
        return *out ? EH_OK : EH_ERR_NOMEM;
    }
    if (cfg->subject_secret == NULL)
        return EH_ERR_CONFIG;
    return eh_pairwise_subject(cfg->subject_secret, cfg->subject_secret_len,
                               policy->sector ? policy->sector : rp->client_id, subject, out);
}

eh_rc eh_oidc_complete(eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                       const eh_identity *released, eh_http_response *resp)
{
    const eh_config_rp *rp = rp_of(b, txn);
    const eh_backend_def *backend = eh_backend_find(released->method);
    char *sub = NULL, *code = NULL, *digest = NULL, *text = NULL, *url = NULL;
    char key[EH_STORE_KEY_MAX + 1];
    json_t *payload = NULL;
    eh_rc rc;

    if (rp == NULL)
        return EH_ERR_INTERNAL;
    if ((rc = subject_of(b, rp, policy, released, &sub)) != EH_OK ||
        (rc = eh_random_token(&code)) != EH_OK || (rc = eh_token_digest(code, &digest)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    payload = json_pack("{s:O, s:O, s:O?, s:O?, s:O?, s:s, s:s, s:[s], s:I, s:o}", "client_id",
                        json_object_get(txn->frontend, "client_id"), "redirect_uri",
                        json_object_get(txn->frontend, "redirect_uri"), "nonce",
                        json_object_get(txn->frontend, "nonce"), "code_challenge",
                        json_object_get(txn->frontend, "code_challenge"), "scope",
                        json_object_get(txn->frontend, "scope"), "sub", sub, "acr",
                        eh_loa_name(released->loa), "amr", backend ? backend->amr : "unknown",
                        "auth_time", (json_int_t)released->auth_time, "claims",
                        eh_oidc_claims_of(released));
    if (payload == NULL)
        goto cleanup;
    if (json_is_string(json_object_get(txn->flow, "sid")) &&
        json_object_set(payload, "sid", json_object_get(txn->flow, "sid")) != 0)
        goto cleanup;
    if ((text = json_dumps(payload, JSON_COMPACT)) == NULL)
        goto cleanup;
    snprintf(key, sizeof(key), "code:%s", digest);
    rc = eh_store_set(eh_broker_store_get(b), key, text, strlen(text),
                      EH_OIDC_CODE_TTL_S * 1000u);
    if (rc != EH_OK)
        goto cleanup;
    {
        const char *names[] = {"code", "state"};
        const char *values[] = {code, json_string_value(json_object_get(txn->frontend, "state"))};
        rc = eh_oidc_redirect_url(json_string_value(json_object_get(txn->frontend,
                                                                    "redirect_uri")),
                                  names, values, 2, eh_broker_config_get(b)->issuer, &url);
    }
    if (rc == EH_OK)
        rc = eh_redirect(resp, url);
cleanup:
    free(sub);
    free(code);
    free(digest);
    free(text);
    free(url);
    json_decref(payload);
    return rc;
}

eh_rc eh_oidc_fail(eh_broker *b, const eh_txn *txn, const char *error, const char *description,
                   eh_http_response *resp)
{
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {error, description,
                            json_string_value(json_object_get(txn->frontend, "state"))};
    const char *redirect_uri = json_string_value(json_object_get(txn->frontend, "redirect_uri"));
    char *url = NULL;
    eh_rc rc;

    if (redirect_uri == NULL || rp_of(b, txn) == NULL)
        return EH_ERR_INTERNAL;
    rc = eh_oidc_redirect_url(redirect_uri, names, values, 3, eh_broker_config_get(b)->issuer,
                              &url);
    if (rc == EH_OK)
        rc = eh_redirect(resp, url);
    free(url);
    return rc;
}

/* pkce_ok checks base64url(SHA-256(verifier)) == challenge (RFC 7636). */
static int pkce_ok(const char *verifier, const char *challenge)
{
    size_t n = strlen(verifier);
    char *enc = NULL;
    int ok;

    if (n < 43 || n > 128 ||
        strspn(verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789-._~") != n)
        return 0;
    /* eh_token_digest is exactly base64url(SHA-256(text)): S256 */
    if (eh_token_digest(verifier, &enc) != EH_OK)
        return 0;
    ok = eh_token_equal(enc, challenge);
    free(enc);
    return ok;
}

/* revoke_reused handles a code that is not (or no longer) there: when it was
 * redeemed before, the access token that redemption issued is revoked. */
static void revoke_reused(eh_store *store, const char *code_digest)
{
    char key[EH_STORE_KEY_MAX + 1], *at_key = NULL;
    size_t len = 0;

    snprintf(key, sizeof(key), "codeused:%s", code_digest);
    if (eh_store_take(store, key, &at_key, &len) == EH_OK) {
        eh_store_del(store, at_key);
        eh_log(EH_LOG_WARN, "token: an authorization code was used twice; its tokens are "
                            "revoked");
    }
    free(at_key);
}

eh_rc eh_oidc_code_redeem(eh_broker *b, const char *client_id, const char *code,
                          const char *redirect_uri, const char *verifier, json_t **payload,
                          char **digest, const char **why)
{
    eh_store *store = eh_broker_store_get(b);
    char key[EH_STORE_KEY_MAX + 1], *text = NULL;
    const char *challenge, *issued_to, *issued_uri;
    size_t text_len = 0;
    json_t *p = NULL;
    eh_rc rc;

    *payload = NULL;
    *digest = NULL;
    *why = NULL;
    if ((rc = eh_token_digest(code, digest)) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), "code:%s", *digest);
    rc = eh_store_take(store, key, &text, &text_len);
    if (rc == EH_ERR_NOT_FOUND)
        revoke_reused(store, *digest);
    if (rc != EH_OK)
        goto cleanup;
    if ((p = json_loadb(text, text_len, 0, NULL)) == NULL) {
        rc = EH_ERR_INTERNAL;
        goto cleanup;
    }
    challenge = json_string_value(json_object_get(p, "code_challenge"));
    issued_to = json_string_value(json_object_get(p, "client_id"));
    issued_uri = json_string_value(json_object_get(p, "redirect_uri"));
    rc = EH_ERR_UNMET;
    if (issued_to == NULL || issued_uri == NULL || strcmp(issued_to, client_id) != 0 ||
        strcmp(issued_uri, redirect_uri) != 0)
        *why = "the code was issued to another client or redirect_uri";
    else if (challenge != NULL && (verifier == NULL || !pkce_ok(verifier, challenge)))
        *why = "code_verifier missing or wrong";
    else if (challenge == NULL && verifier != NULL)
        *why = "code_verifier without a code_challenge";
    else
        rc = EH_OK;
    if (rc == EH_OK) {
        *payload = p;
        p = NULL;
    }
cleanup:
    if (rc != EH_OK) {
        free(*digest);
        *digest = NULL;
    }
    free(text);
    json_decref(p);
    return rc;
}

json_t *eh_oidc_userinfo_claims(const json_t *payload)
{
    json_t *sub = json_object_get(payload, "sub");
    json_t *claims = json_copy(json_object_get(payload, "claims"));

    if (claims == NULL)
        claims = json_object();
    if (claims == NULL || !json_is_string(sub) ||
        json_object_set_new(claims, "sub", json_copy(sub)) != 0) {
        json_decref(claims);
        return NULL;
    }
    return claims;
}
