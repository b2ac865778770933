/*
 * consent — cookie acceptance levels on the request path.
 *
 * For every proxied request: find the client address (X-Forwarded-For only from trusted
 * proxies), its jurisdiction and regime, verify the consent token, and decide which
 * categories are granted. Then strip the Cookie values of the other categories (and the
 * token itself) before the origin sees the request, and in the response drop their
 * Set-Cookie headers, cap the lifetime of granted ones to the consent's expiry, and
 * expire refused cookies the browser still carries. Nothing here allocates outside
 * req->pool, takes a lock or touches JSON.
 */
#ifndef GW_CONSENT_H
#define GW_CONSENT_H

#include <h2o.h>
#include "front.h"

#define GW_CONSENT_COOKIE "cg_consent"
#define GW_CONSENT_COOKIE_TLS "__Host-cg_consent"

/* loads keys, the cookie database, the geo database and the regime table; registers the stages. 0 or -1 (logged) */
int gw_consent_init(void);

/* Loads the cookie database, cookies.database_categories and cookies.overrides as gw_consent_init does, and warns as it
 * does (for --check-config); 0, or -1 with the reason in err. */
int gw_consent_check_cookies(char *err, size_t errlen);

/* Warns about a regimes.by_country table that cannot apply (no geoip.database), at the start and for --check-config. */
void gw_consent_warn_regimes(void);

/* Opens geoip.database as gw_geo_open does, and refuses one that cannot tell a subdivision regimes.by_country names. */
struct st_gw_geo_t *gw_consent_open_geo(char *err, size_t errlen);

/* Fills ctx's consent fields for req (regime, country, GPC, token, granted) without changing the request.
 * now: Unix seconds. Returns the token verification status (GW_TOKEN_OK when a valid token was presented,
 * -1 when there was no token). */
int gw_consent_evaluate(h2o_req_t *req, gw_reqctx_t *ctx, uint64_t now);

/* the categories a regime grants without a decision (GPC applied) */
uint16_t gw_consent_default_grant(int regime, int gpc);

/* the signing keys in force (a snapshot: use it within one callback) */
struct st_gw_secrets_t;
const struct st_gw_secrets_t *gw_consent_secrets(void);

/* the Public Suffix List context (Debian's publicsuffix, or libpsl's builtin copy) */
#include <libpsl.h>
const psl_ctx_t *gw_consent_psl(void);

/* bitmask of every configured category, and of "necessary" */
uint16_t gw_consent_all_mask(void);
uint16_t gw_consent_necessary_mask(void);

/* category of a cookie name (the database, then cookies.unknown_category) */
int gw_consent_classify(const char *name, size_t len);

/* For the gateway's own pages (preference centre, receipts): a GPC visitor's first request in an opt-out
 * regime (ctx evaluated; no token, or one the signal overrides) records the refusal, and once it is committed
 * adds the undecided GPC token to req->res (none when the store could not write it) and calls then(req, data)
 * to send the page, as the first proxied page waits. Returns 1 when it did that (then runs later, or before the
 * return), 0 when there was nothing to record (the caller sends the page itself). ctx must live as long as the
 * request. */
int gw_consent_first_gpc(h2o_req_t *req, gw_reqctx_t *ctx, void (*then)(h2o_req_t *req, void *data), void *data);

/* The token of an answer the gateway gives itself (the consent API, an erasure, a GPC visitor's first page of the
 * gateway's): its Set-Cookie, and the expiry of the cookies the request carried that it refuses, which the filter for
 * such answers leaves to the answer that sets a token. Returns the token's expiry (Unix seconds). */
uint64_t gw_consent_answer_token(h2o_req_t *req, gw_reqctx_t *ctx, uint16_t granted, int decided, uint64_t now);

/* Adds "NAME=; Max-Age=0" Set-Cookie headers (host-only and for the registrable domain) to req->res for every
 * cookie the request carries whose category is in `refused` (names are noted in ctx). Returns how many names. */
size_t gw_consent_expire_carried(h2o_req_t *req, gw_reqctx_t *ctx, uint16_t refused);

/* "necessary,analytics" for a mask, from pool */
h2o_iovec_t gw_consent_mask_names(h2o_mem_pool_t *pool, uint16_t mask);

/* Writes the members of the state object (without braces): visitor (with_visitor only), policy_version, regime,
 * country, subdivision, gpc, gpc_applied, decided, categories. */
struct st_gw_jsonw_t;
void gw_consent_state_json(struct st_gw_jsonw_t *w, const gw_reqctx_t *ctx, uint16_t granted, int decided, int with_visitor);

/* milliseconds since the epoch of the request's event loop (no syscall) */
uint64_t gw_now_ms(h2o_req_t *req);

/* Registers on pc (a path the gateway answers itself) a filter that expires the refused cookies a request carries, by
 * the request's own decision, as the proxied path does; an answer that sets a new token is left as it is. */
void gw_consent_register_served(h2o_pathconf_t *pc);

/* After two tokens that named different visitors (ctx->tokens_conflict, plain HTTP): a Set-Cookie that expires a
 * cg_consent set with Domain=<the registrable domain> (the planted one; the gateway's own is host-only), so that the
 * visitor's own token is theirs again. Returns 1 when it added one. */
int gw_consent_expire_planted(h2o_req_t *req, const gw_reqctx_t *ctx);

/* Settles the request's scheme (req->scheme and req->input.scheme) as each request arrives: https when its connection
 * is TLS (not what an HTTP/2 client's :scheme says), or when a trusted proxy (geoip.trusted_proxies) forwards it with
 * "X-Forwarded-Proto: https" (TLS ended there). Then the consent cookie is __Host- and Secure, the consent API's Origin
 * check expects https, HSTS is sent and the origin is told X-Forwarded-Proto: https. */
void gw_consent_settle_scheme(h2o_req_t *req);

/* 1 when peer is one of geoip.trusted_proxies (lock-free: the list is built before the workers start) */
int gw_consent_trusted_peer(const struct sockaddr *peer);

/* The client's address: the connection's peer, or the address a trusted proxy (geoip.trusted_proxies) put in
 * X-Forwarded-For. Returns 0, or -1 when the connection has no peer address. */
int gw_consent_client_addr(h2o_req_t *req, struct sockaddr_storage *client);

/* the rate limiter's key (gw_rate_client_key) of that address; requests without one share one key */
uint64_t gw_consent_client_key(h2o_req_t *req);

#endif
