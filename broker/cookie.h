/* eidhub: the browser-binding cookie.
 *
 * A cookie holds only a random id (never identity data): HttpOnly,
 * SameSite=Lax, Path=/, Secure whenever the broker's issuer is https. */
#ifndef EH_COOKIE_H
#define EH_COOKIE_H

#include "broker/http.h"
#include "broker/rc.h"

#define EH_COOKIE_VALUE_MAX 512

/* eh_cookie_get copies the value of cookie name from the request's Cookie
 * headers into a new string (*value, caller frees). EH_ERR_NOT_FOUND when
 * absent; EH_ERR_INVALID when the value is longer than EH_COOKIE_VALUE_MAX
 * or the cookie appears twice (a second, injected copy is never trusted). */
eh_rc eh_cookie_get(const eh_http_request *req, const char *name, char **value);

/* eh_cookie_set adds a Set-Cookie header for name=value living max_age
 * seconds (0 deletes it). value must be cookie-safe (base64url). */
eh_rc eh_cookie_set(eh_http_response *resp, const char *name, const char *value, int max_age,
                    int secure);

/* eh_cookie_set_scoped is eh_cookie_set with its own Path (an absolute
 * path, e.g. "/admin") and SameSite ("Strict", "Lax"); eh_cookie_set is it
 * with "/" and "Lax". EH_ERR_INVALID for a path or samesite with characters
 * a cookie attribute cannot hold. */
eh_rc eh_cookie_set_scoped(eh_http_response *resp, const char *name, const char *value,
                           int max_age, int secure, const char *path, const char *samesite);

#endif
