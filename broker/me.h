/* eidhub: "My eidhub", the citizen's own page (broker/me.c).
 *   GET  /me          the releases of the citizen of the browser's SSO session
 *   POST /me/logout   end that session everywhere */
#ifndef EH_ME_H
#define EH_ME_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

eh_rc eh_me_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_me_logout_handle(struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp);

#endif
