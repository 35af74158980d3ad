/* eidhub: random identifiers and tokens.
 *
 * Every id a browser or a client sees (transaction, code, access token,
 * CSRF token) is 256 bits from OpenSSL's CSPRNG, base64url without padding
 * (43 characters). */
#ifndef EH_RANDOM_H
#define EH_RANDOM_H

#include <stddef.h>

#include "broker/rc.h"

#define EH_TOKEN_BYTES 32

/* eh_random_bytes fills buf with len random bytes. */
eh_rc eh_random_bytes(unsigned char *buf, size_t len);

/* eh_random_token returns EH_TOKEN_BYTES random bytes as base64url text
 * (caller frees). */
eh_rc eh_random_token(char **out);

/* eh_token_digest returns base64url(SHA-256(token)) (caller frees): tokens
 * are stored under their digest, so a copy of the store holds no usable
 * code or access token. */
eh_rc eh_token_digest(const char *token, char **out);

/* eh_token_equal compares two NUL-terminated secrets in constant time for
 * equal lengths. */
int eh_token_equal(const char *a, const char *b);

#endif
