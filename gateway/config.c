/*
 * config — load and validate consentgate.json. See config.h.
 *
 * The loader walks the jansson tree with a path stack (keys and array indices). Every
 * error goes through fail(), which turns the path back into a line and column with
 * jsonpos (jansson keeps no positions for values) and formats "file:line:col: path: msg".
 * Each object is first checked for unknown keys, then each known key is read by a typed
 * getter that validates the range. First error wins; nothing is started on error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/sha.h>
#include "config.h"
#include "jsonpos.h"
#include "log.h"
#include "mem.h"

#define MAX_DEPTH 12

typedef struct st_loader_t {
    const char *name, *dir, *text;
    size_t len;
    gw_jsonpos_seg_t path[MAX_DEPTH];
    size_t depth;
    char *err;
    size_t errlen;
    gw_config_t *conf;
} loader_t;

static void push_key(loader_t *ld, const char *key)
{
    if (ld->depth < MAX_DEPTH)
        ld->path[ld->depth] = (gw_jsonpos_seg_t){key, 0};
    ++ld->depth;
}

static void push_index(loader_t *ld, size_t index)
{
    if (ld->depth < MAX_DEPTH)
        ld->path[ld->depth] = (gw_jsonpos_seg_t){NULL, index};
    ++ld->depth;
}

static void pop(loader_t *ld)
{
    --ld->depth;
}

/* "listen[0].tls.cert" */
static void format_path(const loader_t *ld, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i != ld->depth && i != MAX_DEPTH && n < cap; ++i) {
        const gw_jsonpos_seg_t *s = ld->path + i;
        int w = s->key != NULL ? snprintf(buf + n, cap - n, "%s%s", i == 0 ? "" : ".", s->key)
                               : snprintf(buf + n, cap - n, "[%zu]", s->index);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* Records an error at the current path (at its key when at_key). Always returns -1. */
static int fail(loader_t *ld, int at_key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(loader_t *ld, int at_key, const char *fmt, ...)
{
    char msg[512], where[256];
    gw_jsonpos_t pos = {1, 1};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    format_path(ld, where, sizeof(where));
    size_t depth = ld->depth < MAX_DEPTH ? ld->depth : MAX_DEPTH;
    if (gw_jsonpos_find(ld->text, ld->len, ld->path, depth, at_key, &pos) != 0)
        pos = (gw_jsonpos_t){1, 1};
    snprintf(ld->err, ld->errlen, "%s:%u:%u: %s%s%s", ld->name, pos.line, pos.column, where, where[0] != '\0' ? ": " : "", msg);
    return -1;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Fails on the first member of obj whose name is not in allowed (NULL-terminated). */
static int check_keys(loader_t *ld, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        const char *const *a;
        for (a = allowed; *a != NULL; ++a)
            if (strcmp(*a, key) == 0)
                break;
        if (*a == NULL) {
            char list[256];
            size_t n = 0;
            for (a = allowed; *a != NULL && n < sizeof(list); ++a) {
                int w = snprintf(list + n, sizeof(list) - n, "%s%s", a == allowed ? "" : ", ", *a);
                n += w > 0 ? (size_t)w : 0;
            }
            push_key(ld, key);
            fail(ld, 1, "unknown key (allowed here: %s)", list);
            pop(ld);
            return -1;
        }
    }
    return 0;
}

/* --- typed getters: each reads obj[key] when present (or must be present when required) --- */

static json_t *member(loader_t *ld, json_t *obj, const char *key, json_type type, int required, int *rc)
{
    json_t *v = json_object_get(obj, key);
    *rc = 0;
    if (v == NULL) {
        if (required)
            *rc = fail(ld, 0, "missing required key \"%s\"", key);
        return NULL;
    }
    int ok = json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v));
    if (!ok) {
        static const char *const want[] = {"an object", "an array", "a string", "an integer", "a number", "a boolean", "a boolean",
                                           "null"};
        push_key(ld, key);
        *rc = fail(ld, 0, "must be %s, not %s", want[type], type_name(v));
        pop(ld);
        return NULL;
    }
    return v;
}

static int get_uint(loader_t *ld, json_t *obj, const char *key, uint64_t min, uint64_t max, int required, uint64_t *out)
{
    int rc;
    json_t *v = member(ld, obj, key, JSON_INTEGER, required, &rc);
    if (v == NULL)
        return rc;
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i < min || (uint64_t)i > max) {
        push_key(ld, key);
        rc = fail(ld, 0, "must be in %llu..%llu, not %lld", (unsigned long long)min, (unsigned long long)max, (long long)i);
        pop(ld);
        return rc;
    }
    *out = (uint64_t)i;
    return 0;
}

static int get_bool(loader_t *ld, json_t *obj, const char *key, int *out)
{
    int rc;
    json_t *v = member(ld, obj, key, JSON_TRUE, 0, &rc);
    if (v != NULL)
        *out = json_is_true(v);
    return rc;
}

static int get_string(loader_t *ld, json_t *obj, const char *key, int required, char **out)
{
    int rc;
    json_t *v = member(ld, obj, key, JSON_STRING, required, &rc);
    if (v == NULL)
        return rc;
    if (json_string_length(v) == 0 || strlen(json_string_value(v)) != json_string_length(v)) {
        push_key(ld, key);
        rc = fail(ld, 0, "must be a non-empty string without NUL bytes");
        pop(ld);
        return rc;
    }
    free(*out);
    *out = strdup(json_string_value(v));
    return 0;
}

/* a path relative to the config file's folder; must_exist: the file must be readable now */
static int get_path(loader_t *ld, json_t *obj, const char *key, int required, int must_exist, char **out)
{
    char *raw = NULL;
    int rc = get_string(ld, obj, key, required, &raw);
    if (rc != 0 || raw == NULL)
        return rc;
    free(*out);
    if (raw[0] == '/' || ld->dir == NULL) {
        *out = raw;
    } else {
        size_t n = strlen(ld->dir) + strlen(raw) + 2;
        *out = malloc(n);
        snprintf(*out, n, "%s/%s", ld->dir, raw);
        free(raw);
    }
    struct stat st;
    if (must_exist && access(*out, R_OK) != 0) {
        int e = errno;
        push_key(ld, key);
        rc = fail(ld, 0, "cannot read %s: %s", *out, strerror(e));
        pop(ld);
    } else if (stat(*out, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* a file's path, not its folder's (read as a file, a folder is an empty one: a tokens file of no token started
         * an admin API that accepted nobody; elsewhere the start failed after --check-config had said "valid") */
        push_key(ld, key);
        rc = fail(ld, 0, "%s is a directory: name a file (in it)", *out);
        pop(ld);
    }
    return rc;
}

/* a string that must be one of names[0..n); index into *out */
static int get_enum(loader_t *ld, json_t *obj, const char *key, const char *const *names, size_t n, int *out)
{
    char *s = NULL;
    int rc = get_string(ld, obj, key, 0, &s);
    if (rc != 0 || s == NULL)
        return rc;
    for (size_t i = 0; i != n; ++i) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            free(s);
            return 0;
        }
    }
    char list[256];
    size_t len = 0;
    for (size_t i = 0; i != n && len < sizeof(list); ++i) {
        int w = snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i == 0 ? "" : ", ", names[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    push_key(ld, key);
    rc = fail(ld, 0, "\"%s\" is not one of %s", s, list);
    pop(ld);
    free(s);
    return rc;
}

static int get_category(loader_t *ld, json_t *obj, const char *key, int *out)
{
    return get_enum(ld, obj, key, (const char *const *)ld->conf->categories, ld->conf->num_categories, out);
}

/* --- sections --- */

static const char *const regime_names[] = {"opt-in", "opt-out", "notice"};
static const char *const format_names[] = {"domains", "hosts", "abp", "urls"};
static const char *const action_names[] = {"block", "warn", "monitor", "allow"};

static int load_hostport(loader_t *ld, json_t *obj, gw_listen_conf_t *l, int allow_tls)
{
    static const char *const keys[] = {"host", "port", "tls", "proxy_protocol", NULL};
    static const char *const keys_notls[] = {"host", "port", NULL};
    uint64_t port = 0;
    json_t *tls;
    int rc;

    if (check_keys(ld, obj, allow_tls ? keys : keys_notls) != 0)
        return -1;
    if (get_string(ld, obj, "host", 0, &l->host) != 0 || get_uint(ld, obj, "port", 1, 65535, 1, &port) != 0 ||
        (allow_tls && get_bool(ld, obj, "proxy_protocol", &l->proxy_protocol) != 0))
        return -1;
    l->port = (uint16_t)port;
    if (l->host != NULL) {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, l->host, buf) != 1 && inet_pton(AF_INET6, l->host, buf) != 1 && strcmp(l->host, "localhost") != 0) {
            push_key(ld, "host");
            rc = fail(ld, 0, "\"%s\" is not an IPv4 or IPv6 address", l->host);
            pop(ld);
            return rc;
        }
    }
    if ((tls = member(ld, obj, "tls", JSON_OBJECT, 0, &rc)) != NULL) {
        static const char *const tls_keys[] = {"cert", "key", NULL};
        push_key(ld, "tls");
        rc = check_keys(ld, tls, tls_keys) == 0 && get_path(ld, tls, "cert", 1, 1, &l->tls_cert) == 0 &&
                     get_path(ld, tls, "key", 1, 1, &l->tls_key) == 0
                 ? 0
                 : -1;
        pop(ld);
    }
    return rc;
}

static int load_listen(loader_t *ld, json_t *root)
{
    int rc;
    json_t *arr = member(ld, root, "listen", JSON_ARRAY, 1, &rc), *v;
    size_t i;
    if (arr == NULL)
        return rc;
    push_key(ld, "listen");
    if (json_array_size(arr) == 0 || json_array_size(arr) > GW_MAX_LISTEN) {
        rc = fail(ld, 0, "must list 1..%d listeners", GW_MAX_LISTEN);
        goto Exit;
    }
    json_array_foreach(arr, i, v)
    {
        push_index(ld, i);
        if (!json_is_object(v)) {
            rc = fail(ld, 0, "must be an object like {\"host\": \"127.0.0.1\", \"port\": 8080}");
        } else {
            rc = load_hostport(ld, v, ld->conf->listen + i, 1);
            ld->conf->num_listen = i + 1;
        }
        pop(ld);
        if (rc != 0)
            goto Exit;
    }
Exit:
    pop(ld);
    return rc;
}

static int load_upstream(loader_t *ld, json_t *root)
{
    gw_config_t *c = ld->conf;
    if (get_string(ld, root, "upstream", 1, &c->upstream) != 0)
        return -1;
    /* http://host[:port][/path] — the proxy speaks HTTP/1.1 to the origin */
    const char *u = c->upstream, *host, *p;
    if (strncmp(u, "http://", 7) != 0) {
        push_key(ld, "upstream");
        fail(ld, 0, "\"%s\": only http:// upstream URLs are supported", u);
        pop(ld);
        return -1;
    }
    host = u + 7;
    if (*host == '[') { /* an IPv6 literal, as h2o's URL parser takes it: [::1] */
        char addr[INET6_ADDRSTRLEN];
        unsigned char buf[sizeof(struct in6_addr)];
        const char *close = strchr(host, ']');
        if (close == NULL || (size_t)(close - host - 1) >= sizeof(addr))
            goto Bad;
        memcpy(addr, host + 1, (size_t)(close - host - 1));
        addr[close - host - 1] = '\0';
        if (inet_pton(AF_INET6, addr, buf) != 1)
            goto Bad;
        p = close + 1;
    } else {
        for (p = host; *p != '\0' && *p != '/' && *p != ':'; ++p)
            if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || *p == '.' || *p == '-'))
                break;
        if (p == host)
            goto Bad;
    }
    if (*p != '\0' && *p != '/' && *p != ':')
        goto Bad;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/'))
            goto Bad;
    }
    return 0;
Bad:
    push_key(ld, "upstream");
    fail(ld, 0, "\"%s\" is not a URL of the form http://host[:port][/path]", u);
    pop(ld);
    return -1;
}

static int load_object(loader_t *ld, json_t *root, const char *key, const char *const *keys, json_t **out)
{
    int rc;
    *out = member(ld, root, key, JSON_OBJECT, 0, &rc);
    if (*out == NULL)
        return rc;
    push_key(ld, key);
    rc = check_keys(ld, *out, keys);
    if (rc != 0)
        pop(ld);
    return rc; /* on success the caller pops */
}

static int load_proxy(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"io_timeout_ms", "keepalive_timeout_ms", "max_request_body", "max_connections",
                                       "send_timeout_ms", NULL};
    gw_config_t *c = ld->conf;
    json_t *o;
    uint64_t v;
    int rc;
    if ((rc = load_object(ld, root, "proxy", keys, &o)) != 0 || o == NULL)
        return rc;
    v = c->proxy.io_timeout_ms;
    rc = get_uint(ld, o, "io_timeout_ms", 1, 3600000, 0, &v);
    c->proxy.io_timeout_ms = v;
    v = c->proxy.keepalive_timeout_ms;
    if (rc == 0)
        rc = get_uint(ld, o, "keepalive_timeout_ms", 0, 3600000, 0, &v);
    c->proxy.keepalive_timeout_ms = v;
    v = c->proxy.max_request_body;
    if (rc == 0)
        rc = get_uint(ld, o, "max_request_body", 4096, (uint64_t)1 << 30, 0, &v); /* (below the consent API's own 4 KiB, it
                                                                                      would refuse every consent) */
    c->proxy.max_request_body = (size_t)v;
    v = c->proxy.max_connections;
    if (rc == 0)
        rc = get_uint(ld, o, "max_connections", 1, 1000000, 0, &v);
    c->proxy.max_connections = (unsigned)v;
    v = c->proxy.send_timeout_ms;
    if (rc == 0)
        rc = get_uint(ld, o, "send_timeout_ms", 1000, 3600000, 0, &v);
    c->proxy.send_timeout_ms = v;
    pop(ld);
    return rc;
}

static int load_admin(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"listen", "tokens_file", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *l;
    int rc;
    if ((rc = load_object(ld, root, "admin", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((l = member(ld, o, "listen", JSON_OBJECT, 0, &rc)) != NULL) {
        push_key(ld, "listen");
        rc = load_hostport(ld, l, &c->admin.listen, 0);
        pop(ld);
    }
    if (rc == 0 && (rc = get_path(ld, o, "tokens_file", 1, 1, &c->admin.tokens_file)) != 0 && c->admin.tokens_file != NULL &&
        access(c->admin.tokens_file, F_OK) != 0) {
        /* the first start of an installed example config: no tokens file is shipped (a shipped token is everyone's) */
        size_t n = strlen(ld->err);
        snprintf(ld->err + n, ld->errlen - n, " (make one, a \"name:token\" line per person: printf 'ops:%%s\\n' \"$(openssl rand "
                 "-hex 24)\" > %s && chmod 600 %s)", c->admin.tokens_file, c->admin.tokens_file);
    }
    pop(ld);
    return rc;
}

static int load_log(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"access", "access_format", "error", "level", NULL};
    static const char *const levels[] = {"debug", "info", "warn", "error"};
    gw_config_t *c = ld->conf;
    json_t *o;
    int rc;
    if ((rc = load_object(ld, root, "log", keys, &o)) != 0 || o == NULL)
        return rc;
    rc = get_path(ld, o, "access", 0, 0, &c->log.access) == 0 && get_string(ld, o, "access_format", 0, &c->log.access_format) == 0 &&
                 get_path(ld, o, "error", 0, 0, &c->log.error) == 0 &&
                 get_enum(ld, o, "level", levels, 4, &c->log.level) == 0
             ? 0
             : -1;
    pop(ld);
    return rc;
}

/* the privacy policy's address: https://…, http://… or a path on the site ("/privacy"; not "//host", another site's),
 * printable ASCII without quotes, angle brackets, backslashes or blanks (it goes into the UI's pages and links) */
static int valid_policy_url(const char *u)
{
    size_t n = strlen(u);
    if (n > 2048 || !((u[0] == '/' && u[1] != '/' && u[1] != '\\') || strncasecmp(u, "https://", 8) == 0 ||
                      strncasecmp(u, "http://", 7) == 0))
        return 0;
    for (; *u != '\0'; ++u)
        if (*u <= 0x20 || *u >= 0x7f || strchr("\"'<>\\`", *u) != NULL)
            return 0;
    return 1;
}

static int load_policy(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"version", "consent_max_age_days", "url", NULL};
    gw_config_t *c = ld->conf;
    json_t *o;
    uint64_t v1 = c->policy.version, v2 = c->policy.consent_max_age_days;
    int rc;
    if ((rc = load_object(ld, root, "policy", keys, &o)) != 0 || o == NULL)
        return rc;
    rc = get_uint(ld, o, "version", 1, UINT32_MAX, 0, &v1) == 0 && get_uint(ld, o, "consent_max_age_days", 1, 3650, 0, &v2) == 0 &&
                 get_string(ld, o, "url", 0, &c->policy.url) == 0
             ? 0
             : -1;
    c->policy.version = (uint32_t)v1;
    c->policy.consent_max_age_days = (unsigned)v2;
    if (rc == 0 && c->policy.url != NULL && !valid_policy_url(c->policy.url)) {
        push_key(ld, "url");
        rc = fail(ld, 0, "\"%s\" is not an http(s) URL or a path on this site (\"/privacy\"); \"{lang}\" in it stands for the "
                         "visitor's language", c->policy.url);
        pop(ld);
    }
    pop(ld);
    return rc;
}

static int valid_category_name(const char *s)
{
    if (*s == '\0' || strlen(s) > GW_CATEGORY_NAME_MAX)
        return 0;
    for (; *s != '\0'; ++s)
        if (!(('a' <= *s && *s <= 'z') || ('0' <= *s && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static int load_categories(loader_t *ld, json_t *root)
{
    gw_config_t *c = ld->conf;
    json_t *arr, *v;
    size_t i;
    int rc, has_necessary = 0;
    if ((arr = member(ld, root, "categories", JSON_ARRAY, 0, &rc)) == NULL)
        return rc;
    push_key(ld, "categories");
    if (json_array_size(arr) == 0 || json_array_size(arr) > GW_MAX_CATEGORIES) {
        rc = fail(ld, 0, "must list 1..%d categories", GW_MAX_CATEGORIES);
        goto Exit;
    }
    for (i = 0; i != c->num_categories; ++i)
        free(c->categories[i]);
    c->num_categories = 0;
    json_array_foreach(arr, i, v)
    {
        push_index(ld, i);
        const char *name = json_string_value(v);
        if (name == NULL) {
            rc = fail(ld, 0, "must be a category name (a string), not %s", type_name(v));
        } else if (!valid_category_name(name)) {
            rc = fail(ld, 0, "\"%s\": category names are 1..32 of a-z, 0-9, '_', '-'", name);
        } else if (gw_config_category(c, name) >= 0) {
            rc = fail(ld, 0, "duplicate category \"%s\"", name);
        } else {
            c->categories[c->num_categories++] = gw_strdup(name);
            has_necessary |= strcmp(name, "necessary") == 0;
        }
        pop(ld);
        if (rc != 0)
            goto Exit;
    }
    if (!has_necessary)
        rc = fail(ld, 0, "must include \"necessary\" (it is always granted)");
Exit:
    pop(ld);
    return rc;
}

static int valid_regime_key(const char *k)
{
    size_t n = strlen(k);
    if (n < 2 || !('A' <= k[0] && k[0] <= 'Z') || !('A' <= k[1] && k[1] <= 'Z'))
        return 0;
    if (n == 2)
        return 1;
    if (k[2] != '-' || n < 4 || n > 6)
        return 0;
    for (size_t i = 3; i != n; ++i)
        if (!(('A' <= k[i] && k[i] <= 'Z') || ('0' <= k[i] && k[i] <= '9')))
            return 0;
    return strncmp(k, "EU", 2) != 0;
}

/* what a by_country key that names no country meant to say: "UK" and "EL" (the EU's own abbreviations) place no
 * visitor, so the United Kingdom's and Greece's got regimes.default, and the EEA is not a group the database knows */
static const char *regime_key_mistake(const char *k)
{
    static const char *const mistakes[][2] = {{"UK", "the United Kingdom is \"GB\""},
                                              {"EL", "Greece is \"GR\""},
                                              {"EEA", "the EEA is no group: name \"EU\", \"IS\", \"LI\" and \"NO\""}};
    for (size_t i = 0; i != sizeof(mistakes) / sizeof(mistakes[0]); ++i)
        if (strcmp(k, mistakes[i][0]) == 0)
            return mistakes[i][1];
    return NULL;
}

static int category_mask(loader_t *ld, json_t *arr, uint32_t *out)
{
    json_t *v;
    size_t i;
    *out = 0;
    json_array_foreach(arr, i, v)
    {
        int cat = json_is_string(v) ? gw_config_category(ld->conf, json_string_value(v)) : -1;
        if (cat < 0 || strcmp(json_string_value(v), "necessary") == 0) {
            push_index(ld, i);
            fail(ld, 0, cat < 0 ? "not a configured category" : "\"necessary\" is always granted: a signal cannot refuse it");
            pop(ld);
            return -1;
        }
        *out |= 1u << cat;
    }
    return 0;
}

static int load_regimes(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"default", "by_country", "gpc_refuses", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *by, *arr, *v;
    const char *key;
    int rc, def = (int)c->regimes.def;
    if ((rc = load_object(ld, root, "regimes", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((rc = get_enum(ld, o, "default", regime_names, 3, &def)) != 0)
        goto Exit;
    c->regimes.def = (gw_regime_t)def;
    if ((by = member(ld, o, "by_country", JSON_OBJECT, 0, &rc)) != NULL) {
        push_key(ld, "by_country");
        json_object_foreach(by, key, v)
        {
            int r = 0;
            const char *mistake = regime_key_mistake(key);
            if (mistake != NULL) {
                push_key(ld, key);
                rc = fail(ld, 1, "\"%s\" is not an ISO 3166-1 code: %s", key, mistake);
                pop(ld);
                break;
            }
            if (!valid_regime_key(key) || c->regimes.num_rules == GW_MAX_REGIME_RULES) {
                push_key(ld, key);
                rc = fail(ld, 1, "\"%s\": keys are ISO 3166-1 codes (\"CN\"), subdivisions (\"US-CA\") or \"EU\"", key);
                pop(ld);
                break;
            }
            if ((rc = get_enum(ld, by, key, regime_names, 3, &r)) != 0)
                break;
            snprintf(c->regimes.rules[c->regimes.num_rules].key, sizeof(c->regimes.rules[0].key), "%s", key);
            c->regimes.rules[c->regimes.num_rules++].regime = (gw_regime_t)r;
        }
        pop(ld);
        if (rc != 0)
            goto Exit;
    } else if (rc != 0) {
        goto Exit;
    }
    if ((arr = member(ld, o, "gpc_refuses", JSON_ARRAY, 0, &rc)) != NULL) {
        push_key(ld, "gpc_refuses");
        rc = category_mask(ld, arr, &c->regimes.gpc_refuses);
        pop(ld);
    }
Exit:
    pop(ld);
    return rc;
}

static int valid_cidr(const char *s)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
    unsigned char addr[16];
    int family;
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1)
        family = 32;
    else if (inet_pton(AF_INET6, buf, addr) == 1)
        family = 128;
    else
        return 0;
    if (slash == NULL)
        return 1;
    char *end;
    long bits = strtol(slash + 1, &end, 10); /* a long, not narrowed: "/4294967328" is not /32 */
    return end != slash + 1 && *end == '\0' && bits >= 0 && bits <= family;
}

static int load_geoip(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"database", "trusted_proxies", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *arr, *v;
    size_t i;
    int rc;
    if ((rc = load_object(ld, root, "geoip", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((rc = get_path(ld, o, "database", 0, 1, &c->geoip.database)) != 0)
        goto Exit;
    if ((arr = member(ld, o, "trusted_proxies", JSON_ARRAY, 0, &rc)) != NULL) {
        push_key(ld, "trusted_proxies");
        json_array_foreach(arr, i, v)
        {
            push_index(ld, i);
            if (!json_is_string(v) || !valid_cidr(json_string_value(v)) || i == GW_MAX_PROXIES)
                rc = fail(ld, 0, "must be an address or CIDR prefix such as \"10.0.0.0/8\" or \"::1/128\"");
            else
                c->geoip.trusted_proxies[c->geoip.num_trusted_proxies++] = gw_strdup(json_string_value(v));
            pop(ld);
            if (rc != 0)
                break;
        }
        pop(ld);
    }
Exit:
    pop(ld);
    return rc;
}

static int load_store(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"sqlite", "retention_days", "commit_delay_ms", "queue_max", "rate_per_minute", NULL};
    gw_config_t *c = ld->conf;
    json_t *o;
    uint64_t days = c->store.retention_days, delay = c->store.commit_delay_ms, queue = c->store.queue_max,
             rate = c->store.rate_per_minute;
    int rc;
    if ((rc = load_object(ld, root, "store", keys, &o)) != 0 || o == NULL)
        return rc;
    rc = get_path(ld, o, "sqlite", 0, 0, &c->store.sqlite) == 0 && get_uint(ld, o, "retention_days", 1, 36500, 0, &days) == 0 &&
                 get_uint(ld, o, "commit_delay_ms", 0, 1000, 0, &delay) == 0 && get_uint(ld, o, "queue_max", 1, 1000000, 0, &queue) == 0 &&
                 get_uint(ld, o, "rate_per_minute", 0, 1000000, 0, &rate) == 0
             ? 0
             : -1;
    c->store.retention_days = (unsigned)days;
    c->store.commit_delay_ms = (unsigned)delay;
    c->store.queue_max = (unsigned)queue;
    c->store.rate_per_minute = (unsigned)rate;
    pop(ld);
    return rc;
}

/* A consent is acted on as long as its token lasts (policy.consent_max_age_days); its record must last as long, or the
 * retention purge takes the one thing that shows it (GDPR art. 7(1)) while the gateway still grants by it. The error is
 * on the key the file gives (retention_days, else consent_max_age_days). */
static int check_retention(loader_t *ld, json_t *root)
{
    const gw_config_t *c = ld->conf;
    if (c->store.retention_days >= c->policy.consent_max_age_days)
        return 0;
    json_t *store = json_object_get(root, "store");
    int named = json_is_object(store) && json_object_get(store, "retention_days") != NULL;
    push_key(ld, named ? "store" : "policy");
    push_key(ld, named ? "retention_days" : "consent_max_age_days");
    int rc = fail(ld, 0,
                  "store.retention_days (%u) is shorter than policy.consent_max_age_days (%u): the records of consents still "
                  "in force would be purged",
                  c->store.retention_days, c->policy.consent_max_age_days);
    pop(ld);
    pop(ld);
    return rc;
}

/* A PROXY header names the client, and anyone who can reach the listener can write one: it is believed only from the
 * load balancers geoip.trusted_proxies names, and a listener that expects it needs them named. */
static int check_proxy_protocol(loader_t *ld)
{
    const gw_config_t *c = ld->conf;
    for (size_t i = 0; i != c->num_listen; ++i) {
        if (!c->listen[i].proxy_protocol || c->geoip.num_trusted_proxies != 0)
            continue;
        push_key(ld, "listen");
        push_index(ld, i);
        push_key(ld, "proxy_protocol");
        int rc = fail(ld, 0, "needs geoip.trusted_proxies naming the load balancers that send it (their addresses or "
                             "networks): from anyone else the header would be believed too");
        pop(ld);
        pop(ld);
        pop(ld);
        return rc;
    }
    return 0;
}

/* a cookie name, or a prefix pattern ending in '*' (RFC 6265 token characters, loosely) */
static int valid_cookie_pattern(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 256 || (n == 1 && k[0] == '*'))
        return 0;
    for (size_t i = 0; i != n; ++i) {
        unsigned char ch = (unsigned char)k[i];
        if (ch <= 0x20 || ch == 0x7f || ch == '=' || ch == ';' || ch == ',' || (ch == '*' && i != n - 1))
            return 0;
    }
    return 1;
}

static int load_cookies(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"database", "unknown_category", "overrides", "secure_under_tls", "database_categories", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *ov, *v;
    const char *key;
    int rc;
    if ((rc = load_object(ld, root, "cookies", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((rc = get_path(ld, o, "database", 0, 1, &c->cookies.database)) != 0 ||
        (rc = get_category(ld, o, "unknown_category", &c->cookies.unknown_category)) != 0 ||
        (rc = get_bool(ld, o, "secure_under_tls", &c->cookies.secure_under_tls)) != 0)
        goto Exit;
    if ((ov = member(ld, o, "overrides", JSON_OBJECT, 0, &rc)) != NULL) {
        push_key(ld, "overrides");
        json_object_foreach(ov, key, v)
        {
            int cat = -1;
            if (!valid_cookie_pattern(key) || c->cookies.num_overrides == 256) {
                push_key(ld, key);
                rc = fail(ld, 1, "not a cookie name (1..256 bytes without blanks, control bytes, '=', ';' or ','; a '*' only at the "
                                 "end, for a prefix; at most 256 overrides)");
                pop(ld);
                break;
            }
            if ((rc = get_category(ld, ov, key, &cat)) != 0)
                break;
            c->cookies.overrides[c->cookies.num_overrides].name = gw_strdup(key);
            c->cookies.overrides[c->cookies.num_overrides++].category = cat;
        }
        pop(ld);
    }
    if (rc == 0 && (ov = member(ld, o, "database_categories", JSON_OBJECT, 0, &rc)) != NULL) {
        push_key(ld, "database_categories");
        json_object_foreach(ov, key, v)
        {
            int cat = -1;
            if (!valid_category_name(key) || c->cookies.num_database_categories == GW_MAX_CATEGORIES) {
                push_key(ld, key);
                rc = fail(ld, 1, "\"%s\": the cookie database's category names are 1..32 of a-z, 0-9, '_', '-' (at most %d "
                                 "mappings)", key, GW_MAX_CATEGORIES);
                pop(ld);
                break;
            }
            if ((rc = get_category(ld, ov, key, &cat)) != 0)
                break;
            c->cookies.database_categories[c->cookies.num_database_categories].from = gw_strdup(key);
            c->cookies.database_categories[c->cookies.num_database_categories++].category = cat;
        }
        pop(ld);
    }
Exit:
    pop(ld);
    return rc;
}

static int load_beacons(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"endpoints", "ping_category", NULL};
    static const char *const ep_keys[] = {"path", "category", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *arr, *v;
    size_t i;
    int rc;
    if ((rc = load_object(ld, root, "beacons", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((rc = get_category(ld, o, "ping_category", &c->beacons.ping_category)) != 0)
        goto Exit;
    if ((arr = member(ld, o, "endpoints", JSON_ARRAY, 0, &rc)) != NULL) {
        push_key(ld, "endpoints");
        json_array_foreach(arr, i, v)
        {
            push_index(ld, i);
            if (!json_is_object(v) || i == GW_MAX_ENDPOINTS) {
                rc = fail(ld, 0, "must be an object like {\"path\": \"/collect\", \"category\": \"analytics\"}");
            } else {
                int cat = -1;
                char *path = NULL;
                rc = check_keys(ld, v, ep_keys) == 0 && get_string(ld, v, "path", 1, &path) == 0 &&
                             get_category(ld, v, "category", &cat) == 0
                         ? 0
                         : -1;
                if (rc == 0 && (path[0] != '/' || cat < 0)) {
                    rc = fail(ld, 0, cat < 0 ? "missing \"category\"" : "\"path\" must start with '/'");
                }
                if (rc == 0) {
                    c->beacons.endpoints[c->beacons.num_endpoints].path = path;
                    c->beacons.endpoints[c->beacons.num_endpoints++].category = cat;
                } else {
                    free(path);
                }
            }
            pop(ld);
            if (rc != 0)
                break;
        }
        pop(ld);
    }
Exit:
    pop(ld);
    return rc;
}

/* 1 when paths a and b name one file: the same path, or (both existing) the same inode, through a link too */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* trackers.lists / risk.lists */
static int load_lists(loader_t *ld, json_t *root, const char *section, int is_risk)
{
    static const char *const keys[] = {"lists", NULL};
    static const char *const tracker_keys[] = {"name", "file", "format", "category", NULL};
    static const char *const risk_keys[] = {"name", "file", "format", "action", NULL};
    gw_config_t *c = ld->conf;
    typeof(c->trackers) *dst = is_risk ? &c->risk : &c->trackers;
    json_t *o, *arr, *v;
    size_t i;
    int rc;
    if ((rc = load_object(ld, root, section, keys, &o)) != 0 || o == NULL)
        return rc;
    dst->configured = 1;
    for (i = 0; i != dst->num_lists; ++i) {
        free(dst->lists[i].name);
        free(dst->lists[i].file);
    }
    dst->num_lists = 0;
    if ((arr = member(ld, o, "lists", JSON_ARRAY, 0, &rc)) != NULL) {
        push_key(ld, "lists");
        json_array_foreach(arr, i, v)
        {
            push_index(ld, i);
            if (!json_is_object(v) || i == GW_MAX_LISTS) {
                rc = fail(ld, 0, "must be an object with \"file\", \"format\" and \"%s\"", is_risk ? "action" : "category");
            } else {
                gw_list_conf_t *l = dst->lists + dst->num_lists;
                int fmt = is_risk ? GW_FMT_DOMAINS : GW_FMT_ABP, action = GW_RISK_BLOCK, cat = -1;
                memset(l, 0, sizeof(*l));
                rc = check_keys(ld, v, is_risk ? risk_keys : tracker_keys);
                if (rc == 0)
                    rc = get_string(ld, v, "name", is_risk, &l->name);
                if (rc == 0)
                    rc = get_path(ld, v, "file", 1, !is_risk, &l->file);
                if (rc == 0)
                    rc = get_enum(ld, v, "format", format_names, 4, &fmt);
                if (rc == 0 && is_risk)
                    rc = get_enum(ld, v, "action", action_names, 4, &action);
                if (rc == 0 && !is_risk && (rc = get_category(ld, v, "category", &cat)) == 0 && cat < 0)
                    rc = fail(ld, 0, "missing \"category\"");
                for (size_t j = 0; rc == 0 && is_risk && j != dst->num_lists; ++j)
                    if (strcmp(dst->lists[j].name, l->name) == 0)
                        rc = fail(ld, 0, "duplicate list name \"%s\"", l->name);
                for (size_t j = 0; rc == 0 && is_risk && j != dst->num_lists; ++j) {
                    if (same_file(dst->lists[j].file, l->file)) {
                        push_key(ld, "file");
                        rc = fail(ld, 0, "%s is risk.lists[%zu]'s file too: an admin change to one list would rewrite the "
                                         "other's entries (each list needs a file of its own)", l->file, j);
                        pop(ld);
                    }
                }
                l->format = (gw_list_format_t)fmt;
                l->action = (gw_risk_action_t)action;
                l->category = cat;
                ++dst->num_lists; /* freed by gw_config_free even on error */
            }
            pop(ld);
            if (rc != 0)
                break;
        }
        pop(ld);
    }
    pop(ld);
    return rc;
}

static int load_html(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"rewrite", "inject_banner", "memo_kb", "google_consent_mode", "microsoft_consent_mode", NULL};
    json_t *o;
    int rc;
    uint64_t memo = ld->conf->html.memo_kb;
    if ((rc = load_object(ld, root, "html", keys, &o)) != 0 || o == NULL)
        return rc;
    rc = get_bool(ld, o, "rewrite", &ld->conf->html.rewrite) == 0 && get_bool(ld, o, "inject_banner", &ld->conf->html.inject_banner) == 0 &&
                 get_uint(ld, o, "memo_kb", 0, 1024 * 1024, 0, &memo) == 0 &&
                 get_bool(ld, o, "google_consent_mode", &ld->conf->html.google_consent_mode) == 0 &&
                 get_bool(ld, o, "microsoft_consent_mode", &ld->conf->html.microsoft_consent_mode) == 0
             ? 0
             : -1;
    ld->conf->html.memo_kb = (unsigned)memo;
    pop(ld);
    return rc;
}

static int load_channel(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"csp",        "csp_sources",           "hsts_max_age",          "link_shim",
                                       "audit_log",  "report_rate_per_minute", "report_retention_days", "reports_max",
                                       NULL};
    static const char *const modes[] = {"off", "report-only", "enforce"};
    gw_config_t *c = ld->conf;
    json_t *o, *arr, *v;
    uint64_t hsts = c->channel.hsts_max_age, rate = c->channel.report_rate_per_minute, days = c->channel.report_retention_days,
             max = c->channel.reports_max;
    size_t i;
    int rc;
    if ((rc = load_object(ld, root, "channel", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((rc = get_enum(ld, o, "csp", modes, 3, &c->channel.csp)) != 0 ||
        (rc = get_uint(ld, o, "hsts_max_age", 0, 100000000, 0, &hsts)) != 0 || (rc = get_bool(ld, o, "link_shim", &c->channel.link_shim)) != 0 ||
        (rc = get_path(ld, o, "audit_log", 0, 0, &c->channel.audit_log)) != 0 ||
        (rc = get_uint(ld, o, "report_rate_per_minute", 1, 100000, 0, &rate)) != 0 ||
        (rc = get_uint(ld, o, "report_retention_days", 1, 36500, 0, &days)) != 0 ||
        (rc = get_uint(ld, o, "reports_max", 1, 100000000, 0, &max)) != 0)
        goto Exit;
    c->channel.hsts_max_age = hsts;
    c->channel.report_rate_per_minute = (unsigned)rate;
    c->channel.report_retention_days = (unsigned)days;
    c->channel.reports_max = (unsigned)max;
    if ((arr = member(ld, o, "csp_sources", JSON_ARRAY, 0, &rc)) != NULL) {
        push_key(ld, "csp_sources");
        json_array_foreach(arr, i, v)
        {
            const char *src = json_string_value(v);
            push_index(ld, i);
            if (src == NULL || *src == '\0' || strpbrk(src, ";,\"\r\n") != NULL || i == 16)
                rc = fail(ld, 0, "must be a CSP source expression such as \"https://cdn.example.com\" (at most 16)");
            else
                c->channel.csp_sources[c->channel.num_csp_sources++] = gw_strdup(src);
            pop(ld);
            if (rc != 0)
                break;
        }
        pop(ld);
    }
Exit:
    pop(ld);
    return rc;
}

/* "ui": {"strings": {"en": {"banner.title": "…"}, "zh-CN": {…}}} */
/* a BCP 47 tag as the UI uses them: "en", "zh-CN", "sr-Latn-RS" (it becomes <html lang> and part of a file name) */
static int valid_lang_code(const char *s)
{
    size_t n = 0;
    while (s[n] >= 'a' && s[n] <= 'z')
        ++n;
    if (n < 2 || n > 3)
        return 0;
    while (s[n] == '-') {
        size_t k = ++n;
        while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9'))
            ++n;
        if (n - k < 2 || n - k > 8)
            return 0;
    }
    return n <= 15 && s[n] == '\0';
}

static int load_ui(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"strings", NULL};
    gw_config_t *c = ld->conf;
    json_t *o, *strings, *byk, *v;
    const char *lang, *key;
    int rc;
    if ((rc = load_object(ld, root, "ui", keys, &o)) != 0 || o == NULL)
        return rc;
    if ((strings = member(ld, o, "strings", JSON_OBJECT, 0, &rc)) != NULL) {
        push_key(ld, "strings");
        json_object_foreach(strings, lang, byk)
        {
            push_key(ld, lang);
            if (!json_is_object(byk) || !valid_lang_code(lang)) {
                rc = fail(ld, 1, "must be a language code (e.g. \"zh-CN\": 2 or 3 letters, then -subtags of 2..8 letters or digits) "
                                 "with an object of strings");
            } else {
                json_object_foreach(byk, key, v)
                {
                    if (!json_is_string(v) || strlen(key) == 0 || strlen(key) > 63) {
                        push_key(ld, key);
                        rc = fail(ld, 0, "must be a string (keys: 1..63 bytes, as in static/i18n/en.json)");
                        pop(ld);
                        break;
                    }
                    c->ui.strings = h2o_mem_realloc(c->ui.strings, sizeof(c->ui.strings[0]) * (c->ui.num_strings + 1));
                    c->ui.strings[c->ui.num_strings].lang = gw_strdup(lang);
                    c->ui.strings[c->ui.num_strings].key = gw_strdup(key);
                    c->ui.strings[c->ui.num_strings++].value = gw_strdup(json_string_value(v));
                }
            }
            pop(ld);
            if (rc != 0)
                break;
        }
        pop(ld);
    }
    pop(ld);
    return rc;
}

void gw_config_defaults(gw_config_t *c)
{
    static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};
    memset(c, 0, sizeof(*c));
    c->threads = 0; /* 0: one per CPU, decided at start */
    c->proxy.io_timeout_ms = 30000;
    c->proxy.keepalive_timeout_ms = 2000;
    c->proxy.max_request_body = 1024 * 1024;
    c->proxy.max_connections = 8192;
    c->proxy.send_timeout_ms = 60000;
    /* loopback unless configured (DESIGN): an admin "listen" without "host", or no "listen" at all, must not bind every
     * interface as a public listener without "host" does */
    c->admin.listen.host = gw_strdup("127.0.0.1");
    c->admin.listen.port = 8081;
    c->log.level = GW_LOG_INFO;
    c->policy.version = 1;
    c->policy.consent_max_age_days = 365;
    for (size_t i = 0; i != 4; ++i)
        c->categories[i] = gw_strdup(cats[i]);
    c->num_categories = 4;
    c->regimes.def = GW_REGIME_OPT_IN;
    c->regimes.gpc_refuses = 1u << 3; /* marketing */
    c->store.retention_days = 730;
    c->store.commit_delay_ms = 4;
    c->store.queue_max = 8192;
    c->store.rate_per_minute = 60;
    c->report_only = 0;
    c->cookies.unknown_category = 1; /* functional */
    c->cookies.secure_under_tls = 1;
    c->beacons.ping_category = 2; /* analytics */
    c->html.rewrite = 1;
    c->channel.csp = 1; /* report-only until the operator has seen what enforcing would block */
    c->channel.hsts_max_age = 15552000;
    c->channel.link_shim = 1;
    c->channel.report_rate_per_minute = 60;
    c->channel.report_retention_days = 90;
    c->channel.reports_max = 100000;
    c->html.inject_banner = 1;
    c->html.memo_kb = 4096;
}

/* Defaults that name a category refer to the default category list; re-resolve them by name once
 * the file's own "categories" are known (a category that no longer exists falls back sensibly). */
static void rebind_category_defaults(gw_config_t *c, int unknown_set, int ping_set, int gpc_set)
{
    int i;
    if (!unknown_set)
        c->cookies.unknown_category = (i = gw_config_category(c, "functional")) >= 0 ? i : gw_config_category(c, "necessary");
    if (!ping_set)
        c->beacons.ping_category = (i = gw_config_category(c, "analytics")) >= 0 ? i : gw_config_category(c, "necessary");
    if (!gpc_set)
        c->regimes.gpc_refuses = (i = gw_config_category(c, "marketing")) >= 0 ? 1u << i : 0;
}

void gw_listen_canon_host(const gw_listen_conf_t *l, char *out, size_t len)
{
    struct in6_addr a6;
    if (l->host == NULL)
        snprintf(out, len, "0.0.0.0");
    else if (strcmp(l->host, "localhost") == 0)
        snprintf(out, len, "127.0.0.1");
    else if (inet_pton(AF_INET6, l->host, &a6) == 1)
        inet_ntop(AF_INET6, &a6, out, (socklen_t)len);
    else
        snprintf(out, len, "%s", l->host);
}

/* 1 when a listener on address `a` takes connections to address `b` (both as gw_listen_canon_host writes them): the
 * same address, or a wildcard of b's family. 0.0.0.0 is IPv4's wildcard and :: IPv6's alone (IPV6_V6ONLY: server.c) */
static int takes(const char *a, const char *b)
{
    return strcmp(a, b) == 0 || (strcmp(a, "0.0.0.0") == 0 && strchr(b, ':') == NULL) ||
           (strcmp(a, "::") == 0 && strchr(b, ':') != NULL);
}

/*
 * Addresses the gateway could not listen on all at once, found here so that --check-config says so (a start found
 * them only after it had made the secrets file and the consent store): a listen entry given twice, and an admin
 * listener on a port a public listener has on the same address or the wildcard.
 */
static int check_addresses(loader_t *ld, json_t *root)
{
    const gw_config_t *c = ld->conf;
    char a[INET6_ADDRSTRLEN + 1], b[INET6_ADDRSTRLEN + 1];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i != c->num_listen; ++i) {
        gw_listen_canon_host(c->listen + i, a, sizeof(a));
        for (size_t j = 0; rc == 0 && j != i; ++j) {
            gw_listen_canon_host(c->listen + j, b, sizeof(b));
            if (c->listen[i].port == c->listen[j].port && strcmp(a, b) == 0) {
                push_key(ld, "listen");
                push_index(ld, i);
                rc = fail(ld, 0, "repeats listen[%zu] (%s:%u)", j, a, c->listen[i].port);
                pop(ld);
                pop(ld);
            }
        }
    }
    if (rc != 0 || json_object_get(root, "admin") == NULL)
        return rc;
    gw_listen_canon_host(&c->admin.listen, a, sizeof(a));
    for (size_t j = 0; rc == 0 && j != c->num_listen; ++j) {
        gw_listen_canon_host(c->listen + j, b, sizeof(b));
        if (c->admin.listen.port == c->listen[j].port && (takes(a, b) || takes(b, a))) {
            push_key(ld, "admin");
            if (json_object_get(json_object_get(root, "admin"), "listen") != NULL)
                push_key(ld, "listen");
            rc = fail(ld, 0, "the admin listener's port %u is listen[%zu]'s too: the admin API needs a port of its own",
                      c->admin.listen.port, j);
            pop(ld);
            if (json_object_get(json_object_get(root, "admin"), "listen") != NULL)
                pop(ld);
        }
    }
    return rc;
}

/* the upstream URL's host (without an IPv6 literal's brackets) and port; load_upstream has checked its form */
static void upstream_hostport(const char *u, char *host, size_t cap, unsigned *port)
{
    const char *h = u + 7, *end;
    if (*h == '[') {
        end = strchr(h, ']');
        snprintf(host, cap, "%.*s", (int)(end - h - 1), h + 1);
        ++end;
    } else {
        end = h + strcspn(h, ":/");
        snprintf(host, cap, "%.*s", (int)(end - h), h);
    }
    *port = *end == ':' ? (unsigned)strtoul(end + 1, NULL, 10) : 80;
}

/* 1 when addr (canonical, as gw_listen_canon_host writes it) is one of this host's: loopback, or an interface's */
static int is_own_address(const char *addr)
{
    unsigned char a[sizeof(struct in6_addr)];
    struct ifaddrs *ifs, *i;
    int own = 0;
    if ((inet_pton(AF_INET, addr, a) == 1 && a[0] == 127) || strcmp(addr, "::1") == 0)
        return 1;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (i = ifs; !own && i != NULL; i = i->ifa_next) {
        char buf[INET6_ADDRSTRLEN];
        if (i->ifa_addr == NULL || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
            continue;
        const void *src = i->ifa_addr->sa_family == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                                            : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
        own = inet_ntop(i->ifa_addr->sa_family, src, buf, sizeof(buf)) != NULL && strcmp(buf, addr) == 0;
    }
    freeifaddrs(ifs);
    return own;
}

/* 1 when a connection to host:port (canonical; "localhost" for both loopbacks) reaches listener l */
static int reaches_listener(const char *host, unsigned port, const gw_listen_conf_t *l)
{
    char lh[INET6_ADDRSTRLEN + 1];
    if (port != l->port)
        return 0;
    gw_listen_canon_host(l, lh, sizeof(lh));
    if (strcmp(host, "localhost") == 0)
        return takes(lh, "127.0.0.1") || takes(lh, "::1");
    return strcmp(lh, host) == 0 || (takes(lh, host) && is_own_address(host));
}

/*
 * An upstream that is one of the gateway's own listeners: it started, and each request was proxied to the gateway
 * again, a connection more per round, until the client gave up or the descriptors ran out (--check-config said
 * "valid"). Addresses are compared as written (a host name other than localhost is not resolved here).
 */
static int check_upstream_loop(loader_t *ld, json_t *root)
{
    const gw_config_t *c = ld->conf;
    char host[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN + 8];
    unsigned port;
    upstream_hostport(c->upstream, host, sizeof(host), &port);
    gw_listen_conf_t as_listener = {.host = host};
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1) {
        gw_listen_canon_host(&as_listener, canon, sizeof(canon)); /* ("::0001" is "::1") */
    } else if (strcasecmp(host, "localhost") == 0) {
        snprintf(canon, sizeof(canon), "localhost");
    } else {
        return 0;
    }
    for (size_t i = 0; i != c->num_listen; ++i) {
        if (reaches_listener(canon, port, c->listen + i)) {
            push_key(ld, "upstream");
            int rc = fail(ld, 0, "\"%s\" is the gateway's own listen[%zu]: every request would be proxied back to the gateway, "
                                 "again and again; name the origin's address", c->upstream, i);
            pop(ld);
            return rc;
        }
    }
    if (json_object_get(root, "admin") != NULL && reaches_listener(canon, port, &c->admin.listen)) {
        push_key(ld, "upstream");
        int rc = fail(ld, 0, "\"%s\" is the gateway's own admin listener: name the origin's address", c->upstream);
        pop(ld);
        return rc;
    }
    return 0;
}

static int load_root(loader_t *ld, json_t *root)
{
    static const char *const keys[] = {"listen",     "admin",   "upstream", "threads",     "proxy",   "log",
                                       "secrets_file", "policy", "categories", "regimes",   "geoip",   "store",
                                       "enforcement", "cookies", "beacons",  "trackers",    "risk",    "html", "channel", "ui", NULL};
    static const char *const enforcement_names[] = {"enforce", "report-only"};
    gw_config_t *c = ld->conf;
    uint64_t threads = 0;
    int report_only = 0;

    if (!json_is_object(root))
        return fail(ld, 0, "the configuration must be a JSON object");
    if (check_keys(ld, root, keys) != 0 || load_listen(ld, root) != 0 || load_upstream(ld, root) != 0)
        return -1;
    if (get_uint(ld, root, "threads", 1, 256, 0, &threads) != 0)
        return -1;
    c->threads = (unsigned)threads;
    if (load_proxy(ld, root) != 0 || load_admin(ld, root) != 0 || load_log(ld, root) != 0 ||
        get_path(ld, root, "secrets_file", 0, 0, &c->secrets_file) != 0 || load_policy(ld, root) != 0 ||
        load_categories(ld, root) != 0)
        return -1;
    json_t *ck = json_object_get(root, "cookies"), *bc = json_object_get(root, "beacons"), *rg = json_object_get(root, "regimes");
    rebind_category_defaults(c, json_is_object(ck) && json_object_get(ck, "unknown_category") != NULL,
                             json_is_object(bc) && json_object_get(bc, "ping_category") != NULL,
                             json_is_object(rg) && json_object_get(rg, "gpc_refuses") != NULL);
    if (load_regimes(ld, root) != 0 || load_geoip(ld, root) != 0 || check_proxy_protocol(ld) != 0 || load_store(ld, root) != 0 ||
        check_retention(ld, root) != 0 || get_enum(ld, root, "enforcement", enforcement_names, 2, &report_only) != 0 ||
        load_cookies(ld, root) != 0 ||
        load_beacons(ld, root) != 0 || load_lists(ld, root, "trackers", 0) != 0 || load_lists(ld, root, "risk", 1) != 0 ||
        load_html(ld, root) != 0 || load_channel(ld, root) != 0 || load_ui(ld, root) != 0 || check_addresses(ld, root) != 0 ||
        check_upstream_loop(ld, root) != 0)
        return -1;
    c->report_only = report_only;
    return 0;
}

static char *join(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = h2o_mem_alloc(n);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* jansson counts a syntax error's column in characters, and 0 at the end of a line or of the file; the other errors'
 * columns (jsonpos) are bytes from 1. The same unit for both: the bytes from the start of the error's line to the end of
 * the token it names (jansson's byte offset), at least 1. */
static unsigned syntax_error_column(const char *text, size_t len, const json_error_t *jerr)
{
    size_t at = jerr->position > 0 && (size_t)jerr->position <= len ? (size_t)jerr->position : len, start = at;
    while (start != 0 && text[start - 1] != '\n')
        --start;
    return at - start > 0 ? (unsigned)(at - start) : 1;
}

/* What to do about the commonest syntax errors, after jansson's message ("'}' expected near '\"threads\"'"): a comma
 * missing between two members or one too many after the last, a comment, single quotes, a key given
 * twice, text after the object. "" when no hint fits. */
static const char *syntax_hint(const char *text, size_t len, const json_error_t *jerr)
{
    const char *near = strstr(jerr->text, "near '");
    size_t tlen, end = jerr->position > 0 && (size_t)jerr->position <= len ? (size_t)jerr->position : len, start;
    if (near == NULL || (tlen = strlen(near += 6)) < 2 || near[tlen - 1] != '\'')
        return "";
    --tlen; /* the token, as the text has it, ends at jansson's position */
    start = end >= tlen ? end - tlen : 0;
    while (start != 0 && strchr(" \t\r\n", text[start - 1]) != NULL)
        --start;
    char before = start != 0 ? text[start - 1] : '\0';
    if (strncmp(jerr->text, "duplicate object key", 20) == 0)
        return " (given twice in one object: keep one)";
    if (strncmp(jerr->text, "end of file expected", 20) == 0)
        return " (the file is one JSON object: this follows its closing '}')";
    if (near[0] == '/')
        return " (JSON has no comments)";
    if (near[0] == '\'')
        return " (JSON strings are in double quotes)";
    if (tlen == 1 && (near[0] == '}' || near[0] == ']') && before == ',')
        return " (the comma before it: JSON allows none after the last item)";
    if ((strncmp(jerr->text, "'}' expected", 12) == 0 || strncmp(jerr->text, "']' expected", 12) == 0) && before != ',' &&
        before != '\0' && strchr("\"}]0123456789el", before) != NULL)
        return " (a comma missing before it?)";
    return "";
}

int gw_config_load_text(gw_config_t *conf, const char *name, const char *dir, const char *text, size_t len, char *err,
                        size_t errlen)
{
    loader_t ld = {name, dir, text, len, {{0}}, 0, err, errlen, conf};
    json_error_t jerr;
    json_t *root;
    int rc;

    gw_config_defaults(conf);
    conf->path = gw_strdup(name);
    conf->dir = gw_strdup(dir != NULL ? dir : ".");
    /* what jansson would call "'[' or '{' expected near '\xef'" or "… near end of file" */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        snprintf(err, errlen, "%s:1:1: the file begins with a byte order mark (EF BB BF, some Windows editors write one): save it "
                              "as UTF-8 without one", name);
        return -1;
    }
    size_t blank = 0;
    while (blank != len && text[blank] != '\0' && strchr(" \t\r\n", text[blank]) != NULL)
        ++blank;
    if (blank == len) {
        snprintf(err, errlen, "%s:1:1: the file is empty: a configuration is a JSON object, at least "
                              "{\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:9000\"}", name);
        return -1;
    }
    if ((root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        snprintf(err, errlen, "%s:%d:%u: %s%s", name, jerr.line, syntax_error_column(text, len, &jerr), jerr.text,
                 syntax_hint(text, len, &jerr));
        return -1;
    }
    rc = load_root(&ld, root);
    json_decref(root);
    if (rc == 0) {
        /* documented defaults for paths, relative to the config file's folder */
        if (conf->secrets_file == NULL)
            conf->secrets_file = join(conf->dir, "../var/secrets.json");
        if (conf->store.sqlite == NULL)
            conf->store.sqlite = join(conf->dir, "../var/consent.db");
        if (conf->channel.audit_log == NULL)
            conf->channel.audit_log = join(conf->dir, "../var/audit.log");
        if (conf->threads == 0) {
            long n = sysconf(_SC_NPROCESSORS_ONLN); /* at most the 256 `threads` may name */
            conf->threads = n > 256 ? 256 : n > 0 ? (unsigned)n : 1;
        }
    }
    return rc;
}

int gw_config_load(gw_config_t *conf, const char *path, char *err, size_t errlen)
{
    FILE *fp;
    char *text = NULL, *dircopy;
    size_t len = 0, cap = 0;
    int rc;

    struct stat st;
    if ((fp = fopen(path, "rb")) == NULL) {
        gw_config_defaults(conf);
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) { /* (fopen opens one; reading it fails with EISDIR) */
        fclose(fp);
        gw_config_defaults(conf);
        snprintf(err, errlen, "%s: is a directory: -c names the configuration file (%s/consentgate.json?)", path, path);
        return -1;
    }
    for (;;) {
        if (cap - len < 4096) {
            char *grown = realloc(text, cap * 2 + 8192);
            if (grown == NULL) {
                free(text);
                fclose(fp);
                gw_config_defaults(conf);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            text = grown;
            cap = cap * 2 + 8192;
        }
        size_t n = fread(text + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        int e = errno;
        free(text);
        fclose(fp);
        gw_config_defaults(conf);
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        return -1;
    }
    fclose(fp);
    dircopy = gw_strdup(path);
    rc = gw_config_load_text(conf, path, dirname(dircopy), text, len, err, errlen);
    SHA256((const unsigned char *)text, len, conf->digest);
    free(dircopy);
    free(text);
    return rc;
}

/* values in range written in another unit than the key's */
static void warn_units(const gw_config_t *c)
{
    /* "io_timeout_ms": 30 meant as seconds: every answer that takes the origin longer than 30 ms became a 504 */
    if (c->proxy.io_timeout_ms < 1000)
        gw_warn("proxy.io_timeout_ms is %llu: milliseconds (%llu seconds would be %llu000); an origin slower than that to "
                "answer gets 504", (unsigned long long)c->proxy.io_timeout_ms, (unsigned long long)c->proxy.io_timeout_ms,
                (unsigned long long)c->proxy.io_timeout_ms);
    /* "max_request_body": 10240 meant as KB: every upload or form post over 10 KB got 413 */
    if (c->proxy.max_request_body < 65536)
        gw_warn("proxy.max_request_body is %zu: bytes (%zu KB), so an upload or a form post larger than that gets 413 (1 MB is "
                "1048576)", c->proxy.max_request_body, c->proxy.max_request_body / 1024);
    /* "hsts_max_age": 180 meant as days: browsers forget the HTTPS-only rule after 3 minutes */
    if (c->channel.hsts_max_age != 0 && c->channel.hsts_max_age < 86400)
        gw_warn("channel.hsts_max_age is %llu: seconds (under a day), so browsers soon forget to insist on HTTPS; "
                "180 days are 15552000", (unsigned long long)c->channel.hsts_max_age);
}

/* settings that hold back nothing a visitor refuses, or grant what nobody classified */
static void warn_permissive(const gw_config_t *c)
{
    /* a trial's setting left in place: the banner asks, and nothing refused is held back */
    if (c->report_only)
        gw_warn("enforcement is report-only: cookies, beacons and tracker tags of refused categories pass (counted as "
                "cg_report_only_would_*), while the banner says optional cookies are used only with consent: for a trial");
    /* every cookie the database does not know, whatever it does, is granted without asking */
    if (strcmp(c->categories[c->cookies.unknown_category], "necessary") == 0)
        gw_warn("cookies.unknown_category is \"necessary\": every cookie neither the cookie database nor cookies.overrides "
                "names is always granted, a new tracker's too (GET /admin/cookies lists them)");
}

/* A default of opt-out or notice reaches the GDPR's visitors too unless the table names them (README: "Which regime
 * where"); a table copied without them, or a default changed for the US, made the EU's visitors opt-out unsaid. */
static void warn_gdpr_regimes(const gw_config_t *c)
{
    static const char *const gdpr[] = {"EU", "IS", "LI", "NO", "GB"};
    char names[128] = "";
    for (size_t i = 0; i != sizeof(gdpr) / sizeof(gdpr[0]); ++i) {
        gw_regime_t r = c->regimes.def;
        for (size_t k = 0; k != c->regimes.num_rules; ++k)
            if (strcmp(c->regimes.rules[k].key, gdpr[i]) == 0)
                r = c->regimes.rules[k].regime;
        if (r != GW_REGIME_OPT_IN)
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s %s", names[0] != '\0' ? ", " : "", gdpr[i],
                     regime_names[r]);
    }
    if (names[0] != '\0')
        gw_warn("regimes: %s: visitors there are not asked before optional cookies, though the GDPR and the ePrivacy rules "
                "(the UK's GDPR and PECR) ask consent first; name them \"opt-in\" in regimes.by_country, as "
                "conf/consentgate.json does, unless that is your lawyer's call", names);
}

/* "::" is dual-stack by Linux's default (bindv6only 0), not here: the gateway's IPv6 sockets are IPv6 only, so that
 * 0.0.0.0 and :: can be listed side by side */
static void warn_ipv6_only(const gw_config_t *c)
{
    for (size_t i = 0; i != c->num_listen; ++i) {
        char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
        size_t j = 0;
        gw_listen_canon_host(c->listen + i, a, sizeof(a));
        if (strcmp(a, "::") != 0)
            continue;
        for (; j != c->num_listen; ++j) {
            gw_listen_canon_host(c->listen + j, b, sizeof(b));
            if (c->listen[j].port == c->listen[i].port && strcmp(b, "0.0.0.0") == 0)
                break;
        }
        if (j == c->num_listen)
            gw_warn("listen[%zu]: \"::\" takes IPv6 connections only: IPv4 visitors cannot connect to port %u; list "
                    "{\"host\": \"0.0.0.0\", \"port\": %u} as well", i, c->listen[i].port, c->listen[i].port);
    }
}

void gw_config_warn(const gw_config_t *c)
{
    warn_units(c);
    warn_permissive(c);
    warn_gdpr_regimes(c);
    warn_ipv6_only(c);
}

int gw_config_category(const gw_config_t *conf, const char *name)
{
    for (size_t i = 0; i != conf->num_categories; ++i)
        if (strcmp(conf->categories[i], name) == 0)
            return (int)i;
    return -1;
}

static void free_listen(gw_listen_conf_t *l)
{
    free(l->host);
    free(l->tls_cert);
    free(l->tls_key);
}

void gw_config_free(gw_config_t *c)
{
    size_t i;
    free(c->path);
    free(c->dir);
    for (i = 0; i != GW_MAX_LISTEN; ++i)
        free_listen(c->listen + i);
    free(c->upstream);
    free_listen(&c->admin.listen);
    free(c->admin.tokens_file);
    free(c->log.access);
    free(c->log.error);
    free(c->secrets_file);
    free(c->policy.url);
    for (i = 0; i != c->num_categories; ++i)
        free(c->categories[i]);
    free(c->geoip.database);
    for (i = 0; i != c->geoip.num_trusted_proxies; ++i)
        free(c->geoip.trusted_proxies[i]);
    free(c->store.sqlite);
    free(c->channel.audit_log);
    free(c->log.access_format);
    for (i = 0; i != c->ui.num_strings; ++i) {
        free(c->ui.strings[i].lang);
        free(c->ui.strings[i].key);
        free(c->ui.strings[i].value);
    }
    free(c->ui.strings);
    for (i = 0; i != c->channel.num_csp_sources; ++i)
        free(c->channel.csp_sources[i]);
    free(c->cookies.database);
    for (i = 0; i != c->cookies.num_overrides; ++i)
        free(c->cookies.overrides[i].name);
    for (i = 0; i != c->cookies.num_database_categories; ++i)
        free(c->cookies.database_categories[i].from);
    for (i = 0; i != c->beacons.num_endpoints; ++i)
        free(c->beacons.endpoints[i].path);
    for (i = 0; i != c->trackers.num_lists; ++i) {
        free(c->trackers.lists[i].name);
        free(c->trackers.lists[i].file);
    }
    for (i = 0; i != c->risk.num_lists; ++i) {
        free(c->risk.lists[i].name);
        free(c->risk.lists[i].file);
    }
    memset(c, 0, sizeof(*c));
}
