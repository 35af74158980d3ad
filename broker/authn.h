/* eidhub: the one internal type that crosses the broker.
 *
 * Going right, from a frontend (oidc_op, eidas_proxy) to a backend
 * (mobile_id, smart_id, eidas_connector, oidc_upstream): an eh_authn_request
 * says who asks, for what, at which level of assurance, with which hints.
 * Coming back: an eh_identity says who the citizen is, how sure we are and
 * what we know of them, by internal attribute name (attributes/registry.h).
 * No frontend knows a backend and the other way round: this is all they
 * share. Both serialise to JSON so a transaction can wait in the store. */
#ifndef EH_AUTHN_H
#define EH_AUTHN_H

#include <jansson.h>
#include <stdint.h>

#include "broker/rc.h"

/* Levels of assurance, ordered: a higher value is stronger. */
typedef enum eh_loa {
    EH_LOA_NONE = 0,
    EH_LOA_LOW = 1,
    EH_LOA_SUBSTANTIAL = 2,
    EH_LOA_HIGH = 3,
} eh_loa;

typedef enum eh_loa_comparison {
    EH_LOA_MINIMUM = 0, /* at least min_loa (notified schemes) */
    EH_LOA_EXACT = 1,   /* exactly min_loa (non-notified schemes) */
} eh_loa_comparison;

/* eh_loa_parse accepts "low", "substantial", "high" and the eIDAS URIs
 * http://eidas.europa.eu/LoA/{low,substantial,high}; *non_notified (may be
 * NULL) is set for http://eidas.europa.eu/NonNotified/LoA/... URIs, which
 * are accepted too. Anything else is EH_LOA_NONE. */
eh_loa eh_loa_parse(const char *text, int *non_notified);

/* eh_loa_name: "low", "substantial", "high" ("none" for EH_LOA_NONE).
 * eh_loa_uri: the eIDAS URI of a level (NULL for EH_LOA_NONE). */
const char *eh_loa_name(eh_loa loa);
const char *eh_loa_uri(eh_loa loa);

/* eh_loa_satisfies tells whether an authentication at level got satisfies a
 * request for want under comparison cmp. */
int eh_loa_satisfies(eh_loa got, eh_loa want, eh_loa_comparison cmp);

typedef struct eh_authn_request {
    char *requester;        /* client_id, or a Connector's entity id */
    char *protocol;         /* "oidc" or "eidas" */
    json_t *requested;      /* array of internal attribute names asked for */
    eh_loa min_loa;         /* EH_LOA_NONE: whatever the policy requires */
    eh_loa_comparison comparison;
    char *method_hint;      /* backend name, or NULL */
    char *country_hint;     /* ISO 3166-1 alpha-2, or NULL */
    char *login_hint;       /* as given by the requester, or NULL */
    char *locale;           /* "et", "en", ... */
    int force_authn;        /* a new authentication is required */
} eh_authn_request;

typedef struct eh_identity {
    char *country;      /* ISO 3166-1 alpha-2 of the identifier's issuer, e.g. "EE" */
    char *id_type;      /* "PNO" (national personal number), "eIDAS", "OIDC" ... */
    char *id_value;     /* the identifier itself: personal data, never logged */
    eh_loa loa;
    char *method;       /* backend that authenticated: "mobile_id", ... */
    int64_t auth_time;  /* seconds since the epoch */
    json_t *attributes; /* object: internal attribute name -> value */
} eh_identity;

/* eh_authn_request_new returns a zeroed request with an empty requested
 * array (caller owns, eh_authn_request_free). */
eh_rc eh_authn_request_new(eh_authn_request **out);
void eh_authn_request_free(eh_authn_request *req);

/* eh_authn_request_to_json / _from_json convert to and from a JSON object
 * (caller owns the result). to_json leaves out min_loa, comparison and
 * force_authn at their defaults (none, minimum, false), which from_json
 * takes for missing members. from_json checks every member's type and
 * refuses unknown members (EH_ERR_INVALID). */
eh_rc eh_authn_request_to_json(const eh_authn_request *req, json_t **out);
eh_rc eh_authn_request_from_json(const json_t *json, eh_authn_request **out);

/* eh_identity_new returns an empty identity with an empty attributes object
 * (caller owns, eh_identity_free, which wipes the identifier). */
eh_rc eh_identity_new(eh_identity **out);
void eh_identity_free(eh_identity *id);

/* eh_identity_subject_get writes the identity's subject as country + id
 * type-less value, TARA style ("EE38001085718"), into buf. */
eh_rc eh_identity_subject(const eh_identity *id, char *buf, size_t len);

/* eh_identity_to_json / _from_json as for the request. */
eh_rc eh_identity_to_json(const eh_identity *id, json_t **out);
eh_rc eh_identity_from_json(const json_t *json, eh_identity **out);

#endif
