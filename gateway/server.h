/*
 * server — the process: listeners, worker threads (one h2o event loop each), TLS,
 * signal handling (SIGHUP reload, SIGTERM drain) and the reload hook registry.
 *
 * Threads: N workers accept on their own SO_REUSEPORT socket of every `listen` entry;
 * worker 0 also serves the admin listener. The main thread only waits for signals and
 * runs reloads, so a reload never stalls a request.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <h2o.h>
#include <sys/types.h>
#include "config.h"

typedef struct st_gw_thread_t gw_thread_t;

typedef struct st_gw_runtime_t {
    gw_config_t conf;
    h2o_globalconf_t h2o;
    h2o_hostconf_t *hosts[2];       /* public listeners: { default host, NULL } */
    h2o_hostconf_t *admin_hosts[2]; /* admin listener: { admin host, NULL } */
    char *exe_dir;                  /* folder of the running executable */
    char *static_dir;               /* static/ (consent UI, pages) */
    char *conf_dir_shipped;         /* conf/ next to the executable (shipped cookie database etc.) */
    h2o_access_log_filehandle_t *access_log;
    gw_thread_t *threads;
    size_t num_threads;
} gw_runtime_t;

extern gw_runtime_t gw_rt;

/* the worker thread running the caller (NULL on the main thread) */
extern __thread gw_thread_t *gw_self;

/* index of the worker thread running the caller (0 on the main thread) */
size_t gw_thread_index(void);

/*
 * Marks a request as in flight until its pool is released (the drain waits for these), and answers 431 to one whose
 * header fields are more or larger than an HTTP/1 request may have (gw_server_headers_oversized). Returns 0, or -1
 * when it answered: the handler then returns 0. Every handler starts here.
 */
int gw_server_track_request(h2o_req_t *req);

/*
 * 1 when the request has more than H2O_MAX_HEADERS header fields or more than H2O_MAX_REQLEN bytes of them (as
 * "name: value\r\n" lines), h2o's own limits for an HTTP/1 request; else 0. Over HTTP/2 nothing bounds them but the
 * header block's size, and HPACK names an indexed field in one byte: a 400 KB block is 400,000 fields of up to 4 KB
 * each (1.6 GB), which every loop over the request's headers, h2o's proxy included, would read. O(fields).
 */
int gw_server_headers_oversized(h2o_req_t *req);

/* Registers a function run by every worker thread after its h2o context is ready (before serving). */
typedef void (*gw_thread_init_cb)(h2o_context_t *ctx, size_t thread_index);
void gw_server_on_thread_init(gw_thread_init_cb cb);

/* Registers a function run once on the main thread after every worker has drained (before exit). */
typedef void (*gw_shutdown_cb)(void);
void gw_server_on_shutdown(gw_shutdown_cb cb);

/* Registers a function run on SIGHUP (in the main thread, never on a worker). */
typedef void (*gw_reload_cb)(void *data);
void gw_server_on_reload(gw_reload_cb cb, void *data);

/* Finds a shipped resource ("static", "conf/cookies.json") next to the executable: exe_dir/.., exe_dir/../.. (the
 * source tree), exe_dir/../share/consentgate (make install). Returns a malloc'ed path or NULL. */
char *gw_server_find_shipped(const char *relpath);

/* mkdir -p of path's folder (not of path itself), new folders made with mode; 0, or -1 with errno. */
int gw_make_parents(const char *path, mode_t mode);

/* write(2) until all n bytes are written (a short write, then the error that cut it short); 0, or -1 with errno. */
int gw_write_all(int fd, const void *p, size_t n);

/* Warns about an admin listener other machines reach (plain HTTP), at the start and for --check-config. */
void gw_server_warn_admin_listener(void);

/* A warning once a minute at most per worker thread (*warned_at: the call site's, __thread), prefixed with the thread:
 * what a client, a load balancer or a proxy in front did wrong can come on every connection. On a worker only. */
void gw_server_warn_now_and_then(uint64_t *warned_at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads listen[index]'s certificate and key as the start does (and checks they match; warns, as the start does, about a
 * certificate out of its validity period or without its issuer); 0, or -1 with the reason. */
int gw_server_check_tls(size_t index, const gw_listen_conf_t *l, char *err, size_t errlen);

/* Opens listeners, starts the workers and blocks until SIGTERM/SIGINT has drained them. Returns the exit status. */
int gw_server_run(void);

#endif
