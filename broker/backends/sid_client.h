/* eidhub: the Smart-ID RP API v2 client (blocking libcurl calls, bounded by
 * the configured timeouts; the module runs Smart-ID handlers in its thread
 * pool). Everything the API answers is validated before it is used; the
 * parsing of a session answer is separate (eh_sid_session_parse) so it can
 * be tested without a server. */
#ifndef EH_SID_CLIENT_H
#define EH_SID_CLIENT_H

#include <stddef.h>

#include "broker/backends/smart_id.h"
#include "broker/rc.h"

typedef struct eh_sid_session {
    char *state;           /* "RUNNING" or "COMPLETE" */
    char *end_result;      /* result.endResult: "OK", "USER_REFUSED", ... (COMPLETE only) */
    char *document_number; /* result.documentNumber */
    char *signature_value; /* signature.value, base64 */
    char *signature_algorithm;
    char *cert;             /* cert.value, base64 DER */
    char *cert_level;       /* cert.certificateLevel: "QUALIFIED" or "ADVANCED" */
    char *interaction_flow; /* interactionFlowUsed */
} eh_sid_session;

/* eh_sid_client_start asks Smart-ID to authenticate (POST
 * authentication/etsi/<id> when kind is "etsi", id a semantics identifier
 * "PNOEE-38001085718"; authentication/document/<id> when kind is
 * "document") with hash (the settings' hash_len bytes), the interactions
 * verificationCodeChoice then displayTextAndPIN showing display_text (at
 * most 60 characters), and returns the session id (caller frees). *status
 * gets the HTTP status of the answer (0 when none came). Errors: EH_ERR_IO
 * for any answer but 200 or none at all, EH_ERR_INVALID for an id that is
 * not safe in a URL path. why gets a short reason without personal data,
 * for the log. */
eh_rc eh_sid_client_start(const eh_sid *sid, const char *kind, const char *id,
                          const unsigned char *hash, const char *display_text, char **session_id,
                          long *status, char *why, size_t whylen);

/* eh_sid_client_poll asks for the session's state with the configured long
 * poll (GET session/<id>?timeoutMs=N) and fills s (release with
 * eh_sid_session_clear). *status and errors as for the start. */
eh_rc eh_sid_client_poll(const eh_sid *sid, const char *session_id, eh_sid_session *s, long *status,
                         char *why, size_t whylen);

/* eh_sid_session_parse reads a session answer (len bytes of JSON) into s
 * (zeroed first; release with eh_sid_session_clear, done here on failure).
 * EH_ERR_IO, with why, when it is not JSON, has no state or an unknown one,
 * or is COMPLETE without result.endResult. Unknown members are ignored. */
eh_rc eh_sid_session_parse(const char *body, size_t len, eh_sid_session *s, char *why,
                           size_t whylen);

/* eh_sid_http_result names the Smart-ID HTTP errors that concern the
 * citizen, as results with their own message ("sid_<RESULT>"):
 *   404 ACCOUNT_NOT_FOUND at the start (no account for that person or
 *       document), TIMEOUT on a poll (the session expired);
 *   471 NO_SUITABLE_ACCOUNT (only accounts of a lower level);
 *   472 VIEW_APP (the person must open the app or the self-service portal);
 *   480 CLIENT_TOO_OLD; 580 UNDER_MAINTENANCE.
 * Any other status returns NULL (our problem: 400, 401, 403, 5xx...). */
const char *eh_sid_http_result(long status, int at_start);

/* eh_sid_personal_code checks code as a personal code of country and
 * writes it as Smart-ID's semantics identifiers spell it into out (outlen
 * bytes): "EE", "LT" eleven digits with the Estonian checksum (which
 * Lithuania shares); "LV" "DDMMYY-NNNNN" (the dash may be left out) with its
 * checksum, or without one for the codes from 2017 that begin "32".
 * Returns 1, or 0 (out "") when country or code is not valid. */
int eh_sid_personal_code(const char *country, const char *code, char *out, size_t outlen);

/* eh_sid_document_valid tells whether a document number looks like one
 * ("PNOEE-38001085718-MOCK-Q": 1 to 64 ASCII letters, digits and '-'). */
int eh_sid_document_valid(const char *document);

void eh_sid_session_clear(eh_sid_session *s);

#endif
