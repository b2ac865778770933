/*
 * url — see url.h.
 */
#include <string.h>
#include "url.h"

int gw_url_hex_digit(char c)
{
    if ('0' <= c && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return 'a' <= c && c <= 'f' ? c - 'a' + 10 : -1;
}

size_t gw_url_pct_decode(const char *s, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i != len; ++i) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = gw_url_hex_digit(s[i + 1])) < 0 || (lo = gw_url_hex_digit(s[i + 2])) < 0)
                return (size_t)-1;
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return n;
}

size_t gw_url_pct_encode(const char *s, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n;
}

static int ci_prefix(const char *s, size_t len, const char *lit, size_t n)
{
    if (len < n)
        return 0;
    for (size_t i = 0; i != n; ++i) {
        char c = s[i];
        if ('A' <= c && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

int gw_url_split(const char *url, size_t len, size_t *host_off, size_t *host_len, size_t *path_off)
{
    size_t s;
    if (len > 7 && ci_prefix(url, len, "http://", 7))
        s = 7;
    else if (len > 8 && ci_prefix(url, len, "https://", 8))
        s = 8;
    else
        return -1;
    size_t e = s;
    while (e != len && url[e] != '/' && url[e] != '?' && url[e] != '#' && url[e] != '\\')
        ++e;
    size_t hs = s; /* after any userinfo */
    for (size_t i = s; i != e; ++i)
        if (url[i] == '@')
            hs = i + 1;
    size_t he = e;
    if (hs != e && url[hs] == '[') {
        const char *rb = memchr(url + hs, ']', e - hs);
        if (rb == NULL)
            return -1;
        he = (size_t)(rb - url) + 1;
    } else {
        for (size_t i = hs; i != e; ++i)
            if (url[i] == ':') {
                he = i;
                break;
            }
    }
    if (he == hs)
        return -1;
    *host_off = hs;
    *host_len = he - hs;
    *path_off = e;
    return 0;
}

static int is_unreserved(int c)
{
    return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* removes the "." and ".." segments of the absolute path p[0..n) in place (RFC 3986 §5.2.4); returns its new length */
static size_t remove_dot_segments(char *p, size_t n)
{
    size_t r = 0, w = 0;
    while (r != n) {
        size_t s = r + 1, e = s; /* p[r] is '/': the segment is p[s..e) */
        while (e != n && p[e] != '/')
            ++e;
        size_t len = e - s;
        if (len == 1 && p[s] == '.') {
            if (e == n)
                p[w++] = '/'; /* "/a/." is "/a/" */
        } else if (len == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (w != 0 && p[--w] != '/')
                ;
            if (e == n)
                p[w++] = '/'; /* "/a/b/.." is "/a/" */
        } else {
            memmove(p + w, p + r, e - r);
            w += e - r;
        }
        r = e;
    }
    return w;
}

/* whether d, decoded after out[0..o) and before next, would make an escape of what a lone '%' began ("%%37e" read once
 * is '%' '7' 'e' as a server reads it, which a second reading took for "%7e", '~'): such an escape stays as written,
 * and the normalisation is the same read again */
static int forms_escape(const char *out, size_t o, char d, char next)
{
    if (gw_url_hex_digit(d) < 0)
        return 0;
    return (o >= 1 && out[o - 1] == '%' && gw_url_hex_digit(next) >= 0) ||
           (o >= 2 && out[o - 2] == '%' && gw_url_hex_digit(out[o - 1]) >= 0);
}

size_t gw_url_path_normalize(const char *in, size_t len, char *out)
{
    size_t e = 0, o = 0;
    while (e != len && in[e] != '?' && in[e] != '#')
        ++e;
    for (size_t i = 0; i != e; ++i) {
        int hi, lo;
        char c = in[i];
        if (c == '\\')
            c = '/';
        else if (c == '%' && e - i > 2 && (hi = gw_url_hex_digit(in[i + 1])) >= 0 && (lo = gw_url_hex_digit(in[i + 2])) >= 0 &&
                 is_unreserved(hi << 4 | lo) && !forms_escape(out, o, (char)(hi << 4 | lo), i + 3 < e ? in[i + 3] : '\0'))
            c = (char)(hi << 4 | lo), i += 2;
        out[o++] = c;
    }
    if (o != 0 && out[0] == '/')
        o = remove_dot_segments(out, o);
    memmove(out + o, in + e, len - e);
    return o + (len - e);
}
