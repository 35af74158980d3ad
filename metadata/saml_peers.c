/* eidhub: the eIDAS nodes we trust, kept fresh in the background (see
 * saml_peers.h).
 *
 * Each peer holds at most one copy of its metadata: an immutable,
 * reference-counted snapshot. The set's lock is held only to read or swap
 * a snapshot pointer, count references and read the schedule, never across
 * a fetch or a signature check, so a slow peer delays only the requests
 * that wait for it. The last reference frees a snapshot.
 *
 * The refresher is one thread per process, started by the first
 * eh_saml_peers_get of that process (never by eh_saml_peers_new: the broker
 * is loaded in nginx's master, whose workers are forked from it and would
 * not inherit a thread). It sleeps on a condition variable until the next
 * peer is due, so eh_saml_peers_free wakes and joins it at once.
 *
 * Forks: every set is on a process-wide list, and pthread_atfork handlers
 * hold each set's lock across fork() (so no thread holds it half-way), then
 * give the child a fresh condition variable (the parent's refresher may be
 * waiting on the old one) and no refresher: the child's first get starts
 * its own. */
#include "metadata/saml_peers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/file.h"
#include "broker/http_client.h"
#include "broker/log.h"

#define RETRY_S 5    /* at most one fetch of a peer per this many seconds, but forced ones */
#define EARLY_S 30   /* refresh this long before a copy's validUntil */
#define IDLE_S 3600  /* the longest the refresher sleeps */
#define BACKOFF_S 60 /* the refresher's longest pause after failures (or refresh_s if shorter) */
#define MAX_ANCHOR (1024 * 1024)
#define CONNECT_TIMEOUT_MS 2000u

/* A held copy. md comes first: the const eh_saml_metadata * handed out by
 * eh_saml_peers_get is the snapshot itself, and eh_saml_metadata_free(&s->md)
 * frees the whole snapshot (same address as the allocation). */
typedef struct snap {
    eh_saml_metadata md;
    unsigned refs;      /* under the set's lock */
    int64_t fetched_ms; /* now_ms() when the fetch that made it started */
} snap;

typedef struct peer {
    char *name;
    char *metadata;  /* file path or URL */
    char *entity_id; /* expected entityID, or NULL */
    int is_url;
    eh_saml_role role;
    eh_saml_keys *anchor;
    /* under the set's lock: */
    snap *cur;
    int tried;         /* a fetch has started at least once */
    int fetching;      /* a fetch is under way */
    int64_t tried_ms;  /* now_ms() when the last fetch started */
    unsigned failures; /* failed fetches since the last good one */
    char why[128];     /* why the last fetch failed ("" when it did not) */
} peer;

struct eh_saml_peers {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    peer *peers;
    size_t n;
    unsigned refresh_s;
    unsigned timeout_ms;
    /* the refresher, under lock */
    int running; /* in this process (a forked child has none) */
    int stop;
    pthread_t thread;
    struct eh_saml_peers *next_set; /* the process-wide list, under all_lock */
};

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static eh_saml_peers *all_sets;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* init_cond makes c a condition variable on the monotonic clock. */
static int init_cond(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    int err = pthread_condattr_init(&ca);

    if (err != 0)
        return err;
    if ((err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
        err = pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
    return err;
}

static void before_fork(void)
{
    pthread_mutex_lock(&all_lock);
    for (eh_saml_peers *p = all_sets; p != NULL; p = p->next_set)
        pthread_mutex_lock(&p->lock);
}

static void after_fork_parent(void)
{
    for (eh_saml_peers *p = all_sets; p != NULL; p = p->next_set)
        pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&all_lock);
}

static void after_fork_child(void)
{
    for (eh_saml_peers *p = all_sets; p != NULL; p = p->next_set) {
        /* the parent's refresher may have been waiting on the old one: a
         * destroy would wait for it forever */
        init_cond(&p->wake);
        p->running = 0;
        for (size_t i = 0; i < p->n; i++)
            p->peers[i].fetching = 0; /* a parent's thread was fetching */
        /* (a parent's thread waiting on the condition variable still counts
         * as a user of the mutex: its destroy in the child may say EBUSY,
         * which is harmless) */
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&all_lock);
}

static void register_atfork(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* now_ms reads the monotonic clock: schedules and ages do not jump with
 * the wall clock. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_wall(void)
{
    return (int64_t)time(NULL);
}

static void snap_free(snap *s)
{
    if (s != NULL)
        eh_saml_metadata_free(&s->md); /* frees s: md is its first member */
}

/* snap_unref drops a reference (under the lock) and returns s when it was
 * the last, for the caller to free after unlocking. */
static snap *snap_unref(snap *s)
{
    return s != NULL && --s->refs == 0 ? s : NULL;
}

/* ------------------------------------------------------------ configuration */

/* load_anchor adds every PEM block (certificate or public key) of path to a
 * new key set. */
static eh_rc load_anchor(const char *path, eh_saml_keys **out, char *why, size_t whylen)
{
    char *text = NULL, kwhy[128] = "";
    const char *p, *end;
    size_t len = 0;
    eh_saml_keys *k = NULL;
    eh_rc rc;

    *out = NULL;
    if ((rc = eh_file_read(path, MAX_ANCHOR, &text, &len)) != EH_OK) {
        snprintf(why, whylen, "cannot read the anchor file");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((k = eh_saml_keys_new()) == NULL)
        goto cleanup;
    for (p = strstr(text, "-----BEGIN "); p != NULL; p = strstr(end, "-----BEGIN ")) {
        const char *e = strstr(p, "-----END ");
        if (e == NULL || (end = strstr(e + 9, "-----")) == NULL) {
            snprintf(why, whylen, "anchor file: unterminated PEM block");
            rc = EH_ERR_CONFIG;
            goto cleanup;
        }
        end += 5;
        if ((rc = eh_saml_keys_add_pem(k, p, (size_t)(end - p), kwhy, sizeof(kwhy))) != EH_OK) {
            snprintf(why, whylen, "anchor file: %s", rc == EH_ERR_NOMEM ? "out of memory" : kwhy);
            goto cleanup;
        }
    }
    if (eh_saml_keys_count(k) == 0) {
        snprintf(why, whylen, "anchor file holds no certificate or public key");
        rc = EH_ERR_CONFIG;
        goto cleanup;
    }
    *out = k;
    k = NULL;
    rc = EH_OK;
cleanup:
    eh_saml_keys_free(k);
    free(text);
    return rc == EH_OK || rc == EH_ERR_NOMEM ? rc : EH_ERR_CONFIG;
}

static void peer_clear(peer *q)
{
    free(q->name);
    free(q->metadata);
    free(q->entity_id);
    eh_saml_keys_free(q->anchor);
    snap_free(snap_unref(q->cur));
}

void eh_saml_peers_set_timing(eh_saml_peers *p, unsigned refresh_s, unsigned timeout_ms)
{
    pthread_mutex_lock(&p->lock);
    if (refresh_s > 0)
        p->refresh_s = refresh_s;
    if (timeout_ms > 0)
        p->timeout_ms = timeout_ms;
    pthread_mutex_unlock(&p->lock);
}

static int is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

eh_rc eh_saml_peers_new(const eh_saml_peer_def *defs, size_t n, unsigned refresh_s,
                        unsigned timeout_ms, eh_saml_peers **out, char *why, size_t whylen)
{
    eh_saml_peers *p = NULL;
    char awhy[200];
    int locks = 0;
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if ((p = calloc(1, sizeof(*p))) == NULL ||
        (n > 0 && (p->peers = calloc(n, sizeof(peer))) == NULL))
        goto cleanup;
    p->refresh_s = refresh_s ? refresh_s : 3600;
    p->timeout_ms = timeout_ms ? timeout_ms : 5000;
    rc = EH_ERR_INTERNAL;
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        goto cleanup;
    locks = 1;
    if (init_cond(&p->wake) != 0 || pthread_once(&atfork_once, register_atfork) != 0)
        goto cleanup;
    locks = 2;
    for (size_t i = 0; i < n; i++) {
        const eh_saml_peer_def *d = &defs[i];
        peer *q = &p->peers[i];
        rc = EH_ERR_CONFIG;
        if (d->name == NULL || d->name[0] == '\0' || d->metadata == NULL ||
            d->anchor_file == NULL ||
            (d->role != EH_SAML_ROLE_CONNECTOR && d->role != EH_SAML_ROLE_PROXY)) {
            snprintf(why, whylen, "SAML peer %zu: name, metadata, anchor and role are required", i);
            goto cleanup;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(defs[j].name, d->name) == 0) {
                snprintf(why, whylen, "SAML peer %s: defined twice", d->name);
                goto cleanup;
            }
        if (!is_url(d->metadata) && d->metadata[0] != '/') {
            snprintf(why, whylen,
                     "SAML peer %s: metadata is neither an absolute path nor an http(s) URL",
                     d->name);
            goto cleanup;
        }
        rc = EH_ERR_NOMEM;
        q->is_url = is_url(d->metadata);
        q->role = d->role;
        if ((q->name = strdup(d->name)) == NULL || (q->metadata = strdup(d->metadata)) == NULL)
            goto cleanup;
        if (d->entity_id != NULL || q->is_url)
            if ((q->entity_id = strdup(d->entity_id ? d->entity_id : d->metadata)) == NULL)
                goto cleanup;
        if ((rc = load_anchor(d->anchor_file, &q->anchor, awhy, sizeof(awhy))) != EH_OK) {
            snprintf(why, whylen, "SAML peer %s: %s", d->name, awhy);
            goto cleanup;
        }
        p->n = i + 1;
    }
    pthread_mutex_lock(&all_lock);
    p->next_set = all_sets;
    all_sets = p;
    pthread_mutex_unlock(&all_lock);
    *out = p;
    p = NULL;
    rc = EH_OK;
cleanup:
    if (p != NULL) {
        for (size_t i = 0; i < n && p->peers != NULL; i++)
            peer_clear(&p->peers[i]);
        free(p->peers);
        if (locks >= 2)
            pthread_cond_destroy(&p->wake);
        if (locks >= 1)
            pthread_mutex_destroy(&p->lock);
        free(p);
    }
    if (rc == EH_ERR_NOMEM)
        snprintf(why, whylen, "out of memory");
    return rc;
}

void eh_saml_peers_free(eh_saml_peers *p)
{
    int join;

    if (p == NULL)
        return;
    pthread_mutex_lock(&all_lock);
    for (eh_saml_peers **l = &all_sets; *l != NULL; l = &(*l)->next_set)
        if (*l == p) {
            *l = p->next_set;
            break;
        }
    pthread_mutex_unlock(&all_lock);
    pthread_mutex_lock(&p->lock);
    join = p->running;
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (join)
        pthread_join(p->thread, NULL);
    for (size_t i = 0; i < p->n; i++)
        peer_clear(&p->peers[i]);
    free(p->peers);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void eh_saml_peers_stop_all(void)
{
    pthread_mutex_lock(&all_lock); /* no set is freed meanwhile */
    for (eh_saml_peers *p = all_sets; p != NULL; p = p->next_set) {
        int join;

        pthread_mutex_lock(&p->lock);
        join = p->running;
        p->stop = 1;
        p->running = 0;
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
        if (join)
            pthread_join(p->thread, NULL);
    }
    pthread_mutex_unlock(&all_lock);
}

/* ------------------------------------------------------------------ fetch */

/* fetch_text reads the metadata of q (file or GET) into *text. */
static eh_rc fetch_text(const eh_saml_peers *p, const peer *q, char **text, size_t *len, char *why,
                        size_t whylen)
{
    eh_http_call call = {0};
    eh_http_answer answer = {0};
    eh_rc rc;

    *text = NULL;
    if (!q->is_url) {
        rc = eh_file_read(q->metadata, EH_SAML_MAX_INPUT, text, len);
        if (rc != EH_OK)
            snprintf(why, whylen, "%s",
                     rc == EH_ERR_TOO_LARGE ? "metadata file too large"
                                            : "cannot read the metadata file");
        return rc;
    }
    call.method = "GET";
    call.url = q->metadata;
    call.timeout_ms = p->timeout_ms;
    call.connect_timeout_ms =
        p->timeout_ms < CONNECT_TIMEOUT_MS ? p->timeout_ms : CONNECT_TIMEOUT_MS;
    if ((rc = eh_http_client_call(&call, &answer, why, whylen)) != EH_OK)
        goto cleanup;
    if (answer.status != 200) {
        snprintf(why, whylen, "HTTP status %ld", answer.status);
        rc = EH_ERR_IO;
        goto cleanup;
    }
    *text = answer.body;
    *len = answer.body_len;
    answer.body = NULL;
cleanup:
    eh_http_answer_clear(&answer);
    return rc;
}

/* fetch_one fetches and checks peer i's metadata and, when good, installs
 * it (unless a copy from a later fetch got there first). One fetch of a
 * peer at a time: when one is under way, wait non-zero waits for it to end
 * (and then goes on), else EH_ERR_CONFLICT. force: fetch even when a fetch
 * started less than RETRY_S ago, else EH_ERR_CONFLICT (no fetch). */
static eh_rc fetch_one(eh_saml_peers *p, size_t i, int force, int wait)
{
    peer *q = &p->peers[i];
    eh_saml_metadata *m = NULL;
    snap *s = NULL, *old = NULL;
    char *text = NULL, why[128] = "";
    size_t len = 0;
    int64_t started = now_ms();
    eh_rc rc;

    pthread_mutex_lock(&p->lock);
    while (wait && q->fetching)
        pthread_cond_wait(&p->wake, &p->lock); /* fetch_one broadcasts when done */
    started = now_ms();
    if (q->fetching || (!force && q->tried && started - q->tried_ms < RETRY_S * 1000)) {
        pthread_mutex_unlock(&p->lock);
        return EH_ERR_CONFLICT;
    }
    q->tried = 1;
    q->tried_ms = started;
    q->fetching = 1;
    pthread_mutex_unlock(&p->lock);

    if ((rc = fetch_text(p, q, &text, &len, why, sizeof(why))) == EH_OK)
        rc = eh_saml_metadata_parse(text, len, q->anchor, q->role, q->entity_id, now_wall(), &m,
                                    why, sizeof(why));
    if (rc == EH_OK) {
        if ((s = malloc(sizeof(*s))) == NULL) {
            rc = EH_ERR_NOMEM;
            snprintf(why, sizeof(why), "out of memory");
        } else {
            s->md = *m;
            free(m); /* its members now belong to s */
            m = NULL;
            s->refs = 1; /* the peer's reference */
            s->fetched_ms = started;
        }
    }

    pthread_mutex_lock(&p->lock);
    q->fetching = 0;
    if (rc == EH_OK) {
        q->why[0] = '\0';
        q->failures = 0;
        if (q->cur == NULL || q->cur->fetched_ms <= started) {
            old = snap_unref(q->cur);
            q->cur = s;
            s = NULL;
        }
    } else {
        snprintf(q->why, sizeof(q->why), "%s", why);
        q->failures++;
        /* keep the last good copy only while it is valid */
        if (q->cur != NULL && q->cur->md.valid_until <= now_wall()) {
            old = snap_unref(q->cur);
            q->cur = NULL;
        }
    }
    /* wakes those waiting for this fetch; the refresher reconsiders its schedule */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "saml peers: %s: metadata fetched", q->name);
    else
        eh_log(EH_LOG_WARN, "saml peers: %s: metadata not refreshed: %s", q->name, why);
    snap_free(old);
    snap_free(s);
    eh_saml_metadata_free(m);
    free(text);
    return rc;
}

size_t eh_saml_peers_refresh(eh_saml_peers *p)
{
    size_t failed = 0;

    for (size_t i = 0; p != NULL && i < p->n; i++)
        if (fetch_one(p, i, 1, 1) != EH_OK)
            failed++;
    return failed;
}

/* --------------------------------------------------------------- refresher */

/* due_ms returns when (now_ms() clock) peer q should be fetched next
 * (under the lock). */
static int64_t due_ms(const eh_saml_peers *p, const peer *q, int64_t now, int64_t wall)
{
    int64_t due;

    if (q->cur == NULL) {
        due = now;
    } else {
        due = q->cur->fetched_ms + (int64_t)p->refresh_s * 1000;
        int64_t expiry = now + (q->cur->md.valid_until - wall - EARLY_S) * 1000;
        if (expiry < due)
            due = expiry;
    }
    /* after failures, wait RETRY_S, then twice as long each time, up to
     * BACKOFF_S (or refresh_s when that is shorter) */
    int64_t gap = RETRY_S * 1000,
            cap = (p->refresh_s < BACKOFF_S ? p->refresh_s : BACKOFF_S) * 1000;
    for (unsigned f = 1; f < q->failures && gap < cap; f++)
        gap *= 2;
    if (gap > cap && cap > RETRY_S * 1000)
        gap = cap;
    if (q->tried && due < q->tried_ms + gap)
        due = q->tried_ms + gap;
    return due;
}

static void *refresher(void *arg)
{
    eh_saml_peers *p = arg;

    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        int64_t now = now_ms(), wall = now_wall(), next = now + IDLE_S * 1000;
        size_t due = p->n;
        for (size_t i = 0; i < p->n; i++) {
            int64_t d = due_ms(p, &p->peers[i], now, wall);
            if (d <= now && due == p->n)
                due = i;
            if (d < next)
                next = d;
        }
        if (due < p->n) {
            pthread_mutex_unlock(&p->lock);
            fetch_one(p, due, 0, 0);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(next / 1000),
                              .tv_nsec = (long)(next % 1000) * 1000000};
        pthread_cond_timedwait(&p->wake, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* start_refresher starts the refresher in this process unless it runs. */
static void start_refresher(eh_saml_peers *p)
{
    int err;

    pthread_mutex_lock(&p->lock);
    if (!p->running && !p->stop) {
        err = pthread_create(&p->thread, NULL, refresher, p);
        p->running = err == 0;
        if (err != 0)
            eh_log(EH_LOG_ERROR, "saml peers: cannot start the refresher: %s", strerror(err));
    }
    pthread_mutex_unlock(&p->lock);
}

/* ------------------------------------------------------------------ lookups */

/* find returns the index of the peer named name (by_entity: whose entityID,
 * expected or held, is name), or p->n. */
static size_t find(eh_saml_peers *p, const char *name, int by_entity)
{
    size_t i, found = p->n;

    pthread_mutex_lock(&p->lock);
    for (i = 0; i < p->n && found == p->n; i++) {
        const peer *q = &p->peers[i];
        const char *id =
            by_entity ? (q->entity_id ? q->entity_id : (q->cur ? q->cur->md.entity_id : NULL))
                      : q->name;
        if (id != NULL && strcmp(id, name) == 0)
            found = i;
    }
    pthread_mutex_unlock(&p->lock);
    return found;
}

/* hold returns a new reference to peer i's copy when it is valid (under
 * the lock); an expired copy is dropped (*drop, for the caller to free). */
static snap *hold(peer *q, snap **drop)
{
    snap *s = q->cur;

    if (s != NULL && s->md.valid_until <= now_wall()) {
        *drop = snap_unref(s);
        q->cur = s = NULL;
    }
    if (s != NULL)
        s->refs++;
    return s;
}

eh_rc eh_saml_peers_get(eh_saml_peers *p, const char *name, int by_entity,
                        const eh_saml_metadata **out, char *why, size_t whylen)
{
    snap *s = NULL, *drop = NULL;
    size_t i;
    eh_rc rc = EH_ERR_NOT_FOUND;

    *out = NULL;
    if (p == NULL || name == NULL) {
        snprintf(why, whylen, "unknown SAML peer");
        return EH_ERR_NOT_FOUND;
    }
    i = find(p, name, by_entity);
    if (i == p->n && by_entity) {
        /* peers whose entityID is only known from their metadata */
        for (size_t j = 0; j < p->n; j++) {
            pthread_mutex_lock(&p->lock);
            int unknown = p->peers[j].entity_id == NULL && p->peers[j].cur == NULL;
            pthread_mutex_unlock(&p->lock);
            if (unknown)
                fetch_one(p, j, 0, 1);
        }
        i = find(p, name, by_entity);
    }
    if (i == p->n) {
        snprintf(why, whylen, "unknown SAML peer");
        goto cleanup;
    }
    start_refresher(p);

    pthread_mutex_lock(&p->lock);
    s = hold(&p->peers[i], &drop);
    pthread_mutex_unlock(&p->lock);
    snap_free(drop);
    drop = NULL;
    if (s == NULL) {
        /* none held yet, or expired: fetch now (or wait for the fetch under
         * way), unless one just failed */
        fetch_one(p, i, 0, 1);
        pthread_mutex_lock(&p->lock);
        s = hold(&p->peers[i], &drop);
        if (s == NULL)
            snprintf(why, whylen, "no valid metadata%s%s", p->peers[i].why[0] ? ": " : "",
                     p->peers[i].why);
        pthread_mutex_unlock(&p->lock);
        snap_free(drop);
    }
    rc = s != NULL ? EH_OK : EH_ERR_IO;
    *out = s != NULL ? &s->md : NULL;
cleanup:
    return rc;
}

void eh_saml_peers_release(eh_saml_peers *p, const eh_saml_metadata *m)
{
    snap *s = (snap *)m, *last;

    if (p == NULL || m == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    last = snap_unref(s);
    pthread_mutex_unlock(&p->lock);
    snap_free(last);
}

size_t eh_saml_peers_count(const eh_saml_peers *p)
{
    return p != NULL ? p->n : 0;
}

int64_t eh_saml_peers_age_s(const eh_saml_peers *p, size_t i, const char **name)
{
    eh_saml_peers *w = (eh_saml_peers *)p; /* the lock is not part of the value */
    int64_t age = -1;

    if (name != NULL)
        *name = NULL;
    if (p == NULL || i >= p->n)
        return -1;
    if (name != NULL)
        *name = p->peers[i].name;
    pthread_mutex_lock(&w->lock);
    if (p->peers[i].cur != NULL)
        age = (now_ms() - p->peers[i].cur->fetched_ms) / 1000;
    pthread_mutex_unlock(&w->lock);
    return age;
}
