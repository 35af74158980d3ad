#include "attributes/ee_personal_code.h"

#include <stdio.h>
#include <string.h>

#define EH_EE_CODE_LEN 11

/* The two weight rounds of the check digit, over the first ten digits. */
static const int eh_ee_weights1[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1};
static const int eh_ee_weights2[10] = {3, 4, 5, 6, 7, 8, 9, 1, 2, 3};

/* eh_ee_digits copies the eleven digits of code into d and tells (1 or 0)
 * whether code is exactly eleven ASCII digits. */
static int eh_ee_digits(const char *code, int d[EH_EE_CODE_LEN])
{
    if (code == NULL)
        return 0;
    for (int i = 0; i < EH_EE_CODE_LEN; i++) {
        if (code[i] < '0' || code[i] > '9')
            return 0; /* also stops at a NUL: too short */
        d[i] = code[i] - '0';
    }
    return code[EH_EE_CODE_LEN] == '\0';
}

/* eh_ee_check_digit computes the check digit of the first ten digits. */
static int eh_ee_check_digit(const int d[EH_EE_CODE_LEN])
{
    int sum = 0;

    for (int i = 0; i < 10; i++)
        sum += d[i] * eh_ee_weights1[i];
    if (sum % 11 != 10)
        return sum % 11;
    sum = 0;
    for (int i = 0; i < 10; i++)
        sum += d[i] * eh_ee_weights2[i];
    return sum % 11 == 10 ? 0 : sum % 11;
}

/* eh_ee_is_leap tells whether year is a Gregorian leap year. */
static int eh_ee_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* eh_ee_date reads the date of birth from the digits into year, month and
 * day, and tells (1 or 0) whether G is 1 to 6 and the date exists. */
static int eh_ee_date(const int d[EH_EE_CODE_LEN], int *year, int *month, int *day)
{
    static const int days_in[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int g = d[0];
    int last;

    if (g < 1 || g > 6)
        return 0;
    *year = 1800 + 100 * ((g - 1) / 2) + d[1] * 10 + d[2];
    *month = d[3] * 10 + d[4];
    *day = d[5] * 10 + d[6];
    if (*month < 1 || *month > 12)
        return 0;
    last = days_in[*month - 1];
    if (*month == 2 && eh_ee_is_leap(*year))
        last = 29;
    return *day >= 1 && *day <= last;
}

int eh_ee_personal_code_valid(const char *code)
{
    int d[EH_EE_CODE_LEN];
    int year, month, day;

    if (!eh_ee_digits(code, d))
        return 0;
    if (!eh_ee_date(d, &year, &month, &day))
        return 0;
    return eh_ee_check_digit(d) == d[10];
}

eh_rc eh_ee_personal_code_birth_date(const char *code, char out[EH_EE_BIRTH_DATE_SIZE])
{
    int d[EH_EE_CODE_LEN];
    int year, month, day;

    if (out == NULL)
        return EH_ERR_INVALID;
    out[0] = '\0';
    if (!eh_ee_personal_code_valid(code))
        return EH_ERR_INVALID;
    eh_ee_digits(code, d);
    eh_ee_date(d, &year, &month, &day);
    snprintf(out, EH_EE_BIRTH_DATE_SIZE, "%04d-%02d-%02d", year, month, day);
    return EH_OK;
}

const char *eh_ee_personal_code_gender(const char *code)
{
    if (!eh_ee_personal_code_valid(code))
        return NULL;
    return (code[0] - '0') % 2 == 1 ? "Male" : "Female";
}
