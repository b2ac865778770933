/* libFuzzer driver: the link shim's URL handling. Decoding never grows; encode then decode is the identity;
 * a split host lies inside the URL; the normalised path is no longer, has no dot segment, keeps the query, and is its own
 * normal form when every '%' of the path starts an escape. (Not otherwise, by design: a server decodes once, so
 * "/%%32e" is "/%2e" to it, a name, not the dot segment the same text would be if it were written so.) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char *dec = malloc(size + 1), *enc = malloc(size * 3 + 1), *back = malloc(size + 1);
    size_t n = gw_url_pct_decode(s, size, dec);
    if (n != (size_t)-1 && n > size)
        __builtin_trap();
    size_t e = gw_url_pct_encode(s, size, enc);
    /* '+' is encoded, so decoding the encoding gives the input back */
    if (gw_url_pct_decode(enc, e, back) != size || memcmp(back, s, size) != 0)
        __builtin_trap();
    size_t ho, hl, po;
    if (gw_url_split(s, size, &ho, &hl, &po) == 0 && (hl == 0 || ho + hl > size || po > size))
        __builtin_trap();
    /* the path a server reads: never longer, no "." or ".." segment left in the path, the query untouched */
    char *norm = malloc(size + 1);
    size_t m = gw_url_path_normalize(s, size, norm), pe = 0, q = 0;
    if (m > size)
        __builtin_trap();
    while (pe != m && norm[pe] != '?' && norm[pe] != '#')
        ++pe;
    while (q != size && s[q] != '?' && s[q] != '#')
        ++q;
    if (m - pe != size - q || memcmp(norm + pe, s + q, size - q) != 0)
        __builtin_trap();
    if (pe != 0 && norm[0] == '/')
        for (size_t i = 0; i != pe; ++i)
            if (norm[i] == '/' && i + 1 != pe && norm[i + 1] == '.' &&
                (i + 2 == pe || norm[i + 2] == '/' || (norm[i + 2] == '.' && (i + 3 == pe || norm[i + 3] == '/'))))
                __builtin_trap();
    { /* normalised again, the same (malformed escapes too) */
        char *again = malloc(m + 1);
        if (gw_url_path_normalize(norm, m, again) != m || memcmp(again, norm, m) != 0)
            __builtin_trap();
        free(again);
    }
    free(norm);
    free(dec);
    free(enc);
    free(back);
    return 0;
}
