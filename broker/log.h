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

/* Line formats. In EH_LOG_JSON every line the sink receives is one JSON
 * object: {"time": RFC 3339 UTC with milliseconds, "level", "msg", and
 * "request_id" / "login_id" when the calling thread has them}. EH_LOG_TEXT
 * (the process default) hands the message alone. */
typedef enum eh_log_format {
    EH_LOG_TEXT = 0,
    EH_LOG_JSON = 1,
} eh_log_format;

/* eh_log_set_format chooses the format for the whole process. Call it before
 * threads start (eh_broker_load does, from the configuration). */
void eh_log_set_format(eh_log_format format);
eh_log_format eh_log_format_get(void);

/* The calling thread's request context, which every line logged on it
 * carries in JSON. eh_log_context_set starts a request: it copies
 * request_id (at most 64 bytes) and clears the login id; NULL ends the
 * request and clears both.
 * eh_log_login_set copies the id of the login the request belongs to (NULL
 * clears it); the ids must not be personal data. The getters return the
 * thread's copies ("" when unset). */
void eh_log_context_set(const char *request_id);
void eh_log_login_set(const char *login_id);
const char *eh_log_request_id(void);
const char *eh_log_login_id(void);

/* eh_log_level_name returns "error", "warn", "info" or "debug". */
const char *eh_log_level_name(eh_log_level level);

#endif
