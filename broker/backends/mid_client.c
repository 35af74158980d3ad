#include "broker/backends/mid_client.h"
#include "broker/backends/sk_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/buf.h"
#include "broker/http_client.h"

/* call makes one MID API call; a status other than 200 becomes our error
 * (400: invalid, 401/403: our configuration, 404: not found, else I/O). */
static eh_rc call(const eh_mid *mid, eh_http_call *c, eh_http_answer *answer, char *why,
                  size_t whylen)
{
    long status;
    eh_rc rc = eh_sk_call(&mid->sk, c, "Mobile-ID", answer, &status, why, whylen);

    if (rc != EH_OK && status == 400)
        return EH_ERR_INVALID;
    if (rc != EH_OK && (status == 401 || status == 403))
        return EH_ERR_CONFIG;
    if (rc != EH_OK && status == 404)
        return EH_ERR_NOT_FOUND;
    return rc;
}

eh_rc eh_mid_client_start(const eh_mid *mid, const char *phone, const char *personal_code,
                          const unsigned char *hash, const char *language, char **session_id,
                          char *why, size_t whylen)
{
    char *hash_b64 = NULL, *body_text = NULL, *url = NULL;
    json_t *body = NULL;
    eh_http_answer answer = {0};
    eh_rc rc = EH_ERR_NOMEM;

    *session_id = NULL;
    if (!eh_sk_hash_b64(&mid->sk, hash, &hash_b64))
        goto cleanup;
    body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "relyingPartyUUID",
                     mid->sk.rp_uuid, "relyingPartyName", mid->sk.rp_name, "phoneNumber", phone,
                     "nationalIdentityNumber", personal_code, "hash", hash_b64, "hashType",
                     mid->sk.hash_type, "language", language);
    if (body == NULL)
        goto cleanup;
    if (mid->sk.display_text != NULL &&
        (json_object_set_new(body, "displayText", json_string(mid->sk.display_text)) != 0 ||
         json_object_set_new(body, "displayTextFormat", json_string("GSM-7")) != 0))
        goto cleanup;
    body_text = json_dumps(body, JSON_COMPACT);
    if (body_text == NULL || asprintf(&url, "%s/authentication", mid->sk.url) < 0)
        goto cleanup;
    eh_http_call c = {.method = "POST",
                      .url = url,
                      .json_body = body_text,
                      .timeout_ms = mid->sk.request_timeout_ms,
                      .upstream = EH_UPSTREAM_MOBILE_ID};
    rc = call(mid, &c, &answer, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_session_id_of(answer.body, answer.body_len, "Mobile-ID", session_id, why, whylen);
cleanup:
    free(hash_b64);
    free(body_text);
    free(url);
    json_decref(body);
    eh_http_answer_clear(&answer);
    return rc;
}

eh_rc eh_mid_session_parse(const char *body, size_t len, eh_mid_session *s, char *why,
                           size_t whylen)
{
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, NULL), *signature;
    eh_rc rc = EH_ERR_IO;

    memset(s, 0, sizeof(*s));
    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "state"))) {
        snprintf(why, whylen, "Mobile-ID API answered without a state");
        goto cleanup;
    }
    signature = json_object_get(doc, "signature");
    rc = EH_ERR_NOMEM;
    if (!eh_sk_copy_member(doc, "state", &s->state) || !eh_sk_copy_member(doc, "result", &s->result) ||
        !eh_sk_copy_member(doc, "cert", &s->cert) ||
        !eh_sk_copy_member(signature, "value", &s->signature_value) ||
        !eh_sk_copy_member(signature, "algorithm", &s->signature_algorithm))
        goto cleanup;
    rc = eh_sk_state_ok(s->state, s->result, "Mobile-ID", "a result", why, whylen);
cleanup:
    if (rc != EH_OK)
        eh_mid_session_clear(s);
    json_decref(doc);
    return rc;
}

eh_rc eh_mid_client_poll(const eh_mid *mid, const char *session_id, eh_mid_session *s, char *why,
                         size_t whylen)
{
    char *url = NULL;
    eh_http_answer answer = {0};
    eh_rc rc = EH_ERR_NOMEM;

    memset(s, 0, sizeof(*s));
    if (!eh_sk_path_part_ok(session_id))
        return EH_ERR_INVALID;
    if (asprintf(&url, "%s/authentication/session/%s?timeoutMs=%u", mid->sk.url, session_id,
                 mid->sk.poll_timeout_ms) < 0)
        goto cleanup;
    eh_http_call c = {.method = "GET",
                      .url = url,
                      .timeout_ms = mid->sk.poll_timeout_ms + mid->sk.request_timeout_ms,
                      .upstream = EH_UPSTREAM_MOBILE_ID};
    rc = call(mid, &c, &answer, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_mid_session_parse(answer.body, answer.body_len, s, why, whylen);
cleanup:
    free(url);
    eh_http_answer_clear(&answer);
    return rc;
}

void eh_mid_session_clear(eh_mid_session *s)
{
    free(s->state);
    free(s->result);
    free(s->signature_value);
    free(s->signature_algorithm);
    free(s->cert);
    memset(s, 0, sizeof(*s));
}
