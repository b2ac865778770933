/* Unit tests for gateway/log.c's lines: one event is one line whatever its message carries (control bytes written as
 * \xHH), and a message too long for a line is cut, saying so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "log.h"

/* what gw_log wrote for the message s (formatted as "%.*s"): the error log without a path is stderr, pointed at a
 * temporary file for the call */
static char *
logged(const char *s, size_t len, size_t *out_len)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) == 2);
    gw_log(GW_LOG_WARN, "%.*s", (int)len, s);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
    long n = ftell(tmp);
    assert_true(n > 0);
    char *buf = malloc((size_t)n + 1);
    rewind(tmp);
    assert_int_equal(fread(buf, 1, (size_t)n, tmp), (size_t)n);
    buf[n] = '\0';
    fclose(tmp);
    *out_len = (size_t)n;
    return buf;
}

/* the line's message: after "… [warn] ", without its '\n'; checks it is one line of printable bytes */
static const char *
message(const char *line, size_t len, size_t *msg_len)
{
    assert_true(len > 0 && line[len - 1] == '\n');
    for (size_t i = 0; i != len - 1; ++i)
        assert_true((unsigned char)line[i] >= 0x20 && (unsigned char)line[i] != 0x7f);
    const char *m = strstr(line, " [warn] ");
    assert_non_null(m);
    m += 8;
    *msg_len = (size_t)(line + len - 1 - m);
    return m;
}

static void
test_plain_message_as_it_is(void **state)
{
    size_t n, mlen;
    char *line = logged("upstream 127.0.0.1:9000: connection refused", 43, &n);
    const char *m = message(line, n, &mlen);
    assert_int_equal(mlen, 43);
    assert_memory_equal(m, "upstream 127.0.0.1:9000: connection refused", 43);
    free(line);
}

static void
test_every_control_byte_escaped(void **state)
{
    char all[255];
    for (int c = 1; c != 256; ++c) /* (a NUL ends "%.*s": what vsnprintf writes stops there) */
        all[c - 1] = (char)c;
    size_t n, mlen;
    char *line = logged(all, sizeof(all), &n);
    const char *m = message(line, n, &mlen);
    char want[1024];
    size_t w = 0;
    for (int c = 1; c != 256; ++c)
        w += (size_t)(c < 0x20 || c == 0x7f ? snprintf(want + w, sizeof(want) - w, "\\x%02x", c)
                                            : snprintf(want + w, sizeof(want) - w, "%c", c));
    assert_int_equal(mlen, w);
    assert_memory_equal(m, want, w);
    free(line);
}

static void
test_forged_line_stays_inside(void **state)
{
    static const char s[] = "GET /a\r\n2026-01-01T00:00:00.000Z [error] forged\n";
    size_t n, mlen;
    char *line = logged(s, sizeof(s) - 1, &n);
    const char *m = message(line, n, &mlen);
    static const char want[] = "GET /a\\x0d\\x0a2026-01-01T00:00:00.000Z [error] forged\\x0a";
    assert_int_equal(mlen, sizeof(want) - 1);
    assert_memory_equal(m, want, sizeof(want) - 1);
    free(line);
}

/* messages of every length around the limits, of printable bytes and of control bytes (4 bytes each once escaped):
 * one line, cut with " [cut]" exactly when not all of it fits */
static void
test_long_messages_cut_saying_so(void **state)
{
    static char buf[6000];
    for (int ctl = 0; ctl != 2; ++ctl) {
        memset(buf, ctl ? '\n' : 'a', sizeof(buf));
        for (size_t len = 0; len <= sizeof(buf); len += len < 2100 && len > 1000 ? 1 : 97) {
            size_t n, mlen;
            char *line = logged(buf, len, &n);
            const char *m = message(line, n, &mlen);
            int cut = mlen >= 6 && memcmp(m + mlen - 6, " [cut]", 6) == 0;
            size_t kept = cut ? mlen - 6 : mlen;
            assert_true(n <= 4096);
            assert_int_equal(kept % (ctl ? 4 : 1), 0);
            assert_int_equal(cut, kept / (ctl ? 4 : 1) != len);
            assert_true(kept / (ctl ? 4 : 1) <= len);
            assert_true(!cut || len > 1000); /* (not cut early) */
            free(line);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_message_as_it_is),
        cmocka_unit_test(test_every_control_byte_escaped),
        cmocka_unit_test(test_forged_line_stays_inside),
        cmocka_unit_test(test_long_messages_cut_saying_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
