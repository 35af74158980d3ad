#include "tests/unit/suites.h"

#include <string.h>

#include "broker/rc.h"

START_TEST(every_code_has_its_own_text)
{
    const eh_rc codes[] = {EH_OK, EH_ERR_NOMEM, EH_ERR_INVALID, EH_ERR_NOT_FOUND,
                           EH_ERR_TOO_LARGE, EH_ERR_IO, EH_ERR_INTERNAL, EH_ERR_CONFLICT,
                           EH_ERR_STORE_UNAVAILABLE, EH_ERR_STORE_TIMEOUT, EH_ERR_STORE_FULL,
                           EH_ERR_STORE_PROTOCOL, EH_ERR_CONFIG, EH_ERR_KEY, EH_ERR_CRYPTO,
                           EH_ERR_HTTP_METHOD, EH_ERR_HTTP_NO_ROUTE};
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_ne(eh_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(eh_strerror(codes[i]), eh_strerror(codes[j]));
    }
}
END_TEST

START_TEST(unknown_code_is_never_null)
{
    ck_assert_str_eq(eh_strerror((eh_rc)12345), "unknown error");
    ck_assert_str_eq(eh_strerror(EH_OK), "success");
}
END_TEST

Suite *suite_rc(void)
{
    Suite *s = suite_create("rc");
    TCase *tc = tcase_create("strerror");
    tcase_add_test(tc, every_code_has_its_own_text);
    tcase_add_test(tc, unknown_code_is_never_null);
    suite_add_tcase(s, tc);
    return s;
}
