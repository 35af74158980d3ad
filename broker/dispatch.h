/* eidhub: the one table from (method, path) to handler.
 *
 * Read broker/dispatch.c to know where any request goes: every endpoint the
 * broker serves is one line there, with the methods it accepts and what
 * answering it may wait for (its mode). The host runs a request on its event
 * loop only when nothing its route may wait for can block in this broker's
 * configuration, else off the loop, as a thread-pool task
 * (eh_broker_blocking): a route that waits only for the store runs on the
 * loop with the embedded store and in the pool with Redis. */
#ifndef EH_DISPATCH_H
#define EH_DISPATCH_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

typedef eh_rc (*eh_handler_fn)(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);

/* What answering a route may wait for: EH_ROUTE_INLINE, EH_ROUTE_BLOCKING,
 * or EH_ROUTE_STORE with any of the flags after it. A route is marked with a
 * flag other than BLOCKING only after auditing its handler's whole call
 * graph: no HTTP call, no file read or written (beyond what the flag names),
 * no slow crypto (RSA-3072 or XML signing). */
enum {
    EH_ROUTE_INLINE = 0,   /* nothing: computation on memory; always on the event loop */
    EH_ROUTE_BLOCKING = 1, /* network, files, slow crypto: always a thread-pool task */
    EH_ROUTE_STORE = 2,    /* the store only: on the event loop when the store never
                            * blocks (the embedded one), else a thread-pool task */
    EH_ROUTE_POLICIES = 4, /* with STORE: the policy folder too, when policy_dir is
                            * configured (it reads policy files); else memory */
    EH_ROUTE_SIGNS = 8,    /* with STORE: one signature with the active key too: fast
                            * for an EC key (ES256, ~31 us), ms for RSA-3072 (PS256) */
};

typedef struct eh_route {
    unsigned methods; /* bitwise OR of eh_http_method values */
    const char *path; /* exact path */
    eh_handler_fn handler;
    unsigned mode; /* EH_ROUTE_INLINE, EH_ROUTE_BLOCKING or EH_ROUTE_STORE [| ...] */
} eh_route;

/* eh_dispatch_find returns the route for (method, path). When the path is
 * known but not for that method, returns NULL with *rc EH_ERR_HTTP_METHOD;
 * when the path is unknown, NULL with *rc EH_ERR_HTTP_NO_ROUTE. HEAD is
 * accepted wherever GET is. */
const eh_route *eh_dispatch_find(eh_http_method method, const char *path, eh_rc *rc);

/* eh_dispatch_routes returns the table and its length in *n (for docs and
 * tests). */
const eh_route *eh_dispatch_routes(size_t *n);

#endif
