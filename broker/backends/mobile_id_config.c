/* eidhub: the Mobile-ID backend's settings (see mobile_id.h for members). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/mobile_id.h"
#include "broker/backends/sk_verify.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/log.h"

/* hash_len_of maps a MID hashType to its digest length, 0 if unknown. */
static size_t hash_len_of(const char *type)
{
    if (strcmp(type, "SHA256") == 0)
        return 32;
    if (strcmp(type, "SHA384") == 0)
        return 48;
    if (strcmp(type, "SHA512") == 0)
        return 64;
    return 0;
}

/* load_rate_limit reads the optional "rate_limit" object. */
static eh_rc load_rate_limit(eh_check *v, const json_t *settings, const char *path, eh_mid *mid)
{
    static const char *const allowed[] = {"per_person", "per_phone", "per_client_address",
                                          "window_seconds", NULL};
    char sub[EH_JSON_PATH_MAX];
    json_t *rl = json_object_get(settings, "rate_limit");
    eh_rc rc;

    mid->limit_person = 5;
    mid->limit_phone = 5;
    mid->limit_address = 30;
    mid->limit_window_s = 300;
    if (rl == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, "rate_limit");
    if (!json_is_object(rl))
        return eh_check_fail(v, sub, "must be an object");
    if ((rc = eh_check_members(v, rl, sub, allowed)) != EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_person", 1, 1000, &mid->limit_person)) != EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_phone", 1, 1000, &mid->limit_phone)) != EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_client_address", 1, 100000, &mid->limit_address)) !=
            EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "window_seconds", 1, 86400, &mid->limit_window_s)) !=
            EH_OK)
        return rc;
    return EH_OK;
}

/* load_trust loads the trusted CA files. */
static eh_rc load_trust(eh_check *v, const json_t *settings, const char *path, eh_mid *mid)
{
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX], why[512];
    json_t *files = json_object_get(settings, "trusted_ca_files"), *f;
    char **names = NULL;
    size_t i, n = 0;
    eh_rc rc = EH_OK;

    eh_json_path_member(sub, sizeof(sub), path, "trusted_ca_files");
    if (!json_is_array(files) || json_array_size(files) == 0)
        return eh_check_fail(v, sub, "is required: a non-empty array of PEM files of the CAs "
                                     "that issue Mobile-ID certificates");
    names = calloc(json_array_size(files), sizeof(*names));
    if (names == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(files, i, f) {
        eh_json_path_index(item, sizeof(item), sub, i);
        if (!json_is_string(f) || json_string_length(f) == 0) {
            rc = eh_check_fail(v, item, "must be a file name");
            goto cleanup;
        }
        if ((rc = eh_check_resolve(v->file, json_string_value(f), &names[i])) != EH_OK)
            goto cleanup;
        n = i + 1;
    }
    rc = eh_sk_trust_new((const char *const *)names, n, &mid->trust, why, sizeof(why));
    if (rc != EH_OK)
        rc = eh_check_fail(v, sub, "%s", why);
cleanup:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

eh_rc eh_mid_load(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen)
{
    static const char *const allowed[] = {
        "url",          "relying_party_uuid", "relying_party_name", "trusted_ca_files",
        "pinned_public_key", "display_text",  "hash_type",          "poll_timeout_ms",
        "request_timeout_ms", "rate_limit",   NULL};
    eh_check v = {file, err, errlen};
    char sub[EH_JSON_PATH_MAX];
    eh_mid *mid = calloc(1, sizeof(*mid));
    eh_rc rc = EH_ERR_NOMEM;

    if (mid == NULL)
        return rc;
    mid->poll_timeout_ms = 1000;
    mid->request_timeout_ms = 5000;
    if ((rc = eh_check_members(&v, settings, path, allowed)) != EH_OK ||
        (rc = eh_check_string(&v, settings, path, "url", 1, &mid->url)) != EH_OK)
        goto cleanup;
    eh_json_path_member(sub, sizeof(sub), path, "url");
    if ((rc = eh_check_url(&v, sub, mid->url, 1)) != EH_OK)
        goto cleanup;
    while (strlen(mid->url) > 0 && mid->url[strlen(mid->url) - 1] == '/')
        mid->url[strlen(mid->url) - 1] = '\0';
    if ((rc = eh_check_string(&v, settings, path, "relying_party_uuid", 1, &mid->rp_uuid)) !=
            EH_OK ||
        (rc = eh_check_string(&v, settings, path, "relying_party_name", 1, &mid->rp_name)) !=
            EH_OK ||
        (rc = eh_check_string(&v, settings, path, "pinned_public_key", 0,
                              &mid->pinned_public_key)) != EH_OK ||
        (rc = eh_check_string(&v, settings, path, "display_text", 0, &mid->display_text)) !=
            EH_OK ||
        (rc = eh_check_string(&v, settings, path, "hash_type", 0, &mid->hash_type)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "poll_timeout_ms", 1000, 5000,
                            &mid->poll_timeout_ms)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "request_timeout_ms", 500, 60000,
                            &mid->request_timeout_ms)) != EH_OK)
        goto cleanup;
    if (mid->display_text != NULL && strlen(mid->display_text) > 40) {
        eh_json_path_member(sub, sizeof(sub), path, "display_text");
        rc = eh_check_fail(&v, sub, "must be at most 40 characters");
        goto cleanup;
    }
    if (mid->hash_type == NULL && (mid->hash_type = strdup("SHA256")) == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    mid->hash_len = hash_len_of(mid->hash_type);
    if (mid->hash_len == 0) {
        eh_json_path_member(sub, sizeof(sub), path, "hash_type");
        rc = eh_check_fail(&v, sub, "must be SHA256, SHA384 or SHA512");
        goto cleanup;
    }
    if ((rc = load_rate_limit(&v, settings, path, mid)) != EH_OK ||
        (rc = load_trust(&v, settings, path, mid)) != EH_OK)
        goto cleanup;
    if (mid->pinned_public_key == NULL && strncmp(mid->url, "https://", 8) == 0)
        eh_log(EH_LOG_WARN, "%s: %s: no pinned_public_key: the Mobile-ID API's TLS key is not "
                            "pinned",
               file, path);
    *state = mid;
    mid = NULL;
cleanup:
    eh_mid_free(mid);
    return rc;
}

void eh_mid_free(void *state)
{
    eh_mid *mid = state;
    if (mid == NULL)
        return;
    free(mid->url);
    free(mid->rp_uuid);
    free(mid->rp_name);
    free(mid->pinned_public_key);
    free(mid->display_text);
    free(mid->hash_type);
    eh_sk_trust_free(mid->trust);
    free(mid);
}
