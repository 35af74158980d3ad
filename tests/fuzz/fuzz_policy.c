/* Fuzz target: attribute-release policies (eh_policy_from_json), as an
 * administrator posts them to /admin/api/policy or the policy store reads
 * them back.
 *
 * Invariants: the error line is NUL-terminated and one line; a valid
 * policy's effective form (eh_policy_effective_json) is itself valid and
 * resolves to the same effective form (round trip, policies/policy.h);
 * release_always is part of release; and the release step
 * (eh_policy_evaluate) over a full identity gives out nothing but released
 * attributes ("nothing else ever leaves"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/authn.h"
#include "policies/policy.h"
#include "tests/fuzz/fuzz_util.h"

static eh_identity *person;
static eh_authn_request *asks_all;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const attrs[][2] = {
        {"given_name", "MARY ÄNN"},
        {"family_name", "O’CONNEŽ-ŠUSLIK TESTNUMBER"},
        {"date_of_birth", "2000-01-01"},
        {"gender", "Female"},
        {"person_identifier", "EE60001019906"},
    };
    static const char *const asked[] = {
        "given_name",        "family_name",    "date_of_birth", "gender",
        "person_identifier", "age_over_18",    "age_over_21",   "age_over_65",
        "nationality",       "place_of_birth", "email",         NULL};
    fz_init();
    if (eh_identity_new(&person) != EH_OK || eh_authn_request_new(&asks_all) != EH_OK)
        abort();
    person->country = strdup("EE");
    person->id_type = strdup("PNO");
    person->id_value = strdup("60001019906");
    person->method = strdup("mobile_id");
    person->loa = EH_LOA_HIGH;
    person->auth_time = 1700000000;
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        json_object_set_new(person->attributes, attrs[i][0], json_string(attrs[i][1]));
    asks_all->requester = strdup("fuzz-client");
    asks_all->protocol = strdup("oidc");
    for (size_t i = 0; asked[i] != NULL; i++)
        json_array_append_new(asks_all->requested, json_string(asked[i]));
    return 0;
}

static int array_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    json_t *eff = NULL, *eff2 = NULL;
    eh_policy *p = NULL, *p2 = NULL;
    eh_identity *out = NULL;
    const char *key;
    json_t *value;
    size_t i;
    eh_rc rc;

    if (doc == NULL)
        return 0;
    memset(err, 'X', sizeof(err));
    rc = eh_policy_from_json("fuzz-client", 1, doc, &p, err, sizeof(err));
    FZ_CHECK(fz_terminated(err, sizeof(err)));
    if (fz_verbose())
        fprintf(stderr, "eh_policy_from_json: rc %d: %s\n", rc, err);
    FZ_CHECK(strpbrk(err, "\r\n") == NULL);
    if (rc != EH_OK) {
        FZ_CHECK(p == NULL);
        FZ_CHECK(err[0] != '\0' || rc == EH_ERR_NOMEM);
        goto done;
    }
    FZ_CHECK(p != NULL && err[0] == '\0');
    json_array_foreach(p->release_always, i, value)
    {
        FZ_CHECK(json_is_string(value));
        FZ_CHECK(array_has(p->release, json_string_value(value)));
    }

    /* round trip of the effective form */
    FZ_CHECK(eh_policy_effective_json(p, &eff) == EH_OK);
    rc = eh_policy_from_json("fuzz-client", 2, eff, &p2, err, sizeof(err));
    if (rc != EH_OK)
        fprintf(stderr, "effective policy refused: %s\n", err);
    FZ_CHECK(rc == EH_OK);
    FZ_CHECK(eh_policy_effective_json(p2, &eff2) == EH_OK);
    FZ_CHECK(json_equal(eff, eff2));

    /* the release step gives out nothing the policy does not release */
    rc = eh_policy_evaluate(p, asks_all, person, 1700000000, &out);
    if (rc == EH_OK) {
        json_object_foreach(out->attributes, key, value)
        {
            if (!array_has(p->release, key))
                fprintf(stderr, "released %s, not in the policy's release\n", key);
            FZ_CHECK(array_has(p->release, key));
        }
    } else {
        FZ_CHECK(out == NULL);
    }
done:
    eh_identity_free(out);
    eh_policy_free(p);
    eh_policy_free(p2);
    json_decref(eff);
    json_decref(eff2);
    json_decref(doc);
    return 0;
}
