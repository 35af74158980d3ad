#include "broker/authn.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const eh_loa_names[] = {"none", "low", "substantial", "high"};
#define EIDAS_LOA_PREFIX "http://eidas.europa.eu/LoA/"
#define EIDAS_NN_LOA_PREFIX "http://eidas.europa.eu/NonNotified/LoA/"

eh_loa eh_loa_parse(const char *text, int *non_notified)
{
    const char *name = text;
    int nn = 0;

    if (text == NULL)
        return EH_LOA_NONE;
    if (strncmp(text, EIDAS_LOA_PREFIX, strlen(EIDAS_LOA_PREFIX)) == 0) {
        name = text + strlen(EIDAS_LOA_PREFIX);
    } else if (strncmp(text, EIDAS_NN_LOA_PREFIX, strlen(EIDAS_NN_LOA_PREFIX)) == 0) {
        name = text + strlen(EIDAS_NN_LOA_PREFIX);
        nn = 1;
    }
    for (int i = EH_LOA_LOW; i <= EH_LOA_HIGH; i++) {
        if (strcmp(name, eh_loa_names[i]) == 0) {
            if (non_notified != NULL)
                *non_notified = nn;
            return (eh_loa)i;
        }
    }
    return EH_LOA_NONE;
}

const char *eh_loa_name(eh_loa loa)
{
    if ((unsigned)loa > EH_LOA_HIGH)
        return "none";
    return eh_loa_names[loa];
}

const char *eh_loa_uri(eh_loa loa)
{
    static const char *const uris[] = {NULL, EIDAS_LOA_PREFIX "low", EIDAS_LOA_PREFIX "substantial",
                                       EIDAS_LOA_PREFIX "high"};
    if ((unsigned)loa > EH_LOA_HIGH)
        return NULL;
    return uris[loa];
}

int eh_loa_satisfies(eh_loa got, eh_loa want, eh_loa_comparison cmp)
{
    if (cmp == EH_LOA_EXACT)
        return got == want;
    return got >= want && got != EH_LOA_NONE;
}

/* ---------------------------------------------------------------------
 * Serialisation: one table per type lists its string members, so that to
 * and from JSON cannot drift apart. */
typedef struct string_member {
    const char *name;
    size_t offset;
} string_member;

static const string_member request_strings[] = {
    {"requester", offsetof(eh_authn_request, requester)},
    {"protocol", offsetof(eh_authn_request, protocol)},
    {"method_hint", offsetof(eh_authn_request, method_hint)},
    {"country_hint", offsetof(eh_authn_request, country_hint)},
    {"login_hint", offsetof(eh_authn_request, login_hint)},
    {"locale", offsetof(eh_authn_request, locale)},
};

static const string_member identity_strings[] = {
    {"country", offsetof(eh_identity, country)},
    {"id_type", offsetof(eh_identity, id_type)},
    {"id_value", offsetof(eh_identity, id_value)},
    {"method", offsetof(eh_identity, method)},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* strings_to_json sets each non-NULL string member of obj_struct on json. */
static eh_rc strings_to_json(const void *obj_struct, const string_member *m, size_t n, json_t *json)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = *(char *const *)((const char *)obj_struct + m[i].offset);
        if (v != NULL && json_object_set_new(json, m[i].name, json_string(v)) != 0)
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* strings_from_json copies each string member present in json into
 * obj_struct; a present member that is not a string is EH_ERR_INVALID. */
static eh_rc strings_from_json(void *obj_struct, const string_member *m, size_t n,
                               const json_t *json)
{
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(json, m[i].name);
        char **slot = (char **)((char *)obj_struct + m[i].offset);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_string(v))
            return EH_ERR_INVALID;
        *slot = strdup(json_string_value(v));
        if (*slot == NULL)
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* only_known_members refuses a JSON object with a member that is neither a
 * string member in m nor one of the extra names (NULL-terminated). */
static int only_known_members(const json_t *json, const string_member *m, size_t n,
                              const char *const *extra)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)json, key, value) {
        int known = 0;
        (void)value;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(key, m[i].name) == 0;
        for (size_t i = 0; extra[i] != NULL && !known; i++)
            known = strcmp(key, extra[i]) == 0;
        if (!known)
            return 0;
    }
    return 1;
}

/* loa_from_json reads an optional LoA member given by name ("none" allowed). */
static eh_rc loa_from_json(const json_t *json, const char *member, eh_loa *loa)
{
    json_t *v = json_object_get(json, member);
    if (v == NULL)
        return EH_OK;
    if (!json_is_string(v))
        return EH_ERR_INVALID;
    *loa = eh_loa_parse(json_string_value(v), NULL);
    if (*loa == EH_LOA_NONE && strcmp(json_string_value(v), "none") != 0)
        return EH_ERR_INVALID;
    return EH_OK;
}

eh_rc eh_authn_request_new(eh_authn_request **out)
{
    eh_authn_request *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return EH_ERR_NOMEM;
    req->requested = json_array();
    if (req->requested == NULL) {
        free(req);
        return EH_ERR_NOMEM;
    }
    *out = req;
    return EH_OK;
}

void eh_authn_request_free(eh_authn_request *req)
{
    if (req == NULL)
        return;
    for (size_t i = 0; i < N_OF(request_strings); i++)
        free(*(char **)((char *)req + request_strings[i].offset));
    json_decref(req->requested);
    free(req);
}

eh_rc eh_authn_request_to_json(const eh_authn_request *req, json_t **out)
{
    eh_rc rc = EH_ERR_NOMEM;
    json_t *json = json_object();

    if (json == NULL)
        goto cleanup;
    rc = strings_to_json(req, request_strings, N_OF(request_strings), json);
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    /* members at their default are left out: a waiting login's transaction
     * is the store's largest per-citizen cost (issue 7: at most 1 KiB) */
    if (json_object_set(json, "requested", req->requested) != 0 ||
        (req->min_loa != EH_LOA_NONE &&
         json_object_set_new(json, "min_loa", json_string(eh_loa_name(req->min_loa))) != 0) ||
        (req->comparison == EH_LOA_EXACT &&
         json_object_set_new(json, "comparison", json_string("exact")) != 0) ||
        (req->force_authn && json_object_set_new(json, "force_authn", json_true()) != 0))
        goto cleanup;
    *out = json;
    json = NULL;
    rc = EH_OK;
cleanup:
    json_decref(json);
    return rc;
}

eh_rc eh_authn_request_from_json(const json_t *json, eh_authn_request **out)
{
    static const char *const extra[] = {"requested", "min_loa", "comparison", "force_authn", NULL};
    eh_authn_request *req = NULL;
    json_t *v;
    eh_rc rc;

    if (!json_is_object(json) ||
        !only_known_members(json, request_strings, N_OF(request_strings), extra))
        return EH_ERR_INVALID;
    rc = eh_authn_request_new(&req);
    if (rc != EH_OK)
        return rc;
    rc = strings_from_json(req, request_strings, N_OF(request_strings), json);
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    v = json_object_get(json, "requested");
    if (v != NULL) {
        size_t i;
        json_t *item;
        if (!json_is_array(v))
            goto cleanup;
        json_array_foreach(v, i, item) {
            if (!json_is_string(item) || json_array_append(req->requested, item) != 0)
                goto cleanup;
        }
    }
    if (loa_from_json(json, "min_loa", &req->min_loa) != EH_OK)
        goto cleanup;
    v = json_object_get(json, "comparison");
    if (v != NULL) {
        if (json_is_string(v) && strcmp(json_string_value(v), "exact") == 0)
            req->comparison = EH_LOA_EXACT;
        else if (!json_is_string(v) || strcmp(json_string_value(v), "minimum") != 0)
            goto cleanup;
    }
    v = json_object_get(json, "force_authn");
    if (v != NULL) {
        if (!json_is_boolean(v))
            goto cleanup;
        req->force_authn = json_is_true(v);
    }
    *out = req;
    req = NULL;
    rc = EH_OK;
cleanup:
    eh_authn_request_free(req);
    return rc;
}

eh_rc eh_identity_new(eh_identity **out)
{
    eh_identity *id = calloc(1, sizeof(*id));
    if (id == NULL)
        return EH_ERR_NOMEM;
    id->attributes = json_object();
    if (id->attributes == NULL) {
        free(id);
        return EH_ERR_NOMEM;
    }
    *out = id;
    return EH_OK;
}

void eh_identity_free(eh_identity *id)
{
    if (id == NULL)
        return;
    if (id->id_value != NULL)
        OPENSSL_cleanse(id->id_value, strlen(id->id_value));
    for (size_t i = 0; i < N_OF(identity_strings); i++)
        free(*(char **)((char *)id + identity_strings[i].offset));
    json_decref(id->attributes);
    free(id);
}

eh_rc eh_identity_subject(const eh_identity *id, char *buf, size_t len)
{
    int n;
    if (id->country == NULL || id->id_value == NULL)
        return EH_ERR_INVALID;
    n = snprintf(buf, len, "%s%s", id->country, id->id_value);
    if (n < 0 || (size_t)n >= len)
        return EH_ERR_TOO_LARGE;
    return EH_OK;
}

eh_rc eh_identity_to_json(const eh_identity *id, json_t **out)
{
    eh_rc rc = EH_ERR_NOMEM;
    json_t *json = json_object();

    if (json == NULL)
        goto cleanup;
    rc = strings_to_json(id, identity_strings, N_OF(identity_strings), json);
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (json_object_set_new(json, "loa", json_string(eh_loa_name(id->loa))) != 0 ||
        json_object_set_new(json, "auth_time", json_integer(id->auth_time)) != 0 ||
        json_object_set(json, "attributes", id->attributes) != 0)
        goto cleanup;
    *out = json;
    json = NULL;
    rc = EH_OK;
cleanup:
    json_decref(json);
    return rc;
}

eh_rc eh_identity_from_json(const json_t *json, eh_identity **out)
{
    static const char *const extra[] = {"loa", "auth_time", "attributes", NULL};
    eh_identity *id = NULL;
    json_t *v;
    eh_rc rc;

    if (!json_is_object(json) ||
        !only_known_members(json, identity_strings, N_OF(identity_strings), extra))
        return EH_ERR_INVALID;
    rc = eh_identity_new(&id);
    if (rc != EH_OK)
        return rc;
    rc = strings_from_json(id, identity_strings, N_OF(identity_strings), json);
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (loa_from_json(json, "loa", &id->loa) != EH_OK)
        goto cleanup;
    v = json_object_get(json, "auth_time");
    if (v != NULL) {
        if (!json_is_integer(v))
            goto cleanup;
        id->auth_time = json_integer_value(v);
    }
    v = json_object_get(json, "attributes");
    if (v != NULL) {
        if (!json_is_object(v) || json_object_update(id->attributes, v) != 0)
            goto cleanup;
    }
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    eh_identity_free(id);
    return rc;
}
