#include "broker/backends/backend.h"

#include <string.h>

#include "broker/backends/mobile_id.h"

/* Every identity backend, one line each. */
static const eh_backend_def eh_backend_table[] = {
    {"mobile_id", "method_mobile_id", "mID", "mid", EH_LOA_HIGH, "/auth/mid", eh_mid_load,
     eh_mid_free},
};

#define N_BACKENDS (sizeof(eh_backend_table) / sizeof(eh_backend_table[0]))
_Static_assert(N_BACKENDS <= EH_BACKEND_MAX, "raise EH_BACKEND_MAX");

const eh_backend_def *eh_backends(size_t *n)
{
    *n = N_BACKENDS;
    return eh_backend_table;
}

int eh_backend_index(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_BACKENDS; i++) {
        if (strcmp(eh_backend_table[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

const eh_backend_def *eh_backend_find(const char *name)
{
    int i = eh_backend_index(name);
    return i < 0 ? NULL : &eh_backend_table[i];
}
