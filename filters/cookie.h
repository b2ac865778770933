/*
 * cookie — RFC 6265 parsers for the two cookie headers the gateway rewrites.
 *
 * The gateway strips `Cookie` pairs and drops or rewrites `Set-Cookie` headers by
 * category, so it must read both headers exactly as browsers and origin servers do.
 * Everything here is a pure function over (const char *, size_t): no allocation, no
 * NUL-terminated assumptions, no locale, no I/O. Parsed strings are pointers into the
 * caller's input and stay valid as long as that input does.
 *
 * Behaviour on odd input (and where it differs from curl's lib/cookie.c) is documented
 * at the top of cookie.c.
 */
#ifndef GW_COOKIE_H
#define GW_COOKIE_H

#include <stddef.h>
#include <stdint.h>

/* Longest Cookie request header accepted (bytes). nginx and Apache refuse header lines
 * over 8 KiB by default; this leaves 4x headroom. Longer headers make the iterator fail. */
#define GW_COOKIE_MAX_HEADER 32768
/* Longest Set-Cookie line accepted (bytes): name+value (4096) plus every attribute. */
#define GW_SET_COOKIE_MAX_LINE 8192
/* RFC 6265bis §5.6 step 5 / Chrome, Firefox: name + value longer than this is ignored. */
#define GW_COOKIE_MAX_NAME_VALUE 4096
/* RFC 6265bis §5.6: an attribute value longer than this is ignored (the attribute only). */
#define GW_COOKIE_MAX_ATTR_VALUE 1024
/* Length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7). */
#define GW_COOKIE_HTTP_DATE_LEN 29
/* gw_set_cookie_t.expires when the cookie has no (valid) Expires attribute. */
#define GW_COOKIE_NO_EXPIRES INT64_MIN

/* ---- Cookie request header (RFC 6265 §4.2.1, §5.4) ------------------------------------ */

typedef struct st_gw_cookie_pair_t {
    const char *name; /* always points at the pair's first non-blank byte, even when name_len == 0 */
    size_t name_len;
    const char *value; /* may include surrounding DQUOTEs: they are part of the value (§4.1.1) */
    size_t value_len;
    /* 1 if the pair contained '=' ("a=b", "=b", "a="), 0 for a bare token ("b", read as name ""
     * and value "b", as browsers serialise a nameless cookie). The pair's original text is
     * name[0 .. (value + value_len - name)). */
    int has_eq;
} gw_cookie_pair_t;

/* Caller-owned, no cleanup needed. Fields are private. */
typedef struct st_gw_cookie_iter_t {
    const char *_cur, *_end;
} gw_cookie_iter_t;

/*
 * Starts iterating over the pairs of one Cookie header value header[0..len).
 * header may be NULL only when len == 0. The header must outlive the iterator and the
 * pairs it returns. Several Cookie fields (HTTP/2 splits them) must be joined with "; "
 * first (RFC 9113 §8.2.3).
 */
void gw_cookie_iter_init(gw_cookie_iter_t *it, const char *header, size_t len);

/*
 * Returns 1 when *out holds the next pair, 0 at the end, -1 when the header cannot be
 * read: longer than GW_COOKIE_MAX_HEADER (reported by the first call) or containing a
 * control byte (%x00-08, %x0A-1F, %x7F; reported when reached, so pairs before it may
 * already have been returned). Callers fail closed: on -1, discard whatever was built
 * from earlier pairs. Once 0 or -1 is returned, further calls return the same.
 * Empty segments (";;", trailing ";", blanks only) are skipped; duplicates are returned
 * in header order; blanks (SP, HTAB) around names and values are trimmed.
 */
int gw_cookie_iter_next(gw_cookie_iter_t *it, gw_cookie_pair_t *out);

/*
 * A cookie value with blanks inside ("1 _ga=GA1.2") is one pair to RFC 6265 and to this parser,
 * but parsers that split on blanks (Python's http.cookies, among others) read "_ga" as a cookie
 * of its own, and so do those that split on commas ("1,_ga=GA1.2": Rack before 3, RFC 2965
 * parsers). Iterates the names such a parser would find after a blank or a comma: start with *pos = 0;
 * each call sets *name / *name_len (a run of non-blanks before '=', after a blank) and returns
 * 1, or returns 0 when none is left. The gateway classifies them too, and strips the pair when
 * one is refused.
 */
int gw_cookie_value_next_name(const char *value, size_t len, size_t *pos, const char **name, size_t *name_len);

/* ---- Set-Cookie response header (RFC 6265 §5.2, RFC 6265bis §5.6) --------------------- */

typedef enum en_gw_cookie_err_t {
    GW_COOKIE_OK = 0,
    GW_COOKIE_ERR_TOO_LONG = -1, /* line longer than GW_SET_COOKIE_MAX_LINE */
    GW_COOKIE_ERR_CTL = -2,      /* a control byte other than HTAB anywhere in the line */
    GW_COOKIE_ERR_EMPTY = -3,    /* both name and value are empty */
    GW_COOKIE_ERR_TOO_BIG = -4,  /* name + value longer than GW_COOKIE_MAX_NAME_VALUE */
} gw_cookie_err_t;

typedef enum en_gw_cookie_same_site_t {
    GW_COOKIE_SAMESITE_UNSET = 0, /* absent or unrecognised value (6265bis: "Default") */
    GW_COOKIE_SAMESITE_NONE,
    GW_COOKIE_SAMESITE_LAX,
    GW_COOKIE_SAMESITE_STRICT,
} gw_cookie_same_site_t;

typedef struct st_gw_set_cookie_t {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    /* Domain: the last attribute, one leading '.' removed, case kept (compare it
     * case-insensitively). domain_len == 0: host-only (absent, or "Domain=" or "Domain=." last). */
    const char *domain;
    size_t domain_len;
    /* Path: last attribute; path_len == 0 means the default path (absent, empty, or not
     * starting with '/', §5.2.4). When set it always starts with '/'. */
    const char *path;
    size_t path_len;
    /* Expires: raw text of the last attribute when it parses as a date (§5.1.1), and that
     * date in Unix seconds; GW_COOKIE_NO_EXPIRES and expires_raw_len == 0 if none (or the
     * last one is not a date: browsers then keep none, not an earlier one). */
    const char *expires_raw;
    size_t expires_raw_len;
    int64_t expires;
    /* Max-Age (§5.2.2): seconds, negative allowed, saturated at INT64_MIN/INT64_MAX, of the
     * last attribute; has_max_age is 0 when that one is invalid. Valid only when has_max_age.
     * When both are present Max-Age wins (§5.3 step 3). */
    int64_t max_age;
    unsigned has_max_age : 1, secure : 1, http_only : 1, partitioned : 1;
    int same_site; /* gw_cookie_same_site_t */
} gw_set_cookie_t;

/*
 * Parses one Set-Cookie header value s[0..len) into *out (fully overwritten; strings point
 * into s). s may be NULL only when len == 0. Returns 0 (GW_COOKIE_OK) or a negative
 * gw_cookie_err_t; on error *out is zeroed except expires = GW_COOKIE_NO_EXPIRES.
 * A line without '=' in its first segment yields name "" and value = that segment
 * (RFC 6265bis §5.6; RFC 6265 and curl ignore such lines instead).
 * Unknown attributes (Priority, Comment, Version, ...) are ignored, as are attributes
 * whose value is invalid or longer than GW_COOKIE_MAX_ATTR_VALUE. O(len).
 */
int gw_set_cookie_parse(const char *s, size_t len, gw_set_cookie_t *out);

/* Static English text for a gw_cookie_err_t (any int accepted; unknown -> "unknown error"). */
const char *gw_cookie_strerror(int err);

/*
 * Serialises *c into buf[0..cap) as a Set-Cookie header value:
 *   name=value[; Expires=<IMF-fixdate>][; Max-Age=N][; Domain=d][; Path=p][; Secure]
 *   [; HttpOnly][; SameSite=Strict|Lax|None][; Partitioned]
 * Expires is written from c->expires (expires_raw is ignored), so a caller can change
 * expires, max_age or the flags and re-emit the cookie. Unknown attributes of the parsed
 * original are not reproduced. No NUL is written. Returns the length written, or 0 when it
 * does not fit or when a field cannot be represented so that gw_set_cookie_parse() reads
 * it back unchanged (';' or a control byte in a field, blanks at a field's edge, '=' in
 * the name, empty name and value, name+value over the cap, an attribute value over
 * GW_COOKIE_MAX_ATTR_VALUE, a path not starting with '/', an expires outside 1601..9999).
 */
size_t gw_set_cookie_format(const gw_set_cookie_t *c, char *buf, size_t cap);

/*
 * Writes t (Unix seconds, UTC) as an IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT"
 * (RFC 9110 §5.6.7, the sane-cookie-date of RFC 6265 §4.1.1) into buf, no NUL.
 * Returns GW_COOKIE_HTTP_DATE_LEN, or 0 if cap is smaller or the year is outside 1601..9999
 * (the range gw_cookie_parse_date() accepts).
 */
size_t gw_cookie_format_http_date(int64_t t, char *buf, size_t cap);

/*
 * Parses a cookie-date with the RFC 6265 §5.1.1 algorithm (accepts IMF-fixdate, RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT", asctime and the many variants servers send; two-digit
 * years 70-99 are 19xx, 00-69 are 20xx; a five-digit year, which Chromium reads as the far future, gives the last
 * second of 9999). Returns 0 and sets *out (Unix seconds), or -1.
 */
int gw_cookie_parse_date(const char *s, size_t len, int64_t *out);

#endif
