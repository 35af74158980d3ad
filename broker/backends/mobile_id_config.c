/* eidhub: the Mobile-ID backend's settings (see mobile_id.h for members):
 * all of them are the ones the SK flow shares (sk_flow.h). */
#include <stdlib.h>

#include "broker/backends/mobile_id.h"

static const eh_sk_settings_spec mid_spec = {
    .service = "Mobile-ID",
    .display_text_max = 40,
    .per_phone = 1,
    .own = NULL,
};

eh_rc eh_mid_load(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen)
{
    eh_check v = {file, err, errlen};
    eh_mid *mid = calloc(1, sizeof(*mid));
    eh_rc rc = EH_ERR_NOMEM;

    if (mid == NULL)
        return rc;
    rc = eh_sk_settings_load(&v, settings, path, &mid_spec, &mid->sk);
    if (rc == EH_OK) {
        *state = mid;
        mid = NULL;
    }
    eh_mid_free(mid);
    return rc;
}

void eh_mid_free(void *state)
{
    eh_mid *mid = state;
    if (mid == NULL)
        return;
    eh_sk_settings_clear(&mid->sk);
    free(mid);
}
