/*
 * upstream_head — the origin's response head made safe for h2o 2.2.5's HTTP/1 client (see upstream_head.c): a
 * Content-Length or Transfer-Encoding it cannot read answers 502 instead of ending the process.
 */
#ifndef GW_UPSTREAM_HEAD_H
#define GW_UPSTREAM_HEAD_H

/* Finds the library's own response parser, which the check wraps. Call once before the first request is proxied.
 * Returns 0, or -1 when it cannot be found (the gateway must not start: every response would fail). */
int gw_upstream_head_init(void);

#endif
