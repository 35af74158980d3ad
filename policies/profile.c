#include "policies/profile.h"

#include <stdio.h>
#include <string.h>

static const char *const age_only[] = {NULL};
static const char *const basic[] = {"given_name", "family_name", NULL};
static const char *const full[] = {"person_identifier", "given_name", "family_name",
                                   "date_of_birth",     "gender",     "birth_name",
                                   "place_of_birth",    "current_address", NULL};

static const eh_profile profiles[] = {
    {"age-only", age_only},
    {"basic", basic},
    {"full", full},
};

const eh_profile *eh_profile_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        if (strcmp(profiles[i].name, name) == 0)
            return &profiles[i];
    }
    return NULL;
}

int eh_profile_allows(const eh_profile *p, const char *name)
{
    for (size_t i = 0; p->attributes[i] != NULL; i++) {
        if (strcmp(p->attributes[i], name) == 0)
            return 1;
    }
    return 0;
}

void eh_profile_names(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]) && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", profiles[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
