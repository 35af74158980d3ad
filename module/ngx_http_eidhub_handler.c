/* eidhub nginx module: the content handler.
 *
 * For every request of an `eidhub;` location: read the body (in memory, at
 * most NGX_HTTP_EIDHUB_BODY_MAX bytes), translate the request into the
 * core's eh_http_request, let the core answer into an eh_http_response, and
 * write that back. Handlers the core says may block (eh_broker_blocking:
 * network, files, slow crypto, a Redis store) run as a task in the thread
 * pool, and the request resumes on the event loop when the task is done; the
 * others run inline, among them those that use only the embedded store. The
 * event loop never waits for I/O. */
#include "ngx_http_eidhub_module.h"

typedef struct {
    ngx_event_t keepalive; /* a timer that keeps an exiting worker alive while the task runs */
    ngx_http_request_t *r;
    eh_broker *broker;
    eh_http_request req;
    eh_http_response resp;
    eh_rc rc;
} ngx_http_eidhub_task_ctx_t;

/* ngx_http_eidhub_cstr copies an ngx_str_t into a NUL-terminated string
 * from the request pool. */
char *ngx_http_eidhub_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    char *p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL)
        return NULL;
    if (s->len > 0)
        ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';
    return p;
}

/* ngx_http_eidhub_collect_headers copies the request headers into req. */
static ngx_int_t ngx_http_eidhub_collect_headers(ngx_http_request_t *r, eh_http_request *req)
{
    ngx_list_part_t *part;
    ngx_table_elt_t *h;
    eh_http_header *out;
    ngx_uint_t i, n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next)
        n += part->nelts;
    out = ngx_pcalloc(r->pool, (n + 1) * sizeof(*out));
    if (out == NULL)
        return NGX_ERROR;
    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            out[n].name = ngx_http_eidhub_cstr(r->pool, &h[i].key);
            out[n].value = ngx_http_eidhub_cstr(r->pool, &h[i].value);
            if (out[n].name == NULL || out[n].value == NULL)
                return NGX_ERROR;
            n++;
        }
    }
    req->headers = out;
    req->n_headers = n;
    return NGX_OK;
}

/* ngx_http_eidhub_collect_body joins the in-memory body buffers into one.
 * A body nginx had to buffer to a file is over our limit: 413. */
static ngx_int_t ngx_http_eidhub_collect_body(ngx_http_request_t *r, eh_http_request *req)
{
    ngx_chain_t *cl;
    size_t len = 0;
    u_char *p;

    if (r->request_body == NULL || r->request_body->bufs == NULL)
        return NGX_OK;
    if (r->request_body->temp_file)
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file)
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        len += cl->buf->last - cl->buf->pos;
    }
    if (len > NGX_HTTP_EIDHUB_BODY_MAX)
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL)
        return NGX_ERROR;
    req->body = p;
    req->body_len = len;
    /* an empty buffer (a body of 0 bytes, the last one of a chunked body)
     * may have no memory at all: pos NULL, which memcpy must never get */
    for (cl = r->request_body->bufs; cl; cl = cl->next)
        if (cl->buf->last > cl->buf->pos)
            p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    *p = '\0';
    return NGX_OK;
}

/* ngx_http_eidhub_request_id returns nginx's $request_id (the access log
 * can show it too) as a C string, or NULL: the core then makes one. */
static const char *ngx_http_eidhub_request_id(ngx_http_request_t *r)
{
    static ngx_str_t name = ngx_string("request_id");
    ngx_http_variable_value_t *vv;
    ngx_str_t s;

    vv = ngx_http_get_variable(r, &name, ngx_hash_key(name.data, name.len));
    if (vv == NULL || vv->not_found || vv->len == 0)
        return NULL;
    s.data = vv->data;
    s.len = vv->len;
    return ngx_http_eidhub_cstr(r->pool, &s);
}

/* ngx_http_eidhub_build_request fills req from r, allocating from r->pool. */
ngx_int_t ngx_http_eidhub_build_request(ngx_http_request_t *r, eh_http_request *req)
{
    ngx_int_t rc;

    ngx_memzero(req, sizeof(*req));
    req->method = eh_http_method_parse((const char *)r->method_name.data, r->method_name.len);
    req->path = ngx_http_eidhub_cstr(r->pool, &r->uri);
    req->query = ngx_http_eidhub_cstr(r->pool, &r->args);
    req->client_addr = ngx_http_eidhub_cstr(r->pool, &r->connection->addr_text);
    if (req->path == NULL || req->query == NULL || req->client_addr == NULL)
        return NGX_ERROR;
    req->request_id = ngx_http_eidhub_request_id(r);
#if (NGX_HTTP_SSL)
    req->https = r->connection->ssl != NULL;
#endif
    rc = ngx_http_eidhub_collect_headers(r, req);
    if (rc != NGX_OK)
        return rc;
    return ngx_http_eidhub_collect_body(r, req);
}

/* ngx_http_eidhub_status_of maps a core error to the status nginx answers
 * with its own error page. This is the only place that does so. */
static ngx_int_t ngx_http_eidhub_status_of(eh_rc rc)
{
    switch (rc) {
    case EH_ERR_HTTP_NO_ROUTE:
        return NGX_HTTP_NOT_FOUND;
    case EH_ERR_HTTP_METHOD:
        return NGX_HTTP_NOT_ALLOWED;
    case EH_ERR_TOO_LARGE:
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    case EH_ERR_INVALID:
        return NGX_HTTP_BAD_REQUEST;
    case EH_ERR_STORE_UNAVAILABLE:
    case EH_ERR_STORE_TIMEOUT:
    case EH_ERR_STORE_FULL:
    case EH_ERR_STORE_PROTOCOL:
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* ngx_http_eidhub_send writes the core's answer to the client and returns
 * what ngx_http_finalize_request should be called with. */
ngx_int_t ngx_http_eidhub_send(ngx_http_request_t *r, eh_rc rc, eh_http_response *resp)
{
    ngx_table_elt_t *h;
    ngx_buf_t *b;
    ngx_chain_t out;
    ngx_int_t nrc;

    if (rc != EH_OK)
        return ngx_http_eidhub_status_of(rc);
    r->headers_out.status = resp->status;
    r->headers_out.content_length_n = resp->body_len;
    for (size_t i = 0; i < resp->n_headers; i++) {
        size_t nlen = ngx_strlen(resp->header_names[i]);
        size_t vlen = ngx_strlen(resp->header_values[i]);
        u_char *v = ngx_pnalloc(r->pool, vlen);
        if (v == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_memcpy(v, resp->header_values[i], vlen);
        if (nlen == sizeof("Content-Type") - 1 &&
            ngx_strncasecmp((u_char *)resp->header_names[i], (u_char *)"Content-Type", nlen) ==
                0) {
            r->headers_out.content_type.data = v;
            r->headers_out.content_type.len = vlen;
            r->headers_out.content_type_len = vlen;
            continue;
        }
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        h->hash = 1;
        h->key.len = nlen;
        h->key.data = ngx_pnalloc(r->pool, nlen);
        if (h->key.data == NULL)
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_memcpy(h->key.data, resp->header_names[i], nlen);
        h->value.data = v;
        h->value.len = vlen;
    }
    if (resp->body_len == 0 || r->method == NGX_HTTP_HEAD)
        r->header_only = 1;
    nrc = ngx_http_send_header(r);
    if (nrc == NGX_ERROR || nrc > NGX_OK || r->header_only)
        return nrc;
    b = ngx_create_temp_buf(r->pool, resp->body_len);
    if (b == NULL)
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    b->last = ngx_cpymem(b->last, resp->body, resp->body_len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    out.buf = b;
    out.next = NULL;
    return ngx_http_output_filter(r, &out);
}

/* Thread-pool side: the core answers; nothing of nginx is touched here. */
static void ngx_http_eidhub_task_run(void *data, ngx_log_t *log)
{
    ngx_http_eidhub_task_ctx_t *ctx = data;
    (void)log;
    ngx_http_eidhub_heap_note_thread();
    ctx->rc = eh_broker_handle(ctx->broker, &ctx->req, &ctx->resp);
}

/* While a task runs, a non-cancelable timer keeps the worker: a worker
 * told to exit (reload) waits for such timers, so the request is answered
 * instead of dropped. The timer only re-arms itself until the task ends. */
/* task_keepalive re-arms the timer that keeps an exiting worker alive
 * while a task runs (nginx waits for timers, not for thread tasks). */
static void ngx_http_eidhub_task_keepalive(ngx_event_t *ev)
{
    ngx_add_timer(ev, 1000);
}

ngx_int_t ngx_http_eidhub_task_post(ngx_http_request_t *r, ngx_thread_pool_t *pool,
                                    ngx_thread_task_t *task,
                                    void (*run)(void *data, ngx_log_t *log),
                                    ngx_event_handler_pt done, ngx_event_t *keepalive)
{
    task->handler = run;
    task->event.handler = done;
    task->event.data = task;
    if (ngx_thread_task_post(pool, task) != NGX_OK)
        return NGX_ERROR;
    r->main->blocked++;
    r->aio = 1;
    keepalive->handler = ngx_http_eidhub_task_keepalive;
    keepalive->data = task->ctx;
    keepalive->log = r->connection->log;
    ngx_add_timer(keepalive, 1000);
    return NGX_OK;
}

/* Event-loop side, when the task is done: resume and finish the request. */
static void ngx_http_eidhub_task_done(ngx_event_t *ev)
{
    ngx_thread_task_t *task = ev->data;
    ngx_http_eidhub_task_ctx_t *ctx = task->ctx;
    ngx_http_request_t *r = ctx->r;
    ngx_connection_t *c = r->connection;
    ngx_int_t rc;

    if (ctx->keepalive.timer_set)
        ngx_del_timer(&ctx->keepalive);
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    r->aio = 0;
    rc = ngx_http_eidhub_send(r, ctx->rc, &ctx->resp);
    eh_http_response_free(&ctx->resp);
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}

/* ngx_http_eidhub_body_read runs once the body is in: answer inline or post
 * a task. It owns the reference ngx_http_read_client_request_body took. */
static void ngx_http_eidhub_body_read(ngx_http_request_t *r)
{
    ngx_http_eidhub_main_conf_t *mcf = ngx_http_get_module_main_conf(r, ngx_http_eidhub_module);
    ngx_http_eidhub_task_ctx_t *ctx;
    ngx_thread_task_t *task;
    eh_http_request req;
    eh_http_response resp;
    ngx_int_t rc;
    eh_rc erc;

    rc = ngx_http_eidhub_build_request(r, &req);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc);
        return;
    }
    /* inline: routes that wait for nothing, and those that wait only for a
     * store that never blocks (the embedded one; eh_broker_blocking) */
    if (!eh_broker_blocking(mcf->broker, &req)) {
        eh_http_response_init(&resp);
        erc = eh_broker_handle(mcf->broker, &req, &resp);
        rc = ngx_http_eidhub_send(r, erc, &resp);
        eh_http_response_free(&resp);
        ngx_http_finalize_request(r, rc);
        return;
    }
    task = ngx_thread_task_alloc(r->pool, sizeof(*ctx));
    if (task == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    ctx = task->ctx;
    ctx->r = r;
    ctx->broker = mcf->broker;
    ctx->req = req;
    eh_http_response_init(&ctx->resp);
    if (ngx_http_eidhub_task_post(r, mcf->pool, task, ngx_http_eidhub_task_run,
                                  ngx_http_eidhub_task_done, &ctx->keepalive) != NGX_OK)
        ngx_http_finalize_request(r, NGX_HTTP_SERVICE_UNAVAILABLE);
}

ngx_int_t ngx_http_eidhub_handler(ngx_http_request_t *r)
{
    ngx_int_t rc;

    if (r->headers_in.content_length_n > NGX_HTTP_EIDHUB_BODY_MAX)
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    r->request_body_in_single_buf = 1;
    rc = ngx_http_read_client_request_body(r, ngx_http_eidhub_body_read);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE)
        return rc;
    return NGX_DONE;
}
