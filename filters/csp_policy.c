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

/* the lists a script element is checked by, the first a policy has (effective) */
static const char *const scripts[3] = {"script-src-elem", "script-src", "default-src"};

/* A field's value holds policies separated by commas, each enforced on its own: the next one, value[*at, …) up to its
 * comma, as *p, *n, and *at past it; 0 after the last. *last: whether no comma follows it. */
static int
next_policy(const char *value, size_t len, size_t *at, const char **p, size_t *n, int *last)
{
    if (*at > len)
        return 0;
    const char *comma = memchr(value + *at, ',', len - *at);
    size_t end = comma != NULL ? (size_t)(comma - value) : len;
    *p = value + *at;
    *n = end - *at;
    *last = comma == NULL;
    *at = end + 1;
    return 1;
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
    static const char *const styles[3] = {"style-src-elem", "style-src", "default-src"};
    const char *p;
    size_t n;
    int last;
    for (size_t at = 0; next_policy(value, len, &at, &p, &n, &last);) {
        unsigned se = out->script_enforced, ye = out->style_enforced;
        take(out->script, &se, p, n, scripts, enforced);
        take(out->style, &ye, p, n, styles, enforced);
        out->script_enforced = se;
        out->style_enforced = ye;
    }
}

/* --- amending a policy for the gateway's UI ------------------------------------------------------------------------ */

/* whether the source list v[0, n) names the token tok (without case) */
static int
has_token(const char *v, size_t n, const char *tok)
{
    const char *t;
    size_t t_len, i = 0;
    while (next_token(v, n, &i, &t, &t_len))
        if (lceq(t, t_len, tok))
            return 1;
    return 0;
}

/* whether the source list v[0, n) lets in a URL of the page's own origin: 'self', "*", or the page's scheme. Other
 * lists get the amendment, redundant when one of their host sources named the site (harmless). */
static int
allows_self(const char *v, size_t n, const char *scheme)
{
    char sch[16];
    size_t k = strlen(scheme);
    if (k + 2 > sizeof(sch))
        return 0;
    memcpy(sch, scheme, k);
    memcpy(sch + k, ":", 2);
    return has_token(v, n, "'self'") || has_token(v, n, "*") || has_token(v, n, sch) || has_token(v, n, "http:");
}

/* whether the list v[0, n) names nonce (carried by the gateway's element): "'nonce-" without case, the nonce as is */
static int
has_nonce(const char *v, size_t n, const char *nonce)
{
    const char *t;
    size_t t_len, i = 0, k = strlen(nonce);
    while (k != 0 && next_token(v, n, &i, &t, &t_len))
        if (t_len == k + 8 && lceq(t, 7, "'nonce-") && memcmp(t + 7, nonce, k) == 0 && t[t_len - 1] == '\'')
            return 1;
    return 0;
}

/* (see csp_policy.h) */
int
gw_csp_lets_in_by_nonce(const char *value, size_t len, const char *nonce)
{
    const char *p, *v;
    size_t n, vn;
    int last;
    for (size_t at = 0; next_policy(value, len, &at, &p, &n, &last);)
        if ((v = effective(p, n, scripts, &vn)) != NULL && !has_nonce(v, vn, nonce))
            return 0;
    return 1;
}

typedef struct {
    char *out;
    size_t cap, len; /* len may pass cap: what it would take */
} sink_t;

static void
put(sink_t *s, const char *p, size_t n)
{
    if (s->len < s->cap)
        memcpy(s->out + s->len, p, s->len + n <= s->cap ? n : s->cap - s->len);
    s->len += n;
}

typedef struct {
    const char *at;               /* insert before this byte of the policy ... */
    const char *dir, *base, *add; /* "; dir base add" when dir != NULL (a new directive), else " add" */
    size_t base_len;
} edit_t;

/* the amendment of one list: the directive that governs it (names[0..2]) gets add, or, when default-src governs, a
 * directive names[1] of its own with default-src's list and add */
static void
plan(edit_t *e, size_t *num, const char *p, size_t n, const char *const names[3], const char *add)
{
    size_t len;
    for (size_t k = 0; k != 3; ++k) {
        const char *v = directive(p, n, names[k], &len);
        if (v == NULL)
            continue;
        while (k == 2 && len != 0 && is_ws(*v))
            ++v, --len;
        e[*num] = k != 2 ? (edit_t){v + len, NULL, NULL, add, 0} : (edit_t){p + n, names[1], v, add, len};
        ++*num;
        return;
    }
}

/* the edits in the order of the policy's bytes; new directives, at its end, after an addition to its last directive
 * there */
static int
goes_before(const edit_t *a, const edit_t *b)
{
    return a->at < b->at || (a->at == b->at && a->dir == NULL && b->dir != NULL);
}

static void
amend_policy(sink_t *s, const char *p, size_t n, const gw_csp_amend_t *a)
{
    static const char *const styles[3] = {"style-src-elem", "style-src", "default-src"};
    static const char *const connects[3] = {"connect-src", "connect-src", "default-src"};
    edit_t e[3];
    size_t num = 0, len;
    const char *v;
    if ((v = effective(p, n, connects, &len)) != NULL && !allows_self(v, len, a->scheme))
        plan(e, &num, p, n, connects, "'self'");
    if ((v = effective(p, n, styles, &len)) != NULL && !has_nonce(v, len, a->style_nonce) && !allows_self(v, len, a->scheme))
        plan(e, &num, p, n, styles, "'self'");
    if (a->script_source != NULL && (v = effective(p, n, scripts, &len)) != NULL && !has_nonce(v, len, a->script_nonce) &&
        !allows_self(v, len, a->scheme) && !has_token(v, len, "'strict-dynamic'") && !has_token(v, len, a->script_source))
        plan(e, &num, p, n, scripts, a->script_source);
    for (size_t i = 1; i < num; ++i)
        for (size_t j = i; j != 0 && goes_before(&e[j], &e[j - 1]); --j) {
            edit_t t = e[j];
            e[j] = e[j - 1];
            e[j - 1] = t;
        }
    const char *from = p;
    for (size_t i = 0; i != num; ++i) {
        put(s, from, (size_t)(e[i].at - from));
        from = e[i].at;
        if (e[i].dir != NULL) {
            put(s, "; ", 2);
            put(s, e[i].dir, strlen(e[i].dir));
            put(s, " ", 1);
            put(s, e[i].base, e[i].base_len);
        }
        put(s, " ", 1);
        put(s, e[i].add, strlen(e[i].add));
    }
    put(s, from, (size_t)(p + n - from));
}

size_t
gw_csp_amend(const char *value, size_t len, const gw_csp_amend_t *a, char *out, size_t cap)
{
    sink_t s = {out, cap, 0};
    const char *p;
    size_t n;
    int last;
    for (size_t at = 0; next_policy(value, len, &at, &p, &n, &last);) {
        amend_policy(&s, p, n, a);
        if (!last)
            put(&s, ",", 1);
    }
    return s.len;
}
