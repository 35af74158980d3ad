/* Fuzz target: OCSP answers to eidhub's revocation check of SK certificates
 * (eh_sk_ocsp_answer_check), against the trust of tests/fuzz/fixtures/sk-ca.pem
 * and the request about a citizen's certificate that target makes at start
 * (issued by that test CA, with a nonce; delegated responders allowed).
 *
 * Input, by its first byte:
 *   0x01  the rest is the responder's answer (DER), checked as it is;
 *   0x02  the same, but an answer that parses as a successful basic response
 *         first gets the request's nonce and is signed again by the test CA,
 *         so that mutations get past the signature and the nonce into the
 *         CertID, time and status checks;
 *   0x03  the rest describes an answer built here and signed by the test CA:
 *         byte 0 its status (good, revoked, unknown, by value mod 3), bytes
 *         1-2 and 3-4 thisUpdate and nextUpdate as signed 16-bit seconds
 *         from now (nextUpdate 0: none), byte 5 flags (1: another nonce,
 *         2: no nonce, 4: about another serial), byte 6 a response status
 *         other than successful when not 0;
 *   otherwise  the whole input, as 0x01.
 *
 * Invariants: the result is one of the four; why is NUL-terminated, one
 * line, "" exactly when good, and says "revoked" when revoked; a 0x03
 * answer that passes every check (our nonce, our certificate, times inside
 * max_age and the skew) gives its own status (unknown refused), and one that
 * fails one of them is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "broker/backends/sk_ocsp.h"
#include "broker/backends/sk_verify.h"
#include "tests/fuzz/fuzz_util.h"

#define FZ_MAX_AGE 900
#define FZ_SKEW 60

static eh_sk_trust *trust;
static eh_sk_ocsp *checker;
static eh_sk_ocsp_query *query;
static OCSP_REQUEST *request;
static EVP_PKEY *ca_key;
static X509 *ca_cert, *leaf;

static void fz_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
        abort();
    X509_EXTENSION_free(ext);
}

/* fz_leaf makes the citizen's certificate, issued by the test CA. */
static X509 *fz_leaf(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();

    if (key == NULL || x == NULL || name == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4242) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365) == NULL ||
        X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   (const unsigned char *)"FUZZ,CITIZEN,PNOEE-38001085718", -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(x, name) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1)
        abort();
    fz_ext(x, NID_key_usage, "critical,digitalSignature");
    fz_ext(x, NID_info_access, "OCSP;URI:http://127.0.0.1:9/ocsp");
    if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
        abort();
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    eh_sk_ocsp_config c = {
        .timeout_ms = 1000, .max_age_s = FZ_MAX_AGE, .clock_skew_s = FZ_SKEW, .nonce = 1};
    char err[512], ca[4096];
    const char *files[1] = {ca};
    const unsigned char *p;
    unsigned char *der = NULL;
    size_t len;
    int n;
    FILE *f;

    (void)argc;
    (void)argv;
    fz_init();
    snprintf(ca, sizeof(ca), "%s", fz_fixture("sk-ca.pem"));
    if (eh_sk_trust_new(files, 1, &trust, err, sizeof(err)) != EH_OK ||
        eh_sk_ocsp_new(&c, trust, &checker, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "setup: %s\n", err);
        abort();
    }
    f = fopen(fz_fixture("sk-ca.key"), "r");
    if (f == NULL || (ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
        abort();
    fclose(f);
    f = fopen(ca, "r");
    if (f == NULL || (ca_cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
        abort();
    fclose(f);
    leaf = fz_leaf();
    n = i2d_X509(leaf, &der);
    if (n <= 0 || eh_sk_ocsp_query_new(checker, der, (size_t)n, &query, err, sizeof(err)) != EH_OK)
        abort();
    OPENSSL_free(der);
    p = eh_sk_ocsp_query_der(query, &len);
    if ((request = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL)
        abort();
    return 0;
}

/* fz_encode writes resp as DER (caller frees with OPENSSL_free). */
static unsigned char *fz_encode(OCSP_RESPONSE *resp, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_OCSP_RESPONSE(resp, &der);

    *len = n > 0 ? (size_t)n : 0;
    return n > 0 ? der : NULL;
}

/* fz_resign gives a parsed successful basic answer the request's nonce and
 * the test CA's signature; NULL when data is not such an answer. */
static unsigned char *fz_resign(const uint8_t *data, size_t size, size_t *len)
{
    const unsigned char *p = data;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)size), *out = NULL;
    OCSP_BASICRESP *bs = resp ? OCSP_response_get1_basic(resp) : NULL;
    unsigned char *der = NULL;
    int at;

    if (bs == NULL)
        goto cleanup;
    while ((at = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1)) >= 0)
        X509_EXTENSION_free(OCSP_BASICRESP_delete_ext(bs, at));
    if (OCSP_copy_nonce(bs, request) != 1 ||
        OCSP_basic_sign(bs, ca_cert, ca_key, EVP_sha256(), NULL, 0) != 1 ||
        (out = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL)
        goto cleanup;
    der = fz_encode(out, len);
cleanup:
    OCSP_RESPONSE_free(out);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return der;
}

/* fz_build makes a mode-0x03 answer; *want is what a correct check says. */
static unsigned char *fz_build(const uint8_t *d, size_t size, time_t now, size_t *len,
                               eh_sk_ocsp_status *want)
{
    static const int statuses[] = {V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
                                   V_OCSP_CERTSTATUS_UNKNOWN};
    uint8_t b[7] = {0};
    int status, this_off, next_off, flags;
    OCSP_CERTID *id = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *this_update = NULL, *next_update = NULL, *revoked_at = NULL;
    ASN1_INTEGER *serial = NULL;
    unsigned char *der = NULL, other[16];
    int ok;

    memcpy(b, d, size < sizeof(b) ? size : sizeof(b));
    status = statuses[b[0] % 3];
    this_off = (int16_t)(((unsigned)b[1] << 8) | b[2]);
    next_off = (int16_t)(((unsigned)b[3] << 8) | b[4]);
    flags = b[5];
    if (b[6] != 0) {
        *want = EH_SK_OCSP_REFUSED;
        resp = OCSP_response_create(1 + b[6] % 6, NULL); /* 1..6: not successful */
        der = resp ? fz_encode(resp, len) : NULL;
        OCSP_RESPONSE_free(resp);
        return der;
    }
    if (flags & 4) {
        serial = ASN1_INTEGER_new();
        if (serial == NULL || ASN1_INTEGER_set(serial, 4243) != 1)
            abort();
        id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(ca_cert),
                              X509_get0_pubkey_bitstr(ca_cert), serial);
    } else {
        id = OCSP_cert_to_id(EVP_sha1(), leaf, ca_cert);
    }
    bs = OCSP_BASICRESP_new();
    this_update = ASN1_TIME_adj(NULL, now, 0, this_off);
    next_update = next_off ? ASN1_TIME_adj(NULL, now, 0, next_off) : NULL;
    revoked_at = ASN1_TIME_adj(NULL, now, 0, -3600);
    if (id == NULL || bs == NULL || this_update == NULL || revoked_at == NULL ||
        OCSP_basic_add1_status(bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? 1 : -1,
                               status == V_OCSP_CERTSTATUS_REVOKED ? revoked_at : NULL, this_update,
                               next_update) == NULL)
        abort();
    if (flags & 1) {
        memset(other, 0x5a, sizeof(other));
        ok = OCSP_basic_add1_nonce(bs, other, sizeof(other));
    } else if (flags & 2) {
        ok = 1;
    } else {
        ok = OCSP_copy_nonce(bs, request);
    }
    if (ok != 1 || OCSP_basic_sign(bs, ca_cert, ca_key, EVP_sha256(), NULL, 0) != 1 ||
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) == NULL)
        abort();
    der = fz_encode(resp, len);
    {
        /* the check reads the clock again: 2 s either side of a limit is
         * too close to say */
        const int oldest = -(FZ_MAX_AGE + FZ_SKEW);
        int bad = (flags & 7) != 0 || this_off >= FZ_SKEW + 2 || this_off <= oldest - 2 ||
                  (next_off != 0 && next_off <= -FZ_SKEW - 2);
        int near = (this_off > FZ_SKEW - 2 && this_off < FZ_SKEW + 2) ||
                   (this_off > oldest - 2 && this_off < oldest + 2) ||
                   (next_off != 0 && next_off > -FZ_SKEW - 2 && next_off < -FZ_SKEW + 2);

        if (bad)
            *want = EH_SK_OCSP_REFUSED;
        else if (near)
            *want = (eh_sk_ocsp_status)-1;
        else
            *want = status == V_OCSP_CERTSTATUS_GOOD      ? EH_SK_OCSP_GOOD
                    : status == V_OCSP_CERTSTATUS_REVOKED ? EH_SK_OCSP_REVOKED
                                                          : EH_SK_OCSP_REFUSED;
    }
    ASN1_TIME_free(this_update);
    ASN1_TIME_free(next_update);
    ASN1_TIME_free(revoked_at);
    ASN1_INTEGER_free(serial);
    OCSP_CERTID_free(id);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return der;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    time_t now = time(NULL);
    unsigned char *built = NULL;
    const unsigned char *answer = data;
    size_t len = size;
    eh_sk_ocsp_status got, want = (eh_sk_ocsp_status)-1;
    char why[256];

    if (size > 0 && (data[0] == 0x01 || data[0] == 0x02 || data[0] == 0x03)) {
        answer = data + 1;
        len = size - 1;
        if (data[0] == 0x02)
            built = fz_resign(answer, len, &len);
        else if (data[0] == 0x03)
            built = fz_build(answer, len, now, &len, &want);
        if (built != NULL)
            answer = built;
        else if (data[0] != 0x01)
            len = size - 1;
    }
    memset(why, 'x', sizeof(why));
    got = eh_sk_ocsp_answer_check(checker, query, answer, len, (int64_t)now, why, sizeof(why));
    FZ_CHECK(got == EH_SK_OCSP_GOOD || got == EH_SK_OCSP_REVOKED || got == EH_SK_OCSP_REFUSED);
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    FZ_CHECK(strchr(why, '\n') == NULL && strchr(why, '\r') == NULL);
    FZ_CHECK((got == EH_SK_OCSP_GOOD) == (why[0] == '\0'));
    FZ_CHECK(got != EH_SK_OCSP_REVOKED || strstr(why, "revoked") != NULL);
    if (want != (eh_sk_ocsp_status)-1)
        FZ_CHECK(got == want);
    if (fz_verbose())
        fprintf(stderr, "status %d: %s\n", (int)got, why);
    OPENSSL_free(built);
    return 0;
}
