/* eidhub: this broker as an eIDAS node (the configuration's "saml" member).
 *
 * What the eIDAS Connector backend and the Proxy-Service frontend share:
 * our country, our signing key and certificate, our encryption key and
 * certificate, the algorithms we sign and encrypt with, our entity ids and
 * endpoints (derived from the issuer URL) and the time tolerances:
 *
 *   "saml": {
 *     "country": "EE",                         ISO 3166-1 alpha-2 (required)
 *     "signing_key_file": "saml-sign.pem",     EC P-256/384/521 or RSA >= 3072 (required)
 *     "signing_cert_file": "saml-sign.crt",    its certificate, published in metadata (required)
 *     "encryption_key_file": "saml-enc.pem",   RSA >= 3072 (required)
 *     "encryption_cert_file": "saml-enc.crt",  (required)
 *     "signature_algorithm": "ecdsa-sha256" | "ecdsa-sha384" | "ecdsa-sha512" |
 *                            "rsa-pss-sha256" | "rsa-pss-sha384" | "rsa-pss-sha512"
 *                            (default: ecdsa-sha256 for EC keys, rsa-pss-sha512 for RSA),
 *     "encryption_algorithm": "aes128-gcm" | "aes192-gcm" | "aes256-gcm" (default aes256-gcm),
 *     "metadata_valid_hours": 24,     validUntil of our metadata (1..720)
 *     "metadata_refresh_seconds": 3600,   how often peers' metadata is fetched again (10..86400)
 *     "clock_skew_seconds": 60,       tolerated difference with peers' clocks (0..600)
 *     "assertion_valid_seconds": 300, lifetime of the assertions we issue (30..3600)
 *     "request_timeout_ms": 5000,     bound on fetching a peer's metadata
 *     "organization": "City of Tartu" the md:Organization we publish (optional)
 *   }
 *
 * Entity ids are the URLs our metadata is served at:
 * <issuer>/saml/connector/metadata and <issuer>/saml/proxy/metadata. */
#ifndef EH_SAML_NODE_H
#define EH_SAML_NODE_H

#include <jansson.h>
#include <stddef.h>

#include "broker/rc.h"
#include "broker/saml/saml_crypto.h"

#define EH_SAML_CONNECTOR_METADATA_PATH "/saml/connector/metadata"
#define EH_SAML_CONNECTOR_ACS_PATH "/auth/eidas/acs"
#define EH_SAML_PROXY_METADATA_PATH "/saml/proxy/metadata"
#define EH_SAML_PROXY_SSO_PATH "/saml/proxy/sso"

typedef struct eh_saml_node {
    char *country;
    eh_saml_keys *signer;     /* our signing private key */
    eh_saml_sig_alg sig_alg;
    char *signing_cert_pem;
    eh_saml_keys *decrypter;  /* our encryption private key */
    char *encryption_cert_pem;
    eh_saml_enc_alg enc_alg;
    unsigned metadata_valid_s;
    unsigned refresh_s;
    unsigned skew_s;
    unsigned assertion_valid_s;
    unsigned request_timeout_ms;
    char *organization; /* or NULL */
    char *connector_entity_id; /* <issuer>/saml/connector/metadata */
    char *connector_acs;       /* <issuer>/auth/eidas/acs */
    char *proxy_entity_id;     /* <issuer>/saml/proxy/metadata */
    char *proxy_sso;           /* <issuer>/saml/proxy/sso */
} eh_saml_node;

/* eh_saml_node_load validates the "saml" member (settings, at $.saml of
 * file; relative file names resolve against file's folder) and loads its
 * keys and certificates. issuer is the broker's issuer URL. Errors are one
 * line "<file>: $.saml.<member>: <what>" (EH_ERR_CONFIG). */
eh_rc eh_saml_node_load(const json_t *settings, const char *file, const char *issuer,
                        eh_saml_node **out, char *err, size_t errlen);
void eh_saml_node_free(eh_saml_node *n);

/* eh_saml_sig_alg_name / eh_saml_sig_alg_parse: "ecdsa-sha256" ... and back
 * (-1 when unknown). */
const char *eh_saml_sig_alg_name(eh_saml_sig_alg a);
int eh_saml_sig_alg_parse(const char *name);

#endif
