/* eidhub: the OpenID Connect token endpoint. */
#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "broker/b64check.h"
#include "broker/broker.h"
#include "broker/config.h"
#include "broker/frontends/oidc_client_assertion.h"
#include "broker/frontends/oidc_op.h"
#include "broker/jwt.h"
#include "broker/log.h"
#include "broker/random.h"
#include "broker/secret.h"

/* send_error answers an OAuth 2.0 token error (RFC 6749 section 5.2). */
static eh_rc send_error(eh_http_response *resp, int status, const char *error,
                        const char *description, int basic_challenge)
{
    json_t *doc = json_pack("{s:s, s:s}", "error", error, "error_description", description);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    eh_rc rc;

    json_decref(doc);
    if (text == NULL)
        return EH_ERR_NOMEM;
    rc = eh_http_response_take_body(resp, status, "application/json", text, strlen(text));
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    if (rc == EH_OK && basic_challenge)
        rc = eh_http_response_set_header(resp, "WWW-Authenticate", "Basic realm=\"eidhub\"");
    return rc;
}

/* The client's credentials as presented. */
typedef struct credentials {
    char *client_id;
    char *secret;    /* NULL for a public client */
    char *assertion; /* private_key_jwt's client_assertion, or NULL */
    int basic;       /* presented with HTTP Basic */
} credentials;

static void credentials_clear(credentials *c)
{
    if (c->secret != NULL)
        OPENSSL_cleanse(c->secret, strlen(c->secret));
    free(c->client_id);
    free(c->secret);
    free(c->assertion);
    memset(c, 0, sizeof(*c));
}

/* read_basic decodes "Basic base64(urlenc(id):urlenc(secret))" (RFC 6749
 * section 2.3.1). */
static eh_rc read_basic(const char *header, credentials *c)
{
    const char *b64 = header + 6;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    char *colon;
    cjose_err err;
    eh_rc rc = EH_ERR_INVALID;

    while (*b64 == ' ')
        b64++;
    if (!eh_b64_ok(b64, strlen(b64), 0) || !cjose_base64_decode(b64, strlen(b64), &raw, &raw_len, &err))
        return EH_ERR_INVALID;
    colon = memchr(raw, ':', raw_len);
    if (colon == NULL || memchr(raw, '\0', raw_len) != NULL)
        goto cleanup;
    if ((rc = eh_http_form_decode((char *)raw, (size_t)(colon - (char *)raw), &c->client_id)) !=
            EH_OK ||
        (rc = eh_http_form_decode(colon + 1, raw_len - (size_t)(colon + 1 - (char *)raw),
                                  &c->secret)) != EH_OK)
        goto cleanup;
    c->basic = 1;
cleanup:
    OPENSSL_cleanse(raw, raw_len);
    cjose_get_dealloc()(raw);
    return rc;
}

/* read_assertion takes a client assertion (RFC 7521 section 4.2) from the
 * body into c, whose client_id and secret are already read: EH_OK with none
 * there; EH_ERR_INVALID when it comes with a secret or without its type (or
 * the other way round); EH_ERR_NOT_FOUND (unauthenticated) for another
 * assertion type or, without a client_id parameter, an assertion that names
 * no client in its sub. */
static eh_rc read_assertion(const char *body, size_t len, credentials *c)
{
    char *type = NULL;
    eh_rc rc = EH_OK, arc, trc;

    arc = eh_http_param_get(body, len, "client_assertion", &c->assertion);
    trc = eh_http_param_get(body, len, "client_assertion_type", &type);
    if (arc == EH_ERR_NOT_FOUND && trc == EH_ERR_NOT_FOUND)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (arc != EH_OK || trc != EH_OK || c->secret != NULL)
        goto cleanup;
    rc = EH_ERR_NOT_FOUND;
    if (strcmp(type, EH_CLIENT_ASSERTION_TYPE) != 0)
        goto cleanup;
    rc = c->client_id != NULL ? EH_OK
                              : eh_client_assertion_subject(c->assertion, &c->client_id);
    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND;
cleanup:
    free(type);
    return rc;
}

/* read_credentials takes the client's credentials from the Authorization
 * header or the body, refusing two ways at once. */
static eh_rc read_credentials(const eh_http_request *req, const char *body, size_t len,
                              credentials *c)
{
    const char *auth = eh_http_header_get(req, "Authorization");
    char *body_id = NULL, *body_secret = NULL, *body_assertion = NULL;
    eh_rc rc;

    memset(c, 0, sizeof(*c));
    if ((rc = eh_http_param_get(body, len, "client_id", &body_id)) == EH_ERR_INVALID ||
        eh_http_param_get(body, len, "client_secret", &body_secret) == EH_ERR_INVALID ||
        eh_http_param_get(body, len, "client_assertion", &body_assertion) == EH_ERR_INVALID)
        rc = EH_ERR_INVALID;
    else
        rc = EH_OK;
    if (rc == EH_OK && auth != NULL && strncasecmp(auth, "Basic ", 6) == 0) {
        if (body_secret != NULL || body_assertion != NULL)
            rc = EH_ERR_INVALID;
        else if ((rc = read_basic(auth, c)) == EH_OK && body_id != NULL &&
                 strcmp(body_id, c->client_id) != 0)
            rc = EH_ERR_INVALID;
    } else if (rc == EH_OK) {
        c->client_id = body_id;
        c->secret = body_secret;
        body_id = body_secret = NULL;
        rc = read_assertion(body, len, c);
        if (rc == EH_OK && c->client_id == NULL)
            rc = EH_ERR_NOT_FOUND;
    }
    free(body_id);
    free(body_assertion);
    if (body_secret != NULL)
        OPENSSL_cleanse(body_secret, strlen(body_secret));
    free(body_secret);
    return rc;
}

/* authenticate tells (EH_OK) whether c authenticates rp the way rp is
 * registered for, and only that way: a secret client never with an
 * assertion, a private_key_jwt client never with a secret. EH_ERR_INVALID,
 * EH_ERR_CRYPTO or EH_ERR_TOO_LARGE: it does not (why says why); store
 * errors of the replay check are passed on. */
static eh_rc authenticate(eh_broker *b, const eh_config_rp *rp, const credentials *c, char *why,
                          size_t whylen)
{
    int secret_ok = c->secret != NULL && c->assertion == NULL && rp->client_secret_sha256 != NULL &&
                    eh_secret_matches(c->secret, rp->client_secret_sha256);

    snprintf(why, whylen, "wrong or missing credentials for the client's registered method");
    switch (rp->token_endpoint_auth) {
    case EH_CLIENT_AUTH_PRIVATE_KEY_JWT:
        if (c->assertion == NULL || c->secret != NULL || c->basic) {
            snprintf(why, whylen, "a private_key_jwt client presented no client assertion");
            return EH_ERR_INVALID;
        }
        return eh_client_assertion_check(eh_broker_store_get(b), rp,
                                         eh_broker_config_get(b)->issuer, c->assertion,
                                         (int64_t)time(NULL), why, whylen);
    case EH_CLIENT_AUTH_SECRET:
        return secret_ok ? EH_OK : EH_ERR_INVALID;
    case EH_CLIENT_AUTH_SECRET_BASIC:
        return secret_ok && c->basic ? EH_OK : EH_ERR_INVALID;
    case EH_CLIENT_AUTH_SECRET_POST:
        return secret_ok && !c->basic ? EH_OK : EH_ERR_INVALID;
    case EH_CLIENT_AUTH_NONE:
        return c->secret == NULL && c->assertion == NULL ? EH_OK : EH_ERR_INVALID;
    }
    return EH_ERR_INVALID;
}

/* issue builds the ID token and access token for a redeemed code. */
static eh_rc issue(eh_broker *b, const char *code_digest, json_t *code, eh_http_response *resp)
{
    eh_store *store = eh_broker_store_get(b);
    const eh_config *cfg = eh_broker_config_get(b);
    json_int_t now = (json_int_t)time(NULL);
    json_t *id_claims = NULL, *userinfo = NULL, *answer = NULL;
    char *access = NULL, *at_digest = NULL, *id_token = NULL, *text = NULL;
    char at_key[EH_STORE_KEY_MAX + 1], used_key[EH_STORE_KEY_MAX + 1];
    eh_store_batch_op writes[2];
    eh_rc rc;

    if ((rc = eh_random_token(&access)) != EH_OK || (rc = eh_token_digest(access, &at_digest)) !=
                                                        EH_OK)
        goto cleanup;
    snprintf(at_key, sizeof(at_key), "at:%s", at_digest);
    snprintf(used_key, sizeof(used_key), "codeused:%s", code_digest);
    rc = EH_ERR_NOMEM;
    id_claims = json_pack("{s:s, s:O, s:O, s:I, s:I, s:O, s:O, s:O}", "iss", cfg->issuer, "sub",
                          json_object_get(code, "sub"), "aud", json_object_get(code, "client_id"),
                          "iat", now, "exp", now + EH_OIDC_ID_TOKEN_TTL_S, "auth_time",
                          json_object_get(code, "auth_time"), "acr", json_object_get(code, "acr"),
                          "amr", json_object_get(code, "amr"));
    userinfo = eh_oidc_userinfo_claims(code);
    if (id_claims == NULL || userinfo == NULL)
        goto cleanup;
    if (json_is_string(json_object_get(code, "nonce")) &&
        json_object_set(id_claims, "nonce", json_object_get(code, "nonce")) != 0)
        goto cleanup;
    if (json_is_string(json_object_get(code, "sid")) &&
        json_object_set(id_claims, "sid", json_object_get(code, "sid")) != 0)
        goto cleanup;
    if (json_object_update(id_claims, json_object_get(code, "claims")) != 0 ||
        json_object_set_new(id_claims, "sub", json_copy(json_object_get(code, "sub"))) != 0)
        goto cleanup;
    if ((rc = eh_jwt_sign(eh_broker_keys_get(b), id_claims, "JWT", &id_token)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((text = json_dumps(userinfo, JSON_COMPACT)) == NULL)
        goto cleanup;
    /* the access token and the redeemed code's pointer to it (a replayed
     * code revokes the token): one exchange with the store */
    writes[0] = (eh_store_batch_op){.kind = EH_STORE_BATCH_SET,
                                    .key = at_key,
                                    .value = text,
                                    .len = strlen(text),
                                    .ttl_ms = EH_OIDC_TOKEN_TTL_S * 1000u};
    writes[1] = (eh_store_batch_op){.kind = EH_STORE_BATCH_SET,
                                    .key = used_key,
                                    .value = at_key,
                                    .len = strlen(at_key),
                                    .ttl_ms = EH_OIDC_TOKEN_TTL_S * 1000u};
    if ((rc = eh_store_batch(store, writes, 2)) != EH_OK)
        goto cleanup;
    free(text);
    text = NULL;
    rc = EH_ERR_NOMEM;
    answer = json_pack("{s:s, s:s, s:i, s:s, s:O}", "access_token", access, "token_type", "Bearer",
                       "expires_in", EH_OIDC_TOKEN_TTL_S, "id_token", id_token, "scope",
                       json_object_get(code, "scope"));
    if (answer == NULL || (text = json_dumps(answer, JSON_COMPACT)) == NULL)
        goto cleanup;
    rc = eh_http_response_take_body(resp, 200, "application/json", text, strlen(text));
    text = NULL;
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Pragma", "no-cache");
cleanup:
    free(access);
    free(at_digest);
    free(id_token);
    free(text);
    json_decref(id_claims);
    json_decref(userinfo);
    json_decref(answer);
    return rc;
}

/* redeem checks the code against the authenticated client and the request
 * (eh_oidc_code_redeem), and issues the tokens. */
static eh_rc redeem(eh_broker *b, const eh_config_rp *rp, const char *body, size_t len,
                    eh_http_response *resp)
{
    char *code = NULL, *redirect_uri = NULL, *verifier = NULL, *digest = NULL;
    const char *why = NULL;
    json_t *payload = NULL;
    eh_rc rc;

    if (eh_http_param_get(body, len, "code", &code) != EH_OK ||
        eh_http_param_get(body, len, "redirect_uri", &redirect_uri) != EH_OK ||
        eh_http_param_get(body, len, "code_verifier", &verifier) == EH_ERR_INVALID) {
        rc = send_error(resp, 400, "invalid_request", "code and redirect_uri are required", 0);
        goto cleanup;
    }
    rc = eh_oidc_code_redeem(b, rp->client_id, code, redirect_uri, verifier, &payload, &digest,
                             &why);
    if (rc == EH_ERR_NOT_FOUND)
        rc = send_error(resp, 400, "invalid_grant", "the code is invalid, expired or used", 0);
    else if (rc == EH_ERR_UNMET)
        rc = send_error(resp, 400, "invalid_grant", why, 0);
    else if (rc == EH_OK)
        rc = issue(b, digest, payload, resp);
cleanup:
    free(code);
    free(redirect_uri);
    free(verifier);
    free(digest);
    json_decref(payload);
    return rc;
}

eh_rc eh_oidc_token_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const char *body = req->body ? (const char *)req->body : "";
    const char *type = eh_http_header_get(req, "Content-Type");
    const eh_config_rp *rp;
    char *grant_type = NULL, why[160];
    credentials c;
    eh_rc rc;

    memset(&c, 0, sizeof(c));
    if (type == NULL || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
        (type[33] != '\0' && type[33] != ';' && type[33] != ' '))
        return send_error(resp, 400, "invalid_request",
                          "the body must be application/x-www-form-urlencoded", 0);
    rc = read_credentials(req, body, req->body_len, &c);
    if (rc != EH_OK) {
        rc = send_error(resp, rc == EH_ERR_NOT_FOUND ? 401 : 400,
                        rc == EH_ERR_NOT_FOUND ? "invalid_client" : "invalid_request",
                        "client authentication is missing or malformed", 0);
        goto cleanup;
    }
    rp = eh_config_rp_find(eh_broker_config_get(b), c.client_id);
    if (rp == NULL)
        snprintf(why, sizeof(why), "unknown client");
    rc = rp != NULL ? authenticate(b, rp, &c, why, sizeof(why)) : EH_ERR_INVALID;
    if (rc == EH_ERR_INVALID || rc == EH_ERR_CRYPTO || rc == EH_ERR_TOO_LARGE) {
        /* the code is not looked at: the right client can still redeem it */
        eh_log(EH_LOG_INFO, "token: client authentication failed: %s", why);
        rc = send_error(resp, 401, "invalid_client", "client authentication failed", c.basic);
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    if (eh_http_param_get(body, req->body_len, "grant_type", &grant_type) != EH_OK) {
        rc = send_error(resp, 400, "invalid_request", "grant_type is required", 0);
        goto cleanup;
    }
    if (strcmp(grant_type, "authorization_code") != 0) {
        rc = send_error(resp, 400, "unsupported_grant_type", "only authorization_code", 0);
        goto cleanup;
    }
    rc = redeem(b, rp, body, req->body_len, resp);
cleanup:
    credentials_clear(&c);
    free(grant_type);
    return rc;
}
