/*
 * token — signed consent token: payload packing, HMAC-SHA256 with precomputed pad states,
 * strict base64url. See token.h for the wire format and the reasons behind it.
 *
 * OpenSSL 3 deprecates the low-level SHA256_* calls in favour of EVP, whose per-call fetch
 * and allocation cost more than the hash itself for a 36-byte message; the low-level calls
 * are still the fastest way to resume a saved state, so deprecation warnings are silenced
 * for this file only.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <limits.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "token.h"

#define HMAC_BLOCK 64

int
gw_token_key_init(gw_token_key_t *k, uint8_t id, const void *secret, size_t len)
{
    uint8_t block[HMAC_BLOCK], pad[HMAC_BLOCK];

    if (k == NULL || secret == NULL || len < GW_TOKEN_MIN_SECRET)
        return -1;
    memset(block, 0, sizeof(block));
    if (len > HMAC_BLOCK) {
        SHA256(secret, len, block); /* RFC 2104: keys longer than the block are hashed */
    } else {
        memcpy(block, secret, len);
    }
    k->id = id;
    for (size_t i = 0; i != HMAC_BLOCK; ++i)
        pad[i] = block[i] ^ 0x36;
    SHA256_Init(&k->inner);
    SHA256_Update(&k->inner, pad, HMAC_BLOCK);
    for (size_t i = 0; i != HMAC_BLOCK; ++i)
        pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&k->outer);
    SHA256_Update(&k->outer, pad, HMAC_BLOCK);
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
    return 0;
}

void
gw_token_key_clear(gw_token_key_t *k)
{
    if (k != NULL)
        OPENSSL_cleanse(k, sizeof(*k));
}

void
gw_token_hmac(const gw_token_key_t *k, const void *msg, size_t len, uint8_t out[32])
{
    SHA256_CTX ctx = k->inner;
    uint8_t inner[SHA256_DIGEST_LENGTH];

    SHA256_Update(&ctx, msg, len);
    SHA256_Final(inner, &ctx);
    ctx = k->outer;
    SHA256_Update(&ctx, inner, sizeof(inner));
    SHA256_Final(out, &ctx);
}

void
gw_token_hmacv(const gw_token_key_t *k, const void *const *parts, const size_t *lens, size_t n, uint8_t out[32])
{
    SHA256_CTX ctx = k->inner;
    uint8_t inner[SHA256_DIGEST_LENGTH];

    for (size_t i = 0; i != n; ++i)
        SHA256_Update(&ctx, parts[i], lens[i]);
    SHA256_Final(inner, &ctx);
    ctx = k->outer;
    SHA256_Update(&ctx, inner, sizeof(inner));
    SHA256_Final(out, &ctx);
}

/* --- base64url (RFC 4648 section 5), no padding ------------------------------------------ */

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* value + 1 for alphabet characters, 0 (the default) for everything else */
static const uint8_t b64url_value[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,  ['I'] = 9,  ['J'] = 10,
    ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20,
    ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
    ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
    ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

/* returns 0..63, or -1 for a character outside the alphabet */
static int
b64url_decode_char(unsigned char c)
{
    return (int)b64url_value[c] - 1;
}

size_t
gw_b64url_encode(const void *in, size_t len, char *out, size_t cap)
{
    const uint8_t *p = in;
    size_t need = GW_B64URL_ENCODED_LEN(len), o = 0, i = 0;

    if (len == 0) {
        if (cap != 0)
            out[0] = '\0';
        return 0;
    }
    if (cap < need || need < len) /* need < len: size_t overflow */
        return 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
    }
    if (o < cap)
        out[o] = '\0';
    return o;
}

long
gw_b64url_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t rem = len % 4, full = len - rem, need = full / 4 * 3 + (rem == 0 ? 0 : rem - 1), o = 0;

    if (rem == 1 || need > cap || need > LONG_MAX)
        return -1;
    for (size_t i = 0; i != full; i += 4) {
        int a = b64url_decode_char((unsigned char)s[i]), b = b64url_decode_char((unsigned char)s[i + 1]),
            c = b64url_decode_char((unsigned char)s[i + 2]), d = b64url_decode_char((unsigned char)s[i + 3]);
        if ((a | b | c | d) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    if (rem != 0) {
        int a = b64url_decode_char((unsigned char)s[full]), b = b64url_decode_char((unsigned char)s[full + 1]);
        int c = rem == 3 ? b64url_decode_char((unsigned char)s[full + 2]) : 0;
        if ((a | b | c) < 0)
            return -1;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        /* the bits below the last whole byte must be zero: one encoding per byte string */
        if ((rem == 2 && (v & 0xffff) != 0) || (rem == 3 && (v & 0xff) != 0))
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (rem == 3)
            out[o++] = (uint8_t)(v >> 8);
    }
    return (long)o;
}

/* --- token ---------------------------------------------------------------------------------- */

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = n; i != 0; --i) {
        p[i - 1] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t
get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i != n; ++i)
        v = v << 8 | p[i];
    return v;
}

static void
pack(const gw_token_t *t, uint8_t key_id, uint8_t p[GW_TOKEN_PAYLOAD_LEN])
{
    p[0] = GW_TOKEN_FORMAT;
    p[1] = key_id;
    memcpy(p + 2, t->visitor, 16);
    put_be(p + 18, t->granted, 2);
    put_be(p + 20, t->policy_version, 4);
    p[24] = t->regime;
    p[25] = t->flags;
    put_be(p + 26, t->issued, 5);
    put_be(p + 31, t->expires, 5);
}

static void
unpack(const uint8_t p[GW_TOKEN_PAYLOAD_LEN], gw_token_t *t)
{
    t->key_id = p[1];
    memcpy(t->visitor, p + 2, 16);
    t->granted = (uint16_t)get_be(p + 18, 2);
    t->policy_version = (uint32_t)get_be(p + 20, 4);
    t->regime = p[24];
    t->flags = p[25];
    t->issued = get_be(p + 26, 5);
    t->expires = get_be(p + 31, 5);
}

size_t
gw_token_encode(const gw_token_t *t, const gw_token_key_t *key, char *out, size_t cap)
{
    uint8_t raw[GW_TOKEN_RAW_LEN], mac[SHA256_DIGEST_LENGTH];

    if (t == NULL || key == NULL || out == NULL || cap < GW_TOKEN_ENCODED_LEN)
        return 0;
    if (t->issued > GW_TOKEN_MAX_TIME || t->expires > GW_TOKEN_MAX_TIME)
        return 0;
    pack(t, key->id, raw);
    gw_token_hmac(key, raw, GW_TOKEN_PAYLOAD_LEN, mac);
    memcpy(raw + GW_TOKEN_PAYLOAD_LEN, mac, GW_TOKEN_TAG_LEN);
    return gw_b64url_encode(raw, sizeof(raw), out, cap);
}

gw_token_status_t
gw_token_decode(const char *s, size_t len, const gw_token_key_t *keys, size_t nkeys, uint64_t now, uint32_t policy_version,
                gw_token_t *out)
{
    uint8_t raw[GW_TOKEN_RAW_LEN], mac[SHA256_DIGEST_LENGTH];
    const gw_token_key_t *key = NULL;

    memset(out, 0, sizeof(*out));
    if (len != GW_TOKEN_ENCODED_LEN) /* length cap first: never decode an oversized cookie */
        return GW_TOKEN_MALFORMED;
    if (gw_b64url_decode(s, len, raw, sizeof(raw)) != GW_TOKEN_RAW_LEN)
        return GW_TOKEN_MALFORMED;
    if (raw[0] != GW_TOKEN_FORMAT)
        return GW_TOKEN_MALFORMED;
    for (size_t i = 0; i != nkeys; ++i) {
        if (keys[i].id == raw[1]) {
            key = keys + i;
            break;
        }
    }
    if (key == NULL)
        return GW_TOKEN_UNKNOWN_KEY;
    gw_token_hmac(key, raw, GW_TOKEN_PAYLOAD_LEN, mac);
    if (CRYPTO_memcmp(mac, raw + GW_TOKEN_PAYLOAD_LEN, GW_TOKEN_TAG_LEN) != 0)
        return GW_TOKEN_BAD_MAC;
    unpack(raw, out);
    if (now >= out->expires)
        return GW_TOKEN_EXPIRED;
    if (out->issued > now + GW_TOKEN_MAX_AHEAD)
        return GW_TOKEN_ISSUED_AHEAD;
    if (out->policy_version != policy_version)
        return GW_TOKEN_OLD_POLICY;
    return GW_TOKEN_OK;
}

const char *
gw_token_strerror(gw_token_status_t st)
{
    switch (st) {
    case GW_TOKEN_OK:
        return "ok";
    case GW_TOKEN_MALFORMED:
        return "malformed token";
    case GW_TOKEN_UNKNOWN_KEY:
        return "token signed with an unknown key";
    case GW_TOKEN_BAD_MAC:
        return "token signature does not verify";
    case GW_TOKEN_EXPIRED:
        return "token expired";
    case GW_TOKEN_OLD_POLICY:
        return "token issued for another policy version";
    case GW_TOKEN_ISSUED_AHEAD:
        return "token issued later than now (a clock was ahead)";
    }
    return "unknown status";
}

int
gw_random_bytes(void *out, size_t n)
{
    static __thread uint8_t pool[4096];
    static __thread size_t left;
    if (n > sizeof(pool) / 4)
        return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
    if (left < n) {
        if (RAND_bytes(pool, sizeof(pool)) != 1) {
            left = 0;
            return -1;
        }
        left = sizeof(pool);
    }
    uint8_t *p = pool + sizeof(pool) - left;
    memcpy(out, p, n);
    OPENSSL_cleanse(p, n); /* handed out once: not left behind in memory */
    left -= n;
    return 0;
}

int
gw_token_new_visitor(uint8_t id[16])
{
    struct timespec ts;
    uint64_t ms;
    if (gw_random_bytes(id + 6, 10) != 0) {
        memset(id, 0, 16);
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i != 6; ++i)
        id[i] = (uint8_t)(ms >> (40 - 8 * i));
    return 0;
}
