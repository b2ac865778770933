/*
 * proxy_header — the PROXY protocol header a TCP load balancer sends before a connection's
 * first byte (HAProxy's proxy-protocol.txt, versions 1 and 2), naming the client it accepted
 * the connection from: HAProxy `send-proxy`/`send-proxy-v2`, AWS Network Load Balancers (v2),
 * Google Cloud's TCP/SSL proxies (v1).
 *
 *   v1: "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n" (or TCP6, or UNKNOWN …), ≤ 107 bytes
 *   v2: a 12-byte signature, version/command, family/transport, a 16-bit length, the
 *       addresses and any TLVs (ignored)
 *
 * v2 LOCAL (a load balancer's own health check) names no client: the connection keeps its own
 * address. One that relays a client without naming it (v1 UNKNOWN, v2 PROXY over the UNSPEC or
 * UNIX families) gives the unspecified address 0.0.0.0: the balancer's is a trusted proxy's.
 *
 * Pure, bounded (GW_PROXY_HEADER_MAX bytes), no allocation; fuzzed.
 */
#ifndef GW_PROXY_HEADER_H
#define GW_PROXY_HEADER_H

#include <stddef.h>
#include <sys/socket.h>

/* v2's 16 fixed bytes and up to 4 KB of addresses and TLVs (AWS and Google send a few dozen bytes of TLVs) */
#define GW_PROXY_HEADER_MAX (16 + 4096)

/*
 * Reads the header at the start of s[0..len). Returns its length (> 0) with the client's address
 * in *client (*client_len 0 for v2 LOCAL); 0 when s is a valid beginning that
 * needs more bytes; -1 when s does not start with a valid header.
 */
long gw_proxy_header_parse(const char *s, size_t len, struct sockaddr_storage *client, socklen_t *client_len);

#endif
