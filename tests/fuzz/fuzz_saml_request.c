/* Fuzz target: eIDAS AuthnRequests a Proxy-Service receives
 * (eh_saml_authn_request_parse), expecting Destination
 * https://proxy.example.ee/eidas/sso at FZ_SAML_NOW (skew 60 s, max age
 * 300 s). The trust callback knows one Connector,
 * https://connector.example/metadata, with the public keys of
 * tests/fuzz/fixtures' saml-ec256 and saml-rsa3072; the Issuer
 * urn:fuzz:unavailable makes it fail with EH_ERR_INTERNAL; any other is
 * EH_ERR_NOT_FOUND.
 *
 * Input, by its first byte:
 *   0x01       the rest is a request the target signs (its root, after
 *              saml:Issuer, with saml-ec256: fz_saml.h) before parsing it,
 *              so mutations get past the signature;
 *   otherwise  the request as a Connector sends it (base64-decoded).
 *
 * Invariants: every key set lent is released; an error of the callback
 * other than EH_ERR_NOT_FOUND comes back as it is; a refusal leaves *out
 * NULL and a fixed reason in why; an accepted request is what the header
 * promises: an xs:ID, a non-empty Issuer, our Destination, an IssueInstant
 * in [now - max age, now + skew], 1..EH_SAML_MAX_REQUESTED named
 * attributes, a known LoA and comparison, SPType and NameID format NULL or
 * allowed, booleans 0 or 1, and no string longer than the input. Seeds:
 * requests built by eh_saml_authn_request_build at FZ_SAML_NOW. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_names.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/fz_saml.h"

#define CONNECTOR "https://connector.example/metadata"
#define UNAVAILABLE "urn:fuzz:unavailable"
#define PROXY_SSO "https://proxy.example.ee/eidas/sso"
#define SKEW 60u
#define MAX_AGE 300u

static eh_saml_keys *signer, *connector_keys;
static int lent, keys_of_failed;

static eh_rc keys_of(void *ctx, const char *issuer, const eh_saml_keys **keys, void **handle)
{
    (void)ctx;
    FZ_CHECK(issuer != NULL && issuer[0] != '\0');
    if (strcmp(issuer, UNAVAILABLE) == 0) {
        keys_of_failed = 1;
        return EH_ERR_INTERNAL;
    }
    if (strcmp(issuer, CONNECTOR) != 0)
        return EH_ERR_NOT_FOUND;
    *keys = connector_keys;
    *handle = &connector_keys;
    lent++;
    return EH_OK;
}

static void release(void *ctx, void *handle)
{
    (void)ctx;
    FZ_CHECK(handle == &connector_keys);
    FZ_CHECK(lent > 0);
    lent--;
}

static const eh_saml_trust TRUST = {keys_of, release, NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init();
    FZ_CHECK(eh_saml_init() == EH_OK);
    signer = fz_saml_keys("saml-ec256.pem");
    connector_keys = fz_saml_keys("saml-ec256.pub.pem");
    fz_saml_keys_add(connector_keys, "saml-rsa3072.pub.pem");
    return 0;
}

static int known(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || (c != NULL && strcmp(s, c) == 0);
}

static void check_request(const eh_saml_authn_request *r, size_t size)
{
    FZ_CHECK(r->id != NULL && r->id[0] != '\0' && (r->id[0] < '0' || r->id[0] > '9'));
    FZ_CHECK(r->issuer != NULL && strcmp(r->issuer, CONNECTOR) == 0);
    FZ_CHECK(r->destination != NULL && strcmp(r->destination, PROXY_SSO) == 0);
    FZ_CHECK(r->issue_instant <= FZ_SAML_NOW + SKEW);
    FZ_CHECK(r->issue_instant >= FZ_SAML_NOW - MAX_AGE);
    FZ_CHECK(r->attrs != NULL && r->n_attrs >= 1 && r->n_attrs <= EH_SAML_MAX_REQUESTED);
    for (size_t i = 0; i < r->n_attrs; i++) {
        FZ_CHECK(r->attrs[i].name != NULL && r->attrs[i].name[0] != '\0');
        FZ_CHECK(fz_saml_str_ok(r->attrs[i].name, size));
        FZ_CHECK(r->attrs[i].is_required == 0 || r->attrs[i].is_required == 1);
    }
    FZ_CHECK(r->loa >= EH_LOA_LOW && r->loa <= EH_LOA_HIGH);
    FZ_CHECK(r->comparison == EH_LOA_MINIMUM || r->comparison == EH_LOA_EXACT);
    FZ_CHECK(r->sp_type == NULL ||
             known(r->sp_type, EH_SAML_SPTYPE_PUBLIC, EH_SAML_SPTYPE_PRIVATE, NULL));
    FZ_CHECK(r->name_id_format == NULL ||
             known(r->name_id_format, EH_SAML_NAMEID_PERSISTENT, EH_SAML_NAMEID_TRANSIENT,
                   EH_SAML_NAMEID_UNSPECIFIED));
    FZ_CHECK(r->force_authn == 0 || r->force_authn == 1);
    FZ_CHECK(fz_saml_str_ok(r->id, size) && fz_saml_str_ok(r->acs_url, size) &&
             fz_saml_str_ok(r->provider_name, size) && fz_saml_str_ok(r->requester_id, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200], *signed_xml = NULL;
    const char *xml = (const char *)data;
    size_t len = size;
    static eh_saml_authn_request not_reset;
    eh_saml_authn_request *r = &not_reset; /* the parser must set it */
    eh_saml_request_expect x = {PROXY_SSO, FZ_SAML_NOW, SKEW, MAX_AGE};
    eh_rc rc;

    if (size > 0 && data[0] == 0x01) {
        xmlDocPtr doc = fz_saml_doc(data + 1, size - 1);
        if (doc == NULL)
            return 0;
        fz_saml_sign(doc, xmlDocGetRootElement(doc), signer);
        signed_xml = fz_saml_text(doc, &len);
        xmlFreeDoc(doc);
        xml = signed_xml;
    }
    memset(why, 'X', sizeof(why));
    lent = 0;
    keys_of_failed = 0;
    rc = eh_saml_authn_request_parse(xml, len, &TRUST, &x, &r, why, sizeof(why));
    FZ_CHECK(lent == 0);
    FZ_CHECK((rc == EH_OK) == (r != NULL));
    fz_saml_check_why(rc, why, sizeof(why));
    if (keys_of_failed)
        FZ_CHECK(rc == EH_ERR_INTERNAL);
    else
        FZ_CHECK(rc == EH_OK || rc == EH_ERR_INVALID);
    if (r != NULL)
        check_request(r, len);
    if (fz_verbose())
        fprintf(stderr, "rc=%d %s\n", (int)rc, rc == EH_OK ? "accepted" : why);
    eh_saml_authn_request_free(r);
    free(signed_xml);
    return 0;
}
