/* Fuzz target: store URLs from the configuration: redis://[[user]:password@]
 * host[:port][/db] (eh_store_redis_new, which parses without connecting)
 * and shm://[?size=N[kmg]] (eh_store_url_parse_shm_size).
 *
 * Invariants: err is NUL-terminated, one line, and never quotes the URL's
 * password; a shm size is at least eh_store_shm_min_size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/store.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = fz_strndup(data, size), err[512];
    const char *at, *colon, *slash;
    eh_store *s = NULL;
    size_t shm = 0;
    eh_rc rc;

    fz_init();
    memset(err, 'X', sizeof(err));
    rc = eh_store_redis_new(url, 1000, &s, err, sizeof(err));
    FZ_CHECK(fz_terminated(err, sizeof(err)));
    FZ_CHECK(strpbrk(err, "\r\n") == NULL);
    if (rc == EH_OK) {
        FZ_CHECK(s != NULL && err[0] == '\0');
        FZ_CHECK(strncasecmp(url, "redis://", 8) == 0);
        eh_store_free(s);
    } else {
        FZ_CHECK(s == NULL);
        FZ_CHECK(rc == EH_ERR_CONFIG || rc == EH_ERR_NOMEM);
    }
    /* the password never shows in the error: the same URL with a marker
     * for its password (after the first ':' of the user info, up to the
     * authority's last '@') */
    slash = strncasecmp(url, "redis://", 8) == 0 ? strchr(url + 8, '/') : NULL;
    at = NULL;
    for (const char *p = url + (strlen(url) >= 8 ? 8 : strlen(url));
         *p && (slash == NULL || p < slash); p++) {
        if (*p == '@')
            at = p;
    }
    colon = at != NULL ? memchr(url + 8, ':', (size_t)(at - (url + 8))) : NULL;
    if (colon != NULL) {
        char *marked = NULL;
        if (asprintf(&marked, "%.*sS3cr3tMark%s", (int)(colon + 1 - url), url, at) < 0)
            abort();
        memset(err, 'X', sizeof(err));
        rc = eh_store_redis_new(marked, 1000, &s, err, sizeof(err));
        FZ_CHECK(fz_terminated(err, sizeof(err)));
        FZ_CHECK(strstr(err, "S3cr3tMark") == NULL);
        if (rc == EH_OK)
            eh_store_free(s);
        free(marked);
    }

    memset(err, 'X', sizeof(err));
    rc = eh_store_url_parse_shm_size(url, &shm, err, sizeof(err));
    FZ_CHECK(fz_terminated(err, sizeof(err)));
    if (rc == EH_OK)
        FZ_CHECK(shm >= eh_store_shm_min_size());
    free(url);
    return 0;
}
