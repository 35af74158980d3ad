#include "broker/sso.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/cookie.h"
#include "broker/random.h"

unsigned eh_sso_lifetime_s(eh_broker *b, eh_loa loa)
{
    const eh_config *cfg = eh_broker_config_get(b);
    if ((unsigned)loa > EH_LOA_HIGH)
        return 0;
    return cfg->sso_lifetime_s[loa];
}

/* key_of returns "sso:<digest of secret>" (caller frees). */
static eh_rc key_of(const char *secret, char **key)
{
    char *digest = NULL;
    eh_rc rc = eh_token_digest(secret, &digest);
    if (rc == EH_OK && asprintf(key, "sso:%s", digest) < 0)
        rc = EH_ERR_NOMEM;
    free(digest);
    return rc;
}

/* save writes s under its key, living until s->expires; with index (a
 * new session) the key of s under "ssosid:<sid>" too, for as long, in the
 * same exchange with the store. */
static eh_rc save(eh_broker *b, const eh_sso *s, const char *index)
{
    int64_t left_ms = (s->expires - (int64_t)time(NULL)) * 1000;
    eh_store_batch_op ops[2];
    json_t *doc = NULL, *id = NULL;
    char *text = NULL;
    eh_rc rc;

    if (left_ms <= 0)
        return EH_ERR_NOT_FOUND;
    if ((rc = eh_identity_to_json(s->identity, &id)) != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    doc = json_pack("{s:s, s:o, s:O, s:I}", "sid", s->sid, "identity", id, "requesters",
                    s->requesters, "expires", (json_int_t)s->expires);
    if (doc == NULL ||
        (s->upstream != NULL && json_object_set(doc, "upstream", s->upstream) != 0) ||
        (text = json_dumps(doc, JSON_COMPACT)) == NULL)
        goto cleanup;
    if (index == NULL) {
        rc = eh_store_set(eh_broker_store_get(b), s->key, text, strlen(text), (uint32_t)left_ms);
        goto cleanup;
    }
    ops[0] = (eh_store_batch_op){.kind = EH_STORE_BATCH_SET,
                                 .key = s->key,
                                 .value = text,
                                 .len = strlen(text),
                                 .ttl_ms = (uint32_t)left_ms};
    ops[1] = (eh_store_batch_op){.kind = EH_STORE_BATCH_SET,
                                 .key = index,
                                 .value = s->key,
                                 .len = strlen(s->key),
                                 .ttl_ms = (uint32_t)left_ms};
    rc = eh_store_batch(eh_broker_store_get(b), ops, 2);
cleanup:
    free(text);
    json_decref(doc);
    return rc;
}

/* parse rebuilds a session from its stored text. */
static eh_rc parse(const char *key, const char *text, size_t len, eh_sso **out)
{
    json_t *doc = json_loadb(text, len, 0, NULL), *id, *requesters;
    const char *sid;
    json_int_t expires;
    eh_sso *s = NULL;
    eh_rc rc = EH_ERR_INVALID;

    if (doc == NULL || json_unpack(doc, "{s:s, s:o, s:o, s:I}", "sid", &sid, "identity", &id,
                                   "requesters", &requesters, "expires", &expires) != 0 ||
        !json_is_object(requesters))
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->key = strdup(key)) == NULL ||
        (s->sid = strdup(sid)) == NULL)
        goto cleanup;
    s->requesters = json_incref(requesters);
    s->expires = expires;
    if (json_is_object(json_object_get(doc, "upstream")))
        s->upstream = json_incref(json_object_get(doc, "upstream"));
    if ((rc = eh_identity_from_json(id, &s->identity)) != EH_OK)
        goto cleanup;
    *out = s;
    s = NULL;
cleanup:
    eh_sso_free(s);
    json_decref(doc);
    return rc;
}

eh_rc eh_sso_create(eh_broker *b, const eh_identity *id, const char *requester,
                    const json_t *upstream, eh_http_response *resp, eh_sso **out)
{
    unsigned lifetime = eh_sso_lifetime_s(b, id->loa);
    char *secret = NULL, *index = NULL;
    json_t *id_json = NULL;
    eh_sso *s = NULL;
    eh_rc rc;

    if (lifetime == 0)
        return EH_ERR_NOT_FOUND;
    rc = EH_ERR_NOMEM;
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->requesters = json_object()) == NULL)
        goto cleanup;
    s->expires = (int64_t)time(NULL) + lifetime;
    if (requester != NULL &&
        json_object_set_new(s->requesters, requester, json_pack("{s:s?}", "sub", NULL)) != 0)
        goto cleanup;
    if (json_is_object(upstream) && (s->upstream = json_deep_copy(upstream)) == NULL)
        goto cleanup;
    if ((rc = eh_random_token(&secret)) != EH_OK || (rc = key_of(secret, &s->key)) != EH_OK ||
        (rc = eh_random_token(&s->sid)) != EH_OK ||
        (rc = eh_identity_to_json(id, &id_json)) != EH_OK ||
        (rc = eh_identity_from_json(id_json, &s->identity)) != EH_OK)
        goto cleanup;
    /* the public sid finds the session for a logout that carries no cookie:
     * the session and that index are written together */
    if (asprintf(&index, "ssosid:%s", s->sid) < 0) {
        index = NULL;
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = save(b, s, index)) != EH_OK ||
        (rc = eh_cookie_set(resp, EH_SSO_COOKIE, secret, (int)lifetime, eh_broker_secure(b))) !=
            EH_OK)
        goto cleanup;
    *out = s;
    s = NULL;
cleanup:
    free(secret);
    free(index);
    json_decref(id_json);
    eh_sso_free(s);
    return rc;
}

eh_rc eh_sso_load(eh_broker *b, const char *key, eh_sso **out)
{
    char *text = NULL;
    size_t len = 0;
    eh_rc rc = eh_store_get(eh_broker_store_get(b), key, &text, &len);
    if (rc == EH_OK)
        rc = parse(key, text, len, out);
    free(text);
    if (rc == EH_OK && (*out)->expires <= (int64_t)time(NULL)) {
        eh_sso_free(*out);
        *out = NULL;
        rc = EH_ERR_NOT_FOUND;
    }
    return rc;
}

eh_rc eh_sso_of_request(eh_broker *b, const eh_http_request *req, eh_sso **out)
{
    char *secret = NULL, *key = NULL;
    eh_rc rc = eh_cookie_get(req, EH_SSO_COOKIE, &secret);

    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND;
    if (rc == EH_OK && (rc = key_of(secret, &key)) == EH_OK)
        rc = eh_sso_load(b, key, out);
    free(secret);
    free(key);
    return rc;
}

eh_rc eh_sso_add_requester(eh_broker *b, const char *key, const char *client_id, const char *sub)
{
    eh_sso *s = NULL;
    eh_rc rc = eh_sso_load(b, key, &s);

    if (rc != EH_OK)
        return rc;
    if (json_object_set_new(s->requesters, client_id, json_pack("{s:s?}", "sub", sub)) != 0)
        rc = EH_ERR_NOMEM;
    else
        rc = save(b, s, NULL);
    eh_sso_free(s);
    return rc;
}

eh_rc eh_sso_set_upstream(eh_broker *b, const char *key, const json_t *upstream)
{
    eh_sso *s = NULL;
    eh_rc rc = eh_sso_load(b, key, &s);

    if (rc != EH_OK)
        return rc;
    json_decref(s->upstream);
    if ((s->upstream = json_deep_copy(upstream)) == NULL)
        rc = EH_ERR_NOMEM;
    else
        rc = save(b, s, NULL);
    eh_sso_free(s);
    return rc;
}

eh_rc eh_sso_detach(eh_broker *b, const char *key, const char *requester, int drop_upstream)
{
    eh_sso *s = NULL;
    eh_rc rc = eh_sso_load(b, key, &s);

    if (rc != EH_OK)
        return rc;
    if (requester != NULL)
        json_object_del(s->requesters, requester);
    if (drop_upstream) {
        json_decref(s->upstream);
        s->upstream = NULL;
    }
    rc = save(b, s, NULL);
    eh_sso_free(s);
    return rc;
}

eh_rc eh_sso_end(eh_broker *b, const char *key, eh_sso **out)
{
    char *text = NULL, *index = NULL;
    size_t len = 0;
    eh_sso *s = NULL;
    eh_rc rc = eh_store_take(eh_broker_store_get(b), key, &text, &len);

    if (rc == EH_OK)
        rc = parse(key, text, len, &s);
    if (rc == EH_OK && asprintf(&index, "ssosid:%s", s->sid) >= 0)
        eh_store_del(eh_broker_store_get(b), index);
    if (rc == EH_OK && out != NULL) {
        *out = s;
        s = NULL;
    }
    free(text);
    free(index);
    eh_sso_free(s);
    return rc;
}

eh_rc eh_sso_find_sid(eh_broker *b, const char *sid, char **key)
{
    char index[EH_STORE_KEY_MAX + 1];
    size_t len = 0;
    int n = snprintf(index, sizeof(index), "ssosid:%s", sid);

    if (n < 0 || (size_t)n >= sizeof(index) || !eh_store_key_valid(index))
        return EH_ERR_NOT_FOUND;
    return eh_store_get(eh_broker_store_get(b), index, key, &len);
}

eh_rc eh_sso_forget(eh_broker *b, eh_http_response *resp)
{
    return eh_cookie_set(resp, EH_SSO_COOKIE, "", 0, eh_broker_secure(b));
}

void eh_sso_free(eh_sso *s)
{
    if (s == NULL)
        return;
    free(s->key);
    free(s->sid);
    eh_identity_free(s->identity);
    json_decref(s->requesters);
    json_decref(s->upstream);
    free(s);
}
