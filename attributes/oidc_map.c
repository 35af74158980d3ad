#include "attributes/oidc_map.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/registry.h"
#include "policies/policy.h"

int eh_oidc_scope_has(const char *scope, const char *word)
{
    size_t n = strlen(word);
    const char *s = scope;

    if (scope == NULL || n == 0)
        return 0;
    while (*s) {
        while (*s == ' ')
            s++;
        if (strncmp(s, word, n) == 0 && (s[n] == ' ' || s[n] == '\0'))
            return 1;
        while (*s && *s != ' ')
            s++;
    }
    return 0;
}

eh_rc eh_oidc_requested_attributes(const char *scope, json_t *out)
{
    static const char *const profile[] = {"given_name", "family_name", "date_of_birth", "gender"};
    size_t n;
    const eh_attribute_def *defs = eh_attributes(&n);
    char *copy = strdup(scope ? scope : ""), *tok, *save = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (copy == NULL)
        goto cleanup;
    if (eh_oidc_scope_has(scope, "profile")) {
        for (size_t i = 0; i < sizeof(profile) / sizeof(profile[0]); i++) {
            if (json_array_append_new(out, json_string(profile[i])) != 0)
                goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (eh_oidc_scope_has(scope, defs[i].oidc_claim) &&
            json_array_append_new(out, json_string(defs[i].name)) != 0)
            goto cleanup;
    }
    for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (eh_attribute_find(tok) == NULL && eh_attribute_find_claim(tok) == NULL &&
            eh_policy_attribute_valid(tok) && json_array_append_new(out, json_string(tok)) != 0)
            goto cleanup;
    }
    rc = EH_OK;
cleanup:
    free(copy);
    return rc;
}

json_t *eh_oidc_claims_of(const eh_identity *released)
{
    json_t *claims = json_object(), *value;
    const char *name;

    json_object_foreach(released->attributes, name, value) {
        const eh_attribute_def *def = eh_attribute_find(name);
        if (claims == NULL)
            break;
        if (def == NULL) {
            json_object_set(claims, name, value);
        } else if (strcmp(name, "gender") == 0 && json_is_string(value)) {
            char g[16];
            snprintf(g, sizeof(g), "%s", json_string_value(value));
            for (char *p = g; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            json_object_set_new(claims, def->oidc_claim, json_string(g));
        } else {
            json_object_set(claims, def->oidc_claim, value);
        }
    }
    return claims;
}

eh_subject_type eh_oidc_subject_type(eh_subject_type registered, eh_subject_type policy)
{
    return registered == EH_SUBJECT_PUBLIC && policy == EH_SUBJECT_PUBLIC ? EH_SUBJECT_PUBLIC
                                                                          : EH_SUBJECT_PAIRWISE;
}
