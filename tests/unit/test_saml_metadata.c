/* Unit tests: broker/saml (suite saml_metadata). */
#include <check.h>

#include "tests/unit/suites.h"

Suite *suite_saml_metadata(void)
{
    Suite *s = suite_create("saml_metadata");
    return s;
}
