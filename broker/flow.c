#include "broker/flow.h"

#include <string.h>

#include "broker/broker.h"
#include "broker/frontends/oidc_op.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/page.h"
#include "policies/profile.h"
#include "policies/release.h"

/* Every frontend, one line each. */
static const eh_frontend_def eh_frontends[] = {
    {"oidc", eh_oidc_policy_of, eh_oidc_complete, eh_oidc_fail},
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

eh_rc eh_flow_complete(eh_broker *b, const eh_txn *txn, const eh_identity *id,
                       eh_http_response *resp)
{
    const eh_frontend_def *fe = frontend_of(txn);
    const eh_profile *profile;
    eh_identity *released = NULL;
    eh_rc rc;

    if (fe == NULL)
        return EH_ERR_INTERNAL;
    profile = eh_profile_find(fe->policy_of(b, txn));
    if (profile == NULL)
        return fe->fail(b, txn, "server_error", "no policy for this requester", resp);
    if (!eh_loa_satisfies(id->loa, txn->authn->min_loa == EH_LOA_NONE ? EH_LOA_LOW
                                                                      : txn->authn->min_loa,
                          txn->authn->comparison))
        return fe->fail(b, txn, "access_denied", "level of assurance not met", resp);
    rc = eh_release_minimise(profile, txn->authn, id, &released);
    if (rc != EH_OK)
        return rc;
    rc = fe->complete(b, txn, released, resp);
    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "login completed: requester %s, method %s, loa %s",
               txn->authn->requester, id->method ? id->method : "?", eh_loa_name(id->loa));
    eh_identity_free(released);
    return rc;
}

eh_rc eh_flow_fail(eh_broker *b, const eh_txn *txn, const char *error, const char *description,
                   eh_http_response *resp)
{
    const eh_frontend_def *fe = frontend_of(txn);
    if (fe == NULL)
        return EH_ERR_INTERNAL;
    eh_log(EH_LOG_INFO, "login ended: requester %s, %s", txn->authn->requester, error);
    return fe->fail(b, txn, error, description, resp);
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
