/* eidhub: the store's generic half.
 *
 * Every public eh_store_* call goes through here: the arguments are checked
 * once, the same way for every implementation, and only then handed to the
 * implementation's ops. Implementations may therefore assume a valid key, a
 * ttl_ms above zero, a value no larger than EH_STORE_VALUE_MAX and non-NULL
 * output pointers. */
#include "broker/store.h"

#include <string.h>

#include "broker/metrics.h"

/* timed counts one implementation call in the store metrics. */
#define TIMED(op, call)                                                                        \
    do {                                                                                       \
        uint64_t t0_ = eh_metrics_now();                                                       \
        eh_rc rc_ = (call);                                                                    \
        eh_metrics_store((op), eh_metrics_now() - t0_, rc_);                                   \
        return rc_;                                                                            \
    } while (0)

/* eh_store_usable tells whether s is a store with its table of operations. */
static int eh_store_usable(const eh_store *s)
{
    return s != NULL && s->ops != NULL;
}

int eh_store_key_valid(const char *key)
{
    size_t len;

    if (key == NULL)
        return 0;
    len = strnlen(key, EH_STORE_KEY_MAX + 1);
    if (len == 0 || len > EH_STORE_KEY_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x21 || c > 0x7e)
            return 0;
    }
    return 1;
}

/* eh_store_read_args checks the arguments shared by get and take and clears
 * the outputs, so that a caller never sees a stale pointer after an error. */
static eh_rc eh_store_read_args(eh_store *s, const char *key, char **value, size_t *len)
{
    if (value != NULL)
        *value = NULL;
    if (len != NULL)
        *len = 0;
    if (!eh_store_usable(s) || value == NULL || len == NULL || !eh_store_key_valid(key))
        return EH_ERR_INVALID;
    return EH_OK;
}

eh_rc eh_store_get(eh_store *s, const char *key, char **value, size_t *len)
{
    eh_rc rc = eh_store_read_args(s, key, value, len);

    if (rc != EH_OK)
        return rc;
    TIMED(EH_STORE_OP_GET, s->ops->get(s, key, value, len));
}

eh_rc eh_store_set(eh_store *s, const char *key, const void *value, size_t len, uint32_t ttl_ms)
{
    if (!eh_store_usable(s) || !eh_store_key_valid(key) || ttl_ms == 0)
        return EH_ERR_INVALID;
    if (value == NULL && len > 0)
        return EH_ERR_INVALID;
    if (len > EH_STORE_VALUE_MAX)
        return EH_ERR_TOO_LARGE;
    /* Implementations never see a NULL value, even for zero bytes. */
    if (value == NULL)
        value = "";
    TIMED(EH_STORE_OP_SET, s->ops->set(s, key, value, len, ttl_ms));
}

eh_rc eh_store_take(eh_store *s, const char *key, char **value, size_t *len)
{
    eh_rc rc = eh_store_read_args(s, key, value, len);

    if (rc != EH_OK)
        return rc;
    TIMED(EH_STORE_OP_TAKE, s->ops->take(s, key, value, len));
}

eh_rc eh_store_del(eh_store *s, const char *key)
{
    if (!eh_store_usable(s) || !eh_store_key_valid(key))
        return EH_ERR_INVALID;
    TIMED(EH_STORE_OP_DEL, s->ops->del(s, key));
}

eh_rc eh_store_incr(eh_store *s, const char *key, uint32_t ttl_ms, int64_t *value)
{
    if (value != NULL)
        *value = 0;
    if (!eh_store_usable(s) || !eh_store_key_valid(key) || ttl_ms == 0 || value == NULL)
        return EH_ERR_INVALID;
    TIMED(EH_STORE_OP_INCR, s->ops->incr(s, key, ttl_ms, value));
}

/* eh_store_batch_args checks every operation of a batch the way the single
 * calls check theirs, and clears the results. */
static eh_rc eh_store_batch_args(eh_store *s, eh_store_batch_op *ops, size_t n)
{
    if (ops == NULL || n == 0 || n > EH_STORE_BATCH_MAX)
        return EH_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        ops[i].count = 0;
        ops[i].rc = EH_ERR_INVALID;
    }
    if (!eh_store_usable(s) || s->ops->batch == NULL)
        return EH_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if ((ops[i].kind != EH_STORE_BATCH_SET && ops[i].kind != EH_STORE_BATCH_INCR) ||
            !eh_store_key_valid(ops[i].key) || ops[i].ttl_ms == 0)
            return EH_ERR_INVALID;
        if (ops[i].kind == EH_STORE_BATCH_SET && ops[i].value == NULL && ops[i].len > 0)
            return EH_ERR_INVALID;
        if (ops[i].kind == EH_STORE_BATCH_SET && ops[i].len > EH_STORE_VALUE_MAX)
            return EH_ERR_TOO_LARGE;
    }
    /* Implementations never see a NULL value, even for zero bytes. */
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == EH_STORE_BATCH_SET && ops[i].value == NULL)
            ops[i].value = "";
    }
    return EH_OK;
}

eh_rc eh_store_batch(eh_store *s, eh_store_batch_op *ops, size_t n)
{
    uint64_t t0, took;
    eh_rc rc = eh_store_batch_args(s, ops, n);

    if (rc != EH_OK)
        return rc;
    t0 = eh_metrics_now();
    rc = s->ops->batch(s, ops, n);
    took = eh_metrics_now() - t0;
    /* each operation is counted as its single call would be, with the time
     * the whole exchange took (what each of them waited for) */
    for (size_t i = 0; i < n; i++)
        eh_metrics_store(ops[i].kind == EH_STORE_BATCH_INCR ? EH_STORE_OP_INCR : EH_STORE_OP_SET,
                         took, ops[i].rc);
    return rc;
}

eh_rc eh_store_ping(eh_store *s)
{
    if (!eh_store_usable(s))
        return EH_ERR_INVALID;
    TIMED(EH_STORE_OP_PING, s->ops->ping(s));
}

int eh_store_may_block(const eh_store *s)
{
    return !eh_store_usable(s) || !s->ops->memory_only;
}

const char *eh_store_name(const eh_store *s)
{
    if (!eh_store_usable(s) || s->ops->name == NULL)
        return "none";
    return s->ops->name;
}

void eh_store_free(eh_store *s)
{
    if (!eh_store_usable(s))
        return;
    s->ops->free(s);
}
