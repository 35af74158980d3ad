/* eidhub nginx module: the core's log sink, writing to nginx's error log. */
#include "ngx_http_eidhub_module.h"

#include "broker/log.h"

/* ngx_http_eidhub_log_sink passes one core log line to nginx's log at the
 * matching level. Called from event-loop and thread-pool threads alike. */
static void ngx_http_eidhub_log_sink(void *ctx, eh_log_level level, const char *msg)
{
    static const ngx_uint_t levels[] = {NGX_LOG_ERR, NGX_LOG_WARN, NGX_LOG_INFO, NGX_LOG_DEBUG};
    ngx_log_t *log = ctx;
    ngx_uint_t ngx_level = (unsigned)level < 4 ? levels[level] : NGX_LOG_ERR;

    ngx_log_error(ngx_level, log, 0, "eidhub: %s", msg);
}

void ngx_http_eidhub_log_install(ngx_log_t *log)
{
    eh_log_set_sink(ngx_http_eidhub_log_sink, log, EH_LOG_INFO);
}
