#include "broker/json_path.h"

#include <ctype.h>
#include <stdio.h>

/* plain_identifier tells whether s can follow a dot in a path unquoted. */
static int plain_identifier(const char *s)
{
    if (*s == '\0' || isdigit((unsigned char)*s))
        return 0;
    for (; *s; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return 0;
    }
    return 1;
}

void eh_json_path_member(char *out, size_t outlen, const char *parent, const char *member)
{
    if (plain_identifier(member))
        snprintf(out, outlen, "%s.%s", parent ? parent : "$", member);
    else
        snprintf(out, outlen, "%s[\"%s\"]", parent ? parent : "$", member);
}

void eh_json_path_index(char *out, size_t outlen, const char *parent, size_t index)
{
    snprintf(out, outlen, "%s[%zu]", parent ? parent : "$", index);
}
