/*
 * entries_body — see entries_body.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "entries_body.h"

static int count_strings(json_t *arr, const char *key, size_t *n, size_t *bytes, char *err, size_t errlen)
{
    size_t i;
    json_t *v;
    *n = 0;
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "\"%s\" must be an array of strings", key);
        return -1;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0) {
            snprintf(err, errlen, "\"%s\"[%zu] must be a non-empty string", key, i);
            return -1;
        }
        *bytes += json_string_length(v);
    }
    *n = json_array_size(arr);
    return 0;
}

int gw_entries_parse(const char *body, size_t len, gw_entries_t *out, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root, *add, *remove;
    const char *key;
    json_t *v;
    size_t bytes = 0, i;

    memset(out, 0, sizeof(*out));
    if (len > GW_ENTRIES_BODY_MAX) {
        snprintf(err, errlen, "body over %d bytes", GW_ENTRIES_BODY_MAX);
        return -1;
    }
    if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
        snprintf(err, errlen, "line %d, column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the body must be an object {\"add\": [...], \"remove\": [...]}");
        goto Error;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "add") != 0 && strcmp(key, "remove") != 0) {
            snprintf(err, errlen, "unknown key \"%.40s\" (expected \"add\" and/or \"remove\")", key);
            goto Error;
        }
    }
    add = json_object_get(root, "add");
    remove = json_object_get(root, "remove");
    if (count_strings(add, "add", &out->nadd, &bytes, err, errlen) != 0 ||
        count_strings(remove, "remove", &out->nremove, &bytes, err, errlen) != 0)
        goto Error;
    if (out->nadd + out->nremove == 0) {
        snprintf(err, errlen, "nothing to add or remove");
        goto Error;
    }
    if (out->nadd + out->nremove > GW_ENTRIES_MAX) {
        snprintf(err, errlen, "more than %d entries in one request", GW_ENTRIES_MAX);
        goto Error;
    }
    size_t slices = (out->nadd + out->nremove) * sizeof(out->add[0]);
    char *block = malloc(slices + bytes + 1);
    out->_block = block;
    out->add = (void *)block;
    out->remove = out->add + out->nadd;
    char *p = block + slices;
    for (i = 0; i != out->nadd; ++i) {
        json_t *s = json_array_get(add, i);
        size_t n = json_string_length(s);
        memcpy(p, json_string_value(s), n);
        out->add[i].base = p, out->add[i].len = n;
        p += n;
    }
    for (i = 0; i != out->nremove; ++i) {
        json_t *s = json_array_get(remove, i);
        size_t n = json_string_length(s);
        memcpy(p, json_string_value(s), n);
        out->remove[i].base = p, out->remove[i].len = n;
        p += n;
    }
    json_decref(root);
    return 0;
Error:
    json_decref(root);
    memset(out, 0, sizeof(*out));
    return -1;
}

void gw_entries_free(gw_entries_t *e)
{
    free(e->_block);
    memset(e, 0, sizeof(*e));
}
