#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#ifdef EH_HAVE_ZLIB
#include <zlib.h>
#endif

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/keys.h"
#include "broker/buf.h"
#include "broker/file.h"
#include "broker/flow.h"
#include "broker/frontends/eidas_proxy.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_response.h"
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
    ck_assert(!eh_broker_blocking(&req));
    req = get("/healthz");
    ck_assert(eh_broker_blocking(&req));
    req = get("/.well-known/openid-configuration");
    ck_assert(!eh_broker_blocking(&req));
    eh_http_response_free(&resp);
    eh_broker_free(b);
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

static eh_saml_keys *ep_keys(const char *name)
{
    char path[512], why[200] = "", *pem;
    eh_saml_keys *k = eh_saml_keys_new();
    snprintf(path, sizeof(path), FX "%s", name);
    pem = ep_slurp(path);
    ck_assert_msg(eh_saml_keys_add_pem(k, pem, strlen(pem), why, sizeof(why)) == EH_OK, "%s", why);
    free(pem);
    return k;
}

/* ep_write_connector_metadata writes the Connector's signed metadata to
 * dir/name. */
static void ep_write_connector_metadata(const char *name, const char *entity, const char *country)
{
    char path[512], why[200] = "", *xml = NULL, *sign_pem, *enc_pem;
    size_t len = 0;
    eh_saml_keys *signer = ep_keys("attacker.pem");
    eh_saml_metadata_spec spec = {0};
    FILE *f;

    sign_pem = ep_slurp(FX "attacker.crt");
    enc_pem = ep_slurp(FX "rsa3072.crt");
    spec.role = EH_SAML_ROLE_CONNECTOR;
    spec.entity_id = entity;
    spec.endpoint = LV_ACS;
    spec.node_country = country;
    spec.sp_type = "public";
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

/* ep_config writes a broker configuration with "saml" and "eidas_proxy"
 * (proxy: the member's JSON text) and returns its path. */
static char *ep_config(const char *proxy)
{
    char *path = eh_test_config(dir, "[]"), *text = NULL;
    json_t *root = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_object_set_new(root, "saml",
                        json_pack("{s:s, s:s, s:s, s:s, s:s}", "country", "EE", "signing_key_file",
                                  FX "ec256.pem", "signing_cert_file", FX "ec256.crt",
                                  "encryption_key_file", FX "rsa3072.pem", "encryption_cert_file",
                                  FX "rsa3072.crt"));
    json_object_set_new(root, "eidas_proxy", json_loads(proxy, 0, NULL));
    ck_assert_ptr_nonnull(json_object_get(root, "eidas_proxy"));
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    free(text);
    return path;
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

    ep_write_connector_metadata("lv.xml", LV_ENTITY, "LV");
    ep_write_connector_metadata("fi.xml", "https://connector.fi/md", "FI");
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
    eh_saml_keys *signer = ep_keys("attacker.pem");
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

/* ep_post posts the form SAMLRequest=saml&RelayState=relay (either may be
 * NULL) to /saml/proxy/sso. */
static void ep_post(eh_broker *b, const char *saml, const char *relay, eh_http_response *resp)
{
    eh_http_request req = get("/saml/proxy/sso");
    char *body = NULL;
    eh_buf form;

    eh_buf_init(&form);
    if (saml != NULL) {
        eh_buf_append(&form, "SAMLRequest=");
        eh_buf_append_urlenc(&form, saml);
    }
    if (relay != NULL) {
        eh_buf_append(&form, "&RelayState=");
        eh_buf_append_urlenc(&form, relay);
    }
    ck_assert_int_eq(eh_buf_finish(&form, &body, NULL), EH_OK);
    req.method = EH_HTTP_POST;
    req.body = (const unsigned char *)body;
    req.body_len = strlen(body);
    eh_http_response_init(resp);
    ck_assert_int_eq(eh_broker_handle(b, &req, resp), EH_OK);
    free(body);
}

/* ep_txn loads the transaction whose cookie resp sets. */
static eh_txn *ep_txn(eh_broker *b, const eh_http_response *resp)
{
    const char *cookie = eh_http_response_header_get(resp, "Set-Cookie");
    char id[128];
    eh_txn *txn = NULL;
    ck_assert_ptr_nonnull(cookie);
    ck_assert_int_eq(strncmp(cookie, EH_TXN_COOKIE "=", strlen(EH_TXN_COOKIE) + 1), 0);
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(cookie + strlen(EH_TXN_COOKIE) + 1, ";"),
             cookie + strlen(EH_TXN_COOKIE) + 1);
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
    eh_saml_keys *trusted = ep_keys("ec256.crt"), *ours = ep_keys("rsa3072.pem");
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
    eh_saml_keys *anchor = ep_keys("ec256.crt");
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
    ck_assert_str_eq(json_string_value(json_object_get(txn->frontend, "display_name")), "Latvia");
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

Suite *suite_broker(void)
{
    Suite *s = suite_create("broker");
    TCase *tc = tcase_create("broker");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, load_and_answer);
    tcase_add_test(tc, routing_errors_and_blocking);
    tcase_add_test(tc, key_errors_name_the_key);
    tcase_add_test(tc, store_is_owned_and_replaced);
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
    return s;
}
