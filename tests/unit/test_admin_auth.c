#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/cookie.h"
#include "broker/store.h"
#include "policies/admin_auth.h"
#include "tests/unit/testutil.h"

/* Hashes made once per process (scrypt costs tens of milliseconds). */
static char *alice_hash; /* of "alice-password" */
static char *bob_hash;   /* of "bob-password" */

static void hashes(void)
{
    if (alice_hash == NULL) {
        ck_assert_int_eq(eh_admin_password_hash("alice-password", &alice_hash), EH_OK);
        ck_assert_int_eq(eh_admin_password_hash("bob-password", &bob_hash), EH_OK);
    }
}

/* load parses the admin member text; on failure returns NULL with err. */
static eh_admin *load(const char *text, char *err, size_t errlen)
{
    json_t *j = json_loads(text, 0, NULL);
    eh_admin *a = NULL;
    ck_assert_msg(j != NULL, "%s", text);
    if (eh_admin_load(j, "/etc/eidhub/broker.json", &a, err, errlen) != EH_OK)
        a = NULL;
    json_decref(j);
    return a;
}

/* two_accounts is alice (editor) and bob (viewer). */
static eh_admin *two_accounts(unsigned minutes)
{
    char err[512], *text = NULL;
    eh_admin *a;

    hashes();
    ck_assert_int_ge(asprintf(&text,
                              "{\"accounts\": [{\"user\": \"alice\", \"password_hash\": \"%s\", "
                              "\"role\": \"editor\"}, {\"user\": \"bob\", \"password_hash\": "
                              "\"%s\", \"role\": \"viewer\"}], \"session_minutes\": %u}",
                              alice_hash, bob_hash, minutes),
                     0);
    a = load(text, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    free(text);
    return a;
}

/* load_err expects the admin member text to be refused and returns the
 * error line. */
static const char *load_err(const char *text)
{
    static char err[512];
    eh_admin *a = load(text, err, sizeof(err));
    ck_assert_msg(a == NULL, "accepted: %s", text);
    ck_assert_ptr_null(strchr(err, '\n'));
    return err;
}

START_TEST(hash_and_verify)
{
    char *h = NULL, *h2 = NULL;

    ck_assert_int_eq(eh_admin_password_hash("correct horse", &h), EH_OK);
    ck_assert_msg(strncmp(h, "scrypt$16384$8$1$", 17) == 0, "%s", h);
    ck_assert(eh_admin_password_hash_valid(h));
    ck_assert(eh_admin_password_verify("correct horse", h));
    ck_assert(!eh_admin_password_verify("correct horsf", h));
    ck_assert(!eh_admin_password_verify("", h));
    ck_assert(!eh_admin_password_verify("correct horse ", h));
    ck_assert_int_eq(eh_admin_password_hash("correct horse", &h2), EH_OK);
    ck_assert_str_ne(h, h2); /* a new salt each time */
    ck_assert(eh_admin_password_verify("correct horse", h2));
    free(h);
    free(h2);
}
END_TEST

START_TEST(known_vector_verifies)
{
    /* RFC 7914 section 12: scrypt("pleaseletmein", "SodiumChloride", N=16384,
     * r=8, p=1, 64 bytes), in our format. */
    const char *h = "scrypt$16384$8$1$U29kaXVtQ2hsb3JpZGU$cCO9yzr9c0hGHAbNgf046_2o-7qQT44-qbVD9l"
                    "RdofLVQylVYT8Pz2LUlwUkKpr55h6F3A1lHkDfzwF7RVdYhw";
    ck_assert(eh_admin_password_hash_valid(h));
    ck_assert(eh_admin_password_verify("pleaseletmein", h));
    ck_assert(!eh_admin_password_verify("pleaseletmeiN", h));
}
END_TEST

START_TEST(malformed_hashes)
{
    static const char *const bad[] = {
        "",
        "scrypt$",
        "bcrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$10000$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$512$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$1048576$32$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$016384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$0$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$17$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$-1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA",
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$",
        "scrypt$16384$8$1$$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt$16384$8$1AAAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "scrypt 16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(!eh_admin_password_hash_valid(bad[i]), "accepted %s", bad[i]);
        ck_assert(!eh_admin_password_verify("", bad[i]));
    }
    ck_assert(!eh_admin_password_hash_valid(NULL));
    ck_assert(!eh_admin_password_verify("x", NULL));
    ck_assert(eh_admin_password_hash_valid(
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
}
END_TEST

START_TEST(configuration_errors_name_the_field)
{
    char text[1024];
    const char *good_hash =
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    ck_assert_str_eq(load_err("[]"), "/etc/eidhub/broker.json: $.admin: must be an object "
                                     "{\"accounts\": [...]}");
    ck_assert_str_eq(load_err("{}"), "/etc/eidhub/broker.json: $.admin.accounts: is required (an "
                                     "array of {\"user\", \"password_hash\", \"role\"})");
    ck_assert_str_eq(load_err("{\"accounts\": [], \"sesion_minutes\": 3}"),
                     "/etc/eidhub/broker.json: $.admin.sesion_minutes: unknown member");
    ck_assert_str_eq(load_err("{\"accounts\": []}"),
                     "/etc/eidhub/broker.json: $.admin.accounts: must be a non-empty array");
    ck_assert_str_eq(load_err("{\"accounts\": [\"alice\"]}"),
                     "/etc/eidhub/broker.json: $.admin.accounts[0]: must be an object "
                     "{\"user\", \"password_hash\", \"role\"}");
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": \"editor\", "
             "\"password\": \"x\"}]}",
             good_hash);
    ck_assert_str_eq(load_err(text),
                     "/etc/eidhub/broker.json: $.admin.accounts[0].password: unknown member");
    ck_assert_str_eq(load_err("{\"accounts\": [{\"password_hash\": \"x\", \"role\": \"editor\"}]}"),
                     "/etc/eidhub/broker.json: $.admin.accounts[0].user: is required");
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a b\", \"password_hash\": \"%s\", \"role\": "
             "\"editor\"}]}",
             good_hash);
    ck_assert(strstr(load_err(text), "$.admin.accounts[0].user: must be 1 to 64 printable") !=
              NULL);
    ck_assert_str_eq(load_err("{\"accounts\": [{\"user\": \"a\", \"password_hash\": "
                              "\"hunter2\", \"role\": \"editor\"}]}"),
                     "/etc/eidhub/broker.json: $.admin.accounts[0].password_hash: must be "
                     "scrypt$N$r$p$salt$hash as eidhubctl passwd prints it");
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": \"admin\"}]}",
             good_hash);
    ck_assert_str_eq(load_err(text), "/etc/eidhub/broker.json: $.admin.accounts[0].role: must be "
                                     "\"viewer\" or \"editor\"");
    snprintf(text, sizeof(text), "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\"}]}",
             good_hash);
    ck_assert_str_eq(load_err(text),
                     "/etc/eidhub/broker.json: $.admin.accounts[0].role: is required");
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": \"viewer\"}, "
             "{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": \"editor\"}]}",
             good_hash, good_hash);
    ck_assert_str_eq(load_err(text), "/etc/eidhub/broker.json: $.admin.accounts[1].user: "
                                     "duplicates $.admin.accounts[0].user");
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": "
             "\"viewer\"}], \"session_minutes\": 0}",
             good_hash);
    ck_assert(strstr(load_err(text), "$.admin.session_minutes") != NULL);
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"a\", \"password_hash\": \"%s\", \"role\": "
             "\"viewer\"}], \"session_minutes\": 1441}",
             good_hash);
    ck_assert(strstr(load_err(text), "$.admin.session_minutes") != NULL);
}
END_TEST

START_TEST(configuration_defaults)
{
    char err[512], text[512];
    eh_admin *a;

    snprintf(
        text, sizeof(text),
        "{\"accounts\": [{\"user\": \"a\", \"password_hash\": "
        "\"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""
        ", \"role\": \"viewer\"}]}");
    a = load(text, err, sizeof(err));
    ck_assert_msg(a != NULL, "%s", err);
    ck_assert_uint_eq(eh_admin_session_minutes(a), 30);
    eh_admin_free(a);
    a = two_accounts(1440);
    ck_assert_uint_eq(eh_admin_session_minutes(a), 1440);
    eh_admin_free(a);
}
END_TEST

/* seconds_since: this thread's CPU time since t0 (scrypt's work, which a
 * loaded machine does not stretch the way it stretches wall-clock time). */
static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

START_TEST(authenticate_users)
{
    eh_admin *a = two_accounts(30);
    eh_admin_role role = EH_ADMIN_NONE;
    struct timespec t0;
    double known, unknown;

    ck_assert_int_eq(eh_admin_authenticate(a, "alice", "alice-password", &role), EH_OK);
    ck_assert_int_eq(role, EH_ADMIN_EDITOR);
    ck_assert_int_eq(eh_admin_authenticate(a, "bob", "bob-password", &role), EH_OK);
    ck_assert_int_eq(role, EH_ADMIN_VIEWER);
    ck_assert_int_eq(eh_admin_authenticate(a, "bob", "alice-password", &role), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_admin_authenticate(a, "Alice", "alice-password", &role), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_admin_authenticate(a, NULL, "alice-password", &role), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_admin_authenticate(a, "alice", NULL, &role), EH_ERR_NOT_FOUND);

    /* an unknown user costs a scrypt computation too */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    ck_assert_int_eq(eh_admin_authenticate(a, "alice", "wrong", &role), EH_ERR_NOT_FOUND);
    known = seconds_since(&t0);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    ck_assert_int_eq(eh_admin_authenticate(a, "mallory", "wrong", &role), EH_ERR_NOT_FOUND);
    unknown = seconds_since(&t0);
    ck_assert_msg(unknown > known / 3, "known %.4f s, unknown %.4f s", known, unknown);
    eh_admin_free(a);
}
END_TEST

/* A request with up to four headers. */
typedef struct fake_req {
    eh_http_header headers[4];
    eh_http_request req;
} fake_req;

static void fake(fake_req *f, const char *const *pairs)
{
    size_t n = 0;
    memset(f, 0, sizeof(*f));
    for (; pairs != NULL && pairs[2 * n] != NULL && n < 4; n++) {
        f->headers[n].name = pairs[2 * n];
        f->headers[n].value = pairs[2 * n + 1];
    }
    f->req.method = EH_HTTP_POST;
    f->req.path = "/admin/api/policy";
    f->req.query = "";
    f->req.headers = f->headers;
    f->req.n_headers = n;
    f->req.client_addr = "127.0.0.1";
}

START_TEST(sessions_live_and_expire)
{
    eh_admin *a = two_accounts(30), *only_bob = NULL;
    eh_store *store = NULL;
    eh_admin_session *s = NULL, *found = NULL;
    char *id = NULL, cookie[256], err[512], text[512];
    int64_t now = (int64_t)time(NULL);
    fake_req f;

    ck_assert_int_eq(eh_store_shm_new(1024 * 1024, &store), EH_OK);
    ck_assert_int_eq(eh_admin_session_create(a, store, "alice", EH_ADMIN_EDITOR, now, &id, &s),
                     EH_OK);
    ck_assert_uint_eq(strlen(id), 43);
    ck_assert_uint_eq(strlen(s->csrf), 43);
    ck_assert_str_ne(id, s->csrf);
    ck_assert_int_eq(s->expires, now + 30 * 60);

    snprintf(cookie, sizeof(cookie), "other=1; " EH_ADMIN_COOKIE "=%s", id);
    fake(&f, (const char *const[]){"Cookie", cookie, NULL});
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_OK);
    ck_assert_str_eq(found->user, "alice");
    ck_assert_int_eq(found->role, EH_ADMIN_EDITOR);
    ck_assert_str_eq(found->csrf, s->csrf);
    eh_admin_session_free(found);
    found = NULL;
    /* expired */
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now + 30 * 60, &found),
                     EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(found);
    /* the account is gone from the configuration */
    hashes();
    snprintf(text, sizeof(text),
             "{\"accounts\": [{\"user\": \"bob\", \"password_hash\": \"%s\", \"role\": "
             "\"viewer\"}]}",
             bob_hash);
    only_bob = load(text, err, sizeof(err));
    ck_assert_msg(only_bob != NULL, "%s", err);
    ck_assert_int_eq(eh_admin_session_find(only_bob, store, &f.req, now, &found), EH_ERR_NOT_FOUND);
    /* no cookie, a wrong one, two of them */
    fake(&f, NULL);
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_ERR_NOT_FOUND);
    fake(&f, (const char *const[]){"Cookie", EH_ADMIN_COOKIE "=nope", NULL});
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_ERR_NOT_FOUND);
    fake(&f, (const char *const[]){"Cookie", cookie, "Cookie", EH_ADMIN_COOKIE "=x", NULL});
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_ERR_NOT_FOUND);
    /* logout ends it */
    fake(&f, (const char *const[]){"Cookie", cookie, NULL});
    ck_assert_int_eq(eh_admin_session_end(store, &f.req), EH_OK);
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_admin_session_end(store, &f.req), EH_OK);

    eh_admin_session_free(s);
    free(id);
    eh_store_free(store);
    eh_admin_free(a);
    eh_admin_free(only_bob);
}
END_TEST

START_TEST(session_role_follows_the_configuration)
{
    eh_admin *a = two_accounts(30);
    eh_store *store = NULL;
    eh_admin_session *s = NULL, *found = NULL;
    char *id = NULL, cookie[256];
    int64_t now = (int64_t)time(NULL);
    fake_req f;

    ck_assert_int_eq(eh_store_shm_new(1024 * 1024, &store), EH_OK);
    /* a session that claims editor for bob still gets bob's viewer role */
    ck_assert_int_eq(eh_admin_session_create(a, store, "bob", EH_ADMIN_EDITOR, now, &id, &s),
                     EH_OK);
    snprintf(cookie, sizeof(cookie), EH_ADMIN_COOKIE "=%s", id);
    fake(&f, (const char *const[]){"Cookie", cookie, NULL});
    ck_assert_int_eq(eh_admin_session_find(a, store, &f.req, now, &found), EH_OK);
    ck_assert_int_eq(found->role, EH_ADMIN_VIEWER);
    eh_admin_session_free(found);
    eh_admin_session_free(s);
    free(id);
    eh_store_free(store);
    eh_admin_free(a);
}
END_TEST

START_TEST(cookie_attributes)
{
    eh_http_response resp;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_admin_cookie_set(&resp, "abc", 1800, 1), EH_OK);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Set-Cookie"),
                     "eidhub_admin=abc; Path=/admin; Max-Age=1800; HttpOnly; SameSite=Strict; "
                     "Secure");
    eh_http_response_free(&resp);
    ck_assert_int_eq(eh_admin_cookie_set(&resp, "", 0, 0), EH_OK);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Set-Cookie"),
                     "eidhub_admin=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict");
    eh_http_response_free(&resp);
    /* the old function keeps its attributes */
    ck_assert_int_eq(eh_cookie_set(&resp, "eidhub_txn", "xyz", 600, 1), EH_OK);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Set-Cookie"),
                     "eidhub_txn=xyz; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure");
    eh_http_response_free(&resp);
    ck_assert_int_eq(eh_cookie_set_scoped(&resp, "n", "v", 1, 0, "admin", "Strict"),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_cookie_set_scoped(&resp, "n", "v", 1, 0, "/a;b", "Strict"), EH_ERR_INVALID);
    ck_assert_int_eq(eh_cookie_set_scoped(&resp, "n", "v", 1, 0, "/a", "Strict; Domain=x"),
                     EH_ERR_INVALID);
    ck_assert_int_eq(eh_cookie_set_scoped(&resp, "n", "v;x", 1, 0, "/a", "Strict"), EH_ERR_INVALID);
    ck_assert_uint_eq(resp.n_headers, 0);
    eh_http_response_free(&resp);
}
END_TEST

#define ISSUER "https://id.example.ee"
#define JSON_TYPE "Content-Type", "application/json"

START_TEST(change_checks_in_order)
{
    eh_admin_session editor = {"alice", EH_ADMIN_EDITOR, "the-csrf-token", 0};
    eh_admin_session viewer = {"bob", EH_ADMIN_VIEWER, "the-csrf-token", 0};
    fake_req f;

    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_ALLOWED);
    ck_assert_int_eq(eh_admin_check_change(&viewer, EH_ADMIN_VIEWER, &f.req, ISSUER),
                     EH_ADMIN_ALLOWED);
    ck_assert_int_eq(eh_admin_check_change(NULL, EH_ADMIN_VIEWER, &f.req, ISSUER),
                     EH_ADMIN_NO_SESSION);
    ck_assert_int_eq(eh_admin_check_change(&viewer, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_ROLE);

    fake(&f, (const char *const[]){JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CSRF);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-tokeN", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CSRF);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token-longer", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CSRF);
    fake(&f, (const char *const[]){"X-CSRF-Token", "", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CSRF);

    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin",
                                   "https://evil.example", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin", "null", JSON_TYPE,
                                   NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin",
                                   "https://id.example.ee.evil.example", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin",
                                   "http://id.example.ee", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Sec-Fetch-Site", "cross-site",
                                   JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Sec-Fetch-Site", "same-site",
                                   JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CROSS_ORIGIN);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin", ISSUER,
                                   "Sec-Fetch-Site", "same-origin", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_ALLOWED);
    /* an issuer with a path: the origin is scheme, host and port */
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Origin",
                                   "https://id.example.ee:8443", JSON_TYPE, NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req,
                                           "https://id.example.ee:8443/eidhub"),
                     EH_ADMIN_ALLOWED);

    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CONTENT_TYPE);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Content-Type", "text/plain",
                                   NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CONTENT_TYPE);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Content-Type",
                                   "application/jsonp", NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CONTENT_TYPE);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "Content-Type",
                                   "application/x-www-form-urlencoded", NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_CONTENT_TYPE);
    fake(&f, (const char *const[]){"X-CSRF-Token", "the-csrf-token", "content-type",
                                   "Application/JSON; charset=utf-8", NULL});
    ck_assert_int_eq(eh_admin_check_change(&editor, EH_ADMIN_EDITOR, &f.req, ISSUER),
                     EH_ADMIN_ALLOWED);

    ck_assert_int_eq(eh_admin_refusal_status(EH_ADMIN_NO_SESSION), 401);
    ck_assert_int_eq(eh_admin_refusal_status(EH_ADMIN_ROLE), 403);
    ck_assert_int_eq(eh_admin_refusal_status(EH_ADMIN_CSRF), 403);
    ck_assert_int_eq(eh_admin_refusal_status(EH_ADMIN_CROSS_ORIGIN), 403);
    ck_assert_int_eq(eh_admin_refusal_status(EH_ADMIN_CONTENT_TYPE), 415);
    ck_assert_str_ne(eh_admin_refusal_reason(EH_ADMIN_CSRF),
                     eh_admin_refusal_reason(EH_ADMIN_CROSS_ORIGIN));
}
END_TEST

START_TEST(broker_requires_policy_dir_for_admin)
{
    char *dir = eh_test_tmpdir(), *path, *text = NULL, err[1024];
    eh_broker *b = NULL;
    const char *admin = "\"admin\": {\"accounts\": [{\"user\": \"a\", \"password_hash\": "
                        "\"scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$"
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", \"role\": \"editor\"}]}";

    free(eh_test_config(dir, "[]")); /* the key */
    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"http://127.0.0.1:8080\", \"keys\": "
                              "[{\"file\": \"key.pem\"}], %s}",
                              admin),
                     0);
    path = eh_test_write(dir, "broker.json", text);
    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, ": $.admin: needs $.policy_dir") != NULL, "%s", err);
    free(text);
    free(path);

    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"http://127.0.0.1:8080\", \"keys\": "
                              "[{\"file\": \"key.pem\"}], \"policy_dir\": \"nope\", %s}",
                              admin),
                     0);
    path = eh_test_write(dir, "broker.json", text);
    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, ": $.policy_dir: ") != NULL, "%s", err);
    free(text);
    free(path);

    ck_assert_int_ge(asprintf(&text, "{\"issuer\": \"http://127.0.0.1:8080\", \"keys\": "
                                     "[{\"file\": \"key.pem\"}], \"policy_dir\": \".\", "
                                     "\"admin\": {\"accounts\": []}}"),
                     0);
    path = eh_test_write(dir, "broker.json", text);
    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_ERR_CONFIG);
    ck_assert_msg(strstr(err, "broker.json: $.admin.accounts: must be a non-empty array") != NULL,
                  "%s", err);
    free(text);
    free(path);

    ck_assert_int_ge(asprintf(&text,
                              "{\"issuer\": \"http://127.0.0.1:8080\", \"keys\": "
                              "[{\"file\": \"key.pem\"}], \"policy_dir\": \".\", %s}",
                              admin),
                     0);
    path = eh_test_write(dir, "broker.json", text);
    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_ptr_nonnull(eh_broker_admin_get(b));
    ck_assert_ptr_nonnull(eh_broker_policies_get(b));
    eh_broker_free(b);
    free(text);
    free(path);
    eh_test_rmtree(dir);
    free(dir);
}
END_TEST

Suite *suite_admin_auth(void)
{
    Suite *s = suite_create("admin_auth");
    TCase *tc = tcase_create("auth");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hash_and_verify);
    tcase_add_test(tc, known_vector_verifies);
    tcase_add_test(tc, malformed_hashes);
    tcase_add_test(tc, configuration_errors_name_the_field);
    tcase_add_test(tc, configuration_defaults);
    tcase_add_test(tc, authenticate_users);
    tcase_add_test(tc, sessions_live_and_expire);
    tcase_add_test(tc, session_role_follows_the_configuration);
    tcase_add_test(tc, cookie_attributes);
    tcase_add_test(tc, change_checks_in_order);
    tcase_add_test(tc, broker_requires_policy_dir_for_admin);
    suite_add_tcase(s, tc);
    return s;
}
