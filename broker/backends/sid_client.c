#include "broker/backends/sid_client.h"
#include "broker/backends/sk_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attributes/ee_personal_code.h"
#include "broker/http_client.h"


int eh_sid_document_valid(const char *document)
{
    return eh_sk_path_part_ok(document);
}

/* lv_code_valid checks a Latvian personal code of 11 digits: the codes
 * from 2017 begin "32" and carry no date and no checksum; the older ones
 * are DDMMYY, a century digit and a serial, and a check digit
 * (1101 - sum of the first ten digits weighted 1 6 3 7 9 10 5 8 4 2) mod 11. */
static int lv_code_valid(const char *digits)
{
    static const int weights[] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;

    if (strlen(digits) != 11 || strspn(digits, "0123456789") != 11)
        return 0;
    if (digits[0] == '3' && digits[1] == '2')
        return 1;
    for (int i = 0; i < 10; i++)
        sum += weights[i] * (digits[i] - '0');
    return (1101 - sum) % 11 == digits[10] - '0';
}

int eh_sid_personal_code(const char *country, const char *code, char *out, size_t outlen)
{
    char digits[12];
    size_t n = code ? strlen(code) : 0;

    if (out == NULL || outlen == 0)
        return 0;
    out[0] = '\0';
    if (country == NULL || code == NULL)
        return 0;
    if (strcmp(country, "EE") == 0 || strcmp(country, "LT") == 0) {
        if (!eh_ee_personal_code_valid(code) || outlen < 12)
            return 0;
        snprintf(out, outlen, "%s", code);
        return 1;
    }
    if (strcmp(country, "LV") != 0 || outlen < 13)
        return 0;
    if (n == 12 && code[6] == '-') {
        memcpy(digits, code, 6);
        memcpy(digits + 6, code + 7, 5);
    } else if (n == 11) {
        memcpy(digits, code, 11);
    } else {
        return 0;
    }
    digits[11] = '\0';
    if (!lv_code_valid(digits))
        return 0;
    snprintf(out, outlen, "%.6s-%.5s", digits, digits + 6);
    return 1;
}

const char *eh_sid_http_result(long status, int at_start)
{
    switch (status) {
    case 404:
        return at_start ? "ACCOUNT_NOT_FOUND" : "TIMEOUT";
    case 471:
        return "NO_SUITABLE_ACCOUNT";
    case 472:
        return "VIEW_APP";
    case 480:
        return "CLIENT_TOO_OLD";
    case 580:
        return "UNDER_MAINTENANCE";
    default:
        return NULL;
    }
}

/* call performs one Smart-ID API call of timeout_ms and checks for a 200
 * answer (*status: its HTTP status, for eh_sid_http_result). */
static eh_rc call(const eh_sid *sid, const char *method, const char *url, const char *body,
                  unsigned timeout_ms, eh_http_answer *answer, long *status, char *why,
                  size_t whylen)
{
    eh_http_call c = {.method = method,
                      .url = url,
                      .json_body = body,
                      .timeout_ms = timeout_ms,
                      .upstream = EH_UPSTREAM_SMART_ID};

    return eh_sk_call(&sid->sk, &c, "Smart-ID", answer, status, why, whylen);
}

eh_rc eh_sid_client_start(const eh_sid *sid, const char *kind, const char *id,
                          const unsigned char *hash, const char *display_text, char **session_id,
                          long *status, char *why, size_t whylen)
{
    char *hash_b64 = NULL, *body_text = NULL, *url = NULL;
    json_t *body = NULL;
    eh_http_answer answer = {0};
    eh_rc rc = EH_ERR_INVALID;

    *session_id = NULL;
    *status = 0;
    snprintf(why, whylen, "not a usable identifier");
    if ((strcmp(kind, "etsi") != 0 && strcmp(kind, "document") != 0) || !eh_sk_path_part_ok(id))
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (!eh_sk_hash_b64(&sid->sk, hash, &hash_b64))
        goto cleanup;
    body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "relyingPartyUUID",
                     sid->sk.rp_uuid, "relyingPartyName", sid->sk.rp_name, "certificateLevel",
                     sid->certificate_level, "hash", hash_b64, "hashType", sid->sk.hash_type,
                     "allowedInteractionsOrder", "type", "verificationCodeChoice", "displayText60",
                     display_text, "type", "displayTextAndPIN", "displayText60", display_text);
    if (body == NULL || (body_text = json_dumps(body, JSON_COMPACT)) == NULL ||
        asprintf(&url, "%s/authentication/%s/%s", sid->sk.url, kind, id) < 0) {
        url = NULL;
        goto cleanup;
    }
    rc =
        call(sid, "POST", url, body_text, sid->sk.request_timeout_ms, &answer, status, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_sk_session_id_of(answer.body, answer.body_len, "Smart-ID", session_id, why, whylen);
cleanup:
    free(hash_b64);
    free(body_text);
    free(url);
    json_decref(body);
    eh_http_answer_clear(&answer);
    return rc;
}

eh_rc eh_sid_session_parse(const char *body, size_t len, eh_sid_session *s, char *why,
                           size_t whylen)
{
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
    json_t *result, *signature, *cert;
    eh_rc rc = EH_ERR_IO;

    memset(s, 0, sizeof(*s));
    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "state"))) {
        snprintf(why, whylen, "Smart-ID API answered without a state");
        goto cleanup;
    }
    result = json_object_get(doc, "result");
    signature = json_object_get(doc, "signature");
    cert = json_object_get(doc, "cert");
    rc = EH_ERR_NOMEM;
    if (!eh_sk_copy_member(doc, "state", &s->state) ||
        !eh_sk_copy_member(result, "endResult", &s->end_result) ||
        !eh_sk_copy_member(result, "documentNumber", &s->document_number) ||
        !eh_sk_copy_member(signature, "value", &s->signature_value) ||
        !eh_sk_copy_member(signature, "algorithm", &s->signature_algorithm) ||
        !eh_sk_copy_member(cert, "value", &s->cert) ||
        !eh_sk_copy_member(cert, "certificateLevel", &s->cert_level) ||
        !eh_sk_copy_member(doc, "interactionFlowUsed", &s->interaction_flow))
        goto cleanup;
    rc = eh_sk_state_ok(s->state, s->end_result, "Smart-ID", "an endResult", why, whylen);
cleanup:
    if (rc != EH_OK)
        eh_sid_session_clear(s);
    json_decref(doc);
    return rc;
}

eh_rc eh_sid_client_poll(const eh_sid *sid, const char *session_id, eh_sid_session *s, long *status,
                         char *why, size_t whylen)
{
    char *url = NULL;
    eh_http_answer answer = {0};
    eh_rc rc = EH_ERR_INVALID;

    memset(s, 0, sizeof(*s));
    *status = 0;
    snprintf(why, whylen, "not a usable session id");
    if (!eh_sk_path_part_ok(session_id))
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (asprintf(&url, "%s/session/%s?timeoutMs=%u", sid->sk.url, session_id,
                 sid->sk.poll_timeout_ms) < 0) {
        url = NULL;
        goto cleanup;
    }
    rc = call(sid, "GET", url, NULL, sid->sk.poll_timeout_ms + sid->sk.request_timeout_ms, &answer,
              status, why, whylen);
    if (rc == EH_OK)
        rc = eh_sid_session_parse(answer.body, answer.body_len, s, why, whylen);
cleanup:
    free(url);
    eh_http_answer_clear(&answer);
    return rc;
}

void eh_sid_session_clear(eh_sid_session *s)
{
    free(s->state);
    free(s->end_result);
    free(s->document_number);
    free(s->signature_value);
    free(s->signature_algorithm);
    free(s->cert);
    free(s->cert_level);
    free(s->interaction_flow);
    memset(s, 0, sizeof(*s));
}
