#include "broker/config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/pairwise.h"
#include "broker/backends/backend.h"
#include "broker/frontends/protect.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/jwks.h"
#include "policies/policy.h"

#define CONFIG_MAX_BYTES (4 * 1024 * 1024)

static eh_rc parse_keys(eh_check *v, const json_t *root, eh_config *cfg)
{
    static const char *const allowed[] = {"file", "active", NULL};
    json_t *keys = json_object_get(root, "keys"), *item;
    char path[EH_JSON_PATH_MAX];
    size_t i;
    eh_rc rc;

    if (keys == NULL)
        return eh_check_fail(v, "$.keys", "is required (an array of {\"file\": PEM path, \"active\": true})");
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return eh_check_fail(v, "$.keys", "must be a non-empty array");
    cfg->keys = calloc(json_array_size(keys), sizeof(*cfg->keys));
    if (cfg->keys == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(keys, i, item) {
        char *file = NULL;
        json_t *active;
        eh_json_path_index(path, sizeof(path), "$.keys", i);
        if (!json_is_object(item))
            return eh_check_fail(v, path, "must be an object");
        if ((rc = eh_check_members(v, item, path, allowed)) != EH_OK)
            return rc;
        if ((rc = eh_check_string(v, item, path, "file", 1, &file)) != EH_OK)
            return rc;
        rc = eh_check_resolve(v->file, file, &cfg->keys[i].file);
        free(file);
        if (rc != EH_OK)
            return rc;
        cfg->n_keys = i + 1;
        active = json_object_get(item, "active");
        if (active != NULL && !json_is_boolean(active)) {
            char sub[EH_JSON_PATH_MAX];
            eh_json_path_member(sub, sizeof(sub), path, "active");
            return eh_check_fail(v, sub, "must be true or false");
        }
        cfg->keys[i].active = json_is_true(active);
    }
    return EH_OK;
}

/* client_id_ok accepts 1..128 printable ASCII characters without spaces
 * or '/', not starting with '.': a client_id names its policy's folder in
 * policy_dir (policies/policy_store.h). */
static int client_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.' || strchr(s, '/') != NULL)
        return 0;
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    }
    return 1;
}

/* parse_display_name accepts a string (taken as English) or an object of
 * locale -> string with at least one entry. */
static eh_rc parse_display_name(eh_check *v, const json_t *rp, const char *path, eh_config_rp *out)
{
    char sub[EH_JSON_PATH_MAX];
    json_t *dn = json_object_get(rp, "display_name"), *value;
    const char *locale;

    eh_json_path_member(sub, sizeof(sub), path, "display_name");
    if (dn == NULL)
        return eh_check_fail(v, sub, "is required (shown to citizens)");
    if (json_is_string(dn) && json_string_length(dn) > 0) {
        out->display_name = json_pack("{s:O}", "en", dn);
        return out->display_name ? EH_OK : EH_ERR_NOMEM;
    }
    if (!json_is_object(dn) || json_object_size(dn) == 0)
        return eh_check_fail(v, sub, "must be a string or an object of locale -> string");
    json_object_foreach(dn, locale, value) {
        if (!json_is_string(value) || json_string_length(value) == 0) {
            char item[EH_JSON_PATH_MAX];
            eh_json_path_member(item, sizeof(item), sub, locale);
            return eh_check_fail(v, item, "must be a non-empty string");
        }
    }
    out->display_name = json_incref(dn);
    return EH_OK;
}

/* profile_known tells whether name is a built-in profile. */
static int profile_known(const char *name)
{
    for (const char *const *p = eh_policy_profile_names(); *p != NULL; p++) {
        if (strcmp(*p, name) == 0)
            return 1;
    }
    return 0;
}

/* profile_names writes the built-in profiles' names, comma-separated. */
static void profile_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const char *const *p = eh_policy_profile_names(); *p != NULL && used < len; p++) {
        int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", *p);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* parse_client_auth reads how the relying party rp (its client_secret_sha256
 * already read) authenticates at the token endpoint:
 * "token_endpoint_auth_method" (by default client_secret_basic or
 * client_secret_post when it has a secret, else none) and, for
 * private_key_jwt and only then, its public keys in "jwks" (broker/jwks.h).
 * A secret client cannot present an assertion and the other way round. */
static eh_rc parse_client_auth(eh_check *v, const json_t *item, const char *path, eh_config_rp *rp)
{
    static const struct {
        const char *name;
        eh_client_auth auth;
    } methods[] = {
        {"client_secret_basic", EH_CLIENT_AUTH_SECRET_BASIC},
        {"client_secret_post", EH_CLIENT_AUTH_SECRET_POST},
        {"private_key_jwt", EH_CLIENT_AUTH_PRIVATE_KEY_JWT},
        {"none", EH_CLIENT_AUTH_NONE},
    };
    json_t *jwks = json_object_get(item, "jwks");
    char sub[EH_JSON_PATH_MAX], why[256], *method = NULL;
    int secret = rp->client_secret_sha256 != NULL, found = 0;
    eh_rc rc;

    if (json_object_get(item, "jwks_uri") != NULL) {
        eh_json_path_member(sub, sizeof(sub), path, "jwks_uri");
        return eh_check_fail(v, sub, "is not supported: give the client's public keys inline in "
                                     "\"jwks\"");
    }
    if ((rc = eh_check_string(v, item, path, "token_endpoint_auth_method", 0, &method)) != EH_OK)
        return rc;
    rp->token_endpoint_auth = secret ? EH_CLIENT_AUTH_SECRET : EH_CLIENT_AUTH_NONE;
    for (size_t i = 0; method != NULL && i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(method, methods[i].name) == 0) {
            rp->token_endpoint_auth = methods[i].auth;
            found = 1;
        }
    }
    eh_json_path_member(sub, sizeof(sub), path, "token_endpoint_auth_method");
    if (method != NULL && !found) {
        free(method);
        return eh_check_fail(v, sub, "must be \"client_secret_basic\", \"client_secret_post\", "
                                     "\"private_key_jwt\" or \"none\"");
    }
    free(method);
    switch (rp->token_endpoint_auth) {
    case EH_CLIENT_AUTH_PRIVATE_KEY_JWT:
        if (secret)
            return eh_check_fail(v, sub, "a private_key_jwt client must not have a "
                                         "client_secret_sha256");
        if (jwks == NULL)
            return eh_check_fail(v, sub, "private_key_jwt needs the client's public keys in "
                                         "\"jwks\" (a JWK Set)");
        break;
    case EH_CLIENT_AUTH_SECRET_BASIC:
    case EH_CLIENT_AUTH_SECRET_POST:
        if (!secret)
            return eh_check_fail(v, sub, "needs client_secret_sha256");
        break;
    case EH_CLIENT_AUTH_NONE:
        if (secret)
            return eh_check_fail(v, sub, "\"none\" (a public client) cannot have a "
                                         "client_secret_sha256");
        break;
    case EH_CLIENT_AUTH_SECRET:
        break;
    }
    if (jwks == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, "jwks");
    if (rp->token_endpoint_auth != EH_CLIENT_AUTH_PRIVATE_KEY_JWT)
        return eh_check_fail(v, sub, "is only used with \"token_endpoint_auth_method\": "
                                     "\"private_key_jwt\"");
    rc = eh_jwks_from_json(jwks, &rp->jwks, why, sizeof(why));
    return rc == EH_ERR_INVALID ? eh_check_fail(v, sub, "%s", why) : rc;
}

static eh_rc parse_rp(eh_check *v, const json_t *item, const char *path, eh_config_rp *rp)
{
    static const char *const allowed[] = {"client_id", "client_secret_sha256", "redirect_uris",
                                          "post_logout_redirect_uris", "display_name", "policy",
                                          "subject_type", "backchannel_logout_uri", "sp_type",
                                          "token_endpoint_auth_method", "jwks", "jwks_uri",
                                          "protect", NULL};
    char sub[EH_JSON_PATH_MAX];
    char *subject_type = NULL, *sp_type = NULL;
    eh_rc rc;

    if (!json_is_object(item))
        return eh_check_fail(v, path, "must be an object");
    if ((rc = eh_check_members(v, item, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "client_id", 1, &rp->client_id)) != EH_OK)
        return rc;
    if (!client_id_ok(rp->client_id)) {
        eh_json_path_member(sub, sizeof(sub), path, "client_id");
        return eh_check_fail(v, sub, "must be 1 to 128 printable characters without spaces or "
                                     "'/', not starting with '.'");
    }
    if ((rc = eh_check_string(v, item, path, "client_secret_sha256", 0, &rp->client_secret_sha256)) !=
        EH_OK)
        return rc;
    if (rp->client_secret_sha256 != NULL) {
        size_t n = strlen(rp->client_secret_sha256);
        int hex = n == 64;
        for (size_t i = 0; i < n && hex; i++)
            hex = isxdigit((unsigned char)rp->client_secret_sha256[i]) &&
                  !isupper((unsigned char)rp->client_secret_sha256[i]);
        if (!hex) {
            eh_json_path_member(sub, sizeof(sub), path, "client_secret_sha256");
            return eh_check_fail(v, sub, "must be 64 lowercase hex digits (eidhubctl secret-hash)");
        }
    }
    if ((rc = parse_client_auth(v, item, path, rp)) != EH_OK)
        return rc;
    if ((rc = eh_check_url_array(v, item, path, "redirect_uris", 1, &rp->redirect_uris,
                            &rp->n_redirect_uris)) != EH_OK ||
        (rc = eh_check_url_array(v, item, path, "post_logout_redirect_uris", 0,
                            &rp->post_logout_redirect_uris, &rp->n_post_logout_redirect_uris)) !=
            EH_OK ||
        (rc = parse_display_name(v, item, path, rp)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "policy", 1, &rp->policy)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "subject_type", 0, &subject_type)) != EH_OK)
        return rc;
    if (!profile_known(rp->policy)) {
        char names[256];
        free(subject_type);
        profile_names(names, sizeof(names));
        eh_json_path_member(sub, sizeof(sub), path, "policy");
        return eh_check_fail(v, sub, "unknown policy \"%s\" (known: %s)", rp->policy, names);
    }
    if ((rc = eh_check_string(v, item, path, "backchannel_logout_uri", 0,
                              &rp->backchannel_logout_uri)) != EH_OK) {
        free(subject_type);
        return rc;
    }
    if (rp->backchannel_logout_uri != NULL) {
        eh_json_path_member(sub, sizeof(sub), path, "backchannel_logout_uri");
        if ((rc = eh_check_url(v, sub, rp->backchannel_logout_uri, 0)) != EH_OK) {
            free(subject_type);
            return rc;
        }
    }
    if ((rc = eh_check_string(v, item, path, "sp_type", 0, &sp_type)) != EH_OK) {
        free(subject_type);
        return rc;
    }
    rp->sp_private = sp_type != NULL && strcmp(sp_type, "private") == 0;
    if (sp_type != NULL && !rp->sp_private && strcmp(sp_type, "public") != 0) {
        free(sp_type);
        free(subject_type);
        eh_json_path_member(sub, sizeof(sub), path, "sp_type");
        return eh_check_fail(v, sub, "must be \"public\" or \"private\"");
    }
    free(sp_type);
    if ((rc = eh_protect_config_parse(v, item, path, &rp->protect)) != EH_OK) {
        free(subject_type);
        return rc;
    }
    rp->subject_type = EH_SUBJECT_PAIRWISE; /* private by default */
    if (subject_type != NULL) {
        if (strcmp(subject_type, "public") == 0) {
            rp->subject_type = EH_SUBJECT_PUBLIC;
        } else if (strcmp(subject_type, "pairwise") != 0) {
            free(subject_type);
            eh_json_path_member(sub, sizeof(sub), path, "subject_type");
            return eh_check_fail(v, sub, "must be \"public\" or \"pairwise\"");
        }
        free(subject_type);
    }
    return EH_OK;
}

static eh_rc parse_rps(eh_check *v, const json_t *root, eh_config *cfg)
{
    json_t *rps = json_object_get(root, "relying_parties"), *item;
    char path[EH_JSON_PATH_MAX];
    size_t i;
    eh_rc rc;

    if (rps == NULL)
        return EH_OK;
    if (!json_is_array(rps))
        return eh_check_fail(v, "$.relying_parties", "must be an array");
    cfg->rps = calloc(json_array_size(rps) + 1, sizeof(*cfg->rps));
    if (cfg->rps == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(rps, i, item) {
        eh_json_path_index(path, sizeof(path), "$.relying_parties", i);
        cfg->n_rps = i + 1;
        if ((rc = parse_rp(v, item, path, &cfg->rps[i])) != EH_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->rps[j].client_id, cfg->rps[i].client_id) == 0) {
                char sub[EH_JSON_PATH_MAX];
                eh_json_path_member(sub, sizeof(sub), path, "client_id");
                return eh_check_fail(v, sub, "duplicates $.relying_parties[%zu].client_id", j);
            }
        }
    }
    return EH_OK;
}

/* parse_sso reads "sso": {"enabled": bool, "lifetime_minutes": {"low": n,
 * "substantial": n, "high": n}}; short lifetimes by default, shorter for
 * higher levels (a stolen session is worth more). */
static eh_rc parse_sso(eh_check *v, const json_t *root, eh_config *cfg)
{
    static const char *const allowed[] = {"enabled", "lifetime_minutes", NULL};
    static const char *const levels[] = {"low", "substantial", "high", NULL};
    static const char *const level_names[] = {"none", "low", "substantial", "high"};
    json_t *sso = json_object_get(root, "sso"), *life, *enabled;
    unsigned minutes[4] = {0, 30, 20, 10};
    eh_rc rc;

    cfg->retention_days = 30;
    if (json_object_get(root, "my_eidhub") != NULL) {
        static const char *const my_allowed[] = {"retention_days", NULL};
        json_t *my = json_object_get(root, "my_eidhub");
        if (!json_is_object(my))
            return eh_check_fail(v, "$.my_eidhub", "must be an object");
        if ((rc = eh_check_members(v, my, "$.my_eidhub", my_allowed)) != EH_OK ||
            /* store TTLs are 32-bit milliseconds: at most 49 days */
            (rc = eh_check_uint(v, my, "$.my_eidhub", "retention_days", 1, 49,
                                &cfg->retention_days)) != EH_OK)
            return rc;
    }
    if (sso != NULL) {
        if (!json_is_object(sso))
            return eh_check_fail(v, "$.sso", "must be an object");
        if ((rc = eh_check_members(v, sso, "$.sso", allowed)) != EH_OK)
            return rc;
        enabled = json_object_get(sso, "enabled");
        if (enabled != NULL && !json_is_boolean(enabled))
            return eh_check_fail(v, "$.sso.enabled", "must be true or false");
        if (json_is_false(enabled))
            return EH_OK; /* all lifetimes stay 0: no SSO */
        life = json_object_get(sso, "lifetime_minutes");
        if (life != NULL) {
            if (!json_is_object(life))
                return eh_check_fail(v, "$.sso.lifetime_minutes", "must be an object");
            if ((rc = eh_check_members(v, life, "$.sso.lifetime_minutes", levels)) != EH_OK)
                return rc;
            for (int l = EH_LOA_LOW; l <= EH_LOA_HIGH; l++) {
                if ((rc = eh_check_uint(v, life, "$.sso.lifetime_minutes", level_names[l], 1,
                                        1440, &minutes[l])) != EH_OK)
                    return rc;
            }
        }
    }
    for (int l = EH_LOA_LOW; l <= EH_LOA_HIGH; l++)
        cfg->sso_lifetime_s[l] = minutes[l] * 60u;
    return EH_OK;
}

/* check_backend_names refuses members of "backends" that name no backend. */
static eh_rc check_backend_names(eh_check *v, const json_t *backends)
{
    const char *name;
    json_t *value;
    char sub[EH_JSON_PATH_MAX];

    json_object_foreach((json_t *)backends, name, value) {
        (void)value;
        if (eh_backend_find(name) == NULL) {
            eh_json_path_member(sub, sizeof(sub), "$.backends", name);
            return eh_check_fail(v, sub, "unknown backend");
        }
        if (!json_is_object(value)) {
            eh_json_path_member(sub, sizeof(sub), "$.backends", name);
            return eh_check_fail(v, sub, "must be an object");
        }
    }
    return EH_OK;
}

/* parse_subject_secret reads the secret of pairwise subjects, required as
 * soon as one relying party gets pairwise subjects. */
static eh_rc parse_subject_secret(eh_check *v, const json_t *root, eh_config *cfg)
{
    char *file = NULL;
    FILE *f;
    unsigned char buf[1024];
    size_t n;
    eh_rc rc = eh_check_string(v, root, "$", "subject_secret_file", 0, &file);

    if (rc != EH_OK)
        return rc;
    if (file == NULL) {
        for (size_t i = 0; i < cfg->n_rps; i++) {
            if (cfg->rps[i].subject_type == EH_SUBJECT_PAIRWISE)
                return eh_check_fail(v, "$.subject_secret_file",
                                     "is required for pairwise subjects ($.relying_parties[%zu]); "
                                     "create one with eidhubctl secretgen FILE",
                                     i);
        }
        return EH_OK;
    }
    rc = eh_check_resolve(v->file, file, &cfg->subject_secret_file);
    free(file);
    if (rc != EH_OK)
        return rc;
    f = fopen(cfg->subject_secret_file, "rb");
    if (f == NULL)
        return eh_check_fail(v, "$.subject_secret_file", "cannot open %s: %s",
                             cfg->subject_secret_file, strerror(errno));
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n < EH_PAIRWISE_SECRET_MIN || n >= sizeof(buf)) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return eh_check_fail(v, "$.subject_secret_file", "%s must hold %d to %zu bytes",
                             cfg->subject_secret_file, EH_PAIRWISE_SECRET_MIN, sizeof(buf) - 1);
    }
    cfg->subject_secret = malloc(n);
    if (cfg->subject_secret == NULL)
        return EH_ERR_NOMEM;
    memcpy(cfg->subject_secret, buf, n);
    cfg->subject_secret_len = n;
    OPENSSL_cleanse(buf, sizeof(buf));
    return EH_OK;
}

static eh_rc parse_root(eh_check *v, json_t *root, eh_config *cfg)
{
    static const char *const allowed[] = {"issuer", "keys", "relying_parties", "backends",
                                          "policy_dir", "subject_secret_file", "admin", "sso",
                                          "my_eidhub", "audit", "log_format", "saml",
                                          "eidas_proxy", NULL};
    char *policy_dir = NULL, *log_format = NULL;
    eh_rc rc;
    size_t n;

    if (!json_is_object(root))
        return eh_check_fail(v, "$", "must be a JSON object");
    if ((rc = eh_check_members(v, root, "$", allowed)) != EH_OK ||
        (rc = eh_check_string(v, root, "$", "issuer", 1, &cfg->issuer)) != EH_OK ||
        (rc = eh_check_url(v, "$.issuer", cfg->issuer, 1)) != EH_OK)
        return rc;
    n = strlen(cfg->issuer);
    while (n > 0 && cfg->issuer[n - 1] == '/')
        cfg->issuer[--n] = '\0';
    if ((rc = parse_keys(v, root, cfg)) != EH_OK || (rc = parse_rps(v, root, cfg)) != EH_OK ||
        (rc = eh_check_string(v, root, "$", "policy_dir", 0, &policy_dir)) != EH_OK)
        return rc;
    if ((rc = eh_check_string(v, root, "$", "log_format", 0, &log_format)) != EH_OK)
        return rc;
    cfg->log_text = log_format != NULL && strcmp(log_format, "text") == 0;
    if (log_format != NULL && !cfg->log_text && strcmp(log_format, "json") != 0) {
        free(log_format);
        free(policy_dir);
        return eh_check_fail(v, "$.log_format", "must be \"json\" or \"text\"");
    }
    free(log_format);
    if (policy_dir != NULL) {
        rc = eh_check_resolve(v->file, policy_dir, &cfg->policy_dir);
        free(policy_dir);
        if (rc != EH_OK)
            return rc;
    }
    cfg->backends = json_object_get(root, "backends");
    if (cfg->backends != NULL && !json_is_object(cfg->backends))
        return eh_check_fail(v, "$.backends", "must be an object of backend name -> settings");
    json_incref(cfg->backends);
    if ((rc = check_backend_names(v, cfg->backends)) != EH_OK ||
        (rc = parse_sso(v, root, cfg)) != EH_OK)
        return rc;
    return parse_subject_secret(v, root, cfg);
}

eh_rc eh_config_parse(const char *text, size_t len, const char *path, eh_config **out, char *err,
                      size_t errlen)
{
    eh_check v = {path, err, errlen};
    json_error_t jerr;
    eh_config *cfg = NULL;
    eh_rc rc;

    err[0] = '\0';
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return EH_ERR_NOMEM;
    cfg->path = strdup(path);
    cfg->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (cfg->root == NULL) {
        char where[64];
        snprintf(where, sizeof(where), "line %d column %d", jerr.line, jerr.column);
        rc = eh_check_fail(&v, where, "not valid JSON: %s", jerr.text);
        goto cleanup;
    }
    rc = parse_root(&v, cfg->root, cfg);
    if (rc == EH_ERR_NOMEM)
        snprintf(err, errlen, "%s: out of memory", path);
    if (rc != EH_OK)
        goto cleanup;
    *out = cfg;
    cfg = NULL;
cleanup:
    eh_config_free(cfg);
    return rc;
}

eh_rc eh_config_load(const char *path, eh_config **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    eh_rc rc = EH_ERR_CONFIG;

    err[0] = '\0';
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return EH_ERR_CONFIG;
    }
    text = malloc(CONFIG_MAX_BYTES + 1);
    if (text == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    len = fread(text, 1, CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto cleanup;
    }
    if (len > CONFIG_MAX_BYTES) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
        goto cleanup;
    }
    rc = eh_config_parse(text, len, path, out, err, errlen);
cleanup:
    free(text);
    fclose(f);
    return rc;
}

const eh_config_rp *eh_config_rp_find(const eh_config *cfg, const char *client_id)
{
    for (size_t i = 0; i < cfg->n_rps; i++) {
        if (strcmp(cfg->rps[i].client_id, client_id) == 0)
            return &cfg->rps[i];
    }
    return NULL;
}

/* free_strv frees a vector of n strings and the vector. */
static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void eh_config_free(eh_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n_keys; i++)
        free(cfg->keys[i].file);
    free(cfg->keys);
    for (size_t i = 0; i < cfg->n_rps; i++) {
        eh_config_rp *rp = &cfg->rps[i];
        free(rp->client_id);
        free(rp->client_secret_sha256);
        free_strv(rp->redirect_uris, rp->n_redirect_uris);
        free_strv(rp->post_logout_redirect_uris, rp->n_post_logout_redirect_uris);
        json_decref(rp->display_name);
        free(rp->policy);
        free(rp->backchannel_logout_uri);
        eh_protect_config_free(rp->protect);
        eh_jwks_free(rp->jwks);
    }
    free(cfg->rps);
    free(cfg->path);
    free(cfg->issuer);
    free(cfg->policy_dir);
    free(cfg->subject_secret_file);
    if (cfg->subject_secret != NULL)
        OPENSSL_cleanse(cfg->subject_secret, cfg->subject_secret_len);
    free(cfg->subject_secret);
    json_decref(cfg->backends);
    json_decref(cfg->root);
    free(cfg);
}
