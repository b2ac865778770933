/*
 * ratelimit — see ratelimit.h.
 */
#include <netinet/in.h>
#include <string.h>
#include "ratelimit.h"

/* a slot's word: fingerprint (24 bits) | window start, seconds mod 2^20 (20 bits) | count (20 bits) */
#define FP_SHIFT 40
#define START_SHIFT 20
#define FIELD_MASK ((1u << 20) - 1)

static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

uint64_t
gw_rate_client_key(const struct sockaddr *sa)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint64_t h = 1469598103934665603ull;
    if (sa->sa_family == AF_INET) {
        h = fnv1a(h, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const uint8_t *a6 = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0)
            h = fnv1a(h, a6 + 12, 4);
        else
            h = fnv1a(fnv1a(h, (const uint8_t *)"6", 1), a6, 8); /* the /64; "6" keeps it apart from every IPv4 key */
    }
    return h | 1;
}

static uint64_t
mix(uint64_t k) /* murmur3's finaliser: the slot and the fingerprint come from independent bits */
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    return k ^ (k >> 33);
}

int
gw_rate_take(gw_rate_table_t *table, uint64_t key, uint64_t now_ms, unsigned per_minute, unsigned *retry_after_s)
{
    if (per_minute == 0)
        return 0;
    if (per_minute > GW_RATE_MAX_PER_MINUTE)
        per_minute = GW_RATE_MAX_PER_MINUTE;
    uint64_t h = mix(key), fp = h >> FP_SHIFT, now_s = (now_ms / 1000) & FIELD_MASK, want, start;
    _Atomic uint64_t *slot = table->slots + (h % GW_RATE_SLOTS);
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    for (;;) {
        start = (old >> START_SHIFT) & FIELD_MASK;
        uint64_t count = old & FIELD_MASK;
        if (old == 0 || old >> FP_SHIFT != fp || ((now_s - start) & FIELD_MASK) >= 60) {
            start = now_s; /* another client's slot, or a window that ended: a new window */
            count = 0;
        } else if (count > per_minute) {
            break; /* over until the window ends; the count stays at per_minute + 1 */
        }
        want = fp << FP_SHIFT | start << START_SHIFT | (count + 1);
        if (atomic_compare_exchange_weak_explicit(slot, &old, want, memory_order_relaxed, memory_order_relaxed)) {
            if (count + 1 <= per_minute)
                return 0;
            break;
        }
    }
    if (retry_after_s != NULL) {
        uint64_t elapsed = (now_s - start) & FIELD_MASK;
        *retry_after_s = (unsigned)(60 - (elapsed < 60 ? elapsed : 59));
    }
    return 1;
}

void
gw_rate_retry_after(h2o_req_t *req, unsigned seconds)
{
    char *v = h2o_mem_alloc_pool(&req->pool, sizeof(H2O_UINT32_LONGEST_STR));
    size_t len = (size_t)sprintf(v, "%u", seconds);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v, len);
}
