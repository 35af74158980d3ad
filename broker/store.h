/* eidhub: the store, where all flow state lives.
 *
 * One small interface (ARCHITECTURE.md "State") with two implementations:
 * Redis through hiredis, for several nodes, and an embedded shared-memory
 * store that every nginx worker of one node shares. Every key has a section
 * prefix ("txn:", "code:", "sso:", "replay:", "rl:") and every key has a TTL:
 * there is no way to store something forever.
 *
 * All calls are blocking and bounded: a Redis call waits for the network, at
 * most the store's timeout; an embedded-store call works on memory under a
 * lock held for microseconds (eh_store_may_block). The nginx module runs
 * handlers that use a store that may block in a thread-pool task, never on
 * the event loop. One eh_store may be used from many threads at once (the
 * Redis implementation keeps one connection per thread; the shared-memory
 * one a process-shared lock) and from many processes (after fork) at once. */
#ifndef EH_STORE_H
#define EH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "broker/rc.h"

/* Limits shared by both implementations, so that both behave alike. */
#define EH_STORE_KEY_MAX 256          /* bytes in a key, without the NUL */
#define EH_STORE_VALUE_MAX (64 * 1024) /* bytes in a value */

typedef struct eh_store eh_store;

/* One write of a batch (eh_store_batch): a set or an increment, with the
 * meaning and the arguments of eh_store_set / eh_store_incr. */
typedef enum eh_store_batch_kind { EH_STORE_BATCH_SET = 0, EH_STORE_BATCH_INCR } eh_store_batch_kind;

typedef struct eh_store_batch_op {
    eh_store_batch_kind kind;
    const char *key;
    const void *value; /* SET: len bytes (NULL for none) */
    size_t len;
    uint32_t ttl_ms; /* SET: the key's lifetime; INCR: the window of a new counter */
    int64_t count;   /* INCR, out: the counter's new value */
    eh_rc rc;        /* out: this operation's own result */
} eh_store_batch_op;

#define EH_STORE_BATCH_MAX 16 /* operations in one batch */

typedef struct eh_store_ops {
    const char *name; /* "redis" or "shm" */
    /* 1: every call works on memory only (no I/O: no network, no file), at
     * most waiting, bounded, for a lock that is held for microseconds; 0 (the
     * default of an implementation that does not say): a call may wait for
     * I/O. What eh_store_may_block answers. */
    int memory_only;
    eh_rc (*get)(eh_store *s, const char *key, char **value, size_t *len);
    eh_rc (*set)(eh_store *s, const char *key, const void *value, size_t len, uint32_t ttl_ms);
    eh_rc (*take)(eh_store *s, const char *key, char **value, size_t *len);
    eh_rc (*del)(eh_store *s, const char *key);
    eh_rc (*incr)(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value);
    eh_rc (*ping)(eh_store *s);
    /* runs n (1..EH_STORE_BATCH_MAX) checked operations, sets every rc */
    eh_rc (*batch)(eh_store *s, eh_store_batch_op *ops, size_t n);
    void (*free)(eh_store *s);
} eh_store_ops;

/* Every implementation's struct starts with this header. */
struct eh_store {
    const eh_store_ops *ops;
};

/* eh_store_get copies the value of key into a new NUL-terminated buffer that
 * the caller owns (*value, free() it) and its length without the NUL (*len).
 * Returns EH_ERR_NOT_FOUND for a missing or expired key, EH_ERR_INVALID for a
 * key that is empty, too long or contains bytes outside 0x21..0x7e,
 * EH_ERR_STORE_UNAVAILABLE / _TIMEOUT when the store cannot answer. */
eh_rc eh_store_get(eh_store *s, const char *key, char **value, size_t *len);

/* eh_store_set stores len bytes of value under key for ttl_ms milliseconds
 * (ttl_ms must be > 0), replacing any previous value. The store copies value.
 * EH_ERR_TOO_LARGE for a value over EH_STORE_VALUE_MAX, EH_ERR_STORE_FULL when
 * the embedded store has no room even after dropping expired keys. */
eh_rc eh_store_set(eh_store *s, const char *key, const void *value, size_t len, uint32_t ttl_ms);

/* eh_store_take is an atomic get-and-delete (Redis GETDEL): of any number of
 * concurrent takes of one key, across threads, processes and nodes, exactly
 * one receives the value; the others get EH_ERR_NOT_FOUND. This is what makes
 * codes and assertion ids single-use. Ownership as for eh_store_get. */
eh_rc eh_store_take(eh_store *s, const char *key, char **value, size_t *len);

/* eh_store_del removes key; removing a missing key is EH_OK. */
eh_rc eh_store_del(eh_store *s, const char *key);

/* eh_store_incr adds one to the counter under key and returns the new value
 * in *value. A counter that did not exist starts at 1 and expires ttl_ms
 * milliseconds after that first increment (a fixed window, for rate limits);
 * later increments do not extend it. A key holding a non-counter value is
 * EH_ERR_INVALID. */
eh_rc eh_store_incr(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value);

/* eh_store_batch runs the n operations at ops (1..EH_STORE_BATCH_MAX sets
 * and increments), in order, in one exchange with the store: one pipelined
 * round trip on Redis (under Sentinel with one WAIT behind the batch when it
 * holds an increment, which confirms every write before it, as a lone incr
 * is confirmed), one hold of the lock on the embedded store. It is not a
 * transaction: each operation is atomic by itself, exactly as separate
 * eh_store_set / eh_store_incr calls are, and gets its own result in
 * ops[i].rc (and an increment its value in ops[i].count); a store that
 * cannot answer fails every one (each ops[i].rc says so). Arguments are
 * checked first as the single calls check them: one bad operation (key,
 * ttl_ms of 0, value too large) is EH_ERR_INVALID / EH_ERR_TOO_LARGE for the
 * whole batch and nothing is sent.
 * Returns EH_OK when every operation succeeded, else the first failure. */
eh_rc eh_store_batch(eh_store *s, eh_store_batch_op *ops, size_t n);

/* eh_store_ping checks, within the timeout, that the store answers. */
eh_rc eh_store_ping(eh_store *s);

/* eh_store_may_block tells whether a call on s may wait for I/O, so that a
 * host with an event loop must make it off that loop (a thread-pool task).
 * 1 for Redis (every call is a network round trip, up to the store's
 * timeout), for NULL and for an implementation that does not say it is
 * memory-only. 0 for the embedded store: a call never waits for I/O. It may
 * still wait for the region's process-shared lock while another thread or
 * process holds it, which is held for microseconds per call (a hash lookup
 * and a copy); that wait is bounded by the lock timeout (1 s,
 * EH_SHM_LOCK_TIMEOUT_MS in store_shm.c, then EH_ERR_STORE_TIMEOUT), which
 * only a process stopped while holding the lock would reach. A write that
 * finds the store full sweeps every bucket once before answering
 * EH_ERR_STORE_FULL (milliseconds for the largest stores, at most once until
 * some entry may have expired). Fast, never blocks itself. */
int eh_store_may_block(const eh_store *s);

/* eh_store_name returns the implementation's name ("redis", "shm"). */
const char *eh_store_name(const eh_store *s);

/* eh_store_free releases s (NULL is fine): connections, mappings it made. */
void eh_store_free(eh_store *s);

/* eh_store_key_valid tells whether key is acceptable to every store: 1..
 * EH_STORE_KEY_MAX bytes of printable ASCII without spaces. */
int eh_store_key_valid(const char *key);

/* ---- Redis (hiredis) ---------------------------------------------------
 * eh_store_redis_new makes a store for url, of the form
 * redis://[[user]:password@]host[:port][/db] (port 6379 and db 0 by
 * default), or with Redis Sentinel
 * redis://[[user]:password@]host[:port][,host[:port]...][/db]?sentinel=NAME[&wait=N]
 * listing 1..16 sentinels (port 26379 by default) that watch the master
 * group NAME (letters, digits, '.', '_', '-'); user, password and db are
 * the master's. Each thread finds the master through the sentinels, follows
 * it across failovers, and has every take and incr confirmed (WAIT) by as
 * many replicas as the master lately had, and by at least N (0 by default),
 * so that a failover never gives a taken code back (store_redis.c).
 * timeout_ms bounds each connect and each command. No connection is made
 * here: each thread connects on first use and reconnects after an error, so
 * a store made in nginx's master is usable in every worker after fork.
 * On a bad url returns EH_ERR_CONFIG with a message in err (errlen bytes). */
eh_rc eh_store_redis_new(const char *url, unsigned timeout_ms, eh_store **out, char *err,
                         size_t errlen);

/* eh_store_redis_other_threads counts the threads other than the calling
 * one whose connections (of any Redis store) are not closed yet: a thread
 * closes them when it ends (eh_broker_process_exit waits for that). */
unsigned eh_store_redis_other_threads(void);

/* ---- Embedded shared memory -------------------------------------------
 * The embedded store lives in one region of memory shared by every process
 * that uses it (nginx's master maps it before forking its workers). The
 * region holds a hash table and a slab heap addressed by offsets, and a
 * robust process-shared mutex, so a worker that dies holding the lock does
 * not wedge the others.
 *
 * eh_store_shm_min_size is the smallest region eh_store_shm_attach accepts. */
size_t eh_store_shm_min_size(void);

/* eh_store_shm_attach makes a store on the size bytes at base. When fresh is
 * non-zero the region is formatted (everything in it is lost); otherwise it
 * must already hold a store formatted with the same size (as when nginx
 * reuses its zone across a reload), else EH_ERR_INVALID. The caller keeps
 * owning the memory: eh_store_free releases only the handle. */
eh_rc eh_store_shm_attach(void *base, size_t size, int fresh, eh_store **out);

/* eh_store_shm_new maps an anonymous shared region of size bytes (for
 * eidhubctl and tests: it is shared with children forked later) and formats
 * it. eh_store_free unmaps it. */
eh_rc eh_store_shm_new(size_t size, eh_store **out);

/* ---- From configuration -----------------------------------------------
 * eh_store_url_parse_shm_size reads the size of "shm://" URLs:
 * "shm://" (default 64 MiB) or "shm://?size=32m" (k, m, g suffixes). */
eh_rc eh_store_url_parse_shm_size(const char *url, size_t *size, char *err, size_t errlen);

#endif
