/*
 * An LD_PRELOAD shim for the integration tests (test_clocks.py): the wall clock of the process is shifted by the
 * number of seconds written in the file CG_TEST_CLOCK_FILE names (a signed integer; no file or no number: 0), read
 * again at every call, so a test steps the clock backwards or forwards while the gateway runs, as an NTP step, a VM
 * resumed from a snapshot or a wrong clock at boot corrected later would. Shifted: clock_gettime(CLOCK_REALTIME and
 * CLOCK_REALTIME_COARSE), gettimeofday (h2o's event loop time), time. The monotonic and boot-time clocks are left as
 * they are: they do not step.
 *
 *     cc -shared -fPIC -o clock_shift.so clock_shift.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);

/* the shift in seconds (open/read/close only: they call none of the functions shifted here) */
static long shift(void)
{
    const char *path = getenv("CG_TEST_CLOCK_FILE");
    char buf[32];
    ssize_t n;
    int fd;
    if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static clock_gettime_fn next;
    if (next == NULL)
        next = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    int rc = next(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += shift();
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    static gettimeofday_fn next;
    if (next == NULL)
        next = (gettimeofday_fn)dlsym(RTLD_NEXT, "gettimeofday");
    int rc = next(tv, tz);
    if (rc == 0 && tv != NULL)
        tv->tv_sec += shift();
    return rc;
}

time_t time(time_t *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out != NULL)
        *out = ts.tv_sec;
    return ts.tv_sec;
}
