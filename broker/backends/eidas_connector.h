/* eidhub: foreign citizens through their country's eIDAS node (the
 * eidas_connector backend).
 *
 * Each configured country is its own choice on the method-choice page
 * ("/auth/eidas?country=LV"), and a portal may name it with the scope or
 * acr hint "eidas:country:lv". eidhub sends a signed eIDAS AuthnRequest
 * (HTTP-POST binding, an auto-submitted form) to the SSO service of that
 * country's Proxy-Service, taken from its signed metadata: SPType from the
 * requester's registration, the RequestedAttributes the requester's policy
 * can release (the natural-person minimum data set always, isRequired),
 * NameIDPolicy persistent, and the level the login asks with Comparison
 * "minimum".
 *
 * The answer arrives by a cross-site POST at <issuer>/auth/eidas/acs, which
 * carries no SameSite=Lax cookie: the ACS keeps the response in the store
 * for a minute under a random key and sends the browser (303) to
 * /auth/eidas/return?r=<key>, a top-level GET that does carry the
 * transaction's cookie. There the response is checked
 * (broker/saml/saml_response.h) against the request this browser's
 * transaction sent, its assertion id is recorded against replay, and the
 * eIDAS attributes become the identity: PersonIdentifier "LV/EE/id" gives
 * country LV and id (its first part must be the country asked, its second
 * ours). Our Connector metadata is served at <issuer>/saml/connector/metadata.
 *
 * Settings, the member "eidas_connector" of "backends":
 *   countries   [{"country": "LV",            ISO 3166-1 alpha-2 (required, unique)
 *                 "metadata": URL or file,    its Proxy-Service metadata (required)
 *                 "entity_id": "...",         expected entityID (default: the URL)
 *                 "trust_anchor_file": PEM,   what its metadata must be signed with (required)
 *                 "display_name": {...}}]     label (default "eIDAS: <country>")
 *   sp_type     "public" (default) | "private": published in our metadata; a
 *               relying party's own "sp_type" is sent in its requests
 * This broker's eIDAS node settings are the configuration's "saml" member
 * (broker/saml/saml_node.h). */
#ifndef EH_EIDAS_CONNECTOR_H
#define EH_EIDAS_CONNECTOR_H

#include <jansson.h>
#include <stddef.h>

#include "broker/backends/backend.h"
#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

/* Backend registry hooks (broker/backends/backend.c). */
eh_rc eh_eidas_connector_load(const json_t *settings, const char *file, const char *path,
                              void **state, char *err, size_t errlen);
void eh_eidas_connector_free(void *state);
const eh_backend_choice *eh_eidas_connector_choices(const void *state, size_t *n);

/* eh_eidas_connector_peers returns the Proxy-Services' metadata the loaded
 * state trusts (borrowed), for /metrics. */
struct eh_saml_peers;
struct eh_saml_peers *eh_eidas_connector_peers(const void *state);

/* Handlers (broker/dispatch.c), all blocking:
 *   GET  /saml/connector/metadata   our Connector metadata, signed
 *   GET  /auth/eidas?country=XX      send the citizen to that country's node
 *   POST /auth/eidas/acs             the node's answer: kept, then 303 to ...
 *   GET  /auth/eidas/return?r=KEY    ... where it is checked and used */
eh_rc eh_eidas_connector_metadata_handle(struct eh_broker *b, const eh_http_request *req,
                                         eh_http_response *resp);
eh_rc eh_eidas_connector_start_handle(struct eh_broker *b, const eh_http_request *req,
                                      eh_http_response *resp);
eh_rc eh_eidas_connector_acs_handle(struct eh_broker *b, const eh_http_request *req,
                                    eh_http_response *resp);
eh_rc eh_eidas_connector_return_handle(struct eh_broker *b, const eh_http_request *req,
                                       eh_http_response *resp);

/* Single Logout (SOAP binding; docs/eidas.md), with Proxy-Services whose
 * metadata lists a SOAP SingleLogoutService:
 *   POST /saml/connector/slo   a node ends the session it authenticated: our
 *                              SSO session for that citizen ends too (its
 *                              portals get back-channel logout), blocking
 * eh_eidas_connector_logout is the backend's logout hook (backend.h): an
 * SSO session that came through us ended, so a LogoutRequest goes to the
 * node of upstream's country (bounded, 3 tries); the outcome is logged. */
eh_rc eh_eidas_connector_slo_handle(struct eh_broker *b, const eh_http_request *req,
                                    eh_http_response *resp);
void eh_eidas_connector_logout(struct eh_broker *b, const json_t *upstream);

#endif
