#include "broker/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/backends/backend.h"
#include "broker/backends/eidas_connector.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/dispatch.h"
#include "broker/frontends/eidas_proxy.h"
#include "broker/http.h"
#include "metadata/saml_peers.h"

#define EP_MAX 96                            /* routes of the dispatch table, and "other" */
#define RQ_SLOTS (EH_METRICS_REQUESTERS + 1) /* the last one is "other" */
#define M_SLOTS (EH_BACKEND_MAX + 1)         /* the last one is "none" */
#define N_BUCKETS 11
#define N_OUTCOMES 4
#define N_CLASSES 6                 /* 1xx..5xx, and other */
#define MAGIC 0x6569646875626d31ull /* "eidhubm1" */

static const uint64_t bucket_us[N_BUCKETS] = {5000,   10000,   25000,   50000,   100000,  250000,
                                              500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bucket_le[N_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                 "0.5",   "1",    "2.5",   "5",    "10"};
static const char *const outcomes[N_OUTCOMES] = {"released", "access_denied", "server_error",
                                                 "other"};
static const char *const upstreams[EH_UPSTREAM_COUNT] = {
    "none", "mobile_id", "smart_id", "oidc_upstream", "backchannel_logout", "ocsp"};
static const char *const store_ops[EH_STORE_OP_COUNT] = {"get", "set",  "take",
                                                         "del", "incr", "ping"};
/* rate-limit sections by their prefix (before the first ':'); "other" last */
static const char *const rl_sections[] = {"mid", "sid", "admlogin", "other"};
#define N_RL (sizeof(rl_sections) / sizeof(rl_sections[0]))

typedef struct hist {
    uint64_t bucket[N_BUCKETS]; /* not cumulative; render sums them */
    uint64_t count;
    uint64_t sum_us;
} hist;

typedef struct block {
    uint64_t magic;
    uint64_t layout; /* hash of the label sets the indices refer to */
    uint64_t requests[EP_MAX][N_CLASSES];
    hist request_duration[EP_MAX];
    uint64_t started[RQ_SLOTS][M_SLOTS];
    uint64_t finished[RQ_SLOTS][M_SLOTS][N_OUTCOMES];
    hist upstream[EH_UPSTREAM_COUNT];
    hist store[EH_STORE_OP_COUNT];
    uint64_t store_errors[EH_STORE_OP_COUNT];
    uint64_t rate_limited[N_RL];
    uint64_t heap_trims;
} block;

static block local_block;
static block *M = &local_block;
static const char *const *rq_names;
static size_t rq_n;

static inline void add(uint64_t *slot, uint64_t v)
{
    __atomic_fetch_add(slot, v, __ATOMIC_RELAXED);
}

static inline uint64_t get(const uint64_t *slot)
{
    return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

static void observe(hist *h, uint64_t us)
{
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (us <= bucket_us[i]) {
            add(&h->bucket[i], 1);
            break;
        }
    }
    add(&h->sum_us, us);
    add(&h->count, 1);
}

/* layout_hash is FNV-1a over the names the indices stand for. */
static uint64_t layout_hash(void)
{
    uint64_t h = 1469598103934665603ull;
    size_t n_routes, n_backends;
    const eh_route *routes = eh_dispatch_routes(&n_routes);
    const eh_backend_def *defs = eh_backends(&n_backends);

#define MIX(s)                                                                                     \
    for (const char *p_ = (s); *p_; p_++)                                                          \
        h = (h ^ (unsigned char)*p_) * 1099511628211ull;                                           \
    h = (h ^ 0xff) * 1099511628211ull;
    for (size_t i = 0; i < n_routes; i++) {
        MIX(routes[i].path)
    }
    for (size_t i = 0; i < n_backends; i++) {
        MIX(defs[i].name)
    }
    for (size_t i = 0; i < rq_n; i++) {
        MIX(rq_names[i])
    }
#undef MIX
    return h;
}

size_t eh_metrics_size(void)
{
    return sizeof(block);
}

eh_rc eh_metrics_attach(void *base, size_t size, int fresh)
{
    block *b = base;
    uint64_t layout = layout_hash();

    if (base == NULL || size < sizeof(block))
        return EH_ERR_INVALID;
    if (fresh || b->magic != MAGIC || b->layout != layout) {
        memset(b, 0, sizeof(*b));
        b->layout = layout;
        b->magic = MAGIC;
    }
    M = b;
    return EH_OK;
}

void eh_metrics_set_requesters(const char *const *names, size_t n)
{
    rq_names = names;
    rq_n = n > EH_METRICS_REQUESTERS ? EH_METRICS_REQUESTERS : n;
}

void eh_metrics_forget_requesters(const char *const *names)
{
    if (rq_names == names) {
        rq_names = NULL;
        rq_n = 0;
    }
}

uint64_t eh_metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t requester_index(const char *name)
{
    for (size_t i = 0; name != NULL && i < rq_n; i++) {
        if (strcmp(rq_names[i], name) == 0)
            return i;
    }
    return EH_METRICS_REQUESTERS;
}

static size_t method_index(const char *name)
{
    int i = name != NULL ? eh_backend_index(name) : -1;
    return i >= 0 && i < EH_BACKEND_MAX ? (size_t)i : EH_BACKEND_MAX;
}

/* route_index maps a route to the first route with the same path, so that
 * a path several lines of the table serve (GET and POST) is one series. */
static size_t route_index(size_t route)
{
    size_t n;
    const eh_route *routes = eh_dispatch_routes(&n);

    if (route >= n || route >= EP_MAX - 1)
        return EP_MAX - 1;
    for (size_t i = 0; i < route; i++) {
        if (strcmp(routes[i].path, routes[route].path) == 0)
            return i;
    }
    return route;
}

void eh_metrics_request(size_t route, int status, uint64_t duration_us)
{
    size_t r = route_index(route);
    int cls = status >= 100 && status < 600 ? status / 100 : 0;

    add(&M->requests[r][cls], 1);
    observe(&M->request_duration[r], duration_us);
}

void eh_metrics_login_started(const char *requester, const char *method)
{
    add(&M->started[requester_index(requester)][method_index(method)], 1);
}

const char *eh_metrics_outcome(const char *error)
{
    if (error == NULL)
        return outcomes[0];
    for (size_t i = 1; i < N_OUTCOMES - 1; i++) {
        if (strcmp(error, outcomes[i]) == 0)
            return outcomes[i];
    }
    return outcomes[N_OUTCOMES - 1];
}

void eh_metrics_login_finished(const char *requester, const char *method, const char *error)
{
    const char *o = eh_metrics_outcome(error);
    size_t oi = 0;

    while (oi < N_OUTCOMES - 1 && outcomes[oi] != o)
        oi++;
    add(&M->finished[requester_index(requester)][method_index(method)][oi], 1);
}

void eh_metrics_upstream(eh_upstream upstream, uint64_t duration_us)
{
    if (upstream <= EH_UPSTREAM_NONE || upstream >= EH_UPSTREAM_COUNT)
        return;
    observe(&M->upstream[upstream], duration_us);
}

void eh_metrics_store(eh_metrics_store_op op, uint64_t duration_us, eh_rc rc)
{
    if (op < 0 || op >= EH_STORE_OP_COUNT)
        return;
    observe(&M->store[op], duration_us);
    /* not found is an answer, not an error */
    if (rc != EH_OK && rc != EH_ERR_NOT_FOUND)
        add(&M->store_errors[op], 1);
}

void eh_metrics_rate_limited(const char *section)
{
    size_t len = section ? strcspn(section, ":") : 0, i;

    for (i = 0; i < N_RL - 1; i++) {
        if (strlen(rl_sections[i]) == len && strncmp(rl_sections[i], section, len) == 0)
            break;
    }
    add(&M->rate_limited[i], 1);
}

void eh_metrics_heap_trimmed(void)
{
    add(&M->heap_trims, 1);
}

/* Rendering. */

/* label appends name="value" with the format's escapes (\\, \", \n). */
static void label(eh_buf *b, const char *name, const char *value)
{
    eh_buf_append(b, name);
    eh_buf_append(b, "=\"");
    for (const char *p = value; *p; p++) {
        if (*p == '\\')
            eh_buf_append(b, "\\\\");
        else if (*p == '"')
            eh_buf_append(b, "\\\"");
        else if (*p == '\n')
            eh_buf_append(b, "\\n");
        else
            eh_buf_append_len(b, p, 1);
    }
    eh_buf_append(b, "\"");
}

static void header(eh_buf *b, const char *name, const char *type, const char *help)
{
    eh_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* histogram appends the series of h under name with one label. */
static void histogram(eh_buf *b, const char *name, const char *lname, const char *lvalue,
                      const hist *h)
{
    uint64_t cum = 0, count = get(&h->count), sum = get(&h->sum_us);

    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += get(&h->bucket[i]);
        eh_buf_appendf(b, "%s_bucket{", name);
        label(b, lname, lvalue);
        eh_buf_appendf(b, ",le=\"%s\"} %llu\n", bucket_le[i], (unsigned long long)cum);
    }
    /* count is read last: never below a bucket it includes */
    if (count < cum)
        count = cum;
    eh_buf_appendf(b, "%s_bucket{", name);
    label(b, lname, lvalue);
    eh_buf_appendf(b, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long long)count, name);
    label(b, lname, lvalue);
    eh_buf_appendf(b, "} %llu.%06llu\n%s_count{", (unsigned long long)(sum / 1000000u),
                   (unsigned long long)(sum % 1000000u), name);
    label(b, lname, lvalue);
    eh_buf_appendf(b, "} %llu\n", (unsigned long long)count);
}

static const char *rq_name(size_t i)
{
    return i < rq_n ? rq_names[i] : "other";
}

static const char *method_name(size_t i)
{
    size_t n;
    const eh_backend_def *defs = eh_backends(&n);
    return i < n ? defs[i].name : "none";
}

static const char *endpoint_name(size_t i)
{
    size_t n;
    const eh_route *routes = eh_dispatch_routes(&n);
    return i < n && i < EP_MAX - 1 ? routes[i].path : "other";
}

eh_rc eh_metrics_render(char **out, size_t *len)
{
    static const char *const classes[N_CLASSES] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    eh_buf b;

    eh_buf_init(&b);
    header(&b, "eidhub_requests_total", "counter",
           "HTTP requests answered, by endpoint and status class.");
    for (size_t e = 0; e < EP_MAX; e++) {
        for (size_t c = 0; c < N_CLASSES; c++) {
            uint64_t v = get(&M->requests[e][c]);
            if (v == 0)
                continue;
            eh_buf_append(&b, "eidhub_requests_total{");
            label(&b, "endpoint", endpoint_name(e));
            eh_buf_append(&b, ",");
            label(&b, "status", classes[c]);
            eh_buf_appendf(&b, "} %llu\n", (unsigned long long)v);
        }
    }
    header(&b, "eidhub_request_duration_seconds", "histogram",
           "Time the broker took to answer a request, by endpoint.");
    for (size_t e = 0; e < EP_MAX; e++) {
        if (get(&M->request_duration[e].count) != 0)
            histogram(&b, "eidhub_request_duration_seconds", "endpoint", endpoint_name(e),
                      &M->request_duration[e]);
    }
    header(&b, "eidhub_logins_started_total", "counter",
           "Logins started, by requester and requested method (none: the citizen chooses).");
    for (size_t r = 0; r < RQ_SLOTS; r++) {
        for (size_t m = 0; m < M_SLOTS; m++) {
            uint64_t v = get(&M->started[r][m]);
            if (v == 0)
                continue;
            eh_buf_append(&b, "eidhub_logins_started_total{");
            label(&b, "requester", rq_name(r));
            eh_buf_append(&b, ",");
            label(&b, "method", method_name(m));
            eh_buf_appendf(&b, "} %llu\n", (unsigned long long)v);
        }
    }
    header(&b, "eidhub_logins_finished_total", "counter",
           "Logins finished, by requester, method and outcome.");
    for (size_t r = 0; r < RQ_SLOTS; r++) {
        for (size_t m = 0; m < M_SLOTS; m++) {
            for (size_t o = 0; o < N_OUTCOMES; o++) {
                uint64_t v = get(&M->finished[r][m][o]);
                if (v == 0)
                    continue;
                eh_buf_append(&b, "eidhub_logins_finished_total{");
                label(&b, "requester", rq_name(r));
                eh_buf_append(&b, ",");
                label(&b, "method", method_name(m));
                eh_buf_append(&b, ",");
                label(&b, "outcome", outcomes[o]);
                eh_buf_appendf(&b, "} %llu\n", (unsigned long long)v);
            }
        }
    }
    header(&b, "eidhub_upstream_duration_seconds", "histogram",
           "Duration of calls to identity providers and relying parties, by upstream.");
    for (size_t u = 1; u < EH_UPSTREAM_COUNT; u++)
        histogram(&b, "eidhub_upstream_duration_seconds", "upstream", upstreams[u],
                  &M->upstream[u]);
    header(&b, "eidhub_store_duration_seconds", "histogram",
           "Duration of store calls, by operation.");
    for (size_t o = 0; o < EH_STORE_OP_COUNT; o++)
        histogram(&b, "eidhub_store_duration_seconds", "op", store_ops[o], &M->store[o]);
    header(&b, "eidhub_store_errors_total", "counter", "Store calls that failed, by operation.");
    for (size_t o = 0; o < EH_STORE_OP_COUNT; o++) {
        eh_buf_append(&b, "eidhub_store_errors_total{");
        label(&b, "op", store_ops[o]);
        eh_buf_appendf(&b, "} %llu\n", (unsigned long long)get(&M->store_errors[o]));
    }
    header(&b, "eidhub_rate_limited_total", "counter",
           "Requests refused by a rate limit, by section.");
    for (size_t s = 0; s < N_RL; s++) {
        eh_buf_append(&b, "eidhub_rate_limited_total{");
        label(&b, "section", rl_sections[s]);
        eh_buf_appendf(&b, "} %llu\n", (unsigned long long)get(&M->rate_limited[s]));
    }
    header(&b, "eidhub_heap_trims_total", "counter",
           "Times a worker gave the free memory of its malloc heaps back to the system.");
    eh_buf_appendf(&b, "eidhub_heap_trims_total %llu\n", (unsigned long long)get(&M->heap_trims));
    return eh_buf_finish(&b, out, len);
}

/* append_peer_ages adds the age of each peer's metadata this worker holds
 * (-1: none yet) to out. */
static void append_peer_ages(eh_buf *out, const eh_saml_peers *peers, const char *role)
{
    for (size_t i = 0; peers != NULL && i < eh_saml_peers_count(peers); i++) {
        const char *name = NULL;
        int64_t age = eh_saml_peers_age_s(peers, i, &name);
        eh_buf_appendf(out, "eidhub_saml_metadata_age_seconds{peer=\"%s\",role=\"%s\"} %lld\n",
                       name ? name : "", role, (long long)age);
    }
}

eh_rc eh_metrics_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    char *text = NULL, *all = NULL;
    size_t len = 0;
    const eh_saml_peers *proxies =
        eh_eidas_connector_peers(eh_broker_backend_get(b, "eidas_connector"));
    const eh_saml_peers *connectors = eh_eidas_proxy_peers(eh_broker_eidas_proxy_get(b));
    eh_buf out;
    eh_rc rc = eh_metrics_render(&text, &len);

    (void)req;
    if (rc != EH_OK)
        return rc;
    if (proxies != NULL || connectors != NULL) {
        eh_buf_init(&out);
        eh_buf_append_len(&out, text, len);
        eh_buf_append(&out, "# HELP eidhub_saml_metadata_age_seconds Age of the eIDAS peer "
                            "metadata this worker holds (-1: none yet).\n"
                            "# TYPE eidhub_saml_metadata_age_seconds gauge\n");
        append_peer_ages(&out, proxies, "proxy_service");
        append_peer_ages(&out, connectors, "connector");
        free(text);
        text = NULL;
        if ((rc = eh_buf_finish(&out, &all, &len)) != EH_OK)
            return rc;
        text = all;
    }
    rc = eh_http_response_take_body(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                                    len);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    return rc;
}
