/* eidhub: safe XML parsing, signature policy and AES-GCM encryption on
 * xmlsec (see saml_crypto.h and docs/saml-crypto.md). */
#include "broker/saml/saml_crypto_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/valid.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/parser.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/openssl/app.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>

#define DSIG_NS "http://www.w3.org/2000/09/xmldsig#"
#define XENC_NS "http://www.w3.org/2001/04/xmlenc#"
#define ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define ALG_OAEP "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"

struct eh_saml_keys {
    xmlSecKeyPtr *k;
    size_t n, cap;
};

/* ------------------------------------------------------------------ init */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static eh_rc init_rc = EH_ERR_INTERNAL;

static void quiet_xmlsec(const char *file, int line, const char *func, const char *obj,
                         const char *subj, int reason, const char *msg)
{
    (void)file, (void)line, (void)func, (void)obj, (void)subj, (void)reason, (void)msg;
}

static void quiet_xml(void *ctx, const char *msg, ...) { (void)ctx, (void)msg; }

static void do_init(void)
{
    xmlInitParser();
    xmlSetGenericErrorFunc(NULL, quiet_xml);
    /* what xmlsec uses when it parses (decrypted content) */
    xmlSecParserSetDefaultOptions(XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlSecErrorsSetCallback(quiet_xmlsec);
    if (xmlSecInit() < 0)
        return;
    if (xmlSecCheckVersion() != 1)
        return;
    if (xmlSecOpenSSLAppInit(NULL) < 0 || xmlSecOpenSSLInit() < 0)
        return;
    if (eh_saml_rsa_pss_register() != 0)
        return;
    init_rc = EH_OK;
}

eh_rc eh_saml_init(void)
{
    pthread_once(&init_once, do_init);
    return init_rc;
}

/* ----------------------------------------------------------------- parse */
static void refuse_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name, (void)ext, (void)sys;
    xmlParserCtxtPtr c = ctx;
    c->_private = (void *)1; /* mark: a DOCTYPE was seen */
    xmlStopParser(c);
}

static int too_deep(xmlNodePtr root)
{
    int depth = 0;
    xmlNodePtr n = root;
    while (n != NULL) {
        if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
            if (++depth > EH_SAML_MAX_DEPTH)
                return 1;
            n = n->children;
            continue;
        }
        while (n != NULL && n->next == NULL) {
            n = n->parent;
            depth--;
            if (n == NULL || n == root->parent || depth < 0)
                return 0;
        }
        if (n != NULL)
            n = n->next;
    }
    return 0;
}

eh_rc eh_saml_parse(const char *xml, size_t len, xmlDocPtr *out, char *why, size_t whylen)
{
    *out = NULL;
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    if (xml == NULL || len == 0) {
        eh_why(why, whylen, "empty document");
        return EH_ERR_INVALID;
    }
    if (len > EH_SAML_MAX_INPUT) {
        eh_why(why, whylen, "document too large");
        return EH_ERR_TOO_LARGE;
    }
    xmlParserCtxtPtr c = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (c == NULL)
        return EH_ERR_NOMEM;
    /* any DOCTYPE stops the parser before its declarations are read */
    c->sax->internalSubset = refuse_subset;
    c->sax->externalSubset = refuse_subset;
    c->sax->entityDecl = NULL;
    c->_private = NULL;
    xmlCtxtUseOptions(c, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA);
    xmlParseDocument(c);
    int doctype = c->_private != NULL;
    int ok = c->wellFormed && !doctype;
    xmlDocPtr doc = c->myDoc;
    c->myDoc = NULL;
    xmlFreeParserCtxt(c);
    if (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))
        doctype = 1, ok = 0;
    if (!ok || doc == NULL || xmlDocGetRootElement(doc) == NULL) {
        eh_why(why, whylen, doctype ? "DOCTYPE refused" : "not well-formed XML");
        xmlFreeDoc(doc);
        return EH_ERR_INVALID;
    }
    if (too_deep(xmlDocGetRootElement(doc))) {
        eh_why(why, whylen, "nesting too deep");
        xmlFreeDoc(doc);
        return EH_ERR_INVALID;
    }
    *out = doc;
    return EH_OK;
}

/* ------------------------------------------------------------------ keys */
eh_saml_keys *eh_saml_keys_new(void)
{
    return calloc(1, sizeof(eh_saml_keys));
}

void eh_saml_keys_free(eh_saml_keys *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->n; i++)
        xmlSecKeyDestroy(k->k[i]);
    free(k->k);
    free(k);
}

size_t eh_saml_keys_count(const eh_saml_keys *k) { return k ? k->n : 0; }

eh_rc eh_saml_keys_add_pem(eh_saml_keys *k, const char *pem, size_t len, char *why, size_t whylen)
{
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    if (k == NULL || pem == NULL || len == 0 || len > 65536)
        return EH_ERR_INVALID;
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (b == NULL)
        return EH_ERR_NOMEM;
    EVP_PKEY *pk = NULL;
    if (memmem(pem, len, "PRIVATE KEY", 11) != NULL) {
        pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    } else if (memmem(pem, len, "BEGIN CERTIFICATE", 17) != NULL) {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (x != NULL)
            pk = X509_get_pubkey(x);
        X509_free(x);
    } else {
        pk = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    }
    BIO_free(b);
    if (pk == NULL) {
        eh_why(why, whylen, "no key in PEM");
        return EH_ERR_KEY;
    }
    int id = EVP_PKEY_get_base_id(pk), bits = EVP_PKEY_get_bits(pk);
    if (!((id == EVP_PKEY_RSA && bits >= EH_SAML_RSA_MIN_BITS) ||
          (id == EVP_PKEY_EC && bits >= EH_SAML_EC_MIN_BITS))) {
        eh_why(why, whylen, "key type or size not allowed (RSA >= 3072, EC >= 256)");
        EVP_PKEY_free(pk);
        return EH_ERR_KEY;
    }
    xmlSecKeyDataPtr d = xmlSecOpenSSLEvpKeyAdopt(pk);
    if (d == NULL) {
        EVP_PKEY_free(pk);
        return EH_ERR_KEY;
    }
    xmlSecKeyPtr key = xmlSecKeyCreate();
    if (key == NULL || xmlSecKeySetValue(key, d) < 0) {
        xmlSecKeyDataDestroy(d);
        xmlSecKeyDestroy(key);
        return EH_ERR_NOMEM;
    }
    if (k->n == k->cap) {
        size_t nc = k->cap ? k->cap * 2 : 4;
        xmlSecKeyPtr *nk = realloc(k->k, nc * sizeof(*nk));
        if (nk == NULL) {
            xmlSecKeyDestroy(key);
            return EH_ERR_NOMEM;
        }
        k->k = nk, k->cap = nc;
    }
    k->k[k->n++] = key;
    return EH_OK;
}

/* ------------------------------------------------------------ algorithms */
static int alg_in(const xmlChar *a, const char *const *list)
{
    if (a == NULL)
        return 0;
    for (size_t i = 0; list[i]; i++)
        if (xmlStrEqual(a, BAD_CAST list[i]))
            return 1;
    return 0;
}

static const char *const SIG_ALGS[] = {EH_SAML_ALG_ECDSA_SHA256,   EH_SAML_ALG_ECDSA_SHA384,
                                       EH_SAML_ALG_ECDSA_SHA512,   EH_SAML_ALG_RSA_PSS_SHA256,
                                       EH_SAML_ALG_RSA_PSS_SHA384, EH_SAML_ALG_RSA_PSS_SHA512,
                                       NULL};
static const char *const DIGEST_ALGS[] = {"http://www.w3.org/2001/04/xmlenc#sha256",
                                          "http://www.w3.org/2001/04/xmldsig-more#sha384",
                                          "http://www.w3.org/2001/04/xmlenc#sha512", NULL};
static const char *const C14N_ALGS[] = {ALG_EXC_C14N, NULL};
static const char *const REF_TRANSFORMS[] = {ALG_ENVELOPED, ALG_EXC_C14N, NULL};
static const char *const GCM_ALGS[] = {"http://www.w3.org/2009/xmlenc11#aes128-gcm",
                                       "http://www.w3.org/2009/xmlenc11#aes192-gcm",
                                       "http://www.w3.org/2009/xmlenc11#aes256-gcm", NULL};

static xmlSecTransformId sig_transform(eh_saml_sig_alg a)
{
    switch (a) {
    case EH_SAML_SIG_ECDSA_SHA256: return xmlSecOpenSSLTransformEcdsaSha256Id;
    case EH_SAML_SIG_ECDSA_SHA384: return xmlSecOpenSSLTransformEcdsaSha384Id;
    case EH_SAML_SIG_ECDSA_SHA512: return xmlSecOpenSSLTransformEcdsaSha512Id;
    case EH_SAML_SIG_RSA_PSS_SHA256: return eh_saml_rsa_pss_sha256_id();
    case EH_SAML_SIG_RSA_PSS_SHA384: return eh_saml_rsa_pss_sha384_id();
    case EH_SAML_SIG_RSA_PSS_SHA512: return eh_saml_rsa_pss_sha512_id();
    }
    return NULL;
}

static xmlSecTransformId digest_for(eh_saml_sig_alg a)
{
    switch (a) {
    case EH_SAML_SIG_ECDSA_SHA384:
    case EH_SAML_SIG_RSA_PSS_SHA384: return xmlSecOpenSSLTransformSha384Id;
    case EH_SAML_SIG_ECDSA_SHA512:
    case EH_SAML_SIG_RSA_PSS_SHA512: return xmlSecOpenSSLTransformSha512Id;
    default: return xmlSecOpenSSLTransformSha256Id;
    }
}

/* enable_dsig restricts what xmlsec itself accepts (defence in depth:
 * the explicit checks in check_signed_info run first). ref is
 * c->enabledReferenceTransforms, which c owns. */
static int enable_dsig(xmlSecDSigCtxPtr c, xmlSecPtrListPtr ref)
{
    xmlSecPtrListPtr t = &c->transformCtx.enabledTransforms;
    if (xmlSecPtrListAdd(t, (void *)xmlSecTransformExclC14NId) < 0 ||
        xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformEcdsaSha256Id) < 0 ||
        xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformEcdsaSha384Id) < 0 ||
        xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformEcdsaSha512Id) < 0 ||
        xmlSecPtrListAdd(t, (void *)eh_saml_rsa_pss_sha256_id()) < 0 ||
        xmlSecPtrListAdd(t, (void *)eh_saml_rsa_pss_sha384_id()) < 0 ||
        xmlSecPtrListAdd(t, (void *)eh_saml_rsa_pss_sha512_id()) < 0)
        return -1;
    if (xmlSecPtrListAdd(ref, (void *)xmlSecTransformEnvelopedId) < 0 ||
        xmlSecPtrListAdd(ref, (void *)xmlSecTransformExclC14NId) < 0 ||
        xmlSecPtrListAdd(ref, (void *)xmlSecOpenSSLTransformSha256Id) < 0 ||
        xmlSecPtrListAdd(ref, (void *)xmlSecOpenSSLTransformSha384Id) < 0 ||
        xmlSecPtrListAdd(ref, (void *)xmlSecOpenSSLTransformSha512Id) < 0)
        return -1;
    c->enabledReferenceTransforms = ref;
    c->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    /* never resolve keys from KeyInfo: signKey is preset, no keys manager,
     * and no KeyInfo child is understood */
    c->keyInfoReadCtx.flags = 0;
    if (xmlSecPtrListAdd(&c->keyInfoReadCtx.enabledKeyData, (void *)xmlSecKeyDataNameId) < 0)
        return -1;
    return 0;
}

static int is_ds(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST DSIG_NS) && xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr next_el(xmlNodePtr n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

xmlNodePtr eh_saml_find_signature(xmlNodePtr node)
{
    if (node == NULL)
        return NULL;
    for (xmlNodePtr c = node->children; c; c = c->next)
        if (is_ds(c, "Signature"))
            return c;
    return NULL;
}

/* register_ids registers every ID attribute of doc; fails on duplicates. */
static int register_ids(xmlDocPtr doc, xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        xmlAttrPtr a = xmlHasProp(n, BAD_CAST "ID");
        if (a != NULL && a->ns == NULL) {
            xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
            if (v == NULL)
                return -1;
            xmlAttrPtr have = xmlGetID(doc, v);
            if (have == NULL) {
                if (xmlAddID(NULL, doc, v, a) == NULL) {
                    xmlFree(v);
                    return -1;
                }
            } else if (have != a) {
                xmlFree(v);
                return -1;
            }
            xmlFree(v);
        }
        if (register_ids(doc, n->children) != 0)
            return -1;
    }
    return 0;
}

/* check_signed_info enforces the shape: exclusive c14n, an allowed
 * SignatureMethod, exactly one Reference to "#ID of parent", transforms
 * enveloped + exc-c14n only, an allowed digest. */
static eh_rc check_signed_info(xmlDocPtr doc, xmlNodePtr sig, xmlNodePtr parent, char *why,
                               size_t whylen)
{
    xmlNodePtr si = next_el(sig->children);
    if (!is_ds(si, "SignedInfo")) {
        eh_why(why, whylen, "no SignedInfo");
        return EH_ERR_INVALID;
    }
    xmlNodePtr c14n = next_el(si->children);
    xmlNodePtr sm = c14n ? next_el(c14n->next) : NULL;
    if (!is_ds(c14n, "CanonicalizationMethod") || !is_ds(sm, "SignatureMethod")) {
        eh_why(why, whylen, "malformed SignedInfo");
        return EH_ERR_INVALID;
    }
    xmlChar *a = xmlGetProp(c14n, BAD_CAST "Algorithm");
    int ok = alg_in(a, C14N_ALGS);
    xmlFree(a);
    if (!ok) {
        eh_why(why, whylen, "canonicalization method not allowed");
        return EH_ERR_CRYPTO;
    }
    a = xmlGetProp(sm, BAD_CAST "Algorithm");
    ok = alg_in(a, SIG_ALGS);
    xmlFree(a);
    if (!ok || next_el(sm->children) != NULL) { /* no HMACOutputLength etc. */
        eh_why(why, whylen, "signature method not allowed");
        return EH_ERR_CRYPTO;
    }
    xmlNodePtr ref = next_el(sm->next);
    if (!is_ds(ref, "Reference") || next_el(ref->next) != NULL) {
        eh_why(why, whylen, "exactly one Reference required");
        return EH_ERR_INVALID;
    }
    xmlChar *id = xmlGetProp(parent, BAD_CAST "ID");
    xmlChar *uri = xmlGetProp(ref, BAD_CAST "URI");
    ok = id != NULL && id[0] != 0 && uri != NULL && uri[0] == '#' && xmlStrEqual(uri + 1, id);
    xmlAttrPtr reg = ok ? xmlGetID(doc, id) : NULL;
    ok = ok && reg != NULL && reg->parent == parent;
    xmlFree(id);
    xmlFree(uri);
    if (!ok) {
        eh_why(why, whylen, "Reference does not point at the signed element");
        return EH_ERR_INVALID;
    }
    xmlNodePtr c = next_el(ref->children);
    if (is_ds(c, "Transforms")) {
        /* SAML's profile (SAML core 5.4.4): the enveloped-signature
         * transform, then exclusive canonicalization, each at most once and
         * in that order. Nothing may follow the canonicalization: its octets
         * pushed into an XML transform fail at the chain's last push, where
         * xmlsec 1.2 also leaks the chain's output buffer. */
        int seen_enveloped = 0, seen_c14n = 0;
        for (xmlNodePtr t = next_el(c->children); t; t = next_el(t->next)) {
            a = xmlGetProp(t, BAD_CAST "Algorithm");
            ok = is_ds(t, "Transform") && alg_in(a, REF_TRANSFORMS) && !seen_c14n;
            if (ok && xmlStrEqual(a, BAD_CAST ALG_ENVELOPED))
                ok = !seen_enveloped++;
            else if (ok)
                seen_c14n = 1;
            xmlFree(a);
            if (!ok) {
                eh_why(why, whylen, "reference transform not allowed");
                return EH_ERR_CRYPTO;
            }
            /* exc-c14n may carry only InclusiveNamespaces */
            for (xmlNodePtr tc = next_el(t->children); tc; tc = next_el(tc->next))
                if (!xmlStrEqual(tc->name, BAD_CAST "InclusiveNamespaces")) {
                    eh_why(why, whylen, "reference transform parameters not allowed");
                    return EH_ERR_CRYPTO;
                }
        }
        c = next_el(c->next);
    }
    a = is_ds(c, "DigestMethod") ? xmlGetProp(c, BAD_CAST "Algorithm") : NULL;
    ok = alg_in(a, DIGEST_ALGS);
    xmlFree(a);
    if (!ok) {
        eh_why(why, whylen, "digest method not allowed");
        return EH_ERR_CRYPTO;
    }
    return EH_OK;
}

eh_rc eh_saml_verify(xmlDocPtr doc, xmlNodePtr sig, const eh_saml_keys *trusted,
                     xmlNodePtr *covered, char *why, size_t whylen)
{
    if (covered)
        *covered = NULL;
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    if (doc == NULL || !is_ds(sig, "Signature") || sig->parent == NULL ||
        sig->parent->type != XML_ELEMENT_NODE || covered == NULL) {
        eh_why(why, whylen, "no signature");
        return EH_ERR_INVALID;
    }
    if (trusted == NULL || trusted->n == 0) {
        eh_why(why, whylen, "no trusted keys");
        return EH_ERR_KEY;
    }
    if (register_ids(doc, xmlDocGetRootElement(doc)) != 0) {
        eh_why(why, whylen, "duplicate or bad ID attributes");
        return EH_ERR_INVALID;
    }
    xmlNodePtr parent = sig->parent;
    eh_rc rc = check_signed_info(doc, sig, parent, why, whylen);
    if (rc != EH_OK)
        return rc;

    for (size_t i = 0; i < trusted->n; i++) {
        xmlSecDSigCtxPtr c = xmlSecDSigCtxCreate(NULL);
        if (c == NULL)
            return EH_ERR_NOMEM;
        /* owned by c from here: xmlSecDSigCtxDestroy frees it */
        c->enabledReferenceTransforms = xmlSecPtrListCreate(xmlSecTransformIdListId);
        if (c->enabledReferenceTransforms == NULL) {
            xmlSecDSigCtxDestroy(c);
            return EH_ERR_NOMEM;
        }
        int good = 0;
        if (enable_dsig(c, c->enabledReferenceTransforms) == 0 && (c->signKey = xmlSecKeyDuplicate(trusted->k[i])) != NULL &&
            xmlSecDSigCtxVerify(c, sig) == 0 && c->status == xmlSecDSigStatusSucceeded &&
            xmlSecPtrListGetSize(&c->signedInfoReferences) == 1)
            good = 1;
        xmlSecDSigCtxDestroy(c);
        if (good) {
            *covered = parent;
            return EH_OK;
        }
    }
    eh_why(why, whylen, "signature not valid with any trusted key");
    return EH_ERR_CRYPTO;
}

/* ------------------------------------------------------------------ sign */
static int key_is(xmlSecKeyPtr k, int evp_id)
{
    xmlSecKeyDataPtr d = xmlSecKeyGetValue(k);
    EVP_PKEY *p = d ? xmlSecOpenSSLEvpKeyDataGetEvp(d) : NULL;
    return p != NULL && EVP_PKEY_get_base_id(p) == evp_id;
}

eh_rc eh_saml_sign(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr after, eh_saml_sig_alg alg,
                   const eh_saml_keys *signer, char *why, size_t whylen)
{
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    xmlSecTransformId st = sig_transform(alg);
    if (doc == NULL || node == NULL || st == NULL || signer == NULL || signer->n == 0)
        return EH_ERR_INVALID;
    int want = alg <= EH_SAML_SIG_ECDSA_SHA512 ? EVP_PKEY_EC : EVP_PKEY_RSA;
    if (!key_is(signer->k[0], want)) {
        eh_why(why, whylen, "key does not fit the signature algorithm");
        return EH_ERR_KEY;
    }
    xmlChar *id = xmlGetProp(node, BAD_CAST "ID");
    if (id == NULL || id[0] == 0) {
        xmlFree(id);
        eh_why(why, whylen, "element has no ID");
        return EH_ERR_INVALID;
    }
    size_t ul = strlen((char *)id) + 2;
    char *uri = malloc(ul);
    if (uri == NULL) {
        xmlFree(id);
        return EH_ERR_NOMEM;
    }
    snprintf(uri, ul, "#%s", (char *)id);
    xmlFree(id);

    eh_rc rc = EH_ERR_CRYPTO;
    xmlSecDSigCtxPtr c = NULL;
    xmlNodePtr tmpl = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, st, NULL,
                                                      BAD_CAST "ds");
    xmlNodePtr ref = tmpl ? xmlSecTmplSignatureAddReference(tmpl, digest_for(alg), NULL,
                                                            BAD_CAST uri, NULL)
                          : NULL;
    if (ref == NULL || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == NULL ||
        xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == NULL) {
        xmlFreeNode(tmpl);
        goto out;
    }
    if (after != NULL && after->parent == node)
        xmlAddNextSibling(after, tmpl);
    else if (node->children != NULL)
        xmlAddPrevSibling(node->children, tmpl);
    else
        xmlAddChild(node, tmpl);
    if (register_ids(doc, xmlDocGetRootElement(doc)) != 0) {
        eh_why(why, whylen, "duplicate ID in document");
        rc = EH_ERR_INVALID;
        goto unlink;
    }
    c = xmlSecDSigCtxCreate(NULL);
    if (c == NULL || (c->signKey = xmlSecKeyDuplicate(signer->k[0])) == NULL)
        goto unlink;
    if (xmlSecDSigCtxSign(c, tmpl) < 0) {
        eh_why(why, whylen, "signing failed");
        goto unlink;
    }
    rc = EH_OK;
    goto out;
unlink:
    xmlUnlinkNode(tmpl);
    xmlFreeNode(tmpl);
out:
    if (c)
        xmlSecDSigCtxDestroy(c);
    free(uri);
    return rc;
}

/* ------------------------------------------------------------ encryption */
/* mngr_with returns a keys manager holding only the keys of k of type
 * evp_id: a simple keys store, no X509 store (the default one would load
 * the system's CA bundle at every call, and no certificate is ever trusted
 * here). */
static xmlSecKeysMngrPtr mngr_with(const eh_saml_keys *k, int evp_id)
{
    xmlSecKeysMngrPtr m = xmlSecKeysMngrCreate();
    xmlSecKeyStorePtr store;
    if (m == NULL)
        return NULL;
    store = xmlSecKeyStoreCreate(xmlSecSimpleKeysStoreId);
    if (store == NULL || xmlSecKeysMngrAdoptKeysStore(m, store) < 0) {
        if (store != NULL)
            xmlSecKeyStoreDestroy(store);
        goto fail;
    }
    m->getKey = xmlSecKeysMngrGetKey;
    for (size_t i = 0; i < k->n; i++) {
        if (!key_is(k->k[i], evp_id))
            continue;
        xmlSecKeyPtr d = xmlSecKeyDuplicate(k->k[i]);
        if (d == NULL || xmlSecOpenSSLAppDefaultKeysMngrAdoptKey(m, d) < 0) {
            xmlSecKeyDestroy(d);
            goto fail;
        }
    }
    return m;
fail:
    xmlSecKeysMngrDestroy(m);
    return NULL;
}

static xmlSecTransformId gcm_transform(eh_saml_enc_alg a)
{
    switch (a) {
    case EH_SAML_ENC_AES128_GCM: return xmlSecOpenSSLTransformAes128GcmId;
    case EH_SAML_ENC_AES192_GCM: return xmlSecOpenSSLTransformAes192GcmId;
    case EH_SAML_ENC_AES256_GCM: return xmlSecOpenSSLTransformAes256GcmId;
    }
    return NULL;
}

eh_rc eh_saml_encrypt(xmlDocPtr doc, xmlNodePtr node, eh_saml_enc_alg alg,
                      const eh_saml_keys *recipient, xmlNodePtr *enc_out, char *why, size_t whylen)
{
    if (enc_out)
        *enc_out = NULL;
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    xmlSecTransformId t = gcm_transform(alg);
    if (doc == NULL || node == NULL || t == NULL || recipient == NULL || enc_out == NULL)
        return EH_ERR_INVALID;
    int has_rsa = 0;
    for (size_t i = 0; i < recipient->n; i++)
        has_rsa |= key_is(recipient->k[i], EVP_PKEY_RSA);
    if (!has_rsa) {
        eh_why(why, whylen, "no RSA key for the recipient");
        return EH_ERR_KEY;
    }
    eh_rc rc = EH_ERR_CRYPTO;
    xmlSecKeysMngrPtr m = mngr_with(recipient, EVP_PKEY_RSA);
    xmlSecEncCtxPtr c = NULL;
    xmlNodePtr tmpl = xmlSecTmplEncDataCreate(doc, t, NULL, xmlSecTypeEncElement, NULL, NULL);
    if (m == NULL || tmpl == NULL || xmlSecTmplEncDataEnsureCipherValue(tmpl) == NULL)
        goto out;
    xmlNodePtr ki = xmlSecTmplEncDataEnsureKeyInfo(tmpl, NULL);
    xmlNodePtr ek = ki ? xmlSecTmplKeyInfoAddEncryptedKey(ki, xmlSecOpenSSLTransformRsaOaepId,
                                                          NULL, NULL, NULL)
                       : NULL;
    if (ek == NULL || xmlSecTmplEncDataEnsureCipherValue(ek) == NULL)
        goto out;
    c = xmlSecEncCtxCreate(m);
    if (c == NULL)
        goto out;
    int bits = alg == EH_SAML_ENC_AES128_GCM ? 128 : alg == EH_SAML_ENC_AES192_GCM ? 192 : 256;
    c->encKey = xmlSecKeyGenerate(xmlSecOpenSSLKeyDataAesId, (xmlSecSize)bits,
                                  xmlSecKeyDataTypeSession);
    if (c->encKey == NULL)
        goto out;
    if (xmlSecEncCtxXmlEncrypt(c, tmpl, node) < 0) {
        eh_why(why, whylen, "encryption failed");
        goto out;
    }
    /* tmpl replaced node and now lives in doc */
    *enc_out = tmpl;
    tmpl = NULL;
    rc = EH_OK;
out:
    if (tmpl)
        xmlFreeNode(tmpl);
    if (c)
        xmlSecEncCtxDestroy(c);
    if (m)
        xmlSecKeysMngrDestroy(m);
    return rc;
}

static int is_xenc(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST XENC_NS) && xmlStrEqual(n->name, BAD_CAST name);
}

/* check_enc_algs: every EncryptionMethod of EncryptedData must be GCM, of
 * EncryptedKey rsa-oaep-mgf1p; no RetrievalMethod anywhere. */
static int check_enc_algs(xmlNodePtr n)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is_ds(n, "RetrievalMethod"))
            return -1;
        if (is_xenc(n, "EncryptionMethod")) {
            xmlChar *a = xmlGetProp(n, BAD_CAST "Algorithm");
            int ok = 0;
            if (is_xenc(n->parent, "EncryptedData"))
                ok = alg_in(a, GCM_ALGS);
            else if (is_xenc(n->parent, "EncryptedKey"))
                ok = a != NULL && xmlStrEqual(a, BAD_CAST ALG_OAEP);
            xmlFree(a);
            if (!ok)
                return -1;
        }
        if (check_enc_algs(n->children) != 0)
            return -1;
    }
    return 0;
}

eh_rc eh_saml_decrypt(xmlDocPtr doc, xmlNodePtr enc, const eh_saml_keys *ours, xmlNodePtr *out,
                      char *why, size_t whylen)
{
    if (out)
        *out = NULL;
    if (eh_saml_init() != EH_OK)
        return EH_ERR_INTERNAL;
    if (doc == NULL || !is_xenc(enc, "EncryptedData") || ours == NULL || out == NULL)
        return EH_ERR_INVALID;
    xmlNodePtr em = next_el(enc->children);
    if (!is_xenc(em, "EncryptionMethod") || check_enc_algs(enc) != 0) {
        eh_why(why, whylen, "encryption algorithm not allowed (AES-GCM, rsa-oaep-mgf1p only)");
        return EH_ERR_CRYPTO;
    }
    xmlChar *type = xmlGetProp(enc, BAD_CAST "Type");
    int elem = type != NULL && xmlStrEqual(type, xmlSecTypeEncElement);
    xmlFree(type);
    if (!elem) {
        eh_why(why, whylen, "EncryptedData is not of Type Element");
        return EH_ERR_INVALID;
    }
    eh_rc rc = EH_ERR_CRYPTO;
    xmlSecKeysMngrPtr m = mngr_with(ours, EVP_PKEY_RSA);
    xmlSecEncCtxPtr c = m ? xmlSecEncCtxCreate(m) : NULL;
    if (c == NULL)
        goto out;
    xmlSecPtrListPtr t = &c->transformCtx.enabledTransforms;
    if (xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformAes128GcmId) < 0 ||
        xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformAes192GcmId) < 0 ||
        xmlSecPtrListAdd(t, (void *)xmlSecOpenSSLTransformAes256GcmId) < 0 ||
        xmlSecPtrListAdd(&c->keyInfoReadCtx.enabledKeyData,
                         (void *)xmlSecKeyDataEncryptedKeyId) < 0)
        goto out;
    c->keyInfoReadCtx.maxEncryptedKeyLevel = 1;
    xmlNodePtr prev = enc->prev, parent = enc->parent;
    if (xmlSecEncCtxDecrypt(c, enc) < 0 || c->result == NULL) {
        eh_why(why, whylen, "decryption failed");
        goto out;
    }
    xmlNodePtr r = prev ? prev->next : parent->children;
    r = next_el(r);
    if (r == NULL || too_deep(r)) {
        eh_why(why, whylen, "decrypted content unusable");
        goto out;
    }
    *out = r;
    rc = EH_OK;
out:
    if (c)
        xmlSecEncCtxDestroy(c);
    if (m)
        xmlSecKeysMngrDestroy(m);
    return rc;
}
