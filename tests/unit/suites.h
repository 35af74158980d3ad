/* eidhub unit tests: one check suite per source file, all run by runner.c. */
#ifndef EH_TEST_SUITES_H
#define EH_TEST_SUITES_H

#include <check.h>

Suite *suite_rc(void);
Suite *suite_log(void);
Suite *suite_metrics(void);
Suite *suite_http(void);
Suite *suite_dispatch(void);
Suite *suite_authn(void);
Suite *suite_json_path(void);
Suite *suite_config(void);
Suite *suite_keys(void);
Suite *suite_store(void);
Suite *suite_store_url(void);
Suite *suite_broker(void);
Suite *suite_health(void);
Suite *suite_registry(void);
Suite *suite_discovery(void);
Suite *suite_ee_personal_code(void);
Suite *suite_sk_verify(void);
Suite *suite_sk_ocsp(void);
Suite *suite_policy(void);
Suite *suite_derive(void);
Suite *suite_evaluate(void);
Suite *suite_policy_store(void);
Suite *suite_admin_auth(void);
Suite *suite_rate_limit(void);
Suite *suite_sso(void);
Suite *suite_protect(void);
Suite *suite_records(void);
Suite *suite_buf(void);
Suite *suite_random(void);
Suite *suite_secret(void);
Suite *suite_cookie(void);
Suite *suite_i18n(void);
Suite *suite_page(void);
Suite *suite_txn(void);
Suite *suite_json_check(void);
Suite *suite_jwt(void);
Suite *suite_pairwise(void);
Suite *suite_audit(void);
Suite *suite_backend(void);
Suite *suite_smart_id(void);
Suite *suite_oidc_upstream_token(void);
Suite *suite_client_assertion(void);
Suite *suite_saml_crypto(void);
Suite *suite_saml_xml(void);
Suite *suite_saml_authn_request(void);
Suite *suite_saml_response(void);
Suite *suite_saml_metadata(void);
Suite *suite_saml_logout(void);

/* Where tests/fixtures is (set by the Makefile). */
#ifndef EH_TEST_FIXTURES
#define EH_TEST_FIXTURES "tests/fixtures"
#endif

#endif
