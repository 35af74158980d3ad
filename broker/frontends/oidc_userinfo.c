/* eidhub: the OpenID Connect userinfo endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/broker.h"
#include "broker/frontends/oidc_op.h"
#include "broker/random.h"

/* send_invalid_token answers 401 with the Bearer challenge (RFC 6750). */
static eh_rc send_invalid_token(eh_http_response *resp, const char *error)
{
    char challenge[128];
    const char body[] = "{\"error\":\"invalid_token\"}";
    eh_rc rc;

    if (error != NULL)
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"eidhub\", error=\"%s\"", error);
    else
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"eidhub\"");
    rc = eh_http_response_set_body(resp, 401, "application/json", body, sizeof(body) - 1);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "WWW-Authenticate", challenge);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    return rc;
}

/* bearer_of returns the access token of the request: the Authorization
 * header, or the access_token form parameter of a POST (RFC 6750 2.1, 2.2).
 * Caller frees. */
static char *bearer_of(const eh_http_request *req)
{
    const char *auth = eh_http_header_get(req, "Authorization");
    char *token = NULL;

    if (auth != NULL) {
        if (strncasecmp(auth, "Bearer ", 7) != 0)
            return NULL;
        auth += 7;
        while (*auth == ' ')
            auth++;
        return *auth ? strdup(auth) : NULL;
    }
    if (req->method == EH_HTTP_POST && req->body != NULL)
        eh_http_param_get((const char *)req->body, req->body_len, "access_token", &token);
    return token;
}

eh_rc eh_oidc_userinfo_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    char *token = bearer_of(req), *digest = NULL, *claims = NULL;
    char key[EH_STORE_KEY_MAX + 1];
    size_t len = 0;
    eh_rc rc;

    if (token == NULL)
        return send_invalid_token(resp, NULL);
    if ((rc = eh_token_digest(token, &digest)) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), "at:%s", digest);
    rc = eh_store_get(eh_broker_store_get(b), key, &claims, &len);
    if (rc == EH_ERR_NOT_FOUND) {
        rc = send_invalid_token(resp, "invalid_token");
        goto cleanup;
    }
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_http_response_take_body(resp, 200, "application/json", claims, len);
    claims = NULL;
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
cleanup:
    free(token);
    free(digest);
    free(claims);
    return rc;
}
