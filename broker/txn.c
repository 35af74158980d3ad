#include "broker/txn.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/cookie.h"
#include "broker/log.h"
#include "broker/random.h"

/* note_login makes the transaction's login id the one the thread's log
 * lines carry: the first 16 characters of the digest of its id, so every
 * request of one login logs the same id and the id gives away no cookie. */
static void note_login(const eh_txn *txn)
{
    char *digest = NULL;

    if (eh_token_digest(txn->id, &digest) != EH_OK)
        return;
    if (strlen(digest) > 16)
        digest[16] = '\0';
    eh_log_login_set(digest);
    free(digest);
}

/* txn_csrf derives the transaction's CSRF token from its id: the digest of
 * "csrf:" followed by the id (not the id's own digest, whose beginning the
 * log lines carry). Only the citizen's browser knows the id (an HttpOnly
 * cookie), so only pages served to it carry the token, and nothing is
 * stored for it: a waiting login's transaction is the store's cost per
 * citizen (issue 7: at most 1 KiB). */
static eh_rc txn_csrf(const char *id, char **out)
{
    char salted[EH_STORE_KEY_MAX + 8];
    int n = snprintf(salted, sizeof(salted), "csrf:%s", id);
    eh_rc rc;

    if (n < 0 || (size_t)n >= sizeof(salted))
        return EH_ERR_INVALID;
    rc = eh_token_digest(salted, out);
    OPENSSL_cleanse(salted, sizeof(salted));
    return rc;
}

eh_rc eh_txn_new(eh_authn_request *authn, eh_txn **out)
{
    eh_txn *txn = calloc(1, sizeof(*txn));
    eh_rc rc = EH_ERR_NOMEM;

    if (txn == NULL) {
        eh_authn_request_free(authn);
        return rc;
    }
    txn->authn = authn;
    txn->frontend = json_object();
    txn->backend = json_object();
    txn->flow = json_object();
    txn->created = (int64_t)time(NULL);
    if (txn->frontend == NULL || txn->backend == NULL || txn->flow == NULL)
        goto cleanup;
    if ((rc = eh_random_token(&txn->id)) != EH_OK || (rc = txn_csrf(txn->id, &txn->csrf)) != EH_OK)
        goto cleanup;
    note_login(txn);
    *out = txn;
    txn = NULL;
cleanup:
    eh_txn_free(txn);
    return rc;
}

/* txn_key writes "txn:<id>" into key. */
static eh_rc txn_key(const char *id, char *key, size_t len)
{
    int n = snprintf(key, len, "txn:%s", id);
    if (n < 0 || (size_t)n >= len || !eh_store_key_valid(key))
        return EH_ERR_INVALID;
    return EH_OK;
}

eh_rc eh_txn_save(eh_store *store, const eh_txn *txn)
{
    char key[EH_STORE_KEY_MAX + 1], *text = NULL;
    json_t *doc = NULL, *authn = NULL;
    int64_t age_ms = ((int64_t)time(NULL) - txn->created) * 1000;
    eh_rc rc;

    if (age_ms < 0 || age_ms >= (int64_t)EH_TXN_TTL_MS)
        return EH_ERR_NOT_FOUND;
    if ((rc = txn_key(txn->id, key, sizeof(key))) != EH_OK)
        return rc;
    if ((rc = eh_authn_request_to_json(txn->authn, &authn)) != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    doc =
        json_pack("{s:o, s:O, s:O, s:O, s:I}", "authn", authn, "frontend", txn->frontend, "backend",
                  txn->backend, "flow", txn->flow, "created", (json_int_t)txn->created);
    if (doc == NULL)
        goto cleanup;
    text = json_dumps(doc, JSON_COMPACT);
    if (text == NULL)
        goto cleanup;
    rc = eh_store_set(store, key, text, strlen(text), (uint32_t)(EH_TXN_TTL_MS - age_ms));
cleanup:
    free(text);
    json_decref(doc);
    return rc;
}

/* txn_parse rebuilds a transaction from its stored JSON text. */
static eh_rc txn_parse(const char *id, const char *text, size_t len, eh_txn **out)
{
    json_t *doc = json_loadb(text, len, 0, NULL), *authn, *frontend, *backend, *flow;
    const char *csrf = NULL;
    json_int_t created;
    eh_txn *txn = NULL;
    eh_rc rc = EH_ERR_INVALID;

    /* "csrf": only in a transaction an earlier version stored (it drew the
     * token at random); now derived from the id */
    if (doc == NULL || json_unpack(doc, "{s?s, s:o, s:o, s:o, s:o, s:I}", "csrf", &csrf, "authn",
                                   &authn, "frontend", &frontend, "backend", &backend, "flow",
                                   &flow, "created", &created) != 0)
        goto cleanup;
    /* a creation time in the future or far past is not ours */
    if (!json_is_object(frontend) || !json_is_object(backend) || !json_is_object(flow) ||
        created <= 0 || created > (json_int_t)time(NULL) + 60)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    txn = calloc(1, sizeof(*txn));
    if (txn == NULL)
        goto cleanup;
    txn->id = strdup(id);
    if (csrf != NULL)
        txn->csrf = strdup(csrf);
    else if (txn->id != NULL && (rc = txn_csrf(txn->id, &txn->csrf)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    txn->frontend = json_incref(frontend);
    txn->backend = json_incref(backend);
    txn->flow = json_incref(flow);
    txn->created = created;
    if (txn->id == NULL || txn->csrf == NULL)
        goto cleanup;
    rc = eh_authn_request_from_json(authn, &txn->authn);
    if (rc != EH_OK)
        goto cleanup;
    note_login(txn);
    *out = txn;
    txn = NULL;
cleanup:
    eh_txn_free(txn);
    json_decref(doc);
    return rc;
}

/* txn_read loads or takes a transaction by id. */
static eh_rc txn_read(eh_store *store, const char *id, int take, eh_txn **out)
{
    char key[EH_STORE_KEY_MAX + 1], *text = NULL;
    size_t len = 0;
    eh_rc rc = txn_key(id, key, sizeof(key));

    if (rc != EH_OK)
        return EH_ERR_NOT_FOUND;
    rc = take ? eh_store_take(store, key, &text, &len) : eh_store_get(store, key, &text, &len);
    if (rc == EH_OK)
        rc = txn_parse(id, text, len, out);
    free(text);
    return rc;
}

eh_rc eh_txn_load(eh_store *store, const char *id, eh_txn **out)
{
    return txn_read(store, id, 0, out);
}

eh_rc eh_txn_take(eh_store *store, const char *id, eh_txn **out)
{
    return txn_read(store, id, 1, out);
}

eh_rc eh_txn_of_request(eh_store *store, const eh_http_request *req, int take, eh_txn **out)
{
    char *id = NULL;
    eh_rc rc = eh_cookie_get(req, EH_TXN_COOKIE, &id);

    if (rc == EH_ERR_INVALID)
        rc = EH_ERR_NOT_FOUND;
    if (rc == EH_OK)
        rc = txn_read(store, id, take, out);
    free(id);
    return rc;
}

eh_rc eh_txn_bind(eh_http_response *resp, const eh_txn *txn, int secure)
{
    return eh_cookie_set(resp, EH_TXN_COOKIE, txn->id, (int)(EH_TXN_TTL_MS / 1000), secure);
}

eh_rc eh_txn_unbind(eh_http_response *resp, int secure)
{
    return eh_cookie_set(resp, EH_TXN_COOKIE, "", 0, secure);
}

int eh_txn_csrf_ok(const eh_txn *txn, const eh_http_request *req)
{
    char *value = NULL;
    int ok;

    if (req->body == NULL ||
        eh_http_param_get((const char *)req->body, req->body_len, "csrf", &value) != EH_OK)
        return 0;
    ok = eh_token_equal(value, txn->csrf);
    free(value);
    return ok;
}

void eh_txn_free(eh_txn *txn)
{
    if (txn == NULL)
        return;
    if (txn->id != NULL)
        OPENSSL_cleanse(txn->id, strlen(txn->id));
    if (txn->csrf != NULL)
        OPENSSL_cleanse(txn->csrf, strlen(txn->csrf));
    free(txn->id);
    free(txn->csrf);
    eh_authn_request_free(txn->authn);
    json_decref(txn->frontend);
    json_decref(txn->backend);
    json_decref(txn->flow);
    free(txn);
}
