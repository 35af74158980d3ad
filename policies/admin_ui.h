/* eidhub: the administrators' web UI (policies/admin-ui/), served from memory.
 *
 * The files of policies/admin-ui/ are turned into a C table at build time
 * (tools/embed writes admin_ui_files.c in the build tree), so serving them
 * needs no file system access. The page loads only its own script and
 * stylesheet; every answer carries a strict Content-Security-Policy, and the
 * API it talks to is docs/admin-api.md. */
#ifndef EH_ADMIN_UI_H
#define EH_ADMIN_UI_H

#include <stddef.h>

#include "broker/http.h"
#include "broker/rc.h"

/* One embedded file. bytes has a NUL after its len bytes. */
typedef struct eh_admin_ui_file {
    const char *path;         /* URL path, e.g. "/admin/admin.js" */
    const char *content_type; /* e.g. "text/javascript; charset=utf-8" */
    const unsigned char *bytes;
    size_t len;
} eh_admin_ui_file;

/* The generated table and its length. */
extern const eh_admin_ui_file eh_admin_ui_files[];
extern const size_t eh_admin_ui_n_files;

/* The policy every UI answer carries. */
#define EH_ADMIN_UI_CSP                                                                           \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "              \
    "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* eh_admin_ui_find returns the embedded file for a request path ("/admin/"
 * is index.html), or NULL. */
const eh_admin_ui_file *eh_admin_ui_find(const char *path);

/* eh_admin_ui_handle serves GET /admin/, /admin/admin.js and /admin/admin.css
 * (dispatch table): the page uncached, the assets cacheable for a few
 * minutes, all with the CSP above, nosniff, no framing, no referrer. */
struct eh_broker;
eh_rc eh_admin_ui_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp);

#endif
