#include "broker/rate_limit.h"

#include <stdio.h>
#include <stdlib.h>

#include "broker/metrics.h"
#include "broker/random.h"

int eh_rate_limited(eh_store *store, const char *section, const char *value, unsigned limit,
                    unsigned window_s)
{
    char key[EH_STORE_KEY_MAX + 1], *digest = NULL;
    int64_t count = 0;
    eh_rc rc = eh_token_digest(value ? value : "-", &digest);

    if (rc != EH_OK)
        return 1;
    snprintf(key, sizeof(key), "rl:%s:%s", section, digest);
    free(digest);
    rc = eh_store_incr(store, key, window_s * 1000u, &count);
    if (rc != EH_OK || count > (int64_t)limit) {
        eh_metrics_rate_limited(section);
        return 1;
    }
    return 0;
}
