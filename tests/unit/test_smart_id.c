/* The Smart-ID backend's settings, the parsing of its client's answers, its
 * personal codes, and the registry and catalog entries it relies on. */
#include "tests/unit/suites.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/backend.h"
#include "broker/backends/mobile_id.h"
#include "broker/backends/sid_client.h"
#include "broker/backends/smart_id.h"
#include "broker/i18n.h"
#include "tests/unit/testutil.h"

#define FILE_NAME "/etc/eidhub/broker.json"

static char *sid_dir;
static char *sid_ca; /* a CA certificate (PEM) in sid_dir */

/* write_ca makes a self-signed EC CA certificate and writes it to path. */
static void write_ca(const char *path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *name;
    X509_EXTENSION *ext;
    X509V3_CTX ctx;
    FILE *f;

    ck_assert_ptr_nonnull(key);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"TEST SID CA", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(PEM_write_X509(f, x), 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void sid_setup(void)
{
    sid_dir = eh_test_tmpdir();
    sid_ca = eh_test_write(sid_dir, "sid-ca.pem", "");
    write_ca(sid_ca);
}

static void sid_teardown(void)
{
    eh_test_rmtree(sid_dir);
    free(sid_dir);
    free(sid_ca);
}

/* settings_with returns valid Smart-ID settings with the members of extra
 * (a JSON object text) laid over them; a member whose value is null is
 * removed. */
static json_t *settings_with(const char *extra)
{
    json_t *s = json_pack("{s:s, s:s, s:s, s:[s]}", "url", "https://sid.demo.sk.ee/smart-id-rp/v2/",
                          "relying_party_uuid", "00000000-0000-0000-0000-000000000000",
                          "relying_party_name", "DEMO", "trusted_ca_files", sid_ca);
    json_t *over = json_loads(extra, 0, NULL), *value;
    const char *key;

    ck_assert_ptr_nonnull(s);
    ck_assert_msg(over != NULL, "bad test JSON %s", extra);
    json_object_foreach(over, key, value)
    {
        if (json_is_null(value))
            json_object_del(s, key);
        else
            json_object_set(s, key, value);
    }
    json_decref(over);
    return s;
}

/* load runs eh_sid_load on settings_with(extra); returns rc, err and state. */
static eh_rc load(const char *extra, char *err, size_t errlen, void **state)
{
    json_t *s = settings_with(extra);
    eh_rc rc;

    err[0] = '\0';
    *state = NULL;
    rc = eh_sid_load(s, FILE_NAME, "$.backends.smart_id", state, err, errlen);
    json_decref(s);
    return rc;
}

START_TEST(settings_defaults)
{
    char err[512];
    void *state = NULL;
    eh_sid *sid;

    ck_assert_int_eq(load("{}", err, sizeof(err), &state), EH_OK);
    sid = state;
    ck_assert_ptr_nonnull(sid);
    ck_assert_str_eq(sid->sk.url, "https://sid.demo.sk.ee/smart-id-rp/v2"); /* no trailing '/' */
    ck_assert_str_eq(sid->certificate_level, "QUALIFIED");
    ck_assert_int_eq(sid->loa, EH_LOA_HIGH);
    ck_assert_int_eq(eh_sid_loa(sid), EH_LOA_HIGH);
    ck_assert_str_eq(sid->sk.hash_type, "SHA256");
    ck_assert_uint_eq(sid->sk.hash_len, 32);
    ck_assert_uint_eq(sid->sk.poll_timeout_ms, 1000);
    ck_assert_uint_eq(sid->sk.request_timeout_ms, 5000);
    ck_assert_uint_eq(sid->sk.limit_person, 5);
    ck_assert_uint_eq(sid->sk.limit_address, 30);
    ck_assert_uint_eq(sid->sk.limit_window_s, 300);
    ck_assert_ptr_null(sid->sk.display_text);
    ck_assert_ptr_nonnull(sid->sk.trust);
    eh_sid_free(state);
    eh_sid_free(NULL);
}
END_TEST

START_TEST(settings_advanced_and_all_members)
{
    char err[512];
    void *state = NULL;
    eh_sid *sid;
    const eh_backend_def *d = eh_backend_find("smart_id");

    ck_assert_int_eq(load("{\"certificate_level\": \"ADVANCED\", \"hash_type\": \"SHA512\", "
                          "\"display_text\": \"Tartu linna e-teenused: sisselogimine ✓\", "
                          "\"pinned_public_key\": \"sha256//AAAA\", \"poll_timeout_ms\": 5000, "
                          "\"request_timeout_ms\": 800, \"rate_limit\": {\"per_person\": 2, "
                          "\"per_client_address\": 9, \"window_seconds\": 60}}",
                          err, sizeof(err), &state),
                     EH_OK);
    sid = state;
    ck_assert_int_eq(sid->loa, EH_LOA_SUBSTANTIAL);
    ck_assert_uint_eq(sid->sk.hash_len, 64);
    ck_assert_uint_eq(sid->sk.limit_person, 2);
    ck_assert_uint_eq(sid->sk.limit_address, 9);
    ck_assert_uint_eq(sid->sk.limit_window_s, 60);
    /* the registry asks the state for its level */
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(eh_backend_loa(d, state), EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(eh_backend_loa(d, NULL), EH_LOA_HIGH);
    ck_assert_int_eq(eh_backend_loa(eh_backend_find("mobile_id"), state), EH_LOA_HIGH);
    eh_sid_free(state);
}
END_TEST

/* Each bad setting is refused with one line naming the member. */
START_TEST(settings_errors_name_the_member)
{
    static const struct {
        const char *extra, *member, *what;
    } cases[] = {
        {"{\"url\": null}", "$.backends.smart_id.url", "is required"},
        {"{\"url\": \"ftp://sid.example/\"}", "$.backends.smart_id.url", ""},
        {"{\"url\": 7}", "$.backends.smart_id.url", "string"},
        {"{\"relying_party_uuid\": null}", "$.backends.smart_id.relying_party_uuid", "is required"},
        {"{\"relying_party_name\": \"\"}", "$.backends.smart_id.relying_party_name", ""},
        {"{\"trusted_ca_files\": null}", "$.backends.smart_id.trusted_ca_files",
         "Smart-ID certificates"},
        {"{\"trusted_ca_files\": []}", "$.backends.smart_id.trusted_ca_files", "non-empty"},
        {"{\"trusted_ca_files\": [3]}", "$.backends.smart_id.trusted_ca_files[0]", "file name"},
        {"{\"trusted_ca_files\": [\"/no/such/ca.pem\"]}", "$.backends.smart_id.trusted_ca_files",
         ""},
        {"{\"certificate_level\": \"QSCD\"}", "$.backends.smart_id.certificate_level",
         "QUALIFIED or ADVANCED"},
        {"{\"certificate_level\": \"qualified\"}", "$.backends.smart_id.certificate_level",
         "QUALIFIED or ADVANCED"},
        {"{\"display_text\": \"1234567890123456789012345678901234567890123456789012345678901\"}",
         "$.backends.smart_id.display_text", "at most 60"},
        {"{\"hash_type\": \"MD5\"}", "$.backends.smart_id.hash_type", "SHA256"},
        {"{\"poll_timeout_ms\": 200}", "$.backends.smart_id.poll_timeout_ms", ""},
        {"{\"request_timeout_ms\": 100000}", "$.backends.smart_id.request_timeout_ms", ""},
        {"{\"rate_limit\": 5}", "$.backends.smart_id.rate_limit", "object"},
        {"{\"rate_limit\": {\"per_phone\": 5}}", "$.backends.smart_id.rate_limit.per_phone",
         "unknown member"},
        {"{\"rate_limit\": {\"per_person\": 0}}", "$.backends.smart_id.rate_limit.per_person", ""},
        {"{\"phone\": \"+372\"}", "$.backends.smart_id.phone", "unknown member"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512], want[256];
        void *state = NULL;
        eh_rc rc = load(cases[i].extra, err, sizeof(err), &state);

        ck_assert_msg(rc != EH_OK, "accepted %s", cases[i].extra);
        ck_assert_ptr_null(state);
        snprintf(want, sizeof(want), "%s: %s", FILE_NAME, cases[i].member);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s", cases[i].extra, err);
        ck_assert_msg(strstr(err, cases[i].what) != NULL, "%s: %s", cases[i].extra, err);
        ck_assert_ptr_null(strchr(err, '\n'));
    }
}
END_TEST

/* Mobile-ID shares the loader: its rate_limit has per_phone, its display
 * text is shorter, and it has no certificate_level. */
START_TEST(mobile_id_shares_the_loader)
{
    json_t *s = settings_with("{\"rate_limit\": {\"per_phone\": 3}, \"display_text\": "
                              "\"Tartu\", \"url\": \"https://tsp.demo.sk.ee/mid-api\"}");
    char err[512] = "";
    void *state = NULL;
    eh_mid *mid;

    ck_assert_int_eq(eh_mid_load(s, FILE_NAME, "$.backends.mobile_id", &state, err, sizeof(err)),
                     EH_OK);
    mid = state;
    ck_assert_uint_eq(mid->sk.limit_phone, 3);
    ck_assert_str_eq(mid->sk.url, "https://tsp.demo.sk.ee/mid-api");
    eh_mid_free(state);
    json_object_set_new(s, "certificate_level", json_string("QUALIFIED"));
    state = NULL;
    ck_assert_int_ne(eh_mid_load(s, FILE_NAME, "$.backends.mobile_id", &state, err, sizeof(err)),
                     EH_OK);
    ck_assert_ptr_null(state);
    ck_assert_ptr_nonnull(strstr(err, "$.backends.mobile_id.certificate_level: unknown member"));
    json_object_del(s, "certificate_level");
    json_object_set_new(s, "display_text",
                        json_string("12345678901234567890123456789012345678901"));
    ck_assert_int_ne(eh_mid_load(s, FILE_NAME, "$.backends.mobile_id", &state, err, sizeof(err)),
                     EH_OK);
    ck_assert_ptr_nonnull(strstr(err, "display_text: must be at most 40 characters"));
    json_decref(s);
}
END_TEST

START_TEST(parse_running)
{
    const char *body = "{\"state\":\"RUNNING\",\"extra\":{\"a\":1}}";
    eh_sid_session s;
    char why[128] = "";

    ck_assert_int_eq(eh_sid_session_parse(body, strlen(body), &s, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(s.state, "RUNNING");
    ck_assert_ptr_null(s.end_result);
    ck_assert_ptr_null(s.cert);
    eh_sid_session_clear(&s);
}
END_TEST

START_TEST(parse_complete_ok)
{
    const char *body =
        "{\"state\":\"COMPLETE\",\"result\":{\"endResult\":\"OK\",\"documentNumber\":"
        "\"PNOEE-30303039914-MOCK-Q\"},\"signature\":{\"value\":\"c2ln\",\"algorithm\":"
        "\"sha256WithRSAEncryption\"},\"cert\":{\"value\":\"Y2VydA==\",\"assuranceLevel\":"
        "\"http://eidas.europa.eu/LoA/high\",\"certificateLevel\":\"QUALIFIED\"},"
        "\"interactionFlowUsed\":\"verificationCodeChoice\",\"ignoredProperties\":[\"x\"]}";
    eh_sid_session s;
    char why[128] = "";

    ck_assert_int_eq(eh_sid_session_parse(body, strlen(body), &s, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(s.state, "COMPLETE");
    ck_assert_str_eq(s.end_result, "OK");
    ck_assert_str_eq(s.document_number, "PNOEE-30303039914-MOCK-Q");
    ck_assert_str_eq(s.signature_value, "c2ln");
    ck_assert_str_eq(s.signature_algorithm, "sha256WithRSAEncryption");
    ck_assert_str_eq(s.cert, "Y2VydA==");
    ck_assert_str_eq(s.cert_level, "QUALIFIED");
    ck_assert_str_eq(s.interaction_flow, "verificationCodeChoice");
    eh_sid_session_clear(&s);
    ck_assert_ptr_null(s.state);
}
END_TEST

START_TEST(parse_refuses_what_is_not_an_answer)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{}",
        "{\"state\":7}",
        "{\"state\":\"DONE\"}",
        "{\"state\":\"COMPLETE\"}",
        "{\"state\":\"COMPLETE\",\"result\":{}}",
        "{\"state\":\"COMPLETE\",\"result\":{\"endResult\":5}}",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eh_sid_session s;
        char why[128] = "";
        ck_assert_int_eq(eh_sid_session_parse(bad[i], strlen(bad[i]), &s, why, sizeof(why)),
                         EH_ERR_IO);
        ck_assert_ptr_null(s.state);
        ck_assert_msg(why[0] != '\0', "no reason for %s", bad[i]);
    }
    {
        eh_sid_session s;
        char why[128];
        ck_assert_int_eq(eh_sid_session_parse(NULL, 0, &s, why, sizeof(why)), EH_ERR_IO);
    }
}
END_TEST

START_TEST(http_errors_of_the_citizen)
{
    ck_assert_str_eq(eh_sid_http_result(404, 1), "ACCOUNT_NOT_FOUND");
    ck_assert_str_eq(eh_sid_http_result(404, 0), "TIMEOUT");
    ck_assert_str_eq(eh_sid_http_result(471, 1), "NO_SUITABLE_ACCOUNT");
    ck_assert_str_eq(eh_sid_http_result(472, 0), "VIEW_APP");
    ck_assert_str_eq(eh_sid_http_result(480, 1), "CLIENT_TOO_OLD");
    ck_assert_str_eq(eh_sid_http_result(580, 0), "UNDER_MAINTENANCE");
    /* ours to fix, not the citizen's: the generic "unavailable" */
    ck_assert_ptr_null(eh_sid_http_result(0, 1));
    ck_assert_ptr_null(eh_sid_http_result(200, 1));
    ck_assert_ptr_null(eh_sid_http_result(400, 1));
    ck_assert_ptr_null(eh_sid_http_result(401, 1));
    ck_assert_ptr_null(eh_sid_http_result(403, 1));
    ck_assert_ptr_null(eh_sid_http_result(500, 0));
}
END_TEST

START_TEST(personal_codes)
{
    char out[16];

    ck_assert_int_eq(eh_sid_personal_code("EE", "30303039914", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "30303039914");
    ck_assert_int_eq(eh_sid_personal_code("LT", "40404040009", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "40404040009");
    ck_assert_int_eq(eh_sid_personal_code("EE", "30303039915", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    /* Latvia: with or without the dash, spelt with it; checksum of old codes */
    ck_assert_int_eq(eh_sid_personal_code("LV", "040404-10003", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "040404-10003");
    ck_assert_int_eq(eh_sid_personal_code("LV", "05040510009", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "050405-10009");
    ck_assert_int_eq(eh_sid_personal_code("LV", "040404-10004", out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code("LV", "329999-99901", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "329999-99901");
    ck_assert_int_eq(eh_sid_personal_code("LV", "040404+10003", out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code("LV", "0404041000", out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code("LV", "04040A-10003", out, sizeof(out)), 0);
    /* other countries, and nothing at all */
    ck_assert_int_eq(eh_sid_personal_code("FI", "30303039914", out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code(NULL, "30303039914", out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code("EE", NULL, out, sizeof(out)), 0);
    ck_assert_int_eq(eh_sid_personal_code("EE", "30303039914", out, 5), 0);
}
END_TEST

START_TEST(document_numbers)
{
    ck_assert_int_eq(eh_sid_document_valid("PNOEE-30303039914-MOCK-Q"), 1);
    ck_assert_int_eq(eh_sid_document_valid("PNOLV-040404-10003-DEMO-Q"), 1);
    ck_assert_int_eq(eh_sid_document_valid(""), 0);
    ck_assert_int_eq(eh_sid_document_valid(NULL), 0);
    ck_assert_int_eq(eh_sid_document_valid("PNOEE-303/../session"), 0);
    ck_assert_int_eq(eh_sid_document_valid("PNOEE 3030"), 0);
    ck_assert_int_eq(eh_sid_document_valid("PNOEE-30303039914-MOCK-Q?x=1"), 0);
    ck_assert_int_eq(
        eh_sid_document_valid("A1234567890123456789012345678901234567890123456789012345678901234"),
        0);
}
END_TEST

START_TEST(levels)
{
    ck_assert_int_eq(eh_sid_level_loa("QUALIFIED"), EH_LOA_HIGH);
    ck_assert_int_eq(eh_sid_level_loa("ADVANCED"), EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(eh_sid_level_loa("QSCD"), EH_LOA_NONE);
    ck_assert_int_eq(eh_sid_level_loa(NULL), EH_LOA_NONE);
    ck_assert_int_eq(eh_sid_loa(NULL), EH_LOA_NONE);
}
END_TEST

START_TEST(registry_and_catalog)
{
    static const char *const results[] = {
        "USER_REFUSED",
        "TIMEOUT",
        "DOCUMENT_UNUSABLE",
        "WRONG_VC",
        "REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP",
        "USER_REFUSED_CERT_CHOICE",
        "USER_REFUSED_DISPLAYTEXTANDPIN",
        "USER_REFUSED_VC_CHOICE",
        "USER_REFUSED_CONFIRMATIONMESSAGE",
        "USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE",
        "ACCOUNT_NOT_FOUND",
        "NO_SUITABLE_ACCOUNT",
        "VIEW_APP",
        "CLIENT_TOO_OLD",
        "UNDER_MAINTENANCE",
        "verify_failed",
        "unavailable",
        "title",
        "country",
        "code",
        "submit",
        "bad_code",
        "bad_document",
        "rate_limited",
        "display_text",
        "verification_code",
        "check_phone",
        "waiting",
        "use_document",
        "document",
    };
    const eh_backend_def *d = eh_backend_find("smart_id");

    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->amr, "smartid");
    ck_assert_str_eq(d->scope, "smartid");
    ck_assert_str_eq(d->start_path, "/auth/sid");
    ck_assert_str_eq(eh_i18n("en", d->label_key), "Smart-ID");
    ck_assert_str_eq(eh_i18n("et", d->label_key), "Smart-ID");
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        char key[96];
        snprintf(key, sizeof(key), "sid_%s", results[i]);
        ck_assert_msg(strcmp(eh_i18n("en", key), key) != 0, "%s missing (en)", key);
        ck_assert_msg(strcmp(eh_i18n("et", key), key) != 0, "%s missing (et)", key);
        ck_assert_msg(strcmp(eh_i18n("et", key), eh_i18n("en", key)) != 0, "%s untranslated", key);
    }
    /* the app shows the display text: at most 60 characters in each language */
    ck_assert_uint_le(strlen(eh_i18n("en", "sid_display_text")), 60);
    ck_assert_uint_le(strlen(eh_i18n("et", "sid_display_text")), 60);
    ck_assert_str_ne(eh_i18n("en", "country_LV"), "country_LV");
}
END_TEST

Suite *suite_smart_id(void)
{
    Suite *s = suite_create("smart_id");
    TCase *tc = tcase_create("settings");
    tcase_add_unchecked_fixture(tc, sid_setup, sid_teardown);
    tcase_add_test(tc, settings_defaults);
    tcase_add_test(tc, settings_advanced_and_all_members);
    tcase_add_test(tc, settings_errors_name_the_member);
    tcase_add_test(tc, mobile_id_shares_the_loader);
    suite_add_tcase(s, tc);
    tc = tcase_create("client");
    tcase_add_test(tc, parse_running);
    tcase_add_test(tc, parse_complete_ok);
    tcase_add_test(tc, parse_refuses_what_is_not_an_answer);
    tcase_add_test(tc, http_errors_of_the_citizen);
    tcase_add_test(tc, personal_codes);
    tcase_add_test(tc, document_numbers);
    tcase_add_test(tc, levels);
    tcase_add_test(tc, registry_and_catalog);
    suite_add_tcase(s, tc);
    return s;
}
