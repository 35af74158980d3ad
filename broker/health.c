#include "broker/health.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"

eh_rc eh_health_handle(eh_broker *b, const eh_http_request *req, eh_http_response *resp)
{
    eh_store *store = eh_broker_store_get(b);
    eh_rc ping = store ? eh_store_ping(store) : EH_ERR_STORE_UNAVAILABLE;
    json_t *doc, *store_doc;
    char *text;
    eh_rc rc;

    (void)req;
    store_doc = json_pack("{s:s, s:b}", "type", store ? eh_store_name(store) : "none", "reachable",
                          ping == EH_OK);
    if (store_doc != NULL && ping != EH_OK)
        json_object_set_new(store_doc, "error", json_string(eh_strerror(ping)));
    doc = json_pack("{s:s, s:o}", "status", ping == EH_OK ? "ok" : "unavailable", "store",
                    store_doc);
    if (doc == NULL)
        return EH_ERR_NOMEM;
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL)
        return EH_ERR_NOMEM;
    rc = eh_http_response_take_body(resp, ping == EH_OK ? 200 : 503, "application/json", text,
                                    strlen(text));
    if (rc == EH_OK)
        rc = eh_http_response_add_header(resp, "Cache-Control", "no-store");
    return rc;
}
