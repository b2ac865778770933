/*
 * channel — the private network channel: the security team's risk-site lists (filters/risk.c)
 * applied to pages and links, the signed link shim at /__go, CSP with per-response nonces
 * (HSTS: edge.c), and the admin API for the lists (/admin/lists, /admin/check, /admin/audit) with an
 * audit log that survives restarts. List files are watched (inotify) and reloaded on SIGHUP;
 * every change builds a new snapshot off the event loops and swaps it atomically.
 */
#ifndef GW_CHANNEL_H
#define GW_CHANNEL_H

#include <h2o.h>

/* loads the lists, registers the rewriter hook, the CSP response stage and the reload hooks */
int gw_channel_init(void);

/* Warns that risk.lists[i]'s file does not exist yet (the start, and --check-config, which says what the start would). */
void gw_channel_warn_missing_list(size_t i);

/* registers /__go on hostconf */
void gw_channel_register_go(h2o_hostconf_t *hostconf);

/* registers the admin routes */
void gw_channel_register_admin(void);

/* Signs url for /__go (HMAC-SHA256 with the link key, 128 bits, base64url) into out (23 bytes). `purpose` is "go" or
 * "continue". */
void gw_channel_sign(const char *purpose, const char *url, size_t len, char out[23]);

/* Whether hosts a and b (any case, no port) are one site: the same registrable domain by the public suffix list, or,
 * for a host that has none (an IP address, localhost), the same host. A host too long to tell is another site. */
int gw_channel_same_site(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
