/* Unit tests: broker/saml (suite saml_authn_request). */
#include <check.h>

#include "tests/unit/suites.h"

Suite *suite_saml_authn_request(void)
{
    Suite *s = suite_create("saml_authn_request");
    return s;
}
