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
 * - gw_b64url_decode accepts only canonical text: re-encoding what it decoded gives the input.
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
    case GW_TOKEN_OLD_POLICY: {
        const gw_token_key_t *k = out.key_id == keys[0].id ? &keys[0] : out.key_id == keys[1].id ? &keys[1] : NULL;
        if (k == NULL || len != GW_TOKEN_ENCODED_LEN || gw_token_encode(&out, k, again, sizeof(again)) != len ||
            memcmp(again, s, len) != 0)
            abort(); /* accepted something the key did not sign */
        if ((st == GW_TOKEN_OK) != (out.expires > 1700000000 && out.policy_version == 3))
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
