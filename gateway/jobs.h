/*
 * jobs — one background thread for work that must not run on an event loop: building and
 * swapping risk-list snapshots (which waits for a grace period of every worker), writing
 * list files and the audit log (fsync). A worker submits a job and gets its answer back on
 * its own loop through h2o's cross-thread messages, like the consent store's.
 */
#ifndef GW_JOBS_H
#define GW_JOBS_H

#include <h2o.h>

typedef void (*gw_job_fn)(void *data);                      /* on the job thread */
typedef void (*gw_job_done_cb)(h2o_req_t *req, void *data); /* on the submitting worker, req alive */
typedef void (*gw_job_release_cb)(void *data);              /* frees data and what it owns */

/* starts the job thread (before the workers start) */
int gw_jobs_init(size_t num_threads);

/*
 * Queues fn(data) and then done(req, data) on the calling worker. data is malloc'ed by the caller and
 * released with release_data(data) (free(data) when NULL) after done ran, or without calling done when
 * the request went away meanwhile. Returns 0, or -1 when the queue is full (data is released; answer 503).
 */
int gw_job_submit(h2o_req_t *req, gw_job_fn fn, gw_job_done_cb done, gw_job_release_cb release_data, void *data);

/*
 * Runs fn(data) on the job thread with no request attached (SIGHUP, inotify); data is freed after. Posted jobs are not
 * held to the queue's bound (their posters bound them: one reload per list at a time), so only a failed allocation
 * refuses one: -1, data freed.
 */
int gw_job_post(gw_job_fn fn, void *data);

#endif
