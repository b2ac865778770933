/*
 * inventory — see inventory.h.
 */
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "config.h"
#include "front.h"
#include "inventory.h"
#include "jsonw.h"
#include "server.h"

#define NAME_MAX_LEN 64
#define HOST_MAX_LEN GW_INVENTORY_HOST_MAX
#define PATH_MAX_LEN GW_INVENTORY_PATH_MAX
#define MAX_PROBES 16

enum { ATTR_SECURE = 1, ATTR_HTTPONLY = 2, ATTR_DOMAIN = 4, ATTR_PERSISTENT = 8, ATTR_SAMESITE_NONE = 16,
       ATTR_SAMESITE_LAX = 32, ATTR_SAMESITE_STRICT = 64, ATTR_PARTITIONED = 128 };

typedef struct st_entry_t {
    uint32_t ready; /* 0: free; 1: key published (release) */
    uint32_t hash;
    uint8_t name_len, host_len, path_len, category, classified;
    char name[NAME_MAX_LEN], host[HOST_MAX_LEN], path[PATH_MAX_LEN];
    uint64_t count;
    uint64_t attrs; /* OR of every occurrence's ATTR_* */
    int64_t max_lifetime; /* longest Max-Age/Expires seen, seconds; -1 session only */
} entry_t;

typedef struct st_table_t {
    entry_t slots[GW_INVENTORY_SLOTS];
    uint64_t overflow;
} table_t;

static table_t *tables;
static size_t num_tables;

int gw_inventory_init(size_t num_threads)
{
    tables = calloc(num_threads, sizeof(table_t));
    num_tables = num_threads;
    return tables != NULL ? 0 : -1;
}

static uint32_t fnv(uint32_t h, const char *s, size_t len)
{
    for (size_t i = 0; i != len; ++i)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

void gw_inventory_page(h2o_req_t *req, gw_inventory_page_t *page)
{
    h2o_iovec_t host = gw_req_host(req);
    size_t path_len = 1;
    while (path_len < req->path_normalized.len && req->path_normalized.base[path_len] != '/' &&
           req->path_normalized.base[path_len] != '?')
        ++path_len;
    page->host_len = host.len < HOST_MAX_LEN ? host.len : HOST_MAX_LEN;
    for (size_t i = 0; i != page->host_len; ++i)
        page->host[i] = h2o_tolower(host.base[i]);
    page->path = req->path_normalized.base;
    page->path_len = req->path_normalized.len == 0 ? 0 : path_len < PATH_MAX_LEN ? path_len : PATH_MAX_LEN;
}

void gw_inventory_record(h2o_req_t *req, const gw_inventory_page_t *page, const gw_set_cookie_t *sc, int cat, int classified)
{
    size_t t = gw_thread_index();
    if (tables == NULL || t >= num_tables)
        return;
    table_t *tb = tables + t;

    /* key: host (without port), first path segment, name; all truncated to their fields */
    size_t nl = sc->name_len < NAME_MAX_LEN ? sc->name_len : NAME_MAX_LEN, hl = page->host_len, pl = page->path_len;
    uint32_t h = fnv(fnv(fnv(2166136261u, sc->name, nl), page->path, pl), page->host, hl);

    entry_t *e = NULL;
    for (size_t probe = 0; probe != MAX_PROBES; ++probe) {
        entry_t *s = tb->slots + ((h + probe) & (GW_INVENTORY_SLOTS - 1));
        if (s->ready == 0) {
            s->hash = h;
            s->name_len = (uint8_t)nl, s->host_len = (uint8_t)hl, s->path_len = (uint8_t)pl;
            memcpy(s->name, sc->name, nl);
            memcpy(s->host, page->host, hl);
            memcpy(s->path, page->path, pl);
            s->category = (uint8_t)cat;
            s->classified = classified != 0;
            s->max_lifetime = -1;
            __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
            e = s;
            break;
        }
        if (s->hash == h && s->name_len == nl && s->host_len == hl && s->path_len == pl && memcmp(s->name, sc->name, nl) == 0 &&
            memcmp(s->path, page->path, pl) == 0 && memcmp(s->host, page->host, hl) == 0) {
            e = s;
            break;
        }
    }
    if (e == NULL) {
        __atomic_store_n(&tb->overflow, tb->overflow + 1, __ATOMIC_RELAXED);
        return;
    }
    uint64_t attrs = (sc->secure ? ATTR_SECURE : 0) | (sc->http_only ? ATTR_HTTPONLY : 0) | (sc->domain_len ? ATTR_DOMAIN : 0) |
                     (sc->partitioned ? ATTR_PARTITIONED : 0) |
                     (sc->same_site == GW_COOKIE_SAMESITE_NONE     ? ATTR_SAMESITE_NONE
                      : sc->same_site == GW_COOKIE_SAMESITE_LAX    ? ATTR_SAMESITE_LAX
                      : sc->same_site == GW_COOKIE_SAMESITE_STRICT ? ATTR_SAMESITE_STRICT
                                                                    : 0);
    int64_t lifetime = -1;
    if (sc->has_max_age)
        lifetime = sc->max_age > 0 ? sc->max_age : 0;
    else if (sc->expires != GW_COOKIE_NO_EXPIRES)
        lifetime = sc->expires - (int64_t)(h2o_now(req->conn->ctx->loop) / 1000);
    if (lifetime >= 0)
        attrs |= ATTR_PERSISTENT;
    __atomic_store_n(&e->attrs, e->attrs | attrs, __ATOMIC_RELAXED);
    if (lifetime > e->max_lifetime)
        __atomic_store_n(&e->max_lifetime, lifetime, __ATOMIC_RELAXED);
    __atomic_store_n(&e->count, e->count + 1, __ATOMIC_RELAXED);
}

/* --- GET /admin/cookies ------------------------------------------------------------------------ */

static int same_key(const entry_t *a, const entry_t *b)
{
    return a->hash == b->hash && a->name_len == b->name_len && a->host_len == b->host_len && a->path_len == b->path_len &&
           memcmp(a->name, b->name, a->name_len) == 0 && memcmp(a->host, b->host, a->host_len) == 0 &&
           memcmp(a->path, b->path, a->path_len) == 0;
}

/* the entry of tb with e's key, or NULL: looked for where gw_inventory_record puts it (entries are never removed, so a
 * free slot on the way means none) */
static const entry_t *find_key(const table_t *tb, const entry_t *e)
{
    for (size_t probe = 0; probe != MAX_PROBES; ++probe) {
        const entry_t *s = tb->slots + ((e->hash + probe) & (GW_INVENTORY_SLOTS - 1));
        if (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) == 0)
            return NULL;
        if (same_key(s, e))
            return s;
    }
    return NULL;
}

static int on_cookies(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_jsonw_t w;
    uint64_t overflow = 0;
    int first = 1;

    gw_jsonw_init(&w, &req->pool, 4096);
    gw_jsonw_lit(&w, "{\"cookies\": [");
    for (size_t t = 0; t != num_tables; ++t) {
        overflow += __atomic_load_n(&tables[t].overflow, __ATOMIC_RELAXED);
        for (size_t i = 0; i != GW_INVENTORY_SLOTS; ++i) {
            const entry_t *e = tables[t].slots + i;
            if (__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) == 0)
                continue;
            /* merge the same key from other threads into the first thread that has it */
            int dup = 0;
            for (size_t u = 0; u != t && !dup; ++u)
                dup = find_key(tables + u, e) != NULL;
            if (dup)
                continue;
            uint64_t count = 0, attrs = 0;
            int64_t lifetime = -1;
            for (size_t u = t; u != num_tables; ++u) {
                const entry_t *o = u == t ? e : find_key(tables + u, e);
                if (o != NULL) {
                    count += __atomic_load_n(&o->count, __ATOMIC_RELAXED);
                    attrs |= __atomic_load_n(&o->attrs, __ATOMIC_RELAXED);
                    int64_t l = __atomic_load_n(&o->max_lifetime, __ATOMIC_RELAXED);
                    lifetime = l > lifetime ? l : lifetime;
                }
            }
            gw_jsonw_lit(&w, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
            first = 0;
            gw_jsonw_str(&w, e->name, e->name_len);
            gw_jsonw_lit(&w, ", \"host\": ");
            gw_jsonw_str(&w, e->host, e->host_len);
            gw_jsonw_lit(&w, ", \"path_prefix\": ");
            gw_jsonw_str(&w, e->path, e->path_len);
            /* a name nothing classifies is said so (the operator has one to classify); enforced_as: what it is treated as */
            const char *cat = e->category < c->num_categories ? c->categories[e->category] : "unknown";
            gw_jsonw_lit(&w, ", \"category\": ");
            gw_jsonw_cstr(&w, e->classified ? cat : "unclassified");
            gw_jsonw_lit(&w, ", \"enforced_as\": ");
            gw_jsonw_cstr(&w, cat);
            gw_jsonw_printf(&w,
                            ", \"count\": %llu, \"secure\": %s, \"http_only\": %s, \"domain\": %s, \"persistent\": %s, "
                            "\"max_lifetime_s\": %lld, \"same_site\": \"%s\"}",
                            (unsigned long long)count, attrs & ATTR_SECURE ? "true" : "false",
                            attrs & ATTR_HTTPONLY ? "true" : "false", attrs & ATTR_DOMAIN ? "true" : "false",
                            attrs & ATTR_PERSISTENT ? "true" : "false", (long long)lifetime,
                            attrs & ATTR_SAMESITE_STRICT ? "Strict" : attrs & ATTR_SAMESITE_LAX ? "Lax"
                                                                  : attrs & ATTR_SAMESITE_NONE  ? "None"
                                                                                                : "");
        }
    }
    gw_jsonw_printf(&w, "\n], \"overflow\": %llu}\n", (unsigned long long)overflow);
    gw_admin_send(req, 200, "OK", "application/json", h2o_iovec_init(w.buf, w.len));
    return 0;
}

void gw_inventory_foreach(gw_inventory_cb cb, void *data)
{
    for (size_t t = 0; t != num_tables; ++t) {
        for (size_t i = 0; i != GW_INVENTORY_SLOTS; ++i) {
            const entry_t *e = tables[t].slots + i;
            if (__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE))
                cb(data, e->name, e->name_len, e->category, __atomic_load_n(&e->count, __ATOMIC_RELAXED));
        }
    }
}

void gw_inventory_register_admin(void)
{
    gw_admin_add_route("GET", "/admin/cookies", on_cookies);
}
