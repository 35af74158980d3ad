/* Fuzz target: eIDAS node metadata of peers (eh_saml_metadata_parse),
 * anchored on the public key of tests/fuzz/fixtures' saml-ec256, at
 * FZ_SAML_NOW. Every input is parsed four times: as a Connector's and as a
 * Proxy-Service's metadata, each with no expected entityID and with the
 * seeds' one (https://connector.example.ee/eidas/metadata,
 * https://proxy.example.eu/eidas/metadata).
 *
 * Input, by its first byte:
 *   0x01       the rest is an EntityDescriptor the target signs with
 *              saml-ec256 (fz_saml.h; the signature as its first child)
 *              before parsing it, so mutations get past the signature;
 *   otherwise  the metadata as a peer publishes it.
 *
 * Invariants: a refusal leaves *out NULL and a fixed reason in why; an
 * accepted document is what the header promises: the role asked, a
 * non-empty entityID (the expected one when given), validUntil after now,
 * an absolute http(s) endpoint, 1..16 signing keys (a Connector also 1..16
 * encryption keys), NodeCountry NULL or two capitals, SPType NULL or
 * public/private (always NULL for a Proxy-Service), no string longer than
 * the input. Seeds: metadata built by eh_saml_metadata_build at
 * FZ_SAML_NOW with tests/fixtures/saml's ec256.crt and rsa3072.crt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/saml/saml_names.h"
#include "metadata/saml_metadata.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/fz_saml.h"

#define CONNECTOR_ID "https://connector.example.ee/eidas/metadata"
#define PROXY_ID "https://proxy.example.eu/eidas/metadata"
#define MAX_KEYS 16 /* kept per use (saml_metadata.c) */

static eh_saml_keys *signer, *anchor;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_init();
    FZ_CHECK(eh_saml_init() == EH_OK);
    signer = fz_saml_keys("saml-ec256.pem");
    anchor = fz_saml_keys("saml-ec256.pub.pem");
    return 0;
}

static int http_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

static void check_metadata(const eh_saml_metadata *m, eh_saml_role role, const char *expect,
                           size_t size)
{
    FZ_CHECK(m->role == role);
    FZ_CHECK(m->entity_id != NULL && m->entity_id[0] != '\0');
    FZ_CHECK(expect == NULL || strcmp(m->entity_id, expect) == 0);
    FZ_CHECK(m->valid_until > FZ_SAML_NOW);
    FZ_CHECK(m->endpoint != NULL && http_url(m->endpoint));
    for (const char *p = m->endpoint; *p != '\0'; p++)
        FZ_CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
    FZ_CHECK(m->signing != NULL && eh_saml_keys_count(m->signing) >= 1 &&
             eh_saml_keys_count(m->signing) <= MAX_KEYS);
    FZ_CHECK(m->encryption != NULL && eh_saml_keys_count(m->encryption) <= MAX_KEYS);
    if (role == EH_SAML_ROLE_CONNECTOR)
        FZ_CHECK(eh_saml_keys_count(m->encryption) >= 1);
    FZ_CHECK(m->node_country == NULL ||
             (strlen(m->node_country) == 2 && m->node_country[0] >= 'A' &&
              m->node_country[0] <= 'Z' && m->node_country[1] >= 'A' && m->node_country[1] <= 'Z'));
    if (role == EH_SAML_ROLE_PROXY)
        FZ_CHECK(m->sp_type == NULL);
    else
        FZ_CHECK(m->sp_type == NULL || strcmp(m->sp_type, EH_SAML_SPTYPE_PUBLIC) == 0 ||
                 strcmp(m->sp_type, EH_SAML_SPTYPE_PRIVATE) == 0);
    FZ_CHECK(fz_saml_str_ok(m->entity_id, size) && fz_saml_str_ok(m->endpoint, size));
}

static void parse(const char *xml, size_t len, eh_saml_role role, const char *expect)
{
    static eh_saml_metadata not_reset;
    eh_saml_metadata *m = &not_reset; /* the parser must set it */
    char why[200];
    eh_rc rc;

    memset(why, 'X', sizeof(why));
    rc = eh_saml_metadata_parse(xml, len, anchor, role, expect, FZ_SAML_NOW, &m, why, sizeof(why));
    FZ_CHECK((rc == EH_OK) == (m != NULL));
    FZ_CHECK(rc == EH_OK || rc == EH_ERR_INVALID);
    fz_saml_check_why(rc, why, sizeof(why));
    if (m != NULL)
        check_metadata(m, role, expect, len);
    if (fz_verbose())
        fprintf(stderr, "%s%s: rc=%d %s\n", role == EH_SAML_ROLE_PROXY ? "proxy" : "connector",
                expect ? " (entityID expected)" : "", (int)rc, rc == EH_OK ? "accepted" : why);
    eh_saml_metadata_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *signed_xml = NULL;
    const char *xml = (const char *)data;
    size_t len = size;

    if (size > 0 && data[0] == 0x01) {
        xmlDocPtr doc = fz_saml_doc(data + 1, size - 1);
        if (doc == NULL)
            return 0;
        fz_saml_sign(doc, xmlDocGetRootElement(doc), signer);
        signed_xml = fz_saml_text(doc, &len);
        xmlFreeDoc(doc);
        xml = signed_xml;
    }
    parse(xml, len, EH_SAML_ROLE_CONNECTOR, NULL);
    parse(xml, len, EH_SAML_ROLE_CONNECTOR, CONNECTOR_ID);
    parse(xml, len, EH_SAML_ROLE_PROXY, NULL);
    parse(xml, len, EH_SAML_ROLE_PROXY, PROXY_ID);
    free(signed_xml);
    return 0;
}
