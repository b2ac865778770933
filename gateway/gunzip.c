/*
 * gunzip — see gunzip.h.
 */
#include <string.h>
#include <zlib.h>
#include "gunzip.h"

#define OUT_BUF 8192

struct st_gw_gunzip_t {
    h2o_mem_pool_t *pool;
    z_stream zs;
    int state; /* 0: decoding, 1: the stream ended (the rest is ignored), -1: failed */
    h2o_iovec_t *bufs; /* output buffers of OUT_BUF bytes, reused by every call */
    size_t num_bufs, cap_bufs;
};

static void *zalloc_pool(void *opaque, unsigned items, unsigned size)
{
    return h2o_mem_alloc_pool(opaque, (size_t)items * size);
}

static void zfree_pool(void *opaque, void *p)
{
    /* released with the pool */
}

gw_gunzip_t *gw_gunzip_open(h2o_mem_pool_t *pool)
{
    gw_gunzip_t *z = h2o_mem_alloc_pool(pool, sizeof(*z));
    memset(z, 0, sizeof(*z));
    z->pool = pool;
    z->zs.zalloc = zalloc_pool;
    z->zs.zfree = zfree_pool;
    z->zs.opaque = pool;
    if (inflateInit2(&z->zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip framing only, as the Content-Encoding says */
        z->state = -1;
    return z;
}

/* the i-th output buffer, made when first needed */
static h2o_iovec_t *out_buf(gw_gunzip_t *z, size_t i)
{
    if (i == z->cap_bufs) {
        size_t cap = z->cap_bufs != 0 ? z->cap_bufs * 2 : 4;
        h2o_iovec_t *bufs = h2o_mem_alloc_pool(z->pool, cap * sizeof(*bufs));
        if (z->cap_bufs != 0)
            memcpy(bufs, z->bufs, z->cap_bufs * sizeof(*bufs));
        z->bufs = bufs;
        z->cap_bufs = cap;
    }
    if (i == z->num_bufs) {
        z->bufs[i] = h2o_iovec_init(h2o_mem_alloc_pool(z->pool, OUT_BUF), 0);
        ++z->num_bufs;
    }
    return z->bufs + i;
}

/* one inflate() into the last output buffer, or a new one when that is full; returns 1 when it filled the buffer (zlib
 * may hold more output for the next) */
static int inflate_some(gw_gunzip_t *z, size_t *n)
{
    h2o_iovec_t *cur = *n != 0 ? z->bufs + *n - 1 : NULL;
    if (cur == NULL || cur->len == OUT_BUF) {
        cur = out_buf(z, (*n)++);
        cur->len = 0;
    }
    z->zs.next_out = (Bytef *)cur->base + cur->len;
    z->zs.avail_out = (uInt)(OUT_BUF - cur->len);
    int ret = inflate(&z->zs, Z_NO_FLUSH);
    cur->len = OUT_BUF - z->zs.avail_out;
    if (ret == Z_STREAM_END)
        z->state = 1;
    else if (ret != Z_OK && ret != Z_BUF_ERROR) /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR */
        z->state = -1;
    return z->zs.avail_out == 0;
}

int gw_gunzip_step(gw_gunzip_t *z, const h2o_iovec_t *in, size_t incnt, int final, h2o_iovec_t **out, size_t *outcnt)
{
    size_t n = 0; /* output buffers used by this call */

    for (size_t i = 0; i != incnt && z->state == 0; ++i) {
        z->zs.next_in = (Bytef *)in[i].base;
        z->zs.avail_in = (uInt)in[i].len;
        int full;
        do
            full = inflate_some(z, &n);
        while (z->state == 0 && (z->zs.avail_in != 0 || full));
    }
    if (final && z->state == 0 && z->zs.total_in != 0) /* the body ended inside the gzip stream: cut short (an empty body
                                                          is taken as an empty page, as h2o's decoder and browsers take it) */
        z->state = -1;
    if (n != 0 && z->bufs[n - 1].len == 0)
        --n;
    *out = z->bufs;
    *outcnt = n;
    return z->state < 0 ? -1 : 0;
}
