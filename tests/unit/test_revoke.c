/* Unit tests for gateway/revoke.c: the rule (what a decision cuts, a re-grant in the same second), the table (found,
 * not found, overwritten, full, copied for growth and purge) and a reader thread probing while the writer adds and
 * overwrites entries (also meaningful under ThreadSanitizer). */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "revoke.h"

#define NCAT 4 /* necessary, functional, analytics, marketing */
#define OPT 0xe

static gw_token_key_t key;

static void
visitor_key(unsigned n, uint32_t k[4])
{
    uint8_t v[16] = {0};
    memcpy(v, &n, sizeof(n));
    gw_revoke_key(&key, v, k);
}

static int
setup(void **state)
{
    return gw_token_key_init(&key, 0, "0123456789abcdef0123456789abcdef", 32);
}

static void
test_key_is_keyed_and_never_empty(void **state)
{
    uint32_t a[4], b[4], c[4];
    gw_token_key_t other;
    uint8_t v[16] = {0};
    assert_int_equal(gw_token_key_init(&other, 0, "another key of 32 bytes, at last", 32), 0);
    gw_revoke_key(&key, v, a);
    gw_revoke_key(&key, v, b);
    gw_revoke_key(&other, v, c);
    assert_memory_equal(a, b, 16);
    assert_memory_not_equal(a, c, 16);
    assert_true(a[0] != 0 && c[0] != 0);
}

static void
test_decide_cuts_refused_and_leaves_the_rest(void **state)
{
    gw_revocation_t r = {0};
    gw_revoke_decide(&r, NCAT, 0x8 /* marketing */, 0x6, 1000);
    assert_int_equal(gw_revoke_taken(&r, NCAT, 999), 0x8);
    assert_int_equal(gw_revoke_taken(&r, NCAT, 1000), 0x8); /* the decision's own second: its token refuses it anyway */
    assert_int_equal(gw_revoke_taken(&r, NCAT, 1001), 0);
    /* a later refusal moves the cut, an earlier one (another worker's clock) does not move it back */
    gw_revoke_decide(&r, NCAT, 0x8, 0, 1200);
    gw_revoke_decide(&r, NCAT, 0x8, 0, 1100);
    assert_int_equal(r.cut[3], 1200);
    assert_int_equal(gw_revoke_newest(&r, NCAT), 1200);
}

static void
test_regrant_in_the_same_second_keeps_its_token(void **state)
{
    gw_revocation_t r = {0};
    gw_revoke_decide(&r, NCAT, OPT, 0, 1000);              /* withdrawal */
    gw_revoke_decide(&r, NCAT, 0, OPT, 1000);              /* accept all, same second */
    assert_int_equal(gw_revoke_taken(&r, NCAT, 1000), 0);  /* the consent's token */
    assert_int_equal(gw_revoke_taken(&r, NCAT, 999), OPT); /* a copy from the second before */
    /* a consent in a later second changes nothing: copies from before the withdrawal stay cut */
    gw_revocation_t s = {0};
    gw_revoke_decide(&s, NCAT, OPT, 0, 1000);
    gw_revoke_decide(&s, NCAT, 0, OPT, 1005);
    assert_int_equal(gw_revoke_taken(&s, NCAT, 1000), OPT);
    assert_int_equal(gw_revoke_taken(&s, NCAT, 1001), 0);
    /* the necessary category is never cut when it is not refused */
    assert_int_equal(gw_revoke_taken(&s, NCAT, 1) & 1, 0);
}

static void
test_erase(void **state)
{
    gw_revocation_t r = {0};
    gw_revoke_erase(&r, NCAT, OPT, 2000);
    assert_int_equal(r.erased, 2000);
    assert_int_equal(gw_revoke_taken(&r, NCAT, 2000), OPT);
    assert_int_equal(gw_revoke_newest(&r, NCAT), 2000);
}

static void
test_table_find_set_overwrite(void **state)
{
    gw_revoke_t *t = gw_revoke_new(NCAT, 0);
    uint32_t k[4];
    gw_revocation_t r = {0}, out;
    assert_non_null(t);
    visitor_key(1, k);
    assert_int_equal(gw_revoke_find(t, k, &out), 0);
    r.cut[3] = 77;
    assert_int_equal(gw_revoke_set(t, k, &r), 0);
    assert_int_equal(gw_revoke_count(t), 1);
    assert_int_equal(gw_revoke_find(t, k, &out), 1);
    assert_int_equal(out.cut[3], 77);
    r.cut[2] = 78;
    assert_int_equal(gw_revoke_set(t, k, &r), 0); /* overwritten in place: still one */
    assert_int_equal(gw_revoke_count(t), 1);
    assert_int_equal(gw_revoke_find(t, k, &out), 1);
    assert_int_equal(out.cut[2], 78);
    visitor_key(2, k);
    assert_int_equal(gw_revoke_find(t, k, &out), 0);
    assert_int_equal(gw_revoke_count(NULL), 0);
    gw_revoke_free(t);
}

static void
test_table_full_then_copy_grows_and_purges(void **state)
{
    gw_revoke_t *t = gw_revoke_new(NCAT, 0), *u;
    uint32_t k[4];
    gw_revocation_t r, out;
    unsigned n = 0;
    for (;; ++n) {
        memset(&r, 0, sizeof(r));
        r.cut[1] = 100 + n;
        visitor_key(n, k);
        if (gw_revoke_set(t, k, &r) != 0)
            break;
    }
    assert_true(n >= 12); /* 3/4 of the 16 slots of the smallest table */
    assert_int_equal(gw_revoke_count(t), n);
    u = gw_revoke_copy(t, 2 * n, 0); /* growth: everything, with room */
    assert_int_equal(gw_revoke_count(u), n);
    visitor_key(n, k);
    assert_int_equal(gw_revoke_set(u, k, &r), 0);
    for (unsigned i = 0; i != n; ++i) {
        visitor_key(i, k);
        assert_int_equal(gw_revoke_find(u, k, &out), 1);
        assert_int_equal(out.cut[1], 100 + i);
    }
    gw_revoke_free(u);
    u = gw_revoke_copy(t, 0, 105); /* purge: only those whose newest time is 105 or later */
    assert_int_equal(gw_revoke_count(u), n - 5);
    visitor_key(4, k);
    assert_int_equal(gw_revoke_find(u, k, &out), 0);
    visitor_key(5, k);
    assert_int_equal(gw_revoke_find(u, k, &out), 1);
    gw_revoke_free(u);
    gw_revoke_free(t);
}

static void
test_bad_category_count(void **state)
{
    assert_null(gw_revoke_new(0, 10));
    assert_null(gw_revoke_new(GW_REVOKE_CATEGORIES + 1, 10));
    gw_revoke_t *t = gw_revoke_new(GW_REVOKE_CATEGORIES, 1000);
    assert_non_null(t);
    gw_revoke_free(t);
}

/* one reader probing every key while the writer adds them and moves their cuts forward: a key it finds has times the
 * writer wrote (never a torn key or a time that went backwards), and once the writer has published, every key is there */
#define RACE_KEYS 2000
static gw_revoke_t *race_table;
static int race_done;

static void *
race_reader(void *arg)
{
    uint32_t last[RACE_KEYS] = {0};
    while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i != RACE_KEYS; ++i) {
            uint32_t k[4];
            gw_revocation_t out;
            visitor_key(i, k);
            if (gw_revoke_find(race_table, k, &out)) {
                if (out.cut[3] < last[i] || out.cut[3] % RACE_KEYS != i)
                    return (void *)1;
                last[i] = out.cut[3];
            }
        }
    }
    return NULL;
}

static void
test_reader_while_the_writer_adds_and_overwrites(void **state)
{
    pthread_t tid;
    race_table = gw_revoke_new(NCAT, RACE_KEYS);
    race_done = 0;
    assert_int_equal(pthread_create(&tid, NULL, race_reader, NULL), 0);
    for (unsigned round = 1; round != 20; ++round)
        for (unsigned i = 0; i != RACE_KEYS; ++i) {
            uint32_t k[4];
            gw_revocation_t r = {0};
            r.cut[3] = round * RACE_KEYS + i;
            visitor_key(i, k);
            assert_int_equal(gw_revoke_set(race_table, k, &r), 0);
        }
    __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
    void *bad;
    pthread_join(tid, &bad);
    assert_null(bad);
    assert_int_equal(gw_revoke_count(race_table), RACE_KEYS);
    gw_revoke_free(race_table);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_is_keyed_and_never_empty),
        cmocka_unit_test(test_decide_cuts_refused_and_leaves_the_rest),
        cmocka_unit_test(test_regrant_in_the_same_second_keeps_its_token),
        cmocka_unit_test(test_erase),
        cmocka_unit_test(test_table_find_set_overwrite),
        cmocka_unit_test(test_table_full_then_copy_grows_and_purges),
        cmocka_unit_test(test_bad_category_count),
        cmocka_unit_test(test_reader_while_the_writer_adds_and_overwrites),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
