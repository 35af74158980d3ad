/* eidhub: SAML Single Logout messages in SOAP envelopes (see saml_logout.h).
 *
 * Building uses the libxml2 tree API: a soap:Envelope whose soap:Body holds
 * the samlp element, which declares its own namespaces and is signed in
 * place with eh_saml_sign (exclusive c14n: the envelope's namespace is not
 * part of what is signed). Checking parses with eh_saml_parse, unwraps the
 * envelope, finds the keys from the Issuer, verifies the element's own
 * signature with eh_saml_verify and reads only from the covered element. */
#include "broker/saml/saml_logout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/tree.h>

#include "broker/buf.h"
#include "broker/http_client.h"

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"

#define RESPONSE_MAX_AGE_S 300u /* a LogoutResponse older than this is refused */

static void say(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

static eh_rc refuse(char *why, size_t whylen, const char *msg)
{
    say(why, whylen, msg);
    return EH_ERR_INVALID;
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static int set_prop(xmlNodePtr n, const char *name, const char *value)
{
    return n != NULL && (value == NULL || xmlNewProp(n, BAD_CAST name, BAD_CAST value) != NULL);
}

void eh_saml_logout_request_free(eh_saml_logout_request *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->issuer);
    free(r->destination);
    free(r->name_id);
    free(r->name_id_format);
    free(r->session_index);
    free(r);
}

void eh_saml_logout_response_free(eh_saml_logout_response *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->issuer);
    free(r->destination);
    free(r->in_response_to);
    free(r->status);
    free(r->sub_status);
    free(r->status_message);
    free(r);
}

/* ================================================================ build */

/* envelope makes a document soap:Envelope/soap:Body/samlp:<name> and
 * returns the samlp element (*el) with the samlp and saml namespaces
 * declared on it. NULL document: no memory. */
static xmlDocPtr envelope(const char *name, xmlNodePtr *el, xmlNsPtr *samlp, xmlNsPtr *saml)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL;
    xmlNsPtr soap;
    xmlNodePtr body;

    if (root == NULL)
        goto fail;
    xmlDocSetRootElement(doc, root);
    if ((soap = xmlNewNs(root, BAD_CAST EH_NS_SOAP11, BAD_CAST "soap")) == NULL)
        goto fail;
    xmlSetNs(root, soap);
    if ((body = eh_saml_new_child(root, soap, "Body", NULL)) == NULL ||
        (*el = xmlNewChild(body, NULL, BAD_CAST name, NULL)) == NULL ||
        (*samlp = xmlNewNs(*el, BAD_CAST EH_NS_SAMLP, BAD_CAST "samlp")) == NULL ||
        (*saml = xmlNewNs(*el, BAD_CAST EH_NS_SAML, BAD_CAST "saml")) == NULL)
        goto fail;
    xmlSetNs(*el, *samlp);
    return doc;
fail:
    xmlFreeDoc(doc);
    return NULL;
}

/* header sets ID, Version, IssueInstant and Destination (when given). */
static int header(xmlNodePtr el, const char *id, int64_t instant, const char *destination)
{
    char when[EH_SAML_TIME_LEN];

    eh_saml_time_format(instant, when);
    return set_prop(el, "ID", id) && set_prop(el, "Version", EH_SAML_VERSION) &&
           set_prop(el, "IssueInstant", when) && set_prop(el, "Destination", destination);
}

/* add_issuer adds saml:Issuer (Format entity) to el. */
static xmlNodePtr add_issuer(xmlNodePtr el, xmlNsPtr saml, const char *issuer)
{
    xmlNodePtr n = eh_saml_new_child(el, saml, "Issuer", issuer);
    return set_prop(n, "Format", EH_SAML_ISSUER_ENTITY) ? n : NULL;
}

eh_rc eh_saml_logout_request_build(const eh_saml_logout_request *r, const eh_saml_keys *signer,
                                   eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                   size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr el = NULL, issuer, n;
    xmlNsPtr samlp = NULL, saml = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (xml != NULL)
        *xml = NULL;
    if (len != NULL)
        *len = 0;
    if (r == NULL || xml == NULL || signer == NULL || !eh_saml_id_like(r->id) || empty(r->issuer) ||
        empty(r->destination) || empty(r->name_id)) {
        rc = refuse(why, whylen, "incomplete or invalid LogoutRequest");
        goto cleanup;
    }
    if ((doc = envelope("LogoutRequest", &el, &samlp, &saml)) == NULL ||
        !header(el, r->id, r->issue_instant, r->destination) ||
        (issuer = add_issuer(el, saml, r->issuer)) == NULL)
        goto cleanup;
    /* schema order: Issuer, (Signature), NameID, SessionIndex */
    n = eh_saml_new_child(el, saml, "NameID", r->name_id);
    if (!set_prop(n, "Format", r->name_id_format))
        goto cleanup;
    if (r->session_index != NULL &&
        eh_saml_new_child(el, samlp, "SessionIndex", r->session_index) == NULL)
        goto cleanup;
    if ((rc = eh_saml_sign(doc, el, issuer, alg, signer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = eh_saml_doc_text(doc, xml, len);
cleanup:
    xmlFreeDoc(doc);
    return rc;
}

eh_rc eh_saml_logout_response_build(const eh_saml_logout_response *r, const eh_saml_keys *signer,
                                    eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                    size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr el = NULL, issuer, st, code;
    xmlNsPtr samlp = NULL, saml = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (xml != NULL)
        *xml = NULL;
    if (len != NULL)
        *len = 0;
    if (r == NULL || xml == NULL || signer == NULL || !eh_saml_id_like(r->id) || empty(r->issuer) ||
        !eh_saml_id_like(r->in_response_to) || empty(r->status)) {
        rc = refuse(why, whylen, "incomplete or invalid LogoutResponse");
        goto cleanup;
    }
    if ((doc = envelope("LogoutResponse", &el, &samlp, &saml)) == NULL ||
        !header(el, r->id, r->issue_instant, r->destination) ||
        !set_prop(el, "InResponseTo", r->in_response_to) ||
        (issuer = add_issuer(el, saml, r->issuer)) == NULL)
        goto cleanup;
    st = eh_saml_new_child(el, samlp, "Status", NULL);
    code = st ? eh_saml_new_child(st, samlp, "StatusCode", NULL) : NULL;
    if (!set_prop(code, "Value", r->status))
        goto cleanup;
    if (r->sub_status != NULL &&
        !set_prop(eh_saml_new_child(code, samlp, "StatusCode", NULL), "Value", r->sub_status))
        goto cleanup;
    if (r->status_message != NULL &&
        eh_saml_new_child(st, samlp, "StatusMessage", r->status_message) == NULL)
        goto cleanup;
    if ((rc = eh_saml_sign(doc, el, issuer, alg, signer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = eh_saml_doc_text(doc, xml, len);
cleanup:
    xmlFreeDoc(doc);
    return rc;
}

/* ============================================================= checking */

/* unwrap finds, in a SOAP 1.1 envelope, the one element of its one Body,
 * which must be samlp:<name>. A Header is allowed (and ignored); nothing
 * else is. */
static eh_rc unwrap(xmlDocPtr doc, const char *name, xmlNodePtr *out, char *why, size_t whylen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), body = NULL, el;

    if (!eh_saml_is(root, EH_NS_SOAP11, "Envelope"))
        return refuse(why, whylen, "not a SOAP 1.1 envelope");
    for (xmlNodePtr n = eh_saml_first_el(root); n != NULL; n = eh_saml_next_el(n)) {
        if (eh_saml_is(n, EH_NS_SOAP11, "Header") && body == NULL && n == eh_saml_first_el(root))
            continue;
        if (!eh_saml_is(n, EH_NS_SOAP11, "Body") || body != NULL)
            return refuse(why, whylen, "SOAP envelope must hold exactly one Body");
        body = n;
    }
    if (body == NULL)
        return refuse(why, whylen, "SOAP envelope must hold exactly one Body");
    el = eh_saml_first_el(body);
    if (el == NULL || eh_saml_next_el(el) != NULL)
        return refuse(why, whylen, "SOAP Body must hold exactly one element");
    if (!eh_saml_is(el, EH_NS_SAMLP, name))
        return refuse(why, whylen,
                      strcmp(name, "LogoutRequest") == 0 ? "not a LogoutRequest"
                                                         : "not a LogoutResponse");
    *out = el;
    return EH_OK;
}

/* read_issuer reads el's one saml:Issuer: Format absent or entity, with a
 * non-empty full text (*out, caller frees). */
static eh_rc read_issuer(xmlNodePtr el, char **out, char *why, size_t whylen)
{
    xmlNodePtr n = eh_saml_child(el, EH_NS_SAML, "Issuer");
    char *format;
    int ok;

    *out = NULL;
    if (n == NULL || eh_saml_child_count(el, EH_NS_SAML, "Issuer") != 1)
        return refuse(why, whylen, "exactly one Issuer required");
    format = eh_saml_prop(n, "Format");
    ok = format == NULL || strcmp(format, EH_SAML_ISSUER_ENTITY) == 0;
    free(format);
    if (!ok)
        return refuse(why, whylen, "Issuer is not an entity");
    *out = eh_saml_text(n);
    if (empty(*out)) {
        free(*out);
        *out = NULL;
        return refuse(why, whylen, "Issuer empty or malformed");
    }
    return EH_OK;
}

/* verify_own: el carries its own ds:Signature, valid with keys, covering
 * exactly el. */
static eh_rc verify_own(xmlDocPtr doc, xmlNodePtr el, const eh_saml_keys *keys, char *why,
                        size_t whylen)
{
    xmlNodePtr sig = eh_saml_find_signature(el), covered = NULL;
    eh_rc rc;

    if (sig == NULL)
        return refuse(why, whylen, "message not signed");
    if ((rc = eh_saml_verify(doc, sig, keys, &covered, why, whylen)) != EH_OK)
        return eh_saml_refusal(rc);
    if (covered != el)
        return refuse(why, whylen, "signature does not cover the message");
    return EH_OK;
}

/* check_header reads and checks Version, ID, IssueInstant (not in the
 * future beyond skew, not older than max_age_s plus skew) into *id and *instant. */
static eh_rc check_header(xmlNodePtr el, int64_t now, unsigned skew_s, unsigned max_age_s,
                          char **id, int64_t *instant, char *why, size_t whylen)
{
    char *version = eh_saml_prop(el, "Version"), *when = eh_saml_prop(el, "IssueInstant");
    eh_rc rc = EH_ERR_INVALID;

    *id = eh_saml_prop(el, "ID");
    if (version == NULL || strcmp(version, EH_SAML_VERSION) != 0)
        say(why, whylen, "Version is not 2.0");
    else if (!eh_saml_id_like(*id))
        say(why, whylen, "ID missing or malformed");
    else if (when == NULL || eh_saml_time_parse(when, instant) != EH_OK)
        say(why, whylen, "IssueInstant missing or malformed");
    else if (*instant > now + (int64_t)skew_s)
        say(why, whylen, "IssueInstant in the future");
    else if (now - *instant > (int64_t)max_age_s + (int64_t)skew_s)
        say(why, whylen, "message too old");
    else
        rc = EH_OK;
    free(version);
    free(when);
    return rc;
}

/* read_name_id reads the request's one saml:NameID (no EncryptedID or
 * BaseID) and its Format. */
static eh_rc read_name_id(xmlNodePtr el, eh_saml_logout_request *r, char *why, size_t whylen)
{
    xmlNodePtr n = eh_saml_child(el, EH_NS_SAML, "NameID");

    if (eh_saml_child(el, EH_NS_SAML, "EncryptedID") != NULL ||
        eh_saml_child(el, EH_NS_SAML, "BaseID") != NULL)
        return refuse(why, whylen, "only a plain NameID is accepted");
    if (n == NULL || eh_saml_child_count(el, EH_NS_SAML, "NameID") != 1)
        return refuse(why, whylen, "exactly one NameID required");
    r->name_id = eh_saml_text(n);
    if (empty(r->name_id))
        return refuse(why, whylen, "NameID empty or malformed");
    r->name_id_format = eh_saml_prop(n, "Format");
    return EH_OK;
}

/* open_message parses an untrusted SOAP message of at most
 * EH_SAML_LOGOUT_MAX bytes (*doc, caller frees), finds its samlp:<name>
 * (*el) and reads that element's Issuer (*issuer, caller frees): what both
 * logout parsers do before they verify anything. */
static eh_rc open_message(const char *xml, size_t len, const char *name, xmlDocPtr *doc,
                          xmlNodePtr *el, char **issuer, char *why, size_t whylen)
{
    eh_rc rc;

    if (len > EH_SAML_LOGOUT_MAX)
        return refuse(why, whylen, "message too large");
    if ((rc = eh_saml_parse(xml, len, doc, why, whylen)) != EH_OK)
        return eh_saml_refusal(rc);
    if ((rc = unwrap(*doc, name, el, why, whylen)) != EH_OK)
        return rc;
    return read_issuer(*el, issuer, why, whylen);
}

eh_rc eh_saml_logout_request_parse(const char *xml, size_t len, const eh_saml_trust *trust,
                                   const eh_saml_logout_expect *x, eh_saml_logout_request **out,
                                   char *why, size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr el = NULL, si;
    const eh_saml_keys *keys = NULL;
    void *handle = NULL;
    int borrowed = 0;
    char *issuer = NULL, *until = NULL;
    int64_t t = 0;
    eh_saml_logout_request *r = NULL;
    eh_rc rc = EH_ERR_INVALID;

    if (out != NULL)
        *out = NULL;
    if (xml == NULL || out == NULL || trust == NULL || trust->keys_of == NULL || x == NULL ||
        x->destination == NULL) {
        say(why, whylen, "bad arguments");
        goto cleanup;
    }
    if ((rc = open_message(xml, len, "LogoutRequest", &doc, &el, &issuer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = trust->keys_of(trust->ctx, issuer, &keys, &handle);
    if (rc == EH_ERR_NOT_FOUND) {
        rc = refuse(why, whylen, "unknown Issuer");
        goto cleanup;
    }
    if (rc != EH_OK) {
        say(why, whylen, "keys of the Issuer unavailable");
        goto cleanup;
    }
    borrowed = 1;
    if ((rc = verify_own(doc, el, keys, why, whylen)) != EH_OK)
        goto cleanup;

    /* from here on, only the covered element is read */
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    r->issuer = issuer;
    issuer = NULL;
    if ((rc = check_header(el, x->now, x->skew_s, x->max_age_s, &r->id, &r->issue_instant, why,
                           whylen)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    r->destination = eh_saml_prop(el, "Destination");
    if (r->destination == NULL || strcmp(r->destination, x->destination) != 0) {
        say(why, whylen, "Destination does not match");
        goto cleanup;
    }
    until = eh_saml_prop(el, "NotOnOrAfter");
    if (until != NULL &&
        (eh_saml_time_parse(until, &t) != EH_OK || t <= x->now - (int64_t)x->skew_s)) {
        say(why, whylen, "NotOnOrAfter malformed or passed");
        goto cleanup;
    }
    if ((rc = read_name_id(el, r, why, whylen)) != EH_OK)
        goto cleanup;
    si = eh_saml_child(el, EH_NS_SAMLP, "SessionIndex");
    if (si != NULL && (eh_saml_child_count(el, EH_NS_SAMLP, "SessionIndex") != 1 ||
                       empty(r->session_index = eh_saml_text(si)))) {
        rc = refuse(why, whylen, "more than one or a malformed SessionIndex");
        goto cleanup;
    }
    *out = r;
    r = NULL;
    rc = EH_OK;
cleanup:
    if (borrowed && trust->release != NULL)
        trust->release(trust->ctx, handle);
    eh_saml_logout_request_free(r);
    free(issuer);
    free(until);
    xmlFreeDoc(doc);
    return rc;
}

/* read_status fills r's status from el's one samlp:Status. */
static eh_rc read_status(xmlNodePtr el, eh_saml_logout_response *r, char *why, size_t whylen)
{
    xmlNodePtr st = eh_saml_child(el, EH_NS_SAMLP, "Status");
    xmlNodePtr code = eh_saml_first_el(st), sub, msg;

    if (st == NULL || eh_saml_child_count(el, EH_NS_SAMLP, "Status") != 1)
        return refuse(why, whylen, "exactly one Status required");
    if (!eh_saml_is(code, EH_NS_SAMLP, "StatusCode") ||
        empty(r->status = eh_saml_prop(code, "Value")))
        return refuse(why, whylen, "Status without StatusCode");
    sub = eh_saml_first_el(code);
    if (sub != NULL && (!eh_saml_is(sub, EH_NS_SAMLP, "StatusCode") ||
                        (r->sub_status = eh_saml_prop(sub, "Value")) == NULL))
        return refuse(why, whylen, "malformed second-level StatusCode");
    msg = eh_saml_child(st, EH_NS_SAMLP, "StatusMessage");
    if (msg != NULL)
        r->status_message = eh_saml_text(msg);
    return EH_OK;
}

eh_rc eh_saml_logout_response_parse(const char *xml, size_t len,
                                    const eh_saml_logout_response_expect *x,
                                    eh_saml_logout_response **out, char *why, size_t whylen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr el = NULL;
    eh_saml_logout_response *r = NULL;
    char *issuer = NULL;
    eh_rc rc = EH_ERR_INVALID;

    if (out != NULL)
        *out = NULL;
    if (xml == NULL || out == NULL || x == NULL || x->issuer == NULL || x->trusted == NULL ||
        x->in_response_to == NULL) {
        say(why, whylen, "bad arguments");
        goto cleanup;
    }
    if ((rc = open_message(xml, len, "LogoutResponse", &doc, &el, &issuer, why, whylen)) != EH_OK)
        goto cleanup;
    if (strcmp(issuer, x->issuer) != 0) {
        rc = refuse(why, whylen, "Issuer is not the expected one");
        goto cleanup;
    }
    if ((rc = verify_own(doc, el, x->trusted, why, whylen)) != EH_OK)
        goto cleanup;

    /* from here on, only the covered element is read */
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    r->issuer = issuer;
    issuer = NULL;
    if ((rc = check_header(el, x->now, x->skew_s, x->max_age_s, &r->id, &r->issue_instant, why,
                           whylen)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    r->in_response_to = eh_saml_prop(el, "InResponseTo");
    if (r->in_response_to == NULL || strcmp(r->in_response_to, x->in_response_to) != 0) {
        say(why, whylen, "InResponseTo does not match");
        goto cleanup;
    }
    r->destination = eh_saml_prop(el, "Destination");
    if (r->destination != NULL &&
        (x->destination == NULL || strcmp(r->destination, x->destination) != 0)) {
        say(why, whylen, "Destination does not match");
        goto cleanup;
    }
    if ((rc = read_status(el, r, why, whylen)) != EH_OK)
        goto cleanup;
    *out = r;
    r = NULL;
cleanup:
    eh_saml_logout_response_free(r);
    free(issuer);
    xmlFreeDoc(doc);
    return rc;
}

/* ===================================================== the SOAP binding */

eh_rc eh_saml_soap_read(const eh_http_request *req, const char **xml, size_t *len, int *status)
{
    const char *type = eh_http_header_get(req, "Content-Type");

    *xml = NULL;
    *len = 0;
    *status = 400;
    if (req->method != EH_HTTP_POST) {
        *status = 405;
        return EH_ERR_HTTP_METHOD;
    }
    if (type == NULL || strncasecmp(type, "text/xml", 8) != 0 ||
        (type[8] != '\0' && type[8] != ';' && type[8] != ' ')) {
        *status = 415;
        return EH_ERR_INVALID;
    }
    if (req->body == NULL || req->body_len == 0)
        return EH_ERR_INVALID;
    if (req->body_len > EH_SAML_LOGOUT_MAX) {
        *status = 413;
        return EH_ERR_TOO_LARGE;
    }
    *xml = (const char *)req->body;
    *len = req->body_len;
    return EH_OK;
}

/* unqualified adds to parent an element name in no namespace with text. */
static int unqualified(xmlDocPtr doc, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
    if (n == NULL)
        return 0;
    xmlAddChild(parent, n);
    xmlNodeAddContent(n, BAD_CAST text);
    return 1;
}

eh_rc eh_saml_soap_fault(eh_http_response *resp, int client, const char *text)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Envelope", NULL) : NULL, body, f;
    xmlNsPtr soap;
    char *xml = NULL;
    size_t len = 0;
    eh_rc rc = EH_ERR_NOMEM;

    if (root == NULL)
        goto cleanup;
    xmlDocSetRootElement(doc, root);
    if ((soap = xmlNewNs(root, BAD_CAST EH_NS_SOAP11, BAD_CAST "soap")) == NULL)
        goto cleanup;
    xmlSetNs(root, soap);
    body = eh_saml_new_child(root, soap, "Body", NULL);
    f = body ? eh_saml_new_child(body, soap, "Fault", NULL) : NULL;
    /* faultcode and faultstring are unqualified (SOAP 1.1 section 4.4) */
    if (f == NULL || !unqualified(doc, f, "faultcode", client ? "soap:Client" : "soap:Server") ||
        !unqualified(doc, f, "faultstring", text))
        goto cleanup;
    if ((rc = eh_saml_doc_text(doc, &xml, &len)) == EH_OK) {
        rc = eh_http_response_take_body(resp, 500, "text/xml; charset=utf-8", xml, len);
        xml = NULL;
    }
cleanup:
    free(xml);
    xmlFreeDoc(doc);
    return rc;
}

eh_rc eh_saml_logout_respond(eh_http_response *resp, const char *issuer, const char *destination,
                             const char *in_response_to, const char *status, const char *sub_status,
                             const eh_saml_keys *signer, eh_saml_sig_alg alg, char *why,
                             size_t whylen)
{
    char id[EH_SAML_ID_LEN], *xml = NULL;
    size_t len = 0;
    eh_saml_logout_response r = {0};
    eh_rc rc = eh_saml_new_id(id);

    if (rc != EH_OK)
        return rc;
    r.id = id;
    r.issuer = (char *)issuer;
    r.destination = (char *)destination;
    r.in_response_to = (char *)in_response_to;
    r.issue_instant = (int64_t)time(NULL);
    r.status = (char *)status;
    r.sub_status = (char *)sub_status;
    rc = eh_saml_logout_response_build(&r, signer, alg, &xml, &len, why, whylen);
    if (rc == EH_OK)
        rc = eh_http_response_take_body(resp, 200, "text/xml; charset=utf-8", xml, len);
    else
        free(xml);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "no-store");
    return rc;
}

/* soap_post posts envelope to url (SOAP binding, broker/http_client.h)
 * and returns the answer's status and body (*answer, caller frees).
 * EH_ERR_IO when no complete answer came (why: curl's reason). */
static eh_rc soap_post(const char *url, const char *envelope, unsigned timeout_ms, long *status,
                       char **answer, size_t *answer_len, char *why, size_t whylen)
{
    eh_http_call call = {.method = "POST",
                         .url = url,
                         .soap_body = envelope,
                         .timeout_ms = timeout_ms,
                         .connect_timeout_ms = timeout_ms};
    eh_http_answer a = {0};
    eh_rc rc = eh_http_client_call(&call, &a, why, whylen);

    *status = a.status;
    *answer = a.body;
    *answer_len = a.body_len;
    if (rc == EH_OK && a.body_len > EH_SAML_LOGOUT_MAX)
        rc = EH_ERR_TOO_LARGE;
    if (rc != EH_OK) {
        eh_http_answer_clear(&a);
        *answer = NULL;
        *answer_len = 0;
    }
    return rc;
}

eh_rc eh_saml_logout_exchange(const eh_saml_logout_request *r, const eh_saml_logout_peer *peer,
                              const char *our_slo, const eh_saml_keys *signer, eh_saml_sig_alg alg,
                              unsigned skew_s, unsigned timeout_ms, int tries, char **status,
                              char **sub_status, int *attempts, char *why, size_t whylen)
{
    eh_saml_logout_request req;
    eh_saml_logout_response *resp = NULL;
    eh_saml_logout_response_expect x = {0};
    char id[EH_SAML_ID_LEN], *xml = NULL, *answer = NULL;
    size_t len = 0, answer_len = 0;
    long http_status = 0;
    eh_rc rc = EH_ERR_IO;

    *status = NULL;
    *sub_status = NULL;
    *attempts = 0;
    if (r == NULL || peer == NULL || peer->url == NULL || peer->entity_id == NULL ||
        peer->trusted == NULL) {
        say(why, whylen, "bad arguments");
        return EH_ERR_INVALID;
    }
    for (int attempt = 1; attempt <= tries; attempt++) {
        *attempts = attempt;
        free(xml);
        free(answer);
        xml = answer = NULL;
        if ((rc = eh_saml_new_id(id)) != EH_OK)
            break;
        req = *r;
        req.id = id;
        req.destination = (char *)peer->url;
        req.issue_instant = (int64_t)time(NULL);
        if ((rc = eh_saml_logout_request_build(&req, signer, alg, &xml, &len, why, whylen)) !=
            EH_OK)
            break; /* ours: another try would fail the same way */
        rc = soap_post(peer->url, xml, timeout_ms, &http_status, &answer, &answer_len, why,
                       whylen);
        if (rc == EH_ERR_NOMEM || rc == EH_ERR_INTERNAL)
            break;
        if (rc != EH_OK)
            continue;
        if (http_status != 200 || answer == NULL) {
            say(why, whylen, "the peer answered with an HTTP error");
            rc = EH_ERR_IO;
            continue;
        }
        x.issuer = peer->entity_id;
        x.trusted = peer->trusted;
        x.in_response_to = id;
        x.destination = our_slo;
        x.now = (int64_t)time(NULL);
        x.skew_s = skew_s;
        x.max_age_s = RESPONSE_MAX_AGE_S;
        rc = eh_saml_logout_response_parse(answer, answer_len, &x, &resp, why, whylen);
        if (rc == EH_ERR_NOMEM)
            break;
        if (rc == EH_OK) {
            *status = resp->status;
            *sub_status = resp->sub_status;
            resp->status = resp->sub_status = NULL;
            break;
        }
        rc = EH_ERR_IO;
    }
    if (rc != EH_OK && rc != EH_ERR_NOMEM && rc != EH_ERR_INVALID && rc != EH_ERR_INTERNAL)
        rc = EH_ERR_IO;
    eh_saml_logout_response_free(resp);
    free(xml);
    free(answer);
    return rc;
}
