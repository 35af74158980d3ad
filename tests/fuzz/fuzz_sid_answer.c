/* Fuzz target: the Smart-ID API's session answers (eh_sid_session_parse,
 * what eh_sid_client_poll does with the body of a 200).
 *
 * Invariants: EH_OK exactly when the answer has a known state (and COMPLETE
 * a result.endResult); then every field is a copy of the JSON member it
 * comes from; on failure the session is left empty and why says why. */
#include <jansson.h>
#include <string.h>

#include "broker/backends/sid_client.h"
#include "tests/fuzz/fuzz_util.h"

static void same(const char *got, const json_t *obj, const char *name)
{
    const char *want = json_string_value(json_object_get(obj, name));
    if (want == NULL)
        FZ_CHECK(got == NULL);
    else
        FZ_CHECK(got != NULL && strcmp(got, want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eh_sid_session s;
    char why[256];
    json_t *doc;
    eh_rc rc;

    fz_init();
    memset(why, 'X', sizeof(why));
    why[0] = '\0';
    rc = eh_sid_session_parse((const char *)data, size, &s, why, sizeof(why));
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    if (rc != EH_OK) {
        FZ_CHECK(rc == EH_ERR_IO || rc == EH_ERR_NOMEM);
        FZ_CHECK(s.state == NULL && s.end_result == NULL && s.document_number == NULL &&
                 s.signature_value == NULL && s.signature_algorithm == NULL && s.cert == NULL &&
                 s.cert_level == NULL && s.interaction_flow == NULL);
        FZ_CHECK(why[0] != '\0' || rc == EH_ERR_NOMEM);
        return 0;
    }
    FZ_CHECK(s.state != NULL);
    FZ_CHECK(strcmp(s.state, "RUNNING") == 0 || strcmp(s.state, "COMPLETE") == 0);
    FZ_CHECK(strcmp(s.state, "COMPLETE") != 0 || s.end_result != NULL);
    doc = json_loadb((const char *)data, size, 0, NULL);
    FZ_CHECK(doc != NULL);
    same(s.state, doc, "state");
    same(s.end_result, json_object_get(doc, "result"), "endResult");
    same(s.document_number, json_object_get(doc, "result"), "documentNumber");
    same(s.signature_value, json_object_get(doc, "signature"), "value");
    same(s.signature_algorithm, json_object_get(doc, "signature"), "algorithm");
    same(s.cert, json_object_get(doc, "cert"), "value");
    same(s.cert_level, json_object_get(doc, "cert"), "certificateLevel");
    same(s.interaction_flow, doc, "interactionFlowUsed");
    json_decref(doc);
    eh_sid_session_clear(&s);
    return 0;
}
