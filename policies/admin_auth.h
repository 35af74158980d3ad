/* eidhub: who may administer policies (docs/admin-api.md).
 *
 * Accounts come from the broker configuration's "admin" member:
 *
 *   "admin": {"accounts": [{"user": "alice", "password_hash": "scrypt$...",
 *                           "role": "editor"}],
 *             "session_minutes": 30}
 *
 * Passwords are kept only as scrypt hashes "scrypt$N$r$p$<salt>$<hash>"
 * (salt and hash base64url without padding), computed by OpenSSL. A login
 * starts a session in the store under "adm:<base64url SHA-256 of the
 * session id>" holding {user, role, csrf, expires}; the browser holds the
 * id in the cookie "eidhub_admin" (Path=/admin, HttpOnly, SameSite=Strict,
 * Secure on https), and the page the CSRF token. Every change is checked by
 * eh_admin_check_change. */
#ifndef EH_ADMIN_AUTH_H
#define EH_ADMIN_AUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/http.h"
#include "broker/rc.h"
#include "broker/store.h"

#define EH_ADMIN_COOKIE "eidhub_admin"
#define EH_ADMIN_COOKIE_PATH "/admin"
#define EH_ADMIN_SESSION_MINUTES_DEFAULT 30
#define EH_ADMIN_USER_MAX 64

/* The parameters eidhubctl passwd uses. */
#define EH_SCRYPT_N 16384
#define EH_SCRYPT_R 8
#define EH_SCRYPT_P 1
#define EH_SCRYPT_SALT_BYTES 16
#define EH_SCRYPT_HASH_BYTES 32

typedef enum eh_admin_role {
    EH_ADMIN_NONE = 0,
    EH_ADMIN_VIEWER = 1, /* reads */
    EH_ADMIN_EDITOR = 2, /* reads and changes */
} eh_admin_role;

typedef struct eh_admin eh_admin;

/* A logged-in administrator, as read back from the store. */
typedef struct eh_admin_session {
    char *user;
    eh_admin_role role; /* the account's role in the configuration now */
    char *csrf;         /* the token every change must carry */
    int64_t expires;    /* seconds since the epoch */
} eh_admin_session;

/* Why a change was refused (eh_admin_check_change), in the order checked. */
typedef enum eh_admin_refusal {
    EH_ADMIN_ALLOWED = 0,
    EH_ADMIN_NO_SESSION = 1,   /* 401: no (live) session cookie */
    EH_ADMIN_ROLE = 2,         /* 403: the account's role does not allow it */
    EH_ADMIN_CSRF = 3,         /* 403: X-CSRF-Token missing or wrong */
    EH_ADMIN_CROSS_ORIGIN = 4, /* 403: Origin or Sec-Fetch-Site not our own */
    EH_ADMIN_CONTENT_TYPE = 5, /* 415: not application/json */
} eh_admin_refusal;

/* eh_admin_load validates the configuration's "admin" object (settings;
 * file names the configuration in errors) into a new eh_admin (*out; caller
 * frees with eh_admin_free). Members: accounts (required, at least one;
 * each {user, password_hash, role}), session_minutes (1 to 1440, default
 * 30). Unknown members, duplicate users, malformed hashes and unknown roles
 * are EH_ERR_CONFIG with one line "<file>: $.admin...: <problem>" in err. */
eh_rc eh_admin_load(const json_t *settings, const char *file, eh_admin **out, char *err,
                    size_t errlen);

/* eh_admin_free releases a (NULL is fine). */
void eh_admin_free(eh_admin *a);

/* eh_admin_session_minutes is how long a session lives after its login. */
unsigned eh_admin_session_minutes(const eh_admin *a);

/* eh_admin_role_name: "viewer", "editor" ("none" otherwise). */
const char *eh_admin_role_name(eh_admin_role role);

/* eh_admin_password_hash hashes password with scrypt (EH_SCRYPT_* and a
 * new random salt) into a new "scrypt$N$r$p$salt$hash" string (caller
 * frees). */
eh_rc eh_admin_password_hash(const char *password, char **out);

/* eh_admin_password_hash_valid tells whether hash is a well-formed scrypt
 * hash this broker accepts: N a power of two from 1024 to 1048576, r 1 to
 * 32, p 1 to 16, at most 256 MiB of memory, salt 8 to 64 bytes, hash 16 to
 * 64 bytes. */
int eh_admin_password_hash_valid(const char *hash);

/* eh_admin_password_verify tells whether password matches hash (the
 * comparison is constant-time); 0 for a malformed hash. */
int eh_admin_password_verify(const char *password, const char *hash);

/* eh_admin_authenticate checks user and password against the accounts and
 * sets *role: EH_OK, or EH_ERR_NOT_FOUND for a wrong user or password alike.
 * An unknown user costs the same scrypt computation as a known one, so the
 * time taken does not tell which users exist. */
eh_rc eh_admin_authenticate(const eh_admin *a, const char *user, const char *password,
                            eh_admin_role *role);

/* eh_admin_session_create starts a session for user (with role) at now
 * (seconds since the epoch), living eh_admin_session_minutes, in store.
 * *id receives the new session id for the cookie and *out the session
 * (both caller frees). */
eh_rc eh_admin_session_create(const eh_admin *a, eh_store *store, const char *user,
                              eh_admin_role role, int64_t now, char **id, eh_admin_session **out);

/* eh_admin_session_find returns the session the request's cookie names
 * (caller frees *out). EH_ERR_NOT_FOUND when there is no cookie (or two),
 * no such session, it expired at now, or its account no longer exists in
 * the configuration; the role is the account's current one. Store errors
 * are passed on. */
eh_rc eh_admin_session_find(const eh_admin *a, eh_store *store, const eh_http_request *req,
                            int64_t now, eh_admin_session **out);

/* eh_admin_session_end removes the session the request's cookie names
 * (none is fine). */
eh_rc eh_admin_session_end(eh_store *store, const eh_http_request *req);

/* eh_admin_session_free releases s (NULL is fine), wiping its token. */
void eh_admin_session_free(eh_admin_session *s);

/* eh_admin_cookie_set adds the session cookie for id (NULL or "" with
 * max_age 0 deletes it), Secure when secure. */
eh_rc eh_admin_cookie_set(eh_http_response *resp, const char *id, int max_age, int secure);

/* eh_admin_check_same_origin tells whether req may come from our own pages:
 * an Origin header, when present, equal to the origin (scheme://host[:port])
 * of issuer, and Sec-Fetch-Site, when present, "same-origin". */
int eh_admin_check_same_origin(const eh_http_request *req, const char *issuer);

/* eh_admin_check_json tells whether req's Content-Type is application/json
 * (parameters such as charset allowed). */
int eh_admin_check_json(const eh_http_request *req);

/* eh_admin_check_change runs the checks every change must pass, in this
 * order: a session (s not NULL), a role at least need, the session's CSRF
 * token in X-CSRF-Token (compared in constant time), same origin as issuer,
 * Content-Type application/json. Returns the first refusal, or
 * EH_ADMIN_ALLOWED. */
eh_admin_refusal eh_admin_check_change(const eh_admin_session *s, eh_admin_role need,
                                       const eh_http_request *req, const char *issuer);

/* eh_admin_refusal_status is the HTTP status of a refusal (401, 403, 415;
 * 200 for EH_ADMIN_ALLOWED); eh_admin_refusal_reason its text for answers
 * and logs. */
int eh_admin_refusal_status(eh_admin_refusal r);
const char *eh_admin_refusal_reason(eh_admin_refusal r);

#endif
