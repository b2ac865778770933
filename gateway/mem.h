/*
 * Memory outside a request's pool: start-up, reloads, the writer and job threads. Running out ends the process with
 * h2o's "no memory" message, as h2o_mem_alloc and every pool allocation on the request path already do, rather than
 * leaving a NULL to be written through later (a crash that says nothing). Code that can do better, a reload that
 * keeps what is in force, checks the C library's NULL itself.
 */
#ifndef GW_MEM_H
#define GW_MEM_H

#include <stdint.h>
#include <stdlib.h>
#include <h2o/memory.h>
#include <h2o/string_.h>

static inline void *gw_calloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        h2o_fatal("no memory");
    return p;
}

static inline char *gw_strdup(const char *s)
{
    return h2o_strdup(NULL, s, SIZE_MAX).base;
}

#endif
