/* eidhub: what the Mobile-ID and Smart-ID API clients share: the call
 * itself, the hash as the APIs want it, checking what goes into an API URL
 * path, taking the session id out of a start answer, and copying string
 * members of the answers. */
#ifndef EH_SK_API_H
#define EH_SK_API_H

#include <jansson.h>
#include <stddef.h>

#include "broker/backends/sk_flow.h"
#include "broker/http_client.h"
#include "broker/rc.h"

#define EH_SK_PATH_PART_MAX 64

/* eh_sk_call makes one call of an SK API (service names it in reasons:
 * "Mobile-ID", "Smart-ID"): call's method, url, body, timeout_ms and
 * upstream are the caller's; the pinned key and the connect timeout come
 * from sk. *status is the answer's HTTP status (0 without an answer).
 * EH_OK only for 200; another status is EH_ERR_IO with a reason naming it.
 * The caller clears answer in every case. */
eh_rc eh_sk_call(const eh_sk_settings *sk, eh_http_call *call, const char *service,
                 eh_http_answer *answer, long *status, char *why, size_t whylen);

/* eh_sk_hash_b64 puts the hash (sk->hash_len bytes) in base64, the form
 * the start requests carry, into *out (caller frees); 0 when out of
 * memory. */
int eh_sk_hash_b64(const eh_sk_settings *sk, const unsigned char *hash, char **out);

/* eh_sk_path_part_ok accepts what may go into an API URL path (session
 * ids, document numbers, semantics identifiers): 1 to EH_SK_PATH_PART_MAX
 * letters, digits and '-'. */
int eh_sk_path_part_ok(const char *s);

/* eh_sk_session_id_of takes the "sessionID" of a start answer (len bytes
 * of JSON at body) into *out (caller frees). EH_ERR_IO, with a reason
 * naming service in why, when there is none or it is not path-safe. */
eh_rc eh_sk_session_id_of(const char *body, size_t len, const char *service, char **out,
                          char *why, size_t whylen);

/* eh_sk_copy_member copies the string member name of obj (when present)
 * into a new string in *dst; returns 0 only when that copy fails. */
int eh_sk_copy_member(const json_t *obj, const char *name, char **dst);

/* eh_sk_state_ok checks a session answer's state: "RUNNING", or "COMPLETE"
 * with an outcome (MID's result, Smart-ID's endResult; outcome_name names
 * it in the reason). EH_ERR_IO with a reason naming service otherwise. */
eh_rc eh_sk_state_ok(const char *state, const char *outcome, const char *service,
                     const char *outcome_name, char *why, size_t whylen);

#endif
