/* eidhub: secrets an operator keeps: client secrets (stored only as their
 * SHA-256) and the secret of pairwise subjects (a file). */
#ifndef EH_SECRET_H
#define EH_SECRET_H

#include <stddef.h>

#include "broker/rc.h"

#define EH_SHA256_HEX_SIZE 65

/* eh_secret_sha256_hex writes the lowercase hex SHA-256 of secret into out. */
eh_rc eh_secret_sha256_hex(const char *secret, char out[EH_SHA256_HEX_SIZE]);

/* eh_secret_matches tells, in constant time, whether secret hashes to the
 * registered lowercase hex digest. */
int eh_secret_matches(const char *secret, const char *sha256_hex);

/* eh_secret_file_create writes a new random secret (32 bytes, base64url, a
 * newline) to path with mode 0600, never overwriting a file. */
eh_rc eh_secret_file_create(const char *path, char *err, size_t errlen);

/* eh_secret_new returns a new random client secret (caller frees). */
eh_rc eh_secret_new(char **out);

#endif
