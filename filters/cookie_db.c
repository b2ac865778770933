/*
 * cookie_db — cookie name -> category index. See cookie_db.h for the contract.
 *
 * Two tiers with the same layout, looked up in order: [0] operator overrides, [1] the
 * database file. A tier holds
 *   - `exact`: an open-addressing hash table (linear probing, FNV-1a, load <= 1/2) of
 *     exact names -> category. The table only changes at load time, so a hostile name
 *     cannot lengthen a probe sequence beyond the longest cluster built at load;
 *   - `pre`: the prefix patterns sorted bytewise, each with the index of its longest
 *     proper prefix in the array (`parent`), and `first[c]..first[c+1]`, the range of
 *     prefixes starting with byte c. The longest prefix of a name is found by binary
 *     search for the greatest entry <= name, then following parents until one is a prefix
 *     of the name: every prefix of the name that is in the array sorts between the name's
 *     longest listed prefix and the name itself, so it lies on that parent chain;
 *   - `pset`: a hash set of the prefix patterns (-> index in `pre`), used only while
 *     adding, to replace or reject a pattern that is listed twice.
 * Adding a prefix marks the tier dirty; gw_cookie_db_add() rebuilds (sort + parents) at
 * once, gw_cookie_db_load_file() once at the end of the file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "jsonpos.h"
#include "cookie_db.h"

typedef struct st_slot_t {
    const char *s; /* NULL: empty slot */
    uint32_t len, hash;
    int val;
} slot_t;

typedef struct st_htab_t {
    slot_t *slots;
    size_t mask, count; /* mask + 1 slots (a power of two), or no table when slots == NULL */
} htab_t;

typedef struct st_prefix_t {
    char *s; /* owned */
    uint32_t len;
    int cat, parent;
} prefix_t;

typedef struct st_tier_t {
    htab_t exact, pset;
    prefix_t *pre;
    size_t npre, cappre;
    uint32_t first[257];
    int dirty;
} tier_t;

/* a file category read as one of the db's (gw_cookie_db_map_category) */
typedef struct st_category_map_t {
    char *from; /* owned */
    int to;
} category_map_t;

struct st_gw_cookie_db_t {
    tier_t tier[2];
    char *cats[GW_COOKIE_DB_MAX_CATEGORIES];
    size_t ncats, skipped_category;
    category_map_t map[GW_COOKIE_DB_MAX_CATEGORIES];
    size_t nmap;
    gw_cookie_db_skipped_t skipped[GW_COOKIE_DB_MAX_SKIPPED]; /* the first file categories skipped, strings owned */
    size_t nskipped;
};

enum { TIER_OVERRIDE = 0, TIER_DB = 1 };

/* ---- hash table ------------------------------------------------------------------- */

static uint32_t
hash_name(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; ++i)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static slot_t *
htab_find(const htab_t *t, const char *s, size_t len, uint32_t h)
{
    if (t->slots == NULL)
        return NULL;
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        slot_t *e = &t->slots[i];
        if (e->s == NULL)
            return NULL;
        if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0)
            return e;
    }
}

/* inserts a key known to be absent; s is not copied */
static int
htab_insert(htab_t *t, const char *s, size_t len, uint32_t h, int val)
{
    if (t->slots == NULL || (t->count + 1) * 2 > t->mask + 1) {
        size_t n = t->slots == NULL ? 16 : (t->mask + 1) * 2;
        slot_t *ns = calloc(n, sizeof(*ns));
        if (ns == NULL)
            return -1;
        for (size_t i = 0; t->slots != NULL && i <= t->mask; ++i) {
            if (t->slots[i].s == NULL)
                continue;
            size_t j = t->slots[i].hash & (n - 1);
            while (ns[j].s != NULL)
                j = (j + 1) & (n - 1);
            ns[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = ns;
        t->mask = n - 1;
    }
    size_t j = h & t->mask;
    while (t->slots[j].s != NULL)
        j = (j + 1) & t->mask;
    t->slots[j] = (slot_t){s, (uint32_t)len, h, val};
    ++t->count;
    return 0;
}

/* ---- prefixes --------------------------------------------------------------------- */

static int
cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r != 0)
        return r;
    return alen < blen ? -1 : alen > blen;
}

static int
cmp_prefix(const void *x, const void *y)
{
    const prefix_t *a = x, *b = y;
    return cmp_bytes(a->s, a->len, b->s, b->len);
}

/* sorts the prefixes, links each to its longest listed proper prefix, indexes first bytes */
static void
tier_rebuild(tier_t *t)
{
    int stack[GW_COOKIE_DB_MAX_PATTERN];
    size_t depth = 0;

    qsort(t->pre, t->npre, sizeof(*t->pre), cmp_prefix);
    for (size_t i = 0; i < t->npre; ++i) {
        prefix_t *p = &t->pre[i];
        /* the stack holds the chain of nested prefixes ending at the previous entry */
        while (depth > 0) {
            const prefix_t *top = &t->pre[stack[depth - 1]];
            if (top->len < p->len && memcmp(top->s, p->s, top->len) == 0)
                break;
            --depth;
        }
        p->parent = depth > 0 ? stack[depth - 1] : -1;
        stack[depth++] = (int)i; /* depth <= pattern length: each level is strictly longer */
        slot_t *e = htab_find(&t->pset, p->s, p->len, hash_name(p->s, p->len));
        e->val = (int)i;
    }
    size_t i = 0;
    for (unsigned c = 0; c < 256; ++c) {
        t->first[c] = (uint32_t)i;
        while (i < t->npre && (unsigned char)t->pre[i].s[0] == c)
            ++i;
    }
    t->first[256] = (uint32_t)t->npre;
    t->dirty = 0;
}

static int
tier_lookup(const tier_t *t, const char *name, size_t len, uint32_t h)
{
    if (t->exact.count != 0) {
        const slot_t *e = htab_find(&t->exact, name, len, h);
        if (e != NULL)
            return e->val;
    }
    if (t->npre == 0)
        return -1;
    unsigned c = (unsigned char)name[0];
    size_t lo = t->first[c], hi = t->first[c + 1];
    /* greatest entry <= name in [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_bytes(t->pre[mid].s, t->pre[mid].len, name, len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->first[c])
        return -1;
    for (int i = (int)lo - 1; i >= 0; i = t->pre[i].parent) {
        const prefix_t *p = &t->pre[i];
        if (p->len <= len && memcmp(p->s, name, p->len) == 0)
            return p->cat;
    }
    return -1;
}

static void
tier_free(tier_t *t)
{
    for (size_t i = 0; t->exact.slots != NULL && i <= t->exact.mask; ++i)
        free((char *)t->exact.slots[i].s);
    for (size_t i = 0; i < t->npre; ++i)
        free(t->pre[i].s);
    free(t->exact.slots);
    free(t->pset.slots);
    free(t->pre);
}

/* ---- public API ------------------------------------------------------------------- */

gw_cookie_db_t *
gw_cookie_db_new(const char *const *categories, size_t ncategories)
{
    if (ncategories == 0 || ncategories > GW_COOKIE_DB_MAX_CATEGORIES || categories == NULL)
        return NULL;
    gw_cookie_db_t *db = calloc(1, sizeof(*db));
    if (db == NULL)
        return NULL;
    for (size_t i = 0; i < ncategories; ++i) {
        if (categories[i] == NULL || categories[i][0] == '\0')
            goto Error;
        for (size_t j = 0; j < i; ++j)
            if (strcmp(categories[i], categories[j]) == 0)
                goto Error;
        if ((db->cats[i] = strdup(categories[i])) == NULL)
            goto Error;
        db->ncats = i + 1;
    }
    return db;
Error:
    gw_cookie_db_free(db);
    return NULL;
}

/* 0 when the pattern can match some cookie name (see gw_cookie_db_add) */
static int
validate_pattern(const char *p, size_t len)
{
    if (p == NULL || len == 0 || len > GW_COOKIE_DB_MAX_PATTERN || (len == 1 && p[0] == '*'))
        return -1;
    if (p[0] == ' ' || p[0] == '\t' || p[len - 1] == ' ' || p[len - 1] == '\t')
        return -1;
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == ';' || c == '=' || (c == '*' && i != len - 1))
            return -1;
    }
    if (p[len - 1] == '*' && (p[len - 2] == ' ' || p[len - 2] == '\t'))
        return -1;
    return 0;
}

/* adds or replaces; *replaced tells which. Leaves prefixes unsorted (tier->dirty). */
static int
db_add(gw_cookie_db_t *db, const char *pattern, size_t len, int category, int tier_idx, int *replaced)
{
    tier_t *t = &db->tier[tier_idx];
    int is_prefix = pattern[len - 1] == '*';
    size_t klen = is_prefix ? len - 1 : len;
    uint32_t h = hash_name(pattern, klen);
    htab_t *tab = is_prefix ? &t->pset : &t->exact;
    slot_t *e = htab_find(tab, pattern, klen, h);

    *replaced = e != NULL;
    if (e != NULL) {
        if (is_prefix)
            t->pre[e->val].cat = category;
        else
            e->val = category;
        return 0;
    }
    char *copy = malloc(klen);
    if (copy == NULL)
        return -1;
    memcpy(copy, pattern, klen);
    if (!is_prefix) {
        if (htab_insert(tab, copy, klen, h, category) != 0) {
            free(copy);
            return -1;
        }
        return 0;
    }
    if (t->npre == t->cappre) {
        size_t n = t->cappre == 0 ? 16 : t->cappre * 2;
        prefix_t *np = realloc(t->pre, n * sizeof(*np));
        if (np == NULL) {
            free(copy);
            return -1;
        }
        t->pre = np;
        t->cappre = n;
    }
    if (htab_insert(tab, copy, klen, h, (int)t->npre) != 0) {
        free(copy);
        return -1;
    }
    t->pre[t->npre++] = (prefix_t){copy, (uint32_t)klen, category, -1};
    t->dirty = 1;
    return 0;
}

int
gw_cookie_db_add(gw_cookie_db_t *db, const char *pattern, size_t len, int category, int is_override)
{
    int replaced;
    if (category < 0 || (size_t)category >= db->ncats || validate_pattern(pattern, len) != 0)
        return -1;
    int tier_idx = is_override ? TIER_OVERRIDE : TIER_DB;
    if (db_add(db, pattern, len, category, tier_idx, &replaced) != 0)
        return -1;
    if (db->tier[tier_idx].dirty)
        tier_rebuild(&db->tier[tier_idx]);
    return 0;
}

int
gw_cookie_db_lookup(const gw_cookie_db_t *db, const char *name, size_t len)
{
    if (len == 0)
        return -1;
    uint32_t h = hash_name(name, len);
    int cat = tier_lookup(&db->tier[TIER_OVERRIDE], name, len, h);
    return cat >= 0 ? cat : tier_lookup(&db->tier[TIER_DB], name, len, h);
}

int
gw_cookie_db_map_category(gw_cookie_db_t *db, const char *from, int category)
{
    if (from == NULL || from[0] == '\0' || category < 0 || (size_t)category >= db->ncats || db->nmap == GW_COOKIE_DB_MAX_CATEGORIES)
        return -1;
    for (size_t k = 0; k < db->nmap; ++k)
        if (strcmp(db->map[k].from, from) == 0)
            return -1;
    if ((db->map[db->nmap].from = strdup(from)) == NULL)
        return -1;
    db->map[db->nmap++].to = category;
    return 0;
}

/* counts a database pattern s[0..len) of category cat that starts with prefix[0..plen) and is not of category `category`,
 * keeping the bytewise smallest as the example */
static void
note_shadowed(gw_cookie_db_shadowed_t *out, const char *s, size_t len, int cat, const char *prefix, size_t plen, int category)
{
    if (cat == category || len < plen || memcmp(s, prefix, plen) != 0)
        return;
    if (out->count++ == 0 || cmp_bytes(s, len, out->example, out->example_len) < 0) {
        out->example = s;
        out->example_len = len;
        out->example_category = cat;
    }
}

size_t
gw_cookie_db_shadowed(const gw_cookie_db_t *db, const char *prefix, size_t len, int category, gw_cookie_db_shadowed_t *out)
{
    const tier_t *t = &db->tier[TIER_DB];
    *out = (gw_cookie_db_shadowed_t){NULL, 0, -1, 0};
    for (size_t i = 0; t->exact.slots != NULL && i <= t->exact.mask; ++i)
        if (t->exact.slots[i].s != NULL)
            note_shadowed(out, t->exact.slots[i].s, t->exact.slots[i].len, t->exact.slots[i].val, prefix, len, category);
    for (size_t i = 0; i != t->npre; ++i)
        note_shadowed(out, t->pre[i].s, t->pre[i].len, t->pre[i].cat, prefix, len, category);
    return out->count;
}

const gw_cookie_db_skipped_t *
gw_cookie_db_skipped(const gw_cookie_db_t *db, size_t *n)
{
    *n = db->nskipped;
    return db->skipped;
}

const char *
gw_cookie_db_category_name(const gw_cookie_db_t *db, int i)
{
    return i >= 0 && (size_t)i < db->ncats ? db->cats[i] : NULL;
}

size_t
gw_cookie_db_num_categories(const gw_cookie_db_t *db)
{
    return db->ncats;
}

void
gw_cookie_db_stats(const gw_cookie_db_t *db, gw_cookie_db_stats_t *out)
{
    out->exact = db->tier[TIER_DB].exact.count;
    out->prefix = db->tier[TIER_DB].npre;
    out->override_exact = db->tier[TIER_OVERRIDE].exact.count;
    out->override_prefix = db->tier[TIER_OVERRIDE].npre;
    out->skipped_category = db->skipped_category;
}

void
gw_cookie_db_free(gw_cookie_db_t *db)
{
    if (db == NULL)
        return;
    tier_free(&db->tier[0]);
    tier_free(&db->tier[1]);
    for (size_t i = 0; i < db->ncats; ++i)
        free(db->cats[i]);
    for (size_t i = 0; i < db->nmap; ++i)
        free(db->map[i].from);
    for (size_t i = 0; i < db->nskipped; ++i) {
        free(db->skipped[i].category);
        free(db->skipped[i].example);
    }
    free(db);
}

/* ---- cookies.json ----------------------------------------------------------------- */

typedef struct st_loader_t {
    const char *path, *text;
    size_t len;
    char *err;
    size_t errlen;
} loader_t;

/* writes "path:line:col: message" for the value at segs (or its key with want_key) */
static int
fail_at(loader_t *ld, const gw_jsonpos_seg_t *segs, size_t nsegs, int want_key, const char *fmt, ...)
{
    gw_jsonpos_t pos = {1, 1};
    char msg[512];
    va_list ap;

    if (ld->err == NULL || ld->errlen == 0)
        return -1;
    if (gw_jsonpos_find(ld->text, ld->len, segs, nsegs, want_key, &pos) != 0)
        pos.line = 1, pos.column = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ld->err, ld->errlen, "%s:%u:%u: %s", ld->path, pos.line, pos.column, msg);
    return -1;
}

/* the db's category for a file's category name c[0..clen): its mapping, else the category of that name; -1 none */
static int
file_category(const gw_cookie_db_t *db, const char *c, size_t clen)
{
    for (size_t k = 0; k < db->nmap; ++k)
        if (strlen(db->map[k].from) == clen && memcmp(db->map[k].from, c, clen) == 0)
            return db->map[k].to;
    for (size_t k = 0; k < db->ncats; ++k)
        if (strlen(db->cats[k]) == clen && memcmp(db->cats[k], c, clen) == 0)
            return (int)k;
    return -1;
}

/* counts a skipped entry under its category, keeping the first name of each of the first GW_COOKIE_DB_MAX_SKIPPED
 * categories (so that the start can say which cookies went to cookies.unknown_category); -1 on ENOMEM */
static int
note_skipped(gw_cookie_db_t *db, const char *c, size_t clen, const char *name, size_t nlen)
{
    for (size_t k = 0; k < db->nskipped; ++k) {
        if (strlen(db->skipped[k].category) == clen && memcmp(db->skipped[k].category, c, clen) == 0) {
            ++db->skipped[k].count;
            return 0;
        }
    }
    if (db->nskipped == GW_COOKIE_DB_MAX_SKIPPED)
        return 0;
    gw_cookie_db_skipped_t *sk = &db->skipped[db->nskipped];
    if ((sk->category = strndup(c, clen)) == NULL || (sk->example = strndup(name, nlen)) == NULL) {
        free(sk->category);
        sk->category = NULL;
        return -1;
    }
    sk->count = 1;
    ++db->nskipped;
    return 0;
}

static int
load_entry(gw_cookie_db_t *db, loader_t *ld, json_t *ent, size_t i)
{
    gw_jsonpos_seg_t segs[3] = {{"cookies", 0}, {NULL, i}, {NULL, 0}};
    const char *key;
    json_t *v, *name = NULL, *cat = NULL;
    int replaced;

    if (!json_is_object(ent))
        return fail_at(ld, segs, 2, 0, "cookies[%zu]: expected an object", i);
    json_object_foreach(ent, key, v)
    {
        segs[2].key = key;
        if (strcmp(key, "name") == 0)
            name = v;
        else if (strcmp(key, "category") == 0)
            cat = v;
        else if (strcmp(key, "platform") != 0)
            return fail_at(ld, segs, 3, 1, "cookies[%zu]: unknown key \"%s\" (name, category, platform)", i, key);
        if (!json_is_string(v))
            return fail_at(ld, segs, 3, 0, "cookies[%zu].%s: expected a string", i, key);
    }
    if (name == NULL || cat == NULL)
        return fail_at(ld, segs, 2, 0, "cookies[%zu]: \"name\" and \"category\" are required", i);

    const char *n = json_string_value(name), *c = json_string_value(cat);
    size_t nlen = json_string_length(name), clen = json_string_length(cat);
    segs[2].key = "name";
    if (validate_pattern(n, nlen) != 0)
        return fail_at(ld, segs, 3, 0,
                       "cookies[%zu].name: not a cookie name or prefix (1..%d bytes, no ';', '=', control "
                       "bytes, edge blanks; '*' only at the end)",
                       i, GW_COOKIE_DB_MAX_PATTERN);
    int idx = file_category(db, c, clen);
    if (idx < 0) {
        ++db->skipped_category; /* a category this site does not use */
        return note_skipped(db, c, clen, n, nlen) == 0 ? 0 : fail_at(ld, segs, 3, 0, "cookies[%zu]: out of memory", i);
    }
    if (db_add(db, n, nlen, idx, TIER_DB, &replaced) != 0)
        return fail_at(ld, segs, 3, 0, "cookies[%zu]: out of memory", i);
    if (replaced)
        return fail_at(ld, segs, 3, 0, "cookies[%zu].name: \"%.*s\" is listed twice", i, (int)(nlen > 64 ? 64 : nlen), n);
    return 0;
}

static int
load_text(gw_cookie_db_t *db, loader_t *ld)
{
    json_error_t jerr;
    json_t *root = json_loadb(ld->text, ld->len, JSON_REJECT_DUPLICATES, &jerr), *v, *list = NULL;
    const char *key;
    int rc = 0;

    if (root == NULL) {
        if (ld->err != NULL && ld->errlen != 0)
            snprintf(ld->err, ld->errlen, "%s:%d:%d: %s", ld->path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        rc = fail_at(ld, NULL, 0, 0, "expected an object with a \"cookies\" array");
        goto Exit;
    }
    json_object_foreach(root, key, v)
    {
        gw_jsonpos_seg_t seg = {key, 0};
        if (strcmp(key, "cookies") == 0) {
            list = v;
            if (!json_is_array(v)) {
                rc = fail_at(ld, &seg, 1, 0, "cookies: expected an array");
                goto Exit;
            }
        } else if (strcmp(key, "source") != 0 && strcmp(key, "notes") != 0) {
            rc = fail_at(ld, &seg, 1, 1, "unknown key \"%s\" (cookies, source, notes)", key);
            goto Exit;
        }
    }
    if (list == NULL) {
        rc = fail_at(ld, NULL, 0, 0, "missing \"cookies\" array");
        goto Exit;
    }
    for (size_t i = 0; i < json_array_size(list); ++i)
        if ((rc = load_entry(db, ld, json_array_get(list, i), i)) != 0)
            goto Exit;
Exit:
    if (db->tier[TIER_DB].dirty)
        tier_rebuild(&db->tier[TIER_DB]); /* keep the db consistent even after an error */
    json_decref(root);
    return rc;
}

int
gw_cookie_db_load_file(gw_cookie_db_t *db, const char *path, char *err, size_t errlen)
{
    loader_t ld = {path, NULL, 0, err, errlen};
    char *buf = NULL;
    size_t cap = 0;
    int rc = -1;
    FILE *fp = fopen(path, "rb");

    if (fp == NULL)
        goto IOError;
    for (;;) {
        if (ld.len == cap) {
            if (cap >= GW_COOKIE_DB_MAX_FILE) {
                errno = EFBIG;
                goto IOError;
            }
            cap = cap == 0 ? 256 * 1024 : cap * 2;
            char *nb = realloc(buf, cap);
            if (nb == NULL)
                goto IOError;
            buf = nb;
        }
        size_t n = fread(buf + ld.len, 1, cap - ld.len, fp);
        ld.len += n;
        if (n == 0) {
            if (ferror(fp)) {
                errno = EIO;
                goto IOError;
            }
            break;
        }
    }
    ld.text = buf;
    rc = load_text(db, &ld);
    goto Exit;
IOError:
    if (err != NULL && errlen != 0)
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
Exit:
    if (fp != NULL)
        fclose(fp);
    free(buf);
    return rc;
}
