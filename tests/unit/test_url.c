/* Unit tests for filters/url.c: percent-coding and splitting absolute http(s) URLs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "url.h"

typedef struct {
    const char *url;
    int rc;
    const char *host, *path; /* path NULL: no path in the URL (path_off == len) */
} split_case_t;

static const split_case_t split_cases[] = {
    {"https://www.example.org/a?b=1", 0, "www.example.org", "/a?b=1"},
    {"HTTP://Example.ORG", 0, "Example.ORG", NULL},
    {"http://user:pw@evil.example:8080/x", 0, "evil.example", "/x"},
    {"https://[2001:db8::1]:443/", 0, "[2001:db8::1]", "/"},
    {"https://a.example?q", 0, "a.example", "?q"},
    {"https://a.example#frag", 0, "a.example", "#frag"},
    {"http://@/x", -1, NULL, NULL},
    {"http://:80/", -1, NULL, NULL},
    {"https://[::1/x", -1, NULL, NULL},
    {"ftp://a.example/", -1, NULL, NULL},
    {"javascript:alert(1)", -1, NULL, NULL},
    {"//a.example/", -1, NULL, NULL},
    {"https://", -1, NULL, NULL},
    {NULL, 0, NULL, NULL} /* end of list */
};

static void test_split(void **state)
{
    for (const split_case_t *c = split_cases; c->url != NULL; ++c) {
        size_t len = strlen(c->url), ho = 0, hl = 0, po = 0;
        char *buf = malloc(len); /* exactly sized: no NUL to lean on */
        memcpy(buf, c->url, len);
        int rc = gw_url_split(buf, len, &ho, &hl, &po);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d", c->url, rc, c->rc);
        if (rc == 0) {
            if (hl != strlen(c->host) || memcmp(buf + ho, c->host, hl) != 0)
                fail_msg("%s: host \"%.*s\"", c->url, (int)hl, buf + ho);
            if (c->path == NULL)
                assert_int_equal(po, len);
            else if (len - po != strlen(c->path) || memcmp(buf + po, c->path, len - po) != 0)
                fail_msg("%s: path \"%.*s\"", c->url, (int)(len - po), buf + po);
        }
        free(buf);
    }
}

/* every prefix of every URL: never reads past it, and a host found lies inside it */
static void test_split_prefixes(void **state)
{
    for (const split_case_t *c = split_cases; c->url != NULL; ++c) {
        size_t full = strlen(c->url);
        for (size_t n = 0; n <= full; ++n) {
            char *buf = malloc(n + 1);
            memcpy(buf, c->url, n);
            size_t ho, hl, po;
            if (gw_url_split(buf, n, &ho, &hl, &po) == 0) {
                assert_true(hl != 0 && ho + hl <= n && po <= n && ho + hl <= po + 1);
            }
            free(buf);
        }
    }
}

static void test_pct(void **state)
{
    char out[128];
    assert_int_equal(gw_url_pct_decode("a%20b+c%2Fd", 11, out), 7);
    assert_memory_equal(out, "a b c/d", 7);
    assert_int_equal(gw_url_pct_decode("%4", 2, out), (size_t)-1);
    assert_int_equal(gw_url_pct_decode("%zz", 3, out), (size_t)-1);
    assert_int_equal(gw_url_pct_decode("abc%", 4, out), (size_t)-1);
    assert_int_equal(gw_url_pct_decode("", 0, out), 0);
    static const char raw[] = "https://x.example/?q=\"<script>\"&a=1 2";
    char enc[sizeof(raw) * 3], dec[sizeof(raw)];
    size_t n = gw_url_pct_encode(raw, sizeof(raw) - 1, enc);
    for (size_t i = 0; i != n; ++i)
        assert_true(strchr("<>\"& :/?=", enc[i]) == NULL);
    assert_int_equal(gw_url_pct_decode(enc, n, dec), sizeof(raw) - 1);
    assert_memory_equal(dec, raw, sizeof(raw) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_split_prefixes),
        cmocka_unit_test(test_pct),
    };
    return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
