/* eidhub fuzz targets: what they share.
 *
 * Every target is one LLVMFuzzerTestOneInput over one parser of outside
 * input. Besides the sanitizers' own checks (memory errors, leaks, undefined
 * behaviour), each asserts what it can about the parser's answer with
 * FZ_CHECK, which aborts (a crash libFuzzer saves) with the condition's text. */
#ifndef EH_FUZZ_UTIL_H
#define EH_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__FILE__, __LINE__, #cond);                                                    \
    } while (0)

void fz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* fz_init does what every target needs once: stdin on /dev/null (no parser
 * may ever wait on it), the broker's log sink replaced by one that drops the
 * lines after checking that each is one line (no CR or LF: a value from the
 * input never splits a log line). */
void fz_init(void);

/* fz_strndup copies size bytes of data into a new NUL-terminated string
 * (which ends early when data holds a NUL). Never NULL (aborts). */
char *fz_strndup(const uint8_t *data, size_t size);

/* fz_terminated tells whether buf (cap bytes) holds a NUL. */
int fz_terminated(const char *buf, size_t cap);

/* fz_split cuts data at each byte sep into at most max parts (the last one
 * keeps the rest, seps included), each a new NUL-terminated string in
 * parts[]; returns how many (at least 1). Free with fz_free_parts. */
size_t fz_split(const uint8_t *data, size_t size, char sep, char **parts, size_t max);
void fz_free_parts(char **parts, size_t n);

/* fz_verbose tells whether FZ_VERBOSE is set in the environment: targets
 * then say what the parser answered (for working on seeds). */
int fz_verbose(void);

/* fz_fixture returns the path of a file in tests/fuzz/fixtures (static). */
const char *fz_fixture(const char *name);

/* fz_tmpdir returns a folder of this process under $TMPDIR (or /tmp), made
 * at first call and removed at a normal exit (./dev points TMPDIR into a
 * folder it removes, so a crash leaves nothing behind either). */
const char *fz_tmpdir(void);

#endif
