/* eidhub: the broker's JSON configuration.
 *
 * One file (named by nginx's `eidhub_config` directive) describes what the
 * broker is: its issuer URL, its signing keys, the relying parties it serves,
 * its backends and where its policies live. docs/configuration.md documents
 * every member. It is read once, in nginx's master, when the configuration
 * is loaded, so a mistake stops `nginx -t` with one line:
 *
 *     <file>: <JSON path>: <what is wrong>
 *
 * e.g. "/etc/eidhub/broker.json: $.relying_parties[1].redirect_uris[0]: must
 * be an absolute http(s) URL without a fragment". */
#ifndef EH_CONFIG_H
#define EH_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "broker/rc.h"

typedef enum eh_subject_type {
    EH_SUBJECT_PUBLIC = 0,
    EH_SUBJECT_PAIRWISE = 1,
} eh_subject_type;

typedef struct eh_config_key {
    char *file; /* absolute path (relative ones are resolved against the config's folder) */
    int active;
} eh_config_key;

/* How a relying party authenticates at the token endpoint
 * ("token_endpoint_auth_method"). */
typedef enum eh_client_auth {
    EH_CLIENT_AUTH_NONE = 0,        /* "none": a public client (PKCE required) */
    EH_CLIENT_AUTH_SECRET = 1,      /* a secret, with HTTP Basic or in the body (the default
                                     * when client_secret_sha256 is given) */
    EH_CLIENT_AUTH_SECRET_BASIC = 2, /* "client_secret_basic": a secret, HTTP Basic only */
    EH_CLIENT_AUTH_SECRET_POST = 3,  /* "client_secret_post": a secret, in the body only */
    EH_CLIENT_AUTH_PRIVATE_KEY_JWT = 4, /* "private_key_jwt": a JWT signed with one of jwks */
} eh_client_auth;

struct eh_jwks;

typedef struct eh_config_rp {
    char *client_id;
    char *client_secret_sha256; /* lowercase hex of SHA-256(secret); NULL for a public client */
    char **redirect_uris;
    size_t n_redirect_uris;
    char **post_logout_redirect_uris;
    size_t n_post_logout_redirect_uris;
    json_t *display_name; /* {"en": "...", "et": "..."}; a plain string becomes {"en": s} */
    char *policy;         /* name of the policy that governs it */
    eh_subject_type subject_type;
    char *backchannel_logout_uri; /* OIDC Back-Channel Logout, or NULL */
    int sp_private; /* "sp_type": "private" (eIDAS SPType sent for it; default public) */
    struct eh_protect_config *protect; /* "protect" (broker/frontends/protect.h), or NULL */
    eh_client_auth token_endpoint_auth; /* how it authenticates at /token */
    struct eh_jwks *jwks; /* its public keys ("jwks"), for private_key_jwt only; else NULL */
} eh_config_rp;

typedef struct eh_config {
    char *path;       /* the file it was read from */
    char *issuer;     /* no trailing slash */
    eh_config_key *keys;
    size_t n_keys;
    eh_config_rp *rps;
    size_t n_rps;
    char *policy_dir; /* absolute; NULL when not configured */
    char *subject_secret_file;     /* absolute; NULL when not configured */
    unsigned char *subject_secret; /* its bytes: the key of pairwise subjects */
    size_t subject_secret_len;
    unsigned sso_lifetime_s[4];    /* by eh_loa; 0: no single sign-on */
    unsigned retention_days;       /* how long "My eidhub" keeps a citizen's releases */
    int log_text;                  /* "log_format": "text"; default "json" */
    json_t *backends; /* the "backends" object, each backend validates its own member */
    json_t *root;     /* the whole document, for members later rooms read */
} eh_config;

/* eh_config_load reads and validates the JSON file at path. On success *out
 * is a new config (eh_config_free). On any problem returns EH_ERR_CONFIG (or
 * EH_ERR_NOMEM) and writes one line "<path>: <JSON path>: <problem>" into err
 * (errlen bytes, always NUL-terminated). Unknown members are errors, so a
 * typo is never silently ignored. */
eh_rc eh_config_load(const char *path, eh_config **out, char *err, size_t errlen);

/* eh_config_parse does the same for a JSON text already in memory; path is
 * used for the error line and to resolve relative file names. */
eh_rc eh_config_parse(const char *text, size_t len, const char *path, eh_config **out, char *err,
                      size_t errlen);

/* eh_config_rp_find returns the relying party with client_id, or NULL. */
const eh_config_rp *eh_config_rp_find(const eh_config *cfg, const char *client_id);

/* eh_config_free releases cfg (NULL is fine). */
void eh_config_free(eh_config *cfg);

#endif
