/*
 * memo — rewritten pages remembered by the worker thread that rewrote them.
 *
 * Most pages a site serves are byte-identical for many visitors, and what the rewriter makes of a
 * page depends only on its bytes and on a few things the memo key names (the page's origin and
 * path, the categories granted, the content type) and on the lists in force (the snapshot
 * generation, qsbr.h). The rewriter stores what it made of a page here (the origin's body, its
 * output with the per-response values cut out, and the side effects to replay), and a later response
 * whose body turns out to be the same bytes is answered from it instead of being rewritten again
 * (gateway/rewrite.c). Nothing is trusted to a hash: a body is compared byte for byte.
 *
 * One memo per worker thread, used by that thread only: no lock. Its memory is one block of a fixed
 * size allocated when the thread starts, used as a ring: entries are written one after the other and
 * the oldest are evicted to make room (FIFO), so nothing is allocated on the request path. An entry
 * is one block of up to GW_MEMO_PARTS parts, the first the key. A pinned entry (a response is still
 * comparing its body with it) is never evicted or moved; a put that would need to evict it fails.
 */
#ifndef GW_MEMO_H
#define GW_MEMO_H

#include <stddef.h>
#include <stdint.h>

#define GW_MEMO_PARTS 4

typedef struct st_gw_memo_t gw_memo_t;

typedef struct st_gw_memo_entry_t {
    uint64_t hash;                                           /* of the key */
    uint64_t generation;                                     /* the snapshot generation it was made under */
    size_t off, size;                                        /* its block in the arena */
    size_t part_off[GW_MEMO_PARTS], part_len[GW_MEMO_PARTS]; /* inside the block; part 0 is the key */
    unsigned pins;
    int dead;                /* replaced or given up: no longer found, evicted in its turn */
    int pending;             /* reserved, being written: not found until committed */
    uint32_t changes, skips; /* the caller's (rewrite.c: how often the page changed in a row; puts skipped) */
} gw_memo_entry_t;

/* A memo of `bytes` bytes holding at most max_entries entries; NULL when out of memory or bytes is 0. */
gw_memo_t *gw_memo_new(size_t bytes, size_t max_entries);
void gw_memo_free(gw_memo_t *m);

/* the live entry with this key made under this generation, or NULL */
gw_memo_entry_t *gw_memo_find(gw_memo_t *m, uint64_t generation, const void *key, size_t key_len);

/* a part of an entry's block (8-byte aligned) */
static inline const char *gw_memo_part(const gw_memo_t *m, const gw_memo_entry_t *e, size_t i);

static inline void
gw_memo_pin(gw_memo_entry_t *e)
{
    ++e->pins;
}

static inline void
gw_memo_unpin(gw_memo_entry_t *e)
{
    --e->pins;
}

/*
 * Reserves a block of `size` bytes for an entry the caller writes in place (gw_memo_block) while its page streams:
 * pinned and not found until gw_memo_commit, or given up with gw_memo_abandon. NULL when size is over a quarter of
 * the memo or room could not be made without evicting a pinned entry.
 */
gw_memo_entry_t *gw_memo_reserve(gw_memo_t *m, size_t size);

/* the block of an entry (reserved or not) */
static inline char *gw_memo_block(gw_memo_t *m, gw_memo_entry_t *e);

/*
 * Makes a reserved entry found: its parts lie at part_off[] (8-byte aligned, part 0 the key) in its block and take
 * `used` bytes of it; the rest is given back when no block was reserved after it. An older entry with the same key
 * and generation is dropped. Drops the reservation's pin (pins the caller added stay).
 */
void gw_memo_commit(gw_memo_t *m, gw_memo_entry_t *e, uint64_t generation, const size_t part_off[], const size_t part_len[],
                    size_t num_parts, size_t used);

/* Gives a reserved entry up: dead, the reservation's pin dropped; its room is given back when no block was reserved
 * after it. */
void gw_memo_abandon(gw_memo_t *m, gw_memo_entry_t *e);

/*
 * Stores a new entry: parts[0] (the key) and the others, copied into the arena. An older entry with the same key
 * is dropped. Returns the entry (changes and skips 0), or NULL when it is larger than a quarter of the memo or room
 * could not be made without evicting a pinned entry (nothing is stored then).
 */
gw_memo_entry_t *gw_memo_put(gw_memo_t *m, uint64_t generation, const void *const parts[], const size_t lens[], size_t num_parts);

/* the largest entry gw_memo_put takes (parts' bytes plus alignment) */
size_t gw_memo_max_entry(const gw_memo_t *m);

/* entries held now, in use or not (tests) */
size_t gw_memo_count(const gw_memo_t *m);

/* entries that can be found (neither replaced, given up nor being written), and the bytes all blocks take (metrics) */
size_t gw_memo_live(const gw_memo_t *m);
size_t gw_memo_used(const gw_memo_t *m);

/* FNV-1a of the key (the caller hashes nothing; exposed for tests) */
uint64_t gw_memo_hash(const void *key, size_t len);

/* --- inline ------------------------------------------------------------------------------------ */

struct st_gw_memo_t {
    char *arena;
    size_t size;
    size_t head;              /* where the next block goes */
    gw_memo_entry_t *entries; /* a circular array in allocation order: oldest at first */
    size_t max_entries, first, count;
    size_t live, used; /* gw_memo_live, gw_memo_used */
};

static inline const char *
gw_memo_part(const gw_memo_t *m, const gw_memo_entry_t *e, size_t i)
{
    return m->arena + e->off + e->part_off[i];
}

static inline char *
gw_memo_block(gw_memo_t *m, gw_memo_entry_t *e)
{
    return m->arena + e->off;
}

#endif
