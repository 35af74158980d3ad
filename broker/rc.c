#include "broker/rc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* One table from code to text, so that a new code is one line here. */
static const struct {
    eh_rc rc;
    const char *text;
} eh_rc_texts[] = {
    {EH_OK, "success"},
    {EH_ERR_NOMEM, "out of memory"},
    {EH_ERR_INVALID, "invalid input"},
    {EH_ERR_NOT_FOUND, "not found"},
    {EH_ERR_TOO_LARGE, "input too large"},
    {EH_ERR_IO, "input/output error"},
    {EH_ERR_INTERNAL, "internal error"},
    {EH_ERR_CONFLICT, "changed by someone else first"},
    {EH_ERR_UNMET, "does not meet what was asked"},
    {EH_ERR_STORE_UNAVAILABLE, "store unavailable"},
    {EH_ERR_STORE_TIMEOUT, "store timed out"},
    {EH_ERR_STORE_FULL, "store full"},
    {EH_ERR_STORE_PROTOCOL, "unexpected answer from the store"},
    {EH_ERR_CONFIG, "configuration error"},
    {EH_ERR_KEY, "unusable key"},
    {EH_ERR_CRYPTO, "cryptographic operation failed"},
    {EH_ERR_HTTP_METHOD, "method not allowed"},
    {EH_ERR_HTTP_NO_ROUTE, "no such endpoint"},
};

const char *eh_strerror(eh_rc rc)
{
    for (size_t i = 0; i < sizeof(eh_rc_texts) / sizeof(eh_rc_texts[0]); i++) {
        if (eh_rc_texts[i].rc == rc)
            return eh_rc_texts[i].text;
    }
    return "unknown error";
}

void eh_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}
