/*
 * libFuzzer driver for the risk-list parsers and lookup (filters/risk.c).
 *
 * Input: byte 0 picks the format (bits 0-1) and the action (bits 2-3); the rest is list text.
 * Checks on every input:
 *   - the parse never fails (short of ENOMEM); counters agree with the list's info; kept
 *     rejected lines are at most GW_RISK_REJECTS_KEPT, in increasing line order, with
 *     printable UTF-8 text;
 *   - serialise -> parse -> serialise is a fixed point with the same entries and no
 *     rejected or skipped line;
 *   - differential lookup: every entry, a subdomain and the parent of every entry, with
 *     the entry's path and variants, and host-like slices of the input, are checked with
 *     gw_risk_check() and with a linear scan over the serialised entries (a reference
 *     that re-reads the canonical text); listed/clean must agree and the reported entry
 *     must be one of the most specific matching ones;
 *   - an edit that removes the first half of the entries removes exactly those, and the diff
 *     of the list and the edited one (both ways) counts exactly those.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "risk.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

#define MAX_REF 4096

typedef struct st_ref_t {
    const char *line; /* the serialised line */
    size_t line_len;
    char host[GW_RISK_HOST_MAX + 1];
    const char *path; /* NULL: host entry */
    size_t path_len;
    int ip, sub, boundary;
    char text[GW_RISK_HOST_MAX + GW_RISK_PATH_MAX + 2]; /* host + path, as a verdict reports it */
} ref_t;

static int
is_comment(gw_list_format_t fmt, const char *s, size_t n)
{
    while (n != 0 && (*s == ' ' || *s == '\t'))
        ++s, --n;
    while (n != 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        --n;
    if (n == 0)
        return 1;
    if (fmt == GW_FMT_ABP)
        return s[0] == '!' || s[0] == '[' || (s[0] == '#' && (n == 1 || s[1] == ' '));
    return s[0] == '#';
}

/* reads one canonical serialised entry line */
static void
ref_read(gw_list_format_t fmt, const char *s, size_t n, ref_t *r)
{
    const char *h = s, *he;
    gw_risk_host_kind_t kind;
    memset(r, 0, sizeof(*r));
    r->line = s, r->line_len = n;
    if (fmt == GW_FMT_HOSTS) {
        CHECK(n > 8 && memcmp(s, "0.0.0.0 ", 8) == 0);
        h = s + 8;
    } else if (fmt == GW_FMT_ABP) {
        CHECK(n > 2 && memcmp(s, "||", 2) == 0);
        h = s + 2;
        r->sub = 1;
    }
    if (*h == '[') {
        he = memchr(h, ']', (size_t)(s + n - h));
        CHECK(he != NULL);
        ++he;
    } else {
        for (he = h; he != s + n && *he != '/' && !(fmt == GW_FMT_ABP && *he == '^'); ++he)
            ;
    }
    CHECK(gw_risk_normalize_host(h, (size_t)(he - h), 0, r->host, &kind) > 0);
    r->ip = kind != GW_RISK_HOST_NAME;
    if (fmt == GW_FMT_ABP && s + n - he == 1 && *he == '^') {
        /* a host entry */
    } else if (he != s + n) {
        const char *pe = s + n;
        CHECK(*he == '/');
        if (fmt == GW_FMT_ABP && pe - he > 4 && memcmp(pe - 4, "$all", 4) == 0)
            pe -= 4;
        if (fmt == GW_FMT_ABP && pe[-1] == '^')
            --pe, r->boundary = 1;
        r->path = he, r->path_len = (size_t)(pe - he);
    } else {
        CHECK(fmt != GW_FMT_URLS && fmt != GW_FMT_ABP);
    }
    CHECK(strlen(r->host) + r->path_len < sizeof(r->text));
    strcpy(r->text, r->host);
    if (r->path != NULL)
        memcpy(r->text + strlen(r->host), r->path, r->path_len), r->text[strlen(r->host) + r->path_len] = '\0';
}

static char
lc(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int
is_sep(unsigned char c)
{
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
             c == '%');
}

/* does entry r match the normalised host h (kind) and path? */
static int
ref_match(const ref_t *r, const char *h, int is_name, const char *path, size_t path_len)
{
    size_t hl = strlen(h), el = strlen(r->host);
    int exact = strcmp(h, r->host) == 0;
    int below = is_name && !r->ip && hl > el && h[hl - el - 1] == '.' && memcmp(h + hl - el, r->host, el) == 0;
    if (r->path == NULL)
        return exact || below;
    if (!exact && !(r->sub && below))
        return 0;
    if (path_len < r->path_len)
        return 0;
    for (size_t i = 0; i != r->path_len; ++i)
        if (lc(path[i]) != lc(r->path[i]))
            return 0;
    return !r->boundary || path_len == r->path_len || is_sep((unsigned char)path[r->path_len]);
}

static void
query(const gw_risk_set_t *set, gw_risk_action_t action, const ref_t *refs, size_t nref, const char *host, size_t hlen,
      const char *path, size_t path_len)
{
    char norm[GW_RISK_HOST_MAX + 1];
    gw_risk_host_kind_t kind;
    gw_risk_verdict_t v;
    int n = gw_risk_normalize_host(host, hlen, GW_RISK_NORM_LOOKUP, norm, &kind);
    int rc = gw_risk_check(set, host, hlen, path, path_len, &v);
    size_t best = 0, any = 0, reported_ok = 0;
    CHECK((rc < 0) == (n < 0));
    if (rc < 0) {
        CHECK(!v.listed);
        return;
    }
    if (path == NULL || path_len == 0)
        path = "/", path_len = 1;
    for (size_t i = 0; i != nref; ++i) {
        if (ref_match(&refs[i], norm, kind == GW_RISK_HOST_NAME, path, path_len)) {
            size_t el = strlen(refs[i].host);
            any = 1;
            if (el > best)
                best = el;
        }
    }
    CHECK(rc == (int)any && v.listed == (int)any);
    if (!any)
        return;
    CHECK(v.action == action && v.list_index == 0 && strcmp(v.list, "fuzz") == 0 && strlen(v.matched) == v.matched_len);
    for (size_t i = 0; i != nref; ++i)
        if (strcmp(refs[i].text, v.matched) == 0 && ref_match(&refs[i], norm, kind == GW_RISK_HOST_NAME, path, path_len) &&
            strlen(refs[i].host) == best)
            reported_ok = 1;
    CHECK(reported_ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ref_t refs[MAX_REF];
    gw_risk_report_t rep, rep2;
    gw_risk_list_info_t info;
    size_t nref = 0, len, len2;
    if (size < 1)
        return 0;
    gw_list_format_t fmt = (gw_list_format_t)(data[0] & 3);
    gw_risk_action_t action = (gw_risk_action_t)((data[0] >> 2) & 3);
    const char *text = (const char *)data + 1;
    size_t tlen = size - 1;

    gw_risk_list_t *l = gw_risk_list_parse("fuzz", fmt, action, text, tlen, &rep);
    CHECK(l != NULL);
    gw_risk_list_info(l, &info);
    CHECK(info.entries == rep.entries && info.entries == info.hosts + info.ips + info.urls);
    CHECK(rep.added == rep.entries);
    CHECK(rep.num_kept <= GW_RISK_REJECTS_KEPT &&
          rep.num_kept == (rep.rejected < GW_RISK_REJECTS_KEPT ? rep.rejected : GW_RISK_REJECTS_KEPT));
    for (size_t i = 0; i != rep.num_kept; ++i) {
        CHECK(rep.kept[i].line >= 1 && rep.kept[i].line <= rep.lines);
        CHECK(i == 0 || rep.kept[i].line > rep.kept[i - 1].line);
        for (const unsigned char *p = (const unsigned char *)rep.kept[i].text; *p; ++p)
            CHECK(*p >= 0x20 && *p != 0x7f);
    }

    /* serialise -> parse -> serialise */
    char *t1 = gw_risk_list_serialize(l, &len);
    CHECK(t1 != NULL && strlen(t1) <= len);
    gw_risk_list_t *l2 = gw_risk_list_parse("fuzz", fmt, action, t1, len, &rep2);
    CHECK(l2 != NULL);
    char *t2 = gw_risk_list_serialize(l2, &len2);
    CHECK(rep2.entries == rep.entries && rep2.rejected == 0 && rep2.skipped == 0 && rep2.duplicates == 0);
    CHECK(len == len2 && memcmp(t1, t2, len) == 0);
    free(t2);
    gw_risk_list_free(l2);

    /* the reference: the serialised entries */
    for (size_t pos = 0; pos < len;) {
        const char *s = t1 + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + 1;
        if (is_comment(fmt, s, n != 0 && s[n - 1] == '\r' ? n - 1 : n)) /* the kept header keeps its CRs */
            continue;
        CHECK(nref < MAX_REF);
        ref_read(fmt, s, n, &refs[nref++]);
    }
    CHECK(nref == rep.entries);

    gw_risk_list_t *lists[] = {l};
    gw_risk_set_t *set = gw_risk_set_new(lists, 1);
    CHECK(set != NULL);
    for (size_t i = 0; i != nref && i != 64; ++i) {
        const ref_t *r = &refs[i];
        char buf[GW_RISK_HOST_MAX + 16], pbuf[GW_RISK_PATH_MAX + 8];
        const char *dot = strchr(r->host, '.');
        size_t pl = r->path ? r->path_len : 0;
        if (r->path)
            memcpy(pbuf, r->path, pl);
        query(set, action, refs, nref, r->host, strlen(r->host), r->path, pl);
        query(set, action, refs, nref, r->host, strlen(r->host), NULL, 0);
        memcpy(pbuf + pl, "x", 1);
        query(set, action, refs, nref, r->host, strlen(r->host), pbuf, pl + 1);
        memcpy(pbuf + pl, "/y", 2);
        query(set, action, refs, nref, r->host, strlen(r->host), pbuf, pl + 2);
        if (pl > 1)
            query(set, action, refs, nref, r->host, strlen(r->host), pbuf, pl - 1);
        memcpy(buf, "w-w.", 4), memcpy(buf + 4, r->host, strlen(r->host));
        query(set, action, refs, nref, buf, 4 + strlen(r->host), r->path, pl);
        if (dot != NULL && !r->ip)
            query(set, action, refs, nref, dot + 1, strlen(dot + 1), r->path, pl);
        for (size_t k = 0; k != strlen(r->host); ++k)
            buf[k] = (char)(r->host[k] >= 'a' && r->host[k] <= 'z' ? r->host[k] - 32 : r->host[k]);
        query(set, action, refs, nref, buf, strlen(r->host), "/", 1);
    }
    /* host-like slices of the input */
    for (size_t i = 0, q = 0; i < tlen && q < 64;) {
        size_t j = i;
        while (j < tlen && text[j] != '\n' && text[j] != ' ' && text[j] != '/' && text[j] != '^' && text[j] != '|')
            ++j;
        if (j > i) {
            size_t pe = j;
            while (pe < tlen && text[j] == '/' && text[pe] != '\n' && text[pe] != ' ')
                ++pe;
            query(set, action, refs, nref, text + i, j - i, pe > j ? text + j : NULL, pe - j);
            ++q;
        }
        i = j + 1;
    }

    /* remove the first half of the entries by their serialised lines */
    size_t nrm = nref / 2;
    gw_risk_str_t *rm = malloc((nrm + 1) * sizeof(*rm));
    CHECK(rm != NULL);
    for (size_t i = 0; i != nrm; ++i)
        rm[i].base = refs[i].line, rm[i].len = refs[i].line_len;
    gw_risk_list_t *l3 = gw_risk_list_edit(l, NULL, 0, rm, nrm, &rep2);
    CHECK(l3 != NULL);
    CHECK(rep2.removed == nrm && rep2.not_found == 0 && rep2.rejected == 0 && rep2.entries == nref - nrm);
    /* the diff of the list and the edited one, both ways: the removed half, nothing else */
    gw_risk_list_diff(l, l3, &rep2);
    CHECK(rep2.removed == nrm && rep2.added == 0 && rep2.diff_kept[0] == 0 && rep2.diff_kept[1] <= nrm);
    gw_risk_list_diff(l3, l, &rep2);
    CHECK(rep2.added == nrm && rep2.removed == 0);
    gw_risk_list_free(l3);
    free(rm);

    free(t1);
    gw_risk_set_free(set);
    return 0;
}
