/*
 * legacy — see legacy.h.
 */
#include <errno.h>
#include <iconv.h>
#include <sys/types.h>
#include <stdint.h>
#include <string.h>
#include "legacy.h"
#include "utf8.h"

enum { KIND_SINGLE, KIND_WINDOWS, KIND_1252, KIND_SJIS, KIND_EUCJP, KIND_DOUBLE, KIND_GB };

typedef struct st_encoding_t {
    const char *name;      /* the Encoding Standard's */
    const char *from, *to; /* glibc's names for decoding and for encoding (NULL: done here) */
    int kind;
    const char *labels; /* the standard's labels, NUL-separated, ending with an empty one */
} encoding_t;

/* index 0 is GW_LEGACY_NONE (UTF-8) */
static const encoding_t encodings[] = {
    {"UTF-8", NULL, NULL, KIND_SINGLE, "unicode-1-1-utf-8\0unicode11utf8\0unicode20utf8\0utf-8\0utf8\0x-unicode20utf8\0"},
    {"windows-1252", NULL, NULL, KIND_1252,
     "ansi_x3.4-1968\0ascii\0cp1252\0cp819\0csisolatin1\0ibm819\0iso-8859-1\0iso-ir-100\0iso8859-1\0iso88591\0iso_8859-1\0"
     "iso_8859-1:1987\0l1\0latin1\0us-ascii\0windows-1252\0x-cp1252\0"},
    {"Shift_JIS", "CP932", "CP932", KIND_SJIS, "csshiftjis\0ms932\0ms_kanji\0shift-jis\0shift_jis\0sjis\0windows-31j\0x-sjis\0"},
    {"EUC-JP", "EUC-JP", "EUC-JP", KIND_EUCJP, "cseucpkdfmtjapanese\0euc-jp\0x-euc-jp\0"},
    {"EUC-KR", "CP949", "CP949", KIND_DOUBLE,
     "cseuckr\0csksc56011987\0euc-kr\0iso-ir-149\0korean\0ks_c_5601-1987\0ks_c_5601-1989\0ksc5601\0ksc_5601\0windows-949\0"},
    {"GBK", "GB18030", "GBK", KIND_GB, "chinese\0csgb2312\0csiso58gb231280\0gb2312\0gb_2312\0gb_2312-80\0gbk\0iso-ir-58\0x-gbk\0"},
    {"gb18030", "GB18030", "GB18030", KIND_GB, "gb18030\0"},
    {"Big5", "BIG5-HKSCS", "BIG5", KIND_DOUBLE, "big5\0big5-hkscs\0cn-big5\0csbig5\0x-x-big5\0"},
    {"IBM866", "IBM866", "IBM866", KIND_SINGLE, "866\0cp866\0csibm866\0ibm866\0"},
    {"ISO-8859-2", "ISO-8859-2", "ISO-8859-2", KIND_SINGLE,
     "csisolatin2\0iso-8859-2\0iso-ir-101\0iso8859-2\0iso88592\0iso_8859-2\0iso_8859-2:1987\0l2\0latin2\0"},
    {"ISO-8859-3", "ISO-8859-3", "ISO-8859-3", KIND_SINGLE,
     "csisolatin3\0iso-8859-3\0iso-ir-109\0iso8859-3\0iso88593\0iso_8859-3\0iso_8859-3:1988\0l3\0latin3\0"},
    {"ISO-8859-4", "ISO-8859-4", "ISO-8859-4", KIND_SINGLE,
     "csisolatin4\0iso-8859-4\0iso-ir-110\0iso8859-4\0iso88594\0iso_8859-4\0iso_8859-4:1988\0l4\0latin4\0"},
    {"ISO-8859-5", "ISO-8859-5", "ISO-8859-5", KIND_SINGLE,
     "csisolatincyrillic\0cyrillic\0iso-8859-5\0iso-ir-144\0iso8859-5\0iso88595\0iso_8859-5\0iso_8859-5:1988\0"},
    {"ISO-8859-6", "ISO-8859-6", "ISO-8859-6", KIND_SINGLE,
     "arabic\0asmo-708\0csiso88596e\0csiso88596i\0csisolatinarabic\0ecma-114\0iso-8859-6\0iso-8859-6-e\0iso-8859-6-i\0"
     "iso-ir-127\0iso8859-6\0iso88596\0iso_8859-6\0iso_8859-6:1987\0"},
    {"ISO-8859-7", "ISO-8859-7", "ISO-8859-7", KIND_SINGLE,
     "csisolatingreek\0ecma-118\0elot_928\0greek\0greek8\0iso-8859-7\0iso-ir-126\0iso8859-7\0iso88597\0iso_8859-7\0"
     "iso_8859-7:1987\0sun_eu_greek\0"},
    {"ISO-8859-8", "ISO-8859-8", "ISO-8859-8", KIND_SINGLE,
     "csiso88598e\0csisolatinhebrew\0hebrew\0iso-8859-8\0iso-8859-8-e\0iso-ir-138\0iso8859-8\0iso88598\0iso_8859-8\0"
     "iso_8859-8:1988\0visual\0csiso88598i\0iso-8859-8-i\0logical\0"},
    {"ISO-8859-10", "ISO-8859-10", "ISO-8859-10", KIND_SINGLE,
     "csisolatin6\0iso-8859-10\0iso-ir-157\0iso8859-10\0iso885910\0l6\0latin6\0"},
    {"ISO-8859-13", "ISO-8859-13", "ISO-8859-13", KIND_SINGLE, "iso-8859-13\0iso8859-13\0iso885913\0"},
    {"ISO-8859-14", "ISO-8859-14", "ISO-8859-14", KIND_SINGLE, "iso-8859-14\0iso8859-14\0iso885914\0"},
    {"ISO-8859-15", "ISO-8859-15", "ISO-8859-15", KIND_SINGLE,
     "csisolatin9\0iso-8859-15\0iso8859-15\0iso885915\0iso_8859-15\0l9\0"},
    {"ISO-8859-16", "ISO-8859-16", "ISO-8859-16", KIND_SINGLE, "iso-8859-16\0"},
    {"KOI8-R", "KOI8-R", "KOI8-R", KIND_SINGLE, "cskoi8r\0koi\0koi8\0koi8-r\0koi8_r\0"},
    {"KOI8-U", "KOI8-U", "KOI8-U", KIND_SINGLE, "koi8-ru\0koi8-u\0"},
    {"macintosh", "MACINTOSH", "MACINTOSH", KIND_SINGLE, "csmacintosh\0mac\0macintosh\0x-mac-roman\0"},
    {"windows-874", "CP874", "CP874", KIND_WINDOWS, "dos-874\0iso-8859-11\0iso8859-11\0iso885911\0tis-620\0windows-874\0"},
    {"windows-1250", "CP1250", "CP1250", KIND_WINDOWS, "cp1250\0windows-1250\0x-cp1250\0"},
    {"windows-1251", "CP1251", "CP1251", KIND_WINDOWS, "cp1251\0windows-1251\0x-cp1251\0"},
    {"windows-1253", "CP1253", "CP1253", KIND_WINDOWS, "cp1253\0windows-1253\0x-cp1253\0"},
    {"windows-1254", "CP1254", "CP1254", KIND_WINDOWS,
     "cp1254\0csisolatin5\0iso-8859-9\0iso-ir-148\0iso8859-9\0iso88599\0iso_8859-9\0iso_8859-9:1989\0l5\0latin5\0"
     "windows-1254\0x-cp1254\0"},
    {"windows-1255", "CP1255", "CP1255", KIND_WINDOWS, "cp1255\0windows-1255\0x-cp1255\0"},
    {"windows-1256", "CP1256", "CP1256", KIND_WINDOWS, "cp1256\0windows-1256\0x-cp1256\0"},
    {"windows-1257", "CP1257", "CP1257", KIND_WINDOWS, "cp1257\0windows-1257\0x-cp1257\0"},
    {"windows-1258", "CP1258", "CP1258", KIND_WINDOWS, "cp1258\0windows-1258\0x-cp1258\0"},
    {"x-mac-cyrillic", "MAC-CYRILLIC", "MAC-CYRILLIC", KIND_SINGLE, "x-mac-cyrillic\0x-mac-ukrainian\0"},
};
#define NUM_ENCODINGS (sizeof(encodings) / sizeof(encodings[0]))

/* labels the standard knows that are no legacy encoding here (UTF-16, ISO-2022-JP, replacement, x-user-defined) */
static const char other_labels[] = "csunicode\0iso-10646-ucs-2\0ucs-2\0unicode\0unicodefeff\0utf-16\0utf-16le\0unicodefffe\0"
                                   "utf-16be\0csiso2022jp\0iso-2022-jp\0csiso2022kr\0hz-gb-2312\0iso-2022-cn\0iso-2022-cn-ext\0"
                                   "iso-2022-kr\0replacement\0x-user-defined\0";

/* windows-1252's 0x80..0x9F (the Encoding Standard's index; the rest is Latin-1) */
static const uint16_t cp1252_high[32] = {0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                         0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                                         0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

/* the single-byte encodings' 0x80..0xFF (U+FFFD: none), made once from glibc's tables by gw_legacy_init and only read
 * after it: a byte at a time, so no converter of glibc's composes a base letter and a combining mark into one character
 * (its CP1258 and CP1255 would, holding the letter back in its state; the standard's decoders map byte to character) */
static uint16_t single[NUM_ENCODINGS][128];
static int single_ready;

/* the multi-byte encodings' converters, this thread's */
static __thread iconv_t decoders[NUM_ENCODINGS], encoders[NUM_ENCODINGS];
static __thread int opened;

static int
is_single(int kind)
{
    return kind == KIND_SINGLE || kind == KIND_WINDOWS || kind == KIND_1252;
}

static int
in_list(const char *list, const char *s, size_t len)
{
    for (const char *l = list; *l != '\0'; l += strlen(l) + 1) {
        if (strlen(l) != len)
            continue;
        size_t i = 0;
        while (i != len && (s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i]) == l[i])
            ++i;
        if (i == len)
            return 1;
    }
    return 0;
}

int
gw_legacy_from_label(const char *label, size_t len, int *known)
{
    /* "Remove any leading and trailing ASCII whitespace from label" */
    while (len != 0 && (*label == ' ' || *label == '\t' || *label == '\n' || *label == '\f' || *label == '\r'))
        ++label, --len;
    while (len != 0 && (label[len - 1] == ' ' || label[len - 1] == '\t' || label[len - 1] == '\n' || label[len - 1] == '\f' ||
                        label[len - 1] == '\r'))
        --len;
    if (known != NULL)
        *known = 1;
    for (size_t i = 0; i != NUM_ENCODINGS; ++i)
        if (in_list(encodings[i].labels, label, len))
            return (int)i;
    if (known != NULL)
        *known = in_list(other_labels, label, len);
    return GW_LEGACY_NONE;
}

const char *
gw_legacy_name(int enc)
{
    return enc > 0 && enc < (int)NUM_ENCODINGS ? encodings[enc].name : encodings[0].name;
}

int
gw_legacy_init(void)
{
    int rc = 0;
    if (single_ready)
        return 0;
    for (size_t i = 1; i != NUM_ENCODINGS; ++i) {
        const encoding_t *e = encodings + i;
        if (!is_single(e->kind))
            continue;
        if (e->kind == KIND_1252) {
            for (unsigned b = 0x80; b != 0x100; ++b)
                single[i][b - 0x80] = b < 0xA0 ? cp1252_high[b - 0x80] : (uint16_t)b;
            continue;
        }
        iconv_t cd = iconv_open("UTF-8", e->from);
        for (unsigned b = 0x80; b != 0x100; ++b) {
            char in = (char)b, out[16], *ip = &in, *op = out;
            size_t il = 1, ol = sizeof(out), len;
            uint32_t cp = 0xFFFD;
            if (cd != (iconv_t)-1) {
                iconv(cd, NULL, NULL, NULL, NULL);
                if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1 && op != out) {
                    cp = gw_utf8_next((const unsigned char *)out, (size_t)(op - out), &len);
                    if (len != (size_t)(op - out) || cp > 0xFFFF)
                        cp = 0xFFFD; /* (one character of the BMP a byte, or none) */
                }
            }
            /* the standard's windows-* indexes give a byte Windows leaves empty its C1 control */
            if (cp == 0xFFFD && e->kind == KIND_WINDOWS && b <= 0x9F)
                cp = b;
            single[i][b - 0x80] = (uint16_t)cp;
        }
        if (cd == (iconv_t)-1)
            rc = -1;
        else
            iconv_close(cd);
    }
    single_ready = 1;
    return rc;
}

int
gw_legacy_thread_init(void)
{
    int rc = 0;
    if (opened)
        return 0;
    for (size_t i = 1; i != NUM_ENCODINGS; ++i) {
        decoders[i] = encoders[i] = (iconv_t)-1;
        if (is_single(encodings[i].kind))
            continue;
        if ((decoders[i] = iconv_open("UTF-8", encodings[i].from)) == (iconv_t)-1 ||
            (encoders[i] = iconv_open(encodings[i].to, "UTF-8")) == (iconv_t)-1)
            rc = -1;
    }
    opened = 1;
    return rc;
}

void
gw_legacy_thread_dispose(void)
{
    if (!opened)
        return;
    for (size_t i = 1; i != NUM_ENCODINGS; ++i) {
        if (decoders[i] != (iconv_t)-1)
            iconv_close(decoders[i]);
        if (encoders[i] != (iconv_t)-1)
            iconv_close(encoders[i]);
    }
    opened = 0;
}

/* cp into o as UTF-8; returns the end */
static char *
put_utf8(char *o, uint32_t cp)
{
    return o + gw_utf8_put(o, cp);
}

void
gw_legacy_dec_init(gw_legacy_dec_t *d, int enc)
{
    d->enc = enc > 0 && enc < (int)NUM_ENCODINGS ? enc : GW_LEGACY_NONE;
    d->_held = 0;
}

/*
 * The sequence a multi-byte encoding's decoder reads at p[0..n), framed as the Encoding Standard's decoders frame it (its
 * lead bytes, gb18030's four-byte form, EUC-JP's 0x8F): returns its length, 0 when the end cuts it (more bytes decide),
 * or -k for one that cannot be a character whatever follows, of which the error takes k bytes (a byte after the lead
 * that is ASCII is read again; one that is not goes with the error: one U+FFFD).
 */
static ssize_t
frame(int kind, const unsigned char *p, size_t n)
{
    unsigned char b = p[0];
    if (b < 0x80)
        return 1;
    switch (kind) {
    case KIND_SJIS:
        if (!((b >= 0x81 && b <= 0x9F) || (b >= 0xE0 && b <= 0xFC)))
            return 1; /* (0x80, half-width katakana; 0xA0 and 0xFD..0xFF an error: the converter says so) */
        return n < 2 ? 0 : 2;
    case KIND_EUCJP:
        if (b == 0x8F) { /* JIS X 0212: 0x8F and two bytes 0xA1..0xFE */
            if (n < 2)
                return 0;
            if (p[1] < 0xA1 || p[1] == 0xFF)
                return p[1] < 0x80 ? -1 : -2;
            return n < 3 ? 0 : 3;
        }
        if (b != 0x8E && (b < 0xA1 || b == 0xFF))
            return -1;
        return n < 2 ? 0 : 2;
    case KIND_GB:
        if (b == 0x80 || b == 0xFF)
            return 1; /* (€; 0xFF an error) */
        if (n < 2)
            return 0;
        if (p[1] >= 0x30 && p[1] <= 0x39) { /* four bytes: 0x81..0xFE, 0x30..0x39 */
            if (n >= 3 && (p[2] < 0x81 || p[2] == 0xFF))
                return -1; /* (the second and third bytes are read again) */
            return n < 4 ? 0 : 4;
        }
        return 2;
    default: /* EUC-KR, Big5: a lead 0x81..0xFE and one byte */
        if (b == 0x80 || b == 0xFF)
            return -1;
        return n < 2 ? 0 : 2;
    }
}

/* decodes p[0..n) into out; stops before a sequence the end cuts unless final (then it is one U+FFFD). *used: the bytes
 * taken. Returns the bytes written, or (size_t)-1 without a converter. */
static size_t
step(gw_legacy_dec_t *d, const unsigned char *p, size_t n, int final, char *out, size_t *used)
{
    const encoding_t *e = encodings + d->enc;
    char *o = out;
    size_t i = 0;
    if (d->enc == GW_LEGACY_NONE) {
        memcpy(out, p, n);
        *used = n;
        return n;
    }
    if (is_single(e->kind)) {
        if (!single_ready)
            return (size_t)-1;
        for (; i != n; ++i)
            o = put_utf8(o, p[i] < 0x80 ? p[i] : single[d->enc][p[i] - 0x80]);
        *used = n;
        return (size_t)(o - out);
    }
    iconv_t cd = opened ? decoders[d->enc] : (iconv_t)-1;
    if (cd == (iconv_t)-1)
        return (size_t)-1;
    while (i != n) {
        if (p[i] < 0x80) { /* ASCII, most of a URL, without iconv */
            *o++ = (char)p[i++];
            continue;
        }
        /* a run of whole sequences in one call (most text); when glibc takes all of it and gives a character or more
         * for each sequence, as it does for every run without an error in it, else sequence by sequence below */
        size_t j = i, seqs = 0;
        for (ssize_t l; j != n && p[j] >= 0x80 && !(p[j] == 0x80 && (e->kind == KIND_SJIS || e->kind == KIND_GB)) &&
                        (l = frame(e->kind, p + j, n - j)) > 0;
             j += (size_t)l, ++seqs)
            ;
        if (seqs > 1) {
            char *ip = (char *)p + i, *op = o;
            size_t il = j - i, ol = 3 * (j - i) + 8, chars = 0;
            iconv(cd, NULL, NULL, NULL, NULL);
            if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0) {
                for (const char *c = o; c != op; ++c)
                    chars += ((unsigned char)*c & 0xC0) != 0x80;
                if (chars >= seqs) {
                    o = op;
                    i = j;
                    continue;
                }
            }
        }
        ssize_t len = frame(e->kind, p + i, n - i);
        if (len == 0 && !final)
            break;      /* cut by the end: kept for the next piece */
        if (len == 0) { /* cut by the end of the input: one error */
            o = put_utf8(o, 0xFFFD);
            i = n;
            continue;
        }
        if (len < 0) {
            o = put_utf8(o, 0xFFFD);
            i += (size_t)-len;
            continue;
        }
        if (p[i] == 0x80 && (e->kind == KIND_SJIS || e->kind == KIND_GB)) { /* the standard's U+0080 and €, glibc's none */
            o = put_utf8(o, e->kind == KIND_SJIS ? 0x80 : 0x20AC);
            ++i;
            continue;
        }
        /* one sequence through glibc's converter: a character only when it takes all of it and gives something */
        char *ip = (char *)p + i, *op = o;
        size_t il = (size_t)len, ol = 16;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && il == 0 && op != o) {
            o = op;
            i += (size_t)len;
            continue;
        }
        /* none: one U+FFFD, with the byte after the lead unless it is ASCII (read again), for four bytes the lead alone */
        o = put_utf8(o, 0xFFFD);
        i += len == 1 || len == 4 || p[i + 1] < 0x80 ? 1 : len == 3 ? (p[i + 2] < 0x80 ? 2 : 3) : 2;
    }
    *used = i;
    return (size_t)(o - out);
}

size_t
gw_legacy_decode(gw_legacy_dec_t *d, const char *in, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t w = 0, used;
    if (d->_held != 0) {
        /* the sequence the last piece cut, with enough of this one to end it (a sequence is at most 4 bytes) */
        unsigned char tmp[sizeof(d->_buf) + 8];
        size_t held = d->_held, take = len < 8 ? len : 8;
        memcpy(tmp, d->_buf, held);
        memcpy(tmp + held, p, take);
        if ((w = step(d, tmp, held + take, 0, out, &used)) == (size_t)-1)
            return w;
        if (used < held || (take == len && used < held + take)) {
            /* still cut (only when this piece is short): everything not taken is held again */
            d->_held = held + take - used;
            memmove(d->_buf, tmp + used, d->_held);
            return w;
        }
        p += used - held, len -= used - held;
        d->_held = 0;
    }
    size_t r = step(d, p, len, 0, out + w, &used);
    if (r == (size_t)-1)
        return r;
    d->_held = len - used; /* (at most 3: a sequence iconv saw cut) */
    memcpy(d->_buf, p + used, d->_held);
    return w + r;
}

size_t
gw_legacy_finish(gw_legacy_dec_t *d, char *out)
{
    size_t used, w = 0;
    if (d->_held != 0) {
        w = step(d, d->_buf, d->_held, 1, out, &used);
        d->_held = 0;
    }
    return w == (size_t)-1 ? 0 : w;
}

static int
lceq7(const char *p, const char *lit)
{
    for (size_t i = 0; i != 7; ++i)
        if ((p[i] >= 'A' && p[i] <= 'Z' ? p[i] + ('a' - 'A') : p[i]) != lit[i])
            return 0;
    return 1;
}

int
gw_legacy_meta_charset(const char *p, size_t len, const char **label, size_t *label_len)
{
    for (size_t i = 0; i + 7 <= len;) {
        if (!lceq7(p + i, "charset")) {
            ++i;
            continue;
        }
        size_t j = i + 7;
        while (j != len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\f' || p[j] == '\r'))
            ++j;
        if (j == len || p[j] != '=') {
            i = j; /* (the search goes on from there) */
            continue;
        }
        ++j;
        while (j != len && (p[j] == ' ' || p[j] == '\t' || p[j] == '\n' || p[j] == '\f' || p[j] == '\r'))
            ++j;
        if (j != len && (p[j] == '"' || p[j] == '\'')) {
            const char *close = memchr(p + j + 1, p[j], len - j - 1);
            if (close == NULL)
                return 0;
            *label = p + j + 1, *label_len = (size_t)(close - (p + j + 1));
            return 1;
        }
        size_t k = j;
        while (k != len && p[k] != ' ' && p[k] != '\t' && p[k] != '\n' && p[k] != '\f' && p[k] != '\r' && p[k] != ';')
            ++k;
        *label = p + j, *label_len = k - j;
        return k != j;
    }
    return 0;
}

/* the bytes enc gives cp (at most 4) into b; returns their number, 0 when enc lacks it */
static size_t
encode_one(int enc, uint32_t cp, const unsigned char *utf8, size_t utf8_len, unsigned char *b)
{
    const encoding_t *e = encodings + enc;
    if (is_single(e->kind)) {
        for (size_t k = 0; k != 128 && cp != 0xFFFD; ++k)
            if (single[enc][k] == cp) {
                b[0] = (unsigned char)(0x80 + k);
                return 1;
            }
        return 0;
    }
    if (e->kind == KIND_SJIS && cp == 0x80) {
        b[0] = 0x80;
        return 1;
    }
    char *ip = (char *)utf8, *op = (char *)b;
    size_t il = utf8_len, ol = 4;
    iconv(encoders[enc], NULL, NULL, NULL, NULL);
    /* (and what the converter holds back, waiting for a combining mark: flushed) */
    if (iconv(encoders[enc], &ip, &il, &op, &ol) == (size_t)-1 || il != 0 ||
        iconv(encoders[enc], NULL, NULL, &op, &ol) == (size_t)-1) {
        iconv(encoders[enc], NULL, NULL, NULL, NULL);
        return 0;
    }
    return (size_t)(op - (char *)b);
}

/* (an ASCII byte, the second of a character — '{' of Shift_JIS 日本's 96 7B — stays as it is: the query percent-encode
 * set has none of them and Chromium sends them so) */
size_t
gw_legacy_pct_high(const char *s, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t k = 0; k != len; ++k) {
        unsigned char c = (unsigned char)s[k];
        if (c < 0x80) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

size_t
gw_legacy_query(int enc, const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t o = 0;
    if (enc <= 0 || enc >= (int)NUM_ENCODINGS)
        return (size_t)-1;
    if (is_single(encodings[enc].kind) ? !single_ready : !opened || encoders[enc] == (iconv_t)-1)
        return (size_t)-1;
    for (size_t i = 0; i != len;) {
        if (p[i] < 0x80) {
            if (o == cap)
                return (size_t)-1;
            out[o++] = (char)p[i++];
            continue;
        }
        if (!is_single(encodings[enc].kind)) {
            /* a run of characters beyond ASCII (at most 64 bytes) in one call, when glibc encodes all of it; else one by
             * one below, which finds the character it lacks */
            size_t j = i;
            while (j != len && p[j] >= 0x80 && j - i < 64)
                ++j;
            unsigned char b[160];
            char *ip = (char *)p + i, *op = (char *)b;
            size_t il = j - i, ol = sizeof(b);
            iconv(encoders[enc], NULL, NULL, NULL, NULL);
            if (j - i > 4 && iconv(encoders[enc], &ip, &il, &op, &ol) != (size_t)-1 && il == 0 &&
                iconv(encoders[enc], NULL, NULL, &op, &ol) != (size_t)-1 &&
                (ip == (char *)p + len || ((unsigned char)*ip < 0x80 || (*ip & 0xC0) != 0x80))) {
                size_t nb = (size_t)(op - (char *)b);
                if (cap - o < 3 * nb)
                    return (size_t)-1;
                o += gw_legacy_pct_high((const char *)b, nb, out + o);
                i = j;
                continue;
            }
            iconv(encoders[enc], NULL, NULL, NULL, NULL);
        }
        size_t l;
        uint32_t cp = gw_utf8_next(p + i, len - i, &l);
        unsigned char b[4];
        size_t nb = cp == 0xFFFD && l == 1 ? 0 : encode_one(enc, cp, p + i, l, b);
        if (nb == 0) {
            /* URL Standard, percent-encode after encoding: "%26%23", the code point in decimal, "%3B" */
            char num[8];
            int nd = 0;
            for (uint32_t v = cp; v != 0 || nd == 0; v /= 10)
                num[nd++] = (char)('0' + v % 10);
            if (cap - o < 9 + (size_t)nd)
                return (size_t)-1;
            memcpy(out + o, "%26%23", 6), o += 6;
            while (nd != 0)
                out[o++] = num[--nd];
            memcpy(out + o, "%3B", 3), o += 3;
        } else {
            if (cap - o < 3 * nb)
                return (size_t)-1;
            o += gw_legacy_pct_high((const char *)b, nb, out + o);
        }
        i += l;
    }
    return o;
}
