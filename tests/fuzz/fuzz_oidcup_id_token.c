/* Fuzz target: ID tokens of national OpenID Connect eID providers
 * (eh_oidcup_id_token_verify) against the JWK Set of tests/fuzz/fixtures
 * (an EC P-256 key "ec1" and an RSA 2048 key "rsa1"), expecting issuer
 * https://eid.example.fr, client eidhub-client, nonce n-0S6_WzA2Mj, at a
 * fixed time.
 *
 * Input, by its first byte:
 *   0x01       the rest is "<header JSON>\n<payload JSON>": the target
 *              makes the compact JWS of exactly those bytes and signs it
 *              with the fixture key that fits the header's alg (ES256 ec1,
 *              RS256 and PS256 rsa1; any other alg gets a junk signature),
 *              so mutated headers and claims get past the signature into
 *              the claim checks;
 *   otherwise  the token text as a provider would send it.
 *
 * Invariants: why is NUL-terminated; an accepted token really is what
 * oidc_upstream_token.h promises, re-checked here from its parts: an
 * allowed alg, no crit, iss, aud (and azp), nonce, sub, exp, iat and nbf as
 * specified; a refused one leaves claims NULL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "broker/backends/oidc_upstream_token.h"
#include "tests/fuzz/fuzz_util.h"

#define ISS "https://eid.example.fr"
#define CLIENT "eidhub-client"
#define NONCE "n-0S6_WzA2Mj"
#define NOW ((int64_t)1900000000)
#define SKEW 60u

static eh_oidcup_jwks *jwks;
static EVP_PKEY *ec_key, *rsa_key;

static EVP_PKEY *read_key(const char *name)
{
    FILE *f = fopen(fz_fixture(name), "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL) {
        fprintf(stderr, "cannot read %s\n", fz_fixture(name));
        abort();
    }
    return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char why[256], text[8192];
    FILE *f;
    size_t n;

    fz_init();
    f = fopen(fz_fixture("oidc-jwks.json"), "r");
    if (f == NULL)
        abort();
    n = fread(text, 1, sizeof(text), f);
    fclose(f);
    if (eh_oidcup_jwks_parse(text, n, &jwks, why, sizeof(why)) != EH_OK ||
        eh_oidcup_jwks_count(jwks) != 2) {
        fprintf(stderr, "fixture JWKS: %s\n", why);
        abort();
    }
    ec_key = read_key("oidc-ec.key.pem");
    rsa_key = read_key("oidc-rsa.key.pem");
    return 0;
}

static char *b64u(const void *data, size_t len)
{
    char *out = NULL, *copy;
    size_t n = 0;
    cjose_err err;

    if (!cjose_base64url_encode(data, len, &out, &n, &err))
        abort();
    copy = strndup(out, n);
    cjose_get_dealloc()(out);
    return copy;
}

/* sign makes the signature of input with alg's fixture key (NULL: none). */
static char *sign(const char *alg, const char *input)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *key = strcmp(alg, "ES256") == 0 ? ec_key : rsa_key;
    unsigned char sig[512], raw[64];
    size_t len = sizeof(sig);
    char *out = NULL;

    if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key) != 1)
        abort();
    if (strcmp(alg, "PS256") == 0 &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1))
        abort();
    if (EVP_DigestSign(ctx, sig, &len, (const unsigned char *)input, strlen(input)) != 1)
        abort();
    if (key == ec_key) { /* DER ECDSA-Sig-Value -> r || s */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
        if (es == NULL || BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32) != 32 ||
            BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32) != 32)
            abort();
        ECDSA_SIG_free(es);
        out = b64u(raw, sizeof(raw));
    } else {
        out = b64u(sig, len);
    }
    EVP_MD_CTX_free(ctx);
    return out;
}

/* make_token: "<header>\n<payload>" into a signed compact JWS. */
static char *make_token(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *h = b64u(data, hlen), *p = b64u(nl ? nl + 1 : data + size, nl ? size - hlen - 1 : 0);
    char *input = NULL, *sig = NULL, *token = NULL;
    json_t *header = json_loadb((const char *)data, hlen, 0, NULL);
    const char *alg = json_string_value(json_object_get(header, "alg"));

    if (asprintf(&input, "%s.%s", h, p) < 0)
        abort();
    if (alg != NULL &&
        (strcmp(alg, "ES256") == 0 || strcmp(alg, "RS256") == 0 || strcmp(alg, "PS256") == 0))
        sig = sign(alg, input);
    else
        sig = strdup("c2lnbmF0dXJl");
    if (asprintf(&token, "%s.%s", input, sig) < 0)
        abort();
    free(h);
    free(p);
    free(input);
    free(sig);
    json_decref(header);
    return token;
}

/* header_of decodes the token's first part (NULL when it cannot). */
static json_t *header_of(const char *token)
{
    const char *dot = strchr(token, '.');
    uint8_t *raw = NULL;
    size_t len = 0;
    cjose_err err;
    json_t *j;

    if (dot == NULL || !cjose_base64url_decode(token, (size_t)(dot - token), &raw, &len, &err))
        return NULL;
    j = json_loadb((const char *)raw, len, 0, NULL);
    cjose_get_dealloc()(raw);
    return j;
}

/* num reads a JSON number as a double: a real such as 1900e300 does not fit
 * an integer type (converting it would be undefined). */
static double num(const json_t *v)
{
    return json_number_value(v);
}

/* check_accepted re-checks an accepted token against the contract. */
static void check_accepted(const char *token, const json_t *claims)
{
    json_t *header = header_of(token), *aud = json_object_get(claims, "aud");
    json_t *azp = json_object_get(claims, "azp"), *v;
    const char *alg = json_string_value(json_object_get(header, "alg"));
    int aud_ok = 0;
    size_t i;

    FZ_CHECK(header != NULL && alg != NULL && eh_oidcup_alg_allowed(alg));
    FZ_CHECK(json_object_get(header, "crit") == NULL);
    FZ_CHECK(json_is_object(claims));
    FZ_CHECK(json_is_string(json_object_get(claims, "iss")) &&
             strcmp(json_string_value(json_object_get(claims, "iss")), ISS) == 0);
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), CLIENT) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            aud_ok |= json_is_string(v) && strcmp(json_string_value(v), CLIENT) == 0;
        }
        if (json_array_size(aud) > 1)
            FZ_CHECK(azp != NULL);
    }
    FZ_CHECK(aud_ok);
    if (azp != NULL)
        FZ_CHECK(json_is_string(azp) && strcmp(json_string_value(azp), CLIENT) == 0);
    FZ_CHECK(json_is_string(json_object_get(claims, "nonce")) &&
             strcmp(json_string_value(json_object_get(claims, "nonce")), NONCE) == 0);
    FZ_CHECK(json_is_string(json_object_get(claims, "sub")) &&
             json_string_length(json_object_get(claims, "sub")) > 0);
    FZ_CHECK(json_is_number(json_object_get(claims, "exp")) &&
             num(json_object_get(claims, "exp")) > NOW - (int64_t)SKEW);
    FZ_CHECK(json_is_number(json_object_get(claims, "iat")) &&
             num(json_object_get(claims, "iat")) <= NOW + (int64_t)SKEW);
    if ((v = json_object_get(claims, "nbf")) != NULL)
        FZ_CHECK(json_is_number(v) && num(v) <= NOW + (int64_t)SKEW);
    json_decref(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_oidcup_expect x = {ISS, CLIENT, NONCE, NOW, SKEW};
    char *token, why[256];
    json_t *claims = NULL;
    eh_rc rc;

    if (size > 0 && data[0] == 1)
        token = make_token(data + 1, size - 1);
    else
        token = fz_strndup(data, size);
    memset(why, 'X', sizeof(why));
    rc = eh_oidcup_id_token_verify(token, jwks, &x, &claims, why, sizeof(why));
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    FZ_CHECK(strpbrk(why, "\r\n") == NULL);
    if (fz_verbose())
        fprintf(stderr, "eh_oidcup_id_token_verify: rc %d (%s) %s\n", rc, eh_strerror(rc), why);
    if (rc == EH_OK) {
        check_accepted(token, claims);
    } else {
        FZ_CHECK(claims == NULL);
        FZ_CHECK(rc == EH_ERR_NOT_FOUND || rc == EH_ERR_CRYPTO || rc == EH_ERR_TOO_LARGE ||
                 rc == EH_ERR_INVALID || rc == EH_ERR_NOMEM);
    }
    json_decref(claims);
    free(token);
    return 0;
}
