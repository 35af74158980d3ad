/* eidhub: the SAML HTTP-POST binding (SAML 2.0 Bindings, section 3.5).
 *
 * A SAML message travels through the browser as a base64 form field
 * (SAMLRequest or SAMLResponse) with an optional RelayState, in an HTML
 * form that our page's script submits at once (a button does it without
 * JavaScript). Both the eIDAS Connector backend and the Proxy-Service
 * frontend send and read messages this way. */
#ifndef EH_SAML_POST_H
#define EH_SAML_POST_H

#include <stddef.h>

#include "broker/http.h"
#include "broker/rc.h"

#define EH_SAML_RELAY_STATE_MAX 80 /* bytes, SAML 2.0 Bindings 3.5.3 */

/* eh_saml_b64_encode returns len bytes of data as base64 (standard
 * alphabet, no line breaks; *out caller frees). */
eh_rc eh_saml_b64_encode(const char *data, size_t len, char **out);

/* eh_saml_b64_decode decodes base64 text (line breaks and spaces, which
 * some senders insert, are skipped) into a new NUL-terminated buffer (*out,
 * caller frees; *out_len). EH_ERR_TOO_LARGE when the result would exceed
 * max bytes, EH_ERR_INVALID for anything that is not base64. */
eh_rc eh_saml_b64_decode(const char *b64, size_t len, size_t max, char **out, size_t *out_len);

/* eh_saml_post_read reads the form field `field` ("SAMLRequest" or
 * "SAMLResponse") of req's url-encoded body, base64-decoded (at most max
 * bytes), and its RelayState (*relay_state, NULL when absent; may be NULL
 * to ignore). EH_ERR_NOT_FOUND without the field; EH_ERR_INVALID for
 * bad base64, a repeated field or a RelayState over
 * EH_SAML_RELAY_STATE_MAX bytes; EH_ERR_TOO_LARGE. */
eh_rc eh_saml_post_read(const eh_http_request *req, const char *field, size_t max, char **xml,
                        size_t *xml_len, char **relay_state);

/* eh_saml_post_send makes resp a page that POSTs xml (base64-encoded here)
 * as `field` with relay_state (may be NULL) to action (an absolute URL
 * from trusted metadata), submitted at once by /assets/eidhub.js. */
eh_rc eh_saml_post_send(eh_http_response *resp, const char *locale, const char *action,
                        const char *field, const char *xml, size_t xml_len,
                        const char *relay_state);

#endif
