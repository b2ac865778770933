/*
 * uifiles — see uifiles.h.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <dirent.h>
#include <h2o/file.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "chain.h"
#include "log.h"
#include "mem.h"
#include "server.h"
#include "ui.h"
#include "uifiles.h"

typedef struct st_uifile_t {
    char *name;          /* relative to the folder: "banner.js", "i18n/en.json" */
    h2o_iovec_t body;    /* malloc'ed, for the process's life */
    h2o_iovec_t type;    /* Content-Type, by the name's extension */
    char etag[2 + 32 + 1]; /* "<128 bits of SHA-256 over the contents>" */
} uifile_t;

static uifile_t *files;
static size_t num_files;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(const char *full, const char *name, h2o_mimemap_t *types)
{
    uint8_t digest[SHA256_DIGEST_LENGTH];
    h2o_iovec_t body = h2o_file_read(full);
    if (body.base == NULL) {
        gw_error("consent UI: cannot read %s", full);
        return -1;
    }
    files = h2o_mem_realloc(files, (num_files + 1) * sizeof(*files));
    uifile_t *f = files + num_files++;
    f->name = gw_strdup(name);
    f->body = body;
    const char *dot = strrchr(name, '.');
    h2o_mimemap_type_t *t = dot != NULL ? h2o_mimemap_get_type_by_extension(types, h2o_iovec_init(dot + 1, strlen(dot + 1)))
                                        : h2o_mimemap_get_default_type(types);
    h2o_iovec_t type = t->type == H2O_MIMEMAP_TYPE_MIMETYPE ? t->data.mimetype : h2o_iovec_init(H2O_STRLIT("application/octet-stream"));
    f->type = h2o_strdup(NULL, type.base, type.len); /* (the table is released after the load) */
    SHA256((const unsigned char *)body.base, body.len, digest);
    f->etag[0] = '"';
    gw_hex(digest, 16, f->etag + 1);
    memcpy(f->etag + 33, "\"", 2);
    return 0;
}

/* the files under dir/rel, names sorted, a folder's files where the folder sorts (the UI hash's order) */
static int load_dir(const char *dir, const char *rel, h2o_mimemap_t *types)
{
    char path[4096];
    char *names[1024];
    size_t n = 0;
    int rc = 0;
    snprintf(path, sizeof(path), "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (d == NULL) {
        gw_error("consent UI: cannot read the folder %s", path);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n != sizeof(names) / sizeof(names[0]))
        if (e->d_name[0] != '.')
            names[n++] = gw_strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i != n; ++i) {
        char sub[2048], full[4096 + 2048];
        struct stat sb;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
        snprintf(full, sizeof(full), "%s/%s", dir, sub);
        if (rc == 0 && stat(full, &sb) == 0)
            rc = S_ISDIR(sb.st_mode) ? load_dir(dir, sub, types) : S_ISREG(sb.st_mode) ? add_file(full, sub, types) : 0;
        free(names[i]);
    }
    return rc;
}

int gw_uifiles_load(const char *dir)
{
    h2o_mimemap_t *types = h2o_mimemap_create(); /* h2o's table, as its file handler had */
    int rc = load_dir(dir, "", types);
    h2o_mem_release_shared(types);
    return rc;
}

void gw_uifiles_hash(EVP_MD_CTX *md)
{
    for (size_t i = 0; i != num_files; ++i) {
        EVP_DigestUpdate(md, files[i].name, strlen(files[i].name) + 1);
        EVP_DigestUpdate(md, files[i].body.base, files[i].body.len);
        EVP_DigestUpdate(md, "", 1);
    }
}

/* the file req names below the handler's path ("//" after it read as "/", as the file handler read it); NULL: none */
static const uifile_t *find_file(h2o_req_t *req)
{
    size_t end = req->query_at != SIZE_MAX && req->query_at < req->path_normalized.len ? req->query_at : req->path_normalized.len;
    size_t k = req->pathconf->path.len;
    if (end < k)
        return NULL;
    while (k != end && req->path_normalized.base[k] == '/')
        ++k;
    h2o_iovec_t name = h2o_iovec_init(req->path_normalized.base + k, end - k);
    if (h2o_memis(name.base, name.len > 10 ? 10 : name.len, H2O_STRLIT("templates/"))) /* read by ui.c, never served */
        return NULL;
    for (size_t i = 0; i != num_files; ++i)
        if (h2o_memis(name.base, name.len, files[i].name, strlen(files[i].name)))
            return files + i;
    return NULL;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    static h2o_generator_t generator = {NULL, NULL}; /* the body is the process's: sent as it is, not copied */
    const uifile_t *f = find_file(req);
    if (f == NULL)
        return -1;
    if (gw_server_track_request(req) != 0)
        return 0;
    int head = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"));
    if (!head && !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, H2O_STRLIT("GET, HEAD"));
        h2o_send_error_generic(req, 405, "Method Not Allowed", "method not allowed", H2O_SEND_ERROR_KEEP_HEADERS);
        return 0;
    }
    if (gw_ui_send_not_modified(req, f->etag))
        return 0;
    req->res.status = 200;
    req->res.reason = "OK";
    req->res.content_length = f->body.len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, f->type.base, f->type.len);
    h2o_start_response(req, &generator);
    h2o_iovec_t body = f->body;
    h2o_send(req, &body, head ? 0 : 1, H2O_SEND_STATE_FINAL);
    return 0;
}

void gw_uifiles_register(h2o_pathconf_t *pc)
{
    h2o_create_handler(pc, sizeof(h2o_handler_t))->on_req = on_req;
}
