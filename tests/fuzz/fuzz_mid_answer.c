/* Fuzz target: the Mobile-ID API's session answers (eh_mid_session_parse,
 * what eh_mid_client_poll does with the body of a 200).
 *
 * Invariants: EH_OK exactly when the answer has a known state (and COMPLETE
 * a result); then every field is a NUL-terminated copy of the JSON member
 * it comes from; on failure the session is left empty and why says why. */
#include <jansson.h>
#include <string.h>

#include "broker/backends/mid_client.h"
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
    eh_mid_session s;
    char why[256];
    json_t *doc;
    eh_rc rc;

    fz_init();
    memset(why, 'X', sizeof(why));
    why[0] = '\0';
    rc = eh_mid_session_parse((const char *)data, size, &s, why, sizeof(why));
    FZ_CHECK(fz_terminated(why, sizeof(why)));
    if (rc != EH_OK) {
        FZ_CHECK(rc == EH_ERR_IO || rc == EH_ERR_NOMEM);
        FZ_CHECK(s.state == NULL && s.result == NULL && s.signature_value == NULL &&
                 s.signature_algorithm == NULL && s.cert == NULL);
        FZ_CHECK(why[0] != '\0' || rc == EH_ERR_NOMEM);
        return 0;
    }
    FZ_CHECK(s.state != NULL);
    FZ_CHECK(strcmp(s.state, "RUNNING") == 0 || strcmp(s.state, "COMPLETE") == 0);
    FZ_CHECK(strcmp(s.state, "COMPLETE") != 0 || s.result != NULL);
    /* the same document as jansson reads it (strings with a NUL inside are
     * refused by jansson's default flags, so strcmp is exact) */
    doc = json_loadb((const char *)data, size, 0, NULL);
    FZ_CHECK(doc != NULL);
    same(s.state, doc, "state");
    same(s.result, doc, "result");
    same(s.cert, doc, "cert");
    same(s.signature_value, json_object_get(doc, "signature"), "value");
    same(s.signature_algorithm, json_object_get(doc, "signature"), "algorithm");
    json_decref(doc);
    eh_mid_session_clear(&s);
    FZ_CHECK(s.state == NULL);
    return 0;
}
