/*
 * csp_policy — the nonces an origin's own Content-Security-Policy lets scripts and style sheets in by (pure; the glue
 * is gateway/rewrite.c).
 *
 * The origin's policy is enforced beside the gateway's, so the elements the gateway injects (the banner's script,
 * its state, its style sheet) must satisfy it too. When the origin's policy names a nonce for them, they carry it.
 * Read as CSP3's "parse a serialized CSP list": a field's value is split at commas into policies, a policy at ';'
 * into directives, a directive at ASCII whitespace into its name (without case) and its source expressions; a
 * directive named twice in one policy counts once, its first time. Scripts go by script-src-elem, else script-src,
 * else default-src; style sheets by style-src-elem, else style-src, else default-src. A nonce source expression is
 * "'nonce-" base64-value "'" (base64-value: letters, digits, "+", "/", "-", "_", then at most two "=");
 * anything else is no nonce, so what is copied into the page can only be those characters.
 */
#ifndef GW_CSP_POLICY_H
#define GW_CSP_POLICY_H

#include <stddef.h>

#define GW_CSP_NONCE_MAX 64 /* longer nonces are not copied (browsers' are 16 to 32 bytes in base64) */

typedef struct st_gw_csp_nonces_t {
    char script[GW_CSP_NONCE_MAX + 1]; /* "" when none */
    char style[GW_CSP_NONCE_MAX + 1];
    unsigned script_enforced : 1, style_enforced : 1; /* ... taken from an enforcing policy */
} gw_csp_nonces_t;

/*
 * Reads one Content-Security-Policy (enforced 1) or Content-Security-Policy-Report-Only (enforced 0) field's value.
 * Keeps the first nonce found for each, except that an enforcing policy's replaces a report-only one's: an element
 * carries one nonce, and what an enforcing policy blocks does not run. Start from a zeroed *out.
 */
void gw_csp_read_nonces(gw_csp_nonces_t *out, const char *value, size_t len, int enforced);

/*
 * Whether every policy of one field's value lets in an inline script carrying the nonce: its script-src-elem (else
 * script-src, else default-src) names 'nonce-<nonce>', or it has none of them. (A field may hold several policies,
 * comma-separated, and a response several fields: each is enforced, and one that blocks the script blocks it.)
 */
int gw_csp_lets_in_by_nonce(const char *value, size_t len, const char *nonce);

/*
 * What the gateway's UI needs that a policy may forbid, and how little is added to let it in:
 *   - connect-src (else default-src) that does not let in the page's own origin ('self', "*", the page's scheme):
 *     'self', for the banner's fetch of /__consent/api/ (same origin);
 *   - style-src-elem (else style-src, else default-src) that neither names style_nonce (which the style sheet link
 *     carries) nor lets in the page's own origin: 'self', for /__consent/banner.css;
 *   - script-src-elem (else script-src, else default-src) that neither names script_nonce nor lets in the page's own
 *     origin: script_source (the banner script's own URL, nothing else of the site), unless the list has
 *     'strict-dynamic', which ignores URLs (such a policy allows by nonce or hash only: the gateway cannot amend it
 *     without letting in more than its own element), or script_source is NULL.
 * An amendment goes at the end of the directive that governs; when that is default-src, a directive of its own
 * (connect-src, style-src, script-src) with default-src's list and the addition goes at the policy's end, so the
 * other kinds default-src governs are unchanged. A policy without any of them restricts none of these: unchanged.
 */
typedef struct st_gw_csp_amend_t {
    const char *scheme;       /* the page's: "https" or "http" */
    const char *script_nonce; /* the nonces the gateway's elements carry ("" none) */
    const char *style_nonce;
    const char *script_source; /* "https://host/__consent/banner.js" (lower case), NULL: not added (nor twice) */
} gw_csp_amend_t;

/* Writes value[0, len) amended into out[0, cap) and returns its length (which may pass cap: then out holds its first cap
 * bytes: call again with a buffer that large). Equal to len when nothing is amended. */
size_t gw_csp_amend(const char *value, size_t len, const gw_csp_amend_t *a, char *out, size_t cap);

#endif
