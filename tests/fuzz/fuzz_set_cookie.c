/*
 * libFuzzer driver for the Set-Cookie parser and serialiser (filters/cookie.c).
 *
 * Checks on every input: parsed fields lie inside the input; a parsed cookie always
 * formats; the formatted line parses to the same cookie (name, value, domain, path,
 * expires, max-age, flags, SameSite) and formats to the same bytes. The whole input is
 * also tried as a cookie-date: a parsed date formats as an IMF-fixdate that parses back
 * to the same second.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "cookie.h"

#define CHECK(c)                                                                                                                   \
    do {                                                                                                                           \
        if (!(c))                                                                                                                  \
            __builtin_trap();                                                                                                      \
    } while (0)

static int
inside(const char *p, size_t n, const char *s, size_t len)
{
    return n == 0 || (p >= s && p + n <= s + len);
}

static int
same_span(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    static char out[GW_SET_COOKIE_MAX_LINE], out2[GW_SET_COOKIE_MAX_LINE];
    gw_set_cookie_t c, c2;

    int64_t t, t2;
    if (gw_cookie_parse_date(s, size, &t) == 0) {
        char d[GW_COOKIE_HTTP_DATE_LEN];
        CHECK(gw_cookie_format_http_date(t, d, sizeof(d)) == GW_COOKIE_HTTP_DATE_LEN);
        CHECK(gw_cookie_parse_date(d, sizeof(d), &t2) == 0 && t2 == t);
    }

    int r = gw_set_cookie_parse(s, size, &c);
    CHECK(r <= 0 && gw_cookie_strerror(r) != NULL);
    if (r != 0)
        return 0;
    CHECK(inside(c.name, c.name_len, s, size) && inside(c.value, c.value_len, s, size));
    CHECK(inside(c.domain, c.domain_len, s, size) && inside(c.path, c.path_len, s, size));
    CHECK(inside(c.expires_raw, c.expires_raw_len, s, size));
    CHECK(c.name_len + c.value_len > 0 && c.name_len + c.value_len <= GW_COOKIE_MAX_NAME_VALUE);

    size_t n = gw_set_cookie_format(&c, out, sizeof(out));
    CHECK(n > 0);
    CHECK(gw_set_cookie_parse(out, n, &c2) == 0);
    CHECK(same_span(c.name, c.name_len, c2.name, c2.name_len) && same_span(c.value, c.value_len, c2.value, c2.value_len));
    CHECK(same_span(c.domain, c.domain_len, c2.domain, c2.domain_len) && same_span(c.path, c.path_len, c2.path, c2.path_len));
    CHECK(c.expires == c2.expires && c.has_max_age == c2.has_max_age && (!c.has_max_age || c.max_age == c2.max_age));
    CHECK(c.secure == c2.secure && c.http_only == c2.http_only && c.partitioned == c2.partitioned && c.same_site == c2.same_site);
    size_t n2 = gw_set_cookie_format(&c2, out2, sizeof(out2));
    CHECK(n2 == n && memcmp(out, out2, n) == 0);
    return 0;
}
