/* Unit tests of the OCSP revocation check of SK certificates (sk_ocsp.c):
 * answers built here with OpenSSL's OCSP API, as a responder would sign
 * them, each checked against the request eidhub made. */
#include "tests/unit/suites.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "broker/backends/mobile_id.h"
#include "broker/backends/sk_ocsp.h"
#include "broker/backends/sk_verify.h"
#include "tests/unit/testutil.h"

#define OT_DAY 86400L
#define OT_AIA "http://127.0.0.1:9/ocsp-aia"

/* The suite's PKI, made once. */
static struct {
    char *dir;
    char *ca_pem, *both_pem, *explicit_pem;
    EVP_PKEY *ca_key, *ca2_key, *key; /* key: every end entity's (speed) */
    X509 *ca, *ca2;
    X509 *leaf, *leaf2, *leaf_no_aia, *leaf_ca2;
    X509 *responder, *plain, *responder_ca2, *explicit_responder;
    eh_sk_trust *trust, *trust_both;
} ot;

/* ot_ext adds an extension in openssl.cnf syntax. */
static void ot_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ck_assert_ptr_nonnull(ext);
    ck_assert_int_eq(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* ot_cert makes a certificate named cn for key, issued by issuer (NULL:
 * a self-signed CA) with issuer_key; eku and aia (may be NULL) are
 * extendedKeyUsage and the OCSP URL of authorityInfoAccess. */
static X509 *ot_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                     const char *eku, const char *aia)
{
    static long serial = 1000;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    char value[256];

    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
    ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -OT_DAY));
    ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), 365 * OT_DAY));
    ck_assert_int_eq(X509_set_pubkey(x, key), 1);
    ck_assert_int_eq(X509_NAME_add_entry_by_NID(name, NID_countryName, MBSTRING_UTF8,
                                                (const unsigned char *)"EE", -1, -1, 0),
                     1);
    ck_assert_int_eq(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                                (const unsigned char *)cn, -1, -1, 0),
                     1);
    ck_assert_int_eq(X509_set_subject_name(x, name), 1);
    ck_assert_int_eq(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
    X509_NAME_free(name);
    ot_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
    if (!issuer) {
        ot_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        ot_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        ot_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
        ot_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
        if (eku)
            ot_ext(x, issuer, NID_ext_key_usage, eku);
        if (aia) {
            snprintf(value, sizeof(value), "OCSP;URI:%s", aia);
            ot_ext(x, issuer, NID_info_access, value);
        }
    }
    ck_assert_int_gt(X509_sign(x, issuer_key, EVP_sha256()), 0);
    return x;
}

/* ot_pem writes the n certificates into dir/name (caller frees the path). */
static char *ot_pem(const char *name, X509 *const *certs, size_t n)
{
    char *path = NULL;
    FILE *fp;

    ck_assert_int_gt(asprintf(&path, "%s/%s", ot.dir, name), 0);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(PEM_write_X509(fp, certs[i]), 1);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

static eh_sk_trust *ot_trust(const char *file)
{
    eh_sk_trust *t = NULL;
    char err[256];
    const char *files[] = {file};

    ck_assert_int_eq(eh_sk_trust_new(files, 1, &t, err, sizeof(err)), EH_OK);
    return t;
}

static void ot_setup(void)
{
    X509 *both[2];

    ot.dir = eh_test_tmpdir();
    ot.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ot.ca2_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ot.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(ot.ca_key);
    ck_assert_ptr_nonnull(ot.ca2_key);
    ck_assert_ptr_nonnull(ot.key);
    ot.ca = ot_cert("TEST of OCSP CA", ot.ca_key, NULL, ot.ca_key, NULL, NULL);
    ot.ca2 = ot_cert("TEST of another CA", ot.ca2_key, NULL, ot.ca2_key, NULL, NULL);
    ot.leaf =
        ot_cert("CITIZEN,ONE,PNOEE-38001085718", ot.key, ot.ca, ot.ca_key, "clientAuth", OT_AIA);
    ot.leaf2 =
        ot_cert("CITIZEN,TWO,PNOEE-60001019906", ot.key, ot.ca, ot.ca_key, "clientAuth", OT_AIA);
    ot.leaf_no_aia =
        ot_cert("CITIZEN,THREE,PNOEE-39005151236", ot.key, ot.ca, ot.ca_key, NULL, NULL);
    ot.leaf_ca2 =
        ot_cert("CITIZEN,FOUR,PNOEE-47503022219", ot.key, ot.ca2, ot.ca2_key, NULL, OT_AIA);
    ot.responder =
        ot_cert("TEST of OCSP CA OCSP RESPONDER", ot.key, ot.ca, ot.ca_key, "OCSPSigning", NULL);
    ot.plain =
        ot_cert("TEST of a server, not a responder", ot.key, ot.ca, ot.ca_key, "serverAuth", NULL);
    ot.responder_ca2 = ot_cert("TEST of another CA OCSP RESPONDER", ot.key, ot.ca2, ot.ca2_key,
                               "OCSPSigning", NULL);
    /* like SK's "SK OCSP RESPONDER 2011": not issued by the citizen's CA */
    ot.explicit_responder =
        ot_cert("TEST of SK OCSP RESPONDER", ot.key, ot.ca2, ot.ca2_key, "OCSPSigning", NULL);
    ot.ca_pem = ot_pem("ca.pem", &ot.ca, 1);
    both[0] = ot.ca;
    both[1] = ot.ca2;
    ot.both_pem = ot_pem("both.pem", both, 2);
    ot.explicit_pem = ot_pem("responder.pem", &ot.explicit_responder, 1);
    ot.trust = ot_trust(ot.ca_pem);
    ot.trust_both = ot_trust(ot.both_pem);
}

static void ot_teardown(void)
{
    X509 *certs[] = {ot.ca,       ot.ca2,       ot.leaf,  ot.leaf2,         ot.leaf_no_aia,
                     ot.leaf_ca2, ot.responder, ot.plain, ot.responder_ca2, ot.explicit_responder};

    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY_free(ot.ca_key);
    EVP_PKEY_free(ot.ca2_key);
    EVP_PKEY_free(ot.key);
    eh_sk_trust_free(ot.trust);
    eh_sk_trust_free(ot.trust_both);
    eh_test_rmtree(ot.dir);
    free(ot.dir);
    free(ot.ca_pem);
    free(ot.both_pem);
    free(ot.explicit_pem);
    memset(&ot, 0, sizeof(ot));
}

/* The usual settings: delegated responders, nonce, 15 min, 60 s skew. */
static eh_sk_ocsp_config ot_config(void)
{
    eh_sk_ocsp_config c = {.timeout_ms = 1000, .max_age_s = 900, .clock_skew_s = 60, .nonce = 1};
    return c;
}

static eh_sk_ocsp *ot_checker(const eh_sk_ocsp_config *c, const eh_sk_trust *trust)
{
    eh_sk_ocsp *o = NULL;
    char err[256] = "";

    ck_assert_msg(eh_sk_ocsp_new(c, trust, &o, err, sizeof(err)) == EH_OK, "%s", err);
    return o;
}

/* ot_query makes the request about cert. */
static eh_sk_ocsp_query *ot_query(const eh_sk_ocsp *o, X509 *cert)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    eh_sk_ocsp_query *q = NULL;
    char why[256] = "";

    ck_assert_int_gt(n, 0);
    ck_assert_msg(eh_sk_ocsp_query_new(o, der, (size_t)n, &q, why, sizeof(why)) == EH_OK, "%s",
                  why);
    OPENSSL_free(der);
    return q;
}

/* What a test answer is made of. */
typedef struct ot_answer {
    int response_status;    /* OCSP_RESPONSE_STATUS_* */
    int status;             /* V_OCSP_CERTSTATUS_* */
    X509 *signer;           /* with ot.key (or ot.ca_key for ot.ca, ot.ca2_key for ot.ca2) */
    long this_offset;       /* thisUpdate = now + this */
    long next_offset;       /* nextUpdate = now + next, 0: none */
    int nonce;              /* 1 copy the request's, 0 none, -1 another */
    X509 *about, *about_ca; /* not NULL: the single response is about this certificate */
} ot_answer;

static ot_answer ot_good(void)
{
    ot_answer a = {
        OCSP_RESPONSE_STATUS_SUCCESSFUL, V_OCSP_CERTSTATUS_GOOD, NULL, -5, 900, 1, NULL, NULL};
    a.signer = ot.responder;
    return a;
}

/* ot_build signs the answer a to q at now into DER (caller frees with
 * OPENSSL_free). */
static unsigned char *ot_build(const eh_sk_ocsp_query *q, const ot_answer *a, time_t now,
                               size_t *len)
{
    size_t qlen;
    const unsigned char *qder = eh_sk_ocsp_query_der(q, &qlen), *p = qder;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)qlen);
    OCSP_CERTID *own = NULL, *cid;
    OCSP_BASICRESP *bs = NULL;
    OCSP_RESPONSE *resp;
    ASN1_TIME *this_update = NULL, *next_update = NULL, *revoked_at = NULL;
    unsigned char *der = NULL, other_nonce[16];
    EVP_PKEY *key;
    int n;

    ck_assert_ptr_nonnull(req);
    if (a->response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        resp = OCSP_response_create(a->response_status, NULL);
    } else {
        cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0));
        if (a->about)
            cid = own = OCSP_cert_to_id(EVP_sha1(), a->about, a->about_ca);
        ck_assert_ptr_nonnull(cid);
        bs = OCSP_BASICRESP_new();
        this_update = ASN1_TIME_adj(NULL, now, 0, a->this_offset);
        next_update = a->next_offset ? ASN1_TIME_adj(NULL, now, 0, a->next_offset) : NULL;
        revoked_at = ASN1_TIME_adj(NULL, now, 0, -3600);
        ck_assert_ptr_nonnull(OCSP_basic_add1_status(
            bs, cid, a->status,
            a->status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
            a->status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at : NULL, this_update, next_update));
        if (a->nonce == 1) {
            ck_assert_int_eq(OCSP_copy_nonce(bs, req), 1);
        } else if (a->nonce == -1) {
            ck_assert_int_eq(RAND_bytes(other_nonce, sizeof(other_nonce)), 1);
            ck_assert_int_eq(OCSP_basic_add1_nonce(bs, other_nonce, sizeof(other_nonce)), 1);
        }
        key = a->signer == ot.ca ? ot.ca_key : a->signer == ot.ca2 ? ot.ca2_key : ot.key;
        ck_assert_int_eq(OCSP_basic_sign(bs, a->signer, key, EVP_sha256(), NULL, 0), 1);
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    }
    ck_assert_ptr_nonnull(resp);
    n = i2d_OCSP_RESPONSE(resp, &der);
    ck_assert_int_gt(n, 0);
    *len = (size_t)n;
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(own);
    OCSP_REQUEST_free(req);
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(revoked_at);
    return der;
}

/* ot_expect checks answer a to a request about cert, with config c and
 * trust, and wants status with a reason containing text (NULL: "" ). */
static void ot_expect_with(const eh_sk_ocsp_config *c, const eh_sk_trust *trust, X509 *cert,
                           const ot_answer *a, eh_sk_ocsp_status want, const char *text)
{
    eh_sk_ocsp *o = ot_checker(c, trust);
    eh_sk_ocsp_query *q = ot_query(o, cert);
    time_t now = time(NULL);
    size_t len;
    unsigned char *der = ot_build(q, a, now, &len);
    char why[256] = "x";
    eh_sk_ocsp_status got = eh_sk_ocsp_answer_check(o, q, der, len, (int64_t)now, why, sizeof(why));

    ck_assert_msg(got == want, "status %d, not %d (%s)", (int)got, (int)want, why);
    if (text)
        ck_assert_msg(strstr(why, text) != NULL, "\"%s\" has no \"%s\"", why, text);
    else
        ck_assert_str_eq(why, "");
    OPENSSL_free(der);
    eh_sk_ocsp_query_free(q);
    eh_sk_ocsp_free(o);
}

static void ot_expect(const ot_answer *a, eh_sk_ocsp_status want, const char *text)
{
    eh_sk_ocsp_config c = ot_config();
    ot_expect_with(&c, ot.trust, ot.leaf, a, want, text);
}

START_TEST(test_good_by_delegated_responder)
{
    ot_answer a = ot_good();
    ot_expect(&a, EH_SK_OCSP_GOOD, NULL);
    a.next_offset = 0; /* no nextUpdate, as some responders answer */
    ot_expect(&a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

START_TEST(test_good_by_the_ca_itself)
{
    ot_answer a = ot_good();
    a.signer = ot.ca;
    ot_expect(&a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

START_TEST(test_revoked)
{
    ot_answer a = ot_good();
    a.status = V_OCSP_CERTSTATUS_REVOKED;
    ot_expect(&a, EH_SK_OCSP_REVOKED, "the certificate is revoked (keyCompromise)");
}
END_TEST

START_TEST(test_unknown)
{
    ot_answer a = ot_good();
    a.status = V_OCSP_CERTSTATUS_UNKNOWN;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "does not know the certificate");
}
END_TEST

START_TEST(test_wrong_signer)
{
    eh_sk_ocsp_config c = ot_config();
    ot_answer a = ot_good();

    /* issued by the CA, but not for OCSP signing */
    a.signer = ot.plain;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "not signed by the issuing CA or a responder it delegated");
    /* a responder of a CA nobody trusts */
    a.signer = ot.responder_ca2;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "not signed by the issuing CA");
    /* a responder of another trusted CA: not the one that issued the certificate */
    ot_expect_with(&c, ot.trust_both, ot.leaf, &a, EH_SK_OCSP_REFUSED,
                   "not signed by the issuing CA");
    /* another trusted CA itself */
    a.signer = ot.ca2;
    ot_expect_with(&c, ot.trust_both, ot.leaf, &a, EH_SK_OCSP_REFUSED,
                   "not signed by the issuing CA");
    /* and the other CA's own responder for its own certificate is fine */
    a.signer = ot.responder_ca2;
    ot_expect_with(&c, ot.trust_both, ot.leaf_ca2, &a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

/* ot_check_with_o checks answer a about cert with the checker o (kept
 * between calls, as the broker keeps it) and returns the status. */
static eh_sk_ocsp_status ot_check_with_o(eh_sk_ocsp *o, X509 *cert, const ot_answer *a, char *why,
                                         size_t whylen)
{
    eh_sk_ocsp_query *q = ot_query(o, cert);
    time_t now = time(NULL);
    size_t len;
    unsigned char *der = ot_build(q, a, now, &len);
    eh_sk_ocsp_status got = eh_sk_ocsp_answer_check(o, q, der, len, (int64_t)now, why, whylen);

    OPENSSL_free(der);
    eh_sk_ocsp_query_free(q);
    return got;
}

/* A delegated responder verified once is remembered for its issuer: its
 * next answers are good, and remembering it never lets through what the
 * whole check refuses (another issuer, another signer with the same key,
 * an answer it did not sign). */
START_TEST(test_delegate_remembered)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = ot_checker(&c, ot.trust_both);
    ot_answer a = ot_good();
    char why[256];

    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
        ck_assert_int_eq(ot_check_with_o(o, ot.leaf2, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
    }
    /* remembered for the first CA: not a responder for the second CA's certificates */
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf_ca2, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the answer is not signed by the issuing CA or a responder it delegated");
    /* a certificate of the CA with the same key, but not for OCSP signing */
    a.signer = ot.plain;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    /* the second CA's responder, then the first's again: each for its own */
    a.signer = ot.responder_ca2;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf_ca2, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    a.signer = ot.responder;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf_ca2, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    /* an answer about another CA's certificate, signed by that CA's
     * responder, to a question about the first CA's: refused, and its
     * responder is not remembered for the first CA */
    eh_sk_ocsp_free(o);
    o = ot_checker(&c, ot.trust_both);
    a.signer = ot.responder_ca2;
    a.about = ot.leaf_ca2;
    a.about_ca = ot.ca2;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the answer is not about the certificate asked about");
    a.about = a.about_ca = NULL;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the answer is not signed by the issuing CA or a responder it delegated");
    a.signer = ot.responder;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
    /* still the checks of the answer itself */
    a.status = V_OCSP_CERTSTATUS_REVOKED;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REVOKED);
    a.status = V_OCSP_CERTSTATUS_GOOD;
    a.nonce = -1;
    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_REFUSED);
    eh_sk_ocsp_free(o);
}
END_TEST

/* An answer whose signature does not verify is refused while its signer is
 * remembered: one byte of the signature changed. */
START_TEST(test_delegate_remembered_bad_signature)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = ot_checker(&c, ot.trust);
    ot_answer a = ot_good();
    eh_sk_ocsp_query *q;
    time_t now = time(NULL);
    size_t len;
    unsigned char *der;
    char why[256];
    OCSP_RESPONSE *resp;
    OCSP_BASICRESP *bs;
    const ASN1_OCTET_STRING *sig;
    const unsigned char *p;
    unsigned char *out = NULL;
    int n;

    ck_assert_int_eq(ot_check_with_o(o, ot.leaf, &a, why, sizeof(why)), EH_SK_OCSP_GOOD);
    q = ot_query(o, ot.leaf);
    der = ot_build(q, &a, now, &len);
    p = der;
    resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    ck_assert_ptr_nonnull(resp);
    bs = OCSP_response_get1_basic(resp);
    ck_assert_ptr_nonnull(bs);
    sig = OCSP_resp_get0_signature(bs);
    ((ASN1_OCTET_STRING *)sig)->data[sig->length / 2] ^= 0x01;
    OCSP_RESPONSE_free(resp);
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    n = i2d_OCSP_RESPONSE(resp, &out);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, out, (size_t)n, (int64_t)now, why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the answer is not signed by the issuing CA or a responder it delegated");
    OPENSSL_free(out);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OPENSSL_free(der);
    eh_sk_ocsp_query_free(q);
    eh_sk_ocsp_free(o);
}
END_TEST

START_TEST(test_configured_responder)
{
    eh_sk_ocsp_config c = ot_config();
    ot_answer a = ot_good();

    c.responder_certificate = ot.explicit_pem;
    /* the configured one signs: trusted as it is, though no CA of ours issued it */
    a.signer = ot.explicit_responder;
    ot_expect_with(&c, ot.trust, ot.leaf, &a, EH_SK_OCSP_GOOD, NULL);
    a.status = V_OCSP_CERTSTATUS_REVOKED;
    ot_expect_with(&c, ot.trust, ot.leaf, &a, EH_SK_OCSP_REVOKED, "revoked");
    /* once one is configured, a delegated responder or the CA no longer do */
    a.status = V_OCSP_CERTSTATUS_GOOD;
    a.signer = ot.responder;
    ot_expect_with(&c, ot.trust, ot.leaf, &a, EH_SK_OCSP_REFUSED,
                   "not signed by the configured responder");
    a.signer = ot.ca;
    ot_expect_with(&c, ot.trust, ot.leaf, &a, EH_SK_OCSP_REFUSED,
                   "not signed by the configured responder");
    {
        /* the configured certificate itself must be valid (it is for a year) */
        eh_sk_ocsp *o = ot_checker(&c, ot.trust);
        eh_sk_ocsp_query *q = ot_query(o, ot.leaf);
        time_t now = time(NULL);
        size_t len;
        unsigned char *der;
        char why[256];

        a.signer = ot.explicit_responder;
        der = ot_build(q, &a, now, &len);
        ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, der, len, (int64_t)now + 2 * 365 * OT_DAY,
                                                 why, sizeof(why)),
                         EH_SK_OCSP_REFUSED);
        ck_assert_str_eq(why, "the configured responder certificate is not valid now");
        OPENSSL_free(der);
        eh_sk_ocsp_query_free(q);
        eh_sk_ocsp_free(o);
    }
}
END_TEST

START_TEST(test_stale_this_update)
{
    ot_answer a = ot_good();

    a.this_offset = -(900 + 60 + 5); /* max_age plus the skew, and a bit */
    ot_expect(&a, EH_SK_OCSP_REFUSED, "older than max_age_seconds");
    a.this_offset = -(900 + 30); /* within the skew */
    ot_expect(&a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

START_TEST(test_future_this_update)
{
    ot_answer a = ot_good();

    a.this_offset = 120;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "thisUpdate is in the future");
    a.this_offset = 30; /* a responder whose clock is a little ahead */
    ot_expect(&a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

START_TEST(test_next_update_passed)
{
    ot_answer a = ot_good();

    a.this_offset = -600;
    a.next_offset = -300;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "nextUpdate has passed");
}
END_TEST

START_TEST(test_nonce)
{
    eh_sk_ocsp_config c = ot_config();
    ot_answer a = ot_good();

    a.nonce = -1;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "nonce is not ours");
    a.nonce = 0;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "has no nonce");
    /* with the nonce switched off, an answer without one is fine */
    c.nonce = 0;
    ot_expect_with(&c, ot.trust, ot.leaf, &a, EH_SK_OCSP_GOOD, NULL);
}
END_TEST

START_TEST(test_answer_about_another_certificate)
{
    ot_answer a = ot_good();

    a.about = ot.leaf2;
    a.about_ca = ot.ca;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "not about the certificate asked about");
}
END_TEST

START_TEST(test_not_successful)
{
    static const int statuses[] = {OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
                                   OCSP_RESPONSE_STATUS_INTERNALERROR,
                                   OCSP_RESPONSE_STATUS_TRYLATER, OCSP_RESPONSE_STATUS_SIGREQUIRED,
                                   OCSP_RESPONSE_STATUS_UNAUTHORIZED};
    ot_answer a = ot_good();

    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        a.response_status = statuses[i];
        ot_expect(&a, EH_SK_OCSP_REFUSED, "the responder answered");
    }
    a.response_status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
    ot_expect(&a, EH_SK_OCSP_REFUSED, "the responder answered unauthorized");
}
END_TEST

START_TEST(test_malformed)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = ot_checker(&c, ot.trust);
    eh_sk_ocsp_query *q = ot_query(o, ot.leaf);
    ot_answer a = ot_good();
    time_t now = time(NULL);
    size_t len;
    unsigned char *der = ot_build(q, &a, now, &len), junk[300], *longer;
    char why[256];

    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, der, len, now, why, sizeof(why)),
                     EH_SK_OCSP_GOOD);
    /* cut short, at every length */
    for (size_t n = 0; n < len; n += 7)
        ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, der, n, now, why, sizeof(why)),
                         EH_SK_OCSP_REFUSED);
    /* trailing bytes */
    longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, longer, len + 1, now, why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the answer is not an OCSP response");
    /* a flipped byte in the signed part: a bad signature or no parse */
    for (size_t i = len / 2; i < len; i += 11) {
        memcpy(longer, der, len);
        longer[i] ^= 0x01;
        ck_assert_int_ne(eh_sk_ocsp_answer_check(o, q, longer, len, now, why, sizeof(why)),
                         EH_SK_OCSP_GOOD);
    }
    /* noise, and an HTML error page */
    ck_assert_int_eq(RAND_bytes(junk, sizeof(junk)), 1);
    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, junk, sizeof(junk), now, why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, (const unsigned char *)"<html>502</html>", 16,
                                             now, why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    ck_assert_int_eq(eh_sk_ocsp_answer_check(o, q, NULL, 0, now, why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    free(longer);
    OPENSSL_free(der);
    eh_sk_ocsp_query_free(q);
    eh_sk_ocsp_free(o);
}
END_TEST

START_TEST(test_request)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = ot_checker(&c, ot.trust);
    eh_sk_ocsp_query *q = ot_query(o, ot.leaf), *q2 = ot_query(o, ot.leaf);
    size_t len, len2;
    const unsigned char *der = eh_sk_ocsp_query_der(q, &len), *p = der;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    ASN1_OBJECT *md = NULL;
    ASN1_INTEGER *serial = NULL;

    /* the certificate's AIA, a SHA-1 CertID of its serial, a nonce */
    ck_assert_str_eq(eh_sk_ocsp_query_url(q), OT_AIA);
    ck_assert_ptr_nonnull(req);
    ck_assert_int_eq(OCSP_request_onereq_count(req), 1);
    ck_assert_int_eq(OCSP_id_get0_info(NULL, &md, NULL, &serial,
                                       OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0))),
                     1);
    ck_assert_int_eq(OBJ_obj2nid(md), NID_sha1);
    ck_assert_int_eq(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(ot.leaf)), 0);
    ck_assert_int_ge(OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1), 0);
    /* a fresh nonce each time */
    eh_sk_ocsp_query_der(q2, &len2);
    ck_assert(len != len2 || memcmp(der, eh_sk_ocsp_query_der(q2, NULL), len) != 0);
    OCSP_REQUEST_free(req);
    eh_sk_ocsp_query_free(q);
    eh_sk_ocsp_query_free(q2);
    eh_sk_ocsp_free(o);

    /* no nonce when switched off; a configured URL wins over the AIA */
    c.nonce = 0;
    c.url = "http://ocsp.example.test/";
    o = ot_checker(&c, ot.trust);
    q = ot_query(o, ot.leaf);
    ck_assert_str_eq(eh_sk_ocsp_query_url(q), "http://ocsp.example.test/");
    der = eh_sk_ocsp_query_der(q, &len);
    p = der;
    req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
    ck_assert_int_lt(OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1), 0);
    OCSP_REQUEST_free(req);
    eh_sk_ocsp_query_free(q);
    /* with a configured URL, a certificate without AIA is fine */
    q = ot_query(o, ot.leaf_no_aia);
    ck_assert_str_eq(eh_sk_ocsp_query_url(q), "http://ocsp.example.test/");
    eh_sk_ocsp_query_free(q);
    eh_sk_ocsp_free(o);
}
END_TEST

START_TEST(test_request_refused)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = ot_checker(&c, ot.trust);
    eh_sk_ocsp_query *q = NULL;
    unsigned char *der = NULL;
    int n;
    char why[256];

    n = i2d_X509(ot.leaf_no_aia, &der);
    ck_assert_int_eq(eh_sk_ocsp_query_new(o, der, (size_t)n, &q, why, sizeof(why)),
                     EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(q);
    ck_assert_str_eq(why, "the certificate names no OCSP responder and none is configured");
    OPENSSL_free(der);
    der = NULL;
    n = i2d_X509(ot.leaf_ca2, &der);
    ck_assert_int_eq(eh_sk_ocsp_query_new(o, der, (size_t)n, &q, why, sizeof(why)), EH_ERR_KEY);
    ck_assert_str_eq(why, "no trusted CA issued the certificate");
    ck_assert_int_eq(eh_sk_ocsp_query_new(o, der, (size_t)n - 1, &q, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_ocsp_query_new(o, (const unsigned char *)"x", 1, &q, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(q);
    OPENSSL_free(der);
    /* eh_sk_ocsp_query_for and eh_sk_ocsp_check: no call at all for these */
    ck_assert_int_eq(eh_sk_ocsp_query_for(o, NULL, &q, why, sizeof(why)), EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_ocsp_query_for(o, ot.leaf_ca2, &q, why, sizeof(why)), EH_ERR_KEY);
    ck_assert_ptr_null(q);
    ck_assert_int_eq(eh_sk_ocsp_check(o, ot.leaf_no_aia, time(NULL), why, sizeof(why)),
                     EH_SK_OCSP_REFUSED);
    ck_assert_str_eq(why, "the certificate names no OCSP responder and none is configured");
    ck_assert_int_eq(eh_sk_ocsp_check(o, NULL, time(NULL), why, sizeof(why)), EH_SK_OCSP_REFUSED);
    eh_sk_ocsp_free(o);
}
END_TEST

START_TEST(test_unreachable_is_unavailable)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o;
    char why[320];

    c.url = "http://127.0.0.1:1/"; /* nothing listens there */
    o = ot_checker(&c, ot.trust);
    ck_assert_int_eq(eh_sk_ocsp_check(o, ot.leaf, time(NULL), why, sizeof(why)),
                     EH_SK_OCSP_UNAVAILABLE);
    ck_assert_msg(strstr(why, "the OCSP responder did not answer") != NULL, "%s", why);
    eh_sk_ocsp_free(o);
}
END_TEST

START_TEST(test_new_refused)
{
    eh_sk_ocsp_config c = ot_config();
    eh_sk_ocsp *o = NULL;
    char err[256], *missing = NULL;

    c.url = "ftp://ocsp.example.test/";
    ck_assert_int_eq(eh_sk_ocsp_new(&c, ot.trust, &o, err, sizeof(err)), EH_ERR_INVALID);
    ck_assert_str_eq(err, "the OCSP URL must be http:// or https://");
    c.url = NULL;
    ck_assert_int_gt(asprintf(&missing, "%s/no-such.pem", ot.dir), 0);
    c.responder_certificate = missing;
    ck_assert_int_eq(eh_sk_ocsp_new(&c, ot.trust, &o, err, sizeof(err)), EH_ERR_KEY);
    ck_assert_msg(strstr(err, "cannot open the responder certificate") != NULL, "%s", err);
    c.responder_certificate = ot.ca_pem; /* a readable certificate is fine */
    ck_assert_int_eq(eh_sk_ocsp_new(&c, ot.trust, &o, err, sizeof(err)), EH_OK);
    eh_sk_ocsp_free(o);
    o = NULL;
    ck_assert_int_eq(eh_sk_ocsp_new(&c, NULL, &o, err, sizeof(err)), EH_ERR_INVALID);
    ck_assert_ptr_null(o);
    free(missing);
}
END_TEST

/* ot_mid_load loads Mobile-ID settings with the given "ocsp" member text
 * (NULL: none) and returns the result; *state the loaded settings. */
static eh_rc ot_mid_load(const char *ocsp, void **state, char *err, size_t errlen)
{
    char *text = NULL;
    json_t *settings;
    eh_rc rc;

    ck_assert_int_gt(asprintf(&text,
                              "{\"url\": \"http://127.0.0.1:9/mid-api\", \"relying_party_uuid\": "
                              "\"00000000-0000-0000-0000-000000000000\", \"relying_party_name\": "
                              "\"DEMO\", \"trusted_ca_files\": [\"%s\"]%s%s}",
                              ot.ca_pem, ocsp ? ", \"ocsp\": " : "", ocsp ? ocsp : ""),
                     0);
    settings = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(settings);
    *state = NULL;
    err[0] = '\0';
    rc = eh_mid_load(settings, "/etc/eidhub/broker.json", "$.backends.mobile_id", state, err,
                     errlen);
    json_decref(settings);
    free(text);
    return rc;
}

START_TEST(test_settings)
{
    static const struct {
        const char *ocsp, *error;
    } bad[] = {
        {"\"on\"", "$.backends.mobile_id.ocsp: must be an object, or false"},
        {"{\"nonce\": 1}", "$.backends.mobile_id.ocsp.nonce: must be true or false"},
        {"{\"timeout_ms\": 10}", "$.backends.mobile_id.ocsp.timeout_ms"},
        {"{\"max_age_seconds\": 0}", "$.backends.mobile_id.ocsp.max_age_seconds"},
        {"{\"clock_skew_seconds\": 601}", "$.backends.mobile_id.ocsp.clock_skew_seconds"},
        {"{\"url\": \"ldap://x\"}", "$.backends.mobile_id.ocsp.url: the OCSP URL must be http"},
        {"{\"responder_certificate\": \"/nonexistent/r.pem\"}",
         "$.backends.mobile_id.ocsp.responder_certificate: /nonexistent/r.pem: cannot open"},
        {"{\"urls\": []}", "urls"},
    };
    char err[512];
    void *state;
    char *ok = NULL;

    /* on by default, and with true; off with false only */
    ck_assert_int_eq(ot_mid_load(NULL, &state, err, sizeof(err)), EH_OK);
    ck_assert_ptr_nonnull(((eh_mid *)state)->sk.ocsp);
    eh_mid_free(state);
    ck_assert_int_eq(ot_mid_load("true", &state, err, sizeof(err)), EH_OK);
    ck_assert_ptr_nonnull(((eh_mid *)state)->sk.ocsp);
    eh_mid_free(state);
    ck_assert_int_eq(ot_mid_load("false", &state, err, sizeof(err)), EH_OK);
    ck_assert_ptr_null(((eh_mid *)state)->sk.ocsp);
    eh_mid_free(state);
    ck_assert_int_gt(asprintf(&ok,
                              "{\"url\": \"http://aia.sk.ee/eid2016\", \"responder_certificate\": "
                              "\"%s\", \"timeout_ms\": 2000, \"max_age_seconds\": 60, "
                              "\"clock_skew_seconds\": 5, \"nonce\": false}",
                              ot.explicit_pem),
                     0);
    ck_assert_msg(ot_mid_load(ok, &state, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_ptr_nonnull(((eh_mid *)state)->sk.ocsp);
    eh_mid_free(state);
    free(ok);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_ne(ot_mid_load(bad[i].ocsp, &state, err, sizeof(err)), EH_OK);
        ck_assert_ptr_null(state);
        ck_assert_msg(strstr(err, bad[i].error) != NULL, "%s: \"%s\" has no \"%s\"", bad[i].ocsp,
                      err, bad[i].error);
    }
}
END_TEST

Suite *suite_sk_ocsp(void)
{
    Suite *s = suite_create("sk_ocsp");
    TCase *tc = tcase_create("answers");

    tcase_add_unchecked_fixture(tc, ot_setup, ot_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_good_by_delegated_responder);
    tcase_add_test(tc, test_delegate_remembered);
    tcase_add_test(tc, test_delegate_remembered_bad_signature);
    tcase_add_test(tc, test_good_by_the_ca_itself);
    tcase_add_test(tc, test_revoked);
    tcase_add_test(tc, test_unknown);
    tcase_add_test(tc, test_wrong_signer);
    tcase_add_test(tc, test_configured_responder);
    tcase_add_test(tc, test_stale_this_update);
    tcase_add_test(tc, test_future_this_update);
    tcase_add_test(tc, test_next_update_passed);
    tcase_add_test(tc, test_nonce);
    tcase_add_test(tc, test_answer_about_another_certificate);
    tcase_add_test(tc, test_not_successful);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_request);
    tcase_add_test(tc, test_request_refused);
    tcase_add_test(tc, test_unreachable_is_unavailable);
    tcase_add_test(tc, test_new_refused);
    tcase_add_test(tc, test_settings);
    suite_add_tcase(s, tc);
    return s;
}
