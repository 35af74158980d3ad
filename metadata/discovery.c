#include "metadata/discovery.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/registry.h"
#include "broker/authn.h"
#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/jwks.h"
#include "broker/keys.h"

/* endpoint returns issuer + suffix as a new JSON string. */
static json_t *endpoint(const char *issuer, const char *suffix)
{
    char *url = NULL;
    json_t *s;
    if (asprintf(&url, "%s%s", issuer, suffix) < 0)
        return NULL;
    s = json_string(url);
    free(url);
    return s;
}

/* claims_supported lists sub and every OIDC claim of the registry. */
static json_t *claims_supported(void)
{
    size_t n;
    const eh_attribute_def *attrs = eh_attributes(&n);
    json_t *claims = json_pack("[sssssss]", "sub", "iss", "aud", "exp", "iat", "auth_time", "acr");

    if (claims == NULL)
        return NULL;
    json_array_append_new(claims, json_string("amr"));
    json_array_append_new(claims, json_string("nonce"));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(claims, json_string(attrs[i].oidc_claim));
    return claims;
}

/* scopes_supported lists openid, profile, each backend's own scope and each
 * registry claim (a scope that asks for that attribute). */
static json_t *scopes_supported(void)
{
    size_t n;
    const eh_backend_def *backends = eh_backends(&n);
    const eh_attribute_def *attrs;
    json_t *scopes = json_pack("[ss]", "openid", "profile");

    for (size_t i = 0; scopes != NULL && i < n; i++)
        json_array_append_new(scopes, json_string(backends[i].scope));
    attrs = eh_attributes(&n);
    for (size_t i = 0; scopes != NULL && i < n; i++)
        json_array_append_new(scopes, json_string(attrs[i].oidc_claim));
    return scopes;
}

/* client_auth_algs lists the algorithms a private_key_jwt client may sign
 * its assertions with (broker/jwks.h). */
static json_t *client_auth_algs(void)
{
    json_t *algs = json_array();
    for (const char *const *a = eh_jwks_algs(); algs != NULL && *a != NULL; a++)
        json_array_append_new(algs, json_string(*a));
    return algs;
}

/* acr_values lists the three levels by name and by eIDAS URI. */
static json_t *acr_values(void)
{
    json_t *values = json_array();
    for (int loa = EH_LOA_LOW; values != NULL && loa <= EH_LOA_HIGH; loa++)
        json_array_append_new(values, json_string(eh_loa_name((eh_loa)loa)));
    for (int loa = EH_LOA_LOW; values != NULL && loa <= EH_LOA_HIGH; loa++)
        json_array_append_new(values, json_string(eh_loa_uri((eh_loa)loa)));
    return values;
}

eh_rc eh_discovery_build(const eh_config *cfg, const eh_keyset *keys, char **out)
{
    char *algs_text = NULL;
    json_t *doc = NULL, *algs = NULL;
    eh_rc rc;

    rc = eh_keyset_algs_json(keys, &algs_text);
    if (rc != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    algs = json_loads(algs_text, 0, NULL);
    if (algs == NULL)
        goto cleanup;
    doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:[s], s:[s], s:[s], s:[ss], s:O, s:[sss], s:o, "
                    "s:[s], s:o, s:o, s:[ss], s:b, s:b, s:b, s:o, s:b}",
                    "issuer", cfg->issuer,
                    "authorization_endpoint", endpoint(cfg->issuer, "/authorize"),
                    "token_endpoint", endpoint(cfg->issuer, "/token"),
                    "userinfo_endpoint", endpoint(cfg->issuer, "/userinfo"),
                    "jwks_uri", endpoint(cfg->issuer, "/jwks"),
                    "response_types_supported", "code",
                    "response_modes_supported", "query",
                    "grant_types_supported", "authorization_code",
                    "subject_types_supported", "public", "pairwise",
                    "id_token_signing_alg_values_supported", algs,
                    "token_endpoint_auth_methods_supported", "client_secret_basic",
                    "client_secret_post", "private_key_jwt",
                    "token_endpoint_auth_signing_alg_values_supported", client_auth_algs(),
                    "code_challenge_methods_supported", "S256",
                    "claims_supported", claims_supported(),
                    "acr_values_supported", acr_values(),
                    "ui_locales_supported", "et", "en",
                    "claims_parameter_supported", 0,
                    "request_parameter_supported", 0,
                    "request_uri_parameter_supported", 0,
                    "scopes_supported", scopes_supported(),
                    "authorization_response_iss_parameter_supported", 1);
    if (doc != NULL &&
        (json_object_set_new(doc, "end_session_endpoint", endpoint(cfg->issuer, "/logout")) != 0 ||
         json_object_set_new(doc, "backchannel_logout_supported", json_true()) != 0 ||
         json_object_set_new(doc, "backchannel_logout_session_supported", json_true()) != 0)) {
        json_decref(doc);
        doc = NULL;
    }
    if (doc == NULL)
        goto cleanup;
    *out = json_dumps(doc, JSON_COMPACT);
    rc = *out ? EH_OK : EH_ERR_NOMEM;
cleanup:
    free(algs_text);
    json_decref(algs);
    json_decref(doc);
    return rc;
}

/* answer_document sends a cached JSON document. */
static eh_rc answer_document(eh_http_response *resp, const char *doc)
{
    eh_rc rc = eh_http_response_set_body(resp, 200, "application/json", doc, strlen(doc));
    if (rc == EH_OK)
        rc = eh_http_response_add_header(resp, "Cache-Control", "public, max-age=300");
    if (rc == EH_OK)
        rc = eh_http_response_add_header(resp, "Access-Control-Allow-Origin", "*");
    return rc;
}

eh_rc eh_discovery_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    (void)req;
    return answer_document(resp, eh_broker_discovery_get(b));
}

eh_rc eh_jwks_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    (void)req;
    return answer_document(resp, eh_broker_jwks_get(b));
}
