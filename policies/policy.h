/* eidhub: attribute-release policies.
 *
 * A policy says what one requester (a portal, later an eIDAS Connector) may
 * learn about a citizen and how the citizen must have logged in. It is a
 * JSON document, validated against the schema in docs/policies.md:
 *
 *   {
 *     "profile": "basic",              start from a named profile (optional)
 *     "release": ["given_name", "age_over_18"],
 *                                      attributes it may receive when it asks
 *     "release_always": ["age_over_18"],
 *                                      released without being asked (must be in release)
 *     "min_loa": "substantial",        none | low | substantial | high
 *     "methods": ["mobile_id"],        allowed backends ([] or absent: all)
 *     "countries": ["EE"],             allowed identity countries ([] or absent: all)
 *     "subject_type": "pairwise",      pairwise | public
 *     "sector": "youth-services",      pairwise sector shared by several requesters
 *                                      (optional; null: the requester itself)
 *     "consent": true                  show the citizen what is released, first
 *   }
 *
 * Attribute names are the registry's (attributes/registry.h) or derived
 * ones computed in the broker and released instead of their source:
 * age_over_N (1 <= N <= 150, from the date of birth at the time of the
 * login), age_band ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64",
 * "65+"), country (the identity's country) and is_resident_of_XX (XX an
 * ISO 3166-1 alpha-2 code; true when the identity's country is XX).
 *
 * Named profiles are built in: "age-only" (age_over_18, released always),
 * "basic" (given_name, family_name), "full" (every natural-person attribute,
 * public subject). A document's members override its profile's. */
#ifndef EH_POLICY_H
#define EH_POLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/authn.h"
#include "broker/config.h"
#include "broker/rc.h"

typedef struct eh_policy {
    char *name;       /* what it governs: a requester's id, or a profile's name */
    int version;      /* 0 for a built-in profile */
    json_t *release;  /* array of attribute names, resolved (profile merged) */
    json_t *release_always;
    eh_loa min_loa;   /* EH_LOA_NONE: no minimum */
    json_t *methods;  /* array of backend names; empty: all */
    json_t *countries; /* array of ISO codes; empty: all */
    eh_subject_type subject_type;
    char *sector;     /* NULL: the requester itself is the sector */
    int consent;
    json_t *doc;      /* the document as written */
} eh_policy;

/* eh_policy_from_json validates doc against the schema and resolves its
 * profile into a new policy (caller frees) named name at version. Any
 * problem: EH_ERR_INVALID and one line "<JSON path>: <what is wrong>" in
 * err, naming the field: an unknown member, an unknown attribute, a
 * release_always entry not in release, the real identifier
 * (person_identifier) released where the subject is pairwise, ... */
eh_rc eh_policy_from_json(const char *name, int version, const json_t *doc, eh_policy **out,
                          char *err, size_t errlen);

/* eh_policy_profile returns a new policy for the built-in profile called
 * profile (version 0), or EH_ERR_NOT_FOUND. */
eh_rc eh_policy_profile(const char *profile, eh_policy **out);

/* eh_policy_profile_names returns the built-in profiles' names, NULL-ended. */
const char *const *eh_policy_profile_names(void);

/* eh_policy_effective_json returns the resolved policy as a JSON object
 * (every member but "profile" present, sector null when unset; caller
 * owns), for previews and the admin API. It is itself a valid document
 * that resolves to the same policy. */
eh_rc eh_policy_effective_json(const eh_policy *p, json_t **out);

/* eh_policy_attribute_valid tells whether name is a registry attribute or a
 * well-formed derived one. */
int eh_policy_attribute_valid(const char *name);

/* eh_policy_allows_method / _country / _loa: the request-side checks
 * (before a citizen is sent to a backend), made again by eh_policy_evaluate
 * on the identity that comes back. A method or country is allowed when the
 * policy's list is empty or names it (exactly, case-sensitive); NULL is
 * never allowed. A level is allowed when it is at least min_loa (and not
 * EH_LOA_NONE, which no authentication satisfies). */
int eh_policy_allows_method(const eh_policy *p, const char *backend);
int eh_policy_allows_country(const eh_policy *p, const char *country);
int eh_policy_allows_loa(const eh_policy *p, eh_loa loa);

/* eh_policy_evaluate is the release step of the response chain: from the
 * identity in, for the request req, it returns (caller frees) a minimised
 * identity whose attributes are exactly those of
 *   (req->requested intersected with release) united with release_always
 * that can be given: registry attributes copied when in has them, derived
 * ones computed at now (seconds since the epoch) from in's attributes
 * (date_of_birth) and subject (country) and never their sources unless those
 * are released themselves. The subject, LoA, method and time are kept for
 * the frontend. Nothing else ever leaves. An identity whose LoA, method or
 * country the policy does not allow (eh_policy_allows_*) is refused with
 * EH_ERR_INVALID and nothing is returned. */
eh_rc eh_policy_evaluate(const eh_policy *p, const eh_authn_request *req, const eh_identity *in,
                         int64_t now, eh_identity **out);

/* eh_policy_free releases p (NULL is fine). */
void eh_policy_free(eh_policy *p);

#endif
