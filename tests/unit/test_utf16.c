/* Unit tests for filters/utf16.c: the Encoding Standard's UTF-16 decoding to UTF-8, whole and in pieces of every size,
 * checked against glibc's iconv on valid text and against the standard's error rules on broken text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <iconv.h>
#include "utf16.h"

/* in decoded in pieces of `step` bytes (0: whole), then finished; the output into out, its length returned */
static size_t
decode_in_steps(const char *in, size_t len, int big_endian, size_t step, char *out)
{
    gw_utf16_t d;
    size_t n = 0;
    gw_utf16_init(&d, big_endian);
    if (step == 0)
        step = len != 0 ? len : 1;
    for (size_t at = 0; at < len; at += step) {
        size_t piece = len - at < step ? len - at : step;
        size_t wrote = gw_utf16_decode(&d, in + at, piece, out + n);
        assert_true(wrote <= GW_UTF16_MAX_OUT(piece));
        n += wrote;
    }
    return n + gw_utf16_finish(&d, out + n);
}

/* the same output whole, byte by byte and in pieces of 3 and 5 (splits inside code units and surrogate pairs) */
static void
check(const char *in, size_t len, int big_endian, const char *want, size_t want_len)
{
    static const size_t steps[] = {0, 1, 2, 3, 5};
    char *out = malloc(GW_UTF16_MAX_OUT(len) + 16);
    for (size_t i = 0; i != sizeof(steps) / sizeof(steps[0]); ++i) {
        size_t n = decode_in_steps(in, len, big_endian, steps[i], out);
        assert_int_equal(n, want_len);
        assert_memory_equal(out, want, want_len);
    }
    free(out);
}

#define CHECK(in, be, want) check(in, sizeof(in) - 1, be, want, sizeof(want) - 1)

static void
test_text(void **state)
{
    CHECK("<\0p\0>\0", 0, "<p>");
    CHECK("\0<\0p\0>", 1, "<p>");
    CHECK("\xe9\0-\0\x2d\x4e", 0, "\xc3\xa9-\xe4\xb8\xad");         /* é - 中 */
    CHECK("\x3d\xd8\x00\xde", 0, "\xf0\x9f\x98\x80");                /* U+1F600 as a surrogate pair */
    CHECK("\xd8\x3d\xde\x00", 1, "\xf0\x9f\x98\x80");
    CHECK("\xff\xdb\xff\xdf", 0, "\xf4\x8f\xbf\xbf");                /* U+10FFFF */
    CHECK("\0\0\x7f\0\x80\0\xff\x07\0\x08", 0, "\0\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80");
    CHECK("", 0, "");
}

static void
test_errors(void **state)
{
    CHECK("\x00\xdc" "a\0", 0, "\xef\xbf\xbd" "a");                 /* a lone low surrogate */
    CHECK("\x3d\xd8" "a\0", 0, "\xef\xbf\xbd" "a");                 /* a high one followed by something else */
    CHECK("\x3d\xd8\x3d\xd8\x00\xde", 0, "\xef\xbf\xbd\xf0\x9f\x98\x80"); /* a high one, then a pair */
    CHECK("a\0\x3d\xd8", 0, "a\xef\xbf\xbd");                       /* a high one at the end */
    CHECK("a\0b", 0, "a\xef\xbf\xbd");                              /* an odd byte at the end */
    CHECK("a\0\x3d\xd8" "b", 0, "a\xef\xbf\xbd");                   /* both: one U+FFFD (Encoding Standard) */
    CHECK("\xdc\x00", 1, "\xef\xbf\xbd");
}

/* random valid text (every plane, surrogate pairs included) against iconv, in both byte orders */
static void
test_against_iconv(void **state)
{
    enum { UNITS = 4000 };
    uint16_t *units = malloc(UNITS * sizeof(*units) + 4);
    char *in = malloc(UNITS * 2 + 8), *want = malloc(UNITS * 4 + 16), *out = malloc(GW_UTF16_MAX_OUT(UNITS * 2) + 16);
    srand(20261130);
    for (int be = 0; be != 2; ++be) {
        for (int round = 0; round != 20; ++round) {
            size_t nu = 0;
            while (nu < UNITS - 1) {
                uint32_t c;
                switch (rand() % 4) {
                case 0: c = (uint32_t)(rand() % 0x80); break;
                case 1: c = 0x80 + (uint32_t)(rand() % 0x780); break;
                case 2: c = 0x800 + (uint32_t)(rand() % (0xd800 - 0x800)); break;
                default: c = rand() % 2 ? 0xe000 + (uint32_t)(rand() % 0x2000) : 0x10000 + (uint32_t)(rand() % 0x100000); break;
                }
                if (c >= 0x10000) {
                    units[nu++] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
                    units[nu++] = (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff));
                } else {
                    units[nu++] = (uint16_t)c;
                }
            }
            for (size_t i = 0; i != nu; ++i) {
                in[2 * i + be] = (char)(units[i] & 0xff); /* the low byte first in UTF-16LE, second in UTF-16BE */
                in[2 * i + !be] = (char)(units[i] >> 8);
            }
            iconv_t cd = iconv_open("UTF-8", be ? "UTF-16BE" : "UTF-16LE");
            assert_true(cd != (iconv_t)-1);
            char *ip = in, *op = want;
            size_t il = nu * 2, ol = UNITS * 4 + 16;
            assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
            iconv_close(cd);
            size_t want_len = (size_t)(op - want);
            size_t step = round == 0 ? 0 : (size_t)(1 + rand() % 97);
            size_t n = decode_in_steps(in, nu * 2, be, step, out);
            assert_int_equal(n, want_len);
            assert_memory_equal(out, want, want_len);
        }
    }
    free(units), free(in), free(want), free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_against_iconv),
    };
    return cmocka_run_group_tests_name("utf16", tests, NULL, NULL);
}
