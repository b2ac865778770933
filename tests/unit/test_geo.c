/*
 * Unit tests for gateway/geo.c: lookups against MaxMind's test databases and our own
 * CG-Geo-Test.mmdb (tests/data/maxmind/, see README there), broken databases, the regime
 * table, CIDR lists and X-Forwarded-For handling. Data is found under $CG_SRCDIR (default ".",
 * the repository root, where tests are run from).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>
#include "geo.h"

static const char *
data_path(const char *name)
{
    static char buf[1024];
    const char *root = getenv("CG_SRCDIR");
    snprintf(buf, sizeof(buf), "%s/tests/data/maxmind/%s", root != NULL ? root : ".", name);
    return buf;
}

/* "1.2.3.4" or "2001:db8::1" (optionally ":port" suffix is not supported) into *ss */
static void
make_addr(const char *text, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(text, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
    }
}

static const char *
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    if (ss->ss_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
    if (ss->ss_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
    snprintf(buf, len, "family %d", ss->ss_family);
    return buf;
}

/* --- lookup ---------------------------------------------------------------------------------- */

static void
test_lookup_table(void **state)
{
    static const struct {
        const char *db, *ip;
        int rc;
        const char *country, *sub;
        int in_eu;
    } cases[] = {
        /* MaxMind's City test database (values from GeoIP2-City-Test.json) */
        {"GeoIP2-City-Test.mmdb", "81.2.69.160", 0, "GB", "ENG", 0},
        {"GeoIP2-City-Test.mmdb", "2.125.160.216", 0, "GB", "ENG", 0},
        {"GeoIP2-City-Test.mmdb", "175.16.199.0", 0, "CN", "22", 0},
        {"GeoIP2-City-Test.mmdb", "216.160.83.56", 0, "US", "WA", 0},
        {"GeoIP2-City-Test.mmdb", "89.160.20.112", 0, "SE", "E", 1}, /* no flag in the file: built-in EU list */
        {"GeoIP2-City-Test.mmdb", "2001:250::1", 0, "CN", "", 0},
        {"GeoIP2-City-Test.mmdb", "2a02:d180::1", 0, "DE", "", 1},
        {"GeoIP2-City-Test.mmdb", "::ffff:81.2.69.160", 0, "GB", "ENG", 0}, /* IPv4-mapped */
        {"GeoIP2-City-Test.mmdb", "10.0.0.1", -1, "", "", 0},               /* not in the database */
        {"GeoIP2-City-Test.mmdb", "2a02:d500::1", -1, "", "", 0},           /* record without a country */
        /* MaxMind's Country test database: no subdivisions */
        {"GeoIP2-Country-Test.mmdb", "81.2.69.160", 0, "GB", "", 0},
        {"GeoIP2-Country-Test.mmdb", "216.160.83.56", 0, "US", "", 0},
        {"GeoIP2-Country-Test.mmdb", "2001:250::1", 0, "CN", "", 0},
        /* our own cases */
        {"CG-Geo-Test.mmdb", "192.0.2.1", 0, "FR", "IDF", 1},
        {"CG-Geo-Test.mmdb", "192.0.2.200", 0, "DE", "", 1},    /* registered_country only */
        {"CG-Geo-Test.mmdb", "198.51.100.7", 0, "US", "CA", 0}, /* first subdivision */
        {"CG-Geo-Test.mmdb", "::ffff:198.51.100.7", 0, "US", "CA", 0},
        {"CG-Geo-Test.mmdb", "203.0.113.5", 0, "IT", "", 1}, /* country beats registered_country */
        {"CG-Geo-Test.mmdb", "203.0.113.200", 0, "CN", "", 0},
        {"CG-Geo-Test.mmdb", "2001:db8:1::5", 0, "NO", "", 1}, /* the database flag wins over the list */
        {"CG-Geo-Test.mmdb", "2001:db8:2::5", 0, "SE", "", 0}, /* both ways */
        {"CG-Geo-Test.mmdb", "100.64.0.1", -1, "", "", 0},     /* continent only */
        {"CG-Geo-Test.mmdb", "100.64.1.1", -1, "", "", 0},     /* iso_code "USA" */
        {"CG-Geo-Test.mmdb", "8.8.8.8", -1, "", "", 0},
        {NULL, NULL, 0, NULL, NULL, 0} /* end of list */
    };
    gw_geo_t *g = NULL;
    const char *open_db = NULL;
    char err[512];

    /* each case twice in a row: the second answer comes from the per-thread record cache */
    for (size_t j = 0; cases[j / 2].db != NULL; ++j) {
        size_t i = j / 2;
        if (open_db == NULL || strcmp(open_db, cases[i].db) != 0) {
            gw_geo_close(g);
            g = gw_geo_open(data_path(cases[i].db), err, sizeof(err));
            if (g == NULL)
                fail_msg("%s", err);
            open_db = cases[i].db;
        }
        struct sockaddr_storage ss;
        gw_geo_result_t r;
        make_addr(cases[i].ip, 1234, &ss);
        int rc = gw_geo_lookup(g, (struct sockaddr *)&ss, &r);
        if (rc != cases[i].rc || strcmp(r.country, cases[i].country) != 0 || strcmp(r.subdivision, cases[i].sub) != 0 ||
            r.in_eu != cases[i].in_eu)
            fail_msg("%s %s: got %d %s-%s eu=%d, want %d %s-%s eu=%d", cases[i].db, cases[i].ip, rc, r.country, r.subdivision,
                     r.in_eu, cases[i].rc, cases[i].country, cases[i].sub, cases[i].in_eu);
    }
    gw_geo_close(g);
}

/* the record cache never answers for a database that was closed */
static void
test_lookup_cache_per_database(void **state)
{
    static const char *dbs[] = {"GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb", "GeoIP2-City-Test.mmdb",
                                "GeoIP2-Country-Test.mmdb", NULL};
    static const char *subs[] = {"ENG", "", "ENG", ""};
    char err[512];
    struct sockaddr_storage ss;
    gw_geo_result_t r;
    make_addr("81.2.69.160", 0, &ss);
    for (size_t i = 0; dbs[i] != NULL; ++i) {
        gw_geo_t *g = gw_geo_open(data_path(dbs[i]), err, sizeof(err));
        assert_non_null(g);
        for (int k = 0; k != 3; ++k) {
            assert_int_equal(gw_geo_lookup(g, (struct sockaddr *)&ss, &r), 0);
            assert_string_equal(r.country, "GB");
            assert_string_equal(r.subdivision, subs[i]);
        }
        gw_geo_close(g);
    }
}

static void
test_lookup_bad_arguments(void **state)
{
    char err[512];
    gw_geo_result_t r;
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_storage ss;
    gw_geo_t *g = gw_geo_open(data_path("GeoIP2-City-Test.mmdb"), err, sizeof(err));
    assert_non_null(g);
    memset(&r, 'x', sizeof(r));
    assert_int_equal(gw_geo_lookup(g, (struct sockaddr *)&un, &r), -1);
    assert_string_equal(r.country, "");
    make_addr("81.2.69.160", 0, &ss);
    assert_int_equal(gw_geo_lookup(NULL, (struct sockaddr *)&ss, &r), -1);
    assert_int_equal(gw_geo_lookup(g, NULL, &r), -1);
    gw_geo_close(g);
    gw_geo_close(NULL);
}

static void
test_open_errors(void **state)
{
    static const struct {
        const char *file; /* under tests/data/maxmind/, or an absolute path */
        const char *msg;
    } cases[] = {
        {"GeoIP2-City-Test-Invalid-Node-Count.mmdb", "invalid metadata"},
        {"MaxMind-DB-test-broken-search-tree-24.mmdb", "search tree is corrupt"},
        {"LICENSE", "invalid metadata"},
        {"GeoLite2-ASN-Test.mmdb", "has no countries"},
        {"does-not-exist.mmdb", "No such file or directory"},
        {NULL, NULL} /* end of list */
    };
    char err[512], path[1024];
    for (size_t i = 0; cases[i].file != NULL; ++i) {
        snprintf(path, sizeof(path), "%s", data_path(cases[i].file));
        err[0] = '\0';
        assert_null(gw_geo_open(path, err, sizeof(err)));
        if (strncmp(err, path, strlen(path)) != 0 || strstr(err, cases[i].msg) == NULL)
            fail_msg("%s: got \"%s\", want \"%s: ...%s...\"", cases[i].file, err, path, cases[i].msg);
    }

    /* a truncated copy of a good database */
    char tmp[] = "/tmp/cg-geo-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    FILE *in = fopen(data_path("GeoIP2-City-Test.mmdb"), "rb");
    assert_non_null(in);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    assert_int_equal(n, sizeof(buf));
    assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
    close(fd);
    assert_null(gw_geo_open(tmp, err, sizeof(err)));
    assert_int_equal(strncmp(err, tmp, strlen(tmp)), 0);
    assert_non_null(strstr(err, "not a usable GeoIP database"));
    unlink(tmp);
}

/* --- regime table ---------------------------------------------------------------------------- */

static void
test_regimes_keys(void **state)
{
    static const struct {
        const char *key;
        size_t len; /* 0: strlen */
        int ok;
    } cases[] = {
        {"CN", 0, 1},      {"US-CA", 0, 1}, {"EU", 0, 1}, {"us-ca", 0, 1}, {"GB-ENG", 0, 1}, {"CN-22", 0, 1}, {"FR-IDF", 0, 1},
        {"SE-E", 0, 1},    {"", 0, 0},      {"C", 0, 0},  {"CHN", 0, 0},   {"U-CA", 0, 0},   {"US_CA", 0, 0}, {"US-", 0, 0},
        {"US-CALI", 0, 0}, {"US-C@", 0, 0}, {"1A", 0, 0}, {"A1", 0, 0},    {"US-C ", 0, 0},  {" US", 0, 0},   {"U\0", 2, 0},
        {"US-\0", 4, 0},   {"EU-", 0, 0},   {"ÜS", 0, 0}, {"EU-X", 0, 0},  {NULL, 0, 0} /* end of list */
    };
    gw_regimes_t t;
    gw_regimes_init(&t);
    for (size_t i = 0; cases[i].key != NULL; ++i) {
        size_t len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].key);
        int r = gw_regimes_add(&t, cases[i].key, len, 1);
        if (r != (cases[i].ok ? 0 : -1))
            fail_msg("key \"%s\": got %d", cases[i].key, r);
    }
    assert_int_equal(gw_regimes_add(&t, NULL, 2, 1), -1);
    assert_int_equal(gw_regimes_add(&t, "US", 2, -1), -1);
    assert_int_equal(gw_regimes_add(&t, "US", 2, 128), -1);
    assert_int_equal(gw_regimes_set_default(&t, -1), -1);
    assert_int_equal(gw_regimes_set_default(&t, 2), 0);
}

static void
test_regimes_resolve(void **state)
{
    enum { OPT_IN = 0, OPT_OUT = 1, NOTICE = 2 };
    static const struct {
        const char *key;
        int regime;
    } rules[] = {{"EU", OPT_IN},     {"US", OPT_OUT},    {"US-CA", OPT_IN}, {"CN", OPT_IN}, {"de", OPT_OUT},
                 {"GB-SCT", NOTICE}, {"us-ny", OPT_OUT}, {"ES", OPT_OUT},   {NULL, 0}};
    static const struct {
        const char *country, *sub;
        int in_eu, want;
    } cases[] = {
        {"US", "CA", 0, OPT_IN},                                                      /* subdivision beats country */
        {"US", "WA", 0, OPT_OUT},                                                     /* country */
        {"US", "", 0, OPT_OUT},   {"US", "NY", 0, OPT_OUT}, {"FR", "IDF", 1, OPT_IN}, /* EU group */
        {"DE", "", 1, OPT_OUT},   /* country beats EU (rule written in lower case) */
        {"SE", "", 0, NOTICE},    /* EU rule needs the flag */
        {"JP", "13", 0, NOTICE},  /* default */
        {"CA", "", 0, NOTICE},    /* Canada is not US-CA */
        {"CN", "CA", 0, OPT_IN},  /* a subdivision code of another country */
        {"ES", "CA", 1, OPT_OUT}, /* Cádiz is not California: the whole country code is compared, not its last letter */
        {"V9", "", 0, NOTICE},    /* not a country code (its index would be US's) */
        {"GB", "SCT", 0, NOTICE}, {"GB", "ENG", 0, NOTICE}, {"", "", 0, NOTICE}, /* unknown place */
        {"", "", 1, NOTICE},      {NULL, NULL, 0, 0}                             /* end of list */
    };
    gw_regimes_t t;
    gw_regimes_init(&t);
    assert_int_equal(gw_regimes_resolve(&t, NULL, NULL), OPT_IN); /* the initial default is the most protective */
    assert_int_equal(gw_regimes_set_default(&t, NOTICE), 0);
    for (size_t i = 0; rules[i].key != NULL; ++i)
        assert_int_equal(gw_regimes_add(&t, rules[i].key, strlen(rules[i].key), rules[i].regime), 0);
    for (size_t i = 0; cases[i].country != NULL; ++i) {
        gw_geo_result_t g = {{0}, {0}, (uint8_t)cases[i].in_eu};
        snprintf(g.country, sizeof(g.country), "%s", cases[i].country);
        snprintf(g.subdivision, sizeof(g.subdivision), "%s", cases[i].sub);
        int got = gw_regimes_resolve(&t, &g, NULL);
        if (got != cases[i].want)
            fail_msg("%s-%s eu=%d: got %d, want %d", cases[i].country, cases[i].sub, cases[i].in_eu, got, cases[i].want);
    }
    assert_int_equal(gw_regimes_resolve(&t, NULL, NULL), NOTICE);

    /* a key added again keeps the last regime */
    assert_int_equal(gw_regimes_add(&t, "US-CA", 5, NOTICE), 0);
    assert_int_equal(gw_regimes_add(&t, "US", 2, OPT_IN), 0);
    gw_geo_result_t ca = {"US", "CA", 0}, wa = {"US", "WA", 0};
    assert_int_equal(gw_regimes_resolve(&t, &ca, NULL), NOTICE);
    assert_int_equal(gw_regimes_resolve(&t, &wa, NULL), OPT_IN);
    /* which rule decided: a record names the subdivision only when its rule did */
    int by_sub = -1;
    assert_int_equal(gw_regimes_resolve(&t, &ca, &by_sub), NOTICE);
    assert_int_equal(by_sub, 1);
    assert_int_equal(gw_regimes_resolve(&t, &wa, &by_sub), OPT_IN);
    assert_int_equal(by_sub, 0);
    assert_int_equal(gw_regimes_resolve(&t, NULL, &by_sub), NOTICE);
    assert_int_equal(by_sub, 0);
}

static void
test_regimes_capacity(void **state)
{
    gw_regimes_t t;
    char key[8];
    gw_regimes_init(&t);
    for (int i = 0; i != GW_REGIMES_MAX_SUBDIVISIONS; ++i) {
        snprintf(key, sizeof(key), "XX-%03d", i);
        assert_int_equal(gw_regimes_add(&t, key, strlen(key), 1), 0);
    }
    assert_int_equal(gw_regimes_add(&t, "XX-ZZZ", 6, 1), -1);
    assert_int_equal(gw_regimes_add(&t, "XX-000", 6, 2), 0); /* replacing still works when full */
    gw_geo_result_t g = {"XX", "000", 0};
    assert_int_equal(gw_regimes_resolve(&t, &g, NULL), 2);
}

/* lookups and regimes together: the City test database with the config example's table */
static void
test_regimes_with_database(void **state)
{
    static const struct {
        const char *ip;
        int want;
    } cases[] = {{"175.16.199.0", 0}, {"216.160.83.56", 1}, {"89.160.20.112", 0}, {"81.2.69.160", 2}, {"10.0.0.1", 2}, {NULL, 0}};
    char err[512];
    gw_regimes_t t;
    gw_geo_t *g = gw_geo_open(data_path("GeoIP2-City-Test.mmdb"), err, sizeof(err));
    assert_non_null(g);
    gw_regimes_init(&t);
    gw_regimes_set_default(&t, 2);
    gw_regimes_add(&t, "CN", 2, 0);
    gw_regimes_add(&t, "US", 2, 1);
    gw_regimes_add(&t, "EU", 2, 0);
    for (size_t i = 0; cases[i].ip != NULL; ++i) {
        struct sockaddr_storage ss;
        gw_geo_result_t r;
        make_addr(cases[i].ip, 0, &ss);
        gw_geo_lookup(g, (struct sockaddr *)&ss, &r);
        if (gw_regimes_resolve(&t, &r, NULL) != cases[i].want)
            fail_msg("%s: got %d want %d", cases[i].ip, gw_regimes_resolve(&t, &r, NULL), cases[i].want);
    }
    gw_geo_close(g);
}

/* --- CIDR lists and X-Forwarded-For ----------------------------------------------------------- */

static void
test_cidr_parse(void **state)
{
    static const char *good[] = {"127.0.0.1/32", "10.0.0.0/8", "192.168.1.7", "::1",        "2001:db8::/32",
                                 "fd00::/8",     "0.0.0.0/0",  "::/0",        "10.1.2.3/8", "::ffff:10.0.0.0/104",
                                 "[::1]",        NULL};
    static const char *bad[] = {
        "",          "/",          "/8",           "10.0.0.0/",    "10.0.0.0/33",   "::1/129",     "10.0.0.0/08",
        "10.0.0/8",  "256.0.0.1",  "10.0.0.1/8/9", "abc",          "10.0.0.0/-1",   "10.0.0.0/ 8", " 10.0.0.1",
        "10.0.0.1 ", "1.2.3.4:80", "[1.2.3.4]",    "fe80::1%eth0", "10.0.0.0/1000", "::1::2",      NULL};
    gw_cidr_list_t list;
    memset(&list, 0, sizeof(list));
    for (size_t i = 0; good[i] != NULL; ++i)
        if (gw_cidr_list_add(&list, good[i]) != 0)
            fail_msg("rejected \"%s\"", good[i]);
    for (size_t i = 0; bad[i] != NULL; ++i)
        if (gw_cidr_list_add(&list, bad[i]) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(list.num_entries, 11);
    assert_int_equal(gw_cidr_list_add(NULL, "::1"), -1);
    assert_int_equal(gw_cidr_list_add(&list, NULL), -1);

    /* capacity */
    memset(&list, 0, sizeof(list));
    for (int i = 0; i != GW_CIDR_LIST_MAX; ++i)
        assert_int_equal(gw_cidr_list_add(&list, "10.0.0.1"), 0);
    assert_int_equal(gw_cidr_list_add(&list, "10.0.0.1"), -1);
}

static void
test_cidr_contains(void **state)
{
    static const struct {
        const char *ip;
        int in;
    } cases[] = {
        {"10.255.255.255", 1},   {"10.0.0.0", 1},    {"11.0.0.0", 0},        {"9.255.255.255", 0},
        {"192.168.1.7", 1},      {"192.168.1.8", 0}, {"192.168.1.6", 0},     {"::ffff:10.1.2.3", 1}, /* mapped */
        {"::10.1.2.3", 0}, /* IPv4-compatible is not IPv4 */
        {"2001:db8:ffff::1", 1}, {"2001:db9::", 0},  {"2001:db7:ffff::", 0}, {"172.31.255.255", 1},
        {"172.16.0.0", 1},       {"172.32.0.0", 0},  {"172.15.255.255", 0},  {"::1", 0},
        {"100.64.0.1", 1},                 /* added as 100.64.9.9/10: host bits ignored */
        {"100.128.0.0", 0},      {NULL, 0} /* end of list */
    };
    gw_cidr_list_t list;
    memset(&list, 0, sizeof(list));
    assert_int_equal(gw_cidr_list_add(&list, "10.0.0.0/8"), 0);
    assert_int_equal(gw_cidr_list_add(&list, "192.168.1.7"), 0);
    assert_int_equal(gw_cidr_list_add(&list, "2001:db8::/32"), 0);
    assert_int_equal(gw_cidr_list_add(&list, "172.16.0.0/12"), 0);
    assert_int_equal(gw_cidr_list_add(&list, "100.64.9.9/10"), 0);
    for (size_t i = 0; cases[i].ip != NULL; ++i) {
        struct sockaddr_storage ss;
        make_addr(cases[i].ip, 80, &ss);
        if (gw_cidr_list_contains(&list, (struct sockaddr *)&ss) != cases[i].in)
            fail_msg("%s: want %d", cases[i].ip, cases[i].in);
    }
    struct sockaddr_storage ss;
    make_addr("10.0.0.1", 0, &ss);
    assert_int_equal(gw_cidr_list_contains(NULL, (struct sockaddr *)&ss), 0);

    /* /0 matches everything of its family, IPv4 /0 also IPv4-mapped but not other IPv6 */
    memset(&list, 0, sizeof(list));
    assert_int_equal(gw_cidr_list_add(&list, "0.0.0.0/0"), 0);
    make_addr("255.255.255.255", 0, &ss);
    assert_int_equal(gw_cidr_list_contains(&list, (struct sockaddr *)&ss), 1);
    make_addr("2001:db8::1", 0, &ss);
    assert_int_equal(gw_cidr_list_contains(&list, (struct sockaddr *)&ss), 0);
}

static void
test_xff(void **state)
{
    static const struct {
        const char *peer;
        const char *xff; /* NULL: no header */
        size_t xff_len;  /* 0: strlen */
        int rc;
        const char *want;
    } cases[] = {
        {"203.0.113.9", "1.2.3.4", 0, 0, "203.0.113.9"}, /* untrusted peer: XFF ignored */
        {"127.0.0.1", NULL, 0, 0, "127.0.0.1"},
        {"127.0.0.1", "1.2.3.4", 0, 1, "1.2.3.4"},
        {"127.0.0.1", "1.2.3.4, 10.0.0.2", 0, 1, "1.2.3.4"},          /* trusted hop skipped */
        {"127.0.0.1", "5.6.7.8, 1.2.3.4, 10.0.0.2", 0, 1, "1.2.3.4"}, /* leftmost is client-supplied */
        {"127.0.0.1", "10.0.0.3, 10.0.0.2", 0, 1, "10.0.0.3"},        /* all trusted: leftmost */
        {"127.0.0.1", "garbage, 1.2.3.4", 0, 1, "1.2.3.4"},
        {"127.0.0.1", "1.2.3.4, garbage", 0, 0, "127.0.0.1"},          /* malformed: last good = peer */
        {"127.0.0.1", "1.2.3.4, garbage, 10.0.0.2", 0, 1, "10.0.0.2"}, /* last good */
        {"127.0.0.1", "", 0, 0, "127.0.0.1"},
        {"127.0.0.1", " \t ", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "1.2.3.4,", 0, 0, "127.0.0.1"}, /* empty entry is malformed */
        {"127.0.0.1", ",1.2.3.4", 0, 1, "1.2.3.4"},
        {"127.0.0.1", "1.2.3.4,,10.0.0.2", 0, 1, "10.0.0.2"},
        {"127.0.0.1", "2001:db8::1", 0, 1, "2001:db8::1"},
        {"127.0.0.1", "[2001:db8::1]", 0, 1, "2001:db8::1"},
        {"127.0.0.1", "[1.2.3.4]", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "1.2.3.4:8080", 0, 1, "1.2.3.4"},           /* a port after it (Azure, IIS ARR) */
        {"127.0.0.1", "[2001:db8::1]:443", 0, 1, "2001:db8::1"},
        {"127.0.0.1", "5.6.7.8, 1.2.3.4:65535 ", 0, 1, "1.2.3.4"},
        {"127.0.0.1", "1.2.3.4:123456", 0, 0, "127.0.0.1"},     /* six digits are no port */
        {"127.0.0.1", "1.2.3.4:", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "2001:db8::1:80", 0, 1, "2001:db8::1:80"}, /* a bare IPv6 address keeps its last digits */
        {"127.0.0.1", "[2001:db8::1]80", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "1.2.3.4:80:80", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "unknown", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "\t1.2.3.4\t", 0, 1, "1.2.3.4"},
        {"127.0.0.1", "1.2.3.4 ,  5.6.7.8", 0, 1, "5.6.7.8"},
        {"127.0.0.1", "5.6.7.8, 1.2.3.4\0", 17, 0, "127.0.0.1"}, /* embedded NUL */
        {"127.0.0.1", "1.2.3.4, 5.6.7.8", 7, 1, "1.2.3.4"},      /* the length is honoured */
        {"127.0.0.1", "1.2.3.4 5.6.7.8", 0, 0, "127.0.0.1"},     /* space is not a separator */
        {"127.0.0.1", "01.2.3.4", 0, 0, "127.0.0.1"},            /* inet_pton refuses leading zeros */
        {"127.0.0.1", "fe80::1%eth0", 0, 0, "127.0.0.1"},
        {"127.0.0.1", "1.2.3.4, 2001:db8:0:0:0:0:255.255.255.255.1", 0, 0, "127.0.0.1"},
        {"::1", "1.2.3.4", 0, 1, "1.2.3.4"},              /* IPv6 trusted peer */
        {"::ffff:127.0.0.1", "1.2.3.4", 0, 1, "1.2.3.4"}, /* IPv4-mapped peer, IPv4 entry */
        {"127.0.0.1", "fd00::5, 10.1.1.1", 0, 1, "fd00::5"},
        {"127.0.0.1", "::ffff:1.2.3.4", 0, 1, "::ffff:1.2.3.4"}, /* kept as IPv6, geo maps it */
        {"127.0.0.1", "::ffff:10.0.0.9, 7.7.7.7", 0, 1, "7.7.7.7"},
        {"127.0.0.1", "7.7.7.7, ::ffff:10.0.0.9", 0, 1, "7.7.7.7"}, /* mapped trusted hop skipped */
        {"2001:db8::1", "1.2.3.4", 0, 0, "2001:db8::1"},
        {NULL, NULL, 0, 0, NULL} /* end of list */
    };
    gw_cidr_list_t trusted;
    memset(&trusted, 0, sizeof(trusted));
    assert_int_equal(gw_cidr_list_add(&trusted, "127.0.0.1/32"), 0);
    assert_int_equal(gw_cidr_list_add(&trusted, "10.0.0.0/8"), 0);
    assert_int_equal(gw_cidr_list_add(&trusted, "::1"), 0);
    assert_int_equal(gw_cidr_list_add(&trusted, "fd00::/8"), 0);
    for (size_t i = 0; cases[i].peer != NULL; ++i) {
        struct sockaddr_storage peer, out;
        char buf[INET6_ADDRSTRLEN + 16];
        make_addr(cases[i].peer, 443, &peer);
        size_t len = cases[i].xff == NULL ? 0 : cases[i].xff_len != 0 ? cases[i].xff_len : strlen(cases[i].xff);
        int rc = gw_client_addr((struct sockaddr *)&peer, cases[i].xff, len, &trusted, &out);
        addr_text(&out, buf, sizeof(buf));
        if (rc != cases[i].rc || strcmp(buf, cases[i].want) != 0)
            fail_msg("peer %s xff \"%s\": got %d %s, want %d %s", cases[i].peer, cases[i].xff ? cases[i].xff : "(none)", rc, buf,
                     cases[i].rc, cases[i].want);
        /* the peer keeps its port; an address from XFF has none */
        uint16_t port = out.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&out)->sin_port)
                                                 : ntohs(((struct sockaddr_in6 *)&out)->sin6_port);
        assert_int_equal(port, rc == 0 ? 443 : 0);
    }
}

static void
test_addr_truncated(void **state)
{
    static const struct {
        const char *addr, *want;
    } cases[] = {{"192.0.2.77", "192.0.2.0/24"},       {"::ffff:192.0.2.77", "192.0.2.0/24"},
                 {"2001:db8:1:2::9", "2001:db8:1::/48"}, {"2001:db8::1", "2001:db8::/48"},
                 {"::1", "::/48"},                        {"255.255.255.255", "255.255.255.0/24"}};
    struct sockaddr_storage ss;
    char out[48];
    for (size_t i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i) {
        make_addr(cases[i].addr, 443, &ss);
        assert_int_equal(gw_addr_truncated((struct sockaddr *)&ss, out, sizeof(out)), 0);
        assert_string_equal(out, cases[i].want);
    }
    /* too small for any answer, another family, none: "" */
    make_addr("192.0.2.77", 443, &ss);
    assert_int_equal(gw_addr_truncated((struct sockaddr *)&ss, out, 8), -1);
    assert_string_equal(out, "");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(gw_addr_truncated((struct sockaddr *)&un, out, sizeof(out)), -1);
    assert_int_equal(gw_addr_truncated(NULL, out, sizeof(out)), -1);
    assert_string_equal(out, "");
}

static void
test_xff_limits(void **state)
{
    gw_cidr_list_t trusted;
    struct sockaddr_storage peer, out;
    char xff[2048], buf[INET6_ADDRSTRLEN];
    size_t n = 0;

    memset(&trusted, 0, sizeof(trusted));
    assert_int_equal(gw_cidr_list_add(&trusted, "10.0.0.0/8"), 0);
    make_addr("10.9.9.9", 0, &peer);
    /* "1.1.1.1, 10.0.0.1, ..., 10.0.0.100": the walk stops after 64 hops at 10.0.0.37 */
    n += (size_t)snprintf(xff + n, sizeof(xff) - n, "1.1.1.1");
    for (int i = 1; i <= 100; ++i)
        n += (size_t)snprintf(xff + n, sizeof(xff) - n, ", 10.0.0.%d", i);
    assert_int_equal(gw_client_addr((struct sockaddr *)&peer, xff, n, &trusted, &out), 1);
    assert_string_equal(addr_text(&out, buf, sizeof(buf)), "10.0.0.37");
    /* within the limit the untrusted client is found */
    assert_int_equal(gw_client_addr((struct sockaddr *)&peer, xff + 0, strlen("1.1.1.1, 10.0.0.1"), &trusted, &out), 1);
    assert_string_equal(addr_text(&out, buf, sizeof(buf)), "1.1.1.1");

    /* no trusted list: the peer */
    assert_int_equal(gw_client_addr((struct sockaddr *)&peer, "1.2.3.4", 7, NULL, &out), 0);
    assert_string_equal(addr_text(&out, buf, sizeof(buf)), "10.9.9.9");

    /* unsupported peer family */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_int_equal(gw_client_addr((struct sockaddr *)&un, "1.2.3.4", 7, &trusted, &out), -1);
    assert_int_equal(out.ss_family, AF_UNSPEC);
    assert_int_equal(gw_client_addr(NULL, "1.2.3.4", 7, &trusted, &out), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_table),
        cmocka_unit_test(test_lookup_cache_per_database),
        cmocka_unit_test(test_lookup_bad_arguments),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_regimes_keys),
        cmocka_unit_test(test_regimes_resolve),
        cmocka_unit_test(test_regimes_capacity),
        cmocka_unit_test(test_regimes_with_database),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_contains),
        cmocka_unit_test(test_xff),
        cmocka_unit_test(test_xff_limits),
        cmocka_unit_test(test_addr_truncated),
    };
    return cmocka_run_group_tests_name("geo", tests, NULL, NULL);
}
