/* eidhub: national OpenID Connect eID providers as a backend (oidc_upstream).
 *
 * eidhub is a relying party of one or more national eID services that speak
 * OpenID Connect (as FranceConnect does). Each configured provider is its
 * own choice on the method-choice page, labelled with its display name and
 * linked to /auth/oidc?provider=<id>. The flow is the authorization code
 * flow with PKCE S256, a random state kept in the transaction (which the
 * browser's cookie binds) and a nonce; the answer comes back to
 * <broker issuer>/auth/oidc/callback, where eidhub
 *   - compares state with the transaction's (constant time),
 *   - checks the RFC 9207 "iss" parameter against the provider this
 *     transaction chose (required when the provider announces it), so a
 *     response of another provider is refused (mix-up),
 *   - redeems the code at that provider's token endpoint (client_secret_basic
 *     or client_secret_post, code_verifier), a bounded libcurl call,
 *   - validates the ID token (oidc_upstream_token.h) against the provider's
 *     JWK Set, fetched again at most once per jwks_refresh_min_seconds when
 *     the token names an unknown kid (key rollover),
 *   - maps its acr to a level through the provider's loa_mapping and
 *     refuses one under the level this login asked,
 *   - reads userinfo with the access token (its sub must equal the ID
 *     token's),
 *   - maps claims to internal attributes (attributes/registry.h) through
 *     the provider's claim_mapping, makes the subject the configured country
 *     and the configured id claim, and hands the identity to the flow.
 * A provider's error (access_denied, ...) and every refused answer end on a
 * page with "Try again" and "Cancel"; the transaction stays for another try.
 *
 * Discovery (<issuer>/.well-known/openid-configuration) is fetched at first
 * use, never at start (a provider may be down then), and kept in process
 * memory for discovery_ttl_seconds, as is the JWK Set; both are shared by
 * the threads of a worker under a lock held only to swap snapshots. All of
 * it blocks (libcurl's easy API): the handlers are marked blocking in
 * broker/dispatch.c and run in nginx's thread pool.
 *
 * Settings, the member "oidc_upstream" of the configuration's "backends":
 *   providers                 [{...}, ...] (required, 1 to EH_OIDCUP_MAX_PROVIDERS)
 *   discovery_ttl_seconds     how long discovery and JWKS are kept (default 3600)
 *   jwks_refresh_min_seconds  at most one JWKS fetch on an unknown kid per this
 *                             many seconds (default 60)
 *   request_timeout_ms        bound on each call to a provider (default 5000)
 *   clock_skew_seconds        tolerated in exp, iat, nbf (default 60)
 * and each provider:
 *   id                        [a-z0-9-], 1 to 32 characters, unique (required)
 *   display_name              {"en": "...", "et": "..."} or a string (required)
 *   issuer                    exact, as in its discovery and ID tokens (required)
 *   client_id                 (required)
 *   client_secret | client_secret_file   exactly one (required)
 *   token_endpoint_auth_method   client_secret_basic (default) or client_secret_post
 *   scopes                    ["openid", ...] (default ["openid"]; openid required)
 *   claim_mapping             {"claim": "internal attribute name", ...}
 *   subject                   {"country": "FR", "id_claim": "sub", "id_type": "OIDC"}
 *                             (country defaults to the provider's; id_claim to sub)
 *   loa_mapping               {"acr value": "low" | "substantial" | "high", ...} (required)
 *   acr_values                the acr values to request, each in loa_mapping
 *   country                   ISO 3166-1 alpha-2 (required)
 *   pinned_public_key         curl's "sha256//..." pins of its TLS keys
 *   userinfo                  false: take claims from the ID token only (default true)
 */
#ifndef EH_OIDC_UPSTREAM_H
#define EH_OIDC_UPSTREAM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "attributes/registry.h"
#include "broker/authn.h"
#include "broker/backends/backend.h"
#include "broker/backends/oidc_upstream_token.h"
#include "broker/http.h"
#include "broker/http_client.h"
#include "broker/rc.h"

#define EH_OIDCUP_MAX_PROVIDERS 16
#define EH_OIDCUP_ID_MAX 32

struct eh_broker;
typedef struct eh_oidcup_cache eh_oidcup_cache;

/* One acr value of a provider and the level it stands for. */
typedef struct eh_oidcup_acr {
    char *value;
    eh_loa loa;
} eh_oidcup_acr;

/* One claim of a provider and the internal attribute it becomes. */
typedef struct eh_oidcup_claim {
    char *claim;
    const eh_attribute_def *attr;
} eh_oidcup_claim;

typedef struct eh_oidcup_provider {
    char *id;
    char *label_en;
    char *label_et;
    char *href; /* "/auth/oidc?provider=<id>" */
    char *issuer;
    char *client_id;
    char *client_secret; /* wiped on free */
    int secret_post;     /* client_secret_post instead of client_secret_basic */
    char *scope;         /* space-separated, with "openid" */
    eh_oidcup_claim *claims;
    size_t n_claims;
    char *country;
    char *subject_country;
    char *subject_claim;
    char *subject_id_type;
    eh_oidcup_acr *acrs; /* loa_mapping */
    size_t n_acrs;
    char **acr_values; /* what to request */
    size_t n_acr_values;
    unsigned loas; /* bit (1u << level) of each level loa_mapping names */
    char *pinned_public_key;
    int userinfo;
    eh_oidcup_cache *cache; /* discovery and JWK Set, per process */
} eh_oidcup_provider;

/* How the backend calls providers: eh_http_client_call, or a stand-in in
 * unit tests. */
typedef eh_rc (*eh_oidcup_fetch_fn)(const eh_http_call *call, eh_http_answer *answer, char *why,
                                    size_t whylen);

typedef struct eh_oidcup {
    eh_oidcup_provider *providers;
    size_t n;
    eh_backend_choice *choices; /* one per provider, for the method-choice page */
    unsigned discovery_ttl_s;
    unsigned jwks_refresh_min_s;
    unsigned request_timeout_ms;
    unsigned clock_skew_s;
    eh_oidcup_fetch_fn fetch;
    /* The clock of the discovery and JWK Set cache (milliseconds, only
     * differences count): NULL is the monotonic clock; unit tests set a
     * stand-in so that intervals do not depend on how fast they run. */
    int64_t (*now_ms)(void);
} eh_oidcup;

/* Backend registry hooks (broker/backends/backend.c). */
eh_rc eh_oidcup_load(const json_t *settings, const char *file, const char *path, void **state,
                     char *err, size_t errlen);
void eh_oidcup_free(void *state);
const eh_backend_choice *eh_oidcup_choices(const void *state, size_t *n);

/* eh_oidcup_provider_find returns the provider called id (NULL: none). */
const eh_oidcup_provider *eh_oidcup_provider_find(const eh_oidcup *up, const char *id);

/* eh_oidcup_acr_loa returns the level the provider maps acr to
 * (EH_LOA_NONE when acr is NULL or not in its loa_mapping). */
eh_loa eh_oidcup_acr_loa(const eh_oidcup_provider *p, const char *acr);

/* What a provider's discovery document says, as far as we use it: a
 * snapshot shared by threads (eh_oidcup_meta_release when done). */
typedef struct eh_oidcup_meta {
    unsigned refs;   /* under the cache's lock */
    int64_t fetched; /* monotonic clock, milliseconds */
    char *authorization_endpoint;
    char *token_endpoint;
    char *userinfo_endpoint; /* NULL when the provider has none */
    char *jwks_uri;
    int iss_parameter_supported; /* RFC 9207 */
} eh_oidcup_meta;

/* eh_oidcup_meta_get returns the provider's discovery snapshot, fetching it
 * when it is missing or older than discovery_ttl_seconds (a stale one is
 * kept when the fetch fails). Validates the document: issuer equal to the
 * configured one, the endpoints absolute https URLs (http on loopback).
 * EH_ERR_IO with why (for the log) when none is available. Blocks. */
eh_rc eh_oidcup_meta_get(const eh_oidcup *up, const eh_oidcup_provider *p, eh_oidcup_meta **out,
                         char *why, size_t whylen);
void eh_oidcup_meta_release(const eh_oidcup_provider *p, eh_oidcup_meta *m);

/* eh_oidcup_verify validates an ID token of provider p (as
 * eh_oidcup_id_token_verify) with its JWK Set from m's jwks_uri, fetched
 * when missing or stale; when no key fits the token's kid it fetches the
 * set once more, at most once per jwks_refresh_min_seconds (key rollover),
 * and tries again. Blocks. */
eh_rc eh_oidcup_verify(const eh_oidcup *up, const eh_oidcup_provider *p, const eh_oidcup_meta *m,
                       const char *token, const eh_oidcup_expect *x, json_t **claims, char *why,
                       size_t whylen);

/* eh_oidcup_cache_new / _free: a provider's empty cache. */
eh_rc eh_oidcup_cache_new(eh_oidcup_cache **out);
void eh_oidcup_cache_free(eh_oidcup_cache *c);

/* eh_oidcup_identity maps what provider p said (the ID token's claims and
 * userinfo's, which may be NULL and wins where both have a claim) into a
 * new identity (*out, caller frees): subject country and id claim (a
 * string), the claim_mapping's attributes (values of the wrong type are
 * left out, and logged by name), person_identifier, loa, method
 * "oidc_upstream" and auth_time (the ID token's, when plausible, else
 * now). EH_ERR_INVALID when the id claim is missing or unusable. */
eh_rc eh_oidcup_identity(const eh_oidcup_provider *p, const json_t *id_claims,
                         const json_t *userinfo, eh_loa loa, int64_t now, eh_identity **out);

/* Handlers (broker/dispatch.c), both blocking:
 *   GET /auth/oidc?provider=ID   start: state, nonce, PKCE; on to the provider
 *   GET /auth/oidc/callback      the provider's answer: on to the requester,
 *                                or a clear message */
eh_rc eh_oidcup_start_handle(struct eh_broker *b, const eh_http_request *req,
                             eh_http_response *resp);
eh_rc eh_oidcup_callback_handle(struct eh_broker *b, const eh_http_request *req,
                                eh_http_response *resp);

#endif
