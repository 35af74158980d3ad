#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config.h"

#define RP_OK                                                                                     \
    "{\"client_id\": \"portal\", \"redirect_uris\": [\"https://portal.example/cb\"], "           \
    "\"display_name\": \"City portal\", \"policy\": \"basic\", \"subject_type\": \"public\"}"

/* parse_err parses text and expects failure; returns the error line. */
static const char *parse_err(const char *text)
{
    static char err[1024];
    eh_config *cfg = NULL;
    eh_rc rc = eh_config_parse(text, strlen(text), "/etc/eidhub/broker.json", &cfg, err, sizeof(err));
    ck_assert_msg(rc == EH_ERR_CONFIG, "accepted: %s", text);
    ck_assert_ptr_null(cfg);
    ck_assert_ptr_null(strchr(err, '\n'));
    return err;
}

static eh_config *parse_ok(const char *text)
{
    char err[1024];
    eh_config *cfg = NULL;
    eh_rc rc = eh_config_parse(text, strlen(text), "/etc/eidhub/broker.json", &cfg, err, sizeof(err));
    ck_assert_msg(rc == EH_OK, "%s", err);
    return cfg;
}

static char *doc(const char *issuer, const char *rps)
{
    char *text = NULL;
    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"%s\", \"keys\": [{\"file\": \"keys/a.pem\"}], "
                              "\"relying_parties\": [%s]}",
                              issuer, rps),
                     0);
    return text;
}

START_TEST(valid_configuration)
{
    char *text = doc("https://id.example.ee/", RP_OK);
    eh_config *cfg = parse_ok(text);
    ck_assert_str_eq(cfg->issuer, "https://id.example.ee");
    ck_assert_uint_eq(cfg->n_keys, 1);
    ck_assert_str_eq(cfg->keys[0].file, "/etc/eidhub/keys/a.pem");
    ck_assert_uint_eq(cfg->n_rps, 1);
    const eh_config_rp *rp = eh_config_rp_find(cfg, "portal");
    ck_assert_ptr_nonnull(rp);
    ck_assert_int_eq(rp->subject_type, EH_SUBJECT_PUBLIC);
    ck_assert_ptr_null(rp->client_secret_sha256);
    ck_assert_str_eq(json_string_value(json_object_get(rp->display_name, "en")), "City portal");
    ck_assert_ptr_null(eh_config_rp_find(cfg, "Portal"));
    eh_config_free(cfg);
    free(text);
}
END_TEST

START_TEST(errors_name_file_path_and_problem)
{
    ck_assert_str_eq(parse_err("{\"keys\": []}"), "/etc/eidhub/broker.json: $.issuer: is required");
    ck_assert_str_eq(parse_err("{\"issuer\": \"https://a.ee\"}"),
                     "/etc/eidhub/broker.json: $.keys: is required (an array of "
                     "{\"file\": PEM path, \"active\": true})");
    ck_assert_str_eq(parse_err("{\"issuer\": \"https://a.ee\", \"keys\": [], \"x\": 1}"),
                     "/etc/eidhub/broker.json: $.x: unknown member");
    ck_assert_str_eq(parse_err("{\"issuer\": \"https://a.ee\", \"keys\": [{\"file\": 3}]}"),
                     "/etc/eidhub/broker.json: $.keys[0].file: must be a string");
    ck_assert_str_eq(parse_err("{\"issuer\": \"https://a.ee\", \"keys\": [{\"file\": \"a\", "
                               "\"active\": \"yes\"}]}"),
                     "/etc/eidhub/broker.json: $.keys[0].active: must be true or false");
    ck_assert(strstr(parse_err("{\"issuer\": \"https://a.ee\",, }"),
                     "/etc/eidhub/broker.json: line 1 column") != NULL);
    ck_assert(strstr(parse_err("{\"issuer\": \"https://a.ee\", \"issuer\": \"https://b.ee\"}"),
                     "duplicate") != NULL);
    ck_assert(strstr(parse_err("[]"), ": $: must be a JSON object") != NULL);
}
END_TEST

START_TEST(issuer_must_be_a_safe_url)
{
    const char *bad[] = {"http://id.example.ee", "https://id.example.ee/?x=1",
                         "https://id.example.ee/#f", "ftp://id.example.ee", "id.example.ee",
                         "https://user@id.example.ee", "https://id.example.ee/a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *text = doc(bad[i], RP_OK);
        ck_assert_msg(strstr(parse_err(text), ": $.issuer: must be an absolute") != NULL, "%s",
                      bad[i]);
        free(text);
    }
    char *text = doc("http://127.0.0.1:8080", RP_OK);
    eh_config_free(parse_ok(text));
    free(text);
}
END_TEST

START_TEST(relying_party_errors)
{
    struct {
        const char *rp;
        const char *want;
    } cases[] = {
        {"{\"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": \"A\", \"policy\": \"basic\"}",
         "$.relying_parties[0].client_id: is required"},
        {"{\"client_id\": \"a b\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"basic\"}",
         "$.relying_parties[0].client_id: must be 1 to 128 printable"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [], \"display_name\": \"A\", \"policy\": "
         "\"p\"}",
         "$.relying_parties[0].redirect_uris: must be a non-empty array"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\", "
         "\"https://a.ee/cb#frag\"], \"display_name\": \"A\", \"policy\": \"basic\"}",
         "$.relying_parties[0].redirect_uris[1]: must be an absolute"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"http://evil.example/cb\"], "
         "\"display_name\": \"A\", \"policy\": \"basic\"}",
         "$.relying_parties[0].redirect_uris[0]: must be an absolute"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"policy\": \"basic\"}",
         "$.relying_parties[0].display_name: is required"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "{\"et\": \"\"}, \"policy\": \"basic\"}",
         "$.relying_parties[0].display_name.et: must be a non-empty string"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\"}",
         "$.relying_parties[0].policy: is required"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"basic\", \"subject_type\": \"random\"}",
         "$.relying_parties[0].subject_type: must be \"public\" or \"pairwise\""},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"basic\", \"client_secret_sha256\": \"abc\"}",
         "$.relying_parties[0].client_secret_sha256: must be 64 lowercase hex"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"basic\", \"secret\": \"x\"}",
         "$.relying_parties[0].secret: unknown member"},
        {RP_OK ", " RP_OK, "$.relying_parties[1].client_id: duplicates $.relying_parties[0]"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"everything\", \"subject_type\": \"public\"}",
         "$.relying_parties[0].policy: unknown policy \"everything\" (known: age-only, basic, "
         "full)"},
        {"{\"client_id\": \"a\", \"redirect_uris\": [\"https://a.ee/cb\"], \"display_name\": "
         "\"A\", \"policy\": \"basic\"}",
         "$.subject_secret_file: is required for pairwise subjects ($.relying_parties[0])"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = doc("https://id.example.ee", cases[i].rp);
        const char *err = parse_err(text);
        ck_assert_msg(strstr(err, cases[i].want) != NULL, "case %zu: got %s", i, err);
        free(text);
    }
}
END_TEST

START_TEST(secret_public_and_locales)
{
    char *text = doc("https://id.example.ee",
                     "{\"client_id\": \"tax\", \"redirect_uris\": [\"https://tax.example/cb\"], "
                     "\"post_logout_redirect_uris\": [\"https://tax.example/bye\"], "
                     "\"display_name\": {\"et\": \"Maksuamet\", \"en\": \"Tax office\"}, "
                     "\"policy\": \"full\", \"subject_type\": \"public\", "
                     "\"client_secret_sha256\": "
                     "\"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\"}");
    eh_config *cfg = parse_ok(text);
    const eh_config_rp *rp = eh_config_rp_find(cfg, "tax");
    ck_assert_int_eq(rp->subject_type, EH_SUBJECT_PUBLIC);
    ck_assert_uint_eq(rp->n_post_logout_redirect_uris, 1);
    ck_assert_str_eq(json_string_value(json_object_get(rp->display_name, "et")), "Maksuamet");
    ck_assert_str_eq(rp->client_secret_sha256,
                     "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
    eh_config_free(cfg);
    free(text);
}
END_TEST

START_TEST(load_reports_missing_file)
{
    char err[512];
    eh_config *cfg = NULL;
    ck_assert_int_eq(eh_config_load("/nonexistent/broker.json", &cfg, err, sizeof(err)),
                     EH_ERR_CONFIG);
    ck_assert_str_eq(err, "/nonexistent/broker.json: cannot open: No such file or directory");
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, valid_configuration);
    tcase_add_test(tc, errors_name_file_path_and_problem);
    tcase_add_test(tc, issuer_must_be_a_safe_url);
    tcase_add_test(tc, relying_party_errors);
    tcase_add_test(tc, secret_public_and_locales);
    tcase_add_test(tc, load_reports_missing_file);
    suite_add_tcase(s, tc);
    return s;
}
