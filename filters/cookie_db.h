/*
 * cookie_db — cookie name -> consent category, for the per-request Cookie/Set-Cookie filter.
 *
 * Built once at load time (conf/cookies.json, generated from the Open Cookie Database by
 * conf/gen_cookies.py, plus the operator's cookies.overrides), then read-only: lookups
 * take no lock, allocate nothing and never scan the entries. A reload builds a new db and
 * swaps the pointer; the old one is freed once no reader holds it.
 *
 * Patterns: an exact cookie name ("_ga"), or a prefix written with a trailing '*' ("_ga_*"
 * matches every name starting with "_ga_", "_ga_" itself included; the Open Cookie
 * Database's wildcardMatch = "1"). Names are case-sensitive bytes (RFC 6265 §5.3 step 11
 * compares them as strings). Precedence, first match wins:
 *   1. operator override, exact   2. operator override, longest prefix
 *   3. database, exact            4. database, longest prefix        5. unlisted (-1)
 * Lookup cost: one hash probe sequence (open addressing, load <= 1/2) and one binary search
 * among the prefixes sharing the name's first byte, per tier.
 */
#ifndef GW_COOKIE_DB_H
#define GW_COOKIE_DB_H

#include <stddef.h>

/* at most this many categories (index = bit in the consent bitmask) */
#define GW_COOKIE_DB_MAX_CATEGORIES 16
/* longest pattern accepted (a cookie's name + value is at most 4096 bytes) */
#define GW_COOKIE_DB_MAX_PATTERN 4096
/* largest cookies.json read */
#define GW_COOKIE_DB_MAX_FILE (16 * 1024 * 1024)

typedef struct st_gw_cookie_db_t gw_cookie_db_t;

typedef struct st_gw_cookie_db_stats_t {
    size_t exact, prefix; /* database entries */
    size_t override_exact, override_prefix;
    size_t skipped_category; /* file entries whose category is not configured */
} gw_cookie_db_stats_t;

/* a category of the file that is none of the db's (nor mapped): its entries were skipped */
typedef struct st_gw_cookie_db_skipped_t {
    char *category; /* the file's name for it */
    char *example;  /* the first entry's name (a pattern: "_ga", "_hj*") */
    size_t count;   /* entries skipped */
} gw_cookie_db_skipped_t;

/* the skipped categories remembered, each with its count; others are counted in skipped_category only */
#define GW_COOKIE_DB_MAX_SKIPPED 8

/*
 * Creates an empty db for the given ordered category names (copied; index i is category i).
 * Returns NULL when ncategories is 0 or over GW_COOKIE_DB_MAX_CATEGORIES, a name is NULL,
 * empty or repeated, or memory runs out. Free with gw_cookie_db_free().
 */
gw_cookie_db_t *gw_cookie_db_new(const char *const *categories, size_t ncategories);

/*
 * Adds the entries of a cookies.json file (format: see conf/gen_cookies.py):
 *   {"source": {...}, "notes": [...], "cookies": [{"name": "_ga_*", "category": "analytics",
 *    "platform": "..."}, ...]}
 * "cookies" is required; "source" and "notes" are free-form; any other key is an error, as
 * are a wrong type, an invalid name (see gw_cookie_db_add) and a name listed twice.
 * Entries whose category is not one of the db's categories are skipped and counted
 * (gw_cookie_db_stats().skipped_category): a site that configures fewer categories must
 * still load the shipped file. Loading twice adds both files (a name in both is an error).
 * Returns 0, or -1 with "file:line:col: message" (or "file: cannot open: reason") in
 * err[0..errlen) (err may be NULL). After -1 the db holds part of the file: free it.
 */
int gw_cookie_db_load_file(gw_cookie_db_t *db, const char *path, char *err, size_t errlen);

/*
 * Entries of a file loaded after this call whose category is `from` get category index `category` instead: a site that
 * names a category differently ("statistics" for the file's "analytics") keeps the file's classification. A mapping
 * wins over a category of the same name. Returns 0, or -1 when from is empty or mapped already, the index is out of
 * range, GW_COOKIE_DB_MAX_CATEGORIES mappings exist, or on ENOMEM.
 */
int gw_cookie_db_map_category(gw_cookie_db_t *db, const char *from, int category);

/* what an operator's prefix takes from the database (gw_cookie_db_shadowed) */
typedef struct st_gw_cookie_db_shadowed_t {
    const char *example; /* the bytewise smallest such pattern (a prefix pattern without its '*'), owned by the db */
    size_t example_len;
    int example_category;
    size_t count;
} gw_cookie_db_shadowed_t;

/*
 * The database's patterns (exact names, and prefixes without their '*') that start with prefix[0..len) and are of
 * another category than `category`: the names an override prefix of that category takes from the database (override
 * tier first). Fills *out (count 0: none) and returns the count. Linear in the database's size: for load time only.
 */
size_t gw_cookie_db_shadowed(const gw_cookie_db_t *db, const char *prefix, size_t len, int category, gw_cookie_db_shadowed_t *out);

/*
 * The file categories whose entries were skipped (neither a category of the db nor mapped), in the order first met:
 * *n of them (at most GW_COOKIE_DB_MAX_SKIPPED), owned by the db.
 */
const gw_cookie_db_skipped_t *gw_cookie_db_skipped(const gw_cookie_db_t *db, size_t *n);

/*
 * Adds one pattern: pattern[0..len) is a name, or a prefix when it ends in '*'. With
 * is_override != 0 it goes into the operator tier, which beats every database entry.
 * Adding a pattern already present in the same tier replaces its category.
 * Returns 0, or -1 when the category is out of range, the pattern is empty, "*" alone,
 * longer than GW_COOKIE_DB_MAX_PATTERN, has a blank at either end or contains ';', '=',
 * a control byte or a '*' before its end (no cookie name could match it), or on ENOMEM.
 * Not thread-safe: call before the db is shared.
 */
int gw_cookie_db_add(gw_cookie_db_t *db, const char *pattern, size_t len, int category, int is_override);

/*
 * Returns the category index for the cookie name name[0..len), or -1 when unlisted.
 * Pure and lock-free on a db that is no longer being added to; no allocation. name may
 * be NULL when len == 0 (-1).
 */
int gw_cookie_db_lookup(const gw_cookie_db_t *db, const char *name, size_t len);

/* Name of category i (owned by the db), or NULL when out of range. */
const char *gw_cookie_db_category_name(const gw_cookie_db_t *db, int i);

/* Number of categories given to gw_cookie_db_new(). */
size_t gw_cookie_db_num_categories(const gw_cookie_db_t *db);

/* Fills *out with entry counts (for logs and /admin/metrics). */
void gw_cookie_db_stats(const gw_cookie_db_t *db, gw_cookie_db_stats_t *out);

/* Frees the db and everything it owns. NULL is a no-op. */
void gw_cookie_db_free(gw_cookie_db_t *db);

#endif
