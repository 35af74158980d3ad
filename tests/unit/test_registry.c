#include "tests/unit/suites.h"

#include <string.h>

#include "attributes/registry.h"

START_TEST(lookups_agree)
{
    const eh_attribute_def *a = eh_attribute_find("date_of_birth");
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->oidc_claim, "birthdate");
    ck_assert_str_eq(a->eidas_uri, "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth");
    ck_assert_int_eq(a->type, EH_ATTR_DATE);
    ck_assert(a->mandatory);
    ck_assert_ptr_eq(eh_attribute_find_claim("birthdate"), a);
    ck_assert_ptr_eq(eh_attribute_find_eidas(a->eidas_uri), a);
    ck_assert_ptr_null(eh_attribute_find("DateOfBirth"));
    ck_assert_ptr_null(eh_attribute_find_claim("Birthdate"));
    ck_assert_ptr_null(eh_attribute_find(NULL));
}
END_TEST

START_TEST(minimum_data_sets_are_mandatory)
{
    const char *natural[] = {"person_identifier", "family_name", "given_name", "date_of_birth"};
    const char *legal[] = {"legal_person_identifier", "legal_name"};
    size_t n, mandatory = 0;
    const eh_attribute_def *all = eh_attributes(&n);
    for (size_t i = 0; i < 4; i++) {
        ck_assert(eh_attribute_find(natural[i])->mandatory);
        ck_assert_int_eq(eh_attribute_find(natural[i])->person, EH_PERSON_NATURAL);
    }
    for (size_t i = 0; i < 2; i++) {
        ck_assert(eh_attribute_find(legal[i])->mandatory);
        ck_assert_int_eq(eh_attribute_find(legal[i])->person, EH_PERSON_LEGAL);
    }
    for (size_t i = 0; i < n; i++)
        mandatory += all[i].mandatory;
    ck_assert_uint_eq(mandatory, 6);
}
END_TEST

START_TEST(names_claims_and_uris_are_unique)
{
    size_t n;
    const eh_attribute_def *all = eh_attributes(&n);
    for (size_t i = 0; i < n; i++) {
        ck_assert(strncmp(all[i].eidas_uri, "http://eidas.europa.eu/attributes/", 34) == 0);
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(all[i].name, all[j].name);
            ck_assert_str_ne(all[i].oidc_claim, all[j].oidc_claim);
            ck_assert_str_ne(all[i].eidas_uri, all[j].eidas_uri);
        }
    }
    ck_assert_str_eq(eh_attr_type_name(EH_ATTR_BOOLEAN), "boolean");
}
END_TEST

Suite *suite_registry(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, lookups_agree);
    tcase_add_test(tc, minimum_data_sets_are_mandatory);
    tcase_add_test(tc, names_claims_and_uris_are_unique);
    suite_add_tcase(s, tc);
    return s;
}
