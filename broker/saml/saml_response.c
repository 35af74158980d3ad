/* eidhub: the eIDAS Response, built (Proxy-Service) and consumed
 * (Connector); see saml_response.h.
 *
 * Building: the saml:Assertion is made in place under its
 * saml:EncryptedAssertion, declaring every namespace it uses on itself (so
 * that the text xmlsec encrypts parses back standalone), signed, then
 * encrypted (the EncryptedData replaces it), and the Response is signed
 * last.
 *
 * Consuming: the Response's own signature is verified first and every
 * later read goes from the covered root through direct children only; the
 * one EncryptedAssertion is decrypted and the decrypted Assertion must carry
 * its own signature, which must cover exactly it. No XPath, no searches of
 * the document. */
#include "broker/saml/saml_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"

#define NN_LOA_PREFIX "http://eidas.europa.eu/NonNotified/LoA/"

static void say(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

/* refuse writes msg to why and returns EH_ERR_INVALID. */
static eh_rc refuse(char *why, size_t whylen, const char *msg)
{
    say(why, whylen, msg);
    return EH_ERR_INVALID;
}

/* ================================================================ build */

static int set_prop(xmlNodePtr n, const char *name, const char *value)
{
    return n != NULL && xmlNewProp(n, BAD_CAST name, BAD_CAST value) != NULL;
}

static int set_time(xmlNodePtr n, const char *name, int64_t t)
{
    char buf[EH_SAML_TIME_LEN];
    eh_saml_time_format(t, buf);
    return set_prop(n, name, buf);
}

/* child adds an element to parent, which may be NULL after a failure
 * (then NULL: eh_saml_new_child would make an unlinked element). */
static xmlNodePtr child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    return parent != NULL ? eh_saml_new_child(parent, ns, name, text) : NULL;
}

/* add_issuer adds saml:Issuer (Format entity) to parent. */
static xmlNodePtr add_issuer(xmlNodePtr parent, xmlNsPtr saml, const char *issuer)
{
    xmlNodePtr n = child(parent, saml, "Issuer", issuer);
    if (!set_prop(n, "Format", EH_SAML_ISSUER_ENTITY))
        return NULL;
    return n;
}

/* xsi_type writes the xsi:type of an eIDAS attribute uri into buf:
 * "eidas-natural:<Segment>Type", "eidas-legal:<Segment>Type" or
 * "xs:string". */
static void xsi_type(const char *uri, char *buf, size_t len)
{
    static const struct {
        const char *ns, *prefix;
    } kinds[] = {{EH_NS_EIDAS_NATURAL "/", "eidas-natural"},
                 {EH_NS_EIDAS_LEGAL "/", "eidas-legal"}};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t pl = strlen(kinds[i].ns);
        if (strncmp(uri, kinds[i].ns, pl) != 0)
            continue;
        const char *seg = uri + pl;
        int ok = seg[0] != '\0';
        for (const char *p = seg; *p != '\0'; p++)
            ok = ok && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                        (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.');
        if (ok && (size_t)snprintf(buf, len, "%s:%sType", kinds[i].prefix, seg) < len)
            return;
        break;
    }
    snprintf(buf, len, "xs:string");
}

/* friendly_name: the last segment of an attribute URI. */
static const char *friendly_name(const char *uri)
{
    const char *slash = strrchr(uri, '/');
    return slash != NULL && slash[1] != '\0' ? slash + 1 : uri;
}

/* add_attributes adds the AttributeStatement of s (none when empty). */
static eh_rc add_attributes(const eh_saml_response_spec *s, xmlNodePtr a, xmlNsPtr saml,
                            xmlNsPtr xsi, char *why, size_t whylen)
{
    const char *uri;
    json_t *v;
    xmlNodePtr st;

    if (s->attributes == NULL || json_object_size(s->attributes) == 0)
        return EH_OK;
    if (!json_is_object(s->attributes))
        return refuse(why, whylen, "attributes must be an object");
    st = eh_saml_new_child(a, saml, "AttributeStatement", NULL);
    if (st == NULL)
        return EH_ERR_NOMEM;
    json_object_foreach((json_t *)s->attributes, uri, v)
    {
        char type[256];
        if (!json_is_string(v) || uri[0] == '\0')
            return refuse(why, whylen, "attribute values must be strings");
        xmlNodePtr at = child(st, saml, "Attribute", NULL);
        if (!set_prop(at, "Name", uri) || !set_prop(at, "NameFormat", EH_SAML_ATTRNAME_URI) ||
            !set_prop(at, "FriendlyName", friendly_name(uri)))
            return EH_ERR_NOMEM;
        xmlNodePtr val = child(at, saml, "AttributeValue", json_string_value(v));
        xsi_type(uri, type, sizeof(type));
        if (val == NULL || xmlNewNsProp(val, xsi, BAD_CAST "type", BAD_CAST type) == NULL)
            return EH_ERR_NOMEM;
    }
    return EH_OK;
}

/* add_assertion builds the saml:Assertion of s as the last child of parent,
 * declaring on itself every namespace it uses; *out is the Assertion and
 * *issuer its Issuer (the signature goes after it). */
static eh_rc add_assertion(const eh_saml_response_spec *s, xmlNodePtr parent, xmlNodePtr *out,
                           xmlNodePtr *issuer, char *why, size_t whylen)
{
    char loa_uri[128];
    const char *irt = s->in_response_to;
    int64_t until = s->now + (int64_t)s->valid_s;
    xmlNodePtr a, n, sc, c, as, ac;
    xmlNsPtr saml, xsi;

    a = eh_saml_new_child(NULL, NULL, "Assertion", NULL);
    if (a == NULL)
        return EH_ERR_NOMEM;
    if (xmlAddChild(parent, a) == NULL) {
        xmlFreeNode(a);
        return EH_ERR_NOMEM;
    }
    saml = xmlNewNs(a, BAD_CAST EH_NS_SAML, BAD_CAST "saml");
    xsi = xmlNewNs(a, BAD_CAST EH_NS_XSI, BAD_CAST "xsi");
    if (saml == NULL || xsi == NULL || xmlNewNs(a, BAD_CAST EH_NS_XS, BAD_CAST "xs") == NULL ||
        xmlNewNs(a, BAD_CAST EH_NS_EIDAS_NATURAL, BAD_CAST "eidas-natural") == NULL ||
        xmlNewNs(a, BAD_CAST EH_NS_EIDAS_LEGAL, BAD_CAST "eidas-legal") == NULL)
        return EH_ERR_NOMEM;
    xmlSetNs(a, saml);
    if (!set_prop(a, "ID", s->assertion_id) || !set_prop(a, "Version", EH_SAML_VERSION) ||
        !set_time(a, "IssueInstant", s->now))
        return EH_ERR_NOMEM;
    if ((*issuer = add_issuer(a, saml, s->issuer)) == NULL)
        return EH_ERR_NOMEM;

    /* Subject: NameID and a bearer confirmation */
    n = child(child(a, saml, "Subject", NULL), saml, "NameID", s->name_id);
    if (n == NULL || (s->name_id_format != NULL && !set_prop(n, "Format", s->name_id_format)))
        return EH_ERR_NOMEM;
    sc = child(n->parent, saml, "SubjectConfirmation", NULL);
    if (!set_prop(sc, "Method", EH_SAML_CM_BEARER))
        return EH_ERR_NOMEM;
    c = child(sc, saml, "SubjectConfirmationData", NULL);
    if (!set_prop(c, "InResponseTo", irt) || !set_time(c, "NotOnOrAfter", until) ||
        !set_prop(c, "Recipient", s->destination))
        return EH_ERR_NOMEM;

    /* Conditions */
    c = child(a, saml, "Conditions", NULL);
    if (!set_time(c, "NotBefore", s->now) || !set_time(c, "NotOnOrAfter", until))
        return EH_ERR_NOMEM;
    c = child(child(c, saml, "AudienceRestriction", NULL), saml, "Audience", s->audience);
    if (c == NULL)
        return EH_ERR_NOMEM;

    /* AuthnStatement: the LoA (non-notified URI under exact comparison) */
    if (s->comparison == EH_LOA_EXACT)
        snprintf(loa_uri, sizeof(loa_uri), NN_LOA_PREFIX "%s", eh_loa_name(s->loa));
    else
        snprintf(loa_uri, sizeof(loa_uri), "%s", eh_loa_uri(s->loa));
    as = child(a, saml, "AuthnStatement", NULL);
    if (!set_time(as, "AuthnInstant", s->authn_instant != 0 ? s->authn_instant : s->now))
        return EH_ERR_NOMEM;
    ac = child(as, saml, "AuthnContext", NULL);
    if (child(ac, saml, "AuthnContextClassRef", loa_uri) == NULL)
        return EH_ERR_NOMEM;

    *out = a;
    return add_attributes(s, a, saml, xsi, why, whylen);
}

eh_rc eh_saml_response_build(const eh_saml_response_spec *s, const eh_saml_keys *signer,
                             eh_saml_sig_alg alg, const eh_saml_keys *recipient,
                             eh_saml_enc_alg enc, char **xml, size_t *len, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, issuer, st, code, ea, a = NULL, a_issuer = NULL, ed = NULL;
    xmlNsPtr samlp, saml;
    int success;

    if (xml != NULL)
        *xml = NULL;
    if (len != NULL)
        *len = 0;
    if (s == NULL || signer == NULL || xml == NULL || s->id == NULL || s->issuer == NULL ||
        s->destination == NULL || s->in_response_to == NULL || s->status == NULL) {
        say(why, whylen, "incomplete response");
        goto cleanup;
    }
    success = strcmp(s->status, EH_SAML_STATUS_SUCCESS) == 0;
    if (success && (recipient == NULL || s->assertion_id == NULL || s->audience == NULL ||
                    s->name_id == NULL || eh_loa_uri(s->loa) == NULL)) {
        say(why, whylen, "incomplete assertion");
        goto cleanup;
    }
    if ((rc = eh_saml_init()) != EH_OK)
        goto cleanup;

    rc = EH_ERR_NOMEM;
    doc = xmlNewDoc(BAD_CAST "1.0");
    root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "Response", NULL) : NULL;
    if (root == NULL)
        goto cleanup;
    xmlDocSetRootElement(doc, root);
    samlp = xmlNewNs(root, BAD_CAST EH_NS_SAMLP, BAD_CAST "samlp");
    saml = xmlNewNs(root, BAD_CAST EH_NS_SAML, BAD_CAST "saml");
    if (samlp == NULL || saml == NULL)
        goto cleanup;
    xmlSetNs(root, samlp);
    if (!set_prop(root, "ID", s->id) || !set_prop(root, "Version", EH_SAML_VERSION) ||
        !set_time(root, "IssueInstant", s->now) || !set_prop(root, "Destination", s->destination) ||
        !set_prop(root, "InResponseTo", s->in_response_to))
        goto cleanup;
    if ((issuer = add_issuer(root, saml, s->issuer)) == NULL)
        goto cleanup;

    /* Status: top-level code, optional second-level code and message */
    st = child(root, samlp, "Status", NULL);
    code = child(st, samlp, "StatusCode", NULL);
    if (!set_prop(code, "Value", s->status))
        goto cleanup;
    if (s->sub_status != NULL &&
        !set_prop(child(code, samlp, "StatusCode", NULL), "Value", s->sub_status))
        goto cleanup;
    if (s->status_message != NULL && child(st, samlp, "StatusMessage", s->status_message) == NULL)
        goto cleanup;

    if (success) {
        /* sign the assertion in place, then let its EncryptedData replace it */
        if ((ea = child(root, saml, "EncryptedAssertion", NULL)) == NULL)
            goto cleanup;
        if ((rc = add_assertion(s, ea, &a, &a_issuer, why, whylen)) != EH_OK)
            goto cleanup;
        if ((rc = eh_saml_sign(doc, a, a_issuer, alg, signer, why, whylen)) != EH_OK)
            goto cleanup;
        if ((rc = eh_saml_encrypt(doc, a, enc, recipient, &ed, why, whylen)) != EH_OK)
            goto cleanup;
    }
    /* the Response's signature last, right after its Issuer */
    if ((rc = eh_saml_sign(doc, root, issuer, alg, signer, why, whylen)) != EH_OK)
        goto cleanup;
    rc = eh_saml_doc_text(doc, xml, len);

cleanup:
    if (doc != NULL)
        xmlFreeDoc(doc);
    return rc;
}

/* ============================================================== consume */

void eh_saml_response_result_free(eh_saml_response_result *r)
{
    if (r == NULL)
        return;
    free(r->issuer);
    free(r->in_response_to);
    free(r->status);
    free(r->sub_status);
    free(r->status_message);
    free(r->assertion_id);
    free(r->name_id);
    free(r->name_id_format);
    json_decref(r->attributes);
    free(r);
}

/* text_equals tells whether n's full text equals want. */
static int text_equals(xmlNodePtr n, const char *want)
{
    char *t = eh_saml_text(n);
    int eq = t != NULL && want != NULL && strcmp(t, want) == 0;
    free(t);
    return eq;
}

/* prop_equals tells whether n's attribute name is present and equals want. */
static int prop_equals(xmlNodePtr n, const char *name, const char *want)
{
    char *v = eh_saml_prop(n, name);
    int eq = v != NULL && want != NULL && strcmp(v, want) == 0;
    free(v);
    return eq;
}

/* prop_time reads n's attribute name as xs:dateTime: 1 when present and
 * valid, 0 when absent, -1 when malformed. */
static int prop_time(xmlNodePtr n, const char *name, int64_t *out)
{
    char *v = eh_saml_prop(n, name);
    int r = v == NULL ? 0 : eh_saml_time_parse(v, out) == EH_OK ? 1 : -1;
    free(v);
    return r;
}

/* check_issuer: parent has exactly one saml:Issuer, of Format entity (or
 * none), whose text is want. */
static eh_rc check_issuer(xmlNodePtr parent, const char *want, char *why, size_t whylen)
{
    xmlNodePtr is = eh_saml_child(parent, EH_NS_SAML, "Issuer");
    char *fmt;
    int ok;

    if (is == NULL || eh_saml_child_count(parent, EH_NS_SAML, "Issuer") != 1)
        return refuse(why, whylen, "exactly one Issuer required");
    fmt = eh_saml_prop(is, "Format");
    ok = fmt == NULL || strcmp(fmt, EH_SAML_ISSUER_ENTITY) == 0;
    free(fmt);
    if (!ok)
        return refuse(why, whylen, "Issuer Format is not entity");
    if (!text_equals(is, want))
        return refuse(why, whylen, "Issuer is not the expected one");
    return EH_OK;
}

/* check_header: Version 2.0 and an IssueInstant not beyond now + skew. */
static eh_rc check_header(xmlNodePtr n, const eh_saml_response_expect *x, char *why, size_t whylen)
{
    int64_t t = 0;

    if (!prop_equals(n, "Version", EH_SAML_VERSION))
        return refuse(why, whylen, "Version is not 2.0");
    if (prop_time(n, "IssueInstant", &t) != 1)
        return refuse(why, whylen, "IssueInstant missing or malformed");
    if (t > x->now + (int64_t)x->skew_s)
        return refuse(why, whylen, "IssueInstant is in the future");
    return EH_OK;
}

/* verify_own: n must carry its own ds:Signature, valid with trusted,
 * covering exactly n. */
static eh_rc verify_own(xmlDocPtr doc, xmlNodePtr n, const eh_saml_keys *trusted,
                        const char *unsigned_msg, char *why, size_t whylen)
{
    xmlNodePtr sig = eh_saml_find_signature(n), covered = NULL;
    eh_rc rc;

    if (sig == NULL)
        return refuse(why, whylen, unsigned_msg);
    rc = eh_saml_verify(doc, sig, trusted, &covered, why, whylen);
    if (rc != EH_OK)
        return eh_saml_refusal(rc);
    if (covered != n)
        return refuse(why, whylen, "signature does not cover the element");
    return EH_OK;
}

/* read_status fills r's status fields from the root's samlp:Status. */
static eh_rc read_status(xmlNodePtr root, eh_saml_response_result *r, char *why, size_t whylen)
{
    xmlNodePtr st = eh_saml_child(root, EH_NS_SAMLP, "Status");
    xmlNodePtr code = eh_saml_first_el(st), sub, msg;

    if (st == NULL || eh_saml_child_count(root, EH_NS_SAMLP, "Status") != 1)
        return refuse(why, whylen, "exactly one Status required");
    if (!eh_saml_is(code, EH_NS_SAMLP, "StatusCode") ||
        (r->status = eh_saml_prop(code, "Value")) == NULL || r->status[0] == '\0')
        return refuse(why, whylen, "Status without StatusCode");
    sub = eh_saml_first_el(code);
    if (sub != NULL) {
        if (!eh_saml_is(sub, EH_NS_SAMLP, "StatusCode") ||
            (r->sub_status = eh_saml_prop(sub, "Value")) == NULL)
            return refuse(why, whylen, "malformed second-level StatusCode");
    }
    msg = eh_saml_child(st, EH_NS_SAMLP, "StatusMessage");
    if (msg != NULL)
        r->status_message = eh_saml_text(msg); /* NULL if it holds elements */
    return EH_OK;
}

/* check_confirmation: one bearer SubjectConfirmation's data. */
static eh_rc check_confirmation(xmlNodePtr sc, const eh_saml_response_expect *x, int64_t *until,
                                char *why, size_t whylen)
{
    xmlNodePtr d = eh_saml_child(sc, EH_NS_SAML, "SubjectConfirmationData");
    int64_t t = 0;
    int have;

    if (d == NULL || eh_saml_child_count(sc, EH_NS_SAML, "SubjectConfirmationData") != 1)
        return refuse(why, whylen, "bearer confirmation without one SubjectConfirmationData");
    if (!prop_equals(d, "Recipient", x->destination))
        return refuse(why, whylen, "Recipient does not match");
    if (!prop_equals(d, "InResponseTo", x->in_response_to))
        return refuse(why, whylen, "SubjectConfirmationData InResponseTo does not match");
    have = prop_time(d, "NotBefore", &t);
    if (have < 0 || (have == 1 && t > x->now + (int64_t)x->skew_s))
        return refuse(why, whylen, "SubjectConfirmationData not yet valid");
    if (prop_time(d, "NotOnOrAfter", until) != 1)
        return refuse(why, whylen, "SubjectConfirmationData NotOnOrAfter missing or malformed");
    if (*until <= x->now - (int64_t)x->skew_s)
        return refuse(why, whylen, "SubjectConfirmationData expired");
    return EH_OK;
}

/* read_subject: NameID and a valid bearer confirmation (*until its
 * NotOnOrAfter). */
static eh_rc read_subject(xmlNodePtr a, const eh_saml_response_expect *x,
                          eh_saml_response_result *r, int64_t *until, char *why, size_t whylen)
{
    xmlNodePtr subj = eh_saml_child(a, EH_NS_SAML, "Subject"), id;
    int bearers = 0;
    eh_rc rc = EH_ERR_INVALID;

    if (subj == NULL || eh_saml_child_count(a, EH_NS_SAML, "Subject") != 1)
        return refuse(why, whylen, "exactly one Subject required");
    id = eh_saml_child(subj, EH_NS_SAML, "NameID");
    if (id == NULL || eh_saml_child_count(subj, EH_NS_SAML, "NameID") != 1)
        return refuse(why, whylen, "exactly one NameID required");
    r->name_id = eh_saml_text(id);
    if (r->name_id == NULL || r->name_id[0] == '\0')
        return refuse(why, whylen, "NameID empty or malformed");
    r->name_id_format = eh_saml_prop(id, "Format");

    for (xmlNodePtr sc = eh_saml_first_el(subj); sc != NULL; sc = eh_saml_next_el(sc)) {
        if (!eh_saml_is(sc, EH_NS_SAML, "SubjectConfirmation") ||
            !prop_equals(sc, "Method", EH_SAML_CM_BEARER))
            continue;
        bearers++;
        /* any one valid bearer confirmation will do; else the last reason */
        if ((rc = check_confirmation(sc, x, until, why, whylen)) == EH_OK)
            return EH_OK;
    }
    return bearers == 0 ? refuse(why, whylen, "no bearer SubjectConfirmation") : rc;
}

/* check_conditions: time window and audience. *until is the NotOnOrAfter
 * (0 when absent). */
static eh_rc check_conditions(xmlNodePtr a, const eh_saml_response_expect *x, int64_t *until,
                              char *why, size_t whylen)
{
    xmlNodePtr c = eh_saml_child(a, EH_NS_SAML, "Conditions");
    int64_t t = 0;
    int have;
    size_t restrictions = 0;

    *until = 0;
    if (c == NULL || eh_saml_child_count(a, EH_NS_SAML, "Conditions") != 1)
        return refuse(why, whylen, "exactly one Conditions required");
    have = prop_time(c, "NotBefore", &t);
    if (have < 0)
        return refuse(why, whylen, "Conditions NotBefore malformed");
    if (have == 1 && t > x->now + (int64_t)x->skew_s)
        return refuse(why, whylen, "Conditions NotBefore is in the future");
    have = prop_time(c, "NotOnOrAfter", until);
    if (have < 0)
        return refuse(why, whylen, "Conditions NotOnOrAfter malformed");
    if (have == 1 && *until <= x->now - (int64_t)x->skew_s)
        return refuse(why, whylen, "Conditions expired");
    if (have == 0)
        *until = 0;
    for (xmlNodePtr n = eh_saml_first_el(c); n != NULL; n = eh_saml_next_el(n)) {
        if (eh_saml_is(n, EH_NS_SAML, "AudienceRestriction")) {
            int ours = 0;
            for (xmlNodePtr au = eh_saml_first_el(n); au != NULL; au = eh_saml_next_el(au))
                ours |= eh_saml_is(au, EH_NS_SAML, "Audience") && text_equals(au, x->audience);
            if (!ours)
                return refuse(why, whylen, "Audience does not match");
            restrictions++;
        } else if (!eh_saml_is(n, EH_NS_SAML, "OneTimeUse") &&
                   !eh_saml_is(n, EH_NS_SAML, "ProxyRestriction")) {
            return refuse(why, whylen, "unknown condition");
        }
    }
    if (restrictions == 0)
        return refuse(why, whylen, "no AudienceRestriction");
    return EH_OK;
}

/* read_authn: exactly one AuthnStatement whose LoA satisfies the request. */
static eh_rc read_authn(xmlNodePtr a, const eh_saml_response_expect *x, eh_saml_response_result *r,
                        char *why, size_t whylen)
{
    xmlNodePtr as = eh_saml_child(a, EH_NS_SAML, "AuthnStatement");
    xmlNodePtr ac = eh_saml_child(as, EH_NS_SAML, "AuthnContext");
    xmlNodePtr ref = eh_saml_child(ac, EH_NS_SAML, "AuthnContextClassRef");
    char *text = NULL, canon[128];
    int nn = 0;
    eh_rc rc = EH_OK;

    if (as == NULL || eh_saml_child_count(a, EH_NS_SAML, "AuthnStatement") != 1)
        return refuse(why, whylen, "exactly one AuthnStatement required");
    if (prop_time(as, "AuthnInstant", &r->authn_instant) != 1)
        return refuse(why, whylen, "AuthnInstant missing or malformed");
    if (ref == NULL || (text = eh_saml_text(ref)) == NULL)
        return refuse(why, whylen, "no AuthnContextClassRef");
    r->loa = eh_loa_parse(text, &nn);
    /* only the eIDAS URIs, spelt exactly */
    if (r->loa != EH_LOA_NONE)
        snprintf(canon, sizeof(canon), "%s%s", nn ? NN_LOA_PREFIX : "",
                 nn ? eh_loa_name(r->loa) : eh_loa_uri(r->loa));
    if (r->loa == EH_LOA_NONE || strcmp(text, canon) != 0)
        rc = refuse(why, whylen, "unknown level of assurance");
    else if ((nn && x->comparison != EH_LOA_EXACT) ||
             !eh_loa_satisfies(r->loa, x->min_loa, x->comparison)) {
        /* well-formed and signed, but not the level asked for */
        say(why, whylen,
            nn && x->comparison != EH_LOA_EXACT ? "non-notified level of assurance not requested"
            : x->comparison == EH_LOA_EXACT     ? "level of assurance is not the requested one"
                                                : "level of assurance below the requested one");
        rc = EH_ERR_UNMET;
    }
    free(text);
    return rc;
}

/* read_attributes: every AttributeStatement/Attribute: Name -> array of
 * the full text of each AttributeValue. */
static eh_rc read_attributes(xmlNodePtr a, eh_saml_response_result *r, char *why, size_t whylen)
{
    if ((r->attributes = json_object()) == NULL)
        return EH_ERR_NOMEM;
    for (xmlNodePtr st = eh_saml_first_el(a); st != NULL; st = eh_saml_next_el(st)) {
        if (!eh_saml_is(st, EH_NS_SAML, "AttributeStatement"))
            continue;
        for (xmlNodePtr at = eh_saml_first_el(st); at != NULL; at = eh_saml_next_el(at)) {
            char *name;
            json_t *arr;
            if (!eh_saml_is(at, EH_NS_SAML, "Attribute"))
                return refuse(why, whylen, "unsupported element in AttributeStatement");
            name = eh_saml_prop(at, "Name");
            if (name == NULL || name[0] == '\0') {
                free(name);
                return refuse(why, whylen, "Attribute without Name");
            }
            arr = json_object_get(r->attributes, name);
            if (arr == NULL && json_object_set_new(r->attributes, name, arr = json_array()) != 0)
                arr = NULL;
            free(name);
            if (arr == NULL)
                return EH_ERR_NOMEM;
            for (xmlNodePtr v = eh_saml_first_el(at); v != NULL; v = eh_saml_next_el(v)) {
                char *text;
                if (!eh_saml_is(v, EH_NS_SAML, "AttributeValue"))
                    return refuse(why, whylen, "unsupported element in Attribute");
                if ((text = eh_saml_text(v)) == NULL)
                    return refuse(why, whylen, "AttributeValue holds elements");
                if (json_array_append_new(arr, json_string(text)) != 0) {
                    free(text);
                    return refuse(why, whylen, "AttributeValue is not valid text");
                }
                free(text);
            }
        }
    }
    return EH_OK;
}

/* read_assertion decrypts the one EncryptedData of ea and reads the signed
 * Assertion it holds. */
static eh_rc read_assertion(xmlDocPtr doc, xmlNodePtr ea, const eh_saml_response_expect *x,
                            eh_saml_response_result *r, char *why, size_t whylen)
{
    xmlNodePtr ed = eh_saml_child(ea, EH_NS_XENC, "EncryptedData"), a = NULL;
    int64_t conf_until = 0, cond_until = 0;
    eh_rc rc;

    if (ed == NULL || eh_saml_child_count(ea, EH_NS_XENC, "EncryptedData") != 1)
        return refuse(why, whylen, "EncryptedAssertion without one EncryptedData");
    for (xmlNodePtr n = eh_saml_first_el(ea); n != NULL; n = eh_saml_next_el(n))
        if (n != ed && !eh_saml_is(n, EH_NS_XENC, "EncryptedKey"))
            return refuse(why, whylen, "unexpected element in EncryptedAssertion");
    if (x->ours == NULL || x->audience == NULL)
        return refuse(why, whylen, "no decryption keys or audience");
    if ((rc = eh_saml_decrypt(doc, ed, x->ours, &a, why, whylen)) != EH_OK)
        return eh_saml_refusal(rc);
    if (!eh_saml_is(a, EH_NS_SAML, "Assertion"))
        return refuse(why, whylen, "decrypted element is not an Assertion");
    /* the decrypted text must have been one element: nothing but EncryptedKey beside it */
    for (xmlNodePtr n = eh_saml_first_el(ea); n != NULL; n = eh_saml_next_el(n))
        if (n != a && !eh_saml_is(n, EH_NS_XENC, "EncryptedKey"))
            return refuse(why, whylen, "EncryptedAssertion holds more than one element");
    if ((rc = verify_own(doc, a, x->trusted, "Assertion is not signed", why, whylen)) != EH_OK)
        return rc;

    /* from here on only a (covered) and its children are read */
    if ((rc = check_header(a, x, why, whylen)) != EH_OK)
        return rc;
    r->assertion_id = eh_saml_prop(a, "ID");
    if (r->assertion_id == NULL || r->assertion_id[0] == '\0')
        return refuse(why, whylen, "Assertion without ID");
    if ((rc = check_issuer(a, x->issuer, why, whylen)) != EH_OK)
        return rc;
    if ((rc = read_subject(a, x, r, &conf_until, why, whylen)) != EH_OK)
        return rc;
    if ((rc = check_conditions(a, x, &cond_until, why, whylen)) != EH_OK)
        return rc;
    if ((rc = read_authn(a, x, r, why, whylen)) != EH_OK)
        return rc;
    if ((rc = read_attributes(a, r, why, whylen)) != EH_OK)
        return rc;
    r->not_on_or_after = cond_until != 0 && cond_until < conf_until ? cond_until : conf_until;
    return EH_OK;
}

eh_rc eh_saml_response_consume(const char *xml, size_t len, const eh_saml_response_expect *x,
                               eh_saml_response_result **out, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    eh_saml_response_result *r = NULL;
    size_t n_enc, n_plain;

    if (out != NULL)
        *out = NULL;
    if (xml == NULL || x == NULL || out == NULL || x->issuer == NULL || x->trusted == NULL ||
        x->destination == NULL || x->in_response_to == NULL) {
        say(why, whylen, "bad arguments");
        goto cleanup;
    }
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = eh_saml_parse(xml, len, &doc, why, whylen)) != EH_OK) {
        rc = eh_saml_refusal(rc);
        goto cleanup;
    }
    root = xmlDocGetRootElement(doc);
    if (!eh_saml_is(root, EH_NS_SAMLP, "Response")) {
        rc = refuse(why, whylen, "not a SAML Response");
        goto cleanup;
    }
    if (!prop_equals(root, "Version", EH_SAML_VERSION)) {
        rc = refuse(why, whylen, "Version is not 2.0");
        goto cleanup;
    }
    if ((rc = check_issuer(root, x->issuer, why, whylen)) != EH_OK)
        goto cleanup;
    if ((rc = verify_own(doc, root, x->trusted, "Response is not signed", why, whylen)) != EH_OK)
        goto cleanup;

    /* from here on only root (covered) and its children are read */
    if (!prop_equals(root, "Destination", x->destination)) {
        rc = refuse(why, whylen, "Destination does not match");
        goto cleanup;
    }
    r->in_response_to = eh_saml_prop(root, "InResponseTo");
    if (r->in_response_to == NULL) {
        rc = refuse(why, whylen, "unsolicited Response (no InResponseTo)");
        goto cleanup;
    }
    if (strcmp(r->in_response_to, x->in_response_to) != 0) {
        rc = refuse(why, whylen, "InResponseTo does not match");
        goto cleanup;
    }
    if ((rc = check_header(root, x, why, whylen)) != EH_OK)
        goto cleanup;
    if ((r->issuer = strdup(x->issuer)) == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = read_status(root, r, why, whylen)) != EH_OK)
        goto cleanup;

    n_enc = eh_saml_child_count(root, EH_NS_SAML, "EncryptedAssertion");
    n_plain = eh_saml_child_count(root, EH_NS_SAML, "Assertion");
    if (strcmp(r->status, EH_SAML_STATUS_SUCCESS) != 0) {
        /* a failure carries no assertion at all */
        rc = n_enc + n_plain == 0 ? EH_OK : refuse(why, whylen, "assertion in a failed Response");
        goto cleanup;
    }
    if (n_plain != 0) {
        rc = refuse(why, whylen, "unencrypted Assertion refused");
        goto cleanup;
    }
    if (n_enc != 1) {
        rc = refuse(why, whylen, "exactly one EncryptedAssertion required");
        goto cleanup;
    }
    rc = read_assertion(doc, eh_saml_child(root, EH_NS_SAML, "EncryptedAssertion"), x, r, why,
                        whylen);

cleanup:
    if (doc != NULL)
        xmlFreeDoc(doc);
    if (rc == EH_OK && out != NULL) {
        *out = r;
        r = NULL;
    }
    eh_saml_response_result_free(r);
    return rc;
}
