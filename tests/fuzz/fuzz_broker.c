/* Fuzz target: whole HTTP requests through the broker (eh_broker_handle),
 * as the nginx module hands them over: OIDC request parameters of
 * /authorize and /token, the forms of the login flow (method choice,
 * Mobile-ID and Smart-ID forms, consent, cancel), the admin API's JSON
 * bodies, cookies, headers.
 *
 * The broker is made once, from a configuration written at start: two
 * relying parties; Mobile-ID, Smart-ID and a national OIDC provider whose
 * services are a closed loopback port; an admin account "admin" with
 * password "fuzz-password"; an embedded store. The input is up to four requests,
 * separated by a line "--next--"; each is
 *     METHOD /path[?query]
 *     Header: value        (any number)
 *     <empty line>
 *     body
 * Between requests the target keeps what a browser or a client keeps:
 * cookies set (sent back unless the request has its own Cookie header), and
 * it replaces "@CSRF@" in a query, body or header with the last CSRF token
 * an answer carried (a form's hidden field, or the admin API's "csrf").
 *
 * Invariants on every answer: a status of 100..599; header names and
 * values without CR, LF; a redirect goes to a relative path of this broker
 * (never "//host" or "/\host"), to the broker's issuer, to a registered
 * redirect_uri (errors go only to registered URIs) or to a configured
 * upstream; an HTML page never holds the input's "<fuzz" unescaped; an
 * application/json answer is JSON; log lines are single lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "broker/broker.h"
#include "broker/http.h"
#include "broker/keys.h"
#include "broker/store.h"
#include "policies/admin_auth.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_REQUESTS 4
#define MAX_HEADERS 16
#define SEP "\n--next--\n"

static eh_broker *broker;

/* Where a redirect may go, besides the broker itself. */
static const char *const allowed_targets[] = {
    "http://127.0.0.1:8080/",
    "http://127.0.0.1:8081/callback",
    "https://portal.example.ee/oidc/callback",
    "https://portal.example.ee/",
    "http://127.0.0.1:9/",
    NULL,
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0)
        abort();
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir;
    char path[512], err[1024], *hash = NULL, *config = NULL;
    eh_store *store = NULL;

    fz_init();
    dir = fz_tmpdir();
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    if (eh_key_generate(EH_KEY_EC_P256, 0, path, err, sizeof(err)) != EH_OK)
        abort();
    snprintf(path, sizeof(path), "%s/subject.secret", dir);
    write_text(path, "0123456789abcdef0123456789abcdef-fuzz-only\n");
    snprintf(path, sizeof(path), "%s/policies", dir);
    if (mkdir(path, 0700) != 0)
        abort();
    if (eh_admin_password_hash("fuzz-password", &hash) != EH_OK)
        abort();
    if (asprintf(
            &config,
            "{\"issuer\": \"http://127.0.0.1:8080\",\n"
            " \"keys\": [{\"file\": \"key.pem\", \"active\": true}],\n"
            " \"subject_secret_file\": \"subject.secret\",\n"
            " \"policy_dir\": \"policies\",\n"
            " \"admin\": {\"accounts\": [{\"user\": \"admin\", \"password_hash\": \"%s\","
            " \"role\": \"editor\"}]},\n"
            " \"relying_parties\": [\n"
            "  {\"client_id\": \"city-portal\", \"redirect_uris\": "
            "[\"http://127.0.0.1:8081/callback\"], \"policy\": \"basic\","
            " \"subject_type\": \"pairwise\", \"display_name\": \"City <fuzz-safe>\"},\n"
            "  {\"client_id\": \"tax-office\", \"client_secret_sha256\": "
            "\"2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b\","
            " \"redirect_uris\": [\"https://portal.example.ee/oidc/callback\"],"
            " \"post_logout_redirect_uris\": [\"https://portal.example.ee/\"],"
            " \"policy\": \"full\", \"subject_type\": \"public\", \"display_name\": \"Tax\"}],\n"
            " \"backends\": {\n"
            "  \"mobile_id\": {\"url\": \"http://127.0.0.1:9/mid-api\","
            " \"relying_party_uuid\": \"00000000-0000-0000-0000-000000000000\","
            " \"relying_party_name\": \"DEMO\", \"trusted_ca_files\": [\"%s\"],"
            " \"request_timeout_ms\": 500},\n"
            "  \"smart_id\": {\"url\": \"http://127.0.0.1:9/smart-id-rp/v2\","
            " \"relying_party_uuid\": \"00000000-0000-0000-0000-000000000000\","
            " \"relying_party_name\": \"DEMO\", \"trusted_ca_files\": [\"%s\"],"
            " \"request_timeout_ms\": 500},\n"
            "  \"oidc_upstream\": {\"request_timeout_ms\": 500, \"providers\": [{\"id\": \"fr\","
            " \"display_name\": \"France <fuzz-safe>\", \"issuer\": \"http://127.0.0.1:9/fc\","
            " \"client_id\": \"eidhub\", \"client_secret\": \"s3cret-s3cret-s3cret\","
            " \"loa_mapping\": {\"eidas1\": \"low\", \"eidas2\": \"substantial\"},"
            " \"country\": \"FR\"}]}}}\n",
            hash, fz_fixture("sk-ca.pem"), fz_fixture("sk-ca.pem")) < 0)
        abort();
    snprintf(path, sizeof(path), "%s/broker.json", dir);
    write_text(path, config);
    if (eh_broker_load(path, &broker, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "fuzz broker: %s\n", err);
        abort();
    }
    if (eh_store_shm_new(eh_store_shm_min_size() * 4, &store) != EH_OK)
        abort();
    eh_broker_set_store(broker, store);
    free(hash);
    free(config);
    return 0;
}

/* The browser's state between the requests of one input. */
typedef struct jar {
    char *cookies; /* "a=1; b=2" */
    char csrf[256];
} jar;

static char *replace_csrf(const char *s, const jar *j)
{
    const char *at = strstr(s, "@CSRF@");
    char *out = NULL;

    if (at == NULL)
        return strdup(s);
    if (asprintf(&out, "%.*s%s%s", (int)(at - s), s, j->csrf, at + 6) < 0)
        abort();
    return out;
}

/* remember takes cookies and a CSRF token from an answer. */
static void remember(jar *j, const eh_http_response *resp)
{
    const char *p;

    for (size_t i = 0; i < resp->n_headers; i++) {
        if (strcasecmp(resp->header_names[i], "Set-Cookie") == 0) {
            const char *v = resp->header_values[i];
            size_t n = strcspn(v, ";");
            char *c = NULL;
            if (asprintf(&c, "%s%s%.*s", j->cookies ? j->cookies : "", j->cookies ? "; " : "",
                         (int)n, v) < 0)
                abort();
            free(j->cookies);
            j->cookies = c;
        }
    }
    if (resp->body == NULL)
        return;
    if ((p = strstr(resp->body, "name=\"csrf\" value=\"")) != NULL) {
        p += strlen("name=\"csrf\" value=\"");
        snprintf(j->csrf, sizeof(j->csrf), "%.*s", (int)strcspn(p, "\""), p);
    } else if ((p = strstr(resp->body, "\"csrf\":\"")) != NULL ||
               (p = strstr(resp->body, "\"csrf\": \"")) != NULL) {
        p = strchr(p + 6, '"') + 1;
        snprintf(j->csrf, sizeof(j->csrf), "%.*s", (int)strcspn(p, "\""), p);
    }
}

static int redirect_ok(const char *loc)
{
    if (loc[0] == '/')
        return loc[1] != '/' && loc[1] != '\\';
    for (size_t i = 0; allowed_targets[i] != NULL; i++) {
        if (strncmp(loc, allowed_targets[i], strlen(allowed_targets[i])) == 0)
            return 1;
    }
    return 0;
}

static void check_answer(const eh_http_request *req, const eh_http_response *resp)
{
    const char *type = eh_http_response_header_get(resp, "Content-Type");
    const char *loc = eh_http_response_header_get(resp, "Location");

    FZ_CHECK(resp->status >= 100 && resp->status <= 599);
    for (size_t i = 0; i < resp->n_headers; i++) {
        FZ_CHECK(resp->header_names[i] != NULL && resp->header_values[i] != NULL);
        FZ_CHECK(strpbrk(resp->header_names[i], "\r\n") == NULL);
        FZ_CHECK(strpbrk(resp->header_values[i], "\r\n") == NULL);
    }
    if (loc != NULL && resp->status >= 300 && resp->status < 400) {
        if (!redirect_ok(loc))
            fprintf(stderr, "%s %s?%s redirects to %s\n",
                    req->method == EH_HTTP_POST ? "POST" : "GET", req->path, req->query, loc);
        FZ_CHECK(redirect_ok(loc));
    }
    if (resp->body != NULL && type != NULL) {
        FZ_CHECK(resp->body_len == strlen(resp->body) || strncmp(type, "text/", 5) != 0);
        if (strncasecmp(type, "text/html", 9) == 0) {
            if (strstr(resp->body, "<fuzz") != NULL)
                fprintf(stderr, "%s %s: input reflected unescaped\n", req->path, req->query);
            FZ_CHECK(strstr(resp->body, "<fuzz") == NULL);
        }
        if (strncasecmp(type, "application/json", 16) == 0 && req->method != EH_HTTP_HEAD) {
            json_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
            FZ_CHECK(j != NULL);
            json_decref(j);
        }
    }
}

/* one_request parses one request's text and answers it. */
static void one_request(char *text, jar *j)
{
    eh_http_header headers[MAX_HEADERS + 1];
    char *hvals[MAX_HEADERS + 1];
    size_t nh = 0;
    char *line = text, *nl, *sp, *q, *method_end, *path = NULL, *query = NULL, *body;
    eh_http_request req;
    eh_http_response resp;
    int has_cookie = 0;
    eh_rc rc;

    memset(&req, 0, sizeof(req));
    nl = strchr(line, '\n');
    if (nl != NULL)
        *nl = '\0';
    sp = strchr(line, ' ');
    if (sp == NULL)
        return;
    *sp = '\0';
    method_end = sp;
    req.method = eh_http_method_parse(line, (size_t)(method_end - line));
    if (sp[1] != '/')
        return;
    q = strchr(sp + 1, '?');
    if (q != NULL)
        *q = '\0';
    path = strdup(sp + 1);
    query = replace_csrf(q ? q + 1 : "", j);
    line = nl ? nl + 1 : NULL;
    while (line != NULL && *line != '\0' && *line != '\n' && nh < MAX_HEADERS) {
        char *colon;
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        colon = strchr(line, ':');
        if (colon != NULL) {
            *colon = '\0';
            headers[nh].name = line;
            hvals[nh] = replace_csrf(colon[1] == ' ' ? colon + 2 : colon + 1, j);
            headers[nh].value = hvals[nh];
            has_cookie |= strcasecmp(line, "Cookie") == 0;
            nh++;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (line != NULL && *line == '\n')
        line++;
    body = replace_csrf(line ? line : "", j);
    if (!has_cookie && j->cookies != NULL) {
        headers[nh].name = "Cookie";
        hvals[nh] = strdup(j->cookies);
        headers[nh].value = hvals[nh];
        nh++;
    }
    req.path = path;
    req.query = query;
    req.headers = headers;
    req.n_headers = nh;
    req.body = (const unsigned char *)body;
    req.body_len = strlen(body);
    req.client_addr = "192.0.2.7";
    eh_http_response_init(&resp);
    rc = eh_broker_handle(broker, &req, &resp);
    if (fz_verbose())
        fprintf(stderr, "%s %s?%s -> rc %d, %d %s %.200s\n", text, path, query, rc, resp.status,
                eh_http_response_header_get(&resp, "Location") ?: "", resp.body ? resp.body : "");
    check_answer(&req, &resp);
    remember(j, &resp);
    eh_http_response_free(&resp);
    for (size_t i = 0; i < nh; i++)
        free(hvals[i]);
    free(path);
    free(query);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fz_strndup(data, size), *p = text;
    jar j = {NULL, ""};

    for (int i = 0; i < MAX_REQUESTS && p != NULL; i++) {
        char *next = strstr(p, SEP);
        if (next != NULL) {
            *next = '\0';
            next += strlen(SEP);
        }
        one_request(p, &j);
        p = next;
    }
    free(j.cookies);
    free(text);
    return 0;
}
