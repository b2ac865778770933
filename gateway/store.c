/*
 * store — see store.h.
 *
 * Schema (version 3; older files are migrated at start):
 *   meta(key PRIMARY KEY, value)        schema_version, chain_anchor (hash before the oldest row), seal, revocations_seal, ua_salt,
 *                                       revocation_salt, token_max_age_days (the longest consent_max_age_days seen)
 *   records(seq INTEGER PRIMARY KEY, receipt UNIQUE, visitor, visitor_nonce, visitor_commit,
 *           time_ms, policy_version, granted, refused, regime, country, method, client_ip,
 *           ua_hash, ui_hash, prev_hash, hash)
 *   injections(...)                     CSP reports (version 2)
 *   revocations(visitor_hash, category, cut; PRIMARY KEY (visitor_hash, category))   (version 3, revoke.h)
 *           visitor_hash: hex of gw_revoke_key under revocation_salt (never the id); category: a category's name,
 *           or '' for the erasure's time; cut: Unix seconds
 *
 * Durability: WAL with synchronous=FULL, so COMMIT returns after the WAL is fsynced. Before
 * each batch the writer checks that the database file is still the one it opened and is
 * writable; a removed or read-only store fails the batch (the visitors get 503 and no
 * cookie) instead of writing into an unlinked file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include "chain.h"
#include "csp_report.h"
#include "config.h"
#include "jsonw.h"
#include "log.h"
#include "mem.h"
#include "qsbr.h"
#include "revoke.h"
#include "secrets.h"
#include "url.h"
#include "server.h"
#include "store.h"
#include "token.h"

#define SCHEMA_VERSION 3
#define PSEUDONYM_PREFIX "erased-" /* an erased visitor id becomes this and 32 random hex digits */
#define EXPORT_PAGE 500
#define PURGE_INTERVAL_MS (3600 * 1000)
static int64_t purge_interval_ms = PURGE_INTERVAL_MS; /* (CG_PURGE_SECONDS: a test's shorter interval) */

typedef enum en_op_kind_t { OP_APPEND, OP_RECEIPTS, OP_ERASE, OP_EXPORT, OP_INJECTIONS_ADD, OP_INJECTIONS_LIST } op_kind_t;

typedef struct st_guard_t guard_t;

typedef struct st_op_t {
    h2o_multithread_message_t msg; /* the answer travels back in this message */
    struct st_op_t *next;          /* queue link */
    struct st_op_t *more;          /* answers that travel with this one (same worker, same commit) */
    op_kind_t kind;
    size_t thread;     /* submitting worker */
    h2o_req_t *req;    /* NULL once the request is gone (only touched on the worker thread) */
    guard_t *guard;    /* ditto */
    gw_store_answer_cb cb;
    void *data;
    gw_record_t rec;
    uint8_t visitor[16];
    int64_t since_ms, after_seq;
    gw_store_answer_t ans;
    char error[256];
    gw_csp_violation_t *violations; /* OP_INJECTIONS_ADD (malloc'ed) */
    int revokes;                    /* OP_APPEND, OP_ERASE: the commit writes rv for rv_key (revocations) */
    uint32_t rv_key[4];
    gw_revocation_t rv;
    size_t num_violations;
    struct timespec queued_at; /* CLOCK_MONOTONIC */
} op_t;

/* lives in the request's pool; tells the op when the request is disposed */
struct st_guard_t {
    op_t *op;
};

static struct {
    sqlite3 *db;
    char *path;
    char *wal_path;
    dev_t wal_dev; /* the -wal file SQLite writes into (wal_usable) */
    ino_t wal_ino;
    int lock_fd; /* the database file, flock()ed: one gateway per store */
    dev_t dev;
    ino_t ino;
    unsigned retention_days;
    unsigned report_retention_days, reports_max; /* gw_store_set_report_limits (0: the records' retention, no cap) */
    char head[GW_CHAIN_HEX];   /* hash of the newest record */
    char anchor[GW_CHAIN_HEX]; /* hash the chain starts from: genesis, or the last purge's anchor */
    size_t queue_max;          /* store.queue_max */
    sqlite3_stmt *insert;     /* prepared once (writer thread) */
    sqlite3_stmt *seal;       /* likewise, meta's upsert (the seals') */
    sqlite3_stmt *begin, *commit; /* likewise, a batch's BEGIN IMMEDIATE and COMMIT (stmt) */
    int wal_pages;            /* WAL size after the last commit (wal hook) */
    pthread_t tid;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    op_t *first, **last;
    size_t queued;
    size_t waiting_for; /* the writer waits until this many ops are queued (0: for the first one) */
    unsigned commit_delay_us;
    int stopping, running;
    int64_t next_purge_ms; /* CLOCK_MONOTONIC: a wall clock stepped back held the purge off by the step */
} st = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/*
 * Commit delay (store.commit_delay_ms): a commit of fewer than DELAY_BATCH ops waits until the
 * oldest of them has been queued that long, for more to join. At a moderate rate (1,000/s) a
 * commit then takes a few consents instead of one, and the disk sees a third of the fsyncs,
 * at the price of that delay on each answer; under a high load batches are larger than
 * DELAY_BATCH already and nobody waits (as MySQL's binlog_group_commit_sync_delay/no_delay_count).
 */
#define DELAY_BATCH 8

static h2o_multithread_receiver_t *receivers; /* one per worker thread */
static int64_t now_ms_public(void);

/* --- worker side ------------------------------------------------------------------------------- */

static void on_guard_dispose(void *p)
{
    guard_t *g = p;
    if (g->op != NULL) {
        g->op->req = NULL;
        g->op->guard = NULL;
    }
}

static void on_answers(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        op_t *op = H2O_STRUCT_FROM_MEMBER(op_t, msg.link, messages->next), *more;
        h2o_linklist_unlink(&op->msg.link);
        for (; op != NULL; op = more) {
            more = op->more;
            if (op->req != NULL) {
                op->guard->op = NULL;
                op->ans.record = &op->rec;
                op->ans.error = op->error[0] != '\0' ? op->error : NULL;
                op->cb(op->req, op->data, &op->ans);
            }
            free((void *)op->ans.body);
            free(op->violations);
            free(op);
        }
    }
}

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    h2o_multithread_register_receiver(ctx->queue, receivers + index, on_answers);
}

/* what an operator alerts on (gw_store_stats): relaxed atomics, read by the metrics page */
static uint64_t stat_refused, stat_failed, stat_queued;

void gw_store_stats(uint64_t *queued, uint64_t *refused, uint64_t *failed)
{
    *queued = __atomic_load_n(&stat_queued, __ATOMIC_RELAXED);
    *refused = __atomic_load_n(&stat_refused, __ATOMIC_RELAXED);
    *failed = __atomic_load_n(&stat_failed, __ATOMIC_RELAXED);
}

static int submit(h2o_req_t *req, op_t *op, gw_store_answer_cb cb, void *data)
{
    op->req = req;
    op->cb = cb;
    op->data = data;
    op->thread = gw_thread_index();
    op->ans.next_seq = -1;
    if (op->kind == OP_APPEND && st.commit_delay_us != 0) /* only appends wait for company (wait_for_batch) */
        clock_gettime(CLOCK_MONOTONIC, &op->queued_at);
    pthread_mutex_lock(&st.mutex);
    if (!st.running || st.stopping || st.queued >= st.queue_max) {
        pthread_mutex_unlock(&st.mutex);
        __atomic_add_fetch(&stat_refused, 1, __ATOMIC_RELAXED);
        free(op->violations);
        free(op);
        return -1;
    }
    guard_t *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), on_guard_dispose);
    g->op = op;
    op->guard = g;
    op->next = NULL;
    int was_empty = st.first == NULL;
    *st.last = op;
    st.last = &op->next;
    ++st.queued;
    __atomic_store_n(&stat_queued, st.queued, __ATOMIC_RELAXED);
    if (was_empty || (st.waiting_for != 0 && st.queued >= st.waiting_for))
        pthread_cond_signal(&st.cond); /* the writer waits for a first op, or for a batch (commit delay) */
    pthread_mutex_unlock(&st.mutex);
    return 0;
}

static op_t *new_op(op_kind_t kind)
{
    op_t *op = gw_calloc(1, sizeof(*op));
    op->kind = kind;
    return op;
}

int gw_store_append(h2o_req_t *req, const gw_record_t *rec, gw_store_answer_cb cb, void *data)
{
    op_t *op = new_op(OP_APPEND);
    op->rec = *rec;
    return submit(req, op, cb, data);
}

int gw_store_receipts(h2o_req_t *req, const uint8_t visitor[16], gw_store_answer_cb cb, void *data)
{
    op_t *op = new_op(OP_RECEIPTS);
    memcpy(op->visitor, visitor, 16);
    return submit(req, op, cb, data);
}

int gw_store_erase(h2o_req_t *req, const uint8_t visitor[16], const gw_record_t *erase_rec, gw_store_answer_cb cb, void *data)
{
    op_t *op = new_op(OP_ERASE);
    memcpy(op->visitor, visitor, 16);
    op->rec = *erase_rec;
    return submit(req, op, cb, data);
}

int gw_store_add_injections(h2o_req_t *req, const gw_csp_violation_t *v, size_t n, const char *client_ip, gw_store_answer_cb cb,
                            void *data)
{
    op_t *op = new_op(OP_INJECTIONS_ADD);
    op->violations = h2o_mem_alloc(sizeof(*v) * n);
    memcpy(op->violations, v, sizeof(*v) * n);
    op->num_violations = n;
    snprintf(op->rec.client_ip, sizeof(op->rec.client_ip), "%s", client_ip);
    op->rec.time_ms = (uint64_t)now_ms_public();
    return submit(req, op, cb, data);
}

int gw_store_list_injections(h2o_req_t *req, gw_store_answer_cb cb, void *data)
{
    return submit(req, new_op(OP_INJECTIONS_LIST), cb, data);
}

int gw_store_export(h2o_req_t *req, int64_t since_ms, int64_t after_seq, gw_store_answer_cb cb, void *data)
{
    op_t *op = new_op(OP_EXPORT);
    op->since_ms = since_ms;
    op->after_seq = after_seq;
    return submit(req, op, cb, data);
}

/* --- writer side: SQL helpers ----------------------------------------------------------------- */

static int exec(const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(st.db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(st.db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* sql (one statement, no rows) through a statement prepared on first use into *s and kept: a batch's BEGIN and COMMIT,
 * which sqlite3_exec parsed again for every batch */
static int stmt(sqlite3_stmt **s, const char *sql, char *err, size_t errlen)
{
    int ok = (*s != NULL || sqlite3_prepare_v3(st.db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) == SQLITE_OK) &&
             sqlite3_step(*s) == SQLITE_DONE;
    if (!ok)
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    sqlite3_reset(*s); /* (after the step, as write_seal: a failed step's error is not carried into the next one) */
    return ok ? 0 : -1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* for intervals: the wall clock steps (NTP, a VM resumed), this one does not */
static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the names of mask's categories, comma-separated, into out (cap bytes; names that do not fit are left out); its length.
 * memcpy, not snprintf: the writer thread writes two of these per record */
static size_t mask_csv(uint16_t mask, char *out, size_t cap)
{
    const gw_config_t *c = &gw_rt.conf;
    size_t n = 0;
    for (size_t i = 0; i != c->num_categories; ++i)
        if (mask & (1u << i)) {
            size_t len = strlen(c->categories[i]), comma = n != 0;
            if (n + comma + len >= cap)
                break;
            out[n] = ',';
            memcpy(out + n + comma, c->categories[i], len);
            n += comma + len;
        }
    out[n] = '\0';
    return n;
}

static const char *const regime_names[] = {"opt-in", "opt-out", "notice"};

/* inserts one record, chaining it to st.head; on success st.head moves on */
static int insert_record(gw_record_t *rec, const char *visitor_text, char *err, size_t errlen)
{
    static const char sql[] = "INSERT INTO records (receipt, visitor, visitor_nonce, visitor_commit, time_ms, policy_version, "
                              "granted, refused, regime, country, method, client_ip, ua_hash, ui_hash, prev_hash, hash) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
    char visitor_hex[33], nonce_hex[33], commit[GW_CHAIN_HEX], ua[GW_CHAIN_HEX], ui[GW_CHAIN_HEX], hash[GW_CHAIN_HEX];
    char granted[GW_MAX_CATEGORIES * (GW_CATEGORY_NAME_MAX + 1)], refused[sizeof(granted)]; /* every name and a comma */
    uint8_t nonce[16];
    sqlite3_stmt *s = NULL;
    int rc;

    if (gw_random_bytes(nonce, sizeof(nonce)) != 0) {
        snprintf(err, errlen, "the random generator failed");
        return -1;
    }
    gw_hex(rec->visitor, 16, visitor_hex);
    gw_hex(nonce, 16, nonce_hex);
    gw_chain_commit(nonce, rec->visitor, commit);
    gw_hex(rec->ua_hash, 32, ua);
    gw_hex(rec->ui_hash, 32, ui);
    size_t granted_len = mask_csv(rec->granted, granted, sizeof(granted));
    size_t refused_len = mask_csv(rec->refused, refused, sizeof(refused));
    gw_chain_row_t row = {rec->receipt, commit, (int64_t)rec->time_ms, rec->policy_version, granted, refused,
                          regime_names[rec->regime < 3 ? rec->regime : 0], rec->country, gw_record_method_name(rec->method),
                          rec->client_ip, ua, ui, st.head};
    gw_chain_hash(&row, hash);

    if (st.insert == NULL && sqlite3_prepare_v3(st.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st.insert, NULL) != SQLITE_OK)
        goto Error;
    s = st.insert;
    sqlite3_reset(s);
    /* every parameter is bound anew (no sqlite3_clear_bindings needed), from buffers that outlive the step (SQLITE_STATIC:
     * no copy), with the lengths known here (hex: 32 or 64 digits) */
    sqlite3_bind_text(s, 1, rec->receipt, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, visitor_text != NULL ? visitor_text : visitor_hex, -1, SQLITE_STATIC);
    if (visitor_text == NULL)
        sqlite3_bind_text(s, 3, nonce_hex, 32, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 3); /* a pseudonym: nothing to tie the commitment to */
    sqlite3_bind_text(s, 4, commit, GW_CHAIN_HEX - 1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)rec->time_ms);
    sqlite3_bind_int64(s, 6, rec->policy_version);
    sqlite3_bind_text(s, 7, granted, (int)granted_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, refused, (int)refused_len, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, row.regime, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, rec->country, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 11, row.method, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, rec->client_ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 13, ua, GW_CHAIN_HEX - 1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, ui, GW_CHAIN_HEX - 1, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, st.head, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 16, hash, GW_CHAIN_HEX - 1, SQLITE_STATIC);
    if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        goto Error;
    sqlite3_reset(s);
    memcpy(st.head, hash, sizeof(st.head));
    return 0;
Error:
    snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    if (s != NULL)
        sqlite3_reset(s);
    return -1;
}

/* counts WAL pages after each commit; checkpoints run from the writer loop instead of inside COMMIT */
static int on_wal(void *data, sqlite3 *db, const char *name, int pages)
{
    st.wal_pages = pages;
    return SQLITE_OK;
}

#define WAL_CHECKPOINT_IDLE_PAGES 1000  /* checkpoint when the queue is empty and the WAL holds this much */
#define WAL_CHECKPOINT_FORCE_PAGES 16384 /* …or always past this (64 MiB), so the WAL stays bounded under load */

static void maybe_checkpoint(int idle)
{
    if (st.wal_pages >= WAL_CHECKPOINT_FORCE_PAGES || (idle && st.wal_pages >= WAL_CHECKPOINT_IDLE_PAGES)) {
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(st.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        st.wal_pages = log - done > 0 ? log - done : 0;
    }
}

#define BUSY_TIMEOUT_MS 5000

/*
 * After an erasure or a purge: what went is still in the WAL, in the frames of the pages as they were (an erased
 * visitor id, in a file that keeps its frames until a later commit happens to overwrite them, for days on a quiet
 * site); freed space in the database file is zeroed by secure_delete. A TRUNCATE checkpoint copies the pages into the
 * database and empties the WAL. Without waiting for readers: one holding a snapshot (an operator's sqlite3) leaves
 * the WAL as it is, said in the log, and the next erasure or purge tries again.
 */
static void empty_wal(const char *after)
{
    int log = 0, done = 0;
    sqlite3_busy_timeout(st.db, 0);
    if (sqlite3_wal_checkpoint_v2(st.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) != SQLITE_OK) {
        gw_warn("consent store: the WAL still holds what the %s removed (%s)", after, sqlite3_errmsg(st.db));
    } else {
        st.wal_pages = 0;
        /* the index on disk says so too: an index written back before the checkpoint (frames not yet copied) beside a
         * WAL whose truncation reached the disk, after a power cut, would read as a WAL cut short (wal_complete) */
        char shm[4096 + 8];
        snprintf(shm, sizeof(shm), "%s-shm", st.path);
        int fd = open(shm, O_RDWR | O_CLOEXEC);
        if (fd != -1) {
            fdatasync(fd);
            close(fd);
        }
    }
    sqlite3_busy_timeout(st.db, BUSY_TIMEOUT_MS);
}

/* --- the seal (chain.h): both ends of the chain under a key of the secrets file ------------------ */

static gw_token_key_t seal_keys[GW_SECRETS_MAX_KEYS];
static size_t num_seal_keys, seal_primary;
static int seal_keys_made; /* of a secrets file made by this start */

void gw_store_set_seal_keys(const gw_token_key_t *keys, size_t n, size_t primary, int made)
{
    num_seal_keys = n < GW_SECRETS_MAX_KEYS ? n : GW_SECRETS_MAX_KEYS;
    memcpy(seal_keys, keys, num_seal_keys * sizeof(keys[0]));
    seal_primary = primary < num_seal_keys ? primary : 0;
    seal_keys_made = made;
}

static const gw_token_key_t *find_seal_key(const gw_token_key_t *keys, size_t n, unsigned id)
{
    for (size_t i = 0; i != n; ++i)
        if (keys[i].id == id)
            return keys + i;
    return NULL;
}

/* meta's key set to value, inside the caller's transaction, by one statement kept for the seals' upserts */
static int meta_put(const char *key, const char *value, char *err, size_t errlen)
{
    if (st.seal == NULL &&
        sqlite3_prepare_v2(st.db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", -1, &st.seal, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        return -1;
    }
    /* reset after every step, as insert_record does: sqlite3_reset returns the outcome of the step before it, so a seal
     * write that failed once (a full disk) made the next batch's fail too when reset was asked first */
    int ok = sqlite3_bind_text(st.seal, 1, key, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(st.seal, 2, value, -1, SQLITE_STATIC) == SQLITE_OK && sqlite3_step(st.seal) == SQLITE_DONE;
    if (!ok)
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    sqlite3_reset(st.seal);
    sqlite3_clear_bindings(st.seal); /* (the values were the caller's) */
    return ok ? 0 : -1;
}

/* inside a transaction that moved an end of the chain: the seal of the new ends */
static int write_seal(char *err, size_t errlen)
{
    char seal[GW_CHAIN_SEAL_LEN];
    if (num_seal_keys == 0)
        return 0;
    gw_chain_seal(seal_keys + seal_primary, st.anchor, st.head, seal);
    return meta_put("seal", seal, err, errlen);
}

/* meta's value for key into out (truncated to len - 1 bytes): 1, 0 when there is none (out untouched), -1 when the
 * table cannot be read (sqlite3_errmsg says why) */
static int meta_get(sqlite3 *db, const char *key, char *out, size_t len)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) == SQLITE_OK) {
        rc = sqlite3_step(s) == SQLITE_ROW;
        if (rc == 1)
            snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return rc;
}

/* meta.seal, or "" when there is none */
static void read_seal(sqlite3 *db, char out[GW_CHAIN_SEAL_LEN])
{
    out[0] = '\0';
    (void)meta_get(db, "seal", out, GW_CHAIN_SEAL_LEN); /* out untouched when there is none */
}

/* 1: the seal matches anchor and head; 0: it does not; -1: made with a key not among keys */
static int seal_matches(const char *seal, const gw_token_key_t *keys, size_t n, const char *anchor, const char *head)
{
    char want[GW_CHAIN_SEAL_LEN];
    const gw_token_key_t *k = find_seal_key(keys, n, (unsigned)atoi(seal));
    if (k == NULL)
        return -1;
    gw_chain_seal(k, anchor, head, want);
    return strcmp(want, seal) == 0;
}

/*
 * A seal that does not match the chain's ends may match an older end: the records after it were added without sealing,
 * as a build from before sealing does when run on a sealed store (a downgrade and back), or as anyone writing into the
 * file does. Returns 1 with *seq the newest record the seal covers (0: none) and *added the records after it; 0 when
 * the seal matches no end (records removed, or the seal altered); -1 when the records cannot be read.
 */
static int sealed_before(sqlite3 *db, const char *seal, const gw_token_key_t *keys, size_t n, const char *anchor, int64_t *seq,
                         int64_t *added)
{
    sqlite3_stmt *s = NULL;
    int found = 0, step = SQLITE_DONE;
    *seq = 0;
    *added = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM records ORDER BY seq DESC", -1, &s, NULL) != SQLITE_OK)
        return -1;
    while (!found && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(s, 1);
        if (hash != NULL && seal_matches(seal, keys, n, anchor, hash) == 1) {
            *seq = sqlite3_column_int64(s, 0);
            found = 1;
        } else {
            ++*added;
        }
    }
    sqlite3_finalize(s);
    if (!found && step != SQLITE_DONE)
        return -1;
    return found || seal_matches(seal, keys, n, anchor, anchor) == 1; /* sealed while it held no records */
}

/* the first record after `seq`, by its receipt (the one an operator looks up), into out */
static void receipt_after(sqlite3 *db, int64_t seq, char *out, size_t len)
{
    sqlite3_stmt *s = NULL;
    snprintf(out, len, "?");
    if (sqlite3_prepare_v2(db, "SELECT receipt FROM records WHERE seq > ?1 ORDER BY seq LIMIT 1", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_bind_int64(s, 1, seq) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

/* why a seal that does not match the chain's ends does not, into out */
static void seal_mismatch(sqlite3 *db, const char *seal, const gw_token_key_t *keys, size_t n, const char *anchor, char *out,
                          size_t len)
{
    int64_t seq, added;
    char receipt[64];
    if (sealed_before(db, seal, keys, n, anchor, &seq, &added) != 1) {
        snprintf(out, len, "records were removed from the end, or from the start with the anchor changed, or the seal was altered");
        return;
    }
    receipt_after(db, seq, receipt, sizeof(receipt));
    snprintf(out, len,
             "the seal covers the records up to seq=%lld; %lld record(s) after it (from receipt %s) were added without sealing, by a "
             "consentgate build from before sealing run on this store, or by someone else (README, Upgrades: keeping or "
             "dropping them)",
             (long long)seq, (long long)added, receipt);
}

/* 1: the store has a history (records, or the anchor a purge left); 0: none, or no tables yet (a new file) */
static int has_history(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int tables = 0, history = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'records')", -1, &s,
                           NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        tables = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (tables == 2 &&
        sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM records) OR EXISTS (SELECT 1 FROM meta WHERE key = 'chain_anchor')",
                           -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        history = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return history;
}

int gw_store_has_history(const char *path)
{
    sqlite3 *db = NULL;
    int history = 0;
    if (access(path, F_OK) == 0 && sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        history = has_history(db);
    sqlite3_close(db);
    return history;
}

/*
 * At start, before anything is written: a store with a history and the keys of a secrets file this start made. The
 * file that goes with the store is missing (moved, not restored with the store, another secrets_file): going on would
 * leave every visitor's token unverifiable (no consent for anyone) and seal the records anew under a key that never
 * saw them.
 */
static int check_new_keys(char *err, size_t errlen)
{
    if (!seal_keys_made || !has_history(st.db))
        return 0;
    snprintf(err, errlen, "it holds records, but the secrets file did not exist and was made by this start: restore the secrets "
                          "file that goes with this store (with a new key every visitor's consent token would count as none; "
                          "README, Upgrades)");
    return -1;
}

/* at start: a seal that does not match means records went, changed or came while the gateway was down: refuse, rather
 * than chain on and seal that; none yet (a store from before sealing, or a seal removed): seal it now, said in the log
 * with what it seals, since a seal removed and records deleted with it would be sealed as they are */
static int check_seal(char *err, size_t errlen)
{
    char seal[GW_CHAIN_SEAL_LEN];
    if (num_seal_keys == 0)
        return 0;
    read_seal(st.db, seal);
    if (seal[0] == '\0') {
        if (strcmp(st.head, st.anchor) != 0)
            gw_warn("consent store: it carries no seal (a store from before sealing, or its seal was removed): sealed as it is "
                    "now, its newest record's hash %.16s…",
                    st.head);
    } else {
        int m = seal_matches(seal, seal_keys, num_seal_keys, st.anchor, st.head);
        if (m == 0) {
            char why[400];
            seal_mismatch(st.db, seal, seal_keys, num_seal_keys, st.anchor, why, sizeof(why));
            snprintf(err, errlen, "the records' seal does not match their chain (%s; --verify-records tells more)", why);
            return -1;
        }
        if (m == 1)
            return 0;
        gw_warn("consent store: its seal was made with key %d, no longer in the secrets file: sealed again with the primary key",
                atoi(seal));
    }
    return write_seal(err, errlen); /* one statement: its own transaction */
}

static int load_head(char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    memcpy(st.head, gw_chain_genesis, sizeof(st.head));
    memcpy(st.anchor, gw_chain_genesis, sizeof(st.anchor));
    if (meta_get(st.db, "chain_anchor", st.anchor, sizeof(st.anchor)) < 0)
        goto Exit;
    if (sqlite3_prepare_v2(st.db, "SELECT hash FROM records ORDER BY seq DESC LIMIT 1", -1, &s, NULL) != SQLITE_OK)
        goto Exit;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        snprintf(st.head, sizeof(st.head), "%s", (const char *)sqlite3_column_text(s, 0));
    } else if (step == SQLITE_DONE) {
        /* empty table: continue from the anchor left by a retention purge, if any */
        memcpy(st.head, st.anchor, sizeof(st.head));
    } else {
        goto Exit;
    }
    rc = 0;
Exit:
    if (rc != 0)
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    return rc;
}

/*
 * The identity (device, inode) and mode of the file at path, as stat() gives them, but without asking for its times:
 * the writer looks at the -wal file (wal_usable) and the database file before every batch, and on Linux ≥ 6.13 a stat
 * that reads a file's times makes its next write take a fine-grained new mtime (multigrain timestamps), which makes the
 * inode dirty, and every COMMIT's fdatasync of the -wal file then wrote the inode too, waiting for a second I/O: +40 µs
 * of CPU and +120 µs per sync on this project's VM (ext4). statx() for the inode and mode only leaves the times alone.
 * 0, or -1 with errno.
 */
static int file_id(const char *path, dev_t *dev, ino_t *ino, mode_t *mode)
{
    struct statx sx;
    int rc = statx(AT_FDCWD, path, 0, STATX_TYPE | STATX_MODE | STATX_INO, &sx);
    if (rc == 0 && (sx.stx_mask & STATX_INO) != 0) {
        *dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        *ino = sx.stx_ino;
        *mode = sx.stx_mode;
        return 0;
    }
    if (rc != 0 && errno != ENOSYS && errno != EPERM) /* (EPERM: statx refused by a seccomp filter, never a path's error) */
        return -1;
    struct stat sb; /* (a kernel without statx, or one that refuses it, or a file system that did not say) */
    if (stat(path, &sb) != 0)
        return -1;
    *dev = sb.st_dev, *ino = sb.st_ino, *mode = sb.st_mode;
    return 0;
}

/*
 * The -wal file removed while the gateway runs (a clean-up script, an operator): SQLite goes on committing into the
 * unlinked file, so every record since the last checkpoint, each answered 200, would be gone at the next crash (and the
 * start refused, wal_complete). They are still readable through SQLite's open descriptor: a checkpoint copies them into
 * the database file, and leaving WAL mode and entering it again makes a new -wal file. Until both are done, 503. A file
 * made at its name since (another program opening the database creates an empty one) is not the one SQLite writes
 * into either: the same, by its inode (leaving WAL mode removes that file, as it would have removed ours).
 */
static int wal_usable(char *err, size_t errlen)
{
    dev_t dev;
    ino_t ino;
    mode_t mode;
    int found = file_id(st.wal_path, &dev, &ino, &mode) == 0;
    if (found && dev == st.wal_dev && ino == st.wal_ino)
        return 0;
    if (!found && errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", st.wal_path, strerror(errno));
        return -1;
    }
    gw_error("consent store: %s was %s while in use: its records are copied into the database, and a new one made",
             st.wal_path, found ? "replaced by another file" : "removed");
    if (sqlite3_wal_checkpoint_v2(st.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s was removed, and its records could not be copied into the database: %s", st.wal_path,
                 sqlite3_errmsg(st.db));
        return -1;
    }
    st.wal_pages = 0;
    char why[200] = "";
    if (exec("PRAGMA journal_mode = DELETE", why, sizeof(why)) != 0 || exec("PRAGMA journal_mode = WAL", why, sizeof(why)) != 0 ||
        exec("SELECT count(*) FROM meta", why, sizeof(why)) != 0 /* (a read opens it) */ ||
        file_id(st.wal_path, &dev, &ino, &mode) != 0) {
        snprintf(err, errlen, "%s was removed and could not be made again (%s); its records are in the database file",
                 st.wal_path, why[0] != '\0' ? why : strerror(errno));
        return -1;
    }
    st.wal_dev = dev;
    st.wal_ino = ino;
    return 0;
}

/*
 * The database file at st.path is not the one SQLite has open (removed, or another put in its place: a backup restored
 * with mv). The -wal file beside it is still ours, and SQLite leaves it there when it closes a file that lost its name:
 * whatever opens the file at that name next (the restart) took its frames for that file's pages, and a restored backup
 * read as corrupted (the start refused) or with the old file's records in it. Emptied into the file we have open (lost
 * with it), it holds nothing to take.
 */
static void empty_wal_of_a_lost_file(void)
{
    if (sqlite3_wal_checkpoint_v2(st.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
        gw_error("consent store: %s still holds pages of the database file that was at %s (%s): remove it, and %s-shm, before "
                 "the next start", st.wal_path, st.path, sqlite3_errmsg(st.db), st.path);
    st.wal_pages = 0;
}

/* the database file is still the one we opened, and writable, and its WAL is where SQLite writes */
static int store_usable(char *err, size_t errlen)
{
    dev_t dev;
    ino_t ino;
    mode_t mode;
    if (file_id(st.path, &dev, &ino, &mode) != 0) {
        snprintf(err, errlen, "the database file %s is gone: %s", st.path, strerror(errno));
        empty_wal_of_a_lost_file();
        return -1;
    }
    if (dev != st.dev || ino != st.ino) {
        snprintf(err, errlen, "the database file %s was replaced", st.path);
        empty_wal_of_a_lost_file();
        return -1;
    }
    if ((mode & 0222) == 0) {
        snprintf(err, errlen, "the database file %s is read-only", st.path);
        return -1;
    }
    return wal_usable(err, errlen);
}

static int64_t now_ms_public(void)
{
    return now_ms();
}

/* --- revocations (revoke.h): what a visitor's later decisions took back from their earlier tokens -------------- */

static gw_revoke_t *revocations;   /* a snapshot (qsbr.h): updated in place by this thread, replaced to grow or purge */
static gw_token_key_t revoke_key;  /* HMAC-SHA256 under meta.revocation_salt: the table's keys */
static size_t revocations_max = GW_STORE_REVOCATIONS_MAX;
static unsigned token_max_age_days; /* the longest consent_max_age_days this store has seen: the purge's horizon */
static char revocation_salt[80];    /* meta.revocation_salt as stored (the revocations' seal covers it) */
/* the revocations' seal (chain.h): the XOR of the table's row MACs under the primary seal key, as committed, and as the
 * transaction being built leaves it (write_revocation folds each row it deletes and inserts into rev_pending) */
static uint8_t rev_digest[32], rev_pending[32];

const gw_revoke_t *gw_store_revocations(void)
{
    return gw_snap_load(&revocations);
}

const gw_token_key_t *gw_store_revoke_key(void)
{
    return &revoke_key;
}

static uint16_t optional_mask(void)
{
    const gw_config_t *c = &gw_rt.conf;
    uint16_t all = (uint16_t)((1u << c->num_categories) - 1);
    int nec = gw_config_category(c, "necessary");
    return nec >= 0 ? (uint16_t)(all & ~(1u << nec)) : all;
}

/* the mask of a record's "necessary,analytics" (names this config does not have are left out) */
static uint16_t csv_mask(const char *csv)
{
    const gw_config_t *c = &gw_rt.conf;
    uint16_t m = 0;
    for (const char *p = csv; p != NULL && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        for (size_t i = 0; i != c->num_categories; ++i)
            if (strlen(c->categories[i]) == n && memcmp(c->categories[i], p, n) == 0)
                m |= (uint16_t)(1u << i);
        p = comma != NULL ? comma + 1 : NULL;
    }
    return m;
}

static void fold_revocation(const char *hex, const char *category, int64_t cut)
{
    if (num_seal_keys != 0)
        gw_chain_revocation_fold(seal_keys + seal_primary, hex, category, cut, rev_pending);
}

/* inside a transaction that changed revocations (or their salt or horizon): their seal, of rev_pending */
static int write_revocations_seal(char *err, size_t errlen)
{
    char seal[GW_CHAIN_SEAL_LEN];
    if (num_seal_keys == 0)
        return 0;
    gw_chain_revocations_seal(seal_keys + seal_primary, revocation_salt, token_max_age_days, rev_pending, seal);
    return meta_put("revocations_seal", seal, err, errlen);
}

/* before a COMMIT: the revocations' seal when the transaction changed a row */
static int seal_changed_revocations(char *err, size_t errlen)
{
    return memcmp(rev_pending, rev_digest, sizeof(rev_digest)) != 0 ? write_revocations_seal(err, errlen) : 0;
}

/* after the COMMIT (ok) or the ROLLBACK (!ok) of a transaction that may have changed revocations */
static void revocations_ended(int ok)
{
    if (ok)
        memcpy(rev_digest, rev_pending, sizeof(rev_digest));
    else
        memcpy(rev_pending, rev_digest, sizeof(rev_pending));
}

/* replaces key's rows by r's times (inside the caller's transaction) */
static int write_revocation(const uint32_t key[4], const gw_revocation_t *r, char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    char hex[33];
    sqlite3_stmt *s = NULL;
    int ok = 0;
    gw_hex((const uint8_t *)key, 16, hex);
    if (num_seal_keys != 0) { /* the rows that go, out of the seal's digest */
        int rc;
        if (sqlite3_prepare_v2(st.db, "SELECT category, cut FROM revocations WHERE visitor_hash = ?1", -1, &s, NULL) != SQLITE_OK)
            goto Exit;
        sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            fold_revocation(hex, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
        if (rc != SQLITE_DONE)
            goto Exit;
        sqlite3_finalize(s);
        s = NULL;
    }
    if (sqlite3_prepare_v2(st.db, "DELETE FROM revocations WHERE visitor_hash = ?1", -1, &s, NULL) != SQLITE_OK)
        goto Exit;
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        goto Exit;
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(st.db, "INSERT INTO revocations (visitor_hash, category, cut) VALUES (?1, ?2, ?3)", -1, &s, NULL) !=
        SQLITE_OK)
        goto Exit;
    for (size_t i = 0; i <= c->num_categories; ++i) { /* the erasure's time first, as category '' */
        uint32_t t = i == 0 ? r->erased : r->cut[i - 1];
        if (t == 0)
            continue;
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, i == 0 ? "" : c->categories[i - 1], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, t);
        if (sqlite3_step(s) != SQLITE_DONE)
            goto Exit;
        fold_revocation(hex, i == 0 ? "" : c->categories[i - 1], t);
    }
    ok = 1;
Exit:
    if (!ok)
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    return ok ? 0 : -1;
}

/* what the visitor's records granted into *mask (every token a decision issued grants what its record does); 0 or -1 */
static int granted_by_records(const uint8_t visitor[16], uint16_t *mask, char *err, size_t errlen)
{
    char hex[33];
    sqlite3_stmt *s = NULL;
    int rc;
    *mask = 0;
    gw_hex(visitor, 16, hex);
    if (sqlite3_prepare_v2(st.db, "SELECT granted FROM records WHERE visitor = ?1", -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        return -1;
    }
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        *mask |= csv_mask((const char *)sqlite3_column_text(s, 0));
    if (rc != SQLITE_DONE)
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The second of the visitor's newest record (0: none) into *out, or `now` when that is later. A record's token says it
 * was issued then: when the clock was ahead at that record (and set right since), that is later than now, and a cut or an
 * erasure at now would not reach the token once the clock gets there again.
 */
static int revocation_time(const uint8_t visitor[16], uint32_t now, uint32_t *out, char *err, size_t errlen)
{
    char hex[33];
    sqlite3_stmt *s = NULL;
    gw_hex(visitor, 16, hex);
    *out = now;
    if (sqlite3_prepare_v2(st.db, "SELECT max(time_ms) FROM records WHERE visitor = ?1", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        sqlite3_finalize(s);
        return -1;
    }
    int64_t newest = sqlite3_column_int64(s, 0) / 1000;
    sqlite3_finalize(s);
    if (newest > (int64_t)now && newest <= UINT32_MAX)
        *out = (uint32_t)newest;
    return 0;
}

/* the entry key has as the commit being built leaves it: an earlier op of the same batch's, else the table's */
static int current_revocation(op_t **ops, size_t i, const uint32_t key[4], gw_revocation_t *out)
{
    for (size_t k = i; k-- != 0;)
        if (ops[k]->revokes && memcmp(ops[k]->rv_key, key, sizeof(ops[k]->rv_key)) == 0) {
            *out = ops[k]->rv;
            return 1;
        }
    return gw_revoke_find(revocations, key, out);
}

/*
 * Inside a batch's transaction, before ops[i]'s record goes in: what its decision revokes. A category it refuses is cut
 * when a token of the visitor may grant it: the token the request presented, or one a record of theirs issued (each
 * grants what its record does). A visitor with a revocation has it updated by each decision (a consent in the same
 * second as a withdrawal keeps its own token's grant). Returns 0, 1 when that would be a new entry past
 * revocations_max, 2 when the visitor's id was erased (the op is refused either way), -1 on a database error (err).
 */
static int decide_revocation(op_t **ops, size_t i, size_t *added, char *err, size_t errlen)
{
    op_t *op = ops[i];
    uint16_t opt = optional_mask(), refused = op->rec.refused & opt, granted = op->rec.granted & opt;
    gw_revocation_t r, before;
    if (refused == 0 && gw_revoke_count(revocations) == 0 && *added == 0)
        return 0; /* (the usual case: nothing to look up) */
    gw_revoke_key(&revoke_key, op->rec.visitor, op->rv_key);
    int exists = current_revocation(ops, i, op->rv_key, &r);
    if (exists && r.erased != 0)
        return 2; /* read before an erasure that was committed meanwhile: its record would go under the erased id */
    if (!exists)
        memset(&r, 0, sizeof(r));
    uint16_t cut = refused & op->rec.presented, ever;
    if ((refused & ~cut) != 0) {
        if (granted_by_records(op->rec.visitor, &ever, err, errlen) != 0)
            return -1;
        cut |= refused & ever;
    }
    if (!exists && cut == 0)
        return 0;
    before = r;
    /* what it grants at its own time (its token's), what it refuses from the newest token of the visitor's on */
    uint32_t now = (uint32_t)(op->rec.time_ms / 1000), cut_at = now;
    if (cut != 0 && revocation_time(op->rec.visitor, now, &cut_at, err, errlen) != 0)
        return -1;
    gw_revoke_decide(&r, gw_rt.conf.num_categories, cut, 0, cut_at);
    gw_revoke_decide(&r, gw_rt.conf.num_categories, 0, granted, now);
    if (exists && memcmp(&before, &r, sizeof(r)) == 0)
        return 0;
    if (!exists && gw_revoke_count(revocations) + *added >= revocations_max)
        return 1;
    *added += !exists;
    op->revokes = 1;
    op->rv = r;
    return write_revocation(op->rv_key, &r, err, errlen);
}

/* a decision refused at the revocations' cap (revocations_max): said once a minute */
static void revocations_full(op_t *op)
{
    static int64_t said_ms;
    snprintf(op->error, sizeof(op->error), "the revocations are full (%zu)", revocations_max);
    op->ans.status = -1;
    __atomic_add_fetch(&stat_failed, 1, __ATOMIC_RELAXED);
    if (said_ms == 0 || monotonic_ms() - said_ms > 60000) {
        said_ms = monotonic_ms();
        gw_error("consent store: %zu revocations, the most it keeps: a decision that would revoke a token of one more visitor "
                 "is refused (503) until the hourly purge drops old ones",
                 revocations_max);
    }
}

/* replaces the table by t (NULL: out of memory, nothing done) once no worker reads the old one */
static void replace_revocations(gw_revoke_t *t)
{
    if (t == NULL)
        return;
    gw_revoke_t *old = __atomic_exchange_n(&revocations, t, __ATOMIC_ACQ_REL);
    gw_qsbr_synchronize();
    gw_revoke_free(old);
}

/* before the workers run (the start): the table is replaced by t at once */
static void replace_unread_revocations(gw_revoke_t *t)
{
    gw_revoke_free(revocations);
    revocations = t;
}

/* key's entry set to r, the table copied into a larger one when full, the old one let go by replace (a worker may be
 * reading it: replace_revocations; at the start: replace_unread_revocations). 0, or -1 when out of memory */
static int set_revocation(const uint32_t key[4], const gw_revocation_t *r, void (*replace)(gw_revoke_t *))
{
    if (gw_revoke_set(revocations, key, r) == 0)
        return 0;
    gw_revoke_t *bigger = gw_revoke_copy(revocations, gw_revoke_count(revocations) + 1, 0);
    if (bigger == NULL)
        return -1;
    replace(bigger);
    return gw_revoke_set(revocations, key, r);
}

/* after the commit of op's revocation, before its answer: into the table the workers read */
static void publish_revocation(const op_t *op)
{
    if (set_revocation(op->rv_key, &op->rv, replace_revocations) != 0)
        gw_error("consent store: out of memory for the revocations table: a revocation applies from the next start");
}

/* the revocations no token still in force can predate (older than the longest token lifetime): deleted and dropped */
static void purge_revocations(void)
{
    static const char stale[] = "FROM revocations WHERE visitor_hash IN (SELECT visitor_hash FROM revocations GROUP BY "
                                "visitor_hash HAVING max(cut) < ?1)";
    char err[200] = "", sql[256];
    sqlite3_stmt *s = NULL;
    int rc = SQLITE_DONE, rows = 0;
    int64_t keep_from = now_ms() / 1000 - (int64_t)token_max_age_days * 86400 + 1;
    if (keep_from <= 0)
        return;
    if (exec("BEGIN IMMEDIATE", err, sizeof(err)) != 0)
        goto Error;
    if (num_seal_keys != 0) { /* the rows that go, out of the seal's digest */
        snprintf(sql, sizeof(sql), "SELECT visitor_hash, category, cut %s", stale);
        if (sqlite3_prepare_v2(st.db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_bind_int64(s, 1, keep_from) != SQLITE_OK)
            goto Rollback;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            fold_revocation((const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1),
                            sqlite3_column_int64(s, 2));
        if (rc != SQLITE_DONE)
            goto Rollback;
        sqlite3_finalize(s);
    }
    snprintf(sql, sizeof(sql), "DELETE %s", stale);
    if (sqlite3_prepare_v2(st.db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_bind_int64(s, 1, keep_from) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE)
        goto Rollback;
    sqlite3_finalize(s);
    s = NULL;
    rows = sqlite3_changes(st.db);
    if (seal_changed_revocations(err, sizeof(err)) != 0 || exec("COMMIT", err, sizeof(err)) != 0)
        goto Rollback;
    revocations_ended(1);
    if (rows == 0)
        return;
    size_t before = gw_revoke_count(revocations);
    replace_revocations(gw_revoke_copy(revocations, 0, (uint32_t)keep_from));
    gw_info("consent store: purged %zu revocations older than the longest token lifetime (%u days)",
            before - gw_revoke_count(revocations), token_max_age_days);
    return;
Rollback:
    if (err[0] == '\0') /* (a statement's failure: a prepare's leaves s NULL) */
        snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    exec("ROLLBACK", err + strlen(err), 0);
    revocations_ended(0);
Error:
    gw_error("consent store: retention purge of revocations failed: %s", err);
}

static int hex16(const char *s, uint8_t out[16]);
static int load_salt(const char *name, gw_token_key_t *key, char *err, size_t errlen);

/*
 * A store from before revocations (schema < 3): the decisions its records hold that took back what an earlier one of
 * the same visitor granted become revocations, by the rule decide_revocation follows. An erasure's cannot: the id is gone
 * from the records. Run once (meta.revocations_backfill, set by the migration, goes in the same transaction).
 */
static int backfill_revocations(char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    char visitor[40] = "";
    uint16_t opt = optional_mask(), ever = 0;
    uint32_t newest = 0; /* the second of the visitor's newest record before this one (revocation_time) */
    gw_revocation_t r;
    int have = 0, rc, n = 0;
    if (exec("BEGIN IMMEDIATE", err, errlen) != 0)
        return -1;
    if (sqlite3_prepare_v2(st.db,
                           "SELECT visitor, time_ms, granted, refused FROM records WHERE visitor NOT LIKE 'erased-%' "
                           "ORDER BY visitor, seq",
                           -1, &s, NULL) != SQLITE_OK)
        goto Error;
    for (;;) {
        rc = sqlite3_step(s);
        const char *v = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
        if (rc != SQLITE_ROW || strcmp(v, visitor) != 0) { /* the previous visitor's are all read */
            uint8_t id[16];
            uint32_t key[4];
            if (have && hex16(visitor, id) == 0) {
                gw_revoke_key(&revoke_key, id, key);
                if (write_revocation(key, &r, err, errlen) != 0)
                    goto Rollback;
                ++n;
            }
            if (rc != SQLITE_ROW)
                break;
            snprintf(visitor, sizeof(visitor), "%s", v);
            ever = 0, have = 0, newest = 0;
            memset(&r, 0, sizeof(r));
        }
        uint16_t granted = csv_mask((const char *)sqlite3_column_text(s, 2)) & opt;
        uint16_t cut = csv_mask((const char *)sqlite3_column_text(s, 3)) & opt & ever;
        uint32_t when = (uint32_t)(sqlite3_column_int64(s, 1) / 1000);
        if (have || cut != 0) {
            gw_revoke_decide(&r, gw_rt.conf.num_categories, cut, 0, newest > when ? newest : when);
            gw_revoke_decide(&r, gw_rt.conf.num_categories, 0, granted, when);
            have = 1;
        }
        ever |= granted;
        if (when > newest)
            newest = when;
    }
    if (rc != SQLITE_DONE)
        goto Error;
    sqlite3_finalize(s);
    s = NULL;
    if (seal_changed_revocations(err, errlen) != 0 || exec("DELETE FROM meta WHERE key = 'revocations_backfill'; COMMIT", err, errlen) != 0)
        goto Rollback;
    revocations_ended(1);
    if (n != 0)
        gw_info("consent store: %d revocations made from the records of withdrawals and narrowed decisions", n);
    return 0;
Error:
    snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
Rollback:
    sqlite3_finalize(s);
    exec("ROLLBACK", err + strlen(err), 0);
    revocations_ended(0);
    return -1;
}

/*
 * One read of the revocation rows: the XOR of their MACs (gw_chain_revocation_fold) under keys[0] and, unless NULL,
 * keys[1], and their number; with load set, each visitor's rows also go into the table the workers read (at the start,
 * before they run). 0, or -1 with err set: a read error, or no memory for the table.
 */
typedef struct {
    const gw_token_key_t *keys[2];
    uint8_t digest[2][32];
    int64_t rows;
} rev_scan_t;

static int scan_revocations(sqlite3 *db, rev_scan_t *sc, int load, char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    sqlite3_stmt *s = NULL;
    char hash[40] = "";
    gw_revocation_t r;
    uint32_t key[4];
    int rc, have = 0, full = 0;
    memset(sc->digest, 0, sizeof(sc->digest));
    sc->rows = 0;
    /* a visitor's rows together for the table (the primary key's order: no sort) */
    if (sqlite3_prepare_v2(db, "SELECT visitor_hash, category, cut FROM revocations ORDER BY visitor_hash", -1, &s, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return -1;
    }
    for (;;) {
        const char *h = "", *cat = "";
        int64_t cut = 0;
        if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *ch = (const char *)sqlite3_column_text(s, 0), *cc = (const char *)sqlite3_column_text(s, 1);
            h = ch != NULL ? ch : "", cat = cc != NULL ? cc : "", cut = sqlite3_column_int64(s, 2);
            for (size_t i = 0; i != 2; ++i)
                if (sc->keys[i] != NULL)
                    gw_chain_revocation_fold(sc->keys[i], h, cat, cut, sc->digest[i]);
            ++sc->rows;
        }
        if (!load) {
            if (rc != SQLITE_ROW)
                break;
            continue;
        }
        if (rc != SQLITE_ROW || strcmp(h, hash) != 0) { /* the previous visitor's rows are all read */
            if (have && set_revocation(key, &r, replace_unread_revocations) != 0) {
                full = 1;
                break;
            }
            if (rc != SQLITE_ROW)
                break;
            snprintf(hash, sizeof(hash), "%s", h);
            memset(&r, 0, sizeof(r));
            uint8_t b[16];
            have = hex16(hash, b) == 0; /* (a row that is not one of ours is ignored) */
            memcpy(key, b, sizeof(key));
        }
        int i = cat[0] != '\0' ? gw_config_category(c, cat) : -1;
        if (cat[0] == '\0')
            r.erased = (uint32_t)cut;
        else if (i >= 0) /* (a category the config no longer has: nothing grants it) */
            r.cut[i] = (uint32_t)cut;
    }
    if (full)
        snprintf(err, errlen, "out of memory for the revocations");
    else if (rc != SQLITE_DONE)
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(s);
    return full || rc != SQLITE_DONE ? -1 : 0;
}

/*
 * meta.revocations_seal of db and what it covers besides the rows: 1 (*k the key it was made with), -1 when that key is
 * not among keys, -2 when there is none (a store from before this seal, or one removed), -3 when meta cannot be read
 * (sqlite3_errmsg)
 */
static int read_revocations_seal(sqlite3 *db, const gw_token_key_t *keys, size_t n, const gw_token_key_t **k,
                                 char seal[GW_CHAIN_SEAL_LEN], char *salt, size_t saltlen, unsigned *days)
{
    char v[16] = "0";
    int found = meta_get(db, "revocations_seal", seal, GW_CHAIN_SEAL_LEN);
    if (found <= 0)
        return found < 0 ? -3 : -2;
    if ((*k = find_seal_key(keys, n, (unsigned)atoi(seal))) == NULL)
        return -1;
    salt[0] = '\0';
    if (meta_get(db, "revocation_salt", salt, saltlen) < 0 || meta_get(db, "token_max_age_days", v, sizeof(v)) < 0)
        return -3;
    *days = (unsigned)atoi(v);
    return 1;
}

static int revocations_seal_matches(const gw_token_key_t *k, const char *salt, unsigned days, const uint8_t digest[32],
                                    const char *seal)
{
    char want[GW_CHAIN_SEAL_LEN];
    gw_chain_revocations_seal(k, salt, days, digest, want);
    return strcmp(want, seal) == 0;
}

/*
 * Whether meta.revocations_seal matches db's revocations, their salt and horizon (--verify-records): 1, 0 when it does
 * not, or read_revocations_seal's -1, -2, -3; *rows the rows read
 */
static int revocations_sealed(sqlite3 *db, const gw_token_key_t *keys, size_t n, int64_t *rows)
{
    const gw_token_key_t *k = NULL;
    char seal[GW_CHAIN_SEAL_LEN], salt[sizeof(revocation_salt)], err[8];
    unsigned days = 0;
    int m = read_revocations_seal(db, keys, n, &k, seal, salt, sizeof(salt), &days);
    if (m != 1)
        return m;
    rev_scan_t sc = {{k, NULL}};
    if (scan_revocations(db, &sc, 0, err, sizeof(err)) != 0)
        return -3;
    *rows = sc.rows;
    return revocations_seal_matches(k, salt, days, sc.digest[0], seal);
}

/*
 * At start, in one read of the revocation rows: the table the workers read, and their seal checked. Revocations whose
 * seal does not match were deleted, changed or added while the gateway was down (a deleted one would let a withdrawn
 * token grant again): refuse, as for the records' seal. None yet (a store from before this seal), or made with a key
 * no longer in the secrets file: sealed as they are now, said in the log. Leaves rev_digest the rows' under the primary
 * key.
 */
static int load_revocation_rows(char *err, size_t errlen)
{
    const gw_token_key_t *k = NULL, *primary = seal_keys + seal_primary;
    char seal[GW_CHAIN_SEAL_LEN], salt[sizeof(revocation_salt)];
    unsigned days = 0;
    int m = num_seal_keys != 0 ? read_revocations_seal(st.db, seal_keys, num_seal_keys, &k, seal, salt, sizeof(salt), &days) : 1;
    if (m == -3) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        return -1;
    }
    rev_scan_t sc = {{NULL, NULL}};
    if (num_seal_keys != 0)
        sc.keys[0] = primary, sc.keys[1] = m == 1 && k != primary ? k : NULL;
    gw_revoke_free(revocations);
    if ((revocations = gw_revoke_new(gw_rt.conf.num_categories, 0)) == NULL) {
        snprintf(err, errlen, "out of memory for the revocations");
        return -1;
    }
    if (scan_revocations(st.db, &sc, 1, err, errlen) != 0)
        return -1;
    if (num_seal_keys == 0)
        return 0;
    if (m == 1 && !revocations_seal_matches(k, salt, days, sc.digest[k != primary], seal)) {
        snprintf(err, errlen, "the revocations' seal does not match them: rows of the revocations table, or meta's revocation_salt "
                              "or token_max_age_days, were changed while the gateway was down (a revocation deleted lets a "
                              "withdrawn consent grant again; --verify-records tells more)");
        return -1;
    }
    if (m == -2 && sc.rows != 0)
        gw_warn("consent store: its revocations carry no seal (a store from before that seal, or it was removed): sealed as "
                "they are now, %lld rows",
                (long long)sc.rows);
    else if (m == -1)
        gw_warn("consent store: its revocations' seal was made with a key no longer in the secrets file: sealed again with "
                "the primary key");
    memcpy(rev_digest, sc.digest[0], sizeof(rev_digest));
    memcpy(rev_pending, rev_digest, sizeof(rev_pending));
    return m == 1 && k == primary ? 0 : write_revocations_seal(err, errlen); /* (its own transaction) */
}

/* at start: the salt, the horizon, the table the workers read, and a store from before revocations filled in */
static int load_revocations(char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    char v[16], sql[160];
    if (load_salt("revocation_salt", &revoke_key, err, errlen) != 0 ||
        meta_get(st.db, "revocation_salt", revocation_salt, sizeof(revocation_salt)) != 1)
        return -1;
    token_max_age_days = 0;
    memset(rev_digest, 0, sizeof(rev_digest));
    memset(rev_pending, 0, sizeof(rev_pending));
    if (meta_get(st.db, "token_max_age_days", v, sizeof(v)) == 1)
        token_max_age_days = (unsigned)atoi(v);
    const char *rmax = getenv("CG_REVOCATIONS_MAX");
    if (rmax != NULL && atoi(rmax) > 0)
        revocations_max = (size_t)atoi(rmax);
    if (load_revocation_rows(err, errlen) != 0)
        return -1;
    if (c->policy.consent_max_age_days > token_max_age_days) { /* the horizon and the seal that covers it, together */
        token_max_age_days = c->policy.consent_max_age_days;
        snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; INSERT OR REPLACE INTO meta (key, value) VALUES ('token_max_age_days', '%u')",
                 token_max_age_days);
        if (exec(sql, err, errlen) != 0 || write_revocations_seal(err, errlen) != 0 || exec("COMMIT", err, errlen) != 0) {
            exec("ROLLBACK", err + strlen(err), 0);
            return -1;
        }
    }
    /* a store from before revocations: made from its records, then read again (once, at its first start) */
    if (meta_get(st.db, "revocations_backfill", v, sizeof(v)) == 1 &&
        (backfill_revocations(err, errlen) != 0 || load_revocation_rows(err, errlen) != 0))
        return -1;
    return 0;
}

/* --- writer side: operations ------------------------------------------------------------------- */

static void do_injections_add(op_t *op)
{
    char err[200];
    sqlite3_stmt *s = NULL;
    if (store_usable(err, sizeof(err)) != 0 || exec("BEGIN IMMEDIATE", err, sizeof(err)) != 0)
        goto Error;
    if (sqlite3_prepare_v2(st.db,
                           "INSERT INTO injections (time_ms, client_ip, document_uri, blocked_uri, blocked_host, directive, source_file,"
                           " line, sample, format) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &s, NULL) != SQLITE_OK)
        goto Rollback;
    for (size_t i = 0; i != op->num_violations; ++i) {
        const gw_csp_violation_t *v = op->violations + i;
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, (sqlite3_int64)op->rec.time_ms);
        sqlite3_bind_text(s, 2, op->rec.client_ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, v->document_uri, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, v->blocked_uri, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, v->blocked_host, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, v->directive, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, v->source_file, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 8, v->line);
        sqlite3_bind_text(s, 9, v->sample, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, v->reporting_api ? "reports+json" : "csp-report", -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            goto Rollback;
    }
    sqlite3_finalize(s);
    if (exec("COMMIT", err, sizeof(err)) != 0)
        goto Error;
    op->ans.count = op->num_violations;
    return;
Rollback:
    snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    exec("ROLLBACK", err + strlen(err), 0);
Error:
    /* (the 204 went out before the write: the log is the only place that says they were lost) */
    gw_error("consent store: %zu injection reports not stored: %s", op->num_violations, err);
    snprintf(op->error, sizeof(op->error), "%s", err);
    op->ans.status = -1;
}

static void do_injections_list(op_t *op)
{
    sqlite3_stmt *s = NULL;
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 8192);
    gw_jsonw_lit(&w, "{\"recent\": [");
    if (sqlite3_prepare_v2(st.db,
                           "SELECT id, time_ms, client_ip, document_uri, blocked_uri, blocked_host, directive, source_file, line, sample,"
                           " format FROM injections ORDER BY id DESC LIMIT 100",
                           -1, &s, NULL) != SQLITE_OK)
        goto Error;
    static const char *const names[] = {"id", "time_ms", "client_ip", "document_uri", "blocked_uri", "blocked_host",
                                        "directive", "source_file", "line", "sample", "format"};
    for (int n = 0; sqlite3_step(s) == SQLITE_ROW; ++n) {
        gw_jsonw_lit(&w, n == 0 ? "\n  {" : ",\n  {");
        for (int k = 0; k != 11; ++k) {
            gw_jsonw_printf(&w, "%s\"%s\": ", k == 0 ? "" : ", ", names[k]);
            if (sqlite3_column_type(s, k) == SQLITE_INTEGER)
                gw_jsonw_printf(&w, "%lld", (long long)sqlite3_column_int64(s, k));
            else
                gw_jsonw_cstr(&w, sqlite3_column_text(s, k) != NULL ? (const char *)sqlite3_column_text(s, k) : "");
        }
        gw_jsonw_lit(&w, "}");
    }
    sqlite3_finalize(s);
    gw_jsonw_lit(&w, "\n], \"by_blocked_host\": [");
    if (sqlite3_prepare_v2(st.db,
                           "SELECT blocked_host, count(*) AS n FROM injections GROUP BY blocked_host ORDER BY n DESC, blocked_host LIMIT 100",
                           -1, &s, NULL) != SQLITE_OK)
        goto Error;
    for (int n = 0; sqlite3_step(s) == SQLITE_ROW; ++n) {
        gw_jsonw_lit(&w, n == 0 ? "\n  {\"host\": " : ",\n  {\"host\": ");
        gw_jsonw_cstr(&w, (const char *)sqlite3_column_text(s, 0));
        gw_jsonw_printf(&w, ", \"count\": %lld}", (long long)sqlite3_column_int64(s, 1));
    }
    sqlite3_finalize(s);
    gw_jsonw_lit(&w, "\n]}\n");
    op->ans.body = w.buf;
    op->ans.body_len = w.len;
    return;
Error:
    snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st.db));
    sqlite3_finalize(s);
    op->ans.status = -1;
    free(w.buf);
}


static void write_row_json(gw_jsonw_t *w, sqlite3_stmt *s)
{
    /* columns: seq receipt visitor time_ms policy_version granted refused regime country method client_ip ua_hash ui_hash
     * prev_hash hash */
    gw_jsonw_printf(w, "{\"seq\": %lld, \"receipt\": ", (long long)sqlite3_column_int64(s, 0));
    gw_jsonw_cstr(w, (const char *)sqlite3_column_text(s, 1));
    gw_jsonw_lit(w, ", \"visitor\": ");
    gw_jsonw_cstr(w, (const char *)sqlite3_column_text(s, 2));
    gw_jsonw_printf(w, ", \"time_ms\": %lld, \"policy_version\": %lld", (long long)sqlite3_column_int64(s, 3),
                    (long long)sqlite3_column_int64(s, 4));
    for (int col = 5; col <= 6; ++col) {
        const char *csv = (const char *)sqlite3_column_text(s, col);
        gw_jsonw_lit(w, col == 5 ? ", \"granted\": [" : ", \"refused\": [");
        for (const char *p = csv; p != NULL && *p != '\0';) {
            const char *comma = strchr(p, ',');
            size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
            if (p != csv)
                gw_jsonw_lit(w, ", ");
            gw_jsonw_str(w, p, n);
            p = comma != NULL ? comma + 1 : NULL;
        }
        gw_jsonw_lit(w, "]");
    }
    static const char *const names[] = {"regime", "country", "method", "client_ip", "ua_hash", "ui_hash", "prev_hash", "hash"};
    for (int k = 0; k != 8; ++k) {
        gw_jsonw_printf(w, ", \"%s\": ", names[k]);
        const char *v = (const char *)sqlite3_column_text(s, 7 + k);
        if (v != NULL && !(k == 1 && *v == '\0'))
            gw_jsonw_cstr(w, v);
        else
            gw_jsonw_lit(w, "null");
    }
    gw_jsonw_lit(w, "}");
}

#define ROW_COLUMNS                                                                                                                \
    "seq, receipt, visitor, time_ms, policy_version, granted, refused, regime, country, method, client_ip, ua_hash, ui_hash, "     \
    "prev_hash, hash"

/*
 * The latest receipts_max records of a visitor, oldest first (one more is read: it says whether older ones were left
 * out, and is dropped). A visitor id collects records as long as its token is sent back: one consent a minute per
 * client address (a /64 for IPv6, and a /48 holds 65,536 of them); all of them made a 16,000-record visitor's every
 * GET 10 MB built whole on the writer thread, in proportion without end.
 */
static size_t receipts_max = GW_STORE_RECEIPTS_MAX;

static void do_receipts(op_t *op)
{
    char visitor_hex[33];
    sqlite3_stmt *s = NULL;
    gw_jsonw_t w;
    size_t first_end = 0;
    gw_hex(op->visitor, 16, visitor_hex);
    gw_jsonw_init(&w, NULL, 1024);
    gw_jsonw_lit(&w, "[");
    if (sqlite3_prepare_v2(st.db,
                           "SELECT * FROM (SELECT " ROW_COLUMNS " FROM records WHERE visitor = ?1 ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
                           -1, &s, NULL) != SQLITE_OK) {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st.db));
        op->ans.status = -1;
        free(w.buf);
        return;
    }
    sqlite3_bind_text(s, 1, visitor_hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)receipts_max + 1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        gw_jsonw_lit(&w, op->ans.count == 0 ? "\n" : ",\n");
        write_row_json(&w, s);
        if (++op->ans.count == 1)
            first_end = w.len;
    }
    if (op->ans.count > receipts_max && w.buf != NULL) { /* "[\n" the extra one ",\n" … : it goes, with its comma */
        memmove(w.buf + 2, w.buf + first_end + 2, w.len - first_end - 2);
        w.len -= first_end;
        --op->ans.count;
        op->ans.truncated = 1;
    }
    gw_jsonw_lit(&w, "\n]\n");
    if (rc != SQLITE_DONE) {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st.db));
        op->ans.status = -1;
        free(w.buf);
    } else {
        op->ans.body = w.buf;
        op->ans.body_len = w.len;
    }
    sqlite3_finalize(s);
}

static void do_export(op_t *op)
{
    sqlite3_stmt *s = NULL;
    gw_jsonw_t w;
    gw_jsonw_init(&w, NULL, 64 * 1024);
    if (sqlite3_prepare_v2(st.db, "SELECT " ROW_COLUMNS " FROM records WHERE seq > ?1 AND time_ms >= ?2 ORDER BY seq LIMIT ?3", -1,
                           &s, NULL) != SQLITE_OK) {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st.db));
        op->ans.status = -1;
        free(w.buf);
        return;
    }
    sqlite3_bind_int64(s, 1, op->after_seq);
    sqlite3_bind_int64(s, 2, op->since_ms);
    sqlite3_bind_int(s, 3, EXPORT_PAGE);
    int rc;
    int64_t last = op->after_seq;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        write_row_json(&w, s);
        gw_jsonw_lit(&w, "\n");
        last = sqlite3_column_int64(s, 0);
        ++op->ans.count;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(st.db));
        op->ans.status = -1;
        free(w.buf);
        return;
    }
    op->ans.body = w.buf;
    op->ans.body_len = w.len;
    op->ans.next_seq = op->ans.count == EXPORT_PAGE ? last : -1;
}

static void do_erase(op_t *op)
{
    char visitor_hex[33], pseudo[48], err[200];
    uint8_t rnd[16];
    sqlite3_stmt *s = NULL;

    gw_hex(op->visitor, 16, visitor_hex);
    if (gw_random_bytes(rnd, sizeof(rnd)) != 0) {
        snprintf(err, sizeof(err), "the random generator failed");
        goto Error;
    }
    memcpy(pseudo, PSEUDONYM_PREFIX, sizeof(PSEUDONYM_PREFIX) - 1);
    gw_hex(rnd, 16, pseudo + sizeof(PSEUDONYM_PREFIX) - 1);
    /* the erased id's tokens name nobody from now on, and grant nothing optional */
    gw_revoke_key(&revoke_key, op->visitor, op->rv_key);
    int exists = gw_revoke_find(revocations, op->rv_key, &op->rv);
    if (!exists && gw_revoke_count(revocations) >= revocations_max) {
        revocations_full(op);
        return;
    }
    if (!exists)
        memset(&op->rv, 0, sizeof(op->rv));
    uint32_t erased_at;
    if (store_usable(err, sizeof(err)) != 0 || exec("BEGIN IMMEDIATE", err, sizeof(err)) != 0)
        goto Error;
    if (revocation_time(op->visitor, (uint32_t)(op->rec.time_ms / 1000), &erased_at, err, sizeof(err)) != 0)
        goto Rollback;
    gw_revoke_erase(&op->rv, gw_rt.conf.num_categories, optional_mask(), erased_at);
    if (write_revocation(op->rv_key, &op->rv, err, sizeof(err)) != 0)
        goto Rollback;
    if (sqlite3_prepare_v2(st.db, "UPDATE records SET visitor = ?1, visitor_nonce = NULL WHERE visitor = ?2", -1, &s, NULL) !=
        SQLITE_OK)
        goto Rollback;
    sqlite3_bind_text(s, 1, pseudo, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, visitor_hex, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        goto Rollback;
    op->ans.count = (uint64_t)sqlite3_changes(st.db);
    sqlite3_finalize(s);
    s = NULL;
    /* the erase record itself carries only the pseudonym */
    char saved_head[GW_CHAIN_HEX];
    memcpy(saved_head, st.head, sizeof(saved_head));
    if (insert_record(&op->rec, pseudo, err, sizeof(err)) != 0 || write_seal(err, sizeof(err)) != 0 ||
        seal_changed_revocations(err, sizeof(err)) != 0) {
        memcpy(st.head, saved_head, sizeof(saved_head));
        goto Rollback;
    }
    if (exec("COMMIT", err, sizeof(err)) != 0) {
        memcpy(st.head, saved_head, sizeof(saved_head));
        goto Rollback;
    }
    revocations_ended(1);
    publish_revocation(op);
    empty_wal("erasure"); /* (before the answer: "erased" means gone from the files) */
    return;
Rollback:
    if (s != NULL) {
        snprintf(err, sizeof(err), "%s", sqlite3_errmsg(st.db));
        sqlite3_finalize(s);
    }
    exec("ROLLBACK", err + strlen(err), 0);
    revocations_ended(0);
Error:
    /* an erase record not stored, as a consent not stored (do_appends): logged, and counted for the operator's alert */
    gw_error("consent store: an erasure not done: %s", err);
    __atomic_add_fetch(&stat_failed, 1, __ATOMIC_RELAXED);
    snprintf(op->error, sizeof(op->error), "%s", err);
    op->ans.status = -1;
}

/* appends a batch in one transaction, with the revocations its decisions make; every op gets the batch's outcome, but
 * for one refused at the revocations' cap */
static void do_appends(op_t **ops, size_t n)
{
    char err[200], saved_head[GW_CHAIN_HEX];
    size_t i, added = 0, stored = 0;
    memcpy(saved_head, st.head, sizeof(saved_head));
    if (store_usable(err, sizeof(err)) != 0 || stmt(&st.begin, "BEGIN IMMEDIATE", err, sizeof(err)) != 0)
        goto Fail;
    for (i = 0; i != n; ++i) {
        int rv = decide_revocation(ops, i, &added, err, sizeof(err));
        if (rv < 0)
            goto Rollback;
        if (rv == 1) {
            revocations_full(ops[i]);
            continue;
        }
        if (rv == 2) { /* (no token names that id any more: the visitor's next try gets a new one) */
            snprintf(ops[i]->error, sizeof(ops[i]->error), "the visitor's records were erased meanwhile");
            ops[i]->ans.status = -1;
            continue;
        }
        if (insert_record(&ops[i]->rec, NULL, err, sizeof(err)) != 0)
            goto Rollback;
        ++stored;
    }
    if ((stored != 0 && write_seal(err, sizeof(err)) != 0) || seal_changed_revocations(err, sizeof(err)) != 0 ||
        stmt(&st.commit, "COMMIT", err, sizeof(err)) != 0)
        goto Rollback;
    revocations_ended(1);
    for (i = 0; i != n; ++i) /* (before the answers: the visitor's next request, on any worker, is decided by them) */
        if (ops[i]->revokes)
            publish_revocation(ops[i]);
    return;
Rollback: {
    char ignored[64];
    exec("ROLLBACK", ignored, sizeof(ignored));
}
Fail:
    memcpy(st.head, saved_head, sizeof(saved_head));
    revocations_ended(0);
    gw_error("consent store: %zu records not stored: %s", n, err);
    __atomic_add_fetch(&stat_failed, n, __ATOMIC_RELAXED);
    for (i = 0; i != n; ++i) {
        ops[i]->revokes = 0;
        ops[i]->ans.status = -1;
        snprintf(ops[i]->error, sizeof(ops[i]->error), "%s", err);
    }
}

void gw_store_set_report_limits(unsigned retention_days, unsigned max_rows)
{
    st.report_retention_days = retention_days;
    st.reports_max = max_rows;
}

/* Injection reports carry the reporting visitor's truncated address: kept no longer than the consent records, nor than
 * channel.report_retention_days, and only the newest channel.reports_max (a report-only policy that every page view
 * breaks writes a report per view: without a cap the table grew by gigabytes, and its hourly purge scanned it all). Ids
 * grow with time, so the cap is a range of the primary key. */
static void purge_reports(void)
{
    char err[200], q[256];
    unsigned days = st.report_retention_days != 0 && st.report_retention_days < st.retention_days ? st.report_retention_days
                                                                                                  : st.retention_days;
    snprintf(q, sizeof(q), "DELETE FROM injections WHERE time_ms < %lld", (long long)(now_ms() - (int64_t)days * 86400 * 1000));
    if (exec(q, err, sizeof(err)) != 0)
        gw_error("consent store: retention purge of injection reports failed: %s", err);
    else if (sqlite3_changes(st.db) != 0)
        gw_info("consent store: purged %d injection reports older than %u days", sqlite3_changes(st.db), days);
    if (st.reports_max == 0)
        return;
    snprintf(q, sizeof(q), "DELETE FROM injections WHERE id <= (SELECT max(id) FROM injections) - %u", st.reports_max);
    if (exec(q, err, sizeof(err)) != 0)
        gw_error("consent store: purge of injection reports over channel.reports_max failed: %s", err);
    else if (sqlite3_changes(st.db) != 0)
        gw_info("consent store: purged the %d oldest injection reports (channel.reports_max %u)", sqlite3_changes(st.db),
                st.reports_max);
}

static void purge(void)
{
    char err[200], q[512];
    int64_t cutoff = now_ms() - (int64_t)st.retention_days * 86400 * 1000;
    sqlite3_stmt *s = NULL;
    if (store_usable(err, sizeof(err)) != 0) { /* (the next purge is in an hour) */
        gw_error("consent store: retention purge not done: %s", err);
        return;
    }
    purge_reports();
    purge_revocations();
    /* the anchor becomes the hash of the newest row that goes, so the chain of what stays still verifies. The row is
     * found first and counted once: a count in the row search's own columns ran for every row that goes, each one
     * counting the rows before it (an hour's 80,000 records held the writer, and every consent, for minutes).
     * What goes is the chain's head up to the first record still within retention, not up to the last one older: a
     * record stamped while the wall clock was behind (a machine that booted years in the past until NTP set it) sits
     * after newer ones, and took every record before it along. Walked in seq order (NOT INDEXED: by the time index it
     * would read every record kept to find the first), it reads the records that go and one more. */
    snprintf(q, sizeof(q),
             "SELECT hash, seq, (SELECT count(*) FROM records WHERE seq <= last.seq) FROM records AS last "
             "WHERE seq = (SELECT max(seq) FROM records WHERE seq < coalesce((SELECT seq FROM records NOT INDEXED "
             "WHERE time_ms >= %lld ORDER BY seq LIMIT 1), 9223372036854775807))",
             (long long)cutoff);
    if (sqlite3_prepare_v2(st.db, q, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
        sqlite3_finalize(s);
        return;
    }
    char anchor[GW_CHAIN_HEX];
    snprintf(anchor, sizeof(anchor), "%s", (const char *)sqlite3_column_text(s, 0));
    long long last_seq = sqlite3_column_int64(s, 1), purged = sqlite3_column_int64(s, 2);
    sqlite3_finalize(s);
    char sql[512], old_anchor[GW_CHAIN_HEX];
    memcpy(old_anchor, st.anchor, sizeof(old_anchor));
    memcpy(st.anchor, anchor, sizeof(st.anchor));
    snprintf(sql, sizeof(sql),
             "BEGIN IMMEDIATE; DELETE FROM records WHERE seq <= %lld; "
             "INSERT OR REPLACE INTO meta (key, value) VALUES ('chain_anchor', '%s');",
             last_seq, anchor);
    if (exec(sql, err, sizeof(err)) != 0 || write_seal(err, sizeof(err)) != 0 || exec("COMMIT", err, sizeof(err)) != 0) {
        exec("ROLLBACK", q, sizeof(q));
        memcpy(st.anchor, old_anchor, sizeof(st.anchor));
        gw_error("consent store: retention purge failed: %s", err);
        return;
    }
    gw_info("consent store: purged %lld records older than %u days", purged, st.retention_days);
    empty_wal("retention purge");
}

/* with st.mutex held and ops queued: the commit delay (see DELAY_BATCH); reads and erasures do not wait */
static void wait_for_batch(void)
{
    struct timespec until = st.first->queued_at;
    if (st.commit_delay_us == 0 || st.queued >= DELAY_BATCH || st.first->kind != OP_APPEND)
        return;
    until.tv_nsec += (long)st.commit_delay_us * 1000;
    until.tv_sec += until.tv_nsec / 1000000000, until.tv_nsec %= 1000000000;
    st.waiting_for = DELAY_BATCH;
    while (st.queued < DELAY_BATCH && !st.stopping && pthread_cond_timedwait(&st.cond, &st.mutex, &until) == 0)
        ;
    st.waiting_for = 0;
}

static void *run_writer(void *arg)
{
    op_t *batch[GW_STORE_BATCH_MAX];
    pthread_setname_np(pthread_self(), "cg-store");
    for (;;) {
        pthread_mutex_lock(&st.mutex);
        while (st.first == NULL && !st.stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 60;
            pthread_cond_timedwait(&st.cond, &st.mutex, &ts);
            if (st.first == NULL && monotonic_ms() >= st.next_purge_ms)
                break;
        }
        if (st.first != NULL)
            wait_for_batch();
        size_t n = 0;
        while (st.first != NULL && n != GW_STORE_BATCH_MAX) {
            batch[n++] = st.first;
            st.first = st.first->next;
        }
        if (st.first == NULL)
            st.last = &st.first;
        st.queued -= n;
        __atomic_store_n(&stat_queued, st.queued, __ATOMIC_RELAXED);
        int stop = st.stopping && n == 0;
        pthread_mutex_unlock(&st.mutex);
        if (stop)
            break;

        if (monotonic_ms() >= st.next_purge_ms) {
            st.next_purge_ms = monotonic_ms() + purge_interval_ms;
            purge();
        }
        /* group commit: all appends of this turn in one transaction, in queue order */
        op_t *appends[GW_STORE_BATCH_MAX];
        size_t na = 0;
        for (size_t i = 0; i != n; ++i)
            if (batch[i]->kind == OP_APPEND)
                appends[na++] = batch[i];
        if (na != 0)
            do_appends(appends, na);
        /* answered before the other kinds: the visitors of this commit are waiting for it. One message per
         * worker carries all its answers (each message to an idle worker costs a write() to wake it) */
        op_t *heads[GW_STORE_BATCH_MAX], *tails[GW_STORE_BATCH_MAX];
        size_t nheads = 0;
        for (size_t i = 0; i != n; ++i) {
            if (batch[i]->kind != OP_APPEND)
                continue;
            size_t h = 0;
            while (h != nheads && heads[h]->thread != batch[i]->thread)
                ++h;
            if (h == nheads)
                heads[nheads++] = batch[i];
            else
                tails[h]->more = batch[i];
            tails[h] = batch[i];
            batch[i] = NULL;
        }
        for (size_t h = 0; h != nheads; ++h)
            h2o_multithread_send_message(receivers + heads[h]->thread, &heads[h]->msg);
        for (size_t i = 0; i != n; ++i) {
            if (batch[i] == NULL)
                continue;
            switch (batch[i]->kind) {
            case OP_RECEIPTS:
                do_receipts(batch[i]);
                break;
            case OP_ERASE:
                do_erase(batch[i]);
                break;
            case OP_EXPORT:
                do_export(batch[i]);
                break;
            case OP_INJECTIONS_ADD:
                do_injections_add(batch[i]);
                break;
            case OP_INJECTIONS_LIST:
                do_injections_list(batch[i]);
                break;
            default:
                break;
            }
            h2o_multithread_send_message(receivers + batch[i]->thread, &batch[i]->msg);
        }
        pthread_mutex_lock(&st.mutex);
        int idle = st.first == NULL;
        pthread_mutex_unlock(&st.mutex);
        maybe_checkpoint(idle);
    }
    sqlite3_finalize(st.insert);
    st.insert = NULL;
    sqlite3_finalize(st.seal);
    st.seal = NULL;
    sqlite3_finalize(st.begin);
    st.begin = NULL;
    sqlite3_finalize(st.commit);
    st.commit = NULL;
    return NULL;
}

/* --- open / migrate / close -------------------------------------------------------------------- */

static int migrate(char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int version = 0;
    /* a file that is not a database, or is corrupted, fails here: it is never recreated */
    if (exec("PRAGMA journal_mode = WAL", err, errlen) != 0 || exec("PRAGMA synchronous = FULL", err, errlen) != 0 ||
        exec("PRAGMA foreign_keys = ON", err, errlen) != 0 ||
        exec("PRAGMA secure_delete = ON", err, errlen) != 0) /* (Debian's default; erased and purged bytes zeroed) */
        return -1;
    if (sqlite3_prepare_v2(st.db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        sqlite3_finalize(s);
        return -1;
    }
    int has_meta = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (has_meta) {
        char v[16];
        int found = meta_get(st.db, "schema_version", v, sizeof(v));
        if (found < 0) {
            snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
            return -1;
        }
        if (found)
            version = atoi(v);
        if (version < 1 || version > SCHEMA_VERSION) {
            snprintf(err, errlen, "unknown consent store schema version %d (this build knows 1..%d)", version, SCHEMA_VERSION);
            return -1;
        }
    } else {
        /* a database with other tables is someone else's: refuse */
        if (sqlite3_prepare_v2(st.db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW) {
            snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
            sqlite3_finalize(s);
            return -1;
        }
        int objects = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
        if (objects != 0) {
            snprintf(err, errlen, "the database holds tables but is not a consentgate store");
            return -1;
        }
    }
    if (version < 1 &&
        exec("BEGIN IMMEDIATE;"
             "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
             "CREATE TABLE records (seq INTEGER PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, visitor TEXT NOT NULL,"
             " visitor_nonce TEXT, visitor_commit TEXT NOT NULL, time_ms INTEGER NOT NULL, policy_version INTEGER NOT NULL,"
             " granted TEXT NOT NULL, refused TEXT NOT NULL, regime TEXT NOT NULL, country TEXT NOT NULL, method TEXT NOT NULL,"
             " client_ip TEXT NOT NULL, ua_hash TEXT NOT NULL, ui_hash TEXT NOT NULL, prev_hash TEXT NOT NULL,"
             " hash TEXT NOT NULL);"
             "CREATE INDEX records_visitor ON records (visitor);"
             "CREATE INDEX records_time ON records (time_ms);"
             "INSERT INTO meta (key, value) VALUES ('schema_version', '1');"
             "COMMIT;",
             err, errlen) != 0)
        return -1;
    /* version 2: injection reports (CSP violations) */
    if (version < 2 &&
        exec("BEGIN IMMEDIATE;"
             "CREATE TABLE injections (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, client_ip TEXT NOT NULL,"
             " document_uri TEXT NOT NULL, blocked_uri TEXT NOT NULL, blocked_host TEXT NOT NULL, directive TEXT NOT NULL,"
             " source_file TEXT NOT NULL, line INTEGER NOT NULL, sample TEXT NOT NULL, format TEXT NOT NULL);"
             "CREATE INDEX injections_host ON injections (blocked_host);"
             "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
             "COMMIT;",
             err, errlen) != 0)
        return -1;
    /* version 3: revocations (revoke.h); a store with records has its earlier decisions' made at the first start
     * (backfill_revocations, after the salt) */
    if (version < 3 &&
        exec("BEGIN IMMEDIATE;"
             "CREATE TABLE revocations (visitor_hash TEXT NOT NULL, category TEXT NOT NULL, cut INTEGER NOT NULL,"
             " PRIMARY KEY (visitor_hash, category)) WITHOUT ROWID;"
             "INSERT INTO meta (key, value) SELECT 'revocations_backfill', '1' WHERE EXISTS (SELECT 1 FROM records);"
             "UPDATE meta SET value = '3' WHERE key = 'schema_version';"
             "COMMIT;",
             err, errlen) != 0)
        return -1;
    return 0;
}

/*
 * After an unclean stop (a crash, SIGKILL, a power cut) the newest records are in the WAL until a checkpoint copies
 * them into the database file. SQLite, finding the -wal file gone or cut short, opens what the database file holds
 * without a word: every record since the last checkpoint lost (on a store never checkpointed the file holds no table
 * at all, and a new store was made over it), the chain and the seal still verifying, as they were in the WAL too.
 * The -shm file, the WAL's index (in the machine's byte order; a crash leaves it, a clean stop removes it), says how
 * many frames the WAL holds that the database file does not: read before SQLite opens the files, since its recovery
 * rebuilds the index from what the WAL holds. Returns 0, or -1 with why in err.
 */
static int wal_complete(const char *path, char *err, size_t errlen)
{
    char shm[4096 + 8], wal[4096 + 8];
    uint8_t hdr[100]; /* the index header twice (48 bytes each: SQLite's WalIndexHdr), then the checkpoint's nBackfill */
    uint32_t version, frames, backfilled;
    uint16_t page;
    struct stat sb;
    snprintf(shm, sizeof(shm), "%s-shm", path);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return 0;
    ssize_t n = pread(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (n != (ssize_t)sizeof(hdr) || memcmp(hdr, hdr + 48, 48) != 0 || hdr[12] != 1)
        return 0; /* an index SQLite was still writing, or none: nothing to go by */
    memcpy(&version, hdr, 4);
    memcpy(&page, hdr + 14, 2);
    memcpy(&frames, hdr + 16, 4);
    memcpy(&backfilled, hdr + 96, 4);
    if (version != 3007000 || frames <= backfilled)
        return 0;
    uint64_t need = 32 + (uint64_t)frames * (24 + (page == 1 ? 65536u : page)); /* WAL header, frames (header + page) */
    int missing = stat(wal, &sb) != 0;
    if (!missing && (uint64_t)sb.st_size >= need)
        return 0;
    snprintf(err, errlen,
             "its -wal file is %s, but the WAL's index (its -shm file) holds %u frames of committed records the database "
             "file does not have yet: restore the -wal file; to go on without those records, remove the -shm file",
             missing ? "missing" : "cut short", frames - backfilled);
    return -1;
}

/* PRAGMA quick_check: every page of the file read once (O(size), no index cross-check); the first problem into err */
static int check_integrity(char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(st.db, "PRAGMA quick_check(1)", -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
    } else if (sqlite3_step(s) != SQLITE_ROW) {
        snprintf(err, errlen, "integrity check failed: %s", sqlite3_errmsg(st.db));
    } else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok") != 0) {
        snprintf(err, errlen, "the database is corrupted (%s)", (const char *)sqlite3_column_text(s, 0));
    } else {
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

static gw_token_key_t ua_key; /* HMAC-SHA256 under the store's ua_salt, its inner and outer states computed once */

const gw_token_key_t *gw_store_ua_key(void)
{
    return &ua_key;
}

/* a salt of the store's meta (`name`: 32 random bytes as hex) as an HMAC key, made on first use: the user agents'
 * (ua_salt; stores from before it get one too, their earlier records keep the hashes they were written with, which the
 * chain covers) and the revocations' (revocation_salt) */
static int load_salt(const char *name, gw_token_key_t *key, char *err, size_t errlen)
{
    uint8_t salt[32];
    char hex[66]; /* one more than a salt's 64 digits: a longer value does not pass for one */
    int found = meta_get(st.db, name, hex, sizeof(hex));
    if (found < 0) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(st.db));
        return -1;
    }
    if (found && strlen(hex) == 2 * sizeof(salt)) {
        for (size_t i = 0; i != sizeof(salt) && found; ++i) {
            int hi = gw_url_hex_digit(hex[2 * i]), lo = gw_url_hex_digit(hex[2 * i + 1]);
            found = hi >= 0 && lo >= 0;
            salt[i] = (uint8_t)(hi << 4 | lo);
        }
        if (found)
            return gw_token_key_init(key, 0, salt, sizeof(salt));
    }
    char sql[160];
    if (gw_random_bytes(salt, sizeof(salt)) != 0) {
        snprintf(err, errlen, "the random generator failed");
        return -1;
    }
    gw_hex(salt, sizeof(salt), hex);
    snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta (key, value) VALUES ('%s', '%s')", name, hex);
    if (exec(sql, err, errlen) != 0)
        return -1;
    return gw_token_key_init(key, 0, salt, sizeof(salt));
}

int gw_store_open(const char *path, unsigned retention_days, unsigned commit_delay_ms, unsigned queue_max, char *err,
                  size_t errlen)
{
    char msg[512];
    struct stat sb;
    const char *rmax = getenv("CG_RECEIPTS_MAX");

    if (rmax != NULL && atoi(rmax) > 0)
        receipts_max = (size_t)atoi(rmax);
    const char *every = getenv("CG_PURGE_SECONDS");
    if (every != NULL && atoi(every) > 0 && atoi(every) <= PURGE_INTERVAL_MS / 1000)
        purge_interval_ms = (int64_t)atoi(every) * 1000;
    if (gw_make_parents(path, 0750) != 0) {
        snprintf(err, errlen, "%s: cannot create its folder: %s", path, strerror(errno));
        return -1;
    }
    /* one writer per store: a second gateway on the same file would fork the hash chain (both appending after the same
     * record). The lock (flock, apart from SQLite's own fcntl locks) is held as long as the process lives. Made here
     * 0640 when new, so SQLite's -wal and -shm files, which take the database's mode, are 0640 from the start. */
    int lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (lock_fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EWOULDBLOCK ? "in use by another process (another consentgate on this store?): refusing to start"
                                      : strerror(errno));
        close(lock_fd);
        return -1;
    }
    if (wal_complete(path, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s: %s (refusing to start; the files are left as they are)", path, msg);
        close(lock_fd);
        return -1;
    }
    if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, st.db != NULL ? sqlite3_errmsg(st.db) : "cannot open");
        goto Error;
    }
    sqlite3_busy_timeout(st.db, BUSY_TIMEOUT_MS);
    sqlite3_wal_autocheckpoint(st.db, 0); /* checkpoints run between batches (maybe_checkpoint) */
    sqlite3_wal_hook(st.db, on_wal, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (check_integrity(msg, sizeof(msg)) != 0 || check_new_keys(msg, sizeof(msg)) != 0 || migrate(msg, sizeof(msg)) != 0 ||
        load_salt("ua_salt", &ua_key, msg, sizeof(msg)) != 0 || load_head(msg, sizeof(msg)) != 0 ||
        check_seal(msg, sizeof(msg)) != 0 || load_revocations(msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s: %s (refusing to start; the file is left as it is)", path, msg);
        goto Error;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    gw_info("consent store %s: integrity checked and opened in %.0f ms", path,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto Error;
    }
    chmod(path, 0640);
    char side[4096 + 8];
    struct stat wsb;
    snprintf(side, sizeof(side), "%s-wal", path), chmod(side, 0640); /* (made 0644 by an older start) */
    st.wal_path = gw_strdup(side);
    if (stat(side, &wsb) != 0) /* (made by migrate's reads; none: wal_usable makes one) */
        wsb.st_dev = 0, wsb.st_ino = 0;
    st.wal_dev = wsb.st_dev;
    st.wal_ino = wsb.st_ino;
    snprintf(side, sizeof(side), "%s-shm", path), chmod(side, 0640);
    st.dev = sb.st_dev;
    st.ino = sb.st_ino;
    st.path = gw_strdup(path);
    st.retention_days = retention_days;
    st.commit_delay_us = commit_delay_ms * 1000;
    st.queue_max = queue_max;
    st.last = &st.first;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the writer's waits: queue times are monotonic */
    pthread_cond_init(&st.cond, &ca);
    pthread_condattr_destroy(&ca);
    st.next_purge_ms = 0; /* purge once at start */
    receivers = gw_calloc(gw_rt.conf.threads > 0 ? gw_rt.conf.threads : 1, sizeof(*receivers));
    gw_server_on_thread_init(on_thread_init);
    st.lock_fd = lock_fd;
    st.running = 1;
    /* (pthread_create fails when the tasks a user or a cgroup may have are spent: systemd's TasksMax=, a container's
     * pids limit): without a writer every consent would wait in the queue for good */
    int rc = pthread_create(&st.tid, NULL, run_writer, NULL);
    if (rc != 0) {
        st.running = 0;
        snprintf(err, errlen, "%s: cannot start its writer thread: %s", path, strerror(rc));
        goto Error;
    }
    return 0;
Error:
    sqlite3_finalize(st.seal);
    st.seal = NULL;
    sqlite3_close(st.db);
    st.db = NULL;
    close(lock_fd);
    return -1;
}

void gw_store_close(void)
{
    if (!st.running)
        return;
    pthread_mutex_lock(&st.mutex);
    st.stopping = 1;
    pthread_cond_signal(&st.cond);
    pthread_mutex_unlock(&st.mutex);
    pthread_join(st.tid, NULL);
    st.running = 0;
    sqlite3_close(st.db);
    st.db = NULL;
    close(st.lock_fd); /* (after the database is closed: the next writer may start) */
    free(st.path);
    st.path = NULL;
    free(st.wal_path);
    st.wal_path = NULL;
}

/* --- verify ---------------------------------------------------------------------------------- */

/* a digit of gw_hex's lower-case hex, or -1 */
static int lower_hex_digit(char c)
{
    return c >= 'A' && c <= 'F' ? -1 : gw_url_hex_digit(c);
}

/* 1 when v is what do_erase puts in place of a visitor id */
static int is_pseudonym(const char *v)
{
    size_t n = sizeof(PSEUDONYM_PREFIX) - 1;
    if (v == NULL || strncmp(v, PSEUDONYM_PREFIX, n) != 0 || strlen(v) != n + 32)
        return 0;
    for (v += n; *v != '\0'; ++v)
        if (lower_hex_digit(*v) < 0)
            return 0;
    return 1;
}

/* the 16 bytes of 32 hex digits as gw_hex writes them: 0, or -1 for any other text. The store finds a visitor's records
 * by the id as written (receipts, erasure): "0A…", or " a…" and "+a…", which sscanf's %2hhx read as the same bytes, are
 * another visitor's id, or nobody's */
static int hex16(const char *s, uint8_t out[16])
{
    if (strlen(s) != 32)
        return -1;
    for (size_t i = 0; i != 16; ++i) {
        int hi = lower_hex_digit(s[2 * i]), lo = lower_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* 0 when db has no revocations table (a store from before them), else 1 (also when it cannot tell) */
static int has_revocations(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int has = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'revocations'", -1, &s,
                                 NULL) != SQLITE_OK ||
              sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int(s, 0) != 0;
    sqlite3_finalize(s);
    return has;
}

int gw_store_verify(const char *path, const gw_token_key_t *keys, size_t num_keys, FILE *out)
{
    char last[GW_CHAIN_HEX] = "", msg[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char anchor[GW_CHAIN_HEX];
    gw_chain_verifier_t v;
    int rc = 2, step;

    if (wal_complete(path, msg, sizeof(msg)) != 0) {
        fprintf(out, "BROKEN: %s: %s\n", path, msg);
        rc = 1;
        goto Exit;
    }
    /* every read below in one read transaction: the store as one commit left it. Read statement by statement, a store
     * the gateway writes meanwhile had its seals read after a later commit than the rows they were checked against
     * (BROKEN, of a store that is not) */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(out, "%s: cannot open: %s\n", path, db != NULL ? sqlite3_errmsg(db) : "out of memory");
        goto Exit;
    }
    memcpy(anchor, gw_chain_genesis, sizeof(anchor));
    if (meta_get(db, "chain_anchor", anchor, sizeof(anchor)) < 0) {
        fprintf(out, "%s: not a consent store: %s\n", path, sqlite3_errmsg(db));
        goto Exit;
    }
    /* a newer build's records may be chained or sealed otherwise: "BROKEN" would send the operator after damage that
     * is not there (the start refuses such a store too, migrate) */
    char version[16] = "0";
    if (meta_get(db, "schema_version", version, sizeof(version)) == 1 && (atoi(version) < 1 || atoi(version) > SCHEMA_VERSION)) {
        fprintf(out, "%s: unknown consent store schema version %s (this build knows 1..%d): verify it with the build that "
                     "wrote it\n",
                path, version, SCHEMA_VERSION);
        goto Exit;
    }
    gw_chain_verify_init(&v, anchor);
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, receipt, visitor, visitor_nonce, visitor_commit, time_ms, policy_version, granted, refused,"
                           " regime, country, method, client_ip, ua_hash, ui_hash, prev_hash, hash FROM records ORDER BY seq",
                           -1, &s, NULL) != SQLITE_OK) {
        fprintf(out, "%s: not a consent store: %s\n", path, sqlite3_errmsg(db));
        goto Exit;
    }
    rc = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
#define COL(i) ((const char *)sqlite3_column_text(s, (i)))
        gw_chain_row_t row = {COL(1),  COL(4),  sqlite3_column_int64(s, 5), sqlite3_column_int64(s, 6), COL(7), COL(8), COL(9),
                              COL(10), COL(11), COL(12), COL(13), COL(14), COL(15)};
        const char *why = NULL;
        int broken = gw_chain_verify_row(&v, &row, COL(16), &why) != 0;
        /* a visitor id that is not pseudonymised must match its commitment; without a nonce, only an erasure's pseudonym
         * may stand there (any id did: a record moved to another visitor by dropping its nonce verified) */
        if (!broken && COL(3) == NULL && !is_pseudonym(COL(2))) {
            broken = 1;
            why = "a visitor id without its nonce (only an erasure's pseudonym, erased-..., goes without)";
        } else if (!broken && COL(3) != NULL) {
            uint8_t nonce[16], visitor[16];
            char commit[GW_CHAIN_HEX];
            int ok = hex16(COL(3), nonce) == 0 && hex16(COL(2), visitor) == 0;
            if (ok)
                gw_chain_commit(nonce, visitor, commit);
            if (!ok || strcmp(commit, COL(4)) != 0) {
                broken = 1;
                why = "the visitor id does not match the record's commitment";
            }
        }
        if (broken) {
            fprintf(out, "BROKEN at record seq=%lld receipt=%s: %s\n", (long long)sqlite3_column_int64(s, 0),
                    COL(1) != NULL ? COL(1) : "(null)", why);
            rc = 1;
            break;
        }
        snprintf(last, sizeof(last), "%s", COL(16));
#undef COL
    }
    if (rc == 0 && step != SQLITE_DONE) {
        fprintf(out, "%s: read error: %s\n", path, sqlite3_errmsg(db));
        rc = 2;
    }
    const char *sealed = "seal not checked (no secrets file)";
    if (rc == 0 && keys != NULL) {
        char seal[GW_CHAIN_SEAL_LEN];
        const char *head = last[0] != '\0' ? last : anchor; /* no records: the chain ends where it starts */
        read_seal(db, seal);
        int m = seal[0] != '\0' ? seal_matches(seal, keys, num_keys, anchor, head) : 0;
        if (seal[0] == '\0') {
            fprintf(out, "BROKEN: the store carries no seal (never opened by a gateway that seals, or the seal was removed)\n");
            rc = 1;
        } else if (m < 0) {
            fprintf(out, "%s: cannot check the seal: it was made with key %d, which is not in the secrets file\n", path, atoi(seal));
            rc = 2;
        } else if (m == 0) {
            seal_mismatch(db, seal, keys, num_keys, anchor, msg, sizeof(msg));
            fprintf(out, "BROKEN: the seal does not match the chain's ends (first record after %.16s…, newest %.16s…): %s\n", anchor,
                    head, msg);
            rc = 1;
        }
        sealed = "seal matches";
    }
    char revoked[96] = "";
    /* (a store from before revocations has none; the table says so, not schema_version, which an edit may have set back
     * or removed, the revocations' seal then unchecked) */
    if (rc == 0 && keys != NULL && (atoi(version) >= 3 || has_revocations(db))) {
        int64_t rows = 0;
        switch (revocations_sealed(db, keys, num_keys, &rows)) {
        case 1:
            snprintf(revoked, sizeof(revoked), ", %lld revocation rows, their seal matches", (long long)rows);
            break;
        case 0:
            fprintf(out, "BROKEN: the revocations' seal does not match them (%lld rows): rows were deleted, changed or added, or "
                         "meta's revocation_salt or token_max_age_days changed, by someone other than the gateway\n",
                    (long long)rows);
            rc = 1;
            break;
        case -1:
            fprintf(out, "%s: cannot check the revocations' seal: it was made with a key not in the secrets file\n", path);
            rc = 2;
            break;
        case -2:
            fprintf(out, "BROKEN: the revocations carry no seal (never opened by a gateway that seals them, or the seal was "
                         "removed)\n");
            rc = 1;
            break;
        default:
            fprintf(out, "%s: read error: %s\n", path, sqlite3_errmsg(db));
            rc = 2;
        }
    }
    if (rc == 0)
        fprintf(out, "%s: %llu records, chain intact, %s%s\n", path, (unsigned long long)v.rows, sealed, revoked);
Exit:
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
