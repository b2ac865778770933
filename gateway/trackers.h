/*
 * trackers — the tracker lists of the config (`trackers.lists`, Adblock Plus / uBlock network
 * rules, filters/abp.c) as one immutable matcher, and the lookups the beacon stage and the
 * HTML rewriter make. Default lists, when the config names none: Debian's EasyPrivacy
 * (analytics) and EasyList (marketing) from webext-ublock-origin-chromium, if installed.
 */
#ifndef GW_TRACKERS_H
#define GW_TRACKERS_H

#include <stddef.h>
#include <stdint.h>

/* loads the lists (malformed lines are counted and logged, the rest loads); registers the beacon lookup
 * and GET /admin/trackers. Returns 0 or -1 (logged). */
int gw_trackers_init(void);

/*
 * Categories whose lists block `url` (absolute) of the given type (GW_ABP_* of abp.h) requested by a page on
 * page_host, as a bitmask (bit c: category c; 0: no list, no match, or an exception rule). A URL listed in two
 * lists carries both categories: it may pass only when every one of them is granted. host is the URL's host.
 * No allocation, no lock.
 */
uint32_t gw_trackers_classify(const char *url, size_t url_len, const char *host, size_t host_len, const char *page_host,
                              size_t page_host_len, int type);

/*
 * The same verdict for a URL as the caller spells it, from which the URL requested follows (the rewriter's: a page's
 * URL as written, made absolute), so that the URL requested is built only when this thread has no verdict for the
 * spelling: 1 and *mask when it has one; else 0, and gw_trackers_classify_recalled with rc gives the verdict for the
 * URL requested (arguments as gw_trackers_classify's) and keeps it under the spelling. No allocation, no lock.
 */
typedef struct st_gw_trackers_recall_t {
    const void *snap;
    void *entry;
    uint64_t key;
    size_t key_len;
} gw_trackers_recall_t;
int gw_trackers_recall(gw_trackers_recall_t *rc, const char *written, size_t written_len, const char *page_host,
                       size_t page_host_len, int type, uint32_t *mask);
uint32_t gw_trackers_classify_recalled(const gw_trackers_recall_t *rc, const char *url, size_t url_len, const char *host,
                                       size_t host_len, const char *page_host, size_t page_host_len, int type);

/* the category a mask is reported under for a visitor: the lowest refused one, else the lowest one; -1 for 0 */
int gw_trackers_pick(uint32_t mask, uint16_t granted);

/* records a tracker seen on a page for GET /admin/trackers (action: 0 passed, 1 neutralised, 2 answered at the edge) */
void gw_trackers_seen(const char *host, size_t host_len, const char *page_path, size_t page_path_len, int category, int action);

/* Calls cb for each entry of the tables, in table order, with its counts passed / neutralised / answered at the edge: a
 * (tracker host, category, first party) seen on several pages or threads comes once for each, and the caller adds them
 * up (see gw_inventory_foreach). For the preference centre. first_party: a beacon to the site itself, filed under the
 * Host header its request had (which any client writes: not a name to show others). */
typedef void (*gw_trackers_cb)(void *data, const char *host, size_t host_len, int category, int first_party,
                               const uint64_t counts[3]);
void gw_trackers_foreach_seen(gw_trackers_cb cb, void *data);

/* registers GET /admin/trackers and GET /admin/lists-style counts of the tracker lists */
void gw_trackers_register_admin(void);

#endif
