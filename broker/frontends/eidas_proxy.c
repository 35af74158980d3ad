/* eidhub: the eIDAS Proxy-Service frontend (see eidas_proxy.h).
 *
 * A Connector's AuthnRequest is checked (signature with the keys of its
 * signed metadata, Destination, age, replay), becomes an eh_authn_request
 * for the flow, and waits in a transaction with what the answer needs: the
 * Connector's id, the request's ID, the ACS URL of the Connector's metadata,
 * RelayState, the attributes requested (those marked isRequired apart) and
 * the NameID format. The flow's complete hook turns the released identity
 * into eIDAS attributes and posts a signed Response with a signed, encrypted
 * assertion to that ACS; its fail hook posts a signed status response. */
#include "broker/frontends/eidas_proxy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/pairwise.h"
#include "attributes/registry.h"
#include "broker/broker.h"
#include "broker/buf.h"
#include "broker/config.h"
#include "broker/flow.h"
#include "broker/i18n.h"
#include "broker/json_check.h"
#include "broker/json_path.h"
#include "broker/log.h"
#include "broker/metrics.h"
#include "broker/page.h"
#include "broker/random.h"
#include "broker/sso.h"
#include "broker/saml/saml_authn_request.h"
#include "broker/saml/saml_logout.h"
#include "broker/saml/saml_names.h"
#include "broker/saml/saml_node.h"
#include "broker/saml/saml_post.h"
#include "broker/saml/saml_response.h"
#include "broker/saml/saml_slo_endpoint.h"
#include "broker/saml/saml_xml.h"
#include "metadata/saml_metadata.h"
#include "metadata/saml_peers.h"

/* The HTTP-Redirect binding needs raw DEFLATE: built with zlib only when
 * the build defines EH_HAVE_ZLIB (and links -lz); without it GET requests
 * get a page saying only HTTP-POST is supported. */
#ifdef EH_HAVE_ZLIB
#include <zlib.h>
#endif

#define ID_MAX 32                   /* a Connector's id: [a-z0-9-]{1,32} */
#define RELAY_STATE_MAX 80          /* bytes, SAML bindings section 3.4.3 / 3.5.3 */
#define REQUEST_XML_MAX (64 * 1024) /* a decoded AuthnRequest (a real one is a few KiB) */
/* its base64, with room for line breaks */
#define REQUEST_B64_MAX (REQUEST_XML_MAX / 3 * 4 + 4 + REQUEST_XML_MAX / 38)
#define FORM_MAX (3 * REQUEST_B64_MAX + 1024) /* the form body or query, URL-encoded */
#define REQUEST_MAX_AGE_S 300u                /* an AuthnRequest older than this is refused */
#define REPLAY_TTL_MS (10u * 60u * 1000u)     /* longer than max age + skew */
#define METADATA_CACHE_S 60 /* our signed metadata is rebuilt at most this often */
#define SLO_PREFIX "slo:"
#define SLO_TRIES 3        /* as OIDC back-channel logout */
#define SLO_TIMEOUT_MS 3000u

typedef struct connector {
    char *id;             /* our name for it: requester, policy, metrics, audit */
    char *metadata;       /* an absolute file path or an http(s) URL */
    char *entity_id;      /* its expected entityID, or NULL (files: whatever the metadata says) */
    char *anchor_file;    /* absolute */
    char *policy;         /* the built-in profile its policy falls back to */
    json_t *display_name; /* locale -> string, or NULL */
} connector;

struct eh_eidas_proxy {
    const eh_saml_node *node; /* borrowed: the broker frees it after us */
    connector *connectors;
    size_t n;
    int transient; /* name_id_format "transient" */
    eh_saml_peers *peers;
    /* our metadata, signed once a minute at most */
    pthread_mutex_t lock;
    char *metadata_xml;
    size_t metadata_len;
    int64_t metadata_at;
};

/* ------------------------------------------------------------ configuration */

static void connector_clear(connector *c)
{
    free(c->id);
    free(c->metadata);
    free(c->entity_id);
    free(c->anchor_file);
    free(c->policy);
    json_decref(c->display_name);
}

void eh_eidas_proxy_free(eh_eidas_proxy *p)
{
    if (p == NULL)
        return;
    eh_saml_peers_free(p->peers);
    for (size_t i = 0; i < p->n; i++)
        connector_clear(&p->connectors[i]);
    free(p->connectors);
    free(p->metadata_xml);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static int is_url(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

/* id_ok accepts 1..ID_MAX of [a-z0-9-]. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static int profile_known(const char *name)
{
    for (const char *const *p = eh_policy_profile_names(); *p != NULL; p++) {
        if (strcmp(*p, name) == 0)
            return 1;
    }
    return 0;
}

/* member_path writes parent.name into out (EH_JSON_PATH_MAX bytes). */
static const char *member_path(char *out, const char *parent, const char *name)
{
    eh_json_path_member(out, EH_JSON_PATH_MAX, parent, name);
    return out;
}

/* load_display_name accepts a non-empty string (English) or an object of
 * locale -> non-empty string. */
static eh_rc load_display_name(eh_check *v, const json_t *item, const char *path, connector *c)
{
    char sub[EH_JSON_PATH_MAX], at[EH_JSON_PATH_MAX];
    json_t *dn = json_object_get(item, "display_name"), *value;
    const char *locale;

    if (dn == NULL)
        return EH_OK;
    member_path(sub, path, "display_name");
    if (json_is_string(dn) && json_string_length(dn) > 0) {
        c->display_name = json_pack("{s:O}", "en", dn);
        return c->display_name ? EH_OK : EH_ERR_NOMEM;
    }
    if (!json_is_object(dn) || json_object_size(dn) == 0)
        return eh_check_fail(v, sub, "must be a string or an object of locale -> string");
    json_object_foreach(dn, locale, value) {
        if (!json_is_string(value) || json_string_length(value) == 0)
            return eh_check_fail(v, member_path(at, sub, locale), "must be a non-empty string");
    }
    c->display_name = json_incref(dn);
    return EH_OK;
}

/* load_connector reads one entry of "connectors" (at path). */
static eh_rc load_connector(eh_check *v, const json_t *item, const char *path, connector *c)
{
    static const char *const allowed[] = {
        "id", "metadata", "entity_id", "trust_anchor_file", "policy", "display_name", NULL};
    char sub[EH_JSON_PATH_MAX], *file = NULL;
    eh_rc rc;

    if (!json_is_object(item))
        return eh_check_fail(v, path, "must be an object");
    if ((rc = eh_check_members(v, item, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "id", 1, &c->id)) != EH_OK)
        return rc;
    if (!id_ok(c->id))
        return eh_check_fail(v, member_path(sub, path, "id"), "must be 1 to %d of a-z, 0-9 and '-'",
                             ID_MAX);
    if ((rc = eh_check_string(v, item, path, "metadata", 1, &file)) != EH_OK)
        return rc;
    if (is_url(file)) {
        rc = eh_check_url(v, member_path(sub, path, "metadata"), file, 0);
        c->metadata = file;
        file = NULL;
    } else {
        rc = eh_check_resolve(v->file, file, &c->metadata);
    }
    free(file);
    file = NULL;
    if (rc != EH_OK)
        return rc;
    if ((rc = eh_check_string(v, item, path, "entity_id", 0, &c->entity_id)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "trust_anchor_file", 1, &file)) != EH_OK)
        return rc;
    rc = eh_check_resolve(v->file, file, &c->anchor_file);
    free(file);
    if (rc != EH_OK)
        return rc;
    if ((rc = eh_check_string(v, item, path, "policy", 1, &c->policy)) != EH_OK)
        return rc;
    if (!profile_known(c->policy)) {
        char names[256] = "";
        size_t used = 0;
        for (const char *const *n = eh_policy_profile_names(); *n != NULL && used < sizeof(names);
             n++) {
            int k = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "", *n);
            used += k > 0 ? (size_t)k : 0;
        }
        return eh_check_fail(v, member_path(sub, path, "policy"),
                             "unknown policy \"%s\" (known: %s)", c->policy, names);
    }
    return load_display_name(v, item, path, c);
}

/* load_connectors reads the "connectors" array into p. */
static eh_rc load_connectors(eh_check *v, const json_t *settings, eh_eidas_proxy *p)
{
    const json_t *list = json_object_get(settings, "connectors");
    char path[EH_JSON_PATH_MAX], sub[EH_JSON_PATH_MAX];
    size_t i;
    json_t *item;
    eh_rc rc;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return eh_check_fail(v, "$.eidas_proxy.connectors",
                             list == NULL ? "is required: the foreign eIDAS Connectors we answer"
                                          : "must be a non-empty array");
    if ((p->connectors = calloc(json_array_size(list), sizeof(connector))) == NULL)
        return EH_ERR_NOMEM;
    json_array_foreach(list, i, item) {
        eh_json_path_index(path, sizeof(path), "$.eidas_proxy.connectors", i);
        p->n = i + 1;
        if ((rc = load_connector(v, item, path, &p->connectors[i])) != EH_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->connectors[j].id, p->connectors[i].id) == 0)
                return eh_check_fail(v, member_path(sub, path, "id"), "\"%s\" is used twice",
                                     p->connectors[i].id);
        }
    }
    return EH_OK;
}

/* load_peers makes the trusted peers set of the Connectors (their trust
 * anchors are read here, so a missing one fails the configuration). */
static eh_rc load_peers(eh_check *v, eh_eidas_proxy *p)
{
    eh_saml_peer_def *defs = calloc(p->n, sizeof(*defs));
    char why[256] = "";
    eh_rc rc;

    if (defs == NULL)
        return EH_ERR_NOMEM;
    for (size_t i = 0; i < p->n; i++) {
        defs[i].name = p->connectors[i].id;
        defs[i].metadata = p->connectors[i].metadata;
        defs[i].entity_id = p->connectors[i].entity_id;
        defs[i].anchor_file = p->connectors[i].anchor_file;
        defs[i].role = EH_SAML_ROLE_CONNECTOR;
    }
    rc = eh_saml_peers_new(defs, p->n, p->node->refresh_s, p->node->request_timeout_ms, &p->peers,
                           why, sizeof(why));
    free(defs);
    if (rc == EH_ERR_NOMEM)
        return rc;
    if (rc != EH_OK) {
        /* name the connector the reason is about, when it says */
        for (size_t i = 0; i < p->n; i++) {
            char at[EH_JSON_PATH_MAX], sub[EH_JSON_PATH_MAX];
            size_t n = strlen(p->connectors[i].id);
            if (strncmp(why, "SAML peer ", 10) == 0 &&
                strncmp(why + 10, p->connectors[i].id, n) == 0 && why[10 + n] == ':') {
                eh_json_path_index(at, sizeof(at), "$.eidas_proxy.connectors", i);
                return eh_check_fail(v, member_path(sub, at, "trust_anchor_file"), "%s",
                                     why + 12 + n);
            }
        }
        return eh_check_fail(v, "$.eidas_proxy.connectors", "%s", why);
    }
    return EH_OK;
}

eh_rc eh_eidas_proxy_load(const json_t *settings, const char *file, const struct eh_saml_node *node,
                          eh_eidas_proxy **out, char *err, size_t errlen)
{
    static const char *const allowed[] = {"connectors", "name_id_format", NULL};
    eh_check v = {file, err, errlen};
    eh_eidas_proxy *p = calloc(1, sizeof(*p));
    char *format = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if (p == NULL)
        return rc;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return EH_ERR_INTERNAL;
    }
    p->node = node;
    if (node == NULL) {
        rc = eh_check_fail(&v, "$.eidas_proxy", "needs $.saml, this broker's eIDAS node settings");
        goto cleanup;
    }
    if (!json_is_object(settings)) {
        rc = eh_check_fail(&v, "$.eidas_proxy", "must be an object");
        goto cleanup;
    }
    if ((rc = eh_check_members(&v, settings, "$.eidas_proxy", allowed)) != EH_OK ||
        (rc = eh_check_string(&v, settings, "$.eidas_proxy", "name_id_format", 0, &format)) !=
            EH_OK)
        goto cleanup;
    if (format != NULL && strcmp(format, "transient") == 0) {
        p->transient = 1;
    } else if (format != NULL && strcmp(format, "persistent") != 0) {
        rc = eh_check_fail(&v, "$.eidas_proxy.name_id_format",
                           "must be \"persistent\" or \"transient\"");
        goto cleanup;
    }
    if ((rc = load_connectors(&v, settings, p)) != EH_OK || (rc = load_peers(&v, p)) != EH_OK)
        goto cleanup;
    *out = p;
    p = NULL;
cleanup:
    free(format);
    eh_eidas_proxy_free(p);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

static const connector *connector_by_id(const eh_eidas_proxy *p, const char *id)
{
    for (size_t i = 0; id != NULL && i < p->n; i++) {
        if (strcmp(p->connectors[i].id, id) == 0)
            return &p->connectors[i];
    }
    return NULL;
}

/* expected_entity returns the entityID c's metadata must have, or NULL when
 * only its (file) metadata tells. */
static const char *expected_entity(const connector *c)
{
    return c->entity_id != NULL ? c->entity_id : is_url(c->metadata) ? c->metadata : NULL;
}

/* connector_of_issuer finds the Connector whose entityID is issuer and
 * returns it with a reference to its current metadata (*m, released with
 * eh_saml_peers_release). EH_ERR_NOT_FOUND for an unknown issuer, EH_ERR_IO
 * when its metadata is not available. */
static eh_rc connector_of_issuer(eh_eidas_proxy *p, const char *issuer, const connector **out,
                                 const eh_saml_metadata **m)
{
    char why[160];
    eh_rc rc = EH_ERR_NOT_FOUND;

    *m = NULL;
    /* first those configured with their entityID (no fetch needed to know),
     * then those whose metadata file alone names it */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->n; i++) {
            const connector *c = &p->connectors[i];
            const char *want = expected_entity(c);
            eh_rc got;
            if (pass == 0 ? (want == NULL || strcmp(want, issuer) != 0) : want != NULL)
                continue;
            got = eh_saml_peers_get(p->peers, c->id, 0, m, why, sizeof(why));
            if (got != EH_OK) {
                if (pass == 0) {
                    eh_log(EH_LOG_WARN, "eidas proxy: connector %s: %s", c->id, why);
                    return got;
                }
                continue;
            }
            if (strcmp((*m)->entity_id, issuer) == 0) {
                *out = c;
                return EH_OK;
            }
            eh_saml_peers_release(p->peers, *m);
            *m = NULL;
        }
    }
    return rc;
}

/* The trust callback of eh_saml_authn_request_parse: the Issuer's signing
 * keys from its signed metadata. */
typedef struct trust_ctx {
    eh_eidas_proxy *p;
    const connector *found;
} trust_ctx;

static eh_rc trust_keys_of(void *ctx, const char *issuer, const eh_saml_keys **keys, void **handle)
{
    trust_ctx *t = ctx;
    const eh_saml_metadata *m = NULL;
    eh_rc rc = connector_of_issuer(t->p, issuer, &t->found, &m);

    if (rc != EH_OK)
        return rc == EH_ERR_NOMEM ? rc : EH_ERR_NOT_FOUND;
    *keys = m->signing;
    *handle = (void *)m;
    return EH_OK;
}

static void trust_release(void *ctx, void *handle)
{
    trust_ctx *t = ctx;
    eh_saml_peers_release(t->p->peers, handle);
}

/* localized returns c's display name in locale (else English, else any),
 * or NULL. */
static const char *localized(const connector *c, const char *locale)
{
    json_t *v = json_object_get(c->display_name, locale);
    const char *key;
    if (v == NULL)
        v = json_object_get(c->display_name, "en");
    if (v == NULL && c->display_name != NULL)
        json_object_foreach(c->display_name, key, v) break;
    return json_string_value(v);
}

const char *eh_eidas_proxy_display_name(eh_broker *b, const eh_txn *txn)
{
    const eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const connector *c =
        p != NULL
            ? connector_by_id(p, json_string_value(json_object_get(txn->frontend, "connector")))
            : NULL;
    return c != NULL ? localized(c, txn->authn->locale ? txn->authn->locale : "en") : NULL;
}

#ifdef EH_HAVE_ZLIB
/* inflate_raw inflates len bytes of raw DEFLATE (RFC 1951, the Redirect
 * binding's encoding) into a new NUL-terminated buffer (*out, caller frees;
 * *outlen) of at most max bytes: EH_ERR_TOO_LARGE beyond, so a small bomb
 * cannot grow past the cap. EH_ERR_INVALID for anything but one complete
 * stream. */
static eh_rc inflate_raw(const unsigned char *in, size_t len, size_t max, unsigned char **out,
                         size_t *outlen)
{
    z_stream z;
    unsigned char *buf = NULL;
    int zr;
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    memset(&z, 0, sizeof(z));
    if (len > UINT32_MAX || max > UINT32_MAX || (buf = malloc(max + 1)) == NULL)
        return rc;
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
        free(buf);
        return rc;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = buf;
    z.avail_out = (uInt)max;
    zr = inflate(&z, Z_FINISH);
    if (zr == Z_STREAM_END && z.avail_in == 0) {
        *outlen = max - z.avail_out;
        buf[*outlen] = '\0';
        *out = buf;
        buf = NULL;
        rc = EH_OK;
    } else if (zr == Z_MEM_ERROR) {
        rc = EH_ERR_NOMEM;
    } else {
        rc = zr == Z_BUF_ERROR && z.avail_out == 0 ? EH_ERR_TOO_LARGE : EH_ERR_INVALID;
    }
    inflateEnd(&z);
    free(buf);
    return rc;
}
#endif

size_t eh_eidas_proxy_count(const eh_eidas_proxy *p)
{
    return p ? p->n : 0;
}

const char *eh_eidas_proxy_connector_id(const eh_eidas_proxy *p, size_t i)
{
    return p && i < p->n ? p->connectors[i].id : NULL;
}

eh_saml_peers *eh_eidas_proxy_peers(const eh_eidas_proxy *p)
{
    return p ? p->peers : NULL;
}

/* ----------------------------------------------------------------- metadata */

/* our_slo_url returns <issuer>/saml/proxy/slo (caller frees), NULL when out
 * of memory. */
static char *our_slo_url(struct eh_broker *b)
{
    char *url = NULL;
    if (asprintf(&url, "%s" EH_SAML_PROXY_SLO_PATH, eh_broker_config_get(b)->issuer) < 0)
        return NULL;
    return url;
}

eh_rc eh_eidas_proxy_metadata_handle(struct eh_broker *b, const eh_http_request *req,
                                     eh_http_response *resp)
{
    eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const eh_saml_node *node = eh_broker_saml_get(b);
    eh_saml_metadata_spec spec = {0};
    int64_t now = (int64_t)time(NULL);
    char why[160] = "", *xml = NULL, *slo_url = NULL;
    size_t len = 0;
    eh_rc rc = EH_OK;

    (void)req;
    if (p == NULL || node == NULL)
        return EH_ERR_HTTP_NO_ROUTE;
    pthread_mutex_lock(&p->lock);
    if (p->metadata_xml == NULL || now - p->metadata_at >= METADATA_CACHE_S ||
        now < p->metadata_at) {
        spec.role = EH_SAML_ROLE_PROXY;
        spec.entity_id = node->proxy_entity_id;
        spec.endpoint = node->proxy_sso;
        spec.node_country = node->country;
        spec.signing_cert_pem = node->signing_cert_pem;
        spec.encryption_cert_pem = node->encryption_cert_pem;
        spec.now = now;
        spec.valid_s = node->metadata_valid_s;
        spec.org_name = node->organization;
        spec.slo_endpoint = slo_url = our_slo_url(b);
        rc = slo_url == NULL ? EH_ERR_NOMEM
                             : eh_saml_metadata_build(&spec, node->signer, node->sig_alg, &xml,
                                                      &len, why, sizeof(why));
        free(slo_url);
        if (rc == EH_OK) {
            free(p->metadata_xml);
            p->metadata_xml = xml;
            p->metadata_len = len;
            p->metadata_at = now;
        }
    }
    if (rc == EH_OK)
        rc = eh_http_response_set_body(resp, 200, "application/samlmetadata+xml", p->metadata_xml,
                                       p->metadata_len);
    pthread_mutex_unlock(&p->lock);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "public, max-age=60");
    else
        eh_log(EH_LOG_ERROR, "eidas proxy: cannot build our metadata: %s", why);
    return rc;
}

/* --------------------------------------------------------------------- SSO */

/* refuse answers an AuthnRequest we cannot answer in SAML (its sender is
 * not trusted, or it cannot be read) with an error page: a fixed text, no
 * input echoed. */
static eh_rc refuse(eh_http_response *resp, int status, const char *locale, const char *key,
                    const char *reason)
{
    eh_log(EH_LOG_INFO, "eidas proxy: refused an AuthnRequest: %s", reason);
    return eh_page_error(resp, status, locale, key, NULL, NULL);
}

/* replay_seen counts the request (issuer, id) in the store: 1 when it was
 * seen before within REPLAY_TTL_MS. */
static eh_rc replay_seen(eh_store *store, const char *issuer, const char *id, int *seen)
{
    char key[EH_STORE_KEY_MAX + 1], *joined = NULL, *digest = NULL;
    int64_t count = 0;
    eh_rc rc = EH_ERR_NOMEM;

    /* an xs:ID has no space, so "id issuer" names one pair only */
    if (asprintf(&joined, "%s %s", id, issuer) < 0) {
        joined = NULL;
        goto cleanup;
    }
    if ((rc = eh_token_digest(joined, &digest)) != EH_OK)
        goto cleanup;
    snprintf(key, sizeof(key), "replay:samlreq:%s", digest);
    if ((rc = eh_store_incr(store, key, REPLAY_TTL_MS, &count)) == EH_OK)
        *seen = count > 1;
cleanup:
    free(joined);
    free(digest);
    return rc;
}

/* set_str sets member name of obj to the string v (nothing when v is NULL);
 * 0 when out of memory. */
static int set_str(json_t *obj, const char *name, const char *v)
{
    return v == NULL || json_object_set_new(obj, name, json_string(v)) == 0;
}

/* request_authn builds the internal request of ar from Connector c. The
 * requested attributes the registry does not know are ignored, as eIDAS
 * says. */
static eh_rc request_authn(const eh_saml_authn_request *ar, const connector *c, const char *locale,
                           eh_authn_request **out)
{
    eh_authn_request *authn = NULL;
    eh_rc rc = eh_authn_request_new(&authn);

    if (rc != EH_OK)
        return rc;
    rc = EH_ERR_NOMEM;
    if ((authn->requester = strdup(c->id)) == NULL || (authn->protocol = strdup("eidas")) == NULL ||
        (authn->locale = strdup(locale)) == NULL)
        goto cleanup;
    for (size_t i = 0; i < ar->n_attrs; i++) {
        const eh_attribute_def *def = eh_attribute_find_eidas(ar->attrs[i].name);
        if (def != NULL && json_array_append_new(authn->requested, json_string(def->name)) != 0)
            goto cleanup;
    }
    authn->min_loa = ar->loa;
    authn->comparison = ar->comparison;
    authn->force_authn = ar->force_authn;
    *out = authn;
    authn = NULL;
    rc = EH_OK;
cleanup:
    eh_authn_request_free(authn);
    return rc;
}

/* frontend_state fills txn->frontend with what the answer needs. */
static eh_rc frontend_state(json_t *fe, const eh_saml_authn_request *ar, const connector *c,
                            const char *acs, const char *relay_state, const char *sp_type)
{
    json_t *required = json_array(), *requested = json_array();
    int ok = required != NULL && requested != NULL;

    for (size_t i = 0; ok && i < ar->n_attrs; i++) {
        if (eh_attribute_find_eidas(ar->attrs[i].name) == NULL)
            continue;
        ok = json_array_append_new(requested, json_string(ar->attrs[i].name)) == 0 &&
             (!ar->attrs[i].is_required ||
              json_array_append_new(required, json_string(ar->attrs[i].name)) == 0);
    }
    ok = ok && json_object_set(fe, "required", required) == 0 &&
         json_object_set(fe, "requested", requested) == 0 && set_str(fe, "connector", c->id) &&
         set_str(fe, "issuer", ar->issuer) && set_str(fe, "request_id", ar->id) &&
         set_str(fe, "acs", acs) && set_str(fe, "relay_state", relay_state) &&
         set_str(fe, "sp_type", sp_type) && set_str(fe, "name_id_format", ar->name_id_format);
    json_decref(required);
    json_decref(requested);
    return ok ? EH_OK : EH_ERR_NOMEM;
}

/* start_transaction stores the checked request and sends the citizen to
 * the method choice. */
static eh_rc start_transaction(eh_broker *b, const eh_saml_authn_request *ar, const connector *c,
                               const char *acs, const char *relay_state, const char *sp_type,
                               const char *locale, eh_http_response *resp)
{
    eh_authn_request *authn = NULL;
    eh_policy *policy = NULL;
    eh_txn *txn = NULL;
    eh_rc rc = request_authn(ar, c, locale, &authn);

    if (rc != EH_OK || (rc = eh_txn_new(authn, &txn)) != EH_OK)
        return rc;
    if ((rc = eh_flow_start_policy(b, txn, c->id, c->policy, &policy)) != EH_OK)
        goto cleanup;
    /* a minimum the policy sets higher narrows the methods offered; an exact
     * (non-notified) level stays as asked and the flow checks it */
    if (txn->authn->comparison == EH_LOA_MINIMUM && policy->min_loa > txn->authn->min_loa)
        txn->authn->min_loa = policy->min_loa;
    if ((rc = frontend_state(txn->frontend, ar, c, acs, relay_state, sp_type)) != EH_OK ||
        (rc = eh_txn_save(eh_broker_store_get(b), txn)) != EH_OK ||
        (rc = eh_txn_bind(resp, txn, eh_broker_secure(b))) != EH_OK ||
        (rc = eh_redirect(resp, "/login")) != EH_OK)
        goto cleanup;
    eh_metrics_login_started(c->id, NULL);
    eh_log(EH_LOG_INFO, "eidas proxy: login started for connector %s, loa %s", c->id,
           eh_loa_name(ar->loa));
cleanup:
    eh_policy_free(policy);
    eh_txn_free(txn);
    return rc;
}

/* read_message takes SAMLRequest and RelayState from the form body (POST)
 * or the query (GET). *status and *key say what to answer when it fails. */
static eh_rc read_message(const eh_http_request *req, char **saml, char **relay, int *status,
                          const char **key)
{
    const char *src = req->method == EH_HTTP_POST ? (const char *)req->body : req->query;
    size_t len = req->method == EH_HTTP_POST ? req->body_len : strlen(req->query);
    eh_rc rc;

    *saml = *relay = NULL;
    *status = 400;
    *key = "eidas_proxy_bad_request";
    if (len > FORM_MAX) {
        *status = 413;
        return EH_ERR_TOO_LARGE;
    }
    if (src == NULL || (rc = eh_http_param_get(src, len, "SAMLRequest", saml)) == EH_ERR_NOT_FOUND)
        return EH_ERR_INVALID;
    if (rc != EH_OK)
        return rc;
    if (strlen(*saml) > REQUEST_B64_MAX) {
        *status = 413;
        return EH_ERR_TOO_LARGE;
    }
    rc = eh_http_param_get(src, len, "RelayState", relay);
    if (rc == EH_ERR_NOT_FOUND)
        return EH_OK;
    if (rc == EH_OK && strlen(*relay) > RELAY_STATE_MAX)
        rc = EH_ERR_INVALID;
    return rc;
}

eh_rc eh_eidas_proxy_sso_handle(struct eh_broker *b, const eh_http_request *req,
                                eh_http_response *resp)
{
    eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const eh_saml_node *node = eh_broker_saml_get(b);
    const char *locale = eh_i18n_locale_of_request(req), *key = NULL, *acs;
    trust_ctx trust_state = {p, NULL};
    eh_saml_trust trust = {trust_keys_of, trust_release, &trust_state};
    eh_saml_request_expect expect;
    eh_saml_authn_request *ar = NULL;
    const eh_saml_metadata *m = NULL;
    const connector *c = NULL;
    char *saml = NULL, *relay = NULL, why[160] = "";
    unsigned char *xml = NULL;
    size_t xml_len = 0;
    int status = 400, seen = 0;
    eh_rc rc;

    if (p == NULL || node == NULL)
        return EH_ERR_HTTP_NO_ROUTE;
    rc = read_message(req, &saml, &relay, &status, &key);
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    if (rc != EH_OK) {
        rc = refuse(resp, status, locale, key,
                    status == 413 ? "too large" : "no or malformed SAMLRequest or RelayState");
        goto cleanup;
    }
#ifndef EH_HAVE_ZLIB
    if (req->method != EH_HTTP_POST) {
        /* HTTP-Redirect carries the request DEFLATE-compressed; without
         * zlib we take HTTP-POST only (docs/eidas.md) */
        rc = refuse(resp, 400, locale, "eidas_proxy_post_only",
                    "HTTP-Redirect binding not supported");
        goto cleanup;
    }
#endif
    rc = eh_saml_b64_decode(saml, strlen(saml), REQUEST_XML_MAX, (char **)&xml, &xml_len);
#ifdef EH_HAVE_ZLIB
    if (rc == EH_OK && req->method != EH_HTTP_POST) {
        /* HTTP-Redirect: the same document, DEFLATE-compressed */
        unsigned char *deflated = xml;
        rc = inflate_raw(deflated, xml_len, REQUEST_XML_MAX, &xml, &xml_len);
        free(deflated);
    }
#endif
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    if (rc != EH_OK) {
        rc = refuse(resp, rc == EH_ERR_TOO_LARGE ? 413 : 400, locale, "eidas_proxy_bad_request",
                    rc == EH_ERR_TOO_LARGE ? "too large" : "SAMLRequest is not readable");
        goto cleanup;
    }
    expect.destination = node->proxy_sso;
    expect.now = (int64_t)time(NULL);
    expect.skew_s = node->skew_s;
    expect.max_age_s = REQUEST_MAX_AGE_S;
    rc = eh_saml_authn_request_parse((const char *)xml, xml_len, &trust, &expect, &ar, why,
                                     sizeof(why));
    if (rc == EH_ERR_NOMEM)
        goto cleanup;
    if (rc != EH_OK || trust_state.found == NULL) {
        rc = refuse(resp, 400, locale, "eidas_proxy_bad_request", why[0] ? why : "not trusted");
        goto cleanup;
    }
    c = trust_state.found;
    /* the metadata again, for the ACS (the reference parse held is gone) */
    rc = eh_saml_peers_get(p->peers, c->id, 0, &m, why, sizeof(why));
    if (rc != EH_OK || strcmp(m->entity_id, ar->issuer) != 0) {
        rc = refuse(resp, 503, locale, "eidas_proxy_unavailable",
                    "connector metadata not available");
        goto cleanup;
    }
    acs = m->endpoint;
    if (ar->acs_url != NULL && strcmp(ar->acs_url, acs) != 0) {
        rc = refuse(resp, 400, locale, "eidas_proxy_bad_request",
                    "AssertionConsumerServiceURL is not the metadata's");
        goto cleanup;
    }
    if (eh_broker_store_get(b) == NULL ||
        (rc = replay_seen(eh_broker_store_get(b), ar->issuer, ar->id, &seen)) != EH_OK) {
        rc = eh_page_error(resp, 503, locale, "store_unavailable", NULL, NULL);
        goto cleanup;
    }
    if (seen) {
        rc = refuse(resp, 400, locale, "eidas_proxy_replayed", "request ID used before");
        goto cleanup;
    }
    rc = start_transaction(b, ar, c, acs, relay, ar->sp_type ? ar->sp_type : m->sp_type, locale,
                           resp);
    if (rc == EH_ERR_STORE_UNAVAILABLE || rc == EH_ERR_STORE_TIMEOUT || rc == EH_ERR_STORE_FULL) {
        eh_http_response_free(resp);
        rc = eh_page_error(resp, 503, locale, "store_unavailable", NULL, NULL);
    }
cleanup:
    if (m != NULL)
        eh_saml_peers_release(p->peers, m);
    eh_saml_authn_request_free(ar);
    free(saml);
    free(relay);
    free(xml);
    return rc;
}

/* ------------------------------------------------------------------ answer */

/* post_page answers with the page that posts the Response (xml) and the
 * RelayState of txn to its ACS (broker/saml/saml_post.h). */
static eh_rc post_page(const eh_txn *txn, const char *xml, size_t len, eh_http_response *resp)
{
    return eh_saml_post_send(resp, txn->authn->locale ? txn->authn->locale : "en",
                             json_string_value(json_object_get(txn->frontend, "acs")),
                             "SAMLResponse", xml, len,
                             json_string_value(json_object_get(txn->frontend, "relay_state")));
}

/* answer builds the Response of spec (recipient: the Connector's encryption
 * keys, for a success) and posts it. */
static eh_rc answer(eh_broker *b, const eh_txn *txn, eh_saml_response_spec *spec,
                    const eh_saml_keys *recipient, eh_http_response *resp)
{
    const eh_saml_node *node = eh_broker_saml_get(b);
    char id[EH_SAML_ID_LEN], assertion_id[EH_SAML_ID_LEN], why[160] = "", *xml = NULL;
    size_t len = 0;
    eh_rc rc;

    if (node == NULL || spec->destination == NULL || spec->in_response_to == NULL ||
        spec->audience == NULL)
        return EH_ERR_INTERNAL;
    if ((rc = eh_saml_new_id(id)) != EH_OK || (rc = eh_saml_new_id(assertion_id)) != EH_OK)
        return rc;
    spec->id = id;
    spec->assertion_id = assertion_id;
    spec->issuer = node->proxy_entity_id;
    spec->now = (int64_t)time(NULL);
    spec->valid_s = node->assertion_valid_s;
    rc = eh_saml_response_build(spec, node->signer, node->sig_alg, recipient, node->enc_alg, &xml,
                                &len, why, sizeof(why));
    if (rc != EH_OK) {
        eh_log(EH_LOG_ERROR, "eidas proxy: cannot build a Response: %s", why);
        return rc;
    }
    rc = post_page(txn, xml, len, resp);
    free(xml);
    return rc;
}

/* spec_of_txn starts a response spec from what txn remembers. */
static eh_saml_response_spec spec_of_txn(const eh_txn *txn)
{
    eh_saml_response_spec s = {0};
    s.destination = json_string_value(json_object_get(txn->frontend, "acs"));
    s.in_response_to = json_string_value(json_object_get(txn->frontend, "request_id"));
    s.audience = json_string_value(json_object_get(txn->frontend, "issuer"));
    return s;
}

/* status_answer posts a failed Response (no assertion). */
static eh_rc status_answer(eh_broker *b, const eh_txn *txn, const char *sub_status,
                           const char *message, eh_http_response *resp)
{
    eh_saml_response_spec spec = spec_of_txn(txn);

    spec.status = EH_SAML_STATUS_RESPONDER;
    spec.sub_status = sub_status;
    spec.status_message = message;
    eh_log(EH_LOG_INFO, "eidas proxy: connector %s answered with status: %s", txn->authn->requester,
           message);
    return answer(b, txn, &spec, NULL, resp);
}

/* subject_of returns the value after "XX/YY/" of the citizen's
 * PersonIdentifier for Connector c: their national identifier where the
 * policy's subject is public, else a pairwise pseudonym per the policy's
 * sector or the Connector (the eIDAS counterpart of OIDC's sub). */
static eh_rc subject_of(eh_broker *b, const connector *c, const eh_policy *policy,
                        const eh_identity *id, const char *our_country, char **out)
{
    const eh_config *cfg = eh_broker_config_get(b);
    char subject[256];
    eh_rc rc;

    if (id->id_value == NULL || id->country == NULL)
        return EH_ERR_INTERNAL;
    if ((rc = eh_identity_subject(id, subject, sizeof(subject))) != EH_OK)
        return rc;
    if (policy->subject_type == EH_SUBJECT_PUBLIC) {
        /* an identifier of another country keeps its country code */
        *out = strdup(strcmp(id->country, our_country) == 0 ? id->id_value : subject);
        rc = *out != NULL ? EH_OK : EH_ERR_NOMEM;
    } else if (cfg->subject_secret == NULL) {
        rc = EH_ERR_CONFIG;
    } else {
        rc = eh_pairwise_subject(cfg->subject_secret, cfg->subject_secret_len,
                                 policy->sector ? policy->sector : c->id, subject, out);
    }
    OPENSSL_cleanse(subject, sizeof(subject));
    return rc;
}

/* attributes_of maps the released identity to the eIDAS attributes the
 * Connector asked for (URI -> string): registry names to URIs, and the
 * PersonIdentifier person_id. */
static eh_rc attributes_of(const eh_txn *txn, const eh_identity *released, const char *person_id,
                           json_t **out)
{
    json_t *attrs = json_object(), *v;
    json_t *requested = json_object_get(txn->frontend, "requested");
    size_t i;
    eh_rc rc = EH_ERR_NOMEM;

    if (attrs == NULL)
        return rc;
    json_array_foreach(requested, i, v) {
        const char *uri = json_string_value(v);
        const eh_attribute_def *def = eh_attribute_find_eidas(uri);
        json_t *value;
        if (def == NULL)
            continue;
        if (strcmp(def->name, "person_identifier") == 0)
            value = json_string(person_id);
        else if (json_is_string(json_object_get(released->attributes, def->name)))
            value = json_incref(json_object_get(released->attributes, def->name));
        else
            continue;
        if (json_object_set_new(attrs, uri, value) != 0)
            goto cleanup;
    }
    *out = attrs;
    attrs = NULL;
    rc = EH_OK;
cleanup:
    json_decref(attrs);
    return rc;
}

/* missing_required tells whether a requested attribute marked isRequired
 * is not in attrs. */
static int missing_required(const eh_txn *txn, const json_t *attrs)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(txn->frontend, "required"), i, v) {
        if (!json_is_string(v) || json_object_get(attrs, json_string_value(v)) == NULL)
            return 1;
    }
    return 0;
}

/* slo_key writes into key (EH_STORE_KEY_MAX bytes) a store key of the
 * single logout: "slo:" + digest of "p <connector> <name id>" (finds the
 * SSO session from a Connector's LogoutRequest) or of "r <sso key>
 * <connector>" (what NameID the Connector got in that session). The
 * Connector side uses "c ..." in the same store. */
static eh_rc slo_key(char kind, const char *a, const char *b, char *key)
{
    char *text = NULL, *digest = NULL;
    eh_rc rc = EH_ERR_NOMEM;

    if (asprintf(&text, "%c %s %s", kind, a, b) < 0)
        return rc;
    if ((rc = eh_token_digest(text, &digest)) == EH_OK)
        snprintf(key, EH_STORE_KEY_MAX, SLO_PREFIX "%s", digest);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    free(digest);
    return rc;
}

/* index_session records, for as long as the SSO session of txn lives, how
 * a LogoutRequest of Connector id for name_id finds it, and which NameID
 * (format) a LogoutRequest to that Connector names when it ends. Without a
 * session nothing is recorded; a failure only costs that logout. */
static void index_session(struct eh_broker *b, const eh_txn *txn, const char *id,
                          const char *name_id, const char *format)
{
    const char *sso_key = json_string_value(json_object_get(txn->flow, "sso"));
    char fwd[EH_STORE_KEY_MAX], rev[EH_STORE_KEY_MAX], *text = NULL;
    eh_store *store = eh_broker_store_get(b);
    json_t *who = NULL;
    int64_t left_s;
    eh_sso *s = NULL;

    if (sso_key == NULL || name_id == NULL || eh_sso_load(b, sso_key, &s) != EH_OK)
        return;
    left_s = s->expires - (int64_t)time(NULL);
    who = json_pack("{s:s, s:s?}", "name_id", name_id, "name_id_format", format);
    if (left_s <= 0 || who == NULL || (text = json_dumps(who, JSON_COMPACT)) == NULL ||
        slo_key('p', id, name_id, fwd) != EH_OK || slo_key('r', sso_key, id, rev) != EH_OK ||
        eh_store_set(store, fwd, sso_key, strlen(sso_key), (uint32_t)left_s * 1000u) != EH_OK ||
        eh_store_set(store, rev, text, strlen(text), (uint32_t)left_s * 1000u) != EH_OK)
        eh_log(EH_LOG_WARN, "eidas proxy: cannot record the session for a logout of %s", id);
    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    json_decref(who);
    eh_sso_free(s);
}

eh_rc eh_eidas_proxy_complete(struct eh_broker *b, const eh_txn *txn, const eh_policy *policy,
                              const eh_identity *released, eh_http_response *resp)
{
    eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const eh_saml_node *node = eh_broker_saml_get(b);
    const connector *c =
        p ? connector_by_id(p, json_string_value(json_object_get(txn->frontend, "connector")))
          : NULL;
    const eh_saml_metadata *m = NULL;
    const char *format = json_string_value(json_object_get(txn->frontend, "name_id_format"));
    eh_saml_response_spec spec = spec_of_txn(txn);
    char why[160] = "", *subject = NULL, *person_id = NULL, transient[EH_SAML_ID_LEN];
    json_t *attrs = NULL;
    eh_rc rc;

    if (c == NULL || node == NULL)
        return EH_ERR_INTERNAL;
    if ((rc = eh_saml_peers_get(p->peers, c->id, 0, &m, why, sizeof(why))) != EH_OK) {
        eh_log(EH_LOG_WARN, "eidas proxy: connector %s: %s", c->id, why);
        return rc;
    }
    if (m->encryption == NULL || strcmp(m->entity_id, spec.audience ? spec.audience : "") != 0) {
        rc = EH_ERR_INTERNAL;
        goto cleanup;
    }
    if ((rc = subject_of(b, c, policy, released, node->country, &subject)) != EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    if (asprintf(&person_id, "%s/%s/%s", node->country,
                 m->node_country != NULL ? m->node_country : "XX", subject) < 0) {
        person_id = NULL;
        goto cleanup;
    }
    if ((rc = attributes_of(txn, released, person_id, &attrs)) != EH_OK)
        goto cleanup;
    if (missing_required(txn, attrs)) {
        rc = status_answer(b, txn, EH_SAML_STATUS_REQUEST_DENIED,
                           "a required attribute cannot be released", resp);
        goto cleanup;
    }
    /* the format asked, else ours; persistent: the PersonIdentifier */
    if (format == NULL || strcmp(format, EH_SAML_NAMEID_UNSPECIFIED) == 0)
        format = p->transient ? EH_SAML_NAMEID_TRANSIENT : EH_SAML_NAMEID_PERSISTENT;
    if (strcmp(format, EH_SAML_NAMEID_TRANSIENT) == 0) {
        if ((rc = eh_saml_new_id(transient)) != EH_OK)
            goto cleanup;
        spec.name_id = transient;
    } else {
        spec.name_id = person_id;
    }
    spec.name_id_format = format;
    spec.status = EH_SAML_STATUS_SUCCESS;
    spec.loa = released->loa;
    spec.comparison = txn->authn->comparison;
    spec.authn_instant = released->auth_time;
    spec.attributes = attrs;
    rc = answer(b, txn, &spec, m->encryption, resp);
    if (rc == EH_OK)
        index_session(b, txn, c->id, spec.name_id, spec.name_id_format);
    if (rc == EH_OK)
        eh_log(EH_LOG_INFO, "eidas proxy: connector %s answered, %zu attributes", c->id,
               json_object_size(attrs));
cleanup:
    eh_saml_peers_release(p->peers, m);
    if (subject != NULL)
        OPENSSL_cleanse(subject, strlen(subject));
    if (person_id != NULL)
        OPENSSL_cleanse(person_id, strlen(person_id));
    free(subject);
    free(person_id);
    json_decref(attrs);
    return rc;
}

eh_rc eh_eidas_proxy_fail(struct eh_broker *b, const eh_txn *txn, const char *error,
                          const char *description, eh_http_response *resp)
{
    const char *sub = EH_SAML_STATUS_AUTHN_FAILED, *message = "the authentication failed";

    if (json_string_value(json_object_get(txn->frontend, "acs")) == NULL)
        return EH_ERR_INTERNAL;
    /* the flow says access_denied both when the citizen cancels or refuses
     * consent and when the authentication does not meet the policy's level
     * or methods (broker/flow.h) */
    if (error != NULL && strcmp(error, "access_denied") == 0) {
        if (description != NULL && strcmp(description, EH_FLOW_UNMET_POLICY) == 0) {
            sub = EH_SAML_STATUS_NO_AUTHN_CONTEXT;
            message = "the authentication does not meet the requested level or method";
        } else {
            sub = EH_SAML_STATUS_REQUEST_DENIED;
            message = "the citizen cancelled or did not consent";
        }
    }
    return status_answer(b, txn, sub, message, resp);
}

/* ------------------------------------------------------------ single logout */

/* logout_one sends Connector c the LogoutRequest for the NameID it got in
 * the ended session s (if it got one and takes a logout) and logs the
 * outcome; the records of that NameID go. */
static void logout_one(struct eh_broker *b, eh_eidas_proxy *p, const connector *c,
                       const eh_sso *s)
{
    const eh_saml_node *node = eh_broker_saml_get(b);
    eh_store *store = eh_broker_store_get(b);
    char rev[EH_STORE_KEY_MAX], fwd[EH_STORE_KEY_MAX], *text = NULL, *our_slo = NULL;
    char *status = NULL, *sub = NULL, *held = NULL, why[256] = "";
    const eh_saml_metadata *m = NULL;
    eh_saml_logout_request r = {0};
    eh_saml_logout_peer peer;
    json_t *who = NULL;
    size_t len = 0;
    int attempts = 0;
    eh_rc rc;

    if (slo_key('r', s->key, c->id, rev) != EH_OK ||
        eh_store_take(store, rev, &text, &len) != EH_OK ||
        (who = json_loadb(text, len, 0, NULL)) == NULL ||
        (r.name_id = (char *)json_string_value(json_object_get(who, "name_id"))) == NULL)
        goto cleanup;
    r.name_id_format = (char *)json_string_value(json_object_get(who, "name_id_format"));
    /* the index to the session, unless a newer session took it over */
    if (slo_key('p', c->id, r.name_id, fwd) == EH_OK &&
        eh_store_get(store, fwd, &held, &len) == EH_OK && strcmp(held, s->key) == 0)
        eh_store_del(store, fwd);
    if (eh_saml_peers_get(p->peers, c->id, 0, &m, why, sizeof(why)) != EH_OK) {
        eh_log(EH_LOG_WARN, "eidas proxy: no logout at connector %s: %s", c->id, why);
        goto cleanup;
    }
    if (m->slo_endpoint == NULL) {
        eh_log(EH_LOG_INFO, "eidas proxy: connector %s takes no SAML logout", c->id);
        goto cleanup;
    }
    if ((our_slo = our_slo_url(b)) == NULL)
        goto cleanup;
    r.issuer = node->proxy_entity_id;
    peer.url = m->slo_endpoint;
    peer.entity_id = m->entity_id;
    peer.trusted = m->signing;
    rc = eh_saml_logout_exchange(&r, &peer, our_slo, node->signer, node->sig_alg, node->skew_s,
                                 SLO_TIMEOUT_MS, SLO_TRIES, &status, &sub, &attempts, why,
                                 sizeof(why));
    if (rc != EH_OK)
        eh_log(EH_LOG_WARN, "eidas proxy: logout at connector %s failed (%d tries): %s", c->id,
               attempts, why);
    else if (strcmp(status, EH_SAML_STATUS_SUCCESS) != 0)
        eh_log(EH_LOG_WARN, "eidas proxy: connector %s refused the logout: %s / %s", c->id,
               status, sub ? sub : "(none)");
    else
        eh_log(EH_LOG_INFO, "eidas proxy: session ended at connector %s", c->id);
cleanup:
    if (m != NULL)
        eh_saml_peers_release(p->peers, m);
    if (text != NULL)
        OPENSSL_cleanse(text, len);
    free(text);
    free(held);
    free(our_slo);
    free(status);
    free(sub);
    json_decref(who);
}

void eh_eidas_proxy_session_ended(struct eh_broker *b, const eh_sso *s)
{
    eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const char *id;
    json_t *v;

    if (p == NULL || eh_broker_saml_get(b) == NULL)
        return;
    json_object_foreach(s->requesters, id, v) {
        const connector *c = connector_by_id(p, id);
        (void)v;
        if (c != NULL)
            logout_one(b, p, c, s);
    }
}

/* end_indexed ends the SSO session in which we answered Connector c for
 * name_id, if there still is one; c itself is not told again. */
static void end_indexed(struct eh_broker *b, const connector *c, const char *name_id)
{
    eh_store *store = eh_broker_store_get(b);
    char fwd[EH_STORE_KEY_MAX], rev[EH_STORE_KEY_MAX], *sso_key = NULL;
    size_t len = 0;

    if (slo_key('p', c->id, name_id, fwd) != EH_OK ||
        eh_store_take(store, fwd, &sso_key, &len) != EH_OK) {
        eh_log(EH_LOG_INFO, "eidas proxy: connector %s ended a session we no longer hold", c->id);
        return;
    }
    if (slo_key('r', sso_key, c->id, rev) == EH_OK)
        eh_store_del(store, rev);
    if (eh_sso_detach(b, sso_key, c->id, 0) == EH_OK && eh_flow_logout_session(b, sso_key) == EH_OK)
        eh_log(EH_LOG_INFO, "eidas proxy: connector %s ended a session", c->id);
    else
        eh_log(EH_LOG_INFO, "eidas proxy: connector %s ended a session we no longer hold", c->id);
    free(sso_key);
}

/* slo_peer_name / slo_end: what the shared SLO endpoint asks of us about
 * the Connector trust_keys_of found (broker/saml/saml_slo_endpoint.h). */
static const char *slo_peer_name(void *ctx)
{
    const trust_ctx *t = ctx;
    return t->found ? t->found->id : NULL;
}

static void slo_end(struct eh_broker *b, void *ctx, const char *name_id)
{
    const trust_ctx *t = ctx;
    end_indexed(b, t->found, name_id);
}

eh_rc eh_eidas_proxy_slo_handle(struct eh_broker *b, const eh_http_request *req,
                                eh_http_response *resp)
{
    eh_eidas_proxy *p = eh_broker_eidas_proxy_get(b);
    const eh_saml_node *node = eh_broker_saml_get(b);
    trust_ctx trust_state = {p, NULL};
    eh_saml_trust trust = {trust_keys_of, trust_release, &trust_state};
    eh_saml_slo_side side = {"eidas proxy", NULL, EH_SAML_PROXY_SLO_PATH, NULL, &trust,
                             slo_peer_name, slo_end};

    if (p == NULL || node == NULL)
        return EH_ERR_HTTP_NO_ROUTE;
    side.entity_id = node->proxy_entity_id;
    side.peers = p->peers;
    return eh_saml_slo_answer(b, req, &side, resp);
}
