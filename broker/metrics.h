/* eidhub: metrics in Prometheus' text format.
 *
 * Every number lives in one fixed-size block of plain 64-bit slots that are
 * only ever changed with atomic adds (no locks), so the block can sit in
 * memory that several processes share (the nginx module puts it in a shared
 * memory zone before the workers fork) and every worker's numbers add up.
 * Until a host attaches such a block, a block private to the process is used
 * (tests, eidhubctl).
 *
 * Labels come from bounded sets only, so the number of series is fixed:
 * endpoint from the dispatch table, method from the backend registry,
 * requester from the configured relying parties (the first
 * EH_METRICS_REQUESTERS of them; the rest count as "other"), outcome,
 * upstream, store operation and rate-limit section from fixed lists. */
#ifndef EH_METRICS_H
#define EH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/rc.h"

#define EH_METRICS_REQUESTERS 32

typedef enum eh_metrics_upstream {
    EH_UPSTREAM_NONE = 0, /* not measured */
    EH_UPSTREAM_MOBILE_ID,
    EH_UPSTREAM_SMART_ID,
    EH_UPSTREAM_OIDC_UPSTREAM,
    EH_UPSTREAM_BACKCHANNEL_LOGOUT,
    EH_UPSTREAM_OCSP, /* certificate status of Mobile-ID and Smart-ID certificates */
    EH_UPSTREAM_COUNT
} eh_upstream;

typedef enum eh_metrics_store_op {
    EH_STORE_OP_GET = 0,
    EH_STORE_OP_SET,
    EH_STORE_OP_TAKE,
    EH_STORE_OP_DEL,
    EH_STORE_OP_INCR,
    EH_STORE_OP_PING,
    EH_STORE_OP_COUNT
} eh_metrics_store_op;

/* eh_metrics_size is the size in bytes of a metrics block. */
size_t eh_metrics_size(void);

/* eh_metrics_attach makes the size bytes at base (shared or not, aligned to
 * 8 bytes) the process's metrics block. fresh non-zero (or a block whose
 * header does not match this build and layout) clears it; otherwise the
 * numbers in it are kept (an nginx reload). EH_ERR_INVALID when size is
 * smaller than eh_metrics_size(). The caller keeps owning the memory and
 * must keep it mapped while the process counts. Call before threads start. */
eh_rc eh_metrics_attach(void *base, size_t size, int fresh);

/* eh_metrics_set_requesters names the requester label's values (borrowed:
 * they must outlive every later call; eh_broker_load passes the configured
 * client ids). Call before threads start, in every process the same way. */
void eh_metrics_set_requesters(const char *const *names, size_t n);

/* eh_metrics_forget_requesters drops the names when they are still names
 * (their owner is going away). */
void eh_metrics_forget_requesters(const char *const *names);

/* eh_metrics_now returns a monotonic clock reading in microseconds. */
uint64_t eh_metrics_now(void);

/* Counting; each is a few relaxed atomic adds. Unknown names count under
 * "other"; a route index out of range under the endpoint "other". */
void eh_metrics_request(size_t route, int status, uint64_t duration_us);
void eh_metrics_login_started(const char *requester, const char *method);
void eh_metrics_login_finished(const char *requester, const char *method, const char *error);
void eh_metrics_upstream(eh_upstream upstream, uint64_t duration_us);
void eh_metrics_store(eh_metrics_store_op op, uint64_t duration_us, eh_rc rc);
void eh_metrics_rate_limited(const char *section);
/* eh_metrics_heap_trimmed counts one trim of a worker's malloc heaps (the
 * nginx module's, every 10 s; docs/configuration.md, "Memory"). */
void eh_metrics_heap_trimmed(void);

/* eh_metrics_render writes every metric in the Prometheus text exposition
 * format 0.0.4 into a new string (*out, caller frees; *len its length). */
eh_rc eh_metrics_render(char **out, size_t *len);

/* eh_metrics_outcome maps a login's end to the outcome label: NULL error is
 * "released", "access_denied" and "server_error" themselves, the rest
 * "other". */
const char *eh_metrics_outcome(const char *error);

/* eh_metrics_handle answers GET /metrics with eh_metrics_render's text
 * (text/plain; version=0.0.4). It only reads atomics: inline. Restricting
 * who may read it is the web server's job (docs/configuration.md). */
struct eh_broker;
struct eh_http_request;
struct eh_http_response;
eh_rc eh_metrics_handle(struct eh_broker *b, const struct eh_http_request *req,
                        struct eh_http_response *resp);

#endif
