/*
 * metrics — see metrics.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "token.h"
#include "store.h"

__thread gw_metrics_t *gw_metrics;
gw_metrics_t *gw_metrics_threads;
size_t gw_metrics_num_threads;

static const int status_list[GW_METRICS_NUM_STATUS] = {GW_METRICS_STATUS_LIST};
static const double latency_le[GW_METRICS_LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

int gw_metrics_init(size_t num_threads)
{
    if (num_threads == 0 || num_threads > GW_METRICS_MAX_THREADS)
        return -1;
    void *p;
    if (posix_memalign(&p, 64, sizeof(gw_metrics_t) * num_threads) != 0)
        return -1;
    gw_metrics_threads = p;
    memset(gw_metrics_threads, 0, sizeof(gw_metrics_t) * num_threads);
    gw_metrics_num_threads = num_threads;
    return 0;
}

/* a status's series: its own when listed, else its class's */
static void count_status(uint64_t *exact, uint64_t *classes, int status)
{
    size_t i;
    for (i = 0; i != GW_METRICS_NUM_STATUS; ++i)
        if (status_list[i] == status)
            break;
    if (i != GW_METRICS_NUM_STATUS)
        gw_metrics_add(&exact[i], 1);
    else
        gw_metrics_add(&classes[status >= 100 && status < 600 ? status / 100 : 0], 1);
}

void gw_metrics_admin_request(int status)
{
    if (gw_metrics != NULL)
        count_status(gw_metrics->admin_status, gw_metrics->admin_status_class, status);
}

void gw_metrics_request(int status, uint64_t latency_us)
{
    gw_metrics_t *m = gw_metrics;
    size_t i;
    if (m == NULL)
        return;
    gw_metrics_add(&m->requests, 1);
    count_status(m->status, m->status_class, status);
    for (i = 0; i != GW_METRICS_LATENCY_BUCKETS; ++i)
        if ((double)latency_us <= latency_le[i] * 1e6)
            break;
    if (i != GW_METRICS_LATENCY_BUCKETS)
        gw_metrics_add(&m->latency_bucket[i], 1);
    gw_metrics_add(&m->latency_sum_us, latency_us);
}

uint64_t gw_metrics_total_requests(void)
{
    uint64_t total = 0;
    for (size_t t = 0; t != gw_metrics_num_threads; ++t)
        total += __atomic_load_n(&gw_metrics_threads[t].requests, __ATOMIC_RELAXED);
    return total;
}

typedef struct st_out_t {
    char *buf;
    size_t len, cap;
} out_t;

static void emit(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(out_t *o, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap = o->cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
        o->buf = h2o_mem_realloc(o->buf, o->cap);
    }
}

#define SUM(field) sum_field(offsetof(gw_metrics_t, field))
static uint64_t sum_field(size_t off)
{
    uint64_t total = 0;
    for (size_t t = 0; t != gw_metrics_num_threads; ++t)
        total += __atomic_load_n((uint64_t *)((char *)(gw_metrics_threads + t) + off), __ATOMIC_RELAXED);
    return total;
}

static void emit_per_category(out_t *o, const gw_config_t *conf, const char *name, const char *help, size_t off)
{
    emit(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t c = 0; c != conf->num_categories; ++c)
        emit(o, "%s{category=\"%s\"} %llu\n", name, conf->categories[c],
             (unsigned long long)sum_field(off + c * sizeof(uint64_t)));
}

/* a family by status: each listed code, then the classes of the others ("other" only once it has counted one) */
static void emit_by_status(out_t *o, const char *name, const char *help, size_t exact, size_t classes)
{
    static const char *const class_names[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    emit(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (size_t i = 0; i != GW_METRICS_NUM_STATUS; ++i)
        emit(o, "%s{status=\"%d\"} %llu\n", name, status_list[i], (unsigned long long)sum_field(exact + i * sizeof(uint64_t)));
    for (size_t i = 0; i != 6; ++i) {
        uint64_t n = sum_field(classes + i * sizeof(uint64_t));
        if (n != 0 || i != 0)
            emit(o, "%s{status=\"%s\"} %llu\n", name, class_names[i], (unsigned long long)n);
    }
}

char *gw_metrics_render(const gw_config_t *conf, size_t *len)
{
    static const char *const regimes[] = {"opt-in", "opt-out", "notice"};
    static const char *const reasons[GW_TOKEN_REJECT_REASONS] = {"ok",      "malformed",  "unknown_key",  "bad_mac",
                                                                 "expired", "old_policy", "issued_ahead", "other"};
    out_t o = {h2o_mem_alloc(8192), 0, 8192};
    size_t i;

    emit_by_status(&o, "cg_requests_total", "Requests answered on the public listeners, by status code.",
                   offsetof(gw_metrics_t, status), offsetof(gw_metrics_t, status_class));
    emit_by_status(&o, "cg_admin_requests_total",
                   "Requests answered on the admin listener (scrapes, exports, refused tokens), by status code.",
                   offsetof(gw_metrics_t, admin_status), offsetof(gw_metrics_t, admin_status_class));
    emit(&o, "# HELP cg_thread_requests_total Requests answered on the public listeners, by worker thread.\n# TYPE cg_thread_requests_total counter\n");
    for (size_t t = 0; t != gw_metrics_num_threads; ++t)
        emit(&o, "cg_thread_requests_total{thread=\"%zu\"} %llu\n", t,
             (unsigned long long)__atomic_load_n(&gw_metrics_threads[t].requests, __ATOMIC_RELAXED));
    emit(&o, "# HELP cg_connections_accepted_total Client connections accepted on the public listeners.\n# TYPE cg_connections_accepted_total counter\n"
             "cg_connections_accepted_total %llu\n",
         (unsigned long long)SUM(connections_accepted));
    emit(&o, "# HELP cg_accept_rests_total Times accept() failed for want of file descriptors (or of kernel memory) and the "
             "listeners rested 100 ms: raise the descriptor limit or lower proxy.max_connections.\n"
             "# TYPE cg_accept_rests_total counter\ncg_accept_rests_total %llu\n",
         (unsigned long long)SUM(accept_rests));
    emit(&o, "# HELP cg_proxy_headers_refused_total Connections on a proxy_protocol listener closed: no valid PROXY header in "
             "time, or not from one of geoip.trusted_proxies.\n# TYPE cg_proxy_headers_refused_total counter\n"
             "cg_proxy_headers_refused_total %llu\n",
         (unsigned long long)SUM(proxy_headers_refused));
    emit(&o, "# HELP cg_send_timeouts_total Answers ended because the client took nothing of them for proxy.send_timeout_ms "
             "(an HTTP/2 stream reset, or the connection closed).\n# TYPE cg_send_timeouts_total counter\n"
             "cg_send_timeouts_total %llu\n",
         (unsigned long long)SUM(send_timeouts));
    emit(&o, "# HELP cg_upstream_errors_total Requests the origin could not answer (502/504).\n"
             "# TYPE cg_upstream_errors_total counter\ncg_upstream_errors_total %llu\n"
             "# HELP cg_upstream_timeouts_total Upstream I/O timeouts (504).\n"
             "# TYPE cg_upstream_timeouts_total counter\ncg_upstream_timeouts_total %llu\n"
             "# HELP cg_upstream_broken_total Answers the origin broke off after their head (closed or silent mid-body, gzip "
             "that does not decode): the client got them cut short.\n"
             "# TYPE cg_upstream_broken_total counter\ncg_upstream_broken_total %llu\n",
         (unsigned long long)SUM(upstream_errors), (unsigned long long)SUM(upstream_timeouts), (unsigned long long)SUM(upstream_broken));
    emit(&o, "# HELP cg_request_duration_seconds Time from request start to the end of the response, public listeners.\n"
             "# TYPE cg_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (i = 0; i != GW_METRICS_LATENCY_BUCKETS; ++i) {
        cum += sum_field(offsetof(gw_metrics_t, latency_bucket) + i * sizeof(uint64_t));
        emit(&o, "cg_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_le[i], (unsigned long long)cum);
    }
    uint64_t total = SUM(requests);
    emit(&o, "cg_request_duration_seconds_bucket{le=\"+Inf\"} %llu\ncg_request_duration_seconds_sum %.6f\n"
             "cg_request_duration_seconds_count %llu\n",
         (unsigned long long)total, (double)SUM(latency_sum_us) / 1e6, (unsigned long long)total);

    emit_per_category(&o, conf, "cg_cookies_stripped_total", "Cookie values not forwarded to the origin, by category.",
                      offsetof(gw_metrics_t, cookies_stripped));
    emit_per_category(&o, conf, "cg_set_cookies_dropped_total", "Set-Cookie headers dropped, by category.",
                      offsetof(gw_metrics_t, set_cookies_dropped));
    emit_per_category(&o, conf, "cg_cookies_expired_total", "Refused cookies a response expired (Max-Age=0), by category.",
                      offsetof(gw_metrics_t, cookies_expired));
    emit_per_category(&o, conf, "cg_report_only_would_strip_total", "Report-only: cookie values that would be stripped.",
                      offsetof(gw_metrics_t, would_strip));
    emit_per_category(&o, conf, "cg_report_only_would_drop_total", "Report-only: Set-Cookie headers that would be dropped.",
                      offsetof(gw_metrics_t, would_drop));
    emit(&o, "# HELP cg_decisions_total Consent decisions recorded, by regime.\n# TYPE cg_decisions_total counter\n");
    for (i = 0; i != 3; ++i)
        emit(&o, "cg_decisions_total{regime=\"%s\"} %llu\n", regimes[i],
             (unsigned long long)sum_field(offsetof(gw_metrics_t, decisions) + i * sizeof(uint64_t)));
    emit_per_category(&o, conf, "cg_decisions_granted_total",
                      "Consent decisions recorded that granted the category (over cg_decisions_total: its acceptance rate).",
                      offsetof(gw_metrics_t, decisions_granted));
    emit(&o, "# HELP cg_gpc_refusals_total GPC refusals recorded (Sec-GPC: 1 in an opt-out regime, once per visitor): no decision.\n"
             "# TYPE cg_gpc_refusals_total counter\ncg_gpc_refusals_total %llu\n"
             "# HELP cg_erasures_total Erasures done: a visitor's records pseudonymised at their request.\n"
             "# TYPE cg_erasures_total counter\ncg_erasures_total %llu\n",
         (unsigned long long)SUM(gpc_refusals), (unsigned long long)SUM(erasures));
    emit(&o, "# HELP cg_tokens_rejected_total Consent tokens that failed verification, by reason.\n"
             "# TYPE cg_tokens_rejected_total counter\n");
    for (i = 1; i != GW_TOKEN_ISSUED_AHEAD + 1; ++i)
        emit(&o, "cg_tokens_rejected_total{reason=\"%s\"} %llu\n", reasons[i],
             (unsigned long long)sum_field(offsetof(gw_metrics_t, tokens_rejected) + i * sizeof(uint64_t)));
    emit(&o, "# HELP cg_cookie_header_unreadable_total Cookie headers that could not be fully parsed (failed closed).\n"
             "# TYPE cg_cookie_header_unreadable_total counter\ncg_cookie_header_unreadable_total %llu\n"
             "# HELP cg_tokens_conflicting_total Requests carrying two valid consent tokens of different visitors (one planted): "
             "read as the narrower, naming no visitor.\n"
             "# TYPE cg_tokens_conflicting_total counter\ncg_tokens_conflicting_total %llu\n",
         (unsigned long long)SUM(cookie_header_unreadable), (unsigned long long)SUM(tokens_conflicting));
    emit_per_category(&o, conf, "cg_beacons_answered_total", "Beacons of a refused category answered at the edge, by category.",
                      offsetof(gw_metrics_t, beacons_answered));
    emit_per_category(&o, conf, "cg_report_only_would_answer_beacons_total", "Report-only: beacons that would be answered at the edge.",
                      offsetof(gw_metrics_t, beacons_would_answer));
    emit_per_category(&o, conf, "cg_tags_neutralised_total", "Tracker tags made inert in HTML, by category.",
                      offsetof(gw_metrics_t, tags_neutralised));
    emit_per_category(&o, conf, "cg_report_only_would_neutralise_total", "Report-only: tracker tags that would be made inert.",
                      offsetof(gw_metrics_t, tags_would_neutralise));
    emit(&o, "# HELP cg_html_unreadable_total HTML pages the rewriter cannot read (a content encoding it does not decode, ISO-2022-JP, "
             "XHTML in UTF-16), passed through unchanged.\n"
             "# TYPE cg_html_unreadable_total counter\ncg_html_unreadable_total %llu\n"
             "# HELP cg_html_sniffed_total Bodies without a valid Content-Type that browsers take for HTML: read as pages (text/html).\n"
             "# TYPE cg_html_sniffed_total counter\ncg_html_sniffed_total %llu\n"
             "# HELP cg_html_oversized_removed_total Elements that cannot be checked, removed (a link: disabled): a start tag over 1 MB "
             "(script, iframe, a, form, link, …), a URL over 16 KB, more edits than a tag takes.\n"
             "# TYPE cg_html_oversized_removed_total counter\ncg_html_oversized_removed_total %llu\n"
             "# HELP cg_html_svg_scripts_removed_total Inline SVG scripts removed unread: a comment or a tag in them (which may "
             "break out of the svg), or over 1 MB of text.\n"
             "# TYPE cg_html_svg_scripts_removed_total counter\ncg_html_svg_scripts_removed_total %llu\n"
             "# HELP cg_html_memo_hits_total Pages whose body was byte for byte one rewritten before: answered from that rewrite.\n"
             "# TYPE cg_html_memo_hits_total counter\ncg_html_memo_hits_total %llu\n"
             "# HELP cg_html_memo_stored_total Rewritten pages remembered (html.memo_kb).\n"
             "# TYPE cg_html_memo_stored_total counter\ncg_html_memo_stored_total %llu\n"
             "# HELP cg_html_memo_entries Rewritten pages remembered now, all worker threads.\n"
             "# TYPE cg_html_memo_entries gauge\ncg_html_memo_entries %llu\n"
             "# HELP cg_html_memo_bytes Bytes of the remembered rewrites' memory in use, all worker threads (of html.memo_kb each).\n"
             "# TYPE cg_html_memo_bytes gauge\ncg_html_memo_bytes %llu\n",
         (unsigned long long)SUM(html_unreadable), (unsigned long long)SUM(html_sniffed), (unsigned long long)SUM(html_oversized_removed),
         (unsigned long long)SUM(html_svg_scripts_removed),
         (unsigned long long)SUM(html_memo_hits), (unsigned long long)SUM(html_memo_stored),
         (unsigned long long)SUM(html_memo_entries), (unsigned long long)SUM(html_memo_bytes));
    emit(&o, "# HELP cg_css_checked_total Style sheets (text/css) read whole and the URLs in them checked against the risk lists.\n"
             "# TYPE cg_css_checked_total counter\ncg_css_checked_total %llu\n"
             "# HELP cg_css_unchecked_total Style sheets passed through unchecked: over 1 MB, in an encoding the gateway cannot read, "
             "or past the worker thread's budget for big buffers.\n"
             "# TYPE cg_css_unchecked_total counter\ncg_css_unchecked_total %llu\n"
             "# HELP cg_html_big_refused_total Bigger buffers the HTML rewriter asked for (a long tag, long inline content) and "
             "did not get: the worker thread's big buffers were at their budget (32 MB).\n"
             "# TYPE cg_html_big_refused_total counter\ncg_html_big_refused_total %llu\n"
             "# HELP cg_speculation_rules_dropped_total Speculation rule sets (application/speculationrules+json) answered "
             "without rules: naming a block-listed site or a refused tracker, or not readable whole.\n"
             "# TYPE cg_speculation_rules_dropped_total counter\ncg_speculation_rules_dropped_total %llu\n",
         (unsigned long long)SUM(css_checked), (unsigned long long)SUM(css_unchecked), (unsigned long long)SUM(html_big_refused),
         (unsigned long long)SUM(speculation_rules_dropped));
    emit(&o, "# HELP cg_csp_meta_nonce_blocked_total Pages whose <meta> Content-Security-Policy allows scripts by nonce, "
             "under channel.csp enforce: the gateway's policy header cannot name that nonce, so the browser blocks those "
             "scripts.\n# TYPE cg_csp_meta_nonce_blocked_total counter\ncg_csp_meta_nonce_blocked_total %llu\n",
         (unsigned long long)SUM(csp_meta_nonce_blocked));
    emit(&o, "# HELP cg_risk_subresources_total Subresources of risk-listed sites in pages, by action.\n"
             "# TYPE cg_risk_subresources_total counter\n"
             "cg_risk_subresources_total{action=\"removed\"} %llu\ncg_risk_subresources_total{action=\"warned\"} %llu\n"
             "cg_risk_subresources_total{action=\"monitored\"} %llu\n"
             "cg_risk_subresources_total{action=\"removed_unreadable\"} %llu\n",
         (unsigned long long)SUM(risk_subresources_removed), (unsigned long long)SUM(risk_subresources_warned),
         (unsigned long long)SUM(risk_subresources_monitored), (unsigned long long)SUM(risk_subresources_unreadable));
    emit(&o, "# HELP cg_links_wrapped_total Outbound links wrapped in the signed link shim.\n# TYPE cg_links_wrapped_total counter\n"
             "cg_links_wrapped_total %llu\n"
             "# HELP cg_go_total Link shim clicks, by outcome.\n# TYPE cg_go_total counter\n"
             "cg_go_total{outcome=\"redirected\"} %llu\ncg_go_total{outcome=\"warned\"} %llu\ncg_go_total{outcome=\"blocked\"} %llu\n"
             "cg_go_total{outcome=\"bad_signature\"} %llu\ncg_go_total{outcome=\"unreadable\"} %llu\n"
             "# HELP cg_risk_redirects_total Origin redirects to risk-listed sites sent through the link shim (one too long for "
             "it: its Location removed).\n"
             "# TYPE cg_risk_redirects_total counter\ncg_risk_redirects_total %llu\n"
             "# HELP cg_injection_reports_total CSP / Reporting API reports.\n# TYPE cg_injection_reports_total counter\n"
             "cg_injection_reports_total{outcome=\"received\"} %llu\ncg_injection_reports_total{outcome=\"rate_limited\"} %llu\n"
             "cg_injection_reports_total{outcome=\"foreign\"} %llu\n"
             "# HELP cg_records_rate_limited_total Consent record writes refused: over store.rate_per_minute for the client.\n"
             "# TYPE cg_records_rate_limited_total counter\ncg_records_rate_limited_total %llu\n",
         (unsigned long long)SUM(links_wrapped), (unsigned long long)SUM(go_redirected), (unsigned long long)SUM(go_warned),
         (unsigned long long)SUM(go_blocked), (unsigned long long)SUM(go_bad_signature), (unsigned long long)SUM(go_unreadable),
         (unsigned long long)SUM(risk_redirects_shimmed),
         (unsigned long long)SUM(reports_received),
         (unsigned long long)SUM(reports_rate_limited), (unsigned long long)SUM(reports_foreign), (unsigned long long)SUM(records_rate_limited));
    uint64_t queued, refused, failed;
    gw_store_stats(&queued, &refused, &failed);
    emit(&o, "# HELP cg_store_queue Consent store operations waiting for the writer thread.\n# TYPE cg_store_queue gauge\n"
             "cg_store_queue %llu\n"
             "# HELP cg_store_refused_total Consent store operations refused (queue full, store stopped): answered 503.\n"
             "# TYPE cg_store_refused_total counter\ncg_store_refused_total %llu\n"
             "# HELP cg_store_failed_total Consent records whose commit failed (full disk, read-only store): answered 503.\n"
             "# TYPE cg_store_failed_total counter\ncg_store_failed_total %llu\n",
         (unsigned long long)queued, (unsigned long long)refused, (unsigned long long)failed);
    *len = o.len;
    return o.buf;
}
