/* eidhub: the administration API (docs/admin-api.md).
 *
 * JSON endpoints under /admin/api/ through which administrators read,
 * validate, preview and change the attribute-release policies. Each is one
 * line of broker/dispatch.c and may block (store, files, scrypt). Every
 * answer is JSON with Cache-Control: no-store; errors are {"error": code,
 * "message": text}. Reads need a session (401 otherwise); every POST but
 * login passes eh_admin_check_change, and a refused change is logged
 * (account, endpoint, reason) and changes nothing. Without an "admin"
 * member in the configuration every endpoint answers 404. */
#ifndef EH_ADMIN_API_H
#define EH_ADMIN_API_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

/* POST /admin/api/login {"user", "password"} -> {"user", "role", "csrf"} and the cookie */
eh_rc eh_admin_login_handle(struct eh_broker *b, const eh_http_request *req,
                            eh_http_response *resp);
/* POST /admin/api/logout -> 204 */
eh_rc eh_admin_logout_handle(struct eh_broker *b, const eh_http_request *req,
                             eh_http_response *resp);
/* GET /admin/api/session -> {"user", "role", "csrf"} */
eh_rc eh_admin_session_handle(struct eh_broker *b, const eh_http_request *req,
                              eh_http_response *resp);
/* GET /admin/api/requesters -> [{"client_id", "display_name", "policy": {"version", "profile"}}] */
eh_rc eh_admin_requesters_handle(struct eh_broker *b, const eh_http_request *req,
                                 eh_http_response *resp);
/* GET /admin/api/policy?name=N[&version=V] */
eh_rc eh_admin_policy_get_handle(struct eh_broker *b, const eh_http_request *req,
                                 eh_http_response *resp);
/* POST /admin/api/policy?name=N {"document", "why", "base_version"} -> 201 {"version"} */
eh_rc eh_admin_policy_save_handle(struct eh_broker *b, const eh_http_request *req,
                                  eh_http_response *resp);
/* GET /admin/api/history?name=N */
eh_rc eh_admin_history_handle(struct eh_broker *b, const eh_http_request *req,
                              eh_http_response *resp);
/* GET /admin/api/diff?name=N&from=A&to=B */
eh_rc eh_admin_diff_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
/* POST /admin/api/validate {"document"} */
eh_rc eh_admin_validate_handle(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);
/* POST /admin/api/preview {"name", "document"?, "identity", "scope"} */
eh_rc eh_admin_preview_handle(struct eh_broker *b, const eh_http_request *req,
                              eh_http_response *resp);
/* POST /admin/api/rollback?name=N {"version", "why"} -> 201 {"version"} */
eh_rc eh_admin_rollback_handle(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);

#endif
