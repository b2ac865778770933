/* Unit tests for gateway/chain.c (record encoding, chain hashing, verification) and the store's
 * verifier over a real SQLite file built by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>
#include <cmocka.h>
#include "chain.h"
#include "store.h"
#include "token.h"

static gw_chain_row_t
sample(const char *prev, const char *receipt)
{
    gw_chain_row_t r = {
        receipt,        "c0ffee", 1795964527501, 1,   "necessary,analytics", "functional,marketing", "opt-in", "GB", "custom",
        "81.2.69.0/24", "aa",     "bb",          prev};
    return r;
}

/* the canonical encoding is fixed: this digest was computed independently with
 * printf
 * 'cg-record-v1\nr-1\nc0ffee\n1795964527501\n1\nnecessary,analytics\nfunctional,marketing\nopt-in\nGB\ncustom\n81.2.69.0/24\naa\nbb\n<64
 * zeros>' | sha256sum */
static void
test_known_hash(void **state)
{
    char h[GW_CHAIN_HEX];
    gw_chain_row_t r = sample(gw_chain_genesis, "r-1");
    gw_chain_hash(&r, h);
    FILE *p =
        popen("printf 'cg-record-v1\\nr-1\\nc0ffee\\n1795964527501\\n1\\nnecessary,analytics\\nfunctional,marketing\\n"
              "opt-in\\nGB\\ncustom\\n81.2.69.0/24\\naa\\nbb\\n0000000000000000000000000000000000000000000000000000000000000000'"
              " | sha256sum",
              "r");
    char want[80] = {0};
    assert_non_null(fgets(want, sizeof(want), p));
    pclose(p);
    want[64] = '\0';
    assert_string_equal(h, want);
}

static void
test_every_field_changes_the_hash(void **state)
{
    char base[GW_CHAIN_HEX], h[GW_CHAIN_HEX];
    gw_chain_row_t r = sample(gw_chain_genesis, "r-1");
    gw_chain_hash(&r, base);
    const char **fields[] = {&r.receipt, &r.visitor_commit, &r.granted,   &r.refused, &r.regime,
                             &r.country, &r.method,         &r.client_ip, &r.ua_hash, &r.ui_hash};
    for (size_t i = 0; i != sizeof(fields) / sizeof(fields[0]); ++i) {
        gw_chain_row_t m = r;
        const char **f = (const char **)((char *)&m + ((char *)fields[i] - (char *)&r));
        *f = "x";
        gw_chain_hash(&m, h);
        assert_string_not_equal(h, base);
    }
    gw_chain_row_t m = r;
    m.time_ms += 1;
    gw_chain_hash(&m, h);
    assert_string_not_equal(h, base);
    m = r;
    m.policy_version = 2;
    gw_chain_hash(&m, h);
    assert_string_not_equal(h, base);
    /* field boundaries are unambiguous: moving a byte from one field to the next changes the hash */
    m = r;
    m.granted = "necessary,analytic";
    m.refused = "sfunctional,marketing";
    gw_chain_hash(&m, h);
    assert_string_not_equal(h, base);
}

static void
test_verifier_names_the_first_broken_row(void **state)
{
    char hashes[5][GW_CHAIN_HEX];
    gw_chain_row_t rows[5];
    char receipts[5][8];
    const char *prev = gw_chain_genesis;
    for (int i = 0; i != 5; ++i) {
        snprintf(receipts[i], sizeof(receipts[i]), "r-%d", i);
        rows[i] = sample(prev, receipts[i]);
        gw_chain_hash(rows + i, hashes[i]);
        prev = hashes[i];
    }
    gw_chain_verifier_t v;
    const char *why;
    gw_chain_verify_init(&v, NULL);
    for (int i = 0; i != 5; ++i)
        assert_int_equal(gw_chain_verify_row(&v, rows + i, hashes[i], &why), 0);
    /* tamper with row 2's contents: row 2 breaks, rows 0-1 hold */
    rows[2].granted = "necessary,analytics,marketing";
    gw_chain_verify_init(&v, NULL);
    for (int i = 0; i != 5; ++i) {
        int rc = gw_chain_verify_row(&v, rows + i, hashes[i], &why);
        if (i == 2) {
            assert_int_equal(rc, -1);
            break;
        }
        assert_int_equal(rc, 0);
    }
    /* a removed row: the next one's prev_hash no longer matches */
    rows[2].granted = "necessary,analytics";
    gw_chain_verify_init(&v, NULL);
    assert_int_equal(gw_chain_verify_row(&v, rows + 0, hashes[0], &why), 0);
    assert_int_equal(gw_chain_verify_row(&v, rows + 2, hashes[2], &why), -1);
    assert_non_null(strstr(why, "prev_hash"));
    /* an anchor lets a purged chain start later */
    gw_chain_verify_init(&v, hashes[1]);
    assert_int_equal(gw_chain_verify_row(&v, rows + 2, hashes[2], &why), 0);
}

/* builds a store file the way the writer does, then checks gw_store_verify on it and on a tampered copy */
static void
build_db(const char *path, int n)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '1');"
                     "CREATE TABLE records (seq INTEGER PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, visitor TEXT NOT NULL,"
                     " visitor_nonce TEXT, visitor_commit TEXT NOT NULL, time_ms INTEGER NOT NULL, policy_version INTEGER"
                     " NOT NULL, granted TEXT NOT NULL, refused TEXT NOT NULL, regime TEXT NOT NULL, country TEXT NOT NULL,"
                     " method TEXT NOT NULL, client_ip TEXT NOT NULL, ua_hash TEXT NOT NULL, ui_hash TEXT NOT NULL,"
                     " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    char prev[GW_CHAIN_HEX];
    memcpy(prev, gw_chain_genesis, sizeof(prev));
    for (int i = 0; i != n; ++i) {
        uint8_t nonce[16], visitor[16];
        char nonce_hex[33], visitor_hex[33], commit[GW_CHAIN_HEX], hash[GW_CHAIN_HEX], receipt[16], sql[1024];
        memset(nonce, i, sizeof(nonce));
        memset(visitor, 0x40 + i, sizeof(visitor));
        gw_hex(nonce, 16, nonce_hex);
        gw_hex(visitor, 16, visitor_hex);
        gw_chain_commit(nonce, visitor, commit);
        snprintf(receipt, sizeof(receipt), "r-%d", i);
        gw_chain_row_t r = {receipt, commit,       1000 + i,       1,    "necessary", "analytics", "opt-in",
                            "",      "reject_all", "127.0.0.0/24", "aa", "bb",        prev};
        gw_chain_hash(&r, hash);
        snprintf(sql, sizeof(sql),
                 "INSERT INTO records VALUES (%d, '%s', '%s', '%s', '%s', %d, 1, 'necessary', 'analytics', 'opt-in', '',"
                 " 'reject_all', '127.0.0.0/24', 'aa', 'bb', '%s', '%s')",
                 i + 1, receipt, visitor_hex, nonce_hex, commit, 1000 + i, prev, hash);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        memcpy(prev, hash, sizeof(prev));
    }
    sqlite3_close(db);
}

static int
verify_keys(const char *path, const gw_token_key_t *keys, size_t n, char *out, size_t cap)
{
    FILE *fp = fmemopen(out, cap, "w");
    int rc = gw_store_verify(path, keys, n, fp);
    fclose(fp);
    return rc;
}

static int
verify_output(const char *path, char *out, size_t cap)
{
    return verify_keys(path, NULL, 0, out, cap);
}

static void
sql(const char *path, const char *q)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* the seal over both ends of the chain: removing the newest records, or the oldest with the anchor moved on, shows */
static void
test_store_seal(void **state)
{
    char path[] = "/tmp/cg-test-seal-XXXXXX", db[64], out[512], seal[GW_CHAIN_SEAL_LEN], q[256], cmd[160];
    static const uint8_t secret[32] = "a seal key's secret, 32 bytes.";
    gw_token_key_t keys[2];
    assert_non_null(mkdtemp(path));
    snprintf(db, sizeof(db), "%s/consent.db", path);
    build_db(db, 6);
    assert_int_equal(gw_token_key_init(keys + 0, 3, secret, 16), 0);
    assert_int_equal(gw_token_key_init(keys + 1, 7, secret, 32), 0);

    /* sealed by key 7 over genesis .. the newest record */
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT hash FROM records WHERE seq = 6", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    gw_chain_seal(keys + 1, gw_chain_genesis, (const char *)sqlite3_column_text(st, 0), seal);
    sqlite3_finalize(st);
    sqlite3_close(h);
    assert_int_equal(strncmp(seal, "7:", 2), 0);
    assert_int_equal(strlen(seal), 2 + 32);
    snprintf(q, sizeof(q), "INSERT INTO meta VALUES ('seal', '%s')", seal);
    sql(db, q);
    assert_int_equal(verify_keys(db, keys, 2, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "6 records, chain intact, seal matches"));
    assert_int_equal(verify_output(db, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "seal not checked"));

    /* its key gone from the secrets: cannot be checked */
    assert_int_equal(verify_keys(db, keys, 1, out, sizeof(out)), 2);
    assert_non_null(strstr(out, "key 7"));

    /* the newest record removed: the chain alone still verifies, the seal does not */
    sql(db, "DELETE FROM records WHERE seq = 6");
    assert_int_equal(verify_output(db, out, sizeof(out)), 0);
    assert_int_equal(verify_keys(db, keys, 2, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "seal does not match"));

    /* the oldest removed and the anchor moved on to the removed record's hash: caught too */
    unlink(db);
    build_db(db, 6);
    snprintf(q, sizeof(q), "INSERT INTO meta VALUES ('seal', '%s')", seal);
    sql(db, q);
    sql(db,
        "INSERT INTO meta VALUES ('chain_anchor', (SELECT hash FROM records WHERE seq = 1)); DELETE FROM records WHERE seq = 1");
    assert_int_equal(verify_output(db, out, sizeof(out)), 0);
    assert_int_equal(verify_keys(db, keys, 2, out, sizeof(out)), 1);

    /* no seal at all */
    sql(db, "DELETE FROM meta WHERE key = 'seal'");
    assert_int_equal(verify_keys(db, keys, 2, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "no seal"));

    /* a store without records (a new one, or one whose records were all purged): its chain ends where it starts,
     * sealed over the anchor twice */
    unlink(db);
    build_db(db, 0);
    gw_chain_seal(keys + 1, gw_chain_genesis, gw_chain_genesis, seal);
    snprintf(q, sizeof(q), "INSERT INTO meta VALUES ('seal', '%s')", seal);
    sql(db, q);
    assert_int_equal(verify_keys(db, keys, 2, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "0 records, chain intact, seal matches"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
    assert_int_equal(system(cmd), 0);
}

static void
test_store_verify(void **state)
{
    char path[] = "/tmp/cg-test-chain-XXXXXX", db[64], out[512], cmd[160];
    assert_non_null(mkdtemp(path));
    snprintf(db, sizeof(db), "%s/consent.db", path);
    build_db(db, 10);
    assert_int_equal(verify_output(db, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "10 records, chain intact"));

    /* one byte of one row changed: verify names that row */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE records SET country = 'X' WHERE seq = 7", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(verify_output(db, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "seq=7 receipt=r-6"));

    /* a visitor id swapped for another's: the commitment catches it */
    unlink(db);
    build_db(db, 5);
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h, "UPDATE records SET visitor = (SELECT visitor FROM records WHERE seq = 1) WHERE seq = 4", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(verify_output(db, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "seq=4"));
    assert_non_null(strstr(out, "commitment"));

    /* not a store */
    FILE *fp = fopen(db, "w");
    fputs("this is not a database", fp);
    fclose(fp);
    assert_int_equal(verify_output(db, out, sizeof(out)), 2);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
    assert_int_equal(system(cmd), 0);
}

/* the revocations' seal (chain.h): a row's MAC, computed independently (Python's hmac), the XOR that adds and removes
 * rows alike, and a seal that changes with each thing it covers */
static void
test_revocations_seal(void **state)
{
    static const uint8_t secret[32] = "a seal key's secret, 32 bytes.";
    gw_token_key_t k;
    uint8_t d[32] = {0}, zero[32] = {0}, ab[32] = {0}, ba[32] = {0};
    char hex[GW_CHAIN_HEX], seal[GW_CHAIN_SEAL_LEN], other[GW_CHAIN_SEAL_LEN], want[80] = {0};
    gw_token_key_init(&k, 9, secret, sizeof(secret));

    gw_chain_revocation_fold(&k, "0123abcd", "marketing", 1795964527, d);
    gw_hex(d, 32, hex);
    FILE *p = popen("python3 -c 'import hmac, hashlib; print(hmac.new(bytes(b\"a seal key\\x27s secret, 32 bytes.\\0\\0\"), "
                    "b\"consentgate revocation v1\\0\" b\"0123abcd\\0\" b\"marketing\\0\" b\"1795964527\", hashlib.sha256).hexdigest())'",
                    "r");
    assert_non_null(p);
    assert_non_null(fgets(want, sizeof(want), p));
    pclose(p);
    want[64] = '\0';
    assert_string_equal(hex, want);
    gw_chain_revocation_fold(&k, "0123abcd", "marketing", 1795964527, d); /* removed again */
    assert_memory_equal(d, zero, 32);

    /* any order; fields do not run into each other */
    gw_chain_revocation_fold(&k, "ab", "c", 1, ab);
    gw_chain_revocation_fold(&k, "a", "bc", 1, ab);
    gw_chain_revocation_fold(&k, "a", "bc", 1, ba);
    gw_chain_revocation_fold(&k, "ab", "c", 1, ba);
    assert_memory_equal(ab, ba, 32);
    assert_memory_not_equal(ab, zero, 32);

    gw_chain_revocations_seal(&k, "salt", 365, ab, seal);
    assert_int_equal(strncmp(seal, "9:", 2), 0);
    assert_int_equal(strlen(seal), 2 + 32);
    gw_chain_revocations_seal(&k, "salu", 365, ab, other);
    assert_string_not_equal(seal, other);
    gw_chain_revocations_seal(&k, "salt", 36, ab, other);
    assert_string_not_equal(seal, other);
    gw_chain_revocations_seal(&k, "salt", 365, zero, other);
    assert_string_not_equal(seal, other);
    gw_chain_revocations_seal(&k, "salt", 365, ab, other);
    assert_string_equal(seal, other);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_hash),
        cmocka_unit_test(test_every_field_changes_the_hash),
        cmocka_unit_test(test_verifier_names_the_first_broken_row),
        cmocka_unit_test(test_store_verify),
        cmocka_unit_test(test_store_seal),
        cmocka_unit_test(test_revocations_seal),
    };
    return cmocka_run_group_tests_name("chain", tests, NULL, NULL);
}
