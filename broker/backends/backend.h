/* eidhub: the registry of identity backends.
 *
 * Each backend (Mobile-ID, Smart-ID, national OIDC eID providers,
 * eIDAS) is one line in broker/backends/backend.c: its name (the member of
 * the configuration's "backends" object), the catalog key of its label on
 * the method-choice page, its OIDC amr value, the highest level of
 * assurance it delivers, the path where a citizen starts it, and how its
 * settings are loaded. A backend is offered only when configured. Backends
 * hand their result to broker/flow.h and know no frontend. */
#ifndef EH_BACKEND_H
#define EH_BACKEND_H

#include <jansson.h>
#include <stddef.h>

#include "broker/authn.h"
#include "broker/rc.h"

struct eh_broker;

/* One of several ways a single backend offers on the method-choice page
 * (e.g. one per national eID provider it is configured for). */
typedef struct eh_backend_choice {
    const char *id;       /* [a-z0-9-]; the page's link has id "method-<backend>-<id>" */
    const char *href;     /* root-relative link that starts it: "/auth/oidc?provider=fr" */
    const char *label_en; /* its label (plain text) */
    const char *label_et; /* NULL: label_en */
    const char *country;  /* ISO 3166-1 alpha-2 of the identities it gives, or NULL */
    unsigned loas;        /* bit (1u << level) for each eh_loa it can authenticate at */
} eh_backend_choice;

typedef struct eh_backend_def {
    const char *name;       /* "mobile_id" */
    const char *label_key;  /* i18n key of its label */
    const char *amr;        /* "mID" */
    const char *scope;      /* OIDC scope that asks for this method only, e.g. "mid" */
    eh_loa loa;             /* the level it authenticates at */
    const char *start_path; /* where the method-choice page sends the citizen */
    /* load validates settings (the JSON member at path in file) and returns
     * the backend's state; errors are one line "<file>: <path>...: <what>". */
    eh_rc (*load)(const json_t *settings, const char *file, const char *path, void **state,
                  char *err, size_t errlen);
    void (*free)(void *state);
    /* choices (may be NULL) returns the several choices the loaded state
     * offers (borrowed from it, *n of them), each offered on its own; without
     * it the backend is one choice (label_key, start_path, loa). */
    const eh_backend_choice *(*choices)(const void *state, size_t *n);
    /* loa_of (may be NULL) returns the level the loaded state authenticates
     * at, for a backend whose settings decide it (Smart-ID's
     * certificate_level); loa is then the highest it may be. */
    eh_loa (*loa_of)(const void *state);
    /* logout (may be NULL) is told that an SSO session whose identity this
     * backend established has ended, with the "upstream" object the backend
     * left in the transaction's flow at login (broker/flow.h; borrowed), so
     * it can end the session upstream too (the eIDAS Connector's SAML
     * logout). Blocking, bounded: it runs in the logout's thread-pool task. */
    void (*logout)(struct eh_broker *b, const json_t *upstream);
} eh_backend_def;

#define EH_BACKEND_MAX 8

/* eh_backends returns the registry (static) and its length in *n. */
const eh_backend_def *eh_backends(size_t *n);

/* eh_backend_find returns the backend called name, or NULL; eh_backend_index
 * its position in the registry (-1 when unknown). */
const eh_backend_def *eh_backend_find(const char *name);
int eh_backend_index(const char *name);

/* eh_backend_loa returns the level backend d authenticates at with its
 * loaded state (d->loa_of's answer, else d->loa). */
eh_loa eh_backend_loa(const eh_backend_def *d, const void *state);

#endif
