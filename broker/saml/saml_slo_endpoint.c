/* eidhub: answering a peer's LogoutRequest (see saml_slo_endpoint.h). */
#include "broker/saml/saml_slo_endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/log.h"
#include "broker/random.h"
#include "broker/saml/saml_logout.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_node.h"
#include "broker/store.h"

#define MAX_AGE_S 300u                    /* a LogoutRequest older than this (plus skew) is refused */
#define REPLAY_PREFIX "replay:samlslo:"
#define REPLAY_TTL_MS (10u * 60u * 1000u) /* longer than max age + skew */

/* replayed counts the request (issuer, id): 1 when seen within
 * REPLAY_TTL_MS, 0 when new, -1 when the store fails. */
static int replayed(struct eh_broker *b, const eh_saml_logout_request *lr)
{
    char *text = NULL, *digest = NULL, key[EH_STORE_KEY_MAX];
    int64_t count = 0;
    int seen = -1;

    if (asprintf(&text, "%s %s", lr->id, lr->issuer) < 0)
        return -1;
    if (eh_token_digest(text, &digest) == EH_OK) {
        snprintf(key, sizeof(key), REPLAY_PREFIX "%s", digest);
        if (eh_store_incr(eh_broker_store_get(b), key, REPLAY_TTL_MS, &count) == EH_OK)
            seen = count > 1;
    }
    free(text);
    free(digest);
    return seen;
}

eh_rc eh_saml_slo_answer(struct eh_broker *b, const eh_http_request *req,
                         const eh_saml_slo_side *side, eh_http_response *resp)
{
    const eh_saml_node *node = eh_broker_saml_get(b);
    eh_saml_logout_expect x = {0};
    eh_saml_logout_request *lr = NULL;
    const eh_saml_metadata *m = NULL;
    const char *xml = NULL, *peer;
    char *our_slo = NULL, why[256] = "";
    size_t len = 0;
    int status = 400, seen;
    eh_rc rc;

    if (eh_saml_soap_read(req, &xml, &len, &status) != EH_OK) {
        eh_log(EH_LOG_INFO, "%s: a logout call that is no SOAP message (%d)", side->log_name,
               status);
        return eh_saml_soap_fault(resp, 1, "not a SOAP 1.1 message");
    }
    if (asprintf(&our_slo, "%s%s", eh_broker_config_get(b)->issuer, side->slo_path) < 0)
        return EH_ERR_NOMEM;
    x.destination = our_slo;
    x.now = (int64_t)time(NULL);
    x.skew_s = node->skew_s;
    x.max_age_s = MAX_AGE_S;
    rc = eh_saml_logout_request_parse(xml, len, side->trust, &x, &lr, why, sizeof(why));
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    peer = side->peer_name(side->trust->ctx);
    if (rc != EH_OK || peer == NULL) {
        eh_log(EH_LOG_WARN, "%s: LogoutRequest refused: %s", side->log_name,
               why[0] ? why : "not trusted");
        rc = eh_saml_soap_fault(resp, 1, "the LogoutRequest was refused");
        goto cleanup;
    }
    /* the metadata again, for the answer's Destination */
    if (eh_saml_peers_get(side->peers, peer, 0, &m, why, sizeof(why)) != EH_OK ||
        strcmp(m->entity_id, lr->issuer) != 0) {
        rc = eh_saml_soap_fault(resp, 0, "the peer's metadata is not available");
        goto cleanup;
    }
    seen = replayed(b, lr);
    if (seen != 0) {
        if (seen > 0)
            eh_log(EH_LOG_WARN, "%s: a LogoutRequest of %s used twice: refused", side->log_name,
                   peer);
        rc = seen < 0 ? eh_saml_soap_fault(resp, 0, "the store is not available")
                      : eh_saml_logout_respond(resp, side->entity_id, m->slo_endpoint, lr->id,
                                               EH_SAML_STATUS_REQUESTER,
                                               EH_SAML_STATUS_REQUEST_DENIED, node->signer,
                                               node->sig_alg, why, sizeof(why));
        goto cleanup;
    }
    /* an unknown session is a success too: no session is what the peer
     * asked for, and another answer would tell whether one existed */
    side->end(b, side->trust->ctx, lr->name_id);
    rc = eh_saml_logout_respond(resp, side->entity_id, m->slo_endpoint, lr->id,
                                EH_SAML_STATUS_SUCCESS, NULL, node->signer, node->sig_alg, why,
                                sizeof(why));
    if (rc != EH_OK)
        eh_log(EH_LOG_ERROR, "%s: cannot build a LogoutResponse: %s", side->log_name, why);
cleanup:
    if (m != NULL)
        eh_saml_peers_release(side->peers, m);
    eh_saml_logout_request_free(lr);
    free(our_slo);
    return rc;
}
