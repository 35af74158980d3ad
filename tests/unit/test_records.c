#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/pairwise.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/records.h"
#include "tests/unit/testutil.h"

static char *dir;
static eh_broker *broker;

static void setup(void)
{
    dir = eh_test_tmpdir();
    broker = eh_test_broker(dir, "[]");
}

static void teardown(void)
{
    eh_broker_free(broker);
    eh_test_rmtree(dir);
    free(dir);
}

static eh_identity *released(const char *code, const char *attr, const char *value)
{
    eh_identity *id = NULL;
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_value = strdup(code);
    id->method = strdup("mobile_id");
    id->loa = EH_LOA_HIGH;
    json_object_set_new(id->attributes, attr, json_string(value));
    return id;
}

static eh_txn *txn_for(const char *requester, const char *name)
{
    eh_authn_request *authn = NULL;
    eh_txn *txn = NULL;
    ck_assert_int_eq(eh_authn_request_new(&authn), EH_OK);
    authn->requester = strdup(requester);
    ck_assert_int_eq(eh_txn_new(authn, &txn), EH_OK);
    json_object_set_new(txn->frontend, "display_name", json_string(name));
    return txn;
}

START_TEST(releases_are_listed_newest_first_by_name_only)
{
    eh_identity *a = released("38001085718", "given_name", "JAAN");
    eh_identity *b = released("38001085718", "date_of_birth", "1980-01-08");
    eh_identity *other = released("60001019906", "given_name", "MARY");
    eh_txn *ta = txn_for("city", "City portal"), *tb = txn_for("tax", "Tax office");
    json_t *list = NULL;
    char *text;

    ck_assert_int_eq(eh_records_add(broker, ta, a), EH_OK);
    ck_assert_int_eq(eh_records_add(broker, tb, b), EH_OK);
    ck_assert_int_eq(eh_records_add(broker, ta, other), EH_OK);
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "requester")),
                     "tax");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1),
                                                       "requester_name")),
                     "City portal");
    text = json_dumps(list, 0);
    ck_assert_ptr_null(strstr(text, "1980-01-08"));
    ck_assert_ptr_null(strstr(text, "JAAN"));
    ck_assert_ptr_null(strstr(text, "38001085718"));
    ck_assert_ptr_nonnull(strstr(text, "date_of_birth"));
    free(text);
    json_decref(list);
    /* another citizen sees only their own */
    ck_assert_int_eq(eh_records_list(broker, other, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 1);
    json_decref(list);
    eh_identity_free(a);
    eh_identity_free(b);
    eh_identity_free(other);
    eh_txn_free(ta);
    eh_txn_free(tb);
}
END_TEST

START_TEST(the_list_is_bounded)
{
    eh_identity *a = released("38001085718", "given_name", "JAAN");
    eh_txn *t = txn_for("city", "City portal");
    json_t *list = NULL;
    for (int i = 0; i < EH_RECORDS_MAX + 5; i++)
        ck_assert_int_eq(eh_records_add(broker, t, a), EH_OK);
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), EH_RECORDS_MAX);
    json_decref(list);
    eh_identity_free(a);
    eh_txn_free(t);
}
END_TEST

/* the store key of a citizen's records, as records.c makes it */
static char *records_key(const eh_identity *id)
{
    const eh_config *cfg = eh_broker_config_get(broker);
    char subject[256], *pseudonym = NULL, *key = NULL;
    ck_assert_int_eq(eh_identity_subject(id, subject, sizeof(subject)), EH_OK);
    ck_assert_int_eq(eh_pairwise_subject(cfg->subject_secret, cfg->subject_secret_len, "my-eidhub",
                                         subject, &pseudonym),
                     EH_OK);
    ck_assert_int_ne(asprintf(&key, "rel:%s", pseudonym), -1);
    free(pseudonym);
    return key;
}

START_TEST(entries_past_retention_are_dropped)
{
    const eh_config *cfg = eh_broker_config_get(broker);
    eh_identity *a = released("38001085718", "given_name", "JAAN");
    eh_txn *t = txn_for("city", "City portal");
    char *key = records_key(a), old[512], *text = NULL;
    size_t len = 0;
    json_t *list = NULL;
    long now = (long)time(NULL), too_old = now - (long)cfg->retention_days * 86400 - 5;

    snprintf(old, sizeof(old),
             "{\"time\":%ld,\"requester\":\"recent\",\"attributes\":[]}\n"
             "{\"time\":%ld,\"requester\":\"expired\",\"attributes\":[]}\n"
             "{\"time\":%ld,\"requester\":\"older\",\"attributes\":[]}\n",
             now - 60, too_old, too_old - 60);
    ck_assert_int_eq(eh_store_set(eh_broker_store_get(broker), key, old, strlen(old), 60000),
                     EH_OK);
    /* shown: only what is within retention */
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 1);
    json_decref(list);
    ck_assert_int_eq(eh_records_add(broker, t, a), EH_OK);
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "requester")),
                     "recent");
    json_decref(list);
    /* stored: the expired lines were cut from the end */
    ck_assert_int_eq(eh_store_get(eh_broker_store_get(broker), key, &text, &len), EH_OK);
    ck_assert_ptr_null(strstr(text, "expired"));
    ck_assert_ptr_null(strstr(text, "older"));
    ck_assert_ptr_nonnull(strstr(text, "recent"));
    free(text);
    free(key);
    eh_identity_free(a);
    eh_txn_free(t);
}
END_TEST

START_TEST(a_damaged_line_is_skipped_and_cut_away)
{
    eh_identity *a = released("38001085718", "given_name", "JAAN");
    eh_txn *t = txn_for("city", "City portal");
    char *key = records_key(a), *text = NULL, old[512];
    size_t len = 0;
    json_t *list = NULL;

    snprintf(old, sizeof(old),
             "{\"time\":%ld,\"requester\":\"tax\",\"attributes\":[]}\n{\"time\":1,\n",
             (long)time(NULL) - 5);
    ck_assert_int_eq(eh_store_set(eh_broker_store_get(broker), key, old, strlen(old), 60000),
                     EH_OK);
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 1);
    json_decref(list);
    ck_assert_int_eq(eh_records_add(broker, t, a), EH_OK);
    ck_assert_int_eq(eh_records_list(broker, a, &list), EH_OK);
    ck_assert_uint_eq(json_array_size(list), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "requester")),
                     "city");
    json_decref(list);
    ck_assert_int_eq(eh_store_get(eh_broker_store_get(broker), key, &text, &len), EH_OK);
    ck_assert_ptr_null(strstr(text, "\"time\":1,"));
    free(text);
    free(key);
    eh_identity_free(a);
    eh_txn_free(t);
}
END_TEST

Suite *suite_records(void)
{
    Suite *s = suite_create("records");
    TCase *tc = tcase_create("records");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, releases_are_listed_newest_first_by_name_only);
    tcase_add_test(tc, the_list_is_bounded);
    tcase_add_test(tc, entries_past_retention_are_dropped);
    tcase_add_test(tc, a_damaged_line_is_skipped_and_cut_away);
    suite_add_tcase(s, tc);
    return s;
}
