/*
 * store — the consent store: one SQLite database (WAL, synchronous=FULL) owned by one
 * writer thread.
 *
 * Worker threads never touch SQLite: they enqueue an operation (append a record, read a
 * visitor's receipts, erase a visitor, page through records for the admin export) and get
 * the answer back on their own event loop through h2o's cross-thread messages. Appends
 * are group-committed: everything queued when the writer wakes goes into one
 * transaction, and every waiting request is answered after that transaction's fsync.
 * If a request is gone by the time its answer arrives (the client disconnected), the
 * answer is dropped; the record itself is kept.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <h2o.h>
#include <stdint.h>
#include "records.h"
#include "token.h"

#define GW_STORE_BATCH_MAX 1024

/* What an operation produced (valid inside the callback only). */
typedef struct st_gw_store_answer_t {
    int status;          /* 0 ok, -1 failed (error names why) */
    const char *error;
    const char *body;    /* JSON produced by a read, malloc'ed by the writer */
    size_t body_len;
    uint64_t count;      /* rows erased / returned */
    int64_t next_seq;    /* export paging: continue after this seq; -1 when done */
    int truncated;       /* receipts: older records were left out (GW_STORE_RECEIPTS_MAX) */
    const gw_record_t *record; /* the appended record (receipt filled) */
} gw_store_answer_t;

/* Opens (creating or migrating) the database at path, checks it, starts the writer thread.
 * Refuses a file that is not a consent store or is corrupted (never recreates over it).
 * Returns 0, or -1 with a message in err. */
int gw_store_open(const char *path, unsigned retention_days, unsigned commit_delay_ms, unsigned queue_max, char *err,
                  size_t errlen);

/* Injection reports (the injections table) are kept at most retention_days (never longer than the records) and at most
 * max_rows of them, the newest: purged with the records. Call before gw_store_open. */
void gw_store_set_report_limits(unsigned retention_days, unsigned max_rows);

/* Stops the writer after the queue is empty and closes the database. */
void gw_store_close(void);

/* For /admin/metrics: operations queued for the writer now, refused since start (queue full, store stopped: each a 503),
 * and records whose commit failed (full disk, read-only store: each a 503). */
void gw_store_stats(uint64_t *queued, uint64_t *refused, uint64_t *failed);

/* This store's user-agent key: a salt of 32 random bytes made when the store was created (kept in its meta table),
 * so a record's ua_hash is HMAC-SHA256(salt, User-Agent) and means nothing outside this store. Set by gw_store_open;
 * its HMAC states are precomputed (gw_token_hmac: no allocation, no lock, unlike OpenSSL's one-shot HMAC()). */
const gw_token_key_t *gw_store_ua_key(void);

/*
 * Revocations (revoke.h): a decision that refuses what an earlier token of the visitor granted (a withdrawal, a narrower
 * choice, a GPC refusal), and an erasure, are written with their record in one transaction, and into the table the
 * workers read before the answer goes out. Loaded at start, purged when no token still in force can predate them.
 * At most GW_STORE_REVOCATIONS_MAX (CG_REVOCATIONS_MAX in the environment lowers it: tests): past it, a decision or an
 * erasure that would add one more visitor's is refused (the caller answers 503) rather than leave a token unrevoked.
 */
#define GW_STORE_REVOCATIONS_MAX 1000000
struct st_gw_revoke_t;
/* the table in force (a snapshot: use it within one callback; NULL before gw_store_open) and the key of its entries
 * (gw_revoke_key), set by gw_store_open */
const struct st_gw_revoke_t *gw_store_revocations(void);
const gw_token_key_t *gw_store_revoke_key(void);

/* the answer, on the submitting worker thread, while req is still alive */
typedef void (*gw_store_answer_cb)(h2o_req_t *req, void *data, const gw_store_answer_t *ans);

/* Operations. Each returns 0 when queued (the callback will run), -1 when the queue is full
 * or the store is closed (the callback will not run; answer 503). */
int gw_store_append(h2o_req_t *req, const gw_record_t *rec, gw_store_answer_cb cb, void *data);
/* The visitor's latest GW_STORE_RECEIPTS_MAX records (CG_RECEIPTS_MAX in the environment lowers it: tests), oldest
 * first, as a JSON array in ans->body; ans->truncated when it left older ones out. */
#define GW_STORE_RECEIPTS_MAX 1000
int gw_store_receipts(h2o_req_t *req, const uint8_t visitor[16], gw_store_answer_cb cb, void *data);
int gw_store_erase(h2o_req_t *req, const uint8_t visitor[16], const gw_record_t *erase_rec, gw_store_answer_cb cb, void *data);
int gw_store_export(h2o_req_t *req, int64_t since_ms, int64_t after_seq, gw_store_answer_cb cb, void *data);

/* Injection reports (CSP violations): stored in the same database, table `injections`, without a chain. */
struct st_gw_csp_violation_t;
int gw_store_add_injections(h2o_req_t *req, const struct st_gw_csp_violation_t *v, size_t n, const char *client_ip,
                            gw_store_answer_cb cb, void *data);
/* body: {"recent": [... newest first, at most 100], "by_blocked_host": [{"host", "count"}...]} */
int gw_store_list_injections(h2o_req_t *req, gw_store_answer_cb cb, void *data);

struct st_gw_token_key_t;

/* Walks the chain of the database at path (read-only). Prints a report to out. With seal keys (the secrets file's,
 * gw_secrets_t.seal_keys), the seal must match the chain's two ends (records removed from the end, or from the start
 * with the anchor forged, show); without (NULL), the seal is not checked and the report says so.
 * Returns 0 when intact, 1 when broken (the first broken record, or the seal, is named), 2 when it cannot be read
 * or the seal's key is not among keys. */
int gw_store_verify(const char *path, const struct st_gw_token_key_t *keys, size_t num_keys, FILE *out);

/* The seal keys (gw_secrets_t.seal_keys) the store seals with (the primary's) and checks at open; set before
 * gw_store_open. Without them the store is not sealed. `made`: they are the keys of a secrets file this start made (it
 * did not exist), which gw_store_open refuses for a store that holds records: the tokens and the seal of those records
 * were made with the keys of a secrets file that is missing. */
void gw_store_set_seal_keys(const struct st_gw_token_key_t *keys, size_t n, size_t primary, int made);

/* 1 when the store at path holds records (or the anchor a retention purge left), read only; 0 otherwise (none, no file,
 * not readable: the start says why). For --check-config: such a store needs the secrets file it was made with. */
int gw_store_has_history(const char *path);

#endif
