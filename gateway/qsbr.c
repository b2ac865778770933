/*
 * qsbr — see qsbr.h. The global epoch only moves in writers; each reader copies it into
 * its own cache line. A reader that is offline stores UINT64_MAX.
 */
#include <time.h>
#include "qsbr.h"

uint64_t gw_snap_generation;
static uint64_t global_epoch = 1;
static size_t num_readers;
static struct {
    uint64_t seen;
    char _pad[64 - sizeof(uint64_t)];
} readers[GW_QSBR_MAX_THREADS] __attribute__((aligned(64)));

void gw_qsbr_init(size_t num_threads)
{
    num_readers = num_threads < GW_QSBR_MAX_THREADS ? num_threads : GW_QSBR_MAX_THREADS;
    for (size_t i = 0; i != num_readers; ++i)
        __atomic_store_n(&readers[i].seen, UINT64_MAX, __ATOMIC_RELEASE);
}

void gw_qsbr_quiescent(size_t index)
{
    __atomic_store_n(&readers[index].seen, __atomic_load_n(&global_epoch, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}

void gw_qsbr_offline(size_t index)
{
    __atomic_store_n(&readers[index].seen, UINT64_MAX, __ATOMIC_RELEASE);
}

void gw_qsbr_synchronize(void)
{
    uint64_t target = __atomic_add_fetch(&global_epoch, 1, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i != num_readers; ++i) {
        while (__atomic_load_n(&readers[i].seen, __ATOMIC_ACQUIRE) < target) {
            struct timespec ts = {0, 1000000}; /* 1 ms: readers pass a quiescent state at least every loop turn */
            nanosleep(&ts, NULL);
        }
    }
}
