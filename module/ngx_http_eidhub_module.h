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
} ngx_http_eidhub_loc_conf_t;

extern ngx_module_t ngx_http_eidhub_module;

/* The location content handler (ngx_http_eidhub_handler.c). */
ngx_int_t ngx_http_eidhub_handler(ngx_http_request_t *r);

/* ngx_http_eidhub_store_init makes the broker's store from the main
 * configuration: Redis for redis:// URLs, otherwise the embedded store in a
 * shared-memory zone added here (ngx_http_eidhub_store.c). Returns
 * NGX_CONF_OK or an error string. */
char *ngx_http_eidhub_store_init(ngx_conf_t *cf, ngx_http_eidhub_main_conf_t *mcf);

/* ngx_http_eidhub_metrics_init adds the shared-memory zone of the core's
 * metrics (ngx_http_eidhub_metrics.c). Returns NGX_CONF_OK or an error. */
char *ngx_http_eidhub_metrics_init(ngx_conf_t *cf);

/* ngx_http_eidhub_log_install routes the core's log lines to log. */
void ngx_http_eidhub_log_install(ngx_log_t *log);

#endif
