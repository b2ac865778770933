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
    {{"default-src 'self' 'nonce-abc'", NULL}, "abc", "abc"},             /* default-src serves both */
    {{"default-src 'nonce-d'; script-src 'self'", NULL}, "", "d"},        /* script-src without a nonce wins */
    {{"script-src 'nonce-a'; script-src-elem 'nonce-b'", NULL}, "b", ""}, /* -elem first */
    {{"style-src 'nonce-s'; style-src-elem 'self'", NULL}, "", ""},
    {{"SCRIPT-SRC 'NONCE-Mixed+/=='", NULL}, "Mixed+/==", ""},                    /* names without case */
    {{"script-src 'nonce-first'; script-src 'nonce-second'", NULL}, "first", ""}, /* a repeat is ignored */
    {{"img-src *, script-src 'nonce-p2'", NULL}, "p2", ""},                       /* the second policy of a field */
    {{"script-src 'nonce-x1' 'nonce-x2'", NULL}, "x1", ""},
    {{"RO:script-src 'nonce-ro'", "script-src 'nonce-enf'", NULL}, "enf", ""}, /* enforcing over report-only */
    {{"script-src 'nonce-enf'", "RO:script-src 'nonce-ro'", NULL}, "enf", ""},
    {{"RO:script-src 'nonce-ro1'", "RO:script-src 'nonce-ro2'", NULL}, "ro1", ""},
    {{"script-src 'nonce-e1', script-src 'nonce-e2'", NULL}, "e1", ""},
    {{"\tscript-src\t'nonce-tab'\t;", NULL}, "tab", ""},
    {{"script-src 'nonce-'", NULL}, "", ""}, /* malformed: none copied */
    {{"script-src 'nonce-a\"b'", NULL}, "", ""},
    {{"script-src 'nonce-a<b'", NULL}, "", ""},
    {{"script-src 'nonce-abc", NULL}, "", ""},
    {{"script-src nonce-abc", NULL}, "", ""},
    {{"script-src 'nonce-ab===' 'nonce-ok'", NULL}, "ok", ""}, /* three '=' */
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

typedef struct {
    const char *in, *out; /* out NULL: unchanged */
} amend_case_t;

#define JS "https://shop.example/__consent/banner.js"
static const amend_case_t amend_cases[] = {
    {"script-src 'self'; connect-src 'self'; style-src 'self'", NULL},
    {"img-src *; object-src 'none'", NULL},              /* none of them restricted */
    {"connect-src 'none'", "connect-src 'none' 'self'"}, /* 'none' is ignored beside 'self' */
    {"connect-src https://api.example; img-src *", "connect-src https://api.example 'self'; img-src *"},
    {"connect-src https:; style-src *; script-src http:", NULL}, /* the page's scheme, "*" */
    {"default-src 'none'", "default-src 'none'; connect-src 'none' 'self'; style-src 'none' 'self'; script-src 'none' " JS},
    {"default-src 'self'", NULL},
    {"script-src 'sha256-AAAA'", "script-src 'sha256-AAAA' " JS}, /* hashes only: its URL */
    {"script-src 'sha256-AAAA' 'strict-dynamic'", NULL},          /* URLs ignored: not amended */
    {"script-src 'nonce-ours'; style-src 'nonce-sty'", NULL},     /* the nonces the UI carries */
    {"script-src 'NONCE-ours'", NULL},
    {"script-src 'nonce-OURS'", "script-src 'nonce-OURS' " JS}, /* a nonce is as written */
    {"style-src 'nonce-other'", "style-src 'nonce-other' 'self'"},
    {"style-src-elem 'none'; style-src 'self'", "style-src-elem 'none' 'self'; style-src 'self'"},
    {"script-src 'self', connect-src 'none'", "script-src 'self', connect-src 'none' 'self'"}, /* each policy of a field */
    {"connect-src 'none' ; img-src *", "connect-src 'none'  'self'; img-src *"},
    {"connect-src 'none'; connect-src *", "connect-src 'none' 'self'; connect-src *"},              /* the first one counts */
    {"style-src 'none'; connect-src 'none'", "style-src 'none' 'self'; connect-src 'none' 'self'"}, /* in the bytes' order */
    {"default-src 'none'; style-src x", /* an addition at the policy's end before the new directives (fuzz_csp_policy) */
     "default-src 'none'; style-src x 'self'; connect-src 'none' 'self'; script-src 'none' " JS},
    {"script-src " JS, NULL}, /* once only */
};

static char *
amend(const char *in, size_t len, const char *js)
{
    gw_csp_amend_t a = {"https", "ours", "sty", js};
    size_t need = gw_csp_amend(in, len, &a, NULL, 0);
    char *out = malloc(need + 1);
    for (size_t cap = 0; cap <= need; ++cap) /* a smaller buffer gets the first bytes and the same length */
        assert_int_equal(gw_csp_amend(in, len, &a, out, cap), need);
    out[need] = '\0';
    return out;
}

static void
test_amend(void **state)
{
    (void)state;
    for (size_t i = 0; i != sizeof(amend_cases) / sizeof(amend_cases[0]); ++i) {
        char *got = amend(amend_cases[i].in, strlen(amend_cases[i].in), JS);
        const char *want = amend_cases[i].out != NULL ? amend_cases[i].out : amend_cases[i].in;
        if (strcmp(got, want) != 0)
            fail_msg("case %zu: \"%s\"\n  got  \"%s\"\n  want \"%s\"", i, amend_cases[i].in, got, want);
        free(got);
    }
    /* without the banner's URL, a script list is left as it is */
    char *got = amend("script-src 'sha256-AAAA'", 24, NULL);
    assert_string_equal(got, "script-src 'sha256-AAAA'");
    free(got);
}

/* every amendment case cut at every byte: nothing read past the cut, and the amendment only ever adds */
static void
test_amend_every_cut(void **state)
{
    (void)state;
    for (size_t i = 0; i != sizeof(amend_cases) / sizeof(amend_cases[0]); ++i) {
        size_t len = strlen(amend_cases[i].in);
        for (size_t cut = 0; cut <= len; ++cut) {
            char *copy = malloc(cut + 1);
            memcpy(copy, amend_cases[i].in, cut);
            char *got = amend(copy, cut, JS);
            assert_true(strlen(got) >= cut);
            free(got);
            free(copy);
        }
    }
}

/* the ad platforms' consent default, an inline script with nonce N: let in only when every policy lets it in */
static void
test_lets_in_by_nonce(void **state)
{
    (void)state;
    static const struct {
        const char *policy;
        int lets_in;
    } inline_cases[] = {
        {"", 1},
        {"frame-ancestors 'self'; upgrade-insecure-requests", 1}, /* restricts no script */
        {"script-src 'nonce-N' 'strict-dynamic'", 1},
        {"script-src 'NONCE-N'", 1}, /* the keyword without case, the nonce as is */
        {"script-src 'nonce-n'", 0},
        {"script-src 'nonce-NN'", 0},
        {"script-src 'self' 'unsafe-inline'", 0}, /* (no nonce of ours: not trusted to let it in) */
        {"default-src 'nonce-N'; img-src *", 1},
        {"default-src 'self'; script-src 'nonce-N'", 1},     /* script-src governs */
        {"script-src 'nonce-N'; script-src-elem 'self'", 0}, /* script-src-elem governs */
        {"script-src 'nonce-N', script-src 'self'", 0},      /* two policies: the second blocks it */
        {"script-src 'self', frame-ancestors 'none'", 0},
        {"frame-ancestors 'none', script-src 'nonce-N'", 1},
    };
    for (size_t i = 0; i != sizeof(inline_cases) / sizeof(inline_cases[0]); ++i)
        if (gw_csp_lets_in_by_nonce(inline_cases[i].policy, strlen(inline_cases[i].policy), "N") != inline_cases[i].lets_in)
            fail_msg("\"%s\": not %d", inline_cases[i].policy, inline_cases[i].lets_in);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_amend),
        cmocka_unit_test(test_amend_every_cut),
        cmocka_unit_test(test_lets_in_by_nonce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
