/* Helpers shared by the unit suites: temporary folders and files, and a
 * broker configuration with freshly generated keys. */
#ifndef EH_TESTUTIL_H
#define EH_TESTUTIL_H

#include <stddef.h>

/* eh_test_tmpdir makes a new folder under /tmp and returns its path
 * (static storage per call site is not needed: the caller frees). */
char *eh_test_tmpdir(void);

/* eh_test_write writes text to dir/name and returns the path (caller frees). */
char *eh_test_write(const char *dir, const char *name, const char *text);

/* eh_test_rmtree removes dir and everything in it. */
void eh_test_rmtree(const char *dir);

/* eh_test_config writes an EC key (key.pem) and a broker configuration
 * (broker.json) whose issuer is http://127.0.0.1:8080 and whose relying
 * parties are rps_json (a JSON array text, may be "[]") into dir, and
 * returns the configuration's path (caller frees). */
char *eh_test_config(const char *dir, const char *rps_json);

/* eh_test_broker loads a broker from eh_test_config(dir, rps_json) with an
 * embedded store of the smallest size (caller frees with eh_broker_free);
 * fails the test when loading fails. */
struct eh_broker;
struct eh_broker *eh_test_broker(const char *dir, const char *rps_json);

/* eh_test_saml_fixture reads tests/fixtures/saml/<name> into a new
 * NUL-terminated buffer (caller frees; *len its length, may be NULL);
 * fails the test when it cannot. */
char *eh_test_saml_fixture(const char *name, size_t *len);

/* eh_test_saml_keys_add adds the PEM fixture <name> to k (failing the
 * test when it is refused); eh_test_saml_keys returns a new key set
 * holding it (caller frees with eh_saml_keys_free). */
struct eh_saml_keys;
void eh_test_saml_keys_add(struct eh_saml_keys *k, const char *name);
struct eh_saml_keys *eh_test_saml_keys(const char *name);

/* eh_test_json_apply applies changes (a JSON object text, may be NULL) to
 * the object c: each member is set, a null member removed. Returns c. */
struct json_t;
struct json_t *eh_test_json_apply(struct json_t *c, const char *changes);

/* eh_test_jws signs payload (a JSON object, consumed) with k (a
 * cjose_jwk_t *), alg and kid (may be NULL) into a compact JWS (caller
 * frees); typ (may be NULL) and crit (a JSON text, may be NULL) become
 * header members. Fails the test when cjose refuses. */
char *eh_test_jws(const void *k, const char *alg, const char *kid, const char *typ,
                  const char *crit, struct json_t *payload);

#endif
