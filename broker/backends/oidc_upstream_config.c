/* eidhub: the settings of national OpenID Connect eID providers (see
 * oidc_upstream.h for the members). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/backends/oidc_upstream.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/log.h"

#define SECRET_FILE_MAX 4096
#define CLAIM_NAME_MAX 128
#define SCOPE_MAX 1024

/* country_ok accepts two capital letters (ISO 3166-1 alpha-2). */
static int country_ok(const char *s)
{
    return s != NULL && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/* scope_token_ok accepts an RFC 6749 scope-token. */
static int scope_token_ok(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return 0;
    }
    return 1;
}

/* read_secret_file reads the client secret in file (trailing white space
 * dropped) into *out (caller wipes and frees). */
static eh_rc read_secret_file(eh_check *v, const char *path, const char *file, char **out)
{
    char buf[SECRET_FILE_MAX + 1];
    size_t len = 0;
    ssize_t got;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    eh_rc rc;

    *out = NULL;
    if (fd < 0)
        return eh_check_fail(v, path, "cannot open %s: %s", file, strerror(errno));
    while (len < sizeof(buf) && (got = read(fd, buf + len, sizeof(buf) - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = eh_check_fail(v, path, "cannot read %s: %s", file, strerror(errno));
            goto cleanup;
        }
        len += (size_t)got;
    }
    if (len > SECRET_FILE_MAX) {
        rc = eh_check_fail(v, path, "%s is over %d bytes: not a client secret", file,
                           SECRET_FILE_MAX);
        goto cleanup;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len == 0 || strlen(buf) != len) {
        rc = eh_check_fail(v, path, "%s holds no client secret", file);
        goto cleanup;
    }
    *out = strdup(buf);
    rc = *out ? EH_OK : EH_ERR_NOMEM;
cleanup:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

/* load_label reads display_name: a string, or {"en": ..., "et": ...}. */
static eh_rc load_label(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    static const char *const allowed[] = {"en", "et", NULL};
    json_t *dn = json_object_get(obj, "display_name");
    char sub[EH_JSON_PATH_MAX];
    eh_rc rc;

    eh_json_path_member(sub, sizeof(sub), path, "display_name");
    if (json_is_string(dn))
        return eh_check_string(v, obj, path, "display_name", 1, &p->label_en);
    if (!json_is_object(dn))
        return eh_check_fail(v, sub, "is required: a string or {\"en\": \"...\", \"et\": \"...\"}");
    if ((rc = eh_check_members(v, dn, sub, allowed)) != EH_OK ||
        (rc = eh_check_string(v, dn, sub, "en", 1, &p->label_en)) != EH_OK ||
        (rc = eh_check_string(v, dn, sub, "et", 0, &p->label_et)) != EH_OK)
        return rc;
    return EH_OK;
}

/* load_scopes reads scopes into the space-separated p->scope. */
static eh_rc load_scopes(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    json_t *scopes = json_object_get(obj, "scopes"), *s;
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX], text[SCOPE_MAX + 1] = "";
    size_t i, used = 0;
    int openid = 0;

    eh_json_path_member(sub, sizeof(sub), path, "scopes");
    if (scopes == NULL) {
        p->scope = strdup("openid");
        return p->scope ? EH_OK : EH_ERR_NOMEM;
    }
    if (!json_is_array(scopes) || json_array_size(scopes) == 0)
        return eh_check_fail(v, sub, "must be a non-empty array of scopes, with \"openid\"");
    json_array_foreach(scopes, i, s)
    {
        const char *t = json_string_value(s);
        int w;
        eh_json_path_index(item, sizeof(item), sub, i);
        if (t == NULL || !scope_token_ok(t))
            return eh_check_fail(v, item, "must be a scope: printable characters, no spaces");
        openid |= strcmp(t, "openid") == 0;
        w = snprintf(text + used, sizeof(text) - used, "%s%s", used ? " " : "", t);
        if (w < 0 || (size_t)w >= sizeof(text) - used)
            return eh_check_fail(v, sub, "is too long");
        used += (size_t)w;
    }
    if (!openid)
        return eh_check_fail(v, sub, "must include \"openid\"");
    p->scope = strdup(text);
    return p->scope ? EH_OK : EH_ERR_NOMEM;
}

/* load_claims reads claim_mapping: claim -> internal attribute name. */
static eh_rc load_claims(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    json_t *map = json_object_get(obj, "claim_mapping"), *value;
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX];
    const char *claim;

    if (map == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, "claim_mapping");
    if (!json_is_object(map))
        return eh_check_fail(v, sub, "must be an object of claim -> internal attribute name");
    p->claims = calloc(json_object_size(map) + 1, sizeof(*p->claims));
    if (p->claims == NULL)
        return EH_ERR_NOMEM;
    json_object_foreach(map, claim, value)
    {
        const eh_attribute_def *attr = eh_attribute_find(json_string_value(value));
        eh_json_path_member(item, sizeof(item), sub, claim);
        if (claim[0] == '\0' || strlen(claim) > CLAIM_NAME_MAX)
            return eh_check_fail(v, item, "a claim name must have 1 to %d characters",
                                 CLAIM_NAME_MAX);
        if (attr == NULL)
            return eh_check_fail(v, item, "must name an attribute of the attribute registry");
        if (strcmp(attr->name, "person_identifier") == 0)
            return eh_check_fail(v, item,
                                 "person_identifier is made from \"subject\", not "
                                 "mapped from a claim");
        for (size_t i = 0; i < p->n_claims; i++) {
            if (p->claims[i].attr == attr)
                return eh_check_fail(v, item, "%s is already mapped from another claim",
                                     attr->name);
        }
        p->claims[p->n_claims].attr = attr;
        if ((p->claims[p->n_claims].claim = strdup(claim)) == NULL)
            return EH_ERR_NOMEM;
        p->n_claims++;
    }
    return EH_OK;
}

/* load_subject reads subject {country, id_claim, id_type}. */
static eh_rc load_subject(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    static const char *const allowed[] = {"country", "id_claim", "id_type", NULL};
    json_t *s = json_object_get(obj, "subject");
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX];
    eh_rc rc;

    eh_json_path_member(sub, sizeof(sub), path, "subject");
    if (s != NULL) {
        if (!json_is_object(s))
            return eh_check_fail(v, sub, "must be {\"country\": \"FR\", \"id_claim\": \"sub\"}");
        if ((rc = eh_check_members(v, s, sub, allowed)) != EH_OK ||
            (rc = eh_check_string(v, s, sub, "country", 0, &p->subject_country)) != EH_OK ||
            (rc = eh_check_string(v, s, sub, "id_claim", 0, &p->subject_claim)) != EH_OK ||
            (rc = eh_check_string(v, s, sub, "id_type", 0, &p->subject_id_type)) != EH_OK)
            return rc;
    }
    if (p->subject_country != NULL && !country_ok(p->subject_country)) {
        eh_json_path_member(item, sizeof(item), sub, "country");
        return eh_check_fail(v, item, "must be a country code of two capital letters");
    }
    if (p->subject_claim != NULL && strlen(p->subject_claim) > CLAIM_NAME_MAX) {
        eh_json_path_member(item, sizeof(item), sub, "id_claim");
        return eh_check_fail(v, item, "is too long");
    }
    if (p->subject_id_type != NULL &&
        (strlen(p->subject_id_type) > 16 ||
         strspn(p->subject_id_type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
             strlen(p->subject_id_type))) {
        eh_json_path_member(item, sizeof(item), sub, "id_type");
        return eh_check_fail(v, item, "must be 1 to 16 letters, e.g. \"PNO\"");
    }
    if ((p->subject_country == NULL && (p->subject_country = strdup(p->country)) == NULL) ||
        (p->subject_claim == NULL && (p->subject_claim = strdup("sub")) == NULL) ||
        (p->subject_id_type == NULL && (p->subject_id_type = strdup("OIDC")) == NULL))
        return EH_ERR_NOMEM;
    return EH_OK;
}

/* load_loa reads loa_mapping and acr_values. */
static eh_rc load_loa(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    json_t *map = json_object_get(obj, "loa_mapping"), *values = json_object_get(obj, "acr_values");
    json_t *value;
    char sub[EH_JSON_PATH_MAX], item[EH_JSON_PATH_MAX];
    const char *acr;
    size_t i;

    eh_json_path_member(sub, sizeof(sub), path, "loa_mapping");
    if (!json_is_object(map) || json_object_size(map) == 0)
        return eh_check_fail(v, sub,
                             "is required: an object of acr value -> \"low\", "
                             "\"substantial\" or \"high\"");
    p->acrs = calloc(json_object_size(map), sizeof(*p->acrs));
    if (p->acrs == NULL)
        return EH_ERR_NOMEM;
    json_object_foreach(map, acr, value)
    {
        eh_loa loa = eh_loa_parse(json_string_value(value), NULL);
        eh_json_path_member(item, sizeof(item), sub, acr);
        if (acr[0] == '\0')
            return eh_check_fail(v, item, "an acr value must not be empty");
        if (loa == EH_LOA_NONE)
            return eh_check_fail(v, item, "must be \"low\", \"substantial\" or \"high\"");
        if ((p->acrs[p->n_acrs].value = strdup(acr)) == NULL)
            return EH_ERR_NOMEM;
        p->acrs[p->n_acrs++].loa = loa;
        p->loas |= 1u << loa;
    }
    if (values == NULL)
        return EH_OK;
    eh_json_path_member(sub, sizeof(sub), path, "acr_values");
    if (!json_is_array(values) || json_array_size(values) == 0)
        return eh_check_fail(v, sub, "must be a non-empty array of acr values");
    p->acr_values = calloc(json_array_size(values) + 1, sizeof(*p->acr_values));
    if (p->acr_values == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(values, i, value)
    {
        const char *s = json_string_value(value);
        eh_json_path_index(item, sizeof(item), sub, i);
        if (s == NULL || !scope_token_ok(s))
            return eh_check_fail(v, item, "must be an acr value without spaces");
        if (eh_oidcup_acr_loa(p, s) == EH_LOA_NONE)
            return eh_check_fail(v, item, "must be a member of loa_mapping");
        if ((p->acr_values[p->n_acr_values++] = strdup(s)) == NULL)
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* load_secret reads client_secret or client_secret_file (exactly one). */
static eh_rc load_secret(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    char sub[EH_JSON_PATH_MAX], *file = NULL, *abs = NULL;
    const char *method;
    eh_rc rc;

    if ((rc = eh_check_string(v, obj, path, "client_secret", 0, &p->client_secret)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "client_secret_file", 0, &file)) != EH_OK)
        goto cleanup;
    eh_json_path_member(sub, sizeof(sub), path, "client_secret_file");
    if ((p->client_secret == NULL) == (file == NULL)) {
        rc = eh_check_fail(v, path, "needs exactly one of client_secret and client_secret_file");
        goto cleanup;
    }
    if (file != NULL) {
        if ((rc = eh_check_resolve(v->file, file, &abs)) != EH_OK ||
            (rc = read_secret_file(v, sub, abs, &p->client_secret)) != EH_OK)
            goto cleanup;
    }
    method = json_string_value(json_object_get(obj, "token_endpoint_auth_method"));
    eh_json_path_member(sub, sizeof(sub), path, "token_endpoint_auth_method");
    if (json_object_get(obj, "token_endpoint_auth_method") != NULL &&
        (method == NULL || (strcmp(method, "client_secret_basic") != 0 &&
                            strcmp(method, "client_secret_post") != 0))) {
        rc = eh_check_fail(v, sub, "must be client_secret_basic or client_secret_post");
        goto cleanup;
    }
    p->secret_post = method != NULL && strcmp(method, "client_secret_post") == 0;
    rc = EH_OK;
cleanup:
    free(file);
    free(abs);
    return rc;
}

/* load_provider reads the provider at path. */
static eh_rc load_provider(eh_check *v, const json_t *obj, const char *path, eh_oidcup_provider *p)
{
    static const char *const allowed[] = {"id",
                                          "display_name",
                                          "issuer",
                                          "client_id",
                                          "client_secret",
                                          "client_secret_file",
                                          "token_endpoint_auth_method",
                                          "scopes",
                                          "claim_mapping",
                                          "subject",
                                          "loa_mapping",
                                          "acr_values",
                                          "country",
                                          "pinned_public_key",
                                          "userinfo",
                                          NULL};
    char sub[EH_JSON_PATH_MAX];
    json_t *userinfo;
    eh_rc rc;

    if (!json_is_object(obj))
        return eh_check_fail(v, path, "must be an object");
    if ((rc = eh_check_members(v, obj, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "id", 1, &p->id)) != EH_OK)
        return rc;
    if (strlen(p->id) > EH_OIDCUP_ID_MAX ||
        strspn(p->id, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(p->id)) {
        eh_json_path_member(sub, sizeof(sub), path, "id");
        return eh_check_fail(v, sub, "must be 1 to %d characters of a-z, 0-9 and -",
                             EH_OIDCUP_ID_MAX);
    }
    if (asprintf(&p->href, "/auth/oidc?provider=%s", p->id) < 0) {
        p->href = NULL;
        return EH_ERR_NOMEM;
    }
    if ((rc = load_label(v, obj, path, p)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "issuer", 1, &p->issuer)) != EH_OK)
        return rc;
    eh_json_path_member(sub, sizeof(sub), path, "issuer");
    if ((rc = eh_check_url(v, sub, p->issuer, 1)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "client_id", 1, &p->client_id)) != EH_OK ||
        (rc = load_secret(v, obj, path, p)) != EH_OK ||
        (rc = load_scopes(v, obj, path, p)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "country", 1, &p->country)) != EH_OK)
        return rc;
    if (!country_ok(p->country)) {
        eh_json_path_member(sub, sizeof(sub), path, "country");
        return eh_check_fail(v, sub, "must be a country code of two capital letters");
    }
    if ((rc = load_claims(v, obj, path, p)) != EH_OK ||
        (rc = load_subject(v, obj, path, p)) != EH_OK ||
        (rc = load_loa(v, obj, path, p)) != EH_OK ||
        (rc = eh_check_string(v, obj, path, "pinned_public_key", 0, &p->pinned_public_key)) !=
            EH_OK)
        return rc;
    userinfo = json_object_get(obj, "userinfo");
    eh_json_path_member(sub, sizeof(sub), path, "userinfo");
    if (userinfo != NULL && !json_is_boolean(userinfo))
        return eh_check_fail(v, sub, "must be true or false");
    p->userinfo = userinfo == NULL || json_is_true(userinfo);
    if (p->pinned_public_key == NULL && strncmp(p->issuer, "https://", 8) == 0)
        eh_log(EH_LOG_WARN, "%s: %s: no pinned_public_key: the provider's TLS key is not pinned",
               v->file, path);
    return eh_oidcup_cache_new(&p->cache);
}

/* load_providers reads the providers array and makes the page's choices. */
static eh_rc load_providers(eh_check *v, const json_t *settings, const char *path, eh_oidcup *up)
{
    json_t *arr = json_object_get(settings, "providers"), *item;
    char sub[EH_JSON_PATH_MAX], ipath[EH_JSON_PATH_MAX];
    size_t i;
    eh_rc rc;

    eh_json_path_member(sub, sizeof(sub), path, "providers");
    if (!json_is_array(arr) || json_array_size(arr) == 0 ||
        json_array_size(arr) > EH_OIDCUP_MAX_PROVIDERS)
        return eh_check_fail(v, sub, "is required: an array of 1 to %d providers",
                             EH_OIDCUP_MAX_PROVIDERS);
    up->providers = calloc(json_array_size(arr), sizeof(*up->providers));
    up->choices = calloc(json_array_size(arr), sizeof(*up->choices));
    if (up->providers == NULL || up->choices == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(arr, i, item)
    {
        eh_oidcup_provider *p = &up->providers[i];
        eh_json_path_index(ipath, sizeof(ipath), sub, i);
        up->n = i + 1;
        if ((rc = load_provider(v, item, ipath, p)) != EH_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(up->providers[j].id, p->id) == 0)
                return eh_check_fail(v, ipath, "id \"%s\" is used twice", p->id);
            if (strcmp(up->providers[j].issuer, p->issuer) == 0)
                return eh_check_fail(v, ipath, "issuer is used twice: one provider per issuer");
        }
        up->choices[i] =
            (eh_backend_choice){p->id, p->href, p->label_en, p->label_et, p->country, p->loas};
    }
    return EH_OK;
}

eh_rc eh_oidcup_load(const json_t *settings, const char *file, const char *path, void **state,
                     char *err, size_t errlen)
{
    static const char *const allowed[] = {
        "providers",          "discovery_ttl_seconds", "jwks_refresh_min_seconds",
        "request_timeout_ms", "clock_skew_seconds",    NULL};
    eh_check v = {file, err, errlen};
    eh_oidcup *up = NULL;
    eh_rc rc;

    *state = NULL;
    if (!json_is_object(settings))
        return eh_check_fail(&v, path, "must be an object with \"providers\"");
    if ((up = calloc(1, sizeof(*up))) == NULL)
        return EH_ERR_NOMEM;
    up->discovery_ttl_s = 3600;
    up->jwks_refresh_min_s = 60;
    up->request_timeout_ms = 5000;
    up->clock_skew_s = 60;
    up->fetch = eh_http_client_call;
    if ((rc = eh_check_members(&v, settings, path, allowed)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "discovery_ttl_seconds", 1, 86400,
                            &up->discovery_ttl_s)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "jwks_refresh_min_seconds", 1, 3600,
                            &up->jwks_refresh_min_s)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "request_timeout_ms", 500, 60000,
                            &up->request_timeout_ms)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, path, "clock_skew_seconds", 0, 300, &up->clock_skew_s)) !=
            EH_OK ||
        (rc = load_providers(&v, settings, path, up)) != EH_OK)
        goto cleanup;
    *state = up;
    up = NULL;
cleanup:
    eh_oidcup_free(up);
    return rc;
}

/* provider_clear frees what p holds, wiping the client secret. */
static void provider_clear(eh_oidcup_provider *p)
{
    free(p->id);
    free(p->label_en);
    free(p->label_et);
    free(p->href);
    free(p->issuer);
    free(p->client_id);
    if (p->client_secret != NULL)
        OPENSSL_cleanse(p->client_secret, strlen(p->client_secret));
    free(p->client_secret);
    free(p->scope);
    for (size_t i = 0; p->claims != NULL && i < p->n_claims; i++)
        free(p->claims[i].claim);
    free(p->claims);
    free(p->country);
    free(p->subject_country);
    free(p->subject_claim);
    free(p->subject_id_type);
    for (size_t i = 0; p->acrs != NULL && i < p->n_acrs; i++)
        free(p->acrs[i].value);
    free(p->acrs);
    for (size_t i = 0; p->acr_values != NULL && i < p->n_acr_values; i++)
        free(p->acr_values[i]);
    free(p->acr_values);
    free(p->pinned_public_key);
    eh_oidcup_cache_free(p->cache);
    memset(p, 0, sizeof(*p));
}

void eh_oidcup_free(void *state)
{
    eh_oidcup *up = state;

    if (up == NULL)
        return;
    for (size_t i = 0; up->providers != NULL && i < up->n; i++)
        provider_clear(&up->providers[i]);
    free(up->providers);
    free(up->choices);
    free(up);
}

const eh_backend_choice *eh_oidcup_choices(const void *state, size_t *n)
{
    const eh_oidcup *up = state;

    *n = up == NULL ? 0 : up->n;
    return up == NULL ? NULL : up->choices;
}

const eh_oidcup_provider *eh_oidcup_provider_find(const eh_oidcup *up, const char *id)
{
    for (size_t i = 0; up != NULL && id != NULL && i < up->n; i++) {
        if (strcmp(up->providers[i].id, id) == 0)
            return &up->providers[i];
    }
    return NULL;
}

eh_loa eh_oidcup_acr_loa(const eh_oidcup_provider *p, const char *acr)
{
    for (size_t i = 0; acr != NULL && i < p->n_acrs; i++) {
        if (strcmp(p->acrs[i].value, acr) == 0)
            return p->acrs[i].loa;
    }
    return EH_LOA_NONE;
}
