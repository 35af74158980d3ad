/* eidhub: rate limits kept in the store.
 *
 * A fixed window per counter: "rl:<section>:<digest of value>" counts the
 * attempts of one value (a personal code, a phone number, a client address,
 * an administrator's address) for window_s seconds. Values are digested, so
 * the store's keys hold no personal data. */
#ifndef EH_RATE_LIMIT_H
#define EH_RATE_LIMIT_H

#include "broker/store.h"

/* eh_rate_limited counts one attempt of value in section and tells whether
 * it is now over limit. A store that cannot count counts as over the limit:
 * without it the broker cannot protect the citizen (or the password). */
int eh_rate_limited(eh_store *store, const char *section, const char *value, unsigned limit,
                    unsigned window_s);

#endif
