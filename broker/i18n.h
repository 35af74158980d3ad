/* eidhub: the texts citizens read, in their language.
 *
 * One catalog (broker/i18n.c) holds every text shown to a citizen, by key,
 * in Estonian and English. A locale is chosen from ui_locales (OIDC), then
 * Accept-Language, else English. */
#ifndef EH_I18N_H
#define EH_I18N_H

#include "broker/http.h"

/* eh_i18n returns the text of key in locale ("et" or "en"; anything else
 * is English); an unknown key returns the key itself, never NULL. */
const char *eh_i18n(const char *locale, const char *key);

/* eh_i18n_supported returns the static name of the first supported locale
 * in a space- or comma-separated preference list (ui_locales, or an
 * Accept-Language value with q-values ignored), or NULL if none. */
const char *eh_i18n_pick(const char *preferences);

/* eh_i18n_locale_of_request picks from the Accept-Language header,
 * defaulting to "en". */
const char *eh_i18n_locale_of_request(const eh_http_request *req);

#endif
