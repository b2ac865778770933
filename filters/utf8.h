/*
 * utf8 — one code point written as UTF-8, and read from it (the decoders and encoders of filters/ and gateway/, and the
 * fuzz drivers' checks of their output, share it).
 */
#ifndef GW_UTF8_H
#define GW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cp (at most U+10FFFF, no surrogate: the caller's to make so) into o (4 bytes of room); returns the bytes written */
static inline size_t
gw_utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* the code point of the UTF-8 sequence at p[0..n) (n >= 1), its length in *len; a byte that starts no well-formed
 * sequence (overlong, a surrogate, beyond U+10FFFF, cut by the end) is U+FFFD of length 1 */
static inline uint32_t
gw_utf8_next(const unsigned char *p, size_t n, size_t *len)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char c = p[0];
    size_t l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    *len = 1;
    if (l == 0 || l > n)
        return 0xfffd;
    uint32_t cp = l == 1 ? c : l == 2 ? c & 0x1fu : l == 3 ? c & 0x0fu : c & 0x07u;
    for (size_t k = 1; k != l; ++k) {
        if ((p[k] & 0xc0) != 0x80)
            return 0xfffd;
        cp = cp << 6 | (p[k] & 0x3fu);
    }
    if (cp < min[l] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0xfffd;
    *len = l;
    return cp;
}

/* 1 when s[0..n) is well-formed UTF-8 (no surrogates, no overlong forms, nothing above U+10FFFF) */
static inline int
gw_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len)
        if (gw_utf8_next((const unsigned char *)s + i, n - i, &len) == 0xfffd && len == 1)
            return 0;
    return 1;
}

#endif
