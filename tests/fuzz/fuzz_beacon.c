/* libFuzzer driver: endpoint globs and beacon header checks on arbitrary bytes (pattern | path split at the first NUL). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "beacon.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t plen = nul != NULL ? (size_t)(nul - s) : size / 2;
    const char *path = s + plen + (nul != NULL);
    size_t len = size - plen - (nul != NULL);
    if (plen != 0) {
        int m = gw_beacon_path_match(s, plen, path, len);
        /* a pattern without '*' never matches a shorter path (its final '|' aside), and one that ends in '|' nothing
         * longer before a '?' */
        size_t bare = plen - (plen > 1 && s[plen - 1] == '|');
        if (m && memchr(s, '*', bare) == NULL && len < bare)
            __builtin_trap();
        if (m && bare != plen && memchr(s, '*', bare) == NULL && len > bare && path[bare] != '?')
            __builtin_trap();
    }
    {
        /* servlet reading of the path: at most one byte longer, always starting with '/' */
        char *out = malloc(len + 1);
        size_t n = gw_beacon_path_servlet(path, len, out);
        if (n == 0 || n > len + 1 || out[0] != '/')
            __builtin_trap();
        free(out);
    }
    gw_beacon_req_t r = {.path = path,
                         .path_len = len,
                         .content_type = s,
                         .content_type_len = plen,
                         .sec_fetch_dest = path,
                         .sec_fetch_dest_len = len,
                         .accept = s,
                         .accept_len = plen,
                         .method = s,
                         .method_len = plen,
                         .sec_fetch_mode = path,
                         .sec_fetch_mode_len = len};
    gw_beacon_is_ping(&r);
    gw_beacon_wants_image(&r);
    gw_beacon_is_send_beacon(&r);
    /* a page and a sendBeacon exclude each other (Sec-Fetch-Dest document, or empty) */
    if (gw_beacon_is_page(&r) && gw_beacon_is_send_beacon(&r))
        __builtin_trap();
    return 0;
}
