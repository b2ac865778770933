/*
 * uifiles — the consent UI's files (static/), read once at start and served from memory.
 *
 * Every consent record carries the hash of the UI served (records.c). Served from the disk, a file changed while the
 * gateway runs (an edited banner.css, an upgrade's banner.js installed before the restart) went out at once while the
 * records went on naming the files of the start. Read once, the files served are the files hashed, until a restart
 * reads them again.
 */
#ifndef GW_UIFILES_H
#define GW_UIFILES_H

#include <h2o.h>
#include <openssl/evp.h>

/* Reads every regular file under dir (names sorted per folder, folders where they sort; dot files left out). Call
 * once at start. Returns 0, or -1 when a file cannot be read (its name in the log). */
int gw_uifiles_load(const char *dir);

/* Adds "path\0contents\0" of every file, in that order, to md: the UI hash of the records. */
void gw_uifiles_hash(EVP_MD_CTX *md);

/* GET and HEAD of the files, below pc's path, except templates/ (read by ui.c, never served): 200 with an ETag of
 * the contents, 304 for an If-None-Match that names it; other methods 405. Other paths go to the next handler. */
void gw_uifiles_register(h2o_pathconf_t *pc);

#endif
