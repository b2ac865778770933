/*
 * entries_body — the body of POST /admin/lists/{name}/entries: {"add": [...], "remove": [...]}
 * (both optional, at least one entry in all; entries are strings in the list's format).
 * Parsed with jansson (the admin API is not the request path) into slices of one
 * caller-freed block.
 */
#ifndef GW_ENTRIES_BODY_H
#define GW_ENTRIES_BODY_H

#include <stddef.h>

#define GW_ENTRIES_BODY_MAX (8 * 1024 * 1024)
#define GW_ENTRIES_MAX 1000000

typedef struct st_gw_entries_t {
    struct {
        const char *base;
        size_t len;
    } * add, *remove;
    size_t nadd, nremove;
    void *_block; /* owns everything; free with gw_entries_free */
} gw_entries_t;

/* Returns 0 and fills *out, or -1 with a reason ("line 1, column 9: …" for syntax errors) in err. */
int gw_entries_parse(const char *body, size_t len, gw_entries_t *out, char *err, size_t errlen);
void gw_entries_free(gw_entries_t *e);

#endif
