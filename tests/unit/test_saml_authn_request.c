/* Unit tests for broker/saml/saml_authn_request.c (suite saml_authn_request):
 * the eIDAS AuthnRequest built by a Connector and checked by a
 * Proxy-Service. Round trips with ECDSA P-256 and RSA-3072 PSS, the exact
 * shape of what we write, and every refusal of the contract with a crafted
 * message: a valid request is built, then its text or DOM is changed, either
 * after signing (tampering) or before signing it again with the Connector's
 * key (a well-signed request that breaks one rule). */
#include "tests/unit/suites.h"
#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"

#define FX EH_TEST_FIXTURES "/saml/"

#define CONNECTOR "https://connector.example/metadata"
#define PROXY_SSO "https://proxy.example.ee/eidas/sso"
#define NAT EH_NS_EIDAS_NATURAL "/"
#define NOW ((int64_t)1700000000)
#define SKEW 60
#define MAX_AGE 300

/* ------------------------------------------------------------- fixtures */
/* A test trust store: issuer text -> trusted keys; counts borrowings. */
#define TRUST_MAX 4
typedef struct test_trust {
    const char *issuer[TRUST_MAX];
    eh_saml_keys *keys[TRUST_MAX];
    size_t n;
    int taken, released;
    eh_rc fail; /* returned by keys_of instead, when not EH_OK */
} test_trust;

static eh_rc tt_keys_of(void *ctx, const char *issuer, const eh_saml_keys **k, void **handle)
{
    test_trust *t = ctx;
    if (t->fail != EH_OK)
        return t->fail;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->issuer[i], issuer) == 0) {
            *k = t->keys[i];
            *handle = &t->keys[i];
            t->taken++;
            return EH_OK;
        }
    }
    return EH_ERR_NOT_FOUND;
}

static void tt_release(void *ctx, void *handle)
{
    test_trust *t = ctx;
    ck_assert_ptr_nonnull(handle);
    t->released++;
}

static test_trust T;
static eh_saml_trust TRUST = {tt_keys_of, tt_release, &T};
static eh_saml_keys *ec_priv, *rsa_priv, *attacker_priv, *attacker_pub;

static void trust_add(const char *issuer, eh_saml_keys *k)
{
    ck_assert_uint_lt(T.n, TRUST_MAX);
    T.issuer[T.n] = issuer;
    T.keys[T.n] = k;
    T.n++;
}

static void setup(void)
{
    memset(&T, 0, sizeof(T));
    ec_priv = eh_test_saml_keys("ec256.pem");
    rsa_priv = eh_test_saml_keys("rsa3072.pem");
    attacker_priv = eh_test_saml_keys("attacker.pem");
    attacker_pub = eh_test_saml_keys("attacker.pub.pem");
    /* the Connector's metadata lists its EC and its RSA key */
    eh_saml_keys *connector = eh_test_saml_keys("ec256.pub.pem");
    eh_test_saml_keys_add(connector, "rsa3072.pub.pem");
    trust_add(CONNECTOR, connector);
}

static void teardown(void)
{
    for (size_t i = 0; i < T.n; i++)
        if (T.keys[i] != attacker_pub)
            eh_saml_keys_free(T.keys[i]);
    eh_saml_keys_free(ec_priv);
    eh_saml_keys_free(rsa_priv);
    eh_saml_keys_free(attacker_priv);
    eh_saml_keys_free(attacker_pub);
}

/* ------------------------------------------------------------- requests */
static eh_saml_requested_attr ATTRS[] = {
    {(char *)NAT "PersonIdentifier", 1}, {(char *)NAT "CurrentFamilyName", 1},
    {(char *)NAT "CurrentGivenName", 1}, {(char *)NAT "DateOfBirth", 1},
    {(char *)NAT "Gender", 0},
};

/* sample: a full request, every optional part set. */
static eh_saml_authn_request sample(void)
{
    eh_saml_authn_request r;
    memset(&r, 0, sizeof(r));
    r.id = (char *)"_0a1b2c3d4e5f";
    r.issuer = (char *)CONNECTOR;
    r.destination = (char *)PROXY_SSO;
    r.acs_url = (char *)"https://connector.example/eidas/acs";
    r.provider_name = (char *)"Tallinn <portal> & co";
    r.sp_type = (char *)EH_SAML_SPTYPE_PRIVATE;
    r.requester_id = (char *)"https://portal.example/";
    r.attrs = ATTRS;
    r.n_attrs = sizeof(ATTRS) / sizeof(ATTRS[0]);
    r.name_id_format = (char *)EH_SAML_NAMEID_PERSISTENT;
    r.loa = EH_LOA_SUBSTANTIAL;
    r.comparison = EH_LOA_MINIMUM;
    r.force_authn = 1;
    r.issue_instant = NOW;
    return r;
}

static char *build_with(const eh_saml_authn_request *r, const eh_saml_keys *k, eh_saml_sig_alg alg)
{
    char why[200] = "", *xml = NULL;
    size_t len = 0;
    eh_rc rc = eh_saml_authn_request_build(r, k, alg, &xml, &len, why, sizeof(why));
    ck_assert_msg(rc == EH_OK, "build: %s", why);
    ck_assert_ptr_nonnull(xml);
    ck_assert_uint_eq(strlen(xml), len);
    return xml;
}

static char *build_sample(void)
{
    eh_saml_authn_request r = sample();
    return build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
}

static eh_saml_request_expect EXPECT = {PROXY_SSO, NOW + 5, SKEW, MAX_AGE};

/* check parses xml as the Proxy-Service; every key borrowed is given back. */
static eh_rc check(const char *xml, size_t len, eh_saml_authn_request **out, char *why, size_t wl)
{
    why[0] = '\0';
    eh_rc rc = eh_saml_authn_request_parse(xml, len, &TRUST, &EXPECT, out, why, wl);
    ck_assert_int_eq(T.taken, T.released);
    if (rc != EH_OK)
        ck_assert_ptr_null(*out);
    else
        ck_assert_ptr_nonnull(*out);
    return rc;
}

/* refused asserts that xml is refused with EH_ERR_INVALID and a reason
 * containing reason (NULL: any). */
static void refused(const char *xml, const char *reason)
{
    char why[200];
    eh_saml_authn_request *out = (eh_saml_authn_request *)&out; /* not NULL: must be cleared */
    eh_rc rc = check(xml, strlen(xml), &out, why, sizeof(why));
    ck_assert_msg(rc == EH_ERR_INVALID, "accepted or wrong code %d (%s), wanted: %s", rc, why,
                  reason ? reason : "any refusal");
    ck_assert_msg(why[0] != '\0', "no reason given");
    if (reason != NULL)
        ck_assert_msg(strstr(why, reason) != NULL, "reason '%s', wanted '%s'", why, reason);
}

static eh_saml_authn_request *accepted(const char *xml)
{
    char why[200];
    eh_saml_authn_request *out = NULL;
    ck_assert_msg(check(xml, strlen(xml), &out, why, sizeof(why)) == EH_OK, "refused: %s", why);
    return out;
}

/* replace returns s with every from replaced by to (at least one must be). */
static char *replace(const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
        n++;
    ck_assert_msg(n > 0, "'%s' not in the message", from);
    char *out = malloc(strlen(s) + n * tl + 1), *o = out;
    const char *p = s, *q;
    while ((q = strstr(p, from)) != NULL) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

static xmlDocPtr read_doc(const char *xml)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), NULL, NULL, XML_PARSE_NONET);
    ck_assert_ptr_nonnull(d);
    return d;
}

static char *doc_text(xmlDocPtr d)
{
    char *out = NULL;
    ck_assert_int_eq(eh_saml_doc_text(d, &out, NULL), EH_OK);
    return out;
}

static void drop(xmlNodePtr n)
{
    ck_assert_ptr_nonnull(n);
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

typedef void (*edit_fn)(xmlNodePtr root);

/* resign: a well-signed variant of xml (the Connector's EC key): replace
 * from by to in the text (from NULL: no change), then apply edit to the
 * DOM (NULL: none), then sign again after the Issuer. */
static char *resign(const char *xml, const char *from, const char *to, edit_fn edit)
{
    char why[200] = "";
    char *s = from ? replace(xml, from, to) : strdup(xml);
    xmlDocPtr d = read_doc(s);
    xmlNodePtr root = xmlDocGetRootElement(d);
    free(s);
    drop(eh_saml_find_signature(root));
    if (edit != NULL)
        edit(root);
    xmlNodePtr issuer = eh_saml_child(root, EH_NS_SAML, "Issuer");
    ck_assert_msg(
        eh_saml_sign(d, root, issuer, EH_SAML_SIG_ECDSA_SHA256, ec_priv, why, sizeof(why)) == EH_OK,
        "%s", why);
    s = doc_text(d);
    xmlFreeDoc(d);
    return s;
}

/* refused_variant: the resigned variant is refused for reason. */
static void refused_variant(const char *from, const char *to, edit_fn edit, const char *reason)
{
    char *xml = build_sample(), *v = resign(xml, from, to, edit);
    refused(v, reason);
    free(v);
    free(xml);
}

static xmlNodePtr extensions(xmlNodePtr root)
{
    return eh_saml_child(root, EH_NS_SAMLP, "Extensions");
}

static xmlNodePtr requested_attributes(xmlNodePtr root)
{
    return eh_saml_child(extensions(root), EH_NS_EIDAS, "RequestedAttributes");
}

static xmlNodePtr authn_context(xmlNodePtr root)
{
    return eh_saml_child(root, EH_NS_SAMLP, "RequestedAuthnContext");
}

/* ---------------------------------------------------------- round trips */
static void assert_same(const eh_saml_authn_request *a, const eh_saml_authn_request *b)
{
    ck_assert_str_eq(a->id, b->id);
    ck_assert_str_eq(a->issuer, b->issuer);
    ck_assert_str_eq(a->destination, b->destination);
    ck_assert_str_eq(a->acs_url, b->acs_url);
    ck_assert_str_eq(a->provider_name, b->provider_name);
    ck_assert_str_eq(a->sp_type, b->sp_type);
    ck_assert_str_eq(a->requester_id, b->requester_id);
    ck_assert_uint_eq(a->n_attrs, b->n_attrs);
    for (size_t i = 0; i < a->n_attrs; i++) {
        ck_assert_str_eq(a->attrs[i].name, b->attrs[i].name);
        ck_assert_int_eq(a->attrs[i].is_required, b->attrs[i].is_required);
    }
    ck_assert_str_eq(a->name_id_format, b->name_id_format);
    ck_assert_int_eq(a->loa, b->loa);
    ck_assert_int_eq(a->comparison, b->comparison);
    ck_assert_int_eq(a->force_authn, b->force_authn);
    ck_assert_int_eq(a->issue_instant, b->issue_instant);
}

START_TEST(round_trip_ecdsa_p256)
{
    eh_saml_authn_request r = sample();
    char *xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    ck_assert_ptr_nonnull(strstr(xml, "ecdsa-sha256"));
    eh_saml_authn_request *got = accepted(xml);
    assert_same(&r, got);
    ck_assert_int_eq(T.taken, 1);
    eh_saml_authn_request_free(got);
    free(xml);
}
END_TEST

START_TEST(round_trip_rsa_pss)
{
    eh_saml_authn_request r = sample();
    r.loa = EH_LOA_HIGH;
    r.force_authn = 0;
    r.sp_type = (char *)EH_SAML_SPTYPE_PUBLIC;
    r.name_id_format = (char *)EH_SAML_NAMEID_TRANSIENT;
    char *xml = build_with(&r, rsa_priv, EH_SAML_SIG_RSA_PSS_SHA256);
    ck_assert_ptr_nonnull(strstr(xml, "sha256-rsa-MGF1"));
    eh_saml_authn_request *got = accepted(xml);
    assert_same(&r, got);
    eh_saml_authn_request_free(got);
    free(xml);
    xml = build_with(&r, rsa_priv, EH_SAML_SIG_RSA_PSS_SHA512);
    got = accepted(xml);
    assert_same(&r, got);
    eh_saml_authn_request_free(got);
    free(xml);
}
END_TEST

START_TEST(exact_non_notified)
{
    eh_saml_authn_request r = sample();
    r.comparison = EH_LOA_EXACT;
    r.loa = EH_LOA_LOW;
    char *xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    ck_assert_ptr_nonnull(strstr(xml, "Comparison=\"exact\""));
    ck_assert_ptr_nonnull(strstr(xml, ">http://eidas.europa.eu/NonNotified/LoA/low<"));
    ck_assert_ptr_null(strstr(xml, "http://eidas.europa.eu/LoA/"));
    eh_saml_authn_request *got = accepted(xml);
    assert_same(&r, got);
    eh_saml_authn_request_free(got);
    free(xml);
}
END_TEST

/* The document's shape: prefixes, attributes, children in schema order. */
START_TEST(built_shape)
{
    char *xml = build_sample();
    xmlDocPtr d = read_doc(xml);
    xmlNodePtr root = xmlDocGetRootElement(d);
    ck_assert(eh_saml_is(root, EH_NS_SAMLP, "AuthnRequest"));
    ck_assert_str_eq((const char *)root->ns->prefix, "samlp");
    const char *props[][2] = {
        {"ID", "_0a1b2c3d4e5f"},
        {"Version", "2.0"},
        {"IssueInstant", "2023-11-14T22:13:20Z"},
        {"Destination", PROXY_SSO},
        {"ForceAuthn", "true"},
        {"IsPassive", "false"},
        {"ProviderName", "Tallinn <portal> & co"},
        {"AssertionConsumerServiceURL", "https://connector.example/eidas/acs"},
        {"ProtocolBinding", EH_SAML_BINDING_POST},
    };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        char *v = eh_saml_prop(root, props[i][0]);
        ck_assert_msg(v != NULL && strcmp(v, props[i][1]) == 0, "%s", props[i][0]);
        free(v);
    }
    /* children: Issuer, Signature, Extensions, NameIDPolicy, RequestedAuthnContext */
    xmlNodePtr c = eh_saml_first_el(root);
    ck_assert(eh_saml_is(c, EH_NS_SAML, "Issuer"));
    ck_assert_str_eq((const char *)c->ns->prefix, "saml");
    char *v = eh_saml_prop(c, "Format");
    ck_assert_str_eq(v, EH_SAML_ISSUER_ENTITY);
    free(v);
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_DS, "Signature"));
    ck_assert_str_eq((const char *)c->ns->prefix, "ds");
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_SAMLP, "Extensions"));
    xmlNodePtr e = eh_saml_first_el(c);
    ck_assert(eh_saml_is(e, EH_NS_EIDAS, "SPType"));
    ck_assert_str_eq((const char *)e->ns->prefix, "eidas");
    e = eh_saml_next_el(e);
    ck_assert(eh_saml_is(e, EH_NS_EIDAS, "RequesterID"));
    e = eh_saml_next_el(e);
    ck_assert(eh_saml_is(e, EH_NS_EIDAS, "RequestedAttributes"));
    ck_assert_uint_eq(eh_saml_child_count(e, EH_NS_EIDAS, "RequestedAttribute"), 5);
    xmlNodePtr a = eh_saml_child(e, EH_NS_EIDAS, "RequestedAttribute");
    v = eh_saml_prop(a, "NameFormat");
    ck_assert_str_eq(v, EH_SAML_ATTRNAME_URI);
    free(v);
    v = eh_saml_prop(a, "isRequired");
    ck_assert_str_eq(v, "true");
    free(v);
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_SAMLP, "NameIDPolicy"));
    v = eh_saml_prop(c, "AllowCreate");
    ck_assert_str_eq(v, "true");
    free(v);
    v = eh_saml_prop(c, "Format");
    ck_assert_str_eq(v, EH_SAML_NAMEID_PERSISTENT);
    free(v);
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_SAMLP, "RequestedAuthnContext"));
    v = eh_saml_prop(c, "Comparison");
    ck_assert_str_eq(v, "minimum");
    free(v);
    v = eh_saml_text(eh_saml_child(c, EH_NS_SAML, "AuthnContextClassRef"));
    ck_assert_str_eq(v, "http://eidas.europa.eu/LoA/substantial");
    free(v);
    ck_assert_ptr_null(eh_saml_next_el(c));
    xmlFreeDoc(d);
    free(xml);
}
END_TEST

/* Without the optional parts: no ProviderName, ACS, SPType, RequesterID or
 * NameID Format; a missing SPType is accepted (the caller falls back to
 * the Connector's metadata). */
START_TEST(minimal_request)
{
    eh_saml_authn_request r = sample();
    r.acs_url = r.provider_name = r.sp_type = r.requester_id = r.name_id_format = NULL;
    r.n_attrs = 1;
    r.force_authn = 0;
    char *xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    ck_assert_ptr_null(strstr(xml, "ProviderName"));
    ck_assert_ptr_null(strstr(xml, "AssertionConsumerServiceURL"));
    ck_assert_ptr_null(strstr(xml, "ProtocolBinding"));
    ck_assert_ptr_null(strstr(xml, "SPType"));
    ck_assert_ptr_null(strstr(xml, "RequesterID"));
    ck_assert_ptr_nonnull(strstr(xml, "ForceAuthn=\"false\""));
    eh_saml_authn_request *got = accepted(xml);
    ck_assert_ptr_null(got->acs_url);
    ck_assert_ptr_null(got->provider_name);
    ck_assert_ptr_null(got->sp_type);
    ck_assert_ptr_null(got->requester_id);
    ck_assert_ptr_null(got->name_id_format);
    ck_assert_uint_eq(got->n_attrs, 1);
    ck_assert_str_eq(got->attrs[0].name, NAT "PersonIdentifier");
    ck_assert_int_eq(got->force_authn, 0);
    eh_saml_authn_request_free(got);
    free(xml);
}
END_TEST

START_TEST(build_refuses_incomplete)
{
    char why[200], *xml = (char *)"x";
    size_t len = 7;
    eh_saml_requested_attr many[EH_SAML_MAX_REQUESTED + 1], noname[] = {{NULL, 1}};
    for (size_t i = 0; i < EH_SAML_MAX_REQUESTED + 1; i++)
        many[i] = ATTRS[0];
    for (int i = 0; i < 11; i++) {
        eh_saml_authn_request r = sample();
        switch (i) {
        case 0:
            r.id = NULL;
            break;
        case 1:
            r.id = (char *)"1abc";
            break; /* not an xs:ID */
        case 2:
            r.issuer = NULL;
            break;
        case 3:
            r.destination = (char *)"";
            break;
        case 4:
            r.n_attrs = 0;
            break;
        case 5:
            r.attrs = many, r.n_attrs = EH_SAML_MAX_REQUESTED + 1;
            break;
        case 6:
            r.attrs = noname, r.n_attrs = 1;
            break;
        case 7:
            r.loa = EH_LOA_NONE;
            break;
        case 8:
            r.sp_type = (char *)"mixed";
            break;
        case 9:
            r.name_id_format = (char *)"urn:example:email";
            break;
        case 10:
            r.comparison = (eh_loa_comparison)7;
            break;
        }
        ck_assert_msg(eh_saml_authn_request_build(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256, &xml, &len,
                                                  why, sizeof(why)) == EH_ERR_INVALID,
                      "case %d", i);
        ck_assert_ptr_null(xml);
        ck_assert_uint_eq(len, 0);
    }
    /* an EC key cannot make an RSA-PSS signature */
    eh_saml_authn_request r = sample();
    ck_assert_int_eq(eh_saml_authn_request_build(&r, ec_priv, EH_SAML_SIG_RSA_PSS_SHA256, &xml,
                                                 &len, why, sizeof(why)),
                     EH_ERR_KEY);
    ck_assert_ptr_null(xml);
}
END_TEST

/* ---------------------------------------------------- signature refusals */
START_TEST(tampered_after_signing)
{
    char *xml = build_sample();
    char *t = replace(xml, NAT "Gender", NAT "CurrentAddress");
    refused(t, "signature");
    free(t);
    t = replace(xml, "isRequired=\"false\"", "isRequired=\"true\"");
    refused(t, "signature");
    free(t);
    t = replace(xml, "LoA/substantial", "LoA/low");
    refused(t, "signature");
    free(t);
    free(xml);
}
END_TEST

START_TEST(signature_removed)
{
    char *xml = build_sample();
    xmlDocPtr d = read_doc(xml);
    drop(eh_saml_find_signature(xmlDocGetRootElement(d)));
    char *t = doc_text(d);
    refused(t, "not signed");
    ck_assert_int_eq(T.taken, 1); /* the keys were looked up and given back */
    free(t);
    xmlFreeDoc(d);
    free(xml);
}
END_TEST

START_TEST(signed_by_attacker)
{
    eh_saml_authn_request r = sample();
    char *xml = build_with(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256);
    refused(xml, "signature");
    free(xml);
    /* the attacker's certificate in KeyInfo does not help either */
    char *pem;
    size_t n;
    pem = eh_test_saml_fixture("attacker.crt", &n);
    char *b64 = replace(pem, "-----BEGIN CERTIFICATE-----", "");
    char *b64b = replace(b64, "-----END CERTIFICATE-----", "");
    xml = build_with(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256);
    xmlDocPtr d = read_doc(xml);
    xmlNodePtr sig = eh_saml_find_signature(xmlDocGetRootElement(d));
    xmlNodePtr ki = xmlNewChild(sig, sig->ns, BAD_CAST "KeyInfo", NULL);
    xmlNodePtr xd = xmlNewChild(ki, sig->ns, BAD_CAST "X509Data", NULL);
    xmlNewTextChild(xd, sig->ns, BAD_CAST "X509Certificate", BAD_CAST b64b);
    char *t = doc_text(d);
    refused(t, "signature");
    free(t);
    xmlFreeDoc(d);
    free(xml);
    free(b64b);
    free(b64);
    free(pem);
    /* once the attacker is trusted under its own name, it verifies: so the
     * refusals above came from trust alone */
    trust_add("https://attacker.example/", attacker_pub);
    r.issuer = (char *)"https://attacker.example/";
    xml = build_with(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256);
    eh_saml_authn_request *got = accepted(xml);
    ck_assert_str_eq(got->issuer, "https://attacker.example/");
    eh_saml_authn_request_free(got);
    free(xml);
}
END_TEST

START_TEST(unknown_issuer)
{
    char why[200];
    eh_saml_authn_request r = sample(), *out = NULL;
    r.issuer = (char *)"https://unknown.example/metadata";
    char *xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    refused(xml, "unknown Issuer");
    ck_assert_int_eq(T.taken, 0);
    /* the reason does not quote the input */
    ck_assert_int_eq(check(xml, strlen(xml), &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_ptr_null(strstr(why, "example"));
    free(xml);
    /* a failing trust store is not the request's fault: its code passes */
    xml = build_sample();
    T.fail = EH_ERR_STORE_UNAVAILABLE;
    ck_assert_int_eq(check(xml, strlen(xml), &out, why, sizeof(why)), EH_ERR_STORE_UNAVAILABLE);
    ck_assert_int_eq(T.released, 0);
    free(xml);
}
END_TEST

static void edit_no_issuer(xmlNodePtr root)
{
    drop(eh_saml_child(root, EH_NS_SAML, "Issuer"));
}

static void edit_two_issuers(xmlNodePtr root)
{
    xmlNodePtr i = eh_saml_child(root, EH_NS_SAML, "Issuer");
    xmlAddNextSibling(i, xmlCopyNode(i, 1));
}

static void edit_issuer_with_child(xmlNodePtr root)
{
    xmlNodePtr i = eh_saml_child(root, EH_NS_SAML, "Issuer");
    eh_saml_new_child(i, i->ns, "Evil", "x");
}

static void edit_issuer_in_extensions(xmlNodePtr root)
{
    xmlNodePtr i = eh_saml_child(root, EH_NS_SAML, "Issuer");
    xmlUnlinkNode(i);
    xmlAddChild(extensions(root), i);
}

START_TEST(issuer_refusals)
{
    refused_variant(NULL, NULL, edit_no_issuer, "Issuer");
    refused_variant(NULL, NULL, edit_two_issuers, "Issuer");
    refused_variant(NULL, NULL, edit_issuer_with_child, "Issuer");
    refused_variant(EH_SAML_ISSUER_ENTITY, EH_SAML_NAMEID_UNSPECIFIED, NULL, "not an entity");
    /* the Issuer read from the root's direct children only: one inside
     * Extensions does not count */
    refused_variant(NULL, NULL, edit_issuer_in_extensions, "exactly one Issuer");
    ck_assert_int_eq(T.taken, 0);
}
END_TEST

/* Comments inside text never cut a value short: the full text is read. */
START_TEST(comments_do_not_truncate)
{
    char *xml = build_sample();
    /* comments are outside the signature (exclusive c14n without comments) */
    char *t = replace(xml, ">" CONNECTOR "<", ">https://connector.example/<!-- x -->metadata<");
    eh_saml_authn_request *got = accepted(t);
    ck_assert_str_eq(got->issuer, CONNECTOR);
    eh_saml_authn_request_free(got);
    free(t);
    t = replace(xml, ">private<", ">pri<!---->vate<");
    got = accepted(t);
    ck_assert_str_eq(got->sp_type, "private");
    eh_saml_authn_request_free(got);
    free(t);
    t = replace(xml, "LoA/substantial<", "LoA/sub<!---->stantial<");
    got = accepted(t);
    ck_assert_int_eq(got->loa, EH_LOA_SUBSTANTIAL);
    eh_saml_authn_request_free(got);
    free(t);
    free(xml);
    /* an attacker's issuer whose prefix is the Connector's: read in full,
     * it names the attacker (and without trust in it, is unknown) */
    eh_saml_authn_request r = sample();
    r.issuer = (char *)CONNECTOR ".attacker.example";
    xml = build_with(&r, attacker_priv, EH_SAML_SIG_ECDSA_SHA256);
    t = replace(xml, CONNECTOR ".attacker", CONNECTOR "<!---->.attacker");
    refused(t, "unknown Issuer");
    trust_add(CONNECTOR ".attacker.example", attacker_pub);
    got = accepted(t);
    ck_assert_str_eq(got->issuer, CONNECTOR ".attacker.example");
    eh_saml_authn_request_free(got);
    free(t);
    free(xml);
}
END_TEST

/* ------------------------------------------------------------- wrapping */

/* wrap builds an unsigned copy of the signed request as the new root (ID
 * wrapper_id, one more attribute asked) and moves the signed one into the
 * copy's Extensions; move_sig moves the signature to the copy as well. */
static char *wrap(const char *xml, const char *wrapper_id, int move_sig)
{
    xmlDocPtr d = read_doc(xml);
    xmlNodePtr signed_one = xmlDocGetRootElement(d);
    xmlNodePtr copy = xmlDocCopyNode(signed_one, d, 1);
    xmlNodePtr csig = eh_saml_find_signature(copy);
    drop(csig);
    xmlSetProp(copy, BAD_CAST "ID", BAD_CAST wrapper_id);
    xmlSetProp(copy, BAD_CAST "AssertionConsumerServiceURL", BAD_CAST "https://evil.example/");
    xmlNodePtr first = eh_saml_child(requested_attributes(copy), EH_NS_EIDAS, "RequestedAttribute");
    xmlNodePtr extra = xmlCopyNode(first, 1);
    xmlSetProp(extra, BAD_CAST "Name", BAD_CAST NAT "CurrentAddress");
    xmlAddChild(requested_attributes(copy), extra);
    ck_assert_ptr_eq(xmlDocSetRootElement(d, copy), signed_one);
    if (move_sig) {
        xmlNodePtr sig = eh_saml_find_signature(signed_one);
        xmlUnlinkNode(sig);
        xmlAddNextSibling(eh_saml_child(copy, EH_NS_SAML, "Issuer"), sig);
    }
    xmlAddChild(extensions(copy), signed_one);
    char *t = doc_text(d);
    xmlFreeDoc(d);
    return t;
}

START_TEST(wrapping_refused)
{
    char *xml = build_sample();
    /* the signed request inside the Extensions of an unsigned root */
    char *t = wrap(xml, "_wrapper", 0);
    refused(t, "not signed");
    free(t);
    /* ... with the signature moved up to the unsigned root: its Reference
     * points at the inner request, not at the root */
    t = wrap(xml, "_wrapper", 1);
    refused(t, "Reference");
    free(t);
    /* ... and the root taking the signed one's ID: duplicate IDs */
    t = wrap(xml, "_0a1b2c3d4e5f", 1);
    refused(t, "ID");
    free(t);
    t = wrap(xml, "_0a1b2c3d4e5f", 0);
    refused(t, NULL);
    free(t);
    /* the signed request under a root of another kind */
    t = replace(xml, "<samlp:AuthnRequest", "<samlp:Wrapper><samlp:AuthnRequest");
    char *t2 = replace(t, "</samlp:AuthnRequest>", "</samlp:AuthnRequest></samlp:Wrapper>");
    char *t3 = replace(t2, "<samlp:Wrapper>", "<samlp:Wrapper xmlns:samlp=\"" EH_NS_SAMLP "\">");
    refused(t3, "not an AuthnRequest");
    free(t3);
    free(t2);
    free(t);
    /* an unsigned clone slipped into the signed one's Extensions after
     * signing: the signature no longer holds */
    xmlDocPtr d = read_doc(xml);
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr clone = xmlDocCopyNode(root, d, 1);
    drop(eh_saml_find_signature(clone));
    xmlSetProp(clone, BAD_CAST "ID", BAD_CAST "_clone");
    xmlAddChild(extensions(root), clone);
    t = doc_text(d);
    refused(t, "signature");
    free(t);
    xmlFreeDoc(d);
    free(xml);
}
END_TEST

/* ------------------------------------------------ header and time checks */
START_TEST(destination_mismatch)
{
    eh_saml_authn_request r = sample();
    r.destination = (char *)PROXY_SSO "/";
    char *xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    refused(xml, "Destination does not match");
    free(xml);
    refused_variant(" Destination=\"" PROXY_SSO "\"", "", NULL, "Destination does not match");
}
END_TEST

START_TEST(issue_instant_window)
{
    eh_saml_authn_request r = sample();
    eh_saml_authn_request *got;
    char *xml;
    /* within the skew ahead: fine */
    r.issue_instant = EXPECT.now + SKEW;
    xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    got = accepted(xml);
    ck_assert_int_eq(got->issue_instant, EXPECT.now + SKEW);
    eh_saml_authn_request_free(got);
    free(xml);
    /* beyond it */
    r.issue_instant = EXPECT.now + SKEW + 1;
    xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    refused(xml, "future");
    free(xml);
    /* as old as allowed (the age plus the skew), then one second older */
    r.issue_instant = EXPECT.now - MAX_AGE - SKEW;
    xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    got = accepted(xml);
    eh_saml_authn_request_free(got);
    free(xml);
    r.issue_instant = EXPECT.now - MAX_AGE - SKEW - 1;
    xml = build_with(&r, ec_priv, EH_SAML_SIG_ECDSA_SHA256);
    refused(xml, "too old");
    free(xml);
    /* missing or malformed */
    refused_variant(" IssueInstant=\"2023-11-14T22:13:20Z\"", "", NULL, "IssueInstant");
    refused_variant("2023-11-14T22:13:20Z", "2023-11-14 22:13:20", NULL, "IssueInstant");
    refused_variant("2023-11-14T22:13:20Z", "yesterday", NULL, "IssueInstant");
}
END_TEST

START_TEST(header_refusals)
{
    refused_variant("Version=\"2.0\"", "Version=\"1.1\"", NULL, "Version");
    refused_variant(" Version=\"2.0\"", "", NULL, "Version");
    refused_variant("_0a1b2c3d4e5f", "1a1b2c3d4e5f", NULL, "ID");
    refused_variant("_0a1b2c3d4e5f", "_0a1b/2c3d", NULL, "ID");
    refused_variant("ForceAuthn=\"true\"", "ForceAuthn=\"yes\"", NULL, "ForceAuthn");
    refused_variant("samlp:AuthnRequest", "samlp:LogoutRequest", NULL, "not an AuthnRequest");
}
END_TEST

/* ---------------------------------------------------- parser-level limits */
START_TEST(doctype_and_huge_input)
{
    char why[200];
    eh_saml_authn_request *out = NULL;
    char *xml = build_sample();
    char *t = replace(xml, "<samlp:AuthnRequest",
                      "<!DOCTYPE x [<!ENTITY e \"private\">]>\n<samlp:AuthnRequest");
    refused(t, "DOCTYPE");
    free(t);
    /* the valid request padded beyond EH_SAML_MAX_INPUT with white space */
    size_t n = strlen(xml), big = EH_SAML_MAX_INPUT + 16;
    char *huge = malloc(big + 1);
    memcpy(huge, xml, n);
    memset(huge + n, ' ', big - n);
    huge[big] = '\0';
    ck_assert_int_eq(check(huge, big, &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(why, "too large"));
    free(huge);
    /* truncated, empty, random bytes, nested too deep */
    ck_assert_int_eq(check(xml, n / 2, &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_int_eq(check(xml, 0, &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_int_eq(check(NULL, 0, &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_int_eq(check("\x01\xff\xfe<<&", 6, &out, why, sizeof(why)), EH_ERR_INVALID);
    char deep[2000] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "<a>");
    for (int i = 0; i < 100; i++)
        strcat(deep, "</a>");
    ck_assert_int_eq(check(deep, strlen(deep), &out, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_int_eq(T.taken, 0);
    free(xml);
}
END_TEST

/* ------------------------------------------------------- the extensions */
static void edit_no_extensions(xmlNodePtr root)
{
    drop(extensions(root));
}

static void edit_no_requested_attributes(xmlNodePtr root)
{
    drop(requested_attributes(root));
}

static void edit_empty_requested_attributes(xmlNodePtr root)
{
    xmlNodePtr ras = requested_attributes(root), c;
    while ((c = ras->children) != NULL)
        drop(c);
}

static void grow_attributes(xmlNodePtr root, size_t total)
{
    xmlNodePtr ras = requested_attributes(root);
    xmlNodePtr first = eh_saml_child(ras, EH_NS_EIDAS, "RequestedAttribute");
    while (eh_saml_child_count(ras, EH_NS_EIDAS, "RequestedAttribute") < total)
        xmlAddChild(ras, xmlCopyNode(first, 1));
}

static void edit_max_attributes(xmlNodePtr root)
{
    grow_attributes(root, EH_SAML_MAX_REQUESTED);
}

static void edit_too_many_attributes(xmlNodePtr root)
{
    grow_attributes(root, EH_SAML_MAX_REQUESTED + 1);
}

static void edit_no_name(xmlNodePtr root)
{
    xmlUnsetProp(eh_saml_child(requested_attributes(root), EH_NS_EIDAS, "RequestedAttribute"),
                 BAD_CAST "Name");
}

static void edit_no_name_format(xmlNodePtr root)
{
    xmlUnsetProp(eh_saml_child(requested_attributes(root), EH_NS_EIDAS, "RequestedAttribute"),
                 BAD_CAST "NameFormat");
}

static void edit_two_sp_types(xmlNodePtr root)
{
    xmlNodePtr sp = eh_saml_child(extensions(root), EH_NS_EIDAS, "SPType");
    xmlAddNextSibling(sp, xmlCopyNode(sp, 1));
}

START_TEST(requested_attribute_refusals)
{
    refused_variant(NULL, NULL, edit_no_extensions, "Extensions");
    refused_variant(NULL, NULL, edit_no_requested_attributes, "RequestedAttributes");
    refused_variant(NULL, NULL, edit_empty_requested_attributes, "requested attributes");
    refused_variant(NULL, NULL, edit_too_many_attributes, "requested attributes");
    refused_variant(NULL, NULL, edit_no_name, "without Name");
    refused_variant(NULL, NULL, edit_no_name_format, "NameFormat");
    refused_variant(EH_SAML_ATTRNAME_URI, "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", NULL,
                    "NameFormat");
    refused_variant("isRequired=\"false\"", "isRequired=\"maybe\"", NULL, "isRequired");
    /* the most allowed */
    char *xml = build_sample(), *v = resign(xml, NULL, NULL, edit_max_attributes);
    eh_saml_authn_request *got = accepted(v);
    ck_assert_uint_eq(got->n_attrs, EH_SAML_MAX_REQUESTED);
    eh_saml_authn_request_free(got);
    free(v);
    /* isRequired spelled 1/0 or absent; unknown attribute names are kept */
    v = resign(xml, "isRequired=\"false\"", "isRequired=\"1\"", NULL);
    char *w = replace(v, "isRequired=\"true\"", "isRequired=\"0\"");
    free(v);
    v = resign(w, NAT "DateOfBirth", "urn:example:unknown", NULL);
    free(w);
    got = accepted(v);
    ck_assert_int_eq(got->attrs[0].is_required, 0);
    ck_assert_int_eq(got->attrs[4].is_required, 1);
    ck_assert_str_eq(got->attrs[3].name, "urn:example:unknown");
    eh_saml_authn_request_free(got);
    free(v);
    v = resign(xml, " isRequired=\"false\"", "", NULL);
    got = accepted(v);
    ck_assert_int_eq(got->attrs[4].is_required, 0);
    eh_saml_authn_request_free(got);
    free(v);
    free(xml);
}
END_TEST

START_TEST(sp_type_and_name_id)
{
    refused_variant(">private<", ">mixed<", NULL, "unknown SPType");
    refused_variant(">private<", "><", NULL, "unknown SPType");
    refused_variant(NULL, NULL, edit_two_sp_types, "SPType");
    refused_variant(EH_SAML_NAMEID_PERSISTENT,
                    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", NULL,
                    "NameIDPolicy Format");
    char *xml = build_sample();
    char *v = resign(xml, EH_SAML_NAMEID_PERSISTENT, EH_SAML_NAMEID_UNSPECIFIED, NULL);
    eh_saml_authn_request *got = accepted(v);
    ck_assert_str_eq(got->name_id_format, EH_SAML_NAMEID_UNSPECIFIED);
    eh_saml_authn_request_free(got);
    free(v);
    free(xml);
}
END_TEST

/* --------------------------------------------------------------- the LoA */
static void edit_no_authn_context(xmlNodePtr root)
{
    drop(authn_context(root));
}

static void edit_no_comparison(xmlNodePtr root)
{
    xmlUnsetProp(authn_context(root), BAD_CAST "Comparison");
}

static void add_class_ref(xmlNodePtr root, const char *uri)
{
    xmlNodePtr rac = authn_context(root);
    xmlNodePtr ref = eh_saml_child(rac, EH_NS_SAML, "AuthnContextClassRef");
    ck_assert_ptr_nonnull(eh_saml_new_child(rac, ref->ns, "AuthnContextClassRef", uri));
}

static void edit_several_loas(xmlNodePtr root)
{
    add_class_ref(root, "http://eidas.europa.eu/LoA/high");
    add_class_ref(root, "urn:example:loa:gold");
    add_class_ref(root, "http://eidas.europa.eu/LoA/low");
}

static void edit_mixed_loas(xmlNodePtr root)
{
    add_class_ref(root, "http://eidas.europa.eu/NonNotified/LoA/low");
}

START_TEST(authn_context_refusals)
{
    refused_variant(NULL, NULL, edit_no_authn_context, "RequestedAuthnContext");
    refused_variant(NULL, NULL, edit_no_comparison, "Comparison");
    refused_variant("Comparison=\"minimum\"", "Comparison=\"better\"", NULL, "Comparison");
    refused_variant("Comparison=\"minimum\"", "Comparison=\"maximum\"", NULL, "Comparison");
    /* exact with a notified URI, minimum with a NonNotified one */
    refused_variant("Comparison=\"minimum\"", "Comparison=\"exact\"", NULL,
                    "Comparison does not fit");
    refused_variant("http://eidas.europa.eu/LoA/", "http://eidas.europa.eu/NonNotified/LoA/", NULL,
                    "Comparison does not fit");
    refused_variant(NULL, NULL, edit_mixed_loas, "Comparison does not fit");
    /* unknown levels */
    refused_variant("LoA/substantial", "LoA/medium", NULL, "no known LoA");
    refused_variant(">http://eidas.europa.eu/LoA/substantial<", ">substantial<", NULL,
                    "no known LoA");
    refused_variant("http://eidas.europa.eu/LoA/substantial",
                    "http://eidas.europa.eu/LoA/substantial/x", NULL, "no known LoA");
    /* several: unknown ones skipped, the lowest known one taken */
    char *xml = build_sample(), *v = resign(xml, NULL, NULL, edit_several_loas);
    eh_saml_authn_request *got = accepted(v);
    ck_assert_int_eq(got->loa, EH_LOA_LOW);
    ck_assert_int_eq(got->comparison, EH_LOA_MINIMUM);
    eh_saml_authn_request_free(got);
    free(v);
    free(xml);
}
END_TEST

Suite *suite_saml_authn_request(void)
{
    Suite *s = suite_create("saml_authn_request");
    TCase *tc = tcase_create("build");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_ecdsa_p256);
    tcase_add_test(tc, round_trip_rsa_pss);
    tcase_add_test(tc, exact_non_notified);
    tcase_add_test(tc, built_shape);
    tcase_add_test(tc, minimal_request);
    tcase_add_test(tc, build_refuses_incomplete);
    suite_add_tcase(s, tc);
    tc = tcase_create("refuse");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tampered_after_signing);
    tcase_add_test(tc, signature_removed);
    tcase_add_test(tc, signed_by_attacker);
    tcase_add_test(tc, unknown_issuer);
    tcase_add_test(tc, issuer_refusals);
    tcase_add_test(tc, comments_do_not_truncate);
    tcase_add_test(tc, wrapping_refused);
    tcase_add_test(tc, destination_mismatch);
    tcase_add_test(tc, issue_instant_window);
    tcase_add_test(tc, header_refusals);
    tcase_add_test(tc, doctype_and_huge_input);
    tcase_add_test(tc, requested_attribute_refusals);
    tcase_add_test(tc, sp_type_and_name_id);
    tcase_add_test(tc, authn_context_refusals);
    suite_add_tcase(s, tc);
    return s;
}
