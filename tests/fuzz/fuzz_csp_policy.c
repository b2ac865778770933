/* libFuzzer driver: an origin's Content-Security-Policy field values. The input's first byte says enforcing or
 * report-only, the rest is split at NUL into fields; a nonce copied out is always base64 characters, NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "csp_policy.h"

static void
check(const char *s)
{
    size_t n = strnlen(s, GW_CSP_NONCE_MAX + 1);
    if (n > GW_CSP_NONCE_MAX || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/-_=") != n)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
        enforced ^= 1;
        p = e + 1;
    }
    check(out.script);
    check(out.style);
    return 0;
}
