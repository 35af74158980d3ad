/* eidhub: the one table from (method, path) to handler.
 *
 * Read broker/dispatch.c to know where any request goes: every endpoint the
 * broker serves is one line there, with the methods it accepts and whether
 * answering it may block (store, network, slow crypto), in which case the
 * host runs it off its event loop. */
#ifndef EH_DISPATCH_H
#define EH_DISPATCH_H

#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

typedef eh_rc (*eh_handler_fn)(struct eh_broker *b, const eh_http_request *req,
                               eh_http_response *resp);

enum {
    EH_ROUTE_INLINE = 0,   /* fast, pure computation: may run on the event loop */
    EH_ROUTE_BLOCKING = 1, /* may block: run in a thread-pool task */
};

typedef struct eh_route {
    unsigned methods; /* bitwise OR of eh_http_method values */
    const char *path; /* exact path */
    eh_handler_fn handler;
    int mode; /* EH_ROUTE_INLINE or EH_ROUTE_BLOCKING */
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
