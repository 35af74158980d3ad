/* Fuzz target: SK authentication answers (eh_sk_verify): the signature and
 * certificate a Mobile-ID or Smart-ID answer carries, both base64, against
 * the trust of tests/fuzz/fixtures/sk-ca.pem (a test CA) at a fixed time.
 * The hash signed is the bytes 1, 2, 3, ... (32, 48 or 64 of them).
 *
 * Input, by its first byte:
 *   0x01/0x02  the rest is a certificate's DER, sent with the EC (resp. RSA)
 *              fixture leaf's good signature over the 32-byte hash;
 *   0x03       the same as 0x01, but a DER that parses is first re-signed
 *              by the test CA, so mutated certificates get past the chain
 *              check into key usage, signature and subject parsing;
 *   otherwise  text "<signature base64>\n<certificate base64>[\n<hash len>]"
 *              (garbage base64 and DER).
 *
 * Invariants: why is NUL-terminated and never holds a personal code (no run
 * of six digits); on failure the subject is zeroed and why says why;
 * on success it has country, PNO and a code, and makes an identity. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "broker/backends/sk_verify.h"
#include "tests/fuzz/fuzz_util.h"

#define FZ_NOW ((int64_t)1900000000) /* 2030-03-17, inside the fixtures' validity */

static eh_sk_trust *trust;
static char *sig_ec, *sig_rsa;
static EVP_PKEY *ca_key;
static X509 *ca_cert;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        abort();
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    return strdup(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512], ca[4096];
    const char *files[1] = {ca};
    FILE *f;

    fz_init();
    snprintf(ca, sizeof(ca), "%s", fz_fixture("sk-ca.pem"));
    if (eh_sk_trust_new(files, 1, &trust, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "trust: %s\n", err);
        abort();
    }
    sig_ec = read_text(fz_fixture("sk-leaf-ec.sig.b64"));
    sig_rsa = read_text(fz_fixture("sk-leaf-rsa.sig.b64"));
    f = fopen(fz_fixture("sk-ca.key"), "r");
    if (f == NULL || (ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
        abort();
    fclose(f);
    f = fopen(ca, "r");
    if (f == NULL || (ca_cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
        abort();
    fclose(f);
    return 0;
}

static char *b64(const uint8_t *data, size_t size)
{
    char *out = NULL, *copy;
    size_t len = 0;
    cjose_err err;

    if (!cjose_base64_encode(data, size, &out, &len, &err))
        abort();
    copy = strndup(out, len);
    cjose_get_dealloc()(out);
    return copy;
}

/* resign: the DER re-signed by the test CA, or a copy when it does not parse. */
static char *resign(const uint8_t *der, size_t size)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    unsigned char *out = NULL;
    int n;
    char *text;

    if (x == NULL || X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1 ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0 || (n = i2d_X509(x, &out)) <= 0) {
        X509_free(x);
        return b64(der, size);
    }
    text = b64(out, (size_t)n);
    OPENSSL_free(out);
    X509_free(x);
    return text;
}

static int has_digit_run(const char *s, int run)
{
    int n = 0;
    for (; *s; s++) {
        n = isdigit((unsigned char)*s) ? n + 1 : 0;
        if (n >= run)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char hash[64];
    size_t hash_len = 32;
    char *sig = NULL, *cert = NULL, *parts[3] = {NULL, NULL, NULL};
    size_t n = 0;
    eh_sk_subject subject;
    eh_identity *id = NULL;
    char why[256];
    eh_rc rc;

    for (size_t i = 0; i < sizeof(hash); i++)
        hash[i] = (unsigned char)(i + 1);
    if (size > 0 && (data[0] == 1 || data[0] == 2)) {
        sig = strdup(data[0] == 1 ? sig_ec : sig_rsa);
        cert = b64(data + 1, size - 1);
    } else if (size > 0 && data[0] == 3) {
        sig = strdup(sig_ec);
        cert = resign(data + 1, size - 1);
    } else {
        n = fz_split(data, size, '\n', parts, 3);
        sig = parts[0];
        cert = n > 1 ? parts[1] : NULL;
        if (n > 2)
            hash_len =
                (size_t)atoi(parts[2]) > sizeof(hash) ? sizeof(hash) : (size_t)atoi(parts[2]);
    }

    memset(&subject, 0, sizeof(subject));
    memset(why, 'X', sizeof(why));
    rc = eh_sk_verify(trust, hash, hash_len, sig, cert ? cert : "", FZ_NOW, &subject, why,
                      sizeof(why));
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    if (fz_verbose())
        fprintf(stderr, "eh_sk_verify: rc %d (%s) %s\n", rc, eh_strerror(rc), why);
    FZ_CHECK(!has_digit_run(why, 6));
    if (rc != EH_OK) {
        FZ_CHECK(subject.given_name == NULL && subject.surname == NULL && subject.country == NULL &&
                 subject.id_type == NULL && subject.personal_code == NULL);
        FZ_CHECK(why[0] != '\0');
    } else {
        FZ_CHECK(why[0] == '\0');
        FZ_CHECK(subject.country != NULL && strlen(subject.country) == 2);
        FZ_CHECK(subject.id_type != NULL && strcmp(subject.id_type, "PNO") == 0);
        FZ_CHECK(subject.personal_code != NULL && subject.personal_code[0] != '\0');
        FZ_CHECK(eh_sk_subject_to_identity(&subject, "mobile_id", EH_LOA_HIGH, FZ_NOW, &id) ==
                 EH_OK);
        FZ_CHECK(id != NULL && id->id_value != NULL);
        eh_identity_free(id);
    }
    eh_sk_subject_free(&subject);
    if (n > 0) {
        fz_free_parts(parts, n);
    } else {
        free(sig);
        free(cert);
    }
    return 0;
}
