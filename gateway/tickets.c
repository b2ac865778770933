/*
 * tickets — see tickets.h.
 *
 * A ticket is sealed as OpenSSL's own keys seal it (and h2o's server does): a 16-byte key name in clear, then an
 * AES-256-CBC ciphertext under a random IV, then an HMAC-SHA256 over all of it. The name picks the key that opens it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "log.h"
#include "qsbr.h"
#include "tickets.h"

typedef struct st_gw_ticket_key_t {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
} gw_ticket_key_t;

/* immutable once published */
typedef struct st_gw_ticket_ring_t {
    size_t num;                            /* 1 to GW_TICKETS_KEEP */
    gw_ticket_key_t keys[GW_TICKETS_KEEP]; /* newest first: keys[0] seals */
} gw_ticket_ring_t;

static gw_ticket_ring_t *ring; /* gw_snap_load on the workers; written by the main thread */
static EVP_CIPHER *cipher;     /* AES-256-CBC, fetched once (an implicit fetch at each handshake costs) */
static unsigned rotate_s = GW_TICKETS_ROTATE_S;
static uint64_t next_rotation; /* CLOCK_BOOTTIME seconds (a suspended machine's sleep counts) */

/* the ring after `fresh` was drawn: fresh first, then the newest of `prev` (NULL: none) that stay */
static void ring_push(gw_ticket_ring_t *dst, const gw_ticket_ring_t *prev, const gw_ticket_key_t *fresh)
{
    size_t kept = prev == NULL ? 0 : prev->num < GW_TICKETS_KEEP ? prev->num : GW_TICKETS_KEEP - 1;
    dst->keys[0] = *fresh;
    if (kept != 0)
        memcpy(dst->keys + 1, prev->keys, kept * sizeof(prev->keys[0]));
    dst->num = kept + 1;
}

/* the index of the key named `name` (a ticket's first 16 bytes), or -1: retired, or never ours */
static int ring_find(const gw_ticket_ring_t *r, const unsigned char *name)
{
    for (size_t i = 0; i != r->num; ++i)
        if (memcmp(r->keys[i].name, name, sizeof(r->keys[i].name)) == 0)
            return (int)i;
    return -1;
}

/* a page of its own: locked in memory where the limit allows (not swapped out) and left out of core dumps */
static gw_ticket_ring_t *ring_alloc(void)
{
    void *p = mmap(NULL, sizeof(gw_ticket_ring_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, sizeof(gw_ticket_ring_t), MADV_DONTDUMP);
    mlock(p, sizeof(gw_ticket_ring_t)); /* (best effort: RLIMIT_MEMLOCK) */
    return p;
}

static void ring_free(gw_ticket_ring_t *r)
{
    OPENSSL_cleanse(r, sizeof(*r));
    munmap(r, sizeof(*r));
}

static int draw_key(gw_ticket_key_t *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 || RAND_priv_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof(k->hmac)) != 1)
        return -1;
    return 0;
}

/* A new ring with a new key, published; the old one wiped once no worker can hold it. Not on a worker. 0 or -1. */
static int rotate(int workers_run)
{
    gw_ticket_ring_t *fresh = ring_alloc(), *old = ring;
    gw_ticket_key_t k;
    if (fresh == NULL)
        return -1;
    if (draw_key(&k) != 0) {
        OPENSSL_cleanse(&k, sizeof(k));
        ring_free(fresh);
        return -1;
    }
    ring_push(fresh, old, &k);
    OPENSSL_cleanse(&k, sizeof(k));
    /* (not gw_snap_publish: nothing a page's rewrite reads has changed, so gw_snap_generation stays) */
    __atomic_store_n(&ring, fresh, __ATOMIC_RELEASE);
    if (old != NULL) {
        if (workers_run)
            gw_qsbr_synchronize();
        ring_free(old);
    }
    return 0;
}

static uint64_t boot_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec;
}

/* The ticket key callback (OpenSSL 3), on a worker in a handshake: 1 sealed or opened, 2 opened and to be renewed under
 * the newest key, 0 not opened (unknown or retired key: a full handshake), -1 an error (the handshake fails).
 * A TLS 1.3 ticket is always renewed, as OpenSSL's own keys do: without a 2 it sends no ticket after a resumption, and
 * a browser, which uses a ticket once (RFC 8446 C.4), would make its next connection a full handshake. A TLS 1.2
 * ticket may be used again: renewed (a NewSessionTicket message more) only when an older key sealed it. */
static int on_ticket_key(SSL *ssl, unsigned char *key_name, unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const gw_ticket_ring_t *r = gw_snap_load(&ring);
    const gw_ticket_key_t *k;
    int ret = 1, i;

    if (r == NULL) /* (a context made outside the server: gw_server_check_tls) */
        return 0;
    if (enc) {
        k = r->keys;
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1)
            return -1;
        memcpy(key_name, k->name, sizeof(k->name));
        if (EVP_EncryptInit_ex(cctx, cipher, NULL, k->aes, iv) != 1)
            return -1;
    } else {
        if ((i = ring_find(r, key_name)) < 0)
            return 0;
        k = r->keys + i;
        ret = i != 0 || SSL_version(ssl) == TLS1_3_VERSION ? 2 : 1;
        if (EVP_DecryptInit_ex(cctx, cipher, NULL, k->aes, iv) != 1)
            return -1;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params) == 1 ? ret : -1;
}

int gw_tickets_init(void)
{
    const char *s = getenv("CG_TICKET_KEY_SECONDS");
    if (s != NULL) {
        long v = strtol(s, NULL, 10);
        if (v >= 1 && v <= GW_TICKETS_ROTATE_S)
            rotate_s = (unsigned)v;
    }
    if ((cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL || rotate(0) != 0) {
        gw_error("TLS session ticket keys: cannot draw one (%s)",
                 cipher == NULL ? "no AES-256-CBC in OpenSSL" : "no memory or no randomness");
        return -1;
    }
    next_rotation = boot_seconds() + rotate_s;
    return 0;
}

void gw_tickets_setup(SSL_CTX *ctx)
{
    SSL_CTX_set_timeout(ctx, GW_TICKETS_SESSION_S);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
}

unsigned gw_tickets_tick(void)
{
    uint64_t now = boot_seconds();
    if (now >= next_rotation) {
        /* as many as were due (a machine back from a suspend, a main thread long in a reload): the keys that would have
         * been retired meanwhile are */
        uint64_t due = (now - next_rotation) / rotate_s + 1;
        for (uint64_t n = 0; n != due && n != GW_TICKETS_KEEP; ++n) {
            if (rotate(1) != 0) {
                gw_error("TLS session ticket keys: cannot draw a new one (no memory or no randomness): the keys in force stay");
                break;
            }
        }
        next_rotation = now + rotate_s;
    }
    return (unsigned)(next_rotation - now);
}
