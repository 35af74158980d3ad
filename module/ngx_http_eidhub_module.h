/* eidhub nginx module: what its files share.
 *
 * The module is thin glue: directives, translation between
 * ngx_http_request_t and the core's neutral HTTP types, the thread-pool
 * runner for blocking handlers, the shared-memory zone of the embedded store
 * and the log sink. All broker logic lives in libeidhub. */
#ifndef NGX_HTTP_EIDHUB_MODULE_H
#define NGX_HTTP_EIDHUB_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "broker/broker.h"
#include "broker/frontends/protect.h"

#define NGX_HTTP_EIDHUB_BODY_MAX (64 * 1024)

typedef struct {
    ngx_str_t config_path;   /* eidhub_config */
    eh_broker *broker;       /* loaded from config_path in the master */
    ngx_str_t store_url;     /* eidhub_store: redis://... or shm://... */
    ngx_msec_t store_timeout; /* eidhub_store_timeout */
    ngx_str_t pool_name;     /* eidhub_thread_pool */
    ngx_thread_pool_t *pool;
    ngx_shm_zone_t *shm_zone; /* the embedded store's zone, when used */
    size_t shm_size;          /* bytes of the store's region in that zone */
} ngx_http_eidhub_main_conf_t;

typedef struct {
    ngx_flag_t enable;                /* eidhub; in a location */
    ngx_http_core_loc_conf_t *clcf;   /* that location's core configuration */
    const struct eh_config_rp *protect; /* eidhub_protect: the relying party (borrowed from
                                         * the broker); NULL: not protected */
} ngx_http_eidhub_loc_conf_t;

extern ngx_module_t ngx_http_eidhub_module;

/* The location content handler (ngx_http_eidhub_handler.c). */
ngx_int_t ngx_http_eidhub_handler(ngx_http_request_t *r);

/* Shared by the content handler and the protect phase handlers
 * (ngx_http_eidhub_handler.c): ngx_http_eidhub_cstr copies s into a
 * NUL-terminated string from pool; ngx_http_eidhub_build_request fills req
 * from r (headers, and the body when it was read), allocating from
 * r->pool; ngx_http_eidhub_send writes the core's answer (rc EH_OK) or an
 * error status (any other rc) and returns what ngx_http_finalize_request
 * takes. */
char *ngx_http_eidhub_cstr(ngx_pool_t *pool, ngx_str_t *s);
ngx_int_t ngx_http_eidhub_build_request(ngx_http_request_t *r, eh_http_request *req);
ngx_int_t ngx_http_eidhub_send(ngx_http_request_t *r, eh_rc rc, eh_http_response *resp);

/* ngx_http_eidhub_task_post posts task (whose ctx is the caller's) to pool:
 * run works in a pool thread, done resumes r on the event loop and must
 * undo r->main->blocked and r->aio (set here) and delete the keepalive
 * timer, which keeps an exiting worker alive while the task runs. NGX_ERROR
 * when the pool refuses the task (nothing changed then). */
ngx_int_t ngx_http_eidhub_task_post(ngx_http_request_t *r, ngx_thread_pool_t *pool,
                                    ngx_thread_task_t *task,
                                    void (*run)(void *data, ngx_log_t *log),
                                    ngx_event_handler_pt done, ngx_event_t *keepalive);

/* ngx_http_eidhub_protect_init installs the phase handlers of
 * eidhub_protect (ngx_http_eidhub_protect.c): postconfiguration. */
ngx_int_t ngx_http_eidhub_protect_init(ngx_conf_t *cf);

/* eidhub_protect CLIENT_ID | off (ngx_http_eidhub_protect.c). */
char *ngx_http_eidhub_protect(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* ngx_http_eidhub_store_init makes the broker's store from the main
 * configuration: Redis for redis:// URLs, otherwise the embedded store in a
 * shared-memory zone added here (ngx_http_eidhub_store.c). Returns
 * NGX_CONF_OK or an error string. */
char *ngx_http_eidhub_store_init(ngx_conf_t *cf, ngx_http_eidhub_main_conf_t *mcf);

/* ngx_http_eidhub_metrics_init adds the shared-memory zone of the core's
 * metrics (ngx_http_eidhub_metrics.c). Returns NGX_CONF_OK or an error. */
char *ngx_http_eidhub_metrics_init(ngx_conf_t *cf);

/* The worker's malloc heaps (ngx_http_eidhub_heap.c; glibc only, no-ops
 * elsewhere). ngx_http_eidhub_heap_tune, in the master before the workers
 * are forked: at most one arena per CPU (at least 2) and fixed thresholds
 * for mmap and for giving a heap's top back, unless the operator set them
 * in nginx's environment. ngx_http_eidhub_heap_note_thread, first thing in
 * every task on a pool thread: remembers the thread's arena (once per
 * thread). ngx_http_eidhub_heap_init_process, in a worker: every 10 s, a
 * task on pool gives the arenas' free tops and the heaps' free pages back
 * to the system. NGX_ERROR when the task cannot be allocated.
 * ngx_http_eidhub_heap_exit_process, as a worker exits: frees the blocks
 * kept for the arenas (a trim after it finds none). */
void ngx_http_eidhub_heap_tune(void);
void ngx_http_eidhub_heap_note_thread(void);
ngx_int_t ngx_http_eidhub_heap_init_process(ngx_cycle_t *cycle, ngx_thread_pool_t *pool);
void ngx_http_eidhub_heap_exit_process(void);

/* ngx_http_eidhub_log_install routes the core's log lines to log. */
void ngx_http_eidhub_log_install(ngx_log_t *log);

#endif
