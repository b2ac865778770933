/* fetch: srcset candidates, CSS escapes and URLs, Link header values, refreshes, and Accept-Encoding, against the cases browsers
 * and origins produce */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
    /* parentheses do not nest (the tokenizer's "in parens" state): the first ')' closes them, and Chromium fetches
     * "3)" here and t.png below (read as nested, both were hidden in a descriptor) */
    assert_string_equal(candidates("a.png ((1, 2), 3), b.png"), "a.png|3)|b.png");
    assert_string_equal(candidates("/a.png 1x((), //t.example/t.png 2x, /b.png 3x)"), "/a.png|//t.example/t.png|/b.png");
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

/* gw_css_unescape of v, in a buffer of exactly its length (ASan sees a write past it), and again in place */
static const char *
unescaped(const char *v)
{
    static char out[256];
    size_t len = strlen(v);
    char *in = malloc(len + 1), *o = malloc(len + 1);
    memcpy(in, v, len);
    size_t n = gw_css_unescape(in, len, o);
    assert_true(n <= len);
    assert_int_equal(gw_css_unescape(in, len, in), n);
    assert_memory_equal(in, o, n);
    memcpy(out, o, n);
    out[n] = '\0';
    free(in);
    free(o);
    return out;
}

static void
test_css_unescape(void **state)
{
    assert_string_equal(unescaped(""), "");
    assert_string_equal(unescaped("url(a.png)"), "url(a.png)");
    assert_string_equal(unescaped("https\\3a \\2f\\2f evil.example/x"), "https://evil.example/x"); /* one blank ends an escape */
    assert_string_equal(unescaped("\\2f\\2f"), "//");
    assert_string_equal(unescaped("\\00002fx"), "/x");         /* six digits at most: the seventh is text */
    assert_string_equal(unescaped("\\2fevil"), "\xcb\xbevil"); /* "2fe" are three hex digits: U+02FE */
    assert_string_equal(unescaped("u\\72l(x)"), "url(x)");
    assert_string_equal(unescaped("\\E9 t\\e9"), "\xc3\xa9t\xc3\xa9");
    assert_string_equal(unescaped("\\1F600"), "\xf0\x9f\x98\x80");
    assert_string_equal(unescaped("\\0 a\\D800 b\\110000 c"), "_a_b_c"); /* 0, a surrogate, over U+10FFFF */
    assert_string_equal(unescaped("\\)\\\\\\/"), ")\\/"); /* any other byte is itself */
    /* but for what would open or end a string or comment the escaped text has none: a quote, a newline, the '*' of a
     * comment's start, a '/' before a '*' */
    assert_string_equal(unescaped("\\\"\\'\\22\\27 \\a\\D \\C \\*\\2a"), "_________");
    assert_string_equal(unescaped("/\\2a \\2f*\\/*"), "/__*_*");
    assert_string_equal(unescaped("a\\\nb\\\r\nc"), "abc");              /* a string's line continuation */
    assert_string_equal(unescaped("\\2f\r\nx"), "/x");                   /* CR LF after an escape is one blank */
    assert_string_equal(unescaped("end\\"), "end");
}

/* the URLs of css joined with '|' */
static const char *
css_urls(const char *css)
{
    static char out[1024];
    size_t pos = 0, n = 0, len, total = strlen(css);
    const char *url;
    out[0] = '\0';
    while (gw_css_next_url(css, total, &pos, &url, &len)) {
        assert_true(len != 0 && url >= css && url + len <= css + total && pos <= total);
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n != 0 ? "|" : "", (int)len, url);
    }
    assert_int_equal(pos, total);
    return out;
}

static void
test_css_urls(void **state)
{
    assert_string_equal(css_urls(""), "");
    assert_string_equal(css_urls("p { color: red }"), "");
    assert_string_equal(css_urls(".a{background:url(/img/a.png)}"), "/img/a.png");
    assert_string_equal(css_urls("background: URL( 'https://t.example/p?x=1' ) , url(\"b.png\")"), "https://t.example/p?x=1|b.png");
    assert_string_equal(css_urls("url(  x.png  )"), "x.png");
    assert_string_equal(css_urls("url() url('') url(\"\")"), "");
    assert_string_equal(css_urls("curl(a.png) my-url(b.png) _url(c.png) url(d.png)"), "d.png"); /* longer names */
    assert_string_equal(css_urls("@import \"https://t.example/x.css\"; @IMPORT\n 'local.css' screen;"),
                        "https://t.example/x.css|local.css");
    assert_string_equal(css_urls("x@imports 'a.css'; @import '' ; 'import b.css'"), ""); /* not an @import, empty */
    assert_string_equal(css_urls("background-image: image-set(\"//cdn.example/a.png\" 1x, 'b.png' 2x)"), "//cdn.example/a.png|b.png");
    assert_string_equal(css_urls("content: \"a // b\""), "a // b"); /* a string with // may be a URL: checked (harmless) */
    /* image-set()'s strings are URLs, relative ones too (Chromium fetches them), whatever options come before them */
    assert_string_equal(css_urls("a{b:image-set(\"/p1.gif\" 1x)}"), "/p1.gif");
    assert_string_equal(css_urls("a{b:-webkit-image-set('p2.gif' 1x, 'p3.gif' 2x)}"), "p2.gif|p3.gif");
    assert_string_equal(css_urls("a{b:IMAGE-SET(url(u.gif) 1x, \"s.gif\" 2x)}"), "u.gif|s.gif");
    assert_string_equal(css_urls("a{b:image-set(type(\"image/avif\") \"c.avif\", \"d.png\" type(\"image/png\"))}"),
                        "c.avif|d.png");
    assert_string_equal(css_urls("a{content:\"x\"; b:foo-image-set(\"y\") xwebkit-image-set(\"z\")} c{d:\"w\"}"), "");
    assert_string_equal(css_urls("/* url(hidden.png) \"//x.example\" */ url(shown.png)"), "shown.png");
    assert_string_equal(css_urls("/* unterminated url(x.png)"), "");
    assert_string_equal(css_urls("url('unterminated.png"), "unterminated.png");
    assert_string_equal(css_urls("url(\"a.png\nb.png\")"), "a.png"); /* a newline ends a quoted URL */
    assert_string_equal(css_urls("url(a.png"), "a.png");
    assert_string_equal(css_urls("\"//t.example/x\" url(y)"), "//t.example/x|y");
    assert_string_equal(css_urls("@font-face{src:url(data:font/woff2;base64,AAAA) format('woff2')}"),
                        "data:font/woff2;base64,AAAA");
}

/* CSS text as the rewriter reads it, unescaped first: an escaped quote, newline or comment start does not hide the
 * url() after it in a string or comment (Chromium 156 fetches each of these) */
static void
test_css_urls_after_escapes(void **state)
{
    static const char *const cases[] = {
        "content:\"\\22\";background:url(//t.example/p.gif)",
        "content:\"say \\\"hi\\\"\";background:url(//t.example/p.gif)",
        "content:'\\'';background:url(//t.example/p.gif)",
        "content:\"\\a\";background:url(//t.example/p.gif)",
        "a:b/\\2a;background:url(//t.example/p.gif)",
        "--a:\\2f*;background:url(//t.example/p.gif)",
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char buf[256];
        size_t len = gw_css_unescape(cases[i], strlen(cases[i]), buf);
        buf[len] = '\0';
        assert_string_equal(css_urls(buf), "//t.example/p.gif");
    }
}

static void
test_css_urls_every_cut(void **state)
{
    /* no cut of the text makes the iterator read past it, loop, or report an empty URL */
    const char *css = "/*c*/ a{b:url( 'https://t.example/1' )} @import \"//t.example/2.css\"; c{d:URL(x) e:url(\"y";
    for (size_t cut = 0; cut <= strlen(css); ++cut) {
        char *v = malloc(cut ? cut : 1);
        memcpy(v, css, cut);
        size_t pos = 0, len, n = 0;
        const char *url;
        while (gw_css_next_url(v, cut, &pos, &url, &len))
            assert_true(len != 0 && url >= v && url + len <= v + cut && pos <= cut && ++n <= 4);
        free(v);
    }
    assert_string_equal(css_urls(css), "https://t.example/1|//t.example/2.css|x|y");
}

/* the link-values of v as "[value]uri|rel|as" joined with ' ' ("-" for what is absent) */
static const char *
links(const char *v)
{
    static char out[1024];
    size_t pos = 0, n = 0, len = strlen(v), prev_end = 0;
    gw_link_value_t lv;
    out[0] = '\0';
    while (gw_link_next(v, len, &pos, &lv)) {
        assert_true(lv.start >= prev_end && lv.start < lv.end && lv.end <= pos && pos <= len);
        if (lv.uri != NULL)
            assert_true(lv.uri > v + lv.start && lv.uri + lv.uri_len <= v + lv.end);
        if (lv.rel != NULL)
            assert_true(lv.rel >= v + lv.start && lv.rel + lv.rel_len <= v + lv.end);
        prev_end = lv.end;
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s[%.*s]%.*s|%.*s|%.*s", n != 0 ? " " : "", (int)(lv.end - lv.start),
                              v + lv.start, lv.uri != NULL ? (int)lv.uri_len : 1, lv.uri != NULL ? lv.uri : "-",
                              lv.rel != NULL ? (int)lv.rel_len : 1, lv.rel != NULL ? lv.rel : "-",
                              lv.as != NULL ? (int)lv.as_len : 1, lv.as != NULL ? lv.as : "-");
    }
    assert_int_equal(pos, len);
    return out;
}

static void
test_link_header(void **state)
{
    assert_string_equal(links(""), "");
    assert_string_equal(links(" , ,"), "");
    assert_string_equal(links("<a>"), "[<a>]a|-|-");
    assert_string_equal(links("<https://t.example/a.js>; rel=preload; as=script, </b,c.css>; rel=\"pre load\""),
                        "[<https://t.example/a.js>; rel=preload; as=script]https://t.example/a.js|preload|script "
                        "[</b,c.css>; rel=\"pre load\"]/b,c.css|pre load|-"); /* a comma in the URI is the URI's */
    assert_string_equal(links("<x>; title=\"a, b\"; rel=next, <y>"), "[<x>; title=\"a, b\"; rel=next]x|next|- [<y>]y|-|-");
    assert_string_equal(links("<x>; rel=a; rel=b; AS=font"), "[<x>; rel=a; rel=b; AS=font]x|a|font"); /* the first rel */
    assert_string_equal(links("<x> ; REL = \"stylesheet\" ;as= style "),
                        "[<x> ; REL = \"stylesheet\" ;as= style]x|stylesheet|style");
    assert_string_equal(links("garbage; rel=icon, <x>; rel=icon"), "[garbage; rel=icon]-|-|- [<x>; rel=icon]x|icon|-");
    assert_string_equal(links("<x>; \"stray, quoted\"; rel=icon"), "[<x>; \"stray, quoted\"; rel=icon]x|icon|-");
    assert_string_equal(links("<x>; rel=\"a\\\"b\", <y>"), "[<x>; rel=\"a\\\"b\"]x|a\\\"b|- [<y>]y|-|-"); /* escapes kept */
    assert_string_equal(links("<x>; rel=\"unterminated, <y>"), "[<x>; rel=\"unterminated, <y>]x|unterminated, <y>|-");
    assert_string_equal(links("<unterminated"), "[<unterminated]unterminated|-|-");
    assert_string_equal(links("<x\t,e\t"), "[<x\t,e\t]x\t,e\t|-|-"); /* an unterminated URI keeps its blanks (fuzz) */
    assert_string_equal(links("<x>; =v; rel=icon"), "[<x>; =v; rel=icon]x|icon|-");
    assert_string_equal(links("<x>; rel; rel=icon"), "[<x>; rel; rel=icon]x|icon|-"); /* a rel without a value counts for nothing */
}

static void
test_link_header_every_cut(void **state)
{
    const char *v = "<https://t.example/a>; rel=preload; as=\"script\", bad; x=\"q,\\\"\", <b,c>;rel=icon ;; =;\"s\"";
    for (size_t cut = 0; cut <= strlen(v); ++cut) {
        char *p = malloc(cut ? cut : 1);
        memcpy(p, v, cut);
        size_t pos = 0, n = 0, prev = 0;
        gw_link_value_t lv;
        while (gw_link_next(p, cut, &pos, &lv)) {
            assert_true(lv.start >= prev && lv.start < lv.end && lv.end <= pos && pos <= cut && ++n <= 3);
            if (lv.uri != NULL)
                assert_true(lv.uri + lv.uri_len <= p + cut);
            if (lv.rel != NULL)
                assert_true(lv.rel + lv.rel_len <= p + cut);
            if (lv.as != NULL)
                assert_true(lv.as + lv.as_len <= p + cut);
            prev = lv.end;
        }
        free(p);
    }
}

/* the members of a List of Strings as "[member]string" joined with ' ' ("!" for no valid string), out_max 8 */
static const char *
sf_strings(const char *v, size_t len)
{
    static char out[1024];
    char str[8];
    size_t pos = 0, n = 0, prev_end = 0;
    gw_sf_member_t m;
    out[0] = '\0';
    while (gw_sf_string_next(v, len, &pos, str, sizeof(str), &m)) {
        assert_true(m.start >= prev_end && m.start < m.end && m.end <= pos && pos <= len);
        assert_true(m.len == SIZE_MAX || m.len <= sizeof(str));
        prev_end = m.end;
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s[%.*s]%.*s", n != 0 ? " " : "", (int)(m.end - m.start), v + m.start,
                              m.len != SIZE_MAX ? (int)m.len : 1, m.len != SIZE_MAX ? str : "!");
    }
    assert_int_equal(pos, len);
    return out;
}

#define SF(lit) sf_strings(lit, sizeof(lit) - 1)

static void
test_sf_strings(void **state)
{
    assert_string_equal(SF(""), "");
    assert_string_equal(SF(" , ,\t"), "");
    assert_string_equal(SF("\"/a.json\""), "[\"/a.json\"]/a.json");
    assert_string_equal(SF("\"a\" , \"b\";x=1;y=\"p,q\",\"c\""), "[\"a\"]a [\"b\";x=1;y=\"p,q\"]b [\"c\"]c");
    assert_string_equal(SF("\"q\\\"x\\\\\""), "[\"q\\\"x\\\\\"]q\"x\\"); /* \" and \\ unescaped */
    assert_string_equal(SF("\"bad\\n\", \"ok\""), "[\"bad\\n\"]! [\"ok\"]ok"); /* no other escape */
    assert_string_equal(SF("/bare, \"ok\""), "[/bare]! [\"ok\"]ok");
    assert_string_equal(SF("\"12345678\", \"123456789\""), "[\"12345678\"]12345678 [\"123456789\"]!");
    assert_string_equal(SF("\"tab\there\""), "[\"tab\there\"]!");
    assert_string_equal(SF("\"unterminated, \"x\""), "[\"unterminated, \"x\"]!");
    assert_string_equal(SF("\"a\"\x01, \"b\""), "[\"a\"\x01]a [\"b\"]b"); /* what follows the string is its member's */
}

static void
test_sf_strings_every_cut(void **state)
{
    const char *v = "\"/r/a.json\";tag=\"x,\\\"y\", /bare , \"q\\\\\" ,,\"https://o.example/r\"";
    for (size_t cut = 0; cut <= strlen(v); ++cut) {
        char *p = malloc(cut ? cut : 1), str[64];
        memcpy(p, v, cut);
        size_t pos = 0, n = 0, prev = 0;
        gw_sf_member_t m;
        while (gw_sf_string_next(p, cut, &pos, str, sizeof(str), &m)) {
            assert_true(m.start >= prev && m.start < m.end && m.end <= pos && pos <= cut && ++n <= 4);
            assert_true(m.len == SIZE_MAX || m.len < m.end - m.start);
            prev = m.end;
        }
        assert_int_equal(pos, cut);
        free(p);
    }
}

/* "delay|url" of a refresh, or "none" */
static const char *
refresh(const char *v)
{
    static char out[256];
    size_t delay_end, url_len, len = strlen(v);
    const char *url;
    if (!gw_refresh_parse(v, len, &delay_end, &url, &url_len))
        return "none";
    assert_true(delay_end <= len && url >= v && url + url_len <= v + len);
    snprintf(out, sizeof(out), "%.*s|%.*s", (int)delay_end, v, (int)url_len, url);
    return out;
}

static void
test_refresh(void **state)
{
    assert_string_equal(refresh("5; url=https://t.example/x"), "5|https://t.example/x");
    assert_string_equal(refresh("0;URL='https://t.example/q'junk"), "0|https://t.example/q");
    assert_string_equal(refresh("3, https://t.example/"), "3|https://t.example/"); /* a comma, no url= */
    assert_string_equal(refresh("  7  url = \"x\" "), "  7|x");
    assert_string_equal(refresh(".5;url=x"), ".5|x");
    assert_string_equal(refresh("5 https://t.example/"), "5|https://t.example/"); /* a blank separates too */
    assert_string_equal(refresh("5"), "5|");                                      /* the page itself */
    assert_string_equal(refresh("5;url="), "5|");
    assert_string_equal(refresh("5; 'unterminated"), "5|unterminated");
    assert_string_equal(refresh("5; urlx=y"), "5|urlx=y"); /* not "url =": the URL is all of it */
    assert_string_equal(refresh(""), "none");
    assert_string_equal(refresh("junk; url=x"), "none"); /* no delay */
    assert_string_equal(refresh("5x; url=y"), "none");   /* junk after the delay */
    /* every cut of a refresh: never past it */
    const char *v = " 12.5 ; URL = 'https://t.example/a b' x";
    for (size_t cut = 0; cut <= strlen(v); ++cut) {
        char *p = malloc(cut ? cut : 1);
        memcpy(p, v, cut);
        size_t d, ul;
        const char *u;
        if (gw_refresh_parse(p, cut, &d, &u, &ul))
            assert_true(d <= cut && u >= p && u + ul <= p + cut);
        free(p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_srcset),
        cmocka_unit_test(test_srcset_resumes_anywhere),
        cmocka_unit_test(test_css_unescape),
        cmocka_unit_test(test_css_urls),
        cmocka_unit_test(test_css_urls_after_escapes),
        cmocka_unit_test(test_css_urls_every_cut),
        cmocka_unit_test(test_link_header),
        cmocka_unit_test(test_link_header_every_cut),
        cmocka_unit_test(test_sf_strings),
        cmocka_unit_test(test_sf_strings_every_cut),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_accepts_coding),
    };
    return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
