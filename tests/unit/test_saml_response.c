/* Unit tests: broker/saml (suite saml_response). */
#include <check.h>

#include "tests/unit/suites.h"

Suite *suite_saml_response(void)
{
    Suite *s = suite_create("saml_response");
    return s;
}
