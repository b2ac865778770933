/*
 * rewrite — the response stage that streams HTML pages through the rewriter
 * (filters/html.c): tracker <script>/<iframe>/<img>/<link> of a category the visitor has
 * not granted are made inert and re-activatable (data-cg-src + data-cg-category), inline
 * scripts that load a listed tracker likewise, every script and style the gateway lets
 * through gets the response's CSP nonce, and the consent UI is injected before </head>.
 */
#ifndef GW_REWRITE_H
#define GW_REWRITE_H

#include <h2o.h>
#include "html.h"
#include "front.h"

/* What a URL found in a page is to the hooks. */
typedef enum en_gw_url_kind_t {
    GW_URL_SUBRESOURCE, /* <script src>, <iframe src>, <img src>, <link href>, <form action> */
    GW_URL_LINK,        /* <a href>, <area href>: an outbound navigation */
    GW_URL_REFRESH,     /* <meta http-equiv="refresh" content="N; url=…">: a navigation the page makes by itself */
    GW_URL_HEADER,      /* a fetch a response's Link header asks for (preload, preconnect, …): tag is NULL */
    GW_URL_SHEET,       /* a URL in a style sheet (text/css) the site serves: url(), @import: tag is NULL */
    GW_URL_PROBE        /* one of those read again (through escapes): the verdict only, nothing counted; tag is NULL */
} gw_url_kind_t;

/*
 * Hook for the private network channel: called for every absolute http(s) URL of a subresource
 * in a rewritten page, after the tracker decision, and for every link to a host other than the
 * page's own (relative links and links naming the page's host never leave the site: not passed).
 * May edit the tag (e.g. wrap a link) and returns GW_HTML_KEEP or GW_HTML_REMOVE (subresources,
 * refreshes and Link header values only). pool is for what the hook needs while it runs and for the strings
 * it gives the tag's edits: with a tag, it is cleared once that tag is written out (a page's worth of tags
 * must not pile up in the request's pool); without one, it is the request's.
 */
typedef int (*gw_rewrite_url_hook)(h2o_req_t *req, gw_reqctx_t *ctx, gw_html_tag_t *tag, h2o_mem_pool_t *pool, gw_url_kind_t kind,
                                   const char *url, size_t url_len, const char *host, size_t host_len);
void gw_rewrite_set_url_hook(gw_rewrite_url_hook hook);

/* A link (a, area) whose URL goes unchecked keeps its text but stops being a link: its href (and xlink:href) renamed
 * data-cg-unchecked-href. For a URL too long to check (rewrite.c) or to wrap (the link shim). */
void gw_rewrite_unlink(gw_html_tag_t *tag);

/* registers the response stage; call after the consent and tracker set-up */
/* 1 when the response stages read the body of this response (its headers in): a page when pages are rewritten, a
 * style sheet, a speculation rule set, and multipart/byteranges, whose parts may be any of them */
int gw_rewrite_reads_body(h2o_req_t *req);

/* The response's Content-Encoding as browsers apply it: -1 none (a coding browsers ignore, "identity" or unknown, is
 * dropped from the headers), 1 gzip (or x-gzip; *index is its header), 0 one the gateway cannot decode (br, …). */
int gw_rewrite_body_coding(h2o_req_t *req, ssize_t *index);

int gw_rewrite_init(void);

#endif
