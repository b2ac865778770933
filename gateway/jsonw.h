/*
 * jsonw — a tiny JSON writer for answers built on request paths (which never use jansson):
 * appends to a buffer grown in an h2o memory pool, escapes strings per RFC 8259.
 */
#ifndef GW_JSONW_H
#define GW_JSONW_H

#include <string.h>
#include <h2o.h>

typedef struct st_gw_jsonw_t {
    h2o_mem_pool_t *pool; /* NULL: malloc/realloc (caller frees buf) */
    char *buf;
    size_t len, cap;
} gw_jsonw_t;

void gw_jsonw_init(gw_jsonw_t *w, h2o_mem_pool_t *pool, size_t initial);
void gw_jsonw_grow(gw_jsonw_t *w, size_t more); /* room for more bytes after len */

/* raw text; inline, so that a literal's length is known when it is compiled (a rewritten page's UI and state are
 * written with dozens of them) */
static inline void gw_jsonw_raw(gw_jsonw_t *w, const char *s, size_t len)
{
    if (len > w->cap - w->len)
        gw_jsonw_grow(w, len);
    memcpy(w->buf + w->len, s, len);
    w->len += len;
}

static inline void gw_jsonw_lit(gw_jsonw_t *w, const char *s) /* NUL-terminated raw text */
{
    gw_jsonw_raw(w, s, strlen(s));
}

void gw_jsonw_printf(gw_jsonw_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* a quoted, escaped string; bytes >= 0x80 are passed through (callers give UTF-8), control bytes escaped */
void gw_jsonw_str(gw_jsonw_t *w, const char *s, size_t len);
void gw_jsonw_cstr(gw_jsonw_t *w, const char *s);
void gw_jsonw_uint(gw_jsonw_t *w, uint64_t v); /* decimal, without printf */

/* the body of an error answer, {"error": error, "detail": detail}\n (both escaped), from pool */
h2o_iovec_t gw_jsonw_error(h2o_mem_pool_t *pool, const char *error, const char *detail);

#endif
