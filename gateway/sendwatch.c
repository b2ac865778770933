/*
 * sendwatch — an answer the client has stopped taking is ended after proxy.send_timeout_ms: a proxied one, and the
 * gateway's own (edge.c sets the watch up on every public path).
 *
 * h2o 2.2.5's proxy reads the origin's answer as fast as the origin sends it and holds it until the client takes it
 * (no backpressure), and nothing times out a client that stops taking it: HTTP/2's idle timeout runs only on a
 * connection without open streams, and HTTP/1 has no timeout once the request is read. An HTTP/1 client that did not
 * read kept the whole answer in the gateway for as long as it kept the connection, and an HTTP/2 client that opened its
 * streams with a window of 0 (SETTINGS_INITIAL_WINDOW_SIZE) kept up to 100 answers per connection: 100 requests for a
 * 5 MB page on one connection held 760 MB of a worker's memory, for good.
 *
 * As nginx's send_timeout: the answer goes to the client in pieces of at most SEND_PIECE bytes
 * (req->preferred_chunk_size, which the proxy and the compressor honour), and a piece the client has not taken within
 * proxy.send_timeout_ms ends the answer:
 *   - HTTP/2: the stream is reset (RST_STREAM CANCEL), and h2o disposes of it as of one its client resets; the
 *     connection's other streams go on. (A piece not taken because the client gives no window, or because the streams
 *     before it in the connection take its time: a client that reads 64 KB of a stream in a minute gets no answer.)
 *     When the socket itself took nothing in that time with the windows open, the connection is closed instead;
 *   - HTTP/1: the connection is closed.
 * The connection is closed as a client that goes away closes it: shutdown(2) of its socket, after which h2o's own next
 * read or write fails and h2o closes it and disposes of its requests (the proxy's buffers with them).
 *
 * The watch stands in for the proxy's generator (req->_generator): its proceed, which the protocol calls when the
 * client has taken what was sent, disarms the timer; the ostream it puts after the gateway's own arms it at each send
 * that reaches it (one an ostream above keeps to itself, that ostream proceeds by itself). What
 * it reads of HTTP/2's connection and stream (http2_internal.h) is Debian's libh2o 2.2.5's. No allocation beyond the
 * request's pool, no system call on the way of an answer the client takes.
 */
#include <sys/socket.h>
#include <h2o.h>
#include <h2o/http2.h>
#include <h2o/http2_internal.h>
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "server.h"
#include "sendwatch.h"

#define SEND_PIECE 65536

typedef struct st_sendwatch_t {
    h2o_generator_t super; /* in req->_generator's place */
    h2o_generator_t *inner; /* the proxy's */
    h2o_req_t *req;
    h2o_timeout_entry_t timer;
    size_t written; /* the socket's bytes_written when the timer was armed (HTTP/2) */
} sendwatch_t;

typedef struct st_sendwatch_ostream_t {
    h2o_ostream_t super;
    sendwatch_t *watch;
} sendwatch_ostream_t;

static __thread h2o_timeout_t send_timeout;

static void disarm(sendwatch_t *self)
{
    if (h2o_timeout_is_linked(&self->timer))
        h2o_timeout_unlink(&self->timer);
}

static void arm(sendwatch_t *self)
{
    h2o_socket_t *sock = self->req->conn->callbacks->get_socket(self->req->conn);
    disarm(self);
    self->written = sock != NULL ? sock->bytes_written : 0;
    h2o_timeout_link(self->req->conn->ctx->loop, &send_timeout, &self->timer);
}

static void on_dispose(void *p)
{
    disarm(p);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    sendwatch_t *self = (void *)gen;
    disarm(self);
    if (self->inner->proceed != NULL) /* (h2o_send_inline's has none: it sends everything at once) */
        self->inner->proceed(self->inner, req);
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    sendwatch_t *self = (void *)gen;
    disarm(self);
    if (self->inner->stop != NULL)
        self->inner->stop(self->inner, req);
}

/* the connection goes as if its client had closed it (h2o notices at its next read or write) */
static void close_connection(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock != NULL)
        shutdown(h2o_socket_get_fd(sock), SHUT_RDWR);
}

static void on_timeout(h2o_timeout_entry_t *entry)
{
    sendwatch_t *self = H2O_STRUCT_FROM_MEMBER(sendwatch_t, timer, entry);
    h2o_req_t *req = self->req;

    GW_COUNT(send_timeouts);
    if (req->version < 0x200) {
        close_connection(req);
        return;
    }
    h2o_http2_conn_t *conn = (void *)req->conn;
    h2o_http2_stream_t *stream = H2O_STRUCT_FROM_MEMBER(h2o_http2_stream_t, req, req);
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    int windows_open = h2o_http2_window_get_window(&stream->output_window) > 0 && h2o_http2_window_get_window(&conn->_write.window) > 0;
    if (conn->state >= H2O_HTTP2_CONN_STATE_IS_CLOSING || (windows_open && sock != NULL && sock->bytes_written == self->written)) {
        close_connection(req); /* the socket took nothing: no RST_STREAM would reach the client either */
        return;
    }
    /* as connection.c's stream_send_error, then what h2o does with a stream its client resets */
    h2o_http2_encode_rst_stream_frame(&conn->_write.buf, stream->stream_id, -H2O_HTTP2_ERROR_CANCEL);
    h2o_http2_conn_request_write(conn);
    h2o_http2_stream_reset(conn, stream); /* (disposes of req, and of self with it) */
}

static void watch_send(h2o_ostream_t *_self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    sendwatch_ostream_t *self = (void *)_self;
    /* (armed after the final piece too: the client has still to take it, and the request is disposed of once it has) */
    arm(self->watch);
    h2o_ostream_send_next(&self->super, req, bufs, bufcnt, state);
}

h2o_ostream_t **gw_sendwatch_setup(h2o_req_t *req, h2o_ostream_t **slot)
{
    sendwatch_t *watch = h2o_mem_alloc_shared(&req->pool, sizeof(*watch), on_dispose);
    *watch = (sendwatch_t){{on_proceed, on_stop}, req->_generator, req};
    watch->timer.cb = on_timeout;
    if (req->_generator != NULL) /* (none once the generator has sent its last: nothing more to proceed then) */
        req->_generator = &watch->super;
    if (req->preferred_chunk_size > SEND_PIECE)
        req->preferred_chunk_size = SEND_PIECE;
    sendwatch_ostream_t *ostr = (void *)h2o_add_ostream(req, sizeof(*ostr), slot);
    ostr->super.do_send = watch_send;
    ostr->watch = watch;
    return &ostr->super.next;
}

static void on_thread_init(h2o_context_t *ctx, size_t index)
{
    h2o_timeout_init(ctx->loop, &send_timeout, gw_rt.conf.proxy.send_timeout_ms);
}

void gw_sendwatch_init(void)
{
    gw_server_on_thread_init(on_thread_init);
}
