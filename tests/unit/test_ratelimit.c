/* Unit tests for gateway/ratelimit.c: which addresses count as one client. */
#include <arpa/inet.h>
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_one_address_one_client),
        cmocka_unit_test(test_ipv6_one_64_one_client),
        cmocka_unit_test(test_ipv4_mapped_is_ipv4),
        cmocka_unit_test(test_ipv6_apart_from_ipv4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
