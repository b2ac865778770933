/*
 * token — the signed consent token carried in the `cg_consent` / `__Host-cg_consent` cookie.
 *
 * Enforcement is stateless: everything the gateway needs to decide what a visitor granted
 * (visitor id, granted categories, policy version, regime, expiry) travels in the cookie,
 * authenticated with HMAC-SHA256 under a key that only the gateway fleet holds. Any token
 * that fails verification counts as "no consent".
 *
 * Wire format (all integers big-endian), 36 bytes of payload followed by a 16-byte tag:
 *
 *   off len field
 *     0   1 format version (GW_TOKEN_FORMAT = 1)
 *     1   1 key id
 *     2  16 visitor id (random)
 *    18   2 granted bitmask (bit i = i-th configured category)
 *    20   4 policy version
 *    24   1 regime (0 opt-in, 1 opt-out, 2 notice: the values of gw_regime_t)
 *    25   1 flags (GW_TOKEN_FLAG_*; unknown bits are preserved, not rejected)
 *    26   5 issued, Unix seconds (uint40: good until the year 36812)
 *    31   5 expires, Unix seconds (uint40)
 *    36  16 HMAC-SHA256(key, bytes 0..35), truncated to its first 16 bytes
 *
 * The tag is truncated to 128 bits (RFC 2104 section 5, NIST SP 800-107 5.3.3): forging a
 * token means guessing a 128-bit value online, one HTTP request per guess, which is out of
 * reach, while the cookie, sent with every request to the site, is 21 characters shorter.
 * The 52 bytes are encoded as base64url without padding: GW_TOKEN_ENCODED_LEN = 70 chars.
 *
 * Verification does no allocation and no OpenSSL EVP fetch: gw_token_key_init precomputes
 * the HMAC inner and outer SHA-256 states once, verify copies them (two compressions).
 */
#ifndef GW_TOKEN_H
#define GW_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

#define GW_TOKEN_FORMAT 1
#define GW_TOKEN_PAYLOAD_LEN 36
#define GW_TOKEN_TAG_LEN 16
#define GW_TOKEN_RAW_LEN (GW_TOKEN_PAYLOAD_LEN + GW_TOKEN_TAG_LEN) /* 52 */
#define GW_TOKEN_ENCODED_LEN 70                                    /* base64url(52 bytes), no padding */
#define GW_TOKEN_MAX_TIME ((uint64_t)0xffffffffff)                 /* uint40 */
#define GW_TOKEN_MIN_SECRET 16                                     /* bytes */
/* A token issued more than this many seconds after `now` is not in force (GW_TOKEN_ISSUED_AHEAD): it was issued while
 * a wall clock was ahead (its own, or another gateway's of the fleet beyond this skew), and would otherwise stay in force
 * that much longer than its lifetime and outlast the revocations of later decisions, which cut at their own times. */
#define GW_TOKEN_MAX_AHEAD 60

/* flags */
#define GW_TOKEN_FLAG_GPC 0x01     /* Sec-GPC: 1 was applied when the token was issued */
#define GW_TOKEN_FLAG_DECIDED 0x02 /* the visitor made an explicit choice (not a regime default) */

typedef struct st_gw_token_t {
    uint8_t key_id; /* set by gw_token_decode; gw_token_encode writes the signing key's id instead */
    uint8_t visitor[16];
    uint16_t granted;
    uint32_t policy_version;
    uint8_t regime;
    uint8_t flags;
    uint64_t issued;  /* Unix seconds, <= GW_TOKEN_MAX_TIME */
    uint64_t expires; /* Unix seconds, <= GW_TOKEN_MAX_TIME */
} gw_token_t;

/*
 * An HMAC-SHA256 key with its precomputed states: `inner` has absorbed key ^ ipad and
 * `outer` key ^ opad (one 64-byte block each). The raw secret is not kept.
 */
typedef struct st_gw_token_key_t {
    uint8_t id;
    SHA256_CTX inner;
    SHA256_CTX outer;
} gw_token_key_t;

typedef enum en_gw_token_status_t {
    GW_TOKEN_OK = 0,
    GW_TOKEN_MALFORMED,   /* too long/short, bad base64url, unknown format version */
    GW_TOKEN_UNKNOWN_KEY, /* key id not among the verification keys */
    GW_TOKEN_BAD_MAC,     /* tag does not match */
    GW_TOKEN_EXPIRED,     /* now >= expires */
    GW_TOKEN_OLD_POLICY,  /* signed for another policy version */
    GW_TOKEN_ISSUED_AHEAD /* issued > now + GW_TOKEN_MAX_AHEAD: signed while a clock was ahead */
} gw_token_status_t;

/*
 * Initialises *k for HMAC-SHA256 with `secret` (len bytes; longer than 64 bytes is hashed
 * first, per RFC 2104). Returns 0, or -1 when len < GW_TOKEN_MIN_SECRET or an argument is NULL.
 * The secret is not referenced after the call; *k holds no pointers and may be copied.
 */
int gw_token_key_init(gw_token_key_t *k, uint8_t id, const void *secret, size_t len);

/* Wipes *k (OPENSSL_cleanse). NULL is a no-op. */
void gw_token_key_clear(gw_token_key_t *k);

/*
 * Full HMAC-SHA256 of msg[0..len) under k into out[32]; no allocation. For other signed
 * values (e.g. outbound links) that reuse the precomputed key machinery.
 */
void gw_token_hmac(const gw_token_key_t *k, const void *msg, size_t len, uint8_t out[32]);
/* The same over the concatenation of n parts (no copy of them is made). */
void gw_token_hmacv(const gw_token_key_t *k, const void *const *parts, const size_t *lens, size_t n, uint8_t out[32]);

/*
 * Encodes and signs *t with `key` (its id goes into the token; t->key_id is ignored) into
 * out as base64url, NUL-terminated when there is room for it. Returns the length
 * (GW_TOKEN_ENCODED_LEN) or 0 when cap < GW_TOKEN_ENCODED_LEN, when issued or expires
 * exceed GW_TOKEN_MAX_TIME, or when an argument is NULL.
 */
size_t gw_token_encode(const gw_token_t *t, const gw_token_key_t *key, char *out, size_t cap);

/*
 * Decodes and verifies the cookie value s[0..len) against keys[0..nkeys) (looked up by id).
 * Checks in this order: length, base64url, format version, key id, MAC (constant time),
 * expiry (now >= expires is expired), issue time (issued > now + GW_TOKEN_MAX_AHEAD is ahead),
 * policy version (must equal policy_version).
 * *out is filled when the MAC is valid (GW_TOKEN_OK, GW_TOKEN_EXPIRED, GW_TOKEN_ISSUED_AHEAD, GW_TOKEN_OLD_POLICY,
 * so a caller may keep the visitor id when asking again) and zeroed otherwise.
 * No allocation; s need not be NUL-terminated; s may be NULL when len is 0.
 */
gw_token_status_t gw_token_decode(const char *s, size_t len, const gw_token_key_t *keys, size_t nkeys, uint64_t now,
                                  uint32_t policy_version, gw_token_t *out);

/* Returns a static English description of st ("unknown status" for out-of-range values). */
const char *gw_token_strerror(gw_token_status_t st);

/*
 * Fills out with n bytes of OpenSSL's CSPRNG, drawn 4 KB at a time into a per-thread pool (each
 * RAND_bytes call costs a getpid() system call, OpenSSL's fork check; the gateway never forks
 * after start). Bytes handed out are wiped from the pool. n > 1 KB goes to RAND_bytes directly.
 * Returns 0, or -1 if the CSPRNG failed.
 */
int gw_random_bytes(void *out, size_t n);

/*
 * Fills id with a new visitor id: the time in ms (48 bits, big-endian) and 80 bits from RAND_bytes,
 * ordered by creation like a UUIDv7, so that new visitors' rows land at the end of the consent
 * store's visitor index (one page per commit instead of one per record). The time it shows is
 * the first decision's, which the visitor's own records hold anyway. Returns 0, or -1 if the
 * CSPRNG failed (id is then zeroed).
 */
int gw_token_new_visitor(uint8_t id[16]);

/* Length of the unpadded base64url encoding of n bytes. */
#define GW_B64URL_ENCODED_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/*
 * Encodes in[0..len) as base64url (RFC 4648 section 5) without padding into out, NUL-terminated
 * when there is room for it. Returns the encoded length, or 0 when cap < GW_B64URL_ENCODED_LEN(len)
 * (and len != 0).
 */
size_t gw_b64url_encode(const void *in, size_t len, char *out, size_t cap);

/*
 * Strict base64url decoder: alphabet A-Z a-z 0-9 - _ only, no padding, no whitespace, a length
 * that is not 1 mod 4, and unused trailing bits that are zero (so every byte string has exactly
 * one accepted encoding). Decodes s[0..len) into out. Returns the decoded length, or -1 when the
 * input is invalid or does not fit in cap bytes.
 */
long gw_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap);

#endif
