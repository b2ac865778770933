/*
 * libFuzzer driver for filters/hop.c: the input is a Connection field's value and a name (split at the first NUL).
 * gw_hop_named against a reference that splits the value at its commas, trims the blanks and compares in lower case;
 * the answer does not depend on the name's case, nor on a blank or an empty item added around the value's items;
 * gw_hop_fixed depends on the name's case neither; gw_hop_mark says of the name what gw_hop_named does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hop.h"

static int reference(const char *v, size_t vlen, const char *name, size_t nlen)
{
    size_t start = 0;
    for (size_t i = 0; i <= vlen; ++i) {
        if (i != vlen && v[i] != ',')
            continue;
        size_t b = start, e = i;
        while (b != e && (v[b] == ' ' || v[b] == '\t'))
            ++b;
        while (e != b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            --e;
        if (nlen != 0 && e - b == nlen) {
            size_t k = 0;
            for (; k != nlen; ++k) {
                unsigned char x = (unsigned char)v[b + k], y = (unsigned char)name[k];
                if ((x | (x >= 'A' && x <= 'Z' ? 0x20 : 0)) != (y | (y >= 'A' && y <= 'Z' ? 0x20 : 0)))
                    break;
            }
            if (k == nlen)
                return 1;
        }
        start = i + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *nul = memchr(s, '\0', size);
    size_t vlen = nul != NULL ? (size_t)(nul - s) : size;
    const char *name = nul != NULL ? nul + 1 : "";
    size_t nlen = nul != NULL ? size - vlen - 1 : 0;

    int named = gw_hop_named(s, vlen, name, nlen);
    if (named != reference(s, vlen, name, nlen))
        abort();
    char *flipped = malloc(nlen + 1), *padded = malloc(vlen + 4);
    for (size_t i = 0; i != nlen; ++i) {
        unsigned char c = (unsigned char)name[i];
        flipped[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (gw_hop_named(s, vlen, flipped, nlen) != named || gw_hop_fixed(flipped, nlen) != gw_hop_fixed(name, nlen))
        abort();
    memcpy(padded, ", \t", 3);
    memcpy(padded + 3, s, vlen);
    padded[vlen + 3] = ',';
    if (gw_hop_named(padded, vlen + 4, name, nlen) != named)
        abort();
    /* the name and its flipped case as two fields of a message, the value as its Connection field given twice: gw_hop_mark
     * says of both what gw_hop_named does */
    gw_hop_name_t names[2] = {{name, nlen, 0, 0}, {flipped, nlen, 1, 0}};
    gw_hop_sort(names, 2);
    gw_hop_mark(s, vlen, names, 2);
    gw_hop_mark(padded, vlen + 4, names, 2);
    if (names[0].named != named || names[1].named != named || names[0].index + names[1].index != 1)
        abort();
    free(flipped);
    free(padded);
    return 0;
}
