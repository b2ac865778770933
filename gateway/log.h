/*
 * log — the error log: leveled, one line per event, timestamped, thread-safe by
 * construction (each line is one write(2) on an O_APPEND descriptor).
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>

enum { GW_LOG_DEBUG = 0, GW_LOG_INFO = 1, GW_LOG_WARN = 2, GW_LOG_ERROR = 3 };

/* Opens the error log at path (NULL: stderr) and sets the minimum level. Returns 0 or -1 (errno set). */
int gw_log_open(const char *path, int level);

/* Reopens the same path (after log rotation; called on SIGHUP). */
void gw_log_reopen(void);

void gw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line about an event that may come on every request (an origin that is down, a token being guessed): at most one a
 * second per throttle (one per call site and thread). Returns 1 when this one is to be written, with `more` the line's
 * tail ("; N more since the last such line", or ""); 0 when it is not (counted). */
typedef struct st_gw_log_throttle_t {
    uint64_t at, skipped;
} gw_log_throttle_t;
int gw_log_throttle(gw_log_throttle_t *t, uint64_t now_ms, char *more, size_t morelen);

#define gw_debug(...) gw_log(GW_LOG_DEBUG, __VA_ARGS__)
#define gw_info(...) gw_log(GW_LOG_INFO, __VA_ARGS__)
#define gw_warn(...) gw_log(GW_LOG_WARN, __VA_ARGS__)
#define gw_error(...) gw_log(GW_LOG_ERROR, __VA_ARGS__)

#endif
