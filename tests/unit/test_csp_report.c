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

/* the reader's JSON (no jansson): escapes decoded, a member named twice counts with its last value, what jansson refuses
 * refused (fuzz_csp_report compares the two readings) */
static void test_json_reader(void **state)
{
    gw_csp_violation_t v[2];
    char err[128];
    static const char esc[] = "{\"csp-report\":{\"blocked-uri\":\"https://\\u00e9.example/\\ud83d\\ude00\\/x\\\"\",\"blocked-uri\":"
                              "\"https://B.example/\",\"violated-directive\":\"img-src\",\"source-file\":5,\"line-number\":\"7\"}}";
    assert_int_equal(gw_csp_report_parse(esc, sizeof(esc) - 1, v, 2, err, sizeof(err)), 1);
    assert_string_equal(v[0].blocked_uri, "https://B.example/");
    assert_string_equal(v[0].blocked_host, "b.example");
    assert_string_equal(v[0].directive, "img-src");
    assert_string_equal(v[0].source_file, "");
    assert_int_equal(v[0].line, 0);
    static const char esc2[] = "{\"csp-report\":{\"blocked-uri\":\"\\u00e9\\ud83d\\ude00\\/\\\"\\t\"}}";
    assert_int_equal(gw_csp_report_parse(esc2, sizeof(esc2) - 1, v, 2, err, sizeof(err)), 1);
    assert_string_equal(v[0].blocked_uri, "\xc3\xa9\xf0\x9f\x98\x80/\" ");
    /* effective-directive wins over violated-directive, wherever it stands */
    static const char dirs[] = "{\"csp-report\":{\"effective-directive\":\"script-src-elem\",\"violated-directive\":\"script-src\"}}";
    assert_int_equal(gw_csp_report_parse(dirs, sizeof(dirs) - 1, v, 2, err, sizeof(err)), 1);
    assert_string_equal(v[0].directive, "script-src-elem");
    /* members the reader skips hold any value: objects and arrays of several items, the three words, reals */
    static const char skipped[] = "[{\"type\":\"csp-violation\",\"x\":{\"a\":[1,2.5e3,-0.5],\"b\":{\"c\":true,\"d\":false},"
                                  "\"e\":null},\"body\":{\"blockedURL\":\"https://t.example/\",\"disposition\":\"report\","
                                  "\"statusCode\":null,\"z\":[[],{},[true,null,\"s\"]],\"lineNumber\":4}},"
                                  "{\"type\":\"deprecation\",\"body\":{\"id\":\"x\",\"anticipatedRemoval\":null,\"n\":[1,2]}}]";
    assert_int_equal(gw_csp_report_parse(skipped, sizeof(skipped) - 1, v, 2, err, sizeof(err)), 1);
    assert_string_equal(v[0].blocked_host, "t.example");
    assert_int_equal(v[0].line, 4);
    static const char *const refused[] = {
        "{\"csp-report\":{\"blocked-uri\":\"\\ud83d\"}}",     /* a lone surrogate */
        "{\"csp-report\":{\"blocked-uri\":\"\\u0000\"}}",     /* NUL */
        "{\"csp-report\":{\"blocked-uri\":\"\xc0\xaf\"}}",    /* an overlong '/' */
        "{\"csp-report\":{\"blocked-uri\":\"\xed\xa0\x80\"}}", /* an encoded surrogate */
        "{\"csp-report\":{\"blocked-uri\":\"a\tb\"}}",          /* a raw control character */
        "{\"csp-report\":{\"line-number\":99999999999999999999}}", /* an integer past 64 bits */
        "{\"csp-report\":{\"line-number\":01}}",
        "{\"csp-report\":{}} x",
        "{\"csp-report\":{\"a\":tru}}",
        "{\"csp-report\":{\"a\":[1,]}}",
        "{\"csp-report\":{\"a\":{\"b\":1,}}}",
        "{\"csp-report\":{\"a\":nul}}",
        NULL};
    for (size_t i = 0; refused[i] != NULL; ++i)
        assert_int_equal(gw_csp_report_parse(refused[i], strlen(refused[i]), v, 2, err, sizeof(err)), -1);
    /* nesting: 64 levels are read, 65 are not */
    char deep[300];
    for (int depth = 64; depth <= 65; ++depth) {
        int n = snprintf(deep, sizeof(deep), "[{\"type\":\"x\",\"body\":{},\"y\":");
        for (int k = 0; k != depth - 2; ++k)
            deep[n++] = '[';
        for (int k = 0; k != depth - 2; ++k)
            deep[n++] = ']';
        n += snprintf(deep + n, sizeof(deep) - (size_t)n, "}]");
        assert_int_equal(gw_csp_report_parse(deep, (size_t)n, v, 2, err, sizeof(err)), depth == 64 ? 0 : -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy),   cmocka_unit_test(test_json_reader),   cmocka_unit_test(test_batch),
        cmocka_unit_test(test_bad),      cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_line_number_reals),
        cmocka_unit_test(test_truncates_long_fields),
    };
    return cmocka_run_group_tests_name("csp_report", tests, NULL, NULL);
}
