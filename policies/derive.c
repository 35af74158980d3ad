#include "policies/derive.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AGE_OVER_PREFIX "age_over_"
#define RESIDENT_PREFIX "is_resident_of_"

/* starts_with tells whether s begins with prefix. */
static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* two_capitals tells whether s is exactly two ASCII capital letters. */
static int two_capitals(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/* parse_age reads N of age_over_N: 1 to 3 decimal digits, no leading zero,
 * within [EH_AGE_OVER_MIN, EH_AGE_OVER_MAX]; -1 otherwise. */
static int parse_age(const char *s)
{
    int n = 0;
    size_t len = strlen(s);

    if (len == 0 || len > 3 || s[0] == '0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (s[i] - '0');
    }
    return n >= EH_AGE_OVER_MIN && n <= EH_AGE_OVER_MAX ? n : -1;
}

eh_derived_kind eh_derived_parse(const char *name, eh_derived *out)
{
    eh_derived d = {EH_DERIVED_NONE, 0, ""};

    if (name == NULL) {
        /* nothing */
    } else if (strcmp(name, "age_band") == 0) {
        d.kind = EH_DERIVED_AGE_BAND;
    } else if (strcmp(name, "country") == 0) {
        d.kind = EH_DERIVED_COUNTRY;
    } else if (starts_with(name, AGE_OVER_PREFIX)) {
        d.age = parse_age(name + strlen(AGE_OVER_PREFIX));
        if (d.age > 0)
            d.kind = EH_DERIVED_AGE_OVER;
        else
            d.age = 0;
    } else if (starts_with(name, RESIDENT_PREFIX) && two_capitals(name + strlen(RESIDENT_PREFIX))) {
        d.kind = EH_DERIVED_RESIDENT;
        memcpy(d.country, name + strlen(RESIDENT_PREFIX), 3);
    }
    if (out != NULL)
        *out = d;
    return d.kind;
}

int eh_derived_valid(const char *name)
{
    return eh_derived_parse(name, NULL) != EH_DERIVED_NONE;
}

const char *eh_derived_problem(const char *name)
{
    if (name == NULL || eh_derived_valid(name))
        return NULL;
    if (starts_with(name, AGE_OVER_PREFIX))
        return "age_over_N needs N from 1 to 150, in decimal without leading zeros";
    if (starts_with(name, RESIDENT_PREFIX))
        return "is_resident_of_XX needs XX, a country code of two capital letters";
    return NULL;
}

int eh_derived_type(const char *name)
{
    switch (eh_derived_parse(name, NULL)) {
    case EH_DERIVED_AGE_OVER:
    case EH_DERIVED_RESIDENT:
        return EH_ATTR_BOOLEAN;
    case EH_DERIVED_AGE_BAND:
    case EH_DERIVED_COUNTRY:
        return EH_ATTR_STRING;
    case EH_DERIVED_NONE:
        break;
    }
    return -1;
}

const char *eh_derived_source(const char *name)
{
    switch (eh_derived_parse(name, NULL)) {
    case EH_DERIVED_AGE_OVER:
    case EH_DERIVED_AGE_BAND:
        return "date_of_birth";
    case EH_DERIVED_RESIDENT:
    case EH_DERIVED_COUNTRY:
    case EH_DERIVED_NONE:
        break;
    }
    return NULL;
}

/* leap_year tells whether y has a 29 February (proleptic Gregorian). */
static int leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* days_in_month of month m (1-12) in year y. */
static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* digits reads n ASCII decimal digits of s as a number; -1 if one is not. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int eh_date_parse(const char *text, int *y, int *m, int *d)
{
    if (text == NULL || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return 0;
    *y = digits(text, 4);
    *m = digits(text + 5, 2);
    *d = digits(text + 8, 2);
    if (*y < 1 || *m < 1 || *m > 12 || *d < 1)
        return 0;
    return *d <= days_in_month(*y, *m);
}

int eh_age_at(int y, int m, int d, int64_t now)
{
    struct tm tm;
    time_t t = (time_t)now;
    int ny, nm, nd, age;

    if ((int64_t)t != now || gmtime_r(&t, &tm) == NULL)
        return -1;
    ny = tm.tm_year + 1900;
    nm = tm.tm_mon + 1;
    nd = tm.tm_mday;
    /* Not yet this year's birthday: a year less. Someone born on 29 February
     * has it on 1 March in common years, which this comparison gives without
     * a case of its own: 28 February is before 29 February, 1 March after. */
    age = ny - y;
    if (nm < m || (nm == m && nd < d))
        age--;
    return age;
}

const char *eh_age_band(int age)
{
    static const struct {
        int below; /* first age past the band */
        const char *band;
    } bands[] = {{18, "0-17"},  {25, "18-24"}, {35, "25-34"},
                 {45, "35-44"}, {55, "45-54"}, {65, "55-64"}};

    if (age < 0)
        return NULL;
    for (size_t i = 0; i < sizeof(bands) / sizeof(bands[0]); i++) {
        if (age < bands[i].below)
            return bands[i].band;
    }
    return "65+";
}

/* age_of returns the age at now from id's date_of_birth, -1 when there is
 * none that can be used. */
static int age_of(const eh_identity *id, int64_t now)
{
    int y, m, d;
    json_t *dob = id->attributes ? json_object_get(id->attributes, "date_of_birth") : NULL;

    if (!json_is_string(dob) || !eh_date_parse(json_string_value(dob), &y, &m, &d))
        return -1;
    return eh_age_at(y, m, d, now);
}

eh_rc eh_derived_compute(const char *name, const eh_identity *id, int64_t now, json_t **out)
{
    eh_derived d;
    json_t *value = NULL;
    int age;

    switch (eh_derived_parse(name, &d)) {
    case EH_DERIVED_AGE_OVER:
        if ((age = age_of(id, now)) < 0)
            return EH_ERR_NOT_FOUND;
        value = json_boolean(age >= d.age);
        break;
    case EH_DERIVED_AGE_BAND:
        if ((age = age_of(id, now)) < 0)
            return EH_ERR_NOT_FOUND;
        value = json_string(eh_age_band(age));
        break;
    case EH_DERIVED_COUNTRY:
        if (id->country == NULL || !two_capitals(id->country))
            return EH_ERR_NOT_FOUND;
        value = json_string(id->country);
        break;
    case EH_DERIVED_RESIDENT:
        if (id->country == NULL || !two_capitals(id->country))
            return EH_ERR_NOT_FOUND;
        value = json_boolean(strcmp(id->country, d.country) == 0);
        break;
    case EH_DERIVED_NONE:
        return EH_ERR_INVALID;
    }
    if (value == NULL)
        return EH_ERR_NOMEM;
    *out = value;
    return EH_OK;
}
