#include "broker/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attributes/pairwise.h"
#include "broker/broker.h"
#include "broker/config.h"

/* key_of returns "rel:<pseudonym>" of the citizen (caller frees). */
static eh_rc key_of(struct eh_broker *b, const eh_identity *id, char **key)
{
    const eh_config *cfg = eh_broker_config_get(b);
    char subject[256], *pseudonym = NULL;
    eh_rc rc;

    if (cfg->subject_secret == NULL)
        return EH_ERR_NOT_FOUND;
    if ((rc = eh_identity_subject(id, subject, sizeof(subject))) != EH_OK ||
        (rc = eh_pairwise_subject(cfg->subject_secret, cfg->subject_secret_len, "my-eidhub",
                                  subject, &pseudonym)) != EH_OK)
        return rc;
    if (asprintf(key, "rel:%s", pseudonym) < 0)
        rc = EH_ERR_NOMEM;
    free(pseudonym);
    return rc;
}

eh_rc eh_records_list(struct eh_broker *b, const eh_identity *citizen, json_t **out)
{
    char *key = NULL, *text = NULL;
    size_t len = 0;
    eh_rc rc = key_of(b, citizen, &key);

    *out = NULL;
    if (rc == EH_OK)
        rc = eh_store_get(eh_broker_store_get(b), key, &text, &len);
    if (rc == EH_OK) {
        *out = json_loadb(text, len, 0, NULL);
        if (!json_is_array(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = EH_ERR_INVALID;
        }
    }
    if (rc == EH_ERR_NOT_FOUND && (*out = json_array()) != NULL)
        rc = EH_OK;
    free(key);
    free(text);
    return rc;
}

eh_rc eh_records_add(struct eh_broker *b, const eh_txn *txn, const eh_identity *released)
{
    const eh_config *cfg = eh_broker_config_get(b);
    json_t *list = NULL, *entry = NULL, *names = json_array(), *v;
    const char *name;
    char *key = NULL, *text = NULL;
    eh_rc rc;

    if (names == NULL)
        return EH_ERR_NOMEM;
    json_object_foreach(released->attributes, name, v) {
        json_array_append_new(names, json_string(name));
    }
    if ((rc = key_of(b, released, &key)) != EH_OK || (rc = eh_records_list(b, released, &list)) !=
                                                        EH_OK)
        goto cleanup;
    rc = EH_ERR_NOMEM;
    entry = json_pack("{s:I, s:s, s:O?, s:s, s:s?, s:O}", "time", (json_int_t)time(NULL),
                      "requester", txn->authn->requester, "requester_name",
                      json_object_get(txn->frontend, "display_name"), "loa",
                      eh_loa_name(released->loa), "method", released->method, "attributes",
                      names);
    if (entry == NULL || json_array_insert(list, 0, entry) != 0)
        goto cleanup;
    /* the list lives retention_days after its newest entry: drop older ones,
     * and keep at most EH_RECORDS_MAX */
    while (json_array_size(list) > 1) {
        json_t *last = json_array_get(list, json_array_size(list) - 1);
        json_int_t t = json_integer_value(json_object_get(last, "time"));
        if (json_array_size(list) <= EH_RECORDS_MAX &&
            t >= (json_int_t)time(NULL) - (json_int_t)cfg->retention_days * 86400)
            break;
        json_array_remove(list, json_array_size(list) - 1);
    }
    if ((text = json_dumps(list, JSON_COMPACT)) == NULL)
        goto cleanup;
    rc = eh_store_set(eh_broker_store_get(b), key, text, strlen(text),
                      cfg->retention_days * 86400u * 1000u);
cleanup:
    free(key);
    free(text);
    json_decref(names);
    json_decref(entry);
    json_decref(list);
    return rc;
}
