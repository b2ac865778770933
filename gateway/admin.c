/*
 * admin — see admin.h.
 */
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "admin.h"
#include "jsonw.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "qsbr.h"
#include "server.h"

#define MAX_ROUTES 32
#define MAX_TOKENS 256
#define MAX_TOKEN_LEN 512
#define MIN_TOKEN_LEN 16 /* a token an attacker can guess is no token: 16 bytes at least ("demo-admin-token") */
_Static_assert(MIN_TOKEN_LEN == 16, "parse_tokens' message says 16");

typedef struct st_tokens_t {
    size_t n;
    struct {
        char name[64];
        uint8_t digest[SHA256_DIGEST_LENGTH];
    } t[MAX_TOKENS];
} tokens_t;

static tokens_t *tokens; /* snapshot: gw_snap_load / gw_snap_publish */
static char *tokens_path;
static struct {
    const char *method, *prefix;
    gw_admin_route_cb cb;
} routes[MAX_ROUTES];
static size_t num_routes;

void gw_admin_add_route(const char *method, const char *prefix, gw_admin_route_cb cb)
{
    if (num_routes < MAX_ROUTES)
        routes[num_routes++] = (typeof(routes[0])){method, prefix, cb};
}

static tokens_t *parse_tokens(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char line[MAX_TOKEN_LEN + 128];
    unsigned lineno = 0;
    tokens_t *t;

    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    t = gw_calloc(1, sizeof(*t));
    while (fgets(line, sizeof(line), fp) != NULL) {
        ++lineno;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            /* not the whole line: the rest would be read as a line of its own (the tail of a long comment as a token) */
            snprintf(err, errlen, "%s:%u:1: line too long (at most %zu bytes)", path, lineno, sizeof(line) - 2);
            fclose(fp);
            OPENSSL_cleanse(line, sizeof(line));
            OPENSSL_cleanse(t, sizeof(*t));
            free(t);
            return NULL;
        }
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            ++p;
        if (*p == '\0' || *p == '#')
            continue;
        char *colon = strchr(p, ':');
        if (colon == NULL || colon == p || (size_t)(colon - p) >= sizeof(t->t[0].name) || colon[1] == '\0' ||
            strlen(colon + 1) > MAX_TOKEN_LEN || t->n == MAX_TOKENS) {
            snprintf(err, errlen, "%s:%u:1: expected \"name:token\" (name < 64 bytes, token 1..%d bytes, at most %d tokens)", path,
                     lineno, MAX_TOKEN_LEN, MAX_TOKENS);
            fclose(fp);
            free(t);
            return NULL;
        }
        *colon = '\0';
        /* blanks around the name and the token are not theirs (the header's token is read without them too: a
         * "name:token " line could never authenticate) */
        char *name_end = colon, *tok = colon + 1, *tok_end = tok + strlen(tok);
        while (name_end != p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            *--name_end = '\0';
        while (*tok == ' ' || *tok == '\t')
            ++tok;
        while (tok_end != tok && (tok_end[-1] == ' ' || tok_end[-1] == '\t'))
            *--tok_end = '\0';
        const char *why = NULL;
        if ((size_t)(tok_end - tok) < MIN_TOKEN_LEN)
            why = "the token is shorter than 16 bytes"; /* (MIN_TOKEN_LEN) */
        memcpy(t->t[t->n].name, p, (size_t)(name_end - p) + 1);
        SHA256((const unsigned char *)tok, (size_t)(tok_end - tok), t->t[t->n].digest);
        for (size_t k = 0; why == NULL && k != t->n; ++k) {
            if (strcmp(t->t[k].name, t->t[t->n].name) == 0)
                why = "the name is used twice (the audit log could not tell who made a change)";
            else if (memcmp(t->t[k].digest, t->t[t->n].digest, sizeof(t->t[k].digest)) == 0)
                why = "the token is used twice, under two names (the audit log could not tell who made a change)";
        }
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u:1: %s", path, lineno, why);
            fclose(fp);
            OPENSSL_cleanse(line, sizeof(line));
            OPENSSL_cleanse(t, sizeof(*t));
            free(t);
            return NULL;
        }
        ++t->n;
    }
    fclose(fp);
    OPENSSL_cleanse(line, sizeof(line));
    return t;
}

int gw_admin_load_tokens(const char *path, char *err, size_t errlen)
{
    tokens_t *t = parse_tokens(path, err, errlen);
    if (t == NULL)
        return -1;
    struct stat sb;
    if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0)
        gw_warn("admin tokens file %s can be read by other users (mode %04o): chmod 600 %s", path, (unsigned)(sb.st_mode & 07777),
                path);
    if (t->n == 0)
        gw_warn("admin tokens file %s holds no token: the admin API accepts no request", path);
    if (tokens_path != path) {
        free(tokens_path);
        tokens_path = gw_strdup(path);
    }
    tokens_t *old = gw_snap_publish(&tokens, t);
    if (old != NULL) {
        gw_qsbr_synchronize();
        free(old);
    }
    return 0;
}

static void reload_tokens(void *data)
{
    char err[512];
    if (tokens_path == NULL)
        return;
    if (gw_admin_load_tokens(tokens_path, err, sizeof(err)) != 0)
        gw_error("admin tokens not reloaded (the previous ones stay in force): %s", err);
    else
        gw_info("admin tokens reloaded");
}

/* 0: authenticated (caller filled), 401 or 403 */
static int authenticate(h2o_req_t *req, gw_admin_caller_t *caller)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i == -1)
        return 401;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len < 7 || !h2o_lcstris(v.base, 7, H2O_STRLIT("bearer ")))
        return 401;
    h2o_iovec_t tok = h2o_str_stripws(v.base + 7, v.len - 7);
    if (tok.len == 0)
        return 401; /* no credentials given */
    if (tok.len > MAX_TOKEN_LEN)
        return 403;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok.base, tok.len, digest);
    const tokens_t *t = gw_snap_load(&tokens);
    int found = -1;
    for (size_t k = 0; t != NULL && k != t->n; ++k) /* no early exit: the time does not depend on which token matched */
        if (CRYPTO_memcmp(digest, t->t[k].digest, sizeof(digest)) == 0)
            found = (int)k;
    if (found < 0)
        return 403;
    snprintf(caller->name, sizeof(caller->name), "%s", t->t[found].name);
    return 0;
}

void gw_admin_send(h2o_req_t *req, int status, const char *reason, const char *content_type, h2o_iovec_t body)
{
    req->res.status = status;
    req->res.reason = reason;
    req->res.content_length = body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_send_inline(req, body.base, body.len);
}

void gw_admin_send_error(h2o_req_t *req, int status, const char *reason, const char *error, const char *detail)
{
    gw_admin_send(req, status, reason, "application/json", gw_jsonw_error(&req->pool, error, detail));
}

void gw_admin_send_405(h2o_req_t *req, const char *allow)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
    gw_admin_send_error(req, 405, "Method Not Allowed", "method_not_allowed",
                        h2o_concat(&req->pool, h2o_iovec_init(H2O_STRLIT("this endpoint takes ")), h2o_iovec_init(allow, strlen(allow))).base);
}

static int on_metrics(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    size_t len;
    char *text = gw_metrics_render(&gw_rt.conf, &len);
    char *copy = h2o_mem_alloc_pool(&req->pool, len);
    memcpy(copy, text, len);
    free(text);
    gw_admin_send(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", h2o_iovec_init(copy, len));
    return 0;
}

/* A token given and unknown: the security team's to see (a leaked old one still tried, someone guessing), with where
 * from (an operator's address, not a visitor's) and never the token. At most one line a second. */
static void log_refused_token(h2o_req_t *req)
{
    static gw_log_throttle_t throttle; /* (the admin listener is one worker's) */
    char more[64];
    if (!gw_log_throttle(&throttle, h2o_now(req->conn->ctx->loop), more, sizeof(more)))
        return;
    struct sockaddr_storage peer;
    char host[NI_MAXHOST] = "?";
    socklen_t len = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&peer);
    if (len != 0)
        h2o_socket_getnumerichost((struct sockaddr *)&peer, len, host);
    gw_warn("admin API: refused a request with an unknown token from %s (%.*s %.*s)%s", host, (int)req->method.len, req->method.base,
            (int)(req->query_at != SIZE_MAX ? req->query_at : req->path.len), req->path.base, more);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    gw_admin_caller_t caller;
    int status;

    if (gw_server_track_request(req) != 0)
        return 0;
    if ((status = authenticate(req, &caller)) != 0) {
        if (status == 403)
            log_refused_token(req);
        if (status == 401)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL, H2O_STRLIT("Bearer realm=\"consentgate-admin\""));
        gw_admin_send_error(req, status, status == 401 ? "Unauthorized" : "Forbidden", status == 401 ? "unauthorized" : "forbidden",
                        status == 401 ? "send Authorization: Bearer <token>" : "unknown token");
        return 0;
    }
    size_t pathlen = req->query_at != SIZE_MAX ? req->query_at : req->path_normalized.len;
    h2o_iovec_t path = h2o_iovec_init(req->path_normalized.base, pathlen < req->path_normalized.len ? pathlen : req->path_normalized.len);
    const char *allow = NULL; /* the methods of the path's route, when the request's is another */
    /* HEAD is GET without the body (RFC 9110 9.3.2): the same route, status and fields; h2o_send_inline sends no body to
     * a HEAD, and a streamed answer (records.c) ends after its head */
    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    for (size_t i = 0; i != num_routes; ++i) {
        size_t pl = strlen(routes[i].prefix);
        int exact = routes[i].prefix[pl - 1] != '/';
        if (path.len < pl || memcmp(path.base, routes[i].prefix, pl) != 0 || (exact && path.len != pl))
            continue;
        const char *m = routes[i].method;
        int get = m != NULL && strcmp(m, "GET") == 0;
        if (m != NULL && !h2o_memis(req->method.base, req->method.len, m, strlen(m)) && !(get && head)) {
            allow = get ? "GET, HEAD" : m;
            continue;
        }
        return routes[i].cb(req, &caller, h2o_iovec_init(path.base + pl, path.len - pl));
    }
    if (allow != NULL)
        gw_admin_send_405(req, allow);
    else
        gw_admin_send_error(req, 404, "Not Found", "not_found", "no such admin endpoint");
    return 0;
}

int gw_admin_register(h2o_hostconf_t *hostconf)
{
    h2o_pathconf_t *pc = h2o_config_register_path(hostconf, "/", 0);
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);
    gw_admin_add_route("GET", "/admin/metrics", on_metrics);
    gw_server_on_reload(reload_tokens, NULL);
    return 0;
}
