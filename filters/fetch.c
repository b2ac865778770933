/*
 * fetch — see fetch.h.
 */
#include <string.h>
#include "fetch.h"

static int
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

int
gw_srcset_next(const char *v, size_t len, size_t *pos, const char **url, size_t *url_len)
{
    size_t i = *pos;
    for (;;) {
        while (i < len && (v[i] == ',' || is_blank((unsigned char)v[i])))
            ++i;
        if (i >= len) {
            *pos = len;
            return 0;
        }
        size_t start = i;
        while (i < len && !is_blank((unsigned char)v[i]))
            ++i;
        size_t end = i;
        while (end > start && v[end - 1] == ',')
            --end;
        if (end == i) { /* no trailing comma: a descriptor may follow, up to the next comma outside parentheses */
            unsigned depth = 0;
            for (; i < len && (depth != 0 || v[i] != ','); ++i) {
                if (v[i] == '(')
                    ++depth;
                else if (v[i] == ')' && depth != 0)
                    --depth;
            }
        }
        if (end != start) {
            *url = v + start;
            *url_len = end - start;
            *pos = i;
            return 1;
        }
    }
}

static int
name_is(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    if (n != k)
        return 0;
    for (size_t i = 0; i != n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}

int
gw_accepts_coding(const char *v, size_t len, const char *coding)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && v[e] != ',')
            ++e;
        /* one element: coding *( OWS ";" OWS name "=" value ) */
        size_t s = i, n;
        while (s < e && is_blank((unsigned char)v[s]))
            ++s;
        n = s;
        while (n < e && v[n] != ';' && !is_blank((unsigned char)v[n]))
            ++n;
        int named = name_is(v + s, n - s, coding) || (strcmp(coding, "gzip") == 0 && name_is(v + s, n - s, "x-gzip"));
        int refused = 0;
        for (size_t p = n; named && p < e; ++p) {
            if (v[p] != ';')
                continue;
            size_t k = p + 1;
            while (k < e && is_blank((unsigned char)v[k]))
                ++k;
            if (k + 1 < e && (v[k] | 0x20) == 'q' && v[k + 1] == '=') {
                size_t d = k + 2;
                refused = d < e && v[d] == '0';
                for (++d; refused && d < e && v[d] != ';' && !is_blank((unsigned char)v[d]); ++d)
                    refused = v[d] == '.' || v[d] == '0';
            }
        }
        if (named && !refused)
            return 1;
        i = e + 1;
    }
    return 0;
}
