/*
 * hop — the hop-by-hop header fields a proxy does not pass on (RFC 9110 7.6.1): those a Connection field names as its
 * connection options, and those that are always the connection's (Connection, Keep-Alive, Proxy-Connection, TE,
 * Trailer, Transfer-Encoding, Upgrade, and Proxy-Authenticate and Proxy-Authorization, which are for the proxy the
 * client chose: RFC 9110 11.7, RFC 2616 13.5.1's list, as Go's httputil.ReverseProxy and Apache's mod_proxy drop them).
 *
 * Pure, over (const char *, size_t); names are compared in any case. No allocation.
 */
#ifndef GW_HOP_H
#define GW_HOP_H

#include <stddef.h>

/* 1 when name[0..name_len) is one of the connection options in value[0..value_len), a Connection field's value
 * (#token: a comma-separated list, blanks around the items, empty items allowed), else 0. An empty name is never one. */
int gw_hop_named(const char *value, size_t value_len, const char *name, size_t name_len);

/* 1 when name[0..len) is a field of the connection whatever the Connection field says (the list above), else 0. */
int gw_hop_fixed(const char *name, size_t len);

#endif
