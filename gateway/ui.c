/*
 * ui — see ui.h.
 *
 * Start-up (main thread, before the workers): every static/i18n/<lang>.json is read with
 * jansson into a sorted array of (key, text) per language, the operator's overrides are
 * applied, and each language's merged strings are pre-serialised for banner.js. Templates are
 * parsed into a flat node array per page (a section node records where it ends). After that
 * everything is read-only, so worker threads share it without locks.
 *
 * Request path: pick the language, collect the page's values, walk the nodes appending to a
 * buffer in req->pool. Nothing is inserted unescaped: strings, values and interpolations
 * ({name} inside a string) all go through html_escape().
 */
#include <dirent.h>
#include <h2o/file.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "chain.h"
#include "config.h"
#include "consent.h"
#include "front.h"
#include "inventory.h"
#include "jsonw.h"
#include "log.h"
#include "risk.h"
#include "server.h"
#include "trackers.h"
#include "ui.h"
#include "ui_parse.h"
#include "url.h"

#define UI_MAX_LANGS 16
#define UI_LANG_MAX 16 /* "zh-CN" with its NUL, and room for longer tags */
#define UI_KEY_MAX 64
#define UI_MAX_VARS 24
#define UI_MAX_PARTIAL_DEPTH 4
#define UI_MAX_SEEN 60    /* cookies (and trackers) listed per category */
#define UI_URL_SHOWN 2048 /* bytes of a destination shown on the warning page */
#define UI_LANG_COOKIE "cg_lang"

/* --- strings ------------------------------------------------------------------------------- */

typedef struct st_ui_string_t {
    char *key, *value;
} ui_string_t;

typedef struct st_ui_lang_t {
    char code[UI_LANG_MAX];
    ui_string_t *strings; /* sorted by key (strcmp) once loading is done */
    size_t num, cap;
    h2o_iovec_t json; /* GET /__consent/i18n/<code>.json */
    char etag[19];    /* its ETag: "<16 hex digits of FNV-1a over json>" */
} ui_lang_t;

static ui_lang_t langs[UI_MAX_LANGS]; /* langs[0] is English */
static size_t num_langs;
static ui_string_t *overrides; /* key is "<lang>\0<key>" until applied */
static size_t num_overrides;

static ui_lang_t *
find_lang(const char *code, size_t len)
{
    for (size_t i = 0; i != num_langs; ++i)
        if (strlen(langs[i].code) == len && strncasecmp(langs[i].code, code, len) == 0)
            return langs + i;
    return NULL;
}

static ui_lang_t *
add_lang(const char *code)
{
    if (num_langs == UI_MAX_LANGS)
        return NULL;
    ui_lang_t *l = langs + num_langs++;
    snprintf(l->code, sizeof(l->code), "%s", code);
    return l;
}

/* copies key and value into l (replacing an earlier value); 0, or -1 when out of memory */
static int
put_string(ui_lang_t *l, const char *key, const char *value)
{
    char *v = strdup(value), *k = NULL;
    if (v == NULL)
        return -1;
    for (size_t i = 0; i != l->num; ++i) {
        if (strcmp(l->strings[i].key, key) == 0) {
            free(l->strings[i].value);
            l->strings[i].value = v;
            return 0;
        }
    }
    if (l->num == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 128;
        ui_string_t *grown = realloc(l->strings, cap * sizeof(l->strings[0]));
        if (grown == NULL)
            goto Error;
        l->strings = grown, l->cap = cap;
    }
    if ((k = strdup(key)) == NULL)
        goto Error;
    l->strings[l->num].key = k;
    l->strings[l->num].value = v;
    ++l->num;
    return 0;
Error:
    free(v);
    return -1;
}

static int
cmp_strings(const void *a, const void *b)
{
    return strcmp(((const ui_string_t *)a)->key, ((const ui_string_t *)b)->key);
}

/* the text of key in l, or NULL; binary search over the sorted array */
static const char *
lang_lookup(const ui_lang_t *l, const char *key, size_t len)
{
    size_t lo = 0, hi = l->num;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *k = l->strings[mid].key;
        int c = strncmp(k, key, len);
        if (c == 0)
            c = k[len] == '\0' ? 0 : 1;
        if (c == 0)
            return l->strings[mid].value;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* the text of key in l, else in English, else the key itself (a missing string stays visible) */
static h2o_iovec_t
t(const ui_lang_t *l, const char *key, size_t len)
{
    const char *v = lang_lookup(l, key, len);
    if (v == NULL && l != langs)
        v = lang_lookup(langs, key, len);
    return v != NULL ? h2o_iovec_init(v, strlen(v)) : h2o_iovec_init(key, len);
}

/* t() of prefix + name + suffix ("category." "analytics" ".title"); NULL when no language has it */
static const char *
t3(const ui_lang_t *l, const char *prefix, const char *name, const char *suffix)
{
    char key[UI_KEY_MAX * 2];
    int n = snprintf(key, sizeof(key), "%s%s%s", prefix, name, suffix);
    if (n < 0 || (size_t)n >= sizeof(key))
        return NULL;
    const char *v = lang_lookup(l, key, (size_t)n);
    return v != NULL ? v : lang_lookup(langs, key, (size_t)n);
}

int
gw_ui_is_category_key(const char *key)
{
    const gw_config_t *c = &gw_rt.conf;
    size_t len = strlen(key);
    if (strncmp(key, "category.", 9) != 0)
        return 0;
    for (size_t i = 0; i != c->num_categories; ++i) {
        size_t n = strlen(c->categories[i]);
        if (len > 9 + n && memcmp(key + 9, c->categories[i], n) == 0 &&
            (strcmp(key + 9 + n, ".title") == 0 || strcmp(key + 9 + n, ".desc") == 0))
            return 1;
    }
    return 0;
}

int
gw_ui_override(const char *lang, const char *key, const char *value)
{
    size_t ll = lang != NULL ? strlen(lang) : 0, kl = key != NULL ? strlen(key) : 0;
    if (ll == 0 || ll >= UI_LANG_MAX || kl == 0 || kl >= UI_KEY_MAX || value == NULL)
        return -1;
    ui_string_t *grown = realloc(overrides, (num_overrides + 1) * sizeof(overrides[0]));
    if (grown == NULL)
        return -1;
    overrides = grown;
    char *k = malloc(ll + kl + 2), *v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -1;
    }
    memcpy(k, lang, ll + 1);
    memcpy(k + ll + 1, key, kl + 1);
    overrides[num_overrides].key = k;
    overrides[num_overrides].value = v;
    ++num_overrides;
    return 0;
}

static int
load_lang_file(const char *path, const char *code)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr), *v;
    const char *key;
    if (root == NULL || !json_is_object(root)) {
        gw_error("%s:%d:%d: %s", path, jerr.line, jerr.column, root == NULL ? jerr.text : "must be an object of strings");
        json_decref(root);
        return -1;
    }
    ui_lang_t *l = find_lang(code, strlen(code));
    if (l == NULL && (l = add_lang(code)) == NULL) {
        gw_error("%s: too many languages (at most %d)", path, UI_MAX_LANGS);
        json_decref(root);
        return -1;
    }
    json_object_foreach(root, key, v)
    {
        if (!json_is_string(v) || strlen(key) >= UI_KEY_MAX) {
            gw_error("%s: \"%s\": must be a string (keys under %d bytes)", path, key, UI_KEY_MAX);
            json_decref(root);
            return -1;
        }
        if (put_string(l, key, json_string_value(v)) != 0) {
            gw_error("%s: out of memory", path);
            json_decref(root);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* English first, then every other static/i18n/<code>.json in name order, then the overrides */
static int
load_strings(const char *dir)
{
    char path[4096], *names[UI_MAX_LANGS];
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/i18n/en.json", dir);
    add_lang("en");
    if (load_lang_file(path, "en") != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/i18n", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && len - 5 < UI_LANG_MAX && strcmp(e->d_name + len - 5, ".json") == 0 && strcmp(e->d_name, "en.json") != 0 &&
            e->d_name[0] != '.' && n != UI_MAX_LANGS - 1)
            names[n++] = h2o_strdup(NULL, e->d_name, len - 5).base;
    }
    if (d != NULL)
        closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    int rc = 0;
    for (size_t i = 0; i != n; ++i) {
        snprintf(path, sizeof(path), "%s/i18n/%s.json", dir, names[i]);
        if (rc == 0 && load_lang_file(path, names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    for (size_t i = 0; i != num_overrides && rc == 0; ++i) {
        const char *code = overrides[i].key, *key = code + strlen(code) + 1;
        /* a key English does not have is a typo, silently unused otherwise (English is langs[0], not sorted yet) */
        size_t k = 0;
        while (k != langs[0].num && strcmp(langs[0].strings[k].key, key) != 0)
            ++k;
        if (k == langs[0].num && !gw_ui_is_category_key(key)) {
            gw_error("ui.strings.%s.%s: not a string of the UI (the keys are those of %s/i18n/en.json, and category.<name>.title and "
                     ".desc for a category of the config's own)", code, key, dir);
            rc = -1;
            break;
        }
        ui_lang_t *l = find_lang(code, strlen(code));
        if (l == NULL && (l = add_lang(code)) == NULL) {
            gw_error("ui.strings: too many languages (at most %d)", UI_MAX_LANGS);
            rc = -1;
            break;
        }
        if (put_string(l, key, overrides[i].value) != 0) {
            gw_error("ui.strings: out of memory");
            rc = -1;
        }
    }
    for (size_t i = 0; i != num_langs; ++i)
        qsort(langs[i].strings, langs[i].num, sizeof(ui_string_t), cmp_strings);
    /* a category of the config's own shows its bare name and no description until it is given words: said at start */
    for (size_t i = 0; rc == 0 && i != gw_rt.conf.num_categories; ++i) {
        const char *cat = gw_rt.conf.categories[i];
        if (t3(langs, "category.", cat, ".title") == NULL)
            gw_warn("category %s has no label in English: visitors see its bare name (set ui.strings.en.\"category.%s.title\", and "
                    "the same for each language)", cat, cat);
        if (t3(langs, "category.", cat, ".desc") == NULL)
            gw_warn("category %s has no description in English: visitors are asked about it unexplained (set "
                    "ui.strings.en.\"category.%s.desc\", and the same for each language)", cat, cat);
    }
    /* the banner names no one: who asks, and what for, is the policy's to say (GDPR art. 13, PIPL art. 17) */
    if (rc == 0 && gw_rt.conf.policy.url == NULL)
        gw_warn("policy.url is not set: the banner and the preference centre link no privacy policy, so visitors are asked "
                "without learning who asks or why (an informed consent: GDPR art. 7 and 13, PIPL art. 14 and 17)");
    return rc;
}

/* policy.url for a language: "{lang}" in it is the language's code ("/{lang}/privacy" -> "/zh-CN/privacy"); base NULL
 * when none is configured */
static h2o_iovec_t
policy_url(h2o_mem_pool_t *pool, const char *lang)
{
    const char *u = gw_rt.conf.policy.url, *p;
    size_t n = 0, lang_len = strlen(lang);
    if (u == NULL)
        return h2o_iovec_init(NULL, 0);
    for (p = u; (p = strstr(p, "{lang}")) != NULL; p += 6)
        ++n;
    char *out = h2o_mem_alloc_pool(pool, strlen(u) + n * lang_len + 1), *o = out;
    for (p = u; *p != '\0';) {
        if (strncmp(p, "{lang}", 6) == 0) {
            memcpy(o, lang, lang_len);
            o += lang_len, p += 6;
        } else {
            *o++ = *p++;
        }
    }
    return h2o_iovec_init(out, (size_t)(o - out));
}

/* {"lang", "name", "languages": [{code, name}], "dnss": [categories], "policy_url" (when configured), "strings": {English,
 * then this language}} */
static void
build_lang_json(ui_lang_t *l)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 8192);
    gw_jsonw_lit(&w, "{\"lang\": ");
    gw_jsonw_cstr(&w, l->code);
    gw_jsonw_lit(&w, ", \"languages\": [");
    for (size_t i = 0; i != num_langs; ++i) {
        gw_jsonw_lit(&w, i != 0 ? ", {\"code\": " : "{\"code\": ");
        gw_jsonw_cstr(&w, langs[i].code);
        gw_jsonw_lit(&w, ", \"name\": ");
        h2o_iovec_t name = t(langs + i, H2O_STRLIT("lang.name"));
        gw_jsonw_str(&w, name.base, name.len);
        gw_jsonw_lit(&w, "}");
    }
    gw_jsonw_lit(&w, "], \"dnss\": [");
    for (size_t i = 0, n = 0; i != c->num_categories; ++i)
        if (c->regimes.gpc_refuses & (1u << i)) {
            gw_jsonw_lit(&w, n++ != 0 ? ", " : "");
            gw_jsonw_cstr(&w, c->categories[i]);
        }
    gw_jsonw_lit(&w, "]");
    if (c->policy.url != NULL) {
        h2o_mem_pool_t pool;
        h2o_mem_init_pool(&pool);
        h2o_iovec_t u = policy_url(&pool, l->code);
        gw_jsonw_lit(&w, ", \"policy_url\": ");
        gw_jsonw_str(&w, u.base, u.len);
        h2o_mem_clear_pool(&pool);
    }
    gw_jsonw_lit(&w, ", \"strings\": {");
    size_t n = 0;
    for (size_t i = 0; i != langs[0].num; ++i) {
        const ui_string_t *s = langs[0].strings + i;
        const char *v = lang_lookup(l, s->key, strlen(s->key));
        gw_jsonw_lit(&w, n++ != 0 ? ",\n" : "\n");
        gw_jsonw_cstr(&w, s->key);
        gw_jsonw_lit(&w, ": ");
        gw_jsonw_cstr(&w, v != NULL ? v : s->value);
    }
    for (size_t i = 0; l != langs && i != l->num; ++i) {
        const ui_string_t *s = l->strings + i;
        if (lang_lookup(langs, s->key, strlen(s->key)) != NULL)
            continue;
        gw_jsonw_lit(&w, n++ != 0 ? ",\n" : "\n");
        gw_jsonw_cstr(&w, s->key);
        gw_jsonw_lit(&w, ": ");
        gw_jsonw_cstr(&w, s->value);
    }
    gw_jsonw_lit(&w, "\n}}\n");
    l->json = h2o_iovec_init(w.buf, w.len);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i != w.len; ++i)
        h = (h ^ (unsigned char)w.buf[i]) * 0x100000001b3ull;
    snprintf(l->etag, sizeof(l->etag), "\"%016llx\"", (unsigned long long)h);
}

/* --- templates ------------------------------------------------------------------------------- */

enum { N_TEXT, N_STR, N_VAR, N_SECTION, N_INVERTED };

typedef struct st_ui_node_t {
    int kind;
    const char *s; /* text, string key, variable or section name */
    size_t len;
    size_t end; /* sections: index of the first node after the section */
} ui_node_t;

typedef struct st_ui_tmpl_t {
    ui_node_t *nodes;
    size_t num, cap;
    int failed; /* out of memory while parsing */
} ui_tmpl_t;

static struct {
    int loaded;
    ui_tmpl_t preferences, receipts, warning, blocked, refused;
} pages;
static char *sources[64]; /* file contents the nodes point into; kept for the process's life */
static size_t num_sources;

/* appends a node; returns its index (when out of memory: 0, and t->failed is set) */
static size_t
add_node(ui_tmpl_t *t, int kind, const char *s, size_t len)
{
    if (t->num == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 256;
        ui_node_t *grown = t->failed ? NULL : realloc(t->nodes, cap * sizeof(t->nodes[0]));
        if (grown == NULL) {
            t->failed = 1;
            return 0;
        }
        t->nodes = grown, t->cap = cap;
    }
    t->nodes[t->num] = (ui_node_t){kind, s, len, 0};
    return t->num++;
}

static unsigned
line_of(const char *buf, const char *p)
{
    unsigned line = 1;
    for (; buf < p; ++buf)
        line += *buf == '\n';
    return line;
}

/* one file being parsed: the open sections' node indices (gw_ui_parse_template() keeps them balanced) */
typedef struct st_ui_parse_ctx_t {
    ui_tmpl_t *t;
    const char *dir;
    int depth;
    int partial_failed; /* a partial failed (already logged) */
    size_t open[GW_UI_MAX_OPEN], num_open;
} ui_parse_ctx_t;

static int parse_template(ui_tmpl_t *t, const char *dir, const char *name, size_t name_len, int depth);

static int
on_tmpl_piece(void *data, int kind, const char *s, size_t len)
{
    ui_parse_ctx_t *c = data;
    ui_tmpl_t *t = c->t;
    switch (kind) {
    case GW_UI_TEXT:
        add_node(t, N_TEXT, s, len);
        break;
    case GW_UI_STR:
        add_node(t, N_STR, s, len);
        break;
    case GW_UI_VAR:
        add_node(t, N_VAR, s, len);
        break;
    case GW_UI_SECTION:
    case GW_UI_INVERTED:
        c->open[c->num_open++] = add_node(t, kind == GW_UI_SECTION ? N_SECTION : N_INVERTED, s, len);
        break;
    case GW_UI_CLOSE:
        t->nodes[c->open[--c->num_open]].end = t->num;
        break;
    case GW_UI_PARTIAL:
        if (parse_template(t, c->dir, s, len, c->depth + 1) != 0) {
            c->partial_failed = 1;
            return -1;
        }
        break;
    }
    return t->failed ? -1 : 0;
}

/* parses dir/name into t (partials inline); returns 0 or -1 (logged as file:line) */
static int
parse_template(ui_tmpl_t *t, const char *dir, const char *name, size_t name_len, int depth)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/templates/%.*s", dir, (int)name_len, name);
    if (depth > UI_MAX_PARTIAL_DEPTH || num_sources == sizeof(sources) / sizeof(sources[0]) ||
        memchr(name, '/', name_len) != NULL) {
        gw_error("%s: too many templates or partials nested too deep", path);
        return -1;
    }
    h2o_iovec_t file = h2o_file_read(path);
    if (file.base == NULL) {
        gw_error("%s: cannot read the template", path);
        return -1;
    }
    char *buf = sources[num_sources++] = file.base;
    ui_parse_ctx_t c = {.t = t, .dir = dir, .depth = depth};
    gw_ui_tmpl_err_t err;
    switch (t->failed ? GW_UI_ECALLBACK : gw_ui_parse_template(buf, file.len, on_tmpl_piece, &c, &err)) {
    case 0:
        return 0;
    case GW_UI_EUNTERMINATED:
        gw_error("%s:%u: unterminated or empty {{ }}", path, line_of(buf, buf + err.at));
        return -1;
    case GW_UI_EDEPTH:
        gw_error("%s:%u: sections nested too deep", path, line_of(buf, buf + err.at));
        return -1;
    case GW_UI_EMISMATCH:
        gw_error("%s:%u: {{/%.*s}} does not close the open section", path, line_of(buf, buf + err.at), (int)err.name_len, err.name);
        return -1;
    case GW_UI_EUNCLOSED:
        gw_error("%s: section {{#%.*s}} is not closed", path, (int)err.name_len, err.name);
        return -1;
    default: /* GW_UI_ECALLBACK */
        if (!c.partial_failed)
            gw_error("%s: out of memory", path);
        return -1;
    }
}

/* --- rendering -------------------------------------------------------------------------------- */

typedef struct st_render_t render_t;
/* returns 1 when iteration i of the named section exists (and sets the variables it needs), else 0 */
typedef int (*section_cb)(render_t *r, const char *name, size_t len, size_t i);

struct st_render_t {
    h2o_req_t *req;
    gw_jsonw_t out; /* used as a plain growing buffer in req->pool */
    const ui_lang_t *lang;
    section_cb section;
    void *data;
    h2o_iovec_t query; /* the request's query without lang= (for the language links) */
    size_t lang_index;
    struct {
        const char *name;
        h2o_iovec_t value;
    } vars[UI_MAX_VARS];
    size_t num_vars;
};

static void
set_var(render_t *r, const char *name, h2o_iovec_t value)
{
    for (size_t i = 0; i != r->num_vars; ++i)
        if (strcmp(r->vars[i].name, name) == 0) {
            r->vars[i].value = value;
            return;
        }
    if (r->num_vars != UI_MAX_VARS)
        r->vars[r->num_vars++].name = name, r->vars[r->num_vars - 1].value = value;
}

static void
set_var_str(render_t *r, const char *name, const char *value)
{
    set_var(r, name, h2o_iovec_init(value, strlen(value)));
}

static void
set_var_num(render_t *r, const char *name, unsigned long long n)
{
    char *buf = h2o_mem_alloc_pool(&r->req->pool, 24);
    set_var(r, name, h2o_iovec_init(buf, (size_t)snprintf(buf, 24, "%llu", n)));
}

static const h2o_iovec_t *
find_var(const render_t *r, const char *name, size_t len)
{
    for (size_t i = 0; i != r->num_vars; ++i)
        if (strlen(r->vars[i].name) == len && memcmp(r->vars[i].name, name, len) == 0)
            return &r->vars[i].value;
    return NULL;
}

static void
out_jsonw(void *ctx, const char *s, size_t len)
{
    gw_jsonw_raw(ctx, s, len);
}

/* appends s HTML-escaped (text and attribute values alike) */
static void
put_escaped(gw_jsonw_t *w, const char *s, size_t len)
{
    gw_ui_escape(s, len, out_jsonw, w);
}

static int
interp_lookup(void *ctx, const char *name, size_t len, const char **value, size_t *value_len)
{
    const h2o_iovec_t *v = find_var(ctx, name, len);
    if (v == NULL)
        return 0;
    *value = v->base, *value_len = v->len;
    return 1;
}

static void
interp_out(void *ctx, const char *s, size_t len)
{
    gw_jsonw_raw(&((render_t *)ctx)->out, s, len);
}

/* appends a UI string with {name} replaced by the variable's value; both escaped */
static void
put_text(render_t *r, h2o_iovec_t s)
{
    gw_ui_interpolate(s.base, s.len, interp_lookup, interp_out, r);
}

static void
render(render_t *r, const ui_tmpl_t *tp, size_t from, size_t to)
{
    for (size_t i = from; i < to; ++i) {
        const ui_node_t *n = tp->nodes + i;
        switch (n->kind) {
        case N_TEXT:
            gw_jsonw_raw(&r->out, n->s, n->len);
            break;
        case N_STR:
            put_text(r, t(r->lang, n->s, n->len));
            break;
        case N_VAR: {
            const h2o_iovec_t *v = find_var(r, n->s, n->len);
            if (v != NULL)
                put_escaped(&r->out, v->base, v->len);
            break;
        }
        case N_SECTION:
            for (size_t k = 0; r->section(r, n->s, n->len, k); ++k)
                render(r, tp, i + 1, n->end);
            i = n->end - 1;
            break;
        case N_INVERTED:
            if (!r->section(r, n->s, n->len, 0))
                render(r, tp, i + 1, n->end);
            i = n->end - 1;
            break;
        }
    }
}

/* sections every page has: the language switch */
static int
common_section(render_t *r, const char *name, size_t len, size_t i)
{
    if (h2o_memis(name, len, H2O_STRLIT("langs"))) {
        if (i >= num_langs)
            return 0;
        r->lang_index = i;
        set_var_str(r, "code", langs[i].code);
        set_var(r, "name", t(langs + i, H2O_STRLIT("lang.name")));
        /* a query-only relative link keeps the page (and its other parameters, e.g. the link shim's) */
        h2o_iovec_t q = r->query;
        char *href = h2o_mem_alloc_pool(&r->req->pool, q.len + 32);
        int n = snprintf(href, q.len + 32, "?%.*s%slang=%s", (int)q.len, q.base, q.len != 0 ? "&" : "", langs[i].code);
        set_var(r, "href", h2o_iovec_init(href, (size_t)n));
        return 1;
    }
    if (h2o_memis(name, len, H2O_STRLIT("current")))
        return i == 0 && langs + r->lang_index == r->lang;
    if (h2o_memis(name, len, H2O_STRLIT("policy_url"))) { /* the site's privacy policy, in the page's language */
        if (i != 0 || gw_rt.conf.policy.url == NULL)
            return 0;
        set_var(r, "policy_url", policy_url(&r->req->pool, r->lang->code));
        return 1;
    }
    /* a form post the consent API could not carry out (no JavaScript): it redirected here with ?error=<code> */
    static const struct {
        const char *section, *code;
    } failures[] = {{"failed_store", "store_unavailable"}, {"failed_rate", "rate_limited"}};
    for (size_t k = 0; k != sizeof(failures) / sizeof(failures[0]); ++k) {
        if (h2o_memis(name, len, failures[k].section, strlen(failures[k].section))) {
            h2o_iovec_t e = gw_req_query_param(r->req, "error");
            return i == 0 && h2o_memis(e.base, e.len, failures[k].code, strlen(failures[k].code));
        }
    }
    return 0;
}

/* --- language of a request ------------------------------------------------------------------- */

/* the language for an Accept-Language value (gw_ui_negotiate()), or NULL */
static const ui_lang_t *
negotiate(h2o_iovec_t al)
{
    const char *codes[UI_MAX_LANGS];
    for (size_t i = 0; i != num_langs; ++i)
        codes[i] = langs[i].code;
    int i = gw_ui_negotiate(al.base, al.len, codes, num_langs);
    return i >= 0 ? langs + i : NULL;
}

/* the query without its lang= parameters, from pool */
static h2o_iovec_t
query_without_lang(h2o_req_t *req)
{
    if (req->query_at == SIZE_MAX)
        return h2o_iovec_init(NULL, 0);
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    char *out = h2o_mem_alloc_pool(&req->pool, (size_t)(end - p) + 1);
    size_t n = 0;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p)), *field_end = amp != NULL ? amp : end;
        if (field_end != p && !((size_t)(field_end - p) >= 5 && memcmp(p, "lang=", 5) == 0)) {
            if (n != 0)
                out[n++] = '&';
            memcpy(out + n, p, (size_t)(field_end - p));
            n += (size_t)(field_end - p);
        }
        p = field_end + 1;
    }
    return h2o_iovec_init(out, n);
}

static h2o_iovec_t
lang_cookie(h2o_req_t *req)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_COOKIE, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value;
        const char *p = v.base, *end = v.base + v.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ';'))
                ++p;
            const char *semi = memchr(p, ';', (size_t)(end - p)), *pair_end = semi != NULL ? semi : end;
            if ((size_t)(pair_end - p) > sizeof(UI_LANG_COOKIE) && memcmp(p, UI_LANG_COOKIE "=", sizeof(UI_LANG_COOKIE)) == 0)
                return h2o_iovec_init(p + sizeof(UI_LANG_COOKIE), (size_t)(pair_end - p - sizeof(UI_LANG_COOKIE)));
            p = pair_end;
        }
    }
    return h2o_iovec_init(NULL, 0);
}

/* Accept-Language, English */
static const ui_lang_t *
accepted_lang(h2o_req_t *req)
{
    const ui_lang_t *l;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_ACCEPT_LANGUAGE, -1);
    if (i != -1 && (l = negotiate(req->headers.entries[i].value)) != NULL)
        return l;
    return langs;
}

/* the cg_lang cookie, Accept-Language, English */
static const ui_lang_t *
preferred_lang(h2o_req_t *req)
{
    const ui_lang_t *l;
    h2o_iovec_t v = lang_cookie(req);
    if (v.base != NULL && (l = find_lang(v.base, v.len)) != NULL)
        return l;
    return accepted_lang(req);
}

/* ?lang= (remembered in a cookie), else preferred_lang; ?lang= names the language as a site's own links do ("zh",
 * "zh-Hans"), matched as a tag of Accept-Language is */
static const ui_lang_t *
pick_lang(h2o_req_t *req)
{
    /* the cookie goes to the gateway's own pages only, never to the origin: the consent pages and the link shim's
     * (its warning, blocked and bad-link pages are the UI's too) */
    static const char *const paths[] = {"/__consent", "/__go"};
    const ui_lang_t *l;
    h2o_iovec_t v = gw_req_query_param(req, "lang");
    if (v.base == NULL || ((l = find_lang(v.base, v.len)) == NULL && (l = negotiate(v)) == NULL))
        return preferred_lang(req);
    for (size_t i = 0; i != sizeof(paths) / sizeof(paths[0]); ++i) {
        char cookie[128];
        int n = snprintf(cookie, sizeof(cookie), UI_LANG_COOKIE "=%s; Path=%s; Max-Age=31536000; SameSite=Lax%s", l->code, paths[i],
                         req->scheme == &H2O_URL_SCHEME_HTTPS ? "; Secure" : "");
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_SET_COOKIE, NULL, h2o_strdup(&req->pool, cookie, (size_t)n).base,
                       (size_t)n);
    }
    return l;
}

static const char *
text_in(const ui_lang_t *l, const char *key, const char **lang)
{
    const char *s = lang_lookup(l, key, strlen(key));
    if (s == NULL && (s = lang_lookup(langs, key, strlen(key))) != NULL)
        l = langs;
    if (lang != NULL)
        *lang = l->code;
    return s;
}

const char *
gw_ui_text(h2o_req_t *req, const char *key, const char **lang)
{
    return pages.loaded ? text_in(preferred_lang(req), key, lang) : NULL;
}

const char *
gw_ui_text_accepted(h2o_req_t *req, const char *key, const char **lang)
{
    return pages.loaded ? text_in(accepted_lang(req), key, lang) : NULL;
}

void
gw_ui_nojs_link(h2o_req_t *req, gw_jsonw_t *w, const char *label, const char *lang)
{
    if (label == NULL)
        return;
    /* only for a page that is the top document: in a frame the top page asks (and a sandboxed frame, which runs no
     * scripts, would show the link inside it) */
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("sec-fetch-dest"), -1);
    if (i != -1 && !h2o_lcstris(req->headers.entries[i].value.base, req->headers.entries[i].value.len, H2O_STRLIT("document")))
        return;
    /* root-relative, as the banner's own files are. The label is an attribute, shown by banner.css, not text: text
     * starting the body would make the browser ignore a <frameset> after it (the page lost, without scripts) */
    gw_jsonw_lit(w, "<noscript><a id=\"cg-nojs\" href=\"/__consent/\" lang=\"");
    gw_jsonw_lit(w, lang);
    gw_jsonw_lit(w, "\" aria-label=\"");
    put_escaped(w, label, strlen(label));
    gw_jsonw_lit(w, "\"></a></noscript>");
}

/* "rtl" for a language written right to left, by its primary subtag or a script subtag ("ar", "ku-Arab"), else "ltr"
 * (banner.js's dir() says the same for the banner): a language the operator adds (ui.strings) may be one */
static const char *
lang_dir(const char *code)
{
    static const char *const rtl[] = {"ar", "ckb", "dv", "fa", "he", "ps", "sd", "ug", "ur", "yi", /* languages */
                                      "Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm"};            /* scripts */
    for (const char *p = code; *p != '\0';) {
        size_t n = strcspn(p, "-");
        for (size_t i = 0; i != sizeof(rtl) / sizeof(rtl[0]); ++i)
            if (strlen(rtl[i]) == n && strncasecmp(rtl[i], p, n) == 0 && (n == 4) == (p != code))
                return "rtl";
        p += n + (p[n] != '\0');
    }
    return "ltr";
}

static void
render_init(render_t *r, h2o_req_t *req, section_cb section, void *data)
{
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->lang = pick_lang(req);
    r->section = section;
    r->data = data;
    r->query = query_without_lang(req);
    gw_jsonw_init(&r->out, &req->pool, 16384);
    set_var_str(r, "lang", r->lang->code);
    set_var_str(r, "dir", lang_dir(r->lang->code));
}

#define CSP_BASE "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

static void
send_rendered(render_t *r, const ui_tmpl_t *tp, int status, const char *reason, const char *csp)
{
    h2o_req_t *req = r->req;
    render(r, tp, 0, tp->num);
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = r->out.len;
    h2o_mem_pool_t *pool = &req->pool;
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/html; charset=utf-8"));
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_CONTENT_LANGUAGE, NULL, r->lang->code, strlen(r->lang->code));
    h2o_add_header(pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Accept-Language, Cookie"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0, NULL, csp, strlen(csp));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL, H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    h2o_add_header_by_str(pool, &req->res.headers, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("same-origin"));
    h2o_send_inline(req, r->out.buf, r->out.len);
}

/* "Analytics, Marketing": the titles of the categories in mask, from pool */
static h2o_iovec_t
category_titles(render_t *r, uint32_t mask)
{
    const gw_config_t *c = &gw_rt.conf;
    gw_jsonw_t w;
    h2o_iovec_t sep = t(r->lang, H2O_STRLIT("list.separator"));
    gw_jsonw_init(&w, &r->req->pool, 128);
    for (size_t i = 0, n = 0; i != c->num_categories; ++i) {
        if ((mask & (1u << i)) == 0)
            continue;
        if (n++ != 0)
            gw_jsonw_raw(&w, sep.base, sep.len);
        const char *title = t3(r->lang, "category.", c->categories[i], ".title");
        gw_jsonw_lit(&w, title != NULL ? title : c->categories[i]);
    }
    return h2o_iovec_init(w.buf, w.len);
}

/* --- preference centre ------------------------------------------------------------------------ */

typedef struct st_seen_item_t {
    h2o_iovec_t name, desc;
    uint64_t count;
} seen_item_t;

typedef struct st_prefs_t {
    gw_reqctx_t ctx;
    int saved, withdrawn;
    uint32_t shown; /* the switches as shown: the visitor's consent, or what a failed form post asked for (?chosen=) */
    size_t cat, item;
    struct {
        seen_item_t cookies[UI_MAX_SEEN], trackers[UI_MAX_SEEN];
        size_t num_cookies, num_trackers;
    } seen[GW_MAX_CATEGORIES];
    h2o_mem_pool_t *pool;
    h2o_iovec_t own_host; /* the host this page is served under: the name first-party beacons are shown with */
} prefs_t;

static void
add_seen(prefs_t *p, seen_item_t *items, size_t *num, const char *name, size_t len, h2o_iovec_t desc, uint64_t count)
{
    if (*num == UI_MAX_SEEN)
        return;
    items[(*num)++] = (seen_item_t){h2o_strdup(p->pool, name, len), desc, count};
}

/* an entry of the tables the gateway fills as it sees traffic (a name under one host, page and thread): its count goes to
 * the item of that name, made while there is room. The items are few (UI_MAX_SEEN), the entries thousands */
static void
count_seen(prefs_t *p, seen_item_t *items, size_t *num, const char *name, size_t len, uint64_t count)
{
    for (size_t i = 0; i != *num; ++i) {
        if (h2o_memis(items[i].name.base, items[i].name.len, name, len)) {
            items[i].count += count;
            return;
        }
    }
    add_seen(p, items, num, name, len, h2o_iovec_init(NULL, 0), count);
}

static void
on_seen_cookie(void *data, const char *name, size_t len, int cat, uint64_t count)
{
    prefs_t *p = data;
    if (cat >= 0 && (size_t)cat < gw_rt.conf.num_categories)
        count_seen(p, p->seen[cat].cookies, &p->seen[cat].num_cookies, name, len, count);
}

static void
on_seen_tracker(void *data, const char *host, size_t len, int cat, int first_party, const uint64_t counts[3])
{
    prefs_t *p = data;
    if (cat < 0 || (size_t)cat >= gw_rt.conf.num_categories)
        return;
    /* a beacon to the site itself: filed under whatever Host header its request had (any client writes one, so a
     * forged "Host: call-this-number.example" would be shown to every visitor); shown as the site this page is on */
    if (first_party)
        host = p->own_host.base, len = p->own_host.len;
    count_seen(p, p->seen[cat].trackers, &p->seen[cat].num_trackers, host, len, counts[0] + counts[1] + counts[2]);
}

static int
cmp_seen(const void *a, const void *b)
{
    const seen_item_t *x = a, *y = b;
    int c = memcmp(x->name.base, y->name.base, x->name.len < y->name.len ? x->name.len : y->name.len);
    return c != 0 ? c : (x->name.len > y->name.len) - (x->name.len < y->name.len);
}

/* the k-th category (k = i) that the "do not sell or share" form keeps granted */
static int
dnss_keep(const prefs_t *p, size_t i)
{
    const gw_config_t *c = &gw_rt.conf;
    for (size_t k = 0; k != c->num_categories; ++k)
        if ((p->ctx.granted & (1u << k)) != 0 && (c->regimes.gpc_refuses & (1u << k)) == 0 && i-- == 0)
            return (int)k;
    return -1;
}

static int
prefs_section(render_t *r, const char *name, size_t len, size_t i)
{
    prefs_t *p = r->data;
    const gw_config_t *c = &gw_rt.conf;
#define IS(s) h2o_memis(name, len, H2O_STRLIT(s))
    if (IS("categories")) {
        if (i >= c->num_categories)
            return 0;
        const char *cat = c->categories[i], *title = t3(r->lang, "category.", cat, ".title"),
                   *desc = t3(r->lang, "category.", cat, ".desc");
        p->cat = i;
        set_var_str(r, "name", cat);
        set_var_str(r, "title", title != NULL ? title : cat);
        set_var_str(r, "desc", desc != NULL ? desc : "");
        set_var_num(r, "num_cookies", p->seen[i].num_cookies);
        set_var_num(r, "num_trackers", p->seen[i].num_trackers);
        return 1;
    }
    /* the conditional sections: rendered once or not at all */
    if (IS("saved"))
        return i == 0 && p->saved;
    if (IS("withdrawn"))
        return i == 0 && p->withdrawn;
    if (IS("decided"))
        return i == 0 && p->ctx.decided;
    if (IS("gpc"))
        return i == 0 && p->ctx.gpc_applied;
    if (IS("checked"))
        return i == 0 && (p->shown & (1u << p->cat)) != 0;
    if (IS("locked"))
        return i == 0 && (gw_consent_necessary_mask() & (1u << p->cat)) != 0;
    if (IS("cookies"))
        return i == 0 && p->seen[p->cat].num_cookies != 0;
    if (IS("trackers"))
        return i == 0 && p->seen[p->cat].num_trackers != 0;
    if (IS("cookie_desc"))
        return i == 0 && p->seen[p->cat].cookies[p->item].desc.len != 0;
    if (IS("cookie_count"))
        return i == 0 && p->seen[p->cat].cookies[p->item].count != 0;
    if (IS("dnss"))
        return i == 0 && p->ctx.regime == GW_REGIME_OPT_OUT && c->regimes.gpc_refuses != 0;
    if (IS("cookie") || IS("tracker")) {
        int cookie = IS("cookie");
        size_t num = cookie ? p->seen[p->cat].num_cookies : p->seen[p->cat].num_trackers;
        if (i >= num)
            return 0;
        const seen_item_t *it = (cookie ? p->seen[p->cat].cookies : p->seen[p->cat].trackers) + i;
        p->item = i;
        set_var(r, cookie ? "cookie" : "tracker", it->name);
        set_var(r, "cookie_desc", it->desc);
        set_var_num(r, "count", it->count);
        return 1;
    }
    if (IS("keep")) {
        int k = dnss_keep(p, i);
        if (k < 0)
            return 0;
        set_var_str(r, "keep", c->categories[k]);
        return 1;
    }
#undef IS
    return common_section(r, name, len, i);
}

static void render_preferences(h2o_req_t *req, void *_p);

static int
send_preferences(h2o_req_t *req)
{
    prefs_t *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->pool = &req->pool;
    p->ctx.is_tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
    gw_consent_evaluate(req, &p->ctx, gw_now_ms(req) / 1000);
    if (!gw_consent_first_gpc(req, &p->ctx, render_preferences, p)) /* else sent once the GPC refusal is on disk */
        render_preferences(req, p);
    return 0;
}

/*
 * The day of `when` (UTC: the server knows no visitor's time zone) as the language writes a date: its "date.format"
 * with {y}, {m} and {d} as numbers and {month} its "date.month.1" … "date.month.12" (English: "June 2, 2027", Chinese:
 * "2027年6月2日"). ISO (2027-06-02) for a language that does not say: not English words in another language's page.
 */
static h2o_iovec_t
format_date(h2o_mem_pool_t *pool, const ui_lang_t *l, time_t when)
{
    struct tm tm;
    gmtime_r(&when, &tm);
    const char *f = lang_lookup(l, H2O_STRLIT("date.format"));
    if (f == NULL) {
        char *iso = h2o_mem_alloc_pool(pool, 16);
        return h2o_iovec_init(iso, strftime(iso, 16, "%Y-%m-%d", &tm));
    }
    char month_key[32];
    snprintf(month_key, sizeof(month_key), "date.month.%d", tm.tm_mon + 1);
    h2o_iovec_t fmt = h2o_iovec_init(f, strlen(f)), month = t(l, month_key, strlen(month_key));
    /* each placeholder, 3 bytes at least, becomes a number (11 at most) or the month's name */
    size_t cap = fmt.len + (fmt.len / 3 + 1) * (month.len + 12), n = 0;
    char *out = h2o_mem_alloc_pool(pool, cap);
    for (const char *p = fmt.base, *end = fmt.base + fmt.len; p != end;) {
        if (end - p >= 3 && (memcmp(p, "{y}", 3) == 0 || memcmp(p, "{m}", 3) == 0 || memcmp(p, "{d}", 3) == 0)) {
            int v = p[1] == 'y' ? tm.tm_year + 1900 : p[1] == 'm' ? tm.tm_mon + 1 : tm.tm_mday;
            n += (size_t)snprintf(out + n, cap - n, "%d", v);
            p += 3;
        } else if (end - p >= 7 && memcmp(p, "{month}", 7) == 0) {
            memcpy(out + n, month.base, month.len), n += month.len;
            p += 7;
        } else {
            out[n++] = *p++;
        }
    }
    return h2o_iovec_init(out, n);
}

static void
render_preferences(h2o_req_t *req, void *_p)
{
    const gw_config_t *c = &gw_rt.conf;
    prefs_t *p = _p;
    render_t r;
    h2o_iovec_t flag = gw_req_query_param(req, "saved");
    p->saved = h2o_memis(flag.base, flag.len, H2O_STRLIT("1"));
    flag = gw_req_query_param(req, "withdrawn");
    p->withdrawn = h2o_memis(flag.base, flag.len, H2O_STRLIT("1"));
    /* a form post the store could not record came back here with what it asked for: the switches show that, not the
     * consent in force, so that "try again" is one click (the choice would otherwise be lost) */
    p->shown = p->ctx.granted;
    h2o_iovec_t chosen = gw_req_query_param(req, "chosen");
    if (chosen.base != NULL && gw_req_query_param(req, "error").base != NULL) {
        p->shown = gw_consent_necessary_mask();
        for (size_t a = 0, b; a < chosen.len; a = b + 1) {
            for (b = a; b != chosen.len && chosen.base[b] != ',' && chosen.base[b] != '&'; ++b)
                ;
            char name[40];
            if (b - a < sizeof(name)) {
                memcpy(name, chosen.base + a, b - a);
                name[b - a] = '\0';
                int cat = gw_config_category(c, name);
                if (cat >= 0)
                    p->shown |= 1u << cat;
            }
            if (b != chosen.len && chosen.base[b] == '&')
                break;
        }
    }
    render_init(&r, req, prefs_section, p);

    /* what the gateway has seen, plus its own two cookies under "necessary" */
    gw_inventory_foreach(on_seen_cookie, p);
    p->own_host = gw_req_host(req);
    gw_trackers_foreach_seen(on_seen_tracker, p);
    for (size_t i = 0; i != c->num_categories; ++i) {
        if ((gw_consent_necessary_mask() & (1u << i)) != 0) {
            const char *own = p->ctx.is_tls ? GW_CONSENT_COOKIE_TLS : GW_CONSENT_COOKIE;
            add_seen(p, p->seen[i].cookies, &p->seen[i].num_cookies, own, strlen(own), t(r.lang, H2O_STRLIT("pc.cookie.consent")),
                     0);
            add_seen(p, p->seen[i].cookies, &p->seen[i].num_cookies, H2O_STRLIT(UI_LANG_COOKIE),
                     t(r.lang, H2O_STRLIT("pc.cookie.lang")), 0);
        }
        qsort(p->seen[i].cookies, p->seen[i].num_cookies, sizeof(seen_item_t), cmp_seen);
        qsort(p->seen[i].trackers, p->seen[i].num_trackers, sizeof(seen_item_t), cmp_seen);
    }

    static const char *const regimes[] = {"opt-in", "opt-out", "notice"};
    const char *regime = regimes[p->ctx.regime < 3 ? p->ctx.regime : 0];
    set_var_str(&r, "regime", t3(r.lang, "regime.", regime, ""));
    set_var_str(&r, "undecided_text", t3(r.lang, "pc.status.undecided.", regime, ""));
    set_var_num(&r, "version", c->policy.version);
    set_var(&r, "categories", category_titles(&r, c->regimes.gpc_refuses));
    set_var(&r, "date", format_date(&req->pool, r.lang, (time_t)p->ctx.consent_expires));
    send_rendered(&r, &pages.preferences, 200, "OK", CSP_BASE "; script-src 'self'; connect-src 'self'; form-action 'self'");
}

/* --- receipts --------------------------------------------------------------------------------- */

/* strings receipts.js needs, handed over in the page (no extra request) */
static const char *const receipts_js_keys[] = {"receipts.loading",
                                               "receipts.none",
                                               "receipts.error",
                                               "receipts.erased",
                                               "receipts.erased_one",
                                               "receipts.erased_none",
                                               "receipts.erase_receipt",
                                               "receipts.erase_confirm",
                                               "method.accept_all",
                                               "method.reject_all",
                                               "method.custom",
                                               "method.withdraw",
                                               "method.gpc",
                                               "method.erase",
                                               "error.store_unavailable",
                                               "error.rate_limited",
                                               "error.forbidden",
                                               "error.network",
                                               "error.generic",
                                               "list.separator",
                                               NULL};

typedef struct st_receipts_page_t {
    gw_reqctx_t ctx;
    char visitor[33];
} receipts_page_t;

static int
receipts_section(render_t *r, const char *name, size_t len, size_t i)
{
    receipts_page_t *p = r->data;
    const gw_config_t *c = &gw_rt.conf;
    if (h2o_memis(name, len, H2O_STRLIT("visitor")))
        return i == 0 && p->ctx.known_visitor;
    /* without JavaScript: "erase" asks first (?confirm=erase, a page of its own), and the answer is said (?erased=N) */
    if (h2o_memis(name, len, H2O_STRLIT("confirm_erase"))) {
        h2o_iovec_t q = gw_req_query_param(r->req, "confirm");
        return i == 0 && h2o_memis(q.base, q.len, H2O_STRLIT("erase"));
    }
    if (h2o_memis(name, len, H2O_STRLIT("not_confirming"))) {
        h2o_iovec_t q = gw_req_query_param(r->req, "confirm");
        return i == 0 && !h2o_memis(q.base, q.len, H2O_STRLIT("erase"));
    }
    if (h2o_memis(name, len, H2O_STRLIT("erased"))) {
        h2o_iovec_t q = gw_req_query_param(r->req, "erased"), rc = gw_req_query_param(r->req, "receipt");
        if (i != 0 || q.base == NULL || q.len > 9)
            return 0;
        unsigned long n = 0;
        for (size_t k = 0; k != q.len; ++k) {
            if (q.base[k] < '0' || q.base[k] > '9')
                return 0;
            n = n * 10 + (unsigned long)(q.base[k] - '0');
        }
        const char *key = n == 0 ? "receipts.erased_none" : n == 1 ? "receipts.erased_one" : "receipts.erased";
        h2o_iovec_t text = t(r->lang, key, strlen(key));
        char num[16];
        snprintf(num, sizeof(num), "%lu", n);
        /* "{count}" in the string becomes the number */
        const char *at = memmem(text.base, text.len, "{count}", 7);
        set_var(r, "erased_text", at == NULL ? text
                                             : h2o_concat(&r->req->pool, h2o_iovec_init(text.base, (size_t)(at - text.base)),
                                                          h2o_iovec_init(num, strlen(num)),
                                                          h2o_iovec_init(at + 7, text.len - (size_t)(at - text.base) - 7)));
        /* the receipt of the erasure: the visitor's proof that it happened (a UUID, nothing else is shown) */
        int uuid = rc.len == 36;
        for (size_t k = 0; uuid && k != rc.len; ++k)
            uuid = (rc.base[k] >= '0' && rc.base[k] <= '9') || (rc.base[k] >= 'a' && rc.base[k] <= 'f') || rc.base[k] == '-';
        h2o_iovec_t rt = t(r->lang, H2O_STRLIT("receipts.erase_receipt"));
        const char *ra = uuid ? memmem(rt.base, rt.len, "{receipt}", 9) : NULL;
        set_var(r, "erase_receipt", ra == NULL ? h2o_iovec_init("", 0)
                                               : h2o_concat(&r->req->pool, h2o_iovec_init(rt.base, (size_t)(ra - rt.base)), rc,
                                                            h2o_iovec_init(ra + 9, rt.len - (size_t)(ra - rt.base) - 9)));
        return 1;
    }
    if (h2o_memis(name, len, H2O_STRLIT("strings"))) {
        size_t n = sizeof(receipts_js_keys) / sizeof(receipts_js_keys[0]) - 1;
        if (i < n) {
            set_var_str(r, "key", receipts_js_keys[i]);
            set_var(r, "value", t(r->lang, receipts_js_keys[i], strlen(receipts_js_keys[i])));
            return 1;
        }
        if ((i -= n) >= c->num_categories)
            return 0;
        const char *title = t3(r->lang, "category.", c->categories[i], ".title");
        char *key = h2o_mem_alloc_pool(&r->req->pool, strlen(c->categories[i]) + 10);
        sprintf(key, "category.%s", c->categories[i]);
        set_var_str(r, "key", key);
        set_var_str(r, "value", title != NULL ? title : c->categories[i]);
        return 1;
    }
    return common_section(r, name, len, i);
}

static void
render_receipts(h2o_req_t *req, void *_p)
{
    receipts_page_t *p = _p;
    render_t r;
    gw_hex(p->ctx.visitor, 16, p->visitor);
    render_init(&r, req, receipts_section, p);
    set_var_str(&r, "visitor", p->visitor);
    send_rendered(&r, &pages.receipts, 200, "OK", CSP_BASE "; script-src 'self'; connect-src 'self'; form-action 'self'");
}

static int
send_receipts(h2o_req_t *req)
{
    receipts_page_t *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->ctx.is_tls = req->scheme == &H2O_URL_SCHEME_HTTPS;
    gw_consent_evaluate(req, &p->ctx, gw_now_ms(req) / 1000);
    if (!gw_consent_first_gpc(req, &p->ctx, render_receipts, p)) /* else sent once the GPC refusal is on disk */
        render_receipts(req, p);
    return 0;
}

/* --- warning, blocked, refused ------------------------------------------------------------------ */

/* The destination as text: control bytes, invalid UTF-8 and the bidi controls that could make it read as
 * another address (U+200E/F, U+202A–E, U+2066–9) are percent-encoded; over UI_URL_SHOWN bytes it is cut. */
static h2o_iovec_t
shown_url(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t cut = len > UI_URL_SHOWN ? UI_URL_SHOWN : len;
    char *out = h2o_mem_alloc_pool(pool, cut * 3 + 4), *o = out;
    for (size_t i = 0; i < cut;) {
        unsigned char ch = (unsigned char)s[i];
        size_t n = ch < 0x80 ? 1 : (ch & 0xe0) == 0xc0 ? 2 : (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 ? 4 : 0;
        int ok = n != 0 && i + n <= cut && !(n == 1 && (ch < 0x20 || ch == 0x7f)) && !(n == 2 && ch < 0xc2);
        for (size_t k = 1; ok && k < n; ++k)
            ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
        if (ok && n == 3 && ch == 0xe2) {
            unsigned c1 = (unsigned char)s[i + 1], c2 = (unsigned char)s[i + 2];
            ok = !((c1 == 0x80 && (c2 == 0x8e || c2 == 0x8f || (0xaa <= c2 && c2 <= 0xae))) ||
                   (c1 == 0x81 && 0xa6 <= c2 && c2 <= 0xa9));
        }
        if (ok) {
            memcpy(o, s + i, n);
            o += n, i += n;
        } else {
            /* percent-encode this byte (or the whole rejected sequence) */
            size_t m = n != 0 && i + n <= cut ? n : 1;
            for (size_t k = 0; k != m; ++k) {
                unsigned char b = (unsigned char)s[i + k];
                *o++ = '%', *o++ = hex[b >> 4], *o++ = hex[b & 15];
            }
            i += m;
        }
    }
    if (cut != len)
        memcpy(o, "\xe2\x80\xa6", 3), o += 3; /* … */
    return h2o_iovec_init(out, (size_t)(o - out));
}

/* the host of an absolute URL, lowercased, without user info (evil.example of "https://bank.example@evil.example/") */
static h2o_iovec_t
url_host(h2o_mem_pool_t *pool, h2o_iovec_t url)
{
    size_t p = h2o_strstr(url.base, url.len, H2O_STRLIT("://"));
    if (p == SIZE_MAX)
        return h2o_iovec_init(H2O_STRLIT(""));
    const char *a = url.base + p + 3, *end = url.base + url.len, *e = a;
    while (e != end && *e != '/' && *e != '?' && *e != '#' && *e != '\\')
        ++e;
    for (const char *q = a; q != e; ++q)
        if (*q == '@')
            a = q + 1;
    const char *port = e;
    if (a != e && *a == '[') {
        const char *rb = memchr(a, ']', (size_t)(e - a));
        port = rb != NULL ? rb + 1 : e;
    } else {
        for (const char *q = a; q != e; ++q)
            if (*q == ':') {
                port = q;
                break;
            }
    }
    h2o_iovec_t host = h2o_strdup(pool, a, (size_t)(port - a));
    for (size_t i = 0; i != host.len; ++i)
        host.base[i] = h2o_tolower(host.base[i]);
    return host;
}

/* the caller's continue link is used only when it is a plain same-site path or an http(s) URL */
static int
continue_ok(const char *href)
{
    if (href == NULL)
        return 0;
    size_t len = strlen(href);
    for (size_t i = 0; i != len; ++i)
        if ((unsigned char)href[i] <= 0x20 || href[i] == 0x7f || href[i] == '\\')
            return 0;
    if (len >= 1 && href[0] == '/')
        return len == 1 || href[1] != '/';
    return (len > 7 && h2o_lcstris(href, 7, H2O_STRLIT("http://"))) || (len > 8 && h2o_lcstris(href, 8, H2O_STRLIT("https://")));
}

typedef struct st_alert_page_t {
    int has_reason, has_continue, has_unicode;
} alert_page_t;

static int
alert_section(render_t *r, const char *name, size_t len, size_t i)
{
    alert_page_t *p = r->data;
    if (h2o_memis(name, len, H2O_STRLIT("reason")))
        return i == 0 && p->has_reason;
    if (h2o_memis(name, len, H2O_STRLIT("continue")))
        return i == 0 && p->has_continue;
    if (h2o_memis(name, len, H2O_STRLIT("unicode")))
        return i == 0 && p->has_unicode;
    return common_section(r, name, len, i);
}

static void
send_alert(h2o_req_t *req, int blocked, const char *url, size_t len, const char *list_name, const char *reason,
           const char *continue_href)
{
    if (!pages.loaded) {
        gw_send_page(req, blocked ? 403 : 200, blocked ? "Forbidden" : "OK",
                     blocked ? "This link has been blocked" : "This link may be unsafe",
                     "The destination is on a list of sites known to this site's security team.");
        return;
    }
    alert_page_t *p = h2o_mem_alloc_pool(&req->pool, sizeof(*p));
    render_t r;
    p->has_reason = reason != NULL && reason[0] != '\0';
    p->has_continue = !blocked && continue_ok(continue_href);
    p->has_unicode = 0;
    if (!blocked && !p->has_continue && continue_href != NULL && continue_href[0] != '\0')
        gw_warn("ui: warning page: the continue link is not a path or an http(s) URL; not shown");
    render_init(&r, req, alert_section, p);
    h2o_iovec_t u = shown_url(&req->pool, url != NULL ? url : "", url != NULL ? len : 0), host = url_host(&req->pool, u);
    set_var(&r, "url", u);
    set_var(&r, "host", host);
    /* a name with non-ASCII letters is shown as its punycode (what lists and certificates name), the
     * Unicode form beside it: a look-alike (Cyrillic "а" for Latin "a") cannot pass for the real one */
    char *ascii = h2o_mem_alloc_pool(&req->pool, GW_RISK_HOST_MAX + 1);
    int n = host.len != 0 ? gw_risk_normalize_host(host.base, host.len, GW_RISK_NORM_LOOKUP, ascii, NULL) : -1;
    if (n > 0 && !h2o_memis(ascii, (size_t)n, host.base, host.len) && memmem(ascii, (size_t)n, "xn--", 4) != NULL) {
        p->has_unicode = 1;
        set_var(&r, "host", h2o_iovec_init(ascii, (size_t)n));
        set_var(&r, "unicode", host);
    }
    set_var_str(&r, "list", list_name != NULL ? list_name : "");
    set_var_str(&r, "reason", p->has_reason ? reason : "");
    set_var_str(&r, "continue", p->has_continue ? continue_href : "");
    send_rendered(&r, blocked ? &pages.blocked : &pages.warning, blocked ? 403 : 200, blocked ? "Forbidden" : "OK",
                  CSP_BASE "; form-action 'none'");
}

void
gw_ui_send_warning(h2o_req_t *req, const char *url, size_t len, const char *list_name, const char *reason,
                   const char *continue_href)
{
    send_alert(req, 0, url, len, list_name, reason, continue_href);
}

void
gw_ui_send_blocked(h2o_req_t *req, const char *url, size_t len, const char *list_name, const char *reason)
{
    send_alert(req, 1, url, len, list_name, reason, NULL);
}

void
gw_ui_send_refused(h2o_req_t *req, int status, const char *reason, const char *what)
{
    render_t r;
    if (!pages.loaded) {
        gw_send_page(req, status, reason, reason, "This request was refused.");
        return;
    }
    render_init(&r, req, alert_section, &(alert_page_t){0, 0});
    const char *title = what != NULL && strlen(what) < UI_KEY_MAX ? t3(r.lang, "refused.", what, ".title") : NULL;
    const char *text = what != NULL && strlen(what) < UI_KEY_MAX ? t3(r.lang, "refused.", what, ".text") : NULL;
    set_var(&r, "title", title != NULL ? h2o_iovec_init(title, strlen(title)) : t(r.lang, H2O_STRLIT("refused.title")));
    set_var(&r, "text", text != NULL ? h2o_iovec_init(text, strlen(text)) : t(r.lang, H2O_STRLIT("refused.text")));
    char *st = h2o_mem_alloc_pool(&req->pool, 64);
    set_var(&r, "status", h2o_iovec_init(st, (size_t)snprintf(st, 64, "HTTP %d %.48s", status, reason)));
    send_rendered(&r, &pages.refused, status, reason, CSP_BASE "; form-action 'none'");
}

void
gw_ui_send_read_only(h2o_req_t *req)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
    gw_ui_send_refused(req, 405, "Method Not Allowed", NULL);
}

/* --- the handler -------------------------------------------------------------------------------- */

static int preview_enabled; /* CG_UI_PREVIEW=1 in the environment at start: the tests' and screenshots' pages */


/* a query parameter percent-decoded ('+' is a space) into pool; "" when absent */
static const char *
query_decoded(h2o_req_t *req, const char *name)
{
    h2o_iovec_t v = gw_req_query_param(req, name);
    char *out = h2o_mem_alloc_pool(&req->pool, v.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < v.len; ++i) {
        int hi, lo;
        if (v.base[i] == '+') {
            out[n++] = ' ';
        } else if (v.base[i] == '%' && i + 2 < v.len && (hi = gw_url_hex_digit(v.base[i + 1])) >= 0 &&
                   (lo = gw_url_hex_digit(v.base[i + 2])) >= 0) {
            out[n++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[n++] = v.base[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* GET /__consent/preview/{warning,blocked,refused}?u=&list=&reason=&continue= (only with CG_UI_PREVIEW=1) */
static int
send_preview(h2o_req_t *req, h2o_iovec_t page)
{
    const char *u = query_decoded(req, "u"), *list = query_decoded(req, "list");
    const char *reason = query_decoded(req, "reason"), *cont = query_decoded(req, "continue");
    if (h2o_memis(page.base, page.len, H2O_STRLIT("warning")))
        gw_ui_send_warning(req, u, strlen(u), list, reason, cont);
    else if (h2o_memis(page.base, page.len, H2O_STRLIT("blocked")))
        gw_ui_send_blocked(req, u, strlen(u), list, reason);
    else
        gw_ui_send_refused(req, 400, "Bad Request", "bad_link");
    return 0;
}

/* 1 when the request's If-None-Match names etag (weakly: W/ too, RFC 9110 13.1.2) or is "*" (an entity-tag holds no
 * quote, so the quoted tag found in the list is that tag) */
static int
none_match(h2o_req_t *req, const char *etag)
{
    for (ssize_t i = -1; (i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, i)) != -1;) {
        h2o_iovec_t v = req->headers.entries[i].value, t = h2o_str_stripws(v.base, v.len);
        if (h2o_memis(t.base, t.len, H2O_STRLIT("*")) || h2o_strstr(v.base, v.len, etag, strlen(etag)) != SIZE_MAX)
            return 1;
    }
    return 0;
}

int
gw_ui_send_not_modified(h2o_req_t *req, const char *etag)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ETAG, NULL, etag, strlen(etag));
    if (!none_match(req, etag))
        return 0;
    req->res.status = 304;
    req->res.reason = "Not Modified";
    h2o_send_inline(req, NULL, 0);
    return 1;
}

static int
send_strings(h2o_req_t *req, const ui_lang_t *l)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Accept-Language, Cookie"));
    if (gw_ui_send_not_modified(req, l->etag)) /* the banner asks on every page it shows itself on: the strings it holds are current */
        return 0;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = l->json.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json; charset=utf-8"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, NULL, H2O_STRLIT("nosniff"));
    h2o_send_inline(req, l->json.base, l->json.len);
    return 0;
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
    size_t pathlen =
        req->query_at != SIZE_MAX && req->query_at < req->path_normalized.len ? req->query_at : req->path_normalized.len;
    h2o_iovec_t path = h2o_iovec_init(req->path_normalized.base, pathlen), m = req->method;
    int get = h2o_memis(m.base, m.len, H2O_STRLIT("GET")) || h2o_memis(m.base, m.len, H2O_STRLIT("HEAD"));

    /* (the static files after this handler too: gw_server_track_request answers 431) */
    if (gw_server_headers_oversized(req)) {
        gw_server_track_request(req);
        return 0;
    }
    /* the page templates are read by the gateway, never served ("/__consent//templates/" too: repeated slashes are
     * one to the file handler) */
    size_t k = 10;
    if (path.len >= 10 && memcmp(path.base, "/__consent", 10) == 0)
        while (k < path.len && path.base[k] == '/')
            ++k;
    if (k > 10 && path.len - k >= 9 && h2o_lcstris(path.base + k, 9, H2O_STRLIT("templates")) &&
        (k + 9 == path.len || path.base[k + 9] == '/')) {
        if (gw_server_track_request(req) != 0)
            return 0;
        gw_ui_send_refused(req, 404, "Not Found", NULL);
        return 0;
    }
    int preferences = h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/")) ||
                      h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/index.html"));
    int receipts = h2o_memis(path.base, path.len, H2O_STRLIT("/__consent/receipts"));
    h2o_iovec_t code = h2o_iovec_init(NULL, 0); /* /__consent/i18n/{strings,<language>}.json */
    if (path.len > 21 && memcmp(path.base, "/__consent/i18n/", 16) == 0 && memcmp(path.base + path.len - 5, ".json", 5) == 0)
        code = h2o_iovec_init(path.base + 16, path.len - 21);
    int strings = code.base != NULL && h2o_memis(code.base, code.len, H2O_STRLIT("strings"));
    if (!get) {
        if (!preferences && !receipts && !strings && (code.base == NULL || find_lang(code.base, code.len) == NULL))
            return -1;
        /* the pages' forms post to the API, and the strings are only read: another method here is a 405, not the
         * file handler's 404 (RFC 9110 15.5.6) */
        if (gw_server_track_request(req) != 0)
            return 0;
        gw_ui_send_read_only(req);
        return 0;
    }
    if (preferences)
        return gw_server_track_request(req) != 0 ? 0 : send_preferences(req);
    if (receipts)
        return gw_server_track_request(req) != 0 ? 0 : send_receipts(req);
    if (preview_enabled && path.len > 19 && memcmp(path.base, "/__consent/preview/", 19) == 0) {
        return gw_server_track_request(req) != 0 ? 0 : send_preview(req, h2o_iovec_init(path.base + 19, path.len - 19));
    }
    if (code.base != NULL) {
        gw_consent_settle_scheme(req); /* (before pick_lang, whose ?lang= cookie is Secure over https) */
        const ui_lang_t *l = strings ? pick_lang(req) : find_lang(code.base, code.len);
        if (l == NULL)
            return -1;
        return gw_server_track_request(req) != 0 ? 0 : send_strings(req, l);
    }
    return -1;
}

int
gw_ui_check(const char *static_dir)
{
    const gw_config_t *c = &gw_rt.conf;
    if (num_langs != 0)
        return 0;
    for (size_t i = 0; i != c->ui.num_strings; ++i) /* (as setup_hosts gives them to gw_ui_register) */
        if (gw_ui_override(c->ui.strings[i].lang, c->ui.strings[i].key, c->ui.strings[i].value) != 0)
            return -1;
    return load_strings(static_dir);
}

int
gw_ui_register(h2o_pathconf_t *pc)
{
    const char *dir = gw_rt.static_dir;
    if (num_langs == 0) {
        if (load_strings(dir) != 0)
            return -1;
        for (size_t i = 0; i != num_langs; ++i)
            build_lang_json(langs + i);
        static const struct {
            ui_tmpl_t *t;
            const char *file;
        } files[] = {{&pages.preferences, "preferences.html"},
                     {&pages.receipts, "receipts.html"},
                     {&pages.warning, "warning.html"},
                     {&pages.blocked, "blocked.html"},
                     {&pages.refused, "refused.html"}};
        for (size_t i = 0; i != sizeof(files) / sizeof(files[0]); ++i)
            if (parse_template(files[i].t, dir, files[i].file, strlen(files[i].file), 0) != 0)
                return -1;
        pages.loaded = 1;
        const char *preview = getenv("CG_UI_PREVIEW");
        if ((preview_enabled = preview != NULL && strcmp(preview, "1") == 0))
            gw_warn("consent UI: CG_UI_PREVIEW=1: /__consent/preview/ renders warning pages for any URL (tests only)");
        gw_info("consent UI: %zu languages, templates from %s/templates", num_langs, dir);
    }
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
    return 0;
}
