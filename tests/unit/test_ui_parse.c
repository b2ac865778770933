/* Unit tests for gateway/ui_parse.c: Accept-Language negotiation, the template tokenizer, string
 * interpolation and HTML escaping; each input also fed as every prefix in an exactly sized buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "ui_parse.h"

/* the UI's languages as shipped (static/i18n: en first, then zh-CN) plus an operator's fr */
static const char *const codes[] = {"en", "zh-CN", "fr"};
#define NUM_CODES (sizeof(codes) / sizeof(codes[0]))

/* --- Accept-Language ------------------------------------------------------------------------ */

typedef struct {
    const char *al;
    int want; /* index into codes, or -1 */
} al_case_t;

static const al_case_t al_cases[] = {
    {"", -1},
    {"en", 0},
    {"zh-CN", 1},
    {"zh-cn", 1},
    {"ZH-CN", 1},
    {"zh", 1},    /* primary subtag */
    {"zh-TW", 1}, /* same primary subtag */
    {"zh_TW", 1}, /* '_' separates too */
    {"zh-Hant-HK", 1},
    {"en-GB", 0},
    {"en-US,en;q=0.9", 0},
    {"fr-FR,fr;q=0.9", 2},
    {"de", -1},
    {"de-DE,de;q=0.9", -1},
    {"de,zh-CN;q=0.5", 1},       /* unknown first, known later */
    {"zh-CN;q=0.5,en;q=0.8", 0}, /* highest q wins, not the first */
    {"en;q=0.8,zh-CN;q=0.9", 1},
    {"en;q=0.8,zh-CN;q=0.8", 0}, /* tie: the earlier tag */
    {"zh-CN,en;q=1", 1},         /* q=1 does not beat an implicit 1 */
    {"en;q=0.001,zh;q=0.002", 1},
    {"en;q=0.0001,zh;q=0.0002", -1}, /* only three decimals: both 0 */
    {"en;q=0", -1},                  /* q=0: not acceptable */
    {"en;q=0.0,zh-CN;q=0", -1},
    {"en;q=0, zh", 1},
    {"*", -1}, /* a wildcard matches no language: English is the caller's default */
    {"*;q=0.9,zh-CN;q=0.1", 1},
    {"zh-TW, zh-CN;q=0", -1}, /* the only Chinese there is, refused: not served by the fallback */
    {"zh-CN;q=0, zh-TW, en;q=0.5", 0},
    {"en-GB, en;q=0, fr;q=0.1", 2},
    {"  zh-CN  ;q=0.7 ,\ten\t;q=0.6", 1},
    {"en; q=0.5, zh-CN; q=0.6", 1}, /* spaces after ';' */
    {"zh;q=0.9,en;\tq=0.1", 1},     /* a tab too (OWS, RFC 9110 5.6.3) */
    {"zh;q=0.9,en;\t q=0.1", 1},
    {"en;level=1", 0},              /* another parameter: q stays 1 */
    {"zh;q=0.9,en;Q=0.1", 1},       /* "Q=" is "q=" (RFC 9110 12.4.2) */
    {"en;Q=0,zh-CN;q=0.2", 1},
    {"en;q=", 0},                   /* too short to be read: q stays 1 */
    {"en;q=x,zh;q=0.1", 1},         /* unreadable q: 0 */
    {"en;q=0.", -1},
    {"en;q=0.5x", 0},
    {",,,", -1},
    {";;;", -1},
    {"en,", 0},
    {",en", 0},
    {";q=1", -1},
    {"-", -1},
    {"-CN", -1}, /* empty primary subtag */
    {"zh-", 1},
    {"e", -1},
    {"english", -1},
    {"fr-CA;q=0.3,zh-HK;q=0.2", 2},
    {NULL, 0} /* end */
};

static void
test_negotiate_table(void **state)
{
    for (const al_case_t *c = al_cases; c->al != NULL; ++c) {
        int got = gw_ui_negotiate(c->al, strlen(c->al), codes, NUM_CODES);
        if (got != c->want)
            fail_msg("Accept-Language \"%s\": got %d, want %d", c->al, got, c->want);
    }
}

/* an operator who adds Traditional Chinese (ui.strings "zh-Hant" or "zh-TW"), and two variants of one language: a tag
 * is looked up by truncation first (RFC 4647 3.4: "zh-Hant-TW" → "zh-Hant"), then by its Chinese script ("zh-TW",
 * "zh-HK" are written in Traditional characters, "zh", "zh-SG" in Simplified), and only then by its primary subtag */
static const char *const hant_codes[] = {"en", "zh-CN", "zh-Hant", "pt-PT", "pt-BR"};
static const char *const tw_codes[] = {"en", "zh-CN", "zh-TW"};

typedef struct {
    const char *const *codes;
    size_t num_codes;
    const char *al;
    int want;
} al_case2_t;

#define HANT hant_codes, 5
#define TW tw_codes, 3
static const al_case2_t al_script_cases[] = {
    {HANT, "zh-Hant-TW", 2},
    {HANT, "zh-Hant", 2},
    {HANT, "ZH-HANT-hk", 2},
    {HANT, "zh-TW", 2},
    {HANT, "zh_TW", 2},
    {HANT, "zh-HK", 2},
    {HANT, "zh-MO", 2},
    {HANT, "zh-Hans-CN;q=0.9, en;q=0.8", 1},
    {HANT, "zh-Hans", 1},
    {HANT, "zh-SG", 1},
    {HANT, "zh", 1},
    {HANT, "zh-CN", 1},
    {HANT, "zh-Hans-HK", 1}, /* an explicit script wins over the region's usual one */
    {HANT, "zh-TW,zh;q=0.9,en;q=0.8", 2},
    {HANT, "pt-BR", 4},
    {HANT, "pt-BR-x-tv", 4}, /* truncation, not the first "pt" */
    {HANT, "pt", 3},
    {HANT, "pt-AO", 3},
    /* q=0 says "not this one" (RFC 9110 12.4.2): no fallback leads to a language so refused, a range refusing every
     * language it covers ("zh;q=0": zh-CN and zh-Hant), wherever in the header it stands */
    {HANT, "zh-TW, zh-Hant;q=0", 1},
    {HANT, "zh-Hant;q=0, zh-TW", 1},
    {HANT, "zh-HK, zh;q=0, en;q=0.5", 0},
    {HANT, "zh-HK, zh;q=0", -1},
    {HANT, "pt-BR-x-tv, pt-BR;q=0", 3},
    {HANT, "pt-BR, PT;q=0", -1},
    {HANT, "zh-Hant-TW, zh-Han;q=0", 2}, /* "zh-Han" covers no "zh-Hant" */
    {TW, "zh-Hant", 2},
    {TW, "zh-Hant-HK", 2},
    {TW, "zh-HK", 2},
    {TW, "zh-TW", 2},
    {TW, "zh-Hans", 1},
    {TW, "zh", 1},
    {NULL, 0, NULL, 0} /* end */
};

static void
test_negotiate_chinese_scripts(void **state)
{
    for (const al_case2_t *c = al_script_cases; c->al != NULL; ++c) {
        int got = gw_ui_negotiate(c->al, strlen(c->al), c->codes, c->num_codes);
        if (got != c->want)
            fail_msg("Accept-Language \"%s\" (codes %s, ...): got %d, want %d", c->al, c->codes[2], got, c->want);
        /* every prefix, in an exactly sized buffer: never out of range, never past the length */
        size_t len = strlen(c->al);
        for (size_t n = 0; n < len; ++n) {
            char *buf = malloc(n != 0 ? n : 1);
            assert_non_null(buf);
            memcpy(buf, c->al, n);
            got = gw_ui_negotiate(buf, n, c->codes, c->num_codes);
            assert_true(got >= -1 && got < (int)c->num_codes);
            free(buf);
        }
    }
}

static void
test_negotiate_no_codes(void **state)
{
    assert_int_equal(gw_ui_negotiate("en", 2, codes, 0), -1);
    assert_int_equal(gw_ui_negotiate(NULL, 0, codes, NUM_CODES), -1);
}

/* the value is not NUL-terminated: a tag cut by the length is only what lies before it */
static void
test_negotiate_length_bounds(void **state)
{
    assert_int_equal(gw_ui_negotiate("zh-CNX", 5, codes, NUM_CODES), 1);
    assert_int_equal(gw_ui_negotiate("en;q=0.5,zh", 8, codes, NUM_CODES), 0);
}

static void
test_negotiate_every_prefix(void **state)
{
    for (const al_case_t *c = al_cases; c->al != NULL; ++c) {
        size_t len = strlen(c->al);
        for (size_t n = 0; n <= len; ++n) {
            char *buf = malloc(n != 0 ? n : 1);
            assert_non_null(buf);
            memcpy(buf, c->al, n);
            int got = gw_ui_negotiate(buf, n, codes, NUM_CODES);
            assert_true(got >= -1 && got < (int)NUM_CODES);
            if (n == len)
                assert_int_equal(got, c->want);
            free(buf);
        }
    }
}

/* --- templates ------------------------------------------------------------------------------ */

typedef struct {
    char log[1024];
    size_t len;
    const char *lo, *hi; /* every piece must lie inside [lo, hi) */
    int stop_at;         /* return non-zero on this piece (1-based), 0: never */
    int count;
} rec_t;

static int
record(void *ctx, int kind, const char *s, size_t len)
{
    static const char tags[] = "TSV#^/>";
    rec_t *r = ctx;
    if (len != 0 && (s < r->lo || s + len > r->hi))
        fail_msg("piece outside the input");
    if (kind == GW_UI_TEXT && len == 0)
        fail_msg("empty text piece");
    int n = snprintf(r->log + r->len, sizeof(r->log) - r->len, "%c(%.*s)", tags[kind], (int)len, s);
    if (n > 0 && (size_t)n < sizeof(r->log) - r->len)
        r->len += (size_t)n;
    return ++r->count == r->stop_at;
}

typedef struct {
    const char *src;
    int rc;
    const char *log; /* pieces reported (for errors: before the error) */
    size_t at;       /* errors: offset reported */
    const char *name;
} tmpl_case_t;

#define LONG64 "0123456789012345678901234567890123456789012345678901234567890123"

static const tmpl_case_t tmpl_cases[] = {
    {"", 0, "", 0, NULL},
    {"plain <b>html</b>", 0, "T(plain <b>html</b>)", 0, NULL},
    {"{{title}}", 0, "S(title)", 0, NULL},
    {"a{{prefs.title}}b", 0, "T(a)S(prefs.title)T(b)", 0, NULL},
    {"{{unknown.key}}", 0, "S(unknown.key)", 0, NULL}, /* keys are resolved at render time */
    {"{{$lang}}", 0, "V(lang)", 0, NULL},
    {"{{$}}", 0, "V()", 0, NULL},
    {"{{#s}}x{{/s}}", 0, "#(s)T(x)/(s)", 0, NULL},
    {"{{^s}}{{/s}}", 0, "^(s)/(s)", 0, NULL},
    {"{{#a}}{{#b}}{{$v}}{{/b}}{{^a}}{{/a}}{{/a}}", 0, "#(a)#(b)V(v)/(b)^(a)/(a)/(a)", 0, NULL},
    {"{{>_head.html}}", 0, ">(_head.html)", 0, NULL},
    {"{{ spaced }}", 0, "S( spaced )", 0, NULL},
    {"<a href=\"{{$href}}\">{{&x}}</a>", 0, "T(<a href=\")V(href)T(\">)S(&x)T(</a>)", 0, NULL},
    {"{ {single} }", 0, "T({ {single} })", 0, NULL},
    {"}}{{x}}}}", 0, "T(}})S(x)T(}})", 0, NULL},
    {"{{{x}}}", 0, "S({x)T(})", 0, NULL}, /* nested braces: the tag is up to the first }} */
    {"{{a{{b}}c}}", 0, "S(a{{b)T(c}})", 0, NULL},
    {"{{x}}}", 0, "S(x)T(})", 0, NULL},
    {"{{" LONG64 LONG64 "}}", 0, "S(" LONG64 LONG64 ")", 0, NULL}, /* 128 bytes: the longest tag */
    {"x{{" LONG64 LONG64 "1}}", GW_UI_EUNTERMINATED, "T(x)", 1, NULL},
    {"{{", GW_UI_EUNTERMINATED, "", 0, NULL},
    {"ab{{x", GW_UI_EUNTERMINATED, "T(ab)", 2, NULL},
    {"{{x}", GW_UI_EUNTERMINATED, "", 0, NULL},
    {"{{}}", GW_UI_EUNTERMINATED, "", 0, NULL},
    {"{{x}}{{", GW_UI_EUNTERMINATED, "S(x)", 5, NULL},
    {"{{#s}}x", GW_UI_EUNCLOSED, "#(s)T(x)", 0, "s"},
    {"{{#a}}{{#b}}{{/b}}", GW_UI_EUNCLOSED, "#(a)#(b)/(b)", 0, "a"},
    {"{{/s}}", GW_UI_EMISMATCH, "", 0, "s"},
    {"{{#a}}{{/b}}", GW_UI_EMISMATCH, "#(a)", 6, "b"},
    {"{{#a}}{{#b}}{{/a}}", GW_UI_EMISMATCH, "#(a)#(b)", 12, "a"},
    {"{{#ab}}{{/a}}", GW_UI_EMISMATCH, "#(ab)", 7, "a"},
    {NULL, 0, NULL, 0, NULL} /* end */
};

static void
test_template_table(void **state)
{
    for (const tmpl_case_t *c = tmpl_cases; c->src != NULL; ++c) {
        size_t len = strlen(c->src);
        rec_t r = {.lo = c->src, .hi = c->src + len};
        gw_ui_tmpl_err_t err = {99, NULL, 0};
        int rc = gw_ui_parse_template(c->src, len, record, &r, &err);
        if (rc != c->rc || strcmp(r.log, c->log) != 0)
            fail_msg("template \"%s\": rc %d log \"%s\", want %d \"%s\"", c->src, rc, r.log, c->rc, c->log);
        if (rc != 0) {
            assert_int_equal(err.at, c->at);
            if (c->name != NULL) {
                assert_non_null(err.name);
                assert_int_equal(err.name_len, strlen(c->name));
                assert_memory_equal(err.name, c->name, err.name_len);
            } else {
                assert_null(err.name);
            }
        }
    }
}

static void
test_template_depth(void **state)
{
    char src[(GW_UI_MAX_OPEN + 1) * 12 + 1];
    size_t n = 0;
    for (int i = 0; i != GW_UI_MAX_OPEN; ++i)
        n += (size_t)sprintf(src + n, "{{#s}}");
    for (int i = 0; i != GW_UI_MAX_OPEN; ++i)
        n += (size_t)sprintf(src + n, "{{/s}}");
    rec_t r = {.lo = src, .hi = src + n};
    assert_int_equal(gw_ui_parse_template(src, n, record, &r, NULL), 0);
    /* one more open section */
    memmove(src + 6, src, n);
    n += 6;
    gw_ui_tmpl_err_t err;
    r = (rec_t){.lo = src, .hi = src + n};
    assert_int_equal(gw_ui_parse_template(src, n, record, &r, &err), GW_UI_EDEPTH);
    assert_int_equal(err.at, GW_UI_MAX_OPEN * 6);
}

static void
test_template_callback_stops(void **state)
{
    const char *src = "a{{b}}c{{$d}}e";
    for (int stop = 1; stop <= 5; ++stop) {
        rec_t r = {.lo = src, .hi = src + strlen(src), .stop_at = stop};
        gw_ui_tmpl_err_t err;
        assert_int_equal(gw_ui_parse_template(src, strlen(src), record, &r, &err), GW_UI_ECALLBACK);
        assert_int_equal(r.count, stop);
    }
}

static void
test_template_every_prefix(void **state)
{
    for (const tmpl_case_t *c = tmpl_cases; c->src != NULL; ++c) {
        size_t len = strlen(c->src);
        for (size_t n = 0; n <= len; ++n) {
            char *buf = malloc(n != 0 ? n : 1);
            assert_non_null(buf);
            memcpy(buf, c->src, n);
            rec_t r = {.lo = buf, .hi = buf + n};
            gw_ui_tmpl_err_t err;
            int rc = gw_ui_parse_template(buf, n, record, &r, &err);
            assert_true(rc <= 0 && rc >= GW_UI_ECALLBACK);
            if (rc != 0) {
                assert_true(err.at < n);
                if (err.name != NULL)
                    assert_true(err.name >= buf && err.name + err.name_len <= buf + n);
            }
            if (n == len)
                assert_int_equal(rc, c->rc);
            free(buf);
        }
    }
}

/* --- interpolation and escaping --------------------------------------------------------------- */

typedef struct {
    char buf[512];
    size_t len;
} sink_t;

static void
sink(void *ctx, const char *s, size_t len)
{
    sink_t *k = ctx;
    assert_true(k->len + len < sizeof(k->buf));
    if (len != 0)
        memcpy(k->buf + k->len, s, len);
    k->len += len;
    k->buf[k->len] = '\0';
}

static int
lookup(void *ctx, const char *name, size_t len, const char **value, size_t *value_len)
{
    static const char *const vars[][2] = {{"n", "3"}, {"name", "<Ann & \"Bo\">"}, {"", "EMPTY"}, {"site", "a'b"}};
    for (size_t i = 0; i != sizeof(vars) / sizeof(vars[0]); ++i)
        if (strlen(vars[i][0]) == len && memcmp(vars[i][0], name, len) == 0) {
            *value = vars[i][1], *value_len = strlen(vars[i][1]);
            return 1;
        }
    return 0;
}

typedef struct {
    const char *in, *want;
} str_case_t;

static const str_case_t escape_cases[] = {
    {"", ""},
    {"plain", "plain"},
    {"a&b", "a&amp;b"},
    {"<script>", "&lt;script&gt;"},
    {"\"'", "&quot;&#39;"},
    {"&amp;", "&amp;amp;"},
    {"{x}", "{x}"},
    {NULL, NULL} /* end */
};

static const str_case_t interp_cases[] = {
    {"", ""},
    {"no vars", "no vars"},
    {"{n} cookies", "3 cookies"},
    {"Hi {name}!", "Hi &lt;Ann &amp; &quot;Bo&quot;&gt;!"},
    {"{site}", "a&#39;b"},
    {"{unknown}", "{unknown}"},
    {"{}", "EMPTY"},
    {"{n", "{n"},
    {"n}", "n}"},
    {"{{n}}", "{3}"}, /* the scan goes on right after an unmatched '{' */
    {"{x{n}", "{x3"}, /* "x{n" is no name: "{" stays, then {n} */
    {"{n}{n}", "33"},
    {"<{n}>", "&lt;3&gt;"},
    {"&{nope}", "&amp;{nope}"},
    {"}{n}{", "}3{"},
    {NULL, NULL} /* end */
};

static void
test_escape_table(void **state)
{
    for (const str_case_t *c = escape_cases; c->in != NULL; ++c) {
        sink_t k = {{0}, 0};
        gw_ui_escape(c->in, strlen(c->in), sink, &k);
        assert_string_equal(k.buf, c->want);
    }
}

static void
test_interpolate_table(void **state)
{
    for (const str_case_t *c = interp_cases; c->in != NULL; ++c) {
        sink_t k = {{0}, 0};
        /* the lookup's and the sink's contexts are the same pointer, as in ui.c */
        gw_ui_interpolate(c->in, strlen(c->in), lookup, sink, &k);
        if (strcmp(k.buf, c->want) != 0)
            fail_msg("interpolate \"%s\": got \"%s\", want \"%s\"", c->in, k.buf, c->want);
    }
}

static void
test_strings_every_prefix(void **state)
{
    const str_case_t *tables[] = {escape_cases, interp_cases};
    for (size_t t = 0; t != 2; ++t)
        for (const str_case_t *c = tables[t]; c->in != NULL; ++c) {
            size_t len = strlen(c->in);
            for (size_t n = 0; n <= len; ++n) {
                char *buf = malloc(n != 0 ? n : 1);
                assert_non_null(buf);
                memcpy(buf, c->in, n);
                sink_t k = {{0}, 0};
                gw_ui_escape(buf, n, sink, &k);
                assert_true(k.len >= n);
                k = (sink_t){{0}, 0};
                gw_ui_interpolate(buf, n, lookup, sink, &k);
                if (n == len && t == 1)
                    assert_string_equal(k.buf, c->want);
                free(buf);
            }
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiate_table),
        cmocka_unit_test(test_negotiate_no_codes),
        cmocka_unit_test(test_negotiate_length_bounds),
        cmocka_unit_test(test_negotiate_every_prefix),
        cmocka_unit_test(test_negotiate_chinese_scripts),
        cmocka_unit_test(test_template_table),
        cmocka_unit_test(test_template_depth),
        cmocka_unit_test(test_template_callback_stops),
        cmocka_unit_test(test_template_every_prefix),
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_interpolate_table),
        cmocka_unit_test(test_strings_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
