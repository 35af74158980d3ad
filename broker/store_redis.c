/* eidhub: the store on Redis, through hiredis's blocking API.
 *
 * A store is only its parsed URL until used: each thread connects on its
 * first call and keeps that connection in a small thread-local cache, keyed
 * by the store's address and a generation number that no other store ever
 * gets, so that a store freed and another allocated at the same address never
 * picks up the old one's connection. The cache notices a fork (its pid
 * changes) and never uses a connection made by the parent. Any I/O error,
 * timeout or surprising answer frees the thread's connection, so the next
 * call starts afresh: no reply meant for an earlier command can be read as
 * the answer to a later one.
 *
 * Every command is bounded by the store's timeout (SO_RCVTIMEO/SO_SNDTIMEO
 * through redisSetTimeout); connecting too. Keys and values are passed with
 * hiredis's binary-safe %b. The host must ignore SIGPIPE (nginx does), as
 * hiredis writes with plain write(2).
 *
 * Errors map to: EH_ERR_STORE_UNAVAILABLE when no connection can be made or
 * used (refused, closed, AUTH or SELECT refused, server loading, replica),
 * EH_ERR_STORE_TIMEOUT when the server did not answer in time,
 * EH_ERR_STORE_PROTOCOL when it answered something unexpected, and
 * EH_ERR_STORE_FULL when Redis is at maxmemory. */
#include "broker/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "broker/log.h"

#define EH_REDIS_DEFAULT_PORT 6379
#define EH_REDIS_CACHE_SLOTS 8 /* connections one thread keeps, one per store */
#define EH_REDIS_HOST_MAX 255

/* INCR, and start the window's expiry when the counter is new. A counter
 * that somehow has no expiry gets one too, so no key lives forever. The
 * result goes back as the stored text: Lua numbers are doubles, exact only
 * up to 2^53. */
static const char eh_redis_incr_script[] = "local n = redis.call('INCR', KEYS[1]) "
                                           "if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then "
                                           "redis.call('PEXPIRE', KEYS[1], ARGV[1]) end "
                                           "return redis.call('GET', KEYS[1])";

typedef struct eh_redis {
    eh_store base;
    char *host;
    char *user;     /* NULL: AUTH with the password alone */
    char *password; /* NULL: no AUTH; wiped on free */
    int port;
    int db;
    unsigned timeout_ms;
    unsigned long long generation; /* unique to this store, for the thread caches */
} eh_redis;

/* One thread's connection to one store. */
typedef struct eh_redis_conn {
    const eh_redis *store;
    unsigned long long generation;
    redisContext *ctx;
} eh_redis_conn;

/* One thread's connections. */
typedef struct eh_redis_cache {
    pid_t pid; /* the process that made these connections */
    unsigned next_victim;
    eh_redis_conn conns[EH_REDIS_CACHE_SLOTS];
} eh_redis_cache;

static _Thread_local eh_redis_cache *eh_redis_tls;
static pthread_key_t eh_redis_key;
static pthread_once_t eh_redis_key_once = PTHREAD_ONCE_INIT;
static int eh_redis_key_ok;
static unsigned long long eh_redis_generations;

/* eh_redis_cache_clear closes every connection of c. After a fork this only
 * closes the child's copies of the parent's sockets: nothing is sent. */
static void eh_redis_cache_clear(eh_redis_cache *c)
{
    for (size_t i = 0; i < EH_REDIS_CACHE_SLOTS; i++) {
        if (c->conns[i].ctx != NULL)
            redisFree(c->conns[i].ctx);
        memset(&c->conns[i], 0, sizeof(c->conns[i]));
    }
}

/* eh_redis_cache_destroy runs when a thread that used a store exits. */
static void eh_redis_cache_destroy(void *p)
{
    eh_redis_cache *c = p;

    eh_redis_cache_clear(c);
    free(c);
    eh_redis_tls = NULL;
}

static void eh_redis_key_create(void)
{
    eh_redis_key_ok = pthread_key_create(&eh_redis_key, eh_redis_cache_destroy) == 0;
}

/* eh_redis_cache_get returns this thread's cache, made on first use and
 * emptied when this process is a fork of the one that filled it; NULL when
 * out of memory. */
static eh_redis_cache *eh_redis_cache_get(void)
{
    eh_redis_cache *c = eh_redis_tls;
    pid_t pid = getpid();

    if (c != NULL) {
        if (c->pid != pid) {
            eh_redis_cache_clear(c);
            c->pid = pid;
        }
        return c;
    }
    pthread_once(&eh_redis_key_once, eh_redis_key_create);
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pid = pid;
    if (eh_redis_key_ok)
        pthread_setspecific(eh_redis_key, c);
    eh_redis_tls = c;
    return c;
}

/* eh_redis_slot returns this thread's cache slot for r, or NULL. */
static eh_redis_conn *eh_redis_slot(eh_redis_cache *c, const eh_redis *r)
{
    for (size_t i = 0; i < EH_REDIS_CACHE_SLOTS; i++) {
        if (c->conns[i].ctx != NULL && c->conns[i].store == r &&
            c->conns[i].generation == r->generation)
            return &c->conns[i];
    }
    return NULL;
}

/* eh_redis_drop closes this thread's connection to r, if it has one. */
static void eh_redis_drop(const eh_redis *r)
{
    eh_redis_cache *c = eh_redis_tls;
    eh_redis_conn *slot;

    if (c == NULL || c->pid != getpid())
        return;
    slot = eh_redis_slot(c, r);
    if (slot != NULL) {
        redisFree(slot->ctx);
        memset(slot, 0, sizeof(*slot));
    }
}

static struct timeval eh_redis_timeval(unsigned ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
    return tv;
}

/* eh_redis_io_rc maps a command that got no reply on c to an eh_rc; err_no
 * is errno as the command left it. */
static eh_rc eh_redis_io_rc(const redisContext *c, int err_no)
{
    if (c->err == REDIS_ERR_IO &&
        (err_no == EAGAIN || err_no == EWOULDBLOCK || err_no == ETIMEDOUT))
        return EH_ERR_STORE_TIMEOUT;
    if (c->err == REDIS_ERR_OOM)
        return EH_ERR_NOMEM;
    if (c->err == REDIS_ERR_PROTOCOL)
        return EH_ERR_STORE_PROTOCOL;
    return EH_ERR_STORE_UNAVAILABLE;
}

/* eh_redis_log_error logs an error reply of Redis to what, without the
 * arguments Redis 7 quotes back for unknown commands (they hold keys). */
static void eh_redis_log_error(const char *what, const redisReply *reply)
{
    const char *cut = strstr(reply->str, ", with args");
    int n = cut != NULL ? (int)(cut - reply->str) : (int)reply->len;

    if (n > 200)
        n = 200;
    eh_log(EH_LOG_WARN, "redis store: %s: %.*s", what, n, reply->str);
}

/* eh_redis_error_rc maps an error reply to an eh_rc. Errors that say the
 * server cannot serve us now also drop the connection (a READONLY replica
 * may be a master again on the next connection). */
static eh_rc eh_redis_error_rc(const eh_redis *r, const redisReply *reply, const char *what)
{
    static const char *const unavailable[] = {
        "LOADING",  "BUSY",        "MASTERDOWN", "READONLY", "NOAUTH",
        "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "NOPERM",
    };

    if (strncmp(reply->str, "OOM", 3) == 0)
        return EH_ERR_STORE_FULL;
    for (size_t i = 0; i < sizeof(unavailable) / sizeof(unavailable[0]); i++) {
        size_t n = strlen(unavailable[i]);
        if (strncmp(reply->str, unavailable[i], n) == 0 &&
            (reply->str[n] == ' ' || reply->str[n] == '\0')) {
            eh_redis_log_error(what, reply);
            eh_redis_drop(r);
            return EH_ERR_STORE_UNAVAILABLE;
        }
    }
    eh_redis_log_error(what, reply);
    return EH_ERR_STORE_PROTOCOL;
}

/* eh_redis_unexpected is the answer to a reply of a type the command never
 * returns: the connection is dropped (whatever sits at the other end is not
 * the Redis we expect) and the call fails with EH_ERR_STORE_PROTOCOL. */
static eh_rc eh_redis_unexpected(const eh_redis *r, const redisReply *reply, const char *what)
{
    if (reply->type == REDIS_REPLY_ERROR)
        return eh_redis_error_rc(r, reply, what);
    eh_log(EH_LOG_WARN, "redis store: %s: unexpected reply of type %d", what, reply->type);
    eh_redis_drop(r);
    return EH_ERR_STORE_PROTOCOL;
}

/* eh_redis_handshake sends AUTH and SELECT, as configured, on the fresh
 * connection c. A refusal is EH_ERR_STORE_UNAVAILABLE: the store cannot be
 * used with this configuration. */
static eh_rc eh_redis_handshake(const eh_redis *r, redisContext *c)
{
    redisReply *reply = NULL;
    char db[16];
    int err_no;
    eh_rc rc = EH_OK;

    if (r->password != NULL) {
        errno = 0;
        if (r->user != NULL)
            reply = redisCommand(c, "AUTH %b %b", r->user, strlen(r->user), r->password,
                                 strlen(r->password));
        else
            reply = redisCommand(c, "AUTH %b", r->password, strlen(r->password));
        err_no = errno;
        if (reply == NULL) {
            rc = eh_redis_io_rc(c, err_no);
            goto cleanup;
        }
        if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
            eh_log(EH_LOG_ERROR, "redis store: %s:%d refused AUTH", r->host, r->port);
            rc = EH_ERR_STORE_UNAVAILABLE;
            goto cleanup;
        }
        freeReplyObject(reply);
        reply = NULL;
    }
    if (r->db != 0) {
        snprintf(db, sizeof(db), "%d", r->db);
        errno = 0;
        reply = redisCommand(c, "SELECT %b", db, strlen(db));
        err_no = errno;
        if (reply == NULL) {
            rc = eh_redis_io_rc(c, err_no);
            goto cleanup;
        }
        if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
            eh_log(EH_LOG_ERROR, "redis store: %s:%d refused SELECT %d", r->host, r->port, r->db);
            rc = EH_ERR_STORE_UNAVAILABLE;
            goto cleanup;
        }
    }
cleanup:
    if (reply != NULL)
        freeReplyObject(reply);
    return rc;
}

/* eh_redis_connect makes a new connection for r, ready for commands: timeout
 * set, authenticated, database selected. *out is the caller's. */
static eh_rc eh_redis_connect(const eh_redis *r, redisContext **out)
{
    struct timeval tv = eh_redis_timeval(r->timeout_ms);
    redisContext *c;
    eh_rc rc;

    c = redisConnectWithTimeout(r->host, r->port, tv);
    if (c == NULL)
        return EH_ERR_NOMEM;
    if (c->err != 0) {
        eh_log(EH_LOG_WARN, "redis store: cannot connect to %s:%d: %s", r->host, r->port,
               c->errstr);
        rc = EH_ERR_STORE_UNAVAILABLE;
        goto cleanup;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        rc = EH_ERR_STORE_UNAVAILABLE;
        goto cleanup;
    }
    rc = eh_redis_handshake(r, c);
    if (rc != EH_OK)
        goto cleanup;
    *out = c;
    c = NULL;
cleanup:
    if (c != NULL)
        redisFree(c);
    return rc;
}

/* eh_redis_connection returns this thread's connection to r (borrowed: it
 * stays in the thread's cache), connecting when there is none; *reused tells
 * whether it was an existing one. */
static eh_rc eh_redis_connection(eh_redis *r, redisContext **out, int *reused)
{
    eh_redis_cache *c = eh_redis_cache_get();
    eh_redis_conn *slot;
    redisContext *ctx;
    eh_rc rc;

    if (c == NULL)
        return EH_ERR_NOMEM;
    slot = eh_redis_slot(c, r);
    *reused = slot != NULL;
    if (slot != NULL) {
        *out = slot->ctx;
        return EH_OK;
    }
    rc = eh_redis_connect(r, &ctx);
    if (rc != EH_OK)
        return rc;
    for (size_t i = 0; i < EH_REDIS_CACHE_SLOTS && slot == NULL; i++) {
        if (c->conns[i].ctx == NULL)
            slot = &c->conns[i];
    }
    if (slot == NULL) {
        /* All slots taken (stores that were freed, or many stores): evict. */
        slot = &c->conns[c->next_victim++ % EH_REDIS_CACHE_SLOTS];
        redisFree(slot->ctx);
    }
    slot->store = r;
    slot->generation = r->generation;
    slot->ctx = ctx;
    *out = ctx;
    return EH_OK;
}

/* eh_redis_stale tells whether a command failed because a connection kept
 * from before was closed by the other side (Redis restarted meanwhile): the
 * new server never saw the command, so it can be sent again on a new one. */
static int eh_redis_stale(const redisContext *c, int err_no)
{
    return c->err == REDIS_ERR_EOF ||
           (c->err == REDIS_ERR_IO && (err_no == ECONNRESET || err_no == EPIPE));
}

/* eh_redis_command runs one command (hiredis format, %b for bytes) on this
 * thread's connection to r. On EH_OK *reply is the caller's
 * (freeReplyObject); on any failure the connection is dropped. A connection
 * found closed (a Redis that restarted since it was made) is replaced and
 * the command sent once more; a timeout is never retried. */
static eh_rc eh_redis_command(eh_redis *r, redisReply **reply, const char *fmt, ...)
{
    redisContext *c;
    va_list ap, again;
    void *rep;
    int err_no, reused = 0;
    eh_rc rc;

    *reply = NULL;
    rc = eh_redis_connection(r, &c, &reused);
    if (rc != EH_OK)
        return rc;
    va_start(ap, fmt);
    va_copy(again, ap);
    errno = 0;
    rep = redisvCommand(c, fmt, ap);
    err_no = errno;
    if (rep == NULL && reused && eh_redis_stale(c, err_no)) {
        eh_redis_drop(r);
        rc = eh_redis_connection(r, &c, &reused);
        if (rc == EH_OK) {
            errno = 0;
            rep = redisvCommand(c, fmt, again);
            err_no = errno;
        }
    }
    va_end(again);
    va_end(ap);
    if (rc != EH_OK)
        return rc;
    if (rep == NULL) {
        rc = eh_redis_io_rc(c, err_no);
        eh_redis_drop(r);
        return rc;
    }
    *reply = rep;
    return EH_OK;
}

/* eh_redis_read is get (GET) and take (GETDEL, Redis >= 6.2): a bulk string
 * is copied into a new NUL-terminated buffer for the caller, nil is
 * EH_ERR_NOT_FOUND. */
static eh_rc eh_redis_read(eh_store *s, const char *cmd, const char *key, char **value, size_t *len)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, "%s %b", cmd, key, strlen(key));
    if (rc != EH_OK)
        return rc;
    if (reply->type == REDIS_REPLY_NIL) {
        rc = EH_ERR_NOT_FOUND;
    } else if (reply->type == REDIS_REPLY_STRING) {
        *value = malloc(reply->len + 1);
        if (*value == NULL) {
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
        memcpy(*value, reply->str, reply->len);
        (*value)[reply->len] = '\0';
        *len = reply->len;
        rc = EH_OK;
    } else {
        rc = eh_redis_unexpected(r, reply, cmd);
    }
cleanup:
    freeReplyObject(reply);
    return rc;
}

static eh_rc eh_redis_get(eh_store *s, const char *key, char **value, size_t *len)
{
    return eh_redis_read(s, "GET", key, value, len);
}

static eh_rc eh_redis_take(eh_store *s, const char *key, char **value, size_t *len)
{
    return eh_redis_read(s, "GETDEL", key, value, len);
}

static eh_rc eh_redis_set(eh_store *s, const char *key, const void *value, size_t len,
                          uint32_t ttl_ms)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    char ttl[16];
    eh_rc rc;

    snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_ms);
    rc = eh_redis_command(r, &reply, "SET %b %b PX %b", key, strlen(key), value, len, ttl,
                          strlen(ttl));
    if (rc != EH_OK)
        return rc;
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
        rc = EH_OK;
    else
        rc = eh_redis_unexpected(r, reply, "SET");
    freeReplyObject(reply);
    return rc;
}

static eh_rc eh_redis_del(eh_store *s, const char *key)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, "DEL %b", key, strlen(key));
    if (rc != EH_OK)
        return rc;
    rc = reply->type == REDIS_REPLY_INTEGER ? EH_OK : eh_redis_unexpected(r, reply, "DEL");
    freeReplyObject(reply);
    return rc;
}

/* eh_redis_parse_counter reads the decimal text of a counter (len bytes at
 * p) into *out; -1 when it is not exactly an int64_t. */
static int eh_redis_parse_counter(const char *p, size_t len, int64_t *out)
{
    char buf[24], *end;
    long long v;

    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9'))
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* eh_redis_incr runs the INCR/PEXPIRE script in one round trip. A key that
 * holds something other than a counter is EH_ERR_INVALID. */
static eh_rc eh_redis_incr(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    char ttl[16];
    eh_rc rc;

    snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_ms);
    rc = eh_redis_command(r, &reply, "EVAL %b 1 %b %b", eh_redis_incr_script,
                          strlen(eh_redis_incr_script), key, strlen(key), ttl, strlen(ttl));
    if (rc != EH_OK)
        return rc;
    if (reply->type == REDIS_REPLY_INTEGER) {
        *value = reply->integer;
        rc = EH_OK;
    } else if (reply->type == REDIS_REPLY_STRING) {
        rc = eh_redis_parse_counter(reply->str, reply->len, value) == 0
                 ? EH_OK
                 : eh_redis_unexpected(r, reply, "EVAL");
    } else if (reply->type == REDIS_REPLY_ERROR && (strstr(reply->str, "WRONGTYPE") != NULL ||
                                                    strstr(reply->str, "not an integer") != NULL ||
                                                    strstr(reply->str, "overflow") != NULL)) {
        rc = EH_ERR_INVALID;
    } else {
        rc = eh_redis_unexpected(r, reply, "EVAL");
    }
    freeReplyObject(reply);
    return rc;
}

static eh_rc eh_redis_ping(eh_store *s)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, "PING");
    if (rc != EH_OK)
        return rc;
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0)
        rc = EH_OK;
    else
        rc = eh_redis_unexpected(r, reply, "PING");
    freeReplyObject(reply);
    return rc;
}

/* eh_redis_destroy frees r and its strings, wiping the password. Other
 * threads' connections to r stay in their caches until evicted or until the
 * thread exits; the generation number keeps them from ever being used. */
static void eh_redis_destroy(eh_redis *r)
{
    if (r->password != NULL) {
        explicit_bzero(r->password, strlen(r->password));
        free(r->password);
    }
    free(r->user);
    free(r->host);
    free(r);
}

static void eh_redis_free(eh_store *s)
{
    eh_redis *r = (eh_redis *)s;

    eh_redis_drop(r);
    eh_redis_destroy(r);
}

static const eh_store_ops eh_redis_ops = {
    .name = "redis",
    .get = eh_redis_get,
    .set = eh_redis_set,
    .take = eh_redis_take,
    .del = eh_redis_del,
    .incr = eh_redis_incr,
    .ping = eh_redis_ping,
    .free = eh_redis_free,
};

/* ---- URL --------------------------------------------------------------- */

/* eh_redis_fail writes one line into err (never the URL: it may hold the
 * password) and returns EH_ERR_CONFIG. */
static eh_rc eh_redis_fail(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "store URL: %s (expected redis://[[user]:password@]host[:port][/db])",
                 what);
    return EH_ERR_CONFIG;
}

static int eh_redis_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* eh_redis_decode copies n bytes at p into a new string for the caller,
 * undoing %XX escapes. NULL on a bad escape, an escaped NUL or no memory
 * (*nomem tells which). */
static char *eh_redis_decode(const char *p, size_t n, int *nomem)
{
    char *out = malloc(n + 1), *o = out;

    *nomem = out == NULL;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < n ? eh_redis_hex(p[i + 1]) : -1;
            int lo = hi >= 0 ? eh_redis_hex(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                explicit_bzero(out, n + 1);
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    return out;
}

/* eh_redis_number reads n decimal digits at p (1..max) into *out. */
static int eh_redis_number(const char *p, size_t n, long max, long *out)
{
    long v = 0;

    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* eh_redis_parse_userinfo reads "[user]:password" (n bytes at p) into r. */
static eh_rc eh_redis_parse_userinfo(eh_redis *r, const char *p, size_t n, char *err, size_t errlen)
{
    const char *colon = memchr(p, ':', n);
    int nomem = 0;

    if (colon == NULL)
        return eh_redis_fail(err, errlen, "user info must be :password or user:password");
    if (colon > p) {
        r->user = eh_redis_decode(p, (size_t)(colon - p), &nomem);
        if (r->user == NULL)
            return nomem ? EH_ERR_NOMEM : eh_redis_fail(err, errlen, "bad %-escape in user");
    }
    if ((size_t)(colon + 1 - p) == n)
        return eh_redis_fail(err, errlen, "empty password");
    r->password = eh_redis_decode(colon + 1, n - (size_t)(colon + 1 - p), &nomem);
    if (r->password == NULL)
        return nomem ? EH_ERR_NOMEM : eh_redis_fail(err, errlen, "bad %-escape in password");
    return EH_OK;
}

/* eh_redis_parse_hostport reads "host[:port]" or "[v6]:port" (n bytes at p)
 * into r. */
static eh_rc eh_redis_parse_hostport(eh_redis *r, const char *p, size_t n, char *err, size_t errlen)
{
    const char *host = p, *end = p + n, *port = NULL;
    size_t hlen;
    long v;

    if (n > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL)
            return eh_redis_fail(err, errlen, "unterminated [IPv6 address]");
        host = p + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < end) {
            if (close[1] != ':')
                return eh_redis_fail(err, errlen, "junk after ]");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', n);
        hlen = colon != NULL ? (size_t)(colon - p) : n;
        if (colon != NULL)
            port = colon + 1;
    }
    if (hlen == 0 || hlen > EH_REDIS_HOST_MAX)
        return eh_redis_fail(err, errlen, "missing or overlong host");
    for (size_t i = 0; i < hlen; i++) {
        if (strchr("[]@:", host[i]) != NULL && !(p[0] == '[' && host[i] == ':'))
            return eh_redis_fail(err, errlen, "bad character in host");
    }
    r->host = strndup(host, hlen);
    if (r->host == NULL)
        return EH_ERR_NOMEM;
    r->port = EH_REDIS_DEFAULT_PORT;
    if (port != NULL) {
        if (eh_redis_number(port, (size_t)(end - port), 65535, &v) != 0 || v == 0)
            return eh_redis_fail(err, errlen, "port must be 1..65535");
        r->port = (int)v;
    }
    return EH_OK;
}

/* eh_redis_parse_url fills r from url; see eh_store_redis_new. */
static eh_rc eh_redis_parse_url(eh_redis *r, const char *url, char *err, size_t errlen)
{
    static const char scheme[] = "redis://";
    const char *auth, *slash, *at;
    size_t alen;
    long v;
    eh_rc rc;

    if (strncasecmp(url, scheme, strlen(scheme)) != 0)
        return eh_redis_fail(err, errlen, "not a redis:// URL");
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return eh_redis_fail(err, errlen, "spaces or control characters");
        if (*p == '?' || *p == '#')
            return eh_redis_fail(err, errlen, "no query or fragment allowed");
    }
    auth = url + strlen(scheme);
    slash = strchr(auth, '/');
    alen = slash != NULL ? (size_t)(slash - auth) : strlen(auth);
    at = NULL;
    for (size_t i = 0; i < alen; i++) {
        if (auth[i] == '@')
            at = auth + i;
    }
    if (at != NULL) {
        rc = eh_redis_parse_userinfo(r, auth, (size_t)(at - auth), err, errlen);
        if (rc != EH_OK)
            return rc;
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    rc = eh_redis_parse_hostport(r, auth, alen, err, errlen);
    if (rc != EH_OK)
        return rc;
    r->db = 0;
    if (slash != NULL && slash[1] != '\0') {
        if (eh_redis_number(slash + 1, strlen(slash + 1), 2147483647L, &v) != 0)
            return eh_redis_fail(err, errlen, "database must be a number");
        r->db = (int)v;
    }
    return EH_OK;
}

eh_rc eh_store_redis_new(const char *url, unsigned timeout_ms, eh_store **out, char *err,
                         size_t errlen)
{
    eh_redis *r = NULL;
    eh_rc rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out != NULL)
        *out = NULL;
    if (url == NULL || out == NULL)
        return EH_ERR_INVALID;
    if (timeout_ms == 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "store: the Redis timeout must be above zero");
        return EH_ERR_CONFIG;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return EH_ERR_NOMEM;
    r->base.ops = &eh_redis_ops;
    r->timeout_ms = timeout_ms;
    r->generation = __atomic_add_fetch(&eh_redis_generations, 1, __ATOMIC_RELAXED);
    rc = eh_redis_parse_url(r, url, err, errlen);
    if (rc != EH_OK)
        goto cleanup;
    *out = &r->base;
    r = NULL;
cleanup:
    if (r != NULL)
        eh_redis_destroy(r);
    return rc;
}
