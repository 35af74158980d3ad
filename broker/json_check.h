/* eidhub: validating JSON configuration, member by member.
 *
 * The broker's configuration and each backend's settings are checked with
 * these helpers, so every error is the same one line:
 * "<file>: <JSON path>: <what is wrong>". */
#ifndef EH_JSON_CHECK_H
#define EH_JSON_CHECK_H

#include <jansson.h>
#include <stddef.h>

#include "broker/rc.h"

/* A validation in progress: the file's name and where the one error line
 * goes (errlen bytes). */
typedef struct eh_check {
    const char *file;
    char *err;
    size_t errlen;
} eh_check;

/* eh_check_fail writes "<file>: <path>: <message>" and returns
 * EH_ERR_CONFIG. */
eh_rc eh_check_fail(eh_check *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* eh_check_members refuses any member of obj not named in allowed
 * (NULL-terminated), so a misspelt option is an error, never ignored. */
eh_rc eh_check_members(eh_check *v, const json_t *obj, const char *path, const char *const *allowed);

/* eh_check_string reads member name of obj (at path) as a new non-empty
 * string in *out (caller frees). Missing: an error when required, else
 * *out stays NULL. */
eh_rc eh_check_string(eh_check *v, const json_t *obj, const char *path, const char *name,
                      int required, char **out);

/* eh_check_url refuses anything but an absolute https URL (http for
 * loopback hosts) with a host, without user info or fragment (and without
 * query when no_query), parsed by libcurl's URL API. */
eh_rc eh_check_url(eh_check *v, const char *path, const char *url, int no_query);

/* eh_check_url_array reads member name (an array of URLs) into a new
 * NULL-terminated vector (*out, *n entries; caller frees each and it). */
eh_rc eh_check_url_array(eh_check *v, const json_t *obj, const char *path, const char *name,
                         int required, char ***out, size_t *n);

/* eh_check_uint reads an optional unsigned integer member within [min, max]
 * into *out (left unchanged when absent). */
eh_rc eh_check_uint(eh_check *v, const json_t *obj, const char *path, const char *name,
                    unsigned min, unsigned max, unsigned *out);

/* eh_check_resolve makes file absolute against the folder of the
 * configuration file config_path (new string, caller frees). */
eh_rc eh_check_resolve(const char *config_path, const char *file, char **out);

#endif
