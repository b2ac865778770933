/* Unit tests for filters/csp_report.c: both report formats as Chromium and Firefox send them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdio.h>
#include "csp_report.h"

/* report-uri format (as Firefox and Chromium send it) */
static const char legacy[] = "{\"csp-report\":{\"document-uri\":\"https://shop.example/\",\"referrer\":\"\",\"violated-directive\":"
                             "\"script-src-elem\",\"effective-directive\":\"script-src-elem\",\"original-policy\":\"script-src "
                             "'nonce-abc'\",\"disposition\":\"enforce\",\"blocked-uri\":\"https://Ads.Injector.example:8443/x.js\","
                             "\"status-code\":200,\"script-sample\":\"\",\"line-number\":12,\"source-file\":\"https://shop.example/\"}}";

/* Reporting API batch (Chromium): one CSP report among another type */
static const char batch[] = "[{\"age\":10,\"body\":{\"blockedURL\":\"inline\",\"documentURL\":\"https://shop.example/p\","
                            "\"effectiveDirective\":\"script-src-elem\",\"lineNumber\":3,\"sample\":\"alert(1)\",\"sourceFile\":"
                            "\"https://shop.example/p\",\"statusCode\":200},\"type\":\"csp-violation\",\"url\":\"https://shop.example/p\","
                            "\"user_agent\":\"x\"},{\"type\":\"deprecation\",\"body\":{\"id\":\"x\"}}]";

static void test_legacy(void **state)
{
    gw_csp_violation_t v[4];
    char err[128];
    assert_int_equal(gw_csp_report_parse(legacy, sizeof(legacy) - 1, v, 4, err, sizeof(err)), 1);
    assert_string_equal(v[0].document_uri, "https://shop.example/");
    assert_string_equal(v[0].blocked_uri, "https://Ads.Injector.example:8443/x.js");
    assert_string_equal(v[0].blocked_host, "ads.injector.example");
    assert_string_equal(v[0].directive, "script-src-elem");
    assert_int_equal(v[0].line, 12);
    assert_int_equal(v[0].reporting_api, 0);
}

static void test_batch(void **state)
{
    gw_csp_violation_t v[4];
    char err[128];
    assert_int_equal(gw_csp_report_parse(batch, sizeof(batch) - 1, v, 4, err, sizeof(err)), 1);
    assert_string_equal(v[0].blocked_uri, "inline");
    assert_string_equal(v[0].blocked_host, "");
    assert_string_equal(v[0].sample, "alert(1)");
    assert_int_equal(v[0].line, 3);
    assert_int_equal(v[0].reporting_api, 1);
    assert_int_equal(gw_csp_report_parse("[]", 2, v, 4, err, sizeof(err)), 0);
}

/* line numbers as reals, in range and far beyond int64_t (a fuzzer found 2.2e65 undefined to convert) */
static void test_line_number_reals(void **state)
{
    static const struct {
        const char *num;
        int64_t line;
    } t[] = {{"7.0", 7}, {"7.9", 7}, {"-3.5", -3}, {"2.2e65", 0}, {"-1e300", 0}, {"9.3e18", 0}, {"1e18", 1000000000000000000}};
    for (size_t i = 0; i != sizeof(t) / sizeof(t[0]); ++i) {
        char body[128];
        gw_csp_violation_t v[1];
        char err[128];
        snprintf(body, sizeof(body), "{\"csp-report\":{\"blocked-uri\":\"inline\",\"line-number\":%s}}", t[i].num);
        assert_int_equal(gw_csp_report_parse(body, strlen(body), v, 1, err, sizeof(err)), 1);
        assert_int_equal(v[0].line, t[i].line);
    }
}

static void test_bad(void **state)
{
    static const char *const bad[] = {"", "{", "{}", "\"x\"", "[1]", "[{\"type\":\"csp-violation\"}]", "{\"csp-report\": 1}", NULL};
    gw_csp_violation_t v[2];
    char err[128];
    for (size_t i = 0; bad[i] != NULL; ++i) {
        err[0] = '\0';
        assert_int_equal(gw_csp_report_parse(bad[i], strlen(bad[i]), v, 2, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
}

/* every truncation of a valid report is refused or parsed without reading past it */
static void test_prefixes(void **state)
{
    for (size_t n = 0; n + 1 < sizeof(legacy); ++n) {
        gw_csp_violation_t v[2];
        char err[128];
        char *buf = malloc(n + 1);
        memcpy(buf, legacy, n);
        assert_int_equal(gw_csp_report_parse(buf, n, v, 2, err, sizeof(err)), -1);
        free(buf);
    }
}

static void test_truncates_long_fields(void **state)
{
    char body[4096];
    char longuri[2000];
    memset(longuri, 'a', sizeof(longuri) - 1);
    longuri[sizeof(longuri) - 1] = '\0';
    int n = snprintf(body, sizeof(body), "{\"csp-report\":{\"blocked-uri\":\"https://x.example/%s\",\"document-uri\":\"a\\nb\"}}", longuri);
    gw_csp_violation_t v[1];
    char err[128];
    assert_int_equal(gw_csp_report_parse(body, (size_t)n, v, 1, err, sizeof(err)), 1);
    assert_int_equal(strlen(v[0].blocked_uri), sizeof(v[0].blocked_uri) - 1);
    assert_string_equal(v[0].blocked_host, "x.example");
    assert_string_equal(v[0].document_uri, "a b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy),   cmocka_unit_test(test_batch),
        cmocka_unit_test(test_bad),      cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_line_number_reals),
        cmocka_unit_test(test_truncates_long_fields),
    };
    return cmocka_run_group_tests_name("csp_report", tests, NULL, NULL);
}
