/*
 * consent_api — see consent_api.h.
 *
 * POST /__consent/api/consent: same-origin only (Origin / Sec-Fetch-Site), body capped
 * at GW_CONSENT_BODY_MAX (413), JSON or form. The decision becomes a record; only when
 * the store reports it durable does the visitor get the 200 and the new token cookie
 * (503 and no cookie otherwise). A decision that refuses a category also expires the
 * refused cookies the browser sent. A form POST (the preference centre without
 * JavaScript) is answered 303 back to the preference centre; its withdraw=1 is what DELETE does.
 */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "consent.h"
#include "consent_api.h"
#include "consent_body.h"
#include "front.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "records.h"
#include "store.h"
#include "server.h"
#include "token.h"
#include "ui.h"

typedef struct st_pending_t {
    gw_reqctx_t ctx;
    uint16_t granted;
    int is_form;
    int withdraw;
    uint64_t now;
} pending_t;

static int on_state(h2o_req_t *req, gw_reqctx_t *ctx)
{
    gw_jsonw_t w;
    gw_consent_evaluate(req, ctx, gw_now_ms(req) / 1000);
    gw_jsonw_init(&w, &req->pool, 512);
    gw_jsonw_lit(&w, "{");
    gw_consent_state_json(&w, ctx, ctx->granted, ctx->decided, 1);
    gw_jsonw_lit(&w, "}\n");
    gw_send_json(req, 200, "OK", h2o_iovec_init(w.buf, w.len));
    return 0;
}

/* 1 when a browser tells us the request comes from another site */
static int is_cross_site(h2o_req_t *req)
{
    ssize_t i;
    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-site"), -1)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (h2o_memis(v.base, v.len, H2O_STRLIT("cross-site")))
            return 1;
    }
    if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("origin"), -1)) != -1) {
        h2o_iovec_t v = req->headers.entries[i].value;
        const h2o_url_scheme_t *scheme = req->scheme;
        /* Origin must be exactly scheme://authority of this request */
        if (v.len != scheme->name.len + 3 + req->authority.len || !h2o_memis(v.base, scheme->name.len, scheme->name.base, scheme->name.len) ||
            memcmp(v.base + scheme->name.len, "://", 3) != 0 ||
            !h2o_lcstris(v.base + scheme->name.len + 3, req->authority.len, req->authority.base, req->authority.len))
            return 1;
    }
    return 0;
}

/* a form post (browsers without JavaScript): answered 303 to a page instead of JSON */
static int is_form_post(h2o_req_t *req)
{
    ssize_t ct = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    return ct != -1 && req->headers.entries[ct].value.len >= 33 &&
           h2o_lcstris(req->headers.entries[ct].value.base, 33, H2O_STRLIT("application/x-www-form-urlencoded"));
}

/* a cross-site request refused: JSON for a script; a form post (a page without JavaScript) gets the refused page in the
 * visitor's language, not the API's English JSON */
static void send_cross_site(h2o_req_t *req, const char *detail)
{
    if (is_form_post(req))
        gw_ui_send_refused(req, 403, "Forbidden", "cross_site");
    else
        gw_send_json_error(req, 403, "Forbidden", "cross_site", detail);
}

static void send_see_other(h2o_req_t *req, const char *location)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location, strlen(location));
    req->res.status = 303;
    req->res.reason = "See Other";
    req->res.content_length = 0;
    h2o_send_inline(req, "", 0);
}

/* the preference centre after a form post that could not be recorded: why, and what was asked for (its switches show
 * that, so trying again is one click) */
static const char *chosen_page(h2o_req_t *req, const char *error, uint16_t mask)
{
    h2o_iovec_t names = gw_consent_mask_names(&req->pool, mask);
    return h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("/__consent/?error=")), h2o_iovec_init(error, strlen(error)),
                      h2o_iovec_init(H2O_STRLIT("&chosen=")), names, h2o_iovec_init("", 1))
        .base;
}

/* the store could not write: 503 with detail, or for a form post (no JavaScript) 303 back to form_page, which says why */
static void send_unavailable(h2o_req_t *req, const char *form_page, const char *detail)
{
    if (form_page != NULL)
        send_see_other(req, form_page);
    else
        gw_send_json_error(req, 503, "Service Unavailable", "store_unavailable", detail);
}

static void on_recorded(h2o_req_t *req, void *data, int status, const gw_record_t *rec)
{
    pending_t *p = data;
    const gw_config_t *c = &gw_rt.conf;

    if (status != 0) {
        /* nothing was promised: no cookie, the visitor's previous state stays */
        send_unavailable(req, p->is_form ? chosen_page(req, "store_unavailable", p->granted) : NULL,
                         "the consent record could not be stored; your choice was not saved, please try again");
        return;
    }
    uint64_t expires = gw_consent_answer_token(req, &p->ctx, p->granted, 1, p->now);
    gw_consent_expire_planted(req, &p->ctx);
    /* not "cookies": browsers apply Clear-Site-Data after this response's Set-Cookie (Chromium does), which would take
     * the decided token just set (an opt-out visitor back to "everything granted", the visitor's id and with it their
     * receipts gone) and the site's own necessary cookies (a logged-in visitor logged out); the refused ones are
     * expired by name above */
    if (p->withdraw)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("clear-site-data"), 0, NULL, H2O_STRLIT("\"storage\""));
    if (gw_metrics != NULL) {
        gw_metrics_add(&gw_metrics->decisions[p->ctx.regime < 3 ? p->ctx.regime : 0], 1);
        for (size_t i = 0; i != c->num_categories; ++i)
            if (p->granted & (1u << i))
                gw_metrics_add(&gw_metrics->decisions_granted[i], 1);
    }

    if (p->is_form) {
        h2o_iovec_t back = p->withdraw ? h2o_iovec_init(H2O_STRLIT("/__consent/?withdrawn=1")) : h2o_iovec_init(H2O_STRLIT("/__consent/?saved=1"));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, back.base, back.len);
        req->res.status = 303;
        req->res.reason = "See Other";
        req->res.content_length = 0;
        h2o_send_inline(req, "", 0);
        return;
    }
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 512);
    gw_jsonw_lit(&w, "{\"receipt\": ");
    gw_jsonw_cstr(&w, rec->receipt);
    gw_jsonw_printf(&w, ", \"method\": \"%s\", \"expires\": %llu, ", gw_record_method_name(rec->method),
                    (unsigned long long)expires);
    gw_consent_state_json(&w, &p->ctx, (uint16_t)(p->granted | gw_consent_necessary_mask()), 1, 1);
    gw_jsonw_lit(&w, "}\n");
    (void)c;
    gw_send_json(req, 200, "OK", h2o_iovec_init(w.buf, w.len));
}

/* store.rate_per_minute: over it, 429 with Retry-After and nothing written (the visitor's state stays); a form post
 * (no JavaScript) is sent back to form_page, which says why */
static int rate_limited(h2o_req_t *req, const char *form_page)
{
    unsigned retry_after;
    char detail[96];
    if (!gw_records_over_rate(req, &retry_after))
        return 0;
    if (form_page != NULL) {
        send_see_other(req, form_page);
        return 1;
    }
    gw_rate_retry_after(req, retry_after);
    snprintf(detail, sizeof(detail), "too many consent changes from this address; please try again in %u s", retry_after);
    gw_send_json_error(req, 429, "Too Many Requests", "rate_limited", detail);
    return 1;
}

static int on_consent(h2o_req_t *req, gw_reqctx_t *ctx, int withdraw)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_consent_choice_t choice = {-1, 0, 0};
    pending_t *p;
    int is_form = 0;
    char detail[160];

    if (is_cross_site(req)) {
        send_cross_site(req, "consent can only be changed from this site's own pages");
        return 0;
    }
    if (!withdraw) {
        if (req->entity.base == NULL || req->entity.len == 0) {
            gw_send_json_error(req, 400, "Bad Request", "bad_body", "missing body");
            return 0;
        }
        if (req->entity.len > GW_CONSENT_BODY_MAX) {
            gw_send_json_error(req, 413, "Payload Too Large", "too_large", "the body is over 4096 bytes");
            return 0;
        }
        is_form = is_form_post(req);
        int rc = is_form ? gw_consent_body_parse_form(req->entity.base, req->entity.len, (const char *const *)c->categories,
                                                      c->num_categories, &choice, detail, sizeof(detail))
                         : gw_consent_body_parse_json(req->entity.base, req->entity.len, (const char *const *)c->categories,
                                                      c->num_categories, &choice, detail, sizeof(detail));
        if (rc != 0) {
            gw_send_json_error(req, 400, "Bad Request", "bad_body", detail);
            return 0;
        }
        withdraw = choice.withdraw; /* the preference centre's withdrawal without JavaScript */
    }

    /* (a rate-limited form post comes back with what it asked for: all, none, or the boxes ticked) */
    uint16_t asked = (uint16_t)(choice.all == 1 ? gw_consent_all_mask()
                                : choice.all == 0 ? gw_consent_necessary_mask()
                                                  : ((choice.value & choice.given) | gw_consent_necessary_mask()));
    if (rate_limited(req, is_form ? chosen_page(req, "rate_limited", asked) : NULL))
        return 0;
    p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->now = gw_now_ms(req) / 1000;
    p->is_form = is_form;
    p->withdraw = withdraw;
    gw_consent_evaluate(req, ctx, p->now);
    p->ctx = *ctx;
    if (!ctx->known_visitor) /* a visitor whose consent expired or predates the policy keeps their id and records */
        gw_token_new_visitor(p->ctx.visitor);

    uint16_t all = gw_consent_all_mask(), nec = gw_consent_necessary_mask();
    gw_record_method_t method;
    if (withdraw) {
        p->granted = nec;
        method = GW_METHOD_WITHDRAW;
    } else if (choice.all == 1) {
        p->granted = all;
        method = GW_METHOD_ACCEPT_ALL;
    } else if (choice.all == 0) {
        p->granted = nec;
        method = GW_METHOD_REJECT_ALL;
    } else {
        p->granted = (uint16_t)(((ctx->granted & ~choice.given) | (choice.value & choice.given) | nec) & all);
        method = p->granted == all ? GW_METHOD_ACCEPT_ALL : p->granted == nec ? GW_METHOD_REJECT_ALL : GW_METHOD_CUSTOM;
    }

    gw_record_t rec;
    memset(&rec, 0, sizeof(rec));
    gw_records_prepare(req, &rec);
    memcpy(rec.visitor, p->ctx.visitor, sizeof(rec.visitor));
    rec.policy_version = c->policy.version;
    rec.granted = p->granted;
    rec.refused = (uint16_t)(all & ~p->granted);
    rec.regime = ctx->regime;
    rec.method = method;
    rec.presented = ctx->has_token ? ctx->token_granted : 0;
    gw_records_set_place(&rec, ctx);
    gw_records_submit(req, &rec, on_recorded, p);
    return 0;
}

/* --- receipts and erasure ------------------------------------------------------------------- */

typedef struct st_receipts_t {
    gw_reqctx_t ctx;
    int download;
} receipts_t;

static void on_receipts(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    receipts_t *r = data;
    char hex[33];
    if (ans->status != 0) {
        gw_send_json_error(req, 503, "Service Unavailable", "store_unavailable", "the consent records cannot be read right now");
        return;
    }
    for (size_t i = 0; i != 16; ++i)
        snprintf(hex + 2 * i, 3, "%02x", r->ctx.visitor[i]);
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, ans->body_len + 128);
    gw_jsonw_lit(&w, "{\"visitor\": ");
    gw_jsonw_str(&w, hex, 32);
    gw_jsonw_lit(&w, ", \"records\": ");
    gw_jsonw_raw(&w, ans->body, ans->body_len);
    if (ans->truncated) /* (the latest GW_STORE_RECEIPTS_MAX; the operator's export has them all) */
        gw_jsonw_lit(&w, ", \"truncated\": true");
    gw_jsonw_lit(&w, "}\n");
    if (r->download)
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("content-disposition"), 0, NULL,
                              H2O_STRLIT("attachment; filename=\"consent-receipts.json\""));
    gw_send_json(req, 200, "OK", h2o_iovec_init(w.buf, w.len));
}

static int on_receipts_req(h2o_req_t *req, gw_reqctx_t *ctx)
{
    receipts_t *r = h2o_mem_alloc_pool(&req->pool, sizeof(*r));
    gw_consent_evaluate(req, ctx, gw_now_ms(req) / 1000);
    r->ctx = *ctx;
    r->download = req->query_at != SIZE_MAX &&
                  h2o_strstr(req->path.base + req->query_at, req->path.len - req->query_at, H2O_STRLIT("download=1")) != SIZE_MAX;
    if (!ctx->known_visitor) {
        static const char none[] = "{\"visitor\": null, \"records\": []}\n";
        gw_send_json(req, 200, "OK", h2o_iovec_init(none, sizeof(none) - 1));
        return 0;
    }
    if (gw_store_receipts(req, ctx->visitor, on_receipts, r) != 0)
        gw_send_json_error(req, 503, "Service Unavailable", "store_unavailable", "the consent records cannot be read right now");
    return 0;
}

typedef struct st_erase_t {
    gw_reqctx_t ctx; /* with the new visitor id */
    uint64_t now;
    int is_form; /* the receipts page without JavaScript: answer 303 back to it */
} erase_t;

static void erase_unavailable(h2o_req_t *req, erase_t *e)
{
    send_unavailable(req, e->is_form ? "/__consent/receipts?error=store_unavailable" : NULL,
                     "your records could not be erased right now; please try again");
}

static void on_erased(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    erase_t *e = data;
    if (ans->status != 0) {
        erase_unavailable(req, e);
        return;
    }
    /* the visitor continues under a new id, undecided: a consent is relied on only while its record can show it
     * (GDPR art. 7(1)), and the records that did are no longer the visitor's; what they refused stays refused (an
     * undecided token narrows the regime's default), what they granted is asked for again */
    gw_consent_answer_token(req, &e->ctx, e->ctx.granted, 0, e->now);
    GW_COUNT(erasures);
    if (e->is_form) { /* the page says how many and shows the erasure's receipt */
        char *loc = h2o_mem_alloc_pool(&req->pool, 96);
        snprintf(loc, 96, "/__consent/receipts?erased=%llu&receipt=%s", (unsigned long long)ans->count, ans->record->receipt);
        send_see_other(req, loc);
        return;
    }
    gw_jsonw_t w;
    gw_jsonw_init(&w, &req->pool, 256);
    gw_jsonw_printf(&w, "{\"erased\": %llu, \"receipt\": ", (unsigned long long)ans->count);
    gw_jsonw_cstr(&w, ans->record->receipt);
    gw_jsonw_lit(&w, "}\n");
    gw_send_json(req, 200, "OK", h2o_iovec_init(w.buf, w.len));
}

static int on_erase_req(h2o_req_t *req, gw_reqctx_t *ctx)
{
    const gw_config_t *c = &gw_rt.conf;
    if (is_cross_site(req)) {
        send_cross_site(req, "records can only be erased from this site's own pages");
        return 0;
    }
    erase_t *e = h2o_mem_alloc_pool(&req->pool, sizeof(*e));
    e->now = gw_now_ms(req) / 1000;
    e->is_form = is_form_post(req);
    gw_consent_evaluate(req, ctx, e->now);
    if (!ctx->known_visitor && e->is_form) {
        send_see_other(req, "/__consent/receipts?erased=0");
        return 0;
    }
    if (!ctx->known_visitor) {
        static const char none[] = "{\"erased\": 0, \"receipt\": null}\n";
        gw_send_json(req, 200, "OK", h2o_iovec_init(none, sizeof(none) - 1));
        return 0;
    }
    if (rate_limited(req, e->is_form ? "/__consent/receipts?error=rate_limited" : NULL))
        return 0;
    gw_record_t rec;
    memset(&rec, 0, sizeof(rec));
    gw_records_prepare(req, &rec);
    rec.policy_version = c->policy.version;
    rec.granted = ctx->granted;
    rec.refused = (uint16_t)(gw_consent_all_mask() & ~ctx->granted);
    rec.regime = ctx->regime;
    rec.method = GW_METHOD_ERASE;
    gw_records_set_place(&rec, ctx);
    e->ctx = *ctx;
    /* all random, not gw_token_new_visitor's: its first 48 bits are the time it was made, here the erasure's, which
     * the erase record carries beside the pseudonym of the erased records: the new id would lead back to them */
    if (gw_random_bytes(e->ctx.visitor, sizeof(e->ctx.visitor)) != 0) {
        erase_unavailable(req, e);
        return 0;
    }
    if (gw_store_erase(req, ctx->visitor, &rec, on_erased, e) != 0)
        erase_unavailable(req, e);
    return 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gw_reqctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    if (gw_server_track_request(req) != 0)
        return 0;
    ctx.is_tls = req->scheme == &H2O_URL_SCHEME_HTTPS;

    size_t pathlen = req->query_at != SIZE_MAX && req->query_at < req->path_normalized.len ? req->query_at : req->path_normalized.len;
    h2o_iovec_t path = h2o_iovec_init(req->path_normalized.base, pathlen);
    h2o_iovec_t m = req->method;
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/state"))) {
        if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
            return on_state(req, &ctx);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/consent"))) {
        if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
            return on_consent(req, &ctx, 0);
        if (h2o_memis(m.base, m.len, H2O_STRLIT("DELETE")))
            return on_consent(req, &ctx, 1);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/receipts"))) {
        if (h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD")))
            return on_receipts_req(req, &ctx);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/erase"))) {
        if (h2o_memis(m.base, m.len, H2O_STRLIT("POST")))
            return on_erase_req(req, &ctx);
    } else {
        gw_send_json_error(req, 404, "Not Found", "not_found", "no such endpoint");
        return 0;
    }
    /* what this endpoint takes (RFC 9110 15.5.6) */
    const char *allow = h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/consent"))  ? "POST, DELETE"
                        : h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/api/erase")) ? "POST"
                                                                                              : "GET, HEAD";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    gw_send_json_error(req, 405, "Method Not Allowed", "method_not_allowed", "this endpoint does not take that method");
    return 0;
}

int gw_consent_api_register(h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/__consent/api", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);
    return 0;
}
