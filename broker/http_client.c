#include "broker/http_client.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/buf.h"
#include "broker/metrics.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

eh_rc eh_http_client_init(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_init_result == CURLE_OK ? EH_OK : EH_ERR_INTERNAL;
}

/* One easy handle per thread, reused from call to call: curl keeps its
 * connections in it, so the next call to the same service skips the TCP
 * (and TLS) set-up. It is reset before each call, so no option of one call
 * leaks into the next, and freed when the thread ends. */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;
static int handle_key_ok;
static atomic_uint handles_kept; /* kept handles not freed yet, of every thread */

static void handle_free(void *handle)
{
    curl_easy_cleanup(handle);
    atomic_fetch_sub(&handles_kept, 1);
}

unsigned eh_http_client_other_threads(void)
{
    unsigned kept = atomic_load(&handles_kept);
    int mine = handle_key_ok && pthread_getspecific(handle_key) != NULL;

    return mine && kept > 0 ? kept - 1 : kept;
}

static void handle_key_create(void)
{
    handle_key_ok = pthread_key_create(&handle_key, handle_free) == 0;
}

/* thread_handle returns this thread's handle, reset (NULL when curl cannot
 * make one). Without thread-specific data each call gets a new handle,
 * freed by handle_release. */
static CURL *thread_handle(void)
{
    CURL *c;

    pthread_once(&handle_once, handle_key_create);
    c = handle_key_ok ? pthread_getspecific(handle_key) : NULL;
    if (c != NULL) {
        curl_easy_reset(c);
        return c;
    }
    c = curl_easy_init();
    if (c != NULL && handle_key_ok) {
        if (pthread_setspecific(handle_key, c) != 0) {
            curl_easy_cleanup(c);
            c = NULL;
        } else {
            atomic_fetch_add(&handles_kept, 1);
        }
    }
    return c;
}

/* handle_release frees a handle that is not the thread's kept one. */
static void handle_release(CURL *c)
{
    if (c != NULL && (!handle_key_ok || pthread_getspecific(handle_key) != c))
        curl_easy_cleanup(c);
}

/* collect appends received bytes to the eh_buf, refusing more than the
 * maximum (curl then aborts the transfer). */
static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
    eh_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > EH_HTTP_CLIENT_MAX_BODY)
        return 0;
    eh_buf_append_len(b, data, n);
    return b->failed ? 0 : n;
}

eh_rc eh_http_client_call(const eh_http_call *call, eh_http_answer *answer, char *why,
                          size_t whylen)
{
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    const char *body_text;
    eh_buf body;
    CURLcode cc;
    uint64_t t0;
    eh_rc rc = EH_ERR_IO;

    memset(answer, 0, sizeof(*answer));
    eh_buf_init(&body);
    why[0] = '\0';
    if (eh_http_client_init() != EH_OK || (curl = thread_handle()) == NULL) {
        snprintf(why, whylen, "libcurl unavailable");
        return EH_ERR_INTERNAL;
    }
    body_text = call->json_body != NULL   ? call->json_body
                : call->form_body != NULL ? call->form_body
                                          : call->soap_body;
    if (call->json_body == NULL && call->form_body == NULL && call->soap_body != NULL) {
        headers = curl_slist_append(headers, "Accept: text/xml");
        headers = curl_slist_append(headers, "Content-Type: text/xml; charset=utf-8");
        headers = curl_slist_append(headers, /* SAML 2.0 Bindings 3.2.3.3 */
                                    "SOAPAction: \"http://www.oasis-open.org/committees/security\"");
    } else if (body_text == NULL && call->raw_body != NULL) {
        char line[160];
        if (call->raw_content_type == NULL || strpbrk(call->raw_content_type, "\r\n") != NULL ||
            (call->raw_accept != NULL && strpbrk(call->raw_accept, "\r\n") != NULL)) {
            snprintf(why, whylen, "bad content type");
            rc = EH_ERR_INVALID;
            goto cleanup;
        }
        snprintf(line, sizeof(line), "Content-Type: %s", call->raw_content_type);
        headers = curl_slist_append(headers, line);
        snprintf(line, sizeof(line), "Accept: %s", call->raw_accept ? call->raw_accept : "*/*");
        headers = curl_slist_append(headers, line);
    } else {
        headers = curl_slist_append(headers, "Accept: application/json");
    }
    if (call->json_body != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/json; charset=UTF-8");
    else if (call->form_body != NULL)
        headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    if (call->authorization != NULL) {
        eh_buf h;
        char *line = NULL;
        eh_buf_init(&h);
        eh_buf_append(&h, "Authorization: ");
        eh_buf_append(&h, call->authorization);
        if (eh_buf_finish(&h, &line, NULL) != EH_OK || strpbrk(line, "\r\n") != NULL) {
            free(line);
            snprintf(why, whylen, "bad Authorization value");
            rc = EH_ERR_INVALID;
            goto cleanup;
        }
        headers = curl_slist_append(headers, line);
        OPENSSL_cleanse(line, strlen(line));
        free(line);
    }
    curl_easy_setopt(curl, CURLOPT_URL, call->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)call->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "eidhub");
    if (call->pinned_public_key != NULL)
        curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, call->pinned_public_key);
    if (body_text != NULL) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body_text);
    } else if (call->raw_body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)call->raw_body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call->raw_body);
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    }
    t0 = eh_metrics_now();
    cc = curl_easy_perform(curl);
    eh_metrics_upstream((eh_upstream)call->upstream, eh_metrics_now() - t0);
    if (cc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(cc));
        rc = (cc == CURLE_WRITE_ERROR && !body.failed) ? EH_ERR_TOO_LARGE : EH_ERR_IO;
        goto cleanup;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer->status);
    rc = eh_buf_finish(&body, &answer->body, &answer->body_len);
    if (rc == EH_OK && answer->body == NULL) {
        answer->body = strdup("");
        rc = answer->body ? EH_OK : EH_ERR_NOMEM;
    }
cleanup:
    eh_buf_free(&body);
    curl_slist_free_all(headers);
    handle_release(curl);
    return rc;
}

void eh_http_answer_clear(eh_http_answer *answer)
{
    free(answer->body);
    memset(answer, 0, sizeof(*answer));
}
