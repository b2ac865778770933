/*
 * libFuzzer driver for the Cookie header iterator (filters/cookie.c) and the name
 * classifier (filters/cookie_db.c).
 *
 * Checks on every input: pairs lie inside the input, in order, trimmed, without ';'
 * (and without '=' in names); -1 exactly when the input is over the cap or holds a
 * control byte; 0 and -1 are sticky; re-joining the pairs' raw text with "; " and
 * iterating again yields the same pairs. Each name is also classified by a small db and
 * compared with a linear-scan reference of the same patterns; and by a db made from the input itself (each pair's
 * name a pattern, a prefix when its value starts with '*', its category and tier from the value's length; a pattern
 * given twice in a tier takes the later category), every name and every beginning of one compared with the same
 * reference over those patterns: the driver varies the database as well as the names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cookie.h"
#include "cookie_db.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

static const struct {
    const char *pat;
    int cat, override;
} patterns[] = {{"_ga", 2, 0},  {"_ga_*", 2, 0}, {"_g*", 1, 0},  {"_gid", 2, 0}, {"a*", 0, 0},  {"ab*", 1, 0},  {"abc", 3, 0},
                {"abc*", 2, 0}, {"aab*", 3, 0},  {"_fbp", 3, 0}, {"sid", 0, 1},  {"_g*", 0, 1}, {"x y*", 1, 0}, {NULL, 0, 0}};

static int
ref_lookup(const char *name, size_t len)
{
    for (int tier = 1; tier >= 0; --tier) {
        int best = -1;
        size_t best_len = 0;
        for (int i = 0; patterns[i].pat != NULL; ++i) {
            if (patterns[i].override != tier)
                continue;
            size_t pl = strlen(patterns[i].pat);
            int prefix = patterns[i].pat[pl - 1] == '*';
            pl -= (size_t)prefix;
            if (!prefix && pl == len && memcmp(patterns[i].pat, name, len) == 0)
                return patterns[i].cat;
            if (prefix && pl <= len && memcmp(patterns[i].pat, name, pl) == 0 && (best < 0 || pl > best_len))
                best = patterns[i].cat, best_len = pl;
        }
        if (best >= 0 && len > 0)
            return best;
    }
    return -1;
}

static gw_cookie_db_t *db;

/* the patterns of the db made from the input */
#define MAX_DYN 64
static struct {
    const char *pat;
    size_t len; /* without the '*' */
    int prefix, cat, override;
} dyn[MAX_DYN];
static size_t num_dyn;

static int
dyn_lookup(const char *name, size_t len)
{
    for (int tier = 1; tier >= 0; --tier) {
        int best = -1;
        size_t best_len = 0;
        for (size_t i = 0; i != num_dyn; ++i) {
            if (dyn[i].override != tier)
                continue;
            if (!dyn[i].prefix && dyn[i].len == len && memcmp(dyn[i].pat, name, len) == 0)
                return dyn[i].cat;
            if (dyn[i].prefix && dyn[i].len <= len && memcmp(dyn[i].pat, name, dyn[i].len) == 0 &&
                (best < 0 || dyn[i].len > best_len))
                best = dyn[i].cat, best_len = dyn[i].len;
        }
        if (best >= 0 && len > 0)
            return best;
    }
    return -1;
}

static void
check_dyn_db(const gw_cookie_pair_t *pairs, size_t n)
{
    static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};
    static char pat[GW_COOKIE_MAX_HEADER + 1];
    gw_cookie_db_t *d = gw_cookie_db_new(cats, 4);
    CHECK(d != NULL);
    num_dyn = 0;
    for (size_t i = 0; i != n && num_dyn != MAX_DYN; ++i) {
        const gw_cookie_pair_t *p = &pairs[i];
        int prefix = p->value_len != 0 && p->value[0] == '*', cat = (int)(p->value_len % 4), over = p->value_len % 3 == 0;
        memcpy(pat, p->name, p->name_len);
        if (prefix)
            pat[p->name_len] = '*';
        size_t pl = p->name_len + (size_t)prefix;
        /* what gw_cookie_db_add's contract takes: not empty, not "*" alone, not too long, no blank at either end or
         * before a final '*', no ';', '=' or control byte (a tab is one), no '*' before the end */
        int valid = pl != 0 && !(pl == 1 && pat[0] == '*') && pl <= GW_COOKIE_DB_MAX_PATTERN && pat[0] != ' ' && pat[0] != '\t' &&
                    pat[pl - 1] != ' ' && pat[pl - 1] != '\t' &&
                    !(pl > 1 && pat[pl - 1] == '*' && (pat[pl - 2] == ' ' || pat[pl - 2] == '\t'));
        for (size_t k = 0; valid && k != pl; ++k)
            valid = !((unsigned char)pat[k] < 0x20 || pat[k] == 0x7f || pat[k] == ';' || pat[k] == '=' ||
                      (pat[k] == '*' && k != pl - 1));
        CHECK((gw_cookie_db_add(d, pat, pl, cat, over) == 0) == valid);
        if (!valid)
            continue;
        prefix = pat[pl - 1] == '*';
        size_t kl = pl - (size_t)prefix, j = 0;
        while (j != num_dyn &&
               !(dyn[j].override == over && dyn[j].prefix == prefix && dyn[j].len == kl && memcmp(dyn[j].pat, p->name, kl) == 0))
            ++j;
        if (j == num_dyn)
            dyn[num_dyn++] = (typeof(dyn[0])){p->name, kl, prefix, cat, over};
        else
            dyn[j].cat = cat; /* replaced */
    }
    size_t asked = 0;
    for (size_t i = 0; i != n && asked < 4096; ++i)
        for (size_t k = 0; k <= pairs[i].name_len && asked < 4096; ++k, ++asked)
            CHECK(gw_cookie_db_lookup(d, pairs[i].name, k) == dyn_lookup(pairs[i].name, k));
    gw_cookie_db_free(d);
}

static int
iterate(const char *s, size_t len, gw_cookie_pair_t *pairs, size_t max, size_t *n)
{
    gw_cookie_iter_t it;
    int r;
    const char *prev_end = s;
    *n = 0;
    gw_cookie_iter_init(&it, s, len);
    while ((r = gw_cookie_iter_next(&it, &pairs[*n < max ? *n : max - 1])) == 1) {
        gw_cookie_pair_t *p = &pairs[*n < max ? *n : max - 1];
        CHECK(p->name >= prev_end && p->value >= p->name && p->value + p->value_len <= s + len);
        CHECK(p->name_len == 0 || (p->name[0] != ' ' && p->name[p->name_len - 1] != ' ' && p->name[p->name_len - 1] != '\t'));
        CHECK(p->value_len == 0 || (p->value[0] != ' ' && p->value[p->value_len - 1] != ' ' && p->value[p->value_len - 1] != '\t'));
        CHECK(memchr(p->name, ';', p->name_len) == NULL && memchr(p->name, '=', p->name_len) == NULL);
        CHECK(memchr(p->value, ';', p->value_len) == NULL);
        CHECK(p->has_eq ? p->value > p->name + p->name_len : (p->name_len == 0 && p->value == p->name));
        CHECK(p->name_len + p->value_len > 0 || p->has_eq);
        prev_end = p->value + p->value_len;
        ++*n;
    }
    gw_cookie_pair_t dummy;
    CHECK(gw_cookie_iter_next(&it, &dummy) == r); /* sticky */
    return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static gw_cookie_pair_t pairs[GW_COOKIE_MAX_HEADER], again[GW_COOKIE_MAX_HEADER];
    static char joined[GW_COOKIE_MAX_HEADER * 2];
    size_t n, n2;

    if (db == NULL) {
        static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};
        db = gw_cookie_db_new(cats, 4);
        for (int i = 0; patterns[i].pat != NULL; ++i)
            if (gw_cookie_db_add(db, patterns[i].pat, strlen(patterns[i].pat), patterns[i].cat, patterns[i].override) != 0)
                __builtin_trap();
    }

    int r = iterate(s, size, pairs, GW_COOKIE_MAX_HEADER, &n);
    int has_ctl = 0;
    for (size_t i = 0; i < size; ++i)
        if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || (unsigned char)s[i] == 0x7f)
            has_ctl = 1;
    CHECK(r == ((size > GW_COOKIE_MAX_HEADER || has_ctl) ? -1 : 0));
    if (r != 0)
        return 0;

    size_t jl = 0;
    for (size_t i = 0; i < n; ++i) {
        size_t raw = (size_t)(pairs[i].value + pairs[i].value_len - pairs[i].name);
        if (i > 0)
            memcpy(joined + jl, "; ", 2), jl += 2;
        memcpy(joined + jl, pairs[i].name, raw), jl += raw;
        CHECK(gw_cookie_db_lookup(db, pairs[i].name, pairs[i].name_len) == ref_lookup(pairs[i].name, pairs[i].name_len));
        /* names hidden after blanks or commas in the value: inside it, non-empty, in order */
        const char *hn, *prev = pairs[i].value;
        size_t pos = 0, hl, k = 0;
        while (gw_cookie_value_next_name(pairs[i].value, pairs[i].value_len, &pos, &hn, &hl)) {
            CHECK(hl != 0 && hn >= prev && hn + hl <= pairs[i].value + pairs[i].value_len && ++k <= pairs[i].value_len);
            prev = hn + hl;
        }
    }
    check_dyn_db(pairs, n);
    if (jl <= GW_COOKIE_MAX_HEADER) {
        CHECK(iterate(joined, jl, again, GW_COOKIE_MAX_HEADER, &n2) == 0 && n2 == n);
        for (size_t i = 0; i < n; ++i) {
            CHECK(again[i].name_len == pairs[i].name_len && memcmp(again[i].name, pairs[i].name, pairs[i].name_len) == 0);
            CHECK(again[i].value_len == pairs[i].value_len && memcmp(again[i].value, pairs[i].value, pairs[i].value_len) == 0);
            CHECK(again[i].has_eq == pairs[i].has_eq);
        }
    }
    return 0;
}
