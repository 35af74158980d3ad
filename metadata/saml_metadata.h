/* eidhub: eIDAS node metadata, published (ours) and consumed (peers').
 *
 * An eIDAS node publishes a signed md:EntityDescriptor whose entityID is
 * the URL it is served at, with validUntil (a day by default),
 * eidas:NodeCountry in md:Extensions, the signing and digest methods it
 * supports (alg:SigningMethod, alg:DigestMethod), its signing and
 * encryption certificates (md:KeyDescriptor use="signing"/"encryption")
 * and its endpoints: a Connector an SPSSODescriptor with its
 * AssertionConsumerService (HTTP-POST) and eidas:SPType; a Proxy-Service an
 * IDPSSODescriptor with its SingleSignOnService (HTTP-POST and
 * HTTP-Redirect) and the attributes it supports. */
#ifndef EH_SAML_METADATA_H
#define EH_SAML_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "broker/rc.h"
#include "broker/saml/saml_crypto.h"

typedef enum eh_saml_role {
    EH_SAML_ROLE_CONNECTOR = 0, /* SPSSODescriptor */
    EH_SAML_ROLE_PROXY = 1,     /* IDPSSODescriptor */
} eh_saml_role;

/* What we publish. */
typedef struct eh_saml_metadata_spec {
    eh_saml_role role;
    const char *entity_id;    /* the metadata's own URL */
    const char *endpoint;     /* Connector: ACS URL; Proxy-Service: SSO URL (both bindings) */
    const char *node_country; /* ISO 3166-1 alpha-2 */
    const char *sp_type;      /* Connector: "public" | "private" | NULL (none published) */
    const char *signing_cert_pem;    /* our signing certificate (PEM) */
    const char *encryption_cert_pem; /* our encryption certificate (PEM), or NULL */
    int64_t now;
    unsigned valid_s; /* validUntil = now + valid_s */
    const char *org_name; /* md:Organization name, or NULL */
    const char *slo_endpoint; /* md:SingleLogoutService (SOAP binding) Location, or NULL */
} eh_saml_metadata_spec;

/* eh_saml_metadata_build writes the EntityDescriptor of s, signed with the
 * first key of signer (alg) and lists the algorithms eidhub supports
 * (saml_crypto.h). *xml (caller frees, *len) is the document's text. */
eh_rc eh_saml_metadata_build(const eh_saml_metadata_spec *s, const eh_saml_keys *signer,
                             eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                             size_t whylen);

/* What we learn from a peer's metadata. */
typedef struct eh_saml_metadata {
    eh_saml_role role;
    char *entity_id;
    char *node_country;      /* or NULL when the metadata has none */
    char *sp_type;           /* Connector: its eidas:SPType, or NULL */
    char *endpoint;          /* Connector: ACS URL (HTTP-POST); Proxy: SSO URL (HTTP-POST) */
    int64_t valid_until;     /* seconds since the epoch */
    eh_saml_keys *signing;   /* its signing keys (from KeyDescriptors use="signing" or no use) */
    eh_saml_keys *encryption; /* its encryption keys (use="encryption" or no use) */
    char *slo_endpoint; /* its md:SingleLogoutService with the SOAP binding (an absolute
                         * http(s) URL), or NULL: it takes no logout (eidas.md) */
} eh_saml_metadata;

void eh_saml_metadata_free(eh_saml_metadata *m);

/* eh_saml_metadata_parse checks an untrusted metadata document: parsed with
 * eh_saml_parse; root md:EntityDescriptor; signed (eh_saml_verify) by a
 * key of anchor and read only from the covered root; validUntil present and
 * after now; entityID equal to expect_entity_id when not NULL; a
 * descriptor for role with an HTTP-POST endpoint (an absolute http(s) URL)
 * and at least one usable signing key (RSA >= 3072 or EC >= 256 bits; a
 * Connector also an encryption key, RSA). EH_ERR_INVALID with a reason that
 * quotes no input. *out: caller frees. An md:SingleLogoutService with the
 * SOAP binding gives slo_endpoint; one that is not an absolute http(s) URL
 * is ignored (NULL), so a peer's logout never stands in the way of login. */
eh_rc eh_saml_metadata_parse(const char *xml, size_t len, const eh_saml_keys *anchor,
                             eh_saml_role role, const char *expect_entity_id, int64_t now,
                             eh_saml_metadata **out, char *why, size_t whylen);

#endif
