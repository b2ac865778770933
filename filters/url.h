/*
 * url — the small URL pieces the link shim and the admin API need: percent-decoding a query
 * value, splitting an absolute http(s) URL into host and path, and the path a server sees. Pure, bounded, no allocation
 * beyond the caller's buffer; fuzzed.
 */
#ifndef GW_URL_H
#define GW_URL_H

#include <stddef.h>

/* The value of a hex digit ('0'-'9', 'a'-'f', 'A'-'F'), or -1. */
int gw_url_hex_digit(char c);

/* Percent-decodes s[0..len) into out (len bytes suffice: never longer); '+' becomes ' '. Returns the decoded
 * length, or (size_t)-1 on a malformed escape ('%' not followed by two hex digits). */
size_t gw_url_pct_decode(const char *s, size_t len, char *out);

/* Percent-encodes everything but unreserved characters (RFC 3986 §2.3) into out (3 * len bytes suffice).
 * Returns the encoded length. */
size_t gw_url_pct_encode(const char *s, size_t len, char *out);

/*
 * Splits an absolute http:// or https:// URL: *host_off and *host_len locate the host (userinfo and port
 * dropped; an IPv6 literal keeps its brackets), *path_off the path-and-query ("/" when the URL has none:
 * then *path_off == len). Returns 0, or -1 when the URL is not absolute http(s) or has no host.
 */
int gw_url_split(const char *url, size_t len, size_t *host_off, size_t *host_len, size_t *path_off);

/*
 * The path a browser requests for the path-and-query in[0..len) of an http(s) URL, as a server reads it, into out
 * (len bytes suffice: never longer; out may not overlap in): in the path (up to '?' or '#'), a backslash is a slash,
 * percent-escapes of unreserved characters are decoded ("%2e" is '.', "%61" is 'a'; others stay as written, and so does
 * one whose character would make an escape with a lone '%' before it: "%%37e" stays, not "%7e"), and
 * "." and ".." segments are removed (RFC 3986 §5.2.4); the query and fragment are copied as they are. Returns the
 * length. "/a/./b/../c" -> "/a/c", "/x/%2e%2e/y?q" -> "/y?q". Normalising the result again gives it unchanged.
 */
size_t gw_url_path_normalize(const char *in, size_t len, char *out);

#endif
