/*
 * utf16 — see utf16.h.
 */
#include "utf16.h"
#include "utf8.h"

void
gw_utf16_init(gw_utf16_t *d, int big_endian)
{
    d->big_endian = big_endian;
    d->have_byte = 0;
    d->byte = 0;
    d->lead = 0;
}

/* one code unit, the Encoding Standard's way: a low surrogate completes a waiting high one; anything else after a high
 * one first gives U+FFFD for it (and is then read on its own) */
static size_t
unit(gw_utf16_t *d, uint16_t u, char *out)
{
    size_t n = 0;
    if (d->lead != 0) {
        uint16_t lead = d->lead;
        d->lead = 0;
        if (u >= 0xdc00 && u <= 0xdfff)
            return gw_utf8_put(out, 0x10000 + ((uint32_t)(lead - 0xd800) << 10) + (u - 0xdc00));
        n = gw_utf8_put(out, 0xfffd);
    }
    if (u >= 0xd800 && u <= 0xdbff)
        d->lead = u;
    else
        n += gw_utf8_put(out + n, u >= 0xdc00 && u <= 0xdfff ? 0xfffd : u);
    return n;
}

size_t
gw_utf16_decode(gw_utf16_t *d, const char *in, size_t len, char *out)
{
    const uint8_t *p = (const uint8_t *)in, *end = p + len;
    size_t n = 0;
    if (d->have_byte && p != end) {
        uint8_t b0 = d->byte, b1 = *p++;
        d->have_byte = 0;
        n += unit(d, d->big_endian ? (uint16_t)(b0 << 8 | b1) : (uint16_t)(b1 << 8 | b0), out + n);
    }
    if (d->big_endian) {
        for (; end - p >= 2; p += 2) {
            uint16_t u = (uint16_t)(p[0] << 8 | p[1]);
            if (u < 0x80 && d->lead == 0)
                out[n++] = (char)u; /* markup and ASCII text: the common case */
            else
                n += unit(d, u, out + n);
        }
    } else {
        for (; end - p >= 2; p += 2) {
            uint16_t u = (uint16_t)(p[1] << 8 | p[0]);
            if (u < 0x80 && d->lead == 0)
                out[n++] = (char)u;
            else
                n += unit(d, u, out + n);
        }
    }
    if (p != end) {
        d->byte = *p;
        d->have_byte = 1;
    }
    return n;
}

size_t
gw_utf16_finish(gw_utf16_t *d, char *out)
{
    /* one U+FFFD for whatever is left (a high surrogate, an odd byte, or both) */
    size_t n = d->lead != 0 || d->have_byte ? gw_utf8_put(out, 0xfffd) : 0;
    d->lead = 0;
    d->have_byte = 0;
    return n;
}
