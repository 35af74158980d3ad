/* eidhub: the store on Redis, through hiredis's blocking API.
 *
 * A store is only its parsed URL until used: each thread connects on its
 * first call and keeps that connection in a small thread-local cache, keyed
 * by the store's address and a generation number that no other store ever
 * gets, so that a store freed and another allocated at the same address never
 * picks up the old one's connection. The cache notices a fork (the process
 * id it was made in differs from the one a pthread_atfork handler notes in
 * the child, so no getpid() call per command) and never uses a connection
 * made by the parent. Any I/O error,
 * timeout or surprising answer frees the thread's connection, so the next
 * call starts afresh: no reply meant for an earlier command can be read as
 * the answer to a later one.
 *
 * Every command is bounded by the store's timeout (SO_RCVTIMEO/SO_SNDTIMEO
 * through redisSetTimeout); connecting too. Keys and values are passed with
 * hiredis's binary-safe %b. The host must ignore SIGPIPE (nginx does), as
 * hiredis writes with plain write(2).
 *
 * With Sentinel (a URL with ?sentinel=NAME, listing the sentinels), a thread
 * that connects first asks the sentinels in turn, starting with the one that
 * answered last, for the master of NAME (SENTINEL GET-MASTER-ADDR-BY-NAME,
 * with SENTINEL MASTER for the epoch of that configuration: an answer older
 * than the newest epoch this store has seen comes from a sentinel that has
 * not heard of a failover yet and is passed over), connects there and
 * checks with ROLE that the server is a master. The thread keeps its
 * connection to that sentinel and, every EH_REDIS_RECHECK_MS before a
 * command (at once when another thread saw a newer epoch), asks it again
 * and asks the master for its ROLE: when the
 * sentinels name another master (a failover while the old master still
 * believes it is one) or the master is one no longer, the thread moves. A
 * command refused with READONLY or MASTERDOWN was not executed: it is sent
 * once more after the master was looked up again.
 *
 * A take or incr is followed, in the same round trip, by WAIT for as many
 * replicas as the master had at any time in the last EH_REDIS_FLOOR_MS (and
 * at least the URL's wait=N): when they do not all confirm it in time it
 * fails with EH_ERR_STORE_UNAVAILABLE. During SENTINEL FAILOVER the old
 * master keeps taking writes for a while after its replica was promoted, and
 * its other replicas keep confirming them until they are moved to the new
 * master (which then overwrites what they had): a take confirmed there would
 * be undone, and the code it consumed could be redeemed again. A master that
 * just lost a replica confirms nothing, so no code is handed out twice.
 *
 * Errors map to: EH_ERR_STORE_UNAVAILABLE when no connection can be made or
 * used (refused, closed, AUTH or SELECT refused, server loading, replica, no
 * master known to the sentinels, a write no replica confirmed in time),
 * EH_ERR_STORE_TIMEOUT when the server did not answer in time,
 * EH_ERR_STORE_PROTOCOL when it answered something unexpected, and
 * EH_ERR_STORE_FULL when Redis is at maxmemory. */
#include "broker/store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"

#define EH_REDIS_DEFAULT_PORT 6379
#define EH_REDIS_SENTINEL_PORT 26379
#define EH_REDIS_CACHE_SLOTS 8 /* connections one thread keeps, one per store */
#define EH_REDIS_HOST_MAX 255
#define EH_REDIS_SENTINELS_MAX 16
#define EH_REDIS_MASTER_NAME_MAX 64
#define EH_REDIS_WAIT_MAX 16     /* replicas a take may wait for */
#define EH_REDIS_RECHECK_MS 1000 /* how often a thread asks its sentinel again */
#define EH_REDIS_FLOOR_MS 10000  /* how long a master's replica count is remembered */
#define EH_REDIS_FLOORS 4        /* masters whose replica counts a store remembers */

/* INCR, and start the window's expiry when the counter is new. A counter
 * that somehow has no expiry gets one too, so no key lives forever. The
 * result goes back as the stored text: Lua numbers are doubles, exact only
 * up to 2^53. */
static const char eh_redis_incr_script[] = "local n = redis.call('INCR', KEYS[1]) "
                                           "if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then "
                                           "redis.call('PEXPIRE', KEYS[1], ARGV[1]) end "
                                           "return redis.call('GET', KEYS[1])";

/* A server's address. */
typedef struct eh_redis_addr {
    char *host;
    int port;
} eh_redis_addr;

/* How many replicas a master had lately: a take on it waits for that many,
 * so that a master that just lost a replica (promoted by a failover while
 * the old master still takes writes) cannot confirm takes any more. */
typedef struct eh_redis_floor {
    char host[EH_REDIS_HOST_MAX + 1];
    int port;
    unsigned floor;     /* the most replicas seen within EH_REDIS_FLOOR_MS */
    unsigned last;      /* the count seen last */
    long long floor_ms; /* when floor was last seen */
    long long used_ms;  /* for replacing the oldest entry */
} eh_redis_floor;

typedef struct eh_redis {
    eh_store base;
    eh_redis_addr *addrs; /* the server, or with Sentinel the sentinels */
    size_t naddrs;
    char *master;   /* Sentinel: the name of the master; NULL: addrs[0] is the server */
    unsigned wait;  /* Sentinel: replicas that must at least confirm a take or incr */
    char *user;     /* NULL: AUTH with the password alone */
    char *password; /* NULL: no AUTH; wiped on free */
    int db;
    unsigned timeout_ms;
    unsigned long long generation; /* unique to this store, for the thread caches */
    unsigned hint;                 /* Sentinel: the sentinel that answered last (atomic) */
    long long epoch;               /* Sentinel: the newest configuration epoch seen (atomic) */
    pthread_mutex_t floors_lock;   /* Sentinel: guards floors */
    eh_redis_floor floors[EH_REDIS_FLOORS];
} eh_redis;

/* One thread's connection to one store; the slot is free when ctx is NULL. */
typedef struct eh_redis_conn {
    const eh_redis *store;
    unsigned long long generation;
    redisContext *ctx;
    /* Sentinel only: the sentinel that named ctx's master (NULL when it
     * failed since), which one it is, when it last confirmed the master, the
     * master's address and the epoch the sentinel gave with it. */
    redisContext *sentinel;
    size_t sentinel_index;
    long long checked_ms;
    long long epoch;
    int port;
    char host[EH_REDIS_HOST_MAX + 1];
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
static atomic_uint eh_redis_caches; /* caches of every thread not freed yet */
static unsigned long long eh_redis_generations;
/* This process's id, noted when the first cache is made and again in the
 * child of every fork (eh_redis_atfork_child); read by every command. */
static pid_t eh_redis_pid;
static int eh_redis_atfork_ok;

/* eh_redis_slot_free closes the connections of slot and frees it. */
static void eh_redis_slot_free(eh_redis_conn *slot)
{
    if (slot->ctx != NULL)
        redisFree(slot->ctx);
    if (slot->sentinel != NULL)
        redisFree(slot->sentinel);
    memset(slot, 0, sizeof(*slot));
}

/* eh_redis_cache_clear closes every connection of c. After a fork this only
 * closes the child's copies of the parent's sockets: nothing is sent. */
static void eh_redis_cache_clear(eh_redis_cache *c)
{
    for (size_t i = 0; i < EH_REDIS_CACHE_SLOTS; i++)
        eh_redis_slot_free(&c->conns[i]);
}

/* eh_redis_cache_destroy runs when a thread that used a store exits. */
static void eh_redis_cache_destroy(void *p)
{
    eh_redis_cache *c = p;

    eh_redis_cache_clear(c);
    free(c);
    eh_redis_tls = NULL;
    atomic_fetch_sub(&eh_redis_caches, 1);
}

unsigned eh_store_redis_other_threads(void)
{
    unsigned n = atomic_load(&eh_redis_caches);

    int mine = eh_redis_key_ok && pthread_getspecific(eh_redis_key) != NULL;

    return mine && n > 0 ? n - 1 : n;
}

/* eh_redis_atfork_child runs in the child of a fork, in its only thread. */
static void eh_redis_atfork_child(void)
{
    __atomic_store_n(&eh_redis_pid, getpid(), __ATOMIC_RELAXED);
}

static void eh_redis_key_create(void)
{
    eh_redis_key_ok = pthread_key_create(&eh_redis_key, eh_redis_cache_destroy) == 0;
    __atomic_store_n(&eh_redis_pid, getpid(), __ATOMIC_RELAXED);
    eh_redis_atfork_ok = pthread_atfork(NULL, NULL, eh_redis_atfork_child) == 0;
}

/* eh_redis_self is this process's id: the one noted at the last fork, or
 * getpid() when no fork handler could be registered. Only called once
 * eh_redis_key_create has run (a cache exists). */
static pid_t eh_redis_self(void)
{
    return eh_redis_atfork_ok ? __atomic_load_n(&eh_redis_pid, __ATOMIC_RELAXED) : getpid();
}

/* eh_redis_cache_get returns this thread's cache, made on first use and
 * emptied when this process is a fork of the one that filled it; NULL when
 * out of memory. */
static eh_redis_cache *eh_redis_cache_get(void)
{
    eh_redis_cache *c = eh_redis_tls;
    pid_t pid;

    if (c != NULL) {
        pid = eh_redis_self();
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
    c->pid = eh_redis_self();
    if (eh_redis_key_ok && pthread_setspecific(eh_redis_key, c) == 0)
        atomic_fetch_add(&eh_redis_caches, 1);
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

    if (c == NULL || c->pid != eh_redis_self())
        return;
    slot = eh_redis_slot(c, r);
    if (slot != NULL)
        eh_redis_slot_free(slot);
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

/* eh_redis_now_ms is a monotonic clock in milliseconds. */
static long long eh_redis_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* eh_redis_expect_ok sends a command (hiredis format) on c and checks that
 * the answer is +OK; what names it in the log of a refusal. */
static eh_rc eh_redis_expect_ok(redisContext *c, const char *host, int port, const char *what,
                                const char *fmt, ...)
{
    redisReply *reply;
    va_list ap;
    int err_no;
    eh_rc rc = EH_OK;

    va_start(ap, fmt);
    errno = 0;
    reply = redisvCommand(c, fmt, ap);
    err_no = errno;
    va_end(ap);
    if (reply == NULL)
        return eh_redis_io_rc(c, err_no);
    if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
        eh_log(EH_LOG_ERROR, "redis store: %s:%d refused %s", host, port, what);
        rc = EH_ERR_STORE_UNAVAILABLE;
    }
    freeReplyObject(reply);
    return rc;
}

/* eh_redis_handshake sends AUTH and SELECT, as configured, on the fresh
 * connection c to host:port. A refusal is EH_ERR_STORE_UNAVAILABLE: the
 * store cannot be used with this configuration. */
static eh_rc eh_redis_handshake(const eh_redis *r, redisContext *c, const char *host, int port)
{
    char db[16];
    eh_rc rc = EH_OK;

    if (r->password != NULL && r->user != NULL)
        rc = eh_redis_expect_ok(c, host, port, "AUTH", "AUTH %b %b", r->user, strlen(r->user),
                                r->password, strlen(r->password));
    else if (r->password != NULL)
        rc = eh_redis_expect_ok(c, host, port, "AUTH", "AUTH %b", r->password, strlen(r->password));
    if (rc == EH_OK && r->db != 0) {
        snprintf(db, sizeof(db), "%d", r->db);
        rc = eh_redis_expect_ok(c, host, port, "SELECT", "SELECT %b", db, strlen(db));
    }
    return rc;
}

/* eh_redis_open connects to host:port with the store's timeout on connect
 * and on every command; *out is the caller's. */
static eh_rc eh_redis_open(const eh_redis *r, const char *host, int port, redisContext **out)
{
    struct timeval tv = eh_redis_timeval(r->timeout_ms);
    redisContext *c;

    c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL)
        return EH_ERR_NOMEM;
    if (c->err != 0) {
        eh_log(EH_LOG_WARN, "redis store: cannot connect to %s:%d: %s", host, port, c->errstr);
        redisFree(c);
        return EH_ERR_STORE_UNAVAILABLE;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return EH_ERR_STORE_UNAVAILABLE;
    }
    *out = c;
    return EH_OK;
}

/* eh_redis_connect makes a new connection to the server at host:port, ready
 * for commands: timeout set, authenticated, database selected. *out is the
 * caller's. */
static eh_rc eh_redis_connect(const eh_redis *r, const char *host, int port, redisContext **out)
{
    redisContext *c = NULL;
    eh_rc rc;

    rc = eh_redis_open(r, host, port, &c);
    if (rc != EH_OK)
        return rc;
    rc = eh_redis_handshake(r, c, host, port);
    if (rc != EH_OK)
        goto cleanup;
    *out = c;
    c = NULL;
cleanup:
    if (c != NULL)
        redisFree(c);
    return rc;
}

/* eh_redis_is_master asks the server on c with ROLE whether it is a master:
 * EH_OK when it is (with the number of replicas it lists in *replicas),
 * EH_ERR_STORE_UNAVAILABLE when it is something else, as eh_redis_io_rc
 * when it does not answer. */
static eh_rc eh_redis_is_master(redisContext *c, const char *host, int port, unsigned *replicas)
{
    redisReply *reply;
    int err_no;
    eh_rc rc = EH_OK;

    errno = 0;
    reply = redisCommand(c, "ROLE");
    err_no = errno;
    if (reply == NULL)
        return eh_redis_io_rc(c, err_no);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(reply->element[0]->str, "master") != 0 ||
        reply->element[2]->type != REDIS_REPLY_ARRAY) {
        eh_log(EH_LOG_WARN, "redis store: %s:%d, named by the sentinels, is not a master", host,
               port);
        rc = EH_ERR_STORE_UNAVAILABLE;
    } else {
        *replicas = (unsigned)reply->element[2]->elements;
    }
    freeReplyObject(reply);
    return rc;
}

/* eh_redis_floor_entry returns r's entry for host:port, taking over the
 * least recently used one when there is none. r->floors_lock is held. */
static eh_redis_floor *eh_redis_floor_entry(eh_redis *r, const char *host, int port, long long now)
{
    eh_redis_floor *f = NULL, *oldest = &r->floors[0];

    for (size_t i = 0; i < EH_REDIS_FLOORS && f == NULL; i++) {
        if (r->floors[i].port == port && strcmp(r->floors[i].host, host) == 0)
            f = &r->floors[i];
        else if (r->floors[i].used_ms < oldest->used_ms)
            oldest = &r->floors[i];
    }
    if (f == NULL) {
        f = oldest;
        memset(f, 0, sizeof(*f));
        snprintf(f->host, sizeof(f->host), "%s", host);
        f->port = port;
        f->floor_ms = now;
    }
    f->used_ms = now;
    return f;
}

/* eh_redis_floor_note records that the master host:port has replicas
 * replicas now. */
static void eh_redis_floor_note(eh_redis *r, const char *host, int port, unsigned replicas)
{
    long long now = eh_redis_now_ms();
    eh_redis_floor *f;

    pthread_mutex_lock(&r->floors_lock);
    f = eh_redis_floor_entry(r, host, port, now);
    f->last = replicas;
    if (replicas >= f->floor || now - f->floor_ms >= EH_REDIS_FLOOR_MS) {
        f->floor = replicas;
        f->floor_ms = now;
    }
    pthread_mutex_unlock(&r->floors_lock);
}

/* eh_redis_floor_need is the number of replicas a take on host:port waits
 * for: the URL's wait=, or more when the master had more replicas lately. */
static unsigned eh_redis_floor_need(eh_redis *r, const char *host, int port)
{
    long long now = eh_redis_now_ms();
    unsigned need = r->wait;
    eh_redis_floor *f;

    pthread_mutex_lock(&r->floors_lock);
    f = eh_redis_floor_entry(r, host, port, now);
    if (now - f->floor_ms < EH_REDIS_FLOOR_MS && f->floor > need)
        need = f->floor;
    else if (f->last > need)
        need = f->last;
    pthread_mutex_unlock(&r->floors_lock);
    return need > EH_REDIS_WAIT_MAX ? EH_REDIS_WAIT_MAX : need;
}

/* What a sentinel says of the master. */
typedef struct eh_redis_named {
    char host[EH_REDIS_HOST_MAX + 1];
    int port;
    long long epoch;
} eh_redis_named;

/* eh_redis_field returns the value of name in the flat name/value array
 * SENTINEL MASTER answers, or NULL. */
static const redisReply *eh_redis_field(const redisReply *reply, const char *name)
{
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *k = reply->element[i], *v = reply->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v;
    }
    return NULL;
}

/* eh_redis_ask_sentinel asks sentinel i of r, in one round trip, for the
 * master's address (SENTINEL GET-MASTER-ADDR-BY-NAME: during a failover it
 * names the promoted replica as soon as it is one) and for the epoch of its
 * configuration (SENTINEL MASTER), on *sc, or on a new connection made into
 * *sc when *sc is NULL. On any failure *sc is closed and NULL. */
static eh_rc eh_redis_ask_sentinel(const eh_redis *r, size_t i, redisContext **sc,
                                   eh_redis_named *out)
{
    const eh_redis_addr *a = &r->addrs[i];
    const redisReply *epoch, *ip, *port;
    redisReply *addr = NULL, *master = NULL;
    void *got;
    long p = 0;
    eh_rc rc;

    if (*sc == NULL && (rc = eh_redis_open(r, a->host, a->port, sc)) != EH_OK)
        return rc;
    errno = 0;
    if (redisAppendCommand(*sc, "SENTINEL GET-MASTER-ADDR-BY-NAME %b", r->master,
                           strlen(r->master)) != REDIS_OK ||
        redisAppendCommand(*sc, "SENTINEL MASTER %b", r->master, strlen(r->master)) != REDIS_OK ||
        redisGetReply(*sc, &got) != REDIS_OK || (addr = got) == NULL ||
        redisGetReply(*sc, &got) != REDIS_OK || (master = got) == NULL) {
        rc = eh_redis_io_rc(*sc, errno);
        eh_log(EH_LOG_WARN, "redis store: sentinel %s:%d did not answer", a->host, a->port);
        goto cleanup;
    }
    rc = EH_ERR_STORE_UNAVAILABLE;
    if (addr->type == REDIS_REPLY_ERROR || master->type == REDIS_REPLY_ERROR) {
        eh_redis_log_error("SENTINEL", addr->type == REDIS_REPLY_ERROR ? addr : master);
        goto cleanup;
    }
    if (addr->type != REDIS_REPLY_ARRAY || addr->elements != 2 ||
        master->type != REDIS_REPLY_ARRAY || (ip = addr->element[0])->type != REDIS_REPLY_STRING ||
        (port = addr->element[1])->type != REDIS_REPLY_STRING ||
        (epoch = eh_redis_field(master, "config-epoch")) == NULL || ip->len == 0 ||
        ip->len > EH_REDIS_HOST_MAX || strlen(ip->str) != ip->len ||
        strpbrk(ip->str, " \t\r\n") != NULL || port->len > 5 || sscanf(port->str, "%ld", &p) != 1 ||
        p < 1 || p > 65535 || sscanf(epoch->str, "%lld", &out->epoch) != 1) {
        eh_log(EH_LOG_WARN, "redis store: sentinel %s:%d gave no usable master address", a->host,
               a->port);
        goto cleanup;
    }
    memcpy(out->host, ip->str, ip->len);
    out->host[ip->len] = '\0';
    out->port = (int)p;
    rc = EH_OK;
cleanup:
    if (addr != NULL)
        freeReplyObject(addr);
    if (master != NULL)
        freeReplyObject(master);
    if (rc != EH_OK && *sc != NULL) {
        redisFree(*sc);
        *sc = NULL;
    }
    return rc;
}

/* eh_redis_ask_sentinels asks the sentinels in turn, from sentinel *index
 * on (on *sc when it is not NULL: a connection to that one), for the master,
 * and takes the first answer that is not older than the newest epoch seen;
 * when every sentinel that answers gives an older one (a sentinel set made
 * anew), the newest of them. On EH_OK *sc is a connection to the sentinel
 * that answered and *index says which one it is; *sc is the caller's either
 * way. */
static eh_rc eh_redis_ask_sentinels(eh_redis *r, redisContext **sc, size_t *index,
                                    eh_redis_named *out)
{
    long long known = __atomic_load_n(&r->epoch, __ATOMIC_RELAXED);
    eh_redis_named named, best;
    redisContext *best_sc = NULL;
    size_t best_index = 0;
    eh_rc rc = EH_ERR_STORE_UNAVAILABLE;

    memset(&best, 0, sizeof(best));
    best.epoch = -1;
    for (size_t k = 0; k < r->naddrs; k++) {
        size_t i = (*index + k) % r->naddrs;
        eh_rc asked;

        if (k > 0 && *sc != NULL) {
            redisFree(*sc);
            *sc = NULL;
        }
        asked = eh_redis_ask_sentinel(r, i, sc, &named);
        if (asked == EH_ERR_NOMEM) {
            rc = asked;
            goto cleanup;
        }
        if (asked != EH_OK)
            continue;
        if (named.epoch >= known) {
            *out = named;
            *index = i;
            rc = EH_OK;
            goto cleanup;
        }
        if (named.epoch > best.epoch) {
            best = named;
            best_index = i;
            if (best_sc != NULL)
                redisFree(best_sc);
            best_sc = *sc;
            *sc = NULL;
        }
    }
    if (best.epoch >= 0) {
        *out = best;
        *index = best_index;
        if (*sc != NULL)
            redisFree(*sc);
        *sc = best_sc;
        best_sc = NULL;
        rc = EH_OK;
    } else {
        eh_log(EH_LOG_WARN, "redis store: no sentinel named a master");
    }
cleanup:
    if (best_sc != NULL)
        redisFree(best_sc);
    if (rc == EH_OK) {
        long long seen = __atomic_load_n(&r->epoch, __ATOMIC_RELAXED);
        while (out->epoch > seen &&
               !__atomic_compare_exchange_n(&r->epoch, &seen, out->epoch, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
            ;
        if (out->epoch < known)
            __atomic_store_n(&r->epoch, out->epoch, __ATOMIC_RELAXED);
        __atomic_store_n(&r->hint, (unsigned)*index, __ATOMIC_RELAXED);
    }
    return rc;
}

/* eh_redis_discover fills the empty slot with a connection to the master
 * the sentinels name, checked with ROLE. A master that cannot be used is
 * not tried again when another sentinel gives the same address; the next
 * sentinel is asked instead. */
static eh_rc eh_redis_discover(eh_redis *r, eh_redis_conn *slot)
{
    redisContext *sc = NULL, *c = NULL;
    eh_redis_named named, failed;
    size_t index = __atomic_load_n(&r->hint, __ATOMIC_RELAXED) % r->naddrs;
    unsigned replicas = 0;
    eh_rc rc = EH_ERR_STORE_UNAVAILABLE;

    memset(&failed, 0, sizeof(failed));
    for (size_t tries = 0; tries < r->naddrs; tries++) {
        rc = eh_redis_ask_sentinels(r, &sc, &index, &named);
        if (rc != EH_OK)
            break;
        if (named.port == failed.port && strcmp(named.host, failed.host) == 0) {
            rc = EH_ERR_STORE_UNAVAILABLE;
        } else {
            rc = eh_redis_connect(r, named.host, named.port, &c);
            if (rc == EH_OK &&
                (rc = eh_redis_is_master(c, named.host, named.port, &replicas)) != EH_OK) {
                redisFree(c);
                c = NULL;
            }
        }
        if (rc == EH_OK || rc == EH_ERR_NOMEM)
            break;
        failed = named;
        index = (index + 1) % r->naddrs;
        redisFree(sc);
        sc = NULL;
    }
    if (rc != EH_OK)
        goto cleanup;
    eh_redis_floor_note(r, named.host, named.port, replicas);
    slot->ctx = c;
    slot->sentinel = sc;
    slot->sentinel_index = index;
    slot->checked_ms = eh_redis_now_ms();
    slot->epoch = named.epoch;
    slot->port = named.port;
    memcpy(slot->host, named.host, sizeof(slot->host));
    sc = NULL;
cleanup:
    if (sc != NULL)
        redisFree(sc);
    return rc;
}

/* eh_redis_recheck, when EH_REDIS_RECHECK_MS have passed or another thread
 * has seen a newer configuration epoch than slot's (a failover: every thread
 * moves as soon as one noticed), asks the sentinels again whether slot's
 * master is still the master, and the master with ROLE
 * whether it still is one (and how many replicas it has). When the
 * sentinels name another one, or the master is not one any more, the slot
 * is freed (the caller connects again). Sentinels that do not answer leave
 * the connection in use: it may well work. */
static void eh_redis_recheck(eh_redis *r, eh_redis_conn *slot)
{
    long long now = eh_redis_now_ms();
    eh_redis_named named;
    size_t index = slot->sentinel_index;
    unsigned replicas = 0;

    if (now - slot->checked_ms < EH_REDIS_RECHECK_MS &&
        slot->epoch >= __atomic_load_n(&r->epoch, __ATOMIC_RELAXED))
        return;
    slot->checked_ms = now;
    if (eh_redis_ask_sentinels(r, &slot->sentinel, &index, &named) == EH_OK) {
        slot->sentinel_index = index;
        if ((named.port != slot->port || strcmp(named.host, slot->host) != 0) &&
            named.epoch >= slot->epoch) {
            eh_log(EH_LOG_WARN, "redis store: the sentinels name a new master, %s:%d (was %s:%d)",
                   named.host, named.port, slot->host, slot->port);
            eh_redis_slot_free(slot);
            return;
        }
        if (named.epoch > slot->epoch)
            slot->epoch = named.epoch;
    }
    if (eh_redis_is_master(slot->ctx, slot->host, slot->port, &replicas) != EH_OK) {
        eh_redis_slot_free(slot);
        return;
    }
    eh_redis_floor_note(r, slot->host, slot->port, replicas);
}

/* eh_redis_connection returns this thread's connection to r (borrowed: it
 * stays in the thread's cache), connecting when there is none; *reused tells
 * whether it was an existing one. */
static eh_rc eh_redis_connection(eh_redis *r, eh_redis_conn **out, int *reused)
{
    eh_redis_cache *c = eh_redis_cache_get();
    eh_redis_conn *slot, fresh;
    eh_rc rc;

    if (c == NULL)
        return EH_ERR_NOMEM;
    slot = eh_redis_slot(c, r);
    if (slot != NULL && r->master != NULL) {
        eh_redis_recheck(r, slot);
        if (slot->ctx == NULL)
            slot = NULL;
    }
    *reused = slot != NULL;
    if (slot != NULL) {
        *out = slot;
        return EH_OK;
    }
    memset(&fresh, 0, sizeof(fresh));
    if (r->master != NULL)
        rc = eh_redis_discover(r, &fresh);
    else
        rc = eh_redis_connect(r, r->addrs[0].host, r->addrs[0].port, &fresh.ctx);
    if (rc != EH_OK)
        return rc;
    for (size_t i = 0; i < EH_REDIS_CACHE_SLOTS && slot == NULL; i++) {
        if (c->conns[i].ctx == NULL)
            slot = &c->conns[i];
    }
    if (slot == NULL) {
        /* All slots taken (stores that were freed, or many stores): evict. */
        slot = &c->conns[c->next_victim++ % EH_REDIS_CACHE_SLOTS];
        eh_redis_slot_free(slot);
    }
    *slot = fresh;
    slot->store = r;
    slot->generation = r->generation;
    *out = slot;
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

/* eh_redis_refused tells whether reply is an error that a Sentinel-named
 * server gives when it is no longer the master (the command was not run). */
static int eh_redis_refused(const eh_redis *r, const redisReply *reply)
{
    return r->master != NULL && reply->type == REDIS_REPLY_ERROR &&
           (strncmp(reply->str, "READONLY", 8) == 0 || strncmp(reply->str, "MASTERDOWN", 10) == 0);
}

/* A command formatted by hiredis (redisFormatCommand), ready to be sent. */
typedef struct eh_redis_cmd {
    char *text;
    size_t len;
} eh_redis_cmd;

/* eh_redis_free_replies frees the n replies at reps and clears them. */
static void eh_redis_free_replies(redisReply **reps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (reps[i] != NULL)
            freeReplyObject(reps[i]);
        reps[i] = NULL;
    }
}

/* eh_redis_exchange sends the n commands at cmds on slot's connection in one
 * write, and when confirm (Sentinel: a take or incr among them) WAIT behind
 * them for as many replicas as eh_redis_floor_need says (WAIT confirms every
 * write sent before it), and reads the n replies into reps. On an I/O error
 * every reps[i] is NULL, the errno is in *err_no and *got says how many
 * replies had come before it (none: the server saw none of the commands, or
 * ran none that answered); the caller looks at the connection. The WAIT
 * answer is read too: EH_ERR_STORE_UNAVAILABLE when too few replicas
 * confirmed (the replies are then freed), as eh_redis_io_rc when it got
 * lost. */
static eh_rc eh_redis_exchange(eh_redis *r, eh_redis_conn *slot, int confirm,
                               const eh_redis_cmd *cmds, size_t n, redisReply **reps,
                               size_t *got, int *err_no)
{
    redisContext *c = slot->ctx;
    redisReply *wait = NULL;
    unsigned need = confirm ? eh_redis_floor_need(r, slot->host, slot->port) : 0;
    char nbuf[16], ms[16];
    void *one = NULL;
    int written = 0;
    eh_rc rc = EH_OK;

    for (size_t i = 0; i < n; i++)
        reps[i] = NULL;
    *got = 0;
    snprintf(nbuf, sizeof(nbuf), "%u", need);
    snprintf(ms, sizeof(ms), "%u", r->timeout_ms / 2 > 0 ? r->timeout_ms / 2 : 1);
    errno = 0;
    for (size_t i = 0; i < n; i++) {
        if (redisAppendFormattedCommand(c, cmds[i].text, cmds[i].len) != REDIS_OK)
            goto io_error;
    }
    if (need > 0 && redisAppendCommand(c, "WAIT %b %b", nbuf, strlen(nbuf), ms, strlen(ms)) !=
                        REDIS_OK)
        goto io_error;
    for (size_t i = 0; i < n; i++) {
        one = NULL;
        if (redisGetReply(c, &one) != REDIS_OK || one == NULL)
            goto io_error;
        reps[i] = one;
        *got = i + 1;
    }
    *err_no = errno;
    if (need == 0)
        return EH_OK;
    for (size_t i = 0; i < n; i++)
        written |= reps[i]->type != REDIS_REPLY_ERROR;
    errno = 0;
    one = NULL;
    if (redisGetReply(c, &one) != REDIS_OK || one == NULL) {
        rc = eh_redis_io_rc(c, errno);
    } else {
        wait = one;
        /* commands that all failed wrote nothing: there is nothing to confirm */
        if (written && (wait->type != REDIS_REPLY_INTEGER || wait->integer < (long long)need)) {
            eh_log(EH_LOG_WARN,
                   "redis store: %s:%d: a write was not confirmed by %u replica(s) "
                   "in time",
                   slot->host, slot->port, need);
            rc = EH_ERR_STORE_UNAVAILABLE;
        }
    }
    if (wait != NULL)
        freeReplyObject(wait);
    if (rc != EH_OK)
        eh_redis_free_replies(reps, n);
    return rc;
io_error:
    *err_no = errno;
    eh_redis_free_replies(reps, n);
    return EH_OK;
}

/* eh_redis_run sends the n commands at cmds in one round trip on this
 * thread's connection to r and reads their n replies into reps, which are
 * the caller's on EH_OK (freeReplyObject each); on any failure the
 * connection is dropped. A connection found closed before any reply came (a
 * Redis that restarted since it was made: it saw none of the commands) is
 * replaced and the commands sent once more; so are commands the server
 * refused because it is no longer the master (Sentinel; the first reply
 * tells: a replica refuses every write). A timeout is never retried, nor a
 * connection lost after some replies came (their commands ran). With
 * confirm (a take or incr among them) and Sentinel, the writes must be
 * confirmed by the replicas. */
static eh_rc eh_redis_run(eh_redis *r, int confirm, const eh_redis_cmd *cmds, size_t n,
                          redisReply **reps)
{
    eh_redis_conn *slot;
    redisContext *c;
    size_t got = 0;
    int err_no = 0, reused = 0;
    eh_rc rc;

    confirm = confirm && r->master != NULL;
    rc = eh_redis_connection(r, &slot, &reused);
    if (rc != EH_OK)
        return rc;
    c = slot->ctx;
    rc = eh_redis_exchange(r, slot, confirm, cmds, n, reps, &got, &err_no);
    if (rc == EH_OK && ((reps[0] == NULL && got == 0 && reused && eh_redis_stale(c, err_no)) ||
                        (reps[0] != NULL && eh_redis_refused(r, reps[0])))) {
        if (reps[0] != NULL) {
            eh_redis_log_error("the master moved", reps[0]);
            eh_redis_free_replies(reps, n);
        }
        eh_redis_drop(r);
        rc = eh_redis_connection(r, &slot, &reused);
        if (rc == EH_OK) {
            c = slot->ctx;
            rc = eh_redis_exchange(r, slot, confirm, cmds, n, reps, &got, &err_no);
        }
    }
    if (rc == EH_OK && reps[0] == NULL)
        rc = eh_redis_io_rc(c, err_no);
    if (rc != EH_OK) {
        eh_redis_drop(r);
        return rc;
    }
    return EH_OK;
}

/* eh_redis_format makes cmd of the argc arguments at argv (lens[i] bytes
 * each): one allocation, binary-safe, no format string to parse. */
static eh_rc eh_redis_format(eh_redis_cmd *cmd, int argc, const char **argv, const size_t *lens)
{
    int len = redisFormatCommandArgv(&cmd->text, argc, argv, lens);

    if (len < 0) {
        cmd->text = NULL;
        return EH_ERR_NOMEM;
    }
    cmd->len = (size_t)len;
    return EH_OK;
}

/* eh_redis_format_set makes "SET key value PX ttl_ms". */
static eh_rc eh_redis_format_set(eh_redis_cmd *cmd, const char *key, const void *value,
                                 size_t len, uint32_t ttl_ms)
{
    char ttl[16];
    const char *argv[] = {"SET", key, value, "PX", ttl};
    size_t lens[] = {3, strlen(key), len, 2, 0};

    lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_ms);
    return eh_redis_format(cmd, 5, argv, lens);
}

/* eh_redis_format_incr makes the EVAL of the INCR/PEXPIRE script for key. */
static eh_rc eh_redis_format_incr(eh_redis_cmd *cmd, const char *key, uint32_t ttl_ms)
{
    char ttl[16];
    const char *argv[] = {"EVAL", eh_redis_incr_script, "1", key, ttl};
    size_t lens[] = {4, sizeof(eh_redis_incr_script) - 1, 1, strlen(key), 0};

    lens[4] = (size_t)snprintf(ttl, sizeof(ttl), "%u", (unsigned)ttl_ms);
    return eh_redis_format(cmd, 5, argv, lens);
}

/* eh_redis_send runs the one formatted command cmd as eh_redis_run does and
 * frees its text. On EH_OK *reply is the caller's (freeReplyObject). */
static eh_rc eh_redis_send(eh_redis *r, int confirm, eh_redis_cmd *cmd, redisReply **reply)
{
    eh_rc rc;

    *reply = NULL;
    rc = eh_redis_run(r, confirm, cmd, 1, reply);
    redisFreeCommand(cmd->text);
    cmd->text = NULL;
    return rc;
}

/* eh_redis_command runs the command of argc arguments at argv (lens[i]
 * bytes each; NULL lens: NUL-terminated) as eh_redis_run does. On EH_OK
 * *reply is the caller's (freeReplyObject). */
static eh_rc eh_redis_command(eh_redis *r, redisReply **reply, int confirm, int argc,
                              const char **argv, const size_t *lens)
{
    eh_redis_cmd cmd;
    eh_rc rc;

    *reply = NULL;
    if ((rc = eh_redis_format(&cmd, argc, argv, lens)) != EH_OK)
        return rc;
    return eh_redis_send(r, confirm, &cmd, reply);
}

/* eh_redis_read is get (GET) and take (GETDEL, Redis >= 6.2): a bulk string
 * is copied into a new NUL-terminated buffer for the caller, nil is
 * EH_ERR_NOT_FOUND. */
static eh_rc eh_redis_read(eh_store *s, const char *cmd, const char *key, char **value, size_t *len)
{
    eh_redis *r = (eh_redis *)s;
    const char *argv[] = {cmd, key};
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, strcmp(cmd, "GETDEL") == 0, 2, argv, NULL);
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

/* eh_redis_set_reply reads the answer to SET. */
static eh_rc eh_redis_set_reply(const eh_redis *r, const redisReply *reply)
{
    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
        return EH_OK;
    return eh_redis_unexpected(r, reply, "SET");
}

static eh_rc eh_redis_set(eh_store *s, const char *key, const void *value, size_t len,
                          uint32_t ttl_ms)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    eh_redis_cmd cmd;
    eh_rc rc;

    if ((rc = eh_redis_format_set(&cmd, key, value, len, ttl_ms)) != EH_OK ||
        (rc = eh_redis_send(r, 0, &cmd, &reply)) != EH_OK)
        return rc;
    rc = eh_redis_set_reply(r, reply);
    freeReplyObject(reply);
    return rc;
}

static eh_rc eh_redis_del(eh_store *s, const char *key)
{
    eh_redis *r = (eh_redis *)s;
    const char *argv[] = {"DEL", key};
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, 0, 2, argv, NULL);
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

/* eh_redis_incr_reply reads the answer to the INCR/PEXPIRE script into
 * *value. A key that holds something other than a counter is
 * EH_ERR_INVALID. */
static eh_rc eh_redis_incr_reply(const eh_redis *r, const redisReply *reply, int64_t *value)
{
    if (reply->type == REDIS_REPLY_INTEGER) {
        *value = reply->integer;
        return EH_OK;
    }
    if (reply->type == REDIS_REPLY_STRING)
        return eh_redis_parse_counter(reply->str, reply->len, value) == 0
                   ? EH_OK
                   : eh_redis_unexpected(r, reply, "EVAL");
    if (reply->type == REDIS_REPLY_ERROR && (strstr(reply->str, "WRONGTYPE") != NULL ||
                                             strstr(reply->str, "not an integer") != NULL ||
                                             strstr(reply->str, "overflow") != NULL))
        return EH_ERR_INVALID;
    return eh_redis_unexpected(r, reply, "EVAL");
}

/* eh_redis_incr runs the INCR/PEXPIRE script in one round trip. */
static eh_rc eh_redis_incr(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value)
{
    eh_redis *r = (eh_redis *)s;
    redisReply *reply;
    eh_redis_cmd cmd;
    eh_rc rc;

    if ((rc = eh_redis_format_incr(&cmd, key, ttl_ms)) != EH_OK ||
        (rc = eh_redis_send(r, 1, &cmd, &reply)) != EH_OK)
        return rc;
    rc = eh_redis_incr_reply(r, reply, value);
    freeReplyObject(reply);
    return rc;
}

/* eh_redis_batch sends the batch's SETs and INCR scripts in one pipelined
 * round trip (eh_redis_run: with Sentinel, one WAIT behind them when an
 * increment is among them) and reads each reply as its single call would. */
static eh_rc eh_redis_batch(eh_store *s, eh_store_batch_op *ops, size_t n)
{
    eh_redis *r = (eh_redis *)s;
    eh_redis_cmd cmds[EH_STORE_BATCH_MAX] = {{NULL, 0}};
    redisReply *reps[EH_STORE_BATCH_MAX];
    size_t made = 0;
    int confirm = 0;
    eh_rc rc = EH_OK, first = EH_OK;

    for (; made < n && rc == EH_OK; made++) {
        const eh_store_batch_op *op = &ops[made];

        if (op->kind == EH_STORE_BATCH_INCR) {
            confirm = 1;
            rc = eh_redis_format_incr(&cmds[made], op->key, op->ttl_ms);
        } else {
            rc = eh_redis_format_set(&cmds[made], op->key, op->value, op->len, op->ttl_ms);
        }
    }
    if (rc == EH_OK)
        rc = eh_redis_run(r, confirm, cmds, n, reps);
    for (size_t i = 0; i < n; i++) {
        if (rc != EH_OK)
            ops[i].rc = rc;
        else if (ops[i].kind == EH_STORE_BATCH_INCR)
            ops[i].rc = eh_redis_incr_reply(r, reps[i], &ops[i].count);
        else
            ops[i].rc = eh_redis_set_reply(r, reps[i]);
        if (rc == EH_OK)
            freeReplyObject(reps[i]);
        if (first == EH_OK)
            first = ops[i].rc;
    }
    for (size_t i = 0; i < made; i++)
        redisFreeCommand(cmds[i].text);
    return first;
}

static eh_rc eh_redis_ping(eh_store *s)
{
    eh_redis *r = (eh_redis *)s;
    const char *argv[] = {"PING"};
    redisReply *reply;
    eh_rc rc;

    rc = eh_redis_command(r, &reply, 0, 1, argv, NULL);
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
    for (size_t i = 0; i < r->naddrs; i++)
        free(r->addrs[i].host);
    free(r->addrs);
    free(r->master);
    pthread_mutex_destroy(&r->floors_lock);
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
    .memory_only = 0, /* every call is a round trip to the server */
    .get = eh_redis_get,
    .set = eh_redis_set,
    .take = eh_redis_take,
    .del = eh_redis_del,
    .incr = eh_redis_incr,
    .ping = eh_redis_ping,
    .batch = eh_redis_batch,
    .free = eh_redis_free,
};

/* ---- URL --------------------------------------------------------------- */

/* eh_redis_fail writes one line into err (never the URL: it may hold the
 * password) and returns EH_ERR_CONFIG. */
static eh_rc eh_redis_fail(char *err, size_t errlen, const char *what)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen,
                 "store URL: %s (expected redis://[[user]:password@]host[:port][/db], or with "
                 "Sentinel redis://[[user]:password@]host[:port][,host[:port]...][/db]"
                 "?sentinel=NAME[&wait=N])",
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

/* eh_redis_parse_hostport reads "host[:port]" or "[v6][:port]" (n bytes at
 * p) into a, with default_port when there is no port. */
static eh_rc eh_redis_parse_hostport(eh_redis_addr *a, const char *p, size_t n, int default_port,
                                     char *err, size_t errlen)
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
        if (strchr("[]@:,", host[i]) != NULL && !(p[0] == '[' && host[i] == ':'))
            return eh_redis_fail(err, errlen, "bad character in host");
    }
    a->host = strndup(host, hlen);
    if (a->host == NULL)
        return EH_ERR_NOMEM;
    a->port = default_port;
    if (port != NULL) {
        if (eh_redis_number(port, (size_t)(end - port), 65535, &v) != 0 || v == 0)
            return eh_redis_fail(err, errlen, "port must be 1..65535");
        a->port = (int)v;
    }
    return EH_OK;
}

/* eh_redis_parse_hosts reads the comma-separated "host[:port]" list (n bytes
 * at p) into r->addrs: one server, or with Sentinel 1..EH_REDIS_SENTINELS_MAX
 * sentinels (port 26379 by default). */
static eh_rc eh_redis_parse_hosts(eh_redis *r, const char *p, size_t n, char *err, size_t errlen)
{
    size_t count = 1;
    eh_rc rc;

    for (size_t i = 0; i < n; i++)
        count += p[i] == ',';
    if (count > 1 && r->master == NULL)
        return eh_redis_fail(err, errlen, "several hosts need ?sentinel=NAME");
    if (count > EH_REDIS_SENTINELS_MAX)
        return eh_redis_fail(err, errlen, "more than 16 sentinels");
    r->addrs = calloc(count, sizeof(*r->addrs));
    if (r->addrs == NULL)
        return EH_ERR_NOMEM;
    for (size_t k = 0; k < count; k++) {
        const char *comma = memchr(p, ',', n);
        size_t len = comma != NULL ? (size_t)(comma - p) : n;

        r->naddrs = k + 1;
        rc = eh_redis_parse_hostport(
            &r->addrs[k], p, len,
            r->master != NULL ? EH_REDIS_SENTINEL_PORT : EH_REDIS_DEFAULT_PORT, err, errlen);
        if (rc != EH_OK)
            return rc;
        if (comma != NULL) {
            n -= len + 1;
            p = comma + 1;
        }
    }
    return EH_OK;
}

/* eh_redis_parse_query reads "sentinel=NAME[&wait=N]" (n bytes at p, in any
 * order, each at most once) into r. */
static eh_rc eh_redis_parse_query(eh_redis *r, const char *p, size_t n, char *err, size_t errlen)
{
    int have_wait = 0;
    long v;

    r->wait = 0;
    while (n > 0) {
        const char *amp = memchr(p, '&', n), *eq;
        size_t len = amp != NULL ? (size_t)(amp - p) : n;

        eq = memchr(p, '=', len);
        if (eq == NULL)
            return eh_redis_fail(err, errlen, "query parameters are name=value");
        if ((size_t)(eq - p) == 8 && memcmp(p, "sentinel", 8) == 0 && r->master == NULL) {
            size_t vlen = len - 9;
            if (vlen == 0 || vlen > EH_REDIS_MASTER_NAME_MAX ||
                strspn(eq + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "._-") < vlen)
                return eh_redis_fail(err, errlen,
                                     "sentinel= needs a master name of 1..64 letters, digits, "
                                     "'.', '_' or '-'");
            r->master = strndup(eq + 1, vlen);
            if (r->master == NULL)
                return EH_ERR_NOMEM;
        } else if ((size_t)(eq - p) == 4 && memcmp(p, "wait", 4) == 0 && !have_wait) {
            if (eh_redis_number(eq + 1, len - 5, EH_REDIS_WAIT_MAX, &v) != 0)
                return eh_redis_fail(err, errlen, "wait= must be a number of replicas, 0..16");
            r->wait = (unsigned)v;
            have_wait = 1;
        } else {
            return eh_redis_fail(err, errlen, "unknown or repeated query parameter");
        }
        if (amp == NULL)
            break;
        if (amp + 1 == p + n)
            return eh_redis_fail(err, errlen, "empty query parameter");
        n -= len + 1;
        p = amp + 1;
    }
    if (r->master == NULL)
        return eh_redis_fail(err, errlen, "a query needs sentinel=NAME");
    return EH_OK;
}

/* eh_redis_parse_url fills r from url; see eh_store_redis_new. */
static eh_rc eh_redis_parse_url(eh_redis *r, const char *url, char *err, size_t errlen)
{
    static const char scheme[] = "redis://";
    const char *auth, *query, *path, *at;
    size_t alen;
    long v;
    eh_rc rc;

    if (strncasecmp(url, scheme, strlen(scheme)) != 0)
        return eh_redis_fail(err, errlen, "not a redis:// URL");
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return eh_redis_fail(err, errlen, "spaces or control characters");
        if (*p == '#')
            return eh_redis_fail(err, errlen, "no fragment allowed");
    }
    auth = url + strlen(scheme);
    query = strchr(auth, '?');
    if (query != NULL) {
        if (strchr(query + 1, '?') != NULL)
            return eh_redis_fail(err, errlen, "more than one '?'");
        rc = eh_redis_parse_query(r, query + 1, strlen(query + 1), err, errlen);
        if (rc != EH_OK)
            return rc;
    } else {
        query = auth + strlen(auth);
    }
    alen = strcspn(auth, "/?");
    path = auth[alen] == '/' ? auth + alen + 1 : NULL;
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
    rc = eh_redis_parse_hosts(r, auth, alen, err, errlen);
    if (rc != EH_OK)
        return rc;
    r->db = 0;
    if (path != NULL && path < query) {
        if (eh_redis_number(path, (size_t)(query - path), 2147483647L, &v) != 0)
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
    pthread_mutex_init(&r->floors_lock, NULL);
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
