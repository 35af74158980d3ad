/* eidhub: OpenID Connect discovery and the JWK Set.
 *
 * Both documents depend only on the configuration and the keys, so they are
 * built once when the broker loads (eh_discovery_build) and served from
 * memory on the event loop, never blocking. */
#ifndef EH_DISCOVERY_H
#define EH_DISCOVERY_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;
struct eh_config;
struct eh_keyset;

/* eh_discovery_build returns the OpenID Provider metadata document (OpenID
 * Connect Discovery 1.0 section 3) for cfg and keys as compact JSON text
 * (caller frees). It announces only what the broker serves. */
eh_rc eh_discovery_build(const struct eh_config *cfg, const struct eh_keyset *keys, char **out);

/* Handlers (dispatch table): GET /.well-known/openid-configuration and
 * GET /jwks answer the documents built at load, cacheable for 5 minutes. */
eh_rc eh_discovery_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_jwks_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);

#endif
