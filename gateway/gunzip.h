/*
 * gunzip — decodes a gzip body from the origin for the rewriters (pages and style sheets), and says
 * when it cannot.
 *
 * h2o 2.2.5 has a decoder (h2o_compress_gunzip_open), but it asserts that zlib never reports an
 * error: an origin that labels a body gzip and sends something else (plain HTML, a corrupt or
 * doubly encoded stream) made it abort the whole gateway, every visitor's connection with it. This
 * one reports the error, so the response can end as broken instead.
 *
 * Memory comes from the pool given at open (zlib's state and window, ~45 KB, and the output
 * buffers, 8 KB each, reused by every call): nothing to free. The output of one call is bounded by
 * its input (at most ~1,032 bytes per byte, zlib's largest ratio), so the caller bounds a gzip
 * bomb's memory by bounding what it feeds at once (req->preferred_chunk_size).
 */
#ifndef GW_GUNZIP_H
#define GW_GUNZIP_H

#include <h2o.h>

typedef struct st_gw_gunzip_t gw_gunzip_t;

/* A decoder for one body, allocated from pool (valid while the pool is). */
gw_gunzip_t *gw_gunzip_open(h2o_mem_pool_t *pool);

/* Decodes the next bytes of the body, in[0..incnt); final: they are its last bytes. *out and *outcnt are the decoded bytes
 * (*outcnt may be 0), valid until the next call. Bytes after the end of the gzip stream are ignored (as h2o's decoder
 * did). Returns 0, or -1 when the body is not gzip, is corrupt, or (final) ends before its gzip stream does: *out then
 * holds what was decoded before the error, and later calls decode nothing and return -1 again. */
int gw_gunzip_step(gw_gunzip_t *z, const h2o_iovec_t *in, size_t incnt, int final, h2o_iovec_t **out, size_t *outcnt);

#endif
