/* Unit tests for filters/csp_policy.c: the nonces an origin's Content-Security-Policy fields name for scripts and
 * style sheets (directive fallbacks, several policies in a field, enforcing over report-only, malformed nonces), each
 * input also cut at every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "csp_policy.h"

typedef struct {
    const char *values[3]; /* the fields, NULL-terminated; a leading "RO:" makes one report-only */
    const char *script, *style;
} nonce_case_t;

static const nonce_case_t cases[] = {
    {{"script-src 'nonce-abc'", NULL}, "abc", ""},
    {{"default-src 'self' 'nonce-abc'", NULL}, "abc", "abc"},                         /* default-src serves both */
    {{"default-src 'nonce-d'; script-src 'self'", NULL}, "", "d"},                    /* script-src without a nonce wins */
    {{"script-src 'nonce-a'; script-src-elem 'nonce-b'", NULL}, "b", ""},             /* -elem first */
    {{"style-src 'nonce-s'; style-src-elem 'self'", NULL}, "", ""},
    {{"SCRIPT-SRC 'NONCE-Mixed+/=='", NULL}, "Mixed+/==", ""},                         /* names without case */
    {{"script-src 'nonce-first'; script-src 'nonce-second'", NULL}, "first", ""},    /* a repeat is ignored */
    {{"img-src *, script-src 'nonce-p2'", NULL}, "p2", ""},                            /* the second policy of a field */
    {{"script-src 'nonce-x1' 'nonce-x2'", NULL}, "x1", ""},
    {{"RO:script-src 'nonce-ro'", "script-src 'nonce-enf'", NULL}, "enf", ""},         /* enforcing over report-only */
    {{"script-src 'nonce-enf'", "RO:script-src 'nonce-ro'", NULL}, "enf", ""},
    {{"RO:script-src 'nonce-ro1'", "RO:script-src 'nonce-ro2'", NULL}, "ro1", ""},
    {{"script-src 'nonce-e1', script-src 'nonce-e2'", NULL}, "e1", ""},
    {{"\tscript-src\t'nonce-tab'\t;", NULL}, "tab", ""},
    {{"script-src 'nonce-'", NULL}, "", ""},                                          /* malformed: none copied */
    {{"script-src 'nonce-a\"b'", NULL}, "", ""},
    {{"script-src 'nonce-a<b'", NULL}, "", ""},
    {{"script-src 'nonce-abc", NULL}, "", ""},
    {{"script-src nonce-abc", NULL}, "", ""},
    {{"script-src 'nonce-ab===' 'nonce-ok'", NULL}, "ok", ""},                       /* three '=' */
    {{"script-src 'nonce-a=b'", NULL}, "", ""},
    {{"script-src 'nonce-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'", NULL}, "", ""}, /* 65 */
    {{"script-src 'sha256-abc' 'strict-dynamic'", NULL}, "", ""},
    {{"script-srcx 'nonce-no'; xscript-src 'nonce-no'", NULL}, "", ""},
    {{"", ";;,,", NULL}, "", ""},
};

static void
read_case(gw_csp_nonces_t *n, const char *const values[3], size_t cut)
{
    memset(n, 0, sizeof(*n));
    for (size_t i = 0; values[i] != NULL; ++i) {
        int ro = strncmp(values[i], "RO:", 3) == 0;
        const char *v = values[i] + (ro ? 3 : 0);
        size_t len = strlen(v);
        char *copy = malloc(len + 1); /* exactly len bytes are read: ASan sees a read past a cut */
        memcpy(copy, v, len);
        gw_csp_read_nonces(n, copy, cut < len ? cut : len, !ro);
        free(copy);
    }
}

static void
test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        gw_csp_nonces_t n;
        read_case(&n, cases[i].values, SIZE_MAX);
        if (strcmp(n.script, cases[i].script) != 0 || strcmp(n.style, cases[i].style) != 0)
            fail_msg("case %zu (%s): script \"%s\" style \"%s\", expected \"%s\" \"%s\"", i, cases[i].values[0], n.script, n.style,
                     cases[i].script, cases[i].style);
    }
}

static void
assert_nonce_chars(const char *s)
{
    assert_true(strlen(s) <= GW_CSP_NONCE_MAX);
    assert_int_equal(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/-_="), strlen(s));
}

/* every case cut at every byte: no read past the cut, and what is copied is always a nonce's characters */
static void
test_every_cut(void **state)
{
    (void)state;
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        for (size_t cut = 0; cut <= strlen(cases[i].values[0]); ++cut) {
            gw_csp_nonces_t n;
            read_case(&n, cases[i].values, cut);
            assert_nonce_chars(n.script);
            assert_nonce_chars(n.style);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_every_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
