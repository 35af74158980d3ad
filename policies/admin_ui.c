#include "policies/admin_ui.h"

#include <string.h>

#define INDEX_PATH "/admin/index.html"

const eh_admin_ui_file *eh_admin_ui_find(const char *path)
{
    if (path == NULL)
        return NULL;
    if (strcmp(path, "/admin/") == 0)
        path = INDEX_PATH;
    else if (strcmp(path, INDEX_PATH) == 0)
        return NULL; /* one address for the page */
    for (size_t i = 0; i < eh_admin_ui_n_files; i++) {
        if (strcmp(eh_admin_ui_files[i].path, path) == 0)
            return &eh_admin_ui_files[i];
    }
    return NULL;
}

eh_rc eh_admin_ui_handle(struct eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    (void)b;
    const eh_admin_ui_file *f = eh_admin_ui_find(req->path);
    if (f == NULL)
        return EH_ERR_HTTP_NO_ROUTE;

    int page = strcmp(f->path, INDEX_PATH) == 0;
    const char *const headers[][2] = {
        {"Content-Security-Policy", EH_ADMIN_UI_CSP},
        {"Cache-Control", page ? "no-store" : "private, max-age=300"},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
    };
    eh_rc rc = eh_http_response_set_body(resp, 200, f->content_type, f->bytes, f->len);
    for (size_t i = 0; rc == EH_OK && i < sizeof(headers) / sizeof(headers[0]); i++)
        rc = eh_http_response_set_header(resp, headers[i][0], headers[i][1]);
    return rc;
}
