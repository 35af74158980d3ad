/* eidhub: derived attributes, computed inside the broker.
 *
 * A derived attribute answers a question about the citizen without handing
 * over its source: a bar learns age_over_18: true, never the date of birth.
 * They are released instead of their sources (policies/policy.h) and are
 * named like this:
 *
 *   age_over_N         boolean  N decimal, 1 to 150, no leading zero: the
 *                               citizen was at least N years old at `now`
 *   age_band           string   "0-17", "18-24", "25-34", "35-44", "45-54",
 *                               "55-64" or "65+": the age at `now`
 *   country            string   the identity's country (the issuer of its
 *                               identifier, eh_identity.country)
 *   is_resident_of_XX  boolean  XX two capital letters (ISO 3166-1 alpha-2):
 *                               the identity's country is XX
 *
 * Their OpenID Connect claim is their name; an eIDAS Proxy-Service has no
 * attribute for them and never sends them.
 *
 * Ages are counted from the registry's date_of_birth ("YYYY-MM-DD", a date
 * that exists in the proleptic Gregorian calendar) to the calendar day of
 * `now` in UTC: a person born on 2008-11-23 is 17 during all of 2026-11-22
 * UTC and 18 from 2026-11-23 00:00:00 UTC. Someone born on 29 February has
 * their birthday on 29 February in leap years and on 1 March in the others
 * (our choice: they are not a year older before 28 February has wholly
 * passed). A birth date after the day of `now` gives no age at all: nothing
 * is derived from it. */
#ifndef EH_DERIVE_H
#define EH_DERIVE_H

#include <jansson.h>
#include <stdint.h>

#include "attributes/registry.h"
#include "broker/authn.h"
#include "broker/rc.h"

#define EH_AGE_OVER_MIN 1
#define EH_AGE_OVER_MAX 150

typedef enum eh_derived_kind {
    EH_DERIVED_NONE = 0,     /* not a (well-formed) derived attribute */
    EH_DERIVED_AGE_OVER = 1, /* age_over_N */
    EH_DERIVED_AGE_BAND = 2, /* age_band */
    EH_DERIVED_COUNTRY = 3,  /* country */
    EH_DERIVED_RESIDENT = 4, /* is_resident_of_XX */
} eh_derived_kind;

/* A parsed derived name. */
typedef struct eh_derived {
    eh_derived_kind kind;
    int age;         /* N of age_over_N, else 0 */
    char country[3]; /* XX of is_resident_of_XX, else "" */
} eh_derived;

/* eh_derived_parse tells what kind of derived attribute name is, filling
 * *out (may be NULL) with its parameters. A name that is not derived, or
 * whose parameter is malformed (age_over_0, age_over_018, age_over_151,
 * age_over_x, is_resident_of_ee ...), is EH_DERIVED_NONE. NULL is NONE. */
eh_derived_kind eh_derived_parse(const char *name, eh_derived *out);

/* eh_derived_valid tells (1 or 0) whether name is a well-formed derived
 * attribute. */
int eh_derived_valid(const char *name);

/* eh_derived_problem explains why name is not a well-formed derived
 * attribute, for validation messages: a static sentence for names that
 * look like a derived one with a bad parameter ("age_over_N needs ..."),
 * NULL for well-formed derived names and for names that are not derived
 * at all. */
const char *eh_derived_problem(const char *name);

/* eh_derived_type returns the JSON type of a derived attribute's value:
 * EH_ATTR_BOOLEAN for age_over_N and is_resident_of_XX, EH_ATTR_STRING for
 * age_band and country. -1 when name is not a well-formed derived name. */
int eh_derived_type(const char *name);

/* eh_derived_source names the registry attribute a derived attribute is
 * computed from ("date_of_birth" for age_over_N and age_band), or NULL when
 * it comes from the identity's subject (country, is_resident_of_XX) or name
 * is not derived. Static string. */
const char *eh_derived_source(const char *name);

/* eh_date_parse reads a strict "YYYY-MM-DD" (exactly ten characters, year
 * 0001 to 9999, a day that exists in that month, leap years included) into
 * *y, *m, *d. Returns 1 when it is one, else 0 (outputs unspecified). */
int eh_date_parse(const char *text, int *y, int *m, int *d);

/* eh_age_at returns the age in whole years at the UTC day of now of a
 * person born on y-m-d (a valid date, see eh_date_parse), with the 29
 * February rule above; -1 when the birth date is after that day or now
 * cannot be converted to a date. */
int eh_age_at(int y, int m, int d, int64_t now);

/* eh_age_band returns the static band of an age >= 0 ("0-17" ... "65+"),
 * NULL for a negative age. */
const char *eh_age_band(int age);

/* eh_derived_compute computes derived attribute name for identity id at
 * now (seconds since the epoch) into *out (a new JSON value the caller
 * owns): a boolean for age_over_N and is_resident_of_XX, a string for
 * age_band and country. EH_ERR_NOT_FOUND when id cannot give it (no
 * date_of_birth, or one that is not a string eh_date_parse accepts, or one
 * after now; no country, or one that is not two capital letters);
 * EH_ERR_INVALID when name is not a well-formed derived attribute. Nothing
 * is logged: the inputs are personal data. */
eh_rc eh_derived_compute(const char *name, const eh_identity *id, int64_t now, json_t **out);

#endif
