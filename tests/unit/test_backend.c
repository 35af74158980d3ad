#include "tests/unit/suites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/backends/backend.h"
#include "broker/i18n.h"

START_TEST(registry_is_complete)
{
    size_t n = 0;
    const eh_backend_def *defs = eh_backends(&n);

    ck_assert_ptr_nonnull(defs);
    ck_assert_uint_ge(n, 1);
    ck_assert_uint_le(n, EH_BACKEND_MAX);
    for (size_t i = 0; i < n; i++) {
        const eh_backend_def *d = &defs[i];
        ck_assert_msg(d->name != NULL && d->name[0] != '\0', "backend %zu has no name", i);
        ck_assert_msg(d->label_key != NULL && d->amr != NULL && d->scope != NULL &&
                          d->start_path != NULL,
                      "%s: a member is missing", d->name);
        ck_assert_msg(d->amr[0] && d->scope[0], "%s: empty amr or scope", d->name);
        ck_assert_msg(d->load != NULL && d->free != NULL, "%s: no load or free", d->name);
        ck_assert_msg(d->loa > EH_LOA_NONE && d->loa <= EH_LOA_HIGH, "%s: bad loa", d->name);
        /* a root-relative path of ours, never a URL elsewhere */
        ck_assert_msg(d->start_path[0] == '/' && d->start_path[1] != '/', "%s: start_path %s",
                      d->name, d->start_path);
        /* its label is in the catalog, in both languages */
        ck_assert_msg(strcmp(eh_i18n("en", d->label_key), d->label_key) != 0,
                      "%s: label %s not in the catalog", d->name, d->label_key);
        ck_assert_str_ne(eh_i18n("et", d->label_key), d->label_key);
        /* the name is usable as a JSON member and an OIDC value */
        ck_assert_uint_eq(strspn(d->name, "abcdefghijklmnopqrstuvwxyz0123456789_"),
                          strlen(d->name));
        ck_assert_ptr_null(strchr(d->scope, ' '));
    }
}
END_TEST

START_TEST(names_amr_scopes_paths_unique)
{
    size_t n = 0;
    const eh_backend_def *defs = eh_backends(&n);

    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            ck_assert_str_ne(defs[i].name, defs[j].name);
            ck_assert_str_ne(defs[i].scope, defs[j].scope);
            ck_assert_str_ne(defs[i].start_path, defs[j].start_path);
            ck_assert_str_ne(defs[i].amr, defs[j].amr);
        }
    }
}
END_TEST

START_TEST(lookups)
{
    size_t n = 0;
    const eh_backend_def *defs = eh_backends(&n);

    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(eh_backend_index(defs[i].name), (int)i);
        ck_assert_ptr_eq(eh_backend_find(defs[i].name), &defs[i]);
    }
    {
        const eh_backend_def *mid = eh_backend_find("mobile_id");
        ck_assert_ptr_nonnull(mid);
        ck_assert_str_eq(mid->amr, "mID");
        ck_assert_str_eq(mid->scope, "mid");
        ck_assert_str_eq(mid->start_path, "/auth/mid");
        ck_assert_int_eq(mid->loa, EH_LOA_HIGH);
    }
    const char *bad[] = {"", "Mobile_ID", "mobile_id ", "mobile", "mobile_idx", "mID", "mid"};
    ck_assert_int_eq(eh_backend_index(NULL), -1);
    ck_assert_ptr_null(eh_backend_find(NULL));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(eh_backend_index(bad[i]), -1);
        ck_assert_ptr_null(eh_backend_find(bad[i]));
    }
}
END_TEST

START_TEST(load_refuses_empty_settings_with_one_line)
{
    /* every backend needs some settings: {} and a non-object are refused
     * with "<file>: <path>...: <what>" and no state */
    size_t n = 0;
    const eh_backend_def *defs = eh_backends(&n);

    for (size_t i = 0; i < n; i++) {
        json_t *cases[] = {json_object(), json_string("x"), json_array()};
        for (size_t c = 0; c < 3; c++) {
            char err[512] = "", want[128];
            void *state = NULL;
            eh_rc rc = defs[i].load(cases[c], "/etc/eidhub/broker.json", "$.backends.x", &state,
                                    err, sizeof(err));
            ck_assert_msg(rc != EH_OK, "%s accepted case %zu", defs[i].name, c);
            ck_assert_ptr_null(state);
            snprintf(want, sizeof(want), "/etc/eidhub/broker.json: $.backends.x");
            ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s", defs[i].name, err);
            ck_assert_ptr_null(strchr(err, '\n'));
            json_decref(cases[c]);
        }
    }
}
END_TEST

Suite *suite_backend(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, registry_is_complete);
    tcase_add_test(tc, names_amr_scopes_paths_unique);
    tcase_add_test(tc, lookups);
    tcase_add_test(tc, load_refuses_empty_settings_with_one_line);
    suite_add_tcase(s, tc);
    return s;
}
