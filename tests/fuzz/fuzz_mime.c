/* libFuzzer driver: Content-Type values (NUL-separated fields) read as browsers read them: whatever the bytes, no crash,
 * and what is found lies inside the input with an essence holding a '/' and no blank, ';' or '('; the same bytes as a body
 * whose type is sniffed, read as it grows. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "mime.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    gw_mime_t m;
    gw_mime_extract_init(&m);
    while (p <= end) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        size_t len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);
        gw_mime_extract_add(&m, p, len);
        p += len + 1;
    }
    if (m.essence != NULL) {
        const char *s = (const char *)data;
        if (m.essence < s || m.essence + m.essence_len > s + size || memchr(m.essence, '/', m.essence_len) == NULL)
            __builtin_trap();
        for (size_t i = 0; i != m.essence_len; ++i) /* (Chromium's type: up to a blank, ';' or '(', unchecked else) */
            if (m.essence[i] == ' ' || m.essence[i] == '\t' || m.essence[i] == ';' || m.essence[i] == '(' || m.essence[i] == '\0')
                __builtin_trap();
        if (m.charset != NULL && (m.charset < s || m.charset + m.charset_len > s + size))
            __builtin_trap();
    }
    /* the HTML sniffer on growing prefixes: a decision, once made, stays (and is the whole body's); 512 bytes decide */
    int prev = -1;
    for (size_t cut = 0; cut <= size; cut += 1 + cut / 8) {
        int r = gw_mime_sniff_html((const char *)data, cut, 0);
        if (r < -1 || r > 1 || (prev != -1 && r != prev) || (cut >= GW_MIME_SNIFF_MAX && r == -1))
            __builtin_trap();
        prev = r;
    }
    int whole = gw_mime_sniff_html((const char *)data, size, 1);
    if ((whole != 0 && whole != 1) || (prev != -1 && prev != whole))
        __builtin_trap();
    return 0;
}
