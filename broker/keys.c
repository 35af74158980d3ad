#include "broker/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "broker/log.h"

/* Key files larger than this are not keys we would write or accept. */
#define EH_KEY_FILE_MAX (64 * 1024)
/* An RSA modulus under this many bits is refused (PS256 needs >= 3072). */
#define EH_RSA_MIN_BITS 3072
/* eh_key_generate refuses sizes over this (generation would take minutes). */
#define EH_RSA_MAX_BITS 16384
/* A P-256 coordinate or private scalar, in bytes. */
#define EH_P256_BYTES 32
/* base64url of a SHA-256 digest is 43 characters. */
#define EH_KID_MAX 64

struct eh_key {
    char *path; /* the file it was read from */
    eh_key_type type;
    int active;
    char kid[EH_KID_MAX];
    cjose_jwk_t *jwk; /* holds the private key */
};

struct eh_keyset {
    eh_key **keys; /* each key is its own allocation, so borrowed pointers stay valid */
    size_t n;
    size_t cap;
};

/* Members that must never leave the process in a published JWK. */
static const char *const eh_jwk_private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* The members RFC 7638 section 3.2 requires in the thumbprint input, per kty
 * (already in lexicographic order; JSON_SORT_KEYS sorts them anyway). */
static const struct {
    const char *kty;
    const char *members[4];
} eh_thumbprint_members[] = {
    {"EC", {"crv", "kty", "x", "y"}},
    {"RSA", {"e", "kty", "n", NULL}},
    {"oct", {"k", "kty", NULL, NULL}},
    {"OKP", {"crv", "kty", "x", NULL}},
};

/* The OpenSSL parameters of an RSA private key, in the order in which
 * eh_jwk_from_rsa puts them into the cjose spec: n, e, d, p, q, dp, dq, qi.
 * The first three are mandatory. */
static const char *const eh_rsa_params[] = {
    OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
    OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
    OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
    OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};
#define EH_RSA_NPARAMS (sizeof(eh_rsa_params) / sizeof(eh_rsa_params[0]))
#define EH_RSA_MANDATORY 3

static void eh_keys_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* eh_keys_err writes one formatted line into err (errlen bytes, always
 * NUL-terminated); err NULL or errlen 0 means the caller does not want it. */
static void eh_keys_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* eh_key_free releases one key: cjose_jwk_release drops the only reference
 * to the cjose key, whose OpenSSL key clears its private numbers on free. */
static void eh_key_free(eh_key *k)
{
    if (!k)
        return;
    if (k->jwk)
        cjose_jwk_release(k->jwk);
    free(k->path);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

eh_rc eh_keyset_new(eh_keyset **out)
{
    eh_keyset *ks;

    if (!out)
        return EH_ERR_INVALID;
    ks = calloc(1, sizeof(*ks));
    if (!ks)
        return EH_ERR_NOMEM;
    *out = ks;
    return EH_OK;
}

void eh_keyset_free(eh_keyset *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        eh_key_free(ks->keys[i]);
    free(ks->keys);
    free(ks);
}

/* eh_pem_no_passphrase is the PEM passphrase callback: eidhub never asks for
 * a passphrase, it only records (in *u, an int) that one was wanted. */
static int eh_pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)u = 1;
    return -1;
}

/* eh_pem_read reads the PEM private key in the file at path into *out
 * (caller owns, EVP_PKEY_free) and the file's mode into *mode. The file's
 * bytes pass through one buffer of ours, wiped before it is freed. Refuses,
 * with a line naming the file in err, a file that cannot be opened or read,
 * is not a regular file, is too large, holds no PEM private key, or holds an
 * encrypted one. */
static eh_rc eh_pem_read(const char *path, EVP_PKEY **out, mode_t *mode, char *err, size_t errlen)
{
    eh_rc rc = EH_OK;
    int fd = -1;
    struct stat st;
    unsigned char *buf = NULL;
    size_t cap = 0;
    size_t len = 0;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    int wanted_passphrase = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        eh_keys_err(err, errlen, "%s: cannot open key file: %s", path, strerror(errno));
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (fstat(fd, &st) != 0) {
        eh_keys_err(err, errlen, "%s: cannot stat key file: %s", path, strerror(errno));
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        eh_keys_err(err, errlen, "%s: not a regular file", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (st.st_size > EH_KEY_FILE_MAX) {
        eh_keys_err(err, errlen, "%s: too large for a key file (over %d bytes)", path,
                    EH_KEY_FILE_MAX);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    cap = (size_t)st.st_size + 1;
    buf = OPENSSL_malloc(cap);
    if (!buf) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    while (len < cap) {
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            eh_keys_err(err, errlen, "%s: cannot read key file: %s", path, strerror(errno));
            rc = EH_ERR_KEY;
            goto cleanup;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (len == cap) {
        eh_keys_err(err, errlen, "%s: key file changed while being read", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }

    bio = BIO_new_mem_buf(buf, (int)len);
    if (!bio) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, eh_pem_no_passphrase, &wanted_passphrase);
    if (!pkey && wanted_passphrase) {
        eh_keys_err(err, errlen,
                    "%s: the private key is encrypted; eidhub needs an unencrypted key "
                    "(protect the file with mode 0600 instead)",
                    path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (!pkey) {
        eh_keys_err(err, errlen, "%s: no PEM private key found", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    *mode = st.st_mode;
    *out = pkey;
    pkey = NULL;

cleanup:
    BIO_free(bio);
    if (buf)
        OPENSSL_clear_free(buf, cap);
    EVP_PKEY_free(pkey);
    if (fd >= 0)
        close(fd);
    ERR_clear_error();
    return rc;
}

/* eh_jwk_from_ec builds the cjose key of an EC private key, which must be on
 * P-256, into *out (caller owns, cjose_jwk_release). The private scalar
 * passes through a stack buffer that is wiped before returning. */
static eh_rc eh_jwk_from_ec(const EVP_PKEY *pkey, const char *path, cjose_jwk_t **out, char *err,
                            size_t errlen)
{
    eh_rc rc = EH_OK;
    char group[80];
    int nid;
    BIGNUM *x = NULL;
    BIGNUM *y = NULL;
    BIGNUM *d = NULL;
    uint8_t xb[EH_P256_BYTES];
    uint8_t yb[EH_P256_BYTES];
    uint8_t db[EH_P256_BYTES];
    cjose_jwk_ec_keyspec spec;
    cjose_err cerr;

    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL)) {
        eh_keys_err(err, errlen,
                    "%s: EC key without a named curve; only P-256 (ES256) is supported", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(group);
    if (nid != NID_X9_62_prime256v1) {
        eh_keys_err(err, errlen, "%s: EC key on curve %s; only P-256 (ES256) is supported", path,
                    group);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d)) {
        eh_keys_err(err, errlen, "%s: cannot read the EC key's parameters", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (BN_bn2binpad(x, xb, sizeof(xb)) < 0 || BN_bn2binpad(y, yb, sizeof(yb)) < 0 ||
        BN_bn2binpad(d, db, sizeof(db)) < 0) {
        eh_keys_err(err, errlen, "%s: EC key parameters too large for P-256", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    memset(&spec, 0, sizeof(spec));
    spec.crv = CJOSE_JWK_EC_P_256;
    spec.x = xb;
    spec.xlen = sizeof(xb);
    spec.y = yb;
    spec.ylen = sizeof(yb);
    spec.d = db;
    spec.dlen = sizeof(db);
    *out = cjose_jwk_create_EC_spec(&spec, &cerr);
    if (!*out) {
        eh_keys_err(err, errlen, "%s: cannot build the EC JWK: %s", path, cerr.message);
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }

cleanup:
    OPENSSL_cleanse(db, sizeof(db));
    BN_free(x);
    BN_free(y);
    BN_clear_free(d);
    return rc;
}

/* eh_jwk_from_rsa builds the cjose key of an RSA private key of at least
 * 3072 bits into *out (caller owns, cjose_jwk_release). Every parameter
 * passes through a heap buffer that is wiped before it is freed. */
static eh_rc eh_jwk_from_rsa(const EVP_PKEY *pkey, const char *path, cjose_jwk_t **out, char *err,
                             size_t errlen)
{
    eh_rc rc = EH_OK;
    int bits = EVP_PKEY_get_bits(pkey);
    uint8_t *buf[EH_RSA_NPARAMS] = {NULL};
    size_t len[EH_RSA_NPARAMS] = {0};
    BIGNUM *bn = NULL;
    cjose_jwk_rsa_keyspec spec;
    cjose_err cerr;

    if (bits < EH_RSA_MIN_BITS) {
        eh_keys_err(err, errlen,
                    "%s: RSA key of %d bits is too short; at least %d bits are required (PS256)",
                    path, bits, EH_RSA_MIN_BITS);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, &bn)) {
        eh_keys_err(err, errlen, "%s: multi-prime RSA keys are not supported", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    for (size_t i = 0; i < EH_RSA_NPARAMS; i++) {
        if (!EVP_PKEY_get_bn_param(pkey, eh_rsa_params[i], &bn)) {
            if (i < EH_RSA_MANDATORY) {
                eh_keys_err(err, errlen, "%s: cannot read the RSA key's parameter %s", path,
                            eh_rsa_params[i]);
                rc = EH_ERR_KEY;
                goto cleanup;
            }
            continue; /* CRT parameters are optional: cjose signs without them */
        }
        len[i] = (size_t)BN_num_bytes(bn);
        buf[i] = OPENSSL_malloc(len[i] ? len[i] : 1);
        if (!buf[i]) {
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
        BN_bn2bin(bn, buf[i]);
        BN_clear_free(bn);
        bn = NULL;
    }
    memset(&spec, 0, sizeof(spec));
    spec.n = buf[0];
    spec.nlen = len[0];
    spec.e = buf[1];
    spec.elen = len[1];
    spec.d = buf[2];
    spec.dlen = len[2];
    spec.p = buf[3];
    spec.plen = len[3];
    spec.q = buf[4];
    spec.qlen = len[4];
    spec.dp = buf[5];
    spec.dplen = len[5];
    spec.dq = buf[6];
    spec.dqlen = len[6];
    spec.qi = buf[7];
    spec.qilen = len[7];
    *out = cjose_jwk_create_RSA_spec(&spec, &cerr);
    if (!*out) {
        eh_keys_err(err, errlen, "%s: cannot build the RSA JWK: %s", path, cerr.message);
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }

cleanup:
    BN_clear_free(bn);
    for (size_t i = 0; i < EH_RSA_NPARAMS; i++) {
        if (buf[i])
            OPENSSL_clear_free(buf[i], len[i] ? len[i] : 1);
    }
    return rc;
}

eh_rc eh_jwk_thumbprint(const char *jwk_json, char **out)
{
    eh_rc rc = EH_OK;
    json_t *jwk = NULL;
    json_t *canon = NULL;
    const char *kty;
    size_t t;
    char *text = NULL;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *b64 = NULL;
    size_t b64len = 0;
    cjose_err cerr;

    if (!jwk_json || !out)
        return EH_ERR_INVALID;
    jwk = json_loads(jwk_json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(jwk)) {
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    kty = json_string_value(json_object_get(jwk, "kty"));
    if (!kty) {
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    for (t = 0; t < sizeof(eh_thumbprint_members) / sizeof(eh_thumbprint_members[0]); t++) {
        if (strcmp(eh_thumbprint_members[t].kty, kty) == 0)
            break;
    }
    if (t == sizeof(eh_thumbprint_members) / sizeof(eh_thumbprint_members[0])) {
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    canon = json_object();
    if (!canon) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t m = 0; m < 4 && eh_thumbprint_members[t].members[m]; m++) {
        const char *name = eh_thumbprint_members[t].members[m];
        json_t *value = json_object_get(jwk, name);

        if (!json_is_string(value)) {
            rc = EH_ERR_INVALID;
            goto cleanup;
        }
        if (json_object_set(canon, name, value) != 0) {
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
    }
    text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL)) {
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (!cjose_base64url_encode(md, mdlen, &b64, &b64len, &cerr)) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    *out = strndup(b64, b64len);
    if (!*out) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    if (b64)
        cjose_get_dealloc()(b64);
    free(text);
    json_decref(canon);
    json_decref(jwk);
    ERR_clear_error();
    return rc;
}

/* eh_key_public_json returns k's public JWK as a new jansson object (caller
 * owns, json_decref) with kid, use "sig" and alg added. Fails with
 * EH_ERR_INTERNAL, returning nothing, if cjose ever put a private member in
 * it. */
static eh_rc eh_key_public_json(const eh_key *k, json_t **out)
{
    eh_rc rc = EH_OK;
    char *text = NULL;
    json_t *jwk = NULL;
    cjose_err cerr;

    text = cjose_jwk_to_json(k->jwk, false, &cerr);
    if (!text) {
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(jwk)) {
        rc = EH_ERR_INTERNAL;
        goto cleanup;
    }
    for (size_t i = 0; i < sizeof(eh_jwk_private_members) / sizeof(eh_jwk_private_members[0]);
         i++) {
        if (json_object_get(jwk, eh_jwk_private_members[i])) {
            eh_log(EH_LOG_ERROR, "refusing to publish key %s: its JWK has a private member",
                   k->kid);
            rc = EH_ERR_INTERNAL;
            goto cleanup;
        }
    }
    if (json_object_set_new(jwk, "kid", json_string(k->kid)) != 0 ||
        json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
        json_object_set_new(jwk, "alg", json_string(eh_key_alg_get(k))) != 0) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    *out = jwk;
    jwk = NULL;

cleanup:
    json_decref(jwk);
    if (text)
        cjose_get_dealloc()(text);
    return rc;
}

/* eh_key_compute_kid sets k->kid to the RFC 7638 thumbprint of k's public
 * JWK, and gives the cjose key the same kid. */
static eh_rc eh_key_compute_kid(eh_key *k)
{
    eh_rc rc = EH_OK;
    char *text = NULL;
    char *kid = NULL;
    cjose_err cerr;

    text = cjose_jwk_to_json(k->jwk, false, &cerr);
    if (!text) {
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    rc = eh_jwk_thumbprint(text, &kid);
    if (rc != EH_OK)
        goto cleanup;
    if (strlen(kid) >= sizeof(k->kid)) {
        rc = EH_ERR_INTERNAL;
        goto cleanup;
    }
    strcpy(k->kid, kid);
    if (!cjose_jwk_set_kid(k->jwk, kid, strlen(kid), &cerr)) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    free(kid);
    if (text)
        cjose_get_dealloc()(text);
    return rc;
}

eh_rc eh_keyset_add_pem(eh_keyset *ks, const char *path, int active, char *err, size_t errlen)
{
    eh_rc rc = EH_OK;
    EVP_PKEY *pkey = NULL;
    eh_key *k = NULL;
    mode_t mode = 0;

    if (!ks || !path) {
        eh_keys_err(err, errlen, "no key file given");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    rc = eh_pem_read(path, &pkey, &mode, err, errlen);
    if (rc != EH_OK)
        goto cleanup;

    k = calloc(1, sizeof(*k));
    if (!k || !(k->path = strdup(path))) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    k->active = active ? 1 : 0;
    if (EVP_PKEY_is_a(pkey, "EC")) {
        k->type = EH_KEY_EC_P256;
        rc = eh_jwk_from_ec(pkey, path, &k->jwk, err, errlen);
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        k->type = EH_KEY_RSA;
        rc = eh_jwk_from_rsa(pkey, path, &k->jwk, err, errlen);
    } else {
        eh_keys_err(err, errlen,
                    "%s: %s keys are not supported; use EC P-256 (ES256) or RSA of at least "
                    "%d bits (PS256)",
                    path, EVP_PKEY_get0_type_name(pkey), EH_RSA_MIN_BITS);
        rc = EH_ERR_KEY;
    }
    if (rc != EH_OK)
        goto cleanup;

    rc = eh_key_compute_kid(k);
    if (rc != EH_OK) {
        eh_keys_err(err, errlen, "%s: cannot compute the key's thumbprint: %s", path,
                    eh_strerror(rc));
        goto cleanup;
    }
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i]->kid, k->kid) == 0) {
            eh_keys_err(err, errlen, "%s: same key as %s (kid %s)", path, ks->keys[i]->path,
                        k->kid);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
    }
    if (k->active) {
        const eh_key *current = eh_keyset_active_get(ks);
        if (current) {
            eh_keys_err(err, errlen, "%s: a second active key (%s is already active)", path,
                        current->path);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
    }

    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 4;
        eh_key **keys = realloc(ks->keys, cap * sizeof(*keys));
        if (!keys) {
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
        ks->keys = keys;
        ks->cap = cap;
    }
    ks->keys[ks->n++] = k;
    k = NULL;
    if (mode & (S_IRWXG | S_IRWXO))
        eh_log(EH_LOG_WARN,
               "key file %s is accessible to group or others (mode %04o); chmod 0600 it", path,
               (unsigned)(mode & 07777));

cleanup:
    if (rc == EH_ERR_NOMEM)
        eh_keys_err(err, errlen, "%s: out of memory", path ? path : "key");
    eh_key_free(k);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}

eh_rc eh_keyset_finish(eh_keyset *ks, char *err, size_t errlen)
{
    if (!ks || ks->n == 0) {
        eh_keys_err(err, errlen, "no signing key configured");
        return EH_ERR_KEY;
    }
    if (eh_keyset_active_get(ks))
        return EH_OK;
    if (ks->n == 1) {
        ks->keys[0]->active = 1;
        return EH_OK;
    }
    eh_keys_err(err, errlen, "%zu signing keys but none is active; mark exactly one active", ks->n);
    return EH_ERR_KEY;
}

size_t eh_keyset_count(const eh_keyset *ks)
{
    return ks ? ks->n : 0;
}

const eh_key *eh_keyset_at(const eh_keyset *ks, size_t i)
{
    if (!ks || i >= ks->n)
        return NULL;
    return ks->keys[i];
}

const eh_key *eh_keyset_active_get(const eh_keyset *ks)
{
    if (!ks)
        return NULL;
    for (size_t i = 0; i < ks->n; i++) {
        if (ks->keys[i]->active)
            return ks->keys[i];
    }
    return NULL;
}

const eh_key *eh_keyset_find_kid(const eh_keyset *ks, const char *kid)
{
    if (!ks || !kid)
        return NULL;
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i]->kid, kid) == 0)
            return ks->keys[i];
    }
    return NULL;
}

const char *eh_key_kid_get(const eh_key *k)
{
    return k->kid;
}

const char *eh_key_alg_get(const eh_key *k)
{
    return k->type == EH_KEY_RSA ? "PS256" : "ES256";
}

eh_key_type eh_key_type_get(const eh_key *k)
{
    return k->type;
}

void *eh_key_cjose_get(const eh_key *k)
{
    return k->jwk;
}

eh_rc eh_keyset_jwks_json(const eh_keyset *ks, char **out)
{
    eh_rc rc = EH_OK;
    json_t *root = NULL;
    json_t *keys = NULL;
    json_t *jwk = NULL;

    if (!ks || !out)
        return EH_ERR_INVALID;
    root = json_object();
    keys = json_array();
    if (!root || !keys || json_object_set(root, "keys", keys) != 0) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < ks->n; i++) {
        rc = eh_key_public_json(ks->keys[i], &jwk);
        if (rc != EH_OK)
            goto cleanup;
        if (json_array_append_new(keys, jwk) != 0) {
            jwk = NULL;
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
        jwk = NULL;
    }
    *out = json_dumps(root, JSON_COMPACT);
    if (!*out) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    json_decref(keys);
    json_decref(root);
    return rc;
}

/* eh_json_array_has_string tells whether the array a holds the string s. */
static int eh_json_array_has_string(const json_t *a, const char *s)
{
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (v && strcmp(v, s) == 0)
            return 1;
    }
    return 0;
}

eh_rc eh_keyset_algs_json(const eh_keyset *ks, char **out)
{
    eh_rc rc = EH_OK;
    json_t *algs = NULL;
    const eh_key *active;

    if (!ks || !out)
        return EH_ERR_INVALID;
    algs = json_array();
    if (!algs) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    active = eh_keyset_active_get(ks);
    if (active && json_array_append_new(algs, json_string(eh_key_alg_get(active))) != 0) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < ks->n; i++) {
        const char *alg = eh_key_alg_get(ks->keys[i]);
        if (eh_json_array_has_string(algs, alg))
            continue;
        if (json_array_append_new(algs, json_string(alg)) != 0) {
            rc = EH_ERR_NOMEM;
            goto cleanup;
        }
    }
    *out = json_dumps(algs, JSON_COMPACT);
    if (!*out) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    json_decref(algs);
    return rc;
}

eh_rc eh_key_generate(eh_key_type type, unsigned bits, const char *path, char *err, size_t errlen)
{
    eh_rc rc = EH_OK;
    int fd = -1;
    int created = 0;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;

    if (!path) {
        eh_keys_err(err, errlen, "no key file given");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    if (type != EH_KEY_EC_P256 && type != EH_KEY_RSA) {
        eh_keys_err(err, errlen, "%s: unknown key type %d", path, (int)type);
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    if (type == EH_KEY_RSA && (bits < EH_RSA_MIN_BITS || bits > EH_RSA_MAX_BITS)) {
        eh_keys_err(err, errlen, "%s: RSA keys must have %d to %d bits (asked for %u)", path,
                    EH_RSA_MIN_BITS, EH_RSA_MAX_BITS, bits);
        rc = EH_ERR_KEY;
        goto cleanup;
    }

    /* Create the file first: a refusal to overwrite comes before a slow keygen. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            eh_keys_err(err, errlen, "%s: already exists; refusing to overwrite it", path);
        else
            eh_keys_err(err, errlen, "%s: cannot create key file: %s", path, strerror(errno));
        rc = EH_ERR_IO;
        goto cleanup;
    }
    created = 1;
    if (fchmod(fd, 0600) != 0) {
        eh_keys_err(err, errlen, "%s: cannot set mode 0600: %s", path, strerror(errno));
        rc = EH_ERR_IO;
        goto cleanup;
    }

    if (type == EH_KEY_EC_P256)
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (!pkey) {
        eh_keys_err(err, errlen, "%s: key generation failed", path);
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }

    /* An fd BIO is unbuffered: no copy of the PEM stays in a stdio buffer. */
    bio = BIO_new_fd(fd, BIO_NOCLOSE);
    if (!bio) {
        rc = EH_ERR_NOMEM;
        eh_keys_err(err, errlen, "%s: out of memory", path);
        goto cleanup;
    }
    if (PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        BIO_flush(bio) != 1) {
        eh_keys_err(err, errlen, "%s: cannot write the key", path);
        rc = EH_ERR_IO;
        goto cleanup;
    }
    if (fsync(fd) != 0) {
        eh_keys_err(err, errlen, "%s: cannot write the key: %s", path, strerror(errno));
        rc = EH_ERR_IO;
        goto cleanup;
    }
    if (close(fd) != 0) {
        fd = -1;
        eh_keys_err(err, errlen, "%s: cannot write the key: %s", path, strerror(errno));
        rc = EH_ERR_IO;
        goto cleanup;
    }
    fd = -1;

cleanup:
    BIO_free(bio);
    if (fd >= 0)
        close(fd);
    if (rc != EH_OK && created)
        unlink(path);
    EVP_PKEY_free(pkey);
    ERR_clear_error();
    return rc;
}
