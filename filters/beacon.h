/*
 * beacon — recognising web beacons on the request path (pure; the h2o glue is
 * gateway/beacons.c).
 *
 * A request is a beacon when it is
 *   - addressed to a first-party collector endpoint from the config (`beacons.endpoints`:
 *     a path, or a glob with '*'), or
 *   - an `<a ping>` / ping request (`Ping-From` or `Ping-To` header, or
 *     `Content-Type: text/ping`), or
 *   - a `navigator.sendBeacon` request: a POST with `Sec-Fetch-Mode: no-cors` and
 *     `Sec-Fetch-Dest: empty` (page scripts' fetch/XHR are `cors` or `same-origin`, forms
 *     `navigate`), or
 *   - matched by a tracker list (the caller asks the list matcher).
 * A beacon of a category the visitor has not granted is answered at the edge: with the
 * 43-byte transparent GIF when the request wants an image, else with 204.
 */
#ifndef GW_BEACON_H
#define GW_BEACON_H

#include <stddef.h>
#include <stdint.h>

#define GW_BEACON_GIF_LEN 43
extern const uint8_t gw_beacon_gif[GW_BEACON_GIF_LEN];

/*
 * Matches a request path (query excluded by the caller or not: '?' ends the path here) against an
 * endpoint pattern. Without '*', the pattern matches the path itself and anything below it at a
 * segment boundary ("/collect" matches "/collect", "/collect/x", "/collect?v=1", not "/collector");
 * one that ends in '|' (after its first byte) matches the path alone ("/collect|": "/collect",
 * "/collect?v=1", not "/collect/" or "/collect/x"). With '*', the pattern is a glob over the whole
 * path ('*' matches any run of bytes, '/' included; a final '|' says the same).
 * Letters compare ASCII case-insensitively ("/collect" matches "/Collect"): origins that route so
 * (Express by default, ASP.NET) would otherwise take a collector's other spellings past the rule.
 * Returns 1 on a match, 0 otherwise. Pure; O(len * pattern) worst case, no recursion.
 */
int gw_beacon_path_match(const char *pattern, size_t plen, const char *path, size_t len);

/*
 * Reads a request path as servlet containers route it (Tomcat, Jetty, Spring): each segment's path
 * parameters (from ';' to the segment's end: "/collect;jsessionid=A1" is /collect to them) dropped,
 * empty segments merged, "." and ".." segments resolved (after the parameters went: "/x/..;/collect"
 * is /collect). What follows the path ('?' on) is copied as it is. out must have room for len + 1
 * bytes; returns the length written (a path without a '/' at its start gets one). Pure, O(len).
 */
size_t gw_beacon_path_servlet(const char *path, size_t len, char *out);

/* The request headers that decide what a beacon is (slices of the request; len 0 = absent). */
typedef struct st_gw_beacon_req_t {
    const char *path;
    size_t path_len;
    const char *content_type;
    size_t content_type_len;
    const char *sec_fetch_dest;
    size_t sec_fetch_dest_len;
    const char *accept;
    size_t accept_len;
    const char *method;
    size_t method_len;
    const char *sec_fetch_mode;
    size_t sec_fetch_mode_len;
    unsigned has_ping_from : 1, has_ping_to : 1;
} gw_beacon_req_t;

/* 1 for `<a ping>`-style requests (Ping-From / Ping-To / Content-Type: text/ping) */
int gw_beacon_is_ping(const gw_beacon_req_t *r);

/* 1 for a navigator.sendBeacon-shaped request: POST, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: empty */
int gw_beacon_is_send_beacon(const gw_beacon_req_t *r);

/* 1 for a visitor's top-level navigation (a page, never a beacon: answered 204, the link the visitor followed would be
 * dead): Sec-Fetch-Dest: document, or, from a browser that sends no Sec-Fetch-Dest (Safari before 16.4, a page over
 * plain HTTP), an Accept that starts with text/html as browsers' navigations do. A frame (Sec-Fetch-Dest: iframe) is
 * not one: a collector in a hidden frame is still a beacon. */
int gw_beacon_is_page(const gw_beacon_req_t *r);

/* 1 when the answer should be an image: Sec-Fetch-Dest: image, an Accept that starts with image/,
 * or a path ending in .gif .png .jpg .jpeg .webp .svg .ico .bmp (before any query) */
int gw_beacon_wants_image(const gw_beacon_req_t *r);

#endif
