#include "broker/log.h"

#include <stdarg.h>
#include <stdio.h>

static void eh_log_stderr(void *ctx, eh_log_level level, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "eidhub %s: %s\n", eh_log_level_name(level), msg);
}

static eh_log_sink_fn eh_log_sink = eh_log_stderr;
static void *eh_log_ctx;
static eh_log_level eh_log_min = EH_LOG_INFO;

void eh_log_set_sink(eh_log_sink_fn fn, void *ctx, eh_log_level min)
{
    eh_log_sink = fn ? fn : eh_log_stderr;
    eh_log_ctx = fn ? ctx : NULL;
    eh_log_min = min;
}

void eh_log(eh_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > eh_log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    eh_log_sink(eh_log_ctx, level, line);
}

const char *eh_log_level_name(eh_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if ((unsigned)level < sizeof(names) / sizeof(names[0]))
        return names[level];
    return "?";
}
