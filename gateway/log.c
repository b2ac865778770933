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
    if (fd == -1) { /* said in the file still written to (a rotated one), or the lines after it vanish unexplained */
        gw_error("SIGHUP: cannot reopen the error log %s: %s (still writing to the old file)", log_path, strerror(errno));
        return;
    }
    /* dup2 swaps atomically: a concurrent writer hits the old or the new file, never a closed fd */
    dup2(fd, log_fd);
    close(fd);
}

/*
 * Copies a formatted message into a line, each control byte (CR, LF, ESC, …, DEL) written as \xHH: the messages name
 * what requests carry (a path h2o percent-decoded, "%0D%0A" become a line break), which must not start a line of its
 * own that a reader or a log shipper takes for the gateway's, nor send a terminal escape to whoever tails the log.
 * Returns the bytes written, at most room; *all says whether every byte of src was.
 */
static size_t copy_escaped(char *dst, size_t room, const char *src, size_t len, int *all)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0, i;
    for (i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c != 0x7f) {
            if (n == room)
                break;
            dst[n++] = (char)c;
        } else {
            if (room - n < 4)
                break;
            dst[n++] = '\\';
            dst[n++] = 'x';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 15];
        }
    }
    *all = i == len;
    return n;
}

void gw_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    static const char cut[] = " [cut]";
    char msg[2048], line[sizeof(msg) * 2];
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
    int w = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t len = w < 0 ? 0 : (size_t)w < sizeof(msg) ? (size_t)w : sizeof(msg) - 1;
    int all;
    n += copy_escaped(line + n, sizeof(line) - n - (sizeof(cut) - 1) - 1, msg, len, &all);
    if ((size_t)w != len || !all) { /* (a message longer than a line says it was cut, rather than ending mid-word) */
        memcpy(line + n, cut, sizeof(cut) - 1);
        n += sizeof(cut) - 1;
    }
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
