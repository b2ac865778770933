/*
 * abp — Adblock Plus / uBlock Origin network rules: parser, index and matcher.
 *
 * Syntax understood (everything else is counted and skipped, never half-read):
 *   `||host^…` host anchor: the pattern starts where the URL's host starts or right after a
 *   '.' inside the host; `|…` start anchor; `…|` end anchor; `*` any run of bytes; `^`
 *   separator: one byte that is not a letter, digit, `_ - . %`, or the end of the URL;
 *   `@@` exception; options `$[~]third-party|3p`, `$[~]first-party|1p`, type options
 *   (`image script stylesheet|css object xmlhttprequest|xhr subdocument|frame ping|beacon
 *   websocket media font other document|doc popup all`, negatable with `~`),
 *   `domain=|from=a.com|~b.com|google.*`, `important`, `match-case`, `badfilter`;
 *   preprocessor `!#if / !#else / !#endif` (a bare token is false, `!token` true: this is
 *   not uBlock and has no env_* or cap_* capability; compound conditions are false).
 * Skipped: `/regex/` rules, cosmetic and scriptlet rules (`##`, `#@#`, `#?#`, `#$#`, `#%#`,
 * `$$`), rules with any other option (`redirect=`, `csp=`, `removeparam`, `rewrite=`,
 * `generichide`, `denyallow=`, `to=`, `method=`, …), popup-only rules, and exceptions with
 * `$document` alone (uBlock's page-level allow-listing, which a request matcher cannot express;
 * the other types of `@@…$document,subdocument` load as an exception of those types).
 *
 * `||host^` where host has only host-name characters means "the URL's host is host or one
 * of its subdomains" (uBlock's reading; Adblock Plus' regex would also let `^` match a ','
 * or '$' inside a malformed host such as "a.com,x", which no DNS name contains).
 * Matching is case-insensitive (ASCII) unless `$match-case`. A rule without type option
 * applies to every type but `document` (Adblock Plus semantics). `$domain=` looks at the
 * page's host, or the request's own host for a top-level navigation; the longest matching
 * entry decides (negated: no), else the rule applies iff it lists no positive entry.
 * Third-party means different registrable domains (libpsl). A block rule is overridden by
 * any matching exception of any list (uBlock merges lists the same way) unless the block
 * rule is `$important` and the exception is not. Every matching block rule counts, so a URL
 * listed by two lists reports both categories.
 *
 * Index (uBlock / adblock-rust style). `||host^` rules with only host characters (most of
 * both lists) go into a host table keyed by a hash of the host name computed right to left,
 * so one pass over the request host probes every label suffix (a.b.c, b.c, c). Every other
 * rule is keyed by one token of its pattern: a maximal run of [a-z0-9%] whose ends are
 * pinned by a non-token byte, `^`, or an anchor (so it is a whole token of every URL the
 * rule matches); of its candidates the one fewest rules share wins, with ubiquitous URL
 * tokens (http, www, com, js …) penalised. At match time each token of the URL is hashed
 * and only that bucket is checked, starting the pattern at the token's position when no
 * `*` precedes the token. Rules with no usable token are checked for every URL. Tables are
 * open-addressed (load <= 1/2) with a bitmap in front of the block tables; exceptions have
 * their own tables, probed only when a block rule matched.
 */
#include <errno.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "abp.h"

/* ---- rules ------------------------------------------------------------------------ */

enum {
    R_HOST_ANCHOR = 1 << 0,
    R_START_ANCHOR = 1 << 1,
    R_END_ANCHOR = 1 << 2,
    R_EXCEPTION = 1 << 3,
    R_IMPORTANT = 1 << 4,
    R_MATCH_CASE = 1 << 5,
    R_HOST_ONLY = 1 << 6,   /* "||host^": pattern is the lower-case host name, in the host table */
    R_DISABLED = 1 << 7,    /* removed by a $badfilter rule */
    R_BADFILTER = 1 << 8,   /* a $badfilter rule itself: never matches */
    R_DOM_POS = 1 << 9,     /* $domain= has a positive entry */
    R_DOM_HASHED = 1 << 10, /* $domain= entries are in the domain table (many, no entity) */
};
#define DOM_HASH_MIN 5 /* rules with this many $domain= entries use the domain table */
#define MAX_LABELS 32
enum { P_FIRST = 1, P_THIRD = 2, P_BOTH = 3 };
#define NO_TOK_OFF 0xffffu
#define T_ALL ((uint16_t)((1u << GW_ABP_TYPE_COUNT) - 1))
#define T_DEFAULT ((uint16_t)(T_ALL & ~(1u << GW_ABP_DOCUMENT)))
#define COND_MAX 16
#define NOPOS SIZE_MAX

typedef struct st_rule_t {
    uint32_t text, pat; /* offsets into the text arena: the line as written, the pattern */
    uint32_t dom;       /* first $domain= entry in doms */
    uint32_t line;
    uint16_t text_len, pat_len, ndom, types, flags, list, tok_off;
    uint8_t party, category;
} rule_t;

typedef struct st_dom_t {
    uint32_t off; /* lower-case name in the text arena, without "~" and without ".*" */
    uint16_t len;
    uint8_t neg, entity;
} dom_t;

typedef struct st_slot_t {
    uint32_t hash, start, count; /* count == 0: empty slot */
} slot_t;

typedef struct st_table_t {
    slot_t *slots;
    uint32_t mask;
    uint32_t *ids;
    uint64_t *bits; /* presence bitmap in front of the slots: 16 bits per key */
    uint32_t bits_mask;
} table_t;

struct st_gw_abp_t {
    char *text;
    rule_t *rules;
    uint32_t nrules;
    dom_t *doms;
    char **lists;
    unsigned nlists;
    table_t host[2], tok[2]; /* [0] block rules, [1] exceptions */
    uint32_t *any[2], nany[2];
    uint32_t *dtab, dmask; /* domain table: dom index by (rule id, name) hash; UINT32_MAX empty */
    psl_ctx_t *psl;
    gw_abp_info_t info;
};

struct st_gw_abp_builder_t {
    char *text;
    size_t text_len, text_cap;
    rule_t *rules;
    size_t nrules, rules_cap;
    dom_t *doms;
    size_t ndoms, doms_cap;
    char **lists;
    size_t nlists, lists_cap;
    uint64_t *bad; /* hashes of the rule texts $badfilter rules disable */
    size_t nbad, bad_cap;
    uint64_t bad_len[GW_ABP_MAX_LINE / 64 + 1]; /* lengths of those texts (only they are hashed) */
    /* the open list */
    int open;
    unsigned category, lineno;
    char *lb; /* a line split across feeds (at most GW_ABP_MAX_LINE bytes kept) */
    size_t lb_len, lb_raw;
    int cond_depth, cond_false_depth; /* !#if nesting; depth at which a false block began (0: none) */
    uint8_t cond_seen_else[COND_MAX + 1];
    gw_abp_stats_t st;
};

/* ---- small helpers --------------------------------------------------------------- */

static inline unsigned char
lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline int
is_tok(unsigned char c)
{
    c = lc(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '%';
}

/* Adblock Plus: a separator is anything but a letter, a digit, or one of _ - . % */
static inline int
is_sep(unsigned char c)
{
    return !(is_tok(c) || c == '_' || c == '-' || c == '.');
}

static inline uint32_t
fmix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static uint32_t
tok_hash(const char *s, size_t n)
{
    uint32_t h = FNV_BASIS;
    for (size_t i = 0; i != n; ++i)
        h = (h ^ lc((unsigned char)s[i])) * FNV_PRIME;
    return fmix(h);
}

/* Host names hash right to left, so the URL's host suffixes come out of one pass. */
static uint32_t
host_hash(const char *s, size_t n)
{
    uint32_t h = FNV_BASIS;
    while (n != 0)
        h = (h ^ lc((unsigned char)s[--n])) * FNV_PRIME;
    return fmix(h);
}

static uint64_t
text_hash64(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i != n; ++i)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int
ci_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return 0;
    return 1;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- names ------------------------------------------------------------------------ */

static const char *const type_names[GW_ABP_TYPE_COUNT] = {"other",          "image",       "script",     "ping",
                                                          "xmlhttprequest", "subdocument", "stylesheet", "font",
                                                          "media",          "object",      "websocket",  "document"};

const char *
gw_abp_type_str(gw_abp_type_t type)
{
    return (unsigned)type < GW_ABP_TYPE_COUNT ? type_names[type] : "?";
}

const char *
gw_abp_reason_str(gw_abp_reason_t reason)
{
    static const char *const s[GW_ABP_REASON_COUNT] = {
        "loaded",
        "comment",
        "cosmetic or scriptlet rule",
        "regular expression",
        "unsupported option",
        "popup-only rule",
        "inside a false !#if block",
        "line too long",
        "control character or blank in the rule",
        "empty pattern",
        "malformed option",
        "unbalanced !#if directive",
    };
    return (unsigned)reason < GW_ABP_REASON_COUNT ? s[reason] : "?";
}

/* ---- building: arenas ------------------------------------------------------------- */

gw_abp_builder_t *
gw_abp_builder_new(void)
{
    return calloc(1, sizeof(gw_abp_builder_t));
}

void
gw_abp_builder_free(gw_abp_builder_t *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i != b->nlists; ++i)
        free(b->lists[i]);
    free(b->lists);
    free(b->text);
    free(b->rules);
    free(b->doms);
    free(b->bad);
    free(b->lb);
    free(b);
}

/* Appends n bytes to the text arena; returns the offset or -1 (out of memory or > 4 GiB). */
static int64_t
text_add(gw_abp_builder_t *b, const char *s, size_t n, int lower)
{
    if (b->text_len + n > UINT32_MAX || grow((void **)&b->text, &b->text_cap, b->text_len + n, 1) != 0)
        return -1;
    char *d = b->text + b->text_len;
    for (size_t i = 0; i != n; ++i)
        d[i] = lower ? (char)lc((unsigned char)s[i]) : s[i];
    b->text_len += n;
    return (int64_t)(b->text_len - n);
}

/* ---- building: one line ----------------------------------------------------------- */

typedef struct st_parsed_t {
    uint16_t types, flags;
    uint8_t party;
    int badfilter;
    size_t dom_len[8]; /* raw $domain= values, each as "a|~b" (up to 8 such options) */
    const char *dom_s[8];
    int ndomopt;
} parsed_t;

static int
opt_is(const char *s, size_t n, const char *name)
{
    size_t l = strlen(name);
    return n == l && memcmp(s, name, l) == 0;
}

static int
type_bit(const char *s, size_t n, int *popup)
{
    static const struct {
        const char *name;
        int type;
    } t[] = {{"image", GW_ABP_IMAGE},
             {"script", GW_ABP_SCRIPT},
             {"stylesheet", GW_ABP_STYLESHEET},
             {"css", GW_ABP_STYLESHEET},
             {"object", GW_ABP_OBJECT},
             {"object-subrequest", GW_ABP_OBJECT},
             {"xmlhttprequest", GW_ABP_XHR},
             {"xhr", GW_ABP_XHR},
             {"subdocument", GW_ABP_SUBDOCUMENT},
             {"frame", GW_ABP_SUBDOCUMENT},
             {"ping", GW_ABP_PING},
             {"beacon", GW_ABP_PING},
             {"websocket", GW_ABP_WEBSOCKET},
             {"media", GW_ABP_MEDIA},
             {"font", GW_ABP_FONT},
             {"other", GW_ABP_OTHER},
             {"document", GW_ABP_DOCUMENT},
             {"doc", GW_ABP_DOCUMENT},
             {NULL, 0}};
    *popup = 0;
    if (opt_is(s, n, "popup")) {
        *popup = 1;
        return 0;
    }
    for (size_t i = 0; t[i].name != NULL; ++i)
        if (opt_is(s, n, t[i].name))
            return 1 << t[i].type;
    return -1;
}

/* Parses the options after '$'. Returns GW_ABP_LOADED or the reason to drop the rule. */
static gw_abp_reason_t
parse_options(const char *s, size_t n, int exception, parsed_t *p)
{
    uint16_t pos = 0, neg = 0;
    int party_first = 0, party_third = 0, popup_pos = 0;
    gw_abp_reason_t skip = GW_ABP_LOADED;

    if (n == 0)
        return GW_ABP_BAD_OPTION;
    for (size_t i = 0; i <= n;) {
        size_t e = i;
        while (e < n && s[e] != ',')
            ++e;
        const char *o = s + i;
        size_t ol = e - i;
        i = e + 1;
        int tilde = 0, popup;
        if (ol == 0)
            return GW_ABP_BAD_OPTION;
        if (o[0] == '~')
            tilde = 1, ++o, --ol;
        if (ol == 0)
            return GW_ABP_BAD_OPTION;
        const char *eq = memchr(o, '=', ol);
        size_t nl = eq ? (size_t)(eq - o) : ol;
        int b = type_bit(o, nl, &popup);
        if (b >= 0) {
            if (eq != NULL)
                return GW_ABP_BAD_OPTION;
            if (popup)
                popup_pos |= !tilde;
            else if (tilde)
                neg |= (uint16_t)b;
            else
                pos |= (uint16_t)b;
        } else if (opt_is(o, nl, "third-party") || opt_is(o, nl, "3p") || opt_is(o, nl, "first-party") || opt_is(o, nl, "1p")) {
            int third = o[0] == 't' || o[0] == '3';
            if (eq != NULL)
                return GW_ABP_BAD_OPTION;
            if (third != tilde)
                party_third = 1;
            else
                party_first = 1;
        } else if (opt_is(o, nl, "domain") || opt_is(o, nl, "from")) {
            if (tilde || eq == NULL || eq + 1 == o + ol)
                return GW_ABP_BAD_OPTION;
            if (p->ndomopt == 8)
                return GW_ABP_BAD_OPTION;
            p->dom_s[p->ndomopt] = eq + 1;
            p->dom_len[p->ndomopt++] = (size_t)(o + ol - eq - 1);
        } else if (opt_is(o, nl, "important") || opt_is(o, nl, "match-case") || opt_is(o, nl, "badfilter")) {
            if (tilde || eq != NULL)
                return GW_ABP_BAD_OPTION;
            if (o[0] == 'i')
                p->flags |= R_IMPORTANT;
            else if (o[0] == 'm')
                p->flags |= R_MATCH_CASE;
            else
                p->badfilter = 1;
        } else if (opt_is(o, nl, "all")) {
            if (tilde || eq != NULL)
                return GW_ABP_BAD_OPTION;
            pos |= T_ALL;
        } else if (skip == GW_ABP_LOADED) {
            skip = GW_ABP_SKIP_OPTION; /* keep reading: a syntax error elsewhere wins */
        }
    }
    if (skip != GW_ABP_LOADED)
        return skip;
    if (party_first && party_third)
        return GW_ABP_BAD_OPTION;
    p->party = party_first ? P_FIRST : party_third ? P_THIRD : P_BOTH;
    if (pos == 0 && popup_pos)
        return GW_ABP_SKIP_POPUP;
    if (exception && (pos & (1u << GW_ABP_DOCUMENT))) {
        /* page-level allow-listing, which a request matcher cannot express; the other types it names are ordinary
         * exceptions, as uBlock reads them: "@@||x.com/banners/$document,subdocument" lets a page's frame load */
        pos &= (uint16_t) ~(1u << GW_ABP_DOCUMENT);
        if ((pos & ~neg) == 0)
            return GW_ABP_SKIP_OPTION;
    }
    p->types = (uint16_t)((pos ? pos : T_DEFAULT) & ~neg);
    if (p->types == 0)
        return GW_ABP_BAD_OPTION;
    return GW_ABP_LOADED;
}

/* Stores the $domain= entries. Returns GW_ABP_LOADED, a skip / malformed reason, or
 * GW_ABP_REASON_COUNT when out of memory. */
static gw_abp_reason_t
store_domains(gw_abp_builder_t *b, const parsed_t *p, rule_t *r)
{
    r->dom = (uint32_t)b->ndoms;
    for (int k = 0; k != p->ndomopt; ++k) {
        const char *s = p->dom_s[k];
        size_t n = p->dom_len[k];
        for (size_t i = 0; i <= n;) {
            size_t e = i;
            while (e < n && s[e] != '|')
                ++e;
            const char *d = s + i;
            size_t dl = e - i;
            i = e + 1;
            dom_t x = {0, 0, 0, 0};
            if (dl != 0 && d[0] == '~')
                x.neg = 1, ++d, --dl;
            if (dl != 0 && d[0] == '/')
                return GW_ABP_SKIP_REGEX;
            if (dl >= 2 && d[dl - 1] == '*' && d[dl - 2] == '.')
                x.entity = 1, dl -= 2;
            if (dl == 0 || memchr(d, '*', dl) != NULL)
                return GW_ABP_BAD_OPTION;
            int64_t off = text_add(b, d, dl, 1);
            if (off < 0 || grow((void **)&b->doms, &b->doms_cap, b->ndoms + 1, sizeof(dom_t)) != 0)
                return GW_ABP_REASON_COUNT;
            x.off = (uint32_t)off;
            x.len = (uint16_t)dl;
            b->doms[b->ndoms++] = x;
        }
    }
    if (b->ndoms - r->dom > UINT16_MAX)
        return GW_ABP_BAD_OPTION;
    r->ndom = (uint16_t)(b->ndoms - r->dom);
    return GW_ABP_LOADED;
}

/* Is there a cosmetic / scriptlet / HTML-filter separator in the line? */
static int
is_cosmetic(const char *s, size_t n)
{
    for (const char *p = memchr(s, '#', n); p != NULL; p = memchr(p + 1, '#', (size_t)(s + n - p - 1))) {
        const char *q = p + 1, *end = s + n;
        if (q < end && *q == '@')
            ++q;
        if (q < end && (*q == '?' || *q == '$' || *q == '%'))
            ++q;
        if (q < end && *q == '?')
            ++q;
        if (q < end && *q == '#')
            return 1;
        if (p + 1 == end)
            break;
    }
    for (size_t i = 0; i + 1 < n; ++i)
        if (s[i] == '$' && (s[i + 1] == '$' || (s[i + 1] == '@' && i + 2 < n && s[i + 2] == '$')))
            return 1;
    return 0;
}

static int
cond_eval(const char *s, size_t n)
{
    while (n != 0 && (*s == ' ' || *s == '\t'))
        ++s, --n;
    int neg = 0;
    if (n != 0 && *s == '!')
        neg = 1, ++s, --n;
    if (n == 0)
        return 0;
    for (size_t i = 0; i != n; ++i)
        if (!(is_tok((unsigned char)s[i]) || s[i] == '_'))
            return 0; /* compound or odd expression: false */
    return neg;
}

/* "!#if …", "!#else", "!#endif". Returns the line's reason. */
static gw_abp_reason_t
directive(gw_abp_builder_t *b, const char *s, size_t n)
{
    if (n >= 5 && memcmp(s, "!#if ", 5) == 0) {
        if (b->cond_depth == COND_MAX)
            return GW_ABP_BAD_DIRECTIVE;
        ++b->cond_depth;
        b->cond_seen_else[b->cond_depth] = 0;
        if (b->cond_false_depth == 0 && !cond_eval(s + 5, n - 5))
            b->cond_false_depth = b->cond_depth;
        return GW_ABP_COMMENT;
    }
    if (n == 6 && memcmp(s, "!#else", 6) == 0) {
        if (b->cond_depth == 0 || b->cond_seen_else[b->cond_depth])
            return GW_ABP_BAD_DIRECTIVE;
        b->cond_seen_else[b->cond_depth] = 1;
        if (b->cond_false_depth == b->cond_depth)
            b->cond_false_depth = 0;
        else if (b->cond_false_depth == 0)
            b->cond_false_depth = b->cond_depth;
        return GW_ABP_COMMENT;
    }
    if (n == 7 && memcmp(s, "!#endif", 7) == 0) {
        if (b->cond_depth == 0)
            return GW_ABP_BAD_DIRECTIVE;
        if (b->cond_false_depth == b->cond_depth)
            b->cond_false_depth = 0;
        --b->cond_depth;
        return GW_ABP_COMMENT;
    }
    return GW_ABP_COMMENT; /* "!#include" and plain comments */
}

/* Parses one trimmed, non-empty, non-comment line into a rule. Returns its reason, or
 * GW_ABP_REASON_COUNT when out of memory. */
static gw_abp_reason_t
parse_rule(gw_abp_builder_t *b, const char *line, size_t n)
{
    parsed_t p;
    rule_t r;
    const char *s = line;
    gw_abp_reason_t why;

    memset(&p, 0, sizeof(p));
    memset(&r, 0, sizeof(r));
    for (size_t i = 0; i != n; ++i)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            return GW_ABP_BAD_CONTROL;
    if (is_cosmetic(line, n))
        return GW_ABP_SKIP_COSMETIC;
    if (line[0] == '#')
        return GW_ABP_COMMENT;
    if (n >= 2 && s[0] == '@' && s[1] == '@')
        r.flags |= R_EXCEPTION, s += 2, n -= 2;

    /* options: after the last '$' */
    const char *dollar = NULL;
    for (size_t i = n; i != 0; --i)
        if (s[i - 1] == '$') {
            dollar = s + i - 1;
            break;
        }
    size_t plen = dollar ? (size_t)(dollar - s) : n;
    if (n >= 2 && s[0] == '/' && ((plen >= 2 && s[plen - 1] == '/') || s[n - 1] == '/'))
        return GW_ABP_SKIP_REGEX;
    if (dollar != NULL) {
        why = parse_options(dollar + 1, (size_t)(s + n - dollar - 1), (r.flags & R_EXCEPTION) != 0, &p);
        if (why != GW_ABP_LOADED)
            return why;
    } else {
        p.types = T_DEFAULT;
        p.party = P_BOTH;
    }
    r.flags |= p.flags;

    /* pattern: anchors, then '*' at loose ends */
    const char *pat = s;
    if (plen >= 2 && pat[0] == '|' && pat[1] == '|')
        r.flags |= R_HOST_ANCHOR, pat += 2, plen -= 2;
    else if (plen >= 1 && pat[0] == '|')
        r.flags |= R_START_ANCHOR, pat += 1, plen -= 1;
    if (plen >= 1 && pat[plen - 1] == '|')
        r.flags |= R_END_ANCHOR, plen -= 1;
    if (!(r.flags & (R_HOST_ANCHOR | R_START_ANCHOR)))
        while (plen != 0 && pat[0] == '*')
            ++pat, --plen;
    if (!(r.flags & R_END_ANCHOR))
        while (plen != 0 && pat[plen - 1] == '*')
            --plen;
    int literal = 0;
    for (size_t i = 0; i != plen; ++i) {
        if (pat[i] == ' ' || pat[i] == '\t')
            return GW_ABP_BAD_CONTROL;
        if (pat[i] != '*' && pat[i] != '^')
            literal = 1;
    }
    if (!literal && p.types == T_DEFAULT && p.party == P_BOTH && p.ndomopt == 0)
        return GW_ABP_BAD_EMPTY; /* would match every request */

    /* "||host^": the host table */
    if ((r.flags & (R_HOST_ANCHOR | R_END_ANCHOR | R_MATCH_CASE)) == R_HOST_ANCHOR && plen >= 2 && pat[plen - 1] == '^' &&
        is_tok((unsigned char)pat[0])) {
        size_t i = 0;
        while (i + 1 < plen && (is_tok((unsigned char)pat[i]) || pat[i] == '.' || pat[i] == '-' || pat[i] == '_'))
            ++i;
        if (i + 1 == plen && pat[plen - 2] != '.')
            r.flags |= R_HOST_ONLY, --plen;
    }

    /* store: text as written, pattern (lower case unless $match-case), domains */
    int64_t toff = text_add(b, line, (size_t)(s + n - line), 0);
    if (toff < 0)
        return GW_ABP_REASON_COUNT;
    r.text = (uint32_t)toff;
    r.text_len = (uint16_t)(s + n - line);
    size_t at = (size_t)(pat - line);
    int same = 1;
    if (!(r.flags & R_MATCH_CASE))
        for (size_t i = 0; i != plen && same; ++i)
            same = lc((unsigned char)pat[i]) == (unsigned char)pat[i];
    if (same) {
        r.pat = r.text + (uint32_t)at;
    } else {
        int64_t poff = text_add(b, pat, plen, 1);
        if (poff < 0)
            return GW_ABP_REASON_COUNT;
        r.pat = (uint32_t)poff;
    }
    r.pat_len = (uint16_t)plen;
    r.types = p.types;
    r.party = p.party;
    r.category = (uint8_t)b->category;
    r.list = (uint16_t)(b->nlists - 1);
    r.line = b->lineno;
    r.tok_off = NO_TOK_OFF;
    size_t ndoms0 = b->ndoms;
    why = store_domains(b, &p, &r);
    if (why != GW_ABP_LOADED) {
        b->ndoms = ndoms0;
        b->text_len = r.text; /* drop what this line stored */
        return why;
    }
    if (p.badfilter) {
        /* the rule it disables is this text without the badfilter option */
        char tmp[GW_ABP_MAX_LINE];
        size_t tl = 0, ol = (size_t)(line + r.text_len - dollar - 1);
        const char *o = dollar + 1;
        memcpy(tmp, line, (size_t)(dollar - line));
        tl = (size_t)(dollar - line);
        int first = 1;
        for (size_t i = 0; i <= ol;) {
            size_t e = i;
            while (e < ol && o[e] != ',')
                ++e;
            if (!opt_is(o + i, e - i, "badfilter")) {
                tmp[tl++] = first ? '$' : ',';
                memcpy(tmp + tl, o + i, e - i);
                tl += e - i;
                first = 0;
            }
            i = e + 1;
        }
        if (grow((void **)&b->bad, &b->bad_cap, b->nbad + 1, sizeof(uint64_t)) != 0)
            return GW_ABP_REASON_COUNT;
        b->bad[b->nbad++] = text_hash64(tmp, tl);
        b->bad_len[tl / 64] |= 1ull << (tl % 64);
        r.flags |= R_BADFILTER;
    }
    if (grow((void **)&b->rules, &b->rules_cap, b->nrules + 1, sizeof(rule_t)) != 0 || b->nrules == UINT32_MAX - 1)
        return GW_ABP_REASON_COUNT;
    b->rules[b->nrules++] = r;
    if (r.flags & R_EXCEPTION)
        ++b->st.exceptions;
    return GW_ABP_LOADED;
}

static void
report(gw_abp_line_report_t *rep, size_t *nrep, unsigned lineno, gw_abp_reason_t why, const char *s, size_t n)
{
    if (*nrep == GW_ABP_REPORT_MAX)
        return;
    gw_abp_line_report_t *e = &rep[(*nrep)++];
    e->line = lineno;
    e->reason = why;
    if (n > GW_ABP_REPORT_TEXT - 1)
        n = GW_ABP_REPORT_TEXT - 1;
    memcpy(e->text, s, n);
    e->text[n] = '\0';
}

/* One raw line (without '\n'); raw_len may exceed the bytes kept when it is too long. */
static int
process_line(gw_abp_builder_t *b, const char *s, size_t n, size_t raw_len)
{
    gw_abp_reason_t why;
    ++b->lineno;
    ++b->st.lines;
    while (n != 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        --n;
    while (n != 0 && (s[0] == ' ' || s[0] == '\t'))
        ++s, --n;
    if (raw_len > GW_ABP_MAX_LINE)
        why = GW_ABP_BAD_TOO_LONG;
    else if (n == 0 || s[0] == '[')
        why = GW_ABP_COMMENT;
    else if (s[0] == '!')
        why = directive(b, s, n);
    else if (b->cond_false_depth != 0)
        why = GW_ABP_SKIP_CONDITIONAL;
    else
        why = parse_rule(b, s, n);
    if (why == GW_ABP_REASON_COUNT)
        return -1;
    ++b->st.by_reason[why];
    if (why == GW_ABP_LOADED)
        ++b->st.loaded;
    else if (why == GW_ABP_COMMENT)
        ++b->st.ignored;
    else if (why < GW_ABP_BAD_TOO_LONG) {
        ++b->st.skipped;
        report(b->st.skipped_report, &b->st.n_skipped_report, b->lineno, why, s, n);
    } else {
        ++b->st.malformed;
        report(b->st.malformed_report, &b->st.n_malformed_report, b->lineno, why, s, n);
    }
    return 0;
}

int
gw_abp_builder_begin(gw_abp_builder_t *b, unsigned category, const char *name)
{
    if (b == NULL || b->open || category >= GW_ABP_MAX_CATEGORIES || b->nlists == UINT16_MAX)
        return -1;
    if (grow((void **)&b->lists, &b->lists_cap, b->nlists + 1, sizeof(char *)) != 0)
        return -1;
    if ((b->lists[b->nlists] = strdup(name ? name : "")) == NULL)
        return -1;
    if (b->lb == NULL && (b->lb = malloc(GW_ABP_MAX_LINE)) == NULL) {
        free(b->lists[b->nlists]);
        return -1;
    }
    ++b->nlists;
    b->open = 1;
    b->category = category;
    b->lineno = 0;
    b->lb_len = b->lb_raw = 0;
    b->cond_depth = b->cond_false_depth = 0;
    memset(&b->st, 0, sizeof(b->st));
    return 0;
}

int
gw_abp_builder_feed(gw_abp_builder_t *b, const char *buf, size_t len)
{
    if (b == NULL || !b->open || (buf == NULL && len != 0))
        return -1;
    /* size hints (failure is harmless: the arenas grow when needed): the rules' text is
     * at most the text fed, plus copies of patterns and domains; a rule line is ~30 bytes */
    if (len < UINT32_MAX - b->text_len) {
        grow((void **)&b->text, &b->text_cap, b->text_len + len, 1);
        grow((void **)&b->rules, &b->rules_cap, b->nrules + len / 32, sizeof(rule_t));
    }
    while (len != 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t seg = nl ? (size_t)(nl - buf) : len;
        if (nl != NULL && b->lb_raw == 0) {
            if (process_line(b, buf, seg < GW_ABP_MAX_LINE ? seg : GW_ABP_MAX_LINE, seg) != 0)
                return -1;
        } else {
            size_t keep = GW_ABP_MAX_LINE - b->lb_len;
            if (keep > seg)
                keep = seg;
            memcpy(b->lb + b->lb_len, buf, keep);
            b->lb_len += keep;
            b->lb_raw += seg;
            if (nl != NULL) {
                if (process_line(b, b->lb, b->lb_len, b->lb_raw) != 0)
                    return -1;
                b->lb_len = b->lb_raw = 0;
            }
        }
        if (nl == NULL)
            break;
        buf += seg + 1;
        len -= seg + 1;
    }
    return 0;
}

int
gw_abp_builder_end(gw_abp_builder_t *b, gw_abp_stats_t *stats)
{
    if (b == NULL || !b->open)
        return -1;
    int rc = 0;
    if (b->lb_raw != 0)
        rc = process_line(b, b->lb, b->lb_len, b->lb_raw);
    b->lb_len = b->lb_raw = 0;
    b->open = 0;
    if (stats != NULL)
        *stats = b->st;
    return rc;
}

int
gw_abp_builder_add_buffer(gw_abp_builder_t *b, const char *buf, size_t len, unsigned category, const char *name,
                          gw_abp_stats_t *stats)
{
    if (gw_abp_builder_begin(b, category, name) != 0)
        return -1;
    int rc = gw_abp_builder_feed(b, buf, len);
    if (gw_abp_builder_end(b, stats) != 0)
        rc = -1;
    return rc;
}

int
gw_abp_builder_add_file(gw_abp_builder_t *b, const char *path, unsigned category, const char *name, gw_abp_stats_t *stats)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    int rc = -1, saved;
    char *buf = NULL;
    long sz;
    if (fseek(fp, 0, SEEK_END) == 0 && (sz = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)sz + 1)) != NULL) {
        if (fread(buf, 1, (size_t)sz, fp) == (size_t)sz)
            rc = gw_abp_builder_add_buffer(b, buf, (size_t)sz, category, name ? name : path, stats);
        else
            errno = EIO;
    }
    saved = errno;
    free(buf);
    fclose(fp);
    errno = saved;
    return rc;
}

/* ---- index ------------------------------------------------------------------------ */

typedef struct st_pair_t {
    uint32_t hash, id;
} pair_t;

static int
cmp_pair(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts pairs by (hash, id): qsort for small sets, else two stable 16-bit radix passes
 * (pairs arrive in id order). Returns 0 or -1 (out of memory). */
static int
sort_pairs(pair_t *p, size_t n)
{
    if (n < 65536) {
        qsort(p, n, sizeof(pair_t), cmp_pair);
        return 0;
    }
    pair_t *tmp = malloc((n ? n : 1) * sizeof(pair_t));
    uint32_t *cnt = malloc(65536 * sizeof(uint32_t));
    if (tmp == NULL || cnt == NULL) {
        free(tmp);
        free(cnt);
        return -1;
    }
    pair_t *from = p, *to = tmp;
    for (int shift = 0; shift != 32; shift += 16) {
        uint32_t sum = 0;
        memset(cnt, 0, 65536 * sizeof(uint32_t));
        for (size_t i = 0; i != n; ++i)
            ++cnt[(from[i].hash >> shift) & 0xffff];
        for (size_t k = 0; k != 65536; ++k) {
            uint32_t c = cnt[k];
            cnt[k] = sum;
            sum += c;
        }
        for (size_t i = 0; i != n; ++i)
            to[cnt[(from[i].hash >> shift) & 0xffff]++] = from[i];
        pair_t *t = from;
        from = to;
        to = t;
    }
    free(tmp); /* after two passes the result is back in p */
    free(cnt);
    return 0;
}

/* Builds t from pairs (sorted here). Returns 0 or -1 (out of memory). */
static int
table_build(table_t *t, pair_t *pairs, size_t n, size_t *bytes)
{
    size_t keys = 0, cap = 16, words = 1;
    if (sort_pairs(pairs, n) != 0)
        return -1;
    for (size_t i = 0; i != n; ++i)
        keys += i == 0 || pairs[i].hash != pairs[i - 1].hash;
    while (cap < 2 * keys)
        cap *= 2;
    while (words * 64 < 16 * keys)
        words *= 2;
    t->slots = calloc(cap, sizeof(slot_t));
    t->ids = malloc((n ? n : 1) * sizeof(uint32_t));
    t->bits = calloc(words, sizeof(uint64_t));
    if (t->slots == NULL || t->ids == NULL || t->bits == NULL)
        return -1;
    t->mask = (uint32_t)(cap - 1);
    t->bits_mask = (uint32_t)(words - 1);
    *bytes += cap * sizeof(slot_t) + (n ? n : 1) * sizeof(uint32_t) + words * sizeof(uint64_t);
    for (size_t i = 0; i != n;) {
        size_t j = i;
        while (j != n && pairs[j].hash == pairs[i].hash) {
            t->ids[j] = pairs[j].id;
            ++j;
        }
        uint32_t h = pairs[i].hash, k = h & t->mask;
        while (t->slots[k].count != 0)
            k = (k + 1) & t->mask;
        t->slots[k] = (slot_t){h, (uint32_t)i, (uint32_t)(j - i)};
        t->bits[(h >> 12) & t->bits_mask] |= 1ull << (h >> 26);
        i = j;
    }
    return 0;
}

static inline const uint32_t *
table_find(const table_t *t, uint32_t h, uint32_t *count)
{
    if (!(t->bits[(h >> 12) & t->bits_mask] & (1ull << (h >> 26))))
        return NULL;
    for (uint32_t k = h & t->mask; t->slots[k].count != 0; k = (k + 1) & t->mask)
        if (t->slots[k].hash == h) {
            *count = t->slots[k].count;
            return t->ids + t->slots[k].start;
        }
    return NULL;
}

static void
table_free(table_t *t)
{
    free(t->slots);
    free(t->ids);
    free(t->bits);
}

/*
 * Candidate index tokens of a pattern: maximal [a-z0-9%] runs whose both ends are pinned
 * (by a non-token byte other than '*', by '^', or by an anchor), so that the run is a
 * whole token of any URL the pattern matches. Iterate with *pos = 0; returns 1 per token.
 */
static int
next_token(const rule_t *r, const char *pat, size_t *pos, size_t *off, size_t *len)
{
    size_t n = r->pat_len, i = *pos;
    while (i < n) {
        while (i < n && !is_tok((unsigned char)pat[i]))
            ++i;
        size_t s = i;
        while (i < n && is_tok((unsigned char)pat[i]))
            ++i;
        if (s == i)
            break;
        int left = s == 0 ? (r->flags & (R_HOST_ANCHOR | R_START_ANCHOR)) != 0 : pat[s - 1] != '*';
        int right = i == n ? (r->flags & R_END_ANCHOR) != 0 : pat[i] != '*';
        if (left && right) {
            *pos = i;
            *off = s;
            *len = i - s;
            return 1;
        }
    }
    *pos = n;
    return 0;
}

/* Tokens so common in URLs that a bucket under them would be probed by nearly every URL. */
static int
bad_token(const char *s, size_t n)
{
    static const char *const bad[] = {"http", "https",  "www",    "com", "net", "org", "js", "html", "php", "static", "cdn",
                                      "img",  "images", "assets", "api", "de",  "uk",  "co", "io",   "min", "v1",     NULL};
    if (n <= 1)
        return 1;
    for (size_t i = 0; bad[i] != NULL; ++i)
        if (strlen(bad[i]) == n && ci_eq(bad[i], s, n))
            return 1;
    return 0;
}

typedef struct st_count_map_t {
    uint32_t *keys, *vals, mask;
} count_map_t;

static uint32_t *
count_slot(count_map_t *c, uint32_t h)
{
    uint32_t k = h & c->mask;
    while (c->vals[k] != 0 && c->keys[k] != h)
        k = (k + 1) & c->mask;
    c->keys[k] = h;
    return &c->vals[k];
}

static inline uint32_t
dom_key(uint32_t name_hash, uint32_t id)
{
    return fmix(name_hash ^ (id * 0x9e3779b9u));
}

/* Rules with many $domain= entries (a few list hundreds) get their entries hashed by
 * (rule, name), so a match probes once per label suffix of the page host instead of
 * comparing every entry. */
static int
dom_table_build(gw_abp_t *m)
{
    size_t n = 0, cap = 16;
    for (uint32_t id = 0; id != m->nrules; ++id) {
        rule_t *r = &m->rules[id];
        int entity = 0;
        for (uint32_t k = 0; k != r->ndom; ++k) {
            entity |= m->doms[r->dom + k].entity;
            if (!m->doms[r->dom + k].neg)
                r->flags |= R_DOM_POS;
        }
        if (r->ndom >= DOM_HASH_MIN && !entity && !(r->flags & (R_DISABLED | R_BADFILTER))) {
            r->flags |= R_DOM_HASHED;
            n += r->ndom;
        }
    }
    while (cap < 2 * n)
        cap *= 2;
    if ((m->dtab = malloc(cap * sizeof(uint32_t))) == NULL)
        return -1;
    memset(m->dtab, 0xff, cap * sizeof(uint32_t));
    m->dmask = (uint32_t)(cap - 1);
    m->info.bytes += cap * sizeof(uint32_t);
    for (uint32_t id = 0; id != m->nrules; ++id) {
        const rule_t *r = &m->rules[id];
        if (!(r->flags & R_DOM_HASHED))
            continue;
        for (uint32_t k = 0; k != r->ndom; ++k) {
            const dom_t *d = &m->doms[r->dom + k];
            uint32_t i = dom_key(host_hash(m->text + d->off, d->len), id) & m->dmask;
            while (m->dtab[i] != UINT32_MAX)
                i = (i + 1) & m->dmask;
            m->dtab[i] = r->dom + k;
        }
    }
    return 0;
}

static int
build_index(gw_abp_t *m)
{
    size_t ncand = 0, cap = 16, np[4] = {0, 0, 0, 0}, nany[2] = {0, 0};
    pair_t *pairs[4] = {NULL, NULL, NULL, NULL}; /* host block, host exc, tok block, tok exc */
    count_map_t cm = {NULL, NULL, 0};
    int rc = -1;

    for (uint32_t id = 0; id != m->nrules; ++id) {
        const rule_t *r = &m->rules[id];
        size_t pos = 0, off, len;
        if (!(r->flags & (R_DISABLED | R_BADFILTER | R_HOST_ONLY)))
            while (next_token(r, m->text + r->pat, &pos, &off, &len))
                ++ncand;
    }
    while (cap < 2 * ncand)
        cap *= 2;
    cm.keys = malloc(cap * sizeof(uint32_t));
    cm.vals = calloc(cap, sizeof(uint32_t));
    cm.mask = (uint32_t)(cap - 1);
    for (int k = 0; k != 4; ++k)
        pairs[k] = malloc((m->nrules ? m->nrules : 1) * sizeof(pair_t));
    for (int k = 0; k != 2; ++k)
        m->any[k] = malloc((m->nrules ? m->nrules : 1) * sizeof(uint32_t));
    if (cm.keys == NULL || cm.vals == NULL || !pairs[0] || !pairs[1] || !pairs[2] || !pairs[3] || !m->any[0] || !m->any[1])
        goto Exit;
    for (uint32_t id = 0; id != m->nrules; ++id) {
        const rule_t *r = &m->rules[id];
        size_t pos = 0, off, len;
        if (!(r->flags & (R_DISABLED | R_BADFILTER | R_HOST_ONLY)))
            while (next_token(r, m->text + r->pat, &pos, &off, &len))
                ++*count_slot(&cm, tok_hash(m->text + r->pat + off, len));
    }
    for (uint32_t id = 0; id != m->nrules; ++id) {
        rule_t *r = &m->rules[id];
        const char *pat = m->text + r->pat;
        int exc = (r->flags & R_EXCEPTION) != 0;
        if (r->flags & (R_DISABLED | R_BADFILTER))
            continue;
        if (r->flags & R_HOST_ONLY) {
            pairs[exc][np[exc]++] = (pair_t){host_hash(pat, r->pat_len), id};
            ++m->info.host_rules;
            continue;
        }
        size_t pos = 0, off, len, best_off = 0;
        uint64_t best = UINT64_MAX;
        uint32_t best_h = 0;
        while (next_token(r, pat, &pos, &off, &len)) {
            uint32_t h = tok_hash(pat + off, len);
            uint64_t score =
                (uint64_t)*count_slot(&cm, h) * 64 + (bad_token(pat + off, len) ? 1u << 30 : 0) + (len < 16 ? 16 - len : 0);
            if (score < best)
                best = score, best_h = h, best_off = off;
        }
        if (best == UINT64_MAX) {
            m->any[exc][nany[exc]++] = id;
            ++m->info.untokened;
            continue;
        }
        pairs[2 + exc][np[2 + exc]++] = (pair_t){best_h, id};
        ++m->info.token_rules;
        r->tok_off = memchr(pat, '*', best_off) == NULL ? (uint16_t)best_off : NO_TOK_OFF;
    }
    m->nany[0] = (uint32_t)nany[0];
    m->nany[1] = (uint32_t)nany[1];
    m->info.bytes += 2 * (m->nrules ? m->nrules : 1) * sizeof(uint32_t);
    if (dom_table_build(m) != 0)
        goto Exit;
    if (table_build(&m->host[0], pairs[0], np[0], &m->info.bytes) != 0 ||
        table_build(&m->host[1], pairs[1], np[1], &m->info.bytes) != 0 ||
        table_build(&m->tok[0], pairs[2], np[2], &m->info.bytes) != 0 ||
        table_build(&m->tok[1], pairs[3], np[3], &m->info.bytes) != 0)
        goto Exit;
    rc = 0;
Exit:
    free(cm.keys);
    free(cm.vals);
    for (int k = 0; k != 4; ++k)
        free(pairs[k]);
    return rc;
}

gw_abp_t *
gw_abp_builder_finish(gw_abp_builder_t *b)
{
    gw_abp_t *m = NULL;
    if (b == NULL || b->open || (m = calloc(1, sizeof(*m))) == NULL)
        goto Fail;
    /* hand the arenas over, the text trimmed to size (in place for large blocks) */
    if (b->text_len != 0 && b->text_len < b->text_cap) {
        char *t = realloc(b->text, b->text_len);
        if (t != NULL)
            b->text = t, b->text_cap = b->text_len;
    }
    m->text = b->text;
    b->text = NULL;
    m->rules = b->rules;
    b->rules = NULL;
    m->nrules = (uint32_t)b->nrules;
    m->doms = b->doms;
    b->doms = NULL;
    m->lists = b->lists;
    m->nlists = (unsigned)b->nlists;
    b->lists = NULL;
    b->nlists = 0;
    m->info.bytes =
        sizeof(*m) + b->text_cap + b->rules_cap * sizeof(rule_t) + b->doms_cap * sizeof(dom_t) + b->lists_cap * sizeof(char *);
    for (unsigned i = 0; i != m->nlists; ++i)
        m->info.bytes += strlen(m->lists[i]) + 1;

    if (b->nbad != 0) {
        qsort(b->bad, b->nbad, sizeof(uint64_t), cmp_u64);
        for (uint32_t id = 0; id != m->nrules; ++id) {
            rule_t *r = &m->rules[id];
            if ((r->flags & R_BADFILTER) || !(b->bad_len[r->text_len / 64] & (1ull << (r->text_len % 64))))
                continue;
            uint64_t h = text_hash64(m->text + r->text, r->text_len);
            if (bsearch(&h, b->bad, b->nbad, sizeof(uint64_t), cmp_u64) != NULL) {
                r->flags |= R_DISABLED;
                ++m->info.disabled;
            }
        }
    }
    for (uint32_t id = 0; id != m->nrules; ++id) {
        const rule_t *r = &m->rules[id];
        if (r->flags & R_BADFILTER)
            ++m->info.badfilters;
        else if (!(r->flags & R_DISABLED)) {
            ++m->info.rules;
            m->info.exceptions += (r->flags & R_EXCEPTION) != 0;
        }
    }
    if (build_index(m) != 0)
        goto Fail;
    if ((m->psl = psl_latest(NULL)) == NULL)
        m->psl = (psl_ctx_t *)psl_builtin();
    if (m->psl == NULL)
        goto Fail;
    gw_abp_builder_free(b);
    return m;
Fail:
    gw_abp_builder_free(b);
    gw_abp_free(m);
    return NULL;
}

void
gw_abp_free(gw_abp_t *m)
{
    if (m == NULL)
        return;
    for (int k = 0; k != 2; ++k) {
        table_free(&m->host[k]);
        table_free(&m->tok[k]);
        free(m->any[k]);
    }
    free(m->dtab);
    for (unsigned i = 0; i != m->nlists; ++i)
        free(m->lists[i]);
    free(m->lists);
    free(m->text);
    free(m->rules);
    free(m->doms);
    if (m->psl != NULL && m->psl != psl_builtin())
        psl_free(m->psl);
    free(m);
}

void
gw_abp_info(const gw_abp_t *m, gw_abp_info_t *out)
{
    *out = m->info;
}

int
gw_abp_rule(const gw_abp_t *m, uint32_t idx, gw_abp_rule_info_t *out)
{
    if (m == NULL || out == NULL || idx >= m->nrules)
        return -1;
    const rule_t *r = &m->rules[idx];
    out->text = m->text + r->text;
    out->text_len = r->text_len;
    out->list = m->lists[r->list];
    out->line = r->line;
    out->category = r->category;
    out->exception = (r->flags & R_EXCEPTION) != 0;
    return 0;
}

/* ---- sites (registrable domains) --------------------------------------------------- */

#define HOST_BUF 256

/* Lower-cases h into buf (NUL-terminated) and sets *site / *site_len to its registrable
 * domain (the whole host for an IP literal or a public suffix). Returns -1 if too long. */
static int
site_of(const psl_ctx_t *psl, const char *h, size_t n, char *buf, const char **site, size_t *site_len)
{
    if (n >= HOST_BUF)
        return -1;
    for (size_t i = 0; i != n; ++i)
        buf[i] = (char)lc((unsigned char)h[i]);
    buf[n] = '\0';
    *site = buf;
    *site_len = n;
    if (n == 0 || buf[0] == '[' || memchr(buf, ':', n) != NULL)
        return 0;
    size_t i = n;
    while (i != 0 && buf[i - 1] >= '0' && buf[i - 1] <= '9')
        --i;
    if (i != n && (i == 0 || buf[i - 1] == '.'))
        return 0; /* IPv4 literal: its last label is numeric */
    const char *r = psl_registrable_domain(psl, buf);
    if (r != NULL) {
        *site = r;
        *site_len = n - (size_t)(r - buf);
    }
    return 0;
}

static int
third_party(const psl_ctx_t *psl, const char *a, size_t an, const char *b, size_t bn)
{
    char ba[HOST_BUF], bb[HOST_BUF];
    const char *sa, *sb;
    size_t la, lb;
    if (bn == 0 || (an == bn && ci_eq(a, b, an)))
        return 0;
    /* Fast path (libpsl costs ~0.5 us a host): a site is a label suffix of its host, so two
     * hosts of two or more labels whose common label suffix is one label at most ("com")
     * cannot share a site. */
    size_t k = 0, dots = 0;
    while (k < an && k < bn && lc((unsigned char)a[an - 1 - k]) == lc((unsigned char)b[bn - 1 - k]))
        dots += a[an - 1 - k++] == '.';
    int whole = (k == an && (k == bn || b[bn - 1 - k] == '.')) || (k == bn && a[an - 1 - k] == '.');
    if (dots + (size_t)whole <= 1 && memchr(a, '.', an) != NULL && memchr(b, '.', bn) != NULL)
        return 1;
    if (site_of(psl, a, an, ba, &sa, &la) != 0 || site_of(psl, b, bn, bb, &sb, &lb) != 0)
        return !(an == bn && ci_eq(a, b, an));
    return !(la == lb && memcmp(sa, sb, la) == 0);
}

int
gw_abp_third_party(const gw_abp_t *m, const char *a, size_t a_len, const char *b, size_t b_len)
{
    return third_party(m->psl, a, a_len, b, b_len);
}

/* ---- matching ---------------------------------------------------------------------- */

#define SETTLED_SLOTS 1024 /* a power of two */

typedef struct st_ctx_t {
    const gw_abp_t *m;
    const char *url, *host, *ctx_host; /* ctx_host: page host, or the request's own */
    size_t n, host_b, host_e, ctx_len;
    uint16_t tbit;
    int party;      /* -1: not computed yet */
    int linear;     /* reference mode: no index shortcuts */
    int base_state; /* entity base: 0 not computed, 1 ready, -1 unavailable */
    size_t base_len;
    char base[HOST_BUF]; /* lower-case context host without its public suffix */
    int lower_state;     /* context host: 0 not prepared, 1 ready */
    size_t lower_len, nsuf;
    char lower[HOST_BUF];             /* lower-case context host ("" if too long) */
    uint32_t suf_off[MAX_LABELS + 1]; /* label suffixes, longest first */
    uint32_t suf_hash[MAX_LABELS + 1];
    /* rules found through a token whose verdict for this URL is settled (another occurrence of the token cannot change
     * it): id + 1, 0 empty; zeroed on first use (most URLs never need it) */
    size_t nsettled; /* SIZE_MAX: not zeroed yet */
    uint32_t settled[SETTLED_SLOTS];
} ctx_t;

/* whether rule id's verdict for this URL is settled (ctx_t.settled) */
static int
settled_has(const ctx_t *c, uint32_t id)
{
    if (c->nsettled == SIZE_MAX)
        return 0;
    for (uint32_t k = fmix(id) & (SETTLED_SLOTS - 1);; k = (k + 1) & (SETTLED_SLOTS - 1)) {
        if (c->settled[k] == id + 1)
            return 1;
        if (c->settled[k] == 0)
            return 0;
    }
}

/* notes rule id as settled; when the table is full, nothing (the rule is then evaluated again: slower, never wrong) */
static void
settled_add(ctx_t *c, uint32_t id)
{
    if (c->nsettled == SIZE_MAX) {
        memset(c->settled, 0, sizeof(c->settled));
        c->nsettled = 0;
    }
    if (c->nsettled == SETTLED_SLOTS / 4 * 3)
        return;
    uint32_t k = fmix(id) & (SETTLED_SLOTS - 1);
    while (c->settled[k] != 0)
        k = (k + 1) & (SETTLED_SLOTS - 1);
    c->settled[k] = id + 1;
    ++c->nsettled;
}

/*
 * Glob match of pattern p at url position s: '*' any run, '^' a separator or the end; O((n - s) * pl). *starred (when
 * not NULL) is set when a '*' of p was reached: a failure then holds for every later start as well (each part after a
 * '*' is placed leftmost, and a later start can only place it later), so a search over starts stops there: trying each
 * start to the end would cost the square of the URL's length.
 */
static int
match_at(const char *u, size_t n, size_t s, const char *p, size_t pl, int end_anchor, int mcase, int *starred)
{
    size_t i = s, j = 0, star_j = 0, star_i = s; /* star_j: where to resume after the last '*' */
    int star = 0;
    for (;;) {
        if (j == pl) {
            if (!end_anchor || i == n)
                return 1;
        } else {
            unsigned char c = (unsigned char)p[j];
            if (c == '*') {
                star = 1;
                star_j = ++j;
                star_i = i;
                if (starred != NULL)
                    *starred = 1;
                continue;
            }
            if (c == '^') {
                if (i == n || is_sep((unsigned char)u[i])) {
                    i += i != n;
                    ++j;
                    continue;
                }
            } else if (i < n && (mcase ? (unsigned char)u[i] : lc((unsigned char)u[i])) == c) {
                ++i;
                ++j;
                continue;
            }
        }
        if (!star || star_i >= n)
            return 0;
        i = ++star_i;
        j = star_j;
    }
}

static inline int
anchor_ok(const ctx_t *c, const rule_t *r, size_t s)
{
    if (r->flags & R_START_ANCHOR)
        return s == 0;
    if (r->flags & R_HOST_ANCHOR)
        return c->host_b < c->host_e && s < c->host_e && (s == c->host_b || (s > c->host_b && c->url[s - 1] == '.'));
    return 1;
}

/* Does r's pattern match? tokpos: URL position of r's index token, or NOPOS. *settled is set when the answer is the
 * same for every position of the token in this URL: the pattern was read without it, or it failed past a '*'. */
static int
pattern_ok(const ctx_t *c, const rule_t *r, size_t tokpos, int *settled)
{
    const char *p = c->m->text + r->pat;
    size_t pl = r->pat_len;
    int end = (r->flags & R_END_ANCHOR) != 0, mc = (r->flags & R_MATCH_CASE) != 0, starred = 0;

    *settled = 1;
    if (r->flags & R_HOST_ONLY) { /* "||host^": host suffix at a label boundary */
        for (size_t s = c->host_b; s < c->host_e; ++s)
            if ((s == c->host_b || c->url[s - 1] == '.') && c->host_e - s == pl && ci_eq(c->url + s, p, pl))
                return 1;
        return 0;
    }
    if (tokpos != NOPOS && r->tok_off != NO_TOK_OFF) {
        if (tokpos < r->tok_off) {
            *settled = 0;
            return 0;
        }
        size_t s = tokpos - r->tok_off;
        int ok = anchor_ok(c, r, s) && match_at(c->url, c->n, s, p, pl, end, mc, &starred);
        *settled = !ok && starred;
        return ok;
    }
    if (r->flags & R_START_ANCHOR)
        return match_at(c->url, c->n, 0, p, pl, end, mc, NULL);
    if (r->flags & R_HOST_ANCHOR) {
        /* each label start of the host; one that fails past a '*' fails for the later ones too */
        for (size_t s = c->host_b; s < c->host_e && !starred; ++s)
            if ((s == c->host_b || c->url[s - 1] == '.') && match_at(c->url, c->n, s, p, pl, end, mc, &starred))
                return 1;
        return 0;
    }
    /* anywhere in the URL: each start whose byte is the pattern's first, up to one that fails past a '*' */
    unsigned char c0 = pl ? (unsigned char)p[0] : '*';
    int lit = c0 != '*' && c0 != '^';
    for (size_t s = 0; s <= c->n; ++s) {
        if (lit && (s == c->n || (mc ? (unsigned char)c->url[s] : lc((unsigned char)c->url[s])) != c0))
            continue;
        if (match_at(c->url, c->n, s, p, pl, end, mc, &starred))
            return 1;
        if (starred)
            return 0;
    }
    return 0;
}

/* Lower-cases the context host once per match and hashes its label suffixes. */
static void
ctx_prepare_host(ctx_t *c)
{
    size_t n = c->ctx_len < HOST_BUF ? c->ctx_len : 0; /* no valid host name is longer */
    for (size_t i = 0; i != n; ++i)
        c->lower[i] = (char)lc((unsigned char)c->ctx_host[i]);
    c->lower[n] = '\0';
    c->lower_len = n;
    c->nsuf = 0;
    uint32_t h = FNV_BASIS, tmp[MAX_LABELS + 1], toff[MAX_LABELS + 1];
    size_t k = 0;
    for (size_t i = n; i-- > 0;) {
        h = (h ^ (unsigned char)c->lower[i]) * FNV_PRIME;
        if (i == 0 || c->lower[i - 1] == '.') {
            if (k == MAX_LABELS + 1) {
                k = SIZE_MAX; /* too many labels: the hashed path is not used */
                break;
            }
            toff[k] = (uint32_t)i;
            tmp[k++] = fmix(h);
        }
    }
    if (k != SIZE_MAX) {
        for (size_t j = 0; j != k; ++j) { /* longest first */
            c->suf_off[j] = toff[k - 1 - j];
            c->suf_hash[j] = tmp[k - 1 - j];
        }
        c->nsuf = k;
    }
    c->lower_state = k == SIZE_MAX ? -1 : 1;
}

/* Is name (lower case) equal to d, or a subdomain of it? */
static inline int
dom_covers(const char *name, size_t nl, const char *d, size_t dl)
{
    return nl >= dl && memcmp(name + nl - dl, d, dl) == 0 && (nl == dl || name[nl - dl - 1] == '.');
}

/* $domain=: the longest entry covering the context host decides (a negated one on a tie);
 * with none, the rule applies iff it lists no positive entry. */
static int
domain_ok(ctx_t *c, const rule_t *r, uint32_t id)
{
    const gw_abp_t *m = c->m;
    if (c->lower_state == 0)
        ctx_prepare_host(c);
    if ((r->flags & R_DOM_HASHED) && c->lower_state == 1) {
        for (size_t j = 0; j != c->nsuf; ++j) {
            const char *name = c->lower + c->suf_off[j];
            size_t nl = c->lower_len - c->suf_off[j];
            int found = 0, neg = 0;
            for (uint32_t i = dom_key(c->suf_hash[j], id) & m->dmask; m->dtab[i] != UINT32_MAX; i = (i + 1) & m->dmask) {
                uint32_t di = m->dtab[i];
                const dom_t *d = &m->doms[di];
                if (di >= r->dom && di - r->dom < r->ndom && d->len == nl && memcmp(m->text + d->off, name, nl) == 0) {
                    found = 1;
                    neg |= d->neg;
                }
            }
            if (found)
                return !neg;
        }
        return !(r->flags & R_DOM_POS);
    }
    size_t best = 0;
    int verdict = -1;
    for (uint32_t k = 0; k != r->ndom; ++k) {
        const dom_t *d = &m->doms[r->dom + k];
        const char *name = c->lower;
        size_t nl = c->lower_len;
        if (d->entity) {
            if (c->base_state == 0) {
                c->base_state = -1;
                if (c->lower_len != 0) {
                    memcpy(c->base, c->lower, c->lower_len + 1);
                    const char *suffix = psl_unregistrable_domain(m->psl, c->base);
                    if (suffix != NULL && suffix > c->base && suffix[-1] == '.') {
                        c->base_len = (size_t)(suffix - c->base - 1);
                        c->base_state = 1;
                    }
                }
            }
            if (c->base_state != 1)
                continue;
            name = c->base;
            nl = c->base_len;
        }
        if (dom_covers(name, nl, m->text + d->off, d->len) && (verdict < 0 || d->len > best || (d->len == best && d->neg))) {
            best = d->len;
            verdict = !d->neg;
        }
    }
    return verdict >= 0 ? verdict : !(r->flags & R_DOM_POS);
}

/* Type, pattern, party, domain: does rule id apply to the request? A rule found through a token occurs again with each
 * occurrence of its token: one whose verdict cannot change with the token's position is noted as settled (and not
 * evaluated again for this URL: a URL repeating a token would otherwise cost its length times the pattern's scan). */
static int
rule_ok(ctx_t *c, const rule_t *r, uint32_t id, size_t tokpos)
{
    int settled;
    if (!(r->types & c->tbit))
        return 0;
    if (tokpos != NOPOS && settled_has(c, id))
        return 0; /* (a rule that matched is not asked again: consider() sees it can change nothing) */
    if (!pattern_ok(c, r, tokpos, &settled)) {
        if (settled && tokpos != NOPOS)
            settled_add(c, id);
        return 0;
    }
    int ok = 1;
    if (r->party != P_BOTH) {
        if (c->party < 0)
            c->party = third_party(c->m->psl, c->host, c->host_e - c->host_b, c->ctx_host, c->ctx_len);
        ok = (r->party & (c->party ? P_THIRD : P_FIRST)) != 0;
    }
    ok = ok && (r->ndom == 0 || domain_ok(c, r, id));
    if (!ok && tokpos != NOPOS)
        settled_add(c, id); /* the party and the domains are the URL's and the page's, not the token's */
    return ok;
}

typedef struct st_acc_t {
    uint32_t mask, imp_mask, first, first_imp, first_exc;
    int exc_important;
} acc_t;

static inline void
consider(ctx_t *c, acc_t *a, uint32_t id, size_t tokpos, int exc)
{
    const rule_t *r = &c->m->rules[id];
    if (exc) {
        if ((id < a->first_exc || ((r->flags & R_IMPORTANT) && !a->exc_important)) && rule_ok(c, r, id, tokpos)) {
            if (id < a->first_exc)
                a->first_exc = id;
            a->exc_important |= (r->flags & R_IMPORTANT) != 0;
        }
        return;
    }
    uint32_t bit = 1u << r->category;
    int imp = (r->flags & R_IMPORTANT) != 0;
    /* evaluate only if the rule can change the outcome */
    if ((id < a->first || !(a->mask & bit) || (imp && (id < a->first_imp || !(a->imp_mask & bit)))) && rule_ok(c, r, id, tokpos)) {
        a->mask |= bit;
        if (id < a->first)
            a->first = id;
        if (r->flags & R_IMPORTANT) {
            a->imp_mask |= bit;
            if (id < a->first_imp)
                a->first_imp = id;
        }
    }
}

static void
scan(ctx_t *c, acc_t *a, int exc)
{
    const gw_abp_t *m = c->m;
    const uint32_t *ids;
    uint32_t cnt;

    if (c->host_b < c->host_e) { /* host suffixes, right to left */
        uint32_t h = FNV_BASIS;
        for (size_t i = c->host_e; i-- > c->host_b;) {
            h = (h ^ lc((unsigned char)c->url[i])) * FNV_PRIME;
            if ((i == c->host_b || c->url[i - 1] == '.') && (ids = table_find(&m->host[exc], fmix(h), &cnt)) != NULL)
                for (uint32_t k = 0; k != cnt; ++k)
                    consider(c, a, ids[k], NOPOS, exc);
        }
    }
    for (size_t i = 0; i < c->n;) { /* URL tokens */
        if (!is_tok((unsigned char)c->url[i])) {
            ++i;
            continue;
        }
        size_t s = i;
        uint32_t h = FNV_BASIS;
        while (i < c->n && is_tok((unsigned char)c->url[i]))
            h = (h ^ lc((unsigned char)c->url[i++])) * FNV_PRIME;
        if ((ids = table_find(&m->tok[exc], fmix(h), &cnt)) != NULL)
            for (uint32_t k = 0; k != cnt; ++k)
                consider(c, a, ids[k], s, exc);
    }
    for (uint32_t k = 0; k != m->nany[exc]; ++k)
        consider(c, a, m->any[exc][k], NOPOS, exc);
}

static void
scan_linear(ctx_t *c, acc_t *a, int exc)
{
    for (uint32_t id = 0; id != c->m->nrules; ++id) {
        const rule_t *r = &c->m->rules[id];
        if (!(r->flags & (R_DISABLED | R_BADFILTER)) && ((r->flags & R_EXCEPTION) != 0) == exc)
            consider(c, a, id, NOPOS, exc);
    }
}

/* Finds the host span of an absolute URL: after "://", without userinfo and port. */
static void
url_host(const char *u, size_t n, size_t *b, size_t *e)
{
    *b = *e = 0;
    const char *p = NULL;
    for (size_t i = 0; i + 2 < n; ++i) {
        if (u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
            p = u + i + 3;
            break;
        }
        if (u[i] == '/' || u[i] == '?' || u[i] == '#')
            break;
    }
    if (p == NULL)
        return;
    size_t s = (size_t)(p - u), a = s, end = s;
    while (end < n && u[end] != '/' && u[end] != '?' && u[end] != '#' && u[end] != '\\')
        ++end;
    for (size_t i = s; i != end; ++i)
        if (u[i] == '@')
            a = i + 1;
    size_t h = a;
    if (h < end && u[h] == '[') {
        while (h < end && u[h] != ']')
            ++h;
        h += h < end;
    } else {
        while (h < end && u[h] != ':')
            ++h;
    }
    *b = a;
    *e = h;
}

static int
run(const gw_abp_t *m, const gw_abp_request_t *req, gw_abp_result_t *out, int linear)
{
    ctx_t c;
    acc_t a = {0, 0, GW_ABP_NO_RULE, GW_ABP_NO_RULE, GW_ABP_NO_RULE, 0};

    if (m == NULL || req == NULL || out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->rule = out->exception = GW_ABP_NO_RULE;
    if ((unsigned)req->type >= GW_ABP_TYPE_COUNT || (req->url == NULL && req->url_len != 0) ||
        (req->page_host == NULL && req->page_host_len != 0))
        return -1;
    c.m = m;
    c.url = req->url != NULL ? req->url : "";
    c.n = req->url_len;
    url_host(c.url, c.n, &c.host_b, &c.host_e);
    if (req->host != NULL && (req->host_len != c.host_e - c.host_b || !ci_eq(req->host, c.url + c.host_b, req->host_len)))
        return -1;
    c.host = c.url + c.host_b;
    c.ctx_host = req->page_host_len ? req->page_host : c.host;
    c.ctx_len = req->page_host_len ? req->page_host_len : c.host_e - c.host_b;
    c.tbit = (uint16_t)(1u << req->type);
    c.party = req->third_party < 0 ? (req->page_host_len ? -1 : 0) : req->third_party != 0;
    c.base_state = 0;
    c.lower_state = 0;
    c.nsettled = SIZE_MAX;

    if (linear)
        scan_linear(&c, &a, 0);
    else
        scan(&c, &a, 0);
    if (a.mask == 0)
        return 0;
    if (linear)
        scan_linear(&c, &a, 1);
    else
        scan(&c, &a, 1);
    uint32_t left = a.mask, rule = a.first;
    if (a.first_exc != GW_ABP_NO_RULE) {
        out->exception = a.first_exc;
        if (!a.exc_important) {
            left = a.imp_mask;
            if (left != 0)
                rule = a.first_imp;
        } else {
            left = 0;
        }
        out->overridden = left == 0;
    }
    out->matched = left != 0;
    out->categories = left;
    out->rule = rule;
    out->category = m->rules[rule].category;
    out->rule_text = m->text + m->rules[rule].text;
    out->rule_text_len = m->rules[rule].text_len;
    return out->matched;
}

int
gw_abp_match(const gw_abp_t *m, const gw_abp_request_t *req, gw_abp_result_t *out)
{
    return run(m, req, out, 0);
}

int
gw_abp_match_linear(const gw_abp_t *m, const gw_abp_request_t *req, gw_abp_result_t *out)
{
    return run(m, req, out, 1);
}
