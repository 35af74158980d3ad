/* eidhub: XML security for eIDAS SAML (xmlsec 1.2.37 on OpenSSL).
 *
 * Safe parsing, signature verification against trusted keys only (never
 * KeyInfo), our own signing, and AES-GCM assertion encryption with RSA-OAEP
 * key transport. Allowed: ECDSA-SHA256/384/512, RSASSA-PSS-SHA256/384/512,
 * digests SHA-256/384/512, exclusive c14n; everything else is refused.
 * See docs/saml-crypto.md. */
#ifndef EH_SAML_CRYPTO_H
#define EH_SAML_CRYPTO_H

#include <stddef.h>

#include <libxml/tree.h>

#include "broker/rc.h"

#define EH_SAML_MAX_INPUT (1024 * 1024) /* bytes accepted by eh_saml_parse */
#define EH_SAML_MAX_DEPTH 64            /* element nesting accepted */
#define EH_SAML_RSA_MIN_BITS 3072
#define EH_SAML_EC_MIN_BITS 256

#define EH_SAML_ALG_RSA_PSS_SHA256 "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
#define EH_SAML_ALG_RSA_PSS_SHA384 "http://www.w3.org/2007/05/xmldsig-more#sha384-rsa-MGF1"
#define EH_SAML_ALG_RSA_PSS_SHA512 "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1"
#define EH_SAML_ALG_ECDSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
#define EH_SAML_ALG_ECDSA_SHA384 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
#define EH_SAML_ALG_ECDSA_SHA512 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

typedef enum eh_saml_sig_alg {
    EH_SAML_SIG_ECDSA_SHA256,
    EH_SAML_SIG_ECDSA_SHA384,
    EH_SAML_SIG_ECDSA_SHA512,
    EH_SAML_SIG_RSA_PSS_SHA256,
    EH_SAML_SIG_RSA_PSS_SHA384,
    EH_SAML_SIG_RSA_PSS_SHA512,
} eh_saml_sig_alg;

typedef enum eh_saml_enc_alg {
    EH_SAML_ENC_AES128_GCM,
    EH_SAML_ENC_AES192_GCM,
    EH_SAML_ENC_AES256_GCM,
} eh_saml_enc_alg;

/* A set of keys: trusted verification keys (from signed metadata), or our
 * own private keys. RSA keys must have >= 3072 bits, EC keys >= 256. */
typedef struct eh_saml_keys eh_saml_keys;

/* eh_saml_init initialises libxml2/xmlsec/OpenSSL once (thread-safe, idempotent). */
eh_rc eh_saml_init(void);

/* eh_saml_parse parses untrusted XML: refuses a DOCTYPE (so no entities, no
 * DTD), network access, more than EH_SAML_MAX_INPUT bytes and nesting deeper
 * than EH_SAML_MAX_DEPTH. On error writes a reason to why. */
eh_rc eh_saml_parse(const char *xml, size_t len, xmlDocPtr *out, char *why, size_t whylen);

eh_saml_keys *eh_saml_keys_new(void);
void eh_saml_keys_free(eh_saml_keys *k);
/* Adds one key from PEM: a certificate, a public key or a private key. */
eh_rc eh_saml_keys_add_pem(eh_saml_keys *k, const char *pem, size_t len, char *why, size_t whylen);
size_t eh_saml_keys_count(const eh_saml_keys *k);

/* eh_saml_verify verifies the enveloped ds:Signature signature_node with
 * only the keys in trusted. On EH_OK *covered is the element the signature
 * covers (the parent of signature_node, whose ID is unique in doc): callers
 * must read only from it. Registers ID attributes of doc as a side effect. */
eh_rc eh_saml_verify(xmlDocPtr doc, xmlNodePtr signature_node, const eh_saml_keys *trusted,
                     xmlNodePtr *covered, char *why, size_t whylen);

/* eh_saml_find_signature returns node's own ds:Signature child or NULL. */
xmlNodePtr eh_saml_find_signature(xmlNodePtr node);

/* eh_saml_sign signs element node (which must carry an ID attribute)
 * with the first key of signer, inserting ds:Signature right after the child
 * `after` (NULL: as first child; SAML wants it after saml:Issuer). */
eh_rc eh_saml_sign(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr after, eh_saml_sig_alg alg,
                   const eh_saml_keys *signer, char *why, size_t whylen);

/* eh_saml_encrypt replaces node with an xenc:EncryptedData (Type Element),
 * AES-GCM with a fresh key carried in an rsa-oaep-mgf1p EncryptedKey for the
 * first RSA key of recipient; *enc_out is the new EncryptedData. */
eh_rc eh_saml_encrypt(xmlDocPtr doc, xmlNodePtr node, eh_saml_enc_alg alg,
                      const eh_saml_keys *recipient, xmlNodePtr *enc_out, char *why, size_t whylen);

/* eh_saml_decrypt decrypts xenc:EncryptedData enc in place with our RSA
 * private keys; refuses anything but AES-GCM and rsa-oaep-mgf1p.
 * *out is the decrypted element. */
eh_rc eh_saml_decrypt(xmlDocPtr doc, xmlNodePtr enc, const eh_saml_keys *ours, xmlNodePtr *out,
                      char *why, size_t whylen);

#endif
