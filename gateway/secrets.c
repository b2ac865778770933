/*
 * secrets — load (or on first start generate) the token signing keys. See secrets.h for the
 * file format, the rotation model and the file-mode policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include "jsonpos.h"
#include "secrets.h"
#include "server.h"

static const char link_info[] = "consentgate outbound link v1";

typedef struct st_load_ctx_t {
    const char *path;
    const char *text;
    size_t len;
    char *err;
    size_t errlen;
} load_ctx_t;

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* "path:line:col: msg" at the value found along seg[0..n) (its key with want_key), else "path: msg" */
static int report(load_ctx_t *c, const gw_jsonpos_seg_t *seg, size_t n, int want_key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int
report(load_ctx_t *c, const gw_jsonpos_seg_t *seg, size_t n, int want_key, const char *fmt, ...)
{
    char msg[256];
    gw_jsonpos_t pos;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* fall back to shorter paths: a missing member is reported at its object */
    for (size_t k = n + 1; k-- != 0;) {
        if (gw_jsonpos_find(c->text, c->len, seg, k, k == n ? want_key : 0, &pos) == 0) {
            set_err(c->err, c->errlen, "%s:%u:%u: %s", c->path, pos.line, pos.column, msg);
            return -1;
        }
    }
    set_err(c->err, c->errlen, "%s: %s", c->path, msg);
    return -1;
}

/* RFC 5869 HKDF-SHA256 with an all-zero salt, L = 32: PRK = HMAC(salt, IKM); OKM = T(1) = HMAC(PRK, info || 0x01) */
static int
derive(const uint8_t *secret, size_t len, const char *info, uint8_t out[32])
{
    static const uint8_t zero_salt[32];
    uint8_t prk[32];
    gw_token_key_t k;

    if (secret == NULL || out == NULL)
        return -1;
    gw_token_key_init(&k, 0, zero_salt, sizeof(zero_salt));
    gw_token_hmac(&k, secret, len, prk);
    gw_token_key_init(&k, 0, prk, sizeof(prk));
    const void *parts[2] = {info, "\x01"};
    size_t lens[2] = {strlen(info), 1};
    gw_token_hmacv(&k, parts, lens, 2, out);
    OPENSSL_cleanse(prk, sizeof(prk));
    gw_token_key_clear(&k);
    return 0;
}

int
gw_secrets_derive_link_key(const uint8_t *secret, size_t len, uint8_t out[32])
{
    return derive(secret, len, link_info, out);
}

int
gw_secrets_derive_seal_key(const uint8_t *secret, size_t len, uint8_t out[32])
{
    return derive(secret, len, "consentgate records seal v1", out);
}

/* validates one element of "keys" and installs it as out->keys[i] */
static int
parse_key(load_ctx_t *c, json_t *obj, size_t i, gw_secrets_t *out, int *primary_seen)
{
    gw_jsonpos_seg_t seg[3] = {{"keys", 0}, {NULL, i}, {NULL, 0}};
    const char *name;
    json_t *v, *id = NULL, *secret = NULL, *primary = NULL;
    uint8_t raw[GW_SECRET_LEN + 3], link[32];

    if (!json_is_object(obj))
        return report(c, seg, 2, 0, "keys[%zu]: must be an object", i);
    json_object_foreach(obj, name, v)
    {
        seg[2].key = name;
        if (strcmp(name, "id") == 0) {
            id = v;
        } else if (strcmp(name, "secret") == 0) {
            secret = v;
        } else if (strcmp(name, "primary") == 0) {
            primary = v;
        } else if (strcmp(name, "created") == 0) {
            if (!json_is_string(v))
                return report(c, seg, 3, 0, "keys[%zu].created: must be a string", i);
        } else {
            return report(c, seg, 3, 1, "keys[%zu]: unknown key \"%s\" (expected id, secret, primary, created)", i, name);
        }
    }
    if (id == NULL)
        return report(c, seg, 2, 0, "keys[%zu]: missing \"id\"", i);
    seg[2].key = "id";
    if (!json_is_integer(id) || json_integer_value(id) < 1 || json_integer_value(id) > 255)
        return report(c, seg, 3, 0, "keys[%zu].id: must be an integer 1..255", i);
    uint8_t kid = (uint8_t)json_integer_value(id);
    for (size_t j = 0; j != i; ++j)
        if (out->keys[j].id == kid)
            return report(c, seg, 3, 0, "keys[%zu].id: duplicate key id %u (also keys[%zu])", i, kid, j);
    if (secret == NULL)
        return report(c, seg, 2, 0, "keys[%zu]: missing \"secret\"", i);
    seg[2].key = "secret";
    if (!json_is_string(secret))
        return report(c, seg, 3, 0, "keys[%zu].secret: must be a string", i);
    if (gw_b64url_decode(json_string_value(secret), json_string_length(secret), raw, sizeof(raw)) != GW_SECRET_LEN) {
        OPENSSL_cleanse(raw, sizeof(raw));
        return report(c, seg, 3, 0, "keys[%zu].secret: must be base64url (no padding) of exactly %d bytes", i, GW_SECRET_LEN);
    }
    if (primary != NULL) {
        seg[2].key = "primary";
        if (!json_is_boolean(primary)) {
            OPENSSL_cleanse(raw, sizeof(raw));
            return report(c, seg, 3, 0, "keys[%zu].primary: must be true or false", i);
        }
        if (json_is_true(primary)) {
            if (*primary_seen) {
                OPENSSL_cleanse(raw, sizeof(raw));
                return report(c, seg, 3, 0, "keys[%zu].primary: only one key can be primary (also keys[%zu])", i, out->primary);
            }
            *primary_seen = 1;
            out->primary = i;
        }
    }
    gw_token_key_init(&out->keys[i], kid, raw, GW_SECRET_LEN);
    gw_secrets_derive_link_key(raw, GW_SECRET_LEN, link);
    gw_token_key_init(&out->link_keys[i], kid, link, sizeof(link));
    gw_secrets_derive_seal_key(raw, GW_SECRET_LEN, link);
    gw_token_key_init(&out->seal_keys[i], kid, link, sizeof(link));
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(link, sizeof(link));
    return 0;
}

static int
parse(load_ctx_t *c, gw_secrets_t *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(c->text, c->len, JSON_REJECT_DUPLICATES, &jerr), *keys = NULL, *v;
    gw_jsonpos_seg_t seg[1] = {{"keys", 0}};
    const char *name;
    int primary_seen = 0, ret = -1;

    if (root == NULL) {
        /* jansson counts columns from 0 at a line's start (end of input): clamp to 1-based */
        if (jerr.line < 1)
            set_err(c->err, c->errlen, "%s: %s", c->path, jerr.text);
        else
            set_err(c->err, c->errlen, "%s:%d:%d: %s", c->path, jerr.line, jerr.column < 1 ? 1 : jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        report(c, NULL, 0, 0, "must be an object {\"keys\": [...]}");
        goto Exit;
    }
    json_object_foreach(root, name, v)
    {
        if (strcmp(name, "keys") != 0) {
            gw_jsonpos_seg_t unknown[1] = {{name, 0}};
            report(c, unknown, 1, 1, "unknown key \"%s\" (expected \"keys\")", name);
            goto Exit;
        }
        keys = v;
    }
    if (keys == NULL) {
        report(c, NULL, 0, 0, "missing \"keys\"");
        goto Exit;
    }
    if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > GW_SECRETS_MAX_KEYS) {
        report(c, seg, 1, 0, "keys: must be an array of 1..%d keys", GW_SECRETS_MAX_KEYS);
        goto Exit;
    }
    for (size_t i = 0; i != json_array_size(keys); ++i) {
        if (parse_key(c, json_array_get(keys, i), i, out, &primary_seen) != 0)
            goto Exit;
        out->num_keys = i + 1;
    }
    if (!primary_seen) {
        report(c, seg, 1, 0, "keys: no key is marked \"primary\": true");
        goto Exit;
    }
    ret = 0;
Exit:
    json_decref(root);
    return ret;
}

/* reads the whole file; 0 on success, -1 with errno-style message, 1 if it does not exist */
static int
read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    size_t off = 0;

    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        set_err(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        goto Error;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, errlen, "%s: not a regular file", path);
        goto Error;
    }
    if ((st.st_mode & 077) != 0) {
        set_err(err, errlen, "%s: secrets file is accessible by group or others (mode %04o); run chmod 600", path,
                (unsigned)(st.st_mode & 07777));
        goto Error;
    }
    if (st.st_size > GW_SECRETS_MAX_FILE) {
        set_err(err, errlen, "%s: larger than %d bytes", path, GW_SECRETS_MAX_FILE);
        goto Error;
    }
    if ((*text = malloc((size_t)st.st_size + 1)) == NULL) {
        set_err(err, errlen, "%s: out of memory", path);
        goto Error;
    }
    while (off < (size_t)st.st_size && (n = read(fd, *text + off, (size_t)st.st_size - off)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            set_err(err, errlen, "%s: read error: %s", path, strerror(errno));
            free(*text);
            *text = NULL;
            goto Error;
        }
        off += (size_t)n;
    }
    (*text)[off] = '\0';
    *len = off;
    close(fd);
    return 0;
Error:
    close(fd);
    return -1;
}

/* creates the file with one random primary key; 0 also when another process created it first */
static int
generate(const char *path, char *err, size_t errlen)
{
    uint8_t secret[GW_SECRET_LEN], rnd[8];
    char b64[GW_B64URL_ENCODED_LEN(GW_SECRET_LEN) + 1], tmp[4200], text[256], stamp[32];
    struct tm tm;
    time_t now = time(NULL);
    int fd, ret = -1;

    if (gw_make_parents(path, 0700) != 0) { /* (new folders 0700) */
        set_err(err, errlen, "%s: cannot create its folder: %s", path, strerror(errno));
        return -1;
    }
    if (RAND_bytes(secret, sizeof(secret)) != 1 || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        set_err(err, errlen, "%s: no randomness for a new key", path);
        return -1;
    }
    gw_b64url_encode(secret, sizeof(secret), b64, sizeof(b64));
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    int tlen =
        snprintf(text, sizeof(text),
                 "{\"keys\": [\n  {\"id\": 1, \"secret\": \"%s\", \"primary\": true, \"created\": \"%s\"}\n]}\n", b64, stamp);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
                 rnd[6], rnd[7]) >= (int)sizeof(tmp)) {
        set_err(err, errlen, "%s: path too long", path);
        goto Exit;
    }
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        set_err(err, errlen, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        goto Exit;
    }
    if (gw_write_all(fd, text, (size_t)tlen) != 0 || fsync(fd) != 0) {
        set_err(err, errlen, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto Exit;
    }
    close(fd);
    /* link() never replaces: a concurrent creator wins and we load its key */
    if (link(tmp, path) != 0 && errno != EEXIST) {
        set_err(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        unlink(tmp);
        goto Exit;
    }
    unlink(tmp);
    /* make the new name durable */
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        set_err(err, errlen, "%s: cannot sync folder %s: %s", path, dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        goto Exit;
    }
    close(dfd);
    ret = 0;
Exit:
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(b64, sizeof(b64));
    OPENSSL_cleanse(text, sizeof(text));
    return ret;
}

static int
load(const char *path, int create, gw_secrets_t *out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int created = 0, r;

    memset(out, 0, sizeof(*out));
    if (path == NULL || *path == '\0') {
        set_err(err, errlen, "secrets: no file name");
        return -1;
    }
    if ((r = read_file(path, &text, &len, err, errlen)) == 1 && !create) {
        set_err(err, errlen, "%s: missing (a new key is made at the first start only: every token signed with the keys in force "
                             "would stop verifying)", path);
        return -1;
    }
    if (r == 1) {
        if (generate(path, err, errlen) != 0)
            return -1;
        created = 1;
        r = read_file(path, &text, &len, err, errlen);
        if (r == 1)
            set_err(err, errlen, "%s: vanished after creation", path);
    }
    if (r != 0)
        return -1;
    load_ctx_t c = {path, text, len, err, errlen};
    r = parse(&c, out);
    OPENSSL_cleanse(text, len);
    free(text);
    if (r != 0) {
        gw_secrets_clear(out);
        return -1;
    }
    out->created = created;
    return 0;
}

int
gw_secrets_load(const char *path, gw_secrets_t *out, char *err, size_t errlen)
{
    return load(path, 1, out, err, errlen);
}

int
gw_secrets_reload(const char *path, gw_secrets_t *out, char *err, size_t errlen)
{
    return load(path, 0, out, err, errlen);
}

const gw_token_key_t *
gw_secrets_primary(const gw_secrets_t *s)
{
    return &s->keys[s->primary];
}

const gw_token_key_t *
gw_secrets_link_key(const gw_secrets_t *s)
{
    return &s->link_keys[s->primary];
}

void
gw_secrets_clear(gw_secrets_t *s)
{
    if (s != NULL)
        OPENSSL_cleanse(s, sizeof(*s));
}
