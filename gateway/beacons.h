/*
 * beacons — the request stage that answers web beacons at the edge (see filters/beacon.h).
 * Runs after the consent stage (it needs the granted categories); a beacon of a granted
 * category is forwarded untouched.
 */
#ifndef GW_BEACONS_H
#define GW_BEACONS_H

#include <h2o.h>
#include "front.h"

/* Optional tracker-list lookup for a request: returns the category of the first list that
 * matches the request's URL, or -1. Set by the tracker lists when they are configured. */
typedef int (*gw_beacons_list_cb)(h2o_req_t *req, const gw_reqctx_t *ctx, int wants_image, int is_ping);
void gw_beacons_set_list_lookup(gw_beacons_list_cb cb);

/* registers the request stage (call after gw_consent_init) */
int gw_beacons_init(void);

/* path (up to its query) with each run of slashes made one, as origins read it ("//collect" is /collect); pool memory
 * when it changes */
h2o_iovec_t gw_beacons_merge_slashes(h2o_mem_pool_t *pool, h2o_iovec_t path);

#endif
