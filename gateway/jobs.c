/*
 * jobs — see jobs.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sched.h>
#include "jobs.h"
#include "mem.h"
#include "server.h"

#define QUEUE_MAX 1024
/*
 * The job thread runs as SCHED_BATCH: its work is bulk (a 1M-entry risk list takes a core for a fifth
 * of a second to build) and nobody waits on it but an admin. A batch thread keeps its fair share of
 * the CPU, so a rebuild still ends in well under a second on a machine whose cores the workers keep
 * busy, but never preempts a worker that wakes up with a request to serve. (A nice value instead
 * stretched that rebuild to several seconds under load and did not shorten the workers' waits; see
 * tests/bench/reload_bench.py.)
 */

typedef struct st_job_t job_t;

typedef struct st_guard_t {
    job_t *job;
} guard_t;

struct st_job_t {
    h2o_multithread_message_t msg;
    job_t *next;
    size_t thread;
    h2o_req_t *req; /* NULL when the request went away, or for posted jobs */
    guard_t *guard;
    int posted;
    gw_job_fn fn;
    gw_job_done_cb done;
    gw_job_release_cb release; /* frees data and what it owns (NULL: free()) */
    void *data;
};

static void release(job_t *j)
{
    if (j->release != NULL)
        j->release(j->data);
    else
        free(j->data);
    free(j);
}

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static job_t *first, **last = &first;
static size_t queued;
static h2o_multithread_receiver_t *receivers;

static void on_guard_dispose(void *p)
{
    guard_t *g = p;
    if (g->job != NULL)
        g->job->req = NULL;
}

static void on_done(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    while (!h2o_linklist_is_empty(messages)) {
        job_t *j = H2O_STRUCT_FROM_MEMBER(job_t, msg.link, messages->next);
        h2o_linklist_unlink(&j->msg.link);
        if (j->req != NULL) {
            j->guard->job = NULL;
            j->done(j->req, j->data);
        }
        release(j);
    }
}

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    h2o_multithread_register_receiver(ctx->queue, receivers + index, on_done);
}

static void *run(void *arg)
{
    pthread_setname_np(pthread_self(), "cg-jobs");
    struct sched_param sp = {0};
    (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    for (;;) {
        pthread_mutex_lock(&mutex);
        while (first == NULL)
            pthread_cond_wait(&cond, &mutex);
        job_t *j = first;
        if ((first = j->next) == NULL)
            last = &first;
        --queued;
        pthread_mutex_unlock(&mutex);
        j->fn(j->data);
        if (j->posted) {
            free(j->data);
            free(j);
        } else {
            h2o_multithread_send_message(receivers + j->thread, &j->msg);
        }
    }
    return NULL;
}

static int enqueue(job_t *j)
{
    pthread_mutex_lock(&mutex);
    if (queued >= QUEUE_MAX && !j->posted) {
        pthread_mutex_unlock(&mutex);
        return -1;
    }
    j->next = NULL;
    *last = j;
    last = &j->next;
    ++queued;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mutex);
    return 0;
}

int gw_jobs_init(size_t num_threads)
{
    pthread_t tid;
    receivers = gw_calloc(num_threads, sizeof(*receivers));
    gw_server_on_thread_init(on_thread_init);
    if (pthread_create(&tid, NULL, run, NULL) != 0)
        return -1;
    pthread_detach(tid);
    return 0;
}

int gw_job_submit(h2o_req_t *req, gw_job_fn fn, gw_job_done_cb done, gw_job_release_cb release_data, void *data)
{
    job_t *j = gw_calloc(1, sizeof(*j));
    j->thread = gw_thread_index();
    j->req = req;
    j->fn = fn;
    j->done = done;
    j->release = release_data;
    j->data = data;
    j->guard = h2o_mem_alloc_shared(&req->pool, sizeof(guard_t), on_guard_dispose);
    j->guard->job = j;
    if (enqueue(j) != 0) {
        j->guard->job = NULL;
        release(j);
        return -1;
    }
    return 0;
}

int gw_job_post(gw_job_fn fn, void *data)
{
    job_t *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        free(data);
        return -1;
    }
    j->posted = 1;
    j->fn = fn;
    j->data = data;
    enqueue(j);
    return 0;
}
