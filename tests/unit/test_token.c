/*
 * Unit tests for filters/token.c: base64url, HMAC (RFC 4231 vectors), token round trip and
 * every way a token must be refused (flipped characters and bits, truncation, expiry, key
 * rotation, policy bump, garbage).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "token.h"

static const uint8_t secret1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret2[32] = "fedcba9876543210fedcba9876543210";

static gw_token_t
sample_token(void)
{
    gw_token_t t = {0};
    for (int i = 0; i != 16; ++i)
        t.visitor[i] = (uint8_t)(0xa0 + i);
    t.granted = 0x000b;
    t.policy_version = 7;
    t.regime = 1;
    t.flags = GW_TOKEN_FLAG_GPC | GW_TOKEN_FLAG_DECIDED;
    t.issued = 1700000000;
    t.expires = 1700000000 + 365 * 86400;
    return t;
}

/* --- base64url ------------------------------------------------------------------------------ */

static void
test_b64url_vectors(void **state)
{
    static const struct {
        const char *raw;
        size_t rawlen;
        const char *enc;
    } cases[] = {
        /* RFC 4648 section 10, without padding */
        {"", 0, ""},
        {"f", 1, "Zg"},
        {"fo", 2, "Zm8"},
        {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"},
        {"fooba", 5, "Zm9vYmE"},
        {"foobar", 6, "Zm9vYmFy"},
        /* the two characters that differ from standard base64 */
        {"\xfb\xff", 2, "-_8"},
        {"\xff\xff\xff", 3, "____"},
        {"\x00\x00\x00\x00", 4, "AAAAAA"},
        {NULL, 0, NULL} /* end of list */
    };
    for (size_t i = 0; cases[i].raw != NULL; ++i) {
        char enc[64];
        uint8_t dec[64];
        size_t n = gw_b64url_encode(cases[i].raw, cases[i].rawlen, enc, sizeof(enc));
        assert_int_equal(n, strlen(cases[i].enc));
        assert_int_equal(n, GW_B64URL_ENCODED_LEN(cases[i].rawlen));
        assert_string_equal(enc, cases[i].enc);
        long m = gw_b64url_decode(cases[i].enc, strlen(cases[i].enc), dec, sizeof(dec));
        assert_int_equal(m, (long)cases[i].rawlen);
        assert_memory_equal(dec, cases[i].raw, cases[i].rawlen);
    }
}

static void
test_b64url_strict(void **state)
{
    static const char *bad[] = {
        "Z",            /* length 1 mod 4 */
        "Zg==",         /* padding */
        "Zm8=",         /* padding */
        "Zh",           /* non-zero unused bits (Zg is canonical) */
        "Zm9",          /* non-zero unused bits (Zm8 is canonical) */
        "Zm9v+/",       /* standard alphabet */
        "Zm 9v",        /* whitespace */
        "Zm9v\n",       /* newline */
        "Zm9v\x80\x80", /* high bytes */
        NULL,           /* end of list */
    };
    uint8_t dec[64];
    for (size_t i = 0; bad[i] != NULL; ++i)
        assert_int_equal(gw_b64url_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)), -1);
    /* a length of 1 mod 4 is refused whatever follows it (the decoder must not read the byte after the end) */
    for (size_t len = 1; len <= 13; len += 4)
        assert_int_equal(gw_b64url_decode("Zm9vYmFyAAAAAAAAA", len, dec, sizeof(dec)), -1);
    /* embedded NUL is not in the alphabet */
    assert_int_equal(gw_b64url_decode("Zm\0v", 4, dec, sizeof(dec)), -1);
    /* output capacity is enforced */
    assert_int_equal(gw_b64url_decode("Zm9vYmFy", 8, dec, 5), -1);
    assert_int_equal(gw_b64url_decode("Zm9vYmFy", 8, dec, 6), 6);
    /* encoder capacity is enforced */
    char enc[8];
    assert_int_equal(gw_b64url_encode("foobar", 6, enc, 7), 0);
    assert_int_equal(gw_b64url_encode("foobar", 6, enc, 8), 8);
}

/* every byte string up to 4 bytes long over a small alphabet round-trips */
static void
test_b64url_roundtrip_exhaustive(void **state)
{
    static const uint8_t vals[] = {0x00, 0x01, 0x3f, 0x7f, 0x80, 0xc3, 0xfe, 0xff};
    uint8_t raw[4], dec[4];
    char enc[16];
    for (size_t len = 0; len <= 4; ++len) {
        size_t combos = 1;
        for (size_t i = 0; i != len; ++i)
            combos *= sizeof(vals);
        for (size_t c = 0; c != combos; ++c) {
            size_t x = c;
            for (size_t i = 0; i != len; ++i, x /= sizeof(vals))
                raw[i] = vals[x % sizeof(vals)];
            size_t n = gw_b64url_encode(raw, len, enc, sizeof(enc));
            assert_int_equal(gw_b64url_decode(enc, n, dec, sizeof(dec)), (long)len);
            assert_memory_equal(dec, raw, len);
        }
    }
}

/* --- HMAC ----------------------------------------------------------------------------------- */

static void
hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i != n; ++i)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void
test_hmac_rfc4231(void **state)
{
    uint8_t key[131], data[64], mac[32];
    char got[65];
    gw_token_key_t k;

    /* test case 1: key = 20 x 0x0b, data = "Hi There" */
    memset(key, 0x0b, 20);
    assert_int_equal(gw_token_key_init(&k, 1, key, 20), 0);
    gw_token_hmac(&k, "Hi There", 8, mac);
    hex(mac, 32, got);
    assert_string_equal(got, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    /* test case 3: key = 20 x 0xaa, data = 50 x 0xdd */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    assert_int_equal(gw_token_key_init(&k, 1, key, 20), 0);
    gw_token_hmac(&k, data, 50, mac);
    hex(mac, 32, got);
    assert_string_equal(got, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");

    /* test case 6: key = 131 x 0xaa (longer than a block: hashed first) */
    memset(key, 0xaa, 131);
    assert_int_equal(gw_token_key_init(&k, 1, key, 131), 0);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    gw_token_hmac(&k, msg, strlen(msg), mac);
    hex(mac, 32, got);
    assert_string_equal(got, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* agrees with OpenSSL's HMAC() for every message length across several block boundaries */
static void
test_hmac_matches_openssl(void **state)
{
    uint8_t msg[200], a[32], b[32];
    unsigned blen;
    gw_token_key_t k;
    for (size_t i = 0; i != sizeof(msg); ++i)
        msg[i] = (uint8_t)(i * 7 + 3);
    assert_int_equal(gw_token_key_init(&k, 9, secret1, sizeof(secret1)), 0);
    for (size_t len = 0; len <= sizeof(msg); ++len) {
        gw_token_hmac(&k, msg, len, a);
        assert_non_null(HMAC(EVP_sha256(), secret1, sizeof(secret1), msg, len, b, &blen));
        assert_int_equal(blen, 32);
        assert_memory_equal(a, b, 32);
        /* in three parts split anywhere: the same MAC */
        for (size_t cut = 0; cut <= len; cut += 13) {
            const void *parts[3] = {msg, msg + cut / 2, msg + cut};
            size_t lens[3] = {cut / 2, cut - cut / 2, len - cut};
            gw_token_hmacv(&k, parts, lens, 3, a);
            assert_memory_equal(a, b, 32);
        }
    }
    /* and for every key length around the block size (64): RFC 2104 hashes only the keys longer than a block, a key
     * of exactly 64 bytes is used as it is */
    for (size_t klen = GW_TOKEN_MIN_SECRET; klen <= sizeof(msg) / 2; ++klen) {
        assert_int_equal(gw_token_key_init(&k, 1, msg, klen), 0);
        gw_token_hmac(&k, "consent", 7, a);
        assert_non_null(HMAC(EVP_sha256(), msg, (int)klen, (const uint8_t *)"consent", 7, b, &blen));
        if (memcmp(a, b, 32) != 0)
            fail_msg("key of %zu bytes: not OpenSSL's HMAC", klen);
    }
}

static void
test_key_init_rejects(void **state)
{
    gw_token_key_t k;
    assert_int_equal(gw_token_key_init(&k, 1, secret1, GW_TOKEN_MIN_SECRET - 1), -1);
    assert_int_equal(gw_token_key_init(&k, 1, NULL, 32), -1);
    assert_int_equal(gw_token_key_init(NULL, 1, secret1, 32), -1);
    assert_int_equal(gw_token_key_init(&k, 1, secret1, GW_TOKEN_MIN_SECRET), 0);
}

/* --- token ---------------------------------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
    gw_token_key_t k;
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    gw_token_t cases[4];
    cases[0] = sample_token();
    memset(&cases[1], 0, sizeof(cases[1]));
    cases[1].expires = 1;
    memset(&cases[2], 0xff, sizeof(cases[2]));
    cases[2].issued = GW_TOKEN_MAX_TIME;
    cases[2].expires = GW_TOKEN_MAX_TIME;
    cases[3] = sample_token();
    cases[3].granted = 0x8001;
    cases[3].policy_version = 0xfffffffe;
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        char enc[GW_TOKEN_ENCODED_LEN + 1];
        gw_token_t out;
        assert_int_equal(gw_token_encode(&cases[i], &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
        assert_int_equal(strlen(enc), GW_TOKEN_ENCODED_LEN);
        /* (now: as early as the token is in force) */
        uint64_t now = cases[i].issued - (cases[i].issued < GW_TOKEN_MAX_AHEAD ? cases[i].issued : GW_TOKEN_MAX_AHEAD);
        assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, now, cases[i].policy_version, &out), GW_TOKEN_OK);
        assert_int_equal(out.key_id, 1);
        assert_memory_equal(out.visitor, cases[i].visitor, 16);
        assert_int_equal(out.granted, cases[i].granted);
        assert_int_equal(out.policy_version, cases[i].policy_version);
        assert_int_equal(out.regime, cases[i].regime);
        assert_int_equal(out.flags, cases[i].flags);
        assert_int_equal(out.issued, cases[i].issued);
        assert_int_equal(out.expires, cases[i].expires);
    }
}

static void
test_encode_limits(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token();
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, GW_TOKEN_ENCODED_LEN - 1), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, GW_TOKEN_ENCODED_LEN), GW_TOKEN_ENCODED_LEN); /* no room for NUL */
    t.expires = GW_TOKEN_MAX_TIME + 1;
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), 0);
    t = sample_token();
    t.issued = UINT64_MAX;
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), 0);
}

/* replacing any one character with any other byte value makes the token invalid */
static void
test_every_byte_flip_rejected(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1], mod[GW_TOKEN_ENCODED_LEN + 1];
    size_t tried = 0;
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    for (size_t pos = 0; pos != GW_TOKEN_ENCODED_LEN; ++pos) {
        for (int v = 0; v != 256; ++v) {
            if ((char)v == enc[pos])
                continue;
            memcpy(mod, enc, sizeof(mod));
            mod[pos] = (char)v;
            gw_token_status_t st = gw_token_decode(mod, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 7, &out);
            if (st == GW_TOKEN_OK)
                fail_msg("position %zu value 0x%02x accepted", pos, v);
            ++tried;
        }
    }
    assert_int_equal(tried, GW_TOKEN_ENCODED_LEN * 255);
}

/* flipping any single bit of the raw 52 bytes is caught, with the expected reason */
static void
test_every_bit_flip_rejected(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    uint8_t raw[GW_TOKEN_RAW_LEN];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_b64url_decode(enc, GW_TOKEN_ENCODED_LEN, raw, sizeof(raw)), GW_TOKEN_RAW_LEN);
    for (size_t byte = 0; byte != GW_TOKEN_RAW_LEN; ++byte) {
        for (int bit = 0; bit != 8; ++bit) {
            char mod[GW_TOKEN_ENCODED_LEN + 1];
            raw[byte] ^= (uint8_t)(1 << bit);
            assert_int_equal(gw_b64url_encode(raw, sizeof(raw), mod, sizeof(mod)), GW_TOKEN_ENCODED_LEN);
            raw[byte] ^= (uint8_t)(1 << bit);
            gw_token_status_t st = gw_token_decode(mod, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 7, &out);
            gw_token_status_t want = byte == 0 ? GW_TOKEN_MALFORMED : byte == 1 ? GW_TOKEN_UNKNOWN_KEY : GW_TOKEN_BAD_MAC;
            if (st != want)
                fail_msg("byte %zu bit %d: %s, want %s", byte, bit, gw_token_strerror(st), gw_token_strerror(want));
        }
    }
}

static void
test_truncations_and_extensions(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 64];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    for (size_t len = 0; len != GW_TOKEN_ENCODED_LEN; ++len)
        assert_int_equal(gw_token_decode(enc, len, &k, 1, 1700000001, 7, &out), GW_TOKEN_MALFORMED);
    /* suffix-truncation is covered above; prefix-truncation too */
    for (size_t skip = 1; skip != GW_TOKEN_ENCODED_LEN; ++skip)
        assert_int_equal(gw_token_decode(enc + skip, GW_TOKEN_ENCODED_LEN - skip, &k, 1, 1700000001, 7, &out), GW_TOKEN_MALFORMED);
    /* trailing characters of any kind */
    memcpy(enc + GW_TOKEN_ENCODED_LEN, "AAAA", 5);
    for (size_t extra = 1; extra <= 4; ++extra)
        assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN + extra, &k, 1, 1700000001, 7, &out), GW_TOKEN_MALFORMED);
    /* the caller's length is honoured: a valid prefix inside a longer buffer verifies */
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 7, &out), GW_TOKEN_OK);
}

static void
test_expiry(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    static const struct {
        int64_t delta; /* now - expires */
        gw_token_status_t want;
    } cases[] = {{-365 * 86400, GW_TOKEN_OK},
                 {-1, GW_TOKEN_OK},
                 {0, GW_TOKEN_EXPIRED},
                 {1, GW_TOKEN_EXPIRED},
                 {10 * 365 * 86400, GW_TOKEN_EXPIRED}};
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        uint64_t now = (uint64_t)((int64_t)t.expires + cases[i].delta);
        assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, now, 7, &out), cases[i].want);
        /* the MAC was valid, so the payload is reported either way */
        assert_memory_equal(out.visitor, t.visitor, 16);
    }
}

static void
test_rotation(void **state)
{
    gw_token_key_t keys[2], other2;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&keys[0], 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_key_init(&keys[1], 2, secret2, sizeof(secret2)), 0);
    assert_int_equal(gw_token_key_init(&other2, 2, secret1, sizeof(secret1)), 0);

    /* signed with key 2, verified with {1, 2} in either order */
    assert_int_equal(gw_token_encode(&t, &keys[1], enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 2, 1700000001, 7, &out), GW_TOKEN_OK);
    assert_int_equal(out.key_id, 2);
    gw_token_key_t swapped[2] = {keys[1], keys[0]};
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, swapped, 2, 1700000001, 7, &out), GW_TOKEN_OK);
    /* key 2 retired: unknown key */
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 1, 1700000001, 7, &out), GW_TOKEN_UNKNOWN_KEY);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, NULL, 0, 1700000001, 7, &out), GW_TOKEN_UNKNOWN_KEY);
    /* same id, different secret: bad MAC, and nothing leaks into out */
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &other2, 1, 1700000001, 7, &out), GW_TOKEN_BAD_MAC);
    gw_token_t zero = {0};
    assert_memory_equal(&out, &zero, sizeof(out));
    /* signed with key 1 still verifies after key 2 became primary */
    assert_int_equal(gw_token_encode(&t, &keys[0], enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, keys, 2, 1700000001, 7, &out), GW_TOKEN_OK);
    assert_int_equal(out.key_id, 1);
}

static void
test_policy_bump(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 7, &out), GW_TOKEN_OK);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 8, &out), GW_TOKEN_OLD_POLICY);
    assert_int_equal(out.policy_version, 7);
    assert_memory_equal(out.visitor, t.visitor, 16);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 6, &out), GW_TOKEN_OLD_POLICY);
    /* expiry is reported before the policy */
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, t.expires, 8, &out), GW_TOKEN_EXPIRED);
}

static void
test_unknown_format_version(void **state)
{
    gw_token_key_t k;
    gw_token_t out;
    uint8_t raw[GW_TOKEN_RAW_LEN], mac[32];
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    gw_token_t t = sample_token();
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_b64url_decode(enc, GW_TOKEN_ENCODED_LEN, raw, sizeof(raw)), GW_TOKEN_RAW_LEN);
    /* a correctly signed token of another format version is still refused */
    static const uint8_t versions[] = {0, 2, 0x81, 0xff};
    for (size_t i = 0; i != sizeof(versions); ++i) {
        raw[0] = versions[i];
        gw_token_hmac(&k, raw, GW_TOKEN_PAYLOAD_LEN, mac);
        memcpy(raw + GW_TOKEN_PAYLOAD_LEN, mac, GW_TOKEN_TAG_LEN);
        assert_int_equal(gw_b64url_encode(raw, sizeof(raw), enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
        assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, 1700000001, 7, &out), GW_TOKEN_MALFORMED);
    }
}

/* A token issued while a clock was ahead (its issue time later than now) is not in force, whatever its expiry says: it
 * would outlive its lifetime by the clock's error, and the revocations of the visitor's later decisions. Up to
 * GW_TOKEN_MAX_AHEAD seconds are a fleet's clock skew, in force. */
static void
test_issued_ahead(void **state)
{
    gw_token_key_t k;
    gw_token_t t = sample_token(), out;
    char enc[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    t.expires = t.issued + 365 * 86400;
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    static const struct {
        int64_t delta; /* now - issued */
        gw_token_status_t want;
    } cases[] = {{0, GW_TOKEN_OK},
                 {-GW_TOKEN_MAX_AHEAD, GW_TOKEN_OK},
                 {-GW_TOKEN_MAX_AHEAD - 1, GW_TOKEN_ISSUED_AHEAD},
                 {-365 * 86400, GW_TOKEN_ISSUED_AHEAD},
                 {-1700000000, GW_TOKEN_ISSUED_AHEAD}}; /* now 0 */
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        uint64_t now = (uint64_t)((int64_t)t.issued + cases[i].delta);
        assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, now, 7, &out), cases[i].want);
        assert_memory_equal(out.visitor, t.visitor, 16); /* the MAC was valid: the payload is reported */
    }
    /* expired comes first: a token both ahead and expired (expires before issued: never made, but signed) is expired */
    t.expires = t.issued - 3600;
    assert_int_equal(gw_token_encode(&t, &k, enc, sizeof(enc)), GW_TOKEN_ENCODED_LEN);
    assert_int_equal(gw_token_decode(enc, GW_TOKEN_ENCODED_LEN, &k, 1, t.issued - 1800, 7, &out), GW_TOKEN_EXPIRED);
}

static void
test_garbage(void **state)
{
    gw_token_key_t k;
    gw_token_t out;
    char buf[GW_TOKEN_ENCODED_LEN + 1];
    assert_int_equal(gw_token_key_init(&k, 1, secret1, sizeof(secret1)), 0);
    static const struct {
        char fill;
        gw_token_status_t want;
    } fills[] = {
        {'A', GW_TOKEN_MALFORMED},                                                        /* all-zero bytes: format version 0 */
        {'!', GW_TOKEN_MALFORMED},                                                        /* outside the alphabet */
        {'=', GW_TOKEN_MALFORMED},  {' ', GW_TOKEN_MALFORMED}, {'B', GW_TOKEN_MALFORMED}, /* version 0x04 */
        {'\0', GW_TOKEN_MALFORMED}, {0, GW_TOKEN_OK}                                      /* end of list */
    };
    for (size_t i = 0; fills[i].want != GW_TOKEN_OK; ++i) {
        memset(buf, fills[i].fill, GW_TOKEN_ENCODED_LEN);
        assert_int_equal(gw_token_decode(buf, GW_TOKEN_ENCODED_LEN, &k, 1, 0, 0, &out), fills[i].want);
    }
    /* version 1, key 1, zero tag: right shape, wrong MAC ("AQE" = 01 01 ...) */
    memset(buf, 'A', GW_TOKEN_ENCODED_LEN);
    memcpy(buf, "AQE", 3);
    assert_int_equal(gw_token_decode(buf, GW_TOKEN_ENCODED_LEN, &k, 1, 0, 0, &out), GW_TOKEN_BAD_MAC);
    assert_int_equal(gw_token_decode(NULL, 0, &k, 1, 0, 0, &out), GW_TOKEN_MALFORMED);
    assert_int_equal(gw_token_decode("x", 1, &k, 1, 0, 0, &out), GW_TOKEN_MALFORMED);
    assert_int_equal(gw_token_decode(buf, (size_t)-1, &k, 1, 0, 0, &out), GW_TOKEN_MALFORMED); /* length checked first */
}

static void
test_strerror(void **state)
{
    const char *seen[GW_TOKEN_ISSUED_AHEAD + 1];
    for (int i = 0; i <= GW_TOKEN_ISSUED_AHEAD; ++i) {
        seen[i] = gw_token_strerror((gw_token_status_t)i);
        assert_non_null(seen[i]);
        assert_string_not_equal(seen[i], "unknown status");
        for (int j = 0; j != i; ++j)
            assert_string_not_equal(seen[i], seen[j]);
    }
    assert_string_equal(gw_token_strerror((gw_token_status_t)99), "unknown status");
}

static void
test_random_bytes(void **state)
{
    /* 16-byte draws across several refills of the 4 KB pool: no draw repeats an earlier one or is all zeros */
    static uint8_t seen[1000][16];
    uint8_t zero[16] = {0}, big[2048], small[7];
    for (int i = 0; i != 1000; ++i) {
        assert_int_equal(gw_random_bytes(seen[i], 16), 0);
        assert_memory_not_equal(seen[i], zero, 16);
        for (int j = 0; j != i; ++j)
            assert_memory_not_equal(seen[i], seen[j], 16);
    }
    /* odd sizes leave the pool unaligned; a draw larger than 1 KB bypasses it */
    assert_int_equal(gw_random_bytes(small, sizeof(small)), 0);
    memset(big, 0, sizeof(big));
    assert_int_equal(gw_random_bytes(big, sizeof(big)), 0);
    size_t zeros = 0;
    for (size_t i = 0; i != sizeof(big); ++i)
        zeros += big[i] == 0;
    assert_true(zeros < 64); /* ~8 expected */
    assert_int_equal(gw_random_bytes(seen[0], 0), 0);
}

/* in a thread of its own, whose pool starts empty: draw the pool down to one byte, then ask for two; the pool is
 * refilled (not read one byte past its end), and the draws after it are random bytes of the new pool */
static void *
draw_across_the_refill(void *arg)
{
    uint8_t b[16], zero[16] = {0};
    int *ok = arg;
    for (int i = 0; i != 4096 - 1; ++i)
        if (gw_random_bytes(b, 1) != 0)
            return NULL;
    if (gw_random_bytes(b, 2) != 0)
        return NULL;
    for (int i = 0; i != 64; ++i)
        if (gw_random_bytes(b, sizeof(b)) != 0 || memcmp(b, zero, sizeof(b)) == 0)
            return NULL;
    *ok = 1;
    return NULL;
}

static void
test_random_bytes_refill(void **state)
{
    pthread_t t;
    int ok = 0;
    assert_int_equal(pthread_create(&t, NULL, draw_across_the_refill, &ok), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(ok);
}

static void
test_new_visitor(void **state)
{
    uint8_t a[16], b[16], zero[16] = {0};
    assert_int_equal(gw_token_new_visitor(a), 0);
    assert_int_equal(gw_token_new_visitor(b), 0);
    assert_memory_not_equal(a, b, 16);
    assert_memory_not_equal(a, zero, 16);
    /* time-ordered: the first 6 bytes are the ms clock, big-endian, so b (made later) sorts >= a */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, ms = 0;
    for (int i = 0; i != 6; ++i)
        ms = ms << 8 | b[i];
    assert_true(ms <= now && now - ms < 60000);
    assert_true(memcmp(a, b, 6) <= 0);
    assert_memory_not_equal(a + 6, b + 6, 10);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_vectors),
        cmocka_unit_test(test_b64url_strict),
        cmocka_unit_test(test_b64url_roundtrip_exhaustive),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hmac_matches_openssl),
        cmocka_unit_test(test_key_init_rejects),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_encode_limits),
        cmocka_unit_test(test_every_byte_flip_rejected),
        cmocka_unit_test(test_every_bit_flip_rejected),
        cmocka_unit_test(test_truncations_and_extensions),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_issued_ahead),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_policy_bump),
        cmocka_unit_test(test_unknown_format_version),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_random_bytes_refill),
        cmocka_unit_test(test_new_visitor),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
