/*
 * libFuzzer driver for gw_proxy_header_parse (filters/proxy_header.c), with the contract's invariants: a header taken
 * is within the input and the bound; the same bytes followed by anything else are the same header with the same
 * client; every shorter beginning of a header taken wants more (never taken, never refused); "wants more" only below
 * the bound; a client is IPv4 or IPv6 with its own length.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "proxy_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_storage ss, again;
    socklen_t sslen, againlen;
    long r = gw_proxy_header_parse((const char *)data, size, &ss, &sslen);

    if (r < -1 || r > (long)size || r > GW_PROXY_HEADER_MAX)
        abort();
    if (r == 0 && size >= GW_PROXY_HEADER_MAX)
        abort();
    if (r <= 0)
        return 0;
    if (sslen != 0 && !(ss.ss_family == AF_INET && sslen == sizeof(struct sockaddr_in)) &&
        !(ss.ss_family == AF_INET6 && sslen == sizeof(struct sockaddr_in6)))
        abort();
    /* exactly the header: the same answer without what followed it */
    if (gw_proxy_header_parse((const char *)data, (size_t)r, &again, &againlen) != r || againlen != sslen ||
        memcmp(&again, &ss, sslen) != 0)
        abort();
    /* cut one byte short, and at a point picked by the input: not yet */
    if (gw_proxy_header_parse((const char *)data, (size_t)r - 1, &again, &againlen) != 0 ||
        gw_proxy_header_parse((const char *)data, (size_t)data[0] % (size_t)r, &again, &againlen) != 0)
        abort();
    return 0;
}
