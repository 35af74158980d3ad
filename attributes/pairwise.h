/* eidhub: pairwise pseudonymous subjects (OpenID Connect Core section 8.1).
 *
 * The same citizen gets the same subject at one sector (a relying party,
 * or several that share a sector) whichever method they used, and subjects
 * at two sectors cannot be linked without the broker's secret:
 * sub = base64url(HMAC-SHA256(secret, sector || 0x00 || subject)). */
#ifndef EH_PAIRWISE_H
#define EH_PAIRWISE_H

#include <stddef.h>

#include "broker/rc.h"

#define EH_PAIRWISE_SECRET_MIN 32

/* eh_pairwise_subject computes the pairwise subject of subject (e.g.
 * "EE38001085718") at sector with the secret (at least
 * EH_PAIRWISE_SECRET_MIN bytes) into a new string (caller frees). */
eh_rc eh_pairwise_subject(const unsigned char *secret, size_t secret_len, const char *sector,
                          const char *subject, char **out);

#endif
