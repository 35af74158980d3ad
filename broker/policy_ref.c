#include "broker/policy_ref.h"

#include "broker/broker.h"
#include "policies/policy_store.h"

eh_rc eh_policy_current_for(eh_broker *b, const char *name, const char *fallback,
                            eh_policy **out)
{
    eh_policy_store *ps = eh_broker_policies_get(b);
    if (ps == NULL)
        return eh_policy_profile(fallback, out);
    return eh_policy_store_current(ps, name, fallback, out);
}

eh_rc eh_policy_version_for(eh_broker *b, const char *name, const char *fallback, int version,
                            eh_policy **out)
{
    eh_policy_store *ps = eh_broker_policies_get(b);
    if (version == 0 || ps == NULL)
        return eh_policy_profile(fallback, out);
    return eh_policy_store_version(ps, name, version, out);
}
