/*
 * consent — see consent.h.
 *
 * Fail-closed rules, written down once:
 * - A token that does not verify (malformed, forged, unknown key, expired, older policy)
 *   is "no decision": the regime's default applies, never a grant.
 * - A Cookie header the parser cannot read to the end (over GW_COOKIE_MAX_HEADER bytes,
 *   control bytes) is forwarded only up to what was understood: the pairs read before
 *   the failure that are granted. Nothing after the failure reaches the origin.
 * - A Set-Cookie the parser rejects is dropped in enforce mode (a browser would ignore it
 *   anyway, and we cannot tell its category).
 */
#include <arpa/inet.h>
#include <libpsl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "chain.h"
#include "config.h"
#include "consent.h"
#include "cookie.h"
#include "cookie_db.h"
#include "geo.h"
#include "inventory.h"
#include "jsonw.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "qsbr.h"
#include "ratelimit.h"
#include "records.h"
#include "revoke.h"
#include "secrets.h"
#include "server.h"
#include "store.h"
#include "token.h"

#define MAX_EXPIRE_NAMES 32

static gw_secrets_t *secrets; /* snapshot, reloaded on SIGHUP */
static gw_cookie_db_t *cookie_db;
static gw_geo_t *geo; /* snapshot, reloaded on SIGHUP (after geoipupdate) */
static gw_regimes_t regimes;
static gw_cidr_list_t trusted_proxies;
static const psl_ctx_t *psl;
static uint16_t all_mask, necessary_mask;

const gw_secrets_t *gw_consent_secrets(void)
{
    return gw_snap_load(&secrets);
}

const psl_ctx_t *gw_consent_psl(void)
{
    return psl;
}

uint16_t gw_consent_all_mask(void)
{
    return all_mask;
}

uint16_t gw_consent_necessary_mask(void)
{
    return necessary_mask;
}

uint64_t gw_now_ms(h2o_req_t *req)
{
    return h2o_now(req->conn->ctx->loop);
}

uint16_t gw_consent_default_grant(int regime, int gpc)
{
    switch (regime) {
    case GW_REGIME_OPT_OUT:
        return (uint16_t)(all_mask & ~(gpc ? gw_rt.conf.regimes.gpc_refuses : 0)) | necessary_mask;
    case GW_REGIME_NOTICE:
        return all_mask;
    default:
        return necessary_mask;
    }
}

int gw_consent_classify(const char *name, size_t len)
{
    int cat = gw_cookie_db_lookup(cookie_db, name, len);
    return cat >= 0 ? cat : gw_rt.conf.cookies.unknown_category;
}

/* the token's name on a TLS request (__Host-cg_consent) or a plain one (cg_consent) */
static int is_token_name_for(int tls, const char *name, size_t len)
{
    return tls ? len == sizeof(GW_CONSENT_COOKIE_TLS) - 1 && memcmp(name, GW_CONSENT_COOKIE_TLS, len) == 0
               : len == sizeof(GW_CONSENT_COOKIE) - 1 && memcmp(name, GW_CONSENT_COOKIE, len) == 0;
}

/* either name: neither is ever forwarded to the origin, nor set by it */
static int is_token_name(const char *name, size_t len)
{
    return is_token_name_for(0, name, len) || is_token_name_for(1, name, len);
}

h2o_iovec_t gw_consent_mask_names(h2o_mem_pool_t *pool, uint16_t mask)
{
    const gw_config_t *c = &gw_rt.conf;
    size_t cap = 0, n = 0;
    for (size_t i = 0; i != c->num_categories; ++i)
        cap += strlen(c->categories[i]) + 1;
    char *buf = h2o_mem_alloc_pool(pool, cap + 1);
    for (size_t i = 0; i != c->num_categories; ++i) {
        if ((mask & (1u << i)) == 0)
            continue;
        size_t l = strlen(c->categories[i]);
        if (n != 0)
            buf[n++] = ',';
        memcpy(buf + n, c->categories[i], l);
        n += l;
    }
    return h2o_iovec_init(buf, n);
}

/* --- regime ------------------------------------------------------------------------------- */

/* loopback and private networks (RFC 1918, RFC 6598's shared space, RFC 4193): where a proxy in front of the gateway is */
static gw_cidr_list_t private_networks;

/*
 * A proxy of the site's own in front of the gateway (nginx on the same host, a balancer on the private network) that
 * geoip.trusted_proxies does not name looks like one client with many visitors behind it: the rate limits count them as
 * one (store.rate_per_minute: 60 consents a minute for the whole site, then 429 and no cookie), none is placed (all get
 * regimes.default) and https is not known from it. The start cannot see that; the first request can. Said once a
 * minute per worker thread, naming the proxy's /24 (/48): a visitor on the internet writes X-Forwarded-For too, but not
 * from a private address.
 */
static void warn_untrusted_forwarder(h2o_req_t *req, const struct sockaddr *peer)
{
    static __thread uint64_t warned_at;
    char net[64];
    if (!gw_cidr_list_contains(&private_networks, peer) || h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, -1) == -1)
        return;
    if (gw_addr_truncated(peer, net, sizeof(net)) != 0)
        strcpy(net, "?");
    gw_server_warn_now_and_then(&warned_at,
                                "requests from %s carry X-Forwarded-For, and geoip.trusted_proxies does not name their sender: if "
                                "it is a proxy in front of the gateway, name it there, or the visitors behind it count as one "
                                "client (store.rate_per_minute: %u consents a minute for them all) and get regimes.default",
                                net, gw_rt.conf.store.rate_per_minute);
}

int gw_consent_client_addr(h2o_req_t *req, struct sockaddr_storage *client)
{
    struct sockaddr_storage peer;
    if (req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer) == 0)
        return -1;
    const char *xff = NULL;
    size_t xff_len = 0;
    if (trusted_proxies.num_entries != 0 && gw_cidr_list_contains(&trusted_proxies, (struct sockaddr *)&peer)) {
        /* (only a trusted proxy's are read) several X-Forwarded-For headers form one list, in order, joined with ", "
         * in one buffer: joined one by one, each copied the list so far, so that 95 headers of 4 KB (a 380 KB request)
         * took 18 MB of the request's pool and its square in time, for each of the request's calls */
        size_t num = 0, total = 0;
        ssize_t i = -1, last = -1;
        while ((i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1) {
            total += (num++ != 0 ? 2 : 0) + req->headers.entries[i].value.len;
            last = i;
        }
        if (num == 1) {
            xff = req->headers.entries[last].value.base;
            xff_len = req->headers.entries[last].value.len;
        } else if (num > 1) {
            char *buf = h2o_mem_alloc_pool(&req->pool, total);
            size_t k = 0;
            for (i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_X_FORWARDED_FOR, i)) != -1;) {
                h2o_iovec_t v = req->headers.entries[i].value;
                if (k++ != 0)
                    memcpy(buf + xff_len, ", ", 2), xff_len += 2;
                memcpy(buf + xff_len, v.base, v.len);
                xff_len += v.len;
            }
            xff = buf;
        }
    } else {
        warn_untrusted_forwarder(req, (struct sockaddr *)&peer);
    }
    if (gw_client_addr((struct sockaddr *)&peer, xff, xff_len, &trusted_proxies, client) < 0)
        memcpy(client, &peer, sizeof(*client));
    return 0;
}

int gw_consent_trusted_peer(const struct sockaddr *peer)
{
    return trusted_proxies.num_entries != 0 && gw_cidr_list_contains(&trusted_proxies, peer);
}

/* 1 when the connection's peer is one of geoip.trusted_proxies */
static int peer_is_trusted_proxy(h2o_req_t *req)
{
    struct sockaddr_storage peer;
    return req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer) != 0 &&
           gw_consent_trusted_peer((struct sockaddr *)&peer);
}

void gw_consent_settle_scheme(h2o_req_t *req)
{
    ssize_t i = -1, last = -1;
    /* the connection says whether the request is https, not the request: over HTTP/2 the client's :scheme is its own
     * word (":scheme: https" on a plain listener got the __Host- Secure cookie and HSTS, ":scheme: http" over TLS the
     * plain cookie) */
    h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL ? req->conn->callbacks->get_socket(req->conn) : NULL;
    if (sock != NULL)
        req->scheme = req->input.scheme = sock->ssl != NULL ? &H2O_URL_SCHEME_HTTPS : &H2O_URL_SCHEME_HTTP;
    if (trusted_proxies.num_entries == 0 || req->scheme == &H2O_URL_SCHEME_HTTPS)
        return;
    /* the last one: a proxy that adds its own header after the client's (HAProxy's add-header) means that one */
    while ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-forwarded-proto"), i)) != -1)
        last = i;
    if ((i = last) == -1)
        return;
    h2o_iovec_t v = h2o_str_stripws(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
    if (v.len != 5 || !h2o_lcstris(v.base, 5, H2O_STRLIT("https")) || !peer_is_trusted_proxy(req))
        return;
    req->scheme = req->input.scheme = &H2O_URL_SCHEME_HTTPS;
}

/*
 * Headers that say where a request came from, or which path it is for, are a proxy's word, not a client's. From a peer
 * that is no trusted proxy (geoip.trusted_proxies) Forwarded, X-Real-IP, X-Forwarded-Host and their kin go: passed on,
 * a visitor named any address or host to an origin that believes them (the links of its password-reset mail built on
 * X-Forwarded-Host). X-Forwarded-For stays, the peer appended to it (DESIGN: an origin reads it from the right).
 * X-Original-URL and X-Rewrite-URL go from everyone: IIS and Symfony route by them, so a request for one path reached
 * the handler of another, past what the gateway decides by path (a collector it answers at the edge).
 */
static void drop_forwarding_headers(h2o_req_t *req)
{
    static const h2o_iovec_t path_overrides[] = {{H2O_STRLIT("x-original-url")}, {H2O_STRLIT("x-rewrite-url")}};
    static const h2o_iovec_t proxies_word[] = {
        {H2O_STRLIT("forwarded")},          {H2O_STRLIT("x-real-ip")},          {H2O_STRLIT("x-forwarded-host")},
        {H2O_STRLIT("x-forwarded-port")},   {H2O_STRLIT("x-forwarded-server")}, {H2O_STRLIT("x-forwarded-prefix")},
        {H2O_STRLIT("x-forwarded-ssl")},    {H2O_STRLIT("x-forwarded-scheme")}, {H2O_STRLIT("true-client-ip")},
        {H2O_STRLIT("x-client-ip")},        {H2O_STRLIT("cf-connecting-ip")},   {H2O_STRLIT("fastly-client-ip")},
        {H2O_STRLIT("x-cluster-client-ip")}};
    int trusted = -1; /* asked once, when a header needs it */
    size_t kept = 0;
    for (size_t i = 0; i != req->headers.size; ++i) {
        const h2o_iovec_t *name = req->headers.entries[i].name;
        int drop = 0;
        if (name->len >= 9 && memchr("xftc", name->base[0] | 0x20, 4) != NULL) { /* (the first letters of those below) */
            for (size_t k = 0; !drop && k != sizeof(path_overrides) / sizeof(path_overrides[0]); ++k)
                drop = h2o_lcstris(name->base, name->len, path_overrides[k].base, path_overrides[k].len);
            for (size_t k = 0; !drop && k != sizeof(proxies_word) / sizeof(proxies_word[0]); ++k) {
                if (!h2o_lcstris(name->base, name->len, proxies_word[k].base, proxies_word[k].len))
                    continue;
                if (trusted == -1)
                    trusted = peer_is_trusted_proxy(req);
                drop = !trusted;
            }
        }
        if (!drop)
            req->headers.entries[kept++] = req->headers.entries[i];
    }
    req->headers.size = kept;
}

uint64_t gw_consent_client_key(h2o_req_t *req)
{
    struct sockaddr_storage ss;
    if (gw_consent_client_addr(req, &ss) != 0)
        memset(&ss, 0, sizeof(ss)); /* no address (a test's fake connection) */
    return gw_rate_client_key((struct sockaddr *)&ss);
}

static void resolve_regime(h2o_req_t *req, gw_reqctx_t *ctx)
{
    struct sockaddr_storage client;

    ctx->regime = (uint8_t)gw_rt.conf.regimes.def;
    ctx->country[0] = '\0';
    ctx->subdivision[0] = '\0';
    const gw_geo_t *g = gw_snap_load(&geo);
    if (g == NULL || gw_consent_client_addr(req, &client) != 0)
        return;
    gw_geo_result_t res;
    if (gw_geo_lookup(g, (struct sockaddr *)&client, &res) != 0)
        return;
    int by_subdivision;
    ctx->regime = (uint8_t)gw_regimes_resolve(&regimes, &res, &by_subdivision);
    ctx->regime_by_subdivision = by_subdivision;
    memcpy(ctx->country, res.country, sizeof(res.country));
    memcpy(ctx->subdivision, res.subdivision, sizeof(res.subdivision));
}

/* --- token --------------------------------------------------------------------------------- */

/*
 * Whether a token's choice decides in this request's regime. One made where the choices start granted (opt-out,
 * notice: the regime's default ticks them) is no consent where consent must be given (opt-in): a pre-ticked box is
 * not consent (CJEU, Planet49, C-673/17), and the banner's text there said "unless you turn them off". A visitor who
 * carries it into an opt-in regime is asked again; what it refused stays refused, as an undecided token's do.
 */
static int decides_here(const gw_token_t *t, const gw_reqctx_t *ctx)
{
    return (t->flags & GW_TOKEN_FLAG_DECIDED) != 0 && (ctx->regime != GW_REGIME_OPT_IN || t->regime == GW_REGIME_OPT_IN);
}

/*
 * What the visitor's later decisions took back from t (the store's revocations, revoke.h): the categories they refused
 * since t was issued are taken from t->granted. Returns 1 when t predates the visitor's erasure. Costs one load while
 * nobody has a revocation (the usual case), a keyed hash and one probe otherwise; no lock, no allocation.
 */
static int revoked(gw_token_t *t)
{
    const gw_revoke_t *rv = gw_store_revocations();
    gw_revocation_t r;
    uint32_t key[4];
    if (gw_revoke_count(rv) == 0)
        return 0;
    gw_revoke_key(gw_store_revoke_key(), t->visitor, key);
    if (!gw_revoke_find(rv, key, &r))
        return 0;
    if (r.erased != 0 && t->issued <= r.erased)
        return 1;
    t->granted &= (uint16_t)~gw_revoke_taken(&r, gw_rt.conf.num_categories, t->issued);
    return 0;
}

/*
 * Whether this is the first evaluation of the request to count what its tokens are. A request the gateway answers
 * itself is evaluated by its handler (the consent API, the preference centre) and again by the filter that expires
 * the refused cookies it carries (on_served_setup_ostream): each counted, an expired token was two in
 * cg_tokens_rejected_total. The mark is an entry of the request's env (its pool; set only on this rare path).
 */
static int first_count(h2o_req_t *req)
{
    static const char mark[] = "consentgate.tokens-counted";
    if (h2o_req_getenv(req, mark, sizeof(mark) - 1, 0) != NULL)
        return 0;
    h2o_req_getenv(req, mark, sizeof(mark) - 1, 1);
    return 1;
}

/* counts the tokens of a request that did not verify (rejected[reason]) and a conflict, once per request */
static void count_tokens(h2o_req_t *req, const uint32_t *rejected, int conflict)
{
    int any = conflict;
    for (size_t r = 1; r != GW_TOKEN_REJECT_REASONS; ++r)
        any |= rejected[r] != 0;
    if (!any || gw_metrics == NULL || !first_count(req))
        return;
    for (size_t r = 1; r != GW_TOKEN_REJECT_REASONS; ++r)
        if (rejected[r] != 0)
            gw_metrics_add(&gw_metrics->tokens_rejected[r], rejected[r]);
    if (conflict)
        GW_COUNT(tokens_conflicting);
}

int gw_consent_evaluate(h2o_req_t *req, gw_reqctx_t *ctx, uint64_t now)
{
    const gw_secrets_t *keys = gw_snap_load(&secrets);
    uint32_t rejected[GW_TOKEN_REJECT_REASONS] = {0};
    int status = -1;
    uint8_t token_flags = 0, claim[16];
    int claims = 0;
    /* what correctly signed tokens no longer in force (expired, older policy, issued ahead) granted: they decide nothing any more,
     * but what they refused stays refused (in an opt-out regime "no decision" would grant it again) */
    uint16_t stale_granted = all_mask;
    ssize_t i;

    resolve_regime(req, ctx);
    ctx->gpc = 0;
    ctx->tokens_conflict = 0;
    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-gpc"), -1)) != -1) {
        h2o_iovec_t v = h2o_str_stripws(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
        ctx->gpc = v.len == 1 && v.base[0] == '1';
    }

    for (i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        gw_cookie_iter_t it;
        gw_cookie_pair_t p;
        gw_cookie_iter_init(&it, v.base, v.len);
        while (gw_cookie_iter_next(&it, &p) == 1) {
            /* over TLS only the __Host- cookie: a plain cg_consent there may have been planted by a sibling subdomain
             * (Domain=) or over plain HTTP, and would decide for this visitor (and give them its visitor id) */
            if (!is_token_name_for(ctx->is_tls, p.name, p.name_len))
                continue;
            gw_token_t t;
            int st = gw_token_decode(p.value, p.value_len, keys->keys, keys->num_keys, now, gw_rt.conf.policy.version, &t);
            /* signed by a key of ours, but not in force (expired, of an older policy, issued while a clock was ahead) */
            int stale = st == GW_TOKEN_EXPIRED || st == GW_TOKEN_OLD_POLICY || st == GW_TOKEN_ISSUED_AHEAD;
            /* a token issued before its visitor's erasure names nobody and decides nothing, as one expired that granted
             * nothing optional; one issued before a later decision refused a category no longer grants it */
            if ((st == GW_TOKEN_OK || stale) && revoked(&t)) {
                stale_granted &= necessary_mask;
                continue;
            }
            /* every token whose signature verifies (in force, expired, or of an older policy) claims a visitor: two
             * that name different ones mean one was planted (over plain HTTP a sibling subdomain can set one with
             * Domain=; the gateway's own is host-only), and then no id is believed: a visitor's records must not go
             * under an id someone else planted */
            if (st == GW_TOKEN_OK || stale) {
                if (claims++ == 0)
                    memcpy(claim, t.visitor, sizeof(claim));
                else if (memcmp(claim, t.visitor, sizeof(claim)) != 0)
                    ctx->tokens_conflict = 1;
            }
            if (st == GW_TOKEN_OK && ctx->has_token) {
                /* a second one in force: the two count as the narrower of them */
                ctx->token_granted &= (uint16_t)((t.granted & all_mask) | necessary_mask);
                ctx->decided = ctx->decided && decides_here(&t, ctx);
                token_flags |= t.flags & GW_TOKEN_FLAG_GPC;
                if (t.expires < ctx->consent_expires)
                    ctx->consent_expires = t.expires;
            } else if (st == GW_TOKEN_OK) {
                status = st;
                ctx->decided = decides_here(&t, ctx);
                ctx->has_token = 1;
                ctx->known_visitor = 1;
                ctx->token_granted = (uint16_t)((t.granted & all_mask) | necessary_mask);
                ctx->consent_expires = t.expires;
                token_flags = t.flags;
                memcpy(ctx->visitor, t.visitor, sizeof(ctx->visitor));
            } else if (status != GW_TOKEN_OK) {
                if (stale) {
                    stale_granted &= (uint16_t)((t.granted & all_mask) | necessary_mask);
                    if (!ctx->known_visitor) { /* no consent any more, but a signature that verifies: still this visitor's id */
                        memcpy(ctx->visitor, t.visitor, sizeof(ctx->visitor));
                        ctx->known_visitor = 1;
                    }
                }
                status = st;
                if (st > 0 && st < GW_TOKEN_REJECT_REASONS)
                    ++rejected[st];
            }
        }
    }
    if (ctx->tokens_conflict) {
        memset(ctx->visitor, 0, sizeof(ctx->visitor));
        ctx->known_visitor = 0;
    }
    count_tokens(req, rejected, ctx->tokens_conflict);
    ctx->gpc_applied = 0;
    ctx->gpc_overrides = 0;
    if (ctx->has_token) {
        ctx->granted = ctx->token_granted;
        /* A signal that arrives after a token made without it that grants what it refuses (a decision, or the
         * undecided token an erasure gives) wins: the CCPA regulations (§7025(c)(3)) say to process it as an opt-out
         * all the same, and allow asking the visitor, whose later consent then stands. So the visitor is undecided
         * (again), with the refusal recorded as a first GPC request's is, and the banner says the signal turned those
         * categories off. */
        if (ctx->gpc && ctx->regime == GW_REGIME_OPT_OUT && (token_flags & GW_TOKEN_FLAG_GPC) == 0 &&
            (ctx->token_granted & gw_rt.conf.regimes.gpc_refuses) != 0) {
            ctx->decided = 0;
            ctx->gpc_overrides = 1;
        }
        /* an undecided token (the one a GPC refusal gets in an opt-out regime) records a refusal, not a consent: what
         * it grants is the regime's default of this request, narrowed by it; the opt-out default it was issued under
         * must not follow the visitor into an opt-in regime */
        if (!ctx->decided)
            ctx->granted &= gw_consent_default_grant(ctx->regime, ctx->gpc);
        ctx->gpc_applied = !ctx->decided && ((token_flags & GW_TOKEN_FLAG_GPC) != 0 || ctx->gpc_overrides);
    } else {
        ctx->granted = (uint16_t)(gw_consent_default_grant(ctx->regime, ctx->gpc) & (stale_granted | necessary_mask));
        ctx->gpc_applied = ctx->gpc && ctx->regime == GW_REGIME_OPT_OUT && (gw_rt.conf.regimes.gpc_refuses & all_mask) != 0;
    }
    return status;
}

/* a token for ctx's visitor signed with the primary key, as a Set-Cookie value from pool */
static h2o_iovec_t token_cookie(h2o_mem_pool_t *pool, const gw_reqctx_t *ctx, uint16_t granted, int decided, uint64_t now,
                                uint64_t *expires)
{
    const gw_secrets_t *keys = gw_snap_load(&secrets);
    gw_token_t t = {0};
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    uint64_t max_age = (uint64_t)gw_rt.conf.policy.consent_max_age_days * 86400;

    memcpy(t.visitor, ctx->visitor, sizeof(t.visitor));
    t.granted = (uint16_t)((granted & all_mask) | necessary_mask);
    t.policy_version = gw_rt.conf.policy.version;
    t.regime = ctx->regime;
    /* a decision's token carries the flag when it was made while sending the signal (it then stands against the signal:
     * gw_consent_evaluate), not when the signal happened to refuse something at that request: a visitor whose earlier
     * decision refused marketing already, and who now grants it with GPC on, was overridden on their next request */
    int gpc_flag = decided ? ctx->gpc : ctx->gpc_applied;
    t.flags = (uint8_t)((decided ? GW_TOKEN_FLAG_DECIDED : 0) | (gpc_flag ? GW_TOKEN_FLAG_GPC : 0));
    t.issued = now;
    t.expires = now + max_age;
    *expires = t.expires;
    size_t n = gw_token_encode(&t, gw_secrets_primary(keys), enc, sizeof(enc));
    char *buf = h2o_mem_alloc_pool(pool, 256);
    int len = snprintf(buf, 256, "%s=%.*s; Max-Age=%llu; Path=/; HttpOnly; SameSite=Lax%s",
                       ctx->is_tls ? GW_CONSENT_COOKIE_TLS : GW_CONSENT_COOKIE, (int)n, enc, (unsigned long long)max_age,
                       ctx->is_tls ? "; Secure" : "");
    return h2o_iovec_init(buf, (size_t)len);
}

/* --- expiring refused cookies --------------------------------------------------------------- */

static void add_expiry(h2o_req_t *req, h2o_iovec_t name, const char *domain, size_t domain_len)
{
    /* browsers read the prefixes in any case (RFC 6265bis; Chromium does): an expiry of __SECURE-x without Secure, or
     * of __HOST-x with a Domain, would be ignored and the refused cookie kept */
    int host_prefix = name.len >= 7 && h2o_lcstris(name.base, 7, H2O_STRLIT("__host-"));
    int secure_prefix = host_prefix || (name.len >= 9 && h2o_lcstris(name.base, 9, H2O_STRLIT("__secure-")));
    if (domain != NULL && host_prefix)
        return; /* __Host- cookies never carry a Domain */
    /* NAME=; Max-Age=0; Path=/[; Domain=D][; Secure], without printf: this runs for every refused cookie */
    char *buf = h2o_mem_alloc_pool(&req->pool, name.len + domain_len + 64), *p = buf;
    memcpy(p, name.base, name.len), p += name.len;
    /* a nameless cookie: "=; …" (no name, no value) is ignored, "=x; …" (name "") expires it */
    size_t eq = name.len != 0 ? 1 : 2;
    memcpy(p, "=x", eq), p += eq;
    memcpy(p, "; Max-Age=0; Path=/", 19), p += 19;
    if (domain != NULL)
        memcpy(p, "; Domain=", 9), p += 9, memcpy(p, domain, domain_len), p += domain_len;
    if (secure_prefix)
        memcpy(p, "; Secure", 8), p += 8;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, buf, (size_t)(p - buf));
}

/* the registrable domain of the request's host (NULL for IP literals, localhost, public suffixes) */
static const char *registrable_domain(h2o_req_t *req, size_t *len)
{
    h2o_iovec_t a = gw_req_host(req);
    if (psl == NULL || a.len == 0 || a.len > 253 || a.base[0] == '[')
        return NULL;
    size_t hl = a.len;
    char *host = h2o_mem_alloc_pool(&req->pool, hl + 1);
    for (size_t i = 0; i != hl; ++i)
        host[i] = h2o_tolower(a.base[i]);
    host[hl] = '\0';
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return NULL; /* an IP literal has no registrable domain (libpsl would answer its last labels) */
    const char *rd = psl_registrable_domain(psl, host);
    if (rd == NULL)
        return NULL;
    *len = strlen(rd);
    return rd;
}

/* remembers a refused cookie name (once) so that the response can expire it */
static void note_refused(h2o_req_t *req, gw_reqctx_t *ctx, const char *name, size_t len, int cat)
{
    for (size_t k = 0; k != ctx->num_expire_names; ++k)
        if (h2o_memis(ctx->expire_names[k].base, ctx->expire_names[k].len, name, len))
            return;
    if (ctx->expire_names == NULL)
        ctx->expire_names = h2o_mem_alloc_pool(&req->pool, sizeof(ctx->expire_names[0]) * GW_REQCTX_MAX_EXPIRE);
    if (ctx->num_expire_names == GW_REQCTX_MAX_EXPIRE)
        return;
    ctx->expire_cats[ctx->num_expire_names] = (uint8_t)cat;
    ctx->expire_names[ctx->num_expire_names++] = h2o_strdup(&req->pool, name, len); /* outlives header rewrites */
}

int gw_consent_expire_planted(h2o_req_t *req, const gw_reqctx_t *ctx)
{
    size_t dlen = 0;
    const char *domain = ctx->tokens_conflict && !ctx->is_tls ? registrable_domain(req, &dlen) : NULL;
    if (domain != NULL) /* (the visitor's own is host-only: only one set with Domain= goes) */
        add_expiry(req, h2o_iovec_init(H2O_STRLIT(GW_CONSENT_COOKIE)), domain, dlen);
    return domain != NULL;
}

/* adds the expiring Set-Cookie headers for every name noted in ctx */
static size_t emit_expiries(h2o_req_t *req, gw_reqctx_t *ctx)
{
    size_t dlen = 0;
    const char *domain = ctx->num_expire_names != 0 ? registrable_domain(req, &dlen) : NULL;
    for (size_t k = 0; k != ctx->num_expire_names; ++k) {
        add_expiry(req, ctx->expire_names[k], NULL, 0);
        if (domain != NULL)
            add_expiry(req, ctx->expire_names[k], domain, dlen);
        if (gw_metrics != NULL)
            gw_metrics_add(&gw_metrics->cookies_expired[ctx->expire_cats[k]], 1);
    }
    return ctx->num_expire_names;
}

size_t gw_consent_expire_carried(h2o_req_t *req, gw_reqctx_t *ctx, uint16_t refused)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        gw_cookie_iter_t it;
        gw_cookie_pair_t p;
        gw_cookie_iter_init(&it, v.base, v.len);
        while (gw_cookie_iter_next(&it, &p) == 1) {
            if (is_token_name(p.name, p.name_len))
                continue;
            int cat = gw_consent_classify(p.name, p.name_len);
            if ((refused & (1u << cat)) != 0)
                note_refused(req, ctx, p.name, p.name_len, cat);
        }
    }
    return emit_expiries(req, ctx);
}

uint64_t gw_consent_answer_token(h2o_req_t *req, gw_reqctx_t *ctx, uint16_t granted, int decided, uint64_t now)
{
    uint64_t expires;
    h2o_iovec_t tok = token_cookie(&req->pool, ctx, granted, decided, now, &expires);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, tok.base, tok.len);
    uint16_t refused = (uint16_t)(all_mask & ~granted);
    if (refused != 0)
        gw_consent_expire_carried(req, ctx, refused);
    return expires;
}

/* --- the gateway's own answers: what they carry is expired there too ----------------------------- */

/* 1 when the answer sets the gateway's token: it carries a decision of its own and has expired what that one refuses
 * (gw_consent_answer_token: the consent API, the preference centre's form, an erasure, a GPC visitor's first page) */
static int answer_sets_token(h2o_req_t *req)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_SET_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->res.headers.entries[i].value;
        const char *eq = memchr(v.base, '=', v.len);
        if (eq != NULL && is_token_name(v.base, (size_t)(eq - v.base)))
            return 1;
    }
    return 0;
}

/* The contract's "a response to a request that carries them expires them" for the answers the gateway gives itself
 * (/__consent/…, its static files, /__go, reports), which do not pass the proxied path's stages: the request's own
 * decision says what is refused, as on a page. Only a request with a Cookie header pays for the token's check. */
static void on_served_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (!gw_rt.conf.report_only && req->res.status != 431 /* (oversized: answered unread, gw_server_track_request) */ &&
        h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, -1) != -1 && !answer_sets_token(req)) {
        gw_reqctx_t ctx;
        memset(&ctx, 0, sizeof(ctx));
        ctx.is_tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
        gw_consent_evaluate(req, &ctx, gw_now_ms(req) / 1000);
        size_t expired = gw_consent_expire_carried(req, &ctx, (uint16_t)(all_mask & ~ctx.granted));
        /* a token planted with Domain= beside the visitor's, as on a page: a visitor may reach these answers first */
        if (gw_consent_expire_planted(req, &ctx) || expired != 0)
            gw_res_make_private(req); /* (its static files are cacheable: see on_response) */
    }
    h2o_setup_next_ostream(req, slot);
}

void gw_consent_register_served(h2o_pathconf_t *pc)
{
    h2o_create_filter(pc, sizeof(h2o_filter_t))->on_setup_ostream = on_served_setup_ostream;
}

/* --- GPC: the refusal is recorded once per visitor -------------------------------------------- */

/* a GPC refusal's record is done: counted, or its failure said (at most a line a second per worker thread: a store
 * that cannot write fails every GPC visitor's first request, each counted in cg_store_failed_total or
 * cg_store_refused_total) */
static void gpc_recorded(h2o_req_t *req, int status)
{
    static __thread gw_log_throttle_t throttle;
    char more[64];
    if (status == 0) {
        GW_COUNT(gpc_refusals);
        return;
    }
    /* over store.rate_per_minute is counted (cg_records_rate_limited_total), not logged: a client can send that often */
    if (status != GW_RECORDS_RATE_LIMITED && gw_log_throttle(&throttle, h2o_now(req->conn->ctx->loop), more, sizeof(more)))
        gw_warn("GPC refusal of a visitor not recorded (store unavailable): enforced, and recorded on a later request%s", more);
}

/* the record of a GPC refusal on a proxied request, which waited for it (on_request): without a record, no token
 * saying there is one, so the visitor's next request records it again; the request then goes on either way */
static void on_gpc_recorded_held(h2o_req_t *req, void *data, int status, const gw_record_t *rec)
{
    gw_reqctx_t *ctx = data;
    gpc_recorded(req, status);
    if (status != 0)
        ctx->issue_token = 0;
    if (ctx->gpc_submitting) {
        ctx->gpc_answered = 1; /* answered before gw_records_submit returned: on_request goes on by itself */
        return;
    }
    gw_front_resume(req);
}

/* First GPC request of a visitor in an opt-out regime: record the refusal (method "gpc"); cb answers once it is
 * committed (or failed), and the visitor gets an undecided token carrying the GPC flag only if it was, so the
 * refusal is recorded once. */
static void record_gpc(h2o_req_t *req, gw_reqctx_t *ctx, gw_records_done_cb cb, void *data)
{
    gw_record_t rec;
    memset(&rec, 0, sizeof(rec));
    if (!ctx->known_visitor)
        gw_token_new_visitor(ctx->visitor);
    gw_records_prepare(req, &rec);
    memcpy(rec.visitor, ctx->visitor, sizeof(rec.visitor));
    rec.policy_version = gw_rt.conf.policy.version;
    rec.granted = ctx->granted;
    rec.refused = (uint16_t)(all_mask & ~ctx->granted);
    rec.regime = ctx->regime;
    rec.method = GW_METHOD_GPC;
    rec.presented = ctx->has_token ? ctx->token_granted : 0;
    gw_records_set_place(&rec, ctx);
    ctx->issue_token = 1;
    if (gw_records_over_rate(req, NULL))
        cb(req, data, GW_RECORDS_RATE_LIMITED, &rec); /* enforced all the same; recorded on a later request */
    else
        gw_records_submit(req, &rec, cb, data);
}

/* a GPC visitor's first request in an opt-out regime: no token yet to say the refusal was recorded, or one made
 * without the signal that it overrides (gw_consent_evaluate) */
static int is_first_gpc(const gw_reqctx_t *ctx)
{
    return ctx->gpc_applied && (!ctx->has_token || ctx->gpc_overrides) && !gw_rt.conf.report_only;
}

/* the undecided token record_gpc() asked for, on req->res */
static void add_gpc_token(h2o_req_t *req, gw_reqctx_t *ctx, uint64_t now)
{
    uint64_t expires;
    h2o_iovec_t tok = token_cookie(&req->pool, ctx, ctx->granted, 0, now, &expires);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, tok.base, tok.len);
}

/* a page the gateway serves itself, waiting for a GPC visitor's refusal to be recorded */
typedef struct st_gpc_wait_t {
    gw_reqctx_t *ctx;
    void (*then)(h2o_req_t *req, void *data);
    void *data;
} gpc_wait_t;

static void on_gpc_recorded_page(h2o_req_t *req, void *data, int status, const gw_record_t *rec)
{
    gpc_wait_t *w = data;
    gpc_recorded(req, status);
    if (status == 0) {
        gw_consent_answer_token(req, w->ctx, w->ctx->granted, 0, gw_now_ms(req) / 1000);
        w->ctx->known_visitor = 1; /* the page may show the id the token now carries */
    }
    w->then(req, w->data);
}

int gw_consent_first_gpc(h2o_req_t *req, gw_reqctx_t *ctx, void (*then)(h2o_req_t *req, void *data), void *data)
{
    if (!is_first_gpc(ctx))
        return 0;
    gpc_wait_t *w = h2o_mem_alloc_pool(&req->pool, sizeof(*w));
    *w = (gpc_wait_t){ctx, then, data};
    record_gpc(req, ctx, on_gpc_recorded_page, w);
    return 1;
}

/* --- request stage: strip cookies ---------------------------------------------------------- */

static int on_request(h2o_req_t *req, gw_reqctx_t *ctx)
{
    const int report_only = gw_rt.conf.report_only;
    uint64_t now = gw_now_ms(req) / 1000;
    size_t total = 0, n = 0, num_headers = 0;
    ssize_t i;

    gw_consent_evaluate(req, ctx, now);

    /* a kept pair goes out with "; " before it, and "a;b" has pairs of one byte: twice the input bounds the output */
    for (i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        total += 2 * req->headers.entries[i].value.len + 2;
        ++num_headers;
    }
    if (num_headers != 0) {
        char *out = h2o_mem_alloc_pool(&req->pool, total);
        for (i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
            h2o_iovec_t v = req->headers.entries[i].value;
            gw_cookie_iter_t it;
            gw_cookie_pair_t p;
            int r;
            gw_cookie_iter_init(&it, v.base, v.len);
            while ((r = gw_cookie_iter_next(&it, &p)) == 1) {
                if (is_token_name(p.name, p.name_len))
                    continue; /* the token is the gateway's own: never forwarded */
                int cat = gw_consent_classify(p.name, p.name_len), hidden_refused = 0;
                /* "sid=1 _ga=GA1": a parser that splits on blanks reads _ga: a refused name inside strips the pair
                 * (not expired: the visitor's own sid cookie is what carries it) */
                const char *hidden;
                size_t pos = 0, hidden_len;
                while ((ctx->granted & (1u << cat)) != 0 && gw_cookie_value_next_name(p.value, p.value_len, &pos, &hidden, &hidden_len))
                    hidden_refused = (ctx->granted & (1u << (cat = gw_consent_classify(hidden, hidden_len)))) == 0;
                if ((ctx->granted & (1u << cat)) == 0) {
                    if (!report_only && !hidden_refused)
                        note_refused(req, ctx, p.name, p.name_len, cat);
                    if (gw_metrics != NULL)
                        gw_metrics_add(report_only ? &gw_metrics->would_strip[cat] : &gw_metrics->cookies_stripped[cat], 1);
                    if (!report_only)
                        continue;
                }
                size_t plen = (size_t)(p.value + p.value_len - p.name);
                if (n != 0)
                    out[n++] = ';', out[n++] = ' ';
                memcpy(out + n, p.name, plen);
                n += plen;
            }
            if (r < 0)
                GW_COUNT(cookie_header_unreadable); /* fail closed: what follows the failure is not forwarded */
        }
        /* replace every Cookie header by the one rebuilt (the proxy sends one header either way); in one pass, not a
         * h2o_delete_header each (which moves the rest): an HTTP/2 request may carry thousands of cookie crumbs */
        size_t kept = 0;
        for (size_t r = 0; r != req->headers.size; ++r)
            if (req->headers.entries[r].name != &H2O_TOKEN_COOKIE->buf)
                req->headers.entries[kept++] = req->headers.entries[r];
        req->headers.size = kept;
        if (n != 0)
            h2o_add_header(&req->pool, &req->headers, H2O_TOKEN_COOKIE, NULL, out, n);
    }

    drop_forwarding_headers(req);

    /* tell the origin the decision; a client cannot set this header itself */
    for (i = -1; (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("consent-categories"), i)) != -1;)
        i = h2o_delete_header(&req->headers, i) - 1;
    h2o_iovec_t names = gw_consent_mask_names(&req->pool, ctx->granted);
    h2o_add_header_by_str(&req->pool, &req->headers, H2O_STRLIT("consent-categories"), 0, NULL, names.base, names.len);

    /* a GPC visitor's first request: the refusal is a decision, on disk before the answer (and the token saying so) */
    if (is_first_gpc(ctx)) {
        ctx->gpc_submitting = 1;
        record_gpc(req, ctx, on_gpc_recorded_held, ctx);
        ctx->gpc_submitting = 0;
        if (!ctx->gpc_answered)
            return GW_STAGE_SUSPENDED;
    }
    return GW_STAGE_CONTINUE;
}

/* --- response stage: Set-Cookie --------------------------------------------------------------- */

/* 1 when the origin's Vary names the Consent-Categories header the gateway sent it */
static int varies_on_decision(h2o_req_t *req)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_VARY, i)) != -1;)
        if (h2o_contains_token(req->res.headers.entries[i].value.base, req->res.headers.entries[i].value.len,
                               H2O_STRLIT("consent-categories"), ','))
            return 1;
    return 0;
}

static void on_response(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot)
{
    const gw_config_t *c = &gw_rt.conf;
    const int report_only = c->report_only;
    int64_t now = (int64_t)(gw_now_ms(req) / 1000);
    int64_t limit = ctx->consent_expires != 0 ? (int64_t)ctx->consent_expires
                                              : now + (int64_t)c->policy.consent_max_age_days * 86400;
    gw_inventory_page_t page;
    int page_read = 0;

    for (ssize_t i = -1; (i = h2o_find_header(&req->res.headers, H2O_TOKEN_SET_COOKIE, i)) != -1;) {
        h2o_header_t *h = req->res.headers.entries + i;
        gw_set_cookie_t sc;
        if (gw_set_cookie_parse(h->value.base, h->value.len, &sc) != 0) {
            if (!report_only)
                i = h2o_delete_header(&req->res.headers, i) - 1;
            continue;
        }
        int known = gw_cookie_db_lookup(cookie_db, sc.name, sc.name_len);
        int cat = known >= 0 ? known : c->cookies.unknown_category;
        if (!page_read)
            gw_inventory_page(req, &page), page_read = 1;
        gw_inventory_record(req, &page, &sc, cat, known >= 0);
        if (is_token_name(sc.name, sc.name_len)) {
            /* the origin may not forge the gateway's own cookie */
            if (!report_only)
                i = h2o_delete_header(&req->res.headers, i) - 1;
            continue;
        }
        if ((ctx->granted & (1u << cat)) == 0) {
            /* the origin deleting a refused cookie (Max-Age <= 0, or an Expires already past and no Max-Age) is let
             * through without its value: it knows the Path and Domain it set it with, which the gateway's own expiry
             * (Path=/, host-only and the registrable domain) may not cover */
            if (!report_only && sc.name_len != 0 &&
                (sc.has_max_age ? sc.max_age <= 0 : sc.expires != GW_COOKIE_NO_EXPIRES && sc.expires <= now)) {
                sc.value_len = 0;
                sc.has_max_age = 1;
                sc.max_age = 0;
                char *buf = h2o_mem_alloc_pool(&req->pool, h->value.len + 64);
                size_t n = gw_set_cookie_format(&sc, buf, h->value.len + 64);
                if (n != 0) {
                    h->value = h2o_iovec_init(buf, n);
                    continue;
                }
            }
            if (gw_metrics != NULL)
                gw_metrics_add(report_only ? &gw_metrics->would_drop[cat] : &gw_metrics->set_cookies_dropped[cat], 1);
            if (!report_only)
                i = h2o_delete_header(&req->res.headers, i) - 1;
            continue;
        }
        if (report_only)
            continue;
        /* granted: cap the lifetime of non-necessary cookies to the consent's, add Secure under TLS */
        int changed = 0;
        if ((necessary_mask & (1u << cat)) == 0) {
            int64_t until = sc.has_max_age ? (sc.max_age > INT64_MAX - now ? INT64_MAX : now + sc.max_age)
                                           : sc.expires != GW_COOKIE_NO_EXPIRES ? sc.expires : INT64_MIN;
            if (until != INT64_MIN && until > limit) {
                sc.has_max_age = 1;
                sc.max_age = limit - now;
                if (sc.expires != GW_COOKIE_NO_EXPIRES)
                    sc.expires = limit;
                changed = 1;
            }
        }
        if (ctx->is_tls && !sc.secure && c->cookies.secure_under_tls) {
            sc.secure = 1;
            changed = 1;
        }
        if (changed) {
            size_t cap = h->value.len + 128;
            char *buf = h2o_mem_alloc_pool(&req->pool, cap);
            size_t n = gw_set_cookie_format(&sc, buf, cap);
            if (n != 0)
                h->value = h2o_iovec_init(buf, n);
        }
    }
    /* a Set-Cookie of the gateway's own (an expiry, the GPC visitor's token: their id) is this visitor's, whatever the
     * origin said of the rest: a shared cache that stores answers with Set-Cookie (RFC 9111 lets it) would expire a
     * refused cookie of every later visitor, or give them all this one's id; the browser's cache keeps the answer */
    int own = 0;
    if (!report_only && ctx->num_expire_names != 0)
        own = emit_expiries(req, ctx) != 0;
    own |= gw_consent_expire_planted(req, ctx); /* (after the loop, which removes any cg_consent the origin sets) */
    if (ctx->issue_token) {
        add_gpc_token(req, ctx, (uint64_t)now);
        own = 1;
    }
    /* an origin answering per decision says Vary: Consent-Categories, a header only the gateway sends: no cache sees
     * it in a request, so the copy made for one choice would come back after another (after a withdrawal, the trackers
     * of the consent withdrawn). The decision is in the cookie (a new token with every choice) and in the visitor's
     * country, which no Vary can name: Vary: cookie, and private */
    if (varies_on_decision(req))
        gw_res_make_personal(req);
    else if (own)
        gw_res_make_private(req);
}

/* --- state as JSON (consent API, inline state in pages) ---------------------------------- */

void gw_consent_state_json(gw_jsonw_t *w, const gw_reqctx_t *ctx, uint16_t granted, int decided, int with_visitor)
{
    const gw_config_t *c = &gw_rt.conf;
    /* no printf here: this runs for every rewritten page (the inline state) */
    static const uint8_t no_visitor[16];
    char hex[33];
    if (with_visitor) {
        gw_jsonw_lit(w, "\"visitor\": ");
        if (memcmp(ctx->visitor, no_visitor, 16) != 0) {
            gw_hex(ctx->visitor, 16, hex);
            gw_jsonw_str(w, hex, 32);
        } else {
            gw_jsonw_lit(w, "null");
        }
        gw_jsonw_lit(w, ", ");
    }
    gw_jsonw_lit(w, "\"policy_version\": ");
    gw_jsonw_uint(w, (unsigned)c->policy.version);
    gw_jsonw_lit(w, ", \"regime\": \"");
    gw_jsonw_lit(w, (const char *const[]){"opt-in", "opt-out", "notice"}[ctx->regime < 3 ? ctx->regime : 0]);
    gw_jsonw_lit(w, "\", \"country\": ");
    if (ctx->country[0] != '\0')
        gw_jsonw_cstr(w, ctx->country);
    else
        gw_jsonw_lit(w, "null");
    gw_jsonw_lit(w, ", \"subdivision\": ");
    if (ctx->subdivision[0] != '\0')
        gw_jsonw_cstr(w, ctx->subdivision);
    else
        gw_jsonw_lit(w, "null");
    gw_jsonw_lit(w, ctx->gpc ? ", \"gpc\": true" : ", \"gpc\": false");
    gw_jsonw_lit(w, ctx->gpc_applied ? ", \"gpc_applied\": true" : ", \"gpc_applied\": false");
    gw_jsonw_lit(w, decided ? ", \"decided\": true, \"categories\": {" : ", \"decided\": false, \"categories\": {");
    for (size_t i = 0; i != c->num_categories; ++i) {
        if (i != 0)
            gw_jsonw_lit(w, ", ");
        gw_jsonw_cstr(w, c->categories[i]);
        gw_jsonw_lit(w, (granted & (1u << i)) ? ": true" : ": false");
    }
    gw_jsonw_lit(w, "}");
}

/* --- set-up --------------------------------------------------------------------------------- */

static void reload_keys(void *data)
{
    char err[512];
    gw_secrets_t *fresh = gw_calloc(1, sizeof(*fresh));
    if (gw_secrets_reload(gw_rt.conf.secrets_file, fresh, err, sizeof(err)) != 0) {
        gw_error("consent keys not reloaded (the previous ones stay in force): %s", err);
        free(fresh);
        return;
    }
    gw_secrets_t *old = gw_snap_publish(&secrets, fresh);
    gw_qsbr_synchronize();
    gw_secrets_clear(old);
    free(old);
    gw_info("consent keys reloaded: %zu keys", fresh->num_keys);
}

/* a rule for "US-CA" with a Country database would never apply: Californians would get the rule for the US, or the
 * default (a notice where the law asks for an opt-out and GPC), with nothing said */
#define GW_GEO_STALE_DAYS 60

/* MaxMind publishes every week, and its licences ask for an update within 30 days: a database months old (geoipupdate's
 * cron job gone, its licence key expired) placed moved address blocks in their old countries, unsaid */
static void warn_stale_geo(const gw_geo_t *g)
{
    time_t built = (time_t)gw_geo_built_at(g), now = time(NULL);
    char day[16];
    struct tm tm;
    if (now - built < GW_GEO_STALE_DAYS * 86400)
        return;
    gmtime_r(&built, &tm);
    strftime(day, sizeof(day), "%Y-%m-%d", &tm);
    gw_warn("geoip.database %s was built on %s, %lld days ago: addresses move between countries (MaxMind publishes weekly; "
            "is geoipupdate running?)", gw_rt.conf.geoip.database, day, (long long)((now - built) / 86400));
}

gw_geo_t *gw_consent_open_geo(char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_geo_t *g = gw_geo_open(c->geoip.database, err, errlen);
    if (g != NULL)
        warn_stale_geo(g);
    if (g == NULL || gw_geo_has_subdivisions(g))
        return g;
    for (size_t i = 0; i != c->regimes.num_rules; ++i) {
        if (strlen(c->regimes.rules[i].key) > 2) {
            snprintf(err, errlen,
                     "%s: a Country database has no subdivisions, so regimes.by_country's \"%s\" would never apply (use a City "
                     "database, or a rule for the country)",
                     c->geoip.database, c->regimes.rules[i].key);
            gw_geo_close(g);
            return NULL;
        }
    }
    return g;
}

/* geoipupdate (weekly, as MaxMind publishes) writes a new file and renames it over the old one: the old mapping stays
 * valid until the swap, and a database that does not open leaves the one in force */
static void reload_geo(void *data)
{
    char err[1024];
    gw_geo_t *fresh = gw_consent_open_geo(err, sizeof(err));
    if (fresh == NULL) {
        gw_error("GeoIP database not reloaded (the previous one stays in force): %s", err);
        return;
    }
    gw_geo_t *old = gw_snap_publish(&geo, fresh);
    gw_qsbr_synchronize();
    gw_geo_close(old);
    gw_info("GeoIP database %s reloaded", gw_rt.conf.geoip.database);
}

/*
 * The cookie database's categories that are none of the configuration's, said: their cookies were skipped, and so
 * classified as cookies.unknown_category, without a word. A site that names analytics "statistics" had Google
 * Analytics' _ga and _gid granted with "functional"; one without "functional" had them as "necessary", always granted.
 */
static void warn_skipped_categories(const gw_cookie_db_t *db, const char *path)
{
    const gw_config_t *c = &gw_rt.conf;
    size_t n;
    const gw_cookie_db_skipped_t *sk = gw_cookie_db_skipped(db, &n);
    const char *unknown = c->categories[c->cookies.unknown_category];
    for (size_t i = 0; i != n; ++i)
        gw_warn("categories: the cookie database %s files %zu cookies (%s, ...) under \"%s\", which is not one of "
                "categories: they are classified as cookies.unknown_category, \"%s\"%s; name the category of yours they "
                "belong to in cookies.database_categories: {\"%s\": \"...\"}",
                path, sk[i].count, sk[i].example, sk[i].category, unknown,
                strcmp(unknown, "necessary") == 0 ? ", which is always granted" : "", sk[i].category);
}

/* An override prefix is looked up before every database entry, its exact names too: "_g*": "necessary", meant for a
 * site's own _g_session, made Google Analytics' _ga and _gid necessary, always granted. Said, with a name it takes. */
static void warn_shadowing_overrides(const gw_cookie_db_t *db)
{
    const gw_config_t *c = &gw_rt.conf;
    for (size_t i = 0; i != c->cookies.num_overrides; ++i) {
        const char *name = c->cookies.overrides[i].name;
        size_t len = strlen(name);
        gw_cookie_db_shadowed_t sh;
        if (name[len - 1] != '*' || gw_cookie_db_shadowed(db, name, len - 1, c->cookies.overrides[i].category, &sh) == 0)
            continue;
        gw_warn("cookies.overrides.\"%s\": takes %zu names the cookie database files under other categories (%.*s: %s%s) "
                "as \"%s\": an override prefix wins over the database's exact names too",
                name, sh.count, (int)(sh.example_len > 64 ? 64 : sh.example_len), sh.example, c->categories[sh.example_category],
                sh.count > 1 ? ", ..." : "", c->categories[c->cookies.overrides[i].category]);
    }
}

/* the cookie database (conf/cookies.json or cookies.database) read through cookies.database_categories, then
 * cookies.overrides; NULL with the reason in err */
static gw_cookie_db_t *build_cookie_db(char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_cookie_db_t *db = gw_cookie_db_new((const char *const *)c->categories, c->num_categories);
    char *path = c->cookies.database != NULL ? gw_strdup(c->cookies.database) : gw_server_find_shipped("conf/cookies.json");
    size_t i;

    if (path == NULL) {
        snprintf(err, errlen, "cannot find the shipped cookie database conf/cookies.json next to %s", gw_rt.exe_dir);
        goto Error;
    }
    if (db == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto Error;
    }
    for (i = 0; i != c->cookies.num_database_categories; ++i) {
        if (gw_cookie_db_map_category(db, c->cookies.database_categories[i].from, c->cookies.database_categories[i].category) != 0) {
            snprintf(err, errlen, "cookies.database_categories: \"%s\" cannot be mapped (out of memory)",
                     c->cookies.database_categories[i].from);
            goto Error;
        }
    }
    if (gw_cookie_db_load_file(db, path, err, errlen) != 0)
        goto Error;
    for (i = 0; i != c->cookies.num_overrides; ++i) {
        if (gw_cookie_db_add(db, c->cookies.overrides[i].name, strlen(c->cookies.overrides[i].name), c->cookies.overrides[i].category,
                             1) != 0) {
            snprintf(err, errlen, "cookies.overrides: \"%s\" is not a usable cookie name pattern", c->cookies.overrides[i].name);
            goto Error;
        }
    }
    warn_skipped_categories(db, path);
    warn_shadowing_overrides(db);
    free(path);
    return db;
Error:
    free(path);
    gw_cookie_db_free(db);
    return NULL;
}

void gw_consent_warn_regimes(void)
{
    const gw_config_t *c = &gw_rt.conf;
    /* (no database is a valid choice, DESIGN's; a table that then never applies is said, not left to look in force) */
    if (c->geoip.database == NULL && c->regimes.num_rules != 0)
        gw_warn("regimes.by_country has %zu rules, and no geoip.database to place visitors: none applies, every visitor gets "
                "regimes.default", c->regimes.num_rules);
}

int gw_consent_check_cookies(char *err, size_t errlen)
{
    gw_cookie_db_t *db = build_cookie_db(err, errlen);
    gw_cookie_db_free(db);
    return db != NULL ? 0 : -1;
}

int gw_consent_init(void)
{
    const gw_config_t *c = &gw_rt.conf;
    char err[1024];
    size_t i;

    for (i = 0; i != c->num_categories; ++i)
        all_mask |= (uint16_t)(1u << i);
    necessary_mask = (uint16_t)(1u << gw_config_category(c, "necessary"));

    secrets = gw_calloc(1, sizeof(*secrets));
    if (gw_secrets_load(c->secrets_file, secrets, err, sizeof(err)) != 0) {
        gw_error("%s", err);
        return -1;
    }
    if (secrets->created)
        gw_info("created %s with a new signing key", c->secrets_file);

    if ((cookie_db = build_cookie_db(err, sizeof(err))) == NULL) {
        gw_error("%s", err);
        return -1;
    }

    gw_regimes_init(&regimes);
    gw_regimes_set_default(&regimes, c->regimes.def);
    for (i = 0; i != c->regimes.num_rules; ++i)
        gw_regimes_add(&regimes, c->regimes.rules[i].key, strlen(c->regimes.rules[i].key), c->regimes.rules[i].regime);
    for (i = 0; i != c->geoip.num_trusted_proxies; ++i)
        gw_cidr_list_add(&trusted_proxies, c->geoip.trusted_proxies[i]);
    static const char *const private_cidrs[] = {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                "::1/128", "fc00::/7"};
    for (i = 0; i != sizeof(private_cidrs) / sizeof(private_cidrs[0]); ++i)
        gw_cidr_list_add(&private_networks, private_cidrs[i]);
    if (c->geoip.database != NULL && (geo = gw_consent_open_geo(err, sizeof(err))) == NULL) {
        gw_error("%s", err);
        return -1;
    }
    gw_consent_warn_regimes();
    if ((psl = psl_latest(NULL)) == NULL)
        psl = psl_builtin();

    gw_front_add_request_stage(on_request);
    gw_front_add_response_stage(on_response);
    gw_server_on_reload(reload_keys, NULL);
    if (geo != NULL)
        gw_server_on_reload(reload_geo, NULL);
    return 0;
}
