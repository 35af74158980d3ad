/* eidhub: the OpenID Connect authorization endpoint. */
#include <ctype.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/oidc_map.h"
#include "attributes/registry.h"
#include "broker/metrics.h"
#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/frontends/oidc_op.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/flow.h"
#include "broker/page.h"
#include "broker/sso.h"
#include "policies/policy.h"

#define PARAM_MAX 1024

/* The parameters of an authorization request. */
typedef struct authz {
    char *client_id, *redirect_uri, *response_type, *scope, *state, *nonce, *code_challenge,
        *code_challenge_method, *acr_values, *prompt, *max_age, *ui_locales, *login_hint,
        *request, *request_uri, *response_mode;
} authz;

static const struct {
    const char *name;
    size_t offset;
} params[] = {
    {"client_id", offsetof(authz, client_id)},
    {"redirect_uri", offsetof(authz, redirect_uri)},
    {"response_type", offsetof(authz, response_type)},
    {"scope", offsetof(authz, scope)},
    {"state", offsetof(authz, state)},
    {"nonce", offsetof(authz, nonce)},
    {"code_challenge", offsetof(authz, code_challenge)},
    {"code_challenge_method", offsetof(authz, code_challenge_method)},
    {"acr_values", offsetof(authz, acr_values)},
    {"prompt", offsetof(authz, prompt)},
    {"max_age", offsetof(authz, max_age)},
    {"ui_locales", offsetof(authz, ui_locales)},
    {"login_hint", offsetof(authz, login_hint)},
    {"request", offsetof(authz, request)},
    {"request_uri", offsetof(authz, request_uri)},
    {"response_mode", offsetof(authz, response_mode)},
};

#define N_PARAMS (sizeof(params) / sizeof(params[0]))
#define SLOT(a, i) ((char **)((char *)(a) + params[i].offset))

static void authz_clear(authz *a)
{
    for (size_t i = 0; i < N_PARAMS; i++)
        free(*SLOT(a, i));
}

/* read_params fills a from the query (GET) or form body (POST). A repeated,
 * malformed or oversized parameter makes the request invalid. */
static eh_rc read_params(const eh_http_request *req, authz *a)
{
    const char *src = req->method == EH_HTTP_POST ? (const char *)req->body : req->query;
    size_t len = req->method == EH_HTTP_POST ? req->body_len : strlen(req->query);

    memset(a, 0, sizeof(*a));
    if (src == NULL)
        return EH_OK;
    for (size_t i = 0; i < N_PARAMS; i++) {
        eh_rc rc = eh_http_param_get(src, len, params[i].name, SLOT(a, i));
        if (rc == EH_ERR_NOT_FOUND)
            continue;
        if (rc != EH_OK)
            return rc;
        if (strlen(*SLOT(a, i)) > PARAM_MAX)
            return EH_ERR_INVALID;
    }
    return EH_OK;
}

/* challenge_ok accepts a PKCE challenge: 43 characters of base64url (the
 * S256 of a verifier). */
static int challenge_ok(const char *c)
{
    if (strlen(c) != 43)
        return 0;
    for (; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return 0;
    }
    return 1;
}

/* error_redirect sends the requester an OAuth error on its (already
 * verified) redirect_uri. */
static eh_rc error_redirect(eh_broker *b, const authz *a, const char *error,
                            const char *description, eh_http_response *resp)
{
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {error, description, a->state};
    char *url = NULL;
    eh_rc rc = eh_oidc_redirect_url(a->redirect_uri, names, values, 3,
                                    eh_broker_config_get(b)->issuer, &url);
    if (rc == EH_OK)
        rc = eh_redirect(resp, url);
    free(url);
    return rc;
}

/* localized_name picks the relying party's display name in locale. */
static const char *localized_name(const eh_config_rp *rp, const char *locale)
{
    json_t *v = json_object_get(rp->display_name, locale);
    const char *key;
    if (v == NULL)
        v = json_object_get(rp->display_name, "en");
    if (v == NULL)
        json_object_foreach(rp->display_name, key, v) break;
    return json_string_value(v);
}

const char *eh_oidc_display_name(eh_broker *b, const eh_txn *txn)
{
    const char *client_id = json_string_value(json_object_get(txn->frontend, "client_id"));
    const eh_config_rp *rp =
        client_id != NULL ? eh_config_rp_find(eh_broker_config_get(b), client_id) : NULL;
    return rp != NULL ? localized_name(rp, txn->authn->locale ? txn->authn->locale : "en") : NULL;
}

/* min_loa_of returns the lowest level among acr_values (any of them is
 * acceptable to the requester), EH_LOA_NONE when none is known. */
static eh_loa min_loa_of(const char *acr_values)
{
    eh_loa min = EH_LOA_NONE;
    char *copy, *tok, *save = NULL;
    if (acr_values == NULL || (copy = strdup(acr_values)) == NULL)
        return EH_LOA_NONE;
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        eh_loa l = eh_loa_parse(tok, NULL);
        if (l != EH_LOA_NONE && (min == EH_LOA_NONE || l < min))
            min = l;
    }
    free(copy);
    return min;
}

/* prompt_ok checks prompt values: none, login, consent, select_account;
 * "none" only alone. */
static int prompt_ok(const char *prompt)
{
    static const char *const known[] = {"none", "login", "consent", "select_account"};
    char *copy = strdup(prompt), *tok, *save = NULL;
    int ok = copy != NULL, count = 0;
    for (tok = copy ? strtok_r(copy, " ", &save) : NULL; tok && ok;
         tok = strtok_r(NULL, " ", &save)) {
        int found = 0;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            found |= strcmp(tok, known[i]) == 0;
        ok = found;
        count++;
    }
    free(copy);
    return ok && !(eh_oidc_scope_has(prompt, "none") && count > 1);
}

/* country_hint_of finds the scope "eidas:country:xx" (TARA's way of
 * naming the citizen's country) and writes "XX" into out; 0 when absent. */
static int country_hint_of(const char *scope, char out[3])
{
    static const char prefix[] = "eidas:country:";
    const char *p = scope;

    while (p != NULL && (p = strstr(p, prefix)) != NULL) {
        const char *c = p + sizeof(prefix) - 1;
        if ((p == scope || p[-1] == ' ') && islower((unsigned char)c[0]) &&
            islower((unsigned char)c[1]) && (c[2] == '\0' || c[2] == ' ')) {
            out[0] = (char)toupper((unsigned char)c[0]);
            out[1] = (char)toupper((unsigned char)c[1]);
            out[2] = '\0';
            return 1;
        }
        p = c;
    }
    return 0;
}

/* method_hint_of returns the backend a scope names ("mid", or
 * "eidas:country:xx" for the eIDAS Connector), or NULL. */
static const char *method_hint_of(const char *scope)
{
    size_t n;
    char country[3];
    const eh_backend_def *defs = eh_backends(&n);
    for (size_t i = 0; i < n; i++) {
        if (eh_oidc_scope_has(scope, defs[i].scope))
            return defs[i].name;
    }
    return country_hint_of(scope, country) ? "eidas_connector" : NULL;
}

/* sso_usable tells whether the citizen's SSO session may answer this
 * request: no prompt=login, authenticated within max_age, at the level
 * asked, with a method and from a country the policy allows. */
static int sso_usable(const eh_sso *sso, const authz *a, const eh_authn_request *authn,
                      const eh_policy *policy)
{
    const eh_identity *id = sso->identity;
    eh_loa want = authn->min_loa == EH_LOA_NONE ? EH_LOA_LOW : authn->min_loa;

    if (eh_oidc_scope_has(a->prompt, "login"))
        return 0;
    if (a->max_age != NULL && (int64_t)time(NULL) - id->auth_time > atoll(a->max_age))
        return 0;
    if (authn->method_hint != NULL &&
        (id->method == NULL || strcmp(authn->method_hint, id->method) != 0))
        return 0;
    return eh_loa_satisfies(id->loa, want, authn->comparison) &&
           eh_policy_allows_method(policy, id->method) &&
           eh_policy_allows_country(policy, id->country);
}

/* set_str sets a string member when v is not NULL. */
static int set_str(json_t *obj, const char *name, const char *v)
{
    return v == NULL || json_object_set_new(obj, name, json_string(v)) == 0;
}

/* start_transaction stores the validated request and sends the browser on
 * to the method choice. */
static eh_rc start_transaction(eh_broker *b, const authz *a, const eh_config_rp *rp,
                               const eh_http_request *req, eh_http_response *resp)
{
    eh_authn_request *authn = NULL;
    eh_policy *policy = NULL;
    eh_sso *sso = NULL;
    eh_txn *txn = NULL;
    const char *locale = eh_i18n_pick(a->ui_locales);
    const char *hint = method_hint_of(a->scope);
    char country[3];
    eh_rc rc = eh_authn_request_new(&authn);

    if (rc != EH_OK)
        return rc;
    if (locale == NULL)
        locale = eh_i18n_locale_of_request(req);
    rc = EH_ERR_NOMEM;
    authn->min_loa = min_loa_of(a->acr_values);
    authn->force_authn = eh_oidc_scope_has(a->prompt, "login") || a->max_age != NULL;
    if ((authn->requester = strdup(rp->client_id)) == NULL ||
        (authn->protocol = strdup("oidc")) == NULL || (authn->locale = strdup(locale)) == NULL ||
        (hint && (authn->method_hint = strdup(hint)) == NULL) ||
        (country_hint_of(a->scope, country) && (authn->country_hint = strdup(country)) == NULL) ||
        (a->login_hint && (authn->login_hint = strdup(a->login_hint)) == NULL)) {
        eh_authn_request_free(authn);
        return rc;
    }
    if ((rc = eh_oidc_requested_attributes(a->scope, authn->requested)) != EH_OK) {
        eh_authn_request_free(authn);
        return rc;
    }
    if ((rc = eh_txn_new(authn, &txn)) != EH_OK)
        return rc;
    if ((rc = eh_flow_start_policy(b, txn, rp->client_id, rp->policy, &policy)) != EH_OK)
        goto cleanup;
    if (policy->min_loa > txn->authn->min_loa)
        txn->authn->min_loa = policy->min_loa;
    rc = EH_ERR_NOMEM;
    if (!set_str(txn->frontend, "client_id", rp->client_id) ||
        !set_str(txn->frontend, "redirect_uri", a->redirect_uri) ||
        !set_str(txn->frontend, "scope", a->scope) || !set_str(txn->frontend, "state", a->state) ||
        !set_str(txn->frontend, "nonce", a->nonce) ||
        !set_str(txn->frontend, "code_challenge", a->code_challenge))
        goto cleanup;
    /* a citizen with a usable SSO session is asked to confirm, not to
     * authenticate again */
    if (eh_sso_of_request(b, req, &sso) == EH_OK && sso_usable(sso, a, txn->authn, policy) &&
        (json_object_set_new(txn->flow, "sso", json_string(sso->key)) != 0 ||
         json_object_set_new(txn->flow, "sid", json_string(sso->sid)) != 0))
        goto cleanup;
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_txn_bind(resp, txn, eh_broker_secure(b));
    if (rc == EH_OK)
        rc = eh_redirect(resp, json_object_get(txn->flow, "sso") ? "/sso" : "/login");
    if (rc == EH_OK)
        eh_metrics_login_started(rp->client_id, txn->authn->method_hint);
cleanup:
    eh_sso_free(sso);
    eh_policy_free(policy);
    eh_txn_free(txn);
    return rc;
}

eh_rc eh_oidc_authorize_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_config *cfg = eh_broker_config_get(b);
    const char *locale = eh_i18n_locale_of_request(req);
    const eh_config_rp *rp = NULL;
    int registered = 0;
    authz a;
    eh_rc rc = read_params(req, &a);

    /* Until client and redirect_uri are known good, errors are a page:
     * never a redirect to an address nobody registered. */
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    if (a.client_id != NULL)
        rp = eh_config_rp_find(cfg, a.client_id);
    for (size_t i = 0; rp != NULL && a.redirect_uri != NULL && i < rp->n_redirect_uris; i++)
        registered |= strcmp(rp->redirect_uris[i], a.redirect_uri) == 0;
    if (rc != EH_OK || rp == NULL || !registered) {
        eh_log(EH_LOG_INFO, "authorize: refused a request with %s",
               rc != EH_OK ? "malformed parameters"
               : rp == NULL ? "an unknown client_id"
                            : "an unregistered redirect_uri");
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    if (a.request != NULL || a.request_uri != NULL) {
        rc = error_redirect(b, &a, a.request ? "request_not_supported"
                                             : "request_uri_not_supported",
                            "request objects are not supported", resp);
    } else if (a.response_type == NULL || strcmp(a.response_type, "code") != 0) {
        rc = error_redirect(b, &a, "unsupported_response_type", "only response_type=code",
                            resp);
    } else if (a.response_mode != NULL && strcmp(a.response_mode, "query") != 0) {
        rc = error_redirect(b, &a, "invalid_request", "only response_mode=query", resp);
    } else if (!eh_oidc_scope_has(a.scope, "openid")) {
        rc = error_redirect(b, &a, "invalid_scope", "the openid scope is required", resp);
    } else if (a.code_challenge_method != NULL &&
               strcmp(a.code_challenge_method, "S256") != 0) {
        rc = error_redirect(b, &a, "invalid_request", "code_challenge_method must be S256",
                            resp);
    } else if (a.code_challenge != NULL && !challenge_ok(a.code_challenge)) {
        rc = error_redirect(b, &a, "invalid_request", "malformed code_challenge", resp);
    } else if (a.code_challenge != NULL && a.code_challenge_method == NULL) {
        rc = error_redirect(b, &a, "invalid_request", "code_challenge_method S256 is required",
                            resp);
    } else if (a.code_challenge == NULL && rp->token_endpoint_auth == EH_CLIENT_AUTH_NONE) {
        rc = error_redirect(b, &a, "invalid_request", "public clients must use PKCE (S256)",
                            resp);
    } else if (a.acr_values != NULL && min_loa_of(a.acr_values) == EH_LOA_NONE) {
        rc = error_redirect(b, &a, "invalid_request", "unknown acr_values", resp);
    } else if (a.prompt != NULL && !prompt_ok(a.prompt)) {
        rc = error_redirect(b, &a, "invalid_request", "unknown or conflicting prompt", resp);
    } else if (eh_oidc_scope_has(a.prompt, "none")) {
        /* no page may be shown: with a session the citizen would still have
         * to confirm who asks, without one they must log in */
        eh_sso *sso = NULL;
        int has_session = eh_sso_of_request(b, req, &sso) == EH_OK;
        eh_sso_free(sso);
        rc = has_session ? error_redirect(b, &a, "interaction_required",
                                          "the citizen must confirm this service", resp)
                         : error_redirect(b, &a, "login_required", "the citizen must log in", resp);
    } else if (a.max_age != NULL &&
               (strlen(a.max_age) == 0 || strlen(a.max_age) > 9 ||
                strspn(a.max_age, "0123456789") != strlen(a.max_age))) {
        rc = error_redirect(b, &a, "invalid_request", "max_age must be a number of seconds",
                            resp);
    } else {
        rc = start_transaction(b, &a, rp, req, resp);
    }
cleanup:
    authz_clear(&a);
    return rc;
}
