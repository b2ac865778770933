/* libFuzzer driver: the legacy encodings' decoder, query encoder and <meta> charset extraction on arbitrary bytes (the
 * first byte picks the encoding, the second a piece size). Whole and in pieces must give the same bytes, within
 * GW_LEGACY_MAX_OUT, always well-formed UTF-8; the query of that text (and of the raw bytes) fits 16 bytes a byte, is
 * ASCII, and is the same a character at a time; a charset label found lies inside the content, is not empty, and stops
 * at a blank or ';' unless quoted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"
#include "legacy.h"

/* the labels of the encodings tried, one of each kind */
static const char *const labels[] = {"windows-1252", "shift_jis", "euc-jp",         "euc-kr",      "gbk",
                                     "gb18030",      "big5",      "windows-1251",   "windows-874", "iso-8859-3",
                                     "koi8-r",       "ibm866",    "x-mac-cyrillic", "windows-1258"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = gw_legacy_init() == 0 && gw_legacy_thread_init() == 0 ? 1 : (__builtin_trap(), 0);
    if (size < 2)
        return 0;
    const char *label = labels[data[0] % (sizeof(labels) / sizeof(labels[0]))];
    int enc = gw_legacy_from_label(label, strlen(label), NULL);
    size_t step = 1 + data[1] % 9;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;
    char *whole = malloc(GW_LEGACY_MAX_OUT(len) + 12), *pieces = malloc(GW_LEGACY_MAX_OUT(len) + 12 * len + 24);
    gw_legacy_dec_t d;
    gw_legacy_dec_init(&d, enc);
    size_t n = gw_legacy_decode(&d, in, len, whole);
    if (n == (size_t)-1 || n > GW_LEGACY_MAX_OUT(len))
        __builtin_trap();
    n += gw_legacy_finish(&d, whole + n);
    gw_legacy_dec_init(&d, enc);
    size_t m = 0;
    for (size_t at = 0; at < len; at += step) {
        size_t piece = len - at < step ? len - at : step, w = gw_legacy_decode(&d, in + at, piece, pieces + m);
        if (w == (size_t)-1 || w > GW_LEGACY_MAX_OUT(piece))
            __builtin_trap();
        m += w;
    }
    m += gw_legacy_finish(&d, pieces + m);
    if (m != n || memcmp(whole, pieces, n) != 0 || !gw_utf8_valid(whole, n))
        __builtin_trap();
    /* the query: of the decoded text, and of the raw bytes (not UTF-8: each such byte is U+FFFD) */
    size_t cap = 16 * (n > len ? n : len) + 16;
    char *q = malloc(cap);
    const char *srcs[2] = {whole, in};
    size_t lens[2] = {n, len};
    for (int k = 0; k != 2; ++k) {
        size_t ql = gw_legacy_query(enc, srcs[k], lens[k], q, cap);
        if (ql == (size_t)-1 || ql > cap)
            __builtin_trap();
        for (size_t i = 0; i != ql; ++i)
            if ((unsigned char)q[i] >= 0x80)
                __builtin_trap();
    }
    /* the query a character at a time (no run encoded at once) is the same */
    size_t whole_q = gw_legacy_query(enc, whole, n, q, cap), at = 0;
    char *one = malloc(cap);
    for (size_t i = 0; i != n;) {
        size_t l = 1;
        while (i + l != n && ((unsigned char)whole[i + l] & 0xC0) == 0x80)
            ++l;
        size_t ql = gw_legacy_query(enc, whole + i, l, one + at, cap - at);
        if (ql == (size_t)-1)
            __builtin_trap();
        at += ql, i += l;
    }
    if (at != whole_q || memcmp(one, q, at) != 0)
        __builtin_trap();
    free(one);
    free(q);
    /* the <meta> content algorithm on the input */
    const char *l;
    size_t ll;
    if (gw_legacy_meta_charset(in, len, &l, &ll)) {
        if (l < in || l + ll > in + len)
            __builtin_trap();
        int quoted = l > in && (l[-1] == '"' || l[-1] == '\'') && l + ll < in + len && l[ll] == l[-1];
        if (ll == 0 && !quoted) /* (charset="" is an empty label, which names no encoding) */
            __builtin_trap();
        for (size_t i = 0; !quoted && i != ll; ++i)
            if (l[i] == ';' || l[i] == ' ' || l[i] == '\t' || l[i] == '\n' || l[i] == '\f' || l[i] == '\r')
                __builtin_trap();
    }
    free(whole);
    free(pieces);
    return 0;
}
