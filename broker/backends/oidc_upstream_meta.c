/* eidhub: what national OpenID Connect eID providers publish, kept in
 * process memory: discovery documents and JWK Sets (see oidc_upstream.h).
 *
 * Each provider has one cache shared by the threads of a worker. Its lock
 * is held only to read or swap a pointer and count references, never
 * across a network call, so a slow provider delays only the requests that
 * need it. Snapshots are immutable once published; the last reference frees
 * them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/backends/oidc_upstream.h"
#include "broker/json_check.h"
#include "broker/log.h"

#define DISCOVERY_PATH "/.well-known/openid-configuration"
#define CONNECT_TIMEOUT_MS 2000u

/* now_ms reads the monotonic clock in milliseconds: ages and intervals of
 * the cache do not jump with the wall clock, nor round to whole seconds. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* clock_ms reads up's clock: its stand-in (unit tests), else now_ms. */
static int64_t clock_ms(const eh_oidcup *up)
{
    return up->now_ms != NULL ? up->now_ms() : now_ms();
}

/* A provider's JWK Set as fetched from uri. */
typedef struct keyset {
    unsigned refs;   /* under the cache's lock */
    int64_t fetched; /* clock_ms() */
    char *uri;
    eh_oidcup_jwks *jwks;
} keyset;

struct eh_oidcup_cache {
    pthread_mutex_t lock;
    eh_oidcup_meta *meta;
    keyset *keys;
    int keys_tried_ever;
    int64_t keys_tried; /* clock_ms() when a JWK Set fetch last started */
};

eh_rc eh_oidcup_cache_new(eh_oidcup_cache **out)
{
    eh_oidcup_cache *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return EH_ERR_NOMEM;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return EH_ERR_INTERNAL;
    }
    *out = c;
    return EH_OK;
}

static void meta_free(eh_oidcup_meta *m)
{
    if (m == NULL)
        return;
    free(m->authorization_endpoint);
    free(m->token_endpoint);
    free(m->userinfo_endpoint);
    free(m->jwks_uri);
    free(m);
}

static void keyset_free(keyset *k)
{
    if (k == NULL)
        return;
    free(k->uri);
    eh_oidcup_jwks_free(k->jwks);
    free(k);
}

void eh_oidcup_cache_free(eh_oidcup_cache *c)
{
    if (c == NULL)
        return;
    meta_free(c->meta);
    keyset_free(c->keys);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* fetch performs a GET of url for provider p and returns a 200 answer's
 * body (*answer, caller clears). */
static eh_rc fetch(const eh_oidcup *up, const eh_oidcup_provider *p, const char *url,
                   eh_http_answer *answer, char *why, size_t whylen)
{
    eh_http_call call = {0};
    eh_rc rc;

    call.method = "GET";
    call.url = url;
    call.pinned_public_key = p->pinned_public_key;
    call.timeout_ms = up->request_timeout_ms;
    call.upstream = EH_UPSTREAM_OIDC_UPSTREAM;
    call.connect_timeout_ms =
        up->request_timeout_ms < CONNECT_TIMEOUT_MS ? up->request_timeout_ms : CONNECT_TIMEOUT_MS;
    rc = up->fetch(&call, answer, why, whylen);
    if (rc != EH_OK)
        return rc;
    if (answer->status != 200) {
        snprintf(why, whylen, "HTTP status %ld", answer->status);
        eh_http_answer_clear(answer);
        return EH_ERR_IO;
    }
    return EH_OK;
}

/* endpoint copies the URL member name of doc into *out: required or not,
 * it must be an absolute https URL (http on loopback), without fragment. */
static eh_rc endpoint(const json_t *doc, const char *name, int required, char **out, char *why,
                      size_t whylen)
{
    const char *url = json_string_value(json_object_get(doc, name));
    char err[512];
    eh_check v = {"discovery", err, sizeof(err)};

    *out = NULL;
    if (url == NULL && json_object_get(doc, name) == NULL && !required)
        return EH_OK;
    if (url == NULL || eh_check_url(&v, name, url, 0) != EH_OK) {
        snprintf(why, whylen, "discovery: %s is missing or not an acceptable URL", name);
        return EH_ERR_INVALID;
    }
    *out = strdup(url);
    return *out ? EH_OK : EH_ERR_NOMEM;
}

/* fetch_meta fetches and validates the discovery document of p. */
static eh_rc fetch_meta(const eh_oidcup *up, const eh_oidcup_provider *p, eh_oidcup_meta **out,
                        char *why, size_t whylen)
{
    eh_http_answer answer = {0};
    eh_oidcup_meta *m = NULL;
    json_t *doc = NULL, *iss_supported;
    json_error_t jerr;
    char url[2048];
    size_t base = strlen(p->issuer);
    eh_rc rc = EH_ERR_INVALID;

    *out = NULL;
    while (base > 0 && p->issuer[base - 1] == '/')
        base--;
    if (snprintf(url, sizeof(url), "%.*s%s", (int)base, p->issuer, DISCOVERY_PATH) >=
        (int)sizeof(url)) {
        snprintf(why, whylen, "issuer too long");
        goto cleanup;
    }
    if ((rc = fetch(up, p, url, &answer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    doc = json_loadb(answer.body, answer.body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        snprintf(why, whylen, "discovery: not a JSON object");
        goto cleanup;
    }
    /* OpenID Connect Discovery 4.3: exactly the issuer we were configured with */
    if (!json_is_string(json_object_get(doc, "issuer")) ||
        strcmp(json_string_value(json_object_get(doc, "issuer")), p->issuer) != 0) {
        snprintf(why, whylen, "discovery: issuer is not the configured one");
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        goto cleanup;
    if ((rc = endpoint(doc, "authorization_endpoint", 1, &m->authorization_endpoint, why,
                       whylen)) != EH_OK ||
        (rc = endpoint(doc, "token_endpoint", 1, &m->token_endpoint, why, whylen)) != EH_OK ||
        (rc = endpoint(doc, "jwks_uri", 1, &m->jwks_uri, why, whylen)) != EH_OK ||
        (rc = endpoint(doc, "userinfo_endpoint", 0, &m->userinfo_endpoint, why, whylen)) != EH_OK)
        goto cleanup;
    iss_supported = json_object_get(doc, "authorization_response_iss_parameter_supported");
    m->iss_parameter_supported = json_is_true(iss_supported);
    m->fetched = clock_ms(up);
    m->refs = 1;
    *out = m;
    m = NULL;
    rc = EH_OK;
cleanup:
    meta_free(m);
    json_decref(doc);
    eh_http_answer_clear(&answer);
    return rc;
}

eh_rc eh_oidcup_meta_get(const eh_oidcup *up, const eh_oidcup_provider *p, eh_oidcup_meta **out,
                         char *why, size_t whylen)
{
    eh_oidcup_cache *c = p->cache;
    eh_oidcup_meta *m, *fresh = NULL, *old = NULL;
    int64_t now = clock_ms(up);
    eh_rc rc;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    m = c->meta;
    if (m != NULL && now - m->fetched < (int64_t)up->discovery_ttl_s * 1000) {
        m->refs++;
        pthread_mutex_unlock(&c->lock);
        *out = m;
        return EH_OK;
    }
    pthread_mutex_unlock(&c->lock);

    rc = fetch_meta(up, p, &fresh, why, whylen);
    pthread_mutex_lock(&c->lock);
    if (rc == EH_OK) {
        old = c->meta;
        c->meta = fresh; /* the cache's reference */
        if (old != NULL && --old->refs > 0)
            old = NULL;
    }
    m = c->meta; /* fresh, or a stale one when the fetch failed */
    if (m != NULL)
        m->refs++;
    pthread_mutex_unlock(&c->lock);
    meta_free(old);
    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "oidc_upstream: provider %s: discovery fetched", p->id);
    else if (m != NULL)
        eh_log(EH_LOG_WARN,
               "oidc_upstream: provider %s: discovery not refreshed (%s); using the "
               "copy of %lld seconds ago",
               p->id, why, (long long)((now - m->fetched) / 1000));
    if (m == NULL)
        return rc == EH_ERR_NOMEM ? rc : EH_ERR_IO;
    *out = m;
    return EH_OK;
}

void eh_oidcup_meta_release(const eh_oidcup_provider *p, eh_oidcup_meta *m)
{
    int last;

    if (m == NULL)
        return;
    pthread_mutex_lock(&p->cache->lock);
    last = --m->refs == 0;
    pthread_mutex_unlock(&p->cache->lock);
    if (last)
        meta_free(m);
}

static void keyset_release(eh_oidcup_cache *c, keyset *k)
{
    int last;

    if (k == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    last = --k->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (last)
        keyset_free(k);
}

/* fetch_keys fetches the JWK Set at uri. */
static eh_rc fetch_keys(const eh_oidcup *up, const eh_oidcup_provider *p, const char *uri,
                        keyset **out, char *why, size_t whylen)
{
    eh_http_answer answer = {0};
    keyset *k = NULL;
    eh_rc rc;

    *out = NULL;
    if ((rc = fetch(up, p, uri, &answer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((k = calloc(1, sizeof(*k))) == NULL || (k->uri = strdup(uri)) == NULL)
        goto cleanup;
    if ((rc = eh_oidcup_jwks_parse(answer.body, answer.body_len, &k->jwks, why, whylen)) != EH_OK)
        goto cleanup;
    k->fetched = clock_ms(up);
    k->refs = 1;
    *out = k;
    k = NULL;
cleanup:
    keyset_free(k);
    eh_http_answer_clear(&answer);
    return rc;
}

/* keys_get returns (*out, a reference) the JWK Set of p at m's jwks_uri.
 * It fetches the set when there is none (for that URI); when it is older
 * than the TTL or force asks (an unknown kid), it fetches it again unless a
 * fetch started less than jwks_refresh_min_seconds ago (then the set it has
 * is used). *fetched tells whether this call brought a new set. */
static eh_rc keys_get(const eh_oidcup *up, const eh_oidcup_provider *p, const eh_oidcup_meta *m,
                      int force, keyset **out, int *fetched, char *why, size_t whylen)
{
    eh_oidcup_cache *c = p->cache;
    int64_t now = clock_ms(up);
    keyset *k, *fresh = NULL, *old = NULL;
    int usable, may_fetch, recent;
    eh_rc rc = EH_OK;

    *out = NULL;
    *fetched = 0;
    pthread_mutex_lock(&c->lock);
    k = c->keys;
    usable = k != NULL && strcmp(k->uri, m->jwks_uri) == 0;
    recent = c->keys_tried_ever && now - c->keys_tried < (int64_t)up->jwks_refresh_min_s * 1000;
    if (!usable)
        may_fetch = 1;
    else if (force)
        may_fetch = !recent;
    else
        may_fetch = !recent && now - k->fetched >= (int64_t)up->discovery_ttl_s * 1000;
    if (!may_fetch) {
        k->refs++;
        pthread_mutex_unlock(&c->lock);
        *out = k;
        return EH_OK;
    }
    c->keys_tried = now; /* one fetch per interval, whichever thread makes it */
    c->keys_tried_ever = 1;
    pthread_mutex_unlock(&c->lock);

    rc = fetch_keys(up, p, m->jwks_uri, &fresh, why, whylen);
    pthread_mutex_lock(&c->lock);
    if (rc == EH_OK) {
        old = c->keys;
        c->keys = fresh;
        if (old != NULL && --old->refs > 0)
            old = NULL;
        *fetched = 1;
    }
    k = c->keys;
    usable = k != NULL && strcmp(k->uri, m->jwks_uri) == 0;
    if (usable)
        k->refs++;
    pthread_mutex_unlock(&c->lock);
    keyset_free(old);
    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "oidc_upstream: provider %s: JWK Set fetched (%zu usable keys)", p->id,
               eh_oidcup_jwks_count(k->jwks));
    else
        eh_log(EH_LOG_WARN, "oidc_upstream: provider %s: JWK Set not fetched: %s", p->id, why);
    if (!usable)
        return rc == EH_OK ? EH_ERR_INTERNAL : (rc == EH_ERR_NOMEM ? rc : EH_ERR_IO);
    *out = k;
    return EH_OK;
}

eh_rc eh_oidcup_verify(const eh_oidcup *up, const eh_oidcup_provider *p, const eh_oidcup_meta *m,
                       const char *token, const eh_oidcup_expect *x, json_t **claims, char *why,
                       size_t whylen)
{
    keyset *k = NULL;
    int fetched = 0;
    eh_rc rc;

    *claims = NULL;
    if ((rc = keys_get(up, p, m, 0, &k, &fetched, why, whylen)) != EH_OK)
        goto cleanup;
    rc = eh_oidcup_id_token_verify(token, k->jwks, x, claims, why, whylen);
    if (rc != EH_ERR_NOT_FOUND || fetched)
        goto cleanup;
    /* an unknown kid: the provider may have rolled its keys over */
    keyset_release(p->cache, k);
    k = NULL;
    if (keys_get(up, p, m, 1, &k, &fetched, why, whylen) != EH_OK || !fetched) {
        if (!fetched)
            eh_log(EH_LOG_WARN,
                   "oidc_upstream: provider %s: unknown kid; the JWK Set is not "
                   "fetched again before %u seconds have passed",
                   p->id, up->jwks_refresh_min_s);
        snprintf(why, whylen, "no key of the provider's JWK Set fits the ID token's kid and alg");
        rc = EH_ERR_NOT_FOUND;
        goto cleanup;
    }
    rc = eh_oidcup_id_token_verify(token, k->jwks, x, claims, why, whylen);
cleanup:
    keyset_release(p->cache, k);
    return rc;
}
