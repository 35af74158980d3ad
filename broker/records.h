/* eidhub: the citizen's own record of releases ("My eidhub").
 *
 * Every release is noted for the citizen it concerns: when, to which
 * requester, at which level, through which method, and which attribute
 * NAMES were released (never values). Records are kept under a pseudonym of
 * the citizen ("rel:<pairwise subject for the sector my-eidhub>"), not the
 * national identifier, and expire after the configured retention period
 * ("my_eidhub": {"retention_days": n}). Without a subject secret no records
 * are kept (there would be no pseudonym). */
#ifndef EH_RECORDS_H
#define EH_RECORDS_H

#include <jansson.h>

#include "broker/authn.h"
#include "broker/rc.h"
#include "broker/txn.h"

struct eh_broker;

#define EH_RECORDS_MAX 200 /* newest kept when there are more */

/* eh_records_add notes the release of released (which still carries the
 * citizen's subject) in the transaction txn. */
eh_rc eh_records_add(struct eh_broker *b, const eh_txn *txn, const eh_identity *released);

/* eh_records_list returns (caller owns) the citizen's records, newest first:
 * [{"time", "requester", "requester_name", "loa", "method", "attributes": [...]}]. */
eh_rc eh_records_list(struct eh_broker *b, const eh_identity *citizen, json_t **out);

#endif
