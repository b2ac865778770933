/* libFuzzer driver: jsonpos on arbitrary text along a few fixed paths; positions must lie inside the input. */
#include <stddef.h>
#include <stdint.h>
#include "jsonpos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gw_jsonpos_seg_t paths[][3] = {
        {{"listen", 0}, {NULL, 0}, {"port", 0}}, {{"a", 0}, {NULL, 3}, {"b", 0}}, {{NULL, 1}, {NULL, 0}, {"x", 0}}};
    for (size_t i = 0; i != 3; ++i) {
        for (size_t n = 0; n <= 3; ++n) {
            gw_jsonpos_t pos;
            if (gw_jsonpos_find((const char *)data, size, paths[i], n, (int)(n & 1), &pos) == 0 && (pos.line == 0 || pos.column == 0 ||
                                                                                                   pos.line > size + 1 || pos.column > size + 1))
                __builtin_trap();
        }
    }
    return 0;
}
