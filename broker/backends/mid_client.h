/* eidhub: the MID REST API client (blocking libcurl calls, bounded by the
 * configured timeouts; the module runs Mobile-ID handlers in its thread
 * pool). Everything the API answers is validated before it is used. */
#ifndef EH_MID_CLIENT_H
#define EH_MID_CLIENT_H

#include <stddef.h>

#include "broker/backends/mobile_id.h"
#include "broker/rc.h"

typedef struct eh_mid_session {
    char *state;               /* "RUNNING" or "COMPLETE" */
    char *result;              /* "OK", "USER_CANCELLED", ... (COMPLETE only) */
    char *signature_value;     /* base64 */
    char *signature_algorithm; /* e.g. "SHA256WithECEncryption" */
    char *cert;                /* base64 DER */
} eh_mid_session;

/* eh_mid_client_start asks MID to authenticate (POST /authentication) and
 * returns the session id (caller frees). EH_ERR_INVALID when MID refuses a
 * parameter (400), EH_ERR_CONFIG when it refuses us (401/403), EH_ERR_IO when
 * it cannot be reached or fails (5xx, timeout, bad answer). why gets a
 * short reason without personal data, for the log. */
eh_rc eh_mid_client_start(const eh_mid *mid, const char *phone, const char *personal_code,
                          const unsigned char *hash, const char *language, char **session_id,
                          char *why, size_t whylen);

/* eh_mid_client_poll asks for the session's state with the configured long
 * poll (GET /authentication/session/{id}?timeoutMs=N) and fills s (release
 * with eh_mid_session_clear). EH_ERR_NOT_FOUND when MID no longer knows the
 * session (404), EH_ERR_IO as above. */
eh_rc eh_mid_client_poll(const eh_mid *mid, const char *session_id, eh_mid_session *s, char *why,
                         size_t whylen);

/* eh_mid_session_parse reads a session answer (len bytes of JSON, the body
 * of a 200 to the poll) into s (zeroed first; release with
 * eh_mid_session_clear, done here on failure). EH_ERR_IO, with why, when it
 * is not a JSON object, has no state or an unknown one, or is COMPLETE
 * without a result. Unknown members are ignored. No network: the poll
 * calls it, and so do the unit and fuzz tests. */
eh_rc eh_mid_session_parse(const char *body, size_t len, eh_mid_session *s, char *why,
                           size_t whylen);

void eh_mid_session_clear(eh_mid_session *s);

#endif
