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
    u_char line[4096];
    size_t len;

    /* JSON lines go to the error log file as they are, one object per line
     * (one write(2) each, so lines of several threads never mix), filtered
     * by the log's level like nginx's own lines */
    if (eh_log_format_get() == EH_LOG_JSON && log->file != NULL &&
        log->file->fd != NGX_INVALID_FILE) {
        if (log->log_level < ngx_level)
            return;
        len = ngx_strlen(msg);
        if (len > sizeof(line) - 1)
            len = sizeof(line) - 1;
        ngx_memcpy(line, msg, len);
        line[len++] = '\n';
        (void)ngx_write_fd(log->file->fd, line, len);
        return;
    }
    ngx_log_error(ngx_level, log, 0, "eidhub: %s", msg);
}

void ngx_http_eidhub_log_install(ngx_log_t *log)
{
    eh_log_set_sink(ngx_http_eidhub_log_sink, log, EH_LOG_INFO);
}
