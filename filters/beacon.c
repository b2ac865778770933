/*
 * beacon — see beacon.h.
 */
#include <string.h>
#include "beacon.h"

/* GIF89a, 1x1, one transparent pixel */
const uint8_t gw_beacon_gif[GW_BEACON_GIF_LEN] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
                                                  0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
                                                  0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01,
                                                  0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

static size_t
path_only(const char *path, size_t len)
{
    const char *q = memchr(path, '?', len);
    return q != NULL ? (size_t)(q - path) : len;
}

size_t
gw_beacon_path_servlet(const char *path, size_t len, char *out)
{
    if (len == 0) {
        out[0] = '/';
        return 1;
    }
    size_t end = path_only(path, len), o = 0, i = 0;
    while (i < end) {
        while (i < end && path[i] == '/')
            ++i;
        if (i == end)
            break;
        size_t sb = i;
        while (i < end && path[i] != '/')
            ++i;
        const char *semi = memchr(path + sb, ';', i - sb);
        size_t sl = (semi != NULL ? (size_t)(semi - path) : i) - sb;
        if (sl == 0 || (sl == 1 && path[sb] == '.'))
            continue;
        if (sl == 2 && path[sb] == '.' && path[sb + 1] == '.') {
            while (o != 0 && out[--o] != '/')
                ;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, path + sb, sl);
        o += sl;
    }
    if (o == 0 || path[end - 1] == '/')
        out[o++] = '/';
    if (len != end)
        memcpy(out + o, path + end, len - end);
    return o + (len - end);
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* ASCII case-insensitive: origins that route so (Express by default, ASP.NET, IIS) take "/Collect" for "/collect" */
static inline int
same(char a, char b)
{
    return lower((unsigned char)a) == lower((unsigned char)b);
}

int
gw_beacon_path_match(const char *pattern, size_t plen, const char *path, size_t len)
{
    len = path_only(path, len);
    int alone = plen > 1 && pattern[plen - 1] == '|'; /* "/collect|": that path, nothing below it */
    plen -= alone;
    if (memchr(pattern, '*', plen) == NULL) {
        if (len < plen)
            return 0;
        for (size_t i = 0; i != plen; ++i)
            if (!same(path[i], pattern[i]))
                return 0;
        return len == plen || (!alone && (pattern[plen - 1] == '/' || path[plen] == '/'));
    }
    /* glob with '*' only: greedy with one backtrack point (the last star), linear in practice */
    size_t p = 0, s = 0, star = (size_t)-1, mark = 0;
    while (s < len) {
        if (p < plen && pattern[p] == '*') {
            star = p++;
            mark = s;
        } else if (p < plen && same(pattern[p], path[s])) {
            ++p;
            ++s;
        } else if (star != (size_t)-1) {
            p = star + 1;
            s = ++mark;
        } else {
            return 0;
        }
    }
    while (p < plen && pattern[p] == '*')
        ++p;
    return p == plen;
}

static int
ci_prefix(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
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

int
gw_beacon_is_ping(const gw_beacon_req_t *r)
{
    if (r->has_ping_from || r->has_ping_to)
        return 1;
    return ci_prefix(r->content_type, r->content_type_len, "text/ping");
}

int
gw_beacon_is_send_beacon(const gw_beacon_req_t *r)
{
    return r->method_len == 4 && memcmp(r->method, "POST", 4) == 0 && r->sec_fetch_mode_len == 7 &&
           ci_prefix(r->sec_fetch_mode, 7, "no-cors") && r->sec_fetch_dest_len == 5 && ci_prefix(r->sec_fetch_dest, 5, "empty");
}

int
gw_beacon_is_page(const gw_beacon_req_t *r)
{
    if (r->sec_fetch_dest != NULL && r->sec_fetch_dest_len != 0)
        return r->sec_fetch_dest_len == 8 && ci_prefix(r->sec_fetch_dest, 8, "document");
    return ci_prefix(r->accept, r->accept_len, "text/html");
}

int
gw_beacon_wants_image(const gw_beacon_req_t *r)
{
    static const char *const exts[] = {".gif", ".png", ".jpg", ".jpeg", ".webp", ".avif", ".svg", ".ico", ".bmp"};
    if (r->sec_fetch_dest_len == 5 && ci_prefix(r->sec_fetch_dest, 5, "image"))
        return 1;
    if (ci_prefix(r->accept, r->accept_len, "image/"))
        return 1;
    size_t len = path_only(r->path, r->path_len);
    for (size_t i = 0; i != sizeof(exts) / sizeof(exts[0]); ++i) {
        size_t n = strlen(exts[i]);
        if (len >= n && ci_prefix(r->path + len - n, n, exts[i]))
            return 1;
    }
    return 0;
}
