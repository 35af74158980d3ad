/* Fuzz target: administrators' password hashes, "scrypt$N$r$p$salt$hash"
 * as the configuration carries them (eh_admin_password_hash_valid, and
 * eh_admin_password_verify for the cheapest parameters).
 *
 * Invariants: no crash, no leak, no undefined behaviour in the parse; a
 * valid hash starts "scrypt$"; verify never accepts a malformed hash, nor a
 * password other than the one a fresh hash was made of. */
#include <stdlib.h>
#include <string.h>

#include "policies/admin_auth.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_strndup(data, size);
    int valid;

    fz_init();
    valid = eh_admin_password_hash_valid(text);
    if (valid)
        FZ_CHECK(strncmp(text, "scrypt$", 7) == 0);
    else
        FZ_CHECK(!eh_admin_password_verify("password", text));
    /* scrypt itself only at N=1024, r<=8, p=1: a few milliseconds */
    if (valid && strncmp(text, "scrypt$1024$", 12) == 0 && text[12] >= '1' && text[12] <= '8' &&
        strncmp(text + 13, "$1$", 3) == 0)
        (void)eh_admin_password_verify("password", text);
    free(text);
    return 0;
}
