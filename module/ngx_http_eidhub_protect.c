/* eidhub nginx module: eidhub_protect, an application behind eidhub.
 *
 *   location /app/ {
 *       eidhub_protect city-app;        # a relying party of eidhub_config
 *       proxy_pass http://127.0.0.1:8080;
 *   }
 *
 * Two phase handlers for such locations (docs/protect.md):
 *
 * - PREACCESS, for every request and subrequest, and again first thing in
 *   ACCESS (the access phase can be cut short by `satisfy any`, and a
 *   preaccess handler of another module may end its phase early): the
 *   client's identity headers are removed. Upstream modules (proxy, fastcgi,
 *   uwsgi, scgi, grpc) send what r->headers_in.headers lists, so the list is
 *   rebuilt without them; the pointers nginx keeps to particular headers
 *   (Host, Cookie, ...) still point at their unchanged elements, which are
 *   never identity headers.
 * - ACCESS: the core decides (broker/frontends/protect.h) in a thread-pool
 *   task (the store may block); the handler answers NGX_AGAIN meanwhile and
 *   the task's completion resumes the phases (r->write_event_handler, which
 *   is ngx_http_core_run_phases here, or the finalizer nginx put there if the
 *   request was terminated meanwhile), as nginx's own thread tasks do. Then
 *   either the identity headers the core gave are added and the request
 *   goes on to the content handler, or the core's answer (a redirect into
 *   the login, 401, 400) is sent. r->main->blocked keeps the request alive
 *   while the task runs. */
#include "ngx_http_eidhub_module.h"

#define NGX_HTTP_EIDHUB_PROTECT_IDLE 0
#define NGX_HTTP_EIDHUB_PROTECT_RUNNING 1
#define NGX_HTTP_EIDHUB_PROTECT_DONE 2
#define NGX_HTTP_EIDHUB_PROTECT_APPLIED 3

typedef struct {
    ngx_uint_t state;
    ngx_event_t keepalive; /* keeps an exiting worker while the task runs */
    ngx_http_request_t *r;
    eh_broker *broker;
    const struct eh_config_rp *rp;
    eh_http_request req;
    const char *return_to;
    eh_http_response out;
    eh_protect_verdict verdict;
    eh_rc rc;
    ngx_int_t final; /* what the access handler answered once applied */
} ngx_http_eidhub_protect_ctx_t;

/* ngx_http_eidhub_strip rebuilds r's header list without the identity
 * headers of rp. */
static ngx_int_t ngx_http_eidhub_strip(ngx_http_request_t *r, const struct eh_config_rp *rp)
{
    ngx_list_t old = r->headers_in.headers;
    ngx_list_part_t *part;
    ngx_table_elt_t *h, *copy;
    ngx_uint_t i, n = 0, drop = 0;

    for (part = &old.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            n++;
            drop += eh_protect_header_is_identity(rp, (const char *)h[i].key.data, h[i].key.len);
        }
    }
    if (drop == 0)
        return NGX_OK;
    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "eidhub: removed %ui client-sent identity header(s)", drop);
    if (ngx_list_init(&r->headers_in.headers, r->pool, n - drop + 1, sizeof(ngx_table_elt_t)) !=
        NGX_OK)
        return NGX_ERROR;
    for (part = &old.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (eh_protect_header_is_identity(rp, (const char *)h[i].key.data, h[i].key.len))
                continue;
            copy = ngx_list_push(&r->headers_in.headers);
            if (copy == NULL)
                return NGX_ERROR;
            *copy = h[i];
        }
    }
    return NGX_OK;
}

/* ngx_http_eidhub_add_header appends name: value to r's request headers. */
static ngx_int_t ngx_http_eidhub_add_header(ngx_http_request_t *r, const char *name,
                                            const char *value)
{
    size_t nlen = ngx_strlen(name), vlen = ngx_strlen(value);
    ngx_table_elt_t *h = ngx_list_push(&r->headers_in.headers);

    if (h == NULL)
        return NGX_ERROR;
    ngx_memzero(h, sizeof(*h));
    h->key.data = ngx_pnalloc(r->pool, nlen);
    h->lowcase_key = ngx_pnalloc(r->pool, nlen);
    h->value.data = ngx_pnalloc(r->pool, vlen + 1);
    if (h->key.data == NULL || h->lowcase_key == NULL || h->value.data == NULL)
        return NGX_ERROR;
    ngx_memcpy(h->key.data, name, nlen);
    h->key.len = nlen;
    ngx_memcpy(h->value.data, value, vlen + 1);
    h->value.len = vlen;
    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, nlen);
    return NGX_OK;
}

static ngx_http_eidhub_loc_conf_t *ngx_http_eidhub_protected(ngx_http_request_t *r)
{
    ngx_http_eidhub_loc_conf_t *lcf = ngx_http_get_module_loc_conf(r, ngx_http_eidhub_module);
    return lcf->protect != NULL ? lcf : NULL;
}

/* PREACCESS: strip, nothing else. */
static ngx_int_t ngx_http_eidhub_preaccess(ngx_http_request_t *r)
{
    ngx_http_eidhub_loc_conf_t *lcf = ngx_http_eidhub_protected(r);

    if (lcf == NULL)
        return NGX_DECLINED;
    if (ngx_http_eidhub_strip(r, lcf->protect) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return NGX_DECLINED;
}

/* ngx_http_eidhub_protect_cleanup releases the core's answer with the
 * request, also when the request ended (the client went away) before the
 * answer was applied. Freeing twice is harmless: the free re-initialises. */
static void ngx_http_eidhub_protect_cleanup(void *data)
{
    ngx_http_eidhub_protect_ctx_t *ctx = data;
    eh_http_response_free(&ctx->out);
}

/* Thread-pool side: the core decides; nothing of nginx is touched here. */
static void ngx_http_eidhub_protect_run(void *data, ngx_log_t *log)
{
    ngx_http_eidhub_protect_ctx_t *ctx = data;
    (void)log;
    ngx_http_eidhub_heap_note_thread();
    ctx->rc =
        eh_protect_check(ctx->broker, ctx->rp, &ctx->req, ctx->return_to, &ctx->verdict, &ctx->out);
}

/* Event-loop side, when the task is done: resume the phases. */
static void ngx_http_eidhub_protect_done(ngx_event_t *ev)
{
    ngx_thread_task_t *task = ev->data;
    ngx_http_eidhub_protect_ctx_t *ctx = task->ctx;
    ngx_http_request_t *r = ctx->r;
    ngx_connection_t *c = r->connection;

    if (ctx->keepalive.timer_set)
        ngx_del_timer(&ctx->keepalive);
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    r->aio = 0;
    ctx->state = NGX_HTTP_EIDHUB_PROTECT_DONE;
    r->write_event_handler(r);
    ngx_http_run_posted_requests(c);
}

/* ngx_http_eidhub_protect_start posts the decision about r as a task. */
static ngx_int_t ngx_http_eidhub_protect_start(ngx_http_request_t *r,
                                               ngx_http_eidhub_loc_conf_t *lcf)
{
    ngx_http_eidhub_main_conf_t *mcf = ngx_http_get_module_main_conf(r, ngx_http_eidhub_module);
    ngx_http_eidhub_protect_ctx_t *ctx;
    ngx_pool_cleanup_t *cln;
    ngx_thread_task_t *task;

    task = ngx_thread_task_alloc(r->pool, sizeof(*ctx));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (task == NULL || cln == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ctx = task->ctx;
    ctx->r = r;
    ctx->broker = mcf->broker;
    ctx->rp = lcf->protect;
    eh_http_response_init(&ctx->out);
    cln->handler = ngx_http_eidhub_protect_cleanup;
    cln->data = ctx;
    if (ngx_http_eidhub_build_request(r, &ctx->req) != NGX_OK)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ctx->return_to = ngx_http_eidhub_cstr(r->pool, &r->unparsed_uri);
    if (ctx->return_to == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (ngx_http_eidhub_task_post(r, mcf->pool, task, ngx_http_eidhub_protect_run,
                                  ngx_http_eidhub_protect_done, &ctx->keepalive) != NGX_OK)
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    /* the task's completion runs on this event loop, after this returns */
    ngx_http_set_ctx(r, ctx, ngx_http_eidhub_module);
    ctx->state = NGX_HTTP_EIDHUB_PROTECT_RUNNING;
    return NGX_AGAIN;
}

/* ngx_http_eidhub_protect_apply applies the core's decision once. */
static ngx_int_t ngx_http_eidhub_protect_apply(ngx_http_request_t *r,
                                               ngx_http_eidhub_protect_ctx_t *ctx)
{
    ngx_int_t rc = NGX_OK;

    ctx->state = NGX_HTTP_EIDHUB_PROTECT_APPLIED;
    if (ctx->rc != EH_OK) {
        rc = ngx_http_eidhub_send(r, ctx->rc, &ctx->out); /* an error status */
    } else if (ctx->verdict == EH_PROTECT_CONTINUE) {
        /* nothing but the core's headers may speak for the citizen */
        if (ngx_http_eidhub_strip(r, ctx->rp) != NGX_OK)
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        for (size_t i = 0; rc == NGX_OK && i < ctx->out.n_headers; i++) {
            if (ngx_http_eidhub_add_header(r, ctx->out.header_names[i],
                                           ctx->out.header_values[i]) != NGX_OK)
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    } else {
        /* answered here: ctx lives in r's pool, which finalizing may free,
         * so everything of ctx is done before */
        if (ngx_http_discard_request_body(r) != NGX_OK)
            r->keepalive = 0;
        rc = ngx_http_eidhub_send(r, EH_OK, &ctx->out);
        eh_http_response_free(&ctx->out);
        ctx->final = NGX_DONE;
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }
    eh_http_response_free(&ctx->out);
    ctx->final = rc;
    return rc;
}

/* ACCESS: strip, then decide (in the thread pool), then apply. */
static ngx_int_t ngx_http_eidhub_access(ngx_http_request_t *r)
{
    ngx_http_eidhub_loc_conf_t *lcf = ngx_http_eidhub_protected(r);
    ngx_http_eidhub_protect_ctx_t *ctx;

    if (lcf == NULL)
        return NGX_DECLINED;
    ctx = ngx_http_get_module_ctx(r, ngx_http_eidhub_module);
    if (ctx == NULL) {
        if (ngx_http_eidhub_strip(r, lcf->protect) != NGX_OK)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return ngx_http_eidhub_protect_start(r, lcf);
    }
    switch (ctx->state) {
    case NGX_HTTP_EIDHUB_PROTECT_RUNNING:
        return NGX_AGAIN;
    case NGX_HTTP_EIDHUB_PROTECT_DONE:
        return ngx_http_eidhub_protect_apply(r, ctx);
    default:
        return ctx->final;
    }
}

ngx_int_t ngx_http_eidhub_protect_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL)
        return NGX_ERROR;
    *h = ngx_http_eidhub_preaccess;
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL)
        return NGX_ERROR;
    *h = ngx_http_eidhub_access;
    return NGX_OK;
}

/* eidhub_protect CLIENT_ID: protect this location for that relying party
 * (checked now, so nginx -t names an unknown one); `off` in a nested
 * location lifts a protection it inherits. */
char *ngx_http_eidhub_protect(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_eidhub_loc_conf_t *lcf = conf;
    ngx_http_eidhub_main_conf_t *mcf =
        ngx_http_conf_get_module_main_conf(cf, ngx_http_eidhub_module);
    ngx_str_t *value = cf->args->elts;
    const struct eh_config_rp *rp;
    char err[1024], *id;

    (void)cmd;
    if (lcf->protect != NGX_CONF_UNSET_PTR)
        return "is duplicate";
    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        lcf->protect = NULL;
        return NGX_CONF_OK;
    }
    if (mcf->broker == NULL)
        return "needs eidhub_config before it in the http block";
    id = ngx_http_eidhub_cstr(cf->pool, &value[1]);
    if (id == NULL)
        return NGX_CONF_ERROR;
    rp = eh_protect_rp(mcf->broker, id, err, sizeof(err));
    if (rp == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidhub_protect: %s", err);
        return NGX_CONF_ERROR;
    }
    lcf->protect = rp;
    return NGX_CONF_OK;
}
