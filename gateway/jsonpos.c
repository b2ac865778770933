/*
 * jsonpos — re-scan a JSON text along a key/index path to report positions.
 * See jsonpos.h. A small recursive-descent skipper: it validates only as much as it
 * needs to walk (strings, numbers, literals, nesting) and never allocates.
 */
#include <string.h>
#include "jsonpos.h"

typedef struct st_scan_t {
    const char *p, *end, *text;
} scan_t;

static void skip_ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        ++s->p;
}

/* skips a string starting at '"'; on success name and name_len receive the raw contents */
static int skip_string(scan_t *s, const char **name, size_t *name_len)
{
    if (s->p >= s->end || *s->p != '"')
        return -1;
    const char *start = ++s->p;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            if (name != NULL) {
                *name = start;
                *name_len = (size_t)(s->p - start);
            }
            ++s->p;
            return 0;
        }
        if (c == '\\') {
            if (++s->p >= s->end)
                return -1;
        } else if ((unsigned char)c < 0x20) {
            return -1;
        }
        ++s->p;
    }
    return -1;
}

static int skip_value(scan_t *s, unsigned depth);

static int skip_container(scan_t *s, unsigned depth, char close, int is_object)
{
    if (depth >= GW_JSONPOS_MAX_DEPTH)
        return -1;
    ++s->p; /* '{' or '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        ++s->p;
        return 0;
    }
    for (;;) {
        skip_ws(s);
        if (is_object) {
            if (skip_string(s, NULL, NULL) != 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            ++s->p;
        }
        if (skip_value(s, depth + 1) != 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            ++s->p;
            continue;
        }
        if (*s->p == close) {
            ++s->p;
            return 0;
        }
        return -1;
    }
}

static int skip_value(scan_t *s, unsigned depth)
{
    skip_ws(s);
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return skip_string(s, NULL, NULL);
    case '{':
        return skip_container(s, depth, '}', 1);
    case '[':
        return skip_container(s, depth, ']', 0);
    default: {
        /* number or literal: a run of the characters they are made of */
        const char *start = s->p;
        while (s->p < s->end && (strchr("+-.0123456789eEtruefalsn", *s->p) != NULL && *s->p != '\0'))
            ++s->p;
        return s->p == start ? -1 : 0;
    }
    }
}

static void to_pos(const scan_t *s, const char *at, gw_jsonpos_t *pos)
{
    unsigned line = 1, col = 1;
    for (const char *q = s->text; q < at; ++q) {
        if (*q == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    pos->line = line;
    pos->column = col;
}

int gw_jsonpos_find(const char *text, size_t len, const gw_jsonpos_seg_t *path, size_t nsegs, int want_key, gw_jsonpos_t *pos)
{
    scan_t s = {text, text + len, text};
    const char *key_at = NULL;

    if (nsegs > GW_JSONPOS_MAX_DEPTH)
        return -1;
    for (size_t i = 0; i != nsegs; ++i) {
        skip_ws(&s);
        if (s.p >= s.end)
            return -1;
        const gw_jsonpos_seg_t *seg = path + i;
        int found = 0;
        if (seg->key != NULL) {
            if (*s.p != '{')
                return -1;
            ++s.p;
            size_t want_len = strlen(seg->key);
            for (;;) {
                skip_ws(&s);
                if (s.p < s.end && *s.p == '}')
                    return -1;
                const char *name, *at = s.p;
                size_t name_len;
                if (skip_string(&s, &name, &name_len) != 0)
                    return -1;
                skip_ws(&s);
                if (s.p >= s.end || *s.p != ':')
                    return -1;
                ++s.p;
                if (name_len == want_len && memcmp(name, seg->key, want_len) == 0) {
                    key_at = at;
                    found = 1;
                    break;
                }
                if (skip_value(&s, i + 1) != 0)
                    return -1;
                skip_ws(&s);
                if (s.p < s.end && *s.p == ',') {
                    ++s.p;
                    continue;
                }
                return -1;
            }
        } else {
            if (*s.p != '[')
                return -1;
            ++s.p;
            for (size_t n = 0;; ++n) {
                skip_ws(&s);
                if (s.p < s.end && *s.p == ']')
                    return -1;
                if (n == seg->index) {
                    key_at = NULL;
                    found = 1;
                    break;
                }
                if (skip_value(&s, i + 1) != 0)
                    return -1;
                skip_ws(&s);
                if (s.p < s.end && *s.p == ',') {
                    ++s.p;
                    continue;
                }
                return -1;
            }
        }
        if (!found)
            return -1;
    }
    skip_ws(&s);
    if (s.p >= s.end)
        return -1;
    to_pos(&s, want_key && key_at != NULL ? key_at : s.p, pos);
    return 0;
}
