/* Unit tests for gateway/tickets.c: the ring of session ticket keys (the newest first, GW_TICKETS_KEEP kept, the oldest
 * retired) and the ticket key callback over it (seals under the newest; opens under any key of the ring and asks for a
 * renewal, as in TLS 1.3 always; does not open under a retired one). The static functions are reached by including
 * the file, as h2o's tests do. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../gateway/tickets.c"

static gw_ticket_key_t key_named(unsigned char c)
{
    gw_ticket_key_t k;
    memset(&k, c, sizeof(k));
    return k;
}

static void test_ring_push_keeps_the_newest(void **state)
{
    gw_ticket_ring_t rings[GW_TICKETS_KEEP + 2];
    unsigned char name[16];

    for (size_t i = 0; i != sizeof(rings) / sizeof(rings[0]); ++i) {
        gw_ticket_key_t k = key_named((unsigned char)('a' + i));
        ring_push(rings + i, i == 0 ? NULL : rings + i - 1, &k);
        assert_int_equal(rings[i].num, i + 1 < GW_TICKETS_KEEP ? i + 1 : GW_TICKETS_KEEP);
        for (size_t j = 0; j <= i; ++j) { /* key j: at i - j while kept, then gone */
            memset(name, 'a' + (int)j, sizeof(name));
            assert_int_equal(ring_find(rings + i, name), i - j < GW_TICKETS_KEEP ? (int)(i - j) : -1);
        }
    }
    memset(name, 'z', sizeof(name));
    assert_int_equal(ring_find(rings, name), -1);
}

/* seals `plain` as OpenSSL would with the callback's key (enc), or opens it: the callback's answer, the bytes in out */
static int seal_or_open(int enc, unsigned char *key_name, unsigned char *iv, const unsigned char *in, int inlen,
                        unsigned char *out, int *outlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL *ssl = SSL_new(ctx); /* (before a handshake SSL_version() says TLS 1.3: every ticket opened is renewed) */
    EVP_CIPHER_CTX *cctx = EVP_CIPHER_CTX_new();
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *hctx = EVP_MAC_CTX_new(mac);
    int ret = on_ticket_key(ssl, key_name, iv, cctx, hctx, enc), n = 0, m = 0;
    if (ret > 0) {
        assert_int_equal(EVP_CipherUpdate(cctx, out, &n, in, inlen), 1);
        assert_int_equal(EVP_CipherFinal_ex(cctx, out + n, &m), 1);
        *outlen = n + m;
    }
    EVP_MAC_CTX_free(hctx);
    EVP_MAC_free(mac);
    EVP_CIPHER_CTX_free(cctx);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return ret;
}

static void test_callback_seals_opens_renews_and_retires(void **state)
{
    static const unsigned char plain[] = "a TLS session, as OpenSSL serializes it";
    unsigned char name[16], iv[EVP_MAX_IV_LENGTH], sealed[128], opened[128], again[16], again_iv[EVP_MAX_IV_LENGTH];
    int sealed_len = 0, opened_len = 0;

    assert_int_equal(seal_or_open(1, name, iv, plain, sizeof(plain), sealed, &sealed_len), 1);
    assert_memory_equal(name, ring->keys[0].name, sizeof(name));
    assert_int_equal(seal_or_open(0, name, iv, sealed, sealed_len, opened, &opened_len), 2);
    assert_int_equal(opened_len, sizeof(plain));
    assert_memory_equal(opened, plain, sizeof(plain));

    for (int r = 1; r != GW_TICKETS_KEEP; ++r) { /* older, still kept: opens, and is to be renewed */
        assert_int_equal(rotate(0), 0);
        opened_len = 0;
        assert_int_equal(seal_or_open(0, name, iv, sealed, sealed_len, opened, &opened_len), 2);
        assert_memory_equal(opened, plain, sizeof(plain));
        assert_int_equal(seal_or_open(1, again, again_iv, plain, sizeof(plain), opened, &opened_len), 1);
        assert_memory_not_equal(again, name, sizeof(name)); /* new tickets under the newest key */
    }
    assert_int_equal(rotate(0), 0); /* retired: not opened (a full handshake) */
    assert_int_equal(seal_or_open(0, name, iv, sealed, sealed_len, opened, &opened_len), 0);
}

static void test_tick_rotates_when_due_and_catches_up(void **state)
{
    unsigned char newest[16];

    rotate_s = 10; /* (as CG_TICKET_KEY_SECONDS=10: ten periods are less than the machine's uptime) */
    memcpy(newest, ring->keys[0].name, sizeof(newest));
    next_rotation = boot_seconds() + 100; /* not due */
    assert_in_range(gw_tickets_tick(), 99, 100);
    assert_memory_equal(ring->keys[0].name, newest, sizeof(newest));

    next_rotation = boot_seconds(); /* due: one new key, the one before kept */
    assert_int_equal(gw_tickets_tick(), rotate_s);
    assert_int_equal(ring_find(ring, newest), 1);

    memcpy(newest, ring->keys[0].name, sizeof(newest)); /* ten periods missed: all three keys are new */
    next_rotation = boot_seconds() - 10 * rotate_s;
    assert_int_equal(gw_tickets_tick(), rotate_s);
    assert_int_equal(ring->num, GW_TICKETS_KEEP);
    assert_int_equal(ring_find(ring, newest), -1);
}

static int setup(void **state)
{
    return gw_tickets_init(); /* (the workers' grace periods are none: no reader thread is registered) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_push_keeps_the_newest),
        cmocka_unit_test(test_callback_seals_opens_renews_and_retires),
        cmocka_unit_test(test_tick_rotates_when_due_and_catches_up),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
