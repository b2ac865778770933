/*
 * channel — see channel.h.
 *
 * Link shim: outbound links to another registrable domain become
 *   /__go?u=<percent-encoded URL>&s=<HMAC("go", URL)>
 * At click time the URL is checked against the lists in force: clean → 302, a warn list → an
 * interstitial with a link signed for "continue", a block list → 403. A missing or wrong
 * signature is a 400 and never a redirect, so /__go is no open redirect.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "admin.h"
#include "channel.h"
#include "config.h"
#include "consent.h"
#include "entries_body.h"
#include "fetch.h"
#include "front.h"
#include "jobs.h"
#include "jsonw.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "qsbr.h"
#include "rewrite.h"
#include "risk.h"
#include "secrets.h"
#include "server.h"
#include "token.h"
#include "ui.h"
#include "url.h"

#define MAX_GO_URL 8192

typedef struct st_list_conf_t {
    char *name, *path;
    gw_list_format_t format;
    gw_risk_action_t action;
    struct stat written; /* the file as our own last write or load left it: an event for it is not a change */
    unsigned reload_queued; /* RELOAD_* bits of the reloads asked for since the queued one began (atomic) */
} list_conf_t;

static gw_risk_set_t *risk_set; /* snapshot slot (filters/risk.c swaps it) */
static list_conf_t lists[GW_MAX_LISTS];
static size_t num_lists;
static pthread_mutex_t audit_mutex = PTHREAD_MUTEX_INITIALIZER;
static h2o_iovec_t csp_header_name, csp_template_tail; /* built once at start-up */

/* --- helpers ----------------------------------------------------------------------------------- */

static list_conf_t *find_list(const char *name, size_t len)
{
    for (size_t i = 0; i != num_lists; ++i)
        if (strlen(lists[i].name) == len && memcmp(lists[i].name, name, len) == 0)
            return lists + i;
    return NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* appends one JSON line to the audit log and fsyncs it (job thread or main thread) */
#define AUDIT_ITEMS 50 /* the items of an edit named in its audit line (the rest counted) */

/* the end of an audit line's item array: "]", and "name_more": N when it names kept of total */
static void audit_more(gw_jsonw_t *w, const char *name, size_t kept, size_t total)
{
    gw_jsonw_lit(w, "]");
    if (total > kept)
        gw_jsonw_printf(w, ", \"%s_more\": %zu", name, total - kept);
}

/* "name": ["a.example", …] (the first AUDIT_ITEMS), and "name_more": N when there were more */
static void audit_items(gw_jsonw_t *w, const char *name, const gw_entries_t *e, int remove)
{
    size_t n = remove ? e->nremove : e->nadd;
    gw_jsonw_printf(w, ", \"%s\": [", name);
    for (size_t i = 0; i != n && i != AUDIT_ITEMS; ++i) {
        if (i != 0)
            gw_jsonw_lit(w, ", ");
        gw_jsonw_str(w, remove ? e->remove[i].base : e->add[i].base, remove ? e->remove[i].len : e->add[i].len);
    }
    audit_more(w, name, n < AUDIT_ITEMS ? n : AUDIT_ITEMS, n);
}

/* a replace's or reload's first added or removed entries (risk.h: gw_risk_list_diff), and how many more there were */
static void audit_diff(gw_jsonw_t *w, const char *name, const char *text, size_t len, size_t kept, size_t total)
{
    gw_jsonw_printf(w, ", \"%s\": [", name);
    for (size_t i = 0, pos = 0; i != kept && pos < len; ++i) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
        if (i != 0)
            gw_jsonw_lit(w, ", ");
        gw_jsonw_str(w, text + pos, n);
        pos += n + 1;
    }
    audit_more(w, name, kept, total);
}

/* a file's modification time in milliseconds, 0 when it cannot be read */
static int64_t file_mtime_ms(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000 : 0;
}

/* appends one line to the audit log (fsync'ed); 0, or -1 with the reason logged. An edit's line names the items asked
 * for (who removed evil.example, and when, is then in the log); a replace's or reload's the entries it added and removed
 * (the first 50 of each). The line carries the list file's modification time then (file_mtime_ms): the next start
 * tells an edit made while the gateway was down by a different one (restore_versions). */
static int audit(const char *who, const char *action, const char *list, const gw_risk_report_t *r, uint64_t version,
                 const gw_entries_t *items)
{
    int rc = 0;
    const gw_config_t *c = &gw_rt.conf;
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 256);
    gw_jsonw_printf(&w, "{\"time_ms\": %lld, \"who\": ", (long long)now_ms());
    gw_jsonw_cstr(&w, who);
    gw_jsonw_lit(&w, ", \"action\": ");
    gw_jsonw_cstr(&w, action);
    gw_jsonw_lit(&w, ", \"list\": ");
    gw_jsonw_cstr(&w, list);
    const list_conf_t *l = find_list(list, strlen(list));
    if (l != NULL && l->path != NULL)
        gw_jsonw_printf(&w, ", \"file_mtime_ms\": %lld", (long long)file_mtime_ms(l->path));
    /* an edit adds and removes entries; a replace or reload swaps the list: its entries before and after say what it did */
    gw_jsonw_printf(&w, ", \"added\": %zu, \"removed\": %zu, \"rejected\": %zu, \"entries_before\": %zu, \"entries\": %zu, "
                        "\"version\": %llu}\n",
                    r != NULL ? r->added : 0, r != NULL ? r->removed : 0, r != NULL ? r->rejected : 0,
                    r != NULL ? r->entries_before : 0, r != NULL ? r->entries : 0, (unsigned long long)version);
    if (items != NULL) {
        w.len -= 2; /* the "}\n" */
        audit_items(&w, "add", items, 0);
        audit_items(&w, "remove", items, 1);
        gw_jsonw_lit(&w, "}\n");
    } else if (r != NULL && (strcmp(action, "replace") == 0 || strcmp(action, "reload") == 0)) {
        w.len -= 2;
        audit_diff(&w, "add", r->diff_text[0], r->diff_len[0], r->diff_kept[0], r->added);
        audit_diff(&w, "remove", r->diff_text[1], r->diff_len[1], r->diff_kept[1], r->removed);
        gw_jsonw_lit(&w, "}\n");
    }
    pthread_mutex_lock(&audit_mutex);
    int fd = open(c->channel.audit_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat sb = {.st_size = -1};
    if (fd == -1 || fstat(fd, &sb) != 0 || gw_write_all(fd, w.buf, w.len) != 0 || fsync(fd) != 0) {
        gw_error("audit log %s: %s (the change itself is in force)", c->channel.audit_log, strerror(errno));
        /* what fit of the line (a full disk) goes: the next line written would run into it, and both read as no line
         * (GET /admin/audit, restore_versions) */
        if (sb.st_size >= 0 && ftruncate(fd, sb.st_size) != 0)
            gw_error("audit log %s: a line cut short stays at its end: %s", c->channel.audit_log, strerror(errno));
        rc = -1;
    }
    if (fd != -1)
        close(fd);
    pthread_mutex_unlock(&audit_mutex);
    free(w.buf);
    return rc;
}

/* the audit log's folder made (0750) and the file opened for appending at start: a gateway that could not audit an
 * admin change does not start (the default, ../var/audit.log, is a folder a fresh checkout does not have) */
static int open_audit_log(const char *path)
{
    if (gw_make_parents(path, 0750) != 0) {
        gw_error("channel.audit_log %s: cannot create its folder: %s", path, strerror(errno));
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1) {
        gw_error("channel.audit_log %s: %s (admin changes and list reloads could not be audited)", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* the list in force named name (all zero when there is none) */
static gw_risk_list_info_t list_info(const char *name)
{
    const gw_risk_set_t *s = gw_snap_load(&risk_set);
    const gw_risk_list_t *l = s != NULL ? gw_risk_set_find(s, name, NULL) : NULL;
    gw_risk_list_info_t info = {0};
    if (l != NULL)
        gw_risk_list_info(l, &info);
    return info;
}

static uint64_t list_version(const char *name)
{
    return list_info(name).version;
}

/* written[] is shared by the job thread (writes) and the file watcher (reads); neither is an event loop */
static pthread_mutex_t written_mutex = PTHREAD_MUTEX_INITIALIZER;

static void remember_inode(list_conf_t *l)
{
    pthread_mutex_lock(&written_mutex);
    if (stat(l->path, &l->written) != 0)
        memset(&l->written, 0, sizeof(l->written));
    pthread_mutex_unlock(&written_mutex);
}

/* the file as it was before a reload read it: a change made while (or just after) it was read still differs from it */
static void remember_loaded(list_conf_t *l, const struct stat *before)
{
    pthread_mutex_lock(&written_mutex);
    l->written = *before;
    pthread_mutex_unlock(&written_mutex);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* HMAC-SHA256 of "purpose:url" under a link key, fed in parts (no copy, no allocation) */
static void link_mac(const gw_token_key_t *k, const char *purpose, const char *url, size_t len, uint8_t out[32])
{
    const void *parts[3] = {purpose, ":", url};
    size_t lens[3] = {strlen(purpose), 1, len};
    gw_token_hmacv(k, parts, lens, 3, out);
}

void gw_channel_sign(const char *purpose, const char *url, size_t len, char out[23])
{
    uint8_t mac[32];
    link_mac(gw_secrets_link_key(gw_consent_secrets()), purpose, url, len, mac);
    gw_b64url_encode(mac, 16, out, 23);
}

/* constant-time check against every link key (rotation) */
static int verify_sig(const char *purpose, const char *url, size_t len, const char *sig, size_t sig_len)
{
    const gw_secrets_t *s = gw_consent_secrets();
    uint8_t given[16], mac[32];
    if (sig_len != 22 || gw_b64url_decode(sig, sig_len, given, sizeof(given)) != 16)
        return 0;
    int ok = 0;
    for (size_t i = 0; i != s->num_keys; ++i) {
        link_mac(s->link_keys + i, purpose, url, len, mac);
        ok |= CRYPTO_memcmp(mac, given, 16) == 0;
    }
    return ok;
}

/* Per-thread cache of site_of (pages repeat the same hosts): direct-mapped, hosts up to 63 bytes; the
 * registrable domain is a suffix of the lower-cased host, so an entry keeps the host and the suffix's offset. */
#define SITE_SLOTS 256
typedef struct st_site_entry_t {
    uint8_t len, off; /* len 0: empty */
    char host[64];
} site_entry_t;
static __thread site_entry_t site_cache[SITE_SLOTS];

/* registrable domain of a host (lower-cased copy in buf), or the host itself when it has none; NULL when the host does
 * not fit in buf (it is not cut: a cut host's registrable domain is not the host's) */
static const char *site_of(const char *host, size_t len, char *buf, size_t cap)
{
    uint32_t h = 2166136261u;
    if (len >= cap)
        return NULL;
    for (size_t i = 0; i != len; ++i) {
        buf[i] = h2o_tolower(host[i]);
        h = (h ^ (uint8_t)buf[i]) * 16777619u;
    }
    buf[len] = '\0';
    site_entry_t *e = len != 0 && len < sizeof(site_cache[0].host) ? site_cache + (h & (SITE_SLOTS - 1)) : NULL;
    if (e != NULL && e->len == len && memcmp(e->host, buf, len) == 0)
        return buf + e->off;
    const char *rd = gw_consent_psl() != NULL ? psl_registrable_domain(gw_consent_psl(), buf) : NULL;
    if (rd == NULL)
        rd = buf;
    if (e != NULL) {
        e->len = (uint8_t)len;
        e->off = (uint8_t)(rd - buf);
        memcpy(e->host, buf, len);
    }
    return rd;
}

static h2o_iovec_t pct_encode(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len * 3 + 1);
    return h2o_iovec_init(out, gw_url_pct_encode(s, len, out));
}

/* percent-decodes into pool memory; length SIZE_MAX on a bad escape */
static h2o_iovec_t pct_decode(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *out = h2o_mem_alloc_pool(pool, len + 1);
    return h2o_iovec_init(out, gw_url_pct_decode(s, len, out));
}

/* splits an absolute http(s) URL: host and path slices (filters/url.c); 0 on success */
static int split_url(const char *url, size_t len, h2o_iovec_t *host, h2o_iovec_t *path)
{
    size_t ho, hl, po;
    if (gw_url_split(url, len, &ho, &hl, &po) != 0)
        return -1;
    *host = h2o_iovec_init(url + ho, hl);
    *path = po != len ? h2o_iovec_init(url + po, len - po) : h2o_iovec_init(H2O_STRLIT("/"));
    return 0;
}

/*
 * gw_risk_check of a URL's host and path, the path read as the server will read it: "/ok/../malware/x" and
 * "/%6dalware/x" are /malware/x to a server, and a URL entry names that (the copy, when one is needed, in pool memory).
 */
static int risk_check(h2o_mem_pool_t *pool, const gw_risk_set_t *set, h2o_iovec_t host, h2o_iovec_t path, gw_risk_verdict_t *v)
{
    for (size_t i = 0; i != path.len && path.base[i] != '?' && path.base[i] != '#'; ++i) {
        char c = path.base[i];
        if (c == '%' || c == '\\' || (c == '.' && i != 0 && (path.base[i - 1] == '/' || path.base[i - 1] == '.'))) {
            char *p = h2o_mem_alloc_pool(pool, path.len);
            path = h2o_iovec_init(p, gw_url_path_normalize(path.base, path.len, p));
            break;
        }
    }
    return gw_risk_check(set, host.base, host.len, path.base, path.len, v);
}

/*
 * Per-thread cache of the verdicts on subresources: pages name the same ones request after request, and a verdict costs
 * the URL's split, its host normalised and a lookup per label and list. Direct-mapped; an entry holds its URL (a longer
 * one than VERDICT_URL_MAX is checked every time), so it is never taken for another's (the lists' own rule: a mistake may
 * flag a clean URL, never pass a listed one); an entry of an older snapshot generation (a list reloaded, edited or
 * replaced since) is a miss.
 */
#define VERDICT_SLOTS 512
#define VERDICT_URL_MAX 118
typedef struct st_verdict_entry_t {
    uint64_t generation;
    int8_t rc;
    uint8_t action, url_len; /* url_len 0: empty */
    char url[VERDICT_URL_MAX];
} verdict_entry_t;
static __thread verdict_entry_t *verdicts;

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    verdicts = calloc(VERDICT_SLOTS, sizeof(*verdicts)); /* (NULL: every URL checked) */
}

/* risk_check of a subresource's URL (0 for one that does not split), its action when it is 1; generation: loaded before
 * set (an entry is then never kept under a later generation than its verdict's set) */
static int subresource_check(h2o_mem_pool_t *pool, const gw_risk_set_t *set, uint64_t generation, const char *url, size_t url_len,
                             gw_risk_action_t *action)
{
    verdict_entry_t *e = NULL;
    if (verdicts != NULL && url_len != 0 && url_len <= VERDICT_URL_MAX) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i != url_len; ++i)
            h = (h ^ (uint8_t)url[i]) * 16777619u;
        e = verdicts + (h & (VERDICT_SLOTS - 1));
        if (e->generation == generation && e->url_len == url_len && memcmp(e->url, url, url_len) == 0) {
            *action = (gw_risk_action_t)e->action;
            return e->rc;
        }
    }
    gw_risk_verdict_t v;
    h2o_iovec_t host, path;
    int rc = split_url(url, url_len, &host, &path) != 0 ? 0 : risk_check(pool, set, host, path, &v);
    *action = rc == 1 ? v.action : GW_RISK_ALLOW;
    if (e != NULL) {
        *e = (verdict_entry_t){generation, (int8_t)rc, (uint8_t)*action, (uint8_t)url_len};
        memcpy(e->url, url, url_len);
    }
    return rc;
}

/* --- pages: the rewriter hook ------------------------------------------------------------------ */

/* whether host belongs to another registrable domain than the request's; a host too long to tell (as written: escapes
 * make a long host that browsers decode to a short name) is another site's, so the shim, which reads it as browsers do,
 * decides */
static int other_site(h2o_req_t *req, const char *host, size_t host_len)
{
    h2o_iovec_t page = gw_req_host(req);
    return !gw_channel_same_site(host, host_len, page.base, page.len);
}

int gw_channel_same_site(const char *a, size_t a_len, const char *b, size_t b_len)
{
    char ba[256], bb[256];
    const char *sa = site_of(a, a_len, ba, sizeof(ba)), *sb = site_of(b, b_len, bb, sizeof(bb));
    return sa != NULL && sb != NULL && strcmp(sa, sb) == 0;
}

/* origin + "/__go?u=<url, percent-encoded>&s=<its signature>" (pool memory) */
static h2o_iovec_t go_href(h2o_mem_pool_t *pool, h2o_iovec_t origin, const char *url, size_t url_len)
{
    char sig[23];
    gw_channel_sign("go", url, url_len, sig);
    return h2o_concat(pool, origin, h2o_iovec_init(H2O_STRLIT("/__go?u=")), pct_encode(pool, url, url_len),
                      h2o_iovec_init(H2O_STRLIT("&s=")), h2o_iovec_init(sig, 22));
}

static int on_url(h2o_req_t *req, gw_reqctx_t *ctx, gw_html_tag_t *tag, h2o_mem_pool_t *pool, gw_url_kind_t kind, const char *url,
                  size_t url_len, const char *host, size_t host_len)
{
    uint64_t generation = gw_snap_generation_load(); /* (before the set: see subresource_check) */
    const gw_risk_set_t *set = gw_snap_load(&risk_set);
    if (kind != GW_URL_LINK && kind != GW_URL_REFRESH) { /* something the browser fetches */
        gw_risk_action_t action;
        h2o_iovec_t page = gw_req_host(req);
        /* the page's own host is the site this gateway fronts: only third-party subresources are checked */
        if (h2o_lcstris(host, host_len, page.base, page.len) || set == NULL)
            return GW_HTML_KEEP;
        int rc = subresource_check(pool, set, generation, url, url_len, &action);
        if (rc < 0) { /* a host the lists cannot be asked about (a label over 63 bytes, say): not loaded unchecked */
            GW_COUNT(risk_subresources_unreadable);
            if (kind != GW_URL_PROBE && tag != NULL)
                gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed a resource from a site that cannot be checked -->"));
            return GW_HTML_REMOVE;
        }
        if (rc != 1)
            return GW_HTML_KEEP;
        if (kind == GW_URL_PROBE)
            return action == GW_RISK_BLOCK ? GW_HTML_REMOVE : GW_HTML_KEEP;
        switch (action) {
        case GW_RISK_BLOCK:
            GW_COUNT(risk_subresources_removed);
            if (tag != NULL)
                gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed a resource from a site on a block list -->"));
            return GW_HTML_REMOVE;
        case GW_RISK_WARN:
            GW_COUNT(risk_subresources_warned);
            return GW_HTML_KEEP;
        case GW_RISK_MONITOR:
            GW_COUNT(risk_subresources_monitored);
            return GW_HTML_KEEP;
        default:
            return GW_HTML_KEEP;
        }
    }
    /* an outbound link, or a refresh to another page: wrap it when it leaves the page's site */
    if (!gw_rt.conf.channel.link_shim)
        return GW_HTML_KEEP;
    if (!other_site(req, host, host_len))
        return GW_HTML_KEEP;
    if (url_len > MAX_GO_URL) { /* too long for the shim (and for most servers' request lines): not followed unchecked */
        if (kind == GW_URL_REFRESH)
            return GW_HTML_REMOVE;
        gw_rewrite_unlink(tag);
        return GW_HTML_KEEP;
    }
    /* relative, unless a <base> elsewhere would take it there: then on this request's own origin */
    h2o_iovec_t origin = ctx->base_elsewhere ? h2o_concat(pool, req->scheme->name, h2o_iovec_init(H2O_STRLIT("://")), req->authority)
                                             : h2o_iovec_init("", 0);
    h2o_iovec_t href = go_href(pool, origin, url, url_len);
    gw_html_attr_t c;
    if (kind == GW_URL_REFRESH && gw_html_attr_find(tag, H2O_STRLIT("content"), &c) && c.value != NULL) {
        /* the same delay (the rewriter passes only a content that starts with one), then the shim: "5; url=/__go?u=…" */
        size_t d = 0;
        while (d != c.value_len && ((unsigned char)c.value[d] <= 0x20 || ('0' <= c.value[d] && c.value[d] <= '9') || c.value[d] == '.'))
            ++d;
        h2o_iovec_t content = h2o_concat(pool, h2o_iovec_init(c.value, d), h2o_iovec_init(H2O_STRLIT("; url=")), href);
        gw_html_attr_set(tag, H2O_STRLIT("content"), content.base, content.len);
    } else {
        gw_html_attr_set(tag, H2O_STRLIT("href"), href.base, href.len);
    }
    GW_COUNT(links_wrapped);
    return GW_HTML_KEEP;
}

/* --- origin redirects ------------------------------------------------------------------------- */

/*
 * The absolute URL a Location value leads to, into pool memory, when it names a host ("//host…", "http(s)://host…", with
 * backslashes for slashes and without the tabs a header value may hold, as browsers read them); base NULL for a URL
 * relative to the request's own origin.
 */
static h2o_iovec_t location_url(h2o_req_t *req, h2o_iovec_t loc)
{
    /* tabs and newlines go first, from the whole value, as browsers take them out before reading it: "ht<TAB>tps://",
     * "/<TAB>/evil.example" */
    if (memchr(loc.base, '\t', loc.len) != NULL || memchr(loc.base, '\n', loc.len) != NULL || memchr(loc.base, '\r', loc.len) != NULL) {
        char *c = h2o_mem_alloc_pool(&req->pool, loc.len);
        size_t n = 0;
        for (size_t i = 0; i != loc.len; ++i)
            if (loc.base[i] != '\t' && loc.base[i] != '\n' && loc.base[i] != '\r')
                c[n++] = loc.base[i];
        loc = h2o_iovec_init(c, n);
    }
    const char *p = loc.base, *end = loc.base + loc.len;
    while (p != end && (unsigned char)*p <= 0x20)
        ++p;
    while (end != p && (unsigned char)end[-1] <= 0x20)
        --end;
    h2o_iovec_t scheme = req->scheme->name;
    size_t n = (size_t)(end - p);
    if (n >= 6 && h2o_lcstris(p, 6, H2O_STRLIT("https:")))
        scheme = h2o_iovec_init(H2O_STRLIT("https")), p += 6;
    else if (n >= 5 && h2o_lcstris(p, 5, H2O_STRLIT("http:")))
        scheme = h2o_iovec_init(H2O_STRLIT("http")), p += 5;
    else if (n < 2 || (p[0] != '/' && p[0] != '\\') || (p[1] != '/' && p[1] != '\\'))
        return h2o_iovec_init(NULL, 0); /* relative, or another scheme (not a site on a risk list) */
    const char *rest = p;
    while (rest != end && (*rest == '/' || *rest == '\\'))
        ++rest;
    if (rest == p && h2o_memis(scheme.base, scheme.len, req->scheme->name.base, req->scheme->name.len))
        return h2o_iovec_init(NULL, 0); /* "https:path" on an https request: a path on the same origin */
    h2o_iovec_t url = h2o_concat(&req->pool, scheme, h2o_iovec_init(H2O_STRLIT("://")), h2o_iovec_init(rest, (size_t)(end - rest)));
    for (char *c = url.base + scheme.len + 3; c != url.base + url.len && *c != '?' && *c != '#'; ++c)
        if (*c == '\\')
            *c = '/';
    return url;
}

/*
 * A redirect of the origin's to another site that a risk list names as block or warn (an open redirect on the site,
 * say) goes through the link shim, as a link to it in a page would: its Location becomes the signed /__go URL, which
 * answers with the warning or the block page. Redirects elsewhere are left as they are (checked now, not when
 * followed: a permanent redirect a browser keeps was checked when it was served).
 */
static void check_redirect(h2o_req_t *req)
{
    int st = req->res.status;
    ssize_t i;
    if (!gw_rt.conf.channel.link_shim || !(st == 301 || st == 302 || st == 303 || st == 307 || st == 308) ||
        (i = h2o_find_header(&req->res.headers, H2O_TOKEN_LOCATION, -1)) == -1)
        return;
    h2o_iovec_t url = location_url(req, req->res.headers.entries[i].value), host, path;
    const gw_risk_set_t *set = gw_snap_load(&risk_set);
    gw_risk_verdict_t v;
    if (url.base == NULL || set == NULL || split_url(url.base, url.len, &host, &path) != 0 || !other_site(req, host.base, host.len))
        return;
    int rc = risk_check(&req->pool, set, host, path, &v);
    if (rc == 0 || (rc == 1 && v.action != GW_RISK_BLOCK && v.action != GW_RISK_WARN))
        return; /* (a host that cannot be checked goes to /__go too, which does not follow it) */
    if (url.len > MAX_GO_URL) {
        /* too long for the shim (/__go refuses it; most servers refuse such a request line): the redirect is not
         * followed at all rather than unchecked (padding the URL of an open redirect let it through as it came) */
        h2o_delete_header(&req->res.headers, i);
    } else {
        req->res.headers.entries[i].value = go_href(&req->pool, h2o_iovec_init("", 0), url.base, url.len);
    }
    GW_COUNT(risk_redirects_shimmed);
}

/*
 * A Refresh response header to another site (the header form of <meta http-equiv="refresh">, a navigation the page
 * makes by itself) goes through the shim as the meta does: "N; url=/__go?u=…&s=…", the delay kept; one too long for
 * the shim is removed rather than followed unchecked.
 */
static void check_refresh(h2o_req_t *req)
{
    ssize_t i;
    size_t delay_end, url_len;
    const char *u;
    if (!gw_rt.conf.channel.link_shim || (i = h2o_find_header(&req->res.headers, H2O_TOKEN_REFRESH, -1)) == -1)
        return;
    h2o_iovec_t v = req->res.headers.entries[i].value, url, host, path;
    if (!gw_refresh_parse(v.base, v.len, &delay_end, &u, &url_len) || url_len == 0 ||
        (url = location_url(req, h2o_iovec_init(u, url_len))).base == NULL || split_url(url.base, url.len, &host, &path) != 0 ||
        !other_site(req, host.base, host.len))
        return;
    if (url.len > MAX_GO_URL) {
        h2o_delete_header(&req->res.headers, i);
        return;
    }
    req->res.headers.entries[i].value = h2o_concat(&req->pool, h2o_iovec_init(v.base, delay_end), h2o_iovec_init(H2O_STRLIT("; url=")),
                                                   go_href(&req->pool, h2o_iovec_init("", 0), url.base, url.len));
    GW_COUNT(links_wrapped);
}

/* --- CSP, Reporting-Endpoints (HSTS: edge.c, on every answer) ----------------------------------- */

static void on_response(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot)
{
    const gw_config_t *c = &gw_rt.conf;
    check_redirect(req);
    check_refresh(req);
    if (!ctx->rewritten || c->channel.csp == 0)
        return;
    /* every script the gateway let through carries this nonce, or the one the origin's own policy names (the origin
     * nonced those, the gateway's UI carries it: rewrite.c read_origin_csp); 'strict-dynamic' lets them load what they
     * load */
    h2o_iovec_t v = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("script-src 'nonce-")), h2o_iovec_init(ctx->nonce, strlen(ctx->nonce)));
    if (ctx->origin_csp.script[0] != '\0')
        v = h2o_concat(&req->pool, v, h2o_iovec_init(H2O_STRLIT("' 'nonce-")),
                       h2o_iovec_init(ctx->origin_csp.script, strlen(ctx->origin_csp.script)));
    v = h2o_concat(&req->pool, v, csp_template_tail);
    h2o_add_header_by_str(&req->pool, &req->res.headers, csp_header_name.base, csp_header_name.len, 0, NULL, v.base, v.len);
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("reporting-endpoints"), 0, NULL,
                          H2O_STRLIT("cg=\"/__consent/report\""));
}

/* --- /__go ----------------------------------------------------------------------------------- */

static int on_go(h2o_handler_t *self, h2o_req_t *req)
{
    if (gw_server_track_request(req) != 0)
        return 0;
    /* a link is followed with GET: another method is a 405 naming it (README), never a redirect */
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        gw_ui_send_read_only(req);
        return 0;
    }
    h2o_iovec_t u = gw_req_query_param(req, "u"), s = gw_req_query_param(req, "s"), cs = gw_req_query_param(req, "c");
    h2o_iovec_t url = u.base != NULL ? pct_decode(&req->pool, u.base, u.len) : h2o_iovec_init(NULL, SIZE_MAX);
    h2o_iovec_t host, path;
    int is_continue = cs.base != NULL;
    if (url.len == SIZE_MAX || url.len > MAX_GO_URL || split_url(url.base, url.len, &host, &path) != 0 ||
        memchr(url.base, '\r', url.len) != NULL || memchr(url.base, '\n', url.len) != NULL ||
        !verify_sig(is_continue ? "continue" : "go", url.base, url.len, is_continue ? cs.base : s.base, is_continue ? cs.len : s.len)) {
        GW_COUNT(go_bad_signature);
        gw_ui_send_refused(req, 400, "Bad Request", "bad_link");
        return 0;
    }
    const gw_risk_set_t *set = gw_snap_load(&risk_set);
    gw_risk_verdict_t v;
    int listed = set != NULL ? risk_check(&req->pool, set, host, path, &v) : 0;
    if (listed < 0) { /* no list can say whether this host is safe: not followed (a browser could still reach it) */
        GW_COUNT(go_unreadable);
        gw_ui_send_refused(req, 400, "Bad Request", "unreadable_link");
        return 0;
    }
    if (listed == 1 && v.action == GW_RISK_BLOCK) {
        GW_COUNT(go_blocked);
        gw_ui_send_blocked(req, url.base, url.len, v.list, NULL);
        return 0;
    }
    if (listed == 1 && v.action == GW_RISK_WARN && !is_continue) {
        GW_COUNT(go_warned);
        char sig[23];
        gw_channel_sign("continue", url.base, url.len, sig);
        h2o_iovec_t enc = pct_encode(&req->pool, url.base, url.len);
        h2o_iovec_t href = h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("/__go?u=")), enc, h2o_iovec_init(H2O_STRLIT("&c=")),
                                      h2o_iovec_init(sig, 22), h2o_iovec_init("", 1)); /* NUL-terminated */
        gw_ui_send_warning(req, url.base, url.len, v.list, NULL, href.base);
        return 0;
    }
    GW_COUNT(go_redirected);
    req->res.status = 302;
    req->res.reason = "Found";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, url.base, url.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    req->res.content_length = 0;
    h2o_send_inline(req, "", 0);
    return 0;
}

void gw_channel_register_go(h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/__go", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_go;
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);
}

/* --- admin API ---------------------------------------------------------------------------------- */

static void send_json(h2o_req_t *req, int status, const char *reason, gw_jsonw_t *w)
{
    gw_admin_send(req, status, reason, "application/json", h2o_iovec_init(w->buf, w->len));
}

static int on_lists(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    const gw_risk_set_t *s = gw_snap_load(&risk_set);
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 1024);
    gw_jsonw_lit(&w, "[");
    for (size_t i = 0; s != NULL && i != gw_risk_set_size(s); ++i) {
        gw_risk_list_info_t info;
        gw_risk_list_info(gw_risk_set_list(s, i), &info);
        gw_jsonw_lit(&w, i == 0 ? "\n  {\"name\": " : ",\n  {\"name\": ");
        gw_jsonw_cstr(&w, info.name);
        gw_jsonw_printf(&w,
                        ", \"action\": \"%s\", \"format\": \"%s\", \"entries\": %zu, \"hosts\": %zu, \"ips\": %zu, \"urls\": %zu, "
                        "\"version\": %llu, \"updated_at\": %lld, \"memory_bytes\": %zu}",
                        gw_risk_action_name(info.action), gw_risk_format_name(info.format), info.entries, info.hosts, info.ips,
                        info.urls, (unsigned long long)info.version, (long long)info.updated_at_ms, info.memory_bytes);
    }
    gw_jsonw_lit(&w, "\n]\n");
    send_json(req, 200, "OK", &w);
    return 0;
}

static int on_check(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    h2o_iovec_t u = gw_req_query_param(req, "url"), h = gw_req_query_param(req, "host");
    h2o_iovec_t host, path = h2o_iovec_init(H2O_STRLIT("/"));
    if (u.base != NULL) {
        h2o_iovec_t url = pct_decode(&req->pool, u.base, u.len);
        if (url.len == SIZE_MAX || split_url(url.base, url.len, &host, &path) != 0) {
            gw_admin_send_error(req, 400, "Bad Request", "bad_url", "url must be an absolute http(s) URL (percent-encoded)");
            return 0;
        }
    } else if (h.base != NULL) {
        host = pct_decode(&req->pool, h.base, h.len);
        if (host.len == SIZE_MAX || host.len == 0) {
            gw_admin_send_error(req, 400, "Bad Request", "bad_host", "host must be a host name or IP address");
            return 0;
        }
    } else {
        gw_admin_send_error(req, 400, "Bad Request", "missing", "give ?url=… or ?host=…");
        return 0;
    }
    const gw_risk_set_t *s = gw_snap_load(&risk_set);
    gw_risk_verdict_t v;
    int rc = s != NULL ? risk_check(&req->pool, s, host, path, &v) : 0;
    if (rc < 0) {
        gw_admin_send_error(req, 400, "Bad Request", "bad_host", "not a host name or IP address");
        return 0;
    }
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 256);
    const char *verdict = rc == 1 && v.action == GW_RISK_BLOCK ? "block" : rc == 1 && v.action == GW_RISK_WARN ? "warn" : "clean";
    gw_jsonw_printf(&w, "{\"verdict\": \"%s\", \"action\": ", verdict);
    if (rc == 1) {
        gw_jsonw_printf(&w, "\"%s\", \"list\": ", gw_risk_action_name(v.action));
        gw_jsonw_cstr(&w, v.list);
        gw_jsonw_lit(&w, ", \"matched\": ");
        gw_jsonw_str(&w, v.matched, v.matched_len);
    } else {
        gw_jsonw_lit(&w, "null, \"list\": null, \"matched\": null");
    }
    gw_jsonw_lit(&w, "}\n");
    send_json(req, 200, "OK", &w);
    return 0;
}

/* PUT /admin/lists/{name} and POST /admin/lists/{name}/entries run on the job thread */
typedef struct st_list_job_t {
    list_conf_t *list;
    gw_admin_caller_t caller;
    int is_edit, allow_empty;
    char *body;
    size_t len;
    gw_entries_t entries;
    int rc;
    char err[512];
    gw_risk_report_t report;
    uint64_t version;
    int audit_failed;
} list_job_t;

static void run_list_job(void *p)
{
    list_job_t *j = p;
    if (j->is_edit) {
        j->rc = gw_risk_set_edit(&risk_set, j->list->name, (const gw_risk_str_t *)j->entries.add, j->entries.nadd,
                                 (const gw_risk_str_t *)j->entries.remove, j->entries.nremove, j->list->path, &j->report, j->err,
                                 sizeof(j->err));
    } else {
        j->rc = gw_risk_set_put(&risk_set, j->list->name, j->body, j->len, j->allow_empty, j->list->path, &j->report, j->err,
                                sizeof(j->err));
    }
    free(j->body);
    j->body = NULL;
    if (j->rc == 0 && j->err[0] != '\0')
        gw_warn("risk list %s: %s", j->list->name, j->err); /* done, with a warning (gw_risk_file_write) */
    if (j->rc == 0 && j->is_edit && j->report.added == 0 && j->report.removed == 0) {
        j->version = list_version(j->list->name); /* nothing changed: same version, no file written, nothing to audit */
    } else if (j->rc == 0) {
        remember_inode(j->list);
        j->version = list_version(j->list->name);
        j->audit_failed = audit(j->caller.name, j->is_edit ? "edit" : "replace", j->list->name, &j->report, j->version,
                                j->is_edit ? &j->entries : NULL) != 0;
    }
    gw_entries_free(&j->entries);
}

static void write_report(gw_jsonw_t *w, const gw_risk_report_t *r, const char *name)
{
    /* suffix entries (co.uk, github.io) cover a whole registry: said, so a list that blocks one is noticed */
    gw_risk_list_info_t info = name != NULL ? list_info(name) : (gw_risk_list_info_t){0};
    gw_jsonw_printf(w,
                    "\"entries\": %zu, \"entries_before\": %zu, \"added\": %zu, \"removed\": %zu, \"not_found\": %zu, "
                    "\"skipped_lines\": %zu, \"suffix_entries\": %zu, \"rejected_lines\": %zu, \"rejected\": [",
                    r->entries, r->entries_before, r->added, r->removed, r->not_found, r->skipped, info.suffix_entries, r->rejected);
    for (size_t i = 0; i != r->num_kept; ++i) {
        gw_jsonw_printf(w, "%s{\"line\": %zu, %s\"text\": ", i == 0 ? "" : ", ", r->kept[i].line,
                        r->kept[i].in_remove ? "\"in\": \"remove\", " : "");
        gw_jsonw_cstr(w, r->kept[i].text);
        gw_jsonw_lit(w, "}");
    }
    gw_jsonw_lit(w, "], \"not_found_entries\": [");
    for (size_t i = 0; i != r->num_not_found_kept; ++i) {
        if (i != 0)
            gw_jsonw_lit(w, ", ");
        gw_jsonw_cstr(w, r->not_found_kept[i]);
    }
    gw_jsonw_lit(w, "]");
}

/* (the job frees the body and the entries once read; a job that never ran still holds them) */
static void release_list_job(void *p)
{
    list_job_t *j = p;
    free(j->body);
    gw_entries_free(&j->entries);
    free(j);
}

static void on_list_job_done(h2o_req_t *req, void *p)
{
    list_job_t *j = p;
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 1024);
    if (j->rc != 0) {
        /* -2: the list was fine and the gateway could not take it (its file not written, out of memory): a 500 that
         * says so, not a 400 that sends the security team looking for a fault in their list */
        gw_jsonw_lit(&w, j->rc == -2 ? "{\"error\": \"not_saved\", \"detail\": " : "{\"error\": \"rejected\", \"detail\": ");
        gw_jsonw_cstr(&w, j->err[0] != '\0' ? j->err : "the list was not changed");
        gw_jsonw_lit(&w, ", ");
        write_report(&w, &j->report, NULL);
        gw_jsonw_lit(&w, "}\n");
        if (j->rc == -2)
            send_json(req, 500, "Internal Server Error", &w);
        else
            send_json(req, 400, "Bad Request", &w);
        return;
    }
    gw_jsonw_lit(&w, "{");
    write_report(&w, &j->report, j->list->name);
    gw_jsonw_printf(&w, ", \"version\": %llu", (unsigned long long)j->version);
    if (j->audit_failed) /* in force, but not in the audit log: the caller is told (the error log says why) */
        gw_jsonw_lit(&w, ", \"audit_error\": \"the change is in force but could not be written to the audit log\"");
    gw_jsonw_lit(&w, "}\n");
    send_json(req, 200, "OK", &w);
}

static int on_list_change(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    /* PUT /admin/lists/{name} replaces, POST …/entries edits: each path takes one method */
    int is_edit = subpath.len > 8 && memcmp(subpath.base + subpath.len - 8, "/entries", 8) == 0;
    const char *allow = is_edit ? "POST" : "PUT";
    h2o_iovec_t name = h2o_iovec_init(subpath.base, is_edit ? subpath.len - 8 : subpath.len);
    if (!h2o_memis(req->method.base, req->method.len, allow, strlen(allow))) {
        gw_admin_send_405(req, allow);
        return 0;
    }
    list_conf_t *l = find_list(name.base, name.len);
    if (l == NULL) {
        gw_admin_send_error(req, 404, "Not Found", "no_such_list", "no risk list of that name in the configuration");
        return 0;
    }
    list_job_t *j = gw_calloc(1, sizeof(*j));
    j->list = l;
    j->caller = *caller;
    j->is_edit = is_edit;
    if (is_edit) {
        char err[256];
        if (gw_entries_parse(req->entity.base, req->entity.len, &j->entries, err, sizeof(err)) != 0) {
            free(j);
            gw_admin_send_error(req, 400, "Bad Request", "bad_body", err);
            return 0;
        }
    } else {
        h2o_iovec_t ae = gw_req_query_param(req, "allow_empty");
        j->allow_empty = ae.base != NULL && h2o_memis(ae.base, ae.len, H2O_STRLIT("1"));
        j->body = h2o_mem_alloc(req->entity.len + 1);
        if (req->entity.len != 0) /* (a request without a body has no entity at all: base NULL) */
            memcpy(j->body, req->entity.base, req->entity.len);
        j->len = req->entity.len;
    }
    if (gw_job_submit(req, run_list_job, on_list_job_done, release_list_job, j) != 0)
        gw_admin_send_error(req, 503, "Service Unavailable", "busy", "too many list changes queued; try again");
    return 0;
}

typedef struct st_read_job_t {
    char *text;
    size_t len;
    size_t tail; /* 0: the whole file; else its last `tail` lines */
} read_job_t;

#define AUDIT_TAIL_MAX 1000000

/* where the last n lines of fp begin (a last line without its newline counts as one), read backwards in blocks */
static off_t tail_offset(FILE *fp, off_t size, size_t n)
{
    char block[65536];
    off_t end = size;
    int skip_last = 1; /* the file's final newline ends the last line; it does not start one */
    while (end > 0) {
        size_t len = end < (off_t)sizeof(block) ? (size_t)end : sizeof(block);
        if (fseeko(fp, end - (off_t)len, SEEK_SET) != 0 || fread(block, 1, len, fp) != len)
            return 0;
        for (size_t i = len; i != 0; --i) {
            if (block[i - 1] != '\n')
                continue;
            if (skip_last && end - (off_t)len + (off_t)i == size) {
                skip_last = 0;
                continue;
            }
            if (n-- == 1)
                return end - (off_t)len + (off_t)i;
        }
        skip_last = 0;
        end -= (off_t)len;
    }
    return 0;
}

static void run_read_audit(void *p)
{
    read_job_t *j = p;
    FILE *fp = fopen(gw_rt.conf.channel.audit_log, "r");
    size_t cap = 0;
    j->text = NULL;
    j->len = 0;
    if (fp == NULL)
        return;
    if (j->tail != 0) {
        struct stat sb;
        off_t from = fstat(fileno(fp), &sb) == 0 ? tail_offset(fp, sb.st_size, j->tail) : 0;
        if (fseeko(fp, from, SEEK_SET) != 0)
            rewind(fp);
    }
    for (;;) {
        if (cap - j->len < 4096) {
            cap = cap * 2 + 65536;
            j->text = h2o_mem_realloc(j->text, cap);
        }
        size_t n = fread(j->text + j->len, 1, cap - j->len, fp);
        if (n == 0)
            break;
        j->len += n;
    }
    fclose(fp);
}

static void on_read_audit(h2o_req_t *req, void *p)
{
    read_job_t *j = p;
    char *copy = h2o_mem_alloc_pool(&req->pool, j->len + 1);
    if (j->len != 0)
        memcpy(copy, j->text, j->len);
    gw_admin_send(req, 200, "OK", "application/x-ndjson", h2o_iovec_init(copy, j->len));
}

static void release_read_audit(void *p)
{
    read_job_t *j = p;
    free(j->text);
    free(j);
}

static int on_audit(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    size_t tail = 0;
    h2o_iovec_t v = gw_req_query_param(req, "tail");
    if (v.base != NULL) {
        size_t i = 0;
        while (i != v.len && v.base[i] >= '0' && v.base[i] <= '9' && tail <= AUDIT_TAIL_MAX)
            tail = tail * 10 + (size_t)(v.base[i++] - '0');
        if (i != v.len || tail == 0 || tail > AUDIT_TAIL_MAX) {
            gw_admin_send_error(req, 400, "Bad Request", "bad_tail", "tail is a number of lines, 1-1000000");
            return 0;
        }
    }
    read_job_t *j = gw_calloc(1, sizeof(*j));
    j->tail = tail;
    if (gw_job_submit(req, run_read_audit, on_read_audit, release_read_audit, j) != 0)
        gw_admin_send_error(req, 503, "Service Unavailable", "busy", "try again");
    return 0;
}

void gw_channel_register_admin(void)
{
    gw_admin_add_route("GET", "/admin/lists", on_lists);
    gw_admin_add_route(NULL, "/admin/lists/", on_list_change);
    gw_admin_add_route("GET", "/admin/check", on_check);
    gw_admin_add_route("GET", "/admin/audit", on_audit);
}

/* --- reloads: SIGHUP and inotify ------------------------------------------------------------------ */

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void reload_list(list_conf_t *l, const char *who)
{
    gw_risk_report_t report;
    char err[512];
    double wall = clock_ms(CLOCK_MONOTONIC), cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID);
    struct stat before;
    int missing = 0;
    if (stat(l->path, &before) != 0) {
        missing = errno == ENOENT;
        memset(&before, 0, sizeof(before));
    }
    if (gw_risk_set_reload(&risk_set, l->name, l->path, &report, err, sizeof(err)) != 0) {
        if (missing && list_info(l->name).entries == 0) /* never made yet: nothing was lost */
            gw_info("risk list %s: %s does not exist yet: the list stays empty (PUT /admin/lists/%s creates it)", l->name,
                    l->path, l->name);
        else
            gw_error("risk list %s not reloaded, the last good one stays in force: %s", l->name, err);
        return;
    }
    wall = clock_ms(CLOCK_MONOTONIC) - wall, cpu = clock_ms(CLOCK_THREAD_CPUTIME_ID) - cpu;
    remember_loaded(l, &before);
    gw_info("risk list %s reloaded from %s in %.0f ms (%.0f ms CPU): %zu entries, %zu rejected lines", l->name, l->path, wall, cpu,
            report.entries, report.rejected);
    for (size_t k = 0; k != report.num_kept; ++k)
        gw_warn("risk list %s:%zu: rejected: %s", l->path, report.kept[k].line, report.kept[k].text);
    audit(who, "reload", l->name, &report, list_version(l->name), NULL);
}

/*
 * Reloads are coalesced per list: while one is queued, more changes of the file (a feed writing it in steps, a burst of
 * events after an inotify overflow, SIGHUPs) only mark it, and the queued reload reads the file as it is when it runs.
 * A change that comes while a rebuild is running queues the next one. So the job queue holds at most one reload per
 * list, the rebuilds a burst costs do not grow with the burst, and a reload is never refused for a full queue (it was
 * dropped without a word when admin requests filled it).
 */
enum { RELOAD_FILE_CHANGE = 1, RELOAD_SIGHUP = 2 };

/* the list's file is the one this gateway last wrote or loaded */
static int is_written_file(list_conf_t *l)
{
    struct stat sb;
    pthread_mutex_lock(&written_mutex);
    int ours = stat(l->path, &sb) == 0 && same_file(&sb, &l->written);
    pthread_mutex_unlock(&written_mutex);
    return ours;
}

static void run_reload(void *p)
{
    list_conf_t *l = *(list_conf_t **)p;
    unsigned asked = __atomic_exchange_n(&l->reload_queued, 0, __ATOMIC_ACQ_REL);
    /* a file-change event queued while an admin API change was still writing the file is that change's own rename:
     * checked again here, on the job thread that ran the change, so it is neither rebuilt nor audited twice */
    if ((asked & RELOAD_SIGHUP) != 0)
        reload_list(l, "SIGHUP");
    else if (!is_written_file(l))
        reload_list(l, "file-change");
}

/* rebuilds run on the job thread, at its lower priority (jobs.c), like every other list change */
static void post_reload(list_conf_t *l, unsigned why)
{
    if (__atomic_fetch_or(&l->reload_queued, why, __ATOMIC_ACQ_REL) != 0)
        return; /* the queued reload has not begun: it reads the file as it is then */
    list_conf_t **j = malloc(sizeof(*j));
    if (j == NULL || (*j = l, gw_job_post(run_reload, j)) != 0) {
        __atomic_store_n(&l->reload_queued, 0, __ATOMIC_RELEASE);
        gw_error("risk list %s not reloaded: out of memory; the list in force stays (SIGHUP to try again)", l->name);
    }
}

static void on_sighup(void *data)
{
    for (size_t i = 0; i != num_lists; ++i)
        post_reload(lists + i, RELOAD_SIGHUP);
}

/*
 * The watch thread. Each list's folder is watched for its file name; a list file that is a symbolic link (to a feed
 * job's latest download, say) is watched at both ends: the link's folder (the link replaced: `ln -sf`, `mv -T`) and
 * the folder of the file it names now (that file written in place). After the link changes, its new target's folder
 * is watched too. Only the first link is followed to its end (realpath); links along the way are not watched.
 */
#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_CREATE)

typedef struct st_watch_t {
    int link_wd, target_wd; /* target_wd -1: the list's file is not a link */
    char target_base[NAME_MAX + 1];
} watch_t;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static int add_dir_watch(int fd, const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        slash == dir ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
    return inotify_add_watch(fd, slash != NULL ? dir : ".", WATCH_MASK);
}

static int is_link(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode);
}

/* where the list's file leads now, when it is a link */
static void watch_target(int fd, const list_conf_t *l, watch_t *w)
{
    char real[PATH_MAX];
    w->target_wd = -1;
    if (!is_link(l->path) || realpath(l->path, real) == NULL || strlen(base_name(real)) > NAME_MAX)
        return;
    memcpy(w->target_base, base_name(real), strlen(base_name(real)) + 1);
    w->target_wd = add_dir_watch(fd, real);
}

/* list i's link changed: where it leads now is watched, and the folder it left is not, unless another watch is it */
static void rewatch_target(int fd, watch_t *w, size_t i)
{
    int old = w[i].target_wd, used;
    watch_target(fd, lists + i, w + i);
    used = old == -1 || old == w[i].target_wd;
    for (size_t k = 0; !used && k != num_lists; ++k)
        used = w[k].link_wd == old || w[k].target_wd == old;
    if (!used)
        inotify_rm_watch(fd, old);
}

/* The kernel's queue of events overflowed (fs.inotify.max_queued_events; the watched folders are busy with other files):
 * the events after it are lost, a list file's change among them maybe, so every list file that is not the one in force
 * is reloaded, and links are followed again */
static void recheck_all(int fd, watch_t *w)
{
    gw_warn("inotify: events were lost (its queue overflowed); every risk list file is checked");
    for (size_t i = 0; i != num_lists; ++i) {
        rewatch_target(fd, w, i);
        if (!is_written_file(lists + i))
            post_reload(lists + i, RELOAD_FILE_CHANGE);
    }
}

static void *watch_files(void *arg)
{
    int fd = inotify_init1(IN_CLOEXEC);
    watch_t w[GW_MAX_LISTS];
    pthread_setname_np(pthread_self(), "cg-watch");
    if (fd == -1) {
        gw_warn("inotify: %s; risk list files are reloaded on SIGHUP only", strerror(errno));
        return NULL;
    }
    for (size_t i = 0; i != num_lists; ++i) {
        w[i].link_wd = add_dir_watch(fd, lists[i].path);
        watch_target(fd, lists + i, w + i);
    }
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (void *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                recheck_all(fd, w);
            for (size_t i = 0; ev->len != 0 && i != num_lists; ++i) {
                int at_link = ev->wd == w[i].link_wd && strcmp(ev->name, base_name(lists[i].path)) == 0;
                int at_target = w[i].target_wd != -1 && ev->wd == w[i].target_wd && strcmp(ev->name, w[i].target_base) == 0;
                if (!at_link && !at_target)
                    continue;
                if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
                    if (at_link)
                        gw_warn("risk list %s: %s was deleted or moved away; the list in force stays until a file appears there "
                                "again", lists[i].name, lists[i].path);
                    else
                        gw_warn("risk list %s: %s leads to a file that was deleted or moved away; the list in force stays",
                                lists[i].name, lists[i].path);
                    continue;
                }
                /* a file made by name is written next (IN_CLOSE_WRITE); a link made by name (ln -sf) is complete */
                if ((ev->mask & IN_CREATE) && !(at_link && is_link(lists[i].path)))
                    continue;
                if (at_link) /* it may lead elsewhere now */
                    rewatch_target(fd, w, i);
                if (is_written_file(lists + i))
                    continue; /* our own write (admin API) */
                post_reload(lists + i, RELOAD_FILE_CHANGE);
            }
            p += sizeof(struct inotify_event) + ev->len;
        }
    }
    return NULL;
}

/* --- set-up ------------------------------------------------------------------------------------ */

/*
 * The version each list had when the audit log last recorded it, and when: a restart continues the versions (they
 * were all 1 again after each start, while the audit log went on), one more when the file changed since (edited
 * while the gateway was down): its modification time is not the one the line recorded. (A line of an older build
 * records none: the file changed when it is newer than the line by more than a second. That compared two clocks'
 * times, and a line written while the gateway's clock was ahead hid the edits made after the clock was set right.)
 * The log is read once, at start (jansson: never on a request).
 */
static void restore_versions(gw_risk_list_t **loaded, size_t n)
{
    FILE *fp = fopen(gw_rt.conf.channel.audit_log, "r");
    char *line = NULL;
    size_t cap = 0;
    uint64_t version[GW_MAX_LISTS] = {0};
    int64_t at[GW_MAX_LISTS] = {0}, recorded_mtime[GW_MAX_LISTS] = {0};
    size_t entries[GW_MAX_LISTS] = {0};
    if (fp == NULL)
        return;
    while (getline(&line, &cap, fp) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *name = json_string_value(json_object_get(o, "list"));
        for (size_t i = 0; name != NULL && i != n; ++i) {
            if (strcmp(lists[i].name, name) == 0 && json_is_integer(json_object_get(o, "version"))) {
                version[i] = (uint64_t)json_integer_value(json_object_get(o, "version"));
                at[i] = (int64_t)json_integer_value(json_object_get(o, "time_ms"));
                json_t *m = json_object_get(o, "file_mtime_ms");
                recorded_mtime[i] = json_is_integer(m) ? (int64_t)json_integer_value(m) : -1;
                entries[i] = (size_t)json_integer_value(json_object_get(o, "entries"));
            }
        }
        json_decref(o);
    }
    free(line);
    fclose(fp);
    for (size_t i = 0; i != n; ++i) {
        if (version[i] == 0 || loaded[i] == NULL)
            continue;
        int64_t mtime = file_mtime_ms(lists[i].path);
        int changed = recorded_mtime[i] >= 0 ? mtime != recorded_mtime[i] : mtime > at[i] + 1000;
        if (changed) { /* changed while the gateway was down: a new version, and the log says so */
            gw_risk_list_info_t info;
            gw_risk_list_info(loaded[i], &info);
            gw_risk_report_t r = {.entries = info.entries, .entries_before = entries[i]};
            gw_risk_list_set_version(loaded[i], version[i] + 1, mtime);
            if (info.entries == 0 && entries[i] != 0)
                gw_error("risk list %s: %s has no entries now, %zu when last in force: a truncated file? (the list starts "
                         "empty; restore the file, or PUT the list)", lists[i].name, lists[i].path, entries[i]);
            audit("start", "load", lists[i].name, &r, version[i] + 1, NULL);
        } else {
            gw_risk_list_set_version(loaded[i], version[i], at[i]);
        }
    }
}

void gw_channel_warn_missing_list(size_t i)
{
    const gw_list_conf_t *lc = gw_rt.conf.risk.lists + i;
    gw_warn("risk list %s: %s does not exist yet: starting empty, it matches nothing (PUT /admin/lists/%s creates it; is "
            "risk.lists[%zu].file the path meant?)", lc->name, lc->file, lc->name, i);
}

int gw_channel_init(void)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_risk_list_t *loaded[GW_MAX_LISTS];

    for (size_t i = 0; i != c->risk.num_lists; ++i) {
        const gw_list_conf_t *lc = c->risk.lists + i;
        list_conf_t *l = lists + num_lists++;
        gw_risk_report_t report;
        char err[512];
        l->name = lc->name;
        l->path = lc->file;
        l->format = lc->format;
        l->action = lc->action;
        if (access(l->path, F_OK) != 0) {
            if (gw_make_parents(l->path, 0750) != 0) /* (PUT then creates the file) */
                gw_warn("risk list %s: cannot create the folder of %s: %s", l->name, l->path, strerror(errno));
            gw_channel_warn_missing_list(i);
            loaded[i] = gw_risk_list_parse(l->name, l->format, l->action, "", 0, &report);
        } else if (gw_risk_list_load_file(l->path, l->name, l->format, l->action, loaded + i, &report, err, sizeof(err)) != 0) {
            gw_error("risk list %s: %s", l->name, err);
            return -1;
        } else {
            remember_inode(l);
            gw_info("risk list %s (%s, %s): %zu entries, %zu rejected lines", l->name, gw_risk_format_name(l->format),
                    gw_risk_action_name(l->action), report.entries, report.rejected);
            for (size_t k = 0; k != report.num_kept; ++k)
                gw_warn("risk list %s:%zu: rejected: %s", l->path, report.kept[k].line, report.kept[k].text);
        }
        if (loaded[i] == NULL) {
            gw_error("risk list %s: out of memory", l->name);
            return -1;
        }
    }
    restore_versions(loaded, num_lists);
    risk_set = gw_risk_set_new(loaded, num_lists);
    if ((c->admin.tokens_file != NULL || num_lists != 0) && open_audit_log(c->channel.audit_log) != 0)
        return -1;

    /* the CSP after the nonce: "' 'strict-dynamic' https: 'unsafe-inline' <sources>; object-src 'none'; base-uri 'self'; …" */
    csp_header_name = c->channel.csp == 2 ? h2o_iovec_init(H2O_STRLIT("content-security-policy"))
                                          : h2o_iovec_init(H2O_STRLIT("content-security-policy-report-only"));
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 256);
    gw_jsonw_lit(&w, "' 'strict-dynamic' https: 'unsafe-inline'");
    for (size_t i = 0; i != c->channel.num_csp_sources; ++i)
        gw_jsonw_printf(&w, " %s", c->channel.csp_sources[i]);
    gw_jsonw_lit(&w, "; object-src 'none'; base-uri 'self'; report-uri /__consent/report; report-to cg");
    csp_template_tail = h2o_iovec_init(w.buf, w.len);

    gw_rewrite_set_url_hook(on_url);
    gw_server_on_thread_init(on_thread_init);
    gw_front_add_response_stage(on_response);
    gw_server_on_reload(on_sighup, NULL);
    if (num_lists != 0) {
        pthread_t tid;
        int rc = pthread_create(&tid, NULL, watch_files, NULL);
        if (rc == 0)
            pthread_detach(tid);
        else
            gw_warn("cannot start the thread that watches the risk list files (%s): they are reloaded on SIGHUP only",
                    strerror(rc));
    }
    return 0;
}
