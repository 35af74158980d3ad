/* eidhub: rate limits kept in the store.
 *
 * A fixed window per counter: "rl:<section>:<digest of value>" counts the
 * attempts of one value (a personal code, a phone number, a client address,
 * an administrator's address) for window_s seconds. Values are digested, so
 * the store's keys hold no personal data. */
#ifndef EH_RATE_LIMIT_H
#define EH_RATE_LIMIT_H

#include <stddef.h>

#include "broker/store.h"

/* One counter of eh_rate_limited_all. */
typedef struct eh_rate_counter {
    const char *section; /* e.g. "mid:person" */
    const char *value;   /* what is counted (only its digest is stored); NULL counts as "-" */
    unsigned limit;      /* attempts allowed per window */
} eh_rate_counter;

/* eh_rate_limited counts one attempt of value in section and tells whether
 * it is now over limit. A store that cannot count counts as over the limit:
 * without it the broker cannot protect the citizen (or the password). */
int eh_rate_limited(eh_store *store, const char *section, const char *value, unsigned limit,
                    unsigned window_s);

/* eh_rate_limited_all counts one attempt against every one of the n
 * counters (1..EH_STORE_BATCH_MAX), all in one exchange with the store
 * (eh_store_batch), and tells whether any of them is now over its limit.
 * Each counter counts as it would with eh_rate_limited, whether the others
 * are over or not; one that cannot be counted counts as over. */
int eh_rate_limited_all(eh_store *store, const eh_rate_counter *counters, size_t n,
                        unsigned window_s);

#endif
