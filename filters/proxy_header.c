/*
 * proxy_header — see proxy_header.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include "proxy_header.h"

#define V1_MAX 107 /* the longest v1 line, CRLF included (the specification's bound) */

static const char V2_SIGNATURE[12] = "\r\n\r\n\0\r\nQUIT\n";

/* a port: decimal, 0 to 65535, no leading zero (as the specification writes them) */
static int parse_port(const char *s, size_t len, in_port_t *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5 || (s[0] == '0' && len != 1))
        return -1;
    for (size_t i = 0; i != len; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *port = htons((in_port_t)v);
    return 0;
}

/* "TCP4 src dst sport dport" or "TCP6 …", each field after exactly one space */
static int parse_v1_tcp(const char *s, size_t len, struct sockaddr_storage *client, socklen_t *client_len)
{
    const char *field[4], *end = s + len, *p = s + 5; /* after "TCP4 " */
    size_t flen[4];
    int family = s[3] == '4' ? AF_INET : AF_INET6;
    char text[INET6_ADDRSTRLEN];
    unsigned char addr[2][sizeof(struct in6_addr)];
    in_port_t port, dport;

    for (int i = 0; i != 4; ++i) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (i == 3 ? sp != NULL : sp == NULL)
            return -1;
        field[i] = p;
        flen[i] = (size_t)((sp != NULL ? sp : end) - p);
        if (sp != NULL)
            p = sp + 1;
    }
    for (int i = 0; i != 2; ++i) { /* both addresses must be of the family named */
        if (flen[i] == 0 || flen[i] >= sizeof(text))
            return -1;
        memcpy(text, field[i], flen[i]);
        text[flen[i]] = '\0';
        if (inet_pton(family, text, addr[i]) != 1)
            return -1;
    }
    if (parse_port(field[2], flen[2], &port) != 0 || parse_port(field[3], flen[3], &dport) != 0)
        return -1;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)client;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr[0], sizeof(sin->sin_addr));
        sin->sin_port = port;
        *client_len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)client;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr[0], sizeof(sin6->sin6_addr));
        sin6->sin6_port = port;
        *client_len = sizeof(*sin6);
    }
    return 0;
}

/* a client the load balancer relays without naming it (v1 UNKNOWN, v2 PROXY over UNSPEC or UNIX): the unspecified
 * address, not the balancer's, which geoip.trusted_proxies names: kept, the X-Forwarded-For and X-Forwarded-Proto the
 * client wrote itself would be believed as the balancer's */
static void unnamed_client(struct sockaddr_storage *client, socklen_t *client_len)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)client;
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    *client_len = sizeof(*sin);
}

static long parse_v1(const char *s, size_t len, struct sockaddr_storage *client, socklen_t *client_len)
{
    size_t avail = len < V1_MAX ? len : V1_MAX, n;
    const char *cr;

    if (memcmp(s, "PROXY ", avail < 6 ? avail : 6) != 0)
        return -1;
    if ((cr = memchr(s, '\r', avail)) == NULL)
        return len >= V1_MAX || memchr(s, '\n', avail) != NULL ? -1 : 0; /* (a line ends with CRLF, never LF alone) */
    if (memchr(s, '\n', (size_t)(cr - s)) != NULL)
        return -1;
    n = (size_t)(cr - s); /* the line without its CRLF */
    if (n + 2 > V1_MAX)
        return -1;
    if (n + 1 == len)
        return 0;
    if (cr[1] != '\n' || n < 6)
        return -1;
    const char *proto = s + 6;
    size_t plen = n - 6;
    if (plen >= 7 && memcmp(proto, "UNKNOWN", 7) == 0 && (plen == 7 || proto[7] == ' ')) {
        unnamed_client(client, client_len); /* (what follows UNKNOWN is to be ignored) */
        return (long)n + 2;
    }
    if (plen < 5 || memcmp(proto, "TCP", 3) != 0 || (proto[3] != '4' && proto[3] != '6') || proto[4] != ' ')
        return -1;
    return parse_v1_tcp(proto, plen, client, client_len) == 0 ? (long)n + 2 : -1;
}

static long parse_v2(const unsigned char *s, size_t len, struct sockaddr_storage *client, socklen_t *client_len)
{
    size_t hlen;

    if (memcmp(s, V2_SIGNATURE, len < sizeof(V2_SIGNATURE) ? len : sizeof(V2_SIGNATURE)) != 0)
        return -1;
    if (len < 16)
        return 0;
    if ((s[12] >> 4) != 2 || (s[12] & 0xf) > 1 || (s[13] >> 4) > 3 || (s[13] & 0xf) > 2)
        return -1; /* version 2; LOCAL or PROXY; UNSPEC, INET, INET6 or UNIX over UNSPEC, STREAM or DGRAM */
    hlen = (size_t)s[14] << 8 | s[15];
    if (16 + hlen > GW_PROXY_HEADER_MAX)
        return -1;
    if (len < 16 + hlen)
        return 0;
    *client_len = 0;
    if ((s[12] & 0xf) == 0) /* LOCAL: the load balancer's own connection (a health check) */
        return (long)(16 + hlen);
    switch (s[13] >> 4) {
    case 1: { /* INET: source and destination addresses (4 bytes each), then the ports */
        struct sockaddr_in *sin = (struct sockaddr_in *)client;
        if (hlen < 12)
            return -1;
        memset(sin, 0, sizeof(*sin));
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, s + 16, 4);
        memcpy(&sin->sin_port, s + 24, 2);
        *client_len = sizeof(*sin);
        break;
    }
    case 2: { /* INET6: 16 bytes each */
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)client;
        if (hlen < 36)
            return -1;
        memset(sin6, 0, sizeof(*sin6));
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, s + 16, 16);
        memcpy(&sin6->sin6_port, s + 48, 2);
        *client_len = sizeof(*sin6);
        break;
    }
    default: /* UNSPEC or UNIX: no client address to take */
        unnamed_client(client, client_len);
        break;
    }
    return (long)(16 + hlen);
}

long gw_proxy_header_parse(const char *s, size_t len, struct sockaddr_storage *client, socklen_t *client_len)
{
    if (len == 0)
        return 0;
    *client_len = 0;
    memset(client, 0, sizeof(*client));
    if (s[0] == 'P')
        return parse_v1(s, len, client, client_len);
    if (s[0] == '\r')
        return parse_v2((const unsigned char *)s, len, client, client_len);
    return -1;
}
