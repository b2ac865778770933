/*
 * sendwatch — an answer the client has stopped taking is ended after proxy.send_timeout_ms (see sendwatch.c):
 * its HTTP/2 stream is reset, or its connection closed.
 */
#ifndef GW_SENDWATCH_H
#define GW_SENDWATCH_H

#include <h2o.h>

/* Registers the per-thread timeout (call once at start, before the worker threads are made). */
void gw_sendwatch_init(void);

/* Watches req's answer: puts an ostream at slot, which should come after every ostream that may end the answer early
 * (h2o wants such an ostream first in the chain), and stands in for req->_generator when it has one. Call from a
 * filter's or prefilter's on_setup_ostream (or later, from an ostream's first send). Returns the slot the next ostreams go to.
 * Allocates from req's pool only. */
h2o_ostream_t **gw_sendwatch_setup(h2o_req_t *req, h2o_ostream_t **slot);

#endif
