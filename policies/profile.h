/* eidhub: named release profiles.
 *
 * A relying party's "policy" names one of these profiles: the allow-list of
 * internal attribute names it may receive. The full policy model (derived
 * attributes, minimum LoA, methods, consent, JSON policies edited by
 * administrators) replaces this table in its own step; until then these
 * built-in profiles are the policies. */
#ifndef EH_PROFILE_H
#define EH_PROFILE_H

#include <stddef.h>

typedef struct eh_profile {
    const char *name;
    const char *const *attributes; /* NULL-terminated internal names */
} eh_profile;

/* eh_profile_find returns the profile called name, or NULL. */
const eh_profile *eh_profile_find(const char *name);

/* eh_profile_allows tells whether profile p may release attribute name. */
int eh_profile_allows(const eh_profile *p, const char *name);

/* eh_profile_names writes the known names, comma-separated, into buf (for
 * error messages). */
void eh_profile_names(char *buf, size_t len);

#endif
