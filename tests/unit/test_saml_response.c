/* Unit tests for broker/saml/saml_response.c (suite saml_response): the
 * eIDAS Response built by a Proxy-Service and consumed by a Connector, and
 * every SAML case of SECURITY.md that concerns responses, each with a
 * crafted message.
 *
 * How messages are crafted: a baseline spec (base_spec) and expectation
 * (base_expect) make a valid response; each test changes one thing. To
 * break a signature the text or DOM is altered after signing; checks that
 * sit behind the signatures are reached either with wrong values in the
 * spec (so the signatures are valid) or by tamper(): it decrypts the
 * assertion with the Connector's key, lets a mutator change the DOM,
 * encrypts again and re-signs the Response with the trusted key, so that
 * only the defence under test can refuse the message. */
#include "tests/unit/suites.h"
#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_xml.h"

#define FX EH_TEST_FIXTURES "/saml/"

#define NOW ((int64_t)1750000000)
#define PROXY "https://proxy.example.eu/eidas/metadata"
#define ACS "https://connector.example.ee/eidas/acs"
#define CONNECTOR "https://connector.example.ee/eidas/metadata"
#define REQ_ID "_0123456789abcdef0123456789abcdef"
#define RESP_ID "_resp00000000000000000000000000001"
#define ASSERT_ID "_assert000000000000000000000000001"
#define PERSON "EE/DE/38001085718"
#define EVIL "EE/DE/66666666666"
#define PID_URI EH_NS_EIDAS_NATURAL "/PersonIdentifier"
#define FAMILY_URI EH_NS_EIDAS_NATURAL "/CurrentFamilyName"
#define BIRTH_URI EH_NS_EIDAS_NATURAL "/DateOfBirth"
#define LEGAL_URI EH_NS_EIDAS_LEGAL "/LegalName"
#define OTHER_URI "http://example.eu/attributes/Other"

static eh_saml_keys *k_signer;    /* the Proxy-Service: EC P-256 private */
static eh_saml_keys *k_trusted;   /* its public key, as from its metadata */
static eh_saml_keys *k_ours;      /* the Connector: RSA-3072 private */
static eh_saml_keys *k_recipient; /* its public key */
static eh_saml_keys *k_attacker;  /* EC P-256 private, trusted by nobody */
static eh_saml_keys *k_pss;       /* RSA-3072 private, for RSA-PSS */
static eh_saml_keys *k_pss_pub;
static json_t *g_attrs;

/* ---------------------------------------------------------------- helpers */
static void setup(void)
{
    k_signer = eh_test_saml_keys("ec256.pem");
    k_trusted = eh_test_saml_keys("ec256.pub.pem");
    k_ours = eh_test_saml_keys("rsa3072.pem");
    k_recipient = eh_test_saml_keys("rsa3072.pub.pem");
    k_attacker = eh_test_saml_keys("attacker.pem");
    k_pss = eh_test_saml_keys("rsa3072.pem");
    k_pss_pub = eh_test_saml_keys("rsa3072.pub.pem");
    g_attrs = json_pack("{s:s, s:s, s:s, s:s, s:s}", PID_URI, PERSON, FAMILY_URI, "Tamm", BIRTH_URI,
                        "1980-01-08", LEGAL_URI, "Example OÜ", OTHER_URI, "x & <y>");
    ck_assert_ptr_nonnull(g_attrs);
}

static void teardown(void)
{
    eh_saml_keys_free(k_signer);
    eh_saml_keys_free(k_trusted);
    eh_saml_keys_free(k_ours);
    eh_saml_keys_free(k_recipient);
    eh_saml_keys_free(k_attacker);
    eh_saml_keys_free(k_pss);
    eh_saml_keys_free(k_pss_pub);
    json_decref(g_attrs);
}

/* base_spec: a valid success answer to REQ_ID; each test changes one thing. */
static void base_spec(eh_saml_response_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->id = RESP_ID;
    s->assertion_id = ASSERT_ID;
    s->issuer = PROXY;
    s->destination = ACS;
    s->in_response_to = REQ_ID;
    s->audience = CONNECTOR;
    s->now = NOW;
    s->valid_s = 300;
    s->status = EH_SAML_STATUS_SUCCESS;
    s->name_id = PERSON;
    s->name_id_format = EH_SAML_NAMEID_PERSISTENT;
    s->loa = EH_LOA_SUBSTANTIAL;
    s->comparison = EH_LOA_MINIMUM;
    s->authn_instant = NOW - 10;
    s->attributes = g_attrs;
}

/* base_expect: what the Connector that sent REQ_ID expects, 5 s later. */
static void base_expect(eh_saml_response_expect *x)
{
    memset(x, 0, sizeof(*x));
    x->issuer = PROXY;
    x->trusted = k_trusted;
    x->ours = k_ours;
    x->destination = ACS;
    x->audience = CONNECTOR;
    x->in_response_to = REQ_ID;
    x->min_loa = EH_LOA_SUBSTANTIAL;
    x->comparison = EH_LOA_MINIMUM;
    x->now = NOW + 5;
    x->skew_s = 60;
}

static char *build_with(const eh_saml_response_spec *s, const eh_saml_keys *signer,
                        eh_saml_sig_alg alg, eh_saml_enc_alg enc)
{
    char why[200] = "", *xml = NULL;
    size_t len = 0;
    ck_assert_msg(eh_saml_response_build(s, signer, alg, k_recipient, enc, &xml, &len, why,
                                         sizeof(why)) == EH_OK,
                  "build: %s", why);
    ck_assert_ptr_nonnull(xml);
    ck_assert_uint_eq(strlen(xml), len);
    return xml;
}

static char *build(const eh_saml_response_spec *s)
{
    return build_with(s, k_signer, EH_SAML_SIG_ECDSA_SHA256, EH_SAML_ENC_AES256_GCM);
}

static char *build_base(void)
{
    eh_saml_response_spec s;
    base_spec(&s);
    return build(&s);
}

static eh_saml_response_result *accepted(const char *xml, const eh_saml_response_expect *x)
{
    char why[200] = "";
    eh_saml_response_result *r = NULL;
    eh_rc rc = eh_saml_response_consume(xml, strlen(xml), x, &r, why, sizeof(why));
    ck_assert_msg(rc == EH_OK, "refused (%d): %s", rc, why);
    ck_assert_ptr_nonnull(r);
    return r;
}

static eh_saml_response_result *accepted_base(const char *xml)
{
    eh_saml_response_expect x;
    base_expect(&x);
    return accepted(xml, &x);
}

/* refused_rc: consume must fail with want, leave *out NULL and, when
 * reason is given, say a reason containing it. */
static void refused_rc(const char *xml, size_t len, const eh_saml_response_expect *x, eh_rc want,
                       const char *reason)
{
    char why[200] = "";
    static eh_saml_response_result sentinel;
    eh_saml_response_result *r = &sentinel; /* must be reset to NULL */
    eh_rc rc = eh_saml_response_consume(xml, len, x, &r, why, sizeof(why));
    ck_assert_msg(rc == want, "expected refusal %d (%s), got %d: %s", want,
                  reason ? reason : "any", rc, why);
    ck_assert_ptr_null(r);
    ck_assert_msg(why[0] != '\0', "no reason given");
    if (reason != NULL)
        ck_assert_msg(strstr(why, reason) != NULL, "reason \"%s\", expected \"%s\"", why, reason);
}

/* refused_len: a malformed or unauthentic response (EH_ERR_INVALID). */
static void refused_len(const char *xml, size_t len, const eh_saml_response_expect *x,
                        const char *reason)
{
    refused_rc(xml, len, x, EH_ERR_INVALID, reason);
}

static void refused(const char *xml, const eh_saml_response_expect *x, const char *reason)
{
    refused_len(xml, strlen(xml), x, reason);
}

/* unmet: a valid response that does not meet the request (EH_ERR_UNMET). */
static void unmet(const char *xml, const eh_saml_response_expect *x, const char *reason)
{
    refused_rc(xml, strlen(xml), x, EH_ERR_UNMET, reason);
}

static void refused_base(const char *xml, const char *reason)
{
    eh_saml_response_expect x;
    base_expect(&x);
    refused(xml, &x, reason);
}

static xmlNodePtr child(xmlNodePtr p, const char *ns, const char *name)
{
    xmlNodePtr c = eh_saml_child(p, ns, name);
    ck_assert_msg(c != NULL, "no %s", name);
    return c;
}

static xmlNodePtr name_id_of(xmlNodePtr a)
{
    return child(child(a, EH_NS_SAML, "Subject"), EH_NS_SAML, "NameID");
}

static void drop(xmlNodePtr n)
{
    ck_assert_ptr_nonnull(n);
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* resign signs n again (its old signature removed) with k, ECDSA-SHA256. */
static void resign(xmlDocPtr d, xmlNodePtr n, const eh_saml_keys *k)
{
    char why[200] = "";
    xmlNodePtr sig = eh_saml_find_signature(n);
    if (sig != NULL)
        drop(sig);
    ck_assert_msg(eh_saml_sign(d, n, eh_saml_child(n, EH_NS_SAML, "Issuer"),
                               EH_SAML_SIG_ECDSA_SHA256, k, why, sizeof(why)) == EH_OK,
                  "sign: %s", why);
}

typedef void (*mutator)(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg);

enum {
    T_ASSERTION =
        1, /* decrypt the assertion before, encrypt what the EncryptedAssertions hold after */
    T_RESIGN = 2, /* re-sign the Response with the trusted key after */
};

/* tamper parses xml, applies f and returns the new text (caller frees). */
static char *tamper(const char *xml, mutator f, const void *arg, int flags)
{
    char why[200] = "", *out = NULL;
    xmlDocPtr d = NULL;
    xmlNodePtr root, a = NULL;

    ck_assert_int_eq(eh_saml_parse(xml, strlen(xml), &d, why, sizeof(why)), EH_OK);
    root = xmlDocGetRootElement(d);
    if (flags & T_ASSERTION) {
        xmlNodePtr ed =
            child(child(root, EH_NS_SAML, "EncryptedAssertion"), EH_NS_XENC, "EncryptedData");
        ck_assert_msg(eh_saml_decrypt(d, ed, k_ours, &a, why, sizeof(why)) == EH_OK, "%s", why);
    }
    f(d, root, a, arg);
    root = xmlDocGetRootElement(d);
    if (flags & T_ASSERTION) {
        for (xmlNodePtr ea = eh_saml_first_el(root); ea; ea = eh_saml_next_el(ea)) {
            if (!eh_saml_is(ea, EH_NS_SAML, "EncryptedAssertion"))
                continue;
            for (xmlNodePtr c = eh_saml_first_el(ea), next; c; c = next) {
                xmlNodePtr ed = NULL;
                next = eh_saml_next_el(c);
                if (eh_saml_is(c, EH_NS_XENC, "EncryptedData"))
                    continue;
                ck_assert_msg(eh_saml_encrypt(d, c, EH_SAML_ENC_AES256_GCM, k_recipient, &ed, why,
                                              sizeof(why)) == EH_OK,
                              "%s", why);
            }
        }
    }
    if (flags & T_RESIGN)
        resign(d, root, k_signer);
    ck_assert_int_eq(eh_saml_doc_text(d, &out, NULL), EH_OK);
    xmlFreeDoc(d);
    return out;
}

/* tamper_base: tamper() on the baseline response. */
static char *tamper_base(mutator f, const void *arg, int flags)
{
    char *xml = build_base();
    char *out = tamper(xml, f, arg, flags);
    free(xml);
    return out;
}

/* evil_copy: a copy of assertion a (or of a Response) naming the attacker's
 * victim; keep_sig keeps the copied signature, id (or NULL) replaces the ID. */
static xmlNodePtr evil_copy(xmlDocPtr d, xmlNodePtr a, int keep_sig, const char *id)
{
    xmlNodePtr e = xmlDocCopyNode(a, d, 1);
    ck_assert_ptr_nonnull(e);
    if (!keep_sig)
        drop(eh_saml_find_signature(e));
    if (id != NULL)
        xmlSetProp(e, BAD_CAST "ID", BAD_CAST id);
    if (eh_saml_is(e, EH_NS_SAML, "Assertion"))
        xmlNodeSetContent(name_id_of(e), BAD_CAST EVIL);
    return e;
}

static xmlNodePtr extensions(xmlNodePtr resp)
{
    xmlNodePtr ext = xmlNewNode(NULL, BAD_CAST "Extensions");
    xmlSetNs(ext, resp->ns);
    ck_assert_ptr_nonnull(xmlAddNextSibling(child(resp, EH_NS_SAML, "Issuer"), ext));
    return ext;
}

static char *insert_doctype(const char *xml, const char *doctype)
{
    const char *body = strstr(xml, "<samlp:Response");
    ck_assert_ptr_nonnull(body);
    size_t n = strlen(xml) + strlen(doctype) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(body - xml), xml, doctype, body);
    return out;
}

static void check_attr(const eh_saml_response_result *r, const char *uri, const char *value)
{
    json_t *arr = json_object_get(r->attributes, uri);
    ck_assert_msg(json_is_array(arr) && json_array_size(arr) == 1, "attribute %s", uri);
    ck_assert_str_eq(json_string_value(json_array_get(arr, 0)), value);
}

/* ------------------------------------------------------------ round trips */
static void check_base_result(const eh_saml_response_result *r)
{
    ck_assert_str_eq(r->issuer, PROXY);
    ck_assert_str_eq(r->in_response_to, REQ_ID);
    ck_assert_str_eq(r->status, EH_SAML_STATUS_SUCCESS);
    ck_assert_ptr_null(r->sub_status);
    ck_assert_ptr_null(r->status_message);
    ck_assert_str_eq(r->assertion_id, ASSERT_ID);
    ck_assert_int_eq(r->not_on_or_after, NOW + 300);
    ck_assert_str_eq(r->name_id, PERSON);
    ck_assert_str_eq(r->name_id_format, EH_SAML_NAMEID_PERSISTENT);
    ck_assert_int_eq(r->loa, EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(r->authn_instant, NOW - 10);
    ck_assert_uint_eq(json_object_size(r->attributes), 5);
    check_attr(r, PID_URI, PERSON);
    check_attr(r, FAMILY_URI, "Tamm");
    check_attr(r, BIRTH_URI, "1980-01-08");
    check_attr(r, LEGAL_URI, "Example OÜ");
    check_attr(r, OTHER_URI, "x & <y>");
}

static const char *prop_of(xmlNodePtr n, const char *name, char *buf, size_t len)
{
    char *v = eh_saml_prop(n, name);
    ck_assert_msg(v != NULL, "no attribute %s", name);
    snprintf(buf, len, "%s", v);
    free(v);
    return buf;
}

static const char *xsi_type_of(xmlNodePtr v, char *buf, size_t len)
{
    xmlChar *t = xmlGetNsProp(v, BAD_CAST "type", BAD_CAST EH_NS_XSI);
    ck_assert_ptr_nonnull(t);
    snprintf(buf, len, "%s", (char *)t);
    xmlFree(t);
    return buf;
}

/* check_shape reads our own output: the element order of the Response, and
 * the decrypted Assertion, which must parse and verify on its own (every
 * namespace it uses declared inside it). */
static void check_shape(const char *xml)
{
    char why[200] = "", buf[256];
    xmlDocPtr d = NULL, alone = NULL;
    xmlNodePtr root, c, a = NULL, cov = NULL;

    /* the citizen's data never travels in clear */
    ck_assert_ptr_null(strstr(xml, "38001085718"));
    ck_assert_ptr_null(strstr(xml, "Tamm"));
    ck_assert_int_eq(eh_saml_parse(xml, strlen(xml), &d, why, sizeof(why)), EH_OK);
    root = xmlDocGetRootElement(d);
    ck_assert(eh_saml_is(root, EH_NS_SAMLP, "Response"));
    ck_assert_str_eq(prop_of(root, "ID", buf, sizeof(buf)), RESP_ID);
    ck_assert_str_eq(prop_of(root, "Version", buf, sizeof(buf)), "2.0");
    ck_assert_str_eq(prop_of(root, "Destination", buf, sizeof(buf)), ACS);
    ck_assert_str_eq(prop_of(root, "InResponseTo", buf, sizeof(buf)), REQ_ID);
    c = eh_saml_first_el(root);
    ck_assert(eh_saml_is(c, EH_NS_SAML, "Issuer"));
    ck_assert_str_eq(prop_of(c, "Format", buf, sizeof(buf)), EH_SAML_ISSUER_ENTITY);
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_DS, "Signature"));
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_SAMLP, "Status"));
    c = eh_saml_next_el(c);
    ck_assert(eh_saml_is(c, EH_NS_SAML, "EncryptedAssertion"));
    ck_assert_ptr_null(eh_saml_next_el(c));
    xmlNodePtr ed = eh_saml_first_el(c);
    ck_assert(eh_saml_is(ed, EH_NS_XENC, "EncryptedData"));
    ck_assert_ptr_null(eh_saml_next_el(ed));

    ck_assert_int_eq(eh_saml_decrypt(d, ed, k_ours, &a, why, sizeof(why)), EH_OK);
    ck_assert(eh_saml_is(a, EH_NS_SAML, "Assertion"));
    c = eh_saml_first_el(a);
    ck_assert(eh_saml_is(c, EH_NS_SAML, "Issuer"));
    ck_assert(eh_saml_is(eh_saml_next_el(c), EH_NS_DS, "Signature"));
    xmlNodePtr sc = child(child(a, EH_NS_SAML, "Subject"), EH_NS_SAML, "SubjectConfirmation");
    ck_assert_str_eq(prop_of(sc, "Method", buf, sizeof(buf)), EH_SAML_CM_BEARER);
    xmlNodePtr scd = child(sc, EH_NS_SAML, "SubjectConfirmationData");
    ck_assert_str_eq(prop_of(scd, "Recipient", buf, sizeof(buf)), ACS);
    ck_assert_str_eq(prop_of(scd, "InResponseTo", buf, sizeof(buf)), REQ_ID);
    xmlNodePtr cond = child(a, EH_NS_SAML, "Conditions");
    char want[EH_SAML_TIME_LEN];
    eh_saml_time_format(NOW, want);
    ck_assert_str_eq(prop_of(cond, "NotBefore", buf, sizeof(buf)), want);
    eh_saml_time_format(NOW + 300, want);
    ck_assert_str_eq(prop_of(cond, "NotOnOrAfter", buf, sizeof(buf)), want);
    xmlNodePtr ref =
        child(child(child(a, EH_NS_SAML, "AuthnStatement"), EH_NS_SAML, "AuthnContext"), EH_NS_SAML,
              "AuthnContextClassRef");
    char *t = eh_saml_text(ref);
    ck_assert_str_eq(t, "http://eidas.europa.eu/LoA/substantial");
    free(t);
    /* attributes: Name, NameFormat, FriendlyName, xsi:type */
    int seen = 0;
    for (xmlNodePtr at = eh_saml_first_el(child(a, EH_NS_SAML, "AttributeStatement")); at;
         at = eh_saml_next_el(at), seen++) {
        char name[256], type[256];
        prop_of(at, "Name", name, sizeof(name));
        ck_assert_str_eq(prop_of(at, "NameFormat", buf, sizeof(buf)), EH_SAML_ATTRNAME_URI);
        ck_assert_str_eq(prop_of(at, "FriendlyName", buf, sizeof(buf)), strrchr(name, '/') + 1);
        xsi_type_of(child(at, EH_NS_SAML, "AttributeValue"), type, sizeof(type));
        if (strcmp(name, PID_URI) == 0)
            ck_assert_str_eq(type, "eidas-natural:PersonIdentifierType");
        else if (strcmp(name, LEGAL_URI) == 0)
            ck_assert_str_eq(type, "eidas-legal:LegalNameType");
        else if (strcmp(name, OTHER_URI) == 0)
            ck_assert_str_eq(type, "xs:string");
    }
    ck_assert_int_eq(seen, 5);
    /* the xsi:type prefixes are declared on the Assertion itself */
    ck_assert_ptr_nonnull(xmlSearchNs(d, a, BAD_CAST "eidas-natural"));
    int declared = 0;
    for (xmlNsPtr ns = a->nsDef; ns; ns = ns->next)
        declared += xmlStrEqual(ns->prefix, BAD_CAST "eidas-natural") ||
                    xmlStrEqual(ns->prefix, BAD_CAST "eidas-legal") ||
                    xmlStrEqual(ns->prefix, BAD_CAST "xs") ||
                    xmlStrEqual(ns->prefix, BAD_CAST "xsi") ||
                    xmlStrEqual(ns->prefix, BAD_CAST "saml");
    ck_assert_int_eq(declared, 5);

    /* standalone: the Assertion's own text parses and its signature verifies */
    xmlBufferPtr b = xmlBufferCreate();
    ck_assert_int_gt(xmlNodeDump(b, d, a, 0, 0), 0);
    ck_assert_int_eq(eh_saml_parse((const char *)xmlBufferContent(b), (size_t)xmlBufferLength(b),
                                   &alone, why, sizeof(why)),
                     EH_OK);
    xmlBufferFree(b);
    xmlNodePtr ar = xmlDocGetRootElement(alone);
    ck_assert_msg(eh_saml_verify(alone, eh_saml_find_signature(ar), k_trusted, &cov, why,
                                 sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_ptr_eq(cov, ar);
    xmlFreeDoc(alone);
    xmlFreeDoc(d);
}

START_TEST(round_trip_ecdsa_rsa_oaep)
{
    char *xml = build_base();
    check_shape(xml);
    eh_saml_response_result *r = accepted_base(xml);
    check_base_result(r);
    eh_saml_response_result_free(r);
    /* the same text twice gives the same replay key: the store refuses the second */
    r = accepted_base(xml);
    ck_assert_str_eq(r->assertion_id, ASSERT_ID);
    ck_assert_int_eq(r->not_on_or_after, NOW + 300);
    eh_saml_response_result_free(r);
    free(xml);
}
END_TEST

START_TEST(round_trip_rsa_pss)
{
    static const eh_saml_sig_alg algs[] = {EH_SAML_SIG_RSA_PSS_SHA256, EH_SAML_SIG_RSA_PSS_SHA512};
    eh_saml_response_spec s;
    eh_saml_response_expect x;
    base_spec(&s);
    base_expect(&x);
    x.trusted = k_pss_pub;
    for (size_t i = 0; i < 2; i++) {
        char *xml =
            build_with(&s, k_pss, algs[i], i ? EH_SAML_ENC_AES128_GCM : EH_SAML_ENC_AES256_GCM);
        ck_assert_ptr_nonnull(strstr(xml, "rsa-MGF1"));
        eh_saml_response_result *r = accepted(xml, &x);
        check_base_result(r);
        eh_saml_response_result_free(r);
        /* the EC key of the same Proxy-Service is not the one that signed */
        refused_base(xml, "signature not valid");
        free(xml);
    }
}
END_TEST

START_TEST(status_error_round_trip)
{
    eh_saml_response_spec s;
    base_spec(&s);
    s.status = EH_SAML_STATUS_REQUESTER;
    s.sub_status = EH_SAML_STATUS_REQUEST_DENIED;
    s.status_message = "citizen cancelled";
    char why[200] = "", *xml = NULL;
    size_t len = 0;
    /* no recipient needed for a failure */
    ck_assert_msg(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_ECDSA_SHA256, NULL,
                                         EH_SAML_ENC_AES256_GCM, &xml, &len, why,
                                         sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_ptr_null(strstr(xml, "EncryptedAssertion"));
    ck_assert_ptr_null(strstr(xml, "Assertion"));
    eh_saml_response_result *r = accepted_base(xml);
    ck_assert_str_eq(r->status, EH_SAML_STATUS_REQUESTER);
    ck_assert_str_eq(r->sub_status, EH_SAML_STATUS_REQUEST_DENIED);
    ck_assert_str_eq(r->status_message, "citizen cancelled");
    ck_assert_str_eq(r->issuer, PROXY);
    ck_assert_str_eq(r->in_response_to, REQ_ID);
    /* never a login */
    ck_assert_ptr_null(r->name_id);
    ck_assert_ptr_null(r->assertion_id);
    ck_assert_ptr_null(r->attributes);
    ck_assert_int_eq(r->loa, EH_LOA_NONE);
    eh_saml_response_result_free(r);
    /* a failure is still checked: wrong InResponseTo, wrong key */
    eh_saml_response_expect x;
    base_expect(&x);
    x.in_response_to = "_other";
    refused(xml, &x, "InResponseTo");
    base_expect(&x);
    x.trusted = k_pss_pub;
    refused(xml, &x, "signature not valid");
    free(xml);
}
END_TEST

static void set_status(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)a;
    xmlSetProp(child(child(resp, EH_NS_SAMLP, "Status"), EH_NS_SAMLP, "StatusCode"),
               BAD_CAST "Value", BAD_CAST arg);
}

START_TEST(failed_status_with_assertion_refused)
{
    char *xml = tamper_base(set_status, EH_SAML_STATUS_RESPONDER, T_RESIGN);
    refused_base(xml, "assertion in a failed Response");
    free(xml);
}
END_TEST

START_TEST(build_refuses_incomplete_spec)
{
    eh_saml_response_spec s;
    char why[200] = "", *xml = (char *)why;
    size_t len = 7;
    base_spec(&s);
    s.assertion_id = NULL;
    ck_assert_int_eq(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_ECDSA_SHA256, k_recipient,
                                            EH_SAML_ENC_AES256_GCM, &xml, &len, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(xml);
    base_spec(&s);
    ck_assert_int_ne(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_ECDSA_SHA256, NULL,
                                            EH_SAML_ENC_AES256_GCM, &xml, &len, why, sizeof(why)),
                     EH_OK);
    json_t *bad = json_pack("{s:i}", PID_URI, 5);
    s.attributes = bad;
    ck_assert_int_eq(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_ECDSA_SHA256, k_recipient,
                                            EH_SAML_ENC_AES256_GCM, &xml, &len, why, sizeof(why)),
                     EH_ERR_INVALID);
    json_decref(bad);
    /* an RSA-PSS signature needs an RSA key */
    base_spec(&s);
    ck_assert_int_ne(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_RSA_PSS_SHA256, k_recipient,
                                            EH_SAML_ENC_AES256_GCM, &xml, &len, why, sizeof(why)),
                     EH_OK);
    ck_assert_ptr_null(xml);
}
END_TEST

/* ----------------------------------------------- XML signature wrapping */
/* XSW1: a clone of the Response (with the copied signature) as the root,
 * the signed original inside the clone's ds:Signature; arg: the clone's ID
 * (NULL: the same). */
static void xsw1(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)a;
    xmlNodePtr evil = evil_copy(d, resp, 1, arg);
    xmlSetProp(child(child(evil, EH_NS_SAMLP, "Status"), EH_NS_SAMLP, "StatusCode"),
               BAD_CAST "Value", BAD_CAST EH_SAML_STATUS_RESPONDER);
    xmlNodePtr old = xmlDocSetRootElement(d, evil);
    ck_assert_ptr_eq(old, resp);
    xmlAddChild(eh_saml_find_signature(evil), resp);
}

/* XSW2: the same, the original a detached sibling before the clone's signature. */
static void xsw2(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)a;
    xmlNodePtr evil = evil_copy(d, resp, 1, arg);
    xmlDocSetRootElement(d, evil);
    xmlAddPrevSibling(eh_saml_find_signature(evil), resp);
}

START_TEST(xsw_response_clone_as_parent)
{
    char *xml = tamper_base(xsw1, NULL, 0);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
    xml = tamper_base(xsw1, "_evil", 0);
    refused_base(xml, "Reference does not point at the signed element");
    free(xml);
}
END_TEST

START_TEST(xsw_response_clone_as_sibling)
{
    char *xml = tamper_base(xsw2, NULL, 0);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
    xml = tamper_base(xsw2, "_evil", 0);
    refused_base(xml, "Reference does not point at the signed element");
    free(xml);
}
END_TEST

/* XSW3: an unsigned evil assertion as a sibling before the signed one. */
static void xsw3(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp, (void)arg;
    xmlAddPrevSibling(a, evil_copy(d, a, 0, "_evil"));
}

START_TEST(xsw_assertion_clone_as_sibling)
{
    char *xml = tamper_base(xsw3, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "EncryptedAssertion without one EncryptedData");
    free(xml);
}
END_TEST

/* XSW4: the evil assertion as the parent of the signed one; arg non-NULL:
 * the evil one keeps the copied signature and the same ID. */
static void xsw4(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    xmlNodePtr evil = evil_copy(d, a, arg != NULL, arg != NULL ? NULL : "_evil");
    xmlAddPrevSibling(a, evil);
    xmlUnlinkNode(a);
    xmlAddChild(evil, a);
}

START_TEST(xsw_assertion_clone_as_parent)
{
    char *xml = tamper_base(xsw4, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "Assertion is not signed");
    free(xml);
    xml = tamper_base(xsw4, "same", T_ASSERTION | T_RESIGN);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
}
END_TEST

/* XSW5: the evil assertion with the copied signature encrypted, the signed
 * original moved out, at the end of the Response in clear. */
static void xsw5(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)arg;
    xmlAddPrevSibling(a, evil_copy(d, a, 1, NULL));
    xmlUnlinkNode(a);
    xmlAddChild(resp, a);
}

START_TEST(xsw_assertion_original_moved_out)
{
    char *xml = tamper_base(xsw5, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "unencrypted Assertion refused");
    free(xml);
}
END_TEST

/* XSW6: the evil assertion with the copied signature, the original as a
 * child of that signature. */
static void xsw6(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp, (void)arg;
    xmlNodePtr evil = evil_copy(d, a, 1, NULL);
    xmlAddPrevSibling(a, evil);
    xmlUnlinkNode(a);
    xmlAddChild(eh_saml_find_signature(evil), a);
}

START_TEST(xsw_assertion_original_inside_signature)
{
    char *xml = tamper_base(xsw6, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
}
END_TEST

/* XSW7: the signed original inside samlp:Extensions of the Response, an
 * evil assertion in the EncryptedAssertion; arg non-NULL: the evil one
 * keeps the copied signature and the same ID. */
static void xsw7(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    xmlAddPrevSibling(a, evil_copy(d, a, arg != NULL, arg != NULL ? NULL : "_evil"));
    xmlUnlinkNode(a);
    xmlAddChild(extensions(resp), a);
}

START_TEST(xsw_assertion_original_in_extensions)
{
    char *xml = tamper_base(xsw7, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "Assertion is not signed");
    free(xml);
    xml = tamper_base(xsw7, "same", T_ASSERTION | T_RESIGN);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
}
END_TEST

/* XSW8: the evil assertion with the copied signature, the original (its
 * own signature removed) inside a ds:Object of that signature; arg: the
 * evil one's ID (NULL: the same). */
static void xsw8(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    xmlNodePtr evil = evil_copy(d, a, 1, arg);
    xmlNodePtr sig = eh_saml_find_signature(evil);
    xmlNodePtr obj = xmlNewChild(sig, sig->ns, BAD_CAST "Object", NULL);
    xmlAddPrevSibling(a, evil);
    xmlUnlinkNode(a);
    drop(eh_saml_find_signature(a));
    xmlAddChild(obj, a);
}

START_TEST(xsw_assertion_original_in_object)
{
    char *xml = tamper_base(xsw8, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
    xml = tamper_base(xsw8, "_evil", T_ASSERTION | T_RESIGN);
    refused_base(xml, "Reference does not point at the signed element");
    free(xml);
}
END_TEST

/* An evil unsigned assertion in Extensions beside the genuine encrypted
 * one: ignored, only the signed data is used. */
static void evil_in_extensions(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)arg;
    xmlAddChild(extensions(resp), evil_copy(d, a, 0, "_evil"));
}

START_TEST(xsw_only_signed_data_used)
{
    char *xml = tamper_base(evil_in_extensions, NULL, T_ASSERTION | T_RESIGN);
    ck_assert_ptr_nonnull(strstr(xml, EVIL));
    eh_saml_response_result *r = accepted_base(xml);
    check_base_result(r);
    eh_saml_response_result_free(r);
    free(xml);
}
END_TEST

/* A second EncryptedAssertion holding an unsigned assertion, or an
 * unsigned assertion in clear, next to the signed one. */
static void unsigned_next_to_signed(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    xmlNodePtr evil = evil_copy(d, a, 0, "_evil");
    if (arg != NULL) {
        xmlNodePtr ea = xmlNewChild(resp, a->parent->ns, BAD_CAST "EncryptedAssertion", NULL);
        xmlAddChild(ea, evil);
    } else {
        xmlAddChild(resp, evil);
    }
}

START_TEST(signed_assertion_next_to_unsigned)
{
    char *xml = tamper_base(unsigned_next_to_signed, "encrypted", T_ASSERTION | T_RESIGN);
    refused_base(xml, "exactly one EncryptedAssertion");
    free(xml);
    xml = tamper_base(unsigned_next_to_signed, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "unencrypted Assertion refused");
    free(xml);
}
END_TEST

/* The signed assertion in clear instead of encrypted. */
static void decrypted_in_clear(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)arg;
    xmlNodePtr ea = a->parent;
    xmlUnlinkNode(a);
    xmlAddChild(resp, a);
    drop(ea);
}

START_TEST(plain_assertion_refused)
{
    char *xml = tamper_base(decrypted_in_clear, NULL, T_ASSERTION | T_RESIGN);
    ck_assert_ptr_nonnull(strstr(xml, PERSON));
    refused_base(xml, "unencrypted Assertion refused");
    free(xml);
}
END_TEST

/* ------------------------------------------------------ keys and issuers */
static void assertion_resigned(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    resign(d, a, arg);
}

START_TEST(assertion_signed_by_attacker)
{
    char *xml = tamper_base(assertion_resigned, k_attacker, T_ASSERTION | T_RESIGN);
    refused_base(xml, "signature not valid");
    free(xml);
    /* control: the same path with the genuine key is accepted */
    xml = tamper_base(assertion_resigned, k_signer, T_ASSERTION | T_RESIGN);
    eh_saml_response_result *r = accepted_base(xml);
    eh_saml_response_result_free(r);
    free(xml);
}
END_TEST

START_TEST(response_signed_by_attacker)
{
    eh_saml_response_spec s;
    base_spec(&s);
    char *xml = build_with(&s, k_attacker, EH_SAML_SIG_ECDSA_SHA256, EH_SAML_ENC_AES256_GCM);
    refused_base(xml, "signature not valid");
    free(xml);
}
END_TEST

static void assertion_issuer(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    xmlNodeSetContent(child(a, EH_NS_SAML, "Issuer"), BAD_CAST arg);
    resign(d, a, k_signer);
}

START_TEST(issuer_not_expected)
{
    char *xml = build_base();
    eh_saml_response_expect x;
    base_expect(&x);
    x.issuer = "https://other-proxy.example.eu/metadata";
    refused(xml, &x, "Issuer is not the expected one");
    free(xml);
    /* the Assertion's own Issuer, validly signed, names another node */
    xml = tamper_base(assertion_issuer, "https://evil.example/idp", T_ASSERTION | T_RESIGN);
    refused_base(xml, "Issuer is not the expected one");
    free(xml);
}
END_TEST

START_TEST(wrong_decryption_key)
{
    char *xml = build_base();
    eh_saml_response_expect x;
    base_expect(&x);
    x.ours = k_attacker;
    refused(xml, &x, NULL);
    free(xml);
}
END_TEST

/* ----------------------------------------------- signatures and algorithms */
static void remove_response_sig(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)a, (void)arg;
    drop(eh_saml_find_signature(resp));
}

static void remove_assertion_sig(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)resp, (void)arg;
    drop(eh_saml_find_signature(a));
}

START_TEST(signature_removed)
{
    char *xml = tamper_base(remove_response_sig, NULL, 0);
    refused_base(xml, "Response is not signed");
    free(xml);
    xml = tamper_base(remove_assertion_sig, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "Assertion is not signed");
    free(xml);
}
END_TEST

/* set_alg: arg[0] the element of SignedInfo ("SignatureMethod" or
 * "DigestMethod" of the Reference), arg[1] the Algorithm; for HMAC also an
 * HMACOutputLength. Applies to the Response, or with T_ASSERTION to the
 * Assertion. */
static void set_alg_on(xmlNodePtr signed_el, const char *const *arg)
{
    xmlNodePtr si = child(eh_saml_find_signature(signed_el), EH_NS_DS, "SignedInfo");
    xmlNodePtr n = strcmp(arg[0], "DigestMethod") == 0
                       ? child(child(si, EH_NS_DS, "Reference"), EH_NS_DS, "DigestMethod")
                       : child(si, EH_NS_DS, arg[0]);
    xmlSetProp(n, BAD_CAST "Algorithm", BAD_CAST arg[1]);
    if (strstr(arg[1], "hmac") != NULL)
        xmlNewTextChild(n, n->ns, BAD_CAST "HMACOutputLength", BAD_CAST "8");
}

static void set_alg(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d;
    set_alg_on(a != NULL ? a : resp, arg);
}

START_TEST(weak_algorithms_refused)
{
    static const char *const cases[][2] = {
        {"SignatureMethod", "http://www.w3.org/2000/09/xmldsig#rsa-sha1"},
        {"SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"},
        {"SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"},
        {"SignatureMethod", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"},
        {"SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"},
        {"DigestMethod", "http://www.w3.org/2000/09/xmldsig#sha1"},
        {"CanonicalizationMethod", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* on the Response (not re-signed: the edit comes after signing) */
        char *xml = tamper_base(set_alg, cases[i], 0);
        ck_assert_ptr_nonnull(strstr(xml, cases[i][1]));
        refused_base(xml, "not allowed");
        free(xml);
        /* on the Assertion, under a valid Response signature */
        xml = tamper_base(set_alg, cases[i], T_ASSERTION | T_RESIGN);
        refused_base(xml, "not allowed");
        free(xml);
    }
}
END_TEST

/* keyinfo: arg non-NULL: the attacker re-signs the Response first; then its
 * certificate goes into KeyInfo. */
static void keyinfo(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)a;
    if (arg != NULL)
        resign(d, resp, k_attacker);
    char *crt = eh_test_saml_fixture("attacker.crt", NULL);
    char *b = strstr(crt, "-----\n") + 6;
    *strstr(b, "-----END") = 0;
    xmlNodePtr sig = eh_saml_find_signature(resp);
    xmlNodePtr ki = xmlNewChild(sig, sig->ns, BAD_CAST "KeyInfo", NULL);
    xmlNodePtr xd = xmlNewChild(ki, sig->ns, BAD_CAST "X509Data", NULL);
    xmlNewTextChild(xd, sig->ns, BAD_CAST "X509Certificate", BAD_CAST b);
    free(crt);
}

START_TEST(keyinfo_ignored)
{
    char *xml = tamper_base(keyinfo, "attacker signs", 0);
    ck_assert_ptr_nonnull(strstr(xml, "X509Certificate"));
    refused_base(xml, "signature not valid");
    free(xml);
    /* the genuine signature with the attacker's certificate beside it: still only trust counts */
    xml = tamper_base(keyinfo, NULL, 0);
    eh_saml_response_result *r = accepted_base(xml);
    check_base_result(r);
    eh_saml_response_result_free(r);
    free(xml);
}
END_TEST

/* ------------------------------------------------------------- content */
static void split_with_comment(xmlDocPtr d, xmlNodePtr n, const char *head, const char *tail)
{
    xmlNodeSetContent(n, BAD_CAST head);
    xmlAddChild(n, xmlNewDocComment(d, BAD_CAST "cut here"));
    xmlAddChild(n, xmlNewDocText(d, BAD_CAST tail));
}

/* The comments go in after signing: exclusive c14n drops comments, so the
 * assertion's signature stays valid (the 2018 comment-injection attack). */
static void comments(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp, (void)arg;
    split_with_comment(d, name_id_of(a), "EE/DE/3800", "1085718");
    for (xmlNodePtr at = eh_saml_first_el(child(a, EH_NS_SAML, "AttributeStatement")); at;
         at = eh_saml_next_el(at)) {
        char *name = eh_saml_prop(at, "Name");
        if (strcmp(name, PID_URI) == 0)
            split_with_comment(d, child(at, EH_NS_SAML, "AttributeValue"), "EE/DE/38", "001085718");
        free(name);
    }
}

START_TEST(comments_read_as_full_text)
{
    char *xml = tamper_base(comments, NULL, T_ASSERTION | T_RESIGN);
    eh_saml_response_result *r = accepted_base(xml);
    ck_assert_str_eq(r->name_id, PERSON);
    check_attr(r, PID_URI, PERSON);
    eh_saml_response_result_free(r);
    free(xml);
}
END_TEST

static void value_with_element(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp, (void)arg;
    xmlNodePtr v = child(child(child(a, EH_NS_SAML, "AttributeStatement"), EH_NS_SAML, "Attribute"),
                         EH_NS_SAML, "AttributeValue");
    xmlNewChild(v, v->ns, BAD_CAST "Inner", BAD_CAST "x");
    resign(d, a, k_signer);
}

START_TEST(attribute_value_with_elements_refused)
{
    char *xml = tamper_base(value_with_element, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "AttributeValue holds elements");
    free(xml);
}
END_TEST

START_TEST(doctype_and_entities_refused)
{
    static const char *const doctypes[] = {
        "<!DOCTYPE samlp:Response [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
        "<!DOCTYPE samlp:Response [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>",
        "<!DOCTYPE samlp:Response SYSTEM \"http://127.0.0.1:1/evil.dtd\">",
        "<!DOCTYPE samlp:Response>",
    };
    char *xml = build_base();
    for (size_t i = 0; i < sizeof(doctypes) / sizeof(doctypes[0]); i++) {
        char *evil = insert_doctype(xml, doctypes[i]);
        refused_base(evil, NULL);
        free(evil);
    }
    free(xml);
}
END_TEST

/* An Extensions element carrying the Response's own ID. */
static void same_id_twice(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)a, (void)arg;
    xmlNodePtr e = xmlNewChild(extensions(resp), resp->ns, BAD_CAST "Thing", NULL);
    xmlSetProp(e, BAD_CAST "ID", BAD_CAST RESP_ID);
}

/* The Assertion gets the Response's ID and is signed again in a document
 * of its own (our signer refuses duplicates). */
static void assertion_takes_response_id(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp, (void)arg;
    xmlDocPtr tmp = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr c = xmlDocCopyNode(a, tmp, 1);
    xmlDocSetRootElement(tmp, c);
    xmlSetProp(c, BAD_CAST "ID", BAD_CAST RESP_ID);
    resign(tmp, c, k_signer);
    xmlNodePtr back = xmlDocCopyNode(c, d, 1);
    xmlReplaceNode(a, back);
    xmlFreeNode(a);
    xmlFreeDoc(tmp);
}

START_TEST(same_id_twice_refused)
{
    char *xml = tamper_base(same_id_twice, NULL, 0);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
    /* the builder does not make one */
    eh_saml_response_spec s;
    char why[200] = "";
    base_spec(&s);
    s.assertion_id = RESP_ID;
    ck_assert_int_ne(eh_saml_response_build(&s, k_signer, EH_SAML_SIG_ECDSA_SHA256, k_recipient,
                                            EH_SAML_ENC_AES256_GCM, &xml, NULL, why, sizeof(why)),
                     EH_OK);
    /* the Assertion carrying the Response's ID, validly signed apart and
     * hidden by encryption when the Response was signed */
    xml = tamper_base(assertion_takes_response_id, NULL, T_ASSERTION | T_RESIGN);
    refused_base(xml, "duplicate or bad ID");
    free(xml);
}
END_TEST

/* ------------------------------------------------ InResponseTo and places */
static void remove_in_response_to(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)a, (void)arg;
    xmlUnsetProp(resp, BAD_CAST "InResponseTo");
}

START_TEST(unsolicited_and_foreign_in_response_to)
{
    char *xml = tamper_base(remove_in_response_to, NULL, T_RESIGN);
    refused_base(xml, "unsolicited");
    free(xml);
    /* an answer to another browser's request */
    eh_saml_response_spec s;
    base_spec(&s);
    s.in_response_to = "_ffffffffffffffffffffffffffffffff";
    xml = build(&s);
    refused_base(xml, "InResponseTo does not match");
    free(xml);
}
END_TEST

static void scd_prop(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    const char *const *kv = arg;
    xmlNodePtr scd =
        child(child(child(a, EH_NS_SAML, "Subject"), EH_NS_SAML, "SubjectConfirmation"), EH_NS_SAML,
              "SubjectConfirmationData");
    xmlSetProp(scd, BAD_CAST kv[0], BAD_CAST kv[1]);
    resign(d, a, k_signer);
}

START_TEST(destination_recipient_audience_mismatch)
{
    eh_saml_response_expect x;
    eh_saml_response_spec s;
    char *xml;

    base_spec(&s);
    s.destination = "https://evil.example/acs";
    xml = build(&s);
    refused_base(xml, "Destination does not match");
    free(xml);

    static const char *const recipient[] = {"Recipient", "https://evil.example/acs"};
    xml = tamper_base(scd_prop, recipient, T_ASSERTION | T_RESIGN);
    refused_base(xml, "Recipient does not match");
    free(xml);

    static const char *const irt[] = {"InResponseTo", "_other"};
    xml = tamper_base(scd_prop, irt, T_ASSERTION | T_RESIGN);
    refused_base(xml, "SubjectConfirmationData InResponseTo does not match");
    free(xml);

    base_spec(&s);
    s.audience = "https://other-connector.example/metadata";
    xml = build(&s);
    refused_base(xml, "Audience does not match");
    free(xml);
    xml = build_base();
    base_expect(&x);
    x.audience = "https://other-connector.example/metadata";
    refused(xml, &x, "Audience does not match");
    free(xml);
}
END_TEST

static void confirmation_method(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    xmlSetProp(child(child(a, EH_NS_SAML, "Subject"), EH_NS_SAML, "SubjectConfirmation"),
               BAD_CAST "Method", BAD_CAST arg);
    resign(d, a, k_signer);
}

START_TEST(only_bearer_confirmation)
{
    char *xml = tamper_base(confirmation_method, "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key",
                            T_ASSERTION | T_RESIGN);
    refused_base(xml, "no bearer SubjectConfirmation");
    free(xml);
}
END_TEST

/* -------------------------------------------------------------- times */
static void cond_time(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    const char *const *kv = arg;
    xmlSetProp(child(a, EH_NS_SAML, "Conditions"), BAD_CAST kv[0], BAD_CAST kv[1]);
    resign(d, a, k_signer);
}

START_TEST(not_before_in_the_future)
{
    char t[EH_SAML_TIME_LEN];
    const char *kv[] = {"NotBefore", t};
    eh_saml_time_format(NOW + 5 + 61, t); /* beyond the 60 s skew */
    char *xml = tamper_base(cond_time, kv, T_ASSERTION | T_RESIGN);
    refused_base(xml, "NotBefore is in the future");
    free(xml);
    eh_saml_time_format(NOW + 5 + 59, t); /* within it */
    xml = tamper_base(cond_time, kv, T_ASSERTION | T_RESIGN);
    eh_saml_response_result_free(accepted_base(xml));
    free(xml);
    /* a whole response from a clock 40 s ahead is within the skew */
    eh_saml_response_spec s;
    base_spec(&s);
    s.now = NOW + 45;
    xml = build(&s);
    eh_saml_response_result *r = accepted_base(xml);
    ck_assert_int_eq(r->not_on_or_after, NOW + 345);
    eh_saml_response_result_free(r);
    free(xml);
    /* and 2 minutes ahead is not (IssueInstant is the first to tell) */
    s.now = NOW + 125;
    xml = build(&s);
    refused_base(xml, "IssueInstant is in the future");
    free(xml);
}
END_TEST

START_TEST(not_on_or_after_past)
{
    eh_saml_response_spec s;
    base_spec(&s);
    s.now = NOW - 1000;
    s.authn_instant = NOW - 1000;
    char *xml = build(&s);
    refused_base(xml, "SubjectConfirmationData expired");
    free(xml);

    /* Conditions alone expired (the skew counted) */
    char t[EH_SAML_TIME_LEN];
    const char *kv[] = {"NotOnOrAfter", t};
    eh_saml_time_format(NOW + 5 - 60, t);
    xml = tamper_base(cond_time, kv, T_ASSERTION | T_RESIGN);
    refused_base(xml, "Conditions expired");
    free(xml);
    /* within the skew it is fine, and the earlier of the two is kept for replay */
    eh_saml_time_format(NOW + 5 - 59, t);
    xml = tamper_base(cond_time, kv, T_ASSERTION | T_RESIGN);
    eh_saml_response_result *r = accepted_base(xml);
    ck_assert_int_eq(r->not_on_or_after, NOW + 5 - 59);
    eh_saml_response_result_free(r);
    free(xml);

    /* the confirmation alone expired */
    const char *scd[] = {"NotOnOrAfter", t};
    eh_saml_time_format(NOW - 100, t);
    xml = tamper_base(scd_prop, scd, T_ASSERTION | T_RESIGN);
    refused_base(xml, "SubjectConfirmationData expired");
    free(xml);
}
END_TEST

/* ---------------------------------------------------------------- LoA */
START_TEST(loa_checks)
{
    eh_saml_response_spec s;
    eh_saml_response_expect x;
    eh_saml_response_result *r;
    char *xml;

    /* substantial asked, low given */
    base_spec(&s);
    s.loa = EH_LOA_LOW;
    xml = build(&s);
    base_expect(&x);
    unmet(xml, &x, "level of assurance below the requested one");
    free(xml);

    /* high given for a minimum of substantial */
    s.loa = EH_LOA_HIGH;
    xml = build(&s);
    r = accepted_base(xml);
    ck_assert_int_eq(r->loa, EH_LOA_HIGH);
    eh_saml_response_result_free(r);
    free(xml);

    /* a non-notified level only under an exact request for it */
    base_spec(&s);
    s.comparison = EH_LOA_EXACT;
    xml = build(&s);
    ck_assert_ptr_null(strstr(xml, "NonNotified")); /* encrypted */
    base_expect(&x);
    unmet(xml, &x, "non-notified level of assurance not requested");
    x.comparison = EH_LOA_EXACT;
    r = accepted(xml, &x);
    ck_assert_int_eq(r->loa, EH_LOA_SUBSTANTIAL);
    eh_saml_response_result_free(r);
    x.min_loa = EH_LOA_HIGH;
    unmet(xml, &x, "level of assurance is not the requested one");
    free(xml);
}
END_TEST

static void set_loa_text(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)resp;
    xmlNodePtr ref =
        child(child(child(a, EH_NS_SAML, "AuthnStatement"), EH_NS_SAML, "AuthnContext"), EH_NS_SAML,
              "AuthnContextClassRef");
    xmlNodeSetContent(ref, BAD_CAST arg);
    resign(d, a, k_signer);
}

START_TEST(loa_only_eidas_uris)
{
    static const char *const texts[] = {"substantial", "http://eidas.europa.eu/LoA/substantialX",
                                        "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"};
    for (size_t i = 0; i < 3; i++) {
        char *xml = tamper_base(set_loa_text, texts[i], T_ASSERTION | T_RESIGN);
        refused_base(xml, "level of assurance");
        free(xml);
    }
}
END_TEST

/* ------------------------------------------------------------- garbage */
START_TEST(garbage_refused)
{
    eh_saml_response_expect x;
    base_expect(&x);
    char *xml = build_base();
    size_t n = strlen(xml);
    /* truncated at many places */
    for (size_t cut = 0; cut < n; cut += n / 17 + 1)
        refused_len(xml, cut, &x, NULL);
    refused_len(xml, (size_t)(strrchr(xml, '>') - xml), &x, NULL); /* all but the last '>' */
    free(xml);

    /* random bytes */
    unsigned char rnd[4096];
    uint32_t seed = 12345;
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < sizeof(rnd); i++) {
            seed = seed * 1103515245u + 12345u;
            rnd[i] = (unsigned char)(seed >> 16);
        }
        refused_len((const char *)rnd, sizeof(rnd), &x, NULL);
    }

    /* deeply nested */
    size_t depth = 5000, len = depth * 7 + 256;
    char *deep = malloc(len), *p = deep;
    p += sprintf(p, "<samlp:Response xmlns:samlp=\"%s\">", EH_NS_SAMLP);
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "<a>");
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "</a>");
    sprintf(p, "</samlp:Response>");
    refused(deep, &x, NULL);
    free(deep);

    /* empty, and another root */
    refused_len("", 0, &x, NULL);
    refused("<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
            "ID=\"_x\" Version=\"2.0\"/>",
            &x, "not a SAML Response");
    refused("<Response ID=\"_x\" Version=\"2.0\"/>", &x, "not a SAML Response");
}
END_TEST

static void set_version(xmlDocPtr d, xmlNodePtr resp, xmlNodePtr a, const void *arg)
{
    (void)d, (void)a;
    xmlSetProp(resp, BAD_CAST "Version", BAD_CAST arg);
}

START_TEST(version_must_be_2_0)
{
    char *xml = tamper_base(set_version, "1.1", T_RESIGN);
    refused_base(xml, "Version is not 2.0");
    free(xml);
}
END_TEST

Suite *suite_saml_response(void)
{
    Suite *s = suite_create("saml_response");
    TCase *tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_ecdsa_rsa_oaep);
    tcase_add_test(tc, round_trip_rsa_pss);
    tcase_add_test(tc, status_error_round_trip);
    tcase_add_test(tc, failed_status_with_assertion_refused);
    tcase_add_test(tc, build_refuses_incomplete_spec);
    suite_add_tcase(s, tc);

    tc = tcase_create("wrapping");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, xsw_response_clone_as_parent);
    tcase_add_test(tc, xsw_response_clone_as_sibling);
    tcase_add_test(tc, xsw_assertion_clone_as_sibling);
    tcase_add_test(tc, xsw_assertion_clone_as_parent);
    tcase_add_test(tc, xsw_assertion_original_moved_out);
    tcase_add_test(tc, xsw_assertion_original_inside_signature);
    tcase_add_test(tc, xsw_assertion_original_in_extensions);
    tcase_add_test(tc, xsw_assertion_original_in_object);
    tcase_add_test(tc, xsw_only_signed_data_used);
    tcase_add_test(tc, signed_assertion_next_to_unsigned);
    tcase_add_test(tc, plain_assertion_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("signatures");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, assertion_signed_by_attacker);
    tcase_add_test(tc, response_signed_by_attacker);
    tcase_add_test(tc, issuer_not_expected);
    tcase_add_test(tc, wrong_decryption_key);
    tcase_add_test(tc, signature_removed);
    tcase_add_test(tc, weak_algorithms_refused);
    tcase_add_test(tc, keyinfo_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("content");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, comments_read_as_full_text);
    tcase_add_test(tc, attribute_value_with_elements_refused);
    tcase_add_test(tc, doctype_and_entities_refused);
    tcase_add_test(tc, same_id_twice_refused);
    tcase_add_test(tc, unsolicited_and_foreign_in_response_to);
    tcase_add_test(tc, destination_recipient_audience_mismatch);
    tcase_add_test(tc, only_bearer_confirmation);
    tcase_add_test(tc, not_before_in_the_future);
    tcase_add_test(tc, not_on_or_after_past);
    tcase_add_test(tc, loa_checks);
    tcase_add_test(tc, loa_only_eidas_uris);
    tcase_add_test(tc, garbage_refused);
    tcase_add_test(tc, version_must_be_2_0);
    suite_add_tcase(s, tc);
    return s;
}
