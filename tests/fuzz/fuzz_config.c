/* libFuzzer driver: the config loader (jansson + validation + jsonpos error positions) on arbitrary text.
 *
 * The config's folder is one the driver makes with the files a config must find readable (tests/fuzz/config_seeds.py
 * renames the seeds' paths to them): without them every seed stopped at its first such path (admin.tokens_file, in
 * the integration tests' configs) and the sections after it were never read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

static char dir[] = "/tmp/cg-fuzz-config-XXXXXX";
static const char *const readable[] = {"admin-tokens", "cert.pem", "key.pem", "data.db", "list.txt"};
#define NREADABLE (sizeof(readable) / sizeof(readable[0]))

static void path_of(size_t i, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, readable[i]);
}

static void remove_dir(void)
{
    char path[64];
    for (size_t i = 0; i != NREADABLE; ++i)
        path_of(i, path, sizeof(path)), remove(path);
    remove(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (mkdtemp(dir) == NULL)
        abort();
    atexit(remove_dir);
    for (size_t i = 0; i != NREADABLE; ++i) {
        char path[64];
        path_of(i, path, sizeof(path));
        FILE *f = fopen(path, "w");
        if (f == NULL)
            abort();
        fputs("# fuzz_config\n", f);
        fclose(f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_config_t c;
    char err[1024];
    if (gw_config_load_text(&c, "fuzz.json", dir, (const char *)data, size, err, sizeof(err)) != 0) {
        /* every error names the file and a position */
        if (strncmp(err, "fuzz.json:", 10) != 0)
            __builtin_trap();
    }
    gw_config_free(&c);
    return 0;
}
