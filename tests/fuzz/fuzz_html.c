/*
 * libFuzzer driver for the streaming HTML rewriter (filters/html.c).
 *
 * Input: 2 bytes of chunking seed, then the page. Every run feeds the page in chunks cut
 * at pseudo-random points derived from the seed (and, for comparison, whole), then checks:
 *
 *  1. keep-all (no callbacks, nonce or injection): output == input, byte for byte, but for what it writes so that
 *     Chromium's preload scanner reads no tag in foreign content where the tree builder has text (html.c, pre_begin):
 *     that output, read again, is itself (and the same chunked and whole). The start tags on_tag sees are recorded
 *     (offset, length, attributes); properties 2 and 4 read that output.
 *  2. nonce-everything (a callback setting nonce="N" on every start tag, plus the built-in
 *     script/style nonce): the output is re-tokenized by the rewriter; it must have the
 *     same start tags, each with exactly one nonce attribute valued N and otherwise the
 *     same attributes in the same order, and the bytes between tags (text, comments, end
 *     tags, raw text) must be identical: no text outside tags is ever lost or changed.
 *     (Skipped for pages near GW_HTML_MAX_TAG, where a grown tag may pass the cap.)
 *  3. the demo policy of tests/unit/html_policy.h (hold, remove, wrap, inject) gives the
 *     same output chunked and whole, and asked only about the elements it acts on
 *     (on_tag_ids, and with on_tag_urls); so does a policy that removes, holds (64-byte cap: an SVG script's
 *     start tag and text together) and streams arbitrary elements and drops over-cap tags.
 *  4. start tags past GW_HTML_MAX_TAG, read whole with cb.alloc: the page is inflated (each
 *     0xff byte stands for 3,000 'p' bytes, so a small input makes long tags); keep-all is
 *     still the same chunked and whole, its output read again itself (and attr_find still agrees with attr_next on tags up to
 *     GW_HTML_MAX_BIG_TAG), and the demo policy still gives the same output chunked and whole.
 * The seed's lowest bit also reads the page as XML (gw_html_set_xml) in every feed, its next one injects only in
 * place (gw_html_set_inject_in_place, never at the end) with the demo policy, and the third keeps an origin's own
 * nonce "k" (gw_html_keep_nonces) in the feeds of property 3: the same properties hold.
 *     The demo policy's output read again by it is left alone: no tracker script, image, iframe or link and no
 *     outbound link is found in it (what the first reading neutralised stays so; an edit never makes new markup).
 *  5. gw_html_decode of the page (read as an attribute value) is never longer, into an exactly sized buffer, and the
 *     same in place; gw_html_may_name_url of every start tag is a plain 0/1.
 * ASan/UBSan catch memory errors and leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "html.h"
#include "../unit/html_policy.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

#define MAX_TAGS 4096

typedef struct st_tags_t {
    policy_t sink;
    size_t n;
    uint64_t off[MAX_TAGS];
    size_t len[MAX_TAGS];
    size_t sig_at[MAX_TAGS + 1]; /* attributes other than nonce, "name=value\0" each, in sig */
    char *sig;
    size_t sig_len, sig_cap;
    int nonces_ok; /* every tag has exactly one nonce="N" (checked on the output) */
    int big;       /* fed with cb.alloc: tags up to GW_HTML_MAX_HUGE_TAG */
} tags_t;

static void
sig_add(tags_t *t, const char *p, size_t n)
{
    if (t->sig_len + n > t->sig_cap) {
        t->sig_cap = (t->sig_len + n) * 2 + 256;
        t->sig = realloc(t->sig, t->sig_cap);
        CHECK(t->sig != NULL);
    }
    memcpy(t->sig + t->sig_len, p, n);
    t->sig_len += n;
}

static void
tags_emit(void *ctx, const char *p, size_t n)
{
    policy_emit(&((tags_t *)ctx)->sink, p, n);
}

/* Records every start tag and a signature of its non-nonce attributes. */
/* names may hold NUL bytes: no strncasecmp */
static int
ascii_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return 0;
    }
    return 1;
}

static int
tags_record(void *ctx, gw_html_tag_t *tag)
{
    tags_t *t = ctx;
    gw_html_attr_t a;
    size_t it = 0;
    int nonces = 0;

    CHECK(tag->raw != NULL && tag->raw_len >= 3 && tag->raw[0] == '<' && tag->raw[tag->raw_len - 1] == '>');
    CHECK(tag->raw_len <= (t->big ? GW_HTML_MAX_HUGE_TAG : GW_HTML_MAX_TAG));
    CHECK(tag->name == tag->raw + 1 && tag->name_len >= 1);
    int url = gw_html_may_name_url(tag->raw, tag->raw_len);
    CHECK(url == 0 || url == 1);
    if (t->n == MAX_TAGS)
        return GW_HTML_KEEP;
    /* attr_find (the attribute cache, filled while the tag was read or on first use) agrees with attr_next (a fresh
     * scan): each name finds its first occurrence */
    gw_html_attr_t seen[40];
    size_t ns = 0;
    while (ns != 40 && gw_html_attr_next(tag, &it, &seen[ns]))
        ++ns;
    for (size_t i = 0; i != ns; ++i) {
        gw_html_attr_t f;
        size_t j = 0;
        while (!(seen[j].name_len == seen[i].name_len && ascii_ieq(seen[j].name, seen[i].name, seen[i].name_len)))
            ++j;
        CHECK(gw_html_attr_find(tag, seen[i].name, seen[i].name_len, &f) == 1);
        CHECK(f.name == seen[j].name && f.name_len == seen[j].name_len && f.value == seen[j].value &&
              f.value_len == seen[j].value_len);
    }
    it = 0;
    t->off[t->n] = tag->offset;
    t->len[t->n] = tag->raw_len;
    t->sig_at[t->n] = t->sig_len;
    while (gw_html_attr_next(tag, &it, &a)) {
        CHECK(a.name >= tag->raw && a.name + a.name_len <= tag->raw + tag->raw_len && a.name_len != 0);
        if (a.name_len == 5 && strncasecmp(a.name, "nonce", 5) == 0) {
            ++nonces;
            if (a.value == NULL || a.value_len != 1 || a.value[0] != 'N')
                nonces = 100;
            continue;
        }
        sig_add(t, a.name, a.name_len);
        if (a.value != NULL) {
            CHECK(a.value >= tag->raw && a.value + a.value_len <= tag->raw + tag->raw_len);
            sig_add(t, "=", 1);
            sig_add(t, a.value, a.value_len);
        }
        sig_add(t, "", 1);
    }
    if (nonces != 1)
        t->nonces_ok = 0;
    ++t->n;
    t->sig_at[t->n] = t->sig_len;
    return GW_HTML_KEEP;
}

static int
nonce_everything(void *ctx, gw_html_tag_t *tag)
{
    gw_html_attr_set(tag, "nonce", 5, "N", 1);
    return GW_HTML_KEEP;
}

/* Removes every third element (any kind: nested counting, raw text, void), drops over-cap
 * tags at odd offsets, streams raw text; all decided from the tag alone, so chunk-independent. */
static int
remove_some(void *ctx, gw_html_tag_t *tag)
{
    if (tag->raw_len % 3 == 0) {
        gw_html_tag_insert(tag, "[R]", 3);
        return GW_HTML_REMOVE | GW_HTML_TEXT;
    }
    return (tag->raw_len % 3 == 1 ? GW_HTML_HOLD : GW_HTML_KEEP) | GW_HTML_TEXT;
}

static int
remove_held(void *ctx, gw_html_tag_t *tag, const char *content, size_t len, int complete)
{
    if (gw_html_held_markup(tag)) /* an SVG script: its start tag shares the hold (or, too long for it, comes alone) */
        CHECK(tag->id == GW_HTML_TAG_SCRIPT && (len == 0 || len + tag->raw_len <= 64));
    else
        CHECK(len <= 64 && (complete || len == 64));
    return len % 2 == 0 ? GW_HTML_REMOVE : GW_HTML_KEEP;
}

static void
text_count(void *ctx, const char *p, size_t n)
{
    CHECK((p == NULL) == (n == 0));
}

static int
remove_overflow(void *ctx, gw_html_tag_t *tag)
{
    CHECK(tag->raw == NULL && tag->name_len <= 31);
    return tag->offset % 2 ? GW_HTML_REMOVE : GW_HTML_KEEP;
}

static const gw_html_cb_t remove_cb = {policy_emit, remove_some, remove_held, text_count, remove_overflow};
static const gw_html_cb_t record_cb = {tags_emit, tags_record, NULL, NULL, NULL};
static const gw_html_cb_t nonce_cb = {policy_emit, nonce_everything, NULL, NULL, NULL};

static int xml;      /* gw_html_set_xml on every rewriter of this input */
static int in_place; /* gw_html_set_inject_in_place on the demo policy's */
static int keep;     /* gw_html_keep_nonces("k", "k") on property 3's */

/* Feeds page through a fresh rewriter in chunks cut by seed (0: whole). */
static void
feed(const gw_html_cb_t *cb, void *ctx, int policy, const char *nonce, const uint8_t *page, size_t len, unsigned seed)
{
    gw_html_t *h = gw_html_new(policy ? 256 : 64, cb, ctx);
    uint32_t x = seed * 2654435761u + 1;
    size_t off = 0;

    CHECK(h != NULL);
    if (xml)
        gw_html_set_xml(h);
    if (policy)
        policy_attach(h);
    if (policy && in_place)
        gw_html_set_inject_in_place(h);
    if (nonce != NULL)
        gw_html_set_nonce(h, nonce, strlen(nonce));
    if (keep && cb != &record_cb && cb != &nonce_cb)
        gw_html_keep_nonces(h, "k", "k");
    while (off < len) {
        size_t n = len - off;
        if (seed != 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            size_t k = (x & 0x80000000u) ? 1 + (x >> 8) % 2048 : 1 + (x >> 8) % 8;
            if (k < n)
                n = k;
        }
        CHECK(gw_html_write(h, (const char *)page + off, n) == 0);
        off += n;
    }
    CHECK(gw_html_end(h) == 0);
    CHECK(gw_html_write(h, "x", 1) == -1);
    gw_html_free(h);
}

/* cb.alloc for property 4: at most one buffer of each size per rewriter for its tags (GW_HTML_MAX_BIG_TAG, then
 * GW_HTML_MAX_HUGE_TAG / 4, then GW_HTML_MAX_HUGE_TAG, in that order) and for its held content (GW_HTML_MAX_HUGE_HOLD / 4,
 * then GW_HTML_MAX_HUGE_HOLD), freed after each feed */
static void *big_bufs[5];
static size_t num_big_bufs;

static void *
big_alloc(void *ctx, size_t n)
{
    CHECK(num_big_bufs < 5 && (n == GW_HTML_MAX_BIG_TAG || n == GW_HTML_MAX_HUGE_TAG / 4 || n == GW_HTML_MAX_HUGE_TAG ||
                               n == GW_HTML_MAX_HUGE_HOLD / 4 || n == GW_HTML_MAX_HUGE_HOLD));
    return big_bufs[num_big_bufs++] = malloc(n);
}

static void
big_free(void)
{
    while (num_big_bufs != 0)
        free(big_bufs[--num_big_bufs]);
}

#define INFLATE 3000

static void
check_big_tags(const uint8_t *page, size_t len, unsigned seed)
{
    size_t big_len = 0;
    for (size_t i = 0; i != len; ++i)
        big_len += page[i] == 0xff ? INFLATE : 1;
    if (big_len == len || big_len > 512 * 1024)
        return;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0, o = 0; i != len; ++i) {
        if (page[i] == 0xff) {
            memset(big + o, 'p', INFLATE);
            o += INFLATE;
        } else {
            big[o++] = page[i];
        }
    }
    gw_html_cb_t rec = record_cb;
    rec.alloc = big_alloc;
    tags_t *t = calloc(1, sizeof(*t)), *w = calloc(1, sizeof(*w)), *again = calloc(1, sizeof(*again));
    t->big = w->big = again->big = 1;
    feed(&rec, t, 0, NULL, big, big_len, seed);
    CHECK(num_big_bufs <= 5);
    big_free();
    feed(&rec, w, 0, NULL, big, big_len, 0);
    big_free();
    CHECK(t->sink.len == w->sink.len && memcmp(t->sink.out, w->sink.out, w->sink.len) == 0);
    feed(&rec, again, 0, NULL, (const uint8_t *)w->sink.out, w->sink.len, seed);
    big_free();
    CHECK(again->sink.len == w->sink.len && memcmp(again->sink.out, w->sink.out, w->sink.len) == 0);
    free(w->sink.out);
    free(w->sig);
    free(w);
    free(again->sink.out);
    free(again->sig);
    free(again);
    gw_html_cb_t pol = policy_cb;
    pol.alloc = big_alloc;
    policy_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    feed(&pol, a, 1, NULL, big, big_len, 0);
    big_free();
    feed(&pol, b, 1, NULL, big, big_len, seed);
    big_free();
    CHECK(a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0));
    free(a->out);
    free(b->out);
    free(a);
    free(b);
    free(t->sink.out);
    free(t->sig);
    free(t);
    free(big);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = (unsigned)data[0] | (unsigned)data[1] << 8 | 0x10000u;
    xml = data[0] & 1;
    in_place = data[0] >> 1 & 1;
    keep = data[0] >> 2 & 1;
    const uint8_t *page = data + 2;
    size_t len = size - 2;
    tags_t *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out)), *first = calloc(1, sizeof(*first));
    policy_t nonced = {0};

    /* 1. keep-all is the identity, but for what it writes for the preload scanner: then its output read again is
     * itself (in: that reading, whose tags properties 2 and 4 compare) */
    feed(&record_cb, first, 0, NULL, page, len, 0);
    feed(&record_cb, in, 0, NULL, page, len, seed);
    CHECK(in->sink.len == first->sink.len && (len == 0 || memcmp(in->sink.out, first->sink.out, in->sink.len) == 0));
    const uint8_t *kpage = page;
    size_t klen = len;
    if (first->sink.len != len || (len != 0 && memcmp(first->sink.out, page, len) != 0)) {
        kpage = (const uint8_t *)first->sink.out;
        klen = first->sink.len;
        free(in->sink.out);
        free(in->sig);
        memset(in, 0, sizeof(*in));
        feed(&record_cb, in, 0, NULL, kpage, klen, seed);
        CHECK(in->sink.len == klen && (klen == 0 || memcmp(in->sink.out, kpage, klen) == 0));
    }

    /* 2. nonce everything: same tags, same attributes, same bytes between tags */
    if (klen < GW_HTML_MAX_TAG - 64 && in->n < MAX_TAGS) {
        feed(&nonce_cb, &nonced, 0, "N", kpage, klen, seed);
        out->nonces_ok = 1;
        feed(&record_cb, out, 0, NULL, (const uint8_t *)nonced.out, nonced.len, 0);
        CHECK(out->nonces_ok);
        CHECK(out->n == in->n);
        size_t ip = 0, op = 0;
        for (size_t i = 0; i <= in->n; ++i) {
            size_t iend = i < in->n ? (size_t)in->off[i] : klen, oend = i < in->n ? (size_t)out->off[i] : nonced.len;
            CHECK(iend - ip == oend - op);
            CHECK(iend == ip || memcmp(kpage + ip, nonced.out + op, iend - ip) == 0);
            if (i == in->n)
                break;
            CHECK(in->sig_at[i + 1] - in->sig_at[i] == out->sig_at[i + 1] - out->sig_at[i]);
            CHECK(in->sig_at[i + 1] == in->sig_at[i] ||
                  memcmp(in->sig + in->sig_at[i], out->sig + out->sig_at[i], in->sig_at[i + 1] - in->sig_at[i]) == 0);
            ip = iend + in->len[i];
            op = oend + out->len[i];
        }
    }

    /* 3. the demo policy, and removals of any element, do not depend on chunking */
    for (int pass = 0; pass != 2; ++pass) {
        policy_t *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
        const gw_html_cb_t *cb = pass == 0 ? &policy_cb : &remove_cb;
        feed(cb, a, pass == 0, pass == 0 ? NULL : "N", page, len, 0);
        feed(cb, b, pass == 0, pass == 0 ? NULL : "N", page, len, seed);
        CHECK(a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0));
        if (pass == 0) { /* asked only about the elements it acts on (on_tag_ids), chunked: the same again */
            gw_html_cb_t masked = policy_cb;
            masked.on_tag_ids = 1ull << GW_HTML_TAG_SCRIPT | 1ull << GW_HTML_TAG_IFRAME | 1ull << GW_HTML_TAG_IMG |
                                1ull << GW_HTML_TAG_LINK | 1ull << GW_HTML_TAG_A | 1ull << GW_HTML_TAG_NOSCRIPT;
            free(b->out);
            memset(b, 0, sizeof(*b));
            feed(&masked, b, 1, NULL, page, len, seed);
            CHECK(a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0));
            /* and asked as well about every tag that may name a URL (on_tag_urls): the same again */
            masked.on_tag_urls = 1;
            free(b->out);
            memset(b, 0, sizeof(*b));
            feed(&masked, b, 1, NULL, page, len, seed);
            CHECK(a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0));
            /* the tags it writes itself handed to emit_tag instead (the memo finds the nonce there): the same output */
            gw_html_cb_t tagged = policy_cb;
            tagged.emit_tag = policy_emit;
            free(b->out);
            memset(b, 0, sizeof(*b));
            feed(&tagged, b, 1, NULL, page, len, seed);
            CHECK(a->len == b->len && (a->len == 0 || memcmp(a->out, b->out, a->len) == 0));
            /* read again: nothing left to act on */
            free(b->out);
            memset(b, 0, sizeof(*b));
            feed(&policy_cb, b, 1, NULL, (const uint8_t *)a->out, a->len, seed);
            CHECK(b->neutralised == 0 && b->removed == 0 && b->wrapped == 0);
        }
        free(a->out);
        free(b->out);
        free(a);
        free(b);
    }

    /* 4. long start tags, read whole with an allocator */
    check_big_tags(page, len, seed);

    /* 5. character references: never longer, the same in place */
    char *dec = malloc(len != 0 ? len : 1), *inplace = malloc(len != 0 ? len : 1);
    memcpy(inplace, page, len);
    size_t dn = gw_html_decode((const char *)page, len, dec);
    CHECK(dn <= len && gw_html_decode(inplace, len, inplace) == dn && (dn == 0 || memcmp(dec, inplace, dn) == 0));
    free(dec);
    free(inplace);

    free(in->sink.out);
    free(in->sig);
    free(out->sink.out);
    free(out->sig);
    free(first->sink.out);
    free(first->sig);
    free(in);
    free(out);
    free(first);
    free(nonced.out);
    return 0;
}
