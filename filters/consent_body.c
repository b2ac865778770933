/*
 * consent_body — see consent_body.h. The JSON reader accepts the RFC 8259 grammar for
 * the values it meets (objects, strings with escapes, true/false) and rejects anything
 * else; it is not a general JSON parser and does not need to be.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "consent_body.h"
#include "url.h"

typedef struct st_rd_t {
    const char *p, *end, *start;
    char *detail;
    size_t detail_len;
} rd_t;

static int fail(rd_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(rd_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, r->detail_len, fmt, ap);
    va_end(ap);
    return -1;
}

static void ws(rd_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        ++r->p;
}

static int expect(rd_t *r, char c)
{
    ws(r);
    if (r->p >= r->end || *r->p != c)
        return fail(r, "expected '%c' at byte %zu", c, (size_t)(r->p - r->start));
    ++r->p;
    return 0;
}

/* reads a string into buf (truncation is reported as *len = cap + 1); escapes are decoded, and a \u escape
 * beyond ASCII becomes the byte 0xff (category names are ASCII: such a name is simply unknown) */
static int read_string(rd_t *r, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    ws(r);
    if (r->p >= r->end || *r->p != '"')
        return fail(r, "expected a string");
    ++r->p;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p++;
        unsigned cp;
        if (c < 0x20)
            return fail(r, "control character in a string");
        if (c == '\\') {
            if (r->p >= r->end)
                break;
            switch (*r->p++) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u':
                if (r->end - r->p < 4)
                    return fail(r, "truncated \\u escape");
                cp = 0;
                for (int i = 0; i != 4; ++i) {
                    int h = gw_url_hex_digit(r->p[i]);
                    if (h < 0)
                        return fail(r, "bad \\u escape");
                    cp = cp << 4 | (unsigned)h;
                }
                r->p += 4;
                break;
            default:
                return fail(r, "bad escape in a string");
            }
            /* category names are ASCII: anything else just makes the name unknown */
            c = cp < 0x80 ? (unsigned char)cp : 0xff;
        }
        if (n < cap)
            buf[n] = (char)c;
        ++n;
    }
    if (r->p >= r->end)
        return fail(r, "unterminated string");
    ++r->p;
    *len = n <= cap ? n : cap + 1;
    return 0;
}

static int read_bool(rd_t *r, int *out)
{
    ws(r);
    if (r->end - r->p >= 4 && memcmp(r->p, "true", 4) == 0) {
        r->p += 4;
        *out = 1;
        return 0;
    }
    if (r->end - r->p >= 5 && memcmp(r->p, "false", 5) == 0) {
        r->p += 5;
        *out = 0;
        return 0;
    }
    return fail(r, "expected true or false");
}

static int find_category(const char *name, size_t len, const char *const *categories, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        if (strlen(categories[i]) == len && memcmp(categories[i], name, len) == 0)
            return (int)i;
    return -1;
}

/* "{" [ member *( "," member ) ] "}" — calls on_member with the reader positioned at the value */
static int read_object(rd_t *r, int (*on_member)(rd_t *, const char *, size_t, void *), void *data)
{
    if (expect(r, '{') != 0)
        return -1;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        ++r->p;
        return 0;
    }
    for (;;) {
        char name[GW_CONSENT_NAME_MAX];
        size_t len = 0;
        if (read_string(r, name, sizeof(name), &len) != 0 || expect(r, ':') != 0 || on_member(r, name, len, data) != 0)
            return -1;
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            ++r->p;
            continue;
        }
        return expect(r, '}');
    }
}

typedef struct st_ctx_t {
    const char *const *categories;
    size_t ncategories;
    gw_consent_choice_t *out;
    int seen_all, seen_categories;
} ctx_t;

static int on_category(rd_t *r, const char *name, size_t len, void *data)
{
    ctx_t *c = data;
    int v, i = len <= GW_CONSENT_NAME_MAX ? find_category(name, len, c->categories, c->ncategories) : -1;
    if (i < 0)
        return fail(r, "unknown category \"%.*s\"", (int)(len < 40 ? len : 40), name);
    if (read_bool(r, &v) != 0)
        return fail(r, "categories.%.*s: expected true or false", (int)len, name);
    if (c->out->given & (1u << i))
        return fail(r, "category \"%.*s\" given twice", (int)len, name);
    c->out->given |= (uint16_t)(1u << i);
    if (v)
        c->out->value |= (uint16_t)(1u << i);
    return 0;
}

static int on_top(rd_t *r, const char *name, size_t len, void *data)
{
    ctx_t *c = data;
    if (len == 3 && memcmp(name, "all", 3) == 0 && !c->seen_all) {
        c->seen_all = 1;
        return read_bool(r, &c->out->all) == 0 ? 0 : fail(r, "\"all\" must be true or false");
    }
    if (len == 10 && memcmp(name, "categories", 10) == 0 && !c->seen_categories) {
        c->seen_categories = 1;
        return read_object(r, on_category, c);
    }
    return fail(r, "unexpected key \"%.*s\" (expected \"all\" or \"categories\", once)", (int)(len < 40 ? len : 40), name);
}

int gw_consent_body_parse_json(const char *s, size_t len, const char *const *categories, size_t ncategories,
                               gw_consent_choice_t *out, char *detail, size_t detail_len)
{
    rd_t r = {s, s + len, s, detail, detail_len};
    ctx_t c = {categories, ncategories, out, 0, 0};
    *out = (gw_consent_choice_t){-1, 0, 0};
    if (detail_len != 0)
        detail[0] = '\0';
    if (len > GW_CONSENT_BODY_MAX)
        return fail(&r, "body over %d bytes", GW_CONSENT_BODY_MAX);
    if (read_object(&r, on_top, &c) != 0)
        return -1;
    ws(&r);
    if (r.p != r.end)
        return fail(&r, "trailing bytes after the object");
    if (c.seen_all == c.seen_categories)
        return fail(&r, "give exactly one of \"all\" or \"categories\"");
    return 0;
}

/* decodes a form component (percent-escapes, '+') into buf; returns length, or cap + 1 if it does not fit, -1 if malformed */
static long form_decode(const char *s, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i != len; ++i) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = gw_url_hex_digit(s[i + 1])) < 0 || (lo = gw_url_hex_digit(s[i + 2])) < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n < cap)
            buf[n] = c;
        ++n;
    }
    return n <= cap ? (long)n : (long)cap + 1;
}

int gw_consent_body_parse_form(const char *s, size_t len, const char *const *categories, size_t ncategories,
                               gw_consent_choice_t *out, char *detail, size_t detail_len)
{
    rd_t r = {s, s + len, s, detail, detail_len};
    int any_category_field = 0;
    *out = (gw_consent_choice_t){-1, 0, 0};
    if (detail_len != 0)
        detail[0] = '\0';
    if (len > GW_CONSENT_BODY_MAX)
        return fail(&r, "body over %d bytes", GW_CONSENT_BODY_MAX);
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *field_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(field_end - p));
        char key[16], val[GW_CONSENT_NAME_MAX];
        long kl = form_decode(p, (size_t)((eq != NULL ? eq : field_end) - p), key, sizeof(key));
        long vl = eq != NULL ? form_decode(eq + 1, (size_t)(field_end - eq - 1), val, sizeof(val)) : 0;
        if (kl < 0 || vl < 0)
            return fail(&r, "malformed percent-escape");
        if (kl == 3 && memcmp(key, "all", 3) == 0) {
            if (out->all != -1)
                return fail(&r, "\"all\" given twice");
            if ((vl == 1 && val[0] == '1') || (vl == 4 && memcmp(val, "true", 4) == 0) || (vl == 2 && memcmp(val, "on", 2) == 0))
                out->all = 1;
            else if ((vl == 1 && val[0] == '0') || (vl == 5 && memcmp(val, "false", 5) == 0))
                out->all = 0;
            else
                return fail(&r, "\"all\" must be 1 or 0");
        } else if (kl == 8 && memcmp(key, "category", 8) == 0) {
            int i = (size_t)vl <= sizeof(val) ? find_category(val, (size_t)vl, categories, ncategories) : -1;
            any_category_field = 1;
            if (i < 0)
                return fail(&r, "unknown category \"%.*s\"", (int)(vl < 40 ? vl : 40), val);
            out->value |= (uint16_t)(1u << i);
        } else if (kl == 4 && memcmp(key, "save", 4) == 0) {
            any_category_field = 1; /* "save my choices" with nothing ticked: everything refused */
        } else if (kl == 8 && memcmp(key, "withdraw", 8) == 0) {
            if (out->withdraw || vl != 1 || val[0] != '1')
                return fail(&r, "\"withdraw\" must be 1, given once");
            out->withdraw = 1;
        }
        p = field_end + (amp != NULL ? 1 : 0);
    }
    if (out->all != -1 && any_category_field)
        return fail(&r, "give either \"all\" or \"category\" fields, not both");
    if (out->withdraw && (out->all != -1 || any_category_field))
        return fail(&r, "a withdrawal takes no \"all\" or \"category\" fields");
    if (out->all == -1 && !out->withdraw) {
        if (!any_category_field)
            return fail(&r, "no choice given (expected all=1, all=0, category=… fields or withdraw=1)");
        out->given = (uint16_t)((1u << ncategories) - 1);
    }
    return 0;
}
