/* libFuzzer driver: srcset candidates, CSS escapes and URLs, Link header values, List of Strings members (a string shorter
 * than its member by its quotes at least), refreshes and Accept-Encoding on arbitrary
 * bytes.
 * Candidates, CSS URLs, link-values and List of Strings members are non-empty, inside the input (a link-value's URI and parameters inside it), in
 * order and never overlapping; the iterators always end; unescaping never
 * grows the text and gives the same in place; the coding check is a plain 0/1. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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
    prev_end = v;
    pos = 0;
    n = 0;
    while (gw_css_next_url(v, size, &pos, &url, &len)) {
        if (len == 0 || url < prev_end || url + len > v + size || pos > size || ++n > size)
            __builtin_trap();
        prev_end = url + len;
    }
    gw_link_value_t lv;
    size_t prev = 0;
    pos = 0;
    n = 0;
    while (gw_link_next(v, size, &pos, &lv)) {
        if (lv.start < prev || lv.start >= lv.end || lv.end > pos || pos > size || ++n > size ||
            (lv.uri != NULL && (lv.uri <= v + lv.start || lv.uri + lv.uri_len > v + lv.end)) ||
            (lv.rel != NULL && (lv.rel < v + lv.start || lv.rel + lv.rel_len > v + lv.end)) ||
            (lv.as != NULL && (lv.as < v + lv.start || lv.as + lv.as_len > v + lv.end)))
            __builtin_trap();
        prev = lv.end;
    }
    gw_sf_member_t sf;
    char str[64];
    prev = 0;
    pos = 0;
    n = 0;
    while (gw_sf_string_next(v, size, &pos, str, sizeof(str), &sf)) {
        if (sf.start < prev || sf.start >= sf.end || sf.end > pos || pos > size || ++n > size ||
            (sf.len != SIZE_MAX && (sf.len > sizeof(str) || sf.len + 2 > sf.end - sf.start)))
            __builtin_trap();
        prev = sf.end;
    }
    size_t delay_end, url_len;
    if (gw_refresh_parse(v, size, &delay_end, &url, &url_len) && (delay_end > size || url < v || url + url_len > v + size))
        __builtin_trap();
    char *out = malloc(size + 1), *in = malloc(size + 1);
    memcpy(in, v, size);
    size_t m = gw_css_unescape(v, size, out);
    if (m > size || gw_css_unescape(in, size, in) != m || memcmp(in, out, m) != 0)
        __builtin_trap();
    free(out);
    free(in);
    int a = gw_accepts_coding(v, size, "gzip"), b = gw_accepts_coding(v, size, "br");
    if ((a != 0 && a != 1) || (b != 0 && b != 1))
        __builtin_trap();
    return 0;
}
