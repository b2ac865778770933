/*
 * burner — a control of tests/bench/reload_bench.py: spends as much CPU as the gateway's rebuild of a
 * risk list took, the way a rebuild spends it, in a process of its own.
 *
 *   burner CPU_MS MB [FILE]
 *
 * Reads FILE (the list; from the page cache, as the gateway's rebuild does), then allocates MB MiB
 * of fresh memory (page faults, as the new snapshot's) and writes to it at random 8-byte slots, as a
 * hash table is filled, until the process has used CPU_MS of CPU time. Comparing the requests it
 * slows with those the gateway's own rebuild slows says whether the rebuild hurts beyond what that
 * much CPU and memory traffic hurts on this machine, whoever spends it (the spin-only burner of the
 * same bench leaves memory alone).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double
cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: burner CPU_MS MB [FILE]\n");
        return 2;
    }
    double budget = atof(argv[1]);
    size_t words = (size_t)atof(argv[2]) * 1024 * 1024 / 8;
    uint64_t sum = 0;
    if (argc > 3) {
        static char buf[1 << 16];
        int fd = open(argv[3], O_RDONLY);
        ssize_t n;
        if (fd < 0) {
            perror(argv[3]);
            return 1;
        }
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            sum += (uint8_t)buf[n - 1];
        close(fd);
    }
    uint64_t *mem = calloc(words, 8), x = 0x9e3779b97f4a7c15u;
    if (mem == NULL || words == 0)
        return 1;
    while (cpu_ms() < budget) {
        for (int i = 0; i != 4096; ++i) {
            x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
            uint64_t *p = mem + (x * 2685821657736338717u) % words;
            *p = *p + x; /* read and write: the first touch of a page faults it in */
        }
    }
    for (size_t i = 0; i < words; i += 4096)
        sum += mem[i];
    printf("%llu\n", (unsigned long long)(sum & 1)); /* keeps the writes */
    free(mem);
    return 0;
}
