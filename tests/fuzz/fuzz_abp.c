/*
 * libFuzzer driver for filters/abp.c (Adblock Plus / uBlock network rules).
 *
 * The first byte picks the mode:
 *   odd:  the rest is list text. It is loaded whole and, in a second builder, split in two
 *         at a point taken from the input: the stats must be identical and consistent
 *         (every line counted once, reports in line order, NUL-terminated). The matcher
 *         then decides fixed URLs and URLs made from the input's own lines, and the indexed
 *         matcher must agree exactly with the linear reference (gw_abp_match_linear).
 *   even, bit 1 clear: the rest is "<type byte><party byte><page host>\n<url>", matched against a fixed
 *         list that uses every supported feature; index and reference must agree.
 *   even, bit 1 set: the rest is "<pattern>\n<url>": a one-rule list of a pattern without options (printable ASCII,
 *         '|' and '||' anchors, '*', '^') decides a simple http(s) URL (a host of [a-z0-9.-], no userinfo or port) as
 *         an independent reference does: the pattern translated to a POSIX extended regular expression (regcomp, case
 *         blind), '^' a byte other than a letter, digit or one of "_-.%", or the end.
 * URLs and hosts are copied into exactly sized heap buffers, so ASan sees any overread.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include "abp.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

static const char fixed_list[] = "[Adblock Plus 2.0]\n"
                                 "! fixed list for the URL mode\n"
                                 "||google-analytics.com^\n"
                                 "||googletagmanager.com^$script\n"
                                 "||doubleclick.net^$third-party\n"
                                 "||facebook.com/tr/\n"
                                 "||facebook.com/tr?\n"
                                 ".facebook.com/tr/$image\n"
                                 "/collect?v=\n"
                                 "/gtm.js\n"
                                 "/pixel.gif|\n"
                                 "|https://track.\n"
                                 "&ev=PageView&\n"
                                 "/ads/*/banner^\n"
                                 "^ad^$image\n"
                                 "/Beacon/*$match-case\n"
                                 "||ads.\n"
                                 "/x.js$~third-party\n"
                                 "/analytics.js$domain=a.com|~b.a.com|shop.co.uk\n"
                                 "/t.gif$domain=a.com|b.com|c.com|d.com|~x.d.com|e.com|f.com\n"
                                 "/e.js$domain=google.*|~mail.google.*\n"
                                 "$ping,third-party\n"
                                 "*$image,domain=tracked.example\n"
                                 "@@||google-analytics.com/ok/\n"
                                 "@@||cdn.example.com^$~third-party\n"
                                 "@@/gtm.js$domain=exempt.com\n"
                                 "||important.com^$important\n"
                                 "@@||important.com^\n"
                                 "||gone.com^$badfilter\n"
                                 "||gone.com^\n"
                                 "!#if !env_safari\n"
                                 "||cond.com^\n"
                                 "!#endif\n"
                                 "example.com##.ad\n";

static const struct {
    const char *url, *page;
    gw_abp_type_t type;
} fixed_urls[] = {
    {"https://www.google-analytics.com/g/collect?v=2&tid=G-1", "shop.example", GW_ABP_PING},
    {"https://www.googletagmanager.com/gtm.js?id=GTM-1", "exempt.com", GW_ABP_SCRIPT},
    {"https://www.facebook.com/tr/?id=1&ev=PageView&x=1", "a.com", GW_ABP_IMAGE},
    {"https://cdn.shop.co.uk/x.js", "www.shop.co.uk", GW_ABP_SCRIPT},
    {"https://ads.example.net/ad/1.png", "b.a.com", GW_ABP_IMAGE},
    {"https://example.com/", "", GW_ABP_DOCUMENT},
    {"http://track.example.org/pixel.gif", "news.example", GW_ABP_OTHER},
    {"https://static.example.com/Beacon/ads/x/banner?y", "google.de", GW_ABP_XHR},
    {"example.com/no-scheme", "", GW_ABP_SUBDOCUMENT},
    {"", "", GW_ABP_OTHER},
};

static void
check_result(const gw_abp_t *m, const gw_abp_request_t *rq)
{
    gw_abp_result_t a, b;
    int ra = gw_abp_match(m, rq, &a), rb = gw_abp_match_linear(m, rq, &b);
    CHECK(ra == rb);
    if (ra < 0)
        return;
    CHECK(a.matched == b.matched && a.overridden == b.overridden && a.categories == b.categories && a.rule == b.rule &&
          a.exception == b.exception && a.category == b.category);
    CHECK(ra == a.matched);
    CHECK(a.matched == (a.categories != 0));
    CHECK(!(a.matched && a.overridden));
    if (a.rule != GW_ABP_NO_RULE) {
        gw_abp_rule_info_t ri;
        CHECK(gw_abp_rule(m, a.rule, &ri) == 0 && !ri.exception && ri.category == a.category);
        CHECK(a.rule_text == ri.text && a.rule_text_len == ri.text_len);
        CHECK(!a.matched || (a.categories & (1u << a.category)));
    } else {
        CHECK(!a.matched && !a.overridden && a.rule_text == NULL && a.exception == GW_ABP_NO_RULE);
    }
    if (a.exception != GW_ABP_NO_RULE) {
        gw_abp_rule_info_t ri;
        CHECK(gw_abp_rule(m, a.exception, &ri) == 0 && ri.exception);
    }
    CHECK(!a.overridden || a.exception != GW_ABP_NO_RULE);
}

static void
match_copy(const gw_abp_t *m, const char *url, size_t n, const char *page, size_t pn, gw_abp_type_t type, int party)
{
    char *u = malloc(n ? n : 1), *p = malloc(pn ? pn : 1);
    memcpy(u, url, n);
    memcpy(p, page, pn);
    gw_abp_request_t rq = {u, n, NULL, 0, p, pn, type, party};
    check_result(m, &rq);
    free(u);
    free(p);
}

static void
check_stats(const gw_abp_stats_t *st)
{
    size_t sum = 0, skipped = 0, bad = 0;
    for (int k = 0; k != GW_ABP_REASON_COUNT; ++k) {
        sum += st->by_reason[k];
        if (k >= GW_ABP_SKIP_COSMETIC && k < GW_ABP_BAD_TOO_LONG)
            skipped += st->by_reason[k];
        else if (k >= GW_ABP_BAD_TOO_LONG)
            bad += st->by_reason[k];
    }
    CHECK(sum == st->lines);
    CHECK(st->by_reason[GW_ABP_LOADED] == st->loaded && st->by_reason[GW_ABP_COMMENT] == st->ignored);
    CHECK(skipped == st->skipped && bad == st->malformed && st->exceptions <= st->loaded);
    CHECK(st->n_skipped_report == (st->skipped < GW_ABP_REPORT_MAX ? st->skipped : GW_ABP_REPORT_MAX));
    CHECK(st->n_malformed_report == (st->malformed < GW_ABP_REPORT_MAX ? st->malformed : GW_ABP_REPORT_MAX));
    for (size_t i = 0; i != st->n_skipped_report; ++i) {
        const gw_abp_line_report_t *r = &st->skipped_report[i];
        CHECK(r->line >= 1 && r->line <= st->lines && (i == 0 || r->line > r[-1].line));
        CHECK(r->reason >= GW_ABP_SKIP_COSMETIC && r->reason < GW_ABP_BAD_TOO_LONG);
        CHECK(memchr(r->text, '\0', GW_ABP_REPORT_TEXT) != NULL);
    }
    for (size_t i = 0; i != st->n_malformed_report; ++i) {
        const gw_abp_line_report_t *r = &st->malformed_report[i];
        CHECK(r->line >= 1 && r->line <= st->lines && (i == 0 || r->line > r[-1].line));
        CHECK(r->reason >= GW_ABP_BAD_TOO_LONG && r->reason < GW_ABP_REASON_COUNT);
        CHECK(memchr(r->text, '\0', GW_ABP_REPORT_TEXT) != NULL);
    }
}

static void
mode_list(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    gw_abp_stats_t whole, split;
    size_t at = size ? (size_t)data[0] * 257 % (size + 1) : 0;

    gw_abp_builder_t *b = gw_abp_builder_new();
    CHECK(b != NULL);
    CHECK(gw_abp_builder_add_buffer(b, text, size, 1, "fuzz", &whole) == 0);
    gw_abp_builder_t *b2 = gw_abp_builder_new();
    CHECK(gw_abp_builder_begin(b2, 1, "fuzz") == 0);
    CHECK(gw_abp_builder_feed(b2, text, at) == 0 && gw_abp_builder_feed(b2, text + at, size - at) == 0);
    CHECK(gw_abp_builder_end(b2, &split) == 0);
    gw_abp_builder_free(b2);
    CHECK(memcmp(&whole, &split, sizeof(whole)) == 0);
    check_stats(&whole);

    gw_abp_t *m = gw_abp_builder_finish(b);
    CHECK(m != NULL);
    gw_abp_info_t info;
    gw_abp_info(m, &info);
    CHECK(info.rules + info.disabled + info.badfilters == whole.loaded);
    CHECK(info.host_rules + info.token_rules + info.untokened == info.rules);

    for (size_t i = 0; i != sizeof(fixed_urls) / sizeof(fixed_urls[0]); ++i)
        for (int party = -1; party <= 1; ++party)
            match_copy(m, fixed_urls[i].url, strlen(fixed_urls[i].url), fixed_urls[i].page, strlen(fixed_urls[i].page),
                       fixed_urls[i].type, party);

    /* URLs from the input's own lines: "https://" + line, and the line as is */
    size_t lines = 0;
    for (size_t s = 0; s < size && lines < 8; ++lines) {
        const char *nl = memchr(text + s, '\n', size - s);
        size_t e = nl ? (size_t)(nl - text) : size, n = e - s;
        if (n > 2000)
            n = 2000;
        char *u = malloc(n + 8);
        memcpy(u, "https://", 8);
        memcpy(u + 8, text + s, n);
        for (int t = 0; t != GW_ABP_TYPE_COUNT; t += 3) {
            match_copy(m, u, n + 8, "a.com", 5, (gw_abp_type_t)t, -1);
            match_copy(m, u + 8, n, "", 0, (gw_abp_type_t)t, -1);
        }
        free(u);
        s = e + 1;
    }
    gw_abp_free(m);
}

static void
mode_url(const uint8_t *data, size_t size)
{
    static gw_abp_t *m;
    if (m == NULL) {
        gw_abp_builder_t *b = gw_abp_builder_new();
        CHECK(gw_abp_builder_add_buffer(b, fixed_list, sizeof(fixed_list) - 1, 2, "fixed", NULL) == 0);
        static const char el[] = "||doubleclick.net/ads/\n/gpt.js$script\n@@||ok.doubleclick.net^\n";
        CHECK(gw_abp_builder_add_buffer(b, el, sizeof(el) - 1, 3, "m", NULL) == 0);
        m = gw_abp_builder_finish(b);
        CHECK(m != NULL);
    }
    if (size < 2)
        return;
    gw_abp_type_t type = (gw_abp_type_t)(data[0] % (GW_ABP_TYPE_COUNT + 1)); /* one out of range */
    int party = data[1] % 3 - 1;
    const char *rest = (const char *)data + 2;
    size_t n = size - 2;
    const char *nl = memchr(rest, '\n', n);
    size_t pn = nl ? (size_t)(nl - rest) : 0;
    const char *url = nl ? nl + 1 : rest;
    size_t un = nl ? n - pn - 1 : n;
    match_copy(m, url, un, rest, pn, type, party);

    /* the page host passed as the URL's host: accepted only if it is the URL's host, and
     * then the verdict is the same as without it */
    char *u = malloc(un ? un : 1), *h = malloc(pn ? pn : 1);
    memcpy(u, url, un);
    memcpy(h, rest, pn);
    gw_abp_request_t q1 = {u, un, NULL, 0, h, pn, type, party}, q2 = {u, un, h, pn, h, pn, type, party};
    gw_abp_result_t r1, r2;
    int a = gw_abp_match(m, &q1, &r1), c = gw_abp_match(m, &q2, &r2);
    CHECK(c == -1 || (c == a && r1.rule == r2.rule && r1.categories == r2.categories && r1.exception == r2.exception));
    check_result(m, &q2);
    free(u);
    free(h);
}

/* the pattern p[0..n) as a POSIX ERE anchored at the URL's start, or 0 when it is not one the reference reads */
static int
pattern_regex(const char *p, size_t n, char *re, size_t cap)
{
    size_t o = 0;
    int host = 0, start = 0, end = 0;
    if (n >= 2 && p[0] == '|' && p[1] == '|')
        host = 1, p += 2, n -= 2;
    else if (n >= 1 && p[0] == '|')
        start = 1, ++p, --n;
    if (n >= 1 && p[n - 1] == '|')
        end = 1, --n;
    if (n == 0 || (n >= 2 && p[0] == '/' && p[n - 1] == '/'))
        return 0; /* empty, or a regular expression rule */
#define PUT(str)                                                                                                                   \
    do {                                                                                                                           \
        size_t l_ = strlen(str);                                                                                                   \
        if (o + l_ + 1 > cap)                                                                                                      \
            return 0;                                                                                                              \
        memcpy(re + o, str, l_), o += l_;                                                                                          \
    } while (0)
    PUT(host ? "^[a-z]+://([a-z0-9.-]*[.])?" : start ? "^" : "");
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)p[i];
        char lit[4];
        if (c <= ' ' || c >= 0x7f || c == '|' || c == '$' || c == '#')
            return 0;
        if (c == '*') {
            PUT(".*");
        } else if (c == '^') {
            PUT("([^%.0-9a-z_-]|$)");
        } else if (c != ']' && strchr(".[()+?{}\\", c) != NULL) { /* (in a bracket expression every one is itself) */
            lit[0] = '[', lit[1] = (char)c, lit[2] = ']', lit[3] = '\0';
            PUT(lit);
        } else {
            lit[0] = (char)c, lit[1] = '\0';
            PUT(lit);
        }
    }
    PUT(end ? "$" : "");
#undef PUT
    re[o] = '\0';
    return 1;
}

static void
mode_glob(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *nl = memchr(s, '\n', size);
    if (nl == NULL || nl == s)
        return;
    size_t pn = (size_t)(nl - s), un = size - pn - 1;
    const char *url = nl + 1;
    if (pn > 200 || un > 300 || (pn >= 2 && s[0] == '@' && s[1] == '@') || s[0] == '!' || s[0] == '[')
        return;
    /* http(s)://host[/rest]: host of [a-z0-9.-] not ending in '.', rest printable */
    size_t h = un > 8 && memcmp(url, "https://", 8) == 0 ? 8 : un > 7 && memcmp(url, "http://", 7) == 0 ? 7 : 0, e = h;
    if (h == 0)
        return;
    while (e < un && ((url[e] >= 'a' && url[e] <= 'z') || (url[e] >= '0' && url[e] <= '9') || url[e] == '.' || url[e] == '-'))
        ++e;
    if (e == h || url[e - 1] == '.' || (e < un && url[e] != '/'))
        return;
    for (size_t i = e; i != un; ++i)
        if (url[i] <= ' ' || url[i] >= 0x7f)
            return;
    char re[2048], *u = malloc(un + 1);
    if (!pattern_regex(s, pn, re, sizeof(re))) {
        free(u);
        return;
    }
    regex_t rx;
    CHECK(regcomp(&rx, re, REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0);
    memcpy(u, url, un);
    u[un] = '\0';
    int want = regexec(&rx, u, 0, NULL, 0) == 0;
    regfree(&rx);

    gw_abp_builder_t *b = gw_abp_builder_new();
    gw_abp_stats_t st;
    CHECK(b != NULL && gw_abp_builder_add_buffer(b, s, pn, 1, "glob", &st) == 0);
    gw_abp_t *m = gw_abp_builder_finish(b);
    CHECK(m != NULL);
    gw_abp_info_t info;
    gw_abp_info(m, &info);
    if (info.rules == 1) { /* (a pattern the loader refuses, too generic say, decides nothing) */
        gw_abp_request_t rq = {u, un, NULL, 0, NULL, 0, GW_ABP_OTHER, -1};
        gw_abp_result_t r;
        CHECK(gw_abp_match(m, &rq, &r) == want);
        check_result(m, &rq);
    }
    gw_abp_free(m);
    free(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        mode_list(data + 1, size - 1);
    else if (data[0] & 2)
        mode_glob(data + 1, size - 1);
    else
        mode_url(data + 1, size - 1);
    return 0;
}
