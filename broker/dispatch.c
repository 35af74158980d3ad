/* eidhub: the dispatch table (see dispatch.h).
 *
 * Each line's last column says what answering may wait for:
 *   INLINE  nothing: documents built at load, static assets, counters;
 *   STORE   the store only (eh_store_may_block): on nginx's event loop with
 *           the embedded store, a thread-pool task with Redis;
 *   STORE | POLICIES  the store and, when policy_dir is configured, the
 *           policy folder (policies/policy_store.c reads its files): on the
 *           loop only with the embedded store and no policy folder;
 *   STORE | SIGNS  the store and one signature with the active key (the ID
 *           token): on the loop only with the embedded store and an EC key
 *           (ES256, ~31 us by openssl speed), never with RSA-3072 (PS256);
 *   BLOCKS  anything else: an HTTP call (Mobile-ID, Smart-ID, OCSP, a
 *           national provider, an eIDAS node, back-channel logout), the audit
 *           log or other files, XML or RSA signing: always a task.
 * A route gets a mode other than BLOCKS only after its handler's whole call
 * graph was read. Among the store-only ones, these stay BLOCKS on purpose:
 *   /healthz       it checks the way logins take through the thread pool too;
 *   /auth/mid/finish, /auth/sid/finish  poll Mobile-ID/Smart-ID when the
 *                  session has not ended, check the certificate with OCSP, and
 *                  complete the login (eh_flow_complete: the audit log, a
 *                  signed eIDAS Response, the "My eidhub" record);
 *   POST /cancel, /consent, /sso  end a login (eh_flow_fail/complete: audit,
 *                  a signed eIDAS Response to a foreign Connector);
 *   the admin API  policy files, password hashing (left as they were). */
#include "broker/dispatch.h"

#include <string.h>

#include "broker/backends/eidas_connector.h"
#include "broker/backends/mobile_id.h"
#include "broker/backends/oidc_upstream.h"
#include "broker/backends/smart_id.h"
#include "broker/flow.h"
#include "broker/frontends/eidas_proxy.h"
#include "broker/frontends/oidc_op.h"
#include "broker/frontends/protect.h"
#include "broker/health.h"
#include "broker/me.h"
#include "broker/metrics.h"
#include "broker/page.h"
#include "metadata/discovery.h"
#include "policies/admin_api.h"
#include "policies/admin_ui.h"

#define GET_HEAD (EH_HTTP_GET | EH_HTTP_HEAD)
#define GET_POST (EH_HTTP_GET | EH_HTTP_HEAD | EH_HTTP_POST)
#define BLOCKS EH_ROUTE_BLOCKING
#define INLINE EH_ROUTE_INLINE
#define STORE EH_ROUTE_STORE
#define POLICIES EH_ROUTE_POLICIES
#define SIGNS EH_ROUTE_SIGNS

/* Every endpoint of the broker, one line each. */
static const eh_route eh_routes[] = {
    /* metadata and health */
    {GET_HEAD, "/.well-known/openid-configuration", eh_discovery_handle, INLINE},
    {GET_HEAD, "/jwks", eh_jwks_handle, INLINE},
    {GET_HEAD, "/healthz", eh_health_handle, BLOCKS},
    {GET_HEAD, "/metrics", eh_metrics_handle, INLINE},
    {GET_HEAD, "/assets/eidhub.css", eh_assets_css_handle, INLINE},
    {GET_HEAD, "/assets/eidhub.js", eh_assets_js_handle, INLINE},
    /* administration UI */
    {GET_HEAD, "/admin/", eh_admin_ui_handle, INLINE},
    {GET_HEAD, "/admin/admin.js", eh_admin_ui_handle, INLINE},
    {GET_HEAD, "/admin/admin.css", eh_admin_ui_handle, INLINE},
    /* administration */
    {EH_HTTP_POST, "/admin/api/login", eh_admin_login_handle, BLOCKS},
    {EH_HTTP_POST, "/admin/api/logout", eh_admin_logout_handle, BLOCKS},
    {GET_HEAD, "/admin/api/session", eh_admin_session_handle, BLOCKS},
    {GET_HEAD, "/admin/api/requesters", eh_admin_requesters_handle, BLOCKS},
    {GET_HEAD, "/admin/api/policy", eh_admin_policy_get_handle, BLOCKS},
    {EH_HTTP_POST, "/admin/api/policy", eh_admin_policy_save_handle, BLOCKS},
    {GET_HEAD, "/admin/api/history", eh_admin_history_handle, BLOCKS},
    {GET_HEAD, "/admin/api/diff", eh_admin_diff_handle, BLOCKS},
    {EH_HTTP_POST, "/admin/api/validate", eh_admin_validate_handle, BLOCKS},
    {EH_HTTP_POST, "/admin/api/preview", eh_admin_preview_handle, BLOCKS},
    {EH_HTTP_POST, "/admin/api/rollback", eh_admin_rollback_handle, BLOCKS},
    /* OpenID Connect provider (frontend) */
    {GET_POST, "/authorize", eh_oidc_authorize_handle, STORE | POLICIES},
    {EH_HTTP_POST, "/token", eh_oidc_token_handle, STORE | SIGNS},
    {GET_POST, "/userinfo", eh_oidc_userinfo_handle, STORE},
    /* eIDAS Proxy-Service (frontend) */
    {GET_HEAD, "/saml/proxy/metadata", eh_eidas_proxy_metadata_handle, BLOCKS},
    {GET_POST, "/saml/proxy/sso", eh_eidas_proxy_sso_handle, BLOCKS},
    {EH_HTTP_POST, "/saml/proxy/slo", eh_eidas_proxy_slo_handle, BLOCKS},
    /* the flow between frontends and backends */
    {GET_HEAD, "/login", eh_login_handle, STORE | POLICIES},
    {EH_HTTP_POST, "/cancel", eh_cancel_handle, BLOCKS},
    {GET_HEAD, "/consent", eh_consent_page_handle, STORE},
    {EH_HTTP_POST, "/consent", eh_consent_decide_handle, BLOCKS},
    {GET_HEAD, "/sso", eh_sso_page_handle, STORE},
    {EH_HTTP_POST, "/sso", eh_sso_decide_handle, BLOCKS},
    /* logout and the citizen's own page */
    {GET_POST, "/logout", eh_oidc_logout_handle, BLOCKS},
    {GET_HEAD, "/me", eh_me_handle, STORE},
    /* protected applications (eidhub_protect): the end of their login, their logout */
    {GET_HEAD, "/protect/callback", eh_protect_callback_handle, STORE},
    {GET_POST, "/protect/logout", eh_protect_logout_handle, BLOCKS},
    {EH_HTTP_POST, "/me/logout", eh_me_logout_handle, BLOCKS},
    /* Mobile-ID (backend) */
    {GET_HEAD, "/auth/mid", eh_mid_form_handle, STORE},
    {EH_HTTP_POST, "/auth/mid", eh_mid_start_handle, BLOCKS},
    {GET_HEAD, "/auth/mid/wait", eh_mid_wait_handle, STORE},
    {GET_HEAD, "/auth/mid/status", eh_mid_status_handle, BLOCKS},
    {GET_HEAD, "/auth/mid/finish", eh_mid_finish_handle, BLOCKS},
    /* Smart-ID (backend) */
    {GET_HEAD, "/auth/sid", eh_sid_form_handle, STORE},
    {EH_HTTP_POST, "/auth/sid", eh_sid_start_handle, BLOCKS},
    {GET_HEAD, "/auth/sid/wait", eh_sid_wait_handle, STORE},
    {GET_HEAD, "/auth/sid/status", eh_sid_status_handle, BLOCKS},
    {GET_HEAD, "/auth/sid/finish", eh_sid_finish_handle, BLOCKS},
    /* national OpenID Connect eID (backend) */
    {GET_HEAD, "/auth/oidc", eh_oidcup_start_handle, BLOCKS},
    {GET_HEAD, "/auth/oidc/callback", eh_oidcup_callback_handle, BLOCKS},
    /* eIDAS Connector (backend): foreign citizens through their country's node */
    {GET_HEAD, "/saml/connector/metadata", eh_eidas_connector_metadata_handle, BLOCKS},
    {GET_HEAD, "/auth/eidas", eh_eidas_connector_start_handle, BLOCKS},
    {EH_HTTP_POST, "/auth/eidas/acs", eh_eidas_connector_acs_handle, BLOCKS},
    {GET_HEAD, "/auth/eidas/return", eh_eidas_connector_return_handle, BLOCKS},
    {EH_HTTP_POST, "/saml/connector/slo", eh_eidas_connector_slo_handle, BLOCKS},
};

const eh_route *eh_dispatch_find(eh_http_method method, const char *path, eh_rc *rc)
{
    int path_known = 0;

    for (size_t i = 0; i < sizeof(eh_routes) / sizeof(eh_routes[0]); i++) {
        if (strcmp(eh_routes[i].path, path) != 0)
            continue;
        path_known = 1;
        if (eh_routes[i].methods & (unsigned)method) {
            *rc = EH_OK;
            return &eh_routes[i];
        }
    }
    *rc = path_known ? EH_ERR_HTTP_METHOD : EH_ERR_HTTP_NO_ROUTE;
    return NULL;
}

const eh_route *eh_dispatch_routes(size_t *n)
{
    *n = sizeof(eh_routes) / sizeof(eh_routes[0]);
    return eh_routes;
}
