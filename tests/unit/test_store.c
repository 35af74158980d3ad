#include "tests/unit/suites.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/store.h"
#include "broker/store_shm_internal.h"

/* The store suite runs one table of cases against both implementations (a
 * TCase each), then cases only one of them has. The Redis half needs
 * EH_TEST_REDIS=redis://HOST:PORT[/DB] and fails, never skips, without it.
 * Keys carry a prefix unique to each test run, so runs never collide. */

#define EH_T_SHM_SIZE ((size_t)4 * 1024 * 1024)
#define EH_T_REDIS_TIMEOUT_MS 500
#define EH_T_TTL 60000 /* outlives any test */
#define EH_T_RACERS 50
#define EH_T_THREADS 8
#define EH_T_INCRS 100

typedef enum eh_t_impl {
    EH_T_SHM,
    EH_T_REDIS,
} eh_t_impl;

static eh_store *store;
static eh_t_impl impl;
static char prefix[64];

static void new_prefix(void)
{
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)time(NULL);
    snprintf(prefix, sizeof(prefix), "eh-test:%ld:%08x:", (long)getpid(), (unsigned)r);
}

/* key returns prefix + name, in one of a few rotating buffers. */
static const char *key(const char *name)
{
    static char bufs[8][EH_STORE_KEY_MAX + 64];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s%s", prefix, name);
    return b;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- Fixtures ---------------------------------------------------------- */

/* What the store logged during the test, one line each (cut when full). */
static char logged[16384];
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;

static void capture_log(void *ctx, eh_log_level level, const char *msg)
{
    size_t used;

    pthread_mutex_lock(&logged_lock);
    used = strlen(logged);
    snprintf(logged + used, sizeof(logged) - used, "%s\n", msg);
    pthread_mutex_unlock(&logged_lock);
}

static void capture_logs(void)
{
    logged[0] = '\0';
    eh_log_set_sink(capture_log, NULL, EH_LOG_DEBUG);
}

static void setup_shm(void)
{
    capture_logs();
    impl = EH_T_SHM;
    new_prefix();
    ck_assert_int_eq(eh_store_shm_new(EH_T_SHM_SIZE, &store), EH_OK);
}

static void setup_redis(void)
{
    const char *url = getenv("EH_TEST_REDIS");
    char err[256] = "";
    eh_rc rc;

    capture_logs();
    impl = EH_T_REDIS;
    new_prefix();
    ck_assert_msg(url != NULL && url[0] != '\0',
                  "EH_TEST_REDIS is not set: the Redis half of the store suite needs "
                  "EH_TEST_REDIS=redis://HOST:PORT[/DB] naming a running Redis >= 6.2 "
                  "(./dev test starts one)");
    rc = eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &store, err, sizeof(err));
    ck_assert_msg(rc == EH_OK, "EH_TEST_REDIS: %s", err);
    rc = eh_store_ping(store);
    ck_assert_msg(rc == EH_OK, "the Redis named by EH_TEST_REDIS does not answer PING: %s",
                  eh_strerror(rc));
}

/* After every shm case the whole region must still be consistent. */
static void teardown(void)
{
    if (store != NULL && impl == EH_T_SHM) {
        eh_store_shm_stats st;
        ck_assert_msg(eh_store_shm_check(store, &st) == EH_OK,
                      "the shm region is inconsistent after the test");
    }
    eh_store_free(store);
    store = NULL;
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}

static void setup_offline(void)
{
    /* As in nginx: a peer that closes must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    capture_logs();
    new_prefix();
}

static void teardown_offline(void)
{
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
}

/* child_store is the store a forked child uses: the inherited mapping for
 * shm, a store and connection of its own for Redis. */
static eh_store *child_store(void)
{
    eh_store *s = NULL;

    if (impl == EH_T_SHM)
        return store;
    if (eh_store_redis_new(getenv("EH_TEST_REDIS"), 2000, &s, NULL, 0) != EH_OK)
        return NULL;
    return s;
}

/* ---- Helpers ----------------------------------------------------------- */

static void expect_value_in(eh_store *s, const char *k, const void *want, size_t wlen)
{
    char *v = NULL;
    size_t len = 0;
    eh_rc rc = eh_store_get(s, k, &v, &len);

    ck_assert_msg(rc == EH_OK, "get %s: %s", k, eh_strerror(rc));
    ck_assert_uint_eq(len, wlen);
    ck_assert_msg(memcmp(v, want, wlen) == 0, "get %s: wrong bytes", k);
    ck_assert_int_eq(v[len], '\0');
    free(v);
}

static void expect_value(const char *k, const void *want, size_t wlen)
{
    expect_value_in(store, k, want, wlen);
}

static void expect_missing_in(eh_store *s, const char *k)
{
    char *v = (char *)k;
    size_t len = 99;
    eh_rc rc = eh_store_get(s, k, &v, &len);

    ck_assert_msg(rc == EH_ERR_NOT_FOUND, "get %s: %s", k, eh_strerror(rc));
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(len, 0);
}

static void expect_missing(const char *k)
{
    expect_missing_in(store, k);
}

static void set_ok(const char *k, const char *v, uint32_t ttl_ms)
{
    eh_rc rc = eh_store_set(store, k, v, strlen(v), ttl_ms);

    ck_assert_msg(rc == EH_OK, "set %s: %s", k, eh_strerror(rc));
}

/* ---- Cases for both implementations ------------------------------------ */

START_TEST(roundtrip_keeps_every_byte)
{
    unsigned char bin[600];
    const char *k = key("bin");

    set_ok(key("text"), "hello", EH_T_TTL);
    expect_value(key("text"), "hello", 5);
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 7);
    bin[10] = '\0';
    bin[11] = '\r';
    bin[12] = '\n';
    ck_assert_int_eq(eh_store_set(store, k, bin, sizeof(bin), EH_T_TTL), EH_OK);
    expect_value(k, bin, sizeof(bin));
    ck_assert_int_eq(eh_store_set(store, key("nul"), "a\0b", 3, EH_T_TTL), EH_OK);
    expect_value(key("nul"), "a\0b", 3);
    ck_assert_int_eq(eh_store_set(store, key("empty"), "", 0, EH_T_TTL), EH_OK);
    expect_value(key("empty"), "", 0);
    ck_assert_int_eq(eh_store_set(store, key("null"), NULL, 0, EH_T_TTL), EH_OK);
    expect_value(key("null"), "", 0);
}
END_TEST

START_TEST(missing_key_is_not_found)
{
    char *v = (char *)prefix;
    size_t len = 7;

    expect_missing(key("never-set"));
    ck_assert_int_eq(eh_store_take(store, key("never-set"), &v, &len), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(set_replaces_the_value)
{
    static char big[10000];
    const char *k = key("over");

    memset(big, 'x', sizeof(big));
    set_ok(k, "one", EH_T_TTL);
    set_ok(k, "two", EH_T_TTL);
    expect_value(k, "two", 3);
    ck_assert_int_eq(eh_store_set(store, k, big, sizeof(big), EH_T_TTL), EH_OK);
    expect_value(k, big, sizeof(big));
    set_ok(k, "three", EH_T_TTL);
    expect_value(k, "three", 5);
    /* Around the edges of the smallest blocks. */
    for (size_t n = 0; n < 200; n += 7) {
        ck_assert_int_eq(eh_store_set(store, k, big, n, EH_T_TTL), EH_OK);
        expect_value(k, big, n);
    }
}
END_TEST

START_TEST(del_removes_and_deleting_nothing_is_ok)
{
    const char *k = key("del");

    set_ok(k, "v", EH_T_TTL);
    ck_assert_int_eq(eh_store_del(store, k), EH_OK);
    expect_missing(k);
    ck_assert_int_eq(eh_store_del(store, k), EH_OK);
    ck_assert_int_eq(eh_store_del(store, key("never-set")), EH_OK);
}
END_TEST

START_TEST(value_expires_after_its_ttl)
{
    const char *k = key("exp");
    const char *r = key("renewed");
    char *v = NULL;
    size_t len;

    set_ok(k, "soon gone", 150);
    set_ok(r, "first", 150);
    expect_value(k, "soon gone", 9);
    sleep_ms(100);
    set_ok(r, "second", 400); /* a set starts a new ttl */
    sleep_ms(200);
    expect_missing(k);
    ck_assert_int_eq(eh_store_take(store, k, &v, &len), EH_ERR_NOT_FOUND);
    expect_value(r, "second", 6);
}
END_TEST

START_TEST(take_returns_the_value_once)
{
    const char *k = key("take");
    char *v = NULL;
    size_t len = 0;

    set_ok(k, "code-123", EH_T_TTL);
    ck_assert_int_eq(eh_store_take(store, k, &v, &len), EH_OK);
    ck_assert_uint_eq(len, 8);
    ck_assert_str_eq(v, "code-123");
    free(v);
    v = NULL;
    ck_assert_int_eq(eh_store_take(store, k, &v, &len), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(v);
    expect_missing(k);
}
END_TEST

/* A racer waits for the start signal (EOF on go), takes the key, and
 * reports: exit 0 for the value, 1 for NOT_FOUND, 2 and up for anything
 * else. */
static void racer(int go, const char *k)
{
    eh_store *s = child_store();
    char *v = NULL, c;
    size_t len = 0;
    eh_rc rc;

    if (s == NULL)
        _exit(2);
    if (impl == EH_T_REDIS && eh_store_ping(s) != EH_OK) /* connect before the start */
        _exit(3);
    while (read(go, &c, 1) > 0)
        ;
    rc = eh_store_take(s, k, &v, &len);
    if (rc == EH_ERR_NOT_FOUND)
        _exit(1);
    if (rc != EH_OK)
        _exit(4);
    _exit(len == 7 && strcmp(v, "the-one") == 0 ? 0 : 5);
}

START_TEST(one_of_many_concurrent_takes_wins)
{
    const char *k = key("race");
    pid_t pids[EH_T_RACERS];
    int go[2], winners = 0, losers = 0, status;

    set_ok(k, "the-one", EH_T_TTL);
    ck_assert_int_eq(pipe(go), 0);
    for (int i = 0; i < EH_T_RACERS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            close(go[1]);
            racer(go[0], k);
        }
    }
    close(go[0]);
    sleep_ms(100); /* let them all get ready */
    close(go[1]);
    for (int i = 0; i < EH_T_RACERS; i++) {
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
        ck_assert_msg(WIFEXITED(status), "racer %d died", i);
        if (WEXITSTATUS(status) == 0)
            winners++;
        else if (WEXITSTATUS(status) == 1)
            losers++;
        else
            ck_abort_msg("racer %d failed with status %d", i, WEXITSTATUS(status));
    }
    ck_assert_int_eq(winners, 1);
    ck_assert_int_eq(losers, EH_T_RACERS - 1);
    expect_missing(k);
}
END_TEST

START_TEST(incr_counts_in_a_fixed_window)
{
    const char *k = key("rl");
    int64_t n = 0;

    ck_assert_int_eq(eh_store_incr(store, k, 200, &n), EH_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(eh_store_incr(store, k, 200, &n), EH_OK);
    ck_assert_int_eq(n, 2);
    /* Later increments do not extend the window, whatever their ttl. */
    ck_assert_int_eq(eh_store_incr(store, k, 60000, &n), EH_OK);
    ck_assert_int_eq(n, 3);
    expect_value(k, "3", 1);
    sleep_ms(350);
    expect_missing(k);
    ck_assert_int_eq(eh_store_incr(store, k, 200, &n), EH_OK);
    ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(incr_on_other_values)
{
    static const struct {
        const char *v;
        size_t len;
    } bad[] = {
        {"abc", 3},
        {"1.5", 3},
        {" 12", 3},
        {"12 ", 3},
        {"007", 3},
        {"", 0},
        {"+1", 2},
        {"-0", 2},
        {"0x10", 4},
        {"1\0", 2},
        {"9223372036854775807", 19},
        {"99999999999999999999", 20},
    };
    static const struct {
        const char *v;
        int64_t next;
    } good[] = {
        {"0", 1},
        {"41", 42},
        {"-5", -4},
        {"-1", 0},
        {"-9223372036854775808", -9223372036854775807LL},
    };
    const char *k = key("notcounter");
    int64_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(eh_store_set(store, k, bad[i].v, bad[i].len, EH_T_TTL), EH_OK);
        n = 77;
        ck_assert_msg(eh_store_incr(store, k, EH_T_TTL, &n) == EH_ERR_INVALID,
                      "incr of value %zu was not refused", i);
        ck_assert_int_eq(n, 0);
        expect_value(k, bad[i].v, bad[i].len);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        set_ok(k, good[i].v, EH_T_TTL);
        ck_assert_int_eq(eh_store_incr(store, k, EH_T_TTL, &n), EH_OK);
        ck_assert_int_eq(n, good[i].next);
    }
}
END_TEST

START_TEST(invalid_keys_are_refused)
{
    char longest[EH_STORE_KEY_MAX + 2];
    const char *bad[] = {"",      " ",    "a b",         "a\tb", "a\nb",
                         "a\x01", "\x7f", "caf\xc3\xa9", NULL,   longest};
    char *v = NULL;
    size_t len;
    int64_t n;

    memset(longest, 'k', sizeof(longest));
    longest[EH_STORE_KEY_MAX + 1] = '\0';
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(eh_store_key_valid(bad[i]), 0);
        ck_assert_int_eq(eh_store_set(store, bad[i], "v", 1, EH_T_TTL), EH_ERR_INVALID);
        ck_assert_int_eq(eh_store_get(store, bad[i], &v, &len), EH_ERR_INVALID);
        ck_assert_int_eq(eh_store_take(store, bad[i], &v, &len), EH_ERR_INVALID);
        ck_assert_int_eq(eh_store_del(store, bad[i]), EH_ERR_INVALID);
        ck_assert_int_eq(eh_store_incr(store, bad[i], EH_T_TTL, &n), EH_ERR_INVALID);
    }
    /* The longest key is fine, and so is every printable byte. */
    snprintf(longest, sizeof(longest), "%s", prefix);
    memset(longest + strlen(prefix), 'k', EH_STORE_KEY_MAX - strlen(prefix));
    longest[EH_STORE_KEY_MAX] = '\0';
    ck_assert_int_eq(eh_store_key_valid(longest), 1);
    set_ok(longest, "long", EH_T_TTL);
    expect_value(longest, "long", 4);
    ck_assert_int_eq(eh_store_key_valid("!~\"'\\{}[]:"), 1);
}
END_TEST

START_TEST(ttl_zero_is_refused)
{
    int64_t n;

    ck_assert_int_eq(eh_store_set(store, key("ttl0"), "v", 1, 0), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_incr(store, key("ttl0"), 0, &n), EH_ERR_INVALID);
    expect_missing(key("ttl0"));
}
END_TEST

START_TEST(too_large_value_is_refused)
{
    char *big = malloc(EH_STORE_VALUE_MAX + 1);
    char longest[EH_STORE_KEY_MAX + 1];

    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < EH_STORE_VALUE_MAX + 1; i++)
        big[i] = (char)(i % 251);
    ck_assert_int_eq(eh_store_set(store, key("big"), big, EH_STORE_VALUE_MAX + 1, EH_T_TTL),
                     EH_ERR_TOO_LARGE);
    expect_missing(key("big"));
    /* The largest entry: longest key, largest value. */
    snprintf(longest, sizeof(longest), "%s", prefix);
    memset(longest + strlen(prefix), 'b', EH_STORE_KEY_MAX - strlen(prefix));
    longest[EH_STORE_KEY_MAX] = '\0';
    ck_assert_int_eq(eh_store_set(store, longest, big, EH_STORE_VALUE_MAX, EH_T_TTL), EH_OK);
    expect_value(longest, big, EH_STORE_VALUE_MAX);
    free(big);
}
END_TEST

START_TEST(format_characters_are_stored_verbatim)
{
    static const char strange[] = "%s%n%d%b%%%x %p\r\n$3\r\n*1\r\n-ERR\r\n";
    const char *k = key("%s%n%b%%");
    int64_t n;

    set_ok(k, strange, EH_T_TTL);
    expect_value(k, strange, strlen(strange));
    ck_assert_int_eq(eh_store_incr(store, key("%n%n%n"), EH_T_TTL, &n), EH_OK);
    ck_assert_int_eq(n, 1);
}
END_TEST

START_TEST(ping_and_name)
{
    ck_assert_int_eq(eh_store_ping(store), EH_OK);
    ck_assert_str_eq(eh_store_name(store), impl == EH_T_SHM ? "shm" : "redis");
}
END_TEST

START_TEST(null_arguments_are_refused)
{
    char *v;
    size_t len;

    ck_assert_int_eq(eh_store_get(store, key("x"), NULL, &len), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_get(store, key("x"), &v, NULL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_take(store, key("x"), NULL, NULL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_get(NULL, key("x"), &v, &len), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_set(store, key("x"), NULL, 3, EH_T_TTL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_set(NULL, key("x"), "v", 1, EH_T_TTL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_incr(store, key("x"), EH_T_TTL, NULL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_del(NULL, key("x")), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_ping(NULL), EH_ERR_INVALID);
    ck_assert_str_eq(eh_store_name(NULL), "none");
    eh_store_free(NULL);
    expect_missing(key("x"));
}
END_TEST

/* As nginx's master makes the store and its workers use it: the same handle,
 * used before the fork, works in the child (for Redis on a connection of
 * the child's own) and in the parent afterwards. */
START_TEST(store_used_before_fork_works_in_the_child)
{
    pid_t pid;
    int status;

    set_ok(key("parent"), "p", EH_T_TTL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *v = NULL;
        size_t len;
        if (eh_store_get(store, key("parent"), &v, &len) != EH_OK || strcmp(v, "p") != 0)
            _exit(1);
        if (eh_store_set(store, key("child"), "c", 1, EH_T_TTL) != EH_OK)
            _exit(2);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %d", status);
    expect_value(key("child"), "c", 1);
    expect_value(key("parent"), "p", 1);
}
END_TEST

typedef struct incr_job {
    const char *key;
    int64_t got[EH_T_INCRS];
    eh_rc rc;
} incr_job;

static void *incr_thread(void *arg)
{
    incr_job *job = arg;

    for (int i = 0; i < EH_T_INCRS && job->rc == EH_OK; i++)
        job->rc = eh_store_incr(store, job->key, EH_T_TTL, &job->got[i]);
    return NULL;
}

START_TEST(threads_share_one_store)
{
    static incr_job jobs[EH_T_THREADS];
    static unsigned char seen[EH_T_THREADS * EH_T_INCRS + 1];
    pthread_t t[EH_T_THREADS];
    const char *k = key("threads");
    char want[16];

    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < EH_T_THREADS; i++) {
        jobs[i].key = k;
        jobs[i].rc = EH_OK;
        ck_assert_int_eq(pthread_create(&t[i], NULL, incr_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < EH_T_THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(jobs[i].rc == EH_OK, "thread %d: %s", i, eh_strerror(jobs[i].rc));
        for (int j = 0; j < EH_T_INCRS; j++) {
            int64_t n = jobs[i].got[j];
            ck_assert(n >= 1 && n <= EH_T_THREADS * EH_T_INCRS);
            ck_assert_msg(!seen[n], "value %lld handed out twice", (long long)n);
            seen[n] = 1;
        }
    }
    snprintf(want, sizeof(want), "%d", EH_T_THREADS * EH_T_INCRS);
    expect_value(k, want, strlen(want));
}
END_TEST

/* batch_op is a SET (value non-NULL) or an INCR (value NULL) for a batch. */
static eh_store_batch_op batch_op(const char *k, const char *value, uint32_t ttl_ms)
{
    eh_store_batch_op op = {.kind = value != NULL ? EH_STORE_BATCH_SET : EH_STORE_BATCH_INCR,
                            .key = k,
                            .value = value,
                            .len = value != NULL ? strlen(value) : 0,
                            .ttl_ms = ttl_ms,
                            .count = -1,
                            .rc = EH_ERR_INTERNAL};
    return op;
}

START_TEST(batch_sets_and_counts_in_order)
{
    char a[EH_STORE_KEY_MAX + 64], c[EH_STORE_KEY_MAX + 64], short_lived[EH_STORE_KEY_MAX + 64];
    eh_store_batch_op ops[5];

    snprintf(a, sizeof(a), "%s", key("batch-a"));
    snprintf(c, sizeof(c), "%s", key("batch-c"));
    snprintf(short_lived, sizeof(short_lived), "%s", key("batch-short"));
    ops[0] = batch_op(a, "first", EH_T_TTL);
    ops[1] = batch_op(c, NULL, 200);
    ops[2] = batch_op(a, "second", EH_T_TTL); /* in order: the later set wins */
    ops[3] = batch_op(c, NULL, 60000);        /* a later increment keeps the window */
    ops[4] = batch_op(short_lived, "", 200);
    ck_assert_int_eq(eh_store_batch(store, ops, 5), EH_OK);
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(ops[i].rc == EH_OK, "operation %zu: %s", i, eh_strerror(ops[i].rc));
    ck_assert_int_eq(ops[1].count, 1);
    ck_assert_int_eq(ops[3].count, 2);
    expect_value(a, "second", 6);
    expect_value(c, "2", 1);
    expect_value(short_lived, "", 0);
    /* every key of a batch has its TTL: the counter's window and the short set end */
    sleep_ms(350);
    expect_missing(c);
    expect_missing(short_lived);
    expect_value(a, "second", 6);
    /* a counter made by single calls is counted on by a batch, and back */
    ck_assert_int_eq(eh_store_incr(store, c, EH_T_TTL, &ops[0].count), EH_OK);
    ops[1] = batch_op(c, NULL, EH_T_TTL);
    ck_assert_int_eq(eh_store_batch(store, &ops[1], 1), EH_OK);
    ck_assert_int_eq(ops[1].count, 2);
}
END_TEST

START_TEST(batch_arguments_are_checked_before_anything_is_written)
{
    char big[EH_STORE_VALUE_MAX + 1];
    eh_store_batch_op ops[EH_STORE_BATCH_MAX + 1];
    const char *k = key("batch-args");

    memset(big, 'v', sizeof(big));
    ops[0] = batch_op(k, "v", EH_T_TTL);
    ops[1] = batch_op("a b", "v", EH_T_TTL);
    ck_assert_int_eq(eh_store_batch(store, ops, 2), EH_ERR_INVALID);
    ck_assert_int_eq(ops[0].rc, EH_ERR_INVALID);
    ck_assert_int_eq(ops[1].rc, EH_ERR_INVALID);
    ops[1] = batch_op(key("batch-ttl0"), NULL, 0);
    ck_assert_int_eq(eh_store_batch(store, ops, 2), EH_ERR_INVALID);
    ops[1] = batch_op(key("batch-null"), NULL, EH_T_TTL);
    ops[1].kind = EH_STORE_BATCH_SET;
    ops[1].len = 3; /* no value, but a length */
    ck_assert_int_eq(eh_store_batch(store, ops, 2), EH_ERR_INVALID);
    ops[1] = batch_op(key("batch-big"), "", EH_T_TTL);
    ops[1].value = big;
    ops[1].len = sizeof(big);
    ck_assert_int_eq(eh_store_batch(store, ops, 2), EH_ERR_TOO_LARGE);
    ck_assert_int_eq(ops[0].rc, EH_ERR_INVALID);
    expect_missing(k);
    expect_missing(key("batch-big"));
    /* empty, too long, no operations, no store */
    ck_assert_int_eq(eh_store_batch(store, ops, 0), EH_ERR_INVALID);
    for (size_t i = 0; i < EH_STORE_BATCH_MAX + 1; i++)
        ops[i] = batch_op(k, "v", EH_T_TTL);
    ck_assert_int_eq(eh_store_batch(store, ops, EH_STORE_BATCH_MAX + 1), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_batch(store, NULL, 1), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_batch(NULL, ops, 1), EH_ERR_INVALID);
    ck_assert_int_eq(ops[0].rc, EH_ERR_INVALID);
    expect_missing(k);
    /* the most a batch holds is fine; a set of no bytes with a NULL value too */
    ops[1] = batch_op(key("batch-empty"), NULL, EH_T_TTL);
    ops[1].kind = EH_STORE_BATCH_SET;
    ck_assert_int_eq(eh_store_batch(store, ops, EH_STORE_BATCH_MAX), EH_OK);
    expect_value(k, "v", 1);
    expect_value(key("batch-empty"), "", 0);
}
END_TEST

START_TEST(batch_results_are_per_operation)
{
    char bad[EH_STORE_KEY_MAX + 64], good[EH_STORE_KEY_MAX + 64];
    eh_store_batch_op ops[3];

    snprintf(bad, sizeof(bad), "%s", key("batch-text"));
    snprintf(good, sizeof(good), "%s", key("batch-good"));
    set_ok(bad, "not a counter", EH_T_TTL);
    ops[0] = batch_op(good, NULL, EH_T_TTL);
    ops[1] = batch_op(bad, NULL, EH_T_TTL);
    ops[2] = batch_op(good, "after", EH_T_TTL);
    /* the increment that cannot count fails alone; the others are done */
    ck_assert_int_eq(eh_store_batch(store, ops, 3), EH_ERR_INVALID);
    ck_assert_int_eq(ops[0].rc, EH_OK);
    ck_assert_int_eq(ops[0].count, 1);
    ck_assert_int_eq(ops[1].rc, EH_ERR_INVALID);
    ck_assert_int_eq(ops[2].rc, EH_OK);
    expect_value(bad, "not a counter", 13);
    expect_value(good, "after", 5);
}
END_TEST

typedef struct batch_job {
    const char *keys[2];
    int64_t got[EH_T_INCRS];
    eh_rc rc;
} batch_job;

static void *batch_thread(void *arg)
{
    batch_job *job = arg;

    for (int i = 0; i < EH_T_INCRS && job->rc == EH_OK; i++) {
        eh_store_batch_op ops[2] = {batch_op(job->keys[0], NULL, EH_T_TTL),
                                    batch_op(job->keys[1], NULL, EH_T_TTL)};
        job->rc = eh_store_batch(store, ops, 2);
        job->got[i] = ops[0].count;
    }
    return NULL;
}

/* Batches from many threads count every increment exactly once, as the
 * rate limits need. */
START_TEST(batch_counts_from_many_threads)
{
    static batch_job jobs[EH_T_THREADS];
    static unsigned char seen[EH_T_THREADS * EH_T_INCRS + 1];
    pthread_t t[EH_T_THREADS];
    char k1[EH_STORE_KEY_MAX + 64], k2[EH_STORE_KEY_MAX + 64], want[16];

    snprintf(k1, sizeof(k1), "%s", key("batch-threads-1"));
    snprintf(k2, sizeof(k2), "%s", key("batch-threads-2"));
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < EH_T_THREADS; i++) {
        jobs[i].keys[0] = k1;
        jobs[i].keys[1] = k2;
        jobs[i].rc = EH_OK;
        ck_assert_int_eq(pthread_create(&t[i], NULL, batch_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < EH_T_THREADS; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_msg(jobs[i].rc == EH_OK, "thread %d: %s", i, eh_strerror(jobs[i].rc));
        for (int j = 0; j < EH_T_INCRS; j++) {
            int64_t n = jobs[i].got[j];
            ck_assert(n >= 1 && n <= EH_T_THREADS * EH_T_INCRS);
            ck_assert_msg(!seen[n], "value %lld handed out twice", (long long)n);
            seen[n] = 1;
        }
    }
    snprintf(want, sizeof(want), "%d", EH_T_THREADS * EH_T_INCRS);
    expect_value(k1, want, strlen(want));
    expect_value(k2, want, strlen(want));
}
END_TEST

/* A batch made before a fork is usable in the child (for Redis on a
 * connection of its own, found without a getpid() per command) and in the
 * parent afterwards, and a child of the child too. */
START_TEST(batch_works_across_forks)
{
    eh_store_batch_op ops[2] = {batch_op(key("fork-n"), NULL, EH_T_TTL),
                                batch_op(key("fork-s"), "parent", EH_T_TTL)};
    pid_t pid;
    int status;

    ck_assert_int_eq(eh_store_batch(store, ops, 2), EH_OK);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pid_t grandchild;

        ops[0] = batch_op(key("fork-n"), NULL, EH_T_TTL);
        ops[1] = batch_op(key("fork-s"), "child", EH_T_TTL);
        if (eh_store_batch(store, ops, 2) != EH_OK || ops[0].count != 2)
            _exit(1);
        grandchild = fork();
        if (grandchild < 0)
            _exit(2);
        if (grandchild == 0) {
            ops[0] = batch_op(key("fork-n"), NULL, EH_T_TTL);
            _exit(eh_store_batch(store, ops, 1) == EH_OK && ops[0].count == 3 ? 0 : 3);
        }
        if (waitpid(grandchild, &status, 0) != grandchild || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            _exit(4);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %d", status);
    ops[0] = batch_op(key("fork-n"), NULL, EH_T_TTL);
    ck_assert_int_eq(eh_store_batch(store, ops, 1), EH_OK);
    ck_assert_int_eq(ops[0].count, 4);
    expect_value(key("fork-s"), "child", 5);
}
END_TEST

/* ---- Cases for the shared-memory store only ---------------------------- */

static eh_store *new_small_shm(void)
{
    eh_store *s = NULL;

    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &s), EH_OK);
    return s;
}

static void check_shm(eh_store *s, eh_store_shm_stats *st)
{
    ck_assert_msg(eh_store_shm_check(s, st) == EH_OK, "the shm region is inconsistent");
}

START_TEST(shm_full_store_says_so_and_reuses_expired_space)
{
    eh_store *s = new_small_shm();
    static char val[1000];
    char k[128];
    eh_store_shm_stats st;
    long long t0;
    int n, i;
    eh_rc rc = EH_OK;

    memset(val, 'f', sizeof(val));
    for (n = 0; n < 100000; n++) {
        snprintf(k, sizeof(k), "%sfill:%d", prefix, n);
        rc = eh_store_set(s, k, val, sizeof(val), 400);
        if (rc != EH_OK)
            break;
    }
    ck_assert_int_eq(rc, EH_ERR_STORE_FULL);
    ck_assert_int_gt(n, 100);
    check_shm(s, &st);
    ck_assert_uint_eq(st.entries, (uint64_t)n);
    ck_assert_uint_eq(st.fresh_bytes, 0);
    /* Nothing was lost, and asking again is quick (no sweep: nothing has
     * expired yet). */
    snprintf(k, sizeof(k), "%sfill:%d", prefix, 0);
    expect_value_in(s, k, val, sizeof(val));
    snprintf(k, sizeof(k), "%sfill:%d", prefix, n - 1);
    expect_value_in(s, k, val, sizeof(val));
    t0 = now_ms();
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(eh_store_set(s, "full:again", val, sizeof(val), 400), EH_ERR_STORE_FULL);
    ck_assert_int_lt(now_ms() - t0, 300);
    sleep_ms(500);
    for (i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "%sagain:%d", prefix, i);
        rc = eh_store_set(s, k, val, sizeof(val), EH_T_TTL);
        ck_assert_msg(rc == EH_OK, "set %d after expiry: %s", i, eh_strerror(rc));
    }
    check_shm(s, &st);
    ck_assert_uint_eq(st.entries, (uint64_t)n);
    eh_store_free(s);
}
END_TEST

START_TEST(shm_freed_small_blocks_merge_for_large_values)
{
    eh_store *s = new_small_shm();
    char *big = calloc(1, EH_STORE_VALUE_MAX);
    char k[128];
    eh_store_shm_stats st;
    long long t0;
    uint64_t fits;
    int n, i;
    eh_rc rc = EH_OK;

    ck_assert_ptr_nonnull(big);
    t0 = now_ms();
    for (n = 0; n < 100000 && rc == EH_OK; n++) {
        snprintf(k, sizeof(k), "%ssmall:%d", prefix, n);
        rc = eh_store_set(s, k, "tiny value", 10, 400);
    }
    ck_assert_int_eq(rc, EH_ERR_STORE_FULL);
    check_shm(s, &st);
    ck_assert_uint_gt(st.entries, 1000);
    /* (Unless this machine is so slow that the small ones expired already.) */
    if (now_ms() - t0 < 300)
        ck_assert_int_eq(eh_store_set(s, "large:0", big, EH_STORE_VALUE_MAX, EH_T_TTL),
                         EH_ERR_STORE_FULL);
    sleep_ms(500);
    /* Every 128 KiB block can hold one largest value again. */
    fits = st.heap_bytes / (128 * 1024);
    for (i = 0; (uint64_t)i < fits; i++) {
        snprintf(k, sizeof(k), "large:%d", i);
        rc = eh_store_set(s, k, big, EH_STORE_VALUE_MAX, EH_T_TTL);
        ck_assert_msg(rc == EH_OK, "large value %d: %s", i, eh_strerror(rc));
    }
    ck_assert_int_eq(eh_store_set(s, "large:one-more", big, EH_STORE_VALUE_MAX, EH_T_TTL),
                     EH_ERR_STORE_FULL);
    check_shm(s, &st);
    ck_assert_uint_eq(st.entries, fits);
    /* Removing them all gives every byte back. */
    for (i = 0; (uint64_t)i < fits; i++) {
        snprintf(k, sizeof(k), "large:%d", i);
        ck_assert_int_eq(eh_store_del(s, k), EH_OK);
    }
    check_shm(s, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.used_bytes, 0);
    ck_assert_uint_eq(st.free_bytes + st.fresh_bytes, st.heap_bytes);
    free(big);
    eh_store_free(s);
}
END_TEST

typedef struct model_slot {
    int present;
    size_t len;
    unsigned char *bytes;
} model_slot;

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Random sets (sizes from nothing to 60 KB, so the store fills up), gets,
 * takes and deletes on a few keys, checked against a plain array. */
START_TEST(shm_random_operations_match_a_model)
{
    enum { NKEYS = 64, NOPS = 6000 };
    static unsigned char buf[60000];
    model_slot model[NKEYS];
    eh_store *s = new_small_shm();
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    int fulls = 0;

    memset(model, 0, sizeof(model));
    for (int op = 0; op < NOPS; op++) {
        uint64_t r = next_random(&seed);
        unsigned i = (unsigned)(r % NKEYS);
        char k[128], *v = NULL;
        size_t len = 0;
        eh_rc rc;

        snprintf(k, sizeof(k), "%sm:%u", prefix, i);
        switch ((r >> 16) % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
            len = (r >> 24) % 2 == 0 ? next_random(&seed) % sizeof(buf) : next_random(&seed) % 300;
            for (size_t j = 0; j < len; j += 8) {
                uint64_t b = next_random(&seed);
                memcpy(buf + j, &b, len - j < 8 ? len - j : 8);
            }
            rc = eh_store_set(s, k, buf, len, EH_T_TTL);
            if (rc == EH_ERR_STORE_FULL) {
                fulls++;
                break;
            }
            ck_assert_msg(rc == EH_OK, "op %d set: %s", op, eh_strerror(rc));
            free(model[i].bytes);
            model[i].bytes = malloc(len + 1);
            ck_assert_ptr_nonnull(model[i].bytes);
            memcpy(model[i].bytes, buf, len);
            model[i].len = len;
            model[i].present = 1;
            break;
        case 5:
        case 6:
        case 7:
            if (model[i].present)
                expect_value_in(s, k, model[i].bytes, model[i].len);
            else
                expect_missing_in(s, k);
            break;
        case 8:
            ck_assert_int_eq(eh_store_del(s, k), EH_OK);
            model[i].present = 0;
            break;
        default:
            rc = eh_store_take(s, k, &v, &len);
            if (model[i].present) {
                ck_assert_msg(rc == EH_OK, "op %d take: %s", op, eh_strerror(rc));
                ck_assert_uint_eq(len, model[i].len);
                ck_assert(memcmp(v, model[i].bytes, len) == 0);
            } else {
                ck_assert_int_eq(rc, EH_ERR_NOT_FOUND);
            }
            free(v);
            model[i].present = 0;
            break;
        }
        if (op % 500 == 0)
            check_shm(s, NULL);
    }
    check_shm(s, NULL);
    ck_assert_int_gt(fulls, 0); /* the full path was exercised too */
    for (int i = 0; i < NKEYS; i++)
        free(model[i].bytes);
    eh_store_free(s);
}
END_TEST

START_TEST(shm_attach_sees_the_same_data_at_another_address)
{
    size_t size = 2 * eh_store_shm_min_size();
    int fd = memfd_create("eh-store-test", 0);
    void *a, *b;
    eh_store *sa = NULL, *sb = NULL, *sc = NULL;
    int64_t n;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ck_assert(a != MAP_FAILED && b != MAP_FAILED && a != b);
    ck_assert_int_eq(eh_store_shm_attach(a, size, 1, &sa), EH_OK);
    ck_assert_int_eq(eh_store_set(sa, key("k"), "from a", 6, EH_T_TTL), EH_OK);
    ck_assert_int_eq(eh_store_incr(sa, key("n"), EH_T_TTL, &n), EH_OK);
    ck_assert_int_eq(eh_store_shm_attach(b, size, 0, &sb), EH_OK);
    expect_value_in(sb, key("k"), "from a", 6);
    ck_assert_int_eq(eh_store_incr(sb, key("n"), EH_T_TTL, &n), EH_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(eh_store_set(sb, key("k2"), "from b", 6, EH_T_TTL), EH_OK);
    expect_value_in(sa, key("k2"), "from b", 6);
    check_shm(sa, NULL);
    check_shm(sb, NULL);
    /* A different size is a different store. */
    ck_assert_int_eq(eh_store_shm_attach(b, size - 4096, 0, &sc), EH_ERR_INVALID);
    ck_assert_ptr_null(sc);
    /* Formatting again empties it for everyone. */
    ck_assert_int_eq(eh_store_shm_attach(b, size, 1, &sc), EH_OK);
    expect_missing_in(sa, key("k"));
    eh_store_free(sc);
    /* Freeing a handle leaves the memory to its owner. */
    eh_store_free(sb);
    eh_store_free(sa);
    ck_assert_int_eq(munmap(a, size), 0);
    ck_assert_int_eq(munmap(b, size), 0);
    close(fd);
}
END_TEST

START_TEST(shm_attach_refuses_garbage)
{
    size_t size = 2 * eh_store_shm_min_size();
    unsigned char *g = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    eh_store *s = (eh_store *)g;

    ck_assert(g != MAP_FAILED);
    ck_assert_int_eq(eh_store_shm_attach(g, size, 0, &s), EH_ERR_INVALID);
    ck_assert_ptr_null(s);
    memset(g, 0xa5, size);
    ck_assert_int_eq(eh_store_shm_attach(g, size, 0, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_attach(g, size, 1, &s), EH_OK);
    eh_store_free(s);
    ck_assert_int_eq(eh_store_shm_attach(g, size, 0, &s), EH_OK);
    eh_store_free(s);
    g[0] ^= 0xff; /* the magic number */
    ck_assert_int_eq(eh_store_shm_attach(g, size, 0, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_attach(NULL, size, 1, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_attach(g, size, 1, NULL), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_attach(g, eh_store_shm_min_size() - 1, 1, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_attach(g + 1, size / 2, 1, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size() - 1, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_new(0, &s), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_shm_new(size, NULL), EH_ERR_INVALID);
    munmap(g, size);
}
END_TEST

/* die_holding_lock forks a child that takes the lock and then, holding it,
 * exits (how = 0), or is killed by the parent (how = 1). */
static void die_holding_lock(int dirty, int how)
{
    int ready[2], status;
    char c = 0;
    pid_t pid;

    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (eh_store_shm_test_lock(store, dirty) != EH_OK)
            _exit(1);
        if (how == 0)
            _exit(0);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    if (how == 1) {
        ck_assert_int_eq(read(ready[0], &c, 1), 1);
        kill(pid, SIGKILL);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (how == 0)
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
    close(ready[0]);
}

START_TEST(shm_owner_dying_with_the_lock_does_not_wedge)
{
    long long t0;

    /* Died between changes: the data is intact and stays. */
    set_ok(key("kept"), "v", EH_T_TTL);
    die_holding_lock(0, 0);
    t0 = now_ms();
    expect_value(key("kept"), "v", 1);
    ck_assert_int_lt(now_ms() - t0, 500);
    /* Died in the middle of a change: the store starts empty. */
    ck_assert_ptr_null(strstr(logged, "emptied"));
    die_holding_lock(1, 0);
    expect_missing(key("kept"));
    ck_assert_ptr_nonnull(strstr(logged, "emptied"));
    set_ok(key("after"), "w", EH_T_TTL);
    expect_value(key("after"), "w", 1);
    /* Killed while holding it. */
    die_holding_lock(1, 1);
    t0 = now_ms();
    expect_missing(key("after"));
    ck_assert_int_lt(now_ms() - t0, 500);
    set_ok(key("after"), "x", EH_T_TTL);
    expect_value(key("after"), "x", 1);
}
END_TEST

START_TEST(shm_lock_held_too_long_times_out)
{
    int ready[2], status;
    long long t0, took;
    char c;
    pid_t pid;
    eh_rc rc;

    set_ok(key("k"), "v", EH_T_TTL);
    ck_assert_int_eq(pipe(ready), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        if (eh_store_shm_test_lock(store, 0) != EH_OK || write(ready[1], "x", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    eh_store_shm_test_set_lock_timeout(store, 100);
    t0 = now_ms();
    rc = eh_store_ping(store);
    took = now_ms() - t0;
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    close(ready[0]);
    ck_assert_int_eq(rc, EH_ERR_STORE_TIMEOUT);
    ck_assert_int_ge(took, 90);
    ck_assert_int_lt(took, 1000);
    eh_store_shm_test_set_lock_timeout(store, 1000);
    expect_value(key("k"), "v", 1);
}
END_TEST

/* ---- Cases for Redis only, against the Redis of EH_TEST_REDIS ---------- */

/* test_redis_url builds a URL for the server of EH_TEST_REDIS with other
 * user info ("user:password@", NULL to keep EH_TEST_REDIS's) and database. */
static void test_redis_url(char *out, size_t n, const char *userinfo, const char *db)
{
    const char *url = getenv("EH_TEST_REDIS");
    const char *auth = strstr(url, "://");
    const char *end, *at, *host;

    ck_assert_ptr_nonnull(auth);
    auth += 3;
    end = auth + strcspn(auth, "/");
    at = memchr(auth, '@', (size_t)(end - auth));
    host = at != NULL ? at + 1 : auth;
    if (userinfo != NULL)
        snprintf(out, n, "redis://%s%.*s/%s", userinfo, (int)(end - host), host, db);
    else
        snprintf(out, n, "redis://%.*s/%s", (int)(end - auth), auth, db);
}

START_TEST(redis_wrong_password_is_unavailable)
{
    char url[512], err[256];
    eh_store *s;

    /* The password alone (AUTH password), then user and password. */
    test_redis_url(url, sizeof(url), ":not-the-password@", "");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &s, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(eh_store_set(s, key("x"), "v", 1, EH_T_TTL), EH_ERR_STORE_UNAVAILABLE);
    eh_store_free(s);
    test_redis_url(url, sizeof(url), "eh-no-such-user:not-the-password@", "");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &s, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    eh_store_free(s);
    expect_missing(key("x"));
}
END_TEST

START_TEST(redis_databases_are_separate)
{
    char url[512], err[256];
    eh_store *a, *b;

    test_redis_url(url, sizeof(url), NULL, "14");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &a, err, sizeof(err)), EH_OK);
    test_redis_url(url, sizeof(url), NULL, "15");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &b, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_set(a, key("db"), "in 14", 5, EH_T_TTL), EH_OK);
    expect_value_in(a, key("db"), "in 14", 5);
    expect_missing_in(b, key("db"));
    ck_assert_int_eq(eh_store_del(a, key("db")), EH_OK);
    /* A database the server does not have makes the store unusable. */
    eh_store_free(b);
    test_redis_url(url, sizeof(url), NULL, "99999");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &b, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_ping(b), EH_ERR_STORE_UNAVAILABLE);
    eh_store_free(b);
    eh_store_free(a);
}
END_TEST

/* ---- Redis cases that need no Redis: URLs and a fake server ------------ */

START_TEST(redis_bad_urls_are_config_errors)
{
    static const char *const bad[] = {
        "",
        "http://127.0.0.1:6379",
        "redis:/127.0.0.1",
        "redis://",
        "redis://:6379",
        "redis://host:0",
        "redis://host:65536",
        "redis://host:12ab",
        "redis://host:",
        "redis://host/abc",
        "redis://host/-1",
        "redis://host/1/2",
        "redis://host?db=1",
        "redis://host#x",
        "redis://ho st",
        "redis://secret@host",
        "redis://:@host",
        "redis://:sec%zzret@host",
        "redis://:sec%00ret@host",
        "redis://[::1",
        "redis://[::1]x",
        "redis://h@st:secret@",
        /* Sentinel */
        "redis://a,b",
        "redis://a:1,b:2/0",
        "redis://a?sentinel=",
        "redis://a?sentinel=m&sentinel=n",
        "redis://a?sentinel=m m",
        "redis://a?sentinel=m%20",
        "redis://a?sentinel=m/x",
        "redis://a?wait=1",
        "redis://a?sentinel=m&wait=",
        "redis://a?sentinel=m&wait=17",
        "redis://a?sentinel=m&wait=-1",
        "redis://a?sentinel=m&wait=1&wait=1",
        "redis://a?sentinel=m&",
        "redis://a?sentinel=m&&wait=1",
        "redis://a?sentinel=m&db=1",
        "redis://a?sentinel",
        "redis://a??sentinel=m",
        "redis://a?sentinel=m?",
        "redis://a,?sentinel=m",
        "redis://,a?sentinel=m",
        "redis://a,,b?sentinel=m",
        "redis://a:0,b?sentinel=m",
        "redis://a/x?sentinel=m",
        "redis://a?sentinel=m#x",
        "redis://:secret@a,b:1x?sentinel=m",
        "redis://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q?sentinel=m",
        "redis://a?sentinel=0123456789012345678901234567890123456789012345678901234567890123x",
    };
    eh_store *s = (eh_store *)prefix;
    char err[256];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        ck_assert_msg(eh_store_redis_new(bad[i], 100, &s, err, sizeof(err)) == EH_ERR_CONFIG,
                      "\"%s\" was accepted", bad[i]);
        ck_assert_ptr_null(s);
        ck_assert_msg(strncmp(err, "store URL: ", 11) == 0, "\"%s\": \"%s\"", bad[i], err);
        ck_assert_msg(strstr(err, "secret") == NULL, "the message shows the password");
    }
    ck_assert_int_eq(eh_store_redis_new("redis://host", 0, &s, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_int_eq(eh_store_redis_new(NULL, 100, &s, err, sizeof(err)), EH_ERR_INVALID);
    ck_assert_int_eq(eh_store_redis_new("redis://host", 100, NULL, err, sizeof(err)),
                     EH_ERR_INVALID);
}
END_TEST

START_TEST(redis_good_urls_need_no_server)
{
    static const char *const good[] = {
        "redis://localhost",
        "redis://127.0.0.1:1",
        "redis://127.0.0.1:65535/",
        "REDIS://cache.example.org/15",
        "redis://:p%40ss%2Fw0rd@cache:6380/2",
        "redis://eidhub:pw@[::1]:6380/3",
        "redis://[::1]",
        "redis://s1?sentinel=m",
        "redis://s1:26379,s2:26380,[::1]:26381/3?sentinel=eidhub-master.1",
        "redis://:p%40ss@s1,s2/?sentinel=m&wait=2",
        "redis://eidhub:pw@s1?wait=0&sentinel=m_2",
        "redis://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p?sentinel=m",
    };
    char err[256];
    eh_store *s;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        eh_rc rc = eh_store_redis_new(good[i], 100, &s, err, sizeof(err));
        ck_assert_msg(rc == EH_OK, "\"%s\": %s", good[i], err);
        ck_assert_str_eq(eh_store_name(s), "redis");
        eh_store_free(s);
    }
}
END_TEST

/* free_port returns a loopback port nobody listens on (it was just free). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

START_TEST(redis_closed_port_is_unavailable_quickly)
{
    char url[64], *v;
    size_t len;
    eh_store *s;
    long long t0;
    int64_t n;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port());
    ck_assert_int_eq(eh_store_redis_new(url, 500, &s, NULL, 0), EH_OK);
    t0 = now_ms();
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(eh_store_get(s, "k", &v, &len), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(eh_store_set(s, "k", "v", 1, 1000), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(eh_store_incr(s, "k", 1000, &n), EH_ERR_STORE_UNAVAILABLE);
    {
        eh_store_batch_op ops[2] = {batch_op("k", "v", 1000), batch_op("n", NULL, 1000)};
        ck_assert_int_eq(eh_store_batch(s, ops, 2), EH_ERR_STORE_UNAVAILABLE);
        ck_assert_int_eq(ops[0].rc, EH_ERR_STORE_UNAVAILABLE);
        ck_assert_int_eq(ops[1].rc, EH_ERR_STORE_UNAVAILABLE);
    }
    ck_assert_int_lt(now_ms() - t0, 500);
    eh_store_free(s);
}
END_TEST

/* A fake server: for its i-th connection it follows script[i] (the last
 * one for all later connections). */
typedef struct fake_step {
    const char *reply; /* sent for every read; NULL: never answer; "": close at once */
    unsigned delay_ms; /* before each reply */
} fake_step;

typedef struct fake_server {
    pid_t pid;
    int port;
} fake_server;

/* fake_serve runs in the fake server's process: it accepts connections and
 * serves each in a process of its own, so that several can be open at once. */
static void fake_serve(int ls, const fake_step *script, size_t n)
{
    char buf[4096];

    signal(SIGCHLD, SIG_IGN);
    for (size_t i = 0;; i++) {
        const fake_step *st = &script[i < n ? i : n - 1];
        int c = accept(ls, NULL, NULL);

        if (c < 0)
            _exit(1);
        if (st->reply == NULL)
            continue; /* keep it open, say nothing */
        if (st->reply[0] == '\0' || fork() != 0) {
            if (st->reply[0] == '\0')
                close(c);
            continue;
        }
        close(ls);
        while (read(c, buf, sizeof(buf)) > 0) {
            if (st->delay_ms > 0)
                sleep_ms(st->delay_ms);
            if (write(c, st->reply, strlen(st->reply)) < 0)
                break;
        }
        _exit(0);
    }
}

static void fake_start(fake_server *f, const fake_step *script, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(ls, 0);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 64), 0);
    ck_assert_int_eq(getsockname(ls, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    f->pid = fork();
    ck_assert_int_ge(f->pid, 0);
    if (f->pid == 0) {
        setpgid(0, 0);
        fake_serve(ls, script, n);
    }
    close(ls);
}

static void fake_stop(fake_server *f)
{
    kill(-f->pid, SIGKILL); /* the server and the processes serving connections */
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
}

static eh_store *fake_store(const fake_server *f, unsigned timeout_ms)
{
    char url[64];
    eh_store *s = NULL;

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", f->port);
    ck_assert_int_eq(eh_store_redis_new(url, timeout_ms, &s, NULL, 0), EH_OK);
    return s;
}

START_TEST(redis_strange_replies_never_crash)
{
    const eh_rc P = EH_ERR_STORE_PROTOCOL, NF = EH_ERR_NOT_FOUND, U = EH_ERR_STORE_UNAVAILABLE;
    const struct {
        const char *reply;
        eh_rc get, take, set, del, incr, ping;
    } cases[] = {
        {"*2\r\n:1\r\n:2\r\n", P, P, P, P, P, P},
        {"*2\r\n*1\r\n*1\r\n$1\r\nx\r\n*0\r\n", P, P, P, P, P, P},
        {"-ERR boom\r\n", P, P, P, P, P, P},
        {"-ERR\r\n", P, P, P, P, P, P},
        {"hello\r\n", P, P, P, P, P, P},
        {"\r\n", P, P, P, P, P, P},
        {"+OK\r\n", P, P, EH_OK, P, P, P},
        {"+PONG\r\n", P, P, P, P, P, EH_OK},
        {":7\r\n", P, P, P, EH_OK, EH_OK, P},
        {"$-1\r\n", NF, NF, P, P, P, P},
        {"*-1\r\n", NF, NF, P, P, P, P},
        {"$3\r\nabc\r\n", EH_OK, EH_OK, P, P, P, P},
        {"$0\r\n\r\n", EH_OK, EH_OK, P, P, P, P},
        {"-LOADING Redis is loading the dataset in memory\r\n", U, U, U, U, U, U},
        {"-READONLY You can't write against a read only replica.\r\n", U, U, U, U, U, U},
        {"-OOM command not allowed when used memory > 'maxmemory'.\r\n", EH_ERR_STORE_FULL,
         EH_ERR_STORE_FULL, EH_ERR_STORE_FULL, EH_ERR_STORE_FULL, EH_ERR_STORE_FULL,
         EH_ERR_STORE_FULL},
        {"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", P, P, P, P,
         EH_ERR_INVALID, P},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_step step = {cases[i].reply, 0};
        fake_server f;
        eh_store *s;
        char *v = NULL;
        size_t len;
        int64_t n = 0;

        fake_start(&f, &step, 1);
        s = fake_store(&f, 300);
        ck_assert_msg(eh_store_get(s, "k", &v, &len) == cases[i].get, "get, reply %zu", i);
        if (cases[i].get == EH_OK) {
            ck_assert_int_eq(v[len], '\0');
            free(v);
        }
        ck_assert_msg(eh_store_take(s, "k", &v, &len) == cases[i].take, "take, reply %zu", i);
        if (cases[i].take == EH_OK)
            free(v);
        ck_assert_msg(eh_store_set(s, "k", "v", 1, 1000) == cases[i].set, "set, reply %zu", i);
        ck_assert_msg(eh_store_del(s, "k") == cases[i].del, "del, reply %zu", i);
        ck_assert_msg(eh_store_incr(s, "k", 1000, &n) == cases[i].incr, "incr, reply %zu", i);
        if (cases[i].incr == EH_OK)
            ck_assert_int_eq(n, 7);
        ck_assert_msg(eh_store_ping(s) == cases[i].ping, "ping, reply %zu", i);
        eh_store_free(s);
        fake_stop(&f);
    }
}
END_TEST

START_TEST(redis_logs_never_show_keys)
{
    static const fake_step step = {
        "-ERR unknown command 'GETDEL', with args beginning with: 'eh-secret-key' \r\n", 0};
    fake_server f;
    eh_store *s;
    char *v = NULL;
    size_t len;

    fake_start(&f, &step, 1);
    s = fake_store(&f, 300);
    ck_assert_int_eq(eh_store_take(s, "eh-secret-key", &v, &len), EH_ERR_STORE_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(logged, "unknown command"));
    ck_assert_ptr_null(strstr(logged, "eh-secret-key"));
    eh_store_free(s);
    fake_stop(&f);
}
END_TEST

START_TEST(redis_silent_server_times_out_and_the_next_call_reconnects)
{
    /* 1: never answers; 2: answers too late; 3: answers at once. */
    static const fake_step script[] = {
        {NULL, 0},
        {"$5\r\nstale\r\n", 400},
        {"$5\r\nfresh\r\n", 0},
    };
    fake_server f;
    eh_store *s;
    char *v = NULL;
    size_t len;
    long long t0, took;

    fake_start(&f, script, 3);
    s = fake_store(&f, 200);
    t0 = now_ms();
    ck_assert_int_eq(eh_store_get(s, "k", &v, &len), EH_ERR_STORE_TIMEOUT);
    took = now_ms() - t0;
    ck_assert_int_ge(took, 150);
    ck_assert_int_lt(took, 1000);
    ck_assert_int_eq(eh_store_get(s, "k", &v, &len), EH_ERR_STORE_TIMEOUT);
    /* The late answer of the second connection is never read as this one's. */
    ck_assert_int_eq(eh_store_get(s, "k", &v, &len), EH_OK);
    ck_assert_str_eq(v, "fresh");
    free(v);
    eh_store_free(s);
    fake_stop(&f);
}
END_TEST

START_TEST(redis_half_reply_times_out)
{
    static const fake_step step = {"$10\r\nabc", 0};
    fake_server f;
    eh_store *s;
    char *v = NULL;
    size_t len;

    fake_start(&f, &step, 1);
    s = fake_store(&f, 200);
    ck_assert_int_eq(eh_store_get(s, "k", &v, &len), EH_ERR_STORE_TIMEOUT);
    ck_assert_ptr_null(v);
    eh_store_free(s);
    fake_stop(&f);
}
END_TEST

START_TEST(redis_server_that_hangs_up_is_unavailable)
{
    static const fake_step script[] = {{"", 0}, {"+PONG\r\n", 0}};
    fake_server f;
    eh_store *s;

    fake_start(&f, script, 2);
    s = fake_store(&f, 500);
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(eh_store_ping(s), EH_OK);
    eh_store_free(s);
    fake_stop(&f);
}
END_TEST

START_TEST(redis_many_stores_in_one_thread)
{
    static const fake_step pong = {"+PONG\r\n", 0};
    fake_server f;
    eh_store *s[20];

    fake_start(&f, &pong, 1);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 20; i++) {
            if (round == 0)
                s[i] = fake_store(&f, 500);
            ck_assert_int_eq(eh_store_ping(s[i]), EH_OK);
        }
    }
    for (int i = 0; i < 20; i++)
        eh_store_free(s[i]);
    fake_stop(&f);
}
END_TEST

/* A thread that pings first one store, then (after the main thread freed it
 * and made another) the next one: the second ping must reach the second
 * store's server, even when the new store has the old one's address. */
typedef struct stale_job {
    pthread_barrier_t step;
    eh_store *volatile s;
    eh_rc first, second;
} stale_job;

static void *stale_thread(void *arg)
{
    stale_job *job = arg;

    job->first = eh_store_ping(job->s);
    pthread_barrier_wait(&job->step);
    pthread_barrier_wait(&job->step);
    job->second = eh_store_ping(job->s);
    return NULL;
}

START_TEST(redis_freed_store_connection_is_never_reused)
{
    static const fake_step pong = {"+PONG\r\n", 0};
    static const fake_step other = {"-ERR I am the other server\r\n", 0};
    fake_server a, b;
    stale_job job;
    pthread_t t;

    fake_start(&a, &pong, 1);
    fake_start(&b, &other, 1);
    ck_assert_int_eq(pthread_barrier_init(&job.step, NULL, 2), 0);
    job.s = fake_store(&a, 500);
    ck_assert_int_eq(pthread_create(&t, NULL, stale_thread, &job), 0);
    pthread_barrier_wait(&job.step);
    eh_store_free(job.s);
    job.s = fake_store(&b, 500);
    pthread_barrier_wait(&job.step);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(job.first, EH_OK);
    ck_assert_int_eq(job.second, EH_ERR_STORE_PROTOCOL);
    eh_store_free(job.s);
    pthread_barrier_destroy(&job.step);
    fake_stop(&a);
    fake_stop(&b);
}
END_TEST

typedef struct held_job {
    eh_store *s;
    pthread_barrier_t step;
    eh_rc rc;
} held_job;

static void *held_thread(void *arg)
{
    held_job *job = arg;

    job->rc = eh_store_ping(job->s);
    pthread_barrier_wait(&job->step); /* connected */
    pthread_barrier_wait(&job->step); /* may end */
    return NULL;
}

/* A thread's connections count until it has ended and closed them (what
 * eh_broker_process_exit waits for); the calling thread's own never count. */
START_TEST(redis_thread_connections_count_until_the_thread_ends)
{
    held_job job = {.s = store, .rc = EH_ERR_INTERNAL};
    unsigned before;
    pthread_t t;

    ck_assert_int_eq(eh_store_ping(store), EH_OK); /* this thread's: not counted */
    before = eh_store_redis_other_threads();
    ck_assert_int_eq(pthread_barrier_init(&job.step, NULL, 2), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, held_thread, &job), 0);
    pthread_barrier_wait(&job.step);
    ck_assert_int_eq(job.rc, EH_OK);
    ck_assert_uint_eq(eh_store_redis_other_threads(), before + 1);
    pthread_barrier_wait(&job.step);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(eh_store_redis_other_threads(), before);
    pthread_barrier_destroy(&job.step);
}
END_TEST

/* ---- Sentinel: a fake sentinel, naming fake servers or EH_TEST_REDIS ---- */

/* sentinel_reply fills buf with what a sentinel answers to the store's two
 * questions (the master's address, then SENTINEL MASTER with its epoch). */
static const char *sentinel_reply(char *buf, size_t n, const char *host, int port)
{
    char p[8];

    snprintf(p, sizeof(p), "%d", port);
    snprintf(buf, n,
             "*2\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n"
             "*4\r\n$4\r\nname\r\n$1\r\nm\r\n$12\r\nconfig-epoch\r\n$1\r\n0\r\n",
             strlen(host), host, strlen(p), p);
    return buf;
}

/* sentinel_url is a Sentinel URL for the sentinels on ports (n of them), with
 * the user info and database of EH_TEST_REDIS when redis is set. */
static void sentinel_url(char *out, size_t size, const int *ports, size_t n, int redis,
                         const char *query)
{
    const char *url = redis ? getenv("EH_TEST_REDIS") : NULL;
    const char *auth = url != NULL ? strstr(url, "://") + 3 : NULL;
    const char *end = auth != NULL ? auth + strcspn(auth, "/") : NULL;
    const char *at = auth != NULL ? memchr(auth, '@', (size_t)(end - auth)) : NULL;
    size_t used;

    used = (size_t)snprintf(out, size, "redis://%.*s", at != NULL ? (int)(at + 1 - auth) : 0,
                            at != NULL ? auth : "");
    for (size_t i = 0; i < n; i++)
        used +=
            (size_t)snprintf(out + used, size - used, "%s127.0.0.1:%d", i > 0 ? "," : "", ports[i]);
    snprintf(out + used, size - used, "%s?sentinel=m%s", end != NULL && *end ? end : "/", query);
}

/* redis_host_port reads the host and port of EH_TEST_REDIS. */
static void redis_host_port(char *host, size_t n, int *port)
{
    const char *url = getenv("EH_TEST_REDIS");
    const char *auth = strstr(url, "://") + 3, *end = auth + strcspn(auth, "/");
    const char *at = memchr(auth, '@', (size_t)(end - auth)), *h = at != NULL ? at + 1 : auth;
    const char *colon = memchr(h, ':', (size_t)(end - h));

    snprintf(host, n, "%.*s", (int)((colon != NULL ? colon : end) - h), h);
    *port = colon != NULL ? atoi(colon + 1) : 6379;
}

START_TEST(redis_sentinel_names_the_master)
{
    static char reply[256];
    char url[512], host[128], *v = NULL;
    int port, ports[2];
    fake_server sentinel;
    fake_step step;
    eh_store *s;
    size_t len;
    int64_t n = 0;

    redis_host_port(host, sizeof(host), &port);
    step = (fake_step){sentinel_reply(reply, sizeof(reply), host, port), 0};
    fake_start(&sentinel, &step, 1);
    /* The first sentinel is not there: the second one is asked. */
    ports[0] = free_port();
    ports[1] = sentinel.port;
    sentinel_url(url, sizeof(url), ports, 2, 1, "");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &s, NULL, 0), EH_OK);
    ck_assert_int_eq(eh_store_ping(s), EH_OK);
    ck_assert_int_eq(eh_store_set(s, key("s"), "via sentinel", 12, EH_T_TTL), EH_OK);
    expect_value(key("s"), "via sentinel", 12);
    ck_assert_int_eq(eh_store_incr(s, key("n"), EH_T_TTL, &n), EH_OK);
    ck_assert_int_eq(n, 1);
    {
        eh_store_batch_op ops[2] = {batch_op(key("n"), NULL, EH_T_TTL),
                                    batch_op(key("b"), "batched", EH_T_TTL)};
        ck_assert_int_eq(eh_store_batch(s, ops, 2), EH_OK);
        ck_assert_int_eq(ops[0].count, 2);
        expect_value(key("b"), "batched", 7);
    }
    /* A master without replicas confirms takes without waiting (wait=0). */
    ck_assert_int_eq(eh_store_take(s, key("s"), &v, &len), EH_OK);
    ck_assert_str_eq(v, "via sentinel");
    free(v);
    v = NULL;
    eh_store_free(s);
    /* wait=1: no replica confirms a take or incr, so they fail; reads work. */
    sentinel_url(url, sizeof(url), ports, 2, 1, "&wait=1");
    ck_assert_int_eq(eh_store_redis_new(url, EH_T_REDIS_TIMEOUT_MS, &s, NULL, 0), EH_OK);
    ck_assert_int_eq(eh_store_set(s, key("w"), "x", 1, EH_T_TTL), EH_OK);
    ck_assert_int_eq(eh_store_take(s, key("w"), &v, &len), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(eh_store_incr(s, key("n"), EH_T_TTL, &n), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(logged, "not confirmed by 1 replica"));
    /* a batch with an increment waits behind it as the increment alone
     * would: unconfirmed, every operation fails; a batch of sets does not wait */
    {
        eh_store_batch_op ops[2] = {batch_op(key("bw"), "x", EH_T_TTL),
                                    batch_op(key("n"), NULL, EH_T_TTL)};
        ck_assert_int_eq(eh_store_batch(s, ops, 2), EH_ERR_STORE_UNAVAILABLE);
        ck_assert_int_eq(ops[0].rc, EH_ERR_STORE_UNAVAILABLE);
        ck_assert_int_eq(ops[1].rc, EH_ERR_STORE_UNAVAILABLE);
        ck_assert_int_eq(eh_store_batch(s, ops, 1), EH_OK);
    }
    ck_assert_int_eq(eh_store_ping(s), EH_OK);
    eh_store_free(s);
    fake_stop(&sentinel);
}
END_TEST

START_TEST(redis_sentinel_without_a_master_is_unavailable)
{
    static char reply[256];
    /* The sentinel does not know the name; then it names a replica. */
    static const fake_step unknown = {"*-1\r\n*0\r\n", 0};
    static const fake_step replica = {"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:1\r\n"
                                      "$9\r\nconnected\r\n:0\r\n",
                                      0};
    fake_server sentinel, server;
    fake_step step;
    char url[512];
    eh_store *s;
    long long t0;
    int port;

    fake_start(&sentinel, &unknown, 1);
    sentinel_url(url, sizeof(url), &sentinel.port, 1, 0, "");
    ck_assert_int_eq(eh_store_redis_new(url, 300, &s, NULL, 0), EH_OK);
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(logged, "gave no usable master address"));
    eh_store_free(s);
    fake_stop(&sentinel);

    fake_start(&server, &replica, 1);
    step = (fake_step){sentinel_reply(reply, sizeof(reply), "127.0.0.1", server.port), 0};
    fake_start(&sentinel, &step, 1);
    sentinel_url(url, sizeof(url), &sentinel.port, 1, 0, "");
    ck_assert_int_eq(eh_store_redis_new(url, 300, &s, NULL, 0), EH_OK);
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(logged, "is not a master"));
    eh_store_free(s);
    fake_stop(&sentinel);
    fake_stop(&server);

    /* No sentinel at all answers: unavailable, quickly. */
    port = free_port();
    sentinel_url(url, sizeof(url), &port, 1, 0, "");
    ck_assert_int_eq(eh_store_redis_new(url, 300, &s, NULL, 0), EH_OK);
    t0 = now_ms();
    ck_assert_int_eq(eh_store_ping(s), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_lt(now_ms() - t0, 300);
    ck_assert_ptr_nonnull(strstr(logged, "no sentinel named a master"));
    eh_store_free(s);
}
END_TEST

/* ---- The suite --------------------------------------------------------- */

Suite *suite_store(void)
{
    const TTest *const common[] = {
        roundtrip_keeps_every_byte,
        missing_key_is_not_found,
        set_replaces_the_value,
        del_removes_and_deleting_nothing_is_ok,
        value_expires_after_its_ttl,
        take_returns_the_value_once,
        one_of_many_concurrent_takes_wins,
        incr_counts_in_a_fixed_window,
        incr_on_other_values,
        invalid_keys_are_refused,
        ttl_zero_is_refused,
        too_large_value_is_refused,
        format_characters_are_stored_verbatim,
        ping_and_name,
        null_arguments_are_refused,
        store_used_before_fork_works_in_the_child,
        threads_share_one_store,
        batch_sets_and_counts_in_order,
        batch_arguments_are_checked_before_anything_is_written,
        batch_results_are_per_operation,
        batch_counts_from_many_threads,
        batch_works_across_forks,
    };
    const TTest *const shm_only[] = {
        shm_full_store_says_so_and_reuses_expired_space,
        shm_freed_small_blocks_merge_for_large_values,
        shm_random_operations_match_a_model,
        shm_attach_sees_the_same_data_at_another_address,
        shm_attach_refuses_garbage,
        shm_owner_dying_with_the_lock_does_not_wedge,
        shm_lock_held_too_long_times_out,
    };
    const TTest *const redis_only[] = {
        redis_wrong_password_is_unavailable,
        redis_databases_are_separate,
        redis_sentinel_names_the_master,
        redis_thread_connections_count_until_the_thread_ends,
    };
    const TTest *const redis_offline[] = {
        redis_bad_urls_are_config_errors,
        redis_good_urls_need_no_server,
        redis_closed_port_is_unavailable_quickly,
        redis_strange_replies_never_crash,
        redis_logs_never_show_keys,
        redis_silent_server_times_out_and_the_next_call_reconnects,
        redis_half_reply_times_out,
        redis_server_that_hangs_up_is_unavailable,
        redis_many_stores_in_one_thread,
        redis_freed_store_connection_is_never_reused,
        redis_sentinel_without_a_master_is_unavailable,
    };
    Suite *s = suite_create("store");
    TCase *shm = tcase_create("shm");
    TCase *redis = tcase_create("redis");
    TCase *offline = tcase_create("redis-offline");

    tcase_add_checked_fixture(shm, setup_shm, teardown);
    tcase_add_checked_fixture(redis, setup_redis, teardown);
    tcase_add_checked_fixture(offline, setup_offline, teardown_offline);
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        tcase_add_test(shm, common[i]);
        tcase_add_test(redis, common[i]);
    }
    for (size_t i = 0; i < sizeof(shm_only) / sizeof(shm_only[0]); i++)
        tcase_add_test(shm, shm_only[i]);
    for (size_t i = 0; i < sizeof(redis_only) / sizeof(redis_only[0]); i++)
        tcase_add_test(redis, redis_only[i]);
    for (size_t i = 0; i < sizeof(redis_offline) / sizeof(redis_offline[0]); i++)
        tcase_add_test(offline, redis_offline[i]);
    tcase_set_timeout(shm, 30);
    tcase_set_timeout(redis, 30);
    tcase_set_timeout(offline, 30);
    suite_add_tcase(s, shm);
    suite_add_tcase(s, redis);
    suite_add_tcase(s, offline);
    return s;
}
