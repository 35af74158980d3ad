#include "policies/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/registry.h"
#include "broker/backends/backend.h"
#include "broker/json_path.h"
#include "policies/derive.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define SECTOR_MAX 64

/* The built-in profiles, each a policy document itself (validated by the
 * same code as administrators' documents). "full" also releases every
 * natural-person attribute of the registry, so that a new registry entry
 * reaches it without a second list to keep in step. */
typedef struct profile_def {
    const char *name;
    const char *doc;
    int all_natural; /* add every natural-person registry attribute to release */
} profile_def;

static const profile_def profile_table[] = {
    {"age-only", "{\"release\": [\"age_over_18\"], \"release_always\": [\"age_over_18\"]}", 0},
    {"basic", "{\"release\": [\"given_name\", \"family_name\"]}", 0},
    {"full", "{\"subject_type\": \"public\"}", 1},
};

static const char *const profile_names[] = {"age-only", "basic", "full", NULL};

_Static_assert(N_OF(profile_table) + 1 == N_OF(profile_names), "profile tables disagree");

/* The members a document may have (docs/policies.md). */
static const char *const members[] = {"profile", "release",   "release_always", "min_loa",
                                      "methods", "countries", "subject_type",   "sector",
                                      "consent", NULL};

/* The registry attributes that are the citizen's real identifier: never
 * released where the subject is pairwise, or the pseudonym is pointless. */
static const char *const identifiers[] = {"person_identifier", "legal_person_identifier"};

/* A validation in progress: where its one error line goes. */
typedef struct check {
    char *err;
    size_t errlen;
} check;

/* fail writes "<path>: <message>" into the error buffer and returns
 * EH_ERR_INVALID. */
static eh_rc fail(check *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static eh_rc fail(check *c, const char *path, const char *fmt, ...)
{
    char msg[384];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->err != NULL && c->errlen > 0)
        snprintf(c->err, c->errlen, "%s: %s", path, msg);
    return EH_ERR_INVALID;
}

/* quoted writes s as a JSON string (quotes, escapes, ASCII only) into buf,
 * so that whatever a document holds, an error stays one printable line. */
static const char *quoted(const char *s, char *buf, size_t len)
{
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;

    snprintf(buf, len, "%s", text ? text : "\"?\"");
    free(text);
    json_decref(j);
    return buf;
}

/* array_has tells whether the array of strings a holds s. */
static int array_has(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    if (s == NULL)
        return 0;
    json_array_foreach(a, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

/* is_identifier tells whether name is the real identifier of a person. */
static int is_identifier(const char *name)
{
    for (size_t i = 0; i < N_OF(identifiers); i++) {
        if (strcmp(identifiers[i], name) == 0)
            return 1;
    }
    return 0;
}

/* An entry check: EH_OK, or an error through fail naming path. */
typedef eh_rc (*entry_check)(check *c, const char *path, const char *s);

static eh_rc check_attribute(check *c, const char *path, const char *s)
{
    char q[160];
    const char *problem;

    if (eh_policy_attribute_valid(s))
        return EH_OK;
    problem = eh_derived_problem(s);
    if (problem != NULL)
        return fail(c, path, "%s: %s", quoted(s, q, sizeof(q)), problem);
    return fail(c, path,
                "unknown attribute %s (neither in the attribute registry nor a derived "
                "attribute)",
                quoted(s, q, sizeof(q)));
}

static eh_rc check_method(check *c, const char *path, const char *s)
{
    char q[160], known[256] = "";
    size_t n, used = 0;
    const eh_backend_def *defs;

    if (eh_backend_find(s) != NULL)
        return EH_OK;
    defs = eh_backends(&n);
    for (size_t i = 0; i < n && used < sizeof(known); i++) {
        int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "", defs[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return fail(c, path, "unknown method %s (known: %s)", quoted(s, q, sizeof(q)), known);
}

static eh_rc check_country(check *c, const char *path, const char *s)
{
    if (s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0')
        return EH_OK;
    return fail(c, path, "must be a country code of two capital letters (ISO 3166-1 alpha-2)");
}

/* read_names reads member name of doc, an array of distinct strings each
 * accepted by ok, into *out (a new array, caller owns). *out stays NULL
 * when the member is absent. */
static eh_rc read_names(check *c, const json_t *doc, const char *name, entry_check ok, json_t **out)
{
    char path[EH_JSON_PATH_MAX], item_path[EH_JSON_PATH_MAX], first[EH_JSON_PATH_MAX];
    json_t *a = json_object_get(doc, name), *names = NULL, *v;
    size_t i;
    eh_rc rc = EH_OK;

    *out = NULL;
    if (a == NULL)
        goto cleanup;
    eh_json_path_member(path, sizeof(path), NULL, name);
    if (!json_is_array(a)) {
        rc = fail(c, path, "must be an array of strings");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((names = json_array()) == NULL)
        goto cleanup;
    json_array_foreach(a, i, v) {
        eh_json_path_index(item_path, sizeof(item_path), path, i);
        if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            rc = fail(c, item_path, "must be a string");
            goto cleanup;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(a, j)), json_string_value(v)) == 0) {
                eh_json_path_index(first, sizeof(first), path, j);
                rc = fail(c, item_path, "repeats %s", first);
                goto cleanup;
            }
        }
        if ((rc = ok(c, item_path, json_string_value(v))) != EH_OK)
            goto cleanup;
        rc = EH_ERR_NOMEM;
        if (json_array_append(names, v) != 0)
            goto cleanup;
    }
    *out = names;
    names = NULL;
    rc = EH_OK;
cleanup:
    json_decref(names);
    return rc;
}

/* replace_array puts the new array fresh (when not NULL) in *slot. */
static void replace_array(json_t **slot, json_t *fresh)
{
    if (fresh == NULL)
        return;
    json_decref(*slot);
    *slot = fresh;
}

/* policy_new returns a policy with the defaults: nothing released, no
 * minimum LoA, every method and country, a pairwise subject, no consent. */
static eh_rc policy_new(const char *name, int version, const json_t *doc, eh_policy **out)
{
    eh_rc rc = EH_ERR_NOMEM;
    eh_policy *p = calloc(1, sizeof(*p));

    if (p == NULL)
        goto cleanup;
    p->version = version;
    p->min_loa = EH_LOA_NONE;
    p->subject_type = EH_SUBJECT_PAIRWISE;
    if ((p->name = strdup(name)) == NULL || (p->release = json_array()) == NULL ||
        (p->release_always = json_array()) == NULL || (p->methods = json_array()) == NULL ||
        (p->countries = json_array()) == NULL || (p->doc = json_deep_copy(doc)) == NULL)
        goto cleanup;
    *out = p;
    p = NULL;
    rc = EH_OK;
cleanup:
    eh_policy_free(p);
    return rc;
}

/* read_scalars applies doc's min_loa, subject_type, sector and consent to p. */
static eh_rc read_scalars(check *c, const json_t *doc, eh_policy *p)
{
    json_t *v;
    int found = 0;

    if ((v = json_object_get(doc, "min_loa")) != NULL) {
        for (int l = EH_LOA_NONE; l <= EH_LOA_HIGH && !found; l++) {
            if (json_is_string(v) && strcmp(json_string_value(v), eh_loa_name((eh_loa)l)) == 0) {
                p->min_loa = (eh_loa)l;
                found = 1;
            }
        }
        if (!found)
            return fail(c, "$.min_loa", "must be \"none\", \"low\", \"substantial\" or \"high\"");
    }
    if ((v = json_object_get(doc, "subject_type")) != NULL) {
        if (json_is_string(v) && strcmp(json_string_value(v), "public") == 0)
            p->subject_type = EH_SUBJECT_PUBLIC;
        else if (json_is_string(v) && strcmp(json_string_value(v), "pairwise") == 0)
            p->subject_type = EH_SUBJECT_PAIRWISE;
        else
            return fail(c, "$.subject_type", "must be \"public\" or \"pairwise\"");
    }
    if ((v = json_object_get(doc, "sector")) != NULL) {
        const char *s = json_string_value(v);
        size_t len = s ? strlen(s) : 0;
        int printable =
            json_is_string(v) && len >= 1 && len <= SECTOR_MAX && len == json_string_length(v);
        for (size_t i = 0; printable && i < len; i++)
            printable = s[i] > 0x20 && s[i] < 0x7f;
        free(p->sector);
        p->sector = NULL;
        if (!json_is_null(v) && !printable)
            return fail(c, "$.sector",
                        "must be 1 to 64 printable ASCII characters without spaces, or null");
        if (!json_is_null(v) && (p->sector = strdup(s)) == NULL)
            return EH_ERR_NOMEM;
    }
    if ((v = json_object_get(doc, "consent")) != NULL) {
        if (!json_is_boolean(v))
            return fail(c, "$.consent", "must be true or false");
        p->consent = json_is_true(v);
    }
    return EH_OK;
}

/* check_pairwise refuses the real identifier in release or release_always
 * when the subject is pairwise, naming the document's entry, or the member
 * that made the subject pairwise when the list came from the profile. */
static eh_rc check_pairwise(check *c, const json_t *doc, const eh_policy *p, const char *profile)
{
    static const char *const lists[] = {"release", "release_always"};
    char path[EH_JSON_PATH_MAX], q[160];
    size_t i;
    json_t *v;

    if (p->subject_type != EH_SUBJECT_PAIRWISE)
        return EH_OK;
    for (size_t l = 0; l < N_OF(lists); l++) {
        json_t *list = l == 0 ? p->release : p->release_always;
        int from_doc = json_object_get(doc, lists[l]) != NULL;
        json_array_foreach(list, i, v) {
            const char *name = json_string_value(v);
            if (!is_identifier(name))
                continue;
            if (from_doc) {
                eh_json_path_index(path, sizeof(path), l == 0 ? "$.release" : "$.release_always",
                                   i);
                return fail(c, path, "releases the real identifier, but the subject is pairwise");
            }
            return fail(c, json_object_get(doc, "subject_type") ? "$.subject_type" : "$.profile",
                        "is pairwise, but the %s of profile \"%s\" holds the real identifier %s",
                        lists[l], profile ? profile : "?", quoted(name, q, sizeof(q)));
        }
    }
    return EH_OK;
}

/* check_always refuses a release_always entry that release lacks. */
static eh_rc check_always(check *c, const json_t *doc, const eh_policy *p, const char *profile)
{
    char path[EH_JSON_PATH_MAX], q[160];
    size_t i;
    json_t *v;

    json_array_foreach(p->release_always, i, v) {
        if (array_has(p->release, json_string_value(v)))
            continue;
        if (json_object_get(doc, "release_always") != NULL) {
            eh_json_path_index(path, sizeof(path), "$.release_always", i);
            return fail(c, path, "%s is not in release",
                        quoted(json_string_value(v), q, sizeof(q)));
        }
        return fail(c, "$.release",
                    "must hold %s, which profile \"%s\" releases always (release_always)",
                    quoted(json_string_value(v), q, sizeof(q)), profile ? profile : "?");
    }
    return EH_OK;
}

/* apply validates doc (a JSON object; profile names the profile p was
 * built from, or NULL) and overrides p's members with the document's,
 * then checks the resolved policy as a whole. */
static eh_rc apply(check *c, const json_t *doc, eh_policy *p, const char *profile)
{
    json_t *release = NULL, *always = NULL, *methods = NULL, *countries = NULL;
    eh_rc rc;

    if ((rc = read_names(c, doc, "release", check_attribute, &release)) != EH_OK ||
        (rc = read_names(c, doc, "release_always", check_attribute, &always)) != EH_OK)
        goto cleanup;
    if ((rc = read_scalars(c, doc, p)) != EH_OK)
        goto cleanup;
    if ((rc = read_names(c, doc, "methods", check_method, &methods)) != EH_OK ||
        (rc = read_names(c, doc, "countries", check_country, &countries)) != EH_OK)
        goto cleanup;
    replace_array(&p->release, release);
    replace_array(&p->release_always, always);
    replace_array(&p->methods, methods);
    replace_array(&p->countries, countries);
    release = always = methods = countries = NULL;
    if ((rc = check_pairwise(c, doc, p, profile)) != EH_OK ||
        (rc = check_always(c, doc, p, profile)) != EH_OK)
        goto cleanup;
    if (p->sector != NULL && p->subject_type != EH_SUBJECT_PAIRWISE) {
        rc = fail(c, json_object_get(doc, "sector") ? "$.sector" : "$.subject_type",
                  "a sector applies to pairwise subjects only, but the subject is public");
        goto cleanup;
    }
    rc = EH_OK;
cleanup:
    json_decref(release);
    json_decref(always);
    json_decref(methods);
    json_decref(countries);
    return rc;
}

/* check_members refuses a document that is not an object or has a member
 * this schema does not know. */
static eh_rc check_members(check *c, const json_t *doc)
{
    char path[EH_JSON_PATH_MAX];
    const char *key;
    json_t *value;

    if (!json_is_object(doc))
        return fail(c, "$", "must be a JSON object");
    json_object_foreach((json_t *)doc, key, value) {
        int known = 0;
        (void)value;
        for (size_t i = 0; members[i] != NULL && !known; i++)
            known = strcmp(members[i], key) == 0;
        if (!known) {
            eh_json_path_member(path, sizeof(path), NULL, key);
            return fail(c, path, "unknown member");
        }
    }
    return EH_OK;
}

/* profile_doc returns the document of built-in profile def (caller owns). */
static eh_rc profile_doc(const profile_def *def, json_t **out)
{
    eh_rc rc = EH_ERR_INTERNAL;
    json_t *doc = json_loads(def->doc, JSON_REJECT_DUPLICATES, NULL), *release;
    size_t n;
    const eh_attribute_def *attrs = eh_attributes(&n);

    if (doc == NULL)
        goto cleanup;
    if (def->all_natural) {
        rc = EH_ERR_NOMEM;
        if ((release = json_array()) == NULL || json_object_set_new(doc, "release", release) != 0)
            goto cleanup;
        for (size_t i = 0; i < n; i++) {
            if (attrs[i].person == EH_PERSON_NATURAL &&
                json_array_append_new(release, json_string(attrs[i].name)) != 0)
                goto cleanup;
        }
    }
    *out = doc;
    doc = NULL;
    rc = EH_OK;
cleanup:
    json_decref(doc);
    return rc;
}

eh_rc eh_policy_profile(const char *profile, eh_policy **out)
{
    char err[256];
    check c = {err, sizeof(err)};
    const profile_def *def = NULL;
    json_t *doc = NULL;
    eh_policy *p = NULL;
    eh_rc rc = EH_ERR_NOT_FOUND;

    for (size_t i = 0; profile != NULL && i < N_OF(profile_table); i++) {
        if (strcmp(profile_table[i].name, profile) == 0)
            def = &profile_table[i];
    }
    if (def == NULL)
        goto cleanup;
    if ((rc = profile_doc(def, &doc)) != EH_OK || (rc = policy_new(def->name, 0, doc, &p)) != EH_OK)
        goto cleanup;
    if (check_members(&c, doc) != EH_OK || apply(&c, doc, p, NULL) != EH_OK) {
        rc = EH_ERR_INTERNAL; /* a built-in profile that does not validate is a bug */
        goto cleanup;
    }
    *out = p;
    p = NULL;
    rc = EH_OK;
cleanup:
    eh_policy_free(p);
    json_decref(doc);
    return rc;
}

const char *const *eh_policy_profile_names(void)
{
    return profile_names;
}

eh_rc eh_policy_from_json(const char *name, int version, const json_t *doc, eh_policy **out,
                          char *err, size_t errlen)
{
    check c = {err, errlen};
    eh_policy *p = NULL;
    json_t *v, *copy = NULL;
    const char *profile = NULL;
    char q[160], known[128] = "";
    eh_rc rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (name == NULL || out == NULL) {
        rc = fail(&c, "$", "no policy name given");
        goto cleanup;
    }
    if ((rc = check_members(&c, doc)) != EH_OK)
        goto cleanup;
    if ((v = json_object_get(doc, "profile")) != NULL) {
        if (!json_is_string(v)) {
            rc = fail(&c, "$.profile", "must be a string");
            goto cleanup;
        }
        profile = json_string_value(v);
        rc = eh_policy_profile(profile, &p);
        if (rc == EH_ERR_NOT_FOUND) {
            for (size_t i = 0; profile_names[i] != NULL; i++) {
                strncat(known, i ? ", " : "", sizeof(known) - strlen(known) - 1);
                strncat(known, profile_names[i], sizeof(known) - strlen(known) - 1);
            }
            rc = fail(&c, "$.profile", "unknown profile %s (known: %s)",
                      quoted(profile, q, sizeof(q)), known);
            goto cleanup;
        }
        if (rc != EH_OK)
            goto cleanup;
        rc = EH_ERR_NOMEM;
        free(p->name);
        if ((p->name = strdup(name)) == NULL || (copy = json_deep_copy(doc)) == NULL)
            goto cleanup;
        json_decref(p->doc);
        p->doc = copy;
        p->version = version;
    } else if ((rc = policy_new(name, version, doc, &p)) != EH_OK) {
        goto cleanup;
    }
    if ((rc = apply(&c, doc, p, profile)) != EH_OK)
        goto cleanup;
    *out = p;
    p = NULL;
    rc = EH_OK;
cleanup:
    eh_policy_free(p);
    return rc;
}

eh_rc eh_policy_effective_json(const eh_policy *p, json_t **out)
{
    eh_rc rc = EH_ERR_NOMEM;
    json_t *j = json_object();

    if (j == NULL || json_object_set_new(j, "release", json_deep_copy(p->release)) != 0 ||
        json_object_set_new(j, "release_always", json_deep_copy(p->release_always)) != 0 ||
        json_object_set_new(j, "min_loa", json_string(eh_loa_name(p->min_loa))) != 0 ||
        json_object_set_new(j, "methods", json_deep_copy(p->methods)) != 0 ||
        json_object_set_new(j, "countries", json_deep_copy(p->countries)) != 0 ||
        json_object_set_new(
            j, "subject_type",
            json_string(p->subject_type == EH_SUBJECT_PUBLIC ? "public" : "pairwise")) != 0 ||
        json_object_set_new(j, "sector", p->sector ? json_string(p->sector) : json_null()) != 0 ||
        json_object_set_new(j, "consent", json_boolean(p->consent)) != 0)
        goto cleanup;
    *out = j;
    j = NULL;
    rc = EH_OK;
cleanup:
    json_decref(j);
    return rc;
}

int eh_policy_attribute_valid(const char *name)
{
    return eh_attribute_find(name) != NULL || eh_derived_valid(name);
}

int eh_policy_allows_method(const eh_policy *p, const char *backend)
{
    return backend != NULL && (json_array_size(p->methods) == 0 || array_has(p->methods, backend));
}

int eh_policy_allows_country(const eh_policy *p, const char *country)
{
    return country != NULL &&
           (json_array_size(p->countries) == 0 || array_has(p->countries, country));
}

int eh_policy_allows_loa(const eh_policy *p, eh_loa loa)
{
    return eh_loa_satisfies(loa, p->min_loa, EH_LOA_MINIMUM);
}

void eh_policy_free(eh_policy *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p->sector);
    json_decref(p->release);
    json_decref(p->release_always);
    json_decref(p->methods);
    json_decref(p->countries);
    json_decref(p->doc);
    free(p);
}
