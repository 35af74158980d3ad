/* eidhub: the health endpoint.
 *
 * GET /healthz pings the store within its timeout and answers JSON:
 * 200 {"status":"ok","store":{"type":"redis","reachable":true}} or
 * 503 {"status":"unavailable","store":{..."reachable":false,"error":"..."}}.
 * It blocks for at most the store's timeout, so it runs off the event loop. */
#ifndef EH_HEALTH_H
#define EH_HEALTH_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

eh_rc eh_health_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);

#endif
