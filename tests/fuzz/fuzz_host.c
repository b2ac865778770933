/*
 * libFuzzer driver for the risk-list host normaliser (gw_risk_normalize_host in
 * filters/risk.c), including IDN lowering and RFC 3492 punycode encoding.
 *
 * Checks on every input, in both modes (list entries, lookups):
 *   - rejected, or: 1..253 bytes, NUL-terminated, and of its kind: a name of lower-case
 *     labels of 1..63 bytes (entries: [a-z0-9_-], no hyphen at either end; lookups: no
 *     upper case, no WHATWG forbidden byte, no byte >= 0x80), dotted-decimal IPv4 with
 *     4 octets <= 255, or IPv6 text that inet_pton accepts;
 *   - idempotent: the output normalises to itself with the same kind;
 *   - an entry-mode result is also the lookup-mode result;
 *   - ASCII case does not matter: the input with ASCII letters swapped in case gives the
 *     same result;
 *   - every `xn--` label made from Unicode input (without a hyphen of its own) decodes (RFC 3492 §6.2, implemented
 *     here independently) to code points that are not all ASCII, and the UTF-8 of the
 *     decoded label normalises back to the same label.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "risk.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

/* RFC 3492 §6.2 decoder; returns the number of code points or -1 */
static int
punycode_decode(const char *in, size_t n, uint32_t *out, size_t cap)
{
    size_t b = 0, o = 0, i = 0, pos;
    uint32_t next = 128, bias = 72;
    for (size_t j = 0; j != n; ++j)
        if (in[j] == '-')
            b = j;
    for (size_t j = 0; j != b; ++j) {
        if (o == cap || (unsigned char)in[j] >= 0x80)
            return -1;
        out[o++] = (unsigned char)in[j];
    }
    for (pos = b > 0 ? b + 1 : 0; pos < n; ++o) {
        size_t oldi = i, w = 1;
        for (uint32_t k = 36;; k += 36) {
            char c;
            uint32_t d, t;
            if (pos >= n)
                return -1;
            c = in[pos++];
            if (c >= 'a' && c <= 'z')
                d = (uint32_t)(c - 'a');
            else if (c >= '0' && c <= '9')
                d = (uint32_t)(c - '0') + 26;
            else
                return -1;
            if (d > (UINT32_MAX - i) / w)
                return -1;
            i += d * w;
            t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
            if (d < t)
                break;
            if (w > UINT32_MAX / (36 - t))
                return -1;
            w *= 36 - t;
        }
        {
            uint32_t delta = (uint32_t)(i - oldi), numpoints = (uint32_t)o + 1, k = 0;
            delta = oldi == 0 ? delta / 700 : delta / 2;
            delta += delta / numpoints;
            while (delta > 35 * 26 / 2)
                delta /= 35, k += 36;
            bias = k + 36 * delta / (delta + 38);
        }
        if (i / (o + 1) > UINT32_MAX - next)
            return -1;
        next += (uint32_t)(i / (o + 1));
        i %= o + 1;
        if (o == cap)
            return -1;
        memmove(out + i + 1, out + i, (o - i) * sizeof(*out));
        out[i++] = next;
    }
    return (int)o;
}

static size_t
utf8_put(uint32_t c, char *p)
{
    if (c < 0x80)
        return p[0] = (char)c, 1;
    if (c < 0x800)
        return p[0] = (char)(0xc0 | c >> 6), p[1] = (char)(0x80 | (c & 0x3f)), 2;
    if (c < 0x10000)
        return p[0] = (char)(0xe0 | c >> 12), p[1] = (char)(0x80 | ((c >> 6) & 0x3f)), p[2] = (char)(0x80 | (c & 0x3f)), 3;
    return p[0] = (char)(0xf0 | c >> 18), p[1] = (char)(0x80 | ((c >> 12) & 0x3f)), p[2] = (char)(0x80 | ((c >> 6) & 0x3f)),
           p[3] = (char)(0x80 | (c & 0x3f)), 4;
}

static void
check_output(const char *out, int n, gw_risk_host_kind_t kind, int flags)
{
    CHECK(n >= 1 && n <= GW_RISK_HOST_MAX && strlen(out) == (size_t)n);
    if (kind == GW_RISK_HOST_IPV4) {
        unsigned a, b, c, d;
        char again[32];
        CHECK(sscanf(out, "%u.%u.%u.%u", &a, &b, &c, &d) == 4 && a < 256 && b < 256 && c < 256 && d < 256);
        snprintf(again, sizeof(again), "%u.%u.%u.%u", a, b, c, d);
        CHECK(strcmp(again, out) == 0);
    } else if (kind == GW_RISK_HOST_IPV6) {
        struct in6_addr addr;
        CHECK(inet_pton(AF_INET6, out, &addr) == 1);
    } else {
        size_t start = 0;
        CHECK(kind == GW_RISK_HOST_NAME);
        for (int i = 0; i <= n; ++i) {
            if (i == n || out[i] == '.') {
                CHECK(i > (int)start && i - start <= 63);
                if (!flags)
                    CHECK(out[start] != '-' && out[i - 1] != '-');
                start = (size_t)i + 1;
                continue;
            }
            unsigned char c = (unsigned char)out[i];
            CHECK(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z'));
            CHECK(strchr("#%/:<>?@[\\]^|", c) == NULL);
            if (!flags)
                CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    char out[2][GW_RISK_HOST_MAX + 1], again[GW_RISK_HOST_MAX + 1], swapped[1100];
    gw_risk_host_kind_t kind[2], k2;
    int n[2], non_ascii = 0, has_hyphen = 0;

    for (size_t i = 0; i != size; ++i) {
        non_ascii |= data[i] >= 0x80;
        /* '-', U+FE63 or U+FF0D (the only code points NFKC maps to '-'): an `xn--` label of the
         * output may then come from the input rather than from the encoder */
        if (in[i] == '-' || (i + 3 <= size && (memcmp(in + i, "\xef\xb9\xa3", 3) == 0 || memcmp(in + i, "\xef\xbc\x8d", 3) == 0)))
            has_hyphen = 1;
    }
    for (int mode = 0; mode != 2; ++mode) {
        int flags = mode ? GW_RISK_NORM_LOOKUP : 0;
        n[mode] = gw_risk_normalize_host(in, size, flags, out[mode], &kind[mode]);
        if (n[mode] < 0)
            continue;
        check_output(out[mode], n[mode], kind[mode], flags);
        CHECK(gw_risk_normalize_host(out[mode], (size_t)n[mode], flags, again, &k2) == n[mode]);
        CHECK(strcmp(again, out[mode]) == 0 && k2 == kind[mode]);
        if (size < sizeof(swapped)) {
            for (size_t i = 0; i != size; ++i) {
                char c = in[i];
                swapped[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            CHECK(gw_risk_normalize_host(swapped, size, flags, again, &k2) == n[mode]);
            CHECK(strcmp(again, out[mode]) == 0 && k2 == kind[mode]);
        }
    }
    if (n[0] >= 0) {
        CHECK(n[1] == n[0] && strcmp(out[0], out[1]) == 0 && kind[0] == kind[1]);
    }
    /* punycode labels made from Unicode input */
    if (n[1] >= 0 && non_ascii && !has_hyphen && kind[1] == GW_RISK_HOST_NAME) {
        const char *s = out[1];
        while (*s) {
            const char *e = strchr(s, '.');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            if (len > 4 && memcmp(s, "xn--", 4) == 0) {
                uint32_t cps[64];
                char utf8[256], relabel[GW_RISK_HOST_MAX + 1];
                size_t u = 0;
                int m = punycode_decode(s + 4, len - 4, cps, 64), any = 0;
                CHECK(m > 0);
                for (int i = 0; i != m; ++i) {
                    CHECK(cps[i] != 0 && cps[i] <= 0x10ffff && !(cps[i] >= 0xd800 && cps[i] <= 0xdfff));
                    any |= cps[i] >= 0x80;
                    u += utf8_put(cps[i], utf8 + u);
                }
                CHECK(any);
                int rn = gw_risk_normalize_host(utf8, u, GW_RISK_NORM_LOOKUP, relabel, &k2);
                CHECK(rn == (int)len && memcmp(relabel, s, len) == 0);
            }
            s += len + (e != NULL);
        }
    }
    return 0;
}
