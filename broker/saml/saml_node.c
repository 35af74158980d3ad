/* eidhub: this broker as an eIDAS node (see saml_node.h). */
#include "broker/saml/saml_node.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/file.h"
#include "broker/json_check.h"

#define PEM_MAX (64 * 1024)

static const char *const SIG_NAMES[] = {"ecdsa-sha256",   "ecdsa-sha384",   "ecdsa-sha512",
                                        "rsa-pss-sha256", "rsa-pss-sha384", "rsa-pss-sha512"};
static const char *const ENC_NAMES[] = {"aes128-gcm", "aes192-gcm", "aes256-gcm"};

const char *eh_saml_sig_alg_name(eh_saml_sig_alg a)
{
    return (unsigned)a < sizeof(SIG_NAMES) / sizeof(SIG_NAMES[0]) ? SIG_NAMES[a] : "unknown";
}

int eh_saml_sig_alg_parse(const char *name)
{
    for (size_t i = 0; name && i < sizeof(SIG_NAMES) / sizeof(SIG_NAMES[0]); i++)
        if (strcmp(SIG_NAMES[i], name) == 0)
            return (int)i;
    return -1;
}

void eh_saml_node_free(eh_saml_node *n)
{
    if (n == NULL)
        return;
    free(n->country);
    eh_saml_keys_free(n->signer);
    free(n->signing_cert_pem);
    eh_saml_keys_free(n->decrypter);
    free(n->encryption_cert_pem);
    free(n->organization);
    free(n->connector_entity_id);
    free(n->connector_acs);
    free(n->proxy_entity_id);
    free(n->proxy_sso);
    free(n);
}

/* read_member reads the file named by member name (resolved against the
 * configuration's folder) into *text. */
static eh_rc read_member(eh_check *v, const json_t *s, const char *name, char **text)
{
    char path[64], *file = NULL, *abs = NULL;
    eh_rc rc;

    snprintf(path, sizeof(path), "$.saml.%s", name);
    rc = eh_check_string(v, s, "$.saml", name, 1, &file);
    if (rc != EH_OK)
        return rc;
    rc = eh_check_resolve(v->file, file, &abs);
    if (rc == EH_OK && eh_file_read(abs, PEM_MAX, text, NULL) != EH_OK)
        rc = eh_check_fail(v, path, "cannot read the file");
    free(file);
    free(abs);
    return rc;
}

/* key_type returns the EVP type of the private key in pem (0: none), and
 * whether cert_pem certifies it (*matches). */
static int key_type(const char *pem, const char *cert_pem, int *matches)
{
    BIO *kb = BIO_new_mem_buf(pem, -1), *cb = BIO_new_mem_buf(cert_pem, -1);
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, (void *)"") : NULL;
    X509 *c = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    int type = k ? EVP_PKEY_base_id(k) : 0;

    *matches = k != NULL && c != NULL && X509_check_private_key(c, k) == 1;
    EVP_PKEY_free(k);
    X509_free(c);
    BIO_free(kb);
    BIO_free(cb);
    return type;
}

/* load_pair loads a private key and its certificate (members key_name,
 * cert_name) into a new key set; returns the key's EVP type in *type. */
static eh_rc load_pair(eh_check *v, const json_t *s, const char *key_name, const char *cert_name,
                       eh_saml_keys **keys, char **cert_pem, int *type)
{
    char *pem = NULL, why[256], path[64];
    int matches = 0;
    eh_rc rc = read_member(v, s, key_name, &pem);

    if (rc == EH_OK)
        rc = read_member(v, s, cert_name, cert_pem);
    if (rc != EH_OK)
        goto cleanup;
    snprintf(path, sizeof(path), "$.saml.%s", key_name);
    *type = key_type(pem, *cert_pem, &matches);
    if (*type == 0) {
        rc = eh_check_fail(v, path, "not a PEM private key (an encrypted key is refused)");
        goto cleanup;
    }
    if (!matches) {
        snprintf(path, sizeof(path), "$.saml.%s", cert_name);
        rc = eh_check_fail(v, path, "not a PEM certificate of the key in %s", key_name);
        goto cleanup;
    }
    *keys = eh_saml_keys_new();
    if (*keys == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if (eh_saml_keys_add_pem(*keys, pem, strlen(pem), why, sizeof(why)) != EH_OK)
        rc = eh_check_fail(v, path, "%s", why);
cleanup:
    if (pem != NULL)
        OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
    return rc;
}

/* join returns a + b (caller frees). */
static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s != NULL) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

static eh_rc load_algorithms(eh_check *v, const json_t *s, int sign_type, eh_saml_node *n)
{
    char *sig = NULL, *enc = NULL;
    int is_ec = sign_type == EVP_PKEY_EC;
    eh_rc rc = eh_check_string(v, s, "$.saml", "signature_algorithm", 0, &sig);

    if (rc == EH_OK)
        rc = eh_check_string(v, s, "$.saml", "encryption_algorithm", 0, &enc);
    if (rc != EH_OK)
        goto cleanup;
    n->sig_alg = is_ec ? EH_SAML_SIG_ECDSA_SHA256 : EH_SAML_SIG_RSA_PSS_SHA512;
    if (sig != NULL) {
        int a = eh_saml_sig_alg_parse(sig);
        if (a < 0) {
            rc = eh_check_fail(v, "$.saml.signature_algorithm",
                               "must be ecdsa-sha256/384/512 or rsa-pss-sha256/384/512");
            goto cleanup;
        }
        n->sig_alg = (eh_saml_sig_alg)a;
        if ((a <= EH_SAML_SIG_ECDSA_SHA512) != is_ec) {
            rc = eh_check_fail(v, "$.saml.signature_algorithm", "does not fit the signing key (%s)",
                               is_ec ? "EC: ecdsa-*" : "RSA: rsa-pss-*");
            goto cleanup;
        }
    }
    n->enc_alg = EH_SAML_ENC_AES256_GCM;
    if (enc != NULL) {
        size_t i = 0;
        while (i < 3 && strcmp(enc, ENC_NAMES[i]) != 0)
            i++;
        if (i == 3) {
            rc = eh_check_fail(v, "$.saml.encryption_algorithm",
                               "must be aes128-gcm, aes192-gcm or aes256-gcm");
            goto cleanup;
        }
        n->enc_alg = (eh_saml_enc_alg)i;
    }
cleanup:
    free(sig);
    free(enc);
    return rc;
}

eh_rc eh_saml_node_load(const json_t *settings, const char *file, const char *issuer,
                        eh_saml_node **out, char *err, size_t errlen)
{
    static const char *const allowed[] = {
        "country", "signing_key_file", "signing_cert_file", "encryption_key_file",
        "encryption_cert_file", "signature_algorithm", "encryption_algorithm",
        "metadata_valid_hours", "metadata_refresh_seconds", "clock_skew_seconds",
        "assertion_valid_seconds", "request_timeout_ms", "organization", NULL};
    eh_check v = {file, err, errlen};
    eh_saml_node *n = calloc(1, sizeof(*n));
    unsigned hours = 24;
    int sign_type = 0, enc_type = 0;
    eh_rc rc = EH_ERR_NOMEM;

    if (n == NULL)
        goto cleanup;
    if (eh_saml_init() != EH_OK) {
        rc = eh_check_fail(&v, "$.saml", "cannot initialise xmlsec");
        goto cleanup;
    }
    if (!json_is_object(settings)) {
        rc = eh_check_fail(&v, "$.saml", "must be an object");
        goto cleanup;
    }
    n->refresh_s = 3600;
    n->skew_s = 60;
    n->assertion_valid_s = 300;
    n->request_timeout_ms = 5000;
    if ((rc = eh_check_members(&v, settings, "$.saml", allowed)) != EH_OK ||
        (rc = eh_check_string(&v, settings, "$.saml", "country", 1, &n->country)) != EH_OK ||
        (rc = eh_check_string(&v, settings, "$.saml", "organization", 0, &n->organization)) !=
            EH_OK ||
        (rc = eh_check_uint(&v, settings, "$.saml", "metadata_valid_hours", 1, 720, &hours)) !=
            EH_OK ||
        (rc = eh_check_uint(&v, settings, "$.saml", "metadata_refresh_seconds", 10, 86400,
                            &n->refresh_s)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, "$.saml", "clock_skew_seconds", 0, 600, &n->skew_s)) !=
            EH_OK ||
        (rc = eh_check_uint(&v, settings, "$.saml", "assertion_valid_seconds", 30, 3600,
                            &n->assertion_valid_s)) != EH_OK ||
        (rc = eh_check_uint(&v, settings, "$.saml", "request_timeout_ms", 100, 60000,
                            &n->request_timeout_ms)) != EH_OK)
        goto cleanup;
    n->metadata_valid_s = hours * 3600u;
    if (strlen(n->country) != 2 || n->country[0] < 'A' || n->country[0] > 'Z' ||
        n->country[1] < 'A' || n->country[1] > 'Z') {
        rc = eh_check_fail(&v, "$.saml.country", "must be an ISO 3166-1 alpha-2 code, e.g. \"EE\"");
        goto cleanup;
    }
    if ((rc = load_pair(&v, settings, "signing_key_file", "signing_cert_file", &n->signer,
                        &n->signing_cert_pem, &sign_type)) != EH_OK ||
        (rc = load_pair(&v, settings, "encryption_key_file", "encryption_cert_file",
                        &n->decrypter, &n->encryption_cert_pem, &enc_type)) != EH_OK)
        goto cleanup;
    if (enc_type != EVP_PKEY_RSA) {
        rc = eh_check_fail(&v, "$.saml.encryption_key_file",
                           "must be an RSA key (RSA-OAEP key transport)");
        goto cleanup;
    }
    if ((rc = load_algorithms(&v, settings, sign_type, n)) != EH_OK)
        goto cleanup;
    n->connector_entity_id = join(issuer, EH_SAML_CONNECTOR_METADATA_PATH);
    n->connector_acs = join(issuer, EH_SAML_CONNECTOR_ACS_PATH);
    n->proxy_entity_id = join(issuer, EH_SAML_PROXY_METADATA_PATH);
    n->proxy_sso = join(issuer, EH_SAML_PROXY_SSO_PATH);
    rc = EH_ERR_NOMEM;
    if (!n->connector_entity_id || !n->connector_acs || !n->proxy_entity_id || !n->proxy_sso)
        goto cleanup;
    *out = n;
    n = NULL;
    rc = EH_OK;
cleanup:
    eh_saml_node_free(n);
    return rc;
}
