#include "broker/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static eh_log_format eh_log_fmt = EH_LOG_TEXT;

/* eh_log_stderr writes text lines with a prefix, JSON lines as they are. */
static void eh_log_stderr(void *ctx, eh_log_level level, const char *msg)
{
    (void)ctx;
    if (eh_log_fmt == EH_LOG_JSON)
        fprintf(stderr, "%s\n", msg);
    else
        fprintf(stderr, "eidhub %s: %s\n", eh_log_level_name(level), msg);
}

static eh_log_sink_fn eh_log_sink = eh_log_stderr;
static void *eh_log_ctx;
static eh_log_level eh_log_min = EH_LOG_INFO;

#define EH_LOG_ID_MAX 64
static _Thread_local char eh_log_request[EH_LOG_ID_MAX + 1];
static _Thread_local char eh_log_login[EH_LOG_ID_MAX + 1];

void eh_log_set_sink(eh_log_sink_fn fn, void *ctx, eh_log_level min)
{
    eh_log_sink = fn ? fn : eh_log_stderr;
    eh_log_ctx = fn ? ctx : NULL;
    eh_log_min = min;
}

void eh_log_set_format(eh_log_format format)
{
    eh_log_fmt = format;
}

eh_log_format eh_log_format_get(void)
{
    return eh_log_fmt;
}

void eh_log_context_set(const char *request_id)
{
    snprintf(eh_log_request, sizeof(eh_log_request), "%s", request_id ? request_id : "");
    eh_log_login[0] = '\0';
}

void eh_log_login_set(const char *login_id)
{
    snprintf(eh_log_login, sizeof(eh_log_login), "%s", login_id ? login_id : "");
}

const char *eh_log_request_id(void)
{
    return eh_log_request;
}

const char *eh_log_login_id(void)
{
    return eh_log_login;
}

/* json_str appends s as a JSON string to out (at p, below end); returns the
 * new position. Control characters become \u00XX; a cut string stays valid. */
static char *json_str(char *p, char *end, const char *s)
{
    if (p >= end - 2)
        return p;
    *p++ = '"';
    for (; *s && p < end - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            p += snprintf(p, 7, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    return p;
}

static char *json_raw(char *p, char *end, const char *s)
{
    while (*s && p < end - 1)
        *p++ = *s++;
    *p = '\0';
    return p;
}

/* format_json writes the JSON object of one line into out. */
static void format_json(char *out, size_t outlen, eh_log_level level, const char *msg)
{
    char *p = out, *end = out + outlen, stamp[64], ms[8];
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        stamp[0] = '\0';
    snprintf(ms, sizeof(ms), ".%03dZ", (int)((ts.tv_nsec / 1000000) % 1000));
    p = json_raw(p, end, "{\"time\":\"");
    p = json_raw(p, end, stamp);
    p = json_raw(p, end, ms);
    p = json_raw(p, end, "\",\"level\":\"");
    p = json_raw(p, end, eh_log_level_name(level));
    p = json_raw(p, end, "\"");
    if (eh_log_request[0]) {
        p = json_raw(p, end, ",\"request_id\":");
        p = json_str(p, end, eh_log_request);
    }
    if (eh_log_login[0]) {
        p = json_raw(p, end, ",\"login_id\":");
        p = json_str(p, end, eh_log_login);
    }
    p = json_raw(p, end, ",\"msg\":");
    /* room for the closing brace */
    p = json_str(p, end - 1, msg);
    json_raw(p, end, "}");
}

void eh_log(eh_log_level level, const char *fmt, ...)
{
    char line[1024], json[2560];
    va_list ap;

    if (level > eh_log_min)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (eh_log_fmt == EH_LOG_JSON) {
        format_json(json, sizeof(json), level, line);
        eh_log_sink(eh_log_ctx, level, json);
        return;
    }
    eh_log_sink(eh_log_ctx, level, line);
}

const char *eh_log_level_name(eh_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if ((unsigned)level < sizeof(names) / sizeof(names[0]))
        return names[level];
    return "?";
}
