/*
 * revoke — see revoke.h.
 *
 * A slot is `stride` 32-bit words: the key (4 words; the first 0 means the slot is empty), the erasure's time, then one
 * cut per category. The writer fills a new slot's times and last three key words, then stores the first key word with
 * release; a reader loads it with acquire, so it never sees a key before the times written with it. Times are stored
 * with release and loaded with acquire too (plain moves on x86): an overwrite is seen by a reader that comes after it,
 * as the visitor's next request does (its answer left the writer after the stores).
 */
#include <stdlib.h>
#include <string.h>
#include "revoke.h"

struct st_gw_revoke_t {
    size_t mask;  /* slots - 1 (slots: a power of two) */
    size_t limit; /* entries at which gw_revoke_set refuses: 3/4 of the slots */
    size_t count; /* entries (written by the writer, read by anyone: atomics) */
    size_t num_categories;
    size_t stride; /* words per slot */
    uint32_t words[];
};

#define KEY_WORDS 4

void
gw_revoke_key(const gw_token_key_t *k, const uint8_t visitor[16], uint32_t key[4])
{
    uint8_t mac[32];
    gw_token_hmac(k, visitor, 16, mac);
    memcpy(key, mac, 4 * sizeof(key[0]));
    key[0] |= 1; /* (0 marks an empty slot) */
}

gw_revoke_t *
gw_revoke_new(size_t num_categories, size_t min_entries)
{
    size_t slots = 16;
    if (num_categories == 0 || num_categories > GW_REVOKE_CATEGORIES)
        return NULL;
    while (slots / 4 * 3 < min_entries + 1)
        slots *= 2;
    size_t stride = KEY_WORDS + 1 + num_categories;
    gw_revoke_t *t = calloc(1, sizeof(*t) + slots * stride * sizeof(uint32_t));
    if (t == NULL)
        return NULL;
    t->mask = slots - 1;
    t->limit = slots / 4 * 3;
    t->num_categories = num_categories;
    t->stride = stride;
    return t;
}

void
gw_revoke_free(gw_revoke_t *t)
{
    free(t);
}

size_t
gw_revoke_count(const gw_revoke_t *t)
{
    return t != NULL ? __atomic_load_n(&t->count, __ATOMIC_ACQUIRE) : 0;
}

static uint32_t *
slot_at(const gw_revoke_t *t, size_t i)
{
    return (uint32_t *)t->words + i * t->stride;
}

/* the slot holding key, or the empty slot where it would go */
static uint32_t *
probe(const gw_revoke_t *t, const uint32_t key[4])
{
    for (size_t i = key[1] & t->mask;; i = (i + 1) & t->mask) { /* (a table is never full: terminates) */
        uint32_t *s = slot_at(t, i), first = __atomic_load_n(&s[0], __ATOMIC_ACQUIRE);
        if (first == 0)
            return s;
        if (first == key[0] && __atomic_load_n(&s[1], __ATOMIC_RELAXED) == key[1] &&
            __atomic_load_n(&s[2], __ATOMIC_RELAXED) == key[2] && __atomic_load_n(&s[3], __ATOMIC_RELAXED) == key[3])
            return s;
    }
}

static void
read_slot(const gw_revoke_t *t, const uint32_t *s, gw_revocation_t *out)
{
    memset(out, 0, sizeof(*out));
    out->erased = __atomic_load_n(&s[KEY_WORDS], __ATOMIC_ACQUIRE);
    for (size_t c = 0; c != t->num_categories; ++c)
        out->cut[c] = __atomic_load_n(&s[KEY_WORDS + 1 + c], __ATOMIC_ACQUIRE);
}

int
gw_revoke_find(const gw_revoke_t *t, const uint32_t key[4], gw_revocation_t *out)
{
    if (gw_revoke_count(t) == 0)
        return 0;
    const uint32_t *s = probe(t, key);
    if (__atomic_load_n(&s[0], __ATOMIC_ACQUIRE) == 0)
        return 0;
    read_slot(t, s, out);
    return 1;
}

uint16_t
gw_revoke_taken(const gw_revocation_t *r, size_t num_categories, uint64_t issued)
{
    uint16_t taken = 0;
    for (size_t c = 0; c != num_categories && c != GW_REVOKE_CATEGORIES; ++c)
        if (r->cut[c] != 0 && issued <= r->cut[c])
            taken |= (uint16_t)(1u << c);
    return taken;
}

void
gw_revoke_decide(gw_revocation_t *r, size_t num_categories, uint16_t refused, uint16_t granted, uint32_t when)
{
    for (size_t c = 0; c != num_categories && c != GW_REVOKE_CATEGORIES; ++c) {
        if ((refused & (1u << c)) != 0) {
            if (r->cut[c] < when)
                r->cut[c] = when;
        } else if ((granted & (1u << c)) != 0 && r->cut[c] != 0 && r->cut[c] >= when) {
            r->cut[c] = when - 1;
        }
    }
}

void
gw_revoke_erase(gw_revocation_t *r, size_t num_categories, uint16_t optional, uint32_t when)
{
    gw_revoke_decide(r, num_categories, optional, 0, when);
    if (r->erased < when)
        r->erased = when;
}

uint32_t
gw_revoke_newest(const gw_revocation_t *r, size_t num_categories)
{
    uint32_t newest = r->erased;
    for (size_t c = 0; c != num_categories && c != GW_REVOKE_CATEGORIES; ++c)
        if (r->cut[c] > newest)
            newest = r->cut[c];
    return newest;
}

int
gw_revoke_set(gw_revoke_t *t, const uint32_t key[4], const gw_revocation_t *r)
{
    uint32_t *s = probe(t, key);
    int fresh = s[0] == 0;
    if (fresh && t->count >= t->limit)
        return -1;
    __atomic_store_n(&s[KEY_WORDS], r->erased, __ATOMIC_RELEASE);
    for (size_t c = 0; c != t->num_categories; ++c)
        __atomic_store_n(&s[KEY_WORDS + 1 + c], r->cut[c], __ATOMIC_RELEASE);
    if (fresh) {
        for (size_t w = 1; w != KEY_WORDS; ++w)
            __atomic_store_n(&s[w], key[w], __ATOMIC_RELAXED);
        __atomic_store_n(&s[0], key[0], __ATOMIC_RELEASE);
        __atomic_store_n(&t->count, t->count + 1, __ATOMIC_RELEASE);
    }
    return 0;
}

gw_revoke_t *
gw_revoke_copy(const gw_revoke_t *t, size_t min_entries, uint32_t keep_from)
{
    gw_revoke_t *n = gw_revoke_new(t->num_categories, min_entries > t->count ? min_entries : t->count);
    if (n == NULL)
        return NULL;
    for (size_t i = 0; i <= t->mask; ++i) {
        const uint32_t *s = slot_at(t, i);
        gw_revocation_t r;
        if (s[0] == 0)
            continue;
        read_slot(t, s, &r);
        if (gw_revoke_newest(&r, t->num_categories) >= keep_from)
            gw_revoke_set(n, s, &r); /* (sized for them all: cannot fail) */
    }
    return n;
}
