/* eidhub: the eIDAS Connector backend's loaded settings, shared by its
 * configuration loader (eidas_connector_config.c) and its handlers
 * (eidas_connector.c). Not for other rooms: see eidas_connector.h. */
#ifndef EH_EIDAS_CONNECTOR_STATE_H
#define EH_EIDAS_CONNECTOR_STATE_H

#include <pthread.h>

#include "broker/backends/backend.h"
#include "metadata/saml_peers.h"

#define EH_EIDAS_MAX_COUNTRIES 32

typedef struct eh_eidas_country {
    char country[3]; /* "LV" */
    char *label_en, *label_et;
    char *href; /* "/auth/eidas?country=LV" */
    char *id;   /* "lv" */
} eh_eidas_country;

typedef struct eh_eidas_connector {
    eh_eidas_country *countries;
    size_t n;
    eh_backend_choice *choices;
    int sp_private; /* default SPType: private */
    eh_saml_peer_def *peer_defs; /* the peers' definitions (strings owned here) */
    eh_saml_peers *peers;        /* their metadata, role Proxy-Service, named by country */
    /* our Connector metadata, signed once a minute at most */
    pthread_mutex_t lock;
    char *metadata;
    int64_t metadata_built; /* seconds since the epoch */
} eh_eidas_connector;

/* eh_eidas_country_find returns the configured country code (any case), or
 * NULL. */
const eh_eidas_country *eh_eidas_country_find(const eh_eidas_connector *c, const char *code);

#endif
