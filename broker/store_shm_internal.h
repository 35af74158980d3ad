/* eidhub: the embedded shared-memory store's private interface.
 *
 * Not part of the store's contract (broker/store.h): a consistency check and
 * two hooks for the unit tests, which need to look inside the region and to
 * play a process that dies holding the lock. Only tests and diagnostics use
 * this header. */
#ifndef EH_STORE_SHM_INTERNAL_H
#define EH_STORE_SHM_INTERNAL_H

#include <stdint.h>

#include "broker/store.h"

/* What eh_store_shm_check counted. All byte counts are in heap blocks, so
 * used_bytes + free_bytes + fresh_bytes is the whole heap. */
typedef struct eh_store_shm_stats {
    uint64_t entries;     /* entries in the table, expired ones not yet dropped included */
    uint64_t used_bytes;  /* bytes in blocks that hold entries */
    uint64_t free_bytes;  /* bytes in blocks on the free lists */
    uint64_t fresh_bytes; /* bytes of the bump area never handed out yet */
    uint64_t heap_bytes;  /* size of the heap */
} eh_store_shm_stats;

/* eh_store_shm_check walks the whole region of s under its lock and verifies
 * every invariant: each block's header, the free lists (and that no two free
 * buddies were left unmerged), each bucket chain (and that each entry sits in
 * the bucket its key hashes to), and that the counts agree. Fills stats
 * (may be NULL). EH_OK when consistent, EH_ERR_INTERNAL otherwise. It changes
 * nothing: expired entries are counted, not dropped. */
eh_rc eh_store_shm_check(eh_store *s, eh_store_shm_stats *stats);

/* eh_store_shm_test_lock takes s's lock and returns still holding it; with
 * dirty non-zero it also marks the table as being changed. For tests of a
 * process that dies holding the lock: the next process to take it must see
 * the owner's death, and empty the store if it was marked dirty. */
eh_rc eh_store_shm_test_lock(eh_store *s, int dirty);

/* eh_store_shm_test_set_lock_timeout changes how long this handle waits for
 * the lock before giving up with EH_ERR_STORE_TIMEOUT (1000 ms otherwise). */
void eh_store_shm_test_set_lock_timeout(eh_store *s, unsigned timeout_ms);

#endif
