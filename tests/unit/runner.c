/* The single runner of every unit-test suite. Exit status 0 when all pass.
 * Environment: EH_TEST_REDIS=redis://127.0.0.1:PORT/DB names the Redis that
 * the store suite runs against (./dev test starts one); without it the Redis
 * half of the store suite fails, it is never silently skipped. */
#include <stdlib.h>

#include "tests/unit/suites.h"

typedef Suite *(*suite_fn)(void);

static const suite_fn suites[] = {
    suite_rc,         suite_log, suite_metrics,     suite_http,     suite_dispatch,   suite_authn,
    suite_json_path,  suite_config,  suite_keys,     suite_store,      suite_store_url,
    suite_broker,     suite_health,  suite_registry, suite_discovery,  suite_ee_personal_code,
    suite_sk_verify,  suite_sk_ocsp, suite_policy,  suite_derive,   suite_evaluate,   suite_policy_store,
    suite_admin_auth, suite_rate_limit, suite_sso, suite_records, suite_buf,     suite_random,   suite_secret,     suite_cookie,
    suite_i18n,       suite_page,    suite_txn,      suite_json_check, suite_jwt,
    suite_pairwise,   suite_audit,   suite_backend, suite_smart_id, suite_oidc_upstream_token,
    suite_client_assertion,
    suite_saml_crypto,
    suite_saml_xml,
    suite_saml_authn_request,
    suite_saml_response,
    suite_saml_metadata,
    suite_saml_logout,
    suite_protect,
};

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
