/* eidhub: the Smart-ID backend's settings (see smart_id.h for members):
 * those the SK flow shares (sk_flow.h) and certificate_level. */
#include <stdlib.h>
#include <string.h>

#include "broker/backends/smart_id.h"
#include "broker/json_path.h"

static const char *const sid_own[] = {"certificate_level", NULL};

static const eh_sk_settings_spec sid_spec = {
    .service = "Smart-ID",
    .display_text_max = 60,
    .per_phone = 0,
    .own = sid_own,
};

eh_rc eh_sid_load(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen)
{
    eh_check v = {file, err, errlen};
    char sub[EH_JSON_PATH_MAX];
    eh_sid *sid = calloc(1, sizeof(*sid));
    eh_rc rc = EH_ERR_NOMEM;

    if (sid == NULL)
        return rc;
    if ((rc = eh_sk_settings_load(&v, settings, path, &sid_spec, &sid->sk)) != EH_OK ||
        (rc = eh_check_string(&v, settings, path, "certificate_level", 0,
                              &sid->certificate_level)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (sid->certificate_level == NULL && (sid->certificate_level = strdup("QUALIFIED")) == NULL)
        goto cleanup;
    sid->loa = eh_sid_level_loa(sid->certificate_level);
    if (sid->loa == EH_LOA_NONE) {
        eh_json_path_member(sub, sizeof(sub), path, "certificate_level");
        rc = eh_check_fail(&v, sub, "must be QUALIFIED or ADVANCED");
        goto cleanup;
    }
    *state = sid;
    sid = NULL;
    rc = EH_OK;
cleanup:
    eh_sid_free(sid);
    return rc;
}

void eh_sid_free(void *state)
{
    eh_sid *sid = state;
    if (sid == NULL)
        return;
    eh_sk_settings_clear(&sid->sk);
    free(sid->certificate_level);
    free(sid);
}
