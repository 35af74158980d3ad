#include "tests/unit/suites.h"

#include <unistd.h>

#include "broker/rate_limit.h"

static eh_store *store;

static void setup(void)
{
    ck_assert_int_eq(eh_store_shm_new(eh_store_shm_min_size(), &store), EH_OK);
}

static void teardown(void)
{
    eh_store_free(store);
}

START_TEST(limit_counts_per_value)
{
    for (int i = 0; i < 3; i++)
        ck_assert(!eh_rate_limited(store, "t:person", "38001085718", 3, 60));
    ck_assert(eh_rate_limited(store, "t:person", "38001085718", 2, 60));
    /* another value, and the same value in another section, have their own counters */
    ck_assert(!eh_rate_limited(store, "t:person", "60001019906", 3, 60));
    ck_assert(!eh_rate_limited(store, "t:phone", "38001085718", 3, 60));
}
END_TEST

START_TEST(window_ends)
{
    ck_assert(!eh_rate_limited(store, "t:w", "x", 1, 1));
    ck_assert(eh_rate_limited(store, "t:w", "x", 1, 1));
    sleep(2);
    ck_assert(!eh_rate_limited(store, "t:w", "x", 1, 1));
}
END_TEST

START_TEST(keys_hold_no_value_and_null_is_counted)
{
    char *v = NULL;
    size_t len = 0;
    ck_assert(!eh_rate_limited(store, "t:n", NULL, 1, 60));
    ck_assert(eh_rate_limited(store, "t:n", NULL, 1, 60));
    /* the counter is under a digest, never under the value itself */
    ck_assert(!eh_rate_limited(store, "t:p", "38001085718", 5, 60));
    ck_assert_int_eq(eh_store_get(store, "rl:t:p:38001085718", &v, &len), EH_ERR_NOT_FOUND);
}
END_TEST

START_TEST(unreachable_store_counts_as_over)
{
    eh_store *dead = NULL;
    char err[128];
    ck_assert_int_eq(eh_store_redis_new("redis://127.0.0.1:1/0", 100, &dead, err, sizeof(err)),
                     EH_OK);
    ck_assert(eh_rate_limited(dead, "t:d", "x", 100, 60));
    eh_store_free(dead);
}
END_TEST

START_TEST(all_counters_count_in_one_batch)
{
    const eh_rate_counter three[] = {
        {"t:person", "38001085718", 2}, {"t:phone", "+37200000766", 1}, {"t:addr", NULL, 5}};
    char *v = NULL;
    size_t len = 0;

    ck_assert(!eh_rate_limited_all(store, three, 3, 60));
    /* the phone is over: the attempt is refused, and every counter counted it */
    ck_assert(eh_rate_limited_all(store, three, 3, 60));
    ck_assert(eh_rate_limited(store, "t:person", "38001085718", 2, 60));
    ck_assert(!eh_rate_limited(store, "t:addr", NULL, 3, 60));
    ck_assert(eh_rate_limited(store, "t:addr", NULL, 3, 60));
    /* the same counters as single calls make: only digests in the keys */
    ck_assert_int_eq(eh_store_get(store, "rl:t:phone:+37200000766", &v, &len), EH_ERR_NOT_FOUND);
    /* nothing to count, or more than a batch holds, is over */
    ck_assert(eh_rate_limited_all(store, three, 0, 60));
    ck_assert(eh_rate_limited_all(store, three, EH_STORE_BATCH_MAX + 1, 60));
}
END_TEST

START_TEST(all_counters_over_without_a_store)
{
    const eh_rate_counter two[] = {{"t:a", "x", 100}, {"t:b", "y", 100}};
    eh_store *dead = NULL;
    char err[128];

    ck_assert_int_eq(eh_store_redis_new("redis://127.0.0.1:1/0", 100, &dead, err, sizeof(err)),
                     EH_OK);
    ck_assert(eh_rate_limited_all(dead, two, 2, 60));
    ck_assert(eh_rate_limited_all(NULL, two, 2, 60));
    /* a window of zero cannot be kept: over, not unlimited */
    ck_assert(eh_rate_limited_all(store, two, 2, 0));
    eh_store_free(dead);
}
END_TEST

Suite *suite_rate_limit(void)
{
    Suite *s = suite_create("rate_limit");
    TCase *tc = tcase_create("rate_limit");
    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, limit_counts_per_value);
    tcase_add_test(tc, window_ends);
    tcase_add_test(tc, keys_hold_no_value_and_null_is_counted);
    tcase_add_test(tc, unreachable_store_counts_as_over);
    tcase_add_test(tc, all_counters_count_in_one_batch);
    tcase_add_test(tc, all_counters_over_without_a_store);
    suite_add_tcase(s, tc);
    return s;
}
