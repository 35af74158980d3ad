/* Fuzz target: eIDAS Responses a Connector receives
 * (eh_saml_response_consume), expecting the Proxy-Service
 * https://proxy.example.eu/eidas/metadata (trusted: the public key of
 * tests/fuzz/fixtures' saml-ec256), our key saml-rsa3072 to decrypt with,
 * Destination and Recipient https://connector.example.ee/eidas/acs,
 * audience https://connector.example.ee/eidas/metadata, InResponseTo
 * _0123456789abcdef0123456789abcdef, LoA substantial, at FZ_SAML_NOW + 5 s
 * (skew 60 s).
 *
 * Input, by its first byte:
 *   0x01, 0x02 the rest is a response the target completes (fz_saml.h):
 *              each saml:Assertion directly under a saml:EncryptedAssertion
 *              of the root is signed with saml-ec256 (after its Issuer) and
 *              encrypted for saml-rsa3072 (AES-128-GCM), then the root is
 *              signed, so mutations get past signatures and encryption;
 *              0x02 expects comparison exact instead of minimum;
 *   otherwise  the response as the Proxy-Service sends it (base64-decoded).
 *
 * Invariants: a refusal leaves *out NULL and a fixed reason in why; an
 * accepted response names the expected issuer and request and has a
 * status; a success has a non-empty assertion ID and NameID, an attribute
 * object (URI -> array of strings) and an LoA that satisfies the one asked,
 * and is not expired; a failure carries no assertion data; no string (nor
 * attribute name or value) is longer than the input or holds a NUL. Seeds:
 * responses built by eh_saml_response_build at FZ_SAML_NOW. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_xml.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/fz_saml.h"

#define PROXY "https://proxy.example.eu/eidas/metadata"
#define ACS "https://connector.example.ee/eidas/acs"
#define CONNECTOR "https://connector.example.ee/eidas/metadata"
#define REQ_ID "_0123456789abcdef0123456789abcdef"
#define NOW (FZ_SAML_NOW + 5)
#define SKEW 60u
#define MAX_ASSERTIONS 4 /* completed per input: each costs an RSA operation */

static eh_saml_keys *signer, *trusted, *ours, *recipient;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init();
    FZ_CHECK(eh_saml_init() == EH_OK);
    signer = fz_saml_keys("saml-ec256.pem");
    trusted = fz_saml_keys("saml-ec256.pub.pem");
    ours = fz_saml_keys("saml-rsa3072.pem");
    recipient = fz_saml_keys("saml-rsa3072.pub.pem");
    return 0;
}

/* complete signs and encrypts the assertions of doc, then signs its root. */
static void complete(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), ea, a, next;
    char why[200];
    int done = 0;

    for (ea = eh_saml_first_el(root); ea != NULL; ea = eh_saml_next_el(ea)) {
        if (!eh_saml_is(ea, EH_NS_SAML, "EncryptedAssertion"))
            continue;
        for (a = eh_saml_first_el(ea); a != NULL && done < MAX_ASSERTIONS; a = next) {
            xmlNodePtr ed = NULL;
            next = eh_saml_next_el(a);
            if (!eh_saml_is(a, EH_NS_SAML, "Assertion"))
                continue;
            done++;
            fz_saml_sign(doc, a, signer);
            (void)eh_saml_encrypt(doc, a, EH_SAML_ENC_AES128_GCM, recipient, &ed, why,
                                  sizeof(why));
        }
    }
    fz_saml_sign(doc, root, signer);
}

static void check_string(const char *s, size_t size)
{
    FZ_CHECK(fz_saml_str_ok(s, size));
}

static void check_attributes(json_t *attrs, size_t size)
{
    const char *name;
    json_t *values, *v;
    size_t i;

    FZ_CHECK(json_is_object(attrs));
    json_object_foreach(attrs, name, values)
    {
        FZ_CHECK(name[0] != '\0' && fz_saml_str_ok(name, size));
        FZ_CHECK(json_is_array(values));
        json_array_foreach(values, i, v)
        {
            FZ_CHECK(json_is_string(v));
            FZ_CHECK(json_string_length(v) == strlen(json_string_value(v)));
            FZ_CHECK(json_string_length(v) <= size);
        }
    }
}

static void check_result(const eh_saml_response_result *r, const eh_saml_response_expect *x,
                         size_t size)
{
    FZ_CHECK(r->issuer != NULL && strcmp(r->issuer, PROXY) == 0);
    FZ_CHECK(r->in_response_to != NULL && strcmp(r->in_response_to, REQ_ID) == 0);
    FZ_CHECK(r->status != NULL && r->status[0] != '\0');
    check_string(r->status, size);
    check_string(r->sub_status, size);
    check_string(r->status_message, size);
    if (strcmp(r->status, EH_SAML_STATUS_SUCCESS) == 0) {
        FZ_CHECK(r->assertion_id != NULL && r->assertion_id[0] != '\0');
        FZ_CHECK(r->name_id != NULL && r->name_id[0] != '\0');
        check_string(r->assertion_id, size);
        check_string(r->name_id, size);
        check_string(r->name_id_format, size);
        FZ_CHECK(r->not_on_or_after > x->now - (int64_t)x->skew_s);
        FZ_CHECK(r->loa >= EH_LOA_LOW && r->loa <= EH_LOA_HIGH);
        FZ_CHECK(eh_loa_satisfies(r->loa, x->min_loa, x->comparison));
        check_attributes(r->attributes, size);
    } else {
        FZ_CHECK(r->assertion_id == NULL && r->name_id == NULL && r->name_id_format == NULL);
        FZ_CHECK(r->attributes == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eh_saml_response_result not_reset;
    eh_saml_response_result *r = &not_reset; /* the parser must set it */
    eh_saml_response_expect x = {PROXY,       trusted,        ours,   ACS,  CONNECTOR, REQ_ID,
                                 EH_LOA_SUBSTANTIAL, EH_LOA_MINIMUM, NOW, SKEW};
    char why[200], *completed = NULL;
    const char *xml = (const char *)data;
    size_t len = size;
    eh_rc rc;

    if (size > 0 && (data[0] == 0x01 || data[0] == 0x02)) {
        xmlDocPtr doc = fz_saml_doc(data + 1, size - 1);
        if (doc == NULL)
            return 0;
        if (data[0] == 0x02)
            x.comparison = EH_LOA_EXACT;
        complete(doc);
        completed = fz_saml_text(doc, &len);
        xmlFreeDoc(doc);
        xml = completed;
    }
    memset(why, 'X', sizeof(why));
    rc = eh_saml_response_consume(xml, len, &x, &r, why, sizeof(why));
    FZ_CHECK((rc == EH_OK) == (r != NULL));
    FZ_CHECK(rc == EH_OK || rc == EH_ERR_INVALID);
    fz_saml_check_why(rc, why, sizeof(why));
    if (r != NULL)
        check_result(r, &x, len);
    if (fz_verbose())
        fprintf(stderr, "rc=%d %s\n", (int)rc,
                rc == EH_OK ? (r->name_id != NULL ? "login" : r->status) : why);
    eh_saml_response_result_free(r);
    free(completed);
    return 0;
}
