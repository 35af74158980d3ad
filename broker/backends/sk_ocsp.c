/* eidhub: the OCSP revocation check of SK certificates (see sk_ocsp.h). */
#include "broker/backends/sk_ocsp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "broker/http_client.h"

/* An SK certificate is about 2 KiB of DER: a DER certificate is refused
 * above this. */
#define EH_SK_OCSP_CERT_MAX (16 * 1024)

/* How long a delegated responder whose certificate was verified in full
 * (its chain to a trust anchor, id-kp-OCSPSigning from the issuing CA) is
 * remembered: within it, its next answers about certificates of the same
 * issuer are verified with its key as a configured responder's are, without
 * building its chain again. */
#define EH_SK_OCSP_DELEGATE_TTL_S 300

/* The delegated responder last verified in full (one per checker: an SK CA
 * has one responder). Guarded by lock: many threads share the checker. */
typedef struct eh_sk_ocsp_delegate {
    pthread_mutex_t lock;
    X509 *responder;     /* NULL: none yet */
    OCSP_CERTID *issuer; /* a CertID of the issuer it answered for (issuer hashes compared) */
    int64_t until;       /* remembered until then */
} eh_sk_ocsp_delegate;

struct eh_sk_ocsp {
    char *url;                       /* or NULL: the certificate's AIA */
    X509 *responder;                 /* or NULL: delegated by the issuing CA */
    STACK_OF(X509) * responder_list; /* responder alone, for OCSP_basic_verify */
    X509_STORE *store;               /* borrowed from the trust */
    unsigned timeout_ms, max_age_s, clock_skew_s;
    int nonce;
    eh_sk_ocsp_delegate *delegate; /* the only part that changes after eh_sk_ocsp_new */
};

struct eh_sk_ocsp_query {
    OCSP_REQUEST *req;
    OCSP_CERTID *id; /* the request's CertID (a copy) */
    unsigned char *der;
    size_t der_len;
    char *url;
};

/* eh_sk_ocsp_url_ok accepts http and https URLs. */
static int eh_sk_ocsp_url_ok(const char *url)
{
    return url && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) &&
           strpbrk(url, " \t\r\n") == NULL;
}

/* eh_sk_ocsp_no_passphrase: a certificate file never needs one. */
static int eh_sk_ocsp_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* eh_sk_ocsp_load_responder reads the first certificate of the PEM file. */
static eh_rc eh_sk_ocsp_load_responder(const char *file, X509 **out, char *err, size_t errlen)
{
    FILE *fp = fopen(file, "re");
    eh_rc rc = EH_OK;

    if (!fp) {
        eh_why(err, errlen, "%s: cannot open the responder certificate: %s", file, strerror(errno));
        return EH_ERR_KEY;
    }
    *out = PEM_read_X509(fp, NULL, eh_sk_ocsp_no_passphrase, NULL);
    if (!*out) {
        eh_why(err, errlen, "%s: no PEM certificate found", file);
        rc = EH_ERR_KEY;
    }
    fclose(fp);
    ERR_clear_error();
    return rc;
}

eh_rc eh_sk_ocsp_new(const eh_sk_ocsp_config *config, const eh_sk_trust *trust, eh_sk_ocsp **out,
                     char *err, size_t errlen)
{
    eh_sk_ocsp *o = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (!config || !out || !eh_sk_trust_store_get(trust)) {
        eh_why(err, errlen, "no trust anchors for the OCSP check");
        return EH_ERR_INVALID;
    }
    if (config->url && !eh_sk_ocsp_url_ok(config->url)) {
        eh_why(err, errlen, "the OCSP URL must be http:// or https://");
        return EH_ERR_INVALID;
    }
    o = calloc(1, sizeof(*o));
    if (!o)
        goto cleanup;
    if (!(o->delegate = calloc(1, sizeof(*o->delegate))))
        goto cleanup;
    if (pthread_mutex_init(&o->delegate->lock, NULL) != 0) {
        free(o->delegate);
        o->delegate = NULL;
        goto cleanup;
    }
    o->store = eh_sk_trust_store_get(trust);
    o->timeout_ms = config->timeout_ms;
    o->max_age_s = config->max_age_s;
    o->clock_skew_s = config->clock_skew_s;
    o->nonce = config->nonce;
    if (config->url && !(o->url = strdup(config->url)))
        goto cleanup;
    if (config->responder_certificate) {
        rc = eh_sk_ocsp_load_responder(config->responder_certificate, &o->responder, err, errlen);
        if (rc != EH_OK)
            goto cleanup;
        rc = EH_ERR_NOMEM;
        if (!(o->responder_list = sk_X509_new_null()) ||
            !sk_X509_push(o->responder_list, o->responder))
            goto cleanup;
    }
    *out = o;
    o = NULL;
    rc = EH_OK;
cleanup:
    eh_sk_ocsp_free(o);
    return rc;
}

void eh_sk_ocsp_free(eh_sk_ocsp *o)
{
    if (!o)
        return;
    sk_X509_free(o->responder_list); /* the list only: the certificate is o->responder */
    X509_free(o->responder);
    if (o->delegate) {
        pthread_mutex_destroy(&o->delegate->lock);
        X509_free(o->delegate->responder);
        OCSP_CERTID_free(o->delegate->issuer);
        free(o->delegate);
    }
    free(o->url);
    free(o);
}

void eh_sk_ocsp_query_free(eh_sk_ocsp_query *q)
{
    if (!q)
        return;
    OCSP_REQUEST_free(q->req);
    OCSP_CERTID_free(q->id);
    OPENSSL_free(q->der);
    free(q->url);
    free(q);
}

/* eh_sk_ocsp_aia_url copies the first http(s) OCSP URL of the certificate's
 * Authority Information Access into *out (NULL when there is none). */
static eh_rc eh_sk_ocsp_aia_url(X509 *cert, char **out)
{
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(cert);
    eh_rc rc = EH_OK;

    *out = NULL;
    for (int i = 0; i < sk_OPENSSL_STRING_num(urls); i++) {
        const char *u = sk_OPENSSL_STRING_value(urls, i);
        if (eh_sk_ocsp_url_ok(u)) {
            if (!(*out = strdup(u)))
                rc = EH_ERR_NOMEM;
            break;
        }
    }
    X509_email_free(urls);
    return rc;
}

/* eh_sk_ocsp_issuer finds the trust anchor that issued cert (*out, caller
 * frees). */
static eh_rc eh_sk_ocsp_issuer(X509_STORE *store, X509 *cert, X509 **out)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if (!ctx || X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
        goto cleanup;
    rc = X509_STORE_CTX_get1_issuer(out, ctx, cert) == 1 && *out ? EH_OK : EH_ERR_KEY;
cleanup:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

eh_rc eh_sk_ocsp_query_new(const eh_sk_ocsp *o, const unsigned char *cert, size_t len,
                           eh_sk_ocsp_query **out, char *why, size_t whylen)
{
    const unsigned char *p = cert;
    X509 *x = NULL;
    eh_rc rc;

    if (!o || !cert || len == 0 || len > EH_SK_OCSP_CERT_MAX || !out ||
        !(x = d2i_X509(NULL, &p, (long)len)) || p != cert + len) {
        eh_why(why, whylen, "the certificate does not parse");
        X509_free(x);
        ERR_clear_error();
        return EH_ERR_INVALID;
    }
    rc = eh_sk_ocsp_query_for(o, x, out, why, whylen);
    X509_free(x);
    return rc;
}

eh_rc eh_sk_ocsp_query_for(const eh_sk_ocsp *o, X509 *x, eh_sk_ocsp_query **out, char *why,
                           size_t whylen)
{
    eh_sk_ocsp_query *q = NULL;
    OCSP_CERTID *id = NULL;
    X509 *issuer = NULL;
    unsigned char *der = NULL;
    int n;
    eh_rc rc = EH_ERR_INVALID;

    eh_why(why, whylen, "%s", "");
    if (!o || !x || !out) {
        eh_why(why, whylen, "missing argument");
        goto cleanup;
    }
    if ((rc = eh_sk_ocsp_issuer(o->store, x, &issuer)) != EH_OK) {
        eh_why(why, whylen, "no trusted CA issued the certificate");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if (!(q = calloc(1, sizeof(*q))))
        goto cleanup;
    if (o->url) {
        if (!(q->url = strdup(o->url)))
            goto cleanup;
    } else {
        if ((rc = eh_sk_ocsp_aia_url(x, &q->url)) != EH_OK)
            goto cleanup;
        if (!q->url) {
            eh_why(why, whylen, "the certificate names no OCSP responder and none is configured");
            rc = EH_ERR_NOT_FOUND;
            goto cleanup;
        }
        rc = EH_ERR_NOMEM;
    }
    /* SHA-1: the only CertID hash SK's responders support (and RFC 6960's
     * usual one) */
    if (!(id = OCSP_cert_to_id(EVP_sha1(), x, issuer)) || !(q->id = OCSP_CERTID_dup(id)) ||
        !(q->req = OCSP_REQUEST_new()) || !OCSP_request_add0_id(q->req, id))
        goto cleanup;
    id = NULL; /* the request's now */
    if (o->nonce && OCSP_request_add1_nonce(q->req, NULL, -1) != 1)
        goto cleanup;
    if ((n = i2d_OCSP_REQUEST(q->req, &der)) <= 0)
        goto cleanup;
    q->der = der;
    q->der_len = (size_t)n;
    *out = q;
    q = NULL;
    rc = EH_OK;
cleanup:
    OCSP_CERTID_free(id);
    X509_free(issuer);
    eh_sk_ocsp_query_free(q);
    ERR_clear_error();
    return rc;
}

const unsigned char *eh_sk_ocsp_query_der(const eh_sk_ocsp_query *q, size_t *len)
{
    if (len)
        *len = q ? q->der_len : 0;
    return q ? q->der : NULL;
}

const char *eh_sk_ocsp_query_url(const eh_sk_ocsp_query *q)
{
    return q ? q->url : NULL;
}

/* eh_sk_ocsp_valid_at tells whether cert is within its validity at now
 * (X509_cmp_time: 0 is an error, never "valid"). */
static int eh_sk_ocsp_valid_at(X509 *cert, int64_t now)
{
    time_t t = (time_t)now;
    return X509_cmp_time(X509_get0_notBefore(cert), &t) < 0 &&
           X509_cmp_time(X509_get0_notAfter(cert), &t) > 0;
}

/* eh_sk_ocsp_signed_by verifies that responder (trusted as it is: no
 * chain, no delegation check) signed bs. */
static int eh_sk_ocsp_signed_by(const eh_sk_ocsp *o, X509 *responder, OCSP_BASICRESP *bs)
{
    STACK_OF(X509) *list = sk_X509_new_null();
    int ok = list && sk_X509_push(list, responder) &&
             OCSP_basic_verify(bs, list, o->store, OCSP_NOINTERN | OCSP_TRUSTOTHER) == 1;
    sk_X509_free(list); /* the list only */
    return ok;
}

/* eh_sk_ocsp_delegate_get returns (up-referenced, caller frees) the
 * remembered delegated responder when it is signer itself, it answered for
 * the issuer of id, and it is still remembered at now; else NULL. */
static X509 *eh_sk_ocsp_delegate_get(eh_sk_ocsp_delegate *d, X509 *signer, const OCSP_CERTID *id,
                                     int64_t now)
{
    X509 *known = NULL;

    pthread_mutex_lock(&d->lock);
    if (d->responder && now < d->until && X509_cmp(d->responder, signer) == 0 &&
        OCSP_id_issuer_cmp(d->issuer, id) == 0 && X509_up_ref(d->responder) == 1)
        known = d->responder;
    pthread_mutex_unlock(&d->lock);
    return known;
}

/* eh_sk_ocsp_delegate_put remembers signer, verified in full at now as a
 * responder for the issuer of id (nothing is remembered when a copy
 * fails: the next answer is verified in full again). */
static void eh_sk_ocsp_delegate_put(eh_sk_ocsp_delegate *d, X509 *signer, const OCSP_CERTID *id,
                                    int64_t now)
{
    OCSP_CERTID *issuer = OCSP_CERTID_dup((OCSP_CERTID *)id);

    if (!issuer || X509_up_ref(signer) != 1) {
        OCSP_CERTID_free(issuer);
        return;
    }
    pthread_mutex_lock(&d->lock);
    X509_free(d->responder);
    OCSP_CERTID_free(d->issuer);
    d->responder = signer;
    d->issuer = issuer;
    d->until = now + EH_SK_OCSP_DELEGATE_TTL_S;
    pthread_mutex_unlock(&d->lock);
}

/* eh_sk_ocsp_signed_ok verifies who signed bs, an answer to a query about
 * id: the configured responder, valid at now, or else one the issuing CA
 * delegated (or that CA). *verified (borrowed from bs) is set to a
 * delegated signer that was verified in full, for the caller to remember
 * once the answer proves to be about id; else NULL. */
static int eh_sk_ocsp_signed_ok(const eh_sk_ocsp *o, OCSP_BASICRESP *bs, const OCSP_CERTID *id,
                                int64_t now, X509 **verified, char *why, size_t whylen)
{
    X509 *signer = NULL, *known = NULL;
    int ok;

    *verified = NULL;
    if (o->responder) {
        if (!eh_sk_ocsp_valid_at(o->responder, now)) {
            eh_why(why, whylen, "the configured responder certificate is not valid now");
            return 0;
        }
        /* only the configured certificate may have signed */
        ok = eh_sk_ocsp_signed_by(o, o->responder, bs);
        if (!ok)
            eh_why(why, whylen, "the answer is not signed by the configured responder");
        return ok;
    }
    /* the delegated responder verified in full a moment ago, for the same
     * issuer, still valid: its signature is all that is left to check */
    if (OCSP_resp_get0_signer(bs, &signer, NULL) != 1)
        signer = NULL;
    if (signer && (known = eh_sk_ocsp_delegate_get(o->delegate, signer, id, now))) {
        ok = eh_sk_ocsp_valid_at(known, now) && eh_sk_ocsp_signed_by(o, known, bs);
        X509_free(known);
        if (ok)
            return 1;
        ERR_clear_error(); /* and verified in full below */
    }
    /* the signer's chain ends at a configured CA (each one a trust anchor)
     * and the signer is the certificate's issuer or holds id-kp-OCSPSigning
     * from it */
    ok = OCSP_basic_verify(bs, NULL, o->store, OCSP_NOEXPLICIT | OCSP_PARTIAL_CHAIN) == 1;
    if (!ok)
        eh_why(why, whylen,
               "the answer is not signed by the issuing CA or a responder it delegated");
    else
        *verified = signer;
    return ok;
}

/* eh_sk_ocsp_times_ok checks thisUpdate and nextUpdate at now. */
static int eh_sk_ocsp_times_ok(const eh_sk_ocsp *o, const ASN1_GENERALIZEDTIME *this_update,
                               const ASN1_GENERALIZEDTIME *next_update, int64_t now, char *why,
                               size_t whylen)
{
    time_t latest = (time_t)(now + (int64_t)o->clock_skew_s);
    time_t oldest = (time_t)(now - (int64_t)o->max_age_s - (int64_t)o->clock_skew_s);
    time_t passed = (time_t)(now - (int64_t)o->clock_skew_s);
    int c;

    if (!this_update) {
        eh_why(why, whylen, "the answer has no thisUpdate");
        return 0;
    }
    if ((c = ASN1_TIME_cmp_time_t(this_update, latest)) > 0 || c == -2) {
        eh_why(why, whylen, "the answer's thisUpdate is in the future");
        return 0;
    }
    if (ASN1_TIME_cmp_time_t(this_update, oldest) < 0) {
        eh_why(why, whylen, "the answer is older than max_age_seconds");
        return 0;
    }
    if (next_update && ASN1_TIME_cmp_time_t(next_update, passed) < 0) {
        eh_why(why, whylen, "the answer's nextUpdate has passed");
        return 0;
    }
    return 1;
}

eh_sk_ocsp_status eh_sk_ocsp_answer_check(const eh_sk_ocsp *o, const eh_sk_ocsp_query *q,
                                          const unsigned char *der, size_t len, int64_t now,
                                          char *why, size_t whylen)
{
    const unsigned char *p = der;
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
    X509 *verified = NULL;
    int status, reason = -1, n;
    eh_sk_ocsp_status result = EH_SK_OCSP_REFUSED;

    eh_why(why, whylen, "%s", "");
    if (!o || !q || !der || len == 0 || len > EH_HTTP_CLIENT_MAX_BODY ||
        !(resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) || p != der + len) {
        eh_why(why, whylen, "the answer is not an OCSP response");
        goto cleanup;
    }
    if ((status = OCSP_response_status(resp)) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        eh_why(why, whylen, "the responder answered %s", OCSP_response_status_str(status));
        goto cleanup;
    }
    if (!(bs = OCSP_response_get1_basic(resp))) {
        eh_why(why, whylen, "the answer is not a basic OCSP response");
        goto cleanup;
    }
    if (!eh_sk_ocsp_signed_ok(o, bs, q->id, now, &verified, why, whylen))
        goto cleanup;
    if (o->nonce && (n = OCSP_check_nonce(q->req, bs)) != 1) {
        eh_why(why, whylen, "%s",
               n == -1 ? "the answer has no nonce" : "the answer's nonce is not ours");
        goto cleanup;
    }
    if (OCSP_resp_find_status(bs, q->id, &status, &reason, &revoked_at, &this_update,
                              &next_update) != 1) {
        eh_why(why, whylen, "the answer is not about the certificate asked about");
        goto cleanup;
    }
    /* a delegated responder is remembered for an issuer only once it has
     * been verified in full in an answer about that issuer's certificate
     * (OpenSSL checked the delegation against the answer's CertIDs, ours
     * among them) */
    if (verified != NULL)
        eh_sk_ocsp_delegate_put(o->delegate, verified, q->id, now);
    if (!eh_sk_ocsp_times_ok(o, this_update, next_update, now, why, whylen))
        goto cleanup;
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
        result = EH_SK_OCSP_GOOD;
        break;
    case V_OCSP_CERTSTATUS_REVOKED:
        eh_why(why, whylen, "the certificate is revoked (%s)",
               reason >= 0 ? OCSP_crl_reason_str(reason) : "no reason given");
        result = EH_SK_OCSP_REVOKED;
        break;
    default:
        eh_why(why, whylen, "the responder does not know the certificate");
        break;
    }
cleanup:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    ERR_clear_error();
    return result;
}

eh_sk_ocsp_status eh_sk_ocsp_check(const eh_sk_ocsp *o, X509 *cert, int64_t now, char *why,
                                   size_t whylen)
{
    eh_sk_ocsp_query *q = NULL;
    eh_http_answer answer = {0};
    eh_http_call call = {0};
    const unsigned char *der;
    size_t der_len;
    char curl_why[256];
    eh_rc rc;
    eh_sk_ocsp_status result = EH_SK_OCSP_REFUSED;

    eh_why(why, whylen, "%s", "");
    if (eh_sk_ocsp_query_for(o, cert, &q, why, whylen) != EH_OK)
        goto cleanup;
    der = eh_sk_ocsp_query_der(q, &der_len);
    call.method = "POST";
    call.url = eh_sk_ocsp_query_url(q);
    call.timeout_ms = o->timeout_ms;
    call.connect_timeout_ms = o->timeout_ms;
    call.raw_body = der;
    call.raw_body_len = der_len;
    call.raw_content_type = "application/ocsp-request";
    call.raw_accept = "application/ocsp-response";
    call.upstream = EH_UPSTREAM_OCSP;
    rc = eh_http_client_call(&call, &answer, curl_why, sizeof(curl_why));
    if (rc != EH_OK) {
        eh_why(why, whylen, "the OCSP responder did not answer: %s", curl_why);
        result = rc == EH_ERR_TOO_LARGE ? EH_SK_OCSP_REFUSED : EH_SK_OCSP_UNAVAILABLE;
        goto cleanup;
    }
    if (answer.status != 200) {
        eh_why(why, whylen, "the OCSP responder answered HTTP %ld", answer.status);
        result = EH_SK_OCSP_UNAVAILABLE;
        goto cleanup;
    }
    result = eh_sk_ocsp_answer_check(o, q, (const unsigned char *)answer.body, answer.body_len, now,
                                     why, whylen);
cleanup:
    eh_http_answer_clear(&answer);
    eh_sk_ocsp_query_free(q);
    return result;
}
