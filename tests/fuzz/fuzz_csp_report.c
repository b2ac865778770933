/*
 * libFuzzer driver: CSP / Reporting API report bodies. Parsed fields are always NUL-terminated, and the reader
 * (filters/csp_report.c, no jansson) reads every body as the jansson reading it replaced does (the reference below,
 * test code only): the same verdict and the same fields. Allowed to differ: what jansson refuses and the reader takes
 * (a real past a double's range, read as line 0), nesting past 64 levels, the line of a number over 64 bytes, and a
 * NUL byte right after a number or a word, which jansson 2.14 swallows ({"a":1\0} and {"a":true\0} are objects to it:
 * its lexer compares the text it saved as a C string).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "csp_report.h"

/* ---- the reference: the jansson reading of 901f29d ---- */
static void copy_str(json_t *obj, const char *key, char *dst, size_t cap)
{
    const char *v = json_string_value(json_object_get(obj, key));
    size_t n = v != NULL ? json_string_length(json_object_get(obj, key)) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n != 0)
        memcpy(dst, v, n);
    dst[n] = '\0';
    for (size_t i = 0; i != n; ++i) /* keep stored text printable */
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = ' ';
}

static void ref_host_of(const char *uri, char *dst, size_t cap)
{
    const char *p = strstr(uri, "://");
    dst[0] = '\0';
    if (p == NULL)
        return;
    p += 3;
    const char *at = NULL, *e = p;
    while (*e != '\0' && *e != '/' && *e != '?' && *e != '#') {
        if (*e == '@')
            at = e;
        ++e;
    }
    if (at != NULL)
        p = at + 1;
    size_t n = 0;
    for (const char *q = p; q != e && *q != ':' && n + 1 < cap; ++q)
        dst[n++] = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
    dst[n] = '\0';
}

/* a line or column number; 0 when absent or not a number a line could have (a real beyond int64_t, e.g. 2e65, is 0,
 * not undefined behaviour) */
static int64_t int_of(json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
    }
    return 0;
}

static int ref_parse(const char *body, size_t len, gw_csp_violation_t *out, size_t cap, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root;
    int n = 0;

    if (len > GW_CSP_REPORT_MAX_BODY) {
        snprintf(err, errlen, "report over %d bytes", GW_CSP_REPORT_MAX_BODY);
        return -1;
    }
    if ((root = json_loadb(body, len, 0, &je)) == NULL) {
        snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    if (json_is_object(root) && json_is_object(json_object_get(root, "csp-report"))) {
        json_t *r = json_object_get(root, "csp-report");
        if (cap != 0) {
            gw_csp_violation_t *v = out;
            memset(v, 0, sizeof(*v));
            copy_str(r, "document-uri", v->document_uri, sizeof(v->document_uri));
            copy_str(r, "blocked-uri", v->blocked_uri, sizeof(v->blocked_uri));
            copy_str(r, json_object_get(r, "effective-directive") != NULL ? "effective-directive" : "violated-directive", v->directive,
                     sizeof(v->directive));
            copy_str(r, "source-file", v->source_file, sizeof(v->source_file));
            copy_str(r, "script-sample", v->sample, sizeof(v->sample));
            v->line = int_of(json_object_get(r, "line-number"));
            ref_host_of(v->blocked_uri, v->blocked_host, sizeof(v->blocked_host));
            n = 1;
        }
    } else if (json_is_array(root)) {
        size_t i;
        json_t *item;
        json_array_foreach(root, i, item)
        {
            json_t *b = json_object_get(item, "body");
            const char *type = json_string_value(json_object_get(item, "type"));
            if (!json_is_object(item) || type == NULL || !json_is_object(b)) {
                snprintf(err, errlen, "item %zu: a report needs \"type\" and a \"body\" object", i);
                json_decref(root);
                return -1;
            }
            if (strcmp(type, "csp-violation") != 0 || (size_t)n == cap || n == GW_CSP_REPORT_MAX_ITEMS)
                continue;
            gw_csp_violation_t *v = out + n++;
            memset(v, 0, sizeof(*v));
            v->reporting_api = 1;
            copy_str(b, "documentURL", v->document_uri, sizeof(v->document_uri));
            copy_str(b, "blockedURL", v->blocked_uri, sizeof(v->blocked_uri));
            copy_str(b, "effectiveDirective", v->directive, sizeof(v->directive));
            copy_str(b, "sourceFile", v->source_file, sizeof(v->source_file));
            copy_str(b, "sample", v->sample, sizeof(v->sample));
            v->line = int_of(json_object_get(b, "lineNumber"));
            ref_host_of(v->blocked_uri, v->blocked_host, sizeof(v->blocked_host));
        }
    } else {
        snprintf(err, errlen, "not a CSP report ({\"csp-report\": {…}}) nor a Reporting API batch ([{…}])");
        json_decref(root);
        return -1;
    }
    json_decref(root);
    return n;
}

/* ---- the comparison ---- */

static int has_long_number(const uint8_t *d, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i != n; ++i)
        if ((run = (d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == 'e' || d[i] == 'E' || d[i] == '-' || d[i] == '+' ? run + 1 : 0) > 60)
            return 1;
    return 0;
}

static int has_nul_after_word(const uint8_t *d, size_t n)
{
    for (size_t i = 1; i < n; ++i)
        if (d[i] == 0 && ((d[i - 1] >= '0' && d[i - 1] <= '9') || (d[i - 1] >= 'a' && d[i - 1] <= 'z') || (d[i - 1] >= 'A' && d[i - 1] <= 'Z')))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_csp_violation_t v[4], w[4];
    char err[128], werr[128];
    memset(v, 0, sizeof(v));
    memset(w, 0, sizeof(w));
    int n = gw_csp_report_parse((const char *)data, size, v, 4, err, sizeof(err));
    for (int i = 0; i < n; ++i)
        if (memchr(v[i].blocked_uri, 0, sizeof(v[i].blocked_uri)) == NULL || memchr(v[i].blocked_host, 0, sizeof(v[i].blocked_host)) == NULL)
            __builtin_trap();
    int m = ref_parse((const char *)data, size, w, 4, werr, sizeof(werr));
    if (n < 0 && m >= 0 && strstr(err, "nested too deep") == NULL && !has_long_number(data, size) && !has_nul_after_word(data, size))
        __builtin_trap(); /* refused what jansson reads */
    if (n >= 0 && m < 0 && strstr(werr, "overflow") == NULL)
        __builtin_trap(); /* took what jansson refuses */
    if (n < 0 || m < 0)
        return 0;
    if (n != m)
        __builtin_trap();
    for (int i = 0; i < n; ++i) {
        if (strcmp(v[i].document_uri, w[i].document_uri) != 0 || strcmp(v[i].blocked_uri, w[i].blocked_uri) != 0 ||
            strcmp(v[i].blocked_host, w[i].blocked_host) != 0 || strcmp(v[i].directive, w[i].directive) != 0 ||
            strcmp(v[i].source_file, w[i].source_file) != 0 || strcmp(v[i].sample, w[i].sample) != 0 ||
            v[i].reporting_api != w[i].reporting_api || (v[i].line != w[i].line && !has_long_number(data, size)))
            __builtin_trap();
    }
    return 0;
}
