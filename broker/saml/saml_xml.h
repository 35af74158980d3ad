/* eidhub: small libxml2 helpers shared by the SAML message builders and
 * parsers (broker/saml/, metadata/).
 *
 * Reading: find element children by namespace and local name (never by
 * prefix), read an element's full text (every text and CDATA node under it,
 * joined; a comment inside a value cannot cut it short), parse xs:dateTime.
 * Writing: xs:dateTime in UTC, fresh xs:ID values, a document's text. */
#ifndef EH_SAML_XML_H
#define EH_SAML_XML_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "broker/rc.h"

#define EH_SAML_TIME_LEN 32 /* buffer for eh_saml_time_format */
#define EH_SAML_ID_LEN 40   /* buffer for eh_saml_new_id: "_" + 32 hex + NUL */

#define EH_SAML_ID_MAX 256 /* longest message ID accepted from a peer */

/* eh_saml_id_like tells whether s looks like an xs:ID (an ASCII NCName):
 * a letter or "_" first, then letters, digits, "_", "-" or "."; at most
 * EH_SAML_ID_MAX characters. */
int eh_saml_id_like(const char *s);

/* eh_saml_refusal maps a lower layer's failure on untrusted input to
 * EH_ERR_INVALID, keeping the codes that are not the input's fault
 * (EH_ERR_NOMEM, EH_ERR_INTERNAL). */
eh_rc eh_saml_refusal(eh_rc rc);

/* eh_saml_is tells whether n is an element named name in namespace ns. */
int eh_saml_is(xmlNodePtr n, const char *ns, const char *name);

/* eh_saml_child returns the first element child of parent named name in
 * namespace ns (NULL: none); eh_saml_child_count counts them all;
 * eh_saml_next_el returns the next element sibling of n (NULL: none) and
 * eh_saml_first_el the first element child of parent. */
xmlNodePtr eh_saml_child(xmlNodePtr parent, const char *ns, const char *name);
size_t eh_saml_child_count(xmlNodePtr parent, const char *ns, const char *name);
xmlNodePtr eh_saml_next_el(xmlNodePtr n);
xmlNodePtr eh_saml_first_el(xmlNodePtr parent);

/* eh_saml_text returns n's full text (caller frees with free), trimmed of
 * leading and trailing XML white space; NULL when n is NULL, holds an
 * element child, or on allocation failure. */
char *eh_saml_text(xmlNodePtr n);

/* eh_saml_prop returns the value of n's attribute name (no namespace), as a
 * malloc'd string (caller frees with free), or NULL when absent. */
char *eh_saml_prop(xmlNodePtr n, const char *name);

/* eh_saml_time_format writes t (seconds since the epoch) as
 * "YYYY-MM-DDThh:mm:ssZ" into buf (EH_SAML_TIME_LEN bytes). */
void eh_saml_time_format(int64_t t, char *buf);

/* eh_saml_time_parse reads an xs:dateTime in UTC ("...Z", optional
 * fraction of a second, which is dropped; an offset "+hh:mm" is applied).
 * EH_ERR_INVALID for anything else. */
eh_rc eh_saml_time_parse(const char *s, int64_t *out);

/* eh_saml_new_id writes a fresh xs:ID ("_" + 128 random bits in hex) into
 * buf (EH_SAML_ID_LEN bytes). */
eh_rc eh_saml_new_id(char *buf);

/* eh_saml_doc_text returns doc serialised as UTF-8 with an XML declaration
 * (*xml NUL-terminated, caller frees with free; *len its length). */
eh_rc eh_saml_doc_text(xmlDocPtr doc, char **xml, size_t *len);

/* eh_saml_new_child adds to parent an element child name in namespace ns
 * (declared by the caller, usually on the root) with text content (NULL:
 * none; escaped on output) and returns it; parent NULL makes a new unlinked
 * element. NULL: no memory. */
xmlNodePtr eh_saml_new_child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text);

#endif
