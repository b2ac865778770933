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
#include <unistd.h>
#include "abp.h"
#include "admin.h"
#include "beacons.h"
#include "config.h"
#include "jsonw.h"
#include "log.h"
#include "qsbr.h"
#include "server.h"
#include "trackers.h"

#define SEEN_SLOTS 2048
#define SEEN_HOST 64
#define SEEN_PATH 48
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
    uint8_t host_len, path_len, category;
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

static snapshot_t *build(void)
{
    snapshot_t *s = calloc(1, sizeof(*s));
    gw_abp_builder_t *b = gw_abp_builder_new();
    for (size_t i = 0; i != num_list_confs; ++i) {
        list_t *l = s->lists + s->num_lists++;
        l->name = strdup(list_confs[i].name != NULL ? list_confs[i].name : list_confs[i].file);
        l->file = strdup(list_confs[i].file);
        l->category = list_confs[i].category;
        if (gw_abp_builder_add_file(b, l->file, (unsigned)l->category, l->name, &l->stats) != 0) {
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

static void reload(void *data)
{
    snapshot_t *fresh = build();
    if (fresh == NULL)
        return; /* the old lists stay in force */
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

uint32_t gw_trackers_classify(const char *url, size_t url_len, const char *host, size_t host_len, const char *page_host,
                              size_t page_host_len, int type)
{
    const snapshot_t *s = gw_snap_load(&snap);
    if (s == NULL || s->matcher == NULL)
        return 0;
    cache_entry_t *e = NULL;
    uint64_t key = 0;
    if (cache != NULL) {
        key = hash64(hash64(hash64(0x9e3779b97f4a7c15ull ^ (uint64_t)type, page_host, page_host_len), host, host_len), url, url_len);
        e = cache + (key & (CACHE_SLOTS - 1));
        if (e->key == key && e->generation == s->generation && e->url_len == url_len)
            return e->categories;
    }
    gw_abp_request_t r = {url, url_len, host, host_len, page_host, page_host_len, (gw_abp_type_t)type, -1};
    gw_abp_result_t res;
    uint32_t mask = gw_abp_match(s->matcher, &r, &res) == 1 && res.matched ? res.categories : 0;
    if (e != NULL)
        *e = (cache_entry_t){key, s->generation, mask, (uint32_t)url_len};
    return mask;
}

int gw_trackers_pick(uint32_t mask, uint16_t granted)
{
    uint32_t refused = mask & ~(uint32_t)granted;
    uint32_t m = refused != 0 ? refused : mask;
    return m != 0 ? __builtin_ctz(m) : -1;
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
    int type = is_ping ? GW_ABP_PING : wants_image ? GW_ABP_IMAGE : GW_ABP_OTHER;
    int cat = gw_trackers_pick(gw_trackers_classify(url.base, url.len, host.base, host.len, host.base, host.len, type), ctx->granted);
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
        gw_trackers_seen(host.base, host.len, page.base, page.len, cat, (ctx->granted & (1u << cat)) != 0 ? 0 : 2);
    }
    return cat;
}

/* --- seen inventory ----------------------------------------------------------------------------- */

void gw_trackers_seen(const char *host, size_t host_len, const char *page_path, size_t page_path_len, int category, int action)
{
    size_t t = gw_thread_index();
    if (seen == NULL || t >= seen_threads || category < 0 || action < 0 || action > 2)
        return;
    size_t pl = 1;
    while (pl < page_path_len && page_path[pl] != '/' && page_path[pl] != '?')
        ++pl;
    if (page_path_len == 0)
        pl = 0;
    size_t hl = host_len < SEEN_HOST ? host_len : SEEN_HOST;
    pl = pl < SEEN_PATH ? pl : SEEN_PATH;
    uint32_t h = 2166136261u ^ (uint32_t)category;
    for (size_t i = 0; i != hl; ++i)
        h = (h ^ (uint8_t)h2o_tolower(host[i])) * 16777619u;
    for (size_t i = 0; i != pl; ++i)
        h = (h ^ (uint8_t)page_path[i]) * 16777619u;
    for (size_t probe = 0; probe != 16; ++probe) {
        seen_t *e = seen[t] + ((h + probe) & (SEEN_SLOTS - 1));
        if (e->ready == 0) {
            e->hash = h;
            e->host_len = (uint8_t)hl, e->path_len = (uint8_t)pl, e->category = (uint8_t)category;
            for (size_t i = 0; i != hl; ++i)
                e->host[i] = h2o_tolower(host[i]);
            memcpy(e->path, page_path, pl);
            __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
        } else if (!(e->hash == h && e->host_len == hl && e->path_len == pl && e->category == category &&
                     h2o_lcstris(host, hl, e->host, hl) && memcmp(e->path, page_path, pl) == 0)) {
            continue;
        }
        __atomic_store_n(&e->count[action], e->count[action] + 1, __ATOMIC_RELAXED);
        return;
    }
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
            uint64_t sum[3] = {0, 0, 0};
            for (size_t u = 0; u != seen_threads && !dup; ++u)
                for (size_t j = 0; j != SEEN_SLOTS; ++j) {
                    const seen_t *o = seen[u] + j;
                    if (!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE) || o->hash != e->hash || o->host_len != e->host_len ||
                        o->path_len != e->path_len || o->category != e->category || memcmp(o->host, e->host, e->host_len) != 0 ||
                        memcmp(o->path, e->path, e->path_len) != 0)
                        continue;
                    if (u < t) {
                        dup = 1;
                        break;
                    }
                    for (int k = 0; k != 3; ++k)
                        sum[k] += __atomic_load_n(&o->count[k], __ATOMIC_RELAXED);
                }
            if (dup)
                continue;
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
            int dup = 0;
            uint64_t sum[3] = {0, 0, 0};
            for (size_t u = 0; u != seen_threads && !dup; ++u)
                for (size_t j = 0; j != SEEN_SLOTS; ++j) {
                    const seen_t *o = seen[u] + j;
                    if (!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE) || o->host_len != e->host_len || o->category != e->category ||
                        memcmp(o->host, e->host, e->host_len) != 0)
                        continue;
                    if (u < t || (u == t && j < i)) {
                        dup = 1;
                        break;
                    }
                    for (int k = 0; k != 3; ++k)
                        sum[k] += __atomic_load_n(&o->count[k], __ATOMIC_RELAXED);
                }
            if (!dup)
                cb(data, e->host, e->host_len, e->category, sum);
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
    static gw_list_conf_t defaults[3];

    if (c->trackers.configured) {
        list_confs = c->trackers.lists;
        num_list_confs = c->trackers.num_lists;
    } else {
        /* defaults: Debian's EasyPrivacy → analytics, EasyList → marketing (when installed and those categories exist) */
        static const char *const files[] = {DEFAULT_LISTS_DIR "easyprivacy.txt", DEFAULT_LISTS_DIR "easylist.txt"};
        static const char *const names[] = {"easyprivacy", "easylist"};
        static const char *const cats[] = {"analytics", "marketing"};
        for (size_t i = 0; i != 2; ++i) {
            int cat = gw_config_category(c, cats[i]);
            if (cat < 0 || access(files[i], R_OK) != 0)
                continue;
            defaults[num_list_confs++] = (gw_list_conf_t){(char *)names[i], (char *)files[i], GW_FMT_ABP, cat, GW_RISK_BLOCK};
        }
        /* and the shipped list of advertising tags (conf/ad-trackers.txt): EasyPrivacy calls the Meta Pixel and its
         * kind tracking (analytics), EasyList does not name them; without it analytics consent alone released them */
        char *ads = gw_config_category(c, "marketing") >= 0 ? gw_server_find_shipped("conf/ad-trackers.txt") : NULL;
        if (ads != NULL)
            defaults[num_list_confs++] = (gw_list_conf_t){"advertising", ads, GW_FMT_ABP, gw_config_category(c, "marketing"), GW_RISK_BLOCK};
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
