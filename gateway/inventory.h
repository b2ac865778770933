/*
 * inventory — a live cookie scan from real traffic: every cookie name the origin sets
 * (per host and first path segment) with its attributes, category and counts, served at
 * GET /admin/cookies.
 *
 * Each worker thread owns a fixed-size open-addressing table, allocated at start: the
 * request path only writes its own thread's table (no lock, no allocation). An entry's
 * key is written once and then published with a release store; counters are relaxed
 * single-writer counters. The admin handler reads all tables and merges by key.
 */
#ifndef GW_INVENTORY_H
#define GW_INVENTORY_H

#include <h2o.h>
#include "cookie.h"

#define GW_INVENTORY_SLOTS 4096 /* per thread; when full, new names are counted as "overflow" */

int gw_inventory_init(size_t num_threads);

#define GW_INVENTORY_HOST_MAX 64
#define GW_INVENTORY_PATH_MAX 48

/* where a response's cookies are filed: its host (without port, lower-cased) and first path segment, both truncated */
typedef struct st_gw_inventory_page_t {
    char host[GW_INVENTORY_HOST_MAX];
    size_t host_len, path_len;
    const char *path;
} gw_inventory_page_t;

/* the page of a response of req, read once for all its Set-Cookie fields */
void gw_inventory_page(h2o_req_t *req, gw_inventory_page_t *page);

/* records one Set-Cookie seen in a response of req on page; cat: the category index it is enforced as; classified: 0 when
 * neither the cookie database nor the operator's overrides name it (cat is then cookies.unknown_category) */
void gw_inventory_record(h2o_req_t *req, const gw_inventory_page_t *page, const gw_set_cookie_t *sc, int cat, int classified);

/* Calls cb for each entry of the tables, in table order, with its count: a (cookie name, category) seen in Set-Cookie
 * under several hosts, paths or threads comes once for each, and the caller adds them up (merging them here compared
 * every entry with all the others: a preference centre of full tables took 0.4 s of its worker's loop). For the
 * preference centre; not for the request path of proxied requests (it scans the tables). */
typedef void (*gw_inventory_cb)(void *data, const char *name, size_t name_len, int category, uint64_t count);
void gw_inventory_foreach(gw_inventory_cb cb, void *data);

/* registers GET /admin/cookies */
void gw_inventory_register_admin(void);

#endif
