/* Unit tests of broker/frontends/protect.c: header stripping and encoding,
 * return addresses, configuration, and the whole decision cycle (no
 * session -> login redirect -> callback -> session -> identity headers ->
 * logout) against the embedded store. */
#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/frontends/protect.h"
#include "broker/random.h"
#include "tests/unit/testutil.h"

#define CALLBACK "http://127.0.0.1:8080/protect/callback"

static char *dir;
static eh_broker *broker;

static const char rps[] =
    "[{\"client_id\": \"city-app\", \"redirect_uris\": [\"" CALLBACK "\"],"
    "  \"policy\": \"basic\", \"display_name\": \"App\", \"protect\": {\"session_minutes\": 5,"
    "  \"claim_headers\": {\"family_name\": \"X-Remote-Family\"}}},"
    " {\"client_id\": \"other-app\", \"redirect_uris\": [\"" CALLBACK
    "\"], \"policy\": \"basic\", \"display_name\": \"App\"},"
    " {\"client_id\": \"portal\", \"redirect_uris\": [\"http://127.0.0.1:9/cb\"],"
    "  \"policy\": \"basic\", \"display_name\": \"App\"}]";

static void setup(void)
{
    dir = eh_test_tmpdir();
    broker = eh_test_broker(dir, rps);
}

static void teardown(void)
{
    eh_broker_free(broker);
    eh_test_rmtree(dir);
    free(dir);
}

static const eh_config_rp *rp_named(const char *id)
{
    char err[256];
    const eh_config_rp *rp = eh_protect_rp(broker, id, err, sizeof(err));
    ck_assert_msg(rp != NULL, "%s", err);
    return rp;
}

START_TEST(return_addresses)
{
    const char *good[] = {"/", "/app/", "/app/page?x=1&y=%2F%2F", "/app/a%20b"};
    const char *bad[] = {"",           "app/",          "//evil.example/", "/\\evil.example",
                         "http:evil",  "https://evil/", "/a\\b",           "/a b",
                         "/a\r\nX: 1", "/caf\xc3\xa9",  "\\/evil.example"};
    char *longer = malloc(EH_PROTECT_RETURN_MAX + 2);

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(eh_protect_return_ok(good[i]), "%s refused", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!eh_protect_return_ok(bad[i]), "bad[%zu] accepted", i);
    ck_assert(!eh_protect_return_ok(NULL));
    memset(longer, 'a', EH_PROTECT_RETURN_MAX + 1);
    longer[0] = '/';
    longer[EH_PROTECT_RETURN_MAX + 1] = '\0';
    ck_assert(!eh_protect_return_ok(longer));
    longer[EH_PROTECT_RETURN_MAX] = '\0';
    ck_assert(eh_protect_return_ok(longer));
    free(longer);
}
END_TEST

START_TEST(identity_headers_are_recognised)
{
    const eh_config_rp *rp = rp_named("city-app");
    const char *strip[] = {"X-Eidhub-Sub", "x-eidhub-given-name", "X_EIDHUB_SUB",   "x-EIDHUB_x",
                           "X-Eidhub-",    "X-Remote-Family",     "x_remote_family"};
    const char *keep[] = {"X-Eidhub",         "X-Eidhubx-Sub", "Cookie",
                          "X-Remote-Family2", "Host",          "X-Eidhu"};

    for (size_t i = 0; i < sizeof(strip) / sizeof(strip[0]); i++)
        ck_assert_msg(eh_protect_header_is_identity(rp, strip[i], strlen(strip[i])), "%s kept",
                      strip[i]);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        ck_assert_msg(!eh_protect_header_is_identity(rp, keep[i], strlen(keep[i])), "%s removed",
                      keep[i]);
    /* the mapping is per relying party */
    ck_assert(!eh_protect_header_is_identity(rp_named("other-app"), "X-Remote-Family", 15));
}
END_TEST

START_TEST(header_values_are_encoded)
{
    struct {
        json_t *value;
        const char *want;
    } cases[] = {
        {json_string("Mari-Liis M\xc3\xa4nnik"), "Mari-Liis%20M%C3%A4nnik"},
        {json_string("a\r\nX-Eidhub-Sub: evil"), "a%0D%0AX-Eidhub-Sub%3A%20evil"},
        {json_string("1990-01-31"), "1990-01-31"},
        {json_true(), "true"},
        {json_false(), "false"},
        {json_integer(18), "18"},
        {json_pack("{s:s}", "a", "b c"), "%7B%22a%22%3A%22b%20c%22%7D"},
    };
    char *out = NULL;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(eh_protect_header_value(cases[i].value, &out), EH_OK);
        ck_assert_str_eq(out, cases[i].want);
        free(out);
        json_decref(cases[i].value);
    }
}
END_TEST

/* config_error loads a configuration with rps_json and returns its error
 * line (static buffer), or "" when it loads. */
static const char *config_error(const char *rps_json)
{
    static char err[1024];
    char *d = eh_test_tmpdir(), *path = eh_test_config(d, rps_json);
    eh_config *cfg = NULL;

    err[0] = '\0';
    if (eh_config_load(path, &cfg, err, sizeof(err)) == EH_OK)
        err[0] = '\0';
    eh_config_free(cfg);
    eh_test_rmtree(d);
    free(d);
    free(path);
    return err;
}

#define RP_WITH(protect)                                                                           \
    "[{\"client_id\": \"a\", \"redirect_uris\": [\"" CALLBACK                                      \
    "\"], \"policy\": \"basic\", \"display_name\": \"App\", "                                      \
    "\"protect\": " protect "}]"

START_TEST(configuration)
{
    ck_assert_str_eq(config_error(RP_WITH("{}")), "");
    ck_assert_str_eq(config_error(RP_WITH("{\"header_prefix\": \"X-City-\", \"scope\": \"openid "
                                          "profile\", \"claim_headers\": {\"sub\": "
                                          "\"X-Remote-User\"}}")),
                     "");
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("[]")), "$.relying_parties[0].protect: must "
                                                              "be an object"));
    ck_assert_ptr_nonnull(
        strstr(config_error(RP_WITH("{\"sesion_minutes\": 5}")), "sesion_minutes"));
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("{\"session_minutes\": 0}")),
                                 "$.relying_parties[0].protect.session_minutes"));
    ck_assert_ptr_nonnull(
        strstr(config_error(RP_WITH("{\"header_prefix\": \"X-\"}")), "protect.header_prefix"));
    ck_assert_ptr_nonnull(
        strstr(config_error(RP_WITH("{\"header_prefix\": \"X-A b-\"}")), "protect.header_prefix"));
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("{\"header_prefix\": \"Content-\"}")),
                                 "would remove the request header Content-Length"));
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("{\"claim_headers\": {\"sub\": "
                                                      "\"cookie\"}}")),
                                 "protect.claim_headers.sub: must not be Cookie"));
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("{\"claim_headers\": {\"sub\": "
                                                      "\"X-A\\r\\nB\"}}")),
                                 "protect.claim_headers.sub: must be an HTTP header name"));
    ck_assert_ptr_nonnull(strstr(config_error(RP_WITH("{\"scope\": \"profile\"}")),
                                 "protect.scope: must hold \"openid\""));
}
END_TEST

START_TEST(relying_party_of_a_location)
{
    char err[512];
    ck_assert_ptr_nonnull(eh_protect_rp(broker, "city-app", err, sizeof(err)));
    ck_assert_ptr_null(eh_protect_rp(broker, "nobody", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "no relying party \"nobody\""));
    ck_assert_ptr_null(eh_protect_rp(broker, "portal", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "must list \"" CALLBACK "\" in its redirect_uris"));
}
END_TEST

/* A request with up to two headers. */
typedef struct fake {
    eh_http_request req;
    eh_http_header h[2];
    char cookie[1024];
} fake;

static void fake_init(fake *f, eh_http_method method, const char *path, const char *query,
                      const char *cookie)
{
    memset(f, 0, sizeof(*f));
    f->req.method = method;
    f->req.path = path;
    f->req.query = query;
    f->req.client_addr = "127.0.0.1";
    f->req.headers = f->h;
    if (cookie != NULL) {
        snprintf(f->cookie, sizeof(f->cookie), "%s", cookie);
        f->h[0].name = "Cookie";
        f->h[0].value = f->cookie;
        f->req.n_headers = 1;
    }
}

/* cookie_of returns "name=value" of the Set-Cookie of resp whose name
 * starts with prefix (static buffer), failing when there is none. */
static const char *cookie_of(const eh_http_response *resp, const char *prefix)
{
    static char buf[1024];
    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcmp(resp->header_names[i], "Set-Cookie") == 0 &&
            strncmp(resp->header_values[i], prefix, strlen(prefix)) == 0) {
            snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(resp->header_values[i], ";"),
                     resp->header_values[i]);
            return buf;
        }
    }
    ck_abort_msg("no Set-Cookie %s", prefix);
    return NULL;
}

/* param_of reads a parameter of the query of url (caller frees). */
static char *param_of(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    char *v = NULL;
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(eh_http_param_get(q + 1, strlen(q + 1), name, &v), EH_OK);
    return v;
}

/* issue_code stores an authorization code as the OIDC frontend's
 * eh_oidc_complete would for the authorization request at url (caller
 * frees the code). */
static char *issue_code_nonce(const char *url, const char *client_id, const char *other_nonce)
{
    char *code = NULL, *digest = NULL, *text = NULL, key[300];
    char *nonce = other_nonce ? strdup(other_nonce) : param_of(url, "nonce"),
         *challenge = param_of(url, "code_challenge"), *redirect = param_of(url, "redirect_uri");
    json_t *payload;

    ck_assert_int_eq(eh_random_token(&code), EH_OK);
    ck_assert_int_eq(eh_token_digest(code, &digest), EH_OK);
    payload = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:b}}", "client_id", client_id,
                        "redirect_uri", redirect, "nonce", nonce, "code_challenge", challenge,
                        "scope", "openid", "sub", "pairwise-subject-1", "claims", "given_name",
                        "Mari-Liis M\xc3\xa4nnik", "family_name", "Tamm", "age_over_18", 1);
    text = json_dumps(payload, JSON_COMPACT);
    snprintf(key, sizeof(key), "code:%s", digest);
    ck_assert_int_eq(eh_store_set(eh_broker_store_get(broker), key, text, strlen(text), 30000),
                     EH_OK);
    json_decref(payload);
    free(text);
    free(digest);
    free(nonce);
    free(challenge);
    free(redirect);
    return code;
}

static char *issue_code(const char *url, const char *client_id)
{
    return issue_code_nonce(url, client_id, NULL);
}

/* login runs the first request and the callback for return_to and returns
 * the application session cookie ("name=value", caller frees). */
static char *login(const char *client_id, const char *return_to)
{
    const eh_config_rp *rp = rp_named(client_id);
    eh_protect_verdict verdict;
    eh_http_response resp;
    char *state, *code, query[512], *session;
    fake f;

    eh_http_response_init(&resp);
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, return_to, &verdict, &resp), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(resp.status, 303);
    state = param_of(eh_http_response_header_get(&resp, "Location"), "state");
    code = issue_code(eh_http_response_header_get(&resp, "Location"), client_id);
    fake_init(&f, EH_HTTP_GET, "/protect/callback", NULL,
              cookie_of(&resp, EH_PROTECT_STATE_COOKIE "="));
    snprintf(query, sizeof(query), "code=%s&state=%s&iss=http%%3A%%2F%%2F127.0.0.1%%3A8080", code,
             state);
    f.req.query = query;
    eh_http_response_free(&resp);
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 303);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Location"), return_to);
    session = strdup(cookie_of(&resp, "eidhub_app_"));
    ck_assert_ptr_nonnull(strstr(cookie_of(&resp, EH_PROTECT_STATE_COOKIE "="), "eidhub_pst="));
    eh_http_response_free(&resp);
    free(state);
    free(code);
    return session;
}

START_TEST(no_session_starts_a_login)
{
    const eh_config_rp *rp = rp_named("city-app");
    eh_protect_verdict verdict = EH_PROTECT_CONTINUE;
    eh_http_response resp;
    const char *loc, *set;
    char *v;
    fake f;

    eh_http_response_init(&resp);
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/x?y=1", &verdict, &resp), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(resp.status, 303);
    loc = eh_http_response_header_get(&resp, "Location");
    ck_assert(strncmp(loc, "http://127.0.0.1:8080/authorize?", 32) == 0);
    v = param_of(loc, "client_id");
    ck_assert_str_eq(v, "city-app");
    free(v);
    v = param_of(loc, "redirect_uri");
    ck_assert_str_eq(v, CALLBACK);
    free(v);
    v = param_of(loc, "code_challenge_method");
    ck_assert_str_eq(v, "S256");
    free(v);
    v = param_of(loc, "scope"); /* what the basic profile releases */
    ck_assert_str_eq(v, "openid given_name family_name");
    free(v);
    v = param_of(loc, "nonce");
    ck_assert_uint_eq(strlen(v), 43);
    free(v);
    set = cookie_of(&resp, EH_PROTECT_STATE_COOKIE "=");
    v = param_of(loc, "state");
    ck_assert_str_eq(strchr(set, '=') + 1, v);
    free(v);
    ck_assert_ptr_nonnull(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), "HttpOnly"));
    eh_http_response_free(&resp);

    /* another method: no login to go back to */
    fake_init(&f, EH_HTTP_POST, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &resp), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(resp.status, 401);
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Location"));
    eh_http_response_free(&resp);

    /* an address that would leave the site */
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "//evil.example/app/", &verdict, &resp),
                     EH_OK);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Location"));
    eh_http_response_free(&resp);
}
END_TEST

START_TEST(session_gives_identity_headers)
{
    const eh_config_rp *rp = rp_named("city-app");
    char *session = login("city-app", "/app/x?y=1");
    eh_protect_verdict verdict = EH_PROTECT_RESPOND;
    eh_http_response out;
    fake f;

    eh_http_response_init(&out);
    fake_init(&f, EH_HTTP_GET, "/app/x", "y=1", session);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/x?y=1", &verdict, &out), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_CONTINUE);
    ck_assert_uint_eq(out.n_headers, 4);
    ck_assert_str_eq(eh_http_response_header_get(&out, "X-Eidhub-Sub"), "pairwise-subject-1");
    ck_assert_str_eq(eh_http_response_header_get(&out, "X-Eidhub-Given-Name"),
                     "Mari-Liis%20M%C3%A4nnik");
    ck_assert_str_eq(eh_http_response_header_get(&out, "X-Eidhub-Age-Over-18"), "true");
    /* mapped: under its own name only */
    ck_assert_str_eq(eh_http_response_header_get(&out, "X-Remote-Family"), "Tamm");
    ck_assert_ptr_null(eh_http_response_header_get(&out, "X-Eidhub-Family-Name"));
    eh_http_response_free(&out);

    /* the session is city-app's: another protected app logs in itself */
    fake_init(&f, EH_HTTP_GET, "/other/", "", session);
    ck_assert_int_eq(
        eh_protect_check(broker, rp_named("other-app"), &f.req, "/other/", &verdict, &out), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(out.status, 303);
    eh_http_response_free(&out);
    free(session);
}
END_TEST

START_TEST(forged_cookie_logs_in_again)
{
    const eh_config_rp *rp = rp_named("city-app");
    char *session = login("city-app", "/app/"), forged[512];
    eh_protect_verdict verdict = EH_PROTECT_CONTINUE;
    eh_http_response out;
    fake f;

    snprintf(forged, sizeof(forged), "%.*sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             (int)(strchr(session, '=') - session + 1), session);
    eh_http_response_init(&out);
    fake_init(&f, EH_HTTP_GET, "/app/", "", forged);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &out), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(out.status, 303);
    eh_http_response_free(&out);
    free(session);
}
END_TEST

START_TEST(callback_refuses_foreign_or_replayed_state)
{
    const eh_config_rp *rp = rp_named("city-app");
    eh_protect_verdict verdict;
    eh_http_response resp, cb;
    char *state, *code, query[512], wrong[128];
    fake f;

    eh_http_response_init(&resp);
    eh_http_response_init(&cb);
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &resp), EH_OK);
    state = param_of(eh_http_response_header_get(&resp, "Location"), "state");
    code = issue_code(eh_http_response_header_get(&resp, "Location"), "city-app");
    snprintf(query, sizeof(query), "code=%s&state=%s", code, state);

    /* no state cookie: another browser */
    fake_init(&f, EH_HTTP_GET, "/protect/callback", query, NULL);
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 400);
    eh_http_response_free(&cb);
    /* another state in the cookie */
    snprintf(wrong, sizeof(wrong), EH_PROTECT_STATE_COOKIE "=%.20sxxxxxxxxxxxxxxxxxxxxxxx", state);
    fake_init(&f, EH_HTTP_GET, "/protect/callback", query, wrong);
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 400);
    eh_http_response_free(&cb);
    /* the right browser: once */
    fake_init(&f, EH_HTTP_GET, "/protect/callback", query,
              cookie_of(&resp, EH_PROTECT_STATE_COOKIE "="));
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 303);
    eh_http_response_free(&cb);
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&cb, "Location"));
    eh_http_response_free(&cb);
    eh_http_response_free(&resp);
    free(state);
    free(code);
}
END_TEST

START_TEST(callback_refuses_a_code_for_another_login)
{
    const eh_config_rp *rp = rp_named("city-app");
    eh_protect_verdict verdict;
    eh_http_response first, second, cb;
    char *state, *code, query[512];
    fake f;

    eh_http_response_init(&first);
    eh_http_response_init(&second);
    eh_http_response_init(&cb);
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &first), EH_OK);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &second), EH_OK);
    /* a code issued for the second login's nonce and challenge, brought
     * back with the first login's state */
    state = param_of(eh_http_response_header_get(&first, "Location"), "state");
    code = issue_code(eh_http_response_header_get(&second, "Location"), "city-app");
    snprintf(query, sizeof(query), "code=%s&state=%s", code, state);
    fake_init(&f, EH_HTTP_GET, "/protect/callback", query,
              cookie_of(&first, EH_PROTECT_STATE_COOKIE "="));
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&cb, "Location"));
    eh_http_response_free(&cb);
    eh_http_response_free(&first);
    eh_http_response_free(&second);
    free(state);
    free(code);
}
END_TEST

START_TEST(callback_refuses_a_wrong_nonce)
{
    const eh_config_rp *rp = rp_named("city-app");
    eh_protect_verdict verdict;
    eh_http_response resp, cb;
    char *state, *code, query[512];
    fake f;

    eh_http_response_init(&resp);
    eh_http_response_init(&cb);
    fake_init(&f, EH_HTTP_GET, "/app/", "", NULL);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &resp), EH_OK);
    state = param_of(eh_http_response_header_get(&resp, "Location"), "state");
    code = issue_code_nonce(eh_http_response_header_get(&resp, "Location"), "city-app",
                            "another-login-s-nonce-AAAAAAAAAAAAAAAAAAAAAAA");
    snprintf(query, sizeof(query), "code=%s&state=%s", code, state);
    fake_init(&f, EH_HTTP_GET, "/protect/callback", query,
              cookie_of(&resp, EH_PROTECT_STATE_COOKIE "="));
    ck_assert_int_eq(eh_protect_callback_handle(broker, &f.req, &cb), EH_OK);
    ck_assert_int_eq(cb.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&cb, "Location"));
    for (size_t i = 0; i < cb.n_headers; i++)
        ck_assert(strncmp(cb.header_values[i], "eidhub_app_", 11) != 0);
    eh_http_response_free(&cb);
    eh_http_response_free(&resp);
    free(state);
    free(code);
}
END_TEST

START_TEST(logout_ends_the_session)
{
    const eh_config_rp *rp = rp_named("city-app");
    char *session = login("city-app", "/app/");
    eh_protect_verdict verdict = EH_PROTECT_CONTINUE;
    eh_http_response out;
    fake f;

    eh_http_response_init(&out);
    fake_init(&f, EH_HTTP_GET, "/protect/logout", "return_to=%2F%2Fevil.example", session);
    ck_assert_int_eq(eh_protect_logout_handle(broker, &f.req, &out), EH_OK);
    ck_assert_int_eq(out.status, 400);
    eh_http_response_free(&out);
    fake_init(&f, EH_HTTP_GET, "/protect/logout", "return_to=%2Fapp%2F", session);
    ck_assert_int_eq(eh_protect_logout_handle(broker, &f.req, &out), EH_OK);
    ck_assert_int_eq(out.status, 303);
    ck_assert_str_eq(eh_http_response_header_get(&out, "Location"), "/app/");
    ck_assert_ptr_nonnull(strstr(eh_http_response_header_get(&out, "Set-Cookie"), "Max-Age=0"));
    eh_http_response_free(&out);
    fake_init(&f, EH_HTTP_GET, "/app/", "", session);
    ck_assert_int_eq(eh_protect_check(broker, rp, &f.req, "/app/", &verdict, &out), EH_OK);
    ck_assert_int_eq(verdict, EH_PROTECT_RESPOND);
    ck_assert_int_eq(out.status, 303);
    eh_http_response_free(&out);
    free(session);
}
END_TEST

Suite *suite_protect(void)
{
    Suite *s = suite_create("protect");
    TCase *tc = tcase_create("protect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, return_addresses);
    tcase_add_test(tc, identity_headers_are_recognised);
    tcase_add_test(tc, header_values_are_encoded);
    tcase_add_test(tc, configuration);
    tcase_add_test(tc, relying_party_of_a_location);
    tcase_add_test(tc, no_session_starts_a_login);
    tcase_add_test(tc, session_gives_identity_headers);
    tcase_add_test(tc, forged_cookie_logs_in_again);
    tcase_add_test(tc, callback_refuses_foreign_or_replayed_state);
    tcase_add_test(tc, callback_refuses_a_code_for_another_login);
    tcase_add_test(tc, callback_refuses_a_wrong_nonce);
    tcase_add_test(tc, logout_ends_the_session);
    suite_add_tcase(s, tc);
    return s;
}
