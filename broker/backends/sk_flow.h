/* eidhub: what the SK ID Solutions backends (Mobile-ID, Smart-ID) share.
 *
 * Both authenticate the same way: the citizen fills a small form (checked
 * before any call and rate-limited in the store), eidhub makes a random
 * hash and shows its verification code, the service asks the citizen's
 * device to sign the hash, the browser follows the session with short polls
 * (the wait page's script, or a meta refresh without JavaScript), and the
 * answer is verified (certificate chain and validity, signature over
 * exactly our hash, subject equal to the person who started) before an
 * identity goes to the flow. A citizen who takes two minutes holds no
 * worker and no thread, only the transaction in the store.
 *
 * This file holds that flow once: the pages (form, wait, status, finish,
 * failure), the transaction's backend state, the rate limits, the recording
 * of an outcome and the completion. Each backend describes itself with an
 * eh_sk_ops (a table, not macros): its name and URL prefix, its form
 * fields, its client calls and its result names. Its own file keeps only
 * that.
 *
 * For backend "<prefix>" the pages are
 *   GET  /auth/<prefix>          the form ("<prefix>-form", "<prefix>-submit")
 *   POST /auth/<prefix>          validate, rate-limit, make the hash; start
 *                                the session now (start_on_submit) or let
 *                                the first poll start it, after the wait
 *                                page has shown the code
 *   GET  /auth/<prefix>/wait     the verification code ("verification-code")
 *   GET  /auth/<prefix>/status   one short poll: {"state":"RUNNING"|"COMPLETE"}
 *   GET  /auth/<prefix>/finish   on to the requester, or a clear message
 *                                ("error", "try-again", "cancel")
 * and the catalog keys "<prefix>_title", "_submit", "_unavailable",
 * "_verify_failed", "_revoked", "_revocation_unavailable", "_rate_limited",
 * "_verification_code", "_check_phone", "_waiting" and "<prefix>_<RESULT>"
 * for every result in ops->results.
 *
 * The transaction's backend object (txn->backend) while a login runs:
 *   {"method": name, "entered": {the form's values}, "hash": base64 (the
 *    verification code is derived from it when shown), "session": id,
 *    "starting": seconds, "outcome": result,
 *    "identity": {...}}
 * and after a failure only {"retry": {the form's values}}, so the form
 * shows them again. Personal codes and phone numbers live there (in the
 * store, bound to the browser's cookie), never in a log. */
#ifndef EH_SK_FLOW_H
#define EH_SK_FLOW_H

#include <jansson.h>
#include <stddef.h>

#include "broker/authn.h"
#include "broker/http.h"
#include "broker/json_check.h"
#include "broker/rc.h"

struct eh_broker;
struct eh_buf;
struct eh_sk_trust;

/* The settings both services take (see docs/mobile-id.md, docs/smart-id.md). */
typedef struct eh_sk_settings {
    char *url; /* API base, without a trailing '/' */
    char *rp_uuid;
    char *rp_name;
    char *pinned_public_key; /* curl's "sha256//..." pins, or NULL */
    char *display_text;      /* or NULL */
    char *hash_type;         /* "SHA256", "SHA384", "SHA512" */
    size_t hash_len;         /* 32, 48, 64 */
    unsigned poll_timeout_ms;
    unsigned request_timeout_ms;
    unsigned limit_person, limit_phone, limit_address, limit_window_s;
    struct eh_sk_trust *trust;
    struct eh_sk_ocsp *ocsp; /* the revocation check, NULL when "ocsp": false */
} eh_sk_settings;

/* What differs between the services' settings. */
typedef struct eh_sk_settings_spec {
    const char *service;     /* "Mobile-ID": in messages */
    size_t display_text_max; /* characters of display_text */
    int per_phone;           /* rate_limit has "per_phone" */
    const char *const *own;  /* the backend's own members, NULL-terminated, or NULL */
} eh_sk_settings_spec;

/* eh_sk_settings_load validates the shared members of settings (the JSON
 * object at path in file) into *out (zeroed by the caller; release with
 * eh_sk_settings_clear, also on failure): url (required, https or loopback
 * http), relying_party_uuid and relying_party_name (required),
 * trusted_ca_files (required, resolved against the file's folder),
 * pinned_public_key, display_text (at most spec->display_text_max),
 * hash_type (SHA256 default, SHA384, SHA512), poll_timeout_ms (1000..5000,
 * default 1000), request_timeout_ms (500..60000, default 5000) and
 * rate_limit ({"per_person": 5, ["per_phone": 5,] "per_client_address": 30,
 * "window_seconds": 300}) and ocsp (the revocation check, sk_ocsp.h: on
 * unless false; an object may set url, responder_certificate, timeout_ms
 * 500..60000 (3000), max_age_seconds 1..86400 (900), clock_skew_seconds
 * 0..600 (60), nonce (true)). Any member not named here nor in spec->own is an
 * error. Errors are one line "<file>: <path>...: <what>" in v. */
eh_rc eh_sk_settings_load(eh_check *v, const json_t *settings, const char *path,
                          const eh_sk_settings_spec *spec, eh_sk_settings *out);

/* eh_sk_settings_clear frees what s holds and zeroes it. */
void eh_sk_settings_clear(eh_sk_settings *s);

/* One rate-limit counter of an attempt: "rl:<prefix>:<kind>:<digest of
 * value>" may count limit attempts per window. */
typedef struct eh_sk_counter {
    const char *kind;  /* "person", "phone" */
    const char *value; /* borrowed */
    unsigned limit;
} eh_sk_counter;

#define EH_SK_COUNTERS_MAX 4
#define EH_SK_OUTCOME_MAX 64

/* What one poll of a session found. */
typedef struct eh_sk_poll {
    int running;                     /* the citizen has not answered yet */
    char outcome[EH_SK_OUTCOME_MAX]; /* else: "OK", a result of the service,
                                      * "verify_failed", "revoked",
                                      * "revocation_unavailable" or "unavailable" */
    eh_identity *identity;           /* with "OK": the verified identity (the flow frees it) */
    char why[256];                   /* with "unavailable": a reason for the log */
} eh_sk_poll;

/* A backend of this flow. Every function gets the backend's loaded state
 * (eh_broker_backend_get) and may be called from many threads at once. */
typedef struct eh_sk_ops {
    const char *name;           /* registry name and the txn's "method": "mobile_id" */
    const char *prefix;         /* URL part, catalog prefix, element ids, rate-limit keys: "mid" */
    const char *const *results; /* results with a message "<prefix>_<RESULT>", NULL-terminated */
    int start_on_submit;        /* 1: POST starts the session; 0: the first poll does */
    const eh_sk_settings *(*settings)(const void *state);
    /* form_fields appends the form's own inputs: labels, inputs, each input's
     * value from values (an object, may be NULL) or, where it fits, from the
     * requester's login_hint (may be NULL). */
    void (*form_fields)(struct eh_buf *out, const char *locale, const json_t *values,
                        const char *login_hint);
    /* read_form checks the posted form (no call upstream). Valid: EH_OK and
     * *entered, a new object of the values the login goes on with. Not valid:
     * EH_ERR_INVALID, *error_key (a catalog key) and *entered, a new object of
     * the values that may be shown again (or NULL). */
    eh_rc (*read_form)(const void *state, const eh_http_request *req, json_t **entered,
                       const char **error_key);
    /* counters fills out with the backend's own counters of an attempt and
     * returns how many (the client address is counted by the flow). */
    size_t (*counters)(const void *state, const json_t *entered,
                       eh_sk_counter out[EH_SK_COUNTERS_MAX]);
    eh_rc (*verification_code)(const unsigned char *hash, size_t len, char out[5]);
    /* start asks the service to authenticate entered with hash (of the
     * settings' hash_len) and returns the session id (*session, caller
     * frees). On failure: outcome gets a result of ops->results when the
     * service refused the citizen (e.g. no account), else stays "", and why
     * a reason for the log. */
    eh_rc (*start)(const void *state, const json_t *entered, const unsigned char *hash,
                   const char *locale, char **session, char outcome[EH_SK_OUTCOME_MAX], char *why,
                   size_t whylen);
    /* poll asks once for session and fills *out; the answer OK is verified
     * (eh_sk_flow_verify and the backend's own checks) before it is "OK". */
    void (*poll)(const void *state, const json_t *entered, const unsigned char *hash,
                 size_t hash_len, const char *session, eh_sk_poll *out);
} eh_sk_ops;

/* eh_sk_flow_verify checks an answer's signature and certificate over hash
 * with the settings' trust (eh_sk_verify) and, when personal_code is not
 * NULL, that the certificate's subject is that person of country; then
 * that the certificate is not revoked (eh_sk_ocsp_check, unless the
 * settings switch it off; this blocks for one HTTP call); then builds the
 * identity (method name, loa, now) into *out (caller frees). outcome gets
 * "OK", or why not: "verify_failed", "revoked" (the responder says so) or
 * "revocation_unavailable" (no answer from the responder: try later).
 * Refusals are logged as "<name>: answer refused: <reason>" without
 * personal data. */
eh_rc eh_sk_flow_verify(const eh_sk_settings *s, const char *name, const unsigned char *hash,
                        size_t hash_len, const char *signature_b64, const char *cert_b64,
                        const char *country, const char *personal_code, eh_loa loa,
                        eh_identity **out, char outcome[EH_SK_OUTCOME_MAX]);

/* eh_sk_outcome_set writes text into outcome (cut to fit). */
void eh_sk_outcome_set(char outcome[EH_SK_OUTCOME_MAX], const char *text);

/* The handlers of the pages above, for the backend ops describes; a
 * backend's own handlers (the dispatch table's) call these. */
eh_rc eh_sk_form_handle(const eh_sk_ops *ops, struct eh_broker *b, const eh_http_request *req,
                        eh_http_response *resp);
eh_rc eh_sk_start_handle(const eh_sk_ops *ops, struct eh_broker *b, const eh_http_request *req,
                         eh_http_response *resp);
eh_rc eh_sk_wait_handle(const eh_sk_ops *ops, struct eh_broker *b, const eh_http_request *req,
                        eh_http_response *resp);
eh_rc eh_sk_status_handle(const eh_sk_ops *ops, struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp);
eh_rc eh_sk_finish_handle(const eh_sk_ops *ops, struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp);

#endif
