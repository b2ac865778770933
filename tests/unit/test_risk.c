/*
 * Unit tests for filters/risk.c: host normalisation (case, trailing dot, IDN/punycode
 * checked against the Public Suffix List's official test cases, IPv4 forms, IPv6), the
 * four list formats on real lists (URLhaus: CC0; uBlock badware: GPLv3; copies and their
 * licence lines in tests/data/risk/), public-suffix edge cases, IP literals, URL entries,
 * allow-list override and action precedence, malformed lines with their line numbers,
 * edits, serialisation round trips, atomic files and the writer helpers, and a set of a
 * large list (its own Bloom filter) and small ones (the set's shared filter) against a
 * plain sorted-array reference.
 * Tests run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpsl.h>
#include "qsbr.h"
#include "risk.h"

#define DATA "tests/data/risk/"

static char *
slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static gw_risk_list_t *
parse(const char *name, gw_list_format_t fmt, gw_risk_action_t action, const char *text, gw_risk_report_t *rep)
{
    gw_risk_list_t *l = gw_risk_list_parse(name, fmt, action, text, strlen(text), rep);
    assert_non_null(l);
    return l;
}

static gw_risk_set_t *
set_of(size_t n, ...)
{
    gw_risk_list_t *lists[GW_RISK_MAX_LISTS];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i != n; ++i)
        lists[i] = va_arg(ap, gw_risk_list_t *);
    va_end(ap);
    gw_risk_set_t *s = gw_risk_set_new(lists, n);
    assert_non_null(s);
    return s;
}

/* "clean", or "<action>:<list>:<matched>"; "invalid" when the host is rejected */
static const char *
verdict(const gw_risk_set_t *s, const char *host, const char *path)
{
    static char buf[512];
    gw_risk_verdict_t v;
    int rc = gw_risk_check(s, host, strlen(host), path, path ? strlen(path) : 0, &v);
    if (rc < 0) {
        assert_int_equal(v.listed, 0);
        return "invalid";
    }
    assert_int_equal(rc, v.listed);
    if (!v.listed)
        return "clean";
    assert_int_equal(strlen(v.matched), v.matched_len);
    snprintf(buf, sizeof(buf), "%s:%s:%s", gw_risk_action_name(v.action), v.list, v.matched);
    return buf;
}

/* ---- normalisation ---------------------------------------------------------------------- */

static const struct {
    const char *in;
    int flags;
    const char *out; /* NULL: rejected */
    gw_risk_host_kind_t kind;
} norm_cases[] = {
    {"Example.COM", 0, "example.com", GW_RISK_HOST_NAME},
    {"example.com.", 0, "example.com", GW_RISK_HOST_NAME},
    {"example.com..", 0, NULL, 0},
    {".example.com", 0, NULL, 0},
    {"a..b", 0, NULL, 0},
    {".", 0, NULL, 0},
    {"", 0, NULL, 0},
    {"localhost", 0, "localhost", GW_RISK_HOST_NAME},
    {"-a.example", 0, NULL, 0},
    {"a-.example", 0, NULL, 0},
    {"a--b.example", 0, "a--b.example", GW_RISK_HOST_NAME},
    {"-a.example", GW_RISK_NORM_LOOKUP, "-a.example", GW_RISK_HOST_NAME},
    {"x_x-askfollow-us.translate.goog", 0, "x_x-askfollow-us.translate.goog", GW_RISK_HOST_NAME},
    {"a*b.example", 0, NULL, 0},
    {"a*b.example", GW_RISK_NORM_LOOKUP, "a*b.example", GW_RISK_HOST_NAME},
    {"a b.example", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"a/b.example", GW_RISK_NORM_LOOKUP, NULL, 0},
    /* a URL's host is percent-decoded first, as browsers do; a list entry may not hold '%' */
    {"a%41.example", GW_RISK_NORM_LOOKUP, "aa.example", GW_RISK_HOST_NAME},
    {"ev%69l.example", GW_RISK_NORM_LOOKUP, "evil.example", GW_RISK_HOST_NAME},
    {"evil%2Eexample", GW_RISK_NORM_LOOKUP, "evil.example", GW_RISK_HOST_NAME},
    {"%65%76%69%6c.%65%78%61%6d%70%6c%65", GW_RISK_NORM_LOOKUP, "evil.example", GW_RISK_HOST_NAME},
    {"127.0.0.%32", GW_RISK_NORM_LOOKUP, "127.0.0.2", GW_RISK_HOST_IPV4},
    {"%C3%A9t%C3%A9.example", GW_RISK_NORM_LOOKUP, "xn--t-9fab.example", GW_RISK_HOST_NAME}, /* UTF-8 escapes: IDNA after */
    {"a%41.example", 0, NULL, 0},
    {"a%4.example", GW_RISK_NORM_LOOKUP, NULL, 0}, /* not an escape: '%' stays, and is forbidden */
    {"a%zz.example", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"a%2F.example", GW_RISK_NORM_LOOKUP, NULL, 0}, /* decodes to a forbidden '/' */
    {"a%00.example", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"a%", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"user@example.com", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"example.com:8080", GW_RISK_NORM_LOOKUP, NULL, 0},
    /* 63-byte labels pass, 64 fail */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", 0,
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", GW_RISK_HOST_NAME},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", 0, NULL, 0},
    /* IDN: upper case, Unicode, punycode, fullwidth (NFKC), ideographic full stop, soft hyphen */
    {"BÜCHER.example", 0, "xn--bcher-kva.example", GW_RISK_HOST_NAME},
    {"bücher.example", 0, "xn--bcher-kva.example", GW_RISK_HOST_NAME},
    {"XN--BCHER-KVA.Example.", 0, "xn--bcher-kva.example", GW_RISK_HOST_NAME},
    {"\xef\xbc\xa5\xef\xbc\xb8\xef\xbc\xa1\xef\xbc\xad\xef\xbc\xb0\xef\xbc\xac\xef\xbc\xa5\xef\xbc\x8e"
     "com",
     0, "example.com", GW_RISK_HOST_NAME},
    {"b\xc3\xbc"
     "cher\xe3\x80\x82"
     "example",
     0, "xn--bcher-kva.example", GW_RISK_HOST_NAME},
    {"ex\xc2\xad"
     "ample.com",
     0, "example.com", GW_RISK_HOST_NAME},
    {"m\xc3\xbcnchen.de", 0, "xn--mnchen-3ya.de", GW_RISK_HOST_NAME},
    {"fa\xc3\x9f.de", 0, "xn--fa-hia.de", GW_RISK_HOST_NAME}, /* IDNA2008: ß is kept, not mapped to ss */
    /* lower case + NFKC repeated to a fixed point: U+03D3 -> U+038E (a capital) -> U+03CD */
    {"\xcf\x93.example", 0, "xn--fya.example", GW_RISK_HOST_NAME},
    {"\xcf\x8d.example", 0, "xn--fya.example", GW_RISK_HOST_NAME},
    /* an ignored U+034F between o and U+030F does not block their composition into U+020D */
    {"o\xcd\x8f\xcc\x8f.example", 0, "xn--mla.example", GW_RISK_HOST_NAME},
    {"\xc8\x8d.example", 0, "xn--mla.example", GW_RISK_HOST_NAME},
    {"\xcd\x8f.example", 0, NULL, 0},                       /* only an ignored code point: an empty label */
    {"\xff.example", GW_RISK_NORM_LOOKUP, NULL, 0},         /* invalid UTF-8 */
    {"\xed\xa0\x80.example", GW_RISK_NORM_LOOKUP, NULL, 0}, /* surrogate */
    {"\xc0\xae.example", GW_RISK_NORM_LOOKUP, NULL, 0},     /* overlong '.' */
    /* IPv4 in every WHATWG form, IPv6 */
    {"1.2.3.4", 0, "1.2.3.4", GW_RISK_HOST_IPV4},
    {"1.2.3.4.", 0, "1.2.3.4", GW_RISK_HOST_IPV4},
    {"0x7f.1", 0, "127.0.0.1", GW_RISK_HOST_IPV4},
    {"2130706433", 0, "127.0.0.1", GW_RISK_HOST_IPV4},
    {"0177.0.0.01", 0, "127.0.0.1", GW_RISK_HOST_IPV4},
    {"0X7F000001", 0, "127.0.0.1", GW_RISK_HOST_IPV4},
    {"1.2.65535", 0, "1.2.255.255", GW_RISK_HOST_IPV4},
    {"4294967295", 0, "255.255.255.255", GW_RISK_HOST_IPV4},
    {"0.100.0x0a.0143", 0, "0.100.10.99", GW_RISK_HOST_IPV4}, /* one-, two- and three-digit bytes, zeros inside */
    {"0x6400a01", 0, "6.64.10.1", GW_RISK_HOST_IPV4},
    {"\xef\xbc\x91.2.3.4", 0, "1.2.3.4", GW_RISK_HOST_IPV4}, /* fullwidth digit one */
    {"256.1.1.1", 0, NULL, 0},
    {"1.2.3.256", 0, NULL, 0}, /* the last part too large for the bytes it stands for (WHATWG: failure) */
    {"1.2.65536", 0, NULL, 0},
    {"1.16777216", 0, NULL, 0},
    {"1.2.3.4.5", 0, NULL, 0},
    {"4294967296", 0, NULL, 0},
    {"08.1.1.1", 0, NULL, 0},
    {"example.123", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"example.0x1f", GW_RISK_NORM_LOOKUP, NULL, 0},
    {"123.example", 0, "123.example", GW_RISK_HOST_NAME},
    {"2001:DB8:0:0::1", 0, "2001:db8::1", GW_RISK_HOST_IPV6},
    {"[2001:db8::1]", 0, "2001:db8::1", GW_RISK_HOST_IPV6},
    {"[::ffff:1.2.3.4]", 0, "1.2.3.4", GW_RISK_HOST_IPV4}, /* IPv4-mapped: the IPv4 host a connection reaches */
    {"[::FFFF:0a01:0203]", GW_RISK_NORM_LOOKUP, "10.1.2.3", GW_RISK_HOST_IPV4},
    {"[::1.2.3.4]", 0, "::1.2.3.4", GW_RISK_HOST_IPV6}, /* IPv4-compatible is not mapped: a v6 destination */
    {"[fe80::1%eth0]", 0, NULL, 0},
    {"[1.2.3.4]", 0, NULL, 0},
    {"[2001:db8::1", 0, NULL, 0},
    {NULL, 0, NULL, 0} /* end of list */
};

static void
test_normalize(void **state)
{
    for (size_t i = 0; norm_cases[i].in != NULL; ++i) {
        char out[GW_RISK_HOST_MAX + 1], again[GW_RISK_HOST_MAX + 1];
        gw_risk_host_kind_t kind, kind2;
        int n = gw_risk_normalize_host(norm_cases[i].in, strlen(norm_cases[i].in), norm_cases[i].flags, out, &kind);
        if (norm_cases[i].out == NULL) {
            if (n >= 0)
                fail_msg("%s: accepted as %s", norm_cases[i].in, out);
            continue;
        }
        if (n < 0)
            fail_msg("%s: rejected", norm_cases[i].in);
        assert_string_equal(out, norm_cases[i].out);
        assert_int_equal((size_t)n, strlen(out));
        assert_int_equal(kind, norm_cases[i].kind);
        /* a fixed point */
        assert_int_equal(gw_risk_normalize_host(out, (size_t)n, norm_cases[i].flags, again, &kind2), n);
        assert_string_equal(again, out);
        assert_int_equal(kind2, kind);
    }
    /* an embedded NUL */
    char out[GW_RISK_HOST_MAX + 1];
    assert_int_equal(gw_risk_normalize_host("a\0b.example", 11, GW_RISK_NORM_LOOKUP, out, NULL), -1);
    assert_int_equal(gw_risk_normalize_host(NULL, 0, 0, out, NULL), -1);
}

static void
test_normalize_length_limits(void **state)
{
    char host[400], out[GW_RISK_HOST_MAX + 1];
    /* 4 x 63-byte labels + 3 dots = 255 > 253: rejected; 253 accepted */
    memset(host, 'a', sizeof(host));
    host[63] = host[127] = host[191] = '.';
    assert_int_equal(gw_risk_normalize_host(host, 255, 0, out, NULL), -1);
    host[251] = '.'; /* labels of 63, 63, 63, 59 and 1 bytes: 253 */
    assert_int_equal(gw_risk_normalize_host(host, 253, 0, out, NULL), 253);
    assert_int_equal(gw_risk_normalize_host(host, 254, 0, out, NULL), -1); /* 254th byte is 'a' */
    memcpy(host + 253, ".", 1);                                            /* trailing dot: still 253 */
    assert_int_equal(gw_risk_normalize_host(host, 254, 0, out, NULL), 253);
}

/* test_psl.txt: checkPublicSuffix('input', 'expected') lines */
typedef struct st_psl_case_t {
    char in[128], exp[128];
    int in_null, exp_null;
} psl_case_t;

static size_t
load_psl_cases(psl_case_t *cases, size_t cap)
{
    size_t len, n = 0;
    char *text = slurp(DATA "test_psl.txt", &len), *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *a, *b;
        if (strncmp(line, "checkPublicSuffix(", 18) != 0)
            continue;
        assert_true(n < cap);
        psl_case_t *c = &cases[n++];
        memset(c, 0, sizeof(*c));
        a = line + 18;
        c->in_null = strncmp(a, "null", 4) == 0;
        if (!c->in_null) {
            b = strchr(a + 1, '\'');
            snprintf(c->in, sizeof(c->in), "%.*s", (int)(b - a - 1), a + 1);
            a = b + 1;
        } else {
            a += 4;
        }
        a = strchr(a, ',') + 2;
        c->exp_null = strncmp(a, "null", 4) == 0;
        if (!c->exp_null) {
            b = strchr(a + 1, '\'');
            snprintf(c->exp, sizeof(c->exp), "%.*s", (int)(b - a - 1), a + 1);
        }
    }
    free(text);
    return n;
}

/* the IDN cases of the official file are listed twice, in Unicode and punycoded: they must normalise alike */
static void
test_psl_idn_cases(void **state)
{
    psl_case_t cases[200];
    size_t n = load_psl_cases(cases, 200), first_uni = SIZE_MAX, first_puny = SIZE_MAX, pairs = 0;
    for (size_t i = 0; i != n; ++i) {
        if (cases[i].in_null)
            continue;
        if (first_uni == SIZE_MAX && (unsigned char)cases[i].in[0] >= 0x80)
            first_uni = i;
        if (first_puny == SIZE_MAX && strncmp(cases[i].in, "xn--", 4) == 0)
            first_puny = i;
    }
    assert_true(first_uni != SIZE_MAX && first_puny != SIZE_MAX && first_uni < first_puny);
    for (size_t i = first_uni, j = first_puny; i != first_puny && j != n; ++i, ++j, ++pairs) {
        char a[GW_RISK_HOST_MAX + 1], b[GW_RISK_HOST_MAX + 1];
        assert_true(gw_risk_normalize_host(cases[i].in, strlen(cases[i].in), 0, a, NULL) > 0);
        assert_true(gw_risk_normalize_host(cases[j].in, strlen(cases[j].in), 0, b, NULL) > 0);
        assert_string_equal(a, b);
        if (!cases[i].exp_null) {
            assert_true(gw_risk_normalize_host(cases[i].exp, strlen(cases[i].exp), 0, a, NULL) > 0);
            assert_string_equal(a, cases[j].exp);
        }
    }
    assert_int_equal(pairs, 9);
}

/*
 * Every official case as a risk list: the registrable domain listed blocks the input (and
 * reports that entry); an input that has none is a public suffix (flagged as such when
 * listed) or, with a leading dot, not a host at all.
 */
static void
test_psl_cases_as_lists(void **state)
{
    psl_case_t cases[200];
    size_t n = load_psl_cases(cases, 200), checked = 0;
    assert_int_equal(n, 78);
    for (size_t i = 0; i != n; ++i) {
        psl_case_t *c = &cases[i];
        char norm[GW_RISK_HOST_MAX + 1];
        gw_risk_report_t rep;
        gw_risk_verdict_t v;
        if (c->in_null)
            continue;
        if (c->in[0] == '.') {
            assert_int_equal(gw_risk_check(NULL, c->in, strlen(c->in), NULL, 0, &v), -1);
            continue;
        }
        const char *entry = c->exp_null ? c->in : c->exp;
        gw_risk_list_t *l = parse("psl", GW_FMT_DOMAINS, GW_RISK_BLOCK, entry, &rep);
        assert_int_equal(rep.entries, 1);
        gw_risk_set_t *s = set_of(1, l);
        assert_int_equal(gw_risk_check(s, c->in, strlen(c->in), "/", 1, &v), 1);
        assert_true(gw_risk_normalize_host(entry, strlen(entry), 0, norm, NULL) > 0);
        assert_string_equal(v.matched, norm);
        assert_int_equal(v.matched_is_suffix, c->exp_null);
        /* a sibling under the same suffix is not blocked by the registrable domain */
        if (!c->exp_null) {
            char sib[300];
            snprintf(sib, sizeof(sib), "zz-sibling%s", strchr(norm, '.'));
            assert_int_equal(gw_risk_check(s, sib, strlen(sib), "/", 1, &v), 0);
        }
        gw_risk_set_free(s);
        ++checked;
    }
    assert_true(checked > 70);
}

/*
 * The suffix flag agrees with libpsl (psl_latest(), the same list as the rule file read by
 * risk.c) on every rule of the list, a child of it and its parent, for wildcard and
 * exception rules included.
 */
static void
test_suffix_flag_matches_libpsl(void **state)
{
    FILE *f = fopen(psl_builtin_filename(), "r");
    psl_ctx_t *psl = psl_latest(NULL);
    char line[1024], *text = malloc(4 << 20);
    size_t len = 0, checked = 0, suffixes = 0;
    if (f == NULL || psl == NULL)
        skip();
    assert_non_null(text);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *r = line;
        r[strcspn(r, " \t\r\n")] = '\0';
        if (r[0] == '\0' || (r[0] == '/' && r[1] == '/'))
            continue;
        if (r[0] == '!' || r[0] == '*')
            r += r[0] == '!' ? 1 : 2;
        const char *dot = strchr(r, '.');
        len += (size_t)sprintf(text + len, "%s\nzz-child.%s\n%s\n", r, r, dot ? dot + 1 : r);
    }
    fclose(f);
    gw_risk_report_t rep;
    gw_risk_set_t *s = set_of(1, gw_risk_list_parse("psl", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, len, &rep));
    assert_true(rep.entries > 15000);
    for (char *save = NULL, *h = strtok_r(text, "\n", &save); h != NULL; h = strtok_r(NULL, "\n", &save)) {
        char norm[GW_RISK_HOST_MAX + 1];
        gw_risk_verdict_t v;
        if (gw_risk_normalize_host(h, strlen(h), 0, norm, NULL) < 0 || strchr(norm, '.') == NULL)
            continue; /* single labels are flagged by definition (a whole TLD) */
        assert_int_equal(gw_risk_check(s, norm, strlen(norm), NULL, 0, &v), 1);
        assert_string_equal(v.matched, norm);
        int want = psl_is_public_suffix2(psl, norm, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
        if (v.matched_is_suffix != want)
            fail_msg("%s: flagged %d, libpsl says %d", norm, v.matched_is_suffix, want);
        ++checked, suffixes += (size_t)want;
    }
    print_message("%zu names checked against libpsl, %zu public suffixes\n", checked, suffixes);
    assert_true(checked > 19000 && suffixes > 8000);
    gw_risk_set_free(s);
    free(text);
    psl_free(psl);
}

/* ---- suffix matching --------------------------------------------------------------------- */

static void
test_suffix_matching(void **state)
{
    gw_risk_set_t *s =
        set_of(1, parse("sec", GW_FMT_DOMAINS, GW_RISK_BLOCK, "evil.github.io\nexample.co.uk\ncorp\nbad.example\n", NULL));
    /* a listed private-suffix subdomain blocks itself and below, never its siblings or the suffix */
    assert_string_equal(verdict(s, "evil.github.io", NULL), "block:sec:evil.github.io");
    assert_string_equal(verdict(s, "a.b.evil.github.io", NULL), "block:sec:evil.github.io");
    assert_string_equal(verdict(s, "good.github.io", NULL), "clean");
    assert_string_equal(verdict(s, "github.io", NULL), "clean");
    assert_string_equal(verdict(s, "notevil.github.io", NULL), "clean");
    assert_string_equal(verdict(s, "evil.github.io.evil", NULL), "clean");
    /* co.uk */
    assert_string_equal(verdict(s, "example.co.uk", NULL), "block:sec:example.co.uk");
    assert_string_equal(verdict(s, "www.example.co.uk", NULL), "block:sec:example.co.uk");
    assert_string_equal(verdict(s, "WWW.Example.CO.UK.", NULL), "block:sec:example.co.uk");
    assert_string_equal(verdict(s, "other.co.uk", NULL), "clean");
    assert_string_equal(verdict(s, "co.uk", NULL), "clean");
    assert_string_equal(verdict(s, "myexample.co.uk", NULL), "clean"); /* label boundary, not a string suffix */
    /* single label entry */
    assert_string_equal(verdict(s, "corp", NULL), "block:sec:corp");
    assert_string_equal(verdict(s, "intranet.corp", NULL), "block:sec:corp");
    assert_string_equal(verdict(s, "corp.example", NULL), "clean");
    assert_string_equal(verdict(s, "badexample", NULL), "clean");
    assert_string_equal(verdict(s, "x.bad.example", "/any?q"), "block:sec:bad.example");
    gw_risk_verdict_t v;
    assert_int_equal(gw_risk_check(s, "intranet.corp", 13, NULL, 0, &v), 1);
    assert_int_equal(v.matched_is_suffix, 1);
    assert_int_equal(gw_risk_check(s, "www.example.co.uk", 17, NULL, 0, &v), 1);
    assert_int_equal(v.matched_is_suffix, 0);
    gw_risk_list_info_t info;
    gw_risk_list_info(gw_risk_set_list(s, 0), &info);
    assert_int_equal(info.entries, 4);
    assert_int_equal(info.suffix_entries, 1);
    gw_risk_set_free(s);

    /* a list that names a public suffix explicitly covers everything under it */
    s = set_of(1, parse("wide", GW_FMT_DOMAINS, GW_RISK_WARN, "github.io\nuk\n", NULL));
    assert_string_equal(verdict(s, "good.github.io", NULL), "warn:wide:github.io");
    assert_string_equal(verdict(s, "www.example.co.uk", NULL), "warn:wide:uk");
    gw_risk_list_info(gw_risk_set_list(s, 0), &info);
    assert_int_equal(info.suffix_entries, 2);
    gw_risk_set_free(s);
}

static void
test_idn_entries(void **state)
{
    gw_risk_set_t *s = set_of(1, parse("idn", GW_FMT_DOMAINS, GW_RISK_BLOCK, "BÜCHER.example\nxn--85x722f.com.cn\n", NULL));
    assert_string_equal(verdict(s, "bücher.example", NULL), "block:idn:xn--bcher-kva.example");
    assert_string_equal(verdict(s, "WWW.BÜCHER.EXAMPLE.", NULL), "block:idn:xn--bcher-kva.example");
    assert_string_equal(verdict(s, "shop.xn--bcher-kva.example", NULL), "block:idn:xn--bcher-kva.example");
    assert_string_equal(verdict(s, "www.食狮.com.cn", NULL), "block:idn:xn--85x722f.com.cn");
    assert_string_equal(verdict(s, "buecher.example", NULL), "clean");
    assert_string_equal(verdict(s, "b\xc3\xbc\xff.example", NULL), "invalid");
    gw_risk_set_free(s);
}

static void
test_ip_literals(void **state)
{
    gw_risk_set_t *s =
        set_of(1, parse("ip", GW_FMT_DOMAINS, GW_RISK_BLOCK, "1.2.3.4\n2001:DB8::1\n[2001:db8::2]\n10.0.0.0\n", NULL));
    assert_string_equal(verdict(s, "1.2.3.4", NULL), "block:ip:1.2.3.4");
    assert_string_equal(verdict(s, "0x01020304", NULL), "block:ip:1.2.3.4");
    assert_string_equal(verdict(s, "16909060", NULL), "block:ip:1.2.3.4");
    assert_string_equal(verdict(s, "1.2.3.4.", NULL), "block:ip:1.2.3.4");
    assert_string_equal(verdict(s, "1.2.3.5", NULL), "clean");
    assert_string_equal(verdict(s, "[2001:db8:0::1]", NULL), "block:ip:2001:db8::1");
    assert_string_equal(verdict(s, "2001:db8::2", NULL), "block:ip:2001:db8::2");
    assert_string_equal(verdict(s, "[2001:db8::3]", NULL), "clean");
    /* IP entries match the address only: no "parent" of an address */
    assert_string_equal(verdict(s, "10.0.0.1", NULL), "clean");
    assert_string_equal(verdict(s, "x.1.2.3.4", NULL), "invalid");
    assert_string_equal(verdict(s, "4.3.2.1", NULL), "clean");
    gw_risk_list_info_t info;
    gw_risk_list_info(gw_risk_set_list(s, 0), &info);
    assert_int_equal(info.ips, 4);
    assert_int_equal(info.hosts, 0);
    gw_risk_set_free(s);
}

/* a list skips the levels no entry of it has the label count of: every count still finds its entries */
static void
test_label_counts(void **state)
{
    char deep[256], deeper[260], text[1024];
    size_t n = 0;
    /* 66 labels (past the 63 the per-list count mask tells apart) and 67 with one more in front */
    for (int i = 0; i != 64; ++i)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "l%d.", i % 10);
    snprintf(deep + n, sizeof(deep) - n, "example.com");
    snprintf(deeper, sizeof(deeper), "x.%s", deep);
    snprintf(text, sizeof(text), "uk\nfive.four.three.example.org\n%s\n192.0.2.7\n", deep);
    gw_risk_set_t *s = set_of(2, parse("mixed", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, NULL),
                              parse("two", GW_FMT_DOMAINS, GW_RISK_WARN, "example.net\n", NULL));
    char want[512];
    assert_string_equal(verdict(s, "a.b.c.uk", NULL), "block:mixed:uk");
    assert_string_equal(verdict(s, "uk", NULL), "block:mixed:uk");
    assert_string_equal(verdict(s, "x.y.five.four.three.example.org", NULL), "block:mixed:five.four.three.example.org");
    assert_string_equal(verdict(s, "four.three.example.org", NULL), "clean");
    assert_string_equal(verdict(s, "192.0.2.7", NULL), "block:mixed:192.0.2.7");
    assert_string_equal(verdict(s, "192.0.2.8", NULL), "clean");
    snprintf(want, sizeof(want), "block:mixed:%s", deep);
    assert_string_equal(verdict(s, deep, NULL), want);
    assert_string_equal(verdict(s, deeper, NULL), want);
    assert_string_equal(verdict(s, deep + 3, NULL), "clean"); /* 65 labels: a parent of the entry, not a child */
    assert_string_equal(verdict(s, "www.example.net", NULL), "warn:two:example.net");
    assert_string_equal(verdict(s, "example.net", NULL), "warn:two:example.net");
    assert_string_equal(verdict(s, "net", NULL), "clean");
    gw_risk_set_free(s);
}

/* a list with far fewer entries than lines (duplicates) is shrunk to fit once parsed; every entry still found */
static void
test_table_shrinks(void **state)
{
    size_t cap = 20000 * 24, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i != 20000; ++i) /* 200 names, each 100 times */
        len += (size_t)snprintf(text + len, cap - len, "n%d.example\n", i % 200);
    gw_risk_report_t rep;
    gw_risk_list_info_t big, small;
    gw_risk_list_t *dup = parse("dup", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, &rep);
    assert_int_equal(rep.entries, 200);
    assert_int_equal(rep.duplicates, 20000 - 200);
    len = 0;
    for (int i = 0; i != 200; ++i)
        len += (size_t)snprintf(text + len, cap - len, "n%d.example\n", i);
    gw_risk_list_t *exact = parse("exact", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, NULL);
    gw_risk_list_info(dup, &big);
    gw_risk_list_info(exact, &small);
    /* no bigger than the list sized for its 200 entries from the start (unshrunk, its table would hold 26,684
     * slots of 12 bytes) */
    assert_true(big.memory_bytes <= small.memory_bytes);
    gw_risk_set_t *s = set_of(1, dup);
    char host[32], want[64];
    for (int i = 0; i != 200; ++i) {
        snprintf(host, sizeof(host), "www.n%d.example", i);
        snprintf(want, sizeof(want), "block:dup:n%d.example", i);
        assert_string_equal(verdict(s, host, NULL), want);
    }
    assert_string_equal(verdict(s, "n200.example", NULL), "clean");
    gw_risk_set_free(s);
    gw_risk_list_free(exact);
    free(text);
}

/* ---- a set of large and small lists against a reference ------------------------------- */

typedef struct {
    const char *name;
    gw_risk_action_t action;
    char **entries; /* sorted */
    size_t n;
} ref_list_t;

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t ref_rng = 0x2545f4914f6cdd1dull;

static uint64_t
ref_rnd(void)
{
    ref_rng ^= ref_rng << 13, ref_rng ^= ref_rng >> 7, ref_rng ^= ref_rng << 17;
    return ref_rng;
}

/* a random name of 1-3 labels under one of a few suffixes (some of them multi-label public suffixes) */
static void
ref_name(char *out, size_t cap)
{
    static const char *const sfx[] = {"com", "net", "co.uk", "github.io", "de", "example"};
    size_t n = 0, labels = 1 + ref_rnd() % 3;
    for (size_t l = 0; l != labels; ++l) {
        size_t len = 1 + ref_rnd() % 9;
        for (size_t k = 0; k != len; ++k)
            out[n++] = "abcdefghijklmnopqrstuvwxyz0123456789"[ref_rnd() % 36];
        out[n++] = '.';
    }
    snprintf(out + n, cap - n, "%s", sfx[ref_rnd() % 6]);
}

static char *
ref_text(ref_list_t *r, size_t n, int with_ips)
{
    size_t cap = n * 48 + 16, len = 0;
    char *text = malloc(cap), name[64];
    assert_non_null(text);
    r->entries = calloc(n, sizeof(*r->entries));
    assert_non_null(r->entries);
    for (size_t i = 0; i != n; ++i) {
        if (with_ips && i % 10 == 0)
            snprintf(name, sizeof(name), "10.%u.%u.%u", (unsigned)(ref_rnd() % 256), (unsigned)(ref_rnd() % 256),
                     (unsigned)(ref_rnd() % 256));
        else
            ref_name(name, sizeof(name));
        len += (size_t)snprintf(text + len, cap - len, "%s\n", name);
        r->entries[i] = strdup(name);
    }
    qsort(r->entries, n, sizeof(*r->entries), cmp_str);
    size_t k = 0; /* drop duplicates, as the list does */
    for (size_t i = 0; i != n; ++i) {
        if (k != 0 && strcmp(r->entries[k - 1], r->entries[i]) == 0)
            free(r->entries[i]);
        else
            r->entries[k++] = r->entries[i];
    }
    r->n = k;
    return text;
}

/* the generated addresses are the only names that end in a digit */
static int
ref_is_ip(const char *name)
{
    return isdigit((unsigned char)name[strlen(name) - 1]);
}

static int
ref_has(const ref_list_t *r, const char *name)
{
    return bsearch(&name, r->entries, r->n, sizeof(*r->entries), cmp_str) != NULL;
}

/* what the engine must answer: lists by precedence (allow, block, warn, monitor; then set order), in each the
 * longest listed suffix at a label boundary (an address: itself only) */
static const char *
ref_verdict(const ref_list_t *refs, size_t nrefs, const char *host)
{
    static char buf[512];
    static const gw_risk_action_t rank[] = {GW_RISK_ALLOW, GW_RISK_BLOCK, GW_RISK_WARN, GW_RISK_MONITOR};
    int is_ip = ref_is_ip(host);
    for (size_t k = 0; k != 4; ++k) {
        for (size_t i = 0; i != nrefs; ++i) {
            if (refs[i].action != rank[k])
                continue;
            for (const char *p = host; p != NULL; p = is_ip ? NULL : strchr(p, '.')) {
                if (*p == '.')
                    ++p;
                if (ref_has(&refs[i], p)) {
                    snprintf(buf, sizeof(buf), "%s:%s:%s", gw_risk_action_name(refs[i].action), refs[i].name, p);
                    return buf;
                }
            }
        }
    }
    return "clean";
}

/* a list large enough for a Bloom filter of its own (>= 64K entries), two small ones (the set's shared filter), an
 * allow list: every entry, a subdomain of every entry and as many fresh names answer as a plain reference does */
static void
test_lists_vs_reference(void **state)
{
    ref_list_t refs[4] = {{"big", GW_RISK_BLOCK, NULL, 0},
                          {"small", GW_RISK_WARN, NULL, 0},
                          {"ips", GW_RISK_MONITOR, NULL, 0},
                          {"allow", GW_RISK_ALLOW, NULL, 0}};
    const size_t sizes[4] = {70000, 600, 300, 40};
    gw_risk_list_t *lists[4];
    for (size_t i = 0; i != 4; ++i) {
        char *text = ref_text(&refs[i], sizes[i], i == 2);
        gw_risk_report_t rep;
        lists[i] = parse(refs[i].name, GW_FMT_DOMAINS, refs[i].action, text, &rep);
        assert_int_equal(rep.rejected, 0);
        assert_int_equal(rep.entries, refs[i].n);
        free(text);
    }
    gw_risk_set_t *s = set_of(4, lists[0], lists[1], lists[2], lists[3]);
    char host[128], want[512];
    size_t listed = 0;
    for (size_t i = 0; i != 4; ++i) {
        for (size_t e = 0; e != refs[i].n; ++e) {
            const char *kinds[2] = {refs[i].entries[e], NULL};
            if (!ref_is_ip(refs[i].entries[e])) {
                snprintf(host, sizeof(host), "Sub%zu.%s", e % 7, refs[i].entries[e]); /* upper case: normalised */
                kinds[1] = host;
            }
            for (int k = 0; k != 2 && kinds[k] != NULL; ++k) {
                char lower[128];
                size_t n = strlen(kinds[k]);
                for (size_t c = 0; c <= n; ++c)
                    lower[c] = (char)tolower((unsigned char)kinds[k][c]);
                snprintf(want, sizeof(want), "%s", ref_verdict(refs, 4, lower));
                const char *got = verdict(s, kinds[k], NULL);
                if (strcmp(got, want) != 0)
                    fail_msg("%s: engine %s, reference %s", kinds[k], got, want);
                listed += strcmp(want, "clean") != 0;
            }
        }
    }
    for (size_t q = 0; q != 100000; ++q) { /* fresh names: mostly clean, some land on listed parents */
        ref_name(host, sizeof(host));
        snprintf(want, sizeof(want), "%s", ref_verdict(refs, 4, host));
        const char *got = verdict(s, host, NULL);
        if (strcmp(got, want) != 0)
            fail_msg("%s: engine %s, reference %s", host, got, want);
    }
    assert_true(listed > 70000);
    gw_risk_set_free(s);
    for (size_t i = 0; i != 4; ++i) {
        for (size_t e = 0; e != refs[i].n; ++e)
            free(refs[i].entries[e]);
        free(refs[i].entries);
    }
}

static void
test_precedence(void **state)
{
    gw_risk_list_t *mon = parse("mon", GW_FMT_DOMAINS, GW_RISK_MONITOR, "example.com\nm.example\n", NULL);
    gw_risk_list_t *warn = parse("warn", GW_FMT_DOMAINS, GW_RISK_WARN, "a.example.com\nw.example\nm.example\n", NULL);
    gw_risk_list_t *block = parse("block", GW_FMT_DOMAINS, GW_RISK_BLOCK, "b.a.example.com\nw.example\nfriend.example\n", NULL);
    gw_risk_list_t *block2 = parse("block2", GW_FMT_DOMAINS, GW_RISK_BLOCK, "w.example\n", NULL);
    gw_risk_list_t *allow = parse("allow", GW_FMT_URLS, GW_RISK_ALLOW, "friend.example\nw.example/safe\n", NULL);
    /* set order deliberately not the precedence order */
    gw_risk_set_t *s = set_of(5, mon, warn, block, allow, block2);
    assert_string_equal(verdict(s, "example.com", NULL), "monitor:mon:example.com");
    assert_string_equal(verdict(s, "x.a.example.com", NULL), "warn:warn:a.example.com");
    assert_string_equal(verdict(s, "b.a.example.com", NULL), "block:block:b.a.example.com");
    assert_string_equal(verdict(s, "m.example", NULL), "warn:warn:m.example");
    /* same action: the first list in set order */
    assert_string_equal(verdict(s, "w.example", NULL), "block:block:w.example");
    /* allow wins over everything, here a URL allow entry over a block entry of the host */
    assert_string_equal(verdict(s, "w.example", "/safe/page"), "allow:allow:w.example/safe");
    assert_string_equal(verdict(s, "w.example", "/unsafe"), "block:block:w.example");
    assert_string_equal(verdict(s, "friend.example", "/"), "allow:allow:friend.example/");
    /* the urls allow entry is host-exact: a subdomain is still blocked */
    assert_string_equal(verdict(s, "www.friend.example", "/"), "block:block:friend.example");
    gw_risk_verdict_t v;
    assert_int_equal(gw_risk_check(s, "w.example", 9, "/safe", 5, &v), 1);
    assert_int_equal(v.action, GW_RISK_ALLOW);
    assert_int_equal(v.list_index, 3);
    assert_int_equal(gw_risk_check(NULL, "w.example", 9, NULL, 0, &v), 0);
    gw_risk_set_free(s);

    gw_risk_set_t *empty = gw_risk_set_new(NULL, 0);
    assert_non_null(empty);
    assert_string_equal(verdict(empty, "example.com", NULL), "clean");
    gw_risk_set_free(empty);
}

static void
test_url_entries(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *u = parse("phish", GW_FMT_URLS, GW_RISK_BLOCK,
                              "example.com/phish/login\n"
                              "https://Files.Example.NET:8443/dl/Setup.exe?id=7#frag\n"
                              "http://[2001:db8::7]/x\n"
                              "whole.example\n"
                              "q.example?x=1\n"
                              "escaped.example/%7Emallory/\n"
                              "dots.example/a/../b/\n",
                              &rep);
    assert_int_equal(rep.entries, 7);
    assert_int_equal(rep.rejected, 0);
    gw_risk_set_t *s = set_of(1, u);
    assert_string_equal(verdict(s, "example.com", "/phish/login"), "block:phish:example.com/phish/login");
    assert_string_equal(verdict(s, "example.com", "/phish/login/step2"), "block:phish:example.com/phish/login");
    assert_string_equal(verdict(s, "example.com", "/phish/login.php?a=b"), "block:phish:example.com/phish/login");
    assert_string_equal(verdict(s, "example.com", "/PHISH/Login"), "block:phish:example.com/phish/login");
    assert_string_equal(verdict(s, "example.com", "/phish"), "clean");
    assert_string_equal(verdict(s, "example.com", "/"), "clean");
    assert_string_equal(verdict(s, "example.com", NULL), "clean");
    assert_string_equal(verdict(s, "www.example.com", "/phish/login"), "clean"); /* urls entries are host-exact */
    assert_string_equal(verdict(s, "files.example.net", "/dl/setup.exe?id=7"), "block:phish:files.example.net/dl/Setup.exe?id=7");
    assert_string_equal(verdict(s, "files.example.net", "/dl/setup.exe"), "clean");
    assert_string_equal(verdict(s, "2001:db8::7", "/x/y"), "block:phish:2001:db8::7/x");
    assert_string_equal(verdict(s, "whole.example", NULL), "block:phish:whole.example/");
    assert_string_equal(verdict(s, "whole.example", "/a/b"), "block:phish:whole.example/");
    assert_string_equal(verdict(s, "q.example", "/?x=1&y"), "block:phish:q.example/?x=1");
    /* entries are kept as a server reads their path, as the gateway's looked-up paths are (gw_url_path_normalize) */
    assert_string_equal(verdict(s, "escaped.example", "/~mallory/x.js"), "block:phish:escaped.example/~mallory/");
    assert_string_equal(verdict(s, "dots.example", "/b/c"), "block:phish:dots.example/b/");
    assert_string_equal(verdict(s, "dots.example", "/a/b/"), "clean");
    gw_risk_set_free(s);

    /* abp: `||host/path^` covers subdomains and needs a separator after the path */
    gw_risk_list_t *a = parse("abp", GW_FMT_ABP, GW_RISK_BLOCK,
                              "||amyuni.com/downloads/usbmmidd_v2.zip^$all\n"
                              "||01net.com/telecharger/$doc\n",
                              &rep);
    assert_int_equal(rep.entries, 2);
    assert_int_equal(rep.options_ignored, 2);
    s = set_of(1, a);
    assert_string_equal(verdict(s, "amyuni.com", "/downloads/usbmmidd_v2.zip"), "block:abp:amyuni.com/downloads/usbmmidd_v2.zip");
    assert_string_equal(verdict(s, "cdn.amyuni.com", "/downloads/usbmmidd_v2.zip?x"),
                        "block:abp:amyuni.com/downloads/usbmmidd_v2.zip");
    assert_string_equal(verdict(s, "amyuni.com", "/downloads/usbmmidd_v2.zip/"), "block:abp:amyuni.com/downloads/usbmmidd_v2.zip");
    assert_string_equal(verdict(s, "amyuni.com", "/downloads/usbmmidd_v2.zipx"), "clean");
    assert_string_equal(verdict(s, "amyuni.com", "/downloads/usbmmidd_v2.zip.sig"), "clean");
    assert_string_equal(verdict(s, "amyuni.com", "/"), "clean");
    assert_string_equal(verdict(s, "01net.com", "/telecharger/windows/x.html"), "block:abp:01net.com/telecharger/");
    assert_string_equal(verdict(s, "www.01net.com", "/telecharger/"), "block:abp:01net.com/telecharger/");
    assert_string_equal(verdict(s, "01net.com", "/actualites/"), "clean");
    gw_risk_set_free(s);
}

/*
 * Many URL entries on one host (URLhaus has 1,450 on github.com) are one group searched by
 * binary search and a prefix chain: compared here with a linear scan on nested, sibling,
 * case-variant and boundary paths, on the host itself and on a subdomain.
 */
static int
scan_match(const char *const *paths, const int *caret, size_t n, int sub_host, const char *req)
{
    size_t best = 0;
    int found = 0;
    for (size_t i = 0; i != n; ++i) {
        size_t pl = strlen(paths[i]);
        if (strlen(req) < pl || strncasecmp(paths[i], req, pl) != 0)
            continue;
        if (caret[i]) {
            char c = req[pl];
            if (c != '\0' && (isalnum((unsigned char)c) || strchr("_-.%", c) != NULL))
                continue;
        }
        (void)sub_host; /* abp entries cover subdomains: same answer */
        if (!found || pl > best)
            best = pl, found = 1;
    }
    return found ? (int)best : -1;
}

static void
test_url_groups_vs_scan(void **state)
{
    static const char *const parts[] = {"/a", "/A", "/ab", "/a/", "/a/b", "/a/b.c", "/b", "/a%2f", "/a?x=1", "/a/b/c/d", "/z"};
    const char *paths[400];
    int caret[400];
    char text[40000], store[400][64], req[128];
    size_t n = 0, len = 0, hits = 0;
    uint64_t x = 12345;
    for (size_t i = 0; i != 400; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(store[i], sizeof(store[i]), "%s%s%s", parts[(x >> 33) % 11], parts[(x >> 45) % 11],
                 (x >> 50) % 4 ? "" : parts[(x >> 55) % 11]);
        caret[n] = (x >> 20) % 2;
        paths[n++] = store[i];
        len += (size_t)sprintf(text + len, "||h.example%s%s\n", store[i], caret[n - 1] ? "^" : "");
    }
    gw_risk_report_t rep;
    gw_risk_set_t *s = set_of(1, gw_risk_list_parse("g", GW_FMT_ABP, GW_RISK_BLOCK, text, len, &rep));
    assert_int_equal(rep.rejected, 0);
    /* case-variant duplicates with the same caret are one entry: compare only the answers */
    for (size_t i = 0; i != 3000; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(req, sizeof(req), "%s%s%s%s", parts[(x >> 33) % 11], (x >> 40) % 2 ? parts[(x >> 45) % 11] : "",
                 (x >> 50) % 3 ? "" : parts[(x >> 55) % 11], (x >> 60) % 2 ? "x" : "");
        int want = scan_match(paths, caret, n, 0, req);
        gw_risk_verdict_t v;
        const char *host = (x >> 10) % 2 ? "h.example" : "sub.h.example";
        int rc = gw_risk_check(s, host, strlen(host), req, strlen(req), &v);
        if (rc != (want >= 0))
            fail_msg("%s%s: engine %d, scan %d", host, req, rc, want);
        if (rc == 1 && v.matched_len - strlen("h.example") != (size_t)want)
            fail_msg("%s%s: matched %s, scan's longest is %d bytes", host, req, v.matched, want);
        hits += rc == 1;
    }
    print_message("%zu of 3000 paths matched\n", hits);
    assert_true(hits > 500 && hits < 2900);
    gw_risk_set_free(s);
}

/* ---- formats on real lists --------------------------------------------------------------- */

static gw_risk_list_t *
load(const char *file, const char *name, gw_list_format_t fmt, gw_risk_action_t action, gw_risk_report_t *rep)
{
    gw_risk_list_t *l = NULL;
    char err[256] = "";
    if (gw_risk_list_load_file(file, name, fmt, action, &l, rep, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return l;
}

static void
test_abp_urlhaus(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = load(DATA "urlhaus-filter-online.txt", "urlhaus", GW_FMT_ABP, GW_RISK_BLOCK, &rep);
    gw_risk_list_info_t info;
    gw_risk_list_info(l, &info);
    /* 6 header lines; 2,908 bare host/IP lines; 3,346 `||host/path^$all` rules */
    assert_int_equal(rep.lines, 6260);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(rep.skipped, 0);
    assert_int_equal(rep.duplicates, 0);
    assert_int_equal(rep.options_ignored, 3346);
    assert_int_equal(rep.entries, 6254);
    assert_int_equal(info.ips, 2307);
    assert_int_equal(info.hosts, 602);
    assert_int_equal(info.urls, 3345 + 0);
    assert_int_equal(info.hosts + info.ips + info.urls, info.entries);
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "1.1.104.12", "/"), "block:urlhaus:1.1.104.12");
    assert_string_equal(verdict(s, "1.1.104.13", "/"), "clean");
    assert_string_equal(verdict(s, "x.123.ywxww.net", "/"), "block:urlhaus:123.ywxww.net");
    assert_string_equal(verdict(s, "7octubredc.duckdns.org", "/"), "block:urlhaus:7octubredc.duckdns.org");
    assert_string_equal(verdict(s, "other.duckdns.org", "/"), "clean");
    assert_string_equal(verdict(s, "2024.sci-hub.se", "/2294/7a43bb4cf6c57229b02a9604a1f4614e/skidmore1966.pdf"),
                        "block:urlhaus:2024.sci-hub.se/2294/7a43bb4cf6c57229b02a9604a1f4614e/skidmore1966.pdf");
    assert_string_equal(verdict(s, "2024.sci-hub.se", "/"), "clean");
    assert_string_equal(
        verdict(s, "bitbucket.org",
                "/dfffrf/dfdf/downloads/notificaci%C3%B3n_demanda_virtual_juzgado_09_de_circuito_de_bogot%C3%A1.zip"),
        "block:urlhaus:bitbucket.org/dfffrf/dfdf/downloads/"
        "notificaci%c3%b3n_demanda_virtual_juzgado_09_de_circuito_de_bogot%c3%a1.zip");
    /* the header is kept with its licence line */
    char *text = gw_risk_list_serialize(l, NULL);
    assert_non_null(strstr(text, "! License: https://gitlab.com/malware-filter/urlhaus-filter#license\n"));
    free(text);
    gw_risk_set_free(s);
}

static void
test_abp_badware(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = load(DATA "badware.min.txt", "badware", GW_FMT_ABP, GW_RISK_WARN, &rep);
    assert_int_equal(rep.lines, 4456);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(rep.entries, 3203);
    assert_int_equal(rep.duplicates, 18);
    assert_true(rep.skipped > 900); /* cosmetic, regex, wildcard, `to=`/`domain=`/`ipaddress=` rules */
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "flexytalk.net", "/"), "warn:badware:flexytalk.net"); /* `||flexytalk.net^` */
    assert_string_equal(verdict(s, "www.vlc.de", "/"), "warn:badware:vlc.de");           /* `||vlc.de^$doc` */
    assert_string_equal(verdict(s, "x_x-askfollow-us.translate.goog", "/"),              /* underscore host */
                        "warn:badware:x_x-askfollow-us.translate.goog");
    assert_string_equal(verdict(s, "support.ublock.org", "/"), "clean");  /* cosmetic only */
    assert_string_equal(verdict(s, "familysimulator.com", "/"), "clean"); /* `||familysimulator.$all`: skipped */
    assert_string_equal(verdict(s, "familysimulator", "/"), "clean");
    assert_string_equal(verdict(s, "download.cnet.com", "/"), "clean"); /* commented out */
    gw_risk_verdict_t v;
    assert_int_equal(gw_risk_check(s, "a.3utilities.com", 16, "/", 1, &v), 1); /* `||3utilities.com^$all`: a PSL suffix */
    assert_int_equal(v.matched_is_suffix, 1);
    char *text = gw_risk_list_serialize(l, NULL);
    assert_non_null(strstr(text, "! License: https://github.com/uBlockOrigin/uAssets/blob/master/LICENSE\n"));
    free(text);
    gw_risk_set_free(s);
}

static void
test_abp_syntax(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = parse("abp", GW_FMT_ABP, GW_RISK_BLOCK,
                              "[Adblock Plus 2.0]\n"               /* 1 comment */
                              "! comment\n"                        /* 2 */
                              "||plain.example^\n"                 /* 3 host */
                              "||nocaret.example\n"                /* 4 host */
                              "||pipe.example^|\n"                 /* 5 host */
                              "||opt.example^$doc,3p,~image\n"     /* 6 host, options ignored */
                              "||ctx.example^$domain=a.com\n"      /* 7 skipped: context option */
                              "||bad.example^$badfilter\n"         /* 8 skipped */
                              "@@||ok.example^\n"                  /* 9 skipped: exception */
                              "example.org##.ad\n"                 /* 10 skipped: cosmetic */
                              "/ads/*$script\n"                    /* 11 skipped: generic */
                              "||*.wild.example^\n"                /* 12 skipped: wildcard */
                              "||host.example/a/*/b\n"             /* 13 skipped: wildcard path */
                              "||prefix-$doc\n"                    /* 14 skipped: host prefix */
                              "||port.example:8080^\n"             /* 15 skipped: port */
                              "bare.example\n"                     /* 16 host (uBlock: bare host name) */
                              "word\n"                             /* 17 skipped: substring pattern */
                              "||exa mple.com^\n"                  /* 18 rejected */
                              "||-^\n"                             /* 19 rejected */
                              "||^\n"                              /* 20 rejected */
                              "||[2001:db8::9]^\n"                 /* 21 IP */
                              "||r.example^$reason=\"a, b $ c\"\n" /* 22 host, options ignored */
                              "# a comment in uBlock style\n"      /* 23 comment */
                              "||Plain.Example^\n"                 /* 24 duplicate */
                              "||q.example/a\"b^\n",               /* 25 rejected: '"' in a path */
                              &rep);
    assert_int_equal(rep.lines, 25);
    assert_int_equal(rep.entries, 7);
    assert_int_equal(rep.options_ignored, 2);
    assert_int_equal(rep.skipped, 10);
    assert_int_equal(rep.rejected, 4);
    assert_int_equal(rep.duplicates, 1);
    assert_int_equal(rep.num_kept, 4);
    assert_int_equal(rep.kept[3].line, 25);
    assert_int_equal(rep.kept[0].line, 18);
    assert_string_equal(rep.kept[0].text, "||exa mple.com^");
    assert_int_equal(rep.kept[1].line, 19);
    assert_int_equal(rep.kept[2].line, 20);
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "a.nocaret.example", NULL), "block:abp:nocaret.example");
    assert_string_equal(verdict(s, "opt.example", NULL), "block:abp:opt.example");
    assert_string_equal(verdict(s, "ctx.example", NULL), "clean");
    assert_string_equal(verdict(s, "bare.example", NULL), "block:abp:bare.example");
    assert_string_equal(verdict(s, "2001:db8::9", NULL), "block:abp:2001:db8::9");
    assert_string_equal(verdict(s, "r.example", NULL), "block:abp:r.example");
    gw_risk_set_free(s);
}

static void
test_domains_format(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = load(DATA "urlhaus-domains.txt", "dom", GW_FMT_DOMAINS, GW_RISK_BLOCK, &rep);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(rep.entries, 310 - 7); /* 7 header lines */
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "1.1.104.12", NULL), "block:dom:1.1.104.12");
    assert_string_equal(verdict(s, "www.zamilgroups.com", NULL), "block:dom:zamilgroups.com");
    gw_risk_set_free(s);

    l = parse("dom", GW_FMT_DOMAINS, GW_RISK_BLOCK,
              "\xef\xbb\xbf# header\r\n"
              "good.example   # trailing comment\r\n"
              "\r\n"
              "\t spaced.example \t\n"
              "two words.example\n"
              "path.example/x\n"
              "http://scheme.example\n"
              "*.star.example\n"
              "a#b.example\n"
              "last.example",
              &rep);
    assert_int_equal(rep.lines, 10);
    assert_int_equal(rep.entries, 3);
    assert_int_equal(rep.rejected, 5);
    assert_int_equal(rep.kept[0].line, 5);
    assert_string_equal(rep.kept[0].text, "two words.example");
    assert_int_equal(rep.kept[1].line, 6);
    assert_int_equal(rep.kept[2].line, 7);
    assert_int_equal(rep.kept[3].line, 8);
    assert_int_equal(rep.kept[4].line, 9);
    char *text = gw_risk_list_serialize(l, NULL);
    assert_string_equal(text, "# header\r\ngood.example\nspaced.example\nlast.example\n"); /* the header verbatim */
    free(text);
    gw_risk_list_free(l);
}

static void
test_hosts_format(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = load(DATA "urlhaus-hosts.txt", "hosts", GW_FMT_HOSTS, GW_RISK_BLOCK, &rep);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(rep.skipped, 4); /* localhost, ::1, ff02::1, ff02::2 lines */
    assert_true(rep.entries > 100);
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "yongtai.cn", NULL), "block:hosts:yongtai.cn");
    assert_string_equal(verdict(s, "a.xshop.com.tr", NULL), "block:hosts:xshop.com.tr");       /* 2nd name on a line */
    assert_string_equal(verdict(s, "xn--yh4bx88a.com", NULL), "block:hosts:xn--yh4bx88a.com"); /* 1st name */
    assert_string_equal(verdict(s, "localhost", NULL), "clean");
    gw_risk_set_free(s);

    l = parse("hosts", GW_FMT_HOSTS, GW_RISK_BLOCK,
              "# hosts\n"
              "127.0.0.1 localhost localhost.localdomain\n" /* 2 skipped */
              "255.255.255.255 broadcasthost\n"             /* 3 skipped */
              "fe80::1%lo0 localhost\n"                     /* 4 skipped */
              "0.0.0.0 a.example b.example # c.example\n"   /* 5 */
              "::1 v6sink.example\n"                        /* 6 */
              "0.0.0.0\n"                                   /* 7 rejected: no host */
              "1.2.3.4 mapped.example\n"                    /* 8 rejected: not a sink */
              "0.0.0.0 bad_host!.example\n"                 /* 9 rejected */
              "0.0.0.0 1.2.3.4\n"                           /* 10 rejected: an address as a name */
              "just.a.host\n"                               /* 11 rejected */
              "127.0.0.1 LocalHost Mixed.Example\n"         /* 12 */
              "0.0.0.0 lo\xef\xbb\xbf"
              "calhost\n", /* 13 skipped: an ignored U+FEFF does not hide a boilerplate name */
              &rep);
    assert_int_equal(rep.skipped, 4);
    assert_int_equal(rep.entries, 4);
    assert_int_equal(rep.rejected, 5);
    size_t want[] = {7, 8, 9, 10, 11};
    for (size_t i = 0; i != 5; ++i)
        assert_int_equal(rep.kept[i].line, want[i]);
    char *text = gw_risk_list_serialize(l, NULL);
    assert_string_equal(text, "# hosts\n0.0.0.0 a.example\n0.0.0.0 b.example\n0.0.0.0 v6sink.example\n0.0.0.0 mixed.example\n");
    free(text);
    gw_risk_list_free(l);
}

static void
test_urls_format(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *l = load(DATA "urlhaus-urls.txt", "urls", GW_FMT_URLS, GW_RISK_BLOCK, &rep);
    assert_int_equal(rep.rejected, 0);
    assert_int_equal(rep.entries, 275 - 7);
    gw_risk_set_t *s = set_of(1, l);
    assert_string_equal(verdict(s, "2024.sci-hub.se", "/2294/7a43bb4cf6c57229b02a9604a1f4614e/skidmore1966.pdf"),
                        "block:urls:2024.sci-hub.se/2294/7a43bb4cf6c57229b02a9604a1f4614e/skidmore1966.pdf");
    assert_string_equal(verdict(s, "archive.org", "/download/wp4055032-l-wallpapers_with_b64/wp4055032-l-wallpapers_with_b64.jpg"),
                        "block:urls:archive.org/download/wp4055032-l-wallpapers_with_b64/wp4055032-l-wallpapers_with_b64.jpg");
    assert_string_equal(verdict(s, "archive.org", "/"), "clean");
    gw_risk_set_free(s);

    l = parse("urls", GW_FMT_URLS, GW_RISK_BLOCK,
              "http://user@evil.example/x\n"  /* 1 rejected: userinfo */
              "http://evil.example:99999/x\n" /* 2 rejected: port */
              "http://:80/x\n"                /* 3 rejected: no host */
              "ok.example/a b\n"              /* 4 rejected: blank */
              "ok.example/a # comment\n"      /* 5 */
              "# comment\n",                  /* 6 */
              &rep);
    assert_int_equal(rep.entries, 1);
    assert_int_equal(rep.rejected, 4);
    assert_int_equal(rep.kept[3].line, 4);
    gw_risk_list_free(l);
}

static void
test_rejects_kept(void **state)
{
    char text[8192], *p = text;
    gw_risk_report_t rep;
    for (int i = 1; i <= 30; ++i)
        p += sprintf(p, i % 2 ? "bad%d!.example\n" : "good%d.example\n", i);
    p += sprintf(p, "\xff\x01\xc3\xa9t\xc3\xa9 bad\n"); /* line 31: invalid UTF-8 and a control byte */
    memset(p, 'a', GW_RISK_LINE_MAX + 1);               /* line 32: too long */
    p += GW_RISK_LINE_MAX + 1;
    *p = '\0';
    gw_risk_list_t *l = gw_risk_list_parse("r", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, (size_t)(p - text), &rep);
    assert_non_null(l);
    assert_int_equal(rep.lines, 32);
    assert_int_equal(rep.entries, 15);
    assert_int_equal(rep.rejected, 17);
    assert_int_equal(rep.num_kept, 17);
    for (size_t i = 0; i != 15; ++i) {
        char want[64];
        snprintf(want, sizeof(want), "bad%zu!.example", 2 * i + 1);
        assert_int_equal(rep.kept[i].line, 2 * i + 1);
        assert_string_equal(rep.kept[i].text, want);
    }
    assert_int_equal(rep.kept[15].line, 31);
    assert_string_equal(rep.kept[15].text, "??\xc3\xa9t\xc3\xa9 bad");
    assert_int_equal(rep.kept[16].line, 32);
    assert_int_equal(strlen(rep.kept[16].text), GW_RISK_REJECT_TEXT);
    gw_risk_list_free(l);

    /* more than GW_RISK_REJECTS_KEPT: all counted, the first 20 kept */
    p = text;
    for (int i = 1; i <= 25; ++i)
        p += sprintf(p, "bad line %d\n", i);
    l = gw_risk_list_parse("r", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, (size_t)(p - text), &rep);
    assert_int_equal(rep.rejected, 25);
    assert_int_equal(rep.num_kept, GW_RISK_REJECTS_KEPT);
    assert_int_equal(rep.kept[19].line, 20);
    assert_string_equal(rep.kept[19].text, "bad line 20");
    gw_risk_list_free(l);
}

/* CRLF and LF, with or without a final newline, parse alike */
static void
test_line_endings(void **state)
{
    const char *variants[] = {"a.example\nb.example\n", "a.example\r\nb.example\r\n", "a.example\nb.example",
                              "a.example\r\nb.example"};
    for (size_t i = 0; i != 4; ++i) {
        gw_risk_report_t rep;
        gw_risk_list_t *l = parse("e", GW_FMT_DOMAINS, GW_RISK_BLOCK, variants[i], &rep);
        assert_int_equal(rep.entries, 2);
        assert_int_equal(rep.lines, 2);
        char *text = gw_risk_list_serialize(l, NULL);
        assert_string_equal(text, "a.example\nb.example\n");
        free(text);
        gw_risk_list_free(l);
    }
}

/* ---- edits and serialisation ----------------------------------------------------------------- */

static void
test_edit(void **state)
{
    gw_risk_report_t rep;
    gw_risk_list_t *old =
        parse("e", GW_FMT_DOMAINS, GW_RISK_BLOCK, "# licence\nxn--bcher-kva.example\nkeep.example\n1.2.3.4\n", NULL);
    gw_risk_str_t add[] = {{"new.example", 11}, {"KEEP.example", 12}, {"bad host", 8}, {"a\nb.example", 11}};
    gw_risk_str_t rm[] = {{"BÜCHER.example", strlen("BÜCHER.example")}, {"absent.example", 14}, {"0x01020304", 10}, {"bad!", 4}};
    gw_risk_list_t *nl = gw_risk_list_edit(old, add, 4, rm, 4, &rep);
    assert_non_null(nl);
    assert_int_equal(rep.removed, 2);
    assert_int_equal(rep.not_found, 1);
    assert_int_equal(rep.num_not_found_kept, 1); /* named as the list would hold it */
    assert_string_equal(rep.not_found_kept[0], "absent.example");
    assert_int_equal(rep.added, 1);
    assert_int_equal(rep.duplicates, 1);
    assert_int_equal(rep.rejected, 3);
    assert_int_equal(rep.entries, 2);
    assert_int_equal(rep.kept[0].line, 4); /* remove[] items are parsed first */
    assert_int_equal(rep.kept[0].in_remove, 1);
    assert_int_equal(rep.kept[1].line, 3);
    assert_int_equal(rep.kept[1].in_remove, 0);
    assert_string_equal(rep.kept[1].text, "bad host");
    assert_int_equal(rep.kept[2].line, 4);
    assert_string_equal(rep.kept[2].text, "a?b.example");
    char *text = gw_risk_list_serialize(nl, NULL);
    assert_string_equal(text, "# licence\nkeep.example\nnew.example\n");
    free(text);
    /* old is untouched */
    text = gw_risk_list_serialize(old, NULL);
    assert_string_equal(text, "# licence\nxn--bcher-kva.example\nkeep.example\n1.2.3.4\n");
    free(text);
    gw_risk_list_free(nl);

    /* abp edits take abp lines; a URL entry is removed by its own rule */
    gw_risk_list_free(old);
    old = parse("a", GW_FMT_ABP, GW_RISK_BLOCK, "||x.example/p^$all\n||y.example^\n", NULL);
    gw_risk_str_t rm2[] = {{"||x.example/p^", 14}, {"||y.example/p^", 14}};
    gw_risk_str_t add2[] = {{"||z.example^$doc", 16}};
    nl = gw_risk_list_edit(old, add2, 1, rm2, 2, &rep);
    assert_int_equal(rep.removed, 1);
    assert_int_equal(rep.not_found, 1);
    assert_string_equal(rep.not_found_kept[0], "y.example/p");
    assert_int_equal(rep.options_ignored, 1);
    text = gw_risk_list_serialize(nl, NULL);
    assert_string_equal(text, "||y.example^\n||z.example^\n");
    free(text);
    gw_risk_list_free(nl);
    gw_risk_list_free(old);

    /* a hosts list takes its own lines and bare host names (what people type) */
    old = parse("h", GW_FMT_HOSTS, GW_RISK_BLOCK, "0.0.0.0 old.example\n0.0.0.0 gone.example\n", NULL);
    gw_risk_str_t add3[] = {{"new.example", 11}, {"127.0.0.1 other.example", 23}, {" spaced.example ", 16}, {"bad host!", 9}};
    gw_risk_str_t rm3[] = {{"gone.example", 12}};
    nl = gw_risk_list_edit(old, add3, 4, rm3, 1, &rep);
    assert_non_null(nl);
    assert_int_equal(rep.removed, 1);
    assert_int_equal(rep.added, 3);
    assert_int_equal(rep.rejected, 1);
    text = gw_risk_list_serialize(nl, NULL);
    assert_non_null(strstr(text, "new.example"));
    assert_non_null(strstr(text, "spaced.example"));
    assert_null(strstr(text, "gone.example"));
    free(text);
    gw_risk_list_free(nl);
    gw_risk_list_free(old);
}

static void
roundtrip(const char *file, gw_list_format_t fmt)
{
    gw_risk_report_t rep, rep2;
    gw_risk_list_t *a = load(file, "rt", fmt, GW_RISK_BLOCK, &rep);
    size_t len, len2;
    char *t1 = gw_risk_list_serialize(a, &len);
    gw_risk_list_t *b = gw_risk_list_parse("rt", fmt, GW_RISK_BLOCK, t1, len, &rep2);
    char *t2 = gw_risk_list_serialize(b, &len2);
    assert_int_equal(rep2.rejected, 0);
    assert_int_equal(rep2.skipped, 0);
    assert_int_equal(rep2.entries, rep.entries);
    assert_int_equal(len, len2);
    assert_memory_equal(t1, t2, len);
    free(t1);
    free(t2);
    gw_risk_list_free(a);
    gw_risk_list_free(b);
}

static void
test_roundtrip(void **state)
{
    roundtrip(DATA "urlhaus-filter-online.txt", GW_FMT_ABP);
    roundtrip(DATA "badware.min.txt", GW_FMT_ABP);
    roundtrip(DATA "urlhaus-domains.txt", GW_FMT_DOMAINS);
    roundtrip(DATA "urlhaus-hosts.txt", GW_FMT_HOSTS);
    roundtrip(DATA "urlhaus-urls.txt", GW_FMT_URLS);
    /* an abp path holding '$' keeps it */
    gw_risk_list_t *l = parse("d", GW_FMT_ABP, GW_RISK_BLOCK, "||x.example/a$b^$all\n", NULL);
    char *t = gw_risk_list_serialize(l, NULL);
    assert_string_equal(t, "||x.example/a$b^$all\n");
    free(t);
    gw_risk_list_free(l);
}

/* ---- files and writers --------------------------------------------------------------------- */

static char tmpdir[256];

static int
setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_risk.XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown_tmp(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* text[0..len) has the line line[0..l) (lines ended by '\n') */
static int
has_line(const char *text, size_t len, const char *line, size_t l)
{
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        if (n == l && memcmp(text + pos, line, l) == 0)
            return 1;
        pos += n + 1;
    }
    return 0;
}

/* what a replace changes, by format: host and URL entries, as sets (order, duplicates and comments aside) */
static void
test_diff(void **state)
{
    gw_risk_report_t rep;
    struct {
        gw_list_format_t fmt;
        const char *old, *next, *added, *removed;
        size_t nadded, nremoved;
    } cases[] = {
        {GW_FMT_DOMAINS, "a.example\nb.example\nc.example\n", "# v2\nc.example\nd.example\nb.example\nd.example\n", "d.example\n",
         "a.example\n", 1, 1},
        {GW_FMT_DOMAINS, "a.example\n", "a.example\n", "", "", 0, 0},
        {GW_FMT_DOMAINS, "", "a.example\nb.example\n", "a.example\nb.example\n", "", 2, 0},
        {GW_FMT_DOMAINS, "a.example\n", "", "", "a.example\n", 0, 1},
        {GW_FMT_HOSTS, "0.0.0.0 a.example\n", "127.0.0.1 a.example\n0.0.0.0 b.example\n", "0.0.0.0 b.example\n", "", 1, 0},
        /* URL entries live in host groups once a list is built: same host, other paths; a path differing in case only
         * is the same entry (paths match case-insensitively) */
        {GW_FMT_URLS, "x.example/a\nx.example/b\ny.example/p/q\n", "x.example/B\nx.example/c\nz.example/p\n", "x.example/c\nz.example/p\n",
         "x.example/a\ny.example/p/q\n", 2, 2},
        {GW_FMT_ABP, "||ads.example^\n||x.example/track^\n||x.example/pix\n", "||ads.example^\n||x.example/track\n||x.example/pix\n",
         "||x.example/track\n", "||x.example/track^\n", 1, 1},
    };
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        gw_risk_list_t *o = gw_risk_list_parse("o", cases[i].fmt, GW_RISK_BLOCK, cases[i].old, strlen(cases[i].old), NULL);
        gw_risk_list_t *n = gw_risk_list_parse("n", cases[i].fmt, GW_RISK_BLOCK, cases[i].next, strlen(cases[i].next), NULL);
        assert_non_null(o);
        assert_non_null(n);
        memset(&rep, 0xff, sizeof(rep));
        gw_risk_list_diff(o, n, &rep);
        if (rep.added != cases[i].nadded || rep.removed != cases[i].nremoved)
            fail_msg("case %zu: added %zu removed %zu", i, rep.added, rep.removed);
        /* the kept lines, in either order */
        for (int side = 0; side != 2; ++side) {
            const char *want = side == 0 ? cases[i].added : cases[i].removed;
            assert_int_equal(rep.diff_len[side], strlen(want));
            assert_int_equal(rep.diff_kept[side], side == 0 ? cases[i].nadded : cases[i].nremoved);
            for (const char *p = want; *p != '\0'; p = strchr(p, '\n') + 1) {
                size_t l = (size_t)(strchr(p, '\n') - p);
                int found = has_line(rep.diff_text[side], rep.diff_len[side], p, l);
                if (!found)
                    fail_msg("case %zu side %d: %.*s not kept in %.*s", i, side, (int)l, p, (int)rep.diff_len[side], rep.diff_text[side]);
            }
        }
        gw_risk_list_free(o);
        gw_risk_list_free(n);
    }

    /* random overlapping sets of a few thousand names (tables with clusters, one wrapping from the end to the start):
     * the counts are the sets' differences */
    srand(7);
    for (int round = 0; round != 20; ++round) {
        size_t cap = 6000 * 24, la = 0, lb = 0;
        char *ta = malloc(cap), *tb = malloc(cap);
        size_t want_added = 0, want_removed = 0;
        for (int i = 0; i != 6000; ++i) {
            int in_a = rand() % 3 != 0, in_b = rand() % 3 != 0;
            if (in_a)
                la += (size_t)snprintf(ta + la, cap - la, "r%d-%d.example\n", round, i);
            if (in_b)
                lb += (size_t)snprintf(tb + lb, cap - lb, "r%d-%d.example\n", round, i);
            want_added += in_b && !in_a;
            want_removed += in_a && !in_b;
        }
        gw_risk_list_t *o = gw_risk_list_parse("o", GW_FMT_DOMAINS, GW_RISK_BLOCK, ta, la, NULL);
        gw_risk_list_t *n = gw_risk_list_parse("n", GW_FMT_DOMAINS, GW_RISK_BLOCK, tb, lb, NULL);
        gw_risk_list_diff(o, n, &rep);
        assert_int_equal(rep.added, want_added);
        assert_int_equal(rep.removed, want_removed);
        gw_risk_list_free(o);
        gw_risk_list_free(n);
        free(ta);
        free(tb);
    }

    /* many: all counted, the first GW_RISK_DIFF_KEPT kept */
    size_t cap = 2000 * 20, len = 0;
    char *big = malloc(cap);
    for (int i = 0; i != 2000; ++i)
        len += (size_t)snprintf(big + len, cap - len, "h%d.example\n", i);
    gw_risk_list_t *o = gw_risk_list_parse("o", GW_FMT_DOMAINS, GW_RISK_BLOCK, "keep.example\n", 13, NULL);
    gw_risk_list_t *n = gw_risk_list_parse("n", GW_FMT_DOMAINS, GW_RISK_BLOCK, big, len, NULL);
    gw_risk_list_diff(o, n, &rep);
    assert_int_equal(rep.added, 2000);
    assert_int_equal(rep.removed, 1);
    assert_int_equal(rep.diff_kept[0], GW_RISK_DIFF_KEPT);
    assert_true(rep.diff_len[0] < GW_RISK_DIFF_TEXT);
    gw_risk_list_diff(n, o, &rep);
    assert_int_equal(rep.added, 1);
    assert_int_equal(rep.removed, 2000);
    assert_int_equal(rep.diff_kept[1], GW_RISK_DIFF_KEPT);
    gw_risk_list_free(o);
    gw_risk_list_free(n);
    free(big);
}

/* the same list and report from load_file(path) as from parsing its text text[0..len) whole */
static void
assert_load_is_parse(const char *path, const char *text, size_t len, gw_list_format_t format)
{
    gw_risk_report_t a, b;
    char err[512];
    gw_risk_list_t *l, *want = gw_risk_list_parse("f", format, GW_RISK_BLOCK, text, len, &b);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(gw_risk_list_load_file(path, "f", format, GW_RISK_BLOCK, &l, &a, err, sizeof(err)), 0);
    assert_int_equal(a.lines, b.lines);
    assert_int_equal(a.entries, b.entries);
    assert_int_equal(a.rejected, b.rejected);
    assert_int_equal(a.skipped, b.skipped);
    assert_int_equal(a.num_kept, b.num_kept);
    for (size_t k = 0; k != a.num_kept; ++k) {
        assert_int_equal(a.kept[k].line, b.kept[k].line);
        assert_string_equal(a.kept[k].text, b.kept[k].text);
    }
    size_t la, lb;
    char *ta = gw_risk_list_serialize(l, &la), *tb = gw_risk_list_serialize(want, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ta, tb, la);
    free(ta), free(tb);
    gw_risk_list_free(l);
    gw_risk_list_free(want);
}

/*
 * A file is read in pieces (filters/risk.c, READ_CHUNK: 256 KB) and parsed as its whole text is: lines across the
 * pieces' ends, a BOM, CRLF, a last line without '\n', lines longer than a piece (rejected, with their first bytes).
 */
static void
test_file_pieces(void **state)
{
    char path[300];
    size_t cap = 4u << 20, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(path, sizeof(path), "%s/pieces.txt", tmpdir);
    srand(11);
    static const char head[] = "\xef\xbb\xbf# a header\r\n# more\n";
    memcpy(text, head, sizeof(head) - 1), len = sizeof(head) - 1;
    for (int i = 0; len < cap - 700000; ++i) {
        int r = rand() % 1000;
        if (r == 0 || i == 30000) { /* longer than a piece: 262,144 bytes and about */
            size_t n = 262144 - 64 + (size_t)(rand() % 128) + (i == 30000 ? 300000 : 0);
            memset(text + len, 'x', n);
            text[len] = (char)(r == 0 ? 'a' : '#');
            len += n;
        } else {
            len += (size_t)snprintf(text + len, cap - len, "%sn%d-%x.example%s", r < 20 ? "  " : "", i, rand(),
                                    r < 40 ? " # c" : "");
        }
        text[len++] = '\r', text[len++] = '\n';
        if (r % 7 == 0)
            text[len - 2] = '\n', --len;
    }
    memcpy(text + len, "last.example", 12), len += 12;
    assert_load_is_parse(path, text, len, GW_FMT_DOMAINS);
    assert_load_is_parse(path, text, len, GW_FMT_URLS);
    /* a piece's end in a BOM's line, in a CRLF, right after it */
    for (size_t n = 262142; n != 262147; ++n) {
        memset(text, 'y', n);
        memcpy(text, "\xef\xbb\xbf", 3);
        memcpy(text + n - 2, "\r\n", 2);
        memcpy(text + n, "b.example\n", 10);
        assert_load_is_parse(path, text, n + 10, GW_FMT_DOMAINS);
    }
    free(text);
}

static void
test_files(void **state)
{
    char path[300], err[512];
    size_t len;
    gw_risk_list_t *l;
    struct stat st;
    snprintf(path, sizeof(path), "%s/list.txt", tmpdir);

    assert_int_equal(gw_risk_list_load_file(path, "f", GW_FMT_DOMAINS, GW_RISK_BLOCK, &l, NULL, err, sizeof(err)), -1);
    assert_null(l);
    assert_non_null(strstr(err, "No such file"));

    assert_int_equal(gw_risk_file_write(path, "a.example\n", 10, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    chmod(path, 0600);
    assert_int_equal(gw_risk_file_write(path, "b.example\n", 10, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* the existing mode is kept */
    char *text = slurp(path, &len);
    assert_string_equal(text, "b.example\n");
    free(text);

    /* only rejected lines: refused */
    write_text(path, "not a host\nneither!\n");
    gw_risk_report_t rep;
    assert_int_equal(gw_risk_list_load_file(path, "f", GW_FMT_DOMAINS, GW_RISK_BLOCK, &l, &rep, err, sizeof(err)), -1);
    assert_int_equal(rep.rejected, 2);
    assert_non_null(strstr(err, "no valid entry"));
    /* an empty file is an empty list */
    write_text(path, "# nothing yet\n");
    assert_int_equal(gw_risk_list_load_file(path, "f", GW_FMT_DOMAINS, GW_RISK_BLOCK, &l, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.entries, 0);
    gw_risk_list_free(l);

    /* a link (to a file in another folder) stays a link: the file it names is replaced, in its own folder */
    char feeds[300], target[340], link[300], got[400];
    snprintf(feeds, sizeof(feeds), "%s/feeds", tmpdir);
    snprintf(target, sizeof(target), "%s/phish-v1.txt", feeds);
    snprintf(link, sizeof(link), "%s/linked.txt", tmpdir);
    assert_int_equal(mkdir(feeds, 0755), 0);
    write_text(target, "a.example\n");
    assert_int_equal(symlink("feeds/phish-v1.txt", link), 0);
    assert_int_equal(gw_risk_file_write(link, "c.example\n", 10, err, sizeof(err)), 0);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    ssize_t n = readlink(link, got, sizeof(got) - 1);
    assert_true(n > 0);
    got[n] = '\0';
    assert_string_equal(got, "feeds/phish-v1.txt");
    text = slurp(target, &len);
    assert_string_equal(text, "c.example\n");
    free(text);
    /* a dangling link: refused, nothing made where it points */
    assert_int_equal(unlink(target), 0);
    assert_int_equal(gw_risk_file_write(link, "d.example\n", 10, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symbolic link"));
    assert_int_equal(access(target, F_OK), -1);
    unlink(link);
    rmdir(feeds);

    /* a folder that does not exist: error, nothing written */
    assert_int_equal(gw_risk_file_write("/nonexistent-dir/x.txt", "a", 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.txt: "));
    /* a directory is not a list file */
    assert_int_equal(gw_risk_list_load_file(tmpdir, "f", GW_FMT_DOMAINS, GW_RISK_BLOCK, &l, NULL, err, sizeof(err)), -1);
}

static void
test_writers(void **state)
{
    char path[300], err[512];
    gw_risk_report_t rep;
    gw_risk_list_info_t info;
    gw_risk_set_t *slot;
    size_t len;
    snprintf(path, sizeof(path), "%s/phish.txt", tmpdir);
    gw_qsbr_init(0); /* no reader threads in this test: synchronize returns at once */

    write_text(path, "# phishing\nold.example\n");
    gw_risk_list_t *l = load(path, "phish", GW_FMT_DOMAINS, GW_RISK_BLOCK, &rep);
    gw_risk_list_t *w = parse("warn", GW_FMT_DOMAINS, GW_RISK_WARN, "w.example\n", NULL);
    slot = set_of(2, l, w);
    gw_risk_list_info(gw_risk_set_list(slot, 0), &info);
    assert_int_equal(info.version, 1);
    assert_true(info.updated_at_ms > 0);

    /* reload from the file: added and removed are what changed (the audit log's numbers) */
    write_text(path, "# phishing\nnew.example\n");
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.added, 1);
    assert_int_equal(rep.removed, 1);
    assert_int_equal(rep.diff_kept[0], 1);
    assert_memory_equal(rep.diff_text[0], "new.example\n", rep.diff_len[0]);
    assert_memory_equal(rep.diff_text[1], "old.example\n", rep.diff_len[1]);
    assert_string_equal(verdict(slot, "new.example", NULL), "block:phish:new.example");
    assert_string_equal(verdict(slot, "old.example", NULL), "clean");
    assert_string_equal(verdict(slot, "w.example", NULL), "warn:warn:w.example"); /* the other list is shared, intact */
    gw_risk_list_info(gw_risk_set_find(slot, "phish", NULL), &info);
    assert_int_equal(info.version, 2);

    /* a vanished or unreadable file keeps the last good list */
    unlink(path);
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), -1);
    assert_string_equal(verdict(slot, "new.example", NULL), "block:phish:new.example");
    write_text(path, "garbage !\n");
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), -1);
    assert_string_equal(verdict(slot, "new.example", NULL), "block:phish:new.example");
    assert_int_equal(gw_risk_set_reload(&slot, "nosuch", path, &rep, err, sizeof(err)), -1);
    /* so does one truncated to nothing, or to its comments (a failed download, a full disk) */
    write_text(path, "");
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no entries: the 1 in force stay"));
    write_text(path, "# phishing\n! nothing yet\n");
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), -1);
    assert_string_equal(verdict(slot, "new.example", NULL), "block:phish:new.example");

    /* PUT: persisted verbatim, then swapped */
    const char *body = "# phishing v3\nput.example\nbad line\n";
    assert_int_equal(gw_risk_set_put(&slot, "phish", body, strlen(body), 0, path, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.entries, 1);
    assert_int_equal(rep.rejected, 1);
    assert_int_equal(rep.added, 1); /* put.example in, new.example out */
    assert_int_equal(rep.removed, 1);
    assert_memory_equal(rep.diff_text[1], "new.example\n", rep.diff_len[1]);
    assert_int_equal(rep.kept[0].line, 3);
    char *text = slurp(path, &len);
    assert_string_equal(text, body);
    free(text);
    assert_string_equal(verdict(slot, "put.example", NULL), "block:phish:put.example");
    /* PUT of nothing valid: refused, file and list unchanged */
    assert_int_equal(gw_risk_set_put(&slot, "phish", "bad line\n", 9, 0, path, &rep, err, sizeof(err)), -1);
    text = slurp(path, &len);
    assert_string_equal(text, body);
    free(text);
    /* PUT of no entry: refused unless the list is to be emptied on purpose */
    assert_int_equal(gw_risk_set_put(&slot, "phish", "# none\n", 7, 0, path, &rep, err, sizeof(err)), -1);
    assert_string_equal(verdict(slot, "put.example", NULL), "block:phish:put.example");
    assert_int_equal(gw_risk_set_put(&slot, "phish", "", 0, 1, NULL, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.entries_before, 1);
    assert_int_equal(rep.entries, 0);
    assert_string_equal(verdict(slot, "put.example", NULL), "clean");
    write_text(path, ""); /* an empty file for an empty list: nothing to keep */
    assert_int_equal(gw_risk_set_reload(&slot, "phish", path, &rep, err, sizeof(err)), 0);
    assert_int_equal(gw_risk_set_put(&slot, "phish", body, strlen(body), 0, path, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.entries_before, 0);
    /* PUT whose persistence fails: nothing changes */
    assert_int_equal(gw_risk_set_put(&slot, "phish", "x.example\n", 10, 0, "/nonexistent-dir/p.txt", &rep, err, sizeof(err)), -2);
    assert_string_equal(verdict(slot, "put.example", NULL), "block:phish:put.example");
    assert_string_equal(verdict(slot, "x.example", NULL), "clean");

    /* edit: persisted in the list's format with its header */
    gw_risk_str_t add[] = {{"added.example", 13}};
    gw_risk_str_t rm[] = {{"PUT.example", 11}};
    assert_int_equal(gw_risk_set_edit(&slot, "phish", add, 1, rm, 1, path, &rep, err, sizeof(err)), 0);
    text = slurp(path, &len);
    assert_string_equal(text, "# phishing v3\nadded.example\n");
    free(text);
    assert_string_equal(verdict(slot, "added.example", NULL), "block:phish:added.example");
    assert_string_equal(verdict(slot, "put.example", NULL), "clean");
    gw_risk_list_info(gw_risk_set_find(slot, "phish", NULL), &info);
    assert_int_equal(info.version, 7);

    /* replace by a list of another name: refused, the list stays the caller's */
    gw_risk_list_t *other = parse("other", GW_FMT_DOMAINS, GW_RISK_BLOCK, "o.example\n", NULL);
    assert_int_equal(gw_risk_set_replace(&slot, other, err, sizeof(err)), -1);
    gw_risk_list_free(other);

    /* a whole new set */
    gw_risk_set_swap(&slot, set_of(1, parse("only", GW_FMT_DOMAINS, GW_RISK_MONITOR, "m.example\n", NULL)));
    assert_string_equal(verdict(slot, "m.example", NULL), "monitor:only:m.example");
    assert_string_equal(verdict(slot, "added.example", NULL), "clean");
    gw_risk_set_swap(&slot, NULL);
    assert_null(slot);
}

static void
test_set_new(void **state)
{
    gw_risk_list_t *a = parse("same", GW_FMT_DOMAINS, GW_RISK_BLOCK, "a.example\n", NULL);
    gw_risk_list_t *b = parse("same", GW_FMT_DOMAINS, GW_RISK_WARN, "b.example\n", NULL);
    gw_risk_list_t *ab[] = {a, b};
    assert_null(gw_risk_set_new(ab, 2)); /* repeated name */
    gw_risk_list_t *aa[] = {a, a};
    assert_null(gw_risk_set_new(aa, 2));
    gw_risk_set_t *s = gw_risk_set_new(ab, 1);
    size_t idx = 9;
    assert_ptr_equal(gw_risk_set_find(s, "same", &idx), a);
    assert_int_equal(idx, 0);
    assert_null(gw_risk_set_find(s, "nope", NULL));
    assert_null(gw_risk_set_list(s, 1));
    assert_int_equal(gw_risk_set_size(s), 1);
    gw_risk_set_free(s);
    gw_risk_list_free(b);
    assert_null(gw_risk_list_parse("", GW_FMT_DOMAINS, GW_RISK_BLOCK, "", 0, NULL));
    assert_null(gw_risk_list_parse("x", (gw_list_format_t)9, GW_RISK_BLOCK, "", 0, NULL));
    assert_string_equal(gw_risk_format_name(GW_FMT_URLS), "urls");
    assert_string_equal(gw_risk_action_name(GW_RISK_ALLOW), "allow");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_normalize_length_limits),
        cmocka_unit_test(test_psl_idn_cases),
        cmocka_unit_test(test_psl_cases_as_lists),
        cmocka_unit_test(test_suffix_flag_matches_libpsl),
        cmocka_unit_test(test_suffix_matching),
        cmocka_unit_test(test_idn_entries),
        cmocka_unit_test(test_ip_literals),
        cmocka_unit_test(test_label_counts),
        cmocka_unit_test(test_table_shrinks),
        cmocka_unit_test(test_lists_vs_reference),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_url_entries),
        cmocka_unit_test(test_url_groups_vs_scan),
        cmocka_unit_test(test_abp_urlhaus),
        cmocka_unit_test(test_abp_badware),
        cmocka_unit_test(test_abp_syntax),
        cmocka_unit_test(test_domains_format),
        cmocka_unit_test(test_hosts_format),
        cmocka_unit_test(test_urls_format),
        cmocka_unit_test(test_rejects_kept),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_edit),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_set_new),
        cmocka_unit_test_setup_teardown(test_files, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_file_pieces, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_writers, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
