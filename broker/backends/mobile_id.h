/* eidhub: the Mobile-ID backend (SK ID Solutions' MID REST API).
 *
 * The citizen enters phone number and personal code (checked before any
 * call: E.164, Estonian checksum; rate-limited per person, phone and client
 * address in the store), eidhub asks MID to have the phone sign a random
 * hash, shows the verification code of that hash, and follows the session
 * with short polls driven by the browser (the status page's script, or a
 * meta refresh without JavaScript), so a citizen who takes two minutes holds
 * no worker and no thread. The answer is verified (result OK, certificate
 * chain and validity, signature over exactly our hash, subject equal to the
 * person who started, not revoked according to the CA's OCSP responder:
 * sk_ocsp.h) before an identity goes to the flow.
 *
 * Settings, the member "mobile_id" of the configuration's "backends":
 *   url                  MID REST base, e.g. https://tsp.demo.sk.ee/mid-api (required)
 *   relying_party_uuid   (required)
 *   relying_party_name   (required)
 *   trusted_ca_files     PEM files of the CAs that issue Mobile-ID certificates (required)
 *   pinned_public_key    curl's "sha256//..." pins of the API's TLS key (recommended)
 *   display_text         shown on the phone, at most 40 characters
 *   hash_type            SHA256 (default), SHA384 or SHA512
 *   poll_timeout_ms      long-poll per status request, 1000..5000 (default 1000)
 *   request_timeout_ms   bound on each call beyond the long poll (default 5000)
 *   rate_limit           {"per_person": 5, "per_phone": 5, "per_client_address": 30,
 *                         "window_seconds": 300}
 *   ocsp                 the revocation check: on unless false; {"url", "responder_certificate",
 *                         "timeout_ms": 3000, "max_age_seconds": 900,
 *                         "clock_skew_seconds": 60, "nonce": true}
 */
#ifndef EH_MOBILE_ID_H
#define EH_MOBILE_ID_H

#include <jansson.h>
#include <stddef.h>

#include "broker/backends/sk_flow.h"
#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

typedef struct eh_mid {
    eh_sk_settings sk; /* every setting is one the SK flow shares */
} eh_mid;

/* Backend registry hooks (broker/backends/backend.c). */
eh_rc eh_mid_load(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen);
void eh_mid_free(void *state);

/* Handlers (broker/dispatch.c):
 *   GET  /auth/mid          the form
 *   POST /auth/mid          validate, rate-limit, start the MID session
 *   GET  /auth/mid/wait     the verification code and progress page
 *   GET  /auth/mid/status   one short poll, JSON {"state": "RUNNING" | "COMPLETE"}
 *   GET  /auth/mid/finish   the outcome: on to the requester, or a clear message */
eh_rc eh_mid_form_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_mid_start_handle(struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp);
eh_rc eh_mid_wait_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_mid_status_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp);
eh_rc eh_mid_finish_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp);

/* eh_mid_phone_valid accepts E.164: '+' and 8 to 15 digits, no leading 0. */
int eh_mid_phone_valid(const char *phone);

#endif
