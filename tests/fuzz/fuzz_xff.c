/*
 * libFuzzer driver for gw_client_addr (gateway/geo.c): differential against a second,
 * deliberately plain implementation of the same rules (split the header into entries first,
 * then walk them from the right), plus the contract's invariants: an untrusted peer is always
 * the client, the peer keeps its bytes, an address taken from XFF is one of its entries.
 * Input: byte 0 picks the peer (4 choices, trusted or not, IPv4 or IPv6), the rest is the header.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "geo.h"

#define MAX_ENTRIES 4096
#define MAX_HOPS 64

static gw_cidr_list_t trusted;

/* bare IPv4 / IPv6 / [IPv6], the first two with ":port" (1-5 digits) optional, with optional blanks around it ->
 * 16 bytes; 0 or -1 */
static int
ref_parse(const char *s, size_t len, uint8_t out[16])
{
    char buf[64];
    while (len != 0 && (*s == ' ' || *s == '\t'))
        ++s, --len;
    while (len != 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        --len;
    const char *colon = NULL;
    for (size_t i = 0; i != len; ++i)
        if (s[i] == ':')
            colon = s + i;
    size_t port = colon != NULL ? (size_t)(s + len - colon - 1) : 0;
    int digits = port >= 1 && port <= 5;
    for (size_t i = 0; digits && i != port; ++i)
        digits = colon[1 + i] >= '0' && colon[1 + i] <= '9';
    if (digits && ((colon > s && colon[-1] == ']') || memchr(s, ':', (size_t)(colon - s)) == NULL))
        len = (size_t)(colon - s);
    int bracket = len >= 2 && s[0] == '[' && s[len - 1] == ']';
    if (bracket)
        ++s, len -= 2;
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strchr(buf, ':') != NULL)
        return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
    if (bracket)
        return -1;
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    return inet_pton(AF_INET, buf, out + 12) == 1 ? 0 : -1;
}

static int
ref_trusted(const uint8_t a[16])
{
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    memcpy(&sin6.sin6_addr, a, 16);
    return gw_cidr_list_contains(&trusted, (struct sockaddr *)&sin6);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *peers[] = {"127.0.0.1", "203.0.113.7", "::1", "2001:db8::7"};
    static int ready;
    static struct {
        const char *s;
        size_t len;
    } entries[MAX_ENTRIES];
    struct sockaddr_storage peer, out;
    uint8_t peer_bytes[16], cur[16];

    if (!ready) {
        gw_cidr_list_add(&trusted, "127.0.0.1/32");
        gw_cidr_list_add(&trusted, "10.0.0.0/8");
        gw_cidr_list_add(&trusted, "::1");
        gw_cidr_list_add(&trusted, "fd00::/8");
        ready = 1;
    }
    if (size == 0)
        return 0;
    const char *pname = peers[data[0] % 4], *xff = (const char *)data + 1;
    size_t xff_len = size - 1;
    memset(&peer, 0, sizeof(peer));
    if (strchr(pname, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(8080);
        inet_pton(AF_INET, pname, &sin->sin_addr);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&peer;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(8080);
        inet_pton(AF_INET6, pname, &sin6->sin6_addr);
    }
    ref_parse(pname, strlen(pname), peer_bytes);

    int rc = gw_client_addr((struct sockaddr *)&peer, xff, xff_len, &trusted, &out);

    /* reference: split first, then walk from the right */
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= xff_len && n != MAX_ENTRIES; ++i) {
        if (i == xff_len || xff[i] == ',') {
            entries[n].s = xff + start;
            entries[n].len = i - start;
            ++n;
            start = i + 1;
        }
    }
    if (n == MAX_ENTRIES)
        return 0; /* more commas than the reference's table holds */
    int want_rc = 0;
    memcpy(cur, peer_bytes, 16);
    if (ref_trusted(peer_bytes)) {
        /* a blank or malformed entry stops the walk; so does the hop limit */
        for (size_t hop = 0; hop != MAX_HOPS && hop != n; ++hop) {
            uint8_t a[16];
            if (ref_parse(entries[n - 1 - hop].s, entries[n - 1 - hop].len, a) != 0)
                break;
            memcpy(cur, a, 16);
            want_rc = 1;
            if (!ref_trusted(cur))
                break;
        }
    }

    if (rc != want_rc)
        abort();
    if (rc == 0) {
        if (memcmp(&out, &peer, peer.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) != 0)
            abort();
    } else {
        uint8_t got[16];
        if (out.ss_family == AF_INET) {
            memset(got, 0, 10);
            got[10] = got[11] = 0xff;
            memcpy(got + 12, &((struct sockaddr_in *)&out)->sin_addr, 4);
        } else if (out.ss_family == AF_INET6) {
            memcpy(got, &((struct sockaddr_in6 *)&out)->sin6_addr, 16);
        } else {
            abort();
        }
        if (memcmp(got, cur, 16) != 0)
            abort();
    }
    return 0;
}
