/* eidhub: SAML Single Logout between eIDAS nodes, SOAP binding.
 *
 * eIDAS v1.2 defines no logout and the EU eIDAS-Node offers none; eidhub
 * ends sessions at a peer only when the peer's signed metadata lists a
 * md:SingleLogoutService with the SOAP binding (EH_SAML_BINDING_SOAP). The
 * messages (SAML core 3.7) go server to server, each in a SOAP 1.1
 * envelope (SAML bindings 3.2), as the body of an HTTP POST whose answer
 * carries the response:
 *
 *   samlp:LogoutRequest  ID, Version, IssueInstant, Destination (the peer's
 *                        SLO URL), saml:Issuer (our entity id), ds:Signature,
 *                        saml:NameID (with Format) as the login gave it,
 *                        optional samlp:SessionIndex
 *   samlp:LogoutResponse ID, Version, IssueInstant, InResponseTo, optional
 *                        Destination, saml:Issuer, ds:Signature,
 *                        samlp:Status
 *
 * Both are signed (ECDSA or RSASSA-PSS, eh_saml_sign) and checked as
 * strictly as an AuthnRequest: signature by the peer's metadata keys only
 * (never KeyInfo), and only the element the signature covers is read. */
#ifndef EH_SAML_LOGOUT_H
#define EH_SAML_LOGOUT_H

#include <stddef.h>
#include <stdint.h>

#include "broker/http.h"
#include "broker/rc.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_crypto.h"

#define EH_SAML_BINDING_SOAP "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
#define EH_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define EH_SAML_LOGOUT_MAX (64 * 1024)                   /* bytes of a logout message accepted */
#define EH_SAML_CONNECTOR_SLO_PATH "/saml/connector/slo" /* our Connector's SingleLogoutService */
#define EH_SAML_PROXY_SLO_PATH "/saml/proxy/slo"         /* our Proxy-Service's */

typedef struct eh_saml_logout_request {
    char *id;              /* "_" + random (an xs:ID) */
    char *issuer;          /* the sender's entity id */
    char *destination;     /* the receiver's SLO URL */
    int64_t issue_instant; /* seconds since the epoch */
    char *name_id;         /* the citizen's NameID, as the login gave it */
    char *name_id_format;  /* its Format, or NULL */
    char *session_index;   /* or NULL */
} eh_saml_logout_request;

void eh_saml_logout_request_free(eh_saml_logout_request *r);

/* eh_saml_logout_request_build writes r as a samlp:LogoutRequest signed
 * with the first key of signer (alg; the signature after saml:Issuer)
 * inside a SOAP 1.1 envelope, and returns the envelope's text (*xml, NUL-
 * terminated, caller frees; *len). r->id (an xs:ID), issuer, destination
 * and name_id are required (EH_ERR_INVALID otherwise). */
eh_rc eh_saml_logout_request_build(const eh_saml_logout_request *r, const eh_saml_keys *signer,
                                   eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                   size_t whylen);

/* What a receiver expects of a LogoutRequest. */
typedef struct eh_saml_logout_expect {
    const char *destination; /* our SLO URL: the request's Destination must equal it */
    int64_t now;             /* seconds since the epoch */
    unsigned skew_s;         /* tolerated clock difference */
    unsigned max_age_s;      /* a request issued longer ago than this is refused */
} eh_saml_logout_expect;

/* eh_saml_logout_request_parse checks an untrusted SOAP envelope holding a
 * LogoutRequest and fills a new *out (caller frees). Refused with
 * EH_ERR_INVALID (a reason in why that quotes no input): anything
 * eh_saml_parse refuses (DOCTYPE, too large, too deep); a root other than a
 * SOAP 1.1 Envelope with one Body holding exactly one element, a
 * samlp:LogoutRequest of Version 2.0; a missing, non-entity or unknown
 * (trust->keys_of) Issuer; no signature, or one that does not verify with
 * the Issuer's keys or does not cover the LogoutRequest; an ID that is not
 * an xs:ID; a Destination other than x->destination; an IssueInstant in the
 * future beyond the skew or older than max_age_s; a NotOnOrAfter that has
 * passed (beyond the skew); not exactly one NameID (an EncryptedID is
 * refused), an empty one; more than one SessionIndex. Errors of
 * trust->keys_of other than EH_ERR_NOT_FOUND are returned as they are;
 * the keys it lends are released before returning. */
eh_rc eh_saml_logout_request_parse(const char *xml, size_t len, const eh_saml_trust *trust,
                                   const eh_saml_logout_expect *x, eh_saml_logout_request **out,
                                   char *why, size_t whylen);

typedef struct eh_saml_logout_response {
    char *id;             /* "_" + random */
    char *issuer;         /* the responder's entity id */
    char *destination;    /* the requester's SLO URL, or NULL (SOAP: optional) */
    char *in_response_to; /* the request's ID */
    int64_t issue_instant;
    char *status;         /* EH_SAML_STATUS_SUCCESS, _REQUESTER or _RESPONDER */
    char *sub_status;     /* second-level code, or NULL */
    char *status_message; /* or NULL; from a peer: untrusted text, never logged */
} eh_saml_logout_response;

void eh_saml_logout_response_free(eh_saml_logout_response *r);

/* eh_saml_logout_response_build writes r as a samlp:LogoutResponse signed
 * with the first key of signer (alg) inside a SOAP 1.1 envelope (*xml,
 * caller frees; *len). r->id, issuer, in_response_to and status are
 * required. */
eh_rc eh_saml_logout_response_build(const eh_saml_logout_response *r, const eh_saml_keys *signer,
                                    eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                    size_t whylen);

/* What a requester expects of the LogoutResponse to its request. */
typedef struct eh_saml_logout_response_expect {
    const char *issuer;          /* the peer asked (its entity id) */
    const eh_saml_keys *trusted; /* its signing keys, from its signed metadata */
    const char *in_response_to;  /* the ID of our LogoutRequest */
    const char *destination;     /* our SLO URL: a Destination, when present, must equal it */
    int64_t now;
    unsigned skew_s;
    unsigned max_age_s;
} eh_saml_logout_response_expect;

/* eh_saml_logout_response_parse checks an untrusted SOAP envelope holding
 * a LogoutResponse against x and fills a new *out (caller frees). A
 * non-success status that is otherwise valid is EH_OK with out->status
 * telling it. Refused with EH_ERR_INVALID (a reason that quotes no input):
 * what eh_saml_parse refuses; no SOAP Envelope/Body with exactly one
 * samlp:LogoutResponse of Version 2.0; an Issuer other than x->issuer; no
 * signature, or one not valid with x->trusted or not covering the
 * LogoutResponse; an InResponseTo other than x->in_response_to; a
 * Destination (when present) other than x->destination; an IssueInstant in
 * the future beyond the skew or older than max_age_s; not exactly one
 * Status with a StatusCode. */
eh_rc eh_saml_logout_response_parse(const char *xml, size_t len,
                                    const eh_saml_logout_response_expect *x,
                                    eh_saml_logout_response **out, char *why, size_t whylen);

/* ------------------------------------------------------ the SOAP binding */

/* eh_saml_soap_read checks that req is a SOAP 1.1 message: POST, a
 * Content-Type text/xml, a body of 1 to EH_SAML_LOGOUT_MAX bytes, which it
 * lends (*xml, *len; valid as long as req). EH_ERR_INVALID, EH_ERR_TOO_LARGE
 * or EH_ERR_HTTP_METHOD otherwise, with *status the HTTP status to answer. */
eh_rc eh_saml_soap_read(const eh_http_request *req, const char **xml, size_t *len, int *status);

/* eh_saml_soap_fault answers resp with a SOAP 1.1 Fault (HTTP 500, as SOAP
 * 1.1 wants, text/xml): faultcode soap:Client (client non-zero: the
 * message was refused) or soap:Server, and the fixed text (never input). */
eh_rc eh_saml_soap_fault(eh_http_response *resp, int client, const char *text);

/* eh_saml_logout_respond answers resp (HTTP 200, text/xml) with a signed
 * LogoutResponse in a SOAP envelope: a fresh ID, IssueInstant now, issuer,
 * destination (may be NULL), in_response_to, status and sub_status (may be
 * NULL). */
eh_rc eh_saml_logout_respond(eh_http_response *resp, const char *issuer, const char *destination,
                             const char *in_response_to, const char *status, const char *sub_status,
                             const eh_saml_keys *signer, eh_saml_sig_alg alg, char *why,
                             size_t whylen);

/* A peer we send a LogoutRequest to. */
typedef struct eh_saml_logout_peer {
    const char *url;             /* its SOAP SingleLogoutService (from its signed metadata) */
    const char *entity_id;       /* its entity id: the LogoutResponse's Issuer */
    const eh_saml_keys *trusted; /* its signing keys, from its signed metadata */
} eh_saml_logout_peer;

/* eh_saml_logout_exchange sends a LogoutRequest for the NameID of r
 * (r->issuer, name_id, name_id_format, session_index; the ID, IssueInstant
 * and Destination = peer->url are made fresh for each try) by HTTP POST
 * (text/xml, no redirects, http(s) only, timeout_ms per try) and checks the
 * answer with eh_saml_logout_response_parse (Destination, when present,
 * our_slo). A try fails when no answer comes, its status is not 200 or it
 * is refused; at most tries are made. On EH_OK *status (caller frees) is
 * the LogoutResponse's top-level status and *sub_status (caller frees;
 * NULL) its second-level one; *attempts says how many tries were made.
 * Otherwise EH_ERR_IO (why: the last try's reason, quoting no input).
 * Blocking: call only from thread-pool handlers. */
eh_rc eh_saml_logout_exchange(const eh_saml_logout_request *r, const eh_saml_logout_peer *peer,
                              const char *our_slo, const eh_saml_keys *signer, eh_saml_sig_alg alg,
                              unsigned skew_s, unsigned timeout_ms, int tries, char **status,
                              char **sub_status, int *attempts, char *why, size_t whylen);

#endif
