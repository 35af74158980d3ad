/* Unit tests for broker/saml/saml_logout.c (suite saml_logout): the SAML
 * Single Logout messages (SOAP binding) exchanged between eIDAS nodes.
 * Round trips with ECDSA P-256 and RSA-3072 PSS, and the refusals: no
 * signature, a key not in the peer's metadata, a wrong Destination, stale
 * or future messages, a DOCTYPE, an unknown issuer, tampering after
 * signing, a second element in the SOAP Body, a bare message without its
 * envelope, a wrong InResponseTo. */
#include "tests/unit/suites.h"
#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "broker/saml/saml_logout.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"
#include "metadata/saml_metadata.h"

#define FX EH_TEST_FIXTURES "/saml/"

#define CONNECTOR "https://connector.example.lv/saml/connector/metadata"
#define CONNECTOR_SLO "https://connector.example.lv/saml/connector/slo"
#define PROXY "https://proxy.example.ee/saml/proxy/metadata"
#define PROXY_SLO "https://proxy.example.ee/saml/proxy/slo"
#define NOW ((int64_t)1700000000)
#define SKEW 60
#define MAX_AGE 300
#define NAME_ID "EE/LV/60001019906"

/* A trust store of one peer: the Connector, whose metadata lists its EC
 * and RSA keys; counts borrowings. */
static eh_saml_keys *ec_priv, *rsa_priv, *attacker_priv, *peer_pub;
static int taken, released;

static eh_rc tt_keys_of(void *ctx, const char *issuer, const eh_saml_keys **k, void **handle)
{
    (void)ctx;
    if (strcmp(issuer, CONNECTOR) != 0)
        return EH_ERR_NOT_FOUND;
    *k = peer_pub;
    *handle = &peer_pub;
    taken++;
    return EH_OK;
}

static void tt_release(void *ctx, void *handle)
{
    (void)ctx;
    ck_assert_ptr_nonnull(handle);
    released++;
}

static eh_saml_trust TRUST = {tt_keys_of, tt_release, NULL};

static void setup(void)
{
    taken = released = 0;
    ec_priv = eh_test_saml_keys("ec256.pem");
    rsa_priv = eh_test_saml_keys("rsa3072.pem");
    attacker_priv = eh_test_saml_keys("attacker.pem");
    peer_pub = eh_test_saml_keys("ec256.pub.pem");
    eh_test_saml_keys_add(peer_pub, "rsa3072.pub.pem");
}

static void teardown(void)
{
    eh_saml_keys_free(ec_priv);
    eh_saml_keys_free(rsa_priv);
    eh_saml_keys_free(attacker_priv);
    eh_saml_keys_free(peer_pub);
}

/* ------------------------------------------------------------- requests */

static eh_saml_logout_request base_request(void)
{
    eh_saml_logout_request r = {0};
    r.id = "_0123456789abcdef0123456789abcdef";
    r.issuer = CONNECTOR;
    r.destination = PROXY_SLO;
    r.issue_instant = NOW;
    r.name_id = NAME_ID;
    r.name_id_format = EH_SAML_NAMEID_PERSISTENT;
    r.session_index = NULL;
    return r;
}

static char *build_request(const eh_saml_logout_request *r, const eh_saml_keys *k,
                           eh_saml_sig_alg alg, size_t *len)
{
    char why[200] = "", *xml = NULL;
    eh_rc rc = eh_saml_logout_request_build(r, k, alg, &xml, len, why, sizeof(why));
    ck_assert_msg(rc == EH_OK, "build: %s", why);
    return xml;
}

static eh_saml_logout_expect expect_at(int64_t now)
{
    eh_saml_logout_expect x = {PROXY_SLO, now, SKEW, MAX_AGE};
    return x;
}

/* refused_request parses xml and expects a refusal whose reason has want. */
static void refused_request(const char *xml, size_t len, const eh_saml_logout_expect *x,
                            const char *want)
{
    char why[200] = "";
    eh_saml_logout_request *out = (eh_saml_logout_request *)1;
    eh_rc rc = eh_saml_logout_request_parse(xml, len, &TRUST, x, &out, why, sizeof(why));
    ck_assert_msg(rc == EH_ERR_INVALID, "expected a refusal (%s), got %d", want, rc);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(why, want) != NULL, "reason \"%s\" lacks \"%s\"", why, want);
    ck_assert_int_eq(taken, released);
}

/* edit parses our own text, lets fn change it and returns the new text. */
static char *edit(const char *xml, size_t len, void (*fn)(xmlDocPtr), size_t *out_len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    char *text = NULL;
    ck_assert_ptr_nonnull(doc);
    fn(doc);
    ck_assert_int_eq(eh_saml_doc_text(doc, &text, out_len), EH_OK);
    xmlFreeDoc(doc);
    return text;
}

static xmlNodePtr message_of(xmlDocPtr doc)
{
    return eh_saml_first_el(eh_saml_first_el(xmlDocGetRootElement(doc)));
}

static void drop_signature(xmlDocPtr doc)
{
    xmlNodePtr sig = eh_saml_find_signature(message_of(doc));
    ck_assert_ptr_nonnull(sig);
    xmlUnlinkNode(sig);
    xmlFreeNode(sig);
}

static void change_name_id(xmlDocPtr doc)
{
    xmlNodePtr n = eh_saml_child(message_of(doc), EH_NS_SAML, "NameID");
    ck_assert_ptr_nonnull(n);
    xmlNodeSetContent(n, BAD_CAST "EE/LV/39001010000");
}

static void second_in_body(xmlDocPtr doc)
{
    xmlNodePtr m = message_of(doc);
    xmlNodePtr copy = xmlDocCopyNode(m, doc, 1);
    ck_assert_ptr_nonnull(copy);
    xmlNodeSetContent(eh_saml_child(copy, EH_NS_SAML, "NameID"), BAD_CAST "someone else");
    xmlUnsetProp(copy, BAD_CAST "ID");
    xmlAddPrevSibling(m, copy);
}

static void bare_message(xmlDocPtr doc)
{
    xmlNodePtr m = message_of(doc);
    xmlUnlinkNode(m);
    xmlNodePtr old = xmlDocSetRootElement(doc, m);
    xmlFreeNode(old);
}

START_TEST(request_round_trip_ec_and_pss)
{
    eh_saml_sig_alg algs[] = {EH_SAML_SIG_ECDSA_SHA256, EH_SAML_SIG_RSA_PSS_SHA512};
    const eh_saml_keys *signers[] = {ec_priv, rsa_priv};
    for (int i = 0; i < 2; i++) {
        eh_saml_logout_request r = base_request();
        r.session_index = i == 1 ? "_session-1" : NULL;
        size_t len = 0;
        char *xml = build_request(&r, signers[i], algs[i], &len), why[200] = "";
        eh_saml_logout_expect x = expect_at(NOW + 10);
        eh_saml_logout_request *out = NULL;
        ck_assert_ptr_nonnull(strstr(xml, "<soap:Envelope"));
        ck_assert_ptr_nonnull(strstr(xml, "<soap:Body><samlp:LogoutRequest"));
        eh_rc rc = eh_saml_logout_request_parse(xml, len, &TRUST, &x, &out, why, sizeof(why));
        ck_assert_msg(rc == EH_OK, "parse: %s", why);
        ck_assert_str_eq(out->id, r.id);
        ck_assert_str_eq(out->issuer, CONNECTOR);
        ck_assert_str_eq(out->destination, PROXY_SLO);
        ck_assert_str_eq(out->name_id, NAME_ID);
        ck_assert_str_eq(out->name_id_format, EH_SAML_NAMEID_PERSISTENT);
        ck_assert(out->issue_instant == NOW);
        if (i == 1)
            ck_assert_str_eq(out->session_index, "_session-1");
        else
            ck_assert_ptr_null(out->session_index);
        ck_assert_int_eq(taken, released);
        eh_saml_logout_request_free(out);
        free(xml);
    }
}
END_TEST

START_TEST(request_unsigned_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0, len2 = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    char *bare = edit(xml, len, drop_signature, &len2);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(bare, len2, &x, "not signed");
    free(xml);
    free(bare);
}
END_TEST

START_TEST(request_wrong_key_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0;
    char *xml = build_request(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(xml, len, &x, "signature");
    free(xml);
}
END_TEST

START_TEST(request_wrong_destination_refused)
{
    eh_saml_logout_request r = base_request();
    r.destination = CONNECTOR_SLO;
    size_t len = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(xml, len, &x, "Destination does not match");
    free(xml);
}
END_TEST

START_TEST(request_stale_or_future_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    eh_saml_logout_expect late = expect_at(NOW + MAX_AGE + SKEW + 1);
    refused_request(xml, len, &late, "too old");
    eh_saml_logout_expect early = expect_at(NOW - SKEW - 1);
    refused_request(xml, len, &early, "future");
    /* within the skew either way: accepted */
    eh_saml_logout_expect ok = expect_at(NOW - SKEW);
    eh_saml_logout_request *out = NULL;
    char why[200] = "";
    ck_assert_int_eq(eh_saml_logout_request_parse(xml, len, &TRUST, &ok, &out, why, sizeof(why)),
                     EH_OK);
    eh_saml_logout_request_free(out);
    free(xml);
}
END_TEST

START_TEST(request_doctype_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    const char *decl_end = strstr(xml, "?>");
    ck_assert_ptr_nonnull(decl_end);
    char *evil = NULL;
    int n = asprintf(&evil, "%.*s<!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>%s",
                     (int)(decl_end + 2 - xml), xml, decl_end + 2);
    ck_assert_int_gt(n, 0);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(evil, (size_t)n, &x, "DOCTYPE");
    free(evil);
    free(xml);
}
END_TEST

START_TEST(request_unknown_issuer_refused)
{
    eh_saml_logout_request r = base_request();
    r.issuer = "https://stranger.example/metadata";
    size_t len = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(xml, len, &x, "unknown Issuer");
    ck_assert_int_eq(taken, 0);
    free(xml);
}
END_TEST

START_TEST(request_tampered_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0, len2 = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    char *changed = edit(xml, len, change_name_id, &len2);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(changed, len2, &x, "signature");
    free(changed);
    free(xml);
}
END_TEST

START_TEST(request_wrapping_and_bare_refused)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0, len2 = 0, len3 = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    char *two = edit(xml, len, second_in_body, &len2);
    char *bare = edit(xml, len, bare_message, &len3);
    eh_saml_logout_expect x = expect_at(NOW);
    refused_request(two, len2, &x, "exactly one element");
    refused_request(bare, len3, &x, "not a SOAP");
    free(two);
    free(bare);
    free(xml);
}
END_TEST

START_TEST(request_needs_name_id)
{
    eh_saml_logout_request r = base_request();
    char *xml = NULL, why[200] = "";
    size_t len = 0;
    r.name_id = NULL;
    ck_assert_int_eq(eh_saml_logout_request_build(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &xml, &len,
                                                  why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(xml);
}
END_TEST

START_TEST(request_bad_arguments)
{
    eh_saml_logout_request r = base_request();
    size_t len = 0;
    char *xml = build_request(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len), why[200] = "";
    eh_saml_logout_request *out = NULL;
    eh_saml_logout_expect x = expect_at(NOW);
    eh_saml_trust failing = TRUST;
    failing.keys_of = NULL;
    ck_assert_int_eq(eh_saml_logout_request_parse(xml, len, &failing, &x, &out, why, sizeof(why)),
                     EH_ERR_INVALID);
    free(xml);
}
END_TEST

/* ------------------------------------------------------------ responses */

static eh_saml_logout_response base_response(void)
{
    eh_saml_logout_response r = {0};
    r.id = "_fedcba9876543210fedcba9876543210";
    r.issuer = CONNECTOR; /* the Connector answers the Proxy-Service here */
    r.destination = PROXY_SLO;
    r.in_response_to = "_0123456789abcdef0123456789abcdef";
    r.issue_instant = NOW;
    r.status = EH_SAML_STATUS_SUCCESS;
    return r;
}

static char *build_response(const eh_saml_logout_response *r, const eh_saml_keys *k,
                            eh_saml_sig_alg alg, size_t *len)
{
    char why[200] = "", *xml = NULL;
    eh_rc rc = eh_saml_logout_response_build(r, k, alg, &xml, len, why, sizeof(why));
    ck_assert_msg(rc == EH_OK, "build: %s", why);
    return xml;
}

static eh_saml_logout_response_expect rexpect(void)
{
    eh_saml_logout_response_expect x = {
        CONNECTOR, NULL, "_0123456789abcdef0123456789abcdef", PROXY_SLO, NOW, SKEW, MAX_AGE};
    x.trusted = peer_pub;
    return x;
}

static void refused_response(const char *xml, size_t len, const eh_saml_logout_response_expect *x,
                             const char *want)
{
    char why[200] = "";
    eh_saml_logout_response *out = (eh_saml_logout_response *)1;
    eh_rc rc = eh_saml_logout_response_parse(xml, len, x, &out, why, sizeof(why));
    ck_assert_msg(rc == EH_ERR_INVALID, "expected a refusal (%s), got %d", want, rc);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(why, want) != NULL, "reason \"%s\" lacks \"%s\"", why, want);
}

START_TEST(response_round_trip)
{
    eh_saml_logout_response r = base_response();
    size_t len = 0;
    char *xml = build_response(&r, rsa_priv, EH_SAML_SIG_RSA_PSS_SHA256, &len), why[200] = "";
    eh_saml_logout_response_expect x = rexpect();
    eh_saml_logout_response *out = NULL;
    ck_assert_int_eq(eh_saml_logout_response_parse(xml, len, &x, &out, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(out->status, EH_SAML_STATUS_SUCCESS);
    ck_assert_ptr_null(out->sub_status);
    ck_assert_str_eq(out->in_response_to, r.in_response_to);
    eh_saml_logout_response_free(out);
    free(xml);

    /* a failure status with a second-level code and no Destination */
    r.destination = NULL;
    r.status = EH_SAML_STATUS_RESPONDER;
    r.sub_status = EH_SAML_STATUS_REQUEST_DENIED;
    r.status_message = "no such session";
    xml = build_response(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    ck_assert_int_eq(eh_saml_logout_response_parse(xml, len, &x, &out, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(out->status, EH_SAML_STATUS_RESPONDER);
    ck_assert_str_eq(out->sub_status, EH_SAML_STATUS_REQUEST_DENIED);
    ck_assert_str_eq(out->status_message, "no such session");
    ck_assert_ptr_null(out->destination);
    eh_saml_logout_response_free(out);
    free(xml);
}
END_TEST

START_TEST(response_refusals)
{
    eh_saml_logout_response r = base_response();
    size_t len = 0, len2 = 0;
    char *xml = build_response(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    eh_saml_logout_response_expect x = rexpect();

    x.in_response_to = "_another";
    refused_response(xml, len, &x, "InResponseTo does not match");
    x = rexpect();
    x.issuer = PROXY;
    refused_response(xml, len, &x, "Issuer is not the expected one");
    x = rexpect();
    x.destination = CONNECTOR_SLO;
    refused_response(xml, len, &x, "Destination does not match");
    x = rexpect();
    x.now = NOW + MAX_AGE + SKEW + 1;
    refused_response(xml, len, &x, "too old");
    x = rexpect();
    char *bare = edit(xml, len, drop_signature, &len2);
    refused_response(bare, len2, &x, "not signed");
    free(bare);
    free(xml);

    xml = build_response(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256, &len);
    refused_response(xml, len, &x, "signature");
    free(xml);
}
END_TEST

/* ------------------------------------------------------------- metadata */

/* metadata_slo builds our metadata of role with slo (may be NULL), parses
 * it back and returns the slo endpoint it exposes (caller frees; NULL). */
static char *metadata_slo(eh_saml_role role, const char *slo)
{
    size_t n = 0, len = 0;
    char *sign_cert = eh_test_saml_fixture("ec256.crt", &n), *enc_cert = eh_test_saml_fixture("rsa3072.crt", &n);
    char *xml = NULL, why[200] = "", *out = NULL;
    eh_saml_metadata *m = NULL;
    eh_saml_metadata_spec spec = {0};
    spec.role = role;
    spec.entity_id = role == EH_SAML_ROLE_CONNECTOR ? CONNECTOR : PROXY;
    spec.endpoint = "https://node.example/endpoint";
    spec.node_country = "LV";
    spec.signing_cert_pem = sign_cert;
    spec.encryption_cert_pem = enc_cert;
    spec.now = NOW;
    spec.valid_s = 3600;
    spec.slo_endpoint = slo;
    ck_assert_msg(eh_saml_metadata_build(&spec, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why,
                                         sizeof(why)) == EH_OK,
                  "build: %s", why);
    if (slo != NULL && strncmp(slo, "http", 4) == 0)
        ck_assert_ptr_nonnull(
            strstr(xml, "<md:SingleLogoutService Binding=\"" EH_SAML_BINDING_SOAP "\""));
    ck_assert_msg(
        eh_saml_metadata_parse(xml, len, peer_pub, role, NULL, NOW, &m, why, sizeof(why)) == EH_OK,
        "parse: %s", why);
    if (m->slo_endpoint != NULL)
        out = strdup(m->slo_endpoint);
    eh_saml_metadata_free(m);
    free(xml);
    free(sign_cert);
    free(enc_cert);
    return out;
}

START_TEST(metadata_publishes_and_reads_slo)
{
    char *slo = metadata_slo(EH_SAML_ROLE_CONNECTOR, CONNECTOR_SLO);
    ck_assert_str_eq(slo, CONNECTOR_SLO);
    free(slo);
    slo = metadata_slo(EH_SAML_ROLE_PROXY, PROXY_SLO);
    ck_assert_str_eq(slo, PROXY_SLO);
    free(slo);
    /* none published: none read (the peer takes no logout) */
    ck_assert_ptr_null(metadata_slo(EH_SAML_ROLE_PROXY, NULL));
    /* not an absolute http(s) URL: ignored, the metadata still counts */
    ck_assert_ptr_null(metadata_slo(EH_SAML_ROLE_CONNECTOR, "javascript:alert(1)"));
}
END_TEST

Suite *suite_saml_logout(void)
{
    Suite *s = suite_create("saml_logout");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, request_round_trip_ec_and_pss);
    tcase_add_test(tc, request_unsigned_refused);
    tcase_add_test(tc, request_wrong_key_refused);
    tcase_add_test(tc, request_wrong_destination_refused);
    tcase_add_test(tc, request_stale_or_future_refused);
    tcase_add_test(tc, request_doctype_refused);
    tcase_add_test(tc, request_unknown_issuer_refused);
    tcase_add_test(tc, request_tampered_refused);
    tcase_add_test(tc, request_wrapping_and_bare_refused);
    tcase_add_test(tc, request_needs_name_id);
    tcase_add_test(tc, request_bad_arguments);
    tcase_add_test(tc, response_round_trip);
    tcase_add_test(tc, response_refusals);
    tcase_add_test(tc, metadata_publishes_and_reads_slo);
    suite_add_tcase(s, tc);
    return s;
}
