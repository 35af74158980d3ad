/* eidhub nginx module: directives and module definition.
 *
 *   load_module /path/ngx_http_eidhub_module.so;
 *   http {
 *       eidhub_config        /etc/eidhub/broker.json;   # the broker's JSON configuration
 *       eidhub_store         redis://127.0.0.1:6379/0;  # or shm://?size=64m (the default)
 *       eidhub_store_timeout 500ms;                     # bound on every store call
 *       eidhub_thread_pool   default;                   # where blocking handlers run
 *       server {
 *           location / { eidhub; }
 *           location /app/ {                   # an application behind eidhub
 *               eidhub_protect city-app;       # a relying party of the config
 *               proxy_pass http://127.0.0.1:8080;
 *           }
 *       }
 *   }
 *
 * The broker configuration is read in the master while nginx loads its
 * configuration, so `nginx -t` reports a broken one as one line. */
#include "ngx_http_eidhub_module.h"

#include <stdlib.h>
#include <string.h>

#include "broker/log.h"

static void *ngx_http_eidhub_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_eidhub_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_eidhub_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_eidhub_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *ngx_http_eidhub_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_eidhub_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_eidhub_init_process(ngx_cycle_t *cycle);
static void ngx_http_eidhub_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_eidhub_commands[] = {
    {ngx_string("eidhub_config"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_http_eidhub_config,
     NGX_HTTP_MAIN_CONF_OFFSET, 0, NULL},
    {ngx_string("eidhub_store"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_eidhub_main_conf_t, store_url), NULL},
    {ngx_string("eidhub_store_timeout"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
     ngx_conf_set_msec_slot, NGX_HTTP_MAIN_CONF_OFFSET,
     offsetof(ngx_http_eidhub_main_conf_t, store_timeout), NULL},
    {ngx_string("eidhub_thread_pool"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
     NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_eidhub_main_conf_t, pool_name), NULL},
    {ngx_string("eidhub"), NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS, ngx_http_eidhub_enable,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("eidhub_protect"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_http_eidhub_protect,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    ngx_null_command};

static ngx_http_module_t ngx_http_eidhub_module_ctx = {
    NULL,                             /* preconfiguration */
    ngx_http_eidhub_protect_init,     /* postconfiguration */
    ngx_http_eidhub_create_main_conf, /* create main configuration */
    ngx_http_eidhub_init_main_conf,   /* init main configuration */
    NULL,                             /* create server configuration */
    NULL,                             /* merge server configuration */
    ngx_http_eidhub_create_loc_conf,  /* create location configuration */
    ngx_http_eidhub_merge_loc_conf    /* merge location configuration */
};

ngx_module_t ngx_http_eidhub_module = {NGX_MODULE_V1,
                                       &ngx_http_eidhub_module_ctx,
                                       ngx_http_eidhub_commands,
                                       NGX_HTTP_MODULE,
                                       NULL,                         /* init master */
                                       NULL,                         /* init module */
                                       ngx_http_eidhub_init_process, /* init process */
                                       NULL,                         /* init thread */
                                       NULL,                         /* exit thread */
                                       ngx_http_eidhub_exit_process, /* exit process */
                                       NULL,                         /* exit master */
                                       NGX_MODULE_V1_PADDING};

static void *ngx_http_eidhub_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_eidhub_main_conf_t *mcf = ngx_pcalloc(cf->pool, sizeof(*mcf));
    if (mcf == NULL)
        return NULL;
    mcf->store_timeout = NGX_CONF_UNSET_MSEC;
    return mcf;
}

/* ngx_http_eidhub_broker_cleanup frees the broker with the cycle that loaded
 * it (on reload the new cycle has loaded its own). */
static void ngx_http_eidhub_broker_cleanup(void *data)
{
    eh_broker_free(data);
}

/* eidhub_config FILE: load the broker now, so that nginx -t reports a
 * broken configuration as one line naming file, JSON path and problem. */
static char *ngx_http_eidhub_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_eidhub_main_conf_t *mcf = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_pool_cleanup_t *cln;
    char err[1024];
    eh_rc rc;

    if (mcf->config_path.data != NULL)
        return "is duplicate";
    mcf->config_path = value[1];
    if (ngx_conf_full_name(cf->cycle, &mcf->config_path, 1) != NGX_OK)
        return NGX_CONF_ERROR;
    rc = eh_broker_load((const char *)mcf->config_path.data, &mcf->broker, err, sizeof(err));
    if (rc != EH_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidhub: %s", err);
        return NGX_CONF_ERROR;
    }
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        eh_broker_free(mcf->broker);
        mcf->broker = NULL;
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_eidhub_broker_cleanup;
    cln->data = mcf->broker;
    ngx_http_eidhub_heap_tune();
    return NGX_CONF_OK;
}

static char *ngx_http_eidhub_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_eidhub_main_conf_t *mcf = conf;

    ngx_conf_init_msec_value(mcf->store_timeout, 500);
    if (mcf->pool_name.data == NULL) {
        ngx_str_set(&mcf->pool_name, "default");
    }
    if (mcf->broker == NULL)
        return NGX_CONF_OK;
    /* Adds the pool with nginx's defaults (32 threads) unless a thread_pool
     * directive of that name sizes it. */
    mcf->pool = ngx_thread_pool_add(cf, &mcf->pool_name);
    if (mcf->pool == NULL)
        return NGX_CONF_ERROR;
    if (ngx_http_eidhub_metrics_init(cf) != NGX_CONF_OK)
        return NGX_CONF_ERROR;
    return ngx_http_eidhub_store_init(cf, mcf);
}

static void *ngx_http_eidhub_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_eidhub_loc_conf_t *lcf = ngx_pcalloc(cf->pool, sizeof(*lcf));
    if (lcf == NULL)
        return NULL;
    lcf->enable = NGX_CONF_UNSET;
    lcf->protect = NGX_CONF_UNSET_PTR;
    return lcf;
}

/* ngx_http_eidhub_merge_loc_conf also sizes request bodies for a location
 * that serves the broker: the core merged its values first, so here a body
 * buffer of at least NGX_HTTP_EIDHUB_BODY_MAX keeps every acceptable body in
 * memory (never a temporary file) and a body limit of at most that makes
 * nginx refuse larger ones, chunked or not, with 413 before reading them. */
static char *ngx_http_eidhub_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_eidhub_loc_conf_t *prev = parent, *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_ptr_value(conf->protect, prev->protect, NULL);
    if (conf->enable && conf->protect != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "eidhub_protect cannot protect a location that serves eidhub itself "
                           "(eidhub;)");
        return NGX_CONF_ERROR;
    }
    if (conf->clcf != NULL) {
        if (conf->clcf->client_body_buffer_size < NGX_HTTP_EIDHUB_BODY_MAX)
            conf->clcf->client_body_buffer_size = NGX_HTTP_EIDHUB_BODY_MAX;
        if (conf->clcf->client_max_body_size == 0 ||
            conf->clcf->client_max_body_size > NGX_HTTP_EIDHUB_BODY_MAX)
            conf->clcf->client_max_body_size = NGX_HTTP_EIDHUB_BODY_MAX;
    }
    return NGX_CONF_OK;
}

/* eidhub; in a location: the broker answers every request of it. */
static char *ngx_http_eidhub_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_eidhub_loc_conf_t *lcf = conf;
    ngx_http_core_loc_conf_t *clcf;
    ngx_http_eidhub_main_conf_t *mcf =
        ngx_http_conf_get_module_main_conf(cf, ngx_http_eidhub_module);

    if (lcf->enable != NGX_CONF_UNSET)
        return "is duplicate";
    if (mcf->broker == NULL)
        return "needs eidhub_config before it in the http block";
    lcf->enable = 1;
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_eidhub_handler;
    lcf->clcf = clcf;
    return NGX_CONF_OK;
}

static ngx_int_t ngx_http_eidhub_init_process(ngx_cycle_t *cycle)
{
    ngx_http_eidhub_main_conf_t *mcf =
        ngx_http_cycle_get_module_main_conf(cycle, ngx_http_eidhub_module);

    ngx_http_eidhub_log_install(cycle->log);
    if (mcf != NULL && mcf->broker != NULL && mcf->pool != NULL &&
        (ngx_process == NGX_PROCESS_WORKER || ngx_process == NGX_PROCESS_SINGLE))
        return ngx_http_eidhub_heap_init_process(cycle, mcf->pool);
    return NGX_OK;
}

/* ngx_http_eidhub_exit_process runs as a worker exits, after the thread
 * pool's (a core module's) exit hook has told its threads to end: nginx does
 * not wait for them, so the core waits until they have released what they
 * kept (curl handles, Redis connections) before nginx frees the broker with
 * the cycle, unloads the module and calls exit(). */
static void ngx_http_eidhub_exit_process(ngx_cycle_t *cycle)
{
    if (!eh_broker_process_exit(2000))
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "eidhub: threads still releasing their connections at exit");
    ngx_http_eidhub_heap_exit_process();
}
