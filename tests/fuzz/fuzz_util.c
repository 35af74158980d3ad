#include "tests/fuzz/fuzz_util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log.h"

#ifndef EH_FUZZ_FIXTURES
#define EH_FUZZ_FIXTURES "tests/fuzz/fixtures"
#endif

void fz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

static void fz_log_sink(void *ctx, eh_log_level level, const char *msg)
{
    (void)ctx;
    (void)level;
    FZ_CHECK(msg != NULL);
    FZ_CHECK(strpbrk(msg, "\r\n") == NULL);
}

void fz_init(void)
{
    static int done;
    int fd;

    if (done)
        return;
    done = 1;
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 0);
        if (fd != 0)
            close(fd);
    }
    eh_log_set_sink(fz_log_sink, NULL, EH_LOG_DEBUG);
}

char *fz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        abort();
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

int fz_terminated(const char *buf, size_t cap)
{
    return buf != NULL && memchr(buf, '\0', cap) != NULL;
}

size_t fz_split(const uint8_t *data, size_t size, char sep, char **parts, size_t max)
{
    size_t n = 0, start = 0;

    for (size_t i = 0; i < size && n + 1 < max; i++) {
        if (data[i] == (uint8_t)sep) {
            parts[n++] = fz_strndup(data + start, i - start);
            start = i + 1;
        }
    }
    parts[n++] = fz_strndup(data + start, size - start);
    return n;
}

void fz_free_parts(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
}

int fz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("FZ_VERBOSE") != NULL;
    return v;
}

const char *fz_fixture(const char *name)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", EH_FUZZ_FIXTURES, name);
    return path;
}

static char fz_dir[4096];

static void fz_tmpdir_remove(void)
{
    char cmd[4200];
    if (fz_dir[0] != '\0' && strstr(fz_dir, "/eh-fuzz.") != NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fz_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", fz_dir);
    }
}

const char *fz_tmpdir(void)
{
    if (fz_dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        if (base == NULL || base[0] != '/' || strchr(base, '\'') != NULL)
            base = "/tmp";
        snprintf(fz_dir, sizeof(fz_dir), "%s/eh-fuzz.XXXXXX", base);
        if (mkdtemp(fz_dir) == NULL)
            abort();
        atexit(fz_tmpdir_remove);
    }
    return fz_dir;
}
