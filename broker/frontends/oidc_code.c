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
