/*
 * Microbenchmark of the TLS session ticket key callback (gateway/tickets.c): resumed handshakes in memory (a BIO pair,
 * client and server in this thread), TLS 1.3 and TLS 1.2, with OpenSSL's own ticket keys and with the ring's callback.
 * The difference is what the callback costs a resumption (a ticket opened, and in TLS 1.3 a new one sealed). Prints
 * one "micro <name>: <N> ns/op (n=...)" line per case; `micro_tickets N own|ring 1.3|1.2` runs one case N times (for
 * an instruction count: valgrind --tool=callgrind, N and N + 100, the difference over 100).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "tickets.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static SSL_CTX *server_ctx(EVP_PKEY *pkey, X509 *cert, int ring, int version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, pkey);
    if (ring)
        gw_tickets_setup(ctx);
    return ctx;
}

/* one handshake over a BIO pair, with sess (or NULL); the client's session after it (its tickets read), or NULL */
static SSL_SESSION *handshake(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *sess, int *reused)
{
    SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
    BIO *bc, *bs;
    SSL_SESSION *out = NULL;
    unsigned char b[1];
    BIO_new_bio_pair(&bc, 0, &bs, 0);
    SSL_set_bio(c, bc, bc);
    SSL_set_bio(s, bs, bs);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (sess != NULL)
        SSL_set_session(c, sess);
    for (int i = 0; i != 20; ++i) {
        int rc = SSL_do_handshake(c), rs = SSL_do_handshake(s);
        if (rc == 1 && rs == 1) {
            SSL_read(c, b, sizeof(b)); /* (the TLS 1.3 tickets, sent after the handshake) */
            *reused = SSL_session_reused(c);
            out = SSL_get1_session(c);
            break;
        }
    }
    SSL_set_shutdown(c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN); /* (freed unshut, a session is not resumable) */
    SSL_set_shutdown(s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c);
    SSL_free(s);
    return out;
}

static int run(int n, int ring, int version, int quiet)
{
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_set_pubkey(cert, pkey);
    X509_sign(cert, pkey, EVP_sha256());
    SSL_CTX *sctx = server_ctx(pkey, cert, ring, version), *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    int reused = 0, total = 0;
    SSL_SESSION *sess = handshake(sctx, cctx, NULL, &reused);
    if (sess == NULL || reused) {
        fprintf(stderr, "micro_tickets: the first handshake failed\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i != n; ++i) {
        SSL_SESSION *next = handshake(sctx, cctx, sess, &reused);
        if (next == NULL)
            break;
        total += reused;
        SSL_SESSION_free(next); /* (the same ticket each time: the cost of one opening, not of a chain of renewals) */
    }
    uint64_t t1 = now_ns();
    if (total != n) {
        fprintf(stderr, "micro_tickets: %d of %d resumed\n", total, n);
        return 1;
    }
    if (!quiet)
        printf("micro tls%s resumption (%s ticket keys): %.0f ns/op (n=%d)\n", version == TLS1_3_VERSION ? "1.3" : "1.2",
               ring ? "ring" : "OpenSSL own", (double)(t1 - t0) / n, n);
    SSL_SESSION_free(sess);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return 0;
}

int main(int argc, char **argv)
{
    if (gw_tickets_init() != 0)
        return 1;
    if (argc == 4)
        return run(atoi(argv[1]), strcmp(argv[2], "ring") == 0, strcmp(argv[3], "1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION, 1);
    for (int version = TLS1_2_VERSION; version <= TLS1_3_VERSION; ++version)
        for (int ring = 0; ring != 2; ++ring)
            if (run(2000, ring, version, 0) != 0)
                return 1;
    return 0;
}
