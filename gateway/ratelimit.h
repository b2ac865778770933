/*
 * ratelimit — at most N requests per client per minute, counted across all worker threads without a lock.
 *
 * The client is a key gw_rate_client_key() makes of an address (gw_consent_client_key() of a request:
 * the connection's peer, or what a trusted proxy forwarded, so that behind a CDN every visitor does not
 * share the CDN's window). IPv6 clients count per /64 (one host commonly holds a whole /64), IPv4-mapped
 * IPv6 as IPv4. A window of one minute opens with the client's first request, not at the clock's minute
 * (where a burst could straddle two windows).
 *
 * A table is shared by every thread: a direct-mapped array of GW_RATE_SLOTS 64-bit words, each updated
 * with one compare-and-swap (no lock, no allocation). A word holds a 24-bit fingerprint of its client's
 * key, the window's start (seconds, modulo 2^20) and the count. A client whose slot another client took
 * starts a new window, so a collision lets a client through early rather than hold one back; only two
 * clients of one slot with equal fingerprints (1 in 2^24) would share a window.
 */
#ifndef CG_RATELIMIT_H
#define CG_RATELIMIT_H

#include <h2o.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define GW_RATE_SLOTS 4096
#define GW_RATE_MAX_PER_MINUTE 1000000 /* the count's 20 bits hold one more than this */

typedef struct st_gw_rate_table_t {
    _Atomic uint64_t slots[GW_RATE_SLOTS];
} gw_rate_table_t; /* zero-initialised: empty */

/* counts one request of client `key` at now_ms; 1 when it is over per_minute (and *retry_after_s, when not NULL,
 * set to the seconds until its window ends), 0 when it may go on (per_minute 0: no limit; nothing counted) */
int gw_rate_take(gw_rate_table_t *table, uint64_t key, uint64_t now_ms, unsigned per_minute, unsigned *retry_after_s);

/* the key the limiter counts a client address under: equal for addresses of one /64 (IPv6), one address (IPv4,
 * and IPv4-mapped IPv6 as IPv4); never 0 */
uint64_t gw_rate_client_key(const struct sockaddr *sa);

/* adds Retry-After: seconds to req->res */
void gw_rate_retry_after(h2o_req_t *req, unsigned seconds);

#endif
