/*
 * trackers — see trackers.h.
 *
 * The matcher of all tracker lists is one immutable snapshot, rebuilt on SIGHUP off the
 * request path and swapped atomically (qsbr). The "seen" inventory behind GET
 * /admin/trackers is a fixed-size table per worker thread written without locks (as the
 * cookie inventory): tracker host, first path segment of the page, category, and how many
 * times it was passed (granted), neutralised in HTML, or answered at the edge.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "abp.h"
#include "admin.h"
#include "beacons.h"
#include "config.h"
#include "jsonw.h"
#include "log.h"
#include "mem.h"
#include "qsbr.h"
#include "risk.h"
#include "server.h"
#include "trackers.h"

#define SEEN_SLOTS 2048
#define SEEN_HOST 64
#define SEEN_PATH 48
#define SEEN_PROBES 16
#define DEFAULT_LISTS_DIR "/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/"

typedef struct st_list_t {
    char *name, *file;
    int category;
    gw_abp_stats_t stats;
    int load_errno;
} list_t;

typedef struct st_snapshot_t {
    uint64_t generation;
    gw_abp_t *matcher;
    list_t lists[GW_MAX_LISTS];
    size_t num_lists;
} snapshot_t;

typedef struct st_seen_t {
    uint32_t ready, hash;
    uint8_t host_len, path_len, category, first_party;
    char host[SEEN_HOST], path[SEEN_PATH];
    uint64_t count[3];
} seen_t;

static snapshot_t *snap;
static uint64_t generations;

/* Per-thread cache of verdicts: pages repeat the same tracker URLs request after request, and a
 * verdict costs a few index probes and rule checks. Direct-mapped, keyed by a 64-bit hash of
 * (type, page host, url); entries of an older list generation are misses. */
#define CACHE_SLOTS 4096
typedef struct st_cache_entry_t {
    uint64_t key, generation;
    uint32_t categories;
    uint32_t url_len;
} cache_entry_t;
static __thread cache_entry_t *cache;
static gw_list_conf_t *list_confs;
static size_t num_list_confs;
static seen_t (*seen)[SEEN_SLOTS];
static size_t seen_threads;

/* --- loading ---------------------------------------------------------------------------------- */

/*
 * DESIGN: a list's format is domains, hosts, abp or urls. A tracker list in another format than Adblock syntax is read as
 * the Adblock rules that say the same, one line for one, so that a malformed line keeps its number in the file: a domain
 * (and every name of a hosts line) "||name^" — the name and its subdomains, as a domains entry covers them —, a URL
 * "||host/path" (the URLs that begin so, any scheme; '$', '^' and '|', which Adblock syntax reads, become the '*' wildcard).
 * A line that is none of these is given as "||" (nothing to match: malformed) and its report gets the line back. A hosts
 * line's names after its first go at the end. Returns the text (malloc) and its length, or NULL (errno set).
 */
static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*buf == NULL)
        return;
    if (*len + n + 1 > *cap) {
        size_t ncap = (*len + n + 1) * 2;
        char *grown = realloc(*buf, ncap);
        if (grown == NULL) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = grown;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* "||" + the normalised host name + suffix, or 0 when it is not a host name */
static int host_rule(const char *h, size_t n, char out[GW_RISK_HOST_MAX + 4])
{
    gw_risk_host_kind_t kind;
    int len = gw_risk_normalize_host(h, n, 0, out + 2, &kind);
    if (len <= 0 || kind != GW_RISK_HOST_NAME)
        return 0;
    out[0] = out[1] = '|';
    return len + 2;
}

/* the names a hosts file maps for itself ("127.0.0.1 localhost", "ff02::1 ip6-allnodes"), not trackers */
static int is_boilerplate(const char *h, size_t n)
{
    static const char *const names[] = {"localhost", "local", "broadcasthost", NULL};
    for (size_t i = 0; names[i] != NULL; ++i)
        if (strlen(names[i]) == n && memcmp(names[i], h, n) == 0)
            return 1;
    return (n > 9 && memcmp(h, "localhost", 9) == 0 && (h[9] == '.' || (h[9] >= '0' && h[9] <= '9'))) ||
           (n > 4 && memcmp(h, "ip6-", 4) == 0);
}

static char *as_abp(const char *text, size_t text_len, gw_list_format_t fmt, size_t *out_len, unsigned **bad_lines, size_t *num_bad,
                    size_t *extra_lines)
{
    size_t len = 0, cap = text_len * 2 + 64, tail_len = 0, tail_cap = 64, nbad = 0;
    char *out = malloc(cap), *tail = malloc(tail_cap);
    unsigned line_no = 0, *bad = calloc(GW_ABP_REPORT_MAX, sizeof(*bad));
    for (const char *p = text, *end = text + text_len; p < end && out != NULL && tail != NULL && bad != NULL;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *s = p;
        size_t n = (size_t)((eol != NULL ? eol : end) - p);
        p = eol != NULL ? eol + 1 : end;
        ++line_no;
        while (n != 0 && is_blank(s[0]))
            ++s, --n;
        const char *hash = fmt != GW_FMT_URLS ? memchr(s, '#', n) : (n != 0 && s[0] == '#' ? s : NULL);
        if (hash != NULL)
            n = (size_t)(hash - s);
        while (n != 0 && is_blank(s[n - 1]))
            --n;
        char rule[GW_RISK_HOST_MAX + 4];
        int rl = 0, ok = n == 0; /* (a blank or comment line: an empty line) */
        if (n != 0 && fmt == GW_FMT_DOMAINS) {
            ok = memchr(s, ' ', n) == NULL && memchr(s, '\t', n) == NULL && (rl = host_rule(s, n, rule)) != 0;
            if (ok)
                append(&out, &len, &cap, rule, (size_t)rl), append(&out, &len, &cap, "^", 1);
        } else if (n != 0 && fmt == GW_FMT_HOSTS) {
            /* an address, then one or more names */
            size_t i = 0, names = 0, boiler = 0;
            while (i != n && !is_blank(s[i]))
                ++i;
            ok = i != n;
            while (ok && i != n) {
                while (i != n && is_blank(s[i]))
                    ++i;
                size_t j = i;
                while (j != n && !is_blank(s[j]))
                    ++j;
                if (j == i)
                    break;
                if (j - i == 7 && memcmp(s + i, "0.0.0.0", 7) == 0) { /* ("0.0.0.0 0.0.0.0" opens some hosts files) */
                    ++boiler;
                    i = j;
                    continue;
                }
                if ((rl = host_rule(s + i, j - i, rule)) == 0) {
                    ok = 0;
                    break;
                }
                if (is_boilerplate(rule + 2, (size_t)rl - 2))
                    ++boiler;
                else if (names++ == 0)
                    append(&out, &len, &cap, rule, (size_t)rl), append(&out, &len, &cap, "^", 1);
                else
                    append(&tail, &tail_len, &tail_cap, rule, (size_t)rl), append(&tail, &tail_len, &tail_cap, "^\n", 2);
                i = j;
            }
            ok = ok && names + boiler != 0;
        } else if (n != 0 && fmt == GW_FMT_URLS) {
            size_t skip = n >= 7 && strncasecmp(s, "http://", 7) == 0 ? 7 : n >= 8 && strncasecmp(s, "https://", 8) == 0 ? 8 : 0;
            size_t h = skip, path;
            while (h != n && s[h] != '/' && s[h] != ':' && s[h] != '?')
                ++h;
            path = h;
            while (path != n && s[path] != '/' && s[path] != '?') /* (a port: the rule names the host) */
                ++path;
            ok = skip != 0 && memchr(s, ' ', n) == NULL && memchr(s, '\t', n) == NULL && (rl = host_rule(s + skip, h - skip, rule)) != 0;
            if (ok) {
                append(&out, &len, &cap, rule, (size_t)rl);
                if (path == n || (path + 1 == n && s[path] == '/'))
                    append(&out, &len, &cap, "^", 1);
                else
                    for (size_t k = path; k != n; ++k)
                        append(&out, &len, &cap, s[k] == '$' || s[k] == '^' || s[k] == '|' ? "*" : s + k, 1);
            }
        }
        if (!ok) {
            append(&out, &len, &cap, "||", 2);
            if (nbad != GW_ABP_REPORT_MAX)
                bad[nbad++] = line_no;
        }
        append(&out, &len, &cap, "\n", 1);
    }
    if (tail != NULL)
        append(&out, &len, &cap, tail, tail_len);
    if (out == NULL || tail == NULL || bad == NULL) {
        free(out), free(tail), free(bad);
        errno = ENOMEM;
        return NULL;
    }
    *extra_lines = 0;
    for (const char *t = tail; (t = memchr(t, '\n', tail_len - (size_t)(t - tail))) != NULL; ++t)
        ++*extra_lines;
    free(tail);
    *out_len = len;
    *bad_lines = bad;
    *num_bad = nbad;
    return out;
}

/* a tracker list in any of the formats, into b */
static int add_list(gw_abp_builder_t *b, const gw_list_conf_t *conf, list_t *l)
{
    if (conf->format == GW_FMT_ABP)
        return gw_abp_builder_add_file(b, l->file, (unsigned)l->category, l->name, &l->stats);
    FILE *fp = fopen(l->file, "rb");
    if (fp == NULL)
        return -1;
    char *text = NULL, *rules = NULL;
    size_t len = 0, cap = 0, rules_len = 0, num_bad = 0, extra = 0, n;
    unsigned *bad = NULL;
    int rc = -1, saved = 0;
    for (;;) {
        if (cap - len < 65536) {
            char *grown = realloc(text, cap * 2 + 65536);
            if (grown == NULL) {
                saved = ENOMEM;
                goto Exit;
            }
            text = grown, cap = cap * 2 + 65536;
        }
        if ((n = fread(text + len, 1, cap - len, fp)) == 0)
            break;
        len += n;
    }
    if (ferror(fp)) {
        saved = EIO;
        goto Exit;
    }
    if ((rules = as_abp(text, len, conf->format, &rules_len, &bad, &num_bad, &extra)) == NULL) {
        saved = errno;
        goto Exit;
    }
    if ((rc = gw_abp_builder_add_buffer(b, rules, rules_len, (unsigned)l->category, l->name, &l->stats)) != 0) {
        saved = ENOMEM;
        goto Exit;
    }
    l->stats.lines -= extra; /* (the file's lines: a hosts line's further names were rules of their own) */
    /* the reports of the lines given as "||" name what the file says */
    for (size_t k = 0; k != l->stats.n_malformed_report; ++k) {
        gw_abp_line_report_t *r = l->stats.malformed_report + k;
        for (size_t j = 0; j != num_bad; ++j) {
            if (bad[j] != r->line)
                continue;
            const char *p = text;
            for (unsigned ln = 1; ln != r->line && p != NULL; ++ln)
                if ((p = memchr(p, '\n', len - (size_t)(p - text))) != NULL)
                    ++p;
            if (p != NULL) {
                const char *e = memchr(p, '\n', len - (size_t)(p - text));
                size_t tl = (size_t)((e != NULL ? e : text + len) - p);
                while (tl != 0 && is_blank(p[tl - 1])) /* (a CRLF file's '\r') */
                    --tl;
                if (tl > sizeof(r->text) - 1)
                    tl = sizeof(r->text) - 1;
                memcpy(r->text, p, tl);
                r->text[tl] = '\0';
            }
            break;
        }
    }
Exit:
    free(text), free(rules), free(bad);
    fclose(fp);
    errno = saved;
    return rc;
}

static snapshot_t *build(void)
{
    snapshot_t *s = gw_calloc(1, sizeof(*s));
    gw_abp_builder_t *b = gw_abp_builder_new();
    for (size_t i = 0; i != num_list_confs; ++i) {
        list_t *l = s->lists + s->num_lists++;
        l->name = gw_strdup(list_confs[i].name != NULL ? list_confs[i].name : list_confs[i].file);
        l->file = gw_strdup(list_confs[i].file);
        l->category = list_confs[i].category;
        if (add_list(b, list_confs + i, l) != 0) {
            l->load_errno = errno;
            gw_error("tracker list %s: cannot read %s: %s", l->name, l->file, strerror(errno));
            continue;
        }
        gw_info("tracker list %s (%s): %zu rules loaded, %zu skipped, %zu malformed", l->name, gw_rt.conf.categories[l->category],
                l->stats.loaded, l->stats.skipped, l->stats.malformed);
        for (size_t k = 0; k != l->stats.n_malformed_report; ++k)
            gw_warn("tracker list %s:%u: malformed (%s): %s", l->file, l->stats.malformed_report[k].line,
                    gw_abp_reason_str(l->stats.malformed_report[k].reason), l->stats.malformed_report[k].text);
    }
    s->generation = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED);
    if ((s->matcher = gw_abp_builder_finish(b)) == NULL) {
        gw_error("tracker lists: cannot build the matcher (out of memory)");
        for (size_t i = 0; i != s->num_lists; ++i)
            free(s->lists[i].name), free(s->lists[i].file);
        free(s);
        return NULL;
    }
    return s;
}

static void free_snapshot(snapshot_t *s)
{
    if (s == NULL)
        return;
    gw_abp_free(s->matcher);
    for (size_t i = 0; i != s->num_lists; ++i)
        free(s->lists[i].name), free(s->lists[i].file);
    free(s);
}

/* the first list that had rules and now has none (its file vanished or cannot be read, or was truncated: a feed job's
 * failed download, a full disk), or NULL: a reload without it would let its trackers load before consent on every page */
static const list_t *list_lost(const snapshot_t *fresh, const snapshot_t *old)
{
    for (size_t i = 0; i != fresh->num_lists; ++i)
        if (fresh->lists[i].stats.loaded == 0 && old->lists[i].stats.loaded != 0)
            return fresh->lists + i;
    return NULL;
}

static void reload(void *data)
{
    snapshot_t *fresh = build();
    if (fresh == NULL)
        return; /* the old lists stay in force */
    const list_t *lost = list_lost(fresh, snap);
    if (lost != NULL) {
        /* one matcher holds them all: the old one stays whole (the others' updates wait for the next good reload) */
        gw_error("tracker lists not reloaded, the ones in force stay: %s has no rule now (%s)", lost->name,
                 lost->load_errno != 0 ? strerror(lost->load_errno) : "the file has none");
        free_snapshot(fresh);
        return;
    }
    gw_info("tracker lists reloaded");
    snapshot_t *old = gw_snap_publish(&snap, fresh);
    gw_qsbr_synchronize();
    free_snapshot(old);
}

/* --- lookups ---------------------------------------------------------------------------------- */

/* FNV-1a over 8-byte words with a final mix: fast on URLs, and 64 bits make collisions negligible */
static uint64_t hash64(uint64_t h, const char *p, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i != len; ++i)
        h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ (h >> 32) ^ len;
}

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    cache = calloc(CACHE_SLOTS, sizeof(*cache));
}

static uint32_t classify(const snapshot_t *s, cache_entry_t *e, uint64_t key, size_t key_len, const char *url, size_t url_len,
                         const char *host, size_t host_len, const char *page_host, size_t page_host_len, int type)
{
    gw_abp_request_t r = {url, url_len, host, host_len, page_host, page_host_len, (gw_abp_type_t)type, -1};
    gw_abp_result_t res;
    uint32_t mask = gw_abp_match(s->matcher, &r, &res) == 1 && res.matched ? res.categories : 0;
    if (e != NULL)
        *e = (cache_entry_t){key, s->generation, mask, (uint32_t)key_len};
    return mask;
}

/* the cache entry for key (of a key_len-byte spelling), with *mask when it holds the verdict; NULL without a cache */
static cache_entry_t *cached(const snapshot_t *s, uint64_t key, size_t key_len, uint32_t *mask, int *hit)
{
    if (cache == NULL)
        return NULL;
    cache_entry_t *e = cache + (key & (CACHE_SLOTS - 1));
    *hit = e->key == key && e->generation == s->generation && e->url_len == key_len;
    if (*hit)
        *mask = e->categories;
    return e;
}

uint32_t gw_trackers_classify(const char *url, size_t url_len, const char *host, size_t host_len, const char *page_host,
                              size_t page_host_len, int type)
{
    const snapshot_t *s = gw_snap_load(&snap);
    if (s == NULL || s->matcher == NULL)
        return 0;
    uint64_t key = hash64(hash64(hash64(0x9e3779b97f4a7c15ull ^ (uint64_t)type, page_host, page_host_len), host, host_len), url, url_len);
    uint32_t mask;
    int hit = 0;
    cache_entry_t *e = cached(s, key, url_len, &mask, &hit);
    return hit ? mask : classify(s, e, key, url_len, url, url_len, host, host_len, page_host, page_host_len, type);
}

int gw_trackers_recall(gw_trackers_recall_t *rc, const char *written, size_t written_len, const char *page_host,
                       size_t page_host_len, int type, uint32_t *mask)
{
    rc->snap = gw_snap_load(&snap);
    if (rc->snap == NULL || ((const snapshot_t *)rc->snap)->matcher == NULL) {
        *mask = 0;
        return 1;
    }
    /* (a seed of its own: a written URL and a requested one are different keys even when they are the same bytes) */
    rc->key = hash64(hash64(0x7f4a7c159e3779b9ull ^ (uint64_t)type, page_host, page_host_len), written, written_len);
    rc->key_len = written_len;
    int hit = 0;
    rc->entry = cached(rc->snap, rc->key, written_len, mask, &hit);
    return hit;
}

uint32_t gw_trackers_classify_recalled(const gw_trackers_recall_t *rc, const char *url, size_t url_len, const char *host,
                                       size_t host_len, const char *page_host, size_t page_host_len, int type)
{
    return classify(rc->snap, rc->entry, rc->key, rc->key_len, url, url_len, host, host_len, page_host, page_host_len, type);
}

int gw_trackers_pick(uint32_t mask, uint16_t granted)
{
    uint32_t refused = mask & ~(uint32_t)granted;
    uint32_t m = refused != 0 ? refused : mask;
    return m != 0 ? __builtin_ctz(m) : -1;
}

static void seen_record(const char *host, size_t host_len, const char *page_path, size_t page_path_len, int category, int action,
                        int first_party);

/* the lists' type of a request, as its Sec-Fetch-Dest names it: a $script rule must hold the script a page's own loader
 * asks the site for (a self-hosted Matomo's matomo.js, PostHog's SDK behind the site's proxy) as it holds a <script src>
 * the rewriter reads, and an $xmlhttprequest rule a fetch() or an XHR ("empty"; a sendBeacon is a ping before that);
 * -1 without the header */
static int fetch_type(h2o_req_t *req)
{
    static const struct {
        const char *dest;
        int type;
    } dests[] = {{"empty", GW_ABP_XHR},           {"script", GW_ABP_SCRIPT},       {"worker", GW_ABP_SCRIPT},
                 {"sharedworker", GW_ABP_SCRIPT}, {"serviceworker", GW_ABP_SCRIPT}, {"audioworklet", GW_ABP_SCRIPT},
                 {"paintworklet", GW_ABP_SCRIPT}, {"style", GW_ABP_STYLESHEET},     {"font", GW_ABP_FONT},
                 {"image", GW_ABP_IMAGE},         {"audio", GW_ABP_MEDIA},          {"video", GW_ABP_MEDIA},
                 {"track", GW_ABP_MEDIA},         {"object", GW_ABP_OBJECT},        {"embed", GW_ABP_OBJECT},
                 {"websocket", GW_ABP_WEBSOCKET}};
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-dest"), -1);
    if (i == -1)
        return -1;
    h2o_iovec_t v = req->headers.entries[i].value;
    for (size_t k = 0; k != sizeof(dests) / sizeof(dests[0]); ++k)
        if (h2o_lcstris(v.base, v.len, dests[k].dest, strlen(dests[k].dest)))
            return dests[k].type;
    return GW_ABP_OTHER; /* manifest, report, xslt, … */
}

/*
 * The categories of a request whose type the browser did not say (no Sec-Fetch-Dest: a page over plain HTTP, Safari
 * before 16.4) and that asks for no image: a fetch(), a script, a style sheet, … Only what the lists hold whatever its
 * type is held, as uBlock Origin, which knows the type, would hold it: asked as "other", "/api/ping?$~xmlhttprequest"
 * held the site's own fetch() of its API, which the rule is written to spare.
 */
static uint32_t classify_untyped(const char *url, size_t url_len, const char *host, size_t host_len)
{
    static const int types[] = {GW_ABP_OTHER, GW_ABP_XHR, GW_ABP_SCRIPT, GW_ABP_STYLESHEET, GW_ABP_FONT, GW_ABP_MEDIA};
    uint32_t mask = UINT32_MAX;
    for (size_t k = 0; mask != 0 && k != sizeof(types) / sizeof(types[0]); ++k)
        mask &= gw_trackers_classify(url, url_len, host, host_len, host, host_len, types[k]);
    return mask;
}

/* the beacon stage asks about requests to the site itself (first-party collectors, proxied trackers) */
static int beacon_lookup(h2o_req_t *req, const gw_reqctx_t *ctx, int wants_image, int is_ping)
{
    ssize_t i;
    /* navigations are pages, not beacons */
    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-mode"), -1)) != -1 &&
        h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len, H2O_STRLIT("navigate")))
        return -1;
    if ((i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT, -1)) != -1 && req->headers.entries[i].value.len >= 9 &&
        h2o_lcstris(req->headers.entries[i].value.base, 9, H2O_STRLIT("text/html")))
        return -1;
    h2o_iovec_t host = gw_req_host(req);
    h2o_iovec_t url = h2o_concat(&req->pool, req->scheme->name, h2o_iovec_init(H2O_STRLIT("://")), req->authority,
                                 gw_beacons_merge_slashes(&req->pool, req->path));
    /* the type the browser says (a fetch() of "/x/photo.jpg" is one, not an image), else an image by its Accept or name */
    int type = is_ping ? GW_ABP_PING : fetch_type(req);
    if (type < 0 && wants_image)
        type = GW_ABP_IMAGE;
    uint32_t mask = type >= 0 ? gw_trackers_classify(url.base, url.len, host.base, host.len, host.base, host.len, type)
                              : classify_untyped(url.base, url.len, host.base, host.len);
    int cat = gw_trackers_pick(mask, ctx->granted);
    if (cat >= 0) {
        /* the page it was seen on is the one that sent it (Referer's path, query dropped), else the beacon itself */
        h2o_iovec_t page = h2o_iovec_init(req->path_normalized.base, req->path_normalized.len);
        if ((i = h2o_find_header(&req->headers, H2O_TOKEN_REFERER, -1)) != -1) {
            h2o_url_t ref;
            if (h2o_url_parse(req->headers.entries[i].value.base, req->headers.entries[i].value.len, &ref) == 0 && ref.path.len != 0) {
                size_t n = 0;
                while (n != ref.path.len && ref.path.base[n] != '?' && ref.path.base[n] != '#')
                    ++n;
                page = h2o_iovec_init(ref.path.base, n);
            }
        }
        /* (filed under the Host header, which the security team's inventory shows; the preference centre does not) */
        seen_record(host.base, host.len, page.base, page.len, cat, (ctx->granted & (1u << cat)) != 0 ? 0 : 2, 1);
    }
    return cat;
}

/* --- seen inventory ----------------------------------------------------------------------------- */

static void seen_record(const char *host, size_t host_len, const char *page_path, size_t page_path_len, int category, int action,
                        int first_party)
{
    size_t t = gw_thread_index();
    if (seen == NULL || t >= seen_threads || category < 0 || action < 0 || action > 2)
        return;
    /* the key: the host lower-cased, the page's first path segment (this runs for every tracker of every page) */
    char lhost[SEEN_HOST];
    size_t hl = host_len < SEEN_HOST ? host_len : SEEN_HOST, pl = page_path_len != 0;
    uint32_t h = 2166136261u ^ (uint32_t)category ^ (first_party ? 0x100u : 0);
    for (size_t i = 0; i != hl; ++i)
        h = (h ^ (uint8_t)(lhost[i] = h2o_tolower(host[i]))) * 16777619u;
    if (pl != 0)
        h = (h ^ (uint8_t)page_path[0]) * 16777619u;
    for (; pl < page_path_len && pl < SEEN_PATH && page_path[pl] != '/' && page_path[pl] != '?'; ++pl)
        h = (h ^ (uint8_t)page_path[pl]) * 16777619u;
    for (size_t probe = 0; probe != SEEN_PROBES; ++probe) {
        seen_t *e = seen[t] + ((h + probe) & (SEEN_SLOTS - 1));
        if (e->ready == 0) {
            e->hash = h;
            e->host_len = (uint8_t)hl, e->path_len = (uint8_t)pl, e->category = (uint8_t)category, e->first_party = (uint8_t)first_party;
            memcpy(e->host, lhost, hl);
            memcpy(e->path, page_path, pl);
            __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
        } else if (!(e->hash == h && e->host_len == hl && e->path_len == pl && e->category == category &&
                     e->first_party == first_party && memcmp(e->host, lhost, hl) == 0 && memcmp(e->path, page_path, pl) == 0)) {
            continue;
        }
        __atomic_store_n(&e->count[action], e->count[action] + 1, __ATOMIC_RELAXED);
        return;
    }
}

void gw_trackers_seen(const char *host, size_t host_len, const char *page_path, size_t page_path_len, int category, int action)
{
    seen_record(host, host_len, page_path, page_path_len, category, action, 0);
}

/* the entry of thread t's table with e's key, or NULL: looked for where seen_record puts it (entries are never removed, so
 * a free slot on the way means none) */
static const seen_t *find_seen(size_t t, const seen_t *e)
{
    for (size_t probe = 0; probe != SEEN_PROBES; ++probe) {
        const seen_t *o = seen[t] + ((e->hash + probe) & (SEEN_SLOTS - 1));
        if (!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE))
            return NULL;
        if (o->hash == e->hash && o->host_len == e->host_len && o->path_len == e->path_len && o->category == e->category &&
            o->first_party == e->first_party && memcmp(o->host, e->host, e->host_len) == 0 && memcmp(o->path, e->path, e->path_len) == 0)
            return o;
    }
    return NULL;
}

static int on_admin_trackers(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    const gw_config_t *c = &gw_rt.conf;
    const snapshot_t *s = gw_snap_load(&snap);
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 8192);
    gw_jsonw_lit(&w, "{\"lists\": [");
    for (size_t i = 0; s != NULL && i != s->num_lists; ++i) {
        const list_t *l = s->lists + i;
        gw_jsonw_lit(&w, i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ");
        gw_jsonw_cstr(&w, l->name);
        gw_jsonw_lit(&w, ", \"file\": ");
        gw_jsonw_cstr(&w, l->file);
        gw_jsonw_lit(&w, ", \"category\": ");
        gw_jsonw_cstr(&w, c->categories[l->category]);
        gw_jsonw_printf(&w, ", \"readable\": %s, \"lines\": %zu, \"loaded\": %zu, \"skipped\": %zu, \"malformed\": %zu, \"malformed_lines\": [",
                        l->load_errno == 0 ? "true" : "false", l->stats.lines, l->stats.loaded, l->stats.skipped, l->stats.malformed);
        for (size_t k = 0; k != l->stats.n_malformed_report; ++k) {
            gw_jsonw_printf(&w, "%s{\"line\": %u, \"reason\": \"%s\", \"text\": ", k == 0 ? "" : ", ", l->stats.malformed_report[k].line,
                            gw_abp_reason_str(l->stats.malformed_report[k].reason));
            gw_jsonw_cstr(&w, l->stats.malformed_report[k].text);
            gw_jsonw_lit(&w, "}");
        }
        gw_jsonw_lit(&w, "]}");
    }
    gw_jsonw_lit(&w, "\n], \"seen\": [");
    int first = 1;
    for (size_t t = 0; t != seen_threads; ++t) {
        for (size_t i = 0; i != SEEN_SLOTS; ++i) {
            const seen_t *e = seen[t] + i;
            if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE))
                continue;
            /* merge the same key of later threads into the first thread that has it */
            int dup = 0;
            for (size_t u = 0; u != t && !dup; ++u)
                dup = find_seen(u, e) != NULL;
            if (dup)
                continue;
            uint64_t sum[3] = {0, 0, 0};
            for (size_t u = t; u != seen_threads; ++u) {
                const seen_t *o = u == t ? e : find_seen(u, e);
                for (int k = 0; o != NULL && k != 3; ++k)
                    sum[k] += __atomic_load_n(&o->count[k], __ATOMIC_RELAXED);
            }
            gw_jsonw_lit(&w, first ? "\n  {\"host\": " : ",\n  {\"host\": ");
            first = 0;
            gw_jsonw_str(&w, e->host, e->host_len);
            gw_jsonw_lit(&w, ", \"page\": ");
            gw_jsonw_str(&w, e->path, e->path_len);
            gw_jsonw_lit(&w, ", \"category\": ");
            gw_jsonw_cstr(&w, e->category < c->num_categories ? c->categories[e->category] : "?");
            gw_jsonw_printf(&w, ", \"passed\": %llu, \"neutralised\": %llu, \"answered_at_edge\": %llu}", (unsigned long long)sum[0],
                            (unsigned long long)sum[1], (unsigned long long)sum[2]);
        }
    }
    gw_jsonw_lit(&w, "\n]}\n");
    gw_admin_send(req, 200, "OK", "application/json", h2o_iovec_init(w.buf, w.len));
    return 0;
}

void gw_trackers_foreach_seen(gw_trackers_cb cb, void *data)
{
    for (size_t t = 0; t != seen_threads; ++t) {
        for (size_t i = 0; i != SEEN_SLOTS; ++i) {
            const seen_t *e = seen[t] + i;
            if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE))
                continue;
            uint64_t counts[3];
            for (int k = 0; k != 3; ++k)
                counts[k] = __atomic_load_n(&e->count[k], __ATOMIC_RELAXED);
            cb(data, e->host, e->host_len, e->category, e->first_party, counts);
        }
    }
}

void gw_trackers_register_admin(void)
{
    gw_admin_add_route("GET", "/admin/trackers", on_admin_trackers);
}

/* --- set-up ------------------------------------------------------------------------------------- */

int gw_trackers_init(void)
{
    gw_config_t *c = &gw_rt.conf;
    /* defaults (when they are there and their categories exist): Debian's EasyPrivacy and EasyList, and the lists shipped in
     * conf/: advertising tags (EasyPrivacy calls the Meta Pixel and its kind tracking, analytics, and EasyList does not
     * name them: without it analytics consent alone released them), embeds whose sites set advertising cookies
     * (videos, maps, social posts), tag managers and analytics loaders EasyPrivacy does not name (what a tag manager
     * loads, the page does not show) */
    static const struct {
        const char *name, *file, *category;
        int shipped; /* file is relative to the shipped files (gw_server_find_shipped) */
    } known[] = {{"easyprivacy", DEFAULT_LISTS_DIR "easyprivacy.txt", "analytics", 0},
                 {"easylist", DEFAULT_LISTS_DIR "easylist.txt", "marketing", 0},
                 {"advertising", "conf/ad-trackers.txt", "marketing", 1},
                 {"embeds", "conf/embeds.txt", "marketing", 1},
                 {"analytics-tags", "conf/analytics-tags.txt", "analytics", 1}};
    static gw_list_conf_t defaults[sizeof(known) / sizeof(known[0])];

    if (c->trackers.configured) {
        list_confs = c->trackers.lists;
        num_list_confs = c->trackers.num_lists;
    } else {
        for (size_t i = 0; i != sizeof(known) / sizeof(known[0]); ++i) {
            int cat = gw_config_category(c, known[i].category);
            char *file = NULL;
            if (cat >= 0 && known[i].shipped)
                file = gw_server_find_shipped(known[i].file);
            else if (cat >= 0 && access(known[i].file, R_OK) == 0)
                file = (char *)known[i].file;
            if (file != NULL)
                defaults[num_list_confs++] = (gw_list_conf_t){(char *)known[i].name, file, GW_FMT_ABP, cat, GW_RISK_BLOCK};
        }
        list_confs = defaults;
        if (num_list_confs == 0)
            gw_info("no tracker lists: none configured and Debian's EasyPrivacy/EasyList are not installed");
    }
    seen_threads = c->threads;
    seen = calloc(seen_threads, sizeof(*seen));
    if (num_list_confs != 0) {
        if ((snap = build()) == NULL)
            return -1;
        gw_beacons_set_list_lookup(beacon_lookup);
        gw_server_on_thread_init(on_thread_init);
        gw_server_on_reload(reload, NULL);
    }
    return 0;
}
