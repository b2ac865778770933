/*
 * records — see records.h.
 */
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include "records.h"

const char *gw_record_method_name(gw_record_method_t m)
{
    static const char *const names[] = {"accept_all", "reject_all", "custom", "withdraw", "gpc", "erase"};
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : "unknown";
}

static void new_uuid(char out[37])
{
    uint8_t b[16];
    RAND_bytes(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
             b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* the user agent is stored only as a salted hash; the salt is per installation */
static h2o_iovec_t ua_salt = {"consentgate-ua-v1:", 18};

void gw_records_prepare(h2o_req_t *req, gw_record_t *rec)
{
    struct sockaddr_storage ss;
    new_uuid(rec->receipt);
    rec->time_ms = h2o_now(req->conn->ctx->loop);
    rec->client_ip[0] = '\0';
    if (req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) != 0) {
        if (ss.ss_family == AF_INET) {
            const uint8_t *a = (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr;
            snprintf(rec->client_ip, sizeof(rec->client_ip), "%u.%u.%u.0/24", a[0], a[1], a[2]);
        } else if (ss.ss_family == AF_INET6) {
            const uint8_t *a = (const uint8_t *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
            snprintf(rec->client_ip, sizeof(rec->client_ip), "%x:%x:%x::/48", a[0] << 8 | a[1], a[2] << 8 | a[3], a[4] << 8 | a[5]);
        }
    }
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_USER_AGENT, -1);
    h2o_iovec_t ua = i != -1 ? req->headers.entries[i].value : h2o_iovec_init(H2O_STRLIT(""));
    h2o_iovec_t salted = h2o_concat(&req->pool, ua_salt, ua);
    SHA256((const unsigned char *)salted.base, salted.len, rec->ua_hash);
}

/* The durable store plugs in here (consent records capability). Until it lands, the
 * decision is acknowledged at once and nothing is persisted. */
void gw_records_submit(h2o_req_t *req, const gw_record_t *rec, gw_records_done_cb cb, void *data)
{
    cb(req, data, 0, rec);
}
