#include "tests/unit/suites.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "attributes/ee_personal_code.h"
#include "broker/authn.h"
#include "broker/backends/sk_verify.h"
#include "broker/rc.h"

/* Every test runs at T0 (2023-11-14); certificates are valid around it. */
#define SKT_T0 ((int64_t)1700000000)
#define SKT_DAY ((int64_t)86400)
#define SKT_YEAR (365 * SKT_DAY)

/* SK's Mobile-ID demo person and TARA's example person. */
#define SKT_MARY_GN "MARY ÄNN"
#define SKT_MARY_SN "O'CONNEŽ-ŠUSLIK TESTNUMBER"
#define SKT_MARY_CODE "60001019906"
#define SKT_JAAK_GN "JAAK-KRISTJAN"
#define SKT_JAAK_SN "JÕEORG"
#define SKT_JAAK_CODE "38001085718"
#define SKT_LT_CODE "30303039914"

/* What a certificate's subject and extensions are made of; NULL leaves a
 * member out. */
typedef struct skt_spec {
    const char *c;
    const char *gn;
    const char *sn;
    const char *serial;
    const char *serial2; /* a second serialNumber */
    int64_t not_before;
    int64_t not_after;
    const char *ku; /* keyUsage, in openssl.cnf syntax */
} skt_spec;

/* The suite's material, made once by skt_setup (RSA keygen is slow). */
static struct {
    char dir[PATH_MAX];
    char ca_pem[PATH_MAX];  /* the trusted CA */
    char ca2_pem[PATH_MAX]; /* the CA nobody trusts, alone */
    char both_pem[PATH_MAX];
    char old_ca_pem[PATH_MAX];
    char leaf_pem[PATH_MAX];
    char garbage_pem[PATH_MAX];
    char broken_pem[PATH_MAX];
    EVP_PKEY *ca_key, *ca2_key, *old_ca_key;
    X509 *ca, *ca2, *old_ca;
    EVP_PKEY *rsa2048, *rsa3072, *rsa1024, *ec256, *ec384, *ec_other;
    X509 *c_rsa2048, *c_rsa3072, *c_rsa1024, *c_ec256, *c_ec384;
    X509 *c_expired, *c_future, *c_untrusted, *c_old_ca;
    X509 *c_signing, *c_no_ku, *c_no_serial, *c_idc, *c_legacy, *c_two_serials;
    X509 *c_mismatch, *c_no_c, *c_control, *c_lt, *c_bad_checksum;
    eh_sk_trust *trust;
} skt;

/* skt_person is the usual subject, serial aside. */
static skt_spec skt_person(const char *serial)
{
    skt_spec s = {"EE",
                  SKT_MARY_GN,
                  SKT_MARY_SN,
                  serial,
                  NULL,
                  SKT_T0 - SKT_YEAR,
                  SKT_T0 + SKT_YEAR,
                  "critical,digitalSignature,keyEncipherment,dataEncipherment"};
    return s;
}

/* skt_add_ext adds the extension nid with value (openssl.cnf syntax). */
static void skt_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
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

/* skt_add_name adds one UTF-8 entry to name, when value is not NULL. */
static void skt_add_name(X509_NAME *name, int nid, const char *value)
{
    if (value)
        ck_assert_int_eq(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                                    (const unsigned char *)value, -1, -1, 0),
                         1);
}

/* skt_issue returns a certificate for key's public half, as spec says,
 * signed by issuer_key; issuer NULL makes a self-signed CA certificate. */
static X509 *skt_issue(EVP_PKEY *key, const skt_spec *spec, X509 *issuer, EVP_PKEY *issuer_key)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    char cn[256];

    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(name);
    ck_assert_int_eq(X509_set_version(x, X509_VERSION_3), 1);
    ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    ck_assert_ptr_nonnull(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)spec->not_before));
    ck_assert_ptr_nonnull(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)spec->not_after));
    ck_assert_int_eq(X509_set_pubkey(x, key), 1);

    skt_add_name(name, NID_countryName, spec->c);
    if (!issuer) {
        /* a CA: its name in gn */
        skt_add_name(name, NID_organizationName, "eidhub tests");
        skt_add_name(name, NID_commonName, spec->gn);
    } else {
        /* SK style: CN=SURNAME,GIVENNAME,SERIAL, then the parts */
        snprintf(cn, sizeof(cn), "%s,%s,%s", spec->sn ? spec->sn : "", spec->gn ? spec->gn : "",
                 spec->serial ? spec->serial : "");
        skt_add_name(name, NID_commonName, cn);
        skt_add_name(name, NID_surname, spec->sn);
        skt_add_name(name, NID_givenName, spec->gn);
        skt_add_name(name, NID_serialNumber, spec->serial);
        skt_add_name(name, NID_serialNumber, spec->serial2);
    }
    ck_assert_int_eq(X509_set_subject_name(x, name), 1);
    ck_assert_int_eq(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name), 1);
    X509_NAME_free(name);

    if (!issuer) {
        skt_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        skt_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else if (spec->ku) {
        skt_add_ext(x, issuer, NID_key_usage, spec->ku);
    }
    ck_assert_int_gt(X509_sign(x, issuer_key, EVP_sha256()), 0);
    return x;
}

/* skt_ca makes a CA key and its self-signed certificate named cn, valid
 * from nb to na. */
static X509 *skt_ca(const char *cn, int64_t nb, int64_t na, EVP_PKEY **key)
{
    skt_spec s = {"EE", cn, NULL, NULL, NULL, nb, na, NULL};

    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_ptr_nonnull(*key);
    return skt_issue(*key, &s, NULL, *key);
}

/* skt_write_pem writes the n certificates certs into path. */
static void skt_write_pem(const char *path, X509 *const *certs, size_t n)
{
    FILE *fp = fopen(path, "w");

    ck_assert_ptr_nonnull(fp);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(PEM_write_X509(fp, certs[i]), 1);
    ck_assert_int_eq(fclose(fp), 0);
}

/* skt_write_text writes text into path. */
static void skt_write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_ge(fputs(text, fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
}

/* skt_path writes dir/name into buf (PATH_MAX bytes). */
static void skt_path(char *buf, const char *name)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", skt.dir, name);

    ck_assert(n > 0 && n < PATH_MAX);
}

/* skt_trust returns a new trust of the given PEM files. */
static eh_sk_trust *skt_trust(const char *const *files, size_t n)
{
    eh_sk_trust *t = NULL;
    char err[512] = "";

    ck_assert_msg(eh_sk_trust_new(files, n, &t, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_ptr_nonnull(t);
    return t;
}

static void skt_setup(void)
{
    const char *tmp = getenv("TMPDIR");
    int n;
    skt_spec s;
    X509 *both[2];

    memset(&skt, 0, sizeof(skt));
    n = snprintf(skt.dir, sizeof(skt.dir), "%s/eh-sk-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert(n > 0 && (size_t)n < sizeof(skt.dir));
    ck_assert_ptr_nonnull(mkdtemp(skt.dir));

    skt.ca =
        skt_ca("TEST of EID-SK eidhub", SKT_T0 - 5 * SKT_YEAR, SKT_T0 + 5 * SKT_YEAR, &skt.ca_key);
    skt.ca2 = skt_ca("untrusted CA", SKT_T0 - 5 * SKT_YEAR, SKT_T0 + 5 * SKT_YEAR, &skt.ca2_key);
    skt.old_ca = skt_ca("expired CA", SKT_T0 - 5 * SKT_YEAR, SKT_T0 - SKT_DAY, &skt.old_ca_key);

    skt.rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    skt.rsa3072 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
    skt.rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    skt.ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    skt.ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    skt.ec_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert(skt.rsa2048 && skt.rsa3072 && skt.rsa1024 && skt.ec256 && skt.ec384 && skt.ec_other);

    s = skt_person("PNOEE-" SKT_MARY_CODE);
    skt.c_rsa2048 = skt_issue(skt.rsa2048, &s, skt.ca, skt.ca_key);
    skt.c_ec256 = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    skt.c_ec384 = skt_issue(skt.ec384, &s, skt.ca, skt.ca_key);
    skt.c_rsa1024 = skt_issue(skt.rsa1024, &s, skt.ca, skt.ca_key);
    skt.c_untrusted = skt_issue(skt.ec256, &s, skt.ca2, skt.ca2_key);
    skt.c_old_ca = skt_issue(skt.ec256, &s, skt.old_ca, skt.old_ca_key);

    s = skt_person("PNOEE-" SKT_MARY_CODE);
    s.not_before = SKT_T0 - 2 * SKT_YEAR;
    s.not_after = SKT_T0 - SKT_DAY;
    skt.c_expired = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s.not_before = SKT_T0 + SKT_DAY;
    s.not_after = SKT_T0 + SKT_YEAR;
    skt.c_future = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);

    s = skt_person("PNOEE-" SKT_MARY_CODE);
    s.ku = "critical,nonRepudiation";
    skt.c_signing = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s.ku = NULL;
    skt.c_no_ku = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);

    s = skt_person(NULL);
    skt.c_no_serial = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person("IDCEE-AB0123456");
    skt.c_idc = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person(SKT_MARY_CODE);
    skt.c_legacy = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person("PNOEE-" SKT_MARY_CODE);
    s.serial2 = "PNOEE-" SKT_JAAK_CODE;
    skt.c_two_serials = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person("PNOEE-" SKT_MARY_CODE);
    s.c = "LV";
    skt.c_mismatch = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s.c = NULL;
    skt.c_no_c = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person("PNOEE-" SKT_MARY_CODE);
    s.gn = "MARY\x01";
    skt.c_control = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);

    s = skt_person("PNOEE-" SKT_JAAK_CODE);
    s.gn = SKT_JAAK_GN;
    s.sn = SKT_JAAK_SN;
    skt.c_rsa3072 = skt_issue(skt.rsa3072, &s, skt.ca, skt.ca_key);
    s.serial = "PNOEE-38001085719"; /* check digit wrong */
    skt.c_bad_checksum = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);
    s = skt_person("PNOLT-" SKT_LT_CODE);
    s.c = "LT";
    skt.c_lt = skt_issue(skt.ec256, &s, skt.ca, skt.ca_key);

    skt_path(skt.ca_pem, "ca.pem");
    skt_write_pem(skt.ca_pem, &skt.ca, 1);
    skt_path(skt.ca2_pem, "ca2.pem");
    skt_write_pem(skt.ca2_pem, &skt.ca2, 1);
    skt_path(skt.both_pem, "both.pem");
    both[0] = skt.ca;
    both[1] = skt.ca2;
    skt_write_pem(skt.both_pem, both, 2);
    skt_path(skt.old_ca_pem, "old-ca.pem");
    skt_write_pem(skt.old_ca_pem, &skt.old_ca, 1);
    skt_path(skt.leaf_pem, "leaf.pem");
    skt_write_pem(skt.leaf_pem, &skt.c_ec256, 1);
    skt_path(skt.garbage_pem, "garbage.pem");
    skt_write_text(skt.garbage_pem, "this is not a certificate\n");
    skt_path(skt.broken_pem, "broken.pem");
    skt_write_text(skt.broken_pem,
                   "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n");

    {
        const char *files[] = {skt.ca_pem};
        skt.trust = skt_trust(files, 1);
    }
}

static void skt_teardown(void)
{
    X509 **certs[] = {&skt.ca,        &skt.ca2,           &skt.old_ca,        &skt.c_rsa2048,
                      &skt.c_rsa3072, &skt.c_rsa1024,     &skt.c_ec256,       &skt.c_ec384,
                      &skt.c_expired, &skt.c_future,      &skt.c_untrusted,   &skt.c_old_ca,
                      &skt.c_signing, &skt.c_no_ku,       &skt.c_no_serial,   &skt.c_idc,
                      &skt.c_legacy,  &skt.c_two_serials, &skt.c_mismatch,    &skt.c_no_c,
                      &skt.c_control, &skt.c_lt,          &skt.c_bad_checksum};
    EVP_PKEY **keys[] = {&skt.ca_key,  &skt.ca2_key, &skt.old_ca_key, &skt.rsa2048, &skt.rsa3072,
                         &skt.rsa1024, &skt.ec256,   &skt.ec384,      &skt.ec_other};
    DIR *dir;
    struct dirent *de;
    char path[PATH_MAX];

    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(*certs[i]);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(*keys[i]);
    eh_sk_trust_free(skt.trust);
    dir = opendir(skt.dir);
    if (dir) {
        while ((de = readdir(dir)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            skt_path(path, de->d_name);
            unlink(path);
        }
        closedir(dir);
        rmdir(skt.dir);
    }
    memset(&skt, 0, sizeof(skt));
}

/* skt_b64 returns data in standard base64 (caller frees). */
static char *skt_b64(const unsigned char *data, size_t len)
{
    char *b64 = NULL;
    size_t b64len = 0;
    char *out;

    ck_assert(cjose_base64_encode(data, len, &b64, &b64len, NULL));
    out = strndup(b64, b64len);
    ck_assert_ptr_nonnull(out);
    cjose_get_dealloc()(b64);
    return out;
}

/* skt_cert_b64 returns cert's DER in base64 (caller frees). */
static char *skt_cert_b64(X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    char *out;

    ck_assert_int_gt(len, 0);
    out = skt_b64(der, (size_t)len);
    OPENSSL_free(der);
    return out;
}

/* skt_md returns the digest of a hash of len bytes. */
static const EVP_MD *skt_md(size_t len)
{
    return len == 32 ? EVP_sha256() : len == 48 ? EVP_sha384() : EVP_sha512();
}

/* skt_sign_raw signs tbs with key (md NULL: RSA PKCS#1 v1.5 over tbs as
 * given) into a new buffer (caller frees with OPENSSL_free). */
static unsigned char *skt_sign_raw(EVP_PKEY *key, const EVP_MD *md, const unsigned char *tbs,
                                   size_t tbs_len, size_t *sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    unsigned char *sig;

    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(EVP_PKEY_sign_init(ctx), 1);
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
        ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    if (md)
        ck_assert_int_eq(EVP_PKEY_CTX_set_signature_md(ctx, md), 1);
    ck_assert_int_eq(EVP_PKEY_sign(ctx, NULL, sig_len, tbs, tbs_len), 1);
    sig = OPENSSL_malloc(*sig_len);
    ck_assert_ptr_nonnull(sig);
    ck_assert_int_eq(EVP_PKEY_sign(ctx, sig, sig_len, tbs, tbs_len), 1);
    EVP_PKEY_CTX_free(ctx);
    return sig;
}

/* skt_sign returns the base64 signature SK would send for hash signed with
 * key (caller frees): RSA PKCS#1 v1.5 with DigestInfo, or ECDSA as raw r||s
 * (each half padded to the key's size). */
static char *skt_sign(EVP_PKEY *key, const unsigned char *hash, size_t len)
{
    size_t sig_len = 0;
    unsigned char *sig = skt_sign_raw(key, skt_md(len), hash, len, &sig_len);
    char *out;

    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        const unsigned char *p = sig;
        ECDSA_SIG *esig = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
        const BIGNUM *r, *s;
        size_t n = ((size_t)EVP_PKEY_get_bits(key) + 7) / 8;
        unsigned char raw[2 * 66];

        ck_assert_ptr_nonnull(esig);
        ck_assert_uint_le(2 * n, sizeof(raw));
        ECDSA_SIG_get0(esig, &r, &s);
        ck_assert_int_eq(BN_bn2binpad(r, raw, (int)n), (int)n);
        ck_assert_int_eq(BN_bn2binpad(s, raw + n, (int)n), (int)n);
        out = skt_b64(raw, 2 * n);
        ECDSA_SIG_free(esig);
    } else {
        out = skt_b64(sig, sig_len);
    }
    OPENSSL_free(sig);
    return out;
}

/* Strings no error text may ever hold: the test people's data. */
static const char *const skt_personal[] = {
    SKT_MARY_CODE, SKT_JAAK_CODE, SKT_LT_CODE, "38001085719", "AB0123456", "MARY",  "ÄNN",  "CONNE",
    "ŠUSLIK",      "TESTNUMBER",  "JAAK",      "JÕEORG",      "PNOEE",     "PNOLT", "IDCEE"};

/* skt_assert_clean asserts why is a one-line reason free of personal data
 * and subject is all NULL. */
static void skt_assert_clean(const char *why, const eh_sk_subject *subject)
{
    ck_assert_msg(why[0] != '\0', "no reason given");
    ck_assert_ptr_null(strchr(why, '\n'));
    for (size_t i = 0; i < sizeof(skt_personal) / sizeof(skt_personal[0]); i++)
        ck_assert_msg(strstr(why, skt_personal[i]) == NULL, "personal data in: %s", why);
    ck_assert_ptr_null(subject->given_name);
    ck_assert_ptr_null(subject->surname);
    ck_assert_ptr_null(subject->country);
    ck_assert_ptr_null(subject->id_type);
    ck_assert_ptr_null(subject->personal_code);
    ck_assert_ptr_null(subject->certificate);
}

/* skt_verify runs eh_sk_verify with trust at now over a fresh random hash
 * of len bytes, signed by key, with cert; returns its result, and fills
 * subject and why (256 bytes). */
static eh_rc skt_verify(const eh_sk_trust *trust, EVP_PKEY *key, X509 *cert, size_t len,
                        int64_t now, eh_sk_subject *subject, char *why)
{
    unsigned char hash[64];
    char *sig;
    char *crt = skt_cert_b64(cert);
    eh_rc rc;

    ck_assert_int_eq(RAND_bytes(hash, (int)len), 1);
    sig = skt_sign(key, hash, len);
    rc = eh_sk_verify(trust, hash, len, sig, crt, now, subject, why, 256);
    free(sig);
    free(crt);
    return rc;
}

/* skt_refused asserts that verifying cert signed by key at now fails with
 * want, a reason holding text and no personal data. */
static void skt_refused(EVP_PKEY *key, X509 *cert, int64_t now, eh_rc want, const char *text)
{
    eh_sk_subject subject = {0};
    char why[256] = "";
    eh_rc rc = skt_verify(skt.trust, key, cert, 32, now, &subject, why);

    ck_assert_msg(rc == want, "rc %d (%s), want %d", rc, why, want);
    ck_assert_msg(strstr(why, text) != NULL, "no \"%s\" in: %s", text, why);
    skt_assert_clean(why, &subject);
}

START_TEST(test_rsa2048_ok)
{
    eh_sk_subject subject = {0};
    char why[256] = "x";

    ck_assert_int_eq(skt_verify(skt.trust, skt.rsa2048, skt.c_rsa2048, 32, SKT_T0, &subject, why),
                     EH_OK);
    ck_assert_str_eq(why, "");
    ck_assert_str_eq(subject.given_name, SKT_MARY_GN);
    ck_assert_str_eq(subject.surname, SKT_MARY_SN);
    ck_assert_str_eq(subject.country, "EE");
    ck_assert_str_eq(subject.id_type, "PNO");
    ck_assert_str_eq(subject.personal_code, SKT_MARY_CODE);
    /* the verified certificate itself, for the revocation check */
    ck_assert_ptr_nonnull(subject.certificate);
    ck_assert_int_eq(EVP_PKEY_get_bits(X509_get0_pubkey(subject.certificate)), 2048);
    eh_sk_subject_free(&subject);
    ck_assert_ptr_null(subject.personal_code);
    ck_assert_ptr_null(subject.certificate);
    eh_sk_subject_free(&subject); /* twice is fine */
    eh_sk_subject_free(NULL);
}
END_TEST

START_TEST(test_all_hash_lengths)
{
    static const size_t lens[] = {32, 48, 64};
    struct {
        EVP_PKEY *key;
        X509 *cert;
    } pairs[] = {{skt.rsa2048, skt.c_rsa2048},
                 {skt.rsa3072, skt.c_rsa3072},
                 {skt.ec256, skt.c_ec256},
                 {skt.ec384, skt.c_ec384}};

    for (size_t p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++) {
        for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
            eh_sk_subject subject = {0};
            char why[256] = "";
            eh_rc rc =
                skt_verify(skt.trust, pairs[p].key, pairs[p].cert, lens[l], SKT_T0, &subject, why);

            ck_assert_msg(rc == EH_OK, "pair %zu, %zu bytes: %s", p, lens[l], why);
            ck_assert_ptr_nonnull(subject.personal_code);
            eh_sk_subject_free(&subject);
        }
    }
}
END_TEST

START_TEST(test_ec_ok)
{
    eh_sk_subject subject = {0};
    char why[256] = "";

    ck_assert_int_eq(skt_verify(skt.trust, skt.ec256, skt.c_ec256, 32, SKT_T0, &subject, why),
                     EH_OK);
    ck_assert_str_eq(subject.personal_code, SKT_MARY_CODE);
    ck_assert_str_eq(subject.given_name, SKT_MARY_GN);
    eh_sk_subject_free(&subject);
}
END_TEST

/* RFC 8017 section 9.2 note 1: the DER DigestInfo prefixes of SHA-256, -384
 * and -512, written out here (and only here) to check that what OpenSSL
 * verifies is PKCS#1 v1.5 over DigestInfo || hash. */
static const unsigned char skt_di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char skt_di_sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char skt_di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                              0x03, 0x05, 0x00, 0x04, 0x40};

START_TEST(test_rsa_digestinfo_by_hand)
{
    const unsigned char *prefix[] = {skt_di_sha256, skt_di_sha384, skt_di_sha512};
    const size_t lens[] = {32, 48, 64};
    char *crt = skt_cert_b64(skt.c_rsa2048);

    for (size_t i = 0; i < 3; i++) {
        unsigned char tbs[19 + 64];
        unsigned char hash[64];
        unsigned char *sig;
        size_t sig_len = 0;
        char *b64;
        eh_sk_subject subject = {0};
        char why[256] = "";

        ck_assert_int_eq(RAND_bytes(hash, (int)lens[i]), 1);
        memcpy(tbs, prefix[i], 19);
        memcpy(tbs + 19, hash, lens[i]);

        /* DigestInfo || hash, padded by hand: accepted */
        sig = skt_sign_raw(skt.rsa2048, NULL, tbs, 19 + lens[i], &sig_len);
        b64 = skt_b64(sig, sig_len);
        ck_assert_msg(eh_sk_verify(skt.trust, hash, lens[i], b64, crt, SKT_T0, &subject, why,
                                   sizeof(why)) == EH_OK,
                      "%zu bytes: %s", lens[i], why);
        eh_sk_subject_free(&subject);
        OPENSSL_free(sig);
        free(b64);

        /* the bare hash without DigestInfo: refused */
        sig = skt_sign_raw(skt.rsa2048, NULL, hash, lens[i], &sig_len);
        b64 = skt_b64(sig, sig_len);
        ck_assert_int_eq(
            eh_sk_verify(skt.trust, hash, lens[i], b64, crt, SKT_T0, &subject, why, sizeof(why)),
            EH_ERR_CRYPTO);
        skt_assert_clean(why, &subject);
        OPENSSL_free(sig);
        free(b64);
    }
    free(crt);
}
END_TEST

START_TEST(test_signature_over_other_hash)
{
    EVP_PKEY *keys[] = {skt.rsa2048, skt.ec256};
    X509 *certs[] = {skt.c_rsa2048, skt.c_ec256};

    for (size_t i = 0; i < 2; i++) {
        unsigned char hash[32];
        unsigned char other[32];
        char *sig;
        char *crt = skt_cert_b64(certs[i]);
        eh_sk_subject subject = {0};
        char why[256] = "";

        ck_assert_int_eq(RAND_bytes(hash, sizeof(hash)), 1);
        memcpy(other, hash, sizeof(hash));
        other[31] ^= 0x01;
        sig = skt_sign(keys[i], hash, sizeof(hash));
        ck_assert_int_eq(eh_sk_verify(skt.trust, other, sizeof(other), sig, crt, SKT_T0, &subject,
                                      why, sizeof(why)),
                         EH_ERR_CRYPTO);
        ck_assert_ptr_nonnull(strstr(why, "does not verify"));
        skt_assert_clean(why, &subject);

        /* the same signature over a longer hash that starts with the
         * signed one: RSA refuses it (DigestInfo names the digest). ECDSA
         * by definition uses only the leftmost bits of a hash longer than
         * its curve's order, so for P-256 this would verify; harmless, as
         * the broker picks a fresh random hash for each session. */
        if (EVP_PKEY_get_base_id(keys[i]) == EVP_PKEY_RSA) {
            unsigned char longer[48] = {0};

            memcpy(longer, hash, sizeof(hash));
            ck_assert_int_eq(eh_sk_verify(skt.trust, longer, sizeof(longer), sig, crt, SKT_T0,
                                          &subject, why, sizeof(why)),
                             EH_ERR_CRYPTO);
            skt_assert_clean(why, &subject);
        }
        free(sig);
        free(crt);
    }
}
END_TEST

START_TEST(test_signature_by_other_key)
{
    skt_refused(skt.ec_other, skt.c_ec256, SKT_T0, EH_ERR_CRYPTO, "does not verify");
    skt_refused(skt.rsa3072, skt.c_rsa2048, SKT_T0, EH_ERR_CRYPTO, "does not verify");
    /* an EC signature for an RSA certificate and the other way round */
    skt_refused(skt.ec256, skt.c_rsa2048, SKT_T0, EH_ERR_CRYPTO, "does not verify");
    skt_refused(skt.rsa2048, skt.c_ec256, SKT_T0, EH_ERR_CRYPTO, "wrong length");
}
END_TEST

START_TEST(test_ec_der_signature_refused)
{
    unsigned char hash[32];
    size_t sig_len = 0;
    unsigned char *sig;
    char *b64;
    char *crt = skt_cert_b64(skt.c_ec256);
    eh_sk_subject subject = {0};
    char why[256] = "";

    /* SK sends raw r||s; a DER signature is not what the protocol carries */
    ck_assert_int_eq(RAND_bytes(hash, sizeof(hash)), 1);
    sig = skt_sign_raw(skt.ec256, EVP_sha256(), hash, sizeof(hash), &sig_len);
    b64 = skt_b64(sig, sig_len);
    ck_assert_int_eq(
        eh_sk_verify(skt.trust, hash, sizeof(hash), b64, crt, SKT_T0, &subject, why, sizeof(why)),
        EH_ERR_CRYPTO);
    skt_assert_clean(why, &subject);
    OPENSSL_free(sig);
    free(b64);
    free(crt);
}
END_TEST

/* skt_bad_input asserts eh_sk_verify refuses the signature text sig and
 * certificate text crt over hash with want and a clean reason. */
static void skt_bad_input(const unsigned char *hash, size_t len, const char *sig, const char *crt,
                          eh_rc want)
{
    eh_sk_subject subject = {0};
    char why[256] = "";
    eh_rc rc = eh_sk_verify(skt.trust, hash, len, sig, crt, SKT_T0, &subject, why, sizeof(why));

    ck_assert_msg(rc == want, "rc %d (%s), want %d", rc, why, want);
    skt_assert_clean(why, &subject);
}

START_TEST(test_bad_base64)
{
    unsigned char hash[32];
    char *sig;
    char *crt = skt_cert_b64(skt.c_ec256);
    char *bad;
    size_t sl, cl;
    unsigned char *der = NULL;
    int der_len;
    unsigned char *longer;
    char *text;

    ck_assert_int_eq(RAND_bytes(hash, sizeof(hash)), 1);
    sig = skt_sign(skt.ec256, hash, sizeof(hash));
    sl = strlen(sig);
    cl = strlen(crt);

    /* the untouched pair is fine */
    {
        eh_sk_subject subject = {0};
        char why[256] = "";

        ck_assert_int_eq(eh_sk_verify(skt.trust, hash, sizeof(hash), sig, crt, SKT_T0, &subject,
                                      why, sizeof(why)),
                         EH_OK);
        eh_sk_subject_free(&subject);
    }

    skt_bad_input(hash, sizeof(hash), "", crt, EH_ERR_INVALID);
    skt_bad_input(hash, sizeof(hash), sig, "", EH_ERR_INVALID);
    skt_bad_input(hash, sizeof(hash), "!!!!", crt, EH_ERR_INVALID);
    skt_bad_input(hash, sizeof(hash), sig, "!!!!", EH_ERR_INVALID);
    skt_bad_input(hash, sizeof(hash), "====", crt, EH_ERR_INVALID);

    /* truncated by one character: no longer base64 */
    bad = strndup(sig, sl - 1);
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_INVALID);
    free(bad);
    bad = strndup(crt, cl - 1);
    skt_bad_input(hash, sizeof(hash), sig, bad, EH_ERR_INVALID);
    free(bad);

    /* truncated by four characters: base64, but the signature is short
     * and the certificate's DER is cut */
    bad = strndup(sig, sl - 4);
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_CRYPTO);
    free(bad);
    bad = strndup(crt, cl - 4);
    skt_bad_input(hash, sizeof(hash), sig, bad, EH_ERR_INVALID);
    free(bad);

    /* anything after the padding (cjose would ignore it) */
    ck_assert_int_ge(asprintf(&bad, "%sAAAA", sig), 0);
    ck_assert_ptr_nonnull(strchr(sig, '=')); /* 64 bytes: padded */
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_INVALID);
    free(bad);
    ck_assert_int_ge(asprintf(&bad, "%s===", sig), 0);
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_INVALID);
    free(bad);

    /* white space and base64url characters */
    ck_assert_int_ge(asprintf(&bad, " %s", sig), 0);
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_INVALID);
    free(bad);
    ck_assert_int_ge(asprintf(&bad, "%.8s\n%s", crt, crt + 8), 0);
    skt_bad_input(hash, sizeof(hash), sig, bad, EH_ERR_INVALID);
    free(bad);
    bad = strdup(crt);
    bad[10] = '-';
    skt_bad_input(hash, sizeof(hash), sig, bad, EH_ERR_INVALID);
    free(bad);

    /* DER with a byte after the certificate */
    der_len = i2d_X509(skt.c_ec256, &der);
    ck_assert_int_gt(der_len, 0);
    longer = malloc((size_t)der_len + 1);
    ck_assert_ptr_nonnull(longer);
    memcpy(longer, der, (size_t)der_len);
    longer[der_len] = 0;
    text = skt_b64(longer, (size_t)der_len + 1);
    skt_bad_input(hash, sizeof(hash), sig, text, EH_ERR_INVALID);
    free(text);
    /* random bytes as a certificate */
    ck_assert_int_eq(RAND_bytes(longer, der_len), 1);
    text = skt_b64(longer, (size_t)der_len);
    skt_bad_input(hash, sizeof(hash), sig, text, EH_ERR_INVALID);
    free(text);
    free(longer);
    OPENSSL_free(der);

    /* oversized texts */
    bad = malloc(64 * 1024 + 1);
    ck_assert_ptr_nonnull(bad);
    memset(bad, 'A', 64 * 1024);
    bad[64 * 1024] = '\0';
    skt_bad_input(hash, sizeof(hash), bad, crt, EH_ERR_TOO_LARGE);
    skt_bad_input(hash, sizeof(hash), sig, bad, EH_ERR_TOO_LARGE);
    free(bad);

    free(sig);
    free(crt);
}
END_TEST

START_TEST(test_bad_arguments)
{
    unsigned char hash[64] = {0};
    eh_sk_subject subject = {0};
    char why[256] = "";
    char *sig = skt_sign(skt.ec256, hash, 32);
    char *crt = skt_cert_b64(skt.c_ec256);
    static const size_t bad_lens[] = {0, 1, 20, 31, 33, 47, 63, 65};

    for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
        skt_bad_input(hash, bad_lens[i], sig, crt, EH_ERR_INVALID);
    }
    ck_assert_int_eq(eh_sk_verify(NULL, hash, 32, sig, crt, SKT_T0, &subject, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_int_eq(
        eh_sk_verify(skt.trust, NULL, 32, sig, crt, SKT_T0, &subject, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_int_eq(
        eh_sk_verify(skt.trust, hash, 32, NULL, crt, SKT_T0, &subject, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_int_eq(
        eh_sk_verify(skt.trust, hash, 32, sig, NULL, SKT_T0, &subject, why, sizeof(why)),
        EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_verify(skt.trust, hash, 32, sig, crt, SKT_T0, NULL, why, sizeof(why)),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_verify(skt.trust, hash, 32, sig, crt, -1, &subject, why, sizeof(why)),
                     EH_ERR_INVALID);
    /* no room for a reason is fine */
    ck_assert_int_eq(eh_sk_verify(skt.trust, hash, 20, sig, crt, SKT_T0, &subject, NULL, 0),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_verify(skt.trust, hash, 32, sig, crt, SKT_T0, &subject, NULL, 0), EH_OK);
    eh_sk_subject_free(&subject);
    free(sig);
    free(crt);
}
END_TEST

START_TEST(test_expired)
{
    eh_sk_subject subject = {0};
    char why[256] = "";

    skt_refused(skt.ec256, skt.c_expired, SKT_T0, EH_ERR_KEY, "certificate has expired");
    /* the same certificate, a year earlier, while it was valid */
    ck_assert_int_eq(
        skt_verify(skt.trust, skt.ec256, skt.c_expired, 32, SKT_T0 - SKT_YEAR, &subject, why),
        EH_OK);
    eh_sk_subject_free(&subject);
    /* and the good one, ten years on */
    skt_refused(skt.ec256, skt.c_ec256, SKT_T0 + 10 * SKT_YEAR, EH_ERR_KEY, "expired");
}
END_TEST

START_TEST(test_not_yet_valid)
{
    eh_sk_subject subject = {0};
    char why[256] = "";

    skt_refused(skt.ec256, skt.c_future, SKT_T0, EH_ERR_KEY, "certificate is not yet valid");
    ck_assert_int_eq(
        skt_verify(skt.trust, skt.ec256, skt.c_future, 32, SKT_T0 + 2 * SKT_DAY, &subject, why),
        EH_OK);
    eh_sk_subject_free(&subject);
}
END_TEST

START_TEST(test_untrusted_ca)
{
    const char *files[] = {skt.both_pem};
    const char *two_files[] = {skt.ca2_pem, skt.ca_pem};
    eh_sk_trust *t;
    eh_sk_subject subject = {0};
    char why[256] = "";

    skt_refused(skt.ec256, skt.c_untrusted, SKT_T0, EH_ERR_KEY, "not issued by a trusted CA");

    /* trusted when its CA is in the same file as the first one ... */
    t = skt_trust(files, 1);
    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_untrusted, 32, SKT_T0, &subject, why), EH_OK);
    eh_sk_subject_free(&subject);
    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_ec256, 32, SKT_T0, &subject, why), EH_OK);
    eh_sk_subject_free(&subject);
    eh_sk_trust_free(t);

    /* ... or in a file of its own */
    t = skt_trust(two_files, 2);
    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_untrusted, 32, SKT_T0, &subject, why), EH_OK);
    eh_sk_subject_free(&subject);
    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_ec256, 32, SKT_T0, &subject, why), EH_OK);
    eh_sk_subject_free(&subject);
    eh_sk_trust_free(t);

    /* the first CA alone does not trust the second's certificates */
    files[0] = skt.ca2_pem;
    t = skt_trust(files, 1);
    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_ec256, 32, SKT_T0, &subject, why), EH_ERR_KEY);
    skt_assert_clean(why, &subject);
    eh_sk_trust_free(t);
}
END_TEST

START_TEST(test_expired_ca)
{
    const char *files[] = {skt.old_ca_pem};
    eh_sk_trust *t = skt_trust(files, 1);
    eh_sk_subject subject = {0};
    char why[256] = "";

    ck_assert_int_eq(skt_verify(t, skt.ec256, skt.c_old_ca, 32, SKT_T0, &subject, why), EH_ERR_KEY);
    ck_assert_ptr_nonnull(strstr(why, "issuing CA has expired"));
    skt_assert_clean(why, &subject);
    eh_sk_trust_free(t);
}
END_TEST

/* skt_trust_refused asserts eh_sk_trust_new refuses files with want and
 * an error line holding path and text. */
static void skt_trust_refused(const char *const *files, size_t n, eh_rc want, const char *path,
                              const char *text)
{
    eh_sk_trust *t = NULL;
    char err[512] = "";

    ck_assert_int_eq(eh_sk_trust_new(files, n, &t, err, sizeof(err)), want);
    ck_assert_ptr_null(t);
    if (path)
        ck_assert_msg(strstr(err, path) != NULL, "no path in: %s", err);
    ck_assert_msg(strstr(err, text) != NULL, "no \"%s\" in: %s", text, err);
    ck_assert_ptr_null(strchr(err, '\n'));
}

START_TEST(test_trust_errors)
{
    char missing[PATH_MAX];
    const char *files[2];
    eh_sk_trust *t = NULL;

    skt_path(missing, "no-such-ca.pem");
    files[0] = missing;
    skt_trust_refused(files, 1, EH_ERR_KEY, missing, "No such file");
    files[0] = skt.garbage_pem;
    skt_trust_refused(files, 1, EH_ERR_KEY, skt.garbage_pem, "no PEM certificate");
    files[0] = skt.broken_pem;
    skt_trust_refused(files, 1, EH_ERR_KEY, skt.broken_pem, "does not parse");
    files[0] = skt.leaf_pem;
    skt_trust_refused(files, 1, EH_ERR_KEY, skt.leaf_pem, "not a CA certificate");
    files[0] = skt.dir;
    skt_trust_refused(files, 1, EH_ERR_KEY, skt.dir, "not a regular file");
    /* a good file and a bad one */
    files[0] = skt.ca_pem;
    files[1] = missing;
    skt_trust_refused(files, 2, EH_ERR_KEY, missing, "cannot open");
    files[1] = NULL;
    skt_trust_refused(files, 2, EH_ERR_INVALID, NULL, "no name");
    /* nothing at all */
    skt_trust_refused(files, 0, EH_ERR_INVALID, NULL, "no CA certificate file");
    skt_trust_refused(NULL, 1, EH_ERR_INVALID, NULL, "no CA certificate file");
    ck_assert_int_eq(eh_sk_trust_new(files, 1, NULL, NULL, 0), EH_ERR_INVALID);
    /* no room for an error line is fine */
    files[0] = missing;
    ck_assert_int_eq(eh_sk_trust_new(files, 1, &t, NULL, 0), EH_ERR_KEY);
    ck_assert_ptr_null(t);
    eh_sk_trust_free(NULL);
}
END_TEST

START_TEST(test_short_rsa_key)
{
    skt_refused(skt.rsa1024, skt.c_rsa1024, SKT_T0, EH_ERR_KEY, "shorter than 2048 bits");
}
END_TEST

START_TEST(test_key_usage)
{
    skt_refused(skt.ec256, skt.c_signing, SKT_T0, EH_ERR_KEY, "not for digitalSignature");
    skt_refused(skt.ec256, skt.c_no_ku, SKT_T0, EH_ERR_KEY, "no keyUsage");
}
END_TEST

START_TEST(test_subject_problems)
{
    skt_refused(skt.ec256, skt.c_no_serial, SKT_T0, EH_ERR_KEY, "has no serialNumber");
    skt_refused(skt.ec256, skt.c_idc, SKT_T0, EH_ERR_KEY, "not a PNO semantics identifier");
    skt_refused(skt.ec256, skt.c_legacy, SKT_T0, EH_ERR_KEY, "not a PNO semantics identifier");
    skt_refused(skt.ec256, skt.c_two_serials, SKT_T0, EH_ERR_KEY, "more than one serialNumber");
    skt_refused(skt.ec256, skt.c_mismatch, SKT_T0, EH_ERR_KEY, "does not match");
    skt_refused(skt.ec256, skt.c_no_c, SKT_T0, EH_ERR_KEY, "has no countryName");
    skt_refused(skt.ec256, skt.c_control, SKT_T0, EH_ERR_KEY, "control characters");
}
END_TEST

START_TEST(test_why_never_personal)
{
    /* every refusal at once, each reason checked by skt_refused and
     * skt_assert_clean against the names and codes in the certificates */
    struct {
        EVP_PKEY *key;
        X509 *cert;
        int64_t now;
    } cases[] = {
        {skt.ec_other, skt.c_ec256, SKT_T0},  {skt.rsa3072, skt.c_rsa2048, SKT_T0},
        {skt.ec256, skt.c_expired, SKT_T0},   {skt.ec256, skt.c_future, SKT_T0},
        {skt.ec256, skt.c_untrusted, SKT_T0}, {skt.rsa1024, skt.c_rsa1024, SKT_T0},
        {skt.ec256, skt.c_signing, SKT_T0},   {skt.ec256, skt.c_no_ku, SKT_T0},
        {skt.ec256, skt.c_no_serial, SKT_T0}, {skt.ec256, skt.c_idc, SKT_T0},
        {skt.ec256, skt.c_legacy, SKT_T0},    {skt.ec256, skt.c_two_serials, SKT_T0},
        {skt.ec256, skt.c_mismatch, SKT_T0},  {skt.ec256, skt.c_no_c, SKT_T0},
        {skt.ec256, skt.c_control, SKT_T0},   {skt.rsa3072, skt.c_rsa3072, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        eh_sk_subject subject = {0};
        char why[256] = "";

        ck_assert_int_ne(
            skt_verify(skt.trust, cases[i].key, cases[i].cert, 32, cases[i].now, &subject, why),
            EH_OK);
        skt_assert_clean(why, &subject);
    }
}
END_TEST

START_TEST(test_identity)
{
    eh_sk_subject subject = {0};
    eh_identity *id = NULL;
    eh_identity *back = NULL;
    json_t *json = NULL;
    json_t *a;
    char why[256] = "";
    char sub[64];

    ck_assert_int_eq(skt_verify(skt.trust, skt.rsa2048, skt.c_rsa2048, 32, SKT_T0, &subject, why),
                     EH_OK);
    ck_assert_int_eq(eh_sk_subject_to_identity(&subject, "mobile_id", EH_LOA_HIGH, SKT_T0, &id),
                     EH_OK);
    ck_assert_str_eq(id->country, "EE");
    ck_assert_str_eq(id->id_type, "PNO");
    ck_assert_str_eq(id->id_value, SKT_MARY_CODE);
    ck_assert_str_eq(id->method, "mobile_id");
    ck_assert_int_eq(id->loa, EH_LOA_HIGH);
    ck_assert_int_eq(id->auth_time, SKT_T0);
    a = id->attributes;
    ck_assert_uint_eq(json_object_size(a), 5);
    ck_assert_str_eq(json_string_value(json_object_get(a, "given_name")), SKT_MARY_GN);
    ck_assert_str_eq(json_string_value(json_object_get(a, "family_name")), SKT_MARY_SN);
    ck_assert_str_eq(json_string_value(json_object_get(a, "person_identifier")),
                     "EE" SKT_MARY_CODE);
    ck_assert_str_eq(json_string_value(json_object_get(a, "date_of_birth")), "2000-01-01");
    ck_assert_str_eq(json_string_value(json_object_get(a, "gender")), "Female");
    ck_assert_int_eq(eh_identity_subject(id, sub, sizeof(sub)), EH_OK);
    ck_assert_str_eq(sub, "EE" SKT_MARY_CODE);

    /* it survives the store */
    ck_assert_int_eq(eh_identity_to_json(id, &json), EH_OK);
    ck_assert_int_eq(eh_identity_from_json(json, &back), EH_OK);
    ck_assert_str_eq(back->id_value, SKT_MARY_CODE);
    ck_assert(json_equal(back->attributes, id->attributes));
    json_decref(json);
    eh_identity_free(back);
    eh_identity_free(id);
    eh_sk_subject_free(&subject);

    /* a man, born in the 1900s, through Smart-ID */
    ck_assert_int_eq(skt_verify(skt.trust, skt.rsa3072, skt.c_rsa3072, 64, SKT_T0, &subject, why),
                     EH_OK);
    ck_assert_int_eq(
        eh_sk_subject_to_identity(&subject, "smart_id", EH_LOA_SUBSTANTIAL, SKT_T0 + 5, &id),
        EH_OK);
    ck_assert_str_eq(id->id_value, SKT_JAAK_CODE);
    ck_assert_int_eq(id->loa, EH_LOA_SUBSTANTIAL);
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "family_name")),
                     SKT_JAAK_SN);
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "date_of_birth")),
                     "1980-01-08");
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "gender")), "Male");
    eh_identity_free(id);
    eh_sk_subject_free(&subject);
}
END_TEST

START_TEST(test_identity_not_derived)
{
    eh_sk_subject subject = {0};
    eh_identity *id = NULL;
    char why[256] = "";

    /* a Lithuanian code: no Estonian date of birth is read from it */
    ck_assert_int_eq(skt_verify(skt.trust, skt.ec256, skt.c_lt, 32, SKT_T0, &subject, why), EH_OK);
    ck_assert_str_eq(subject.country, "LT");
    ck_assert_str_eq(subject.personal_code, SKT_LT_CODE);
    ck_assert_int_eq(eh_sk_subject_to_identity(&subject, "smart_id", EH_LOA_HIGH, SKT_T0, &id),
                     EH_OK);
    ck_assert_str_eq(id->country, "LT");
    ck_assert_str_eq(json_string_value(json_object_get(id->attributes, "person_identifier")),
                     "LT" SKT_LT_CODE);
    ck_assert_ptr_null(json_object_get(id->attributes, "date_of_birth"));
    ck_assert_ptr_null(json_object_get(id->attributes, "gender"));
    eh_identity_free(id);
    eh_sk_subject_free(&subject);

    /* an Estonian code with a wrong check digit: accepted as SK issued it,
     * but nothing is derived from it */
    ck_assert_int_eq(
        skt_verify(skt.trust, skt.ec256, skt.c_bad_checksum, 32, SKT_T0, &subject, why), EH_OK);
    ck_assert_str_eq(subject.personal_code, "38001085719");
    ck_assert_int_eq(eh_sk_subject_to_identity(&subject, "mobile_id", EH_LOA_HIGH, SKT_T0, &id),
                     EH_OK);
    ck_assert_ptr_null(json_object_get(id->attributes, "date_of_birth"));
    ck_assert_ptr_null(json_object_get(id->attributes, "gender"));
    ck_assert_ptr_nonnull(json_object_get(id->attributes, "given_name"));
    eh_identity_free(id);
    eh_sk_subject_free(&subject);
}
END_TEST

START_TEST(test_identity_bad_arguments)
{
    eh_sk_subject s = {NULL, NULL, "EE", "PNO", SKT_MARY_CODE, NULL};
    eh_identity *id = NULL;

    ck_assert_int_eq(eh_sk_subject_to_identity(NULL, "mobile_id", EH_LOA_HIGH, 0, &id),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_subject_to_identity(&s, NULL, EH_LOA_HIGH, 0, &id), EH_ERR_INVALID);
    ck_assert_int_eq(eh_sk_subject_to_identity(&s, "mobile_id", EH_LOA_HIGH, 0, NULL),
                     EH_ERR_INVALID);
    s.personal_code = NULL;
    ck_assert_int_eq(eh_sk_subject_to_identity(&s, "mobile_id", EH_LOA_HIGH, 0, &id),
                     EH_ERR_INVALID);
    ck_assert_ptr_null(id);

    /* no names: only the identifier and what the code gives */
    s.personal_code = SKT_MARY_CODE;
    ck_assert_int_eq(eh_sk_subject_to_identity(&s, "mobile_id", EH_LOA_HIGH, 0, &id), EH_OK);
    ck_assert_ptr_null(json_object_get(id->attributes, "given_name"));
    ck_assert_ptr_null(json_object_get(id->attributes, "family_name"));
    ck_assert_uint_eq(json_object_size(id->attributes), 3);
    eh_identity_free(id);
}
END_TEST

/* skt_hex reads the hex text into buf and returns its length in bytes. */
static size_t skt_hex(const char *hex, unsigned char *buf, size_t cap)
{
    size_t n = strlen(hex) / 2;

    ck_assert_uint_le(n, cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        buf[i] = (unsigned char)v;
    }
    return n;
}

START_TEST(test_mid_verification_code)
{
    unsigned char h[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len;
    char code[5];
    size_t n;

    /* the MID REST documentation's example (a 20-byte hash), as SK's
     * mid-rest-java-client VerificationCodeCalculatorTest checks it */
    n = skt_hex("2f665f6a6999e0ef0752e00ec9f453adf59d8cb6", h, sizeof(h));
    ck_assert_int_eq(eh_mid_verification_code(h, n, code), EH_OK);
    ck_assert_str_eq(code, "1462");
    /* the same ends on a SHA-256-sized hash */
    memset(h, 0x55, 32);
    h[0] = 0x2f;
    h[1] = 0x66;
    h[30] = 0x8c;
    h[31] = 0xb6;
    ck_assert_int_eq(eh_mid_verification_code(h, 32, code), EH_OK);
    ck_assert_str_eq(code, "1462");

    /* mid-rest-java-client's vectors: the digests of "HACKERMAN_SHA256" etc. */
    ck_assert_int_eq(EVP_Digest("HACKERMAN_SHA256", 16, md, &md_len, EVP_sha256(), NULL), 1);
    ck_assert_int_eq(eh_mid_verification_code(md, md_len, code), EH_OK);
    ck_assert_str_eq(code, "6008");
    ck_assert_int_eq(EVP_Digest("HACKERMAN_SHA384", 16, md, &md_len, EVP_sha384(), NULL), 1);
    ck_assert_int_eq(eh_mid_verification_code(md, md_len, code), EH_OK);
    ck_assert_str_eq(code, "7230");
    ck_assert_int_eq(EVP_Digest("HACKERMAN_SHA512", 16, md, &md_len, EVP_sha512(), NULL), 1);
    ck_assert_int_eq(eh_mid_verification_code(md, md_len, code), EH_OK);
    ck_assert_str_eq(code, "3843");

    /* edges: all bits set gives the largest code, none the zero-padded 0 */
    memset(h, 0xff, 32);
    ck_assert_int_eq(eh_mid_verification_code(h, 32, code), EH_OK);
    ck_assert_str_eq(code, "8191");
    memset(h, 0x00, 32);
    ck_assert_int_eq(eh_mid_verification_code(h, 32, code), EH_OK);
    ck_assert_str_eq(code, "0000");
    h[0] = 0x04; /* the lowest of the first six bits is bit 7 of the code */
    ck_assert_int_eq(eh_mid_verification_code(h, 32, code), EH_OK);
    ck_assert_str_eq(code, "0128");
    h[0] = 0x03;  /* the first byte's last two bits do not count */
    h[31] = 0x80; /* nor does the last byte's first bit */
    ck_assert_int_eq(eh_mid_verification_code(h, 32, code), EH_OK);
    ck_assert_str_eq(code, "0000");

    ck_assert_int_eq(eh_mid_verification_code(NULL, 32, code), EH_ERR_INVALID);
    ck_assert_str_eq(code, "");
    ck_assert_int_eq(eh_mid_verification_code(h, 0, code), EH_ERR_INVALID);
    ck_assert_int_eq(eh_mid_verification_code(h, 32, NULL), EH_ERR_INVALID);
}
END_TEST

START_TEST(test_sid_verification_code)
{
    /* SK's smart-id-java-client VerificationCodeCalculatorTest: the code of
     * SHA-256(text); cross-checked with
     *   printf 'Hello World!' | openssl dgst -sha256 -binary | openssl dgst -sha256
     * whose last two bytes e1 70 are 57712, so 7712. */
    static const struct {
        const char *text;
        const char *code;
    } v[] = {
        {"Hello World!", "7712"},
        {"Hedgehogs \xe2\x80\x93 why can't they just share the hedge?", "4612"},
        {"Go ahead, make my day.", "7782"},
        {"You're gonna need a bigger boat.", "1464"},
        {"Say 'hello' to my little friend!", "4240"},
    };
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len;
    unsigned char two[2] = {27, 0xbb}; /* {27, -69} in Java */
    unsigned char zero[1] = {0};
    char code[5];

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        ck_assert_int_eq(EVP_Digest(v[i].text, strlen(v[i].text), md, &md_len, EVP_sha256(), NULL),
                         1);
        ck_assert_int_eq(eh_sid_verification_code(md, md_len, code), EH_OK);
        ck_assert_str_eq(code, v[i].code);
    }
    /* the same client's raw two-byte input */
    ck_assert_int_eq(eh_sid_verification_code(two, sizeof(two), code), EH_OK);
    ck_assert_str_eq(code, "4555");
    /* zero padding: SHA-256 of one zero byte ends in a0 1d, 40989 ->
     * "0989" (printf '\x00' | openssl dgst -sha256) */
    ck_assert_int_eq(eh_sid_verification_code(zero, sizeof(zero), code), EH_OK);
    ck_assert_str_eq(code, "0989");

    ck_assert_int_eq(eh_sid_verification_code(NULL, 32, code), EH_ERR_INVALID);
    ck_assert_str_eq(code, "");
    ck_assert_int_eq(eh_sid_verification_code(zero, 0, code), EH_ERR_INVALID);
    ck_assert_int_eq(eh_sid_verification_code(zero, 1, NULL), EH_ERR_INVALID);
}
END_TEST

Suite *suite_sk_verify(void)
{
    Suite *s = suite_create("sk_verify");
    TCase *tc = tcase_create("sk_verify");
    TCase *codes = tcase_create("verification_codes");

    /* one fixture for the whole case: RSA key generation is slow */
    tcase_add_unchecked_fixture(tc, skt_setup, skt_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rsa2048_ok);
    tcase_add_test(tc, test_all_hash_lengths);
    tcase_add_test(tc, test_ec_ok);
    tcase_add_test(tc, test_rsa_digestinfo_by_hand);
    tcase_add_test(tc, test_signature_over_other_hash);
    tcase_add_test(tc, test_signature_by_other_key);
    tcase_add_test(tc, test_ec_der_signature_refused);
    tcase_add_test(tc, test_bad_base64);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_not_yet_valid);
    tcase_add_test(tc, test_untrusted_ca);
    tcase_add_test(tc, test_expired_ca);
    tcase_add_test(tc, test_trust_errors);
    tcase_add_test(tc, test_short_rsa_key);
    tcase_add_test(tc, test_key_usage);
    tcase_add_test(tc, test_subject_problems);
    tcase_add_test(tc, test_why_never_personal);
    tcase_add_test(tc, test_identity);
    tcase_add_test(tc, test_identity_not_derived);
    tcase_add_test(tc, test_identity_bad_arguments);
    suite_add_tcase(s, tc);

    tcase_add_test(codes, test_mid_verification_code);
    tcase_add_test(codes, test_sid_verification_code);
    suite_add_tcase(s, codes);
    return s;
}
