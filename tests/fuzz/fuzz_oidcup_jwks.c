/* Fuzz target: JWK Sets of national OpenID Connect eID providers
 * (eh_oidcup_jwks_parse), as fetched from a provider's jwks_uri.
 *
 * Invariants: why is NUL-terminated on failure; a parsed set holds at most
 * EH_OIDCUP_JWKS_MAX_KEYS keys; and it is only ever the keys it was given
 * that verify: the fixture ID token (signed by tests/fuzz/fixtures'
 * ec1 key) verifies against the parsed set only if the input holds that
 * key's public x coordinate (somewhere, as a JSON string). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/backends/oidc_upstream_token.h"
#include "tests/fuzz/fuzz_util.h"

static char *token; /* an ES256 ID token of the fixture key ec1 */
static char *ec_x;  /* that key's x */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[16384];
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        abort();
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return strdup(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[4096], *text;
    json_t *set;
    size_t i;
    json_t *k;

    fz_init();
    snprintf(path, sizeof(path), "%s/../corpus/fuzz_oidcup_id_token/es256-ok.txt", fz_fixture(""));
    token = slurp(path);
    text = slurp(fz_fixture("oidc-jwks.json"));
    set = json_loads(text, 0, NULL);
    json_array_foreach(json_object_get(set, "keys"), i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "kty")), "EC") == 0)
            ec_x = strdup(json_string_value(json_object_get(k, "x")));
    }
    if (ec_x == NULL)
        abort();
    json_decref(set);
    free(text);
    return 0;
}

/* holds tells whether some string in j (at any depth) is s, but for the
 * last character: base64url of 32 bytes ends in a character whose two low
 * bits are unused, so several spellings decode to the same coordinate. */
static int holds(const json_t *j, const char *s)
{
    const char *key;
    json_t *v;
    size_t i, n = strlen(s);

    if (json_is_string(j))
        return json_string_length(j) == n && strncmp(json_string_value(j), s, n - 1) == 0;
    if (json_is_object(j)) {
        json_object_foreach((json_t *)j, key, v)
        {
            if (holds(v, s))
                return 1;
        }
    }
    if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if (holds(v, s))
                return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_oidcup_expect x = {"https://eid.example.fr", "eidhub-client", "n-0S6_WzA2Mj", 1900000000,
                          60};
    eh_oidcup_jwks *jwks = NULL;
    json_t *claims = NULL;
    char why[256];
    json_t *doc;
    eh_rc rc;

    memset(why, 'X', sizeof(why));
    rc = eh_oidcup_jwks_parse((const char *)data, size, &jwks, why, sizeof(why));
    if (rc != EH_OK) {
        FZ_CHECK(fz_terminated(why, sizeof(why))); /* why is written on failure only */
        FZ_CHECK(jwks == NULL);
        return 0;
    }
    FZ_CHECK(jwks != NULL && eh_oidcup_jwks_count(jwks) <= EH_OIDCUP_JWKS_MAX_KEYS);
    rc = eh_oidcup_id_token_verify(token, jwks, &x, &claims, why, sizeof(why));
    if (rc == EH_OK) {
        doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
        FZ_CHECK(doc != NULL && holds(doc, ec_x));
        json_decref(doc);
    }
    json_decref(claims);
    eh_oidcup_jwks_free(jwks);
    return 0;
}
