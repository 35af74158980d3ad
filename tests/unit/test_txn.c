#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/cookie.h"
#include "broker/random.h"
#include "broker/store.h"
#include "broker/txn.h"

/* Every test runs against a fresh embedded store of the smallest size. */
static eh_store *store;

static void setup(void)
{
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
}

static void teardown(void)
{
    eh_store_free(store);
    store = NULL;
}

/* new_txn makes a transaction for a typical OIDC request, not yet saved. */
static eh_txn *new_txn(void)
{
    eh_authn_request *a = NULL;
    eh_txn *txn = NULL;

    ck_assert_int_eq(eh_authn_request_new(&a), EH_OK);
    a->requester = strdup("portal");
    a->protocol = strdup("oidc");
    a->locale = strdup("et");
    a->login_hint = strdup("EE38001085718");
    a->min_loa = EH_LOA_HIGH;
    a->comparison = EH_LOA_EXACT;
    a->force_authn = 1;
    json_array_append_new(a->requested, json_string("given_name"));
    json_array_append_new(a->requested, json_string("family_name"));
    ck_assert_int_eq(eh_txn_new(a, &txn), EH_OK);
    return txn;
}

/* cookie_req fills req with one Cookie header holding cookie (or none). */
static void cookie_req(eh_http_request *req, eh_http_header *h, const char *cookie)
{
    memset(req, 0, sizeof(*req));
    h->name = "Cookie";
    h->value = cookie;
    req->method = EH_HTTP_POST;
    req->path = "/auth/mid";
    req->query = "";
    req->headers = h;
    req->n_headers = cookie != NULL;
}

/* of_request loads (or takes) the transaction a request with cookie names. */
static eh_rc of_request(const char *cookie, int take, eh_txn **out)
{
    eh_http_header h;
    eh_http_request req;

    cookie_req(&req, &h, cookie);
    *out = NULL;
    return eh_txn_of_request(store, &req, take, out);
}

/* cookie_of returns "eidhub_txn=<id>" for txn (caller frees). */
static char *cookie_of(const eh_txn *txn)
{
    char *c = NULL;
    ck_assert_int_ge(asprintf(&c, "%s=%s", EH_TXN_COOKIE, txn->id), 0);
    return c;
}

/* csrf_ok checks a form body of len bytes, copied to memory of exactly that
 * size so that reading past it is caught by the sanitizer. */
static int csrf_ok(const eh_txn *txn, const char *body, size_t len)
{
    eh_http_request req = {.method = EH_HTTP_POST, .path = "/x", .query = ""};
    unsigned char *copy = NULL;
    int ok;

    if (body != NULL) {
        copy = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, body, len);
    }
    req.body = copy;
    req.body_len = len;
    ok = eh_txn_csrf_ok(txn, &req);
    free(copy);
    return ok;
}

START_TEST(new_has_fresh_ids)
{
    eh_txn *a = new_txn(), *b = new_txn();
    time_t now = time(NULL);

    ck_assert_uint_eq(strlen(a->id), 43);
    ck_assert_uint_eq(strlen(a->csrf), 43);
    ck_assert_str_ne(a->id, a->csrf);
    ck_assert_str_ne(a->id, b->id);
    ck_assert_str_ne(a->csrf, b->csrf);
    ck_assert(json_is_object(a->frontend) && json_object_size(a->frontend) == 0);
    ck_assert(json_is_object(a->backend) && json_object_size(a->backend) == 0);
    ck_assert(a->created <= now && a->created >= now - 2);
    eh_txn_free(a);
    eh_txn_free(b);
    eh_txn_free(NULL);
}
END_TEST

/* The CSRF token is derived from the id, not stored: the stored text has
 * none, a loaded transaction gets the same one, and it is not the id's own
 * digest (whose beginning log lines carry). A transaction an earlier
 * version stored with a random token keeps that token. */
START_TEST(csrf_derived_not_stored)
{
    eh_txn *txn = new_txn(), *got = NULL;
    char key[128], *text = NULL, *digest = NULL, *old = NULL;
    size_t len = 0;

    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    snprintf(key, sizeof(key), "txn:%s", txn->id);
    ck_assert_int_eq(eh_store_get(store, key, &text, &len), EH_OK);
    ck_assert_ptr_null(strstr(text, "csrf"));
    ck_assert_ptr_null(strstr(text, txn->csrf));
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_OK);
    ck_assert_str_eq(got->csrf, txn->csrf);
    eh_txn_free(got);
    got = NULL;
    ck_assert_int_eq(eh_token_digest(txn->id, &digest), EH_OK);
    ck_assert_str_ne(digest, txn->csrf);
    ck_assert_int_eq(strncmp(digest, txn->csrf, 16) != 0, 1);
    /* stored by an earlier version, with its own token */
    ck_assert_int_ge(asprintf(&old, "{\"csrf\":\"an-older-random-token\",%s", text + 1), 0);
    ck_assert_int_eq(eh_store_set(store, key, old, strlen(old), 60000), EH_OK);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_OK);
    ck_assert_str_eq(got->csrf, "an-older-random-token");
    eh_txn_free(got);
    free(old);
    free(digest);
    free(text);
    eh_txn_free(txn);
}
END_TEST

START_TEST(save_load_round_trip)
{
    eh_txn *txn = new_txn(), *got = NULL;

    json_object_set_new(txn->frontend, "redirect_uri", json_string("https://portal.example/cb"));
    json_object_set_new(txn->frontend, "state", json_string("s\"t<a>te"));
    json_object_set_new(txn->frontend, "nonce", json_string("n-1"));
    json_object_set_new(txn->backend, "session", json_string("ab12"));
    json_object_set_new(txn->backend, "tries", json_integer(3));
    json_object_set_new(txn->backend, "nested", json_pack("{s:[i,i]}", "a", 1, 2));
    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_OK);
    ck_assert_str_eq(got->id, txn->id);
    ck_assert_str_eq(got->csrf, txn->csrf);
    ck_assert_int_eq(got->created, txn->created);
    ck_assert(json_equal(got->frontend, txn->frontend));
    ck_assert(json_equal(got->backend, txn->backend));
    ck_assert_str_eq(got->authn->requester, "portal");
    ck_assert_str_eq(got->authn->protocol, "oidc");
    ck_assert_str_eq(got->authn->locale, "et");
    ck_assert_str_eq(got->authn->login_hint, "EE38001085718");
    ck_assert_ptr_null(got->authn->method_hint);
    ck_assert_int_eq(got->authn->min_loa, EH_LOA_HIGH);
    ck_assert_int_eq(got->authn->comparison, EH_LOA_EXACT);
    ck_assert_int_eq(got->authn->force_authn, 1);
    ck_assert(json_equal(got->authn->requested, txn->authn->requested));
    /* loading does not consume */
    eh_txn_free(got);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_OK);
    eh_txn_free(got);
    eh_txn_free(txn);
}
END_TEST

START_TEST(save_replaces)
{
    eh_txn *txn = new_txn(), *got = NULL;

    json_object_set_new(txn->backend, "step", json_string("one"));
    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    json_object_set_new(txn->backend, "step", json_string("two"));
    json_object_clear(txn->frontend);
    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_OK);
    ck_assert_str_eq(json_string_value(json_object_get(got->backend, "step")), "two");
    ck_assert_uint_eq(json_object_size(got->frontend), 0);
    eh_txn_free(got);
    eh_txn_free(txn);
}
END_TEST

START_TEST(take_is_single_use)
{
    eh_txn *txn = new_txn(), *got = NULL;

    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    ck_assert_int_eq(eh_txn_take(store, txn->id, &got), EH_OK);
    ck_assert_str_eq(got->csrf, txn->csrf);
    eh_txn_free(got);
    got = NULL;
    ck_assert_int_eq(eh_txn_take(store, txn->id, &got), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(got);
    eh_txn_free(txn);
}
END_TEST

START_TEST(unknown_and_malformed_ids_are_not_found)
{
    char long_id[400];
    const char *ids[] = {"", "nope", "a b", "../../etc/passwd", "x\r\ny", "\x01", "õ", long_id};
    eh_txn *got = NULL;

    memset(long_id, 'a', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        ck_assert_int_eq(eh_txn_load(store, ids[i], &got), EH_ERR_NOT_FOUND);
        ck_assert_int_eq(eh_txn_take(store, ids[i], &got), EH_ERR_NOT_FOUND);
        ck_assert_ptr_null(got);
    }
}
END_TEST

/* stored_doc returns the JSON document txn was saved as (caller decrefs). */
static json_t *stored_doc(const eh_txn *txn)
{
    char key[EH_STORE_KEY_MAX + 1], *text = NULL;
    size_t len = 0;
    json_t *doc;

    snprintf(key, sizeof(key), "txn:%s", txn->id);
    ck_assert_int_eq(eh_store_get(store, key, &text, &len), EH_OK);
    doc = json_loadb(text, len, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    free(text);
    return doc;
}

/* load_stored stores text under txn:corrupt and loads it. */
static eh_rc load_stored(const char *text)
{
    eh_txn *got = NULL;
    eh_rc rc;

    ck_assert_int_eq(eh_store_set(store, "txn:corrupt", text, strlen(text), 60000), EH_OK);
    rc = eh_txn_load(store, "corrupt", &got);
    if (rc != EH_OK)
        ck_assert_ptr_null(got);
    eh_txn_free(got);
    return rc;
}

/* load_doc stores doc (dumped) under txn:corrupt and loads it. */
static eh_rc load_doc(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    eh_rc rc = load_stored(text);
    free(text);
    return rc;
}

START_TEST(corrupt_stored_state_is_refused)
{
    const char *bad_text[] = {"", "not json", "[]", "{}", "null", "{\"csrf\":"};
    eh_txn *txn = new_txn();
    json_t *good, *doc;
    const char *name;
    json_t *value;

    for (size_t i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++)
        ck_assert_msg(load_stored(bad_text[i]) == EH_ERR_INVALID, "accepted %s", bad_text[i]);

    ck_assert_int_eq(eh_txn_save(store, txn), EH_OK);
    good = stored_doc(txn);
    /* as saved, it loads (under any id) */
    ck_assert_int_eq(load_doc(good), EH_OK);
    /* without any one of its members, or with a member of another type,
     * it does not */
    json_object_foreach(good, name, value)
    {
        doc = json_deep_copy(good);
        json_object_del(doc, name);
        ck_assert_msg(load_doc(doc) == EH_ERR_INVALID, "loaded without %s", name);
        json_object_set_new(doc, name, json_is_string(value) ? json_integer(1) : json_string("x"));
        ck_assert_msg(load_doc(doc) == EH_ERR_INVALID, "loaded with a bad %s", name);
        json_decref(doc);
    }
    /* objects that must be objects */
    {
        const char *objects[] = {"frontend", "backend"};
        for (size_t i = 0; i < 2; i++) {
            doc = json_deep_copy(good);
            json_object_set_new(doc, objects[i], json_array());
            ck_assert_msg(load_doc(doc) == EH_ERR_INVALID, "%s as an array", objects[i]);
            json_decref(doc);
        }
    }
    /* an authentication request with an unknown or mistyped member */
    doc = json_deep_copy(good);
    json_object_set_new(json_object_get(doc, "authn"), "evil", json_true());
    ck_assert_int_eq(load_doc(doc), EH_ERR_INVALID);
    json_decref(doc);
    doc = json_deep_copy(good);
    json_object_set_new(json_object_get(doc, "authn"), "requested", json_pack("[i]", 1));
    ck_assert_int_eq(load_doc(doc), EH_ERR_INVALID);
    json_decref(doc);
    json_decref(good);
    eh_txn_free(txn);
}
END_TEST

START_TEST(save_refuses_expired_transactions)
{
    eh_txn *txn = new_txn(), *got = NULL;

    txn->created = (int64_t)time(NULL) - (int64_t)(EH_TXN_TTL_MS / 1000);
    ck_assert_int_eq(eh_txn_save(store, txn), EH_ERR_NOT_FOUND);
    txn->created = (int64_t)time(NULL) - 24 * 3600;
    ck_assert_int_eq(eh_txn_save(store, txn), EH_ERR_NOT_FOUND);
    /* one from the future (a clock step) is not kept either */
    txn->created = (int64_t)time(NULL) + 3600;
    ck_assert_int_eq(eh_txn_save(store, txn), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_ERR_NOT_FOUND);
    eh_txn_free(txn);
}
END_TEST

START_TEST(lifetime_counts_from_creation)
{
    /* saved with one second of its lifetime left, it is gone after it */
    eh_txn *txn = new_txn(), *got = NULL;
    eh_rc rc;

    txn->created = (int64_t)time(NULL) - (int64_t)(EH_TXN_TTL_MS / 1000) + 1;
    rc = eh_txn_save(store, txn);
    ck_assert(rc == EH_OK || rc == EH_ERR_NOT_FOUND); /* a second may have ticked */
    usleep(1200 * 1000);
    ck_assert_int_eq(eh_txn_load(store, txn->id, &got), EH_ERR_NOT_FOUND);
    eh_txn_free(txn);
}
END_TEST

START_TEST(request_cookie_finds_the_transaction)
{
    eh_txn *a = new_txn(), *b = new_txn(), *got = NULL;
    char *ca = cookie_of(a), *cb = cookie_of(b), *both = NULL;

    ck_assert_int_eq(eh_txn_save(store, a), EH_OK);
    ck_assert_int_eq(eh_txn_save(store, b), EH_OK);
    ck_assert_int_eq(of_request(ca, 0, &got), EH_OK);
    ck_assert_str_eq(got->id, a->id);
    eh_txn_free(got);
    /* among other cookies */
    ck_assert_int_ge(asprintf(&both, "lang=et; %s; _ga=GA1.2.3", cb), 0);
    ck_assert_int_eq(of_request(both, 0, &got), EH_OK);
    ck_assert_str_eq(got->id, b->id);
    eh_txn_free(got);
    /* take through the cookie is single-use too */
    ck_assert_int_eq(of_request(ca, 1, &got), EH_OK);
    ck_assert_str_eq(got->csrf, a->csrf);
    eh_txn_free(got);
    ck_assert_int_eq(of_request(ca, 1, &got), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(of_request(ca, 0, &got), EH_ERR_NOT_FOUND);
    free(both);
    free(ca);
    free(cb);
    eh_txn_free(a);
    eh_txn_free(b);
}
END_TEST

START_TEST(request_without_good_cookie_is_not_found)
{
    eh_txn *a = new_txn(), *b = new_txn(), *got = NULL;
    char big[EH_COOKIE_VALUE_MAX + 64], *two = NULL;
    const char *bad[] = {"other=1",
                         "eidhub_txn=",
                         "eidhub_txn=garbage",
                         "eidhub_txn=a b",
                         "eidhub_txn=../txn",
                         "eidhub_txnx=1",
                         big};

    memcpy(big, "eidhub_txn=", 11);
    memset(big + 11, 'A', sizeof(big) - 12);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(eh_txn_save(store, a), EH_OK);
    ck_assert_int_eq(eh_txn_save(store, b), EH_OK);
    ck_assert_int_eq(of_request(NULL, 0, &got), EH_ERR_NOT_FOUND);
    ck_assert_ptr_null(got);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(of_request(bad[i], 0, &got) == EH_ERR_NOT_FOUND, "found with %.40s", bad[i]);
        ck_assert_ptr_null(got);
    }
    /* two copies of the cookie, even both valid: neither is trusted */
    ck_assert_int_ge(asprintf(&two, "eidhub_txn=%s; eidhub_txn=%s", a->id, b->id), 0);
    ck_assert_int_eq(of_request(two, 0, &got), EH_ERR_NOT_FOUND);
    ck_assert_int_eq(of_request(two, 1, &got), EH_ERR_NOT_FOUND);
    /* and nothing was consumed */
    ck_assert_int_eq(eh_txn_load(store, a->id, &got), EH_OK);
    eh_txn_free(got);
    ck_assert_int_eq(eh_txn_load(store, b->id, &got), EH_OK);
    eh_txn_free(got);
    free(two);
    eh_txn_free(a);
    eh_txn_free(b);
}
END_TEST

START_TEST(bind_sets_a_safe_cookie)
{
    eh_txn *txn = new_txn();
    eh_http_response resp;
    char *want = NULL;

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_txn_bind(&resp, txn, 1), EH_OK);
    ck_assert_int_ge(asprintf(&want,
                              "eidhub_txn=%s; Path=/; Max-Age=900; HttpOnly; "
                              "SameSite=Lax; Secure",
                              txn->id),
                     0);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Set-Cookie"), want);
    ck_assert_ptr_null(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), txn->csrf));
    eh_http_response_free(&resp);
    free(want);

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_txn_bind(&resp, txn, 0), EH_OK);
    ck_assert_ptr_nonnull(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), "HttpOnly"));
    ck_assert_ptr_nonnull(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), "SameSite=Lax"));
    ck_assert_ptr_null(strstr(eh_http_response_header_get(&resp, "Set-Cookie"), "Secure"));
    eh_http_response_free(&resp);

    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_txn_unbind(&resp, 1), EH_OK);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Set-Cookie"),
                     "eidhub_txn=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    eh_http_response_free(&resp);
    eh_txn_free(txn);
}
END_TEST

START_TEST(csrf_checks_the_form_field)
{
    eh_txn *txn = new_txn();
    char *body = NULL;

    ck_assert_int_ge(asprintf(&body, "phone=%%2B372555&csrf=%s&x=1", txn->csrf), 0);
    ck_assert(csrf_ok(txn, body, strlen(body)));
    free(body);
    ck_assert_int_ge(asprintf(&body, "csrf=%s", txn->csrf), 0);
    ck_assert(csrf_ok(txn, body, strlen(body)));
    /* the body is not NUL-terminated: a token cut short by body_len fails */
    ck_assert(!csrf_ok(txn, body, strlen(body) - 1));
    free(body);
    /* wrong, longer, shorter, repeated */
    ck_assert(!csrf_ok(txn, "csrf=wrong", 10));
    ck_assert_int_ge(asprintf(&body, "csrf=%sA", txn->csrf), 0);
    ck_assert(!csrf_ok(txn, body, strlen(body)));
    free(body);
    ck_assert_int_ge(asprintf(&body, "csrf=%s&csrf=%s", txn->csrf, txn->csrf), 0);
    ck_assert(!csrf_ok(txn, body, strlen(body)));
    free(body);
    ck_assert(!csrf_ok(txn, "csrf=", 5));
    ck_assert(!csrf_ok(txn, "csrf", 4));
    /* missing body or field */
    ck_assert(!csrf_ok(txn, NULL, 0));
    ck_assert(!csrf_ok(txn, "", 0));
    ck_assert(!csrf_ok(txn, "phone=1", 7));
    eh_txn_free(txn);
}
END_TEST

START_TEST(csrf_in_query_does_not_count)
{
    eh_txn *txn = new_txn();
    char *query = NULL;
    eh_http_request req = {.method = EH_HTTP_POST, .path = "/x"};

    ck_assert_int_ge(asprintf(&query, "csrf=%s", txn->csrf), 0);
    req.query = query;
    ck_assert(!eh_txn_csrf_ok(txn, &req));
    free(query);
    eh_txn_free(txn);
}
END_TEST

Suite *suite_txn(void)
{
    Suite *s = suite_create("txn");
    TCase *tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, new_has_fresh_ids);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, csrf_derived_not_stored);
    tcase_add_test(tc, save_replaces);
    tcase_add_test(tc, take_is_single_use);
    tcase_add_test(tc, unknown_and_malformed_ids_are_not_found);
    tcase_add_test(tc, corrupt_stored_state_is_refused);
    tcase_add_test(tc, save_refuses_expired_transactions);
    tcase_add_test(tc, lifetime_counts_from_creation);
    tcase_add_test(tc, request_cookie_finds_the_transaction);
    tcase_add_test(tc, request_without_good_cookie_is_not_found);
    tcase_add_test(tc, bind_sets_a_safe_cookie);
    tcase_add_test(tc, csrf_checks_the_form_field);
    tcase_add_test(tc, csrf_in_query_does_not_count);
    suite_add_tcase(s, tc);
    return s;
}
