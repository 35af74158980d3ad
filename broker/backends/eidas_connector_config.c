/* eidhub: the eIDAS Connector backend's settings (see eidas_connector.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/eidas_connector.h"
#include "broker/backends/eidas_connector_state.h"
#include "broker/json_check.h"
#include "broker/json_path.h"

#define DEFAULT_REFRESH_S 3600
#define DEFAULT_TIMEOUT_MS 5000

void eh_eidas_connector_free(void *state)
{
    eh_eidas_connector *c = state;

    if (c == NULL)
        return;
    eh_saml_peers_free(c->peers);
    for (size_t i = 0; i < c->n; i++) {
        free(c->countries[i].label_en);
        free(c->countries[i].label_et);
        free(c->countries[i].href);
        free(c->countries[i].id);
        free((char *)c->peer_defs[i].metadata);
        free((char *)c->peer_defs[i].entity_id);
        free((char *)c->peer_defs[i].anchor_file);
    }
    free(c->countries);
    free(c->peer_defs);
    free(c->choices);
    free(c->metadata);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const eh_backend_choice *eh_eidas_connector_choices(const void *state, size_t *n)
{
    const eh_eidas_connector *c = state;
    *n = c->n;
    return c->choices;
}

eh_saml_peers *eh_eidas_connector_peers(const void *state)
{
    return state ? ((const eh_eidas_connector *)state)->peers : NULL;
}

const eh_eidas_country *eh_eidas_country_find(const eh_eidas_connector *c, const char *code)
{
    for (size_t i = 0; c != NULL && code != NULL && i < c->n; i++)
        if (strcasecmp(c->countries[i].country, code) == 0)
            return &c->countries[i];
    return NULL;
}

/* label reads "display_name" ({"en", "et"} or a string) into the country's
 * labels, defaulting to "eIDAS: <country>". */
static eh_rc label(eh_check *v, const json_t *item, const char *path, eh_eidas_country *e)
{
    const json_t *dn = json_object_get(item, "display_name");
    const char *en = NULL, *et = NULL;
    char sub[EH_JSON_PATH_MAX], def[32];

    eh_json_path_member(sub, sizeof(sub), path, "display_name");
    if (json_is_string(dn)) {
        en = json_string_value(dn);
    } else if (json_is_object(dn)) {
        en = json_string_value(json_object_get(dn, "en"));
        et = json_string_value(json_object_get(dn, "et"));
        if (en == NULL || json_object_size(dn) != (et ? 2u : 1u))
            return eh_check_fail(v, sub, "must be a string or {\"en\": ..., \"et\": ...}");
    } else if (dn != NULL) {
        return eh_check_fail(v, sub, "must be a string or {\"en\": ..., \"et\": ...}");
    }
    snprintf(def, sizeof(def), "eIDAS: %s", e->country);
    e->label_en = strdup(en ? en : def);
    e->label_et = et ? strdup(et) : NULL;
    return e->label_en == NULL || (et && e->label_et == NULL) ? EH_ERR_NOMEM : EH_OK;
}

/* country reads one member of "countries". */
static eh_rc country(eh_check *v, const json_t *item, const char *path, eh_eidas_connector *c,
                     size_t i)
{
    static const char *const allowed[] = {"country", "metadata", "entity_id",
                                          "trust_anchor_file", "display_name", NULL};
    eh_eidas_country *e = &c->countries[i];
    eh_saml_peer_def *d = &c->peer_defs[i];
    char sub[EH_JSON_PATH_MAX], *code = NULL, *metadata = NULL, *anchor = NULL, *entity = NULL;
    size_t len;
    eh_rc rc;

    if (!json_is_object(item))
        return eh_check_fail(v, path, "must be an object");
    if ((rc = eh_check_members(v, item, path, allowed)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "country", 1, &code)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "metadata", 1, &metadata)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "entity_id", 0, &entity)) != EH_OK ||
        (rc = eh_check_string(v, item, path, "trust_anchor_file", 1, &anchor)) != EH_OK)
        goto cleanup;
    eh_json_path_member(sub, sizeof(sub), path, "country");
    if (strlen(code) != 2 || !isupper((unsigned char)code[0]) || !isupper((unsigned char)code[1])) {
        rc = eh_check_fail(v, sub, "must be an ISO 3166-1 alpha-2 code in capitals, e.g. \"LV\"");
        goto cleanup;
    }
    if (eh_eidas_country_find(c, code) != NULL) {
        rc = eh_check_fail(v, sub, "appears twice");
        goto cleanup;
    }
    memcpy(e->country, code, 3);
    eh_json_path_member(sub, sizeof(sub), path, "metadata");
    if (strncmp(metadata, "http://", 7) == 0 || strncmp(metadata, "https://", 8) == 0) {
        if ((rc = eh_check_url(v, sub, metadata, 0)) != EH_OK)
            goto cleanup;
        d->metadata = metadata;
    } else {
        if ((rc = eh_check_resolve(v->file, metadata, (char **)&d->metadata)) != EH_OK)
            goto cleanup;
    }
    if ((rc = eh_check_resolve(v->file, anchor, (char **)&d->anchor_file)) != EH_OK)
        goto cleanup;
    d->entity_id = entity;
    entity = NULL;
    d->name = e->country;
    d->role = EH_SAML_ROLE_PROXY;
    len = strlen("/auth/eidas?country=") + 3;
    rc = EH_ERR_NOMEM;
    if ((e->href = malloc(len)) == NULL || (e->id = strdup(code)) == NULL)
        goto cleanup;
    snprintf(e->href, len, "/auth/eidas?country=%s", code);
    e->id[0] = (char)tolower((unsigned char)e->id[0]);
    e->id[1] = (char)tolower((unsigned char)e->id[1]);
    rc = label(v, item, path, e);
cleanup:
    if (d->metadata != metadata)
        free(metadata);
    free(code);
    free(anchor);
    free(entity);
    return rc;
}

eh_rc eh_eidas_connector_load(const json_t *settings, const char *file, const char *path,
                              void **state, char *err, size_t errlen)
{
    static const char *const allowed[] = {"countries", "sp_type", NULL};
    eh_check v = {file, err, errlen};
    const json_t *list = json_object_get(settings, "countries"), *item;
    eh_eidas_connector *c = calloc(1, sizeof(*c));
    char sub[EH_JSON_PATH_MAX], why[512], *sp_type = NULL;
    size_t i;
    eh_rc rc = EH_ERR_NOMEM;

    if (c == NULL)
        return EH_ERR_NOMEM;
    pthread_mutex_init(&c->lock, NULL);
    if (!json_is_object(settings)) {
        rc = eh_check_fail(&v, path, "must be an object");
        goto cleanup;
    }
    if ((rc = eh_check_members(&v, settings, path, allowed)) != EH_OK ||
        (rc = eh_check_string(&v, settings, path, "sp_type", 0, &sp_type)) != EH_OK)
        goto cleanup;
    c->sp_private = sp_type != NULL && strcmp(sp_type, "private") == 0;
    if (sp_type != NULL && !c->sp_private && strcmp(sp_type, "public") != 0) {
        eh_json_path_member(sub, sizeof(sub), path, "sp_type");
        rc = eh_check_fail(&v, sub, "must be \"public\" or \"private\"");
        goto cleanup;
    }
    eh_json_path_member(sub, sizeof(sub), path, "countries");
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > EH_EIDAS_MAX_COUNTRIES) {
        rc = eh_check_fail(&v, sub, "must be an array of 1 to %d countries",
                           EH_EIDAS_MAX_COUNTRIES);
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    c->countries = calloc(json_array_size(list), sizeof(*c->countries));
    c->peer_defs = calloc(json_array_size(list), sizeof(*c->peer_defs));
    c->choices = calloc(json_array_size(list), sizeof(*c->choices));
    if (c->countries == NULL || c->peer_defs == NULL || c->choices == NULL)
        goto cleanup;
    json_array_foreach(list, i, item) {
        char at[EH_JSON_PATH_MAX];
        eh_json_path_index(at, sizeof(at), sub, i);
        c->n = i + 1; /* freed from here on */
        if ((rc = country(&v, item, at, c, i)) != EH_OK)
            goto cleanup;
        c->choices[i] = (eh_backend_choice){
            .id = c->countries[i].id,
            .href = c->countries[i].href,
            .label_en = c->countries[i].label_en,
            .label_et = c->countries[i].label_et,
            .country = c->countries[i].country,
            .loas = (1u << EH_LOA_LOW) | (1u << EH_LOA_SUBSTANTIAL) | (1u << EH_LOA_HIGH),
        };
    }
    rc = eh_saml_peers_new(c->peer_defs, c->n, DEFAULT_REFRESH_S, DEFAULT_TIMEOUT_MS, &c->peers,
                           why, sizeof(why));
    if (rc != EH_OK) {
        rc = eh_check_fail(&v, sub, "%s", why);
        goto cleanup;
    }
    *state = c;
    c = NULL;
cleanup:
    free(sp_type);
    eh_eidas_connector_free(c);
    return rc;
}
