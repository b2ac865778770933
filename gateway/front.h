/*
 * front — the public request path ("/" and everything not under /__consent or /__go):
 *
 *   request stages (in registration order) → reverse proxy → response stages
 *
 * A request stage may answer the request itself (beacons answered at the edge) or edit
 * the request before it is proxied (cookie stripping). Every request also gets a
 * gw_reqctx_t, allocated from req->pool and carried by an h2o prefilter, so that the
 * response stages see what the request stages decided. Later capabilities register
 * their stages in gw_front_register(); nothing else in the request path changes.
 */
#ifndef GW_FRONT_H
#define GW_FRONT_H

#include <h2o.h>
#include <stdint.h>
#include "csp_policy.h"

#define GW_REQCTX_MAX_EXPIRE 32

typedef struct st_gw_reqctx_t {
    unsigned is_tls : 1;
    /* consent state (filled by gw_consent_evaluate) */
    unsigned has_token : 1;   /* a valid token was presented */
    unsigned known_visitor : 1; /* visitor is authentic: from a valid token, or from a correctly signed one that has only
                                   expired or was issued for an older policy version (the visitor's records stay theirs) */
    unsigned decided : 1;     /* ... and it records an explicit choice */
    unsigned tokens_conflict : 1; /* two tokens that verify named different visitors (one planted): see gw_consent_evaluate */
    unsigned gpc : 1;         /* Sec-GPC: 1 */
    unsigned gpc_applied : 1; /* GPC refused categories (opt-out regime, no decision) */
    unsigned issue_token : 1; /* the response carries a new (undecided, GPC) token */
    unsigned gpc_overrides : 1; /* GPC arrived after a token made without it that grants what it refuses (opt-out) */
    unsigned rewritten : 1;   /* the body goes through the HTML rewriter (nonce is set) */
    unsigned gpc_submitting : 1, gpc_answered : 1; /* the GPC refusal record: being submitted / answered meanwhile */
    unsigned base_elsewhere : 1; /* the page's <base href> names another origin: a URL the gateway writes into the
                                    page must name its own origin, or the browser resolves it against that base */
    char nonce[24];           /* this response's CSP nonce (base64url of 16 random bytes) */
    gw_csp_nonces_t origin_csp; /* the nonces the origin's own CSP names, for a rewritten page ("" none) */
    uint8_t regime;
    uint16_t granted;       /* bit i: category i granted for this request */
    uint16_t token_granted; /* what the token says, when has_token */
    uint8_t visitor[16];
    uint64_t consent_expires; /* Unix seconds; 0 when no token */
    char country[3];          /* ISO 3166-1 alpha-2 ("GB"); "" when unknown */
    char subdivision[4];      /* ISO 3166-2 part ("CA" of US-CA); "" when unknown */
    unsigned regime_by_subdivision : 1; /* a rule of the subdivision ("US-CA"), not of the country, decided the regime */
    /* refused cookie names the request carried, to be expired in the response (copies in req->pool) */
    h2o_iovec_t *expire_names;
    uint8_t expire_cats[GW_REQCTX_MAX_EXPIRE];
    size_t num_expire_names;
} gw_reqctx_t;

/* returns GW_STAGE_CONTINUE to go on, GW_STAGE_ANSWERED when the stage has answered the request, GW_STAGE_SUSPENDED
 * when it will call gw_front_resume(req) later (from the request's own thread) to run the next stages and proxy */
enum { GW_STAGE_CONTINUE = 0, GW_STAGE_ANSWERED = 1, GW_STAGE_SUSPENDED = 2 };
typedef int (*gw_request_stage_cb)(h2o_req_t *req, gw_reqctx_t *ctx);
/* edits req->res before the body flows; may add one ostream at *slot (h2o_add_ostream) */
typedef void (*gw_response_stage_cb)(h2o_req_t *req, gw_reqctx_t *ctx, h2o_ostream_t **slot);

void gw_front_add_request_stage(gw_request_stage_cb cb);
void gw_front_add_response_stage(gw_response_stage_cb cb);
void gw_front_resume(h2o_req_t *req);

/* the request's host without its port (an IPv6 literal keeps its brackets) */
h2o_iovec_t gw_req_host(h2o_req_t *req);

/* the raw (not decoded) value of query parameter `name` of req, or base NULL when absent */
h2o_iovec_t gw_req_query_param(h2o_req_t *req, const char *name);

/* builds the "/" path of hostconf: front handler, reverse proxy to conf's upstream, filters */
int gw_front_register(h2o_hostconf_t *hostconf);
/* On h2o's fallback path (what h2o refuses before routing): its 413 as the gateway's page in the visitor's language.
 * Registered after gw_edge_register, so that it runs first (h2o runs the filters registered last first). */
void gw_front_register_fallback(h2o_pathconf_t *pc);

/* The answer is this visitor's: gw_res_make_private makes the origin's Cache-Control private ("public" and "s-maxage"
 * out, "no-store" kept), gw_res_make_personal also adds Vary: cookie (unless it varies on "*") */
void gw_res_make_private(h2o_req_t *req);
/* 1 when the response names no type a browser takes as it is (none valid, "unknown/unknown", …: gw_mime_sniffs), so
 * that a browser sniffs its body */
int gw_res_type_unknown(h2o_req_t *req);
void gw_res_make_personal(h2o_req_t *req);
/* adds name (lower case) to the answer's Vary, once, unless it varies on "*" */
void gw_res_vary(h2o_req_t *req, const char *name, size_t len);

/* Sends a small HTML page with the given status (status page helper shared by all handlers). */
void gw_send_page(h2o_req_t *req, int status, const char *reason, const char *title, const char *message);
/* gw_send_page in the visitor's language: the UI's strings key.title and key.text (title and text, English, when they
 * are not loaded), with Content-Language and Vary: Accept-Language */
void gw_send_page_lang(h2o_req_t *req, int status, const char *reason, const char *key, const char *title, const char *text);

/* Sends body (from req's pool) as application/json, not to be stored; and the public endpoints' error shape (DESIGN),
 * {"error": error, "detail": detail}. */
void gw_send_json(h2o_req_t *req, int status, const char *reason, h2o_iovec_t body);
void gw_send_json_error(h2o_req_t *req, int status, const char *reason, const char *error, const char *detail);

#endif
