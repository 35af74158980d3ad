#include "broker/backends/sk_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "attributes/ee_personal_code.h"

/* Base64 texts longer than these are refused before decoding. An SK
 * certificate is about 2 KiB of DER; an RSA 8192 signature is 1368
 * characters of base64. */
#define EH_SK_CERT_B64_MAX (16 * 1024)
#define EH_SK_SIG_B64_MAX 2048
/* The shortest keys accepted. */
#define EH_SK_RSA_MIN_BITS 2048
#define EH_SK_EC_MIN_BITS 256
/* The longest personal code taken from a semantics identifier. */
#define EH_SK_CODE_MAX 32
/* "PNO" + 2-letter country + "-". */
#define EH_SK_SEMANTICS_PREFIX_LEN 6
/* Room for country + code, TARA style. */
#define EH_SK_SUBJECT_MAX (2 + EH_SK_CODE_MAX + 1)

struct eh_sk_trust {
    X509_STORE *store; /* every certificate in it is a trust anchor */
};

/* eh_sk_free_wiped wipes the string p and frees it (NULL is fine). */
static void eh_sk_free_wiped(char *p)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, strlen(p));
    free(p);
}

/* eh_sk_no_passphrase is the PEM passphrase callback: a CA file never needs
 * one, and OpenSSL's default callback would prompt on a terminal. */
static int eh_sk_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* eh_sk_trust_load adds every certificate in the PEM file at path to store.
 * Refuses (EH_ERR_KEY, a line naming the file in err) a file that cannot be
 * opened or is not a regular file, that holds no certificate, a block that
 * does not parse, and a certificate that is not a CA. */
static eh_rc eh_sk_trust_load(X509_STORE *store, const char *path, char *err, size_t errlen)
{
    eh_rc rc = EH_OK;
    FILE *fp = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;
    struct stat st;
    size_t count = 0;

    fp = fopen(path, "re");
    if (!fp) {
        eh_why(err, errlen, "%s: cannot open CA file: %s", path, strerror(errno));
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        eh_why(err, errlen, "%s: not a regular file", path);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    bio = BIO_new_fp(fp, BIO_NOCLOSE);
    if (!bio) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (;;) {
        unsigned long e;

        ERR_clear_error();
        x = PEM_read_bio_X509(bio, NULL, eh_sk_no_passphrase, NULL);
        if (!x) {
            e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
                if (count > 0)
                    break; /* the end of the file */
                eh_why(err, errlen, "%s: no PEM certificate found", path);
            } else {
                eh_why(err, errlen, "%s: certificate %zu does not parse", path, count + 1);
            }
            rc = EH_ERR_KEY;
            goto cleanup;
        }
        count++;
        if (X509_check_ca(x) == 0) {
            eh_why(err, errlen, "%s: certificate %zu is not a CA certificate", path, count);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
        if (X509_STORE_add_cert(store, x) != 1) {
            eh_why(err, errlen, "%s: cannot add certificate %zu", path, count);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
        X509_free(x);
        x = NULL;
    }

cleanup:
    X509_free(x);
    BIO_free(bio);
    if (fp)
        fclose(fp);
    ERR_clear_error();
    return rc;
}

eh_rc eh_sk_trust_new(const char *const *ca_files, size_t n, eh_sk_trust **out, char *err,
                      size_t errlen)
{
    eh_rc rc = EH_OK;
    eh_sk_trust *trust = NULL;

    if (!out || !ca_files || n == 0) {
        eh_why(err, errlen, "no CA certificate file given");
        return EH_ERR_INVALID;
    }
    trust = calloc(1, sizeof(*trust));
    if (!trust) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    trust->store = X509_STORE_new();
    if (!trust->store || X509_STORE_set_flags(trust->store, X509_V_FLAG_PARTIAL_CHAIN) != 1) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ca_files[i]) {
            eh_why(err, errlen, "CA certificate file %zu has no name", i + 1);
            rc = EH_ERR_INVALID;
            goto cleanup;
        }
        rc = eh_sk_trust_load(trust->store, ca_files[i], err, errlen);
        if (rc != EH_OK)
            goto cleanup;
    }
    *out = trust;
    trust = NULL;

cleanup:
    eh_sk_trust_free(trust);
    return rc;
}

void eh_sk_trust_free(eh_sk_trust *trust)
{
    if (!trust)
        return;
    X509_STORE_free(trust->store);
    free(trust);
}

X509_STORE *eh_sk_trust_store_get(const eh_sk_trust *trust)
{
    return trust ? trust->store : NULL;
}

void eh_sk_subject_free(eh_sk_subject *s)
{
    if (!s)
        return;
    eh_sk_free_wiped(s->given_name);
    eh_sk_free_wiped(s->surname);
    eh_sk_free_wiped(s->country);
    eh_sk_free_wiped(s->id_type);
    eh_sk_free_wiped(s->personal_code);
    X509_free(s->certificate);
    memset(s, 0, sizeof(*s));
}

/* eh_sk_md_for_len returns the digest whose output is len bytes long
 * (SHA-256/384/512), or NULL. */
static const EVP_MD *eh_sk_md_for_len(size_t len)
{
    switch (len) {
    case 32:
        return EVP_sha256();
    case 48:
        return EVP_sha384();
    case 64:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* eh_sk_b64_decode decodes the standard base64 text (with padding, at most
 * max characters, what names it in why) into *out, *outlen bytes (caller
 * owns, cjose_get_dealloc()). cjose stops at the first '=' and ignores
 * anything after it, so text with anything but '=' after its first '=' is
 * refused here first. */
static eh_rc eh_sk_b64_decode(const char *text, size_t max, const char *what, uint8_t **out,
                              size_t *outlen, char *why, size_t whylen)
{
    size_t len = strnlen(text, max + 1);
    const char *eq;
    cjose_err cerr;

    if (len > max) {
        eh_why(why, whylen, "%s is too large", what);
        return EH_ERR_TOO_LARGE;
    }
    if (len == 0) {
        eh_why(why, whylen, "%s is empty", what);
        return EH_ERR_INVALID;
    }
    eq = memchr(text, '=', len);
    if (eq && (strspn(eq, "=") != (size_t)(text + len - eq) || text + len - eq > 2)) {
        eh_why(why, whylen, "%s is not valid base64", what);
        return EH_ERR_INVALID;
    }
    if (!cjose_base64_decode(text, len, out, outlen, &cerr)) {
        if (cerr.code == CJOSE_ERR_NO_MEMORY)
            return EH_ERR_NOMEM;
        eh_why(why, whylen, "%s is not valid base64", what);
        return EH_ERR_INVALID;
    }
    if (*outlen == 0) {
        cjose_get_dealloc()(*out);
        *out = NULL;
        eh_why(why, whylen, "%s is empty", what);
        return EH_ERR_INVALID;
    }
    return EH_OK;
}

/* eh_sk_check_chain verifies that cert chains to a trust anchor in trust
 * and that every certificate on the way is valid at now. */
static eh_rc eh_sk_check_chain(const eh_sk_trust *trust, X509 *cert, int64_t now, char *why,
                               size_t whylen)
{
    eh_rc rc = EH_OK;
    X509_STORE_CTX *ctx = NULL;
    X509_VERIFY_PARAM *param;
    int verr;

    ctx = X509_STORE_CTX_new();
    if (!ctx) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if (X509_STORE_CTX_init(ctx, trust->store, cert, NULL) != 1) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, (time_t)now);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (X509_verify_cert(ctx) == 1)
        goto cleanup;

    rc = EH_ERR_KEY;
    verr = X509_STORE_CTX_get_error(ctx);
    switch (verr) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        eh_why(why, whylen, "%s has expired",
               X509_STORE_CTX_get_error_depth(ctx) == 0 ? "certificate" : "issuing CA");
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        eh_why(why, whylen, "%s is not yet valid",
               X509_STORE_CTX_get_error_depth(ctx) == 0 ? "certificate" : "issuing CA");
        break;
    default:
        eh_why(why, whylen, "certificate is not issued by a trusted CA (%s)",
               X509_verify_cert_error_string(verr));
        break;
    }

cleanup:
    X509_STORE_CTX_free(ctx);
    return rc;
}

/* eh_sk_check_usage refuses a certificate whose keyUsage is missing or does
 * not allow digitalSignature (a signing certificate has nonRepudiation
 * only). */
static eh_rc eh_sk_check_usage(X509 *cert, char *why, size_t whylen)
{
    if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE)) {
        eh_why(why, whylen, "certificate has no keyUsage");
        return EH_ERR_KEY;
    }
    if (!(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE)) {
        eh_why(why, whylen,
               "certificate is not for digitalSignature (not an "
               "authentication certificate)");
        return EH_ERR_KEY;
    }
    return EH_OK;
}

/* eh_sk_ec_der converts a raw ECDSA signature r||s (two halves of n bytes
 * each) into its DER ECDSA-Sig-Value in *out, *outlen bytes (caller owns,
 * OPENSSL_free). */
static eh_rc eh_sk_ec_der(const uint8_t *raw, size_t n, unsigned char **out, int *outlen)
{
    eh_rc rc = EH_OK;
    BIGNUM *r = NULL;
    BIGNUM *s = NULL;
    ECDSA_SIG *sig = NULL;

    r = BN_bin2bn(raw, (int)n, NULL);
    s = BN_bin2bn(raw + n, (int)n, NULL);
    sig = ECDSA_SIG_new();
    if (!r || !s || !sig) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if (ECDSA_SIG_set0(sig, r, s) != 1) {
        rc = EH_ERR_INTERNAL;
        goto cleanup;
    }
    r = NULL; /* sig owns them now */
    s = NULL;
    *out = NULL;
    *outlen = i2d_ECDSA_SIG(sig, out);
    if (*outlen <= 0) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return rc;
}

/* eh_sk_check_signature verifies sig (sig_len bytes, as SK sends it) over
 * exactly hash (hash_len bytes, the output of md) with pkey: RSA PKCS#1
 * v1.5, OpenSSL building DigestInfo(md) || hash; or ECDSA from raw r||s. */
static eh_rc eh_sk_check_signature(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *hash,
                                   size_t hash_len, const uint8_t *sig, size_t sig_len, char *why,
                                   size_t whylen)
{
    eh_rc rc = EH_OK;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *der = NULL;
    int der_len = 0;
    const unsigned char *value = sig;
    size_t value_len = sig_len;
    int bits = EVP_PKEY_get_bits(pkey);
    int id = EVP_PKEY_get_base_id(pkey);

    if (id == EVP_PKEY_RSA) {
        if (bits < EH_SK_RSA_MIN_BITS) {
            eh_why(why, whylen, "certificate's RSA key of %d bits is shorter than %d bits", bits,
                   EH_SK_RSA_MIN_BITS);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
    } else if (id == EVP_PKEY_EC) {
        size_t n = ((size_t)bits + 7) / 8;

        if (bits < EH_SK_EC_MIN_BITS) {
            eh_why(why, whylen, "certificate's EC key of %d bits is shorter than %d bits", bits,
                   EH_SK_EC_MIN_BITS);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
        if (sig_len != 2 * n) {
            eh_why(why, whylen, "signature has the wrong length for the certificate's key");
            rc = EH_ERR_CRYPTO;
            goto cleanup;
        }
        rc = eh_sk_ec_der(sig, n, &der, &der_len);
        if (rc != EH_OK)
            goto cleanup;
        value = der;
        value_len = (size_t)der_len;
    } else {
        eh_why(why, whylen, "certificate's key type is not supported (RSA or EC expected)");
        rc = EH_ERR_KEY;
        goto cleanup;
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!ctx) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if (EVP_PKEY_verify_init(ctx) != 1 ||
        (id == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
        eh_why(why, whylen, "cannot set up signature verification");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }
    if (EVP_PKEY_verify(ctx, value, value_len, hash, hash_len) != 1) {
        eh_why(why, whylen, "signature does not verify over the hash sent");
        rc = EH_ERR_CRYPTO;
        goto cleanup;
    }

cleanup:
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    return rc;
}

/* eh_sk_name_entry copies the one subject entry of type nid (what names it
 * in why) into *out as UTF-8 (caller owns, free). An absent entry is
 * EH_ERR_KEY when required, else *out stays NULL. Refuses an entry that
 * occurs twice, is empty, does not convert to UTF-8 or holds control
 * characters (a NUL included). */
static eh_rc eh_sk_name_entry(X509_NAME *name, int nid, int required, const char *what, char **out,
                              char *why, size_t whylen)
{
    eh_rc rc = EH_OK;
    unsigned char *utf8 = NULL;
    int len = 0;
    int idx;

    *out = NULL;
    idx = X509_NAME_get_index_by_NID(name, nid, -1);
    if (idx < 0) {
        if (required) {
            eh_why(why, whylen, "certificate subject has no %s", what);
            rc = EH_ERR_KEY;
        }
        goto cleanup;
    }
    if (X509_NAME_get_index_by_NID(name, nid, idx) >= 0) {
        eh_why(why, whylen, "certificate subject has more than one %s", what);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
    if (len < 0) {
        eh_why(why, whylen, "certificate subject %s is not text", what);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    if (len == 0) {
        eh_why(why, whylen, "certificate subject %s is empty", what);
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    for (int i = 0; i < len; i++) {
        if (utf8[i] < 0x20 || utf8[i] == 0x7f) {
            eh_why(why, whylen, "certificate subject %s holds control characters", what);
            rc = EH_ERR_KEY;
            goto cleanup;
        }
    }
    *out = strndup((const char *)utf8, (size_t)len);
    if (!*out)
        rc = EH_ERR_NOMEM;

cleanup:
    if (utf8) {
        OPENSSL_cleanse(utf8, (size_t)len);
        OPENSSL_free(utf8);
    }
    return rc;
}

/* eh_sk_is_upper2 tells whether s is exactly two ASCII capital letters. */
static int eh_sk_is_upper2(const char *s)
{
    return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '\0';
}

/* eh_sk_parse_serial splits the ETSI EN 319 412-1 semantics identifier
 * serial ("PNO" + country + "-" + code) into *country and *code (caller
 * owns both, free). Other types (IDC: an identity card number, PAS: a
 * passport number, TIN ...) do not name a person for life and are
 * refused, as is a code over EH_SK_CODE_MAX characters or with characters
 * other than ASCII letters, digits and '-'. */
static eh_rc eh_sk_parse_serial(const char *serial, char **country, char **code, char *why,
                                size_t whylen)
{
    const char *id = serial + EH_SK_SEMANTICS_PREFIX_LEN;
    size_t len;

    *country = NULL;
    *code = NULL;
    if (strlen(serial) <= EH_SK_SEMANTICS_PREFIX_LEN || strncmp(serial, "PNO", 3) != 0 ||
        serial[3] < 'A' || serial[3] > 'Z' || serial[4] < 'A' || serial[4] > 'Z' ||
        serial[5] != '-') {
        eh_why(why, whylen, "certificate serialNumber is not a PNO semantics identifier");
        return EH_ERR_KEY;
    }
    len = strlen(id);
    if (len > EH_SK_CODE_MAX ||
        strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != len) {
        eh_why(why, whylen, "certificate serialNumber holds an unexpected personal code");
        return EH_ERR_KEY;
    }
    *country = strndup(serial + 3, 2);
    *code = strdup(id);
    if (!*country || !*code) {
        free(*country);
        eh_sk_free_wiped(*code);
        *country = NULL;
        *code = NULL;
        return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* eh_sk_read_subject fills *s from cert's subject (see eh_sk_subject). On
 * failure *s may hold some strings: the caller frees it either way. */
static eh_rc eh_sk_read_subject(X509 *cert, eh_sk_subject *s, char *why, size_t whylen)
{
    eh_rc rc = EH_OK;
    X509_NAME *name = X509_get_subject_name(cert);
    char *serial = NULL;
    char *c = NULL;

    rc = eh_sk_name_entry(name, NID_serialNumber, 1, "serialNumber", &serial, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_name_entry(name, NID_countryName, 1, "countryName", &c, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_name_entry(name, NID_givenName, 0, "givenName", &s->given_name, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_name_entry(name, NID_surname, 0, "surname", &s->surname, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_parse_serial(serial, &s->country, &s->personal_code, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    if (!eh_sk_is_upper2(c) || strcmp(c, s->country) != 0) {
        eh_why(why, whylen, "certificate countryName does not match its serialNumber");
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    s->id_type = strdup("PNO");
    if (!s->id_type) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }

cleanup:
    eh_sk_free_wiped(serial);
    free(c);
    return rc;
}

eh_rc eh_sk_verify(const eh_sk_trust *trust, const unsigned char *hash, size_t hash_len,
                   const char *signature_b64, const char *cert_b64, int64_t now,
                   eh_sk_subject *subject, char *why, size_t whylen)
{
    eh_rc rc = EH_OK;
    const EVP_MD *md;
    uint8_t *sig = NULL;
    size_t sig_len = 0;
    uint8_t *der = NULL;
    size_t der_len = 0;
    const unsigned char *p;
    X509 *cert = NULL;
    EVP_PKEY *pkey;
    eh_sk_subject got;

    memset(&got, 0, sizeof(got));
    eh_why(why, whylen, "%s", "");
    if (subject)
        memset(subject, 0, sizeof(*subject));
    if (!trust || !hash || !signature_b64 || !cert_b64 || !subject) {
        eh_why(why, whylen, "missing argument");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    md = eh_sk_md_for_len(hash_len);
    if (!md) {
        eh_why(why, whylen, "hash must be 32, 48 or 64 bytes long");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    if (now < 0) {
        eh_why(why, whylen, "time before the epoch");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    rc = eh_sk_b64_decode(signature_b64, EH_SK_SIG_B64_MAX, "signature", &sig, &sig_len, why,
                          whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_b64_decode(cert_b64, EH_SK_CERT_B64_MAX, "certificate", &der, &der_len, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    p = der;
    cert = d2i_X509(NULL, &p, (long)der_len);
    if (!cert || p != der + der_len) {
        eh_why(why, whylen, "certificate is not a DER X.509 certificate");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }

    rc = eh_sk_check_chain(trust, cert, now, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_check_usage(cert, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    pkey = X509_get0_pubkey(cert);
    if (!pkey) {
        eh_why(why, whylen, "certificate's public key cannot be read");
        rc = EH_ERR_KEY;
        goto cleanup;
    }
    rc = eh_sk_check_signature(pkey, md, hash, hash_len, sig, sig_len, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    /* Only a verified answer's subject is read. */
    rc = eh_sk_read_subject(cert, &got, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    got.certificate = cert; /* the subject's now */
    cert = NULL;
    *subject = got;
    memset(&got, 0, sizeof(got));

cleanup:
    eh_sk_subject_free(&got);
    X509_free(cert);
    if (der) {
        OPENSSL_cleanse(der, der_len); /* it holds names and a personal code */
        cjose_get_dealloc()(der);
    }
    if (sig)
        cjose_get_dealloc()(sig);
    ERR_clear_error();
    return rc;
}

/* eh_sk_set_string sets the attribute name of id to a copy of value;
 * value NULL sets nothing. */
static eh_rc eh_sk_set_string(eh_identity *id, const char *name, const char *value)
{
    json_t *v;

    if (!value)
        return EH_OK;
    v = json_string(value);
    if (!v)
        return EH_ERR_INVALID; /* not UTF-8, or no memory */
    if (json_object_set_new(id->attributes, name, v) != 0)
        return EH_ERR_NOMEM;
    return EH_OK;
}

eh_rc eh_sk_subject_to_identity(const eh_sk_subject *s, const char *method, eh_loa loa,
                                int64_t auth_time, eh_identity **out)
{
    eh_rc rc = EH_OK;
    eh_identity *id = NULL;
    char subject[EH_SK_SUBJECT_MAX];
    char birth[EH_EE_BIRTH_DATE_SIZE];

    subject[0] = '\0';
    if (!s || !s->country || !s->id_type || !s->personal_code || !method || !out)
        return EH_ERR_INVALID;
    rc = eh_identity_new(&id);
    if (rc != EH_OK)
        goto cleanup;
    id->country = strdup(s->country);
    id->id_type = strdup(s->id_type);
    id->id_value = strdup(s->personal_code);
    id->method = strdup(method);
    if (!id->country || !id->id_type || !id->id_value || !id->method) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    id->loa = loa;
    id->auth_time = auth_time;

    rc = eh_sk_set_string(id, "given_name", s->given_name);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_set_string(id, "family_name", s->surname);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_identity_subject(id, subject, sizeof(subject));
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_set_string(id, "person_identifier", subject);
    if (rc != EH_OK)
        goto cleanup;
    if (strcmp(s->country, "EE") == 0 &&
        eh_ee_personal_code_birth_date(s->personal_code, birth) == EH_OK) {
        rc = eh_sk_set_string(id, "date_of_birth", birth);
        if (rc != EH_OK)
            goto cleanup;
        rc = eh_sk_set_string(id, "gender", eh_ee_personal_code_gender(s->personal_code));
        if (rc != EH_OK)
            goto cleanup;
    }
    *out = id;
    id = NULL;

cleanup:
    OPENSSL_cleanse(subject, sizeof(subject));
    OPENSSL_cleanse(birth, sizeof(birth));
    eh_identity_free(id);
    return rc;
}

eh_rc eh_mid_verification_code(const unsigned char *hash, size_t len, char out[5])
{
    unsigned code;

    if (!out)
        return EH_ERR_INVALID;
    out[0] = '\0';
    if (!hash || len == 0)
        return EH_ERR_INVALID;
    code = ((unsigned)(hash[0] & 0xFC) << 5) | (hash[len - 1] & 0x7F); /* at most 8191 */
    snprintf(out, 5, "%04u", code % 10000);
    return EH_OK;
}

eh_rc eh_sid_verification_code(const unsigned char *hash, size_t len, char out[5])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned code;

    if (!out)
        return EH_ERR_INVALID;
    out[0] = '\0';
    if (!hash || len == 0)
        return EH_ERR_INVALID;
    if (!EVP_Digest(hash, len, md, &md_len, EVP_sha256(), NULL) || md_len < 2) {
        ERR_clear_error();
        return EH_ERR_CRYPTO;
    }
    code = ((unsigned)md[md_len - 2] << 8) | md[md_len - 1];
    snprintf(out, 5, "%04u", code % 10000);
    return EH_OK;
}
