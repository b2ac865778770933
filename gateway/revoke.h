/*
 * revoke — revocations: what a visitor's later decisions took back from the consent tokens issued before them.
 *
 * The consent token is stateless, so a copy of an old one (another browser profile that synced the cookie jar, a
 * restored backup, a script replaying the cookie) would go on granting what the visitor has since refused. A
 * revocation is kept per visitor whose decision refused what an earlier token of theirs granted, and per erased
 * visitor: for each category the last second in which a decision refused it (a token issued in or before that second
 * no longer grants it), and the second of the erasure (a token issued in or before it names nobody).
 *
 * The table is keyed by a keyed hash of the visitor id (gw_revoke_key: HMAC-SHA256 under a salt the consent store
 * keeps, truncated to 128 bits), never by the id. One thread writes it (the consent store's writer); any number read
 * it without a lock: open addressing with linear probing, entries are only added or overwritten in place (every word
 * an atomic store, the slot's first key word last, with release), never removed: a purge or a growth builds a new
 * table (gw_revoke_copy) that the writer publishes as a snapshot (qsbr.h). A reader that sees an entry half-updated
 * sees each time either before or after the update: both are times some decision made.
 *
 * Memory: (5 + number of categories) * 4 bytes a slot (36 with the 4 default categories, 84 with 16); a table is full at
 * 3/4 of its slots and grows to twice as many, so a visitor takes 4/3 to 8/3 slots: 48-96 bytes with 4 categories.
 */
#ifndef GW_REVOKE_H
#define GW_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include "token.h"

#define GW_REVOKE_CATEGORIES 16

/* the times of one visitor's revocation (Unix seconds; 0: none) */
typedef struct st_gw_revocation_t {
    uint32_t erased;                    /* tokens issued in or before this second predate the visitor's erasure */
    uint32_t cut[GW_REVOKE_CATEGORIES]; /* tokens issued in or before cut[i] do not grant category i */
} gw_revocation_t;

typedef struct st_gw_revoke_t gw_revoke_t;

/* The table's key of a visitor id: HMAC-SHA256(k, visitor) truncated to 128 bits (its first word never 0). No allocation. */
void gw_revoke_key(const gw_token_key_t *k, const uint8_t visitor[16], uint32_t key[4]);

/* A table for num_categories (1..GW_REVOKE_CATEGORIES) that holds min_entries before it must grow. NULL when out of
 * memory. */
gw_revoke_t *gw_revoke_new(size_t num_categories, size_t min_entries);
void gw_revoke_free(gw_revoke_t *t);

/* entries in t (any thread; 0 for NULL) */
size_t gw_revoke_count(const gw_revoke_t *t);

/* Reader (any thread, lock-free, no allocation): 1 and *out filled when key has an entry, 0 when not. */
int gw_revoke_find(const gw_revoke_t *t, const uint32_t key[4], gw_revocation_t *out);

/* The categories a token issued at `issued` no longer grants, by r (num_categories of them). */
uint16_t gw_revoke_taken(const gw_revocation_t *r, size_t num_categories, uint64_t issued);

/* A decision made in second `when` that refuses `refused` and grants `granted`: the refused categories are cut at
 * `when`; a granted one cut in `when` or later (the same second: a withdrawal and then a consent) is cut at when - 1, so
 * the token this decision issues keeps it while those of the seconds before stay cut. */
void gw_revoke_decide(gw_revocation_t *r, size_t num_categories, uint16_t refused, uint16_t granted, uint32_t when);

/* An erasure in second `when`: every category in `optional` is cut and the visitor's tokens until then name nobody. */
void gw_revoke_erase(gw_revocation_t *r, size_t num_categories, uint16_t optional, uint32_t when);

/* The newest time in r (the purge drops an entry whose newest time no token still in force can predate). */
uint32_t gw_revoke_newest(const gw_revocation_t *r, size_t num_categories);

/* Writer (one thread): adds or overwrites key's entry. Returns 0, or -1 when t is full (3/4 of its slots): copy it into
 * a larger one. */
int gw_revoke_set(gw_revoke_t *t, const uint32_t key[4], const gw_revocation_t *r);

/* Writer: a new table holding t's entries whose newest time is at least keep_from (0: all), with room for min_entries.
 * NULL when out of memory. */
gw_revoke_t *gw_revoke_copy(const gw_revoke_t *t, size_t min_entries, uint32_t keep_from);

#endif
