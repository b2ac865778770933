/*
 * Microbenchmarks for the per-request identity work: consent token verify and encode, GeoIP
 * lookup (MaxMind's City test database), client address from X-Forwarded-For, regime lookup.
 * Prints one "micro <name>: <N> ns/op (n=...)" line per benchmark. Run from the repository
 * root (or set CG_SRCDIR).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "geo.h"
#include "token.h"

static volatile uint64_t sink;

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
report(const char *name, uint64_t t0, uint64_t t1, size_t n)
{
    printf("micro %s: %.0f ns/op (n=%zu)\n", name, (double)(t1 - t0) / (double)n, n);
}

int
main(void)
{
    enum { N = 1000000 };
    gw_token_key_t keys[2];
    gw_token_t t = {.granted = 0x0b, .policy_version = 4, .regime = 1, .issued = 1700000000, .expires = 1800000000}, out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    uint64_t t0, t1;

    gw_token_key_init(&keys[0], 1, "0123456789abcdef0123456789abcdef", 32);
    gw_token_key_init(&keys[1], 2, "fedcba9876543210fedcba9876543210", 32);
    gw_token_new_visitor(t.visitor);
    gw_token_encode(&t, &keys[1], enc, sizeof(enc));

    t0 = now_ns();
    for (size_t i = 0; i != N; ++i)
        sink += gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 2, 1750000000 + i, 4, &out) + out.granted;
    t1 = now_ns();
    if (gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 2, 1750000000, 4, &out) != GW_TOKEN_OK)
        return 1;
    report("token_verify", t0, t1, N);

    enc[10] ^= 1; /* a forged token costs the same: the MAC is always computed */
    t0 = now_ns();
    for (size_t i = 0; i != N; ++i)
        sink += gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 2, 1750000000 + i, 4, &out);
    t1 = now_ns();
    report("token_verify_bad_mac", t0, t1, N);

    t0 = now_ns();
    for (size_t i = 0; i != N; ++i) {
        t.issued = 1700000000 + i;
        sink += gw_token_encode(&t, &keys[0], enc, sizeof(enc)) + (uint8_t)enc[60];
    }
    t1 = now_ns();
    report("token_encode", t0, t1, N);

    /* geo lookup over a rotating set of 8 addresses (hits and misses): after the first round
     * every answer comes from the per-thread record cache (the tree walk is still done) */
    char path[1024], err[512];
    const char *root = getenv("CG_SRCDIR");
    snprintf(path, sizeof(path), "%s/tests/data/maxmind/GeoIP2-City-Test.mmdb", root != NULL ? root : ".");
    gw_geo_t *g = gw_geo_open(path, err, sizeof(err));
    if (g == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    static const char *ips[] = {"81.2.69.160", "175.16.199.0", "216.160.83.56", "89.160.20.112",
                                "2001:250::1", "2a02:d180::1", "10.0.0.1",      "2.125.160.216"};
    struct sockaddr_storage addrs[8];
    for (size_t i = 0; i != 8; ++i) {
        memset(&addrs[i], 0, sizeof(addrs[i]));
        if (strchr(ips[i], ':') == NULL) {
            addrs[i].ss_family = AF_INET;
            inet_pton(AF_INET, ips[i], &((struct sockaddr_in *)&addrs[i])->sin_addr);
        } else {
            addrs[i].ss_family = AF_INET6;
            inet_pton(AF_INET6, ips[i], &((struct sockaddr_in6 *)&addrs[i])->sin6_addr);
        }
    }
    gw_geo_result_t r;
    gw_regimes_t regimes;
    gw_regimes_init(&regimes);
    gw_regimes_add(&regimes, "EU", 2, 0);
    gw_regimes_add(&regimes, "US", 2, 1);
    gw_regimes_add(&regimes, "US-CA", 5, 0);
    t0 = now_ns();
    for (size_t i = 0; i != N; ++i)
        sink += (uint64_t)gw_geo_lookup(g, (struct sockaddr *)&addrs[i & 7], &r) + (uint8_t)r.country[0];
    t1 = now_ns();
    report("geo_lookup_cached", t0, t1, N);

    /* ~190 distinct records (2a02:cf40::/29 ... 2a02:ffc0::/29) cycled through: the per-thread
     * record cache (64 slots) mostly misses: the cost of decoding a country-level record
     * (a full City record, with names in eight languages, costs ~1.5 us to decode) */
    static struct sockaddr_in6 many[192];
    for (size_t i = 0; i != 192; ++i) {
        many[i].sin6_family = AF_INET6;
        many[i].sin6_addr.s6_addr[0] = 0x2a;
        many[i].sin6_addr.s6_addr[1] = 0x02;
        uint16_t w = (uint16_t)(0xcf40 + 0x40 * i);
        many[i].sin6_addr.s6_addr[2] = (uint8_t)(w >> 8);
        many[i].sin6_addr.s6_addr[3] = (uint8_t)w;
    }
    size_t found = 0;
    t0 = now_ns();
    for (size_t i = 0; i != N; ++i) {
        found += gw_geo_lookup(g, (struct sockaddr *)&many[(i * 7) % 192], &r) == 0;
        sink += (uint8_t)r.country[0];
    }
    t1 = now_ns();
    report("geo_lookup_cache_miss", t0, t1, N);
    if (found < N / 2)
        return 1; /* the addresses are meant to hit records */

    t0 = now_ns();
    for (size_t i = 0; i != N; ++i) {
        gw_geo_lookup(g, (struct sockaddr *)&addrs[i & 7], &r);
        sink += (uint64_t)gw_regimes_resolve(&regimes, &r, NULL);
    }
    t1 = now_ns();
    report("geo_lookup_and_regime", t0, t1, N);
    gw_geo_close(g);

    /* client address: trusted peer, three-hop header */
    gw_cidr_list_t trusted = {0};
    gw_cidr_list_add(&trusted, "127.0.0.1/32");
    gw_cidr_list_add(&trusted, "10.0.0.0/8");
    struct sockaddr_in peer = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr);
    static const char xff[] = "198.51.100.23, 203.0.113.9, 10.1.2.3";
    struct sockaddr_storage client;
    t0 = now_ns();
    for (size_t i = 0; i != N; ++i)
        sink += (uint64_t)gw_client_addr((struct sockaddr *)&peer, xff, sizeof(xff) - 1, &trusted, &client) + client.ss_family;
    t1 = now_ns();
    report("client_addr_xff3", t0, t1, N);
    return 0;
}
