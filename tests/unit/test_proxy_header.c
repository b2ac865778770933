/* Unit tests for filters/proxy_header.c: PROXY protocol v1 lines and v2 headers as HAProxy, AWS and Google send them,
 * malformed ones, each read whole, with the connection's first bytes after it, and cut at every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "proxy_header.h"

typedef struct {
    const char *bytes;
    size_t len;
    const char *client; /* "203.0.113.7:51234", "[2001:db8::1]:443"; "" for none; NULL for malformed */
} header_case_t;

#define V2SIG "\r\n\r\n\0\r\nQUIT\n"
#define CASE(lit, client) {lit, sizeof(lit) - 1, client}

static const header_case_t cases[] = {
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n", "203.0.113.7:51234"),
    CASE("PROXY TCP6 2001:db8::1 2001:db8::2 443 8443\r\n", "[2001:db8::1]:443"),
    CASE("PROXY TCP6 ::ffff:198.51.100.9 ::1 0 65535\r\n", "[::ffff:198.51.100.9]:0"),
    CASE("PROXY UNKNOWN\r\n", "0.0.0.0:0"), /* a client not named: not the balancer */
    CASE("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", "0.0.0.0:0"), /* the rest is ignored */
    /* v2 PROXY over TCP/IPv4: addresses 203.0.113.7 → 192.0.2.1, ports 51234 → 443 */
    CASE(V2SIG "\x21\x11\x00\x0c" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb", "203.0.113.7:51234"),
    /* the same with an AWS TLV (type 0xEA, a VPC endpoint id) after the addresses */
    CASE(V2SIG "\x21\x11\x00\x1f" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb"
               "\xea\x00\x10" "\x01" "vpce-0123456789", "203.0.113.7:51234"),
    /* v2 PROXY over TCP/IPv6: 2001:db8::1 port 443 */
    CASE(V2SIG "\x21\x21\x00\x24" "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
               "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02" "\x01\xbb" "\x20\xfb", "[2001:db8::1]:443"),
    CASE(V2SIG "\x20\x00\x00\x00", ""),             /* LOCAL: the load balancer's health check */
    CASE(V2SIG "\x20\x11\x00\x0c" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x01" "\x00\x02", ""), /* LOCAL, addresses ignored */
    CASE(V2SIG "\x21\x00\x00\x00", "0.0.0.0:0"),      /* PROXY, UNSPEC family */
    CASE(V2SIG "\x21\x31\x00\x00", "0.0.0.0:0"),      /* PROXY, UNIX family (no address of ours to take) */
    /* malformed */
    CASE("GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL), /* no header: a client that is not the load balancer */
    CASE("\x16\x03\x01\x02\x00\x01", NULL),           /* a TLS ClientHello */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\n", NULL),    /* LF alone */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\rX", NULL),
    CASE("PROXY TCP4 2001:db8::1 192.0.2.1 51234 443\r\n", NULL),  /* an address of the other family */
    CASE("PROXY TCP6 203.0.113.7 2001:db8::2 51234 443\r\n", NULL),
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 65536 443\r\n", NULL),  /* port out of range */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 051234 443\r\n", NULL), /* leading zero */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n", NULL),      /* a field missing */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443 1\r\n", NULL), /* one too many */
    CASE("PROXY TCP4  203.0.113.7 192.0.2.1 51234 443\r\n", NULL), /* two spaces */
    CASE("PROXY TCP4 203.0.113.7 192.0.2.1 5a234 443\r\n", NULL),
    CASE("PROXY UDP4 203.0.113.7 192.0.2.1 51234 443\r\n", NULL),
    CASE("PROXY UNKNOWNX\r\n", NULL),
    CASE("PROXY \r\n", NULL),
    CASE("proxy TCP4 203.0.113.7 192.0.2.1 51234 443\r\n", NULL),
    CASE("PROXY UNKNOWN 01234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901\r\n",
         NULL), /* 108 bytes: over v1's 107 */
    CASE(V2SIG "\x11\x11\x00\x0c" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb", NULL), /* version 1 */
    CASE(V2SIG "\x22\x11\x00\x0c" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb", NULL), /* command 2 */
    CASE(V2SIG "\x21\x41\x00\x00", NULL),                                                            /* family 4 */
    CASE(V2SIG "\x21\x13\x00\x0c" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb", NULL), /* transport 3 */
    CASE(V2SIG "\x21\x11\x00\x08" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01", NULL),   /* IPv4 addresses cut short */
    CASE(V2SIG "\x21\x21\x00\x0c" "\xcb\x00\x71\x07" "\xc0\x00\x02\x01" "\xc8\x22" "\x01\xbb", NULL), /* IPv6 too short */
    CASE("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x00", NULL), /* the signature wrong */
};

static void describe(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t outlen)
{
    char a[INET6_ADDRSTRLEN];
    if (len == 0) {
        snprintf(out, outlen, "%s", "");
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)ss;
        assert_int_equal(len, sizeof(*sin));
        snprintf(out, outlen, "%s:%u", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)), ntohs(sin->sin_port));
    } else {
        const struct sockaddr_in6 *sin6 = (const void *)ss;
        assert_int_equal(ss->ss_family, AF_INET6);
        assert_int_equal(len, sizeof(*sin6));
        snprintf(out, outlen, "[%s]:%u", inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)), ntohs(sin6->sin6_port));
    }
}

/* the bytes in a buffer of their own (ASan sees a read past them) */
static long parse(const char *bytes, size_t len, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char *copy = malloc(len + 1);
    memcpy(copy, bytes, len);
    long r = gw_proxy_header_parse(copy, len, ss, sslen);
    free(copy);
    return r;
}

static void test_whole(void **state)
{
    (void)state;
    for (size_t k = 0; k != sizeof(cases) / sizeof(cases[0]); ++k) {
        struct sockaddr_storage ss;
        socklen_t sslen = 99;
        char got[80];
        long r = parse(cases[k].bytes, cases[k].len, &ss, &sslen);
        if (cases[k].client == NULL) {
            if (r != -1)
                fail_msg("case %zu: %ld, not -1", k, r);
            continue;
        }
        if (r != (long)cases[k].len)
            fail_msg("case %zu: %ld, not its length %zu", k, r, cases[k].len);
        describe(&ss, sslen, got, sizeof(got));
        assert_string_equal(got, cases[k].client);
    }
}

/* what follows the header (the request, a ClientHello) is not the header's */
static void test_followed_by_the_connection(void **state)
{
    (void)state;
    for (size_t k = 0; k != sizeof(cases) / sizeof(cases[0]); ++k) {
        if (cases[k].client == NULL)
            continue;
        char buf[256];
        struct sockaddr_storage ss;
        socklen_t sslen;
        char got[80];
        static const char more[] = "GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n";
        memcpy(buf, cases[k].bytes, cases[k].len);
        memcpy(buf + cases[k].len, more, sizeof(more) - 1);
        assert_int_equal(parse(buf, cases[k].len + sizeof(more) - 1, &ss, &sslen), (long)cases[k].len);
        describe(&ss, sslen, got, sizeof(got));
        assert_string_equal(got, cases[k].client);
    }
}

/* as it arrives: every beginning of a valid header wants more; no beginning of a malformed one is taken */
static void test_byte_by_byte(void **state)
{
    (void)state;
    for (size_t k = 0; k != sizeof(cases) / sizeof(cases[0]); ++k) {
        for (size_t n = 0; n != cases[k].len; ++n) {
            struct sockaddr_storage ss;
            socklen_t sslen;
            long r = parse(cases[k].bytes, n, &ss, &sslen);
            if (cases[k].client != NULL ? r != 0 : r > 0)
                fail_msg("case %zu cut at %zu: %ld", k, n, r);
        }
    }
}

static void test_bounds(void **state)
{
    (void)state;
    static char big[16 + 4097];
    struct sockaddr_storage ss;
    socklen_t sslen;
    memcpy(big, V2SIG "\x21\x11", 14);
    big[14] = 0x10, big[15] = 0x00; /* 4,096 bytes after the 16: the most taken */
    assert_int_equal(parse(big, 16 + 4096, &ss, &sslen), 16 + 4096);
    big[15] = 0x01; /* one more: refused before it is all read */
    assert_int_equal(parse(big, 16, &ss, &sslen), -1);
    /* v1 without its end: wanting more up to 107 bytes, refused at 107 */
    char line[108];
    memset(line, 'x', sizeof(line));
    memcpy(line, "PROXY UNKNOWN ", 14);
    assert_int_equal(parse(line, 106, &ss, &sslen), 0);
    assert_int_equal(parse(line, 107, &ss, &sslen), -1);
    line[105] = '\r', line[106] = '\n'; /* 107 with its CRLF: taken */
    assert_int_equal(parse(line, 107, &ss, &sslen), 107);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_followed_by_the_connection),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
