/*
 * csp_report — violation reports sent by browsers to POST /__consent/report, in both formats:
 *   report-uri (Content-Type: application/csp-report): {"csp-report": {"document-uri": …,
 *     "blocked-uri": …, "violated-directive"/"effective-directive": …, "source-file": …,
 *     "line-number": N, "script-sample": …}}
 *   Reporting API (application/reports+json): [{"type": "csp-violation", "body": {"documentURL":
 *     …, "blockedURL": …, "effectiveDirective": …, "sourceFile": …, "lineNumber": N, "sample": …}}, …]
 * The shape decides, not the Content-Type. Reports of other types in a Reporting API batch are
 * skipped. Fields are truncated to their buffers. Read without jansson and without allocating (the worker threads
 * answer reports).
 */
#ifndef GW_CSP_REPORT_H
#define GW_CSP_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define GW_CSP_REPORT_MAX_BODY (64 * 1024)
#define GW_CSP_REPORT_MAX_ITEMS 16

typedef struct st_gw_csp_violation_t {
    char document_uri[512];
    char blocked_uri[512];
    char blocked_host[256]; /* host of blocked_uri, lower case; "" for keywords like "inline", "eval" */
    char directive[64];
    char source_file[512];
    char sample[128];
    int64_t line;
    int reporting_api; /* 1: Reporting API format, 0: report-uri format */
} gw_csp_violation_t;

/* Parses body into out[0..cap). Returns the number of violations (0 is valid: a batch with no CSP report), or -1
 * with a reason in err. */
int gw_csp_report_parse(const char *body, size_t len, gw_csp_violation_t *out, size_t cap, char *err, size_t errlen);

#endif
