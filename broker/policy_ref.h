/* eidhub: which policy governs a login.
 *
 * A requester's policy is the current version in the policy store (see
 * policies/policy_store.h), or, when it has none or no policy_dir is
 * configured, the built-in profile its registration names (version 0). A
 * login records the name and version it started with, and finishes under
 * that same version whatever an administrator saves meanwhile. */
#ifndef EH_POLICY_REF_H
#define EH_POLICY_REF_H

#include "broker/rc.h"
#include "policies/policy.h"

struct eh_broker;

/* eh_policy_current_for returns the current policy of requester name, whose
 * registration names the profile fallback (caller frees). */
eh_rc eh_policy_current_for(struct eh_broker *b, const char *name, const char *fallback,
                            eh_policy **out);

/* eh_policy_version_for returns version of requester name's policy (0: the
 * profile fallback). */
eh_rc eh_policy_version_for(struct eh_broker *b, const char *name, const char *fallback,
                            int version, eh_policy **out);

#endif
