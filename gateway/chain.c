/*
 * chain — see chain.h. SHA-256 through OpenSSL's SHA256_* functions, as filters/token.c: a
 * context on the stack, no algorithm fetch (EVP_sha256() in OpenSSL 3 looks the algorithm up
 * under a lock on every EVP_DigestInit_ex) and no allocation; the writer thread hashes every record.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include "chain.h"
#include "token.h"

const char gw_chain_genesis[GW_CHAIN_HEX] = "0000000000000000000000000000000000000000000000000000000000000000";

void gw_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i != n; ++i) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static void field(SHA256_CTX *md, const char *s, int last)
{
    if (s != NULL)
        SHA256_Update(md, s, strlen(s));
    if (!last)
        SHA256_Update(md, "\n", 1);
}

static void field_int(SHA256_CTX *md, int64_t v)
{
    char buf[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char tmp[24];
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    size_t k = 0;
    if (v < 0)
        buf[k++] = '-';
    while (n != 0)
        buf[k++] = tmp[--n];
    buf[k++] = '\n';
    SHA256_Update(md, buf, k);
}

void gw_chain_hash(const gw_chain_row_t *r, char out[GW_CHAIN_HEX])
{
    uint8_t digest[32];
    SHA256_CTX ctx, *md = &ctx;
    SHA256_Init(md);
    field(md, "cg-record-v1", 0);
    field(md, r->receipt, 0);
    field(md, r->visitor_commit, 0);
    field_int(md, r->time_ms);
    field_int(md, r->policy_version);
    field(md, r->granted, 0);
    field(md, r->refused, 0);
    field(md, r->regime, 0);
    field(md, r->country, 0);
    field(md, r->method, 0);
    field(md, r->client_ip, 0);
    field(md, r->ua_hash, 0);
    field(md, r->ui_hash, 0);
    field(md, r->prev_hash, 1);
    SHA256_Final(digest, md);
    gw_hex(digest, 32, out);
}

void gw_chain_commit(const uint8_t nonce[16], const uint8_t visitor[16], char out[GW_CHAIN_HEX])
{
    uint8_t digest[32];
    SHA256_CTX ctx; /* not SHA256(): in OpenSSL 3 that fetches the algorithm on every call */
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, nonce, 16);
    SHA256_Update(&ctx, visitor, 16);
    SHA256_Final(digest, &ctx);
    gw_hex(digest, 32, out);
}

void gw_chain_verify_init(gw_chain_verifier_t *v, const char *anchor)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->expect_prev, sizeof(v->expect_prev), "%s", anchor != NULL ? anchor : gw_chain_genesis);
}

int gw_chain_verify_row(gw_chain_verifier_t *v, const gw_chain_row_t *row, const char *stored_hash, const char **why)
{
    char computed[GW_CHAIN_HEX];
    int rc = 0;
    ++v->rows;
    gw_chain_hash(row, computed);
    if (row->prev_hash == NULL || strcmp(row->prev_hash, v->expect_prev) != 0) {
        *why = "prev_hash is not the previous record's hash";
        rc = -1;
    } else if (stored_hash == NULL || strcmp(stored_hash, computed) != 0) {
        *why = "the record's contents do not match its hash";
        rc = -1;
    }
    if (rc != 0)
        v->broken = 1;
    snprintf(v->expect_prev, sizeof(v->expect_prev), "%s", stored_hash != NULL ? stored_hash : "");
    return rc;
}

void gw_chain_seal(const gw_token_key_t *key, const char *anchor, const char *head, char out[GW_CHAIN_SEAL_LEN])
{
    static const char label[] = "consentgate records seal v1\n";
    const void *parts[4] = {label, anchor, "\n", head};
    size_t lens[4] = {sizeof(label) - 1, strlen(anchor), 1, strlen(head)};
    uint8_t mac[32];
    gw_token_hmacv(key, parts, lens, 4, mac);
    int n = snprintf(out, GW_CHAIN_SEAL_LEN, "%u:", (unsigned)key->id);
    gw_hex(mac, 16, out + n);
}

void gw_chain_revocations_seal(const gw_token_key_t *key, const char *salt, unsigned max_age_days, const uint8_t digest[32],
                               char out[GW_CHAIN_SEAL_LEN])
{
    static const char label[] = "consentgate revocations seal v1\n";
    char days[16], hex[GW_CHAIN_HEX];
    snprintf(days, sizeof(days), "\n%u\n", max_age_days);
    gw_hex(digest, 32, hex);
    const void *parts[4] = {label, salt, days, hex};
    size_t lens[4] = {sizeof(label) - 1, strlen(salt), strlen(days), 64};
    uint8_t mac[32];
    gw_token_hmacv(key, parts, lens, 4, mac);
    int n = snprintf(out, GW_CHAIN_SEAL_LEN, "%u:", (unsigned)key->id);
    gw_hex(mac, 16, out + n);
}

void gw_chain_revocation_fold(const gw_token_key_t *key, const char *visitor_hash, const char *category, int64_t cut,
                              uint8_t digest[32])
{
    static const char label[] = "consentgate revocation v1"; /* (its NUL is the first separator) */
    char t[24];
    int tn = snprintf(t, sizeof(t), "%lld", (long long)cut);
    const void *parts[4] = {label, visitor_hash, category, t}; /* (each string with its NUL: the separators) */
    size_t lens[4] = {sizeof(label), strlen(visitor_hash) + 1, strlen(category) + 1, (size_t)tn};
    uint8_t mac[32];
    gw_token_hmacv(key, parts, lens, 4, mac);
    for (size_t i = 0; i != 32; ++i)
        digest[i] ^= mac[i];
}
