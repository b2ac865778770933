/*
 * front — see front.h. Also turns the proxy's bare "Gateway Error" answers into real
 * pages: 502 when the origin cannot be reached or answers garbage, 504 when it does not
 * answer within proxy.io_timeout_ms.
 */
#include <string.h>
#include "front.h"
#include "jsonw.h"
#include "gunzip.h"
#include "hop.h"
#include "mime.h"
#include "rewrite.h"
#include "ui.h"
#include "log.h"
#include "metrics.h"
#include "server.h"

#define MAX_STAGES 16

typedef struct st_front_prefilter_t {
    h2o_req_prefilter_t super;
    gw_reqctx_t ctx;
    h2o_handler_t *handler; /* this request's front handler: a suspended request is delegated on from it */
    size_t stage;           /* the request stage running, or the one that suspended the request */
    unsigned refetched : 1; /* the whole of a part the origin sent was asked for (refetch_whole) */
    unsigned error_page : 1; /* the origin's failure before its head is answered with the gateway's page, and logged */
} front_prefilter_t;

typedef struct st_error_page_t {
    h2o_ostream_t super;
    h2o_iovec_t page;
} error_page_t;

static gw_request_stage_cb request_stages[MAX_STAGES];
static size_t num_request_stages;
static gw_response_stage_cb response_stages[MAX_STAGES];
static size_t num_response_stages;
static h2o_url_t upstream;
static front_prefilter_t *front_of(h2o_req_t *req);
static h2o_proxy_config_vars_t proxy_vars;

void gw_front_add_request_stage(gw_request_stage_cb cb)
{
    if (num_request_stages < MAX_STAGES)
        request_stages[num_request_stages++] = cb;
}

void gw_front_add_response_stage(gw_response_stage_cb cb)
{
    if (num_response_stages < MAX_STAGES)
        response_stages[num_response_stages++] = cb;
}

/* --- status pages ---------------------------------------------------------------------- */

static size_t html_escape(char *dst, const char *src)
{
    size_t n = 0;
    for (; *src != '\0'; ++src) {
        const char *rep = NULL;
        switch (*src) {
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '&': rep = "&amp;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        }
        if (rep != NULL) {
            size_t l = strlen(rep);
            memcpy(dst + n, rep, l);
            n += l;
        } else {
            dst[n++] = *src;
        }
    }
    return n;
}

static h2o_iovec_t build_page_lang(h2o_mem_pool_t *pool, const char *lang, int status, const char *title, const char *message)
{
    static const char head0[] = "<!DOCTYPE html>\n<html lang=\"";
    static const char head[] = "\"><head><meta charset=\"utf-8\">"
                               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>";
    static const char mid[] = "</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;"
                              "padding:0 1em;color:#1a1a1a}h1{font-size:1.4em}@media(prefers-color-scheme:dark){body{"
                              "background:#111;color:#eee}}</style></head><body><main><h1>";
    static const char tail[] = "</p></main></body></html>\n"; /* (in <main>: a screen reader's landmarks find it) */
    size_t tl = strlen(title), ml = strlen(message), ll = strlen(lang);
    char *buf = h2o_mem_alloc_pool(pool, sizeof(head0) + sizeof(head) + sizeof(mid) + sizeof(tail) + 6 * (2 * tl + ml + ll) + 64);
    size_t n = 0;
    memcpy(buf, head0, sizeof(head0) - 1), n += sizeof(head0) - 1;
    n += html_escape(buf + n, lang);
    memcpy(buf + n, head, sizeof(head) - 1), n += sizeof(head) - 1;
    n += (size_t)sprintf(buf + n, "%d ", status);
    n += html_escape(buf + n, title);
    memcpy(buf + n, mid, sizeof(mid) - 1), n += sizeof(mid) - 1;
    n += html_escape(buf + n, title);
    memcpy(buf + n, "</h1><p>", 8), n += 8;
    n += html_escape(buf + n, message);
    memcpy(buf + n, tail, sizeof(tail) - 1), n += sizeof(tail) - 1;
    return h2o_iovec_init(buf, n);
}

static h2o_iovec_t build_page(h2o_mem_pool_t *pool, int status, const char *title, const char *message)
{
    return build_page_lang(pool, "en", status, title, message);
}

/* body (from req's pool) as the whole answer, of type ctype, not to be stored */
static void send_body(h2o_req_t *req, int status, const char *reason, h2o_iovec_t ctype, h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, ctype.base, ctype.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body.base, body.len);
}

void gw_send_page(h2o_req_t *req, int status, const char *reason, const char *title, const char *message)
{
    send_body(req, status, reason, h2o_iovec_init(H2O_STRLIT("text/html; charset=utf-8")),
              build_page(&req->pool, status, title, message));
}

/* The words of the gateway's page `key` (the UI's strings key.title and key.text) in the visitor's language, and that
 * language; the English given (*title, *text) when the UI's strings are not loaded or lack the key. A 431's language
 * is its Accept-Language alone: its fields are not read through for the cg_lang cookie (100,000 Cookie fields of 4 KB
 * in an HTTP/2 header block of 300 KB, which the 431 is there to leave unread). */
static const char *page_words(h2o_req_t *req, int status, const char *key, const char **title, const char **text)
{
    const char *(*lookup)(h2o_req_t *, const char *, const char **) = status == 431 ? gw_ui_text_accepted : gw_ui_text;
    char k[64];
    const char *lang = "en", *t, *x;
    snprintf(k, sizeof(k), "%s.title", key);
    t = lookup(req, k, &lang);
    snprintf(k, sizeof(k), "%s.text", key);
    x = lookup(req, k, NULL);
    if (t == NULL || x == NULL)
        return "en";
    *title = t, *text = x;
    return lang;
}

/* its words are the visitor's language, as the consent pages' are (a cache that keeps it despite no-store must not hand
 * a Chinese page to the next visitor) */
static void add_language_headers(h2o_req_t *req, const char *lang)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_LANGUAGE, NULL, lang, strlen(lang));
    gw_res_vary(req, H2O_STRLIT("accept-language"));
}

void gw_send_page_lang(h2o_req_t *req, int status, const char *reason, const char *key, const char *title, const char *text)
{
    const char *lang = page_words(req, status, key, &title, &text);
    add_language_headers(req, lang);
    send_body(req, status, reason, h2o_iovec_init(H2O_STRLIT("text/html; charset=utf-8")),
              build_page_lang(&req->pool, lang, status, title, text));
}

void gw_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body)
{
    send_body(req, status, reason, h2o_iovec_init(H2O_STRLIT("application/json; charset=utf-8")), body);
}

void gw_send_json_error(h2o_req_t *req, int status, const char *reason, const char *error, const char *detail)
{
    gw_send_json(req, status, reason, gw_jsonw_error(&req->pool, error, detail));
}

static void error_page_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    error_page_t *self = (void *)_self;
    /* the proxy's plain-text body is replaced by our page, sent once with the final state */
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(&self->super, req, NULL, 0, state);
        return;
    }
    /* (a HEAD's answer is its headers: h2o 2.2.5's HTTP/1 writer sends whatever it is given) */
    int body = state == H2O_SEND_STATE_FINAL && !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
    h2o_ostream_send_next(&self->super, req, &self->page, body ? 1 : 0, state);
}

/*
 * The error log's line for an origin that failed, in place of h2o's ("[lib/core/proxy.c] in request:/path?query:connection
 * failed": the query is the visitor's, which the access log leaves out, and nothing named the origin or what to do). At
 * most one a second per worker thread: an origin that is down fails every request.
 */
static void log_upstream_error(h2o_req_t *req, int status, h2o_iovec_t why)
{
    static __thread gw_log_throttle_t throttle;
    char more[64];
    if (!gw_log_throttle(&throttle, h2o_now(req->conn->ctx->loop), more, sizeof(more)))
        return;
    const char *hint = status == 504                                            ? " (slower than proxy.io_timeout_ms)"
                       : h2o_memis(why.base, why.len, H2O_STRLIT("connection failed")) ? " (is the origin running and listening there?)"
                                                                                       : ""; /* (a resolver's words say it) */
    gw_error("upstream %s: %.*s, answered %d%s%s", gw_rt.conf.upstream, (int)why.len, why.base, status, hint, more);
}

/*
 * An answer the origin broke off after its head (its connection closed or silent mid-body, gzip that does not decode):
 * the client gets it cut short (a broken chunk, a reset stream), and the reason the proxy or the rewriter gave
 * (h2o_req_log_error, which writes nothing with emit_request_errors off) is logged as log_upstream_error logs a failure
 * before the head: an operator otherwise learnt of such pages from visitors only.
 */
static void log_broken_answer(h2o_logger_t *self, h2o_req_t *req)
{
    static __thread gw_log_throttle_t throttle;
    front_prefilter_t *pf;
    char more[64];
    if (req->error_logs.size == 0 || (pf = front_of(req)) == NULL || pf->error_page)
        return;
    GW_COUNT(upstream_broken);
    if (!gw_log_throttle(&throttle, h2o_now(req->conn->ctx->loop), more, sizeof(more)))
        return;
    h2o_iovec_t why = req->error_logs.entries[req->error_logs.size - 1].msg;
    gw_error("upstream %s: a %d answer ended cut short after its head: %.*s%s", gw_rt.conf.upstream, req->res.status,
             (int)why.len, why.base, more);
}

/* The answer's head and body replaced by the gateway's page `key` in the visitor's language (title and text, English,
 * when the UI's strings are not loaded); a body that may still come goes nowhere. */
static void replace_with_page(h2o_req_t *req, h2o_ostream_t **slot, int status, const char *reason, const char *key,
                              const char *title, const char *text)
{
    const char *lang = page_words(req, status, key, &title, &text);
    h2o_iovec_t page = build_page_lang(&req->pool, lang, status, title, text);
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = page.len;
    memset(&req->res.headers, 0, sizeof(req->res.headers));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    add_language_headers(req, lang);
    error_page_t *self = (void *)h2o_add_ostream(req, sizeof(*self), slot);
    self->super.do_send = error_page_send;
    self->page = page;
}

/* The answer replaced by the gateway's 502 page (504 with timeout) */
static void setup_error_page(h2o_req_t *req, h2o_ostream_t **slot, int timeout)
{
    if (timeout)
        replace_with_page(req, slot, 504, "Gateway Timeout", "gateway.504", "Gateway Timeout",
                          "The website did not answer in time. Please try again in a moment.");
    else
        replace_with_page(req, slot, 502, "Bad Gateway", "gateway.502", "Bad Gateway",
                          "The website behind this gateway cannot be reached right now. Please try again in a moment.");
}

/* h2o's own 413 (a request body over proxy.max_request_body, refused before any handler ran: text/plain "request entity
 * is too large") as the gateway's page in the visitor's language */
static void on_setup_fallback_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (req->res.status == 413)
        replace_with_page(req, slot, 413, req->res.reason, "gateway.413", "Request Entity Too Large",
                          "What this request sends is larger than this site accepts.");
    h2o_setup_next_ostream(req, slot);
}

void gw_front_register_fallback(h2o_pathconf_t *pc)
{
    h2o_filter_t *f = h2o_create_filter(pc, sizeof(*f));
    f->on_setup_ostream = on_setup_fallback_ostream;
}

/* the proxy reports upstream failures as 502 "Gateway Error", the reason in the request's error logs */
static void setup_upstream_error_page(h2o_req_t *req, h2o_ostream_t **slot)
{
    int timeout = 0;
    for (size_t i = 0; i != req->error_logs.size; ++i) {
        h2o_iovec_t m = req->error_logs.entries[i].msg;
        if (h2o_strstr(m.base, m.len, H2O_STRLIT("timeout")) != SIZE_MAX)
            timeout = 1;
    }
    GW_COUNT(upstream_errors);
    if (timeout)
        GW_COUNT(upstream_timeouts);
    log_upstream_error(req, timeout ? 504 : 502, req->error_logs.entries[req->error_logs.size - 1].msg);
    setup_error_page(req, slot, timeout);
}

/* --- a part of what the response stages read ----------------------------------------- */

/* a call on the request's thread a zero timeout later (never after the request is gone) */
typedef struct st_deferred_t {
    h2o_timeout_entry_t timeout;
    h2o_req_t *req;
} deferred_t;

static void on_deferred_dispose(void *p)
{
    deferred_t *d = p;
    if (h2o_timeout_is_linked(&d->timeout))
        h2o_timeout_unlink(&d->timeout);
}

static void defer(h2o_req_t *req, h2o_timeout_cb cb)
{
    deferred_t *d = h2o_mem_alloc_shared(&req->pool, sizeof(*d), on_deferred_dispose);
    memset(d, 0, sizeof(*d));
    d->timeout.cb = cb;
    d->req = req;
    h2o_timeout_link(req->conn->ctx->loop, &req->conn->ctx->zero_timeout, &d->timeout);
}

/*
 * A Range request for a page, a style sheet or a rule set: the origin's 206 is a part of it, which cannot be read as
 * the browser reads the whole (a part may begin inside a tag or a script) and would reach the visitor as the origin
 * wrote it: its trackers running, no CSP. So the origin is asked again for the whole, without Range and If-Range (a
 * server may ignore a Range, RFC 9110 14.2), and the visitor gets a 200 read as any page is. Media and downloads keep
 * their ranges. h2o 2.2.5 has no call that restarts the proxy for a request: what h2o_reprocess_request does before
 * it runs the handlers again (end the origin's answer and the filters set up for it, forget the response) is done
 * here, a zero timeout later as it does, and the request goes on from the front handler to the proxy: the request
 * stages ran once and do not run again.
 */
static void on_refetch(h2o_timeout_entry_t *entry)
{
    h2o_req_t *req = H2O_STRUCT_FROM_MEMBER(deferred_t, timeout, entry)->req;
    if (req->_generator != NULL) {
        if (req->_generator->stop != NULL)
            req->_generator->stop(req->_generator, req);
        req->_generator = NULL;
    }
    for (; req->_ostr_top->next != NULL; req->_ostr_top = req->_ostr_top->next)
        if (req->_ostr_top->stop != NULL)
            req->_ostr_top->stop(req->_ostr_top, req);
    req->res = (h2o_res_t){0, NULL, SIZE_MAX};
    req->res.reason = "OK";
    req->_next_filter_index = 0;
    req->bytes_sent = 0;
    /* (the request's own path is back since on_setup_ostream: the proxy puts the upstream's path before it again) */
    h2o_delegate_request(req, front_of(req)->handler);
}

static void swallow(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    (void)self, (void)req, (void)bufs, (void)bufcnt, (void)state; /* the part goes nowhere: on_refetch ends it */
}

static void refetch_whole(h2o_req_t *req, h2o_ostream_t **slot)
{
    static const h2o_token_t *const conditions[] = {H2O_TOKEN_RANGE, H2O_TOKEN_IF_RANGE};
    for (size_t k = 0; k != sizeof(conditions) / sizeof(conditions[0]); ++k)
        for (ssize_t i; (i = h2o_find_header(&req->headers, conditions[k], -1)) != -1;)
            h2o_delete_header(&req->headers, i);
    defer(req, on_refetch);
    h2o_add_ostream(req, sizeof(h2o_ostream_t), slot)->do_send = swallow;
}

/* --- caching of an answer that is the visitor's ------------------------------------------- */

/*
 * The origin's Cache-Control made this visitor's: "private", without "public" and "s-maxage" (RFC 9111 5.2.2.7: a
 * shared cache stores none of it). Vary: cookie keeps the visitors apart only in a cache that honours it, and some
 * shared ones (CDNs, corporate proxies) do not: one visitor's page — their id and choice in it, the trackers their
 * consent released — would go to the next. A browser's own cache still keeps the page as the origin said. "no-store"
 * stays as it is. Several Cache-Control fields become one; a quoted value ("no-cache=\"a, b\"") is kept whole.
 */
void gw_res_make_private(h2o_req_t *req)
{
    h2o_iovec_t kept[32] = {{NULL, 0}};
    size_t num_kept = 0, len = 0;
    int private_ = 0, full = 0;
    ssize_t i;
    for (i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL, i)) != -1;) {
        const char *p = req->res.headers.entries[i].value.base, *end = p + req->res.headers.entries[i].value.len;
        while (p != end) {
            const char *d = p;
            int quoted = 0;
            for (; p != end && (quoted || *p != ','); ++p)
                quoted ^= *p == '"';
            h2o_iovec_t dir = h2o_str_stripws(d, (size_t)(p - d));
            if (p != end)
                ++p; /* the comma */
            size_t nl = 0;
            while (nl != dir.len && dir.base[nl] != '=')
                ++nl;
            if (dir.len == 0 || h2o_lcstris(dir.base, nl, H2O_STRLIT("public")) || h2o_lcstris(dir.base, nl, H2O_STRLIT("s-maxage")))
                continue;
            /* (private="Set-Cookie" makes only those fields private: a shared cache may store the rest) */
            private_ |= (nl == dir.len && h2o_lcstris(dir.base, nl, H2O_STRLIT("private"))) ||
                        h2o_lcstris(dir.base, nl, H2O_STRLIT("no-store"));
            if (num_kept == sizeof(kept) / sizeof(kept[0]))
                full = 1;
            else
                kept[num_kept++] = dir, len += dir.len + 2;
        }
    }
    if (full) { /* (more directives than any origin writes: not stored at all) */
        kept[0] = h2o_iovec_init(H2O_STRLIT("no-store"));
        num_kept = 1, len = 10, private_ = 1;
    }
    while ((i = h2o_find_header(&req->res.headers, H2O_TOKEN_CACHE_CONTROL, -1)) != -1)
        h2o_delete_header(&req->res.headers, i);
    char *v = h2o_mem_alloc_pool(&req->pool, len + sizeof("private")), *w = v;
    for (size_t k = 0; k != num_kept; ++k) {
        if (w != v)
            *w++ = ',', *w++ = ' ';
        memcpy(w, kept[k].base, kept[k].len);
        w += kept[k].len;
    }
    if (!private_) {
        if (w != v)
            *w++ = ',', *w++ = ' ';
        memcpy(w, "private", 7);
        w += 7;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, v, (size_t)(w - v));
}

void gw_res_vary(h2o_req_t *req, const char *name, size_t len)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_VARY, i)) != -1;)
        if (h2o_contains_token(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len, H2O_STRLIT("*"), ','))
            return; /* varies on everything already */
    h2o_set_header_token(&req->pool, &req->res.headers, H2O_TOKEN_VARY, name, len);
}

int gw_res_type_unknown(h2o_req_t *req)
{
    gw_mime_t m;
    gw_mime_extract_init(&m);
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, i)) != -1;)
        gw_mime_extract_add(&m, req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len);
    return gw_mime_sniffs(&m);
}

void gw_res_make_personal(h2o_req_t *req)
{
    gw_res_make_private(req);
    gw_res_vary(req, H2O_STRLIT("cookie"));
}

/* --- the front handler and its prefilter ------------------------------------------------ */

/*
 * Several Content-Type values (two fields, or "text/plain, text/html" in one): the one a browser uses, as the Fetch
 * standard's "extract a MIME type" picks it (Chromium reads it so): the last valid type, with the charset of the last
 * item of its run that names one. The response then goes on with that one value, and is read as the browser reads it:
 * taking the first made a "text/plain" + "text/html" page pass unread while the browser ran its trackers. A single
 * value without a comma stays as it came (nothing to choose).
 */
static void settle_content_type(h2o_req_t *req)
{
    h2o_headers_t *h = &req->res.headers;
    ssize_t first = h2o_find_header(h, H2O_TOKEN_CONTENT_TYPE, -1);
    if (first == -1 || (h2o_find_header(h, H2O_TOKEN_CONTENT_TYPE, first) == -1 &&
                        memchr(h->entries[first].value.base, ',', h->entries[first].value.len) == NULL))
        return;
    gw_mime_t m;
    gw_mime_extract_init(&m);
    for (ssize_t i = -1; (i = h2o_find_header(h, H2O_TOKEN_CONTENT_TYPE, i)) != -1;)
        gw_mime_extract_add(&m, h->entries[i].value.base, h->entries[i].value.len);
    if (m.essence == NULL)
        return; /* no valid one: as it came */
    for (size_t k = 0; k != m.charset_len; ++k)
        if (!gw_mime_is_tchar((unsigned char)m.charset[k])) {
            m.charset = NULL, m.charset_len = 0; /* (no encoding's label: a browser ignores it too) */
            break;
        }
    char *v = h2o_mem_alloc_pool(&req->pool, m.essence_len + m.charset_len + 10);
    size_t len = m.essence_len;
    for (size_t k = 0; k != m.essence_len; ++k)
        v[k] = h2o_tolower(m.essence[k]);
    if (m.charset != NULL) {
        memcpy(v + len, "; charset=", 10);
        memcpy(v + len + 10, m.charset, m.charset_len);
        len += 10 + m.charset_len;
    }
    for (ssize_t i; (i = h2o_find_header(h, H2O_TOKEN_CONTENT_TYPE, -1)) != -1;)
        h2o_delete_header(h, i);
    h2o_add_header(&req->pool, h, H2O_TOKEN_CONTENT_TYPE, NULL, v, len);
}

/*
 * The origin's response headers as a proxy must pass them on: a folded line (obs-fold, RFC 9112 5.2: picohttpparser
 * gives it as a header without a name) goes — a nameless field breaks HTTP/2 and went out over HTTP/1 as ": b", past
 * the cookie filter for a Set-Cookie's; it cannot be joined to its own field, which h2o may have dropped already
 * (Connection, Server, …: the fold would land on the field before, a Location or a Set-Cookie) —; connection-specific
 * fields go (RFC 9110 7.6.1, RFC 9113 8.2.2: an HTTP/2 client resets the stream on them; hop.h's list: h2o 2.2.5's
 * proxy passed on TE, Trailer, Proxy-Authenticate and Proxy-Authorization; those the origin's Connection field names
 * went already, upstream_head.c); a 204 or 304 carries no Content-Length (RFC 9110 8.6).
 */
static void tidy_origin_headers(h2o_req_t *req)
{
    settle_content_type(req);
    h2o_headers_t *h = &req->res.headers;
    for (size_t i = 0; i < h->size;) {
        h2o_header_t *e = h->entries + i;
        if (e->name->len == 0 || gw_hop_fixed(e->name->base, e->name->len)) {
            h2o_delete_header(h, (ssize_t)i);
            continue;
        }
        ++i;
    }
    if (req->res.status == 204 || req->res.status == 304)
        req->res.content_length = SIZE_MAX;
}

/* --- a body of unknown length in an HTTP/1.1 answer other than 200 --------------------------- */

/*
 * h2o 2.2.5's chunked encoder takes only a 200 ("we cannot handle certain responses (like 101)"): any other status of
 * unknown length — every page the rewriter read (its length changes: a 404, a 500), an origin's chunked 404 — went out
 * delimited by the connection's close. A body the origin cut short (H2O_SEND_STATE_ERROR) then reached the client as a
 * whole page, which a browser shows and a cache may store, and each such answer cost the connection. They are chunked
 * here, as h2o does from 2.3 on: a body cut short ends in a broken chunk, and the connection is kept.
 */
typedef struct st_chunked_t {
    h2o_ostream_t super;
    char size[sizeof("ffffffffffffffff\r\n")];
} chunked_t;

static int wants_chunks(h2o_req_t *req)
{
    int status = req->res.status;
    return req->version == 0x101 && req->res.content_length == SIZE_MAX && status > 200 && status != 204 &&
           status != 205 && status != 304 && !h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")) &&
           h2o_find_header(&req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, -1) == -1;
}

/* bufs as one chunk (as h2o's chunked encoder writes them); an error leaves a chunk open */
static void chunked_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    chunked_t *self = (void *)_self;
    h2o_iovec_t fixed[8], *out = bufcnt + 3 <= 8 ? fixed : h2o_mem_alloc_pool(&req->pool, (bufcnt + 3) * sizeof(*out));
    size_t len = 0, n = 0;
    for (size_t i = 0; i != bufcnt; ++i)
        len += bufs[i].len;
    req->bytes_sent += len; /* (the body's bytes, not the framing: bytes_counted_by_ostream) */
    if (len != 0) {
        out[n++] = h2o_iovec_init(self->size, (size_t)sprintf(self->size, "%zx\r\n", len));
        memcpy(out + n, bufs, bufcnt * sizeof(*bufs));
        n += bufcnt;
        if (state != H2O_SEND_STATE_ERROR)
            out[n++] = state == H2O_SEND_STATE_FINAL ? h2o_iovec_init(H2O_STRLIT("\r\n0\r\n\r\n")) : h2o_iovec_init(H2O_STRLIT("\r\n"));
    } else if (state == H2O_SEND_STATE_FINAL) {
        out[n++] = h2o_iovec_init(H2O_STRLIT("0\r\n\r\n"));
    }
    if (state == H2O_SEND_STATE_ERROR)
        out[n++] = h2o_iovec_init(H2O_STRLIT("\r\n1\r\n"));
    h2o_ostream_send_next(&self->super, req, out, n, state);
}

/*
 * After the gateway's own ostreams: the path's filters, the first of them edge.c's with the watch of what the client
 * takes (sendwatch.c), then h2o's. The watch goes after the gateway's ostreams, for an ostream that ends an answer early
 * (the rewriter on gzip it cannot read) must be the first of the chain (h2o_ostream_send_next); an ostream above it that
 * keeps a send to itself also proceeds by itself.
 */
static void setup_next(front_prefilter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    h2o_setup_next_prefilter(&self->super, req, slot);
}

/* the response stages, then h2o's filters, from slot on */
static void setup_stages(front_prefilter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    for (size_t i = 0; i != num_response_stages; ++i) {
        h2o_ostream_t *before = *slot;
        response_stages[i](req, &self->ctx, slot);
        if (*slot != before)
            slot = &(*slot)->next; /* the stage added an ostream: the next ones go after it */
    }
    if (!wants_chunks(req)) {
        setup_next(self, req, slot);
        return;
    }
    chunked_t *chunked = (void *)h2o_add_ostream(req, sizeof(*chunked), slot);
    chunked->super.do_send = chunked_send;
    req->bytes_counted_by_ostream = 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_TRANSFER_ENCODING, NULL, H2O_STRLIT("chunked"));
    unsigned persistent = req->http1_is_persistent;
    setup_next(self, req, &chunked->super.next);
    req->http1_is_persistent = persistent; /* (h2o's chunked filter, which leaves this status alone, gave it up) */
}

/* --- a body whose type the browser sniffs ---------------------------------------------- */

/*
 * A response with no valid Content-Type (or "unknown/unknown") and no "X-Content-Type-Options: nosniff": the browser
 * takes it for HTML when its first bytes look so (gw_mime_sniff_html), and runs its scripts; passed as it came, its
 * trackers ran unread. The gateway decides on the same bytes before the response stages are set up: the first bytes
 * are held (decoded when gzip) until they decide, and a body taken for HTML says text/html and goes through the stages
 * as any page does; anything else goes on as it came. Nothing reaches the client before (the headers go with the first
 * bytes). A body in a coding the gateway cannot decode (br, …: not asked for, see rewrite.c) goes on unread.
 */
#define SNIFF_HOLD_MAX 16384 /* raw bytes held at most (gzip that decodes slowly): then it is not taken for HTML */

typedef struct st_sniff_t {
    h2o_ostream_t super;
    front_prefilter_t *front;
    gw_gunzip_t *gunzip; /* gzip: the first bytes are read decoded */
    char *held;          /* the body's bytes so far, as they came (SNIFF_HOLD_MAX), and the first of them decoded */
    size_t held_len;
    char first[GW_MIME_SNIFF_MAX];
    size_t first_len;
    unsigned decided : 1;
} sniff_t;

static int sniff_wanted(h2o_req_t *req)
{
    int status = req->res.status;
    if (!gw_rt.conf.html.rewrite || status == 204 || status == 205 || status == 206 || status == 304 ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))
        return 0;
    if (!gw_res_type_unknown(req)) /* (the common case: a type) */
        return 0;
    for (size_t i = 0; i != req->res.headers.size; ++i) {
        const h2o_header_t *h = req->res.headers.entries + i;
        if (h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("x-content-type-options")) &&
            h2o_contains_token(h->value.base, h->value.len, H2O_STRLIT("nosniff"), ','))
            return 0;
    }
    return 1;
}

static void on_sniff_proceed(h2o_timeout_entry_t *entry)
{
    h2o_proceed_response(H2O_STRUCT_FROM_MEMBER(deferred_t, timeout, entry)->req);
}

static void sniff_first(sniff_t *self, const char *p, size_t n)
{
    n = n < sizeof(self->first) - self->first_len ? n : sizeof(self->first) - self->first_len;
    memcpy(self->first + self->first_len, p, n);
    self->first_len += n;
}

static void sniff_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    sniff_t *self = (void *)_self;
    if (self->decided) {
        h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
        return;
    }
    int complete = !h2o_send_state_is_in_progress(state);
    size_t in = 0;
    for (size_t i = 0; i != bufcnt; ++i)
        in += bufs[i].len;
    if (self->gunzip != NULL) {
        h2o_iovec_t *out;
        size_t outcnt;
        if (gw_gunzip_step(self->gunzip, bufs, bufcnt, complete, &out, &outcnt) != 0)
            complete = 1; /* not gzip after all, or broken: the browser shows no page from it */
        for (size_t i = 0; i != outcnt; ++i)
            sniff_first(self, out[i].base, out[i].len);
    } else {
        for (size_t i = 0; i != bufcnt; ++i)
            sniff_first(self, bufs[i].base, bufs[i].len);
    }
    int html = gw_mime_sniff_html(self->first, self->first_len, complete);
    if (html == -1 && in <= SNIFF_HOLD_MAX - self->held_len) { /* held, and the next bytes asked for */
        if (self->held == NULL)
            self->held = h2o_mem_alloc_pool(&req->pool, SNIFF_HOLD_MAX);
        for (size_t i = 0; i != bufcnt; ++i) {
            memcpy(self->held + self->held_len, bufs[i].base, bufs[i].len);
            self->held_len += bufs[i].len;
        }
        defer(req, on_sniff_proceed);
        return;
    }
    self->decided = 1;
    if (html == 1) {
        ssize_t i;
        while ((i = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) != -1)
            h2o_delete_header(&req->res.headers, i);
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html"));
        GW_COUNT(html_sniffed);
    }
    setup_stages(self->front, req, &self->super.next);
    if (self->held_len != 0) { /* what was held goes first */
        h2o_iovec_t *all = h2o_mem_alloc_pool(&req->pool, (bufcnt + 1) * sizeof(*all));
        all[0] = h2o_iovec_init(self->held, self->held_len);
        memcpy(all + 1, bufs, bufcnt * sizeof(*all));
        bufs = all, ++bufcnt;
    }
    h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
}

static void setup_sniff(front_prefilter_t *front, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t ce;
    int coding = gw_rewrite_body_coding(req, &ce);
    if (coding == 0) {
        setup_stages(front, req, slot);
        return;
    }
    sniff_t *self = (void *)h2o_add_ostream(req, sizeof(*self), slot);
    self->super.do_send = sniff_send;
    self->front = front;
    self->gunzip = coding == 1 ? gw_gunzip_open(&req->pool) : NULL;
    self->held = NULL;
    self->held_len = self->first_len = 0;
    self->decided = 0;
}

static void on_setup_ostream(h2o_req_prefilter_t *_self, h2o_req_t *req, h2o_ostream_t **slot)
{
    front_prefilter_t *self = (void *)_self;

    tidy_origin_headers(req);
    /* the path the visitor asked for again: the proxy's handler put the upstream URL's path before it
     * (h2o_build_destination), and what the response stages read resolves against the page's URL as the browser has it
     * (a relative URL in a page under "upstream": "http://host/app" was checked as /app/…, not as what the browser loads) */
    if (!h2o_memis(req->path.base, req->path.len, req->input.path.base, req->input.path.len)) {
        req->path = req->input.path;
        req->path_normalized = h2o_url_normalize_path(&req->pool, req->path.base, req->path.len, &req->query_at, &req->norm_indexes);
    }

    if (req->res.status == 206 && gw_rewrite_reads_body(req)) {
        if (!self->refetched && (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
                                 h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD")))) {
            self->refetched = 1;
            refetch_whole(req, slot);
            return;
        }
        /* a part again, asked for the whole (or for a method whose body is gone): nothing the visitor can be given */
        GW_COUNT_WARN_FIRST(upstream_errors,
                            "upstream answered %.*s %.*s with a part (206) of what the gateway must read whole: 502 (further "
                            "cases are counted in cg_upstream_errors_total)",
                            (int)req->method.len, req->method.base, (int)req->path_normalized.len, req->path_normalized.base);
        setup_error_page(req, slot, 0);
        setup_next(self, req, &(*slot)->next);
    } else if (req->res.status == 502 && req->res.reason != NULL && strcmp(req->res.reason, "Gateway Error") == 0 &&
               req->error_logs.size != 0) {
        self->error_page = 1;
        setup_upstream_error_page(req, slot);
        setup_next(self, req, &(*slot)->next);
    } else if (sniff_wanted(req)) {
        setup_sniff(self, req, slot); /* the stages are set up when the first bytes have decided */
    } else {
        setup_stages(self, req, slot);
    }
}

h2o_iovec_t gw_req_host(h2o_req_t *req)
{
    h2o_iovec_t a = req->authority;
    if (a.len != 0 && a.base[0] == '[') {
        const char *rb = memchr(a.base, ']', a.len);
        return rb != NULL ? h2o_iovec_init(a.base, (size_t)(rb - a.base) + 1) : a;
    }
    const char *colon = memchr(a.base, ':', a.len);
    return colon != NULL ? h2o_iovec_init(a.base, (size_t)(colon - a.base)) : a;
}

/* value of query parameter `name` (raw, not decoded), or base NULL */
h2o_iovec_t gw_req_query_param(h2o_req_t *req, const char *name)
{
    if (req->query_at == SIZE_MAX)
        return h2o_iovec_init(NULL, 0);
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nl = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *fe = amp != NULL ? amp : end;
        if ((size_t)(fe - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
            return h2o_iovec_init(p + nl + 1, (size_t)(fe - p - nl - 1));
        p = fe + (amp != NULL);
    }
    return h2o_iovec_init(NULL, 0);
}

static front_prefilter_t *front_of(h2o_req_t *req)
{
    for (h2o_req_prefilter_t *p = req->prefilters; p != NULL; p = p->next)
        if (p->on_setup_ostream == on_setup_ostream)
            return (front_prefilter_t *)p;
    return NULL;
}

/*
 * Whether the request line the proxy writes for req is one: a method of token characters and a target without blanks
 * or control characters. HTTP/1 cannot carry others, but h2o 2.2.5 takes an HTTP/2 :path or :method with spaces in it
 * (it refuses only CR, LF and NUL) and the proxy wrote "GET /a b HTTP/1.1", which origins read in different ways.
 */
static int request_line_ok(h2o_req_t *req)
{
    for (size_t i = 0; i != req->method.len; ++i)
        if (!gw_mime_is_tchar((unsigned char)req->method.base[i]))
            return 0;
    for (size_t i = 0; i != req->path.len; ++i)
        if ((unsigned char)req->path.base[i] <= 0x20 || req->path.base[i] == 0x7f)
            return 0;
    return req->method.len != 0;
}

/* 1 in named[i] when a Connection field of h names its field i (one of its connection options), from req's pool: each
 * Connection field is read once (hop.h's gw_hop_mark) */
static uint8_t *named_by_connection(h2o_req_t *req, const h2o_headers_t *h)
{
    gw_hop_name_t *names = h2o_mem_alloc_pool(&req->pool, h->size * sizeof(*names));
    uint8_t *named = h2o_mem_alloc_pool(&req->pool, h->size);
    for (size_t i = 0; i != h->size; ++i)
        names[i] = (gw_hop_name_t){h->entries[i].name->base, h->entries[i].name->len, i, 0};
    gw_hop_sort(names, h->size);
    for (ssize_t i = -1; (i = h2o_find_header(h, H2O_TOKEN_CONNECTION, i)) != -1;)
        gw_hop_mark(h->entries[i].value.base, h->entries[i].value.len, names, h->size);
    for (size_t i = 0; i != h->size; ++i)
        named[names[i].index] = (uint8_t)names[i].named;
    return named;
}

/*
 * The client's hop-by-hop fields (RFC 9110 7.6.1) are the gateway's, not the origin's: those its Connection fields name
 * ("Connection: x-bar" and X-Bar: h2o 2.2.5's proxy passed X-Bar on), and Keep-Alive, Proxy-Connection, Trailer, TE and
 * Proxy-Authorization (h2o 2.2.5 passed on Trailer, and Proxy-Connection, which it takes over HTTP/2 although RFC 9113
 * 8.2.2 calls such a request malformed: "Proxy-Connection: close" reached the origin). Gone before the request stages
 * read the request, as if the client had not sent them: what the stages add for the origin (Consent-Categories, the
 * Cookie they filtered) is the gateway's own, never named by the client. The Connection field stays for h2o, whose
 * proxy writes its own.
 */
static void tidy_request_headers(h2o_req_t *req)
{
    h2o_headers_t *h = &req->headers;
    const uint8_t *named = h2o_find_header(h, H2O_TOKEN_CONNECTION, -1) != -1 ? named_by_connection(req, h) : NULL;
    size_t kept = 0;
    for (size_t i = 0; i != h->size; ++i) {
        const h2o_iovec_t *name = h->entries[i].name;
        if (name == &H2O_TOKEN_CONNECTION->buf || !(gw_hop_fixed(name->base, name->len) || (named != NULL && named[i])))
            h->entries[kept++] = h->entries[i];
    }
    h->size = kept;
}

/* the methods the gateway passes on to the origin (CONNECT it does not tunnel, TRACE it does not echo) */
#define PROXIED_METHODS "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"

/*
 * Max-Forwards (RFC 9110 7.6.2): an OPTIONS request with 0 is answered by the gateway as its final recipient, one with
 * more goes on with one less (h2o 2.2.5's proxy passed it on as it came: "Max-Forwards: 0" reached the origin).
 * Returns 1 when it answered. A value that is no number is passed on as it came.
 */
static int max_forwards(h2o_req_t *req)
{
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS")))
        return 0;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_MAX_FORWARDS, -1);
    if (i == -1)
        return 0;
    h2o_iovec_t v = h2o_str_stripws(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
    uint64_t n = 0;
    for (size_t k = 0; k != v.len; ++k) {
        if (v.base[k] < '0' || v.base[k] > '9' || v.len > 18)
            return 0;
        n = n * 10 + (uint64_t)(v.base[k] - '0');
    }
    if (v.len == 0)
        return 0;
    if (n != 0) {
        char *dec = h2o_mem_alloc_pool(&req->pool, 20);
        req->headers.entries[i].value = h2o_iovec_init(dec, (size_t)sprintf(dec, "%llu", (unsigned long long)(n - 1)));
        return 0;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT(PROXIED_METHODS));
    req->res.content_length = 0; /* (RFC 9110 9.3.7) */
    h2o_send_inline(req, "", 0);
    return 1;
}

/* CONNECT (no tunnels) and TRACE: an echo of the request, by the gateway or by the origin, would hand a page's script
 * what the gateway keeps from it (the cookies it forwards, HttpOnly ones too: cross-site tracing), and scanners report
 * an enabled TRACE; nginx refuses it alike. 1 when refused. */
static int refused_method(h2o_req_t *req)
{
    int connect = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("CONNECT"));
    if (!connect && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("TRACE")))
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT(PROXIED_METHODS));
    gw_send_page_lang(req, 405, "Method Not Allowed", connect ? "gateway.405.connect" : "gateway.405.trace", "Method Not Allowed",
                      connect ? "This gateway does not tunnel CONNECT requests." : "This gateway does not answer or pass on TRACE requests.");
    return 1;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    if (gw_server_track_request(req) != 0)
        return 0;
    if (!request_line_ok(req)) {
        gw_send_page_lang(req, 400, "Bad Request", "gateway.400", "Bad Request",
                          "The request's method or path has characters a request line cannot carry (spaces, control characters).");
        return 0;
    }
    if (refused_method(req) || max_forwards(req))
        return 0;
    tidy_request_headers(req);

    front_prefilter_t *pf = (void *)h2o_add_prefilter(req, sizeof(*pf));
    pf->super.on_setup_ostream = on_setup_ostream;
    memset(&pf->ctx, 0, sizeof(pf->ctx));
    pf->ctx.is_tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
    pf->handler = self;
    pf->refetched = 0;
    pf->error_page = 0;

    for (pf->stage = 0; pf->stage != num_request_stages; ++pf->stage)
        if (request_stages[pf->stage](req, &pf->ctx) != GW_STAGE_CONTINUE)
            return 0; /* answered, or suspended until gw_front_resume */
    return -1; /* on to the reverse proxy */
}

void gw_front_resume(h2o_req_t *req)
{
    front_prefilter_t *pf = front_of(req);
    if (pf == NULL)
        return;
    while (++pf->stage < num_request_stages)
        if (request_stages[pf->stage](req, &pf->ctx) != GW_STAGE_CONTINUE)
            return;
    h2o_delegate_request(req, pf->handler);
}

int gw_front_register(h2o_hostconf_t *hostconf)
{
    const gw_config_t *c = &gw_rt.conf;
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/", 0);

    if (h2o_url_parse(c->upstream, SIZE_MAX, &upstream) != 0) {
        gw_error("upstream %s: not a URL", c->upstream);
        return -1;
    }
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
    pc->error_log.emit_request_errors = 0; /* (log_upstream_error and log_broken_answer say it instead) */
    h2o_create_logger(pc, sizeof(h2o_logger_t))->log_access = log_broken_answer;
    memset(&proxy_vars, 0, sizeof(proxy_vars));
    proxy_vars.io_timeout = c->proxy.io_timeout_ms;
    proxy_vars.keepalive_timeout = c->proxy.keepalive_timeout_ms;
    proxy_vars.preserve_host = 1;
    h2o_proxy_register_reverse_proxy(pc, &upstream, &proxy_vars);
    /* compresses what the HTML rewriter produced, for clients that accept gzip; responses that are
     * not rewritten carry H2O_COMPRESS_HINT_DISABLE and pass through as the origin sent them */
    static h2o_compress_args_t compress = {.min_size = 256, .gzip = {.quality = 1}, .brotli = {.quality = -1}};
    h2o_compress_register(pc, &compress);
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);
    return 0;
}
