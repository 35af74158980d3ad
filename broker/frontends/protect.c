/* eidhub: protecting an existing web application (protect.h,
 * docs/protect.md). The login is our own OpenID Connect flow, run for the
 * relying party as a real client would (state, nonce, PKCE S256), whose
 * code is redeemed here, inside the core, with the token endpoint's own
 * checks (eh_oidc_code_redeem) and whose claims are those userinfo would
 * return (eh_oidc_userinfo_claims). */
#include "broker/frontends/protect.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attributes/oidc_map.h"
#include "attributes/registry.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/cookie.h"
#include "broker/frontends/oidc_op.h"
#include "broker/i18n.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/policy_ref.h"
#include "broker/random.h"
#include "broker/sso.h"
#include "broker/txn.h"

#define COOKIE_PREFIX "eidhub_app_"
#define COOKIE_NAME_MAX 64
#define HEADER_NAME_MAX 128
#define STATE_TTL_S (EH_TXN_TTL_MS / 1000u)

/* Headers a claim may never be mapped to, nor a prefix cover: what the
 * proxy, the application or nginx itself relies on. */
static const char *const reserved_headers[] = {"Host",
                                               "Cookie",
                                               "Authorization",
                                               "Proxy-Authorization",
                                               "Content-Length",
                                               "Content-Type",
                                               "Transfer-Encoding",
                                               "Connection",
                                               "Upgrade",
                                               "TE",
                                               "Trailer",
                                               "Keep-Alive",
                                               "Expect",
                                               "Forwarded",
                                               "X-Forwarded-For",
                                               "X-Forwarded-Proto",
                                               "X-Forwarded-Host",
                                               "X-Real-IP",
                                               "Accept",
                                               "User-Agent",
                                               "Origin",
                                               "Referer",
                                               NULL};

/* ---- header names ------------------------------------------------------ */

/* same_char compares two header-name bytes: case-insensitive, '-' == '_'. */
static int same_char(char a, char b)
{
    if (a == '_')
        a = '-';
    if (b == '_')
        b = '-';
    return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* name_starts tells whether name (len bytes) starts with prefix. */
static int name_starts(const char *name, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    if (len < n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!same_char(name[i], prefix[i]))
            return 0;
    }
    return 1;
}

/* name_equal tells whether name (len bytes) is other. */
static int name_equal(const char *name, size_t len, const char *other)
{
    return strlen(other) == len && name_starts(name, len, other);
}

/* token_ok accepts an HTTP header name (RFC 9110 token) of 1..max bytes. */
static int token_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
            return 0;
    }
    return 1;
}

static const char *prefix_of(const eh_config_rp *rp)
{
    return rp->protect != NULL && rp->protect->header_prefix != NULL ? rp->protect->header_prefix
                                                                     : EH_PROTECT_DEFAULT_PREFIX;
}

int eh_protect_header_is_identity(const eh_config_rp *rp, const char *name, size_t len)
{
    const char *claim;
    json_t *header;

    if (name_starts(name, len, prefix_of(rp)))
        return 1;
    if (rp->protect != NULL && rp->protect->claim_headers != NULL) {
        json_object_foreach(rp->protect->claim_headers, claim, header)
        {
            if (name_equal(name, len, json_string_value(header)))
                return 1;
        }
    }
    return 0;
}

/* header_name_of writes the header that carries claim into out: its mapped
 * name, else the prefix and the claim in Title-Case with '_' as '-'
 * ("given_name" -> "X-Eidhub-Given-Name"). 0 when the claim's name cannot
 * make a header name (it is then not sent). */
static int header_name_of(const eh_config_rp *rp, const char *claim, char *out, size_t len)
{
    json_t *mapped = rp->protect && rp->protect->claim_headers
                         ? json_object_get(rp->protect->claim_headers, claim)
                         : NULL;
    size_t n;
    int start = 1;

    if (mapped != NULL)
        return snprintf(out, len, "%s", json_string_value(mapped)) < (int)len;
    n = (size_t)snprintf(out, len, "%s", prefix_of(rp));
    if (n >= len || *claim == '\0')
        return 0;
    for (; *claim; claim++) {
        char c = *claim;
        if (n + 1 >= len || (!isalnum((unsigned char)c) && c != '_' && c != '-'))
            return 0;
        if (c == '_' || c == '-') {
            out[n++] = '-';
            start = 1;
            continue;
        }
        out[n++] = start ? (char)toupper((unsigned char)c) : c;
        start = 0;
    }
    out[n] = '\0';
    return 1;
}

eh_rc eh_protect_header_value(const json_t *value, char **out)
{
    char *text = NULL;
    eh_buf b;

    *out = NULL;
    if (json_is_string(value)) {
        eh_buf_init(&b);
        eh_buf_append_urlenc(&b, json_string_value(value));
        return eh_buf_finish(&b, out, NULL);
    }
    text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return EH_ERR_NOMEM;
    eh_buf_init(&b);
    eh_buf_append_urlenc(&b, text);
    free(text);
    return eh_buf_finish(&b, out, NULL);
}

/* ---- configuration ----------------------------------------------------- */

void eh_protect_config_free(eh_protect_config *c)
{
    if (c == NULL)
        return;
    free(c->header_prefix);
    free(c->scope);
    json_decref(c->claim_headers);
    free(c);
}

/* parse_claim_headers checks "claim_headers": {"claim": "Header-Name"}. */
static eh_rc parse_claim_headers(eh_check *v, const json_t *map, const char *path,
                                 eh_protect_config *c)
{
    char sub[EH_JSON_PATH_MAX];
    const char *claim;
    json_t *header;

    if (!json_is_object(map))
        return eh_check_fail(v, path, "must be an object of claim name -> header name");
    json_object_foreach((json_t *)map, claim, header)
    {
        const char *h = json_string_value(header);
        eh_json_path_member(sub, sizeof(sub), path, claim);
        if (h == NULL || !token_ok(h, HEADER_NAME_MAX))
            return eh_check_fail(v, sub, "must be an HTTP header name (letters, digits, '-')");
        for (const char *const *r = reserved_headers; *r; r++) {
            if (name_equal(h, strlen(h), *r))
                return eh_check_fail(v, sub,
                                     "must not be %s (nginx or the application relies "
                                     "on it)",
                                     *r);
        }
    }
    c->claim_headers = json_incref((json_t *)map);
    return EH_OK;
}

eh_rc eh_protect_config_parse(eh_check *v, const json_t *obj, const char *path,
                              eh_protect_config **out)
{
    static const char *const allowed[] = {"session_minutes", "header_prefix", "claim_headers",
                                          "scope", NULL};
    json_t *p = json_object_get(obj, "protect");
    char here[EH_JSON_PATH_MAX], sub[EH_JSON_PATH_MAX];
    unsigned minutes = EH_PROTECT_DEFAULT_SESSION_S / 60u;
    eh_protect_config *c = NULL;
    eh_rc rc;

    *out = NULL;
    if (p == NULL)
        return EH_OK;
    eh_json_path_member(here, sizeof(here), path, "protect");
    if (!json_is_object(p))
        return eh_check_fail(v, here, "must be an object");
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return EH_ERR_NOMEM;
    if ((rc = eh_check_members(v, p, here, allowed)) != EH_OK ||
        (rc = eh_check_uint(v, p, here, "session_minutes", 1, 1440, &minutes)) != EH_OK ||
        (rc = eh_check_string(v, p, here, "header_prefix", 0, &c->header_prefix)) != EH_OK ||
        (rc = eh_check_string(v, p, here, "scope", 0, &c->scope)) != EH_OK)
        goto cleanup;
    c->session_s = minutes * 60u;
    if (c->header_prefix != NULL) {
        size_t n = strlen(c->header_prefix);
        eh_json_path_member(sub, sizeof(sub), here, "header_prefix");
        if (n < 3 || !token_ok(c->header_prefix, 64) || c->header_prefix[n - 1] != '-') {
            rc = eh_check_fail(v, sub,
                               "must be 3 to 64 header-name characters ending in '-' "
                               "(e.g. \"X-Eidhub-\")");
            goto cleanup;
        }
        for (const char *const *r = reserved_headers; *r; r++) {
            if (name_starts(*r, strlen(*r), c->header_prefix)) {
                rc = eh_check_fail(v, sub, "would remove the request header %s", *r);
                goto cleanup;
            }
        }
    }
    if (c->scope != NULL && !eh_oidc_scope_has(c->scope, "openid")) {
        eh_json_path_member(sub, sizeof(sub), here, "scope");
        rc = eh_check_fail(v, sub, "must hold \"openid\"");
        goto cleanup;
    }
    if (json_object_get(p, "claim_headers") != NULL) {
        eh_json_path_member(sub, sizeof(sub), here, "claim_headers");
        if ((rc = parse_claim_headers(v, json_object_get(p, "claim_headers"), sub, c)) != EH_OK)
            goto cleanup;
    }
    *out = c;
    c = NULL;
cleanup:
    eh_protect_config_free(c);
    return rc;
}

/* ---- the relying party of a location -------------------------------------- */

/* callback_uri writes <issuer>/protect/callback into out. */
static int callback_uri(const eh_broker *b, char *out, size_t len)
{
    int n = snprintf(out, len, "%s%s", eh_broker_config_get(b)->issuer, EH_PROTECT_CALLBACK_PATH);
    return n > 0 && (size_t)n < len;
}

const eh_config_rp *eh_protect_rp(const eh_broker *b, const char *client_id, char *err,
                                  size_t errlen)
{
    const eh_config_rp *rp = eh_config_rp_find(eh_broker_config_get(b), client_id);
    char uri[1024];

    if (rp == NULL) {
        snprintf(err, errlen, "no relying party \"%.128s\" in %s", client_id,
                 eh_broker_config_get(b)->path);
        return NULL;
    }
    if (!callback_uri(b, uri, sizeof(uri))) {
        snprintf(err, errlen, "the issuer is too long for %s", EH_PROTECT_CALLBACK_PATH);
        return NULL;
    }
    for (size_t i = 0; i < rp->n_redirect_uris; i++) {
        if (strcmp(rp->redirect_uris[i], uri) == 0)
            return rp;
    }
    snprintf(err, errlen, "relying party \"%.128s\" must list \"%s\" in its redirect_uris",
             client_id, uri);
    return NULL;
}

int eh_protect_return_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > EH_PROTECT_RETURN_MAX || s[0] != '/' || s[1] == '/' || s[1] == '\\')
        return 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e || *s == '\\')
            return 0;
    }
    return 1;
}

/* cookie_name_of writes the application session cookie's name for rp:
 * eidhub_app_ and 16 characters of base64url(SHA-256(client_id)), so each
 * protected relying party has its own session in one browser. */
static eh_rc cookie_name_of(const eh_config_rp *rp, char *out, size_t len)
{
    char *digest = NULL;
    eh_rc rc = eh_token_digest(rp->client_id, &digest);

    if (rc == EH_OK && snprintf(out, len, COOKIE_PREFIX "%.16s", digest) >= (int)len)
        rc = EH_ERR_INTERNAL;
    free(digest);
    return rc;
}

/* store_key_of writes "<section><digest of token>" into key. */
static eh_rc store_key_of(const char *section, const char *token, char *key, size_t len)
{
    char *digest = NULL;
    eh_rc rc = eh_token_digest(token, &digest);

    if (rc == EH_OK)
        snprintf(key, len, "%s%s", section, digest);
    free(digest);
    return rc;
}

/* ---- a request of a protected location ------------------------------------ */

/* session_headers fills out with the identity headers of session (the
 * stored claims). */
static eh_rc session_headers(const eh_config_rp *rp, const json_t *claims, eh_http_response *out)
{
    const char *claim;
    json_t *value;
    char name[HEADER_NAME_MAX + 72], *text = NULL;
    eh_rc rc = EH_OK;

    json_object_foreach((json_t *)claims, claim, value)
    {
        if (json_is_null(value) || !header_name_of(rp, claim, name, sizeof(name)))
            continue;
        if ((rc = eh_protect_header_value(value, &text)) != EH_OK ||
            (rc = eh_http_response_add_header(out, name, text)) != EH_OK)
            break;
        free(text);
        text = NULL;
    }
    free(text);
    return rc;
}

/* load_session finds the application session of the request's cookie for
 * rp: EH_OK with its claims (caller decrefs), EH_ERR_NOT_FOUND without one
 * (no cookie, an unknown, expired or foreign one), store errors. */
static eh_rc load_session(eh_broker *b, const eh_config_rp *rp, const eh_http_request *req,
                          json_t **claims)
{
    char name[COOKIE_NAME_MAX], key[EH_STORE_KEY_MAX + 1], *cookie = NULL, *text = NULL;
    const char *owner;
    json_t *session = NULL;
    size_t len = 0;
    eh_rc rc;

    *claims = NULL;
    if ((rc = cookie_name_of(rp, name, sizeof(name))) != EH_OK)
        return rc;
    rc = eh_cookie_get(req, name, &cookie);
    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND; /* twice, or oversized: never trusted */
    if (rc != EH_OK)
        goto cleanup;
    if ((rc = store_key_of("app:", cookie, key, sizeof(key))) != EH_OK ||
        (rc = eh_store_get(eh_broker_store_get(b), key, &text, &len)) != EH_OK)
        goto cleanup;
    session = json_loadb(text, len, 0, NULL);
    owner = json_string_value(json_object_get(session, "client_id"));
    if (owner == NULL || strcmp(owner, rp->client_id) != 0 ||
        !json_is_object(json_object_get(session, "claims"))) {
        rc = EH_ERR_NOT_FOUND;
        goto cleanup;
    }
    *claims = json_incref(json_object_get(session, "claims"));
cleanup:
    free(cookie);
    free(text);
    json_decref(session);
    return rc;
}

/* scope_of returns the scope the login asks for: the configured one, else
 * "openid" and the claim of everything the relying party's policy may
 * release (caller frees). */
static eh_rc scope_of(eh_broker *b, const eh_config_rp *rp, char **out)
{
    eh_policy *policy = NULL;
    json_t *name;
    size_t i;
    eh_buf s;
    eh_rc rc;

    if (rp->protect != NULL && rp->protect->scope != NULL) {
        *out = strdup(rp->protect->scope);
        return *out ? EH_OK : EH_ERR_NOMEM;
    }
    if ((rc = eh_policy_current_for(b, rp->client_id, rp->policy, &policy)) != EH_OK)
        return rc;
    eh_buf_init(&s);
    eh_buf_append(&s, "openid");
    json_array_foreach(policy->release, i, name)
    {
        const eh_attribute_def *def = eh_attribute_find(json_string_value(name));
        eh_buf_append(&s, " ");
        eh_buf_append(&s, def ? def->oidc_claim : json_string_value(name));
    }
    eh_policy_free(policy);
    return eh_buf_finish(&s, out, NULL);
}

/* redirect_no_store answers with a redirect to url that no cache keeps: it
 * carries a cookie of the login in progress or of the session just opened. */
static eh_rc redirect_no_store(eh_http_response *out, const char *url)
{
    eh_rc rc = eh_redirect(out, url);
    return rc == EH_OK ? eh_http_response_set_header(out, "Cache-Control", "no-store") : rc;
}

/* start_login sends the browser into the authorization flow for rp and
 * keeps what the callback needs under "pst:<digest of state>". */
static eh_rc start_login(eh_broker *b, const eh_config_rp *rp, const char *return_to,
                         eh_http_response *out)
{
    const eh_config *cfg = eh_broker_config_get(b);
    char *state = NULL, *nonce = NULL, *verifier = NULL, *challenge = NULL, *scope = NULL,
         *text = NULL, *url = NULL;
    char key[EH_STORE_KEY_MAX + 1], authorize[1024], redirect_uri[1024];
    json_t *pending = NULL;
    eh_rc rc;

    if ((rc = eh_random_token(&state)) != EH_OK || (rc = eh_random_token(&nonce)) != EH_OK ||
        (rc = eh_random_token(&verifier)) != EH_OK ||
        (rc = eh_token_digest(verifier, &challenge)) != EH_OK ||
        (rc = scope_of(b, rp, &scope)) != EH_OK ||
        (rc = store_key_of("pst:", state, key, sizeof(key))) != EH_OK)
        goto cleanup;
    rc = EH_ERR_INTERNAL;
    if (!callback_uri(b, redirect_uri, sizeof(redirect_uri)) ||
        snprintf(authorize, sizeof(authorize), "%s/authorize", cfg->issuer) >=
            (int)sizeof(authorize))
        goto cleanup;
    rc = EH_ERR_NOMEM;
    pending = json_pack("{s:s, s:s, s:s, s:s}", "client_id", rp->client_id, "return_to", return_to,
                        "nonce", nonce, "verifier", verifier);
    if (pending == NULL || (text = json_dumps(pending, JSON_COMPACT)) == NULL)
        goto cleanup;
    if ((rc = eh_store_set(eh_broker_store_get(b), key, text, strlen(text), STATE_TTL_S * 1000u)) !=
        EH_OK)
        goto cleanup;
    {
        const char *names[] = {
            "response_type", "client_id", "redirect_uri",   "scope",
            "state",         "nonce",     "code_challenge", "code_challenge_method"};
        const char *values[] = {"code", rp->client_id, redirect_uri, scope,
                                state,  nonce,         challenge,    "S256"};
        rc = eh_oidc_redirect_url(authorize, names, values, 8, NULL, &url);
    }
    if (rc == EH_OK)
        rc = eh_cookie_set(out, EH_PROTECT_STATE_COOKIE, state, (int)STATE_TTL_S,
                           eh_broker_secure(b));
    if (rc == EH_OK)
        rc = redirect_no_store(out, url);
cleanup:
    free(state);
    free(nonce);
    free(verifier);
    free(challenge);
    free(scope);
    free(text);
    free(url);
    json_decref(pending);
    return rc;
}

eh_rc eh_protect_check(eh_broker *b, const eh_config_rp *rp, const eh_http_request *req,
                       const char *return_to, eh_protect_verdict *verdict, eh_http_response *out)
{
    const char *locale = eh_i18n_locale_of_request(req);
    json_t *claims = NULL;
    eh_rc rc = load_session(b, rp, req, &claims);

    *verdict = EH_PROTECT_RESPOND;
    if (rc == EH_OK) {
        rc = session_headers(rp, claims, out);
        if (rc == EH_OK)
            *verdict = EH_PROTECT_CONTINUE;
    } else if (rc == EH_ERR_NOT_FOUND) {
        if (req->method != EH_HTTP_GET && req->method != EH_HTTP_HEAD) {
            rc = eh_page_error(out, 401, locale, "protect_login_required", NULL, NULL);
        } else if (!eh_protect_return_ok(return_to)) {
            eh_log(EH_LOG_INFO, "protect: refused a request whose address cannot be returned to");
            rc = eh_page_error(out, 400, locale, "bad_request", NULL, NULL);
        } else {
            rc = start_login(b, rp, return_to, out);
        }
    }
    json_decref(claims);
    return rc;
}

/* ---- the callback ------------------------------------------------------------ */

/* open_session stores the claims of a redeemed code as rp's application
 * session and sets its cookie. */
static eh_rc open_session(eh_broker *b, const eh_config_rp *rp, const json_t *payload,
                          eh_http_response *resp)
{
    unsigned ttl = rp->protect ? rp->protect->session_s : EH_PROTECT_DEFAULT_SESSION_S;
    char name[COOKIE_NAME_MAX], key[EH_STORE_KEY_MAX + 1], *token = NULL, *text = NULL;
    json_t *session = NULL, *claims = eh_oidc_userinfo_claims(payload);
    eh_rc rc = EH_ERR_NOMEM;

    if (claims == NULL)
        goto cleanup;
    session = json_pack("{s:s, s:O}", "client_id", rp->client_id, "claims", claims);
    if (session == NULL || (text = json_dumps(session, JSON_COMPACT)) == NULL)
        goto cleanup;
    if ((rc = cookie_name_of(rp, name, sizeof(name))) != EH_OK ||
        (rc = eh_random_token(&token)) != EH_OK ||
        (rc = store_key_of("app:", token, key, sizeof(key))) != EH_OK ||
        (rc = eh_store_set(eh_broker_store_get(b), key, text, strlen(text), ttl * 1000u)) != EH_OK)
        goto cleanup;
    rc = eh_cookie_set(resp, name, token, (int)ttl, eh_broker_secure(b));
cleanup:
    free(token);
    free(text);
    json_decref(session);
    json_decref(claims);
    return rc;
}

/* take_pending checks the callback's state against the browser's state
 * cookie and takes what start_login kept (single use). */
static eh_rc take_pending(eh_broker *b, const eh_http_request *req, const char *state,
                          json_t **pending)
{
    char key[EH_STORE_KEY_MAX + 1], *cookie = NULL, *text = NULL;
    size_t len = 0;
    eh_rc rc;

    *pending = NULL;
    rc = eh_cookie_get(req, EH_PROTECT_STATE_COOKIE, &cookie);
    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND;
    if (rc != EH_OK)
        goto cleanup;
    if (!eh_token_equal(cookie, state)) {
        rc = EH_ERR_NOT_FOUND;
        goto cleanup;
    }
    if ((rc = store_key_of("pst:", state, key, sizeof(key))) != EH_OK ||
        (rc = eh_store_take(eh_broker_store_get(b), key, &text, &len)) != EH_OK)
        goto cleanup;
    *pending = json_loadb(text, len, 0, NULL);
    if (*pending == NULL)
        rc = EH_ERR_INTERNAL;
cleanup:
    free(cookie);
    free(text);
    return rc;
}

eh_rc eh_protect_callback_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_config *cfg = eh_broker_config_get(b);
    const char *locale = eh_i18n_locale_of_request(req), *why = NULL, *return_to;
    size_t qlen = strlen(req->query);
    char *state = NULL, *code = NULL, *error = NULL, *iss = NULL, *digest = NULL;
    char redirect_uri[1024];
    json_t *pending = NULL, *payload = NULL;
    const eh_config_rp *rp = NULL;
    const char *nonce;
    eh_rc rc;

    if (eh_http_param_get(req->query, qlen, "state", &state) != EH_OK ||
        eh_http_param_get(req->query, qlen, "code", &code) == EH_ERR_INVALID ||
        eh_http_param_get(req->query, qlen, "error", &error) == EH_ERR_INVALID ||
        eh_http_param_get(req->query, qlen, "iss", &iss) == EH_ERR_INVALID) {
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    rc = take_pending(b, req, state, &pending);
    if (rc == EH_ERR_NOT_FOUND) {
        eh_log(EH_LOG_INFO, "protect: a callback without its pending login in this browser");
        rc = eh_page_error(resp, 400, locale, "session_expired", NULL, NULL);
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    /* the state is used: the browser forgets it too */
    if ((rc = eh_cookie_set(resp, EH_PROTECT_STATE_COOKIE, "", 0, eh_broker_secure(b))) != EH_OK)
        goto cleanup;
    rp = eh_config_rp_find(cfg, json_string_value(json_object_get(pending, "client_id")));
    return_to = json_string_value(json_object_get(pending, "return_to"));
    nonce = json_string_value(json_object_get(pending, "nonce"));
    if (rp == NULL || !eh_protect_return_ok(return_to) || nonce == NULL ||
        !callback_uri(b, redirect_uri, sizeof(redirect_uri)) ||
        (iss != NULL && strcmp(iss, cfg->issuer) != 0)) {
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    if (error != NULL || code == NULL) {
        eh_log(EH_LOG_INFO, "protect: the login of %s ended without a code", rp->client_id);
        rc = eh_page_error(resp, 403, locale, "protect_failed", return_to, "try_again");
        goto cleanup;
    }
    rc = eh_oidc_code_redeem(b, rp->client_id, code, redirect_uri,
                             json_string_value(json_object_get(pending, "verifier")), &payload,
                             &digest, &why);
    if (rc == EH_OK && !json_is_string(json_object_get(payload, "nonce")))
        rc = EH_ERR_UNMET;
    if (rc == EH_OK && !eh_token_equal(json_string_value(json_object_get(payload, "nonce")), nonce))
        rc = EH_ERR_UNMET;
    if (rc == EH_ERR_NOT_FOUND || rc == EH_ERR_UNMET) {
        eh_log(EH_LOG_INFO, "protect: refused a code for %s: %s", rp->client_id,
               why                  ? why
               : rc == EH_ERR_UNMET ? "wrong nonce"
                                    : "invalid, expired or used");
        rc = eh_page_error(resp, 400, locale, "session_expired", NULL, NULL);
        goto cleanup;
    }
    if (rc != EH_OK || (rc = open_session(b, rp, payload, resp)) != EH_OK)
        goto cleanup;
    rc = redirect_no_store(resp, return_to);
cleanup:
    free(state);
    free(code);
    free(error);
    free(iss);
    free(digest);
    json_decref(pending);
    json_decref(payload);
    return rc;
}

/* ---- logout ------------------------------------------------------------------ */

eh_rc eh_protect_logout_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_config *cfg = eh_broker_config_get(b);
    const char *src = req->method == EH_HTTP_POST ? (const char *)req->body : req->query;
    size_t len = src ? (req->method == EH_HTTP_POST ? req->body_len : strlen(src)) : 0;
    const char *locale = eh_i18n_locale_of_request(req);
    char name[COOKIE_NAME_MAX], key[EH_STORE_KEY_MAX + 1], *cookie = NULL, *return_to = NULL;
    eh_sso *sso = NULL;
    eh_rc rc = EH_OK;

    if (src != NULL && (eh_http_param_get(src, len, "return_to", &return_to) == EH_ERR_INVALID ||
                        (return_to != NULL && !eh_protect_return_ok(return_to)))) {
        rc = eh_page_error(resp, 400, locale, "bad_request", NULL, NULL);
        goto cleanup;
    }
    /* every application session of this browser */
    for (size_t i = 0; i < cfg->n_rps && rc == EH_OK; i++) {
        if ((rc = cookie_name_of(&cfg->rps[i], name, sizeof(name))) != EH_OK)
            break;
        eh_rc found = eh_cookie_get(req, name, &cookie);
        if (found == EH_OK && (rc = store_key_of("app:", cookie, key, sizeof(key))) == EH_OK)
            rc = eh_store_del(eh_broker_store_get(b), key);
        if (rc == EH_OK && found != EH_ERR_NOT_FOUND)
            rc = eh_cookie_set(resp, name, "", 0, eh_broker_secure(b));
        free(cookie);
        cookie = NULL;
    }
    if (rc != EH_OK)
        goto cleanup;
    /* and the single sign-on session behind them, telling its portals */
    if (eh_sso_of_request(b, req, &sso) == EH_OK &&
        (rc = eh_oidc_logout_session(b, sso->key, resp)) != EH_OK)
        goto cleanup;
    if (return_to != NULL) {
        rc = eh_redirect(resp, return_to);
    } else {
        rc = eh_oidc_logged_out_page(resp, locale);
    }
cleanup:
    free(return_to);
    eh_sso_free(sso);
    return rc;
}
