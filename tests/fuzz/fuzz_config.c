/* libFuzzer driver: the config loader (jansson + validation + jsonpos error positions) on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_config_t c;
    char err[1024];
    if (gw_config_load_text(&c, "fuzz.json", "/nonexistent", (const char *)data, size, err, sizeof(err)) != 0) {
        /* every error names the file and a position */
        if (strncmp(err, "fuzz.json:", 10) != 0)
            __builtin_trap();
    }
    gw_config_free(&c);
    return 0;
}
