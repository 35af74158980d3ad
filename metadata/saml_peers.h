/* eidhub: the eIDAS nodes we trust, kept fresh in the background.
 *
 * Each peer is configured with where its metadata lives (a file, or an
 * http(s) URL), the trust anchor its metadata must be signed with (a PEM
 * file of certificates or public keys), its role (a foreign Proxy-Service
 * our Connector asks, or a foreign Connector our Proxy-Service answers) and
 * the names we know it by. Its metadata is read when first asked for and
 * then refreshed by one background thread per process every refresh_s
 * seconds (and sooner when validUntil comes first): a request never waits
 * for a refresh once a copy is held, and a failed refresh (peer down,
 * signature wrong, expired document) keeps the last good copy until its own
 * validUntil. The age of each copy is exported as a metric. */
#ifndef EH_SAML_PEERS_H
#define EH_SAML_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "broker/rc.h"
#include "metadata/saml_metadata.h"

typedef struct eh_saml_peers eh_saml_peers;

typedef struct eh_saml_peer_def {
    const char *name;      /* our name for it: a country code or a Connector's id */
    const char *metadata;  /* an absolute file path or an http(s) URL */
    const char *entity_id; /* expected entityID, or NULL: the URL (for URLs), any (for files) */
    const char *anchor_file; /* PEM: the keys its metadata must be signed with */
    eh_saml_role role;
} eh_saml_peer_def;

/* eh_saml_peers_new loads the anchors of n peers (a missing or unusable
 * anchor file is an error: EH_ERR_CONFIG with a reason in why) and returns
 * the set, which holds no metadata yet (caller frees). refresh_s: seconds
 * between refreshes; timeout_ms: bound on each fetch. */
eh_rc eh_saml_peers_new(const eh_saml_peer_def *defs, size_t n, unsigned refresh_s,
                        unsigned timeout_ms, eh_saml_peers **out, char *why, size_t whylen);
void eh_saml_peers_free(eh_saml_peers *p);

/* eh_saml_peers_stop_all stops and joins the refresher of every set of this
 * process (waiting for a fetch under way), for good: a process calls it
 * before it exits, and the sets then serve what they hold and fetch only
 * on demand. */
void eh_saml_peers_stop_all(void);

/* eh_saml_peers_set_timing changes refresh_s and timeout_ms (0: keep) of
 * p, for an owner that learns them after creating it; call it before the
 * first eh_saml_peers_get. */
void eh_saml_peers_set_timing(eh_saml_peers *p, unsigned refresh_s, unsigned timeout_ms);

/* eh_saml_peers_get returns a reference to the current metadata of the
 * peer named name (or, by_entity non-zero, whose entityID is name); the
 * first call for a peer fetches it (blocking: call only from blocking
 * handlers) and starts the background refresher. EH_ERR_NOT_FOUND for an
 * unknown peer; EH_ERR_IO (why says why) when no valid copy is available.
 * Release the reference with eh_saml_peers_release. */
eh_rc eh_saml_peers_get(eh_saml_peers *p, const char *name, int by_entity,
                        const eh_saml_metadata **out, char *why, size_t whylen);
void eh_saml_peers_release(eh_saml_peers *p, const eh_saml_metadata *m);

/* eh_saml_peers_refresh fetches every peer's metadata once now (what the
 * background thread does each period); returns how many failed. */
size_t eh_saml_peers_refresh(eh_saml_peers *p);

/* eh_saml_peers_age_s returns, for peer i (0 <= i < count), the seconds
 * since its held copy was fetched (-1: none held), for /metrics. */
size_t eh_saml_peers_count(const eh_saml_peers *p);
int64_t eh_saml_peers_age_s(const eh_saml_peers *p, size_t i, const char **name);

#endif
