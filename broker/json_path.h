/* eidhub: JSON paths for error messages ("$.relying_parties[1].policy").
 *
 * Configuration and policy validators name the exact place of a problem;
 * these helpers build those names without each validator formatting its
 * own. Paths are plain text in caller buffers, truncated if too long. */
#ifndef EH_JSON_PATH_H
#define EH_JSON_PATH_H

#include <stddef.h>

#define EH_JSON_PATH_MAX 256

/* eh_json_path_member writes parent + "." + member into out (outlen bytes),
 * or parent + "[\"member\"]" when member is not a plain identifier. parent
 * NULL means the root "$". */
void eh_json_path_member(char *out, size_t outlen, const char *parent, const char *member);

/* eh_json_path_index writes parent + "[" index "]" into out. */
void eh_json_path_index(char *out, size_t outlen, const char *parent, size_t index);

#endif
