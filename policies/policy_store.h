/* eidhub: versioned attribute-release policies on disk.
 *
 * Every change an administrator makes is a new version, never an edit:
 *
 *     <policy_dir>/<name>/<version>.json
 *         {"document": {...}, "meta": {"version": 3, "by": "alice",
 *                                      "at": "2026-01-31T12:00:00Z", "why": "..."}}
 *
 * name is the requester the policy governs (a relying party's client_id);
 * versions count from 1. A version is claimed by creating its file
 * exclusively (a hard link of a complete, fsynced temporary file: link(2)
 * never replaces an existing file), so of two saves on top of the same
 * version, in two workers or on two nodes sharing policy_dir, exactly one
 * wins and the other is told EH_ERR_CONFLICT; and a reader never sees a
 * half-written version. Version 0 is no file: it is the built-in profile
 * the requester's registration names (the fallback).
 *
 * The current version of each name is cached per process and re-checked at
 * most once a second (a stat or two), so every nginx worker uses a new
 * version within about a second. All functions may be called from many
 * threads at once (one mutex guards the cache) and after fork. They block
 * on the filesystem: call them off the event loop. */
#ifndef EH_POLICY_STORE_H
#define EH_POLICY_STORE_H

#include <jansson.h>
#include <stddef.h>

#include "broker/rc.h"
#include "policies/policy.h"

#define EH_POLICY_NAME_MAX 128
#define EH_POLICY_VERSION_MAX 999999999
#define EH_POLICY_FILE_MAX (1024 * 1024) /* bytes in one version's file */

typedef struct eh_policy_store eh_policy_store;

/* eh_policy_store_open makes a store on the existing folder dir (absolute;
 * copied). EH_ERR_IO with one line in err when dir is not a folder. */
eh_rc eh_policy_store_open(const char *dir, eh_policy_store **out, char *err, size_t errlen);

/* eh_policy_store_free releases ps and its cache (NULL is fine). */
void eh_policy_store_free(eh_policy_store *ps);

/* eh_policy_name_valid tells whether name may name a policy: 1 to
 * EH_POLICY_NAME_MAX printable ASCII characters without spaces, without
 * '/' and not starting with '.', so that it can never leave the folder. */
int eh_policy_name_valid(const char *name);

/* eh_policy_store_current returns in *out (caller frees) the policy that
 * governs name now: its highest version, or the built-in profile called
 * fallback_profile (version 0) when it has none. Served from the cache,
 * which is refreshed when the name's folder changed and at most once a
 * second. EH_ERR_INVALID for a bad name; EH_ERR_NOT_FOUND when there is no
 * version and no such profile; a stored version that no longer validates
 * fails (EH_ERR_INVALID, logged) rather than falling back to anything. */
eh_rc eh_policy_store_current(eh_policy_store *ps, const char *name, const char *fallback_profile,
                              eh_policy **out);

/* eh_policy_store_current_version writes name's current version number
 * (0: none saved) into *version, as on disk now (it lists the folder, for
 * the admin API; the cache is updated on the way). */
eh_rc eh_policy_store_current_version(eh_policy_store *ps, const char *name, int *version);

/* eh_policy_store_version returns in *out (caller frees) saved version
 * `version` (1 and up) of name, read from disk. EH_ERR_NOT_FOUND when that
 * version does not exist (version 0 is no file: it is the profile the
 * registration names, eh_policy_profile); EH_ERR_INVALID (logged) when it
 * no longer validates. */
eh_rc eh_policy_store_version(eh_policy_store *ps, const char *name, int version, eh_policy **out);

/* eh_policy_store_read is eh_policy_store_version that also serves version
 * 0, as the built-in profile called fallback_profile, and, when meta is not
 * NULL, returns the version's meta object in *meta (caller owns: {"version",
 * "by", "at", "why"}; null by, at and why for version 0). */
eh_rc eh_policy_store_read(eh_policy_store *ps, const char *name, int version,
                           const char *fallback_profile, eh_policy **out, json_t **meta);

/* eh_policy_store_save validates document (eh_policy_from_json) and writes
 * it as version base_version + 1 of name, with meta by (the account), why
 * and the time now. On success *version is the new number. EH_ERR_INVALID
 * with "<JSON path>: <what>" in err for an invalid document (nothing is
 * written); EH_ERR_CONFLICT when base_version is not the current version
 * on disk or another save claimed the next version first; EH_ERR_IO when the
 * folder cannot be written. The cache of this process is updated. */
eh_rc eh_policy_store_save(eh_policy_store *ps, const char *name, int base_version,
                           const json_t *document, const char *by, const char *why, int *version,
                           char *err, size_t errlen);

/* eh_policy_store_history returns in *out (caller owns) the meta objects of
 * every saved version of name, newest first ([] when there is none). */
eh_rc eh_policy_store_history(eh_policy_store *ps, const char *name, json_t **out);

/* eh_policy_diff compares two effective policies (eh_policy_effective_json)
 * member by member and returns in *out (caller owns) an array of
 * {"member", "from", "to"}, sorted by member, for every member whose value
 * differs (a member absent on one side is null there). */
eh_rc eh_policy_diff(const json_t *from, const json_t *to, json_t **out);

#endif
