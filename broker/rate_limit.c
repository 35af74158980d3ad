#include "broker/rate_limit.h"

#include <stdio.h>
#include <stdlib.h>

#include "broker/metrics.h"
#include "broker/random.h"

int eh_rate_limited(eh_store *store, const char *section, const char *value, unsigned limit,
                    unsigned window_s)
{
    eh_rate_counter one = {section, value, limit};

    return eh_rate_limited_all(store, &one, 1, window_s);
}

int eh_rate_limited_all(eh_store *store, const eh_rate_counter *counters, size_t n,
                        unsigned window_s)
{
    char keys[EH_STORE_BATCH_MAX][EH_STORE_KEY_MAX + 1], *digest = NULL;
    eh_store_batch_op ops[EH_STORE_BATCH_MAX];
    int over = 0;
    size_t i;

    if (n == 0 || n > EH_STORE_BATCH_MAX)
        return 1;
    for (i = 0; i < n; i++) {
        const char *value = counters[i].value;

        if (eh_token_digest(value ? value : "-", &digest) != EH_OK)
            return 1;
        snprintf(keys[i], sizeof(keys[i]), "rl:%s:%s", counters[i].section, digest);
        free(digest);
        digest = NULL;
        ops[i] = (eh_store_batch_op){.kind = EH_STORE_BATCH_INCR,
                                     .key = keys[i],
                                     .ttl_ms = window_s * 1000u,
                                     .rc = EH_ERR_INTERNAL};
    }
    eh_store_batch(store, ops, n);
    for (i = 0; i < n; i++) {
        if (ops[i].rc != EH_OK || ops[i].count > (int64_t)counters[i].limit) {
            eh_metrics_rate_limited(counters[i].section);
            over = 1;
        }
    }
    return over;
}
