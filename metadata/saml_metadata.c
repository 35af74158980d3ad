/* eidhub: eIDAS node metadata, published and consumed (see saml_metadata.h).
 *
 * Building: the libxml2 tree API only; certificates go in as the base64 of
 * their DER form (OpenSSL), and the document is signed last with
 * eh_saml_sign, which puts ds:Signature as the first child of
 * md:EntityDescriptor (where the metadata schema wants it).
 *
 * Parsing: eh_saml_parse, then eh_saml_verify against the anchor, and from
 * then on every value is read from the element the signature covers. The
 * certificates of md:KeyDescriptor are decoded by OpenSSL and handed to
 * eh_saml_keys_add_pem, which enforces the key sizes; keys it refuses are
 * skipped, and a document left without a usable key is refused. */
#include "metadata/saml_metadata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/uri.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attributes/registry.h"
#include "broker/saml/saml_logout.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"

#define PROTOCOL_SAML2 EH_NS_SAMLP
#define DEFAULT_VALID_S 86400u
#define MAX_KEYS_PER_USE 16 /* keys kept per use: each verification tries them all */

static const char *const DIGEST_METHODS[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
};

static const struct {
    const char *uri;
    const char *min_key_size;
} SIGNING_METHODS[] = {
    {EH_SAML_ALG_ECDSA_SHA256, "256"},    {EH_SAML_ALG_ECDSA_SHA384, "256"},
    {EH_SAML_ALG_ECDSA_SHA512, "256"},    {EH_SAML_ALG_RSA_PSS_SHA256, "3072"},
    {EH_SAML_ALG_RSA_PSS_SHA384, "3072"}, {EH_SAML_ALG_RSA_PSS_SHA512, "3072"},
};

static const char *const GCM_METHODS[] = {
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2009/xmlenc11#aes192-gcm",
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
};

static const char *const NAMEID_FORMATS[] = {
    EH_SAML_NAMEID_PERSISTENT,
    EH_SAML_NAMEID_TRANSIENT,
    EH_SAML_NAMEID_UNSPECIFIED,
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void say(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

/* ------------------------------------------------------------------ build */

/* cert_base64 returns the base64 of the DER form of the first certificate
 * in pem (caller frees), or NULL when pem holds none. */
static char *cert_base64(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    char *out = NULL;
    int n = x ? i2d_X509(x, &der) : -1;

    if (n > 0 && (out = malloc(4 * (((size_t)n + 2) / 3) + 1)) != NULL)
        EVP_EncodeBlock((unsigned char *)out, der, n);
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(b);
    return out;
}

/* add_prop sets attribute name=value on n; 0 on failure. */
static int add_prop(xmlNodePtr n, const char *name, const char *value)
{
    return n != NULL && xmlNewProp(n, BAD_CAST name, BAD_CAST value) != NULL;
}

/* add_key_descriptor adds md:KeyDescriptor use=use holding the certificate
 * pem to role (and, for encryption, the AES-GCM methods we decrypt). */
static eh_rc add_key_descriptor(xmlNodePtr role, xmlNsPtr md, xmlNsPtr ds, const char *use,
                                const char *pem, char *why, size_t whylen)
{
    char *b64 = cert_base64(pem);
    xmlNodePtr kd, ki, xd;
    eh_rc rc = EH_ERR_NOMEM;

    if (b64 == NULL) {
        say(why, whylen,
            use[0] == 's' ? "signing certificate is not a PEM certificate"
                          : "encryption certificate is not a PEM certificate");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    kd = eh_saml_new_child(role, md, "KeyDescriptor", NULL);
    if (!add_prop(kd, "use", use))
        goto cleanup;
    if ((ki = eh_saml_new_child(kd, ds, "KeyInfo", NULL)) == NULL ||
        (xd = eh_saml_new_child(ki, ds, "X509Data", NULL)) == NULL ||
        eh_saml_new_child(xd, ds, "X509Certificate", b64) == NULL)
        goto cleanup;
    if (strcmp(use, "encryption") == 0)
        for (size_t i = 0; i < COUNT(GCM_METHODS); i++)
            if (!add_prop(eh_saml_new_child(kd, md, "EncryptionMethod", NULL), "Algorithm",
                          GCM_METHODS[i]))
                goto cleanup;
    rc = EH_OK;
cleanup:
    free(b64);
    return rc;
}

/* add_extensions adds md:Extensions: NodeCountry, SPType and the
 * algorithms we support. */
static eh_rc add_extensions(xmlNodePtr root, const eh_saml_metadata_spec *s, xmlNsPtr md)
{
    xmlNsPtr eidas = xmlNewNs(root, BAD_CAST EH_NS_EIDAS, BAD_CAST "eidas");
    xmlNsPtr alg = xmlNewNs(root, BAD_CAST EH_NS_ALG, BAD_CAST "alg");
    xmlNodePtr ext = eh_saml_new_child(root, md, "Extensions", NULL);
    xmlNodePtr n;

    if (eidas == NULL || alg == NULL || ext == NULL)
        return EH_ERR_NOMEM;
    if (eh_saml_new_child(ext, eidas, "NodeCountry", s->node_country) == NULL)
        return EH_ERR_NOMEM;
    if (s->role == EH_SAML_ROLE_CONNECTOR && s->sp_type != NULL &&
        eh_saml_new_child(ext, eidas, "SPType", s->sp_type) == NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < COUNT(DIGEST_METHODS); i++)
        if (!add_prop(eh_saml_new_child(ext, alg, "DigestMethod", NULL), "Algorithm",
                      DIGEST_METHODS[i]))
            return EH_ERR_NOMEM;
    for (size_t i = 0; i < COUNT(SIGNING_METHODS); i++) {
        n = eh_saml_new_child(ext, alg, "SigningMethod", NULL);
        if (!add_prop(n, "Algorithm", SIGNING_METHODS[i].uri) ||
            !add_prop(n, "MinKeySize", SIGNING_METHODS[i].min_key_size))
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* add_endpoint adds an endpoint element name (Binding, Location) to role. */
static xmlNodePtr add_endpoint(xmlNodePtr role, xmlNsPtr md, const char *name, const char *binding,
                               const char *location)
{
    xmlNodePtr n = eh_saml_new_child(role, md, name, NULL);
    if (!add_prop(n, "Binding", binding) || !add_prop(n, "Location", location))
        return NULL;
    return n;
}

/* add_role adds the SPSSODescriptor or IDPSSODescriptor of s to root. */
static eh_rc add_role(xmlNodePtr root, const eh_saml_metadata_spec *s, xmlNsPtr md, xmlNsPtr ds,
                      char *why, size_t whylen)
{
    int connector = s->role == EH_SAML_ROLE_CONNECTOR;
    xmlNodePtr role, n;
    xmlNsPtr saml;
    eh_rc rc;

    role = eh_saml_new_child(root, md, connector ? "SPSSODescriptor" : "IDPSSODescriptor", NULL);
    if (!add_prop(role, "protocolSupportEnumeration", PROTOCOL_SAML2))
        return EH_ERR_NOMEM;
    if (connector) {
        if (!add_prop(role, "AuthnRequestsSigned", "true") ||
            !add_prop(role, "WantAssertionsSigned", "true"))
            return EH_ERR_NOMEM;
    } else if (!add_prop(role, "WantAuthnRequestsSigned", "true")) {
        return EH_ERR_NOMEM;
    }
    if ((rc = add_key_descriptor(role, md, ds, "signing", s->signing_cert_pem, why, whylen)) !=
        EH_OK)
        return rc;
    if (s->encryption_cert_pem != NULL &&
        (rc = add_key_descriptor(role, md, ds, "encryption", s->encryption_cert_pem, why,
                                 whylen)) != EH_OK)
        return rc;
    /* schema order: KeyDescriptor, SingleLogoutService, NameIDFormat */
    if (s->slo_endpoint != NULL &&
        add_endpoint(role, md, "SingleLogoutService", EH_SAML_BINDING_SOAP, s->slo_endpoint) ==
            NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < COUNT(NAMEID_FORMATS); i++)
        if (eh_saml_new_child(role, md, "NameIDFormat", NAMEID_FORMATS[i]) == NULL)
            return EH_ERR_NOMEM;
    if (connector) {
        n = add_endpoint(role, md, "AssertionConsumerService", EH_SAML_BINDING_POST, s->endpoint);
        if (!add_prop(n, "index", "0") || !add_prop(n, "isDefault", "true"))
            return EH_ERR_NOMEM;
        return EH_OK;
    }
    if (add_endpoint(role, md, "SingleSignOnService", EH_SAML_BINDING_POST, s->endpoint) == NULL ||
        add_endpoint(role, md, "SingleSignOnService", EH_SAML_BINDING_REDIRECT, s->endpoint) ==
            NULL)
        return EH_ERR_NOMEM;
    if ((saml = xmlNewNs(root, BAD_CAST EH_NS_SAML, BAD_CAST "saml")) == NULL)
        return EH_ERR_NOMEM;
    size_t na = 0;
    const eh_attribute_def *attrs = eh_attributes(&na);
    for (size_t i = 0; i < na; i++) {
        if (attrs[i].eidas_uri == NULL)
            continue;
        n = eh_saml_new_child(role, saml, "Attribute", NULL);
        if (!add_prop(n, "Name", attrs[i].eidas_uri) ||
            !add_prop(n, "NameFormat", EH_SAML_ATTRNAME_URI))
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* add_organization adds md:Organization (name, display name and, as the
 * schema requires a URL, the entity id) in English. */
static eh_rc add_organization(xmlNodePtr root, const eh_saml_metadata_spec *s, xmlNsPtr md)
{
    xmlNodePtr org = eh_saml_new_child(root, md, "Organization", NULL), n;
    static const char *const names[] = {"OrganizationName", "OrganizationDisplayName",
                                        "OrganizationURL"};

    if (org == NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < COUNT(names); i++) {
        n = eh_saml_new_child(org, md, names[i], i < 2 ? s->org_name : s->entity_id);
        if (n == NULL)
            return EH_ERR_NOMEM;
        xmlNodeSetLang(n, BAD_CAST "en");
    }
    return EH_OK;
}

eh_rc eh_saml_metadata_build(const eh_saml_metadata_spec *s, const eh_saml_keys *signer,
                             eh_saml_sig_alg alg, char **xml, size_t *len, char *why, size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    xmlNsPtr md, ds;
    char id[EH_SAML_ID_LEN], until[EH_SAML_TIME_LEN];
    eh_rc rc = EH_ERR_INVALID;

    *xml = NULL;
    if (len != NULL)
        *len = 0;
    if (s == NULL || s->entity_id == NULL || s->endpoint == NULL || s->node_country == NULL ||
        s->signing_cert_pem == NULL || signer == NULL ||
        (s->role != EH_SAML_ROLE_CONNECTOR && s->role != EH_SAML_ROLE_PROXY)) {
        say(why, whylen, "metadata specification incomplete");
        goto cleanup;
    }
    if (s->role == EH_SAML_ROLE_CONNECTOR && s->encryption_cert_pem == NULL) {
        say(why, whylen, "a Connector publishes an encryption certificate");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((doc = xmlNewDoc(BAD_CAST "1.0")) == NULL ||
        (root = xmlNewDocNode(doc, NULL, BAD_CAST "EntityDescriptor", NULL)) == NULL)
        goto cleanup;
    xmlDocSetRootElement(doc, root);
    if ((md = xmlNewNs(root, BAD_CAST EH_NS_MD, BAD_CAST "md")) == NULL ||
        (ds = xmlNewNs(root, BAD_CAST EH_NS_DS, BAD_CAST "ds")) == NULL)
        goto cleanup;
    xmlSetNs(root, md);
    if ((rc = eh_saml_new_id(id)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    eh_saml_time_format(s->now + (int64_t)(s->valid_s ? s->valid_s : DEFAULT_VALID_S), until);
    if (!add_prop(root, "ID", id) || !add_prop(root, "entityID", s->entity_id) ||
        !add_prop(root, "validUntil", until))
        goto cleanup;
    if ((rc = add_extensions(root, s, md)) != EH_OK ||
        (rc = add_role(root, s, md, ds, why, whylen)) != EH_OK)
        goto cleanup;
    if (s->org_name != NULL && (rc = add_organization(root, s, md)) != EH_OK)
        goto cleanup;
    /* after = NULL: ds:Signature becomes the first child, before md:Extensions */
    if ((rc = eh_saml_sign(doc, root, NULL, alg, signer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = eh_saml_doc_text(doc, xml, len);
cleanup:
    if (rc == EH_ERR_NOMEM)
        say(why, whylen, "out of memory");
    xmlFreeDoc(doc);
    return rc;
}

/* ------------------------------------------------------------------ parse */

void eh_saml_metadata_free(eh_saml_metadata *m)
{
    if (m == NULL)
        return;
    free(m->entity_id);
    free(m->node_country);
    free(m->sp_type);
    free(m->endpoint);
    free(m->slo_endpoint);
    eh_saml_keys_free(m->signing);
    eh_saml_keys_free(m->encryption);
    free(m);
}

/* has_token tells whether the white-space separated list holds token. */
static int has_token(const char *list, const char *token)
{
    size_t tl = strlen(token);
    const char *p = list;

    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        size_t n = strcspn(p, " \t\r\n");
        if (n == tl && strncmp(p, token, n) == 0)
            return 1;
        p += n;
    }
    return 0;
}

/* url_ok tells whether s is an absolute http(s) URL with a host, without
 * user info, fragment, white space or control characters. */
static int url_ok(const char *s)
{
    xmlURIPtr u;
    int ok;

    if (s == NULL || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
        return 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return 0;
    if ((u = xmlParseURI(s)) == NULL)
        return 0;
    ok = u->scheme != NULL && u->server != NULL && u->server[0] != '\0' && u->user == NULL &&
         u->fragment == NULL;
    xmlFreeURI(u);
    return ok;
}

/* endpoint_of returns the Location of role's first child name with the
 * HTTP-POST binding (isDefault="true" preferred) in *out, or NULL. */
static eh_rc endpoint_of(xmlNodePtr role, const char *name, char **out)
{
    xmlNodePtr best = NULL;
    char *v;

    *out = NULL;
    for (xmlNodePtr c = eh_saml_first_el(role); c != NULL; c = eh_saml_next_el(c)) {
        if (!eh_saml_is(c, EH_NS_MD, name))
            continue;
        v = eh_saml_prop(c, "Binding");
        int post = v != NULL && strcmp(v, EH_SAML_BINDING_POST) == 0;
        free(v);
        if (!post)
            continue;
        v = eh_saml_prop(c, "isDefault");
        int dflt = v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
        free(v);
        if (best == NULL || dflt)
            best = c;
        if (dflt)
            break;
    }
    if (best == NULL)
        return EH_OK;
    *out = eh_saml_prop(best, "Location");
    return EH_OK;
}

/* slo_endpoint_of returns the Location of role's first
 * md:SingleLogoutService with the SOAP binding in *out, or NULL (also when
 * it is not an absolute http(s) URL). */
static void slo_endpoint_of(xmlNodePtr role, char **out)
{
    *out = NULL;
    for (xmlNodePtr c = eh_saml_first_el(role); c != NULL && *out == NULL;
         c = eh_saml_next_el(c)) {
        char *binding;
        int soap;
        if (!eh_saml_is(c, EH_NS_MD, "SingleLogoutService"))
            continue;
        binding = eh_saml_prop(c, "Binding");
        soap = binding != NULL && strcmp(binding, EH_SAML_BINDING_SOAP) == 0;
        free(binding);
        if (soap)
            *out = eh_saml_prop(c, "Location");
    }
    if (*out != NULL && !url_ok(*out)) {
        free(*out);
        *out = NULL;
    }
}

/* cert_pem decodes the base64 text of a ds:X509Certificate into X509 and
 * returns it as PEM text (*pem, caller frees; *pem_len) and its key type
 * (*evp_id). EH_ERR_INVALID for anything that is not one certificate. */
static eh_rc cert_pem(const char *b64, char **pem, size_t *pem_len, int *evp_id)
{
    size_t bl = strlen(b64);
    unsigned char *der = NULL;
    const unsigned char *p;
    EVP_ENCODE_CTX *ctx = NULL;
    X509 *x = NULL;
    EVP_PKEY *pk;
    BIO *b = NULL;
    BUF_MEM *mem;
    int n = 0, fin = 0;
    eh_rc rc = EH_ERR_INVALID;

    *pem = NULL;
    if (bl == 0 || bl > 65536)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((der = malloc(bl)) == NULL || (ctx = EVP_ENCODE_CTX_new()) == NULL)
        goto cleanup;
    rc = EH_ERR_INVALID;
    /* EVP_DecodeUpdate skips the line breaks and spaces base64 in XML carries */
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, der, &n, (const unsigned char *)b64, (int)bl) < 0 ||
        EVP_DecodeFinal(ctx, der + n, &fin) < 0)
        goto cleanup;
    n += fin;
    p = der;
    if ((x = d2i_X509(NULL, &p, n)) == NULL || p != der + n)
        goto cleanup;
    pk = X509_get0_pubkey(x);
    *evp_id = pk ? EVP_PKEY_get_base_id(pk) : 0;
    rc = EH_ERR_NOMEM;
    if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, x) != 1)
        goto cleanup;
    BIO_get_mem_ptr(b, &mem);
    if ((*pem = malloc(mem->length + 1)) == NULL)
        goto cleanup;
    memcpy(*pem, mem->data, mem->length);
    (*pem)[mem->length] = '\0';
    *pem_len = mem->length;
    rc = EH_OK;
cleanup:
    BIO_free(b);
    X509_free(x);
    EVP_ENCODE_CTX_free(ctx);
    free(der);
    return rc;
}

/* add_cert adds the certificate whose base64 is the text of node xc to
 * keys, unless it is unusable (a key type or size not allowed, or not RSA
 * when rsa_only): then it is skipped. Only EH_ERR_NOMEM is an error. */
static eh_rc add_cert(eh_saml_keys *keys, xmlNodePtr xc, int rsa_only)
{
    char *b64 = eh_saml_text(xc), *pem = NULL, ignored[128];
    size_t pem_len = 0;
    int evp_id = 0;
    eh_rc rc = EH_OK;

    if (b64 == NULL || eh_saml_keys_count(keys) >= MAX_KEYS_PER_USE)
        goto cleanup;
    rc = cert_pem(b64, &pem, &pem_len, &evp_id);
    if (rc != EH_OK) {
        rc = rc == EH_ERR_NOMEM ? rc : EH_OK; /* not a certificate: skipped */
        goto cleanup;
    }
    if (rsa_only && evp_id != EVP_PKEY_RSA)
        goto cleanup;
    rc = eh_saml_keys_add_pem(keys, pem, pem_len, ignored, sizeof(ignored));
    if (rc != EH_ERR_NOMEM)
        rc = EH_OK; /* too small or not allowed: skipped */
cleanup:
    free(b64);
    free(pem);
    return rc;
}

/* read_keys reads the KeyDescriptors of role into m->signing and
 * m->encryption (encryption keys must be RSA: key transport is RSA-OAEP). */
static eh_rc read_keys(xmlNodePtr role, eh_saml_metadata *m)
{
    eh_rc rc;

    if ((m->signing = eh_saml_keys_new()) == NULL || (m->encryption = eh_saml_keys_new()) == NULL)
        return EH_ERR_NOMEM;
    for (xmlNodePtr kd = eh_saml_first_el(role); kd != NULL; kd = eh_saml_next_el(kd)) {
        if (!eh_saml_is(kd, EH_NS_MD, "KeyDescriptor"))
            continue;
        char *use = eh_saml_prop(kd, "use");
        int sign = use == NULL || strcmp(use, "signing") == 0;
        int enc = use == NULL || strcmp(use, "encryption") == 0;
        free(use);
        xmlNodePtr ki = eh_saml_child(kd, EH_NS_DS, "KeyInfo");
        for (xmlNodePtr xd = eh_saml_first_el(ki); xd != NULL; xd = eh_saml_next_el(xd)) {
            if (!eh_saml_is(xd, EH_NS_DS, "X509Data"))
                continue;
            for (xmlNodePtr xc = eh_saml_first_el(xd); xc != NULL; xc = eh_saml_next_el(xc)) {
                if (!eh_saml_is(xc, EH_NS_DS, "X509Certificate"))
                    continue;
                if ((sign && (rc = add_cert(m->signing, xc, 0)) != EH_OK) ||
                    (enc && (rc = add_cert(m->encryption, xc, 1)) != EH_OK))
                    return rc;
            }
        }
    }
    return EH_OK;
}

/* find_role returns the first descriptor of root for role that supports
 * the SAML 2.0 protocol, or NULL. */
static xmlNodePtr find_role(xmlNodePtr root, eh_saml_role role)
{
    const char *name = role == EH_SAML_ROLE_CONNECTOR ? "SPSSODescriptor" : "IDPSSODescriptor";

    for (xmlNodePtr c = eh_saml_first_el(root); c != NULL; c = eh_saml_next_el(c)) {
        if (!eh_saml_is(c, EH_NS_MD, name))
            continue;
        char *p = eh_saml_prop(c, "protocolSupportEnumeration");
        int ok = p != NULL && has_token(p, PROTOCOL_SAML2);
        free(p);
        if (ok)
            return c;
    }
    return NULL;
}

/* ext_text reads the eIDAS extension name from the md:Extensions of el
 * (*out NULL when absent). EH_ERR_INVALID when it holds markup. */
static eh_rc ext_text(xmlNodePtr el, const char *name, char **out)
{
    xmlNodePtr n = eh_saml_child(eh_saml_child(el, EH_NS_MD, "Extensions"), EH_NS_EIDAS, name);

    *out = NULL;
    if (n == NULL)
        return EH_OK;
    *out = eh_saml_text(n);
    return *out != NULL ? EH_OK : EH_ERR_INVALID;
}

/* valid_until reads el's validUntil into *out; EH_ERR_NOT_FOUND when
 * absent, EH_ERR_INVALID when it is not an xs:dateTime. */
static eh_rc valid_until(xmlNodePtr el, int64_t *out)
{
    char *v = eh_saml_prop(el, "validUntil");
    eh_rc rc = v == NULL ? EH_ERR_NOT_FOUND : eh_saml_time_parse(v, out);

    free(v);
    return rc;
}

eh_rc eh_saml_metadata_parse(const char *xml, size_t len, const eh_saml_keys *anchor,
                             eh_saml_role role, const char *expect_entity_id, int64_t now,
                             eh_saml_metadata **out, char *why, size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr root, sig, covered = NULL, desc;
    eh_saml_metadata *m = NULL;
    int64_t t = 0;
    eh_rc rc;

    *out = NULL;
    if ((rc = eh_saml_parse(xml, len, &doc, why, whylen)) != EH_OK) {
        rc = rc == EH_ERR_NOMEM ? rc : EH_ERR_INVALID;
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    root = xmlDocGetRootElement(doc);
    if (!eh_saml_is(root, EH_NS_MD, "EntityDescriptor")) {
        say(why, whylen, "not an md:EntityDescriptor");
        goto cleanup;
    }
    if ((sig = eh_saml_find_signature(root)) == NULL) {
        say(why, whylen, "metadata is not signed");
        goto cleanup;
    }
    if ((rc = eh_saml_verify(doc, sig, anchor, &covered, why, whylen)) != EH_OK) {
        rc = rc == EH_ERR_NOMEM ? rc : EH_ERR_INVALID;
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    /* from here on, read only from covered (the signed EntityDescriptor) */
    if (covered != root) {
        say(why, whylen, "signature does not cover the metadata");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        goto cleanup;
    m->role = role;
    rc = valid_until(covered, &m->valid_until);
    if (rc != EH_OK) {
        say(why, whylen,
            rc == EH_ERR_NOT_FOUND ? "metadata has no validUntil"
                                   : "validUntil is not a valid time");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    if (m->valid_until <= now) {
        say(why, whylen, "metadata has expired (validUntil)");
        goto cleanup;
    }
    if ((m->entity_id = eh_saml_prop(covered, "entityID")) == NULL || m->entity_id[0] == '\0') {
        say(why, whylen, "metadata has no entityID");
        goto cleanup;
    }
    if (expect_entity_id != NULL && strcmp(m->entity_id, expect_entity_id) != 0) {
        say(why, whylen, "entityID is not the expected one");
        goto cleanup;
    }
    if ((desc = find_role(covered, role)) == NULL) {
        say(why, whylen,
            role == EH_SAML_ROLE_CONNECTOR ? "no SAML 2.0 SPSSODescriptor"
                                           : "no SAML 2.0 IDPSSODescriptor");
        goto cleanup;
    }
    /* a descriptor may end its validity sooner than the document */
    rc = valid_until(desc, &t);
    if (rc == EH_OK && t < m->valid_until)
        m->valid_until = t;
    if (rc == EH_ERR_INVALID || m->valid_until <= now) {
        say(why, whylen,
            rc == EH_ERR_INVALID ? "validUntil is not a valid time"
                                 : "role descriptor has expired (validUntil)");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    rc = endpoint_of(
        desc, role == EH_SAML_ROLE_CONNECTOR ? "AssertionConsumerService" : "SingleSignOnService",
        &m->endpoint);
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (m->endpoint == NULL || !url_ok(m->endpoint)) {
        say(why, whylen,
            m->endpoint == NULL ? "no HTTP-POST endpoint for the role"
                                : "endpoint is not an absolute http(s) URL");
        goto cleanup;
    }
    slo_endpoint_of(desc, &m->slo_endpoint);
    if ((rc = read_keys(desc, m)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (eh_saml_keys_count(m->signing) == 0) {
        say(why, whylen, "no usable signing key (RSA >= 3072 or EC >= 256 bits)");
        goto cleanup;
    }
    if (role == EH_SAML_ROLE_CONNECTOR && eh_saml_keys_count(m->encryption) == 0) {
        say(why, whylen, "no usable encryption key (RSA >= 3072 bits)");
        goto cleanup;
    }
    if (ext_text(covered, "NodeCountry", &m->node_country) != EH_OK ||
        (m->node_country != NULL &&
         (strlen(m->node_country) != 2 || m->node_country[0] < 'A' || m->node_country[0] > 'Z' ||
          m->node_country[1] < 'A' || m->node_country[1] > 'Z'))) {
        say(why, whylen, "NodeCountry is not a country code");
        goto cleanup;
    }
    if (role == EH_SAML_ROLE_CONNECTOR) {
        if (ext_text(covered, "SPType", &m->sp_type) != EH_OK ||
            (m->sp_type == NULL && ext_text(desc, "SPType", &m->sp_type) != EH_OK) ||
            (m->sp_type != NULL && strcmp(m->sp_type, EH_SAML_SPTYPE_PUBLIC) != 0 &&
             strcmp(m->sp_type, EH_SAML_SPTYPE_PRIVATE) != 0)) {
            say(why, whylen, "SPType is neither public nor private");
            goto cleanup;
        }
    }
    *out = m;
    m = NULL;
    rc = EH_OK;
cleanup:
    if (rc == EH_ERR_NOMEM)
        say(why, whylen, "out of memory");
    eh_saml_metadata_free(m);
    xmlFreeDoc(doc);
    return rc;
}
