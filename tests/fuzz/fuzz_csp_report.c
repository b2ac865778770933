/* libFuzzer driver: CSP / Reporting API report bodies. Parsed fields are always NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "csp_report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_csp_violation_t v[4];
    char err[128];
    int n = gw_csp_report_parse((const char *)data, size, v, 4, err, sizeof(err));
    for (int i = 0; i < n; ++i)
        if (memchr(v[i].blocked_uri, 0, sizeof(v[i].blocked_uri)) == NULL || memchr(v[i].blocked_host, 0, sizeof(v[i].blocked_host)) == NULL)
            __builtin_trap();
    return 0;
}
