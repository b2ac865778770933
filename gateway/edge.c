/*
 * edge — see edge.h.
 *
 * Filters are per path, and the gateway answers on several paths of its own (/__consent/…, /__go) besides the proxied
 * "/" and h2o's fallback path (413 and 400 before routing). HSTS was added by a response stage of the proxied path and
 * the send timeout set up by its prefilter only: the gateway's own answers over https — the consent banner's script, the
 * preference centre, the consent API, the 502 and 504 pages — went without Strict-Transport-Security, and a client that
 * stopped taking one of them (an HTTP/2 stream without window) held it, and its stream, for as long as it kept the
 * connection. One filter on every public path does both.
 *
 * On the proxied path the filter runs after the front prefilter has put the gateway's own ostreams (the rewriter, …) in
 * place, so the watch comes after them, as sendwatch.h asks, and before h2o's compressor.
 */
#include "config.h"
#include "consent.h"
#include "edge.h"
#include "jsonw.h"
#include "sendwatch.h"
#include "server.h"

static h2o_iovec_t hsts_value; /* "max-age=N", or empty: none (built at start) */

void gw_edge_init(void)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_sendwatch_init();
    if (c->channel.hsts_max_age != 0 && hsts_value.len == 0) {
        gw_jsonw_t w;
        gw_jsonw_init(&w, NULL, 32);
        gw_jsonw_printf(&w, "max-age=%llu", (unsigned long long)c->channel.hsts_max_age);
        hsts_value = h2o_iovec_init(w.buf, w.len);
    }
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    /* (the handlers settled it already; h2o's own refusals on the fallback path come here unsettled: an HTTP/2 client's
     * :scheme is its own word, the connection's is the one that counts) */
    gw_consent_settle_scheme(req);
    /* RFC 6797 7.2: not over plain HTTP. An origin's own policy (includeSubDomains, preload) is the site's: kept, not doubled */
    if (req->scheme == &H2O_URL_SCHEME_HTTPS && hsts_value.len != 0 &&
        h2o_find_header(&req->res.headers, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, -1) == -1)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, NULL, hsts_value.base, hsts_value.len);
    h2o_setup_next_ostream(req, gw_sendwatch_setup(req, slot));
}

void gw_edge_register(h2o_pathconf_t *pc)
{
    h2o_create_filter(pc, sizeof(h2o_filter_t))->on_setup_ostream = on_setup_ostream;
}
