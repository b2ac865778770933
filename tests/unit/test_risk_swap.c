/*
 * Concurrency test for filters/risk.c: reader threads hammer gw_risk_check() on the
 * published set (announcing a quiescent state between lookups, as workers do between
 * event-loop turns) while a writer replaces one list 100 times, alternating between two
 * contents A and B through each writer helper (replace, put, edit). Within one loaded
 * snapshot every reader must see exactly state A or exactly state B, never a mix or
 * garbage, and the untouched second list must always answer. Freed snapshots are caught
 * by ASan (make units) and races by ThreadSanitizer (make tsan).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "qsbr.h"
#include "risk.h"

#define READERS 4
#define REPLACES 100
#define FILLERS 1000

static gw_risk_set_t *slot;
static int stop;

typedef struct st_reader_t {
    pthread_t tid;
    size_t index;
    size_t lookups, seen_a, seen_b, errors;
    char first_error[256];
} reader_t;

static void
error(reader_t *r, const char *what, const gw_risk_verdict_t *v)
{
    if (r->errors++ == 0)
        snprintf(r->first_error, sizeof(r->first_error), "%s: listed=%d list=%s matched=%s", what, v->listed,
                 v->list ? v->list : "-", v->matched ? v->matched : "-");
}

static int
is(const gw_risk_verdict_t *v, gw_risk_action_t action, const char *list, const char *matched)
{
    return v->listed && v->action == action && strcmp(v->list, list) == 0 && strlen(matched) == v->matched_len &&
           memcmp(v->matched, matched, v->matched_len) == 0 && v->matched[v->matched_len] == '\0';
}

static void *
reader_main(void *arg)
{
    reader_t *r = arg;
    gw_qsbr_quiescent(r->index);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        const gw_risk_set_t *s = gw_snap_load(&slot);
        gw_risk_verdict_t v1, v2, v3, v4;
        char a[32], b[32];
        size_t k = r->lookups % FILLERS;
        snprintf(a, sizeof(a), "a%zu.example", k);
        snprintf(b, sizeof(b), "b%zu.example", k);
        gw_risk_check(s, "x.b.victim.example", 18, "/", 1, &v1);
        gw_risk_check(s, a, strlen(a), "/", 1, &v2);
        gw_risk_check(s, b, strlen(b), "/", 1, &v3);
        gw_risk_check(s, "www.w.example", 13, NULL, 0, &v4);
        if (is(&v1, GW_RISK_BLOCK, "L", "victim.example") && is(&v2, GW_RISK_BLOCK, "L", a) && !v3.listed)
            ++r->seen_a;
        else if (is(&v1, GW_RISK_BLOCK, "L", "b.victim.example") && !v2.listed && is(&v3, GW_RISK_BLOCK, "L", b))
            ++r->seen_b;
        else
            error(r, "neither state A nor state B", &v1);
        if (!is(&v4, GW_RISK_WARN, "W", "w.example"))
            error(r, "the untouched list", &v4);
        ++r->lookups;
        gw_qsbr_quiescent(r->index);
    }
    gw_qsbr_offline(r->index);
    return NULL;
}

/* the text of state A or B */
static char *
state_text(int b)
{
    size_t cap = FILLERS * 24 + 64, len = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    len += (size_t)sprintf(t + len, "# state %c\n%s\n", b ? 'B' : 'A', b ? "b.victim.example" : "victim.example");
    for (size_t i = 0; i != FILLERS; ++i)
        len += (size_t)sprintf(t + len, "%c%zu.example\n", b ? 'b' : 'a', i);
    return t;
}

/* the entries of state A or B as edit items (strings kept in *store) */
static gw_risk_str_t *
state_items(int b, char **store)
{
    gw_risk_str_t *items = calloc(FILLERS + 1, sizeof(*items));
    char *p = *store = malloc(FILLERS * 24 + 64);
    assert_non_null(items);
    assert_non_null(p);
    for (size_t i = 0; i != FILLERS + 1; ++i) {
        int n = i == 0 ? sprintf(p, "%s", b ? "b.victim.example" : "victim.example")
                       : sprintf(p, "%c%zu.example", b ? 'b' : 'a', i - 1);
        items[i].base = p, items[i].len = (size_t)n;
        p += n + 1;
    }
    return items;
}

static void
test_swap_under_load(void **state)
{
    reader_t readers[READERS];
    char err[256] = "", *text;
    gw_risk_report_t rep;
    size_t total = 0, seen_a = 0, seen_b = 0;

    gw_qsbr_init(READERS);
    text = state_text(0);
    gw_risk_list_t *l = gw_risk_list_parse("L", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, strlen(text), NULL);
    gw_risk_list_t *w = gw_risk_list_parse("W", GW_FMT_DOMAINS, GW_RISK_WARN, "w.example\n", 10, NULL);
    free(text);
    gw_risk_list_t *lists[] = {l, w};
    slot = gw_risk_set_new(lists, 2);
    assert_non_null(slot);

    memset(readers, 0, sizeof(readers));
    for (size_t i = 0; i != READERS; ++i) {
        readers[i].index = i;
        assert_int_equal(pthread_create(&readers[i].tid, NULL, reader_main, &readers[i]), 0);
    }
    for (int i = 1; i <= REPLACES; ++i) {
        int to_b = i % 2; /* state before: A when i is odd */
        switch (i % 3) {
        case 0: { /* a list built by the caller */
            text = state_text(to_b);
            gw_risk_list_t *next = gw_risk_list_parse("L", GW_FMT_DOMAINS, GW_RISK_BLOCK, text, strlen(text), NULL);
            free(text);
            assert_non_null(next);
            assert_int_equal(gw_risk_set_replace(&slot, next, err, sizeof(err)), 0);
            break;
        }
        case 1: /* admin PUT */
            text = state_text(to_b);
            assert_int_equal(gw_risk_set_put(&slot, "L", text, strlen(text), 0, NULL, &rep, err, sizeof(err)), 0);
            assert_int_equal(rep.entries, FILLERS + 1);
            free(text);
            break;
        case 2: { /* admin POST entries: remove the current state's entries, add the other's */
            char *sa, *sb;
            gw_risk_str_t *add = state_items(to_b, &sa), *rm = state_items(!to_b, &sb);
            assert_int_equal(gw_risk_set_edit(&slot, "L", add, FILLERS + 1, rm, FILLERS + 1, NULL, &rep, err, sizeof(err)), 0);
            assert_int_equal(rep.removed, FILLERS + 1);
            assert_int_equal(rep.added, FILLERS + 1);
            assert_int_equal(rep.entries, FILLERS + 1);
            free(add), free(rm), free(sa), free(sb);
            break;
        }
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (size_t i = 0; i != READERS; ++i) {
        assert_int_equal(pthread_join(readers[i].tid, NULL), 0);
        if (readers[i].errors != 0)
            fail_msg("reader %zu: %zu errors, first: %s", i, readers[i].errors, readers[i].first_error);
        assert_true(readers[i].lookups > 0);
        total += readers[i].lookups, seen_a += readers[i].seen_a, seen_b += readers[i].seen_b;
    }
    print_message("%zu snapshot checks by %d readers: %zu saw A, %zu saw B\n", total, READERS, seen_a, seen_b);
    assert_true(seen_a > 0 && seen_b > 0);

    gw_risk_list_info_t info;
    gw_risk_list_info(gw_risk_set_find(slot, "L", NULL), &info);
    assert_int_equal(info.version, 1 + REPLACES);
    assert_int_equal(info.entries, FILLERS + 1);
    gw_risk_set_swap(&slot, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
