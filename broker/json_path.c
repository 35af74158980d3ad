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

/* printable copies member into buf with every byte outside printable ASCII,
 * and '"' and '\\', replaced by '?', so an error line stays one printable
 * line whatever a hostile document's member names hold. */
static const char *printable(const char *member, char *buf, size_t len)
{
    size_t i = 0;
    for (; member[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)member[i];
        buf[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

void eh_json_path_member(char *out, size_t outlen, const char *parent, const char *member)
{
    char safe[EH_JSON_PATH_MAX];
    if (plain_identifier(member))
        snprintf(out, outlen, "%s.%s", parent ? parent : "$", member);
    else
        snprintf(out, outlen, "%s[\"%s\"]", parent ? parent : "$",
                 printable(member, safe, sizeof(safe)));
}

void eh_json_path_index(char *out, size_t outlen, const char *parent, size_t index)
{
    snprintf(out, outlen, "%s[%zu]", parent ? parent : "$", index);
}
