/*
 * jsonw — see jsonw.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jsonw.h"

void gw_jsonw_init(gw_jsonw_t *w, h2o_mem_pool_t *pool, size_t initial)
{
    w->pool = pool;
    w->cap = initial < 64 ? 64 : initial;
    w->buf = pool != NULL ? h2o_mem_alloc_pool(pool, w->cap) : malloc(w->cap);
    w->len = 0;
}

void gw_jsonw_grow(gw_jsonw_t *w, size_t more)
{
    size_t cap = w->cap * 2;
    while (cap < w->len + more)
        cap *= 2;
    if (w->pool != NULL) {
        char *nb = h2o_mem_alloc_pool(w->pool, cap);
        memcpy(nb, w->buf, w->len);
        w->buf = nb;
    } else {
        w->buf = h2o_mem_realloc(w->buf, cap);
    }
    w->cap = cap;
}

static void reserve(gw_jsonw_t *w, size_t more)
{
    if (more > w->cap - w->len)
        gw_jsonw_grow(w, more);
}

void gw_jsonw_printf(gw_jsonw_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    reserve(w, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len += (size_t)n;
}

/* the length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0 (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF) */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    size_t n = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ? 3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
    if (n == 0 || n > avail)
        return 0;
    for (size_t k = 1; k != n; ++k)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
        (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

void gw_jsonw_str(gw_jsonw_t *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    reserve(w, len * 6 + 2);
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
            /* also escapes <, >, & so the output is safe inside an HTML <script> block */
            *o++ = '\\', *o++ = 'u', *o++ = '0', *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else if (c < 0x80) {
            *o++ = (char)c;
        } else {
            /* UTF-8 as it is; a byte that starts no well-formed sequence (a Host header, a token name, a file's line can
             * hold any) becomes U+FFFD, so the output is always JSON a strict parser takes */
            size_t n = utf8_len((const unsigned char *)s + i, len - i);
            if (n == 0) {
                memcpy(o, "\\ufffd", 6);
                o += 6;
            } else {
                memcpy(o, s + i, n);
                o += n;
                i += n - 1;
            }
        }
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void gw_jsonw_cstr(gw_jsonw_t *w, const char *s)
{
    gw_jsonw_str(w, s, strlen(s));
}

void gw_jsonw_uint(gw_jsonw_t *w, uint64_t v)
{
    char num[20];
    size_t n = sizeof(num);
    do
        num[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    gw_jsonw_raw(w, num + n, sizeof(num) - n);
}

h2o_iovec_t gw_jsonw_error(h2o_mem_pool_t *pool, const char *error, const char *detail)
{
    gw_jsonw_t w;
    gw_jsonw_init(&w, pool, 256);
    gw_jsonw_lit(&w, "{\"error\": ");
    gw_jsonw_cstr(&w, error);
    gw_jsonw_lit(&w, ", \"detail\": ");
    gw_jsonw_cstr(&w, detail);
    gw_jsonw_lit(&w, "}\n");
    return h2o_iovec_init(w.buf, w.len);
}
