/* eidhub: the one error type of the core.
 *
 * Every fallible core function returns an eh_rc. Codes come in bands, one
 * band per room, so that a code tells where it came from. EH_OK is zero. */
#ifndef EH_RC_H
#define EH_RC_H

#include <stddef.h>

typedef enum eh_rc {
    EH_OK = 0,

    /* 1xx: general */
    EH_ERR_NOMEM = 100,     /* an allocation failed */
    EH_ERR_INVALID = 101,   /* an argument or input is malformed */
    EH_ERR_NOT_FOUND = 102, /* the thing asked for does not exist */
    EH_ERR_TOO_LARGE = 103, /* an input is over its size limit */
    EH_ERR_IO = 104,        /* a file or socket operation failed */
    EH_ERR_INTERNAL = 105,  /* a bug or an impossible state */
    EH_ERR_CONFLICT = 106,  /* someone else changed it first (a stale version) */
    EH_ERR_UNMET = 107,     /* authentic input that does not meet what was asked
                             * (e.g. a level of assurance below the requested one) */

    /* 2xx: store */
    EH_ERR_STORE_UNAVAILABLE = 200, /* the store cannot be reached */
    EH_ERR_STORE_TIMEOUT = 201,     /* the store did not answer in time */
    EH_ERR_STORE_FULL = 202,        /* no room left in the embedded store */
    EH_ERR_STORE_PROTOCOL = 203,    /* the store answered something unexpected */

    /* 3xx: configuration */
    EH_ERR_CONFIG = 300, /* the configuration is wrong (detail in the error text) */

    /* 4xx: keys and cryptography */
    EH_ERR_KEY = 400,    /* a key is unusable (type, size, file) */
    EH_ERR_CRYPTO = 401, /* a cryptographic operation failed */

    /* 5xx: HTTP and protocol */
    EH_ERR_HTTP_METHOD = 500,   /* the path exists but not for this method */
    EH_ERR_HTTP_NO_ROUTE = 501, /* no handler for this path */
} eh_rc;

/* eh_strerror returns a static, human-readable English text for rc; never
 * NULL, also for codes it does not know. */
const char *eh_strerror(eh_rc rc);

/* eh_why writes a short reason (printf format) into why, whylen bytes, cut
 * to fit; nothing when why is NULL or whylen is 0. Reasons never quote
 * input: callers pass fixed phrases and numbers. */
void eh_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
