/*
 * csp_report — see csp_report.h.
 *
 * The body is read by a JSON reader of its own, not jansson: the report endpoint runs on the worker threads, where
 * nothing touches jansson or allocates outside the request's pool, and this one allocates nothing. It reads RFC 8259
 * as jansson does by default: an object or an array at the top and nothing after it, strings of valid UTF-8 without
 * control characters or a \u0000, escaped surrogates in pairs, integers that fit 64 bits; nesting is limited to
 * CSP_MAX_DEPTH (a report has three levels). A member named twice counts with its last value, as in jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csp_report.h"

#define CSP_MAX_DEPTH 64
#define NUMBER_MAX 64 /* digits of a number read as a value (longer ones, which no report has, are read as 0) */

typedef struct st_rd_t {
    const char *p, *end;
    unsigned depth;
    const char *why; /* the first error */
} rd_t;

static int fail(rd_t *r, const char *why)
{
    if (r->why == NULL)
        r->why = why;
    return -1;
}

static void ws(rd_t *r)
{
    while (r->p != r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        ++r->p;
}

static int peek(rd_t *r)
{
    ws(r);
    return r->p != r->end ? (unsigned char)*r->p : -1;
}

static int expect(rd_t *r, char c)
{
    if (peek(r) != (unsigned char)c)
        return fail(r, "unexpected byte or end of the body");
    ++r->p;
    return 0;
}

/* the length of the valid UTF-8 sequence at p (no overlong form, surrogate or value past U+10FFFF), 0 if none */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], n, cp, i;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (i = 1; i != n; ++i) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

static int hex4(rd_t *r, unsigned *out)
{
    unsigned v = 0;
    if (r->end - r->p < 4)
        return fail(r, "a \\u escape cut short");
    for (int i = 0; i != 4; ++i) {
        char c = *r->p++;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return fail(r, "a \\u escape with a byte that is not hexadecimal");
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/* appends b[0, n) to dst[0, cap - 1) at *len (what does not fit is read and left out) */
static void put(char *dst, size_t cap, size_t *len, const char *b, size_t n)
{
    for (size_t i = 0; i != n && *len + 1 < cap; ++i)
        dst[(*len)++] = b[i];
}

/* a string, decoded into dst (cap 0: read only); NUL-terminated, truncated to cap - 1 bytes */
static int read_string(rd_t *r, char *dst, size_t cap, size_t *len)
{
    *len = 0;
    if (expect(r, '"') != 0)
        return -1;
    while (r->p != r->end && *r->p != '"') {
        const unsigned char *u = (const unsigned char *)r->p;
        if (*u < 0x20)
            return fail(r, "a control character in a string");
        if (*u != '\\') {
            size_t n = utf8_len(u, (const unsigned char *)r->end);
            if (n == 0)
                return fail(r, "a string that is not UTF-8");
            put(dst, cap, len, r->p, n);
            r->p += n;
            continue;
        }
        if (++r->p == r->end)
            break;
        char e = *r->p++, b[4];
        unsigned cp, lo;
        switch (e) {
        case '"': case '\\': case '/':
            put(dst, cap, len, &e, 1);
            continue;
        case 'b': case 'f': case 'n': case 'r': case 't':
            put(dst, cap, len, e == 'b' ? "\b" : e == 'f' ? "\f" : e == 'n' ? "\n" : e == 'r' ? "\r" : "\t", 1);
            continue;
        case 'u':
            break;
        default:
            return fail(r, "an unknown escape in a string");
        }
        if (hex4(r, &cp) != 0)
            return -1;
        if (cp == 0)
            return fail(r, "\\u0000 in a string");
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return fail(r, "a lone low surrogate in a string");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                return fail(r, "a lone high surrogate in a string");
            r->p += 2;
            if (hex4(r, &lo) != 0)
                return -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return fail(r, "a high surrogate without its low one");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (n == 1) {
            b[0] = (char)cp;
        } else {
            for (size_t i = n - 1; i != 0; --i, cp >>= 6)
                b[i] = (char)(0x80 | (cp & 0x3f));
            b[0] = (char)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | cp);
        }
        put(dst, cap, len, b, n);
    }
    if (r->p == r->end)
        return fail(r, "a string cut short");
    ++r->p;
    if (cap != 0)
        dst[*len] = '\0';
    return 0;
}

static int digits(rd_t *r)
{
    const char *s = r->p;
    while (r->p != r->end && *r->p >= '0' && *r->p <= '9')
        ++r->p;
    return r->p != s ? 0 : fail(r, "a number without digits");
}

/* a number; *out its value as a line number: an integer as it is (one past 64 bits is an error, as jansson's), a real
 * truncated when it is within int64_t, else 0 */
static int read_number(rd_t *r, int64_t *out)
{
    const char *s = r->p;
    int real = 0;
    if (r->p != r->end && *r->p == '-')
        ++r->p;
    if (r->p != r->end && *r->p == '0')
        ++r->p;
    else if (digits(r) != 0)
        return -1;
    if (r->p != r->end && *r->p == '.') {
        ++r->p, real = 1;
        if (digits(r) != 0)
            return -1;
    }
    if (r->p != r->end && (*r->p == 'e' || *r->p == 'E')) {
        ++r->p, real = 1;
        if (r->p != r->end && (*r->p == '+' || *r->p == '-'))
            ++r->p;
        if (digits(r) != 0)
            return -1;
    }
    char buf[NUMBER_MAX + 1];
    size_t n = (size_t)(r->p - s);
    *out = 0;
    if (n > NUMBER_MAX)
        return real ? 0 : fail(r, "an integer too big");
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!real) {
        int neg = buf[0] == '-';
        uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const char *q = buf + neg; *q != '\0'; ++q) {
            if (v > (lim - (uint64_t)(*q - '0')) / 10)
                return fail(r, "an integer too big");
            v = v * 10 + (uint64_t)(*q - '0');
        }
        *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return 0;
    }
    double d = strtod(buf, NULL); /* (the gateway never sets a locale: "." is the decimal point) */
    *out = d > -9.2e18 && d < 9.2e18 ? (int64_t)d : 0;
    return 0;
}

/* after an object's member or an array's element: 1 when another follows (its ',' read), 0 at the close (read), -1 else */
static int next_item(rd_t *r, char close)
{
    if (peek(r) == ',') {
        ++r->p;
        return 1;
    }
    return expect(r, close) == 0 ? 0 : -1;
}

static int skip_value(rd_t *r);

/* an object or array, its members' values skipped */
static int skip_container(rd_t *r, char close)
{
    if (++r->depth > CSP_MAX_DEPTH)
        return fail(r, "nested too deep");
    ++r->p;
    if (peek(r) == (unsigned char)close) {
        ++r->p;
        --r->depth;
        return 0;
    }
    for (;;) {
        size_t len;
        if (close == '}' && (read_string(r, NULL, 0, &len) != 0 || expect(r, ':') != 0))
            return -1;
        int more;
        if (skip_value(r) != 0 || (more = next_item(r, close)) < 0)
            return -1;
        if (more)
            continue;
        --r->depth;
        return 0;
    }
}

static int literal(rd_t *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail(r, "an unknown word");
    r->p += n;
    return 0;
}

static int skip_value(rd_t *r)
{
    size_t len;
    int64_t num;
    switch (peek(r)) {
    case '{':
        return skip_container(r, '}');
    case '[':
        return skip_container(r, ']');
    case '"':
        return read_string(r, NULL, 0, &len);
    case 't':
        return literal(r, "true", 4);
    case 'f':
        return literal(r, "false", 5);
    case 'n':
        return literal(r, "null", 4);
    case -1:
        return fail(r, "the body ends where a value should be");
    default:
        return read_number(r, &num);
    }
}

/* a member's value that is to be a string: copied into dst (cap bytes, control characters as spaces); another kind
 * of value leaves dst empty */
static int string_member(rd_t *r, char *dst, size_t cap)
{
    size_t len;
    dst[0] = '\0';
    if (peek(r) != '"')
        return skip_value(r);
    if (read_string(r, dst, cap, &len) != 0)
        return -1;
    for (size_t i = 0; i != len; ++i) /* keep stored text printable */
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = ' ';
    return 0;
}

/* a member's value that is to be a number; another kind gives 0 */
static int number_member(rd_t *r, int64_t *out)
{
    int c = peek(r);
    *out = 0;
    return c == '-' || (c >= '0' && c <= '9') ? read_number(r, out) : skip_value(r);
}

typedef struct st_field_t {
    const char *name;
    size_t off, cap; /* cap 0: the line number */
} field_t;

#define STR_FIELD(name, member) {name, offsetof(gw_csp_violation_t, member), sizeof(((gw_csp_violation_t *)0)->member)}
static const field_t legacy_fields[] = {STR_FIELD("document-uri", document_uri), STR_FIELD("blocked-uri", blocked_uri),
                                        STR_FIELD("source-file", source_file),   STR_FIELD("script-sample", sample),
                                        {"line-number", 0, 0}};
static const field_t api_fields[] = {STR_FIELD("documentURL", document_uri), STR_FIELD("blockedURL", blocked_uri),
                                     STR_FIELD("effectiveDirective", directive), STR_FIELD("sourceFile", source_file),
                                     STR_FIELD("sample", sample), {"lineNumber", 0, 0}};

/*
 * The object at r->p read into *v by fields[0, n) (the others skipped). The report-uri format names the directive
 * "effective-directive", else "violated-directive": both are read and the choice made at the end.
 */
static int read_violation(rd_t *r, gw_csp_violation_t *v, const field_t *fields, size_t n, int legacy)
{
    char violated[sizeof(v->directive)] = "", key[32];
    int effective = 0;
    size_t len;
    memset(v, 0, sizeof(*v));
    if (++r->depth > CSP_MAX_DEPTH)
        return fail(r, "nested too deep");
    if (expect(r, '{') != 0)
        return -1;
    if (peek(r) == '}') {
        ++r->p;
        --r->depth;
        return 0;
    }
    for (;;) {
        if (read_string(r, key, sizeof(key), &len) != 0 || expect(r, ':') != 0)
            return -1;
        size_t i = 0;
        while (i != n && !(strlen(fields[i].name) == len && memcmp(fields[i].name, key, len) == 0))
            ++i;
        int st;
        if (i != n && fields[i].cap == 0)
            st = number_member(r, &v->line);
        else if (i != n)
            st = string_member(r, (char *)v + fields[i].off, fields[i].cap);
        else if (legacy && len == 19 && memcmp(key, "effective-directive", 19) == 0)
            st = string_member(r, v->directive, sizeof(v->directive)), effective = 1;
        else if (legacy && len == 18 && memcmp(key, "violated-directive", 18) == 0)
            st = string_member(r, violated, sizeof(violated));
        else
            st = skip_value(r);
        if (st != 0 || (st = next_item(r, '}')) < 0)
            return -1;
        if (st == 0)
            break;
    }
    --r->depth;
    if (legacy && !effective)
        memcpy(v->directive, violated, sizeof(violated));
    return 0;
}

static void host_of(const char *uri, char *dst, size_t cap)
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

/* {"csp-report": {…}}: 1 and *v when its "csp-report" (the last one named) is an object, 0 when not */
static int read_legacy(rd_t *r, gw_csp_violation_t *v)
{
    char key[16];
    size_t len;
    int found = 0;
    ++r->p, ++r->depth;
    if (peek(r) == '}') {
        ++r->p;
        return 0;
    }
    for (;;) {
        if (read_string(r, key, sizeof(key), &len) != 0 || expect(r, ':') != 0)
            return -1;
        if (len == 10 && memcmp(key, "csp-report", 10) == 0) {
            if ((found = peek(r) == '{') && read_violation(r, v, legacy_fields, sizeof(legacy_fields) / sizeof(legacy_fields[0]), 1) != 0)
                return -1;
            if (!found && skip_value(r) != 0)
                return -1;
        } else if (skip_value(r) != 0) {
            return -1;
        }
        int more = next_item(r, '}');
        if (more <= 0)
            return more < 0 ? -1 : found;
    }
}

/*
 * One report of a Reporting API batch: 1 and *v when it is a CSP violation, 0 for another type, -2 when it is not a
 * report (an object with a "type" string and a "body" object, the last ones named).
 */
static int read_item(rd_t *r, gw_csp_violation_t *v)
{
    char key[8], type[16];
    size_t len, type_len = 0;
    int has_type = 0, has_body = 0;
    if (peek(r) != '{')
        return skip_value(r) != 0 ? -1 : -2;
    ++r->p, ++r->depth;
    if (peek(r) == '}') {
        ++r->p;
        return -2;
    }
    for (;;) {
        if (read_string(r, key, sizeof(key), &len) != 0 || expect(r, ':') != 0)
            return -1;
        int st = 0;
        if (len == 4 && memcmp(key, "type", 4) == 0) {
            if ((has_type = peek(r) == '"'))
                st = read_string(r, type, sizeof(type), &type_len);
            else
                st = skip_value(r);
        } else if (len == 4 && memcmp(key, "body", 4) == 0) {
            if ((has_body = peek(r) == '{'))
                st = read_violation(r, v, api_fields, sizeof(api_fields) / sizeof(api_fields[0]), 0);
            else
                st = skip_value(r);
        } else {
            st = skip_value(r);
        }
        if (st != 0 || (st = next_item(r, '}')) < 0)
            return -1;
        if (st == 1)
            continue;
        --r->depth;
        if (!has_type || !has_body)
            return -2;
        return type_len == 13 && memcmp(type, "csp-violation", 13) == 0;
    }
}

int gw_csp_report_parse(const char *body, size_t len, gw_csp_violation_t *out, size_t cap, char *err, size_t errlen)
{
    rd_t r = {body, body + len, 0, NULL};
    gw_csp_violation_t v;
    int n = 0, st;

    if (len > GW_CSP_REPORT_MAX_BODY) {
        snprintf(err, errlen, "report over %d bytes", GW_CSP_REPORT_MAX_BODY);
        return -1;
    }
    switch (peek(&r)) {
    case '{':
        if ((st = read_legacy(&r, &v)) < 0)
            goto bad_json;
        if (st == 0)
            goto not_report;
        if (cap != 0) {
            host_of(v.blocked_uri, v.blocked_host, sizeof(v.blocked_host));
            out[n++] = v;
        }
        break;
    case '[':
        ++r.p, ++r.depth;
        if (peek(&r) == ']') {
            ++r.p;
            break;
        }
        for (size_t i = 0;; ++i) {
            if ((st = read_item(&r, &v)) == -1)
                goto bad_json;
            if (st == -2) {
                snprintf(err, errlen, "item %zu: a report needs \"type\" and a \"body\" object", i);
                return -1;
            }
            if (st == 1 && (size_t)n != cap && n != GW_CSP_REPORT_MAX_ITEMS) {
                v.reporting_api = 1;
                host_of(v.blocked_uri, v.blocked_host, sizeof(v.blocked_host));
                out[n++] = v;
            }
            if ((st = next_item(&r, ']')) < 0)
                goto bad_json;
            if (st == 0)
                break;
        }
        break;
    default:
        if (skip_value(&r) != 0)
            goto bad_json;
        goto not_report;
    }
    if (peek(&r) != -1) {
        fail(&r, "more after the report");
        goto bad_json;
    }
    return n;

bad_json:
    snprintf(err, errlen, "byte %zu: %s", (size_t)(r.p - body), r.why != NULL ? r.why : "not JSON");
    return -1;
not_report:
    snprintf(err, errlen, "not a CSP report ({\"csp-report\": {…}}) nor a Reporting API batch ([{…}])");
    return -1;
}
