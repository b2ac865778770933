/*
 * risk — the security team's high-risk-site lists: parsing, lookup, and the snapshots the
 * request path reads while the admin side replaces them.
 *
 * A list (gw_risk_list_t) is one immutable object built from text in one of four formats
 * (gw_list_format_t, see gw_risk_list_parse). Its entries are
 *   - host entries: a normalised domain name, which covers the domain and all its
 *     subdomains (single labels and public suffixes included: they are taken as written),
 *     or an IP literal, which matches that address only;
 *   - URL entries: a host and a path prefix ("example.com/phish/login"). From the `urls`
 *     format they match that exact host only (a URL names one site); from `abp` rules
 *     (`||host/path`) they also match subdomains, as Adblock's `||` anchor does.
 * A set (gw_risk_set_t) is an immutable, ordered array of lists; the request path checks
 * a host (and path) against the set currently published, with no lock and no allocation.
 * Verdict precedence: an `allow` list match wins over everything; otherwise the strongest
 * action wins (block > warn > monitor); among lists of the same action, the first in set
 * order wins; within the winning list, the most specific entry (the longest host) is
 * reported.
 *
 * Hosts are normalised the same way for entries and lookups (gw_risk_normalize_host):
 * ASCII lower case, one trailing dot removed, Unicode lowered and NFKC-normalised by
 * libpsl (to a fixed point, UTS #46 "ignored" code points such as U+00AD dropped first),
 * then punycoded (RFC 3492), so `BÜCHER.example`, `bücher.example` and
 * `xn--bcher-kva.example` are one name; IPv4 in any form a browser accepts (WHATWG URL
 * standard: `0x7f.1`, `2130706433`) becomes dotted decimal; IPv6 is printed canonically.
 *
 * Public suffixes: a lookup probes the host and every parent domain, down to the single
 * top-level label. Below the public suffix (libpsl) these are ordinary parents; at and
 * above it they can only match an entry a list names explicitly (`github.io`, `uk`), since
 * the table holds nothing else, so `evil.github.io` listed never blocks `good.github.io`.
 * libpsl is consulted at load time only, to flag entries that are public suffixes
 * (reported in gw_risk_list_info_t.suffix_entries and in the verdict).
 *
 * Matching: a name matches a host entry when their 62-bit keys (hashes) are equal; the
 * entry's text is not read on the lookup path (one memory round trip per listed host
 * instead of two). Loading compares texts, so no two entries of a list are taken for one;
 * a clean name could be taken for a listed one only if their keys collide (~2^-62 per
 * probe): the error can flag a name, never let a listed name pass.
 *
 * Snapshots: readers call gw_risk_check() on gw_snap_load(&slot) inside one event-loop
 * callback (see gateway/qsbr.h). Writers (admin API, SIGHUP, CLI) use the gw_risk_set_*
 * helpers below, which build the new object off the request path, publish it with
 * gw_snap_publish(), wait with gw_qsbr_synchronize() and only then free what the old set
 * held alone. Writers are serialised by one internal mutex; they must not run on a thread
 * that is itself a qsbr reader (it would wait for itself).
 */
#ifndef GW_RISK_H
#define GW_RISK_H

#include <stddef.h>
#include <stdint.h>
#include "config.h" /* gw_list_format_t, gw_risk_action_t */

/* longest normalised host name (RFC 1035 §2.3.4, textual form without the root dot) */
#define GW_RISK_HOST_MAX 253
/* longest path of a URL entry */
#define GW_RISK_PATH_MAX 2048
/* longest list line; longer lines are rejected */
#define GW_RISK_LINE_MAX 4096
/* largest list file read */
#define GW_RISK_FILE_MAX (256 * 1024 * 1024)
/* rejected lines kept (with their text) in a report */
#define GW_RISK_REJECTS_KEPT 20
#define GW_RISK_DIFF_KEPT 50
#define GW_RISK_DIFF_TEXT 4096
/* bytes of a rejected line's text kept (cut at a UTF-8 boundary) */
#define GW_RISK_REJECT_TEXT 200
/* most lists in a set */
#define GW_RISK_MAX_LISTS GW_MAX_LISTS

/* gw_risk_normalize_host() flags */
#define GW_RISK_NORM_LOOKUP 1 /* accept any byte a URL host may hold, not only LDH (see below) */

typedef enum en_gw_risk_host_kind_t { GW_RISK_HOST_NAME, GW_RISK_HOST_IPV4, GW_RISK_HOST_IPV6 } gw_risk_host_kind_t;

typedef struct st_gw_risk_list_t gw_risk_list_t;
typedef struct st_gw_risk_set_t gw_risk_set_t;

typedef struct st_gw_risk_str_t {
    const char *base;
    size_t len;
} gw_risk_str_t;

typedef struct st_gw_risk_reject_t {
    size_t line;   /* 1-based line of the text, or index in add[] / remove[] for edits */
    int in_remove; /* edits: 1 when the item came from remove[] */
    char text[GW_RISK_REJECT_TEXT + 1];
} gw_risk_reject_t;

/* What a parse or an edit did. All counters are zero-filled by the functions that fill it. */
typedef struct st_gw_risk_report_t {
    size_t lines;           /* lines (or edit items) read */
    size_t entries;         /* distinct entries in the resulting list */
    size_t entries_before;  /* replace, reload, edit: entries of the list it replaced */
    size_t added;           /* entries added by this parse or edit (duplicates not counted) */
    size_t removed;         /* edits: entries removed */
    size_t not_found;       /* edits: remove[] items that named no entry */
    size_t duplicates;      /* entries already present */
    size_t skipped;         /* valid syntax the engine does not use: abp cosmetic and exception rules,
                               generic patterns, wildcards, context options; hosts-file boilerplate */
    size_t options_ignored; /* abp rules taken with type/party options ignored (`$doc`, `$all`, `$3p`) */
    size_t rejected;        /* malformed lines */
    size_t num_kept;        /* entries used in kept[] (the first GW_RISK_REJECTS_KEPT rejected lines) */
    gw_risk_reject_t kept[GW_RISK_REJECTS_KEPT];
    size_t num_not_found_kept; /* edits: entries used in not_found_kept[] (the first GW_RISK_REJECTS_KEPT of not_found) */
    char not_found_kept[GW_RISK_REJECTS_KEPT][GW_RISK_REJECT_TEXT + 1]; /* as the list holds entries: host, or host + path */
    /* replace, reload (gw_risk_list_diff): added and removed are the entries the new list has and the old one had not,
     * and the reverse; the first of each (at most GW_RISK_DIFF_KEPT, as far as GW_RISK_DIFF_TEXT bytes go) are kept
     * here as list lines, each ended by '\n' */
    size_t diff_kept[2];            /* [0] added, [1] removed: lines in diff_text[] */
    size_t diff_len[2];
    char diff_text[2][GW_RISK_DIFF_TEXT];
} gw_risk_report_t;

typedef struct st_gw_risk_list_info_t {
    const char *name; /* owned by the list */
    gw_list_format_t format;
    gw_risk_action_t action;
    size_t entries; /* host + URL entries */
    size_t hosts, ips, urls;
    size_t suffix_entries; /* host entries that are public suffixes: they cover a whole registry */
    uint64_t version;      /* 0 until placed in a set; +1 on every replace */
    int64_t updated_at_ms; /* Unix time of the last replace (0 until placed in a set) */
    size_t memory_bytes;   /* table, arena, URL groups, filter and header */
} gw_risk_list_info_t;

typedef struct st_gw_risk_verdict_t {
    int listed;              /* 0: no list matched (the other fields are zero) */
    gw_risk_action_t action; /* the winning list's action; GW_RISK_ALLOW means "allowed" */
    size_t list_index;       /* its position in the set */
    const char *list;        /* its name */
    const char *matched;     /* the matched entry, NUL-terminated: "host" or "host/path" (in matched_name or in
                                the list: valid while the set is) */
    size_t matched_len;
    int matched_is_suffix; /* the matched entry is a public suffix */
    char matched_name[GW_RISK_HOST_MAX + 1]; /* a matched host entry's name (last: not cleared as a whole) */
} gw_risk_verdict_t;

/* ---- hosts ---------------------------------------------------------------------------- */

/*
 * Normalises the host in[0..len) into out (at least GW_RISK_HOST_MAX + 1 bytes; written
 * NUL-terminated) and stores its kind in *kind (may be NULL). Accepts a trailing dot,
 * IPv6 with or without brackets (no zone id), IPv4 in WHATWG forms, Unicode in UTF-8.
 * Without flags (list entries) every label of a name must be 1..63 bytes of [a-z0-9_-]
 * after lowering and punycoding, and not start or end with '-' (RFC 1123; '_' is in real
 * lists, e.g. `x_x-site.translate.goog`). With GW_RISK_NORM_LOOKUP, labels may hold any byte a
 * URL host may hold (e.g. '_'), so that a host no entry could name still has its parents
 * looked up, and the host is percent-decoded first, as browsers do ("ev%69l.example" is
 * evil.example); the WHATWG forbidden bytes (controls, space, # % / : < > ? @ [ \ ] ^ |, DEL)
 * are rejected in both modes (so is a '%' that does not start an escape). An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) comes out as the IPv4 address it reaches, of kind IPV4. The result
 * of either mode is a fixed point of it.
 * Returns the output length (1..GW_RISK_HOST_MAX), or -1 when the input is not a host.
 * ASCII input allocates nothing; Unicode input is lowered by libpsl, which allocates.
 * Thread-safe.
 */
int gw_risk_normalize_host(const char *in, size_t len, int flags, char *out, gw_risk_host_kind_t *kind);

/* ---- lists (pure: no I/O, no shared state) ---------------------------------------------- */

/*
 * Parses the list text buf[0..len) (buf may be NULL when len is 0) into a new list named
 * name (copied) with the given format and action. Formats, one item per line, CRLF or LF,
 * an optional UTF-8 BOM:
 *   domains  `example.com`, `1.2.3.4`, `2001:db8::1`; `#` starts a comment (whole line or
 *            after a blank).
 *   hosts    `0.0.0.0 host [host...]` / `127.0.0.1 host ...` (also `::` and `::1`);
 *            `#` comments; localhost, broadcasthost, ip6-* and other boilerplate names are
 *            skipped; another address mapping a real host is rejected (not a block entry).
 *            As in uBlock, a name covers its subdomains like any host entry.
 *   abp      `||host^`, `||host`, `||host/path`, `||host/path^` (`^`: the path must end at
 *            a separator), each optionally followed by `$options`; a bare host line, as
 *            uBlock accepts. Type and party options (`doc`, `all`, `script`, `3p`,
 *            `match-case`, ...) are ignored and counted; rules with other options
 *            (`domain=`, `to=`, `ipaddress=`, `redirect=`, `badfilter`, ...), wildcards,
 *            host prefixes (`||name.$doc`, `||name-`, a single label without `^`),
 *            exceptions (`@@`), cosmetic filters (`##`) and non-`||` patterns are skipped
 *            and counted; `!`, `[...]` and `# ` lines are comments.
 *   urls     `[scheme://]host[:port]/path[?query]`; the port is ignored, `#fragment` is
 *            dropped, no path means `/`; `#` comments (whole line or after a blank).
 * The leading block of comment and blank lines (at most 8 KiB) is kept and written back by
 * gw_risk_list_serialize(), so a licence header survives edits. Malformed lines never stop
 * the parse: they are counted in report->rejected, the first GW_RISK_REJECTS_KEPT with
 * their line number and text. report may be NULL.
 * Returns the list (free with gw_risk_list_free() unless a set took it), or NULL on
 * ENOMEM, a NULL or empty name, or an unknown format/action. Thread-safe; allocates.
 */
gw_risk_list_t *gw_risk_list_parse(const char *name, gw_list_format_t format, gw_risk_action_t action, const char *buf, size_t len,
                                   gw_risk_report_t *report);

/*
 * Builds a new list from old: its entries, minus each entry named by remove[], plus the
 * entries of add[], in old's format (each item is one line of that format, e.g. `||host^`
 * for abp). Items are matched after normalisation, so removing `BÜCHER.example` removes
 * `xn--bcher-kva.example`. Rejected items are reported with line = index + 1 and
 * in_remove set for remove[] items. old is not changed. Returns the new list (version and
 * timestamp are stamped when it is placed in a set), or NULL on ENOMEM.
 */
gw_risk_list_t *gw_risk_list_edit(const gw_risk_list_t *old, const gw_risk_str_t *add, size_t nadd, const gw_risk_str_t *remove,
                                  size_t nremove, gw_risk_report_t *report);

/*
 * Serialises list in its own format: the kept header, then one entry per line in list
 * order (the order of the text, then of additions). Ignored abp options are not written.
 * Parsing the result yields the same entries. Returns a malloc'd NUL-terminated buffer
 * (its length in *len when len is not NULL) that the caller frees, or NULL on ENOMEM.
 */
char *gw_risk_list_serialize(const gw_risk_list_t *list, size_t *len);

/* Fills *info about list (pointers stay valid as long as the list). */
void gw_risk_list_info(const gw_risk_list_t *list, gw_risk_list_info_t *info);

/* Frees a list that no set holds. NULL is a no-op. */
void gw_risk_list_free(gw_risk_list_t *list);

/*
 * Reads the file at path and parses it as gw_risk_list_parse() does. Returns 0 with the
 * new list in *out, or -1 with "path: reason" in err[0..errlen) (err may be NULL) when the
 * file cannot be read, is larger than GW_RISK_FILE_MAX, or has rejected lines and no
 * entry at all (a truncated or wrong file, not an intended empty list); *out is then NULL.
 */
int gw_risk_list_load_file(const char *path, const char *name, gw_list_format_t format, gw_risk_action_t action,
                           gw_risk_list_t **out, gw_risk_report_t *report, char *err, size_t errlen);

/*
 * Replaces the file at path with buf[0..len) atomically: writes a temporary file in the
 * same folder (mode of the existing file, else 0644), fsyncs it, renames it over path and
 * fsyncs the folder. Returns 0; 1 when the file was replaced but the folder's fsync failed
 * (the content is in place, its rename may not survive a crash; err says so), so callers
 * go on with the list the file now holds; or -1 with "path: reason" in err (the old file
 * is intact). A path that is a symbolic link (a list kept by a feed job or configuration
 * management that links to its current download) is followed: the file it points to is
 * replaced, in that file's folder, and the link stays a link.
 */
/*
 * What replacing old with next changes, into rep: added and removed (counts of entries, as a set: order, duplicates and
 * comments aside) and the first of each in diff_kept/diff_len/diff_text. The host entries: both tables' keys merged in
 * order, a chunk of each at a time (O(n), ~30-40 ms of CPU for a 1M-entry list and its successor, no memory of that
 * size); URL entries: one lookup each in the other list.
 */
void gw_risk_list_diff(const gw_risk_list_t *old, const gw_risk_list_t *next, gw_risk_report_t *rep);

int gw_risk_file_write(const char *path, const char *buf, size_t len, char *err, size_t errlen);

/* ---- sets ------------------------------------------------------------------------------- */

/*
 * Creates a set of the n lists (n <= GW_RISK_MAX_LISTS, names distinct), taking ownership
 * of them on success; lists without a version get version 1 and the current time.
 * Returns NULL (the lists stay the caller's) on ENOMEM, too many lists or a repeated name.
 * n == 0 gives an empty set (every host is clean).
 */
gw_risk_set_t *gw_risk_set_new(gw_risk_list_t *const *lists, size_t n);

/* Frees a set and the lists only it holds. Only for sets no reader can see. NULL: no-op. */
void gw_risk_set_free(gw_risk_set_t *set);

/* Number of lists; the list at index i (NULL when out of range); the list named name (NULL if none). */
size_t gw_risk_set_size(const gw_risk_set_t *set);
const gw_risk_list_t *gw_risk_set_list(const gw_risk_set_t *set, size_t i);
const gw_risk_list_t *gw_risk_set_find(const gw_risk_set_t *set, const char *name, size_t *index);

/*
 * Checks host[0..len) (any case, Unicode or punycode, IP literal, with or without
 * brackets and trailing dot) and the request path path[0..path_len) (the path and query of
 * the URL, already normalised by the caller, e.g. h2o_url_normalize_path(); NULL or empty
 * means "/") against every list of set. Host entries match the host or a parent domain;
 * IP entries match the same address only; URL entries match when their path is an
 * ASCII-case-insensitive prefix of path (see gw_risk_list_parse for `^`). set may be NULL
 * (clean). Fills *out (pointers into the set: valid until the reader's next quiescent
 * state). Returns 1 when a list matched, 0 when clean, -1 when host is not a host name
 * (out says clean; the caller decides, e.g. refuses to redirect). Cost: one hash of the
 * host, then at most (number of labels) probes per list, cache-prefetched; no lock and no
 * allocation for ASCII hosts (Unicode hosts: see gw_risk_normalize_host).
 */
int gw_risk_check(const gw_risk_set_t *set, const char *host, size_t len, const char *path, size_t path_len,
                  gw_risk_verdict_t *out);

/* ---- writers: build, publish, wait for readers, free (see the file comment) ----------------
 * *slot is the pointer readers load with gw_snap_load(). Each function either installs the
 * new state or leaves the old one in force and returns -1 with a reason in err (may be
 * NULL). They block for one qsbr grace period. */

/* Sets a list's version and update time before it is placed in a set (a restart continuing the versions the audit
 * log recorded); a list placed with version 0 starts at 1, now. */
void gw_risk_list_set_version(gw_risk_list_t *list, uint64_t version, int64_t updated_at_ms);

/* Replaces the list of the same name with list (taking it on success; version = old + 1). */
int gw_risk_set_replace(gw_risk_set_t **slot, gw_risk_list_t *list, char *err, size_t errlen);

/* Installs set as a whole (e.g. after a config reload) and frees the old one; set may be NULL. */
void gw_risk_set_swap(gw_risk_set_t **slot, gw_risk_set_t *set);

/*
 * Reloads list `name` from path. A file that vanished, cannot be read, holds only rejected
 * lines or no entry at all (truncated: 0 bytes, only comments) while the list in force has
 * entries keeps the last good list in force (returns -1).
 */
int gw_risk_set_reload(gw_risk_set_t **slot, const char *name, const char *path, gw_risk_report_t *report, char *err,
                       size_t errlen);

/*
 * Replaces list `name` by the text buf[0..len) (admin PUT). When path is not NULL the text
 * is first written to it verbatim with gw_risk_file_write(); a failed write leaves
 * everything as it was (a write whose folder fsync alone failed counts as done: 0, with the
 * warning in err). Text with rejected lines and no entry is refused (-1), and so is text
 * with no entry that would empty a list with entries, unless allow_empty. -2: the text was
 * fine but not taken (out of memory, or the list file could not be written): the server's
 * fault, not the caller's.
 */
int gw_risk_set_put(gw_risk_set_t **slot, const char *name, const char *buf, size_t len, int allow_empty, const char *path,
                    gw_risk_report_t *report, char *err, size_t errlen);

/*
 * Applies add[] / remove[] to list `name` (admin POST entries; see gw_risk_list_edit) and,
 * when path is not NULL, persists the serialised result first. An edit that adds and
 * removes nothing changes nothing (0, report->added == report->removed == 0). The read of the current
 * list and the replace happen under the writer lock, so concurrent edits are not lost. -1 as
 * gw_risk_set_put (an unknown list), -2 out of memory or the file not written.
 */
int gw_risk_set_edit(gw_risk_set_t **slot, const char *name, const gw_risk_str_t *add, size_t nadd, const gw_risk_str_t *remove,
                     size_t nremove, const char *path, gw_risk_report_t *report, char *err, size_t errlen);

/* Name of a format / an action ("domains", "block", ...); "?" when out of range. */
const char *gw_risk_format_name(gw_list_format_t format);
const char *gw_risk_action_name(gw_risk_action_t action);

#endif
