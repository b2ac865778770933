/* Unit tests for filters/mime.c: one MIME type parsed, and a response's Content-Type values read as the Fetch standard's
 * "extract a MIME type" reads them (its own examples among the cases), each input also cut at every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mime.h"

typedef struct {
    const char *values[5]; /* the Content-Type fields, NULL-terminated */
    const char *essence;   /* NULL: none */
    const char *charset;   /* NULL: none */
} extract_case_t;

static const extract_case_t cases[] = {
    {{"text/html; charset=utf-8", NULL}, "text/html", "utf-8"},
    {{"text/plain", "text/html", NULL}, "text/html", NULL},
    {{"text/plain;charset=gbk, text/html", NULL}, "text/html", NULL},                /* Fetch's examples from here */
    {{"text/html;charset=gbk;a=b, text/html;x=y", NULL}, "text/html", "gbk"},        /* the same type keeps the charset */
    {{"text/html;charset=gbk;a=b", "text/html;x=y", NULL}, "text/html", "gbk"},
    {{"text/html;charset=gbk", "x/x", "text/html;x=y", NULL}, "text/html", NULL},   /* another type in between */
    {{"text/html", "cannot-parse", NULL}, "text/html", NULL},
    {{"text/html", "*/*", NULL}, "text/html", NULL},
    {{"text/html", "", NULL}, "text/html", NULL},
    {{"text/html;charset=\"gbk\"", NULL}, "text/html", "gbk"},
    {{"text/html;charset=gbk;charset=utf-8", NULL}, "text/html", "gbk"},             /* the first of one item */
    {{"text/html;charset=\"a,b\", text/plain", NULL}, "text/plain", NULL},          /* a comma in quotes is no split */
    {{"text/plain, text/html;charset=\"x\\\"y,z\"", NULL}, "text/html", "x\\\"y,z"},
    {{"TEXT/HTML;CHARSET=UTF-16LE", "text/html", NULL}, "text/html", "UTF-16LE"},
    {{"text/html ; charset = utf-8", NULL}, "text/html", NULL},                      /* "charset " is another name */
    {{"text/html;charset=", NULL}, "text/html", NULL},
    {{" text/html\t", NULL}, "text/html", NULL},
    /* as Chromium (156) reads an item, laxer than Fetch: the type runs up to a blank, ';' or '(' and holds a '/', its
     * characters unchecked, and what follows it up to a ';' is ignored */
    {{"text /html", "text/", "/html", "nonsense", NULL}, "/html", NULL},
    {{"text /html", "nonsense", NULL}, NULL, NULL},
    {{"text/html x", NULL}, "text/html", NULL},
    {{"text/plain, text/html(x)", NULL}, "text/html", NULL},
    {{"text/plain", "text/html (comment);charset=utf-8", NULL}, "text/html", "utf-8"},
    {{"text/ html", NULL}, "text/", NULL},
    {{"text/html\"", NULL}, "text/html\"", NULL},
    /* only an item that is just the wildcard is dropped: with parameters it is the type (and sniffed) */
    {{"text/plain;a=b, */*;a=b", NULL}, "*/*", NULL},
    {{"text/plain", " */* ", NULL}, "text/plain", NULL},
};

static void
extract(const char *const *values, gw_mime_t *m)
{
    gw_mime_extract_init(m);
    for (size_t i = 0; values[i] != NULL; ++i)
        gw_mime_extract_add(m, values[i], strlen(values[i]));
}

static void
test_extract(void **state)
{
    for (size_t k = 0; k != sizeof(cases) / sizeof(cases[0]); ++k) {
        gw_mime_t m;
        extract(cases[k].values, &m);
        if (cases[k].essence == NULL) {
            assert_null(m.essence);
            continue;
        }
        assert_non_null(m.essence);
        assert_int_equal(m.essence_len, strlen(cases[k].essence));
        assert_true(strncasecmp(m.essence, cases[k].essence, m.essence_len) == 0);
        if (cases[k].charset == NULL) {
            assert_null(m.charset);
        } else {
            assert_non_null(m.charset);
            assert_int_equal(m.charset_len, strlen(cases[k].charset));
            assert_memory_equal(m.charset, cases[k].charset, m.charset_len);
        }
    }
}

/* every prefix of every value, in a buffer of its own size (ASan finds a read past it): a result inside the input */
static void
test_every_cut(void **state)
{
    for (size_t k = 0; k != sizeof(cases) / sizeof(cases[0]); ++k)
        for (size_t i = 0; cases[k].values[i] != NULL; ++i) {
            size_t len = strlen(cases[k].values[i]);
            for (size_t cut = 0; cut <= len; ++cut) {
                char *b = malloc(cut + 1);
                memcpy(b, cases[k].values[i], cut);
                gw_mime_t m;
                gw_mime_extract_init(&m);
                gw_mime_extract_add(&m, b, cut);
                if (m.essence != NULL)
                    assert_true(m.essence >= b && m.essence + m.essence_len <= b + cut);
                if (m.charset != NULL)
                    assert_true(m.charset >= b && m.charset + m.charset_len <= b + cut);
                free(b);
            }
        }
}

static void
test_parse_one(void **state)
{
    gw_mime_t m;
    assert_int_equal(gw_mime_parse("image/svg+xml", 13, &m), 0);
    assert_int_equal(m.essence_len, 13);
    assert_int_equal(gw_mime_parse("text/html;", 10, &m), 0);
    assert_int_equal(gw_mime_parse("text/html;;;charset=x", 21, &m), 0);
    assert_int_equal(m.charset_len, 1);
    assert_int_equal(gw_mime_parse("text/h\"tml", 10, &m), 0); /* (Chromium's type, which no check of ours names) */
    assert_int_equal(m.essence_len, 10);
    assert_int_equal(gw_mime_parse("text(/html)", 11, &m), -1);
    assert_int_equal(gw_mime_parse("", 0, &m), -1);
    assert_true(gw_mime_is_tchar('~') && !gw_mime_is_tchar('"') && !gw_mime_is_tchar(0) && !gw_mime_is_tchar(';'));
}

static void
test_sniffs(void **state)
{
    static const struct {
        const char *values[3];
        int sniffs;
    } c[] = {
        {{NULL}, 1}, {{"nonsense", NULL}, 1}, {{"*/*", NULL}, 1}, {{"Unknown/Unknown", NULL}, 1},
        {{"application/unknown; x=y", NULL}, 1}, {{"text/plain", NULL}, 0}, {{"application/octet-stream", NULL}, 0},
        {{"text/html", "*/*", NULL}, 0}, {{"unknown/unknown", "image/png", NULL}, 0}, {{"text/plain", "*/*;a=b", NULL}, 1},
    };
    for (size_t k = 0; k != sizeof(c) / sizeof(c[0]); ++k) {
        gw_mime_t m;
        extract(c[k].values, &m);
        assert_int_equal(gw_mime_sniffs(&m), c[k].sniffs);
    }
}

static const struct {
    const char *body;
    int html; /* complete */
} sniff_cases[] = {
    {"<!DOCTYPE html><p>x", 1}, {"<!doctype HTML>", 1}, {" \t\r\n\v\f<html>", 1}, {"<SCRIPT src=x>", 1},
    {"<!-- c -->", 1}, {"<p>", 1}, {"<bdi>", 1}, {"<a", 1}, {"<Head", 1}, {"<iframe", 1}, {"<H1>", 1},
    {"", 0}, {"   ", 0}, {"<", 0}, {"<!DOCTYPE htm", 0}, {"<?xml version=\"1.0\"?><html>", 0}, {"x<html>", 0},
    {"<svg>", 0}, {"<!DOCTYPE svg>", 0}, {"\xef\xbb\xbf<html>", 0}, {"{\"a\": \"<html>\"}", 0}, {"<scrip", 0},
};

static void
test_sniff_html(void **state)
{
    for (size_t k = 0; k != sizeof(sniff_cases) / sizeof(sniff_cases[0]); ++k) {
        const char *b = sniff_cases[k].body;
        size_t len = strlen(b);
        assert_int_equal(gw_mime_sniff_html(b, len, 1), sniff_cases[k].html);
        /* byte by byte, as a body may come: undecided (-1) until a decision that stays, which is the whole's */
        int decided = -1;
        for (size_t cut = 0; cut <= len; ++cut) {
            char *p = malloc(cut + 1);
            memcpy(p, b, cut);
            int r = gw_mime_sniff_html(p, cut, 0);
            free(p);
            if (decided != -1)
                assert_int_equal(r, decided);
            decided = r;
        }
        assert_true(decided == -1 || decided == sniff_cases[k].html);
    }
    /* only the first 512 bytes count: whitespace beyond them is no HTML, and 512 bytes are enough to decide */
    char big[600];
    memset(big, ' ', sizeof(big));
    memcpy(big + 511, "<html>", 6);
    assert_int_equal(gw_mime_sniff_html(big, sizeof(big), 0), 0);
    assert_int_equal(gw_mime_sniff_html(big, 505, 0), -1);
    memcpy(big + 500, "<html>", 6);
    assert_int_equal(gw_mime_sniff_html(big, sizeof(big), 0), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract),
        cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_parse_one),
        cmocka_unit_test(test_sniffs),
        cmocka_unit_test(test_sniff_html),
    };
    return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
