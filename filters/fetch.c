/*
 * fetch — see fetch.h.
 */
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <string.h>
#include "fetch.h"
#include "utf8.h"

int
gw_srcset_next(const char *v, size_t len, size_t *pos, const char **url, size_t *url_len)
{
    size_t i = *pos;
    for (;;) {
        while (i < len && (v[i] == ',' || gw_is_ascii_blank((unsigned char)v[i])))
            ++i;
        if (i >= len) {
            *pos = len;
            return 0;
        }
        size_t start = i;
        while (i < len && !gw_is_ascii_blank((unsigned char)v[i]))
            ++i;
        size_t end = i;
        while (end > start && v[end - 1] == ',')
            --end;
        if (end == i) { /* no trailing comma: a descriptor may follow, up to the next comma outside parentheses; as
                           in the tokenizer's "in parens" state, parentheses do not nest: the first ')' closes them
                           ("1x((), u 2x" is two candidates, and Chromium fetches u) */
            int parens = 0;
            for (; i < len && (parens || v[i] != ','); ++i) {
                if (v[i] == '(')
                    parens = 1;
                else if (v[i] == ')')
                    parens = 0;
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
        while (s < e && gw_is_ascii_blank((unsigned char)v[s]))
            ++s;
        n = s;
        while (n < e && v[n] != ';' && !gw_is_ascii_blank((unsigned char)v[n]))
            ++n;
        int named = name_is(v + s, n - s, coding) || (strcmp(coding, "gzip") == 0 && name_is(v + s, n - s, "x-gzip"));
        int refused = 0;
        for (size_t p = n; named && p < e; ++p) {
            if (v[p] != ';')
                continue;
            size_t k = p + 1;
            while (k < e && gw_is_ascii_blank((unsigned char)v[k]))
                ++k;
            if (k + 1 < e && (v[k] | 0x20) == 'q' && v[k + 1] == '=') {
                size_t d = k + 2;
                refused = d < e && v[d] == '0';
                for (++d; refused && d < e && v[d] != ';' && !gw_is_ascii_blank((unsigned char)v[d]); ++d)
                    refused = v[d] == '.' || v[d] == '0';
            }
        }
        if (named && !refused)
            return 1;
        i = e + 1;
    }
    return 0;
}

static int
hex_value(char c)
{
    if ('0' <= c && c <= '9')
        return c - '0';
    c |= 0x20;
    return 'a' <= c && c <= 'f' ? c - 'a' + 10 : -1;
}

/* An escaped ASCII character c, the escape's next byte in[next]: itself, but '_' (which no scheme or host holds) for one
 * that would end or open a string or a comment where the escaped text has none: a quote, a newline, the '*' of a
 * comment's start, a '/' before a '*'. (content: "\22" then a url() must not leave the url() inside a string.) */
static char
css_escaped_char(const char *in, size_t len, size_t next, uint32_t c)
{
    if (c == '"' || c == '\'' || c == '\n' || c == '\r' || c == '\f' || c == '*' || (c == '/' && next < len && in[next] == '*'))
        return '_';
    return (char)c;
}

size_t
gw_css_unescape(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0;
    while (i != len) {
        if (in[i] != '\\') {
            out[o++] = in[i++];
            continue;
        }
        if (++i == len)
            break; /* a "\\" at the end */
        if (in[i] == '\n' || in[i] == '\r' || in[i] == '\f') {
            i += in[i] == '\r' && i + 1 != len && in[i + 1] == '\n' ? 2 : 1;
            continue;
        }
        if (hex_value(in[i]) < 0) {
            ++i;
            out[o++] = css_escaped_char(in, len, i, (unsigned char)in[i - 1]);
            continue;
        }
        /* the escape is 2 to 8 bytes long ("\\", 1-6 digits, a blank); its UTF-8 at most as long (1 digit: < 0x10,
         * 1 byte; 2: < 0x100, 2 bytes; 3-4: < 0x10000, 3 bytes; 5-6: 4 bytes) */
        uint32_t cp = 0;
        size_t digits = 0;
        for (int h; digits != 6 && i != len && (h = hex_value(in[i])) >= 0; ++digits, ++i)
            cp = cp << 4 | (uint32_t)h;
        if (i != len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\f'))
            ++i;
        else if (i != len && in[i] == '\r')
            i += i + 1 != len && in[i + 1] == '\n' ? 2 : 1;
        if (cp == 0 || (0xd800 <= cp && cp <= 0xdfff) || cp > 0x10ffff) {
            out[o++] = '_';
        } else if (cp < 0x80) {
            out[o++] = css_escaped_char(in, len, i, cp);
        } else {
            o += gw_utf8_put(out + o, cp);
        }
    }
    return o;
}

static int
css_name_char(char c)
{
    return ('a' <= (c | 0x20) && (c | 0x20) <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || (unsigned char)c >= 0x80;
}

/* the end of the string or quoted url whose quote q opened it, at s: the closing quote, a newline, or len */
static size_t
css_string_end(const char *css, size_t len, size_t s, char q)
{
    while (s != len && css[s] != q && css[s] != '\n' && css[s] != '\r' && css[s] != '\f')
        ++s;
    return s;
}

/* css[i - n..i) is name (lower-case letters and '-'; css in any case) */
static int
css_name_before(const char *css, size_t i, const char *name, size_t n)
{
    if (i < n)
        return 0;
    for (size_t k = 0; k != n; ++k)
        if ((css[i - n + k] | 0x20) != name[k])
            return 0;
    return 1;
}

/* whether css[0..q) ends with "@import" (any case) and blanks: the string at q is an imported sheet's URL */
static int
css_after_import(const char *css, size_t q)
{
    while (q != 0 && gw_is_ascii_blank((unsigned char)css[q - 1]))
        --q;
    return q >= 7 && css[q - 7] == '@' && css_name_before(css, q, "import", 6);
}

/*
 * Whether the string whose opening quote is css[q] is an argument of image-set() or -webkit-image-set(), whose strings
 * are URLs, relative ones too (Chromium fetches image-set("p.gif" 1x)): looking back, over the options before it
 * (strings, url()s, type()s, descriptors, commas), for the '(' that opens the list, at most IMAGE_SET_BACK bytes (an
 * image set's options are short; the look-back stays bounded however many strings a sheet holds). Quotes inside
 * strings are gone (gw_css_unescape), so a quote looking back closes a string.
 */
#define IMAGE_SET_BACK 512
static int
css_in_image_set(const char *css, size_t q)
{
    size_t lim = q > IMAGE_SET_BACK ? q - IMAGE_SET_BACK : 0, i = q;
    unsigned depth = 0;
    while (i > lim) {
        char c = css[--i];
        if (c == ')') {
            ++depth;
        } else if (c == '(' && depth != 0) {
            --depth;
        } else if (c == '(') {
            if (!css_name_before(css, i, "image-set", 9))
                return 0;
            i -= 9;
            if (css_name_before(css, i, "-webkit-", 8))
                i -= 8;
            return i == 0 || !css_name_char(css[i - 1]);
        } else if (c == '"' || c == '\'') {
            while (i > lim && css[i - 1] != c)
                --i;
            if (i == lim)
                return 0;
            --i;
        } else if (c == ';' || c == '{' || c == '}') {
            return 0;
        }
    }
    return 0;
}

/* the first of '/', '"', '\'' and '(' (what can start a comment, a string or a url()) in css[i..len), or len */
static size_t
css_next_special(const char *css, size_t len, size_t i)
{
#ifdef __SSE2__
    const __m128i slash = _mm_set1_epi8('/'), dq = _mm_set1_epi8('"'), sq = _mm_set1_epi8('\''), paren = _mm_set1_epi8('(');
    for (; len - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(css + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, slash), _mm_cmpeq_epi8(v, dq)),
                                                              _mm_or_si128(_mm_cmpeq_epi8(v, sq), _mm_cmpeq_epi8(v, paren))));
        if (m != 0)
            return i + (size_t)__builtin_ctz(m);
    }
#endif
    while (i < len && css[i] != '/' && css[i] != '"' && css[i] != '\'' && css[i] != '(')
        ++i;
    return i;
}

int
gw_css_next_url(const char *css, size_t len, size_t *pos, const char **url, size_t *url_len)
{
    size_t i = *pos, s, e;
    while ((i = css_next_special(css, len, i)) < len) {
        char c = css[i];
        if (c == '/') {
            if (i + 1 < len && css[i + 1] == '*') {
                const char *end = memmem(css + i + 2, len - i - 2, "*/", 2);
                i = end != NULL ? (size_t)(end - css) + 2 : len;
            } else {
                ++i;
            }
            continue;
        }
        if (c == '"' || c == '\'') {
            s = i + 1;
            e = css_string_end(css, len, s, c);
            i = e != len ? e + 1 : len;
            if (e != s && (css_after_import(css, s - 1) || (e - s >= 2 && memmem(css + s, e - s, "//", 2) != NULL) ||
                           css_in_image_set(css, s - 1)))
                goto found;
            continue;
        }
        /* '(': the end of "url(" ("url" in any case, not the end of a longer name)? */
        if (!css_name_before(css, i, "url", 3) || (i > 3 && css_name_char(css[i - 4]))) {
            ++i;
            continue;
        }
        for (s = i + 1; s != len && gw_is_ascii_blank((unsigned char)css[s]); ++s)
            ;
        if (s != len && (css[s] == '"' || css[s] == '\'')) {
            e = css_string_end(css, len, s + 1, css[s]);
            i = e != len ? e + 1 : len;
            ++s;
        } else {
            for (e = s; e != len && css[e] != ')' && !gw_is_ascii_blank((unsigned char)css[e]); ++e)
                ;
            i = e;
        }
        if (e != s)
            goto found;
    }
    *pos = len;
    return 0;
found:
    *pos = i;
    *url = css + s;
    *url_len = e - s;
    return 1;
}

static int
ows(char c)
{
    return c == ' ' || c == '\t';
}

/* from a '"' at i: the index of its closing quote (a backslash escapes the next byte), or len when it has none */
static size_t
quote_close(const char *v, size_t len, size_t i)
{
    for (++i; i < len; ++i) {
        if (v[i] == '\\')
            ++i;
        else if (v[i] == '"')
            return i;
    }
    return len;
}

/* from i: the next ',' outside quotes, or len */
static size_t
next_comma(const char *v, size_t len, size_t i)
{
    while (i < len && v[i] != ',')
        i = v[i] == '"' ? quote_close(v, len, i) + 1 : i + 1;
    return i < len ? i : len;
}

/* the sf-string at v[i] unescaped into out: its length, with *end just after its closing quote, or SIZE_MAX */
static size_t
sf_string(const char *v, size_t len, size_t i, char *out, size_t out_max, size_t *end)
{
    size_t n = 0;
    if (i == len || v[i] != '"')
        return SIZE_MAX;
    for (++i; i != len; ++i) {
        if (v[i] == '"') {
            *end = i + 1;
            return n;
        }
        if (v[i] == '\\' && (++i == len || (v[i] != '"' && v[i] != '\\')))
            return SIZE_MAX;
        if (n == out_max || (unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
            return SIZE_MAX;
        out[n++] = v[i];
    }
    return SIZE_MAX;
}

int
gw_sf_string_next(const char *v, size_t len, size_t *pos, char *out, size_t out_max, gw_sf_member_t *m)
{
    size_t i = *pos;
    while (i < len && (ows(v[i]) || v[i] == ','))
        ++i;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    m->start = i;
    m->len = sf_string(v, len, i, out, out_max, &i);
    i = next_comma(v, len, i); /* (its parameters) */
    m->end = i;
    while (m->end > m->start + 1 && ows(v[m->end - 1]))
        --m->end;
    *pos = i;
    return 1;
}

int
gw_link_next(const char *v, size_t len, size_t *pos, gw_link_value_t *out)
{
    size_t i = *pos;
    while (i < len && (ows(v[i]) || v[i] == ','))
        ++i;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    out->start = i;
    if (v[i] != '<') {
        i = next_comma(v, len, i);
    } else {
        const char *gt = memchr(v + i + 1, '>', len - i - 1);
        out->uri = v + i + 1;
        out->uri_len = gt != NULL ? (size_t)(gt - out->uri) : len - i - 1;
        i = gt != NULL ? (size_t)(gt - v) + 1 : len;
        while (i != len && v[i] != ',') {
            if (ows(v[i]) || v[i] == ';') {
                ++i;
                continue;
            }
            /* a parameter: name [= value] */
            size_t name = i;
            while (i != len && !ows(v[i]) && v[i] != '=' && v[i] != ';' && v[i] != ',' && v[i] != '"')
                ++i;
            size_t name_len = i - name, j = i;
            while (j != len && ows(v[j]))
                ++j;
            const char *value = NULL;
            size_t value_len = 0;
            if (j != len && v[j] == '=') {
                for (++j; j != len && ows(v[j]); ++j)
                    ;
                if (j != len && v[j] == '"') {
                    size_t e = quote_close(v, len, j);
                    value = v + j + 1;
                    value_len = e - j - 1;
                    i = e < len ? e + 1 : len;
                } else {
                    for (i = j; i != len && !ows(v[i]) && v[i] != ';' && v[i] != ','; ++i)
                        ;
                    value = v + j;
                    value_len = i - j;
                }
            } else if (name_len == 0) { /* a stray quoted string: skipped whole */
                size_t e = quote_close(v, len, i);
                i = e < len ? e + 1 : len;
                continue;
            }
            if (name_len == 3 && (v[name] | 0x20) == 'r' && (v[name + 1] | 0x20) == 'e' && (v[name + 2] | 0x20) == 'l' &&
                out->rel == NULL && value != NULL) {
                out->rel = value;
                out->rel_len = value_len;
            } else if (name_len == 2 && (v[name] | 0x20) == 'a' && (v[name + 1] | 0x20) == 's' && out->as == NULL &&
                       value != NULL) {
                out->as = value;
                out->as_len = value_len;
            }
        }
    }
    /* trailing blanks are not the value's, unless they end an unterminated URI or quoted string */
    size_t keep = out->start + 1;
    if (out->uri != NULL && (size_t)(out->uri + out->uri_len - v) > keep)
        keep = (size_t)(out->uri + out->uri_len - v);
    if (out->rel != NULL && (size_t)(out->rel + out->rel_len - v) > keep)
        keep = (size_t)(out->rel + out->rel_len - v);
    if (out->as != NULL && (size_t)(out->as + out->as_len - v) > keep)
        keep = (size_t)(out->as + out->as_len - v);
    out->end = i;
    while (out->end > keep && ows(v[out->end - 1]))
        --out->end;
    *pos = i;
    return 1;
}

static size_t
skip_ascii_ws(const char *v, size_t len, size_t i)
{
    while (i != len && gw_is_ascii_blank((unsigned char)v[i]))
        ++i;
    return i;
}

int
gw_refresh_parse(const char *v, size_t len, size_t *delay_end, const char **url, size_t *url_len)
{
    size_t i = skip_ascii_ws(v, len, 0), delay = i;
    while (i != len && (('0' <= v[i] && v[i] <= '9') || v[i] == '.'))
        ++i;
    /* no delay, or one followed by anything else than a separator: browsers do not refresh at all */
    if (i == delay || (i != len && v[i] != ';' && v[i] != ',' && skip_ascii_ws(v, len, i) == i))
        return 0;
    *delay_end = i;
    i = skip_ascii_ws(v, len, i);
    if (i != len && (v[i] == ';' || v[i] == ','))
        ++i;
    i = skip_ascii_ws(v, len, i);
    if (len - i >= 3 && (v[i] | 0x20) == 'u' && (v[i + 1] | 0x20) == 'r' && (v[i + 2] | 0x20) == 'l') {
        size_t j = skip_ascii_ws(v, len, i + 3);
        if (j != len && v[j] == '=')
            i = skip_ascii_ws(v, len, j + 1);
    }
    size_t end = len;
    if (i != len && (v[i] == '"' || v[i] == '\'')) {
        const char *q = memchr(v + i + 1, v[i], len - i - 1);
        end = q != NULL ? (size_t)(q - v) : len;
        ++i;
    }
    *url = v + i;
    *url_len = i < end ? end - i : 0;
    return 1;
}
