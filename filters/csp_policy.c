/*
 * csp_policy — see csp_policy.h.
 */
#include <string.h>
#include "csp_policy.h"

static int
is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
is_b64(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '-' ||
           c == '_';
}

static int
lceq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return 0;
    for (size_t i = 0; i != an; ++i)
        if ((a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]) != b[i])
            return 0;
    return 1;
}

/* the next token of p[*i, n) between whitespace; 0 at the end */
static int
next_token(const char *p, size_t n, size_t *i, const char **tok, size_t *tok_len)
{
    while (*i != n && is_ws(p[*i]))
        ++*i;
    if (*i == n)
        return 0;
    *tok = p + *i;
    while (*i != n && !is_ws(p[*i]))
        ++*i;
    *tok_len = (size_t)(p + *i - *tok);
    return 1;
}

/* the value of the first directive called name in the policy p[0, n); NULL when it has none */
static const char *
directive(const char *p, size_t n, const char *name, size_t *value_len)
{
    for (size_t start = 0; start <= n;) {
        const char *semi = memchr(p + start, ';', n - start);
        size_t end = semi != NULL ? (size_t)(semi - p) : n, i = 0;
        const char *tok;
        size_t tok_len;
        if (next_token(p + start, end - start, &i, &tok, &tok_len) && lceq(tok, tok_len, name)) {
            *value_len = end - start - i;
            return p + start + i;
        }
        start = end + 1;
    }
    return NULL;
}

/* the list the policy p[0, n) checks an element by: the first of names[] it has */
static const char *
effective(const char *p, size_t n, const char *const names[3], size_t *len)
{
    const char *v = NULL;
    for (size_t k = 0; k != 3 && v == NULL; ++k)
        v = directive(p, n, names[k], len);
    return v;
}

/* the first nonce in the source list v[0, n), copied into out ("" when none) */
static void
first_nonce(const char *v, size_t n, char out[GW_CSP_NONCE_MAX + 1])
{
    const char *tok;
    size_t tok_len, i = 0;
    while (next_token(v, n, &i, &tok, &tok_len)) {
        size_t b = 0, pad = 0, body = tok_len - 1;
        if (tok_len < 9 || !lceq(tok, 7, "'nonce-") || tok[body] != '\'')
            continue;
        while (7 + b != body && is_b64(tok[7 + b]))
            ++b;
        while (7 + b + pad != body && tok[7 + b + pad] == '=' && pad < 2)
            ++pad;
        if (b != 0 && 7 + b + pad == body && b + pad <= GW_CSP_NONCE_MAX) {
            memcpy(out, tok + 7, b + pad);
            out[b + pad] = '\0';
            return;
        }
    }
    out[0] = '\0';
}

static void
take(char *dst, unsigned *dst_enforced, const char *p, size_t n, const char *const names[3], int enforced)
{
    size_t len;
    const char *v;
    if ((dst[0] != '\0' && (*dst_enforced || !enforced)) || (v = effective(p, n, names, &len)) == NULL)
        return;
    char nonce[GW_CSP_NONCE_MAX + 1];
    first_nonce(v, len, nonce);
    if (nonce[0] != '\0') {
        memcpy(dst, nonce, strlen(nonce) + 1);
        *dst_enforced = enforced != 0;
    }
}

void
gw_csp_read_nonces(gw_csp_nonces_t *out, const char *value, size_t len, int enforced)
{
    static const char *const scripts[3] = {"script-src-elem", "script-src", "default-src"};
    static const char *const styles[3] = {"style-src-elem", "style-src", "default-src"};
    for (size_t start = 0; start <= len;) {
        const char *comma = memchr(value + start, ',', len - start);
        size_t end = comma != NULL ? (size_t)(comma - value) : len;
        unsigned se = out->script_enforced, ye = out->style_enforced;
        take(out->script, &se, value + start, end - start, scripts, enforced);
        take(out->style, &ye, value + start, end - start, styles, enforced);
        out->script_enforced = se;
        out->style_enforced = ye;
        start = end + 1;
    }
}
