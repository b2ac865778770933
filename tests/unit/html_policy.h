/*
 * html_policy.h — a fixed demo rewriting policy over filters/html.h, shared by the unit test
 * (tests/unit/test_html.c), the fuzz driver and the microbenchmark. It does what the gateway's
 * response filter will do, with a built-in tracker list instead of the real matcher:
 *
 *   <script src=tracker>      neutralised: src -> data-cg-src, type="text/plain",
 *                             data-cg-category="<category>"
 *   inline <script>           held (GW_HTML_HOLD); when its content loads a tracker
 *                             (googletagmanager.com/gtag/js, connect.facebook.net, …) its
 *                             start tag gets type="text/plain" data-cg-category=…
 *   <iframe src=tracker>      removed with its content, replaced by a comment
 *   <img src=tracker>         src/srcset -> data-cg-src/data-cg-srcset + category
 *   <link href=tracker>       removed, replaced by a comment
 *   <a href=other host>       href -> /__go?u=<percent-encoded URL>&s=<signature>
 *   <a ping>                  ping removed
 *   <noscript>                held; when its content names a tracker host, removed with it and
 *                             replaced by a comment (for browsers that run no scripts)
 * plus, set by policy_attach: the nonce on every script/style and the banner snippet.
 * URLs are decoded with gw_html_decode before the host is compared.
 *
 * Header-only (static functions); include it from one .c file.
 */
#ifndef HTML_POLICY_H
#define HTML_POLICY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"

#define POLICY_NONCE "cg-n0nce"
#define POLICY_SNIPPET                                                                                                             \
    "<link rel=\"stylesheet\" href=\"/__consent/banner.css\"><script src=\"/__consent/banner.js\" nonce=\"" POLICY_NONCE           \
    "\" defer></script><script type=\"application/json\" id=\"cg-state\">{\"decided\":false}</script>"
#define POLICY_SITE "www.northfield-outdoor.example"

typedef struct st_policy_t {
    /* output sink */
    char *out;
    size_t len, cap;
    /* counters */
    unsigned tags, neutralised, removed, wrapped, held, text_bytes;
    /* strings handed to edits live here until the next callback */
    char url[GW_HTML_MAX_TAG];
    char go[3 * GW_HTML_MAX_TAG + 64];
} policy_t;

static const struct {
    const char *host, *category;
} policy_trackers[] = {{"googletagmanager.com", "analytics"},
                       {"google-analytics.com", "analytics"},
                       {"connect.facebook.net", "marketing"},
                       {"facebook.com", "marketing"},
                       {"bat.bing.com", "marketing"},
                       {"px.ads.linkedin.com", "marketing"},
                       {"adnetwork-example.net", "marketing"},
                       {"googlesyndication.com", "marketing"},
                       {"doubleclick.net", "marketing"},
                       {"hotjar-example.com", "analytics"},
                       {NULL, NULL}};

static const struct {
    const char *needle, *category;
} policy_loaders[] = {{"googletagmanager.com/gtag/js", "analytics"},
                      {"google-analytics.com/analytics.js", "analytics"},
                      {"connect.facebook.net", "marketing"},
                      {NULL, NULL}};

static void
policy_emit(void *ctx, const char *p, size_t n)
{
    policy_t *pol = ctx;
    if (pol->len + n > pol->cap) {
        size_t cap = pol->cap ? pol->cap : 4096;
        while (cap < pol->len + n)
            cap *= 2;
        pol->out = realloc(pol->out, cap);
        if (pol->out == NULL)
            abort();
        pol->cap = cap;
    }
    memcpy(pol->out + pol->len, p, n);
    pol->len += n;
}

static int
policy_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i != alen; ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
        if (x != b[i])
            return 0;
    }
    return 1;
}

/* Host of an absolute or scheme-relative URL (no host: relative, first party). */
static int
policy_url_host(const char *u, size_t n, const char **host, size_t *hlen)
{
    size_t i = 0, j;
    while (i < n && (unsigned char)u[i] <= ' ')
        ++i;
    j = i;
    while (j < n && ((u[j] | 32) >= 'a' && (u[j] | 32) <= 'z'))
        ++j;
    if (j < n && u[j] == ':' && j > i)
        i = j + 1;
    if (!(i + 1 < n && (u[i] == '/' || u[i] == '\\') && (u[i + 1] == '/' || u[i + 1] == '\\')))
        return 0;
    i += 2;
    j = i;
    while (j < n && u[j] != '/' && u[j] != '\\' && u[j] != '?' && u[j] != '#')
        ++j;
    for (size_t k = i; k < j; ++k) /* userinfo@ */
        if (u[k] == '@')
            i = k + 1;
    *host = u + i;
    *hlen = j - i;
    for (size_t k = i; k < j; ++k)
        if (u[k] == ':') /* port */
            *hlen = k - i;
    return 1;
}

/* Category of a tracker URL (value still encoded), or NULL. */
static const char *
policy_tracker(policy_t *pol, const gw_html_attr_t *a)
{
    const char *host;
    size_t hlen, n;
    if (a->value == NULL || a->value_len > sizeof(pol->url)) /* longer than a tag without cb.alloc: not a URL here */
        return NULL;
    n = gw_html_decode(a->value, a->value_len, pol->url);
    if (!policy_url_host(pol->url, n, &host, &hlen))
        return NULL;
    for (size_t i = 0; policy_trackers[i].host != NULL; ++i) {
        size_t tl = strlen(policy_trackers[i].host);
        if (hlen < tl || !policy_ieq(host + hlen - tl, tl, policy_trackers[i].host))
            continue;
        if (hlen == tl || host[hlen - tl - 1] == '.')
            return policy_trackers[i].category;
    }
    return NULL;
}

static void
policy_neutralise(policy_t *pol, gw_html_tag_t *tag, const char *category)
{
    gw_html_attr_rename(tag, "src", 3, "data-cg-src", 11);
    if (tag->id == GW_HTML_TAG_SCRIPT)
        gw_html_attr_set(tag, "type", 4, "text/plain", 10);
    if (tag->id == GW_HTML_TAG_IMG && gw_html_attr_find(tag, "srcset", 6, NULL))
        gw_html_attr_rename(tag, "srcset", 6, "data-cg-srcset", 14);
    gw_html_attr_set(tag, "data-cg-category", 16, category, strlen(category));
    ++pol->neutralised;
}

static void
policy_insert_removed(gw_html_tag_t *tag, const char *what, const char *category)
{
    char buf[128];
    int n = snprintf(buf, sizeof(buf), "<!-- consentgate: removed %s (%s) -->", what, category);
    gw_html_tag_insert(tag, buf, (size_t)n);
}

/* /__go?u=<percent-encoded decoded href>&s=<FNV-1a of it, hex> — the signature is a stand-in. */
static void
policy_wrap(policy_t *pol, gw_html_tag_t *tag, const char *url, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    uint64_t sig = 0xcbf29ce484222325ull;
    size_t o = 0;
    memcpy(pol->go, "/__go?u=", 8);
    o = 8;
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)url[i];
        sig = (sig ^ c) * 0x100000001b3ull;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            pol->go[o++] = (char)c;
        } else {
            pol->go[o++] = '%';
            pol->go[o++] = hex[c >> 4];
            pol->go[o++] = hex[c & 15];
        }
    }
    o += (size_t)sprintf(pol->go + o, "&s=%016llx", (unsigned long long)sig);
    gw_html_attr_set(tag, "href", 4, pol->go, o);
    ++pol->wrapped;
}

static int
policy_on_tag(void *ctx, gw_html_tag_t *tag)
{
    policy_t *pol = ctx;
    gw_html_attr_t a;
    const char *cat;

    ++pol->tags;
    switch (tag->id) {
    case GW_HTML_TAG_SCRIPT:
        if (gw_html_attr_find(tag, "src", 3, &a)) {
            if ((cat = policy_tracker(pol, &a)) != NULL)
                policy_neutralise(pol, tag, cat);
            return GW_HTML_KEEP;
        }
        if (gw_html_attr_find(tag, "type", 4, &a) && a.value != NULL && a.value_len != 0 &&
            !policy_ieq(a.value, a.value_len, "text/javascript") && !policy_ieq(a.value, a.value_len, "module"))
            return GW_HTML_KEEP; /* data block (JSON-LD, templates): not run, not held */
        ++pol->held;
        return GW_HTML_HOLD | GW_HTML_TEXT;
    case GW_HTML_TAG_IFRAME:
        if (gw_html_attr_find(tag, "src", 3, &a) && (cat = policy_tracker(pol, &a)) != NULL) {
            policy_insert_removed(tag, "iframe", cat);
            ++pol->removed;
            return GW_HTML_REMOVE;
        }
        return GW_HTML_KEEP;
    case GW_HTML_TAG_IMG:
        if (gw_html_attr_find(tag, "src", 3, &a) && (cat = policy_tracker(pol, &a)) != NULL)
            policy_neutralise(pol, tag, cat);
        return GW_HTML_KEEP;
    case GW_HTML_TAG_LINK:
        if (gw_html_attr_find(tag, "href", 4, &a) && (cat = policy_tracker(pol, &a)) != NULL) {
            policy_insert_removed(tag, "link", cat);
            ++pol->removed;
            return GW_HTML_REMOVE;
        }
        return GW_HTML_KEEP;
    case GW_HTML_TAG_NOSCRIPT:
        ++pol->held;
        return GW_HTML_HOLD;
    case GW_HTML_TAG_A:
        if (gw_html_attr_find(tag, "ping", 4, NULL))
            gw_html_attr_remove(tag, "ping", 4);
        if (gw_html_attr_find(tag, "href", 4, &a) && a.value != NULL && a.value_len <= sizeof(pol->url)) {
            const char *host;
            size_t hlen, n = gw_html_decode(a.value, a.value_len, pol->url);
            if (policy_url_host(pol->url, n, &host, &hlen) && !policy_ieq(host, hlen, POLICY_SITE))
                policy_wrap(pol, tag, pol->url, n);
        }
        return GW_HTML_KEEP;
    default:
        return GW_HTML_KEEP;
    }
}

static int
policy_on_held(void *ctx, gw_html_tag_t *tag, const char *content, size_t len, int complete)
{
    if (!complete)
        return GW_HTML_KEEP; /* past the cap: released untouched */
    if (tag->id == GW_HTML_TAG_NOSCRIPT) {
        for (size_t i = 0; policy_trackers[i].host != NULL; ++i) {
            if (memmem(content, len, policy_trackers[i].host, strlen(policy_trackers[i].host)) != NULL) {
                policy_insert_removed(tag, "noscript", policy_trackers[i].category);
                ++((policy_t *)ctx)->removed;
                return GW_HTML_REMOVE;
            }
        }
        return GW_HTML_KEEP;
    }
    for (size_t i = 0; policy_loaders[i].needle != NULL; ++i) {
        if (memmem(content, len, policy_loaders[i].needle, strlen(policy_loaders[i].needle)) != NULL) {
            gw_html_attr_set(tag, "type", 4, "text/plain", 10);
            gw_html_attr_set(tag, "data-cg-category", 16, policy_loaders[i].category, strlen(policy_loaders[i].category));
            ++((policy_t *)ctx)->neutralised;
            break;
        }
    }
    return GW_HTML_KEEP;
}

static void
policy_on_text(void *ctx, const char *p, size_t n)
{
    ((policy_t *)ctx)->text_bytes += (unsigned)n;
}

static const gw_html_cb_t policy_cb = {policy_emit, policy_on_tag, policy_on_held, policy_on_text, NULL};
static const gw_html_cb_t policy_keep_cb = {policy_emit, NULL, NULL, NULL, NULL};

/* Sets nonce and snippet the way the gateway does. */
static inline void
policy_attach(gw_html_t *h)
{
    gw_html_set_nonce(h, POLICY_NONCE, strlen(POLICY_NONCE));
    gw_html_set_inject(h, POLICY_SNIPPET, strlen(POLICY_SNIPPET));
}

#endif
