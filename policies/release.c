#include "policies/release.h"

#include <stdlib.h>
#include <string.h>

/* requested tells whether the request's list names attribute name. */
static int requested(const eh_authn_request *req, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(req->requested, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return 1;
    }
    return 0;
}

/* dup_or_null copies s when it is set. */
static int dup_or_null(char **dst, const char *s)
{
    if (s == NULL)
        return 1;
    *dst = strdup(s);
    return *dst != NULL;
}

eh_rc eh_release_minimise(const eh_profile *p, const eh_authn_request *req, const eh_identity *in,
                          eh_identity **out)
{
    eh_identity *id = NULL;
    const char *name;
    json_t *value;
    eh_rc rc = eh_identity_new(&id);

    if (rc != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    if (!dup_or_null(&id->country, in->country) || !dup_or_null(&id->id_type, in->id_type) ||
        !dup_or_null(&id->id_value, in->id_value) || !dup_or_null(&id->method, in->method))
        goto cleanup;
    id->loa = in->loa;
    id->auth_time = in->auth_time;
    json_object_foreach(in->attributes, name, value) {
        if (eh_profile_allows(p, name) && requested(req, name) &&
            json_object_set(id->attributes, name, value) != 0)
            goto cleanup;
    }
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    eh_identity_free(id);
    return rc;
}
