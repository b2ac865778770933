/*
 * server — see server.h.
 *
 * Shutdown follows h2o's own server: stop accepting, close the listeners, ask the
 * protocol handlers to wind down (HTTP/2 GOAWAY, HTTP/1 closes after the current
 * response), then keep running the loop until this thread has no request in flight
 * or the drain deadline passes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <semaphore.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>
#include <h2o.h>
#include <h2o/http2.h>
#include "consent.h"
#include "front.h"
#include "geo.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "proxy_header.h"
#include "qsbr.h"
#include "server.h"
#include "tickets.h"

#define DRAIN_TIMEOUT_MS 30000
/* accept() failed for want of a file descriptor (or of kernel memory): the listeners rest this long. The pending
 * connection stays in the backlog, so the listening socket stays readable: taking it up again at once made every
 * worker spin on accept() at full CPU for as long as the descriptors were all in use (nginx rests 500 ms) */
#define ACCEPT_REST_MS 100
#define MAX_RELOAD_HOOKS 32

typedef struct st_gw_listener_t {
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *sock;
    int proxy_protocol;
} gw_listener_t;

struct st_gw_thread_t {
    size_t index;
    pthread_t tid;
    h2o_context_t ctx;
    h2o_multithread_receiver_t wakeup;
    gw_listener_t listeners[GW_MAX_LISTEN + 1]; /* + admin on thread 0 */
    size_t num_listeners;
    size_t connections, max_connections;
    uint64_t accept_rest_until; /* h2o_now(): no accepting before (ACCEPT_REST_MS) */
    size_t inflight;
    int fds[GW_MAX_LISTEN + 1];
};

gw_runtime_t gw_rt;
__thread gw_thread_t *gw_self;

static volatile int shutdown_requested;
/* A TLS listener has two contexts. Its sessions' (accept_ctx.ssl_ctx) lasts as long as the process: h2o makes each
 * connection's SSL from it, and OpenSSL keeps the session cache (TLS 1.2 session IDs) in it and asks its ticket key
 * callback (an SSL keeps the context it was made from as its session context). It has no certificate (the key of the
 * start would stay in memory after renewals). The certificate's (ssl_ctxs[]) is swapped by a reload; on_client_hello
 * moves each SSL to the one in force (SSL_set_SSL_CTX, as for SNI), before the session is looked up and the
 * certificate chosen. So a session resumes across a reload whether by ticket or by ID. */
static SSL_CTX *session_ctxs[GW_MAX_LISTEN];
static SSL_CTX *ssl_ctxs[GW_MAX_LISTEN];
static struct {
    gw_reload_cb cb;
    void *data;
} reload_hooks[MAX_RELOAD_HOOKS];
static size_t num_reload_hooks;
static gw_thread_init_cb thread_init_hooks[8];
static size_t num_thread_init_hooks;
static gw_shutdown_cb shutdown_hooks[8];
static size_t num_shutdown_hooks;

void gw_server_on_thread_init(gw_thread_init_cb cb)
{
    if (num_thread_init_hooks < 8)
        thread_init_hooks[num_thread_init_hooks++] = cb;
}

void gw_server_on_shutdown(gw_shutdown_cb cb)
{
    if (num_shutdown_hooks < 8)
        shutdown_hooks[num_shutdown_hooks++] = cb;
}
static pthread_barrier_t startup_barrier;
static sem_t drained;

void gw_server_on_reload(gw_reload_cb cb, void *data)
{
    if (num_reload_hooks < MAX_RELOAD_HOOKS)
        reload_hooks[num_reload_hooks++] = (typeof(reload_hooks[0])){cb, data};
}

char *gw_server_find_shipped(const char *relpath)
{
    /* the source tree (build/consentgate, build/rel/…), then an installed layout: PREFIX/bin/consentgate beside
     * PREFIX/share/consentgate/ (make install) */
    static const char *const ups[] = {"..", "../..", "../share/consentgate"};
    char buf[PATH_MAX];
    for (size_t i = 0; i != sizeof(ups) / sizeof(ups[0]); ++i) {
        snprintf(buf, sizeof(buf), "%s/%s/%s", gw_rt.exe_dir, ups[i], relpath);
        if (access(buf, R_OK) == 0) {
            char *real = realpath(buf, NULL);
            return real != NULL ? real : gw_strdup(buf);
        }
    }
    return NULL;
}

size_t gw_thread_index(void)
{
    return gw_self != NULL ? gw_self->index : 0;
}

/* --- request tracking ------------------------------------------------------------------- */

static void on_request_disposed(void *p)
{
    gw_thread_t *t = *(gw_thread_t **)p;
    --t->inflight;
}

int gw_server_headers_oversized(h2o_req_t *req)
{
    /* an HTTP/2 client may send its Cookie as one field per pair ("crumbs", RFC 9113 8.2.3; a visitor with 150 cookies
     * sends 150 fields), which HTTP/1 joins with "; ": counted as that one field, by its bytes */
    size_t bytes = 0, fields = 0, cookies = 0;
    for (size_t i = 0; i != req->headers.size; ++i) {
        const h2o_header_t *h = req->headers.entries + i;
        if (h->name == &H2O_TOKEN_COOKIE->buf) {
            bytes += h->value.len + (cookies++ == 0 ? h->name->len + 4 : 2); /* "; " */
        } else {
            ++fields;
            bytes += h->name->len + h->value.len + 4; /* ": ", CRLF */
        }
    }
    return fields + (cookies != 0) > H2O_MAX_HEADERS || bytes > H2O_MAX_REQLEN;
}

int gw_server_track_request(h2o_req_t *req)
{
    gw_thread_t **p = h2o_mem_alloc_shared(&req->pool, sizeof(*p), on_request_disposed);
    *p = gw_self;
    ++gw_self->inflight;
    if (gw_server_headers_oversized(req)) { /* (counted as a 431 in cg_requests_total) */
        gw_send_page_lang(req, 431, "Request Header Fields Too Large", "gateway.431", "Request Header Fields Too Large",
                          "This request carries more header fields, or larger ones, than the gateway reads.");
        return -1;
    }
    gw_consent_settle_scheme(req); /* (every handler starts here: the scheme is settled before anything reads it) */
    return 0;
}

/* --- listeners ---------------------------------------------------------------------------- */

/*
 * Each worker thread listens on its own socket of a listen address (SO_REUSEPORT: the kernel spreads connections over
 * them); the admin listener is one socket, without. Before those sockets are opened, a probe opens the address without
 * SO_REUSEPORT (probe_listen), so that a second gateway started on the same address (an overlapping restart, a stray
 * manual run) fails to start instead of silently sharing the port.
 */
/* what to do about a listener's bind() that failed with e, as the message's tail */
static const char *listen_hint(int e)
{
    switch (e) {
    case EADDRINUSE:
        return " (another consentgate, or another server, is listening there)";
    case EACCES:
        return " (a port below 1024 takes root or the capability CAP_NET_BIND_SERVICE: systemd's "
               "AmbientCapabilities=CAP_NET_BIND_SERVICE, or setcap cap_net_bind_service=+ep on the binary)";
    case EADDRNOTAVAIL:
        return " (no network interface of this machine has that address: see `ip -br address`)";
    default:
        return "";
    }
}

static int open_listener(const gw_listen_conf_t *l, int reuseport, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res;
    char port[8];
    int fd, on = 1, rc;

    snprintf(port, sizeof(port), "%u", l->port);
    if ((rc = getaddrinfo(l->host != NULL ? l->host : "0.0.0.0", port, &hints, &res)) != 0) {
        snprintf(err, errlen, "%s:%u: %s", l->host, l->port, gai_strerror(rc));
        return -1;
    }
    if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
        (res->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0) ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s:%u: %s%s", l->host != NULL ? l->host : "0.0.0.0", l->port, strerror(e),
                 listen_hint(e));
        if (fd != -1)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static int probe_listen(const gw_listen_conf_t *l, char *err, size_t errlen)
{
    /* a claim on the address among gateways, held for the process's life: an abstract unix socket named after it (no
     * file; the kernel lets it go when the process ends). Two gateways started in the same instant could otherwise
     * both pass the probe below before either's workers bind. */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    char canon[INET6_ADDRSTRLEN]; /* one name for one address */
    gw_listen_canon_host(l, canon, sizeof(canon));
    int n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1, "consentgate-listen/%s:%u", canon, l->port);
    socklen_t un_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    int claim = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (claim == -1 || bind(claim, (struct sockaddr *)&un, un_len) != 0 || listen(claim, 1) != 0) {
        int e = errno, other = 0;
        if (claim != -1)
            close(claim);
        if (e == EADDRINUSE) {
            /* held: by a gateway of this user (or root), or squatted by another local user, whose claim means nothing */
            struct ucred cred;
            socklen_t cl = sizeof(cred);
            int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (c != -1 && connect(c, (struct sockaddr *)&un, un_len) == 0 && getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 &&
                cred.uid != geteuid() && cred.uid != 0)
                other = 1;
            if (c != -1)
                close(c);
        }
        if (!other) {
            snprintf(err, errlen, "cannot listen on %s:%u: %s", l->host != NULL ? l->host : "0.0.0.0", l->port,
                     e == EADDRINUSE ? "another consentgate is listening there" : strerror(e));
            return -1;
        }
        gw_warn("listen %s:%u: the claim on the address is held by another user's process: ignored", canon, l->port);
    }
    /* (claim stays open) and no other server either */
    int fd = open_listener(l, 0, err, errlen);
    if (fd == -1)
        return -1;
    close(fd);
    return 0;
}

/* position n (from 1) of the certificate in cert_file that the key in key_file belongs to, or 0: a certificate file
 * whose first certificate is not the key's (an intermediate first, the chain pasted before the server's) */
static int key_certificate_position(const char *cert_file, const char *key_file)
{
    BIO *kb = BIO_new_file(key_file, "r"), *cb = BIO_new_file(cert_file, "r");
    EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    X509 *x;
    int n = 0, found = 0;
    while (key != NULL && cb != NULL && found == 0 && (x = PEM_read_bio_X509(cb, NULL, NULL, NULL)) != NULL) {
        ++n;
        if (X509_check_private_key(x, key) == 1)
            found = n;
        X509_free(x);
    }
    ERR_clear_error(); /* (the end of the file reads as an error) */
    EVP_PKEY_free(key);
    BIO_free(kb);
    BIO_free(cb);
    return found;
}

static void asn1_time_text(const ASN1_TIME *t, char *buf, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int n = b != NULL && ASN1_TIME_print(b, t) == 1 ? BIO_read(b, buf, (int)len - 1) : 0;
    buf[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

/* 1 when the issuer of leaf is in the certificate file after it, or is a root this host trusts (a private CA's leaf
 * signed by its root, which clients have and the file need not carry) */
static int issuer_found(SSL_CTX *ctx, X509 *leaf)
{
    STACK_OF(X509) *chain = NULL;
    if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1 && chain != NULL)
        for (int i = 0; i != sk_X509_num(chain); ++i)
            if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK)
                return 1;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    X509 *issuer = NULL;
    int found = store != NULL && sc != NULL && X509_STORE_set_default_paths(store) == 1 &&
                X509_STORE_CTX_init(sc, store, leaf, NULL) == 1 && X509_STORE_CTX_get1_issuer(&issuer, sc, leaf) > 0;
    X509_free(issuer);
    X509_STORE_CTX_free(sc);
    X509_STORE_free(store);
    ERR_clear_error();
    return found;
}

/* 1 when ctx's certificate is past its notAfter */
static int certificate_expired(SSL_CTX *ctx)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    return x != NULL && X509_cmp_current_time(X509_get0_notAfter(x)) <= 0;
}

/*
 * What loads and matches its key and yet fails visitors, said at the start, by --check-config and at a reload: a
 * certificate out of its validity period (every client refuses it), and one without the intermediate that issued it
 * (certbot's cert.pem for fullchain.pem): browsers that fetch a missing intermediate themselves connect, curl, Firefox,
 * Android and most HTTP libraries refuse, so a test in one desktop browser passes.
 */
static void warn_about_certificate(SSL_CTX *ctx, size_t index, const gw_listen_conf_t *l)
{
    X509 *leaf = SSL_CTX_get0_certificate(ctx);
    char when[64], issuer[256];
    if (leaf == NULL)
        return;
    if (certificate_expired(ctx)) {
        asn1_time_text(X509_get0_notAfter(leaf), when, sizeof(when));
        gw_warn("listen[%zu].tls.cert: %s expired on %s: clients refuse the connection (renew it; SIGHUP loads the new one)",
                index, l->tls_cert, when);
    } else if (X509_cmp_current_time(X509_get0_notBefore(leaf)) >= 0) {
        asn1_time_text(X509_get0_notBefore(leaf), when, sizeof(when));
        gw_warn("listen[%zu].tls.cert: %s is not valid before %s: clients refuse the connection until then (is this host's "
                "clock right?)", index, l->tls_cert, when);
    }
    if (X509_check_issued(leaf, leaf) == X509_V_OK || issuer_found(ctx, leaf))
        return;
    X509_NAME_oneline(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
    gw_warn("listen[%zu].tls.cert: %s has no certificate of its issuer (%s), which is not a root this host trusts either: "
            "if it is an intermediate, clients that do not fetch it themselves (curl, Firefox, Android, HTTP libraries) refuse "
            "the connection; name the file with the whole chain, the server's certificate first (certbot: fullchain.pem, not "
            "cert.pem)", index, l->tls_cert, issuer);
}

/* a listener's certificate context, or (with_cert 0) its session context, which has no certificate of its own */
/* (index: the listener's place in listen[], for what warn_about_certificate says) */
static SSL_CTX *create_ssl_ctx(size_t index, const gw_listen_conf_t *l, int with_cert, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* AES-128-GCM first, as h2o and nginx negotiate by default: AES-256 costs more per byte for no practical gain */
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
    /* TLS 1.2: forward-secret AEAD suites only, in the same order (Mozilla's "intermediate" without DHE, which would need
     * DH parameters). OpenSSL's default list also agreed RSA key exchange (no forward secrecy) and CBC suites, which RFC
     * 9113 (9.2.2, Appendix A) bars from HTTP/2: a client offering h2 and only those got h2 over one, and one that checks
     * (nghttp2, browsers) fails such a connection with INADEQUATE_SECURITY. Clients without ECDHE and GCM or ChaCha20
     * (Windows XP, Java 6, OpenSSL 0.9.8) cannot connect. */
    SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (with_cert && SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1) {
        snprintf(err, errlen, "%s: cannot load certificate: %s", l->tls_cert, ERR_reason_error_string(ERR_get_error()));
        goto Error;
    }
    if (with_cert && (SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
        int at = key_certificate_position(l->tls_cert, l->tls_key);
        if (at > 1)
            snprintf(err, errlen, "%s: the key is certificate %d's in %s, not the first's: the server's own certificate comes "
                     "first, then the chain that issued it (certbot's fullchain.pem has that order)", l->tls_key, at, l->tls_cert);
        else
            snprintf(err, errlen, "%s: cannot load private key: %s", l->tls_key, ERR_reason_error_string(ERR_get_error()));
        goto Error;
    }
    if (with_cert)
        warn_about_certificate(ctx, index, l);
    h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    gw_tickets_setup(ctx); /* (every context opens with the one ring of ticket keys: sessions resume across a reload) */
    /* a session resumes on the listener (the certificate) it was made on only: the ticket keys are the process's, and
     * OpenSSL resumes a session only where its id context is the SSL's, named here after the listener's address */
    char canon[INET6_ADDRSTRLEN], id[INET6_ADDRSTRLEN + 8];
    unsigned char sid_ctx[SHA256_DIGEST_LENGTH]; /* (SSL_MAX_SID_CTX_LENGTH) */
    gw_listen_canon_host(l, canon, sizeof(canon));
    int id_len = snprintf(id, sizeof(id), "%s:%u", canon, l->port);
    SHA256((const unsigned char *)id, (size_t)id_len, sid_ctx);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx));
    return ctx;
Error:
    SSL_CTX_free(ctx);
    return NULL;
}

/* OpenSSL's first look at a ClientHello (and at a second one, after a HelloRetryRequest, when it has moved already),
 * on a worker: the SSL, made from the listener's session context, moves to the certificate's context in force */
static int on_client_hello(SSL *ssl, int *alert, void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    if (SSL_get_SSL_CTX(ssl) != session_ctxs[i])
        return SSL_CLIENT_HELLO_SUCCESS;
    if (SSL_set_SSL_CTX(ssl, gw_snap_load(ssl_ctxs + i)) == NULL) { /* (no memory for a copy of the certificate's) */
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* certbot and the like renew a certificate every 60 to 90 days and signal a reload: new connections get the new
 * certificate and key, open ones keep theirs, and sessions resume across it (tickets.h); one that does not load,
 * or does not match its key, leaves the one in force */
static void reload_tls(void *unused)
{
    const gw_config_t *c = &gw_rt.conf;
    char err[512];
    for (size_t i = 0; i != c->num_listen; ++i) {
        if (ssl_ctxs[i] == NULL)
            continue;
        SSL_CTX *fresh = create_ssl_ctx(i, c->listen + i, 1, err, sizeof(err));
        if (fresh == NULL) {
            gw_error("TLS certificate not reloaded (the one in force stays): %s", err);
            continue;
        }
        if (certificate_expired(fresh) && !certificate_expired(gw_snap_load(ssl_ctxs + i))) {
            /* (an old file put back, a renewal that copied the wrong one: every client would refuse the new one) */
            gw_error("TLS certificate not reloaded (the one in force stays): %s has expired, and the one in force has not",
                     c->listen[i].tls_cert);
            SSL_CTX_free(fresh);
            continue;
        }
        SSL_CTX *old = gw_snap_publish(ssl_ctxs + i, fresh);
        gw_qsbr_synchronize();
        SSL_CTX_free(old); /* (freed when the last connection that took it in on_client_hello is freed) */
        gw_info("TLS certificate %s reloaded", c->listen[i].tls_cert);
    }
}

int gw_make_parents(const char *path, mode_t mode)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = dir + 1; *p != '\0'; ++p) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

int gw_write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n != 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int gw_server_check_tls(size_t index, const gw_listen_conf_t *l, char *err, size_t errlen)
{
    SSL_CTX *ctx = create_ssl_ctx(index, l, 1, err, errlen);
    if (ctx == NULL)
        return -1;
    SSL_CTX_free(ctx);
    return 0;
}

/* --- worker threads ------------------------------------------------------------------------ */

static void on_socket_close(void *data)
{
    --gw_self->connections;
}

static void update_listener_state(gw_thread_t *t);

void gw_server_warn_now_and_then(uint64_t *warned_at, const char *fmt, ...)
{
    uint64_t now = h2o_now(gw_self->ctx.loop);
    char msg[512];
    va_list ap;

    if (*warned_at != 0 && now - *warned_at < 60000)
        return;
    *warned_at = now;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gw_warn("thread %zu: %s", gw_self->index, msg);
}

/* TLS or HTTP/1 (h2c upgrades from there): h2o takes the connection over */
static void start_protocol(gw_listener_t *l, h2o_socket_t *sock)
{
    /* (h2o 2.2.5 makes the SSL, from the session context, only when the ClientHello comes, maybe after a reload: the
     * certificate's context is taken then, on_client_hello) */
    h2o_accept(&l->accept_ctx, sock);
}

/* A connection on a proxy_protocol listener, until the load balancer's PROXY header has come. (h2o 2.2.5's own reading
 * of it takes version 1 only, believes it from anyone, and serves a connection without one as it came.) */
typedef struct st_proxy_wait_t {
    gw_listener_t *listener;
    h2o_socket_t *sock;
    h2o_timeout_entry_t timeout;
} proxy_wait_t;

static void proxy_wait_end(proxy_wait_t *w)
{
    h2o_timeout_unlink(&w->timeout);
    w->sock->data = NULL;
    free(w);
}

static void proxy_refuse(proxy_wait_t *w, const char *why)
{
    static __thread uint64_t warned_at;
    h2o_socket_t *sock = w->sock;
    char peer[NI_MAXHOST] = "?";
    struct sockaddr_storage ss;
    socklen_t len;

    /* a balancer's address in full; anyone else's (a visitor, maybe, round the balancer) as records keep it: its /24 or
     * /48 (DESIGN: addresses truncated before storage, and a log is stored) */
    if ((len = h2o_socket_getpeername(sock, (struct sockaddr *)&ss)) == 0 ||
        (gw_consent_trusted_peer((struct sockaddr *)&ss) ? h2o_socket_getnumerichost((struct sockaddr *)&ss, len, peer) == SIZE_MAX
                                                         : gw_addr_truncated((struct sockaddr *)&ss, peer, sizeof(peer)) != 0))
        strcpy(peer, "?");
    GW_COUNT(proxy_headers_refused);
    gw_server_warn_now_and_then(&warned_at, "connection from %s closed: %s (listen[].proxy_protocol)", peer, why);
    proxy_wait_end(w);
    h2o_socket_close(sock);
}

static void on_proxy_timeout(h2o_timeout_entry_t *entry)
{
    proxy_refuse(H2O_STRUCT_FROM_MEMBER(proxy_wait_t, timeout, entry), "no PROXY header in time");
}

static void on_proxy_header(h2o_socket_t *sock, const char *err)
{
    proxy_wait_t *w = sock->data;
    gw_listener_t *l = w->listener;
    struct sockaddr_storage client;
    socklen_t client_len;
    long n;

    if (err != NULL) { /* closed before it said anything: nothing to tell */
        proxy_wait_end(w);
        h2o_socket_close(sock);
        return;
    }
    if ((n = gw_proxy_header_parse(sock->input->bytes, sock->input->size, &client, &client_len)) == 0)
        return;
    if (n < 0) {
        proxy_refuse(w, "what came first is no PROXY header");
        return;
    }
    h2o_buffer_consume(&sock->input, (size_t)n);
    if (client_len != 0) /* (none: the load balancer's own connection, its health check) */
        h2o_socket_setpeername(sock, (struct sockaddr *)&client, client_len);
    proxy_wait_end(w);
    h2o_socket_read_stop(sock);
    start_protocol(l, sock); /* (what followed the header in its packet is in sock->input: h2o reads it from there) */
}

static void wait_for_proxy_header(gw_listener_t *l, h2o_socket_t *sock)
{
    proxy_wait_t *w = h2o_mem_alloc(sizeof(*w));
    struct sockaddr_storage peer;

    *w = (proxy_wait_t){l, sock, {0}};
    sock->data = w;
    if (h2o_socket_getpeername(sock, (struct sockaddr *)&peer) == 0 || !gw_consent_trusted_peer((struct sockaddr *)&peer)) {
        proxy_refuse(w, "not one of geoip.trusted_proxies, so its PROXY header would not be believed");
        return;
    }
    w->timeout.cb = on_proxy_timeout;
    h2o_timeout_link(gw_self->ctx.loop, &gw_self->ctx.handshake_timeout, &w->timeout);
    h2o_socket_read_start(sock, on_proxy_header);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    gw_listener_t *l = listener->data;
    gw_thread_t *t = gw_self;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    for (int n = 0; n != 16 && t->connections < t->max_connections; ++n) {
        if ((sock = h2o_evloop_socket_accept(listener)) == NULL) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                static __thread uint64_t warned_at;
                GW_COUNT(accept_rests); /* (the log says it once a minute per thread) */
                gw_server_warn_now_and_then(&warned_at,
                                            "cannot accept connections (%s) with %zu open: resting %d ms at a time; raise the "
                                            "file descriptor limit (ulimit -n, LimitNOFILE=) or lower proxy.max_connections",
                                            strerror(errno), t->connections, ACCEPT_REST_MS);
                t->accept_rest_until = h2o_now(t->ctx.loop) + ACCEPT_REST_MS;
                update_listener_state(t);
            }
            break;
        }
        ++t->connections;
        if (l->accept_ctx.hosts != gw_rt.admin_hosts) /* (the admin listener's are the operator's, not the site's) */
            GW_COUNT(connections_accepted);
        sock->on_close.cb = on_socket_close;
        sock->on_close.data = NULL;
        if (l->proxy_protocol)
            wait_for_proxy_header(l, sock);
        else
            start_protocol(l, sock);
    }
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void update_listener_state(gw_thread_t *t)
{
    /* h2o_now() is the wall clock: a rest that would still last longer than ACCEPT_REST_MS began before the clock was
     * stepped back, and is over (else it lasted the step: an hour's NTP step, an hour accepting nothing) */
    uint64_t now = h2o_now(t->ctx.loop);
    int resting = now < t->accept_rest_until && t->accept_rest_until - now <= ACCEPT_REST_MS;
    int accepting = t->connections < t->max_connections && !resting;
    for (size_t i = 0; i != t->num_listeners; ++i) {
        h2o_socket_t *s = t->listeners[i].sock;
        if (accepting && !h2o_socket_is_reading(s))
            h2o_socket_read_start(s, on_accept);
        else if (!accepting && h2o_socket_is_reading(s))
            h2o_socket_read_stop(s);
    }
}

static void on_wakeup(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        h2o_multithread_message_t *m = H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, messages->next);
        h2o_linklist_unlink(&m->link);
        free(m);
    }
}

static void *run_worker(void *arg)
{
    gw_thread_t *t = arg;
    char name[16];
    gw_self = t;
    snprintf(name, sizeof(name), "cg-worker-%zu", (size_t)(t - gw_rt.threads));
    pthread_setname_np(pthread_self(), name); /* for top -H, perf, gdb */
    gw_metrics = gw_metrics_threads + t->index;

    h2o_context_init(&t->ctx, h2o_evloop_create(), &gw_rt.h2o);
    h2o_multithread_register_receiver(t->ctx.queue, &t->wakeup, on_wakeup);
    for (size_t i = 0; i != num_thread_init_hooks; ++i)
        thread_init_hooks[i](&t->ctx, t->index);
    for (size_t i = 0; i != t->num_listeners; ++i) {
        gw_listener_t *l = t->listeners + i;
        l->accept_ctx.ctx = &t->ctx;
        l->sock = h2o_evloop_socket_create(t->ctx.loop, t->fds[i], H2O_SOCKET_FLAG_DONT_READ);
        l->sock->data = l;
    }
    gw_qsbr_quiescent(t->index);
    pthread_barrier_wait(&startup_barrier);

    while (!__atomic_load_n(&shutdown_requested, __ATOMIC_ACQUIRE)) {
        update_listener_state(t);
        h2o_evloop_run(t->ctx.loop, 100);
        gw_qsbr_quiescent(t->index);
    }

    /* drain: stop accepting, close the listeners, wind the protocols down */
    for (size_t i = 0; i != t->num_listeners; ++i)
        if (h2o_socket_is_reading(t->listeners[i].sock))
            h2o_socket_read_stop(t->listeners[i].sock);
    h2o_evloop_run(t->ctx.loop, 0);
    for (size_t i = 0; i != t->num_listeners; ++i) {
        h2o_socket_close(t->listeners[i].sock);
        t->listeners[i].sock = NULL;
    }
    h2o_context_request_shutdown(&t->ctx);
    /* (by the monotonic clock: h2o_now() is the wall clock, and a step back while draining stretched the deadline by the
     * step, past systemd's TimeoutStopSec) */
    uint64_t deadline = monotonic_ms() + DRAIN_TIMEOUT_MS;
    while (t->inflight != 0 && monotonic_ms() < deadline) {
        h2o_evloop_run(t->ctx.loop, 100);
        gw_qsbr_quiescent(t->index);
    }
    if (t->inflight != 0)
        gw_warn("thread %zu: drain deadline passed with %zu requests in flight", t->index, t->inflight);
    gw_qsbr_offline(t->index);
    /* Report "drained" and park: the process exits from the main thread while this thread (and so its
     * thread-local h2o memory pools and idle connections) is still alive. h2o's own server _exit()s here;
     * parking keeps LeakSanitizer's exit check meaningful for everything else. */
    sem_post(&drained);
    for (;;)
        pause();
    return NULL;
}

static void wake_all(void)
{
    for (size_t i = 0; i != gw_rt.num_threads; ++i) {
        h2o_multithread_message_t *m = gw_calloc(1, sizeof(*m));
        h2o_multithread_send_message(&gw_rt.threads[i].wakeup, m);
    }
}

/* --- main thread: signals ----------------------------------------------------------------- */

/* systemd's readiness protocol (sd_notify(3), without libsystemd: one datagram to $NOTIFY_SOCKET, a path or an abstract
 * name after '@'). With Type=notify, `systemctl start` returns once the listeners accept and the store is open, and
 * fails when the gateway refuses to start (a damaged store, a port in use) instead of reporting a service that then
 * dies; `systemctl reload` returns once the reload is done. Without the variable (not under systemd) it does nothing. */
static void notify_systemd(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len;
    int fd;

    if (path == NULL || (path[0] != '/' && path[0] != '@') || (len = strlen(path)) >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
        return;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        gw_warn("cannot tell systemd \"%.20s…\" on %s: %s", state, path, strerror(errno));
    close(fd);
}

static void reload(void)
{
    struct timespec now;
    char state[64];

    clock_gettime(CLOCK_MONOTONIC, &now); /* (systemd 253's Type=notify-reload wants the time the reload began) */
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000 + (unsigned long long)now.tv_nsec / 1000);
    notify_systemd(state);
    gw_info("SIGHUP: reloading");
    gw_log_reopen();
    for (size_t i = 0; i != num_reload_hooks; ++i)
        reload_hooks[i].cb(reload_hooks[i].data);
    gw_info("reload done (logs, keys, tokens, TLS certificates, GeoIP database, tracker lists; risk lists are rebuilt on the job thread and logged "
            "when in force; the configuration file is read at start only)");
    notify_systemd("READY=1");
}

/* 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104 or "localhost": the admin listener's tokens stay on this machine */
static int is_loopback(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return 0;
}

void gw_server_warn_admin_listener(void)
{
    const gw_config_t *c = &gw_rt.conf;
    if (c->admin.tokens_file != NULL && !is_loopback(c->admin.listen.host))
        gw_warn("admin listener on %s: other machines reach it over plain HTTP, and its bearer tokens cross the network in "
                "clear (keep it on 127.0.0.1 and reach it through ssh -L %u:127.0.0.1:%u, or behind a TLS proxy)",
                c->admin.listen.host, c->admin.listen.port, c->admin.listen.port);
}

int gw_server_run(void)
{
    gw_config_t *c = &gw_rt.conf;
    char err[512];
    sigset_t sigs;
    size_t i, j;

    /* every client connection takes a descriptor and a proxied one a second: the soft limit (often 1,024) goes up to
     * the hard one, as h2o's own server does, so proxy.max_connections can be reached */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        rlim_t was = nofile.rlim_cur;
        nofile.rlim_cur = nofile.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &nofile) == 0)
            gw_info("file descriptor limit raised from %llu to %llu", (unsigned long long)was, (unsigned long long)nofile.rlim_cur);
    }
    gw_rt.num_threads = c->threads;
    gw_rt.threads = gw_calloc(gw_rt.num_threads, sizeof(gw_thread_t));
    if (gw_metrics_init(gw_rt.num_threads) != 0) {
        gw_error("too many threads: %zu", gw_rt.num_threads);
        return 1;
    }

    int tickets = 0;
    for (i = 0; i != c->num_listen; ++i) {
        if (c->listen[i].tls_cert != NULL && !tickets++ && gw_tickets_init() != 0)
            return 1;
        if (c->listen[i].tls_cert == NULL)
            continue;
        if ((ssl_ctxs[i] = create_ssl_ctx(i, c->listen + i, 1, err, sizeof(err))) == NULL ||
            (session_ctxs[i] = create_ssl_ctx(i, c->listen + i, 0, err, sizeof(err))) == NULL) {
            gw_error("%s", err);
            return 1;
        }
        SSL_CTX_set_client_hello_cb(session_ctxs[i], on_client_hello, (void *)(uintptr_t)i);
    }
    gw_server_on_reload(reload_tls, NULL);
    for (i = 0; i != c->num_listen; ++i) { /* (an entry given twice is the config loader's error) */
        if (probe_listen(c->listen + i, err, sizeof(err)) != 0) {
            gw_error("%s", err);
            return 1;
        }
    }
    for (j = 0; j != gw_rt.num_threads; ++j) {
        gw_thread_t *t = gw_rt.threads + j;
        t->index = j;
        t->max_connections = c->proxy.max_connections / gw_rt.num_threads + 1;
        for (i = 0; i != c->num_listen; ++i) {
            if ((t->fds[i] = open_listener(c->listen + i, 1, err, sizeof(err))) == -1) {
                gw_error("%s", err);
                return 1;
            }
            t->listeners[i].accept_ctx.hosts = gw_rt.hosts;
            t->listeners[i].accept_ctx.ssl_ctx = session_ctxs[i];
            t->listeners[i].proxy_protocol = c->listen[i].proxy_protocol;
        }
        t->num_listeners = c->num_listen;
    }
    if (c->admin.tokens_file != NULL) {
        gw_thread_t *t = gw_rt.threads;
        if ((t->fds[t->num_listeners] = open_listener(&c->admin.listen, 0, err, sizeof(err))) == -1) {
            gw_error("admin: %s", err);
            return 1;
        }
        t->listeners[t->num_listeners].accept_ctx.hosts = gw_rt.admin_hosts;
        ++t->num_listeners;
    }

    /* the workers never see signals; the main thread takes them synchronously (main.c blocked them before any thread
     * was made; blocked here again for a caller that did not) */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    pthread_barrier_init(&startup_barrier, NULL, (unsigned)gw_rt.num_threads + 1);
    sem_init(&drained, 0, 0);
    for (j = 0; j != gw_rt.num_threads; ++j) {
        /* a worker that cannot be made (the tasks a user or a cgroup may have are spent) would leave the others and this
         * thread at the barrier for good: the start ends here instead (the workers made so far wait there until exit) */
        int rc = pthread_create(&gw_rt.threads[j].tid, NULL, run_worker, gw_rt.threads + j);
        if (rc != 0) {
            gw_error("cannot start worker thread %zu of %zu: %s (lower `threads`, or raise the limit on tasks: systemd's "
                     "TasksMax=, ulimit -u, a container's pids limit)", j + 1, gw_rt.num_threads, strerror(rc));
            return 1;
        }
    }
    pthread_barrier_wait(&startup_barrier);

    for (i = 0; i != c->num_listen; ++i)
        gw_info("listening on %s://%s:%u/", c->listen[i].tls_cert != NULL ? "https" : "http",
                c->listen[i].host != NULL ? c->listen[i].host : "0.0.0.0", c->listen[i].port);
    if (c->admin.tokens_file != NULL) {
        gw_info("admin listener on http://%s:%u/admin/", c->admin.listen.host, c->admin.listen.port);
        gw_server_warn_admin_listener();
    }
    gw_info("consentgate %s: %zu worker threads, upstream %s", CG_VERSION, gw_rt.num_threads, c->upstream);
    notify_systemd("READY=1");

    uint64_t last_total = 0;
    unsigned idle_s = 0;
    for (;;) {
        /* while waiting for signals, hand freed heap back to the kernel now and then: with the trim
         * threshold raised (main.c) glibc no longer does it on every free; and rotate the TLS ticket keys when due */
        unsigned wait_s = 10, until_rotation;
        if (tickets && (until_rotation = gw_tickets_tick()) < wait_s)
            wait_s = until_rotation;
        struct timespec idle = {wait_s, 0};
        int sig = sigtimedwait(&sigs, NULL, &idle);
        if (sig < 0) {
            if ((idle_s += wait_s) < 10)
                continue;
            idle_s = 0;
            uint64_t now_total = gw_metrics_total_requests();
            if (now_total == last_total) /* no request for 10 s: trim */
                malloc_trim(0);
            last_total = now_total;
            continue;
        }
        if (sig == SIGHUP) {
            reload();
            continue;
        }
        break;
    }
    notify_systemd("STOPPING=1");
    gw_info("shutting down: draining in-flight requests");
    __atomic_store_n(&shutdown_requested, 1, __ATOMIC_RELEASE);
    wake_all();
    for (j = 0; j != gw_rt.num_threads; ++j)
        while (sem_wait(&drained) != 0)
            ;
    for (i = 0; i != num_shutdown_hooks; ++i)
        shutdown_hooks[i]();
    gw_info("stopped");
    return 0;
}
