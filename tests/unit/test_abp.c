/*
 * Unit tests for filters/abp.c: Adblock Plus / uBlock network-rule parser and matcher.
 *
 * - syntax: table-driven cases, one small list per group of cases, every verdict also
 *   checked against gw_abp_match_linear() (no index) so the index never loses a match;
 * - real lists: verbatim EasyPrivacy / EasyList excerpts (tests/data/abp/, licence in its
 *   README) with expected counts, reported line numbers and verdicts for real URLs;
 * - loading: the same text fed whole, byte by byte and in random chunks gives the same
 *   stats and the same rules; every prefix of every line, in an exactly sized heap buffer,
 *   parses without reading past it (ASan);
 * - third party by registrable domain (libpsl), API misuse, reports, and concurrent readers.
 * Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "abp.h"

#define EP_SAMPLE "tests/data/abp/easyprivacy-sample.txt"
#define EL_SAMPLE "tests/data/abp/easylist-sample.txt"
#define ANALYTICS 2
#define S_(lit) lit, sizeof(lit) - 1
#define MARKETING 3

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static gw_abp_t *
build1(const char *text, unsigned category, gw_abp_stats_t *st)
{
    gw_abp_builder_t *b = gw_abp_builder_new();
    assert_non_null(b);
    assert_int_equal(gw_abp_builder_add_buffer(b, text, strlen(text), category, "test", st), 0);
    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    return m;
}

static gw_abp_request_t
req(const char *url, const char *page, gw_abp_type_t type, int party)
{
    gw_abp_request_t r = {url, strlen(url), NULL, 0, page ? page : "", page ? strlen(page) : 0, type, party};
    return r;
}

/* matches with both matchers, checks they agree, returns the indexed result */
static int
match2(const gw_abp_t *m, const gw_abp_request_t *rq, gw_abp_result_t *out)
{
    gw_abp_result_t lin;
    int a = gw_abp_match(m, rq, out), b = gw_abp_match_linear(m, rq, &lin);
    if (a != b || out->matched != lin.matched || out->overridden != lin.overridden || out->categories != lin.categories ||
        out->rule != lin.rule || out->exception != lin.exception)
        fail_msg("index and linear disagree on %.*s: %d/%d cats %x/%x rule %u/%u exc %u/%u", (int)rq->url_len, rq->url, a, b,
                 out->categories, lin.categories, out->rule, lin.rule, out->exception, lin.exception);
    return a;
}

/* ---- syntax: table-driven -------------------------------------------------------- */

enum { NO = 0, YES = 1, EXC = 2 /* a block rule matched, an exception overrode it */ };

struct mcase {
    const char *rules; /* NULL: same list as the previous case */
    const char *url;
    const char *page; /* NULL or "": top-level navigation */
    gw_abp_type_t type;
    int party; /* -1: matcher decides */
    int want;
};

#define IMG GW_ABP_IMAGE
#define SCR GW_ABP_SCRIPT
static const struct mcase mcases[] = {
    /* ||host^ : the host or a subdomain, then a separator */
    {"||example.com^", "https://example.com/", "a.org", IMG, -1, YES},
    {NULL, "https://sub.example.com/x.gif", "a.org", IMG, -1, YES},
    {NULL, "https://a.b.example.com:8443/x", "a.org", IMG, -1, YES},
    {NULL, "https://EXAMPLE.COM/x", "a.org", IMG, -1, YES},
    {NULL, "https://example.com", "a.org", IMG, -1, YES},
    {NULL, "https://example.com?x=1", "a.org", IMG, -1, YES},
    {NULL, "https://user:pw@example.com/", "a.org", IMG, -1, YES},
    {NULL, "https://notexample.com/", "a.org", IMG, -1, NO},
    {NULL, "https://example.com.evil.net/", "a.org", IMG, -1, NO},
    {NULL, "https://example.community/", "a.org", IMG, -1, NO},
    {NULL, "https://evil.net/?u=https://example.com/", "a.org", IMG, -1, NO},
    {NULL, "https://example.com@evil.net/", "a.org", IMG, -1, NO},
    {NULL, "https://example.co/", "a.org", IMG, -1, NO},
    {NULL, "example.com/x", "a.org", IMG, -1, NO}, /* no scheme: no host to anchor at */
    /* ||host/path and ||prefix */
    {"||example.com/ads/", "https://example.com/ads/1.js", "a.org", SCR, -1, YES},
    {NULL, "https://cdn.example.com/ads/", "a.org", SCR, -1, YES},
    {NULL, "https://example.com/x/ads/", "a.org", SCR, -1, NO},
    {NULL, "https://myexample.com/ads/", "a.org", SCR, -1, NO},
    {"||ads.", "https://ads.foo.com/", "a.org", SCR, -1, YES},
    {NULL, "https://x.ads.foo.com/", "a.org", SCR, -1, YES},
    {NULL, "https://uploads.foo.com/", "a.org", SCR, -1, NO},
    {NULL, "https://foo.com/ads.js", "a.org", SCR, -1, NO},
    /* |start and end| anchors */
    {"|https://track.", "https://track.x.com/p", "a.org", IMG, -1, YES},
    {NULL, "http://track.x.com/p", "a.org", IMG, -1, NO},
    {NULL, "https://a.com/?r=https://track.x.com", "a.org", IMG, -1, NO},
    {"/pixel.gif|", "https://a.com/pixel.gif", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/pixel.gif?x=1", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/pixel.gifx", "b.org", IMG, -1, NO},
    {"|https://a.com/|", "https://a.com/", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/x", "b.org", IMG, -1, NO},
    {NULL, "xhttps://a.com/", "b.org", IMG, -1, NO},
    /* plain substrings are not token-aligned ("/banner/" alone would be a regex) */
    {"/banner/*", "https://a.com/img/banner/1.png", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/banners/1.png", "b.org", IMG, -1, NO},
    {"analytics.js", "https://a.com/googleanalytics.js", "b.org", SCR, -1, YES},
    {NULL, "https://a.com/analytics.json", "b.org", SCR, -1, YES},
    {NULL, "https://a.com/analytics-js", "b.org", SCR, -1, NO},
    /* * wildcard */
    {"/ads/*/pixel", "https://a.com/ads/x/y/pixel", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/ads//pixel", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/ads/pixel", "b.org", IMG, -1, NO},
    {"||a.com^*/beacon.*?id=", "https://www.a.com/v1/beacon.js?id=7", "b.org", SCR, -1, YES},
    {NULL, "https://www.a.com/v1/beacon?id=7", "b.org", SCR, -1, NO},
    {"*", "https://a.com/", "b.org", SCR, -1, NO}, /* malformed: matches nothing */
    /* ^ separator: not a letter, digit, _ - . % ; or the end */
    {"/track^", "https://a.com/track?x", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/track/1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/track", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/track:1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/tracking", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/track.js", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/track-1", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/track_1", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/track%20", "b.org", IMG, -1, NO},
    {"^ad^", "https://a.com/ad/1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/x?ad=1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/x-ad-1", "b.org", IMG, -1, NO},
    /* case: insensitive unless $match-case */
    {"/Ads/*", "https://a.com/ADS/1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/ads/1", "b.org", IMG, -1, YES},
    {"/Ads/*$match-case", "https://a.com/Ads/1", "b.org", IMG, -1, YES},
    {NULL, "https://a.com/ads/1", "b.org", IMG, -1, NO},
    {NULL, "https://a.com/ADS/1", "b.org", IMG, -1, NO},
    /* @@ exceptions override, $important overrides exceptions */
    {"||example.com^\n@@||example.com/ok/", "https://example.com/ok/1.js", "a.org", SCR, -1, EXC},
    {NULL, "https://example.com/other.js", "a.org", SCR, -1, YES},
    {NULL, "https://x.example.com/ok/1.js", "a.org", SCR, -1, EXC},
    {"||example.com^$important\n@@||example.com/ok/", "https://example.com/ok/1.js", "a.org", SCR, -1, YES},
    {"||example.com^$important\n@@||example.com/ok/$important", "https://example.com/ok/1.js", "a.org", SCR, -1, EXC},
    {"@@||example.com/ok/", "https://example.com/ok/1.js", "a.org", SCR, -1, NO}, /* an exception alone blocks nothing */
    {"||example.com^\n@@||example.com/ok/$image", "https://example.com/ok/1.js", "a.org", SCR, -1, YES},
    {NULL, "https://example.com/ok/1.png", "a.org", IMG, -1, EXC},
    /* types */
    {"||t.com^$image", "https://t.com/p", "a.org", IMG, -1, YES},
    {NULL, "https://t.com/p", "a.org", SCR, -1, NO},
    {"||t.com^$~image", "https://t.com/p", "a.org", IMG, -1, NO},
    {NULL, "https://t.com/p", "a.org", SCR, -1, YES},
    {NULL, "https://t.com/p", "a.org", GW_ABP_OTHER, -1, YES},
    {NULL, "https://t.com/", NULL, GW_ABP_DOCUMENT, -1, NO}, /* no type option: not documents */
    {"||t.com^", "https://t.com/", NULL, GW_ABP_DOCUMENT, -1, NO},
    {NULL, "https://t.com/", "a.org", GW_ABP_SUBDOCUMENT, -1, YES},
    {"||t.com^$document", "https://t.com/", NULL, GW_ABP_DOCUMENT, -1, YES},
    {NULL, "https://t.com/x.js", "a.org", SCR, -1, NO},
    {"||t.com^$script,image", "https://t.com/x", "a.org", SCR, -1, YES},
    {NULL, "https://t.com/x", "a.org", IMG, -1, YES},
    {NULL, "https://t.com/x", "a.org", GW_ABP_XHR, -1, NO},
    {"||t.com^$xhr", "https://t.com/x", "a.org", GW_ABP_XHR, -1, YES},
    {"||t.com^$xmlhttprequest", "https://t.com/x", "a.org", GW_ABP_XHR, -1, YES},
    {NULL, "https://t.com/x", "a.org", GW_ABP_PING, -1, NO},
    {"||t.com^$ping", "https://t.com/x", "a.org", GW_ABP_PING, -1, YES},
    {"||t.com^$beacon", "https://t.com/x", "a.org", GW_ABP_PING, -1, YES},
    {"||t.com^$subdocument", "https://t.com/x", "a.org", GW_ABP_SUBDOCUMENT, -1, YES},
    {"||t.com^$frame", "https://t.com/x", "a.org", GW_ABP_SUBDOCUMENT, -1, YES},
    {NULL, "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^$css", "https://t.com/x", "a.org", GW_ABP_STYLESHEET, -1, YES},
    {"||t.com^$font,media,object,websocket,other", "https://t.com/x", "a.org", GW_ABP_FONT, -1, YES},
    {NULL, "https://t.com/x", "a.org", GW_ABP_WEBSOCKET, -1, YES},
    {NULL, "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^$popup", "https://t.com/x", "a.org", SCR, -1, NO}, /* skipped */
    {"||t.com^$script,popup", "https://t.com/x", "a.org", SCR, -1, YES},
    {"||t.com^$all", "https://t.com/", NULL, GW_ABP_DOCUMENT, -1, YES},
    /* party: caller-given or by registrable domain */
    {"||t.com^$third-party", "https://t.com/p", "a.org", IMG, -1, YES},
    {NULL, "https://t.com/p", "t.com", IMG, -1, NO},
    {NULL, "https://x.t.com/p", "www.t.com", IMG, -1, NO},
    {NULL, "https://t.com/p", NULL, IMG, -1, NO},    /* top level: its own context */
    {NULL, "https://t.com/p", "t.com", IMG, 1, YES}, /* the caller decides */
    {NULL, "https://t.com/p", "a.org", IMG, 0, NO},
    {"||t.com^$3p", "https://t.com/p", "a.org", IMG, -1, YES},
    {"||t.com^$~first-party", "https://t.com/p", "a.org", IMG, -1, YES},
    {"||t.com^$~third-party", "https://t.com/p", "a.org", IMG, -1, NO},
    {NULL, "https://t.com/p", "www.t.com", IMG, -1, YES},
    {"||t.com^$1p", "https://t.com/p", "www.t.com", IMG, -1, YES},
    {"||t.com^$first-party", "https://t.com/p", "a.org", IMG, -1, NO},
    {"/x.js$~third-party", "https://cdn.shop.co.uk/x.js", "www.shop.co.uk", SCR, -1, YES},
    {NULL, "https://cdn.shop.co.uk/x.js", "www.other.co.uk", SCR, -1, NO},
    {NULL, "https://shop.github.io/x.js", "other.github.io", SCR, -1, NO},
    {NULL, "https://shop.github.io/x.js", "shop.github.io", SCR, -1, YES},
    {NULL, "https://a.shop.github.io/x.js", "b.shop.github.io", SCR, -1, YES},
    {NULL, "https://192.168.1.2/x.js", "192.168.1.3", SCR, -1, NO},
    {NULL, "https://192.168.1.2/x.js", "192.168.1.2", SCR, -1, YES},
    {"/x.js$third-party", "https://shop.github.io/x.js", "other.github.io", SCR, -1, YES},
    {NULL, "https://cdn.shop.co.uk/x.js", "www.shop.co.uk", SCR, -1, NO},
    /* $domain=: page host or its subdomains; longest entry decides; negations */
    {"/ad.js$domain=a.com|~b.a.com", "https://x.net/ad.js", "a.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "www.a.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "b.a.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "c.b.a.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "other.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "aa.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "A.COM", SCR, -1, YES},
    {NULL, "https://a.com/ad.js", NULL, GW_ABP_DOCUMENT, -1, NO},
    {NULL, "https://a.com/ad.js", NULL, GW_ABP_OTHER, -1, YES}, /* no page: the URL's own host */
    {"/ad.js$domain=~a.com", "https://x.net/ad.js", "other.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "a.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "sub.a.com", SCR, -1, NO},
    {"/ad.js$domain=~b.a.com|a.com|~a.com", "https://x.net/ad.js", "a.com", SCR, -1, NO}, /* tie: negation wins */
    {"/ad.js$from=a.com", "https://x.net/ad.js", "a.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "b.com", SCR, -1, NO},
    /* many entries: the hashed path, same semantics */
    {"/ad.js$domain=a.com|~b.a.com|c.org|d.org|e.org|f.org|~x.f.org|g.org", "https://x.net/ad.js", "a.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "q.b.a.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "y.x.f.org", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "www.f.org", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "g.org", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "h.org", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "org", SCR, -1, NO},
    {"/ad.js$domain=~a.com|~b.com|~c.com|~d.com|~e.com|~f.com", "https://x.net/ad.js", "z.com", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "www.c.com", SCR, -1, NO},
    /* entity: google.* is google plus any public suffix */
    {"/ad.js$domain=google.*", "https://x.net/ad.js", "www.google.co.uk", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "google.de", SCR, -1, YES},
    {NULL, "https://x.net/ad.js", "google.evil.com", SCR, -1, NO},
    {NULL, "https://x.net/ad.js", "notgoogle.com", SCR, -1, NO},
    /* skipped rules never match */
    {"/ads[0-9]+/\n/tracker\\.js$/$script", "https://a.com/ads1/x", "b.org", SCR, -1, NO},
    {"||t.com^$redirect=noop.js", "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^$csp=script-src 'none'", "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^$removeparam=utm_source", "https://t.com/x?utm_source=1", "a.org", SCR, -1, NO},
    {"||t.com^$script,method=post", "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^\n@@||t.com^$generichide", "https://t.com/x", "a.org", SCR, -1, YES},
    {"||t.com^\n@@||t.com^$document", "https://t.com/x", "a.org", SCR, -1, YES},
    /* "@@…$document,subdocument": its frame part is an exception (uBlock's reading), not its other types */
    {"||t.com^\n@@||t.com/b/$document,subdocument", "https://t.com/b/1", "a.org", GW_ABP_SUBDOCUMENT, -1, EXC},
    {"||t.com^\n@@||t.com/b/$document,subdocument", "https://t.com/b/1", "a.org", SCR, -1, YES},
    {"||t.com^$all\n@@||t.com/b/$all", "https://t.com/b/1", "a.org", GW_ABP_IMAGE, -1, EXC},
    {"t.com##.ad\nt.com#@#.ad\n##.banner\nt.com##+js(set, a, 1)\nt.com$$script[tag-content=\"x\"]", "https://t.com/x", "a.org", SCR,
     -1, NO},
    /* $badfilter disables the same rule text */
    {"||t.com^$third-party\n||t.com^$third-party,badfilter", "https://t.com/x", "a.org", SCR, -1, NO},
    {"||t.com^$third-party\n||t.com^$badfilter", "https://t.com/x", "a.org", SCR, -1, YES},
    /* !#if: bare token false, !token true */
    {"!#if ext_ublock\n||a.com^\n!#else\n||b.com^\n!#endif\n!#if !env_safari\n||c.com^\n!#endif", "https://a.com/", "x.org", SCR,
     -1, NO},
    {NULL, "https://b.com/", "x.org", SCR, -1, YES},
    {NULL, "https://c.com/", "x.org", SCR, -1, YES},
    {"!#if env_chromium && !env_safari\n||a.com^\n!#endif\n||d.com^", "https://a.com/", "x.org", SCR, -1, NO},
    {NULL, "https://d.com/", "x.org", SCR, -1, YES},
    {"!#if env_a\n!#if !env_b\n||a.com^\n!#endif\n||b.com^\n!#else\n||c.com^\n!#endif", "https://a.com/", "x.org", SCR, -1, NO},
    {NULL, "https://b.com/", "x.org", SCR, -1, NO},
    {NULL, "https://c.com/", "x.org", SCR, -1, YES},
    /* line endings and blanks around rules */
    {"  ||a.com^ \r\n\t||b.com^\t\r\n", "https://a.com/", "x.org", SCR, -1, YES},
    {NULL, "https://b.com/", "x.org", SCR, -1, YES},
    /* empty patterns restricted by options */
    {"$ping,third-party", "https://any.net/x", "a.org", GW_ABP_PING, -1, YES},
    {NULL, "https://any.net/x", "a.org", IMG, -1, NO},
    {NULL, "https://www.a.org/x", "a.org", GW_ABP_PING, -1, NO},
    {"*$image,domain=a.org", "https://any.net/x", "a.org", IMG, -1, YES},
    {NULL, "https://any.net/x", "b.org", IMG, -1, NO},
    {NULL, NULL, NULL, 0, 0, 0} /* end of list */
};

static void
test_syntax_table(void **state)
{
    gw_abp_t *m = NULL;
    const char *rules = NULL;
    for (size_t i = 0; mcases[i].url != NULL; ++i) {
        const struct mcase *c = &mcases[i];
        if (c->rules != NULL) {
            gw_abp_free(m);
            rules = c->rules;
            m = build1(rules, ANALYTICS, NULL);
        }
        gw_abp_request_t rq = req(c->url, c->page, c->type, c->party);
        gw_abp_result_t r;
        int got = match2(m, &rq, &r);
        int verdict = got == 1 ? YES : r.overridden ? EXC : NO;
        if (verdict != c->want)
            fail_msg("case %zu: rules \"%s\" url %s page %s type %s party %d: got %d want %d", i, rules, c->url,
                     c->page ? c->page : "", gw_abp_type_str(c->type), c->party, verdict, c->want);
        assert_int_equal(r.categories, got == 1 ? 1u << ANALYTICS : 0);
        if (verdict != NO) {
            assert_non_null(r.rule_text);
            assert_int_not_equal(r.rule, GW_ABP_NO_RULE);
        }
        if (verdict == EXC)
            assert_int_not_equal(r.exception, GW_ABP_NO_RULE);
    }
    gw_abp_free(m);
}

/* ---- what each line became: reasons, counts, reports ------------------------------ */

struct pcase {
    const char *line;
    gw_abp_reason_t want;
};

static const struct pcase pcases[] = {
    {"\n", GW_ABP_COMMENT},
    {"   ", GW_ABP_COMMENT},
    {"! comment", GW_ABP_COMMENT},
    {"[Adblock Plus 2.0]", GW_ABP_COMMENT},
    {"# hosts-style comment", GW_ABP_COMMENT},
    {"!#include other.txt", GW_ABP_COMMENT},
    {"||a.com^", GW_ABP_LOADED},
    {"@@||a.com^$script", GW_ABP_LOADED},
    {"|https://a.com/x|", GW_ABP_LOADED},
    {"/x^$image,third-party,domain=a.com|~b.a.com", GW_ABP_LOADED},
    {"/x$important,match-case,~xhr,1p", GW_ABP_LOADED},
    {"||a.com^$badfilter", GW_ABP_LOADED},
    {"##.ad", GW_ABP_SKIP_COSMETIC},
    {"a.com##.ad", GW_ABP_SKIP_COSMETIC},
    {"a.com#@#.ad", GW_ABP_SKIP_COSMETIC},
    {"a.com#?#div:has(.x)", GW_ABP_SKIP_COSMETIC},
    {"a.com#@?#div:has(.x)", GW_ABP_SKIP_COSMETIC},
    {"a.com#$#body { color: red }", GW_ABP_SKIP_COSMETIC},
    {"a.com#%#window.x=1", GW_ABP_SKIP_COSMETIC},
    {"a.com##+js(set, a, 1)", GW_ABP_SKIP_COSMETIC},
    {"a.com##^script:has-text(x)", GW_ABP_SKIP_COSMETIC},
    {"a.com$$script[tag-content=\"x\"]", GW_ABP_SKIP_COSMETIC},
    {"a.com$@$script", GW_ABP_SKIP_COSMETIC},
    {"/ads[0-9]/", GW_ABP_SKIP_REGEX},
    {"/ad\\.js$/$script", GW_ABP_SKIP_REGEX},
    {"@@/ok[0-9]/$image", GW_ABP_SKIP_REGEX},
    {"/x$domain=/a\\.com/", GW_ABP_SKIP_REGEX},
    {"||a.com^$redirect=noop.js", GW_ABP_SKIP_OPTION},
    {"||a.com^$redirect-rule=noop.js", GW_ABP_SKIP_OPTION},
    {"||a.com^$csp=script-src 'none'", GW_ABP_SKIP_OPTION},
    {"||a.com^$removeparam=utm_source", GW_ABP_SKIP_OPTION},
    {"||a.com^$rewrite=abp-resource:blank-js", GW_ABP_SKIP_OPTION},
    {"||a.com^$denyallow=b.com", GW_ABP_SKIP_OPTION},
    {"||a.com^$to=b.com", GW_ABP_SKIP_OPTION},
    {"||a.com^$xhr,method=post", GW_ABP_SKIP_OPTION},
    {"@@||a.com^$generichide", GW_ABP_SKIP_OPTION},
    {"@@||a.com^$elemhide", GW_ABP_SKIP_OPTION},
    {"@@||a.com^$document", GW_ABP_SKIP_OPTION},
    {"@@||a.com^$document,subdocument", GW_ABP_LOADED}, /* its subdocument part */
    {"@@||a.com^$document,~subdocument", GW_ABP_SKIP_OPTION},
    {"/ref$page=1", GW_ABP_SKIP_OPTION}, /* a '$' inside a pattern reads as options */
    {"||a.com^$popup", GW_ABP_SKIP_POPUP},
    {"||a.com^$popup,third-party", GW_ABP_SKIP_POPUP},
    {"@@", GW_ABP_BAD_EMPTY},
    {"||", GW_ABP_BAD_EMPTY},
    {"|", GW_ABP_BAD_EMPTY},
    {"*", GW_ABP_BAD_EMPTY},
    {"**^*", GW_ABP_BAD_EMPTY},
    {"|*|", GW_ABP_BAD_EMPTY},
    {"@@*$important", GW_ABP_BAD_EMPTY},
    {"foo$", GW_ABP_BAD_OPTION},
    {"foo$,image", GW_ABP_BAD_OPTION},
    {"foo$image,", GW_ABP_BAD_OPTION},
    {"foo$domain=", GW_ABP_BAD_OPTION},
    {"foo$domain=a.com||b.com", GW_ABP_BAD_OPTION},
    {"foo$domain=~", GW_ABP_BAD_OPTION},
    {"foo$domain=a*.com", GW_ABP_BAD_OPTION},
    {"foo$~domain=a.com", GW_ABP_BAD_OPTION},
    {"foo$image=1", GW_ABP_BAD_OPTION},
    {"foo$third-party=1", GW_ABP_BAD_OPTION},
    {"foo$~important", GW_ABP_BAD_OPTION},
    {"foo$~", GW_ABP_BAD_OPTION},
    {"foo$image,~", GW_ABP_BAD_OPTION},
    {"foo$~match-case", GW_ABP_BAD_OPTION},
    {"foo$third-party,~third-party", GW_ABP_BAD_OPTION},
    {"foo$3p,1p", GW_ABP_BAD_OPTION},
    {"foo$script,~script", GW_ABP_BAD_OPTION},
    {"foo$unknown-option,", GW_ABP_BAD_OPTION}, /* a syntax error outranks an unknown option */
    {"foo bar", GW_ABP_BAD_CONTROL},
    {"foo\x01", GW_ABP_BAD_CONTROL},
    {"fo\to", GW_ABP_BAD_CONTROL},
    {"foo\x7f", GW_ABP_BAD_CONTROL},
    {"!#endif", GW_ABP_BAD_DIRECTIVE},
    {"!#else", GW_ABP_BAD_DIRECTIVE},
    {NULL, 0} /* end of list */
};

static void
test_line_reasons(void **state)
{
    for (size_t i = 0; pcases[i].line != NULL; ++i) {
        gw_abp_stats_t st;
        gw_abp_builder_t *b = gw_abp_builder_new();
        assert_int_equal(gw_abp_builder_add_buffer(b, pcases[i].line, strlen(pcases[i].line), 0, "t", &st), 0);
        gw_abp_builder_free(b);
        assert_int_equal(st.lines, 1);
        size_t nonzero = 0;
        for (int k = 0; k != GW_ABP_REASON_COUNT; ++k)
            nonzero += st.by_reason[k];
        assert_int_equal(nonzero, 1);
        if (st.by_reason[pcases[i].want] != 1) {
            int got = 0;
            while (st.by_reason[got] == 0)
                ++got;
            fail_msg("\"%s\": got %s, want %s", pcases[i].line, gw_abp_reason_str(got), gw_abp_reason_str(pcases[i].want));
        }
        int skip = pcases[i].want >= GW_ABP_SKIP_COSMETIC && pcases[i].want < GW_ABP_BAD_TOO_LONG;
        int bad = pcases[i].want >= GW_ABP_BAD_TOO_LONG;
        assert_int_equal(st.loaded, pcases[i].want == GW_ABP_LOADED);
        assert_int_equal(st.ignored, pcases[i].want == GW_ABP_COMMENT);
        assert_int_equal(st.skipped, skip);
        assert_int_equal(st.malformed, bad);
        assert_int_equal(st.n_skipped_report, skip);
        assert_int_equal(st.n_malformed_report, bad);
        if (skip || bad) {
            const gw_abp_line_report_t *rep = skip ? &st.skipped_report[0] : &st.malformed_report[0];
            assert_int_equal(rep->line, 1);
            assert_int_equal(rep->reason, pcases[i].want);
        }
    }
}

static void
test_reports(void **state)
{
    /* 25 malformed and 25 skipped lines between rules: counts are complete, the first 20
     * of each are kept with their line numbers and text */
    char text[8192];
    size_t o = 0;
    for (int i = 0; i != 25; ++i)
        o += (size_t)snprintf(text + o, sizeof(text) - o, "||ok%d.com^\nbad%d$\n/re%d[0-9]/\n", i, i, i);
    gw_abp_stats_t st;
    gw_abp_builder_t *b = gw_abp_builder_new();
    assert_int_equal(gw_abp_builder_add_buffer(b, text, o, 1, "t", &st), 0);
    assert_int_equal(st.lines, 75);
    assert_int_equal(st.loaded, 25);
    assert_int_equal(st.malformed, 25);
    assert_int_equal(st.skipped, 25);
    assert_int_equal(st.by_reason[GW_ABP_BAD_OPTION], 25);
    assert_int_equal(st.by_reason[GW_ABP_SKIP_REGEX], 25);
    assert_int_equal(st.n_malformed_report, GW_ABP_REPORT_MAX);
    assert_int_equal(st.n_skipped_report, GW_ABP_REPORT_MAX);
    for (int i = 0; i != GW_ABP_REPORT_MAX; ++i) {
        char want[32];
        assert_int_equal(st.malformed_report[i].line, 3 * i + 2);
        snprintf(want, sizeof(want), "bad%d$", i);
        assert_string_equal(st.malformed_report[i].text, want);
        assert_int_equal(st.skipped_report[i].line, 3 * i + 3);
        assert_int_equal(st.skipped_report[i].reason, GW_ABP_SKIP_REGEX);
    }

    /* a second list counts its own lines; the report text is truncated, NUL-terminated */
    char longline[400];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "/re", 3);
    longline[sizeof(longline) - 1] = '/';
    assert_int_equal(gw_abp_builder_add_buffer(b, longline, sizeof(longline), 1, "t2", &st), 0);
    assert_int_equal(st.lines, 1);
    assert_int_equal(st.skipped_report[0].line, 1);
    assert_int_equal(strlen(st.skipped_report[0].text), GW_ABP_REPORT_TEXT - 1);

    /* too long: malformed, and the next line still parses (whole and split feeds) */
    size_t n = GW_ABP_MAX_LINE + 1;
    char *big = malloc(n + 20);
    memset(big, 'a', n);
    memcpy(big + n, "\n||z.com^\n", 10);
    for (int split = 0; split != 3; ++split) {
        assert_int_equal(gw_abp_builder_begin(b, 1, "big"), 0);
        if (split == 0) {
            assert_int_equal(gw_abp_builder_feed(b, big, n + 10), 0);
        } else {
            size_t at = split == 1 ? 100 : n;
            assert_int_equal(gw_abp_builder_feed(b, big, at), 0);
            assert_int_equal(gw_abp_builder_feed(b, big + at, n + 10 - at), 0);
        }
        assert_int_equal(gw_abp_builder_end(b, &st), 0);
        assert_int_equal(st.lines, 2);
        assert_int_equal(st.by_reason[GW_ABP_BAD_TOO_LONG], 1);
        assert_int_equal(st.malformed_report[0].line, 1);
        assert_int_equal(st.loaded, 1);
    }
    /* exactly GW_ABP_MAX_LINE bytes is accepted */
    memcpy(big, "||", 2);
    memcpy(big + GW_ABP_MAX_LINE - 1, "^", 1);
    assert_int_equal(gw_abp_builder_add_buffer(b, big, GW_ABP_MAX_LINE, 1, "max", &st), 0);
    assert_int_equal(st.loaded, 1);
    free(big);

    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    gw_abp_rule_info_t ri;
    assert_int_equal(gw_abp_rule(m, 0, &ri), 0);
    assert_int_equal(ri.line, 1);
    assert_string_equal(ri.list, "t");
    assert_int_equal(ri.category, 1);
    assert_int_equal(ri.text_len, strlen("||ok0.com^"));
    assert_memory_equal(ri.text, "||ok0.com^", ri.text_len);
    assert_int_equal(gw_abp_rule(m, 24, &ri), 0);
    assert_int_equal(ri.line, 73);
    gw_abp_info_t info;
    gw_abp_info(m, &info);
    assert_int_equal(info.rules, 25 + 3 + 1);
    assert_int_equal(gw_abp_rule(m, (uint32_t)info.rules, &ri), -1);
    gw_abp_free(m);
}

/* ---- several lists, categories, reporting ------------------------------------------ */

static void
test_categories(void **state)
{
    gw_abp_builder_t *b = gw_abp_builder_new();
    gw_abp_stats_t st;
    assert_int_equal(gw_abp_builder_add_buffer(b, S_("! analytics\n||t.com^\n"), ANALYTICS, "ep", &st), 0);
    assert_int_equal(gw_abp_builder_add_buffer(b, S_("||t.com/ads/\n@@||t.com/ok/\n"), MARKETING, "el", &st), 0);
    assert_int_equal(gw_abp_builder_add_buffer(b, S_("/t.gif$image,important\n"), 7, "imp", &st), 0);
    gw_abp_t *m = gw_abp_builder_finish(b);
    gw_abp_result_t r;
    gw_abp_rule_info_t ri;

    gw_abp_request_t q = req("https://t.com/ads/1.js", "a.org", SCR, -1);
    assert_int_equal(match2(m, &q, &r), 1);
    assert_int_equal(r.categories, (1u << ANALYTICS) | (1u << MARKETING));
    assert_int_equal(r.category, ANALYTICS); /* the first rule in load order is reported */
    assert_int_equal(r.rule, 0);
    assert_int_equal(r.rule_text_len, 8);
    assert_memory_equal(r.rule_text, "||t.com^", 8);
    assert_int_equal(gw_abp_rule(m, r.rule, &ri), 0);
    assert_string_equal(ri.list, "ep");
    assert_int_equal(ri.line, 2);
    assert_int_equal(ri.exception, 0);

    /* an exception of one list overrides block rules of all lists, not $important ones */
    q = req("https://t.com/ok/t.gif", "a.org", IMG, -1);
    assert_int_equal(match2(m, &q, &r), 1);
    assert_int_equal(r.categories, 1u << 7);
    assert_int_equal(r.category, 7);
    assert_int_equal(r.overridden, 0);
    assert_int_equal(gw_abp_rule(m, r.exception, &ri), 0);
    assert_string_equal(ri.list, "el");
    assert_int_equal(ri.exception, 1);
    q = req("https://t.com/ok/x.js", "a.org", SCR, -1);
    assert_int_equal(match2(m, &q, &r), 0);
    assert_int_equal(r.overridden, 1);
    assert_int_equal(r.categories, 0);
    assert_int_equal(r.category, ANALYTICS);
    assert_int_equal(r.rule, 0);
    assert_memory_equal(r.rule_text, "||t.com^", 8);
    q = req("https://x.org/", "a.org", SCR, -1);
    assert_int_equal(match2(m, &q, &r), 0);
    assert_int_equal(r.rule, GW_ABP_NO_RULE);
    assert_int_equal(r.exception, GW_ABP_NO_RULE);
    assert_null(r.rule_text);
    gw_abp_free(m);
}

/* ---- real lists ------------------------------------------------------------------- */

static gw_abp_t *
load_samples(gw_abp_stats_t st[2])
{
    gw_abp_builder_t *b = gw_abp_builder_new();
    assert_int_equal(gw_abp_builder_add_file(b, EP_SAMPLE, ANALYTICS, "easyprivacy", &st[0]), 0);
    assert_int_equal(gw_abp_builder_add_file(b, EL_SAMPLE, MARKETING, NULL, &st[1]), 0);
    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    return m;
}

static int
reported(const gw_abp_stats_t *st, unsigned line, gw_abp_reason_t why)
{
    for (size_t i = 0; i != st->n_skipped_report; ++i)
        if (st->skipped_report[i].line == line)
            return st->skipped_report[i].reason == why;
    for (size_t i = 0; i != st->n_malformed_report; ++i)
        if (st->malformed_report[i].line == line)
            return st->malformed_report[i].reason == why;
    return 0;
}

static void
test_real_stats(void **state)
{
    gw_abp_stats_t st[2];
    gw_abp_t *m = load_samples(st);

    /* EasyPrivacy excerpt: line numbers as in tests/data/abp/easyprivacy-sample.txt */
    assert_int_equal(st[0].lines, 453);
    assert_int_equal(st[0].malformed, 0);
    assert_int_equal(st[0].loaded + st[0].skipped + st[0].ignored, 453);
    assert_true(reported(&st[0], 312, GW_ABP_SKIP_REGEX));    /* /^https:\/\/cdn\.jsdelivr… */
    assert_true(reported(&st[0], 317, GW_ABP_SKIP_OPTION));   /* $rewrite=abp-resource:blank-js */
    assert_true(reported(&st[0], 329, GW_ABP_SKIP_COSMETIC)); /* ###cxense-recs-in-article */
    assert_true(reported(&st[0], 345, GW_ABP_SKIP_REGEX));
    assert_true(reported(&st[0], 354, GW_ABP_SKIP_CONDITIONAL)); /* inside !#if ext_ublock */
    assert_int_equal(st[0].by_reason[GW_ABP_SKIP_REGEX], 4);
    /* !#if ext_ublock (351-406): every rule line in it is conditional, the nested
     * !#if/!#else/!#endif are directives */
    assert_int_equal(st[0].exceptions, 20); /* the 20 "@@" lines, none skipped */
    /* $badfilter disables lines 322 and 325 of the excerpt; their $method= successors are skipped */
    assert_true(reported(&st[0], 427, GW_ABP_SKIP_OPTION) || st[0].n_skipped_report == GW_ABP_REPORT_MAX);

    /* EasyList excerpt */
    assert_int_equal(st[1].lines, 176);
    assert_int_equal(st[1].malformed, 0);
    assert_int_equal(st[1].loaded + st[1].skipped + st[1].ignored, 176);
    assert_int_equal(st[1].by_reason[GW_ABP_SKIP_POPUP], 12);
    assert_true(reported(&st[1], 94, GW_ABP_SKIP_POPUP)); /* &adb=y&adb=y^$popup */
    assert_int_equal(st[1].by_reason[GW_ABP_SKIP_COSMETIC], 11);

    gw_abp_info_t info;
    gw_abp_info(m, &info);
    assert_int_equal(info.badfilters, 2);
    assert_int_equal(info.disabled, 2);
    assert_int_equal(info.rules + info.disabled + info.badfilters, st[0].loaded + st[1].loaded);
    assert_true(info.host_rules > 50);
    assert_true(info.bytes > 0);
    gw_abp_free(m);
}

struct rcase {
    const char *url, *page;
    gw_abp_type_t type;
    int want;         /* YES / NO / EXC */
    uint32_t cats;    /* categories when YES */
    const char *rule; /* reported rule text, NULL: not checked */
};

#define A (1u << ANALYTICS)
#define M (1u << MARKETING)
static const struct rcase rcases[] = {
    /* analytics: Google, Meta, Hotjar, comScore, Clarity, Segment */
    {"https://www.google-analytics.com/analytics.js", "www.example.com", SCR, YES, A, ".google-analytics.com/"},
    {"https://www.google-analytics.com/g/collect?v=2&tid=G-ABC&cid=1.2&en=page_view", "shop.example", GW_ABP_PING, YES, A,
     "/collect?v="},
    {"https://region1.google-analytics.com/g/collect?v=2&tid=G-ABC", "shop.example", GW_ABP_PING, YES, A, NULL},
    {"https://www.googletagmanager.com/gtm.js?id=GTM-ABCD", "news.example.co.uk", SCR, YES, A, "/gtm.js"},
    {"https://www.googletagmanager.com/gtag/js?id=G-ABC", "news.example.co.uk", SCR, YES, A, "||googletagmanager.com^"},
    {"https://www.facebook.com/tr/?id=123&ev=PageView", "shop.example", IMG, YES, A, ".facebook.com/tr/$image"},
    {"https://www.facebook.com/tr?id=123&ev=PageView", "shop.example", GW_ABP_XHR, YES, A, "||facebook.com/tr?"},
    {"https://static.hotjar.com/c/hotjar-123.js?sv=6", "shop.example", SCR, YES, A, "||hotjar.com^$third-party"},
    {"https://static.hotjar.com/c/hotjar-123.js?sv=6", "www.hotjar.com", SCR, NO, 0, NULL}, /* first party */
    {"https://sb.scorecardresearch.com/beacon.js", "news.example", SCR, YES, A, "||scorecardresearch.com^$third-party"},
    {"https://www.clarity.ms/tag/abc", "shop.example", SCR, YES, A, "||clarity.ms^"},
    {"https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js", "shop.example", SCR, YES, A, "||segment.com^$third-party"},
    /* exceptions from the list */
    {"https://cdn.segment.com/analytics-next/bundles/ajs.js", "shop.example", SCR, EXC, 0, "||segment.com^$third-party"},
    {"https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js", "www.reuters.com", SCR, EXC, 0, NULL},
    {"https://cdn.segment.com/analytics.js/v1/KEY/analytics.min.js", "www.reuters.com", IMG, YES, A, NULL},
    {"https://analytics.casper.com/gtm.js", "casper.com", SCR, EXC, 0, "/gtm.js"},
    {"https://analytics.casper.com/gtm.js", "shop.example", SCR, YES, A, "/gtm.js"},
    /* $domain=…,important inside and outside !#if blocks */
    {"https://www.clarity.ms/tag/x", "www.phileweb.com", SCR, YES, A, "||clarity.ms^"},
    /* badfilter: disabled rules do not match (their $method= replacements are skipped) */
    {"https://www.youtube.com/api/stats/qoe?x=page&ns=yt&fexp=v1%2C1&event=streamingstats&a=1", "www.youtube.com", GW_ABP_XHR, NO,
     0, NULL},
    {"https://www.youtube.com/api/stats/ads?ver=2", "www.youtube.com", GW_ABP_XHR, YES, A, "||youtube.com/api/stats/ads?"},
    /* marketing (EasyList) and both */
    {"https://securepubads.g.doubleclick.net/tag/js/gpt.js", "news.example", SCR, YES, M, "/gpt.js$script"},
    {"https://securepubads.g.doubleclick.net/tag/js/gpt.js", "news.example", IMG, YES, A, ".doubleclick.net/$image"},
    {"https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1", "blog.example", SCR, YES, M,
     "||googlesyndication.com/pagead/"},
    {"https://aax.amazon-adsystem.com/e/dtb/bid", "blog.example", GW_ABP_XHR, YES, M, "||amazon-adsystem.com^"},
    {"https://ws-na.amazon-adsystem.com/widgets/q?ServiceVersion=20070822", "blog.example", IMG, EXC, 0, NULL},
    {"https://ws-na.amazon-adsystem.com/widgets/q?ServiceVersion=20070822", "blog.example", SCR, YES, M, NULL},
    {"https://x.com/ad/1.js", "news.example.org", SCR, YES, M,
     ".com/ad/$~image,third-party,domain=~espn.com|~mediaplex.com|~warpwire.com|~wsj.com"},
    {"https://x.com/ad/1.js", "www.espn.com", SCR, NO, 0, NULL},
    {"https://x.com/ad/1.png", "news.example.org", IMG, NO, 0, NULL},
    /* "://ads.$~image,~xmlhttprequest,domain=~…" comes first in load order and is reported */
    {"https://ads.yahoo.com/x", "news.example.org", SCR, YES, M, NULL},
    {"https://ads.yahoo.com/x", "news.example.org", GW_ABP_XHR, YES, M, "||ads.yahoo.com^$~image"},
    {"https://ad.mail.ru/x", "news.mail.ru", SCR, NO, 0, NULL},
    {"https://ad.mail.ru/x", "news.example", SCR, YES, M, "||ad.mail.ru^$~image,domain=~mail.ru|~sportmail.ru"},
    /* popup-only and $document exceptions are skipped */
    {"https://x.example/?q&adb=y&adb=y", "news.example", SCR, NO, 0, NULL},
    /* not trackers: first-party assets and CDNs */
    {"https://www.example.com/static/js/app.3f9a.js", "www.example.com", SCR, NO, 0, NULL},
    {"https://www.example.com/images/products/12/hero.jpg", "www.example.com", IMG, NO, 0, NULL},
    {"https://cdn.jsdelivr.net/npm/jquery@3.7.1/dist/jquery.min.js", "www.example.com", SCR, NO, 0, NULL},
    {"https://fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2", "www.example.com", GW_ABP_FONT, NO, 0, NULL},
    {"https://www.example.com/api/v2/cart?session=abc&items=2", "www.example.com", GW_ABP_XHR, NO, 0, NULL},
    {NULL, NULL, 0, 0, 0, NULL} /* end of list */
};

static void
test_real_verdicts(void **state)
{
    gw_abp_stats_t st[2];
    gw_abp_t *m = load_samples(st);
    for (size_t i = 0; rcases[i].url != NULL; ++i) {
        const struct rcase *c = &rcases[i];
        gw_abp_request_t rq = req(c->url, c->page, c->type, -1);
        gw_abp_result_t r;
        int got = match2(m, &rq, &r);
        int verdict = got == 1 ? YES : r.overridden ? EXC : NO;
        if (verdict != c->want || (verdict == YES && r.categories != c->cats))
            fail_msg("case %zu: %s on %s (%s): got %d cats %x (%.*s), want %d cats %x", i, c->url, c->page,
                     gw_abp_type_str(c->type), verdict, r.categories, (int)r.rule_text_len, r.rule_text ? r.rule_text : "", c->want,
                     c->cats);
        if (c->rule != NULL && (r.rule_text_len != strlen(c->rule) || memcmp(r.rule_text, c->rule, r.rule_text_len) != 0))
            fail_msg("case %zu: %s: reported rule \"%.*s\", want \"%s\"", i, c->url, (int)r.rule_text_len, r.rule_text, c->rule);
    }
    gw_abp_free(m);
}

/* ---- loading: whole, byte by byte, chunks; every truncation ------------------------- */

static void
assert_same_matcher(const gw_abp_t *a, const gw_abp_t *b)
{
    gw_abp_info_t ia, ib;
    gw_abp_info(a, &ia);
    gw_abp_info(b, &ib);
    assert_int_equal(ia.rules, ib.rules);
    assert_int_equal(ia.host_rules, ib.host_rules);
    assert_int_equal(ia.token_rules, ib.token_rules);
    assert_int_equal(ia.disabled, ib.disabled);
    for (uint32_t i = 0;; ++i) {
        gw_abp_rule_info_t ra, rb;
        int ea = gw_abp_rule(a, i, &ra), eb = gw_abp_rule(b, i, &rb);
        assert_int_equal(ea, eb);
        if (ea != 0)
            break;
        assert_int_equal(ra.text_len, rb.text_len);
        assert_memory_equal(ra.text, rb.text, ra.text_len);
        assert_int_equal(ra.line, rb.line);
        assert_int_equal(ra.category, rb.category);
        assert_string_equal(ra.list, rb.list);
    }
    for (size_t i = 0; rcases[i].url != NULL; ++i) {
        gw_abp_request_t rq = req(rcases[i].url, rcases[i].page, rcases[i].type, -1);
        gw_abp_result_t x, y;
        assert_int_equal(gw_abp_match(a, &rq, &x), gw_abp_match(b, &rq, &y));
        assert_int_equal(x.rule, y.rule);
        assert_int_equal(x.categories, y.categories);
    }
}

static uint64_t rng = 88172645463325252ull;
static size_t
rnd(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (size_t)(rng % n);
}

/* 0: whole; 1: byte by byte; 2: random chunks; 3: split once at `at` */
static gw_abp_t *
load_split(const char *text, size_t n, int mode, size_t at, gw_abp_stats_t *st)
{
    gw_abp_builder_t *b = gw_abp_builder_new();
    assert_int_equal(gw_abp_builder_begin(b, ANALYTICS, "x"), 0);
    if (mode == 0) {
        assert_int_equal(gw_abp_builder_feed(b, text, n), 0);
    } else if (mode == 1) {
        for (size_t i = 0; i != n; ++i)
            assert_int_equal(gw_abp_builder_feed(b, text + i, 1), 0);
    } else if (mode == 2) {
        for (size_t i = 0; i < n;) {
            size_t k = 1 + rnd(200);
            if (k > n - i)
                k = n - i;
            assert_int_equal(gw_abp_builder_feed(b, text + i, k), 0);
            assert_int_equal(gw_abp_builder_feed(b, text + i + k, 0), 0);
            i += k;
        }
    } else {
        assert_int_equal(gw_abp_builder_feed(b, text, at), 0);
        assert_int_equal(gw_abp_builder_feed(b, text + at, n - at), 0);
    }
    assert_int_equal(gw_abp_builder_end(b, st), 0);
    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    return m;
}

static void
test_incremental(void **state)
{
    const char *files[] = {EP_SAMPLE, EL_SAMPLE};
    for (int f = 0; f != 2; ++f) {
        size_t n;
        char *text = read_file(files[f], &n);
        gw_abp_stats_t st0, st;
        gw_abp_t *whole = load_split(text, n, 0, 0, &st0);
        for (int mode = 1; mode != 3; ++mode)
            for (int rep = 0; rep != (mode == 2 ? 5 : 1); ++rep) {
                gw_abp_t *m = load_split(text, n, mode, 0, &st);
                assert_memory_equal(&st, &st0, sizeof(st));
                assert_same_matcher(whole, m);
                gw_abp_free(m);
            }
        /* without the final '\n' the last line still counts */
        gw_abp_t *m = load_split(text, n - 1, 0, 0, &st);
        assert_memory_equal(&st, &st0, sizeof(st));
        gw_abp_free(m);
        gw_abp_free(whole);
        free(text);
    }

    /* a short text with every kind of line (CRLF included), split at every point */
    static const char small[] = "[Adblock Plus 2.0]\r\n! c\r\n||a.com^$third-party\r\n@@||a.com/ok/\n##.ad\n/re[0-9]/\n\n"
                                "!#if x\n||b.com^\n!#endif\nbad$\n  /t.gif|$image,domain=a.com|~b.a.com  \r\n||c.com^";
    size_t n = sizeof(small) - 1;
    gw_abp_stats_t st0, st;
    gw_abp_t *whole = load_split(small, n, 0, 0, &st0);
    assert_int_equal(st0.lines, 13);
    assert_int_equal(st0.loaded, 4);
    for (size_t at = 0; at <= n; ++at) {
        gw_abp_t *m = load_split(small, n, 3, at, &st);
        assert_memory_equal(&st, &st0, sizeof(st));
        assert_same_matcher(whole, m);
        gw_abp_free(m);
    }
    gw_abp_free(whole);
}

/* every prefix of every line, alone in an exactly sized heap buffer (ASan: no read past) */
static void
truncations_of(const char *text, size_t n)
{
    for (size_t s = 0; s < n;) {
        const char *nl = memchr(text + s, '\n', n - s);
        size_t e = nl ? (size_t)(nl - text) : n;
        for (size_t k = 0; k <= e - s; ++k) {
            char *p = malloc(k ? k : 1);
            memcpy(p, text + s, k);
            gw_abp_stats_t st;
            gw_abp_builder_t *b = gw_abp_builder_new();
            assert_int_equal(gw_abp_builder_add_buffer(b, k ? p : NULL, k, 0, "t", &st), 0);
            assert_int_equal(st.lines, k != 0);
            assert_int_equal(st.loaded + st.ignored + st.skipped + st.malformed, k != 0);
            gw_abp_builder_free(b);
            free(p);
        }
        s = e + 1;
    }
}

static void
test_truncations(void **state)
{
    const char *files[] = {EP_SAMPLE, EL_SAMPLE};
    for (int f = 0; f != 2; ++f) {
        size_t n;
        char *text = read_file(files[f], &n);
        truncations_of(text, n);
        free(text);
    }
    for (size_t i = 0; pcases[i].line != NULL; ++i)
        truncations_of(pcases[i].line, strlen(pcases[i].line));
    for (size_t i = 0; mcases[i].url != NULL; ++i)
        if (mcases[i].rules != NULL)
            truncations_of(mcases[i].rules, strlen(mcases[i].rules));

    /* URLs too: every prefix of every test URL, exactly sized, against the real excerpts */
    gw_abp_stats_t st[2];
    gw_abp_t *m = load_samples(st);
    for (size_t i = 0; rcases[i].url != NULL; ++i) {
        size_t n = strlen(rcases[i].url);
        for (size_t k = 0; k <= n; ++k) {
            char *u = malloc(k ? k : 1);
            memcpy(u, rcases[i].url, k);
            gw_abp_request_t rq = {k ? u : NULL, k, NULL, 0, rcases[i].page, strlen(rcases[i].page), rcases[i].type, -1};
            gw_abp_result_t r;
            int rc = match2(m, &rq, &r);
            assert_true(rc == 0 || rc == 1);
            free(u);
        }
    }
    gw_abp_free(m);
}

/* ---- adversarial URLs: the cost of a match stays linear in the URL's length ---- */

/* CPU seconds gw_abp_match() takes for url (the verdict in *matched) */
static double
timed_match(const gw_abp_t *m, const char *url, size_t len, int *matched)
{
    gw_abp_request_t rq = {url, len, NULL, 0, "site.org", 8, IMG, -1};
    gw_abp_result_t r;
    clock_t t = clock();
    *matched = gw_abp_match(m, &rq, &r);
    return (double)(clock() - t) / CLOCKS_PER_SEC;
}

/* "https://x.example/" + unit repeated to about len bytes (+ tail), malloc'ed */
static char *
repeated_url(const char *unit, size_t len, const char *tail, size_t *out_len)
{
    size_t ul = strlen(unit), tl = strlen(tail), o = 0;
    char *u = malloc(len + ul + tl + 32);
    o += (size_t)sprintf(u, "https://x.example/");
    while (o + ul <= len) {
        memcpy(u + o, unit, ul);
        o += ul;
    }
    memcpy(u + o, tail, tl);
    *out_len = o + tl;
    return u;
}

/*
 * A rule indexed under a token that follows a '*' (EasyPrivacy's "/stats.", a '*', "/hits/": indexed under "hits") was
 * matched against the whole URL from every start, once for every time its token occurs: a URL repeating "stats.hits/"
 * cost the cube of its
 * length (38 s of CPU for 16 KB, 4 s for an 8 KB request path, with Debian's lists), in a worker's event loop. Each
 * of these URLs (6 KB, what a request line or an attribute easily holds) now takes well under a second even under
 * ASan, with the same verdicts.
 */
static void
test_adversarial_urls(void **state)
{
    gw_abp_t *m = build1("/stats*/hits/*\n"                    /* NO_TOK_OFF: "stats" is not a token (a '*' follows) */
                         "||track*/event?\n"                   /* host-anchored, no usable token before the '*' */
                         "/b/ss/*&aqe=$domain=other.example\n" /* a token before the '*', a domain that does not apply */
                         "/ev*/pixel^\n",
                         ANALYTICS, NULL);
    static const struct {
        const char *unit, *tail;
        int want;
    } c[] = {
        {"stats.hits/", "", NO},  {"stats.hits/", "/stats/hits/", YES}, {"track.event/", "", NO}, {"b/ss/&aq", "&aqe=", NO},
        {"ev.pixel-ev/", "", NO}, {"ev.pixel-ev/", "ev/pixel", YES},
    };
    for (size_t i = 0; i != sizeof(c) / sizeof(c[0]); ++i) {
        size_t len;
        int matched;
        char *u = repeated_url(c[i].unit, 6000, c[i].tail, &len);
        double secs = timed_match(m, u, len, &matched);
        if (matched != c[i].want || secs > 0.5)
            fail_msg("%s… + %s: matched %d (want %d) in %.2f s", c[i].unit, c[i].tail, matched, c[i].want, secs);
        free(u);
    }
    /* the host as the anchor: every label start of a long host */
    size_t len;
    int matched;
    char *u = repeated_url("track.", 6000, "x/event", &len);
    memmove(u + 8, u + 18, len - 18); /* "https://track.track.….x/event": the repetition in the host */
    len -= 10;
    double secs = timed_match(m, u, len, &matched);
    assert_true(secs < 0.5);
    assert_int_equal(matched, NO);
    free(u);
    gw_abp_free(m);
}

/* ---- a large list: big tables (radix-sorted index), index still equals the reference ---- */

static void
test_large(void **state)
{
    enum { N = 100000 }; /* ~68,500 "||host^" block rules: over the radix-sort threshold (65536) */
    char *text = malloc((size_t)N * 64), line[80];
    size_t o = 0, rules = 0;
    for (int i = 0; i != N; ++i) {
        int k;
        if (i % 7 == 0) /* a path rule, token-indexed */
            k = snprintf(line, sizeof(line), "/p%d/track.gif$image\n", i);
        else if (i % 5 == 0) /* a host rule and an exception for its scripts */
            k = snprintf(line, sizeof(line), "||h%d.example^\n@@||h%d.example^$script\n", i, i);
        else
            k = snprintf(line, sizeof(line), "||h%d.example^\n", i);
        rules += 1 + (i % 7 != 0 && i % 5 == 0);
        memcpy(text + o, line, (size_t)k);
        o += (size_t)k;
    }
    gw_abp_stats_t st;
    gw_abp_builder_t *b = gw_abp_builder_new();
    assert_int_equal(gw_abp_builder_add_buffer(b, text, o, ANALYTICS, "large", &st), 0);
    free(text);
    assert_int_equal(st.loaded, rules);
    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    gw_abp_info_t info;
    gw_abp_info(m, &info);
    assert_true(info.host_rules - info.exceptions > 65536);
    static const struct {
        const char *url;
        gw_abp_type_t type;
        int want;
    } c[] = {
        {"https://h1.example/x", SCR, YES},        {"https://a.h69999.example/x", IMG, YES},
        {"https://h10.example/x", IMG, YES},       {"https://h10.example/x", SCR, EXC},
        {"https://h100000.example/x", SCR, NO},    {"https://h7.example/p7/track.gif", IMG, YES},
        {"https://x.org/p14/track.gif", IMG, YES}, {"https://x.org/p14/track.gif", SCR, NO},
        {"https://x.org/p15/track.gif", IMG, NO},
    };
    for (size_t i = 0; i != sizeof(c) / sizeof(c[0]); ++i) {
        gw_abp_request_t rq = req(c[i].url, "site.org", c[i].type, -1);
        gw_abp_result_t r;
        int got = match2(m, &rq, &r);
        int verdict = got == 1 ? YES : r.overridden ? EXC : NO;
        if (verdict != c[i].want)
            fail_msg("%s (%s): got %d, want %d", c[i].url, gw_abp_type_str(c[i].type), verdict, c[i].want);
    }
    gw_abp_free(m);
}

/* ---- third party ------------------------------------------------------------------ */

static void
test_third_party(void **state)
{
    static const struct {
        const char *a, *b;
        int want;
    } c[] = {
        {"cdn.shop.co.uk", "www.shop.co.uk", 0},
        {"shop.co.uk", "cdn.shop.co.uk", 0},
        {"a.co.uk", "b.co.uk", 1},
        {"shop.github.io", "other.github.io", 1},
        {"a.shop.github.io", "shop.github.io", 0},
        {"github.io", "github.io", 0},
        {"www.example.com", "example.com", 0},
        {"WWW.Example.COM", "static.example.com", 0},
        {"example.com", "example.org", 1},
        {"www.google-analytics.com", "www.example.com", 1},
        {"x.example.com", "com", 1},
        {"192.168.0.1", "192.168.0.2", 1},
        {"10.0.0.1", "10.0.0.1", 0},
        {"1.1.1.1", "1.1.1.1.example.com", 1},
        {"[::1]", "[::1]", 0},
        {"localhost", "localhost", 0},
        {"example.com", "", 0},
        {NULL, NULL, 0} /* end of list */
    };
    gw_abp_t *m = build1("||x.com^", 0, NULL);
    for (int i = 0; c[i].a != NULL; ++i) {
        int got = gw_abp_third_party(m, c[i].a, strlen(c[i].a), c[i].b, strlen(c[i].b));
        if (got != c[i].want)
            fail_msg("third_party(%s, %s) = %d, want %d", c[i].a, c[i].b, got, c[i].want);
        if (c[i].b[0] != '\0')
            assert_int_equal(gw_abp_third_party(m, c[i].b, strlen(c[i].b), c[i].a, strlen(c[i].a)), got);
    }
    gw_abp_free(m);
}

/* ---- API contract ------------------------------------------------------------------ */

static void
test_api(void **state)
{
    gw_abp_builder_t *b = gw_abp_builder_new();
    gw_abp_stats_t st;
    assert_int_equal(gw_abp_builder_feed(b, "x", 1), -1); /* no list open */
    assert_int_equal(gw_abp_builder_end(b, &st), -1);
    assert_int_equal(gw_abp_builder_begin(b, GW_ABP_MAX_CATEGORIES, "x"), -1);
    assert_int_equal(gw_abp_builder_begin(b, 0, NULL), 0);
    assert_int_equal(gw_abp_builder_begin(b, 0, "again"), -1);
    assert_int_equal(gw_abp_builder_feed(b, NULL, 1), -1);
    assert_int_equal(gw_abp_builder_feed(b, NULL, 0), 0);
    assert_int_equal(gw_abp_builder_feed(b, "||a.com^", 8), 0);
    assert_null(gw_abp_builder_finish(b)); /* list still open: consumed anyway */

    b = gw_abp_builder_new();
    errno = 0;
    assert_int_equal(gw_abp_builder_add_file(b, "tests/data/abp/no-such-file.txt", 0, NULL, &st), -1);
    assert_int_equal(errno, ENOENT);
    gw_abp_builder_free(b);
    gw_abp_builder_free(NULL);
    gw_abp_free(NULL);
    assert_null(gw_abp_builder_finish(NULL));

    /* an empty matcher matches nothing */
    b = gw_abp_builder_new();
    gw_abp_t *m = gw_abp_builder_finish(b);
    assert_non_null(m);
    gw_abp_request_t q = req("https://a.com/", "b.com", SCR, -1);
    gw_abp_result_t r;
    assert_int_equal(gw_abp_match(m, &q, &r), 0);
    gw_abp_free(m);

    m = build1("||a.com^", 0, NULL);
    assert_int_equal(gw_abp_match(NULL, &q, &r), -1);
    assert_int_equal(gw_abp_match(m, NULL, &r), -1);
    assert_int_equal(gw_abp_match(m, &q, NULL), -1);
    q.type = GW_ABP_TYPE_COUNT;
    assert_int_equal(gw_abp_match(m, &q, &r), -1);
    q.type = SCR;
    q.host = "A.com";
    q.host_len = 5;
    assert_int_equal(gw_abp_match(m, &q, &r), 1); /* given host agrees with the URL */
    q.host = "b.com";
    assert_int_equal(gw_abp_match(m, &q, &r), -1);
    q = req("", "b.com", SCR, -1);
    assert_int_equal(gw_abp_match(m, &q, &r), 0);
    assert_string_equal(gw_abp_reason_str(GW_ABP_SKIP_POPUP), "popup-only rule");
    assert_string_equal(gw_abp_reason_str(GW_ABP_REASON_COUNT), "?");
    assert_string_equal(gw_abp_type_str(GW_ABP_XHR), "xmlhttprequest");
    assert_string_equal(gw_abp_type_str(GW_ABP_TYPE_COUNT), "?");
    gw_abp_free(m);
}

/* ---- readers on several threads ---------------------------------------------------- */

struct thr {
    const gw_abp_t *m;
    int fails;
};

static void *
reader(void *arg)
{
    struct thr *t = arg;
    for (int rep = 0; rep != 200; ++rep)
        for (size_t i = 0; rcases[i].url != NULL; ++i) {
            gw_abp_request_t rq = req(rcases[i].url, rcases[i].page, rcases[i].type, -1);
            gw_abp_result_t r;
            int got = gw_abp_match(t->m, &rq, &r);
            int verdict = got == 1 ? YES : r.overridden ? EXC : NO;
            t->fails += verdict != rcases[i].want;
        }
    return NULL;
}

static void
test_threads(void **state)
{
    gw_abp_stats_t st[2];
    gw_abp_t *m = load_samples(st);
    pthread_t th[4];
    struct thr t[4];
    for (int i = 0; i != 4; ++i) {
        t[i] = (struct thr){m, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader, &t[i]), 0);
    }
    for (int i = 0; i != 4; ++i) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].fails, 0);
    }
    gw_abp_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax_table),     cmocka_unit_test(test_line_reasons), cmocka_unit_test(test_reports),
        cmocka_unit_test(test_categories),       cmocka_unit_test(test_real_stats),   cmocka_unit_test(test_real_verdicts),
        cmocka_unit_test(test_incremental),      cmocka_unit_test(test_truncations),  cmocka_unit_test(test_large),
        cmocka_unit_test(test_third_party),      cmocka_unit_test(test_api),          cmocka_unit_test(test_threads),
        cmocka_unit_test(test_adversarial_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
