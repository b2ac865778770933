/*
 * abp — tracker-list matcher for the network-rule subset of Adblock Plus / uBlock Origin
 * filter syntax (EasyPrivacy, EasyList).
 *
 * The gateway answers beacons and neutralises tracker tags of categories the visitor has
 * not granted. Which URL is a tracker is decided by real filter lists: each list is loaded
 * under one category index chosen by the caller (EasyPrivacy -> "analytics", EasyList ->
 * "marketing"), and several lists go into one matcher.
 *
 * Two phases. A builder parses lists (a whole buffer, a file, or chunks split anywhere)
 * and reports per list what it loaded, what it skipped (cosmetic, regex, unsupported
 * options, popup-only, inside a false `!#if`) and what was malformed, with line numbers.
 * gw_abp_builder_finish() turns it into an immutable matcher: any number of threads may
 * call gw_abp_match() on it concurrently without locks; matching allocates nothing and
 * makes no system call. A rule this parser does not fully understand is never loaded, so a
 * loaded rule never matches more than the list meant it to.
 *
 * Semantics and the index are described at the top of abp.c.
 */
#ifndef GW_ABP_H
#define GW_ABP_H

#include <stddef.h>
#include <stdint.h>

/* Longest list line accepted (bytes, without the line break); longer lines are malformed.
 * The longest line of EasyPrivacy / EasyList (a $domain= list) is about 5.5 KiB. */
#define GW_ABP_MAX_LINE 16384
/* Categories are bit positions in gw_abp_result_t.categories. */
#define GW_ABP_MAX_CATEGORIES 32
/* How many skipped and how many malformed lines a gw_abp_stats_t keeps for reporting. */
#define GW_ABP_REPORT_MAX 20
/* Bytes of a reported line kept (including the terminating NUL). */
#define GW_ABP_REPORT_TEXT 128
/* gw_abp_result_t.rule / .exception when there is none. */
#define GW_ABP_NO_RULE UINT32_MAX

/* Resource type of a request, as uBlock's type options name them. */
typedef enum en_gw_abp_type_t {
    GW_ABP_OTHER = 0,
    GW_ABP_IMAGE,       /* $image */
    GW_ABP_SCRIPT,      /* $script */
    GW_ABP_PING,        /* $ping, $beacon: <a ping>, navigator.sendBeacon */
    GW_ABP_XHR,         /* $xmlhttprequest, $xhr: fetch() and XMLHttpRequest */
    GW_ABP_SUBDOCUMENT, /* $subdocument, $frame: <iframe src> */
    GW_ABP_STYLESHEET,  /* $stylesheet, $css */
    GW_ABP_FONT,        /* $font */
    GW_ABP_MEDIA,       /* $media */
    GW_ABP_OBJECT,      /* $object */
    GW_ABP_WEBSOCKET,   /* $websocket */
    GW_ABP_DOCUMENT,    /* $document, $doc: top-level navigation; only rules naming it apply */
    GW_ABP_TYPE_COUNT
} gw_abp_type_t;

/* What happened to one line. Values below GW_ABP_SKIP_COSMETIC are not rules at all. */
typedef enum en_gw_abp_reason_t {
    GW_ABP_LOADED = 0,
    GW_ABP_COMMENT,          /* blank line, "! …", "# …", "[Adblock Plus 2.0]", "!#if" directives */
    GW_ABP_SKIP_COSMETIC,    /* ##, #@#, #?#, #$#, ##+js(…), ##^, $$ … : element hiding, scriptlets */
    GW_ABP_SKIP_REGEX,       /* /…/ pattern, or a /…/ value in $domain= */
    GW_ABP_SKIP_OPTION,      /* an option this matcher does not implement ($redirect=, $csp=, $removeparam, …) */
    GW_ABP_SKIP_POPUP,       /* applies to popups only, which the gateway never sees */
    GW_ABP_SKIP_CONDITIONAL, /* inside a false "!#if" block */
    GW_ABP_BAD_TOO_LONG,     /* longer than GW_ABP_MAX_LINE */
    GW_ABP_BAD_CONTROL,      /* control byte (other than HTAB) or a blank inside the pattern */
    GW_ABP_BAD_EMPTY,        /* nothing to match: "@@", "||", "|", "*" without options */
    GW_ABP_BAD_OPTION,       /* empty option or value, "~" on an option that takes none, contradictions */
    GW_ABP_BAD_DIRECTIVE,    /* "!#else" / "!#endif" without "!#if", or nesting too deep */
    GW_ABP_REASON_COUNT
} gw_abp_reason_t;

/* One reported line: its 1-based number, why, and its first GW_ABP_REPORT_TEXT - 1 bytes. */
typedef struct st_gw_abp_line_report_t {
    unsigned line;
    gw_abp_reason_t reason;
    char text[GW_ABP_REPORT_TEXT]; /* NUL-terminated, truncated */
} gw_abp_line_report_t;

/* Per-list load statistics, filled by gw_abp_builder_end(). Caller-owned, no cleanup. */
typedef struct st_gw_abp_stats_t {
    size_t lines;                                             /* lines seen (a final line without '\n' counts) */
    size_t loaded;                                            /* network rules loaded, exceptions included */
    size_t exceptions;                                        /* of which @@ rules */
    size_t ignored;                                           /* comments, blank lines, headers, directives */
    size_t skipped;                                           /* sum of the GW_ABP_SKIP_* counts */
    size_t malformed;                                         /* sum of the GW_ABP_BAD_* counts */
    size_t by_reason[GW_ABP_REASON_COUNT];                    /* line count per reason */
    size_t n_skipped_report;                                  /* entries used in skipped_report */
    size_t n_malformed_report;                                /* entries used in malformed_report */
    gw_abp_line_report_t skipped_report[GW_ABP_REPORT_MAX];   /* first skipped rules */
    gw_abp_line_report_t malformed_report[GW_ABP_REPORT_MAX]; /* first malformed lines */
} gw_abp_stats_t;

typedef struct st_gw_abp_builder_t gw_abp_builder_t;
typedef struct st_gw_abp_t gw_abp_t;

/* One request to decide. All strings are (pointer, length), need no NUL and are only read
 * during the call. */
typedef struct st_gw_abp_request_t {
    const char *url; /* absolute URL: scheme://host[:port]/path?query (fragment optional) */
    size_t url_len;
    /* The URL's host (no port, any case). Optional: NULL means "parse it from url". When
     * given it must equal the URL's host case-insensitively, else gw_abp_match() fails. */
    const char *host;
    size_t host_len;
    /* Host of the page (document origin) that makes the request. Empty for a top-level
     * navigation: the request's own host is then the context ($domain=, party). */
    const char *page_host;
    size_t page_host_len;
    gw_abp_type_t type;
    /* 1 third-party, 0 first-party, -1 let the matcher decide by registrable domain
     * (computed only if a candidate rule has a party option). */
    int third_party;
} gw_abp_request_t;

typedef struct st_gw_abp_result_t {
    int matched;         /* 1: a block rule applies and no exception overrides it */
    int overridden;      /* 1: block rules matched but an @@ exception overrode them all */
    uint32_t categories; /* bit c set: a block rule of category c matched and still applies */
    unsigned category;   /* category of `rule` (0 when rule == GW_ABP_NO_RULE) */
    /* The reported block rule: the first (in load order) still-applying one if matched,
     * else the first overridden one; GW_ABP_NO_RULE if no block rule matched. */
    uint32_t rule;
    uint32_t exception;    /* the first overriding @@ rule, or GW_ABP_NO_RULE */
    const char *rule_text; /* the reported rule's line as written in the list; NULL if none */
    size_t rule_text_len;  /* pointers stay valid while the matcher lives */
} gw_abp_result_t;

/* One loaded rule, for reporting (gw_abp_rule()). */
typedef struct st_gw_abp_rule_info_t {
    const char *text; /* the line as written, without line break; not NUL-terminated */
    size_t text_len;
    const char *list; /* the list's name given to gw_abp_builder_begin(), NUL-terminated */
    unsigned line;    /* 1-based line number in that list */
    unsigned category;
    int exception; /* 1 for @@ rules */
} gw_abp_rule_info_t;

/* Matcher totals (gw_abp_info()). */
typedef struct st_gw_abp_info_t {
    size_t rules;       /* loaded rules still active */
    size_t exceptions;  /* of which @@ rules */
    size_t host_rules;  /* "||host^" rules found through the host table */
    size_t token_rules; /* rules found through the token table */
    size_t untokened;   /* rules checked for every URL (no usable token) */
    size_t disabled;    /* rules removed by a $badfilter rule */
    size_t badfilters;  /* the $badfilter rules themselves (loaded, never match) */
    size_t bytes;       /* heap bytes owned by the matcher (without libpsl's data) */
} gw_abp_info_t;

/* ---- building ---------------------------------------------------------------------- */

/* Returns a new empty builder, or NULL when out of memory. Free it with
 * gw_abp_builder_free() or consume it with gw_abp_builder_finish(). */
gw_abp_builder_t *gw_abp_builder_new(void);

/* Frees the builder and everything it holds; NULL is a no-op. */
void gw_abp_builder_free(gw_abp_builder_t *b);

/*
 * Starts a list whose rules get category `category` (< GW_ABP_MAX_CATEGORIES). name (may be
 * NULL: "") is copied and used for reporting. Returns 0, or -1 if a list is already open,
 * the category is out of range, or memory runs out.
 */
int gw_abp_builder_begin(gw_abp_builder_t *b, unsigned category, const char *name);

/*
 * Feeds the next chunk of the open list. Chunks may split the text anywhere (inside a line,
 * between '\r' and '\n'); the result is the same as one feed of the whole text. Lines end
 * at '\n'; a '\r' before it and blanks around the line are dropped. buf may be NULL only
 * when len == 0. Returns 0, or -1 when no list is open or memory runs out (the list's
 * rules so far stay in the builder; call gw_abp_builder_end() or free the builder).
 */
int gw_abp_builder_feed(gw_abp_builder_t *b, const char *buf, size_t len);

/*
 * Ends the open list (a last line without '\n' counts) and, if stats is not NULL, fills
 * it. Returns 0, or -1 when no list is open or memory runs out.
 */
int gw_abp_builder_end(gw_abp_builder_t *b, gw_abp_stats_t *stats);

/* begin + feed(buf, len) + end. Returns 0 or -1 as those do. */
int gw_abp_builder_add_buffer(gw_abp_builder_t *b, const char *buf, size_t len, unsigned category, const char *name,
                              gw_abp_stats_t *stats);

/* begin + feed(the file's contents) + end; name NULL means the path. Returns 0, or -1 with
 * errno set when the file cannot be read (nothing of it is kept then). */
int gw_abp_builder_add_file(gw_abp_builder_t *b, const char *path, unsigned category, const char *name, gw_abp_stats_t *stats);

/*
 * Consumes the builder (always: it is freed, even on failure) and returns the immutable
 * matcher, or NULL when b is NULL, a list is still open, or memory runs out. Applies
 * $badfilter rules across all lists, builds the indexes and loads the public suffix list
 * (psl_latest(NULL): Debian's publicsuffix file, or libpsl's builtin copy).
 */
gw_abp_t *gw_abp_builder_finish(gw_abp_builder_t *b);

/* Frees the matcher; NULL is a no-op. No gw_abp_match() may be running on it. */
void gw_abp_free(gw_abp_t *m);

/* ---- matching ---------------------------------------------------------------------- */

/*
 * Decides one request. Fills *out (always, when m, req and out are not NULL) and returns
 * out->matched (0 or 1), or -1 when an argument is NULL, req->type is out of range, or
 * req->host does not equal the URL's host. Thread-safe, lock-free, allocation-free.
 * Cost: a few hash probes per URL token and per host label, plus the candidate rules.
 */
int gw_abp_match(const gw_abp_t *m, const gw_abp_request_t *req, gw_abp_result_t *out);

/*
 * Same contract and result as gw_abp_match(), but checks every rule in load order without
 * the indexes. A reference for tests and fuzzing; far too slow for the request path.
 */
int gw_abp_match_linear(const gw_abp_t *m, const gw_abp_request_t *req, gw_abp_result_t *out);

/*
 * Returns 1 when hosts a and b (any case, no port) belong to different sites (registrable
 * domains by the public suffix list; an IP literal or a public suffix is its own site), 0
 * when they share one, 0 when b is empty (top-level navigation). m must not be NULL.
 */
int gw_abp_third_party(const gw_abp_t *m, const char *a, size_t a_len, const char *b, size_t b_len);

/* Fills *out for rule idx (as in gw_abp_result_t). Returns 0, or -1 if idx is out of range
 * (disabled rules keep their index) or an argument is NULL. */
int gw_abp_rule(const gw_abp_t *m, uint32_t idx, gw_abp_rule_info_t *out);

/* Fills *out with the matcher's totals. */
void gw_abp_info(const gw_abp_t *m, gw_abp_info_t *out);

/* Returns a static English description of a reason, "?" for an unknown value. */
const char *gw_abp_reason_str(gw_abp_reason_t reason);

/* Returns the option name of a type ("image", "xmlhttprequest", …), "?" if out of range. */
const char *gw_abp_type_str(gw_abp_type_t type);

#endif
