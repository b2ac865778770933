/*
 * fetch — small pieces of how browsers fetch, for the gateway's request and HTML paths: the
 * candidate URLs of a srcset attribute, CSS escapes (for the URLs in style sheets), and whether an
 * Accept-Encoding value accepts a coding.
 * Pure, bounded, no allocation; unit-tested and fuzzed.
 */
#ifndef GW_FETCH_H
#define GW_FETCH_H

#include <stddef.h>

/* HTML's ASCII whitespace, which is also CSS's: space, tab, LF, CR, FF */
static inline int
gw_is_ascii_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/*
 * Iterates the candidates of a srcset value (HTML §4.8.4.3.10, "parse a srcset attribute"): a URL is
 * a run of non-blanks after any blanks and commas, its trailing commas not its own; when it had none,
 * a descriptor follows, up to the next comma outside parentheses (which do not nest: the first ')' closes
 * them). Start with *pos = 0; each call sets *url / *url_len (never empty) and returns 1, or returns 0 when
 * no candidate is left.
 */
int gw_srcset_next(const char *v, size_t len, size_t *pos, const char **url, size_t *url_len);

/*
 * Resolves the escapes of CSS text (CSS Syntax §4.3.7, "consume an escaped code point") as a browser
 * reads them in identifiers, strings and url(): "\" and 1-6 hex digits (and one blank after them) is
 * that code point, written as UTF-8 (0, surrogates and values over 0x10FFFF become '_', which no host
 * or scheme holds); "\" and a newline is dropped (a string's line continuation); "\" and any other
 * byte is that byte; a "\" at the end is dropped. An escaped quote, newline or '*', and an escaped '/'
 * before a '*', is '_' too: the escaped text has no string or comment there, which gw_css_next_url must
 * not find in the result. out needs len bytes: the result is never longer.
 * Returns its length. in and out may be the same buffer.
 */
size_t gw_css_unescape(const char *in, size_t len, char *out);

/*
 * Iterates the URLs of CSS text whose escapes are resolved (gw_css_unescape): the argument of each
 * url( … ) ("url" in any case, not the end of a longer name; quoted or not; blanks around it not its
 * own), each quoted string right after @import (a sheet imported by a relative URL too), each quoted
 * string that is an argument of image-set() or -webkit-image-set() (relative too), and each other
 * quoted string holding "//" (an absolute URL, say).
 * Comments are skipped; a string or quoted url ends at its quote, a newline or the end of the text.
 * Start with *pos = 0; each call sets *url / *url_len (never empty) and returns 1, or returns 0 when
 * no URL is left.
 */
int gw_css_next_url(const char *css, size_t len, size_t *pos, const char **url, size_t *url_len);

/*
 * Reads a refresh as HTML's "shared declarative refresh steps" do (a <meta http-equiv="refresh"> content, whose
 * character references the caller resolved, or a Refresh response header): a delay (digits and dots) first, then a
 * blank, ';' or ',', then optionally "url" "=" (any case, blanks around), then the URL, quoted or not (a quoted one
 * ends at its quote). Returns 1 with *delay_end (the delay is v[0..*delay_end), leading blanks included) and the URL
 * (*url_len 0: a refresh of the page itself) set, or 0 when browsers do not refresh at all (no delay, or junk after
 * it).
 */
int gw_refresh_parse(const char *v, size_t len, size_t *delay_end, const char **url, size_t *url_len);

/* One link-value of a Link header (RFC 8288 §3): <uri>; param=value; … */
typedef struct st_gw_link_value_t {
    size_t start, end; /* the link-value in the header value: [start, end), blanks and commas around it not its own */
    const char *uri;   /* between '<' and '>'; NULL when the value does not start with '<' (malformed) */
    size_t uri_len;
    const char *rel, *as; /* the first rel and as parameters' values (quotes removed, escapes kept); NULL: none */
    size_t rel_len, as_len;
} gw_link_value_t;

/*
 * Iterates the link-values of a Link header value. A URI runs to its '>' (commas inside are its own);
 * a parameter value is a token or a quoted string (a comma inside quotes is its own); anything else up
 * to the next ',' is skipped. Start with *pos = 0; each call fills *out and returns 1, or returns 0
 * when no link-value is left. Values are never empty: out->end > out->start.
 */
int gw_link_next(const char *v, size_t len, size_t *pos, gw_link_value_t *out);

/* One member of a List of Strings (RFC 8941 §3.1, as a Speculation-Rules header is): "string";param=value */
typedef struct st_gw_sf_member_t {
    size_t start, end; /* the member in the header value: [start, end), blanks and commas around it not its own */
    size_t len;        /* its string's length, unescaped into the caller's buffer; SIZE_MAX when it is no valid string
                          (not first, unquoted, unterminated, a bad escape, a byte outside 0x20..0x7e) or outgrows it */
} gw_sf_member_t;

/*
 * Iterates the members of a List of Strings value; each call unescapes the member's string into out (out_max bytes)
 * and fills *m, or returns 0 when no member is left. A member runs to the next ',' outside a quoted string; empty ones
 * are skipped (out->end > out->start). Start with *pos = 0.
 */
int gw_sf_string_next(const char *v, size_t len, size_t *pos, char *out, size_t out_max, gw_sf_member_t *m);

/*
 * 1 when the Accept-Encoding value v[0..len) lists coding (case-insensitive; for "gzip", "x-gzip"
 * too) with a q-value other than 0 ("q=0", "q=0.", "q=0.000" refuse it), else 0. "*" does not count:
 * the caller asks for a coding by name.
 */
int gw_accepts_coding(const char *v, size_t len, const char *coding);

#endif
