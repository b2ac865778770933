/*
 * khash.h — the little of klib's khash.h that libh2o 2.2.5's <h2o/http2_internal.h> needs to compile, for Debian's
 * libh2o-dev ships that header without the khash.h it includes. gateway/sendwatch.c reads an HTTP/2 connection and its
 * streams through it (h2o's own structs, which it takes as they are); the stream table those structs point to is never
 * read through this file: its one lookup, h2o_http2_conn_get_stream, is not called, and would find nothing.
 */
#ifndef GW_COMPAT_KHASH_H
#define GW_COMPAT_KHASH_H

#include <stdint.h>

typedef uint32_t khint_t;
typedef khint_t khiter_t;

#define khash_t(name) kh_##name##_t
#define KHASH_MAP_INIT_INT64(name, val_t)                                                                                          \
    typedef struct kh_##name##_s {                                                                                                 \
        val_t *vals; /* (never read: see above) */                                                                                 \
    } kh_##name##_t;                                                                                                               \
    static inline khint_t kh_get_##name(const kh_##name##_t *h, uint64_t key)                                                      \
    {                                                                                                                              \
        (void)h, (void)key;                                                                                                        \
        return 0;                                                                                                                  \
    }
#define kh_get(name, h, key) kh_get_##name(h, key)
#define kh_end(h) ((khint_t)0)
#define kh_val(h, x) ((h)->vals[x])

#endif
