#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/authn.h"

START_TEST(loa_parse_names_and_uris)
{
    int nn = -1;
    ck_assert_int_eq(eh_loa_parse("low", &nn), EH_LOA_LOW);
    ck_assert_int_eq(nn, 0);
    ck_assert_int_eq(eh_loa_parse("http://eidas.europa.eu/LoA/substantial", NULL),
                     EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(eh_loa_parse("http://eidas.europa.eu/NonNotified/LoA/high", &nn), EH_LOA_HIGH);
    ck_assert_int_eq(nn, 1);
    ck_assert_int_eq(eh_loa_parse("HIGH", NULL), EH_LOA_NONE);
    ck_assert_int_eq(eh_loa_parse("http://eidas.europa.eu/LoA/highest", NULL), EH_LOA_NONE);
    ck_assert_int_eq(eh_loa_parse("", NULL), EH_LOA_NONE);
    ck_assert_int_eq(eh_loa_parse(NULL, NULL), EH_LOA_NONE);
    ck_assert_str_eq(eh_loa_uri(EH_LOA_HIGH), "http://eidas.europa.eu/LoA/high");
    ck_assert_ptr_null(eh_loa_uri(EH_LOA_NONE));
    ck_assert_str_eq(eh_loa_name(EH_LOA_SUBSTANTIAL), "substantial");
}
END_TEST

START_TEST(loa_comparison)
{
    ck_assert(eh_loa_satisfies(EH_LOA_HIGH, EH_LOA_SUBSTANTIAL, EH_LOA_MINIMUM));
    ck_assert(!eh_loa_satisfies(EH_LOA_LOW, EH_LOA_SUBSTANTIAL, EH_LOA_MINIMUM));
    ck_assert(!eh_loa_satisfies(EH_LOA_HIGH, EH_LOA_SUBSTANTIAL, EH_LOA_EXACT));
    ck_assert(eh_loa_satisfies(EH_LOA_SUBSTANTIAL, EH_LOA_SUBSTANTIAL, EH_LOA_EXACT));
    ck_assert(!eh_loa_satisfies(EH_LOA_NONE, EH_LOA_NONE, EH_LOA_MINIMUM));
}
END_TEST

START_TEST(request_round_trip)
{
    eh_authn_request *req = NULL, *back = NULL;
    json_t *json = NULL;
    ck_assert_int_eq(eh_authn_request_new(&req), EH_OK);
    req->requester = strdup("portal");
    req->protocol = strdup("oidc");
    req->min_loa = EH_LOA_SUBSTANTIAL;
    req->comparison = EH_LOA_EXACT;
    req->country_hint = strdup("EE");
    req->force_authn = 1;
    json_array_append_new(req->requested, json_string("given_name"));
    ck_assert_int_eq(eh_authn_request_to_json(req, &json), EH_OK);
    ck_assert_int_eq(eh_authn_request_from_json(json, &back), EH_OK);
    ck_assert_str_eq(back->requester, "portal");
    ck_assert_str_eq(back->country_hint, "EE");
    ck_assert_ptr_null(back->method_hint);
    ck_assert_int_eq(back->min_loa, EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(back->comparison, EH_LOA_EXACT);
    ck_assert_int_eq(back->force_authn, 1);
    ck_assert(json_equal(back->requested, req->requested));
    json_decref(json);
    eh_authn_request_free(req);
    eh_authn_request_free(back);
}
END_TEST

/* Members at their defaults are left out of the JSON (the transaction is
 * the store's cost per waiting citizen) and come back as the defaults. */
START_TEST(request_round_trip_defaults)
{
    eh_authn_request *req = NULL, *back = NULL;
    json_t *json = NULL;
    ck_assert_int_eq(eh_authn_request_new(&req), EH_OK);
    req->requester = strdup("portal");
    ck_assert_int_eq(eh_authn_request_to_json(req, &json), EH_OK);
    ck_assert_ptr_null(json_object_get(json, "min_loa"));
    ck_assert_ptr_null(json_object_get(json, "comparison"));
    ck_assert_ptr_null(json_object_get(json, "force_authn"));
    ck_assert_int_eq(eh_authn_request_from_json(json, &back), EH_OK);
    ck_assert_int_eq(back->min_loa, EH_LOA_NONE);
    ck_assert_int_eq(back->comparison, EH_LOA_MINIMUM);
    ck_assert_int_eq(back->force_authn, 0);
    json_decref(json);
    eh_authn_request_free(back);
    /* and a non-default one is written */
    req->min_loa = EH_LOA_LOW;
    ck_assert_int_eq(eh_authn_request_to_json(req, &json), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(json, "min_loa")), "low");
    json_decref(json);
    eh_authn_request_free(req);
}
END_TEST

static void refuse_request(const char *text)
{
    eh_authn_request *req = NULL;
    json_t *json = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_msg(eh_authn_request_from_json(json, &req) == EH_ERR_INVALID, "%s", text);
    ck_assert_ptr_null(req);
    json_decref(json);
}

START_TEST(request_from_json_refuses_bad_members)
{
    refuse_request("{\"requester\": 5}");
    refuse_request("{\"unknown\": \"x\"}");
    refuse_request("{\"requested\": [\"a\", 1]}");
    refuse_request("{\"requested\": \"a\"}");
    refuse_request("{\"min_loa\": \"extreme\"}");
    refuse_request("{\"comparison\": \"maximum\"}");
    refuse_request("{\"force_authn\": 1}");
    refuse_request("[]");
}
END_TEST

START_TEST(identity_round_trip_and_subject)
{
    eh_identity *id = NULL, *back = NULL;
    json_t *json = NULL;
    char sub[64];
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    ck_assert_int_eq(eh_identity_subject(id, sub, sizeof(sub)), EH_ERR_INVALID);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->loa = EH_LOA_HIGH;
    id->method = strdup("mobile_id");
    id->auth_time = 1700000000;
    json_object_set_new(id->attributes, "given_name", json_string("MARY ÄNN"));
    ck_assert_int_eq(eh_identity_subject(id, sub, sizeof(sub)), EH_OK);
    ck_assert_str_eq(sub, "EE38001085718");
    ck_assert_int_eq(eh_identity_subject(id, sub, 5), EH_ERR_TOO_LARGE);
    ck_assert_int_eq(eh_identity_to_json(id, &json), EH_OK);
    ck_assert_int_eq(eh_identity_from_json(json, &back), EH_OK);
    ck_assert_str_eq(back->id_value, "38001085718");
    ck_assert_int_eq(back->loa, EH_LOA_HIGH);
    ck_assert_int_eq(back->auth_time, 1700000000);
    ck_assert_str_eq(json_string_value(json_object_get(back->attributes, "given_name")),
                     "MARY ÄNN");
    json_decref(json);
    eh_identity_free(id);
    eh_identity_free(back);
}
END_TEST

START_TEST(identity_from_json_refuses_bad_members)
{
    const char *bad[] = {"{\"loa\": 3}", "{\"auth_time\": \"x\"}", "{\"attributes\": []}",
                         "{\"id_value\": null, \"extra\": 1}", "{\"country\": true}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        eh_identity *id = NULL;
        json_t *json = json_loads(bad[i], 0, NULL);
        ck_assert_int_eq(eh_identity_from_json(json, &id), EH_ERR_INVALID);
        json_decref(json);
    }
}
END_TEST

Suite *suite_authn(void)
{
    Suite *s = suite_create("authn");
    TCase *tc = tcase_create("types");
    tcase_add_test(tc, loa_parse_names_and_uris);
    tcase_add_test(tc, loa_comparison);
    tcase_add_test(tc, request_round_trip);
    tcase_add_test(tc, request_round_trip_defaults);
    tcase_add_test(tc, request_from_json_refuses_bad_members);
    tcase_add_test(tc, identity_round_trip_and_subject);
    tcase_add_test(tc, identity_from_json_refuses_bad_members);
    suite_add_tcase(s, tc);
    return s;
}
