/* Fuzz target: private_key_jwt client assertions as a client sends them to
 * the token endpoint (eh_client_assertion_subject, then
 * eh_client_assertion_verify against the JWK Set of tests/fuzz/fixtures,
 * for client "portal" of issuer https://eidhub.example at a fixed time).
 *
 * Input: the assertion text. The fuzzer holds none of the fixture's private
 * keys, so every input must be refused: whatever its header says (alg none,
 * HS256, a kid that looks like a path, crit) and whatever its claims say.
 *
 * Invariants: never accepted; a refusal leaves jti NULL and says why
 * (NUL-terminated); the subject, when read, is a NUL-terminated string the
 * caller frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/frontends/oidc_client_assertion.h"
#include "tests/fuzz/fuzz_util.h"

#define NOW ((int64_t)1900000000)

static eh_jwks *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char why[256];
    json_error_t jerr;
    json_t *set;

    (void)argc;
    (void)argv;
    fz_init();
    set = json_load_file(fz_fixture("oidc-jwks.json"), 0, &jerr);
    if (set == NULL || eh_jwks_from_json_usable(set, EH_JWKS_MAX_KEYS, &keys, why, sizeof(why)) !=
                           EH_OK ||
        eh_jwks_count(keys) != 2) {
        fprintf(stderr, "fixture JWKS: %s\n", set == NULL ? jerr.text : why);
        abort();
    }
    json_decref(set);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_client_assertion_expect x = {.client_id = "portal",
                                    .issuer = "https://eidhub.example",
                                    .token_endpoint = "https://eidhub.example/token",
                                    .now = NOW};
    char *text = fz_strndup(data, size), *client = NULL, *jti = NULL, why[256];
    int64_t exp = 0;
    eh_rc rc;

    if (eh_client_assertion_subject(text, &client) == EH_OK) {
        FZ_CHECK(client != NULL);
        FZ_CHECK(strlen(client) <= size);
    }
    free(client);
    memset(why, 'x', sizeof(why));
    rc = eh_client_assertion_verify(text, keys, &x, &jti, &exp, why, sizeof(why));
    FZ_CHECK(rc != EH_OK);
    FZ_CHECK(jti == NULL);
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    free(text);
    return 0;
}
