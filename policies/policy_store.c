#include "policies/policy_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/random.h"

#define CACHE_MAX 1024                 /* names cached; more are read uncached */
#define CHECK_INTERVAL_NS 1000000000LL /* a name's folder is looked at once a second */
#define PATH_MAX_LEN 4096

/* What this process knows of one name's current version. */
typedef struct cached {
    char *name;
    int version;           /* highest version on disk at the last check; 0: none */
    json_t *document;      /* its document; NULL for version 0 or when broken */
    int broken;            /* that version's file could not be read or parsed */
    struct timespec mtime; /* of the name's folder at the last check */
    int64_t checked_ns;    /* monotonic time of the last check; 0: never */
} cached;

struct eh_policy_store {
    char *dir;
    pthread_mutex_t lock; /* guards cache and n_cache */
    cached *cache;
    size_t n_cache;
};

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int eh_policy_name_valid(const char *name)
{
    size_t n;

    if (name == NULL || name[0] == '.')
        return 0;
    n = strlen(name);
    if (n == 0 || n > EH_POLICY_NAME_MAX)
        return 0;
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '/')
            return 0;
    }
    return 1;
}

/* name_dir writes "<dir>/<name>" into buf. */
static eh_rc name_dir(const eh_policy_store *ps, const char *name, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s", ps->dir, name);
    return n < 0 || (size_t)n >= len ? EH_ERR_TOO_LARGE : EH_OK;
}

/* version_file writes "<dir>/<name>/<version>.json" into buf. */
static eh_rc version_file(const eh_policy_store *ps, const char *name, int version, char *buf,
                          size_t len)
{
    int n = snprintf(buf, len, "%s/%s/%d.json", ps->dir, name, version);
    return n < 0 || (size_t)n >= len ? EH_ERR_TOO_LARGE : EH_OK;
}

/* parse_version reads a version file's name ("17.json": no sign, no leading
 * zero, at most EH_POLICY_VERSION_MAX); returns it, or 0 for anything else. */
static int parse_version(const char *file)
{
    long v = 0;
    const char *p = file;

    if (*p < '1' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (*p - '0');
        if (v > EH_POLICY_VERSION_MAX)
            return 0;
    }
    return strcmp(p, ".json") == 0 ? (int)v : 0;
}

/* scan looks at name's folder: its mtime (zero when it does not exist), its
 * highest version (0: none) and, when versions is not NULL, every version
 * (a new array, caller frees, *n entries, in no order). */
static eh_rc scan(const eh_policy_store *ps, const char *name, struct timespec *mtime, int *highest,
                  int **versions, size_t *n)
{
    char path[PATH_MAX_LEN];
    struct stat st;
    struct dirent *de;
    DIR *d = NULL;
    int *vs = NULL;
    size_t count = 0, cap = 0;
    eh_rc rc = name_dir(ps, name, path, sizeof(path));

    *highest = 0;
    memset(mtime, 0, sizeof(*mtime));
    if (versions != NULL) {
        *versions = NULL;
        *n = 0;
    }
    if (rc != EH_OK)
        return rc;
    if (stat(path, &st) != 0) {
        rc = errno == ENOENT ? EH_OK : EH_ERR_IO;
        goto cleanup;
    }
    *mtime = st.st_mtim;
    d = opendir(path);
    if (d == NULL) {
        rc = errno == ENOENT ? EH_OK : EH_ERR_IO;
        goto cleanup;
    }
    while ((de = readdir(d)) != NULL) {
        int v = parse_version(de->d_name);
        if (v == 0)
            continue;
        if (v > *highest)
            *highest = v;
        if (versions == NULL)
            continue;
        if (count == cap) {
            int *bigger = realloc(vs, (cap ? cap * 2 : 16) * sizeof(*vs));
            if (bigger == NULL) {
                rc = EH_ERR_NOMEM;
                goto cleanup;
            }
            vs = bigger;
            cap = cap ? cap * 2 : 16;
        }
        vs[count++] = v;
    }
    if (versions != NULL) {
        *versions = vs;
        *n = count;
        vs = NULL;
    }
cleanup:
    if (rc == EH_ERR_IO)
        eh_log(EH_LOG_ERROR, "policies: cannot read %s: %s", path, strerror(errno));
    if (d != NULL)
        closedir(d);
    free(vs);
    return rc;
}

/* read_record loads version `version` of name: {"document": {...},
 * "meta": {"version": version, ...}} (caller owns *out). EH_ERR_NOT_FOUND
 * when the file does not exist, EH_ERR_INVALID when it is not such a record. */
static eh_rc read_record(const eh_policy_store *ps, const char *name, int version, json_t **out)
{
    char path[PATH_MAX_LEN];
    json_error_t jerr;
    struct stat st;
    json_t *record = NULL, *meta;
    FILE *f = NULL;
    eh_rc rc = version_file(ps, name, version, path, sizeof(path));

    *out = NULL;
    if (rc != EH_OK)
        return rc;
    f = fopen(path, "rbe");
    if (f == NULL) {
        rc = errno == ENOENT ? EH_ERR_NOT_FOUND : EH_ERR_IO;
        if (rc == EH_ERR_IO)
            eh_log(EH_LOG_ERROR, "policies: cannot open %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size > EH_POLICY_FILE_MAX) {
        rc = EH_ERR_INVALID;
        eh_log(EH_LOG_ERROR, "policies: %s is larger than %d bytes", path, EH_POLICY_FILE_MAX);
        goto cleanup;
    }
    record = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    meta = json_object_get(record, "meta");
    rc = EH_ERR_INVALID;
    if (record == NULL || !json_is_object(json_object_get(record, "document")) ||
        !json_is_object(meta) || json_integer_value(json_object_get(meta, "version")) != version) {
        eh_log(EH_LOG_ERROR, "policies: %s is not a policy version: %s", path,
               record == NULL ? jerr.text : "document or meta.version missing or wrong");
        goto cleanup;
    }
    *out = record;
    record = NULL;
    rc = EH_OK;
cleanup:
    if (f != NULL)
        fclose(f);
    json_decref(record);
    return rc;
}

eh_rc eh_policy_store_open(const char *dir, eh_policy_store **out, char *err, size_t errlen)
{
    struct stat st;
    eh_policy_store *ps = NULL;
    eh_rc rc = EH_ERR_IO;

    if (stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        goto cleanup;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a folder", dir);
        goto cleanup;
    }
    rc = EH_ERR_NOMEM;
    ps = calloc(1, sizeof(*ps));
    if (ps == NULL || (ps->dir = strdup(dir)) == NULL)
        goto cleanup;
    if (pthread_mutex_init(&ps->lock, NULL) != 0)
        goto cleanup;
    *out = ps;
    ps = NULL;
    rc = EH_OK;
cleanup:
    if (ps != NULL)
        free(ps->dir);
    free(ps);
    return rc;
}

static void cached_clear(cached *c)
{
    free(c->name);
    json_decref(c->document);
    memset(c, 0, sizeof(*c));
}

void eh_policy_store_free(eh_policy_store *ps)
{
    if (ps == NULL)
        return;
    for (size_t i = 0; i < ps->n_cache; i++)
        cached_clear(&ps->cache[i]);
    free(ps->cache);
    pthread_mutex_destroy(&ps->lock);
    free(ps->dir);
    free(ps);
}

/* entry_locked returns name's cache entry, adding it when there is room;
 * when there is none (or no memory) it prepares *spare instead, which the
 * caller clears. Called with the lock held. NULL only without memory. */
static cached *entry_locked(eh_policy_store *ps, const char *name, cached *spare)
{
    cached *c;

    for (size_t i = 0; i < ps->n_cache; i++) {
        if (strcmp(ps->cache[i].name, name) == 0)
            return &ps->cache[i];
    }
    c = spare;
    if (ps->n_cache < CACHE_MAX) {
        cached *bigger = realloc(ps->cache, (ps->n_cache + 1) * sizeof(*ps->cache));
        if (bigger != NULL) {
            ps->cache = bigger;
            c = &ps->cache[ps->n_cache];
        }
    }
    memset(c, 0, sizeof(*c));
    c->name = strdup(name);
    if (c->name == NULL)
        return NULL;
    if (c != spare)
        ps->n_cache++;
    return c;
}

/* refresh_locked brings c up to date with the disk when force is set or its
 * last check is a second old: a stat of the folder and of the next version's
 * file tell whether anything changed; only then is the folder listed and the
 * new highest version read. Called with the lock held. */
static eh_rc refresh_locked(eh_policy_store *ps, cached *c, int force)
{
    int64_t now = monotonic_ns();
    char path[PATH_MAX_LEN];
    struct timespec mtime;
    struct stat st;
    json_t *record = NULL;
    int highest = 0;
    eh_rc rc = EH_OK;

    if (!force && c->checked_ns != 0 && now - c->checked_ns < CHECK_INTERVAL_NS)
        return EH_OK;
    if (!force && c->checked_ns != 0 && !c->broken &&
        name_dir(ps, c->name, path, sizeof(path)) == EH_OK) {
        int same = stat(path, &st) == 0 ? st.st_mtim.tv_sec == c->mtime.tv_sec &&
                                              st.st_mtim.tv_nsec == c->mtime.tv_nsec
                                        : errno == ENOENT && c->version == 0;
        if (same && version_file(ps, c->name, c->version + 1, path, sizeof(path)) == EH_OK &&
            stat(path, &st) != 0 && errno == ENOENT) {
            c->checked_ns = now;
            return EH_OK;
        }
    }
    if ((rc = scan(ps, c->name, &mtime, &highest, NULL, NULL)) != EH_OK)
        goto cleanup;
    if (highest != c->version || c->broken || (highest > 0 && c->document == NULL)) {
        json_decref(c->document);
        c->document = NULL;
        c->broken = 0;
        if (highest > 0) {
            if (read_record(ps, c->name, highest, &record) == EH_OK)
                c->document = json_incref(json_object_get(record, "document"));
            else
                c->broken = 1;
        }
    }
    c->version = highest;
    c->mtime = mtime;
    c->checked_ns = now;
cleanup:
    json_decref(record);
    return rc;
}

/* current_doc refreshes name's entry (reading the disk now when force is
 * set) and copies out its version, a deep copy of its document (NULL for
 * version 0) and whether it is broken. */
static eh_rc current_doc(eh_policy_store *ps, const char *name, int force, int *version,
                         json_t **doc, int *broken)
{
    cached spare, *c;
    eh_rc rc = EH_ERR_NOMEM;

    memset(&spare, 0, sizeof(spare));
    *doc = NULL;
    pthread_mutex_lock(&ps->lock);
    c = entry_locked(ps, name, &spare);
    if (c == NULL)
        goto cleanup;
    if ((rc = refresh_locked(ps, c, force)) != EH_OK)
        goto cleanup;
    *version = c->version;
    *broken = c->broken;
    if (c->document != NULL && (*doc = json_deep_copy(c->document)) == NULL)
        rc = EH_ERR_NOMEM;
cleanup:
    pthread_mutex_unlock(&ps->lock);
    cached_clear(&spare);
    return rc;
}

eh_rc eh_policy_store_current_version(eh_policy_store *ps, const char *name, int *version)
{
    json_t *doc = NULL;
    int broken = 0;
    eh_rc rc;

    if (!eh_policy_name_valid(name))
        return EH_ERR_INVALID;
    rc = current_doc(ps, name, 1, version, &doc, &broken);
    json_decref(doc);
    return rc;
}

eh_rc eh_policy_store_current(eh_policy_store *ps, const char *name, const char *fallback_profile,
                              eh_policy **out)
{
    char err[512];
    json_t *doc = NULL;
    int version = 0, broken = 0;
    eh_rc rc;

    *out = NULL;
    if (!eh_policy_name_valid(name))
        return EH_ERR_INVALID;
    if ((rc = current_doc(ps, name, 0, &version, &doc, &broken)) != EH_OK)
        goto cleanup;
    if (broken) {
        rc = EH_ERR_INVALID;
    } else if (version == 0) {
        rc = fallback_profile ? eh_policy_profile(fallback_profile, out) : EH_ERR_NOT_FOUND;
    } else {
        rc = eh_policy_from_json(name, version, doc, out, err, sizeof(err));
        if (rc == EH_ERR_INVALID)
            eh_log(EH_LOG_ERROR, "policies: %s version %d no longer validates: %s", name, version,
                   err);
    }
cleanup:
    json_decref(doc);
    return rc;
}

eh_rc eh_policy_store_version(eh_policy_store *ps, const char *name, int version, eh_policy **out)
{
    return eh_policy_store_read(ps, name, version, NULL, out, NULL);
}

eh_rc eh_policy_store_read(eh_policy_store *ps, const char *name, int version,
                           const char *fallback_profile, eh_policy **out, json_t **meta)
{
    char err[512];
    json_t *record = NULL;
    eh_rc rc;

    *out = NULL;
    if (meta != NULL)
        *meta = NULL;
    if (!eh_policy_name_valid(name))
        return EH_ERR_INVALID;
    if (version < 0 || version > EH_POLICY_VERSION_MAX)
        return EH_ERR_NOT_FOUND;
    if (version == 0) {
        rc = fallback_profile ? eh_policy_profile(fallback_profile, out) : EH_ERR_NOT_FOUND;
        if (rc == EH_OK && meta != NULL &&
            (*meta = json_pack("{s:i, s:n, s:n, s:n}", "version", 0, "by", "at", "why")) == NULL)
            rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    if ((rc = read_record(ps, name, version, &record)) != EH_OK)
        goto cleanup;
    rc = eh_policy_from_json(name, version, json_object_get(record, "document"), out, err,
                             sizeof(err));
    if (rc == EH_ERR_INVALID)
        eh_log(EH_LOG_ERROR, "policies: %s version %d no longer validates: %s", name, version, err);
    if (rc == EH_OK && meta != NULL)
        *meta = json_incref(json_object_get(record, "meta"));
cleanup:
    if (rc != EH_OK) {
        eh_policy_free(*out);
        *out = NULL;
    }
    json_decref(record);
    return rc;
}

/* fsync_path flushes a folder's entries (or a file) to disk. */
static eh_rc fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    eh_rc rc = EH_OK;

    if (fd < 0)
        return EH_ERR_IO;
    if (fsync(fd) != 0)
        rc = EH_ERR_IO;
    close(fd);
    return rc;
}

/* write_all writes len bytes of text to fd. */
static eh_rc write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return EH_ERR_IO;
        text += n;
        len -= (size_t)n;
    }
    return EH_OK;
}

/* now_iso writes the current UTC time as "2026-01-31T12:00:00Z". */
static void now_iso(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* claim writes text to a temporary file in folder, fsyncs it and links it
 * to final, which must not exist (link(2) never replaces): EH_ERR_CONFLICT
 * when it does. The temporary name is removed in any case. */
static eh_rc claim(const char *folder, const char *final, const char *text)
{
    char tmp[PATH_MAX_LEN], *token = NULL;
    int fd = -1, made = 0;
    eh_rc rc = eh_random_token(&token);

    if (rc != EH_OK)
        return rc;
    if (snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", folder, token) >= (int)sizeof(tmp)) {
        rc = EH_ERR_TOO_LARGE;
        goto cleanup;
    }
    rc = EH_ERR_IO;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        goto cleanup;
    made = 1;
    if (write_all(fd, text, strlen(text)) != EH_OK || fsync(fd) != 0)
        goto cleanup;
    if (close(fd) != 0) {
        fd = -1;
        goto cleanup;
    }
    fd = -1;
    if (link(tmp, final) != 0) {
        rc = errno == EEXIST ? EH_ERR_CONFLICT : EH_ERR_IO;
        goto cleanup;
    }
    rc = EH_OK;
cleanup:
    if (rc == EH_ERR_IO)
        eh_log(EH_LOG_ERROR, "policies: cannot write %s: %s", final, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (made)
        unlink(tmp);
    free(token);
    return rc;
}

/* make_folder creates name's folder when missing (and flushes its parent). */
static eh_rc make_folder(const eh_policy_store *ps, const char *folder)
{
    if (mkdir(folder, 0755) == 0)
        return fsync_path(ps->dir);
    if (errno == EEXIST)
        return EH_OK;
    eh_log(EH_LOG_ERROR, "policies: cannot create %s: %s", folder, strerror(errno));
    return EH_ERR_IO;
}

eh_rc eh_policy_store_save(eh_policy_store *ps, const char *name, int base_version,
                           const json_t *document, const char *by, const char *why, int *version,
                           char *err, size_t errlen)
{
    char folder[PATH_MAX_LEN], final[PATH_MAX_LEN], at[32];
    struct timespec mtime;
    eh_policy *p = NULL;
    json_t *record = NULL;
    char *text = NULL;
    cached spare, *c;
    int highest = 0, next = base_version + 1;
    eh_rc rc;

    memset(&spare, 0, sizeof(spare));
    err[0] = '\0';
    if (!eh_policy_name_valid(name) || by == NULL || why == NULL || base_version < 0 ||
        base_version >= EH_POLICY_VERSION_MAX)
        return EH_ERR_INVALID;
    if ((rc = eh_policy_from_json(name, next, document, &p, err, errlen)) != EH_OK)
        goto cleanup;
    if ((rc = name_dir(ps, name, folder, sizeof(folder))) != EH_OK ||
        (rc = version_file(ps, name, next, final, sizeof(final))) != EH_OK ||
        (rc = make_folder(ps, folder)) != EH_OK ||
        (rc = scan(ps, name, &mtime, &highest, NULL, NULL)) != EH_OK)
        goto cleanup;
    if (highest != base_version) {
        rc = EH_ERR_CONFLICT;
        goto cleanup;
    }
    now_iso(at, sizeof(at));
    rc = EH_ERR_NOMEM;
    record = json_pack("{s:O, s:{s:i, s:s, s:s, s:s}}", "document", document, "meta", "version",
                       next, "by", by, "at", at, "why", why);
    if (record == NULL || (text = json_dumps(record, JSON_INDENT(2))) == NULL)
        goto cleanup;
    if ((rc = claim(folder, final, text)) != EH_OK)
        goto cleanup;
    if (fsync_path(folder) != EH_OK)
        eh_log(EH_LOG_WARN, "policies: cannot flush %s", folder);
    *version = next;
    pthread_mutex_lock(&ps->lock);
    c = entry_locked(ps, name, &spare);
    if (c != NULL && c->version < next) {
        json_decref(c->document);
        c->document = json_deep_copy(document);
        c->version = next;
        c->broken = c->document == NULL;
        c->checked_ns = monotonic_ns();
    }
    pthread_mutex_unlock(&ps->lock);
    rc = EH_OK;
cleanup:
    cached_clear(&spare);
    eh_policy_free(p);
    json_decref(record);
    free(text);
    return rc;
}

static int by_version_desc(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x < y) - (x > y);
}

eh_rc eh_policy_store_history(eh_policy_store *ps, const char *name, json_t **out)
{
    struct timespec mtime;
    json_t *list = NULL, *record = NULL;
    int *versions = NULL, highest = 0;
    size_t n = 0;
    eh_rc rc;

    *out = NULL;
    if (!eh_policy_name_valid(name))
        return EH_ERR_INVALID;
    if ((rc = scan(ps, name, &mtime, &highest, &versions, &n)) != EH_OK)
        goto cleanup;
    if (n > 1)
        qsort(versions, n, sizeof(*versions), by_version_desc);
    rc = EH_ERR_NOMEM;
    if ((list = json_array()) == NULL)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        eh_rc r = read_record(ps, name, versions[i], &record);
        if (r == EH_ERR_NOT_FOUND || r == EH_ERR_INVALID)
            continue; /* logged by read_record */
        if (r != EH_OK) {
            rc = r;
            goto cleanup;
        }
        if (json_array_append(list, json_object_get(record, "meta")) != 0)
            goto cleanup;
        json_decref(record);
        record = NULL;
    }
    *out = list;
    list = NULL;
    rc = EH_OK;
cleanup:
    free(versions);
    json_decref(record);
    json_decref(list);
    return rc;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

eh_rc eh_policy_diff(const json_t *from, const json_t *to, json_t **out)
{
    const char **keys = NULL, *key;
    json_t *changes = NULL, *value;
    size_t n = 0;
    eh_rc rc = EH_ERR_NOMEM;

    *out = NULL;
    if (!json_is_object(from) || !json_is_object(to))
        return EH_ERR_INVALID;
    keys = calloc(json_object_size(from) + json_object_size(to) + 1, sizeof(*keys));
    if (keys == NULL || (changes = json_array()) == NULL)
        goto cleanup;
    json_object_foreach((json_t *)from, key, value) {
        keys[n++] = key;
    }
    json_object_foreach((json_t *)to, key, value) {
        if (json_object_get(from, key) == NULL)
            keys[n++] = key;
    }
    qsort(keys, n, sizeof(*keys), by_string);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_object_get(from, keys[i]), *b = json_object_get(to, keys[i]);
        if (a != NULL && b != NULL && json_equal(a, b))
            continue;
        if (json_array_append_new(changes, json_pack("{s:s, s:O?, s:O?}", "member", keys[i], "from",
                                                     a, "to", b)) != 0)
            goto cleanup;
    }
    *out = changes;
    changes = NULL;
    rc = EH_OK;
cleanup:
    free(keys);
    json_decref(changes);
    return rc;
}
