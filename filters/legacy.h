/*
 * legacy — a page's legacy encoding (Encoding Standard labels) decoded to UTF-8, and UTF-8 encoded back into it for a
 * URL's query, with glibc's iconv (pure apart from the converters this thread keeps; the rewriter's glue is
 * gateway/rewrite.c).
 *
 * A browser reads a URL in a page as characters, decoded from the page's encoding: the URL Standard then percent-encodes
 * its path and fragment as UTF-8, its host goes through IDNA, and only its query is encoded in the page's encoding
 * (URL Standard, "query state"; Chromium's url_canon_icu.cc does the same, a character the encoding lacks becoming
 * "%26%23<decimal>%3B"). The rewriter, which reads the page's bytes, decodes a link's value with gw_legacy_decode
 * before it reads it as a URL, and encodes the query back with gw_legacy_query.
 *
 * Decoding follows the Encoding Standard's decoders where glibc's tables differ in ways that matter: windows-1252 is
 * done here (glibc's CP1252 has no 0x81, 0x8D, 0x8F, 0x90, 0x9D, which the standard maps to U+0081 …), the other
 * windows-* encodings map such a byte to its C1 control too; single-byte encodings are read from a table made once
 * from glibc's, a byte a character (glibc's CP1258 and CP1255 would compose a letter and the combining mark after it,
 * which browsers do not); Shift_JIS uses glibc's CP932 (ASCII as ASCII, not the yen sign) with 0x80 as U+0080, gbk is
 * read as gb18030 (0x80 is €), Big5 as Big5-HKSCS (encoded as Big5, without HKSCS, as the standard's encoder does),
 * EUC-KR as CP949. A multi-byte sequence is framed as the standard's decoders frame it (their lead bytes,
 * gb18030's four bytes, EUC-JP's 0x8F and two) and given to glibc alone (its own error reporting is not reliable: its
 * CP949 reports some unmapped pairs past them). One that makes no character is one U+FFFD: a lead byte with the
 * non-ASCII byte after it, an ASCII byte after a lead read again as itself (the standard's "prepend"), a four-byte
 * gb18030 one its lead alone, a sequence cut by the end of the input one U+FFFD. ISO-2022-JP (stateful), UTF-16, UTF-8,
 * replacement and x-user-defined are not legacy encodings here (GW_LEGACY_NONE).
 *
 * iconv_t carries conversion state and may not be used by two threads at once: gw_legacy_init makes the single-byte
 * tables (once, before the threads start; read-only after), gw_legacy_thread_init opens this thread's converters of the
 * multi-byte encodings (once, at the thread's start: iconv_open allocates and takes glibc's gconv lock), after which
 * decoding and encoding neither allocate nor lock.
 */
#ifndef GW_LEGACY_H
#define GW_LEGACY_H

#include <stddef.h>

#define GW_LEGACY_NONE 0 /* not an encoding read here: the bytes are taken as they are (UTF-8) */

/* the legacy encoding an Encoding Standard label names (ASCII case-blind, blanks around it ignored), GW_LEGACY_NONE for
 * UTF-8, UTF-16, ISO-2022-JP or a label the standard does not know; *known (may be NULL) is set to whether the standard
 * knows the label at all (a <meta> naming an unknown one is ignored, one naming UTF-8 is not) */
int gw_legacy_from_label(const char *label, size_t len, int *known);

/* the Encoding Standard's name of an encoding ("Shift_JIS"), "UTF-8" for GW_LEGACY_NONE */
const char *gw_legacy_name(int enc);

/* makes the single-byte encodings' tables; call once, before any thread decodes. Returns 0, or -1 when glibc lacks a
 * converter (its encoding then decodes as U+FFFD beyond ASCII). */
int gw_legacy_init(void);

/* opens this thread's converters (each one whose module glibc has; the others decode as nothing: see
 * gw_legacy_decode); returns 0, or -1 when one could not be opened. gw_legacy_thread_dispose closes them. */
int gw_legacy_thread_init(void);
void gw_legacy_thread_dispose(void);

typedef struct st_gw_legacy_dec_t {
    int enc;
    size_t _held;          /* bytes of a sequence the last piece ended inside */
    unsigned char _buf[8]; /* ... these */
} gw_legacy_dec_t;

/* ready for a new stream in enc */
void gw_legacy_dec_init(gw_legacy_dec_t *d, int enc);

/* the most UTF-8 bytes gw_legacy_decode writes for len input bytes (3 per byte, and what the state holds) */
#define GW_LEGACY_MAX_OUT(len) ((len)*3 + 12)

/* decodes the next len bytes into out (GW_LEGACY_MAX_OUT(len) bytes of room): returns the bytes written, or (size_t)-1
 * when there is no converter for the encoding (gw_legacy_init or, for a multi-byte one, gw_legacy_thread_init not
 * called in this thread, or glibc lacks it) */
size_t gw_legacy_decode(gw_legacy_dec_t *d, const char *in, size_t len, char *out);

/* the end of the input: a sequence it cut, as one U+FFFD, into out (at least 12 bytes); returns the bytes written */
size_t gw_legacy_finish(gw_legacy_dec_t *d, char *out);

/* s[0..len) into out (3 len bytes of room), the bytes beyond ASCII percent-encoded, ASCII as it is; returns the length */
size_t gw_legacy_pct_high(const char *s, size_t len, char *out);

/* a URL's query, UTF-8 in[0..len), as the browser sends it from a page in enc: each character encoded in enc, bytes
 * beyond ASCII percent-encoded, ASCII as it is, a character enc lacks "%26%23<decimal>%3B" (a byte that is not UTF-8 is
 * taken for U+FFFD). Into out (cap bytes); returns the length, or (size_t)-1 when it does not fit or there is no
 * converter. */
size_t gw_legacy_query(int enc, const char *in, size_t len, char *out, size_t cap);

/* HTML's "algorithm for extracting a character encoding from a meta element" over a <meta http-equiv=Content-Type>'s
 * content[0..len) (decoded): the label after "charset" (ASCII case-blind), blanks, '=' and blanks, quoted (up to the same
 * quote, which must be there) or up to a blank or ';'. Returns 1 and *label, *label_len (inside content), 0 when there
 * is none. */
int gw_legacy_meta_charset(const char *content, size_t len, const char **label, size_t *label_len);

#endif
