#include "tests/unit/suites.h"

#include <string.h>

#include "attributes/ee_personal_code.h"

/* Valid codes, their dates of birth and sexes. 38001085718 is TARA's
 * example, 60001019906 SK's Mobile-ID demo person, 37605030299 the valid
 * code of SK's mid-rest-java-client tests. The rest were made for these
 * tests, check digits computed separately (Python), to exercise each
 * century, leap days and both weight rounds. */
static const struct {
    const char *code;
    const char *birth;
    const char *gender;
} eh_pc_valid[] = {
    {"38001085718", "1980-01-08", "Male"},
    {"47101010033", "1971-01-01", "Female"},
    {"60001019906", "2000-01-01", "Female"},
    {"37605030299", "1976-05-03", "Male"},
    {"39912310174", "1999-12-31", "Male"},
    /* second round of weights */
    {"38001080079", "1980-01-08", "Male"},
    {"47101010110", "1971-01-01", "Female"},
    /* second round gives 10 too: check digit 0 */
    {"38001081350", "1980-01-08", "Male"},
    {"47101010590", "1971-01-01", "Female"},
    /* leap days: 2000 (divisible by 400) and 2004 are leap years */
    {"50002290002", "2000-02-29", "Male"},
    {"60402290004", "2004-02-29", "Female"},
    {"60402290062", "2004-02-29", "Female"},
};

START_TEST(test_valid_codes)
{
    char birth[EH_EE_BIRTH_DATE_SIZE];

    for (size_t i = 0; i < sizeof(eh_pc_valid) / sizeof(eh_pc_valid[0]); i++) {
        const char *code = eh_pc_valid[i].code;

        ck_assert_msg(eh_ee_personal_code_valid(code), "%s should be valid", code);
        ck_assert_int_eq(eh_ee_personal_code_birth_date(code, birth), EH_OK);
        ck_assert_str_eq(birth, eh_pc_valid[i].birth);
        ck_assert_str_eq(eh_ee_personal_code_gender(code), eh_pc_valid[i].gender);
    }
}
END_TEST

START_TEST(test_centuries_and_sexes)
{
    /* G 1..6 over the same date, check digits computed separately */
    static const struct {
        const char *code;
        const char *birth;
        const char *gender;
    } g[] = {
        {"10101010005", "1801-01-01", "Male"}, {"20101010006", "1801-01-01", "Female"},
        {"30101010007", "1901-01-01", "Male"}, {"40101010008", "1901-01-01", "Female"},
        {"50101010009", "2001-01-01", "Male"}, {"60101010006", "2001-01-01", "Female"},
    };
    char birth[EH_EE_BIRTH_DATE_SIZE];

    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
        ck_assert_msg(eh_ee_personal_code_valid(g[i].code), "%s should be valid", g[i].code);
        ck_assert_int_eq(eh_ee_personal_code_birth_date(g[i].code, birth), EH_OK);
        ck_assert_str_eq(birth, g[i].birth);
        ck_assert_str_eq(eh_ee_personal_code_gender(g[i].code), g[i].gender);
    }
}
END_TEST

/* eh_pc_assert_invalid asserts code is refused by all three functions. */
static void eh_pc_assert_invalid(const char *code)
{
    char birth[EH_EE_BIRTH_DATE_SIZE] = "x";

    ck_assert_msg(!eh_ee_personal_code_valid(code), "%s should be invalid", code ? code : "NULL");
    ck_assert_int_eq(eh_ee_personal_code_birth_date(code, birth), EH_ERR_INVALID);
    ck_assert_str_eq(birth, "");
    ck_assert_ptr_null(eh_ee_personal_code_gender(code));
}

START_TEST(test_bad_checksum)
{
    /* every other last digit of valid codes */
    eh_pc_assert_invalid("38001085719");
    eh_pc_assert_invalid("38001085710");
    eh_pc_assert_invalid("47101010034");
    eh_pc_assert_invalid("60001019907");
    /* second-round codes with the first-round digit */
    eh_pc_assert_invalid("38001081351");
    /* two digits swapped: the weights catch it */
    eh_pc_assert_invalid("38001085178");
}
END_TEST

START_TEST(test_invalid_dates)
{
    /* 30 February 1980, check digit right (38002300003) */
    eh_pc_assert_invalid("38002300003");
    /* 29 February 1900 and 1800 (not leap years), check digits right */
    eh_pc_assert_invalid("30002290000");
    eh_pc_assert_invalid("10002290009");
    /* month 13 (SK's test), month 00, day 00, 31 April, 32 January */
    eh_pc_assert_invalid("60013019909");
    eh_pc_assert_invalid("38000085718");
    eh_pc_assert_invalid("38001005718");
    eh_pc_assert_invalid("38004315718");
    eh_pc_assert_invalid("38001325718");
}
END_TEST

START_TEST(test_invalid_forms)
{
    eh_pc_assert_invalid(NULL);
    eh_pc_assert_invalid("");
    eh_pc_assert_invalid("3800108571");   /* 10 digits */
    eh_pc_assert_invalid("380010857180"); /* 12 digits */
    eh_pc_assert_invalid("3800108571A");
    eh_pc_assert_invalid("38001O85718"); /* letter O */
    eh_pc_assert_invalid(" 38001085718");
    eh_pc_assert_invalid("38001085718 ");
    eh_pc_assert_invalid("38001085718\n");
    eh_pc_assert_invalid("+38001085718");
    eh_pc_assert_invalid("EE38001085718");
    eh_pc_assert_invalid("PNOEE-38001085718");
    eh_pc_assert_invalid("3800108-5718");
    /* G outside 1..6, check digits right */
    eh_pc_assert_invalid("00101010004");
    eh_pc_assert_invalid("70101010000");
    eh_pc_assert_invalid("80101010001");
    eh_pc_assert_invalid("90101010002");
}
END_TEST

START_TEST(test_null_out)
{
    ck_assert_int_eq(eh_ee_personal_code_birth_date("38001085718", NULL), EH_ERR_INVALID);
}
END_TEST

Suite *suite_ee_personal_code(void)
{
    Suite *s = suite_create("ee_personal_code");
    TCase *tc = tcase_create("ee_personal_code");

    tcase_add_test(tc, test_valid_codes);
    tcase_add_test(tc, test_centuries_and_sexes);
    tcase_add_test(tc, test_bad_checksum);
    tcase_add_test(tc, test_invalid_dates);
    tcase_add_test(tc, test_invalid_forms);
    tcase_add_test(tc, test_null_out);
    suite_add_tcase(s, tc);
    return s;
}
