/*
 * config — the gateway's configuration: one JSON file, validated completely at load.
 *
 * The file is parsed with jansson and converted into the plain C structs below; nothing
 * on the request path ever touches JSON. Every problem (syntax, unknown key, wrong type,
 * bad value, missing file) is reported as "file:line:column: message", and all defaults
 * live in gw_config_defaults() so there is exactly one place that says what they are.
 * Relative paths are resolved against the config file's folder; the shipped cookie
 * database is found relative to the executable.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define GW_MAX_LISTEN 16
#define GW_MAX_CATEGORIES 16
#define GW_CATEGORY_NAME_MAX 32 /* bytes of a category's name */
#define GW_MAX_LISTS 64
#define GW_MAX_ENDPOINTS 64
#define GW_MAX_REGIME_RULES 256
#define GW_MAX_PROXIES 64

typedef enum en_gw_regime_t { GW_REGIME_OPT_IN = 0, GW_REGIME_OPT_OUT = 1, GW_REGIME_NOTICE = 2 } gw_regime_t;
typedef enum en_gw_list_format_t { GW_FMT_DOMAINS, GW_FMT_HOSTS, GW_FMT_ABP, GW_FMT_URLS } gw_list_format_t;
typedef enum en_gw_risk_action_t { GW_RISK_BLOCK, GW_RISK_WARN, GW_RISK_MONITOR, GW_RISK_ALLOW } gw_risk_action_t;

typedef struct st_gw_listen_conf_t {
    char *host;
    uint16_t port;
    char *tls_cert; /* NULL: plain HTTP (HTTP/1.1 and h2c) */
    char *tls_key;
    int proxy_protocol; /* a TCP load balancer's PROXY header (v1 or v2) comes first and names the client */
} gw_listen_conf_t;

/* one spelling per address, into out (INET6_ADDRSTRLEN bytes): no host is 0.0.0.0, "localhost" 127.0.0.1, IPv6 as
 * inet_ntop writes it */
void gw_listen_canon_host(const gw_listen_conf_t *l, char *out, size_t len);

typedef struct st_gw_list_conf_t {
    char *name;
    char *file;
    gw_list_format_t format;
    int category;            /* trackers: index into categories */
    gw_risk_action_t action; /* risk lists */
} gw_list_conf_t;

typedef struct st_gw_config_t {
    char *path; /* the config file as given */
    char *dir;  /* its folder, for relative paths */
    unsigned char digest[32]; /* SHA-256 of the file's bytes (gw_config_load): a reload tells an edited file */

    gw_listen_conf_t listen[GW_MAX_LISTEN];
    size_t num_listen;
    unsigned threads;

    char *upstream; /* "http://host:port[/path]" */
    struct {
        uint64_t io_timeout_ms;
        uint64_t keepalive_timeout_ms;
        size_t max_request_body;
        unsigned max_connections;
        uint64_t send_timeout_ms; /* a response the client takes nothing of for this long is ended (gateway/sendwatch.c) */
    } proxy;

    struct {
        gw_listen_conf_t listen;
        char *tokens_file; /* NULL: admin listener disabled */
    } admin;

    struct {
        char *access;        /* NULL: no access log */
        char *access_format; /* h2o's log format; NULL: the minimised default (main.c) */
        char *error;  /* NULL: stderr */
        int level;    /* GW_LOG_* */
    } log;

    char *secrets_file;
    struct {
        uint32_t version;
        unsigned consent_max_age_days;
        char *url; /* the site's privacy policy ("{lang}" stands for the UI's language), linked from the UI; NULL: none */
    } policy;

    char *categories[GW_MAX_CATEGORIES];
    size_t num_categories;

    struct {
        gw_regime_t def;
        struct {
            char key[8]; /* "CN", "US-CA", "EU" */
            gw_regime_t regime;
        } rules[GW_MAX_REGIME_RULES];
        size_t num_rules;
        uint32_t gpc_refuses; /* bitmask of categories */
    } regimes;

    struct {
        char *database; /* NULL: no geo lookup, everyone gets regimes.def */
        char *trusted_proxies[GW_MAX_PROXIES];
        size_t num_trusted_proxies;
    } geoip;

    struct {
        char *sqlite;
        unsigned retention_days;
        unsigned commit_delay_ms; /* a small commit waits this long for more (0: never) */
        unsigned queue_max;       /* operations waiting for the writer; beyond it 503 at once */
        unsigned rate_per_minute; /* record writes per client address per minute (per worker thread); 0: no limit */
    } store;

    int report_only; /* enforcement: "report-only" */

    struct {
        int csp; /* 0 off, 1 report-only, 2 enforce */
        char *csp_sources[16];
        size_t num_csp_sources;
        uint64_t hsts_max_age; /* seconds; 0: no Strict-Transport-Security */
        int link_shim;         /* wrap outbound links in /__go */
        char *audit_log;
        unsigned report_rate_per_minute;
        unsigned report_retention_days; /* injection reports kept this long (at most store.retention_days) */
        unsigned reports_max;           /* … and at most this many, the newest */
    } channel;

    struct {
        struct {
            char *lang, *key, *value;
        } * strings; /* operator overrides of UI strings */
        size_t num_strings;
    } ui;

    struct {
        int rewrite;       /* stream HTML pages through the rewriter (trackers, nonces, banner) */
        int inject_banner; /* inject the consent UI before </head> */
        int google_consent_mode;    /* the visitor's choice as Google Consent Mode's default, before the page's first script */
        int microsoft_consent_mode; /* … and as Microsoft UET's */
        unsigned memo_kb;  /* per worker thread: rewritten pages remembered (gateway/memo.h); 0: none */
    } html;

    struct {
        char *database;
        int unknown_category;
        struct {
            char *name;
            int category;
        } overrides[256];
        size_t num_overrides;
        int secure_under_tls;
        struct {
            char *from; /* a category of the cookie database ("analytics") */
            int category; /* read as this one of categories ("statistics") */
        } database_categories[GW_MAX_CATEGORIES];
        size_t num_database_categories;
    } cookies;

    struct {
        struct {
            char *path;
            int category;
        } endpoints[GW_MAX_ENDPOINTS];
        size_t num_endpoints;
        int ping_category;
    } beacons;

    struct {
        gw_list_conf_t lists[GW_MAX_LISTS];
        size_t num_lists;
        int configured; /* the key was present (an empty list turns the defaults off) */
    } trackers, risk;
} gw_config_t;

/* Sets every default. Called by gw_config_load before reading the file. */
void gw_config_defaults(gw_config_t *conf);

/*
 * Loads and validates the file at `path` into *conf (which it initialises).
 * Returns 0 on success; -1 with a "file:line:column: message" (or "file: message" when no
 * position applies) in err[0..errlen) on any error. On error *conf may hold partial state:
 * release it with gw_config_free either way.
 */
int gw_config_load(gw_config_t *conf, const char *path, char *err, size_t errlen);

/*
 * Warns (gw_warn) about what parses and is likely not what was meant: values in range written in another unit (seconds
 * for milliseconds, KB for bytes, days for seconds), settings that hold nothing back (report-only, unknown cookies as
 * "necessary"), the GDPR's countries left other than opt-in, a listener on :: alone (IPv6 only). At the start and by
 * --check-config.
 */
void gw_config_warn(const gw_config_t *conf);

/* Same as gw_config_load, over an in-memory text (`name` is used in messages and `dir` for relative paths). */
int gw_config_load_text(gw_config_t *conf, const char *name, const char *dir, const char *text, size_t len, char *err,
                        size_t errlen);

/* Returns the index of the named category, or -1. */
int gw_config_category(const gw_config_t *conf, const char *name);

void gw_config_free(gw_config_t *conf);

#endif
