/* eidhub fuzz targets: what the SAML message targets share
 * (fuzz_saml_request, fuzz_saml_response, fuzz_saml_metadata).
 *
 * A mutated signed document almost never keeps a valid signature, so each
 * of these targets has a "sign" mode (first input byte 0x01 or 0x02): the
 * rest is a document the target parses, signs with the fixture key the
 * parser trusts (saml-ec256.pem, ECDSA-SHA256) and serialises again before
 * handing it to the parser, so that mutations reach the checks behind the
 * signature. Any other first byte: the input is the document as a peer
 * would send it. The file is not named fuzz_*.c: ./dev takes those for
 * targets. */
#ifndef EH_FZ_SAML_H
#define EH_FZ_SAML_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "broker/rc.h"
#include "broker/saml/saml_crypto.h"

/* the fixed time of every SAML target and of its seeds (2025-06-15) */
#define FZ_SAML_NOW ((int64_t)1750000000)

/* fz_saml_keys returns a new key set holding the PEM key of
 * tests/fuzz/fixtures/NAME; fz_saml_keys_add adds it to k (both abort
 * when they cannot). */
eh_saml_keys *fz_saml_keys(const char *name);
void fz_saml_keys_add(eh_saml_keys *k, const char *name);

/* fz_saml_doc parses data with eh_saml_parse: NULL when it refuses. */
xmlDocPtr fz_saml_doc(const uint8_t *data, size_t size);

/* fz_saml_sign removes node's own ds:Signature children and signs node
 * with the first key of signer (ECDSA-SHA256), the signature after node's
 * first saml:Issuer child (first child when it has none). 0: signed;
 * -1: eh_saml_sign refused (no ID, duplicate IDs...), node left unsigned. */
int fz_saml_sign(xmlDocPtr doc, xmlNodePtr node, const eh_saml_keys *signer);

/* fz_saml_text returns doc's text (caller frees; aborts on failure). */
char *fz_saml_text(xmlDocPtr doc, size_t *len);

/* fz_saml_check_why: after a refusal (rc != EH_OK), why is a non-empty
 * NUL-terminated line of printable ASCII (a fixed phrase, never input). */
void fz_saml_check_why(eh_rc rc, const char *why, size_t cap);

/* fz_saml_str_ok tells whether s is NULL or a string no longer than max
 * (a value read from an input of max bytes can never be longer). */
int fz_saml_str_ok(const char *s, size_t max);

#endif
