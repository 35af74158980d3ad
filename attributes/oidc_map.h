/* eidhub: how OpenID Connect names attributes.
 *
 * The one mapping between OIDC scopes/claims and internal attribute names,
 * used by the OIDC frontend for real logins and by the admin API's preview,
 * so the preview always shows what a login would release. */
#ifndef EH_OIDC_MAP_H
#define EH_OIDC_MAP_H

#include <jansson.h>

#include "broker/authn.h"
#include "broker/config.h"
#include "broker/rc.h"

/* eh_oidc_scope_has tells whether the space-separated scope holds word. */
int eh_oidc_scope_has(const char *scope, const char *word);

/* eh_oidc_requested_attributes appends to the array out the internal names
 * a scope asks for: "profile" the natural person's given and family name,
 * birth date and gender; a registry claim's name (e.g. "birthdate") that
 * attribute; a derived attribute's name (age_over_18, age_band, ...) that
 * attribute. Other scopes ask for no attribute. */
eh_rc eh_oidc_requested_attributes(const char *scope, json_t *out);

/* eh_oidc_claims_of returns (caller owns) the claims of released
 * attributes: registry attributes under their claim name (gender in OIDC's
 * lower case), derived ones under their own name. */
json_t *eh_oidc_claims_of(const eh_identity *released);

/* eh_oidc_subject_type is the subject type a relying party gets: public
 * only when both its registration and its policy say public. */
eh_subject_type eh_oidc_subject_type(eh_subject_type registered, eh_subject_type policy);

#endif
