/* eidhub: the eIDAS Proxy-Service frontend (eidas_proxy).
 *
 * Foreign eIDAS Connectors, configured in the "eidas_proxy" member with
 * their metadata and trust anchor, send signed AuthnRequests (HTTP-POST or
 * HTTP-Redirect binding) to <issuer>/saml/proxy/sso. eidhub checks each one
 * (broker/saml/saml_authn_request.h), authenticates our citizen with our
 * own backends at the requested level, and answers the Connector's
 * AssertionConsumerService (from its signed metadata) with a signed
 * Response carrying an encrypted, signed assertion holding exactly the
 * requested attributes the Connector's policy releases. Errors after a
 * valid request become SAML status responses; an invalid request gets an
 * error page (its sender is not trusted, so nothing is sent back to it).
 * Our Proxy-Service metadata is served, signed, at
 * <issuer>/saml/proxy/metadata. See docs/eidas.md. */
#ifndef EH_EIDAS_PROXY_H
#define EH_EIDAS_PROXY_H

#include <jansson.h>

#include "broker/http.h"
#include "broker/rc.h"
#include "broker/txn.h"
#include "policies/policy.h"

struct eh_broker;
struct eh_saml_node;
typedef struct eh_eidas_proxy eh_eidas_proxy;

/* eh_eidas_proxy_load validates the "eidas_proxy" member (at $.eidas_proxy
 * of file) and returns the frontend's state (*out, eh_eidas_proxy_free).
 * node is this broker's eIDAS node (required). Errors are one line
 * "<file>: $.eidas_proxy...: <what>". */
eh_rc eh_eidas_proxy_load(const json_t *settings, const char *file,
                          const struct eh_saml_node *node, eh_eidas_proxy **out, char *err,
                          size_t errlen);
void eh_eidas_proxy_free(eh_eidas_proxy *p);

/* eh_eidas_proxy_peers returns the Connectors' metadata p trusts
 * (borrowed), for /metrics. */
struct eh_saml_peers;
struct eh_saml_peers *eh_eidas_proxy_peers(const eh_eidas_proxy *p);

/* eh_eidas_proxy_count / eh_eidas_proxy_connector_id enumerate the
 * configured Connectors' ids (borrowed, valid as long as p), the requester
 * names of their logins. */
size_t eh_eidas_proxy_count(const eh_eidas_proxy *p);
const char *eh_eidas_proxy_connector_id(const eh_eidas_proxy *p, size_t i);

/* Handlers (broker/dispatch.c), blocking:
 *   GET      /saml/proxy/metadata   our Proxy-Service metadata, signed
 *   GET/POST /saml/proxy/sso        a Connector's AuthnRequest */
eh_rc eh_eidas_proxy_metadata_handle(struct eh_broker *b, const eh_http_request *req,
                                     eh_http_response *resp);
eh_rc eh_eidas_proxy_sso_handle(struct eh_broker *b, const eh_http_request *req,
                                eh_http_response *resp);

/* Single Logout (SOAP binding; docs/eidas.md), with Connectors whose
 * metadata lists a SOAP SingleLogoutService:
 *   POST /saml/proxy/slo   a Connector's LogoutRequest ends the SSO session
 *                          in which we answered it for that NameID (its
 *                          other requesters are told), blocking */
eh_rc eh_eidas_proxy_slo_handle(struct eh_broker *b, const eh_http_request *req,
                                eh_http_response *resp);

/* Frontend hooks for broker/flow.c (session_ended: a LogoutRequest to each
 * Connector of the ended session s that takes one; bounded, 3 tries). */
struct eh_sso;
void eh_eidas_proxy_session_ended(struct eh_broker *b, const struct eh_sso *s);
eh_rc eh_eidas_proxy_complete(struct eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                              const eh_identity *released, eh_http_response *resp);
eh_rc eh_eidas_proxy_fail(struct eh_broker *b, const eh_txn *txn, const char *error,
                          const char *description, eh_http_response *resp);
const char *eh_eidas_proxy_display_name(struct eh_broker *b, const eh_txn *txn);

#endif
