/*
 * mime — see mime.h.
 */
#include <string.h>
#include "mime.h"

int
gw_mime_is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static size_t
skip_ws(const char *p, size_t i, size_t n)
{
    while (i != n && (p[i] == ' ' || p[i] == '\t'))
        ++i;
    return i;
}

static int
lceq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i != an; ++i) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return 0;
    }
    return 1;
}

/*
 * As Chromium reads an item (net's ParseMimeType), which is laxer than the Fetch standard's parser: the type is what
 * runs up to a blank, ';' or '(' and holds a '/' (no check of its characters: "text/html(x)" is text/html, "text/ html"
 * the type "text/"), anything after it up to the first ';' is ignored ("text/html junk" is text/html). Read by Fetch's
 * rules, "text/plain, text/html(x)" was text/plain: a page Chromium renders as HTML was not rewritten.
 */
int
gw_mime_parse(const char *p, size_t n, gw_mime_t *out)
{
    size_t i = skip_ws(p, 0, n), t = i;
    while (i != n && p[i] != ' ' && p[i] != '\t' && p[i] != ';' && p[i] != '(')
        ++i;
    if (memchr(p + t, '/', i - t) == NULL)
        return -1;
    out->essence = p + t;
    out->essence_len = i - t;
    out->charset = NULL;
    out->charset_len = 0;
    while (i != n && p[i] != ';')
        ++i;
    while (i != n) { /* at a ';' */
        size_t ns = i = skip_ws(p, i + 1, n);
        while (i != n && p[i] != ';' && p[i] != '=')
            ++i;
        size_t ne = i;
        if (i == n || p[i] == ';')
            continue;
        const char *v;
        size_t vl;
        if (++i != n && p[i] == '"') {
            size_t vs = ++i;
            while (i != n && p[i] != '"')
                i += p[i] == '\\' && i + 1 != n ? 2 : 1;
            v = p + vs, vl = i - vs;
            while (i != n && p[i] != ';')
                ++i;
        } else {
            size_t vs = i;
            while (i != n && p[i] != ';')
                ++i;
            size_t ve = i;
            while (ve != vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
                --ve;
            v = p + vs, vl = ve - vs;
        }
        /* the first charset counts (Fetch: a parameter name already seen is not set again) */
        if (out->charset == NULL && vl != 0 && lceq(p + ns, ne - ns, "charset", 7))
            out->charset = v, out->charset_len = vl;
    }
    return 0;
}

void
gw_mime_extract_init(gw_mime_t *m)
{
    memset(m, 0, sizeof(*m));
}

void
gw_mime_extract_add(gw_mime_t *m, const char *p, size_t n)
{
    for (size_t at = 0; at <= n;) {
        size_t end = at;
        for (int quoted = 0; end != n && (quoted || p[end] != ','); ++end) {
            if (p[end] == '"')
                quoted = !quoted;
            else if (quoted && p[end] == '\\' && end + 1 != n)
                ++end;
        }
        gw_mime_t item;
        /* an item that is "*" "/" "*" and nothing else is dropped; with parameters it is the type, which is sniffed */
        size_t s = skip_ws(p, at, end), e = end;
        while (e != s && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            --e;
        if (gw_mime_parse(p + at, end - at, &item) == 0 && !(e - s == 3 && memcmp(p + s, "*/*", 3) == 0)) {
            /* another type: its own charset or none; the same again: its own charset, or the one before it */
            if (m->essence == NULL || !lceq(item.essence, item.essence_len, m->essence, m->essence_len) || item.charset != NULL)
                m->charset = item.charset, m->charset_len = item.charset_len;
            m->essence = item.essence;
            m->essence_len = item.essence_len;
        }
        at = end + 1;
    }
}

int
gw_mime_sniffs(const gw_mime_t *m)
{
    return m->essence == NULL || lceq(m->essence, m->essence_len, "unknown/unknown", 15) ||
           lceq(m->essence, m->essence_len, "application/unknown", 19) || lceq(m->essence, m->essence_len, "*/*", 3);
}

int
gw_mime_sniff_html(const char *p, size_t len, int complete)
{
    static const char *const tags[] = {"!DOCTYPE html", "script", "html", "!--", "head", "iframe", "h1", "div", "font",
                                       "table", "a", "style", "title", "b", "body", "br", "p"};
    if (len >= GW_MIME_SNIFF_MAX)
        len = GW_MIME_SNIFF_MAX, complete = 1;
    size_t i = 0;
    while (i != len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\v' || p[i] == '\f' || p[i] == '\r'))
        ++i;
    int more = i == len;
    if (i != len && p[i] == '<') {
        for (size_t k = 0; k != sizeof(tags) / sizeof(tags[0]); ++k) {
            size_t n = strlen(tags[k]), have = len - i - 1 < n ? len - i - 1 : n;
            if (lceq(p + i + 1, have, tags[k], have)) {
                if (have == n)
                    return 1;
                more = 1; /* a prefix of it so far */
            }
        }
    }
    return more && !complete ? -1 : 0;
}
