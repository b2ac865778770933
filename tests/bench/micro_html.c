/*
 * Microbenchmark of the streaming HTML rewriter (filters/html.c) with the demo policy of
 * tests/unit/html_policy.h active (tracker neutralisation, inline-script hold and content
 * match, iframe/link removal, link wrapping, ping removal, nonce on every script/style,
 * banner injection), fed in 4 KiB chunks as h2o delivers bodies. The sink copies every
 * output byte into one buffer, as an adapter building a response body would.
 *
 *   (a) the ~20 KB tracker-laden article of tests/data/rewriter/tracker_page/input.html
 *   (b) a 5 MB page: that article repeated
 *   (c) (b) again with no callbacks, nonce or injection: the tokenizer alone
 *
 * Prints "micro html_<case>: <MB/s> MB/s (…)" per case, measured in thread CPU time (one
 * core, whatever else runs on the machine), and the memory one rewriter holds. Run from the repository root (or set CG_SRCDIR).
 *
 * "micro_html PAGE [N]" rewrites PAGE (a path from the repository root) N times (10) as (a) does, and prints nothing: the
 * instructions of one page, which the machine's load does not move, are callgrind's over N (tests/bench/README.md):
 *   valgrind --tool=callgrind --toggle-collect=run_once build/rel/bench/micro_html tests/bench/tags.html
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "html.h"
#include "../unit/html_policy.h"

#define CHUNK 4096

/* CPU time of this thread: "per core" even when other processes share the machine. */
static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *
load(const char *rel, size_t *len)
{
    const char *dir = getenv("CG_SRCDIR");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : ".", rel);
    if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    buf = malloc((size_t)n);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Rewrites page once, in CHUNK-byte writes, into pol (reset first). */
__attribute__((noinline)) static void
run_once(void *mem, const gw_html_cb_t *cb, int policy, policy_t *pol, const char *page, size_t len)
{
    gw_html_t *h;
    pol->len = 0;
    h = gw_html_init(mem, 65536, cb, pol);
    if (policy)
        policy_attach(h);
    for (size_t off = 0; off < len; off += CHUNK)
        gw_html_write(h, page + off, len - off < CHUNK ? len - off : CHUNK);
    gw_html_end(h);
}

static void
bench(const char *name, const gw_html_cb_t *cb, int policy, const char *page, size_t len, size_t min_bytes)
{
    void *mem = malloc(gw_html_sizeof(65536));
    policy_t *pol = calloc(1, sizeof(*pol));
    size_t iters = min_bytes / len + 1, best_iter = 0;
    double best = 1e30;

    run_once(mem, cb, policy, pol, page, len); /* warm up, size the output buffer */
    for (int round = 0; round != 5; ++round) {
        uint64_t t0 = now_ns();
        for (size_t i = 0; i != iters; ++i)
            run_once(mem, cb, policy, pol, page, len);
        double s = (double)(now_ns() - t0) / 1e9;
        if (s < best) {
            best = s;
            best_iter = iters;
        }
    }
    printf("micro html_%s: %.0f MB/s (page %zu bytes in %d-byte chunks, out %zu bytes, best of 5 x %zu pages, %.2f us CPU/page)\n",
           name, (double)len * (double)best_iter / best / 1e6, len, CHUNK, pol->len, best_iter, best * 1e6 / (double)best_iter);
    free(pol->out);
    free(pol);
    free(mem);
}

int
main(int argc, char **argv)
{
    size_t len, big_len = 5u << 20;
    char *page = load(argc > 1 ? argv[1] : "tests/data/rewriter/tracker_page/input.html", &len);
    char *big;
    policy_t pol = {0};

    if (argc > 1) { /* one page, N times, for callgrind */
        void *mem = malloc(gw_html_sizeof(65536));
        for (int i = 0, n = argc > 2 ? atoi(argv[2]) : 10; i < n; ++i)
            run_once(mem, &policy_cb, 1, &pol, page, len);
        free(mem);
        free(pol.out);
        free(page);
        return 0;
    }
    big = malloc(big_len);

    for (size_t off = 0; off < big_len; off += len)
        memcpy(big + off, page, big_len - off < len ? big_len - off : len);

    /* what the policy does to one article, for the record */
    void *mem = malloc(gw_html_sizeof(65536));
    run_once(mem, &policy_cb, 1, &pol, page, len);
    free(mem);
    printf("micro html_policy_effect: %u tags, %u neutralised, %u removed, %u links wrapped, %u inline scripts held\n", pol.tags,
           pol.neutralised, pol.removed, pol.wrapped, pol.held);

    bench("article_20k", &policy_cb, 1, page, len, 200u << 20);
    bench("page_5m", &policy_cb, 1, big, big_len, 200u << 20);
    bench("page_5m_tokenize_only", &policy_keep_cb, 0, big, big_len, 200u << 20);
    printf("micro html_memory: %zu bytes per rewriter (struct incl. %d-byte tag buffer) + %d bytes hold buffer = %zu\n",
           gw_html_sizeof(0), GW_HTML_MAX_TAG, 65536, gw_html_sizeof(65536));
    free(pol.out);
    free(page);
    free(big);
    return 0;
}
