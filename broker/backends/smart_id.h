/* eidhub: the Smart-ID backend (SK ID Solutions' Smart-ID RP API v2).
 *
 * The citizen enters a personal code and its country (Estonia, Latvia,
 * Lithuania), or a Smart-ID document number. Both are checked before any
 * call and rate-limited per person and client address in the store. eidhub
 * makes a random hash and shows its verification code on the wait page
 * before the request is sent: the first poll of that page starts the
 * Smart-ID session (POST authentication/etsi/PNO<country>-<code> or
 * authentication/document/<number>) with the interactions
 * verificationCodeChoice, then displayTextAndPIN for apps without it, and
 * the following polls follow it (GET session/<id>, a short long-poll each),
 * so a citizen who takes two minutes holds no worker and no thread. The
 * answer is verified (endResult OK, certificate chain and validity,
 * certificateLevel at least the one asked, signature over exactly our hash,
 * subject the person who started, or the document asked for, certificate
 * not revoked according to the CA's OCSP responder: sk_ocsp.h) before an
 * identity goes to the flow. Pages, state and rate limits are the SK flow's
 * (sk_flow.h); this backend adds its form, its client and its results.
 *
 * Settings, the member "smart_id" of the configuration's "backends": those
 * of Mobile-ID (mobile_id.h) but for rate_limit's per_phone, and
 *   url                  RP API v2 base, e.g. https://sid.demo.sk.ee/smart-id-rp/v2
 *   certificate_level    QUALIFIED (default: level of assurance high) or
 *                        ADVANCED (substantial)
 *   display_text         shown in the app, at most 60 characters (default:
 *                        "Log in" in the citizen's language)
 *   rate_limit           {"per_person": 5, "per_client_address": 30,
 *                         "window_seconds": 300}
 */
#ifndef EH_SMART_ID_H
#define EH_SMART_ID_H

#include <jansson.h>
#include <stddef.h>

#include "broker/authn.h"
#include "broker/backends/sk_flow.h"
#include "broker/http.h"
#include "broker/rc.h"

struct eh_broker;

typedef struct eh_sid {
    eh_sk_settings sk;
    char *certificate_level; /* "QUALIFIED" or "ADVANCED" */
    eh_loa loa;              /* EH_LOA_HIGH or EH_LOA_SUBSTANTIAL */
} eh_sid;

/* Backend registry hooks (broker/backends/backend.c). eh_sid_loa is the level
 * a loaded state authenticates at (its certificate_level's). */
eh_rc eh_sid_load(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen);
void eh_sid_free(void *state);
eh_loa eh_sid_loa(const void *state);

/* eh_sid_level_loa maps a certificate level to its level of assurance:
 * QUALIFIED high, ADVANCED substantial, anything else EH_LOA_NONE. */
eh_loa eh_sid_level_loa(const char *certificate_level);

/* Handlers (broker/dispatch.c):
 *   GET  /auth/sid          the form
 *   POST /auth/sid          validate, rate-limit, make the hash and its code
 *   GET  /auth/sid/wait     the verification code and progress page
 *   GET  /auth/sid/status   one step (the start, then short polls), JSON
 *                           {"state": "RUNNING" | "COMPLETE"}
 *   GET  /auth/sid/finish   the outcome: on to the requester, or a clear message */
eh_rc eh_sid_form_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_sid_start_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_sid_wait_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_sid_status_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);
eh_rc eh_sid_finish_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);

#endif
