"""HTTP semantics of the gateway as an intermediary (RFC 9110, RFC 9112): hop-by-hop fields in both directions,
Max-Forwards, and what the gateway's own answers carry (HSTS, the send timeout, HEAD), against the real binary, a real
origin (conf/demo/origin.py, or one of raw bytes for what that one will not send) and real clients."""

import socket
import subprocess
import threading
import time
import urllib.parse

from harness import ADMIN_TOKEN, GatewayTestCase, curl, gateway_config, metric, raw_request
import harness
from test_http2 import CANCEL, END_STREAM, H2, HEADERS, RST_STREAM, SETTINGS_INITIAL_WINDOW_SIZE, rst_code

# the fields RFC 9110 7.6.1 names connection-specific (and RFC 2616's hop-by-hop list: Proxy-Authenticate,
# Proxy-Authorization, Trailer), which a proxy does not pass on in either direction
FIXED_HOP = ("Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection")


def origin_saw(entry, name):
    return harness.Origin.header(entry, name)


class HopByHopTest(GatewayTestCase):
    """Fields named in a Connection header, and the fixed hop-by-hop ones, stop at the gateway in both directions."""

    RESPONSES = {
        # Connection options in two fields, any case, with blanks; "close" is the gateway's own to act on (h2o's client)
        "/named": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, X-Foo ,x-bar\r\n"
                  b"X-Foo: 1\r\nX-Bar: 2\r\nconnection: X-BAZ\r\nX-Baz: 3\r\nX-Kept: 4\r\nContent-Length: 2\r\n\r\nok",
        # framing named as an option: the gateway still reads the body by it (and does not pass the length on as a field
        # of its own: it is the message's)
        "/framing": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close, content-length, transfer-encoding\r\n"
                    b"Content-Length: 5\r\n\r\nhello",
        "/fixed": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nKeep-Alive: timeout=5\r\n"
                  b"TE: trailers\r\nTrailer: X-Checksum\r\nUpgrade: h2c\r\nProxy-Authenticate: Basic realm=\"origin\"\r\n"
                  b"Proxy-Authorization: Basic b3JpZ2luOm9yaWdpbg==\r\nX-Kept: 4\r\nContent-Length: 2\r\n\r\nok",
        "/fixed-chunked": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nTrailer: X-Checksum\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Checksum: 1\r\n\r\n",
    }

    @classmethod
    def setUpClass(cls):
        cls.raw = socket.socket()
        cls.raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        cls.raw.bind(("127.0.0.1", 0))
        cls.raw.listen(16)

        def serve():
            while True:
                try:
                    c, _ = cls.raw.accept()
                except OSError:
                    return
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                path = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "/"
                c.sendall(cls.RESPONSES.get(path.split("?")[0], b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
                c.close()
        threading.Thread(target=serve, daemon=True).start()
        super().setUpClass()
        cls.rawgw = cls.new_gateway("raw", gateway_config("http://127.0.0.1:%d" % cls.raw.getsockname()[1]))

    @classmethod
    def tearDownClass(cls):
        cls.raw.close()
        super().tearDownClass()

    def test_fields_the_origins_connection_names_are_not_passed_on(self):
        for http in ("1.1", "h2c"):
            r = curl(self.rawgw.url("/named"), http=http)
            self.assertEqual((r.status, r.body), (200, b"ok"), (http, r))
            for name in ("X-Foo", "X-Bar", "X-Baz"):
                self.assertEqual(r.header_all(name), [], (http, name, r.headers))
            self.assertIn(r.header_all("Connection"), ([], ["keep-alive"]), http)  # (the gateway's own, to the client)
            self.assertEqual(r.header("X-Kept"), "4", http)
            r = curl(self.rawgw.url("/framing"), http=http)
            self.assertEqual((r.status, r.body), (200, b"hello"), (http, r))
            self.assertIsNone(r.header("Transfer-Encoding") if http == "h2c" else None)

    def test_fixed_hop_by_hop_fields_of_the_origin_are_not_passed_on(self):
        for http in ("1.1", "h2c"):
            for path in ("/fixed", "/fixed-chunked"):
                r = curl(self.rawgw.url(path), http=http)
                self.assertEqual((r.status, r.body), (200, b"ok"), (http, path, r))
                for name in FIXED_HOP:
                    self.assertEqual(r.header_all(name), [], (http, path, name, r.headers))
        self.assertEqual(curl(self.rawgw.url("/fixed")).header("X-Kept"), "4")

    def test_fields_the_clients_connection_names_do_not_reach_the_origin(self):
        r = curl(self.gw.url("/__origin/echo?t=conn-named"), headers=[
            "Connection: X-Bar, x-baz", "Connection: keep-alive , X-Qux", "X-Bar: 1", "X-Baz: 2", "X-Qux: 3", "X-Kept: 4"])
        self.assertEqual(r.status, 200, r)
        e = self.origin.assert_reached("t=conn-named")
        for name in ("X-Bar", "X-Baz", "X-Qux"):
            self.assertEqual(origin_saw(e, name), [], name)
        self.assertEqual(origin_saw(e, "X-Kept"), ["4"])
        # a named field is as if the client had not sent it, a Cookie too (the gateway's own fields for the origin, which
        # it adds after, are never the client's to name)
        r = curl(self.gw.url("/__origin/echo?t=conn-cookie"), headers=["Connection: cookie", "Cookie: sid=1"])
        self.assertEqual(r.status, 200, r)
        e = self.origin.assert_reached("t=conn-cookie")
        self.assertEqual(origin_saw(e, "Cookie"), [])
        r = curl(self.gw.url("/__origin/echo?t=conn-cc"), headers=["Connection: consent-categories"])
        self.assertEqual(origin_saw(self.origin.assert_reached("t=conn-cc"), "Consent-Categories"), ["necessary"])

    def test_fixed_hop_by_hop_fields_of_the_client_do_not_reach_the_origin(self):
        sent = ["Keep-Alive: 300", "TE: trailers", "Trailer: X-Checksum", "Proxy-Authorization: Basic dmlzaXRvcjpzZWNyZXQ=",
                "Proxy-Authenticate: Basic realm=\"x\"", "Proxy-Connection: keep-alive", "X-Kept: 4"]
        for http, sent_here in (("1.1", sent), ("h2c", [h for h in sent if not h.startswith(("TE", "Keep-Alive"))])):
            tag = "t=fixed-req-" + http
            r = curl(self.gw.url("/__origin/echo?" + tag), http=http, headers=sent_here)
            self.assertEqual(r.status, 200, (http, r))
            e = self.origin.assert_reached(tag)
            for name in FIXED_HOP:
                self.assertEqual(origin_saw(e, name), [], (http, name))
            self.assertEqual(origin_saw(e, "X-Kept"), ["4"], http)
            self.assertEqual(origin_saw(e, "Connection"), ["keep-alive"], http)  # (h2o's own, to the origin)
