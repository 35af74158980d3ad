/* eidhub: the embedded shared-memory store.
 *
 * One region of memory, shared by every process of one node, holds:
 *
 *   [ header | bucket array | heap ........................................ ]
 *
 * The header has a magic number, a version and the region's size (so that a
 * region reused across an nginx reload is recognised), a robust
 * process-shared mutex that guards everything, and the heap's bookkeeping.
 * Nothing in the region is a pointer: the region may be mapped at different
 * addresses in different processes, so every link is an offset from the
 * region's start, with 0 meaning "none" (the header sits at 0).
 *
 * The table is an array of buckets (a power of two of them), each the offset
 * of the first entry of a chain. A key's bucket is chosen by SipHash-2-4 with
 * a random key made when the region is formatted, so that nobody can pick
 * keys that all fall into one bucket.
 *
 * Each entry lives in one heap block: a 32-byte header (chain link, expiry in
 * CLOCK_MONOTONIC milliseconds, key and value lengths, size class, state)
 * followed by the key's and the value's bytes. Blocks come in power-of-two
 * size classes from 64 bytes to 128 KiB (the largest entry fits). Each class
 * has a free list; 128 KiB blocks are carved from a bump area as needed and
 * split in halves for smaller classes, and a freed block is merged with its
 * free buddy again (a buddy allocator), so that memory once used for many
 * small entries can later hold large ones.
 *
 * Expiry is lazy: an expired entry met while walking a chain is dropped, each
 * store operation sweeps a few more buckets, and when the heap has no block
 * for a new entry every bucket is swept once before answering
 * EH_ERR_STORE_FULL (no more than once until some entry may have expired).
 *
 * A process that dies holding the lock leaves the mutex to the next taker
 * with EOWNERDEAD. Every change first marks the header dirty and the flag is
 * cleared on unlock, so the next taker knows whether the dead process was in
 * the middle of a change; if so the table may be half-changed and the store
 * is emptied, which loses flows in progress but never serves a wrong value.
 *
 * Nothing here does I/O, and the lock is held for one operation (a lookup,
 * a copy, at most a sweep of every bucket when the heap is full), so nginx
 * runs handlers that use only this store on its event loop
 * (eh_store_may_block). Waiting for the lock is bounded by
 * EH_SHM_LOCK_TIMEOUT_MS: keep it so. */
#include "broker/store.h"
#include "broker/store_shm_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"

#define EH_SHM_MAGIC 0x314d485348444945ULL /* "EIDHSHM1" read little-endian */
#define EH_SHM_VERSION 1u
#define EH_SHM_MIN_SIZE ((size_t)1024 * 1024)
#define EH_SHM_MAX_SIZE ((uint64_t)64 * 1024 * 1024 * 1024)
#define EH_SHM_MIN_CLASS 6u  /* 64-byte blocks */
#define EH_SHM_MAX_CLASS 17u /* 128 KiB blocks */
#define EH_SHM_NCLASSES (EH_SHM_MAX_CLASS - EH_SHM_MIN_CLASS + 1)
#define EH_SHM_MIN_BLOCK ((uint64_t)1 << EH_SHM_MIN_CLASS)
#define EH_SHM_MAX_BLOCK ((uint64_t)1 << EH_SHM_MAX_CLASS)
#define EH_SHM_BYTES_PER_BUCKET 512 /* one bucket for this much region */
#define EH_SHM_MIN_BUCKETS 64
#define EH_SHM_SWEEP_STEP 4 /* buckets swept by each set */
#define EH_SHM_LOCK_TIMEOUT_MS 1000
#define EH_SHM_FREE 0x46 /* block states, unlikely in garbage */
#define EH_SHM_USED 0x55
#define EH_SHM_NO_EXPIRY INT64_MAX

/* The header of every heap block. A used block holds an entry: key bytes,
 * then value bytes, right after the header. */
typedef struct eh_shm_entry {
    uint64_t next;   /* used: next entry of the chain; free: next free block of the class */
    uint64_t prev;   /* free: previous free block of the class; used: 0 */
    int64_t expires; /* used: CLOCK_MONOTONIC ms at which the entry is gone */
    uint32_t vlen;
    uint16_t klen;
    uint8_t cls; /* the block is 1 << cls bytes */
    uint8_t state;
} eh_shm_entry;

_Static_assert(sizeof(eh_shm_entry) == 32, "eh_shm_entry must stay 32 bytes");
_Static_assert(sizeof(eh_shm_entry) + EH_STORE_KEY_MAX + EH_STORE_VALUE_MAX <= EH_SHM_MAX_BLOCK,
               "the largest entry must fit the largest block");
_Static_assert(EH_STORE_KEY_MAX <= UINT16_MAX, "klen is 16 bits");

/* The region's header, at offset 0. */
typedef struct eh_shm_header {
    uint64_t magic;
    uint32_t version;
    uint32_t dirty; /* a change is under way; cleared on unlock */
    uint64_t size;
    uint64_t nbuckets; /* a power of two */
    uint64_t buckets;  /* offset of the bucket array */
    uint64_t heap;     /* offset of the heap; block offsets are aligned relative to it */
    uint64_t top_end;  /* end of the area of 128 KiB blocks */
    uint64_t heap_end; /* end of the heap: top_end plus a tail of smaller blocks */
    uint64_t bump;     /* next 128 KiB block never handed out yet */
    uint64_t sweep_cursor;
    int64_t next_expiry; /* no entry expires before this (a lower bound) */
    uint64_t entries;
    uint64_t hash_key[2];
    uint64_t free_head[EH_SHM_NCLASSES];
    pthread_mutex_t lock;
} eh_shm_header;

/* Where things go in a region of a given size. */
typedef struct eh_shm_layout {
    uint64_t nbuckets;
    uint64_t buckets;
    uint64_t heap;
    uint64_t top_end;
    uint64_t heap_end;
} eh_shm_layout;

/* A handle on a region: what this process knows beyond the region itself. */
typedef struct eh_shm {
    eh_store base;
    eh_shm_header *h;
    size_t size;
    int owns_mapping; /* made by eh_store_shm_new: unmap on free */
    unsigned lock_timeout_ms;
} eh_shm;

static uint64_t eh_shm_align(uint64_t n, uint64_t to)
{
    return (n + to - 1) / to * to;
}

/* eh_shm_layout_for computes where things go in size bytes; -1 when size is
 * outside what the store accepts. */
static int eh_shm_layout_for(size_t size, eh_shm_layout *l)
{
    uint64_t want = (uint64_t)size / EH_SHM_BYTES_PER_BUCKET;

    if (size < EH_SHM_MIN_SIZE || (uint64_t)size > EH_SHM_MAX_SIZE)
        return -1;
    l->nbuckets = EH_SHM_MIN_BUCKETS;
    while (l->nbuckets * 2 <= want)
        l->nbuckets *= 2;
    l->buckets = eh_shm_align(sizeof(eh_shm_header), EH_SHM_MIN_BLOCK);
    l->heap = eh_shm_align(l->buckets + l->nbuckets * sizeof(uint64_t), EH_SHM_MIN_BLOCK);
    l->top_end = l->heap + (size - l->heap) / EH_SHM_MAX_BLOCK * EH_SHM_MAX_BLOCK;
    l->heap_end = l->heap + (size - l->heap) / EH_SHM_MIN_BLOCK * EH_SHM_MIN_BLOCK;
    return 0;
}

static int64_t eh_shm_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t eh_shm_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void eh_shm_sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = eh_shm_rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = eh_shm_rotl(v[0], 32);
    v[2] += v[3];
    v[3] = eh_shm_rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = eh_shm_rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = eh_shm_rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = eh_shm_rotl(v[2], 32);
}

/* eh_shm_siphash is SipHash-2-4 of len bytes at in under the 128-bit key k. */
static uint64_t eh_shm_siphash(const uint64_t k[2], const unsigned char *in, size_t len)
{
    uint64_t v[4] = {
        0x736f6d6570736575ULL ^ k[0],
        0x646f72616e646f6dULL ^ k[1],
        0x6c7967656e657261ULL ^ k[0],
        0x7465646279746573ULL ^ k[1],
    };
    uint64_t m, b = (uint64_t)len << 56;
    size_t i, full = len - len % 8;

    for (i = 0; i < full; i += 8) {
        m = 0;
        for (int j = 0; j < 8; j++)
            m |= (uint64_t)in[i + j] << (8 * j);
        v[3] ^= m;
        eh_shm_sipround(v);
        eh_shm_sipround(v);
        v[0] ^= m;
    }
    for (int j = 0; i + j < len; j++)
        b |= (uint64_t)in[i + j] << (8 * j);
    v[3] ^= b;
    eh_shm_sipround(v);
    eh_shm_sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int r = 0; r < 4; r++)
        eh_shm_sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static eh_shm_entry *eh_shm_block(const eh_shm_header *h, uint64_t off)
{
    return (eh_shm_entry *)((char *)h + off);
}

static uint64_t *eh_shm_buckets(const eh_shm_header *h)
{
    return (uint64_t *)((char *)h + h->buckets);
}

static char *eh_shm_key(eh_shm_entry *e)
{
    return (char *)(e + 1);
}

static uint64_t eh_shm_bucket_index(const eh_shm_header *h, const char *key, size_t klen)
{
    return eh_shm_siphash(h->hash_key, (const unsigned char *)key, klen) & (h->nbuckets - 1);
}

/* eh_shm_class_for returns the smallest class whose blocks hold need bytes. */
static unsigned eh_shm_class_for(size_t need)
{
    unsigned cls = EH_SHM_MIN_CLASS;

    while (((size_t)1 << cls) < need)
        cls++;
    return cls;
}

/* eh_shm_at returns the block at off if off names a block of the heap in the
 * given state whose header makes sense, else NULL (the region is corrupt).
 * Cheap enough to check every link followed. */
static eh_shm_entry *eh_shm_at(const eh_shm_header *h, uint64_t off, uint8_t state)
{
    eh_shm_entry *e;
    uint64_t bytes;

    if (off < h->heap || off >= h->heap_end || (off - h->heap) % EH_SHM_MIN_BLOCK != 0)
        return NULL;
    if (off >= h->bump && off < h->top_end)
        return NULL;
    e = eh_shm_block(h, off);
    if (e->state != state || e->cls < EH_SHM_MIN_CLASS || e->cls > EH_SHM_MAX_CLASS)
        return NULL;
    bytes = (uint64_t)1 << e->cls;
    if ((off - h->heap) % bytes != 0 || off + bytes > h->heap_end)
        return NULL;
    if (state == EH_SHM_USED && sizeof(*e) + (uint64_t)e->klen + e->vlen > bytes)
        return NULL;
    return e;
}

/* eh_shm_push_free makes the block at off a free block of class cls and puts
 * it at the head of that class's list. */
static void eh_shm_push_free(eh_shm_header *h, uint64_t off, unsigned cls)
{
    eh_shm_entry *e = eh_shm_block(h, off);
    uint64_t *head = &h->free_head[cls - EH_SHM_MIN_CLASS];

    memset(e, 0, sizeof(*e));
    e->state = EH_SHM_FREE;
    e->cls = (uint8_t)cls;
    e->next = *head;
    if (*head != 0)
        eh_shm_block(h, *head)->prev = off;
    *head = off;
}

/* eh_shm_unlink_free takes the free block e (at off) out of its class's list.
 * Its neighbours must have been valid when they were linked; they are
 * checked again here. */
static eh_rc eh_shm_unlink_free(eh_shm_header *h, eh_shm_entry *e, uint64_t off)
{
    uint64_t *head = &h->free_head[e->cls - EH_SHM_MIN_CLASS];

    if (e->prev != 0) {
        eh_shm_entry *p = eh_shm_at(h, e->prev, EH_SHM_FREE);
        if (p == NULL || p->next != off)
            return EH_ERR_INTERNAL;
        p->next = e->next;
    } else {
        if (*head != off)
            return EH_ERR_INTERNAL;
        *head = e->next;
    }
    if (e->next != 0) {
        eh_shm_entry *n = eh_shm_at(h, e->next, EH_SHM_FREE);
        if (n == NULL || n->prev != off)
            return EH_ERR_INTERNAL;
        n->prev = e->prev;
    }
    e->next = e->prev = 0;
    return EH_OK;
}

/* eh_shm_alloc finds a block of class cls: from its own free list, else by
 * splitting the smallest larger free block, else by carving a new 128 KiB
 * block from the bump area and splitting it. *out is its offset, or 0 when
 * there is no room (which is EH_OK). The block comes back marked used with
 * zero lengths. */
static eh_rc eh_shm_alloc(eh_shm_header *h, unsigned cls, uint64_t *out)
{
    unsigned k = cls;
    uint64_t off;
    eh_shm_entry *e;
    eh_rc rc;

    *out = 0;
    while (k <= EH_SHM_MAX_CLASS && h->free_head[k - EH_SHM_MIN_CLASS] == 0)
        k++;
    h->dirty = 1;
    if (k <= EH_SHM_MAX_CLASS) {
        off = h->free_head[k - EH_SHM_MIN_CLASS];
        e = eh_shm_at(h, off, EH_SHM_FREE);
        if (e == NULL || e->cls != k)
            return EH_ERR_INTERNAL;
        rc = eh_shm_unlink_free(h, e, off);
        if (rc != EH_OK)
            return rc;
    } else if (h->bump < h->top_end) {
        k = EH_SHM_MAX_CLASS;
        off = h->bump;
        h->bump += EH_SHM_MAX_BLOCK;
    } else {
        return EH_OK;
    }
    while (k > cls) {
        k--;
        eh_shm_push_free(h, off + ((uint64_t)1 << k), k);
    }
    e = eh_shm_block(h, off);
    memset(e, 0, sizeof(*e));
    e->state = EH_SHM_USED;
    e->cls = (uint8_t)cls;
    *out = off;
    return EH_OK;
}

/* eh_shm_release gives the used block at off back, merging it with its
 * buddy for as long as the buddy is a free block of the same class. */
static eh_rc eh_shm_release(eh_shm_header *h, uint64_t off)
{
    eh_shm_entry *e = eh_shm_block(h, off);
    unsigned k = e->cls;
    eh_rc rc;

    h->dirty = 1;
    while (k < EH_SHM_MAX_CLASS) {
        uint64_t buddy = h->heap + ((off - h->heap) ^ ((uint64_t)1 << k));
        eh_shm_entry *b = eh_shm_at(h, buddy, EH_SHM_FREE);

        if (b == NULL || b->cls != k)
            break;
        rc = eh_shm_unlink_free(h, b, buddy);
        if (rc != EH_OK)
            return rc;
        if (buddy < off)
            off = buddy;
        k++;
    }
    eh_shm_push_free(h, off, k);
    return EH_OK;
}

/* eh_shm_remove unlinks the entry that *link points at from its chain and
 * frees its block. */
static eh_rc eh_shm_remove(eh_shm_header *h, uint64_t *link)
{
    uint64_t off = *link;
    eh_shm_entry *e = eh_shm_block(h, off);

    h->dirty = 1;
    *link = e->next;
    h->entries--;
    return eh_shm_release(h, off);
}

/* eh_shm_find looks key up in the chain that starts at bucket, dropping the
 * expired entries it meets. *link_out is the link that points at the entry,
 * or NULL when there is none. */
static eh_rc eh_shm_find(eh_shm_header *h, uint64_t *bucket, const char *key, size_t klen,
                         int64_t now, uint64_t **link_out)
{
    uint64_t *link = bucket;
    eh_rc rc;

    *link_out = NULL;
    while (*link != 0) {
        eh_shm_entry *e = eh_shm_at(h, *link, EH_SHM_USED);

        if (e == NULL)
            return EH_ERR_INTERNAL;
        if (e->expires <= now) {
            rc = eh_shm_remove(h, link);
            if (rc != EH_OK)
                return rc;
            continue;
        }
        if (e->klen == klen && memcmp(eh_shm_key(e), key, klen) == 0) {
            *link_out = link;
            return EH_OK;
        }
        link = &e->next;
    }
    return EH_OK;
}

/* eh_shm_sweep_bucket drops the expired entries of bucket i and lowers
 * *min_live to the earliest expiry of those that stay. */
static eh_rc eh_shm_sweep_bucket(eh_shm_header *h, uint64_t i, int64_t now, int64_t *min_live)
{
    uint64_t *link = &eh_shm_buckets(h)[i];
    eh_rc rc;

    while (*link != 0) {
        eh_shm_entry *e = eh_shm_at(h, *link, EH_SHM_USED);

        if (e == NULL)
            return EH_ERR_INTERNAL;
        if (e->expires <= now) {
            rc = eh_shm_remove(h, link);
            if (rc != EH_OK)
                return rc;
            continue;
        }
        if (e->expires < *min_live)
            *min_live = e->expires;
        link = &e->next;
    }
    return EH_OK;
}

/* eh_shm_sweep_step sweeps the next few buckets, round-robin. */
static eh_rc eh_shm_sweep_step(eh_shm_header *h, int64_t now)
{
    int64_t ignored = EH_SHM_NO_EXPIRY;
    eh_rc rc;

    for (int n = 0; n < EH_SHM_SWEEP_STEP; n++) {
        uint64_t i = h->sweep_cursor & (h->nbuckets - 1);

        h->sweep_cursor = (i + 1) & (h->nbuckets - 1);
        rc = eh_shm_sweep_bucket(h, i, now, &ignored);
        if (rc != EH_OK)
            return rc;
    }
    return EH_OK;
}

/* eh_shm_sweep_all sweeps every bucket and records when the next entry can
 * expire, so that a full store does not sweep again before then. */
static eh_rc eh_shm_sweep_all(eh_shm_header *h, int64_t now)
{
    int64_t min_live = EH_SHM_NO_EXPIRY;
    eh_rc rc;

    for (uint64_t i = 0; i < h->nbuckets; i++) {
        rc = eh_shm_sweep_bucket(h, i, now, &min_live);
        if (rc != EH_OK)
            return rc;
    }
    h->next_expiry = min_live;
    return EH_OK;
}

/* eh_shm_put stores klen bytes of key with vlen bytes of value, expiring at
 * expires, replacing any entry of key. A replacement of the same size class
 * is written in place; otherwise the new block is found first, so that a
 * store without room answers EH_ERR_STORE_FULL and keeps the old value. */
static eh_rc eh_shm_put(eh_shm_header *h, const char *key, size_t klen, const void *value,
                        size_t vlen, int64_t expires, int64_t now)
{
    uint64_t *bucket = &eh_shm_buckets(h)[eh_shm_bucket_index(h, key, klen)];
    unsigned cls = eh_shm_class_for(sizeof(eh_shm_entry) + klen + vlen);
    uint64_t *link, off;
    eh_shm_entry *e;
    eh_rc rc;

    rc = eh_shm_sweep_step(h, now);
    if (rc != EH_OK)
        return rc;
    rc = eh_shm_find(h, bucket, key, klen, now, &link);
    if (rc != EH_OK)
        return rc;
    if (link != NULL && eh_shm_block(h, *link)->cls == cls) {
        e = eh_shm_block(h, *link);
        h->dirty = 1;
        e->vlen = (uint32_t)vlen;
        e->expires = expires;
        memcpy(eh_shm_key(e) + klen, value, vlen);
        goto done;
    }
    rc = eh_shm_alloc(h, cls, &off);
    if (rc == EH_OK && off == 0 && now >= h->next_expiry) {
        /* The sweep changes chains: find the link again. */
        rc = eh_shm_sweep_all(h, now);
        if (rc == EH_OK)
            rc = eh_shm_find(h, bucket, key, klen, now, &link);
        if (rc == EH_OK)
            rc = eh_shm_alloc(h, cls, &off);
    }
    if (rc != EH_OK)
        return rc;
    if (off == 0)
        return EH_ERR_STORE_FULL;
    e = eh_shm_block(h, off);
    e->expires = expires;
    e->klen = (uint16_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(eh_shm_key(e), key, klen);
    memcpy(eh_shm_key(e) + klen, value, vlen);
    if (link != NULL) {
        uint64_t old = *link;
        e->next = eh_shm_block(h, old)->next;
        *link = off;
        rc = eh_shm_release(h, old);
        if (rc != EH_OK)
            return rc;
    } else {
        e->next = *bucket;
        *bucket = off;
        h->entries++;
    }
done:
    if (expires < h->next_expiry)
        h->next_expiry = expires;
    return EH_OK;
}

/* eh_shm_reset empties the store: no entries, the whole heap fresh again.
 * The mutex and the hash key are kept. Called with the lock held (or on a
 * region nobody else uses yet). */
static void eh_shm_reset(eh_shm_header *h)
{
    uint64_t cur = h->top_end;

    memset(eh_shm_buckets(h), 0, h->nbuckets * sizeof(uint64_t));
    memset(h->free_head, 0, sizeof(h->free_head));
    h->bump = h->heap;
    h->sweep_cursor = 0;
    h->next_expiry = EH_SHM_NO_EXPIRY;
    h->entries = 0;
    for (unsigned k = EH_SHM_MAX_CLASS - 1; k >= EH_SHM_MIN_CLASS; k--) {
        if (h->heap_end - cur >= ((uint64_t)1 << k)) {
            eh_shm_push_free(h, cur, k);
            cur += (uint64_t)1 << k;
        }
    }
    h->dirty = 0;
}

/* eh_shm_lock takes the region's lock, waiting at most the handle's timeout.
 * When the previous owner died holding it, the lock is made consistent
 * again, after emptying the store if the owner was in the middle of a
 * change. */
static eh_rc eh_shm_lock(eh_shm *m)
{
    struct timespec until;
    int err;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += m->lock_timeout_ms / 1000;
    until.tv_nsec += (long)(m->lock_timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    err = pthread_mutex_clocklock(&m->h->lock, CLOCK_MONOTONIC, &until);
    if (err == EOWNERDEAD) {
        if (m->h->dirty) {
            eh_log(EH_LOG_WARN, "shm store: a process died while changing the store; "
                                "the store was emptied");
            eh_shm_reset(m->h);
        }
        if (pthread_mutex_consistent(&m->h->lock) != 0) {
            pthread_mutex_unlock(&m->h->lock);
            return EH_ERR_INTERNAL;
        }
        err = 0;
    }
    if (err == ETIMEDOUT)
        return EH_ERR_STORE_TIMEOUT;
    if (err != 0)
        return EH_ERR_INTERNAL;
    return EH_OK;
}

/* eh_shm_unlock releases the lock after an operation that ended with rc.
 * EH_ERR_INTERNAL means the operation found the region corrupt: it is
 * emptied rather than left for the next operation to trip over. */
static void eh_shm_unlock(eh_shm *m, eh_rc rc)
{
    if (rc == EH_ERR_INTERNAL) {
        eh_log(EH_LOG_ERROR, "shm store: the store was found corrupt and was emptied");
        eh_shm_reset(m->h);
    }
    m->h->dirty = 0;
    pthread_mutex_unlock(&m->h->lock);
}

/* eh_shm_copy_out copies e's value into a new NUL-terminated buffer that
 * the caller owns. */
static eh_rc eh_shm_copy_out(eh_shm_entry *e, char **value, size_t *len)
{
    char *v = malloc((size_t)e->vlen + 1);

    if (v == NULL)
        return EH_ERR_NOMEM;
    memcpy(v, eh_shm_key(e) + e->klen, e->vlen);
    v[e->vlen] = '\0';
    *value = v;
    *len = e->vlen;
    return EH_OK;
}

/* eh_shm_read is get and take: copies key's value out and, when remove is
 * set, drops the entry under the same lock, so that of concurrent takes
 * exactly one sees the value. On EH_ERR_NOMEM the entry stays. */
static eh_rc eh_shm_read(eh_store *s, const char *key, char **value, size_t *len, int remove)
{
    eh_shm *m = (eh_shm *)s;
    size_t klen = strlen(key);
    uint64_t *link;
    eh_rc rc;

    rc = eh_shm_lock(m);
    if (rc != EH_OK)
        return rc;
    rc = eh_shm_find(m->h, &eh_shm_buckets(m->h)[eh_shm_bucket_index(m->h, key, klen)], key, klen,
                     eh_shm_now_ms(), &link);
    if (rc != EH_OK)
        goto cleanup;
    if (link == NULL) {
        rc = EH_ERR_NOT_FOUND;
        goto cleanup;
    }
    rc = eh_shm_copy_out(eh_shm_block(m->h, *link), value, len);
    if (rc == EH_OK && remove)
        rc = eh_shm_remove(m->h, link);
cleanup:
    eh_shm_unlock(m, rc);
    if (rc != EH_OK && *value != NULL) {
        free(*value);
        *value = NULL;
        *len = 0;
    }
    return rc;
}

static eh_rc eh_shm_get(eh_store *s, const char *key, char **value, size_t *len)
{
    return eh_shm_read(s, key, value, len, 0);
}

static eh_rc eh_shm_take(eh_store *s, const char *key, char **value, size_t *len)
{
    return eh_shm_read(s, key, value, len, 1);
}

static eh_rc eh_shm_set(eh_store *s, const char *key, const void *value, size_t len,
                        uint32_t ttl_ms)
{
    eh_shm *m = (eh_shm *)s;
    int64_t now;
    eh_rc rc;

    rc = eh_shm_lock(m);
    if (rc != EH_OK)
        return rc;
    now = eh_shm_now_ms();
    rc = eh_shm_put(m->h, key, strlen(key), value, len, now + ttl_ms, now);
    eh_shm_unlock(m, rc);
    return rc;
}

static eh_rc eh_shm_del(eh_store *s, const char *key)
{
    eh_shm *m = (eh_shm *)s;
    size_t klen = strlen(key);
    uint64_t *link;
    eh_rc rc;

    rc = eh_shm_lock(m);
    if (rc != EH_OK)
        return rc;
    rc = eh_shm_find(m->h, &eh_shm_buckets(m->h)[eh_shm_bucket_index(m->h, key, klen)], key, klen,
                     eh_shm_now_ms(), &link);
    if (rc == EH_OK && link != NULL)
        rc = eh_shm_remove(m->h, link);
    eh_shm_unlock(m, rc);
    return rc;
}

/* eh_shm_parse_counter reads len bytes at p as a counter the way Redis's
 * INCR does: an optional minus and decimal digits without leading zeros,
 * within int64_t. -1 when it is not one. */
static int eh_shm_parse_counter(const char *p, size_t len, int64_t *out)
{
    uint64_t n = 0, limit;
    int neg = 0;
    size_t i = 0;

    if (len == 0 || len > 20)
        return -1;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return 0;
    }
    if (p[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= len || p[i] < '1' || p[i] > '9')
        return -1;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        if (n > (limit - (uint64_t)(p[i] - '0')) / 10)
            return -1;
        n = n * 10 + (uint64_t)(p[i] - '0');
    }
    *out = neg ? (int64_t)(0 - n) : (int64_t)n;
    return 0;
}

/* eh_shm_incr_locked adds one to the counter under key, stored as decimal
 * text like Redis does, with the lock held. A new counter starts at 1 and
 * expires ttl_ms after now; an increment keeps the counter's expiry. */
static eh_rc eh_shm_incr_locked(eh_shm *m, const char *key, uint32_t ttl_ms, int64_t now,
                                int64_t *value)
{
    size_t klen = strlen(key);
    char text[24];
    int64_t n = 0, expires;
    uint64_t *link;
    int tlen;
    eh_rc rc;

    rc = eh_shm_find(m->h, &eh_shm_buckets(m->h)[eh_shm_bucket_index(m->h, key, klen)], key, klen,
                     now, &link);
    if (rc != EH_OK)
        return rc;
    expires = now + ttl_ms;
    if (link != NULL) {
        eh_shm_entry *e = eh_shm_block(m->h, *link);
        if (eh_shm_parse_counter(eh_shm_key(e) + klen, e->vlen, &n) != 0 || n == INT64_MAX)
            return EH_ERR_INVALID;
        expires = e->expires;
    }
    n++;
    tlen = snprintf(text, sizeof(text), "%" PRId64, n);
    rc = eh_shm_put(m->h, key, klen, text, (size_t)tlen, expires, now);
    if (rc == EH_OK)
        *value = n;
    return rc;
}

static eh_rc eh_shm_incr(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value)
{
    eh_shm *m = (eh_shm *)s;
    eh_rc rc;

    rc = eh_shm_lock(m);
    if (rc != EH_OK)
        return rc;
    rc = eh_shm_incr_locked(m, key, ttl_ms, eh_shm_now_ms(), value);
    eh_shm_unlock(m, rc);
    return rc;
}

/* eh_shm_batch runs the operations in order under one hold of the lock.
 * Each has the effect and the result of its single call; a corrupt region
 * found by one (EH_ERR_INTERNAL) stops the batch, fails the rest and is
 * emptied on unlock, as after a single call. */
static eh_rc eh_shm_batch(eh_store *s, eh_store_batch_op *ops, size_t n)
{
    eh_shm *m = (eh_shm *)s;
    eh_rc rc, first = EH_OK, last = EH_OK;
    int64_t now;
    size_t i;

    rc = eh_shm_lock(m);
    if (rc != EH_OK) {
        for (i = 0; i < n; i++)
            ops[i].rc = rc;
        return rc;
    }
    now = eh_shm_now_ms();
    for (i = 0; i < n && last != EH_ERR_INTERNAL; i++) {
        if (ops[i].kind == EH_STORE_BATCH_INCR)
            last = eh_shm_incr_locked(m, ops[i].key, ops[i].ttl_ms, now, &ops[i].count);
        else
            last = eh_shm_put(m->h, ops[i].key, strlen(ops[i].key), ops[i].value, ops[i].len,
                              now + ops[i].ttl_ms, now);
        ops[i].rc = last;
        if (first == EH_OK)
            first = last;
    }
    for (; i < n; i++)
        ops[i].rc = EH_ERR_INTERNAL;
    eh_shm_unlock(m, last);
    return first;
}

static eh_rc eh_shm_ping(eh_store *s)
{
    eh_shm *m = (eh_shm *)s;
    eh_rc rc = eh_shm_lock(m);

    if (rc == EH_OK)
        eh_shm_unlock(m, rc);
    return rc;
}

/* eh_shm_free releases the handle, and the mapping when the handle made it.
 * The region's contents (and its mutex) stay for the other processes. */
static void eh_shm_free(eh_store *s)
{
    eh_shm *m = (eh_shm *)s;

    if (m->owns_mapping)
        munmap(m->h, m->size);
    free(m);
}

static const eh_store_ops eh_shm_ops = {
    .name = "shm",
    .memory_only = 1, /* no I/O; the lock is held for microseconds (eh_store_may_block) */
    .get = eh_shm_get,
    .set = eh_shm_set,
    .take = eh_shm_take,
    .del = eh_shm_del,
    .incr = eh_shm_incr,
    .ping = eh_shm_ping,
    .batch = eh_shm_batch,
    .free = eh_shm_free,
};

size_t eh_store_shm_min_size(void)
{
    return EH_SHM_MIN_SIZE;
}

/* eh_shm_format writes a new, empty store over the region at h: header,
 * a robust process-shared mutex, a fresh hash key, empty buckets and heap.
 * The magic number is written last. */
static eh_rc eh_shm_format(eh_shm_header *h, size_t size, const eh_shm_layout *l)
{
    pthread_mutexattr_t attr;
    eh_rc rc = EH_ERR_INTERNAL;

    memset(h, 0, sizeof(*h));
    if (pthread_mutexattr_init(&attr) != 0)
        return EH_ERR_INTERNAL;
    if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
        pthread_mutex_init(&h->lock, &attr) != 0)
        goto cleanup;
    if (getrandom(h->hash_key, sizeof(h->hash_key), 0) != (ssize_t)sizeof(h->hash_key)) {
        /* No entropy source: still vary the key between regions. */
        h->hash_key[0] = (uint64_t)eh_shm_now_ms() ^ ((uint64_t)getpid() << 32);
        h->hash_key[1] = (uint64_t)(uintptr_t)h ^ 0x9e3779b97f4a7c15ULL;
    }
    h->version = EH_SHM_VERSION;
    h->size = size;
    h->nbuckets = l->nbuckets;
    h->buckets = l->buckets;
    h->heap = l->heap;
    h->top_end = l->top_end;
    h->heap_end = l->heap_end;
    eh_shm_reset(h);
    __atomic_store_n(&h->magic, EH_SHM_MAGIC, __ATOMIC_RELEASE);
    rc = EH_OK;
cleanup:
    pthread_mutexattr_destroy(&attr);
    return rc;
}

/* eh_shm_recognise tells whether the region at h already holds a store of
 * this version laid out for size bytes. */
static int eh_shm_recognise(const eh_shm_header *h, size_t size, const eh_shm_layout *l)
{
    return h->magic == EH_SHM_MAGIC && h->version == EH_SHM_VERSION && h->size == size &&
           h->nbuckets == l->nbuckets && h->buckets == l->buckets && h->heap == l->heap &&
           h->top_end == l->top_end && h->heap_end == l->heap_end && h->bump >= h->heap &&
           h->bump <= h->top_end && (h->bump - h->heap) % EH_SHM_MAX_BLOCK == 0;
}

eh_rc eh_store_shm_attach(void *base, size_t size, int fresh, eh_store **out)
{
    eh_shm_layout l;
    eh_shm *m;
    eh_rc rc;

    if (out != NULL)
        *out = NULL;
    if (base == NULL || out == NULL || (uintptr_t)base % sizeof(uint64_t) != 0 ||
        eh_shm_layout_for(size, &l) != 0)
        return EH_ERR_INVALID;
    if (fresh) {
        rc = eh_shm_format(base, size, &l);
        if (rc != EH_OK)
            return rc;
    } else if (!eh_shm_recognise(base, size, &l)) {
        return EH_ERR_INVALID;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return EH_ERR_NOMEM;
    m->base.ops = &eh_shm_ops;
    m->h = base;
    m->size = size;
    m->lock_timeout_ms = EH_SHM_LOCK_TIMEOUT_MS;
    *out = &m->base;
    return EH_OK;
}

eh_rc eh_store_shm_new(size_t size, eh_store **out)
{
    eh_shm_layout l;
    void *base;
    eh_rc rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || eh_shm_layout_for(size, &l) != 0)
        return EH_ERR_INVALID;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return EH_ERR_NOMEM;
    rc = eh_store_shm_attach(base, size, 1, out);
    if (rc != EH_OK) {
        munmap(base, size);
        return rc;
    }
    ((eh_shm *)*out)->owns_mapping = 1;
    return EH_OK;
}

/* ---- Checks and test hooks (store_shm_internal.h) ---------------------- */

/* eh_shm_check_blocks walks the blocks of [from, to) one after the other,
 * checking each header and its buddy, and adds up what it finds. */
static eh_rc eh_shm_check_blocks(const eh_shm_header *h, uint64_t from, uint64_t to,
                                 eh_store_shm_stats *st, uint64_t *nfree)
{
    uint64_t off = from;

    while (off < to) {
        eh_shm_entry *e = eh_shm_block(h, off);
        uint8_t state = e->state == EH_SHM_USED ? EH_SHM_USED : EH_SHM_FREE;
        uint64_t bytes;

        if (eh_shm_at(h, off, state) == NULL)
            return EH_ERR_INTERNAL;
        bytes = (uint64_t)1 << e->cls;
        if (state == EH_SHM_USED) {
            st->used_bytes += bytes;
        } else {
            uint64_t buddy = h->heap + ((off - h->heap) ^ bytes);
            eh_shm_entry *b = eh_shm_at(h, buddy, EH_SHM_FREE);
            if (e->cls < EH_SHM_MAX_CLASS && b != NULL && b->cls == e->cls)
                return EH_ERR_INTERNAL; /* two free buddies left unmerged */
            st->free_bytes += bytes;
            (*nfree)++;
        }
        off += bytes;
    }
    return off == to ? EH_OK : EH_ERR_INTERNAL;
}

/* eh_shm_check_locked is eh_store_shm_check with the lock held. */
static eh_rc eh_shm_check_locked(const eh_shm_header *h, eh_store_shm_stats *st)
{
    uint64_t nfree = 0, listed = 0, used_blocks = 0;
    eh_rc rc;

    memset(st, 0, sizeof(*st));
    st->heap_bytes = h->heap_end - h->heap;
    st->fresh_bytes = h->top_end - h->bump;
    rc = eh_shm_check_blocks(h, h->heap, h->bump, st, &nfree);
    if (rc == EH_OK)
        rc = eh_shm_check_blocks(h, h->top_end, h->heap_end, st, &nfree);
    if (rc != EH_OK)
        return rc;
    for (unsigned k = EH_SHM_MIN_CLASS; k <= EH_SHM_MAX_CLASS; k++) {
        uint64_t prev = 0;
        for (uint64_t off = h->free_head[k - EH_SHM_MIN_CLASS]; off != 0;) {
            eh_shm_entry *e = eh_shm_at(h, off, EH_SHM_FREE);
            if (e == NULL || e->cls != k || e->prev != prev || ++listed > nfree)
                return EH_ERR_INTERNAL;
            prev = off;
            off = e->next;
        }
    }
    if (listed != nfree)
        return EH_ERR_INTERNAL;
    for (uint64_t i = 0; i < h->nbuckets; i++) {
        for (uint64_t off = eh_shm_buckets(h)[i]; off != 0;) {
            eh_shm_entry *e = eh_shm_at(h, off, EH_SHM_USED);
            if (e == NULL || ++used_blocks > h->entries ||
                eh_shm_bucket_index(h, eh_shm_key(e), e->klen) != i)
                return EH_ERR_INTERNAL;
            off = e->next;
        }
    }
    st->entries = used_blocks;
    if (used_blocks != h->entries ||
        st->used_bytes + st->free_bytes + st->fresh_bytes != st->heap_bytes)
        return EH_ERR_INTERNAL;
    return EH_OK;
}

eh_rc eh_store_shm_check(eh_store *s, eh_store_shm_stats *stats)
{
    eh_store_shm_stats local;
    eh_shm *m = (eh_shm *)s;
    eh_rc rc;

    if (s == NULL || s->ops != &eh_shm_ops)
        return EH_ERR_INVALID;
    rc = eh_shm_lock(m);
    if (rc != EH_OK)
        return rc;
    rc = eh_shm_check_locked(m->h, stats != NULL ? stats : &local);
    /* Report, but do not empty: the caller wants to see the corruption. */
    m->h->dirty = 0;
    pthread_mutex_unlock(&m->h->lock);
    return rc;
}

eh_rc eh_store_shm_test_lock(eh_store *s, int dirty)
{
    eh_shm *m = (eh_shm *)s;
    eh_rc rc;

    if (s == NULL || s->ops != &eh_shm_ops)
        return EH_ERR_INVALID;
    rc = eh_shm_lock(m);
    if (rc == EH_OK && dirty)
        m->h->dirty = 1;
    return rc;
}

void eh_store_shm_test_set_lock_timeout(eh_store *s, unsigned timeout_ms)
{
    if (s != NULL && s->ops == &eh_shm_ops)
        ((eh_shm *)s)->lock_timeout_ms = timeout_ms;
}
