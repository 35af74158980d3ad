/* eidhub: the national OpenID Connect eID backend's flow (see
 * oidc_upstream.h).
 *
 * The transaction's backend object while a login runs:
 *   {"method": "oidc_upstream", "provider": id, "state": random,
 *    "nonce": random, "code_verifier": random, "loa": the level asked}
 * The provider's answer is used once: the callback takes the transaction
 * from the store, and puts it back emptied of that object when the answer
 * is refused, so the citizen may try again or cancel. */
#include "broker/backends/oidc_upstream.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/log.h"
#include "broker/page.h"
#include "broker/random.h"
#include "policies/policy.h"

#define METHOD "oidc_upstream"
#define CALLBACK_PATH "/auth/oidc/callback"
#define CONNECT_TIMEOUT_MS 2000u
#define PARAM_MAX 4096     /* a code, state or error longer than this is refused */
#define ID_VALUE_MAX 256   /* the subject's identifier */
#define STRING_MAX 1024    /* a string attribute */
#define AUTH_TIME_SKEW 300 /* auth_time this far in the future is not believed */

/* What went wrong with an answer: the citizen's message and the status. */
typedef struct outcome {
    const char *key; /* catalog key */
    int status;
} outcome;

static const outcome OUT_UNAVAILABLE = {"oidc_unavailable", 502};
static const outcome OUT_FAILED = {"oidc_failed", 400};
static const outcome OUT_MIXUP = {"oidc_mixup", 400};
static const outcome OUT_LOA = {"oidc_loa_too_low", 400};
static const outcome OUT_DENIED = {"oidc_access_denied", 200};
static const outcome OUT_PROVIDER_ERROR = {"oidc_provider_error", 200};

/* locale_of returns the transaction's locale. */
static const char *locale_of(const eh_txn *txn)
{
    return txn->authn->locale ? txn->authn->locale : "en";
}

/* log_safe returns s when it is a short protocol word fit for a log line
 * (letters, digits, "_.-"), else a placeholder: an error code sent by a
 * provider is logged, free text never. */
static const char *log_safe(const char *s)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    if (s == NULL)
        return "(none)";
    return strlen(s) <= 64 && s[0] != '\0' && strspn(s, ok) == strlen(s) ? s : "(not shown)";
}

/* send_failure tells the citizen what went wrong (message key), with "Try
 * again" (the provider p, when known), "Choose another way" and "Cancel". */
static eh_rc send_failure(eh_http_response *resp, int status, const eh_txn *txn,
                          const eh_oidcup_provider *p, const char *key)
{
    return eh_login_failure_page(resp, status, txn, "oidc_title", key, p != NULL ? p->href : NULL);
}

/* set_str sets member name of obj to a copy of v. */
static int set_str(json_t *obj, const char *name, const char *v)
{
    return json_object_set_new(obj, name, json_string(v)) == 0;
}

/* wanted_loa finds the level this login asks (the requester's or its
 * policy's minimum, at least low) and whether the policy lets provider p
 * authenticate for it at all. */
static eh_rc wanted_loa(eh_broker *b, const eh_txn *txn, const eh_oidcup_provider *p, eh_loa *want,
                        int *allowed)
{
    eh_policy *policy = NULL;
    eh_rc rc = eh_flow_policy(b, txn, &policy);

    if (rc != EH_OK)
        return rc;
    *want = txn->authn->min_loa > policy->min_loa ? txn->authn->min_loa : policy->min_loa;
    if (*want == EH_LOA_NONE)
        *want = EH_LOA_LOW;
    *allowed = eh_policy_allows_method(policy, METHOD) &&
               eh_policy_allows_country(policy, p->subject_country);
    eh_policy_free(policy);
    return EH_OK;
}

/* acr_request writes into out the acr values to ask p for a login at want
 * (those of its acr_values whose level satisfies want), or nothing when p
 * asks for none. Returns 0 when p cannot authenticate at want at all. */
static int acr_request(const eh_oidcup_provider *p, eh_loa want, eh_loa_comparison cmp, eh_buf *out)
{
    int any = 0;

    if (p->n_acr_values == 0) {
        for (int l = EH_LOA_LOW; l <= EH_LOA_HIGH; l++)
            any |= (p->loas & (1u << l)) && eh_loa_satisfies((eh_loa)l, want, cmp);
        return any;
    }
    for (size_t i = 0; i < p->n_acr_values; i++) {
        if (!eh_loa_satisfies(eh_oidcup_acr_loa(p, p->acr_values[i]), want, cmp))
            continue;
        if (any)
            eh_buf_append(out, " ");
        eh_buf_append(out, p->acr_values[i]);
        any = 1;
    }
    return any;
}

/* redirect_uri writes the broker's callback URL into *out (caller frees). */
static eh_rc redirect_uri(eh_broker *b, char **out)
{
    eh_buf u;

    eh_buf_init(&u);
    eh_buf_append(&u, eh_broker_config_get(b)->issuer);
    eh_buf_append(&u, CALLBACK_PATH);
    return eh_buf_finish(&u, out, NULL);
}

/* append_param adds "&name=value" (or "?" first) with value percent-encoded. */
static void append_param(eh_buf *u, int *first, const char *name, const char *value)
{
    eh_buf_append(u, *first ? "?" : "&");
    eh_buf_append(u, name);
    eh_buf_append(u, "=");
    eh_buf_append_urlenc(u, value);
    *first = 0;
}

/* authorization_url builds the authorization request to p (caller frees). */
static eh_rc authorization_url(eh_broker *b, const eh_oidcup_provider *p, const eh_oidcup_meta *m,
                               const eh_txn *txn, const char *state, const char *nonce,
                               const char *challenge, const char *acr_values, char **out)
{
    char *callback = NULL;
    int first = strchr(m->authorization_endpoint, '?') == NULL;
    eh_buf u;
    eh_rc rc = redirect_uri(b, &callback);

    if (rc != EH_OK)
        return rc;
    eh_buf_init(&u);
    eh_buf_append(&u, m->authorization_endpoint);
    append_param(&u, &first, "response_type", "code");
    append_param(&u, &first, "client_id", p->client_id);
    append_param(&u, &first, "redirect_uri", callback);
    append_param(&u, &first, "scope", p->scope);
    append_param(&u, &first, "state", state);
    append_param(&u, &first, "nonce", nonce);
    append_param(&u, &first, "code_challenge", challenge);
    append_param(&u, &first, "code_challenge_method", "S256");
    if (acr_values != NULL && acr_values[0] != '\0')
        append_param(&u, &first, "acr_values", acr_values);
    append_param(&u, &first, "ui_locales", locale_of(txn));
    if (txn->authn->force_authn)
        append_param(&u, &first, "prompt", "login");
    free(callback);
    return eh_buf_finish(&u, out, NULL);
}

eh_rc eh_oidcup_start_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_oidcup *up = eh_broker_backend_get(b, METHOD);
    const eh_oidcup_provider *p;
    eh_oidcup_meta *m = NULL;
    eh_txn *txn = NULL;
    char *id = NULL, *state = NULL, *nonce = NULL, *verifier = NULL, *challenge = NULL;
    char *acr = NULL, *url = NULL, why[256];
    const char *query = req->query ? req->query : "";
    eh_loa want = EH_LOA_LOW;
    int allowed = 0;
    eh_buf acrs;
    eh_rc rc;

    eh_buf_init(&acrs);
    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK)
        return EH_OK;
    if (eh_http_param_get(query, strlen(query), "provider", &id) != EH_OK)
        id = NULL;
    p = eh_oidcup_provider_find(up, id);
    if (p == NULL) {
        rc = eh_page_error(resp, 404, locale_of(txn), "oidc_unknown_provider", "/login",
                           "oidc_choose_another");
        goto cleanup;
    }
    if ((rc = wanted_loa(b, txn, p, &want, &allowed)) != EH_OK)
        goto cleanup;
    if (!allowed || !acr_request(p, want, txn->authn->comparison, &acrs)) {
        rc = eh_page_error(resp, 403, locale_of(txn), "oidc_loa_unavailable", "/login",
                           "oidc_choose_another");
        goto cleanup;
    }
    if ((rc = eh_buf_finish(&acrs, &acr, NULL)) != EH_OK)
        goto cleanup;
    rc = eh_oidcup_meta_get(up, p, &m, why, sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_ERROR, "oidc_upstream: provider %s unavailable: %s", p->id, why);
        rc = send_failure(resp, OUT_UNAVAILABLE.status, txn, p, OUT_UNAVAILABLE.key);
        goto cleanup;
    }
    if ((rc = eh_random_token(&state)) != EH_OK || (rc = eh_random_token(&nonce)) != EH_OK ||
        (rc = eh_random_token(&verifier)) != EH_OK ||
        (rc = eh_token_digest(verifier, &challenge)) != EH_OK) /* S256: b64url(SHA-256) */
        goto cleanup;
    json_object_clear(txn->backend);
    rc = EH_ERR_NOMEM;
    if (!set_str(txn->backend, "method", METHOD) || !set_str(txn->backend, "provider", p->id) ||
        !set_str(txn->backend, "state", state) || !set_str(txn->backend, "nonce", nonce) ||
        !set_str(txn->backend, "code_verifier", verifier) ||
        !set_str(txn->backend, "loa", eh_loa_name(want)))
        goto cleanup;
    if ((rc = eh_txn_save(eh_broker_store_get(b), txn)) != EH_OK ||
        (rc = authorization_url(b, p, m, txn, state, nonce, challenge, acr, &url)) != EH_OK)
        goto cleanup;
    eh_log(EH_LOG_INFO, "oidc_upstream: login started at provider %s (level %s)", p->id,
           eh_loa_name(want));
    rc = eh_redirect(resp, url);
cleanup:
    eh_buf_free(&acrs);
    eh_oidcup_meta_release(p, m);
    eh_txn_free(txn);
    free(id);
    free(state);
    free(nonce);
    if (verifier != NULL)
        OPENSSL_cleanse(verifier, strlen(verifier));
    free(verifier);
    free(challenge);
    free(acr);
    free(url);
    return rc;
}

/* The parameters of the provider's answer. */
typedef struct answer_params {
    char *state, *code, *error, *iss;
    int malformed; /* a parameter repeated, badly encoded or too long */
} answer_params;

static void params_read(const eh_http_request *req, answer_params *a)
{
    const char *q = req->query ? req->query : "";
    char **slots[] = {&a->state, &a->code, &a->error, &a->iss};
    const char *names[] = {"state", "code", "error", "iss"};

    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        eh_rc rc = eh_http_param_get(q, strlen(q), names[i], slots[i]);
        if (rc == EH_ERR_NOT_FOUND) {
            *slots[i] = NULL;
        } else if (rc != EH_OK || strlen(*slots[i]) > PARAM_MAX) {
            free(*slots[i]);
            *slots[i] = NULL;
            a->malformed = 1;
        }
    }
}

static void params_clear(answer_params *a)
{
    free(a->state);
    if (a->code != NULL)
        OPENSSL_cleanse(a->code, strlen(a->code));
    free(a->code);
    free(a->error);
    free(a->iss);
}

/* pending_state returns the state txn waits for, or NULL. */
static const char *pending_state(const eh_txn *txn)
{
    const char *method = json_string_value(json_object_get(txn->backend, "method"));
    if (method == NULL || strcmp(method, METHOD) != 0)
        return NULL;
    return json_string_value(json_object_get(txn->backend, "state"));
}

/* state_matches tells whether the answer's state is the one this
 * browser's transaction waits for (constant time). */
static int state_matches(const eh_txn *txn, const answer_params *a)
{
    const char *want = pending_state(txn);
    return want != NULL && a->state != NULL && eh_token_equal(a->state, want);
}

/* basic_credentials makes the client_secret_basic Authorization value
 * (RFC 6749 2.3.1: both parts form-encoded first) into *out (caller wipes
 * and frees). */
static eh_rc basic_credentials(const eh_oidcup_provider *p, char **out)
{
    char *pair = NULL, *b64 = NULL;
    size_t pair_len = 0, b64_len = 0;
    cjose_err err;
    eh_buf u;
    eh_rc rc;

    *out = NULL;
    eh_buf_init(&u);
    eh_buf_append_urlenc(&u, p->client_id);
    eh_buf_append(&u, ":");
    eh_buf_append_urlenc(&u, p->client_secret);
    if ((rc = eh_buf_finish(&u, &pair, &pair_len)) != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    if (!cjose_base64_encode((const uint8_t *)pair, pair_len, &b64, &b64_len, &err))
        goto cleanup;
    eh_buf_init(&u);
    eh_buf_append(&u, "Basic ");
    eh_buf_append(&u, b64);
    rc = eh_buf_finish(&u, out, NULL);
cleanup:
    OPENSSL_cleanse(pair, pair_len);
    free(pair);
    if (b64 != NULL) {
        OPENSSL_cleanse(b64, b64_len);
        cjose_get_dealloc()(b64);
    }
    return rc;
}

/* call_json makes call to p and returns the JSON object of a 200 answer
 * (*out, caller decrefs). EH_ERR_IO when the provider did not answer,
 * EH_ERR_INVALID for any other status or a body that is not an object
 * (why says which; an OAuth error code is named when it is a plain word). */
static eh_rc call_json(const eh_oidcup *up, eh_http_call *call, const char *what, json_t **out,
                       char *why, size_t whylen)
{
    eh_http_answer answer = {0};
    json_error_t jerr;
    json_t *doc = NULL;
    char reason[256];
    eh_rc rc;

    *out = NULL;
    call->timeout_ms = up->request_timeout_ms;
    call->upstream = EH_UPSTREAM_OIDC_UPSTREAM;
    call->connect_timeout_ms =
        up->request_timeout_ms < CONNECT_TIMEOUT_MS ? up->request_timeout_ms : CONNECT_TIMEOUT_MS;
    rc = up->fetch(call, &answer, reason, sizeof(reason));
    if (rc != EH_OK) {
        snprintf(why, whylen, "%s: no answer: %.160s", what, reason);
        rc = EH_ERR_IO;
        goto cleanup;
    }
    doc = json_loadb(answer.body, answer.body_len, JSON_REJECT_DUPLICATES, &jerr);
    rc = EH_ERR_INVALID;
    if (answer.status != 200) {
        snprintf(why, whylen, "%s: HTTP status %ld, error %s", what, answer.status,
                 log_safe(json_string_value(json_object_get(doc, "error"))));
        goto cleanup;
    }
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "%s: the answer is not a JSON object", what);
        goto cleanup;
    }
    *out = doc;
    doc = NULL;
    rc = EH_OK;
cleanup:
    json_decref(doc);
    if (answer.body != NULL)
        OPENSSL_cleanse(answer.body, answer.body_len);
    eh_http_answer_clear(&answer);
    return rc;
}

/* redeem exchanges the code at p's token endpoint (*out: the token
 * response, with an id_token). */
static eh_rc redeem(eh_broker *b, const eh_oidcup *up, const eh_oidcup_provider *p,
                    const eh_oidcup_meta *m, const char *code, const char *verifier, json_t **out,
                    char *why, size_t whylen)
{
    eh_http_call call = {0};
    char *callback = NULL, *form = NULL, *auth = NULL;
    size_t form_len = 0;
    eh_buf f;
    eh_rc rc;

    *out = NULL;
    if ((rc = redirect_uri(b, &callback)) != EH_OK)
        return rc;
    eh_buf_init(&f);
    eh_buf_append(&f, "grant_type=authorization_code&code=");
    eh_buf_append_urlenc(&f, code);
    eh_buf_append(&f, "&redirect_uri=");
    eh_buf_append_urlenc(&f, callback);
    eh_buf_append(&f, "&code_verifier=");
    eh_buf_append_urlenc(&f, verifier);
    if (p->secret_post) {
        eh_buf_append(&f, "&client_id=");
        eh_buf_append_urlenc(&f, p->client_id);
        eh_buf_append(&f, "&client_secret=");
        eh_buf_append_urlenc(&f, p->client_secret);
    }
    if ((rc = eh_buf_finish(&f, &form, &form_len)) != EH_OK)
        goto cleanup;
    if (!p->secret_post && (rc = basic_credentials(p, &auth)) != EH_OK)
        goto cleanup;
    call.method = "POST";
    call.url = m->token_endpoint;
    call.form_body = form;
    call.authorization = auth;
    call.pinned_public_key = p->pinned_public_key;
    if ((rc = call_json(up, &call, "token endpoint", out, why, whylen)) != EH_OK)
        goto cleanup;
    if (!json_is_string(json_object_get(*out, "id_token"))) {
        snprintf(why, whylen, "token endpoint: the answer has no id_token");
        json_decref(*out);
        *out = NULL;
        rc = EH_ERR_INVALID;
    }
cleanup:
    free(callback);
    if (form != NULL)
        OPENSSL_cleanse(form, form_len);
    free(form);
    if (auth != NULL)
        OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    return rc;
}

/* read_userinfo asks p's userinfo endpoint with the access token. */
static eh_rc read_userinfo(const eh_oidcup *up, const eh_oidcup_provider *p,
                           const eh_oidcup_meta *m, const char *access_token, json_t **out,
                           char *why, size_t whylen)
{
    eh_http_call call = {0};
    char *auth = NULL;
    eh_buf a;
    eh_rc rc;

    eh_buf_init(&a);
    eh_buf_append(&a, "Bearer ");
    eh_buf_append(&a, access_token);
    if ((rc = eh_buf_finish(&a, &auth, NULL)) != EH_OK)
        return rc;
    call.method = "GET";
    call.url = m->userinfo_endpoint;
    call.authorization = auth;
    call.pinned_public_key = p->pinned_public_key;
    rc = call_json(up, &call, "userinfo", out, why, whylen);
    OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    return rc;
}

/* date_ok accepts "YYYY-MM-DD" with a plausible month and day. */
static int date_ok(const char *s)
{
    int month, day;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    }
    month = (s[5] - '0') * 10 + (s[6] - '0');
    day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* text_ok accepts a string of 1 to max bytes without control characters. */
static int text_ok(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);

    if (s == NULL || len == 0 || len > max || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    }
    return 1;
}

/* coerce returns the claim value v as a new value of attr's type, or NULL
 * when it does not fit. An OIDC address object gives its "formatted". */
static json_t *coerce(const eh_attribute_def *attr, const json_t *v)
{
    switch (attr->type) {
    case EH_ATTR_STRING:
        if (json_is_object(v))
            v = json_object_get(v, "formatted");
        return text_ok(v, STRING_MAX) ? json_string(json_string_value(v)) : NULL;
    case EH_ATTR_DATE:
        return json_is_string(v) && date_ok(json_string_value(v))
                   ? json_string(json_string_value(v))
                   : NULL;
    case EH_ATTR_BOOLEAN:
        return json_is_boolean(v) ? json_boolean(json_is_true(v)) : NULL;
    case EH_ATTR_INTEGER:
        return json_is_integer(v) ? json_integer(json_integer_value(v)) : NULL;
    }
    return NULL;
}

eh_rc eh_oidcup_identity(const eh_oidcup_provider *p, const json_t *id_claims,
                         const json_t *userinfo, eh_loa loa, int64_t now, eh_identity **out)
{
    const json_t *idv = json_object_get(id_claims, p->subject_claim), *auth_time;
    eh_identity *id = NULL;
    char value[ID_VALUE_MAX + 1], subject[ID_VALUE_MAX + 8];
    eh_rc rc = EH_ERR_INVALID;

    *out = NULL;
    if (idv == NULL && userinfo != NULL)
        idv = json_object_get(userinfo, p->subject_claim);
    if (text_ok(idv, ID_VALUE_MAX))
        snprintf(value, sizeof(value), "%s", json_string_value(idv));
    else if (json_is_integer(idv) && json_integer_value(idv) >= 0)
        snprintf(value, sizeof(value), "%lld", (long long)json_integer_value(idv));
    else
        goto cleanup;
    if ((rc = eh_identity_new(&id)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((id->country = strdup(p->subject_country)) == NULL ||
        (id->id_type = strdup(p->subject_id_type)) == NULL ||
        (id->id_value = strdup(value)) == NULL || (id->method = strdup(METHOD)) == NULL)
        goto cleanup;
    id->loa = loa;
    auth_time = json_object_get(id_claims, "auth_time");
    id->auth_time = json_is_integer(auth_time) && json_integer_value(auth_time) > 0 &&
                            json_integer_value(auth_time) <= now + AUTH_TIME_SKEW
                        ? (int64_t)json_integer_value(auth_time)
                        : now;
    for (size_t i = 0; i < p->n_claims; i++) {
        const json_t *v = userinfo ? json_object_get(userinfo, p->claims[i].claim) : NULL;
        json_t *c;
        if (v == NULL || json_is_null(v))
            v = json_object_get(id_claims, p->claims[i].claim);
        if (v == NULL || json_is_null(v))
            continue;
        if ((c = coerce(p->claims[i].attr, v)) == NULL) {
            eh_log(EH_LOG_WARN,
                   "oidc_upstream: provider %s: claim %s does not fit %s (%s); "
                   "left out",
                   p->id, p->claims[i].claim, p->claims[i].attr->name,
                   eh_attr_type_name(p->claims[i].attr->type));
            continue;
        }
        if (json_object_set_new(id->attributes, p->claims[i].attr->name, c) != 0)
            goto cleanup;
    }
    if ((rc = eh_identity_subject(id, subject, sizeof(subject))) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (json_object_set_new(id->attributes, "person_identifier", json_string(subject)) != 0)
        goto cleanup;
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    OPENSSL_cleanse(value, sizeof(value));
    OPENSSL_cleanse(subject, sizeof(subject));
    eh_identity_free(id);
    return rc;
}

/* authenticate follows the provider's answer a for txn through code
 * exchange, ID token, level and userinfo to an identity (*id). On failure
 * *why_out is what the citizen is told. */
static eh_rc authenticate(eh_broker *b, const eh_oidcup *up, const eh_oidcup_provider *p,
                          const eh_txn *txn, const answer_params *a, eh_identity **id,
                          outcome *why_out)
{
    eh_oidcup_meta *m = NULL;
    json_t *tokens = NULL, *claims = NULL, *info = NULL;
    const char *verifier = json_string_value(json_object_get(txn->backend, "code_verifier"));
    const char *nonce = json_string_value(json_object_get(txn->backend, "nonce"));
    const char *acr, *access_token, *token_type;
    eh_loa want = eh_loa_parse(json_string_value(json_object_get(txn->backend, "loa")), NULL);
    eh_loa got;
    eh_oidcup_expect x;
    char why[256] = "";
    eh_rc rc;

    *id = NULL;
    *why_out = OUT_FAILED;
    rc = eh_oidcup_meta_get(up, p, &m, why, sizeof(why));
    if (rc != EH_OK) {
        *why_out = OUT_UNAVAILABLE;
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    /* RFC 9207: a provider that says it sends iss must send it */
    if (a->iss == NULL && m->iss_parameter_supported) {
        snprintf(why, sizeof(why), "the answer has no iss although the provider announces it");
        *why_out = OUT_MIXUP;
        goto cleanup;
    }
    if (verifier == NULL || nonce == NULL || want == EH_LOA_NONE) {
        snprintf(why, sizeof(why), "the transaction holds no pending request");
        goto cleanup;
    }
    rc = redeem(b, up, p, m, a->code, verifier, &tokens, why, sizeof(why));
    if (rc != EH_OK) {
        if (rc == EH_ERR_IO)
            *why_out = OUT_UNAVAILABLE;
        goto cleanup;
    }
    x = (eh_oidcup_expect){p->issuer, p->client_id, nonce, (int64_t)time(NULL), up->clock_skew_s};
    rc = eh_oidcup_verify(up, p, m, json_string_value(json_object_get(tokens, "id_token")), &x,
                          &claims, why, sizeof(why));
    if (rc != EH_OK) {
        if (rc == EH_ERR_IO)
            *why_out = OUT_UNAVAILABLE;
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    acr = json_string_value(json_object_get(claims, "acr"));
    got = eh_oidcup_acr_loa(p, acr);
    if (got == EH_LOA_NONE || !eh_loa_satisfies(got, want, txn->authn->comparison)) {
        snprintf(why, sizeof(why), "the ID token's acr %s is not at the level asked (%s)",
                 got == EH_LOA_NONE ? "is missing or unknown; it" : "maps to a level that",
                 eh_loa_name(want));
        *why_out = OUT_LOA;
        goto cleanup;
    }
    access_token = json_string_value(json_object_get(tokens, "access_token"));
    token_type = json_string_value(json_object_get(tokens, "token_type"));
    if (p->userinfo && m->userinfo_endpoint != NULL) {
        if (access_token == NULL || token_type == NULL || strcasecmp(token_type, "Bearer") != 0) {
            snprintf(why, sizeof(why), "token endpoint: no Bearer access token for userinfo");
            goto cleanup;
        }
        rc = read_userinfo(up, p, m, access_token, &info, why, sizeof(why));
        if (rc != EH_OK) {
            if (rc == EH_ERR_IO)
                *why_out = OUT_UNAVAILABLE;
            goto cleanup;
        }
        rc = EH_ERR_INVALID;
        /* OIDC Core 5.3.2: userinfo's sub must be the ID token's */
        if (!json_is_string(json_object_get(info, "sub")) ||
            strcmp(json_string_value(json_object_get(info, "sub")),
                   json_string_value(json_object_get(claims, "sub"))) != 0) {
            snprintf(why, sizeof(why), "userinfo's sub is not the ID token's");
            goto cleanup;
        }
    }
    rc = eh_oidcup_identity(p, claims, info, got, (int64_t)time(NULL), id);
    if (rc != EH_OK)
        snprintf(why, sizeof(why), "the identifier claim %s is missing or unusable",
                 p->subject_claim);
cleanup:
    if (rc != EH_OK)
        eh_log(EH_LOG_WARN, "oidc_upstream: provider %s: answer refused: %s", p->id, why);
    json_decref(tokens);
    json_decref(claims);
    json_decref(info);
    eh_oidcup_meta_release(p, m);
    return rc;
}

/* refuse puts txn back without its pending request (the answer cannot be
 * used again) and tells the citizen what went wrong. */
static eh_rc refuse(eh_broker *b, eh_txn *txn, const eh_oidcup_provider *p, outcome o,
                    eh_http_response *resp)
{
    eh_rc rc;

    json_object_clear(txn->backend);
    rc = eh_txn_save(eh_broker_store_get(b), txn);
    if (rc != EH_OK)
        return rc;
    return send_failure(resp, o.status, txn, p, o.key);
}

eh_rc eh_oidcup_callback_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    const eh_oidcup *up = eh_broker_backend_get(b, METHOD);
    const eh_oidcup_provider *p = NULL;
    eh_identity *id = NULL;
    eh_txn *txn = NULL;
    answer_params a;
    outcome o;
    eh_rc rc;

    params_read(req, &a);
    if (eh_flow_txn_or_page(b, req, 0, &txn, resp) != EH_OK) {
        rc = EH_OK;
        goto cleanup;
    }
    /* the answer must belong to the login this browser started */
    if (up == NULL || a.malformed || !state_matches(txn, &a)) {
        eh_log(EH_LOG_WARN, "oidc_upstream: answer refused: its state is not the one this "
                            "browser's transaction waits for");
        rc = send_failure(resp, 400, txn, NULL, "oidc_state_mismatch");
        goto cleanup;
    }
    p = eh_oidcup_provider_find(up, json_string_value(json_object_get(txn->backend, "provider")));
    /* take it: one answer completes a transaction at most once */
    eh_txn_free(txn);
    txn = NULL;
    if (eh_flow_txn_or_page(b, req, 1, &txn, resp) != EH_OK) {
        rc = EH_OK;
        goto cleanup;
    }
    if (!state_matches(txn, &a) || p == NULL) {
        rc = refuse(b, txn, p, (outcome){"session_expired", 409}, resp);
        goto cleanup;
    }
    /* RFC 9207 mix-up defence: the answer names the provider this login chose */
    if (a.iss != NULL && strcmp(a.iss, p->issuer) != 0) {
        eh_log(EH_LOG_WARN,
               "oidc_upstream: provider %s: answer refused: its iss names another "
               "issuer (mix-up)",
               p->id);
        rc = refuse(b, txn, p, OUT_MIXUP, resp);
        goto cleanup;
    }
    if (a.error != NULL || a.code == NULL) {
        eh_log(EH_LOG_INFO, "oidc_upstream: provider %s answered error %s", p->id,
               a.error ? log_safe(a.error) : "(no code)");
        o = a.error == NULL                         ? OUT_FAILED
            : strcmp(a.error, "access_denied") == 0 ? OUT_DENIED
                                                    : OUT_PROVIDER_ERROR;
        rc = refuse(b, txn, p, o, resp);
        goto cleanup;
    }
    if (authenticate(b, up, p, txn, &a, &id, &o) != EH_OK) {
        rc = refuse(b, txn, p, o, resp);
        goto cleanup;
    }
    eh_log(EH_LOG_INFO, "oidc_upstream: provider %s authenticated a citizen at level %s", p->id,
           eh_loa_name(id->loa));
    rc = eh_flow_complete(b, txn, id, resp);
cleanup:
    eh_identity_free(id);
    eh_txn_free(txn);
    params_clear(&a);
    return rc;
}
