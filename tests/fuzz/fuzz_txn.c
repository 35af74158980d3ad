/* Fuzz target: a login transaction as the store hands it back
 * (eh_txn_of_request / eh_txn_load: txn.c's parse of the stored JSON), the
 * way a corrupted, foreign or hostile Redis value would come.
 *
 * The input is stored under "txn:fuzz" in an embedded store and read
 * through the browser's cookie. Invariants: what loads has its id, a csrf
 * token, objects for frontend, backend and flow, and an authn request; it
 * saves (or is refused as expired) without undefined behaviour, and what
 * was saved loads back equal. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/store.h"
#include "broker/txn.h"
#include "tests/fuzz/fuzz_util.h"

static eh_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_init();
    if (eh_store_shm_new(eh_store_shm_min_size(), &store) != EH_OK)
        abort();
    return 0;
}

static void same_txn(const eh_txn *a, const eh_txn *b)
{
    json_t *ja = NULL, *jb = NULL;

    FZ_CHECK(strcmp(a->id, b->id) == 0 && strcmp(a->csrf, b->csrf) == 0);
    FZ_CHECK(a->created == b->created);
    FZ_CHECK(json_equal(a->frontend, b->frontend) && json_equal(a->backend, b->backend) &&
             json_equal(a->flow, b->flow));
    FZ_CHECK(eh_authn_request_to_json(a->authn, &ja) == EH_OK &&
             eh_authn_request_to_json(b->authn, &jb) == EH_OK && json_equal(ja, jb));
    json_decref(ja);
    json_decref(jb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_http_header cookie = {"Cookie", EH_TXN_COOKIE "=fuzz"};
    eh_http_request req = {.method = EH_HTTP_GET,
                           .path = "/login",
                           .query = "",
                           .headers = &cookie,
                           .n_headers = 1,
                           .client_addr = "127.0.0.1"};
    eh_txn *txn = NULL, *again = NULL;
    eh_rc rc;

    if (eh_store_set(store, "txn:fuzz", data, size, 60000) != EH_OK)
        return 0; /* too large for the store: not this parser's business */
    rc = eh_txn_of_request(store, &req, 0, &txn);
    if (rc != EH_OK) {
        FZ_CHECK(txn == NULL);
        goto done;
    }
    FZ_CHECK(txn->id != NULL && strcmp(txn->id, "fuzz") == 0);
    FZ_CHECK(txn->csrf != NULL && txn->authn != NULL);
    FZ_CHECK(json_is_object(txn->frontend) && json_is_object(txn->backend) &&
             json_is_object(txn->flow));
    /* the CSRF check of a form over this transaction */
    {
        const unsigned char body[] = "csrf=x";
        eh_http_request post = req;
        post.method = EH_HTTP_POST;
        post.body = body;
        post.body_len = sizeof(body) - 1;
        if (eh_txn_csrf_ok(txn, &post))
            FZ_CHECK(strcmp(txn->csrf, "x") == 0);
    }
    rc = eh_txn_save(store, txn);
    if (rc == EH_OK) {
        FZ_CHECK(eh_txn_take(store, "fuzz", &again) == EH_OK);
        same_txn(txn, again);
    } else {
        FZ_CHECK(rc == EH_ERR_NOT_FOUND || rc == EH_ERR_TOO_LARGE || rc == EH_ERR_NOMEM ||
                 rc == EH_ERR_STORE_FULL);
    }
done:
    eh_txn_free(txn);
    eh_txn_free(again);
    eh_store_del(store, "txn:fuzz");
    return 0;
}
