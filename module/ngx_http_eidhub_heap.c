/* The worker's malloc heaps (glibc): how many arenas, when a heap's free top
 * goes back to the system, and the periodic trim.
 *
 * What was measured (bench/results/profile-2026-11-23.md): eidhub's live
 * heap does not grow over thousands of logins (valgrind's massif), while
 * glibc's heaps around it grow by megabytes. Three things of glibc's keep
 * that memory, and each has its remedy here:
 *   - arenas: a thread that finds the arenas busy gets a new one, up to 8
 *     per CPU, each keeping what is freed into it; eidhub allows one per
 *     CPU, at least 2 (2 workers on 2 CPUs grew 15 MiB over 10,000 logins
 *     with glibc's 16 arenas, 6 MiB with 2, at the same CPU per login);
 *   - the free pages inside a heap, which glibc never gives back by itself:
 *     malloc_trim every EH_TRIM_INTERVAL_MS;
 *   - the free top of a heap other than the main one: malloc_trim leaves it
 *     alone, and glibc shrinks it only when a free next to it is large and
 *     the top is above a threshold that glibc raises by itself (to twice the
 *     largest block it ever handed out by mmap and got back). eidhub fixes
 *     the thresholds, and the trim frees a large block next to each arena's
 *     top (see ngx_http_eidhub_heap_poke). Measured with gdb on an idle
 *     worker after 8,000 logins: the pool's arena kept a free top of 1.1 MB;
 *     one such free with the fixed threshold gave 0.9 MiB back. */
#include "ngx_http_eidhub_module.h"

#if defined(__GLIBC__)
#include <malloc.h>
#include <pthread.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "broker/metrics.h"

#if defined(__GLIBC__)

/* Blocks at or above EH_MMAP_THRESHOLD get their own mapping (glibc's
 * default starts at 128 KiB and rises with use); a heap's free top above
 * EH_TRIM_THRESHOLD goes back to the system (twice the first, as glibc's
 * own rule). */
#define EH_MMAP_THRESHOLD (256 * 1024)
#define EH_TRIM_THRESHOLD (2 * EH_MMAP_THRESHOLD)

/* ngx_http_eidhub_tunable_set tells whether the operator chose a malloc
 * setting (glibc has applied it already): the variable env is set, or
 * GLIBC_TUNABLES names tunable. */
static int ngx_http_eidhub_tunable_set(const char *env, const char *tunable)
{
    const char *tunables = getenv("GLIBC_TUNABLES");

    return getenv(env) != NULL || (tunables != NULL && strstr(tunables, tunable) != NULL);
}

void ngx_http_eidhub_heap_tune(void)
{
#if defined(M_ARENA_MAX)
    if (!ngx_http_eidhub_tunable_set("MALLOC_ARENA_MAX", "arena_max"))
        (void)mallopt(M_ARENA_MAX, ngx_ncpu > 2 ? (int)ngx_ncpu : 2);
#endif
    if (!ngx_http_eidhub_tunable_set("MALLOC_MMAP_THRESHOLD_", "mmap_threshold") &&
        !ngx_http_eidhub_tunable_set("MALLOC_TRIM_THRESHOLD_", "trim_threshold")) {
        (void)mallopt(M_MMAP_THRESHOLD, EH_MMAP_THRESHOLD);
        (void)mallopt(M_TRIM_THRESHOLD, EH_TRIM_THRESHOLD);
    }
}

/* One small block from each pool thread's arena (an "anchor"): glibc gives
 * no way to reach an arena except through a block of it, and a thread keeps
 * its arena. At most EH_ANCHORS threads are noted (nginx's default pool has
 * 32); the ones after are in arenas already noted in all likelihood. */
#define EH_ANCHORS 64

static pthread_mutex_t ngx_http_eidhub_anchors_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ngx_http_eidhub_anchors[EH_ANCHORS];
static ngx_uint_t ngx_http_eidhub_anchors_n;
static __thread int ngx_http_eidhub_thread_noted;

void ngx_http_eidhub_heap_note_thread(void)
{
    void *anchor;

    if (ngx_http_eidhub_thread_noted)
        return;
    ngx_http_eidhub_thread_noted = 1;
    anchor = malloc(1);
    if (anchor == NULL)
        return;
    pthread_mutex_lock(&ngx_http_eidhub_anchors_lock);
    if (ngx_http_eidhub_anchors_n < EH_ANCHORS) {
        ngx_http_eidhub_anchors[ngx_http_eidhub_anchors_n++] = anchor;
        anchor = NULL;
    }
    pthread_mutex_unlock(&ngx_http_eidhub_anchors_lock);
    free(anchor);
}

void ngx_http_eidhub_heap_exit_process(void)
{
    ngx_uint_t i;

    pthread_mutex_lock(&ngx_http_eidhub_anchors_lock);
    for (i = 0; i < ngx_http_eidhub_anchors_n; i++)
        free(ngx_http_eidhub_anchors[i]);
    ngx_http_eidhub_anchors_n = 0;
    pthread_mutex_unlock(&ngx_http_eidhub_anchors_lock);
}

/* The size an anchor grows to for a moment: above glibc's 64 KiB, the size
 * of a free that makes it look at the heap's top, and below
 * EH_MMAP_THRESHOLD, so that it comes from the heap. */
#define EH_POKE_SIZE (96 * 1024)

/* ngx_http_eidhub_heap_poke gives back the free top of the arena each
 * anchor is in. realloc works in the block's own arena, whatever thread
 * calls it: growing the anchor takes the room from that arena (from the
 * top, when no free block inside the heap is that large), and shrinking it
 * again frees the rest next to the top, which glibc then gives back when
 * the top is above EH_TRIM_THRESHOLD (keeping its pad of 128 KiB). The
 * anchor stays valid when realloc fails. */
static void ngx_http_eidhub_heap_poke(void)
{
    ngx_uint_t i;
    void *grown, *shrunk;

    pthread_mutex_lock(&ngx_http_eidhub_anchors_lock);
    for (i = 0; i < ngx_http_eidhub_anchors_n; i++) {
        grown = realloc(ngx_http_eidhub_anchors[i], EH_POKE_SIZE);
        if (grown == NULL)
            continue;
        shrunk = realloc(grown, 1);
        ngx_http_eidhub_anchors[i] = shrunk != NULL ? shrunk : grown;
    }
    pthread_mutex_unlock(&ngx_http_eidhub_anchors_lock);
}

/* Every EH_TRIM_INTERVAL_MS a worker hands free memory back: the arenas'
 * tops (the poke), then the free pages inside every heap (malloc_trim).
 * The trim takes each arena's lock in turn, so it runs as a task on
 * eidhub's thread pool, never on the event loop: the timer posts it, and
 * its completion arms the timer again (one trim at a time). No difference
 * in CPU per login was measurable (2.8-2.9 ms with the trim, 2.7-3.5 ms
 * without). The timer is cancelable: it never keeps an exiting worker, and
 * a trim still queued at exit runs before the pool's threads end. */
#define EH_TRIM_INTERVAL_MS 10000

static ngx_event_t ngx_http_eidhub_trim_ev;
static ngx_thread_task_t *ngx_http_eidhub_trim_task;
static ngx_thread_pool_t *ngx_http_eidhub_trim_pool;

/* Pool side: the trim itself. */
static void ngx_http_eidhub_trim_run(void *data, ngx_log_t *log)
{
    (void)data;
    (void)log;
    ngx_http_eidhub_heap_poke();
    (void)malloc_trim(0);
    eh_metrics_heap_trimmed();
}

/* Event-loop side, once the trim is done: the next one in an interval. */
static void ngx_http_eidhub_trim_done(ngx_event_t *ev)
{
    (void)ev;
    if (!ngx_exiting && !ngx_quit && !ngx_terminate)
        ngx_add_timer(&ngx_http_eidhub_trim_ev, EH_TRIM_INTERVAL_MS);
}

/* The timer: post the trim to the pool (if the queue is full, try again
 * in an interval). */
static void ngx_http_eidhub_trim(ngx_event_t *ev)
{
    ngx_thread_task_t *task = ngx_http_eidhub_trim_task;

    (void)ev;
    task->handler = ngx_http_eidhub_trim_run;
    task->event.handler = ngx_http_eidhub_trim_done;
    task->event.data = task;
    if (ngx_thread_task_post(ngx_http_eidhub_trim_pool, task) != NGX_OK)
        ngx_http_eidhub_trim_done(&task->event);
}

ngx_int_t ngx_http_eidhub_heap_init_process(ngx_cycle_t *cycle, ngx_thread_pool_t *pool)
{
    ngx_http_eidhub_trim_task = ngx_thread_task_alloc(cycle->pool, 0);
    if (ngx_http_eidhub_trim_task == NULL)
        return NGX_ERROR;
    ngx_http_eidhub_trim_pool = pool;
    ngx_http_eidhub_trim_ev.handler = ngx_http_eidhub_trim;
    ngx_http_eidhub_trim_ev.log = cycle->log;
    ngx_http_eidhub_trim_ev.cancelable = 1;
    ngx_add_timer(&ngx_http_eidhub_trim_ev, EH_TRIM_INTERVAL_MS);
    return NGX_OK;
}

#else /* not glibc: its allocator is left as it is */

void ngx_http_eidhub_heap_tune(void)
{
}

void ngx_http_eidhub_heap_note_thread(void)
{
}

void ngx_http_eidhub_heap_exit_process(void)
{
}

ngx_int_t ngx_http_eidhub_heap_init_process(ngx_cycle_t *cycle, ngx_thread_pool_t *pool)
{
    (void)cycle;
    (void)pool;
    return NGX_OK;
}

#endif
