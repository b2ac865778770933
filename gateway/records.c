/*
 * records — see records.h.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include "admin.h"
#include "chain.h"
#include "consent.h"
#include "front.h"
#include "geo.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "records.h"
#include "server.h"
#include "store.h"
#include "token.h"
#include "uifiles.h"

const char *gw_record_method_name(gw_record_method_t m)
{
    static const char *const names[] = {"accept_all", "reject_all", "custom", "withdraw", "gpc", "erase"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "unknown";
}

/* UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Receipts sort by time, so
 * the store's unique index on them grows at its end instead of touching a random page per record. */
static void new_uuid(char out[37], uint64_t ms)
{
    uint8_t b[16];
    if (gw_random_bytes(b, sizeof(b)) != 0)
        gw_error("records: the random generator failed: this receipt id is unique by its time only");
    for (int i = 0; i != 6; ++i)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x70); /* version 7 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    /* 8-4-4-4-12 hex digits */
    gw_hex(b, 4, out);
    out[8] = '-';
    gw_hex(b + 4, 2, out + 9);
    out[13] = '-';
    gw_hex(b + 6, 2, out + 14);
    out[18] = '-';
    gw_hex(b + 8, 2, out + 19);
    out[23] = '-';
    gw_hex(b + 10, 6, out + 24);
}

/* SHA-256 over the consent UI served (static/, uifiles.c), so a record says which banner the visitor saw */
static uint8_t ui_hash[32];

static int cmp_strings(const void *a, const void *b)
{
    const typeof(gw_rt.conf.ui.strings[0]) *x = a, *y = b;
    int c = strcmp(x->lang, y->lang);
    return c != 0 ? c : strcmp(x->key, y->key);
}

/*
 * The UI a visitor saw: the files under static/ as served (gw_uifiles_hash) and, when the operator overrides any of
 * its strings (ui.strings), "ui.strings\0" and then "lang\0key\0value\0" of each override, sorted by
 * language and key. Without overrides the hash is that of the files alone.
 */
void gw_records_init(void)
{
    const typeof(gw_rt.conf.ui) *ui = &gw_rt.conf.ui;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    gw_uifiles_hash(md);
    if (ui->num_strings != 0) {
        typeof(ui->strings[0]) *sorted = h2o_mem_alloc(ui->num_strings * sizeof(*sorted));
        memcpy(sorted, ui->strings, ui->num_strings * sizeof(*sorted));
        qsort(sorted, ui->num_strings, sizeof(*sorted), cmp_strings);
        EVP_DigestUpdate(md, "ui.strings", sizeof("ui.strings"));
        for (size_t i = 0; i != ui->num_strings; ++i) {
            EVP_DigestUpdate(md, sorted[i].lang, strlen(sorted[i].lang) + 1);
            EVP_DigestUpdate(md, sorted[i].key, strlen(sorted[i].key) + 1);
            EVP_DigestUpdate(md, sorted[i].value, strlen(sorted[i].value) + 1);
        }
        free(sorted);
    }
    EVP_DigestFinal_ex(md, ui_hash, &len);
    EVP_MD_CTX_free(md);
}

void gw_records_prepare(h2o_req_t *req, gw_record_t *rec)
{
    struct sockaddr_storage ss;
    rec->time_ms = h2o_now(req->conn->ctx->loop);
    new_uuid(rec->receipt, rec->time_ms);
    rec->client_ip[0] = '\0';
    /* the visitor's address (behind a trusted proxy, the one it forwarded), truncated to its /24 or /48 */
    if (gw_consent_client_addr(req, &ss) == 0)
        gw_addr_truncated((struct sockaddr *)&ss, rec->client_ip, sizeof(rec->client_ip));
    /* the user agent is stored only as HMAC-SHA256 under this store's own random salt */
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
    h2o_iovec_t ua = i != -1 ? req->headers.entries[i].value : h2o_iovec_init(H2O_STRLIT(""));
    gw_token_hmac(gw_store_ua_key(), ua.base, ua.len, rec->ua_hash);
    memcpy(rec->ui_hash, ui_hash, sizeof(ui_hash));
}

void gw_records_set_place(gw_record_t *rec, const gw_reqctx_t *ctx)
{
    if (ctx->regime_by_subdivision && ctx->country[0] != '\0')
        snprintf(rec->country, sizeof(rec->country), "%s-%s", ctx->country, ctx->subdivision);
    else
        snprintf(rec->country, sizeof(rec->country), "%s", ctx->country);
}

static gw_rate_table_t record_rates; /* shared by the worker threads */

int gw_records_over_rate(h2o_req_t *req, unsigned *retry_after_s)
{
    if (!gw_rate_take(&record_rates, gw_consent_client_key(req), gw_now_ms(req), gw_rt.conf.store.rate_per_minute,
                      retry_after_s))
        return 0;
    GW_COUNT(records_rate_limited);
    return 1;
}

typedef struct st_submit_t {
    gw_records_done_cb cb;
    void *data;
} submit_t;

static void on_stored(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    submit_t *s = data;
    s->cb(req, s->data, ans->status, ans->record);
}

void gw_records_submit(h2o_req_t *req, const gw_record_t *rec, gw_records_done_cb cb, void *data)
{
    submit_t *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
    s->cb = cb;
    s->data = data;
    if (gw_store_append(req, rec, on_stored, s) != 0)
        cb(req, data, -1, rec); /* queue full or store closed: nothing was written */
}

/* --- GET /admin/records?since=<ms>&after=<seq> : JSON lines, streamed page by page from the store ---------- */

/*
 * The response starts with the first page: until then the store's refusal (its queue full, store.queue_max) or failure
 * is answered 503 with the JSON error, as any admin error is. Started before, it was a 200 whose body was a broken chunk.
 */
typedef struct st_export_t {
    h2o_generator_t super;
    h2o_req_t *req;
    int64_t since;
    int64_t next_seq;
    char *page; /* the page being sent (malloc'ed; freed when the next one is asked for) */
    int started;
} export_t;

/* the store refused or failed: the error when nothing went out, else the stream ends early */
static void export_failed(export_t *x, const char *detail)
{
    if (x->started)
        h2o_send(x->req, NULL, 0, H2O_SEND_STATE_ERROR);
    else
        gw_admin_send_error(x->req, 503, "Service Unavailable", "store_unavailable", detail);
}

static void on_export_page(h2o_req_t *req, void *data, const gw_store_answer_t *ans);

static void export_next(export_t *x)
{
    free(x->page);
    x->page = NULL;
    if (gw_store_export(x->req, x->since, x->next_seq, on_export_page, x) != 0)
        export_failed(x, "the consent store is busy (store.queue_max operations waiting) or closed; try again");
}

static void export_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    export_next((export_t *)g);
}

static void export_stop(h2o_generator_t *g, h2o_req_t *req)
{
}

static void export_dispose(void *p)
{
    export_t *x = p;
    free(x->page);
}

static void export_start(export_t *x)
{
    h2o_req_t *req = x->req;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/x-ndjson"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    h2o_start_response(req, &x->super);
    x->started = 1;
}

static void on_export_page(h2o_req_t *req, void *data, const gw_store_answer_t *ans)
{
    export_t *x = data;
    if (ans->status != 0) {
        export_failed(x, "the consent records cannot be read right now");
        return;
    }
    if (!x->started)
        export_start(x);
    if (h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"))) {
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL); /* GET's status and fields, without the body: no page further */
        return;
    }
    x->page = h2o_mem_alloc(ans->body_len + 1);
    memcpy(x->page, ans->body, ans->body_len);
    x->next_seq = ans->next_seq;
    h2o_iovec_t buf = h2o_iovec_init(x->page, ans->body_len);
    h2o_send(req, &buf, 1, ans->next_seq < 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

/* the query parameter `name` as a number of 0 or more into *out (left as it is when the parameter is absent or empty);
 * 0, or -1 when it is something else */
static int query_count(h2o_req_t *req, const char *name, int64_t *out)
{
    h2o_iovec_t v = gw_req_query_param(req, name);
    char num[24] = "", *stop = num;
    if (v.base == NULL || v.len == 0)
        return 0;
    if (v.len < sizeof(num) && v.base[0] >= '0' && v.base[0] <= '9') { /* (strtoll would take a sign and spaces) */
        memcpy(num, v.base, v.len);
        num[v.len] = '\0';
        errno = 0;
        *out = strtoll(num, &stop, 10);
    }
    return stop == num || *stop != '\0' || errno == ERANGE ? -1 : 0;
}

/*
 * since=<ms>: the records whose time is at or after it; after=<seq>: the records after that one in the chain. `after` is
 * the cursor of an incremental export (the last line's seq): a record's time is the wall clock's when it was written, so
 * one written while the clock was behind (stepped back by NTP, a VM resumed) has an earlier time than records before it,
 * and an export that goes on from the last time it saw would never return it.
 */
static int on_admin_records(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath)
{
    int64_t since = 0, after = 0;
    if (query_count(req, "since", &since) != 0) {
        gw_admin_send_error(req, 400, "Bad Request", "bad_since", "since is Unix time in milliseconds");
        return 0;
    }
    if (query_count(req, "after", &after) != 0) {
        gw_admin_send_error(req, 400, "Bad Request", "bad_after", "after is the seq of a record (a line's \"seq\")");
        return 0;
    }
    export_t *x = h2o_mem_alloc_shared(&req->pool, sizeof(*x), export_dispose);
    memset(x, 0, sizeof(*x));
    x->super.proceed = export_proceed;
    x->super.stop = export_stop;
    x->req = req;
    x->since = since;
    x->next_seq = after;
    export_next(x);
    return 0;
}

void gw_records_register_admin(void)
{
    gw_admin_add_route("GET", "/admin/records", on_admin_records);
}
