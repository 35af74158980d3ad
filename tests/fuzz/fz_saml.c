/* eidhub fuzz targets: SAML helpers (see fz_saml.h). */
#include "tests/fuzz/fz_saml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"
#include "tests/fuzz/fuzz_util.h"

void fz_saml_keys_add(eh_saml_keys *k, const char *name)
{
    char pem[16384], why[200] = "";
    FILE *f = fopen(fz_fixture(name), "rb");
    size_t n = f ? fread(pem, 1, sizeof(pem), f) : 0;

    if (f != NULL)
        fclose(f);
    if (n == 0 || n == sizeof(pem) || k == NULL ||
        eh_saml_keys_add_pem(k, pem, n, why, sizeof(why)) != EH_OK) {
        fprintf(stderr, "cannot load %s: %s\n", fz_fixture(name), why);
        abort();
    }
}

eh_saml_keys *fz_saml_keys(const char *name)
{
    eh_saml_keys *k = eh_saml_keys_new();

    fz_saml_keys_add(k, name);
    return k;
}

xmlDocPtr fz_saml_doc(const uint8_t *data, size_t size)
{
    char why[200];
    xmlDocPtr doc = NULL;

    if (eh_saml_parse((const char *)data, size, &doc, why, sizeof(why)) != EH_OK)
        return NULL;
    return doc;
}

int fz_saml_sign(xmlDocPtr doc, xmlNodePtr node, const eh_saml_keys *signer)
{
    char why[200];
    xmlNodePtr sig;

    while ((sig = eh_saml_find_signature(node)) != NULL) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
    return eh_saml_sign(doc, node, eh_saml_child(node, EH_NS_SAML, "Issuer"),
                        EH_SAML_SIG_ECDSA_SHA256, signer, why, sizeof(why)) == EH_OK
               ? 0
               : -1;
}

char *fz_saml_text(xmlDocPtr doc, size_t *len)
{
    char *xml = NULL;

    if (eh_saml_doc_text(doc, &xml, len) != EH_OK)
        abort();
    return xml;
}

void fz_saml_check_why(eh_rc rc, const char *why, size_t cap)
{
    if (rc == EH_OK)
        return;
    FZ_CHECK(fz_terminated(why, cap));
    FZ_CHECK(why[0] != '\0');
    for (const char *p = why; *p != '\0'; p++)
        FZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

int fz_saml_str_ok(const char *s, size_t max)
{
    return s == NULL || strnlen(s, max + 1) <= max;
}
