#include "policies/admin_auth.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/b64check.h"
#include "broker/cookie.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/random.h"

#define SCRYPT_SALT_MIN 8
#define SCRYPT_SALT_MAX 64
#define SCRYPT_HASH_MIN 16
#define SCRYPT_HASH_MAX 64
#define SCRYPT_N_MIN 1024
#define SCRYPT_N_MAX (1u << 20)
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16
#define SCRYPT_MEM_MAX (256ull * 1024 * 1024)           /* what a hash may ask for */
#define SCRYPT_MAXMEM (SCRYPT_MEM_MAX + 1024ull * 1024) /* what OpenSSL may allocate */
#define SESSION_PREFIX "adm:"

typedef struct eh_admin_account {
    char *user;
    char *password_hash;
    eh_admin_role role;
} eh_admin_account;

struct eh_admin {
    eh_admin_account *accounts;
    size_t n_accounts;
    unsigned session_minutes;
};

/* A parsed "scrypt$N$r$p$salt$hash". */
typedef struct scrypt_hash {
    uint64_t n, r, p;
    unsigned char salt[SCRYPT_SALT_MAX];
    size_t salt_len;
    unsigned char hash[SCRYPT_HASH_MAX];
    size_t hash_len;
} scrypt_hash;

const char *eh_admin_role_name(eh_admin_role role)
{
    switch (role) {
    case EH_ADMIN_VIEWER:
        return "viewer";
    case EH_ADMIN_EDITOR:
        return "editor";
    default:
        return "none";
    }
}

static eh_admin_role role_parse(const char *name)
{
    if (name != NULL && strcmp(name, "viewer") == 0)
        return EH_ADMIN_VIEWER;
    if (name != NULL && strcmp(name, "editor") == 0)
        return EH_ADMIN_EDITOR;
    return EH_ADMIN_NONE;
}

/* parse_number reads a decimal without sign or leading zero, at most max,
 * from s up to the next '$'; advances *s past the '$'. 0 on failure. */
static uint64_t parse_number(const char **s, uint64_t max)
{
    const char *p = *s;
    uint64_t v = 0;

    if (*p < '1' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return 0;
    }
    if (*p != '$')
        return 0;
    *s = p + 1;
    return v;
}

/* decode_b64url decodes len characters of base64url at s into out (at
 * most max bytes, at least min); 0 on failure. */
static int decode_b64url(const char *s, size_t len, unsigned char *out, size_t min, size_t max,
                         size_t *out_len)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    cjose_err err;
    int ok;

    if (len == 0 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") < len)
        return 0;
    if (!eh_b64_ok(s, len, 1) || !cjose_base64url_decode(s, len, &raw, &raw_len, &err))
        return 0;
    ok = raw_len >= min && raw_len <= max;
    if (ok) {
        memcpy(out, raw, raw_len);
        *out_len = raw_len;
    }
    OPENSSL_cleanse(raw, raw_len);
    cjose_get_dealloc()(raw);
    return ok;
}

/* parse_hash reads text into *h; 0 when it is not a hash we accept. */
static int parse_hash(const char *text, scrypt_hash *h)
{
    const char *p = text, *dollar;

    memset(h, 0, sizeof(*h));
    if (text == NULL || strncmp(p, "scrypt$", 7) != 0)
        return 0;
    p += 7;
    if ((h->n = parse_number(&p, SCRYPT_N_MAX)) < SCRYPT_N_MIN || (h->n & (h->n - 1)) != 0 ||
        (h->r = parse_number(&p, SCRYPT_R_MAX)) == 0 ||
        (h->p = parse_number(&p, SCRYPT_P_MAX)) == 0 || 128 * h->r * h->n > SCRYPT_MEM_MAX)
        return 0;
    dollar = strchr(p, '$');
    if (dollar == NULL || strchr(dollar + 1, '$') != NULL)
        return 0;
    return decode_b64url(p, (size_t)(dollar - p), h->salt, SCRYPT_SALT_MIN, SCRYPT_SALT_MAX,
                         &h->salt_len) &&
           decode_b64url(dollar + 1, strlen(dollar + 1), h->hash, SCRYPT_HASH_MIN, SCRYPT_HASH_MAX,
                         &h->hash_len);
}

int eh_admin_password_hash_valid(const char *hash)
{
    scrypt_hash h;
    int ok = parse_hash(hash, &h);
    OPENSSL_cleanse(&h, sizeof(h));
    return ok;
}

/* scrypt computes h's parameters and salt over password into out
 * (h->hash_len bytes). */
static eh_rc scrypt(const char *password, const scrypt_hash *h, unsigned char *out)
{
    if (EVP_PBE_scrypt(password, strlen(password), h->salt, h->salt_len, h->n, h->r, h->p,
                       SCRYPT_MAXMEM, out, h->hash_len) != 1)
        return EH_ERR_CRYPTO;
    return EH_OK;
}

int eh_admin_password_verify(const char *password, const char *hash)
{
    scrypt_hash h;
    unsigned char got[SCRYPT_HASH_MAX];
    int ok = 0;

    if (password == NULL || !parse_hash(hash, &h))
        goto cleanup;
    if (scrypt(password, &h, got) != EH_OK)
        goto cleanup;
    ok = CRYPTO_memcmp(got, h.hash, h.hash_len) == 0;
cleanup:
    OPENSSL_cleanse(got, sizeof(got));
    OPENSSL_cleanse(&h, sizeof(h));
    return ok;
}

eh_rc eh_admin_password_hash(const char *password, char **out)
{
    scrypt_hash h;
    char *salt = NULL, *hash = NULL;
    size_t len = 0;
    cjose_err err;
    eh_rc rc;

    *out = NULL;
    memset(&h, 0, sizeof(h));
    h.n = EH_SCRYPT_N;
    h.r = EH_SCRYPT_R;
    h.p = EH_SCRYPT_P;
    h.salt_len = EH_SCRYPT_SALT_BYTES;
    h.hash_len = EH_SCRYPT_HASH_BYTES;
    if ((rc = eh_random_bytes(h.salt, h.salt_len)) != EH_OK ||
        (rc = scrypt(password, &h, h.hash)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (!cjose_base64url_encode(h.salt, h.salt_len, &salt, &len, &err) ||
        !cjose_base64url_encode(h.hash, h.hash_len, &hash, &len, &err))
        goto cleanup;
    if (asprintf(out, "scrypt$%d$%d$%d$%s$%s", EH_SCRYPT_N, EH_SCRYPT_R, EH_SCRYPT_P, salt, hash) <
        0) {
        *out = NULL;
        goto cleanup;
    }
    rc = EH_OK;
cleanup:
    OPENSSL_cleanse(&h, sizeof(h));
    cjose_get_dealloc()(salt);
    cjose_get_dealloc()(hash);
    return rc;
}

/* user_ok accepts 1 to EH_ADMIN_USER_MAX printable ASCII characters
 * without spaces (account names appear in logs and answers). */
static int user_ok(const char *user)
{
    size_t n = strlen(user);
    if (n == 0 || n > EH_ADMIN_USER_MAX)
        return 0;
    for (; *user; user++) {
        if ((unsigned char)*user <= 0x20 || (unsigned char)*user >= 0x7f)
            return 0;
    }
    return 1;
}

/* parse_account validates one account at path into *acc. */
static eh_rc parse_account(eh_check *v, const json_t *item, const char *path, eh_admin_account *acc)
{
    static const char *const allowed[] = {"user", "password_hash", "role", NULL};
    char sub[EH_JSON_PATH_MAX], *role = NULL;
    eh_rc rc;

    if (!json_is_object(item))
        return eh_check_fail(v, path, "must be an object {\"user\", \"password_hash\", \"role\"}");
    if ((rc = eh_check_members(v, item, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "user", 1, &acc->user)) != EH_OK)
        return rc;
    if (!user_ok(acc->user)) {
        eh_json_path_member(sub, sizeof(sub), path, "user");
        return eh_check_fail(v, sub, "must be 1 to %d printable characters without spaces",
                             EH_ADMIN_USER_MAX);
    }
    if ((rc = eh_check_string(v, item, path, "password_hash", 1, &acc->password_hash)) != EH_OK)
        return rc;
    if (!eh_admin_password_hash_valid(acc->password_hash)) {
        eh_json_path_member(sub, sizeof(sub), path, "password_hash");
        return eh_check_fail(v, sub,
                             "must be scrypt$N$r$p$salt$hash as eidhubctl passwd prints "
                             "it");
    }
    if ((rc = eh_check_string(v, item, path, "role", 1, &role)) != EH_OK)
        return rc;
    acc->role = role_parse(role);
    free(role);
    if (acc->role == EH_ADMIN_NONE) {
        eh_json_path_member(sub, sizeof(sub), path, "role");
        return eh_check_fail(v, sub, "must be \"viewer\" or \"editor\"");
    }
    return EH_OK;
}

/* parse_admin fills a from settings. */
static eh_rc parse_admin(eh_check *v, const json_t *settings, eh_admin *a)
{
    static const char *const allowed[] = {"accounts", "session_minutes", NULL};
    char path[EH_JSON_PATH_MAX];
    json_t *accounts, *item;
    size_t i;
    eh_rc rc;

    if (!json_is_object(settings))
        return eh_check_fail(v, "$.admin", "must be an object {\"accounts\": [...]}");
    if ((rc = eh_check_members(v, settings, "$.admin", allowed)) != EH_OK ||
        (rc = eh_check_uint(v, settings, "$.admin", "session_minutes", 1, 1440,
                            &a->session_minutes)) != EH_OK)
        return rc;
    accounts = json_object_get(settings, "accounts");
    if (accounts == NULL)
        return eh_check_fail(v, "$.admin.accounts",
                             "is required (an array of {\"user\", "
                             "\"password_hash\", \"role\"})");
    if (!json_is_array(accounts) || json_array_size(accounts) == 0)
        return eh_check_fail(v, "$.admin.accounts", "must be a non-empty array");
    a->accounts = calloc(json_array_size(accounts), sizeof(*a->accounts));
    if (a->accounts == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(accounts, i, item) {
        eh_json_path_index(path, sizeof(path), "$.admin.accounts", i);
        a->n_accounts = i + 1;
        if ((rc = parse_account(v, item, path, &a->accounts[i])) != EH_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(a->accounts[j].user, a->accounts[i].user) == 0) {
                char sub[EH_JSON_PATH_MAX];
                eh_json_path_member(sub, sizeof(sub), path, "user");
                return eh_check_fail(v, sub, "duplicates $.admin.accounts[%zu].user", j);
            }
        }
    }
    return EH_OK;
}

eh_rc eh_admin_load(const json_t *settings, const char *file, eh_admin **out, char *err,
                    size_t errlen)
{
    eh_check v = {file, err, errlen};
    eh_admin *a = calloc(1, sizeof(*a));
    eh_rc rc = EH_ERR_NOMEM;

    err[0] = '\0';
    if (a == NULL)
        goto cleanup;
    a->session_minutes = EH_ADMIN_SESSION_MINUTES_DEFAULT;
    rc = parse_admin(&v, settings, a);
    if (rc == EH_ERR_NOMEM)
        snprintf(err, errlen, "%s: out of memory", file);
    if (rc != EH_OK)
        goto cleanup;
    *out = a;
    a = NULL;
cleanup:
    eh_admin_free(a);
    return rc;
}

void eh_admin_free(eh_admin *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n_accounts; i++) {
        free(a->accounts[i].user);
        free(a->accounts[i].password_hash);
    }
    free(a->accounts);
    free(a);
}

unsigned eh_admin_session_minutes(const eh_admin *a)
{
    return a->session_minutes;
}

/* account_find returns the account called user, or NULL. */
static const eh_admin_account *account_find(const eh_admin *a, const char *user)
{
    for (size_t i = 0; user != NULL && i < a->n_accounts; i++) {
        if (strcmp(a->accounts[i].user, user) == 0)
            return &a->accounts[i];
    }
    return NULL;
}

eh_rc eh_admin_authenticate(const eh_admin *a, const char *user, const char *password,
                            eh_admin_role *role)
{
    const eh_admin_account *acc = account_find(a, user);
    /* An unknown user is checked against the first account's hash (the same
     * cost as a known one) and refused whatever the result. */
    int ok = eh_admin_password_verify(password ? password : "",
                                      acc ? acc->password_hash : a->accounts[0].password_hash);

    if (acc == NULL || !ok)
        return EH_ERR_NOT_FOUND;
    *role = acc->role;
    return EH_OK;
}

/* session_key writes "adm:<digest of id>" into key. */
static eh_rc session_key(const char *id, char key[EH_STORE_KEY_MAX + 1])
{
    char *digest = NULL;
    eh_rc rc = eh_token_digest(id, &digest);

    if (rc == EH_OK)
        snprintf(key, EH_STORE_KEY_MAX + 1, SESSION_PREFIX "%s", digest);
    free(digest);
    return rc;
}

void eh_admin_session_free(eh_admin_session *s)
{
    if (s == NULL)
        return;
    if (s->csrf != NULL)
        OPENSSL_cleanse(s->csrf, strlen(s->csrf));
    free(s->csrf);
    free(s->user);
    free(s);
}

eh_rc eh_admin_session_create(const eh_admin *a, eh_store *store, const char *user,
                              eh_admin_role role, int64_t now, char **id, eh_admin_session **out)
{
    char key[EH_STORE_KEY_MAX + 1], *token = NULL, *text = NULL;
    eh_admin_session *s = calloc(1, sizeof(*s));
    json_t *value = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    *id = NULL;
    *out = NULL;
    if (s == NULL || (s->user = strdup(user)) == NULL)
        goto cleanup;
    s->role = role;
    s->expires = now + (int64_t)a->session_minutes * 60;
    if ((rc = eh_random_token(&token)) != EH_OK || (rc = eh_random_token(&s->csrf)) != EH_OK ||
        (rc = session_key(token, key)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    value = json_pack("{s:s, s:s, s:s, s:I}", "user", user, "role", eh_admin_role_name(role),
                      "csrf", s->csrf, "expires", (json_int_t)s->expires);
    if (value == NULL || (text = json_dumps(value, JSON_COMPACT)) == NULL)
        goto cleanup;
    rc = eh_store_set(store, key, text, strlen(text), a->session_minutes * 60u * 1000u);
    if (rc != EH_OK)
        goto cleanup;
    *id = token;
    *out = s;
    token = NULL;
    s = NULL;
cleanup:
    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    json_decref(value);
    free(token);
    eh_admin_session_free(s);
    return rc;
}

/* cookie_key reads the session cookie of req and writes its store key. */
static eh_rc cookie_key(const eh_http_request *req, char key[EH_STORE_KEY_MAX + 1])
{
    char *id = NULL;
    eh_rc rc = eh_cookie_get(req, EH_ADMIN_COOKIE, &id);

    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND;
    if (rc == EH_OK && id[0] == '\0')
        rc = EH_ERR_NOT_FOUND;
    if (rc == EH_OK)
        rc = session_key(id, key);
    free(id);
    return rc;
}

eh_rc eh_admin_session_find(const eh_admin *a, eh_store *store, const eh_http_request *req,
                            int64_t now, eh_admin_session **out)
{
    char key[EH_STORE_KEY_MAX + 1], *text = NULL;
    const eh_admin_account *acc;
    eh_admin_session *s = NULL;
    json_t *value = NULL;
    size_t len = 0;
    eh_rc rc;

    *out = NULL;
    if ((rc = cookie_key(req, key)) != EH_OK ||
        (rc = eh_store_get(store, key, &text, &len)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOT_FOUND;
    value = json_loadb(text, len, 0, NULL);
    acc = account_find(a, json_string_value(json_object_get(value, "user")));
    if (acc == NULL || !json_is_string(json_object_get(value, "csrf")) ||
        !json_is_integer(json_object_get(value, "expires")) ||
        json_integer_value(json_object_get(value, "expires")) <= now)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->user = strdup(acc->user)) == NULL ||
        (s->csrf = strdup(json_string_value(json_object_get(value, "csrf")))) == NULL)
        goto cleanup;
    s->role = acc->role;
    s->expires = json_integer_value(json_object_get(value, "expires"));
    *out = s;
    s = NULL;
    rc = EH_OK;
cleanup:
    if (text != NULL)
        OPENSSL_cleanse(text, len);
    free(text);
    json_decref(value);
    eh_admin_session_free(s);
    return rc;
}

eh_rc eh_admin_session_end(eh_store *store, const eh_http_request *req)
{
    char key[EH_STORE_KEY_MAX + 1];
    eh_rc rc = cookie_key(req, key);

    if (rc == EH_ERR_NOT_FOUND)
        return EH_OK;
    if (rc != EH_OK)
        return rc;
    return eh_store_del(store, key);
}

eh_rc eh_admin_cookie_set(eh_http_response *resp, const char *id, int max_age, int secure)
{
    return eh_cookie_set_scoped(resp, EH_ADMIN_COOKIE, id ? id : "", max_age, secure,
                                EH_ADMIN_COOKIE_PATH, "Strict");
}

int eh_admin_check_same_origin(const eh_http_request *req, const char *issuer)
{
    const char *origin = eh_http_header_get(req, "Origin");
    const char *site = eh_http_header_get(req, "Sec-Fetch-Site");
    const char *scheme_end = strstr(issuer, "://"), *host_end;
    size_t len;

    if (site != NULL && strcmp(site, "same-origin") != 0)
        return 0;
    if (origin == NULL)
        return 1;
    if (scheme_end == NULL)
        return 0;
    host_end = strchr(scheme_end + 3, '/');
    len = host_end ? (size_t)(host_end - issuer) : strlen(issuer);
    return strlen(origin) == len && strncasecmp(origin, issuer, len) == 0;
}

int eh_admin_check_json(const eh_http_request *req)
{
    const char *type = eh_http_header_get(req, "Content-Type");
    size_t n = strlen("application/json");

    if (type == NULL || strncasecmp(type, "application/json", n) != 0)
        return 0;
    return type[n] == '\0' || type[n] == ';' || type[n] == ' ' || type[n] == '\t';
}

eh_admin_refusal eh_admin_check_change(const eh_admin_session *s, eh_admin_role need,
                                       const eh_http_request *req, const char *issuer)
{
    const char *csrf = eh_http_header_get(req, "X-CSRF-Token");

    if (s == NULL)
        return EH_ADMIN_NO_SESSION;
    if (s->role < need)
        return EH_ADMIN_ROLE;
    if (csrf == NULL || s->csrf == NULL || !eh_token_equal(csrf, s->csrf))
        return EH_ADMIN_CSRF;
    if (!eh_admin_check_same_origin(req, issuer))
        return EH_ADMIN_CROSS_ORIGIN;
    if (!eh_admin_check_json(req))
        return EH_ADMIN_CONTENT_TYPE;
    return EH_ADMIN_ALLOWED;
}

int eh_admin_refusal_status(eh_admin_refusal r)
{
    switch (r) {
    case EH_ADMIN_ALLOWED:
        return 200;
    case EH_ADMIN_NO_SESSION:
        return 401;
    case EH_ADMIN_CONTENT_TYPE:
        return 415;
    default:
        return 403;
    }
}

const char *eh_admin_refusal_reason(eh_admin_refusal r)
{
    switch (r) {
    case EH_ADMIN_ALLOWED:
        return "allowed";
    case EH_ADMIN_NO_SESSION:
        return "not logged in (no live session)";
    case EH_ADMIN_ROLE:
        return "the account's role does not allow this";
    case EH_ADMIN_CSRF:
        return "the X-CSRF-Token header is missing or wrong";
    case EH_ADMIN_CROSS_ORIGIN:
        return "not from the broker's own origin";
    case EH_ADMIN_CONTENT_TYPE:
        return "the body must be application/json";
    }
    return "refused";
}
