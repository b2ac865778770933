/*
 * mime — the MIME type of a response as browsers take it from its Content-Type (pure; the glue is gateway/front.c).
 *
 * The Fetch standard's "extract a MIME type", with an item read as Chromium reads it (see gw_mime_parse): every
 * Content-Type field's value is split at commas outside quoted strings, each item parsed as a MIME type
 * ("type/subtype; name=value; …"); the last valid one other than an item that is just the wildcard type ("*" "/" "*",
 * with no parameters) wins, with the charset of the last item of its run of the same type that names one. A wildcard
 * with parameters is a type, which browsers sniff.
 */
#ifndef GW_MIME_H
#define GW_MIME_H

#include <stddef.h>

typedef struct st_gw_mime_t {
    const char *essence; /* "type/subtype" as written (compare without case); NULL: none found */
    size_t essence_len;
    const char *charset; /* the charset parameter's value (unquoted; a quoted one with escapes comes as written), NULL if none */
    size_t charset_len;
} gw_mime_t;

/* one item (no comma of its own): 0 and *out, or -1 when it is no MIME type */
int gw_mime_parse(const char *p, size_t len, gw_mime_t *out);

/* ready for a response's values */
void gw_mime_extract_init(gw_mime_t *m);

/* the next Content-Type field's value, read into m (which points into value: keep it alive) */
void gw_mime_extract_add(gw_mime_t *m, const char *value, size_t len);

/* 1 when a browser sniffs the type of a response that says m (extracted from all its Content-Type fields): none
 * valid, or one that says it is not known ("unknown/unknown", "application/unknown", "*" "/" "*"); unless the
 * response also says "X-Content-Type-Options: nosniff", which the caller checks */
int gw_mime_sniffs(const gw_mime_t *m);

/*
 * Whether a body whose type is sniffed is taken for HTML, as Chromium's sniffer decides it: within its first
 * GW_MIME_SNIFF_MAX bytes, after ASCII whitespace, "<" and one of a list of tags ("<!DOCTYPE html", "<script",
 * "<html", "<!--", "<head", "<p", … without case, and with nothing required after them: "<b" takes "<bdi" too).
 * p[0..len) are the body's first bytes; complete: they are all of it. 1: HTML, 0: not, -1: more bytes could still
 * make it HTML (never when len >= GW_MIME_SNIFF_MAX or complete).
 */
#define GW_MIME_SNIFF_MAX 512
int gw_mime_sniff_html(const char *p, size_t len, int complete);

/* 1 when an HTTP token character (RFC 9110 5.6.2) */
int gw_mime_is_tchar(int c);

#endif
