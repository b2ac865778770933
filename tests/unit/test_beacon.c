/* Unit tests for filters/beacon.c: endpoint patterns, ping detection, image answers, the GIF. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include "beacon.h"

typedef struct {
    const char *pattern, *path;
    int want;
} match_case_t;

static const match_case_t match_cases[] = {
    {"/collect", "/collect", 1},
    {"/collect", "/collect?v=2&tid=G-1", 1},
    {"/collect", "/collect/x", 1},
    {"/collect", "/collector", 0},
    {"/collect", "/collec", 0},
    {"/collect", "/a/collect", 0},
    {"/collect/", "/collect/x", 1},
    {"/g/*/collect", "/g/abc/def/collect", 1},
    {"/g/*/collect", "/g/abc/collect?x=/collect", 1},
    {"/g/*/collect", "/g/abc/collector", 0},
    {"*.gif", "/img/p.gif", 1},
    {"*.gif", "/img/p.gif?x=1", 1},
    {"*.gif", "/img/p.gifx", 0},
    {"/tr*", "/track", 1},
    {"/tr*", "/xtr", 0},
    {"/collect*", "/collect", 1}, /* a trailing star matches nothing too */
    {"/g/*/collect**", "/g/a/collect?x", 1},
    {"/a*b*c", "/aXbYbZc", 1},
    {"/a*b*c", "/aXbYbZ", 0},
    {"*", "/", 1},
    {"/**", "/x", 1},
    /* ASCII case-insensitive, as origins that route so (Express, ASP.NET) and the tracker lists read paths */
    {"/collect", "/Collect", 1},
    {"/collect", "/COLLECT/?v=1", 1},
    {"/g/collect", "/G/cOllect?v=2", 1},
    {"/Collect", "/collect", 1},
    {"/collect", "/Collector", 0},
    {"/tr/*/px", "/TR/abc/PX", 1},
    {"*.gif", "/p.GIF", 1},
    {"/a*b*c", "/AxBxC", 1},
    {"/\xc3\xa9", "/\xc3\x89", 0}, /* bytes past ASCII compare as they are */
    /* a final '|': the path alone, nothing below it */
    {"/collect|", "/collect", 1},
    {"/collect|", "/Collect?v=2", 1},
    {"/collect|", "/collect/", 0},
    {"/collect|", "/collect/api/slots", 0},
    {"/collect|", "/collector", 0},
    {"/collect|", "/collec", 0},
    {"/collect/|", "/collect/", 1},
    {"/collect/|", "/collect/x", 0},
    {"/g/*/collect|", "/g/a/collect?x=1", 1}, /* a glob is the whole path anyway */
    {"/g/*/collect|", "/g/a/collect/x", 0},
    {"/a|b", "/a|b/c", 1}, /* a '|' inside is a byte of the path */
    {"|", "|", 1},         /* alone, it is the pattern's only byte */
    {NULL, NULL, 0}        /* end of list */
};

static void
test_path_match(void **state)
{
    for (const match_case_t *c = match_cases; c->pattern != NULL; ++c) {
        size_t len = strlen(c->path);
        char *buf = malloc(len); /* exactly sized, no NUL: ASan catches overreads */
        memcpy(buf, c->path, len);
        int got = gw_beacon_path_match(c->pattern, strlen(c->pattern), buf, len);
        free(buf);
        if (got != c->want)
            fail_msg("\"%s\" ~ \"%s\": %d, want %d", c->pattern, c->path, got, c->want);
    }
}

/* every prefix of a path is matched without reading past it */
static void
test_path_prefixes(void **state)
{
    static const char path[] = "/g/abc/def/collect?v=2";
    for (size_t n = 0; n <= sizeof(path) - 1; ++n) {
        char *buf = malloc(n + 1);
        memcpy(buf, path, n);
        int a = gw_beacon_path_match("/g/*/collect", 12, buf, n), b = gw_beacon_path_match("/g/abc", 6, buf, n);
        free(buf);
        assert_int_equal(a, n >= 18);
        assert_int_equal(b, n == 6 || n >= 7);
    }
    /* the path alone: no prefix of it, and only the whole path (with or without its query) */
    for (size_t n = 0; n <= sizeof(path) - 1; ++n) {
        char *buf = malloc(n + 1);
        memcpy(buf, path, n);
        int a = gw_beacon_path_match("/g/abc/def/collect|", 19, buf, n), b = gw_beacon_path_match("/g/abc|", 7, buf, n);
        free(buf);
        assert_int_equal(a, n >= 18);
        assert_int_equal(b, n == 6);
    }
    /* the same, byte by byte, in another case */
    static const char upper[] = "/G/ABC/DEF/COLLECT?V=2";
    for (size_t n = 0; n <= sizeof(upper) - 1; ++n) {
        char *buf = malloc(n + 1);
        memcpy(buf, upper, n);
        int a = gw_beacon_path_match("/g/*/collect", 12, buf, n), b = gw_beacon_path_match("/g/abc", 6, buf, n);
        free(buf);
        assert_int_equal(a, n >= 18);
        assert_int_equal(b, n == 6 || n >= 7);
    }
}

#define S(x) x, sizeof(x) - 1

static const struct {
    const char *in, *want;
} servlet_cases[] = {
    {"/collect", "/collect"},
    {"/collect;jsessionid=A1B2", "/collect"},
    {"/collect;jsessionid=A1B2?v=1;x", "/collect?v=1;x"},
    {"/g/collect;a=1?v=2&tid=G-1", "/g/collect?v=2&tid=G-1"},
    {"/g;x/collect", "/g/collect"},
    {"/;x/collect", "/collect"},
    {"//collect;a//", "/collect/"},
    {"/x/..;/collect", "/collect"},
    {"/x/.;/collect", "/x/collect"},
    {"/a/b/..;x/..;y/collect;z/", "/collect/"},
    {"/..;/..;/collect", "/collect"},
    {"/collect/..", "/"},
    {"", "/"},
    {"?q", "/?q"},
    {"/", "/"},
    {";", "/"},
    {"collect;x", "/collect"},
    {"/a;b;c/d", "/a/d"},
    {NULL, NULL},
};

static void
test_path_servlet(void **state)
{
    for (size_t k = 0; servlet_cases[k].in != NULL; ++k) {
        const char *in = servlet_cases[k].in;
        size_t len = strlen(in);
        char *buf = malloc(len + 1), *out = malloc(len + 1); /* exactly sized: ASan catches overreads and overruns */
        memcpy(buf, in, len);
        size_t n = gw_beacon_path_servlet(buf, len, out);
        if (n != strlen(servlet_cases[k].want) || memcmp(out, servlet_cases[k].want, n) != 0)
            fail_msg("\"%s\" -> \"%.*s\", want \"%s\"", in, (int)n, out, servlet_cases[k].want);
        free(buf);
        free(out);
    }
    /* byte by byte: every prefix of a path is read without going past it, and what it gives matches as the whole did */
    static const char path[] = "/g;x/a/..;/collect;jsessionid=1//?v=2";
    for (size_t len = 0; len <= sizeof(path) - 1; ++len) {
        char *buf = malloc(len + 1), *out = malloc(len + 1);
        memcpy(buf, path, len);
        size_t n = gw_beacon_path_servlet(buf, len, out);
        assert_true(n >= 1 && n <= len + 1);
        assert_int_equal(out[0], '/');
        assert_int_equal(gw_beacon_path_match("/g/collect", 10, out, n), len >= 18);
        free(buf);
        free(out);
    }
}

static void
test_ping_and_image(void **state)
{
    gw_beacon_req_t r;
    memset(&r, 0, sizeof(r));
    r.path = "/ping";
    r.path_len = 5;
    assert_false(gw_beacon_is_ping(&r));
    r.has_ping_from = 1;
    assert_true(gw_beacon_is_ping(&r));
    r.has_ping_from = 0;
    r.has_ping_to = 1;
    assert_true(gw_beacon_is_ping(&r));
    r.has_ping_to = 0;
    r.content_type = "Text/Ping";
    r.content_type_len = 9;
    assert_true(gw_beacon_is_ping(&r));
    r.content_type = "text/plain";
    r.content_type_len = 10;
    assert_false(gw_beacon_is_ping(&r));

    memset(&r, 0, sizeof(r));
    r.path = "/collect?v=1";
    r.path_len = 12;
    assert_false(gw_beacon_wants_image(&r));
    r.sec_fetch_dest = "image";
    r.sec_fetch_dest_len = 5;
    assert_true(gw_beacon_wants_image(&r));
    r.sec_fetch_dest = "empty";
    assert_false(gw_beacon_wants_image(&r));
    r.accept = "image/avif,image/webp,*/*";
    r.accept_len = strlen(r.accept);
    assert_true(gw_beacon_wants_image(&r));
    r.accept = "*/*";
    r.accept_len = 3;
    r.path = "/tr/pixel.GIF?ev=1";
    r.path_len = strlen(r.path);
    assert_true(gw_beacon_wants_image(&r));
    r.path = "/tr?ev=x.gif";
    r.path_len = strlen(r.path);
    assert_false(gw_beacon_wants_image(&r));
    r.path = "/p/1x1.avif"; /* an image format every current browser shows */
    r.path_len = strlen(r.path);
    assert_true(gw_beacon_wants_image(&r));
}

static void
test_send_beacon(void **state)
{
    gw_beacon_req_t r;
    memset(&r, 0, sizeof(r));
    r.path = "/log";
    r.path_len = 4;
    assert_false(gw_beacon_is_send_beacon(&r));
    r.method = "POST", r.method_len = 4;
    r.sec_fetch_mode = "no-cors", r.sec_fetch_mode_len = 7;
    r.sec_fetch_dest = "empty", r.sec_fetch_dest_len = 5;
    assert_true(gw_beacon_is_send_beacon(&r));           /* what Chromium sends for navigator.sendBeacon(url, text) */
    r.sec_fetch_mode = "cors", r.sec_fetch_mode_len = 4; /* fetch() / XHR */
    assert_false(gw_beacon_is_send_beacon(&r));
    r.sec_fetch_mode = "navigate", r.sec_fetch_mode_len = 8; /* a form post */
    assert_false(gw_beacon_is_send_beacon(&r));
    r.sec_fetch_mode = "NO-CORS", r.sec_fetch_mode_len = 7;
    assert_true(gw_beacon_is_send_beacon(&r));
    r.sec_fetch_dest = "image", r.sec_fetch_dest_len = 5; /* an image load */
    assert_false(gw_beacon_is_send_beacon(&r));
    r.sec_fetch_dest = "empty", r.sec_fetch_dest_len = 5;
    r.method = "GET", r.method_len = 3;
    assert_false(gw_beacon_is_send_beacon(&r));
    r.method = "POSTX", r.method_len = 5;
    assert_false(gw_beacon_is_send_beacon(&r));
    r.method = "POST", r.method_len = 4;
    r.sec_fetch_mode_len = 3; /* "no-" */
    assert_false(gw_beacon_is_send_beacon(&r));
}

/* a visitor's top-level navigation is a page, never a beacon; every prefix of a value is tried (byte by byte) */
static void
test_page(void **state)
{
    static const struct {
        const char *dest, *accept;
        int page;
    } cases[] = {
        {"document", "*/*", 1},
        {"Document", NULL, 1},
        {"document", "image/avif,image/webp,*/*", 1},
        {"iframe", "text/html,*/*;q=0.8", 0}, /* a frame: a collector in a hidden frame stays a beacon */
        {"empty", "text/html", 0},            /* a fetch of a fragment */
        {"image", NULL, 0},
        {"documents", NULL, 0},
        {NULL, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 1}, /* Safari < 16.4, plain HTTP */
        {NULL, "Text/HTML", 1},
        {NULL, "*/*", 0},
        {NULL, "application/json, text/html", 0},
        {NULL, NULL, 0},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        gw_beacon_req_t r;
        memset(&r, 0, sizeof(r));
        r.path = "/collect/store-locator", r.path_len = 22;
        r.sec_fetch_dest = cases[i].dest, r.sec_fetch_dest_len = cases[i].dest ? strlen(cases[i].dest) : 0;
        r.accept = cases[i].accept, r.accept_len = cases[i].accept ? strlen(cases[i].accept) : 0;
        if (gw_beacon_is_page(&r) != cases[i].page)
            fail_msg("case %zu: want %d", i, cases[i].page);
        /* a value cut short is another value: only the whole one is a page */
        const char *whole = cases[i].dest ? cases[i].dest : cases[i].accept;
        size_t *len = cases[i].dest ? &r.sec_fetch_dest_len : &r.accept_len, full = whole ? strlen(whole) : 0;
        for (size_t n = 1; whole != NULL && n < full; ++n) {
            *len = n;
            int want = cases[i].dest ? n == 8 && strncasecmp(whole, "document", 8) == 0 : cases[i].page && n >= 9;
            if (gw_beacon_is_page(&r) != want)
                fail_msg("case %zu cut to %zu bytes: want %d", i, n, want);
        }
    }
}

static void
test_gif(void **state)
{
    assert_int_equal(sizeof(gw_beacon_gif), 43);
    assert_memory_equal(gw_beacon_gif, "GIF89a\x01\x00\x01\x00", 10);
    assert_int_equal(gw_beacon_gif[42], 0x3b); /* trailer */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_match),     cmocka_unit_test(test_send_beacon), cmocka_unit_test(test_path_prefixes),
        cmocka_unit_test(test_ping_and_image), cmocka_unit_test(test_gif),         cmocka_unit_test(test_path_servlet),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests_name("beacon", tests, NULL, NULL);
}
