/* Unit tests for broker/saml/saml_xml.c: full text reads, times, ids. */
#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/saml/saml_crypto.h"
#include "broker/saml/saml_xml.h"

static xmlDocPtr parse(const char *xml)
{
    xmlDocPtr doc = NULL;
    char why[128];
    ck_assert_int_eq(eh_saml_init(), EH_OK);
    ck_assert_int_eq(eh_saml_parse(xml, strlen(xml), &doc, why, sizeof(why)), EH_OK);
    return doc;
}

START_TEST(text_is_whole_across_comments)
{
    xmlDocPtr doc = parse("<a xmlns='urn:x'><b> admin<!-- cut -->@evil.example </b></a>");
    xmlNodePtr b = eh_saml_child(xmlDocGetRootElement(doc), "urn:x", "b");
    char *t = eh_saml_text(b);

    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t, "admin@evil.example");
    free(t);
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(text_refuses_element_content)
{
    xmlDocPtr doc = parse("<a xmlns='urn:x'><b>x<c/>y</b></a>");
    xmlNodePtr b = eh_saml_child(xmlDocGetRootElement(doc), "urn:x", "b");

    ck_assert_ptr_null(eh_saml_text(b));
    ck_assert_uint_eq(eh_saml_child_count(xmlDocGetRootElement(doc), "urn:x", "b"), 1);
    ck_assert_ptr_null(eh_saml_child(xmlDocGetRootElement(doc), "urn:y", "b"));
    xmlFreeDoc(doc);
}
END_TEST

START_TEST(times_round_trip_and_refuse_junk)
{
    char buf[EH_SAML_TIME_LEN];
    int64_t t = 0;

    eh_saml_time_format(1795000000, buf);
    ck_assert_int_eq(eh_saml_time_parse(buf, &t), EH_OK);
    ck_assert_int_eq(t, 1795000000);
    ck_assert_int_eq(eh_saml_time_parse("2026-11-23T01:02:03.123Z", &t), EH_OK);
    ck_assert_int_eq(eh_saml_time_parse("2026-11-23T03:02:03+02:00", &t), EH_OK);
    ck_assert_int_eq(t, 1795395723);
    ck_assert_int_eq(eh_saml_time_parse("2026-11-23T01:02:03", &t), EH_ERR_INVALID);
    ck_assert_int_eq(eh_saml_time_parse("2026-13-23T01:02:03Z", &t), EH_ERR_INVALID);
    ck_assert_int_eq(eh_saml_time_parse("2026-11-23T01:02:03Zjunk", &t), EH_ERR_INVALID);
    ck_assert_int_eq(eh_saml_time_parse("tomorrow", &t), EH_ERR_INVALID);
    ck_assert_int_eq(eh_saml_time_parse(NULL, &t), EH_ERR_INVALID);
}
END_TEST

START_TEST(ids_are_fresh_xs_ids)
{
    char a[EH_SAML_ID_LEN], b[EH_SAML_ID_LEN];

    ck_assert_int_eq(eh_saml_new_id(a), EH_OK);
    ck_assert_int_eq(eh_saml_new_id(b), EH_OK);
    ck_assert_int_eq(a[0], '_');
    ck_assert_uint_eq(strlen(a), 33);
    ck_assert_str_ne(a, b);
}
END_TEST

Suite *suite_saml_xml(void)
{
    Suite *s = suite_create("saml_xml");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, text_is_whole_across_comments);
    tcase_add_test(tc, text_refuses_element_content);
    tcase_add_test(tc, times_round_trip_and_refuse_junk);
    tcase_add_test(tc, ids_are_fresh_xs_ids);
    suite_add_tcase(s, tc);
    return s;
}
