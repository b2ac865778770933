/*
 * jsonpos — where in a JSON text does a value live?
 *
 * jansson (2.14) reports line and column for syntax errors only; once a document is
 * parsed, its values carry no position. The config loader wants to say
 * "consentgate.json:12:17: listen[0].port: must be 1..65535" for semantic errors too,
 * so this module re-scans the original text along a path of object keys and array
 * indices and returns the position of the value (or of its key).
 *
 * The scanner is pure (no allocation, no I/O), bounded by the input length and by
 * GW_JSONPOS_MAX_DEPTH, and tolerant: on text that is not valid JSON it simply fails.
 */
#ifndef GW_JSONPOS_H
#define GW_JSONPOS_H

#include <stddef.h>

#define GW_JSONPOS_MAX_DEPTH 64

typedef struct st_gw_jsonpos_seg_t {
    const char *key; /* object member name (NUL-terminated, compared as raw bytes), or NULL for an array index */
    size_t index;    /* array index when key == NULL */
} gw_jsonpos_seg_t;

typedef struct st_gw_jsonpos_t {
    unsigned line;   /* 1-based */
    unsigned column; /* 1-based, in bytes */
} gw_jsonpos_t;

/*
 * Finds the value at `path` (nsegs segments; 0 = the document's root value) in text[0..len).
 * With want_key != 0 and a last segment naming an object member, the position of the member's
 * key string is returned instead of its value (used for "unknown key" messages).
 * Returns 0 and fills *pos on success, -1 when the path does not exist or the text is malformed.
 * Member names containing escapes are compared after no unescaping (config keys never need them).
 */
int gw_jsonpos_find(const char *text, size_t len, const gw_jsonpos_seg_t *path, size_t nsegs, int want_key, gw_jsonpos_t *pos);

#endif
