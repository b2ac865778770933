/*
 * html — streaming HTML rewriter (see html.h for the contract).
 *
 * One state machine, resumable at every byte. gw_html_write() walks the chunk with a
 * cursor; every input byte gets exactly one disposition: passed (a run of passed bytes is
 * [pass_from, mark) and reaches emit() as one slice when something else must be written or
 * the chunk ends), dropped (inside a removed element or a rewritten tag), or captured (the
 * bytes of a tag, or of a possible raw-text end tag, that continue into the next chunk; and
 * held script content). [mark, cur) is always the unit still being decided: the '<' and
 * what follows of a tag or of a raw-text end-tag candidate.
 *
 * Modes follow the HTML5 tokenizer (WHATWG HTML §13.2.5): text; "<", "</", "<!", "<!-"
 * prefixes; comments (§13.2.5.43-52, including "<!-->" and "--!>"); bogus comments and
 * doctype, which end at the first '>'; tags (§13.2.5.6-40: the end of a tag is its first
 * '>' outside a quoted value, and a quote opens a value only right after '=');
 * raw text (RAWTEXT, RCDATA, script data with its escaped and double-escaped states,
 * §13.2.5.2-4, .15-31) where only "</name" + [\t\n\f\r />] ends the element; plaintext.
 * Text is scanned 16 bytes at a time (find_byte); the per-byte loops run only inside tags.
 */
#include "html.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { M_TEXT, M_LT, M_LT_SLASH, M_MD, M_MD_DASH, M_COMMENT, M_BOGUS, M_TAG, M_TAG_PASS, M_RAW, M_PLAIN, M_CDATA_OPEN, M_CDATA };
enum { T_NAME, T_BEFORE_ATTR, T_ATTR_NAME, T_AFTER_NAME, T_BEFORE_VALUE, T_DQ, T_SQ, T_UNQ, T_AFTER_QUOTED };
enum { C_START, C_START_DASH, C_BODY, C_DASH, C_END, C_BANG };              /* comment states */
enum { K_NONE, K_LT, K_END_OPEN, K_END_NAME, K_BANG, K_BANG_DASH, K_DESC }; /* raw-text candidates */
enum { S_DATA, S_ESC, S_DESC };                                             /* script data states */
enum { R_CONT, R_FAIL, R_SWITCH, R_END };                                   /* candidate step results */
enum { E_SET = 1, E_REMOVE, E_RENAME };                                     /* attribute edits */
enum { RAW_NONE, RAW_TEXT, RAW_SCRIPT, RAW_PLAIN };
enum { FS_MAYBE, FS_NO, FS_IN };                                            /* frameset: see frameset_tag */

#define TNAME_MAX 31
#define OUT_SIZE 512
#define NONE (~0u)
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct st_gw_html_t {
    gw_html_cb_t cb;
    void *ctx;
    const char *nonce, *inject, *kept_nonce[2]; /* kept_nonce: the origin's, for <script> [0] and <style> [1] */
    size_t nonce_len, inject_len, hold_cap, kept_nonce_len[2];
    uint64_t pos; /* stream offset of the current chunk */
    const char *chunk, *mark, *pass_from;
    uint8_t mode, tstate, cstate, is_end, tag_drop, tag_remove, injected, ended, inject_in_place; /* (not at the end) */
    uint8_t raw_id, sstate, dashes, cand, cand_n, pend_len, text_cb, holding;
    /* the tag being scanned: lower-cased name prefix, full-name hash, id, '<' offset */
    uint8_t id;
    char tname[TNAME_MAX + 1];
    size_t name_total;
    uint64_t name_hash, tag_offset, cand_offset, held_offset;
    uint64_t raw_hash;    /* name hash of the raw-text element being read */
    char raw_name[TNAME_MAX + 1]; /* ... and its name, lower-cased ("script"; on an XML page "h:script" too) */
    uint8_t raw_name_len;
    uint8_t raw_end;      /* the end tag being read is the raw-text element's (raw_end_tag): cut short, it leaves it open */
    uint32_t skip_depth;  /* > 0 inside a removed element */
    uint32_t skip_fdepth; /* a removed foreign element: the foreign frames open at its start (an end tag or a breakout that
                             closes one of them closes it too); 0 otherwise */
    /* foreign content (svg, math): the open roots and integration points, as the tree builder would have them */
    uint8_t fdepth, fstack[64], tag_foreign; /* tag_foreign: the current start tag is in foreign content */
    uint8_t fhold;         /* holding an SVG script: hb holds its start tag (fhold_tag bytes), then its text */
    uint8_t held_markup;   /* on_held is deciding such a script (gw_html_held_markup) */
    uint32_t fhold_fdepth; /* ... the foreign frames open at its start (fdepth + fover) */
    size_t fhold_tag;
    uint8_t fpend_n;                         /* formatting elements to reopen at an integration point (see reconstruct) */
    uint8_t text_watch;                      /* text is looked at (see watch_text) */
    uint32_t hover;                          /* HTML elements open at an integration point past fstack (see html_start) */
    uint32_t fhash[64]; /* an HTML frame's name hash (fstack[i] & FR_HTML; name_hash's low bits); a foreign frame's: the
                         * names (a bit per name_hash & 31) of the foreign elements not frames opened in its content */
    uint32_t fpend[4];                       /* ... their name hashes */
    uint8_t tag_selfclose;                   /* ... and ends with "/>", which foreign content honours */
    uint8_t xml;                             /* gw_html_set_xml: an XML parser reads the page */
    uint8_t frameset;                        /* FS_*: whether a <frameset> replaced the body (see frameset_tag) */
    uint32_t fover;                          /* frames past fstack: foreign for as long as any is open */
    uint64_t fnames; /* foreign elements opened since the outermost frame with an open HTML element's name (foreign_name) */
    /* the HTML elements open outside foreign content (see top_start): name hash and HF_* | OF_TABLE, oover past them */
    uint8_t odepth, oflags[40];
    uint32_t ohash[40], oover;
    uint8_t cdata_n; /* M_CDATA_OPEN: the bytes of "[CDATA[" matched; M_CDATA: the ']' just before (at most 2) */
    uint8_t pre_raw, pre_id; /* Chromium's preload scanner reads raw text (see pre_begin), up to the end tag named pre_hash */
    uint8_t pre_empty;       /* ... and no element of that name is open (it was self-closed, none opened since) */
    uint64_t pre_hash;
    uint64_t skip_hash;
    size_t tlen;     /* bytes in tb: a tag continuing from earlier chunks, or the held tag */
    char *tb;        /* tbuf, or once a start tag outgrew it, a bigger buffer from cb.alloc (grow_tag) */
    size_t tcap;     /* tb's size: the longest tag read whole */
    size_t hold_len; /* bytes in hb */
    char *hb;        /* the held content: hold, or once it outgrew that, a bigger buffer from cb.alloc (grow_hold) */
    size_t hb_cap;   /* hb's size */
    size_t out_len;
    char pend[16];
    char out[OUT_SIZE];
    char tbuf[GW_HTML_MAX_TAG];
    char hold[];
};

_Static_assert(GW_HTML_TAG__COUNT <= 64, "gw_html_cb_t.on_tag_ids has a bit per id");

/* Lower-case names by id, in id (alphabetical) order. */
static const char *const tag_names[GW_HTML_TAG__COUNT] = {
    "",         "a",      "area",  "audio",     "base",   "body",   "br",    "col",      "embed",   "form",
    "head",     "hr",     "html",  "iframe",    "img",    "input",  "link",  "meta",     "noembed", "noframes",
    "noscript", "object", "param", "plaintext", "script", "source", "style", "textarea", "title",   "track",
    "video",    "wbr",    "xmp",   "image",     "use",    "button", "frame", "feimage",  "set",     "animate",
    "template"};
static const uint8_t tag_name_len[GW_HTML_TAG__COUNT] = {0, 1, 4, 5, 4, 4, 2, 3, 5, 4, 4, 2, 4, 6, 3, 5, 4, 4, 7, 8,
                                                         8, 6, 5, 9, 6, 6, 5, 8, 5, 5, 5, 3, 3, 5, 3, 6, 5, 7, 3, 7, 8};

/* byte classes of the tag states: one load tests for any set of delimiters */
enum { CL_WS = 1, CL_SLASH = 2, CL_EQ = 4, CL_GT = 8 };
static const uint8_t cls[256] = {
    ['\t'] = CL_WS, ['\n'] = CL_WS, ['\f'] = CL_WS, ['\r'] = CL_WS, [' '] = CL_WS, ['/'] = CL_SLASH, ['='] = CL_EQ, ['>'] = CL_GT};

static inline int
is_ws(unsigned char c)
{
    return cls[c] & CL_WS;
}

static inline int
is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26;
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 0x20 : c;
}

/*
 * memchr for markup's short runs (the text between two tags, an attribute value: mostly under
 * 64 bytes): the first 64 bytes inline, 16 at a time with SSE2 (every x86-64 has it), with no
 * call and no wide-vector set-up; a longer run goes on with memchr.
 */
static inline const char *
find_byte(const char *s, const char *e, char c)
{
#ifdef __SSE2__
    const __m128i cc = _mm_set1_epi8(c);
    for (int k = 0; k != 4 && e - s >= 16; ++k, s += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)s), cc));
        if (m != 0)
            return s + __builtin_ctz(m);
    }
    if (e - s >= 16)
        return memchr(s, c, (size_t)(e - s));
#endif
    for (; s < e; ++s)
        if (*s == c)
            return s;
    return NULL;
}

static int
name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i != alen; ++i)
        if (lower(a[i]) != lower(b[i]))
            return 0;
    return 1;
}

/* An attribute name a[0..alen) is name[0..len): as written, or on an XML page, for an "xlink:" name, with any prefix: a
 * prefix means the namespace an xmlns: attribute binds it to, which the tokenizer does not follow ("l:href" is
 * xlink:href after xmlns:l="http://www.w3.org/1999/xlink"), so every prefix is taken for xlink's. */
static int
attr_name_eq(const gw_html_t *h, const char *a, size_t alen, const char *name, size_t len)
{
    if (name_eq(a, alen, name, len))
        return 1;
    if (h == NULL || !h->xml || len < 6 || !name_eq(name, 6, "xlink:", 6))
        return 0;
    const char *colon = memchr(a, ':', alen);
    return colon != NULL && colon != a && name_eq(colon + 1, alen - (size_t)(colon + 1 - a), name + 6, len - 6);
}

/* Known names by (4 * first letter + 3 * last letter + 7 * length) % 128 of the lower-cased name:
 * one probe, no two names share a slot (test_tag_ids checks every name). Not the name hash,
 * whose multiply chain would hold the lookup up by a few cycles per letter. */
static const uint8_t by_key[128] = {
    12, 0, 0,  0,  11, 0,  0, 0,  0,  0,  0,  0,  0,  16, 0,  5, 0, 0, 0,  0,  0,  18, 0,  0, 34, 0, 0, 0,  0,  0,  26, 0,
    0,  0, 28, 15, 0,  25, 0, 0,  0,  0,  22, 27, 0,  0,  1,  0, 0, 0, 0,  0,  29, 0,  0,  40, 0,  0, 0, 0,  0,  38, 0,  0,
    0,  0, 21, 2,  0,  32, 0, 31, 30, 19, 0,  0,  20, 0,  0,  0, 0, 0, 24, 4,  0,  0,  0,  0, 0,  0, 0, 23, 0,  0,  0,  0,
    0,  0, 0,  8,  39, 7,  0, 0,  10, 0,  36, 0,  6,  0,  14, 0, 0, 0, 0,  17, 3,  0,  33, 0, 37, 0, 0, 9,  35, 13, 0,  0,
};

static uint8_t
tag_lookup(const char *lname, size_t len)
{
    if (len == 0)
        return GW_HTML_TAG_OTHER;
    unsigned id = by_key[(4u * (unsigned char)lname[0] + 3u * (unsigned char)lname[len - 1] + 7u * (unsigned)len) & 127];
    if (id == 0 || tag_name_len[id] != len)
        return GW_HTML_TAG_OTHER;
    for (size_t k = 0; k != len; ++k) /* at most 9 bytes */
        if (tag_names[id][k] != lname[k])
            return GW_HTML_TAG_OTHER;
    return (uint8_t)id;
}

static int
raw_kind(unsigned id)
{
    switch (id) {
    case GW_HTML_TAG_SCRIPT:
        return RAW_SCRIPT;
    case GW_HTML_TAG_STYLE:
    case GW_HTML_TAG_IFRAME:
    case GW_HTML_TAG_XMP:
    case GW_HTML_TAG_NOEMBED:
    case GW_HTML_TAG_NOFRAMES:
    case GW_HTML_TAG_NOSCRIPT: /* as browsers that run scripts read it: raw text up to </noscript> */
    case GW_HTML_TAG_TEXTAREA:
    case GW_HTML_TAG_TITLE:
        return RAW_TEXT;
    case GW_HTML_TAG_PLAINTEXT:
        return RAW_PLAIN;
    default:
        return RAW_NONE;
    }
}

static inline int
is_void(unsigned id)
{
    switch (id) {
    case GW_HTML_TAG_AREA:
    case GW_HTML_TAG_BASE:
    case GW_HTML_TAG_BR:
    case GW_HTML_TAG_COL:
    case GW_HTML_TAG_EMBED:
    case GW_HTML_TAG_FRAME:
    case GW_HTML_TAG_HR:
    case GW_HTML_TAG_IMG:
    case GW_HTML_TAG_INPUT:
    case GW_HTML_TAG_LINK:
    case GW_HTML_TAG_META:
    case GW_HTML_TAG_PARAM:
    case GW_HTML_TAG_SOURCE:
    case GW_HTML_TAG_TRACK:
    case GW_HTML_TAG_WBR:
        return 1;
    default:
        return 0;
    }
}

/* the current start tag opens an element with content: not a void one (in HTML content <image> is read as <img>), not
 * one self-closed in foreign content (<image …/> in svg) */
static int
has_content(const gw_html_t *h)
{
    if (h->xml)
        return !h->tag_selfclose;
    if (h->tag_foreign)
        return !h->tag_selfclose && !is_void(h->id);
    return !is_void(h->id) && h->id != GW_HTML_TAG_IMAGE;
}

/* ---- output ------------------------------------------------------------------------------ */

static void
flush_pass(gw_html_t *h)
{
    if (h->pass_from != NULL) {
        if (h->mark > h->pass_from)
            h->cb.emit(h->ctx, h->pass_from, h->mark - h->pass_from);
        h->pass_from = NULL;
    }
}

static inline void
pass(gw_html_t *h, const char *upto)
{
    if (h->pass_from == NULL)
        h->pass_from = h->mark;
    h->mark = upto;
}

static inline void
drop(gw_html_t *h, const char *upto)
{
    flush_pass(h);
    h->mark = upto;
}

static inline void
dispose(gw_html_t *h, const char *upto)
{
    if (h->skip_depth != 0)
        drop(h, upto);
    else
        pass(h, upto);
}

static void
emit(gw_html_t *h, const char *p, size_t n)
{
    flush_pass(h);
    if (n != 0)
        h->cb.emit(h->ctx, p, n);
}

/* the bytes of a tag the rewriter wrote */
static void
emit_tag(gw_html_t *h, const char *p, size_t n)
{
    (h->cb.emit_tag != NULL ? h->cb.emit_tag : h->cb.emit)(h->ctx, p, n);
}

static void
out_flush(gw_html_t *h)
{
    if (h->out_len != 0)
        emit_tag(h, h->out, h->out_len);
    h->out_len = 0;
}

static void
out(gw_html_t *h, const char *p, size_t n)
{
    if (n > OUT_SIZE - h->out_len) {
        out_flush(h);
        if (n >= OUT_SIZE) {
            emit_tag(h, p, n);
            return;
        }
    }
    memcpy(h->out + h->out_len, p, n);
    h->out_len += n;
}

/* Moves [mark, upto) to the end of tb (the caller checked the room). */
static void
capture(gw_html_t *h, const char *upto)
{
    flush_pass(h);
    memcpy(h->tb + h->tlen, h->mark, upto - h->mark);
    h->tlen += upto - h->mark;
    h->mark = upto;
}

/* ---- attributes of a complete tag --------------------------------------------------------- */

typedef struct st_span_t {
    size_t sep, name, name_end, value, value_end, end;
    int has_value;
} span_t;

/* Reads the attribute at or after *pos in raw[0..len), raw[len - 1] being the tag's '>', with
 * the rules of the tag states (§13.2.5.32-40). Returns 1 and advances *pos past it, or 0 when
 * only the tail (blanks, '/', '>') is left; *pos is then where the tail starts. */
static int
attr_scan(const char *raw, size_t len, size_t *pos, span_t *a)
{
    size_t i = *pos, last = len - 1;
    a->sep = i;
    while (i < last && (cls[(unsigned char)raw[i]] & (CL_WS | CL_SLASH)))
        ++i;
    if (i >= last)
        return 0;
    a->name = i++; /* the first character belongs to the name, even '=' */
    while (i < last && !(cls[(unsigned char)raw[i]] & (CL_WS | CL_SLASH | CL_EQ)))
        ++i;
    a->name_end = a->end = i;
    a->has_value = 0;
    a->value = a->value_end = i;
    size_t j = i;
    while (j < last && is_ws(raw[j]))
        ++j;
    if (j < last && raw[j] == '=') {
        ++j;
        while (j < last && is_ws(raw[j]))
            ++j;
        a->has_value = 1;
        if (j < last && (raw[j] == '"' || raw[j] == '\'')) {
            const char *q = find_byte(raw + j + 1, raw + last, raw[j]);
            a->value = j + 1;
            a->value_end = q != NULL ? (size_t)(q - raw) : last;
            a->end = q != NULL ? a->value_end + 1 : last;
        } else {
            a->value = j;
            while (j < last && !is_ws(raw[j]))
                ++j;
            a->value_end = a->end = j;
        }
    }
    *pos = a->end;
    return 1;
}

static size_t
raw_name_len(const char *raw, size_t len, size_t from)
{
    size_t i = from;
    while (i < len && !is_ws(raw[i]) && raw[i] != '/' && raw[i] != '>')
        ++i;
    return i - from;
}

static void
tag_init(gw_html_tag_t *tag, gw_html_t *h, unsigned id, const char *raw, size_t len, uint64_t offset)
{
    tag->id = (gw_html_tag_id_t)id;
    tag->raw = raw;
    tag->raw_len = len;
    tag->name = raw + 1;
    tag->name_len = raw_name_len(raw, len, 1);
    tag->offset = offset;
    tag->_h = h;
    tag->_num_edits = tag->_edits_refused = 0;
    tag->_num_attrs = UINT16_MAX;
}

/* Fills the tag's attribute cache (gw_html_attr_find, for tags of at most GW_HTML_MAX_BIG_TAG bytes: offsets fit 16 bits). */
static void
attrs_scan(gw_html_tag_t *tag)
{
    span_t a;
    size_t pos = 1 + tag->name_len;
    unsigned n = 0;
    const unsigned cap = sizeof(tag->_attrs) / sizeof(tag->_attrs[0]);
    tag->_attrs_more = 0;
    while (attr_scan(tag->raw, tag->raw_len, &pos, &a)) {
        if (n == cap) {
            tag->_attrs_more = 1;
            break;
        }
        tag->_attrs[n].name = (uint16_t)a.name;
        tag->_attrs[n].name_len = (uint16_t)(a.name_end - a.name);
        tag->_attrs[n].value = a.has_value ? (uint16_t)a.value : 0;
        tag->_attrs[n].value_len = (uint16_t)(a.value_end - a.value);
        tag->_attrs_end = (uint32_t)pos;
        ++n;
    }
    tag->_num_attrs = (uint16_t)n;
}

int
gw_html_attr_next(const gw_html_tag_t *tag, size_t *iter, gw_html_attr_t *out_attr)
{
    span_t a;
    size_t pos = *iter != 0 ? *iter : 1 + tag->name_len;
    if (tag->raw == NULL || !attr_scan(tag->raw, tag->raw_len, &pos, &a))
        return 0;
    *iter = pos;
    out_attr->name = tag->raw + a.name;
    out_attr->name_len = a.name_end - a.name;
    out_attr->value = a.has_value ? tag->raw + a.value : NULL;
    out_attr->value_len = a.value_end - a.value;
    return 1;
}

int
gw_html_attr_find(const gw_html_tag_t *_tag, const char *name, size_t len, gw_html_attr_t *out_attr)
{
    gw_html_tag_t *tag = (gw_html_tag_t *)_tag; /* the cache is not part of what the caller sees */
    gw_html_attr_t a;
    size_t it = 0;
    if (tag->raw == NULL)
        return 0;
    if (tag->raw_len <= GW_HTML_MAX_BIG_TAG) {
        if (tag->_num_attrs == UINT16_MAX)
            attrs_scan(tag);
        for (unsigned i = 0; i != tag->_num_attrs; ++i) {
            if (attr_name_eq(tag->_h, tag->raw + tag->_attrs[i].name, tag->_attrs[i].name_len, name, len)) {
                if (out_attr != NULL) {
                    out_attr->name = tag->raw + tag->_attrs[i].name;
                    out_attr->name_len = tag->_attrs[i].name_len;
                    out_attr->value = tag->_attrs[i].value != 0 ? tag->raw + tag->_attrs[i].value : NULL;
                    out_attr->value_len = tag->_attrs[i].value_len;
                }
                return 1;
            }
        }
        if (!tag->_attrs_more)
            return 0;
        it = tag->_attrs_end;
    }
    while (gw_html_attr_next(tag, &it, &a)) {
        if (attr_name_eq(tag->_h, a.name, a.name_len, name, len)) {
            if (out_attr != NULL)
                *out_attr = a;
            return 1;
        }
    }
    return 0;
}

/* One edit per name, except that a rename and a set of one name coexist: the rename moves
 * the existing attributes away, the set then adds a new one. */
static int
edit_add(gw_html_tag_t *tag, unsigned max, int op, const char *name, size_t nlen, const char *arg, size_t alen)
{
    unsigned i;
    for (i = 0; i != tag->_num_edits; ++i)
        if (name_eq(tag->_edits[i].name, tag->_edits[i].name_len, name, nlen) &&
            !((op == E_SET && tag->_edits[i].op == E_RENAME) || (op == E_RENAME && tag->_edits[i].op == E_SET)))
            break;
    if (i == tag->_num_edits) {
        if (i >= max) {
            tag->_edits_refused = 1;
            return -1;
        }
        ++tag->_num_edits;
    }
    tag->_edits[i].op = (uint8_t)op;
    tag->_edits[i].name = name;
    tag->_edits[i].name_len = nlen;
    tag->_edits[i].arg = arg;
    tag->_edits[i].arg_len = alen;
    return 0;
}

int
gw_html_tag_edits_refused(const gw_html_tag_t *tag)
{
    return tag->_edits_refused != 0;
}

int
gw_html_held_markup(const gw_html_tag_t *tag)
{
    return tag->_h != NULL && tag->_h->held_markup;
}

int
gw_html_attr_set(gw_html_tag_t *tag, const char *name, size_t name_len, const char *value, size_t value_len)
{
    return edit_add(tag, GW_HTML_MAX_EDITS, E_SET, name, name_len, value, value == NULL ? 0 : value_len);
}

int
gw_html_attr_remove(gw_html_tag_t *tag, const char *name, size_t name_len)
{
    return edit_add(tag, GW_HTML_MAX_EDITS, E_REMOVE, name, name_len, NULL, 0);
}

int
gw_html_attr_rename(gw_html_tag_t *tag, const char *name, size_t name_len, const char *new_name, size_t new_len)
{
    return edit_add(tag, GW_HTML_MAX_EDITS, E_RENAME, name, name_len, new_name, new_len);
}

void
gw_html_tag_insert(gw_html_tag_t *tag, const char *p, size_t n)
{
    emit(tag->_h, p, n);
}

void
gw_html_tag_inject(gw_html_tag_t *tag)
{
    gw_html_t *h = tag->_h;
    if (!h->injected && h->inject_len != 0) {
        h->injected = 1;
        emit(h, h->inject, h->inject_len);
    }
}

/* ` name="value"` with '&' and '"' escaped. */
static void
out_set(gw_html_t *h, const char *name, size_t nlen, const char *v, size_t vlen)
{
    out(h, " ", 1);
    out(h, name, nlen);
    if (v == NULL)
        return;
    out(h, "=\"", 2);
    size_t run = 0;
    for (size_t i = 0; i != vlen; ++i) {
        if (v[i] == '&' || v[i] == '"') {
            out(h, v + run, i - run);
            out(h, v[i] == '&' ? "&amp;" : "&quot;", v[i] == '&' ? 5 : 6);
            run = i + 1;
        }
    }
    out(h, v + run, vlen - run);
    out(h, "\"", 1);
}

/* raw[from, to) of attribute a; while the preload scanner reads raw text (pre_raw), a '<' in its quoted value as "&lt;"
 * (the same value), so that a "</style" in it does not end the scanner's raw text (see pre_begin) */
static void
out_attr_pre(gw_html_t *h, const char *raw, size_t from, size_t to, const span_t *a)
{
    if (a->has_value && a->value != 0 && (raw[a->value - 1] == '"' || raw[a->value - 1] == '\'')) {
        for (size_t i = a->value; i != a->value_end; ++i) {
            if (raw[i] == '<') {
                out(h, raw + from, i - from);
                out(h, "&lt;", 4);
                from = i + 1;
            }
        }
    }
    out(h, raw + from, to - from);
}

static inline void
out_attr(gw_html_t *h, const char *raw, size_t from, size_t to, const span_t *a)
{
    if (__builtin_expect(h->pre_raw, 0))
        out_attr_pre(h, raw, from, to, a);
    else
        out(h, raw + from, to - from);
}

/* Whether the tag raw[0..len) is written with out_attr's '<' (pre_raw, not removed, a '<' in it): see pre_begin */
static int
pre_tag(const gw_html_t *h, const char *raw, size_t len)
{
    return __builtin_expect(h->pre_raw, 0) && h->skip_depth == 0 && len > 1 && memchr(raw + 1, '<', len - 1) != NULL;
}

/* Writes the tag with its edits applied. */
static void
serialize(gw_html_t *h, gw_html_tag_t *tag)
{
    const char *raw = tag->raw;
    size_t len = tag->raw_len, pos = 1 + tag->name_len;
    unsigned applied = 0, pi_end = 0;
    int unquoted = 0; /* what went out last is an unquoted value: a '/' after it would be read as more of it */
    span_t a;

    flush_pass(h);
    out(h, raw, pos);
    while (attr_scan(raw, len, &pos, &a)) {
        const char *an = raw + a.name;
        size_t alen = a.name_end - a.name;
        unsigned i, e = NONE, set = NONE, target = 0;
        if (tag->name[0] == '?' && alen == 1 && an[0] == '?' && !a.has_value) {
            size_t next = pos;
            span_t b;
            if (!attr_scan(raw, len, &next, &b)) {
                pi_end = 1; /* a processing instruction's "?" before '>': it stays last, after the attributes set */
                continue;
            }
            /* (a "?" with more after it is an attribute like any: "<?t ? x>" reads so again) */
        }
        for (i = 0; i != tag->_num_edits; ++i) {
            if (attr_name_eq(h, an, alen, tag->_edits[i].name, tag->_edits[i].name_len)) {
                if (tag->_edits[i].op == E_SET)
                    set = i;
                else
                    e = i;
            } else if (tag->_edits[i].op == E_RENAME && name_eq(tag->_edits[i].arg, tag->_edits[i].arg_len, an, alen)) {
                target = 1;
            }
        }
        if (e != NONE && tag->_edits[e].op == E_RENAME) {
            out(h, " ", 1);
            out(h, tag->_edits[e].arg, tag->_edits[e].arg_len);
            out_attr(h, raw, a.name_end, a.end, &a);
            if (a.has_value && a.end == a.value) /* "x=" before '>': what follows must not become its value */
                out(h, "\"\"", 2);
            unquoted = a.has_value && a.end == a.value_end && a.end != a.value;
        } else if (e != NONE) { /* E_REMOVE */
        } else if (set != NONE) {
            if (!(applied & (1u << set))) { /* (a later duplicate is dropped) */
                out_set(h, tag->_edits[set].name, tag->_edits[set].name_len, tag->_edits[set].arg, tag->_edits[set].arg_len);
                unquoted = 0;
            }
            applied |= 1u << set;
        } else if (!target) {
            /* "a"b: keep a blank, the attribute before may be gone; and one before a '/' that followed an attribute
             * gone after an unquoted value: `src=https: nonce//evil.example/x.js` with the second nonce dropped would
             * be src=https://evil.example/x.js to a browser, a URL the callbacks never saw */
            if (a.sep == a.name || (unquoted && raw[a.sep] == '/'))
                out(h, " ", 1);
            out_attr(h, raw, a.sep, a.end, &a);
            if (a.has_value && a.end == a.value)
                out(h, "\"\"", 2);
            unquoted = a.has_value && a.end == a.value_end && a.end != a.value;
        }
    }
    for (unsigned i = 0; i != tag->_num_edits; ++i)
        if (tag->_edits[i].op == E_SET && !(applied & (1u << i))) {
            out_set(h, tag->_edits[i].name, tag->_edits[i].name_len, tag->_edits[i].arg, tag->_edits[i].arg_len);
            unquoted = 0;
        }
    if (unquoted && (pi_end != 0 || raw[pos] == '/')) /* (the tail: blanks, '/', '>') */
        out(h, " ", 1);
    if (pi_end != 0)
        out(h, "?", 1);
    out(h, raw + pos, len - pos);
    out_flush(h);
}

/* Whether the tag's nonce is the one the origin's own policy lets it in by (gw_html_keep_nonces) */
static int
has_kept_nonce(const gw_html_tag_t *tag, const gw_html_t *h)
{
    int k = tag->id == GW_HTML_TAG_STYLE;
    gw_html_attr_t a;
    return h->kept_nonce_len[k] != 0 && gw_html_attr_find(tag, "nonce", 5, &a) && a.value != NULL &&
           a.value_len == h->kept_nonce_len[k] && memcmp(a.value, h->kept_nonce[k], a.value_len) == 0;
}

/* Emits a kept start tag: rewritten when it has edits or takes the nonce, else as it is. */
static void
emit_start_tag(gw_html_t *h, gw_html_tag_t *tag, int in_tbuf, const char *cur)
{
    if (h->nonce_len != 0 && (tag->id == GW_HTML_TAG_SCRIPT || tag->id == GW_HTML_TAG_STYLE) && !has_kept_nonce(tag, h))
        edit_add(tag, GW_HTML_MAX_EDITS + 1, E_SET, "nonce", 5, h->nonce, h->nonce_len);
    if (tag->_num_edits != 0 || pre_tag(h, tag->raw, tag->raw_len)) {
        serialize(h, tag);
        if (!in_tbuf)
            h->mark = cur; /* serialize flushed the pass run */
    } else if (in_tbuf) {
        emit(h, h->tb, h->tlen);
    } else {
        pass(h, cur);
    }
    if (in_tbuf)
        h->tlen = 0;
}

/* The full-name hash of the tag being read (the tokenizer hashes the name as it lower-cases it: outside foreign content every
 * tag but a void element's takes it, for the elements open there). */
static inline uint64_t
name_hash(const gw_html_t *h)
{
    return h->name_hash;
}

/* ---- foreign content ---------------------------------------------------------------------- */

/*
 * Inside <svg> and <math> the tree builder leaves the tokenizer in its data state: a <style> or <script> there is not
 * raw text, and an HTML tag such as <p> inside it ends the foreign content ("breakout"). Reading those as raw text
 * would hide, from the callbacks, tags a browser then builds. So the rewriter keeps the frames that decide it: each
 * svg/math root and each HTML integration point (svg foreignObject, desc, title; MathML mi, mo, mn, ms, mtext, and
 * annotation-xml whose encoding is text/html or application/xhtml+xml, where HTML rules apply again), pushed on their
 * start tags, popped by their end tags (to the nearest of that name, as the foreign end-tag rule does) and by a
 * breakout (the breakout tags, and <font> with color, face or size). Neither reading is the safe one where this model
 * and a browser differ: read as foreign, a "<!--" in what a browser takes for a <style>'s raw text hides the tags after
 * its end tag; read as raw text, the tags a browser builds in a foreign <style> are hidden.
 *
 * At an integration point the frames hold the HTML elements open there too (FR_HTML, see html_start): while one is the
 * current node the tree builder reads an end tag with the "in body" rules, which ignore "</svg>", "</foreignObject>",
 * … (their walk stops at the integration point, a special element), a "<![CDATA[" is a bogus comment, and an <mglyph>
 * in an <mi> is HTML's.
 */
enum {
    FR_SVG = 1,
    FR_MATH,
    FR_MGLYPH, /* mglyph and malignmark: MathML elements even at a text integration point */
    FR_MALIGNMARK,
    FR_FOREIGNOBJECT, /* the integration points, from here on */
    FR_DESC,
    FR_TITLE,
    FR_MI, /* MathML text integration points: mi to mtext */
    FR_MO,
    FR_MN,
    FR_MS,
    FR_MTEXT,
    FR_ANNOTATION_XML
}; /* fstack: name */
#define FR_NS_MATH 0x80 /* the namespace of a root frame's content (a nested svg inside math is MathML's) */
#define FR_NAME(f) ((f)&0x7f)
#define FR_HTML 0x40 /* an HTML element open at an integration point: FR_HTML | HF_*, its name hash in fhash */

/* what an HTML element is to the "in body" rules: HF_* are kept in its frame, HV_* only read from its tag */
enum {
    HF_SPECIAL = 1, /* the "special" category: "any other end tag" stops at it */
    HF_SCOPE = 2,   /* a scope boundary (applet, caption, html, table, td, th, marquee, object, template) */
    HF_FMT = 4,     /* a formatting element (a, b, …): closed by the adoption agency, reopened by reconstruct */
    HF_LIST = 8,    /* ol, ul: a list item scope boundary */
    HF_BUTTON = 16, /* a button scope boundary */
    HF_HEADING = 32,
    OF_TABLE = 64, /* (ostack only) table, template: the table scope's boundaries */
    OF_PIN = 128,  /* (ostack only) a <p> is open at or below this element in button scope (top_start's "close a p element") */
    HV_VOID = 1 << 8,     /* no content: never open */
    HV_IGNORE = 1 << 9,   /* a start tag "in body" ignores (caption, col, frame, head, td, tr, body, html, …) */
    HV_CLOSEP = 1 << 10,  /* its start tag closes a <p> in button scope */
    HV_SCOPED = 1 << 11,  /* its end tag closes the element in scope (else "any other end tag") */
    HV_NORECON = 1 << 12, /* its start tag reopens no formatting element */
    HV_LI = 1 << 13,      /* li, dd, dt: a start tag closes the open one */
    HV_BREAKOUT = 1 << 14, /* its start tag ends foreign content (§13.2.6.5) */
    HV_AGAIN = 1 << 15,    /* a, nobr: a start tag closes the one open (the adoption agency) */
    HV_TPART = 1 << 16     /* a table part "in body" ignores but a table holds (td, tr, tbody, …: see table_part) */
};
#define HV_BLOCK (HF_SPECIAL | HV_CLOSEP | HV_SCOPED | HV_NORECON)

typedef struct {
    const char *name;
    uint8_t len, frame; /* frame: FR_* for the names of the foreign frames */
    uint32_t v;
} html_kind_t;
#define K(n, f, v) {n, sizeof(n) - 1, f, v}

/* sorted by name (bsearch): the names the foreign frames and the "in body" rules know */
static const html_kind_t html_kinds[] = {
    K("a", 0, HF_FMT | HV_AGAIN),
    K("address", 0, HV_BLOCK),
    K("annotation-xml", FR_ANNOTATION_XML, 0),
    K("applet", 0, HF_SPECIAL | HF_SCOPE | HV_SCOPED),
    K("area", 0, HF_SPECIAL | HV_VOID),
    K("article", 0, HV_BLOCK),
    K("aside", 0, HV_BLOCK),
    K("b", 0, HF_FMT | HV_BREAKOUT),
    K("base", 0, HF_SPECIAL | HV_VOID | HV_NORECON),
    K("basefont", 0, HF_SPECIAL | HV_VOID | HV_NORECON),
    K("bgsound", 0, HF_SPECIAL | HV_VOID | HV_NORECON),
    K("big", 0, HF_FMT | HV_BREAKOUT),
    K("blockquote", 0, HV_BLOCK | HV_BREAKOUT),
    K("body", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_BREAKOUT),
    K("br", 0, HF_SPECIAL | HV_VOID | HV_BREAKOUT),
    K("button", 0, HF_SPECIAL | HF_BUTTON | HV_SCOPED),
    K("caption", 0, HF_SPECIAL | HF_SCOPE | HV_IGNORE | HV_NORECON | HV_TPART),
    K("center", 0, HV_BLOCK | HV_BREAKOUT),
    K("code", 0, HF_FMT | HV_BREAKOUT),
    K("col", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON),
    K("colgroup", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_TPART),
    K("dd", 0, HV_BLOCK | HV_LI | HV_BREAKOUT),
    K("desc", FR_DESC, 0),
    K("details", 0, HV_BLOCK),
    K("dialog", 0, HV_CLOSEP | HV_SCOPED | HV_NORECON),
    K("dir", 0, HV_BLOCK),
    K("div", 0, HV_BLOCK | HV_BREAKOUT),
    K("dl", 0, HV_BLOCK | HV_BREAKOUT),
    K("dt", 0, HV_BLOCK | HV_LI | HV_BREAKOUT),
    K("em", 0, HF_FMT | HV_BREAKOUT),
    K("embed", 0, HF_SPECIAL | HV_VOID | HV_BREAKOUT),
    K("fieldset", 0, HV_BLOCK),
    K("figcaption", 0, HV_BLOCK),
    K("figure", 0, HV_BLOCK),
    K("font", 0, HF_FMT),
    K("footer", 0, HV_BLOCK),
    K("foreignobject", FR_FOREIGNOBJECT, 0),
    K("form", 0, HV_BLOCK),
    K("frame", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON),
    K("frameset", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON),
    K("h1", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("h2", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("h3", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("h4", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("h5", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("h6", 0, HV_BLOCK | HF_HEADING | HV_BREAKOUT),
    K("head", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_BREAKOUT),
    K("header", 0, HV_BLOCK),
    K("hgroup", 0, HV_BLOCK),
    K("hr", 0, HV_BLOCK | HV_VOID | HV_BREAKOUT),
    K("html", 0, HF_SPECIAL | HF_SCOPE | HV_IGNORE | HV_NORECON),
    K("i", 0, HF_FMT | HV_BREAKOUT),
    K("iframe", 0, HF_SPECIAL | HV_NORECON),
    K("image", 0, HV_VOID),
    K("img", 0, HF_SPECIAL | HV_VOID | HV_BREAKOUT),
    K("input", 0, HF_SPECIAL | HV_VOID),
    K("keygen", 0, HF_SPECIAL | HV_VOID),
    K("li", 0, HV_BLOCK | HV_LI | HV_BREAKOUT),
    K("link", 0, HF_SPECIAL | HV_VOID | HV_NORECON),
    K("listing", 0, HV_BLOCK | HV_BREAKOUT),
    K("main", 0, HV_BLOCK),
    K("malignmark", FR_MALIGNMARK, 0),
    K("marquee", 0, HF_SPECIAL | HF_SCOPE | HV_SCOPED),
    K("math", FR_MATH, 0),
    K("menu", 0, HV_BLOCK | HV_BREAKOUT),
    K("meta", 0, HF_SPECIAL | HV_VOID | HV_NORECON | HV_BREAKOUT),
    K("mglyph", FR_MGLYPH, 0),
    K("mi", FR_MI, 0),
    K("mn", FR_MN, 0),
    K("mo", FR_MO, 0),
    K("ms", FR_MS, 0),
    K("mtext", FR_MTEXT, 0),
    K("nav", 0, HV_BLOCK),
    K("nobr", 0, HF_FMT | HV_AGAIN | HV_BREAKOUT),
    K("noembed", 0, HF_SPECIAL | HV_NORECON),
    K("noframes", 0, HF_SPECIAL | HV_NORECON),
    K("noscript", 0, HF_SPECIAL | HV_NORECON),
    K("object", 0, HF_SPECIAL | HF_SCOPE | HV_SCOPED),
    K("ol", 0, HV_BLOCK | HF_LIST | HV_BREAKOUT),
    K("p", 0, HV_BLOCK | OF_PIN | HV_BREAKOUT),
    K("param", 0, HF_SPECIAL | HV_VOID),
    K("plaintext", 0, HV_BLOCK),
    K("pre", 0, HV_BLOCK | HV_BREAKOUT),
    K("rb", 0, HV_NORECON),
    K("rp", 0, HV_NORECON),
    K("rt", 0, HV_NORECON),
    K("rtc", 0, HV_NORECON),
    K("ruby", 0, HV_BREAKOUT),
    K("s", 0, HF_FMT | HV_BREAKOUT),
    K("script", 0, HF_SPECIAL | HV_NORECON),
    K("search", 0, HV_BLOCK),
    K("section", 0, HV_BLOCK),
    K("select", 0, HF_SPECIAL),
    K("small", 0, HF_FMT | HV_BREAKOUT),
    K("source", 0, HF_SPECIAL | HV_VOID),
    K("span", 0, HV_BREAKOUT),
    K("strike", 0, HF_FMT | HV_BREAKOUT),
    K("strong", 0, HF_FMT | HV_BREAKOUT),
    K("style", 0, HF_SPECIAL | HV_NORECON),
    K("sub", 0, HV_BREAKOUT),
    K("summary", 0, HV_BLOCK),
    K("sup", 0, HV_BREAKOUT),
    K("svg", FR_SVG, 0),
    K("table", 0, HF_SPECIAL | HF_SCOPE | OF_TABLE | HV_CLOSEP | HV_NORECON | HV_BREAKOUT),
    K("tbody", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_TPART),
    K("td", 0, HF_SPECIAL | HF_SCOPE | HV_IGNORE | HV_NORECON | HV_TPART),
    K("template", 0, HF_SPECIAL | HF_SCOPE | OF_TABLE | HV_NORECON),
    K("textarea", 0, HF_SPECIAL | HV_NORECON),
    K("tfoot", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_TPART),
    K("th", 0, HF_SPECIAL | HF_SCOPE | HV_IGNORE | HV_NORECON | HV_TPART),
    K("thead", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_TPART),
    K("title", FR_TITLE, HF_SPECIAL | HV_NORECON),
    K("tr", 0, HF_SPECIAL | HV_IGNORE | HV_NORECON | HV_TPART),
    K("track", 0, HF_SPECIAL | HV_VOID),
    K("tt", 0, HF_FMT | HV_BREAKOUT),
    K("u", 0, HF_FMT | HV_BREAKOUT),
    K("ul", 0, HV_BLOCK | HF_LIST | HV_BREAKOUT),
    K("var", 0, HV_BREAKOUT),
    K("wbr", 0, HF_SPECIAL | HV_VOID),
    K("xmp", 0, HV_BLOCK),
};
#undef K

#define TNAME_IS(h, lit) ((h)->name_total == sizeof(lit) - 1 && memcmp((h)->tname, lit, sizeof(lit) - 1) == 0)

static int
tname_is(const gw_html_t *h, const char *lit)
{
    size_t n = strlen(lit);
    return h->name_total == n && memcmp(h->tname, lit, n) == 0;
}

/* html_kinds' index + 1 at the low 8 bits of its name's hash (name_hash), or at the next free slot after them, and there the
 * hash's low 32 bits: every start and end tag outside foreign content is looked up (top_start). Printed by
 * tests/compat/foreign/kinds.py. */
static const uint8_t kind_slot[256] = {
    0, 0, 0, 47, 0, 0, 45, 0, 0, 59, 0, 0, 0, 93, 0, 64, 35, 71, 0, 101, 19, 22, 117, 0,
    0, 0, 0, 0, 0, 0, 0, 42, 0, 103, 89, 113, 52, 106, 39, 0, 0, 112, 119, 63, 0, 88, 0, 0,
    51, 0, 0, 0, 0, 11, 0, 0, 66, 0, 0, 0, 0, 0, 13, 104, 118, 0, 0, 68, 0, 0, 0, 75,
    21, 34, 90, 107, 0, 0, 0, 0, 0, 0, 0, 46, 26, 15, 115, 0, 0, 12, 25, 56, 0, 0, 0, 50,
    48, 85, 102, 0, 0, 24, 0, 0, 37, 0, 0, 0, 43, 0, 31, 80, 0, 16, 36, 0, 0, 70, 0, 0,
    9, 111, 0, 0, 0, 0, 40, 0, 23, 53, 62, 0, 55, 0, 58, 0, 27, 0, 0, 0, 1, 94, 74, 0,
    0, 20, 0, 86, 0, 14, 33, 0, 0, 0, 54, 65, 3, 108, 0, 0, 82, 0, 0, 0, 0, 8, 17, 7,
    67, 0, 0, 105, 0, 28, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 95, 44, 0, 109, 114, 0, 0, 0,
    0, 0, 69, 0, 5, 18, 83, 0, 61, 76, 0, 0, 0, 0, 0, 0, 87, 77, 41, 81, 0, 0, 57, 79,
    0, 0, 98, 0, 0, 32, 0, 72, 0, 96, 0, 0, 0, 10, 29, 38, 0, 91, 120, 0, 92, 0, 0, 97,
    116, 4, 73, 110, 0, 84, 99, 30, 100, 6, 78, 0, 0, 0, 49, 60,
};
static const uint32_t kind_hash[256] = {
    0x00000000, 0x00000000, 0x00000000, 0x5f9a0c03, 0x00000000, 0x00000000, 0xb55f0106, 0x00000000,
    0x00000000, 0x694f4809, 0x00000000, 0x00000000, 0x00000000, 0xd58c9c0d, 0x00000000, 0xce8fb60f,
    0x0c22b410, 0xb5503211, 0x00000000, 0xcd780513, 0x194b4414, 0xb53bac15, 0xb5670914, 0x00000000,
    0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0xb55f061f,
    0x00000000, 0x5d078121, 0x86020b22, 0xb56ac923, 0x8601fa24, 0xb56ab825, 0x28b35226, 0x00000000,
    0x00000000, 0x0c1b6029, 0x48747a2a, 0xd84cc22b, 0x00000000, 0x6f354d2d, 0x00000000, 0x00000000,
    0x15ef7930, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x66d7e235, 0x00000000, 0x00000000,
    0xe32eac38, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x0c9d4f3e, 0xb376a83f,
    0x4ed15d3e, 0x00000000, 0x00000000, 0xb5503c43, 0x00000000, 0x00000000, 0x00000000, 0xfdc21d47,
    0x88649748, 0xdfa85d49, 0x3c04634a, 0x9eb92f4b, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0x00000000, 0xb55eff53, 0xf46e5f54, 0xb54df055, 0xb56ad355, 0x00000000,
    0x00000000, 0x134fd259, 0x1ef6ed59, 0x5810b65b, 0x00000000, 0x00000000, 0x00000000, 0xb55e995f,
    0x01761960, 0xb57b7c5f, 0x5d0fa45f, 0x00000000, 0x00000000, 0xb1f5fc65, 0x00000000, 0x00000000,
    0xa4f95b68, 0x00000000, 0x00000000, 0x00000000, 0xb55f046c, 0x00000000, 0x160dca6e, 0x8602096f,
    0x00000000, 0x0f9ef371, 0x9fad3a72, 0x00000000, 0x00000000, 0xb5504675, 0x00000000, 0x00000000,
    0xaa54c278, 0x5ddd9b79, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0xb906f07e, 0x00000000,
    0x427ca780, 0x396f4881, 0xf9716c80, 0x00000000, 0x2bd27584, 0x00000000, 0xb553f586, 0x00000000,
    0xf46e5888, 0x00000000, 0x00000000, 0x00000000, 0x8601ec8c, 0xe098998c, 0xd175728e, 0x00000000,
    0x00000000, 0x0d016791, 0x00000000, 0xb57b7593, 0x00000000, 0xc6c93295, 0x56b0f895, 0x00000000,
    0x00000000, 0x00000000, 0x8528489a, 0xe311ee9a, 0x7f969d9c, 0xbd37d89b, 0x00000000, 0x00000000,
    0x2a9ba0a0, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x8601f1a5, 0x864c02a5, 0x431661a7,
    0xf4d9cea6, 0x00000000, 0x00000000, 0x1f501fab, 0x00000000, 0xb53bb9ad, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0x00000000, 0x334c12b3, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x8f782db8, 0xb55f02b9, 0x00000000, 0x747391bb, 0xc4eb90bc, 0x00000000, 0x00000000, 0x00000000,
    0x00000000, 0x00000000, 0xb55044c2, 0x00000000, 0x3ec2b8c4, 0xdcaa8ac4, 0x56a1edc6, 0x00000000,
    0xce9803c8, 0x199d27c8, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
    0x60c966d0, 0x12d6d3d1, 0xb55f07d2, 0xa1c363d2, 0x00000000, 0x00000000, 0xc3102ad6, 0xb55666d6,
    0x00000000, 0x00000000, 0x1985a3da, 0x00000000, 0x00000000, 0x53080bdd, 0x00000000, 0xcb1105df,
    0x00000000, 0x093cd0e1, 0x00000000, 0x00000000, 0x00000000, 0x0d71c2e5, 0xb53b90e5, 0x0c2f1be7,
    0x00000000, 0x7242e1e9, 0x7fed45ea, 0x00000000, 0x563fe6ec, 0x00000000, 0x00000000, 0xfaa1a0ef,
    0x860200f0, 0xcc893ff1, 0x25670ff2, 0xb56abef1, 0x00000000, 0xb57b9af5, 0xbc7013f6, 0xb53944f7,
    0x5d0fc2f5, 0xdeb07af9, 0x50df0ffa, 0x00000000, 0x00000000, 0x00000000, 0xc25a05fe, 0x32f461ff,
};
_Static_assert(sizeof(html_kinds) / sizeof(html_kinds[0]) == 120, "kind_slot indexes html_kinds: print it again");

/* lit_hash of the names the "in body" rules look for among the open elements */
#define H_P 0x8602096fu
#define H_LI 0xb553f586u
#define H_DD 0xb53bac15u
#define H_DT 0xb53b90e5u
#define H_ADDRESS 0x334c12b3u
#define H_DIV 0xf46e5888u
#define H_TD 0xb56ab825u
#define H_TH 0xb56abef1u
#define H_TBODY 0x1f501fabu
#define H_THEAD 0x5ddd9b79u
#define H_TFOOT 0x747391bbu
#define H_TABLE 0xb376a83fu
#define H_TR 0xb56ac923u
#define H_CAPTION 0x864c02a5u
#define H_COLGROUP 0x88649748u

/* the current tag's html_kinds entry, NULL for a name none of the rules names (<span> is one, <g> not) */
static inline const html_kind_t *
kind_of(const gw_html_t *h)
{
    uint32_t hash = (uint32_t)name_hash(h);
    for (unsigned i = hash & 255, k; (k = kind_slot[i]) != 0; i = (i + 1) & 255)
        if (kind_hash[i] == hash && html_kinds[k - 1].len == h->name_total)
            return &html_kinds[k - 1];
    return NULL;
}

/* what the "in body" rules do with the current tag (0: an element none of them names, such as <mglyph>) */
static inline unsigned
html_kind(const gw_html_t *h)
{
    const html_kind_t *k = kind_of(h);
    return k != NULL ? k->v : 0;
}

/* an HTML frame's name: name_hash of the lower-cased name s, its low 32 bits */
static uint32_t
lit_hash(const char *s)
{
    uint64_t hash = FNV_OFFSET;
    while (*s != '\0')
        hash = (hash ^ (unsigned char)*s++) * FNV_PRIME;
    return (uint32_t)hash;
}

static unsigned
frame_name(const gw_html_t *h)
{
    const html_kind_t *k = kind_of(h);
    return k != NULL ? k->frame : 0;
}

static int
is_integration(unsigned name)
{
    return name >= FR_FOREIGNOBJECT && name <= FR_ANNOTATION_XML;
}

static int
is_html_frame(uint8_t f)
{
    return (f & 0xc0) == FR_HTML;
}

/* in foreign content (not at an integration point, nor in an HTML element open at one) */
static int
in_foreign(const gw_html_t *h)
{
    uint8_t top;
    if (h->fover != 0)
        return 1;
    if (h->fdepth == 0)
        return 0;
    top = h->fstack[h->fdepth - 1];
    return !is_integration(FR_NAME(top)) && !is_html_frame(top);
}

static void
fpush(gw_html_t *h, uint8_t frame)
{
    if (h->fover != 0 || h->fdepth == sizeof(h->fstack))
        ++h->fover;
    else {
        h->fhash[h->fdepth] = 0;
        h->fstack[h->fdepth++] = frame;
    }
}

/* pops the frames from depth up; with none left, the formatting elements to reopen are the tree builder's business */
static void
fpop_to(gw_html_t *h, size_t depth)
{
    h->fdepth = (uint8_t)depth;
    if (depth == 0) {
        h->fpend_n = 0;
        h->fnames = 0;
    }
}

/* A breakout: the foreign elements up to the nearest integration point or HTML element (or all) are closed. */
static void
breakout(gw_html_t *h)
{
    size_t d = h->fdepth;
    h->fover = 0;
    while (d != 0 && !is_integration(FR_NAME(h->fstack[d - 1])) && !is_html_frame(h->fstack[d - 1]))
        --d;
    fpop_to(h, d);
}

/*
 * HTML elements at an integration point. The "in body" rules, as far as they decide whether an HTML element is open at an integration point (and which): the
 * elements a start tag opens and closes (a <p> closed by a block, an <li> by the next, a heading by a heading, void
 * elements and the tags "in body" ignores open none), those an end tag closes (its element in scope, or for "any other
 * end tag" the nearest of its name with no special element above it; a formatting element's by the adoption agency,
 * which keeps the special elements above it open), and the formatting elements such an end tag closed with the others,
 * which the next start tag or text reopens ("reconstruct the active formatting elements"). Not modelled: the table
 * insertion modes (what a <table> holds counts as the table), <select>'s, the list's markers but for scope elements,
 * the Noah's Ark clause and the adoption agency's inner limits. fstack holds them with the foreign frames. Past it
 * (hover), the elements are counted, not named: start tags are read as "in body" reads them (an HTML element is the
 * current node: a <script> is raw text, held and read), an <svg> or <math> is foreign content past fstack (fover, as
 * for foreign frames: read as foreign while one is open, but only </svg> and </math> close one), and outside one each
 * end tag but
 * </br> and </p> closes one, whatever its name, back to the frames, which go on by name. Where an end tag past the bound
 * closes none (one of a name not open) or several, the count differs from the browser's until the frames are reached
 * again.
 */

/* reopens the formatting elements an end tag closed with others */
static void
reconstruct(gw_html_t *h)
{
    for (size_t i = 0; i != h->fpend_n; ++i) {
        if (h->hover != 0 || h->fdepth == sizeof(h->fstack)) {
            ++h->hover;
        } else {
            h->fhash[h->fdepth] = h->fpend[i];
            h->fstack[h->fdepth++] = FR_HTML | HF_FMT;
        }
    }
    h->fpend_n = 0;
}

/* pops the HTML frames from depth up; the formatting elements among those from from up (up to a scope element, whose
 * end clears them) are reopened by the next start tag or text */
static void
html_pop(gw_html_t *h, size_t from, size_t depth)
{
    for (size_t i = from; i < h->fdepth; ++i) {
        uint8_t f = h->fstack[i];
        if (is_html_frame(f) && (f & HF_SCOPE))
            break;
        if (is_html_frame(f) && (f & HF_FMT) && h->fpend_n != sizeof(h->fpend) / sizeof(h->fpend[0])) {
            h->fpend[h->fpend_n++] = h->fhash[i];
            h->text_watch = 1;
        }
    }
    fpop_to(h, depth);
}

/* pops the element at depth and those above it (its end tag closed them) */
static void
html_pop_to(gw_html_t *h, size_t depth)
{
    if (h->fstack[depth] & HF_SCOPE)
        h->fpend_n = 0; /* (its end clears the formatting elements opened in it) */
    html_pop(h, depth + 1, depth);
}

/* The depth of the nearest HTML element named hash (any heading for HF_HEADING) at the integration point, searched from
 * depth down past elements that are not stop (HF_* flags; 0 for a plain "in scope"); 0 for none. */
static size_t
html_find(const gw_html_t *h, size_t depth, uint32_t hash, unsigned heading, unsigned stop)
{
    for (size_t i = depth; i != 0; --i) {
        uint8_t f = h->fstack[i - 1];
        if (!is_html_frame(f)) {
            if (is_integration(FR_NAME(f)))
                return 0; /* special, and a scope boundary */
            continue;     /* an svg or math root inside: neither */
        }
        if (heading ? (f & HF_HEADING) != 0 : h->fhash[i - 1] == hash)
            return i;
        if (f & stop)
            return 0;
    }
    return 0;
}

/* "close a p element" if one is in button scope */
static void
html_close_p(gw_html_t *h)
{
    size_t d = html_find(h, h->fdepth, lit_hash("p"), 0, HF_SCOPE | HF_BUTTON);
    if (d != 0)
        html_pop_to(h, d - 1);
}

/* the adoption agency (§13.2.6.4.7) for an end tag of formatting element hash, from depth down */
static void
html_adopt(gw_html_t *h, size_t depth, uint32_t hash)
{
    size_t d = html_find(h, depth, hash, 0, HF_SCOPE), last = 0, n;
    if (d == 0) {
        /* not open (or not in scope): if it was closed with others, it is not reopened */
        for (size_t i = 0; i != h->fpend_n; ++i) {
            if (h->fpend[i] == hash) {
                memmove(h->fpend + i, h->fpend + i + 1, (h->fpend_n - i - 1) * sizeof(h->fpend[0]));
                --h->fpend_n;
                break;
            }
        }
        return;
    }
    for (size_t i = d; i != h->fdepth; ++i)
        if (is_html_frame(h->fstack[i]) && (h->fstack[i] & HF_SPECIAL))
            last = i + 1;
    if (last == 0) {
        html_pop_to(h, d - 1);
        return;
    }
    /* the special elements above it stay open (a copy of it moves into each), with the formatting ones between them;
     * the others between are closed, and so is everything above the last special one */
    n = d - 1;
    for (size_t i = d; i != last; ++i) {
        uint8_t f = h->fstack[i];
        if (is_html_frame(f) && (f & (HF_SPECIAL | HF_FMT))) {
            h->fhash[n] = h->fhash[i];
            h->fstack[n++] = f;
        }
    }
    html_pop(h, last, n);
}

/* An end tag read with the "in body" rules, the current node at depth (an HTML element, or a foreign one inside it). */
static void
html_end(gw_html_t *h, size_t depth)
{
    unsigned v = html_kind(h);
    uint32_t hash = (uint32_t)name_hash(h);
    size_t d;
    if (TNAME_IS(h, "br"))
        return; /* read as <br>: void */
    if (v & HF_FMT) {
        html_adopt(h, depth, hash);
        return;
    }
    if (v & HV_SCOPED)
        d = html_find(h, depth, hash, v & HF_HEADING, HF_SCOPE | (TNAME_IS(h, "p") ? HF_BUTTON : 0) | (TNAME_IS(h, "li") ? HF_LIST : 0));
    else
        d = html_find(h, depth, hash, 0, HF_SPECIAL);
    if (d != 0)
        html_pop_to(h, d - 1);
}

/* A start tag read with the "in body" rules at an integration point: the elements it closes and opens (an <svg> or
 * <math> opens its frame in the caller). */
static void
html_start(gw_html_t *h)
{
    unsigned v = html_kind(h);
    size_t d;
    if (h->hover != 0) {
        if (!(v & (HV_VOID | HV_IGNORE)) && !TNAME_IS(h, "svg") && !TNAME_IS(h, "math"))
            ++h->hover; /* (an <svg> or <math> is counted in fover by the caller) */
        return;
    }
    if (!(v & HV_NORECON))
        reconstruct(h);
    if (v & HV_IGNORE)
        return;
    if (v & HV_LI) {
        /* the nearest li (dd or dt for those), unless a special element other than address, div and p is above it */
        int li = TNAME_IS(h, "li");
        for (d = h->fdepth; d != 0 && is_html_frame(h->fstack[d - 1]); --d) {
            uint32_t fh = h->fhash[d - 1];
            if (li ? fh == lit_hash("li") : fh == lit_hash("dd") || fh == lit_hash("dt")) {
                html_pop_to(h, d - 1);
                break;
            }
            if ((h->fstack[d - 1] & HF_SPECIAL) && fh != lit_hash("address") && fh != lit_hash("div") && fh != lit_hash("p"))
                break;
        }
    }
    if (v & HV_CLOSEP)
        html_close_p(h);
    if ((v & HF_HEADING) && h->fdepth != 0 && is_html_frame(h->fstack[h->fdepth - 1]) &&
        (h->fstack[h->fdepth - 1] & HF_HEADING))
        html_pop_to(h, h->fdepth - 1);
    if (TNAME_IS(h, "option") || TNAME_IS(h, "optgroup")) {
        if (h->fdepth != 0 && is_html_frame(h->fstack[h->fdepth - 1]) && h->fhash[h->fdepth - 1] == lit_hash("option"))
            html_pop_to(h, h->fdepth - 1);
    } else if (TNAME_IS(h, "button") && (d = html_find(h, h->fdepth, lit_hash("button"), 0, HF_SCOPE)) != 0) {
        html_pop_to(h, d - 1);
    } else if ((TNAME_IS(h, "a") || TNAME_IS(h, "nobr")) && html_find(h, h->fdepth, (uint32_t)name_hash(h), 0, HF_SCOPE) != 0) {
        html_adopt(h, h->fdepth, (uint32_t)name_hash(h)); /* a second <a> closes the first */
    }
    if ((v & HV_VOID) || TNAME_IS(h, "svg") || TNAME_IS(h, "math"))
        return;
    if (h->fdepth == sizeof(h->fstack)) {
        ++h->hover;
        return;
    }
    h->fhash[h->fdepth] = (uint32_t)name_hash(h);
    h->fstack[h->fdepth++] = (uint8_t)(FR_HTML | (v & 0x3f));
}

/*
 * The HTML elements open outside foreign content, the elements an <svg> or <math> opened in HTML content is inside. In
 * foreign content an end tag whose name no open foreign element has walks down to them (§13.2.6.5 "any other end tag")
 * and is read with the HTML rules: "<div><svg></div>" closes the div and the svg with it, and what follows is HTML
 * content ("<style>" raw text again). ostack holds them as the "in body" rules open and close them, as html_start does
 * at an integration point, with the table parts a <table> holds (td, tr, …: a cell's end tag closes it in the table
 * scope) but not the other table insertion modes, <select>'s, nor the adoption agency's inner limits. Past its 40
 * entries the elements are counted (oover), each end tag but </br> and </p> closing one: the outer 40 decide.
 */

/* a table part (by name hash) that "in body" ignores but a table holds */
static int
table_part(uint32_t hash)
{
    return hash == H_TD || hash == H_TH || hash == H_TR || hash == H_TBODY || hash == H_THEAD || hash == H_TFOOT ||
           hash == H_CAPTION || hash == H_COLGROUP;
}

/* The depth of the nearest open element named hash above the first of flags stop; 0 for none. */
static size_t
top_find(const gw_html_t *h, uint32_t hash, unsigned stop)
{
    for (size_t i = h->odepth; i != 0; --i) {
        if (h->ohash[i - 1] == hash)
            return i;
        if (h->oflags[i - 1] & stop)
            return 0;
    }
    return 0;
}

/* top_find for any heading ("</h2>" closes an <h3>) */
static size_t
top_find_heading(const gw_html_t *h, unsigned stop)
{
    for (size_t i = h->odepth; i != 0; --i) {
        if (h->oflags[i - 1] & HF_HEADING)
            return i;
        if (h->oflags[i - 1] & stop)
            return 0;
    }
    return 0;
}

/* closes the element at depth d - 1 (from top_find) and those above it */
static void
top_pop(gw_html_t *h, size_t d)
{
    if (d != 0)
        h->odepth = (uint8_t)(d - 1);
}

static void
top_push(gw_html_t *h, uint32_t hash, unsigned flags)
{
    if (h->odepth == sizeof(h->oflags)) {
        ++h->oover;
        return;
    }
    if (h->odepth != 0 && (h->oflags[h->odepth - 1] & OF_PIN) && !(flags & (HF_SCOPE | HF_BUTTON)))
        flags |= OF_PIN; /* (a <p>'s own flags have it) */
    h->ohash[h->odepth] = hash;
    h->oflags[h->odepth++] = (uint8_t)flags;
}

/* The adoption agency (§13.2.6.4.7), as far as the elements it leaves open: of those above a formatting element in
 * scope, the special ones (and the formatting ones below the last special) stay open, all others are closed, everything
 * above the last special one too (its outer loop runs again from the copy it put there). Returns 1 when it ran. */
static int
top_adopt(gw_html_t *h, uint32_t hash)
{
    size_t d = top_find(h, hash, HF_SCOPE), last = 0, n;
    if (d == 0)
        return 0;
    for (size_t i = d; i != h->odepth; ++i)
        if (h->oflags[i] & HF_SPECIAL)
            last = i + 1;
    n = d - 1;
    for (size_t i = d; i < last; ++i) {
        if (h->oflags[i] & (HF_SPECIAL | HF_FMT)) {
            h->ohash[n] = h->ohash[i];
            h->oflags[n++] = h->oflags[i];
        }
    }
    h->odepth = (uint8_t)n;
    return 1;
}

/* top_start's start tag of kind v where the rules may close elements (or past 40 open) */
static void
top_start_rules(gw_html_t *h, unsigned v)
{
    uint32_t hash;
    size_t d;
    if (v & HV_VOID)
        return;
    if (__builtin_expect(h->oover != 0, 0)) {
        h->oover += !(v & HV_IGNORE);
        return;
    }
    hash = (uint32_t)name_hash(h);
    if (__builtin_expect(v & (HV_IGNORE | HV_LI | HF_FMT), 0)) {
        if (v & HV_IGNORE) {
            if (!(v & HV_TPART) || top_find(h, H_TABLE, 0) == 0)
                return;
            /* a cell closes the open cell, a row the open row (and its cell), a section the open section */
            if (hash == H_TD || hash == H_TH) {
                top_pop(h, top_find(h, H_TD, OF_TABLE | HF_SCOPE));
                top_pop(h, top_find(h, H_TH, OF_TABLE | HF_SCOPE));
            } else if (hash == H_TR) {
                top_pop(h, top_find(h, hash, OF_TABLE));
            } else if ((d = top_find(h, H_TBODY, OF_TABLE)) != 0 || (d = top_find(h, H_THEAD, OF_TABLE)) != 0 ||
                       (d = top_find(h, H_TFOOT, OF_TABLE)) != 0) {
                top_pop(h, d);
            }
            v &= HF_SPECIAL | HF_SCOPE; /* (td, th, caption: scope boundaries) */
        } else if (v & HV_LI) {
            /* the nearest li (dd or dt for those), unless a special element other than address, div and p is above it */
            for (d = h->odepth; d != 0; --d) {
                uint32_t fh = h->ohash[d - 1];
                if (hash == H_LI ? fh == H_LI : fh == H_DD || fh == H_DT) {
                    top_pop(h, d);
                    break;
                }
                if ((h->oflags[d - 1] & HF_SPECIAL) && fh != H_ADDRESS && fh != H_DIV && fh != H_P)
                    break;
            }
        } else if ((TNAME_IS(h, "a") || TNAME_IS(h, "nobr")) && top_find(h, hash, HF_SCOPE) != 0) {
            top_adopt(h, hash); /* a second <a> closes the first */
        }
    }
    if ((v & HV_CLOSEP) && h->odepth != 0 && (h->oflags[h->odepth - 1] & OF_PIN))
        top_pop(h, top_find(h, H_P, 0));
    if ((v & HF_HEADING) && h->odepth != 0 && (h->oflags[h->odepth - 1] & HF_HEADING))
        top_pop(h, h->odepth);
    top_push(h, hash, v & 0xff); /* (HF_*, and OF_TABLE, OF_PIN for a table, template, p) */
}

/* A start tag in HTML content outside foreign content (not <svg> or <math>, which open frames). */
static inline void
top_start(gw_html_t *h)
{
    unsigned v, top;
    if (is_void(h->id))
        return; /* (the common void elements have an id: no lookup) */
    v = html_kind(h);
    top = h->odepth != 0 ? h->oflags[h->odepth - 1] : 0;
    /* the common case: none of the rules closes an element (not an li, a table part, an <a> or <nobr>, nor a <p> or
     * heading at the top that this tag closes), and it is not past the 40th (so none are counted in oover): pushed */
    if (__builtin_expect((v & (HV_VOID | HV_IGNORE | HV_LI | HV_AGAIN)) || h->odepth == sizeof(h->oflags) ||
                             ((v & HV_CLOSEP) && (top & OF_PIN)) || (v & top & HF_HEADING),
                         0)) {
        top_start_rules(h, v);
        return;
    }
    if ((top & OF_PIN) && !(v & (HF_SCOPE | HF_BUTTON)))
        v |= OF_PIN;
    h->ohash[h->odepth] = (uint32_t)name_hash(h);
    h->oflags[h->odepth++] = (uint8_t)v;
}

/* top_end's end tag, not the current element's (or past 40 open) */
static int
top_end_rules(gw_html_t *h)
{
    uint32_t hash = (uint32_t)name_hash(h);
    unsigned v;
    size_t d;
    if (__builtin_expect(h->oover != 0, 0)) {
        h->oover -= !TNAME_IS(h, "p") && !TNAME_IS(h, "br");
        return 0;
    }
    v = html_kind(h);
    if (v & HF_FMT)
        return top_adopt(h, hash);
    if (v & HV_IGNORE ? (v & HV_TPART) != 0 : hash == H_TABLE)
        d = top_find(h, hash, OF_TABLE); /* (in the table scope) */
    else if (v & HV_SCOPED) {
        unsigned stop = HF_SCOPE | (hash == H_P ? HF_BUTTON : 0) | (hash == H_LI ? HF_LIST : 0);
        d = v & HF_HEADING ? top_find_heading(h, stop) : top_find(h, hash, stop);
    } else
        d = top_find(h, hash, HF_SPECIAL);
    top_pop(h, d);
    return d != 0;
}

/* An end tag read with the HTML rules, in HTML content or walked down to from foreign content. Returns 1 when it closed an
 * element and every one above it (in foreign content: the foreign ones too). */
static inline int
top_end(gw_html_t *h)
{
    size_t d = h->odepth;
    /* the common case: the current element's end tag (a formatting one's too: nothing above it), none past the 40th */
    if (__builtin_expect(d != 0 && h->ohash[d - 1] == (uint32_t)name_hash(h) && h->oover == 0, 1)) {
        h->odepth = (uint8_t)(d - 1);
        return 1;
    }
    return top_end_rules(h);
}

/* Whether the start tag raw[0..len) has an attribute named name (NULL raw: a tag too long to read, taken as not having it:
 * foreign content stays foreign, as it did before these attributes were read) and,
 * when value is not NULL, with that value (ASCII case-insensitive, character references decoded); the first of a name
 * counts, as browsers drop later duplicates. */
static int
tag_has_attr(const char *raw, size_t len, const char *name, const char *value)
{
    span_t a;
    size_t pos;
    char v[64];
    if (raw == NULL)
        return 0;
    pos = 1 + raw_name_len(raw, len, 1);
    while (attr_scan(raw, len, &pos, &a)) {
        if (!name_eq(raw + a.name, a.name_end - a.name, name, strlen(name)))
            continue;
        if (value == NULL)
            return 1;
        if (!a.has_value || a.value_end - a.value > sizeof(v))
            return 0;
        return name_eq(v, gw_html_decode(raw + a.value, a.value_end - a.value, v), value, strlen(value));
    }
    return 0;
}

/* A foreign element opened: when an HTML element of its name is open outside foreign content, an end tag of the name
 * may be its (fnames: a bit per name hash, only for those names) */
static void
foreign_name(gw_html_t *h)
{
    uint32_t hash = (uint32_t)name_hash(h);
    for (size_t i = 0; i != h->odepth; ++i) {
        if (h->ohash[i] == hash) {
            h->fnames |= 1ull << (hash & 63);
            return;
        }
    }
}

/* A foreign element that is no frame opened (<a>, <g>, …): an end tag of its name closes it, and the frames above it
 * with it ("<svg><a><foreignObject></a>" closes the integration point). Only that one may be open is known: its name's
 * bit in the frame's fhash (see foreign_end). */
static void
foreign_other(gw_html_t *h)
{
    if (h->fover == 0)
        h->fhash[h->fdepth - 1] |= 1u << ((uint32_t)name_hash(h) & 31);
}

/* A start tag (raw[0..len), NULL for one too long to read): sets tag_foreign (its content is markup whatever its name)
 * and updates the frames. */
static void
foreign_start(gw_html_t *h, int self_closing, const char *raw, size_t len)
{
    unsigned name;
    h->tag_foreign = 0;
    if (h->fdepth == 0 && h->fover == 0 && !TNAME_IS(h, "svg") && !TNAME_IS(h, "math")) {
        top_start(h); /* the common case: HTML content, not entering foreign content */
        return;
    }
    if (in_foreign(h)) {
        if (html_kind(h) & HV_BREAKOUT) {
            breakout(h);
            goto Html;
        }
        /* <font> with color, face or size breaks out too (a tag too long to read is taken as one that does not) */
        if (TNAME_IS(h, "font") &&
            (tag_has_attr(raw, len, "color", NULL) || tag_has_attr(raw, len, "face", NULL) || tag_has_attr(raw, len, "size", NULL))) {
            breakout(h);
            goto Html;
        }
        h->tag_foreign = 1;
        if (self_closing)
            return;
        foreign_name(h);
        if ((name = frame_name(h)) == 0) {
            foreign_other(h);
            return;
        }
        int math = h->fover == 0 && (h->fstack[h->fdepth - 1] & FR_NS_MATH) != 0;
        /* MathML's annotation-xml is an HTML integration point when its encoding says HTML (a tag too long to read is
         * taken as one that is not) */
        if (name == FR_ANNOTATION_XML && !(math && (tag_has_attr(raw, len, "encoding", "text/html") ||
                                                    tag_has_attr(raw, len, "encoding", "application/xhtml+xml"))))
            return;
        if (name == FR_SVG || name == FR_MATH || (!math && name >= FR_FOREIGNOBJECT && name <= FR_TITLE) || (math && name >= FR_MI))
            fpush(h, (uint8_t)(name | (math ? FR_NS_MATH : 0)));
        else
            foreign_other(h);
        return;
    }
    /* at a MathML text integration point itself (no HTML element open in it), <mglyph> and <malignmark> are MathML's
     * (§13.2.6 tree construction dispatcher): a <style> in one is foreign content, where an <img> breaks out and loads */
    if (h->hover == 0 && h->fdepth != 0 && (name = FR_NAME(h->fstack[h->fdepth - 1])) >= FR_MI && name <= FR_MTEXT &&
        ((name = frame_name(h)) == FR_MGLYPH || name == FR_MALIGNMARK)) {
        h->tag_foreign = 1;
        if (!self_closing)
            fpush(h, (uint8_t)(name | FR_NS_MATH));
        return;
    }
Html:
    if (h->fdepth != 0)
        html_start(h); /* at an integration point (past fstack, counted: an HTML element is open, "in body" reads it) */
    else if (h->fover == 0 && !TNAME_IS(h, "svg") && !TNAME_IS(h, "math"))
        top_start(h); /* (a breakout closed every frame) */
    if (!self_closing && TNAME_IS(h, "svg")) /* (past fstack, fpush counts it in fover: its content is foreign) */
        fpush(h, FR_SVG);
    else if (!self_closing && TNAME_IS(h, "math"))
        fpush(h, FR_MATH | FR_NS_MATH);
}

/* An end tag. In foreign content it pops to the nearest frame of its name (§13.2.6.5 "any other end tag"), or when the
 * walk meets an HTML element first, is read as the "in body" rules read it; </p> and </br> break out. With an HTML
 * element the current node at an integration point, the "in body" rules read it. */
static void
foreign_end(gw_html_t *h)
{
    unsigned name;
    int passed_ip = 0;
    if (h->fdepth == 0 && h->fover == 0) {
        top_end(h); /* (hover is 0 too: it counts only past a full fstack) */
        return;
    }
    name = frame_name(h);
    if (h->fover != 0) {
        /* (past an HTML element past fstack, only </svg> and </math> close one: a frame's name that is not open there,
         * "</title>" in math, would have read what follows as HTML while the browser reads it as foreign content) */
        if (name != 0 && (h->hover == 0 || name == FR_SVG || name == FR_MATH))
            --h->fover;
        else if (TNAME_IS(h, "p") || TNAME_IS(h, "br"))
            breakout(h);
        return;
    }
    if (h->hover != 0) {
        if (!TNAME_IS(h, "br") && !TNAME_IS(h, "p"))
            --h->hover; /* past fstack: each end tag closes one */
        return;
    }
    if (name == 0 && in_foreign(h) && (TNAME_IS(h, "p") || TNAME_IS(h, "br"))) {
        breakout(h);
        if (h->fdepth != 0 && is_html_frame(h->fstack[h->fdepth - 1]))
            html_end(h, h->fdepth);
        return;
    }
    for (size_t i = h->fdepth; i != 0; --i) {
        uint8_t f = h->fstack[i - 1];
        if (is_html_frame(f)) {
            /* the "in body" rules, walking from the current node: an integration point above stops them */
            if (!passed_ip)
                html_end(h, h->fdepth);
            return;
        }
        /* a foreign element of its name that may be open in the content of a frame below the current one is taken
         * as open: its end tag closes the frames above (an integration point: what follows is foreign content, where
         * a <textarea> is no raw text and an <img> in it breaks out and loads) */
        if (i != h->fdepth && (h->fhash[i - 1] & (1u << ((uint32_t)name_hash(h) & 31)))) {
            fpop_to(h, i);
            return;
        }
        if (name != 0 && FR_NAME(f) == name) {
            fpop_to(h, i - 1);
            return;
        }
        if (is_integration(FR_NAME(f)))
            passed_ip = 1;
    }
    /* The walk passed every frame: below the outermost are the HTML elements it was opened in, which the HTML rules close
     * ("<div><svg></div>"), and every frame with them; an integration point passed is in the way of the "in body" rules
     * (a scope boundary, special), not of a table's end tags in the table insertion modes, whose table scope it is not
     * ("<td><math><mi></table>"). A foreign element of the name (not a frame: "<a><svg><a></a>"), which would have
     * stopped the walk, is not known, only that one may have been opened (fnames): then none is. */
    if ((!passed_ip || table_part((uint32_t)name_hash(h)) || (uint32_t)name_hash(h) == H_TABLE) &&
        !(h->fnames & (1ull << ((uint32_t)name_hash(h) & 63))) && top_end(h))
        fpop_to(h, 0);
}

/* on an XML page, a <script> or <style> ("h:script" too: its raw text ends at "</h:script") */
static int
xml_raw(const gw_html_t *h)
{
    return h->id == GW_HTML_TAG_SCRIPT || h->id == GW_HTML_TAG_STYLE;
}

/*
 * A <frameset> before the body has begun replaces it (§13.2.6.4.7, the frameset-ok flag), and from then on the tree builder
 * ignores every start tag but <frame>, <frameset>, <noframes> and <html>: a <script>, <style>, <textarea>, <title>, <xmp>,
 * <iframe>, <noembed>, <noscript> or <plaintext> is not an element, does not make its content raw text, and a <frame> in
 * that "content" loads; <svg> and <math> open no foreign content. The flag is cleared by text other than whitespace (see
 * frameset_text), by the start tags below and "</br>" (read as <br>). Where the model is coarser than the tree builder it
 * errs towards a body: a <template> clears it (a <frameset> in one is ignored, but not after it), and a <frameset> in
 * foreign content (at an integration point a browser may take it) is not taken.
 */
static void
frameset_tag(gw_html_t *h, const char *raw, size_t len)
{
    static const char *const not_ok[] = {"applet", "area",  "body",     "br",       "button", "dd",      "dt",      "embed",  "hr",
                                         "iframe", "image", "img",      "keygen",   "li",     "listing", "marquee", "object", "pre",
                                         "select", "table", "template", "textarea", "wbr",    "xmp",     NULL};
    if (h->frameset != FS_MAYBE)
        return;
    if (h->is_end) {
        if (TNAME_IS(h, "br"))
            h->frameset = FS_NO;
        return;
    }
    if (TNAME_IS(h, "frameset")) {
        if (h->fdepth == 0 && h->fover == 0)
            h->frameset = FS_IN;
        return;
    }
    /* (an <input type=hidden> leaves it; one too long to read is taken as another) */
    if (TNAME_IS(h, "input") && !tag_has_attr(raw, len, "type", "hidden")) {
        h->frameset = FS_NO;
        return;
    }
    for (size_t i = 0; not_ok[i] != NULL; ++i)
        if (tname_is(h, not_ok[i]))
            h->frameset = FS_NO;
}

/* Text in p[0..n) (not raw text): a character other than whitespace ends the chance of a frameset document (NUL, which
 * the tree builder drops, does not). */
static void
frameset_text(gw_html_t *h, const char *p, size_t n)
{
    for (size_t i = 0; i != n && h->frameset == FS_MAYBE; ++i)
        if (!is_ws((unsigned char)p[i]) && p[i] != '\0')
            h->frameset = FS_NO;
}

/* Text in p[0..n) (not raw text) while text_watch: a frameset may still replace the body (frameset_text), or formatting
 * elements closed at an integration point wait to be reopened (text there reopens them). text_watch is cleared when
 * neither is so (set again by html_pop): the common page's text costs one test. */
static void
watch_text(gw_html_t *h, const char *p, size_t n)
{
    if (h->frameset == FS_MAYBE && !h->xml)
        frameset_text(h, p, n);
    if (h->fpend_n != 0 && n != 0 && !in_foreign(h))
        reconstruct(h);
    h->text_watch = (h->frameset == FS_MAYBE && !h->xml) || h->fpend_n != 0;
}

/* A whole tag read (self_closing: it ends with "/>"; raw NULL: too long to read): the frames, tag_foreign and
 * tag_selfclose. */
static void
foreign_tag(gw_html_t *h, int self_closing, const char *raw, size_t len)
{
    h->tag_selfclose = (uint8_t)(!h->is_end && self_closing);
    if (h->xml) {
        /* XML has no raw text and no foreign content: every element's content is markup, and "/>" closes any element
         * ("<script src=a/>" has none). A <script> or <style> with content is still read as raw text, so that its
         * script or CSS is held and read (an element inside one is not seen: see gw_html_set_xml). */
        if (h->tname[0] == '?') /* a processing instruction ("?>"): no content */
            h->tag_selfclose = !h->is_end;
        h->tag_foreign = (uint8_t)(!h->is_end && (h->tag_selfclose || !xml_raw(h)));
        return;
    }
    frameset_tag(h, raw, len);
    if (h->frameset == FS_IN)
        h->tag_foreign = 0; /* (a frameset document has no foreign content) */
    else if (h->is_end)
        foreign_end(h);
    else
        foreign_start(h, self_closing, raw, len);
}

/* the current start tag opens an SVG <script> with content, which a browser runs (past fstack the namespace is not known:
 * read as SVG's); MathML's does not (a <script> is no frame: the current frame is the one it opens in) */
static int
svg_script(const gw_html_t *h)
{
    return h->tag_foreign && !h->xml && !h->tag_selfclose && h->id == GW_HTML_TAG_SCRIPT &&
           !(h->fover == 0 && h->fdepth != 0 && (h->fstack[h->fdepth - 1] & FR_NS_MATH) != 0);
}

/* the raw-text kind of the current start tag's element: none in foreign content */
static inline int
elem_kind(const gw_html_t *h)
{
    if (h->frameset == FS_IN && h->id != GW_HTML_TAG_NOFRAMES)
        return RAW_NONE; /* a frameset document ignores <script>, <style>, <textarea>, …: their "content" is markup */
    return h->tag_foreign ? RAW_NONE : raw_kind(h->id);
}

/* ---- element effects ---------------------------------------------------------------------- */

/*
 * Chromium's preload scanner, a tokenizer that runs ahead of the tree builder and fetches the URLs of the tags it reads,
 * knows no foreign content: any <style>, <script>, <textarea>, <title>, <xmp>, <iframe>, <noembed>, <noframes> or
 * <noscript> start tag (self-closed too) makes it read raw text up to "</name", and a CDATA section is a bogus comment
 * up to its first '>'. Where the tree builder reads foreign content there, the two part: a "</style>" in what the tree
 * builder reads as a comment ("<svg><style><!--</style><img src=…>-->") or CDATA section ends the scanner's raw text,
 * and the <img> after it is fetched, while the tree builder builds none (and the callbacks, reading as it does, see
 * none); so is one after the first '>' of a CDATA section ("<svg><![CDATA[><img src=…>]]>"). The rewriter keeps them
 * together: from such a start tag in foreign content (pre_raw) up to an end tag of its name, a '<' in a comment or bogus
 * comment goes out as "&lt;" (the comment's text is changed, nothing else), one in a CDATA section as "]]>&lt;<![CDATA["
 * (the same text: a character reference is read in foreign content); outside, a CDATA section's '>' goes out as
 * "]]>&gt;<![CDATA[", so that every bogus comment the scanner reads ends before the next '<'.
 */
static void
pre_begin(gw_html_t *h)
{
    if (h->pre_raw || h->xml || raw_kind(h->id) == RAW_NONE || raw_kind(h->id) == RAW_PLAIN)
        return; /* (<plaintext>: the scanner reads nothing more, the tree builder goes on) */
    h->pre_raw = 1;
    h->pre_id = h->id;
    h->pre_hash = name_hash(h);
    h->pre_empty = h->tag_selfclose;
}

/* A tag read while the preload scanner reads raw text (pre_raw), before it goes out. The start tag of an HTML element
 * whose text is raw text too (a <script>, <style>, … of another name: "<svg><style/></svg><script>"</style><img src=…>"
 * </script>") would have the scanner's raw text end in it, where nothing can be written for it: the end tag the scanner
 * waits for goes out first, which the tree builder ignores where no element of that name is open (outside foreign
 * content none is: HTML reads their content as raw text; inside it, where the one that began it was self-closed and
 * none opened since, the end tag walks down to the HTML rules, which find none). Where one is open, an HTML one at an
 * integration point in it has the end tag written in an empty <template> before it (see below). */
static void
pre_tag_seen(gw_html_t *h)
{
    if (h->is_end)
        return;
    if (name_hash(h) == h->pre_hash) {
        if (h->tag_foreign && !h->tag_selfclose)
            h->pre_empty = 0; /* (another of the name opened: the end tag would close it) */
        return;                   /* (an HTML one: its end tag ends the scanner's raw text too) */
    }
    if (elem_kind(h) == RAW_NONE)
        return;
    if (h->fdepth + h->fover != 0 && !h->pre_empty) {
        if (h->tag_foreign || h->id == GW_HTML_TAG_TITLE || h->id == GW_HTML_TAG_TEXTAREA)
            return; /* (a foreign one's content is markup, read; an RCDATA one's '<' go out as "&lt;": see pre_rcdata) */
        /* an HTML one at an integration point inside the element that began it ("<svg><style><desc><script>"): the end
         * tag would close that element there, but not in a <template>, where "in template" ignores it; the empty
         * <template> stays in the document, which renders nothing */
        emit(h, "<template></", 12);
        emit(h, tag_names[h->pre_id], tag_name_len[h->pre_id]);
        emit(h, "></template>", 12);
    } else {
        emit(h, "</", 2);
        emit(h, tag_names[h->pre_id], tag_name_len[h->pre_id]);
        emit(h, ">", 1);
    }
    h->pre_raw = 0;
}

/* [mark, upto) of a comment, bogus comment or RCDATA (pre_rcdata): passed, each '<' as "&lt;" while pre_raw */
static void
pre_dispose(gw_html_t *h, const char *upto)
{
    const char *q;
    if (__builtin_expect(h->pre_raw, 0) && h->skip_depth == 0) {
        while ((q = find_byte(h->mark, upto, '<')) != NULL) {
            pass(h, q);
            emit(h, "&lt;", 4);
            h->mark = q + 1;
        }
    }
    dispose(h, upto);
}

/* After a start tag: begins a removal, counts nesting inside one, enters raw text. */
static void
start_effects(gw_html_t *h, int removed)
{
    if (h->tag_foreign && !removed && h->skip_depth == 0)
        pre_begin(h); /* (a start tag in foreign content, kept) */
    if (removed) {
        if (has_content(h)) {
            h->skip_depth = 1;
            h->skip_hash = name_hash(h);
            h->skip_fdepth = h->tag_foreign ? h->fdepth + h->fover : 0;
        }
    } else if (h->skip_depth != 0 && name_hash(h) == h->skip_hash) {
        ++h->skip_depth;
    }
    switch (elem_kind(h)) {
    case RAW_SCRIPT:
    case RAW_TEXT:
        h->mode = M_RAW;
        h->raw_id = h->id;
        h->raw_name_len = (uint8_t)h->name_total; /* (a raw-text element's name is known: at most TNAME_MAX bytes) */
        memcpy(h->raw_name, h->tname, h->name_total);
        h->raw_hash = name_hash(h);
        h->sstate = S_DATA;
        h->dashes = 0;
        h->cand = K_NONE;
        break;
    case RAW_PLAIN:
        h->mode = M_PLAIN;
        break;
    default:
        h->mode = M_TEXT;
        break;
    }
}

/* Before an end tag's bytes go out: injection point, end of a removal. Returns 1 to drop it. */
static int
end_effects(gw_html_t *h)
{
    if (h->skip_depth != 0) {
        if (name_hash(h) == h->skip_hash) {
            --h->skip_depth;
            return 1;
        }
        if (h->fdepth + h->fover >= h->skip_fdepth)
            return 1;
        h->skip_depth = 0; /* "</svg>" closed the removed element with the frame it was in: the end tag is the frame's */
    }
    if (__builtin_expect(h->pre_raw, 0) && name_hash(h) == h->pre_hash)
        h->pre_raw = 0; /* (the preload scanner's raw text ends here too) */
    if (!h->injected && h->inject_len != 0 && (h->id == GW_HTML_TAG_HEAD || h->id == GW_HTML_TAG_BODY)) {
        h->injected = 1;
        emit(h, h->inject, h->inject_len);
    }
    return 0;
}

/*
 * An SVG <script> held (fhold): a browser runs it, and its content is markup read in the data state, not raw text
 * (character references count; a tag in it is a tag, which may break out of the <svg> and load). Its text goes to hb
 * after its start tag (tb stays free for the tags and '<' prefixes the data state reads), up to its "</script>", which
 * releases it whole (complete 1). Anything else that is not text or a CDATA section (a tag, a comment, "<!…", "<?…",
 * "</>"), or text past the hold, releases it first with complete 0, and is then read as it would be without the hold:
 * a breakout tag stays a tag. on_held tells it by gw_html_held_markup. Removed (REMOVE), it ends as a removed foreign
 * element does: at its end tag, or with the frame it is in.
 */
static void
fhold_release(gw_html_t *h, int complete)
{
    gw_html_tag_t tag;
    size_t tl = h->fhold_tag;
    int act;
    tag_init(&tag, h, GW_HTML_TAG_SCRIPT, h->hb, tl, h->held_offset);
    h->holding = h->fhold = 0;
    h->held_markup = 1;
    act = h->cb.on_held(h->ctx, &tag, h->hb + tl, h->hold_len - tl, complete) & 3;
    h->held_markup = 0;
    if (act == GW_HTML_REMOVE) {
        h->skip_depth = 1;
        h->skip_hash = h->raw_hash;
        h->skip_fdepth = h->fhold_fdepth;
        if (h->pre_hash == h->raw_hash)
            h->pre_raw = 0; /* (its start tag does not go out) */
    } else {
        char *tb = h->tb; /* (emit_start_tag writes a tag without edits from tb) */
        size_t tlen = h->tlen;
        h->tb = h->hb;
        h->tlen = tl;
        emit_start_tag(h, &tag, 1, NULL);
        h->tb = tb;
        h->tlen = tlen;
        emit(h, h->hb + tl, h->hold_len - tl);
    }
    h->hold_len = 0;
}

/* Hands a held element to on_held and writes what it decides. */
static void
release(gw_html_t *h, int complete)
{
    gw_html_tag_t tag;
    int act = GW_HTML_KEEP;
    if (h->fhold) {
        fhold_release(h, complete);
        return;
    }
    tag_init(&tag, h, h->raw_id, h->tb, h->tlen, h->held_offset);
    h->holding = 0;
    if (h->cb.on_held != NULL)
        act = h->cb.on_held(h->ctx, &tag, h->hb, h->hold_len, complete) & 3;
    if (act == GW_HTML_REMOVE) {
        h->skip_depth = 1;
        h->skip_hash = h->raw_hash;
        h->skip_fdepth = 0;
        h->tlen = 0;
    } else {
        emit_start_tag(h, &tag, 1, NULL);
        emit(h, h->hb, h->hold_len);
    }
    h->hold_len = 0;
}

/* A buffer of cap bytes from cb.alloc holding the used bytes of old (grow_tag, grow_hold), or NULL when there is no
 * cb.alloc or it gives none */
static char *
bigger(gw_html_t *h, const char *old, size_t used, size_t cap)
{
    char *p;
    if (h->cb.alloc == NULL || (p = h->cb.alloc(h->ctx, cap)) == NULL)
        return NULL;
    memcpy(p, old, used);
    return p;
}

/* Held content outgrew hb: room from cb.alloc, GW_HTML_MAX_HUGE_HOLD / 4 bytes the first time, then GW_HTML_MAX_HUGE_HOLD
 * (kept for the elements after it); 0 when there is no more room to have (the element is released early) */
static int
grow_hold(gw_html_t *h)
{
    size_t cap = h->hb_cap < GW_HTML_MAX_HUGE_HOLD / 4 ? GW_HTML_MAX_HUGE_HOLD / 4 : GW_HTML_MAX_HUGE_HOLD;
    char *p;
    if (cap <= h->hb_cap || (p = bigger(h, h->hb, h->hold_len, cap)) == NULL)
        return 0;
    h->hb = p;
    h->hb_cap = cap;
    return 1;
}

/* Copies up to the hold room (grown when it can be); releases the element when the content outgrows it.
 * Returns the bytes taken. */
static size_t
hold_add(gw_html_t *h, const char *p, size_t n)
{
    while (n > h->hb_cap - h->hold_len && grow_hold(h))
        ;
    size_t k = h->hb_cap - h->hold_len;
    if (k > n)
        k = n;
    memcpy(h->hb + h->hold_len, p, k);
    h->hold_len += k;
    if (k < n)
        release(h, 0);
    return k;
}

/* Text of a held SVG script: [mark, upto) of the current chunk (text_out), or bytes that are not in it (text_copy) */
static void
text_hold(gw_html_t *h, const char *upto)
{
    size_t n = upto - h->mark, k = hold_add(h, h->mark, n);
    h->mark += k; /* no pass run is open while holding */
    if (k < n)
        dispose(h, upto);
}

/* text [mark, upto) */
static inline void
text_out(gw_html_t *h, const char *upto)
{
    if (__builtin_expect(h->fhold, 0))
        text_hold(h, upto);
    else
        dispose(h, upto);
}

static void
text_copy(gw_html_t *h, const char *p, size_t n)
{
    size_t k = hold_add(h, p, n);
    if (k < n && h->skip_depth == 0)
        emit(h, p + k, n - k);
}

/* A CDATA section's byte at q: text up to it, and for a '<' while pre_raw or a '>' outside, the same text written so the
 * preload scanner reads no tag in it (see pre_begin) */
static void
pre_cdata(gw_html_t *h, const char *q)
{
    const char *rep = h->pre_raw ? "]]>&lt;<![CDATA[" : "]]>&gt;<![CDATA[";
    if (h->skip_depth != 0 || h->xml || *q != (h->pre_raw ? '<' : '>'))
        return;
    text_out(h, q);
    if (h->fhold)
        text_copy(h, rep, 16);
    else
        emit(h, rep, 16);
    h->mark = q + 1;
}

/* Before markup other than a held SVG script's text and its end tag: the script is released unread (complete 0). */
static inline void
fhold_markup(gw_html_t *h)
{
    if (h->fhold)
        release(h, 0);
}

/* The raw text read is a <title>'s or <textarea>'s (RCDATA: character references are read) of another name than the
 * raw text the preload scanner reads (pre_raw): a '<' in it goes out as "&lt;", the same text, so that a "</style" in
 * it does not end the scanner's ("<svg><style/></svg><title></style><img src=…>") */
static int
pre_rcdata(const gw_html_t *h)
{
    return (h->raw_id == GW_HTML_TAG_TITLE || h->raw_id == GW_HTML_TAG_TEXTAREA) && h->raw_hash != h->pre_hash && !h->holding;
}

/* Raw-text content [mark, upto) of the current chunk. */
static void
content(gw_html_t *h, const char *upto)
{
    size_t n = upto - h->mark;
    if (n == 0)
        return;
    if (h->text_cb)
        h->cb.on_text(h->ctx, h->mark, n);
    if (h->holding && h->skip_depth == 0) {
        size_t k = hold_add(h, h->mark, n);
        h->mark += k; /* no pass run is open while holding */
        if (k == n)
            return;
    }
    if (__builtin_expect(h->pre_raw, 0) && pre_rcdata(h))
        pre_dispose(h, upto);
    else
        dispose(h, upto);
}

/* Raw-text content that is not in the chunk (a failed end-tag candidate kept in pend). */
static void
content_copy(gw_html_t *h, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (h->text_cb)
        h->cb.on_text(h->ctx, p, n);
    if (h->holding && h->skip_depth == 0) {
        size_t k = hold_add(h, p, n);
        p += k;
        n -= k;
    }
    if (h->skip_depth != 0)
        return;
    for (const char *q; __builtin_expect(h->pre_raw, 0) && pre_rcdata(h) && (q = memchr(p, '<', n)) != NULL;) {
        emit(h, p, (size_t)(q - p));
        emit(h, "&lt;", 4);
        n -= (size_t)(q + 1 - p);
        p = q + 1;
    }
    emit(h, p, n);
}

static void
text_end(gw_html_t *h)
{
    if (h->text_cb) {
        h->text_cb = 0;
        h->cb.on_text(h->ctx, NULL, 0);
    }
}

/* ---- tags ----------------------------------------------------------------------------------- */

static void
begin_tag(gw_html_t *h, int is_end)
{
    h->mode = M_TAG;
    h->tstate = T_NAME;
    h->is_end = (uint8_t)is_end;
    h->name_total = 0;
    h->name_hash = FNV_OFFSET;
    h->tag_drop = h->tag_remove = h->raw_end = 0;
}

static void
name_done(gw_html_t *h)
{
    size_t from = 0;
    if (h->xml && h->name_total == 15 && memcmp(h->tname, "?xml-stylesheet", 15) == 0) {
        h->id = GW_HTML_TAG_LINK; /* <?xml-stylesheet href="…"?> loads a style sheet, as <link rel=stylesheet> */
        return;
    }
    if (h->xml && h->name_total <= TNAME_MAX) { /* "h:script" is an XHTML <script> after xmlns:h="…xhtml": its local name */
        const char *colon = memchr(h->tname, ':', h->name_total);
        from = colon != NULL ? (size_t)(colon + 1 - h->tname) : 0;
    }
    h->id = h->name_total <= TNAME_MAX ? tag_lookup(h->tname + from, h->name_total - from) : GW_HTML_TAG_OTHER;
}

/* Advances the tag states over p[0..n). Returns the bytes consumed; *done = 1 when that
 * includes the '>' ending the tag. */
static size_t
tag_scan(gw_html_t *h, const char *p, size_t n, int *done)
{
    const char *s = p, *e = p + n;
    unsigned st = h->tstate;
    unsigned char c;

    while (s < e) {
        c = (unsigned char)*s;
        switch (st) {
        case T_NAME: {
            size_t total = h->name_total;
            uint64_t hash = h->name_hash;
            while (!(cls[c] & (CL_WS | CL_SLASH | CL_GT))) {
                c = lower(c);
                if (total < TNAME_MAX)
                    h->tname[total] = (char)c;
                ++total;
                hash = (hash ^ c) * FNV_PRIME;
                if (++s == e) {
                    h->name_total = total;
                    h->name_hash = hash;
                    goto Partial;
                }
                c = (unsigned char)*s;
            }
            h->name_total = total;
            h->name_hash = hash;
            name_done(h);
            if (c == '>')
                goto Done;
            st = T_BEFORE_ATTR;
            break;
        }
        case T_BEFORE_ATTR:
            if (c == '>')
                goto Done;
            if (!is_ws(c) && c != '/')
                st = T_ATTR_NAME;
            break;
        case T_ATTR_NAME:
            while (!(cls[c] & (CL_WS | CL_SLASH | CL_EQ | CL_GT))) { /* the rest of the name */
                if (++s == e)
                    goto Partial;
                c = (unsigned char)*s;
            }
            if (c == '>')
                goto Done;
            if (is_ws(c))
                st = T_AFTER_NAME;
            else if (c == '/')
                st = T_BEFORE_ATTR;
            else if (c == '=')
                st = T_BEFORE_VALUE;
            break;
        case T_AFTER_NAME:
            if (c == '>')
                goto Done;
            if (c == '=')
                st = T_BEFORE_VALUE;
            else if (c == '/')
                st = T_BEFORE_ATTR;
            else if (!is_ws(c))
                st = T_ATTR_NAME;
            break;
        case T_BEFORE_VALUE:
            if (c == '>')
                goto Done;
            if (c == '"')
                st = T_DQ;
            else if (c == '\'')
                st = T_SQ;
            else if (!is_ws(c))
                st = T_UNQ;
            break;
        case T_DQ:
        case T_SQ: {
            const char *q = find_byte(s, e, st == T_DQ ? '"' : '\'');
            if (q == NULL)
                goto Partial;
            s = q;
            st = T_AFTER_QUOTED;
            break;
        }
        case T_UNQ:
            while (!(cls[c] & (CL_WS | CL_GT))) { /* the rest of the value */
                if (++s == e)
                    goto Partial;
                c = (unsigned char)*s;
            }
            if (c == '>')
                goto Done;
            if (is_ws(c))
                st = T_BEFORE_ATTR;
            break;
        default: /* T_AFTER_QUOTED */
            if (c == '>')
                goto Done;
            st = is_ws(c) || c == '/' ? T_BEFORE_ATTR : T_ATTR_NAME;
            break;
        }
        ++s;
    }
Partial:
    h->tstate = (uint8_t)st;
    *done = 0;
    return n;
Done:
    h->tstate = (uint8_t)st;
    *done = 1;
    return s + 1 - p;
}

/*
 * The common case of a tag: all of it, up to GW_HTML_MAX_TAG bytes, in this chunk. Walks the
 * states of tag_scan (same transitions, the name hashed as it does) as straight loops from the '<' at p;
 * returns the tag's '>' with the tag begun as begin_tag and name_done leave it, or NULL when the
 * tag does not end before lim, the state untouched but for tname (tag_scan then starts over).
 */
static const char *
whole_tag(gw_html_t *h, const char *p, const char *lim, int is_end)
{
    const char *s = p + 1 + is_end;
    size_t total = 0;
    uint64_t hash = FNV_OFFSET;
    unsigned char c;

    for (;; ++s) { /* T_NAME */
        if (s == lim)
            return NULL;
        c = (unsigned char)*s;
        if (cls[c] & (CL_WS | CL_SLASH | CL_GT))
            break;
        c = lower(c);
        if (total < TNAME_MAX)
            h->tname[total] = (char)c;
        ++total;
        hash = (hash ^ c) * FNV_PRIME;
    }
#define NEXT()                                                                                                                     \
    do {                                                                                                                           \
        if (++s == lim)                                                                                                            \
            return NULL;                                                                                                           \
        c = (unsigned char)*s;                                                                                                     \
    } while (0)
    int unq = 0; /* the '>' ends an unquoted value (a '/' before it is the value's: not a self-closing tag) */
    while (c != '>') {
        unq = 0;
        if (cls[c] & (CL_WS | CL_SLASH)) { /* T_BEFORE_ATTR */
            NEXT();
            continue;
        }
        do /* T_ATTR_NAME: its first character, whatever it is, then up to a delimiter */
            NEXT();
        while (!(cls[c] & (CL_WS | CL_SLASH | CL_EQ | CL_GT)));
        while (is_ws(c)) /* T_AFTER_NAME */
            NEXT();
        if (c != '=')
            continue; /* '>', '/' (T_BEFORE_ATTR) or the next name */
        do            /* T_BEFORE_VALUE */
            NEXT();
        while (is_ws(c));
        if (c == '"' || c == '\'') { /* T_DQ, T_SQ, then T_AFTER_QUOTED */
            if ((s = find_byte(s + 1, lim, (char)c)) == NULL)
                return NULL;
            NEXT();
        } else if (c != '>') {
            do /* T_UNQ */
                NEXT();
            while (!(cls[c] & (CL_WS | CL_GT)));
            unq = 1;
        }
    }
#undef NEXT
    begin_tag(h, is_end);
    h->name_total = total;
    h->name_hash = hash;
    name_done(h);
    h->tstate = unq ? T_UNQ : T_BEFORE_ATTR; /* as tag_scan leaves it at the '>' */
    return s;
}

/* whether raw[k] is the 'k' of "background" (any case) */
static int
is_background_at(const char *raw, size_t len, size_t k)
{
    return k >= 3 && len - k >= 7 && name_eq(raw + k - 3, 10, "background", 10);
}

/* on_tag_urls, and see html.h: whether a start tag's bytes may hold a style attribute's URL (which needs "url(" or
 * "image-set(", or a character reference standing for the parenthesis) or a background attribute */
int
gw_html_may_name_url(const char *raw, size_t len)
{
    /* one pass, 16 bytes at a time (a tag is mostly under 100 bytes: memchr's call and set-up, four times, cost more) */
    size_t i = 0;
#ifdef __SSE2__
    const __m128i paren = _mm_set1_epi8('('), amp = _mm_set1_epi8('&'), k = _mm_set1_epi8('k'), K = _mm_set1_epi8('K');
    for (; len - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(raw + i));
        if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, paren), _mm_cmpeq_epi8(v, amp))) != 0)
            return 1;
        for (unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, k), _mm_cmpeq_epi8(v, K))); m != 0; m &= m - 1)
            if (is_background_at(raw, len, i + (size_t)__builtin_ctz(m)))
                return 1;
    }
#endif
    for (; i != len; ++i)
        if (raw[i] == '(' || raw[i] == '&' || ((raw[i] | 0x20) == 'k' && is_background_at(raw, len, i)))
            return 1;
    return 0;
}

/* on_tag held an SVG <script> (svg_script; tag: its start tag, in tb or at [mark, cur)): see fhold_release. A start tag that does
 * not fit the hold is decided at once, with no content and complete 0. */
static void
fhold_begin(gw_html_t *h, gw_html_tag_t *tag, int in_tbuf, const char *cur)
{
    size_t len = tag->raw_len;
    while (len > h->hb_cap && grow_hold(h))
        ;
    if (len > h->hb_cap) {
        tag_init(tag, h, GW_HTML_TAG_SCRIPT, tag->raw, len, h->tag_offset);
        h->held_markup = 1;
        int act = h->cb.on_held(h->ctx, tag, "", 0, 0) & 3;
        h->held_markup = 0;
        if (act == GW_HTML_REMOVE) {
            if (!in_tbuf)
                drop(h, cur);
            h->tlen = 0;
        } else {
            emit_start_tag(h, tag, in_tbuf, cur);
        }
        start_effects(h, act == GW_HTML_REMOVE);
        return;
    }
    memcpy(h->hb, tag->raw, len);
    if (!in_tbuf)
        drop(h, cur);
    h->tlen = 0;
    h->hold_len = h->fhold_tag = len;
    h->holding = h->fhold = 1;
    h->held_offset = h->tag_offset;
    h->raw_hash = name_hash(h);
    h->fhold_fdepth = h->fdepth + h->fover;
    start_effects(h, 0);
}

/* A whole tag ends at cur: tbuf[0..tlen) + [mark, cur). */
static void
tag_done(gw_html_t *h, const char *cur)
{
    int in_tbuf = h->tlen != 0;
    const char *raw;
    size_t len;

    if (in_tbuf)
        capture(h, cur);
    raw = in_tbuf ? h->tb : h->mark;
    len = in_tbuf ? h->tlen : (size_t)(cur - h->mark);
    if (__builtin_expect(h->fhold, 0)) /* a held SVG script's end tag releases it read whole; any other tag, unread */
        release(h, h->is_end && h->id == GW_HTML_TAG_SCRIPT);
    /* "/>" closes the tag itself, unless the '/' is the end of an unquoted value ("<svg a=/>" is not self-closing) */
    foreign_tag(h, len >= 2 && raw[len - 2] == '/' && h->tstate != T_UNQ, raw, len);
    if (__builtin_expect(h->pre_raw, 0))
        pre_tag_seen(h);

    if (h->skip_depth != 0 && !h->is_end && h->fdepth + h->fover < h->skip_fdepth)
        h->skip_depth = 0; /* a tag that breaks out of foreign content closed the removed element: it is read as any */
    if (h->is_end || h->skip_depth != 0) {
        int dropit = h->is_end ? end_effects(h) : 1;
        if (dropit) {
            if (!in_tbuf)
                drop(h, cur);
        } else if (pre_tag(h, raw, len)) {
            gw_html_tag_t tag;
            tag_init(&tag, h, h->id, raw, len, h->tag_offset);
            serialize(h, &tag);
            if (!in_tbuf)
                h->mark = cur;
        } else if (in_tbuf) {
            emit(h, raw, len);
        } else {
            pass(h, cur);
        }
        h->tlen = 0;
        if (h->is_end)
            h->mode = M_TEXT;
        else
            start_effects(h, 0);
        return;
    }

    int wanted = h->cb.on_tag != NULL && (h->cb.on_tag_ids == 0 || ((h->cb.on_tag_ids >> h->id) & 1) != 0 ||
                                          (h->cb.on_tag_urls && gw_html_may_name_url(raw, len)));
    if (!wanted && !(h->nonce_len != 0 && (h->id == GW_HTML_TAG_SCRIPT || h->id == GW_HTML_TAG_STYLE)) && !pre_tag(h, raw, len)) {
        if (in_tbuf) /* nothing to ask, nothing to add: the tag as it is */
            emit(h, raw, len);
        else
            pass(h, cur);
        h->tlen = 0;
        start_effects(h, 0);
        return;
    }

    gw_html_tag_t tag;
    int act = GW_HTML_KEEP, kind = elem_kind(h);
    tag_init(&tag, h, h->id, raw, len, h->tag_offset);
    if (wanted)
        act = h->cb.on_tag(h->ctx, &tag);
    if ((act & GW_HTML_TEXT) && kind != RAW_NONE && h->cb.on_text != NULL)
        h->text_cb = 1;
    act &= 3;
    if (act == GW_HTML_REMOVE) {
        if (!in_tbuf)
            drop(h, cur);
        h->tlen = 0;
        start_effects(h, 1);
    } else if (act == GW_HTML_HOLD && h->cb.on_held != NULL && svg_script(h)) {
        fhold_begin(h, &tag, in_tbuf, cur);
    } else if (act == GW_HTML_HOLD && kind != RAW_NONE) {
        if (!in_tbuf) {
            capture(h, cur);
        }
        h->holding = 1;
        h->hold_len = 0;
        h->held_offset = h->tag_offset;
        start_effects(h, 0);
    } else {
        emit_start_tag(h, &tag, in_tbuf, cur);
        start_effects(h, 0);
    }
}

/* A start tag filled tb: room from cb.alloc, GW_HTML_MAX_BIG_TAG bytes the first time, then GW_HTML_MAX_HUGE_TAG / 4,
 * then GW_HTML_MAX_HUGE_TAG (kept for the tags after it); 0 when there is no more room to have (the tag overflows) */
static int
grow_tag(gw_html_t *h)
{
    size_t cap = h->tb == h->tbuf                     ? GW_HTML_MAX_BIG_TAG
                 : h->tcap < GW_HTML_MAX_HUGE_TAG / 4 ? GW_HTML_MAX_HUGE_TAG / 4
                                                      : GW_HTML_MAX_HUGE_TAG;
    char *p;
    if (cap <= h->tcap || h->is_end || h->skip_depth != 0 || (p = bigger(h, h->tb, h->tlen, cap)) == NULL)
        return 0;
    h->tb = p;
    h->tcap = cap;
    return 1;
}

/* The tag so far (tb + [mark, cur)) has filled tb's room: decide now, stream the rest. */
static void
tag_overflow(gw_html_t *h, const char *cur)
{
    if (h->tstate == T_NAME)
        name_done(h);
    if (h->fhold)
        release(h, h->is_end && h->id == GW_HTML_TAG_SCRIPT);
    foreign_tag(h, 0, NULL, 0);
    if (h->is_end) {
        h->tag_drop = (uint8_t)end_effects(h);
    } else if (h->skip_depth != 0) {
        h->tag_drop = 1;
    } else if (h->cb.on_overflow != NULL) {
        gw_html_tag_t tag;
        tag.id = (gw_html_tag_id_t)h->id;
        tag.name = h->tname;
        tag.name_len = h->name_total < TNAME_MAX ? h->name_total : TNAME_MAX;
        tag.raw = NULL;
        tag.raw_len = 0;
        tag.offset = h->tag_offset;
        tag._h = h;
        tag._num_edits = tag._edits_refused = 0;
        tag._num_attrs = UINT16_MAX;
        if ((h->cb.on_overflow(h->ctx, &tag) & 3) == GW_HTML_REMOVE)
            h->tag_drop = h->tag_remove = 1;
    }
    if (h->tag_drop) {
        drop(h, cur);
    } else {
        if (h->tlen != 0)
            emit(h, h->tb, h->tlen);
        pass(h, cur);
    }
    h->tlen = 0;
    h->mode = M_TAG_PASS;
}

/* The '<' prefix (tbuf + [mark, upto)) turned out to be text or a comment opener. */
static void
prefix_release(gw_html_t *h, const char *upto)
{
    if (h->tlen != 0 && h->skip_depth == 0)
        emit(h, h->tb, h->tlen);
    h->tlen = 0;
    dispose(h, upto);
}

/* ... turned out to be text: with a held SVG script, its text */
static void
prefix_text(gw_html_t *h, const char *upto)
{
    if (!h->fhold) {
        prefix_release(h, upto);
        return;
    }
    if (h->tlen != 0)
        text_copy(h, h->tb, h->tlen);
    h->tlen = 0;
    text_out(h, upto);
}

/* ---- raw text ------------------------------------------------------------------------------ */

static int
cand_step(gw_html_t *h, unsigned char c)
{
    const char *nm = h->raw_name;
    size_t nlen = h->raw_name_len;

    switch (h->cand) {
    case K_LT:
        if (c == '/') {
            h->cand = K_END_OPEN;
            return R_CONT;
        }
        if (h->raw_id == GW_HTML_TAG_SCRIPT && !h->xml) { /* (XML has no escaped script states: "<!--" is a comment) */
            if (h->sstate == S_DATA && c == '!') {
                h->cand = K_BANG;
                return R_CONT;
            }
            if (h->sstate == S_ESC && is_alpha(c)) {
                h->cand = K_DESC;
                h->cand_n = 0;
                goto Name;
            }
        }
        return R_FAIL;
    case K_END_OPEN:
        if (is_ws(c) || c == '/' || c == '>')
            return R_FAIL;
        h->cand = K_END_NAME;
        h->cand_n = 0;
        /* fallthrough */
    case K_END_NAME:
    case K_DESC:
    Name: /* (any byte that is not a delimiter is compared: only a letter matches an HTML name, ':' a prefixed one) */
        if (!(is_ws(c) || c == '/' || c == '>')) {
            if (h->cand_n < nlen && lower(c) == (unsigned char)nm[h->cand_n]) {
                ++h->cand_n;
                return R_CONT;
            }
            return R_FAIL;
        }
        if (h->cand_n != nlen || !(is_ws(c) || c == '/' || c == '>'))
            return R_FAIL;
        if (h->cand == K_DESC) { /* "<script" inside "<!--": double escaped */
            h->sstate = S_DESC;
            h->dashes = 0;
            return R_SWITCH;
        }
        if (h->sstate == S_DESC) { /* "</script" in double escaped: back to escaped */
            h->sstate = S_ESC;
            h->dashes = 0;
            return R_SWITCH;
        }
        return R_END;
    case K_BANG:
        if (c != '-')
            return R_FAIL;
        h->cand = K_BANG_DASH;
        return R_CONT;
    default: /* K_BANG_DASH */
        if (c != '-')
            return R_FAIL;
        h->sstate = S_ESC; /* "<!--": escaped, in the dash-dash state */
        h->dashes = 2;
        return R_SWITCH;
    }
}

/* A candidate (pend + [mark, upto)) was content after all. */
static void
cand_content(gw_html_t *h, const char *upto)
{
    h->cand = K_NONE;
    content_copy(h, h->pend, h->pend_len);
    h->pend_len = 0;
    content(h, upto);
}

/* "</name" + delimiter at s: the element ends; its end tag continues as a tag. */
static void
raw_end_tag(gw_html_t *h)
{
    text_end(h);
    if (h->holding)
        release(h, 1);
    memcpy(h->tb, h->pend, h->pend_len);
    h->tlen = h->pend_len;
    h->pend_len = 0;
    h->cand = K_NONE;
    begin_tag(h, 1);
    h->raw_end = 1;
    h->name_total = h->raw_name_len;
    memcpy(h->tname, h->raw_name, h->name_total);
    h->name_hash = h->raw_hash;
    h->tag_offset = h->cand_offset;
}

static const char *
raw_step(gw_html_t *h, const char *cur, const char *end)
{
    const char *s;

    if (h->cand != K_NONE) {
        for (s = cur; s < end; ++s) {
            switch (cand_step(h, (unsigned char)*s)) {
            case R_CONT:
                continue;
            case R_FAIL:
                cand_content(h, s);
                return s;
            case R_SWITCH:
                cand_content(h, s + 1);
                return s + 1;
            default: /* R_END */
                raw_end_tag(h);
                return s;
            }
        }
        return end;
    }
    if (h->raw_id != GW_HTML_TAG_SCRIPT || h->sstate == S_DATA) {
        s = find_byte(cur, end, '<');
        if (s == NULL) {
            content(h, end);
            return end;
        }
    } else {
        for (s = cur; s < end; ++s) {
            unsigned char c = (unsigned char)*s;
            if (c == '-') {
                if (h->dashes < 2)
                    ++h->dashes;
            } else if (c == '>' && h->dashes == 2) {
                h->sstate = S_DATA; /* "-->" */
                h->dashes = 0;
                content(h, s + 1);
                return s + 1;
            } else {
                h->dashes = 0;
                if (c == '<')
                    break;
            }
        }
        if (s == end) {
            content(h, end);
            return end;
        }
    }
    content(h, s);
    h->cand = K_LT;
    h->cand_offset = h->pos + (uint64_t)(s - h->chunk);
    return s + 1;
}

/* ---- driver -------------------------------------------------------------------------------- */

static const char *
comment_step(gw_html_t *h, const char *s, const char *end)
{
    while (s < end) {
        if (h->cstate == C_BODY) {
            const char *q = find_byte(s, end, '-');
            if (q == NULL)
                break;
            s = q;
        }
        unsigned char c = (unsigned char)*s++;
        switch (h->cstate) {
        case C_START:
        case C_START_DASH:
            if (c == '>')
                goto Done;
            h->cstate = c != '-' ? C_BODY : h->cstate == C_START ? C_START_DASH : C_END;
            break;
        case C_BODY:
            h->cstate = C_DASH;
            break;
        case C_DASH:
            h->cstate = c == '-' ? C_END : C_BODY;
            break;
        case C_END:
            if (c == '>')
                goto Done;
            h->cstate = c == '!' ? C_BANG : c == '-' ? C_END : C_BODY;
            break;
        default: /* C_BANG: "--!" */
            if (c == '>')
                goto Done;
            h->cstate = c == '-' ? C_DASH : C_BODY;
            break;
        }
    }
    pre_dispose(h, end);
    return end;
Done:
    pre_dispose(h, s);
    h->mode = M_TEXT;
    return s;
}

static const char *
step(gw_html_t *h, const char *cur, const char *end)
{
    const char *q;
    unsigned char c = (unsigned char)*cur;
    int done;

    switch (h->mode) {
    case M_TEXT:
        q = find_byte(cur, end, '<');
        if (h->text_watch)
            watch_text(h, cur, (size_t)((q != NULL ? q : end) - cur));
        if (q == NULL) {
            text_out(h, end);
            return end;
        }
        text_out(h, q);
        h->tag_offset = h->pos + (uint64_t)(q - h->chunk);
        if (end - q > 2 && (is_alpha((unsigned char)q[1]) || (q[1] == '/' && is_alpha((unsigned char)q[2])))) {
            int is_end = q[1] == '/';
            const char *gt = whole_tag(h, q, end - q > GW_HTML_MAX_TAG ? q + GW_HTML_MAX_TAG : end, is_end);
            if (gt != NULL) {
                tag_done(h, gt + 1);
                return gt + 1;
            }
        }
        h->mode = M_LT;
        return q + 1;
    case M_LT:
        if (is_alpha(c)) {
            begin_tag(h, 0);
            return cur;
        }
        if (c == '/' || c == '!') {
            h->mode = c == '/' ? M_LT_SLASH : M_MD;
            return cur + 1;
        }
        if (c == '?' && h->xml) { /* a processing instruction, read as a tag named "?target" (see name_done) */
            begin_tag(h, 0);
            return cur;
        }
        if (c == '?')
            fhold_markup(h);
        prefix_text(h, cur);
        h->mode = c == '?' ? M_BOGUS : M_TEXT; /* "<?" opens a bogus comment, else '<' is text */
        if (c != '?')
            watch_text(h, "<", 1);
        return cur;
    case M_LT_SLASH:
        if (is_alpha(c)) {
            begin_tag(h, 1);
            return cur;
        }
        fhold_markup(h); /* ("</>" too: it may join two texts, which a held script's reader would see apart) */
        if (c == '>') { /* "</>" is dropped by browsers; pass it */
            prefix_release(h, cur + 1);
            h->mode = M_TEXT;
            return cur + 1;
        }
        prefix_release(h, cur);
        h->mode = M_BOGUS;
        return cur;
    case M_MD:
    case M_MD_DASH:
        if (c == '-' && h->mode == M_MD) {
            h->mode = M_MD_DASH;
            return cur + 1;
        }
        if (c == '-') {
            fhold_markup(h);
            prefix_release(h, cur + 1);
            h->mode = M_COMMENT;
            h->cstate = C_START;
            return cur + 1;
        }
        if (!(c == '[' && h->mode == M_MD && in_foreign(h)))
            fhold_markup(h); /* (a CDATA section in a held SVG script is its text: held with it) */
        prefix_text(h, cur); /* doctype, "<![CDATA[" in HTML content, "<!x": up to '>' */
        if (c == '[' && h->mode == M_MD && (in_foreign(h) || h->xml)) {
            /* "<![CDATA[" in foreign content opens a CDATA section (§13.2.5.42): text up to "]]>", whatever '>',
             * '<' or "<!--" it holds (read as a bogus comment up to its first '>', a "<!--" after that hid the tags
             * after the section). With an HTML element open at an integration point it is a bogus comment (the
             * frames hold the element: in_foreign is 0). At the integration point itself, with none open, a browser
             * opens one, but its preload scanner reads a bogus comment and fetches an <img> after the '>' (Chromium):
             * read as a bogus comment, the rewriter sees that <img> too, and hides less than the section. */
            h->mode = M_CDATA_OPEN;
            h->cdata_n = 0;
            return cur;
        }
        h->mode = M_BOGUS;
        return cur;
    case M_CDATA_OPEN: /* "[CDATA[" after "<!", case-sensitive; anything else makes it a bogus comment */
        if (c != (unsigned char)"[CDATA["[h->cdata_n]) {
            fhold_markup(h);
            h->mode = M_BOGUS;
            return cur;
        }
        text_out(h, cur + 1);
        if (++h->cdata_n == 7) {
            if (h->frameset == FS_MAYBE)
                h->frameset = FS_NO; /* (text, or not: in foreign content anyway) */
            h->mode = M_CDATA;
            h->cdata_n = 0;
        }
        return cur + 1;
    case M_CDATA:
        for (q = cur; q != end; ++q) {
            if (*q == ']') {
                if (h->cdata_n < 2)
                    ++h->cdata_n;
            } else if (*q == '>' && h->cdata_n == 2) {
                text_out(h, q + 1);
                h->mode = M_TEXT;
                return q + 1;
            } else {
                h->cdata_n = 0;
                if (*q == '<' || *q == '>')
                    pre_cdata(h, q);
            }
        }
        text_out(h, end);
        return end;
    case M_COMMENT:
        return comment_step(h, cur, end);
    case M_BOGUS:
        q = find_byte(cur, end, '>');
        if (q == NULL) {
            pre_dispose(h, end);
            return end;
        }
        pre_dispose(h, q + 1);
        h->mode = M_TEXT;
        return q + 1;
    case M_TAG: {
        size_t room = h->tcap - h->tlen - (size_t)(cur - h->mark), lim = end - cur;
        if (lim > room)
            lim = room;
        cur += tag_scan(h, cur, lim, &done);
        if (done)
            tag_done(h, cur);
        else if (cur < end && !grow_tag(h))
            tag_overflow(h, cur);
        return cur;
    }
    case M_TAG_PASS:
        cur += tag_scan(h, cur, end - cur, &done);
        if (h->tag_drop)
            drop(h, cur);
        else
            pass(h, cur);
        if (done) {
            if (h->is_end)
                h->mode = M_TEXT;
            else
                start_effects(h, h->tag_remove);
        }
        return cur;
    case M_RAW:
        return raw_step(h, cur, end);
    default: /* M_PLAIN */
        content(h, end);
        return end;
    }
}

int
gw_html_write(gw_html_t *h, const char *p, size_t n)
{
    const char *cur = p, *end = p + n;

    if (h == NULL || (p == NULL && n != 0) || h->ended)
        return -1;
    if (n == 0)
        return 0;
    h->chunk = h->mark = p;
    h->pass_from = NULL;
    while (cur < end)
        cur = step(h, cur, end);
    switch (h->mode) {
    case M_LT:
    case M_LT_SLASH:
    case M_MD:
    case M_MD_DASH:
    case M_TAG:
        capture(h, end); /* M_TAG bounded its scan: this fits */
        break;
    case M_RAW:
        if (h->cand != K_NONE) {
            flush_pass(h);
            memcpy(h->pend + h->pend_len, h->mark, end - h->mark);
            h->pend_len += (uint8_t)(end - h->mark);
            h->mark = end;
        }
        break;
    default:
        break;
    }
    flush_pass(h);
    h->chunk = h->mark = NULL;
    h->pos += n;
    return 0;
}

int
gw_html_end(gw_html_t *h)
{
    if (h == NULL || h->ended)
        return -1;
    h->ended = 1;
    if (h->fhold) /* an SVG script cut short: whole after its text (as an HTML one is), unread inside markup */
        release(h, h->mode == M_TEXT);
    /*
     * The snippet goes at the end only where a browser reads what follows as markup of its own: after text (a lone '<',
     * written "&lt;" then, is text), inside a removed element (what went out ended before it), or after an unterminated
     * tag, "<!" or "<!-", which browsers drop at the end of the input (eof-in-tag; an empty comment) and which are
     * dropped then. Appended to one, the snippet would finish it: `<img src="https://tracker/px" alt="` followed by
     * `<link rel=…>` is an image a browser loads, which it never loaded without the gateway and the policy never saw.
     * A page cut short inside a comment, or inside the content or end tag of a raw-text element other than <script>
     * (<style>, <title>, <textarea>, <noscript>, …), has it closed first ("-->", "</style>": what a browser's tokenizer
     * reads as the end in every state it can be in there, a pending "</sty" included, which then is text), and the
     * snippet after it. Never a <script>: a browser does not run one cut off by the end of the input, and one closed
     * would run the truncated code (as it would were the snippet, which holds a "</script>", put after its cut end tag).
     * Inside a script, a tag streamed past the cap, after "</" (a bogus comment up to the snippet's first '>') or in
     * a bogus comment or CDATA section, and on an XML page (cut short, it does not parse), the snippet would be text or
     * finish what is open: it goes nowhere then.
     */
    int inject = !h->injected && h->inject_len != 0 && !h->inject_in_place, close = 0;
    if (inject && h->skip_depth == 0) {
        switch (h->mode) {
        case M_TEXT:
        case M_LT:
        case M_MD:
        case M_MD_DASH:
            break;
        case M_TAG:
            if (h->raw_end && !h->xml) { /* (a script's cut end tag passes as it came) */
                close = h->raw_id != GW_HTML_TAG_SCRIPT;
                inject = close;
            }
            break;
        case M_COMMENT:
            close = inject = !h->xml;
            break;
        case M_RAW:
            close = inject = !h->xml && h->raw_id != GW_HTML_TAG_SCRIPT;
            break;
        default:
            inject = 0;
            break;
        }
    }
    switch (h->mode) {
    case M_LT:
    case M_LT_SLASH:
    case M_MD:
    case M_MD_DASH:
    case M_TAG: /* unterminated: browsers drop it, we pass it (unless the snippet follows: see above) */
        if (h->skip_depth == 0 && !inject)
            emit(h, h->tb, h->tlen);
        else if (h->skip_depth == 0 && h->mode == M_LT)
            emit(h, "&lt;", 4); /* the '<' a browser shows as text, which the snippet's first byte must not make a tag */
        h->tlen = 0;
        break;
    case M_RAW:
    case M_PLAIN:
        h->cand = K_NONE;
        content_copy(h, h->pend, h->pend_len);
        h->pend_len = 0;
        text_end(h);
        if (h->holding)
            release(h, 1);
        break;
    default:
        break;
    }
    if (close && h->mode == M_COMMENT) {
        emit(h, "-->", 3);
    } else if (close && h->skip_depth == 0) { /* (an element on_held removed just now has nothing to close) */
        emit(h, "</", 2);
        emit(h, h->raw_name, h->raw_name_len);
        emit(h, ">", 1);
    }
    if (inject) {
        h->injected = 1;
        emit(h, h->inject, h->inject_len);
    }
    return 0;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

size_t
gw_html_sizeof(size_t hold_cap)
{
    return sizeof(gw_html_t) + hold_cap;
}

gw_html_t *
gw_html_init(void *mem, size_t hold_cap, const gw_html_cb_t *cb, void *ctx)
{
    gw_html_t *h = mem;
    if (mem == NULL || cb == NULL || cb->emit == NULL)
        return NULL;
    memset(h, 0, offsetof(gw_html_t, out)); /* the buffers need no zeroing */
    h->cb = *cb;
    h->ctx = ctx;
    h->hold_cap = hold_cap;
    h->hb = h->hold;
    h->hb_cap = hold_cap;
    h->tb = h->tbuf;
    h->tcap = GW_HTML_MAX_TAG;
    h->mode = M_TEXT;
    h->text_watch = 1;
    return h;
}

gw_html_t *
gw_html_new(size_t hold_cap, const gw_html_cb_t *cb, void *ctx)
{
    void *mem;
    if (cb == NULL || cb->emit == NULL || hold_cap > SIZE_MAX - sizeof(gw_html_t))
        return NULL;
    mem = malloc(gw_html_sizeof(hold_cap));
    if (mem == NULL)
        return NULL;
    return gw_html_init(mem, hold_cap, cb, ctx);
}

void
gw_html_free(gw_html_t *h)
{
    free(h);
}

void
gw_html_set_nonce(gw_html_t *h, const char *nonce, size_t len)
{
    h->nonce = nonce;
    h->nonce_len = nonce != NULL ? len : 0;
}

void
gw_html_keep_nonces(gw_html_t *h, const char *script, const char *style)
{
    h->kept_nonce[0] = script;
    h->kept_nonce[1] = style;
    h->kept_nonce_len[0] = script != NULL ? strlen(script) : 0;
    h->kept_nonce_len[1] = style != NULL ? strlen(style) : 0;
}

void
gw_html_set_xml(gw_html_t *h)
{
    h->xml = 1;
}

void
gw_html_set_inject(gw_html_t *h, const char *snippet, size_t len)
{
    h->inject = snippet;
    h->inject_len = snippet != NULL ? len : 0;
}

void
gw_html_set_inject_in_place(gw_html_t *h)
{
    h->inject_in_place = 1;
}

int
gw_html_injected(const gw_html_t *h)
{
    return h->injected;
}

/* ---- character references ------------------------------------------------------------------ */

/* Named references for ASCII characters (WHATWG entities.json), plus &nbsp;, and then those whose character a URL's
 * host maps to ASCII letters or digits, or drops (UTS #46, as browsers map hosts): "tr&Aopf;cker.example" is
 * tracker.example to Chromium, "&fflig;" is "ff", "&shy;" nothing (the list: every entity of entities.json whose
 * value, in a host, comes out of url.domainToASCII as ASCII letters and digits; none is longer than its reference).
 * Entries without ';' are the legacy forms browsers also accept without it. */
static const struct {
    const char *name, *val;
} named_refs[] = {{"Tab;", "\t"},
                  {"NewLine;", "\n"},
                  {"excl;", "!"},
                  {"quot;", "\""},
                  {"QUOT;", "\""},
                  {"quot", "\""},
                  {"QUOT", "\""},
                  {"num;", "#"},
                  {"dollar;", "$"},
                  {"percnt;", "%"},
                  {"amp;", "&"},
                  {"AMP;", "&"},
                  {"amp", "&"},
                  {"AMP", "&"},
                  {"apos;", "'"},
                  {"lpar;", "("},
                  {"rpar;", ")"},
                  {"ast;", "*"},
                  {"midast;", "*"},
                  {"plus;", "+"},
                  {"comma;", ","},
                  {"period;", "."},
                  {"sol;", "/"},
                  {"colon;", ":"},
                  {"semi;", ";"},
                  {"lt;", "<"},
                  {"LT;", "<"},
                  {"lt", "<"},
                  {"LT", "<"},
                  {"equals;", "="},
                  {"gt;", ">"},
                  {"GT;", ">"},
                  {"gt", ">"},
                  {"GT", ">"},
                  {"quest;", "?"},
                  {"commat;", "@"},
                  {"lsqb;", "["},
                  {"lbrack;", "["},
                  {"bsol;", "\\"},
                  {"rsqb;", "]"},
                  {"rbrack;", "]"},
                  {"Hat;", "^"},
                  {"lowbar;", "_"},
                  {"UnderBar;", "_"},
                  {"grave;", "`"},
                  {"DiacriticalGrave;", "`"},
                  {"lcub;", "{"},
                  {"lbrace;", "{"},
                  {"verbar;", "|"},
                  {"vert;", "|"},
                  {"VerticalLine;", "|"},
                  {"rcub;", "}"},
                  {"rbrace;", "}"},
                  {"fjlig;", "fj"},
                  {"nbsp;", "\xc2\xa0"},
                  {"nbsp", "\xc2\xa0"},
    /* (characters a host maps to ASCII) */
    {"Afr;", "\xf0\x9d\x94\x84"}, {"afr;", "\xf0\x9d\x94\x9e"}, {"Aopf;", "\xf0\x9d\x94\xb8"},
    {"aopf;", "\xf0\x9d\x95\x92"}, {"Ascr;", "\xf0\x9d\x92\x9c"}, {"ascr;", "\xf0\x9d\x92\xb6"},
    {"bernou;", "\xe2\x84\xac"}, {"Bernoullis;", "\xe2\x84\xac"}, {"Bfr;", "\xf0\x9d\x94\x85"},
    {"bfr;", "\xf0\x9d\x94\x9f"}, {"Bopf;", "\xf0\x9d\x94\xb9"}, {"bopf;", "\xf0\x9d\x95\x93"},
    {"Bscr;", "\xe2\x84\xac"}, {"bscr;", "\xf0\x9d\x92\xb7"}, {"CapitalDifferentialD;", "\xe2\x85\x85"},
    {"Cayleys;", "\xe2\x84\xad"}, {"Cfr;", "\xe2\x84\xad"}, {"cfr;", "\xf0\x9d\x94\xa0"},
    {"circledS;", "\xe2\x93\x88"}, {"complexes;", "\xe2\x84\x82"}, {"Copf;", "\xe2\x84\x82"},
    {"copf;", "\xf0\x9d\x95\x94"}, {"Cscr;", "\xf0\x9d\x92\x9e"}, {"cscr;", "\xf0\x9d\x92\xb8"},
    {"DD;", "\xe2\x85\x85"}, {"dd;", "\xe2\x85\x86"}, {"Dfr;", "\xf0\x9d\x94\x87"}, {"dfr;", "\xf0\x9d\x94\xa1"},
    {"DifferentialD;", "\xe2\x85\x86"}, {"Dopf;", "\xf0\x9d\x94\xbb"}, {"dopf;", "\xf0\x9d\x95\x95"},
    {"Dscr;", "\xf0\x9d\x92\x9f"}, {"dscr;", "\xf0\x9d\x92\xb9"}, {"ee;", "\xe2\x85\x87"},
    {"Efr;", "\xf0\x9d\x94\x88"}, {"efr;", "\xf0\x9d\x94\xa2"}, {"ell;", "\xe2\x84\x93"},
    {"Eopf;", "\xf0\x9d\x94\xbc"}, {"eopf;", "\xf0\x9d\x95\x96"}, {"Escr;", "\xe2\x84\xb0"},
    {"escr;", "\xe2\x84\xaf"}, {"expectation;", "\xe2\x84\xb0"}, {"ExponentialE;", "\xe2\x85\x87"},
    {"exponentiale;", "\xe2\x85\x87"}, {"ffilig;", "\xef\xac\x83"}, {"fflig;", "\xef\xac\x80"},
    {"ffllig;", "\xef\xac\x84"}, {"Ffr;", "\xf0\x9d\x94\x89"}, {"ffr;", "\xf0\x9d\x94\xa3"},
    {"filig;", "\xef\xac\x81"}, {"fllig;", "\xef\xac\x82"}, {"Fopf;", "\xf0\x9d\x94\xbd"},
    {"fopf;", "\xf0\x9d\x95\x97"}, {"Fouriertrf;", "\xe2\x84\xb1"}, {"Fscr;", "\xe2\x84\xb1"},
    {"fscr;", "\xf0\x9d\x92\xbb"}, {"Gfr;", "\xf0\x9d\x94\x8a"}, {"gfr;", "\xf0\x9d\x94\xa4"},
    {"Gopf;", "\xf0\x9d\x94\xbe"}, {"gopf;", "\xf0\x9d\x95\x98"}, {"Gscr;", "\xf0\x9d\x92\xa2"},
    {"gscr;", "\xe2\x84\x8a"}, {"hamilt;", "\xe2\x84\x8b"}, {"Hfr;", "\xe2\x84\x8c"}, {"hfr;", "\xf0\x9d\x94\xa5"},
    {"HilbertSpace;", "\xe2\x84\x8b"}, {"Hopf;", "\xe2\x84\x8d"}, {"hopf;", "\xf0\x9d\x95\x99"},
    {"Hscr;", "\xe2\x84\x8b"}, {"hscr;", "\xf0\x9d\x92\xbd"}, {"Ifr;", "\xe2\x84\x91"}, {"ifr;", "\xf0\x9d\x94\xa6"},
    {"ii;", "\xe2\x85\x88"}, {"IJlig;", "\xc4\xb2"}, {"ijlig;", "\xc4\xb3"}, {"Im;", "\xe2\x84\x91"},
    {"image;", "\xe2\x84\x91"}, {"ImaginaryI;", "\xe2\x85\x88"}, {"imagline;", "\xe2\x84\x90"},
    {"imagpart;", "\xe2\x84\x91"}, {"integers;", "\xe2\x84\xa4"}, {"Iopf;", "\xf0\x9d\x95\x80"},
    {"iopf;", "\xf0\x9d\x95\x9a"}, {"Iscr;", "\xe2\x84\x90"}, {"iscr;", "\xf0\x9d\x92\xbe"},
    {"Jfr;", "\xf0\x9d\x94\x8d"}, {"jfr;", "\xf0\x9d\x94\xa7"}, {"Jopf;", "\xf0\x9d\x95\x81"},
    {"jopf;", "\xf0\x9d\x95\x9b"}, {"Jscr;", "\xf0\x9d\x92\xa5"}, {"jscr;", "\xf0\x9d\x92\xbf"},
    {"Kfr;", "\xf0\x9d\x94\x8e"}, {"kfr;", "\xf0\x9d\x94\xa8"}, {"Kopf;", "\xf0\x9d\x95\x82"},
    {"kopf;", "\xf0\x9d\x95\x9c"}, {"Kscr;", "\xf0\x9d\x92\xa6"}, {"kscr;", "\xf0\x9d\x93\x80"},
    {"lagran;", "\xe2\x84\x92"}, {"Laplacetrf;", "\xe2\x84\x92"}, {"Lfr;", "\xf0\x9d\x94\x8f"},
    {"lfr;", "\xf0\x9d\x94\xa9"}, {"Lopf;", "\xf0\x9d\x95\x83"}, {"lopf;", "\xf0\x9d\x95\x9d"},
    {"Lscr;", "\xe2\x84\x92"}, {"lscr;", "\xf0\x9d\x93\x81"}, {"Mellintrf;", "\xe2\x84\xb3"},
    {"Mfr;", "\xf0\x9d\x94\x90"}, {"mfr;", "\xf0\x9d\x94\xaa"}, {"Mopf;", "\xf0\x9d\x95\x84"},
    {"mopf;", "\xf0\x9d\x95\x9e"}, {"Mscr;", "\xe2\x84\xb3"}, {"mscr;", "\xf0\x9d\x93\x82"},
    {"naturals;", "\xe2\x84\x95"}, {"NegativeMediumSpace;", "\xe2\x80\x8b"}, {"NegativeThickSpace;", "\xe2\x80\x8b"},
    {"NegativeThinSpace;", "\xe2\x80\x8b"}, {"NegativeVeryThinSpace;", "\xe2\x80\x8b"}, {"Nfr;", "\xf0\x9d\x94\x91"},
    {"nfr;", "\xf0\x9d\x94\xab"}, {"NoBreak;", "\xe2\x81\xa0"}, {"Nopf;", "\xe2\x84\x95"},
    {"nopf;", "\xf0\x9d\x95\x9f"}, {"Nscr;", "\xf0\x9d\x92\xa9"}, {"nscr;", "\xf0\x9d\x93\x83"},
    {"numero;", "\xe2\x84\x96"}, {"Ofr;", "\xf0\x9d\x94\x92"}, {"ofr;", "\xf0\x9d\x94\xac"},
    {"Oopf;", "\xf0\x9d\x95\x86"}, {"oopf;", "\xf0\x9d\x95\xa0"}, {"order;", "\xe2\x84\xb4"},
    {"orderof;", "\xe2\x84\xb4"}, {"ordf", "\xc2\xaa"}, {"ordf;", "\xc2\xaa"}, {"ordm", "\xc2\xba"},
    {"ordm;", "\xc2\xba"}, {"oS;", "\xe2\x93\x88"}, {"Oscr;", "\xf0\x9d\x92\xaa"}, {"oscr;", "\xe2\x84\xb4"},
    {"Pfr;", "\xf0\x9d\x94\x93"}, {"pfr;", "\xf0\x9d\x94\xad"}, {"phmmat;", "\xe2\x84\xb3"},
    {"planckh;", "\xe2\x84\x8e"}, {"Poincareplane;", "\xe2\x84\x8c"}, {"Popf;", "\xe2\x84\x99"},
    {"popf;", "\xf0\x9d\x95\xa1"}, {"primes;", "\xe2\x84\x99"}, {"Pscr;", "\xf0\x9d\x92\xab"},
    {"pscr;", "\xf0\x9d\x93\x85"}, {"Qfr;", "\xf0\x9d\x94\x94"}, {"qfr;", "\xf0\x9d\x94\xae"},
    {"Qopf;", "\xe2\x84\x9a"}, {"qopf;", "\xf0\x9d\x95\xa2"}, {"Qscr;", "\xf0\x9d\x92\xac"},
    {"qscr;", "\xf0\x9d\x93\x86"}, {"quaternions;", "\xe2\x84\x8d"}, {"rationals;", "\xe2\x84\x9a"},
    {"Re;", "\xe2\x84\x9c"}, {"real;", "\xe2\x84\x9c"}, {"realine;", "\xe2\x84\x9b"}, {"realpart;", "\xe2\x84\x9c"},
    {"reals;", "\xe2\x84\x9d"}, {"Rfr;", "\xe2\x84\x9c"}, {"rfr;", "\xf0\x9d\x94\xaf"}, {"Ropf;", "\xe2\x84\x9d"},
    {"ropf;", "\xf0\x9d\x95\xa3"}, {"Rscr;", "\xe2\x84\x9b"}, {"rscr;", "\xf0\x9d\x93\x87"},
    {"Sfr;", "\xf0\x9d\x94\x96"}, {"sfr;", "\xf0\x9d\x94\xb0"}, {"shy", "\xc2\xad"}, {"shy;", "\xc2\xad"},
    {"Sopf;", "\xf0\x9d\x95\x8a"}, {"sopf;", "\xf0\x9d\x95\xa4"}, {"Sscr;", "\xf0\x9d\x92\xae"},
    {"sscr;", "\xf0\x9d\x93\x88"}, {"sup1", "\xc2\xb9"}, {"sup1;", "\xc2\xb9"}, {"sup2", "\xc2\xb2"},
    {"sup2;", "\xc2\xb2"}, {"sup3", "\xc2\xb3"}, {"sup3;", "\xc2\xb3"}, {"Tfr;", "\xf0\x9d\x94\x97"},
    {"tfr;", "\xf0\x9d\x94\xb1"}, {"Topf;", "\xf0\x9d\x95\x8b"}, {"topf;", "\xf0\x9d\x95\xa5"},
    {"TRADE;", "\xe2\x84\xa2"}, {"trade;", "\xe2\x84\xa2"}, {"Tscr;", "\xf0\x9d\x92\xaf"},
    {"tscr;", "\xf0\x9d\x93\x89"}, {"Ufr;", "\xf0\x9d\x94\x98"}, {"ufr;", "\xf0\x9d\x94\xb2"},
    {"Uopf;", "\xf0\x9d\x95\x8c"}, {"uopf;", "\xf0\x9d\x95\xa6"}, {"Uscr;", "\xf0\x9d\x92\xb0"},
    {"uscr;", "\xf0\x9d\x93\x8a"}, {"Vfr;", "\xf0\x9d\x94\x99"}, {"vfr;", "\xf0\x9d\x94\xb3"},
    {"Vopf;", "\xf0\x9d\x95\x8d"}, {"vopf;", "\xf0\x9d\x95\xa7"}, {"Vscr;", "\xf0\x9d\x92\xb1"},
    {"vscr;", "\xf0\x9d\x93\x8b"}, {"Wfr;", "\xf0\x9d\x94\x9a"}, {"wfr;", "\xf0\x9d\x94\xb4"},
    {"Wopf;", "\xf0\x9d\x95\x8e"}, {"wopf;", "\xf0\x9d\x95\xa8"}, {"Wscr;", "\xf0\x9d\x92\xb2"},
    {"wscr;", "\xf0\x9d\x93\x8c"}, {"Xfr;", "\xf0\x9d\x94\x9b"}, {"xfr;", "\xf0\x9d\x94\xb5"},
    {"Xopf;", "\xf0\x9d\x95\x8f"}, {"xopf;", "\xf0\x9d\x95\xa9"}, {"Xscr;", "\xf0\x9d\x92\xb3"},
    {"xscr;", "\xf0\x9d\x93\x8d"}, {"Yfr;", "\xf0\x9d\x94\x9c"}, {"yfr;", "\xf0\x9d\x94\xb6"},
    {"Yopf;", "\xf0\x9d\x95\x90"}, {"yopf;", "\xf0\x9d\x95\xaa"}, {"Yscr;", "\xf0\x9d\x92\xb4"},
    {"yscr;", "\xf0\x9d\x93\x8e"}, {"zeetrf;", "\xe2\x84\xa8"}, {"ZeroWidthSpace;", "\xe2\x80\x8b"},
    {"Zfr;", "\xe2\x84\xa8"}, {"zfr;", "\xf0\x9d\x94\xb7"}, {"Zopf;", "\xe2\x84\xa4"}, {"zopf;", "\xf0\x9d\x95\xab"},
    {"Zscr;", "\xf0\x9d\x92\xb5"}, {"zscr;", "\xf0\x9d\x93\x8f"}};

/* §13.2.5.80: code points 0x80-0x9F read as windows-1252 (0 = left as is). */
static const uint16_t c1_table[32] = {0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
                                      0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
                                      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

static int
is_alnum(unsigned char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static int
hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

size_t
gw_html_decode(const char *in, size_t len, char *o)
{
    size_t i = 0, n = 0;

    while (i < len) {
        const char *amp = memchr(in + i, '&', len - i);
        size_t run = amp != NULL ? (size_t)(amp - in) - i : len - i;
        memmove(o + n, in + i, run);
        n += run;
        i += run;
        if (i == len)
            break;
        if (i + 1 < len && in[i + 1] == '#') { /* §13.2.5.74-80 numeric character reference */
            size_t j = i + 2, start;
            int hex = j < len && (in[j] | 0x20) == 'x';
            uint32_t cp = 0;
            j += hex;
            start = j;
            for (; j < len; ++j) {
                int d = hex ? hex_val((unsigned char)in[j]) : (in[j] >= '0' && in[j] <= '9' ? in[j] - '0' : -1);
                if (d < 0)
                    break;
                cp = cp * (hex ? 16 : 10) + (uint32_t)d;
                if (cp > 0x10FFFF)
                    cp = 0x110000; /* saturate: stays out of range */
            }
            if (j == start) { /* "&#" or "&#x" without digits: not a reference */
                o[n++] = '&';
                ++i;
                continue;
            }
            if (j < len && in[j] == ';')
                ++j;
            if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = 0xFFFD;
            else if (cp >= 0x80 && cp <= 0x9F && c1_table[cp - 0x80] != 0)
                cp = c1_table[cp - 0x80];
            n += gw_utf8_put(o + n, cp);
            i = j;
            continue;
        }
        /* §13.2.5.73 named character reference: the longest match wins */
        size_t best = 0, best_len = 0;
        for (size_t k = 0; i + 1 < len && k != sizeof(named_refs) / sizeof(named_refs[0]); ++k) {
            if (named_refs[k].name[0] != in[i + 1])
                continue;
            size_t l = strlen(named_refs[k].name);
            if (l > best_len && l <= len - i - 1 && memcmp(in + i + 1, named_refs[k].name, l) == 0) {
                best = k;
                best_len = l;
            }
        }
        if (best_len != 0 && named_refs[best].name[best_len - 1] != ';') {
            /* legacy form in an attribute value: not a reference before '=' or an alphanumeric */
            size_t j = i + 1 + best_len;
            if (j < len && (in[j] == '=' || is_alnum((unsigned char)in[j])))
                best_len = 0;
        }
        if (best_len == 0) {
            o[n++] = '&';
            ++i;
            continue;
        }
        size_t vl = strlen(named_refs[best].val);
        memmove(o + n, named_refs[best].val, vl);
        n += vl;
        i += 1 + best_len;
    }
    return n;
}
