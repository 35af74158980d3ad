/* eidhub: JWK Sets of other parties' public signature keys (see jwks.h). */
#include "broker/jwks.h"

#include <cjose/cjose.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/b64check.h"

typedef enum key_type {
    KEY_NONE = 0,
    KEY_RSA = 1,
    KEY_EC_P256 = 2,
} key_type;

typedef struct key {
    char *kid; /* NULL when the JWK has none */
    char *alg; /* the JWK's "alg", or NULL */
    key_type type;
    cjose_jwk_t *jwk;
} key;

struct eh_jwks {
    key *keys;
    size_t n;
};

/* The allowed algorithms and the key type each needs. */
static const struct {
    const char *alg;
    key_type type;
} allowed_algs[] = {
    {"RS256", KEY_RSA},
    {"PS256", KEY_RSA},
    {"ES256", KEY_EC_P256},
};

static const char *const alg_names[] = {"RS256", "PS256", "ES256", NULL};

/* Members that only a private or symmetric key has. */
static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

/* type_for_alg returns the key type alg needs, KEY_NONE when alg is not
 * allowed. */
static key_type type_for_alg(const char *alg)
{
    for (size_t i = 0; alg != NULL && i < sizeof(allowed_algs) / sizeof(allowed_algs[0]); i++) {
        if (strcmp(alg, allowed_algs[i].alg) == 0)
            return allowed_algs[i].type;
    }
    return KEY_NONE;
}

int eh_jwks_alg_allowed(const char *alg)
{
    return type_for_alg(alg) != KEY_NONE;
}

const char *const *eh_jwks_algs(void)
{
    return alg_names;
}

/* plain_string tells whether j is a non-empty string of at most max bytes
 * without an embedded NUL. */
static int plain_string(const json_t *j, size_t max)
{
    return json_is_string(j) && json_string_length(j) > 0 && json_string_length(j) <= max &&
           strlen(json_string_value(j)) == json_string_length(j);
}

/* key_check tells (why) what makes the JWK object j (index i) unfit, or
 * returns EH_OK and its type in *type. */
static eh_rc key_check(const json_t *j, size_t i, key_type *type, char *why, size_t whylen)
{
    const char *kty = json_string_value(json_object_get(j, "kty"));
    const char *crv = json_string_value(json_object_get(j, "crv"));
    json_t *use = json_object_get(j, "use"), *ops = json_object_get(j, "key_ops");
    json_t *alg = json_object_get(j, "alg"), *kid = json_object_get(j, "kid"), *op;
    size_t k;
    int verify = 0;

    *type = KEY_NONE;
    for (k = 0; k < sizeof(private_members) / sizeof(private_members[0]); k++) {
        if (json_object_get(j, private_members[k]) != NULL) {
            eh_why(why, whylen, "keys[%zu]: has the private or symmetric member \"%s\"; register only "
                             "public keys", i, private_members[k]);
            return EH_ERR_INVALID;
        }
    }
    if (kty != NULL && strcmp(kty, "RSA") == 0)
        *type = KEY_RSA;
    else if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
        *type = KEY_EC_P256;
    if (*type == KEY_NONE) {
        eh_why(why, whylen, "keys[%zu]: must be an RSA key or an EC key on P-256 (kty \"RSA\" or "
                         "\"EC\" with crv \"P-256\")", i);
        return EH_ERR_INVALID;
    }
    if (use != NULL && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0)) {
        eh_why(why, whylen, "keys[%zu]: \"use\" must be \"sig\"", i);
        return EH_ERR_INVALID;
    }
    if (ops != NULL) {
        if (json_is_array(ops)) {
            json_array_foreach(ops, k, op)
            {
                verify |= json_is_string(op) && strcmp(json_string_value(op), "verify") == 0;
            }
        }
        if (!verify) {
            eh_why(why, whylen, "keys[%zu]: \"key_ops\" must hold \"verify\"", i);
            return EH_ERR_INVALID;
        }
    }
    if (alg != NULL && type_for_alg(json_string_value(alg)) != *type) {
        eh_why(why, whylen, "keys[%zu]: \"alg\" must be %s", i,
            *type == KEY_RSA ? "RS256 or PS256 for an RSA key" : "ES256 for a P-256 key");
        return EH_ERR_INVALID;
    }
    if (kid != NULL && !plain_string(kid, EH_JWKS_KID_MAX)) {
        eh_why(why, whylen, "keys[%zu]: \"kid\" must be a non-empty string of at most %d bytes", i,
            EH_JWKS_KID_MAX);
        return EH_ERR_INVALID;
    }
    return EH_OK;
}

/* key_import makes the JWK object j (index i, found fit as type) into *k. */
static eh_rc key_import(const json_t *j, size_t i, key_type type, key *k, char *why, size_t whylen)
{
    const char *kid = json_string_value(json_object_get(j, "kid"));
    const char *alg = json_string_value(json_object_get(j, "alg"));
    char *text = json_dumps(j, JSON_COMPACT);
    cjose_err err;
    eh_rc rc = EH_ERR_NOMEM;

    memset(k, 0, sizeof(*k));
    if (text == NULL)
        goto cleanup;
    k->type = type;
    rc = EH_ERR_INVALID;
    k->jwk = eh_jwk_ok(j) ? cjose_jwk_import(text, strlen(text), &err) : NULL;
    if (k->jwk == NULL ||
        cjose_jwk_get_kty(k->jwk, &err) != (type == KEY_RSA ? CJOSE_JWK_KTY_RSA : CJOSE_JWK_KTY_EC)) {
        eh_why(why, whylen, "keys[%zu]: is not a valid public JWK (a member is missing or malformed)",
            i);
        goto cleanup;
    }
    if (type == KEY_RSA && cjose_jwk_get_keysize(k->jwk, &err) < EH_JWKS_RSA_MIN_BITS) {
        eh_why(why, whylen, "keys[%zu]: an RSA key must have at least %d bits", i,
            EH_JWKS_RSA_MIN_BITS);
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((kid != NULL && (k->kid = strdup(kid)) == NULL) ||
        (alg != NULL && (k->alg = strdup(alg)) == NULL))
        goto cleanup;
    rc = EH_OK;
cleanup:
    free(text);
    if (rc != EH_OK) {
        if (k->jwk != NULL)
            cjose_jwk_release(k->jwk);
        free(k->kid);
        free(k->alg);
        memset(k, 0, sizeof(*k));
    }
    return rc;
}

/* read_set reads the JWK Set object set of at most max keys into *out.
 * strict: every key must be fit and kids unique, or the whole set is
 * refused (a registration); otherwise a key that is unfit is left out and
 * the set may end up empty (a set someone else publishes). */
static eh_rc read_set(const json_t *set, int strict, size_t max, eh_jwks **out, char *why,
                      size_t whylen)
{
    json_t *keys = json_object_get(set, "keys"), *j;
    eh_jwks *jwks = NULL;
    size_t i;
    eh_rc rc = EH_ERR_INVALID;

    *out = NULL;
    if (!json_is_object(set) || !json_is_array(keys) ||
        (strict && json_array_size(keys) == 0)) {
        eh_why(why, whylen, "must be a JWK Set: an object with a %s\"keys\" array",
            strict ? "non-empty " : "");
        goto cleanup;
    }
    if (json_array_size(keys) > max) {
        eh_why(why, whylen, "has more than %zu keys", max);
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((jwks = calloc(1, sizeof(*jwks))) == NULL ||
        (jwks->keys = calloc(json_array_size(keys) + 1, sizeof(*jwks->keys))) == NULL)
        goto cleanup;
    json_array_foreach(keys, i, j)
    {
        key *k = &jwks->keys[jwks->n];
        key_type type;
        rc = EH_ERR_INVALID;
        if (!json_is_object(j))
            eh_why(why, whylen, "keys[%zu]: must be a JWK object", i);
        else if ((rc = key_check(j, i, &type, why, whylen)) == EH_OK)
            rc = key_import(j, i, type, k, why, whylen);
        if (rc == EH_ERR_INVALID && !strict)
            continue;
        if (rc != EH_OK)
            goto cleanup;
        jwks->n++;
        for (size_t m = 0; strict && k->kid != NULL && m + 1 < jwks->n; m++) {
            if (jwks->keys[m].kid != NULL && strcmp(jwks->keys[m].kid, k->kid) == 0) {
                eh_why(why, whylen, "keys[%zu]: its kid is also the kid of keys[%zu]", i, m);
                rc = EH_ERR_INVALID;
                goto cleanup;
            }
        }
    }
    *out = jwks;
    jwks = NULL;
    rc = EH_OK;
cleanup:
    eh_jwks_free(jwks);
    return rc;
}

eh_rc eh_jwks_from_json(const json_t *set, eh_jwks **out, char *why, size_t whylen)
{
    return read_set(set, 1, EH_JWKS_MAX_KEYS, out, why, whylen);
}

eh_rc eh_jwks_from_json_usable(const json_t *set, size_t max_keys, eh_jwks **out, char *why,
                               size_t whylen)
{
    return read_set(set, 0, max_keys, out, why, whylen);
}

size_t eh_jwks_count(const eh_jwks *jwks)
{
    return jwks == NULL ? 0 : jwks->n;
}

void eh_jwks_free(eh_jwks *jwks)
{
    if (jwks == NULL)
        return;
    for (size_t i = 0; jwks->keys != NULL && i < jwks->n; i++) {
        cjose_jwk_release(jwks->keys[i].jwk);
        free(jwks->keys[i].kid);
        free(jwks->keys[i].alg);
    }
    free(jwks->keys);
    free(jwks);
}

/* fits tells whether k may verify a signature of alg, which needs type. */
static int fits(const key *k, key_type type, const char *alg)
{
    return type != KEY_NONE && k->type == type && (k->alg == NULL || strcmp(k->alg, alg) == 0);
}

size_t eh_jwks_fitting(const eh_jwks *jwks, const char *alg)
{
    key_type type = type_for_alg(alg);
    size_t n = 0;

    for (size_t i = 0; jwks != NULL && i < jwks->n; i++)
        n += (size_t)fits(&jwks->keys[i], type, alg);
    return n;
}

const void *eh_jwks_find(const eh_jwks *jwks, const char *kid, const char *alg)
{
    key_type type = type_for_alg(alg);
    const key *found = NULL;
    size_t fitting = 0;

    for (size_t i = 0; jwks != NULL && i < jwks->n; i++) {
        const key *k = &jwks->keys[i];
        if (!fits(k, type, alg))
            continue;
        if (kid == NULL) {
            fitting++;
            found = k;
        } else if (k->kid != NULL && strcmp(k->kid, kid) == 0) {
            /* only ever compared: a kid is a name in this set, nothing else */
            return k->jwk;
        }
    }
    return kid == NULL && fitting == 1 ? found->jwk : NULL;
}
