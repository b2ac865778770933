/*
 * rewrite — see rewrite.h.
 *
 * Which responses: a page of any status a browser renders (200, 404, 500, …: renders_page), not HEAD, Content-Type
 * text/html or application/xhtml+xml,
 * Content-Encoding identity or gzip (gzip is decoded here, gunzip.h; h2o's compress
 * filter, registered on the path after us, compresses the result again for clients that ask).
 * Everything else passes through untouched. Content-Length is dropped (the body changes).
 *
 * Memory per response is fixed: the rewriter (one tag buffer + the inline-script hold
 * buffer) and one output buffer from the request's pool, reused
 * for every chunk (grown, rarely, when one chunk's output outgrows it), whatever the page's size. What the
 * callbacks write into one tag (a decoded attribute, the link shim's URL) comes from a pool cleared at the next
 * tag (tag_pool), not from the request's, where a page of many links used to pile up five times its size.
 * The output is one copied slice: handing the unchanged bytes on as slices of the origin's buffers
 * (tried) cost ~4 µs more CPU per 20 KB page than copying them, measured side by side.
 *
 * Pages this thread rewrote before are remembered (memo.h; "remembered pages" below): a response
 * with a Content-Length is first compared with the remembered body of its key and, while it is the
 * same, answered from the remembered output, handed on as slices of it. A page being recorded is
 * written into the thread's memo as it streams. Neither takes request memory in proportion to the page.
 */
#include <stdlib.h>
#include <string.h>
#include "abp.h"
#include "channel.h"
#include "config.h"
#include "consent.h"
#include "csp_policy.h"
#include "fetch.h"
#include "gunzip.h"
#include "jsonw.h"
#include "legacy.h"
#include "log.h"
#include "memo.h"
#include "mime.h"
#include "metrics.h"
#include "qsbr.h"
#include "rewrite.h"
#include "risk.h"
#include "ui.h"
#include "server.h"
#include "token.h"
#include "trackers.h"
#include "url.h"
#include "utf16.h"
#include "utf8.h"

#define HOLD_CAP (64 * 1024) /* inline script and style content read (searched for tracker loaders, URLs); a longer one
                                gets GW_HTML_MAX_HUGE_HOLD / 4, then GW_HTML_MAX_HUGE_HOLD bytes from on_alloc */
#define URL_SCRATCH 16384
#define URL_BUF (URL_SCRATCH + 512)
#define MAX_SCRIPT_URLS 64 /* per inline script or noscript: a tracker loader after that many other URLs goes unseen */
#define MEMO_MAX_ENTRIES 256 /* remembered pages per worker thread, at most */
#define MEMO_VOLATILE 3      /* a page different this many times in a row is recorded only now and then */
#define CSS_HOLD_MAX (1024 * 1024) /* a style sheet is read whole up to this size (decoded); a larger one passes unchecked */
/* gzip bodies are handed to the rewriter at most this many bytes at a time (req->preferred_chunk_size), so one call
 * decodes to at most ~16 MB (zlib's largest ratio is ~1,032:1): a gzip bomb from the origin streams through in
 * bounded memory instead of being decoded whole from what the proxy buffered for a slow client */
#define GUNZIP_CHUNK (16 * 1024)
#define BIG_THREAD_BUDGET (32 * 1024 * 1024) /* big buffers (sheets, long tags, long inline content) one worker thread holds */
#define NEST_BIG 5 /* the bigger buffers one tokenizer may ask for: 3 for tags, 2 for held content (html.h) */

typedef struct st_rewrite_t {
    h2o_ostream_t super;
    h2o_req_t *req;
    gw_reqctx_t *ctx;
    gw_html_t *html;
    gw_gunzip_t *gunzip;            /* NULL: identity body */
    int broken;                     /* the gzip body could not be decoded: the response has ended as an error */
    char *out;                      /* output of the current do_send (req->pool), reused by the next */
    size_t out_len, out_cap;
    h2o_iovec_t inject;
    gw_csp_nonces_t ui_nonces; /* the origin's nonces the inject carries (set_inject), "" the gateway's */
    int consent_mode; /* the ad platforms' consent default still to go before the page's first script (consent_mode_default) */
    h2o_iovec_t page_host;   /* gw_req_host(req), once per response */
    size_t page_dir;         /* length of the page path's directory (relative URLs), 0 if over 512 */
    char *scratch; /* URL_SCRATCH bytes: a decoded attribute value (the thread's, see below) */
    char *url;     /* URL_BUF bytes: the URL made absolute */
    size_t host_off, host_len; /* the URL's host inside url[] */
    /* the page's <base href> once seen (the first one counts): relative URLs after it resolve against it */
    h2o_iovec_t base_origin; /* "https://host:port" (req->pool); base NULL: none, the page's own */
    h2o_iovec_t base_dir;    /* its path up to the last '/' */
    int base_https, base_seen;
    char release[20]; /* this response's release token (neutralise), base64url of 12 random bytes */
    uint32_t tracker_mask; /* the categories the tracker lists gave the URL last classified (tracker_category) */
    int gzip;         /* the body is gzip (decoded by gunzip once the rewriter starts) */
    int script_fetch; /* a script asked for it (script_fetch): no UI at its end */
    /* the body's first bytes, for a byte order mark: BODY_NEW (none read), BODY_HELD (the first one or two kept in
     * held[] until there are enough to tell), BODY_READ (rewritten as it is), BODY_WIDE (UTF-16, as a browser reads it:
     * a UTF-16 BOM, whatever the Content-Type says, or a UTF-16 charset and no BOM of another kind; decoded to UTF-8
     * by wide into wide_buf, rewritten, and served as UTF-8), BODY_RAW (an XHTML page with a UTF-16 BOM: passed on) */
    int body;
    char held[2];
    size_t num_held;
    int wide_label; /* the Content-Type's charset: 0 not UTF-16, 1 UTF-16LE, 2 UTF-16BE (wide_charset) */
    /* the page's legacy encoding (legacy.h; GW_LEGACY_NONE: read as UTF-8), which outbound links are decoded from
     * (page_chars, legacy_url): the Content-Type's charset, else the first <meta> naming one (legacy_set: decided) */
    int legacy, legacy_set;
    int xml;        /* application/xhtml+xml: a UTF-16 one (its BOM) is passed on unread (BODY_RAW) */
    gw_utf16_t wide;
    char *wide_buf; /* WIDE_SLICE bytes of input decoded at a time (req->pool, once per response) */
    /* the memo (memo.h, "Remembered pages" below): key.base NULL when this response is neither looked up nor recorded */
    h2o_iovec_t key;
    uint64_t generation;  /* the snapshot generation at the start */
    gw_memo_entry_t *hit; /* pinned while the body so far is the same bytes as this remembered page's */
    int record_on_change; /* when it turns out another page, record it */
    size_t matched;       /* ... that many */
    /* recording: the page is written into a reserved memo entry as it streams (key, the body as it came, the output
     * after it, then aux), with the counters the rewriting moved and the tracker sightings it reported */
    gw_memo_entry_t *rec; /* the reservation; NULL: not recording */
    size_t rec_in_off, rec_in_len, rec_in_cap;
    size_t rec_out_off, rec_out_len;
    size_t out_base; /* output bytes handed on before out[0] (slots are offsets into the whole output) */
    uint64_t *rec_counts;
    char *rec_seen;
    size_t rec_seen_len, rec_seen_cap;
    struct st_memo_slot_t *rec_slots; /* where this response's own values went in out, in order */
    size_t rec_num_slots, rec_slots_cap;
    /* an <iframe srcdoc> being rewritten (srcdoc()): emit writes to nest_buf instead of out */
    int nesting;
    char *nest_buf;
    size_t nest_len, nest_cap;
    void *nest_html; /* the second tokenizer's memory, taken once per response and set up again for each srcdoc */
    /* the bigger buffers that tokenizer was given (on_alloc: a long tag or long inline content in a srcdoc), kept for the
     * next srcdoc's: it asks for each size once per srcdoc (html.h), and would take and charge new ones for every one */
    struct {
        void *p;
        size_t n;
        int used; /* given to the srcdoc being read */
    } nest_big[NEST_BIG];
    /* what one tag's callback writes into it or decodes from it (attribute values, the link shim's URLs, …) comes from
     * the pool of its level (0: the page, 1: a srcdoc read inside a tag of it), cleared when the next callback of that
     * level begins (tag_begin): a page of a million links holds one link's worth, not a million (NULL: none yet) */
    h2o_mem_pool_t *tag_pools;
    /* a style sheet (css_response): held whole, decoded, in css (req->pool) until its end, unless it outgrows
     * CSS_HOLD_MAX (css_over: then it passes on unchecked) */
    char *css;
    size_t css_len, css_cap;
    int css_over;
    size_t *charged; /* the bytes of big buffers (css, the tokenizer's grown ones) this response took from big_held */
} rewrite_t;

static void on_tag_pools_dispose(void *p)
{
    h2o_mem_pool_t *pools = p;
    h2o_mem_clear_pool(&pools[0]);
    h2o_mem_clear_pool(&pools[1]);
}

/* memory for the current tag of the current level: valid until the tag is written out (the rewriter's next callback
 * of that level clears it), as gw_html_attr_set wants for its strings */
static h2o_mem_pool_t *tag_pool(rewrite_t *self)
{
    if (self->tag_pools == NULL) {
        self->tag_pools = h2o_mem_alloc_shared(&self->req->pool, 2 * sizeof(h2o_mem_pool_t), on_tag_pools_dispose);
        h2o_mem_init_pool(&self->tag_pools[0]);
        h2o_mem_init_pool(&self->tag_pools[1]);
    }
    return &self->tag_pools[self->nesting];
}

/* a callback of the rewriter begins: the previous tag of its level has been written out, its memory goes */
static void tag_begin(rewrite_t *self)
{
    if (self->tag_pools != NULL)
        h2o_mem_clear_pool(&self->tag_pools[self->nesting]);
}

/* counts an event of this thread and logs its first one (the counter tells the rest) */
#define COUNT_WARN_FIRST GW_COUNT_WARN_FIRST

/* The URL buffers are used only inside a callback, never across two: one pair per worker thread, not 33 KB per response */
static __thread char thread_scratch[URL_SCRATCH], thread_url[URL_BUF];
static __thread char thread_request_url[URL_BUF + 1]; /* request_url's: the URL as the browser requests it */

static gw_rewrite_url_hook url_hook;
static gw_html_cb_t callbacks;
static __thread gw_memo_t *thread_memo; /* this worker's remembered pages (NULL: html.memo_kb 0, or not a worker) */

static void seen(rewrite_t *self, const char *host, size_t host_len, int cat, int action);

/* The big buffers this worker thread holds, all responses together (a sheet held whole, a long start tag, long inline
 * content): a client that asks for a large sheet or page many times over slow connections cannot make the gateway hold
 * a megabyte for each. Past the budget a sheet passes unchecked, and the tokenizer gets no bigger buffer (a long tag
 * overflows: what loads goes; inline content is read to its first 64 KB). */
static __thread size_t big_held;
static size_t big_budget = BIG_THREAD_BUDGET; /* CG_HOLD_BUDGET_KB in the environment lowers it (tests) */

static void on_charged_dispose(void *p)
{
    big_held -= *(size_t *)p;
}

/* takes n bytes from the thread's budget for this response (given back when its pool goes); 0 when they are not there */
static int charge(rewrite_t *self, size_t n)
{
    if (n > big_budget - big_held)
        return 0;
    if (self->charged == NULL) {
        self->charged = h2o_mem_alloc_shared(&self->req->pool, sizeof(size_t), on_charged_dispose);
        *self->charged = 0;
    }
    big_held += n, *self->charged += n;
    return 1;
}

void gw_rewrite_set_url_hook(gw_rewrite_url_hook hook)
{
    url_hook = hook;
}

/* --- URLs ----------------------------------------------------------------------------------- */

/*
 * Where a URL in the page goes, as a browser parses it against an http(s) page (WHATWG URL standard):
 * leading and trailing C0 controls and spaces are stripped, tabs and newlines removed anywhere, and a backslash
 * counts as '/' ("/\evil.example" and "/<TAB>/evil.example" are "//evil.example"). An explicit http(s)
 * scheme other than the page's is followed by an authority however many slashes follow ("https:evil.example"
 * on an http page); the page's own scheme without two slashes is page-relative ("http:about.html").
 */
enum { URL_NONE, URL_PAGE_RELATIVE, URL_PATH_ABSOLUTE, URL_AUTHORITY };

static inline int is_slash(char c)
{
    return c == '/' || c == '\\';
}

/* v[0..len) without leading/trailing C0 controls and spaces and without tabs and newlines, into self->scratch
 * (v may be self->scratch itself: the copy only shrinks). Returns the length. */
static size_t url_clean(rewrite_t *self, const char *v, size_t len)
{
    size_t s = 0, e = len, o = 0;
    while (s != e && (unsigned char)v[s] <= 0x20)
        ++s;
    while (e != s && (unsigned char)v[e - 1] <= 0x20)
        --e;
    if (e - s > URL_SCRATCH)
        return 0;
    if (memchr(v + s, '\n', e - s) == NULL && memchr(v + s, '\t', e - s) == NULL && memchr(v + s, '\r', e - s) == NULL) {
        memmove(self->scratch, v + s, e - s); /* the common case: nothing inside to remove */
        return e - s;
    }
    for (size_t i = s; i != e; ++i)
        if (v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
            self->scratch[o++] = v[i];
    return o;
}

/* The form of a cleaned value; *rest is what follows the scheme (and, for URL_AUTHORITY, every slash), *https
 * whether the URL's scheme is https (the page's unless the value names one). URL_NONE: empty, or another
 * scheme (data:, javascript:, blob:, mailto:, …). */
static int url_form(const char *v, size_t len, int page_https, const char **rest, size_t *rest_len, int *https)
{
    size_t i = 0;
    *https = page_https;
    if (len == 0)
        return URL_NONE;
    if (('a' <= (v[0] | 0x20) && (v[0] | 0x20) <= 'z')) {
        while (i != len && (('a' <= (v[i] | 0x20) && (v[i] | 0x20) <= 'z') || ('0' <= v[i] && v[i] <= '9') || v[i] == '+' ||
                            v[i] == '-' || v[i] == '.'))
            ++i;
        if (i != len && v[i] == ':') {
            if (i == 4 && h2o_lcstris(v, 4, H2O_STRLIT("http")))
                *https = 0;
            else if (i == 5 && h2o_lcstris(v, 5, H2O_STRLIT("https")))
                *https = 1;
            else
                return URL_NONE;
            v += i + 1, len -= i + 1;
            if (*https != page_https) { /* another special scheme: an authority, whatever the slashes */
                while (len != 0 && is_slash(*v))
                    ++v, --len;
                *rest = v, *rest_len = len;
                return len != 0 ? URL_AUTHORITY : URL_NONE;
            }
        }
    }
    *rest = v, *rest_len = len;
    if (len >= 2 && is_slash(v[0]) && is_slash(v[1])) {
        while (len != 0 && is_slash(*v))
            ++v, --len;
        *rest = v, *rest_len = len;
        return len != 0 ? URL_AUTHORITY : URL_NONE;
    }
    if (len != 0 && is_slash(v[0]))
        return URL_PATH_ABSOLUTE;
    return URL_PAGE_RELATIVE;
}

static inline char *put(char *d, const char *s, size_t n)
{
    memcpy(d, s, n);
    return d + n;
}

/* self->url[0..n): the host after "://" (the authority ends at / ? # or a backslash; userinfo before the last '@' and the
 * port are not the host; [v6] literals keep their colons). 0 when there is none. */
static size_t find_host(rewrite_t *self, size_t n)
{
    const char *u = self->url, *p = memchr(u, ':', n);
    if (p == NULL || (size_t)(u + n - p) < 3 || p[1] != '/' || p[2] != '/')
        return 0;
    size_t a = (size_t)(p + 3 - u), e = a, h;
    while (e != n && u[e] != '/' && u[e] != '?' && u[e] != '#' && u[e] != '\\')
        ++e;
    h = a;
    for (size_t i = a; i != e; ++i)
        if (u[i] == '@')
            h = i + 1;
    size_t end = h;
    if (end != e && u[end] == '[') {
        while (end != e && u[end] != ']')
            ++end;
        end += end != e;
    } else {
        while (end != e && u[end] != ':')
            ++end;
    }
    if (end == h)
        return 0;
    self->host_off = h;
    self->host_len = end - h;
    return n;
}

/* Makes a (decoded) attribute value, or a URL in an inline script, the absolute http(s) URL the browser would
 * load, in self->url. Returns its length, or 0 for URLs that are not http(s) (data:, javascript:, blob:, mailto:, …)
 * and, with authority_only, for URLs on the page's own origin that name no host (relative ones). */
static size_t absolute_url(rewrite_t *self, const char *v, size_t len, int authority_only)
{
    h2o_req_t *req = self->req;
    int page_https = self->base_origin.base != NULL ? self->base_https : req->scheme == &H2O_URL_SCHEME_HTTPS, https;
    const char *rest;
    size_t rest_len;
    len = url_clean(self, v, len);
    int form = url_form(self->scratch, len, page_https, &rest, &rest_len, &https);
    char *d = self->url;
    if (form == URL_NONE || (authority_only && form != URL_AUTHORITY && self->base_origin.base == NULL))
        return 0; /* (under a <base> of another site, relative URLs leave the page's site too) */
    if (form == URL_AUTHORITY) {
        if (rest_len + 8 >= URL_BUF)
            return 0;
        d = https ? put(d, "https://", 8) : put(d, "http://", 7);
    } else if (self->base_origin.base != NULL) {
        /* the base's origin (and, relative to it, its directory) */
        if (self->base_origin.len + self->base_dir.len + rest_len >= URL_BUF)
            return 0;
        d = put(d, self->base_origin.base, self->base_origin.len);
        d = form == URL_PAGE_RELATIVE ? put(d, self->base_dir.base, self->base_dir.len) : d;
    } else {
        /* the page's origin (and, relative to the page, its directory) */
        if (8 + req->authority.len + (form == URL_PAGE_RELATIVE ? self->page_dir : 0) + rest_len >= URL_BUF)
            return 0;
        d = page_https ? put(d, "https://", 8) : put(d, "http://", 7);
        d = put(d, req->authority.base, req->authority.len);
        if (form == URL_PAGE_RELATIVE)
            d = put(d, req->path_normalized.base, self->page_dir);
    }
    char *tail = d;
    d = put(d, rest, rest_len);
    /* in the authority and path of an http(s) URL a backslash is a slash (not in the query or fragment) */
    if (memchr(tail, '\\', (size_t)(d - tail)) != NULL)
        for (char *c = tail; c != d && *c != '?' && *c != '#'; ++c)
            if (*c == '\\')
                *c = '/';
    return find_host(self, (size_t)(d - self->url));
}

/*
 * self->url[0..n) (absolute_url's "http(s)://[userinfo@]host[:port]path", the host located) as the browser requests
 * it, into out (n + 1 bytes suffice): tracker lists name the URLs browsers fetch, and a browser parses
 * "https://www.faceb%6Fok.com:443/x/../tr" into "https://www.facebook.com/tr". The host percent-decoded and lower-cased,
 * one trailing dot dropped (the same name in DNS), a name beyond ASCII mapped as browsers map it (UTS #46); no userinfo; the scheme's default port dropped (":0443" too), another
 * one without its leading zeros; an empty path is "/"; no fragment; the path read as the server will read it (gw_url_path_normalize:
 * "." and ".." segments, also escaped ones, resolved). *host_off and *host_len locate the host in out.
 */
static size_t request_url(const rewrite_t *self, size_t n, char *out, size_t *host_off, size_t *host_len)
{
    const char *u = self->url, *h = u + self->host_off, *he = h + self->host_len, *end = u + n, *frag;
    int https = u[4] == 's';
    if ((frag = memchr(he, '#', (size_t)(end - he))) != NULL)
        end = frag; /* the fragment stays in the browser */
    size_t o = https ? 8 : 7;
    memcpy(out, u, o);
    *host_off = o;
    int wide = 0;
    for (const char *c = h; c != he; ++c) {
        int hi, lo;
        if (*c == '%' && he - c > 2 && (hi = gw_url_hex_digit(c[1])) >= 0 && (lo = gw_url_hex_digit(c[2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            c += 2;
        } else {
            out[o++] = *c;
        }
        if (out[o - 1] >= 'A' && out[o - 1] <= 'Z')
            out[o - 1] += 'a' - 'A';
        wide |= (unsigned char)out[o - 1] >= 0x80;
    }
    /* a name beyond ASCII (full-width letters, an ideographic full stop) as browsers map it (UTS #46, as the risk lists'
     * normaliser does; libpsl allocates for it, ASCII hosts never get here), when it is no longer than written */
    if (wide) {
        char norm[GW_RISK_HOST_MAX + 1];
        int m = gw_risk_normalize_host(out + *host_off, o - *host_off, GW_RISK_NORM_LOOKUP, norm, NULL);
        if (m > 0 && (size_t)m <= o - *host_off) {
            memcpy(out + *host_off, norm, (size_t)m);
            o = *host_off + (size_t)m;
        }
    }
    if (o - *host_off > 1 && out[o - 1] == '.')
        --o;
    *host_len = o - *host_off;
    const char *p = he;
    if (p != end && *p == ':') { /* the port, up to the path */
        const char *d = ++p;
        while (p != end && *p >= '0' && *p <= '9')
            ++p;
        /* (not a port a browser takes, and so loads nothing from: as written) */
        int port = p == end || *p == '/' || *p == '?' || *p == '#';
        while (port && d != p && *d == '0' && p - d > 1)
            ++d;
        if (!port || (d != p && !(p - d == (https ? 3 : 2) && memcmp(d, https ? "443" : "80", (size_t)(p - d)) == 0))) {
            out[o++] = ':';
            memcpy(out + o, d, (size_t)(p - d));
            o += (size_t)(p - d);
        }
    }
    if (p == end || *p != '/')
        out[o++] = '/';
    return o + gw_url_path_normalize(p, (size_t)(end - p), out + o);
}

/* the category the tracker lists give the URL in self->url[0..n) (a refused one preferred: a URL two lists name needs
 * both categories), or -1; all of them in self->tracker_mask. The lists are asked about the URL the browser requests
 * (request_url). */
static int tracker_category(rewrite_t *self, size_t n, gw_abp_type_t type)
{
    h2o_iovec_t ph = self->page_host;
    gw_trackers_recall_t rc;
    /* (the URL requested follows from the one written: built only for a verdict this thread does not have yet) */
    if (!gw_trackers_recall(&rc, self->url, n, ph.base, ph.len, type, &self->tracker_mask)) {
        char *r = thread_request_url;
        size_t host_off, host_len, len = request_url(self, n, r, &host_off, &host_len);
        self->tracker_mask = gw_trackers_classify_recalled(&rc, r, len, r + host_off, host_len, ph.base, ph.len, type);
    }
    return gw_trackers_pick(self->tracker_mask, self->ctx->granted);
}

/* a tag of a refused category is made inert, counted; under "enforcement": "report-only" it is only counted (the
 * page is left as the origin wrote it); returns whether to make it inert */
static int refuse_tag(int cat)
{
    if (gw_metrics != NULL)
        gw_metrics_add(gw_rt.conf.report_only ? &gw_metrics->tags_would_neutralise[cat] : &gw_metrics->tags_neutralised[cat], 1);
    return !gw_rt.conf.report_only;
}

static int refused_category(rewrite_t *self, size_t n, gw_abp_type_t type)
{
    int cat = tracker_category(self, n, type);
    if (cat < 0 || (self->ctx->granted & (1u << cat)) != 0) {
        if (cat >= 0)
            seen(self, self->url + self->host_off, self->host_len, cat, 0);
        return -1;
    }
    if (!refuse_tag(cat)) {
        seen(self, self->url + self->host_off, self->host_len, cat, 0);
        return -1;
    }
    seen(self, self->url + self->host_off, self->host_len, cat, 1);
    return cat;
}

/* decodes the attribute into scratch and makes it absolute in url; returns the URL's length or 0 (authority_only: see
 * absolute_url) */
static size_t attr_url(rewrite_t *self, gw_html_tag_t *tag, const char *name, size_t name_len, int authority_only)
{
    gw_html_attr_t a;
    if (!gw_html_attr_find(tag, name, name_len, &a) || a.value == NULL || a.value_len > URL_SCRATCH)
        return 0;
    size_t len = gw_html_decode(a.value, a.value_len, self->scratch);
    return absolute_url(self, self->scratch, len, authority_only);
}

/* --- links in a page in a legacy encoding ------------------------------------------------------- */

static int has_high(const char *p, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        if ((unsigned char)p[i] >= 0x80)
            return 1;
    return 0;
}

/* v[0..len), the page's bytes, as the characters the browser reads (UTF-8): decoded from the page's legacy encoding
 * (the tag's pool), or v itself for a UTF-8 page, for ASCII, or when it would not fit in scratch decoded */
static h2o_iovec_t page_chars(rewrite_t *self, const char *v, size_t len)
{
    if (self->legacy == GW_LEGACY_NONE || !has_high(v, len))
        return h2o_iovec_init(v, len);
    char *out = h2o_mem_alloc_pool(tag_pool(self), GW_LEGACY_MAX_OUT(len));
    gw_legacy_dec_t d;
    gw_legacy_dec_init(&d, self->legacy);
    size_t n = gw_legacy_decode(&d, v, len, out);
    if (n == (size_t)-1)
        return h2o_iovec_init(v, len);
    n += gw_legacy_finish(&d, out + n);
    return n <= URL_SCRATCH ? h2o_iovec_init(out, n) : h2o_iovec_init(v, len);
}

/*
 * self->url[0..n), a link made absolute from page_chars (UTF-8), as the browser requests it from a page in a legacy
 * encoding (URL Standard): the host beyond ASCII through IDNA (punycode, as gw_risk_normalize_host maps it: UTS #46), the
 * path and fragment percent-encoded as UTF-8, the query encoded in the page's encoding and percent-encoded
 * (gw_legacy_query; in an <iframe srcdoc>, whose document is UTF-8, as UTF-8). So the signed shim URL is the one the
 * browser would have asked for, and /__go's Location leads there. Returns the new length (the host found again), n as
 * it was when there is nothing to do or the result would not fit.
 */
static size_t legacy_url(rewrite_t *self, size_t n)
{
    const char *u = self->url, *end = u + n;
    if (self->legacy == GW_LEGACY_NONE || !has_high(u, n))
        return n;
    const char *h = u + self->host_off, *he = h + self->host_len;
    const char *q = memchr(he, '?', (size_t)(end - he)), *f = memchr(he, '#', (size_t)(end - he));
    if (q != NULL && f != NULL && f < q)
        q = NULL;
    const char *pe = q != NULL ? q : f != NULL ? f : end, *qe = f != NULL ? f : end;
    size_t cap = 3 * n + 16 * (q != NULL ? (size_t)(qe - q) : 0) + GW_RISK_HOST_MAX + 8;
    char *out = h2o_mem_alloc_pool(tag_pool(self), cap), *d = out;
    d += gw_legacy_pct_high(u, self->host_off, d); /* scheme and userinfo */
    if (has_high(h, self->host_len)) {
        /* a host is percent-decoded before IDNA (URL Standard, host parsing); one that is no host stays as it is */
        char host[GW_RISK_HOST_MAX * 4 + 1], norm[GW_RISK_HOST_MAX + 1];
        size_t hl = 0;
        int m = -1;
        if (self->host_len <= sizeof(host) - 1) {
            if ((hl = gw_url_pct_decode(h, self->host_len, host)) != SIZE_MAX)
                m = gw_risk_normalize_host(host, hl, GW_RISK_NORM_LOOKUP, norm, NULL);
        }
        d = m > 0 ? put(d, norm, (size_t)m) : put(d, h, self->host_len);
    } else {
        d = put(d, h, self->host_len);
    }
    d += gw_legacy_pct_high(he, (size_t)(pe - he), d); /* port and path */
    if (q != NULL) {
        size_t ql = self->nesting ? (size_t)-1 : gw_legacy_query(self->legacy, q, (size_t)(qe - q), d, cap - (size_t)(d - out));
        d += ql != (size_t)-1 ? ql : gw_legacy_pct_high(q, (size_t)(qe - q), d);
    }
    if (f != NULL)
        d += gw_legacy_pct_high(f, (size_t)(end - f), d);
    size_t len = (size_t)(d - out);
    if (len >= URL_BUF)
        return n;
    memcpy(self->url, out, len);
    return find_host(self, len);
}

/* attr_url for a navigation (authority_only), read from the page's characters (page_chars) and made the URL the browser
 * requests from a page in a legacy encoding (legacy_url) */
static size_t nav_attr_url(rewrite_t *self, gw_html_tag_t *tag, const char *name, size_t name_len)
{
    gw_html_attr_t a;
    if (!gw_html_attr_find(tag, name, name_len, &a) || a.value == NULL || a.value_len > URL_SCRATCH)
        return 0;
    h2o_iovec_t v = page_chars(self, a.value, a.value_len);
    size_t n = absolute_url(self, self->scratch, gw_html_decode(v.base, v.len, self->scratch), 1);
    return n != 0 ? legacy_url(self, n) : 0;
}

/* As attr_url for href, but 0 as well for links that stay on the page's host (relative ones and absolute ones
 * naming it): they never leave the site, so the hook has nothing to do with them and the URL is not built. */
static size_t link_url(rewrite_t *self, gw_html_tag_t *tag)
{
    /* an SVG link may name its target with xlink:href only; the shim then goes in href, which SVG 2 prefers */
    size_t n = gw_html_attr_find(tag, H2O_STRLIT("href"), NULL) ? nav_attr_url(self, tag, H2O_STRLIT("href"))
                                                               : nav_attr_url(self, tag, H2O_STRLIT("xlink:href"));
    if (n == 0 || h2o_lcstris(self->url + self->host_off, self->host_len, self->page_host.base, self->page_host.len))
        return 0;
    return n;
}

static const char *category_name(int cat)
{
    return gw_rt.conf.categories[cat];
}

/* the category and the response's release token an inert element carries (see neutralise) */
static void mark_inert(rewrite_t *self, gw_html_tag_t *tag, int cat)
{
    const char *name = category_name(cat);
    gw_html_attr_set(tag, H2O_STRLIT("data-cg-category"), name, strlen(name));
    gw_html_attr_set(tag, H2O_STRLIT("data-cg-r"), self->release, strlen(self->release));
    /* a URL several lists name (the Meta Pixel: EasyPrivacy's analytics, the advertising list's marketing) is released
     * only when every one of its categories is granted: data-cg-needs="analytics marketing" */
    uint32_t mask = self->tracker_mask & gw_consent_all_mask();
    if ((mask & (1u << cat)) != 0 && (mask & (mask - 1)) != 0) {
        char *needs = h2o_mem_alloc_pool(tag_pool(self), 256);
        size_t len = 0;
        for (int c = 0; mask != 0; ++c, mask >>= 1) {
            const char *cn = category_name(c);
            size_t cl = strlen(cn);
            if (!(mask & 1) || len + cl + 1 > 256)
                continue;
            if (len != 0)
                needs[len++] = ' ';
            memcpy(needs + len, cn, cl);
            len += cl;
        }
        gw_html_attr_set(tag, H2O_STRLIT("data-cg-needs"), needs, len);
    }
}

/* src="…" → data-cg-src="…", plus data-cg-category and the response's release token (data-cg-r); scripts also get
 * type="text/plain". The banner releases only elements carrying the token, so markup that merely imitates an inert tag
 * (data-cg-category, data-cg-src="javascript:…", a text/plain script, in content users wrote) is never turned on by a
 * visitor's consent. Not the CSP nonce, which an attribute would expose to CSS selectors. */
static void neutralise(rewrite_t *self, gw_html_tag_t *tag, const char *attr, size_t attr_len, const char *renamed, size_t renamed_len,
                       int cat)
{
    if (tag->id == GW_HTML_TAG_SCRIPT || tag->id == GW_HTML_TAG_STYLE) { /* neither runs nor applies as text/plain */
        gw_html_attr_t t;
        if (gw_html_attr_find(tag, H2O_STRLIT("type"), &t) && t.value != NULL)
            gw_html_attr_rename(tag, H2O_STRLIT("type"), H2O_STRLIT("data-cg-type"));
        gw_html_attr_set(tag, H2O_STRLIT("type"), H2O_STRLIT("text/plain"));
    }
    if (attr != NULL)
        gw_html_attr_rename(tag, attr, attr_len, renamed, renamed_len);
    if (tag->id == GW_HTML_TAG_IMG || tag->id == GW_HTML_TAG_SOURCE || tag->id == GW_HTML_TAG_IMAGE)
        gw_html_attr_rename(tag, H2O_STRLIT("srcset"), H2O_STRLIT("data-cg-srcset"));
    mark_inert(self, tag, cat);
}

static int run_hook(rewrite_t *self, gw_html_tag_t *tag, gw_url_kind_t kind, size_t n)
{
    if (url_hook == NULL || n == 0)
        return GW_HTML_KEEP;
    return url_hook(self->req, self->ctx, tag, tag != NULL ? tag_pool(self) : &self->req->pool, kind, self->url, n,
                    self->url + self->host_off, self->host_len);
}

/*
 * The candidates of a srcset attribute (`name`: srcset, or a <link>'s imagesrcset; gw_srcset_next), at most MAX_SRCSET
 * of them: each goes through the risk hook (a block-listed one removes the element) and, while *cat is still -1, the
 * tracker lists (the first refused category found is stored in *cat). A srcset with more candidates, or with one too
 * long to check (not an inline data: image), could have the browser pick one never checked ("…, URL 1x" after 16
 * candidates of lower density): it is renamed data-cg-unchecked-<name>, and the element falls back to its src.
 */
#define MAX_SRCSET 32
static int srcset_check(rewrite_t *self, gw_html_tag_t *tag, const char *name, size_t name_len, int *cat)
{
    gw_html_attr_t a;
    if (!gw_html_attr_find(tag, name, name_len, &a) || a.value == NULL || a.value_len == 0)
        return GW_HTML_KEEP;
    char *v = h2o_mem_alloc_pool(tag_pool(self), a.value_len); /* scratch is absolute_url's: the list is decoded apart */
    size_t len = gw_html_decode(a.value, a.value_len, v), pos = 0, url_len;
    const char *url;
    int unchecked = 0;
    for (unsigned k = 0; !unchecked && gw_srcset_next(v, len, &pos, &url, &url_len); ++k) {
        unchecked = k == MAX_SRCSET || (url_len > URL_SCRATCH && !(url_len >= 5 && h2o_lcstris(url, 5, H2O_STRLIT("data:"))));
        size_t n = unchecked ? 0 : absolute_url(self, url, url_len, 0);
        if (n == 0)
            continue;
        if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (*cat < 0)
            *cat = refused_category(self, n, GW_ABP_IMAGE);
    }
    if (unchecked) {
        h2o_iovec_t renamed = h2o_concat(tag_pool(self), h2o_iovec_init(H2O_STRLIT("data-cg-unchecked-")), h2o_iovec_init(name, name_len));
        gw_html_attr_rename(tag, name, name_len, renamed.base, renamed.len);
    }
    return GW_HTML_KEEP;
}

/* The tracker lists' type for what a preload fetches (its `as`), GW_ABP_OTHER when unsaid or unknown */
static gw_abp_type_t preload_type(const char *as, size_t len)
{
    static const struct {
        const char *word;
        gw_abp_type_t type;
    } types[] = {{"script", GW_ABP_SCRIPT}, {"style", GW_ABP_STYLESHEET}, {"image", GW_ABP_IMAGE},   {"font", GW_ABP_FONT},
                 {"fetch", GW_ABP_XHR},     {"audio", GW_ABP_MEDIA},      {"video", GW_ABP_MEDIA},   {"track", GW_ABP_MEDIA},
                 {"document", GW_ABP_SUBDOCUMENT}, {"worker", GW_ABP_SCRIPT}};
    for (size_t k = 0; as != NULL && k != sizeof(types) / sizeof(types[0]); ++k)
        if (h2o_lcstris(as, len, types[k].word, strlen(types[k].word)))
            return types[k].type;
    return GW_ABP_OTHER;
}

/* What a <link> (or a Link header value) with this rel fetches, as the tracker lists' type (the first of its keywords
 * that fetches; for preload, prefetch and the like, what its `as` names), or -1 when it fetches nothing (canonical,
 * alternate, author, …: a reference to keep, which a tracker's URL in it does not load) */
static int link_fetch_type(const char *rel, size_t len, const char *as, size_t as_len)
{
    static const struct {
        const char *word;
        gw_abp_type_t type;
    } fetching[] = {{"stylesheet", GW_ABP_STYLESHEET}, {"icon", GW_ABP_IMAGE},         {"apple-touch-icon", GW_ABP_IMAGE},
                    {"modulepreload", GW_ABP_SCRIPT},  {"preload", GW_ABP_OTHER},      {"prefetch", GW_ABP_OTHER},
                    {"preconnect", GW_ABP_OTHER},      {"dns-prefetch", GW_ABP_OTHER}, {"prerender", GW_ABP_OTHER},
                    {"manifest", GW_ABP_OTHER},        {"compression-dictionary", GW_ABP_OTHER}};
    for (size_t i = 0; i != len;) {
        while (i != len && gw_is_ascii_blank((unsigned char)rel[i]))
            ++i;
        size_t w = i;
        while (i != len && !gw_is_ascii_blank((unsigned char)rel[i]))
            ++i;
        for (size_t k = 0; k != sizeof(fetching) / sizeof(fetching[0]); ++k)
            if (i != w && h2o_lcstris(rel + w, i - w, fetching[k].word, strlen(fetching[k].word)))
                return fetching[k].type == GW_ABP_OTHER ? (int)preload_type(as, as_len) : (int)fetching[k].type;
    }
    return -1;
}

/* Chromium's blanks around a script's type (String::StripWhiteSpace): HTML's ASCII whitespace and a vertical tab */
static int is_type_blank(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* A script of this type runs: none, "module", or a JavaScript MIME type essence (HTML "prepare the script element": the
 * type's leading and trailing blanks stripped, ASCII case-insensitive; text/ecmascript is an SVG script's usual one).
 * The value is taken as written: one with a character reference is held too (more read, never less), and so is one
 * with a byte beyond ASCII, which no MIME type has but Chromium strips as a blank when it is Unicode's (U+3000, U+2003:
 * its StripWhiteSpace), read in whatever encoding the page has. */
static int is_js_type(gw_html_tag_t *tag)
{
    static const char *const types[] = {"module", "text/javascript", "application/javascript", "text/ecmascript",
                                        "application/ecmascript", "application/x-ecmascript", "application/x-javascript",
                                        "text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
                                        "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
                                        "text/x-ecmascript", "text/x-javascript"};
    gw_html_attr_t t;
    if (!gw_html_attr_find(tag, H2O_STRLIT("type"), &t) || t.value == NULL)
        return 1;
    h2o_iovec_t v = h2o_iovec_init(t.value, t.value_len);
    while (v.len != 0 && is_type_blank(v.base[0]))
        ++v.base, --v.len;
    while (v.len != 0 && is_type_blank(v.base[v.len - 1]))
        --v.len;
    if (v.len == 0 || memchr(v.base, '&', v.len) != NULL)
        return 1;
    for (size_t i = 0; i != v.len; ++i)
        if ((unsigned char)v.base[i] >= 0x80)
            return 1;
    for (size_t i = 0; i != sizeof(types) / sizeof(types[0]); ++i)
        if (h2o_lcstris(v.base, v.len, types[i], strlen(types[i])))
            return 1;
    return 0;
}

/* <script type="speculationrules"> (the type's blanks and case aside, as browsers read it) */
static int is_speculation_rules(gw_html_tag_t *tag)
{
    gw_html_attr_t t;
    if (!gw_html_attr_find(tag, H2O_STRLIT("type"), &t) || t.value == NULL)
        return 0;
    h2o_iovec_t v = h2o_str_stripws(t.value, t.value_len);
    return h2o_lcstris(v.base, v.len, H2O_STRLIT("speculationrules"));
}

static int is_one_pixel(gw_html_tag_t *tag)
{
    gw_html_attr_t w, h;
    return gw_html_attr_find(tag, H2O_STRLIT("width"), &w) && gw_html_attr_find(tag, H2O_STRLIT("height"), &h) && w.value != NULL &&
           h.value != NULL && ((w.value_len == 1 && w.value[0] <= '1') || h2o_memis(w.value, w.value_len, H2O_STRLIT("1px"))) &&
           ((h.value_len == 1 && h.value[0] <= '1') || h2o_memis(h.value, h.value_len, H2O_STRLIT("1px")));
}

/* the attributes an element names its file with, and their inert names (src; SVG's href and xlink:href) */
static const struct {
    const char *name, *renamed;
} url_attrs[] = {{"src", "data-cg-src"}, {"href", "data-cg-href"}, {"xlink:href", "data-cg-xlink-href"}};

/*
 * The URL in attribute `name` of an element that fetches: a block-listed site removes the element (GW_HTML_REMOVE); a
 * refused tracker makes it inert (name -> renamed, which the banner moves back after consent). *found: whether the
 * element has that URL at all.
 */
static int check_attr(rewrite_t *self, gw_html_tag_t *tag, const char *name, const char *renamed, gw_abp_type_t type, int *found)
{
    size_t n = attr_url(self, tag, name, strlen(name), 0);
    int cat;
    if ((*found = n != 0) == 0)
        return GW_HTML_KEEP;
    if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
        return GW_HTML_REMOVE;
    if ((cat = refused_category(self, n, type)) >= 0)
        neutralise(self, tag, name, strlen(name), renamed, strlen(renamed), cat);
    return GW_HTML_KEEP;
}

/* check_attr for media elements (embed src, object data, video src and poster, audio and track src) */
static int media_attr(rewrite_t *self, gw_html_tag_t *tag, const char *name, const char *renamed, gw_abp_type_t type)
{
    int found;
    return check_attr(self, tag, name, renamed, type, &found);
}

/*
 * The media type of a data: URL, as the URL parser reads the start of value[0..len) (tabs and newlines dropped, leading
 * blanks and controls trimmed; the type up to ';' or ',', blanks around it trimmed) into buf; base NULL when value is no
 * data: URL. (value: decoded already; only its first bytes are read.)
 */
static h2o_iovec_t data_url_type(const char *value, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i != len && n != cap; ++i)
        if (value[i] != '\t' && value[i] != '\n' && value[i] != '\r' && !(n == 0 && (unsigned char)value[i] <= 0x20))
            buf[n++] = value[i];
    if (n < 5 || !h2o_lcstris(buf, 5, H2O_STRLIT("data:")))
        return h2o_iovec_init(NULL, 0);
    size_t e = 5;
    while (e != n && buf[e] != ',' && buf[e] != ';')
        ++e;
    h2o_iovec_t type = h2o_str_stripws(buf + 5, e - 5);
    return type.base != NULL ? type : h2o_iovec_init(buf + 5, 0);
}

/* the media type of the data: URL in attribute `name` (character references decoded), into buf; base NULL when none */
static h2o_iovec_t data_attr_type(gw_html_tag_t *tag, const char *name, char *buf, size_t cap)
{
    gw_html_attr_t a;
    char raw[128];
    if (!gw_html_attr_find(tag, name, strlen(name), &a) || a.value == NULL)
        return h2o_iovec_init(NULL, 0);
    /* (a reference cut at the end of the first bytes is copied as written: the type is before it anyway) */
    size_t rl = gw_html_decode(a.value, a.value_len < sizeof(raw) ? a.value_len : sizeof(raw), raw);
    return data_url_type(raw, rl, buf, cap);
}

/* the attribute renamed data-cg-unchecked-<name>, with a comment saying why */
static void unchecked_attr(rewrite_t *self, gw_html_tag_t *tag, const char *name, const char *why, size_t why_len)
{
    h2o_iovec_t renamed = h2o_concat(tag_pool(self), h2o_iovec_init(H2O_STRLIT("data-cg-unchecked-")), h2o_iovec_init(name, strlen(name)));
    gw_html_attr_rename(tag, name, strlen(name), renamed.base, renamed.len);
    gw_html_tag_insert(tag, why, why_len);
}

/*
 * A frame, object or embed whose URL (attribute `name`) is a data: URL of a document (HTML, XML, SVG: anything but
 * text, an empty type or an image other than SVG) would load what that document names, which the rewriter does not
 * read (Chromium fetches an inline document's images and frames): the attribute is renamed data-cg-unchecked-<name>,
 * and the element shows nothing (or its fallback content). Returns whether it was.
 */
static int inline_document(rewrite_t *self, gw_html_tag_t *tag, const char *name)
{
    char buf[128];
    h2o_iovec_t type = data_attr_type(tag, name, buf, sizeof(buf));
    if (type.base == NULL)
        return 0;
    int text = type.len == 0 || h2o_lcstris(type.base, type.len, H2O_STRLIT("text/plain"));
    int image = type.len > 6 && h2o_lcstris(type.base, 6, H2O_STRLIT("image/"));
    for (size_t i = 0; image && i + 3 <= type.len; ++i)
        image = !h2o_lcstris(type.base + i, 3, H2O_STRLIT("svg"));
    if (text || image)
        return 0;
    unchecked_attr(self, tag, name, H2O_STRLIT("<!-- consentgate: an inline document (a data: URL) cannot be checked: not loaded -->"));
    return 1;
}

/* whether url[0..len) is a data: URL of a style sheet (text/css): what it imports and loads is not read */
static int is_data_css(const char *url, size_t len)
{
    char buf[64];
    h2o_iovec_t type = data_url_type(url, len, buf, sizeof(buf));
    return type.base != NULL && h2o_lcstris(type.base, type.len, H2O_STRLIT("text/css"));
}

/* The next URL written as "//host.tld…" in held content at or after *i: content[*from, *to) (from its "//"), *i moved
 * past it; 0 when there is none. A URL ends at a quote, a blank, ')', '\\', '`', '<' or '>', and at 2,048 bytes after
 * its "//" at the latest (host included: the noscript check decodes it into URL_SCRATCH). */
static int next_url(const char *content, size_t len, size_t *i, size_t *from, size_t *to)
{
    for (size_t k = *i; k + 2 < len; ++k) {
        const char *p = memchr(content + k, '/', len - k);
        if (p == NULL)
            break;
        k = (size_t)(p - content);
        if (k + 1 >= len || p[1] != '/')
            continue;
        size_t start = k + 2, end = start;
        while (end != len && end - start < 2048 &&
               (('a' <= (content[end] | 0x20) && (content[end] | 0x20) <= 'z') || ('0' <= content[end] && content[end] <= '9') ||
                content[end] == '.' || content[end] == '-'))
            ++end;
        if (end - start < 4 || memchr(content + start, '.', end - start) == NULL) {
            k = end;
            continue;
        }
        while (end != len && content[end] != '"' && content[end] != '\'' && content[end] != ' ' && content[end] != '\n' &&
               content[end] != ')' && content[end] != '\\' && content[end] != '`' && content[end] != '<' && content[end] != '>' &&
               end - start < 2048)
            ++end;
        *from = k, *to = end, *i = end;
        return 1;
    }
    *i = len;
    return 0;
}

/* The next script path written as a string literal in an inline script ("/static/array.js", '/metrics/gtm.js?id=') at or
 * after *i: content[*from, *to) (without its quotes), *i moved past it; 0 when there is none. A loader that builds its URL
 * on the site's own host (PostHog's snippet behind the site's proxy, server-side GTM on the site's host) writes no
 * "//host" for next_url to find. Only a path ending in .js or .mjs counts: it is asked about as the <script src> of that
 * path would be. A literal ends at its quote, a newline or a '\\', and at 2,048 bytes. */
static int next_script_path(const char *content, size_t len, size_t *i, size_t *from, size_t *to)
{
    for (size_t k = *i; k + 2 < len; ++k) {
        char q = content[k];
        if ((q != '"' && q != '\'' && q != '`') || content[k + 1] != '/' || content[k + 2] == '/' || content[k + 2] == '\\')
            continue;
        size_t start = k + 1, end = start, path_end = 0;
        while (end != len && content[end] != q && content[end] != '\n' && content[end] != '\\' && end - start < 2048) {
            if (path_end == 0 && (content[end] == '?' || content[end] == '#'))
                path_end = end;
            ++end;
        }
        if (path_end == 0)
            path_end = end;
        size_t n = path_end - start;
        if ((n > 3 && memcmp(content + path_end - 3, ".js", 3) == 0) || (n > 4 && memcmp(content + path_end - 4, ".mjs", 4) == 0)) {
            *from = start, *to = end, *i = end;
            return 1;
        }
        k = end;
    }
    *i = len;
    return 0;
}

/* the last URLs a scan of CSS checked (slices of its text) and what they were: a sheet names its sprite or font many
 * times, and each is checked once */
typedef struct st_recent_urls_t {
    struct {
        const char *p;
        size_t len;
        int verdict;
    } e[8];
    unsigned next;
} recent_urls_t;

/* the verdict recorded for url[0..len), or -2 when it was not checked lately */
static int recent_find(const recent_urls_t *r, const char *url, size_t len)
{
    for (unsigned k = 0; k != 8; ++k)
        if (r->e[k].p != NULL && r->e[k].len == len && memcmp(r->e[k].p, url, len) == 0)
            return r->e[k].verdict;
    return -2;
}

static void recent_add(recent_urls_t *r, const char *url, size_t len, int verdict)
{
    unsigned k = r->next++ & 7;
    r->e[k].p = url, r->e[k].len = len, r->e[k].verdict = verdict;
}

/*
 * The URLs in CSS text (resolved: gw_css_unescape) that the browser may load (gw_css_next_url: url(), @import strings,
 * absolute URLs in other strings); one named again shortly after is not checked again. Each goes through the risk hook (a block-listed one ends the search with GW_HTML_REMOVE, the hook
 * wrote its comment) and, while *cat is -1, the tracker lists (the first refused category goes to *cat). A URL too long
 * to check (not data:) ends it with GW_HTML_REMOVE as well.
 */
static int css_urls(rewrite_t *self, gw_html_tag_t *tag, const char *css, size_t len, int *cat)
{
    size_t pos = 0, url_len, n;
    const char *url;
    recent_urls_t recent = {{{NULL}}};
    while (gw_css_next_url(css, len, &pos, &url, &url_len)) { /* bounded by the tag's or the hold's size */
        if (recent_find(&recent, url, url_len) != -2)
            continue;
        recent_add(&recent, url, url_len, 0);
        if (is_data_css(url, url_len)) { /* an inline style sheet (@import of a data: URL): its own URLs would load unread */
            gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed a style importing an inline style sheet -->"));
            return GW_HTML_REMOVE;
        }
        if (url_len > URL_SCRATCH) {
            if (h2o_lcstris(url, 5, H2O_STRLIT("data:")))
                continue;
            gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed a style with a URL too long to check -->"));
            return GW_HTML_REMOVE;
        }
        if ((n = absolute_url(self, url, url_len, 0)) == 0)
            continue;
        if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (*cat < 0)
            *cat = refused_category(self, n, GW_ABP_IMAGE);
    }
    return GW_HTML_KEEP;
}

/* SVG presentation attributes that take CSS url()s Chromium fetches from other sites too (a paint server, a mask, a
 * marker, a cursor image), and their inert names */
static const struct {
    const char *name, *renamed;
} presentation[] = {{"fill", "data-cg-fill"},
                    {"stroke", "data-cg-stroke"},
                    {"mask", "data-cg-mask"},
                    {"clip-path", "data-cg-clip-path"},
                    {"marker-start", "data-cg-marker-start"},
                    {"marker-mid", "data-cg-marker-mid"},
                    {"marker-end", "data-cg-marker-end"},
                    {"cursor", "data-cg-cursor"},
                    {"filter", "data-cg-filter"}};

/* whether markup p[0, n) may hold a '(' once its character references are decoded */
static int may_have_paren(const char *p, size_t n)
{
    return memchr(p, '(', n) != NULL || memchr(p, '&', n) != NULL;
}

/* The first refused category of a tracker a script's text loads: a URL in it (`//host…`), or a script path written as a
 * string ("/static/array.js"), its first MAX_SCRIPT_URLS of each; -1 for none */
static int script_category(rewrite_t *self, const char *text, size_t len)
{
    size_t i = 0, from, to, n;
    int cat;
    for (size_t found = 0; found != MAX_SCRIPT_URLS && next_url(text, len, &i, &from, &to); ++found)
        if ((n = absolute_url(self, text + from, to - from, 0)) != 0 && (cat = refused_category(self, n, GW_ABP_SCRIPT)) >= 0)
            return cat;
    i = 0;
    for (size_t found = 0; found != MAX_SCRIPT_URLS && next_script_path(text, len, &i, &from, &to); ++found)
        if ((n = absolute_url(self, text + from, to - from, 0)) != 0 && (cat = refused_category(self, n, GW_ABP_SCRIPT)) >= 0)
            return cat;
    return -1;
}

/*
 * Inline event handlers (onload=, onerror=, onclick=, …) are scripts: one that loads a tracker (`new
 * Image().src='https://…/tr?…'`, a loader written into an <img onerror>) runs on the page as an inline <script> would,
 * and is made inert as one is: onerror → data-cg-onerror (the banner puts it back after consent; an event it waited
 * for, a load or an error, may have passed by then). Read on the elements on_tag looks at, and on any other whose tag
 * has a '(' or a character reference (gw_html_may_name_url): a handler on a <div> or <body> that loads without a call
 * in it (`onclick="location='…'"`) is not read. GW_HTML_REMOVE when a handler could not be renamed (a tag past its
 * edits): the element goes rather than load it.
 */
static int event_handlers(rewrite_t *self, gw_html_tag_t *tag)
{
    gw_html_attr_t a;
    size_t iter = 0;
    while (gw_html_attr_next(tag, &iter, &a)) {
        /* the banner turns data-cg-on… back into a handler on the elements this response made inert: one the page wrote
         * itself (user content a sanitizer let through as a data- attribute) must not become a script by consent */
        if (a.name_len > 10 && h2o_lcstris(a.name, 10, H2O_STRLIT("data-cg-on"))) {
            if (gw_html_attr_remove(tag, a.name, a.name_len) != 0)
                return GW_HTML_REMOVE;
            continue;
        }
        if (a.name_len < 3 || a.name_len > 64 || (a.name[0] | 0x20) != 'o' || (a.name[1] | 0x20) != 'n' || a.value == NULL ||
            a.value_len == 0)
            continue;
        char *text = h2o_mem_alloc_pool(tag_pool(self), a.value_len); /* character references count in an attribute */
        int cat = script_category(self, text, gw_html_decode(a.value, a.value_len, text));
        if (cat < 0)
            continue;
        char *renamed = h2o_mem_alloc_pool(tag_pool(self), sizeof("data-cg-") - 1 + a.name_len);
        memcpy(renamed, "data-cg-", sizeof("data-cg-") - 1);
        memcpy(renamed + sizeof("data-cg-") - 1, a.name, a.name_len);
        if (gw_html_attr_rename(tag, a.name, a.name_len, renamed, sizeof("data-cg-") - 1 + a.name_len) != 0)
            return GW_HTML_REMOVE;
        mark_inert(self, tag, cat);
    }
    return GW_HTML_KEEP;
}

/*
 * What any element may load without being an image itself: the URLs in its style attribute and, for body, table and
 * its cells, its legacy background attribute. A block-listed site drops the attribute and a refused tracker makes it
 * inert (style → data-cg-style, background → data-cg-background, which the banner moves back after consent); the
 * element stays either way, as a <td> or <p> cannot be removed safely (their end tags may be left out). So do SVG's
 * presentation attributes that take a url(). GW_HTML_REMOVE only when an attribute naming one could not be taken out (a
 * tag past the edits a tag can have: the element goes rather than load it).
 */
static int style_attrs(rewrite_t *self, gw_html_tag_t *tag)
{
    gw_html_attr_t a;
    int cat = -1, failed = 0;
    size_t n;
    if (!gw_html_may_name_url(tag->raw, tag->raw_len)) /* most tags: the tokenizer's test for callbacks.on_tag_urls */
        return GW_HTML_KEEP;
    if (gw_html_attr_find(tag, H2O_STRLIT("style"), &a) && a.value != NULL && a.value_len != 0) {
        char *css = h2o_mem_alloc_pool(tag_pool(self), a.value_len); /* character references, then CSS escapes */
        size_t len = gw_css_unescape(css, gw_html_decode(a.value, a.value_len, css), css);
        if (css_urls(self, tag, css, len, &cat) == GW_HTML_REMOVE) {
            gw_html_attr_remove(tag, H2O_STRLIT("style"));
        } else if (cat >= 0) {
            gw_html_attr_rename(tag, H2O_STRLIT("style"), H2O_STRLIT("data-cg-style"));
            mark_inert(self, tag, cat);
        }
    }
    if ((n = attr_url(self, tag, H2O_STRLIT("background"), 0)) != 0) {
        if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE) {
            gw_html_attr_remove(tag, H2O_STRLIT("background"));
        } else if ((cat = refused_category(self, n, GW_ABP_IMAGE)) >= 0) {
            gw_html_attr_rename(tag, H2O_STRLIT("background"), H2O_STRLIT("data-cg-background"));
            mark_inert(self, tag, cat);
        }
    }
    /* SVG presentation attributes take CSS url()s that Chromium fetches from other sites too: read as the style
     * attribute is (only a value with a '(', or a character reference that may be one — url&#40;…&#41; and url&lpar;
     * are url( to the browser — is, so a tag with neither has none to look up) */
    if (!may_have_paren(tag->raw, tag->raw_len))
        return GW_HTML_KEEP;
    for (size_t k = 0; k != sizeof(presentation) / sizeof(presentation[0]); ++k) {
        const char *name = presentation[k].name;
        if (!gw_html_attr_find(tag, name, strlen(name), &a) || a.value == NULL || !may_have_paren(a.value, a.value_len))
            continue;
        char *css = h2o_mem_alloc_pool(tag_pool(self), a.value_len);
        size_t len = gw_css_unescape(css, gw_html_decode(a.value, a.value_len, css), css);
        cat = -1;
        if (css_urls(self, tag, css, len, &cat) == GW_HTML_REMOVE) {
            failed |= gw_html_attr_remove(tag, name, strlen(name)) != 0;
        } else if (cat >= 0) {
            failed |= gw_html_attr_rename(tag, name, strlen(name), presentation[k].renamed, strlen(presentation[k].renamed)) != 0;
            mark_inert(self, tag, cat);
        }
    }
    return failed ? GW_HTML_REMOVE : GW_HTML_KEEP;
}

/*
 * <base href>: the first one changes what every relative URL after it means, for the browser and so for the checks
 * here. The consent UI is injected before it (its URLs stay the site's own); a base on a block-listed site is
 * removed (relative URLs then stay on the page's origin); any other is taken as the base for what follows.
 */
static int on_base(rewrite_t *self, gw_html_tag_t *tag)
{
    size_t n;
    if (self->base_seen || (n = attr_url(self, tag, H2O_STRLIT("href"), 0)) == 0)
        return GW_HTML_KEEP;
    self->base_seen = 1;
    gw_html_tag_inject(tag);
    if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
        return GW_HTML_REMOVE;
    /* absolute_url made it "http(s)://host[:port]/path…" with the host located: the origin ends at the path */
    const char *u = self->url, *end = u + n, *p = u + self->host_off + self->host_len;
    while (p != end && *p != '/' && *p != '?' && *p != '#')
        ++p;
    const char *dir = p;
    while (dir != end && *dir != '?' && *dir != '#')
        ++dir;
    while (dir != p && dir[-1] != '/')
        --dir;
    self->base_https = u[4] == 's';
    self->base_origin = h2o_strdup(&self->req->pool, u, (size_t)(p - u));
    h2o_iovec_t scheme = self->req->scheme->name, auth = self->req->authority;
    self->ctx->base_elsewhere = !(self->base_origin.len == scheme.len + 3 + auth.len &&
                                  h2o_lcstris(self->base_origin.base, scheme.len, scheme.base, scheme.len) &&
                                  memcmp(self->base_origin.base + scheme.len, "://", 3) == 0 &&
                                  h2o_lcstris(self->base_origin.base + scheme.len + 3, auth.len, auth.base, auth.len));
    self->base_dir = dir != p ? h2o_strdup(&self->req->pool, p, (size_t)(dir - p)) : h2o_iovec_init(H2O_STRLIT("/"));
    return GW_HTML_KEEP;
}

/*
 * A URL longer than URL_SCRATCH cannot be checked (and no server takes a request line that long, so nothing that works
 * is lost by not following it). The attributes that name one, per element on_tag looks at; an inline data: URL of any
 * length is not a URL to check.
 */
static const char *const long_url_attrs[] = {"src", "href", "xlink:href", "action", "formaction", "data", "poster", "srcset", "imagesrcset"};

static int long_url(gw_html_tag_t *tag, const char **name)
{
    for (size_t i = 0; i != sizeof(long_url_attrs) / sizeof(long_url_attrs[0]); ++i) {
        gw_html_attr_t a;
        if (!gw_html_attr_find(tag, long_url_attrs[i], strlen(long_url_attrs[i]), &a) || a.value == NULL ||
            a.value_len <= URL_SCRATCH)
            continue;
        size_t s = 0;
        while (s != a.value_len && (unsigned char)a.value[s] <= 0x20)
            ++s;
        if (a.value_len - s >= 5 && h2o_lcstris(a.value + s, 5, H2O_STRLIT("data:")))
            continue;
        *name = long_url_attrs[i];
        return 1;
    }
    return 0;
}

/* A link (a, area) whose URL is too long to check keeps its text but stops being a link (its href renamed); any other
 * element naming one is removed, as a start tag too long to read is. */
static int on_long_url(rewrite_t *self, gw_html_tag_t *tag, const char *name)
{
    COUNT_WARN_FIRST(html_oversized_removed,
                     "rewrite: a <%.*s> whose %s is longer than %d bytes cannot be checked: %s (on %.*s; further cases are "
                     "counted in cg_html_oversized_removed_total)",
                     (int)tag->name_len, tag->name, name, URL_SCRATCH,
                     tag->id == GW_HTML_TAG_A || tag->id == GW_HTML_TAG_AREA ? "its link is disabled" : "it is removed",
                     (int)self->req->path_normalized.len, self->req->path_normalized.base);
    if (tag->id != GW_HTML_TAG_A && tag->id != GW_HTML_TAG_AREA)
        return GW_HTML_REMOVE;
    gw_rewrite_unlink(tag);
    return GW_HTML_KEEP;
}

void gw_rewrite_unlink(gw_html_tag_t *tag)
{
    gw_html_attr_rename(tag, H2O_STRLIT("href"), H2O_STRLIT("data-cg-unchecked-href"));
    gw_html_attr_rename(tag, H2O_STRLIT("xlink:href"), H2O_STRLIT("data-cg-unchecked-xlink-href"));
}

/* 1 when the attribute's value, blanks around it trimmed, is lit (ASCII case-insensitive) */
static int attr_is(const gw_html_attr_t *a, const char *lit, size_t lit_len)
{
    size_t s = 0, e = a->value_len;
    while (s != e && (unsigned char)a->value[s] <= 0x20)
        ++s;
    while (e != s && (unsigned char)a->value[e - 1] <= 0x20)
        --e;
    return h2o_lcstris(a->value + s, e - s, lit, lit_len);
}

/*
 * <meta http-equiv="refresh" content="N; url=…">: the page navigates by itself, so the URL goes to the hook as a link
 * does (a link shim wraps it). The URL is found as HTML's shared declarative refresh steps find it: the delay (digits and
 * dots, at least one), then blanks, ';' or ',', blanks, an optional "url" and '=' with blanks around it, then the URL,
 * quoted or not. Without a delay, or with something else after it, browsers do not refresh (and so it stays as it is);
 * without a URL (a reload of the page itself) there is nothing to check.
 */
static int on_meta_csp(rewrite_t *self, gw_html_tag_t *tag, const gw_html_attr_t *c);

/*
 * A page whose Content-Type names no encoding a browser knows: the first <meta charset> or <meta http-equiv=
 * Content-Type content="…charset=…"> naming one decides it (HTML's prescan; one naming UTF-16 is UTF-8, x-user-defined
 * windows-1252), for the links after it. (A browser's prescan reads the first 1024 bytes and sees a <meta> before any
 * link; one later in a page is taken here too, from where it is.) Not inside an <iframe srcdoc>, whose document is UTF-8.
 */
static void meta_charset(rewrite_t *self, gw_html_tag_t *tag)
{
    gw_html_attr_t a, he;
    const char *label = NULL;
    size_t label_len = 0;
    char buf[64];
    if (gw_html_attr_find(tag, H2O_STRLIT("charset"), &a) && a.value != NULL && a.value_len < sizeof(buf)) {
        label_len = gw_html_decode(a.value, a.value_len, buf), label = buf;
    } else if (gw_html_attr_find(tag, H2O_STRLIT("http-equiv"), &he) && he.value != NULL && attr_is(&he, H2O_STRLIT("content-type")) &&
               gw_html_attr_find(tag, H2O_STRLIT("content"), &a) && a.value != NULL && a.value_len < 1024) {
        char *v = h2o_mem_alloc_pool(tag_pool(self), a.value_len + 1);
        if (!gw_legacy_meta_charset(v, gw_html_decode(a.value, a.value_len, v), &label, &label_len))
            return;
    } else {
        return;
    }
    int known, enc = gw_legacy_from_label(label, label_len, &known);
    if (!known)
        return;
    if (enc == GW_LEGACY_NONE && label_len == 14 && h2o_lcstris(label, label_len, H2O_STRLIT("x-user-defined")))
        enc = gw_legacy_from_label(H2O_STRLIT("windows-1252"), NULL);
    self->legacy = enc, self->legacy_set = 1;
}

static int on_meta(rewrite_t *self, gw_html_tag_t *tag)
{
    gw_html_attr_t he, c;
    if (!self->legacy_set && !self->nesting)
        meta_charset(self, tag);
    if (!gw_html_attr_find(tag, H2O_STRLIT("http-equiv"), &he) || he.value == NULL ||
        !gw_html_attr_find(tag, H2O_STRLIT("content"), &c) || c.value == NULL)
        return GW_HTML_KEEP;
    if (attr_is(&he, H2O_STRLIT("content-security-policy")))
        return on_meta_csp(self, tag, &c);
    if (!attr_is(&he, H2O_STRLIT("refresh")) || c.value_len > URL_SCRATCH)
        return GW_HTML_KEEP;
    h2o_iovec_t chars = page_chars(self, c.value, c.value_len);
    char *v = h2o_mem_alloc_pool(tag_pool(self), chars.len); /* scratch is absolute_url's */
    size_t len = gw_html_decode(chars.base, chars.len, v), delay_end, url_len, n;
    const char *url;
    if (!gw_refresh_parse(v, len, &delay_end, &url, &url_len) || url_len == 0 || (n = absolute_url(self, url, url_len, 1)) == 0 ||
        (n = legacy_url(self, n)) == 0 ||
        h2o_lcstris(self->url + self->host_off, self->host_len, self->page_host.base, self->page_host.len))
        return GW_HTML_KEEP;
    return run_hook(self, tag, GW_URL_REFRESH, n);
}

static void rec_stop(rewrite_t *self);

/*
 * <iframe srcdoc="…">: a document written in the attribute, which the browser loads with the page's origin and base
 * URL. Its markup is rewritten as the page's is, by a second rewriter over the decoded value, and written back: links
 * shimmed, block-listed subresources removed, refused trackers made inert (they stay so until the page is loaded again
 * with consent: the banner does not reach into frames). Its scripts get no nonce and it gets no banner (under an
 * enforcing CSP, which reaches it, its scripts stay blocked, as before). A <base> in it does not move the page's. A page
 * holding one is not remembered (the memo finds this response's values only in the page's own tags, not escaped in an
 * attribute). A srcdoc inside a srcdoc: that inner frame is removed.
 */
#define SRCDOC_HOLD 16384
static int srcdoc(rewrite_t *self, gw_html_tag_t *tag)
{
    gw_html_attr_t a;
    if (!gw_html_attr_find(tag, H2O_STRLIT("srcdoc"), &a) || a.value == NULL)
        return GW_HTML_KEEP;
    if (self->nesting)
        return GW_HTML_REMOVE;
    rec_stop(self);
    char *doc = h2o_mem_alloc_pool(tag_pool(self), a.value_len + 1); /* (level 0's: the srcdoc's own tags clear level 1's) */
    size_t len = gw_html_decode(a.value, a.value_len, doc);
    /* (one tokenizer per response, not per srcdoc: a page of 50,000 <iframe srcdoc=a> held 16 KB for each) */
    if (self->nest_html == NULL)
        self->nest_html = h2o_mem_alloc_pool(&self->req->pool, gw_html_sizeof(SRCDOC_HOLD));
    gw_html_t *h = gw_html_init(self->nest_html, SRCDOC_HOLD, &callbacks, self);
    for (size_t i = 0; i != NEST_BIG; ++i)
        self->nest_big[i].used = 0;
    h2o_iovec_t base_origin = self->base_origin, base_dir = self->base_dir;
    int base_https = self->base_https, base_seen = self->base_seen, base_elsewhere = self->ctx->base_elsewhere;
    self->nesting = 1;
    self->nest_len = 0;
    gw_html_write(h, doc, len);
    gw_html_end(h);
    self->nesting = 0;
    self->base_origin = base_origin, self->base_dir = base_dir, self->base_https = base_https, self->base_seen = base_seen;
    self->ctx->base_elsewhere = base_elsewhere;
    gw_html_attr_set(tag, H2O_STRLIT("srcdoc"), self->nest_len != 0 ? self->nest_buf : "", self->nest_len);
    return GW_HTML_KEEP;
}

/* whether url[0..len) (decoded) leads to another host than the page's, or is too long to read */
static int url_elsewhere(rewrite_t *self, const char *url, size_t len)
{
    size_t n = len > URL_SCRATCH ? 0 : absolute_url(self, url, len, 1);
    return len > URL_SCRATCH || (n != 0 && !h2o_lcstris(self->url + self->host_off, self->host_len, self->page_host.base, self->page_host.len));
}

/* whether the url()s of CSS text css[0..len) (decoded) lead to another host than the page's (an inline data: URL does
 * not) */
static int css_elsewhere(rewrite_t *self, char *css, size_t len)
{
    size_t pos = 0, url_len;
    const char *url;
    len = gw_css_unescape(css, len, css);
    while (gw_css_next_url(css, len, &pos, &url, &url_len))
        if (!(url_len > 5 && h2o_lcstris(url, 5, H2O_STRLIT("data:"))) && url_elsewhere(self, url, url_len))
            return 1;
    return 0;
}

/* whether attributeName value name is one of the presentation attributes */
static int is_presentation(h2o_iovec_t name)
{
    for (size_t k = 0; k != sizeof(presentation) / sizeof(presentation[0]); ++k)
        if (h2o_lcstris(name.base, name.len, presentation[k].name, strlen(presentation[k].name)))
            return 1;
    return 0;
}

/*
 * SVG <set> and <animate> whose attributeName is href (or xlink:href) give another element (an <a>, an <image>, a <use>)
 * a URL that no attribute of that element names: Chromium follows the <a> and loads the <image> or <use> from it, so
 * neither the lists nor the link shim would see where it leads. Those of a presentation attribute (fill, mask, cursor,
 * filter, …) give it a CSS url() that Chromium fetches as well. Such an animation to another host is turned off (its
 * attributeName renamed: it animates nothing), as is one with a URL too long to read; one to the page's own host, a
 * relative URL or a fragment (a <use>'s "#id", "url(#paint)") stays.
 */
static int on_animation(rewrite_t *self, gw_html_tag_t *tag)
{
    static const struct {
        const char *name;
        size_t len;
    } anim_attrs[] = {{H2O_STRLIT("to")}, {H2O_STRLIT("from")}, {H2O_STRLIT("by")}, {H2O_STRLIT("values")}};
    gw_html_attr_t a;
    if (!gw_html_attr_find(tag, H2O_STRLIT("attributename"), &a) || a.value == NULL)
        return GW_HTML_KEEP;
    char *v = h2o_mem_alloc_pool(tag_pool(self), a.value_len + 1); /* (decoded: never longer) */
    h2o_iovec_t name = h2o_str_stripws(v, gw_html_decode(a.value, a.value_len, v));
    /* "xlink:href", or on an XML page any prefix bound to xlink ("l:href"): every prefix is taken for it */
    const char *colon = memchr(name.base, ':', name.len);
    h2o_iovec_t local = colon != NULL ? h2o_iovec_init(colon + 1, name.len - (size_t)(colon + 1 - name.base)) : name;
    int css = is_presentation(name);
    if (!css && !h2o_lcstris(local.base, local.len, H2O_STRLIT("href")))
        return GW_HTML_KEEP;
    int elsewhere = 0;
    for (size_t k = 0; !elsewhere && k != sizeof(anim_attrs) / sizeof(anim_attrs[0]); ++k) {
        if (!gw_html_attr_find(tag, anim_attrs[k].name, anim_attrs[k].len, &a) || a.value == NULL)
            continue;
        char *d = h2o_mem_alloc_pool(tag_pool(self), a.value_len + 1);
        size_t len = gw_html_decode(a.value, a.value_len, d), from = 0;
        if (css) {
            elsewhere = css_elsewhere(self, d, len);
            continue;
        }
        while (!elsewhere && from <= len) { /* values is a list: "a; b" */
            size_t to = from;
            while (to != len && d[to] != ';')
                ++to;
            elsewhere = url_elsewhere(self, d + from, to - from);
            from = to + 1;
        }
    }
    if (elsewhere) {
        gw_html_attr_rename(tag, H2O_STRLIT("attributename"), H2O_STRLIT("data-cg-attributename"));
        gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: turned off an SVG animation of a link, image or paint to another site -->"));
    }
    return GW_HTML_KEEP;
}

static void rec_slots(rewrite_t *self, size_t from, size_t to);

/* whether the visitor's state grants the category of that name (a name not configured: no) */
static int grants(rewrite_t *self, const char *category)
{
    int k = gw_config_category(&gw_rt.conf, category);
    return k >= 0 && (self->ctx->granted >> k & 1) != 0;
}

/* the nonce the UI's scripts carry: the origin's where its policy names one (set_inject), else the gateway's */
static const char *ui_script_nonce(const rewrite_t *self)
{
    return self->ui_nonces.script[0] != '\0' ? self->ui_nonces.script : self->ctx->nonce;
}

/*
 * html.google_consent_mode, html.microsoft_consent_mode: the visitor's choice as the ad platforms' consent default,
 * before the page's first script, so that their tags (Google's gtag.js and Tag Manager, Microsoft's UET), granted or
 * released by the banner, start from it, and the tags a container holds back by their consent settings wait (a Meta
 * Pixel in a Tag Manager container needing ad_storage while analytics alone is granted). Google Consent Mode v2:
 * ad_storage, ad_user_data and ad_personalization by marketing, analytics_storage by analytics, functionality_storage
 * and personalization_storage by functional, security_storage granted; UET: ad_storage by marketing. banner.js pushes
 * the updates after a choice made on the page. It carries the UI's script nonce: not on a page whose own policy the
 * UI's nonce does not satisfy (consent_mode is cleared there).
 */
static void consent_mode_default(rewrite_t *self, gw_html_tag_t *tag)
{
    static const struct {
        const char *type, *category;
    } types[] = {{"ad_storage", "marketing"},         {"ad_user_data", "marketing"},
                 {"ad_personalization", "marketing"}, {"analytics_storage", "analytics"},
                 {"functionality_storage", "functional"}, {"personalization_storage", "functional"},
                 {"security_storage", NULL}};
    const gw_config_t *c = &gw_rt.conf;
    gw_jsonw_t w;

    self->consent_mode = 0;
    gw_jsonw_init(&w, &self->req->pool, 512);
    gw_jsonw_lit(&w, "<script nonce=\"");
    gw_jsonw_lit(&w, ui_script_nonce(self));
    gw_jsonw_lit(&w, c->html.google_consent_mode ? "\" data-cg-gcm" : "\"");
    gw_jsonw_lit(&w, c->html.microsoft_consent_mode ? " data-cg-uet>" : ">");
    if (c->html.google_consent_mode) { /* (gtag pushes its arguments object: Google's tags read no array) */
        gw_jsonw_lit(&w, "(function(){var w=window;(w.dataLayer=w.dataLayer||[]).push(arguments)})(\"consent\",\"default\",{");
        for (size_t i = 0; i != sizeof(types) / sizeof(types[0]); ++i) {
            gw_jsonw_lit(&w, i == 0 ? "\"" : ",\"");
            gw_jsonw_lit(&w, types[i].type);
            gw_jsonw_lit(&w, types[i].category == NULL || grants(self, types[i].category) ? "\":\"granted\"" : "\":\"denied\"");
        }
        gw_jsonw_lit(&w, "});");
    }
    if (c->html.microsoft_consent_mode) {
        gw_jsonw_lit(&w, "(window.uetq=window.uetq||[]).push(\"consent\",\"default\",{\"ad_storage\":");
        gw_jsonw_lit(&w, grants(self, "marketing") ? "\"granted\"});" : "\"denied\"});");
    }
    gw_jsonw_lit(&w, "</script>");
    size_t at = self->out_len;
    gw_html_tag_insert(tag, w.buf, w.len);
    if (self->rec != NULL)
        rec_slots(self, at, self->out_len); /* (its nonce: this response's own, put in again when remembered) */
}

/* called only for the elements of callbacks.on_tag_ids (gw_rewrite_init): a new case needs its bit there */
static int check_tag(void *_self, gw_html_tag_t *tag)
{
    rewrite_t *self = _self;
    const char *long_name;
    size_t n;
    int cat;

    tag_begin(self);
    if (style_attrs(self, tag) == GW_HTML_REMOVE || event_handlers(self, tag) == GW_HTML_REMOVE)
        return GW_HTML_REMOVE;
    if ((callbacks.on_tag_ids >> tag->id & 1) == 0)
        return GW_HTML_KEEP; /* called for its style or background (callbacks.on_tag_urls) */
    /* (before a <template> too: its content is inert, and a default put before a script in it would never run) */
    if ((tag->id == GW_HTML_TAG_SCRIPT || tag->id == GW_HTML_TAG_TEMPLATE) && self->consent_mode && !self->nesting)
        consent_mode_default(self, tag);
    if (tag->id == GW_HTML_TAG_TEMPLATE)
        return GW_HTML_KEEP;
    if (tag->raw_len > URL_SCRATCH && tag->id != GW_HTML_TAG_NOSCRIPT && long_url(tag, &long_name)) /* only a long tag can */
        return on_long_url(self, tag, long_name);
    switch (tag->id) {
    case GW_HTML_TAG_SCRIPT: {
        /* its file: src, or for an SVG script href (or xlink:href). Which one is loaded depends on the element's
         * namespace, which the tokenizer does not say (<svg><script src=a href=tracker> loads the tracker), so every one
         * is checked; the first refused makes the script inert (type text/plain: none of them is loaded) */
        int found_any = 0, inert = 0;
        for (size_t i = 0; i != sizeof(url_attrs) / sizeof(url_attrs[0]); ++i) {
            size_t len = attr_url(self, tag, url_attrs[i].name, strlen(url_attrs[i].name), 0);
            if (len == 0)
                continue;
            found_any = 1;
            if (run_hook(self, tag, GW_URL_SUBRESOURCE, len) == GW_HTML_REMOVE)
                return GW_HTML_REMOVE;
            if (!inert && (cat = refused_category(self, len, GW_ABP_SCRIPT)) >= 0) {
                const char *name = url_attrs[i].name, *renamed = url_attrs[i].renamed;
                neutralise(self, tag, name, strlen(name), renamed, strlen(renamed), cat);
                inert = 1;
            }
        }
        if (found_any)
            return GW_HTML_KEEP;
        if (is_speculation_rules(tag))
            return GW_HTML_HOLD; /* the URLs it lists are fetched: read them (speculation_rules) */
        /* inline: hold its content to look for tracker loaders, unless nothing could be refused */
        return (self->ctx->granted & gw_consent_all_mask()) != gw_consent_all_mask() && is_js_type(tag) ? GW_HTML_HOLD
                                                                                                          : GW_HTML_KEEP;
    }
    case GW_HTML_TAG_IFRAME:
        if (!inline_document(self, tag, "src") && media_attr(self, tag, "src", "data-cg-src", GW_ABP_SUBDOCUMENT) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        /* a lazy loader's frame (lazysizes' data-src, WP Rocket's data-lazy-src): the page's script makes it the src
         * after load, past the rewriter, so the frame's URL is read there too (the banner, releasing it, loads it) */
        if (media_attr(self, tag, "data-src", "data-cg-data-src", GW_ABP_SUBDOCUMENT) == GW_HTML_REMOVE ||
            media_attr(self, tag, "data-lazy-src", "data-cg-data-lazy-src", GW_ABP_SUBDOCUMENT) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        return srcdoc(self, tag);
    case GW_HTML_TAG_FRAME:
        return inline_document(self, tag, "src") ? GW_HTML_KEEP : media_attr(self, tag, "src", "data-cg-src", GW_ABP_SUBDOCUMENT);
    case GW_HTML_TAG_IMG:
    case GW_HTML_TAG_SOURCE: /* <picture>/<video> sources */
        cat = -1;
        if ((n = attr_url(self, tag, H2O_STRLIT("src"), 0)) != 0) {
            if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
                return GW_HTML_REMOVE;
            cat = refused_category(self, n, GW_ABP_IMAGE);
        }
        /* every srcset candidate is a URL the browser may pick instead */
        if (srcset_check(self, tag, H2O_STRLIT("srcset"), &cat) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (n != 0 && cat < 0 && tag->id == GW_HTML_TAG_IMG && is_one_pixel(tag)) {
            /* an unlisted 1x1 image from another site (registrable domain: the site's own static host is not one) is a
             * web beacon of the ping category */
            h2o_iovec_t ph = self->page_host;
            int c = gw_rt.conf.beacons.ping_category;
            if (!gw_channel_same_site(self->url + self->host_off, self->host_len, ph.base, ph.len) &&
                (self->ctx->granted & (1u << c)) == 0 && refuse_tag(c)) {
                cat = c;
                self->tracker_mask = 0; /* (a pixel no list named) */
            }
        }
        if (cat >= 0)
            neutralise(self, tag, H2O_STRLIT("src"), H2O_STRLIT("data-cg-src"), cat);
        return GW_HTML_KEEP;
    case GW_HTML_TAG_LINK: {
        /* a preloaded image may be any candidate of imagesrcset (the browser picks one instead of href) */
        gw_html_attr_t rel;
        int set_cat = -1;
        char dbuf[64];
        h2o_iovec_t dtype = data_attr_type(tag, "href", dbuf, sizeof(dbuf));
        if (dtype.base != NULL && !(dtype.len > 6 && h2o_lcstris(dtype.base, 6, H2O_STRLIT("image/")))) {
            /* an inline style sheet (or anything else not an image): what it imports and loads is not read */
            unchecked_attr(self, tag, "href", H2O_STRLIT("<!-- consentgate: an inline style sheet (a data: URL) cannot be checked: not loaded -->"));
            return GW_HTML_KEEP;
        }
        if (srcset_check(self, tag, H2O_STRLIT("imagesrcset"), &set_cat) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if ((n = attr_url(self, tag, H2O_STRLIT("href"), 0)) != 0 && run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (set_cat >= 0) { /* a preload of a tracker's image: its href goes with its imagesrcset */
            gw_html_attr_rename(tag, H2O_STRLIT("imagesrcset"), H2O_STRLIT("data-cg-imagesrcset"));
            neutralise(self, tag, n != 0 ? "href" : NULL, n != 0 ? 4 : 0, H2O_STRLIT("data-cg-href"), set_cat);
            return GW_HTML_KEEP;
        }
        gw_html_attr_t as = {NULL};
        int type;
        gw_html_attr_find(tag, H2O_STRLIT("as"), &as);
        if (n != 0 && tag->name[0] == '?' && (cat = refused_category(self, n, GW_ABP_STYLESHEET)) >= 0) {
            /* an XML page's <?xml-stylesheet href?> (gw_html_set_xml): not an element, so the banner cannot release it */
            neutralise(self, tag, H2O_STRLIT("href"), H2O_STRLIT("data-cg-href"), cat);
            return GW_HTML_KEEP;
        }
        if (n != 0 && gw_html_attr_find(tag, H2O_STRLIT("rel"), &rel) && rel.value != NULL &&
            (type = link_fetch_type(rel.value, rel.value_len, as.value, as.value_len)) >= 0 && (cat = refused_category(self, n, (gw_abp_type_t)type)) >= 0)
            neutralise(self, tag, H2O_STRLIT("href"), H2O_STRLIT("data-cg-href"), cat);
        return GW_HTML_KEEP;
    }
    case GW_HTML_TAG_A:
    case GW_HTML_TAG_AREA: {
        gw_html_attr_t ping;
        if (gw_html_attr_find(tag, H2O_STRLIT("ping"), &ping) && ping.value != NULL) {
            /* third-party ping targets never pass the gateway: drop the attribute unless its category is granted */
            int c = gw_rt.conf.beacons.ping_category;
            self->tracker_mask = 0; /* (no list named it: nothing more for data-cg-needs to say) */
            if ((self->ctx->granted & (1u << c)) == 0 && refuse_tag(c))
                neutralise(self, tag, H2O_STRLIT("ping"), H2O_STRLIT("data-cg-ping"), c);
        }
        if ((n = link_url(self, tag)) == 0)
            return GW_HTML_KEEP;
        run_hook(self, tag, GW_URL_LINK, n);
        return GW_HTML_KEEP;
    }
    case GW_HTML_TAG_FORM:
        if ((n = attr_url(self, tag, H2O_STRLIT("action"), 0)) == 0)
            return GW_HTML_KEEP;
        return run_hook(self, tag, GW_URL_SUBRESOURCE, n);
    case GW_HTML_TAG_INPUT: {
        /* <input type=image src=…> is an image (and a submit button) */
        gw_html_attr_t type;
        if (gw_html_attr_find(tag, H2O_STRLIT("type"), &type) && type.value != NULL && attr_is(&type, H2O_STRLIT("image")) &&
            media_attr(self, tag, "src", "data-cg-src", GW_ABP_IMAGE) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
    }
        /* fall through */
    case GW_HTML_TAG_BUTTON: /* a submit button may send its form elsewhere than the form's action */
        if ((n = attr_url(self, tag, H2O_STRLIT("formaction"), 0)) == 0)
            return GW_HTML_KEEP;
        return run_hook(self, tag, GW_URL_SUBRESOURCE, n);
    case GW_HTML_TAG_BASE:
        return on_base(self, tag);
    case GW_HTML_TAG_SET:
    case GW_HTML_TAG_ANIMATE:
        return on_animation(self, tag);
    case GW_HTML_TAG_META:
        return on_meta(self, tag);
    case GW_HTML_TAG_NOSCRIPT:
        return GW_HTML_HOLD; /* on_held reads it as the markup it is without scripts */
    case GW_HTML_TAG_STYLE:
        return GW_HTML_HOLD; /* on_held reads its URLs */
    case GW_HTML_TAG_IMAGE: { /* SVG: an image (a tracker pixel as well as any <img>); in HTML content, an <img> */
        int srcset_cat = -1;
        if (media_attr(self, tag, "src", "data-cg-src", GW_ABP_IMAGE) == GW_HTML_REMOVE ||
            srcset_check(self, tag, H2O_STRLIT("srcset"), &srcset_cat) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (srcset_cat >= 0)
            neutralise(self, tag, NULL, 0, NULL, 0, srcset_cat);
    }
        /* fall through */
    case GW_HTML_TAG_USE: /* SVG: content of another document ("other.svg#icon") */
        for (size_t i = 1; i != sizeof(url_attrs) / sizeof(url_attrs[0]); ++i) /* href and xlink:href, both checked */
            if (media_attr(self, tag, url_attrs[i].name, url_attrs[i].renamed, GW_ABP_IMAGE) == GW_HTML_REMOVE)
                return GW_HTML_REMOVE;
        return GW_HTML_KEEP;
    case GW_HTML_TAG_FEIMAGE:
        /* SVG: an image a filter draws. Its attribute goes rather than the element: outside SVG a <feimage> is an unknown
         * element whose removal would run to an end tag that may never come */
        for (size_t i = 1; i != sizeof(url_attrs) / sizeof(url_attrs[0]); ++i) {
            if ((n = attr_url(self, tag, url_attrs[i].name, strlen(url_attrs[i].name), 0)) == 0)
                continue;
            if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
                gw_html_attr_remove(tag, url_attrs[i].name, strlen(url_attrs[i].name));
            else if ((cat = refused_category(self, n, GW_ABP_IMAGE)) >= 0)
                neutralise(self, tag, url_attrs[i].name, strlen(url_attrs[i].name), url_attrs[i].renamed, strlen(url_attrs[i].renamed), cat);
        }
        return GW_HTML_KEEP;
    case GW_HTML_TAG_EMBED:
        return inline_document(self, tag, "src") ? GW_HTML_KEEP : media_attr(self, tag, "src", "data-cg-src", GW_ABP_OBJECT);
    case GW_HTML_TAG_OBJECT:
        return inline_document(self, tag, "data") ? GW_HTML_KEEP : media_attr(self, tag, "data", "data-cg-data", GW_ABP_OBJECT);
    case GW_HTML_TAG_VIDEO:
        if (media_attr(self, tag, "poster", "data-cg-poster", GW_ABP_IMAGE) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        /* fall through */
    case GW_HTML_TAG_AUDIO:
    case GW_HTML_TAG_TRACK:
        return media_attr(self, tag, "src", "data-cg-src", GW_ABP_MEDIA);
    default:
        return GW_HTML_KEEP;
    }
}

/* A tag's edits are limited (GW_HTML_MAX_EDITS): one whose checks wanted more than that (many attributes naming refused
 * or block-listed URLs) would go out with some of them live, so it goes whole instead (fail closed). */
static int edits_or_remove(gw_html_tag_t *tag, int act)
{
    if ((act & 3) == GW_HTML_REMOVE || !gw_html_tag_edits_refused(tag))
        return act;
    COUNT_WARN_FIRST(html_oversized_removed, "rewrite: removed a <%.*s> whose checks needed more than %d edits (further cases "
                                             "are counted in cg_html_oversized_removed_total)",
                     (int)tag->name_len, tag->name, GW_HTML_MAX_EDITS);
    return GW_HTML_REMOVE;
}

static int on_tag(void *_self, gw_html_tag_t *tag)
{
    return edits_or_remove(tag, check_tag(_self, tag));
}

/*
 * The Link response headers of a page: each value that fetches (rel preload, preconnect, stylesheet, … as on a <link>)
 * from a block-listed site or a refused tracker is dropped, as the same <link> in the page would be removed or made
 * inert (a header cannot be made inert: the banner never sees it). The rest of the header stays as it was; a header
 * left with nothing is removed. Returns 1 when a value named a tracker (granted or not): the header is the visitor's.
 */
static int link_headers(rewrite_t *self)
{
    h2o_req_t *req = self->req;
    int tracked = 0; /* a value named a tracker: the header follows the visitor's choice */
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_LINK, i)) != -1;) {
        h2o_iovec_t v = req->res.headers.entries[i].value;
        char *kept = NULL;
        size_t kept_len = 0, pos = 0;
        int dropped = 0;
        gw_link_value_t lv;
        while (gw_link_next(v.base, v.len, &pos, &lv)) {
            int type = lv.uri != NULL && lv.rel != NULL ? link_fetch_type(lv.rel, lv.rel_len, lv.as, lv.as_len) : -1;
            /* a fetch from a URL too long to check goes, as an element naming one does (long_url); it went out unchecked */
            int too_long = type >= 0 && lv.uri_len > URL_SCRATCH && !(lv.uri_len >= 5 && h2o_lcstris(lv.uri, 5, H2O_STRLIT("data:")));
            size_t n = type >= 0 && !too_long ? absolute_url(self, lv.uri, lv.uri_len, 0) : 0;
            self->tracker_mask = 0;
            int keep = !too_long && (n == 0 || (run_hook(self, NULL, GW_URL_HEADER, n) != GW_HTML_REMOVE && refused_category(self, n, type) < 0));
            tracked |= self->tracker_mask != 0;
            if (keep) {
                if (kept == NULL) /* each kept value, and ", " between them where the header may have had just "," */
                    kept = h2o_mem_alloc_pool(&req->pool, 2 * v.len + 2);
                if (kept_len != 0) {
                    memcpy(kept + kept_len, ", ", 2);
                    kept_len += 2;
                }
                memcpy(kept + kept_len, v.base + lv.start, lv.end - lv.start);
                kept_len += lv.end - lv.start;
            } else {
                dropped = 1;
            }
        }
        if (!dropped)
            continue;
        if (kept_len == 0) {
            h2o_delete_header(&req->res.headers, i);
            --i; /* the next header moved into this slot */
        } else {
            req->res.headers.entries[i].value = h2o_iovec_init(kept, kept_len);
        }
    }
    return tracked;
}

/*
 * A page's Speculation-Rules header, a list of strings (RFC 8941): the URLs of rule sets the browser fetches and
 * follows before any click, prefetching and prerendering what they list, other sites too. A set on the page's own
 * origin comes through the gateway and is read there (rules_response); one on another origin would be followed
 * unread, so it is dropped: the pages it lists only load later, as without it. A value that is not a list of strings
 * (which Chromium ignores) is dropped whole, and the header goes when nothing is left.
 */
static int own_origin_url(rewrite_t *self, size_t n)
{
    h2o_req_t *req = self->req;
    size_t scheme = req->scheme == &H2O_URL_SCHEME_HTTPS ? 8 : 7, end = scheme + req->authority.len;
    return n >= end && memcmp(self->url, scheme == 8 ? "https://" : "http://", scheme) == 0 &&
           h2o_lcstris(self->url + scheme, req->authority.len, req->authority.base, req->authority.len) &&
           (n == end || self->url[end] == '/' || self->url[end] == '?' || self->url[end] == '#');
}

static void speculation_headers(rewrite_t *self)
{
    h2o_headers_t *h = &self->req->res.headers;
    for (ssize_t i = 0; i < (ssize_t)h->size; ++i) {
        if (!h2o_lcstris(h->entries[i].name->base, h->entries[i].name->len, H2O_STRLIT("speculation-rules")))
            continue;
        h2o_iovec_t v = h->entries[i].value;
        char *kept = h2o_mem_alloc_pool(&self->req->pool, 2 * v.len + 2);
        size_t kept_len = 0, pos = 0;
        gw_sf_member_t m;
        while (gw_sf_string_next(v.base, v.len, &pos, self->scratch, URL_SCRATCH, &m)) {
            size_t n = m.len != SIZE_MAX ? absolute_url(self, self->scratch, m.len, 0) : 0;
            if (n == 0 || !own_origin_url(self, n)) {
                GW_COUNT(speculation_rules_dropped);
                continue;
            }
            if (kept_len != 0)
                kept[kept_len++] = ',', kept[kept_len++] = ' ';
            memcpy(kept + kept_len, v.base + m.start, m.end - m.start);
            kept_len += m.end - m.start;
        }
        if (kept_len == 0)
            h2o_delete_header(h, i--); /* (the next header moved into this slot) */
        else
            h->entries[i].value = h2o_iovec_init(kept, kept_len);
    }
}

/* A start tag longer than GW_HTML_MAX_TAG gets a buffer of GW_HTML_MAX_BIG_TAG bytes from the request's pool (and a
 * longer one, up to GW_HTML_MAX_HUGE_TAG, for a tag that outgrows it), once per response and size (a page of ordinary
 * tags never asks), so a tag padded past 8 KB, or an <img> with a large inline data: image, is read, checked and
 * rewritten like any. */
static void *on_alloc(void *_self, size_t n)
{
    rewrite_t *self = _self;
    size_t i = NEST_BIG;
    if (self->nesting) { /* a srcdoc's tokenizer: one an earlier srcdoc had, else a free slot to keep the new one in */
        for (size_t k = 0; k != NEST_BIG; ++k) {
            if (self->nest_big[k].p != NULL && self->nest_big[k].n == n && !self->nest_big[k].used) {
                self->nest_big[k].used = 1;
                return self->nest_big[k].p;
            }
            if (self->nest_big[k].p == NULL && i == NEST_BIG)
                i = k;
        }
    }
    if (!charge(self, n)) {
        COUNT_WARN_FIRST(html_big_refused,
                         "rewrite: the big buffers this worker holds reached %zu KB: %.*s is read without a bigger one (a long "
                         "tag overflows, inline content is read to its first 64 KB; further cases are counted in "
                         "cg_html_big_refused_total)",
                         big_budget / 1024, (int)self->req->path_normalized.len, self->req->path_normalized.base);
        return NULL;
    }
    void *p = h2o_mem_alloc_pool(&self->req->pool, n);
    if (i != NEST_BIG)
        self->nest_big[i].p = p, self->nest_big[i].n = n, self->nest_big[i].used = 1;
    return p;
}

/* A start tag longer than GW_HTML_MAX_HUGE_TAG cannot be read, so neither its URLs nor its nonce can be checked or set:
 * every element that loads something, leads elsewhere or changes how URLs are read is removed rather than let through
 * unchecked (an <img> too: its inline data: image would be over 700 KB); elements that do neither (and names the
 * rewriter does not know, like a <div> with a large data attribute, whose removal would take its content) pass as
 * they are. */
static int on_overflow(void *_self, gw_html_tag_t *tag)
{
    rewrite_t *self = _self;
    /* the elements on_tag checks, but a <noscript> or <template> (they load nothing themselves) and an <feImage>, <set>
     * or <animate> (whose removal outside SVG, or without "/>", would run to an end tag that may never come) */
    uint64_t removed = callbacks.on_tag_ids & ~(1ull << GW_HTML_TAG_NOSCRIPT | 1ull << GW_HTML_TAG_FEIMAGE | 1ull << GW_HTML_TAG_SET |
                                                1ull << GW_HTML_TAG_ANIMATE | 1ull << GW_HTML_TAG_TEMPLATE);
    if ((removed >> tag->id & 1) == 0)
        return GW_HTML_KEEP;
    COUNT_WARN_FIRST(html_oversized_removed,
                     "rewrite: removed a <%.*s> start tag longer than %d bytes from %.*s (it cannot be checked; further cases are "
                     "counted in cg_html_oversized_removed_total)",
                     (int)tag->name_len, tag->name, GW_HTML_MAX_HUGE_TAG, (int)self->req->path_normalized.len, self->req->path_normalized.base);
    return GW_HTML_REMOVE;
}

/* the value of four hex digits at p, or -1 */
static long hex4(const char *p)
{
    long v = 0;
    for (int k = 0; k != 4; ++k) {
        int d = gw_url_hex_digit(p[k]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* JSON's string escapes of s[0..len) resolved into out: \" \\ \/ \b \f \n \r \t, and \uXXXX (a surrogate pair as one code
 * point, a lone surrogate as U+FFFD), written as UTF-8; len bytes suffice (never longer). Other bytes as they are.
 * Returns the length. */
static size_t json_unescape(const char *s, size_t len, char *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    size_t o = 0;
    for (size_t i = 0; i < len; ++i) {
        if (s[i] != '\\' || i + 1 == len) {
            out[o++] = s[i];
            continue;
        }
        ++i;
        long cp = s[i] == 'u' && len - i >= 5 ? hex4(s + i + 1) : -1;
        if (cp < 0) {
            const char *f = memchr(from, s[i], sizeof(from) - 1);
            out[o++] = f != NULL ? to[f - from] : s[i];
            continue;
        }
        i += 4;
        long lo = cp >= 0xd800 && cp < 0xdc00 && len - i >= 7 && s[i + 1] == '\\' && s[i + 2] == 'u' ? hex4(s + i + 3) : -1;
        if (lo >= 0xdc00 && lo < 0xe000) { /* a surrogate pair: one code point of 4 bytes, from 12 */
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        } else if (cp >= 0xd800 && cp < 0xe000) {
            cp = 0xfffd;
        }
        o += gw_utf8_put(out + o, (uint32_t)cp);
    }
    return o;
}

/*
 * <script type="speculationrules">: browsers prefetch (Chromium 156 another site's too) and prerender the URLs it lists
 * before any click, so each of its JSON strings that names a host (escapes resolved) is read as a subresource: a
 * block-listed site removes the rules, a refused tracker makes them inert (text/plain, released with consent). Rules
 * longer than the hold, or with a string too long to read, cannot be checked: removed (they only make pages load sooner).
 */
/* the next JSON string of a speculation rule set (from *pos) that names a host, made absolute in self->url: its length;
 * 0 at the end (or where the text stops being JSON: browsers ignore such rules), -1 for a string too long to read. str:
 * URL_SCRATCH + 1 bytes for the string unescaped */
static ssize_t next_rule_url(rewrite_t *self, const char *content, size_t len, size_t *pos, char *str)
{
    for (size_t i = *pos; i < len; ++i) {
        if (content[i] != '"')
            continue;
        size_t s = ++i;
        while (i < len && content[i] != '"')
            i += content[i] == '\\' ? 2 : 1;
        if (i >= len)
            break;
        if (i - s > URL_SCRATCH)
            return -1;
        *pos = i + 1;
        size_t n = absolute_url(self, str, json_unescape(content + s, i - s, str), 1);
        if (n != 0)
            return (ssize_t)n;
        /* not a URL naming a host: relative ones stay on the page's (the set's) origin */
    }
    *pos = len;
    return 0;
}

static int speculation_rules(rewrite_t *self, gw_html_tag_t *tag, const char *content, size_t len, int complete)
{
    int cat = -1;
    char *str = h2o_mem_alloc_pool(tag_pool(self), URL_SCRATCH + 1); /* each string unescaped in turn */
    ssize_t n;
    for (size_t pos = 0; complete && (n = next_rule_url(self, content, len, &pos, str)) != 0;) {
        if (n < 0) {
            complete = 0;
            break;
        }
        if (run_hook(self, tag, GW_URL_SUBRESOURCE, (size_t)n) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE; /* the hook wrote its comment */
        if (cat < 0)
            cat = refused_category(self, (size_t)n, GW_ABP_OTHER);
    }
    if (!complete) {
        gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed speculation rules too long to check -->"));
        return GW_HTML_REMOVE;
    }
    if (cat >= 0)
        neutralise(self, tag, NULL, 0, NULL, 0, cat);
    return GW_HTML_KEEP;
}

/*
 * The text an SVG script runs (gw_html_held_markup: its content is markup read whole, text and CDATA sections): the
 * character references of its text decoded as in an attribute value (gw_html_decode), its CDATA sections' text as it
 * is, without their "<![CDATA[" and "]]>". Never longer than the content.
 */
static size_t svg_script_text(const char *in, size_t len, char *out)
{
    size_t n = 0, i = 0;
    while (i < len) {
        const char *cd = memmem(in + i, len - i, "<![CDATA[", 9);
        size_t run = cd != NULL ? (size_t)(cd - in) - i : len - i;
        n += gw_html_decode(in + i, run, out + n);
        if (cd == NULL)
            break;
        i += run + 9;
        const char *e = memmem(in + i, len - i, "]]>", 3);
        size_t c = e != NULL ? (size_t)(e - in) - i : len - i;
        memcpy(out + n, in + i, c);
        n += c;
        i += c + (e != NULL ? 3 : 0);
    }
    return n;
}

/*
 * Held content. An inline script: the URLs in it ("//host/path") are checked against the tracker lists, and a script
 * loading a refused tracker is made inert. A <noscript>, read as raw text as browsers that run scripts read it (so
 * nothing inside can hide what follows it): for browsers that do not, it is markup, so a refused tracker or a
 * block-listed site named in it removes it whole. A <style>: a block-listed site in its URLs removes it, a refused
 * tracker makes it inert (type="text/plain", which the banner turns back by putting a copy in its place). Only the
 * first HOLD_CAP bytes are read; the rest streams unread. An inline script in <svg> is read as the text it runs
 * (svg_script_text); one that could not be read whole (a tag or a comment in it, which hides text from this reading and
 * may break out of the <svg>, or text past the hold) is removed, up to its end tag or the tag that breaks out (which
 * is then read as any).
 */
static int check_held(void *_self, gw_html_tag_t *tag, const char *content, size_t len, int complete)
{
    rewrite_t *self = _self;
    size_t i = 0, from, to;
    int cat = -1;
    tag_begin(self);
    if (tag->id == GW_HTML_TAG_SCRIPT && is_speculation_rules(tag))
        return speculation_rules(self, tag, content, len, complete);
    if (gw_html_held_markup(tag)) {
        if (!complete) {
            COUNT_WARN_FIRST(html_svg_scripts_removed,
                             "rewrite: removed an inline <svg> script of %.*s that could not be read whole (a comment or a tag "
                             "in it, or over 1 MB of text; further cases are counted in cg_html_svg_scripts_removed_total)",
                             (int)self->req->path_normalized.len, self->req->path_normalized.base);
            gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed an svg script it could not read whole -->"));
            return GW_HTML_REMOVE;
        }
        if (memchr(content, '&', len) != NULL || memchr(content, '<', len) != NULL) {
            char *t = h2o_mem_alloc_pool(tag_pool(self), len + 1);
            len = svg_script_text(content, len, t);
            content = t;
        }
    }
    if (tag->id == GW_HTML_TAG_STYLE) {
        const char *css = content;
        if (memchr(content, '\\', len) != NULL) {
            char *u = h2o_mem_alloc_pool(tag_pool(self), len);
            len = gw_css_unescape(content, len, u);
            css = u;
        }
        if (css_urls(self, tag, css, len, &cat) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE;
        if (cat >= 0)
            neutralise(self, tag, NULL, 0, NULL, 0, cat);
        return GW_HTML_KEEP;
    }
    if (tag->id == GW_HTML_TAG_SCRIPT) {
        if ((cat = script_category(self, content, len)) >= 0)
            neutralise(self, tag, NULL, 0, NULL, 0, cat);
        return GW_HTML_KEEP;
    }
    for (size_t found = 0; found != MAX_SCRIPT_URLS && next_url(content, len, &i, &from, &to); ++found) {
        _Static_assert(2048 + 2 <= URL_SCRATCH, "next_url's longest URL fits the scratch buffer");
        size_t n = gw_html_decode(content + from, to - from, self->scratch); /* markup: character references count */
        if ((n = absolute_url(self, self->scratch, n, 0)) == 0)
            continue;
        if (run_hook(self, tag, GW_URL_SUBRESOURCE, n) == GW_HTML_REMOVE)
            return GW_HTML_REMOVE; /* the hook wrote its comment */
        if ((cat = refused_category(self, n, GW_ABP_IMAGE)) >= 0) {
            gw_html_tag_insert(tag, H2O_STRLIT("<!-- consentgate: removed a noscript element loading a tracker -->"));
            return GW_HTML_REMOVE;
        }
    }
    return GW_HTML_KEEP;
}

static int on_held(void *_self, gw_html_tag_t *tag, const char *content, size_t len, int complete)
{
    return edits_or_remove(tag, check_held(_self, tag, content, len, complete));
}

/* buf (used bytes of *cap, first: the first block's size) with room for n more; a bigger block comes from the pool,
 * the old one is released with the request */
static void *pool_room(h2o_req_t *req, void *buf, size_t used, size_t *cap, size_t n, size_t first)
{
    if (*cap - used >= n)
        return buf;
    size_t c = *cap != 0 ? *cap : first;
    while (c - used < n)
        c *= 2;
    char *p = h2o_mem_alloc_pool(&req->pool, c);
    if (used != 0)
        memcpy(p, buf, used);
    *cap = c;
    return p;
}

/* room for n more output bytes */
static void out_reserve(rewrite_t *self, size_t n)
{
    self->out = pool_room(self->req, self->out, self->out_len, &self->out_cap, n, 16384);
}

/* what a slot of a remembered page holds ("remembered pages" below) */
enum { SLOT_NONCE, SLOT_RELEASE, SLOT_INJECT };
static void add_slot(rewrite_t *self, size_t off, uint32_t kind);

static void emit(void *_self, const char *p, size_t n)
{
    rewrite_t *self = _self;
    if (self->nesting) {
        self->nest_buf = pool_room(self->req, self->nest_buf, self->nest_len, &self->nest_cap, n, 1024);
        memcpy(self->nest_buf + self->nest_len, p, n);
        self->nest_len += n;
        return;
    }
    out_reserve(self, n);
    memcpy(self->out + self->out_len, p, n);
    self->out_len += n;
    if (self->rec != NULL && p == self->inject.base && n != 0)
        add_slot(self, self->out_len - n, SLOT_INJECT);
}

/* a tag the rewriter wrote: where the nonce and the release token are (the page's own bytes, which go to emit, cannot
 * hold them: they are random and new for this response) */
static void emit_tag(void *_self, const char *p, size_t n)
{
    rewrite_t *self = _self;
    emit(self, p, n);
    if (self->rec != NULL)
        rec_slots(self, self->out_len - n, self->out_len);
}

/* --- remembered pages ------------------------------------------------------------------------ */

/*
 * A page whose body is byte for byte one this thread rewrote before, under the same key (memo_key) and snapshot
 * generation, is answered from that rewrite: its output with this response's nonce, release token and injected
 * state put where that response had its own, and the counters and tracker sightings it reported reported again.
 * Only responses with a Content-Length are looked up (the answer waits for the whole body, which such a response
 * has in one go) and recorded (room for the body is reserved in the memo, gw_memo_reserve, and it is written there
 * as it comes, the output after it). An entry: the key, the body, the output, and `aux`: a memo_aux_t, its slots,
 * its counter moves, then its sightings (memo_seen_t + host).
 */
#define NUM_COUNTERS (sizeof(gw_metrics_t) / sizeof(uint64_t))

typedef struct st_memo_aux_t {
    uint32_t num_slots, num_counts, num_seen, inject_len, nonce_len, release_len;
} memo_aux_t;

typedef struct st_memo_slot_t {
    uint32_t off, kind;
} memo_slot_t;

typedef struct st_memo_count_t {
    uint32_t index, n;
} memo_count_t;

typedef struct st_memo_seen_t {
    uint8_t cat, action;
    uint16_t host_len;
} memo_seen_t;

/* a page whose origin's policy names a nonce is not remembered: which of its nonce attributes stay the origin's depends
 * on that response's headers, which the key and the comparison of bodies do not cover (and the nonce is new each time
 * anyway) */
static int names_origin_nonce(const gw_reqctx_t *ctx)
{
    return ctx->origin_csp.script[0] != '\0' || ctx->origin_csp.style[0] != '\0';
}

/* what the rewrite of a page depends on besides its bytes and the snapshots: the page's scheme, authority and path
 * (URLs are made absolute against them, sightings filed under the path), the categories granted, the media type
 * (kind: is_html's, HTML, XHTML or SVG), the body's encoding, whether the response's headers let the ad platforms'
 * consent default in (consent_mode), whether a script asked for it (script_fetch: no UI at its end), the legacy encoding
 * its Content-Type names (legacy: its links are read in it) */
static h2o_iovec_t memo_key(rewrite_t *self, int kind)
{
    h2o_req_t *req = self->req;
    uint32_t head[3] = {(uint32_t)(req->scheme == &H2O_URL_SCHEME_HTTPS) | (uint32_t)kind << 1 | (uint32_t)self->gzip << 3 |
                            (uint32_t)self->consent_mode << 4 | (uint32_t)self->script_fetch << 5 | (uint32_t)self->legacy << 6,
                        self->ctx->granted, (uint32_t)req->authority.len};
    size_t len = sizeof(head) + req->authority.len + req->path_normalized.len;
    char *k = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(k, head, sizeof(head));
    memcpy(k + sizeof(head), req->authority.base, req->authority.len);
    memcpy(k + sizeof(head) + req->authority.len, req->path_normalized.base, req->path_normalized.len);
    return h2o_iovec_init(k, len);
}

static void rec_stop(rewrite_t *self)
{
    if (self->rec != NULL) {
        gw_memo_abandon(thread_memo, self->rec);
        self->rec = NULL;
    }
}

static void seen(rewrite_t *self, const char *host, size_t host_len, int cat, int action)
{
    gw_trackers_seen(host, host_len, self->req->path_normalized.base, self->req->path_normalized.len, cat, action);
    if (self->rec == NULL)
        return;
    size_t need = sizeof(memo_seen_t) + host_len;
    if (host_len > UINT16_MAX) {
        rec_stop(self);
        return;
    }
    self->rec_seen = pool_room(self->req, self->rec_seen, self->rec_seen_len, &self->rec_seen_cap, need, 1024);
    memo_seen_t m = {(uint8_t)cat, (uint8_t)action, (uint16_t)host_len};
    memcpy(self->rec_seen + self->rec_seen_len, &m, sizeof(m));
    memcpy(self->rec_seen + self->rec_seen_len + sizeof(m), host, host_len);
    self->rec_seen_len += need;
}

static void add_slot(rewrite_t *self, size_t off, uint32_t kind)
{
    off += self->out_base;
    size_t bytes = self->rec_slots_cap * sizeof(memo_slot_t);
    self->rec_slots = pool_room(self->req, self->rec_slots, self->rec_num_slots * sizeof(memo_slot_t), &bytes, sizeof(memo_slot_t),
                                64 * sizeof(memo_slot_t));
    self->rec_slots_cap = bytes / sizeof(memo_slot_t);
    self->rec_slots[self->rec_num_slots++] = (memo_slot_t){(uint32_t)off, kind};
}

/* out[from, to) is a tag the rewriter wrote: its nonce and release token, in order */
static void rec_slots(rewrite_t *self, size_t from, size_t to)
{
    const char *nonce = self->ctx->nonce, *release = self->release;
    size_t nonce_len = strlen(nonce), release_len = strlen(release);
    for (const char *p = self->out + from, *end = self->out + to; (p = memchr(p, '"', (size_t)(end - p))) != NULL;) {
        ++p; /* both are attribute values the rewriter quoted */
        if ((size_t)(end - p) >= nonce_len + 1 && memcmp(p, nonce, nonce_len) == 0 && p[nonce_len] == '"') {
            add_slot(self, (size_t)(p - self->out), SLOT_NONCE);
            p += nonce_len + 1;
        } else if ((size_t)(end - p) >= release_len + 1 && memcmp(p, release, release_len) == 0 && p[release_len] == '"') {
            add_slot(self, (size_t)(p - self->out), SLOT_RELEASE);
            p += release_len + 1;
        }
    }
}

/* the whole page was rewritten and recorded: its aux after the output, and the entry committed (found from now on),
 * unless a snapshot changed meanwhile */
static void memo_store(rewrite_t *self)
{
    gw_memo_entry_t *e = self->rec;
    size_t n = self->rec_num_slots, nonce_len = strlen(self->ctx->nonce), release_len = strlen(self->release), num_counts = 0;
    for (size_t i = 0; i != NUM_COUNTERS; ++i)
        num_counts += self->rec_counts[i] != 0;
    memo_aux_t aux = {(uint32_t)n, (uint32_t)num_counts, 0, (uint32_t)self->inject.len, (uint32_t)nonce_len, (uint32_t)release_len};
    for (size_t i = 0; i < self->rec_seen_len; ++aux.num_seen) {
        memo_seen_t m;
        memcpy(&m, self->rec_seen + i, sizeof(m));
        i += sizeof(m) + m.host_len;
    }
    size_t aux_off = self->rec_out_off + ((self->rec_out_len + 7) & ~(size_t)7),
           aux_len = sizeof(aux) + n * sizeof(memo_slot_t) + num_counts * sizeof(memo_count_t) + self->rec_seen_len;
    if (self->rec_in_len != self->rec_in_cap || gw_snap_generation_load() != self->generation || self->rec_out_len > UINT32_MAX ||
        aux_len > e->size - aux_off) {
        rec_stop(self);
        return;
    }
    char *d = gw_memo_block(thread_memo, e) + aux_off;
    memcpy(d, &aux, sizeof(aux));
    d += sizeof(aux);
    if (n != 0)
        memcpy(d, self->rec_slots, n * sizeof(memo_slot_t));
    d += n * sizeof(memo_slot_t);
    for (size_t i = 0; i != NUM_COUNTERS; ++i)
        if (self->rec_counts[i] != 0) {
            memo_count_t c = {(uint32_t)i, (uint32_t)self->rec_counts[i]};
            memcpy(d, &c, sizeof(c));
            d += sizeof(c);
        }
    if (self->rec_seen_len != 0)
        memcpy(d, self->rec_seen, self->rec_seen_len);
    /* the page this one replaces under the key (it was not the same bytes, or this one would have been a hit) */
    gw_memo_entry_t *old = gw_memo_find(thread_memo, self->generation, self->key.base, self->key.len);
    uint32_t changes = old != NULL ? old->changes + 1 : 0;
    size_t offs[4] = {0, self->rec_in_off, self->rec_out_off, aux_off}, lens[4] = {self->key.len, self->rec_in_len, self->rec_out_len, aux_len};
    gw_memo_commit(thread_memo, e, self->generation, offs, lens, 4, aux_off + aux_len);
    e->changes = changes;
    self->rec = NULL;
    GW_COUNT(html_memo_stored);
}

/* answers from the remembered page: its output, this response's values in the slots, handed on as slices of the
 * entry (pinned until the request is disposed); its side effects again */
static void memo_send(rewrite_t *self, h2o_req_t *req, h2o_send_state_t state)
{
    gw_memo_entry_t *e = self->hit;
    const char *out = gw_memo_part(thread_memo, e, 2), *p = gw_memo_part(thread_memo, e, 3);
    size_t out_len = e->part_len[2], n = 0, at = 0;
    memo_aux_t aux;
    memcpy(&aux, p, sizeof(aux));
    const memo_slot_t *slots = (const memo_slot_t *)(p + sizeof(aux));
    const memo_count_t *counts = (const memo_count_t *)(slots + aux.num_slots);
    const char *s = (const char *)(counts + aux.num_counts);
    h2o_iovec_t *v = h2o_mem_alloc_pool(&req->pool, sizeof(*v) * (2 * aux.num_slots + 1));
    for (size_t i = 0; i != aux.num_slots; ++i) {
        if (slots[i].off != at)
            v[n++] = h2o_iovec_init(out + at, slots[i].off - at);
        switch (slots[i].kind) {
        case SLOT_NONCE:
            v[n++] = h2o_iovec_init(self->ctx->nonce, aux.nonce_len);
            at = slots[i].off + aux.nonce_len;
            break;
        case SLOT_RELEASE:
            v[n++] = h2o_iovec_init(self->release, aux.release_len);
            at = slots[i].off + aux.release_len;
            break;
        default:
            v[n++] = self->inject;
            at = slots[i].off + aux.inject_len;
            break;
        }
    }
    if (at != out_len)
        v[n++] = h2o_iovec_init(out + at, out_len - at);
    if (gw_metrics != NULL)
        for (size_t i = 0; i != aux.num_counts; ++i)
            gw_metrics_add((uint64_t *)gw_metrics + counts[i].index, counts[i].n);
    for (size_t i = 0; i != aux.num_seen; ++i) {
        memo_seen_t m;
        memcpy(&m, s, sizeof(m));
        gw_trackers_seen(s + sizeof(m), m.host_len, req->path_normalized.base, req->path_normalized.len, m.cat, m.action);
        s += sizeof(m) + m.host_len;
    }
    e->changes = 0;
    GW_COUNT(html_memo_hits);
    h2o_ostream_send_next(&self->super, req, v, n, state);
}

/* the memo's gauges, after it changed (never inside feed(), which counts what the rewriting moves) */
static void memo_gauges(void)
{
    if (gw_metrics != NULL && thread_memo != NULL) {
        __atomic_store_n(&gw_metrics->html_memo_entries, gw_memo_live(thread_memo), __ATOMIC_RELAXED);
        __atomic_store_n(&gw_metrics->html_memo_bytes, gw_memo_used(thread_memo), __ATOMIC_RELAXED);
    }
}

/* the request is disposed: the remembered page it was compared with or answered from is unpinned, a recording that
 * did not finish is given up */
static void on_memo_dispose(void *p)
{
    rewrite_t *self = *(rewrite_t **)p;
    if (self->hit != NULL) {
        gw_memo_unpin(self->hit);
        self->hit = NULL;
    }
    rec_stop(self);
    memo_gauges();
}

/* --- the ostream ---------------------------------------------------------------------------- */

/* the rewriter and, for a gzip body, the decoder: set up when the first bytes are to be rewritten */
static void start(rewrite_t *self)
{
    h2o_req_t *req = self->req;
    if (self->gzip)
        self->gunzip = gw_gunzip_open(&req->pool);
    self->html = gw_html_init(h2o_mem_alloc_pool(&req->pool, gw_html_sizeof(HOLD_CAP)), HOLD_CAP, &callbacks, self);
    gw_html_set_nonce(self->html, self->ctx->nonce, strlen(self->ctx->nonce));
    gw_html_keep_nonces(self->html, self->ctx->origin_csp.script, self->ctx->origin_csp.style);
    if (self->xml)
        gw_html_set_xml(self->html);
    if (self->inject.base != NULL)
        gw_html_set_inject(self->html, self->inject.base, self->inject.len);
    if (self->script_fetch)
        gw_html_set_inject_in_place(self->html);
}

enum { BODY_NEW, BODY_HELD, BODY_READ, BODY_WIDE, BODY_RAW };

#define WIDE_SLICE 16384 /* UTF-16 input decoded at a time: wide_buf stays GW_UTF16_MAX_OUT(WIDE_SLICE) bytes */

/*
 * The byte order mark at the start of the (gzip-decoded) body, as a browser reads it (the BOM wins over the
 * Content-Type, HTML §13.2.3.2): FF FE or FE FF is UTF-16 whatever the Content-Type says, and EF BB BF is UTF-8
 * whatever it says (only a UTF-16 charset needs telling that). Without one a UTF-16 charset decides. Returns the
 * bytes of the mark to take off the front (a UTF-16 one; a UTF-8 one stays), or -1 when more bytes are needed (b holds
 * the first n).
 */
static int sniff_bom(rewrite_t *self, const unsigned char *b, size_t n, int more)
{
    int le = n >= 2 && b[0] == 0xff && b[1] == 0xfe, be = n >= 2 && b[0] == 0xfe && b[1] == 0xff;
    if ((le || be) && self->xml) {
        /* an XML page's declaration may name UTF-16, which a page served as UTF-8 would contradict */
        self->body = BODY_RAW;
        rec_stop(self);
        COUNT_WARN_FIRST(html_unreadable,
                         "rewrite: %.*s is XHTML with a UTF-16 byte order mark, which the rewriter cannot read: passed "
                         "through unchanged (further cases are counted in cg_html_unreadable_total)",
                         (int)self->req->path_normalized.len, self->req->path_normalized.base);
        return 0;
    }
    if ((le || be) || (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf))
        self->legacy = GW_LEGACY_NONE, self->legacy_set = 1; /* (read as UTF-16 or UTF-8 whatever the page says) */
    if (le || be) {
        self->body = BODY_WIDE;
        gw_utf16_init(&self->wide, be);
        rec_stop(self); /* (a page read so is not remembered: its replay would lack the mark written below) */
        /* the mark in UTF-8, so that the browser reads the page as UTF-8 whatever the Content-Type says, as it read
         * it as UTF-16 for its mark */
        emit(self, "\xef\xbb\xbf", 3);
        return 2;
    }
    int utf8_bom_matters = self->wide_label || self->legacy != GW_LEGACY_NONE;
    if (more && (n == 0 || (n == 1 && (b[0] == 0xff || b[0] == 0xfe || (utf8_bom_matters && b[0] == 0xef))) ||
                 (n == 2 && utf8_bom_matters && b[0] == 0xef && b[1] == 0xbb)))
        return -1;
    if (self->wide_label && !(n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf)) {
        self->body = BODY_WIDE;
        gw_utf16_init(&self->wide, self->wide_label == 2);
    } else {
        self->body = BODY_READ;
    }
    return 0;
}

/* body bytes into the tokenizer, decoded from UTF-16 first when the page is so */
static void write_body(rewrite_t *self, const char *p, size_t n)
{
    if (self->body == BODY_RAW) {
        emit(self, p, n);
        return;
    }
    if (self->body != BODY_WIDE) {
        gw_html_write(self->html, p, n);
        return;
    }
    if (self->wide_buf == NULL)
        self->wide_buf = h2o_mem_alloc_pool(&self->req->pool, GW_UTF16_MAX_OUT(WIDE_SLICE));
    while (n != 0) {
        size_t take = n < WIDE_SLICE ? n : WIDE_SLICE;
        gw_html_write(self->html, self->wide_buf, gw_utf16_decode(&self->wide, p, take, self->wide_buf));
        p += take, n -= take;
    }
}

/* bufs of a gzip body decoded (the caller's own when it is not gzip); a body that cannot be decoded marks the response
 * broken and turns *state into an error, what was decoded before the error still in bufs */
static void decode(rewrite_t *self, h2o_iovec_t **bufs, size_t *bufcnt, h2o_send_state_t *state)
{
    if (self->gunzip == NULL)
        return;
    /* (a body the origin cut short is already an error, and logged as one by the proxy: not "cut short" here too) */
    if (gw_gunzip_step(self->gunzip, *bufs, *bufcnt, *state == H2O_SEND_STATE_FINAL, bufs, bufcnt) != 0) {
        h2o_req_log_error(self->req, "rewrite", "the body says Content-Encoding gzip and is not readable gzip (not gzip, "
                                                "corrupt, or cut short): the response ends as broken");
        self->broken = 1;
        *state = H2O_SEND_STATE_ERROR;
    }
}

/* rewrites body bytes as they came (gzip decoded first) into out; a recording response also counts what moved.
 * *state becomes an error when the gzip body cannot be decoded. */
static void feed(rewrite_t *self, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t *_state)
{
    uint64_t before[NUM_COUNTERS];
    decode(self, &bufs, &bufcnt, _state);
    h2o_send_state_t state = *_state;
    /* one block for the usual output (input, a few grown tags, the injection) instead of growing it by doubling */
    size_t in = 0;
    for (size_t i = 0; i != bufcnt; ++i)
        in += bufs[i].len;
    out_reserve(self, in + in / 8 + self->inject.len + 1024);
    if (self->rec != NULL && gw_metrics != NULL)
        memcpy(before, gw_metrics, sizeof(before));
    size_t skip = 0; /* bytes of a byte order mark to take off: first from held[], then from bufs */
    if (self->body == BODY_NEW || self->body == BODY_HELD) {
        unsigned char b[3];
        size_t n = 0;
        for (size_t k = 0; k != self->num_held; ++k)
            b[n++] = (unsigned char)self->held[k];
        for (size_t i = 0; i != bufcnt && n != 3; ++i)
            for (size_t k = 0; k != bufs[i].len && n != 3; ++k)
                b[n++] = (unsigned char)bufs[i].base[k];
        int more = h2o_send_state_is_in_progress(state), r = sniff_bom(self, b, n, more);
        if (r < 0) { /* (n is 1 or 2: all of it is in held[] now) */
            memcpy(self->held, b, n);
            self->num_held = n;
            self->body = BODY_HELD;
            return;
        }
        skip = (size_t)r;
    }
    if (self->num_held != 0) {
        size_t from = skip < self->num_held ? skip : self->num_held;
        write_body(self, self->held + from, self->num_held - from);
        skip -= from;
        self->num_held = 0;
    }
    for (size_t i = 0; i != bufcnt; ++i) {
        size_t from = skip < bufs[i].len ? skip : bufs[i].len;
        write_body(self, bufs[i].base + from, bufs[i].len - from);
        skip -= from;
    }
    if (!h2o_send_state_is_in_progress(state) && self->body != BODY_RAW) {
        if (self->body == BODY_WIDE) {
            char tail[8]; /* a lone surrogate or an odd byte at the end: U+FFFD */
            gw_html_write(self->html, tail, gw_utf16_finish(&self->wide, tail));
        }
        gw_html_end(self->html);
    }
    if (self->rec != NULL && gw_metrics != NULL)
        for (size_t i = 0; i != NUM_COUNTERS; ++i)
            self->rec_counts[i] += ((uint64_t *)gw_metrics)[i] - before[i];
}

/* reserves the entry this page is written into as it streams: the key, the body, then room for an output half as
 * big again as the body and for aux */
static void rec_start(rewrite_t *self, size_t content_length)
{
    size_t key_room = (self->key.len + 7) & ~(size_t)7, in_room = (content_length + 7) & ~(size_t)7,
           out_room = content_length + content_length / 2 + self->inject.len + 16384, aux_room = 4096 + content_length / 8;
    gw_memo_entry_t *e = gw_memo_reserve(thread_memo, key_room + in_room + out_room + aux_room);
    if (e == NULL)
        return;
    memcpy(gw_memo_block(thread_memo, e), self->key.base, self->key.len);
    self->rec = e;
    self->rec_in_off = key_room;
    self->rec_in_cap = content_length;
    self->rec_out_off = key_room + in_room;
    self->rec_counts = h2o_mem_alloc_pool(&self->req->pool, NUM_COUNTERS * sizeof(uint64_t));
    memset(self->rec_counts, 0, NUM_COUNTERS * sizeof(uint64_t));
}

static void rec_in(rewrite_t *self, const char *p, size_t n)
{
    if (n > self->rec_in_cap - self->rec_in_len) {
        rec_stop(self); /* more than the Content-Length said */
        return;
    }
    memcpy(gw_memo_block(thread_memo, self->rec) + self->rec_in_off + self->rec_in_len, p, n);
    self->rec_in_len += n;
}

/*
 * The body of a remembered page so far: 1 when bufs are the next bytes of it, else 0. On 0 the response is rewritten
 * after all: the matched bytes first (from the memo), the caller then goes on with bufs.
 */
static int still_same(rewrite_t *self, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    gw_memo_entry_t *e = self->hit;
    const char *in = gw_memo_part(thread_memo, e, 1);
    size_t total = self->matched, in_len = e->part_len[1];
    int same = 1;
    for (size_t i = 0; same && i != bufcnt; ++i) {
        same = bufs[i].len <= in_len - total && memcmp(bufs[i].base, in + total, bufs[i].len) == 0;
        total += bufs[i].len;
    }
    if (same && (h2o_send_state_is_in_progress(state) || total == in_len)) {
        self->matched = total;
        return 1;
    }
    /* another page: rewrite what matched so far, then the rest as it comes (recorded: the candidate, pinned, stays
     * where it is while the room is made) */
    start(self);
    if (self->record_on_change)
        rec_start(self, e->part_len[1]);
    if (self->rec != NULL)
        rec_in(self, in, self->matched);
    if (self->matched != 0) {
        h2o_iovec_t prefix = h2o_iovec_init(in, self->matched);
        h2o_send_state_t prefix_state = H2O_SEND_STATE_IN_PROGRESS;
        feed(self, &prefix, 1, &prefix_state);
    }
    gw_memo_unpin(e);
    self->hit = NULL;
    return 0;
}

static void do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    rewrite_t *self = (void *)_self;
    if (self->broken) /* ended as an error already (the final ostream does not ask for more: defensive) */
        return;
    /* the previous output has been sent when we are called again: reuse the buffer */
    self->out_base += self->out_len;
    self->out_len = 0;
    if (self->hit != NULL && still_same(self, bufs, bufcnt, state)) {
        if (h2o_send_state_is_in_progress(state)) {
            h2o_iovec_t none = h2o_iovec_init(NULL, 0);
            h2o_ostream_send_next(&self->super, req, &none, 0, state); /* schedules proceed: the next bytes */
        } else {
            memo_send(self, req, state);
        }
        return;
    }

    /* (rec_in stops the recording at a buffer past the Content-Length: the next one is not recorded) */
    for (size_t i = 0; self->rec != NULL && i != bufcnt; ++i)
        rec_in(self, bufs[i].base, bufs[i].len);
    feed(self, bufs, bufcnt, &state);
    if (self->broken) /* a body that could not be read is not remembered */
        rec_stop(self);
    if (self->rec != NULL) {
        /* the output after the body in the entry; the room for aux stays after it */
        if (self->out_len > self->rec->size - self->rec_out_off - self->rec_out_len) {
            rec_stop(self);
        } else {
            memcpy(gw_memo_block(thread_memo, self->rec) + self->rec_out_off + self->rec_out_len, self->out, self->out_len);
            self->rec_out_len += self->out_len;
            if (!h2o_send_state_is_in_progress(state)) {
                memo_store(self);
                memo_gauges();
            }
        }
    }
    h2o_iovec_t out = h2o_iovec_init(self->out, self->out_len);
    h2o_ostream_send_next(&self->super, req, &out, out.len != 0 ? 1 : 0, state);
}

/*
 * The nonces the origin's own Content-Security-Policy fields (enforcing and report-only) name for scripts and style
 * sheets. That policy is enforced beside the gateway's: the elements the gateway injects carry its nonce so that it
 * lets them in, and the page's elements that carry it keep it (channel.c lists it in the gateway's policy). The
 * page's other scripts get the gateway's nonce only, which the origin's policy does not know: what the origin did
 * not nonce stays blocked by it. Returns how many such fields the response has (none: nothing to amend).
 */
static const h2o_iovec_t csp_names[2] = {{H2O_STRLIT("content-security-policy")}, {H2O_STRLIT("content-security-policy-report-only")}};

static size_t read_origin_csp(h2o_req_t *req, gw_reqctx_t *ctx)
{
    size_t n = 0;
    memset(&ctx->origin_csp, 0, sizeof(ctx->origin_csp));
    for (int k = 0; k != 2; ++k)
        for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->res.headers, csp_names[k].base, csp_names[k].len, i)) != -1; ++n)
            gw_csp_read_nonces(&ctx->origin_csp, req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len, k == 0);
    return n;
}

/* whether each of the origin's policies lets in an inline script carrying nonce (the ad platforms' consent default):
 * one naming it beside another that restricts scripts without naming it blocks it all the same, and one that
 * restricts no script (frame-ancestors alone) lets it in */
static int origin_csp_lets_in(h2o_req_t *req, const char *nonce)
{
    for (int k = 0; k != 2; ++k)
        for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->res.headers, csp_names[k].base, csp_names[k].len, i)) != -1;)
            if (!gw_csp_lets_in_by_nonce(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len, nonce))
                return 0;
    return 1;
}

/* the banner script's own URL as a CSP source, "https://host/__consent/banner.js"; NULL when the Host is not a plain
 * host[:port] (it goes into a header) */
static const char *banner_script_source(h2o_req_t *req)
{
    h2o_iovec_t host = req->authority;
    if (host.len == 0 || host.len > 255)
        return NULL;
    for (size_t i = 0; i != host.len; ++i) {
        char c = host.base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
              c == '[' || c == ']'))
            return NULL;
    }
    h2o_iovec_t v = h2o_concat(&req->pool, req->scheme->name, h2o_iovec_init(H2O_STRLIT("://")), host,
                               h2o_iovec_init(H2O_STRLIT("/__consent/banner.js\0")));
    h2o_strtolower(v.base, v.len); /* (gw_csp_amend compares it so) */
    return v.base;
}

/*
 * The origin's policies amended as little as lets the gateway's UI work under them (gw_csp_amend: 'self' for the
 * banner's fetch and style sheet, the banner script's own URL for a script list that has no nonce the UI carries):
 * without it those pages show no banner, and in the opt-out regimes the visitor cannot refuse there. Nothing else is
 * let in: scripts the origin did not nonce or list stay blocked by its policy.
 */
/* what the UI of this page needs of a policy, its elements carrying these nonces ("" none) */
static gw_csp_amend_t ui_amendment(h2o_req_t *req, const char *script_nonce, const char *style_nonce)
{
    return (gw_csp_amend_t){req->scheme == &H2O_URL_SCHEME_HTTPS ? "https" : "http", script_nonce, style_nonce,
                            banner_script_source(req)};
}

/* policy value v amended (gw_csp_amend), in pool; v itself when nothing is */
static h2o_iovec_t amend_policy(h2o_mem_pool_t *pool, h2o_iovec_t v, const gw_csp_amend_t *a)
{
    size_t len = gw_csp_amend(v.base, v.len, a, NULL, 0);
    if (len == v.len)
        return v;
    char *out = h2o_mem_alloc_pool(pool, len);
    gw_csp_amend(v.base, v.len, a, out, len);
    return h2o_iovec_init(out, len);
}

static void amend_origin_csp(h2o_req_t *req, gw_reqctx_t *ctx)
{
    gw_csp_amend_t a = ui_amendment(req, ctx->origin_csp.script, ctx->origin_csp.style);
    for (int k = 0; k != 2; ++k)
        for (ssize_t i = -1; (i = h2o_find_header_by_str(&req->res.headers, csp_names[k].base, csp_names[k].len, i)) != -1;)
            req->res.headers.entries[i].value = amend_policy(&req->pool, req->res.headers.entries[i].value, &a);
}

/* the consent UI and the visitor's state; xml: well-formed for an application/xhtml+xml page. Its elements carry the
 * origin's nonces where its policy names one (read_origin_csp), else the gateway's. (The state is a data block,
 * which no policy blocks; it carries the nonce all the same, as every script the gateway lets through does.) */
static h2o_iovec_t build_inject(h2o_req_t *req, gw_reqctx_t *ctx, const char *release, int xml)
{
    const char *script_nonce = ctx->origin_csp.script[0] != '\0' ? ctx->origin_csp.script : ctx->nonce;
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 1024);
    gw_jsonw_lit(&w, "<link rel=\"stylesheet\" href=\"/__consent/banner.css\"");
    if (ctx->origin_csp.style[0] != '\0') {
        gw_jsonw_lit(&w, " nonce=\"");
        gw_jsonw_lit(&w, ctx->origin_csp.style);
        gw_jsonw_lit(&w, "\"");
    }
    gw_jsonw_lit(&w, xml ? "/><script nonce=\"" : "><script nonce=\"");
    gw_jsonw_lit(&w, script_nonce);
    gw_jsonw_lit(&w, "\" data-cg-r=\"");
    gw_jsonw_lit(&w, release);
    gw_jsonw_lit(&w, xml ? "\" src=\"/__consent/banner.js\" defer=\"defer\"></script><script nonce=\""
                         : "\" src=\"/__consent/banner.js\" defer></script><script nonce=\"");
    gw_jsonw_lit(&w, script_nonce);
    gw_jsonw_lit(&w, "\" type=\"application/json\" id=\"cg-state\">{");
    /* without the visitor id: every script of the page reads this (and consentgate.state()), and the id the HttpOnly
     * token keeps from them, stable for a year, would be theirs to send anywhere; the banner does not need it */
    gw_consent_state_json(&w, ctx, ctx->granted, ctx->decided, 0);
    /* the label of the banner's "privacy choices" button (a way back to the choices on every page, as easy as giving
     * consent was), in the visitor's language: the banner needs no strings request for it */
    const char *lang = NULL, *reopen = gw_ui_text(req, "banner.reopen", &lang);
    if (reopen != NULL) {
        gw_jsonw_lit(&w, ", \"reopen\": ");
        gw_jsonw_cstr(&w, reopen);
        gw_jsonw_lit(&w, ", \"reopen_lang\": ");
        gw_jsonw_cstr(&w, lang);
    }
    gw_jsonw_lit(&w, "}</script>");
    if (!xml) /* (an XML parser has no noscript: it would show the link to everybody) */
        gw_ui_nojs_link(req, &w, reopen, lang);
    return h2o_iovec_init(w.buf, w.len);
}

static void set_inject(rewrite_t *self, int xml)
{
    self->inject = build_inject(self->req, self->ctx, self->release, xml);
    self->ui_nonces = self->ctx->origin_csp;
}

/*
 * <meta http-equiv="Content-Security-Policy" content="…">: a policy the browser enforces beside the headers' over what
 * follows it, so over the consent UI injected at the head's end, and read as an origin's header is. Its nonce, when
 * the headers named none, stays on the elements the origin gave it (read_origin_csp) and, while the UI is still to come
 * and the gateway's own policy does not enforce, goes on the UI too: one nonce then satisfies both. Its directives are
 * amended as little as lets the UI work (amend_origin_csp). The gateway's header is out by now, so it cannot name the
 * meta's nonce: under an enforcing gateway policy the origin's nonced elements stay blocked, as the meta alone blocked
 * them when they carried the gateway's nonce. Only the page's own policy counts: not one in a srcdoc's document.
 */
static int on_meta_csp(rewrite_t *self, gw_html_tag_t *tag, const gw_html_attr_t *c)
{
    h2o_req_t *req = self->req;
    gw_reqctx_t *ctx = self->ctx;
    if (self->nesting || !gw_rt.conf.html.inject_banner)
        return GW_HTML_KEEP;
    char *v = h2o_mem_alloc_pool(&req->pool, c->value_len);
    size_t len = gw_html_decode(c->value, c->value_len, v);
    gw_csp_nonces_t meta = {{0}};
    gw_csp_read_nonces(&meta, v, len, 1);
    if (!names_origin_nonce(ctx) && (meta.script[0] != '\0' || meta.style[0] != '\0')) {
        ctx->origin_csp = meta;
        gw_html_keep_nonces(self->html, ctx->origin_csp.script, ctx->origin_csp.style);
        rec_stop(self); /* (names_origin_nonce: not remembered) */
        /* (only where a UI was to go: an SVG or plain XML document gets none, and one made now would go out at its
         * end, after the root element: no longer well-formed) */
        if (self->inject.base != NULL && !gw_html_injected(self->html) && gw_rt.conf.channel.csp != 2) {
            set_inject(self, self->xml);
            gw_html_set_inject(self->html, self->inject.base, self->inject.len);
        }
        if (gw_rt.conf.channel.csp == 2 && meta.script[0] != '\0')
            COUNT_WARN_FIRST(csp_meta_nonce_blocked,
                             "%.*s: the page's <meta> Content-Security-Policy allows scripts by nonce, which the gateway's "
                             "enforcing policy cannot name (its header went first): those scripts are blocked. Send that policy "
                             "as a header, or set channel.csp to report-only (further pages are counted in "
                             "cg_csp_meta_nonce_blocked_total)",
                             (int)req->path_normalized.len, req->path_normalized.base);
    }
    if (!gw_csp_lets_in_by_nonce(v, len, ui_script_nonce(self)))
        self->consent_mode = 0; /* (its inline script would be blocked by this policy, and reported) */
    if (self->inject.base == NULL) /* no UI in this document: nothing for its policy to let in */
        return GW_HTML_KEEP;
    gw_csp_amend_t a = ui_amendment(req, ui_script_nonce(self), self->ui_nonces.style);
    h2o_iovec_t out = amend_policy(&req->pool, h2o_iovec_init(v, len), &a);
    if (out.base != v) /* (refused: the site's policy stays as it came, never less) */
        gw_html_attr_set(tag, H2O_STRLIT("content"), out.base, out.len);
    return GW_HTML_KEEP;
}

/* whether the request's Sec-Fetch-Dest is one of dests[0..n) (0 without one) */
static int dest_is_one_of(h2o_req_t *req, const char *const *dests, size_t n)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-dest"), -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    for (size_t k = 0; k != n; ++k)
        if (h2o_lcstris(v.base, v.len, dests[k], strlen(dests[k])))
            return 1;
    return 0;
}

/*
 * 1 for HTML a page's script asked for (Sec-Fetch-Dest "empty": fetch(), XMLHttpRequest), not a prefetch (Sec-Purpose)
 * of a page to be shown. It may be a fragment that htmx, Unpoly or jQuery's .load() puts into the page the visitor
 * already has, with its consent UI: the UI appended at its end went into that page too, a second banner script and
 * state (run by the libraries that run a fragment's scripts). Or it may be a document, a service worker's app shell
 * shown later as a page: so such HTML gets the UI only where a document has its place (gw_html_set_inject_in_place).
 */
static int script_fetch(h2o_req_t *req)
{
    static const char *const empty[] = {"empty"};
    return dest_is_one_of(req, empty, 1) && h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-purpose"), -1) == -1 &&
           h2o_find_header_by_str(&req->headers, H2O_STRLIT("purpose"), -1) == -1;
}

/* Sec-Fetch-Dest values of requests whose answer the gateway never reads: neither a page nor a style sheet
 * (css_response) */
static int is_unread_dest(h2o_req_t *req)
{
    static const char *const dests[] = {"script", "image", "font", "audio", "video", "track", "manifest", "worker",
                                        "sharedworker", "serviceworker", "audioworklet", "paintworklet", "xslt", "report"};
    return dest_is_one_of(req, dests, sizeof(dests) / sizeof(dests[0]));
}

/*
 * The rewriter reads identity and gzip bodies only: a request that may come back as a page asks the origin for
 * gzip (when the client takes it) or for no encoding, never for br, zstd or deflate, which the origin would
 * otherwise be free to pick and the page would then pass through unread; so does a request for a style sheet, whose
 * URLs are checked too. Requests a browser makes for scripts, images, fonts, … (Sec-Fetch-Dest) keep the client's
 * Accept-Encoding.
 */
static int on_request(h2o_req_t *req, gw_reqctx_t *ctx)
{
    (void)ctx;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, -1);
    if (!gw_rt.conf.html.rewrite || i == -1 || is_unread_dest(req))
        return 0;
    int gzip = 0, count = 0, just_gzip = 0;
    for (; i != -1; i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, i), ++count) {
        h2o_iovec_t v = req->headers.entries[i].value;
        gzip |= gw_accepts_coding(v.base, v.len, "gzip");
        just_gzip = h2o_memis(v.base, v.len, H2O_STRLIT("gzip"));
    }
    if (count == 1 && just_gzip)
        return 0; /* already what the origin should see */
    for (i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_ENCODING, i)) != -1;)
        i = h2o_delete_header(&req->headers, i) - 1;
    if (gzip)
        h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_ACCEPT_ENCODING, NULL, H2O_STRLIT("gzip"));
    return 0;
}

enum { CHARSET_ASCII, CHARSET_UTF16LE, CHARSET_UTF16BE, CHARSET_ISO2022JP };

/* What the Content-Type's charset means for the tokenizer, which reads ASCII-compatible bytes: CHARSET_UTF16LE or BE for
 * a label the Encoding Standard gives UTF-16 (a browser honours it for a page: decoded first, utf16.h),
 * CHARSET_ISO2022JP for ISO-2022-JP, where the bytes after ESC $ B are two-byte characters up to the next escape ("<!--"
 * there is text to a browser, and the tags after it are not in a comment), else CHARSET_ASCII. A label browsers do not
 * know (utf-32, utf-16x) is ignored by them too: the page is read as ASCII-compatible bytes. */
static int wide_charset(h2o_req_t *req)
{
    static const char *const labels[] = {"utf-16",      "utf-16le",    "utf-16be",    "unicode",
                                         "unicodefeff", "unicodefffe", "ucs-2",       "csunicode",
                                         "iso-10646-ucs-2", "iso-2022-jp", "csiso2022jp"};
    static const int kinds[] = {CHARSET_UTF16LE, CHARSET_UTF16LE, CHARSET_UTF16BE, CHARSET_UTF16LE,
                                CHARSET_UTF16LE, CHARSET_UTF16BE, CHARSET_UTF16LE, CHARSET_UTF16LE,
                                CHARSET_UTF16LE, CHARSET_ISO2022JP, CHARSET_ISO2022JP};
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i == -1)
        return CHARSET_ASCII;
    /* the charset parameter, read as a parameter: "x-charset=utf-16" or a quoted "charset=utf-16" inside another one is
     * none (it turned rewriting off while browsers read the page, and ran its trackers), and one after 128 bytes of
     * other parameters is one. Several: the kind only when every one names a label of it (else read as ASCII) */
    const char *p = req->res.headers.entries[i].value.base, *end = p + req->res.headers.entries[i].value.len;
    int kind = CHARSET_ASCII;
    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        ++p;
        while (p != end && (*p == ' ' || *p == '\t'))
            ++p;
        const char *name = p, *value;
        while (p != end && *p != '=' && *p != ';')
            ++p;
        size_t name_len = (size_t)(p - name), value_len;
        if (p == end || *p == ';')
            continue;
        ++p;
        if (p != end && (*p == '"' || *p == '\'')) { /* quoted (Chromium takes either quote) */
            char q = *p++;
            value = p;
            while (p != end && *p != q)
                ++p;
            value_len = (size_t)(p - value);
        } else {
            value = p;
            while (p != end && *p != ';')
                ++p;
            value_len = (size_t)(p - value);
            while (value_len != 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
                --value_len;
        }
        if (!h2o_lcstris(name, name_len, H2O_STRLIT("charset")))
            continue;
        int this_kind = CHARSET_ASCII;
        for (size_t k = 0; k != sizeof(labels) / sizeof(labels[0]) && this_kind == CHARSET_ASCII; ++k)
            if (h2o_lcstris(value, value_len, labels[k], strlen(labels[k])))
                this_kind = kinds[k];
        if (this_kind == CHARSET_ASCII || (kind != CHARSET_ASCII && this_kind != kind))
            return CHARSET_ASCII;
        kind = this_kind;
    }
    return kind;
}

/* the legacy encoding the Content-Type's charset names (legacy.h), *known whether it names one browsers know (then no
 * <meta> changes it: meta_charset); a UTF-16 one is read as UTF-8 (wide_charset) */
static int content_type_legacy(h2o_req_t *req, int *known)
{
    gw_mime_t m;
    gw_mime_extract_init(&m);
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, i)) != -1;)
        gw_mime_extract_add(&m, req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len);
    *known = 0;
    return m.charset != NULL ? gw_legacy_from_label(m.charset, m.charset_len, known) : GW_LEGACY_NONE;
}

/*
 * A rewritten page is this visitor's: their consent state is written into it and what it lets run follows their
 * choice. So a cache keeps it apart by the Cookie header (the consent cookie changes with every choice): without
 * that, a page a browser cached before a choice came back after it, the banner asking again after an "accept all"
 * and, after a withdrawal, trackers released for the choice withdrawn. The origin's ETag and Last-Modified name the
 * origin's bytes, not these: a browser revalidating with them would get the origin's 304 for a page rewritten for
 * an earlier choice, so they are dropped (a rewritten page is fetched again in full once stale). It is private
 * (gw_res_make_personal).
 */
static void mark_personal(h2o_req_t *req)
{
    static const h2o_token_t *const validators[] = {H2O_TOKEN_ETAG, H2O_TOKEN_LAST_MODIFIED};
    for (size_t k = 0; k != sizeof(validators) / sizeof(validators[0]); ++k) {
        ssize_t i;
        while ((i = h2o_find_header(&req->res.headers, validators[k], -1)) != -1)
            h2o_delete_header(&req->res.headers, i);
    }
    gw_res_make_personal(req);
}

/* a rewritten page is the visitor's, and with the consent UI in it also in their language (the label of its button
 * comes from Accept-Language: RFC 9110 12.5.5), which a browser's cache must not hand to another */
static void mark_page(h2o_req_t *req)
{
    mark_personal(req);
    if (gw_rt.conf.html.inject_banner) { /* where the UI goes depends on Sec-Fetch-Dest (script_fetch), its label on the language */
        gw_res_vary(req, H2O_STRLIT("sec-fetch-dest"));
        gw_res_vary(req, H2O_STRLIT("accept-language"));
    }
}

/* relative URLs resolve against the response's own path: its host and the directory of its path (0 if over 512) */
static void set_base(rewrite_t *self)
{
    h2o_req_t *req = self->req;
    self->scratch = thread_scratch;
    self->url = thread_url;
    self->page_host = gw_req_host(req);
    self->page_dir = req->path_normalized.len;
    while (self->page_dir != 0 && req->path_normalized.base[self->page_dir - 1] != '/')
        --self->page_dir;
    if (self->page_dir >= 512)
        self->page_dir = 0;
}

/* The Link headers of an answer the rewriter does not read: a browser that shows it (an image, a JSON or a text file
 * opened directly, a page in an encoding the rewriter cannot read) preloads what they name as it does for a page
 * (Chromium does), so they are checked as a page's are (link_headers) */
static void unread_link_headers(h2o_req_t *req, gw_reqctx_t *ctx)
{
    if (h2o_find_header(&req->res.headers, H2O_TOKEN_LINK, -1) == -1)
        return;
    rewrite_t *self = h2o_mem_alloc_pool(&req->pool, sizeof(*self));
    memset(self, 0, sizeof(*self));
    self->req = req;
    self->ctx = ctx;
    set_base(self);
    if (link_headers(self))
        mark_personal(req); /* (as a page: a copy kept with a tracker's preload must not outlive a withdrawal) */
}

/* --- style sheets ------------------------------------------------------------------------------------------------ */

/*
 * A style sheet the site serves (text/css) can load from a block-listed site as a page can: a background, a font, an
 * @import. It is held whole (decoded from gzip, up to CSS_HOLD_MAX) and each URL it names (gw_css_next_url) goes
 * through the risk hook, resolved against the sheet's own URL. A block-listed one becomes "about:invalid" cut or
 * padded with 'x' after a '#' to its own length (inert_url), which no browser fetches: the sheet keeps its size, and an identity
 * body its Content-Length (and, without trackers, its validators: it then depends on the lists only). Escapes can
 * spell a URL the raw text does not show (u\72l(…)): the sheet is read again with them resolved, and a block-listed
 * URL found only then takes the whole sheet (a comment of its length). A tracker URL the visitor has not granted is
 * made inert the same way, and a sheet naming any tracker becomes the visitor's as a rewritten page is (mark_personal:
 * Vary: cookie, without the origin's validators) and is not stored (Cache-Control: no-store), so a browser fetches it
 * again after a choice.
 */

/* overwrites d[0..n) with an inert URL of that length, n >= 6 ("about:" is the shortest) */
static void inert_url(char *d, size_t n)
{
    static const char about[] = "about:invalid#";
    for (size_t i = 0; i != n; ++i)
        d[i] = i < sizeof(about) - 1 ? about[i] : 'x';
}

#define SHEET_REFUSED 3 /* sheet_url: a tracker the visitor has not granted */

/* what a URL of the sheet is (escapes in it resolved unless plain): GW_HTML_KEEP, GW_HTML_REMOVE (the risk hook's
 * verdict), SHEET_REFUSED, or -1 for one too long to check; *tracked set for a tracker of any category (the sheet then
 * depends on the visitor's choice). GW_URL_PROBE: nothing counted or reported. */
static int sheet_url(rewrite_t *self, const char *url, size_t len, int plain, gw_url_kind_t kind, int *tracked)
{
    if (len > URL_SCRATCH)
        return h2o_lcstris(url, 5, H2O_STRLIT("data:")) ? GW_HTML_KEEP : -1;
    if (!plain) {
        len = gw_css_unescape(url, len, self->scratch);
        url = self->scratch;
    }
    size_t n = absolute_url(self, url, len, 0);
    int v = n == 0 ? GW_HTML_KEEP : run_hook(self, NULL, kind, n);
    if (n == 0 || v != GW_HTML_KEEP)
        return v;
    int cat = tracker_category(self, n, GW_ABP_IMAGE);
    if (cat < 0)
        return GW_HTML_KEEP;
    int refused = (self->ctx->granted & (1u << cat)) == 0;
    if (refused)
        refused = kind == GW_URL_PROBE ? !gw_rt.conf.report_only : refuse_tag(cat);
    *tracked |= !gw_rt.conf.report_only; /* (report-only: the sheet is the same whatever the visitor chose) */
    if (kind != GW_URL_PROBE)
        seen(self, self->url + self->host_off, self->host_len, cat, refused);
    return refused ? SHEET_REFUSED : GW_HTML_KEEP;
}

static void check_sheet(rewrite_t *self)
{
    char *css = self->css;
    size_t len = self->css_len, pos = 0, url_len;
    const char *url;
    int whole = 0, personal = 0;
    recent_urls_t recent = {{{NULL}}}; /* each occurrence replaced, each URL checked once */
    struct {
        size_t off, len;
    } *inert = NULL; /* replaced once the scan is done: the URLs in recent must still read as they came */
    size_t num_inert = 0, inert_cap = 0;
    while (!whole && gw_css_next_url(css, len, &pos, &url, &url_len)) {
        int v = recent_find(&recent, url, url_len);
        if (v == -2) {
            v = sheet_url(self, url, url_len, 0, GW_URL_SHEET, &personal);
            recent_add(&recent, url, url_len, v);
        }
        if ((v == GW_HTML_REMOVE || v == SHEET_REFUSED) && url_len >= 6) { /* "about:" at least */
            if (num_inert == inert_cap) {
                void *grown = h2o_mem_alloc_pool(&self->req->pool, sizeof(*inert) * (inert_cap = inert_cap * 2 + 16));
                if (num_inert != 0)
                    memcpy(grown, inert, sizeof(*inert) * num_inert);
                inert = grown;
            }
            inert[num_inert].off = (size_t)(url - css), inert[num_inert++].len = url_len;
        } else if (v != GW_HTML_KEEP) { /* too short to replace in place, or too long to check */
            whole = 1;
        }
    }
    for (size_t i = 0; i != num_inert && !whole; ++i)
        inert_url(css + inert[i].off, inert[i].len);
    if (!whole && memchr(css, '\\', len) != NULL) {
        /* as the browser reads it: what the pass above replaced now reads about:invalid; a block-listed or refused
         * URL left was spelled with escapes */
        char *plain = h2o_mem_alloc_pool(&self->req->pool, len);
        size_t plain_len = gw_css_unescape(css, len, plain);
        for (pos = 0; !whole && gw_css_next_url(plain, plain_len, &pos, &url, &url_len);)
            whole = sheet_url(self, url, url_len, 1, GW_URL_PROBE, &personal) != GW_HTML_KEEP;
    }
    /* with a tracker in it, the sheet is the visitor's (what it loads follows their choice): as a rewritten page is,
     * and not stored at all: a browser's in-memory cache hands a sheet to the next page of the tab without looking at
     * Vary: cookie (Chromium's does), which would keep a tracker released before a withdrawal. Its headers have not
     * gone out yet: nothing is handed on before the end (send_next with no buffers does not) */
    if (personal) {
        mark_personal(self->req);
        h2o_set_header(&self->req->pool, &self->req->res.headers, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("no-store"), 1);
    }
    if (whole) {
        static const char note[] = "/* consentgate: removed a style sheet loading from a blocked site or a refused tracker */";
        memset(css, ' ', len);
        if (len >= sizeof(note) - 1)
            memcpy(css, note, sizeof(note) - 1);
        else if (len >= 4)
            memcpy(css, "/*", 2), memcpy(css + len - 2, "*/", 2);
    }
    GW_COUNT(css_checked);
}


static void too_big_to_check(h2o_req_t *req)
{
    COUNT_WARN_FIRST(css_unchecked,
                     "rewrite: the style sheet %.*s is over %u KB: passed through without its URLs checked (further cases are "
                     "counted in cg_css_unchecked_total)",
                     (int)req->path_normalized.len, req->path_normalized.base, CSS_HOLD_MAX / 1024);
}

/* bufs appended to what css holds (room made by the caller); 1 when more is to come (proceed is scheduled for it),
 * 0 at the end */
static int held_more(rewrite_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    for (size_t i = 0; i != bufcnt; ++i) {
        memcpy(self->css + self->css_len, bufs[i].base, bufs[i].len);
        self->css_len += bufs[i].len;
    }
    if (!h2o_send_state_is_in_progress(state))
        return 0;
    h2o_iovec_t none = h2o_iovec_init(NULL, 0);
    h2o_ostream_send_next(&self->super, req, &none, 0, state); /* schedules proceed: the next bytes */
    return 1;
}

static void css_do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    rewrite_t *self = (void *)_self;
    if (self->broken)
        return;
    decode(self, &bufs, &bufcnt, &state);
    if (self->css_over) {
        h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
        return;
    }
    size_t in = 0;
    for (size_t i = 0; i != bufcnt; ++i)
        in += bufs[i].len;
    size_t cap = self->css_cap;
    int too_large = in > CSS_HOLD_MAX - self->css_len, over_budget = 0;
    if (!too_large && self->css_len + in > cap) {
        cap = cap != 0 ? cap : 16384;
        while (cap < self->css_len + in)
            cap *= 2;
        cap = cap < CSS_HOLD_MAX ? cap : CSS_HOLD_MAX;
        if (!charge(self, cap)) { /* the smaller buffer stays in the pool until it goes: still charged */
            COUNT_WARN_FIRST(css_unchecked,
                             "rewrite: the big buffers this worker holds reached %zu KB: the style sheet %.*s passed through "
                             "without its URLs checked (further cases are counted in cg_css_unchecked_total)",
                             big_budget / 1024, (int)req->path_normalized.len, req->path_normalized.base);
            over_budget = 1;
        }
    }
    if (too_large || over_budget) {
        /* not to be held: what was held, then the rest as it comes, unchecked */
        if (too_large)
            too_big_to_check(req);
        self->css_over = 1;
        h2o_iovec_t *out = h2o_mem_alloc_pool(&req->pool, sizeof(*out) * (bufcnt + 1));
        size_t n = 0;
        if (self->css_len != 0)
            out[n++] = h2o_iovec_init(self->css, self->css_len);
        for (size_t i = 0; i != bufcnt; ++i)
            out[n++] = bufs[i];
        h2o_ostream_send_next(&self->super, req, out, n, state);
        return;
    }
    if (cap != self->css_cap) {
        char *grown = h2o_mem_alloc_pool(&req->pool, cap);
        if (self->css_len != 0)
            memcpy(grown, self->css, self->css_len);
        self->css = grown, self->css_cap = cap;
    }
    if (held_more(self, req, bufs, bufcnt, state))
        return;
    if (self->css_len != 0) /* (an empty sheet has nothing to check, and css is NULL) */
        check_sheet(self);
    h2o_iovec_t out = h2o_iovec_init(self->css, self->css_len);
    h2o_ostream_send_next(&self->super, req, &out, out.len != 0 ? 1 : 0, state);
}

/* whether the response's Content-Type starts with type (case-insensitive) */
static int content_type_is(h2o_req_t *req, const char *type, size_t len)
{
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    return i != -1 && req->res.headers.entries[i].value.len >= len && h2o_lcstris(req->res.headers.entries[i].value.base, len, type, len);
}

static int is_css(h2o_req_t *req)
{
    return content_type_is(req, H2O_STRLIT("text/css"));
}

/*
 * The response's Content-Encoding as browsers apply it: -1 none, or one they do not know and so ignore ("identity",
 * "none", any unknown token: Chromium renders the bytes as they are) — the header is dropped and the body read as it
 * is —, 1 gzip ("x-gzip" too) — decoded here —, 0 one they decode and the gateway cannot (br, deflate, zstd, a list):
 * passed unread. Taking every coding but gzip for unreadable let a page saying "Content-Encoding: identity" or "none"
 * through with its trackers running, unread.
 */
int gw_rewrite_body_coding(h2o_req_t *req, ssize_t *index)
{
    static const char *const decoded[] = {"br", "deflate", "zstd", "compress", "x-compress"};
    *index = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_ENCODING, -1);
    if (*index == -1)
        return -1;
    h2o_iovec_t v = req->res.headers.entries[*index].value;
    while (v.len != 0 && (v.base[0] == ' ' || v.base[0] == '\t'))
        ++v.base, --v.len;
    while (v.len != 0 && (v.base[v.len - 1] == ' ' || v.base[v.len - 1] == '\t'))
        --v.len;
    if (h2o_lcstris(v.base, v.len, H2O_STRLIT("gzip")) || h2o_lcstris(v.base, v.len, H2O_STRLIT("x-gzip")))
        return 1;
    if (memchr(v.base, ',', v.len) != NULL || h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_ENCODING, *index) != -1)
        return 0;
    for (size_t i = 0; i != sizeof(decoded) / sizeof(decoded[0]); ++i)
        if (h2o_lcstris(v.base, v.len, decoded[i], strlen(decoded[i])))
            return 0;
    h2o_delete_header(&req->res.headers, *index);
    *index = -1;
    return -1;
}

static void css_response(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot)
{
    ssize_t ce;
    int coding = gw_rewrite_body_coding(req, &ce);
    req->compress_hint = H2O_COMPRESS_HINT_DISABLE; /* identity: the same bytes, or the same length */
    if (coding == 0) {
        COUNT_WARN_FIRST(css_unchecked,
                         "rewrite: the style sheet %.*s came with Content-Encoding %.*s, which the gateway cannot read: passed "
                         "through without its URLs checked (further cases are counted in cg_css_unchecked_total)",
                         (int)req->path_normalized.len, req->path_normalized.base, (int)req->res.headers.entries[ce].value.len,
                         req->res.headers.entries[ce].value.base);
        return;
    }
    if (ce == -1 && req->res.content_length != SIZE_MAX && req->res.content_length > CSS_HOLD_MAX) {
        too_big_to_check(req);
        return;
    }
    rewrite_t *self = (void *)h2o_add_ostream(req, sizeof(*self), slot);
    memset((char *)self + sizeof(self->super), 0, sizeof(*self) - sizeof(self->super));
    self->super.do_send = css_do_send;
    self->req = req;
    self->ctx = ctx;
    set_base(self);
    if (ce != -1) {
        /* decoded here and encoded again by h2o's compress filter for a client that takes gzip: its length changes */
        h2o_delete_header(&req->res.headers, ce);
        req->res.content_length = SIZE_MAX;
        req->compress_hint = H2O_COMPRESS_HINT_AUTO;
        self->gzip = 1;
        self->gunzip = gw_gunzip_open(&req->pool);
        req->preferred_chunk_size = GUNZIP_CHUNK; /* a gzip bomb decodes to at most ~16 MB at once */
    }
}

/*
 * A speculation rule set (application/speculationrules+json), which a page names in a Speculation-Rules header:
 * Chromium fetches it and prefetches or prerenders the URLs it lists, another site's too, before any click, as it does
 * those of an inline <script type="speculationrules"> (speculation_rules). The set is held whole (RULES_HOLD_MAX, charged
 * to the thread's big buffers) and each JSON string naming a host is checked as a subresource: a block-listed site or a
 * refused tracker in it, or a set that cannot be read whole, and the visitor gets no rules ("{}": the pages only load
 * later, as without them). A set naming a tracker follows the visitor's choice: it is theirs (mark_personal, no-store).
 */
#define RULES_HOLD_MAX (64 * 1024)

static int rules_clean(rewrite_t *self)
{
    int clean = 1, personal = 0;
    char *str = h2o_mem_alloc_pool(&self->req->pool, URL_SCRATCH + 1);
    ssize_t n;
    for (size_t pos = 0; clean && (n = next_rule_url(self, self->css, self->css_len, &pos, str)) != 0;) {
        if (n < 0 || run_hook(self, NULL, GW_URL_SUBRESOURCE, (size_t)n) == GW_HTML_REMOVE) {
            clean = 0;
        } else {
            clean = refused_category(self, (size_t)n, GW_ABP_OTHER) < 0;
            personal |= (self->tracker_mask & gw_consent_all_mask()) != 0; /* (a tracker, granted or not) */
        }
    }
    if (personal || !clean) {
        mark_personal(self->req);
        h2o_set_header(&self->req->pool, &self->req->res.headers, H2O_TOKEN_CACHE_CONTROL, H2O_STRLIT("no-store"), 1);
    }
    return clean;
}

static void rules_do_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    rewrite_t *self = (void *)_self;
    if (self->broken)
        return;
    decode(self, &bufs, &bufcnt, &state);
    if (!self->css_over) {
        size_t in = 0;
        for (size_t i = 0; i != bufcnt; ++i)
            in += bufs[i].len;
        if (in > RULES_HOLD_MAX - self->css_len || (self->css == NULL && in != 0 && !charge(self, RULES_HOLD_MAX))) {
            self->css_over = 1; /* too long to check here, or the thread's big buffers are spent: no rules */
        } else {
            if (self->css == NULL && in != 0)
                self->css = h2o_mem_alloc_pool(&req->pool, RULES_HOLD_MAX);
            if (held_more(self, req, bufs, bufcnt, state))
                return;
        }
    }
    if (self->css_over && held_more(self, req, NULL, 0, state))
        return; /* (what comes is dropped: no rules) */
    static const char no_rules[] = "{}\n";
    h2o_iovec_t out = !self->css_over && (self->css_len == 0 || rules_clean(self)) ? h2o_iovec_init(self->css, self->css_len)
                                                                                  : h2o_iovec_init(H2O_STRLIT(no_rules));
    if (out.base == no_rules)
        GW_COUNT(speculation_rules_dropped);
    h2o_ostream_send_next(&self->super, req, &out, out.len != 0 ? 1 : 0, state);
}

static void rules_response(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot)
{
    ssize_t ce;
    int coding = gw_rewrite_body_coding(req, &ce);
    rewrite_t *self = (void *)h2o_add_ostream(req, sizeof(*self), slot);
    memset((char *)self + sizeof(self->super), 0, sizeof(*self) - sizeof(self->super));
    self->super.do_send = rules_do_send;
    self->req = req;
    self->ctx = ctx;
    set_base(self);
    req->res.content_length = SIZE_MAX; /* (the set as it came, or none) */
    if (ce != -1) {
        h2o_delete_header(&req->res.headers, ce);
        if (coding == 1) { /* gzip: decoded here, compressed again by h2o for a client that takes it */
            req->compress_hint = H2O_COMPRESS_HINT_AUTO;
            self->gzip = 1;
            self->gunzip = gw_gunzip_open(&req->pool);
            req->preferred_chunk_size = GUNZIP_CHUNK;
        } else { /* an encoding the gateway cannot read: no rules */
            self->css_over = 1;
        }
    }
}

/* the Content-Type of a UTF-16 page made its UTF-8 (the rewriter serves it so): the media type kept, its parameters
 * replaced by charset=utf-8 */
static void set_utf8_charset(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t v = req->res.headers.entries[i].value;
    const char *semi = memchr(v.base, ';', v.len);
    h2o_iovec_t type = h2o_str_stripws(v.base, semi != NULL ? (size_t)(semi - v.base) : v.len);
    req->res.headers.entries[i].value = h2o_concat(&req->pool, type, h2o_iovec_init(H2O_STRLIT("; charset=utf-8")));
}

/* an SVG file (image/svg+xml) */
static int is_svg(h2o_req_t *req)
{
    return content_type_is(req, H2O_STRLIT("image/svg+xml"));
}

/* XML of no more precise type (text/xml, application/xml): XHTML elements in it run when it is opened */
static int is_plain_xml(h2o_req_t *req)
{
    return content_type_is(req, H2O_STRLIT("text/xml")) || content_type_is(req, H2O_STRLIT("application/xml"));
}

/* the request opens a document: a visitor's navigation, a frame, an object or an embed (Sec-Fetch-Dest) */
static int is_document_dest(h2o_req_t *req)
{
    static const char *const dests[] = {"document", "iframe", "frame", "embed", "object"};
    return dest_is_one_of(req, dests, sizeof(dests) / sizeof(dests[0]));
}

/*
 * 1 for text/html, 2 for application/xhtml+xml (XML: what is added must be well-formed), 3 for an SVG file or other XML
 * opened as a document (XML, nothing added: the banner is HTML), else 0. An SVG runs its scripts and loads what it
 * names when a visitor opens it, or a page frames or embeds it (<iframe>, <object>, <embed>); as an image (<img>, a CSS
 * background: Sec-Fetch-Dest image) it does neither, and passes as it came. text/xml and application/xml are mostly
 * data that a script or a program fetches: read only when a browser says it opens one as a document.
 */
static int is_html(h2o_req_t *req)
{
    if (content_type_is(req, H2O_STRLIT("text/html")))
        return 1;
    if (content_type_is(req, H2O_STRLIT("application/xhtml+xml")))
        return 2;
    return (is_svg(req) && !is_unread_dest(req)) || (is_plain_xml(req) && is_document_dest(req)) ? 3 : 0;
}

static int is_rule_set(h2o_req_t *req)
{
    return content_type_is(req, H2O_STRLIT("application/speculationrules+json"));
}

int gw_rewrite_reads_body(h2o_req_t *req)
{
    return gw_rt.conf.html.rewrite && (is_html(req) || is_css(req) || is_rule_set(req) ||
                                       content_type_is(req, H2O_STRLIT("multipart/byteranges")));
}


/*
 * 1 for an answer whose body a browser renders as a page: a 200's, and as much a 404's, a 500's or a 201's, which the
 * site's template (its tag manager with it) makes too; not 204, 205 and 304 (no body), a redirect with a Location
 * (followed, its body never shown), nor 206 (a part of it: the front asks the origin for the whole page instead,
 * gw_rewrite_reads_body). A style sheet or a rule set is read only with a 2xx: a browser applies neither otherwise.
 */
static int renders_page(h2o_req_t *req)
{
    int status = req->res.status;
    if (status >= 300 && status < 400 && h2o_find_header(&req->res.headers, H2O_TOKEN_LOCATION, -1) != -1)
        return 0;
    return status >= 200 && status != 204 && status != 205 && status != 206 && status != 304;
}

static void on_response(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot)
{
    ssize_t ce;
    int html, status = req->res.status;

    if (!gw_rt.conf.html.rewrite || !renders_page(req)) {
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE; /* pass-through stays byte-identical */
        return;
    }
    int head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
    if (is_svg(req) || is_plain_xml(req)) /* read or not by Sec-Fetch-Dest: no cache may give an image's or a script's
                                            * copy to a visitor who opens the file */
        gw_res_vary(req, H2O_STRLIT("sec-fetch-dest"));
    if ((html = is_html(req)) == 0) {
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
        unread_link_headers(req, ctx);
        /* still no type a browser takes as it is: one whose first bytes a browser takes for HTML says text/html by now
         * (the front sniffed them); the rest says nosniff, so that the browser takes it for nothing else that runs
         * (XML, which Chromium also sniffs, can hold XHTML): an image, audio or video is still recognised */
        if (!gw_rt.conf.report_only && gw_res_type_unknown(req))
            h2o_set_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, H2O_STRLIT("nosniff"), 1);
        if (head || status / 100 != 2)
            return;
        if (is_css(req))
            css_response(req, ctx, slot);
        else if (is_rule_set(req))
            rules_response(req, ctx, slot);
        return;
    }
    int charset = wide_charset(req);
    if (charset == CHARSET_ISO2022JP || (charset != CHARSET_ASCII && html >= 2)) {
        /* its tags are not ASCII bytes (ISO-2022-JP after ESC $ B), or an XML page whose declaration names UTF-16, which
         * a page served as UTF-8 would contradict: passed on unread */
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
        unread_link_headers(req, ctx);
        COUNT_WARN_FIRST(html_unreadable,
                         "rewrite: %.*s is %s, which the rewriter cannot read: passed through unchanged (further cases are "
                         "counted in cg_html_unreadable_total)",
                         (int)req->path_normalized.len, req->path_normalized.base,
                         charset == CHARSET_ISO2022JP ? "HTML in ISO-2022-JP" : "XHTML in a UTF-16 charset");
        return;
    }
    if (gw_rewrite_body_coding(req, &ce) == 0) {
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
        unread_link_headers(req, ctx);
        /* an encoding we cannot read although the request asked for none (on_request): untouched, and counted */
        COUNT_WARN_FIRST(html_unreadable,
                         "rewrite: %.*s came back with Content-Encoding %.*s, which the rewriter cannot read: passed through "
                         "unchanged (further cases are counted in cg_html_unreadable_total)",
                         (int)req->path_normalized.len, req->path_normalized.base, (int)req->res.headers.entries[ce].value.len,
                         req->res.headers.entries[ce].value.base);
        return;
    }
    /* per-response CSP nonce (16 random bytes) and release token (12), base64url; without them the page is not rewritten */
    uint8_t rnd[16 + 12];
    if (gw_random_bytes(rnd, sizeof(rnd)) != 0) {
        gw_error("rewrite: the random generator failed; %.*s passes through unchanged", (int)req->path_normalized.len, req->path_normalized.base);
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
        unread_link_headers(req, ctx);
        return;
    }
    gw_b64url_encode(rnd, 16, ctx->nonce, sizeof(ctx->nonce));
    size_t origin_policies = read_origin_csp(req, ctx);
    if (origin_policies != 0 && gw_rt.conf.html.inject_banner)
        amend_origin_csp(req, ctx);
    if (charset != CHARSET_ASCII) /* UTF-16: read as UTF-8 (sniff_bom, write_body), and said so */
        set_utf8_charset(req);
    /* its bytes are the gateway's, not the origin's: a range of them is not served (the front asks the origin for the
     * whole page instead of a range of the origin's bytes) */
    for (ssize_t i; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_ACCEPT_RANGES, -1)) != -1;)
        h2o_delete_header(&req->res.headers, i);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCEPT_RANGES, NULL, H2O_STRLIT("none"));
    if (head) {
        /* a HEAD gets the headers its GET would (a cache may take them for its stored GET): no length (the GET's body
         * is rewritten, its length not known ahead), per visitor, its Link checked, and the CSP (channel.c, for a
         * rewritten page) */
        req->compress_hint = H2O_COMPRESS_HINT_DISABLE;
        req->res.content_length = SIZE_MAX;
        ctx->rewritten = 1;
        mark_page(req);
        unread_link_headers(req, ctx);
        return;
    }
    if (ce != -1) { /* gzip: decoded here, compressed again by h2o for clients that ask, whatever its type (h2o's own
                       * list has no application/xml, which an XML document opened as a page is: it went out decoded) */
        h2o_delete_header(&req->res.headers, ce);
        req->compress_hint = H2O_COMPRESS_HINT_ENABLE;
    }

    size_t content_length = req->res.content_length;
    rewrite_t *self = (void *)h2o_add_ostream(req, sizeof(*self), slot);
    memset((char *)self + sizeof(self->super), 0, sizeof(*self) - sizeof(self->super));
    self->super.do_send = do_send;
    self->req = req;
    self->ctx = ctx;
    self->gzip = ce != -1;
    self->wide_label = charset == CHARSET_UTF16LE ? 1 : charset == CHARSET_UTF16BE ? 2 : 0;
    self->legacy = content_type_legacy(req, &self->legacy_set);
    self->xml = html >= 2;
    if (self->gzip)
        req->preferred_chunk_size = GUNZIP_CHUNK; /* a gzip bomb decodes to at most ~16 MB at once */
    set_base(self);
    gw_b64url_encode(rnd + 16, 12, self->release, sizeof(self->release));
    self->script_fetch = script_fetch(req);
    if (gw_rt.conf.html.inject_banner && html != 3)
        set_inject(self, html == 2);
    /* an HTML page with the UI (not XHTML: an inline script there must be well-formed XML too), whose own policies, if
     * any, let the UI's scripts in by nonce (an inline script is what an amendment by the banner's URL does not let in) */
    self->consent_mode = (gw_rt.conf.html.google_consent_mode || gw_rt.conf.html.microsoft_consent_mode) && html == 1 &&
                         self->inject.base != NULL && (origin_policies == 0 || origin_csp_lets_in(req, ui_script_nonce(self)));
    req->res.content_length = SIZE_MAX;
    ctx->rewritten = 1;
    mark_page(req);
    link_headers(self);
    speculation_headers(self);

    /* a 200 page with a Content-Length small enough to remember (and no origin nonce: names_origin_nonce): looked up,
     * else recorded (not an error page: a scanner's requests for paths that do not exist would push the site's pages
     * out) */
    if (thread_memo != NULL && req->res.status == 200 && !self->wide_label && content_length != SIZE_MAX &&
        content_length <= gw_memo_max_entry(thread_memo) / 2 && !names_origin_nonce(ctx)) {
        self->generation = gw_snap_generation_load();
        self->key = memo_key(self, html);
        gw_memo_entry_t *e = gw_memo_find(thread_memo, self->generation, self->key.base, self->key.len);
        /* a page that came back different the last MEMO_VOLATILE times (a clock or a token in it) is recorded only every
         * 16th time */
        int record = e == NULL || e->changes < MEMO_VOLATILE || (++e->skips & 15) == 0;
        if (e != NULL && e->part_len[1] == content_length) {
            /* a candidate: compared as the body comes; room to record it is reserved only when it turns out different
             * (reserving it now would evict other pages to make room for every hit) */
            gw_memo_pin(e);
            self->hit = e;
            self->record_on_change = record;
        } else if (record) {
            rec_start(self, content_length);
        }
        if (self->hit != NULL || self->rec != NULL)
            *(rewrite_t **)h2o_mem_alloc_shared(&req->pool, sizeof(rewrite_t *), on_memo_dispose) = self;
        memo_gauges();
        if (self->hit != NULL)
            return;
    }
    start(self);
}

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    (void)ctx, (void)index;
    /* the converters of the legacy encodings, once (iconv_open allocates and locks; iconv_t is one thread's) */
    if (gw_rt.conf.html.rewrite && gw_legacy_thread_init() != 0)
        gw_error("rewrite: glibc's iconv lacks a converter of a legacy encoding: links in pages in it are shimmed as written");
    if (gw_rt.conf.html.rewrite && gw_rt.conf.html.memo_kb != 0 &&
        (thread_memo = gw_memo_new((size_t)gw_rt.conf.html.memo_kb * 1024, MEMO_MAX_ENTRIES)) == NULL)
        gw_error("rewrite: no memory for the remembered pages (html.memo_kb %u): every page is rewritten",
                 (unsigned)gw_rt.conf.html.memo_kb);
}

int gw_rewrite_init(void)
{
    const char *budget = getenv("CG_HOLD_BUDGET_KB");
    if (budget != NULL && atoi(budget) > 0)
        big_budget = (size_t)atoi(budget) * 1024;
    if (gw_legacy_init() != 0)
        gw_error("rewrite: glibc's iconv lacks a converter of a single-byte legacy encoding: links in pages in it are read as U+FFFD beyond ASCII");
    callbacks.emit = emit;
    callbacks.emit_tag = emit_tag;
    callbacks.on_tag = on_tag;
    /* the elements on_tag looks at (the others go out untouched without a call) */
    callbacks.on_tag_ids = 1ull << GW_HTML_TAG_SCRIPT | 1ull << GW_HTML_TAG_IFRAME | 1ull << GW_HTML_TAG_IMG | 1ull << GW_HTML_TAG_LINK |
                           1ull << GW_HTML_TAG_A | 1ull << GW_HTML_TAG_AREA | 1ull << GW_HTML_TAG_FORM | 1ull << GW_HTML_TAG_SOURCE |
                           1ull << GW_HTML_TAG_BASE | 1ull << GW_HTML_TAG_EMBED | 1ull << GW_HTML_TAG_OBJECT |
                           1ull << GW_HTML_TAG_VIDEO | 1ull << GW_HTML_TAG_AUDIO | 1ull << GW_HTML_TAG_TRACK |
                           1ull << GW_HTML_TAG_NOSCRIPT | 1ull << GW_HTML_TAG_IMAGE | 1ull << GW_HTML_TAG_USE |
                           1ull << GW_HTML_TAG_META | 1ull << GW_HTML_TAG_BUTTON | 1ull << GW_HTML_TAG_INPUT |
                           1ull << GW_HTML_TAG_FRAME | 1ull << GW_HTML_TAG_STYLE | 1ull << GW_HTML_TAG_FEIMAGE |
                           1ull << GW_HTML_TAG_SET | 1ull << GW_HTML_TAG_ANIMATE | 1ull << GW_HTML_TAG_TEMPLATE;
    callbacks.on_tag_urls = 1; /* any element: its style and background attributes */
    callbacks.on_held = on_held;
    callbacks.on_overflow = on_overflow;
    callbacks.alloc = on_alloc;
    gw_front_add_request_stage(on_request);
    gw_front_add_response_stage(on_response);
    gw_server_on_thread_init(on_thread_init);
    return 0;
}
