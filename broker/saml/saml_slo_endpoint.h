/* eidhub: answering a peer's LogoutRequest (SAML SOAP binding).
 *
 * What the Connector's /saml/connector/slo and the Proxy-Service's
 * /saml/proxy/slo share: read the SOAP message, check the LogoutRequest
 * against the sending peer's metadata (broker/saml/saml_logout.h), refuse
 * a request ID seen from the same issuer in the last 10 minutes, let the
 * side end the session the request names, and answer a signed
 * LogoutResponse (Success also for a session no longer held: another
 * answer would tell whether one existed). An untrusted or malformed message
 * gets a SOAP Fault and changes nothing. */
#ifndef EH_SAML_SLO_ENDPOINT_H
#define EH_SAML_SLO_ENDPOINT_H

#include "broker/http.h"
#include "broker/rc.h"
#include "broker/saml/saml_authn_request.h"
#include "metadata/saml_peers.h"

struct eh_broker;

typedef struct eh_saml_slo_side {
    const char *log_name;      /* "eidas_connector", "eidas proxy": logs only */
    const char *entity_id;     /* ours, the LogoutResponse's Issuer */
    const char *slo_path;      /* ours, EH_SAML_*_SLO_PATH: the request's Destination */
    eh_saml_peers *peers;      /* the peers that may send */
    const eh_saml_trust *trust; /* finds the issuer's keys; its ctx remembers the peer */
    /* peer_name returns the name (in peers) of the peer trust found, NULL
     * when none; end ends the session that peer opened for name_id */
    const char *(*peer_name)(void *trust_ctx);
    void (*end)(struct eh_broker *b, void *trust_ctx, const char *name_id);
} eh_saml_slo_side;

/* eh_saml_slo_answer answers req, a peer's SOAP LogoutRequest to side's
 * endpoint, into resp (see above). Blocking (store, signing). */
eh_rc eh_saml_slo_answer(struct eh_broker *b, const eh_http_request *req,
                         const eh_saml_slo_side *side, eh_http_response *resp);

#endif
