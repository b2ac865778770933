/* Unit tests for filters/hop.c: connection options as origins and clients write them (any case, blanks, empty items,
 * several fields joined), and the fixed hop-by-hop fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include "hop.h"

typedef struct {
    const char *value, *name;
    int named;
} named_case_t;

static const named_case_t named_cases[] = {
    {"x-foo", "X-Foo", 1},
    {"close, X-Foo ,x-bar", "x-bar", 1},
    {"close, X-Foo ,x-bar", "X-FOO", 1},
    {"close, X-Foo ,x-bar", "close", 1},
    {"\tkeep-alive\t,\t", "Keep-Alive", 1},
    {",,x-foo,,", "x-foo", 1},
    {"x-foo", "x-fo", 0},      /* a prefix is another name */
    {"x-fo", "x-foo", 0},
    {"x-foo-bar", "x-foo", 0},
    {"x foo", "x", 0},         /* not a list of one "x" */
    {"", "x-foo", 0},
    {" , ", "x-foo", 0},
    {"x-foo", "", 0},          /* an empty name is never named */
    {",", "", 0},
    {NULL, NULL, 0} /* end of list */
};

static void test_named(void **state)
{
    for (const named_case_t *c = named_cases; c->value != NULL; ++c) {
        int got = gw_hop_named(c->value, strlen(c->value), c->name, strlen(c->name));
        if (got != c->named)
            fail_msg("\"%s\" naming \"%s\": %d, expected %d", c->value, c->name, got, c->named);
    }
}

static void test_named_reads_only_its_bytes(void **state)
{
    /* the value and the name are not NUL-terminated: only their lengths count */
    assert_int_equal(gw_hop_named("x-foo, x-bar", 5, "x-bar", 5), 0);
    assert_int_equal(gw_hop_named("x-foo, x-bar", 12, "x-barX", 5), 1);
    assert_int_equal(gw_hop_named("x-foo", 5, "x-foo, x-bar", 5), 1);
}

/* gw_hop_mark tells of each name what gw_hop_named does, the fields of one name in any case together, an option said
 * again or in a second field too */
static void test_mark(void **state)
{
    static const char *const fields[] = {"X-Foo", "x-bar", "close", "x-foo", "X-FOO", "x-fo", "x-foo-bar", "cookie", "", "x",
                                         "Keep-Alive", NULL};
    static const char *const values[] = {"x-foo, X-BAR", "", " , ", "x-fo,,x-foo", "keep-alive\t, x-foo, x-foo", "x foo",
                                         "cookie,x-foo-bar", ",", NULL};
    gw_hop_name_t names[16];
    size_t n = 0;
    while (fields[n] != NULL)
        ++n;
    for (size_t v = 0; values[v] != NULL; ++v)
        for (size_t w = v; values[w] != NULL; ++w) { /* the fields values[v] and values[w] */
            for (size_t i = 0; i != n; ++i)
                names[i] = (gw_hop_name_t){fields[i], strlen(fields[i]), i, -1};
            gw_hop_sort(names, n);
            gw_hop_mark(values[v], strlen(values[v]), names, n);
            gw_hop_mark(values[w], strlen(values[w]), names, n);
            for (size_t i = 0; i != n; ++i) {
                const char *f = fields[names[i].index];
                int want = gw_hop_named(values[v], strlen(values[v]), f, strlen(f)) ||
                           gw_hop_named(values[w], strlen(values[w]), f, strlen(f));
                if (names[i].named != want)
                    fail_msg("\"%s\" and \"%s\" naming \"%s\": %d, expected %d", values[v], values[w], f, names[i].named, want);
            }
        }
    gw_hop_sort(names, 0); /* (no field) */
    gw_hop_mark("x-foo", 5, names, 0);

    /* a message's 100 fields in no order, names said twice in other cases, every third one named */
    static char many[100][8];
    static gw_hop_name_t all[100];
    char value[100 * 8] = "";
    size_t vlen = 0;
    for (size_t i = 0; i != 100; ++i) {
        unsigned k = (unsigned)((i * 37) % 50); /* (each of 50 names twice, in a mixed order) */
        snprintf(many[i], sizeof(many[i]), i % 2 ? "X-H%02u" : "x-h%02u", k);
        all[i] = (gw_hop_name_t){many[i], strlen(many[i]), i, -1};
        if (k % 3 == 0 && i < 50)
            vlen += (size_t)snprintf(value + vlen, sizeof(value) - vlen, "%s x-h%02u ,", vlen != 0 ? "," : "", k);
    }
    gw_hop_sort(all, 100);
    for (size_t i = 1; i != 100; ++i)
        assert_true(strcasecmp(all[i - 1].name, all[i].name) <= 0);
    gw_hop_mark(value, vlen, all, 100);
    for (size_t i = 0; i != 100; ++i)
        if (all[i].named != gw_hop_named(value, vlen, all[i].name, all[i].len))
            fail_msg("\"%s\" in \"%s\": %d", all[i].name, value, all[i].named);
}

static void test_fixed(void **state)
{
    static const char *const hop[] = {"Connection", "keep-alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding",
                                      "UPGRADE", "Proxy-Authenticate", "proxy-authorization", NULL};
    static const char *const end_to_end[] = {"Trailers", "T", "Content-Length", "Set-Cookie", "Cookie", "Authorization",
                                             "WWW-Authenticate", "Via", "X-Foo", "", NULL};
    for (size_t i = 0; hop[i] != NULL; ++i)
        if (!gw_hop_fixed(hop[i], strlen(hop[i])))
            fail_msg("%s: not taken for a hop-by-hop field", hop[i]);
    for (size_t i = 0; end_to_end[i] != NULL; ++i)
        if (gw_hop_fixed(end_to_end[i], strlen(end_to_end[i])))
            fail_msg("%s: taken for a hop-by-hop field", end_to_end[i]);
    assert_int_equal(gw_hop_fixed("tex", 2), 1); /* its length only */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named),
        cmocka_unit_test(test_named_reads_only_its_bytes),
        cmocka_unit_test(test_mark),
        cmocka_unit_test(test_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
