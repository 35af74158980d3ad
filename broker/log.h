/* eidhub: the log sink interface.
 *
 * The core never writes to a file or to nginx itself: it hands each line to
 * one sink, which the host (the nginx module, eidhubctl, the tests) installs.
 * Rule: a log line carries attribute *names* and hashed subjects, never
 * attribute values or national identifiers. */
#ifndef EH_LOG_H
#define EH_LOG_H

typedef enum eh_log_level {
    EH_LOG_ERROR = 0,
    EH_LOG_WARN = 1,
    EH_LOG_INFO = 2,
    EH_LOG_DEBUG = 3,
} eh_log_level;

/* A sink receives one formatted line (no trailing newline). It may be called
 * from several threads at once and must not keep msg after it returns. */
typedef void (*eh_log_sink_fn)(void *ctx, eh_log_level level, const char *msg);

/* eh_log_set_sink installs fn (with its ctx) as the process-wide sink, and
 * min as the most verbose level passed on. fn NULL restores the default sink,
 * which writes to stderr. Call it before threads start. */
void eh_log_set_sink(eh_log_sink_fn fn, void *ctx, eh_log_level min);

/* eh_log formats a line and hands it to the sink if level is at least as
 * important as the configured minimum. Lines longer than 1 KiB are cut. */
void eh_log(eh_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* eh_log_level_name returns "error", "warn", "info" or "debug". */
const char *eh_log_level_name(eh_log_level level);

#endif
