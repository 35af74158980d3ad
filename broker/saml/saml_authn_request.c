/* eidhub: the eIDAS AuthnRequest, built (Connector) and checked
 * (Proxy-Service); see saml_authn_request.h and PROTOCOLS.md section 1.
 *
 * Building uses the libxml2 tree API and signs the finished element with
 * eh_saml_sign (the signature right after saml:Issuer). Checking parses with
 * eh_saml_parse, finds the Connector's keys from the Issuer (a direct child
 * of the root), verifies the root's own signature with eh_saml_verify and
 * then reads only from the element it covers. */
#include "broker/saml/saml_authn_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "broker/saml/saml_names.h"
#include "broker/saml/saml_xml.h"

#define NN_LOA_PREFIX "http://eidas.europa.eu/NonNotified/LoA/"
#define LOA_REF_LEN 96 /* longest AuthnContextClassRef we write, with room */

static void say(char *why, size_t whylen, const char *msg)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", msg);
}

static int empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static int known_sp_type(const char *s)
{
    return strcmp(s, EH_SAML_SPTYPE_PUBLIC) == 0 || strcmp(s, EH_SAML_SPTYPE_PRIVATE) == 0;
}

static int known_name_id_format(const char *s)
{
    return strcmp(s, EH_SAML_NAMEID_PERSISTENT) == 0 || strcmp(s, EH_SAML_NAMEID_TRANSIENT) == 0 ||
           strcmp(s, EH_SAML_NAMEID_UNSPECIFIED) == 0;
}

/* loa_class_ref writes the AuthnContextClassRef of loa under cmp into buf
 * (LOA_REF_LEN bytes): the notified URI for MINIMUM, the NonNotified one for
 * EXACT. -1: no such level or comparison. */
static int loa_class_ref(eh_loa loa, eh_loa_comparison cmp, char *buf)
{
    if (loa < EH_LOA_LOW || loa > EH_LOA_HIGH)
        return -1;
    if (cmp == EH_LOA_MINIMUM)
        snprintf(buf, LOA_REF_LEN, "%s", eh_loa_uri(loa));
    else if (cmp == EH_LOA_EXACT)
        snprintf(buf, LOA_REF_LEN, "%s%s", NN_LOA_PREFIX, eh_loa_name(loa));
    else
        return -1;
    return 0;
}

/* loa_of_uri reads an AuthnContextClassRef: only the exact eIDAS URIs count
 * (not the bare names eh_loa_parse also knows). EH_LOA_NONE: unknown. */
static eh_loa loa_of_uri(const char *text, int *non_notified)
{
    char want[LOA_REF_LEN];
    int nn = 0;
    eh_loa loa = eh_loa_parse(text, &nn);

    if (loa == EH_LOA_NONE || loa_class_ref(loa, nn ? EH_LOA_EXACT : EH_LOA_MINIMUM, want) != 0 ||
        strcmp(text, want) != 0)
        return EH_LOA_NONE;
    *non_notified = nn;
    return loa;
}

/* parse_bool reads an xs:boolean attribute value; absent gives dflt.
 * -1: not a boolean. */
static int parse_bool(const char *s, int dflt)
{
    if (s == NULL)
        return dflt;
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        return 1;
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
        return 0;
    return -1;
}

void eh_saml_authn_request_free(eh_saml_authn_request *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->issuer);
    free(r->destination);
    free(r->acs_url);
    free(r->provider_name);
    free(r->sp_type);
    free(r->requester_id);
    for (size_t i = 0; i < r->n_attrs; i++)
        free(r->attrs[i].name);
    free(r->attrs);
    free(r->name_id_format);
    free(r);
}

/* ------------------------------------------------------------- building */

/* buildable tells whether r has what a request needs and nothing we would
 * refuse ourselves when checking it. */
static int buildable(const eh_saml_authn_request *r)
{
    if (r == NULL || !eh_saml_id_like(r->id) || empty(r->issuer) || empty(r->destination) ||
        r->attrs == NULL || r->n_attrs == 0 || r->n_attrs > EH_SAML_MAX_REQUESTED)
        return 0;
    if ((r->sp_type != NULL && !known_sp_type(r->sp_type)) ||
        (r->name_id_format != NULL && !known_name_id_format(r->name_id_format)))
        return 0;
    for (size_t i = 0; i < r->n_attrs; i++)
        if (empty(r->attrs[i].name))
            return 0;
    return 1;
}

/* add_props sets the n name/value pairs kv on el in order, skipping names
 * whose value is NULL. -1: no memory. */
static int add_props(xmlNodePtr el, const char *const *kv, size_t n)
{
    for (size_t i = 0; i + 1 < 2 * n; i += 2)
        if (kv[i + 1] != NULL && xmlNewProp(el, BAD_CAST kv[i], BAD_CAST kv[i + 1]) == NULL)
            return -1;
    return 0;
}

/* build_extensions adds samlp:Extensions with the eIDAS extensions of r. */
static int build_extensions(xmlNodePtr root, xmlNsPtr samlp, xmlNsPtr eidas,
                            const eh_saml_authn_request *r)
{
    xmlNodePtr ext = eh_saml_new_child(root, samlp, "Extensions", NULL);
    xmlNodePtr ras;

    if (ext == NULL)
        return -1;
    if (r->sp_type != NULL && eh_saml_new_child(ext, eidas, "SPType", r->sp_type) == NULL)
        return -1;
    if (r->requester_id != NULL &&
        eh_saml_new_child(ext, eidas, "RequesterID", r->requester_id) == NULL)
        return -1;
    ras = eh_saml_new_child(ext, eidas, "RequestedAttributes", NULL);
    if (ras == NULL)
        return -1;
    for (size_t i = 0; i < r->n_attrs; i++) {
        xmlNodePtr a = eh_saml_new_child(ras, eidas, "RequestedAttribute", NULL);
        const char *kv[] = {"Name",       r->attrs[i].name,
                            "NameFormat", EH_SAML_ATTRNAME_URI,
                            "isRequired", r->attrs[i].is_required ? "true" : "false"};
        if (a == NULL || add_props(a, kv, 3) != 0)
            return -1;
    }
    return 0;
}

eh_rc eh_saml_authn_request_build(const eh_saml_authn_request *r, const eh_saml_keys *signer,
                                  eh_saml_sig_alg alg, char **xml, size_t *len, char *why,
                                  size_t whylen)
{
    eh_rc rc = EH_ERR_NOMEM;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, issuer, nip, rac;
    xmlNsPtr samlp, saml, eidas;
    char when[EH_SAML_TIME_LEN], loa_ref[LOA_REF_LEN];

    if (xml != NULL)
        *xml = NULL;
    if (len != NULL)
        *len = 0;
    if (xml == NULL || signer == NULL || !buildable(r) ||
        loa_class_ref(r->loa, r->comparison, loa_ref) != 0) {
        say(why, whylen, "incomplete or invalid request");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    eh_saml_time_format(r->issue_instant, when);

    doc = xmlNewDoc(BAD_CAST "1.0");
    root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "AuthnRequest", NULL) : NULL;
    if (root == NULL)
        goto cleanup;
    xmlDocSetRootElement(doc, root);
    samlp = xmlNewNs(root, BAD_CAST EH_NS_SAMLP, BAD_CAST "samlp");
    saml = xmlNewNs(root, BAD_CAST EH_NS_SAML, BAD_CAST "saml");
    eidas = xmlNewNs(root, BAD_CAST EH_NS_EIDAS, BAD_CAST "eidas");
    if (samlp == NULL || saml == NULL || eidas == NULL)
        goto cleanup;
    xmlSetNs(root, samlp);
    {
        const char *kv[] = {"ID",
                            r->id,
                            "Version",
                            EH_SAML_VERSION,
                            "IssueInstant",
                            when,
                            "Destination",
                            r->destination,
                            "ForceAuthn",
                            r->force_authn ? "true" : "false",
                            "IsPassive",
                            "false",
                            "ProviderName",
                            r->provider_name,
                            "AssertionConsumerServiceURL",
                            r->acs_url,
                            "ProtocolBinding",
                            r->acs_url != NULL ? EH_SAML_BINDING_POST : NULL};
        if (add_props(root, kv, 9) != 0)
            goto cleanup;
    }

    /* schema order: Issuer, (Signature), Extensions, NameIDPolicy,
     * RequestedAuthnContext; the signature goes in last, after Issuer */
    issuer = eh_saml_new_child(root, saml, "Issuer", r->issuer);
    if (issuer == NULL ||
        xmlNewProp(issuer, BAD_CAST "Format", BAD_CAST EH_SAML_ISSUER_ENTITY) == NULL)
        goto cleanup;
    if (build_extensions(root, samlp, eidas, r) != 0)
        goto cleanup;
    nip = eh_saml_new_child(root, samlp, "NameIDPolicy", NULL);
    {
        const char *kv[] = {"AllowCreate", "true", "Format", r->name_id_format};
        if (nip == NULL || add_props(nip, kv, 2) != 0)
            goto cleanup;
    }
    rac = eh_saml_new_child(root, samlp, "RequestedAuthnContext", NULL);
    if (rac == NULL ||
        xmlNewProp(rac, BAD_CAST "Comparison",
                   BAD_CAST(r->comparison == EH_LOA_EXACT ? "exact" : "minimum")) == NULL ||
        eh_saml_new_child(rac, saml, "AuthnContextClassRef", loa_ref) == NULL)
        goto cleanup;

    rc = eh_saml_sign(doc, root, issuer, alg, signer, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = eh_saml_doc_text(doc, xml, len);

cleanup:
    xmlFreeDoc(doc);
    return rc;
}

/* ------------------------------------------------------------- checking */

/* read_issuer reads the root's one saml:Issuer (direct child), which must
 * be an entity (Format absent or entity) with a non-empty full text. */
static eh_rc read_issuer(xmlNodePtr root, char **out, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlNodePtr n = eh_saml_child(root, EH_NS_SAML, "Issuer");
    char *format = NULL, *text = NULL;

    *out = NULL;
    if (n == NULL || eh_saml_child_count(root, EH_NS_SAML, "Issuer") != 1) {
        say(why, whylen, "exactly one Issuer required");
        goto cleanup;
    }
    format = eh_saml_prop(n, "Format");
    if (format != NULL && strcmp(format, EH_SAML_ISSUER_ENTITY) != 0) {
        say(why, whylen, "Issuer is not an entity");
        goto cleanup;
    }
    text = eh_saml_text(n);
    if (empty(text)) {
        say(why, whylen, "Issuer empty or malformed");
        goto cleanup;
    }
    *out = text;
    text = NULL;
    rc = EH_OK;

cleanup:
    free(format);
    free(text);
    return rc;
}

/* read_header reads and checks the root's attributes into r. */
static eh_rc read_header(xmlNodePtr root, const eh_saml_request_expect *x, eh_saml_authn_request *r,
                         char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    char *version = eh_saml_prop(root, "Version");
    char *instant = eh_saml_prop(root, "IssueInstant");
    char *force = eh_saml_prop(root, "ForceAuthn");
    int64_t t = 0;

    r->id = eh_saml_prop(root, "ID");
    r->destination = eh_saml_prop(root, "Destination");
    r->provider_name = eh_saml_prop(root, "ProviderName");
    r->acs_url = eh_saml_prop(root, "AssertionConsumerServiceURL");
    if (version == NULL || strcmp(version, EH_SAML_VERSION) != 0) {
        say(why, whylen, "Version is not 2.0");
        goto cleanup;
    }
    if (!eh_saml_id_like(r->id)) {
        say(why, whylen, "ID missing or malformed");
        goto cleanup;
    }
    if (instant == NULL || eh_saml_time_parse(instant, &t) != EH_OK) {
        say(why, whylen, "IssueInstant missing or malformed");
        goto cleanup;
    }
    if (t > x->now + (int64_t)x->skew_s) {
        say(why, whylen, "IssueInstant in the future");
        goto cleanup;
    }
    if (x->now - t > (int64_t)x->max_age_s + (int64_t)x->skew_s) {
        say(why, whylen, "request too old");
        goto cleanup;
    }
    r->issue_instant = t;
    if (r->destination == NULL || strcmp(r->destination, x->destination) != 0) {
        say(why, whylen, "Destination does not match");
        goto cleanup;
    }
    r->force_authn = parse_bool(force, 0);
    if (r->force_authn < 0) {
        say(why, whylen, "ForceAuthn is not a boolean");
        goto cleanup;
    }
    rc = EH_OK;

cleanup:
    free(version);
    free(instant);
    free(force);
    return rc;
}

/* read_requested reads one eidas:RequestedAttribute into a. */
static eh_rc read_requested(xmlNodePtr n, eh_saml_requested_attr *a, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    char *format = eh_saml_prop(n, "NameFormat");
    char *required = eh_saml_prop(n, "isRequired");

    a->name = eh_saml_prop(n, "Name");
    if (empty(a->name)) {
        say(why, whylen, "RequestedAttribute without Name");
        goto cleanup;
    }
    if (format == NULL || strcmp(format, EH_SAML_ATTRNAME_URI) != 0) {
        say(why, whylen, "RequestedAttribute NameFormat is not uri");
        goto cleanup;
    }
    a->is_required = parse_bool(required, 0);
    if (a->is_required < 0) {
        say(why, whylen, "isRequired is not a boolean");
        goto cleanup;
    }
    rc = EH_OK;

cleanup:
    free(format);
    free(required);
    return rc;
}

/* read_optional_text reads the full text of parent's only child ns:name
 * into *out (NULL when there is none). More than one, or one holding
 * elements, is refused. */
static eh_rc read_optional_text(xmlNodePtr parent, const char *ns, const char *name, char **out,
                                char *why, size_t whylen, const char *bad)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlNodePtr n = eh_saml_child(parent, ns, name);

    *out = NULL;
    if (n == NULL) {
        rc = EH_OK;
        goto cleanup;
    }
    if (eh_saml_child_count(parent, ns, name) != 1 || (*out = eh_saml_text(n)) == NULL) {
        say(why, whylen, bad);
        goto cleanup;
    }
    rc = EH_OK;

cleanup:
    return rc;
}

/* read_extensions reads samlp:Extensions: SPType, RequesterID and the
 * requested attributes. */
static eh_rc read_extensions(xmlNodePtr root, eh_saml_authn_request *r, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlNodePtr ext = eh_saml_child(root, EH_NS_SAMLP, "Extensions");
    xmlNodePtr ras, n;
    size_t count;

    if (ext == NULL || eh_saml_child_count(root, EH_NS_SAMLP, "Extensions") != 1) {
        say(why, whylen, "exactly one Extensions required");
        goto cleanup;
    }
    rc = read_optional_text(ext, EH_NS_EIDAS, "SPType", &r->sp_type, why, whylen,
                            "SPType malformed");
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    if (r->sp_type != NULL && !known_sp_type(r->sp_type)) {
        say(why, whylen, "unknown SPType");
        goto cleanup;
    }
    rc = read_optional_text(ext, EH_NS_EIDAS, "RequesterID", &r->requester_id, why, whylen,
                            "RequesterID malformed");
    if (rc != EH_OK)
        goto cleanup;
    rc = EH_ERR_INVALID;
    ras = eh_saml_child(ext, EH_NS_EIDAS, "RequestedAttributes");
    if (ras == NULL || eh_saml_child_count(ext, EH_NS_EIDAS, "RequestedAttributes") != 1) {
        say(why, whylen, "exactly one RequestedAttributes required");
        goto cleanup;
    }
    count = eh_saml_child_count(ras, EH_NS_EIDAS, "RequestedAttribute");
    if (count == 0 || count > EH_SAML_MAX_REQUESTED) {
        say(why, whylen, "number of requested attributes out of range");
        goto cleanup;
    }
    r->attrs = calloc(count, sizeof(*r->attrs));
    if (r->attrs == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    for (n = eh_saml_first_el(ras); n != NULL; n = eh_saml_next_el(n)) {
        if (!eh_saml_is(n, EH_NS_EIDAS, "RequestedAttribute"))
            continue;
        r->n_attrs++; /* counted first, so free releases a half-read one */
        rc = read_requested(n, &r->attrs[r->n_attrs - 1], why, whylen);
        if (rc != EH_OK)
            goto cleanup;
    }
    rc = EH_OK;

cleanup:
    return rc;
}

/* read_name_id_policy reads the optional samlp:NameIDPolicy's Format. */
static eh_rc read_name_id_policy(xmlNodePtr root, eh_saml_authn_request *r, char *why,
                                 size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlNodePtr n = eh_saml_child(root, EH_NS_SAMLP, "NameIDPolicy");

    if (n != NULL && eh_saml_child_count(root, EH_NS_SAMLP, "NameIDPolicy") != 1) {
        say(why, whylen, "more than one NameIDPolicy");
        goto cleanup;
    }
    r->name_id_format = eh_saml_prop(n, "Format");
    if (r->name_id_format != NULL && !known_name_id_format(r->name_id_format)) {
        say(why, whylen, "NameIDPolicy Format not allowed");
        goto cleanup;
    }
    rc = EH_OK;

cleanup:
    return rc;
}

/* read_authn_context reads samlp:RequestedAuthnContext: Comparison minimum
 * with notified LoA URIs or exact with NonNotified ones; unknown URIs are
 * skipped, the lowest known level is taken. */
static eh_rc read_authn_context(xmlNodePtr root, eh_saml_authn_request *r, char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlNodePtr rac = eh_saml_child(root, EH_NS_SAMLP, "RequestedAuthnContext");
    char *cmp = NULL, *text = NULL;
    eh_loa loa = EH_LOA_NONE;

    if (rac == NULL || eh_saml_child_count(root, EH_NS_SAMLP, "RequestedAuthnContext") != 1) {
        say(why, whylen, "exactly one RequestedAuthnContext required");
        goto cleanup;
    }
    cmp = eh_saml_prop(rac, "Comparison");
    if (cmp != NULL && strcmp(cmp, "minimum") == 0) {
        r->comparison = EH_LOA_MINIMUM;
    } else if (cmp != NULL && strcmp(cmp, "exact") == 0) {
        r->comparison = EH_LOA_EXACT;
    } else {
        say(why, whylen, "Comparison not allowed");
        goto cleanup;
    }
    for (xmlNodePtr n = eh_saml_first_el(rac); n != NULL; n = eh_saml_next_el(n)) {
        int nn = 0;
        eh_loa l;
        if (!eh_saml_is(n, EH_NS_SAML, "AuthnContextClassRef"))
            continue;
        free(text);
        text = eh_saml_text(n);
        if (text == NULL) {
            say(why, whylen, "AuthnContextClassRef malformed");
            goto cleanup;
        }
        l = loa_of_uri(text, &nn);
        if (l == EH_LOA_NONE)
            continue;
        if (nn != (r->comparison == EH_LOA_EXACT)) {
            say(why, whylen, "Comparison does not fit the LoA URI");
            goto cleanup;
        }
        if (loa == EH_LOA_NONE || l < loa)
            loa = l;
    }
    if (loa == EH_LOA_NONE) {
        say(why, whylen, "no known LoA requested");
        goto cleanup;
    }
    r->loa = loa;
    rc = EH_OK;

cleanup:
    free(cmp);
    free(text);
    return rc;
}

eh_rc eh_saml_authn_request_parse(const char *xml, size_t len, const eh_saml_trust *trust,
                                  const eh_saml_request_expect *x, eh_saml_authn_request **out,
                                  char *why, size_t whylen)
{
    eh_rc rc = EH_ERR_INVALID;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, sig, covered = NULL;
    const eh_saml_keys *keys = NULL;
    void *handle = NULL;
    int borrowed = 0;
    char *issuer = NULL;
    eh_saml_authn_request *r = NULL;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || trust == NULL || trust->keys_of == NULL || x == NULL ||
        x->destination == NULL) {
        say(why, whylen, "bad arguments");
        goto cleanup;
    }
    rc = eh_saml_parse(xml, len, &doc, why, whylen);
    if (rc != EH_OK) {
        rc = eh_saml_refusal(rc);
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    root = xmlDocGetRootElement(doc);
    if (!eh_saml_is(root, EH_NS_SAMLP, "AuthnRequest")) {
        say(why, whylen, "not an AuthnRequest");
        goto cleanup;
    }
    rc = read_issuer(root, &issuer, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    rc = trust->keys_of(trust->ctx, issuer, &keys, &handle);
    if (rc == EH_ERR_NOT_FOUND) {
        say(why, whylen, "unknown Issuer");
        rc = EH_ERR_INVALID;
        goto cleanup;
    }
    if (rc != EH_OK) {
        say(why, whylen, "keys of the Issuer unavailable");
        goto cleanup;
    }
    borrowed = 1;
    rc = EH_ERR_INVALID;
    sig = eh_saml_find_signature(root);
    if (sig == NULL) {
        say(why, whylen, "request not signed");
        goto cleanup;
    }
    rc = eh_saml_verify(doc, sig, keys, &covered, why, whylen);
    if (rc != EH_OK) {
        rc = eh_saml_refusal(rc);
        goto cleanup;
    }
    rc = EH_ERR_INVALID;
    if (covered != root) {
        say(why, whylen, "signature does not cover the request");
        goto cleanup;
    }

    /* from here on, only the covered element is read */
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    r->issuer = issuer;
    issuer = NULL;
    rc = read_header(covered, x, r, why, whylen);
    if (rc == EH_OK)
        rc = read_extensions(covered, r, why, whylen);
    if (rc == EH_OK)
        rc = read_name_id_policy(covered, r, why, whylen);
    if (rc == EH_OK)
        rc = read_authn_context(covered, r, why, whylen);
    if (rc != EH_OK)
        goto cleanup;
    *out = r;
    r = NULL;

cleanup:
    if (borrowed && trust->release != NULL)
        trust->release(trust->ctx, handle);
    eh_saml_authn_request_free(r);
    free(issuer);
    xmlFreeDoc(doc);
    return rc;
}
