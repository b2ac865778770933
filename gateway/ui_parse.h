/*
 * ui_parse — the consent UI's parsers, as pure functions over (const char *, size_t): no h2o types,
 * no allocation, no global state. gateway/ui.c uses them at start-up (templates) and on the request
 * path (Accept-Language, string interpolation, escaping); tests/unit/test_ui_parse.c and
 * tests/fuzz/fuzz_ui_parse.c drive them directly.
 *
 * Template syntax (static/templates/ (*.html)):
 *   {{key}}     a UI string        {{$var}}   a value
 *   {{#s}}…{{/s}} a section        {{^s}}…{{/s}} its negation
 *   {{>file}}   another template (the caller inlines it)
 * A tag's content is 1..128 bytes up to the first "}}". Text outside tags is passed on verbatim.
 */
#ifndef GW_UI_PARSE_H
#define GW_UI_PARSE_H

#include <stddef.h>

/* --- Accept-Language ------------------------------------------------------------------------ */

/*
 * The index in codes[0..num_codes) of the language to serve for an Accept-Language value, or -1
 * when no listed tag matches. Each tag (q > 0) is matched case-insensitively ('_' as '-') against
 * the codes: looked up first (RFC 4647 3.4: "zh-Hant-TW", then "zh-Hant", then "zh"), else a Chinese
 * tag by its script, explicit or its region's (zh-TW, zh-HK, zh-MO: Traditional, "zh-Hant"; zh,
 * zh-SG: Simplified, "zh-CN"), else by its primary subtag ("zh-TW" → "zh-CN" when no code is
 * Traditional, "en-GB" → "en"; the first code that fits wins), never one a tag with q=0 covers
 * ("zh;q=0" refuses "zh-CN" and "zh-Hant", wherever it stands). The highest q wins; on a tie the
 * earlier tag. q is read to
 * three decimals ("q=1", "q=0.8"); anything else after ';' leaves q at 1. "*" matches nothing.
 * Reads only al[0..len); al need not be NUL-terminated. codes are NUL-terminated; not retained.
 */
int gw_ui_negotiate(const char *al, size_t len, const char *const *codes, size_t num_codes);

/* --- templates ------------------------------------------------------------------------------ */

enum {
    GW_UI_TEXT,     /* literal text */
    GW_UI_STR,      /* {{key}}: s is the key */
    GW_UI_VAR,      /* {{$var}}: s is the name without '$' */
    GW_UI_SECTION,  /* {{#s}} */
    GW_UI_INVERTED, /* {{^s}} */
    GW_UI_CLOSE,    /* {{/s}}, always matching the innermost open section */
    GW_UI_PARTIAL   /* {{>file}}: s is the file name */
};

/* errors of gw_ui_parse_template() */
enum {
    GW_UI_EUNTERMINATED = -1, /* "{{" without "}}" within 128 bytes, or "{{}}" */
    GW_UI_EDEPTH = -2,        /* more than GW_UI_MAX_OPEN sections open */
    GW_UI_EMISMATCH = -3,     /* {{/s}} with no open section, or not closing the innermost one */
    GW_UI_EUNCLOSED = -4,     /* end of input with a section still open */
    GW_UI_ECALLBACK = -5      /* the callback returned non-zero */
};

#define GW_UI_MAX_OPEN 32
#define GW_UI_MAX_TAG 128

/*
 * Called once per piece of the template, in order: kind is a GW_UI_* above, s/len point into the
 * template's source (len >= 1 for text, may be 0 for a name such as "{{$}}"). Returns 0 to go on,
 * non-zero to stop the parse (gw_ui_parse_template() then returns GW_UI_ECALLBACK).
 */
typedef int (*gw_ui_tmpl_cb)(void *ctx, int kind, const char *s, size_t len);

/* where an error was found: offset of the offending "{{" (for EUNCLOSED, of the unclosed section's
 * tag) and, for EMISMATCH/EUNCLOSED, the section name concerned (points into src; NULL otherwise) */
typedef struct st_gw_ui_tmpl_err_t {
    size_t at;
    const char *name;
    size_t name_len;
} gw_ui_tmpl_err_t;

/*
 * Parses one template src[0..len) and reports its pieces to cb. Returns 0, or a GW_UI_E* (< 0) with
 * *err filled in (err may be NULL). Sections are balanced within this one source: every
 * GW_UI_CLOSE reported closes the innermost GW_UI_SECTION/GW_UI_INVERTED reported before it, but
 * when the parse fails the pieces reported so far may be unbalanced. Allocates nothing.
 */
int gw_ui_parse_template(const char *src, size_t len, gw_ui_tmpl_cb cb, void *ctx, gw_ui_tmpl_err_t *err);

/* --- strings -------------------------------------------------------------------------------- */

/* receives output bytes s[0..len) (len may be 0); must copy them, s is not retained */
typedef void (*gw_ui_out_cb)(void *ctx, const char *s, size_t len);

/* the value of variable name[0..len): sets value and value_len and returns 1, or returns 0 (unknown) */
typedef int (*gw_ui_lookup_cb)(void *ctx, const char *name, size_t len, const char **value, size_t *value_len);

/* writes s[0..len) to out with & < > " ' HTML-escaped (text and attribute values alike) */
void gw_ui_escape(const char *s, size_t len, gw_ui_out_cb out, void *ctx);

/*
 * Writes a UI string s[0..len) to out, each {name} whose name lookup knows replaced by its value;
 * everything (the string and the values) is HTML-escaped. A '{' that does not start a known {name}
 * stays as it is, and the scan goes on right after it ("{{a}}" with a known: "{" + value + "}").
 */
void gw_ui_interpolate(const char *s, size_t len, gw_ui_lookup_cb lookup, gw_ui_out_cb out, void *ctx);

#endif
