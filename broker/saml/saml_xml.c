/* eidhub: small libxml2 helpers for SAML (see saml_xml.h). */
#include "broker/saml/saml_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/random.h"

int eh_saml_id_like(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > EH_SAML_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        int more = (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!letter && (i == 0 || !more))
            return 0;
    }
    return 1;
}

eh_rc eh_saml_refusal(eh_rc rc)
{
    return rc == EH_ERR_NOMEM || rc == EH_ERR_INTERNAL ? rc : EH_ERR_INVALID;
}

int eh_saml_is(xmlNodePtr n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL && n->ns->href != NULL &&
           strcmp((const char *)n->ns->href, ns) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

xmlNodePtr eh_saml_first_el(xmlNodePtr parent)
{
    xmlNodePtr c = parent ? parent->children : NULL;
    while (c != NULL && c->type != XML_ELEMENT_NODE)
        c = c->next;
    return c;
}

xmlNodePtr eh_saml_next_el(xmlNodePtr n)
{
    xmlNodePtr c = n ? n->next : NULL;
    while (c != NULL && c->type != XML_ELEMENT_NODE)
        c = c->next;
    return c;
}

xmlNodePtr eh_saml_child(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = eh_saml_first_el(parent); c != NULL; c = eh_saml_next_el(c))
        if (eh_saml_is(c, ns, name))
            return c;
    return NULL;
}

size_t eh_saml_child_count(xmlNodePtr parent, const char *ns, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr c = eh_saml_first_el(parent); c != NULL; c = eh_saml_next_el(c))
        n += eh_saml_is(c, ns, name) ? 1 : 0;
    return n;
}

static int xml_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

char *eh_saml_text(xmlNodePtr n)
{
    xmlChar *raw;
    char *out;
    size_t start = 0, end;

    if (n == NULL || eh_saml_first_el(n) != NULL)
        return NULL;
    /* xmlNodeGetContent joins every text and CDATA descendant and skips
     * comments and processing instructions: "a<!---->b" reads "ab". */
    raw = xmlNodeGetContent(n);
    if (raw == NULL)
        return strdup("");
    end = strlen((const char *)raw);
    while (start < end && xml_space((char)raw[start]))
        start++;
    while (end > start && xml_space((char)raw[end - 1]))
        end--;
    out = strndup((const char *)raw + start, end - start);
    xmlFree(raw);
    return out;
}

char *eh_saml_prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
    char *out;

    if (v == NULL)
        return NULL;
    out = strdup((const char *)v);
    xmlFree(v);
    return out;
}

void eh_saml_time_format(int64_t t, char *buf)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, EH_SAML_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* digits reads exactly n decimal digits at s. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

eh_rc eh_saml_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    const char *p;
    time_t t;

    if (s == NULL || strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
        return EH_ERR_INVALID;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return EH_ERR_INVALID;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return EH_ERR_INVALID;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 14 || om > 59)
            return EH_ERR_INVALID;
        p += 6;
    } else {
        return EH_ERR_INVALID;
    }
    if (*p != '\0')
        return EH_ERR_INVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return EH_ERR_INVALID;
    *out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
    return EH_OK;
}

eh_rc eh_saml_new_id(char *buf)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    eh_rc rc = eh_random_bytes(r, sizeof(r));

    if (rc != EH_OK)
        return rc;
    buf[0] = '_';
    for (size_t i = 0; i < sizeof(r); i++) {
        buf[1 + 2 * i] = hex[r[i] >> 4];
        buf[2 + 2 * i] = hex[r[i] & 15];
    }
    buf[1 + 2 * sizeof(r)] = '\0';
    return EH_OK;
}

eh_rc eh_saml_doc_text(xmlDocPtr doc, char **xml, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;

    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (mem == NULL || size <= 0) {
        xmlFree(mem);
        return EH_ERR_NOMEM;
    }
    *xml = strndup((const char *)mem, (size_t)size);
    xmlFree(mem);
    if (*xml == NULL)
        return EH_ERR_NOMEM;
    if (len != NULL)
        *len = (size_t)size;
    return EH_OK;
}

xmlNodePtr eh_saml_new_child(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    xmlNodePtr n;

    if (parent == NULL)
        return xmlNewNode(ns, BAD_CAST name);
    n = xmlNewChild(parent, ns, BAD_CAST name, NULL);
    if (n != NULL && text != NULL)
        xmlNodeAddContent(n, BAD_CAST text); /* escaped on output */
    return n;
}
