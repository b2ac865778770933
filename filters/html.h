/*
 * html — streaming HTML rewriter: the core the response filter runs page bodies through.
 *
 * Push-based like lol-html: gw_html_write(chunk) … gw_html_end(); the output goes to the
 * caller's emit() sink in order. The tokenizer follows the HTML5 tokenizer (WHATWG §13.2.5)
 * only as deep as rewriting needs: text, start and end tags with attributes, comments,
 * bogus comments, doctype, and the raw-text elements whose content is not markup (script
 * with its escaped / double-escaped states; style, iframe, xmp, noembed, noframes, and
 * noscript as a browser that runs scripts reads it; RCDATA textarea and title; plaintext).
 * There is no tree builder, but the part of one that decides what is raw text is kept:
 * inside <svg> and <math> (foreign content) nothing is raw text and an HTML tag such as <p>
 * (or a <font> with color, face or size) ends it, while their HTML integration points
 * (foreignObject, desc, title; mi, mo, mn, ms, mtext but for an <mglyph> or <malignmark>
 * in them; annotation-xml with an HTML encoding) read HTML again, with the HTML elements open
 * in them (an end tag such as </svg> is ignored while one is: see html.c for where this model
 * still differs from a browser);
 * and after a <frameset> that replaces the body, where the tree builder ignores every tag but frame, frameset and noframes,
 * nothing but <noframes> is raw text. No implied
 * end tags; "<![CDATA[" in foreign content is a CDATA section (text up to "]]>"), elsewhere
 * (HTML content, integration points) a bogus comment ending at the first '>'.
 *
 * Memory is fixed per rewriter: one struct holding one tag buffer of GW_HTML_MAX_TAG bytes
 * (a tag that spans chunks is collected there), plus the optional hold buffer for inline
 * script content, plus — only for a page with a start tag longer than that, and only when
 * the caller gives cb.alloc — one buffer of GW_HTML_MAX_BIG_TAG bytes asked for once (and,
 * for a start tag longer than that, one of GW_HTML_MAX_HUGE_TAG / 4, then GW_HTML_MAX_HUGE_TAG).
 * Text, comments and raw-text content are never buffered (at most the ten bytes of a
 * possible "</textarea" that spans two chunks). A start tag longer than the buffer it can
 * have (GW_HTML_MAX_TAG, or GW_HTML_MAX_HUGE_TAG with cb.alloc), whatever the chunking, is
 * passed through untouched (on_overflow may drop it instead) and the tokenizer continues in
 * the state the tag leads to; so is an end tag longer than GW_HTML_MAX_TAG.
 * Bytes the rewriter does not change reach emit() as slices of the caller's chunk,
 * consecutive ones joined into one call. Output never depends on how input is chunked.
 *
 * Malformed markup passes through byte-identical: with no callbacks, no nonce and no
 * injection, output == input for every input.
 */
#ifndef GW_HTML_H
#define GW_HTML_H

#include <stddef.h>
#include <stdint.h>

/* Longest tag (from '<' to '>' inclusive) given to callbacks; longer tags pass through. */
#define GW_HTML_MAX_TAG 8192
/* ... with cb.alloc: the first buffer a longer start tag gets (attribute offsets of tags up to
 * this size are cached as 16-bit; gw_html_attr_find scans longer ones) */
#define GW_HTML_MAX_BIG_TAG 65535
/* ... and the longest start tag given to callbacks with cb.alloc (a tag past GW_HTML_MAX_BIG_TAG
 * gets GW_HTML_MAX_HUGE_TAG / 4 bytes, and past that GW_HTML_MAX_HUGE_TAG) */
#define GW_HTML_MAX_HUGE_TAG (1024 * 1024)
/* with cb.alloc: the most content of a held element given to on_held (content past the hold_cap given at creation gets
 * GW_HTML_MAX_HUGE_HOLD / 4 bytes, and past that GW_HTML_MAX_HUGE_HOLD) */
#define GW_HTML_MAX_HUGE_HOLD (1024 * 1024)
/* Attribute edits per tag (set, remove, rename); one more is reserved for the nonce. */
#define GW_HTML_MAX_EDITS 8

/* Elements the rewriter knows by name; every other name is GW_HTML_TAG_OTHER. */
typedef enum en_gw_html_tag_id_t {
    GW_HTML_TAG_OTHER = 0,
    GW_HTML_TAG_A,
    GW_HTML_TAG_AREA,
    GW_HTML_TAG_AUDIO,
    GW_HTML_TAG_BASE,
    GW_HTML_TAG_BODY,
    GW_HTML_TAG_BR,
    GW_HTML_TAG_COL,
    GW_HTML_TAG_EMBED,
    GW_HTML_TAG_FORM,
    GW_HTML_TAG_HEAD,
    GW_HTML_TAG_HR,
    GW_HTML_TAG_HTML,
    GW_HTML_TAG_IFRAME,
    GW_HTML_TAG_IMG,
    GW_HTML_TAG_INPUT,
    GW_HTML_TAG_LINK,
    GW_HTML_TAG_META,
    GW_HTML_TAG_NOEMBED,
    GW_HTML_TAG_NOFRAMES,
    GW_HTML_TAG_NOSCRIPT,
    GW_HTML_TAG_OBJECT,
    GW_HTML_TAG_PARAM,
    GW_HTML_TAG_PLAINTEXT,
    GW_HTML_TAG_SCRIPT,
    GW_HTML_TAG_SOURCE,
    GW_HTML_TAG_STYLE,
    GW_HTML_TAG_TEXTAREA,
    GW_HTML_TAG_TITLE,
    GW_HTML_TAG_TRACK,
    GW_HTML_TAG_VIDEO,
    GW_HTML_TAG_WBR,
    GW_HTML_TAG_XMP,
    GW_HTML_TAG_IMAGE,   /* SVG <image> (out of alphabetical order: added later) */
    GW_HTML_TAG_USE,     /* SVG <use> */
    GW_HTML_TAG_BUTTON,  /* (formaction) */
    GW_HTML_TAG_FRAME,   /* <frameset>'s frames */
    GW_HTML_TAG_FEIMAGE, /* SVG <feImage>: a filter's image (href) */
    GW_HTML_TAG_SET,     /* SVG <set>: sets another element's attribute (an <a>'s or <image>'s href, say) */
    GW_HTML_TAG_ANIMATE, /* SVG <animate>: animates another element's attribute, as <set> does */
    GW_HTML_TAG_TEMPLATE, /* (its content is inert: what goes before the page's first script goes before it) */
    GW_HTML_TAG__COUNT
} gw_html_tag_id_t;

/* Actions, returned by on_tag / on_held / on_overflow. */
#define GW_HTML_KEEP 0   /* emit the tag (with the edits made on it, and the nonce) */
#define GW_HTML_REMOVE 1 /* drop the element: see on_tag */
#define GW_HTML_HOLD 2   /* on_tag only, raw-text elements only: hold tag + content for on_held */
#define GW_HTML_TEXT 4   /* flag, on_tag only, raw-text elements: stream the content to on_text */

/* One attribute, as written. Slices point into gw_html_tag_t.raw. */
typedef struct st_gw_html_attr_t {
    const char *name; /* original case; compare with the case-insensitive helpers */
    size_t name_len;
    const char *value; /* without its quotes, character references still encoded (see
                          gw_html_decode); NULL when the attribute has no '=' */
    size_t value_len;
} gw_html_attr_t;

/* A start tag handed to on_tag / on_held / on_overflow. Valid during the callback only. */
typedef struct st_gw_html_tag_t {
    gw_html_tag_id_t id;
    const char *name; /* as written (on_overflow: lower-cased, at most 31 bytes) */
    size_t name_len;
    const char *raw; /* the whole tag, '<' … '>' (NULL in on_overflow) */
    size_t raw_len;
    uint64_t offset; /* stream offset of its '<' */
    /* private */
    struct st_gw_html_t *_h;
    unsigned _num_edits, _edits_refused;
    /* the first attributes, scanned once on the first lookup (offsets into raw; value 0: no value) */
    uint16_t _num_attrs, _attrs_more; /* _num_attrs UINT16_MAX: not scanned yet */
    uint32_t _attrs_end;              /* where scanning resumes when _attrs_more */
    struct {
        uint16_t name, name_len, value, value_len;
    } _attrs[16];
    struct {
        uint8_t op;
        const char *name, *arg;
        size_t name_len, arg_len;
    } _edits[GW_HTML_MAX_EDITS + 1];
} gw_html_tag_t;

typedef struct st_gw_html_cb_t {
    /* Required. Receives the output in order; p is valid during the call only. */
    void (*emit)(void *ctx, const char *p, size_t n);
    /*
     * Optional; called for every start tag outside removed elements (only those of on_tag_ids
     * when that is set). May inspect and edit
     * the tag (gw_html_attr_*), write text before it (gw_html_tag_insert), and returns:
     *   GW_HTML_KEEP   emit the tag, with its edits;
     *   GW_HTML_REMOVE drop the element: a void element (img, link, …) is just the tag; a
     *                  raw-text element (script, style, iframe, textarea, title, …) is the
     *                  tag, its content and its end tag; any other element is everything
     *                  up to the end tag that balances it (same-name tags are counted, so do
     *                  not remove elements whose end tag may be omitted, like <p> or <li>);
     *   GW_HTML_HOLD   (script, style and the other raw-text elements, and an SVG script:
     *                  see gw_html_held_markup; else read as KEEP)
     *                  keep tag and content back, up to the hold_cap given at creation
     *                  (with alloc, up to GW_HTML_MAX_HUGE_HOLD when that is more),
     *                  then call on_held; edits made here are discarded.
     * GW_HTML_TEXT may be or-ed in (raw-text elements) to have on_text see the content.
     */
    int (*on_tag)(void *ctx, gw_html_tag_t *tag);
    /*
     * Optional (without it, held elements are kept). Called once per held element, when its
     * end tag arrives or at end of input (complete = 1, content is the whole content), or
     * when its content outgrows the hold (complete = 0, content is its first hold_cap bytes,
     * or with alloc its first GW_HTML_MAX_HUGE_HOLD; the rest streams after). The tag can be edited as in on_tag; returns GW_HTML_KEEP
     * (tag with edits, then the content) or GW_HTML_REMOVE (tag, content and end tag dropped).
     */
    int (*on_held)(void *ctx, gw_html_tag_t *tag, const char *content, size_t len, int complete);
    /* Optional. Content of a GW_HTML_TEXT element, in pieces as it streams (any split);
     * then a last call with n == 0 at its end tag or at end of input. */
    void (*on_text)(void *ctx, const char *p, size_t n);
    /*
     * Optional. Called for a start tag longer than GW_HTML_MAX_TAG (GW_HTML_MAX_HUGE_TAG with
     * alloc) outside removed elements, with only id, name and offset set. Returns GW_HTML_KEEP (the default: the
     * tag passes through untouched, without nonce) or GW_HTML_REMOVE (the element is
     * dropped, as on_tag's REMOVE).
     */
    int (*on_overflow)(void *ctx, gw_html_tag_t *tag);
    /* Optional: the start tags on_tag is called for, as a mask of 1ull << id (bit 0: every name
     * the rewriter does not know); 0 means all of them. The others are kept as they are (and
     * still get the nonce). */
    uint64_t on_tag_ids;
    /* Optional: with on_tag_ids set, also call on_tag for any other start tag whose bytes hold '(' or '&' (a CSS
     * url() or image-set() in a style attribute, or a character reference that may stand for its parenthesis) or
     * "background" in any case (a legacy background attribute). */
    int on_tag_urls;
    /* Optional: receives, in place of emit and in the same order, the bytes of the start tags the rewriter writes
     * itself (tags with edits or the nonce); all other output goes to emit. */
    void (*emit_tag)(void *ctx, const char *p, size_t n);
    /*
     * Optional. GW_HTML_MAX_BIG_TAG bytes for the first start tag longer than GW_HTML_MAX_TAG
     * (outside removed elements); for a start tag that outgrows that buffer, GW_HTML_MAX_HUGE_TAG
     * / 4 bytes, and then GW_HTML_MAX_HUGE_TAG. Each size is asked for at most once
     * per rewriter, which keeps the largest for the tags after it, so tags up to
     * GW_HTML_MAX_HUGE_TAG bytes are read whole. Likewise for held content past hold_cap:
     * GW_HTML_MAX_HUGE_HOLD / 4 bytes, then GW_HTML_MAX_HUGE_HOLD (each at most once). It
     * never frees the memory (a request pool does). Without it, or when it returns NULL,
     * such tags overflow and such content is released early (complete = 0).
     */
    void *(*alloc)(void *ctx, size_t n);
} gw_html_cb_t;

typedef struct st_gw_html_t gw_html_t;

/* Returns the bytes a rewriter with the given hold capacity needs (for gw_html_init). */
size_t gw_html_sizeof(size_t hold_cap);

/*
 * Initialises a rewriter in caller memory of at least gw_html_sizeof(hold_cap) bytes,
 * aligned for pointers and uint64_t (malloc, h2o_mem_alloc_pool). Returns mem as a
 * gw_html_t *, or NULL when mem, cb or cb->emit is NULL. *cb is copied; ctx is passed to
 * every callback. Callbacks must not call gw_html_write/gw_html_end on the same rewriter.
 * Nothing to free: the memory is the caller's. No allocation happens after this.
 */
gw_html_t *gw_html_init(void *mem, size_t hold_cap, const gw_html_cb_t *cb, void *ctx);

/* As gw_html_init, in one malloc'ed block. Returns NULL when out of memory or on bad
 * arguments. Free with gw_html_free. */
gw_html_t *gw_html_new(size_t hold_cap, const gw_html_cb_t *cb, void *ctx);

/* Frees a rewriter made by gw_html_new. NULL is ignored. */
void gw_html_free(gw_html_t *h);

/*
 * Sets the nonce every emitted <script> and <style> start tag gets as nonce="…" (an
 * existing nonce attribute is replaced; removed and over-cap elements get none). Not
 * copied: nonce must outlive the rewriter. NULL or len 0 turns it off. Call before writing.
 */
void gw_html_set_nonce(gw_html_t *h, const char *nonce, size_t len);

/*
 * Nonces an existing nonce attribute keeps instead of taking gw_html_set_nonce's: the origin's own, which its own
 * policy lets the element in by (the element's nonce is compared as written). script for <script>, style for <style>;
 * NULL or "" for none. Not copied. Call before writing.
 */
void gw_html_keep_nonces(gw_html_t *h, const char *script, const char *style);

/*
 * Reads the page as an XML parser does (application/xhtml+xml): "/>" closes any element, no element is raw text but a
 * <script> and <style> with content (held and read as in HTML, up to its end tag, "</h:script>" for "<h:script>"; an
 * element written inside one, which XML builds, is not seen), "<![CDATA[" opens a CDATA section anywhere, an element is known by its local name ("h:img"
 * is an <img>), any prefix of an attribute may be xlink's, and a processing instruction is a tag named "?target"
 * ("<?xml-stylesheet href=…?>" is a GW_HTML_TAG_LINK, its pseudo-attributes its attributes, with no content). Call
 * before writing.
 */
void gw_html_set_xml(gw_html_t *h);

/*
 * From on_tag: emits the snippet of gw_html_set_inject now, before this tag, unless it went
 * out already (then nothing). For a tag that changes how what follows is read, e.g. <base>.
 */
void gw_html_tag_inject(gw_html_tag_t *tag);

/*
 * Sets the snippet emitted once: before the first </head>, or failing that before the first
 * </body>, or failing that at gw_html_end (end tags inside removed elements do not count).
 * Not copied: it must outlive the rewriter. NULL or len 0 turns it off. Call before writing.
 */
void gw_html_set_inject(gw_html_t *h, const char *snippet, size_t len);

/* The snippet goes only where a document has its place (</head>, </body>, gw_html_tag_inject), never at gw_html_end:
 * a fragment (a table row, a <div>) has none of them. */
void gw_html_set_inject_in_place(gw_html_t *h);

/* Whether the snippet went out already. */
int gw_html_injected(const gw_html_t *h);

/*
 * Feeds p[0..n) (any split of the page; n may be 0). Callbacks and emit() run from inside.
 * Returns 0, or -1 when h is NULL, p is NULL with n > 0, or after gw_html_end.
 */
int gw_html_write(gw_html_t *h, const char *p, size_t n);

/* Ends the input: flushes what is held (an unterminated tag passes through), releases a
 * held element, injects the snippet if not done yet. Returns 0, or -1 when h is NULL or
 * gw_html_end was already called. */
int gw_html_end(gw_html_t *h);

/* Whether the bytes of a start tag may hold a URL in a style attribute or a legacy background attribute: what
 * on_tag_urls asks on_tag about. */
int gw_html_may_name_url(const char *raw, size_t len);

/* ---- inside callbacks ---------------------------------------------------------------- */

/* Iterates over the tag's attributes in order, duplicates included. *iter starts at 0.
 * Returns 1 with *out set, or 0 at the end (and always 0 in on_overflow). */
int gw_html_attr_next(const gw_html_tag_t *tag, size_t *iter, gw_html_attr_t *out);

/* Finds the first attribute named name[0..len) (ASCII case-insensitive; browsers ignore
 * later duplicates). Returns 1 with *out set (out may be NULL), else 0. */
int gw_html_attr_find(const gw_html_tag_t *tag, const char *name, size_t len, gw_html_attr_t *out);

/*
 * Attribute edits, applied when the tag is emitted. Each returns 0, or -1 when the tag
 * already holds GW_HTML_MAX_EDITS edits. A later edit of a name replaces the earlier one,
 * except that a rename and a set of the same name combine: rename("type", "data-cg-type")
 * then set("type", "text/plain") keeps the old value under the new name and adds the new
 * type. Names are compared ASCII case-insensitively and must be valid attribute names.
 * Strings are NOT copied: they must stay valid until the callback has returned and either
 * the rewriter's next callback begins or gw_html_write/gw_html_end returns (request-pool
 * memory, or a buffer in ctx reused per tag).
 *
 * set: the first attribute of that name gets value (plain text: '&' and '"' are escaped
 *      on output; value NULL makes a bare attribute like `async`), later duplicates are
 *      dropped; appended at the end of the tag when absent.
 * remove: drops every attribute of that name.
 * rename: renames every attribute of that name, keeping its value as written; attributes
 *      already named new_name are dropped (unless an edit names them).
 */
int gw_html_attr_set(gw_html_tag_t *tag, const char *name, size_t name_len, const char *value, size_t value_len);
/* Whether an edit of this tag was refused (past GW_HTML_MAX_EDITS): the tag goes out without it. */
int gw_html_tag_edits_refused(const gw_html_tag_t *tag);
/*
 * In on_held: whether the held element is an SVG <script> (in <svg>, foreign content), which a browser runs but whose
 * content it reads as markup: the content is the text up to its "</script>" as written, its character references not
 * decoded (see gw_html_decode) and its CDATA sections ("<![CDATA[…]]>", their text as it is) kept. It is complete only
 * when nothing but text and CDATA sections came before that end tag: a tag in it (which may break out of the <svg>, and
 * is read as a tag after on_held), a comment or other markup, or text past the hold, hands it over with complete 0 and
 * the text before it, and the rest streams after, read as markup (or dropped inside the element on REMOVE).
 */
int gw_html_held_markup(const gw_html_tag_t *tag);
int gw_html_attr_remove(gw_html_tag_t *tag, const char *name, size_t name_len);
int gw_html_attr_rename(gw_html_tag_t *tag, const char *name, size_t name_len, const char *new_name, size_t new_len);

/* Emits p[0..n) now, ahead of the tag (and of its element); e.g. the comment that replaces
 * a removed element. Not copied. Only from inside on_tag / on_held. */
void gw_html_tag_insert(gw_html_tag_t *tag, const char *p, size_t n);

/*
 * Decodes the character references of an attribute value as browsers do (§13.2.5.72-80):
 * &#NN; &#xHH; (with or without ';', with the windows-1252 remapping of 0x80-0x9F, U+FFFD
 * for 0, surrogates and > 0x10FFFF), and the named references that stand for ASCII
 * characters (&amp; &quot; &lt; &gt; &apos; &sol; &colon; &period; … and legacy &amp &lt &gt
 * &quot without ';' unless followed by '=' or an alphanumeric) plus &nbsp;, and those whose
 * character a URL's host maps to ASCII or drops (&Aopf; &fflig; &shy; …: see html.c). Other named
 * references are copied as they are. out needs len bytes: the result is never longer.
 * Returns the decoded length. in may be NULL when len is 0; in and out must not overlap
 * unless in == out (in-place decoding works).
 */
size_t gw_html_decode(const char *in, size_t len, char *out);

#endif
