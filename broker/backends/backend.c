#include "broker/backends/backend.h"

#include <string.h>

#include "broker/backends/eidas_connector.h"
#include "broker/backends/mobile_id.h"
#include "broker/backends/oidc_upstream.h"
#include "broker/backends/smart_id.h"

/* Every identity backend, one line each. */
static const eh_backend_def eh_backend_table[] = {
    {.name = "mobile_id", .label_key = "method_mobile_id", .amr = "mID", .scope = "mid",
     .loa = EH_LOA_HIGH, .start_path = "/auth/mid", .load = eh_mid_load, .free = eh_mid_free},
    {.name = "smart_id", .label_key = "method_smart_id", .amr = "smartid", .scope = "smartid",
     .loa = EH_LOA_HIGH, .start_path = "/auth/sid", .load = eh_sid_load, .free = eh_sid_free,
     .loa_of = eh_sid_loa},
    {.name = "oidc_upstream", .label_key = "method_oidc_upstream", .amr = "oidc", .scope = "eid",
     .loa = EH_LOA_HIGH, .start_path = "/auth/oidc", .load = eh_oidcup_load,
     .free = eh_oidcup_free, .choices = eh_oidcup_choices},
    {.name = "eidas_connector", .label_key = "method_eidas", .amr = "eidas", .scope = "eidas",
     .loa = EH_LOA_HIGH, .start_path = "/auth/eidas", .load = eh_eidas_connector_load,
     .free = eh_eidas_connector_free, .choices = eh_eidas_connector_choices,
     .logout = eh_eidas_connector_logout},
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

eh_loa eh_backend_loa(const eh_backend_def *d, const void *state)
{
    return d->loa_of != NULL && state != NULL ? d->loa_of(state) : d->loa;
}
