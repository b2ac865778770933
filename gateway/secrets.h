/*
 * secrets — the keys that sign consent tokens (and, derived from them, outbound links).
 *
 * The keys live in a small JSON file named by `secrets_file` in the config:
 *
 *   {"keys": [{"id": 2, "secret": "<base64url of 32 bytes>", "primary": true, "created": "..."},
 *             {"id": 1, "secret": "<base64url of 32 bytes>"}]}
 *
 * Rotation: tokens are signed with the one primary key and verified with any listed key, so
 * an operator adds a new primary, keeps the old key until the last token signed with it has
 * expired, then deletes it. "created" is informational (written on generation, optional).
 *
 * On first start the file does not exist: it is generated with one random primary key, mode
 * 0600, in a parent folder created 0700 if missing. The file appears atomically (written to a
 * temporary name opened O_CREAT|O_EXCL 0600, fsynced, then link()ed into place, which never
 * replaces an existing file, and the folder is fsynced), so two gateways starting at once
 * agree on one key and a crash never leaves a half-written secrets file.
 *
 * Policy decisions:
 * - A file readable or writable by group or others (mode & 077) is an error, not a warning:
 *   whoever can read it can forge consent; the message says "chmod 600".
 * - Semantic errors carry the position of the offending value (or of the object that lacks a
 *   member), found by re-scanning the text with gw_jsonpos; syntax errors use jansson's.
 */
#ifndef GW_SECRETS_H
#define GW_SECRETS_H

#include <stddef.h>
#include <stdint.h>
#include "token.h"

#define GW_SECRETS_MAX_KEYS 16
#define GW_SECRET_LEN 32                /* bytes of a key's secret */
#define GW_SECRETS_MAX_FILE (64 * 1024) /* a larger file is refused */

typedef struct st_gw_secrets_t {
    gw_token_key_t keys[GW_SECRETS_MAX_KEYS];      /* token keys, in file order; ids are 1..255 and unique */
    gw_token_key_t link_keys[GW_SECRETS_MAX_KEYS]; /* link_keys[i]: derived from keys[i]'s secret, same id */
    gw_token_key_t seal_keys[GW_SECRETS_MAX_KEYS]; /* seal_keys[i]: the consent records' seal key, likewise */
    size_t num_keys;
    size_t primary; /* index of the primary key in keys[] */
    int created;    /* 1 when gw_secrets_load generated the file */
} gw_secrets_t;

/*
 * Loads the secrets file at `path` into *out, generating it first when it does not exist
 * (see above). Returns 0 on success; -1 with "path:line:column: message" (or "path: message"
 * when no position applies) in err[0..errlen) otherwise, *out then being wiped.
 * *out holds no pointers; wipe it with gw_secrets_clear when done. path must not be NULL.
 */
int gw_secrets_load(const char *path, gw_secrets_t *out, char *err, size_t errlen);

/* As gw_secrets_load, for a reload (SIGHUP) and the commands that only read (--check-config, --verify-records): a
 * missing file is an error, never made. A new random key in its
 * place would make every token signed with the keys in force count as no consent, and the consent store, sealed with
 * the primary key it started with, refuse the next start. */
int gw_secrets_reload(const char *path, gw_secrets_t *out, char *err, size_t errlen);

/* Returns the key to sign new tokens with (never NULL for a successfully loaded *s). */
const gw_token_key_t *gw_secrets_primary(const gw_secrets_t *s);

/*
 * Returns the primary's link-signing key: HKDF-SHA256 (RFC 5869) of the primary's secret with
 * an all-zero salt and info "consentgate outbound link v1", 32 bytes, precomputed for
 * gw_token_hmac. It carries the primary's id, so a signed link can name its key and
 * s->link_keys[] verifies links signed before a rotation. Never NULL for a loaded *s.
 */
const gw_token_key_t *gw_secrets_link_key(const gw_secrets_t *s);

/* Derives the 32-byte link key from a secret (exposed for tests). Returns 0, or -1 on bad arguments. */
int gw_secrets_derive_link_key(const uint8_t *secret, size_t len, uint8_t out[32]);
/* The same with info "consentgate records seal v1": the key of the consent store's seal (chain.h). */
int gw_secrets_derive_seal_key(const uint8_t *secret, size_t len, uint8_t out[32]);

/* Wipes *s (OPENSSL_cleanse). NULL is a no-op. */
void gw_secrets_clear(gw_secrets_t *s);

#endif
