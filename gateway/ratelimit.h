/*
 * ratelimit — at most N requests per client per minute, counted per worker thread without a lock.
 *
 * The client is the address gw_consent_client_addr() names: the connection's peer, or what a
 * trusted proxy forwarded (geoip.trusted_proxies), so that behind a CDN every visitor does not share
 * the CDN's window. IPv6 clients count per /64 (one host commonly holds a whole /64), IPv4-mapped
 * IPv6 as IPv4. A window of one minute opens with the client's first request, not at the clock's
 * minute (where a burst could straddle two windows).
 *
 * Each use keeps its own table, one per worker thread: a `static __thread gw_rate_table_t *` of the
 * caller, allocated at its thread's first request. The table is direct-mapped (GW_RATE_SLOTS): a
 * client whose slot another client took starts a new window, so a collision can only ever let a
 * client through, never hold one back. With N worker threads a client can get N times the limit.
 */
#ifndef CG_RATELIMIT_H
#define CG_RATELIMIT_H

#include <h2o.h>

#define GW_RATE_SLOTS 1024

typedef struct st_gw_rate_table_t gw_rate_table_t;

/* 1 when this request is over per_minute for its client (and *retry_after_s set to the seconds until its window
 * ends), 0 when it may go on (per_minute 0: no limit; nothing counted) */
int gw_rate_over(gw_rate_table_t **table, h2o_req_t *req, unsigned per_minute, unsigned *retry_after_s);

/* adds Retry-After: seconds to req->res */
void gw_rate_retry_after(h2o_req_t *req, unsigned seconds);

/* the key the limiter counts a client address under (exposed for the unit test): equal for addresses of one /64
 * (IPv6), one address (IPv4, and IPv4-mapped IPv6 as IPv4); never 0 */
uint64_t gw_rate_client_key(const struct sockaddr *sa);

#endif
