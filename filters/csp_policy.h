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

#endif
