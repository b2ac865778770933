/*
 * edge — what every answer of the public listeners carries, whoever made it (the origin through the proxy, the consent
 * UI and API, /__go, the report endpoint, the gateway's error pages, h2o's own refusals): Strict-Transport-Security
 * under TLS, and the send timeout (sendwatch.c).
 */
#ifndef GW_EDGE_H
#define GW_EDGE_H

#include <h2o.h>

/* Builds the HSTS value from the configuration (channel.hsts_max_age) and sets up the send timeout's per-thread timer
 * (gw_sendwatch_init). Call once at start, before the worker threads are made. */
void gw_edge_init(void);

/* Registers the filter on pc. h2o runs a path's filters last registered first: register it after the filters whose
 * ostreams must come after the watch (h2o's compressor on "/"), and after a path's own handlers are set up. */
void gw_edge_register(h2o_pathconf_t *pc);

#endif
