/*
 * geo — the visitor's jurisdiction: client address (trusted proxies), country lookup
 * (libmaxminddb, GeoIP2 layout) and the regime table that maps a place to opt-in, opt-out
 * or notice.
 *
 * Three pieces, all read-only after load so worker threads share them without locks:
 * - gw_client_addr: the client address of a request, honouring X-Forwarded-For only when the
 *   peer is a trusted proxy (pure function, fuzzed).
 * - gw_geo_lookup: country, EU membership and first subdivision from a memory-mapped MMDB
 *   file; no allocation (libmaxminddb lookups in MMAP mode are thread-safe). Decoded records
 *   are kept in a small per-thread cache keyed by (handle, record), since one visitor's
 *   requests keep landing on the same record and decoding it costs more than the tree walk.
 * - gw_regimes_resolve: most specific rule wins: "US-CA" > "US" > "EU" > default.
 *
 * EU membership: the database's is_in_european_union flag when the record carries one;
 * otherwise a built-in list of the EU-27 member states (as of 2020-02-01). Databases without
 * the flag (older GeoIP2/GeoLite2 builds, MaxMind's test databases) would else quietly put EU
 * visitors under the default regime.
 */
#ifndef GW_GEO_H
#define GW_GEO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* --- lookup ---------------------------------------------------------------------------------- */

typedef struct st_gw_geo_t gw_geo_t;

typedef struct st_gw_geo_result_t {
    char country[3];     /* ISO 3166-1 alpha-2, upper case; "" when unknown */
    char subdivision[4]; /* ISO 3166-2 part after the dash ("CA" of US-CA), 1..3 chars; "" when unknown */
    uint8_t in_eu;       /* 1 when the country is an EU member state (see above) */
} gw_geo_result_t;

/*
 * Opens the MaxMind DB at `path` (memory-mapped). Returns a handle to release with gw_geo_close,
 * or NULL with "path: reason" (libmaxminddb's reason, or errno's) in err[0..errlen).
 */
gw_geo_t *gw_geo_open(const char *path, char *err, size_t errlen);

/* Unmaps and frees g. NULL is a no-op. */
void gw_geo_close(gw_geo_t *g);

/* 0 when the database's records end at the country (a Country database): no subdivision is ever found. */
int gw_geo_has_subdivisions(const gw_geo_t *g);

/* When the database was built (its metadata's build_epoch, Unix seconds). */
uint64_t gw_geo_built_at(const gw_geo_t *g);

/*
 * Looks up sa (AF_INET or AF_INET6; IPv4-mapped IPv6 is looked up as IPv4). Uses `country`,
 * or `registered_country` when the record has no usable country. Returns 0 when a country was
 * found, -1 otherwise (not in the database, no usable country, unsupported family, g NULL,
 * database error). *out is always initialised (empty strings, in_eu 0 on -1).
 * No allocation; safe to call from many threads at once on one g.
 */
int gw_geo_lookup(const gw_geo_t *g, const struct sockaddr *sa, gw_geo_result_t *out);

/* --- regime table ---------------------------------------------------------------------------- */

#define GW_REGIMES_MAX_SUBDIVISIONS 256

typedef struct st_gw_regimes_t {
    int8_t def;              /* regime when nothing matches */
    int8_t eu;               /* -1: no "EU" rule */
    int8_t country[26 * 26]; /* by alpha-2 code; -1: no rule */
    struct {
        char cc[2];
        char sub[4]; /* NUL-padded */
        int8_t regime;
    } subs[GW_REGIMES_MAX_SUBDIVISIONS];
    size_t num_subs;
} gw_regimes_t;

/* Empties t: no rules, default regime 0 (opt-in, the most protective). */
void gw_regimes_init(gw_regimes_t *t);

/* Sets the regime used when no rule matches. Returns 0, or -1 when regime is outside 0..127. */
int gw_regimes_set_default(gw_regimes_t *t, int regime);

/*
 * Adds the rule key[0..len) -> regime. key is "CC" (ISO 3166-1 alpha-2), "CC-SUB" (ISO 3166-2,
 * SUB 1..3 letters or digits) or "EU"; letters are accepted in either case. A key added twice
 * keeps the last regime. Returns 0, or -1 for a malformed key, a regime outside 0..127, or
 * more than GW_REGIMES_MAX_SUBDIVISIONS subdivision rules.
 */
int gw_regimes_add(gw_regimes_t *t, const char *key, size_t len, int regime);

/* Returns the regime for geo (NULL: unknown place, the default). No allocation. *by_subdivision (when not NULL) says
 * whether a subdivision's rule ("US-CA") decided it. */
int gw_regimes_resolve(const gw_regimes_t *t, const gw_geo_result_t *geo, int *by_subdivision);

/* --- client address -------------------------------------------------------------------------- */

#define GW_CIDR_LIST_MAX 64

typedef struct st_gw_cidr_t {
    uint8_t addr[16]; /* IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), host bits cleared */
    uint8_t prefix;   /* 0..128 over the 16 bytes */
} gw_cidr_t;

typedef struct st_gw_cidr_list_t {
    gw_cidr_t entries[GW_CIDR_LIST_MAX];
    size_t num_entries;
} gw_cidr_list_t; /* zero-filled = empty */

/*
 * Adds "ADDR" or "ADDR/PREFIX" (NUL-terminated; IPv4 or IPv6; a bare address is /32 or /128;
 * host bits beyond the prefix are ignored). An IPv4 entry also matches IPv4-mapped IPv6 peers.
 * Returns 0, or -1 when cidr is malformed or the list is full.
 */
int gw_cidr_list_add(gw_cidr_list_t *list, const char *cidr);

/* Returns 1 when sa (AF_INET / AF_INET6) lies in one of the list's networks, else 0. list may be NULL. */
int gw_cidr_list_contains(const gw_cidr_list_t *list, const struct sockaddr *sa);

/* Writes sa's network as the gateway keeps a visitor's address: "192.0.2.0/24" (IPv4-mapped IPv6 too), "2001:db8::/48"
 * (RFC 5952, not 2001:db8:0::/48: a search for the prefix finds it). Returns 0, or -1 with out "" (another family, or
 * out too small). */
int gw_addr_truncated(const struct sockaddr *sa, char *out, size_t outlen);

/*
 * The client address of a request from `peer` carrying X-Forwarded-For xff[0..xff_len) (the
 * header's values joined with ","; xff may be NULL). XFF is honoured only when the peer is in
 * `trusted`: its entries are walked from the right, trusted ones skipped, and the first untrusted
 * one is the client; if all are trusted, the leftmost is. A malformed entry (anything but a bare
 * IPv4 or IPv6 address, optionally [bracketed], with optional spaces/tabs around it) stops the
 * walk, and so do more than 64 hops: the last good address is the client.
 * *out receives sockaddr_in or sockaddr_in6 (port 0 when taken from XFF).
 * Returns 1 when the client came from XFF, 0 when it is the peer, -1 when peer is neither
 * AF_INET nor AF_INET6 (*out then has family AF_UNSPEC). Pure: no allocation, no I/O.
 */
int gw_client_addr(const struct sockaddr *peer, const char *xff, size_t xff_len, const gw_cidr_list_t *trusted,
                   struct sockaddr_storage *out);

#endif
