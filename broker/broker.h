/* eidhub: the broker, the object a host (the nginx module, eidhubctl, tests)
 * holds. It owns the configuration, the signing keys and, once set, the
 * store, and it answers neutral HTTP requests through the dispatch table. */
#ifndef EH_BROKER_H
#define EH_BROKER_H

#include <stddef.h>

#include "broker/http.h"
#include "broker/rc.h"
#include "broker/store.h"

typedef struct eh_broker eh_broker;
struct eh_admin;
struct eh_audit;
struct eh_config;
struct eh_keyset;
struct eh_policy_store;

/* eh_broker_load reads the configuration file at path, loads every key it
 * names and prepares everything that does not need the store. On failure
 * returns the error and writes one line naming the file, the JSON path and
 * the problem into err. The broker is usable from many threads at once once
 * loaded. */
eh_rc eh_broker_load(const char *path, eh_broker **out, char *err, size_t errlen);

/* eh_broker_set_store hands store to b (b owns it from now on and frees it). */
void eh_broker_set_store(eh_broker *b, eh_store *store);

/* Borrowed views of what the broker holds. */
eh_store *eh_broker_store_get(const eh_broker *b);
const struct eh_config *eh_broker_config_get(const eh_broker *b);
const struct eh_keyset *eh_broker_keys_get(const eh_broker *b);

/* eh_broker_policies_get returns the versioned policies of the
 * configuration's policy_dir (NULL when none is configured); usable from any
 * thread. eh_broker_admin_get returns the administration accounts of its
 * "admin" member (NULL when none is configured; then policy_dir is too). */
struct eh_policy_store *eh_broker_policies_get(const eh_broker *b);
const struct eh_admin *eh_broker_admin_get(const eh_broker *b);

/* eh_broker_audit_get returns the audit trail of the configuration's
 * "audit" member (broker/audit.h), or NULL when none is configured (every
 * eh_audit_ function then does nothing). */
const struct eh_audit *eh_broker_audit_get(const eh_broker *b);

/* eh_broker_saml_get returns this broker's eIDAS node settings (the
 * configuration's "saml" member, broker/saml/saml_node.h), or NULL. */
struct eh_saml_node;
const struct eh_saml_node *eh_broker_saml_get(const eh_broker *b);

/* eh_broker_eidas_proxy_get returns the eIDAS Proxy-Service frontend's
 * state (the configuration's "eidas_proxy" member), or NULL. */
struct eh_eidas_proxy;
struct eh_eidas_proxy *eh_broker_eidas_proxy_get(const eh_broker *b);

/* eh_broker_backend_get returns the loaded state of the backend called
 * name (e.g. the eh_mid of "mobile_id"), or NULL when it is not configured. */
void *eh_broker_backend_get(const eh_broker *b, const char *name);

/* eh_broker_secure tells whether the broker's issuer is https (cookies are
 * then Secure). */
int eh_broker_secure(const eh_broker *b);

/* The documents built once at load (borrowed, NUL-terminated JSON): the
 * OpenID Provider metadata and the public JWK Set. */
const char *eh_broker_discovery_get(const eh_broker *b);
const char *eh_broker_jwks_get(const eh_broker *b);

/* eh_broker_handle answers req into resp (initialised by the caller) through
 * the dispatch table. Returns EH_OK when resp holds the answer (whatever its
 * HTTP status); otherwise the host turns the error into a plain error page
 * (EH_ERR_HTTP_NO_ROUTE 404, EH_ERR_HTTP_METHOD 405, store errors 503,
 * anything else 500). May block (store, network): see eh_broker_blocking. */
eh_rc eh_broker_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp);

/* eh_broker_blocking tells whether answering req with b may block, so the
 * host must run it off its event loop (a thread-pool task); 0 means it may
 * call eh_broker_handle on the loop. It decides from the route's mode
 * (broker/dispatch.h) and b's configuration: a route that waits for the
 * network, files or slow crypto always blocks; one that waits only for the
 * store blocks when b's store may block (eh_store_may_block: Redis, or no
 * store yet), not with the embedded store; one that also reads policies
 * blocks when b has a policy folder (policy_dir), one that also signs blocks
 * when b's active key is not an EC one (ES256). Unknown paths and methods
 * (404, 405) do not block; b NULL makes every route with a mode other than
 * EH_ROUTE_INLINE block. Fast, never blocks itself. */
int eh_broker_blocking(const eh_broker *b, const eh_http_request *req);

/* eh_broker_free releases b and everything it owns (NULL is fine). */
void eh_broker_free(eh_broker *b);

/* eh_broker_process_exit makes the exit of a process that ran brokers from
 * several threads orderly; call it once the host has told its own threads
 * to end, before freeing the brokers and exiting. It stops and joins this
 * library's background threads (the SAML metadata refreshers), then waits,
 * at most timeout_ms, until every other thread that ended has released its
 * per-thread state (curl handles, Redis connections): a thread releases it
 * as it ends, and a thread pool that does not wait for its threads (nginx's)
 * would otherwise have them free it while exit() cleans OpenSSL up. Returns
 * 1 when none is left, 0 on timeout. */
int eh_broker_process_exit(unsigned timeout_ms);

#endif
