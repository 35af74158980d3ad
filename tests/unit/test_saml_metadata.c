/* Unit tests for metadata/saml_metadata.c (building and checking eIDAS node
 * metadata) and metadata/saml_peers.c (the trusted peers, their refresh
 * and the background refresher), with the fixture keys and certificates of
 * tests/fixtures/saml/. Peers are read from files only. */
#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attributes/registry.h"
#include "broker/saml/saml_crypto.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"
#include "metadata/saml_metadata.h"
#include "metadata/saml_peers.h"
#include "tests/unit/testutil.h"

#define FX EH_TEST_FIXTURES "/saml/"
#define CONNECTOR_ID "https://connector.example.eu/saml/connector/metadata"
#define CONNECTOR_ACS "https://connector.example.eu/auth/eidas/acs"
#define PROXY_ID "https://proxy.example.eu/saml/proxy/metadata"
#define PROXY_SSO "https://proxy.example.eu/saml/proxy/sso"
#define DAY 86400

/* A spec filled from the fixtures (the PEM texts are freed by spec_clear). */
static eh_saml_metadata_spec spec(eh_saml_role role, int64_t now, unsigned valid_s)
{
    eh_saml_metadata_spec s = {0};
    s.role = role;
    s.entity_id = role == EH_SAML_ROLE_CONNECTOR ? CONNECTOR_ID : PROXY_ID;
    s.endpoint = role == EH_SAML_ROLE_CONNECTOR ? CONNECTOR_ACS : PROXY_SSO;
    s.node_country = "EE";
    s.sp_type = role == EH_SAML_ROLE_CONNECTOR ? EH_SAML_SPTYPE_PUBLIC : NULL;
    s.signing_cert_pem = eh_test_saml_fixture("ec256.crt", NULL);
    s.encryption_cert_pem = eh_test_saml_fixture("rsa3072.crt", NULL);
    s.now = now;
    s.valid_s = valid_s;
    s.org_name = "City of Tartu";
    return s;
}

static void spec_clear(eh_saml_metadata_spec *s)
{
    free((char *)s->signing_cert_pem);
    free((char *)s->encryption_cert_pem);
}

/* build writes the metadata of s signed with the key file signer (alg). */
static char *build_with(const eh_saml_metadata_spec *s, const char *signer, eh_saml_sig_alg alg)
{
    char why[200] = "", *xml = NULL;
    size_t len = 0;
    eh_saml_keys *k = eh_test_saml_keys(signer);
    ck_assert_msg(eh_saml_metadata_build(s, k, alg, &xml, &len, why, sizeof(why)) == EH_OK, "%s",
                  why);
    ck_assert_uint_eq(strlen(xml), len);
    eh_saml_keys_free(k);
    return xml;
}

/* build_role builds a fixture spec of role (valid a day from now), signed
 * with ec256. */
static char *build_role(eh_saml_role role, int64_t now)
{
    eh_saml_metadata_spec s = spec(role, now, DAY);
    char *xml = build_with(&s, "ec256.pem", EH_SAML_SIG_ECDSA_SHA256);
    spec_clear(&s);
    return xml;
}

/* check parses xml against anchor_file and returns the rc (why filled). */
static eh_rc check(const char *xml, const char *anchor_file, eh_saml_role role, const char *expect,
                   int64_t now, eh_saml_metadata **out, char *why, size_t whylen)
{
    eh_saml_keys *a = eh_test_saml_keys(anchor_file);
    eh_saml_metadata *m = NULL;
    eh_rc rc = eh_saml_metadata_parse(xml, strlen(xml), a, role, expect, now, &m, why, whylen);
    eh_saml_keys_free(a);
    if (out != NULL)
        *out = m;
    else
        eh_saml_metadata_free(m);
    return rc;
}

static xmlDocPtr parse_ours(const char *xml)
{
    xmlDocPtr d = NULL;
    char why[200] = "";
    ck_assert_msg(eh_saml_parse(xml, strlen(xml), &d, why, sizeof(why)) == EH_OK, "%s", why);
    return d;
}

/* resign parses our own metadata, lets edit change the EntityDescriptor
 * (its ds:Signature already removed) and signs it again with ec256: a
 * document that is properly signed yet wrong in what edit did. */
static char *resign(const char *xml, void (*edit)(xmlNodePtr root, void *arg), void *arg)
{
    xmlDocPtr d = parse_ours(xml);
    xmlNodePtr root = xmlDocGetRootElement(d), sig = eh_saml_find_signature(root);
    eh_saml_keys *k = eh_test_saml_keys("ec256.pem");
    char why[200] = "", *out = NULL;
    size_t len;

    ck_assert_ptr_nonnull(sig);
    xmlUnlinkNode(sig);
    xmlFreeNode(sig);
    if (edit != NULL)
        edit(root, arg);
    ck_assert_msg(eh_saml_sign(d, root, NULL, EH_SAML_SIG_ECDSA_SHA256, k, why, sizeof(why)) ==
                      EH_OK,
                  "%s", why);
    ck_assert_int_eq(eh_saml_doc_text(d, &out, &len), EH_OK);
    eh_saml_keys_free(k);
    xmlFreeDoc(d);
    return out;
}

/* role_of returns the first SSO descriptor of root. */
static xmlNodePtr role_of(xmlNodePtr root)
{
    xmlNodePtr r = eh_saml_child(root, EH_NS_MD, "SPSSODescriptor");
    return r ? r : eh_saml_child(root, EH_NS_MD, "IDPSSODescriptor");
}

static void remove_children(xmlNodePtr parent, const char *ns, const char *name)
{
    xmlNodePtr c;
    while ((c = eh_saml_child(parent, ns, name)) != NULL) {
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
}

/* -------------------------------------------------------------- build */

START_TEST(connector_round_trip)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now), why[200] = "";
    eh_saml_metadata *m = NULL;

    ck_assert_msg(check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, CONNECTOR_ID, now, &m, why,
                        sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_int_eq(m->role, EH_SAML_ROLE_CONNECTOR);
    ck_assert_str_eq(m->entity_id, CONNECTOR_ID);
    ck_assert_str_eq(m->endpoint, CONNECTOR_ACS);
    ck_assert_str_eq(m->node_country, "EE");
    ck_assert_str_eq(m->sp_type, "public");
    ck_assert_int_eq(m->valid_until, now + DAY);
    ck_assert_uint_eq(eh_saml_keys_count(m->signing), 1);
    ck_assert_uint_eq(eh_saml_keys_count(m->encryption), 1);
    eh_saml_metadata_free(m);

    /* the certificate as anchor works as well as the bare public key */
    ck_assert_int_eq(
        check(xml, "ec256.crt", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)), EH_OK);

    /* the shape: Signature first, then Extensions, the descriptor, Organization */
    xmlDocPtr d = parse_ours(xml);
    xmlNodePtr root = xmlDocGetRootElement(d), c = eh_saml_first_el(root), ext, sp, acs;
    ck_assert(eh_saml_is(root, EH_NS_MD, "EntityDescriptor"));
    ck_assert(eh_saml_is(c, EH_NS_DS, "Signature"));
    ext = eh_saml_next_el(c);
    ck_assert(eh_saml_is(ext, EH_NS_MD, "Extensions"));
    sp = eh_saml_next_el(ext);
    ck_assert(eh_saml_is(sp, EH_NS_MD, "SPSSODescriptor"));
    ck_assert(eh_saml_is(eh_saml_next_el(sp), EH_NS_MD, "Organization"));
    ck_assert_uint_eq(eh_saml_child_count(ext, EH_NS_ALG, "DigestMethod"), 3);
    ck_assert_uint_eq(eh_saml_child_count(ext, EH_NS_ALG, "SigningMethod"), 6);
    ck_assert_uint_eq(eh_saml_child_count(ext, EH_NS_EIDAS, "NodeCountry"), 1);
    ck_assert_uint_eq(eh_saml_child_count(ext, EH_NS_EIDAS, "SPType"), 1);
    char *v = eh_saml_prop(sp, "AuthnRequestsSigned");
    ck_assert_str_eq(v, "true");
    free(v);
    v = eh_saml_prop(sp, "WantAssertionsSigned");
    ck_assert_str_eq(v, "true");
    free(v);
    v = eh_saml_prop(sp, "protocolSupportEnumeration");
    ck_assert_str_eq(v, EH_NS_SAMLP);
    free(v);
    ck_assert_uint_eq(eh_saml_child_count(sp, EH_NS_MD, "KeyDescriptor"), 2);
    ck_assert_uint_eq(eh_saml_child_count(sp, EH_NS_MD, "NameIDFormat"), 3);
    acs = eh_saml_child(sp, EH_NS_MD, "AssertionConsumerService");
    v = eh_saml_prop(acs, "Binding");
    ck_assert_str_eq(v, EH_SAML_BINDING_POST);
    free(v);
    v = eh_saml_prop(acs, "isDefault");
    ck_assert_str_eq(v, "true");
    free(v);
    v = eh_saml_prop(acs, "index");
    ck_assert_str_eq(v, "0");
    free(v);
    xmlFreeDoc(d);
    free(xml);
}
END_TEST

START_TEST(proxy_round_trip)
{
    int64_t now = (int64_t)time(NULL);
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_PROXY, now, 3600);
    char *xml, why[200] = "";
    eh_saml_metadata *m = NULL;

    free((char *)s.encryption_cert_pem);
    s.encryption_cert_pem = NULL; /* optional for a Proxy-Service */
    s.org_name = NULL;
    xml = build_with(&s, "ec256.pem", EH_SAML_SIG_ECDSA_SHA384);
    ck_assert_msg(check(xml, "ec256.pub.pem", EH_SAML_ROLE_PROXY, PROXY_ID, now, &m, why,
                        sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_str_eq(m->endpoint, PROXY_SSO);
    ck_assert_str_eq(m->node_country, "EE");
    ck_assert_ptr_null(m->sp_type);
    ck_assert_int_eq(m->valid_until, now + 3600);
    ck_assert_uint_eq(eh_saml_keys_count(m->signing), 1);
    ck_assert_uint_eq(eh_saml_keys_count(m->encryption), 0);
    eh_saml_metadata_free(m);

    xmlDocPtr d = parse_ours(xml);
    xmlNodePtr root = xmlDocGetRootElement(d),
               idp = eh_saml_child(root, EH_NS_MD, "IDPSSODescriptor");
    size_t na = 0;
    ck_assert_ptr_nonnull(idp);
    ck_assert_ptr_null(eh_saml_child(root, EH_NS_MD, "Organization"));
    char *v = eh_saml_prop(idp, "WantAuthnRequestsSigned");
    ck_assert_str_eq(v, "true");
    free(v);
    ck_assert_uint_eq(eh_saml_child_count(idp, EH_NS_MD, "KeyDescriptor"), 1);
    ck_assert_uint_eq(eh_saml_child_count(idp, EH_NS_MD, "NameIDFormat"), 3);
    ck_assert_uint_eq(eh_saml_child_count(idp, EH_NS_MD, "SingleSignOnService"), 2);
    eh_attributes(&na);
    ck_assert_uint_eq(eh_saml_child_count(idp, EH_NS_SAML, "Attribute"), na);
    /* a Proxy's metadata is not a Connector's */
    ck_assert_int_eq(
        check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    xmlFreeDoc(d);
    free(xml);
    spec_clear(&s);
}
END_TEST

/* RSA: an RSA-PSS signature by rsa3072, its certificate as anchor */
START_TEST(rsa_round_trip)
{
    int64_t now = (int64_t)time(NULL);
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_PROXY, now, DAY);
    char *xml, why[200] = "";
    eh_saml_metadata *m = NULL;

    free((char *)s.signing_cert_pem);
    s.signing_cert_pem = eh_test_saml_fixture("rsa3072.crt", NULL);
    xml = build_with(&s, "rsa3072.pem", EH_SAML_SIG_RSA_PSS_SHA512);
    ck_assert_msg(
        check(xml, "rsa3072.crt", EH_SAML_ROLE_PROXY, PROXY_ID, now, &m, why, sizeof(why)) == EH_OK,
        "%s", why);
    ck_assert_uint_eq(eh_saml_keys_count(m->signing), 1);
    ck_assert_uint_eq(eh_saml_keys_count(m->encryption), 1);
    eh_saml_metadata_free(m);
    /* the EC anchor does not verify it */
    ck_assert_int_eq(
        check(xml, "ec256.pub.pem", EH_SAML_ROLE_PROXY, PROXY_ID, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(xml);
    spec_clear(&s);
}
END_TEST

START_TEST(build_refuses)
{
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_CONNECTOR, (int64_t)time(NULL), DAY);
    eh_saml_keys *k = eh_test_saml_keys("ec256.pem");
    char why[200] = "", *xml = NULL;
    size_t len;
    const char *enc = s.encryption_cert_pem;

    s.encryption_cert_pem = NULL; /* a Connector must publish one */
    ck_assert_int_eq(
        eh_saml_metadata_build(&s, k, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_ptr_null(xml);
    s.encryption_cert_pem = "not a certificate";
    ck_assert_int_eq(
        eh_saml_metadata_build(&s, k, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why, sizeof(why)),
        EH_ERR_INVALID);
    s.encryption_cert_pem = enc;
    s.entity_id = NULL;
    ck_assert_int_eq(
        eh_saml_metadata_build(&s, k, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why, sizeof(why)),
        EH_ERR_INVALID);
    s.entity_id = CONNECTOR_ID;
    /* an EC key cannot make an RSA-PSS signature */
    ck_assert_int_ne(
        eh_saml_metadata_build(&s, k, EH_SAML_SIG_RSA_PSS_SHA256, &xml, &len, why, sizeof(why)),
        EH_OK);
    ck_assert_ptr_null(xml);
    eh_saml_keys_free(k);
    spec_clear(&s);
}
END_TEST

/* -------------------------------------------------------------- parse refuses */

START_TEST(refuses_unsigned)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now), *bare = NULL, why[200] = "";
    xmlDocPtr d = parse_ours(xml);
    xmlNodePtr sig = eh_saml_find_signature(xmlDocGetRootElement(d));
    size_t len;

    xmlUnlinkNode(sig);
    xmlFreeNode(sig);
    ck_assert_int_eq(eh_saml_doc_text(d, &bare, &len), EH_OK);
    ck_assert_int_eq(
        check(bare, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "metadata is not signed");
    xmlFreeDoc(d);
    free(bare);
    free(xml);
}
END_TEST

START_TEST(refuses_attacker)
{
    int64_t now = (int64_t)time(NULL);
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_CONNECTOR, now, DAY);
    char *xml, why[200] = "";

    /* signed by the attacker, who publishes their own certificate */
    free((char *)s.signing_cert_pem);
    s.signing_cert_pem = eh_test_saml_fixture("attacker.crt", NULL);
    xml = build_with(&s, "attacker.pem", EH_SAML_SIG_ECDSA_SHA256);
    ck_assert_int_eq(check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, CONNECTOR_ID, now, NULL,
                           why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "signature"));
    /* the same document is good for whoever trusts the attacker's key */
    ck_assert_int_eq(check(xml, "attacker.pub.pem", EH_SAML_ROLE_CONNECTOR, CONNECTOR_ID, now, NULL,
                           why, sizeof(why)),
                     EH_OK);
    free(xml);
    spec_clear(&s);
}
END_TEST

START_TEST(refuses_tampered)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now), why[200] = "";
    char *p = strstr(xml, "connector.example.eu/auth/eidas/acs");

    ck_assert_ptr_nonnull(p);
    memcpy(p, "connector.example.ev", 20); /* the ACS moved after signing */
    ck_assert_int_eq(
        check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(xml);
}
END_TEST

START_TEST(refuses_expired)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now - 2 * DAY), why[200] = "";

    ck_assert_int_eq(
        check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "metadata has expired (validUntil)");
    /* at a time it was valid it passes */
    ck_assert_int_eq(check(xml, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now - 2 * DAY + 10,
                           NULL, why, sizeof(why)),
                     EH_OK);
    free(xml);
}
END_TEST

static void drop_valid_until(xmlNodePtr root, void *arg)
{
    (void)arg;
    xmlUnsetProp(root, BAD_CAST "validUntil");
}

static void set_valid_until(xmlNodePtr root, void *arg)
{
    xmlSetProp(root, BAD_CAST "validUntil", BAD_CAST arg);
}

START_TEST(refuses_missing_valid_until)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_PROXY, now), why[200] = "";
    char *bad = resign(xml, drop_valid_until, NULL);

    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "metadata has no validUntil");
    free(bad);
    bad = resign(xml, set_valid_until, "tomorrow");
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    /* resigning alone keeps it good */
    bad = resign(xml, NULL, NULL);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, NULL, why, sizeof(why)), EH_OK);
    free(bad);
    free(xml);
}
END_TEST

START_TEST(refuses_wrong_entity_id)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_PROXY, now), why[200] = "";

    ck_assert_int_eq(check(xml, "ec256.pub.pem", EH_SAML_ROLE_PROXY,
                           "https://other.example.eu/metadata", now, NULL, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_str_eq(why, "entityID is not the expected one");
    free(xml);
}
END_TEST

static void drop_endpoints(xmlNodePtr root, void *arg)
{
    (void)arg;
    remove_children(role_of(root), EH_NS_MD, "AssertionConsumerService");
    remove_children(role_of(root), EH_NS_MD, "SingleSignOnService");
}

static void redirect_only(xmlNodePtr root, void *arg)
{
    xmlNodePtr r = role_of(root);
    (void)arg;
    remove_children(r, EH_NS_MD, "SingleSignOnService");
    xmlNodePtr n = xmlNewChild(r, r->ns, BAD_CAST "SingleSignOnService", NULL);
    xmlNewProp(n, BAD_CAST "Binding", BAD_CAST EH_SAML_BINDING_REDIRECT);
    xmlNewProp(n, BAD_CAST "Location", BAD_CAST PROXY_SSO);
}

static void set_location(xmlNodePtr root, void *arg)
{
    xmlNodePtr r = role_of(root);
    xmlNodePtr n = eh_saml_child(r, EH_NS_MD, "AssertionConsumerService");
    if (n == NULL)
        n = eh_saml_child(r, EH_NS_MD, "SingleSignOnService");
    xmlSetProp(n, BAD_CAST "Location", BAD_CAST arg);
}

START_TEST(refuses_no_endpoint)
{
    int64_t now = (int64_t)time(NULL);
    char *con = build_role(EH_SAML_ROLE_CONNECTOR, now), *pro = build_role(EH_SAML_ROLE_PROXY, now);
    char why[200] = "", *bad;

    bad = resign(con, drop_endpoints, NULL);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "no HTTP-POST endpoint for the role");
    free(bad);
    bad = resign(pro, drop_endpoints, NULL);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    bad = resign(pro, redirect_only, NULL); /* HTTP-Redirect alone is not enough */
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    static const char *const bad_urls[] = {"javascript:alert(1)", "/relative/acs",
                                           "https:///nohost",     "https://a.example/x y",
                                           "ftp://a.example/acs", "https://u@a.example/acs"};
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        bad = resign(con, set_location, (void *)bad_urls[i]);
        ck_assert_msg(check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why,
                            sizeof(why)) == EH_ERR_INVALID,
                      "%s accepted", bad_urls[i]);
        ck_assert_ptr_null(strstr(why, bad_urls[i])); /* the reason quotes no input */
        free(bad);
    }
    free(con);
    free(pro);
}
END_TEST

START_TEST(refuses_doctype)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now), *p, *bad = NULL, why[200] = "";

    p = strstr(xml, "?>");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_ge(asprintf(&bad, "%.*s<!DOCTYPE md:EntityDescriptor [<!ENTITY x \"y\">]>%s",
                              (int)(p + 2 - xml), xml, p + 2),
                     0);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "DOCTYPE refused");
    free(bad);
    free(xml);
}
END_TEST

/* small_cert_b64 makes a self-signed certificate for rsa2048.pem (too small)
 * and returns the base64 of its DER form. */
static char *small_cert_b64(void)
{
    char *pem = eh_test_saml_fixture("rsa2048.pem", NULL);
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    X509 *x = X509_new();
    unsigned char *der = NULL;
    int n;
    char *out;

    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"small", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
    n = i2d_X509(x, &der);
    ck_assert_int_gt(n, 0);
    out = malloc(4 * ((size_t)n + 2) / 3 + 4);
    EVP_EncodeBlock((unsigned char *)out, der, n);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(b);
    free(pem);
    return out;
}

/* set_certs replaces the certificate of every KeyDescriptor use=arg[0]
 * with the base64 arg[1] */
static void set_certs(xmlNodePtr root, void *arg)
{
    const char *const *a = arg;
    for (xmlNodePtr kd = eh_saml_first_el(role_of(root)); kd; kd = eh_saml_next_el(kd)) {
        char *use = eh_saml_prop(kd, "use");
        if (eh_saml_is(kd, EH_NS_MD, "KeyDescriptor") && use && strcmp(use, a[0]) == 0) {
            xmlNodePtr xc = eh_saml_child(
                eh_saml_child(eh_saml_child(kd, EH_NS_DS, "KeyInfo"), EH_NS_DS, "X509Data"),
                EH_NS_DS, "X509Certificate");
            xmlNodeSetContent(xc, BAD_CAST a[1]);
        }
        free(use);
    }
}

static void drop_encryption(xmlNodePtr root, void *arg)
{
    xmlNodePtr r = role_of(root), kd, next;
    (void)arg;
    for (kd = eh_saml_first_el(r); kd; kd = next) {
        next = eh_saml_next_el(kd);
        char *use = eh_saml_prop(kd, "use");
        if (use && strcmp(use, "encryption") == 0) {
            xmlUnlinkNode(kd);
            xmlFreeNode(kd);
        }
        free(use);
    }
}

START_TEST(refuses_unusable_keys)
{
    int64_t now = (int64_t)time(NULL);
    char *con = build_role(EH_SAML_ROLE_CONNECTOR, now), *bad, why[200] = "";
    char *small = small_cert_b64();
    char *ec = NULL;
    const char *args[2];
    eh_saml_metadata *m = NULL;

    /* a too small signing key is skipped; none left: refused */
    args[0] = "signing", args[1] = small;
    bad = resign(con, set_certs, args);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "no usable signing key (RSA >= 3072 or EC >= 256 bits)");
    free(bad);
    /* garbage in X509Certificate likewise */
    args[1] = "AAAA";
    bad = resign(con, set_certs, args);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    /* a Connector's encryption key must be RSA >= 3072 */
    args[0] = "encryption", args[1] = small;
    bad = resign(con, set_certs, args);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "no usable encryption key (RSA >= 3072 bits)");
    free(bad);
    {
        xmlDocPtr d = parse_ours(con);
        xmlNodePtr xc = eh_saml_child(
            eh_saml_child(eh_saml_child(eh_saml_child(role_of(xmlDocGetRootElement(d)), EH_NS_MD,
                                                      "KeyDescriptor"),
                                        EH_NS_DS, "KeyInfo"),
                          EH_NS_DS, "X509Data"),
            EH_NS_DS, "X509Certificate");
        ec = eh_saml_text(xc); /* the EC signing certificate */
        xmlFreeDoc(d);
    }
    args[1] = ec;
    bad = resign(con, set_certs, args);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    bad = resign(con, drop_encryption, NULL);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    /* a Proxy needs none: its encryption keys are only collected */
    char *pro = build_role(EH_SAML_ROLE_PROXY, now);
    bad = resign(pro, drop_encryption, NULL);
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_PROXY, NULL, now, &m, why, sizeof(why)), EH_OK);
    ck_assert_uint_eq(eh_saml_keys_count(m->encryption), 0);
    eh_saml_metadata_free(m);
    free(bad);
    free(pro);
    free(ec);
    free(small);
    free(con);
}
END_TEST

static void set_sp_type(xmlNodePtr root, void *arg)
{
    xmlNodePtr ext = eh_saml_child(root, EH_NS_MD, "Extensions");
    xmlNodeSetContent(eh_saml_child(ext, EH_NS_EIDAS, "SPType"), BAD_CAST arg);
}

static void sp_type_in_descriptor(xmlNodePtr root, void *arg)
{
    xmlNodePtr ext = eh_saml_child(root, EH_NS_MD, "Extensions"), r = role_of(root);
    xmlNodePtr t = eh_saml_child(ext, EH_NS_EIDAS, "SPType");
    (void)arg;
    xmlUnlinkNode(t);
    xmlNodePtr rext = xmlNewNode(root->ns, BAD_CAST "Extensions");
    xmlAddPrevSibling(eh_saml_first_el(r), rext);
    xmlAddChild(rext, t);
    xmlNodeSetContent(t, BAD_CAST "private");
}

static void set_country(xmlNodePtr root, void *arg)
{
    xmlNodePtr ext = eh_saml_child(root, EH_NS_MD, "Extensions");
    xmlNodeSetContent(eh_saml_child(ext, EH_NS_EIDAS, "NodeCountry"), BAD_CAST arg);
}

START_TEST(extensions)
{
    int64_t now = (int64_t)time(NULL);
    char *con = build_role(EH_SAML_ROLE_CONNECTOR, now), *bad, why[200] = "";
    eh_saml_metadata *m = NULL;

    bad = resign(con, sp_type_in_descriptor, NULL);
    ck_assert_msg(check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, &m, why,
                        sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_str_eq(m->sp_type, "private");
    eh_saml_metadata_free(m);
    free(bad);
    bad = resign(con, set_sp_type, "semi-public");
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    free(bad);
    bad = resign(con, set_country, "Estonia");
    ck_assert_int_eq(
        check(bad, "ec256.pub.pem", EH_SAML_ROLE_CONNECTOR, NULL, now, NULL, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_str_eq(why, "NodeCountry is not a country code");
    free(bad);
    free(con);
}
END_TEST

/* -------------------------------------------------------------- peers */

/* write_file writes len bytes atomically (a temporary file renamed). */
static void write_file(const char *dir, const char *name, const char *text)
{
    char *tmp = NULL, *path = NULL;
    ck_assert_int_ge(asprintf(&tmp, "%s/.%s.tmp", dir, name), 0);
    ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(rename(tmp, path), 0);
    free(tmp);
    free(path);
}

typedef struct peer_env {
    char *dir;
    char *md_path;
    char *anchor_path;
} peer_env;

/* env_new: a folder with the ec256 anchor and, when xml is not NULL, a
 * metadata file. */
static peer_env env_new(const char *xml)
{
    peer_env e;
    char *anchor = eh_test_saml_fixture("ec256.pub.pem", NULL);
    e.dir = eh_test_tmpdir();
    e.anchor_path = eh_test_write(e.dir, "anchor.pem", anchor);
    ck_assert_int_ge(asprintf(&e.md_path, "%s/md.xml", e.dir), 0);
    if (xml != NULL)
        write_file(e.dir, "md.xml", xml);
    free(anchor);
    return e;
}

static void env_free(peer_env *e)
{
    eh_test_rmtree(e->dir);
    free(e->dir);
    free(e->md_path);
    free(e->anchor_path);
}

static eh_saml_peers *peers_one(const peer_env *e, eh_saml_role role, const char *entity_id,
                                unsigned refresh_s)
{
    eh_saml_peer_def def = {"EE", e->md_path, entity_id, e->anchor_path, role};
    eh_saml_peers *p = NULL;
    char why[200] = "";
    ck_assert_msg(eh_saml_peers_new(&def, 1, refresh_s, 1000, &p, why, sizeof(why)) == EH_OK, "%s",
                  why);
    return p;
}

START_TEST(peers_from_file)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_PROXY, now), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_PROXY, NULL, 3600);
    const eh_saml_metadata *m = NULL, *m2 = NULL, *m3 = NULL;
    const char *name = NULL;

    ck_assert_uint_eq(eh_saml_peers_count(p), 1);
    ck_assert_int_eq(eh_saml_peers_age_s(p, 0, &name), -1); /* nothing fetched yet */
    ck_assert_str_eq(name, "EE");
    ck_assert_int_eq(eh_saml_peers_age_s(p, 1, &name), -1);

    /* the first get fetches */
    ck_assert_msg(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)) == EH_OK, "%s", why);
    ck_assert_str_eq(m->entity_id, PROXY_ID);
    ck_assert_str_eq(m->endpoint, PROXY_SSO);
    ck_assert_int_eq(eh_saml_peers_age_s(p, 0, NULL), 0);

    /* by entityID (learnt from the file) */
    ck_assert_int_eq(eh_saml_peers_get(p, PROXY_ID, 1, &m2, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(m, m2);
    eh_saml_peers_release(p, m2);

    /* unknown peers */
    ck_assert_int_eq(eh_saml_peers_get(p, "LV", 0, &m2, why, sizeof(why)), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(m2);
    ck_assert_int_eq(eh_saml_peers_get(p, "https://lv.example.eu/md", 1, &m2, why, sizeof(why)),
                     EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_saml_peers_get(p, PROXY_ID, 0, &m2, why, sizeof(why)), EH_ERR_NOT_FOUND);

    /* a good refresh brings a new copy; the old one lives while referenced */
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 0);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m2, why, sizeof(why)), EH_OK);
    ck_assert_ptr_ne(m, m2);
    ck_assert_str_eq(m->entity_id, PROXY_ID);
    eh_saml_peers_release(p, m);

    /* garbage: the refresh fails, the last good copy stays */
    write_file(e.dir, "md.xml", "<not metadata");
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 1);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m3, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(m3, m2);
    eh_saml_peers_release(p, m3);

    /* metadata signed by someone else: likewise */
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_PROXY, now, DAY);
    char *evil = build_with(&s, "attacker.pem", EH_SAML_SIG_ECDSA_SHA256);
    write_file(e.dir, "md.xml", evil);
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 1);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m3, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(m3, m2);
    eh_saml_peers_release(p, m3);

    /* the file gone: likewise */
    ck_assert_int_eq(unlink(e.md_path), 0);
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 1);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m3, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(m3, m2);
    ck_assert_int_ge(eh_saml_peers_age_s(p, 0, NULL), 0);
    eh_saml_peers_release(p, m3);
    eh_saml_peers_release(p, m2);

    eh_saml_peers_free(p); /* joins the refresher the first get started */
    spec_clear(&s);
    free(evil);
    free(xml);
    env_free(&e);
}
END_TEST

START_TEST(peers_expired_copy_dropped)
{
    int64_t now = (int64_t)time(NULL);
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_CONNECTOR, now, 4);
    char *xml = build_with(&s, "ec256.pem", EH_SAML_SIG_ECDSA_SHA256), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_CONNECTOR, CONNECTOR_ID, 3600);
    const eh_saml_metadata *m = NULL;

    ck_assert_msg(eh_saml_peers_get(p, CONNECTOR_ID, 1, &m, why, sizeof(why)) == EH_OK, "%s", why);
    ck_assert_str_eq(m->sp_type, "public");
    eh_saml_peers_release(p, m);
    sleep(5); /* validUntil passes; the file still holds the same, now expired, document */
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(eh_saml_peers_age_s(p, 0, NULL), -1);
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 1);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_ERR_IO);
    ck_assert_ptr_nonnull(strstr(why, "expired"));

    /* a fresh document: the next refresh serves again */
    char *fresh = build_role(EH_SAML_ROLE_CONNECTOR, (int64_t)time(NULL));
    write_file(e.dir, "md.xml", fresh);
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 0);
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_OK);
    eh_saml_peers_release(p, m);
    eh_saml_peers_free(p);
    free(fresh);
    spec_clear(&s);
    free(xml);
    env_free(&e);
}
END_TEST

START_TEST(peers_wrong_entity_or_role)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_PROXY, now), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_PROXY, "https://other.example.eu/md", 3600);
    const eh_saml_metadata *m = NULL;

    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_ERR_IO);
    ck_assert_ptr_nonnull(strstr(why, "entityID"));
    ck_assert_int_eq(eh_saml_peers_get(p, "https://other.example.eu/md", 1, &m, why, sizeof(why)),
                     EH_ERR_IO);
    eh_saml_peers_free(p);
    p = peers_one(&e, EH_SAML_ROLE_CONNECTOR, NULL, 3600); /* a Proxy is not a Connector */
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_ERR_IO);
    ck_assert_int_eq(eh_saml_peers_get(p, PROXY_ID, 1, &m, why, sizeof(why)), EH_ERR_NOT_FOUND);
    eh_saml_peers_free(p);
    free(xml);
    env_free(&e);
}
END_TEST

START_TEST(peers_config_errors)
{
    peer_env e = env_new(NULL);
    char why[200] = "", *small = eh_test_saml_fixture("rsa2048.pub.pem", NULL), *small_path, *two = NULL,
         *two_path;
    char *a = eh_test_saml_fixture("ec256.pub.pem", NULL), *b = eh_test_saml_fixture("rsa3072.crt", NULL);
    eh_saml_peers *p = NULL;
    eh_saml_peer_def def = {"EE", e.md_path, NULL, e.anchor_path, EH_SAML_ROLE_PROXY};
    eh_saml_peer_def defs[2] = {def, def};

    small_path = eh_test_write(e.dir, "small.pem", small);
    ck_assert_int_ge(asprintf(&two, "%s%s", a, b), 0);
    two_path = eh_test_write(e.dir, "two.pem", two);

    /* a missing file is not a configuration error: it may appear later */
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_OK);
    ck_assert_int_eq(
        eh_saml_peers_get(p, "EE", 0, &(const eh_saml_metadata *){NULL}, why, sizeof(why)),
        EH_ERR_IO);
    eh_saml_peers_free(p);
    p = NULL;

    def.anchor_file = "/nonexistent/anchor.pem";
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_ERR_CONFIG);
    ck_assert_ptr_null(p);
    def.anchor_file = small_path; /* RSA 2048: unusable */
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_ERR_CONFIG);
    def.anchor_file = e.md_path; /* no PEM at all (and missing) */
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_ERR_CONFIG);
    def.anchor_file = two_path; /* two keys: both kept */
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_OK);
    eh_saml_peers_free(p);
    p = NULL;
    def.anchor_file = e.anchor_path;
    def.metadata = "relative/md.xml";
    ck_assert_int_eq(eh_saml_peers_new(&def, 1, 60, 1000, &p, why, sizeof(why)), EH_ERR_CONFIG);
    ck_assert_int_eq(eh_saml_peers_new(defs, 2, 60, 1000, &p, why, sizeof(why)), EH_ERR_CONFIG);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(eh_saml_peers_new(NULL, 0, 60, 1000, &p, why, sizeof(why)), EH_OK);
    ck_assert_int_eq(
        eh_saml_peers_get(p, "EE", 0, &(const eh_saml_metadata *){NULL}, why, sizeof(why)),
        EH_ERR_NOT_FOUND);
    eh_saml_peers_free(p);

    free(small);
    free(small_path);
    free(two);
    free(two_path);
    free(a);
    free(b);
    env_free(&e);
}
END_TEST

/* The refresher thread picks a new document up by itself (it waits at
 * least a few seconds between fetches of a peer). */
START_TEST(peers_background_refresh)
{
    int64_t now = (int64_t)time(NULL);
    char *xml = build_role(EH_SAML_ROLE_CONNECTOR, now), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_CONNECTOR, NULL, 1);
    const eh_saml_metadata *m = NULL, *m2 = NULL;
    eh_saml_metadata_spec s = spec(EH_SAML_ROLE_CONNECTOR, now, DAY);
    char *next;

    ck_assert_msg(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)) == EH_OK, "%s", why);
    s.endpoint = "https://connector.example.eu/auth/eidas/acs2";
    next = build_with(&s, "ec256.pem", EH_SAML_SIG_ECDSA_SHA256);
    write_file(e.dir, "md.xml", next);
    for (int i = 0; i < 150; i++) {
        ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m2, why, sizeof(why)), EH_OK);
        int changed = strcmp(m2->endpoint, s.endpoint) == 0;
        eh_saml_peers_release(p, m2);
        if (changed)
            break;
        usleep(100 * 1000);
    }
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m2, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(m2->endpoint, s.endpoint);
    ck_assert_str_eq(m->endpoint, CONNECTOR_ACS); /* the held reference is unchanged */
    eh_saml_peers_release(p, m2);
    eh_saml_peers_release(p, m);
    eh_saml_peers_free(p); /* wakes and joins the sleeping thread promptly */
    spec_clear(&s);
    free(next);
    free(xml);
    env_free(&e);
}
END_TEST

typedef struct getter {
    eh_saml_peers *p;
    const eh_saml_metadata *m;
    eh_rc rc;
} getter;

static void *get_thread(void *arg)
{
    getter *g = arg;
    char why[200];
    g->rc = eh_saml_peers_get(g->p, "EE", 0, &g->m, why, sizeof(why));
    return NULL;
}

/* Several first gets at once (and the refresher they start) all end with
 * the copy one of them fetched: none fails because another is fetching. */
START_TEST(peers_concurrent_first_get)
{
    char *xml = build_role(EH_SAML_ROLE_PROXY, (int64_t)time(NULL));
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_PROXY, PROXY_ID, 3600);
    getter g[4];
    pthread_t t[4];

    for (int i = 0; i < 4; i++) {
        g[i] = (getter){p, NULL, EH_ERR_INTERNAL};
        ck_assert_int_eq(pthread_create(&t[i], NULL, get_thread, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(g[i].rc, EH_OK);
        ck_assert_str_eq(g[i].m->entity_id, PROXY_ID);
    }
    for (int i = 0; i < 4; i++)
        eh_saml_peers_release(p, g[i].m);
    eh_saml_peers_free(p);
    free(xml);
    env_free(&e);
}
END_TEST

/* A process about to exit stops the refreshers for good (the module does
 * as an nginx worker exits): the sets still answer from what they hold, a
 * forced refresh still fetches, and the free has nothing left to join. */
START_TEST(peers_stop_all)
{
    char *xml = build_role(EH_SAML_ROLE_PROXY, (int64_t)time(NULL)), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_PROXY, NULL, 3600);
    eh_saml_peers *idle = peers_one(&e, EH_SAML_ROLE_PROXY, NULL, 3600);
    const eh_saml_metadata *m = NULL, *m2 = NULL;

    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_OK); /* starts it */
    eh_saml_peers_stop_all(); /* idle has none: nothing to join */
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m2, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(m, m2);
    eh_saml_peers_release(p, m2);
    ck_assert_uint_eq(eh_saml_peers_refresh(p), 0);
    ck_assert_int_eq(eh_saml_peers_get(idle, "EE", 0, &m2, why, sizeof(why)), EH_OK);
    ck_assert_str_eq(m2->endpoint, PROXY_SSO);
    eh_saml_peers_release(idle, m2);
    eh_saml_peers_stop_all(); /* again: harmless */
    eh_saml_peers_release(p, m);
    eh_saml_peers_free(p);
    eh_saml_peers_free(idle);
    free(xml);
    env_free(&e);
}
END_TEST

/* child_get runs in a forked child: a get (which starts the child's own
 * refresher) and a free (which joins it). Its exit status tells. */
static void child_get(eh_saml_peers *p)
{
    const eh_saml_metadata *m = NULL;
    char why[200];
    int bad = eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)) != EH_OK ||
              strcmp(m->endpoint, PROXY_SSO) != 0;
    eh_saml_peers_release(p, m);
    eh_saml_peers_free(p);
    _exit(bad);
}

static int run_child(eh_saml_peers *p)
{
    int status = -1;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child_get(p);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* nginx's model: the set is made in the master, workers fork from it and
 * each gets its own refresher; a parent whose refresher runs may fork too. */
START_TEST(peers_fork)
{
    char *xml = build_role(EH_SAML_ROLE_PROXY, (int64_t)time(NULL)), why[200] = "";
    peer_env e = env_new(xml);
    eh_saml_peers *p = peers_one(&e, EH_SAML_ROLE_PROXY, NULL, 3600);
    const eh_saml_metadata *m = NULL;

    ck_assert_int_eq(run_child(p), 0);                     /* before any thread */
    ck_assert_int_eq(eh_saml_peers_age_s(p, 0, NULL), -1); /* the child's fetch stays there */
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_OK);
    eh_saml_peers_release(p, m);
    ck_assert_int_eq(run_child(p), 0); /* with the parent's refresher running */
    ck_assert_int_eq(eh_saml_peers_get(p, "EE", 0, &m, why, sizeof(why)), EH_OK);
    eh_saml_peers_release(p, m);
    eh_saml_peers_free(p);
    free(xml);
    env_free(&e);
}
END_TEST

Suite *suite_saml_metadata(void)
{
    Suite *s = suite_create("saml_metadata");
    TCase *tc = tcase_create("metadata");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, connector_round_trip);
    tcase_add_test(tc, proxy_round_trip);
    tcase_add_test(tc, rsa_round_trip);
    tcase_add_test(tc, build_refuses);
    tcase_add_test(tc, refuses_unsigned);
    tcase_add_test(tc, refuses_attacker);
    tcase_add_test(tc, refuses_tampered);
    tcase_add_test(tc, refuses_expired);
    tcase_add_test(tc, refuses_missing_valid_until);
    tcase_add_test(tc, refuses_wrong_entity_id);
    tcase_add_test(tc, refuses_no_endpoint);
    tcase_add_test(tc, refuses_doctype);
    tcase_add_test(tc, refuses_unusable_keys);
    tcase_add_test(tc, extensions);
    suite_add_tcase(s, tc);

    TCase *tp = tcase_create("peers");
    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, peers_from_file);
    tcase_add_test(tp, peers_expired_copy_dropped);
    tcase_add_test(tp, peers_wrong_entity_or_role);
    tcase_add_test(tp, peers_config_errors);
    tcase_add_test(tp, peers_background_refresh);
    tcase_add_test(tp, peers_concurrent_first_get);
    tcase_add_test(tp, peers_fork);
    tcase_add_test(tp, peers_stop_all);
    suite_add_tcase(s, tp);
    return s;
}
