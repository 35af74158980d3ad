#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policies/derive.h"

/* at returns the seconds since the epoch of y-m-d hh:mm:ss UTC. */
static int64_t at(int y, int m, int d, int hh, int mm, int ss)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    return (int64_t)timegm(&tm);
}

/* person returns an identity of country with date_of_birth dob (NULL:
 * none). */
static eh_identity *person(const char *country, const char *dob)
{
    eh_identity *id = NULL;
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    if (country != NULL)
        id->country = strdup(country);
    if (dob != NULL)
        json_object_set_new(id->attributes, "date_of_birth", json_string(dob));
    return id;
}

/* compute evaluates name for id at now; returns the value (caller frees)
 * or NULL when the identity cannot give it. */
static json_t *compute(const char *name, const eh_identity *id, int64_t now)
{
    json_t *v = NULL;
    eh_rc rc = eh_derived_compute(name, id, now, &v);
    if (rc == EH_ERR_NOT_FOUND)
        return NULL;
    ck_assert_msg(rc == EH_OK, "%s: %d", name, rc);
    return v;
}

/* over returns 1, 0, or -1 (not derivable) for age_over_n. */
static int over(const char *name, const char *dob, int64_t now)
{
    eh_identity *id = person("EE", dob);
    json_t *v = compute(name, id, now);
    int r = v == NULL ? -1 : json_is_true(v);
    if (v != NULL)
        ck_assert(json_is_boolean(v));
    json_decref(v);
    eh_identity_free(id);
    return r;
}

START_TEST(names_are_parsed_strictly)
{
    eh_derived d;
    const char *bad[] = {"age_over_0",        "age_over_151",      "age_over_018",
                         "age_over_x",        "age_over_",         "age_over_1000",
                         "age_over_18 ",      "age_over_+18",      "age_over_-1",
                         "age_over_1e1",      "Age_over_18",       "age_over18",
                         "is_resident_of_ee", "is_resident_of_E",  "is_resident_of_EEE",
                         "is_resident_of_",   "is_resident_of_E1", "age_band_",
                         "Country",           "countries",         "",
                         "given_name"};

    ck_assert_int_eq(eh_derived_parse("age_over_18", &d), EH_DERIVED_AGE_OVER);
    ck_assert_int_eq(d.age, 18);
    ck_assert_int_eq(eh_derived_parse("age_over_1", &d), EH_DERIVED_AGE_OVER);
    ck_assert_int_eq(d.age, 1);
    ck_assert_int_eq(eh_derived_parse("age_over_150", &d), EH_DERIVED_AGE_OVER);
    ck_assert_int_eq(d.age, 150);
    ck_assert_int_eq(eh_derived_parse("age_band", &d), EH_DERIVED_AGE_BAND);
    ck_assert_int_eq(eh_derived_parse("country", NULL), EH_DERIVED_COUNTRY);
    ck_assert_int_eq(eh_derived_parse("is_resident_of_EE", &d), EH_DERIVED_RESIDENT);
    ck_assert_str_eq(d.country, "EE");
    ck_assert_int_eq(eh_derived_parse(NULL, &d), EH_DERIVED_NONE);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(eh_derived_parse(bad[i], &d) == EH_DERIVED_NONE, "%s", bad[i]);
        ck_assert_int_eq(d.age, 0);
        ck_assert_msg(!eh_derived_valid(bad[i]), "%s", bad[i]);
        ck_assert_int_eq(eh_derived_type(bad[i]), -1);
    }
    ck_assert_ptr_nonnull(strstr(eh_derived_problem("age_over_018"), "1 to 150"));
    ck_assert_ptr_nonnull(strstr(eh_derived_problem("is_resident_of_ee"), "two capital"));
    ck_assert_ptr_null(eh_derived_problem("given_name"));
    ck_assert_ptr_null(eh_derived_problem("age_over_21"));
}
END_TEST

START_TEST(types_and_sources)
{
    ck_assert_int_eq(eh_derived_type("age_over_65"), EH_ATTR_BOOLEAN);
    ck_assert_int_eq(eh_derived_type("is_resident_of_LV"), EH_ATTR_BOOLEAN);
    ck_assert_int_eq(eh_derived_type("age_band"), EH_ATTR_STRING);
    ck_assert_int_eq(eh_derived_type("country"), EH_ATTR_STRING);
    ck_assert_str_eq(eh_derived_source("age_over_65"), "date_of_birth");
    ck_assert_str_eq(eh_derived_source("age_band"), "date_of_birth");
    ck_assert_ptr_null(eh_derived_source("country"));
    ck_assert_ptr_null(eh_derived_source("is_resident_of_LV"));
    ck_assert_ptr_null(eh_derived_source("date_of_birth"));
}
END_TEST

START_TEST(dates_are_strict)
{
    int y, m, d;
    const char *bad[] = {"2008-02-30", "2007-02-29",  "1900-02-29",  "2008-2-03",  "20080203",
                         "2008-13-01", "2008-00-10",  "2008-01-00",  "0000-01-01", "2008-01-32",
                         "2008/01/01", "2008-01-01T", " 2008-01-01", "2008-04-31", "abcd-ef-gh",
                         "",           NULL};
    ck_assert(eh_date_parse("2000-02-29", &y, &m, &d));
    ck_assert_int_eq(y, 2000);
    ck_assert_int_eq(m, 2);
    ck_assert_int_eq(d, 29);
    ck_assert(eh_date_parse("2024-02-29", &y, &m, &d));
    ck_assert(eh_date_parse("0001-01-01", &y, &m, &d));
    ck_assert(eh_date_parse("9999-12-31", &y, &m, &d));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!eh_date_parse(bad[i], &y, &m, &d), "%s", bad[i] ? bad[i] : "NULL");
}
END_TEST

START_TEST(birthday_boundary_in_utc)
{
    /* The example: born 2008-11-23, 18 on 2026-11-23, not before. */
    ck_assert_int_eq(over("age_over_18", "2008-11-23", at(2026, 11, 22, 23, 59, 59)), 0);
    ck_assert_int_eq(over("age_over_18", "2008-11-23", at(2026, 11, 23, 0, 0, 0)), 1);
    ck_assert_int_eq(over("age_over_17", "2008-11-23", at(2026, 11, 22, 12, 0, 0)), 1);
    ck_assert_int_eq(eh_age_at(2008, 11, 23, at(2026, 11, 22, 23, 59, 59)), 17);
    ck_assert_int_eq(eh_age_at(2008, 11, 23, at(2026, 11, 23, 0, 0, 0)), 18);
    /* The day is UTC's: 00:30 on the 23rd in Tallinn (UTC+2) is 22:30 on the 22nd in
     * UTC, still 17. */
    ck_assert_int_eq(over("age_over_18", "2008-11-23", at(2026, 11, 22, 22, 30, 0)), 0);
    /* Born today: 0 years old; born tomorrow: no age at all. */
    ck_assert_int_eq(eh_age_at(2026, 11, 23, at(2026, 11, 23, 8, 0, 0)), 0);
    ck_assert_int_eq(eh_age_at(2026, 11, 24, at(2026, 11, 23, 8, 0, 0)), -1);
    ck_assert_int_eq(over("age_over_1", "2026-11-24", at(2026, 11, 23, 8, 0, 0)), -1);
    /* Before 1970 and month ends. */
    ck_assert_int_eq(eh_age_at(1950, 12, 31, at(2025, 12, 30, 0, 0, 0)), 74);
    ck_assert_int_eq(eh_age_at(1950, 12, 31, at(2025, 12, 31, 0, 0, 0)), 75);
    ck_assert_int_eq(eh_age_at(1960, 1, 1, at(1969, 12, 31, 23, 59, 59)), 9);
    ck_assert_int_eq(over("age_over_150", "1870-05-05", at(2020, 5, 5, 0, 0, 0)), 1);
    ck_assert_int_eq(over("age_over_150", "1870-05-06", at(2020, 5, 5, 0, 0, 0)), 0);
}
END_TEST

START_TEST(leap_day_births_age_on_first_of_march)
{
    /* Common years: 29 February counts as 1 March. */
    ck_assert_int_eq(eh_age_at(2004, 2, 29, at(2022, 2, 28, 23, 59, 59)), 17);
    ck_assert_int_eq(eh_age_at(2004, 2, 29, at(2022, 3, 1, 0, 0, 0)), 18);
    ck_assert_int_eq(over("age_over_18", "2004-02-29", at(2022, 2, 28, 12, 0, 0)), 0);
    ck_assert_int_eq(over("age_over_18", "2004-02-29", at(2022, 3, 1, 0, 0, 0)), 1);
    /* Leap years: on 29 February itself. */
    ck_assert_int_eq(eh_age_at(2004, 2, 29, at(2024, 2, 28, 23, 59, 59)), 19);
    ck_assert_int_eq(eh_age_at(2004, 2, 29, at(2024, 2, 29, 0, 0, 0)), 20);
    /* 2100 is not a leap year. */
    ck_assert_int_eq(eh_age_at(2096, 2, 29, at(2100, 2, 28, 12, 0, 0)), 3);
    ck_assert_int_eq(eh_age_at(2096, 2, 29, at(2100, 3, 1, 0, 0, 0)), 4);
    /* Born 1 March: no different from anyone else. */
    ck_assert_int_eq(eh_age_at(2004, 3, 1, at(2022, 2, 28, 12, 0, 0)), 17);
    ck_assert_int_eq(eh_age_at(2004, 3, 1, at(2024, 2, 29, 12, 0, 0)), 19);
}
END_TEST

START_TEST(age_bands)
{
    struct {
        int age;
        const char *band;
    } cases[] = {{0, "0-17"},   {17, "0-17"},  {18, "18-24"}, {24, "18-24"}, {25, "25-34"},
                 {34, "25-34"}, {35, "35-44"}, {44, "35-44"}, {45, "45-54"}, {54, "45-54"},
                 {55, "55-64"}, {64, "55-64"}, {65, "65+"},   {120, "65+"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_str_eq(eh_age_band(cases[i].age), cases[i].band);
    ck_assert_ptr_null(eh_age_band(-1));

    eh_identity *id = person("EE", "2001-06-15");
    json_t *v = compute("age_band", id, at(2026, 6, 14, 12, 0, 0));
    ck_assert_str_eq(json_string_value(v), "18-24");
    json_decref(v);
    v = compute("age_band", id, at(2026, 6, 15, 0, 0, 0));
    ck_assert_str_eq(json_string_value(v), "25-34");
    json_decref(v);
    eh_identity_free(id);
}
END_TEST

START_TEST(country_and_residence)
{
    eh_identity *id = person("EE", NULL);
    json_t *v = compute("country", id, 0);
    ck_assert_str_eq(json_string_value(v), "EE");
    json_decref(v);
    v = compute("is_resident_of_EE", id, 0);
    ck_assert(json_is_true(v));
    json_decref(v);
    v = compute("is_resident_of_LV", id, 0);
    ck_assert(json_is_false(v));
    json_decref(v);
    /* No date of birth: no age. */
    ck_assert_ptr_null(compute("age_over_18", id, 0));
    ck_assert_ptr_null(compute("age_band", id, 0));
    eh_identity_free(id);

    /* A country that is not two capitals, or none: nothing. */
    const char *bad[] = {"ee", "EST", "E", "", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        id = person(bad[i], NULL);
        ck_assert_ptr_null(compute("country", id, 0));
        ck_assert_ptr_null(compute("is_resident_of_EE", id, 0));
        eh_identity_free(id);
    }
}
END_TEST

START_TEST(unusable_sources_give_nothing)
{
    const int64_t now = at(2026, 1, 1, 0, 0, 0);
    const char *bad[] = {"2008-02-30", "08-01-01", "2008-01-01T00:00:00Z", "", "2027-01-01"};
    json_t *v = NULL;
    eh_identity *id;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(over("age_over_18", bad[i], now) == -1, "%s", bad[i]);
    id = person("EE", NULL);
    json_object_set_new(id->attributes, "date_of_birth", json_integer(20080101));
    ck_assert_ptr_null(compute("age_over_18", id, now));
    ck_assert_int_eq(eh_derived_compute("given_name", id, now, &v), EH_ERR_INVALID);
    ck_assert_int_eq(eh_derived_compute("age_over_0", id, now, &v), EH_ERR_INVALID);
    ck_assert_ptr_null(v);
    eh_identity_free(id);
}
END_TEST

Suite *suite_derive(void)
{
    Suite *s = suite_create("derive");
    TCase *tc = tcase_create("derive");
    tcase_add_test(tc, names_are_parsed_strictly);
    tcase_add_test(tc, types_and_sources);
    tcase_add_test(tc, dates_are_strict);
    tcase_add_test(tc, birthday_boundary_in_utc);
    tcase_add_test(tc, leap_day_births_age_on_first_of_march);
    tcase_add_test(tc, age_bands);
    tcase_add_test(tc, country_and_residence);
    tcase_add_test(tc, unusable_sources_give_nothing);
    suite_add_tcase(s, tc);
    return s;
}
