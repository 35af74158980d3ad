/* Fuzz target: the internal request and identity as JSON
 * (eh_authn_request_from_json, eh_identity_from_json), what a transaction,
 * a code or a session brings back from the store.
 *
 * Invariants: what is accepted converts back (to_json) and that form is a
 * fixed point: from_json(to_json(x)) gives the same JSON again. */
#include <string.h>

#include "broker/authn.h"
#include "tests/fuzz/fuzz_util.h"

static void request_round_trip(const json_t *doc)
{
    eh_authn_request *a = NULL, *b = NULL;
    json_t *ja = NULL, *jb = NULL;
    eh_rc rc = eh_authn_request_from_json(doc, &a);

    if (rc != EH_OK) {
        FZ_CHECK(a == NULL);
        return;
    }
    FZ_CHECK(a->requested != NULL && json_is_array(a->requested));
    FZ_CHECK(a->min_loa >= EH_LOA_NONE && a->min_loa <= EH_LOA_HIGH);
    FZ_CHECK(eh_authn_request_to_json(a, &ja) == EH_OK);
    FZ_CHECK(eh_authn_request_from_json(ja, &b) == EH_OK);
    FZ_CHECK(eh_authn_request_to_json(b, &jb) == EH_OK);
    FZ_CHECK(json_equal(ja, jb));
    json_decref(ja);
    json_decref(jb);
    eh_authn_request_free(a);
    eh_authn_request_free(b);
}

static void identity_round_trip(const json_t *doc)
{
    eh_identity *a = NULL, *b = NULL;
    json_t *ja = NULL, *jb = NULL;
    char subject[256];
    eh_rc rc = eh_identity_from_json(doc, &a);

    if (rc != EH_OK) {
        FZ_CHECK(a == NULL);
        return;
    }
    FZ_CHECK(a->attributes != NULL && json_is_object(a->attributes));
    FZ_CHECK(eh_identity_to_json(a, &ja) == EH_OK);
    FZ_CHECK(eh_identity_from_json(ja, &b) == EH_OK);
    FZ_CHECK(eh_identity_to_json(b, &jb) == EH_OK);
    FZ_CHECK(json_equal(ja, jb));
    memset(subject, 'X', sizeof(subject));
    if (eh_identity_subject(a, subject, sizeof(subject)) == EH_OK)
        FZ_CHECK(fz_terminated(subject, sizeof(subject)));
    json_decref(ja);
    json_decref(jb);
    eh_identity_free(a);
    eh_identity_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);

    fz_init();
    if (doc == NULL)
        return 0;
    request_round_trip(doc);
    identity_round_trip(doc);
    json_decref(doc);
    return 0;
}
