/*
 * chain — canonical encoding and hash chaining of consent records.
 *
 * Every record's hash is SHA-256 over the previous record's hash and the record's
 * canonical encoding, so changing, inserting or removing a row breaks every later link.
 * The chain covers a commitment to the visitor id, SHA-256(nonce || visitor), not the id
 * itself: erasing a visitor replaces the id and drops the nonce, the commitment stays,
 * and the chain still verifies while the erased rows can no longer be tied to the person.
 *
 * Canonical encoding (version 1), fields joined by '\n', integers in decimal:
 *   "cg-record-v1", receipt, visitor_commit (hex), time_ms, policy_version, granted,
 *   refused, regime, country, method, client_ip, ua_hash (hex), ui_hash (hex), prev_hash (hex)
 * Pure: no I/O, no allocation.
 */
#ifndef GW_CHAIN_H
#define GW_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define GW_CHAIN_HEX 65 /* 64 hex digits + NUL */

typedef struct st_gw_chain_row_t {
    const char *receipt;
    const char *visitor_commit; /* hex */
    int64_t time_ms;
    int64_t policy_version;
    const char *granted; /* "necessary,analytics" */
    const char *refused;
    const char *regime;
    const char *country; /* "" when unknown */
    const char *method;
    const char *client_ip;
    const char *ua_hash; /* hex */
    const char *ui_hash; /* hex */
    const char *prev_hash; /* hex; the genesis record's is 64 zeros */
} gw_chain_row_t;

extern const char gw_chain_genesis[GW_CHAIN_HEX];

/*
 * The store's seal (meta.seal): "<key id>:<32 hex digits>", the first 128 bits of
 * HMAC-SHA256(seal key, "consentgate records seal v1\n" anchor "\n" head) where anchor is the hash
 * the chain starts from (genesis or a purge's anchor) and head the newest record's hash. Rewritten
 * in every transaction that moves either end, so removing records from the end (or the start, with
 * the anchor forged) no longer verifies without the secrets file's keys.
 */
#define GW_CHAIN_SEAL_LEN 40 /* "255:" + 32 hex + NUL fits */
struct st_gw_token_key_t;
void gw_chain_seal(const struct st_gw_token_key_t *key, const char *anchor, const char *head, char out[GW_CHAIN_SEAL_LEN]);

/*
 * The revocations' seal (meta.revocations_seal): the same form as the records' seal, the first 128 bits of
 * HMAC-SHA256(seal key, "consentgate revocations seal v1\n" salt "\n" max_age_days "\n" digest) where salt is
 * meta.revocation_salt as stored, max_age_days meta.token_max_age_days (the purge's horizon) and digest the 64 hex
 * digits of the XOR of every row's MAC (gw_chain_revocation_fold). A row deleted, changed or added outside the gateway,
 * or the salt or the horizon changed, no longer matches without the key; the digest is never stored, so two seals read
 * before and after a change tell nothing about the rows it touched.
 */
void gw_chain_revocations_seal(const struct st_gw_token_key_t *key, const char *salt, unsigned max_age_days,
                               const uint8_t digest[32], char out[GW_CHAIN_SEAL_LEN]);

/* XORs into digest the MAC of one row of the revocations table: HMAC-SHA256(seal key, "consentgate revocation v1\0"
 * visitor_hash "\0" category "\0" cut in decimal). Adding and removing a row are the same operation. */
void gw_chain_revocation_fold(const struct st_gw_token_key_t *key, const char *visitor_hash, const char *category, int64_t cut,
                              uint8_t digest[32]);

/* Computes the row's hash as 64 lower-case hex digits + NUL into out. */
void gw_chain_hash(const gw_chain_row_t *row, char out[GW_CHAIN_HEX]);

/* SHA-256(nonce || visitor) as hex, the visitor commitment. */
void gw_chain_commit(const uint8_t nonce[16], const uint8_t visitor[16], char out[GW_CHAIN_HEX]);

/* lower-case hex of n bytes into out (2n+1 bytes) */
void gw_hex(const uint8_t *in, size_t n, char *out);

/* Verifier state, fed one row at a time in chain order. */
typedef struct st_gw_chain_verifier_t {
    char expect_prev[GW_CHAIN_HEX];
    uint64_t rows;
    int broken;
} gw_chain_verifier_t;

/* anchor: the hash the first row's prev_hash must equal (genesis, or the last purged row's hash) */
void gw_chain_verify_init(gw_chain_verifier_t *v, const char *anchor);

/* Checks one row with its stored hash. Returns 0 if the link holds, -1 if this row breaks the chain
 * (its prev_hash is not the previous row's hash, or its stored hash is not the hash of its contents).
 * After a break, later rows are checked against their own stored hashes so only the first break is reported. */
int gw_chain_verify_row(gw_chain_verifier_t *v, const gw_chain_row_t *row, const char *stored_hash, const char **why);

#endif
