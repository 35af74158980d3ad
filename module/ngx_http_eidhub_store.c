/* eidhub nginx module: the broker's store.
 *
 * `eidhub_store redis://...` makes a Redis store (connections are made per
 * thread, lazily, in the workers). Anything else (no directive, or
 * `eidhub_store shm://?size=64m`) puts the embedded store in an nginx shared
 * memory zone, which every worker shares and which nginx keeps across
 * reloads when its size does not change. nginx 1.22 formats every zone as
 * a slab pool; the store's region is one allocation from it, which the core
 * formats and manages itself. The pool's data pointer remembers the region
 * so that a reload finds it again. */
#include "ngx_http_eidhub_module.h"

static ngx_str_t ngx_http_eidhub_zone_name = ngx_string("eidhub_store");

/* ngx_http_eidhub_zone_init attaches the core's store to the zone; data is
 * the previous cycle's zone data when nginx reuses the zone (reload), in
 * which case the store's contents are kept. */
static ngx_int_t ngx_http_eidhub_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_http_eidhub_main_conf_t *mcf = zone->data;
    ngx_slab_pool_t *shpool = (ngx_slab_pool_t *)zone->shm.addr;
    size_t size = mcf->shm_size;
    eh_store *store = NULL;
    int fresh = data == NULL || shpool->data == NULL;
    eh_rc rc;

    if (fresh) {
        shpool->data = ngx_slab_alloc(shpool, size);
        if (shpool->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, zone->shm.log, 0,
                          "eidhub: cannot allocate %uz bytes for the store", size);
            return NGX_ERROR;
        }
    }
    rc = eh_store_shm_attach(shpool->data, size, fresh, &store);
    if (rc != EH_OK && !fresh)
        rc = eh_store_shm_attach(shpool->data, size, 1, &store);
    if (rc != EH_OK) {
        ngx_log_error(NGX_LOG_EMERG, zone->shm.log, 0, "eidhub: cannot use the store zone: %s",
                      eh_strerror(rc));
        return NGX_ERROR;
    }
    eh_broker_set_store(mcf->broker, store);
    return NGX_OK;
}

char *ngx_http_eidhub_store_init(ngx_conf_t *cf, ngx_http_eidhub_main_conf_t *mcf)
{
    char err[512], *url;
    size_t size = 0;
    eh_store *store = NULL;
    ngx_shm_zone_t *zone;
    eh_rc rc;

    url = mcf->store_url.data ? (char *)mcf->store_url.data : "shm://";
    if (ngx_strncmp(url, "redis://", 8) == 0) {
        rc = eh_store_redis_new(url, (unsigned)mcf->store_timeout, &store, err, sizeof(err));
        if (rc != EH_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidhub_store: %s", err);
            return NGX_CONF_ERROR;
        }
        eh_broker_set_store(mcf->broker, store);
        return NGX_CONF_OK;
    }
    rc = eh_store_url_parse_shm_size(url, &size, err, sizeof(err));
    if (rc != EH_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "eidhub_store: %s", err);
        return NGX_CONF_ERROR;
    }
    /* Room for the slab pool's own bookkeeping next to the store's region. */
    mcf->shm_size = size;
    zone = ngx_shared_memory_add(cf, &ngx_http_eidhub_zone_name, size + size / 16 + 256 * 1024,
                                 &ngx_http_eidhub_module);
    if (zone == NULL)
        return NGX_CONF_ERROR;
    zone->init = ngx_http_eidhub_zone_init;
    zone->data = mcf;
    mcf->shm_zone = zone;
    return NGX_CONF_OK;
}
