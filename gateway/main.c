/*
 * consentgate — an edge HTTP server on h2o that enforces a privacy policy's promises
 * (cookie acceptance levels, web beacons, consent records, risk-site lists) on every
 * request to the website behind it. This file is the command line and the assembly of
 * the h2o configuration; see server.c for threads and signals, front.c for the request
 * path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <malloc.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <h2o.h>
#include <jansson.h>
#include "admin.h"
#include "beacons.h"
#include "channel.h"
#include "jobs.h"
#include "config.h"
#include "consent.h"
#include "consent_api.h"
#include "geo.h"
#include "inventory.h"
#include "mem.h"
#include "records.h"
#include "reports.h"
#include "secrets.h"
#include "rewrite.h"
#include "store.h"
#include "trackers.h"
#include "ui.h"
#include "uifiles.h"
#include "upstream_head.h"
#include "edge.h"
#include "front.h"
#include "log.h"
#include "metrics.h"
#include "qsbr.h"
#include "server.h"

#define DEFAULT_CONFIG "conf/consentgate.json" /* (relative to the working directory) */

static void usage(FILE *fp)
{
    fprintf(fp, "usage: consentgate [-c FILE] [--check-config | --verify-records] [--version] [--help]\n"
                "\n"
                "  -c, --config FILE     configuration file (default: " DEFAULT_CONFIG ", from the working directory)\n"
                "  -t, --check-config    validate the configuration and exit (0: valid, 1: invalid)\n"
                "      --verify-records  walk the consent records' hash chain and report the first broken link\n"
                "                        (exit 0: intact, 1: broken, 2: unreadable)\n"
                "  -v, --version         print the version and exit\n"
                "  -h, --help            print this help and exit\n"
                "\n"
                "A usage error exits 2. Signals: SIGHUP reloads lists, keys, admin tokens, TLS certificates and the GeoIP database and\n"
                "reopens the logs (not the configuration file); SIGTERM drains in-flight requests and exits 0.\n");
}

/* The access log keeps what operating the site needs, not who the visitor is (DESIGN: addresses are truncated and user
 * agents not stored raw): no client address, no user agent, no query string, no Referer. log.access_format replaces
 * it (h2o's format: %h, %{User-agent}i, … bring them back, for an operator who decides so). */
#define ACCESS_FORMAT_DEFAULT "%t \"%m %U %H\" %s %b %{duration}x"

static const char *access_format(const gw_config_t *c)
{
    return c->log.access_format != NULL ? c->log.access_format : ACCESS_FORMAT_DEFAULT;
}

/* every ui.strings override names a string the UI has (static/i18n/en.json): a typo ("banner.titel") would be
 * silently unused. For --check-config, which loads no UI (at start gw_ui_register checks the same). 0, or -1 with the
 * reason in err. */
static int check_ui_overrides(const char *static_dir, char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    if (c->ui.num_strings == 0)
        return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/i18n/en.json", static_dir);
    json_error_t jerr;
    json_t *en = json_load_file(path, 0, &jerr);
    int rc = 0;
    for (size_t i = 0; rc == 0 && en != NULL && i != c->ui.num_strings; ++i) {
        if (json_object_get(en, c->ui.strings[i].key) == NULL && !gw_ui_is_category_key(c->ui.strings[i].key)) {
            snprintf(err, errlen, "ui.strings.%.15s.%.63s: not a string of the UI (the keys are those of %.600s, and category.<name>.title "
                     "and .desc for a category of the config's own)",
                     c->ui.strings[i].lang, c->ui.strings[i].key, path);
            rc = -1;
        }
    }
    if (en == NULL) {
        snprintf(err, errlen, "%.600s: %.200s", path, jerr.text);
        rc = -1;
    }
    json_decref(en);
    return rc;
}

/* the nearest folder of path that exists, into dir */
static void existing_folder(const char *path, char *dir, size_t len)
{
    snprintf(dir, len, "%s", path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == NULL) {
            snprintf(dir, len, ".");
            return;
        }
        slash[slash == dir] = '\0'; /* ("/x": "/") */
        if (slash == dir || access(dir, F_OK) == 0)
            return;
    }
}

/* A file the start writes, made with its folders when missing (the consent store: its folder too, for SQLite's -wal and
 * -shm): this user may, or err says why. Found without making anything. */
static int check_writable(const char *key, const char *path, int needs_folder, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (access(path, F_OK) == 0 && access(path, W_OK) != 0) {
        snprintf(err, errlen, "%s: %.800s: %s (the gateway runs as uid %u)", key, path, strerror(errno), (unsigned)geteuid());
        return -1;
    }
    if (!needs_folder && access(path, F_OK) == 0)
        return 0;
    existing_folder(path, dir, sizeof(dir)); /* (the start makes the others in it) */
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    snprintf(err, errlen, "%s: %.400s: cannot write in %.400s: %s (the gateway runs as uid %u: chown the folder to that user)", key,
             path, dir, strerror(errno), (unsigned)geteuid());
    return -1;
}

/* 1 when path is folder or in it */
static int is_under(const char *path, const char *folder)
{
    size_t n = strlen(folder);
    return strncmp(path, folder, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/*
 * What the gateway keeps across restarts — consent records (the proof of consent), the token keys (every visitor's
 * choice), the audit log — kept on memory (tmpfs, ramfs: /dev/shm, /run, often /tmp) is gone at a reboot; and under
 * systemd, whose unit (conf/consentgate.service) gives the service a /tmp and /var/tmp of its own (PrivateTmp=), it is
 * gone at every stop. Both started and worked, until the restart.
 */
static void warn_volatile_state(void)
{
    static const long memory_fs[] = {0x01021994 /* TMPFS_MAGIC */, 0x858458f6 /* RAMFS_MAGIC */};
    const gw_config_t *c = &gw_rt.conf;
    const struct {
        const char *key, *path;
    } files[] = {{"store.sqlite", c->store.sqlite}, {"secrets_file", c->secrets_file}, {"channel.audit_log", c->channel.audit_log}};
    for (size_t i = 0; i != sizeof(files) / sizeof(files[0]); ++i) {
        char dir[PATH_MAX], real[PATH_MAX];
        struct statfs fs;
        existing_folder(files[i].path, dir, sizeof(dir));
        int on_memory = 0;
        if (statfs(dir, &fs) == 0)
            for (size_t k = 0; k != sizeof(memory_fs) / sizeof(memory_fs[0]); ++k)
                on_memory |= (long)fs.f_type == memory_fs[k];
        if (on_memory) {
            gw_warn("%s: %s is on a file system in memory (%s): it is lost at a reboot", files[i].key, files[i].path, dir);
        } else if (getenv("INVOCATION_ID") != NULL && realpath(dir, real) != NULL &&
                   (is_under(real, "/tmp") || is_under(real, "/var/tmp"))) {
            gw_warn("%s: %s is in a temporary folder that systemd gives the service for its run (PrivateTmp=): it is lost "
                    "at every stop", files[i].key, files[i].path);
        }
    }
}

/* the files a start writes (the consent store, a secrets file it creates, the logs, the audit log) and the risk lists it
 * reads when they exist (one that does not starts empty) */
static int check_state_files(char *err, size_t errlen)
{
    const gw_config_t *c = &gw_rt.conf;
    for (size_t i = 0; i != c->risk.num_lists; ++i) {
        const char *file = c->risk.lists[i].file;
        if (access(file, F_OK) != 0) {
            gw_channel_warn_missing_list(i);
        } else if (access(file, R_OK) != 0) {
            snprintf(err, errlen, "risk.lists[%zu].file: %.800s: %s (the gateway runs as uid %u)", i, file, strerror(errno),
                     (unsigned)geteuid());
            return -1;
        }
    }
    return check_writable("store.sqlite", c->store.sqlite, 1, err, errlen) != 0 ||
                   (access(c->secrets_file, F_OK) != 0 && check_writable("secrets_file", c->secrets_file, 0, err, errlen) != 0) ||
                   (c->log.access != NULL && check_writable("log.access", c->log.access, 0, err, errlen) != 0) ||
                   (c->log.error != NULL && check_writable("log.error", c->log.error, 0, err, errlen) != 0) ||
                   ((c->admin.tokens_file != NULL || c->risk.num_lists != 0) &&
                    check_writable("channel.audit_log", c->channel.audit_log, 0, err, errlen) != 0)
               ? -1
               : 0;
}

/*
 * --check-config goes as far as a start goes without side effects: beyond the file itself, TLS certificates and keys
 * load and match, the GeoIP database opens, an existing secrets file and the admin tokens file read, the files the start
 * writes can be written, the access log's format compiles, ui.strings names strings of the UI, static/ is found. Returns 0, or 1 with the reason on stderr.
 */
static int check_resources(const char *config_path)
{
    const gw_config_t *c = &gw_rt.conf;
    char err[1024];
    for (size_t i = 0; i != c->num_listen; ++i)
        if (c->listen[i].tls_cert != NULL && gw_server_check_tls(i, c->listen + i, err, sizeof(err)) != 0)
            goto Fail;
    if (gw_consent_check_cookies(err, sizeof(err)) != 0)
        goto Fail;
    if (c->geoip.database != NULL) {
        gw_geo_t *g = gw_consent_open_geo(err, sizeof(err));
        if (g == NULL)
            goto Fail;
        gw_geo_close(g);
    }
    if (access(c->secrets_file, F_OK) == 0) { /* (a missing one is created at start, unless the store has records) */
        gw_secrets_t s;
        int rc = gw_secrets_reload(c->secrets_file, &s, err, sizeof(err));
        gw_secrets_clear(&s);
        if (rc != 0)
            goto Fail;
    } else if (gw_store_has_history(c->store.sqlite)) {
        snprintf(err, sizeof(err), "secrets_file: %.400s does not exist, but the consent store %.400s holds records: restore the "
                                   "secrets file that goes with it (README, Upgrades)", c->secrets_file, c->store.sqlite);
        goto Fail;
    }
    if (c->admin.tokens_file != NULL && gw_admin_load_tokens(c->admin.tokens_file, err, sizeof(err)) != 0)
        goto Fail;
    if (check_state_files(err, sizeof(err)) != 0)
        goto Fail;
    if (c->log.access != NULL) {
        h2o_logconf_t *lc = h2o_logconf_compile(access_format(c), H2O_LOGCONF_ESCAPE_APACHE, err);
        if (lc == NULL) {
            memmove(err + 19, err, strlen(err) + 1 < sizeof(err) - 19 ? strlen(err) + 1 : sizeof(err) - 19);
            memcpy(err, "log.access_format: ", 19);
            goto Fail;
        }
        h2o_logconf_dispose(lc);
    }
    char *st = gw_server_find_shipped("static");
    if (st == NULL) {
        snprintf(err, sizeof(err), "cannot find the static/ folder one or two folders up from %s, or in ../share/consentgate "
                                    "(make install)", gw_rt.exe_dir);
        goto Fail;
    }
    int ui = check_ui_overrides(st, err, sizeof(err));
    if (ui == 0 && gw_ui_check(st) != 0) { /* (the start's warnings about the UI's words; its errors are check_ui_overrides') */
        snprintf(err, sizeof(err), "the consent UI's strings in %.900s/i18n do not load", st);
        ui = -1;
    }
    free(st);
    if (ui != 0)
        goto Fail;
    gw_consent_warn_regimes();
    gw_server_warn_admin_listener();
    gw_config_warn(c);
    warn_volatile_state();
    return 0;
Fail:
    fprintf(stderr, "%s: %s\n", config_path, err);
    return 1;
}

/* --- metrics logger: every answered request, on every path ------------------------------ */

/*
 * The access log is reopened on SIGHUP (after logrotate has moved it away). h2o 2.2.5 keeps its descriptor inside an
 * opaque handle, so the descriptor is found once at start (the one other descriptor open on the same file as ours) and
 * a new file is dup3()ed over it: a worker writing at that moment writes to the old file or the new, never to a closed
 * descriptor.
 */
static int access_log_fd = -1;

static int fd_of_same_file(int ours)
{
    struct stat want, st;
    DIR *d;
    struct dirent *e;
    int found = -1;
    if (fstat(ours, &want) != 0 || (d = opendir("/proc/self/fd")) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || end == e->d_name || fd == ours || fd == dirfd(d))
            continue;
        if (fstat((int)fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
            found = found == -1 ? (int)fd : -2; /* two others: cannot tell which is h2o's */
        }
    }
    closedir(d);
    return found >= 0 ? found : -1;
}

static void reopen_access_log(void *unused)
{
    (void)unused;
    const char *path = gw_rt.conf.log.access;
    int fd;
    if (access_log_fd == -1) {
        gw_warn("SIGHUP: the access log %s cannot be reopened (its descriptor was not found at start)", path);
        return;
    }
    if (gw_make_parents(path, 0750) != 0 || (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)) == -1) {
        gw_error("SIGHUP: cannot reopen the access log %s: %s (still writing to the old file)", path, strerror(errno));
        return;
    }
    if (dup3(fd, access_log_fd, O_CLOEXEC) == -1)
        gw_error("SIGHUP: cannot reopen the access log %s: %s", path, strerror(errno));
    close(fd);
}

static void log_access(h2o_logger_t *self, h2o_req_t *req)
{
    const struct timeval *end = &req->timestamps.response_end_at, *begin = &req->timestamps.request_begin_at;
    struct timeval now;
    int64_t us = 0;
    /* an answer not sent to its end (the client went away mid-body, its stream reset) has no end time: it lasted until
     * now, when it is disposed (it was counted as taking 0 s: the slowest answers in the fastest bucket) */
    if (end->tv_sec == 0 && gettimeofday(&now, NULL) == 0)
        end = &now;
    if (end->tv_sec != 0 && begin->tv_sec != 0)
        us = (int64_t)(end->tv_sec - begin->tv_sec) * 1000000 + (end->tv_usec - begin->tv_usec);
    gw_metrics_request(req->res.status, us > 0 ? (uint64_t)us : 0);
}

static void add_metrics_logger(h2o_pathconf_t *pc)
{
    h2o_create_logger(pc, sizeof(h2o_logger_t))->log_access = log_access;
}

/* the admin listener's requests are counted apart: a scrape every few seconds, a records export that streams for
 * minutes or a monitor sending a stale token are not the site's traffic, its latency or its 4xx */
static void log_admin_access(h2o_logger_t *self, h2o_req_t *req)
{
    gw_metrics_admin_request(req->res.status);
}

static void add_admin_metrics_logger(h2o_pathconf_t *pc)
{
    h2o_create_logger(pc, sizeof(h2o_logger_t))->log_access = log_admin_access;
}

static int setup_hosts(void)
{
    h2o_globalconf_t *g = &gw_rt.h2o;
    gw_config_t *c = &gw_rt.conf;
    h2o_pathconf_t *pc;

    h2o_config_init(g);
    g->server_name = h2o_iovec_init(H2O_STRLIT("consentgate"));
    g->max_request_entity_size = c->proxy.max_request_body;
    g->proxy.io_timeout = c->proxy.io_timeout_ms;

    if (c->log.access != NULL) {
        /* its folder made, and the file made 0640 before h2o opens it for appending (h2o would make it 0644) */
        int fd = gw_make_parents(c->log.access, 0750) == 0 ? open(c->log.access, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640) : -1;
        if (fd == -1 || (gw_rt.access_log = h2o_access_log_open_handle(c->log.access, access_format(c), H2O_LOGCONF_ESCAPE_APACHE)) ==
                            NULL) {
            gw_error("cannot open the access log %s%s%s", c->log.access, fd == -1 ? ": " : "", fd == -1 ? strerror(errno) : "");
            if (fd != -1)
                close(fd);
            return -1;
        }
        access_log_fd = fd_of_same_file(fd);
        close(fd);
        gw_server_on_reload(reopen_access_log, NULL);
    }

    /* public host: the specific paths first, the catch-all "/" last (the first matching prefix wins) */
    gw_rt.hosts[0] = h2o_config_register_host(g, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    /* no HTTP/2 server push: h2o would push what an origin's Link: rel=preload names, as a request of its own without the
     * visitor's cookies (a page pushed as rewritten for an undecided visitor, its Set-Cookie replacing the session) */
    gw_rt.hosts[0]->http2.push_preload = 0;
    if ((gw_rt.static_dir = gw_server_find_shipped("static")) == NULL) {
        gw_error("cannot find the static/ folder one or two folders up from %s, or in ../share/consentgate (make install)",
                 gw_rt.exe_dir);
        return -1;
    }
    if (gw_upstream_head_init() != 0) {
        gw_error("cannot find libh2o's HTTP response parser (phr_parse_response) to check the origin's response heads with");
        return -1;
    }
    /* the snapshot readers are known before the first thread that may publish a snapshot is made: the watch thread posts
     * a list rebuild to the job thread (gw_qsbr_synchronize) as soon as a list file changes, start-up or not */
    gw_qsbr_init(c->threads);
    if (gw_jobs_init(c->threads) != 0 || gw_consent_init() != 0 || gw_beacons_init() != 0 || gw_trackers_init() != 0 ||
        gw_rewrite_init() != 0 || gw_channel_init() != 0 || gw_inventory_init(c->threads) != 0)
        return -1;
    if (gw_uifiles_load(gw_rt.static_dir) != 0)
        return -1;
    gw_records_init();
    const gw_secrets_t *secrets = gw_consent_secrets();
    gw_store_set_seal_keys(secrets->seal_keys, secrets->num_keys, secrets->primary, secrets->created);
    char err[1024];
    gw_store_set_report_limits(c->channel.report_retention_days, c->channel.reports_max);
    if (gw_store_open(c->store.sqlite, c->store.retention_days, c->store.commit_delay_ms, c->store.queue_max, err, sizeof(err)) !=
        0) {
        gw_error("consent store: %s", err);
        /* a secrets file this start made has signed nothing yet: gone with the start, the next one (the right file
         * restored, or not) finds what this one found */
        if (secrets->created && unlink(c->secrets_file) == 0)
            gw_info("removed %s, made by this start", c->secrets_file);
        return -1;
    }
    gw_server_on_shutdown(gw_store_close);
    /* the paths the gateway answers itself expire the refused cookies a request carries, as proxied answers do; every
     * public path's answers get HSTS and the send timeout (edge.c) */
    gw_edge_init();
    gw_consent_api_register(gw_rt.hosts[0]);
    add_metrics_logger(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_consent_register_served(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_edge_register(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_reports_register(gw_rt.hosts[0]);
    add_metrics_logger(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_consent_register_served(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_edge_register(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);

    pc = h2o_config_register_path(gw_rt.hosts[0], "/__consent", 0);
    for (size_t i = 0; i != c->ui.num_strings; ++i)
        if (gw_ui_override(c->ui.strings[i].lang, c->ui.strings[i].key, c->ui.strings[i].value) != 0) {
            gw_error("ui.strings.%s.%s: not a usable override", c->ui.strings[i].lang, c->ui.strings[i].key);
            return -1;
        }
    if (gw_ui_register(pc) != 0)
        return -1;
    gw_uifiles_register(pc); /* from memory: the files a record's hash names (uifiles.h) */
    /* the UI's files are asked for again on each use (304 while unchanged): every consent record names the UI served (its
     * hash, records.c), and a browser that kept banner.js by heuristic freshness (a Last-Modified and no Cache-Control: a
     * tenth of the file's age) ran the old one after an upgrade; the answers that say otherwise (pages) keep theirs */
    static h2o_headers_command_t revalidate[] = {
        {H2O_HEADERS_CMD_SETIFEMPTY, (h2o_iovec_t *)&H2O_TOKEN_CACHE_CONTROL->buf, {H2O_STRLIT("no-cache")}}, {H2O_HEADERS_CMD_NULL}};
    add_metrics_logger(pc);
    gw_consent_register_served(pc);
    h2o_headers_register(pc, revalidate); /* (h2o runs the filters last registered first: before the served answers') */
    gw_edge_register(pc);
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(pc, gw_rt.access_log);

    gw_channel_register_go(gw_rt.hosts[0]);
    add_metrics_logger(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_consent_register_served(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_edge_register(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);

    if (gw_front_register(gw_rt.hosts[0]) != 0)
        return -1;
    add_metrics_logger(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1);
    gw_edge_register(gw_rt.hosts[0]->paths.entries + gw_rt.hosts[0]->paths.size - 1); /* (after the compressor: runs before it) */
    /* requests h2o rejects before routing (413, 400) are answered on the fallback path: count and log them too (an
     * operator looking for the 413s the metrics count found none in the access log) */
    add_metrics_logger(&gw_rt.hosts[0]->fallback_path);
    gw_edge_register(&gw_rt.hosts[0]->fallback_path);
    gw_front_register_fallback(&gw_rt.hosts[0]->fallback_path); /* (after the edge filter: runs before it) */
    if (gw_rt.access_log != NULL)
        h2o_access_log_register(&gw_rt.hosts[0]->fallback_path, gw_rt.access_log);

    if (c->admin.tokens_file != NULL) {
        if (gw_admin_load_tokens(c->admin.tokens_file, err, sizeof(err)) != 0) {
            gw_error("%s", err);
            return -1;
        }
        gw_rt.admin_hosts[0] = h2o_config_register_host(g, h2o_iovec_init(H2O_STRLIT("admin")), 65535);
        if (gw_admin_register(gw_rt.admin_hosts[0]) != 0)
            return -1;
        gw_inventory_register_admin();
        gw_records_register_admin();
        gw_trackers_register_admin();
        gw_channel_register_admin();
        gw_reports_register_admin();
        add_admin_metrics_logger(gw_rt.admin_hosts[0]->paths.entries + gw_rt.admin_hosts[0]->paths.size - 1);
        add_admin_metrics_logger(&gw_rt.admin_hosts[0]->fallback_path);
        if (gw_rt.access_log != NULL)
            h2o_access_log_register(&gw_rt.admin_hosts[0]->fallback_path, gw_rt.access_log);
    }
    return 0;
}

static char *exe_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return gw_strdup(".");
    buf[n] = '\0';
    return gw_strdup(dirname(buf));
}

/* SIGHUP re-reads lists, keys, tokens, TLS certificates and the GeoIP database, not the configuration (its listeners, threads and store are
 * the process's for its life): an edited file is said to need a restart, and whether that restart would start */
static void warn_config_changed(void *unused)
{
    gw_config_t fresh;
    char err[1024];
    int rc = gw_config_load(&fresh, gw_rt.conf.path, err, sizeof(err));
    if (memcmp(fresh.digest, gw_rt.conf.digest, sizeof(fresh.digest)) != 0) {
        if (rc == 0)
            gw_warn("SIGHUP: %s has changed since the start, and a reload does not apply it: restart the gateway to", gw_rt.conf.path);
        else
            gw_error("SIGHUP: %s has changed since the start, and a restart would fail: %s", gw_rt.conf.path, err);
    }
    gw_config_free(&fresh);
}

/* from a working directory without it (an installed binary's), say what to give */
static void no_default_config(void)
{
    char cwd[PATH_MAX], *example = gw_server_find_shipped(DEFAULT_CONFIG);
    fprintf(stderr, "consentgate: no -c FILE given, and %s is relative to the working directory (%s): give -c FILE%s%s%s\n",
            DEFAULT_CONFIG, getcwd(cwd, sizeof(cwd)) != NULL ? cwd : "?", example != NULL ? " (an example: " : "",
            example != NULL ? example : "", example != NULL ? ")" : "");
    free(example);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"check-config", no_argument, NULL, 't'},
                                             {"verify-records", no_argument, NULL, 'r'},
                                             {"version", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *config_path = NULL;
    int check_only = 0, verify_records = 0, ch;
    char err[1024];

    while ((ch = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 't':
            check_only = 1;
            break;
        case 'r':
            verify_records = 1;
            break;
        case 'v':
            printf("consentgate %s (h2o %s)\n", CG_VERSION, H2O_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default: /* (2, not 1: --verify-records says "broken" with 1, and a typo must not read as tampering) */
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "consentgate: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (check_only && verify_records) { /* one mode per run: the usage line offers either, and one would go unrun */
        fprintf(stderr, "consentgate: --check-config and --verify-records are two runs\n");
        usage(stderr);
        return 2;
    }

    signal(SIGPIPE, SIG_IGN);
    /* libh2o allocates and frees a response's buffers around every proxied response; with glibc's
     * defaults that shrinks and regrows the heap (brk) and mmaps big buffers each time, which costs
     * several times the proxying itself. Keep freed memory for reuse (the main thread trims it back
     * periodically when idle, see server.c). */
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    gw_rt.exe_dir = exe_dir();
    if (gw_config_load(&gw_rt.conf, config_path != NULL ? config_path : DEFAULT_CONFIG, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        if (config_path == NULL && access(DEFAULT_CONFIG, F_OK) != 0)
            no_default_config();
        return verify_records ? 2 : 1; /* for --verify-records 1 says "broken": a bad config left the store unread */
    }
    if (config_path == NULL)
        config_path = DEFAULT_CONFIG;
    if (verify_records) {
        /* the seal is checked with the secrets file's keys; a missing file is not created here */
        static gw_secrets_t secrets;
        int have = access(gw_rt.conf.secrets_file, F_OK) == 0;
        if (have && gw_secrets_reload(gw_rt.conf.secrets_file, &secrets, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return 2;
        }
        int rc = gw_store_verify(gw_rt.conf.store.sqlite, have ? secrets.seal_keys : NULL, have ? secrets.num_keys : 0, stdout);
        gw_secrets_clear(&secrets);
        gw_config_free(&gw_rt.conf);
        return rc;
    }
    if (check_only) {
        int rc = check_resources(config_path);
        if (rc == 0)
            printf("%s: configuration is valid\n", config_path);
        gw_config_free(&gw_rt.conf);
        return rc;
    }
    if ((gw_rt.conf.log.error != NULL && gw_make_parents(gw_rt.conf.log.error, 0750) != 0) || /* (its folder made, as log.access's) */
        gw_log_open(gw_rt.conf.log.error, gw_rt.conf.log.level) != 0) {
        fprintf(stderr, "%s: cannot open the error log: %m\n", gw_rt.conf.log.error);
        return 1;
    }
    gw_config_warn(&gw_rt.conf);
    warn_volatile_state();
    /* SIGHUP, SIGTERM and SIGINT are blocked in every thread from here on, before the first one is made (the job,
     * store and watch threads start in setup_hosts): the main thread takes them with sigtimedwait (server.c). A thread
     * made earlier with them unblocked took one that came while the main thread was busy (a SIGHUP during a reload,
     * logrotate's after a deploy's) and the default action ended the gateway; one in the start-up did too. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (setup_hosts() != 0)
        return 1;
    gw_server_on_reload(warn_config_changed, NULL);
    return gw_server_run();
}
