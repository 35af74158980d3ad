/* eidhub: the revocation check of SK ID Solutions' certificates (OCSP,
 * RFC 6960), as SK's own reference TARA does it.
 *
 * After eh_sk_verify has accepted a Mobile-ID or Smart-ID answer, the
 * citizen's authentication certificate is checked with its CA's OCSP
 * responder before anyone is let in:
 *
 *   - the request (OpenSSL's OCSP API) names the certificate by a SHA-1
 *     CertID (what SK's responders support) of its issuer, the configured
 *     trust anchor that issued it, and carries a random nonce (unless
 *     switched off); it is POSTed as application/ocsp-request to the
 *     configured URL, or else to the OCSP URL of the certificate's
 *     Authority Information Access extension (SK: http://aia.sk.ee/...);
 *   - the answer must be "successful", a basic response signed either by
 *     the configured responder certificate (TARA's responder-certificate)
 *     or, when none is configured, by a responder the issuing CA delegated
 *     (its certificate issued by that CA with id-kp-OCSPSigning) or by the
 *     issuing CA itself; its nonce must be ours, its single response must be
 *     about our CertID, its thisUpdate neither later than now plus the
 *     clock skew nor older than max_age (plus the skew), its nextUpdate (if
 *     any) not past;
 *   - the status must be good. Revoked is its own outcome (the citizen is
 *     told so); unknown and every answer that cannot be trusted are refused;
 *     no answer at all (unreachable, timeout, an HTTP error) is refused too:
 *     the check fails closed.
 *
 * A delegated responder whose certificate verified in full is remembered
 * for 5 minutes: its next answers about certificates of the same issuer
 * have their signature checked with its key, without building its chain
 * again (the chain check is a fifth of a login's cryptography). Another
 * signer, another issuer, or a signature that does not verify with it goes
 * through the whole check again.
 *
 * One eh_sk_ocsp serves many threads; after eh_sk_ocsp_new only that
 * remembered responder changes, under its own lock.
 * The HTTP call blocks (http_client.h): only the thread-pool handlers of the
 * SK flow call eh_sk_ocsp_check. Reasons ("why") are short English texts
 * that never contain personal data (no subject, no serial number). */
#ifndef EH_SK_OCSP_H
#define EH_SK_OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "broker/backends/sk_verify.h"
#include "broker/rc.h"

typedef struct eh_sk_ocsp eh_sk_ocsp;
typedef struct eh_sk_ocsp_query eh_sk_ocsp_query;

/* What the "ocsp" settings of a backend say (see docs/configuration.md). */
typedef struct eh_sk_ocsp_config {
    const char *url;                   /* or NULL: the certificate's AIA OCSP URL */
    const char *responder_certificate; /* PEM file, or NULL: delegated by the CA */
    unsigned timeout_ms;               /* the whole HTTP call */
    unsigned max_age_s;                /* how old thisUpdate may be */
    unsigned clock_skew_s;             /* tolerated difference of clocks, either way */
    int nonce;                         /* send a nonce and require it back */
} eh_sk_ocsp_config;

/* What the check found. */
typedef enum eh_sk_ocsp_status {
    EH_SK_OCSP_GOOD = 0,    /* the responder vouches for the certificate */
    EH_SK_OCSP_REVOKED,     /* the responder says it is revoked (or on hold) */
    EH_SK_OCSP_REFUSED,     /* unknown, or an answer that cannot be trusted */
    EH_SK_OCSP_UNAVAILABLE, /* no answer: unreachable, timeout, HTTP error */
} eh_sk_ocsp_status;

/* eh_sk_ocsp_new makes the checker of config (copied) with trust's store
 * (borrowed: trust must outlive the checker) into *out (caller owns,
 * eh_sk_ocsp_free). Refuses with EH_ERR_KEY a responder certificate file
 * that cannot be read or holds no certificate, and with EH_ERR_INVALID a
 * url that is not http(s); err (errlen bytes) gets a one-line reason. */
eh_rc eh_sk_ocsp_new(const eh_sk_ocsp_config *config, const eh_sk_trust *trust, eh_sk_ocsp **out,
                     char *err, size_t errlen);

/* eh_sk_ocsp_free releases o (NULL is fine). */
void eh_sk_ocsp_free(eh_sk_ocsp *o);

/* eh_sk_ocsp_query_for prepares the request about the certificate cert
 * (only read) into *out (caller owns, eh_sk_ocsp_query_free): its issuer
 * among the trust anchors, the CertID, a fresh nonce, the DER request and
 * the URL to send it to. EH_ERR_INVALID for a NULL argument, EH_ERR_KEY
 * when no trust anchor issued cert, EH_ERR_NOT_FOUND when there is no URL
 * (none configured, none in the certificate), with a reason in why. */
eh_rc eh_sk_ocsp_query_for(const eh_sk_ocsp *o, X509 *cert, eh_sk_ocsp_query **out, char *why,
                           size_t whylen);

/* eh_sk_ocsp_query_new is eh_sk_ocsp_query_for of the DER certificate cert
 * (len bytes), which must parse whole (EH_ERR_INVALID otherwise). */
eh_rc eh_sk_ocsp_query_new(const eh_sk_ocsp *o, const unsigned char *cert, size_t len,
                           eh_sk_ocsp_query **out, char *why, size_t whylen);

/* eh_sk_ocsp_query_free releases q (NULL is fine). */
void eh_sk_ocsp_query_free(eh_sk_ocsp_query *q);

/* eh_sk_ocsp_query_der returns q's DER request (borrowed) and its length in
 * *len; eh_sk_ocsp_query_url the URL it goes to (borrowed). */
const unsigned char *eh_sk_ocsp_query_der(const eh_sk_ocsp_query *q, size_t *len);
const char *eh_sk_ocsp_query_url(const eh_sk_ocsp_query *q);

/* eh_sk_ocsp_answer_check checks the responder's answer (len bytes of DER
 * at der) to q at time now (seconds since the epoch) as the file comment
 * says, and returns EH_SK_OCSP_GOOD, EH_SK_OCSP_REVOKED or
 * EH_SK_OCSP_REFUSED, with a reason in why ("" when good). */
eh_sk_ocsp_status eh_sk_ocsp_answer_check(const eh_sk_ocsp *o, const eh_sk_ocsp_query *q,
                                          const unsigned char *der, size_t len, int64_t now,
                                          char *why, size_t whylen);

/* eh_sk_ocsp_check is the whole check of the certificate cert (only read;
 * the one eh_sk_verify parsed and verified, eh_sk_subject's certificate):
 * the query, one blocking POST, and the answer's check at now. A call that
 * gets no answer, or an HTTP status other than 200, is
 * EH_SK_OCSP_UNAVAILABLE; a request that cannot be made (NULL, no issuer,
 * no URL) is EH_SK_OCSP_REFUSED. */
eh_sk_ocsp_status eh_sk_ocsp_check(const eh_sk_ocsp *o, X509 *cert, int64_t now, char *why,
                                   size_t whylen);

#endif
