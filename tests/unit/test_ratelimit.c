/* Unit tests for gateway/ratelimit.c: which addresses count as one client; the count, its window, and its
 * exactness when threads take from one table at once (also built under ThreadSanitizer: make tsan). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "ratelimit.h"

static uint64_t
key(const char *addr)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
    }
    return gw_rate_client_key((struct sockaddr *)&ss);
}

static void
test_ipv4_one_address_one_client(void **state)
{
    assert_true(key("198.51.100.7") == key("198.51.100.7"));
    assert_true(key("198.51.100.7") != key("198.51.100.8"));
    assert_true(key("198.51.100.7") != key("198.51.101.7"));
    assert_true(key("10.0.0.1") != 0 && key("0.0.0.0") != 0);
}

static void
test_ipv6_one_64_one_client(void **state)
{
    /* every host of a /64 is one client: one machine can hold the whole /64 */
    assert_true(key("2001:db8:7:1::1") == key("2001:db8:7:1:ffff:ffff:ffff:ffff"));
    assert_true(key("2001:db8:7:1::1") != key("2001:db8:7:2::1"));
    assert_true(key("2001:db8:7:1::1") != key("2001:db9:7:1::1"));
}

static void
test_ipv4_mapped_is_ipv4(void **state)
{
    assert_true(key("::ffff:198.51.100.7") == key("198.51.100.7"));
    assert_true(key("::ffff:198.51.100.7") != key("::ffff:198.51.100.8")); /* the mapped /64 is not one client */
}

static void
test_ipv6_apart_from_ipv4(void **state)
{
    /* an IPv6 /64 whose first four bytes spell an IPv4 address is another client than that address */
    assert_true(key("c633:6407::") != key("198.51.100.7"));
    assert_true(key("::") != key("0.0.0.0"));
}

static gw_rate_table_t table; /* each test clears it */

static void
clear(void)
{
    memset(&table, 0, sizeof(table));
}

static void
test_limit_then_over_until_window_ends(void **state)
{
    clear();
    uint64_t a = key("198.51.100.7"), t0 = 1764480000123ull; /* any epoch time; ms */
    unsigned retry = 0;
    for (int i = 0; i != 5; ++i)
        assert_int_equal(gw_rate_take(&table, a, t0 + (uint64_t)i * 1000, 5, &retry), 0);
    assert_int_equal(gw_rate_take(&table, a, t0 + 10000, 5, &retry), 1);
    assert_int_equal(retry, 50); /* the window opened at t0's second, 10 s ago */
    assert_int_equal(gw_rate_take(&table, a, t0 + 59000, 5, &retry), 1);
    assert_int_equal(retry, 1);
    assert_int_equal(gw_rate_take(&table, a, t0 + 60000, 5, &retry), 0); /* a new window */
    for (int i = 1; i != 5; ++i)
        assert_int_equal(gw_rate_take(&table, a, t0 + 60000, 5, NULL), 0);
    assert_int_equal(gw_rate_take(&table, a, t0 + 60000, 5, NULL), 1);
}

static void
test_clients_apart_and_zero_is_no_limit(void **state)
{
    clear();
    uint64_t a = key("198.51.100.7"), b = key("2001:db8:7:1::1"), t0 = 1764480000000ull;
    assert_int_equal(gw_rate_take(&table, a, t0, 1, NULL), 0);
    assert_int_equal(gw_rate_take(&table, a, t0, 1, NULL), 1);
    assert_int_equal(gw_rate_take(&table, b, t0, 1, NULL), 0); /* another client has its own window */
    assert_int_equal(gw_rate_take(&table, b, t0, 1, NULL), 1);
    for (int i = 0; i != 1000; ++i)
        assert_int_equal(gw_rate_take(&table, a, t0, 0, NULL), 0);
}

static void
test_window_across_the_seconds_wrap(void **state)
{
    /* the window's start is kept modulo 2^20 s: a window that spans the wrap is still one window */
    clear();
    uint64_t a = key("203.0.113.9"), t0 = ((uint64_t)(1u << 20) * 1700 - 10) * 1000; /* 10 s before a wrap */
    unsigned retry = 0;
    assert_int_equal(gw_rate_take(&table, a, t0, 2, NULL), 0);
    assert_int_equal(gw_rate_take(&table, a, t0 + 15000, 2, NULL), 0);
    assert_int_equal(gw_rate_take(&table, a, t0 + 20000, 2, &retry), 1);
    assert_int_equal(retry, 40);
    assert_int_equal(gw_rate_take(&table, a, t0 + 60000, 2, NULL), 0);
}

static void
test_collision_lets_through_never_holds_back(void **state)
{
    /* a client held back, then others take slots: when one takes its slot, it starts afresh; a client that was
     * never over is never refused because of others */
    clear();
    uint64_t a = key("192.0.2.1"), t0 = 1764480000000ull;
    assert_int_equal(gw_rate_take(&table, a, t0, 1, NULL), 0);
    assert_int_equal(gw_rate_take(&table, a, t0, 1, NULL), 1);
    for (uint32_t i = 0; i != 100000; ++i) {
        struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x0a000000u + i)};
        assert_int_equal(gw_rate_take(&table, gw_rate_client_key((struct sockaddr *)&s4), t0, 1, NULL), 0);
    }
    assert_int_equal(gw_rate_take(&table, a, t0, 1, NULL), 0); /* one of 100,000 took its slot (of 4,096) */
}

typedef struct {
    uint64_t key;
    unsigned per_minute, tries, passed;
} taker_t;

static void *
take_many(void *arg)
{
    taker_t *t = arg;
    for (unsigned i = 0; i != t->tries; ++i)
        t->passed += gw_rate_take(&table, t->key, 1764480000000ull + i / 100, t->per_minute, NULL) == 0;
    return NULL;
}

static void
test_threads_share_one_count(void **state)
{
    /* four threads count one client at once: exactly the limit passes in all, not four times it */
    clear();
    taker_t t[4];
    pthread_t th[4];
    for (int i = 0; i != 4; ++i) {
        t[i] = (taker_t){key("198.51.100.7"), 20000, 10000, 0};
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    unsigned passed = 0;
    for (int i = 0; i != 4; ++i) {
        pthread_join(th[i], NULL);
        passed += t[i].passed;
    }
    assert_int_equal(passed, 20000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_one_address_one_client),
        cmocka_unit_test(test_ipv6_one_64_one_client),
        cmocka_unit_test(test_ipv4_mapped_is_ipv4),
        cmocka_unit_test(test_ipv6_apart_from_ipv4),
        cmocka_unit_test(test_limit_then_over_until_window_ends),
        cmocka_unit_test(test_clients_apart_and_zero_is_no_limit),
        cmocka_unit_test(test_window_across_the_seconds_wrap),
        cmocka_unit_test(test_collision_lets_through_never_holds_back),
        cmocka_unit_test(test_threads_share_one_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
