/* eidhub: the settings Mobile-ID and Smart-ID share (see sk_flow.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/sk_flow.h"
#include "broker/backends/sk_ocsp.h"
#include "broker/backends/sk_verify.h"
#include "broker/json_path.h"
#include "broker/log.h"

#define MEMBERS_MAX 24

/* hash_len_of maps a hashType to its digest length, 0 if unknown. */
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

/* utf8_length counts the characters of UTF-8 text (its bytes that do not
 * continue a character). */
static size_t utf8_length(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += ((unsigned char)*text & 0xC0) != 0x80;
    return n;
}

/* load_rate_limit reads the optional "rate_limit" object. */
static eh_rc load_rate_limit(eh_check *v, const json_t *settings, const char *path,
                             const eh_sk_settings_spec *spec, eh_sk_settings *s)
{
    static const char *const with_phone[] = {"per_person", "per_phone", "per_client_address",
                                             "window_seconds", NULL};
    static const char *const without_phone[] = {"per_person", "per_client_address",
                                                "window_seconds", NULL};
    char sub[EH_JSON_PATH_MAX];
    json_t *rl = json_object_get(settings, "rate_limit");
    eh_rc rc;

    s->limit_person = 5;
    s->limit_phone = 5;
    s->limit_address = 30;
    s->limit_window_s = 300;
    if (rl == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, "rate_limit");
    if (!json_is_object(rl))
        return eh_check_fail(v, sub, "must be an object");
    if ((rc = eh_check_members(v, rl, sub, spec->per_phone ? with_phone : without_phone)) !=
            EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_person", 1, 1000, &s->limit_person)) != EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_phone", 1, 1000, &s->limit_phone)) != EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "per_client_address", 1, 100000, &s->limit_address)) !=
            EH_OK ||
        (rc = eh_check_uint(v, rl, sub, "window_seconds", 1, 86400, &s->limit_window_s)) != EH_OK)
        return rc;
    return EH_OK;
}

/* load_trust loads the trusted CA files. */
static eh_rc load_trust(eh_check *v, const json_t *settings, const char *path,
                        const eh_sk_settings_spec *spec, eh_sk_settings *s)
{
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX], why[512];
    json_t *files = json_object_get(settings, "trusted_ca_files"), *f;
    char **names = NULL;
    size_t i, n = 0;
    eh_rc rc = EH_OK;

    eh_json_path_member(sub, sizeof(sub), path, "trusted_ca_files");
    if (!json_is_array(files) || json_array_size(files) == 0)
        return eh_check_fail(v, sub,
                             "is required: a non-empty array of PEM files of the CAs "
                             "that issue %s certificates",
                             spec->service);
    names = calloc(json_array_size(files), sizeof(*names));
    if (names == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(files, i, f)
    {
        eh_json_path_index(item, sizeof(item), sub, i);
        if (!json_is_string(f) || json_string_length(f) == 0) {
            rc = eh_check_fail(v, item, "must be a file name");
            goto cleanup;
        }
        if ((rc = eh_check_resolve(v->file, json_string_value(f), &names[i])) != EH_OK)
            goto cleanup;
        n = i + 1;
    }
    rc = eh_sk_trust_new((const char *const *)names, n, &s->trust, why, sizeof(why));
    if (rc != EH_OK)
        rc = eh_check_fail(v, sub, "%s", why);
cleanup:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* load_ocsp reads the optional "ocsp" member: false switches the
 * revocation check off (with a warning), true or an object (or nothing)
 * keeps it on with what the object sets. */
static eh_rc load_ocsp(eh_check *v, const json_t *settings, const char *path,
                       const eh_sk_settings_spec *spec, eh_sk_settings *s)
{
    static const char *const members[] = {"url",
                                          "responder_certificate",
                                          "timeout_ms",
                                          "max_age_seconds",
                                          "clock_skew_seconds",
                                          "nonce",
                                          NULL};
    eh_sk_ocsp_config c = {.timeout_ms = 3000, .max_age_s = 900, .clock_skew_s = 60, .nonce = 1};
    json_t *o = json_object_get(settings, "ocsp"), *nonce;
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX], why[512];
    char *url = NULL, *file = NULL, *resolved = NULL;
    eh_rc rc;

    eh_json_path_member(sub, sizeof(sub), path, "ocsp");
    if (json_is_false(o)) {
        eh_log(EH_LOG_WARN,
               "%s: %s: \"ocsp\": false: the revocation of %s certificates is NOT checked", v->file,
               path, spec->service);
        return EH_OK;
    }
    if (o != NULL && !json_is_true(o) && !json_is_object(o))
        return eh_check_fail(v, sub, "must be an object, or false to switch the check off");
    if (json_is_object(o)) {
        if ((rc = eh_check_members(v, o, sub, members)) != EH_OK ||
            (rc = eh_check_string(v, o, sub, "url", 0, &url)) != EH_OK ||
            (rc = eh_check_string(v, o, sub, "responder_certificate", 0, &file)) != EH_OK ||
            (rc = eh_check_uint(v, o, sub, "timeout_ms", 500, 60000, &c.timeout_ms)) != EH_OK ||
            (rc = eh_check_uint(v, o, sub, "max_age_seconds", 1, 86400, &c.max_age_s)) != EH_OK ||
            (rc = eh_check_uint(v, o, sub, "clock_skew_seconds", 0, 600, &c.clock_skew_s)) != EH_OK)
            goto cleanup;
        nonce = json_object_get(o, "nonce");
        if (nonce != NULL && !json_is_boolean(nonce)) {
            eh_json_path_member(item, sizeof(item), sub, "nonce");
            rc = eh_check_fail(v, item, "must be true or false");
            goto cleanup;
        }
        c.nonce = nonce == NULL || json_is_true(nonce);
    }
    if (file != NULL && (rc = eh_check_resolve(v->file, file, &resolved)) != EH_OK)
        goto cleanup;
    c.url = url;
    c.responder_certificate = resolved;
    rc = eh_sk_ocsp_new(&c, s->trust, &s->ocsp, why, sizeof(why));
    if (rc != EH_OK) {
        eh_json_path_member(item, sizeof(item), sub,
                            rc == EH_ERR_KEY ? "responder_certificate" : "url");
        rc = eh_check_fail(v, item, "%s", why);
        goto cleanup;
    }
    if (!c.nonce)
        eh_log(EH_LOG_WARN,
               "%s: %s: the OCSP nonce is off: an old answer may be replayed "
               "within max_age_seconds",
               v->file, sub);
cleanup:
    free(url);
    free(file);
    free(resolved);
    return rc;
}

/* allowed_members fills out (MEMBERS_MAX) with the shared members and
 * spec's own, NULL-terminated. */
static void allowed_members(const eh_sk_settings_spec *spec, const char **out)
{
    static const char *const shared[] = {"url",
                                         "relying_party_uuid",
                                         "relying_party_name",
                                         "trusted_ca_files",
                                         "pinned_public_key",
                                         "display_text",
                                         "hash_type",
                                         "poll_timeout_ms",
                                         "request_timeout_ms",
                                         "rate_limit",
                                         "ocsp",
                                         NULL};
    size_t n = 0;

    for (size_t i = 0; shared[i] != NULL; i++)
        out[n++] = shared[i];
    for (size_t i = 0; spec->own != NULL && spec->own[i] != NULL && n < MEMBERS_MAX - 1; i++)
        out[n++] = spec->own[i];
    out[n] = NULL;
}

eh_rc eh_sk_settings_load(eh_check *v, const json_t *settings, const char *path,
                          const eh_sk_settings_spec *spec, eh_sk_settings *s)
{
    const char *allowed[MEMBERS_MAX];
    char sub[EH_JSON_PATH_MAX];
    eh_rc rc;

    allowed_members(spec, allowed);
    s->poll_timeout_ms = 1000;
    s->request_timeout_ms = 5000;
    if ((rc = eh_check_members(v, settings, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, settings, path, "url", 1, &s->url)) != EH_OK)
        return rc;
    eh_json_path_member(sub, sizeof(sub), path, "url");
    if ((rc = eh_check_url(v, sub, s->url, 1)) != EH_OK)
        return rc;
    while (strlen(s->url) > 0 && s->url[strlen(s->url) - 1] == '/')
        s->url[strlen(s->url) - 1] = '\0';
    if ((rc = eh_check_string(v, settings, path, "relying_party_uuid", 1, &s->rp_uuid)) != EH_OK ||
        (rc = eh_check_string(v, settings, path, "relying_party_name", 1, &s->rp_name)) != EH_OK ||
        (rc = eh_check_string(v, settings, path, "pinned_public_key", 0, &s->pinned_public_key)) !=
            EH_OK ||
        (rc = eh_check_string(v, settings, path, "display_text", 0, &s->display_text)) != EH_OK ||
        (rc = eh_check_string(v, settings, path, "hash_type", 0, &s->hash_type)) != EH_OK ||
        (rc = eh_check_uint(v, settings, path, "poll_timeout_ms", 1000, 5000,
                            &s->poll_timeout_ms)) != EH_OK ||
        (rc = eh_check_uint(v, settings, path, "request_timeout_ms", 500, 60000,
                            &s->request_timeout_ms)) != EH_OK)
        return rc;
    if (s->display_text != NULL && utf8_length(s->display_text) > spec->display_text_max) {
        eh_json_path_member(sub, sizeof(sub), path, "display_text");
        return eh_check_fail(v, sub, "must be at most %zu characters", spec->display_text_max);
    }
    if (s->hash_type == NULL && (s->hash_type = strdup("SHA256")) == NULL)
        return EH_ERR_NOMEM;
    s->hash_len = hash_len_of(s->hash_type);
    if (s->hash_len == 0) {
        eh_json_path_member(sub, sizeof(sub), path, "hash_type");
        return eh_check_fail(v, sub, "must be SHA256, SHA384 or SHA512");
    }
    if ((rc = load_rate_limit(v, settings, path, spec, s)) != EH_OK ||
        (rc = load_trust(v, settings, path, spec, s)) != EH_OK ||
        (rc = load_ocsp(v, settings, path, spec, s)) != EH_OK)
        return rc;
    if (s->pinned_public_key == NULL && strncmp(s->url, "https://", 8) == 0)
        eh_log(EH_LOG_WARN, "%s: %s: no pinned_public_key: the %s API's TLS key is not pinned",
               v->file, path, spec->service);
    return EH_OK;
}

void eh_sk_settings_clear(eh_sk_settings *s)
{
    if (s == NULL)
        return;
    free(s->url);
    free(s->rp_uuid);
    free(s->rp_name);
    free(s->pinned_public_key);
    free(s->display_text);
    free(s->hash_type);
    eh_sk_ocsp_free(s->ocsp); /* before the trust whose store it borrows */
    eh_sk_trust_free(s->trust);
    memset(s, 0, sizeof(*s));
}
