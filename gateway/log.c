/*
 * log — see log.h. Lines look like
 *   2026-11-29T14:00:00.123Z [warn] upstream 127.0.0.1:9000: connection refused
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "log.h"
#include "mem.h"

static int log_fd = 2;
static int log_level = GW_LOG_INFO;
static char *log_path;

int gw_log_open(const char *path, int level)
{
    log_level = level;
    if (path == NULL)
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1)
        return -1;
    free(log_path);
    log_path = gw_strdup(path);
    /* the error log takes over stderr, so that h2o's own messages land in the same file */
    dup2(fd, log_fd);
    close(fd);
    return 0;
}

void gw_log_reopen(void)
{
    if (log_path == NULL)
        return;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd == -1)
        return;
    /* dup2 swaps atomically: a concurrent writer hits the old or the new file, never a closed fd */
    dup2(fd, log_fd);
    close(fd);
}

void gw_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    va_list ap;

    if (level < log_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03dZ [%s] ", (int)(tv.tv_usec / 1000), names[level & 3]);
    va_start(ap, fmt);
    int w = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (w < 0)
        w = 0;
    n += (size_t)w < sizeof(line) - n - 1 ? (size_t)w : sizeof(line) - n - 2;
    line[n++] = '\n';
    ssize_t r = write(log_fd, line, n);
    (void)r;
}

int gw_log_throttle(gw_log_throttle_t *t, uint64_t now_ms, char *more, size_t morelen)
{
    if (t->at != 0 && now_ms - t->at < 1000) {
        ++t->skipped;
        return 0;
    }
    more[0] = '\0';
    if (t->skipped != 0)
        snprintf(more, morelen, "; %" PRIu64 " more since the last such line", t->skipped);
    t->at = now_ms;
    t->skipped = 0;
    return 1;
}
