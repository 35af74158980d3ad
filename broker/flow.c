#include "broker/flow.h"

#include <string.h>
#include <time.h>

#include "broker/audit.h"
#include "broker/backends/backend.h"
#include "broker/broker.h"
#include "broker/frontends/eidas_proxy.h"
#include "broker/frontends/oidc_op.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/metrics.h"
#include "broker/page.h"
#include "broker/policy_ref.h"
#include "broker/records.h"
#include "broker/sso.h"

/* Every frontend, one line each. */
static const eh_frontend_def eh_frontends[] = {
    {"oidc", eh_oidc_complete, eh_oidc_fail, NULL, eh_oidc_display_name},
    {"eidas", eh_eidas_proxy_complete, eh_eidas_proxy_fail, eh_eidas_proxy_session_ended,
     eh_eidas_proxy_display_name},
};

/* frontend_of returns the frontend that started txn. */
static const eh_frontend_def *frontend_of(const eh_txn *txn)
{
    for (size_t i = 0; i < sizeof(eh_frontends) / sizeof(eh_frontends[0]); i++) {
        if (txn->authn->protocol != NULL &&
            strcmp(eh_frontends[i].protocol, txn->authn->protocol) == 0)
            return &eh_frontends[i];
    }
    return NULL;
}

const char *eh_flow_requester_name(eh_broker *b, const eh_txn *txn)
{
    const eh_frontend_def *fe = frontend_of(txn);
    const char *stored = json_string_value(json_object_get(txn->frontend, "display_name"));

    if (stored != NULL) /* a transaction an earlier version stored carries it */
        return stored;
    return fe != NULL && fe->display_name != NULL ? fe->display_name(b, txn) : NULL;
}

eh_rc eh_flow_start_policy(eh_broker *b, eh_txn *txn, const char *name, const char *fallback,
                           eh_policy **out)
{
    eh_policy *p = NULL;
    eh_rc rc = eh_policy_current_for(b, name, fallback, &p);

    if (rc != EH_OK)
        return rc;
    if (json_object_set_new(txn->flow, "policy",
                            json_pack("{s:s, s:s, s:i}", "name", name, "fallback", fallback,
                                      "version", p->version)) != 0) {
        eh_policy_free(p);
        return EH_ERR_NOMEM;
    }
    *out = p;
    return EH_OK;
}

eh_rc eh_flow_policy(eh_broker *b, const eh_txn *txn, eh_policy **out)
{
    json_t *ref = json_object_get(txn->flow, "policy");
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *fallback = json_string_value(json_object_get(ref, "fallback"));
    json_t *version = json_object_get(ref, "version");

    if (name == NULL || fallback == NULL || !json_is_integer(version))
        return EH_ERR_INTERNAL;
    return eh_policy_version_for(b, name, fallback, (int)json_integer_value(version), out);
}

/* release is eh_flow_release; in_session tells that the SSO session of txn
 * was made with its requester already listed (start_sso), which is then
 * taken off again when the requester gets no answer after all. */
static eh_rc release(eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                     const eh_identity *released, eh_http_response *resp, int in_session)
{
    const eh_frontend_def *fe = frontend_of(txn);
    eh_rc rc;

    if (fe == NULL)
        return EH_ERR_INTERNAL;
    const char *sso_key = json_string_value(json_object_get(txn->flow, "sso"));

    rc = fe->complete(b, txn, policy, released, resp);
    if (rc == EH_OK)
        rc = eh_txn_unbind(resp, eh_broker_secure(b));
    /* a release that cannot be audited does not happen (docs/audit.md): the
     * requester gets server_error instead of the answer with its code */
    if (rc == EH_OK && eh_audit_release(eh_broker_audit_get(b), txn->authn->requester,
                                        policy->name,
                                        policy->version, released) != EH_OK) {
        if (in_session && sso_key != NULL)
            eh_sso_detach(b, sso_key, txn->authn->requester, 0);
        eh_http_response_free(resp);
        return eh_flow_fail(b, txn, "server_error", "the login could not be recorded", resp);
    }
    if (rc != EH_OK && in_session && sso_key != NULL)
        eh_sso_detach(b, sso_key, txn->authn->requester, 0);
    /* the session remembers the requester (for logout), the citizen's page
     * the release; neither failing undoes the answer */
    if (rc == EH_OK && sso_key != NULL && !in_session)
        eh_sso_add_requester(b, sso_key, txn->authn->requester, NULL);
    if (rc == EH_OK)
        eh_records_add(b, txn, released);
    if (rc == EH_OK)
        eh_metrics_login_finished(txn->authn->requester, released->method, NULL);
    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "login completed: requester %s, method %s, loa %s, policy version %d",
               txn->authn->requester, released->method ? released->method : "?",
               eh_loa_name(released->loa), policy->version);
    return rc;
}

eh_rc eh_flow_release(eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                      const eh_identity *released, eh_http_response *resp)
{
    return release(b, txn, policy, released, resp, 0);
}

/* start_sso opens a single sign-on session for a citizen who just
 * authenticated (not for one who came back through an existing session)
 * and notes it in the transaction: its key, and its public id for the
 * requester's ID token. requester (NULL: none yet) is the requester about
 * to get its answer at once: the session is written with it, in one go,
 * instead of being read and written again after the answer. Returns 1 when
 * a session was made with requester listed. Without SSO (switched off,
 * store trouble) the login goes on without one. */
static int start_sso(eh_broker *b, const eh_txn *txn, const eh_identity *id,
                     const char *requester, eh_http_response *resp)
{
    /* what the backend needs for a logout upstream goes into the session,
     * out of the transaction (which may be stored again for consent) */
    json_t *upstream = json_incref(json_object_get(txn->flow, "upstream"));
    eh_sso *sso = NULL;
    int listed = 0;

    json_object_del(txn->flow, "upstream");
    if (json_object_get(txn->flow, "sso") == NULL &&
        eh_sso_create(b, id, requester, upstream, resp, &sso) == EH_OK) {
        json_object_set_new(txn->flow, "sso", json_string(sso->key));
        json_object_set_new(txn->flow, "sid", json_string(sso->sid));
        listed = requester != NULL;
    }
    eh_sso_free(sso);
    json_decref(upstream);
    return listed;
}

void eh_flow_session_ended(eh_broker *b, const eh_sso *s)
{
    const eh_backend_def *d;

    for (size_t i = 0; i < sizeof(eh_frontends) / sizeof(eh_frontends[0]); i++) {
        if (eh_frontends[i].session_ended != NULL)
            eh_frontends[i].session_ended(b, s);
    }
    d = s->identity != NULL ? eh_backend_find(s->identity->method) : NULL;
    if (d != NULL && d->logout != NULL && s->upstream != NULL)
        d->logout(b, s->upstream);
}

eh_rc eh_flow_logout_session(eh_broker *b, const char *key)
{
    return eh_oidc_logout_session(b, key, NULL);
}

/* ask_consent keeps the minimised identity in the transaction, puts the
 * transaction back and sends the citizen to the consent page. */
static eh_rc ask_consent(eh_broker *b, const eh_txn *txn, const eh_identity *released,
                         eh_http_response *resp)
{
    json_t *pending = NULL;
    eh_rc rc = eh_identity_to_json(released, &pending);

    if (rc != EH_OK)
        return rc;
    if (json_object_set_new(txn->flow, "pending", pending) != 0)
        return EH_ERR_NOMEM;
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc == EH_OK)
        rc = eh_redirect(resp, "/consent");
    return rc;
}

eh_rc eh_flow_complete(eh_broker *b, const eh_txn *txn, const eh_identity *id,
                       eh_http_response *resp)
{
    const eh_frontend_def *fe = frontend_of(txn);
    eh_policy *policy = NULL;
    eh_identity *released = NULL;
    eh_loa want;
    int allowed = 0, in_session;
    eh_rc rc;

    if (fe == NULL)
        return EH_ERR_INTERNAL;
    rc = eh_flow_policy(b, txn, &policy);
    if (rc == EH_OK) {
        want = txn->authn->min_loa > policy->min_loa ? txn->authn->min_loa : policy->min_loa;
        if (want == EH_LOA_NONE)
            want = EH_LOA_LOW;
        allowed = eh_loa_satisfies(id->loa, want, txn->authn->comparison) &&
                  eh_policy_allows_method(policy, id->method) &&
                  eh_policy_allows_country(policy, id->country);
    }
    if (rc == EH_OK && allowed)
        rc = eh_policy_evaluate(policy, txn->authn, id, (int64_t)time(NULL), &released);
    /* the citizen authenticated: a session is opened whatever the outcome;
     * when the requester gets its answer now it is in the session from the
     * start */
    in_session = start_sso(b, txn, id,
                           policy != NULL && allowed && rc == EH_OK && !policy->consent
                               ? txn->authn->requester
                               : NULL,
                           resp);
    if (policy == NULL) {
        rc = eh_flow_fail(b, txn, "server_error", "the requester's policy is not available", resp);
        goto cleanup;
    }
    if (!allowed) {
        rc = eh_flow_fail(b, txn, "access_denied", EH_FLOW_UNMET_POLICY, resp);
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    if (policy->consent)
        rc = ask_consent(b, txn, released, resp);
    else
        rc = release(b, txn, policy, released, resp, in_session);
cleanup:
    eh_identity_free(released);
    eh_policy_free(policy);
    return rc;
}

eh_rc eh_flow_fail(eh_broker *b, const eh_txn *txn, const char *error, const char *description,
                   eh_http_response *resp)
{
    const eh_frontend_def *fe = frontend_of(txn);
    const char *method;
    eh_rc rc;

    if (fe == NULL)
        return EH_ERR_INTERNAL;
    eh_log(EH_LOG_INFO, "login ended: requester %s, %s", txn->authn->requester, error);
    method = json_string_value(json_object_get(txn->backend, "method"));
    eh_metrics_login_finished(txn->authn->requester,
                              method != NULL ? method : txn->authn->method_hint, error);
    rc = fe->fail(b, txn, error, description, resp);
    if (rc == EH_OK)
        rc = eh_txn_unbind(resp, eh_broker_secure(b));
    return rc;
}

eh_rc eh_flow_txn_or_page(eh_broker *b, const eh_http_request *req, int take, eh_txn **out,
                          eh_http_response *resp)
{
    eh_rc rc = eh_txn_of_request(eh_broker_store_get(b), req, take, out);
    const char *locale = eh_i18n_locale_of_request(req);

    if (rc == EH_OK)
        return EH_OK;
    if (rc == EH_ERR_NOT_FOUND || rc == EH_ERR_INVALID) {
        eh_page_error(resp, 400, locale, "session_expired", NULL, NULL);
        return EH_ERR_NOT_FOUND;
    }
    eh_page_error(resp, 503, locale, "store_unavailable", NULL, NULL);
    return rc;
}
