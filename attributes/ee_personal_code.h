/* eidhub: the Estonian personal code (isikukood).
 *
 * Eleven digits GYYMMDDSSSC (PROTOCOLS.md section 5, standard EVS 585):
 * G gives the century of birth and the sex (1/2: 1800s, 3/4: 1900s, 5/6:
 * 2000s; odd male, even female), YYMMDD the date of birth, SSS a serial
 * number and C a check digit. C is the weighted sum of the first ten digits
 * modulo 11 with the weights 1 2 3 4 5 6 7 8 9 1; if that is 10, the sum is
 * taken again with the weights 3 4 5 6 7 8 9 1 2 3; if that is 10 too, C is
 * 0.
 *
 * A personal code is personal data: none of these functions logs it, and
 * callers must not either. */
#ifndef EH_EE_PERSONAL_CODE_H
#define EH_EE_PERSONAL_CODE_H

#include "broker/rc.h"

/* The length of "YYYY-MM-DD" plus its terminating NUL. */
#define EH_EE_BIRTH_DATE_SIZE 11

/* eh_ee_personal_code_valid tells (1 or 0) whether code is a well-formed
 * Estonian personal code: exactly eleven ASCII digits, G from 1 to 6, a date
 * that exists in the calendar (leap years included: 29 February 1900 does
 * not, 29 February 2000 does), and the right check digit. NULL is not
 * valid. Nothing is allocated. */
int eh_ee_personal_code_valid(const char *code);

/* eh_ee_personal_code_birth_date writes the date of birth of a valid code
 * into out as "YYYY-MM-DD" (the caller's buffer of EH_EE_BIRTH_DATE_SIZE
 * bytes). Returns EH_ERR_INVALID, with out set to "", when code is not
 * valid (eh_ee_personal_code_valid), the check digit included. */
eh_rc eh_ee_personal_code_birth_date(const char *code, char out[EH_EE_BIRTH_DATE_SIZE]);

/* eh_ee_personal_code_gender returns the sex a valid code records as the
 * eIDAS Gender value: "Male" (odd G) or "Female" (even G), spelled as in the
 * eIDAS SAML attribute profile's GenderType (Male | Female | Unspecified).
 * OpenID Connect's gender claim spells them in lower case ("male",
 * "female"): mapping is the OIDC frontend's work. Returns a static string,
 * or NULL when code is not valid. */
const char *eh_ee_personal_code_gender(const char *code);

#endif
