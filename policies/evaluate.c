/* eidhub: the release step of the response chain (eh_policy_evaluate).
 *
 * From the identity a backend established, the request and the requester's
 * policy, it builds a new identity with only what the policy lets the
 * requester learn: registry attributes copied, derived ones computed here,
 * and the subject, LoA, method and time the frontend needs. It starts from
 * an empty identity and adds; it never copies the identity and removes, so
 * whatever a backend adds one day cannot slip through. */
#include "policies/policy.h"

#include <stdlib.h>
#include <string.h>

#include "attributes/registry.h"
#include "policies/derive.h"

/* listed tells whether the array of strings a (may be NULL) names s. */
static int listed(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* copy_string duplicates s into *dst when it is set; 0 when out of memory. */
static int copy_string(char **dst, const char *s)
{
    if (s == NULL)
        return 1;
    *dst = strdup(s);
    return *dst != NULL;
}

/* release_one adds attribute name to out when in can give it: a registry
 * attribute is copied when in has a value (not null), a derived one is
 * computed at now. A missing source is not an error: the attribute is
 * simply not released. */
static eh_rc release_one(const char *name, const eh_identity *in, int64_t now, eh_identity *out)
{
    json_t *value = NULL;
    eh_rc rc;

    if (eh_attribute_find(name) != NULL) {
        value = json_object_get(in->attributes, name);
        if (value == NULL || json_is_null(value))
            return EH_OK;
        return json_object_set(out->attributes, name, value) == 0 ? EH_OK : EH_ERR_NOMEM;
    }
    rc = eh_derived_compute(name, in, now, &value);
    if (rc == EH_ERR_NOT_FOUND)
        return EH_OK;
    if (rc != EH_OK)
        return rc;
    return json_object_set_new(out->attributes, name, value) == 0 ? EH_OK : EH_ERR_NOMEM;
}

eh_rc eh_policy_evaluate(const eh_policy *p, const eh_authn_request *req, const eh_identity *in,
                         int64_t now, eh_identity **out)
{
    eh_identity *id = NULL;
    size_t i;
    json_t *v;
    eh_rc rc = EH_ERR_INVALID;

    if (p == NULL || in == NULL || out == NULL)
        goto cleanup;
    if (!eh_policy_allows_loa(p, in->loa) || !eh_policy_allows_method(p, in->method) ||
        !eh_policy_allows_country(p, in->country))
        goto cleanup;
    if ((rc = eh_identity_new(&id)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (!copy_string(&id->country, in->country) || !copy_string(&id->id_type, in->id_type) ||
        !copy_string(&id->id_value, in->id_value) || !copy_string(&id->method, in->method))
        goto cleanup;
    id->loa = in->loa;
    id->auth_time = in->auth_time;
    /* release_always is part of release (eh_policy_from_json checks it). */
    json_array_foreach(p->release, i, v) {
        const char *name = json_string_value(v);
        if (name == NULL ||
            !(listed(p->release_always, name) || (req != NULL && listed(req->requested, name))))
            continue;
        if ((rc = release_one(name, in, now, id)) != EH_OK)
            goto cleanup;
    }
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    eh_identity_free(id);
    return rc;
}
