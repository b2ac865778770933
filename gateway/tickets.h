/*
 * tickets — the TLS session ticket keys (TLS 1.3 tickets and TLS 1.2 session tickets), rotated with overlap.
 *
 * A small ring of keys held in memory only (never on disk, in a log or in a core dump): the newest seals every new
 * ticket, every key in the ring opens tickets (one sealed under an older key is renewed under the newest), and a key
 * leaves the ring, wiped, GW_TICKETS_KEEP rotations after it was drawn. The ring is process-wide and outlives the
 * SSL_CTXs: a certificate reload (SIGHUP) keeps it, so sessions resume across it; a restart draws a new one.
 *
 * Numbers: a new key every GW_TICKETS_ROTATE_S (1 h), each kept for GW_TICKETS_KEEP (3) rotations, so it seals for
 * 1 h and opens for 2 h more, the sessions' lifetime (GW_TICKETS_SESSION_S, 2 h, OpenSSL's default and the ticket
 * lifetime hint sent): every ticket resumes for its whole lifetime, and one key disclosed (memory) opens the tickets of
 * 1 h of sessions, not of the process's life. (h2o's own server draws one every 15 min, each kept 1 h, its sessions'
 * lifetime: a ticket sealed late under a key dies with the key, before its time.)
 *
 * Threads: the workers read the ring in the ticket callback (the handshake) through one atomic load, no lock; the
 * main thread rotates (gw_tickets_tick), publishing a new ring and wiping the old one after a QSBR grace period.
 */
#ifndef GW_TICKETS_H
#define GW_TICKETS_H

#include <openssl/ssl.h>

#define GW_TICKETS_ROTATE_S 3600
#define GW_TICKETS_KEEP 3
#define GW_TICKETS_SESSION_S ((GW_TICKETS_KEEP - 1) * GW_TICKETS_ROTATE_S)

/* draws the first key (before the workers start). CG_TICKET_KEY_SECONDS in the environment (1 to 3600, tests) shortens
 * the rotation period; the sessions' lifetime stays GW_TICKETS_SESSION_S. Returns 0, or -1 (no randomness, no memory). */
int gw_tickets_init(void);

/* sets ctx's ticket callback to the ring, and its session lifetime (any thread, before ctx is in use) */
void gw_tickets_setup(SSL_CTX *ctx);

/* main thread, after the workers started: rotates when due (waiting for a grace period of the workers). Returns the
 * seconds until the next rotation is due (at least 1). */
unsigned gw_tickets_tick(void);

#endif
