/*
 * utf16 — a streaming UTF-16 → UTF-8 decoder (pure; the rewriter's glue is gateway/rewrite.c).
 *
 * An HTML page a browser reads as UTF-16 (a UTF-16 byte order mark, or a Content-Type charset the
 * Encoding Standard gives UTF-16) has no ASCII bytes for its tags, so the rewriter reads it as the
 * browser does: decoded to UTF-8 first, and served as UTF-8 (HTML submits a UTF-16 page's forms as
 * UTF-8 anyway, HTML §4.10.21.7). Decoding follows the Encoding Standard's UTF-16 decoder: a lone
 * surrogate, or an odd byte at the end, becomes U+FFFD; a byte order mark is the caller's to take off.
 * Input may arrive in pieces of any size, split anywhere (inside a code unit or a surrogate pair).
 */
#ifndef GW_UTF16_H
#define GW_UTF16_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_gw_utf16_t {
    int big_endian;
    int have_byte;   /* one byte of a code unit kept from the last piece */
    uint8_t byte;    /* ... this one */
    uint16_t lead;   /* a high surrogate waiting for its low one, or 0 */
} gw_utf16_t;

/* ready for a new stream in the given byte order */
void gw_utf16_init(gw_utf16_t *d, int big_endian);

/* the most UTF-8 bytes gw_utf16_decode writes for len input bytes (3 per code unit, and what the state holds) */
#define GW_UTF16_MAX_OUT(len) ((len) / 2 * 3 + 8)

/* decodes the next len bytes into out (GW_UTF16_MAX_OUT(len) bytes of room); returns the bytes written */
size_t gw_utf16_decode(gw_utf16_t *d, const char *in, size_t len, char *out);

/* the end of the stream: what the state still holds (a lone high surrogate, an odd byte, or both) as one U+FFFD into
 * out (at least 3 bytes of room); returns the bytes written */
size_t gw_utf16_finish(gw_utf16_t *d, char *out);

#endif
