/*
 * Microbenchmark of the risk-list engine (filters/risk.c), side by side with a plain
 * open-addressing hash set of the same strings built in the same run.
 *
 * Lists: 1,000,000 generated domains (registrable labels of 4-16 letters, digits and
 * hyphens under a weighted mix of real public suffixes, a third with a subdomain label)
 * as a `domains` list, plus the real URLhaus (abp, block) and uBlock badware (abp, warn)
 * lists from tests/data/risk/. Queries: 1,000,000 hosts of 2-5 labels, half of them
 * listed (a generated entry under 0-2 more labels, or a URLhaus/badware host) and half
 * unlisted (same shapes, other names), in random order.
 *
 * Per-lookup latency is measured with rdtscp around each gw_risk_check() (the timer's own
 * cost, measured the same way on an empty section, is subtracted), and checked against
 * the total time of an untimed run. Memory: the list's own count (table + arena + filter) and
 * the growth of the process's resident memory while building. The plain set holds one malloc'd string per
 * domain and an array of pointers with their hashes (load <= 1/2), and answers exact
 * hosts only; "plainset_walk" also probes every parent, as the engine does.
 * Also times the full rebuild of the 1M-domain list from its text (the reload target is
 * <= 1 s), one admin edit of it, and the diff of a replace (the audit log's added/removed). Prints "micro <name>: <value> <unit> (...)" lines.
 * Run from the repository root (or set CG_SRCDIR).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include "risk.h"

#define NDOMAINS 1000000
#define NQUERIES 1000000

static volatile uint64_t sink;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* resident memory of this process (the engine's big arrays are mappings of their own, which mallinfo does not see) */
static size_t
rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t
ticks(void)
{
    unsigned aux;
    uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static size_t
gen_label(char *p, size_t min, size_t max)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyzaeioueaio0123456789";
    size_t n = min + rnd() % (max - min + 1);
    for (size_t i = 0; i != n; ++i)
        p[i] = alpha[rnd() % (sizeof(alpha) - 1)];
    if (n > 6 && rnd() % 5 == 0)
        p[n / 2] = '-';
    return n;
}

/* a registrable domain (+ a subdomain label one time in three) */
static size_t
gen_domain(char *p, int with_sub)
{
    static const char *const tlds[] = {"com", "com", "com",   "com",    "net", "org",    "ru",   "cn",   "de",        "info",
                                       "xyz", "top", "co.uk", "com.br", "io",  "online", "site", "shop", "github.io", "pages.dev"};
    static const char *const subs[] = {"www", "cdn", "mail", "login", "secure", "app", "m", "static"};
    size_t n = 0;
    if (with_sub && rnd() % 3 == 0) {
        const char *s = rnd() % 2 ? subs[rnd() % 8] : NULL;
        if (s != NULL) {
            memcpy(p, s, strlen(s));
            n = strlen(s);
        } else {
            n = gen_label(p, 3, 10);
        }
        p[n++] = '.';
    }
    n += gen_label(p + n, 4, 16);
    p[n++] = '.';
    const char *t = tlds[rnd() % (sizeof(tlds) / sizeof(tlds[0]))];
    memcpy(p + n, t, strlen(t));
    return n + strlen(t);
}

static size_t
labels(const char *s, size_t n)
{
    size_t k = 1;
    for (size_t i = 0; i != n; ++i)
        k += s[i] == '.';
    return k;
}

static char *
slurp(const char *rel, size_t *len)
{
    char path[1024];
    const char *dir = getenv("CG_SRCDIR");
    snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", rel);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "micro_risk: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);
    if (b == NULL || fread(b, 1, *len, f) != *len)
        exit(1);
    fclose(f);
    b[*len] = '\0';
    return b;
}

/* ---- the plain set: one malloc'd string per entry, open addressing over (hash, pointer) ---- */

typedef struct st_plain_t {
    struct {
        uint64_t hash;
        char *s;
    } * slots;
    size_t mask;
} plain_t;

static uint64_t
fnv(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i != n; ++i)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static void
plain_add(plain_t *p, const char *s, size_t n)
{
    uint64_t h = fnv(s, n);
    for (size_t i = h & p->mask;; i = (i + 1) & p->mask) {
        if (p->slots[i].s == NULL) {
            p->slots[i].hash = h;
            p->slots[i].s = strndup(s, n);
            return;
        }
        if (p->slots[i].hash == h && strlen(p->slots[i].s) == n && memcmp(p->slots[i].s, s, n) == 0)
            return;
    }
}

static int
plain_has(const plain_t *p, const char *s, size_t n)
{
    uint64_t h = fnv(s, n);
    for (size_t i = h & p->mask;; i = (i + 1) & p->mask) {
        if (p->slots[i].s == NULL)
            return 0;
        if (p->slots[i].hash == h && memcmp(p->slots[i].s, s, n) == 0 && p->slots[i].s[n] == '\0')
            return 1;
    }
}

static int
plain_walk(const plain_t *p, const char *s, size_t n)
{
    for (;;) {
        const char *dot;
        if (plain_has(p, s, n))
            return 1;
        if ((dot = memchr(s, '.', n)) == NULL)
            return 0;
        n -= (size_t)(dot + 1 - s), s = dot + 1;
    }
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct st_query_t {
    const char *host;
    uint32_t len;
    uint8_t listed; /* as generated (for the hit-rate line) */
} query_t;

int
main(void)
{
    char *gen = malloc((size_t)NDOMAINS * 40), *qbuf = malloc((size_t)NQUERIES * 64);
    size_t genlen = 0, qlen = 0, *offs = malloc(NDOMAINS * sizeof(size_t));
    query_t *q = malloc(NQUERIES * sizeof(*q));
    uint64_t *lat = malloc(NQUERIES * sizeof(*lat)), t0, t1;
    gw_risk_report_t rep;
    gw_risk_list_info_t info;
    if (gen == NULL || qbuf == NULL || offs == NULL || q == NULL || lat == NULL)
        return 1;

    /* the generated list (a duplicate now and then, as in real lists) */
    for (size_t i = 0; i != NDOMAINS; ++i) {
        offs[i] = genlen;
        genlen += gen_domain(gen + genlen, 1);
        gen[genlen++] = '\n';
    }
    size_t ulen, blen;
    char *urlhaus = slurp("tests/data/risk/urlhaus-filter-online.txt", &ulen);
    char *badware = slurp("tests/data/risk/badware.min.txt", &blen);

    /* full rebuilds of the 1M list: parse, normalise, hash, dedupe, build the table */
    uint64_t best = UINT64_MAX;
    gw_risk_list_t *big = NULL;
    struct mallinfo2 m0, m1;
    size_t rss0 = 0, rss1 = 0;
    for (int round = 0; round != 3; ++round) {
        gw_risk_list_free(big);
        rss0 = rss_bytes();
        t0 = now_ns();
        big = gw_risk_list_parse("generated", GW_FMT_DOMAINS, GW_RISK_BLOCK, gen, genlen, &rep);
        t1 = now_ns();
        rss1 = rss_bytes();
        if (big == NULL || rep.rejected != 0)
            return 1;
        if (t1 - t0 < best)
            best = t1 - t0;
    }
    gw_risk_list_info(big, &info);
    size_t heap = rss1 > rss0 ? rss1 - rss0 : 0;
    printf("micro risk_rebuild_1m: %.0f ms (best of 3; %zu lines -> %zu domains, %zu duplicates)\n", (double)best / 1e6, rep.lines,
           info.entries, rep.duplicates);
    printf("micro risk_bytes_per_domain: %.1f B (list's table + arena: %.1f MB for %zu domains; RSS growth %.1f B/domain; "
           "text %.1f B/domain)\n",
           (double)info.memory_bytes / (double)info.entries, (double)info.memory_bytes / 1e6, info.entries,
           (double)heap / (double)info.entries, (double)genlen / NDOMAINS);

    /* an admin edit of the big list (old + 1 add + 1 remove) */
    char one[64];
    size_t onelen = gen_domain(one, 0);
    gw_risk_str_t add = {one, onelen}, rm = {gen + offs[7], offs[8] - offs[7] - 1};
    t0 = now_ns();
    gw_risk_list_t *edited = gw_risk_list_edit(big, &add, 1, &rm, 1, &rep);
    t1 = now_ns();
    if (edited == NULL || rep.removed != 1)
        return 1;
    printf("micro risk_edit_1m: %.0f ms (copy of %zu entries + 1 add + 1 remove)\n", (double)(t1 - t0) / 1e6, info.entries);
    /* what a replace or reload of the big list by its successor changed, for the audit log (after the swap) */
    t0 = now_ns();
    gw_risk_list_diff(big, edited, &rep);
    t1 = now_ns();
    if (rep.added != 1 || rep.removed != 1)
        return 1;
    printf("micro risk_diff_1m: %.0f ms (audit of a replace: every entry of each list looked up in the other)\n", (double)(t1 - t0) / 1e6);
    gw_risk_list_free(edited);

    gw_risk_list_t *lu = gw_risk_list_parse("urlhaus", GW_FMT_ABP, GW_RISK_BLOCK, urlhaus, ulen, NULL);
    gw_risk_list_t *lb = gw_risk_list_parse("badware", GW_FMT_ABP, GW_RISK_WARN, badware, blen, NULL);
    gw_risk_list_t *lists[] = {big, lu, lb};
    gw_risk_set_t *set = gw_risk_set_new(lists, 3);
    if (set == NULL)
        return 1;

    /* the plain set of the same generated strings */
    plain_t plain;
    size_t cap = 1;
    while (cap < 2 * (size_t)NDOMAINS)
        cap *= 2;
    m0 = mallinfo2();
    t0 = now_ns();
    plain.slots = calloc(cap, sizeof(*plain.slots));
    plain.mask = cap - 1;
    for (size_t i = 0; i != NDOMAINS; ++i)
        plain_add(&plain, gen + offs[i], (i + 1 < NDOMAINS ? offs[i + 1] : genlen) - offs[i] - 1);
    t1 = now_ns();
    m1 = mallinfo2();
    heap = (m1.uordblks + m1.hblkhd) - (m0.uordblks + m0.hblkhd);
    printf("micro plainset_build_1m: %.0f ms (strndup per domain, no normalisation)\n", (double)(t1 - t0) / 1e6);
    printf("micro plainset_bytes_per_domain: %.1f B (heap growth; %zu slots of 16 B + one malloc per string)\n",
           (double)heap / (double)info.entries, cap);

    /* queries: 2-5 labels, half listed */
    char **uhosts = malloc(8192 * sizeof(char *));
    size_t nuh = 0;
    for (char *line = urlhaus; line < urlhaus + ulen && nuh < 8192;) {
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        if (line[0] != '!' && line[0] != '|' && labels(line, (size_t)(nl - line)) >= 2)
            uhosts[nuh++] = strndup(line, (size_t)(nl - line));
        line = nl + 1;
    }
    rng = 0x1234567887654321ull;
    size_t want_listed = 0;
    for (size_t i = 0; i != NQUERIES; ++i) {
        char *p = qbuf + qlen;
        size_t n = 0, k = rnd() % 100;
        if (k < 45) { /* a generated entry, 0-2 more labels, <= 5 labels */
            size_t d = rnd() % NDOMAINS, dl = (d + 1 < NDOMAINS ? offs[d + 1] : genlen) - offs[d] - 1;
            size_t have = labels(gen + offs[d], dl), extra = rnd() % 3;
            while (have + extra > 5)
                --extra;
            for (size_t e = 0; e != extra; ++e) {
                n += gen_label(p + n, 1, 8);
                p[n++] = '.';
            }
            memcpy(p + n, gen + offs[d], dl);
            n += dl;
            q[i].listed = 1;
        } else if (k < 50) { /* a real URLhaus host */
            const char *h = uhosts[rnd() % nuh];
            memcpy(p, h, strlen(h));
            n = strlen(h);
            q[i].listed = 1;
        } else { /* unlisted: a fresh name of 2-5 labels */
            size_t extra = rnd() % 3;
            for (size_t e = 0; e != extra; ++e) {
                n += gen_label(p + n, 1, 8);
                p[n++] = '.';
            }
            n += gen_domain(p + n, 0);
            q[i].listed = 0;
        }
        q[i].host = p, q[i].len = (uint32_t)n;
        want_listed += q[i].listed;
        qlen += n + 1;
    }

    /* timer calibration: TSC ticks per ns, and the cost of an empty timed section */
    uint64_t c0 = ticks(), n0 = now_ns();
    while (now_ns() - n0 < 200000000)
        ;
    double tpns = (double)(ticks() - c0) / (double)(now_ns() - n0);
    for (size_t i = 0; i != 100000; ++i) {
        uint64_t a = ticks();
        lat[i] = ticks() - a;
    }
    qsort(lat, 100000, sizeof(*lat), cmp_u64);
    uint64_t overhead = lat[50000];

    /* the host normaliser alone (lower case, checks, label hashes): the part of a lookup that touches no table */
    for (size_t i = 0; i != NQUERIES; ++i) {
        char norm[GW_RISK_HOST_MAX + 1];
        uint64_t a = ticks();
        sink += (uint64_t)gw_risk_normalize_host(q[i].host, q[i].len, GW_RISK_NORM_LOOKUP, norm, NULL);
        uint64_t b = ticks();
        lat[i] = b - a > overhead ? b - a - overhead : 0;
    }
    qsort(lat, NQUERIES, sizeof(*lat), cmp_u64);
    printf("micro risk_normalize_median: %.0f ns/op (p99 %.0f; the same hosts, normaliser only)\n",
           (double)lat[NQUERIES / 2] / tpns, (double)lat[NQUERIES * 99 / 100] / tpns);

    /* engine: untimed pass (warm-up and throughput), then per-lookup timing */
    gw_risk_verdict_t v;
    size_t hits = 0, labels_total = 0;
    t0 = now_ns();
    for (size_t i = 0; i != NQUERIES; ++i)
        hits += gw_risk_check(set, q[i].host, q[i].len, "/", 1, &v) == 1;
    t1 = now_ns();
    double mean = (double)(t1 - t0) / NQUERIES;
    uint64_t *lat_hit = malloc(NQUERIES * sizeof(*lat)), *lat_miss = malloc(NQUERIES * sizeof(*lat));
    size_t nhit = 0, nmiss = 0;
    if (lat_hit == NULL || lat_miss == NULL)
        return 1;
    for (size_t i = 0; i != NQUERIES; ++i) {
        uint64_t a = ticks();
        int rc = gw_risk_check(set, q[i].host, q[i].len, "/", 1, &v);
        uint64_t b = ticks();
        lat[i] = b - a > overhead ? b - a - overhead : 0;
        if (rc == 1)
            lat_hit[nhit++] = lat[i];
        else
            lat_miss[nmiss++] = lat[i];
        labels_total += labels(q[i].host, q[i].len);
    }
    qsort(lat, NQUERIES, sizeof(*lat), cmp_u64);
    qsort(lat_hit, nhit, sizeof(*lat), cmp_u64);
    qsort(lat_miss, nmiss, sizeof(*lat), cmp_u64);
    printf("micro risk_lookup_median: %.0f ns/op (n=%d hosts of 2-5 labels, %.1f labels avg, 3 lists: 1M generated + URLhaus + "
           "badware; %.1f%% listed)\n",
           (double)lat[NQUERIES / 2] / tpns, NQUERIES, (double)labels_total / NQUERIES, 100.0 * (double)hits / NQUERIES);
    printf("micro risk_lookup_p99: %.0f ns/op (p90 %.0f, p99.9 %.0f; timer cost %.0f ns subtracted)\n",
           (double)lat[NQUERIES * 99 / 100] / tpns, (double)lat[NQUERIES * 9 / 10] / tpns,
           (double)lat[NQUERIES * 999 / 1000] / tpns, (double)overhead / tpns);
    printf("micro risk_lookup_mean: %.0f ns/op (untimed loop, wall clock)\n", mean);
    printf("micro risk_lookup_unlisted_median: %.0f ns/op (p99 %.0f; the %zu clean hosts of the mix)\n",
           (double)lat_miss[nmiss / 2] / tpns, (double)lat_miss[nmiss * 99 / 100] / tpns, nmiss);
    printf("micro risk_lookup_listed_median: %.0f ns/op (p99 %.0f; the %zu listed hosts of the mix)\n",
           (double)lat_hit[nhit / 2] / tpns, (double)lat_hit[nhit * 99 / 100] / tpns, nhit);
    free(lat_hit), free(lat_miss);
    if (hits < want_listed * 99 / 100)
        return 1; /* a generated listed host was not found */

    /* plain set: exact host only, then with the same parent walk */
    size_t phits = 0;
    for (size_t i = 0; i != NQUERIES; ++i)
        phits += (size_t)plain_has(&plain, q[i].host, q[i].len);
    for (int walk = 0; walk != 2; ++walk) {
        t0 = now_ns();
        for (size_t i = 0; i != NQUERIES; ++i)
            sink += (uint64_t)(walk ? plain_walk(&plain, q[i].host, q[i].len) : plain_has(&plain, q[i].host, q[i].len));
        t1 = now_ns();
        mean = (double)(t1 - t0) / NQUERIES;
        for (size_t i = 0; i != NQUERIES; ++i) {
            uint64_t a = ticks();
            sink += (uint64_t)(walk ? plain_walk(&plain, q[i].host, q[i].len) : plain_has(&plain, q[i].host, q[i].len));
            uint64_t b = ticks();
            lat[i] = b - a > overhead ? b - a - overhead : 0;
        }
        qsort(lat, NQUERIES, sizeof(*lat), cmp_u64);
        printf("micro %s_median: %.0f ns/op (p99 %.0f, mean %.0f; 1M generated only, %s%s)\n",
               walk ? "plainset_walk" : "plainset_lookup", (double)lat[NQUERIES / 2] / tpns,
               (double)lat[NQUERIES * 99 / 100] / tpns, mean,
               walk ? "host and every parent, no normalisation" : "exact host only, no normalisation",
               walk ? "" : (phits * 2 < want_listed ? "; misses subdomains of listed names" : ""));
    }

    gw_risk_set_free(set);
    for (size_t i = 0; i != cap; ++i)
        free(plain.slots[i].s);
    free(plain.slots);
    for (size_t i = 0; i != nuh; ++i)
        free(uhosts[i]);
    free(uhosts), free(urlhaus), free(badware), free(gen), free(qbuf), free(offs), free(q), free(lat);
    return 0;
}
