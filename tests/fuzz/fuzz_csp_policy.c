/* libFuzzer driver: an origin's Content-Security-Policy field values. The input's first byte says enforcing or
 * report-only, the rest is split at NUL into fields; a nonce copied out is always base64 characters, NUL-terminated;
 * each field amended (gw_csp_amend) only grows, the same length into any buffer, an amended field needs no further
 * amendment, and lets in an inline script by the nonce exactly when the field did (gw_csp_lets_in_by_nonce). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "csp_policy.h"

static void
check(const char *s)
{
    size_t n = strnlen(s, GW_CSP_NONCE_MAX + 1);
    if (n > GW_CSP_NONCE_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/-_=") != n)
        __builtin_trap();
}

static void
amend(const char *p, size_t len)
{
    gw_csp_amend_t a = {"https", "n0", "", "https://h.example/__consent/banner.js"};
    size_t need = gw_csp_amend(p, len, &a, NULL, 0);
    char *out = malloc(need != 0 ? need : 1), small[8];
    if (need < len || gw_csp_amend(p, len, &a, out, need) != need || gw_csp_amend(p, len, &a, small, sizeof(small)) != need ||
        (need <= sizeof(small) && memcmp(small, out, need) != 0))
        __builtin_trap();
    if (gw_csp_amend(out, need, &a, NULL, 0) != need)
        __builtin_trap();
    /* the amendment lets the UI's script in by URL, never an inline script by the nonce (the consent default) */
    if (gw_csp_lets_in_by_nonce(out, need, a.script_nonce) != gw_csp_lets_in_by_nonce(p, len, a.script_nonce))
        __builtin_trap();
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_csp_nonces_t out;
    memset(&out, 0, sizeof(out));
    if (size == 0)
        return 0;
    int enforced = data[0] & 1;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p <= end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        const char *e = nul != NULL ? nul : end;
        gw_csp_read_nonces(&out, p, (size_t)(e - p), enforced);
        amend(p, (size_t)(e - p));
        enforced ^= 1;
        p = e + 1;
    }
    check(out.script);
    check(out.style);
    return 0;
}
