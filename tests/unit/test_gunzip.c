/* Unit tests for gateway/gunzip.c: a gzip body decoded whole and fed at every split (one byte at a time, odd sizes, in
 * several buffers per call), and the bodies h2o's decoder aborted on (not gzip, corrupt, cut short) reported as errors
 * with what came before them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>
#include "gunzip.h"

/* page: n bytes a gzip of which repeats itself (long matches that fill several output buffers) and does not */
static void make_page(char *page, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        page[i] = i % 5000 < 2500 ? "<p>x</p>"[i % 8] : (char)('a' + (i * 7919) % 26);
}

static size_t gzip_of(const char *in, size_t n, char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t len = zs.total_out;
    deflateEnd(&zs);
    return len;
}

/* decodes gz fed `step` bytes per buffer, `per_call` buffers per call; returns the step status of the last call and
 * the decoded bytes in out */
static int decode(const char *gz, size_t len, size_t step, size_t per_call, char *out, size_t cap, size_t *out_len)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    gw_gunzip_t *z = gw_gunzip_open(&pool);
    h2o_iovec_t in[8];
    size_t pos = 0;
    int rc = 0;
    *out_len = 0;
    do {
        size_t n = 0;
        while (n != per_call && pos < len) {
            size_t k = len - pos < step ? len - pos : step;
            in[n++] = h2o_iovec_init(gz + pos, k);
            pos += k;
        }
        h2o_iovec_t *o;
        size_t ocnt;
        rc = gw_gunzip_step(z, in, n, pos == len, &o, &ocnt);
        for (size_t i = 0; i != ocnt; ++i) {
            assert_true(o[i].len != 0);
            assert_true(*out_len + o[i].len <= cap);
            memcpy(out + *out_len, o[i].base, o[i].len);
            *out_len += o[i].len;
        }
    } while (pos < len && rc == 0);
    h2o_mem_clear_pool(&pool);
    return rc;
}

#define PAGE_LEN 100000

static void test_whole_and_split(void **state)
{
    static char page[PAGE_LEN], gz[PAGE_LEN + 1024], out[PAGE_LEN];
    make_page(page, PAGE_LEN);
    size_t gz_len = gzip_of(page, PAGE_LEN, gz, sizeof(gz)), out_len;
    static const size_t steps[] = {1, 2, 7, 31, 4093, 8192, 8193, PAGE_LEN + 1024, 0 /* end of list */};
    for (const size_t *s = steps; *s != 0; ++s)
        for (size_t per_call = 1; per_call <= 3; ++per_call) {
            assert_int_equal(decode(gz, gz_len, *s, per_call, out, sizeof(out), &out_len), 0);
            assert_int_equal(out_len, PAGE_LEN);
            assert_memory_equal(out, page, PAGE_LEN);
        }
}

static void test_errors(void **state)
{
    static char page[PAGE_LEN], gz[PAGE_LEN + 1024], bad[PAGE_LEN + 1024], out[PAGE_LEN];
    make_page(page, PAGE_LEN);
    size_t gz_len = gzip_of(page, PAGE_LEN, gz, sizeof(gz)), out_len;

    /* not gzip at all: nothing decoded */
    assert_int_equal(decode(page, PAGE_LEN, 4096, 1, out, sizeof(out), &out_len), -1);
    assert_int_equal(out_len, 0);

    /* corrupt in the middle: what came before it, then the error (never more than the page) */
    memcpy(bad, gz, gz_len);
    memset(bad + gz_len / 2, 0xff, 64);
    for (size_t step = 1; step <= 8192; step *= 8) {
        assert_int_equal(decode(bad, gz_len, step, 2, out, sizeof(out), &out_len), -1);
        assert_true(out_len <= PAGE_LEN);
        assert_memory_equal(out, page, out_len > 1000 ? 1000 : out_len);
    }

    /* cut short at every 997th byte: what came, then the error at the end */
    for (size_t cut = 1; cut < gz_len; cut += 997) {
        assert_int_equal(decode(gz, cut, 512, 1, out, sizeof(out), &out_len), -1);
        assert_true(out_len < PAGE_LEN);
        assert_memory_equal(out, page, out_len);
    }

    /* bytes after the end of the stream are ignored */
    memcpy(bad, gz, gz_len);
    memcpy(bad + gz_len, "garbage", 7);
    assert_int_equal(decode(bad, gz_len + 7, 100, 1, out, sizeof(out), &out_len), 0);
    assert_int_equal(out_len, PAGE_LEN);

    /* an empty body is an empty page */
    assert_int_equal(decode(gz, 0, 1, 1, out, sizeof(out), &out_len), 0);
    assert_int_equal(out_len, 0);
}

/* a call after an error decodes nothing and fails again */
static void test_after_error(void **state)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    gw_gunzip_t *z = gw_gunzip_open(&pool);
    h2o_iovec_t in = h2o_iovec_init(H2O_STRLIT("not gzip at all")), *o;
    size_t ocnt;
    assert_int_equal(gw_gunzip_step(z, &in, 1, 0, &o, &ocnt), -1);
    assert_int_equal(gw_gunzip_step(z, &in, 1, 1, &o, &ocnt), -1);
    assert_int_equal(ocnt, 0);
    h2o_mem_clear_pool(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_and_split),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_after_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
