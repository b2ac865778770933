/* libFuzzer driver: the UTF-16 decoder on arbitrary bytes (the first byte picks the byte order and a piece size); whole
 * and in pieces must give the same bytes, within GW_UTF16_MAX_OUT, and always well-formed UTF-8. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"
#include "utf16.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int be = data[0] & 1;
    size_t step = 1 + (data[0] >> 1) % 17;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    char *whole = malloc(GW_UTF16_MAX_OUT(len) + 3), *pieces = malloc(GW_UTF16_MAX_OUT(len) + 3 * len + 8);
    gw_utf16_t d;
    gw_utf16_init(&d, be);
    size_t n = gw_utf16_decode(&d, in, len, whole);
    if (n > GW_UTF16_MAX_OUT(len))
        __builtin_trap();
    n += gw_utf16_finish(&d, whole + n);
    gw_utf16_init(&d, be);
    size_t m = 0;
    for (size_t at = 0; at < len; at += step) {
        size_t piece = len - at < step ? len - at : step, w = gw_utf16_decode(&d, in + at, piece, pieces + m);
        if (w > GW_UTF16_MAX_OUT(piece))
            __builtin_trap();
        m += w;
    }
    m += gw_utf16_finish(&d, pieces + m);
    if (m != n || memcmp(whole, pieces, n) != 0 || !gw_utf8_valid(whole, n))
        __builtin_trap();
    free(whole);
    free(pieces);
    return 0;
}
