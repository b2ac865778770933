/*
 * Unit tests for filters/cookie.c: Cookie iterator, Set-Cookie parser and serialiser,
 * cookie-date parser and HTTP-date formatter.
 *
 * Table-driven. Every table input is also fed in every prefix, copied into an exactly
 * sized heap buffer, so that ASan catches a read past the end; prefixes must either parse
 * to a consistent result or fail cleanly. Cases marked "curl" come from curl's test 31
 * (tests/data/test31) and show where we agree or differ (see cookie.c's header comment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cookie.h"

#define S(lit) lit, sizeof(lit) - 1

static char *
heap_copy(const char *s, size_t n)
{
    char *p = malloc(n == 0 ? 1 : n);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void
assert_span(const char *p, size_t n, const char *want)
{
    if (want == NULL) {
        assert_int_equal(n, 0);
        return;
    }
    if (n != strlen(want) || memcmp(p, want, n) != 0)
        fail_msg("got \"%.*s\" (%zu), want \"%s\"", (int)n, p ? p : "", n, want);
}

/* ---- Cookie iterator -------------------------------------------------------------- */

#define MAXPAIRS 6
struct iter_case {
    const char *in;
    size_t len;
    int npairs; /* pairs before the end, or before the error when err */
    int err;    /* 1: the call after npairs pairs returns -1 */
    struct {
        const char *name, *value;
        int has_eq;
    } p[MAXPAIRS];
};

static const struct iter_case iter_cases[] = {
    {S(""), 0, 0, {{0}}},
    {S("a=b"), 1, 0, {{"a", "b", 1}}},
    {S("SID=31d4d96e407aad42; lang=en-US"), 2, 0, {{"SID", "31d4d96e407aad42", 1}, {"lang", "en-US", 1}}}, /* RFC 6265 §3.1 */
    {S("a=b;c=d"), 2, 0, {{"a", "b", 1}, {"c", "d", 1}}},
    {S("  a = b  ;   c=d ;"), 2, 0, {{"a", "b", 1}, {"c", "d", 1}}},
    {S(";;a=1;; ;"), 1, 0, {{"a", "1", 1}}},
    {S("  ;  ;\t"), 0, 0, {{0}}},
    {S("=v"), 1, 0, {{"", "v", 1}}},
    {S("v"), 1, 0, {{"", "v", 0}}},
    {S("tok; a=1"), 2, 0, {{"", "tok", 0}, {"a", "1", 1}}},
    {S("tok \t; a=1"), 2, 0, {{"", "tok", 0}, {"a", "1", 1}}}, /* a bare token is trimmed too */
    {S("a=b=c"), 1, 0, {{"a", "b=c", 1}}},
    {S("a=\"q v\""), 1, 0, {{"a", "\"q v\"", 1}}},
    {S("a=1; a=2; a=1"), 3, 0, {{"a", "1", 1}, {"a", "2", 1}, {"a", "1", 1}}},
    {S("a="), 1, 0, {{"a", "", 1}}},
    {S("a= ;b"), 2, 0, {{"a", "", 1}, {"", "b", 0}}},
    {S("="), 1, 0, {{"", "", 1}}},
    {S("Site History=x y"), 1, 0, {{"Site History", "x y", 1}}},
    {S("a=b, c=d"), 1, 0, {{"a", "b, c=d", 1}}},
    {S("a=\t b \t;\tc\t=\td"), 2, 0, {{"a", "b", 1}, {"c", "d", 1}}},
    {S("_ga=GA1.2.3.4; _ga_ABC=GS1.1; _gid=x; _fbp=fb.1; NID=511=abc; IDE=xyz"),
     6,
     0,
     {{"_ga", "GA1.2.3.4", 1},
      {"_ga_ABC", "GS1.1", 1},
      {"_gid", "x", 1},
      {"_fbp", "fb.1", 1},
      {"NID", "511=abc", 1},
      {"IDE", "xyz", 1}}},
    {S("a=\xc3\xa9\xff"), 1, 0, {{"a", "\xc3\xa9\xff", 1}}},
    {S("a=1; b\x01=2"), 1, 1, {{"a", "1", 1}}},
    {S("a=\x7f"), 0, 1, {{0}}},
    {S("a=1\r\n"), 0, 1, {{0}}},
    {S("a=1; b=\0; c=3"), 1, 1, {{"a", "1", 1}}},
    {NULL, 0, 0, 0, {{0}}} /* end of list */
};

static void
run_iter_case(const struct iter_case *tc, const char *buf, size_t len)
{
    gw_cookie_iter_t it;
    gw_cookie_pair_t pr;
    int i, r;

    gw_cookie_iter_init(&it, buf, len);
    for (i = 0; i < tc->npairs; ++i) {
        r = gw_cookie_iter_next(&it, &pr);
        if (r != 1)
            fail_msg("case \"%s\": pair %d: got %d", tc->in, i, r);
        assert_span(pr.name, pr.name_len, tc->p[i].name);
        assert_span(pr.value, pr.value_len, tc->p[i].value);
        assert_int_equal(pr.has_eq, tc->p[i].has_eq);
        /* the raw span stays inside the header and starts at the name */
        assert_true(pr.name >= buf && pr.value + pr.value_len <= buf + len && pr.value >= pr.name);
    }
    r = gw_cookie_iter_next(&it, &pr);
    assert_int_equal(r, tc->err ? -1 : 0);
    assert_int_equal(gw_cookie_iter_next(&it, &pr), r); /* sticky */
}

static void
test_iter_table(void **state)
{
    for (const struct iter_case *tc = iter_cases; tc->in != NULL; ++tc) {
        char *buf = heap_copy(tc->in, tc->len);
        run_iter_case(tc, buf, tc->len);
        free(buf);
    }
}

/* Every prefix of every case, in an exactly sized buffer: pairs whose segment ends with a
 * ';' inside the prefix are identical to the whole header's; the rest fail or end cleanly. */
static void
test_iter_prefixes(void **state)
{
    for (const struct iter_case *tc = iter_cases; tc->in != NULL; ++tc) {
        gw_cookie_pair_t full[64];
        size_t full_end[64]; /* offset of the ';' closing each pair, or len */
        int nfull = 0, r;
        gw_cookie_iter_t it;

        gw_cookie_iter_init(&it, tc->in, tc->len);
        while (nfull < 64 && (r = gw_cookie_iter_next(&it, &full[nfull])) == 1) {
            const char *e = memchr(full[nfull].value, ';', (size_t)(tc->in + tc->len - full[nfull].value));
            full_end[nfull++] = e != NULL ? (size_t)(e - tc->in) : tc->len;
        }
        for (size_t k = 0; k <= tc->len; ++k) {
            char *buf = heap_copy(tc->in, k);
            gw_cookie_pair_t pr;
            int n = 0;
            gw_cookie_iter_init(&it, buf, k);
            while ((r = gw_cookie_iter_next(&it, &pr)) == 1) {
                assert_true(pr.name >= buf && pr.value + pr.value_len <= buf + k);
                if (n < nfull && full_end[n] < k) {
                    assert_int_equal(pr.name - buf, full[n].name - tc->in);
                    assert_int_equal(pr.name_len, full[n].name_len);
                    assert_int_equal(pr.value - buf, full[n].value - tc->in);
                    assert_int_equal(pr.value_len, full[n].value_len);
                    assert_int_equal(pr.has_eq, full[n].has_eq);
                }
                ++n;
            }
            assert_true(r == 0 || r == -1);
            if (r == 0) /* a clean prefix holds every pair closed inside it */
                for (int j = 0; j < nfull; ++j)
                    if (full_end[j] < k)
                        assert_true(n > j);
            free(buf);
        }
    }
}

/* Every byte value at every offset of a 24-byte header and Set-Cookie line (exactly sized, so ASan sees a read past the
 * end): the control bytes (all of 0x00-0x1f but HTAB, and 0x7f) fail wherever they are, in the 8-byte blocks
 * find_ctl() tests at once as in its tail, and no other byte does */
static void
test_every_control_byte_everywhere(void **state)
{
    enum { LEN = 24 };
    for (int c = 0; c != 256; ++c) {
        int ctl = (c < 0x20 && c != '\t') || c == 0x7f;
        for (size_t off = 2; off != LEN; ++off) {
            char *buf = malloc(LEN);
            assert_non_null(buf);
            memset(buf, 'v', LEN);
            buf[0] = 'a', buf[1] = '=', buf[off] = (char)c;

            gw_cookie_iter_t it;
            gw_cookie_pair_t pr;
            int r;
            gw_cookie_iter_init(&it, buf, LEN);
            while ((r = gw_cookie_iter_next(&it, &pr)) == 1)
                ;
            if (r != (ctl ? -1 : 0))
                fail_msg("Cookie with byte 0x%02x at %zu: got %d", c, off, r);

            gw_set_cookie_t sc;
            r = gw_set_cookie_parse(buf, LEN, &sc);
            if ((r == GW_COOKIE_ERR_CTL) != ctl)
                fail_msg("Set-Cookie with byte 0x%02x at %zu: got %d", c, off, r);
            free(buf);
        }
    }
}

static void
test_iter_caps(void **state)
{
    gw_cookie_iter_t it;
    gw_cookie_pair_t pr;
    char *big = malloc(GW_COOKIE_MAX_HEADER + 1);
    assert_non_null(big);
    memset(big, 'x', GW_COOKIE_MAX_HEADER + 1);
    big[0] = 'a', big[1] = '=';

    gw_cookie_iter_init(&it, big, GW_COOKIE_MAX_HEADER); /* at the cap: one pair */
    assert_int_equal(gw_cookie_iter_next(&it, &pr), 1);
    assert_int_equal(pr.value_len, GW_COOKIE_MAX_HEADER - 2);
    assert_int_equal(gw_cookie_iter_next(&it, &pr), 0);

    gw_cookie_iter_init(&it, big, GW_COOKIE_MAX_HEADER + 1); /* over: fails on the first call */
    assert_int_equal(gw_cookie_iter_next(&it, &pr), -1);
    assert_int_equal(gw_cookie_iter_next(&it, &pr), -1);
    free(big);

    gw_cookie_iter_init(&it, NULL, 0);
    assert_int_equal(gw_cookie_iter_next(&it, &pr), 0);
    gw_cookie_iter_init(&it, NULL, 5);
    assert_int_equal(gw_cookie_iter_next(&it, &pr), -1);
}

/* Many pairs: the iterator is linear and keeps order */
static void
test_iter_many(void **state)
{
    char hdr[8192];
    size_t len = 0;
    for (int i = 0; i < 500; ++i)
        len += (size_t)snprintf(hdr + len, sizeof(hdr) - len, "c%d=v%d; ", i, i);
    gw_cookie_iter_t it;
    gw_cookie_pair_t pr;
    gw_cookie_iter_init(&it, hdr, len);
    for (int i = 0; i < 500; ++i) {
        char want[16];
        assert_int_equal(gw_cookie_iter_next(&it, &pr), 1);
        snprintf(want, sizeof(want), "c%d", i);
        assert_span(pr.name, pr.name_len, want);
    }
    assert_int_equal(gw_cookie_iter_next(&it, &pr), 0);
}

/* ---- cookie-date ------------------------------------------------------------------ */

#define BAD INT64_MIN
struct date_case {
    const char *in;
    int64_t want; /* BAD: must fail */
};

static const struct date_case date_cases[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},  /* IMF-fixdate */
    {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777}, /* RFC 850 */
    {"Sun Nov  6 08:49:37 1994", 784111777},       /* asctime */
    {"Wed, 09 Jun 2021 10:18:14 GMT", 1623233894}, /* RFC 6265 §3.1 */
    {"Fri Feb 13 11:56:27 GMT 2037", 2118138987},  /* curl test 31 */
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    {"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648LL},
    {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799LL},
    {"Mon, 01 Jan 1601 00:00:00 GMT", -11644473600LL},
    {"Sun, 31 Dec 1600 23:59:59 GMT", BAD}, /* year < 1601 */
    /* five-digit years: Chromium (156) reads them as the far future (a cookie kept 400 days), so they are read as the
     * last second of 9999; six digits are no year to either */
    {"Wed, 01 Jan 10000 00:00:00 GMT", 253402300799LL},
    {"Wed, 01 Jan 99999 00:00:00 GMT", 253402300799LL},
    {"01 Jan 12345 00:00:00", 253402300799LL},
    {"Wed, 01 Jan 100000 00:00:00 GMT", BAD},
    {"Wed, 30 Feb 10000 00:00:00 GMT", BAD},
    {"06 nOV 1994 8:9:7", 784109347},
    {"08:49:37 06 November 1994 GMT", 784111777},
    {"06 Nov 1994 08:49:37.123 GMT", 784111777},
    {"Sun, 06 Nov 1994 08:49:37 GMT+0200", 784111777}, /* offsets are ignored by §5.1.1 */
    {"xyz; 06 !! Nov ## 1994 @@ 08:49:37", 784111777},
    {"1 Jan 70 00:00:00", 0},
    {"1 Jan 99 00:00:00", 915148800},
    {"1 Jan 00 00:00:00", 946684800},
    {"1 Jan 69 00:00:00", 3124224000LL},
    {"1 Jan 0070 00:00:00", 0}, /* "0070" is the value 70: §5.1.1 step 3 */
    {"29 Feb 2020 00:00:00", 1582934400},
    {"29 Feb 2000 00:00:00", 951782400},
    {"29 Feb 2021 00:00:00", BAD},
    {"29 Feb 1900 00:00:00", BAD},
    {"31 Feb 2020 00:00:00", BAD},
    {"31 Apr 2020 00:00:00", BAD},
    {"0 Jan 2020 00:00:00", BAD},
    {"32 Jan 2020 00:00:00", BAD},
    {"1 Jan 2020 24:00:00", BAD},
    {"1 Jan 2020 23:60:00", BAD},
    {"1 Jan 2020 23:59:60", BAD}, /* no leap seconds */
    {"1 Jan 2020 08:49:371", BAD},
    /* the time as Chromium (156) reads it: three runs of digits of any length, nothing after them (RFC 6265 §5.1.1
     * has 1*2DIGIT fields and allows a tail) */
    {"1 Jan 2020 008:49:37", 1577868577},
    {"Wed, 09 Jun 2027 010:018:014 GMT", 1812536294},
    {"Wed, 09 Jun 2027 00000000000000000010:18:14 GMT", 1812536294},
    {"Wed, 09 Jun 2027 10:18:14x GMT", BAD},
    {"Wed, 09 Jun 2027 10:18:14: GMT", BAD},
    {"Wed, 09 Jun 2027 10:18:14:15 GMT", BAD},
    {"Wed, 09 Jun 2027 99999999999:18:14 GMT", BAD},
    {"1 Jan 2020", BAD},
    {"Jan 2020 00:00:00", BAD},
    {"1 2020 00:00:00", BAD},
    {"1 Jan 00:00:00", BAD},
    {"1 Jan 20201 00:00:00", 253402300799LL}, /* five digits: the far future, as Chromium reads it */
    {"2021-06-09T10:18:14Z", BAD}, /* ISO 8601 is not a cookie-date */
    {"", BAD},
    {"garbage", BAD},
    {"\x80\xff 1 Jan 2020 00:00:00", 1577836800},
    {NULL, 0} /* end of list */
};

static void
test_date_table(void **state)
{
    for (const struct date_case *tc = date_cases; tc->in != NULL; ++tc) {
        size_t n = strlen(tc->in);
        char *buf = heap_copy(tc->in, n);
        int64_t t = 42;
        int r = gw_cookie_parse_date(buf, n, &t);
        if (tc->want == BAD) {
            if (r != -1)
                fail_msg("\"%s\" parsed to %lld", tc->in, (long long)t);
        } else {
            if (r != 0 || t != tc->want)
                fail_msg("\"%s\": r=%d t=%lld want %lld", tc->in, r, (long long)t, (long long)tc->want);
        }
        /* every prefix fails or succeeds cleanly inside its own buffer */
        for (size_t k = 0; k < n; ++k) {
            char *pre = heap_copy(tc->in, k);
            r = gw_cookie_parse_date(pre, k, &t);
            assert_true(r == 0 || r == -1);
            free(pre);
        }
        free(buf);
    }
}

static void
test_http_date_format(void **state)
{
    char buf[64];
    struct {
        int64_t t;
        const char *want;
    } cases[] = {
        {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"},
        {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
        {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
        {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
        {253402300799LL, "Fri, 31 Dec 9999 23:59:59 GMT"},
        {-11644473600LL, "Mon, 01 Jan 1601 00:00:00 GMT"},
        {0, NULL},
    };
    for (int i = 0; cases[i].want != NULL; ++i) {
        memset(buf, 0, sizeof(buf));
        assert_int_equal(gw_cookie_format_http_date(cases[i].t, buf, sizeof(buf)), GW_COOKIE_HTTP_DATE_LEN);
        assert_string_equal(buf, cases[i].want);
        int64_t back;
        assert_int_equal(gw_cookie_parse_date(buf, GW_COOKIE_HTTP_DATE_LEN, &back), 0);
        assert_int_equal(back, cases[i].t);
    }
    assert_int_equal(gw_cookie_format_http_date(253402300800LL, buf, sizeof(buf)), 0);
    assert_int_equal(gw_cookie_format_http_date(-11644473601LL, buf, sizeof(buf)), 0);
    assert_int_equal(gw_cookie_format_http_date(INT64_MIN, buf, sizeof(buf)), 0);
    assert_int_equal(gw_cookie_format_http_date(INT64_MAX, buf, sizeof(buf)), 0);
    assert_int_equal(gw_cookie_format_http_date(0, buf, GW_COOKIE_HTTP_DATE_LEN - 1), 0);
    /* a day in every month across 400 years round-trips */
    for (int64_t t = -11644473600LL; t < 253402300799LL; t += 86400LL * 29 + 3601) {
        assert_int_equal(gw_cookie_format_http_date(t, buf, sizeof(buf)), GW_COOKIE_HTTP_DATE_LEN);
        int64_t back;
        assert_int_equal(gw_cookie_parse_date(buf, GW_COOKIE_HTTP_DATE_LEN, &back), 0);
        assert_int_equal(back, t);
    }
}

/* ---- Set-Cookie parser ------------------------------------------------------------ */

#define NOMA (INT64_MAX - 12345) /* want.max_age when has_max_age must be 0 */
struct sc_case {
    const char *in;
    size_t len;
    int err;
    const char *name, *value, *domain, *path, *expires_raw;
    int64_t expires;
    int64_t max_age;
    int secure, http_only, partitioned, same_site;
};
#define E GW_COOKIE_NO_EXPIRES
#define SS_U GW_COOKIE_SAMESITE_UNSET
#define SS_N GW_COOKIE_SAMESITE_NONE
#define SS_L GW_COOKIE_SAMESITE_LAX
#define SS_S GW_COOKIE_SAMESITE_STRICT

static const struct sc_case sc_cases[] = {
    /* RFC 6265 §3.1 */
    {S("SID=31d4d96e407aad42"), 0, "SID", "31d4d96e407aad42", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("SID=31d4d96e407aad42; Path=/; Domain=example.com"), 0, "SID", "31d4d96e407aad42", "example.com", "/", NULL, E, NOMA, 0, 0,
     0, SS_U},
    {S("SID=31d4d96e407aad42; Path=/; Secure; HttpOnly"), 0, "SID", "31d4d96e407aad42", NULL, "/", NULL, E, NOMA, 1, 1, 0, SS_U},
    {S("lang=en-US; Expires=Wed, 09 Jun 2021 10:18:14 GMT"), 0, "lang", "en-US", NULL, NULL, "Wed, 09 Jun 2021 10:18:14 GMT",
     1623233894, NOMA, 0, 0, 0, SS_U},
    {S("lang=; Expires=Sun, 06 Nov 1994 08:49:37 GMT"), 0, "lang", "", NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 784111777, NOMA,
     0, 0, 0, SS_U},
    /* curl test 31 */
    {S("foobar=name; domain=anything.com; path=/ ; secure"), 0, "foobar", "name", "anything.com", "/", NULL, E, NOMA, 1, 0, 0,
     SS_U},
    {S("ismatch=this  ; domain=test31.curl; path=/silly/"), 0, "ismatch", "this", "test31.curl", "/silly/", NULL, E, NOMA, 0, 0, 0,
     SS_U}, /* curl stores path "/silly" */
    {S("sec2value=secure2  ; domain=test31.curl; path=/secure2/ ; secure="), 0, "sec2value", "secure2", "test31.curl", "/secure2/",
     NULL, E, NOMA, 1, 0, 0, SS_U},
    {S("secure=very1  ; secure=; domain=test31.curl; path=/secure9/; "), 0, "secure", "very1", "test31.curl", "/secure9/", NULL, E,
     NOMA, 1, 0, 0, SS_U},
    {S("httpo2=value2  ; domain=test31.curl; path=/p2/; httponly="), 0, "httpo2", "value2", "test31.curl", "/p2/", NULL, E, NOMA, 0,
     1, 0, SS_U},
    {S("httpandsec8=myvalue9; domain=test31.curl; path=/p4/; secure=; httponly"), 0, "httpandsec8", "myvalue9", "test31.curl",
     "/p4/", NULL, E, NOMA, 1, 1, 0, SS_U},
    {S("eat=this-too; domain=.foo.moo;"), 0, "eat", "this-too", "foo.moo", NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("nodomainnovalue"), 0, "", "nodomainnovalue", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl: dropped */
    {S("  nodomain=value; expires=Fri Feb 13 11:56:27 GMT 2037"), 0, "nodomain", "value", NULL, NULL,
     "Fri Feb 13 11:56:27 GMT 2037", 2118138987, NOMA, 0, 0, 0, SS_U},
    {S("novalue; domain=reallysilly"), 0, "", "novalue", "reallysilly", NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl: dropped */
    {S("blankdomain=sure; domain=; path=/"), 0, "blankdomain", "sure", NULL, "/", NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("blexp=yesyes; domain=test31.curl; domain=test31.curl; expiry=totally bad;"), 0, "blexp", "yesyes", "test31.curl", NULL,
     NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("withspaces=  yes  within and around    ;"), 0, "withspaces", "yes  within and around", NULL, NULL, NULL, E, NOMA, 0, 0, 0,
     SS_U},
    {S("withspaces2 =before equals;"), 0, "withspaces2", "before equals", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("securewithspace=after    ; secure ="), 0, "securewithspace", "after", NULL, NULL, NULL, E, NOMA, 1, 0, 0, SS_U},
    /* name/value edge cases */
    {S("=v; path=/"), 0, "", "v", NULL, "/", NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl: cookie "path" = "/" */
    {S("a=b=c; Path=/"), 0, "a", "b=c", NULL, "/", NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=\"quoted v\""), 0, "a", "\"quoted v\"", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b\tc"), 0, "a", "b\tc", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl: dropped (TAB) */
    {S("a=\xc3\xa9"), 0, "a", "\xc3\xa9", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a="), 0, "a", "", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S(""), GW_COOKIE_ERR_EMPTY},
    {S("="), GW_COOKIE_ERR_EMPTY},
    {S("  =  ; Path=/"), GW_COOKIE_ERR_EMPTY},
    {S("; Secure"), GW_COOKIE_ERR_EMPTY},
    {S("a=b; Path=/\x01"), GW_COOKIE_ERR_CTL}, /* curl accepts: it checks name and value only */
    {S("a=b\r\nSet-Cookie: c=d"), GW_COOKIE_ERR_CTL},
    {S("a=\0b"), GW_COOKIE_ERR_CTL},
    {S("a=b; x=\x7f"), GW_COOKIE_ERR_CTL},
    /* Max-Age §5.2.2 */
    {S("a=b; Max-Age=3600"), 0, "a", "b", NULL, NULL, NULL, E, 3600, 0, 0, 0, SS_U},
    {S("a=b; max-AGE=0"), 0, "a", "b", NULL, NULL, NULL, E, 0, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=-1"), 0, "a", "b", NULL, NULL, NULL, E, -1, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=-0"), 0, "a", "b", NULL, NULL, NULL, E, 0, 0, 0, 0, SS_U},
    {S("a=b; Max-Age= 60 "), 0, "a", "b", NULL, NULL, NULL, E, 60, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=9223372036854775807"), 0, "a", "b", NULL, NULL, NULL, E, INT64_MAX, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=9223372036854775808"), 0, "a", "b", NULL, NULL, NULL, E, INT64_MAX, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=99999999999999999999999"), 0, "a", "b", NULL, NULL, NULL, E, INT64_MAX, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=-9223372036854775808"), 0, "a", "b", NULL, NULL, NULL, E, INT64_MIN, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=abc"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    /* a leading '+': 6265bis ignores the attribute, Chromium (156) reads the number, so a lifetime cap must too */
    {S("a=b; Max-Age=+5"), 0, "a", "b", NULL, NULL, NULL, E, 5, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=+34560000"), 0, "a", "b", NULL, NULL, NULL, E, 34560000, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=+0"), 0, "a", "b", NULL, NULL, NULL, E, 0, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=+"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=+-5"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=-+5"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=++5"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=1a"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=-"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age="), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=\"60\""), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl: 60 */
    /* the last Max-Age counts even when invalid, which unsets it (Chromium 156; §5.2.2 would keep 10): then an Expires
     * is the cookie's lifetime */
    {S("a=b; Max-Age=10; Max-Age=bad"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=5; Max-Age=x; Expires=Fri, 31 Dec 2099 00:00:00 GMT"), 0, "a", "b", NULL, NULL,
     "Fri, 31 Dec 2099 00:00:00 GMT", 4102358400, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Expires=Fri, 31 Dec 2099 00:00:00 GMT; Max-Age=5; Max-Age"), 0, "a", "b", NULL, NULL,
     "Fri, 31 Dec 2099 00:00:00 GMT", 4102358400, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Max-Age=10; Max-Age=20"), 0, "a", "b", NULL, NULL, NULL, E, 20, 0, 0, 0, SS_U},
    /* Expires */
    {S("a=b; Expires=garbage"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    /* the last Expires counts even when it is no date: a session cookie (Chromium 156; §5.2.1 would keep the first) */
    {S("a=b; expires=Thu, 01 Jan 1970 00:00:00 GMT; EXPIRES=nope"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Expires=Fri, 31 Dec 2099 00:00:00 GMT; Expires="), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Expires=Sunday, 06-Nov-94 08:49:37 GMT; Max-Age=5"), 0, "a", "b", NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT",
     784111777, 5, 0, 0, 0, SS_U},
    /* Domain §5.2.3 */
    {S("a=b; DOMAIN=Example.COM"), 0, "a", "b", "Example.COM", NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Domain=."), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Domain=a.com; Domain="), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* host-only (Chromium 156) */
    {S("a=b; Domain=a.com; Domain=."), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Domain=..x"), 0, "a", "b", ".x", NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Domain = a=b "), 0, "a", "b", "a=b", NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Domain=. xa."), 0, "a", "b", " xa.", NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* fuzz: blank after the dot is kept */
    /* Path §5.2.4 */
    {S("a=b; Path="), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Path=foo"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Path=/a; Path=x"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Path=\"/q\""), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U}, /* curl strips the quotes */
    {S("a=b; path=/a b/"), 0, "a", "b", NULL, "/a b/", NULL, E, NOMA, 0, 0, 0, SS_U},
    /* flags, SameSite, unknown attributes */
    {S("a=b; SECURE; hTtPoNlY; Partitioned"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 1, 1, 1, SS_U},
    {S("a=b; Secure=no; partitioned=yes"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 1, 0, 1, SS_U},
    {S("a=b; SameSite=Strict"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_S},
    {S("a=b; samesite=LAX"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_L},
    {S("a=b; SameSite=None; Secure"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 1, 0, 0, SS_N},
    {S("a=b; SameSite=Strict; SameSite=bogus"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; SameSite"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Priority=High; Comment=x; Version=1; =x; ;;  ; SameParty"), 0, "a", "b", NULL, NULL, NULL, E, NOMA, 0, 0, 0, SS_U},
    {S("a=b; Secure ; Path=/ ; Domain=x ; Max-Age=1 ; SameSite=Lax ; HttpOnly ; Expires=1 Jan 2020 00:00:00 ; Partitioned"), 0, "a",
     "b", "x", "/", "1 Jan 2020 00:00:00", 1577836800, 1, 1, 1, 1, SS_L},
    {NULL, 0} /* end of list */
};

static void
check_sc(const struct sc_case *tc, const gw_set_cookie_t *c)
{
    assert_span(c->name, c->name_len, tc->name);
    assert_span(c->value, c->value_len, tc->value);
    assert_span(c->domain, c->domain_len, tc->domain);
    assert_span(c->path, c->path_len, tc->path);
    assert_span(c->expires_raw, c->expires_raw_len, tc->expires_raw);
    assert_int_equal(c->expires, tc->expires);
    if (tc->max_age == NOMA) {
        assert_int_equal(c->has_max_age, 0);
    } else {
        assert_int_equal(c->has_max_age, 1);
        assert_int_equal(c->max_age, tc->max_age);
    }
    assert_int_equal(c->secure, tc->secure);
    assert_int_equal(c->http_only, tc->http_only);
    assert_int_equal(c->partitioned, tc->partitioned);
    assert_int_equal(c->same_site, tc->same_site);
}

static void
assert_same_cookie(const gw_set_cookie_t *a, const gw_set_cookie_t *b)
{
    assert_int_equal(a->name_len, b->name_len);
    assert_memory_equal(a->name, b->name, a->name_len);
    assert_int_equal(a->value_len, b->value_len);
    assert_memory_equal(a->value, b->value, a->value_len);
    assert_int_equal(a->domain_len, b->domain_len);
    if (a->domain_len)
        assert_memory_equal(a->domain, b->domain, a->domain_len);
    assert_int_equal(a->path_len, b->path_len);
    if (a->path_len)
        assert_memory_equal(a->path, b->path, a->path_len);
    assert_int_equal(a->expires, b->expires);
    assert_int_equal(a->has_max_age, b->has_max_age);
    if (a->has_max_age)
        assert_int_equal(a->max_age, b->max_age);
    assert_int_equal(a->secure, b->secure);
    assert_int_equal(a->http_only, b->http_only);
    assert_int_equal(a->partitioned, b->partitioned);
    assert_int_equal(a->same_site, b->same_site);
}

static int
in_buf(const char *p, size_t n, const char *buf, size_t len)
{
    return n == 0 || (p >= buf && p + n <= buf + len);
}

static void
test_set_cookie_table(void **state)
{
    for (const struct sc_case *tc = sc_cases; tc->in != NULL; ++tc) {
        char *buf = heap_copy(tc->in, tc->len);
        gw_set_cookie_t c;
        int r = gw_set_cookie_parse(buf, tc->len, &c);
        if (r != tc->err)
            fail_msg("\"%s\": got %d (%s), want %d", tc->in, r, gw_cookie_strerror(r), tc->err);
        if (r == 0) {
            check_sc(tc, &c);
            /* format and parse again: same cookie */
            char out[GW_SET_COOKIE_MAX_LINE];
            size_t n = gw_set_cookie_format(&c, out, sizeof(out));
            if (n == 0)
                fail_msg("\"%s\": format failed", tc->in);
            gw_set_cookie_t c2;
            assert_int_equal(gw_set_cookie_parse(out, n, &c2), 0);
            assert_same_cookie(&c, &c2);
        } else {
            assert_int_equal(c.name_len + c.value_len + c.domain_len + c.path_len, 0);
            assert_int_equal(c.expires, GW_COOKIE_NO_EXPIRES);
        }
        free(buf);
    }
}

/* every prefix in an exactly sized buffer: fails cleanly or yields fields inside the
 * buffer; once the first ';' is inside the prefix, name and value equal the whole line's */
static void
test_set_cookie_prefixes(void **state)
{
    for (const struct sc_case *tc = sc_cases; tc->in != NULL; ++tc) {
        gw_set_cookie_t full, c;
        int rfull = gw_set_cookie_parse(tc->in, tc->len, &full);
        const char *semi = memchr(tc->in, ';', tc->len);
        for (size_t k = 0; k <= tc->len; ++k) {
            char *buf = heap_copy(tc->in, k);
            int r = gw_set_cookie_parse(buf, k, &c);
            assert_true(r <= 0 && r >= GW_COOKIE_ERR_TOO_BIG);
            if (r == 0) {
                assert_true(in_buf(c.name, c.name_len, buf, k));
                assert_true(in_buf(c.value, c.value_len, buf, k));
                assert_true(in_buf(c.domain, c.domain_len, buf, k));
                assert_true(in_buf(c.path, c.path_len, buf, k));
                assert_true(in_buf(c.expires_raw, c.expires_raw_len, buf, k));
                if (rfull == 0 && semi != NULL && (size_t)(semi - tc->in) < k) {
                    assert_int_equal(c.name_len, full.name_len);
                    assert_int_equal(c.value_len, full.value_len);
                    assert_int_equal(c.value - buf, full.value - tc->in);
                }
            }
            free(buf);
        }
    }
}

static void
test_set_cookie_caps(void **state)
{
    char *line = malloc(GW_SET_COOKIE_MAX_LINE + 1);
    gw_set_cookie_t c;
    assert_non_null(line);

    /* name + value at the cap, and one over */
    memset(line, 'v', GW_COOKIE_MAX_NAME_VALUE + 1);
    line[0] = 'n', line[1] = '=';
    assert_int_equal(gw_set_cookie_parse(line, GW_COOKIE_MAX_NAME_VALUE + 1, &c), 0);
    assert_int_equal(c.name_len + c.value_len, GW_COOKIE_MAX_NAME_VALUE);
    memset(line, 'v', GW_COOKIE_MAX_NAME_VALUE + 2);
    line[0] = 'n', line[1] = '=';
    assert_int_equal(gw_set_cookie_parse(line, GW_COOKIE_MAX_NAME_VALUE + 2, &c), GW_COOKIE_ERR_TOO_BIG);
    /* blanks around name and value do not count */
    memset(line, ' ', 100);
    memset(line + 100, 'v', GW_COOKIE_MAX_NAME_VALUE + 1);
    line[100] = 'n', line[101] = '=';
    memset(line + 101 + GW_COOKIE_MAX_NAME_VALUE, ' ', 100);
    assert_int_equal(gw_set_cookie_parse(line, GW_COOKIE_MAX_NAME_VALUE + 201, &c), 0);

    /* line cap */
    memcpy(line, "a=b; x=", 7);
    memset(line + 7, 'x', GW_SET_COOKIE_MAX_LINE + 1 - 7);
    assert_int_equal(gw_set_cookie_parse(line, GW_SET_COOKIE_MAX_LINE, &c), 0);
    assert_int_equal(gw_set_cookie_parse(line, GW_SET_COOKIE_MAX_LINE + 1, &c), GW_COOKIE_ERR_TOO_LONG);

    /* attribute value cap: 1024 is used, 1025 ignored */
    size_t n = (size_t)snprintf(line, GW_SET_COOKIE_MAX_LINE, "a=b; Path=/first; Path=/");
    memset(line + n, 'p', GW_COOKIE_MAX_ATTR_VALUE - 1);
    assert_int_equal(gw_set_cookie_parse(line, n + GW_COOKIE_MAX_ATTR_VALUE - 1, &c), 0);
    assert_int_equal(c.path_len, GW_COOKIE_MAX_ATTR_VALUE);
    line[n + GW_COOKIE_MAX_ATTR_VALUE - 1] = 'p';
    assert_int_equal(gw_set_cookie_parse(line, n + GW_COOKIE_MAX_ATTR_VALUE, &c), 0);
    assert_span(c.path, c.path_len, "/first");
    free(line);

    assert_int_equal(gw_set_cookie_parse(NULL, 0, &c), GW_COOKIE_ERR_EMPTY);
}

static void
test_strerror(void **state)
{
    assert_string_equal(gw_cookie_strerror(GW_COOKIE_OK), "ok");
    for (int e = GW_COOKIE_ERR_TOO_BIG; e < 0; ++e) {
        assert_non_null(gw_cookie_strerror(e));
        assert_string_not_equal(gw_cookie_strerror(e), "unknown error");
    }
    assert_string_equal(gw_cookie_strerror(-100), "unknown error");
    assert_string_equal(gw_cookie_strerror(7), "unknown error");
}

/* ---- Set-Cookie serialiser -------------------------------------------------------- */

static void
test_format_exact(void **state)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"SID=31d4d96e407aad42; path=/; domain=.Example.com; secure; httponly",
         "SID=31d4d96e407aad42; Domain=Example.com; Path=/; Secure; HttpOnly"},
        {"a=b; max-age=60; expires=Sunday, 06-Nov-94 08:49:37 GMT; samesite=lax; priority=high; partitioned",
         "a=b; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=60; SameSite=Lax; Partitioned"},
        {"nameless", "=nameless"},
        {"=a=b", "=a=b"},
        {"a=b; Domain=..x", "a=b; Domain=..x"},
        {"a=b; Domain=. x", "a=b; Domain=. x"},
        {"a=; SameSite=Strict", "a=; SameSite=Strict"},
        {"a=b; SameSite=none", "a=b; SameSite=None"},
        {"a=b; Max-Age=-9223372036854775808", "a=b; Max-Age=-9223372036854775808"},
        {NULL, NULL},
    };
    for (int i = 0; cases[i].in != NULL; ++i) {
        gw_set_cookie_t c;
        char out[512];
        assert_int_equal(gw_set_cookie_parse(cases[i].in, strlen(cases[i].in), &c), 0);
        size_t n = gw_set_cookie_format(&c, out, sizeof(out));
        assert_int_not_equal(n, 0);
        out[n] = '\0';
        assert_string_equal(out, cases[i].want);
        /* every smaller buffer fails, the exact size works */
        for (size_t cap = 0; cap < n; ++cap) {
            char *small = malloc(cap == 0 ? 1 : cap);
            assert_int_equal(gw_set_cookie_format(&c, small, cap), 0);
            free(small);
        }
        char *exact = malloc(n);
        assert_int_equal(gw_set_cookie_format(&c, exact, n), n);
        assert_memory_equal(exact, out, n);
        free(exact);
    }
}

/* the gateway's use: cap a lifetime and re-emit */
static void
test_format_rewrite(void **state)
{
    const char *in = "_ga=GA1.2.3; Path=/; Domain=.example.com; Expires=Fri, 31 Dec 9999 23:59:59 GMT; Max-Age=63072000";
    gw_set_cookie_t c;
    char out[256];
    assert_int_equal(gw_set_cookie_parse(in, strlen(in), &c), 0);
    c.max_age = 0;
    c.expires = 0;
    c.secure = 1;
    size_t n = gw_set_cookie_format(&c, out, sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, "_ga=GA1.2.3; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Domain=example.com; Path=/; Secure");
    c.has_max_age = 0;
    c.expires = GW_COOKIE_NO_EXPIRES;
    c.domain_len = 0;
    n = gw_set_cookie_format(&c, out, sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, "_ga=GA1.2.3; Path=/; Secure");
}

static void
test_format_refuses(void **state)
{
    char out[8192];
    gw_set_cookie_t base, c;
    assert_int_equal(gw_set_cookie_parse(S("a=b; Path=/"), &base), 0);
    assert_int_not_equal(gw_set_cookie_format(&base, out, sizeof(out)), 0);
    struct {
        const char *name, *value, *domain, *path;
    } bad[] = {
        {"a=x", "b", NULL, NULL}, {"a;", "b", NULL, NULL},  {" a", "b", NULL, NULL},   {"a\t", "b", NULL, NULL},
        {"a", "b;c", NULL, NULL}, {"a", "b ", NULL, NULL},  {"a", "\x01", NULL, NULL}, {"a\x7f", "b", NULL, NULL},
        {"", "", NULL, NULL},     {"a", "b", "x;y", NULL},  {"a", "b", "x ", NULL},    {"a", "b", NULL, "nope"},
        {"a", "b", NULL, "/\n"},  {NULL, NULL, NULL, NULL},
    };
    for (int i = 0; bad[i].name != NULL; ++i) {
        c = base;
        c.name = bad[i].name, c.name_len = strlen(bad[i].name);
        c.value = bad[i].value, c.value_len = strlen(bad[i].value);
        if (bad[i].domain)
            c.domain = bad[i].domain, c.domain_len = strlen(bad[i].domain);
        if (bad[i].path)
            c.path = bad[i].path, c.path_len = strlen(bad[i].path);
        if (gw_set_cookie_format(&c, out, sizeof(out)) != 0)
            fail_msg("case %d formatted", i);
    }
    /* out-of-range expires, invalid SameSite */
    c = base;
    c.expires = 253402300800LL;
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c = base;
    c.same_site = 9;
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c.same_site = GW_COOKIE_SAMESITE_STRICT + 1; /* the first value past the enum */
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    /* name + value over the cap; domain over the attribute cap (with the extra dot) */
    static char big[GW_COOKIE_MAX_NAME_VALUE + 2];
    memset(big, 'v', sizeof(big));
    c = base;
    c.value = big, c.value_len = GW_COOKIE_MAX_NAME_VALUE;
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c.value_len = GW_COOKIE_MAX_NAME_VALUE - 1;
    assert_int_not_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c = base;
    big[0] = '.';
    c.domain = big, c.domain_len = GW_COOKIE_MAX_ATTR_VALUE;
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c.domain_len = GW_COOKIE_MAX_ATTR_VALUE - 1;
    assert_int_not_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    /* a path over the attribute cap (the parser would ignore it: the default path, not this one) */
    c = base;
    big[0] = '/';
    c.path = big, c.path_len = GW_COOKIE_MAX_ATTR_VALUE + 1;
    assert_int_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
    c.path_len = GW_COOKIE_MAX_ATTR_VALUE;
    assert_int_not_equal(gw_set_cookie_format(&c, out, sizeof(out)), 0);
}

/* the names a blank-splitting parser would find inside a value, joined with '|' */
static const char *
hidden_names(const char *v)
{
    static char out[256];
    size_t pos = 0, n = 0, len;
    const char *name;
    out[0] = '\0';
    while (gw_cookie_value_next_name(v, strlen(v), &pos, &name, &len)) {
        assert_true(len != 0 && name >= v && name + len <= v + strlen(v) && pos <= strlen(v));
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n != 0 ? "|" : "", (int)len, name);
    }
    return out;
}

static void
test_value_hidden_names(void **state)
{
    assert_string_equal(hidden_names(""), "");
    assert_string_equal(hidden_names("GA1.2.3"), "");
    assert_string_equal(hidden_names("hello world"), ""); /* a blank, but no name=value after it */
    assert_string_equal(hidden_names("1 _ga=GA1.2"), "_ga");
    assert_string_equal(hidden_names("1\t_fbp=fb.1  _gid=x=y"), "_fbp|_gid");
    assert_string_equal(hidden_names("a=b c=d"), "c"); /* the first '=' is the pair's own: only names after a blank */
    assert_string_equal(hidden_names("1 =x"), "");     /* no name */
    assert_string_equal(hidden_names("1 "), "");
    assert_string_equal(hidden_names(" lead=1"), "lead");
    /* parsers that split on commas too (Rack before 3, RFC 2965 ones) */
    assert_string_equal(hidden_names("1,_ga=GA1.2"), "_ga");
    assert_string_equal(hidden_names("1, _fbp=fb.1,x"), "_fbp");
    assert_string_equal(hidden_names("a,b,c"), "");
    assert_string_equal(hidden_names("x=1,y=2"), "y");
    /* every prefix (a value cut anywhere): names found lie inside it, and a name needs its '=' */
    static const char v[] = "1 _ga=GA1.2\t_gid=x y=";
    for (size_t cut = 0; cut <= sizeof(v) - 1; ++cut) {
        size_t pos = 0, len;
        const char *name;
        while (gw_cookie_value_next_name(v, cut, &pos, &name, &len))
            assert_true(name + len < v + cut && name[len] == '=' && pos <= cut);
        assert_int_equal(pos, cut);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_hidden_names),
        cmocka_unit_test(test_iter_table),
        cmocka_unit_test(test_iter_prefixes),
        cmocka_unit_test(test_iter_caps),
        cmocka_unit_test(test_every_control_byte_everywhere),
        cmocka_unit_test(test_iter_many),
        cmocka_unit_test(test_date_table),
        cmocka_unit_test(test_http_date_format),
        cmocka_unit_test(test_set_cookie_table),
        cmocka_unit_test(test_set_cookie_prefixes),
        cmocka_unit_test(test_set_cookie_caps),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_format_exact),
        cmocka_unit_test(test_format_rewrite),
        cmocka_unit_test(test_format_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
