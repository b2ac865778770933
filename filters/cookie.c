/*
 * cookie — RFC 6265 Cookie iterator, Set-Cookie parser and serialiser, cookie-date
 * parser. See cookie.h for the contracts; this comment records the decisions.
 *
 * Cookie request header (RFC 6265 §4.2.1 grammar, read leniently like servers do):
 *   - pairs are separated by ';' only (a ',' is part of a value: RFC 2965 "$Version"
 *     syntax is dead and browsers never fold cookies with commas);
 *   - SP and HTAB around names and values are trimmed; blanks inside are kept ("a b=c"
 *     has the name "a b", which the Open Cookie Database does list);
 *   - "=v" is name "" value "v"; a bare token "v" is also name "" value "v" (has_eq = 0),
 *     because that is how browsers serialise a nameless cookie (RFC 6265bis §5.7.3);
 *     Go's net/http and PHP read the token as a name instead. The gateway classifies by
 *     name, so both forms are "unlisted", and it can copy the pair back verbatim;
 *   - quotes are kept in the value (§4.1.1 makes DQUOTEs part of cookie-value);
 *   - empty segments (";;", "; ;", trailing ';') are skipped; "=" alone is a pair with
 *     empty name and value; duplicates are returned in order (§5.4 sends duplicates,
 *     longest path first, and servers differ in which one they use);
 *   - a control byte other than HTAB, or a header over GW_COOKIE_MAX_HEADER, is an error
 *     (-1): browsers never send either, and the gateway must not guess.
 *
 * Set-Cookie (RFC 6265 §5.2 with the RFC 6265bis-draft §5.6 updates browsers implement):
 *   - any control byte other than HTAB anywhere in the line rejects the line (6265bis);
 *   - no '=' in the name-value pair: name "", value = the pair (6265bis); empty name and
 *     empty value: rejected; name + value over 4096 bytes: rejected;
 *   - attribute names are case-insensitive, the last occurrence of each wins (§5.3);
 *     attribute values over 1024 bytes and invalid values are ignored (attribute only);
 *   - Expires uses the §5.1.1 algorithm (years 1601..9999, 70-99 -> 19xx, 0-69 -> 20xx) with Chromium's time: the
 *     token is exactly three runs of digits of any length ("010:18:14" is a time, "10:18:14x" none); a five-digit year is
 *     read as the last second of 9999 (Chromium keeps such a cookie as long as any: 400 days);
 *   - Max-Age: optional '-' then digits only (§5.2.2), saturating, kept signed; a leading '+' is read too
 *     (Chromium reads "+N" as N; the gateway's lifetime cap must see what the browser keeps);
 *   - Expires, Max-Age and Domain: the last attribute of the name counts even when its value is invalid or empty,
 *     which unsets it (Chromium; RFC 6265 would keep an earlier valid one);
 *   - Domain: one leading '.' removed, empty (or "Domain=.") means host-only;
 *   - Path: empty or not starting with '/' means the default path (§5.2.4);
 *   - Secure / HttpOnly / Partitioned: flags, value ignored ("Secure=foo" sets Secure);
 *   - SameSite: Strict / Lax / None (case-insensitive), anything else is "unset".
 *
 * Differences from curl 8 (lib/cookie.c parse_cookie_header(); behaviour read, not code):
 *   - curl drops a line whose first pair has no '=' ("Set-Cookie: foo"); we read name "".
 *     With an empty name ("=v; path=/") curl even skips the pair and takes "path=/" as the
 *     cookie; we read name "" value "v" with Path=/.
 *   - curl drops cookies with a TAB inside the value; 6265bis and we accept it.
 *   - curl checks control bytes only in name and value; we reject the whole line, as
 *     6265bis does ("a=b; Path=/\x01" is accepted by curl, rejected here).
 *   - curl's line cap is 5000 bytes, ours GW_SET_COOKIE_MAX_LINE; curl also rejects a
 *     name or value of 4095+ bytes on its own, we only cap the sum (4096) like browsers.
 *   - Max-Age: curl accepts a leading '"' and treats an invalid value as "expire now";
 *     we ignore invalid values (§5.2.2). curl caps lifetimes at 400 days; we report the
 *     value and leave policy to the caller.
 *   - Expires: curl uses its general date parser (and only if no Max-Age was seen
 *     before); we use §5.1.1 and report both. "Fri Feb 13 11:56:27 GMT 2037" (curl
 *     test 31) parses the same in both.
 *   - Path: curl strips surrounding quotes and a trailing '/'; we keep the text.
 *   - "secure=" and "httponly=" are flags in both; curl ignores "secure=x", we set Secure.
 *   - curl ignores SameSite and Partitioned and enforces the __Secure-/__Host- prefixes
 *     and domain/PSL checks at parse time; those are storage-model rules (§5.3 / 6265bis
 *     §5.7) that depend on the request, so they are left to the caller.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include "cookie.h"

/* iterator state after an error; _cur == NULL and _end == &iter_failed */
static const char iter_failed;

static inline int
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* control bytes refused everywhere: %x00-08 / %x0A-1F / %x7F (RFC 6265bis §5.6 step 1) */
static inline int
is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static inline int
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality of s[0..n) and the lower-case literal lit */
static int
eq_lit(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; ++i)
        if (lit[i] == '\0' || lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return lit[i] == '\0';
}

/* trims SP/HTAB from both ends of [*b, *e) */
static void
trim(const char **b, const char **e)
{
    while (*e > *b && is_blank((unsigned char)(*e)[-1]))
        --*e;
    while (*b < *e && is_blank((unsigned char)**b))
        ++*b;
}

/* first control byte (is_ctl) in [p, end), or end; tests 16 bytes at a time (this runs for every cookie of every
 * request and response) */
static const char *
find_ctl(const char *p, const char *end)
{
#ifdef __SSE2__
    if (end - p >= 16) {
        const __m128i max_ctl = _mm_set1_epi8(0x1f), tab = _mm_set1_epi8('\t'), del = _mm_set1_epi8(0x7f);
        for (const char *last = end - 16;; p += 16) {
            if (p > last)
                p = last; /* the last 16 bytes: those it shares with the block before are known clean */
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i below = _mm_cmpeq_epi8(_mm_min_epu8(v, max_ctl), v); /* bytes <= 0x1f */
            __m128i ctl = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, tab), below), _mm_cmpeq_epi8(v, del));
            unsigned m = (unsigned)_mm_movemask_epi8(ctl);
            if (m != 0)
                return p + __builtin_ctz(m);
            if (p == last)
                return end;
        }
    }
#endif
    for (; p < end; ++p)
        if (is_ctl((unsigned char)*p))
            return p;
    return end;
}

/* ---- Cookie iterator ---------------------------------------------------------------- */

void
gw_cookie_iter_init(gw_cookie_iter_t *it, const char *header, size_t len)
{
    if (len > GW_COOKIE_MAX_HEADER || (header == NULL && len != 0)) {
        it->_cur = NULL;
        it->_end = &iter_failed;
        return;
    }
    it->_cur = header;
    it->_end = header == NULL ? NULL : header + len;
}

int
gw_cookie_iter_next(gw_cookie_iter_t *it, gw_cookie_pair_t *out)
{
    const char *p = it->_cur, *end = it->_end;

    if (end == &iter_failed)
        return -1;
    /* skip blanks and empty segments */
    while (p < end && (is_blank((unsigned char)*p) || *p == ';'))
        ++p;
    if (p >= end) {
        it->_cur = end;
        return 0;
    }

    const char *start = p, *semi = memchr(p, ';', (size_t)(end - p));
    p = semi != NULL ? semi : end;
    if (find_ctl(start, p) != p) {
        it->_cur = NULL;
        it->_end = &iter_failed;
        return -1;
    }
    const char *eq = memchr(start, '=', (size_t)(p - start));
    it->_cur = p < end ? p + 1 : end;

    out->name = start;
    if (eq != NULL) {
        const char *ne = eq, *vb = eq + 1, *ve = p;
        while (ne > start && is_blank((unsigned char)ne[-1]))
            --ne;
        trim(&vb, &ve);
        out->name_len = (size_t)(ne - start);
        out->value = vb;
        out->value_len = (size_t)(ve - vb);
        out->has_eq = 1;
    } else {
        const char *ve = p;
        while (ve > start && is_blank((unsigned char)ve[-1]))
            --ve;
        out->name_len = 0;
        out->value = start;
        out->value_len = (size_t)(ve - start);
        out->has_eq = 0;
    }
    return 1;
}

/* ---- cookie-date (RFC 6265 §5.1.1) ------------------------------------------------- */

/* delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E */
static const unsigned char date_delim[256] = {
    [0x09] = 1, [0x20 ... 0x2f] = 1, [0x3b ... 0x40] = 1, [0x5b ... 0x60] = 1, [0x7b ... 0x7e] = 1,
};

/* reads a run of 1..max digits at tok[*i]; the run must end at a non-digit or the token end */
static int
take_digits(const char *tok, size_t tl, size_t *i, size_t min, size_t max, int *val)
{
    size_t n = 0;
    int v = 0;
    while (*i + n < tl && is_digit((unsigned char)tok[*i + n])) {
        if (++n > max)
            return -1;
        v = v * 10 + (tok[*i + n - 1] - '0');
    }
    if (n < min)
        return -1;
    *i += n;
    *val = v;
    return 0;
}

/*
 * The time as Chromium (156) reads it: the whole token is three ':'-separated runs of digits, each of any length
 * ("010:18:14" and "0000010:0018:00014" are 10:18:14), and nothing after them ("10:18:14x", "10:18:14:15" are no
 * time). RFC 6265 §5.1.1's hms-time has 1*2DIGIT fields and allows trailing octets: it took the date of the first
 * examples for none, and a lifetime cap reading it so let the cookie live to that date.
 */
static int
parse_hms(const char *tok, size_t tl, int hms[3])
{
    size_t i = 0;
    for (int k = 0; k != 3; ++k) {
        size_t start = i;
        int v = 0;
        for (; i < tl && is_digit((unsigned char)tok[i]); ++i)
            if (v < 100) /* (past 99 it is out of range whatever follows) */
                v = v * 10 + (tok[i] - '0');
        if (i == start || (k != 2 ? i >= tl || tok[i++] != ':' : i != tl))
            return -1;
        hms[k] = v;
    }
    return 0;
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
gw_cookie_parse_date(const char *s, size_t len, int64_t *out)
{
#define M3(a, b, c) ((uint32_t)(a) << 16 | (uint32_t)(b) << 8 | (uint32_t)(c))
    static const uint32_t month_codes[12] = {M3('j', 'a', 'n'), M3('f', 'e', 'b'), M3('m', 'a', 'r'), M3('a', 'p', 'r'),
                                             M3('m', 'a', 'y'), M3('j', 'u', 'n'), M3('j', 'u', 'l'), M3('a', 'u', 'g'),
                                             M3('s', 'e', 'p'), M3('o', 'c', 't'), M3('n', 'o', 'v'), M3('d', 'e', 'c')};
#undef M3
    int found_time = 0, found_day = 0, found_month = 0, found_year = 0;
    int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
    size_t p = 0;

    while (p < len) {
        while (p < len && date_delim[(unsigned char)s[p]])
            ++p;
        size_t tb = p;
        while (p < len && !date_delim[(unsigned char)s[p]])
            ++p;
        if (p == tb)
            break;
        const char *tok = s + tb;
        size_t tl = p - tb, i;
        int a, hms[3];

        if (!found_time && parse_hms(tok, tl, hms) == 0) {
            found_time = 1;
            hour = hms[0], minute = hms[1], second = hms[2];
            continue;
        }
        /* day-of-month = 1*2DIGIT [ non-digit *OCTET ] */
        i = 0;
        if (!found_day && take_digits(tok, tl, &i, 1, 2, &a) == 0) {
            found_day = 1;
            day = a;
            continue;
        }
        /* month = ( "jan" / ... / "dec" ) *OCTET, case-insensitive */
        if (!found_month && tl >= 3) {
            uint32_t code = (uint32_t)lower((unsigned char)tok[0]) << 16 | (uint32_t)lower((unsigned char)tok[1]) << 8 |
                            lower((unsigned char)tok[2]);
            int k;
            for (k = 0; k < 12; ++k)
                if (month_codes[k] == code)
                    break;
            if (k < 12) {
                found_month = 1;
                month = k + 1;
                continue;
            }
        }
        /* year = 2*4DIGIT [ non-digit *OCTET ]; five digits too, read as the far future below (Chromium keeps such a
         * cookie as long as it keeps any: a lifetime cap must see it) */
        i = 0;
        if (!found_year && take_digits(tok, tl, &i, 2, 5, &a) == 0) {
            found_year = 1;
            year = a;
            continue;
        }
    }

    if (year >= 70 && year <= 99)
        year += 1900;
    else if (year >= 0 && year <= 69)
        year += 2000;
    if (!found_time || !found_day || !found_month || !found_year)
        return -1;
    if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59)
        return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day > mdays[month - 1] + (month == 2 && is_leap(year)))
        return -1; /* "no such date" */
    if (year > 9999) {
        *out = 253402300799LL; /* the last second of 9999, the latest date written back (DATE_MAX_T) */
        return 0;
    }
    *out = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return 0;
}

/* first and last second of the years 1601..9999 */
#define DATE_MIN_T (-11644473600LL)
#define DATE_MAX_T (253402300799LL)

size_t
gw_cookie_format_http_date(int64_t t, char *buf, size_t cap)
{
    static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mnames[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (cap < GW_COOKIE_HTTP_DATE_LEN || t < DATE_MIN_T || t > DATE_MAX_T)
        return 0;
    int64_t days = t / 86400, secs = t % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int wd = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    int hms[3] = {(int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60)};
    char *o = buf;
    memcpy(o, wdays[wd], 3), o += 3;
    *o++ = ',', *o++ = ' ';
    *o++ = (char)('0' + d / 10), *o++ = (char)('0' + d % 10), *o++ = ' ';
    memcpy(o, mnames[m - 1], 3), o += 3;
    *o++ = ' ';
    for (int k = 1000, yy = (int)y; k > 0; k /= 10)
        *o++ = (char)('0' + yy / k % 10);
    for (int k = 0; k < 3; ++k) {
        *o++ = k == 0 ? ' ' : ':';
        *o++ = (char)('0' + hms[k] / 10), *o++ = (char)('0' + hms[k] % 10);
    }
    memcpy(o, " GMT", 4);
    return GW_COOKIE_HTTP_DATE_LEN;
}

/* ---- Set-Cookie parser (RFC 6265 §5.2) ---------------------------------------------- */

/* §5.2.2: first char DIGIT or '-', the rest DIGITs; at least one digit. Saturates. A leading '+' is read as well:
 * 6265bis ignores such an attribute, but Chromium reads "+N" as N, and a lifetime cap that ignored it let the cookie
 * live as long as the browser reads it (400 days) */
static int
parse_max_age(const char *v, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (v[0] == '-' || v[0] == '+')) {
        neg = v[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (; i < n; ++i) {
        if (!is_digit((unsigned char)v[i]))
            return -1;
        unsigned dgt = (unsigned)(v[i] - '0');
        acc = acc > (limit - dgt) / 10 ? limit : acc * 10 + dgt;
    }
    if (neg)
        *out = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
    else
        *out = (int64_t)acc;
    return 0;
}

static void
apply_attribute(gw_set_cookie_t *c, const char *n, size_t nl, const char *v, size_t vl)
{
    int64_t t;

    if (vl > GW_COOKIE_MAX_ATTR_VALUE)
        return; /* 6265bis §5.6 step 7: ignore the cookie-av */
    /* dispatch on the length first: one string comparison per attribute */
    switch (nl) {
    case 7:
        /* the last Expires and the last Max-Age count even when their value is invalid, which then unsets them (Chromium:
         * "Max-Age=5; Max-Age=x; Expires=<2099>" lives 400 days, "Expires=<2099>; Expires=x" is a session cookie);
         * §5.2.1 and §5.2.2 would keep the earlier valid one, and a lifetime cap reading that let the cookie outlive it */
        if (eq_lit(n, nl, "expires")) {
            int ok = gw_cookie_parse_date(v, vl, &t) == 0;
            c->expires = ok ? t : GW_COOKIE_NO_EXPIRES;
            c->expires_raw = ok ? v : NULL;
            c->expires_raw_len = ok ? vl : 0;
        } else if (eq_lit(n, nl, "max-age")) {
            c->has_max_age = parse_max_age(v, vl, &t) == 0;
            c->max_age = c->has_max_age ? t : 0;
        }
        break;
    case 6:
        if (eq_lit(n, nl, "domain")) {
            /* an empty value makes the cookie host-only, also after another Domain (Chromium; §5.2.3 would ignore it) */
            if (vl != 0 && v[0] == '.')
                ++v, --vl;
            c->domain = vl != 0 ? v : NULL;
            c->domain_len = vl;
        } else if (eq_lit(n, nl, "secure")) {
            c->secure = 1;
        }
        break;
    case 4:
        if (eq_lit(n, nl, "path")) {
            if (vl == 0 || v[0] != '/') {
                c->path = NULL; /* §5.2.4: the default-path */
                c->path_len = 0;
            } else {
                c->path = v;
                c->path_len = vl;
            }
        }
        break;
    case 8:
        if (eq_lit(n, nl, "httponly")) {
            c->http_only = 1;
        } else if (eq_lit(n, nl, "samesite")) {
            if (eq_lit(v, vl, "strict"))
                c->same_site = GW_COOKIE_SAMESITE_STRICT;
            else if (eq_lit(v, vl, "lax"))
                c->same_site = GW_COOKIE_SAMESITE_LAX;
            else if (eq_lit(v, vl, "none"))
                c->same_site = GW_COOKIE_SAMESITE_NONE;
            else
                c->same_site = GW_COOKIE_SAMESITE_UNSET; /* 6265bis §5.6.7: "Default" */
        }
        break;
    case 11:
        if (eq_lit(n, nl, "partitioned"))
            c->partitioned = 1;
        break;
    }
    /* anything else: §5.2 "ignore the cookie-av" */
}

int
gw_set_cookie_parse(const char *s, size_t len, gw_set_cookie_t *out)
{
    memset(out, 0, sizeof(*out));
    out->expires = GW_COOKIE_NO_EXPIRES;

    if (len > GW_SET_COOKIE_MAX_LINE)
        return GW_COOKIE_ERR_TOO_LONG;
    if (len == 0)
        return GW_COOKIE_ERR_EMPTY;
    if (find_ctl(s, s + len) != s + len)
        return GW_COOKIE_ERR_CTL;

    const char *end = s + len, *semi = memchr(s, ';', len);
    if (semi == NULL)
        semi = end;
    const char *eq = semi > s ? memchr(s, '=', (size_t)(semi - s)) : NULL;
    const char *nb = s, *ne = eq != NULL ? eq : s, *vb = eq != NULL ? eq + 1 : s, *ve = semi;
    trim(&nb, &ne);
    trim(&vb, &ve);
    if (ne == nb && ve == vb)
        return GW_COOKIE_ERR_EMPTY;
    if ((size_t)(ne - nb) + (size_t)(ve - vb) > GW_COOKIE_MAX_NAME_VALUE)
        return GW_COOKIE_ERR_TOO_BIG;

    out->name = nb;
    out->name_len = (size_t)(ne - nb);
    out->value = vb;
    out->value_len = (size_t)(ve - vb);

    for (const char *p = semi; p < end;) {
        const char *ab = p + 1, *ae = memchr(ab, ';', (size_t)(end - ab));
        if (ae == NULL)
            ae = end;
        p = ae;
        const char *aeq = memchr(ab, '=', (size_t)(ae - ab));
        const char *anb = ab, *ane = aeq != NULL ? aeq : ae, *avb = aeq != NULL ? aeq + 1 : ae, *ave = ae;
        trim(&anb, &ane);
        trim(&avb, &ave);
        apply_attribute(out, anb, (size_t)(ane - anb), avb, (size_t)(ave - avb));
    }
    return GW_COOKIE_OK;
}

const char *
gw_cookie_strerror(int err)
{
    switch (err) {
    case GW_COOKIE_OK:
        return "ok";
    case GW_COOKIE_ERR_TOO_LONG:
        return "Set-Cookie line too long";
    case GW_COOKIE_ERR_CTL:
        return "control character in cookie";
    case GW_COOKIE_ERR_EMPTY:
        return "cookie has neither name nor value";
    case GW_COOKIE_ERR_TOO_BIG:
        return "cookie name and value too large";
    default:
        return "unknown error";
    }
}

/* ---- Set-Cookie serialiser ---------------------------------------------------------- */

typedef struct st_outbuf_t {
    char *buf;
    size_t cap, len;
    int failed;
} outbuf_t;

static void
put(outbuf_t *o, const char *s, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (n > o->cap - o->len) {
        o->failed = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

/* a field the parser reads back unchanged: no ';' or CTL, no blank at either edge (a leading
 * blank is fine behind the '.' the serialiser puts before such a Domain) */
static int
representable(const char *s, size_t n, int allow_eq, int allow_lead_blank)
{
    if (n == 0)
        return 1;
    if (s == NULL || (is_blank((unsigned char)s[0]) && !allow_lead_blank) || is_blank((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; ++i) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ';' || is_ctl(ch) || (ch == '=' && !allow_eq))
            return 0;
    }
    return 1;
}

size_t
gw_set_cookie_format(const gw_set_cookie_t *c, char *buf, size_t cap)
{
    outbuf_t o = {buf, cap, 0, 0};
    char num[24];

    if ((c->name_len == 0 && c->value_len == 0) || c->name_len + c->value_len > GW_COOKIE_MAX_NAME_VALUE ||
        !representable(c->name, c->name_len, 0, 0) || !representable(c->value, c->value_len, 1, 0))
        return 0;
    /* the parser strips one leading '.' and keeps what follows, blanks included ("Domain=. x"
     * is " x"), so such a domain is written behind an extra '.' */
    int dot = c->domain_len != 0 && c->domain != NULL && (c->domain[0] == '.' || is_blank((unsigned char)c->domain[0]));
    if (!representable(c->domain, c->domain_len, 1, 1) || c->domain_len + dot > GW_COOKIE_MAX_ATTR_VALUE)
        return 0;
    if (!representable(c->path, c->path_len, 1, 0) || c->path_len > GW_COOKIE_MAX_ATTR_VALUE ||
        (c->path_len != 0 && c->path[0] != '/'))
        return 0;
    if (c->same_site < GW_COOKIE_SAMESITE_UNSET || c->same_site > GW_COOKIE_SAMESITE_STRICT)
        return 0;

    put(&o, c->name, c->name_len);
    PUT_LIT(&o, "=");
    put(&o, c->value, c->value_len);
    if (c->expires != GW_COOKIE_NO_EXPIRES) {
        char date[GW_COOKIE_HTTP_DATE_LEN];
        if (gw_cookie_format_http_date(c->expires, date, sizeof(date)) == 0)
            return 0;
        PUT_LIT(&o, "; Expires=");
        put(&o, date, sizeof(date));
    }
    if (c->has_max_age) {
        /* decimal, right to left; the magnitude as uint64_t so INT64_MIN works */
        uint64_t m = c->max_age < 0 ? 0 - (uint64_t)c->max_age : (uint64_t)c->max_age;
        char *d = num + sizeof(num);
        do
            *--d = (char)('0' + m % 10);
        while ((m /= 10) != 0);
        if (c->max_age < 0)
            *--d = '-';
        PUT_LIT(&o, "; Max-Age=");
        put(&o, d, (size_t)(num + sizeof(num) - d));
    }
    if (c->domain_len != 0) {
        PUT_LIT(&o, "; Domain=");
        if (dot)
            PUT_LIT(&o, ".");
        put(&o, c->domain, c->domain_len);
    }
    if (c->path_len != 0) {
        PUT_LIT(&o, "; Path=");
        put(&o, c->path, c->path_len);
    }
    if (c->secure)
        PUT_LIT(&o, "; Secure");
    if (c->http_only)
        PUT_LIT(&o, "; HttpOnly");
    if (c->same_site == GW_COOKIE_SAMESITE_STRICT)
        PUT_LIT(&o, "; SameSite=Strict");
    else if (c->same_site == GW_COOKIE_SAMESITE_LAX)
        PUT_LIT(&o, "; SameSite=Lax");
    else if (c->same_site == GW_COOKIE_SAMESITE_NONE)
        PUT_LIT(&o, "; SameSite=None");
    if (c->partitioned)
        PUT_LIT(&o, "; Partitioned");
    return o.failed ? 0 : o.len;
}

/* what parsers of the Cookie header other than RFC 6265's split pairs at inside a value: blanks (Python's http.cookies)
 * and commas (Rack before 3, RFC 2965 parsers) */
static inline int
is_value_split(char c)
{
    return c == ' ' || c == '\t' || c == ',';
}

int
gw_cookie_value_next_name(const char *value, size_t len, size_t *pos, const char **name, size_t *name_len)
{
    size_t i = *pos;
    while (i < len) {
        while (i < len && !is_value_split(value[i])) /* to a blank or a comma */
            ++i;
        while (i < len && is_value_split(value[i]))
            ++i;
        size_t start = i;
        while (i < len && !is_value_split(value[i]) && value[i] != '=')
            ++i;
        if (i < len && value[i] == '=' && i != start) {
            *name = value + start;
            *name_len = i - start;
            *pos = i + 1;
            return 1;
        }
    }
    *pos = len;
    return 0;
}
