/* saml-bench: eIDAS response processing by eidhub's Connector code, and the
 * crypto limit of that work, measured in one run (issue 7, bench/README.md).
 *
 *     saml-bench --fixtures DIR [--n 64] [--seconds 5] [--procs 2]
 *                [--crypto-seconds 2] [--write DIR]
 *                [--idp ID] [--sp ID] [--acs URL] [--valid SECONDS]
 *
 * It makes --n eIDAS Responses once with eh_saml_response_build, as a
 * Proxy-Service does: the Response signed ECDSA-P256-SHA256 (ec256.pem),
 * its Assertion signed the same way and then encrypted AES-256-GCM for the
 * Connector's RSA-3072 key (rsa3072.pub.pem, RSA-OAEP key transport). Each
 * is consumed once and checked. Then eh_saml_response_consume runs over
 * them in turn for --seconds in one process, and again in --procs processes
 * at once (forked: nginx's workers are processes), counting the responses
 * processed.
 *
 * The crypto limit is measured in the same process with OpenSSL's EVP API
 * directly (not `openssl speed`): the Connector's cryptography per response
 * is one RSA-3072 OAEP decryption (the only private-key operation: the
 * assertion's AES key), two ECDSA P-256 verifications (the Response's and
 * the Assertion's signatures; public-key operations) and the AES-256-GCM
 * decryption of the assertion (its size taken from the CipherValue). The
 * limit is 1 / (t_rsa + 2 t_ecdsa + t_aes); the private-key limit 1 / t_rsa.
 * Times are CPU time of the one-threaded process (also given as wall time),
 * and the consume runs report responses per second of wall time and per
 * CPU-second: on a shared machine the per-CPU figures compare fairly.
 *
 * With --write DIR the responses are written there (resp-NNNN.xml) with
 * manifest.json ({idp, sp, acs, responses: [{file, in_response_to}]}) for
 * bench/pysaml2-consume.py, which processes the same bytes.
 *
 * Prints one JSON object on stdout. Exit 0, or 1 with a line on stderr. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_clock.h"
#include "broker/saml/saml_crypto.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_xml.h"

#define NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define NP EH_NS_EIDAS_NATURAL "/"

typedef struct opts {
    const char *fixtures, *write, *idp, *sp, *acs;
    int n, procs;
    double seconds, crypto_seconds;
    unsigned valid;
} opts;

typedef struct corpus {
    int n;
    char **xml;
    size_t *len;
    char (*req_id)[EH_SAML_ID_LEN];
    eh_saml_keys *signer, *trusted, *ours, *recipient;
} corpus;

/* slurp reads DIR/name into a new NUL-terminated buffer (caller frees), or NULL. */
static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    char *buf = NULL, *out = NULL;
    FILE *f = NULL;
    long n;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0)
        goto cleanup;
    if ((buf = malloc((size_t)n + 1)) == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        goto cleanup;
    buf[n] = 0;
    *len = (size_t)n;
    out = buf;
    buf = NULL;
cleanup:
    if (out == NULL)
        fprintf(stderr, "saml-bench: cannot read %s\n", path);
    free(buf);
    if (f)
        fclose(f);
    return out;
}

/* load_keys returns a new key set holding the PEM file DIR/name, or NULL. */
static eh_saml_keys *load_keys(const char *dir, const char *name)
{
    char why[200] = "";
    size_t n = 0;
    char *pem = slurp(dir, name, &n);
    eh_saml_keys *k = pem ? eh_saml_keys_new() : NULL, *out = NULL;
    if (k != NULL && eh_saml_keys_add_pem(k, pem, n, why, sizeof(why)) == EH_OK) {
        out = k;
        k = NULL;
    } else if (pem != NULL) {
        fprintf(stderr, "saml-bench: %s: %s\n", name, why);
    }
    eh_saml_keys_free(k);
    free(pem);
    return out;
}

static EVP_PKEY *load_pkey(const char *dir, const char *name, int private)
{
    char path[1024];
    EVP_PKEY *k = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f != NULL) {
        k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    if (k == NULL)
        fprintf(stderr, "saml-bench: cannot load %s\n", path);
    return k;
}

/* ---------------------------------------------------------------- the corpus */

static void corpus_free(corpus *c)
{
    for (int i = 0; c->xml != NULL && i < c->n; i++)
        free(c->xml[i]);
    free(c->xml);
    free(c->len);
    free(c->req_id);
    eh_saml_keys_free(c->signer);
    eh_saml_keys_free(c->trusted);
    eh_saml_keys_free(c->ours);
    eh_saml_keys_free(c->recipient);
}

static void expect_of(const opts *o, const corpus *c, int i, eh_saml_response_expect *x)
{
    memset(x, 0, sizeof(*x));
    x->issuer = o->idp;
    x->trusted = c->trusted;
    x->ours = c->ours;
    x->destination = o->acs;
    x->audience = o->sp;
    x->in_response_to = c->req_id[i];
    x->min_loa = EH_LOA_SUBSTANTIAL;
    x->comparison = EH_LOA_MINIMUM;
    x->now = (int64_t)time(NULL);
    x->skew_s = 60;
}

/* corpus_build makes o->n signed, encrypted responses into c and consumes
 * each once, checking what comes out. 0 on success. */
static int corpus_build(const opts *o, corpus *c)
{
    int rc = 1;
    char why[256] = "";
    json_t *attrs = json_pack("{s:s, s:s, s:s, s:s}", NP "PersonIdentifier", "EE/LV/38001085718",
                              NP "CurrentFamilyName", "Tamm", NP "CurrentGivenName", "Mari",
                              NP "DateOfBirth", "1980-01-08");
    eh_saml_response_result *r = NULL;
    c->n = o->n;
    c->xml = calloc((size_t)o->n, sizeof(*c->xml));
    c->len = calloc((size_t)o->n, sizeof(*c->len));
    c->req_id = calloc((size_t)o->n, sizeof(*c->req_id));
    c->signer = load_keys(o->fixtures, "ec256.pem");
    c->trusted = load_keys(o->fixtures, "ec256.pub.pem");
    c->ours = load_keys(o->fixtures, "rsa3072.pem");
    c->recipient = load_keys(o->fixtures, "rsa3072.pub.pem");
    if (attrs == NULL || c->xml == NULL || c->len == NULL || c->req_id == NULL || c->signer == NULL ||
        c->trusted == NULL || c->ours == NULL || c->recipient == NULL)
        goto cleanup;
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < o->n; i++) {
        char id[EH_SAML_ID_LEN], aid[EH_SAML_ID_LEN];
        if (eh_saml_new_id(id) != EH_OK || eh_saml_new_id(aid) != EH_OK || eh_saml_new_id(c->req_id[i]) != EH_OK)
            goto cleanup;
        eh_saml_response_spec s = {
            .id = id, .assertion_id = aid, .issuer = o->idp, .destination = o->acs,
            .in_response_to = c->req_id[i], .audience = o->sp, .now = now, .valid_s = o->valid,
            .status = EH_SAML_STATUS_SUCCESS, .name_id = "EE/LV/38001085718",
            .name_id_format = EH_SAML_NAMEID_PERSISTENT, .loa = EH_LOA_SUBSTANTIAL,
            .comparison = EH_LOA_MINIMUM, .authn_instant = now - 5, .attributes = attrs,
        };
        if (eh_saml_response_build(&s, c->signer, EH_SAML_SIG_ECDSA_SHA256, c->recipient,
                                   EH_SAML_ENC_AES256_GCM, &c->xml[i], &c->len[i], why,
                                   sizeof(why)) != EH_OK) {
            fprintf(stderr, "saml-bench: build: %s\n", why);
            goto cleanup;
        }
        eh_saml_response_expect x;
        expect_of(o, c, i, &x);
        if (eh_saml_response_consume(c->xml[i], c->len[i], &x, &r, why, sizeof(why)) != EH_OK) {
            fprintf(stderr, "saml-bench: consume: %s\n", why);
            goto cleanup;
        }
        if (r->name_id == NULL || strcmp(r->name_id, "EE/LV/38001085718") != 0 ||
            json_object_size(r->attributes) != 4 || r->loa != EH_LOA_SUBSTANTIAL) {
            fprintf(stderr, "saml-bench: consume: unexpected result\n");
            goto cleanup;
        }
        eh_saml_response_result_free(r);
        r = NULL;
    }
    rc = 0;
cleanup:
    eh_saml_response_result_free(r);
    json_decref(attrs);
    return rc;
}

/* corpus_write writes the responses and manifest.json into dir. 0 on success. */
static int corpus_write(const opts *o, const corpus *c, const char *dir)
{
    int rc = 1;
    json_t *m = json_pack("{s:s, s:s, s:s, s:[]}", "idp", o->idp, "sp", o->sp, "acs", o->acs, "responses");
    json_t *list = m ? json_object_get(m, "responses") : NULL;
    char path[1024];
    if (list == NULL || (mkdir(dir, 0755) != 0 && errno != EEXIST))
        goto cleanup;
    for (int i = 0; i < c->n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "resp-%04d.xml", i);
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "wb");
        int ok = f != NULL && fwrite(c->xml[i], 1, c->len[i], f) == c->len[i];
        if (f != NULL && fclose(f) != 0)
            ok = 0;
        if (!ok || json_array_append_new(list, json_pack("{s:s, s:s}", "file", name, "in_response_to",
                                                         c->req_id[i])) != 0)
            goto cleanup;
    }
    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if (json_dump_file(m, path, JSON_INDENT(1)) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0)
        fprintf(stderr, "saml-bench: cannot write the responses to %s\n", dir);
    json_decref(m);
    return rc;
}

/* ---------------------------------------------------------------- the timed loop */

typedef struct loop_result {
    long count, errors;
    double secs, cpu;
} loop_result;

/* consume_loop runs eh_saml_response_consume over the corpus in turn for
 * o->seconds (checking the clock after each response). */
static loop_result consume_loop(const opts *o, const corpus *c, int start)
{
    loop_result lr = {0, 0, 0, 0};
    char why[256];
    double cpu0 = bench_cpu_s(), t0 = bench_wall_s(), t = t0;
    for (int i = start; t - t0 < o->seconds; i++) {
        int k = i % c->n;
        eh_saml_response_expect x;
        eh_saml_response_result *r = NULL;
        expect_of(o, c, k, &x);
        if (eh_saml_response_consume(c->xml[k], c->len[k], &x, &r, why, sizeof(why)) == EH_OK && r->name_id != NULL)
            lr.count++;
        else
            lr.errors++;
        eh_saml_response_result_free(r);
        t = bench_wall_s();
    }
    lr.secs = t - t0;
    lr.cpu = bench_cpu_s() - cpu0;
    return lr;
}

/* run_procs forks procs processes that each run consume_loop at once; fills
 * the sums (count, errors), the longest secs and the summed CPU time. */
static int run_procs(const opts *o, const corpus *c, int procs, loop_result *sum)
{
    int rc = 1, started = 0;
    pid_t pids[64];
    int fds[64];
    memset(sum, 0, sizeof(*sum));
    if (procs < 1 || procs > 64)
        goto cleanup;
    fflush(NULL);
    for (int p = 0; p < procs; p++) {
        int pipefd[2];
        if (pipe(pipefd) != 0)
            goto cleanup;
        pid_t pid = fork();
        if (pid < 0) {
            close(pipefd[0]);
            close(pipefd[1]);
            goto cleanup;
        }
        if (pid == 0) {
            close(pipefd[0]);
            loop_result lr = consume_loop(o, c, p * 7);
            ssize_t w = write(pipefd[1], &lr, sizeof(lr));
            _exit(w == (ssize_t)sizeof(lr) ? 0 : 1);
        }
        close(pipefd[1]);
        pids[started] = pid;
        fds[started++] = pipefd[0];
    }
    rc = 0;
cleanup:
    for (int p = 0; p < started; p++) {
        loop_result lr;
        int st = 0;
        if (read(fds[p], &lr, sizeof(lr)) != (ssize_t)sizeof(lr))
            rc = 1;
        else {
            sum->count += lr.count;
            sum->errors += lr.errors;
            sum->cpu += lr.cpu;
            if (lr.secs > sum->secs)
                sum->secs = lr.secs;
        }
        close(fds[p]);
        if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = 1;
    }
    return rc;
}

/* ---------------------------------------------------------------- the crypto limit */

/* Each op_* does one operation on its state and returns 0 on success. */
typedef struct crypto_state {
    EVP_PKEY_CTX *rsa_dec;  /* RSA-3072 private, OAEP (SHA-1, MGF1-SHA-1: rsa-oaep-mgf1p) */
    unsigned char wrapped[384];
    size_t wrapped_len;
    EVP_PKEY_CTX *ec_ver;   /* EC P-256 public */
    unsigned char digest[32], sig[80];
    size_t sig_len;
    EVP_CIPHER_CTX *gcm;
    unsigned char key[32], iv[12], tag[16], *ct, *pt;
    int ct_len;
} crypto_state;

static int op_rsa(void *arg)
{
    crypto_state *s = arg;
    unsigned char out[384];
    size_t outlen = sizeof(out);
    return EVP_PKEY_decrypt(s->rsa_dec, out, &outlen, s->wrapped, s->wrapped_len) == 1 && outlen == 32 ? 0 : 1;
}

static int op_ecdsa(void *arg)
{
    crypto_state *s = arg;
    return EVP_PKEY_verify(s->ec_ver, s->sig, s->sig_len, s->digest, sizeof(s->digest)) == 1 ? 0 : 1;
}

static int op_aes(void *arg)
{
    crypto_state *s = arg;
    int n = 0, m = 0;
    if (EVP_DecryptInit_ex(s->gcm, EVP_aes_256_gcm(), NULL, s->key, s->iv) != 1 ||
        EVP_DecryptUpdate(s->gcm, s->pt, &n, s->ct, s->ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_SET_TAG, 16, s->tag) != 1 ||
        EVP_DecryptFinal_ex(s->gcm, s->pt + n, &m) != 1)
        return 1;
    return 0;
}

/* max_cipher returns the largest decoded size of an xenc:CipherValue under
 * n, less the GCM IV and tag (the tree is small: recursion is fine). */
static int max_cipher(xmlNodePtr n)
{
    int best = 0;
    for (xmlNodePtr e = eh_saml_first_el(n); e != NULL; e = eh_saml_next_el(e)) {
        int b = 0;
        if (eh_saml_is(e, NS_XENC, "CipherValue")) {
            char *t = eh_saml_text(e);
            for (const char *p = t; p != NULL && *p; p++)
                b += (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t');
            free(t);
            b = b / 4 * 3 - 28;
        } else {
            b = max_cipher(e);
        }
        if (b > best)
            best = b;
    }
    return best;
}

/* assertion_bytes estimates the plaintext size of the encrypted assertion:
 * the largest xenc:CipherValue (the EncryptedKey's is 384 bytes). */
static int assertion_bytes(const char *xml, size_t len)
{
    int best = 0;
    char why[200];
    xmlDocPtr doc = NULL;
    if (eh_saml_parse(xml, len, &doc, why, sizeof(why)) != EH_OK)
        return 0;
    best = max_cipher(xmlDocGetRootElement(doc));
    xmlFreeDoc(doc);
    return best;
}

/* crypto_limit measures the three operations and fills j. 0 on success. */
static int crypto_limit(const opts *o, int plain_len, json_t *j)
{
    int rc = 1;
    crypto_state s;
    memset(&s, 0, sizeof(s));
    EVP_PKEY *rsa = load_pkey(o->fixtures, "rsa3072.pem", 1), *ec = load_pkey(o->fixtures, "ec256.pem", 1),
             *ecpub = load_pkey(o->fixtures, "ec256.pub.pem", 0);
    EVP_PKEY_CTX *enc = NULL, *sign = NULL;
    unsigned char key[32];
    int n = 0;
    if (rsa == NULL || ec == NULL || ecpub == NULL || RAND_bytes(key, sizeof(key)) != 1 ||
        RAND_bytes(s.digest, sizeof(s.digest)) != 1 || RAND_bytes(s.key, sizeof(s.key)) != 1 ||
        RAND_bytes(s.iv, sizeof(s.iv)) != 1)
        goto cleanup;
    /* RSA-OAEP: wrap a 32-byte key with the public half, time the unwrap */
    s.wrapped_len = sizeof(s.wrapped);
    if ((enc = EVP_PKEY_CTX_new(rsa, NULL)) == NULL || EVP_PKEY_encrypt_init(enc) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(enc, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_encrypt(enc, s.wrapped, &s.wrapped_len, key, sizeof(key)) != 1)
        goto cleanup;
    if ((s.rsa_dec = EVP_PKEY_CTX_new(rsa, NULL)) == NULL || EVP_PKEY_decrypt_init(s.rsa_dec) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(s.rsa_dec, RSA_PKCS1_OAEP_PADDING) != 1)
        goto cleanup;
    /* ECDSA P-256 over a SHA-256 digest */
    s.sig_len = sizeof(s.sig);
    if ((sign = EVP_PKEY_CTX_new(ec, NULL)) == NULL || EVP_PKEY_sign_init(sign) != 1 ||
        EVP_PKEY_sign(sign, s.sig, &s.sig_len, s.digest, sizeof(s.digest)) != 1)
        goto cleanup;
    if ((s.ec_ver = EVP_PKEY_CTX_new(ecpub, NULL)) == NULL || EVP_PKEY_verify_init(s.ec_ver) != 1)
        goto cleanup;
    /* AES-256-GCM of the assertion's size */
    s.ct_len = plain_len > 0 ? plain_len : 1;
    if ((s.ct = calloc(1, (size_t)s.ct_len + 16)) == NULL || (s.pt = calloc(1, (size_t)s.ct_len + 16)) == NULL ||
        (s.gcm = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(s.gcm, EVP_aes_256_gcm(), NULL, s.key, s.iv) != 1 ||
        EVP_EncryptUpdate(s.gcm, s.ct, &n, s.pt, s.ct_len) != 1 || EVP_EncryptFinal_ex(s.gcm, s.ct + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(s.gcm, EVP_CTRL_GCM_GET_TAG, 16, s.tag) != 1)
        goto cleanup;

    double w_rsa = 0, w_ec = 0, w_aes = 0;
    double t_rsa = bench_time_op(op_rsa, &s, 16, o->crypto_seconds, &w_rsa);
    double t_ec = bench_time_op(op_ecdsa, &s, 16, o->crypto_seconds, &w_ec);
    double t_aes = bench_time_op(op_aes, &s, 16, o->crypto_seconds / 4, &w_aes);
    if (t_rsa <= 0 || t_ec <= 0 || t_aes <= 0)
        goto cleanup;
    double per = t_rsa + 2 * t_ec + t_aes, wper = w_rsa + 2 * w_ec + w_aes;
    json_object_set_new(j, "method", json_string("OpenSSL EVP in this process: EVP_PKEY_decrypt (OAEP), "
                                                 "EVP_PKEY_verify (ECDSA over a SHA-256 digest), "
                                                 "EVP aes-256-gcm decryption"));
    /* CPU microseconds per operation (one core) */
    json_object_set_new(j, "rsa3072OaepDecryptUs", json_real(t_rsa * 1e6));
    json_object_set_new(j, "ecdsaP256VerifyUs", json_real(t_ec * 1e6));
    json_object_set_new(j, "aes256GcmUs", json_real(t_aes * 1e6));
    json_object_set_new(j, "aesBytes", json_integer(s.ct_len));
    json_object_set_new(j, "perResponseUs", json_real(per * 1e6));
    json_object_set_new(j, "limit", json_real(1 / per));              /* responses per CPU-second */
    json_object_set_new(j, "limitWall", json_real(1 / wper));         /* responses per second, one process */
    json_object_set_new(j, "privateKeyLimit", json_real(1 / t_rsa)); /* RSA decryptions per CPU-second */
    rc = 0;
cleanup:
    if (rc != 0)
        fprintf(stderr, "saml-bench: crypto measurement failed\n");
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_CTX_free(sign);
    EVP_PKEY_CTX_free(s.rsa_dec);
    EVP_PKEY_CTX_free(s.ec_ver);
    EVP_CIPHER_CTX_free(s.gcm);
    free(s.ct);
    free(s.pt);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(ecpub);
    return rc;
}

/* ---------------------------------------------------------------- main */

static json_t *loop_json(int procs, const loop_result *lr)
{
    return json_pack("{s:i, s:I, s:I, s:f, s:f, s:f, s:f}", "procs", procs, "count", (json_int_t)lr->count,
                     "errors", (json_int_t)lr->errors, "secs", lr->secs, "cpu", lr->cpu, "rate",
                     lr->secs > 0 ? (double)lr->count / lr->secs : 0.0, "ratePerCpu",
                     lr->cpu > 0 ? (double)lr->count / lr->cpu : 0.0);
}

static const char usage[] =
    "Usage: saml-bench --fixtures DIR [--n 64] [--seconds 5] [--procs 2] [--crypto-seconds 2]\n"
    "                  [--write DIR] [--idp ID] [--sp ID] [--acs URL] [--valid SECONDS]\n";

int main(int argc, char **argv)
{
    int rc = 1;
    opts o = {.n = 64, .procs = 2, .seconds = 5, .crypto_seconds = 2, .valid = 3600,
              .idp = "https://proxy.bench.example/eidas/metadata",
              .sp = "http://127.0.0.1:8500/metadata", .acs = "http://127.0.0.1:8500/acs"};
    corpus c;
    json_t *out = json_object(), *runs = json_array(), *crypto = json_object();
    memset(&c, 0, sizeof(c));
    static const struct option lo[] = {
        {"fixtures", 1, 0, 'f'}, {"n", 1, 0, 'n'}, {"seconds", 1, 0, 's'}, {"procs", 1, 0, 'p'},
        {"crypto-seconds", 1, 0, 'c'}, {"write", 1, 0, 'w'}, {"idp", 1, 0, 'i'}, {"sp", 1, 0, 'e'},
        {"acs", 1, 0, 'a'}, {"valid", 1, 0, 'v'}, {0, 0, 0, 0}};
    for (int ch; (ch = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (ch) {
        case 'f': o.fixtures = optarg; break;
        case 'n': o.n = atoi(optarg); break;
        case 's': o.seconds = atof(optarg); break;
        case 'p': o.procs = atoi(optarg); break;
        case 'c': o.crypto_seconds = atof(optarg); break;
        case 'w': o.write = optarg; break;
        case 'i': o.idp = optarg; break;
        case 'e': o.sp = optarg; break;
        case 'a': o.acs = optarg; break;
        case 'v': o.valid = (unsigned)atoi(optarg); break;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (o.fixtures == NULL || o.n < 1 || o.seconds <= 0 || o.procs < 0 || o.procs > 64) {
        fputs(usage, stderr);
        return 2;
    }
    if (out == NULL || runs == NULL || crypto == NULL || eh_saml_init() != EH_OK)
        goto cleanup;

    double t0 = bench_wall_s();
    if (corpus_build(&o, &c) != 0)
        goto cleanup;
    double built = bench_wall_s() - t0;
    if (o.write != NULL && corpus_write(&o, &c, o.write) != 0)
        goto cleanup;
    size_t total = 0;
    for (int i = 0; i < c.n; i++)
        total += c.len[i];
    int plain = assertion_bytes(c.xml[0], c.len[0]);

    loop_result lr;
    if (run_procs(&o, &c, 1, &lr) != 0)
        goto cleanup;
    json_array_append_new(runs, loop_json(1, &lr));
    if (o.procs > 1) {
        if (run_procs(&o, &c, o.procs, &lr) != 0)
            goto cleanup;
        json_array_append_new(runs, loop_json(o.procs, &lr));
    }
    if (crypto_limit(&o, plain, crypto) != 0)
        goto cleanup;

    json_object_set_new(out, "responses", json_integer(c.n));
    json_object_set_new(out, "responseBytes", json_integer((json_int_t)(total / (size_t)c.n)));
    json_object_set_new(out, "assertionBytes", json_integer(plain));
    json_object_set_new(out, "buildPerResponseMs", json_real(built / c.n * 1e3));
    json_object_set_new(out, "seconds", json_real(o.seconds));
    json_object_set_new(out, "runs", runs);
    runs = NULL;
    json_object_set_new(out, "crypto", crypto);
    crypto = NULL;
    if (json_dumpf(out, stdout, JSON_INDENT(1)) != 0 || puts("") < 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc != 0)
        fprintf(stderr, "saml-bench: failed\n");
    corpus_free(&c);
    json_decref(out);
    json_decref(runs);
    json_decref(crypto);
    return rc;
}
