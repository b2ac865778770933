/*
 * ui_parse — see ui_parse.h. Moved out of ui.c unchanged in behaviour: the Accept-Language
 * negotiation (negotiate + match_tag), the template tokenizer (the loop of parse_template, file
 * reading and partials left to the caller) and the string interpolation / HTML escaping
 * (put_text, put_escaped), with callbacks where ui.c appended to req->pool.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "ui_parse.h"

/* --- Accept-Language ------------------------------------------------------------------------ */

static char
lower(char c)
{
    return 'A' <= c && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int
is_sep(char c)
{
    return c == '-' || c == '_'; /* ('_' as in "zh_TW", which some clients send) */
}

/* code starts with tag[0..len), but for case and '-' / '_' */
static int
starts_with_tag(const char *code, const char *tag, size_t len)
{
    for (size_t i = 0; i != len; ++i)
        if (code[i] == '\0' || (!(is_sep(tag[i]) && is_sep(code[i])) && lower(tag[i]) != lower(code[i])))
            return 0;
    return 1;
}

/* the codes refused with q=0: bit i for codes[i] (the first 64; the UI has at most 16 languages) */
typedef uint64_t refused_t;

static int
is_refused(refused_t refused, size_t i)
{
    return i < 64 && (refused >> i & 1) != 0;
}

static int
find_code(const char *tag, size_t len, const char *const *codes, size_t num_codes, refused_t refused)
{
    for (size_t i = 0; i != num_codes; ++i)
        if (!is_refused(refused, i) && starts_with_tag(codes[i], tag, len) && codes[i][len] == '\0')
            return (int)i;
    return -1;
}

/* the codes a tag with q=0 refuses: those it covers as a range does in basic filtering (RFC 4647 3.3.1), itself and
 * its longer forms ("zh" refuses "zh-CN" and "zh-Hant") */
static refused_t
refused_by(const char *tag, size_t len, const char *const *codes, size_t num_codes)
{
    refused_t r = 0;
    for (size_t i = 0; i != num_codes && i != 64; ++i)
        if (starts_with_tag(codes[i], tag, len) && (codes[i][len] == '\0' || is_sep(codes[i][len])))
            r |= (refused_t)1 << i;
    return r;
}

/* RFC 4647 3.4 lookup of one tag: the tag, then shorter by a subtag at a time ("zh-Hant-TW", "zh-Hant", "zh"), a
 * single-letter subtag going with the one after it ("pt-BR-x-tv" → "pt-BR") */
static int
lookup_tag(const char *tag, size_t len, const char *const *codes, size_t num_codes, refused_t refused)
{
    while (len != 0) {
        int l = find_code(tag, len, codes, num_codes, refused);
        if (l != -1)
            return l;
        while (len != 0 && !is_sep(tag[len - 1]))
            --len;
        if (len != 0)
            --len; /* the separator */
        if (len >= 2 && is_sep(tag[len - 2]))
            len -= 2; /* "-x", "-u": a singleton is never the last subtag */
    }
    return -1;
}

/*
 * The script a Chinese tag is written in, 'T' (Traditional) or 'S' (Simplified), by its script subtag, else by its
 * region as CLDR's likely subtags have it (zh-TW, zh-HK, zh-MO: Hant; zh, zh-CN, zh-SG, …: Hans); 0 for a tag that is
 * not Chinese. Traditional and Simplified readers are not served each other's text while one of their own is there.
 */
static char
chinese_script(const char *tag, size_t len)
{
    if (len < 2 || strncasecmp(tag, "zh", 2) != 0 || (len > 2 && !is_sep(tag[2])))
        return 0;
    char region = 'S';
    for (size_t p = 3; p < len;) {
        size_t n = 0;
        while (p + n != len && !is_sep(tag[p + n]))
            ++n;
        if (n == 4 && strncasecmp(tag + p, "hant", 4) == 0)
            return 'T';
        if (n == 4 && strncasecmp(tag + p, "hans", 4) == 0)
            return 'S';
        if (n == 1)
            break; /* an extension or private use: no script or region after it */
        if (n == 2 &&
            (strncasecmp(tag + p, "tw", 2) == 0 || strncasecmp(tag + p, "hk", 2) == 0 || strncasecmp(tag + p, "mo", 2) == 0))
            region = 'T';
        p += n + 1;
    }
    return region;
}

/* a language for one tag, of those not refused: looked up (RFC 4647 3.4), else a Chinese one in the same script, else
 * the first with the same primary subtag ("zh-TW" → "zh-CN" when there is no Traditional Chinese, "en-GB" → "en") */
static int
match_tag(const char *tag, size_t len, const char *const *codes, size_t num_codes, refused_t refused)
{
    int l = lookup_tag(tag, len, codes, num_codes, refused);
    if (l != -1)
        return l;
    char script = chinese_script(tag, len);
    for (size_t i = 0; i != num_codes && script != 0; ++i)
        if (!is_refused(refused, i) && chinese_script(codes[i], strlen(codes[i])) == script)
            return (int)i;
    size_t primary = 0;
    while (primary != len && !is_sep(tag[primary]))
        ++primary;
    for (size_t i = 0; i != num_codes && primary != 0; ++i) {
        size_t p = strcspn(codes[i], "-_");
        if (!is_refused(refused, i) && p == primary && strncasecmp(codes[i], tag, primary) == 0)
            return (int)i;
    }
    return -1;
}

/* the item of an Accept-Language value at p (up to its ',' or end): its tag, whitespace trimmed, and its q in
 * thousandths; returns where the next item starts, or NULL after the last */
static const char *
next_item(const char *p, const char *end, const char **tag, size_t *tag_len, int *q)
{
    const char *item_end = memchr(p, ',', (size_t)(end - p));
    if (item_end == NULL)
        item_end = end;
    const char *semi = memchr(p, ';', (size_t)(item_end - p)), *tag_end = semi != NULL ? semi : item_end;
    while (p < tag_end && (*p == ' ' || *p == '\t'))
        ++p;
    while (tag_end > p && (tag_end[-1] == ' ' || tag_end[-1] == '\t'))
        --tag_end;
    *tag = p, *tag_len = (size_t)(tag_end - p), *q = 1000;
    if (semi != NULL) {
        const char *qs = semi + 1;
        while (qs < item_end && (*qs == ' ' || *qs == '\t')) /* OWS */
            ++qs;
        if (item_end - qs >= 3 && (qs[0] == 'q' || qs[0] == 'Q') && qs[1] == '=') { /* (the name is case-insensitive) */
            *q = qs[2] == '1' ? 1000 : 0;
            if (qs[2] == '0' && item_end - qs > 4 && qs[3] == '.')
                for (int k = 0, scale = 100; k != 3 && qs + 4 + k < item_end && '0' <= qs[4 + k] && qs[4 + k] <= '9';
                     ++k, scale /= 10)
                    *q += (qs[4 + k] - '0') * scale;
        }
    }
    return item_end != end ? item_end + 1 : NULL;
}

int
gw_ui_negotiate(const char *al, size_t len, const char *const *codes, size_t num_codes)
{
    const char *tag, *p;
    size_t tag_len;
    int q;
    /* what q=0 refuses first, wherever it stands: "zh-TW, zh-CN;q=0" is not answered in zh-CN */
    refused_t refused = 0;
    for (p = len != 0 ? al : NULL; p != NULL;) {
        p = next_item(p, al + len, &tag, &tag_len, &q);
        if (q == 0 && tag_len != 0)
            refused |= refused_by(tag, tag_len, codes, num_codes);
    }
    int best = -1, best_q = 0, l;
    for (p = len != 0 ? al : NULL; p != NULL;) {
        p = next_item(p, al + len, &tag, &tag_len, &q);
        if (q > best_q && tag_len != 0 && (l = match_tag(tag, tag_len, codes, num_codes, refused)) != -1)
            best = l, best_q = q;
    }
    return best;
}

/* --- templates ------------------------------------------------------------------------------ */

/* offset of the first needle[0..2) in s[0..len), or SIZE_MAX */
static size_t
find2(const char *s, size_t len, char a, char b)
{
    for (size_t i = 0; i + 1 < len; ++i)
        if (s[i] == a && s[i + 1] == b)
            return i;
    return (size_t)-1;
}

static int
fail(gw_ui_tmpl_err_t *err, int code, size_t at, const char *name, size_t name_len)
{
    if (err != NULL)
        *err = (gw_ui_tmpl_err_t){at, name, name_len};
    return code;
}

int
gw_ui_parse_template(const char *src, size_t len, gw_ui_tmpl_cb cb, void *ctx, gw_ui_tmpl_err_t *err)
{
    struct {
        const char *s;
        size_t len, at;
    } open[GW_UI_MAX_OPEN];
    size_t num_open = 0;
    const char *p = src, *end = src + len;
    while (p < end) {
        size_t at = find2(p, (size_t)(end - p), '{', '{');
        const char *open_tag = at != (size_t)-1 ? p + at : end;
        if (open_tag != p && cb(ctx, GW_UI_TEXT, p, (size_t)(open_tag - p)) != 0)
            return fail(err, GW_UI_ECALLBACK, (size_t)(p - src), NULL, 0);
        if (open_tag == end)
            break;
        const char *tag = open_tag + 2;
        size_t close = find2(tag, (size_t)(end - tag), '}', '}');
        if (close == (size_t)-1 || close < 1 || close > GW_UI_MAX_TAG)
            return fail(err, GW_UI_EUNTERMINATED, (size_t)(open_tag - src), NULL, 0);
        const char *arg = tag + 1;
        size_t arg_len = close - 1;
        int kind;
        switch (tag[0]) {
        case '$':
            kind = GW_UI_VAR;
            break;
        case '#':
        case '^':
            if (num_open == GW_UI_MAX_OPEN)
                return fail(err, GW_UI_EDEPTH, (size_t)(open_tag - src), arg, arg_len);
            open[num_open].s = arg, open[num_open].len = arg_len, open[num_open].at = (size_t)(open_tag - src);
            ++num_open;
            kind = tag[0] == '#' ? GW_UI_SECTION : GW_UI_INVERTED;
            break;
        case '/':
            if (num_open == 0 || open[num_open - 1].len != arg_len || memcmp(open[num_open - 1].s, arg, arg_len) != 0)
                return fail(err, GW_UI_EMISMATCH, (size_t)(open_tag - src), arg, arg_len);
            --num_open;
            kind = GW_UI_CLOSE;
            break;
        case '>':
            kind = GW_UI_PARTIAL;
            break;
        default:
            kind = GW_UI_STR, arg = tag, arg_len = close;
            break;
        }
        if (cb(ctx, kind, arg, arg_len) != 0)
            return fail(err, GW_UI_ECALLBACK, (size_t)(open_tag - src), NULL, 0);
        p = tag + close + 2;
    }
    if (num_open != 0)
        return fail(err, GW_UI_EUNCLOSED, open[num_open - 1].at, open[num_open - 1].s, open[num_open - 1].len);
    return 0;
}

/* --- strings -------------------------------------------------------------------------------- */

void
gw_ui_escape(const char *s, size_t len, gw_ui_out_cb out, void *ctx)
{
    const char *run = s, *end = s + len;
    for (; s != end; ++s) {
        const char *rep;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }
        out(ctx, run, (size_t)(s - run));
        out(ctx, rep, strlen(rep));
        run = s + 1;
    }
    out(ctx, run, (size_t)(end - run));
}

void
gw_ui_interpolate(const char *s, size_t len, gw_ui_lookup_cb lookup, gw_ui_out_cb out, void *ctx)
{
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *brace = memchr(p, '{', (size_t)(end - p)), *close;
        if (brace == NULL)
            break;
        const char *v = NULL;
        size_t v_len = 0;
        int found = 0;
        if ((close = memchr(brace, '}', (size_t)(end - brace))) != NULL)
            found = lookup(ctx, brace + 1, (size_t)(close - brace - 1), &v, &v_len);
        gw_ui_escape(p, (size_t)(brace - p) + (found == 0), out, ctx);
        if (found) {
            gw_ui_escape(v, v_len, out, ctx);
            p = close + 1;
        } else {
            p = brace + 1;
        }
    }
    gw_ui_escape(p, (size_t)(end - p), out, ctx);
}
