/*
 * upstream_head — the origin's response head made safe for h2o 2.2.5's HTTP/1 client before it reads it.
 *
 * That client ends the whole process (an assert in on_error_before_head) when an HTTP/1.1 or keep-alive response has a
 * Content-Length that h2o_strtosize cannot read ("-5", "5, 5", "5 " — its parser keeps a value's trailing
 * whitespace —, 20 digits) or a Transfer-Encoding other than exactly "chunked" or "identity" ("Chunked", "gzip,
 * chunked"): one bad response from the origin took every visitor's connection with it. Later h2o versions fail the
 * response instead. h2o parses the head with picohttpparser's phr_parse_response, which libh2o exports and calls
 * through its PLT, so the definition below takes its place (the executable's symbols come first); it calls the
 * library's own, fails a status under 100 or a 101 (below), then, for a final response:
 *   - drops trailing whitespace from every field value (RFC 9110 5.5: it is not part of the value);
 *   - writes a transfer coding h2o compares case-sensitively in lower case ("Chunked" is chunked, RFC 9112 7);
 *   - drops the Content-Length of a chunked response (below);
 *   - fails the head (-1, "failed to parse the response": the proxy answers 502) when a Content-Length or
 *     Transfer-Encoding is still one h2o would assert on: where the body ends cannot be known (RFC 9112 6.3).
 *   - drops the fields the origin's Connection fields name (RFC 9110 7.6.1: they are hop-by-hop, for the gateway, not
 *     the visitor; h2o 2.2.5's proxy passed them on), but the ones h2o's client acts on itself: Connection (whether
 *     the connection is kept), Content-Length and Transfer-Encoding (where the body ends: dropped, the body would be
 *     read otherwise), which the proxy does not pass on either.
 * The head is in the client's socket buffer, which h2o itself writes to (it lower-cases the names in place).
 * No allocation, no lock, no system call: one pass over the headers picohttpparser found.
 */
#include <dlfcn.h>
#include <h2o.h>
#include "hop.h"
#include "upstream_head.h"

/* picohttpparser's (h2o 2.2.5, deps/picohttpparser/picohttpparser.h); not installed with libh2o */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len);

typedef int (*parse_response_fn)(const char *, size_t, int *, int *, const char **, size_t *, struct phr_header *, size_t *,
                                 size_t);
static parse_response_fn library_parse;

int gw_upstream_head_init(void)
{
    library_parse = (parse_response_fn)dlsym(RTLD_NEXT, "phr_parse_response");
    return library_parse != NULL && library_parse != phr_parse_response ? 0 : -1;
}

/* 0 when h2o's HTTP/1 client can read the framing fields of a final response (*num_headers less the Content-Length
 * fields a chunked one overrides), -1 when it would assert */
static int check_framing(struct phr_header *headers, size_t *num_headers)
{
    int chunked = 0;
    for (size_t i = 0; i != *num_headers; ++i) {
        struct phr_header *h = headers + i;
        while (h->value_len != 0 && (h->value[h->value_len - 1] == ' ' || h->value[h->value_len - 1] == '\t'))
            --h->value_len;
        if (h->name == NULL) /* a folded line (obs-fold): gateway/front.c drops it */
            continue;
        if (h2o_lcstris(h->name, h->name_len, H2O_STRLIT("content-length"))) {
            if (h2o_strtosize(h->value, h->value_len) == SIZE_MAX)
                return -1;
        } else if (h2o_lcstris(h->name, h->name_len, H2O_STRLIT("transfer-encoding"))) {
            if (h2o_lcstris(h->value, h->value_len, H2O_STRLIT("chunked")))
                chunked = 1;
            else if (!h2o_lcstris(h->value, h->value_len, H2O_STRLIT("identity")))
                return -1;
            h2o_strtolower((char *)h->value, h->value_len);
        }
    }
    /* chunked and a Content-Length: the chunks say where the body ends, and the length goes (RFC 9112 6.3: a proxy
     * forwarding such a response MUST remove it). h2o passed it on with the chunks' bytes: a client given a length
     * that is not the body's reads the next response's bytes as this one's (or, over HTTP/2, gets the stream reset) */
    if (chunked) {
        size_t kept = 0;
        for (size_t i = 0; i != *num_headers; ++i)
            if (headers[i].name == NULL || !h2o_lcstris(headers[i].name, headers[i].name_len, H2O_STRLIT("content-length")))
                headers[kept++] = headers[i];
        *num_headers = kept;
    }
    return 0;
}

static int is_field(const struct phr_header *h, const char *lcname, size_t len)
{
    return h->name != NULL && h2o_lcstris(h->name, h->name_len, lcname, len);
}

/* *num_headers less the fields the Connection fields name, but the ones h2o's client reads; each Connection field is
 * read once (hop.h's gw_hop_mark) */
static void drop_connection_options(struct phr_header *headers, size_t *num_headers)
{
    gw_hop_name_t names[H2O_MAX_HEADERS]; /* (h2o's client parses into as many) */
    uint8_t named[H2O_MAX_HEADERS];
    size_t kept = 0, first = 0, n = *num_headers;
    if (n > H2O_MAX_HEADERS)
        return; /* (never: h2o's client gives picohttpparser room for H2O_MAX_HEADERS) */
    while (first != n && !is_field(headers + first, H2O_STRLIT("connection")))
        ++first;
    if (first == n)
        return; /* (most origins' HTTP/1.1: no Connection field, nothing named) */
    for (size_t i = 0; i != n; ++i)
        names[i] = (gw_hop_name_t){headers[i].name != NULL ? headers[i].name : "", headers[i].name_len, i, 0};
    gw_hop_sort(names, n);
    for (size_t i = first; i != n; ++i)
        if (is_field(headers + i, H2O_STRLIT("connection")))
            gw_hop_mark(headers[i].value, headers[i].value_len, names, n);
    for (size_t i = 0; i != n; ++i)
        named[names[i].index] = (uint8_t)names[i].named;
    for (size_t i = 0; i != n; ++i) {
        const struct phr_header *h = headers + i;
        if (h->name == NULL || is_field(h, H2O_STRLIT("connection")) || is_field(h, H2O_STRLIT("content-length")) ||
            is_field(h, H2O_STRLIT("transfer-encoding")) || !named[i])
            headers[kept++] = *h;
    }
    *num_headers = kept;
}

int phr_parse_response(const char *buf, size_t len, int *minor_version, int *status, const char **msg, size_t *msg_len,
                       struct phr_header *headers, size_t *num_headers, size_t last_len)
{
    int rlen = library_parse(buf, len, minor_version, status, msg, msg_len, headers, num_headers, last_len);
    if (rlen <= 0)
        return rlen;
    /* a status under 100 (picohttpparser takes any three digits) ended the process when sent on over HTTP/2 (an assert
     * in h2o's HPACK encoder); a 101 answers an upgrade the gateway never asks for (the proxy has no WebSocket
     * support): an HTTP/1.1 client was left waiting on a switched connection, HTTP/2 got the stream reset */
    if (*status < 100 || *status == 101)
        return -1;
    /* h2o reads the framing of a final response only (other 1xx are skipped) */
    if (*status >= 200 && check_framing(headers, num_headers) != 0)
        return -1;
    if (*status >= 200)
        drop_connection_options(headers, num_headers);
    return rlen;
}
