/* Unit tests for broker/saml/: safe parsing, the signature policy (allowed
 * algorithms, trusted keys only, wrapping), the RSA-PSS transform against
 * known-good vectors made with the openssl CLI (tests/fixtures/saml/
 * make-vectors.sh), and AES-GCM encryption. */
#include "tests/unit/suites.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "broker/saml/saml_crypto.h"
#include "tests/unit/testutil.h"

#define FX EH_TEST_FIXTURES "/saml/"

static xmlDocPtr parse_str(const char *s)
{
    xmlDocPtr d = NULL;
    char why[200] = "";
    ck_assert_msg(eh_saml_parse(s, strlen(s), &d, why, sizeof(why)) == EH_OK, "%s", why);
    return d;
}

static xmlDocPtr parse_file(const char *name)
{
    char *s = eh_test_saml_fixture(name, NULL);
    xmlDocPtr d = parse_str(s);
    free(s);
    return d;
}

static eh_rc verify_root(xmlDocPtr d, const eh_saml_keys *k, xmlNodePtr *cov, char *why, size_t wl)
{
    xmlNodePtr root = xmlDocGetRootElement(d);
    return eh_saml_verify(d, eh_saml_find_signature(root), k, cov, why, wl);
}

static const char ASSERTION[] =
    "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_a1\" "
    "Version=\"2.0\"><saml:Issuer>https://proxy.example.eu/</saml:Issuer>"
    "<saml:Subject><saml:NameID>EE/DE/38001085718</saml:NameID></saml:Subject>"
    "</saml:Assertion>";

/* ----------------------------------------------------------- round trips */
static void round_trip(eh_saml_sig_alg alg, const char *priv, const char *pub)
{
    char why[200] = "";
    eh_saml_keys *sk = eh_test_saml_keys(priv), *vk = eh_test_saml_keys(pub);
    xmlDocPtr d = parse_str(ASSERTION);
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr issuer = root->children;
    ck_assert_msg(eh_saml_sign(d, root, issuer, alg, sk, why, sizeof(why)) == EH_OK, "%s", why);
    /* Signature right after Issuer */
    ck_assert_str_eq((const char *)issuer->next->name, "Signature");
    /* serialise and parse again, like a message on the wire */
    xmlChar *txt = NULL;
    int tl = 0;
    xmlDocDumpMemory(d, &txt, &tl);
    xmlFreeDoc(d);
    d = parse_str((const char *)txt);
    xmlFree(txt);
    xmlNodePtr cov = NULL;
    ck_assert_msg(verify_root(d, vk, &cov, why, sizeof(why)) == EH_OK, "%s", why);
    ck_assert_ptr_eq(cov, xmlDocGetRootElement(d));
    /* tampering breaks it */
    xmlNodePtr nameid = xmlDocGetRootElement(d)->children->next->next->children;
    xmlNodeSetContent(nameid, BAD_CAST "EE/DE/99999999999");
    ck_assert_int_ne(verify_root(d, vk, &cov, why, sizeof(why)), EH_OK);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);
    eh_saml_keys_free(sk);
    eh_saml_keys_free(vk);
}

START_TEST(round_trip_each_algorithm)
{
    round_trip(EH_SAML_SIG_ECDSA_SHA256, "ec256.pem", "ec256.pub.pem");
    round_trip(EH_SAML_SIG_ECDSA_SHA384, "ec384.pem", "ec384.pub.pem");
    round_trip(EH_SAML_SIG_ECDSA_SHA512, "ec384.pem", "ec384.pub.pem");
    round_trip(EH_SAML_SIG_RSA_PSS_SHA256, "rsa3072.pem", "rsa3072.pub.pem");
    round_trip(EH_SAML_SIG_RSA_PSS_SHA384, "rsa3072.pem", "rsa3072.pub.pem");
    round_trip(EH_SAML_SIG_RSA_PSS_SHA512, "rsa3072.pem", "rsa3072.pub.pem");
}
END_TEST

START_TEST(wrong_key_type_for_algorithm)
{
    char why[200] = "";
    eh_saml_keys *sk = eh_test_saml_keys("ec256.pem");
    xmlDocPtr d = parse_str(ASSERTION);
    ck_assert_int_eq(eh_saml_sign(d, xmlDocGetRootElement(d), NULL, EH_SAML_SIG_RSA_PSS_SHA256, sk,
                                  why, sizeof(why)),
                     EH_ERR_KEY);
    xmlFreeDoc(d);
    eh_saml_keys_free(sk);
}
END_TEST

START_TEST(small_rsa_key_refused)
{
    char why[200] = "";
    size_t n;
    char *pem = eh_test_saml_fixture("rsa2048.pem", &n);
    eh_saml_keys *k = eh_saml_keys_new();
    ck_assert_int_eq(eh_saml_keys_add_pem(k, pem, n, why, sizeof(why)), EH_ERR_KEY);
    free(pem);
    pem = eh_test_saml_fixture("rsa2048.pub.pem", &n);
    ck_assert_int_eq(eh_saml_keys_add_pem(k, pem, n, why, sizeof(why)), EH_ERR_KEY);
    free(pem);
    ck_assert_uint_eq(eh_saml_keys_count(k), 0);
    eh_saml_keys_free(k);
}
END_TEST

/* ------------------------------------------------------ known-good vectors */
static void known_good(const char *xml, const char *pub)
{
    char why[200] = "";
    eh_saml_keys *vk = eh_test_saml_keys(pub);
    xmlDocPtr d = parse_file(xml);
    xmlNodePtr cov = NULL;
    ck_assert_msg(verify_root(d, vk, &cov, why, sizeof(why)) == EH_OK, "%s: %s", xml, why);
    ck_assert_ptr_eq(cov, xmlDocGetRootElement(d));
    xmlFreeDoc(d);
    eh_saml_keys_free(vk);
}

START_TEST(accepts_openssl_cli_vectors)
{
    known_good("pss256.xml", "rsa3072.pub.pem");
    known_good("pss512.xml", "rsa3072.pub.pem");
    known_good("ecdsa256.xml", "ec256.pub.pem");
    known_good("ecdsa384.xml", "ec384.pub.pem");
}
END_TEST

/* canonical_signed_info: exclusive c14n of the SignedInfo of sig, computed
 * with libxml2 alone (copy into its own document, then c14n). */
static xmlChar *canonical_signed_info(xmlNodePtr sig, int *len)
{
    xmlNodePtr si = sig->children;
    while (si && si->type != XML_ELEMENT_NODE)
        si = si->next;
    xmlDocPtr nd = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr cp = xmlDocCopyNode(si, nd, 1);
    xmlDocSetRootElement(nd, cp);
    xmlChar *out = NULL;
    *len = xmlC14NDocDumpMemory(nd, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &out);
    xmlFreeDoc(nd);
    ck_assert_int_gt(*len, 0);
    return out;
}

static unsigned char *signature_value(xmlNodePtr sig, size_t *n)
{
    for (xmlNodePtr c = sig->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "SignatureValue")) {
            xmlChar *b64 = xmlNodeGetContent(c);
            size_t bl = strlen((char *)b64);
            unsigned char *raw = malloc(bl);
            EVP_ENCODE_CTX *e = EVP_ENCODE_CTX_new();
            int ol = 0, fl = 0;
            EVP_DecodeInit(e);
            ck_assert_int_ge(EVP_DecodeUpdate(e, raw, &ol, b64, (int)bl), 0);
            ck_assert_int_eq(EVP_DecodeFinal(e, raw + ol, &fl), 1);
            EVP_ENCODE_CTX_free(e);
            xmlFree(b64);
            *n = (size_t)(ol + fl);
            return raw;
        }
    ck_abort_msg("no SignatureValue");
    return NULL;
}

START_TEST(our_signatures_verify_independently)
{
    char why[200] = "";
    /* RSA-PSS-SHA256: checked with the openssl CLI (pkeyutl) */
    eh_saml_keys *sk = eh_test_saml_keys("rsa3072.pem");
    xmlDocPtr d = parse_str(ASSERTION);
    xmlNodePtr root = xmlDocGetRootElement(d);
    ck_assert(eh_saml_sign(d, root, root->children, EH_SAML_SIG_RSA_PSS_SHA256, sk, why,
                           sizeof(why)) == EH_OK);
    xmlNodePtr sig = eh_saml_find_signature(root);
    int cl = 0;
    xmlChar *c14n = canonical_signed_info(sig, &cl);
    size_t sl = 0;
    unsigned char *sv = signature_value(sig, &sl);
    char *dir = eh_test_tmpdir();
    char p1[600], p2[600], p3[600], cmd[4096];
    snprintf(p1, sizeof(p1), "%s/si", dir);
    snprintf(p2, sizeof(p2), "%s/sig", dir);
    snprintf(p3, sizeof(p3), "%s/dgst", dir);
    FILE *f = fopen(p1, "wb");
    fwrite(c14n, 1, (size_t)cl, f);
    fclose(f);
    f = fopen(p2, "wb");
    fwrite(sv, 1, sl, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "openssl dgst -sha256 -binary -out %s %s && openssl pkeyutl -verify -pubin -inkey "
             FX "rsa3072.pub.pem -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss "
             "-pkeyopt rsa_pss_saltlen:digest -pkeyopt rsa_mgf1_md:sha256 -in %s -sigfile %s "
             ">/dev/null 2>&1",
             p3, p1, p3, p2);
    ck_assert_msg(system(cmd) == 0, "openssl pkeyutl refused our RSA-PSS signature");
    eh_test_rmtree(dir);
    free(dir);
    xmlFree(c14n);
    free(sv);
    xmlFreeDoc(d);
    eh_saml_keys_free(sk);

    /* ECDSA-SHA256: r||s converted to DER and checked with EVP directly */
    sk = eh_test_saml_keys("ec256.pem");
    d = parse_str(ASSERTION);
    root = xmlDocGetRootElement(d);
    ck_assert(eh_saml_sign(d, root, root->children, EH_SAML_SIG_ECDSA_SHA256, sk, why,
                           sizeof(why)) == EH_OK);
    sig = eh_saml_find_signature(root);
    c14n = canonical_signed_info(sig, &cl);
    sv = signature_value(sig, &sl);
    ck_assert_uint_eq(sl, 64);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sv, 32, NULL), BN_bin2bn(sv + 32, 32, NULL));
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    char *pem = eh_test_saml_fixture("ec256.pub.pem", NULL);
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    ck_assert_int_eq(EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, pk), 1);
    ck_assert_int_eq(EVP_DigestVerify(m, der, (size_t)dl, c14n, (size_t)cl), 1);
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(pk);
    OPENSSL_free(der);
    xmlFree(c14n);
    free(sv);
    xmlFreeDoc(d);
    eh_saml_keys_free(sk);
}
END_TEST

/* ----------------------------------------------------------------- refusals */
START_TEST(refuses_pkcs1_and_sha1)
{
    char why[200] = "";
    xmlNodePtr cov = (xmlNodePtr)1;
    eh_saml_keys *vk = eh_test_saml_keys("rsa3072.pub.pem");
    xmlDocPtr d = parse_file("rsa15.xml");
    ck_assert_int_eq(verify_root(d, vk, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_str_eq(why, "signature method not allowed");
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);
    eh_saml_keys_free(vk);

    vk = eh_test_saml_keys("ec256.pub.pem");
    d = parse_file("sha1digest.xml");
    ck_assert_int_eq(verify_root(d, vk, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_str_eq(why, "digest method not allowed");
    xmlFreeDoc(d);
    eh_saml_keys_free(vk);
}
END_TEST

static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    ck_assert_ptr_nonnull(p);
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *r = malloc(n);
    snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    return r;
}

START_TEST(refuses_pss_with_other_salt_length)
{
    /* a valid PSS signature (openssl: saltlen max), but eIDAS fixes the salt
     * length to the digest length */
    char why[200] = "";
    xmlNodePtr cov = NULL;
    eh_saml_keys *vk = eh_test_saml_keys("rsa3072.pub.pem");
    xmlDocPtr d = parse_file("pssmaxsalt.xml");
    ck_assert_int_eq(verify_root(d, vk, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);
    eh_saml_keys_free(vk);
}
END_TEST

START_TEST(refuses_xml_id_clone)
{
    /* an element carrying the same value as xml:id (an ID by itself) */
    char why[200] = "";
    xmlNodePtr cov = NULL;
    eh_saml_keys *vk = eh_test_saml_keys("ec256.pub.pem");
    char *s = eh_test_saml_fixture("ecdsa256.xml", NULL);
    size_t n = strlen(s) + 512;
    char *doc = malloc(n);
    snprintf(doc, n, "<r><e xml:id=\"_vecdsa256\">evil</e>%s</r>", s);
    xmlDocPtr d = parse_str(doc);
    xmlNodePtr a = xmlDocGetRootElement(d)->children->next;
    ck_assert_int_eq(eh_saml_verify(d, eh_saml_find_signature(a), vk, &cov, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);
    free(doc);
    free(s);
    eh_saml_keys_free(vk);
}
END_TEST

START_TEST(refuses_hmac)
{
    char why[200] = "";
    xmlNodePtr cov = NULL;
    eh_saml_keys *vk = eh_test_saml_keys("ec256.pub.pem");
    char *s = eh_test_saml_fixture("ecdsa256.xml", NULL);
    char *h = replace(s, "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256\"></ds:SignatureMethod>",
                      "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256\"><ds:HMACOutputLength>8"
                      "</ds:HMACOutputLength></ds:SignatureMethod>");
    xmlDocPtr d = parse_str(h);
    ck_assert_int_eq(verify_root(d, vk, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_str_eq(why, "signature method not allowed");
    xmlFreeDoc(d);
    free(h);
    free(s);
    eh_saml_keys_free(vk);
}
END_TEST

START_TEST(ignores_untrusted_keyinfo)
{
    char why[200] = "";
    xmlNodePtr cov = NULL;
    eh_saml_keys *attacker = eh_test_saml_keys("attacker.pem"), *attacker_pub = eh_test_saml_keys("attacker.pub.pem");
    eh_saml_keys *trusted = eh_test_saml_keys("ec256.pub.pem");
    xmlDocPtr d = parse_str(ASSERTION);
    xmlNodePtr root = xmlDocGetRootElement(d);
    ck_assert(eh_saml_sign(d, root, root->children, EH_SAML_SIG_ECDSA_SHA256, attacker, why,
                           sizeof(why)) == EH_OK);
    /* the attacker puts its certificate into KeyInfo */
    char *crt = eh_test_saml_fixture("attacker.crt", NULL);
    char *b = strstr(crt, "-----\n") + 6;
    *strstr(b, "-----END") = 0;
    xmlNodePtr sig = eh_saml_find_signature(root);
    xmlNsPtr ds = sig->ns;
    xmlNodePtr ki = xmlNewChild(sig, ds, BAD_CAST "KeyInfo", NULL);
    xmlNodePtr xd = xmlNewChild(ki, ds, BAD_CAST "X509Data", NULL);
    xmlNewTextChild(xd, ds, BAD_CAST "X509Certificate", BAD_CAST b);
    free(crt);
    ck_assert_int_eq(verify_root(d, trusted, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_ptr_null(cov);
    /* the signature itself is fine: with the attacker's key as trusted it verifies */
    ck_assert_int_eq(verify_root(d, attacker_pub, &cov, why, sizeof(why)), EH_OK);
    xmlFreeDoc(d);
    eh_saml_keys_free(attacker);
    eh_saml_keys_free(attacker_pub);
    eh_saml_keys_free(trusted);
}
END_TEST

START_TEST(wrapping_uses_only_the_covered_node)
{
    char why[200] = "";
    xmlNodePtr cov = NULL;
    eh_saml_keys *vk = eh_test_saml_keys("ec256.pub.pem");
    char *signed_a = eh_test_saml_fixture("ecdsa256.xml", NULL);
    const char *head = "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r\">";
    const char *evil = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
                       "ID=\"_vecdsa256\"><saml:Subject>evil</saml:Subject></saml:Assertion>";
    size_t n = strlen(signed_a) + 4096;
    char *doc = malloc(n);

    /* 1. evil clone with the same ID first, signed one under a wrapper */
    snprintf(doc, n, "%s%s<samlp:Extensions>%s</samlp:Extensions></samlp:Response>", head, evil,
             signed_a);
    xmlDocPtr d = parse_str(doc);
    xmlNodePtr ext = xmlDocGetRootElement(d)->children->next;
    xmlNodePtr sig = eh_saml_find_signature(ext->children);
    ck_assert_ptr_nonnull(sig);
    ck_assert_int_ne(eh_saml_verify(d, sig, vk, &cov, why, sizeof(why)), EH_OK);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);

    /* 2. the signature moved into the evil assertion (it references the ID) */
    char *moved = strstr(signed_a, "<ds:Signature");
    char *end = strstr(moved, "</saml:Assertion>");
    *end = 0;
    snprintf(doc, n,
             "%s<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
             "ID=\"_vecdsa256\"><saml:Subject>evil</saml:Subject>%s</saml:Assertion></samlp:Response>",
             head, moved);
    *end = '<';
    d = parse_str(doc);
    sig = eh_saml_find_signature(xmlDocGetRootElement(d)->children);
    ck_assert_int_eq(eh_saml_verify(d, sig, vk, &cov, why, sizeof(why)), EH_ERR_CRYPTO);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);

    /* 3. signed assertion under a wrapper next to an unsigned one with
     *    another ID: verifies, and the covered node is the wrapped one only */
    const char *other = "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" "
                        "ID=\"_other\"><saml:Subject>evil</saml:Subject></saml:Assertion>";
    snprintf(doc, n, "%s%s<wrap>%s</wrap></samlp:Response>", head, other, signed_a);
    d = parse_str(doc);
    xmlNodePtr wrapped = xmlDocGetRootElement(d)->children->next->children;
    sig = eh_saml_find_signature(wrapped);
    ck_assert_int_eq(eh_saml_verify(d, sig, vk, &cov, why, sizeof(why)), EH_OK);
    ck_assert_ptr_eq(cov, wrapped);
    ck_assert_ptr_ne(cov, xmlDocGetRootElement(d)->children);
    xmlFreeDoc(d);

    /* 4. the Response's Signature pointing at a child's ID (not its parent) */
    char *resp = replace(signed_a, "ID=\"_vecdsa256\"", "ID=\"_x\"");
    char *sigtxt = strstr(resp, "<ds:Signature");
    snprintf(doc, n, "%s%.*s</samlp:Response>", head, (int)(strstr(sigtxt, "</saml:Assertion>") - sigtxt),
             sigtxt);
    d = parse_str(doc);
    sig = eh_saml_find_signature(xmlDocGetRootElement(d));
    ck_assert_int_eq(eh_saml_verify(d, sig, vk, &cov, why, sizeof(why)), EH_ERR_INVALID);
    xmlFreeDoc(d);
    free(resp);

    free(doc);
    free(signed_a);
    eh_saml_keys_free(vk);
}
END_TEST

/* signed_text signs ASSERTION with ec256 (the signature after Issuer) and
 * returns the document's text (caller frees); it verifies untouched with
 * ec256.pub.pem, so any refusal of an edited copy is the edit's. */
static char *signed_text(void)
{
    char why[200] = "";
    eh_saml_keys *sk = eh_test_saml_keys("ec256.pem"), *vk = eh_test_saml_keys("ec256.pub.pem");
    xmlDocPtr d = parse_str(ASSERTION);
    xmlNodePtr root = xmlDocGetRootElement(d), cov = NULL;
    xmlChar *txt = NULL;
    int tl = 0;
    char *out;

    ck_assert_msg(eh_saml_sign(d, root, root->children, EH_SAML_SIG_ECDSA_SHA256, sk, why,
                               sizeof(why)) == EH_OK,
                  "%s", why);
    xmlDocDumpMemory(d, &txt, &tl);
    xmlFreeDoc(d);
    d = parse_str((const char *)txt);
    ck_assert_msg(verify_root(d, vk, &cov, why, sizeof(why)) == EH_OK, "%s", why);
    xmlFreeDoc(d);
    out = strdup((const char *)txt);
    xmlFree(txt);
    eh_saml_keys_free(sk);
    eh_saml_keys_free(vk);
    return out;
}

/* refused_for verifies text with ec256.pub.pem and expects rc and the
 * reason want (not the signature mismatch the edit also causes); returns
 * the seconds it took. */
static double refused_for(const char *text, eh_rc rc, const char *want)
{
    char why[200] = "";
    eh_saml_keys *vk = eh_test_saml_keys("ec256.pub.pem");
    xmlDocPtr d = parse_str(text);
    xmlNodePtr cov = (xmlNodePtr)1;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_int_eq(verify_root(d, vk, &cov, why, sizeof(why)), rc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_str_eq(why, want);
    ck_assert_ptr_null(cov);
    xmlFreeDoc(d);
    eh_saml_keys_free(vk);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

#define EXC_C14N_TRANSFORM "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>"

START_TEST(refuses_other_reference_transforms)
{
    /* each one added to the Reference's Transforms (before exc-c14n), or
     * replacing it: XSLT (the classic one, with a stylesheet that would
     * fetch a document), XPath, XPath Filter 2.0, base64, inclusive c14n */
    static const char *const added[] = {
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\">"
        "<xsl:stylesheet xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" version=\"1.0\">"
        "<xsl:template match=\"/\"><xsl:copy-of select=\"document('http://127.0.0.1:1/x')\"/>"
        "</xsl:template></xsl:stylesheet></ds:Transform>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\">"
        "<ds:XPath>not(ancestor-or-self::saml:Subject)</ds:XPath></ds:Transform>",
        "<ds:Transform Algorithm=\"http://www.w3.org/2002/06/xmldsig-filter2\">"
        "<dsig-xpath:XPath xmlns:dsig-xpath=\"http://www.w3.org/2002/06/xmldsig-filter2\" "
        "Filter=\"subtract\">//saml:Subject</dsig-xpath:XPath></ds:Transform>",
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#base64\"/>",
        "<ds:Transform Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>",
    };
    char *text = signed_text();

    for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++) {
        size_t n = strlen(added[i]) + strlen(EXC_C14N_TRANSFORM) + 1;
        char *both = malloc(n), *before, *instead;
        snprintf(both, n, "%s%s", added[i], EXC_C14N_TRANSFORM);
        before = replace(text, EXC_C14N_TRANSFORM, both);
        instead = replace(text, EXC_C14N_TRANSFORM, added[i]);
        ck_assert_msg(refused_for(before, EH_ERR_CRYPTO, "reference transform not allowed") < 1.0,
                      "%zu", i);
        refused_for(instead, EH_ERR_CRYPTO, "reference transform not allowed");
        free(both);
        free(before);
        free(instead);
    }
    /* an allowed transform carrying an XPath parameter */
    char *param = replace(text, EXC_C14N_TRANSFORM,
                          "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\">"
                          "<ds:XPath>//saml:Issuer</ds:XPath></ds:Transform>");
    refused_for(param, EH_ERR_CRYPTO, "reference transform parameters not allowed");
    free(param);
    free(text);
}
END_TEST

#define ENVELOPED_TRANSFORM                                                                        \
    "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"

/* The allowed transforms only as SAML's profile has them: enveloped, then
 * exc-c14n, each once. Canonicalization followed by anything (its octets
 * into an XML transform) is refused before xmlsec runs the chain. */
START_TEST(refuses_reference_transforms_out_of_order)
{
    static const char *const chains[] = {
        EXC_C14N_TRANSFORM ENVELOPED_TRANSFORM,
        EXC_C14N_TRANSFORM EXC_C14N_TRANSFORM,
        ENVELOPED_TRANSFORM ENVELOPED_TRANSFORM EXC_C14N_TRANSFORM,
        ENVELOPED_TRANSFORM EXC_C14N_TRANSFORM ENVELOPED_TRANSFORM,
    };
    char *text = signed_text();
    const char *both = ENVELOPED_TRANSFORM "\n" EXC_C14N_TRANSFORM;

    ck_assert_ptr_nonnull(strstr(text, both));
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        char *edited = replace(text, both, chains[i]);
        refused_for(edited, EH_ERR_CRYPTO, "reference transform not allowed");
        free(edited);
    }
    free(text);
}
END_TEST

START_TEST(refuses_external_reference_uris)
{
    /* a listener that would see any fetch of the http URI, and a FIFO with
     * one byte in it that any read of the file URI would take (or block on) */
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    char *dir = eh_test_tmpdir(), fifo[512], uri[600], c = 'x';
    int lsock = socket(AF_INET, SOCK_STREAM, 0), ffd;
    char *text = signed_text();

    ck_assert_int_ge(lsock, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lsock, 4), 0);
    ck_assert_int_eq(getsockname(lsock, (struct sockaddr *)&sa, &sl), 0);
    ck_assert_int_eq(fcntl(lsock, F_SETFL, O_NONBLOCK), 0);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ffd = open(fifo, O_RDWR | O_NONBLOCK);
    ck_assert_int_ge(ffd, 0);
    ck_assert_int_eq(write(ffd, &c, 1), 1);

    const char *uris[] = {NULL, NULL, "file:///etc/passwd", "http://127.0.0.1:1/a.xml",
                          "other.xml#_a1", "", "#xpointer(/)", "#xpointer(id('_a1'))"};
    char http[128];
    snprintf(http, sizeof(http), "http://127.0.0.1:%u/assertion.xml", ntohs(sa.sin_port));
    snprintf(uri, sizeof(uri), "file://%s", fifo);
    uris[0] = http;
    uris[1] = uri;
    alarm(30); /* a blocked read of the FIFO ends the run instead of hanging it */
    for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        char attr[700], *edited;
        snprintf(attr, sizeof(attr), "URI=\"%s\"", uris[i]);
        edited = replace(text, "URI=\"#_a1\"", attr);
        ck_assert_msg(refused_for(edited, EH_ERR_INVALID,
                                  "Reference does not point at the signed element") < 1.0,
                      "%zu", i);
        free(edited);
    }
    alarm(0);
    /* nobody connected, nobody read */
    ck_assert_int_lt(accept(lsock, NULL, NULL), 0);
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    c = 0;
    ck_assert_int_eq(read(ffd, &c, 1), 1);
    ck_assert_int_eq(c, 'x');
    close(ffd);
    close(lsock);
    free(text);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(parse_refuses_doctype_entities_depth_size)
{
    char why[200] = "";
    xmlDocPtr d = (xmlDocPtr)1;
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                      "<a>&x;</a>";
    ck_assert_int_eq(eh_saml_parse(xxe, strlen(xxe), &d, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "DOCTYPE refused");
    ck_assert_ptr_null(d);
    const char *lol = "<!DOCTYPE a [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">"
                      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;\">]><a>&c;&c;&c;&c;</a>";
    ck_assert_int_eq(eh_saml_parse(lol, strlen(lol), &d, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "DOCTYPE refused");
    const char *ext = "<!DOCTYPE a SYSTEM \"http://127.0.0.1:1/x.dtd\"><a/>";
    ck_assert_int_eq(eh_saml_parse(ext, strlen(ext), &d, why, sizeof(why)), EH_ERR_INVALID);
    const char *undecl = "<a>&x;</a>";
    ck_assert_int_eq(eh_saml_parse(undecl, strlen(undecl), &d, why, sizeof(why)), EH_ERR_INVALID);
    /* nesting */
    char deep[200 * 7 + 16] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "<a>");
    for (int i = 0; i < 100; i++)
        strcat(deep, "</a>");
    ck_assert_int_eq(eh_saml_parse(deep, strlen(deep), &d, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_str_eq(why, "nesting too deep");
    /* size */
    size_t big = EH_SAML_MAX_INPUT + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    memcpy(huge, "<a>", 3);
    ck_assert_int_eq(eh_saml_parse(huge, big, &d, why, sizeof(why)), EH_ERR_TOO_LARGE);
    free(huge);
    const char *junk = "\x01\x02<<<";
    ck_assert_int_eq(eh_saml_parse(junk, strlen(junk), &d, why, sizeof(why)), EH_ERR_INVALID);
    /* and a plain document is fine */
    d = parse_str("<a><b>x</b></a>");
    xmlFreeDoc(d);
}
END_TEST

/* ----------------------------------------------------------------- encryption */
static void enc_round_trip(eh_saml_enc_alg alg, const char *uri)
{
    char why[200] = "";
    eh_saml_keys *pub = eh_test_saml_keys("rsa3072.pub.pem"), *priv = eh_test_saml_keys("rsa3072.pem");
    char doc[1024];
    snprintf(doc, sizeof(doc),
             "<saml2p:Response xmlns:saml2p=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_r\">"
             "<saml2:EncryptedAssertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\">%s"
             "</saml2:EncryptedAssertion></saml2p:Response>",
             ASSERTION);
    xmlDocPtr d = parse_str(doc);
    xmlNodePtr ea = xmlDocGetRootElement(d)->children;
    xmlNodePtr enc = NULL;
    ck_assert_msg(eh_saml_encrypt(d, ea->children, alg, pub, &enc, why, sizeof(why)) == EH_OK,
                  "%s", why);
    xmlChar *txt = NULL;
    int tl = 0;
    xmlDocDumpMemory(d, &txt, &tl);
    ck_assert_ptr_nonnull(strstr((char *)txt, uri));
    ck_assert_ptr_nonnull(strstr((char *)txt, "rsa-oaep-mgf1p"));
    ck_assert_ptr_null(strstr((char *)txt, "38001085718"));
    xmlFreeDoc(d);
    d = parse_str((char *)txt);
    xmlFree(txt);
    ea = xmlDocGetRootElement(d)->children;
    xmlNodePtr out = NULL;
    ck_assert_msg(eh_saml_decrypt(d, ea->children, priv, &out, why, sizeof(why)) == EH_OK, "%s",
                  why);
    ck_assert_str_eq((char *)out->name, "Assertion");
    xmlChar *id = xmlGetProp(out, BAD_CAST "ID");
    ck_assert_str_eq((char *)id, "_a1");
    xmlFree(id);
    xmlFreeDoc(d);
    eh_saml_keys_free(pub);
    eh_saml_keys_free(priv);
}

START_TEST(aes_gcm_round_trip)
{
    enc_round_trip(EH_SAML_ENC_AES256_GCM, "http://www.w3.org/2009/xmlenc11#aes256-gcm");
    enc_round_trip(EH_SAML_ENC_AES128_GCM, "http://www.w3.org/2009/xmlenc11#aes128-gcm");
}
END_TEST

START_TEST(cbc_and_foreign_keys_refused_on_decrypt)
{
    char why[200] = "";
    eh_saml_keys *pub = eh_test_saml_keys("rsa3072.pub.pem"), *priv = eh_test_saml_keys("rsa3072.pem");
    xmlDocPtr d = parse_str(ASSERTION);
    xmlNodePtr enc = NULL;
    /* put the assertion under a parent, encrypt, then claim CBC */
    xmlNodePtr wrap = xmlNewNode(NULL, BAD_CAST "w");
    xmlNodePtr a = xmlDocGetRootElement(d);
    xmlDocSetRootElement(d, wrap);
    xmlAddChild(wrap, a);
    ck_assert(eh_saml_encrypt(d, a, EH_SAML_ENC_AES256_GCM, pub, &enc, why, sizeof(why)) == EH_OK);
    xmlChar *txt = NULL;
    int tl = 0;
    xmlDocDumpMemory(d, &txt, &tl);
    xmlFreeDoc(d);
    char *cbc = replace((char *)txt, "http://www.w3.org/2009/xmlenc11#aes256-gcm",
                        "http://www.w3.org/2001/04/xmlenc#aes256-cbc");
    /* untouched, a key set without our RSA key cannot decrypt it */
    d = parse_str((char *)txt);
    eh_saml_keys *other = eh_test_saml_keys("ec256.pem");
    xmlNodePtr out = NULL;
    ck_assert_int_eq(eh_saml_decrypt(d, xmlDocGetRootElement(d)->children, other, &out, why,
                                     sizeof(why)),
                     EH_ERR_CRYPTO);
    ck_assert_ptr_null(out);
    eh_saml_keys_free(other);
    xmlFreeDoc(d);
    d = parse_str(cbc);
    ck_assert_int_eq(eh_saml_decrypt(d, xmlDocGetRootElement(d)->children, priv, &out, why,
                                     sizeof(why)),
                     EH_ERR_CRYPTO);
    ck_assert_ptr_null(out);
    xmlFreeDoc(d);
    xmlFree(txt);
    free(cbc);
    eh_saml_keys_free(pub);
    eh_saml_keys_free(priv);
}
END_TEST

Suite *suite_saml_crypto(void)
{
    Suite *s = suite_create("saml_crypto");
    TCase *tc = tcase_create("sign");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_each_algorithm);
    tcase_add_test(tc, wrong_key_type_for_algorithm);
    tcase_add_test(tc, small_rsa_key_refused);
    tcase_add_test(tc, accepts_openssl_cli_vectors);
    tcase_add_test(tc, our_signatures_verify_independently);
    suite_add_tcase(s, tc);
    tc = tcase_create("refuse");
    tcase_add_test(tc, refuses_pkcs1_and_sha1);
    tcase_add_test(tc, refuses_hmac);
    tcase_add_test(tc, refuses_pss_with_other_salt_length);
    tcase_add_test(tc, refuses_xml_id_clone);
    tcase_add_test(tc, ignores_untrusted_keyinfo);
    tcase_add_test(tc, wrapping_uses_only_the_covered_node);
    tcase_add_test(tc, parse_refuses_doctype_entities_depth_size);
    tcase_add_test(tc, refuses_other_reference_transforms);
    tcase_add_test(tc, refuses_reference_transforms_out_of_order);
    tcase_add_test(tc, refuses_external_reference_uris);
    suite_add_tcase(s, tc);
    tc = tcase_create("encrypt");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, aes_gcm_round_trip);
    tcase_add_test(tc, cbc_and_foreign_keys_refused_on_decrypt);
    suite_add_tcase(s, tc);
    return s;
}
