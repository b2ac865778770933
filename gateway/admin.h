/*
 * admin — the admin listener: bearer-token authentication and a small router.
 *
 * Tokens come from admin.tokens_file, one "name:token" per line ('#' comments and blank
 * lines allowed). They are held as an immutable snapshot of SHA-256 digests, compared in
 * constant time, and reloaded on SIGHUP. No token → 401, an unknown token → 403.
 * Capabilities add their endpoints with gw_admin_add_route().
 */
#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <h2o.h>

/* who made the request (the token's name), for the audit log */
typedef struct st_gw_admin_caller_t {
    char name[64];
} gw_admin_caller_t;

/* answers the request; returns 0 (it must always answer) */
typedef int (*gw_admin_route_cb)(h2o_req_t *req, const gw_admin_caller_t *caller, h2o_iovec_t subpath);

/* method NULL: any method. `prefix` is matched against the path without the query, e.g. "/admin/lists/". */
void gw_admin_add_route(const char *method, const char *prefix, gw_admin_route_cb cb);

/* Loads the tokens file; returns 0, or -1 with a message in err. Lines that are not "name:token" are errors. */
int gw_admin_load_tokens(const char *path, char *err, size_t errlen);

/* builds the admin host's paths */
int gw_admin_register(h2o_hostconf_t *hostconf);

/* sends {"error": error, "detail": detail} (escaped) with a status */
void gw_admin_send_error(h2o_req_t *req, int status, const char *reason, const char *error, const char *detail);
/* 405 with the Allow header RFC 9110 asks for ("GET", "PUT") and a detail naming it */
void gw_admin_send_405(h2o_req_t *req, const char *allow);

/* sends a body with a content type and status */
void gw_admin_send(h2o_req_t *req, int status, const char *reason, const char *content_type, h2o_iovec_t body);

#endif
