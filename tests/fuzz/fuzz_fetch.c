/* libFuzzer driver: srcset candidates and Accept-Encoding on arbitrary bytes. Candidates are non-empty, inside the
 * input, in order and never overlapping; the iterator always ends; the coding check is a plain 0/1. */
#include <stddef.h>
#include <stdint.h>
#include "fetch.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *v = (const char *)data, *url, *prev_end = v;
    size_t pos = 0, len, n = 0;
    while (gw_srcset_next(v, size, &pos, &url, &len)) {
        if (len == 0 || url < prev_end || url + len > v + size || pos > size || ++n > size)
            __builtin_trap();
        prev_end = url + len;
    }
    int a = gw_accepts_coding(v, size, "gzip"), b = gw_accepts_coding(v, size, "br");
    if ((a != 0 && a != 1) || (b != 0 && b != 1))
        __builtin_trap();
    return 0;
}
