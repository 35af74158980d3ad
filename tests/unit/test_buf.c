#include "tests/unit/suites.h"

#include <stdlib.h>
#include <string.h>

#include "broker/buf.h"
#include "broker/http.h"

/* finish hands b's text over, checking the length it reports. */
static char *finish(eh_buf *b)
{
    char *out = NULL;
    size_t len = 12345;
    ck_assert_int_eq(eh_buf_finish(b, &out, &len), EH_OK);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

/* html returns s escaped for HTML (caller frees). */
static char *html(const char *s)
{
    eh_buf b;
    eh_buf_init(&b);
    eh_buf_append_html(&b, s);
    return finish(&b);
}

/* urlenc returns s percent-encoded (caller frees). */
static char *urlenc(const char *s)
{
    eh_buf b;
    eh_buf_init(&b);
    eh_buf_append_urlenc(&b, s);
    return finish(&b);
}

START_TEST(appends_concatenate)
{
    eh_buf b;
    char *out;

    eh_buf_init(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    eh_buf_append(&b, "one");
    eh_buf_append_len(&b, ", two, three", 5);
    eh_buf_append(&b, "");
    eh_buf_append_len(&b, "ignored", 0);
    eh_buf_appendf(&b, " %d-%s", 3, "x");
    ck_assert_str_eq(b.data, "one, two 3-x");
    ck_assert_uint_eq(b.len, 12);
    out = finish(&b);
    ck_assert_str_eq(out, "one, two 3-x");
    /* finish empties the buffer, which can be used again */
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    eh_buf_append(&b, "again");
    free(out);
    out = finish(&b);
    ck_assert_str_eq(out, "again");
    free(out);
}
END_TEST

START_TEST(append_len_copies_embedded_bytes_exactly)
{
    eh_buf b;
    char *out = NULL;
    size_t len = 0;

    eh_buf_init(&b);
    eh_buf_append_len(&b, "ab\0cd", 5);
    ck_assert_int_eq(eh_buf_finish(&b, &out, &len), EH_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(out, "ab\0cd", 6), 0); /* and NUL-terminated */
    free(out);
}
END_TEST

START_TEST(appendf_grows_past_first_allocation)
{
    eh_buf b;
    char big[1001], *out;

    memset(big, 'x', 1000);
    big[1000] = '\0';
    eh_buf_init(&b);
    eh_buf_append(&b, "<");
    /* one formatted append bigger than the first 256-byte block */
    eh_buf_appendf(&b, "%s|%05d", big, 42);
    ck_assert_uint_eq(b.len, 1 + 1000 + 6);
    ck_assert_uint_ge(b.cap, b.len + 1);
    /* many small appends across several doublings */
    for (int i = 0; i < 2000; i++)
        eh_buf_appendf(&b, "%c", 'a' + i % 26);
    ck_assert_uint_eq(b.len, 1007 + 2000);
    out = finish(&b);
    ck_assert_uint_eq(strlen(out), 3007);
    ck_assert_int_eq(out[0], '<');
    ck_assert_int_eq(strncmp(out + 1, big, 1000), 0);
    ck_assert_int_eq(strncmp(out + 1001, "|00042", 6), 0);
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(out[1007 + i], 'a' + i % 26);
    free(out);
}
END_TEST

START_TEST(appendf_exactly_at_block_boundaries)
{
    /* 255 bytes fill the first block with its NUL; one more must grow */
    for (size_t n = 250; n <= 260; n++) {
        eh_buf b;
        char *s = malloc(n + 1), *out;
        ck_assert_ptr_nonnull(s);
        memset(s, 'q', n);
        s[n] = '\0';
        eh_buf_init(&b);
        eh_buf_appendf(&b, "%s", s);
        eh_buf_append(&b, "!");
        out = finish(&b);
        ck_assert_uint_eq(strlen(out), n + 1);
        ck_assert_int_eq(strncmp(out, s, n), 0);
        ck_assert_int_eq(out[n], '!');
        free(out);
        free(s);
    }
}
END_TEST

START_TEST(html_escapes_the_five_characters)
{
    char *out = html("a&b<c>d\"e'f");
    ck_assert_str_eq(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    free(out);
    out = html("<script>alert('x')</script>");
    ck_assert_str_eq(out, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    free(out);
    /* an attribute break-out attempt stays inside the quotes */
    out = html("\" onmouseover=\"x");
    ck_assert_ptr_null(strchr(out, '"'));
    free(out);
    /* an already escaped text is escaped again, never passed as markup */
    out = html("&amp;");
    ck_assert_str_eq(out, "&amp;amp;");
    free(out);
    /* UTF-8 and other bytes pass unchanged */
    out = html("Jõgeva mänd, 100% / ok");
    ck_assert_str_eq(out, "Jõgeva mänd, 100% / ok");
    free(out);
    out = html("");
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(html_escaped_output_has_no_markup_for_any_byte)
{
    char in[256], *out;
    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = '\0';
    out = html(in);
    ck_assert_ptr_null(strpbrk(out, "<>\"'"));
    /* every & starts one of the five entities */
    for (const char *p = strchr(out, '&'); p != NULL; p = strchr(p + 1, '&')) {
        ck_assert_msg(strncmp(p, "&amp;", 5) == 0 || strncmp(p, "&lt;", 4) == 0 ||
                          strncmp(p, "&gt;", 4) == 0 || strncmp(p, "&quot;", 6) == 0 ||
                          strncmp(p, "&#39;", 5) == 0,
                      "stray & at %s", p);
    }
    free(out);
}
END_TEST

START_TEST(urlenc_reserved_and_unicode)
{
    char *out = urlenc("AZaz09-._~");
    ck_assert_str_eq(out, "AZaz09-._~");
    free(out);
    out = urlenc("a b&c=d/e?f#g+h%i");
    ck_assert_str_eq(out, "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25i");
    free(out);
    out = urlenc("https://x.ee/cb?x=1");
    ck_assert_str_eq(out, "https%3A%2F%2Fx.ee%2Fcb%3Fx%3D1");
    free(out);
    /* UTF-8 bytes, encoded one by one in uppercase hex */
    out = urlenc("õ€");
    ck_assert_str_eq(out, "%C3%B5%E2%82%AC");
    free(out);
    out = urlenc("\r\n\t\x7f\xff");
    ck_assert_str_eq(out, "%0D%0A%09%7F%FF");
    free(out);
    out = urlenc("");
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(urlenc_round_trips_every_byte)
{
    char in[256], *out, *back = NULL;
    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = '\0';
    out = urlenc(in);
    /* only unreserved characters and %XX remain */
    for (const char *p = out; *p; p++)
        ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%",
                             *p) != NULL,
                      "unencoded byte 0x%02x", (unsigned char)*p);
    ck_assert_int_eq(eh_http_form_decode(out, strlen(out), &back), EH_OK);
    ck_assert_str_eq(back, in);
    free(back);
    free(out);
}
END_TEST

START_TEST(finish_of_empty_buffer_is_empty_string)
{
    eh_buf b;
    char *out = NULL;
    size_t len = 99;

    eh_buf_init(&b);
    ck_assert_int_eq(eh_buf_finish(&b, &out, &len), EH_OK);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(len, 0);
    free(out);
    /* len may be NULL */
    eh_buf_init(&b);
    eh_buf_append(&b, "x");
    ck_assert_int_eq(eh_buf_finish(&b, &out, NULL), EH_OK);
    ck_assert_str_eq(out, "x");
    free(out);
}
END_TEST

START_TEST(failed_buffer_ignores_appends_and_reports_once)
{
    eh_buf b;
    char *out = NULL;

    eh_buf_init(&b);
    eh_buf_append(&b, "before");
    b.failed = 1; /* as after an allocation failure */
    eh_buf_append(&b, "after");
    eh_buf_appendf(&b, "%s", "more");
    eh_buf_append_html(&b, "<>");
    eh_buf_append_urlenc(&b, "a b");
    ck_assert_uint_eq(b.len, 6);
    ck_assert_int_eq(eh_buf_finish(&b, &out, NULL), EH_ERR_NOMEM);
    ck_assert_ptr_null(out);
    /* finish released the memory and reset the buffer */
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(b.failed, 0);
}
END_TEST

START_TEST(free_releases_and_resets)
{
    eh_buf b;
    eh_buf_init(&b);
    eh_buf_free(&b); /* never allocated */
    eh_buf_append(&b, "text");
    eh_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    eh_buf_free(&b); /* twice is fine */
}
END_TEST

Suite *suite_buf(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, appends_concatenate);
    tcase_add_test(tc, append_len_copies_embedded_bytes_exactly);
    tcase_add_test(tc, appendf_grows_past_first_allocation);
    tcase_add_test(tc, appendf_exactly_at_block_boundaries);
    tcase_add_test(tc, html_escapes_the_five_characters);
    tcase_add_test(tc, html_escaped_output_has_no_markup_for_any_byte);
    tcase_add_test(tc, urlenc_reserved_and_unicode);
    tcase_add_test(tc, urlenc_round_trips_every_byte);
    tcase_add_test(tc, finish_of_empty_buffer_is_empty_string);
    tcase_add_test(tc, failed_buffer_ignores_appends_and_reports_once);
    tcase_add_test(tc, free_releases_and_resets);
    suite_add_tcase(s, tc);
    return s;
}
