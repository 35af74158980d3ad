/* Fuzz target: Cookie headers (eh_cookie_get), as browsers and attackers
 * send them. The input is up to 8 header lines ("\n"-separated); each
 * becomes a "Cookie" header (a line starting with "!" becomes another
 * header, which must be ignored).
 *
 * Differential against a reference written from broker/cookie.h: the
 * first value of "name=" among "; "-separated pairs, NOT_FOUND when
 * absent, INVALID when it appears twice or is longer than
 * EH_COOKIE_VALUE_MAX; trailing blanks dropped. A value eh_cookie_set
 * accepts round-trips through its Set-Cookie header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/cookie.h"
#include "broker/txn.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_HEADERS 8

static eh_rc ref_get(char **lines, size_t n, const char *name, char **value)
{
    size_t name_len = strlen(name), found_len = 0;
    const char *found = NULL;
    int seen = 0;

    *value = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *p = lines[i];
        if (p[0] == '!')
            continue;
        for (;;) {
            const char *end = strchr(p, ';');
            size_t len;
            while (*p == ' ' || *p == '\t')
                p++;
            len = end ? (size_t)(end - p) : strlen(p);
            if (len > name_len && memcmp(p, name, name_len) == 0 && p[name_len] == '=') {
                if (seen++ == 0) {
                    found = p + name_len + 1;
                    found_len = len - name_len - 1;
                }
            }
            if (end == NULL)
                break;
            p = end + 1;
        }
    }
    if (seen == 0)
        return EH_ERR_NOT_FOUND;
    if (seen > 1 || found_len > EH_COOKIE_VALUE_MAX)
        return EH_ERR_INVALID;
    while (found_len > 0 && (found[found_len - 1] == ' ' || found[found_len - 1] == '\t'))
        found_len--;
    *value = strndup(found, found_len);
    return EH_OK;
}

static void check_name(const eh_http_request *req, char **lines, size_t n, const char *name)
{
    char *got = NULL, *want = NULL;
    eh_rc rc = eh_cookie_get(req, name, &got), ref = ref_get(lines, n, name, &want);

    if (rc != ref)
        fprintf(stderr, "eh_cookie_get(%s): rc %d, the contract says %d\n", name, rc, ref);
    FZ_CHECK(rc == ref);
    if (rc == EH_OK) {
        size_t len = strlen(got);
        FZ_CHECK(strcmp(got, want) == 0);
        FZ_CHECK(len <= EH_COOKIE_VALUE_MAX);
        FZ_CHECK(strchr(got, ';') == NULL);
        FZ_CHECK(len == 0 || (got[len - 1] != ' ' && got[len - 1] != '\t'));
    } else {
        FZ_CHECK(got == NULL);
    }
    free(got);
    free(want);
}

/* round_trip: a value eh_cookie_set takes comes back from eh_cookie_get. */
static void round_trip(const char *name, const char *value)
{
    eh_http_response resp;
    eh_http_header h = {"Cookie", NULL};
    eh_http_request req = {.method = EH_HTTP_GET,
                           .path = "/",
                           .query = "",
                           .headers = &h,
                           .n_headers = 1,
                           .client_addr = "127.0.0.1"};
    const char *set;
    char *line, *semi, *got = NULL;

    eh_http_response_init(&resp);
    if (eh_cookie_set(&resp, name, value, 60, 1) == EH_OK) {
        set = eh_http_response_header_get(&resp, "Set-Cookie");
        FZ_CHECK(set != NULL && strpbrk(set, "\r\n") == NULL);
        line = strdup(set);
        semi = strchr(line, ';');
        FZ_CHECK(semi != NULL);
        *semi = '\0';
        h.value = line;
        if (strlen(value) <= EH_COOKIE_VALUE_MAX && strpbrk(name, "=; \t") == NULL) {
            FZ_CHECK(eh_cookie_get(&req, name, &got) == EH_OK);
            FZ_CHECK(strcmp(got, value) == 0);
        }
        free(got);
        free(line);
    }
    eh_http_response_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {EH_TXN_COOKIE, "eidhub_admin", "eidhub_sso", "a", NULL};
    char *lines[MAX_HEADERS];
    eh_http_header headers[MAX_HEADERS];
    size_t n = fz_split(data, size, '\n', lines, MAX_HEADERS);
    eh_http_request req = {.method = EH_HTTP_GET,
                           .path = "/",
                           .query = "",
                           .headers = headers,
                           .n_headers = n,
                           .client_addr = "127.0.0.1"};
    const char *eq;

    fz_init();
    for (size_t i = 0; i < n; i++) {
        headers[i].name = lines[i][0] == '!' ? "X-Cookie" : (i % 2 ? "cookie" : "Cookie");
        headers[i].value = lines[i];
    }
    for (size_t i = 0; names[i] != NULL; i++)
        check_name(&req, lines, n, names[i]);
    /* the first pair's name, whatever it is */
    eq = strchr(lines[0], '=');
    if (eq != NULL && eq > lines[0]) {
        char *name = strndup(lines[0], (size_t)(eq - lines[0]));
        const char *semi = strchr(eq, ';');
        char *value = semi ? strndup(eq + 1, (size_t)(semi - eq - 1)) : strdup(eq + 1);
        if (name[0] != ' ' && name[0] != '\t')
            check_name(&req, lines, n, name);
        round_trip(name[0] ? name : "a", value);
        free(name);
        free(value);
    }
    fz_free_parts(lines, n);
    return 0;
}
