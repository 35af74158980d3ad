#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#ifdef EH_HAVE_ZLIB
#include <zlib.h>
#endif

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/keys.h"
#include "broker/log.h"
#include "broker/random.h"
#include "broker/buf.h"
#include "broker/file.h"
#include "broker/flow.h"
#include "broker/frontends/eidas_proxy.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_post.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_xml.h"
#include "metadata/saml_metadata.h"
#include "policies/policy.h"
#include "tests/unit/testutil.h"

static char *dir;

static void setup(void)
{
    dir = eh_test_tmpdir();
}

static void teardown(void)
{
    eh_test_rmtree(dir);
    free(dir);
}

static eh_http_request get(const char *path)
{
    eh_http_request req = {.method = EH_HTTP_GET, .path = path, .query = "", .client_addr = "127.0.0.1"};
    return req;
}

START_TEST(load_and_answer)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_http_response resp;
    eh_http_request req = get("/jwks");

    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_uint_eq(eh_keyset_count(eh_broker_keys_get(b)), 1);
    ck_assert_str_eq(eh_broker_config_get(b)->issuer, "http://127.0.0.1:8080");
    ck_assert_ptr_null(eh_broker_store_get(b));
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(resp.body, eh_broker_jwks_get(b));
    ck_assert_str_eq(eh_http_response_header_get(&resp, "X-Content-Type-Options"), "nosniff");
    eh_http_response_free(&resp);
    eh_broker_free(b);
    free(path);
}
END_TEST

START_TEST(routing_errors_and_blocking)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_http_response resp;
    eh_http_request req = get("/nope");

    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_ERR_HTTP_NO_ROUTE);
    req = get("/jwks");
    req.method = EH_HTTP_POST;
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_ERR_HTTP_METHOD);
    ck_assert(!eh_broker_blocking(b, &req));
    req = get("/healthz");
    ck_assert(eh_broker_blocking(b, &req));
    req = get("/.well-known/openid-configuration");
    ck_assert(!eh_broker_blocking(b, &req));
    eh_http_response_free(&resp);
    eh_broker_free(b);
    free(path);
}
END_TEST

/* ---- which requests run on the host's event loop (eh_broker_blocking) ---- */

/* A route of the store-only kind: method, path. */
typedef struct route_ref {
    eh_http_method method;
    const char *path;
} route_ref;

/* The login's requests that wait only for the store (dispatch.c: STORE),
 * and those that also read the policy folder or sign the ID token. */
static const route_ref store_routes[] = {
    {EH_HTTP_GET, "/authorize"},
    {EH_HTTP_POST, "/authorize"},
    {EH_HTTP_GET, "/login"},
    {EH_HTTP_HEAD, "/login"},
    {EH_HTTP_GET, "/auth/mid"},
    {EH_HTTP_GET, "/auth/mid/wait"},
    {EH_HTTP_GET, "/auth/sid"},
    {EH_HTTP_GET, "/auth/sid/wait"},
    {EH_HTTP_POST, "/token"},
    {EH_HTTP_GET, "/userinfo"},
    {EH_HTTP_POST, "/userinfo"},
    {EH_HTTP_GET, "/consent"},
    {EH_HTTP_GET, "/sso"},
    {EH_HTTP_GET, "/me"},
    {EH_HTTP_GET, "/protect/callback"},
};

/* Requests that call out (Mobile-ID, OCSP, logout), write the audit log or
 * sign SAML, and the health check: a task whatever the store. */
static const route_ref task_routes[] = {
    {EH_HTTP_POST, "/auth/mid"},
    {EH_HTTP_GET, "/auth/mid/status"},
    {EH_HTTP_GET, "/healthz"},
    {EH_HTTP_GET, "/auth/mid/finish"},
    {EH_HTTP_POST, "/auth/sid"},
    {EH_HTTP_GET, "/auth/sid/status"},
    {EH_HTTP_GET, "/auth/sid/finish"},
    {EH_HTTP_POST, "/consent"},
    {EH_HTTP_POST, "/sso"},
    {EH_HTTP_POST, "/cancel"},
    {EH_HTTP_GET, "/logout"},
    {EH_HTTP_POST, "/me/logout"},
    {EH_HTTP_GET, "/auth/oidc"},
    {EH_HTTP_GET, "/auth/eidas"},
    {EH_HTTP_GET, "/admin/api/policy"},
};

#define N_ROUTES(a) (sizeof(a) / sizeof((a)[0]))

/* blocking_of tells whether b would run method path off the event loop. */
static int blocking_of(const eh_broker *b, eh_http_method method, const char *path)
{
    eh_http_request req = get(path);

    req.method = method;
    return eh_broker_blocking(b, &req);
}

/* assert_routes checks that every route of refs blocks (want 1) or not. */
static void assert_routes(const eh_broker *b, const route_ref *refs, size_t n, int want)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(blocking_of(b, refs[i].method, refs[i].path) == want, "%s %s: %s",
                      refs[i].method == EH_HTTP_POST ? "POST" : "GET", refs[i].path,
                      want ? "expected a thread-pool task" : "expected on the event loop");
}

START_TEST(store_routes_inline_with_the_embedded_store)
{
    eh_broker *b = eh_test_broker(dir, "[]");

    ck_assert(!eh_store_may_block(eh_broker_store_get(b)));
    assert_routes(b, store_routes, N_ROUTES(store_routes), 0);
    assert_routes(b, task_routes, N_ROUTES(task_routes), 1);
    /* what never blocked still does not; unknown requests are answered at once */
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/jwks"));
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/nope"));
    ck_assert(!blocking_of(b, EH_HTTP_OPTIONS, "/authorize"));
    /* without a broker, or before it has its store, a store route blocks */
    assert_routes(NULL, store_routes, N_ROUTES(store_routes), 1);
    ck_assert(!blocking_of(NULL, EH_HTTP_GET, "/jwks"));
    eh_broker_free(b);
}
END_TEST

START_TEST(store_routes_blocking_before_the_store_and_with_redis)
{
    /* a Redis store connects on first use only: the URL of EH_TEST_REDIS, or
     * any, makes a store that may block without a round trip here */
    const char *url = getenv("EH_TEST_REDIS") ? getenv("EH_TEST_REDIS") : "redis://127.0.0.1:1/0";
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_store *redis = NULL;

    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert(eh_store_may_block(NULL));
    assert_routes(b, store_routes, N_ROUTES(store_routes), 1); /* no store yet */
    ck_assert_msg(eh_store_redis_new(url, 500, &redis, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert(eh_store_may_block(redis));
    eh_broker_set_store(b, redis);
    assert_routes(b, store_routes, N_ROUTES(store_routes), 1);
    assert_routes(b, task_routes, N_ROUTES(task_routes), 1);
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/.well-known/openid-configuration"));
    eh_broker_free(b);
    free(path);
}
END_TEST

START_TEST(policy_folder_and_rsa_key_keep_their_routes_in_the_pool)
{
    char err[512], *path, *policies, *text;
    json_t *cfg;
    eh_broker *b = NULL;
    eh_store *store = NULL;

    /* an RSA-3072 active key (PS256) and a policy folder */
    text = eh_test_saml_fixture("rsa3072.pem", NULL);
    free(eh_test_write(dir, "key.pem", text));
    free(text);
    path = eh_test_config(dir, "[]");
    ck_assert_int_ge(asprintf(&policies, "%s/policies", dir), 0);
    ck_assert_int_eq(mkdir(policies, 0700), 0);
    ck_assert_ptr_nonnull(cfg = json_load_file(path, 0, NULL));
    ck_assert_int_eq(json_object_set_new(cfg, "policy_dir", json_string(policies)), 0);
    ck_assert_int_eq(json_dump_file(cfg, path, 0), 0);
    json_decref(cfg);
    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_str_eq(eh_key_alg_get(eh_keyset_active_get(eh_broker_keys_get(b))), "PS256");
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
    eh_broker_set_store(b, store);
    /* they read policy files: a task */
    ck_assert(blocking_of(b, EH_HTTP_GET, "/authorize"));
    ck_assert(blocking_of(b, EH_HTTP_POST, "/authorize"));
    ck_assert(blocking_of(b, EH_HTTP_GET, "/login"));
    /* it signs with RSA-3072: a task */
    ck_assert(blocking_of(b, EH_HTTP_POST, "/token"));
    /* the store-only ones stay on the event loop */
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/auth/mid"));
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/auth/mid/wait"));
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/userinfo"));
    ck_assert(!blocking_of(b, EH_HTTP_GET, "/consent"));
    eh_broker_free(b);
    free(policies);
    free(path);
}
END_TEST

START_TEST(key_errors_name_the_key)
{
    char err[512], *path;
    eh_broker *b = NULL;
    free(eh_test_write(dir, "key.pem", "not a key\n"));
    path = eh_test_config(dir, "[]");
    ck_assert_int_ne(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, "broker.json: $.keys[0]: ") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "key.pem") != NULL, "%s", err);
    free(path);
}
END_TEST

START_TEST(store_is_owned_and_replaced)
{
    char err[512], *path = eh_test_config(dir, "[]");
    eh_broker *b = NULL;
    eh_store *s1 = NULL, *s2 = NULL;
    ck_assert_int_eq(eh_broker_load(path, &b, err, sizeof(err)), EH_OK);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &s1), EH_OK);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &s2), EH_OK);
    eh_broker_set_store(b, s1);
    eh_broker_set_store(b, s1); /* setting the same store twice keeps it */
    ck_assert_ptr_eq(eh_broker_store_get(b), s1);
    eh_broker_set_store(b, s2); /* frees s1 */
    ck_assert_ptr_eq(eh_broker_store_get(b), s2);
    eh_broker_free(b);
    free(path);
}
END_TEST

/* ---- the eIDAS Proxy-Service frontend (broker/frontends/eidas_proxy.c) ----
 * Our node signs with ec256 and decrypts with rsa3072; the Connector "lv"
 * (https://connector.lv/metadata, NodeCountry LV) signs its requests and its
 * metadata with the attacker key (its own, here) and decrypts with rsa3072. */
#define FX EH_TEST_FIXTURES "/saml/"
#define LV_ENTITY "https://connector.lv/metadata"
#define LV_ACS "https://connector.lv/acs"
#define EP_SSO "http://127.0.0.1:8080/saml/proxy/sso"
#define EP_NP "http://eidas.europa.eu/attributes/naturalperson/"

static char *ep_slurp(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    ck_assert_msg(eh_file_read(path, 1 << 20, &text, &len) == EH_OK, "%s", path);
    return text;
}

/* write_metadata writes a peer node's signed metadata (role, entity id,
 * endpoint, NodeCountry; signed with the attacker key, its own here, which
 * also certifies its signing key; encryption certificate rsa3072) to
 * dir/name. */
static void write_metadata(const char *name, eh_saml_role role, const char *entity,
                           const char *endpoint, const char *country)
{
    char path[512], why[200] = "", *xml = NULL, *sign_pem, *enc_pem;
    size_t len = 0;
    eh_saml_keys *signer = eh_test_saml_keys("attacker.pem");
    eh_saml_metadata_spec spec = {0};
    FILE *f;

    sign_pem = ep_slurp(FX "attacker.crt");
    enc_pem = ep_slurp(FX "rsa3072.crt");
    spec.role = role;
    spec.entity_id = entity;
    spec.endpoint = endpoint;
    spec.node_country = country;
    spec.sp_type = role == EH_SAML_ROLE_CONNECTOR ? "public" : NULL;
    spec.signing_cert_pem = sign_pem;
    spec.encryption_cert_pem = enc_pem;
    spec.now = (int64_t)time(NULL);
    spec.valid_s = 3600;
    ck_assert_msg(eh_saml_metadata_build(&spec, signer, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why,
                                         sizeof(why)) == EH_OK,
                  "%s", why);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    ck_assert_uint_eq(fwrite(xml, 1, len, f), len);
    fclose(f);
    free(xml);
    free(sign_pem);
    free(enc_pem);
    eh_saml_keys_free(signer);
}

/* node_config writes a broker configuration with relying parties rps (JSON
 * text), our node ("saml": signs with ec256, decrypts with rsa3072) and the
 * member `member` whose JSON text is json, and returns its path. */
static char *node_config(const char *rps, const char *member, const char *json)
{
    char *path = eh_test_config(dir, rps);
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_object_set_new(root, "saml",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "country", "EE", "signing_key_file",
                                  FX "ec256.pem", "signing_cert_file", FX "ec256.crt",
                                  "encryption_key_file", FX "rsa3072.pem", "encryption_cert_file",
                                  FX "rsa3072.crt"));
    json_object_set_new(root, member, json_loads(json, 0, NULL));
    ck_assert_ptr_nonnull(json_object_get(root, member));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    return path;
}

/* ep_config: a configuration with "saml" and "eidas_proxy" (proxy: the
 * member's JSON text). */
static char *ep_config(const char *proxy)
{
    return node_config("[]", "eidas_proxy", proxy);
}

#define EP_PROXY_OK                                                                               \
    "{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"lv.xml\", \"trust_anchor_file\": \"" FX   \
    "attacker.crt\", \"policy\": \"full\", \"display_name\": {\"en\": \"Latvia\"}}, "           \
    "{\"id\": \"fi\", \"metadata\": \"fi.xml\", \"entity_id\": \"https://connector.fi/md\", "    \
    "\"trust_anchor_file\": \"" FX "attacker.crt\", \"policy\": \"basic\"}]}"

/* ep_broker loads a broker with the Proxy-Service and a store. */
static eh_broker *ep_broker(void)
{
    char err[512], *path;
    eh_broker *b = NULL;
    eh_store *store = NULL;

    write_metadata("lv.xml", EH_SAML_ROLE_CONNECTOR, LV_ENTITY, LV_ACS, "LV");
    write_metadata("fi.xml", EH_SAML_ROLE_CONNECTOR, "https://connector.fi/md", LV_ACS, "FI");
    path = ep_config(EP_PROXY_OK);
    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
    eh_broker_set_store(b, store);
    free(path);
    return b;
}

/* ep_request returns a signed AuthnRequest of issuer (base64), asking
 * PersonIdentifier, names (required) and DateOfBirth (dob_required) and an
 * attribute nobody knows. */
static char *ep_request(const char *issuer, const char *id, int dob_required, const char *acs)
{
    eh_saml_requested_attr attrs[] = {{EP_NP "PersonIdentifier", 1},
                                      {EP_NP "CurrentFamilyName", 1},
                                      {EP_NP "CurrentGivenName", 1},
                                      {EP_NP "DateOfBirth", dob_required},
                                      {"http://example.org/attributes/ShoeSize", 1}};
    eh_saml_authn_request r = {0};
    eh_saml_keys *signer = eh_test_saml_keys("attacker.pem");
    char why[200] = "", *xml = NULL, *b64;
    size_t len = 0;

    r.id = (char *)id;
    r.issuer = (char *)issuer;
    r.destination = (char *)EP_SSO;
    r.acs_url = (char *)acs;
    r.sp_type = (char *)"public";
    r.attrs = attrs;
    r.n_attrs = 5;
    r.name_id_format = (char *)EH_SAML_NAMEID_PERSISTENT;
    r.loa = EH_LOA_SUBSTANTIAL;
    r.comparison = EH_LOA_MINIMUM;
    r.force_authn = 1;
    r.issue_instant = (int64_t)time(NULL);
    ck_assert_msg(eh_saml_authn_request_build(&r, signer, EH_SAML_SIG_ECDSA_SHA256, &xml, &len, why,
                                              sizeof(why)) == EH_OK,
                  "%s", why);
    b64 = malloc(len * 2 + 8);
    EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)xml, (int)len);
    free(xml);
    eh_saml_keys_free(signer);
    return b64;
}

/* send_req hands the broker a request (one optional header: name, value; body
 * may be NULL) and expects it handled. */
static void send_req(eh_broker *b, eh_http_method method, const char *path, const char *query,
                     const char *hname, const char *hvalue, const char *body,
                     eh_http_response *resp)
{
    eh_http_request req = get(path);
    eh_http_header h = {hname, hvalue};

    req.method = method;
    req.query = query ? query : "";
    if (hname != NULL) {
        req.headers = &h;
        req.n_headers = 1;
    }
    req.body = (const unsigned char *)body;
    req.body_len = body ? strlen(body) : 0;
    eh_http_response_init(resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, resp), EH_OK);
}

/* post_saml posts the form field=saml&RelayState=relay (either may be
 * NULL) to path, without cookie (a cross-site POST). */
static void post_saml(eh_broker *b, const char *path, const char *field, const char *saml,
                      const char *relay, eh_http_response *resp)
{
    char *body = NULL;
    eh_buf form;

    eh_buf_init(&form);
    if (saml != NULL) {
        eh_buf_append(&form, field);
        eh_buf_append(&form, "=");
        eh_buf_append_urlenc(&form, saml);
    }
    if (relay != NULL) {
        eh_buf_append(&form, "&RelayState=");
        eh_buf_append_urlenc(&form, relay);
    }
    ck_assert_int_eq(eh_buf_finish(&form, &body, NULL), EH_OK);
    send_req(b, EH_HTTP_POST, path, NULL, NULL, NULL, body, resp);
    free(body);
}

/* ep_post posts SAMLRequest=saml&RelayState=relay to /saml/proxy/sso. */
static void ep_post(eh_broker *b, const char *saml, const char *relay, eh_http_response *resp)
{
    post_saml(b, "/saml/proxy/sso", "SAMLRequest", saml, relay, resp);
}

/* txn_cookie copies the transaction id of the cookie resp sets into id. */
static void txn_cookie(const eh_http_response *resp, char *id, size_t idlen)
{
    const char *cookie = eh_http_response_header_get(resp, "Set-Cookie");
    ck_assert_ptr_nonnull(cookie);
    ck_assert_int_eq(strncmp(cookie, EH_TXN_COOKIE "=", strlen(EH_TXN_COOKIE) + 1), 0);
    snprintf(id, idlen, "%.*s", (int)strcspn(cookie + strlen(EH_TXN_COOKIE) + 1, ";"),
             cookie + strlen(EH_TXN_COOKIE) + 1);
}

/* ep_txn loads the transaction whose cookie resp sets. */
static eh_txn *ep_txn(eh_broker *b, const eh_http_response *resp)
{
    char id[128];
    eh_txn *txn = NULL;
    txn_cookie(resp, id, sizeof(id));
    ck_assert_int_eq(eh_txn_load(eh_broker_store_get(b), id, &txn), EH_OK);
    return txn;
}

static eh_identity *ep_identity(void)
{
    eh_identity *id = NULL;
    ck_assert_int_eq(eh_identity_new(&id), EH_OK);
    id->country = strdup("EE");
    id->id_type = strdup("PNO");
    id->id_value = strdup("38001085718");
    id->method = strdup("mobile_id");
    id->loa = EH_LOA_HIGH;
    id->auth_time = (int64_t)time(NULL);
    json_object_set_new(id->attributes, "given_name", json_string("Mari"));
    json_object_set_new(id->attributes, "family_name", json_string("Maasikas"));
    json_object_set_new(id->attributes, "date_of_birth", json_string("1980-01-08"));
    json_object_set_new(id->attributes, "person_identifier", json_string("EE38001085718"));
    return id;
}

/* ep_consume reads the Response the page in resp posts to LV_ACS, as the
 * Connector would, and checks RelayState. */
static eh_saml_response_result *ep_consume(const eh_http_response *resp, const eh_txn *txn,
                                           const char *relay)
{
    const char *at = strstr(resp->body, "name=\"SAMLResponse\" value=\"");
    eh_saml_keys *trusted = eh_test_saml_keys("ec256.crt"), *ours = eh_test_saml_keys("rsa3072.pem");
    eh_saml_response_expect x = {0};
    eh_saml_response_result *r = NULL;
    char why[200] = "", *b64;
    unsigned char *xml;
    int n;

    ck_assert_int_eq(resp->status, 200);
    ck_assert_ptr_nonnull(strstr(resp->body, "action=\"" LV_ACS "\" data-autosubmit"));
    if (relay != NULL) {
        char want[256];
        snprintf(want, sizeof(want), "name=\"RelayState\" value=\"%s\"", relay);
        ck_assert_ptr_nonnull(strstr(resp->body, want));
    }
    ck_assert_ptr_nonnull(at);
    at += strlen("name=\"SAMLResponse\" value=\"");
    b64 = strndup(at, strcspn(at, "\""));
    xml = malloc(strlen(b64));
    n = EVP_DecodeBlock(xml, (unsigned char *)b64, (int)strlen(b64));
    ck_assert_int_gt(n, 0);
    while (n > 0 && xml[n - 1] == '\0')
        n--;
    x.issuer = "http://127.0.0.1:8080/saml/proxy/metadata";
    x.trusted = trusted;
    x.ours = ours;
    x.destination = LV_ACS;
    x.audience = json_string_value(json_object_get(txn->frontend, "issuer"));
    x.in_response_to = json_string_value(json_object_get(txn->frontend, "request_id"));
    x.min_loa = EH_LOA_SUBSTANTIAL;
    x.comparison = EH_LOA_MINIMUM;
    x.now = (int64_t)time(NULL);
    x.skew_s = 60;
    ck_assert_msg(eh_saml_response_consume((char *)xml, (size_t)n, &x, &r, why, sizeof(why)) ==
                      EH_OK,
                  "%s", why);
    free(b64);
    free(xml);
    eh_saml_keys_free(trusted);
    eh_saml_keys_free(ours);
    return r;
}

static const char *ep_attr(const eh_saml_response_result *r, const char *name)
{
    return json_string_value(json_array_get(json_object_get(r->attributes, name), 0));
}

START_TEST(eidas_proxy_config_errors)
{
    static const struct {
        const char *proxy, *want;
    } cases[] = {
        {"[]", "$.eidas_proxy: must be an object"},
        {"{}", "$.eidas_proxy.connectors: is required"},
        {"{\"connectors\": []}", "$.eidas_proxy.connectors: must be a non-empty array"},
        {"{\"connectors\": [{\"id\": \"lv\"}], \"colour\": 1}", "$.eidas_proxy.colour: "},
        {"{\"connectors\": [], \"name_id_format\": \"email\"}",
         "$.eidas_proxy.name_id_format: must be \"persistent\" or \"transient\""},
        {"{\"connectors\": [{\"id\": \"LV\", \"metadata\": \"a.xml\", \"trust_anchor_file\": "
         "\"a.crt\", \"policy\": \"full\"}]}",
         "$.eidas_proxy.connectors[0].id: must be 1 to 32 of a-z, 0-9 and '-'"},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"http://connector.lv/md\", "
         "\"trust_anchor_file\": \"a.crt\", \"policy\": \"full\"}]}",
         "$.eidas_proxy.connectors[0].metadata: must be an absolute http(s) URL"},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"a.xml\", \"policy\": \"full\"}]}",
         "$.eidas_proxy.connectors[0].trust_anchor_file: is required"},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"a.xml\", \"trust_anchor_file\": "
         "\"a.crt\", \"policy\": \"everything\"}]}",
         "$.eidas_proxy.connectors[0].policy: unknown policy \"everything\""},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"a.xml\", \"trust_anchor_file\": "
         "\"a.crt\", \"policy\": \"full\", \"display_name\": {\"en\": 1}}]}",
         "$.eidas_proxy.connectors[0].display_name.en: must be a non-empty string"},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"a.xml\", \"trust_anchor_file\": \"" FX
         "attacker.crt\", \"policy\": \"full\"}, {\"id\": \"lv\", \"metadata\": \"b.xml\", "
         "\"trust_anchor_file\": \"" FX "attacker.crt\", \"policy\": \"full\"}]}",
         "$.eidas_proxy.connectors[1].id: \"lv\" is used twice"},
        {"{\"connectors\": [{\"id\": \"lv\", \"metadata\": \"a.xml\", \"trust_anchor_file\": "
         "\"missing.crt\", \"policy\": \"full\"}]}",
         "$.eidas_proxy.connectors[0].trust_anchor_file: cannot read the anchor file"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "", *path = ep_config(cases[i].proxy);
        eh_broker *b = NULL;
        ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_ERR_CONFIG, "%zu", i);
        ck_assert_ptr_null(b);
        ck_assert_msg(strstr(err, "broker.json: ") != NULL && strstr(err, cases[i].want) != NULL,
                      "%zu: %s", i, err);
        ck_assert_ptr_null(strchr(err, '\n'));
        free(path);
    }
}
END_TEST

START_TEST(eidas_proxy_metadata)
{
    eh_broker *b = ep_broker();
    eh_http_request req = get("/saml/proxy/metadata");
    eh_http_response resp, again;
    eh_saml_keys *anchor = eh_test_saml_keys("ec256.crt");
    eh_saml_metadata *m = NULL;
    char why[200] = "";

    eh_http_response_init(&resp);
    eh_http_response_init(&again);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 200);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Content-Type"),
                     "application/samlmetadata+xml");
    ck_assert_msg(eh_saml_metadata_parse(resp.body, resp.body_len, anchor, EH_SAML_ROLE_PROXY,
                                         "http://127.0.0.1:8080/saml/proxy/metadata",
                                         (int64_t)time(NULL), &m, why, sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_str_eq(m->endpoint, EP_SSO);
    ck_assert_str_eq(m->node_country, "EE");
    /* signed once, then served from memory */
    ck_assert_int_eq(eh_broker_handle(b, &req, &again), EH_OK);
    ck_assert_uint_eq(again.body_len, resp.body_len);
    ck_assert_int_eq(memcmp(again.body, resp.body, resp.body_len), 0);
    eh_saml_metadata_free(m);
    eh_saml_keys_free(anchor);
    eh_http_response_free(&resp);
    eh_http_response_free(&again);
    eh_broker_free(b);
}
END_TEST

START_TEST(eidas_proxy_login_and_answer)
{
    eh_broker *b = ep_broker();
    char *saml = ep_request(LV_ENTITY, "_req1", 1, LV_ACS);
    eh_http_response resp, replay, answer;
    eh_identity *id = ep_identity();
    eh_policy *policy = NULL;
    eh_saml_response_result *r;
    eh_txn *txn;

    ep_post(b, saml, "relay-1", &resp);
    ck_assert_int_eq(resp.status, 303);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Location"), "/login");
    txn = ep_txn(b, &resp);
    ck_assert_str_eq(txn->authn->requester, "lv");
    ck_assert_str_eq(txn->authn->protocol, "eidas");
    ck_assert_int_eq(txn->authn->min_loa, EH_LOA_SUBSTANTIAL);
    ck_assert(txn->authn->force_authn);
    /* the registry's names of what it knows; the shoe size is ignored */
    ck_assert_uint_eq(json_array_size(txn->authn->requested), 4);
    ck_assert_str_eq(json_string_value(json_object_get(txn->frontend, "acs")), LV_ACS);
    /* the Connector's name is looked up, not stored in the transaction */
    ck_assert_ptr_null(json_object_get(txn->frontend, "display_name"));
    ck_assert_str_eq(eh_flow_requester_name(b, txn), "Latvia");
    ck_assert_uint_eq(json_array_size(json_object_get(txn->frontend, "required")), 4);

    /* the same request again is a replay */
    ep_post(b, saml, NULL, &replay);
    ck_assert_int_eq(replay.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&replay, "Set-Cookie"));

    /* the citizen logged in: the Connector gets the released attributes */
    ck_assert_int_eq(eh_flow_policy(b, txn, &policy), EH_OK);
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_complete(b, txn, policy, id, &answer), EH_OK);
    r = ep_consume(&answer, txn, "relay-1");
    ck_assert_str_eq(r->status, EH_SAML_STATUS_SUCCESS);
    ck_assert_str_eq(ep_attr(r, EP_NP "PersonIdentifier"), "EE/LV/38001085718");
    ck_assert_str_eq(ep_attr(r, EP_NP "CurrentGivenName"), "Mari");
    ck_assert_str_eq(ep_attr(r, EP_NP "DateOfBirth"), "1980-01-08");
    ck_assert_str_eq(r->name_id, "EE/LV/38001085718");
    ck_assert_str_eq(r->name_id_format, EH_SAML_NAMEID_PERSISTENT);
    ck_assert_int_eq(r->loa, EH_LOA_HIGH);
    ck_assert_uint_eq(json_object_size(r->attributes), 4);
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);

    /* a failure is a signed status response to the same ACS */
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_fail(b, txn, "access_denied", "the citizen cancelled the login",
                                         &answer),
                     EH_OK);
    r = ep_consume(&answer, txn, "relay-1");
    ck_assert_str_eq(r->status, EH_SAML_STATUS_RESPONDER);
    ck_assert_str_eq(r->sub_status, EH_SAML_STATUS_REQUEST_DENIED);
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_fail(b, txn, "access_denied",
                                         "the authentication does not meet the policy", &answer),
                     EH_OK);
    r = ep_consume(&answer, txn, NULL);
    ck_assert_str_eq(r->sub_status, EH_SAML_STATUS_NO_AUTHN_CONTEXT);
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_fail(b, txn, "server_error", "x", &answer), EH_OK);
    r = ep_consume(&answer, txn, NULL);
    ck_assert_str_eq(r->sub_status, EH_SAML_STATUS_AUTHN_FAILED);
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);

    eh_policy_free(policy);
    eh_identity_free(id);
    eh_txn_free(txn);
    free(saml);
    eh_http_response_free(&resp);
    eh_http_response_free(&replay);
    eh_broker_free(b);
}
END_TEST

START_TEST(eidas_proxy_required_and_pairwise)
{
    eh_broker *b = ep_broker();
    char *saml = ep_request("https://connector.fi/md", "_req2", 1, NULL);
    eh_http_response resp, answer;
    eh_identity *id = ep_identity();
    eh_identity *released = NULL;
    eh_policy *policy = NULL;
    eh_saml_response_result *r;
    eh_txn *txn;
    const char *pid;

    ep_post(b, saml, NULL, &resp);
    ck_assert_int_eq(resp.status, 303);
    txn = ep_txn(b, &resp);
    ck_assert_str_eq(txn->authn->requester, "fi");
    ck_assert_int_eq(eh_flow_policy(b, txn, &policy), EH_OK);
    ck_assert_int_eq(eh_policy_evaluate(policy, txn->authn, id, (int64_t)time(NULL), &released),
                     EH_OK);
    /* "basic" releases no date of birth, which the Connector requires */
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_complete(b, txn, policy, released, &answer), EH_OK);
    r = ep_consume(&answer, txn, NULL);
    ck_assert_str_eq(r->status, EH_SAML_STATUS_RESPONDER);
    ck_assert_str_eq(r->sub_status, EH_SAML_STATUS_REQUEST_DENIED);
    ck_assert_str_eq(r->status_message, "a required attribute cannot be released");
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);

    /* not required: the answer has a pairwise PersonIdentifier, no birth date */
    json_array_clear(json_object_get(txn->frontend, "required"));
    eh_http_response_init(&answer);
    ck_assert_int_eq(eh_eidas_proxy_complete(b, txn, policy, released, &answer), EH_OK);
    r = ep_consume(&answer, txn, NULL);
    ck_assert_str_eq(r->status, EH_SAML_STATUS_SUCCESS);
    pid = ep_attr(r, EP_NP "PersonIdentifier");
    ck_assert_ptr_nonnull(pid);
    ck_assert_int_eq(strncmp(pid, "EE/FI/", 6), 0);
    ck_assert_ptr_null(strstr(pid, "38001085718"));
    ck_assert_ptr_null(json_object_get(r->attributes, EP_NP "DateOfBirth"));
    ck_assert_str_eq(ep_attr(r, EP_NP "CurrentFamilyName"), "Maasikas");
    eh_saml_response_result_free(r);
    eh_http_response_free(&answer);

    eh_identity_free(released);
    eh_policy_free(policy);
    eh_identity_free(id);
    eh_txn_free(txn);
    free(saml);
    eh_http_response_free(&resp);
    eh_broker_free(b);
}
END_TEST

/* The HTTP-Redirect binding: the same request, DEFLATE-compressed in the
 * query (with zlib), or a page saying only HTTP-POST is taken (without). */
START_TEST(eidas_proxy_redirect_binding)
{
    eh_broker *b = ep_broker();
    char *saml = ep_request(LV_ENTITY, "_req6", 1, NULL), *query = NULL;
    eh_http_request req = get("/saml/proxy/sso");
    eh_http_response resp;
    eh_buf q;
#ifdef EH_HAVE_ZLIB
    unsigned char *xml = malloc(strlen(saml)), *packed = malloc(strlen(saml) + 64);
    char *b64 = malloc(strlen(saml) * 2 + 8);
    int n = EVP_DecodeBlock(xml, (unsigned char *)saml, (int)strlen(saml));
    z_stream z;

    while (n > 0 && xml[n - 1] == '\0')
        n--;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = xml;
    z.avail_in = (uInt)n;
    z.next_out = packed;
    z.avail_out = (uInt)strlen(saml) + 64;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    EVP_EncodeBlock((unsigned char *)b64, packed, (int)z.total_out);
    deflateEnd(&z);
    free(saml);
    free(xml);
    free(packed);
    saml = b64;
#endif
    eh_buf_init(&q);
    eh_buf_append(&q, "SAMLRequest=");
    eh_buf_append_urlenc(&q, saml);
    eh_buf_append(&q, "&RelayState=r");
    ck_assert_int_eq(eh_buf_finish(&q, &query, NULL), EH_OK);
    req.query = query;
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
#ifdef EH_HAVE_ZLIB
    ck_assert_int_eq(resp.status, 303);
    ck_assert_str_eq(eh_http_response_header_get(&resp, "Location"), "/login");
    eh_http_response_free(&resp);
    free(query);
    {
        /* a small bomb: 1 MiB of "<" in about a kilobyte stops at the cap */
        size_t big = 1 << 20;
        unsigned char *plain = malloc(big), *bomb = malloc(big);
        char *bomb64 = malloc(big);
        memset(plain, '<', big);
        memset(&z, 0, sizeof(z));
        ck_assert_int_eq(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = plain;
        z.avail_in = (uInt)big;
        z.next_out = bomb;
        z.avail_out = (uInt)big;
        ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
        ck_assert_uint_lt(z.total_out, 4096);
        EVP_EncodeBlock((unsigned char *)bomb64, bomb, (int)z.total_out);
        deflateEnd(&z);
        eh_buf_init(&q);
        eh_buf_append(&q, "SAMLRequest=");
        eh_buf_append_urlenc(&q, bomb64);
        ck_assert_int_eq(eh_buf_finish(&q, &query, NULL), EH_OK);
        req.query = query;
        ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
        ck_assert_int_eq(resp.status, 413);
        free(plain);
        free(bomb);
        free(bomb64);
    }
#else
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_nonnull(strstr(resp.body, "HTTP-POST"));
#endif
    eh_http_response_free(&resp);
    free(query);
    free(saml);
    eh_broker_free(b);
}
END_TEST

START_TEST(eidas_proxy_refusals)
{
    eh_broker *b = ep_broker();
    char *other_acs = ep_request(LV_ENTITY, "_req3", 1, "https://evil.example/acs");
    char *unknown = ep_request("https://connector.xx/md", "_req4", 1, NULL);
    char *good = ep_request(LV_ENTITY, "_req5", 1, NULL);
    char big[200 * 1024];
    const char *doctype = "PD94bWwgdmVyc2lvbj0iMS4wIj8+PCFET0NUWVBFIGEgWzwhRU5USVRZIHggInkiPl0+"
                          "PGE+Jng7PC9hPg=="; /* <?xml..?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a> */
    const struct {
        const char *saml, *relay;
        int status;
    } cases[] = {
        {NULL, NULL, 400},
        {"not base64 <script>", NULL, 400},
        {"PGE+PC9hPg==", "<script>alert(1)</script>", 400}, /* <a></a>: not a request */
        {doctype, NULL, 400},
        {other_acs, NULL, 400},
        {unknown, NULL, 400},
        {good, "0123456789012345678901234567890123456789012345678901234567890123456789"
               "0123456789X", 400}, /* RelayState of 81 bytes */
        {big, NULL, 413},
    };
    eh_http_response resp;
    eh_http_request req = get("/saml/proxy/sso");

    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ep_post(b, cases[i].saml, cases[i].relay, &resp);
        ck_assert_msg(resp.status == cases[i].status, "%zu: %d", i, resp.status);
        ck_assert_ptr_null(eh_http_response_header_get(&resp, "Set-Cookie"));
        ck_assert_ptr_nonnull(strstr(resp.body, "<!DOCTYPE html>"));
        ck_assert_ptr_null(strstr(resp.body, "<script>"));
        ck_assert_ptr_null(strstr(resp.body, "SAMLResponse"));
        eh_http_response_free(&resp);
    }
    /* GET: without SAMLRequest, and the Redirect binding */
    eh_http_response_init(&resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 400);
    eh_http_response_free(&resp);
    req.query = "SAMLRequest=fZBBT8MwDIX%2FSuR7m7Z&RelayState=x";
    ck_assert_int_eq(eh_broker_handle(b, &req, &resp), EH_OK);
    ck_assert_int_eq(resp.status, 400);
#ifndef EH_HAVE_ZLIB
    ck_assert_ptr_nonnull(strstr(resp.body, "HTTP-POST"));
#endif
    eh_http_response_free(&resp);
    /* the valid request was refused for its RelayState only: it was not
     * counted as used */
    ep_post(b, good, "ok", &resp);
    ck_assert_int_eq(resp.status, 303);
    eh_http_response_free(&resp);
    free(other_acs);
    free(unknown);
    free(good);
    eh_broker_free(b);
}
END_TEST

/* ---- the eIDAS Connector backend (broker/backends/eidas_connector.c) ----
 * Our node (EE) as above; the Latvian Proxy-Service (https://proxy.lv/md,
 * metadata in a file) signs its metadata and responses with the attacker
 * key (its own, here) and encrypts for our rsa3072. The portal "portal"
 * logs citizens in by OIDC and registered SPType private. */
#define EC_PEER "https://proxy.lv/md"
#define EC_PEER_SSO "https://proxy.lv/sso"
#define EC_ACS "http://127.0.0.1:8080/auth/eidas/acs"
#define EC_ENTITY "http://127.0.0.1:8080/saml/connector/metadata"
#define EC_CB "https://portal.example/cb"
#define EC_SECRET "portal-secret-for-tests"
#define EC_RPS                                                                                    \
    "[{\"client_id\": \"portal\", \"client_secret_sha256\": "                                     \
    "\"d4a633a075a173bb5015cd827f36b8b92f77bf3e46f27a7888d0b30dc460075a\", "                      \
    "\"redirect_uris\": [\"" EC_CB "\"], \"display_name\": \"Portal\", \"policy\": \"full\", "    \
    "\"subject_type\": \"public\", \"sp_type\": \"private\"}]"
#define EC_BACKENDS                                                                               \
    "{\"eidas_connector\": {\"countries\": [{\"country\": \"LV\", "                               \
    "\"metadata\": \"lv-proxy.xml\", \"entity_id\": \"" EC_PEER "\", "                            \
    "\"trust_anchor_file\": \"" FX "attacker.crt\", \"display_name\": \"Latvia\"}]}}"

/* What the broker logged during a test (the refusal reasons). */
static char ec_log[32768];
static size_t ec_log_len;

static void ec_sink(void *ctx, eh_log_level level, const char *msg)
{
    size_t n = strlen(msg);
    (void)ctx;
    (void)level;
    if (ec_log_len + n + 2 < sizeof(ec_log)) {
        memcpy(ec_log + ec_log_len, msg, n);
        ec_log_len += n;
        ec_log[ec_log_len++] = '\n';
        ec_log[ec_log_len] = '\0';
    }
}

static void ec_log_reset(void)
{
    ec_log_len = 0;
    ec_log[0] = '\0';
}

static void ec_setup(void)
{
    setup();
    ec_log_reset();
    eh_log_set_sink(ec_sink, NULL, EH_LOG_DEBUG);
}

static void ec_teardown(void)
{
    eh_log_set_sink(NULL, NULL, EH_LOG_INFO);
    teardown();
}

/* ec_broker loads a broker with the portal, the Connector backend (Latvia)
 * and a store. */
static eh_broker *ec_broker(void)
{
    char err[512], *path;
    eh_broker *b = NULL;
    eh_store *store = NULL;

    write_metadata("lv-proxy.xml", EH_SAML_ROLE_PROXY, EC_PEER, EC_PEER_SSO, "LV");
    path = node_config(EC_RPS, "backends", EC_BACKENDS);
    ck_assert_msg(eh_broker_load(path, &b, err, sizeof(err)) == EH_OK, "%s", err);
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
    eh_broker_set_store(b, store);
    free(path);
    return b;
}

/* ec_login starts the portal's login (acr_values acr, or none) and writes
 * the browser's Cookie header value ("eidhub_txn=...") into cookie. */
static void ec_login(eh_broker *b, const char *acr, char *cookie, size_t cookielen)
{
    char query[512], id[128];
    eh_http_response resp;

    snprintf(query, sizeof(query),
             "client_id=portal&redirect_uri=https%%3A%%2F%%2Fportal.example%%2Fcb&response_type="
             "code&scope=openid%%20profile&state=st-1&nonce=n-1%s%s",
             acr ? "&acr_values=" : "", acr ? acr : "");
    send_req(b, EH_HTTP_GET, "/authorize", query, NULL, NULL, NULL, &resp);
    ck_assert_int_eq(resp.status, 303);
    txn_cookie(&resp, id, sizeof(id));
    snprintf(cookie, cookielen, EH_TXN_COOKIE "=%s", id);
    eh_http_response_free(&resp);
}

/* ec_txn loads the transaction of the browser's cookie. */
static eh_txn *ec_txn(eh_broker *b, const char *cookie)
{
    eh_txn *txn = NULL;
    ck_assert_int_eq(eh_txn_load(eh_broker_store_get(b), cookie + strlen(EH_TXN_COOKIE) + 1, &txn),
                     EH_OK);
    return txn;
}

static eh_rc ec_keys_of(void *ctx, const char *issuer, const eh_saml_keys **keys, void **handle)
{
    *handle = NULL;
    if (strcmp(issuer, EC_ENTITY) != 0)
        return EH_ERR_NOT_FOUND;
    *keys = ctx;
    return EH_OK;
}

static void ec_release(void *ctx, void *handle)
{
    (void)ctx;
    (void)handle;
}

/* ec_start chooses Latvia (GET /auth/eidas?country=LV with the cookie) and
 * returns the AuthnRequest the page posts to the Latvian SSO service,
 * checked as the Proxy-Service would: signed with our key, for its SSO URL
 * (caller frees). */
static eh_saml_authn_request *ec_start(eh_broker *b, const char *cookie)
{
    static const char field[] = "name=\"SAMLRequest\" value=\"";
    eh_saml_keys *ours = eh_test_saml_keys("ec256.crt");
    eh_saml_trust trust = {ec_keys_of, ec_release, ours};
    eh_saml_request_expect x = {EC_PEER_SSO, (int64_t)time(NULL), 60, 300};
    eh_saml_authn_request *r = NULL;
    eh_http_response resp;
    char why[200] = "", *xml = NULL;
    const char *at;
    size_t len = 0;

    send_req(b, EH_HTTP_GET, "/auth/eidas", "country=LV", "Cookie", cookie, NULL, &resp);
    ck_assert_msg(resp.status == 200, "%d", resp.status);
    ck_assert_ptr_nonnull(strstr(resp.body, "action=\"" EC_PEER_SSO "\" data-autosubmit"));
    ck_assert_ptr_nonnull(strstr(resp.body, "name=\"RelayState\" value=\""));
    ck_assert_ptr_nonnull(at = strstr(resp.body, field));
    at += strlen(field);
    ck_assert_int_eq(eh_saml_b64_decode(at, strcspn(at, "\""), EH_SAML_MAX_INPUT, &xml, &len),
                     EH_OK);
    ck_assert_msg(eh_saml_authn_request_parse(xml, len, &trust, &x, &r, why, sizeof(why)) == EH_OK,
                  "%s", why);
    free(xml);
    eh_saml_keys_free(ours);
    eh_http_response_free(&resp);
    return r;
}

/* What the Latvian node answers. */
typedef struct ec_answer_spec {
    const char *in_response_to;
    const char *assertion_id; /* NULL: a fresh one */
    const char *status, *sub_status; /* NULL: success */
    eh_loa loa;
    const char *pid; /* PersonIdentifier, NULL: none */
} ec_answer_spec;

/* ec_response builds the node's signed (and, on success, encrypted)
 * Response for us and returns it base64-encoded (caller frees). */
static char *ec_response(const ec_answer_spec *a)
{
    eh_saml_keys *signer = eh_test_saml_keys("attacker.pem"), *ours = eh_test_saml_keys("rsa3072.crt");
    eh_saml_response_spec s = {0};
    json_t *attrs = json_pack("{s:s, s:s, s:s}", EP_NP "CurrentFamilyName", "Ozola",
                              EP_NP "CurrentGivenName", "Anna", EP_NP "DateOfBirth", "1990-02-03");
    char why[200] = "", *xml = NULL, *b64 = NULL, rid[EH_SAML_ID_LEN], aid[EH_SAML_ID_LEN];
    size_t len = 0;

    if (a->pid != NULL)
        json_object_set_new(attrs, EP_NP "PersonIdentifier", json_string(a->pid));
    ck_assert_int_eq(eh_saml_new_id(rid), EH_OK);
    ck_assert_int_eq(eh_saml_new_id(aid), EH_OK);
    s.id = rid;
    s.assertion_id = a->assertion_id ? a->assertion_id : aid;
    s.issuer = EC_PEER;
    s.destination = EC_ACS;
    s.in_response_to = a->in_response_to;
    s.audience = EC_ENTITY;
    s.now = (int64_t)time(NULL);
    s.valid_s = 300;
    s.status = a->status ? a->status : EH_SAML_STATUS_SUCCESS;
    s.sub_status = a->sub_status;
    s.name_id = a->pid ? a->pid : "LV/EE/nameid";
    s.name_id_format = EH_SAML_NAMEID_PERSISTENT;
    s.loa = a->loa;
    s.comparison = EH_LOA_MINIMUM;
    s.authn_instant = s.now;
    s.attributes = attrs;
    ck_assert_msg(eh_saml_response_build(&s, signer, EH_SAML_SIG_ECDSA_SHA256, ours,
                                         EH_SAML_ENC_AES256_GCM, &xml, &len, why,
                                         sizeof(why)) == EH_OK,
                  "%s", why);
    ck_assert_int_eq(eh_saml_b64_encode(xml, len, &b64), EH_OK);
    free(xml);
    json_decref(attrs);
    eh_saml_keys_free(signer);
    eh_saml_keys_free(ours);
    return b64;
}

/* ec_acs posts b64 to our ACS as the node's page does (cross-site: no
 * cookie) and writes the query of the return address it sends the browser
 * to ("r=...") into query. */
static void ec_acs(eh_broker *b, const char *b64, char *query, size_t querylen)
{
    static const char ret[] = "/auth/eidas/return?";
    eh_http_response resp;
    const char *loc;

    post_saml(b, "/auth/eidas/acs", "SAMLResponse", b64, "relay", &resp);
    ck_assert_msg(resp.status == 303, "%d", resp.status);
    ck_assert_ptr_nonnull(loc = eh_http_response_header_get(&resp, "Location"));
    ck_assert_int_eq(strncmp(loc, ret, strlen(ret)), 0);
    ck_assert_int_eq(strncmp(loc + strlen(ret), "r=", 2), 0);
    snprintf(query, querylen, "%s", loc + strlen(ret));
    eh_http_response_free(&resp);
}

/* ec_answer: the node's answer a reaches the ACS, and the browser (cookie)
 * comes back to /auth/eidas/return; resp is that last answer. */
static void ec_answer(eh_broker *b, const ec_answer_spec *a, const char *cookie,
                      eh_http_response *resp)
{
    char query[256], *b64 = ec_response(a);
    ec_acs(b, b64, query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, resp);
    free(b64);
}

/* ec_completed checks that resp sends the browser to the portal with a
 * code, redeems it and returns the userinfo claims (caller frees). */
static json_t *ec_completed(eh_broker *b, const eh_http_response *resp)
{
    const char *loc = eh_http_response_header_get(resp, "Location"), *code;
    char body[512], bearer[300];
    eh_http_response tok, info;
    json_t *j, *claims;

    ck_assert_msg(resp->status == 303, "%d: %s", resp->status, resp->body ? resp->body : "");
    ck_assert_ptr_nonnull(loc);
    ck_assert_int_eq(strncmp(loc, EC_CB "?code=", strlen(EC_CB "?code=")), 0);
    ck_assert_ptr_nonnull(strstr(loc, "state=st-1"));
    code = loc + strlen(EC_CB "?code=");
    snprintf(body, sizeof(body),
             "grant_type=authorization_code&code=%.*s&redirect_uri=https%%3A%%2F%%2Fportal.example"
             "%%2Fcb&client_id=portal&client_secret=" EC_SECRET,
             (int)strcspn(code, "&"), code);
    send_req(b, EH_HTTP_POST, "/token", NULL, "Content-Type", "application/x-www-form-urlencoded",
             body, &tok);
    ck_assert_msg(tok.status == 200, "%d: %.*s", tok.status, (int)tok.body_len, tok.body);
    ck_assert_ptr_nonnull(j = json_loadb(tok.body, tok.body_len, 0, NULL));
    snprintf(bearer, sizeof(bearer), "Bearer %s",
             json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    send_req(b, EH_HTTP_GET, "/userinfo", NULL, "Authorization", bearer, NULL, &info);
    ck_assert_msg(info.status == 200, "%d", info.status);
    ck_assert_ptr_nonnull(claims = json_loadb(info.body, info.body_len, 0, NULL));
    eh_http_response_free(&tok);
    eh_http_response_free(&info);
    return claims;
}

/* ec_refused checks an error page of the Connector (id="error") with the
 * message text and the way back to the country. */
static void ec_refused(const eh_http_response *resp, int status, const char *text)
{
    ck_assert_msg(resp->status == status, "%d", resp->status);
    ck_assert_ptr_null(eh_http_response_header_get(resp, "Location"));
    ck_assert_ptr_nonnull(strstr(resp->body, "id=\"error\""));
    ck_assert_msg(strstr(resp->body, text) != NULL, "%s", resp->body);
}

START_TEST(eidas_connector_login)
{
    eh_broker *b = ec_broker();
    char cookie[160], query[256], *b64;
    eh_saml_authn_request *r;
    eh_http_response resp;
    json_t *claims;
    eh_txn *txn;
    size_t required = 0;

    ec_login(b, "substantial", cookie, sizeof(cookie));
    r = ec_start(b, cookie);
    /* our signed request: our entity, ACS, the portal's SPType, the minimum
     * data set required, persistent NameID, the level asked as minimum */
    ck_assert_str_eq(r->issuer, EC_ENTITY);
    ck_assert_str_eq(r->acs_url, EC_ACS);
    ck_assert_str_eq(r->sp_type, EH_SAML_SPTYPE_PRIVATE);
    ck_assert_str_eq(r->name_id_format, EH_SAML_NAMEID_PERSISTENT);
    ck_assert_int_eq(r->loa, EH_LOA_SUBSTANTIAL);
    ck_assert_int_eq(r->comparison, EH_LOA_MINIMUM);
    ck_assert(r->force_authn);
    for (size_t i = 0; i < r->n_attrs; i++) {
        const char *n = r->attrs[i].name;
        if (strcmp(n, EP_NP "PersonIdentifier") == 0 || strcmp(n, EP_NP "CurrentFamilyName") == 0 ||
            strcmp(n, EP_NP "CurrentGivenName") == 0 || strcmp(n, EP_NP "DateOfBirth") == 0) {
            ck_assert_msg(r->attrs[i].is_required, "%s", n);
            required++;
        } else {
            ck_assert_msg(!r->attrs[i].is_required, "%s", n);
        }
    }
    ck_assert_uint_eq(required, 4);
    ck_assert_uint_gt(r->n_attrs, 4); /* "full" releases more: asked, not required */
    /* the transaction remembers what it asked */
    txn = ec_txn(b, cookie);
    ck_assert_str_eq(json_string_value(json_object_get(txn->backend, "request_id")), r->id);
    ck_assert_str_eq(json_string_value(json_object_get(txn->backend, "country")), "LV");
    ck_assert_str_eq(json_string_value(json_object_get(txn->backend, "loa")), "substantial");
    eh_txn_free(txn);

    /* the node answers: the ACS keeps it, the return with the cookie logs in */
    b64 = ec_response(&(ec_answer_spec){.in_response_to = r->id, .loa = EH_LOA_HIGH,
                                        .pid = "LV/EE/12345-67890"});
    ec_acs(b, b64, query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, &resp);
    claims = ec_completed(b, &resp);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "LV12345-67890");
    ck_assert_str_eq(json_string_value(json_object_get(claims, "given_name")), "Anna");
    ck_assert_str_eq(json_string_value(json_object_get(claims, "family_name")), "Ozola");
    ck_assert_str_eq(json_string_value(json_object_get(claims, "birthdate")), "1990-02-03");
    ck_assert_ptr_nonnull(strstr(ec_log, "citizen of LV authenticated (level high)"));
    json_decref(claims);
    eh_http_response_free(&resp);
    /* the transaction is spent, and the return address works once */
    ck_assert_int_eq(eh_txn_load(eh_broker_store_get(b), cookie + strlen(EH_TXN_COOKIE) + 1, &txn),
                     EH_ERR_NOT_FOUND);
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Location"));
    eh_http_response_free(&resp);
    free(b64);
    eh_saml_authn_request_free(r);
    eh_broker_free(b);
}
END_TEST

/* The same assertion for two transactions that sent the same request (the
 * second one's backend object copied from the first before the answer):
 * the assertion id recorded in the store refuses the second. */
START_TEST(eidas_connector_replay)
{
    eh_broker *b = ec_broker();
    eh_store *store = eh_broker_store_get(b);
    char first[160], second[160], query[256], key[EH_STORE_KEY_MAX], *digest = NULL, *v = NULL;
    const char *aid = "_assertion-replayed-1";
    eh_saml_authn_request *r;
    eh_http_response resp;
    eh_txn *t1, *t2;
    size_t len = 0;
    json_t *claims, *sent;
    char *b64;

    ec_login(b, NULL, first, sizeof(first));
    ec_login(b, NULL, second, sizeof(second));
    r = ec_start(b, first);
    t1 = ec_txn(b, first);
    t2 = ec_txn(b, second);
    ck_assert_ptr_nonnull(sent = json_deep_copy(t1->backend));
    ck_assert_int_eq(json_object_update(t2->backend, sent), 0);
    ck_assert_int_eq(eh_txn_save(store, t2), EH_OK);
    eh_txn_free(t2);
    b64 = ec_response(&(ec_answer_spec){
        .in_response_to = r->id, .assertion_id = aid, .loa = EH_LOA_HIGH, .pid = "LV/EE/4711"});

    /* the first use logs in and records the assertion (issuer + id) */
    ec_acs(b, b64, query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", first, NULL, &resp);
    json_decref(ec_completed(b, &resp));
    eh_http_response_free(&resp);
    ck_assert_int_eq(eh_token_digest(EC_PEER " _assertion-replayed-1", &digest), EH_OK);
    snprintf(key, sizeof(key), "replay:saml:%s", digest);
    ck_assert_int_eq(eh_store_get(store, key, &v, &len), EH_OK);
    free(v);

    /* the second transaction: everything matches but the assertion is spent */
    ec_log_reset();
    ec_acs(b, b64, query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", second, NULL, &resp);
    ec_refused(&resp, 400, "could not be accepted");
    ck_assert_msg(strstr(ec_log, "an assertion of LV used twice") != NULL, "%s", ec_log);
    eh_http_response_free(&resp);
    /* its transaction is kept, without the request it sent */
    t2 = ec_txn(b, second);
    ck_assert_uint_eq(json_object_size(t2->backend), 0);

    /* it was the record alone that refused it: without it, the same answer
     * to the same (restored) transaction logs in */
    ck_assert_int_eq(eh_store_del(store, key), EH_OK);
    ck_assert_int_eq(json_object_update(t2->backend, sent), 0);
    ck_assert_int_eq(eh_txn_save(store, t2), EH_OK);
    ec_acs(b, b64, query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", second, NULL, &resp);
    claims = ec_completed(b, &resp);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "LV4711");
    json_decref(claims);
    eh_http_response_free(&resp);

    json_decref(sent);
    eh_txn_free(t1);
    eh_txn_free(t2);
    free(digest);
    free(b64);
    eh_saml_authn_request_free(r);
    eh_broker_free(b);
}
END_TEST

/* A valid-looking answer for a transaction that sent no request. */
START_TEST(eidas_connector_unsolicited)
{
    eh_broker *b = ec_broker();
    char cookie[160];
    eh_http_response resp;
    eh_txn *txn;

    ec_login(b, NULL, cookie, sizeof(cookie));
    ec_answer(b,
              &(ec_answer_spec){.in_response_to = "_never-sent", .loa = EH_LOA_HIGH,
                                .pid = "LV/EE/4711"},
              cookie, &resp);
    ec_refused(&resp, 400, "This answer does not belong to a login of this browser.");
    ck_assert_ptr_nonnull(strstr(ec_log, "a transaction that sent no request"));
    /* no country known: no "try again", but another way and cancel */
    ck_assert_ptr_null(strstr(resp.body, "id=\"try-again\""));
    ck_assert_ptr_nonnull(strstr(resp.body, "id=\"choose-another\""));
    eh_http_response_free(&resp);
    txn = ec_txn(b, cookie); /* still there */
    ck_assert_uint_eq(json_object_size(txn->backend), 0);
    eh_txn_free(txn);
    eh_broker_free(b);
}
END_TEST

/* Non-success statuses: a page, the transaction kept, another try works. */
START_TEST(eidas_connector_status)
{
    static const struct {
        const char *status, *sub, *text;
    } cases[] = {
        {EH_SAML_STATUS_RESPONDER, EH_SAML_STATUS_REQUEST_DENIED,
         "The login was cancelled at your country&#39;s eIDAS node."},
        {EH_SAML_STATUS_RESPONDER, EH_SAML_STATUS_NO_AUTHN_CONTEXT,
         "does not give the level of assurance this service needs"},
        {EH_SAML_STATUS_RESPONDER, EH_SAML_STATUS_AUTHN_FAILED, "could not authenticate you"},
        {EH_SAML_STATUS_REQUESTER, NULL, "could not authenticate you"},
    };
    eh_broker *b = ec_broker();
    char cookie[160];
    eh_saml_authn_request *r;
    eh_http_response resp;
    eh_txn *txn;

    ec_login(b, NULL, cookie, sizeof(cookie));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = ec_start(b, cookie); /* the first time, and "try again" after each */
        ec_answer(b,
                  &(ec_answer_spec){.in_response_to = r->id, .status = cases[i].status,
                                    .sub_status = cases[i].sub},
                  cookie, &resp);
        ec_refused(&resp, 200, cases[i].text);
        ck_assert_ptr_nonnull(strstr(resp.body, "href=\"/auth/eidas?country=LV\""));
        ck_assert_ptr_nonnull(strstr(resp.body, "action=\"/cancel\""));
        eh_http_response_free(&resp);
        txn = ec_txn(b, cookie);
        ck_assert_uint_eq(json_object_size(txn->backend), 0);
        eh_txn_free(txn);
        eh_saml_authn_request_free(r);
    }
    /* after all that, a good answer to a new request logs in */
    r = ec_start(b, cookie);
    ec_answer(b,
              &(ec_answer_spec){.in_response_to = r->id, .loa = EH_LOA_LOW, .pid = "LV/EE/1"},
              cookie, &resp);
    json_decref(ec_completed(b, &resp));
    eh_http_response_free(&resp);
    eh_saml_authn_request_free(r);
    eh_broker_free(b);
}
END_TEST

/* A level below the one asked; PersonIdentifiers that are not
 * "<the country asked>/<ours>/value". Each refusal keeps the transaction,
 * and a good answer at the end still logs in. */
START_TEST(eidas_connector_refusals)
{
    static const struct {
        eh_loa loa;
        const char *pid, *text, *logged;
    } cases[] = {
        {EH_LOA_SUBSTANTIAL, "LV/EE/4711", "does not give the level of assurance",
         "level of assurance below the requested one"},
        {EH_LOA_LOW, "LV/EE/4711", "does not give the level of assurance",
         "level of assurance below the requested one"},
        {EH_LOA_HIGH, "FI/EE/4711", "could not be accepted", "no usable PersonIdentifier"},
        {EH_LOA_HIGH, "LV/FI/4711", "could not be accepted", "no usable PersonIdentifier"},
        {EH_LOA_HIGH, "LV/EE/", "could not be accepted", "no usable PersonIdentifier"},
        {EH_LOA_HIGH, "LV/EE/47 11", "could not be accepted", "no usable PersonIdentifier"},
        {EH_LOA_HIGH, "LVEE4711", "could not be accepted", "no usable PersonIdentifier"},
        {EH_LOA_HIGH, NULL, "could not be accepted", "no usable PersonIdentifier"},
    };
    eh_broker *b = ec_broker();
    char cookie[160];
    eh_saml_authn_request *r;
    eh_http_response resp;
    json_t *claims;
    eh_txn *txn;

    ec_login(b, "high", cookie, sizeof(cookie));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = ec_start(b, cookie);
        ck_assert_int_eq(r->loa, EH_LOA_HIGH);
        ec_log_reset();
        ec_answer(b,
                  &(ec_answer_spec){.in_response_to = r->id, .loa = cases[i].loa,
                                    .pid = cases[i].pid},
                  cookie, &resp);
        ck_assert_msg(resp.status == 400, "%zu: %d", i, resp.status);
        ec_refused(&resp, 400, cases[i].text);
        ck_assert_msg(strstr(ec_log, cases[i].logged) != NULL, "%zu: %s", i, ec_log);
        ck_assert_ptr_nonnull(strstr(resp.body, "id=\"try-again\""));
        eh_http_response_free(&resp);
        txn = ec_txn(b, cookie);
        ck_assert_uint_eq(json_object_size(txn->backend), 0);
        eh_txn_free(txn);
        eh_saml_authn_request_free(r);
    }
    r = ec_start(b, cookie);
    ec_answer(b,
              &(ec_answer_spec){.in_response_to = r->id, .loa = EH_LOA_HIGH, .pid = "LV/EE/4711"},
              cookie, &resp);
    claims = ec_completed(b, &resp);
    ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")), "LV4711");
    json_decref(claims);
    eh_http_response_free(&resp);
    eh_saml_authn_request_free(r);
    eh_broker_free(b);
}
END_TEST

/* The ACS and the return address with what is not an answer. */
START_TEST(eidas_connector_acs_and_return)
{
    eh_broker *b = ec_broker();
    char cookie[160], query[256];
    eh_saml_authn_request *r;
    eh_http_response resp;
    eh_txn *txn;

    /* no SAMLResponse, not base64, empty */
    post_saml(b, "/auth/eidas/acs", "SAMLResponse", NULL, "relay", &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_null(eh_http_response_header_get(&resp, "Location"));
    eh_http_response_free(&resp);
    post_saml(b, "/auth/eidas/acs", "SAMLResponse", "not base64 <script>", NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_null(strstr(resp.body, "<script>"));
    eh_http_response_free(&resp);
    post_saml(b, "/auth/eidas/acs", "SAMLRequest", "PGE+PC9hPg==", NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    eh_http_response_free(&resp);

    /* the return address: without r, with an unknown one */
    ec_login(b, NULL, cookie, sizeof(cookie));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", NULL, "Cookie", cookie, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_nonnull(strstr(resp.body, "has expired or was not found"));
    eh_http_response_free(&resp);
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", "r=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
             "Cookie", cookie, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_nonnull(strstr(resp.body, "has expired or was not found"));
    eh_http_response_free(&resp);

    /* base64 of something that is not a Response: kept by the ACS, refused
     * at the return, the transaction kept; its r works once */
    r = ec_start(b, cookie);
    ec_acs(b, "PGE+PC9hPg==", query, sizeof(query));
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, &resp);
    ec_refused(&resp, 400, "could not be accepted");
    eh_http_response_free(&resp);
    txn = ec_txn(b, cookie);
    ck_assert_uint_eq(json_object_size(txn->backend), 0);
    eh_txn_free(txn);
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_nonnull(strstr(resp.body, "has expired or was not found"));
    eh_http_response_free(&resp);
    eh_saml_authn_request_free(r);

    /* a good answer returning without the cookie is spent: the browser with
     * the cookie cannot use the same r afterwards */
    r = ec_start(b, cookie);
    {
        char *b64 = ec_response(&(ec_answer_spec){.in_response_to = r->id, .loa = EH_LOA_HIGH,
                                                  .pid = "LV/EE/4711"});
        ec_acs(b, b64, query, sizeof(query));
        free(b64);
    }
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, NULL, NULL, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    eh_http_response_free(&resp);
    send_req(b, EH_HTTP_GET, "/auth/eidas/return", query, "Cookie", cookie, NULL, &resp);
    ck_assert_int_eq(resp.status, 400);
    ck_assert_ptr_nonnull(strstr(resp.body, "has expired or was not found"));
    eh_http_response_free(&resp);
    /* the request is still pending in the transaction */
    txn = ec_txn(b, cookie);
    ck_assert_str_eq(json_string_value(json_object_get(txn->backend, "request_id")), r->id);
    eh_txn_free(txn);
    eh_saml_authn_request_free(r);
    eh_broker_free(b);
}
END_TEST

Suite *suite_broker(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, load_and_answer);
    tcase_add_test(tc, routing_errors_and_blocking);
    tcase_add_test(tc, key_errors_name_the_key);
    tcase_add_test(tc, store_is_owned_and_replaced);
    tcase_add_test(tc, store_routes_inline_with_the_embedded_store);
    tcase_add_test(tc, store_routes_blocking_before_the_store_and_with_redis);
    tcase_add_test(tc, policy_folder_and_rsa_key_keep_their_routes_in_the_pool);
    suite_add_tcase(s, tc);
    tc = tcase_create("eidas_proxy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, eidas_proxy_config_errors);
    tcase_add_test(tc, eidas_proxy_metadata);
    tcase_add_test(tc, eidas_proxy_login_and_answer);
    tcase_add_test(tc, eidas_proxy_required_and_pairwise);
    tcase_add_test(tc, eidas_proxy_refusals);
    tcase_add_test(tc, eidas_proxy_redirect_binding);
    suite_add_tcase(s, tc);
    tc = tcase_create("eidas_connector");
    tcase_add_checked_fixture(tc, ec_setup, ec_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, eidas_connector_login);
    tcase_add_test(tc, eidas_connector_replay);
    tcase_add_test(tc, eidas_connector_unsolicited);
    tcase_add_test(tc, eidas_connector_status);
    tcase_add_test(tc, eidas_connector_refusals);
    tcase_add_test(tc, eidas_connector_acs_and_return);
    suite_add_tcase(s, tc);
    return s;
}
