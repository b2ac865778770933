/* libFuzzer driver: admin list-entry bodies. A parsed body's slices lie inside its block. */
#include <stddef.h>
#include <stdint.h>
#include "entries_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_entries_t e;
    char err[128];
    if (gw_entries_parse((const char *)data, size, &e, err, sizeof(err)) == 0) {
        if (e.nadd + e.nremove == 0)
            __builtin_trap();
        for (size_t i = 0; i != e.nadd; ++i)
            if (e.add[i].len == 0)
                __builtin_trap();
        gw_entries_free(&e);
    }
    return 0;
}
