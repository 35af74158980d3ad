/* login-driver: the full brokered OIDC + Mobile-ID login of bench/bench.mjs,
 * driven from C (issue 7, bench/README.md).
 *
 *     login-driver --url http://127.0.0.1:PORT --client-secret SECRET
 *                  [--client-id bench-portal] [--redirect-uri http://127.0.0.1:9/callback]
 *                  [--logins 2000] [--vus 32] [--seconds 150] [--warmup 0]
 *                  [--citizens PHONE:CODE,PHONE:CODE,...]
 *     login-driver --exchange CODES.json --url ... --client-secret SECRET
 *                  [--client-id ID] [--redirect-uri URI] [--vus 32] [--seconds 150]
 *
 * Why C: the static-request baseline the login rate is compared with is
 * driven by wrk, and on a 2-CPU machine the load driver's own CPU comes out
 * of the cores the broker runs on. The Node driver (bench/driver.mjs) spent
 * 1.7-1.9 ms of CPU per login on the 2-CPU machine; this one 0.6-0.7 ms
 * (most of it libcurl's and the kernel's work per request).
 *
 * Each virtual user (--vus) is one libcurl easy handle with its own cookie
 * engine (a citizen's browser plus the portal's back end). All of them run
 * in one thread on one multi handle (curl_multi_poll); the multi's
 * connection cache keeps one keep-alive connection per virtual user, since
 * at most --vus requests are in flight. A login is exactly bench.mjs's
 * fullLogin, each answer checked before the next request:
 *
 *   GET /authorize (state, nonce, PKCE S256)  303
 *   GET /login                                200
 *   GET /auth/mid                             200, the form's CSRF hidden field
 *   POST /auth/mid (csrf, phone, personal_code; the --citizens take turns) 303
 *   GET /auth/mid/wait                        200
 *   GET /auth/mid/status                      200, polled (at most 50 times) until the
 *                                             JSON's state is not RUNNING
 *   GET /auth/mid/finish                      303 to the redirect URI with the code and
 *                                             our state
 *   POST /token (client_secret_basic, code_verifier) 200; the ID token's payload
 *                                             (base64url-decoded, not verified: ES256
 *                                             verification is the portal's CPU) has our
 *                                             nonce and aud = client id
 *   GET /userinfo (Bearer access token)       200
 *
 * The browser's cookies are dropped when a login starts and before /token:
 * like bench.mjs, every login is a new browser, and the back-end calls carry
 * no cookies. A failed login counts as an error (the first one's text is
 * kept) and the virtual user starts the next one.
 *
 * --warmup logins run first and are not measured. Then --logins logins run,
 * bounded by --seconds (logins under way at the deadline finish). Prints one
 * JSON object on stdout (the measured run; keys as bench/driver.mjs's
 * runPool): done, errors, firstError, secs, rate, p50 and p99 of a whole
 * login in ms, requestsPerLogin, steps ("METHOD path": n, p50, p99 of each
 * request kind), cpuSeconds (this process, user + system, during the run),
 * timedOut, and the warm-up's done/errors/firstError. Exit 0 when every
 * login succeeded, 1 when some failed (the JSON is still printed) or the
 * run could not be made, 2 for bad options.
 *
 * --exchange: the token step alone, for the token endpoint comparison of
 * bench.mjs (eidhub and oidc-provider, bench/oidc-peer.mjs, both at /token).
 * CODES.json is a JSON array of {"code", "verifier", "nonce"} (codes issued
 * to --client-id for --redirect-uri; the verifier is the PKCE one, the nonce
 * the one of the authorization request). Each virtual user takes the next
 * unused code and sends the login's POST /token with it (the same code:
 * client_secret_basic, the code_verifier; 200 and the ID token's nonce and
 * aud checked), then the next one: every code is used once, and the run ends
 * when all are used or at --seconds (exchanges under way finish). No
 * warm-up: a code would be spent on it (--logins, --warmup and --citizens
 * are refused). Same JSON: done counts exchanges, p50/p99 are of one
 * exchange, requestsPerLogin is 1, steps has "POST /token" alone. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <cjose/base64.h>
#include <cjose/util.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h> /* NAN, isfinite */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_CITIZENS 16
#define MAX_BODY (1 << 20)
#define STATUS_POLLS 50

/* The request kinds of a login, in order. */
typedef enum kind {
    K_AUTHORIZE,
    K_LOGIN,
    K_MID_FORM,
    K_MID_START,
    K_MID_WAIT,
    K_MID_STATUS,
    K_MID_FINISH,
    K_TOKEN,
    K_USERINFO,
    K_N
} kind;

/* Each kind's key in the steps table (as bench.mjs's), its name in error
 * messages (as bench.mjs's expect) and the status a good answer has. */
static const struct {
    const char *key, *what;
    long status;
} KINDS[K_N] = {
    {"GET /authorize", "authorize", 303},        {"GET /login", "login page", 200},
    {"GET /auth/mid", "mid form", 200},          {"POST /auth/mid", "mid start", 303},
    {"GET /auth/mid/wait", "mid wait", 200},     {"GET /auth/mid/status", "mid status", 200},
    {"GET /auth/mid/finish", "mid finish", 303}, {"POST /token", "token", 200},
    {"GET /userinfo", "userinfo", 200},
};

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

typedef struct citizen {
    char phone[32], code[32];
} citizen;

typedef struct opts {
    const char *url, *client_id, *secret, *redirect;
    const char *exchange; /* --exchange: the codes file, or NULL for logins */
    int login_only;       /* --logins, --warmup or --citizens was given */
    long logins, vus, warmup;
    double seconds;
    citizen citizens[MAX_CITIZENS];
    int n_citizens;
} opts;

/* One phase (the warm-up or the measured run). */
typedef struct phase {
    long count, next, done, errors, requests;
    double deadline;
    int record; /* keep latencies */
    char first_error[600];
    samples login_ms, kind_ms[K_N];
} phase;

/* One virtual user: its handle and the login (or exchange) it is in. */
typedef struct vu {
    CURL *easy;
    kind kind;
    int polls, requests;
    double t_login, t_req;
    char verifier[129], challenge[64], state[32], nonce[128]; /* verifier: RFC 7636's 43-128 */
    struct curl_slist *bearer;
    char *body; /* the answer's body, NUL-terminated */
    size_t len, cap;
} vu;

typedef struct driver {
    opts o;
    CURLM *multi;
    vu *vus;
    struct curl_slist *form_hdr, *token_hdr;
    unsigned long turn; /* the next citizen */
    char *q_client_id, *q_redirect;
    phase *ph;
    long active;   /* virtual users in a login or an exchange */
    json_t *codes; /* --exchange: the codes, checked by load_codes */
} driver;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static int samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* pct is bench/driver.mjs's pct: the sorted samples' element at floor(p% of n). */
static double pct(samples *s, double p)
{
    if (s->n == 0)
        return NAN;
    qsort(s->v, s->n, sizeof(*s->v), cmp_double);
    size_t i = (size_t)(p / 100 * (double)s->n);
    return s->v[i < s->n ? i : s->n - 1];
}

/* b64url writes the unpadded base64url form of n bytes into out (room for
 * 4 * ((n + 2) / 3) + 1): OpenSSL's base64, then the URL-safe alphabet. */
static void b64url(const unsigned char *in, int n, char *out)
{
    int len = EVP_EncodeBlock((unsigned char *)out, in, n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (int i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

/* random_b64url writes n random bytes (OpenSSL's CSPRNG), base64url, into out. */
static int random_b64url(int n, char *out)
{
    unsigned char b[32];
    if (n > (int)sizeof(b) || RAND_bytes(b, n) != 1)
        return -1;
    b64url(b, n, out);
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *user)
{
    vu *v = user;
    size_t len = size * n;
    if (v->len + len + 1 > v->cap) {
        size_t cap = v->cap * 2 > v->len + len + 1 ? v->cap * 2 : v->len + len + 1;
        char *b = cap <= MAX_BODY ? realloc(v->body, cap) : NULL;
        if (b == NULL)
            return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
        v->body = b;
        v->cap = cap;
    }
    memcpy(v->body + v->len, data, len);
    v->len += len;
    v->body[v->len] = '\0';
    return len;
}

/* fail ends the virtual user's login as an error, keeping the first one's text. */
static void fail(driver *d, const char *fmt, ...)
{
    phase *ph = d->ph;
    ph->errors++;
    if (ph->errors == 1) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ph->first_error, sizeof(ph->first_error), fmt, ap);
        va_end(ap);
    }
}

/* send starts the virtual user's next request: a GET, or a form POST of
 * body, with the extra headers hdr (may be NULL). */
static int send_req(driver *d, vu *v, kind k, const char *path, const char *body,
                    struct curl_slist *hdr)
{
    char url[4096];
    if ((size_t)snprintf(url, sizeof(url), "%s%s", d->o.url, path) >= sizeof(url))
        return -1;
    curl_easy_setopt(v->easy, CURLOPT_URL, url);
    if (body != NULL) {
        curl_easy_setopt(v->easy, CURLOPT_POSTFIELDSIZE, -1L);
        curl_easy_setopt(v->easy, CURLOPT_COPYPOSTFIELDS, body);
    } else {
        curl_easy_setopt(v->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(v->easy, CURLOPT_HTTPHEADER, hdr);
    v->kind = k;
    v->len = 0;
    v->body[0] = '\0';
    v->t_req = now_ms();
    return curl_multi_add_handle(d->multi, v->easy) == CURLM_OK ? 0 : -1;
}

/* start_login begins the virtual user's next login if the phase has one left
 * and time; 0 when it started or the user is done, -1 on a local failure. */
static int start_login(driver *d, vu *v)
{
    char q[1024];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    phase *ph = d->ph;
    if (ph->next >= ph->count || now_ms() >= ph->deadline)
        return 0;
    ph->next++;
    d->active++;
    v->requests = 0;
    v->polls = 0;
    v->t_login = now_ms();
    curl_easy_setopt(v->easy, CURLOPT_COOKIELIST, "ALL"); /* a new browser */
    /* PKCE S256 (RFC 7636): a 32-byte verifier, its SHA-256, both base64url */
    if (random_b64url(32, v->verifier) != 0 || random_b64url(16, v->state) != 0 ||
        random_b64url(16, v->nonce) != 0 ||
        EVP_Digest(v->verifier, strlen(v->verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
        return -1;
    b64url(md, (int)mdlen, v->challenge);
    snprintf(q, sizeof(q),
             "/authorize?response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20profile"
             "&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256",
             d->q_client_id, d->q_redirect, v->state, v->nonce, v->challenge);
    return send_req(d, v, K_AUTHORIZE, q, NULL, NULL);
}

static int send_token(driver *d, vu *v, const char *code);

/* start_exchange begins the virtual user's next exchange (--exchange) with
 * the next unused code if the phase has one left and time; 0 when it
 * started or the user is done, -1 on a local failure. */
static int start_exchange(driver *d, vu *v)
{
    phase *ph = d->ph;
    if (ph->next >= ph->count || now_ms() >= ph->deadline)
        return 0;
    json_t *c = json_array_get(d->codes, (size_t)ph->next++);
    d->active++;
    v->requests = 0;
    v->t_login = now_ms();
    /* both fit: load_codes checked their lengths */
    snprintf(v->verifier, sizeof(v->verifier), "%s",
             json_string_value(json_object_get(c, "verifier")));
    snprintf(v->nonce, sizeof(v->nonce), "%s", json_string_value(json_object_get(c, "nonce")));
    return send_token(d, v, json_string_value(json_object_get(c, "code")));
}

/* start_next begins the virtual user's next login, or exchange with --exchange. */
static int start_next(driver *d, vu *v)
{
    return d->codes != NULL ? start_exchange(d, v) : start_login(d, v);
}

/* complete counts the virtual user's login (or exchange) as done and starts
 * its next one. */
static int complete(driver *d, vu *v)
{
    phase *ph = d->ph;
    ph->done++;
    ph->requests += v->requests;
    d->active--;
    if (ph->record && samples_add(&ph->login_ms, now_ms() - v->t_login) != 0)
        return -1;
    return start_next(d, v);
}

/* The value of the form's CSRF hidden field (name="csrf" value="..."), in
 * buf; -1 when there is none or it does not fit. */
static int csrf_of(const char *page, char *buf, size_t size)
{
    static const char mark[] = "name=\"csrf\" value=\"";
    const char *s = strstr(page, mark), *e;
    if (s == NULL || (e = strchr(s += sizeof(mark) - 1, '"')) == NULL || (size_t)(e - s) >= size)
        return -1;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    return 0;
}

/* query_param finds name in the query (a=b&c=d) and returns its decoded value
 * (curl_free it), or NULL. */
static char *query_param(CURL *easy, const char *query, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = query; *p && *p != '#';
         p += strcspn(p, "&#") + (p[strcspn(p, "&#")] == '&')) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=')
            return curl_easy_unescape(easy, p + nl + 1, (int)strcspn(p + nl + 1, "&#"), NULL);
    }
    return NULL;
}

/* send_token sends the token request of the login (and of --exchange):
 * POST /token with client_secret_basic, the code, our redirect URI and PKCE
 * verifier, no cookies. 0, or -1 on a local failure. */
static int send_token(driver *d, vu *v, const char *code)
{
    char *qcode = NULL, *qverifier = NULL;
    char body[8192]; /* room for every part escaped: 3 x (1000 + 500 + 128) */
    int rc = -1;
    if ((qcode = curl_easy_escape(v->easy, code, 0)) == NULL ||
        (qverifier = curl_easy_escape(v->easy, v->verifier, 0)) == NULL)
        goto cleanup;
    if ((size_t)snprintf(body, sizeof(body),
                         "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s",
                         qcode, d->q_redirect, qverifier) >= sizeof(body))
        goto cleanup;
    curl_easy_setopt(v->easy, CURLOPT_COOKIELIST, "ALL"); /* the portal's back end: no cookies */
    rc = send_req(d, v, K_TOKEN, "/token", body, d->token_hdr);
cleanup:
    curl_free(qcode);
    curl_free(qverifier);
    return rc;
}

/* after_finish checks /auth/mid/finish's redirect: to the redirect URI,
 * with a code and our state. Starts the token request. */
static int after_finish(driver *d, vu *v, char *err, size_t errlen)
{
    char *loc = NULL, *code = NULL, *state = NULL;
    size_t rl = strlen(d->o.redirect);
    int rc = 1;
    if (curl_easy_getinfo(v->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL ||
        strncmp(loc, d->o.redirect, rl) != 0 || loc[rl] != '?' ||
        (code = query_param(v->easy, loc + rl + 1, "code")) == NULL || code[0] == '\0' ||
        (state = query_param(v->easy, loc + rl + 1, "state")) == NULL ||
        strcmp(state, v->state) != 0) {
        snprintf(err, errlen, "bad callback %.300s", loc ? loc : "(no Location)");
        goto cleanup;
    }
    rc = send_token(d, v, code);
cleanup:
    curl_free(code);
    curl_free(state);
    return rc;
}

/* after_token checks the token response (an access token; the ID token's
 * nonce and audience, read from its base64url payload) and starts /userinfo,
 * or with --exchange counts the exchange as done and starts the next. */
static int after_token(driver *d, vu *v, char *err, size_t errlen)
{
    json_t *t = json_loadb(v->body, v->len, 0, NULL), *claims = NULL;
    const char *idt = json_string_value(json_object_get(t, "id_token"));
    const char *at = json_string_value(json_object_get(t, "access_token"));
    const char *p1 = idt ? strchr(idt, '.') : NULL, *p2 = p1 ? strchr(p1 + 1, '.') : NULL;
    uint8_t *payload = NULL;
    size_t plen = 0;
    cjose_err cerr;
    char hdr[4096];
    int rc = 1;
    if (at == NULL || p2 == NULL ||
        !cjose_base64url_decode(p1 + 1, (size_t)(p2 - p1 - 1), &payload, &plen, &cerr) ||
        (claims = json_loadb((const char *)payload, plen, 0, NULL)) == NULL) {
        snprintf(err, errlen, "token: no access_token or unreadable id_token %.200s", v->body);
        goto cleanup;
    }
    const char *nonce = json_string_value(json_object_get(claims, "nonce"));
    const char *aud = json_string_value(json_object_get(claims, "aud"));
    if (nonce == NULL || strcmp(nonce, v->nonce) != 0 || aud == NULL ||
        strcmp(aud, d->o.client_id) != 0) {
        snprintf(err, errlen, "id_token claims");
        goto cleanup;
    }
    if (d->codes != NULL) {
        rc = complete(d, v);
        goto cleanup;
    }
    rc = -1;
    curl_slist_free_all(v->bearer);
    v->bearer = NULL;
    if ((size_t)snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", at) >= sizeof(hdr) ||
        (v->bearer = curl_slist_append(NULL, hdr)) == NULL)
        goto cleanup;
    rc = send_req(d, v, K_USERINFO, "/userinfo", NULL, v->bearer);
cleanup:
    if (payload != NULL)
        cjose_get_dealloc()(payload);
    json_decref(claims);
    json_decref(t);
    return rc;
}

/* next_request checks the answer to the virtual user's request of kind
 * v->kind and sends the next one. 0: sent, or the login is over (success);
 * 1: the login failed (err says why); -1: a local failure. */
static int next_request(driver *d, vu *v, char *err, size_t errlen)
{
    char csrf[256], body[1024];
    char *a = NULL, *b = NULL, *c = NULL;
    int rc = -1;
    switch (v->kind) {
    case K_AUTHORIZE:
        return send_req(d, v, K_LOGIN, "/login", NULL, NULL);
    case K_LOGIN:
        return send_req(d, v, K_MID_FORM, "/auth/mid", NULL, NULL);
    case K_MID_FORM: {
        const citizen *z = &d->o.citizens[d->turn++ % (unsigned long)d->o.n_citizens];
        if (csrf_of(v->body, csrf, sizeof(csrf)) != 0) {
            snprintf(err, errlen, "mid form: no csrf field %.200s", v->body);
            return 1;
        }
        if ((a = curl_easy_escape(v->easy, csrf, 0)) != NULL &&
            (b = curl_easy_escape(v->easy, z->phone, 0)) != NULL &&
            (c = curl_easy_escape(v->easy, z->code, 0)) != NULL &&
            (size_t)snprintf(body, sizeof(body), "csrf=%s&phone=%s&personal_code=%s", a, b, c) <
                sizeof(body))
            rc = send_req(d, v, K_MID_START, "/auth/mid", body, d->form_hdr);
        curl_free(a);
        curl_free(b);
        curl_free(c);
        return rc;
    }
    case K_MID_START:
        return send_req(d, v, K_MID_WAIT, "/auth/mid/wait", NULL, NULL);
    case K_MID_WAIT:
        return send_req(d, v, K_MID_STATUS, "/auth/mid/status", NULL, NULL);
    case K_MID_STATUS: {
        json_t *s = json_loadb(v->body, v->len, 0, NULL);
        const char *st = json_string_value(json_object_get(s, "state"));
        int again = st != NULL && strcmp(st, "RUNNING") == 0 && ++v->polls < STATUS_POLLS;
        if (s == NULL) {
            snprintf(err, errlen, "mid status: not JSON %.200s", v->body);
            return 1;
        }
        json_decref(s);
        return again ? send_req(d, v, K_MID_STATUS, "/auth/mid/status", NULL, NULL)
                     : send_req(d, v, K_MID_FINISH, "/auth/mid/finish", NULL, NULL);
    }
    case K_MID_FINISH:
        return after_finish(d, v, err, errlen);
    case K_TOKEN:
        return after_token(d, v, err, errlen);
    case K_USERINFO: /* the login is done */
        return complete(d, v);
    default:
        return -1;
    }
}

/* on_done handles the end of a virtual user's transfer (res: curl's result). */
static int on_done(driver *d, vu *v, CURLcode res)
{
    char err[600] = "";
    long status = 0;
    int rc;
    v->requests++;
    if (res != CURLE_OK) {
        snprintf(err, sizeof(err), "%s: %s (%s)", KINDS[v->kind].what, curl_easy_strerror(res),
                 KINDS[v->kind].key);
        rc = 1;
    } else {
        curl_easy_getinfo(v->easy, CURLINFO_RESPONSE_CODE, &status);
        if (d->ph->record && samples_add(&d->ph->kind_ms[v->kind], now_ms() - v->t_req) != 0)
            return -1;
        if (status != KINDS[v->kind].status) {
            snprintf(err, sizeof(err), "%s: HTTP %ld (expected %ld) %.200s", KINDS[v->kind].what,
                     status, KINDS[v->kind].status, v->body);
            rc = 1;
        } else {
            rc = next_request(d, v, err, sizeof(err));
        }
    }
    if (rc != 1)
        return rc;
    fail(d, "%s", err);
    d->active--;
    return start_next(d, v);
}

/* run_phase runs the phase's logins (or exchanges) with every virtual user
 * until none is left in one. 0, or -1 on a local failure (curl, memory). */
static int run_phase(driver *d, phase *ph)
{
    d->ph = ph;
    d->active = 0;
    for (long i = 0; i < d->o.vus; i++)
        if (start_next(d, &d->vus[i]) != 0)
            return -1;
    while (d->active > 0) {
        int running = 0, left = 0;
        CURLMsg *m;
        if (curl_multi_perform(d->multi, &running) != CURLM_OK)
            return -1;
        while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
            vu *v = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            CURL *e = m->easy_handle;
            CURLcode res = m->data.result;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&v);
            curl_multi_remove_handle(d->multi, e);
            if (on_done(d, v, res) != 0)
                return -1;
        }
        if (d->active > 0 && curl_multi_poll(d->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return -1;
    }
    return 0;
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

/* report is the measured phase as JSON (keys as bench/driver.mjs's runPool). */
static json_t *report(phase *ph, const phase *warm, double secs, double cpu)
{
    json_t *o = json_object(), *steps = json_object(), *w = json_object();
    json_object_set_new(o, "done", json_integer(ph->done));
    json_object_set_new(o, "errors", json_integer(ph->errors));
    json_object_set_new(o, "firstError", ph->errors ? json_string(ph->first_error) : json_null());
    json_object_set_new(o, "secs", num(secs));
    json_object_set_new(o, "rate", num((double)ph->done / secs));
    json_object_set_new(o, "p50", num(pct(&ph->login_ms, 50)));
    json_object_set_new(o, "p99", num(pct(&ph->login_ms, 99)));
    json_object_set_new(o, "timedOut", json_boolean(ph->next < ph->count));
    json_object_set_new(o, "requestsPerLogin",
                        num(ph->done ? (double)ph->requests / (double)ph->done : NAN));
    json_object_set_new(o, "cpuSeconds", num(cpu));
    for (int k = 0; k < K_N; k++) {
        samples *s = &ph->kind_ms[k];
        if (s->n > 0)
            json_object_set_new(steps, KINDS[k].key,
                                json_pack("{s:I,s:o,s:o}", "n", (json_int_t)s->n, "p50",
                                          num(pct(s, 50)), "p99", num(pct(s, 99))));
    }
    json_object_set_new(o, "steps", steps);
    json_object_set_new(w, "done", json_integer(warm->done));
    json_object_set_new(w, "errors", json_integer(warm->errors));
    json_object_set_new(w, "firstError",
                        warm->errors ? json_string(warm->first_error) : json_null());
    json_object_set_new(o, "warmup", w);
    return o;
}

/* parse_long reads a whole decimal number within [lo, hi] into out. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* parse_citizens reads PHONE:CODE,PHONE:CODE,... into o->citizens. */
static int parse_citizens(const char *s, opts *o)
{
    o->n_citizens = 0;
    while (*s) {
        size_t n = strcspn(s, ","), c = strcspn(s, ":");
        if (o->n_citizens == MAX_CITIZENS || c >= n || c == 0 ||
            c >= sizeof(o->citizens[0].phone) || n - c - 1 == 0 ||
            n - c - 1 >= sizeof(o->citizens[0].code))
            return -1;
        citizen *z = &o->citizens[o->n_citizens++];
        memcpy(z->phone, s, c);
        z->phone[c] = '\0';
        memcpy(z->code, s + c + 1, n - c - 1);
        z->code[n - c - 1] = '\0';
        s += n + (s[n] == ',');
    }
    return o->n_citizens > 0 ? 0 : -1;
}

static const char usage[] =
    "usage: login-driver --url http://127.0.0.1:PORT --client-secret SECRET\n"
    "                    [--client-id ID] [--redirect-uri URI] [--logins N] [--vus N]\n"
    "                    [--seconds S] [--warmup N] [--citizens PHONE:CODE,...]\n"
    "       login-driver --exchange CODES.json --url http://127.0.0.1:PORT --client-secret SECRET\n"
    "                    [--client-id ID] [--redirect-uri URI] [--vus N] [--seconds S]\n";

/* bad_option prints why the options are rejected, and the usage. */
static int bad_option(const char *fmt, const char *arg)
{
    fputs("login-driver: ", stderr);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return 2;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {{"url", 1, 0, 'u'},
                                       {"client-id", 1, 0, 'i'},
                                       {"client-secret", 1, 0, 's'},
                                       {"redirect-uri", 1, 0, 'r'},
                                       {"logins", 1, 0, 'n'},
                                       {"vus", 1, 0, 'v'},
                                       {"seconds", 1, 0, 't'},
                                       {"warmup", 1, 0, 'w'},
                                       {"citizens", 1, 0, 'c'},
                                       {"exchange", 1, 0, 'x'},
                                       {0, 0, 0, 0}};
    opterr = 0;
    for (int ch; (ch = getopt_long(argc, argv, ":", lo, NULL)) != -1;) {
        char *end = NULL;
        switch (ch) {
        case 'u':
            o->url = optarg;
            break;
        case 'i':
            o->client_id = optarg;
            break;
        case 's':
            o->secret = optarg;
            break;
        case 'r':
            o->redirect = optarg;
            break;
        case 'x':
            o->exchange = optarg;
            break;
        case 'n':
            o->login_only = 1;
            if (parse_long(optarg, 1, 100000000, &o->logins) != 0)
                return bad_option("--logins wants a whole number from 1 (got '%s')", optarg);
            break;
        case 'v':
            if (parse_long(optarg, 1, 4096, &o->vus) != 0)
                return bad_option("--vus wants a whole number from 1 to 4096 (got '%s')", optarg);
            break;
        case 'w':
            o->login_only = 1;
            if (parse_long(optarg, 0, 100000000, &o->warmup) != 0)
                return bad_option("--warmup wants a whole number from 0 (got '%s')", optarg);
            break;
        case 't':
            errno = 0;
            o->seconds = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !(o->seconds > 0) ||
                o->seconds > 86400)
                return bad_option("--seconds wants a number of seconds, > 0 and at most a day "
                                  "(got '%s')",
                                  optarg);
            break;
        case 'c':
            o->login_only = 1;
            if (parse_citizens(optarg, o) != 0)
                return bad_option("--citizens wants PHONE:CODE[,PHONE:CODE...] (at most 16, "
                                  "each part under 32 characters; got '%s')",
                                  optarg);
            break;
        case ':':
            return bad_option("%s wants a value", argv[optind - 1]);
        default:
            return bad_option("unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_option("unexpected argument '%s'", argv[optind]);
    if (o->url == NULL || strncmp(o->url, "http://", 7) != 0 || strlen(o->url) > 200 ||
        o->url[strlen(o->url) - 1] == '/')
        return bad_option("--url wants http://HOST:PORT without a path (got '%s')",
                          o->url ? o->url : "nothing");
    if (o->secret == NULL || o->secret[0] == '\0')
        return bad_option("%s", "--client-secret is required");
    if (o->client_id[0] == '\0' || strlen(o->client_id) > 200 || o->redirect[0] == '\0' ||
        strlen(o->redirect) > 500)
        return bad_option("%s", "--client-id and --redirect-uri want a value (up to 200 and "
                                "500 characters)");
    if (o->exchange != NULL && o->login_only)
        return bad_option("%s", "--logins, --warmup and --citizens are for logins, not --exchange");
    return 0;
}

/* load_codes reads --exchange's file into *codes: a non-empty JSON array of
 * objects with the strings code (1-1000 characters), verifier (43-128) and
 * nonce (1-127). 0, or 2 (the usage error) after saying what is wrong. */
static int load_codes(const char *file, json_t **codes)
{
    json_error_t jerr;
    json_t *a = json_load_file(file, 0, &jerr), *c;
    size_t i;
    char what[600];
    int rc = 2;
    if (a == NULL) {
        snprintf(what, sizeof(what), "--exchange: %s: %s", file, jerr.text);
        goto cleanup;
    }
    if (!json_is_array(a) || json_array_size(a) == 0) {
        snprintf(what, sizeof(what), "--exchange: %s is not a non-empty JSON array", file);
        goto cleanup;
    }
    json_array_foreach(a, i, c)
    {
        const char *code = json_string_value(json_object_get(c, "code"));
        const char *ver = json_string_value(json_object_get(c, "verifier"));
        const char *nonce = json_string_value(json_object_get(c, "nonce"));
        if (code == NULL || ver == NULL || nonce == NULL || code[0] == '\0' ||
            strlen(code) > 1000 || strlen(ver) < 43 || strlen(ver) > 128 || nonce[0] == '\0' ||
            strlen(nonce) > 127) {
            snprintf(what, sizeof(what),
                     "--exchange: %s: element %zu is not {\"code\", \"verifier\", \"nonce\"} "
                     "(strings of 1-1000, 43-128 and 1-127 characters)",
                     file, i);
            goto cleanup;
        }
    }
    *codes = a;
    a = NULL;
    rc = 0;
cleanup:
    json_decref(a);
    return rc == 0 ? 0 : bad_option("%s", what);
}

/* basic_header is "Authorization: Basic " and base64(urlencode(id) ":"
 * urlencode(secret)) (RFC 6749 2.3.1) as a new header list, or NULL. */
static struct curl_slist *basic_header(CURL *easy, const opts *o)
{
    char *id = curl_easy_escape(easy, o->client_id, 0), *sec = curl_easy_escape(easy, o->secret, 0);
    char pair[2048], hdr[3000] = "Authorization: Basic ";
    struct curl_slist *out = NULL;
    size_t pre = strlen(hdr);
    int n;
    if (id != NULL && sec != NULL && (n = snprintf(pair, sizeof(pair), "%s:%s", id, sec)) > 0 &&
        (size_t)n < sizeof(pair)) {
        EVP_EncodeBlock((unsigned char *)hdr + pre, (const unsigned char *)pair, n);
        out = curl_slist_append(NULL, hdr);
    }
    curl_free(id);
    curl_free(sec);
    return out;
}

int main(int argc, char **argv)
{
    driver d;
    phase warm, run;
    int rc = 1, curl_up = 0, printed = 0;
    json_t *out = NULL;
    CURL *tmp = NULL;
    memset(&d, 0, sizeof(d));
    memset(&warm, 0, sizeof(warm));
    memset(&run, 0, sizeof(run));
    d.o = (opts){.client_id = "bench-portal",
                 .redirect = "http://127.0.0.1:9/callback",
                 .logins = 2000,
                 .vus = 32,
                 .seconds = 150};
    parse_citizens("+37200000766:60001019906,+37269000766:38001085718,+37269930366:51307149560",
                   &d.o); /* the simulator's citizens who log in (tests/sim/mobile-id.mjs) */
    if ((rc = parse_opts(argc, argv, &d.o)) != 0 ||
        (d.o.exchange != NULL && (rc = load_codes(d.o.exchange, &d.codes)) != 0))
        return rc;
    rc = 1;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto cleanup;
    curl_up = 1;
    if ((tmp = curl_easy_init()) == NULL ||
        (d.q_client_id = curl_easy_escape(tmp, d.o.client_id, 0)) == NULL ||
        (d.q_redirect = curl_easy_escape(tmp, d.o.redirect, 0)) == NULL ||
        (d.form_hdr = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded")) ==
            NULL ||
        curl_slist_append(d.form_hdr, "Expect:") == NULL ||
        (d.token_hdr = basic_header(tmp, &d.o)) == NULL ||
        curl_slist_append(d.token_hdr, "Content-Type: application/x-www-form-urlencoded") == NULL ||
        curl_slist_append(d.token_hdr, "Expect:") == NULL ||
        (d.multi = curl_multi_init()) == NULL ||
        (d.vus = calloc((size_t)d.o.vus, sizeof(*d.vus))) == NULL)
        goto cleanup;
    /* one connection per virtual user, all kept alive between requests */
    curl_multi_setopt(d.multi, CURLMOPT_MAXCONNECTS, d.o.vus);
    curl_multi_setopt(d.multi, CURLMOPT_MAX_HOST_CONNECTIONS, d.o.vus);
    for (long i = 0; i < d.o.vus; i++) {
        vu *v = &d.vus[i];
        v->cap = 16384;
        if ((v->body = malloc(v->cap)) == NULL || (v->easy = curl_easy_init()) == NULL)
            goto cleanup;
        curl_easy_setopt(v->easy, CURLOPT_PRIVATE, (char *)v);
        curl_easy_setopt(v->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(v->easy, CURLOPT_WRITEDATA, v);
        curl_easy_setopt(v->easy, CURLOPT_COOKIEFILE, ""); /* its own cookie engine */
        curl_easy_setopt(v->easy, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(v->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(v->easy, CURLOPT_PROXY,
                         ""); /* loopback: never a proxy from the environment */
        curl_easy_setopt(v->easy, CURLOPT_TCP_NODELAY, 1L);
    }

    warm.count = d.o.warmup;
    warm.deadline = now_ms() + d.o.seconds * 1e3;
    if (warm.count > 0 && run_phase(&d, &warm) != 0)
        goto cleanup;
    if (warm.errors > 0)
        fprintf(stderr, "login-driver: warm-up: %ld errors, first: %s\n", warm.errors,
                warm.first_error);
    run.count = d.codes != NULL ? (long)json_array_size(d.codes) : d.o.logins;
    run.record = 1;
    double cpu0 = cpu_s(), t0 = now_ms();
    run.deadline = t0 + d.o.seconds * 1e3;
    if (run_phase(&d, &run) != 0)
        goto cleanup;
    double secs = (now_ms() - t0) / 1e3, cpu = cpu_s() - cpu0;
    if (run.errors > 0)
        fprintf(stderr, "login-driver: %ld errors, first: %s\n", run.errors, run.first_error);
    if ((out = report(&run, &warm, secs, cpu)) == NULL ||
        json_dumpf(out, stdout, JSON_COMPACT) != 0 || puts("") < 0)
        goto cleanup;
    printed = 1;
    rc = run.errors > 0 || warm.errors > 0 ? 1 : 0;
cleanup:
    if (!printed)
        fprintf(stderr, "login-driver: the run could not be made (curl, memory or randomness)\n");
    json_decref(out);
    json_decref(d.codes);
    for (long i = 0; d.vus != NULL && i < d.o.vus; i++) {
        if (d.vus[i].easy != NULL) {
            curl_multi_remove_handle(d.multi, d.vus[i].easy);
            curl_easy_cleanup(d.vus[i].easy);
        }
        curl_slist_free_all(d.vus[i].bearer);
        free(d.vus[i].body);
    }
    free(d.vus);
    if (d.multi != NULL)
        curl_multi_cleanup(d.multi);
    curl_slist_free_all(d.form_hdr);
    curl_slist_free_all(d.token_hdr);
    curl_free(d.q_client_id);
    curl_free(d.q_redirect);
    if (tmp != NULL)
        curl_easy_cleanup(tmp);
    for (int k = 0; k < K_N; k++) {
        free(run.kind_ms[k].v);
        free(warm.kind_ms[k].v);
    }
    free(run.login_ms.v);
    free(warm.login_ms.v);
    if (curl_up)
        curl_global_cleanup();
    return rc;
}
