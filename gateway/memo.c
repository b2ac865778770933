/*
 * memo — see memo.h.
 *
 * The arena is a ring of blocks in allocation order. With live entries, the oldest block starts at
 * `tail` (entries[first].off) and the next one goes at `head`: when head > tail the live blocks are
 * [tail, head) and both [head, size) and [0, tail) are free; otherwise they wrapped, [head, tail) is
 * free and the end of the arena past the last block before the wrap waits until tail passes it.
 * A block never wraps. Room is made by evicting the oldest entry, never a pinned one.
 */
#include <stdlib.h>
#include <string.h>
#include "memo.h"

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

gw_memo_t *
gw_memo_new(size_t bytes, size_t max_entries)
{
    gw_memo_t *m;
    if (bytes == 0 || max_entries == 0 || (m = calloc(1, sizeof(*m))) == NULL)
        return NULL;
    m->size = bytes & ~(size_t)7;
    m->max_entries = max_entries;
    if ((m->arena = malloc(m->size)) == NULL || (m->entries = calloc(max_entries, sizeof(*m->entries))) == NULL) {
        gw_memo_free(m);
        return NULL;
    }
    return m;
}

void
gw_memo_free(gw_memo_t *m)
{
    if (m == NULL)
        return;
    free(m->arena);
    free(m->entries);
    free(m);
}

uint64_t
gw_memo_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i != len; ++i)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

static gw_memo_entry_t *
at(gw_memo_t *m, size_t i)
{
    return m->entries + (m->first + i) % m->max_entries;
}

gw_memo_entry_t *
gw_memo_find(gw_memo_t *m, uint64_t generation, const void *key, size_t key_len)
{
    uint64_t h = gw_memo_hash(key, key_len);
    for (size_t i = 0; i != m->count; ++i) {
        gw_memo_entry_t *e = at(m, i);
        if (e->hash == h && e->generation == generation && !e->dead && !e->pending && e->part_len[0] == key_len &&
            memcmp(gw_memo_part(m, e, 0), key, key_len) == 0)
            return e;
    }
    return NULL;
}

/* where a block of `size` bytes can go, evicting the oldest entries as needed; -1 when a pinned one is in the way */
static int
make_room(gw_memo_t *m, size_t size, size_t *off)
{
    for (;;) {
        if (m->count == 0) {
            m->head = 0;
            *off = 0;
            return 0;
        }
        if (m->count != m->max_entries) {
            size_t tail = at(m, 0)->off;
            if (m->head > tail) {
                if (m->size - m->head >= size) {
                    *off = m->head;
                    return 0;
                }
                if (tail >= size) {
                    *off = 0;
                    return 0;
                }
            } else if (tail - m->head >= size) {
                *off = m->head;
                return 0;
            }
        }
        gw_memo_entry_t *oldest = at(m, 0);
        if (oldest->pins != 0)
            return -1;
        m->used -= oldest->size;
        m->live -= !oldest->dead && !oldest->pending;
        m->first = (m->first + 1) % m->max_entries;
        --m->count;
    }
}

size_t
gw_memo_max_entry(const gw_memo_t *m)
{
    return m->size / 4;
}

size_t
gw_memo_count(const gw_memo_t *m)
{
    return m->count;
}

size_t
gw_memo_live(const gw_memo_t *m)
{
    return m->live;
}

size_t
gw_memo_used(const gw_memo_t *m)
{
    return m->used;
}

gw_memo_entry_t *
gw_memo_reserve(gw_memo_t *m, size_t size)
{
    size_t off;
    size = ALIGN8(size);
    if (size > gw_memo_max_entry(m) || make_room(m, size, &off) != 0)
        return NULL;
    gw_memo_entry_t *e = at(m, m->count);
    *e = (gw_memo_entry_t){.off = off, .size = size, .pins = 1, .pending = 1};
    ++m->count;
    m->used += size;
    m->head = off + size;
    return e;
}

/* e's block ends at head and nothing was reserved after it: its unused end (or all of it) goes back */
static int
is_newest(gw_memo_t *m, gw_memo_entry_t *e)
{
    return m->count != 0 && at(m, m->count - 1) == e && m->head == e->off + e->size;
}

void
gw_memo_commit(gw_memo_t *m, gw_memo_entry_t *e, uint64_t generation, const size_t part_off[], const size_t part_len[],
               size_t num_parts, size_t used)
{
    const char *key = m->arena + e->off + part_off[0];
    gw_memo_entry_t *old = gw_memo_find(m, generation, key, part_len[0]);
    if (old != NULL) {
        old->dead = 1;
        --m->live;
    }
    e->hash = gw_memo_hash(key, part_len[0]);
    e->generation = generation;
    for (size_t i = 0; i != GW_MEMO_PARTS; ++i) {
        e->part_off[i] = i < num_parts ? part_off[i] : 0;
        e->part_len[i] = i < num_parts ? part_len[i] : 0;
    }
    if (is_newest(m, e) && ALIGN8(used) < e->size) {
        m->used -= e->size - ALIGN8(used);
        e->size = ALIGN8(used);
        m->head = e->off + e->size;
    }
    e->pending = 0;
    --e->pins;
    ++m->live;
}

void
gw_memo_abandon(gw_memo_t *m, gw_memo_entry_t *e)
{
    e->pending = 0;
    e->dead = 1;
    --e->pins;
    if (is_newest(m, e) && e->pins == 0) {
        --m->count;
        m->used -= e->size;
        m->head = e->off;
    }
}

gw_memo_entry_t *
gw_memo_put(gw_memo_t *m, uint64_t generation, const void *const parts[], const size_t lens[], size_t num_parts)
{
    size_t off[GW_MEMO_PARTS], size = 0;
    if (num_parts == 0 || num_parts > GW_MEMO_PARTS)
        return NULL;
    for (size_t i = 0; i != num_parts; ++i) {
        if (lens[i] > m->size)
            return NULL;
        off[i] = size;
        size += ALIGN8(lens[i]);
    }
    gw_memo_entry_t *e = gw_memo_reserve(m, size);
    if (e == NULL)
        return NULL;
    for (size_t i = 0; i != num_parts; ++i)
        if (lens[i] != 0)
            memcpy(gw_memo_block(m, e) + off[i], parts[i], lens[i]);
    gw_memo_commit(m, e, generation, off, lens, num_parts, size);
    return e;
}
