/*
 * An LD_PRELOAD shim for the integration tests (test_proxy.ThreadLimitTest): the CG_TEST_FAIL_THREAD-th call of
 * pthread_create (1: the first) fails with EAGAIN, as every call does when the tasks a user or a cgroup may have are
 * spent (systemd's TasksMax=, a container's pids limit, which bind root too); the others make their thread.
 *
 *     cc -shared -fPIC -o fail_thread.so fail_thread.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
    static long calls; /* (the gateway makes its threads from the main thread only) */
    const char *fail = getenv("CG_TEST_FAIL_THREAD");
    create_fn next = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (fail != NULL && ++calls == atol(fail))
        return EAGAIN;
    return next(thread, attr, start, arg);
}
