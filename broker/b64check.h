/* eidhub: checks before base64 reaches cjose.
 *
 * cjose's base64 decoders assert() (abort the process) on some malformed
 * input, e.g. "AAAAA===" or a length of 1 mod 4. Every outside text goes
 * through these checks before any cjose decode or import, so hostile input
 * is refused instead of killing an nginx worker. */
#ifndef EH_B64CHECK_H
#define EH_B64CHECK_H

#include <jansson.h>
#include <stddef.h>

/* eh_b64_ok tells whether len bytes at s are base64 (url non-zero:
 * base64url) cjose can decode safely: only the alphabet, '=' padding only at
 * the end and at most two, and an unpadded length that is not 1 mod 4. */
int eh_b64_ok(const char *s, size_t len, int url);

/* eh_jws_compact_ok tells whether s (len bytes) is three base64url parts
 * without padding, separated by two dots. */
int eh_jws_compact_ok(const char *s, size_t len);

/* eh_jwk_ok tells whether every base64url member of the JWK object jwk (all
 * string members but kty, kid, alg, use, crv) is safe to decode and has no
 * padding (RFC 7518 section 6: base64url of the bare bytes). A padded
 * member is refused, so a key is accepted in one spelling only. */
int eh_jwk_ok(const json_t *jwk);

#endif
