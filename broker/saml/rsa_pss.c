/* eidhub: RSASSA-PSS signature transforms for xmlsec (OpenSSL EVP).
 *
 * xmlsec 1.2.37 has no RSA-PSS. This file defines our own transform class
 * for the three algorithm URIs of RFC 9231 (xmldsig-more):
 *   http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1 (and sha384, sha512)
 * with MGF1 using the same digest and a salt as long as the digest, as the
 * eIDAS cryptographic requirements and the EU eIDAS-Node use. Keys must be
 * RSA of at least EH_SAML_RSA_MIN_BITS bits. Signing and verifying stream
 * the canonical SignedInfo through EVP_DigestSign / EVP_DigestVerify. */
#include "broker/saml/saml_crypto_internal.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/keys.h>
#include <xmlsec/transforms.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>

/* Per-transform state, stored right after the xmlSecTransform struct. */
typedef struct pss_state {
    const EVP_MD *md; /* the digest of this class */
    EVP_PKEY *pkey;   /* our reference to the key */
    EVP_MD_CTX *mctx; /* created on first data */
    int failed;       /* an OpenSSL call failed mid-stream */
} pss_state;

#define PSS_OBJ_SIZE (sizeof(xmlSecTransform) + sizeof(pss_state))

static pss_state *pss_of(xmlSecTransformPtr t)
{
    return (pss_state *)(((unsigned char *)t) + sizeof(xmlSecTransform));
}

static int pss_initialize(xmlSecTransformPtr t);
static void pss_finalize(xmlSecTransformPtr t);
static int pss_set_key_req(xmlSecTransformPtr t, xmlSecKeyReqPtr req);
static int pss_set_key(xmlSecTransformPtr t, xmlSecKeyPtr key);
static int pss_verify(xmlSecTransformPtr t, const xmlSecByte *data, xmlSecSize n,
                      xmlSecTransformCtxPtr ctx);
static int pss_execute(xmlSecTransformPtr t, int last, xmlSecTransformCtxPtr ctx);

#define PSS_KLASS(var, nm, uri)                                                         \
    static xmlSecTransformKlass var = {                                                 \
        sizeof(xmlSecTransformKlass), PSS_OBJ_SIZE, BAD_CAST(nm), BAD_CAST(uri),        \
        xmlSecTransformUsageSignatureMethod, pss_initialize, pss_finalize, NULL, NULL,  \
        pss_set_key_req, pss_set_key, pss_verify, xmlSecTransformDefaultGetDataType,    \
        xmlSecTransformDefaultPushBin, xmlSecTransformDefaultPopBin, NULL, NULL,        \
        pss_execute, NULL, NULL}

PSS_KLASS(pss256_klass, "eh-rsa-pss-sha256", EH_SAML_ALG_RSA_PSS_SHA256);
PSS_KLASS(pss384_klass, "eh-rsa-pss-sha384", EH_SAML_ALG_RSA_PSS_SHA384);
PSS_KLASS(pss512_klass, "eh-rsa-pss-sha512", EH_SAML_ALG_RSA_PSS_SHA512);

xmlSecTransformId eh_saml_rsa_pss_sha256_id(void) { return &pss256_klass; }
xmlSecTransformId eh_saml_rsa_pss_sha384_id(void) { return &pss384_klass; }
xmlSecTransformId eh_saml_rsa_pss_sha512_id(void) { return &pss512_klass; }

static int is_pss(xmlSecTransformPtr t)
{
    return t != NULL &&
           (t->id == &pss256_klass || t->id == &pss384_klass || t->id == &pss512_klass) &&
           xmlSecTransformCheckSize(t, PSS_OBJ_SIZE);
}

static int pss_initialize(xmlSecTransformPtr t)
{
    if (!is_pss(t))
        return -1;
    pss_state *s = pss_of(t);
    memset(s, 0, sizeof(*s));
    if (t->id == &pss256_klass)
        s->md = EVP_sha256();
    else if (t->id == &pss384_klass)
        s->md = EVP_sha384();
    else
        s->md = EVP_sha512();
    return 0;
}

static void pss_finalize(xmlSecTransformPtr t)
{
    if (!is_pss(t))
        return;
    pss_state *s = pss_of(t);
    EVP_MD_CTX_free(s->mctx);
    EVP_PKEY_free(s->pkey);
    memset(s, 0, sizeof(*s));
}

static int pss_set_key_req(xmlSecTransformPtr t, xmlSecKeyReqPtr req)
{
    if (!is_pss(t) || req == NULL)
        return -1;
    req->keyId = xmlSecOpenSSLKeyDataRsaId;
    if (t->operation == xmlSecTransformOperationSign) {
        req->keyType = xmlSecKeyDataTypePrivate;
        req->keyUsage = xmlSecKeyUsageSign;
    } else {
        req->keyType = xmlSecKeyDataTypePublic;
        req->keyUsage = xmlSecKeyUsageVerify;
    }
    return 0;
}

static int pss_set_key(xmlSecTransformPtr t, xmlSecKeyPtr key)
{
    if (!is_pss(t) || key == NULL)
        return -1;
    xmlSecKeyDataPtr v = xmlSecKeyGetValue(key);
    if (v == NULL || !xmlSecKeyDataCheckId(v, xmlSecOpenSSLKeyDataRsaId))
        return -1;
    EVP_PKEY *pk = xmlSecOpenSSLKeyDataRsaGetEvp(v);
    if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA ||
        EVP_PKEY_get_bits(pk) < EH_SAML_RSA_MIN_BITS)
        return -1;
    if (!EVP_PKEY_up_ref(pk))
        return -1;
    pss_state *s = pss_of(t);
    EVP_PKEY_free(s->pkey);
    s->pkey = pk;
    return 0;
}

/* pss_start creates the EVP context with PSS parameters fixed. */
static int pss_start(xmlSecTransformPtr t, pss_state *s)
{
    EVP_PKEY_CTX *pctx = NULL;
    int rc;
    if (s->pkey == NULL)
        return -1;
    s->mctx = EVP_MD_CTX_new();
    if (s->mctx == NULL)
        return -1;
    if (t->operation == xmlSecTransformOperationSign)
        rc = EVP_DigestSignInit(s->mctx, &pctx, s->md, NULL, s->pkey);
    else
        rc = EVP_DigestVerifyInit(s->mctx, &pctx, s->md, NULL, s->pkey);
    if (rc != 1 || pctx == NULL)
        return -1;
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, s->md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)
        return -1;
    return 0;
}

static int pss_execute(xmlSecTransformPtr t, int last, xmlSecTransformCtxPtr ctx)
{
    (void)ctx;
    if (!is_pss(t))
        return -1;
    pss_state *s = pss_of(t);
    if (t->status == xmlSecTransformStatusNone) {
        if (pss_start(t, s) != 0)
            return -1;
        t->status = xmlSecTransformStatusWorking;
    }
    if (t->status == xmlSecTransformStatusFinished)
        return 0;
    if (t->status != xmlSecTransformStatusWorking)
        return -1;

    xmlSecSize n = xmlSecBufferGetSize(&t->inBuf);
    if (n > 0) {
        const xmlSecByte *p = xmlSecBufferGetData(&t->inBuf);
        int rc = t->operation == xmlSecTransformOperationSign
                     ? EVP_DigestSignUpdate(s->mctx, p, (size_t)n)
                     : EVP_DigestVerifyUpdate(s->mctx, p, (size_t)n);
        if (rc != 1)
            return -1;
        if (xmlSecBufferRemoveHead(&t->inBuf, n) < 0)
            return -1;
    }
    if (!last)
        return 0;
    if (t->operation == xmlSecTransformOperationSign) {
        size_t siglen = 0;
        if (EVP_DigestSignFinal(s->mctx, NULL, &siglen) != 1 || siglen == 0)
            return -1;
        if (xmlSecBufferSetMaxSize(&t->outBuf, (xmlSecSize)siglen) < 0)
            return -1;
        if (EVP_DigestSignFinal(s->mctx, xmlSecBufferGetData(&t->outBuf), &siglen) != 1)
            return -1;
        if (xmlSecBufferSetSize(&t->outBuf, (xmlSecSize)siglen) < 0)
            return -1;
    }
    /* verification finishes in pss_verify, which gets the SignatureValue */
    t->status = xmlSecTransformStatusFinished;
    return 0;
}

static int pss_verify(xmlSecTransformPtr t, const xmlSecByte *data, xmlSecSize n,
                      xmlSecTransformCtxPtr ctx)
{
    (void)ctx;
    if (!is_pss(t) || t->operation != xmlSecTransformOperationVerify || data == NULL)
        return -1;
    if (t->status != xmlSecTransformStatusFinished)
        return -1;
    pss_state *s = pss_of(t);
    /* a PSS signature is exactly as long as the modulus */
    if ((size_t)n != (size_t)EVP_PKEY_get_size(s->pkey)) {
        t->status = xmlSecTransformStatusFail;
        return 0;
    }
    int rc = EVP_DigestVerifyFinal(s->mctx, data, (size_t)n);
    t->status = rc == 1 ? xmlSecTransformStatusOk : xmlSecTransformStatusFail;
    return 0;
}

int eh_saml_rsa_pss_register(void)
{
    if (xmlSecTransformIdsRegister(&pss256_klass) < 0 ||
        xmlSecTransformIdsRegister(&pss384_klass) < 0 ||
        xmlSecTransformIdsRegister(&pss512_klass) < 0)
        return -1;
    return 0;
}
