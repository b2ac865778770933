/*
 * fetch — two small pieces of how browsers fetch, for the gateway's request and HTML paths: the
 * candidate URLs of a srcset attribute, and whether an Accept-Encoding value accepts a coding.
 * Pure, bounded, no allocation; unit-tested and fuzzed.
 */
#ifndef GW_FETCH_H
#define GW_FETCH_H

#include <stddef.h>

/*
 * Iterates the candidates of a srcset value (HTML §4.8.4.3.10, "parse a srcset attribute"): a URL is
 * a run of non-blanks after any blanks and commas, its trailing commas not its own; when it had none,
 * a descriptor follows, up to the next comma outside parentheses. Start with *pos = 0; each call sets
 * *url / *url_len (never empty) and returns 1, or returns 0 when no candidate is left.
 */
int gw_srcset_next(const char *v, size_t len, size_t *pos, const char **url, size_t *url_len);

/*
 * 1 when the Accept-Encoding value v[0..len) lists coding (case-insensitive; for "gzip", "x-gzip"
 * too) with a q-value other than 0 ("q=0", "q=0.", "q=0.000" refuse it), else 0. "*" does not count:
 * the caller asks for a coding by name.
 */
int gw_accepts_coding(const char *v, size_t len, const char *coding);

#endif
