/*
 * metrics — per-thread counters rendered as Prometheus text at GET /admin/metrics.
 *
 * Each worker thread owns one gw_metrics_t and is its only writer, so counting is a
 * plain load/add/store (relaxed atomics: no lock prefix, no contention, no false
 * sharing between threads). The admin handler sums all threads when it renders.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "log.h"

#define GW_METRICS_MAX_THREADS 256
#define GW_METRICS_LATENCY_BUCKETS 14

/* exact status codes with their own series; everything else counts as its class ("2xx") */
#define GW_METRICS_STATUS_LIST 200, 204, 206, 301, 302, 303, 304, 400, 401, 403, 404, 405, 413, 431, 500, 502, 503, 504
#define GW_METRICS_NUM_STATUS 18

enum { GW_TOKEN_REJECT_REASONS = 8 };

typedef struct st_gw_metrics_t {
    uint64_t requests;
    uint64_t status[GW_METRICS_NUM_STATUS];
    uint64_t status_class[6]; /* 0: other, 1..5: 1xx..5xx not listed exactly */
    uint64_t admin_status[GW_METRICS_NUM_STATUS]; /* the admin listener's requests, apart from the site's above */
    uint64_t admin_status_class[6];
    uint64_t upstream_errors;
    uint64_t upstream_timeouts;
    uint64_t upstream_broken; /* answers the origin broke off after their head (front.c log_broken_answer) */
    uint64_t connections_accepted;
    uint64_t accept_rests; /* accept() failed for want of descriptors or kernel memory: the listeners rested (server.c) */
    uint64_t latency_bucket[GW_METRICS_LATENCY_BUCKETS]; /* cumulative at render time */
    uint64_t latency_sum_us;
    /* cookie acceptance levels */
    uint64_t cookies_stripped[GW_MAX_CATEGORIES];
    uint64_t set_cookies_dropped[GW_MAX_CATEGORIES];
    uint64_t cookies_expired[GW_MAX_CATEGORIES];
    uint64_t would_strip[GW_MAX_CATEGORIES]; /* report-only mode */
    uint64_t would_drop[GW_MAX_CATEGORIES];
    uint64_t decisions[3]; /* by regime */
    uint64_t decisions_granted[GW_MAX_CATEGORIES]; /* of those, the ones that granted each category */
    uint64_t gpc_refusals; /* GPC refusals recorded (a record of method "gpc": no decision) */
    uint64_t erasures;     /* erasures done (a visitor's records pseudonymised, an "erase" record) */
    uint64_t tokens_rejected[GW_TOKEN_REJECT_REASONS];
    uint64_t cookie_header_unreadable;
    uint64_t tokens_conflicting; /* requests with two valid consent tokens of different visitors */
    /* web beacons and tracker tags */
    uint64_t beacons_answered[GW_MAX_CATEGORIES];
    uint64_t beacons_would_answer[GW_MAX_CATEGORIES]; /* report-only */
    uint64_t tags_neutralised[GW_MAX_CATEGORIES];
    uint64_t tags_would_neutralise[GW_MAX_CATEGORIES]; /* report-only */
    uint64_t html_unreadable;        /* HTML pages in an encoding the rewriter cannot read: passed through */
    uint64_t html_sniffed;           /* bodies without a Content-Type that the browser takes for HTML: read as pages */
    uint64_t html_oversized_removed; /* script/iframe/… start tags too long to check: removed */
    uint64_t html_svg_scripts_removed; /* inline SVG scripts not readable whole (a comment or tag in them, too long): removed */
    uint64_t html_memo_hits;         /* pages answered from a remembered rewrite (memo.h) */
    uint64_t html_memo_stored;       /* rewrites remembered */
    uint64_t html_memo_entries, html_memo_bytes; /* gauges of this thread's memo: pages remembered, bytes in use */
    uint64_t css_checked;   /* style sheets (text/css) read whole and their URLs checked */
    uint64_t css_unchecked; /* style sheets over the size read whole, or in an encoding not read: passed unchecked */
    uint64_t html_big_refused; /* bigger tokenizer buffers refused: the worker's big buffers at their budget */
    uint64_t speculation_rules_dropped; /* speculation rule sets answered without rules (rules_response) */
    uint64_t csp_meta_nonce_blocked; /* pages whose <meta> CSP nonce-scripts the enforcing policy blocks (rewrite.c) */
    /* private network channel */
    uint64_t risk_subresources_removed, risk_subresources_warned, risk_subresources_monitored, risk_subresources_unreadable;
    uint64_t reports_foreign; /* CSP reports about another site's page: refused */
    uint64_t links_wrapped, go_redirected, go_warned, go_blocked, go_bad_signature, go_unreadable, risk_redirects_shimmed;
    uint64_t reports_received, reports_rate_limited;
    uint64_t records_rate_limited; /* record writes refused: store.rate_per_minute */
    uint64_t proxy_headers_refused; /* connections on a proxy_protocol listener closed: no valid header, or not trusted */
    uint64_t send_timeouts; /* answers ended: the client took nothing of them for proxy.send_timeout_ms (sendwatch.c) */
} __attribute__((aligned(64))) gw_metrics_t; /* two threads' blocks never share a cache line */

/* this thread's block (NULL outside worker threads: counting is then skipped) */
extern __thread gw_metrics_t *gw_metrics;

/* one block per thread, allocated once at start */
extern gw_metrics_t *gw_metrics_threads;
extern size_t gw_metrics_num_threads;

int gw_metrics_init(size_t num_threads);

static inline void gw_metrics_add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

#define GW_COUNT(field)                                                                                                            \
    do {                                                                                                                           \
        if (gw_metrics != NULL)                                                                                                    \
            gw_metrics_add(&gw_metrics->field, 1);                                                                                 \
    } while (0)

/* counts, and says the first of them on this thread in the error log (the rest only in the counter: a cause that repeats
 * with every request does not flood the log) */
#define GW_COUNT_WARN_FIRST(field, ...)                                                                                            \
    do {                                                                                                                           \
        static __thread int warned_;                                                                                               \
        GW_COUNT(field);                                                                                                           \
        if (!warned_) {                                                                                                            \
            warned_ = 1;                                                                                                           \
            gw_warn(__VA_ARGS__);                                                                                                  \
        }                                                                                                                          \
    } while (0)

/* requests answered so far, all threads */
uint64_t gw_metrics_total_requests(void);

/* records one finished request of the site (the public listeners): status and latency in microseconds */
void gw_metrics_request(int status, uint64_t latency_us);

/* records one finished request of the admin listener (its status only: scrapes and exports are not the site's traffic) */
void gw_metrics_admin_request(int status);

/* Renders all counters (summed over threads, plus per-thread request counts) as Prometheus text.
 * Returns a malloc'ed NUL-terminated buffer (caller frees) and its length in *len. Names for category
 * labels come from conf. */
char *gw_metrics_render(const gw_config_t *conf, size_t *len);

#endif
