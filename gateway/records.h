/*
 * records — consent records: every decision becomes a record that is durable before the
 * visitor gets the answer.
 *
 * gw_records_submit() hands a record to the store and calls `cb` on the request's own
 * thread once the record is on stable storage (status 0, receipt id filled) or could not
 * be written (status -1: the caller answers 503 and sets no cookie).
 */
#ifndef GW_RECORDS_H
#define GW_RECORDS_H

#include <h2o.h>
#include <stdint.h>

typedef enum en_gw_record_method_t {
    GW_METHOD_ACCEPT_ALL,
    GW_METHOD_REJECT_ALL,
    GW_METHOD_CUSTOM,
    GW_METHOD_WITHDRAW,
    GW_METHOD_GPC,
    GW_METHOD_ERASE
} gw_record_method_t;

typedef struct st_gw_record_t {
    char receipt[37]; /* UUID, filled by gw_records_submit */
    uint8_t visitor[16];
    uint64_t time_ms;
    uint32_t policy_version;
    uint16_t granted, refused;
    uint8_t regime;
    gw_record_method_t method;
    char country[8];
    char client_ip[48];   /* truncated: /24 for IPv4, /48 for IPv6 */
    uint8_t ua_hash[32];  /* salted SHA-256 of the User-Agent, never the raw value */
    uint8_t ui_hash[32];  /* hash of the consent UI files served */
    uint16_t presented;   /* not stored: what the token the request presented granted (0: none), so that the store
                             revokes what the decision takes back from it (store.h, revocations) */
} gw_record_t;

/* status: 0 durable, -1 not written (store unavailable), GW_RECORDS_RATE_LIMITED not written (gw_records_over_rate) */
typedef void (*gw_records_done_cb)(h2o_req_t *req, void *data, int status, const gw_record_t *rec);
#define GW_RECORDS_RATE_LIMITED (-2)

const char *gw_record_method_name(gw_record_method_t m);

/* hashes the consent UI (gw_uifiles_load'ed files and ui.strings: the ui_hash of every record); call once at start */
void gw_records_init(void);

/* the record's country: "GB", or "US-CA" when a rule of that subdivision decided the regime (a record shows why its
 * regime applied, and names a subdivision no more often than that); "" when unknown */
struct st_gw_reqctx_t;
void gw_records_set_place(gw_record_t *rec, const struct st_gw_reqctx_t *ctx);

/* fills client_ip, ua_hash, ui_hash, time_ms and a fresh receipt id from the request */
void gw_records_prepare(h2o_req_t *req, gw_record_t *rec);

/* registers GET /admin/records (JSON lines, streamed) on the admin listener */
void gw_records_register_admin(void);

/* 1 when this request's client is over store.rate_per_minute records in its minute (ratelimit.h: consents,
 * withdrawals, erasures and GPC refusals count together): the caller writes nothing, and *retry_after_s says when
 * to try again. Counts the request otherwise. */
int gw_records_over_rate(h2o_req_t *req, unsigned *retry_after_s);

/* Submits rec (copied). cb runs on the calling worker thread after the record is durable, or failed. */
void gw_records_submit(h2o_req_t *req, const gw_record_t *rec, gw_records_done_cb cb, void *data);

#endif
