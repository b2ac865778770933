/*
 * utf8 — one code point written as UTF-8 (the decoders of filters/ and gateway/ share it).
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

#endif
