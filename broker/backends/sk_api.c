#include "broker/backends/sk_api.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eh_rc eh_sk_call(const eh_sk_settings *sk, eh_http_call *call, const char *service,
                 eh_http_answer *answer, long *status, char *why, size_t whylen)
{
    eh_rc rc;

    call->pinned_public_key = sk->pinned_public_key;
    call->connect_timeout_ms = sk->request_timeout_ms;
    rc = eh_http_client_call(call, answer, why, whylen);
    *status = rc == EH_OK ? answer->status : 0;
    if (rc != EH_OK)
        return rc;
    if (answer->status != 200) {
        snprintf(why, whylen, "%s API answered HTTP %ld", service, answer->status);
        return EH_ERR_IO;
    }
    return EH_OK;
}

int eh_sk_hash_b64(const eh_sk_settings *sk, const unsigned char *hash, char **out)
{
    size_t len = 0;
    cjose_err err;

    *out = NULL;
    return cjose_base64_encode(hash, sk->hash_len, out, &len, &err) ? 1 : 0;
}

int eh_sk_path_part_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > EH_SK_PATH_PART_MAX)
        return 0;
    return strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") == n;
}

eh_rc eh_sk_session_id_of(const char *body, size_t len, const char *service, char **out,
                          char *why, size_t whylen)
{
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
    const char *id = json_string_value(json_object_get(doc, "sessionID"));
    eh_rc rc = EH_ERR_IO;

    *out = NULL;
    if (id == NULL || !eh_sk_path_part_ok(id)) {
        snprintf(why, whylen, "%s API answered without a usable sessionID", service);
    } else {
        *out = strdup(id);
        rc = *out ? EH_OK : EH_ERR_NOMEM;
    }
    json_decref(doc);
    return rc;
}

int eh_sk_copy_member(const json_t *obj, const char *name, char **dst)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (v == NULL)
        return 1;
    *dst = strdup(v);
    return *dst != NULL;
}

eh_rc eh_sk_state_ok(const char *state, const char *outcome, const char *service,
                     const char *outcome_name, char *why, size_t whylen)
{
    if (state == NULL || (strcmp(state, "RUNNING") != 0 && strcmp(state, "COMPLETE") != 0)) {
        snprintf(why, whylen, "%s API answered an unknown state", service);
        return EH_ERR_IO;
    }
    if (strcmp(state, "COMPLETE") == 0 && outcome == NULL) {
        snprintf(why, whylen, "%s API answered COMPLETE without %s", service, outcome_name);
        return EH_ERR_IO;
    }
    return EH_OK;
}
