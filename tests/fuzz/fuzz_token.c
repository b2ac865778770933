/*
 * libFuzzer driver for filters/token.c.
 *
 * The input is tried twice: as a cookie value (base64url text) and, when short enough, as the
 * raw 52-byte token it would decode to (encoded first), so the fuzzer reaches the version,
 * key-id and MAC checks without having to learn base64. Invariants:
 * - a token is never accepted (OK, EXPIRED or OLD_POLICY all mean "MAC verified") unless
 *   re-encoding its fields with the named key reproduces the input byte for byte, i.e. the
 *   tag is the HMAC of the payload;
 * - a rejected token leaves *out zeroed;
 * - gw_b64url_decode accepts only canonical text: re-encoding what it decoded gives the input;
 * - sign and verify (the input's first 46 bytes as a token's fields, the key and a tamper): a token encoded with either
 *   key decodes to the same fields under the status its times and policy call for; the same text with one character
 *   replaced by another (at a position and by a character the input picks, from the alphabet or not), with its length
 *   changed by one, or with the other key's id, never verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "token.h"

static gw_token_key_t keys[2];

static void
check(const char *s, size_t len)
{
    gw_token_t out;
    static const gw_token_t zero;
    char again[GW_TOKEN_ENCODED_LEN + 1];

    gw_token_status_t st = gw_token_decode(s, len, keys, 2, 1700000000, 3, &out);
    switch (st) {
    case GW_TOKEN_OK:
    case GW_TOKEN_EXPIRED:
    case GW_TOKEN_ISSUED_AHEAD:
    case GW_TOKEN_OLD_POLICY: {
        const gw_token_key_t *k = out.key_id == keys[0].id ? &keys[0] : out.key_id == keys[1].id ? &keys[1] : NULL;
        if (k == NULL || len != GW_TOKEN_ENCODED_LEN || gw_token_encode(&out, k, again, sizeof(again)) != len ||
            memcmp(again, s, len) != 0)
            abort(); /* accepted something the key did not sign */
        if ((st == GW_TOKEN_OK) !=
            (out.expires > 1700000000 && out.issued <= 1700000000 + GW_TOKEN_MAX_AHEAD && out.policy_version == 3))
            abort();
        break;
    }
    case GW_TOKEN_MALFORMED:
    case GW_TOKEN_UNKNOWN_KEY:
    case GW_TOKEN_BAD_MAC:
        if (memcmp(&out, &zero, sizeof(out)) != 0)
            abort();
        break;
    default:
        abort();
    }
}

static uint64_t
be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i != n; ++i)
        v = v << 8 | p[i];
    return v;
}

static int
verified(gw_token_status_t st)
{
    return st == GW_TOKEN_OK || st == GW_TOKEN_EXPIRED || st == GW_TOKEN_ISSUED_AHEAD || st == GW_TOKEN_OLD_POLICY;
}

/* d[0..46): visitor 16, granted 2, policy 4, regime 1, flags 1, issued 5, expires 5, now 5, key 1 (bit 0: which key; bit 1: ask for
 * the token's own policy), tamper position 1, tamper character 1, policy asked 4 */
static void
sign_and_verify(const uint8_t *d)
{
    gw_token_t t = {0}, got;
    char text[GW_TOKEN_ENCODED_LEN + 2], bad[GW_TOKEN_ENCODED_LEN + 2];
    memcpy(t.visitor, d, 16);
    t.granted = (uint16_t)be(d + 16, 2);
    t.policy_version = (uint32_t)be(d + 18, 4);
    t.regime = d[22];
    t.flags = d[23];
    t.issued = be(d + 24, 5);
    t.expires = be(d + 29, 5);
    uint64_t now = be(d + 34, 5);
    const gw_token_key_t *k = &keys[d[39] & 1], *other = &keys[!(d[39] & 1)];
    uint32_t policy = d[39] & 2 ? t.policy_version : (uint32_t)be(d + 42, 4);

    if (gw_token_encode(&t, k, text, sizeof(text)) != GW_TOKEN_ENCODED_LEN)
        abort(); /* every 40-bit time is encodable */
    gw_token_status_t st = gw_token_decode(text, GW_TOKEN_ENCODED_LEN, keys, 2, now, policy, &got);
    gw_token_status_t want = now >= t.expires                      ? GW_TOKEN_EXPIRED
                             : t.issued > now + GW_TOKEN_MAX_AHEAD ? GW_TOKEN_ISSUED_AHEAD
                             : policy != t.policy_version          ? GW_TOKEN_OLD_POLICY
                                                                   : GW_TOKEN_OK;
    if (st != want || got.key_id != k->id || memcmp(got.visitor, t.visitor, 16) != 0 || got.granted != t.granted ||
        got.policy_version != t.policy_version || got.regime != t.regime || got.flags != t.flags || got.issued != t.issued ||
        got.expires != t.expires)
        abort();
    /* only the signing key verifies it */
    if (verified(gw_token_decode(text, GW_TOKEN_ENCODED_LEN, other, 1, now, policy, &got)))
        abort();
    /* one character replaced */
    size_t at = d[40] % GW_TOKEN_ENCODED_LEN;
    memcpy(bad, text, GW_TOKEN_ENCODED_LEN);
    bad[at] = (char)d[41];
    if (bad[at] != text[at] && verified(gw_token_decode(bad, GW_TOKEN_ENCODED_LEN, keys, 2, now, policy, &got)))
        abort();
    /* one character dropped, or one added */
    memmove(bad + at, text + at + 1, GW_TOKEN_ENCODED_LEN - at - 1);
    if (verified(gw_token_decode(bad, GW_TOKEN_ENCODED_LEN - 1, keys, 2, now, policy, &got)))
        abort();
    memcpy(bad, text, at);
    bad[at] = (char)d[41];
    memcpy(bad + at + 1, text + at, GW_TOKEN_ENCODED_LEN - at);
    if (verified(gw_token_decode(bad, GW_TOKEN_ENCODED_LEN + 1, keys, 2, now, policy, &got)))
        abort();
    /* the other key's id on this key's MAC */
    uint8_t raw[GW_TOKEN_RAW_LEN];
    if (gw_b64url_decode(text, GW_TOKEN_ENCODED_LEN, raw, sizeof(raw)) != GW_TOKEN_RAW_LEN || raw[1] != k->id)
        abort();
    raw[1] = other->id;
    gw_b64url_encode(raw, sizeof(raw), bad, sizeof(bad));
    if (verified(gw_token_decode(bad, GW_TOKEN_ENCODED_LEN, keys, 2, now, policy, &got)))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    uint8_t raw[4096];
    char text[GW_B64URL_ENCODED_LEN(sizeof(raw)) + 1];

    if (!ready) {
        gw_token_key_init(&keys[0], 1, "0123456789abcdef0123456789abcdef", 32);
        gw_token_key_init(&keys[1], 2, "fedcba9876543210fedcba9876543210", 32);
        ready = 1;
    }
    check((const char *)data, size);
    if (size >= 46)
        sign_and_verify(data);

    /* the base64url decoder is canonical */
    long n = gw_b64url_decode((const char *)data, size, raw, sizeof(raw));
    if (n >= 0) {
        size_t m = gw_b64url_encode(raw, (size_t)n, text, sizeof(text));
        if (m != size || memcmp(text, data, size) != 0)
            abort();
    }

    /* the same bytes as a raw token */
    if (size <= 64) {
        size_t m = gw_b64url_encode(data, size, text, sizeof(text));
        if (m != GW_B64URL_ENCODED_LEN(size))
            abort();
        check(text, m);
    }
    return 0;
}
