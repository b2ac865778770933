/* Unit tests for filters/entries_body.c: POST /admin/lists/{name}/entries bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "entries_body.h"

static void test_good(void **state)
{
    gw_entries_t e;
    char err[128];
    const char *body = "{\"add\": [\"evil.example\", \"b\\u00fccher.example\"], \"remove\": [\"old.example\"]}";
    assert_int_equal(gw_entries_parse(body, strlen(body), &e, err, sizeof(err)), 0);
    assert_int_equal(e.nadd, 2);
    assert_int_equal(e.nremove, 1);
    assert_memory_equal(e.add[0].base, "evil.example", 12);
    assert_int_equal(e.add[1].len, strlen("b\xc3\xbc" "cher.example"));
    assert_memory_equal(e.remove[0].base, "old.example", 11);
    gw_entries_free(&e);
    assert_int_equal(gw_entries_parse("{\"remove\": [\"x\"]}", 17, &e, err, sizeof(err)), 0);
    assert_int_equal(e.nadd, 0);
    gw_entries_free(&e);
}

static void test_bad(void **state)
{
    static const struct {
        const char *body, *err;
    } cases[] = {
        {"", "line 1"},
        {"[]", "must be an object"},
        {"{}", "nothing to add or remove"},
        {"{\"add\": []}", "nothing to add or remove"},
        {"{\"add\": \"x\"}", "must be an array of strings"},
        {"{\"add\": [1]}", "\"add\"[0] must be a non-empty string"},
        {"{\"add\": [\"\"]}", "non-empty string"},
        {"{\"delete\": [\"x\"]}", "unknown key \"delete\""},
        {"{\"add\": [\"x\"], \"add\": [\"y\"]}", "duplicate"},
        {"{\"add\": [\"x\"", "line 1"},
        {NULL, NULL} /* end of list */
    };
    for (size_t i = 0; cases[i].body != NULL; ++i) {
        gw_entries_t e;
        char err[128];
        size_t len = strlen(cases[i].body);
        char *buf = malloc(len + 1);
        memcpy(buf, cases[i].body, len);
        int rc = gw_entries_parse(buf, len, &e, err, sizeof(err));
        free(buf);
        if (rc != -1 || strstr(err, cases[i].err) == NULL)
            fail_msg("\"%s\": rc %d, err \"%s\", want \"%s\"", cases[i].body, rc, err, cases[i].err);
        assert_null(e._block);
    }
}

/* every prefix of a good body is an error (JSON is not complete before the end) */
static void test_prefixes(void **state)
{
    static const char body[] = "{\"add\": [\"a.example\"], \"remove\": [\"b.example\"]}";
    for (size_t n = 0; n + 1 < sizeof(body); ++n) {
        gw_entries_t e;
        char err[128];
        char *buf = malloc(n + 1);
        memcpy(buf, body, n);
        assert_int_equal(gw_entries_parse(buf, n, &e, err, sizeof(err)), -1);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests_name("entries_body", tests, NULL, NULL);
}
