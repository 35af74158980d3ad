/* Fuzz target: the broker's JSON configuration (eh_config_parse) and what
 * eh_broker_load validates after it without keys or files of its own: the
 * "admin" object (eh_admin_load) and each backend's settings (its load).
 * The configuration "lives" in tests/fuzz/fixtures/, so relative file names
 * (trusted_ca_files: ["sk-ca.pem"], ...) reach the fixtures and nothing
 * else the seeds name.
 *
 * Invariants: the error line is NUL-terminated, one line, and names the
 * file first; a parsed configuration has an absolute issuer without a
 * trailing '/', at least one key, relying parties findable by client_id. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/backend.h"
#include "broker/config.h"
#include "policies/admin_auth.h"
#include "tests/fuzz/fuzz_util.h"

static char config_path[4096];

/* check_err: a NUL-terminated single line that starts with the file name. */
static void check_err(eh_rc rc, const char *err, size_t cap)
{
    FZ_CHECK(fz_terminated(err, cap));
    if (fz_verbose())
        fprintf(stderr, "rc %d: %s\n", rc, err);
    FZ_CHECK(strpbrk(err, "\r\n") == NULL);
    if (rc != EH_OK && rc != EH_ERR_NOMEM)
        FZ_CHECK(strncmp(err, config_path, strlen(config_path)) == 0 &&
                 strncmp(err + strlen(config_path), ": ", 2) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_init();
    snprintf(config_path, sizeof(config_path), "%s", fz_fixture("broker.json"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    eh_config *cfg = NULL;
    eh_admin *admin = NULL;
    const eh_backend_def *defs;
    size_t n_defs;
    json_t *admin_json;
    eh_rc rc;

    memset(err, 'X', sizeof(err));
    rc = eh_config_parse((const char *)data, size, config_path, &cfg, err, sizeof(err));
    check_err(rc, err, sizeof(err));
    if (rc != EH_OK) {
        FZ_CHECK(cfg == NULL);
        FZ_CHECK(rc == EH_ERR_CONFIG || rc == EH_ERR_NOMEM);
        return 0;
    }
    FZ_CHECK(cfg != NULL && cfg->issuer != NULL && cfg->root != NULL);
    FZ_CHECK(strncmp(cfg->issuer, "http://", 7) == 0 || strncmp(cfg->issuer, "https://", 8) == 0);
    FZ_CHECK(cfg->issuer[strlen(cfg->issuer) - 1] != '/');
    FZ_CHECK(cfg->n_keys >= 1);
    for (size_t i = 0; i < cfg->n_keys; i++)
        FZ_CHECK(cfg->keys[i].file != NULL && cfg->keys[i].file[0] == '/');
    for (size_t i = 0; i < cfg->n_rps; i++) {
        const eh_config_rp *rp = eh_config_rp_find(cfg, cfg->rps[i].client_id);
        FZ_CHECK(rp != NULL && strcmp(rp->client_id, cfg->rps[i].client_id) == 0);
    }

    admin_json = json_object_get(cfg->root, "admin");
    if (admin_json != NULL) {
        memset(err, 'X', sizeof(err));
        rc = eh_admin_load(admin_json, cfg->path, &admin, err, sizeof(err));
        check_err(rc, err, sizeof(err));
        FZ_CHECK((rc == EH_OK) == (admin != NULL));
        eh_admin_free(admin);
    }

    defs = eh_backends(&n_defs);
    for (size_t i = 0; i < n_defs; i++) {
        json_t *settings = json_object_get(cfg->backends, defs[i].name);
        void *state = NULL;
        char path[128];
        if (settings == NULL)
            continue;
        snprintf(path, sizeof(path), "$.backends.%s", defs[i].name);
        memset(err, 'X', sizeof(err));
        rc = defs[i].load(settings, cfg->path, path, &state, err, sizeof(err));
        check_err(rc, err, sizeof(err));
        if (rc == EH_OK && state != NULL)
            defs[i].free(state);
        FZ_CHECK(rc == EH_OK || state == NULL);
    }
    eh_config_free(cfg);
    return 0;
}
