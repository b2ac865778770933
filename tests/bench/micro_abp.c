/*
 * Microbenchmark for filters/abp.c: load time and memory of the real Debian EasyPrivacy +
 * EasyList, and the cost of one gw_abp_match() over a realistic URL mix.
 *
 * The mix is what pages of a few shops, news sites and blogs request: first-party assets
 * and API calls, public CDNs (jsDelivr, cdnjs, Google Fonts, unpkg, Cloudinary), embeds,
 * and the common tags and beacons (Google Analytics / Tag Manager / Ads, Meta pixel,
 * DoubleClick, Bing, LinkedIn, TikTok, Hotjar, Clarity, Segment, Yandex, comScore),
 * each with randomised ids and query strings, typed (script, image, ping, xhr, ...) as a
 * browser would type them. Third-party is left to the matcher (libpsl), as on the gateway.
 *
 * Each URL is matched REPS times in a row and timed as a batch (per-URL cost = batch / REPS,
 * so clock overhead is negligible); the cheapest of TRIES batches counts, which keeps
 * preemption on a shared machine out of the per-URL figure. p50 / p99 are over URLs. A
 * second figure runs the whole mix once in order (cold-ish caches, preemption included).
 * Prints "micro <name>: <value> <unit> (...)" lines. Usage: micro_abp [dir with the lists]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "abp.h"

#define DEFAULT_DIR "/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist"
#define NURLS 4000
#define REPS 16
#define TRIES 3

static volatile uint64_t sink;

static double
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long
rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

typedef struct {
    const char *fmt; /* %s: page host, %x: random hex, %d: random number */
    gw_abp_type_t type;
    int weight;
} tmpl_t;

static const char *const pages[] = {"www.example-shop.com", "news.example.co.uk",     "blog.example.org",     "www.shop.co.uk",
                                    "myshop.github.io",     "www.zeitung.example.de", "store.example.com.au", "app.example.io",
                                    "www.acehardware.com" /* listed in an EasyPrivacy @@gtm.js exception */};

static const tmpl_t tmpls[] = {
    /* first party */
    {"https://%s/", GW_ABP_DOCUMENT, 2},
    {"https://%s/static/js/main.%x.js", GW_ABP_SCRIPT, 6},
    {"https://%s/static/css/main.%x.css", GW_ABP_STYLESHEET, 4},
    {"https://%s/images/products/%d/%x-800w.jpg", GW_ABP_IMAGE, 10},
    {"https://%s/api/v2/cart?session=%x&items=%d", GW_ABP_XHR, 5},
    {"https://%s/fonts/inter-var.woff2", GW_ABP_FONT, 2},
    {"https://%s/search?q=running+shoes&page=%d", GW_ABP_XHR, 2},
    {"https://%s/wp-content/uploads/2024/05/header-%d.webp", GW_ABP_IMAGE, 4},
    {"https://%s/account/login?next=%%2Fcheckout%%2F%d", GW_ABP_DOCUMENT, 1},
    {"https://%s/assets/app-%x.js", GW_ABP_SCRIPT, 3},
    /* CDNs and embeds */
    {"https://cdn.jsdelivr.net/npm/jquery@3.7.1/dist/jquery.min.js", GW_ABP_SCRIPT, 3},
    {"https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.21/lodash.min.js", GW_ABP_SCRIPT, 2},
    {"https://fonts.googleapis.com/css2?family=Roboto:wght@400;700&display=swap", GW_ABP_STYLESHEET, 3},
    {"https://fonts.gstatic.com/s/roboto/v30/KFOmCnqEu92Fr1Mu4mxK.woff2", GW_ABP_FONT, 3},
    {"https://ajax.googleapis.com/ajax/libs/jquery/3.6.0/jquery.min.js", GW_ABP_SCRIPT, 2},
    {"https://unpkg.com/react@18.2.0/umd/react.production.min.js", GW_ABP_SCRIPT, 1},
    {"https://res.cloudinary.com/demo/image/upload/w_400,c_fill/v%d/sample.jpg", GW_ABP_IMAGE, 4},
    {"https://images.ctfassets.net/%x/%x/hero.png?w=1200&fm=webp", GW_ABP_IMAGE, 2},
    {"https://www.youtube.com/embed/%x?rel=0", GW_ABP_SUBDOCUMENT, 1},
    {"https://i.ytimg.com/vi/%x/hqdefault.jpg", GW_ABP_IMAGE, 1},
    {"https://js.stripe.com/v3/", GW_ABP_SCRIPT, 1},
    {"https://www.gstatic.com/recaptcha/releases/%x/recaptcha__en.js", GW_ABP_SCRIPT, 1},
    {"https://upload.wikimedia.org/wikipedia/commons/thumb/a/a9/Example.jpg/320px-Example.jpg", GW_ABP_IMAGE, 1},
    {"https://static.cloudflareinsights.com/beacon.min.js/v%d", GW_ABP_SCRIPT, 1},
    /* analytics and marketing tags, pixels, beacons */
    {"https://www.googletagmanager.com/gtag/js?id=G-%x", GW_ABP_SCRIPT, 4},
    {"https://www.googletagmanager.com/gtm.js?id=GTM-%x", GW_ABP_SCRIPT, 3},
    {"https://www.google-analytics.com/g/collect?v=2&tid=G-%x&gtm=45je&_p=%d&cid=%d.%d&ul=en-us&sr=1920x1080&_s=1&sid=%d&"
     "sct=1&seg=0&dl=https%%3A%%2F%%2F%s%%2F&dt=Home&en=page_view",
     GW_ABP_PING, 5},
    {"https://region1.google-analytics.com/g/collect?v=2&tid=G-%x&cid=%d.%d&en=scroll", GW_ABP_PING, 2},
    {"https://www.google-analytics.com/analytics.js", GW_ABP_SCRIPT, 1},
    {"https://stats.g.doubleclick.net/g/collect?v=2&tid=G-%x&cid=%d", GW_ABP_IMAGE, 1},
    {"https://connect.facebook.net/en_US/fbevents.js", GW_ABP_SCRIPT, 3},
    {"https://www.facebook.com/tr/?id=%d&ev=PageView&dl=https%%3A%%2F%%2F%s%%2F&rl=&if=false&ts=%d", GW_ABP_IMAGE, 3},
    {"https://securepubads.g.doubleclick.net/tag/js/gpt.js", GW_ABP_SCRIPT, 2},
    {"https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-%d", GW_ABP_SCRIPT, 2},
    {"https://googleads.g.doubleclick.net/pagead/viewthroughconversion/%d/?random=%d&cv=11", GW_ABP_IMAGE, 2},
    {"https://bat.bing.com/bat.js", GW_ABP_SCRIPT, 1},
    {"https://bat.bing.com/action/0?ti=%d&Ver=2&mid=%x&evt=pageLoad", GW_ABP_IMAGE, 1},
    {"https://snap.licdn.com/li.lms-analytics/insight.min.js", GW_ABP_SCRIPT, 1},
    {"https://px.ads.linkedin.com/collect/?pid=%d&fmt=gif", GW_ABP_IMAGE, 1},
    {"https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=%x&lib=ttq", GW_ABP_SCRIPT, 1},
    {"https://static.hotjar.com/c/hotjar-%d.js?sv=6", GW_ABP_SCRIPT, 1},
    {"https://www.clarity.ms/tag/%x", GW_ABP_SCRIPT, 1},
    {"https://cdn.segment.com/analytics.js/v1/%x/analytics.min.js", GW_ABP_SCRIPT, 1},
    {"https://api.segment.io/v1/t", GW_ABP_XHR, 1},
    {"https://mc.yandex.ru/metrika/tag.js", GW_ABP_SCRIPT, 1},
    {"https://sb.scorecardresearch.com/p?c1=2&c2=%d&cv=3.6&cj=1", GW_ABP_IMAGE, 1},
    {"https://%s/collect?v=1&_v=j101&a=%d&t=pageview", GW_ABP_PING, 1},
};

/* Expands a template; every %x / %d gets a fresh random value. */
static size_t
expand(char *out, size_t cap, const char *fmt, const char *host)
{
    size_t o = 0;
    for (const char *p = fmt; *p != '\0' && o + 40 < cap; ++p) {
        if (*p != '%') {
            out[o++] = *p;
            continue;
        }
        ++p;
        if (*p == 's')
            o += (size_t)snprintf(out + o, cap - o, "%s", host);
        else if (*p == 'x')
            o += (size_t)snprintf(out + o, cap - o, "%08x%04x", rnd(0xffffffffu), rnd(0xffff));
        else if (*p == 'd')
            o += (size_t)snprintf(out + o, cap - o, "%u", rnd(2000000000u));
        else
            out[o++] = *p;
    }
    out[o] = '\0';
    return o;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : DEFAULT_DIR;
    char ep[1024], el[1024];
    snprintf(ep, sizeof(ep), "%s/easyprivacy.txt", dir);
    snprintf(el, sizeof(el), "%s/easylist.txt", dir);
    if (access(ep, R_OK) != 0 || access(el, R_OK) != 0) {
        printf("micro abp: skipped (no %s; install webext-ublock-origin-chromium)\n", ep);
        return 0;
    }

    /* load */
    gw_abp_stats_t st[2];
    long rss0 = rss_kb();
    double t0 = now_ns(), c0 = cpu_ns();
    gw_abp_builder_t *b = gw_abp_builder_new();
    if (b == NULL || gw_abp_builder_add_file(b, ep, 2, "easyprivacy", &st[0]) != 0 ||
        gw_abp_builder_add_file(b, el, 3, "easylist", &st[1]) != 0) {
        perror("load");
        return 1;
    }
    gw_abp_t *m = gw_abp_builder_finish(b);
    double t1 = now_ns(), c1 = cpu_ns();
    long rss1 = rss_kb();
    if (m == NULL)
        return 1;
    gw_abp_info_t info;
    gw_abp_info(m, &info);
    size_t loaded = st[0].loaded + st[1].loaded, skipped = st[0].skipped + st[1].skipped, bad = st[0].malformed + st[1].malformed;
    printf("micro abp_load: %.1f ms (wall; %.1f ms CPU; easyprivacy+easylist, %zu lines; rules loaded %zu [%zu active, %zu "
           "exceptions, "
           "%zu host-table, %zu token-table, %zu untokened, %zu disabled by %zu badfilter], skipped %zu, malformed %zu, "
           "comments %zu)\n",
           (t1 - t0) / 1e6, (c1 - c0) / 1e6, st[0].lines + st[1].lines, loaded, info.rules, info.exceptions, info.host_rules,
           info.token_rules, info.untokened, info.disabled, info.badfilters, skipped, bad, st[0].ignored + st[1].ignored);
    printf("micro abp_memory: %.1f MB (counted heap bytes; RSS delta %.1f MB)\n", info.bytes / 1e6, (rss1 - rss0) / 1024.0);

    /* URL mix */
    static char urls[NURLS][600];
    static gw_abp_request_t reqs[NURLS];
    static double cost[NURLS];
    int wsum = 0, ntmpl = (int)(sizeof(tmpls) / sizeof(tmpls[0]));
    for (int i = 0; i != ntmpl; ++i)
        wsum += tmpls[i].weight;
    for (int i = 0; i != NURLS; ++i) {
        int w = (int)rnd((unsigned)wsum), k = 0;
        while (w >= tmpls[k].weight)
            w -= tmpls[k++].weight;
        const char *page = pages[rnd(sizeof(pages) / sizeof(pages[0]))];
        size_t n = expand(urls[i], sizeof(urls[i]), tmpls[k].fmt, page);
        int top = tmpls[k].type == GW_ABP_DOCUMENT;
        reqs[i] = (gw_abp_request_t){urls[i], n, NULL, 0, top ? "" : page, top ? 0 : strlen(page), tmpls[k].type, -1};
    }

    size_t blocked = 0, overridden = 0, cats[4] = {0, 0, 0, 0};
    for (int i = 0; i != NURLS; ++i) {
        gw_abp_result_t r;
        blocked += gw_abp_match(m, &reqs[i], &r) == 1;
        overridden += r.overridden;
        cats[2] += (r.categories >> 2) & 1;
        cats[3] += (r.categories >> 3) & 1;
    }
    for (int i = 0; i != NURLS; ++i) {
        gw_abp_result_t r;
        cost[i] = 1e18;
        for (int t = 0; t != TRIES; ++t) {
            double a = now_ns();
            for (int k = 0; k != REPS; ++k)
                sink += (uint64_t)gw_abp_match(m, &reqs[i], &r) + r.rule;
            double c = (now_ns() - a) / REPS;
            if (c < cost[i])
                cost[i] = c;
        }
    }
    qsort(cost, NURLS, sizeof(double), cmp_double);
    double t2 = now_ns();
    for (int i = 0; i != NURLS; ++i) {
        gw_abp_result_t r;
        sink += (uint64_t)gw_abp_match(m, &reqs[i], &r);
    }
    double t3 = now_ns();
    printf(
        "micro abp_match_p50: %.0f ns/url (n=%d urls, best of %d x %d, %zu blocked [analytics %zu, marketing %zu], %zu excepted)\n",
        cost[NURLS / 2], NURLS, TRIES, REPS, blocked, cats[2], cats[3], overridden);
    printf("micro abp_match_p99: %.0f ns/url (max %.0f ns)\n", cost[NURLS * 99 / 100], cost[NURLS - 1]);
    printf("micro abp_match_mix: %.0f ns/url (whole mix once, in order)\n", (t3 - t2) / NURLS);
    gw_abp_free(m);
    return 0;
}
