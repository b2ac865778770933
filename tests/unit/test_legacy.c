/* Unit tests for filters/legacy.c: the Encoding Standard's labels, legacy encodings decoded to UTF-8 whole and in pieces
 * of every size (valid text, and the standard's error rules: one U+FFFD per broken sequence, an ASCII byte after a lead
 * read again), and a URL's query encoded back as a browser sends it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "legacy.h"

#define LIT(s) s, sizeof(s) - 1

static int
enc(const char *label)
{
    return gw_legacy_from_label(label, strlen(label), NULL);
}

/* in decoded in pieces of `step` bytes (0: whole), then finished */
static size_t
decode_in_steps(int e, const char *in, size_t len, size_t step, char *out)
{
    gw_legacy_dec_t d;
    size_t n = 0;
    gw_legacy_dec_init(&d, e);
    if (step == 0)
        step = len != 0 ? len : 1;
    for (size_t at = 0; at < len; at += step) {
        size_t piece = len - at < step ? len - at : step, wrote = gw_legacy_decode(&d, in + at, piece, out + n);
        assert_true(wrote != (size_t)-1);
        assert_true(wrote <= GW_LEGACY_MAX_OUT(piece));
        n += wrote;
    }
    return n + gw_legacy_finish(&d, out + n);
}

/* the same output whole, byte by byte and in pieces of 2, 3 and 5 (splits inside every sequence) */
static void
check(const char *label, const char *in, size_t len, const char *want, size_t want_len)
{
    static const size_t steps[] = {0, 1, 2, 3, 5};
    char *out = malloc(GW_LEGACY_MAX_OUT(len) + 16);
    int e = enc(label);
    assert_int_not_equal(e, GW_LEGACY_NONE);
    for (size_t i = 0; i != sizeof(steps) / sizeof(steps[0]); ++i) {
        size_t n = decode_in_steps(e, in, len, steps[i], out);
        int same = n == want_len && memcmp(out, want, want_len) == 0;
        if (!same)
            print_error("%s, steps of %zu: got %zu bytes %.*s\n", label, steps[i], n, (int)n, out);
        if (!same)
            free(out);
        assert_true(same);
    }
    free(out);
}

#define CHECK(label, in, want) check(label, in, sizeof(in) - 1, want, sizeof(want) - 1)
#define FFFD "\xef\xbf\xbd"

static void
test_labels(void **state)
{
    int known;
    assert_string_equal(gw_legacy_name(enc("Shift_JIS")), "Shift_JIS");
    assert_string_equal(gw_legacy_name(enc(" sjis\t")), "Shift_JIS");
    assert_string_equal(gw_legacy_name(enc("windows-31j")), "Shift_JIS");
    assert_string_equal(gw_legacy_name(enc("ISO-8859-1")), "windows-1252");
    assert_string_equal(gw_legacy_name(enc("latin1")), "windows-1252");
    assert_string_equal(gw_legacy_name(enc("US-ASCII")), "windows-1252");
    assert_string_equal(gw_legacy_name(enc("ks_c_5601-1987")), "EUC-KR");
    assert_string_equal(gw_legacy_name(enc("gb2312")), "GBK");
    assert_string_equal(gw_legacy_name(enc("big5-hkscs")), "Big5");
    assert_string_equal(gw_legacy_name(enc("x-euc-jp")), "EUC-JP");
    assert_string_equal(gw_legacy_name(enc("iso-8859-9")), "windows-1254");
    assert_string_equal(gw_legacy_name(enc("tis-620")), "windows-874");
    assert_int_equal(gw_legacy_from_label(LIT("utf-8"), &known), GW_LEGACY_NONE);
    assert_true(known);
    assert_int_equal(gw_legacy_from_label(LIT("ISO-2022-JP"), &known), GW_LEGACY_NONE); /* stateful: not here */
    assert_true(known);
    assert_int_equal(gw_legacy_from_label(LIT("utf-16le"), &known), GW_LEGACY_NONE);
    assert_true(known);
    assert_int_equal(gw_legacy_from_label(LIT("shift_jis2"), &known), GW_LEGACY_NONE);
    assert_false(known);
    assert_int_equal(gw_legacy_from_label(LIT("latin-1"), &known), GW_LEGACY_NONE); /* (not a label) */
    assert_false(known);
}

static void
test_valid(void **state)
{
    CHECK("shift_jis", "/wiki/\x93\xfa\x96\x7b", "/wiki/\xe6\x97\xa5\xe6\x9c\xac");            /* 日本 */
    CHECK("shift_jis", "\x95\x5c\x83\x5c", "\xe8\xa1\xa8\xe3\x82\xbd");                        /* 表ソ: trail byte 0x5C */
    CHECK("shift_jis", "a\\b~\xb1", "a\\b~\xef\xbd\xb1");                                      /* ASCII as ASCII; ｱ */
    CHECK("euc-jp", "\xc6\xfc\xcb\xdc", "\xe6\x97\xa5\xe6\x9c\xac");                           /* 日本 */
    CHECK("euc-jp", "\x8e\xb1", "\xef\xbd\xb1");                                               /* ｱ */
    CHECK("euc-kr", "\xc7\xd1\xb1\xb9", "\xed\x95\x9c\xea\xb5\xad");                           /* 한국 */
    CHECK("gbk", "\xd6\xd0\xce\xc4", "\xe4\xb8\xad\xe6\x96\x87");                              /* 中文 */
    CHECK("gbk", "\x80", "\xe2\x82\xac");                                                      /* € */
    CHECK("gb18030", "\x81\x30\x84\x36x", "\xc2\xa5x");                                        /* U+00A5, four bytes */
    CHECK("big5", "\xa4\xa4\xa4\xe5", "\xe4\xb8\xad\xe6\x96\x87");                             /* 中文 */
    CHECK("windows-1252", "caf\xe9 \x80\x81\x9f", "caf\xc3\xa9 \xe2\x82\xac\xc2\x81\xc5\xb8"); /* é € U+0081 Ÿ */
    CHECK("windows-1251", "\xcc\xee\xf1\xea\xe2\xe0\x98", "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0\xc2\x98");
    CHECK("koi8-r", "\xed\xcf\xd3\xcb\xd7\xc1", "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0"); /* Москва */
    CHECK("iso-8859-2", "\xb1", "\xc4\x85");                                                         /* ą */
    CHECK("windows-1258", "a\xcc\xc3", "a\xcc\x80\xc4\x82"); /* a, U+0300 as it is (glibc's CP1258 makes them à), Ă */
    CHECK("windows-1255", "\xe0\xc8", "\xd7\x90\xd6\xb8");   /* א, U+05B8 as it is */
    CHECK("big5", "\x88\x62", "\xc3\x8a\xcc\x84");           /* HKSCS: Ê and U+0304 */
    CHECK("shift_jis", "", "");
}

static void
test_invalid(void **state)
{
    CHECK("shift_jis", "\x81 x", FFFD " x");                     /* a lead and an ASCII byte: the byte read again */
    CHECK("shift_jis", "\x85\x40", FFFD "@");                    /* no character there: the ASCII trail read again */
    CHECK("shift_jis", "\x85\x9f\x93\xfa", FFFD "\xe6\x97\xa5"); /* a non-ASCII trail goes with its lead */
    CHECK("shift_jis", "\xa0\xfd", FFFD FFFD);                   /* no lead */
    CHECK("shift_jis", "\x80", "\xc2\x80");                      /* the standard's U+0080 */
    CHECK("shift_jis", "ab\x93", "ab" FFFD);                     /* cut by the end */
    CHECK("euc-kr", "\xc7", FFFD);
    CHECK("euc-kr", "\xff\xc7\xd1", FFFD "\xed\x95\x9c");
    CHECK("euc-kr", "\xfe\xf7\xbd", FFFD FFFD); /* a lead glibc refuses alone still takes its trail */
    CHECK("euc-jp", "\x8f\xa1 ", FFFD " ");
    CHECK("gb18030", "\x81\x30\x84", FFFD); /* a four-byte sequence cut */
    CHECK("gb18030", "\xff", FFFD);
    CHECK("big5", "\xa4 ", FFFD " ");
    CHECK("iso-8859-3", "\xa5", FFFD); /* no character there */
}

static void
query(const char *label, const char *in, const char *want)
{
    char out[256];
    size_t n = gw_legacy_query(enc(label), in, strlen(in), out, sizeof(out));
    assert_true(n != (size_t)-1);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fail_msg("%s %s: got %.*s, want %s", label, in, (int)n, out, want);
}

static void
test_query(void **state)
{
    query("shift_jis", "?q=\xe6\x97\xa5\xe6\x9c\xac&x=1", "?q=%93%FA%96{&x=1"); /* ('{' not in the query set) */
    query("shift_jis", "?q=\xe2\x82\xac", "?q=%26%238364%3B");                  /* € is not in Shift_JIS */
    query("shift_jis", "?q=" FFFD, "?q=%26%2365533%3B");                        /* (what an invalid byte decoded to) */
    query("shift_jis", "?q=\xff", "?q=%26%2365533%3B");                         /* not UTF-8 */
    query("euc-kr", "?\xed\x95\x9c", "?%C7%D1");
    query("gbk", "?\xe4\xb8\xad", "?%D6%D0");
    query("big5", "?\xe4\xb8\xad", "?%A4%A4");
    query("big5", "?\xc3\x8a", "?%26%23202%3B"); /* Ê: HKSCS, which the standard's encoder leaves out */
    query("windows-1258", "?a\xcc\x80\xc3\xa0\xe1\xba\xa3", "?a%CC%E0%26%237843%3B"); /* a U+0300, à; ả it lacks */
    query("windows-1252", "?caf\xc3\xa9=\xe2\x82\xac\xc2\x81", "?caf%E9=%80%81");
    query("windows-1252", "?\xe6\x97\xa5", "?%26%2326085%3B");
    query("windows-1251", "?\xc2\x98", "?%98");          /* a C1 control in the byte glibc lacks */
    query("windows-1251", "?\xc2\x80", "?%26%23128%3B"); /* ... not where windows-1251 has Ђ */
    char small[8];
    assert_int_equal(gw_legacy_query(enc("shift_jis"), LIT("?\xe6\x97\xa5\xe6\x9c\xac"), small, sizeof(small)), (size_t)-1);
}

static void
meta(const char *content, const char *want)
{
    const char *label = NULL;
    size_t len = 0;
    int found = gw_legacy_meta_charset(content, strlen(content), &label, &len);
    if (want == NULL) {
        assert_false(found);
        return;
    }
    assert_true(found);
    assert_true(label >= content && label + len <= content + strlen(content));
    if (len != strlen(want) || memcmp(label, want, len) != 0)
        fail_msg("%s: got %.*s, want %s", content, (int)len, label, want);
}

static void
test_meta_content(void **state)
{
    meta("text/html; charset=Shift_JIS", "Shift_JIS");
    meta("text/html;CHARSET = 'euc-kr' ;x", "euc-kr");
    meta("text/html; charset=\"big5\"", "big5");
    meta("text/html; charset=gbk;q=1", "gbk");
    meta("text/html; charset=gbk x", "gbk");
    meta("charsetcharset=koi8-r", "koi8-r");      /* the search goes on after a "charset" without '=' */
    meta("x-charset x charset=latin1", "latin1"); /* (anywhere: the algorithm does not read parameters) */
    meta("text/html; charset=\"big5", NULL);      /* a quote never closed */
    meta("text/html; charset=", NULL);
    meta("text/html; charset= ;", NULL);
    meta("text/html", NULL);
    meta("", NULL);
}

int
main(void)
{
    gw_legacy_init();
    gw_legacy_thread_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels), cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_query),  cmocka_unit_test(test_meta_content),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    gw_legacy_thread_dispose();
    return rc;
}
