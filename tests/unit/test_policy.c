#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "attributes/registry.h"
#include "policies/policy.h"

/* parse reads text (strictly: duplicate members refused) as a policy called
 * "portal" at version 3; returns it, or NULL with the error line in err. */
static eh_policy *parse(const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *doc =
        json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    eh_policy *p = NULL;
    eh_rc rc;

    ck_assert_msg(doc != NULL, "bad test JSON %s: %s", text, jerr.text);
    rc = eh_policy_from_json("portal", 3, doc, &p, err, errlen);
    json_decref(doc);
    if (rc != EH_OK) {
        ck_assert_int_eq(rc, EH_ERR_INVALID);
        ck_assert_ptr_null(p);
    }
    return p;
}

static eh_policy *parse_ok(const char *text)
{
    char err[512];
    eh_policy *p = parse(text, err, sizeof(err));
    ck_assert_msg(p != NULL, "%s: %s", text, err);
    return p;
}

/* parse_err expects text to be refused; returns the one error line. */
static const char *parse_err(const char *text)
{
    static char err[512];
    eh_policy *p = parse(text, err, sizeof(err));
    ck_assert_msg(p == NULL, "accepted: %s", text);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_msg(err[0] == '$', "%s", err);
    return err;
}

/* names tells whether the array a is exactly the strings in want (in order). */
static int names(const json_t *a, const char *const *want, size_t n)
{
    if (json_array_size(a) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(json_string_value(json_array_get(a, i)), want[i]) != 0)
            return 0;
    }
    return 1;
}

START_TEST(built_in_profiles)
{
    const char *const *list = eh_policy_profile_names();
    const char *age[] = {"age_over_18"};
    const char *basic[] = {"given_name", "family_name"};
    eh_policy *p = NULL;
    size_t n, natural = 0;
    const eh_attribute_def *attrs = eh_attributes(&n);

    ck_assert_str_eq(list[0], "age-only");
    ck_assert_str_eq(list[1], "basic");
    ck_assert_str_eq(list[2], "full");
    ck_assert_ptr_null(list[3]);

    ck_assert_int_eq(eh_policy_profile("age-only", &p), EH_OK);
    ck_assert_str_eq(p->name, "age-only");
    ck_assert_int_eq(p->version, 0);
    ck_assert(names(p->release, age, 1));
    ck_assert(names(p->release_always, age, 1));
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PAIRWISE);
    ck_assert_int_eq(p->min_loa, EH_LOA_NONE);
    ck_assert_ptr_null(p->sector);
    ck_assert_int_eq(p->consent, 0);
    eh_policy_free(p);

    ck_assert_int_eq(eh_policy_profile("basic", &p), EH_OK);
    ck_assert(names(p->release, basic, 2));
    ck_assert_uint_eq(json_array_size(p->release_always), 0);
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PAIRWISE);
    eh_policy_free(p);

    ck_assert_int_eq(eh_policy_profile("full", &p), EH_OK);
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PUBLIC);
    for (size_t i = 0; i < n; i++) {
        int in = 0;
        size_t j;
        json_t *v;
        json_array_foreach(p->release, j, v) {
            in |= strcmp(json_string_value(v), attrs[i].name) == 0;
        }
        ck_assert_int_eq(in, attrs[i].person == EH_PERSON_NATURAL);
        natural += attrs[i].person == EH_PERSON_NATURAL;
    }
    ck_assert_uint_eq(json_array_size(p->release), natural);
    ck_assert_uint_eq(natural, 8);
    eh_policy_free(p);

    p = NULL;
    ck_assert_int_eq(eh_policy_profile("Full", &p), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_policy_profile(NULL, &p), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(a_whole_document)
{
    const char *release[] = {"given_name", "age_over_18", "is_resident_of_EE", "country"};
    const char *always[] = {"age_over_18"};
    const char *methods[] = {"mobile_id"};
    const char *countries[] = {"EE", "LV"};
    eh_policy *p = parse_ok(
        "{\"release\": [\"given_name\", \"age_over_18\", \"is_resident_of_EE\", \"country\"], "
        "\"release_always\": [\"age_over_18\"], \"min_loa\": \"substantial\", "
        "\"methods\": [\"mobile_id\"], \"countries\": [\"EE\", \"LV\"], "
        "\"subject_type\": \"pairwise\", \"sector\": \"youth-services\", \"consent\": true}");

    ck_assert_str_eq(p->name, "portal");
    ck_assert_int_eq(p->version, 3);
    ck_assert(names(p->release, release, 4));
    ck_assert(names(p->release_always, always, 1));
    ck_assert_int_eq(p->min_loa, EH_LOA_SUBSTANTIAL);
    ck_assert(names(p->methods, methods, 1));
    ck_assert(names(p->countries, countries, 2));
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PAIRWISE);
    ck_assert_str_eq(p->sector, "youth-services");
    ck_assert_int_eq(p->consent, 1);
    ck_assert_str_eq(json_string_value(json_object_get(p->doc, "sector")), "youth-services");
    ck_assert_ptr_null(json_object_get(p->doc, "profile"));
    eh_policy_free(p);
}
END_TEST

START_TEST(defaults_of_an_empty_document)
{
    eh_policy *p = parse_ok("{}");
    ck_assert_uint_eq(json_array_size(p->release), 0);
    ck_assert_uint_eq(json_array_size(p->release_always), 0);
    ck_assert_uint_eq(json_array_size(p->methods), 0);
    ck_assert_uint_eq(json_array_size(p->countries), 0);
    ck_assert_int_eq(p->min_loa, EH_LOA_NONE);
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PAIRWISE);
    ck_assert_ptr_null(p->sector);
    ck_assert_int_eq(p->consent, 0);
    ck_assert(json_is_object(p->doc));
    eh_policy_free(p);

    p = parse_ok("{\"min_loa\": \"none\", \"sector\": null, \"release\": [], \"methods\": []}");
    ck_assert_int_eq(p->min_loa, EH_LOA_NONE);
    ck_assert_ptr_null(p->sector);
    eh_policy_free(p);
}
END_TEST

START_TEST(documents_override_their_profile)
{
    const char *one[] = {"given_name"};
    const char *age[] = {"age_over_18", "age_over_21"};
    eh_policy *p = parse_ok("{\"profile\": \"basic\", \"release\": [\"given_name\"]}");
    ck_assert(names(p->release, one, 1));
    ck_assert_str_eq(p->name, "portal");
    ck_assert_int_eq(p->version, 3);
    ck_assert_str_eq(json_string_value(json_object_get(p->doc, "profile")), "basic");
    eh_policy_free(p);

    p = parse_ok("{\"profile\": \"full\", \"min_loa\": \"high\", \"consent\": true}");
    ck_assert_uint_eq(json_array_size(p->release), 8);
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PUBLIC);
    ck_assert_int_eq(p->min_loa, EH_LOA_HIGH);
    ck_assert_int_eq(p->consent, 1);
    eh_policy_free(p);

    /* age-only's release_always stays; a new release must keep it. */
    p = parse_ok("{\"profile\": \"age-only\", \"release\": [\"age_over_18\", \"age_over_21\"]}");
    ck_assert(names(p->release, age, 2));
    ck_assert(names(p->release_always, age, 1));
    eh_policy_free(p);

    p = parse_ok("{\"profile\": \"age-only\", \"release\": [\"age_over_21\"], "
                 "\"release_always\": []}");
    ck_assert_uint_eq(json_array_size(p->release_always), 0);
    eh_policy_free(p);

    /* The full profile under a pairwise subject, without the identifier. */
    p = parse_ok("{\"profile\": \"full\", \"subject_type\": \"pairwise\", \"release\": "
                 "[\"given_name\", \"family_name\", \"date_of_birth\"], \"sector\": \"tax\"}");
    ck_assert_int_eq(p->subject_type, EH_SUBJECT_PAIRWISE);
    ck_assert_str_eq(p->sector, "tax");
    eh_policy_free(p);
}
END_TEST

START_TEST(errors_name_the_field)
{
    static const struct {
        const char *doc;
        const char *want;
    } cases[] = {
        {"[]", "$: must be a JSON object"},
        {"\"basic\"", "$: must be a JSON object"},
        {"{\"x\": 1}", "$.x: unknown member"},
        {"{\"Release\": []}", "$.Release: unknown member"},
        {"{\"release\": [], \"min loa\": \"low\"}", "$[\"min loa\"]: unknown member"},
        {"{\"profile\": 3}", "$.profile: must be a string"},
        {"{\"profile\": \"premium\"}",
         "$.profile: unknown profile \"premium\" (known: age-only, basic, full)"},
        {"{\"release\": \"given_name\"}", "$.release: must be an array of strings"},
        {"{\"release\": [\"given_name\", 1]}", "$.release[1]: must be a string"},
        {"{\"release\": [\"given_name\", \"shoe_size\"]}",
         "$.release[1]: unknown attribute \"shoe_size\" (neither in the attribute registry nor "
         "a derived attribute)"},
        {"{\"release\": [\"birthdate\"]}",
         "$.release[0]: unknown attribute \"birthdate\" (neither in the attribute registry nor "
         "a derived attribute)"},
        {"{\"release\": [\"given_name\", \"family_name\", \"given_name\"]}",
         "$.release[2]: repeats $.release[0]"},
        {"{\"release\": [\"age_over_0\"]}",
         "$.release[0]: \"age_over_0\": age_over_N needs N from 1 to 150, in decimal without "
         "leading zeros"},
        {"{\"release\": [\"age_over_151\"]}",
         "$.release[0]: \"age_over_151\": age_over_N needs N from 1 to 150, in decimal without "
         "leading zeros"},
        {"{\"release\": [\"age_over_018\"]}",
         "$.release[0]: \"age_over_018\": age_over_N needs N from 1 to 150, in decimal without "
         "leading zeros"},
        {"{\"release\": [\"age_over_x\"]}",
         "$.release[0]: \"age_over_x\": age_over_N needs N from 1 to 150, in decimal without "
         "leading zeros"},
        {"{\"release\": [\"is_resident_of_ee\"]}",
         "$.release[0]: \"is_resident_of_ee\": is_resident_of_XX needs XX, a country code of two "
         "capital letters"},
        {"{\"release\": [\"given_name\"], \"release_always\": [\"family_name\"]}",
         "$.release_always[0]: \"family_name\" is not in release"},
        {"{\"release_always\": [\"age_over_18\"]}",
         "$.release_always[0]: \"age_over_18\" is not in release"},
        {"{\"release\": [\"age_over_18\"], \"release_always\": [\"age_over_18\", "
         "\"age_over_18\"]}",
         "$.release_always[1]: repeats $.release_always[0]"},
        {"{\"release\": [\"given_name\", \"family_name\", \"person_identifier\"]}",
         "$.release[2]: releases the real identifier, but the subject is pairwise"},
        {"{\"release\": [\"legal_name\", \"legal_person_identifier\"], \"subject_type\": "
         "\"pairwise\"}",
         "$.release[1]: releases the real identifier, but the subject is pairwise"},
        {"{\"profile\": \"basic\", \"release_always\": [\"person_identifier\"]}",
         "$.release_always[0]: releases the real identifier, but the subject is pairwise"},
        {"{\"profile\": \"full\", \"subject_type\": \"pairwise\"}",
         "$.subject_type: is pairwise, but the release of profile \"full\" holds the real "
         "identifier \"person_identifier\""},
        {"{\"profile\": \"age-only\", \"release\": [\"age_over_21\"]}",
         "$.release: must hold \"age_over_18\", which profile \"age-only\" releases always "
         "(release_always)"},
        {"{\"min_loa\": \"medium\"}",
         "$.min_loa: must be \"none\", \"low\", \"substantial\" or \"high\""},
        {"{\"min_loa\": \"http://eidas.europa.eu/LoA/high\"}",
         "$.min_loa: must be \"none\", \"low\", \"substantial\" or \"high\""},
        {"{\"min_loa\": 2}", "$.min_loa: must be \"none\", \"low\", \"substantial\" or \"high\""},
        {"{\"methods\": \"mobile_id\"}", "$.methods: must be an array of strings"},
        {"{\"methods\": [\"pigeon_post\"]}", "$.methods[0]: unknown method \"pigeon_post\" (known: "},
        {"{\"methods\": [\"mobile_id\", \"mobile_id\"]}", "$.methods[1]: repeats $.methods[0]"},
        {"{\"countries\": [\"EE\", \"ee\"]}",
         "$.countries[1]: must be a country code of two capital letters (ISO 3166-1 alpha-2)"},
        {"{\"countries\": [\"EST\"]}",
         "$.countries[0]: must be a country code of two capital letters (ISO 3166-1 alpha-2)"},
        {"{\"countries\": [\"LV\", \"EE\", \"LV\"]}", "$.countries[2]: repeats $.countries[0]"},
        {"{\"subject_type\": \"private\"}", "$.subject_type: must be \"public\" or \"pairwise\""},
        {"{\"subject_type\": true}", "$.subject_type: must be \"public\" or \"pairwise\""},
        {"{\"sector\": \"\"}",
         "$.sector: must be 1 to 64 printable ASCII characters without spaces, or null"},
        {"{\"sector\": \"youth services\"}",
         "$.sector: must be 1 to 64 printable ASCII characters without spaces, or null"},
        {"{\"sector\": \"noorte-teenused-\\u00fc\"}",
         "$.sector: must be 1 to 64 printable ASCII characters without spaces, or null"},
        {"{\"sector\": \"0123456789012345678901234567890123456789012345678901234567890123x\"}",
         "$.sector: must be 1 to 64 printable ASCII characters without spaces, or null"},
        {"{\"sector\": 7}",
         "$.sector: must be 1 to 64 printable ASCII characters without spaces, or null"},
        {"{\"sector\": \"tax\", \"subject_type\": \"public\"}",
         "$.sector: a sector applies to pairwise subjects only, but the subject is public"},
        {"{\"profile\": \"full\", \"sector\": \"tax\"}",
         "$.sector: a sector applies to pairwise subjects only, but the subject is public"},
        {"{\"consent\": \"yes\"}", "$.consent: must be true or false"},
        {"{\"consent\": 1}", "$.consent: must be true or false"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* a message ending in "(known: " lists the backends, which grow */
        const char *err = parse_err(cases[i].doc);
        size_t n = strlen(cases[i].want);
        if (n > 8 && strcmp(cases[i].want + n - 8, "(known: ") == 0)
            ck_assert_msg(strncmp(err, cases[i].want, n) == 0, "%s", err);
        else
            ck_assert_str_eq(err, cases[i].want);
    }
}
END_TEST

START_TEST(errors_stay_one_printable_line)
{
    const char *e = parse_err("{\"release\": [\"given_name\\n$.release[0]: fine\"]}");
    ck_assert_ptr_nonnull(strstr(e, "\"given_name\\n$.release[0]: fine\""));
    e = parse_err("{\"methods\": [\"\\u0007bell\"]}");
    for (const char *c = e; *c; c++)
        ck_assert_msg(*c >= 0x20 && *c < 0x7f, "%s", e);
    e = parse_err("{\"release\": [\"nul\\u0000byte\"]}");
    ck_assert_str_eq(e, "$.release[0]: must be a string");

    /* A small buffer truncates; none at all is fine too. */
    char small[8];
    json_t *doc = json_loads("{\"x\": 1}", 0, NULL);
    eh_policy *p = NULL;
    ck_assert_int_eq(eh_policy_from_json("a", 1, doc, &p, small, sizeof(small)), EH_ERR_INVALID);
    ck_assert_str_eq(small, "$.x: un");
    ck_assert_int_eq(eh_policy_from_json("a", 1, doc, &p, NULL, 0), EH_ERR_INVALID);
    ck_assert_int_eq(eh_policy_from_json("a", 1, NULL, &p, NULL, 0), EH_ERR_INVALID);
    ck_assert_ptr_null(p);
    json_decref(doc);
}
END_TEST

START_TEST(effective_json_round_trips)
{
    const char *docs[] = {
        "{}",
        "{\"profile\": \"age-only\"}",
        "{\"profile\": \"full\", \"countries\": [\"EE\"], \"min_loa\": \"high\"}",
        "{\"profile\": \"basic\", \"release\": [\"given_name\", \"age_band\"], \"sector\": "
        "\"youth-services\", \"consent\": true, \"methods\": [\"mobile_id\"]}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        eh_policy *p = parse_ok(docs[i]), *q = NULL;
        json_t *eff = NULL, *eff2 = NULL;
        char err[256];
        ck_assert_int_eq(eh_policy_effective_json(p, &eff), EH_OK);
        ck_assert_uint_eq(json_object_size(eff), 8);
        ck_assert(json_is_array(json_object_get(eff, "release")));
        ck_assert(json_is_array(json_object_get(eff, "release_always")));
        ck_assert(json_is_string(json_object_get(eff, "min_loa")));
        ck_assert(json_is_array(json_object_get(eff, "methods")));
        ck_assert(json_is_array(json_object_get(eff, "countries")));
        ck_assert(json_is_string(json_object_get(eff, "subject_type")));
        ck_assert(json_object_get(eff, "sector") != NULL);
        ck_assert(json_is_boolean(json_object_get(eff, "consent")));
        /* The effective policy is a document that means the same. */
        ck_assert_msg(eh_policy_from_json("again", 1, eff, &q, err, sizeof(err)) == EH_OK, "%s",
                      err);
        ck_assert_int_eq(eh_policy_effective_json(q, &eff2), EH_OK);
        ck_assert(json_equal(eff, eff2));
        /* The caller owns a copy: changing it changes nothing in p. */
        json_array_clear(json_object_get(eff, "release"));
        json_decref(eff2);
        ck_assert_int_eq(eh_policy_effective_json(p, &eff2), EH_OK);
        ck_assert_uint_eq(json_array_size(json_object_get(eff2, "release")),
                          json_array_size(p->release));
        json_decref(eff);
        json_decref(eff2);
        eh_policy_free(p);
        eh_policy_free(q);
    }

    eh_policy *p = parse_ok("{\"profile\": \"age-only\", \"min_loa\": \"substantial\", "
                            "\"sector\": \"bars\"}");
    json_t *eff = NULL;
    char *text;
    ck_assert_int_eq(eh_policy_effective_json(p, &eff), EH_OK);
    text = json_dumps(eff, JSON_COMPACT);
    ck_assert_str_eq(text, "{\"release\":[\"age_over_18\"],\"release_always\":[\"age_over_18\"],"
                           "\"min_loa\":\"substantial\",\"methods\":[],\"countries\":[],"
                           "\"subject_type\":\"pairwise\",\"sector\":\"bars\",\"consent\":false}");
    free(text);
    json_decref(eff);
    eh_policy_free(p);
}
END_TEST

START_TEST(request_side_checks)
{
    eh_policy *any = parse_ok("{}");
    eh_policy *p = parse_ok(
        "{\"min_loa\": \"substantial\", \"methods\": [\"mobile_id\"], \"countries\": [\"EE\"]}");

    ck_assert(eh_policy_allows_method(any, "mobile_id"));
    ck_assert(eh_policy_allows_method(any, "smart_id"));
    ck_assert(!eh_policy_allows_method(any, NULL));
    ck_assert(eh_policy_allows_country(any, "LV"));
    ck_assert(!eh_policy_allows_country(any, NULL));
    ck_assert(eh_policy_allows_loa(any, EH_LOA_LOW));
    ck_assert(!eh_policy_allows_loa(any, EH_LOA_NONE));

    ck_assert(eh_policy_allows_method(p, "mobile_id"));
    ck_assert(!eh_policy_allows_method(p, "smart_id"));
    ck_assert(!eh_policy_allows_method(p, "Mobile_ID"));
    ck_assert(eh_policy_allows_country(p, "EE"));
    ck_assert(!eh_policy_allows_country(p, "ee"));
    ck_assert(!eh_policy_allows_country(p, "LV"));
    ck_assert(!eh_policy_allows_loa(p, EH_LOA_LOW));
    ck_assert(eh_policy_allows_loa(p, EH_LOA_SUBSTANTIAL));
    ck_assert(eh_policy_allows_loa(p, EH_LOA_HIGH));
    eh_policy_free(any);
    eh_policy_free(p);
}
END_TEST

START_TEST(attribute_names)
{
    size_t n;
    const eh_attribute_def *attrs = eh_attributes(&n);
    for (size_t i = 0; i < n; i++)
        ck_assert(eh_policy_attribute_valid(attrs[i].name));
    ck_assert(eh_policy_attribute_valid("age_over_18"));
    ck_assert(eh_policy_attribute_valid("age_band"));
    ck_assert(eh_policy_attribute_valid("country"));
    ck_assert(eh_policy_attribute_valid("is_resident_of_FI"));
    ck_assert(!eh_policy_attribute_valid("birthdate")); /* a claim, not an internal name */
    ck_assert(!eh_policy_attribute_valid("age_over_0"));
    ck_assert(!eh_policy_attribute_valid(""));
    ck_assert(!eh_policy_attribute_valid(NULL));
    eh_policy_free(NULL);
}
END_TEST

Suite *suite_policy(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, built_in_profiles);
    tcase_add_test(tc, a_whole_document);
    tcase_add_test(tc, defaults_of_an_empty_document);
    tcase_add_test(tc, documents_override_their_profile);
    tcase_add_test(tc, errors_name_the_field);
    tcase_add_test(tc, errors_stay_one_printable_line);
    tcase_add_test(tc, effective_json_round_trips);
    tcase_add_test(tc, request_side_checks);
    tcase_add_test(tc, attribute_names);
    suite_add_tcase(s, tc);
    return s;
}
