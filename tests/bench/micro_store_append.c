/*
 * micro_store_append — what the disk allows for durable appends, as the baseline of the consent
 * store (gateway/store.c). Four loops, each "append BATCH records, then make them durable":
 *
 *   raw     write() BATCH records of RECORD bytes to a file opened O_APPEND, then fdatasync()
 *   raw-overwrite  the same into a file written in full and synced beforehand (pwrite at the
 *           next offset, wrapping at 32 MiB): no size or block allocation change to sync, as
 *           with SQLite's WAL once it is reused; the disk's floor for a durable write
 *   sqlite  BEGIN IMMEDIATE; BATCH × INSERT into a table shaped like the store's `records`
 *           (same columns, same UNIQUE receipt and the two indexes, time-ordered receipts and
 *           visitor ids like the gateway's: ms time first, then random); COMMIT — WAL, synchronous=FULL, one
 *           statement prepared once
 *   sqlite-prep  the same, but every INSERT is prepared and finalized again (store.c prepares once)
 *
 * Usage: micro_store_append [-m raw|raw-overwrite|sqlite|sqlite-prep] [-b BATCH] [-s RECORD_BYTES]
 *                           [-t SECONDS] [-p PREFILL_ROWS] [-d DIR] [-r RECORDS_PER_S]
 * -r: records arrive at that rate and each commit takes all that are due (group commit under a
 * steady load, batch=0 in the output, avg_batch what it came to) instead of BATCH as fast as the
 * disk allows: the storage work of a gateway recording RATE consents/s, without the gateway.
 * Without -m it runs raw, raw-overwrite and sqlite for 2 s each with batch 32 in DIR (default
 * build/bench, i.e. the repository's disk when run from its root, as `make bench` does). Prints
 * one line per loop (sqlite modes first print "# loop started" once the prefill is done):
 *   micro store_append_<mode>: <N> records/s (batch=B avg_batch=A record=R commits=C seconds=S
 *         commit_p50_ms=… commit_p99_ms=… commit_max_ms=… cpu_us_per_record=… prefill=P)
 * Its files (micro_store_append.*) are removed at the end. Exit status 1 on any I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static double rate_limit; /* records/s, 0: as fast as the disk allows (-r) */

static uint64_t
rnd64(void)
{
    /* xorshift64*: random enough for index positions, costs nothing */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717u;
}

static void
rnd_hex(char *out, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t r = 0;
    for (size_t i = 0; i != n; ++i) {
        if (i % 16 == 0)
            r = rnd64();
        out[i] = digits[r & 15];
        r >>= 4;
    }
    out[n] = '\0';
}

/* the wall clock in ms as 12 hex digits: the time-ordered prefix of the gateway's keys */
static void
ms_hex(char *out)
{
    static const char digits[] = "0123456789abcdef";
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 0; i != 12; ++i)
        out[i] = digits[(ms >> (44 - 4 * i)) & 15];
}

/* a receipt shaped like the gateway's UUIDv7 (records.c): ms time, then random */
static void
rnd_uuid(char *out)
{
    rnd_hex(out, 36);
    ms_hex(out);
    memmove(out + 9, out + 8, 4);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[14] = '7';
}

/* a visitor id shaped like the gateway's (gw_token_new_visitor): 48-bit ms time, 80 random bits, hex */
static void
rnd_visitor(char *out)
{
    rnd_hex(out, 32);
    ms_hex(out);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    uint64_t *lat; /* ns per commit */
    size_t n, cap;
    uint64_t records;
    double seconds;
    double cpu_s; /* user + system time of the timed loop */
} result_t;

static double
cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

#define PACED_BATCH_MAX 1024 /* GW_STORE_BATCH_MAX */

/* records of the next commit: BATCH, or with -r every record due by now at rate_limit since t0 (at
 * least one: waits for it), as a group commit under a steady arrival rate would take them */
static unsigned
next_batch(uint64_t t0, uint64_t done, unsigned batch)
{
    if (rate_limit <= 0)
        return batch;
    for (;;) {
        uint64_t now = now_ns(), due = (uint64_t)((double)(now - t0) / 1e9 * rate_limit);
        if (due > done)
            return due - done < PACED_BATCH_MAX ? (unsigned)(due - done) : PACED_BATCH_MAX;
        uint64_t at = t0 + (uint64_t)((double)(done + 1) / rate_limit * 1e9);
        if (at <= now)
            continue;
        struct timespec ts = {(time_t)((at - now) / 1000000000u), (long)((at - now) % 1000000000u)};
        nanosleep(&ts, NULL);
    }
}

static void
add_commit(result_t *r, uint64_t ns)
{
    if (r->n == r->cap) {
        r->cap = r->cap != 0 ? r->cap * 2 : 4096;
        r->lat = realloc(r->lat, r->cap * sizeof(*r->lat));
        if (r->lat == NULL) {
            perror("realloc");
            exit(1);
        }
    }
    r->lat[r->n++] = ns;
}

static void
report(const char *mode, const result_t *r, unsigned batch, unsigned record, unsigned long prefill)
{
    uint64_t *s = malloc((r->n != 0 ? r->n : 1) * sizeof(*s));
    if (s == NULL)
        exit(1);
    memcpy(s, r->lat, r->n * sizeof(*s));
    qsort(s, r->n, sizeof(*s), cmp_u64);
#define PCT(p) (r->n != 0 ? (double)s[(size_t)((double)(r->n - 1) * (p))] / 1e6 : 0.0)
    printf("micro store_append_%s: %.0f records/s (batch=%u avg_batch=%.1f record=%u commits=%zu seconds=%.2f commit_p50_ms=%.2f "
           "commit_p99_ms=%.2f commit_max_ms=%.2f cpu_us_per_record=%.1f prefill=%lu)\n",
           mode, (double)r->records / r->seconds, rate_limit > 0 ? 0 : batch, (double)r->records / (double)r->n, record, r->n,
           r->seconds, PCT(0.50), PCT(0.99), PCT(1.0), r->cpu_s * 1e6 / (double)r->records, prefill);
#undef PCT
    fflush(stdout);
    free(s);
}

/* --- raw append + fdatasync ------------------------------------------------------------------- */

#define OVERWRITE_SIZE (32u << 20)

static int
run_raw(const char *dir, unsigned batch, unsigned record, double seconds, int overwrite, result_t *r)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/micro_store_append.raw", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (overwrite ? 0 : O_APPEND) | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = (size_t)(rate_limit > 0 ? PACED_BATCH_MAX : batch) * record;
    char *buf = calloc(1, cap > (1u << 20) ? cap : (1u << 20));
    if (buf == NULL)
        exit(1);
    int rc = 0;
    off_t pos = 0;
    if (overwrite) {
        if (cap > OVERWRITE_SIZE) {
            fprintf(stderr, "batch too large for raw-overwrite\n");
            rc = -1;
            goto Exit;
        }
        for (size_t off = 0; off < OVERWRITE_SIZE; off += 1u << 20)
            if (pwrite(fd, buf, 1u << 20, (off_t)off) != (ssize_t)(1u << 20)) {
                fprintf(stderr, "%s: pwrite: %s\n", path, strerror(errno));
                rc = -1;
                goto Exit;
            }
        if (fsync(fd) != 0) {
            fprintf(stderr, "%s: fsync: %s\n", path, strerror(errno));
            rc = -1;
            goto Exit;
        }
    }
    double cpu0 = cpu_now();
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t = t0;
    while (t < end) {
        unsigned n = next_batch(t0, r->records, batch);
        size_t len = (size_t)n * record;
        /* fresh contents each batch: a record line of `record` bytes of hex */
        for (unsigned i = 0; i != n; ++i) {
            char *p = buf + (size_t)i * record;
            rnd_hex(p, record - 1);
            p[record - 1] = '\n';
        }
        uint64_t c0 = now_ns();
        if (overwrite && pos + (off_t)len > (off_t)OVERWRITE_SIZE)
            pos = 0;
        for (size_t off = 0; off < len;) {
            ssize_t w = overwrite ? pwrite(fd, buf + off, len - off, pos + (off_t)off) : write(fd, buf + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                fprintf(stderr, "%s: write: %s\n", path, strerror(errno));
                rc = -1;
                goto Exit;
            }
            off += (size_t)w;
        }
        pos += (off_t)len;
        if (fdatasync(fd) != 0) {
            fprintf(stderr, "%s: fdatasync: %s\n", path, strerror(errno));
            rc = -1;
            goto Exit;
        }
        t = now_ns();
        add_commit(r, t - c0);
        r->records += n;
    }
    r->seconds = (double)(t - t0) / 1e9;
    r->cpu_s = cpu_now() - cpu0;
Exit:
    free(buf);
    close(fd);
    unlink(path);
    return rc;
}

/* --- SQLite, shaped like gateway/store.c -------------------------------------------------------- */

/* the store's schema (gateway/store.c, migrate()), without the meta table */
static const char schema[] =
    "CREATE TABLE records (seq INTEGER PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, visitor TEXT NOT NULL,"
    " visitor_nonce TEXT, visitor_commit TEXT NOT NULL, time_ms INTEGER NOT NULL, policy_version INTEGER NOT NULL,"
    " granted TEXT NOT NULL, refused TEXT NOT NULL, regime TEXT NOT NULL, country TEXT NOT NULL, method TEXT NOT NULL,"
    " client_ip TEXT NOT NULL, ua_hash TEXT NOT NULL, ui_hash TEXT NOT NULL, prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX records_visitor ON records (visitor);"
    "CREATE INDEX records_time ON records (time_ms);";

static const char insert_sql[] = "INSERT INTO records (receipt, visitor, visitor_nonce, visitor_commit, time_ms, policy_version, "
                                 "granted, refused, regime, country, method, client_ip, ua_hash, ui_hash, prev_hash, hash) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

static char head[65];

static int
exec_sql(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, msg != NULL ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* one row like the gateway's "accept all" record (≈ 504 bytes of column data) */
static int
insert_row(sqlite3 *db, sqlite3_stmt *s)
{
    char receipt[37], visitor[33], nonce[33], commit[65], ua[65], ui[65], hash[65];
    rnd_uuid(receipt);
    rnd_visitor(visitor);
    rnd_hex(nonce, 32);
    rnd_hex(commit, 64);
    rnd_hex(ua, 64);
    rnd_hex(ui, 64);
    rnd_hex(hash, 64);
    sqlite3_bind_text(s, 1, receipt, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, visitor, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, nonce, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, commit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, wall_ms());
    sqlite3_bind_int64(s, 6, 1);
    sqlite3_bind_text(s, 7, "necessary,functional,analytics,marketing", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, "opt-in", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 11, "accept_all", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 12, "127.0.0.0/24", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 13, ua, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 14, ui, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 15, head, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 16, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "sqlite: insert: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    memcpy(head, hash, sizeof(head));
    return 0;
}

static void
remove_db(const char *path)
{
    char p[4200];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static int
run_sqlite(const char *dir, unsigned batch, double seconds, unsigned long prefill, int prepare_each, result_t *r)
{
    char path[4096];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int rc = -1;

    snprintf(path, sizeof(path), "%s/micro_store_append.db", dir);
    remove_db(path);
    memset(head, '0', 64);
    head[64] = '\0';
    /* FULLMUTEX like the store */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", path, db != NULL ? sqlite3_errmsg(db) : "cannot open");
        goto Exit;
    }
    if (exec_sql(db, "PRAGMA journal_mode = WAL") != 0 || exec_sql(db, "PRAGMA synchronous = FULL") != 0 ||
        exec_sql(db, schema) != 0)
        goto Exit;
    if (sqlite3_prepare_v2(db, insert_sql, -1, &s, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: prepare: %s\n", sqlite3_errmsg(db));
        goto Exit;
    }
    /* an existing store is not empty: its indexes are as deep as the gateway's at that moment */
    if (prefill != 0) {
        if (exec_sql(db, "BEGIN IMMEDIATE") != 0)
            goto Exit;
        for (unsigned long i = 0; i != prefill; ++i)
            if (insert_row(db, s) != 0)
                goto Exit;
        if (exec_sql(db, "COMMIT") != 0 || exec_sql(db, "PRAGMA wal_checkpoint(TRUNCATE)") != 0)
            goto Exit;
    }
    printf("# loop started\n"); /* after the prefill: a driver can start its measurement now */
    fflush(stdout);
    double cpu0 = cpu_now();
    uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), t = t0;
    while (t < end) {
        unsigned n = next_batch(t0, r->records, batch);
        uint64_t c0 = now_ns();
        if (exec_sql(db, "BEGIN IMMEDIATE") != 0)
            goto Exit;
        for (unsigned i = 0; i != n; ++i) {
            if (prepare_each) {
                sqlite3_stmt *p = NULL;
                if (sqlite3_prepare_v2(db, insert_sql, -1, &p, NULL) != SQLITE_OK) {
                    fprintf(stderr, "sqlite: prepare: %s\n", sqlite3_errmsg(db));
                    goto Exit;
                }
                int ok = insert_row(db, p) == 0;
                sqlite3_finalize(p);
                if (!ok)
                    goto Exit;
            } else if (insert_row(db, s) != 0) {
                goto Exit;
            }
        }
        if (exec_sql(db, "COMMIT") != 0)
            goto Exit;
        t = now_ns();
        add_commit(r, t - c0);
        r->records += n;
    }
    r->seconds = (double)(t - t0) / 1e9;
    r->cpu_s = cpu_now() - cpu0;
    rc = 0;
Exit:
    sqlite3_finalize(s);
    sqlite3_close(db);
    remove_db(path);
    return rc;
}

static int
run_mode(const char *mode, const char *dir, unsigned batch, unsigned record, double seconds, unsigned long prefill)
{
    result_t r = {0};
    int rc;
    if (strcmp(mode, "raw") == 0)
        rc = run_raw(dir, batch, record, seconds, 0, &r);
    else if (strcmp(mode, "raw-overwrite") == 0)
        rc = run_raw(dir, batch, record, seconds, 1, &r);
    else if (strcmp(mode, "sqlite") == 0)
        rc = run_sqlite(dir, batch, seconds, prefill, 0, &r);
    else if (strcmp(mode, "sqlite-prep") == 0)
        rc = run_sqlite(dir, batch, seconds, prefill, 1, &r);
    else {
        fprintf(stderr, "unknown mode %s (raw, raw-overwrite, sqlite, sqlite-prep)\n", mode);
        return -1;
    }
    if (rc == 0 && r.n != 0)
        report(strcmp(mode, "sqlite-prep") == 0     ? "sqlite_prep"
               : strcmp(mode, "raw-overwrite") == 0 ? "raw_overwrite"
                                                    : mode,
               &r, batch, record, strncmp(mode, "raw", 3) == 0 ? 0 : prefill);
    free(r.lat);
    return rc == 0 && r.n != 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    const char *mode = NULL, *dir = "build/bench";
    unsigned batch = 32, record = 504;
    double seconds = 2;
    unsigned long prefill = 0;
    int opt;

    while ((opt = getopt(argc, argv, "m:b:s:t:p:d:r:h")) != -1) {
        switch (opt) {
        case 'm':
            mode = optarg;
            break;
        case 'b':
            batch = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 's':
            record = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            seconds = strtod(optarg, NULL);
            break;
        case 'p':
            prefill = strtoul(optarg, NULL, 10);
            break;
        case 'd':
            dir = optarg;
            break;
        case 'r':
            rate_limit = strtod(optarg, NULL);
            break;
        default:
            fprintf(stderr,
                    "usage: %s [-m raw|raw-overwrite|sqlite|sqlite-prep] [-b BATCH] [-s RECORD_BYTES] [-t SECONDS] "
                    "[-p PREFILL_ROWS] [-d DIR] [-r RECORDS_PER_S]\n",
                    argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (batch == 0 || batch > 100000 || record < 2 || record > 1000000 || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "bad -b, -s or -t\n");
        return 2;
    }
    char parents[4096];
    snprintf(parents, sizeof(parents), "%s/", dir);
    for (char *p = parents + 1; *p != '\0'; ++p) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(parents, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: %s\n", parents, strerror(errno));
            return 1;
        }
        *p = '/';
    }
    rng_state ^= now_ns();
    if (mode != NULL)
        return run_mode(mode, dir, batch, record, seconds, prefill) == 0 ? 0 : 1;
    int bad = run_mode("raw", dir, batch, record, seconds, prefill) != 0;
    bad |= run_mode("raw-overwrite", dir, batch, record, seconds, prefill) != 0;
    bad |= run_mode("sqlite", dir, batch, record, seconds, prefill) != 0;
    return bad;
}
