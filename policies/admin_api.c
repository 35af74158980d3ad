/* eidhub: the administration API's handlers (docs/admin-api.md). */
#include "policies/admin_api.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/oidc_map.h"
#include "attributes/registry.h"
#include "broker/audit.h"
#include "broker/authn.h"
#include "broker/broker.h"
#include "broker/rate_limit.h"
#include "broker/config.h"
#include "broker/log.h"
#include "policies/admin_auth.h"
#include "policies/policy.h"
#include "policies/policy_store.h"

#define WHY_MAX_CHARS 500
#define PREVIEW_DEFAULT_METHOD "mobile_id"

/* Login attempts allowed per client address and window. */
#define ADMIN_LOGIN_LIMIT 20
#define ADMIN_LOGIN_WINDOW_S 300

/* One administration request in progress. */
typedef struct admin_req {
    eh_broker *b;
    const eh_http_request *req;
    eh_http_response *resp;
    const char *endpoint; /* for logs, e.g. "POST /admin/api/policy" */
    const eh_admin *admin;
    eh_policy_store *policies;
    const eh_config *cfg;
    eh_store *store;
    eh_admin_session *session; /* NULL: not logged in */
    json_t *body;              /* a POST's JSON object */
    int answered;              /* resp holds the answer already */
    int audit_refusals;        /* a change endpoint: refusals of a session are audited */
} admin_req;

/* send_json answers status with doc as the body (doc is consumed). */
static eh_rc send_json(admin_req *ar, int status, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    eh_rc rc;

    json_decref(doc);
    if (text == NULL)
        return EH_ERR_NOMEM;
    rc = eh_http_response_take_body(ar->resp, status, "application/json", text, strlen(text));
    if (rc == EH_OK)
        rc = eh_http_response_set_header(ar->resp, "Cache-Control", "no-store");
    ar->answered = rc == EH_OK;
    return rc;
}

/* send_error answers {"error": code, "message": text}. */
static eh_rc send_error(admin_req *ar, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static eh_rc send_error(admin_req *ar, int status, const char *code, const char *fmt, ...)
{
    char message[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return send_json(ar, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

/* refuse logs a refused change (account, endpoint, reason) and answers
 * the error. */
static eh_rc refuse(admin_req *ar, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static eh_rc refuse(admin_req *ar, int status, const char *code, const char *fmt, ...)
{
    char message[600], line[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    strcpy(line, message);
    for (char *p = line; *p; p++) { /* whatever a request held stays one log line */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    }
    eh_log(EH_LOG_WARN, "admin: refused %s by %s: %s", ar->endpoint,
           ar->session ? ar->session->user : "(no session)", line);
    /* only an account's refused changes: anonymous requests must not be
     * able to fill the audit log (they are in the error log) */
    if (ar->audit_refusals && ar->session != NULL)
        eh_audit_policy_refused(eh_broker_audit_get(ar->b), ar->session->user, ar->endpoint, line);
    return send_error(ar, status, code, "%s", message);
}

static const char *refusal_code(eh_admin_refusal r)
{
    switch (eh_admin_refusal_status(r)) {
    case 401:
        return "unauthenticated";
    case 415:
        return "unsupported_media_type";
    default:
        return "forbidden";
    }
}

/* parse_body reads the request body as a JSON object into ar->body;
 * answers 400 (logged) otherwise. */
static eh_rc parse_body(admin_req *ar)
{
    json_error_t jerr;

    ar->body = ar->req->body_len ? json_loadb((const char *)ar->req->body, ar->req->body_len,
                                              JSON_REJECT_DUPLICATES, &jerr)
                                 : json_object();
    if (json_is_object(ar->body))
        return EH_OK;
    json_decref(ar->body);
    ar->body = NULL;
    return refuse(ar, 400, "invalid_request", "the body must be a JSON object");
}

/* begin prepares ar and checks what every endpoint needs: administration
 * configured (else 404), and a session (else 401). A change (change set)
 * must also pass eh_admin_check_change for role need, and its body is
 * parsed. When it answered, ar->answered is set. */
static eh_rc begin(admin_req *ar, eh_broker *b, const eh_http_request *req, eh_http_response *resp,
                   const char *endpoint, eh_admin_role need, int change)
{
    eh_admin_refusal refusal;
    eh_rc rc;

    memset(ar, 0, sizeof(*ar));
    ar->b = b;
    ar->req = req;
    ar->resp = resp;
    ar->endpoint = endpoint;
    ar->admin = eh_broker_admin_get(b);
    ar->policies = eh_broker_policies_get(b);
    ar->cfg = eh_broker_config_get(b);
    ar->store = eh_broker_store_get(b);
    if (ar->admin == NULL || ar->policies == NULL)
        return send_error(ar, 404, "not_found", "administration is not configured");
    if (ar->store == NULL)
        return EH_ERR_STORE_UNAVAILABLE;
    rc = eh_admin_session_find(ar->admin, ar->store, req, (int64_t)time(NULL), &ar->session);
    if (rc != EH_OK && rc != EH_ERR_NOT_FOUND)
        return rc;
    if (!change) {
        if (ar->session == NULL)
            return send_error(ar, 401, "unauthenticated", "log in first");
        return EH_OK;
    }
    ar->audit_refusals = need == EH_ADMIN_EDITOR;
    refusal = eh_admin_check_change(ar->session, need, req, ar->cfg->issuer);
    if (refusal != EH_ADMIN_ALLOWED)
        return refuse(ar, eh_admin_refusal_status(refusal), refusal_code(refusal), "%s",
                      eh_admin_refusal_reason(refusal));
    return parse_body(ar);
}

static void finish(admin_req *ar)
{
    eh_admin_session_free(ar->session);
    json_decref(ar->body);
}

/* query_get copies query parameter name (caller frees *out; NULL when
 * absent). EH_ERR_INVALID for a malformed query. */
static eh_rc query_get(const admin_req *ar, const char *name, char **out)
{
    const char *q = ar->req->query ? ar->req->query : "";
    eh_rc rc = eh_http_param_get(q, strlen(q), name, out);

    if (rc == EH_ERR_NOT_FOUND) {
        *out = NULL;
        return EH_OK;
    }
    return rc;
}

/* version_parse reads a version number (0 to EH_POLICY_VERSION_MAX, plain
 * decimal); -1 for anything else. */
static int version_parse(const char *text)
{
    long v = 0;

    if (text == NULL || text[0] == '\0' || (text[0] == '0' && text[1] != '\0'))
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > EH_POLICY_VERSION_MAX)
            return -1;
    }
    return (int)v;
}

/* json_version reads a JSON integer version; -1 when it is not one. */
static int json_version(const json_t *v)
{
    json_int_t n = json_integer_value(v);
    return json_is_integer(v) && n >= 0 && n <= EH_POLICY_VERSION_MAX ? (int)n : -1;
}

/* requester finds the relying party called name (from the query when name
 * is NULL): 400 when missing or not a possible policy name, 404 when no
 * relying party has that client_id. *rp NULL when it answered. */
static eh_rc requester(admin_req *ar, const char *name, const eh_config_rp **rp)
{
    char *from_query = NULL;
    eh_rc rc = EH_OK;

    *rp = NULL;
    if (name == NULL) {
        if ((rc = query_get(ar, "name", &from_query)) != EH_OK || from_query == NULL) {
            rc = refuse(ar, 400, "invalid_request", "the name parameter is required");
            goto cleanup;
        }
        name = from_query;
    }
    if (!eh_policy_name_valid(name)) {
        rc = refuse(ar, 400, "invalid_request", "not a requester's name");
        goto cleanup;
    }
    *rp = eh_config_rp_find(ar->cfg, name);
    if (*rp == NULL)
        rc = refuse(ar, 404, "not_found", "no requester called %s", name);
cleanup:
    free(from_query);
    return rc;
}

/* why_ok tells whether why is 1 to WHY_MAX_CHARS characters of UTF-8 text
 * (jansson guarantees UTF-8) without NUL. */
static int why_ok(const json_t *why)
{
    size_t chars = 0;
    const char *s = json_string_value(why);

    if (s == NULL || json_string_length(why) != strlen(s))
        return 0;
    for (; *s; s++)
        chars += ((unsigned char)*s & 0xC0) != 0x80;
    return chars >= 1 && chars <= WHY_MAX_CHARS;
}

/* profile_document is the document of version 0: the registration's profile. */
static json_t *profile_document(const eh_config_rp *rp)
{
    return json_pack("{s:s}", "profile", rp->policy);
}

/* ------------------------------------------------------------ sessions */

eh_rc eh_admin_login_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    eh_admin_role role = EH_ADMIN_NONE;
    eh_admin_session *s = NULL;
    const char *user, *password;
    char *id = NULL;
    eh_rc rc;

    memset(&ar, 0, sizeof(ar));
    ar.b = b;
    ar.req = req;
    ar.resp = resp;
    ar.endpoint = "POST /admin/api/login";
    ar.admin = eh_broker_admin_get(b);
    ar.cfg = eh_broker_config_get(b);
    ar.store = eh_broker_store_get(b);
    if (ar.admin == NULL) {
        rc = send_error(&ar, 404, "not_found", "administration is not configured");
        goto cleanup;
    }
    if (ar.store == NULL) {
        rc = EH_ERR_STORE_UNAVAILABLE;
        goto cleanup;
    }
    if (!eh_admin_check_same_origin(req, ar.cfg->issuer)) {
        rc = refuse(&ar, 403, "forbidden", "%s", eh_admin_refusal_reason(EH_ADMIN_CROSS_ORIGIN));
        goto cleanup;
    }
    /* each attempt costs a slow hash: limit them per client address */
    if (eh_rate_limited(ar.store, "admlogin", req->client_addr, ADMIN_LOGIN_LIMIT,
                        ADMIN_LOGIN_WINDOW_S)) {
        rc = refuse(&ar, 429, "too_many_requests", "too many login attempts from this address");
        goto cleanup;
    }
    if (!eh_admin_check_json(req)) {
        rc = refuse(&ar, 415, "unsupported_media_type", "%s",
                    eh_admin_refusal_reason(EH_ADMIN_CONTENT_TYPE));
        goto cleanup;
    }
    if ((rc = parse_body(&ar)) != EH_OK || ar.answered)
        goto cleanup;
    user = json_string_value(json_object_get(ar.body, "user"));
    password = json_string_value(json_object_get(ar.body, "password"));
    if (user == NULL || password == NULL) {
        rc = send_error(&ar, 400, "invalid_request", "user and password are required");
        goto cleanup;
    }
    if (eh_admin_authenticate(ar.admin, user, password, &role) != EH_OK) {
        eh_log(EH_LOG_WARN, "admin: login refused: wrong user or password");
        rc = send_error(&ar, 401, "invalid_credentials", "wrong user or password");
        goto cleanup;
    }
    /* whatever session this browser had ends: a login always gets a new id */
    if ((rc = eh_admin_session_end(ar.store, req)) != EH_OK ||
        (rc = eh_admin_session_create(ar.admin, ar.store, user, role, (int64_t)time(NULL), &id,
                                      &s)) != EH_OK ||
        (rc = eh_admin_cookie_set(resp, id, (int)eh_admin_session_minutes(ar.admin) * 60,
                                  eh_broker_secure(b))) != EH_OK)
        goto cleanup;
    eh_log(EH_LOG_INFO, "admin: %s logged in (%s)", s->user, eh_admin_role_name(s->role));
    rc = send_json(&ar, 200,
                   json_pack("{s:s, s:s, s:s}", "user", s->user, "role",
                             eh_admin_role_name(s->role), "csrf", s->csrf));
cleanup:
    if (ar.body != NULL && (password = json_string_value(json_object_get(ar.body, "password"))))
        OPENSSL_cleanse((char *)password, strlen(password));
    if (id != NULL)
        OPENSSL_cleanse(id, strlen(id));
    free(id);
    eh_admin_session_free(s);
    finish(&ar);
    return rc;
}

eh_rc eh_admin_logout_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    eh_rc rc = begin(&ar, b, req, resp, "POST /admin/api/logout", EH_ADMIN_VIEWER, 1);

    if (rc != EH_OK || ar.answered)
        goto cleanup;
    if ((rc = eh_admin_session_end(ar.store, req)) != EH_OK ||
        (rc = eh_admin_cookie_set(resp, "", 0, eh_broker_secure(b))) != EH_OK ||
        (rc = eh_http_response_set_header(resp, "Cache-Control", "no-store")) != EH_OK)
        goto cleanup;
    eh_log(EH_LOG_INFO, "admin: %s logged out", ar.session->user);
    resp->status = 204;
cleanup:
    finish(&ar);
    return rc;
}

eh_rc eh_admin_session_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    eh_rc rc = begin(&ar, b, req, resp, "GET /admin/api/session", EH_ADMIN_VIEWER, 0);

    if (rc == EH_OK && !ar.answered)
        rc = send_json(&ar, 200,
                       json_pack("{s:s, s:s, s:s}", "user", ar.session->user, "role",
                                 eh_admin_role_name(ar.session->role), "csrf", ar.session->csrf));
    finish(&ar);
    return rc;
}

/* ------------------------------------------------------------ reading */

eh_rc eh_admin_requesters_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    json_t *list = NULL;
    eh_rc rc = begin(&ar, b, req, resp, "GET /admin/api/requesters", EH_ADMIN_VIEWER, 0);

    if (rc != EH_OK || ar.answered)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((list = json_array()) == NULL)
        goto cleanup;
    for (size_t i = 0; i < ar.cfg->n_rps; i++) {
        const eh_config_rp *rp = &ar.cfg->rps[i];
        int version = 0;
        if (eh_policy_name_valid(rp->client_id) &&
            (rc = eh_policy_store_current_version(ar.policies, rp->client_id, &version)) != EH_OK)
            goto cleanup;
        rc = EH_ERR_NOMEM;
        if (json_array_append_new(list,
                                  json_pack("{s:s, s:O, s:{s:i, s:s}}", "client_id", rp->client_id,
                                            "display_name", rp->display_name, "policy", "version",
                                            version, "profile", rp->policy)) != 0)
            goto cleanup;
    }
    rc = send_json(&ar, 200, list);
    list = NULL;
cleanup:
    json_decref(list);
    finish(&ar);
    return rc;
}

/* load_version reads version (the current one when version is -1) of rp's
 * policy into *p and its effective JSON into *effective; answers 404 when
 * there is no such version (then *p stays NULL). */
static eh_rc load_version(admin_req *ar, const eh_config_rp *rp, int version, eh_policy **p,
                          json_t **effective, json_t **meta)
{
    eh_rc rc = EH_OK;

    *p = NULL;
    *effective = NULL;
    if (version < 0 &&
        (rc = eh_policy_store_current_version(ar->policies, rp->client_id, &version)) != EH_OK)
        return rc;
    rc = eh_policy_store_read(ar->policies, rp->client_id, version, rp->policy, p, meta);
    if (rc == EH_ERR_NOT_FOUND)
        return refuse(ar, 404, "not_found", "%s has no version %d", rp->client_id, version);
    if (rc == EH_OK)
        rc = eh_policy_effective_json(*p, effective);
    return rc;
}

eh_rc eh_admin_policy_get_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    eh_policy *p = NULL;
    json_t *effective = NULL, *meta = NULL, *doc = NULL;
    char *version_text = NULL;
    int version = -1;
    eh_rc rc = begin(&ar, b, req, resp, "GET /admin/api/policy", EH_ADMIN_VIEWER, 0);

    if (rc != EH_OK || ar.answered || (rc = requester(&ar, NULL, &rp)) != EH_OK || rp == NULL)
        goto cleanup;
    if ((rc = query_get(&ar, "version", &version_text)) != EH_OK ||
        (version_text != NULL && (version = version_parse(version_text)) < 0)) {
        rc = send_error(&ar, 400, "invalid_request", "version must be a version number");
        goto cleanup;
    }
    if ((rc = load_version(&ar, rp, version, &p, &effective, &meta)) != EH_OK || p == NULL)
        goto cleanup;
    doc = p->version == 0 ? profile_document(rp) : json_incref(p->doc);
    rc = send_json(&ar, 200,
                   json_pack("{s:s, s:i, s:o, s:O, s:{s:O?, s:O?, s:O?}}", "name", rp->client_id,
                             "version", p->version, "document", doc, "effective", effective, "meta",
                             "by", json_object_get(meta, "by"), "at", json_object_get(meta, "at"),
                             "why", json_object_get(meta, "why")));
cleanup:
    free(version_text);
    eh_policy_free(p);
    json_decref(effective);
    json_decref(meta);
    finish(&ar);
    return rc;
}

eh_rc eh_admin_history_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    json_t *list = NULL;
    eh_rc rc = begin(&ar, b, req, resp, "GET /admin/api/history", EH_ADMIN_VIEWER, 0);

    if (rc != EH_OK || ar.answered || (rc = requester(&ar, NULL, &rp)) != EH_OK || rp == NULL)
        goto cleanup;
    if ((rc = eh_policy_store_history(ar.policies, rp->client_id, &list)) == EH_OK)
        rc = send_json(&ar, 200, list);
cleanup:
    finish(&ar);
    return rc;
}

eh_rc eh_admin_diff_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    eh_policy *pa = NULL, *pb = NULL;
    json_t *ea = NULL, *eb = NULL, *changes = NULL;
    char *from = NULL, *to = NULL;
    int va, vb;
    eh_rc rc = begin(&ar, b, req, resp, "GET /admin/api/diff", EH_ADMIN_VIEWER, 0);

    if (rc != EH_OK || ar.answered || (rc = requester(&ar, NULL, &rp)) != EH_OK || rp == NULL)
        goto cleanup;
    if (query_get(&ar, "from", &from) != EH_OK || query_get(&ar, "to", &to) != EH_OK ||
        (va = version_parse(from)) < 0 || (vb = version_parse(to)) < 0) {
        rc = send_error(&ar, 400, "invalid_request", "from and to must be version numbers");
        goto cleanup;
    }
    if ((rc = load_version(&ar, rp, va, &pa, &ea, NULL)) != EH_OK || pa == NULL ||
        (rc = load_version(&ar, rp, vb, &pb, &eb, NULL)) != EH_OK || pb == NULL)
        goto cleanup;
    if ((rc = eh_policy_diff(ea, eb, &changes)) == EH_OK)
        rc = send_json(&ar, 200, json_pack("{s:o}", "changes", changes));
cleanup:
    free(from);
    free(to);
    eh_policy_free(pa);
    eh_policy_free(pb);
    json_decref(ea);
    json_decref(eb);
    finish(&ar);
    return rc;
}

eh_rc eh_admin_validate_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    eh_policy *p = NULL;
    json_t *effective = NULL;
    char err[512];
    eh_rc rc = begin(&ar, b, req, resp, "POST /admin/api/validate", EH_ADMIN_VIEWER, 1);

    if (rc != EH_OK || ar.answered)
        goto cleanup;
    rc = eh_policy_from_json("validate", 0, json_object_get(ar.body, "document"), &p, err,
                             sizeof(err));
    if (rc == EH_ERR_INVALID) {
        rc = send_json(&ar, 422, json_pack("{s:b, s:s}", "valid", 0, "error", err));
        goto cleanup;
    }
    if (rc != EH_OK || (rc = eh_policy_effective_json(p, &effective)) != EH_OK)
        goto cleanup;
    rc = send_json(&ar, 200, json_pack("{s:b, s:O}", "valid", 1, "effective", effective));
cleanup:
    eh_policy_free(p);
    json_decref(effective);
    finish(&ar);
    return rc;
}

/* ------------------------------------------------------------ preview */

/* sample_identity builds the identity of a preview from {"country": "EE",
 * <internal attribute name>: value, ...}; answers 400 for anything else. */
static eh_rc sample_identity(admin_req *ar, const json_t *sample, const eh_policy *p,
                             eh_identity **out)
{
    const char *key, *country = json_string_value(json_object_get(sample, "country"));
    const char *method = json_string_value(json_array_get(p->methods, 0));
    const char *pid = json_string_value(json_object_get(sample, "person_identifier"));
    eh_identity *id = NULL;
    json_t *value;
    eh_rc rc;

    *out = NULL;
    if (!json_is_object(sample) || country == NULL || strlen(country) != 2 ||
        !isupper((unsigned char)country[0]) || !isupper((unsigned char)country[1]))
        return refuse(ar, 400, "invalid_request",
                      "identity must be an object with a \"country\" (two capital letters)");
    json_object_foreach((json_t *)sample, key, value) {
        if (strcmp(key, "country") != 0 && eh_attribute_find(key) == NULL)
            return refuse(ar, 400, "invalid_request",
                          "identity.%.64s: not an attribute of the registry", key);
    }
    if ((rc = eh_identity_new(&id)) != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    if ((id->country = strdup(country)) == NULL || (id->id_type = strdup("PNO")) == NULL ||
        (id->id_value = strdup(pid ? pid : "sample")) == NULL ||
        (id->method = strdup(method ? method : PREVIEW_DEFAULT_METHOD)) == NULL)
        goto cleanup;
    id->loa = EH_LOA_HIGH;
    id->auth_time = (int64_t)time(NULL);
    json_object_foreach((json_t *)sample, key, value) {
        if (strcmp(key, "country") != 0 && json_object_set(id->attributes, key, value) != 0)
            goto cleanup;
    }
    *out = id;
    id = NULL;
    rc = EH_OK;
cleanup:
    eh_identity_free(id);
    return rc;
}

eh_rc eh_admin_preview_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    eh_policy *p = NULL;
    eh_identity *id = NULL, *released = NULL;
    eh_authn_request *authn = NULL;
    json_t *doc, *answer = NULL;
    const char *scope, *subject_type;
    char err[512];
    eh_rc rc = begin(&ar, b, req, resp, "POST /admin/api/preview", EH_ADMIN_VIEWER, 1);

    if (rc != EH_OK || ar.answered)
        goto cleanup;
    if (!json_is_string(json_object_get(ar.body, "name"))) {
        rc = refuse(&ar, 400, "invalid_request", "name is required");
        goto cleanup;
    }
    if ((rc = requester(&ar, json_string_value(json_object_get(ar.body, "name")), &rp)) != EH_OK ||
        rp == NULL)
        goto cleanup;
    scope = json_string_value(json_object_get(ar.body, "scope"));
    if (scope == NULL) {
        rc = refuse(&ar, 400, "invalid_request", "scope is required (e.g. \"openid profile\")");
        goto cleanup;
    }
    if ((doc = json_object_get(ar.body, "document")) != NULL) {
        rc = eh_policy_from_json(rp->client_id, 0, doc, &p, err, sizeof(err));
        if (rc == EH_ERR_INVALID) {
            rc = send_error(&ar, 422, "invalid_policy", "%s", err);
            goto cleanup;
        }
    } else {
        rc = eh_policy_store_current(ar.policies, rp->client_id, rp->policy, &p);
    }
    if (rc != EH_OK)
        goto cleanup;
    if ((rc = sample_identity(&ar, json_object_get(ar.body, "identity"), p, &id)) != EH_OK ||
        id == NULL)
        goto cleanup;
    if ((rc = eh_authn_request_new(&authn)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((authn->requester = strdup(rp->client_id)) == NULL ||
        (authn->protocol = strdup("oidc")) == NULL || (authn->locale = strdup("en")) == NULL)
        goto cleanup;
    if ((rc = eh_oidc_requested_attributes(scope, authn->requested)) != EH_OK)
        goto cleanup;
    subject_type = eh_oidc_subject_type(rp->subject_type, p->subject_type) == EH_SUBJECT_PUBLIC
                       ? "public"
                       : "pairwise";
    rc = eh_policy_evaluate(p, authn, id, (int64_t)time(NULL), &released);
    if (rc == EH_ERR_INVALID) {
        /* the policy refuses this identity (country, method or level) */
        rc = send_json(&ar, 200,
                       json_pack("{s:{}, s:s, s:s}", "claims", "subject_type", subject_type,
                                 "refused",
                                 "the policy does not accept this identity (country, "
                                 "method or level of assurance)"));
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    answer = json_pack("{s:o, s:s}", "claims", eh_oidc_claims_of(released), "subject_type", subject_type);
    if (answer == NULL)
        goto cleanup;
    rc = send_json(&ar, 200, answer);
    answer = NULL;
cleanup:
    json_decref(answer);
    eh_authn_request_free(authn);
    eh_identity_free(id);
    eh_identity_free(released);
    eh_policy_free(p);
    finish(&ar);
    return rc;
}

/* ------------------------------------------------------------ changes */

/* save writes document as a new version of rp's policy on top of base and
 * answers 201 {"version"}, 409 or 422 (refusals logged). The audit log is
 * locked before and written after the save (docs/audit.md): a change that
 * cannot be audited is not made (503), and one whose entry then fails to be
 * written (a full disk) is answered 500 audit_failed, naming the version. */
static eh_rc save(admin_req *ar, const eh_config_rp *rp, int base, const json_t *document,
                  const char *why, const char *what)
{
    char err[512];
    int version = 0;
    eh_audit_txn *audit = NULL;
    json_t *fields = NULL;
    eh_rc rc = eh_audit_begin(eh_broker_audit_get(ar->b), &audit);

    if (rc != EH_OK) {
        rc = send_error(ar, 503, "audit_unavailable",
                        "the audit log cannot be written, so the change is not made");
        goto cleanup;
    }
    rc = eh_policy_store_save(ar->policies, rp->client_id, base, document, ar->session->user, why,
                              &version, err, sizeof(err));
    if (rc != EH_OK) {
        eh_audit_abort(audit); /* before refuse, which appends to the log itself */
        audit = NULL;
    }
    if (rc == EH_ERR_INVALID) {
        rc = refuse(ar, 422, "invalid_policy", "%s", err);
        goto cleanup;
    }
    if (rc == EH_ERR_CONFLICT) {
        rc = refuse(ar, 409, "conflict",
                    "version %d of %s is no longer the current one: someone else saved first",
                    base, rp->client_id);
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    eh_log(EH_LOG_INFO, "admin: %s saved policy %s version %d (%s)", ar->session->user,
           rp->client_id, version, what);
    fields = eh_audit_policy_change_fields(rp->client_id, base, version, ar->session->user, why,
                                           what);
    rc = EH_ERR_NOMEM;
    if (fields != NULL) {
        rc = eh_audit_commit(audit, "policy_change", fields, NULL);
        audit = NULL;
    }
    if (rc != EH_OK) {
        rc = send_error(ar, 500, "audit_failed",
                        "version %d of %s was saved, but the audit log could not be written",
                        version, rp->client_id);
        goto cleanup;
    }
    rc = send_json(ar, 201, json_pack("{s:i}", "version", version));
cleanup:
    eh_audit_abort(audit);
    json_decref(fields);
    return rc;
}

eh_rc eh_admin_policy_save_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    json_t *why;
    int base;
    eh_rc rc = begin(&ar, b, req, resp, "POST /admin/api/policy", EH_ADMIN_EDITOR, 1);

    if (rc != EH_OK || ar.answered || (rc = requester(&ar, NULL, &rp)) != EH_OK || rp == NULL)
        goto cleanup;
    why = json_object_get(ar.body, "why");
    base = json_version(json_object_get(ar.body, "base_version"));
    if (!why_ok(why)) {
        rc = refuse(&ar, 400, "invalid_request", "why is required (1 to %d characters)",
                    WHY_MAX_CHARS);
    } else if (base < 0) {
        rc = refuse(&ar, 400, "invalid_request",
                    "base_version is required: the version the change starts from");
    } else {
        rc = save(&ar, rp, base, json_object_get(ar.body, "document"), json_string_value(why),
                  "edit");
    }
cleanup:
    finish(&ar);
    return rc;
}

eh_rc eh_admin_rollback_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    admin_req ar;
    const eh_config_rp *rp = NULL;
    eh_policy *p = NULL;
    json_t *why, *doc = NULL;
    char what[64];
    int version, base = 0;
    eh_rc rc = begin(&ar, b, req, resp, "POST /admin/api/rollback", EH_ADMIN_EDITOR, 1);

    if (rc != EH_OK || ar.answered || (rc = requester(&ar, NULL, &rp)) != EH_OK || rp == NULL)
        goto cleanup;
    why = json_object_get(ar.body, "why");
    version = json_version(json_object_get(ar.body, "version"));
    if (!why_ok(why)) {
        rc = refuse(&ar, 400, "invalid_request", "why is required (1 to %d characters)",
                    WHY_MAX_CHARS);
        goto cleanup;
    }
    if (version < 0) {
        rc = refuse(&ar, 400, "invalid_request", "version is required");
        goto cleanup;
    }
    rc = eh_policy_store_read(ar.policies, rp->client_id, version, rp->policy, &p, NULL);
    if (rc == EH_ERR_NOT_FOUND) {
        rc = refuse(&ar, 404, "not_found", "%s has no version %d", rp->client_id, version);
        goto cleanup;
    }
    if (rc == EH_ERR_INVALID) {
        rc = refuse(&ar, 422, "invalid_policy", "version %d no longer validates", version);
        goto cleanup;
    }
    if (rc != EH_OK ||
        (rc = eh_policy_store_current_version(ar.policies, rp->client_id, &base)) != EH_OK)
        goto cleanup;
    doc = version == 0 ? profile_document(rp) : json_incref(p->doc);
    if (doc == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    snprintf(what, sizeof(what), "rollback to version %d", version);
    rc = save(&ar, rp, base, doc, json_string_value(why), what);
cleanup:
    json_decref(doc);
    eh_policy_free(p);
    finish(&ar);
    return rc;
}
