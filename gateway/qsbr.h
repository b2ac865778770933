/*
 * qsbr — quiescent-state-based reclamation for immutable snapshots.
 *
 * Readers (worker threads) load a snapshot pointer with gw_snap_load() and use it only
 * within one event-loop callback. After every turn of its event loop a worker announces
 * a quiescent state (it holds no snapshot pointer). A writer publishes a new snapshot with
 * an atomic exchange and then calls gw_qsbr_synchronize(), which returns once every
 * worker has passed a quiescent state since the exchange: the old snapshot can then be
 * freed. Readers take no lock and do no atomic read-modify-write; the only cost on the
 * request path is one relaxed store per loop turn.
 */
#ifndef GW_QSBR_H
#define GW_QSBR_H

#include <stddef.h>
#include <stdint.h>

#define GW_QSBR_MAX_THREADS 256

/* sets the number of reader threads (before they start) */
void gw_qsbr_init(size_t num_threads);

/* reader: called by thread `index` between event-loop turns */
void gw_qsbr_quiescent(size_t index);

/* reader: thread `index` stops reading (exits or blocks for long); it no longer delays writers */
void gw_qsbr_offline(size_t index);

/* writer: waits until every online reader has passed a quiescent state. Not for reader threads. */
void gw_qsbr_synchronize(void);

/*
 * The snapshot generation moves (after the exchange) with every snapshot published, whichever it is: what
 * was computed from the snapshots of one generation (a page's rewrite, gateway/memo.h) is valid while it stays.
 */
extern uint64_t gw_snap_generation;

#define gw_snap_load(pp) __atomic_load_n((pp), __ATOMIC_ACQUIRE)
#define gw_snap_publish(pp, v)                                                                                                     \
    ({                                                                                                                             \
        __typeof__(*(pp)) old_ = __atomic_exchange_n((pp), (v), __ATOMIC_ACQ_REL);                                                 \
        __atomic_add_fetch(&gw_snap_generation, 1, __ATOMIC_ACQ_REL);                                                              \
        old_;                                                                                                                      \
    })
#define gw_snap_generation_load() __atomic_load_n(&gw_snap_generation, __ATOMIC_ACQUIRE)

#endif
