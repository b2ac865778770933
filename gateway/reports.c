/*
 * reports — see reports.h.
 *
 * Rate limit: channel.report_rate_per_minute per client (ratelimit.h); over it, 429 with Retry-After.
 */
#include <string.h>
#include "admin.h"
#include "config.h"
#include "consent.h"
#include "csp_report.h"
#include "front.h"
#include "metrics.h"
#include "ratelimit.h"
#include "records.h"
#include "reports.h"
#include "server.h"
#include "store.h"
#include "url.h"

static gw_rate_table_t rates; /* shared by the worker threads */

static void on_stored(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    /* the 204 went out already; nothing to do */
}

static void strip_query(char *url)
{
    url[strcspn(url, "?#")] = '\0';
}

/* whether the report's document is a page of host (its port aside): an http(s) URL on it, or a document a page of it
 * wrote — an <iframe srcdoc> ("about:srcdoc") or a blank frame it filled — which inherits its CSP */
static int same_host(const char *url, h2o_iovec_t host)
{
    size_t ho, hl, po;
    if (strcmp(url, "about:srcdoc") == 0 || strcmp(url, "about:blank") == 0)
        return 1;
    return gw_url_split(url, strlen(url), &ho, &hl, &po) == 0 && h2o_lcstris(url + ho, hl, host.base, host.len);
}


static int on_report(h2o_handler_t *self, h2o_req_t *req)
{
    gw_csp_violation_t v[GW_CSP_REPORT_MAX_ITEMS];
    char err[256];

    if (gw_server_track_request(req) != 0)
        return 0;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("POST"));
        gw_send_json_error(req, 405, "Method Not Allowed", "method_not_allowed", "reports are sent with POST");
        return 0;
    }
    if (req->entity.len > GW_CSP_REPORT_MAX_BODY) {
        gw_send_json_error(req, 413, "Payload Too Large", "too_large", "reports are at most 64 KiB");
        return 0;
    }
    unsigned retry_after;
    if (gw_rate_take(&rates, gw_consent_client_key(req), gw_now_ms(req), gw_rt.conf.channel.report_rate_per_minute, &retry_after)) {
        GW_COUNT(reports_rate_limited);
        gw_rate_retry_after(req, retry_after);
        gw_send_json_error(req, 429, "Too Many Requests", "rate_limited", "too many reports from this address; try again later");
        return 0;
    }
    int n = gw_csp_report_parse(req->entity.base != NULL ? req->entity.base : "", req->entity.len, v, GW_CSP_REPORT_MAX_ITEMS, err,
                                sizeof(err));
    if (n < 0) {
        gw_send_json_error(req, 400, "Bad Request", "bad_report", err);
        return 0;
    }
    /* kept: reports about a page of this site (a report names its document: one about another site's page is forged,
     * and would only pollute the counts), each URL without its query and fragment (a visitor's e-mail address in a
     * page's query has no business in the security team's table) */
    h2o_iovec_t site = gw_req_host(req);
    int kept = 0;
    for (int i = 0; i != n; ++i) {
        strip_query(v[i].document_uri);
        strip_query(v[i].blocked_uri);
        strip_query(v[i].source_file);
        if (same_host(v[i].document_uri, site))
            v[kept++] = v[i];
    }
    if (n > 0 && kept == 0) {
        GW_COUNT(reports_foreign);
        gw_send_json_error(req, 400, "Bad Request", "foreign_report", "the report is not about a page of this site");
        return 0;
    }
    n = kept;
    if (n > 0) {
        gw_record_t rec; /* for the truncated client address */
        memset(&rec, 0, sizeof(rec));
        gw_records_prepare(req, &rec);
        if (gw_store_add_injections(req, v, (size_t)n, rec.client_ip, on_stored, NULL) != 0) {
            gw_send_json_error(req, 503, "Service Unavailable", "store_unavailable", "the report could not be stored");
            return 0;
        }
        if (gw_metrics != NULL)
            gw_metrics_add(&gw_metrics->reports_received, (uint64_t)n);
    }
    req->res.status = 204;
    req->res.reason = "No Content";
    req->res.content_length = SIZE_MAX; /* a 204 has no Content-Length (RFC 9110 §8.6) */
    h2o_send_inline(req, "", 0);
    return 0;
}

void gw_reports_register(h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/__consent/report", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_report;
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);
}

static void on_listed(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    if (ans->status != 0) {
        static const char msg[] = "{\"error\": \"store_unavailable\", \"detail\": \"the injection reports cannot be read\"}\n";
        gw_admin_send(req, 503, "Service Unavailable", "application/json", h2o_iovec_init(msg, sizeof(msg) - 1));
        return;
    }
    char *copy = h2o_mem_alloc_pool(&req->pool, ans->body_len);
    memcpy(copy, ans->body, ans->body_len);
    gw_admin_send(req, 200, "OK", "application/json", h2o_iovec_init(copy, ans->body_len));
}

static int on_injections(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    if (gw_store_list_injections(req, on_listed, NULL) != 0) {
        static const char msg[] = "{\"error\": \"store_unavailable\", \"detail\": \"try again\"}\n";
        gw_admin_send(req, 503, "Service Unavailable", "application/json", h2o_iovec_init(msg, sizeof(msg) - 1));
    }
    return 0;
}

void gw_reports_register_admin(void)
{
    gw_admin_add_route("GET", "/admin/injections", on_injections);
}
