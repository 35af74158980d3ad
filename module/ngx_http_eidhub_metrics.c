/* eidhub nginx module: the metrics' shared memory.
 *
 * A small zone of its own, "eidhub_metrics", holds the core's metrics block
 * (broker/metrics.h), so that every worker counts into the same slots with
 * atomic adds and /metrics shows the sum. The zone is attached in the master
 * while nginx loads its configuration, before the workers fork; a reload
 * with the same layout keeps the numbers. */
#include "ngx_http_eidhub_module.h"

#include "broker/metrics.h"

static ngx_str_t ngx_http_eidhub_metrics_zone_name = ngx_string("eidhub_metrics");

static ngx_int_t ngx_http_eidhub_metrics_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t *shpool = (ngx_slab_pool_t *)zone->shm.addr;
    size_t size = eh_metrics_size();
    int fresh = data == NULL || shpool->data == NULL;

    if (fresh) {
        shpool->data = ngx_slab_alloc(shpool, size);
        if (shpool->data == NULL) {
            ngx_log_error(NGX_LOG_EMERG, zone->shm.log, 0,
                          "eidhub: cannot allocate %uz bytes for the metrics", size);
            return NGX_ERROR;
        }
    }
    if (eh_metrics_attach(shpool->data, size, fresh) != EH_OK) {
        ngx_log_error(NGX_LOG_EMERG, zone->shm.log, 0, "eidhub: cannot use the metrics zone");
        return NGX_ERROR;
    }
    return NGX_OK;
}

char *ngx_http_eidhub_metrics_init(ngx_conf_t *cf)
{
    ngx_shm_zone_t *zone;
    size_t size = eh_metrics_size();

    /* room for the slab pool's bookkeeping; whole pages */
    size = ngx_align(size + 64 * 1024, ngx_pagesize);
    zone = ngx_shared_memory_add(cf, &ngx_http_eidhub_metrics_zone_name, size,
                                 &ngx_http_eidhub_module);
    if (zone == NULL)
        return NGX_CONF_ERROR;
    zone->init = ngx_http_eidhub_metrics_zone_init;
    zone->data = (void *)1;
    return NGX_CONF_OK;
}
