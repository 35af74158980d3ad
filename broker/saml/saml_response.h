/* eidhub: the eIDAS Response, built (Proxy-Service) and consumed (Connector).
 *
 * A Proxy-Service answers an AuthnRequest with a samlp:Response signed by
 * it, whose single saml:Assertion is signed too and then encrypted for the
 * Connector (AES-GCM, RSA-OAEP key transport): Issuer, Subject (NameID and
 * a bearer SubjectConfirmation with InResponseTo, Recipient, NotOnOrAfter),
 * Conditions (NotBefore, NotOnOrAfter, AudienceRestriction), AuthnStatement
 * (AuthnInstant, the LoA URI) and an AttributeStatement with the eIDAS
 * attributes (xsi:type from the eIDAS attribute schemas). A failure is a
 * signed Response with a non-success status and no assertion.
 *
 * A Connector consumes it with every check of SECURITY.md's SAML section,
 * reading only what verified signatures cover (docs/saml.md). */
#ifndef EH_SAML_RESPONSE_H
#define EH_SAML_RESPONSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/authn.h"
#include "broker/rc.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_crypto.h"

/* What a Proxy-Service says. */
typedef struct eh_saml_response_spec {
    const char *id;             /* the Response's ID ("_" + random) */
    const char *assertion_id;   /* the Assertion's ID ("_" + random) */
    const char *issuer;         /* our Proxy-Service entity id */
    const char *destination;    /* the Connector's ACS URL */
    const char *in_response_to; /* the request's ID */
    const char *audience;       /* the Connector's entity id */
    int64_t now;                /* IssueInstant, NotBefore (seconds since the epoch) */
    unsigned valid_s;           /* NotOnOrAfter = now + valid_s (assertion and confirmation) */
    /* the status: EH_SAML_STATUS_SUCCESS with an assertion, or a top-level
     * code (Requester, Responder) with an optional second-level sub_status
     * and message, and then no assertion */
    const char *status;
    const char *sub_status;
    const char *status_message;
    /* the assertion (status success only) */
    const char *name_id;        /* the NameID's value */
    const char *name_id_format; /* EH_SAML_NAMEID_* */
    eh_loa loa;
    eh_loa_comparison comparison; /* EXACT: the NonNotified URI of loa */
    int64_t authn_instant;
    const json_t *attributes; /* object: eIDAS URI -> string value (one value each) */
} eh_saml_response_spec;

/* eh_saml_response_build writes s as a samlp:Response and returns its text
 * (*xml, caller frees; *len). With a success status the assertion is signed
 * with signer (alg), then encrypted for the first RSA key of recipient
 * (enc), and then the Response is signed; without one only the Response is
 * signed (recipient may be NULL). */
eh_rc eh_saml_response_build(const eh_saml_response_spec *s, const eh_saml_keys *signer,
                             eh_saml_sig_alg alg, const eh_saml_keys *recipient,
                             eh_saml_enc_alg enc, char **xml, size_t *len, char *why,
                             size_t whylen);

/* What a Connector expects of a response. */
typedef struct eh_saml_response_expect {
    const char *issuer;          /* the Proxy-Service asked (its entity id) */
    const eh_saml_keys *trusted; /* its signing keys, from its signed metadata */
    const eh_saml_keys *ours;    /* our decryption keys */
    const char *destination;     /* our ACS URL: Destination and Recipient */
    const char *audience;        /* our Connector entity id */
    const char *in_response_to;  /* the ID of the request this browser's transaction sent */
    eh_loa min_loa;              /* the level asked ... */
    eh_loa_comparison comparison; /* ... and how */
    int64_t now;
    unsigned skew_s; /* tolerated clock difference */
} eh_saml_response_expect;

/* What a Connector learns from a response. */
typedef struct eh_saml_response_result {
    char *issuer;
    char *in_response_to;
    char *status;         /* top-level status code */
    char *sub_status;     /* second-level code, or NULL */
    char *status_message; /* or NULL; untrusted text, never logged */
    /* success only: */
    char *assertion_id;
    int64_t not_on_or_after; /* the assertion's (keep its ID until then against replay) */
    char *name_id;
    char *name_id_format;
    eh_loa loa;
    int64_t authn_instant;
    json_t *attributes; /* object: eIDAS URI -> array of strings (full text of each value) */
} eh_saml_response_result;

void eh_saml_response_result_free(eh_saml_response_result *r);

/* eh_saml_response_consume checks an untrusted Response document (base64-
 * decoded already) against x and fills a new *out (caller frees).
 *
 * A non-success status that is otherwise valid (signed by the expected
 * issuer, right Destination and InResponseTo) is EH_OK with out->status
 * telling it; the caller turns it into an error, never a login.
 *
 * Refused with EH_ERR_INVALID (a reason in why that quotes no input):
 * anything eh_saml_parse refuses; a root other than samlp:Response 2.0; an
 * Issuer other than x->issuer (on the Response and on the Assertion); a
 * Response without a signature or whose signature does not verify with
 * x->trusted (KeyInfo never counts); a Destination or InResponseTo other
 * than expected; a success without exactly one EncryptedAssertion (a plain
 * Assertion, or an assertion next to another, is refused); an assertion that
 * does not decrypt with x->ours, or is not itself signed by the issuer
 * (signature wrapping: only the elements each verified signature covers are
 * read, located through eh_saml_verify's covered node); a Subject without
 * NameID or bearer SubjectConfirmationData with our Recipient, the
 * InResponseTo and an unexpired NotOnOrAfter; Conditions with NotBefore
 * beyond now + skew, NotOnOrAfter at or before now - skew, or no Audience
 * equal to x->audience; no AuthnStatement or an unknown LoA; an
 * IssueInstant in the future beyond the skew. An otherwise valid assertion
 * whose LoA does not satisfy the requested one (eh_loa_satisfies; a
 * non-notified LoA unless exact comparison was asked) is EH_ERR_UNMET, so
 * the caller can tell the citizen so. Replay (the same assertion ID twice) is the caller's check,
 * through the store, with out->assertion_id and out->not_on_or_after. */
eh_rc eh_saml_response_consume(const char *xml, size_t len, const eh_saml_response_expect *x,
                               eh_saml_response_result **out, char *why, size_t whylen);

#endif
