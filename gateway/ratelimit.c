/*
 * ratelimit — see ratelimit.h.
 */
#include <netinet/in.h>
#include <string.h>
#include "consent.h"
#include "ratelimit.h"

typedef struct st_slot_t {
    uint64_t key;      /* gw_rate_client_key; 0: unused */
    uint64_t start_ms; /* the window's first request */
    uint32_t count;
} slot_t;

struct st_gw_rate_table_t {
    slot_t slots[GW_RATE_SLOTS];
};

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

int
gw_rate_over(gw_rate_table_t **table, h2o_req_t *req, unsigned per_minute, unsigned *retry_after_s)
{
    struct sockaddr_storage ss;
    if (per_minute == 0)
        return 0;
    if (*table == NULL) { /* once per thread and use; lives as long as the thread */
        *table = h2o_mem_alloc(sizeof(**table));
        memset(*table, 0, sizeof(**table));
    }
    if (gw_consent_client_addr(req, &ss) != 0)
        memset(&ss, 0, sizeof(ss)); /* no address (a test's fake connection): all such requests share one window */
    uint64_t key = gw_rate_client_key((struct sockaddr *)&ss), now = h2o_now(req->conn->ctx->loop);
    slot_t *s = (*table)->slots + (key % GW_RATE_SLOTS);
    if (s->key != key || now - s->start_ms >= 60000)
        *s = (slot_t){key, now, 0};
    if (++s->count <= per_minute)
        return 0;
    s->count = per_minute + 1; /* stays over until the window ends, without wrapping */
    if (retry_after_s != NULL)
        *retry_after_s = (unsigned)((60000 - (now - s->start_ms) + 999) / 1000);
    return 1;
}

void
gw_rate_retry_after(h2o_req_t *req, unsigned seconds)
{
    char *v = h2o_mem_alloc_pool(&req->pool, sizeof(H2O_UINT32_LONGEST_STR));
    size_t len = (size_t)sprintf(v, "%u", seconds);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, v, len);
}
