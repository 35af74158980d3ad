/* eidhub: the eIDAS Connector backend's flow (see eidas_connector.h).
 *
 * The transaction's backend object while the foreign node authenticates:
 *   {"method": "eidas_connector", "country": "LV", "request_id": "_...",
 *    "loa": "substantial", "comparison": "minimum"}
 * The answer is used once: /auth/eidas/return takes the transaction from
 * the store, and puts it back emptied of that object when the answer is
 * refused, so the citizen may try again or cancel. */
#include "broker/backends/eidas_connector.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/registry.h"
#include "broker/backends/eidas_connector_state.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"
#include "broker/sso.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_logout.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_node.h"
#include "broker/saml/saml_post.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_slo_endpoint.h"
#include "broker/saml/saml_xml.h"
#include "metadata/saml_metadata.h"
#include "policies/derive.h"
#include "policies/policy.h"

#define METHOD "eidas_connector"
#define STASH_PREFIX "samlresp:"
#define STASH_TTL_MS 120000u     /* the ACS's hand-over to /auth/eidas/return */
#define REPLAY_PREFIX "replay:saml:"
#define METADATA_CACHE_S 60
#define SLO_PREFIX "slo:"
#define SLO_TRIES 3                          /* as OIDC back-channel logout */
#define SLO_TIMEOUT_MS 3000u
#define ID_VALUE_MAX 256
#define STRING_MAX 1024

static const char *locale_of(const eh_txn *txn)
{
    return txn->authn->locale ? txn->authn->locale : "en";
}

static int set_str(json_t *obj, const char *name, const char *v)
{
    return json_object_set_new(obj, name, json_string(v)) == 0;
}

/* send_failure tells the citizen what went wrong (message key), with "Try
 * again" (the country c, when known), "Choose another way" and "Cancel". */
static eh_rc send_failure(eh_http_response *resp, int status, const eh_txn *txn,
                          const eh_eidas_country *c, const char *key)
{
    return eh_login_failure_page(resp, status, txn, "eidas_title", key, c != NULL ? c->href : NULL);
}

/* add_requested adds the eIDAS attribute uri to list once (required when
 * any addition says so). */
static eh_rc add_requested(eh_saml_authn_request *r, const char *uri, int required)
{
    for (size_t i = 0; i < r->n_attrs; i++) {
        if (strcmp(r->attrs[i].name, uri) == 0) {
            r->attrs[i].is_required |= required;
            return EH_OK;
        }
    }
    if (r->n_attrs >= EH_SAML_MAX_REQUESTED)
        return EH_OK;
    if ((r->attrs[r->n_attrs].name = strdup(uri)) == NULL)
        return EH_ERR_NOMEM;
    r->attrs[r->n_attrs++].is_required = required;
    return EH_OK;
}

/* request_attributes fills r's RequestedAttributes: the natural-person
 * minimum data set (isRequired, as eIDAS demands), then every other
 * attribute the policy may release (for a derived one, its source). */
static eh_rc request_attributes(eh_saml_authn_request *r, const eh_policy *p)
{
    size_t n, i;
    const eh_attribute_def *defs = eh_attributes(&n);
    json_t *v;
    eh_rc rc = EH_ERR_NOMEM;

    if ((r->attrs = calloc(EH_SAML_MAX_REQUESTED, sizeof(*r->attrs))) == NULL)
        return rc;
    for (i = 0; i < n; i++) {
        if (defs[i].mandatory && defs[i].person == EH_PERSON_NATURAL && defs[i].eidas_uri &&
            (rc = add_requested(r, defs[i].eidas_uri, 1)) != EH_OK)
            return rc;
    }
    json_array_foreach(p->release, i, v) {
        const char *name = json_string_value(v);
        const eh_attribute_def *d = name ? eh_attribute_find(name) : NULL;
        if (d == NULL && name != NULL && eh_derived_source(name) != NULL)
            d = eh_attribute_find(eh_derived_source(name));
        if (d != NULL && d->eidas_uri != NULL && d->person == EH_PERSON_NATURAL &&
            (rc = add_requested(r, d->eidas_uri, 0)) != EH_OK)
            return rc;
    }
    return EH_OK;
}

/* wanted_loa finds the level this login asks (the requester's or its
 * policy's minimum, at least low) and whether the policy lets this method
 * and country authenticate; also returns the policy (*policy, caller frees). */
static eh_rc wanted_loa(eh_broker *b, const eh_txn *txn, const char *country, eh_loa *want,
                        int *allowed, eh_policy **policy)
{
    eh_rc rc = eh_flow_policy(b, txn, policy);

    if (rc != EH_OK)
        return rc;
    *want = txn->authn->min_loa > (*policy)->min_loa ? txn->authn->min_loa : (*policy)->min_loa;
    if (*want == EH_LOA_NONE)
        *want = EH_LOA_LOW;
    *allowed = eh_policy_allows_method(*policy, METHOD) &&
               eh_policy_allows_country(*policy, country);
    return EH_OK;
}

/* sp_private tells whether the requester of txn registered as a private
 * sector service (else the backend's default). */
static int sp_private(eh_broker *b, const eh_eidas_connector *c, const eh_txn *txn)
{
    const eh_config_rp *rp = eh_config_rp_find(eh_broker_config_get(b), txn->authn->requester);
    return rp != NULL ? rp->sp_private : c->sp_private;
}

/* build_request makes the signed AuthnRequest of txn for the node m. */
static eh_rc build_request(eh_broker *b, const eh_eidas_connector *c, const eh_saml_node *node,
                           const eh_saml_metadata *m, const eh_txn *txn, const eh_policy *policy,
                           eh_loa want, const char *id, char **xml, size_t *len, char *why,
                           size_t whylen)
{
    eh_saml_authn_request r = {0};
    eh_rc rc;

    r.id = (char *)id;
    r.issuer = node->connector_entity_id;
    r.destination = m->endpoint;
    r.acs_url = node->connector_acs;
    r.sp_type = sp_private(b, c, txn) ? EH_SAML_SPTYPE_PRIVATE : EH_SAML_SPTYPE_PUBLIC;
    r.name_id_format = EH_SAML_NAMEID_PERSISTENT;
    r.loa = want;
    r.comparison = txn->authn->comparison;
    r.force_authn = 1;
    r.issue_instant = (int64_t)time(NULL);
    rc = request_attributes(&r, policy);
    if (rc == EH_OK)
        rc = eh_saml_authn_request_build(&r, node->signer, node->sig_alg, xml, len, why, whylen);
    for (size_t i = 0; i < r.n_attrs; i++)
        free(r.attrs[i].name);
    free(r.attrs);
    return rc;
}

eh_rc eh_eidas_connector_start_handle(eh_broker *b, const eh_http_request *req,
                                      eh_http_response *resp)
{
    const eh_eidas_connector *c = eh_broker_backend_get(b, METHOD);
    const eh_saml_node *node = eh_broker_saml_get(b);
    const eh_eidas_country *country;
    const eh_saml_metadata *m = NULL;
    const char *query = req->query ? req->query : "";
    eh_policy *policy = NULL;
    eh_txn *txn = NULL;
    char *code = NULL, *xml = NULL, *relay = NULL, id[EH_SAML_ID_LEN], why[256];
    size_t xml_len = 0;
    eh_loa want = EH_LOA_LOW;
    int allowed = 0;
    eh_rc rc;

    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (eh_http_param_get(query, strlen(query), "country", &code) != EH_OK)
        code = NULL;
    country = eh_eidas_country_find(c, code);
    if (country == NULL) {
        rc = eh_page_error(resp, 404, locale_of(txn), "eidas_unknown_country", "/login",
                           "oidc_choose_another");
        goto cleanup;
    }
    if ((rc = wanted_loa(b, txn, country->country, &want, &allowed, &policy)) != EH_OK)
        goto cleanup;
    if (!allowed) {
        rc = eh_page_error(resp, 403, locale_of(txn), "eidas_not_allowed", "/login",
                           "oidc_choose_another");
        goto cleanup;
    }
    if (eh_saml_peers_get(c->peers, country->country, 0, &m, why, sizeof(why)) != EH_OK) {
        eh_log(EH_LOG_ERROR, "eidas_connector: node of %s unavailable: %s", country->country, why);
        rc = send_failure(resp, 502, txn, country, "eidas_unavailable");
        goto cleanup;
    }
    if ((rc = eh_saml_new_id(id)) != EH_OK || (rc = eh_random_token(&relay)) != EH_OK)
        goto cleanup;
    relay[22] = '\0'; /* 132 bits are plenty for a value that only has to come back */
    rc = build_request(b, c, node, m, txn, policy, want, id, &xml, &xml_len, why, sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_ERROR, "eidas_connector: cannot build the request: %s", why);
        goto cleanup;
    }
    json_object_clear(txn->backend);
    rc = EH_ERR_NOMEM;
    if (!set_str(txn->backend, "method", METHOD) ||
        !set_str(txn->backend, "country", country->country) ||
        !set_str(txn->backend, "request_id", id) || !set_str(txn->backend, "relay_state", relay) ||
        !set_str(txn->backend, "loa", eh_loa_name(want)) ||
        json_object_set_new(txn->backend, "exact",
                            json_boolean(txn->authn->comparison == EH_LOA_EXACT)) != 0)
        goto cleanup;
    if ((rc = eh_txn_save(eh_broker_store_get(b), txn)) != EH_OK)
        goto cleanup;
    eh_log(EH_LOG_INFO, "eidas_connector: login started at the node of %s (level %s)",
           country->country, eh_loa_name(want));
    rc = eh_saml_post_send(resp, locale_of(txn), m->endpoint, "SAMLRequest", xml, xml_len, relay);
cleanup:
    if (m != NULL)
        eh_saml_peers_release(c->peers, m);
    eh_policy_free(policy);
    eh_txn_free(txn);
    free(code);
    free(xml);
    free(relay);
    return rc;
}

eh_rc eh_eidas_connector_acs_handle(eh_broker *b, const eh_http_request *req,
                                    eh_http_response *resp)
{
    const char *locale = eh_i18n_locale_of_request(req);
    char *xml = NULL, *token = NULL, *digest = NULL, key[EH_STORE_KEY_MAX], loc[128];
    size_t len = 0;
    eh_rc rc = eh_saml_post_read(req, "SAMLResponse", EH_SAML_MAX_INPUT, &xml, &len, NULL);

    if (rc == EH_ERR_NOMEM)
        return rc;
    if (rc != EH_OK || len > EH_STORE_VALUE_MAX) {
        eh_log(EH_LOG_WARN, "eidas_connector: a POST to the ACS without a usable SAMLResponse");
        return eh_page_error(resp, 400, locale, "eidas_bad_response", NULL, NULL);
    }
    /* The POST came from the foreign node's page (cross-site): the browser
     * did not send our SameSite=Lax cookie. Keep the response for a moment
     * and continue with a top-level GET, which carries it. */
    if ((rc = eh_random_token(&token)) != EH_OK || (rc = eh_token_digest(token, &digest)) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), STASH_PREFIX "%s", digest);
    rc = eh_store_set(eh_broker_store_get(b), key, xml, len, STASH_TTL_MS);
    if (rc != EH_OK) {
        rc = eh_page_error(resp, 503, locale, "store_unavailable", NULL, NULL);
        goto cleanup;
    }
    snprintf(loc, sizeof(loc), "/auth/eidas/return?r=%s", token);
    rc = eh_redirect(resp, loc);
cleanup:
    free(xml);
    free(token);
    free(digest);
    return rc;
}

/* take_stash takes the response the ACS kept under the request's r. */
static eh_rc take_stash(eh_broker *b, const eh_http_request *req, char **xml, size_t *len)
{
    const char *query = req->query ? req->query : "";
    char *token = NULL, *digest = NULL, key[EH_STORE_KEY_MAX];
    eh_rc rc = eh_http_param_get(query, strlen(query), "r", &token);

    if (rc != EH_OK)
        return EH_ERR_NOT_FOUND;
    rc = strlen(token) > 64 ? EH_ERR_NOT_FOUND : eh_token_digest(token, &digest);
    if (rc == EH_OK) {
        snprintf(key, sizeof(key), STASH_PREFIX "%s", digest);
        rc = eh_store_take(eh_broker_store_get(b), key, xml, len);
    }
    free(token);
    free(digest);
    return rc;
}

/* first_value returns the first value of an attribute of the result. */
static const char *first_value(const eh_saml_response_result *r, const char *uri)
{
    return json_string_value(json_array_get(json_object_get(r->attributes, uri), 0));
}

/* split_person_id checks "XX/YY/value": XX the country asked, YY ours, and
 * writes value into out. */
static int split_person_id(const char *pid, const char *country, const char *ours, char *out,
                           size_t outlen)
{
    size_t n = pid ? strlen(pid) : 0;

    if (n < 7 || n - 6 > ID_VALUE_MAX || pid[2] != '/' || pid[5] != '/' ||
        strncmp(pid, country, 2) != 0 || strncmp(pid + 3, ours, 2) != 0)
        return 0;
    for (size_t i = 6; i < n; i++)
        if ((unsigned char)pid[i] < 0x21 || pid[i] == 0x7f)
            return 0;
    snprintf(out, outlen, "%s", pid + 6);
    return 1;
}

/* to_identity maps what the node said into a new identity. */
static eh_rc to_identity(const eh_saml_response_result *r, const char *country, const char *ours,
                         eh_identity **out)
{
    const char *pid = first_value(r, EH_NS_EIDAS_NATURAL "/PersonIdentifier");
    char value[ID_VALUE_MAX + 1], subject[ID_VALUE_MAX + 8];
    int64_t now = (int64_t)time(NULL);
    eh_identity *id = NULL;
    const char *uri;
    json_t *values;
    eh_rc rc = EH_ERR_INVALID;

    if (!split_person_id(pid, country, ours, value, sizeof(value)))
        goto cleanup;
    if ((rc = eh_identity_new(&id)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((id->country = strdup(country)) == NULL || (id->id_type = strdup("eIDAS")) == NULL ||
        (id->id_value = strdup(value)) == NULL || (id->method = strdup(METHOD)) == NULL)
        goto cleanup;
    id->loa = r->loa;
    id->auth_time = r->authn_instant > 0 && r->authn_instant <= now + 300 ? r->authn_instant : now;
    json_object_foreach(r->attributes, uri, values) {
        const eh_attribute_def *d = eh_attribute_find_eidas(uri);
        const char *v = json_string_value(json_array_get(values, 0));
        int y, m, dd;
        if (d == NULL || v == NULL || strlen(v) > STRING_MAX || d->type == EH_ATTR_BOOLEAN ||
            d->type == EH_ATTR_INTEGER || strcmp(d->name, "person_identifier") == 0)
            continue;
        if (d->type == EH_ATTR_DATE && !eh_date_parse(v, &y, &m, &dd)) {
            eh_log(EH_LOG_WARN, "eidas_connector: %s is not a date; left out", d->name);
            continue;
        }
        if (json_object_set_new(id->attributes, d->name, json_string(v)) != 0)
            goto cleanup;
    }
    if ((rc = eh_identity_subject(id, subject, sizeof(subject))) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (json_object_set_new(id->attributes, "person_identifier", json_string(subject)) != 0)
        goto cleanup;
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    OPENSSL_cleanse(value, sizeof(value));
    OPENSSL_cleanse(subject, sizeof(subject));
    eh_identity_free(id);
    return rc;
}

/* first_use records the assertion id until it expires; 0 when it was seen
 * before (a replay), -1 when the store fails. */
static int first_use(eh_broker *b, const eh_saml_response_result *r, unsigned skew_s)
{
    char *digest = NULL, key[EH_STORE_KEY_MAX];
    int64_t now = (int64_t)time(NULL), count = 0, ttl_s = r->not_on_or_after - now + skew_s;
    eh_buf k;
    char *text = NULL;
    int ok = -1;

    eh_buf_init(&k);
    eh_buf_append(&k, r->issuer);
    eh_buf_append(&k, " ");
    eh_buf_append(&k, r->assertion_id);
    if (eh_buf_finish(&k, &text, NULL) != EH_OK || eh_token_digest(text, &digest) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), REPLAY_PREFIX "%s", digest);
    if (ttl_s < 1)
        ttl_s = 1;
    if (ttl_s > 86400)
        ttl_s = 86400;
    if (eh_store_incr(eh_broker_store_get(b), key, (uint32_t)ttl_s * 1000u, &count) != EH_OK)
        goto cleanup;
    ok = count == 1;
cleanup:
    free(text);
    free(digest);
    return ok;
}

/* refuse puts txn back without the answered request (the citizen may try
 * again or cancel) and shows key. */
static eh_rc refuse(eh_broker *b, eh_txn *txn, const eh_eidas_country *c, int status,
                    const char *key, eh_http_response *resp)
{
    eh_rc rc;

    json_object_clear(txn->backend);
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc != EH_OK)
        return eh_page_error(resp, 503, locale_of(txn), "store_unavailable", NULL, NULL);
    return send_failure(resp, status, txn, c, key);
}

/* status_key is the citizen's message for a node's non-success status. */
static const char *status_key(const eh_saml_response_result *r)
{
    if (r->sub_status != NULL && strcmp(r->sub_status, EH_SAML_STATUS_REQUEST_DENIED) == 0)
        return "eidas_denied";
    if (r->sub_status != NULL && strcmp(r->sub_status, EH_SAML_STATUS_NO_AUTHN_CONTEXT) == 0)
        return "eidas_loa_too_low";
    return "eidas_failed";
}

/* slo_key writes into key (EH_STORE_KEY_MAX bytes) the store key that
 * finds our SSO session from the node of country and the NameID it gave:
 * "slo:" + digest of "c <country> <name id>" (the Proxy-Service side uses
 * "p ..." in the same store). */
static eh_rc slo_key(const char *country, const char *name_id, char *key)
{
    char *text = NULL, *digest = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (asprintf(&text, "c %s %s", country, name_id) < 0)
        return rc;
    if ((rc = eh_token_digest(text, &digest)) == EH_OK)
        snprintf(key, EH_STORE_KEY_MAX, SLO_PREFIX "%s", digest);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    free(digest);
    return rc;
}

/* remember_upstream leaves in txn->flow what a SAML logout at the node
 * needs (broker/flow.h puts it into the SSO session). */
static eh_rc remember_upstream(eh_txn *txn, const char *country, const eh_saml_response_result *r)
{
    json_t *up = json_pack("{s:s, s:s, s:s?}", "country", country, "name_id", r->name_id,
                           "name_id_format", r->name_id_format);
    return up != NULL && json_object_set_new(txn->flow, "upstream", up) == 0 ? EH_OK
                                                                             : EH_ERR_NOMEM;
}

/* index_session lets a LogoutRequest of the node of country for name_id
 * find the SSO session the login opened (none: nothing to do), for as long
 * as the session lives. A failure only costs that logout. */
static void index_session(eh_broker *b, const eh_txn *txn, const char *country,
                          const char *name_id)
{
    const char *sso_key = json_string_value(json_object_get(txn->flow, "sso"));
    char key[EH_STORE_KEY_MAX];
    int64_t left_s;
    eh_sso *s = NULL;

    if (sso_key == NULL || name_id == NULL || eh_sso_load(b, sso_key, &s) != EH_OK)
        return;
    left_s = s->expires - (int64_t)time(NULL);
    if (left_s > 0 && slo_key(country, name_id, key) == EH_OK &&
        eh_store_set(eh_broker_store_get(b), key, sso_key, strlen(sso_key),
                     (uint32_t)left_s * 1000u) != EH_OK)
        eh_log(EH_LOG_WARN, "eidas_connector: cannot record the session for a logout of %s",
               country);
    eh_sso_free(s);
}

eh_rc eh_eidas_connector_return_handle(eh_broker *b, const eh_http_request *req,
                                       eh_http_response *resp)
{
    const eh_eidas_connector *c = eh_broker_backend_get(b, METHOD);
    const eh_saml_node *node = eh_broker_saml_get(b);
    const eh_eidas_country *country;
    const eh_saml_metadata *m = NULL;
    eh_saml_response_result *r = NULL;
    eh_saml_response_expect x = {0};
    eh_identity *id = NULL;
    eh_txn *txn = NULL;
    const char *method, *request_id;
    char *xml = NULL, why[256];
    size_t len = 0;
    int fresh;
    eh_rc rc = take_stash(b, req, &xml, &len);

    if (rc != EH_OK) {
        if (rc == EH_ERR_NOT_FOUND)
            return eh_page_error(resp, 400, eh_i18n_locale_of_request(req), "session_expired",
                                 NULL, NULL);
        return eh_page_error(resp, 503, eh_i18n_locale_of_request(req), "store_unavailable",
                             NULL, NULL);
    }
    /* take the transaction: one answer completes it at most once */
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK) {
        rc = EH_OK;
        goto cleanup;
    }
    method = json_string_value(json_object_get(txn->backend, "method"));
    request_id = json_string_value(json_object_get(txn->backend, "request_id"));
    country = eh_eidas_country_find(c, json_string_value(json_object_get(txn->backend, "country")));
    if (method == NULL || strcmp(method, METHOD) != 0 || request_id == NULL || country == NULL) {
        eh_log(EH_LOG_WARN, "eidas_connector: a response for a transaction that sent no request");
        rc = refuse(b, txn, NULL, 400, "eidas_unsolicited", resp);
        goto cleanup;
    }
    if (eh_saml_peers_get(c->peers, country->country, 0, &m, why, sizeof(why)) != EH_OK) {
        eh_log(EH_LOG_ERROR, "eidas_connector: node of %s unavailable: %s", country->country, why);
        rc = refuse(b, txn, country, 502, "eidas_unavailable", resp);
        goto cleanup;
    }
    x.issuer = m->entity_id;
    x.trusted = m->signing;
    x.ours = node->decrypter;
    x.destination = node->connector_acs;
    x.audience = node->connector_entity_id;
    x.in_response_to = request_id;
    x.min_loa = eh_loa_parse(json_string_value(json_object_get(txn->backend, "loa")), NULL);
    x.comparison =
        json_is_true(json_object_get(txn->backend, "exact")) ? EH_LOA_EXACT : EH_LOA_MINIMUM;
    x.now = (int64_t)time(NULL);
    x.skew_s = node->skew_s;
    rc = eh_saml_response_consume(xml, len, &x, &r, why, sizeof(why));
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    if (rc != EH_OK) {
        eh_log(EH_LOG_WARN, "eidas_connector: response of the node of %s refused: %s",
               country->country, why);
        rc = refuse(b, txn, country, 400,
                    rc == EH_ERR_UNMET ? "eidas_loa_too_low" : "eidas_bad_response",
                    resp);
        goto cleanup;
    }
    if (strcmp(r->status, EH_SAML_STATUS_SUCCESS) != 0) {
        eh_log(EH_LOG_INFO, "eidas_connector: the node of %s answered status %s / %s",
               country->country, r->status, r->sub_status ? r->sub_status : "(none)");
        rc = refuse(b, txn, country, 200, status_key(r), resp);
        goto cleanup;
    }
    fresh = first_use(b, r, node->skew_s);
    if (fresh != 1) {
        if (fresh == 0)
            eh_log(EH_LOG_WARN, "eidas_connector: an assertion of %s used twice: refused",
                   country->country);
        rc = fresh == 0 ? refuse(b, txn, country, 400, "eidas_bad_response", resp)
                        : eh_page_error(resp, 503, locale_of(txn), "store_unavailable", NULL, NULL);
        goto cleanup;
    }
    if (to_identity(r, country->country, node->country, &id) != EH_OK) {
        eh_log(EH_LOG_WARN, "eidas_connector: the node of %s sent no usable PersonIdentifier",
               country->country);
        rc = refuse(b, txn, country, 400, "eidas_bad_response", resp);
        goto cleanup;
    }
    eh_log(EH_LOG_INFO, "eidas_connector: citizen of %s authenticated (level %s)",
           country->country, eh_loa_name(id->loa));
    json_object_clear(txn->backend);
    /* what a logout at the node needs, for the SSO session (not the
     * identity: no policy can release it) */
    if ((rc = remember_upstream(txn, country->country, r)) != EH_OK)
        goto cleanup;
    rc = eh_flow_complete(b, txn, id, resp);
    if (rc == EH_OK)
        index_session(b, txn, country->country, r->name_id);
cleanup:
    if (m != NULL)
        eh_saml_peers_release(c->peers, m);
    eh_saml_response_result_free(r);
    eh_identity_free(id);
    eh_txn_free(txn);
    if (xml != NULL)
        OPENSSL_cleanse(xml, len);
    free(xml);
    return rc;
}

/* our_slo_url returns <issuer>/saml/connector/slo (caller frees), NULL
 * when out of memory. */
static char *our_slo_url(eh_broker *b)
{
    char *url = NULL;
    if (asprintf(&url, "%s" EH_SAML_CONNECTOR_SLO_PATH, eh_broker_config_get(b)->issuer) < 0)
        return NULL;
    return url;
}

eh_rc eh_eidas_connector_metadata_handle(eh_broker *b, const eh_http_request *req,
                                         eh_http_response *resp)
{
    eh_eidas_connector *c = eh_broker_backend_get(b, METHOD);
    const eh_saml_node *node = eh_broker_saml_get(b);
    int64_t now = (int64_t)time(NULL);
    char *xml = NULL, why[256];
    size_t len = 0;
    eh_rc rc = EH_OK;

    (void)req;
    pthread_mutex_lock(&c->lock);
    if (c->metadata == NULL || now - c->metadata_built >= METADATA_CACHE_S) {
        char *slo_url = our_slo_url(b);
        eh_saml_metadata_spec s = {
            .role = EH_SAML_ROLE_CONNECTOR,
            .entity_id = node->connector_entity_id,
            .endpoint = node->connector_acs,
            .node_country = node->country,
            .sp_type = c->sp_private ? EH_SAML_SPTYPE_PRIVATE : EH_SAML_SPTYPE_PUBLIC,
            .signing_cert_pem = node->signing_cert_pem,
            .encryption_cert_pem = node->encryption_cert_pem,
            .now = now,
            .valid_s = node->metadata_valid_s,
            .org_name = node->organization,
            .slo_endpoint = slo_url,
        };
        rc = slo_url != NULL ? eh_saml_metadata_build(&s, node->signer, node->sig_alg, &xml, &len,
                                                      why, sizeof(why))
                             : EH_ERR_NOMEM;
        if (rc == EH_OK) {
            free(c->metadata);
            c->metadata = xml;
            c->metadata_built = now;
        } else {
            eh_log(EH_LOG_ERROR, "eidas_connector: cannot build our metadata: %s", why);
        }
        free(slo_url);
    }
    if (rc == EH_OK)
        rc = eh_http_response_set_body(resp, 200, "application/samlmetadata+xml", c->metadata,
                                       strlen(c->metadata));
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* ------------------------------------------------------------ single logout */

void eh_eidas_connector_logout(eh_broker *b, const json_t *upstream)
{
    const eh_eidas_connector *c = eh_broker_backend_get(b, METHOD);
    const eh_saml_node *node = eh_broker_saml_get(b);
    const eh_eidas_country *country =
        c ? eh_eidas_country_find(c, json_string_value(json_object_get(upstream, "country")))
          : NULL;
    const char *name_id = json_string_value(json_object_get(upstream, "name_id"));
    const eh_saml_metadata *m = NULL;
    eh_saml_logout_request r = {0};
    eh_saml_logout_peer peer;
    char *our_slo = NULL, *status = NULL, *sub = NULL, why[256] = "";
    int attempts = 0;
    eh_rc rc;

    if (country == NULL || node == NULL || name_id == NULL)
        return;
    if (eh_saml_peers_get(c->peers, country->country, 0, &m, why, sizeof(why)) != EH_OK) {
        eh_log(EH_LOG_WARN, "eidas_connector: no logout at the node of %s: %s", country->country,
               why);
        return;
    }
    if (m->slo_endpoint == NULL) {
        /* eIDAS itself has no logout: most nodes take none */
        eh_log(EH_LOG_INFO, "eidas_connector: the node of %s takes no SAML logout",
               country->country);
        goto cleanup;
    }
    if ((our_slo = our_slo_url(b)) == NULL)
        goto cleanup;
    r.issuer = node->connector_entity_id;
    r.name_id = (char *)name_id;
    r.name_id_format = (char *)json_string_value(json_object_get(upstream, "name_id_format"));
    r.session_index = (char *)json_string_value(json_object_get(upstream, "session_index"));
    peer.url = m->slo_endpoint;
    peer.entity_id = m->entity_id;
    peer.trusted = m->signing;
    rc = eh_saml_logout_exchange(&r, &peer, our_slo, node->signer, node->sig_alg, node->skew_s,
                                 SLO_TIMEOUT_MS, SLO_TRIES, &status, &sub, &attempts, why,
                                 sizeof(why));
    if (rc != EH_OK)
        eh_log(EH_LOG_WARN, "eidas_connector: logout at the node of %s failed (%d tries): %s",
               country->country, attempts, why);
    else if (strcmp(status, EH_SAML_STATUS_SUCCESS) != 0)
        eh_log(EH_LOG_WARN, "eidas_connector: the node of %s refused the logout: %s / %s",
               country->country, status, sub ? sub : "(none)");
    else
        eh_log(EH_LOG_INFO, "eidas_connector: session ended at the node of %s", country->country);
cleanup:
    eh_saml_peers_release(c->peers, m);
    free(our_slo);
    free(status);
    free(sub);
}

/* The trust callback of eh_saml_logout_request_parse: the signing keys of
 * the configured country whose Proxy-Service's entityID is the Issuer. */
typedef struct slo_trust {
    const eh_eidas_connector *c;
    const eh_eidas_country *found;
} slo_trust;

static eh_rc slo_keys_of(void *ctx, const char *issuer, const eh_saml_keys **keys, void **handle)
{
    slo_trust *t = ctx;
    const eh_saml_metadata *m = NULL;
    char why[160];

    for (size_t i = 0; i < t->c->n; i++) {
        if (eh_saml_peers_get(t->c->peers, t->c->countries[i].country, 0, &m, why, sizeof(why)) !=
            EH_OK)
            continue;
        if (strcmp(m->entity_id, issuer) == 0) {
            t->found = &t->c->countries[i];
            *keys = m->signing;
            *handle = (void *)m;
            return EH_OK;
        }
        eh_saml_peers_release(t->c->peers, m);
    }
    return EH_ERR_NOT_FOUND;
}

static void slo_release(void *ctx, void *handle)
{
    slo_trust *t = ctx;
    eh_saml_peers_release(t->c->peers, handle);
}

/* end_indexed ends our SSO session that the node of country opened for
 * name_id, if there still is one; the node itself is not told again. */
static void end_indexed(eh_broker *b, const char *country, const char *name_id)
{
    char key[EH_STORE_KEY_MAX], *sso_key = NULL;
    size_t len = 0;
    eh_sso *s = NULL;
    const char *up_country, *up_name;

    if (slo_key(country, name_id, key) != EH_OK ||
        eh_store_get(eh_broker_store_get(b), key, &sso_key, &len) != EH_OK)
        goto none;
    if (eh_sso_load(b, sso_key, &s) != EH_OK)
        goto none;
    up_country = json_string_value(json_object_get(s->upstream, "country"));
    up_name = json_string_value(json_object_get(s->upstream, "name_id"));
    if (up_country == NULL || up_name == NULL || strcmp(up_country, country) != 0 ||
        strcmp(up_name, name_id) != 0)
        goto none;
    eh_store_del(eh_broker_store_get(b), key);
    if (eh_sso_detach(b, sso_key, NULL, 1) == EH_OK && eh_flow_logout_session(b, sso_key) == EH_OK)
        eh_log(EH_LOG_INFO, "eidas_connector: the node of %s ended a session", country);
    goto cleanup;
none:
    eh_log(EH_LOG_INFO, "eidas_connector: the node of %s ended a session we no longer hold",
           country);
cleanup:
    eh_sso_free(s);
    free(sso_key);
}

/* slo_peer_name / slo_end: what the shared SLO endpoint asks of us about
 * the node slo_keys_of found (broker/saml/saml_slo_endpoint.h). */
static const char *slo_peer_name(void *ctx)
{
    const slo_trust *t = ctx;
    return t->found ? t->found->country : NULL;
}

static void slo_end(eh_broker *b, void *ctx, const char *name_id)
{
    const slo_trust *t = ctx;
    end_indexed(b, t->found->country, name_id);
}

eh_rc eh_eidas_connector_slo_handle(eh_broker *b, const eh_http_request *req,
                                    eh_http_response *resp)
{
    eh_eidas_connector *c = eh_broker_backend_get(b, METHOD);
    const eh_saml_node *node = eh_broker_saml_get(b);
    slo_trust t = {c, NULL};
    eh_saml_trust trust = {slo_keys_of, slo_release, &t};
    eh_saml_slo_side side = {"eidas_connector", NULL, EH_SAML_CONNECTOR_SLO_PATH, NULL, &trust,
                             slo_peer_name, slo_end};

    if (c == NULL || node == NULL)
        return EH_ERR_HTTP_NO_ROUTE;
    side.entity_id = node->connector_entity_id;
    side.peers = c->peers;
    return eh_saml_slo_answer(b, req, &side, resp);
}
