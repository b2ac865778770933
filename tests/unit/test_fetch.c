/* fetch: srcset candidates and Accept-Encoding, against the cases browsers and origins produce */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "fetch.h"

/* the candidates of v joined with '|' */
static const char *
candidates(const char *v)
{
    static char out[1024];
    size_t pos = 0, n = 0, len;
    const char *url;
    out[0] = '\0';
    while (gw_srcset_next(v, strlen(v), &pos, &url, &len)) {
        assert_true(len != 0);
        assert_true(url >= v && url + len <= v + strlen(v));
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n != 0 ? "|" : "", (int)len, url);
    }
    assert_int_equal(pos, strlen(v));
    return out;
}

static void
test_srcset(void **state)
{
    assert_string_equal(candidates(""), "");
    assert_string_equal(candidates(" , ,"), "");
    assert_string_equal(candidates("a.png"), "a.png");
    assert_string_equal(candidates("a.png 1x, b.png 2x"), "a.png|b.png");
    assert_string_equal(candidates("a.png 1x,b.png 2x"), "a.png|b.png");
    assert_string_equal(candidates("a.png,b.png"), "a.png,b.png");  /* a comma inside a URL is the URL's */
    assert_string_equal(candidates("a.png, b.png"), "a.png|b.png"); /* its trailing comma is not */
    assert_string_equal(candidates("a.png,, b.png,,"), "a.png|b.png");
    assert_string_equal(candidates("\t\na.png 100w,\r\n b.png  200w "), "a.png|b.png");
    assert_string_equal(candidates("https://t.example/p?a=1,2 1x, /b.png 2x"), "https://t.example/p?a=1,2|/b.png");
    /* a descriptor with a comma inside parentheses is one descriptor */
    assert_string_equal(candidates("a.png (min-width: 1px, 2px) 1x, b.png"), "a.png|b.png");
    assert_string_equal(candidates("a.png ((1, 2), 3), b.png"), "a.png|b.png");
    assert_string_equal(candidates("a.png ), b.png"), "a.png|b.png"); /* a stray ')' closes nothing */
    assert_string_equal(candidates("a.png (unclosed, b.png"), "a.png");
}

static void
test_srcset_resumes_anywhere(void **state)
{
    /* the iterator is restartable from any *pos it returned, and never runs past len */
    const char *v = "x.png 1x, https://t.example/y.png 2x, z.png";
    size_t pos = 0, len, n = 0;
    const char *url;
    while (gw_srcset_next(v, strlen(v), &pos, &url, &len))
        assert_true(pos <= strlen(v) && ++n <= 3);
    assert_int_equal(n, 3);
    for (size_t cut = 0; cut <= strlen(v); ++cut) {
        size_t p = 0;
        while (gw_srcset_next(v, cut, &p, &url, &len))
            assert_true(url + len <= v + cut && p <= cut);
    }
}

static void
test_accepts_coding(void **state)
{
    static const struct {
        const char *v;
        int gzip, br;
    } cases[] = {
        {"", 0, 0},
        {"gzip", 1, 0},
        {"GZip", 1, 0},
        {"x-gzip", 1, 0},
        {"gzip, deflate, br, zstd", 1, 1},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", 1, 1},
        {"gzip;q=0", 0, 0},
        {"gzip; q=0.000, br", 0, 1},
        {"gzip;q=0.", 0, 0},
        {"gzip;q=0.001", 1, 0},
        {"gzip;Q=0", 0, 0},
        {"gzip;level=1;q=0", 0, 0},
        {"gzip;q=1", 1, 0},
        {"*", 0, 0},
        {"identity", 0, 0},
        {"gzipx, brotli", 0, 0},
        {" , ,gzip , ", 1, 0},
        {"deflate, gzip;q=0, gzip", 1, 0}, /* listed twice: one acceptable listing suffices */
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        size_t n = strlen(cases[i].v);
        if (gw_accepts_coding(cases[i].v, n, "gzip") != cases[i].gzip || gw_accepts_coding(cases[i].v, n, "br") != cases[i].br)
            fail_msg("\"%s\": want gzip %d br %d", cases[i].v, cases[i].gzip, cases[i].br);
    }
    /* every prefix of a browser's value: gzip counts only once the whole token is inside */
    static const char browser[] = "br;q=1, gzip;q=0.5, zstd";
    for (size_t cut = 0; cut <= sizeof(browser) - 1; ++cut)
        assert_int_equal(gw_accepts_coding(browser, cut, "gzip"), cut >= 12 && cut != 16 && cut != 17); /* "q=0", "q=0." refuse */
    /* never reads past len: a value cut inside "gzip" is not gzip */
    assert_int_equal(gw_accepts_coding("gzip", 3, "gzip"), 0);
    assert_int_equal(gw_accepts_coding("gzip;q=0", 6, "gzip"), 1); /* "gzip;q" has no q-value yet */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srcset),
        cmocka_unit_test(test_srcset_resumes_anywhere),
        cmocka_unit_test(test_accepts_coding),
    };
    return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
