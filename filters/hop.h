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

/* A message's field name for gw_hop_mark: name[0..len), index its place among the message's fields (the caller's), named
 * set by gw_hop_mark. */
typedef struct st_gw_hop_name_t {
    const char *name;
    size_t len;
    size_t index;
    int named;
} gw_hop_name_t;

/* Sorts names[0..n) for gw_hop_mark (by name, in any case) and sets their named to 0. */
void gw_hop_sort(gw_hop_name_t *names, size_t n);

/* Sets named in each of names[0..n) (sorted by gw_hop_sort) that is one of the connection options in value[0..value_len),
 * as gw_hop_named tells, and leaves the others as they were: call it for each Connection field of the message. It reads
 * the value once and looks each option up in names (O(value_len + options * log n + n)): a value of many options beside
 * many fields costs no more than their bytes (asked field by field, gw_hop_named reads the whole value for each). */
void gw_hop_mark(const char *value, size_t value_len, gw_hop_name_t *names, size_t n);

/* 1 when name[0..len) is a field of the connection whatever the Connection field says (the list above), else 0. */
int gw_hop_fixed(const char *name, size_t len);

#endif
