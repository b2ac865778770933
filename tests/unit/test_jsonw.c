/* Unit tests for gateway/jsonw.c's strings: escapes, UTF-8 kept, and any bytes at all written as JSON a strict parser
 * (jansson, here only) takes — whole and cut at every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "jsonw.h"

static char *
written(const char *s, size_t len, size_t *out_len)
{
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 4);
    gw_jsonw_str(&w, s, len);
    *out_len = w.len;
    return w.buf;
}

/* s as jsonw writes it, read back by jansson: the string it names */
static json_t *
round_trip(const char *s, size_t len)
{
    size_t n;
    char *buf = written(s, len, &n);
    json_error_t e;
    json_t *j = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    free(buf);
    return j;
}

static void
check(const char *in, size_t len, const char *want, size_t want_len)
{
    json_t *j = round_trip(in, len);
    assert_non_null(j);
    assert_true(json_is_string(j));
    assert_int_equal(json_string_length(j), want_len);
    assert_memory_equal(json_string_value(j), want, want_len);
    json_decref(j);
}

#define CHECK(in, want) check(in, sizeof(in) - 1, want, sizeof(want) - 1)
#define FFFD "\xef\xbf\xbd"

static void
test_escapes_and_utf8(void **state)
{
    size_t n;
    char *b = written("a\"b\\c<d>&\x01", 10, &n);
    assert_int_equal(n, strlen("\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\u0001\""));
    assert_memory_equal(b, "\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\u0001\"", n);
    free(b);
    CHECK("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"); /* kept as it is */
    CHECK("\x80", FFFD);                        /* a lone continuation byte */
    CHECK("\xc0\xaf", FFFD FFFD);               /* an overlong form */
    CHECK("\xed\xa0\x80", FFFD FFFD FFFD);      /* a surrogate */
    CHECK("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* above U+10FFFF */
    CHECK("\xf5", FFFD);
    CHECK("x\xe4\xb8", "x" FFFD FFFD);           /* cut short */
    CHECK("\xe4\xb8" "a", FFFD FFFD "a");
}

/* every byte value around every kind of sequence, cut at every length: always one JSON string */
static void
test_any_bytes_are_json(void **state)
{
    static const char *const seeds[] = {"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", "\xff\xfe\x80\xc1\xbf\xe0\x9f\xbf", "a\"\\<\x7f"};
    char buf[64];
    for (size_t k = 0; k != sizeof(seeds) / sizeof(seeds[0]); ++k)
        for (int b = 0; b != 256; ++b) {
            size_t len = strlen(seeds[k]);
            memcpy(buf, seeds[k], len);
            buf[len++] = (char)b;
            for (size_t cut = 0; cut <= len; ++cut) {
                json_t *j = round_trip(buf, cut);
                assert_non_null(j);
                json_decref(j);
            }
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_and_utf8),
        cmocka_unit_test(test_any_bytes_are_json),
    };
    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
