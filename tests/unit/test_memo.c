/* Unit tests for gateway/memo.c: the per-thread ring of remembered rewrites (find, replace, FIFO eviction across the
 * arena's wrap, pinned entries never evicted or overwritten, size limits), and a long random run against a model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "memo.h"

/* the bytes of part i of version v of key k, n of them: every entry's content can be checked where it lies */
#define ALIGN8_(n) (((n) + 7) & ~(size_t)7)

static void
fill(char *p, size_t n, unsigned k, unsigned v, size_t i)
{
    for (size_t j = 0; j != n; ++j)
        p[j] = (char)(k * 131 + v * 31 + i * 7 + j);
}

static int
check(const gw_memo_t *m, const gw_memo_entry_t *e, unsigned k, unsigned v, const size_t lens[], size_t num_parts)
{
    char buf[4096];
    for (size_t i = 1; i != num_parts; ++i) {
        if (e->part_len[i] != lens[i])
            return 0;
        fill(buf, lens[i], k, v, i);
        if (memcmp(gw_memo_part(m, e, i), buf, lens[i]) != 0)
            return 0;
    }
    return 1;
}

static int
put(gw_memo_t *m, uint64_t gen, unsigned k, unsigned v, const size_t lens[], size_t num_parts)
{
    char key[16], bufs[GW_MEMO_PARTS][4096];
    const void *parts[GW_MEMO_PARTS];
    size_t l[GW_MEMO_PARTS];
    snprintf(key, sizeof(key), "key-%u", k);
    parts[0] = key;
    l[0] = strlen(key);
    for (size_t i = 1; i != num_parts; ++i) {
        fill(bufs[i], lens[i], k, v, i);
        parts[i] = bufs[i];
        l[i] = lens[i];
    }
    return gw_memo_put(m, gen, parts, l, num_parts) != NULL ? 0 : -1;
}

static gw_memo_entry_t *
find(gw_memo_t *m, uint64_t gen, unsigned k)
{
    char key[16];
    snprintf(key, sizeof(key), "key-%u", k);
    return gw_memo_find(m, gen, key, strlen(key));
}

static void
test_put_find_replace(void **state)
{
    (void)state;
    gw_memo_t *m = gw_memo_new(64 * 1024, 16);
    size_t lens[4] = {0, 100, 0, 33}, lens2[4] = {0, 7, 300, 1};
    assert_non_null(m);
    assert_null(find(m, 1, 1));
    assert_int_equal(put(m, 1, 1, 1, lens, 4), 0);
    gw_memo_entry_t *e = find(m, 1, 1);
    assert_non_null(e);
    assert_true(check(m, e, 1, 1, lens, 4));
    assert_int_equal(e->part_len[2], 0);
    assert_null(find(m, 2, 1)); /* another snapshot generation */
    assert_null(find(m, 1, 2)); /* another key */
    /* a key that is a prefix of another is another key */
    const void *parts[1] = {"key-1x"};
    size_t l[1] = {6};
    assert_non_null(gw_memo_put(m, 1, parts, l, 1));
    assert_true(check(m, find(m, 1, 1), 1, 1, lens, 4));
    /* replaced: the new version is found, the old one no more */
    assert_int_equal(put(m, 1, 1, 2, lens2, 4), 0);
    e = find(m, 1, 1);
    assert_non_null(e);
    assert_true(check(m, e, 1, 2, lens2, 4));
    /* parts are 8-byte aligned */
    for (size_t i = 0; i != 4; ++i)
        assert_int_equal((uintptr_t)gw_memo_part(m, e, i) % 8, 0);
    gw_memo_free(m);
}

static void
test_limits(void **state)
{
    (void)state;
    gw_memo_t *m = gw_memo_new(4096, 4);
    size_t big[2] = {0, 1024}, fits[2] = {0, 1000};
    assert_int_equal(gw_memo_max_entry(m), 1024);
    assert_int_equal(put(m, 1, 1, 1, big, 2), -1); /* key + 1024 > a quarter */
    assert_int_equal(gw_memo_count(m), 0);
    assert_int_equal(put(m, 1, 1, 1, fits, 2), 0);
    /* at most max_entries entries: the fifth evicts the first */
    for (unsigned k = 2; k <= 5; ++k)
        assert_int_equal(put(m, 1, k, 1, (size_t[]){0, 8}, 2), 0);
    assert_int_equal(gw_memo_count(m), 4);
    assert_null(find(m, 1, 1));
    assert_non_null(find(m, 1, 2));
    assert_null(gw_memo_new(0, 4));
    assert_null(gw_memo_new(4096, 0));
    gw_memo_free(m);
    gw_memo_free(NULL);
}

/* oldest first, across the end of the arena */
static void
test_fifo_eviction_and_wrap(void **state)
{
    (void)state;
    gw_memo_t *m = gw_memo_new(4096, 64);
    size_t lens[2] = {0, 900}; /* 8 + 904 = 912 bytes a block: four fit in 4096 */
    for (unsigned k = 0; k != 40; ++k) {
        assert_int_equal(put(m, 7, k, 1, lens, 2), 0);
        assert_true(gw_memo_count(m) <= 4);
        for (unsigned j = 0; j <= k; ++j) {
            gw_memo_entry_t *e = find(m, 7, j);
            if (j + gw_memo_count(m) > k)
                assert_true(e != NULL && check(m, e, j, 1, lens, 2)); /* the newest count() are all there, intact */
            else
                assert_null(e);
        }
    }
    assert_true(gw_memo_count(m) >= 3);
    gw_memo_free(m);
}

/* a pinned entry (a response still comparing its body with it) is never evicted or written over */
static void
test_pinned_entry_stays(void **state)
{
    (void)state;
    gw_memo_t *m = gw_memo_new(4096, 64);
    size_t lens[2] = {0, 900};
    assert_int_equal(put(m, 1, 0, 1, lens, 2), 0);
    gw_memo_entry_t *pinned = find(m, 1, 0);
    gw_memo_pin(pinned);
    unsigned k = 1, failed = 0;
    for (; k != 30; ++k)
        failed += put(m, 1, k, 1, lens, 2) != 0;
    assert_true(failed > 0); /* room needed the pinned one */
    assert_true(find(m, 1, 0) == pinned);
    assert_true(check(m, pinned, 0, 1, lens, 2));
    gw_memo_unpin(pinned);
    for (; k != 60; ++k)
        assert_int_equal(put(m, 1, k, 1, lens, 2), 0);
    gw_memo_free(m);

    /* replaced while pinned: no longer found, but its bytes stay until it is unpinned and evicted */
    m = gw_memo_new(4096, 64);
    assert_int_equal(put(m, 1, 0, 1, lens, 2), 0);
    gw_memo_pin(pinned = find(m, 1, 0));
    assert_int_equal(put(m, 1, 0, 2, (size_t[]){0, 16}, 2), 0);
    gw_memo_entry_t *e = find(m, 1, 0);
    assert_true(e != NULL && e != pinned && check(m, e, 0, 2, (size_t[]){0, 16}, 2));
    assert_true(check(m, pinned, 0, 1, lens, 2));
    gw_memo_unpin(pinned);
    gw_memo_free(m);
}

/* an entry written in place: reserved (pinned, not found), committed with the room it used, or abandoned */
static void
test_reserve_commit_abandon(void **state)
{
    (void)state;
    gw_memo_t *m = gw_memo_new(8192, 16);
    gw_memo_entry_t *r = gw_memo_reserve(m, 1500);
    assert_non_null(r);
    char *b = gw_memo_block(m, r);
    memcpy(b, "key-1", 5);
    fill(b + 8, 300, 1, 1, 1);
    assert_null(find(m, 3, 1)); /* not found before it is committed */
    /* while reserved it is pinned: puts that need its room fail, its bytes stay */
    unsigned failed = 0;
    for (unsigned k = 2; k != 12; ++k)
        failed += put(m, 3, k, 1, (size_t[]){0, 1000}, 2) != 0;
    assert_true(failed > 0);
    assert_memory_equal(b, "key-1", 5);
    gw_memo_commit(m, r, 3, (size_t[]){0, 8}, (size_t[]){5, 300}, 2, 308);
    gw_memo_entry_t *e = find(m, 3, 1);
    assert_true(e == r && check(m, e, 1, 1, (size_t[]){0, 300}, 2));
    assert_int_equal(e->pins, 0);
    gw_memo_free(m);

    /* committed as the newest: the unused end goes back, the next block follows what it used */
    m = gw_memo_new(8192, 16);
    r = gw_memo_reserve(m, 1500);
    memcpy(gw_memo_block(m, r), "key-1", 5);
    gw_memo_commit(m, r, 3, (size_t[]){0}, (size_t[]){5}, 1, 5);
    assert_int_equal(r->size, 8);
    assert_int_equal(put(m, 3, 2, 1, (size_t[]){0, 16}, 2), 0);
    assert_int_equal(find(m, 3, 2)->off, 8);
    /* abandoned as the newest: gone and its room back; abandoned under another reservation: dead, never found */
    size_t count = gw_memo_count(m);
    r = gw_memo_reserve(m, 1000);
    gw_memo_abandon(m, r);
    assert_int_equal(gw_memo_count(m), count);
    gw_memo_entry_t *a = gw_memo_reserve(m, 1000), *c = gw_memo_reserve(m, 1000);
    memcpy(gw_memo_block(m, a), "key-9", 5);
    gw_memo_abandon(m, a);
    assert_int_equal(gw_memo_count(m), count + 2);
    assert_null(find(m, 3, 9));
    memcpy(gw_memo_block(m, c), "key-8", 5);
    gw_memo_commit(m, c, 3, (size_t[]){0}, (size_t[]){5}, 1, 5);
    assert_non_null(find(m, 3, 8));
    /* a commit drops the older entry of the same key */
    r = gw_memo_reserve(m, 100);
    memcpy(gw_memo_block(m, r), "key-8", 5);
    gw_memo_commit(m, r, 3, (size_t[]){0}, (size_t[]){5}, 1, 5);
    assert_true(find(m, 3, 8) == r && c->dead);
    assert_null(gw_memo_reserve(m, 4096)); /* over a quarter */
    gw_memo_free(m);
}

/* random puts, finds and pins against a model: what is found is the last version put, intact; live blocks never overlap */
static void
test_random_against_model(void **state)
{
    (void)state;
    enum { KEYS = 40, OPS = 200000 };
    gw_memo_t *m = gw_memo_new(32 * 1024, 32);
    unsigned version[KEYS] = {0};
    size_t lens[KEYS][3];
    gw_memo_entry_t *pins[4] = {NULL};
    unsigned pinned_key[4], pinned_version[4];
    size_t pinned_lens[4][3];
    gw_memo_entry_t *res[2] = {NULL};
    unsigned res_key[2], res_version[2];
    size_t res_lens[2][3];
    uint64_t r = 88172645463325252u, gen = 1;
    size_t stored = 0, found = 0;
    for (unsigned op = 0; op != OPS; ++op) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        unsigned k = (unsigned)(r % KEYS), what = (unsigned)(r >> 32) % 16;
        if (what < 6) {
            size_t l[3] = {0, (r >> 8) % 3000, (r >> 20) % 400};
            if (put(m, gen, k, version[k] + 1, l, 3) == 0) {
                ++version[k];
                memcpy(lens[k], l, sizeof(l));
                ++stored;
            }
        } else if (what < 14) {
            gw_memo_entry_t *e = find(m, gen, k);
            if (e != NULL) {
                ++found;
                assert_true(check(m, e, k, version[k], lens[k], 3));
            }
        } else if (what == 14) {
            size_t slot = (r >> 40) % 4;
            if (pins[slot] != NULL) {
                /* whatever happened meanwhile, the pinned bytes are the ones it had */
                assert_true(check(m, pins[slot], pinned_key[slot], pinned_version[slot], pinned_lens[slot], 3));
                gw_memo_unpin(pins[slot]);
                pins[slot] = NULL;
            } else if ((pins[slot] = find(m, gen, k)) != NULL) {
                gw_memo_pin(pins[slot]);
                pinned_key[slot] = k, pinned_version[slot] = version[k];
                memcpy(pinned_lens[slot], lens[k], sizeof(lens[k]));
            }
        } else if (what == 15 && (r >> 50) % 2 == 0) {
            /* a page written in place: reserved now, committed (or given up) on a later turn */
            size_t slot = (r >> 44) % 2;
            if (res[slot] == NULL) {
                size_t l[3] = {0, (r >> 8) % 3000, (r >> 20) % 400}, off = ALIGN8_(strlen("key-00")) + 8;
                if ((res[slot] = gw_memo_reserve(m, off + ALIGN8_(l[1]) + l[2] + 64)) != NULL) {
                    char *b = gw_memo_block(m, res[slot]);
                    int n = snprintf(b, 16, "key-%u", k);
                    fill(b + 16, l[1], k, version[k] + 1000, 1);
                    fill(b + 16 + ALIGN8_(l[1]), l[2], k, version[k] + 1000, 2);
                    res_key[slot] = k, res_version[slot] = version[k] + 1000, l[0] = (size_t)n;
                    memcpy(res_lens[slot], l, sizeof(l));
                }
            } else {
                gw_memo_entry_t *e = res[slot];
                unsigned rk = res_key[slot];
                size_t *l = res_lens[slot];
                /* pinned meanwhile: its bytes are the ones written */
                size_t offs[3] = {0, 16, 16 + ALIGN8_(l[1])};
                char buf[4096];
                fill(buf, l[1], rk, res_version[slot], 1);
                assert_memory_equal(gw_memo_block(m, e) + 16, buf, l[1]);
                if ((r >> 30) % 4 != 0) {
                    gw_memo_commit(m, e, gen, offs, l, 3, offs[2] + l[2]);
                    version[rk] = res_version[slot];
                    memcpy(lens[rk], l, sizeof(lens[rk]));
                } else {
                    gw_memo_abandon(m, e);
                }
                res[slot] = NULL;
            }
        } else if (op % 1000 == 0) {
            ++gen; /* a snapshot moved: nothing of the old generation is found */
            assert_null(find(m, gen, k));
        }
        /* live blocks are inside the arena and do not overlap; the running totals are right */
        size_t used = 0, live = 0;
        for (size_t i = 0; i != m->count; ++i) {
            const gw_memo_entry_t *a = m->entries + (m->first + i) % m->max_entries;
            assert_true(a->off + a->size <= m->size);
            used += a->size;
            live += !a->dead && !a->pending;
            for (size_t j = i + 1; j != m->count; ++j) {
                const gw_memo_entry_t *b = m->entries + (m->first + j) % m->max_entries;
                assert_true(a->off + a->size <= b->off || b->off + b->size <= a->off);
            }
        }
        assert_int_equal(gw_memo_used(m), used);
        assert_int_equal(gw_memo_live(m), live);
    }
    for (size_t s = 0; s != 4; ++s)
        if (pins[s] != NULL)
            assert_true(check(m, pins[s], pinned_key[s], pinned_version[s], pinned_lens[s], 3));
    assert_true(stored > 10000 && found > 10000); /* the run did what it is meant to */
    gw_memo_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_find_replace),       cmocka_unit_test(test_limits),
        cmocka_unit_test(test_fifo_eviction_and_wrap), cmocka_unit_test(test_pinned_entry_stays),
        cmocka_unit_test(test_reserve_commit_abandon), cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests_name("memo", tests, NULL, NULL);
}
