/* eidhub: the eIDAS AuthnRequest, built (Connector) and checked (Proxy-Service).
 *
 * A Connector asks a Proxy-Service to authenticate a citizen with a signed
 * samlp:AuthnRequest carrying the eIDAS extensions (PROTOCOLS.md section 1):
 * eidas:SPType, optional eidas:RequesterID, eidas:RequestedAttributes; a
 * NameIDPolicy; a RequestedAuthnContext with the LoA URI (Comparison
 * "minimum", or "exact" with a non-notified URI). Both bindings carry the
 * same document: HTTP-POST (base64 in the form field SAMLRequest) and
 * HTTP-Redirect (deflated; the enveloped signature is still required, the
 * query-string signature of the Redirect binding is not used by eIDAS). */
#ifndef EH_SAML_AUTHN_REQUEST_H
#define EH_SAML_AUTHN_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "broker/authn.h"
#include "broker/rc.h"
#include "broker/saml/saml_crypto.h"

#define EH_SAML_MAX_REQUESTED 32 /* requested attributes accepted in one request */

typedef struct eh_saml_requested_attr {
    char *name;      /* the attribute's URI, e.g. ".../naturalperson/PersonIdentifier" */
    int is_required; /* isRequired="true" */
} eh_saml_requested_attr;

typedef struct eh_saml_authn_request {
    char *id;            /* the request's ID: "_" + random (xs:ID, must not start with a digit) */
    char *issuer;        /* the Connector's entity id (its metadata URL) */
    char *destination;   /* the Proxy-Service's SSO URL */
    char *acs_url;       /* AssertionConsumerServiceURL, or NULL (then the Connector's metadata's) */
    char *provider_name; /* ProviderName, or NULL */
    char *sp_type;       /* "public" | "private", or NULL (then the Connector's metadata's) */
    char *requester_id;  /* eidas:RequesterID (v1.2), or NULL */
    eh_saml_requested_attr *attrs;
    size_t n_attrs;
    char *name_id_format; /* EH_SAML_NAMEID_*, or NULL (none asked) */
    eh_loa loa;           /* the level asked */
    eh_loa_comparison comparison; /* MINIMUM (notified URI) or EXACT (NonNotified URI) */
    int force_authn;
    int64_t issue_instant; /* seconds since the epoch */
} eh_saml_authn_request;

/* eh_saml_authn_request_free releases r and everything it holds (NULL fine). */
void eh_saml_authn_request_free(eh_saml_authn_request *r);

/* eh_saml_authn_request_build writes r as a samlp:AuthnRequest signed with
 * the first key of signer under alg (the signature after saml:Issuer) and
 * returns the document's text in *xml (NUL-terminated, caller frees, *len
 * its length). r->id (an xs:ID), issuer, destination, a known LoA and 1 to
 * EH_SAML_MAX_REQUESTED named attributes are required, sp_type and
 * name_id_format must be ones the parser accepts (EH_ERR_INVALID
 * otherwise); the LoA URI is the notified one for EH_LOA_MINIMUM and the
 * NonNotified one for EH_LOA_EXACT. */
eh_rc eh_saml_authn_request_build(const eh_saml_authn_request *r, const eh_saml_keys *signer,
                                  eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                  size_t whylen);

/* How a Proxy-Service finds the trusted keys of the Connector that signed a
 * request: given the Issuer's text, return its signing keys from signed,
 * unexpired metadata (borrowed until release is called with the same
 * handle), or EH_ERR_NOT_FOUND for an unknown issuer. */
typedef struct eh_saml_trust {
    eh_rc (*keys_of)(void *ctx, const char *issuer, const eh_saml_keys **keys, void **handle);
    void (*release)(void *ctx, void *handle);
    void *ctx;
} eh_saml_trust;

/* What the Proxy-Service expects of a request. */
typedef struct eh_saml_request_expect {
    const char *destination; /* our SSO URL: the request's Destination must equal it */
    int64_t now;             /* seconds since the epoch */
    unsigned skew_s;         /* tolerated clock difference for IssueInstant */
    unsigned max_age_s;      /* a request issued longer ago than this (plus skew_s) is refused */
} eh_saml_request_expect;

/* eh_saml_authn_request_parse checks an untrusted AuthnRequest document
 * (already base64-decoded; inflated for the Redirect binding) and fills a
 * new *out (caller frees). Refuses (EH_ERR_INVALID, a reason in why that
 * quotes no input) anything eh_saml_parse refuses; a root that is not
 * samlp:AuthnRequest version 2.0; a missing, unknown (trust->keys_of) or
 * non-entity Issuer; a missing signature or one that does not verify with
 * the issuer's keys (eh_saml_verify: only the covered root is read); a
 * Destination other than x->destination; an IssueInstant in the future
 * beyond skew or older than max_age_s + skew; an ID that is not an xs:ID; an
 * unknown SPType (a missing one is accepted: sp_type NULL, the caller takes
 * the Connector metadata's); no RequestedAttributes or more than
 * EH_SAML_MAX_REQUESTED; an attribute without Name or with a NameFormat
 * other than uri; a RequestedAuthnContext missing, with a Comparison absent
 * or other than minimum (notified URIs) or exact (NonNotified URIs), or
 * with no known LoA URI (unknown URIs are skipped; of several known ones
 * the lowest level is taken); a NameIDPolicy Format not
 * persistent/transient/unspecified. Attributes the registry does not know
 * are kept (the caller ignores them, as eIDAS says). Text of every element
 * is read in full (comments inside do not cut a value). An error of
 * trust->keys_of other than EH_ERR_NOT_FOUND is returned as it is; keys
 * it lends are always released before returning. */
eh_rc eh_saml_authn_request_parse(const char *xml, size_t len, const eh_saml_trust *trust,
                                  const eh_saml_request_expect *x, eh_saml_authn_request **out,
                                  char *why, size_t whylen);

#endif
