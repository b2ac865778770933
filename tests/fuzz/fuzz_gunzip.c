/* libFuzzer driver: the gzip decoder the rewriters read origin bodies with (gateway/gunzip.c). Any bytes, labelled
 * gzip, decode or fail without a crash, and the same whether fed whole or in pieces (the first byte picks the piece
 * size); the outcome is zlib's own (inflate of the whole body into a buffer that grows): a stream zlib ends gives its
 * bytes and success (what follows ignored), one zlib refuses or that is cut short (an empty body aside) fails with a
 * beginning of what zlib decoded; the gzip of the input decodes back to the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "gunzip.h"

/* decodes data fed step bytes at a time into *out (malloc'ed); returns the last step's status */
static int decode(const uint8_t *data, size_t size, size_t step, char **out, size_t *out_len)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    gw_gunzip_t *z = gw_gunzip_open(&pool);
    size_t cap = 1024, pos = 0;
    int rc;
    *out = malloc(cap);
    *out_len = 0;
    do {
        size_t k = size - pos < step ? size - pos : step;
        h2o_iovec_t in = h2o_iovec_init(data + pos, k), *o;
        size_t n;
        pos += k;
        rc = gw_gunzip_step(z, &in, 1, pos == size, &o, &n);
        for (size_t i = 0; i != n; ++i) {
            if (o[i].len == 0)
                __builtin_trap(); /* no empty buffers handed on */
            while (*out_len + o[i].len > cap)
                *out = realloc(*out, cap *= 2);
            memcpy(*out + *out_len, o[i].base, o[i].len);
            *out_len += o[i].len;
        }
    } while (pos < size && rc == 0);
    h2o_mem_clear_pool(&pool);
    return rc;
}

/* zlib's reading of the whole body: 0 (the stream ended), -1 (refused, or cut short), into *out (malloc'ed) */
static int reference(const uint8_t *data, size_t size, char **out, size_t *out_len)
{
    z_stream zs;
    size_t cap = 65536;
    int ret;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        __builtin_trap();
    *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    do {
        if (zs.total_out == cap)
            *out = realloc(*out, cap *= 2);
        zs.next_out = (Bytef *)*out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        ret = inflate(&zs, Z_FINISH);
    } while (ret == Z_BUF_ERROR && zs.avail_out == 0);
    *out_len = zs.total_out;
    inflateEnd(&zs);
    return ret == Z_STREAM_END || size == 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = 1 + data[0] % 64;
    char *whole, *split;
    size_t whole_len, split_len;
    int a = decode(data + 1, size - 1, size, &whole, &whole_len), b = decode(data + 1, size - 1, step, &split, &split_len);
    /* the same outcome; a failure may come earlier in pieces, never with other bytes */
    if (a != b || (a == 0 && (whole_len != split_len || memcmp(whole, split, whole_len) != 0)))
        __builtin_trap();
    if (a != 0 && memcmp(whole, split, whole_len < split_len ? whole_len : split_len) != 0)
        __builtin_trap();
    char *ref;
    size_t ref_len;
    int r = reference(data + 1, size - 1, &ref, &ref_len);
    if (a != r || (a == 0 && (whole_len != ref_len || memcmp(whole, ref, ref_len) != 0)) ||
        (a != 0 && (whole_len > ref_len || memcmp(whole, ref, whole_len) != 0)))
        __builtin_trap();
    free(ref);
    free(whole);
    free(split);

    /* round trip */
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    size_t cap = deflateBound(&zs, size) + 32;
    uint8_t *gz = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = gz;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        __builtin_trap();
    size_t gz_len = zs.total_out;
    deflateEnd(&zs);
    char *back;
    size_t back_len;
    if (decode(gz, gz_len, step, &back, &back_len) != 0 || back_len != size || memcmp(back, data, size) != 0)
        __builtin_trap();
    free(back);
    free(gz);
    return 0;
}
