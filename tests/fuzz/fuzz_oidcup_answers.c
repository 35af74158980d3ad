/* Fuzz target: what a national OpenID Connect eID provider answers besides
 * ID tokens and JWK Sets: its discovery document (eh_oidcup_meta_get, with
 * the backend's fetch replaced by one that returns the input) and the
 * claims of its ID token and userinfo (eh_oidcup_identity). The provider
 * "fr" is configured as in docs/oidc-upstream.md (issuer
 * https://eid.example.fr, subject country FR from sub, a claim mapping).
 *
 * Input, by its first byte:
 *   0x01  the rest is the discovery document;
 *   0x02  the rest is "<ID token claims JSON>\n<userinfo JSON>" (an empty
 *         second line: no userinfo).
 *
 * Invariants: why is NUL-terminated and one line; accepted discovery has
 * the three required endpoints, none with a fragment; an identity carries
 * method oidc_upstream, the configured subject country, a non-empty id and
 * only attributes the claim mapping (or person_identifier) names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/backends/oidc_upstream.h"
#include "broker/http_client.h"
#include "tests/fuzz/fuzz_util.h"

static eh_oidcup *up;
static const uint8_t *cur_data;
static size_t cur_size;

static eh_rc fake_fetch(const eh_http_call *call, eh_http_answer *answer, char *why, size_t whylen)
{
    (void)call;
    (void)why;
    (void)whylen;
    answer->status = 200;
    answer->body = fz_strndup(cur_data, cur_size);
    answer->body_len = cur_size;
    return EH_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char settings_text[] =
        "{\"providers\": [{\"id\": \"fr\", \"display_name\": \"FranceConnect\","
        " \"issuer\": \"https://eid.example.fr\", \"client_id\": \"eidhub-client\","
        " \"client_secret\": \"s3cret-s3cret-s3cret\","
        " \"claim_mapping\": {\"given_name\": \"given_name\", \"family_name\": \"family_name\","
        " \"birthdate\": \"date_of_birth\", \"gender\": \"gender\"},"
        " \"subject\": {\"country\": \"FR\", \"id_claim\": \"sub\", \"id_type\": \"OIDC\"},"
        " \"loa_mapping\": {\"eidas1\": \"low\", \"eidas2\": \"substantial\"},"
        " \"country\": \"FR\", \"pinned_public_key\": "
        "\"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}]}";
    json_t *settings = json_loads(settings_text, 0, NULL);
    char err[512];
    void *state = NULL;

    fz_init();
    if (settings == NULL || eh_oidcup_load(settings, "fuzz.json", "$.backends.oidc_upstream",
                                           &state, err, sizeof(err)) != EH_OK) {
        fprintf(stderr, "oidc_upstream settings: %s\n", err);
        abort();
    }
    up = state;
    up->fetch = fake_fetch;
    json_decref(settings);
    return 0;
}

static void discovery(const uint8_t *data, size_t size)
{
    eh_oidcup_provider *p = &up->providers[0];
    eh_oidcup_meta *m = NULL;
    char why[256];
    eh_rc rc;

    /* a fresh cache, so that every input is fetched */
    eh_oidcup_cache_free(p->cache);
    if (eh_oidcup_cache_new(&p->cache) != EH_OK)
        abort();
    cur_data = data;
    cur_size = size;
    memset(why, 'X', sizeof(why));
    rc = eh_oidcup_meta_get(up, p, &m, why, sizeof(why));
    if (rc != EH_OK) {
        FZ_CHECK(m == NULL);
        FZ_CHECK(fz_terminated(why, sizeof(why)) && strpbrk(why, "\r\n") == NULL);
        return;
    }
    FZ_CHECK(m != NULL && m->authorization_endpoint != NULL && m->token_endpoint != NULL &&
             m->jwks_uri != NULL);
    FZ_CHECK(strchr(m->authorization_endpoint, '#') == NULL &&
             strchr(m->token_endpoint, '#') == NULL && strchr(m->jwks_uri, '#') == NULL);
    eh_oidcup_meta_release(p, m);
}

static int mapped(const eh_oidcup_provider *p, const char *name)
{
    if (strcmp(name, "person_identifier") == 0)
        return 1;
    for (size_t i = 0; i < p->n_claims; i++) {
        if (strcmp(p->claims[i].attr->name, name) == 0)
            return 1;
    }
    return 0;
}

static void identity(const uint8_t *data, size_t size)
{
    const eh_oidcup_provider *p = &up->providers[0];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first = nl ? (size_t)(nl - data) : size;
    json_t *id_claims = json_loadb((const char *)data, first, 0, NULL);
    json_t *userinfo = nl ? json_loadb((const char *)nl + 1, size - first - 1, 0, NULL) : NULL;
    eh_identity *id = NULL;
    const char *key;
    json_t *value;
    eh_rc rc;

    if (!json_is_object(id_claims))
        goto done;
    rc = eh_oidcup_identity(p, id_claims, json_is_object(userinfo) ? userinfo : NULL,
                            EH_LOA_SUBSTANTIAL, 1900000000, &id);
    if (rc != EH_OK) {
        FZ_CHECK(id == NULL);
        goto done;
    }
    FZ_CHECK(id != NULL && id->method != NULL && strcmp(id->method, "oidc_upstream") == 0);
    FZ_CHECK(id->country != NULL && strcmp(id->country, "FR") == 0);
    FZ_CHECK(id->id_value != NULL && id->id_value[0] != '\0');
    FZ_CHECK(id->loa == EH_LOA_SUBSTANTIAL);
    json_object_foreach(id->attributes, key, value)
    {
        if (!mapped(p, key))
            fprintf(stderr, "identity attribute %s is not in the claim mapping\n", key);
        FZ_CHECK(mapped(p, key));
    }
done:
    eh_identity_free(id);
    json_decref(id_claims);
    json_decref(userinfo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 1)
        discovery(data + 1, size - 1);
    else if (size > 0 && data[0] == 2)
        identity(data + 1, size - 1);
    return 0;
}
