/*
 * beacons — see beacons.h.
 */
#include <string.h>
#include "beacon.h"
#include "beacons.h"
#include "config.h"
#include "metrics.h"
#include "server.h"

static gw_beacons_list_cb list_lookup;

void gw_beacons_set_list_lookup(gw_beacons_list_cb cb)
{
    list_lookup = cb;
}

static h2o_iovec_t header_value(h2o_req_t *req, const h2o_token_t *token, const char *name, size_t name_len)
{
    ssize_t i = token != NULL ? h2o_find_header(&req->headers, token, -1) : h2o_find_header_by_str(&req->headers, name, name_len, -1);
    return i != -1 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* path (up to its query) with each run of slashes made one, as origins read it (nginx's merge_slashes, Python's
 * http.server): "//collect" is /collect there (pool memory when it changes) */
h2o_iovec_t gw_beacons_merge_slashes(h2o_mem_pool_t *pool, h2o_iovec_t path)
{
    size_t end = 0;
    while (end != path.len && path.base[end] != '?' && path.base[end] != '#')
        ++end;
    const char *dbl = end >= 2 ? memmem(path.base, end, "//", 2) : NULL;
    if (dbl == NULL)
        return path;
    char *out = h2o_mem_alloc_pool(pool, path.len);
    size_t o = 0;
    for (size_t i = 0; i != end; ++i)
        if (!(path.base[i] == '/' && o != 0 && out[o - 1] == '/'))
            out[o++] = path.base[i];
    memcpy(out + o, path.base + end, path.len - end);
    return h2o_iovec_init(out, o + (path.len - end));
}

static int on_request(h2o_req_t *req, gw_reqctx_t *ctx)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_beacon_req_t br;
    int cat = -1;

    memset(&br, 0, sizeof(br));
    h2o_iovec_t path = req->path_normalized;
    if (memchr(path.base, ';', path.len) != NULL) {
        /* path parameters: servlet containers route "/collect;jsessionid=A1" and "/x/..;/collect" to /collect */
        char *buf = h2o_mem_alloc_pool(&req->pool, path.len + 1);
        path = h2o_iovec_init(buf, gw_beacon_path_servlet(path.base, path.len, buf));
    } else {
        path = gw_beacons_merge_slashes(&req->pool, path);
    }
    br.path = path.base;
    br.path_len = path.len;
    h2o_iovec_t v = header_value(req, NULL, H2O_STRLIT("sec-fetch-dest"));
    br.sec_fetch_dest = v.base, br.sec_fetch_dest_len = v.len;
    v = header_value(req, H2O_TOKEN_ACCEPT, NULL, 0);
    br.accept = v.base, br.accept_len = v.len;
    /* a visitor's navigation is a page of the site, at an endpoint's path too ("/collect/store-locator" of a shop's
     * click and collect under a "/collect" endpoint), as it is at a URL the lists name (beacon_lookup) */
    if (gw_beacon_is_page(&br))
        return 0;
    for (size_t i = 0; i != c->beacons.num_endpoints; ++i) {
        const char *p = c->beacons.endpoints[i].path;
        if (gw_beacon_path_match(p, strlen(p), br.path, br.path_len)) {
            cat = c->beacons.endpoints[i].category;
            break;
        }
    }
    v = header_value(req, H2O_TOKEN_CONTENT_TYPE, NULL, 0);
    br.content_type = v.base, br.content_type_len = v.len;
    br.has_ping_from = h2o_find_header_by_str(&req->headers, H2O_STRLIT("ping-from"), -1) != -1;
    br.has_ping_to = h2o_find_header_by_str(&req->headers, H2O_STRLIT("ping-to"), -1) != -1;
    v = header_value(req, NULL, H2O_STRLIT("sec-fetch-mode"));
    br.sec_fetch_mode = v.base, br.sec_fetch_mode_len = v.len;
    br.method = req->method.base, br.method_len = req->method.len;
    /* <a ping> and navigator.sendBeacon: beacons of the ping category, and of type "ping" to the lists ($ping) */
    int is_ping = gw_beacon_is_ping(&br) || gw_beacon_is_send_beacon(&br);
    if (cat < 0 && is_ping)
        cat = c->beacons.ping_category;
    int wants_image = gw_beacon_wants_image(&br);
    /* the lists are asked about a collector or ping of a granted category too: a URL they give another category (an
     * ad platform's impression beacon: marketing) needs that one as well, as it does fetched as an image */
    if ((cat < 0 || (ctx->granted & (1u << cat)) != 0) && list_lookup != NULL) {
        int listed = list_lookup(req, ctx, wants_image, is_ping);
        if (listed >= 0 && (cat < 0 || (ctx->granted & (1u << listed)) == 0))
            cat = listed;
    }
    if (cat < 0 || (ctx->granted & (1u << cat)) != 0)
        return 0; /* not a beacon, or granted: forwarded untouched */

    if (gw_metrics != NULL)
        gw_metrics_add(c->report_only ? &gw_metrics->beacons_would_answer[cat] : &gw_metrics->beacons_answered[cat], 1);
    if (c->report_only)
        return 0;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    if (wants_image) {
        req->res.status = 200;
        req->res.reason = "OK";
        req->res.content_length = GW_BEACON_GIF_LEN;
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("image/gif"));
        h2o_send_inline(req, (const char *)gw_beacon_gif, GW_BEACON_GIF_LEN);
    } else {
        req->res.status = 204;
        req->res.reason = "No Content";
        req->res.content_length = SIZE_MAX; /* a 204 has no Content-Length (RFC 9110 §8.6) */
        h2o_send_inline(req, "", 0);
    }
    return 1;
}

int gw_beacons_init(void)
{
    gw_front_add_request_stage(on_request);
    return 0;
}
