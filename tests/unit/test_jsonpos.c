/* Unit tests for gateway/jsonpos.c: positions of values and keys along a path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "jsonpos.h"

static const char doc[] = "{\n"
                          "  \"listen\": [{\"host\": \"127.0.0.1\", \"port\": 8080},\n"
                          "             {\"port\": 70000}],\n"
                          "  \"a\\\"b\": {\"x\": [1, [2, 3], {\"y\": true}]},\n"
                          "  \"upstream\": \"http://x\"\n"
                          "}\n";

typedef struct {
    gw_jsonpos_seg_t path[4];
    size_t n;
    int want_key;
    int rc;
    unsigned line, col;
} pos_case_t;

static const pos_case_t cases[] = {
    {{{0}}, 0, 0, 0, 1, 1},
    {{{"listen", 0}}, 1, 0, 0, 2, 13},
    {{{"listen", 0}}, 1, 1, 0, 2, 3},
    {{{"listen", 0}, {NULL, 0}, {"port", 0}}, 3, 0, 0, 2, 44},
    {{{"listen", 0}, {NULL, 1}, {"port", 0}}, 3, 0, 0, 3, 23},
    {{{"listen", 0}, {NULL, 1}, {"port", 0}}, 3, 1, 0, 3, 15},
    {{{"listen", 0}, {NULL, 2}}, 2, 0, -1, 0, 0},
    {{{"a\\\"b", 0}, {"x", 0}, {NULL, 2}, {"y", 0}}, 4, 0, 0, 4, 35},
    {{{"a\\\"b", 0}, {"x", 0}, {NULL, 1}, {NULL, 1}}, 4, 0, 0, 4, 25},
    {{{"upstream", 0}}, 1, 0, 0, 5, 15},
    {{{"missing", 0}}, 1, 0, -1, 0, 0},
    {{{"upstream", 0}, {"deeper", 0}}, 2, 0, -1, 0, 0},
    {{{NULL, 0}}, 1, 0, -1, 0, 0},
};

static void test_table(void **state)
{
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        gw_jsonpos_t pos = {0, 0};
        int rc = gw_jsonpos_find(doc, strlen(doc), cases[i].path, cases[i].n, cases[i].want_key, &pos);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(pos.line, cases[i].line);
            assert_int_equal(pos.column, cases[i].col);
        }
    }
}

/* every truncation of the document, in an exactly-sized heap buffer: never reads past the end,
 * and a found position always lies inside the prefix */
static void test_every_prefix(void **state)
{
    size_t len = strlen(doc);
    for (size_t n = 0; n <= len; ++n) {
        char *buf = malloc(n + 1);
        memcpy(buf, doc, n);
        for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
            gw_jsonpos_t pos = {0, 0};
            if (gw_jsonpos_find(buf, n, cases[i].path, cases[i].n, cases[i].want_key, &pos) == 0) {
                assert_int_equal(cases[i].rc, 0);
                assert_int_equal(pos.line, cases[i].line);
                assert_int_equal(pos.column, cases[i].col);
            }
        }
        free(buf);
    }
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {"[", "{\"a\"", "{\"a\" 1}", "{\"a\":", "\"unterminated", "{\"a\":1,,}", "{\"a\":\"\x01\"}"};
    gw_jsonpos_seg_t path[] = {{"b", 0}};
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        gw_jsonpos_t pos;
        assert_int_equal(gw_jsonpos_find(bad[i], strlen(bad[i]), path, 1, 0, &pos), -1);
    }
}

static void test_depth_limit(void **state)
{
    char deep[GW_JSONPOS_MAX_DEPTH * 2 + 8];
    size_t n = 0;
    deep[n++] = '{';
    deep[n++] = '"';
    deep[n++] = 'a';
    deep[n++] = '"';
    deep[n++] = ':';
    for (int i = 0; i != GW_JSONPOS_MAX_DEPTH + 1; ++i)
        deep[n++] = '[';
    gw_jsonpos_seg_t path[] = {{"b", 0}};
    gw_jsonpos_t pos;
    assert_int_equal(gw_jsonpos_find(deep, n, path, 1, 0, &pos), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests_name("jsonpos", tests, NULL, NULL);
}
