#include "broker/broker.h"

#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/audit.h"
#include "broker/backends/backend.h"
#include "broker/config.h"
#include "broker/http_client.h"
#include "broker/dispatch.h"
#include "broker/keys.h"
#include "broker/log.h"
#include "broker/metrics.h"
#include "broker/random.h"
#include "broker/saml/saml_node.h"
#include "broker/backends/eidas_connector.h"
#include "metadata/saml_peers.h"
#include "broker/frontends/eidas_proxy.h"
#include "metadata/discovery.h"
#include "policies/admin_auth.h"
#include "policies/policy_store.h"

struct eh_broker {
    eh_config *config;
    eh_keyset *keys;
    eh_store *store;
    char *discovery; /* OpenID Provider metadata, built at load */
    char *jwks;      /* public JWK Set, built at load */
    void *backend_state[EH_BACKEND_MAX]; /* by registry index; NULL: not configured */
    eh_policy_store *policies; /* NULL without policy_dir */
    eh_admin *admin;           /* NULL without "admin" */
    eh_audit *audit;           /* NULL without "audit" */
    eh_saml_node *saml;        /* NULL without "saml" */
    eh_eidas_proxy *eidas_proxy; /* NULL without "eidas_proxy" */
    const char *rq_names[EH_METRICS_REQUESTERS]; /* the metrics' requesters, borrowed */
};

/* load_policies opens policy_dir and loads the "admin" member, which needs
 * it; errors are one line naming file and JSON path. */
static eh_rc load_policies(eh_broker *b, char *err, size_t errlen)
{
    const eh_config *cfg = b->config;
    json_t *admin = json_object_get(cfg->root, "admin");
    char reason[512];
    eh_rc rc;

    if (cfg->policy_dir != NULL) {
        rc = eh_policy_store_open(cfg->policy_dir, &b->policies, reason, sizeof(reason));
        if (rc != EH_OK) {
            snprintf(err, errlen, "%s: $.policy_dir: %s", cfg->path,
                     rc == EH_ERR_NOMEM ? "out of memory" : reason);
            return rc == EH_ERR_NOMEM ? rc : EH_ERR_CONFIG;
        }
    }
    if (admin == NULL)
        return EH_OK;
    if (cfg->policy_dir == NULL) {
        snprintf(err, errlen, "%s: $.admin: needs $.policy_dir, the folder where the policies "
                              "administrators change are kept",
                 cfg->path);
        return EH_ERR_CONFIG;
    }
    return eh_admin_load(admin, cfg->path, &b->admin, err, errlen);
}

/* load_backends lets each configured backend validate and load its
 * settings; errors are already one line naming file and JSON path. */
static eh_rc load_backends(eh_broker *b, char *err, size_t errlen)
{
    size_t n;
    const eh_backend_def *defs = eh_backends(&n);

    for (size_t i = 0; i < n; i++) {
        char path[128];
        json_t *settings = json_object_get(b->config->backends, defs[i].name);
        eh_rc rc;
        if (settings == NULL)
            continue;
        snprintf(path, sizeof(path), "$.backends.%s", defs[i].name);
        rc = defs[i].load(settings, b->config->path, path, &b->backend_state[i], err, errlen);
        if (rc != EH_OK)
            return rc;
    }
    return EH_OK;
}

/* load_saml loads the "saml" member (our eIDAS node), which the eIDAS
 * Connector backend and the Proxy-Service frontend need. */
static eh_rc load_saml(eh_broker *b, char *err, size_t errlen)
{
    const eh_config *cfg = b->config;
    json_t *saml = json_object_get(cfg->root, "saml");
    eh_rc rc;

    if (saml == NULL) {
        const char *who = json_object_get(cfg->backends, "eidas_connector") != NULL
                              ? "$.backends.eidas_connector"
                          : json_object_get(cfg->root, "eidas_proxy") != NULL ? "$.eidas_proxy"
                                                                              : NULL;
        if (who == NULL)
            return EH_OK;
        snprintf(err, errlen, "%s: %s: needs $.saml, this broker's eIDAS node settings",
                 cfg->path, who);
        return EH_ERR_CONFIG;
    }
    rc = eh_saml_node_load(saml, cfg->path, cfg->issuer, &b->saml, err, errlen);
    if (rc == EH_OK && json_object_get(cfg->root, "eidas_proxy") != NULL)
        rc = eh_eidas_proxy_load(json_object_get(cfg->root, "eidas_proxy"), cfg->path, b->saml,
                                 &b->eidas_proxy, err, errlen);
    return rc;
}

/* load_keys adds every configured key to a new key set; errors name the
 * key's JSON path in the configuration. */
static eh_rc load_keys(const eh_config *cfg, eh_keyset **out, char *err, size_t errlen)
{
    eh_keyset *ks = NULL;
    char reason[512];
    eh_rc rc = eh_keyset_new(&ks);

    if (rc != EH_OK)
        return rc;
    for (size_t i = 0; i < cfg->n_keys; i++) {
        rc = eh_keyset_add_pem(ks, cfg->keys[i].file, cfg->keys[i].active, reason, sizeof(reason));
        if (rc != EH_OK) {
            snprintf(err, errlen, "%s: $.keys[%zu]: %s", cfg->path, i, reason);
            goto cleanup;
        }
    }
    rc = eh_keyset_finish(ks, reason, sizeof(reason));
    if (rc != EH_OK) {
        snprintf(err, errlen, "%s: $.keys: %s", cfg->path, reason);
        goto cleanup;
    }
    *out = ks;
    ks = NULL;
cleanup:
    eh_keyset_free(ks);
    return rc;
}

/* set_requesters names the requester label of the metrics after the
 * configured relying parties and eIDAS Connectors (the names live as long
 * as the broker). */
static void set_requesters(eh_broker *b)
{
    size_t n = 0;

    for (size_t i = 0; i < b->config->n_rps && n < EH_METRICS_REQUESTERS; i++)
        b->rq_names[n++] = b->config->rps[i].client_id;
    for (size_t i = 0; i < eh_eidas_proxy_count(b->eidas_proxy) && n < EH_METRICS_REQUESTERS; i++)
        b->rq_names[n++] = eh_eidas_proxy_connector_id(b->eidas_proxy, i);
    eh_metrics_set_requesters(b->rq_names, n);
}

/* pin_library keeps this library (and so the libraries it uses) loaded
 * until the process ends, when it is a shared object. Its threads' state
 * (curl handles, Redis connections) is freed by thread-specific data
 * destructors in it, which run as a thread ends; nginx unloads its modules
 * (dlclose) as a worker exits, while the thread pool's threads may still be
 * ending, and a destructor in an unloaded library crashed them. */
static void pin_library(void)
{
    Dl_info info;
    union {
        eh_rc (*fn)(const char *, eh_broker **, char *, size_t);
        void *p;
    } self = {.fn = eh_broker_load};

    if (dladdr(self.p, &info) != 0 && info.dli_fname != NULL)
        (void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

eh_rc eh_broker_load(const char *path, eh_broker **out, char *err, size_t errlen)
{
    static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

    eh_saml_peers *connector_peers;
    eh_broker *b = calloc(1, sizeof(*b));
    eh_rc rc = EH_ERR_NOMEM;

    pthread_once(&pin_once, pin_library);
    if (b == NULL)
        goto cleanup;
    rc = eh_config_load(path, &b->config, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    eh_log_set_format(b->config->log_text ? EH_LOG_TEXT : EH_LOG_JSON);
    rc = load_keys(b->config, &b->keys, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_http_client_init();
    if (rc != EH_OK) {
        snprintf(err, errlen, "%s: cannot initialise libcurl", path);
        goto cleanup;
    }
    rc = load_saml(b, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    set_requesters(b);
    rc = load_backends(b, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    connector_peers = eh_eidas_connector_peers(eh_broker_backend_get(b, "eidas_connector"));
    if (connector_peers != NULL && b->saml != NULL)
        eh_saml_peers_set_timing(connector_peers, b->saml->refresh_s, b->saml->request_timeout_ms);
    rc = load_policies(b, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_audit_load(json_object_get(b->config->root, "audit"), b->config, b->keys, &b->audit,
                       err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_discovery_build(b->config, b->keys, &b->discovery);
    if (rc == EH_OK)
        rc = eh_keyset_jwks_json(b->keys, &b->jwks);
    if (rc != EH_OK) {
        snprintf(err, errlen, "%s: cannot build the discovery documents: %s", path,
                 eh_strerror(rc));
        goto cleanup;
    }
    *out = b;
    b = NULL;
cleanup:
    eh_broker_free(b);
    return rc;
}

void eh_broker_set_store(eh_broker *b, eh_store *store)
{
    if (b->store != store)
        eh_store_free(b->store);
    b->store = store;
}

eh_store *eh_broker_store_get(const eh_broker *b)
{
    return b->store;
}

const eh_config *eh_broker_config_get(const eh_broker *b)
{
    return b->config;
}

const eh_keyset *eh_broker_keys_get(const eh_broker *b)
{
    return b->keys;
}

eh_policy_store *eh_broker_policies_get(const eh_broker *b)
{
    return b->policies;
}

const eh_admin *eh_broker_admin_get(const eh_broker *b)
{
    return b->admin;
}

const eh_saml_node *eh_broker_saml_get(const eh_broker *b)
{
    return b->saml;
}

eh_eidas_proxy *eh_broker_eidas_proxy_get(const eh_broker *b)
{
    return b->eidas_proxy;
}

const eh_audit *eh_broker_audit_get(const eh_broker *b)
{
    return b->audit;
}

void *eh_broker_backend_get(const eh_broker *b, const char *name)
{
    int i = eh_backend_index(name);
    return i < 0 ? NULL : b->backend_state[i];
}

int eh_broker_secure(const eh_broker *b)
{
    return strncmp(b->config->issuer, "https://", 8) == 0;
}

const char *eh_broker_discovery_get(const eh_broker *b)
{
    return b->discovery;
}

const char *eh_broker_jwks_get(const eh_broker *b)
{
    return b->jwks;
}

/* status_of is the status the host answers with for rc (as the nginx
 * module maps it), for the requests metric only. */
static int status_of(eh_rc rc, const eh_http_response *resp)
{
    switch (rc) {
    case EH_OK:
        return resp->status;
    case EH_ERR_HTTP_NO_ROUTE:
        return 404;
    case EH_ERR_HTTP_METHOD:
        return 405;
    case EH_ERR_TOO_LARGE:
        return 413;
    case EH_ERR_INVALID:
        return 400;
    case EH_ERR_STORE_UNAVAILABLE:
    case EH_ERR_STORE_TIMEOUT:
    case EH_ERR_STORE_FULL:
    case EH_ERR_STORE_PROTOCOL:
        return 503;
    default:
        return 500;
    }
}

static const char *method_name(eh_http_method m)
{
    switch (m) {
    case EH_HTTP_GET:
        return "GET";
    case EH_HTTP_HEAD:
        return "HEAD";
    case EH_HTTP_POST:
        return "POST";
    case EH_HTTP_OPTIONS:
        return "OPTIONS";
    default:
        return "other";
    }
}

/* request_id_of copies the host's request id into id, or makes one of 16
 * random bytes in hex. */
static void request_id_of(const eh_http_request *req, char id[EH_REQUEST_ID_MAX + 1])
{
    unsigned char raw[16];

    if (req->request_id != NULL && req->request_id[0] != '\0' &&
        strlen(req->request_id) <= EH_REQUEST_ID_MAX &&
        strspn(req->request_id, "0123456789abcdefABCDEF-") == strlen(req->request_id)) {
        snprintf(id, EH_REQUEST_ID_MAX + 1, "%s", req->request_id);
        return;
    }
    if (eh_random_bytes(raw, sizeof(raw)) != EH_OK)
        memset(raw, 0, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
}

eh_rc eh_broker_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_rc rc;
    uint64_t start = eh_metrics_now();
    size_t n_routes;
    const eh_route *routes = eh_dispatch_routes(&n_routes);
    const eh_route *route = eh_dispatch_find(req->method, req->path, &rc);
    char request_id[EH_REQUEST_ID_MAX + 1];
    uint64_t elapsed;

    if (route == NULL) {
        eh_metrics_request(n_routes, status_of(rc, resp), eh_metrics_now() - start);
        return rc;
    }
    request_id_of(req, request_id);
    eh_log_context_set(request_id);
    rc = route->handler(b, req, resp);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "X-Content-Type-Options", "nosniff");
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "X-Request-Id", request_id);
    if (rc != EH_OK)
        eh_log(EH_LOG_WARN, "%s: %s", req->path, eh_strerror(rc));
    elapsed = eh_metrics_now() - start;
    eh_metrics_request((size_t)(route - routes), status_of(rc, resp), elapsed);
    /* a request of a login says so, so that a login can be followed across
     * its requests by its login id (the path only: no query, no body) */
    if (eh_log_login_id()[0] != '\0')
        eh_log(EH_LOG_INFO, "request %s %s: %d in %llu.%03llu ms", method_name(req->method),
               req->path, status_of(rc, resp), (unsigned long long)(elapsed / 1000),
               (unsigned long long)(elapsed % 1000));
    eh_log_context_set(NULL);
    return rc;
}

/* signs_fast tells whether one signature with the active key of ks is fast
 * enough for the event loop: an EC P-256 key (ES256, tens of microseconds),
 * not an RSA one (PS256 with 3072 bits or more: milliseconds). */
static int signs_fast(const eh_keyset *ks)
{
    const eh_key *active = ks != NULL ? eh_keyset_active_get(ks) : NULL;
    const char *alg = active != NULL ? eh_key_alg_get(active) : NULL;

    return alg != NULL && strcmp(alg, "ES256") == 0;
}

int eh_broker_blocking(const eh_broker *b, const eh_http_request *req)
{
    eh_rc rc;
    const eh_route *route = eh_dispatch_find(req->method, req->path, &rc);
    unsigned mode;

    if (route == NULL || route->mode == EH_ROUTE_INLINE)
        return 0;
    mode = route->mode;
    if (b == NULL || (mode & EH_ROUTE_BLOCKING) || !(mode & EH_ROUTE_STORE))
        return 1;
    if (eh_store_may_block(b->store))
        return 1;
    if ((mode & EH_ROUTE_POLICIES) && b->policies != NULL)
        return 1;
    if ((mode & EH_ROUTE_SIGNS) && !signs_fast(b->keys))
        return 1;
    return 0;
}

void eh_broker_free(eh_broker *b)
{
    if (b == NULL)
        return;
    size_t n;
    const eh_backend_def *defs = eh_backends(&n);
    for (size_t i = 0; i < n; i++) {
        if (b->backend_state[i] != NULL)
            defs[i].free(b->backend_state[i]);
    }
    eh_metrics_forget_requesters(b->rq_names);
    eh_audit_free(b->audit);
    eh_eidas_proxy_free(b->eidas_proxy);
    eh_saml_node_free(b->saml);
    eh_admin_free(b->admin);
    eh_policy_store_free(b->policies);
    eh_config_free(b->config);
    eh_keyset_free(b->keys);
    eh_store_free(b->store);
    free(b->discovery);
    free(b->jwks);
    free(b);
}

int eh_broker_process_exit(unsigned timeout_ms)
{
    const struct timespec pause = {0, 2 * 1000 * 1000};
    unsigned waited_ms = 0;

    eh_saml_peers_stop_all();
    while (eh_http_client_other_threads() + eh_store_redis_other_threads() > 0) {
        if (waited_ms >= timeout_ms)
            return 0;
        nanosleep(&pause, NULL);
        waited_ms += 2;
    }
    return 1;
}
