/* login-crypto: the cryptography eidhub does for one Mobile-ID login,
 * measured in-process through libeidhub's own functions, with no HTTP, no
 * store and no threads (issue 7, bench/README.md).
 *
 *     login-crypto [--seconds 2] [--mix rsa,ec,rsa]
 *
 * Set up once with OpenSSL's APIs, as tests/unit/test_sk_verify.c and
 * test_sk_ocsp.c do: an EC P-256 CA like the Mobile-ID simulator's
 * (tests/sim/mobile-id.mjs), its delegated OCSP responder (EC P-256,
 * id-kp-OCSPSigning), and two citizens' authentication certificates as the
 * simulator issues them (subject C, CN "SURNAME,GIVENNAME,PNOEE-code", SN,
 * GN, serialNumber "PNOEE-code"; keyUsage digitalSignature, clientAuth, the
 * responder's URL in authorityInfoAccess): one with an RSA-2048 key, one
 * with an EC P-256 key. Each citizen signs a 32-byte hash as the phone does
 * (RSA PKCS#1 v1.5 over DigestInfo || hash; ECDSA as raw r || s), and the
 * responder signs a "good" answer to eidhub's own OCSP query, as
 * `openssl ocsp` does for the simulator (SHA-256, its certificate included,
 * eidhub's nonce copied).
 *
 * Then, each in a loop for --seconds, the work one login costs eidhub:
 *   verify      eh_sk_verify: base64 and DER parse of the certificate, chain
 *               check, keyUsage, the signature over the hash, the subject;
 *               eh_sk_subject_free;
 *   ocspQuery   the OCSP request about the certificate eh_sk_verify parsed
 *               (issuer lookup, SHA-1 CertID, nonce, DER), freed again;
 *   ocspAnswer  eh_sk_ocsp_answer_check of the signed answer: parse, the
 *               responder's chain and signature, nonce, CertID, times;
 *   idToken     eh_jwt_sign of an ID token's claims with the broker's EC
 *               P-256 key (ES256), as the token endpoint does.
 * Per login: one of each (the ID token's signature is the same for every
 * citizen). The mix is the benchmark's (bench/bench.mjs): its citizens take
 * turns, two with RSA-2048 keys and one with an EC P-256 key. Times are CPU
 * time of this one-threaded process (CLOCK_PROCESS_CPUTIME_ID).
 *
 * Prints one JSON object on stdout. Exit 0, or 1 with a line on stderr. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_clock.h"
#include "broker/backends/sk_ocsp.h"
#include "broker/backends/sk_verify.h"
#include "broker/jwt.h"
#include "broker/keys.h"

#define OCSP_URL "http://127.0.0.1:9/ocsp"

/* One citizen: its key, certificate, the phone's answer, the OCSP query
 * and the responder's answer to it. */
typedef struct citizen {
    const char *name; /* "rsa", "ec" */
    const char *key_desc;
    EVP_PKEY *key;
    X509 *cert;
    char *cert_b64, *sig_b64;
    int cert_len;
    eh_sk_subject subject; /* of one eh_sk_verify: its certificate */
    eh_sk_ocsp_query *query;
    unsigned char *answer;
    size_t answer_len;
    double us[3]; /* verify, ocspQuery, ocspAnswer */
} citizen;

/* Everything made once. */
typedef struct setup {
    char dir[PATH_MAX], ca_file[PATH_MAX], key_file[PATH_MAX];
    EVP_PKEY *ca_key, *responder_key;
    X509 *ca, *responder;
    eh_sk_trust *trust;
    eh_sk_ocsp *ocsp;
    eh_keyset *keys;
    json_t *claims;
    unsigned char hash[32];
    int64_t now;
    citizen c[2];
} setup;

static setup S;

/* add_ext adds the extension nid with value (openssl.cnf syntax); 0 on
 * success. */
static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
        return -1;
    ok = X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* add_name adds the UTF-8 entry nid = value to name; 0 on success. */
static int add_name(X509_NAME *name, int nid, const char *value)
{
    return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1,
                                      -1, 0) == 1
               ? 0
               : -1;
}

/* issue returns a certificate for key named name (consumed), issued by
 * issuer with issuer_key (issuer NULL: a self-signed CA); exts is a list of
 * nid, value pairs ending with 0. NULL on failure. */
static X509 *issue(EVP_PKEY *key, X509_NAME *name, X509 *issuer, EVP_PKEY *issuer_key,
                   const int *nids, const char *const *values)
{
    static long serial = 1;
    X509 *x = X509_new();
    int ok = x != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), 730L * 86400) != NULL &&
             X509_set_pubkey(x, key) == 1 && X509_set_subject_name(x, name) == 1 &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1;

    for (int i = 0; ok && nids[i] != 0; i++)
        ok = add_ext(x, issuer ? issuer : x, nids[i], values[i]) == 0;
    ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* b64 returns the standard base64 of len bytes at p (caller frees). */
static char *b64(const unsigned char *p, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, p, (int)len);
    return out;
}

/* make_ca makes the CA and its OCSP responder and writes the CA's PEM. */
static int make_ca(void)
{
    static const int ca_nids[] = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier,
                                  0};
    static const char *const ca_values[] = {"critical,CA:TRUE", "critical,keyCertSign,cRLSign",
                                            "hash"};
    static const int r_nids[] = {NID_basic_constraints,
                                 NID_key_usage,
                                 NID_subject_key_identifier,
                                 NID_authority_key_identifier,
                                 NID_ext_key_usage,
                                 NID_id_pkix_OCSP_noCheck,
                                 0};
    static const char *const r_values[] = {"critical,CA:FALSE",
                                           "critical,digitalSignature",
                                           "hash",
                                           "keyid:always",
                                           "OCSPSigning",
                                           "ignored"};
    X509_NAME *name = X509_NAME_new();
    FILE *fp;
    int ok;

    S.ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    S.responder_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!S.ca_key || !S.responder_key || !name || add_name(name, NID_countryName, "EE") != 0 ||
        add_name(name, NID_organizationName, "eidhub test PKI") != 0 ||
        add_name(name, NID_commonName, "TEST of eidhub MID CA") != 0)
        return -1;
    if (!(S.ca = issue(S.ca_key, name, NULL, S.ca_key, ca_nids, ca_values)))
        return -1;
    name = X509_NAME_new();
    if (!name || add_name(name, NID_countryName, "EE") != 0 ||
        add_name(name, NID_commonName, "TEST of eidhub MID CA OCSP RESPONDER") != 0)
        return -1;
    if (!(S.responder = issue(S.responder_key, name, S.ca, S.ca_key, r_nids, r_values)))
        return -1;
    if (!(fp = fopen(S.ca_file, "w")))
        return -1;
    ok = PEM_write_X509(fp, S.ca) == 1;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

/* sign_hash signs S.hash as the citizen's phone does into c->sig_b64. */
static int sign_hash(citizen *c)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(c->key, NULL);
    unsigned char sig[512], raw[64];
    const unsigned char *p = sig;
    size_t len = sizeof(sig);
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    int rsa = EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA, rc = -1;

    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
        (rsa && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
                 EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)) ||
        EVP_PKEY_sign(ctx, sig, &len, S.hash, sizeof(S.hash)) != 1)
        goto cleanup;
    if (rsa) {
        c->sig_b64 = b64(sig, len);
    } else {
        if (!(es = d2i_ECDSA_SIG(NULL, &p, (long)len)))
            goto cleanup;
        ECDSA_SIG_get0(es, &r, &s);
        if (BN_bn2binpad(r, raw, 32) != 32 || BN_bn2binpad(s, raw + 32, 32) != 32)
            goto cleanup;
        c->sig_b64 = b64(raw, sizeof(raw));
    }
    rc = c->sig_b64 ? 0 : -1;
cleanup:
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* make_citizen makes c's key, certificate and signature. */
static int make_citizen(citizen *c, const char *gn, const char *sn, const char *code)
{
    static const int nids[] = {NID_basic_constraints,
                               NID_key_usage,
                               NID_subject_key_identifier,
                               NID_authority_key_identifier,
                               NID_ext_key_usage,
                               NID_info_access,
                               0};
    static const char *const values[] = {
        "critical,CA:FALSE", "critical,digitalSignature", "hash", "keyid:always",
        "clientAuth",        "OCSP;URI:" OCSP_URL};
    X509_NAME *name = X509_NAME_new();
    unsigned char *der = NULL;
    char cn[256], serial[64];

    snprintf(serial, sizeof(serial), "PNOEE-%s", code);
    snprintf(cn, sizeof(cn), "%s,%s,%s", sn, gn, serial);
    c->key = strcmp(c->name, "rsa") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                         : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!c->key || !name || add_name(name, NID_countryName, "EE") != 0 ||
        add_name(name, NID_commonName, cn) != 0 || add_name(name, NID_surname, sn) != 0 ||
        add_name(name, NID_givenName, gn) != 0 || add_name(name, NID_serialNumber, serial) != 0) {
        X509_NAME_free(name);
        return -1;
    }
    if (!(c->cert = issue(c->key, name, S.ca, S.ca_key, nids, values)) ||
        (c->cert_len = i2d_X509(c->cert, &der)) <= 0)
        return -1;
    c->cert_b64 = b64(der, (size_t)c->cert_len);
    OPENSSL_free(der);
    return c->cert_b64 ? sign_hash(c) : -1;
}

/* respond signs a "good" answer to c's query as the responder, into
 * c->answer. */
static int respond(citizen *c)
{
    size_t qlen;
    const unsigned char *qder = eh_sk_ocsp_query_der(c->query, &qlen), *p = qder;
    OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)qlen);
    OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *this_update = ASN1_TIME_adj(NULL, (time_t)S.now, 0, 0);
    unsigned char *der = NULL;
    int n = -1;

    if (req && bs && this_update &&
        OCSP_basic_add1_status(bs, OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)),
                               V_OCSP_CERTSTATUS_GOOD, -1, NULL, this_update, NULL) &&
        OCSP_copy_nonce(bs, req) == 1 &&
        OCSP_basic_sign(bs, S.responder, S.responder_key, EVP_sha256(), NULL, 0) == 1 &&
        (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL)
        n = i2d_OCSP_RESPONSE(resp, &der);
    if (n > 0) {
        c->answer = der;
        c->answer_len = (size_t)n;
    }
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_REQUEST_free(req);
    ASN1_TIME_free(this_update);
    return n > 0 ? 0 : -1;
}

/* The timed operations: 0 when eidhub accepted, as it must. */
static int op_verify(void *arg)
{
    citizen *c = arg;
    eh_sk_subject s = {0};
    char why[256];
    eh_rc rc = eh_sk_verify(S.trust, S.hash, sizeof(S.hash), c->sig_b64, c->cert_b64, S.now, &s,
                            why, sizeof(why));
    eh_sk_subject_free(&s);
    return rc == EH_OK ? 0 : -1;
}

/* query_new makes the OCSP request about the certificate eh_sk_verify
 * parsed, as eh_sk_ocsp_check does. */
static eh_rc query_new(citizen *c, eh_sk_ocsp_query **q)
{
    char why[256];
    return eh_sk_ocsp_query_for(S.ocsp, c->subject.certificate, q, why, sizeof(why));
}

static int op_ocsp_query(void *arg)
{
    citizen *c = arg;
    eh_sk_ocsp_query *q = NULL;
    eh_rc rc = query_new(c, &q);
    eh_sk_ocsp_query_free(q);
    return rc == EH_OK ? 0 : -1;
}

static int op_ocsp_answer(void *arg)
{
    citizen *c = arg;
    char why[256];
    return eh_sk_ocsp_answer_check(S.ocsp, c->query, c->answer, c->answer_len, S.now, why,
                                   sizeof(why)) == EH_SK_OCSP_GOOD
               ? 0
               : -1;
}

static int op_id_token(void *arg)
{
    citizen *c = arg;
    char *token = NULL;
    eh_rc rc = eh_jwt_sign(S.keys, S.claims, "JWT", &token);
    (void)c;
    free(token);
    return rc == EH_OK ? 0 : -1;
}

/* make_all builds everything the loops use. */
static int make_all(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *files[1] = {S.ca_file};
    eh_sk_ocsp_config oc = {.timeout_ms = 3000, .max_age_s = 900, .clock_skew_s = 60, .nonce = 1};
    char err[512] = "";
    int rc = -1;

    snprintf(S.dir, sizeof(S.dir), "%s/eh-login-crypto-XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(S.dir)) {
        S.dir[0] = '\0';
        snprintf(err, sizeof(err), "no temporary folder");
        goto cleanup;
    }
    if (snprintf(S.ca_file, sizeof(S.ca_file), "%s/ca.pem", S.dir) >= (int)sizeof(S.ca_file) ||
        snprintf(S.key_file, sizeof(S.key_file), "%s/key.pem", S.dir) >= (int)sizeof(S.key_file))
        goto cleanup;
    S.now = (int64_t)time(NULL);
    snprintf(err, sizeof(err), "OpenSSL refused to make the test PKI");
    if (RAND_bytes(S.hash, sizeof(S.hash)) != 1 || make_ca() != 0)
        goto cleanup;
    S.c[0] = (citizen){.name = "rsa", .key_desc = "RSA-2048"};
    S.c[1] = (citizen){.name = "ec", .key_desc = "EC P-256"};
    if (make_citizen(&S.c[0], "MARY ÄNN", "O’CONNEŽ-ŠUSLIK TESTNUMBER", "60001019906") != 0 ||
        make_citizen(&S.c[1], "JAAN", "MÄNNIK", "38001085718") != 0)
        goto cleanup;
    err[0] = '\0';
    if (eh_sk_trust_new(files, 1, &S.trust, err, sizeof(err)) != EH_OK ||
        eh_sk_ocsp_new(&oc, S.trust, &S.ocsp, err, sizeof(err)) != EH_OK)
        goto cleanup;
    for (int i = 0; i < 2; i++) {
        citizen *c = &S.c[i];
        if (eh_sk_verify(S.trust, S.hash, sizeof(S.hash), c->sig_b64, c->cert_b64, S.now,
                         &c->subject, err, sizeof(err)) != EH_OK ||
            query_new(c, &c->query) != EH_OK || respond(c) != 0)
            goto cleanup;
    }
    /* the broker's signing key, and an ID token's claims as the token
     * endpoint makes them for the benchmark's portal (pairwise sub) */
    if (eh_key_generate(EH_KEY_EC_P256, 0, S.key_file, err, sizeof(err)) != EH_OK ||
        eh_keyset_new(&S.keys) != EH_OK ||
        eh_keyset_add_pem(S.keys, S.key_file, 1, err, sizeof(err)) != EH_OK ||
        eh_keyset_finish(S.keys, err, sizeof(err)) != EH_OK)
        goto cleanup;
    S.claims = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:[s], s:s, s:s, s:s, s:s}", "iss",
        "http://127.0.0.1:8080", "sub", "nJ5xQ0m2bW8yTq3vK7cX1sR4uE9aZ6dF0gH2jL5pM8o", "aud",
        "bench-portal", "iat", (json_int_t)S.now, "exp", (json_int_t)S.now + 300, "auth_time",
        (json_int_t)S.now, "acr", "high", "amr", "mID", "nonce", "q2Vh7mD0sYp4Xc1Lk9Rb3w", "sid",
        "Zt6uN8eJ2aQ5rW0yH3kP7g", "given_name", "JAAN", "family_name", "MÄNNIK");
    if (S.claims != NULL)
        rc = 0;
cleanup:
    if (rc != 0)
        fprintf(stderr, "login-crypto: set-up failed: %s\n", err);
    return rc;
}

static void free_all(void)
{
    for (int i = 0; i < 2; i++) {
        citizen *c = &S.c[i];
        EVP_PKEY_free(c->key);
        X509_free(c->cert);
        free(c->cert_b64);
        free(c->sig_b64);
        eh_sk_subject_free(&c->subject);
        eh_sk_ocsp_query_free(c->query);
        OPENSSL_free(c->answer);
    }
    eh_sk_ocsp_free(S.ocsp);
    eh_sk_trust_free(S.trust);
    eh_keyset_free(S.keys);
    json_decref(S.claims);
    X509_free(S.ca);
    X509_free(S.responder);
    EVP_PKEY_free(S.ca_key);
    EVP_PKEY_free(S.responder_key);
    if (S.dir[0] != '\0') {
        unlink(S.ca_file);
        unlink(S.key_file);
        rmdir(S.dir);
    }
}

static const char usage[] = "Usage: login-crypto [--seconds 2] [--mix rsa,ec,rsa]\n";

int main(int argc, char **argv)
{
    static const char *const op_names[] = {"verifyUs", "ocspQueryUs", "ocspAnswerUs"};
    static int (*const ops[])(void *) = {op_verify, op_ocsp_query, op_ocsp_answer};
    static const struct option lo[] = {{"seconds", 1, 0, 's'}, {"mix", 1, 0, 'm'}, {0, 0, 0, 0}};
    double secs = 2, token_us, token_wall, wall, mix_us = 0;
    const char *mix = "rsa,ec,rsa";
    json_t *out = json_object(), *cits = json_object(), *turns = json_array();
    int rc = 1, n_turns = 0;

    for (int ch; (ch = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (ch) {
        case 's':
            secs = atof(optarg);
            break;
        case 'm':
            mix = optarg;
            break;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (secs <= 0) {
        fputs(usage, stderr);
        rc = 2;
        goto cleanup;
    }
    if (!out || !cits || !turns || make_all() != 0)
        goto cleanup;
    for (int i = 0; i < 2; i++) {
        citizen *c = &S.c[i];
        for (int k = 0; k < 3; k++)
            if ((c->us[k] = bench_time_op(ops[k], c, 8, secs, &wall) * 1e6) < 0) {
                fprintf(stderr, "login-crypto: %s of the %s citizen failed\n", op_names[k],
                        c->name);
                goto cleanup;
            }
    }
    if ((token_us = bench_time_op(op_id_token, &S.c[0], 8, secs, &token_wall) * 1e6) < 0)
        goto cleanup;
    token_wall *= 1e6;
    for (int i = 0; i < 2; i++) {
        citizen *c = &S.c[i];
        double per = c->us[0] + c->us[1] + c->us[2] + token_us;
        json_object_set_new(cits, c->name,
                            json_pack("{s:s, s:i, s:f, s:f, s:f, s:f, s:f}", "key", c->key_desc,
                                      "certBytes", c->cert_len, "verifyUs", c->us[0], "ocspQueryUs",
                                      c->us[1], "ocspAnswerUs", c->us[2], "idTokenUs", token_us,
                                      "perLoginUs", per));
    }
    /* the mix: the citizens in the order the benchmark's logins take turns */
    for (const char *p = mix; *p != '\0';) {
        size_t len = strcspn(p, ",");
        json_t *cj = NULL;
        for (int i = 0; i < 2; i++)
            if (strlen(S.c[i].name) == len && strncmp(p, S.c[i].name, len) == 0)
                cj = json_object_get(cits, S.c[i].name);
        if (cj == NULL) {
            fputs(usage, stderr);
            goto cleanup;
        }
        mix_us += json_real_value(json_object_get(cj, "perLoginUs"));
        json_array_append_new(turns, json_stringn(p, len));
        n_turns++;
        p += len + (p[len] == ',');
    }
    if (n_turns == 0)
        goto cleanup;
    mix_us /= n_turns;
    json_object_set_new(out, "method",
                        json_string("libeidhub in one thread, CPU time (CLOCK_PROCESS_CPUTIME_ID): "
                                    "eh_sk_verify; eh_sk_ocsp_query_for; eh_sk_ocsp_answer_check; "
                                    "eh_jwt_sign (ES256)"));
    json_object_set_new(out, "seconds", json_real(secs));
    json_object_set_new(out, "hashBytes", json_integer((json_int_t)sizeof(S.hash)));
    json_object_set_new(out, "ocspAnswerBytes", json_integer((json_int_t)S.c[0].answer_len));
    json_object_set_new(out, "idTokenWallUs", json_real(token_wall));
    json_object_set_new(out, "citizens", cits);
    cits = NULL;
    json_object_set_new(out, "mix",
                        json_pack("{s:o, s:f, s:f}", "turns", turns, "perLoginUs", mix_us,
                                  "loginsPerCpuSecond", 1e6 / mix_us));
    turns = NULL;
    if (json_dumpf(out, stdout, JSON_INDENT(1)) != 0 || puts("") < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0)
        fprintf(stderr, "login-crypto: failed\n");
    free_all();
    json_decref(out);
    json_decref(cits);
    json_decref(turns);
    return rc;
}
