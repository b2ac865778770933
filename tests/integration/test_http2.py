"""The gateway as an HTTP/2 and TLS server: what differs when the visitor speaks h2 (over TLS with ALPN, or h2c), and what
h2o 2.2.5 does on its own there. Where curl and nghttp cannot make the case, a small client of our own writes the frames
(H2 below: HPACK literals without indexing, no Huffman)."""

import collections
import json
import re
import socket
import ssl
import struct
import subprocess
import time

from harness import ADMIN_TOKEN, GatewayTestCase, big_body_pattern, curl, metric, run_binary

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS = 1, 4
SETTINGS_INITIAL_WINDOW_SIZE = 4
CANCEL = 8


def hpack_int(v, prefix, first=0):
    m = (1 << prefix) - 1
    if v < m:
        return bytes([first | v])
    out, v = [first | m], v - m
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    return bytes(out + [v])


def hpack_literal(name, value):
    """A header field as a literal without indexing, its name new (RFC 7541 6.2.2)."""
    name, value = name.encode(), value.encode()
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def frame(ftype, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


class H2:
    """One HTTP/2 connection, prior knowledge (plain) or ALPN h2 (TLS); frames as (type, flags, stream, payload)."""

    def __init__(self, port, tls=False, settings=(), timeout=10):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
            assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
        self.sock, self.tls, self.buf, self.frames, self.closed = sock, tls, b"", [], False
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
                          frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in settings)))

    def close(self):
        self.sock.close()

    def send(self, ftype, flags, sid, payload=b""):
        self.sock.sendall(frame(ftype, flags, sid, payload))

    def request(self, sid, path, method="GET", headers=(), end_stream=True):
        block = (hpack_literal(":method", method) + hpack_literal(":scheme", "https" if self.tls else "http") +
                 hpack_literal(":path", path) + hpack_literal(":authority", "127.0.0.1") +
                 b"".join(hpack_literal(k, v) for k, v in headers))
        self.send(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), sid, block)

    def window_update(self, sid, n):
        self.send(WINDOW_UPDATE, 0, sid, struct.pack(">I", n))

    def read(self, until, timeout=10.0):
        """Reads frames into self.frames until until(self.frames) holds, the connection closes or timeout passes;
        returns whether until held."""
        deadline = time.monotonic() + timeout
        while True:
            while len(self.buf) >= 9 and len(self.buf) >= 9 + int.from_bytes(self.buf[:3], "big"):
                n = int.from_bytes(self.buf[:3], "big")
                f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7fffffff, self.buf[9:9 + n])
                self.buf = self.buf[9 + n:]
                self.frames.append(f)
                if f[0] == SETTINGS and not f[1] & 1:
                    self.send(SETTINGS, 1, 0)  # ack
            if until(self.frames):
                return True
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                return False
            except (ConnectionResetError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
            self.buf += data

    def of(self, sid, ftype=None):
        return [f for f in self.frames if f[2] == sid and (ftype is None or f[0] == ftype)]

    def body(self, sid):
        return b"".join(f[3] for f in self.of(sid, DATA))

    def ended(self, sid):
        return any(f[0] in (DATA, HEADERS) and f[1] & END_STREAM for f in self.of(sid)) or bool(self.of(sid, RST_STREAM))


def rst_code(f):
    return int.from_bytes(f[3], "big")


class SlowClientTest(GatewayTestCase):
    """h2o 2.2.5's proxy reads the origin's answer whole and holds it until the client takes it, and nothing timed a
    client out that stopped taking it: one HTTP/2 connection of 100 requests for a 5 MB page with a window of 0 held 760
    MB of a worker's memory for good (measured), an HTTP/1 client that did not read its answer kept it as long as it kept
    the connection. A piece the client has not taken within proxy.send_timeout_ms now ends the answer."""
    with_tls = True
    config = {"proxy": {"send_timeout_ms": 1000}}

    def test_h2_streams_without_window_are_reset_and_the_connection_goes_on(self):
        for tls in (False, True):
            before = metric(self.gw, "cg_send_timeouts_total")
            c = H2(self.gw.tls_port if tls else self.gw.port, tls=tls, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0)])
            sids = [1 + 2 * i for i in range(20)]
            t0 = time.monotonic()
            # a binary answer, a page the rewriter reads, the same gzipped (the rewriter, then h2o's compressor)
            kinds = ["/__origin/big?bytes=2000000&", "/__origin/html?file=pages/embeds.html&repeat=2000&",
                     "/__origin/html?file=pages/embeds.html&repeat=2000&"]
            for sid in sids:
                c.request(sid, kinds[sid % 3] + "t=nowindow-%s-%d" % (tls, sid),
                          headers=[("accept-encoding", "gzip")] if sid % 3 == 2 else [])
            # one more stream that the client does read, on the same connection
            c.request(41, "/__origin/big?bytes=300000&t=reads-%s" % tls)
            c.window_update(41, 1 << 20)
            c.window_update(0, 1 << 24)
            self.assertTrue(c.read(lambda f: all(c.of(sid, RST_STREAM) for sid in sids) and c.ended(41), timeout=8),
                            (tls, collections.Counter((f[0], f[2]) for f in c.frames)))
            self.assertLess(time.monotonic() - t0, 6)
            self.assertEqual({rst_code(c.of(sid, RST_STREAM)[0]) for sid in sids}, {CANCEL})
            self.assertEqual(c.body(41), big_body_pattern(300000))
            self.assertEqual(c.of(41, RST_STREAM), [])
            # the connection is still there: a new stream is answered
            c.send(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, 65535))
            c.request(43, "/__origin/echo?t=after-%s" % tls)
            self.assertTrue(c.read(lambda f: c.ended(43)), tls)
            self.assertIn(b'"path": "/__origin/echo?t=after-', c.body(43))
            c.close()
            self.assertEqual(metric(self.gw, "cg_send_timeouts_total") - before, 20)
        self.assertTrue(self.gw.alive())

    def test_h1_client_that_stops_reading_is_closed(self):
        for tls in (False, True):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", self.gw.tls_port if tls else self.gw.port))
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                raw = ctx.wrap_socket(raw, server_hostname="localhost")
            raw.sendall(b"GET /__origin/big?bytes=8000000&t=h1-stops-%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % tls)
            time.sleep(3)  # takes nothing for 3 s
            got, closed = 0, False
            raw.settimeout(5)
            try:
                while True:
                    data = raw.recv(65536)
                    if not data:
                        closed = True
                        break
                    got += len(data)
            except (socket.timeout, TimeoutError):
                pass
            except (ConnectionResetError, ssl.SSLError):
                closed = True
            raw.close()
            self.assertTrue(closed, "the connection stayed open (tls=%s, %d bytes read after the pause)" % (tls, got))
            self.assertLess(got, 8000000, tls)

    def test_slow_but_steady_readers_get_everything(self):
        # 16 KB every 50 ms: the 600 KB take ~2 s, twice send_timeout_ms, and each piece is taken well within it
        size = 600000
        for tls in (False, True):
            c = H2(self.gw.tls_port if tls else self.gw.port, tls=tls, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 16384)])
            c.request(1, "/__origin/big?bytes=%d&t=steady-h2-%s" % (size, tls))
            deadline = time.monotonic() + 20
            while not c.ended(1) and time.monotonic() < deadline:
                seen = len(c.body(1))
                c.read(lambda f: len(c.body(1)) > seen or c.ended(1), timeout=0.05)
                if len(c.body(1)) > seen:
                    c.window_update(1, len(c.body(1)) - seen)
                    c.window_update(0, len(c.body(1)) - seen)
                time.sleep(0.05)
            self.assertEqual(c.of(1, RST_STREAM), [], tls)
            self.assertEqual(c.body(1), big_body_pattern(size), tls)
            c.close()
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        raw.connect(("127.0.0.1", self.gw.port))
        raw.sendall(b"GET /__origin/big?bytes=%d&t=steady-h1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % size)
        data = b""
        while True:
            more = raw.recv(8192)
            if not more:
                break
            data += more
            time.sleep(0.05)
        raw.close()
        self.assertTrue(data.endswith(big_body_pattern(size)[-1000:]), data[:200])
        self.assertEqual(len(data.split(b"\r\n\r\n", 1)[1]), size)


class TlsTest(GatewayTestCase):
    """What the TLS listener offers, probed with the openssl CLI as a scanner does."""
    with_tls = True

    def handshake(self, *args):
        """openssl s_client with args: (protocol, cipher) agreed, or None when the handshake failed."""
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.gw.tls_port, "-servername", "localhost",
                            "-brief"] + list(args), input=b"", capture_output=True, timeout=20)
        out = (p.stdout + p.stderr).decode(errors="replace")
        proto = re.search(r"Protocol version: (\S+)", out)
        cipher = re.search(r"Ciphersuite: (\S+)", out)
        return (proto.group(1), cipher.group(1)) if proto and cipher else None

    def test_versions_and_ciphers(self):
        # TLS 1.0 and 1.1 refused; 1.3 with its AEAD suites
        for old in ("-tls1", "-tls1_1"):
            self.assertIsNone(self.handshake(old, "-cipher", "ALL:@SECLEVEL=0"), old)
        self.assertEqual(self.handshake("-tls1_3"), ("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
        # TLS 1.2: forward-secret AEAD suites only. OpenSSL's default list also took RSA key exchange (no forward
        # secrecy) and CBC suites, which RFC 9113 (9.2.2, Appendix A) bars from HTTP/2: a client offering h2 and only such
        # suites got h2 over one of them, and a client that checks (nghttp2, browsers) fails it with INADEQUATE_SECURITY
        self.assertEqual(self.handshake("-tls1_2"), ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"))
        for ok in ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"):
            self.assertEqual(self.handshake("-tls1_2", "-cipher", ok), ("TLSv1.2", ok))
        offered = subprocess.run(["openssl", "ciphers", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"], capture_output=True, text=True,
                                 check=True).stdout.strip().split(":")
        weak = [c for c in offered if not ("ECDHE" in c and ("GCM" in c or "CHACHA20" in c))]
        self.assertIn("AES128-SHA", weak)
        agreed = [c for c in weak if self.handshake("-tls1_2", "-cipher", c + ":@SECLEVEL=0")]
        self.assertEqual(agreed, [])
        r = curl(self.gw.url("/__origin/echo?t=h2-weak", tls=True), http="2", extra=["--tls-max", "1.2", "--ciphers", "AES128-SHA"])
        self.assertNotEqual(r.exit_code, 0, r)
        self.origin.assert_not_reached("t=h2-weak")


def admin_records(gw):
    r = curl(gw.admin_url("/admin/records?since=0"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


class Http2RequestTest(GatewayTestCase):
    """What an HTTP/2 client may send that an HTTP/1 one cannot: cookie crumbs, bodies in DATA frames (any number of them,
    with or without a content-length), streams reset mid-way, many requests at once on one connection."""
    with_tls = True
    config = {"cookies": {"overrides": {"sid": "necessary"}}}

    def test_cookie_crumbs_every_consumer_sees_them_all(self):
        """RFC 9113 8.2.3: an HTTP/2 client may send its Cookie as one field per pair. The token in a crumb of its own, not
        the first, is read by the front (the origin gets the granted pairs, joined into one field, and never the token),
        by the consent API and by the preference centre; without it, every crumb of a refused category is held back and
        expired."""
        for tls, name in ((True, "__Host-cg_consent"), (False, "cg_consent")):
            r = curl(self.gw.url("/__consent/api/consent", tls=tls), http="2" if tls else "h2c", method="POST",
                     headers=["Content-Type: application/json"], data=b'{"all": true}')
            self.assertEqual((r.status, r.http_version), (200, "2"), r)
            token = r.json()
            value = re.search(r"%s=([A-Za-z0-9_-]{70})" % name, " ".join(r.header_all("Set-Cookie")))
            self.assertIsNotNone(value, (tls, r.headers))
            c = H2(self.gw.tls_port if tls else self.gw.port, tls=tls)
            crumbs = [("cookie", "_ga=GA1.2.3"), ("cookie", "%s=%s" % (name, value.group(1))), ("cookie", "sid=s1"),
                      ("cookie", "_fbp=fb.1")]
            t = "crumbs-%s" % tls
            c.request(3, "/__origin/echo?t=" + t, headers=crumbs)
            c.request(5, "/__consent/api/state", headers=crumbs)
            c.request(7, "/__consent/", headers=crumbs)
            c.request(9, "/__origin/echo?t=nocrumb-%s" % tls, headers=[crumbs[0], crumbs[2], crumbs[3]])
            self.assertTrue(c.read(lambda f: all(c.ended(s) for s in (3, 5, 7, 9))))
            e = self.origin.assert_reached("t=" + t)
            self.assertEqual(self.origin.header(e, "Cookie"), ["_ga=GA1.2.3; sid=s1; _fbp=fb.1"], tls)
            self.assertEqual(self.origin.header(e, "Consent-Categories"), ["necessary,functional,analytics,marketing"])
            state = json.loads(c.body(5))
            self.assertEqual((state["decided"], state["visitor"]), (True, token["visitor"]), tls)
            self.assertIn(b'value="analytics" aria-describedby="cg-d-analytics" checked', c.body(7))
            e = self.origin.assert_reached("t=nocrumb-%s" % tls)
            self.assertEqual(self.origin.header(e, "Consent-Categories"), ["necessary"])
            self.assertNotIn("_ga", " ".join(self.origin.header(e, "Cookie")))
            self.assertNotIn("_fbp", " ".join(self.origin.header(e, "Cookie")))
            self.assertEqual(self.origin.header(e, "Cookie"), ["sid=s1"], tls)
            c.close()
        # (the answer's set-cookie fields are HPACK-Huffman-coded, which H2 does not read: nghttp reads them)
        p = subprocess.run(["nghttp", "-v", "-H", "cookie: _ga=GA1.2.3", "-H", "cookie: sid=s1", "-H", "cookie: _fbp=fb.1",
                            self.gw.url("/__origin/echo?t=nghttp-crumbs")], capture_output=True, text=True, timeout=20)
        for refused in ("set-cookie: _ga=; Max-Age=0", "set-cookie: _fbp=; Max-Age=0"):
            self.assertIn(refused, p.stdout)
        self.assertNotIn("set-cookie: sid=", p.stdout)
        self.assertIn('"sid=s1"', p.stdout)  # (the origin's echo: the necessary crumb went through)

    def test_consent_bodies_in_frames(self):
        before = len(admin_records(self.gw))
        c = H2(self.gw.port)
        # a body in three DATA frames, without content-length
        c.request(1, "/__consent/api/consent", method="POST", headers=[("content-type", "application/json")], end_stream=False)
        for i, part in enumerate([b'{"categ', b'ories": {"analytics": ', b'true}}']):
            c.send(DATA, END_STREAM if i == 2 else 0, 1, part)
        # a content-length that lies, either way: the stream is reset, nothing recorded
        for sid, length in ((3, "100"), (5, "5")):
            c.request(sid, "/__consent/api/consent", method="POST",
                      headers=[("content-type", "application/json"), ("content-length", length)], end_stream=False)
            c.send(DATA, END_STREAM, sid, b'{"all": true}')
        self.assertTrue(c.read(lambda f: all(c.ended(s) for s in (1, 3, 5))))
        self.assertEqual(json.loads(c.body(1))["categories"]["analytics"], True)
        self.assertEqual([rst_code(f) for s in (3, 5) for f in c.of(s, RST_STREAM)], [1, 1])  # PROTOCOL_ERROR
        self.assertEqual(len(admin_records(self.gw)) - before, 1)
        # reset by the client while its consent is being committed: recorded whole or not at all, and the connection
        # and its other streams go on
        c.sock.sendall(frame(HEADERS, END_HEADERS, 7, hpack_literal(":method", "POST") + hpack_literal(":scheme", "http") +
                             hpack_literal(":path", "/__consent/api/consent") + hpack_literal(":authority", "127.0.0.1") +
                             hpack_literal("content-type", "application/json")) +
                       frame(DATA, END_STREAM, 7, b'{"all": false}') + frame(RST_STREAM, 0, 7, struct.pack(">I", CANCEL)))
        c.request(9, "/__origin/echo?t=after-reset")
        self.assertTrue(c.read(lambda f: c.ended(9)))
        self.assertIn(b"after-reset", c.body(9))
        # 50 consents at once on the connection: 50 receipts, 50 records
        sids = [11 + 2 * i for i in range(50)]
        for sid in sids:
            c.request(sid, "/__consent/api/consent", method="POST", headers=[("content-type", "application/json")],
                      end_stream=False)
        for sid in sids:
            c.send(DATA, END_STREAM, sid, b'{"all": true}')
        self.assertTrue(c.read(lambda f: all(c.ended(s) for s in sids), timeout=20))
        receipts = {json.loads(c.body(s))["receipt"] for s in sids}
        self.assertEqual(len(receipts), 50)
        c.close()
        records = admin_records(self.gw)
        self.assertIn(len(records) - before, (51, 52))  # the reset one whole, or not at all
        self.assertTrue(receipts <= {r["receipt"] for r in records})
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("chain intact", v.stdout)


class RequestHeadersTest(GatewayTestCase):
    """Connection-specific request fields (RFC 9110 7.6.1, RFC 9113 8.2.2) do not reach the origin."""

    def test_proxy_connection_is_not_passed_on(self):
        # h2o 2.2.5 refuses Connection, Transfer-Encoding and Upgrade in an HTTP/2 request (a connection error), drops
        # Keep-Alive and TE, and took Proxy-Connection, which its proxy wrote to the origin (from HTTP/1 clients too)
        c = H2(self.gw.port)
        c.request(1, "/__origin/echo?t=pc-h2", headers=[("proxy-connection", "close"), ("keep-alive", "5"), ("te", "trailers")])
        self.assertTrue(c.read(lambda f: c.ended(1)))
        c.close()
        r = curl(self.gw.url("/__origin/echo?t=pc-h1"), headers=["Proxy-Connection: close", "X-Kept: 1"])
        self.assertEqual(r.status, 200, r)
        for t in ("pc-h2", "pc-h1"):
            e = self.origin.assert_reached("t=" + t)
            for name in ("Proxy-Connection", "Keep-Alive", "TE"):
                self.assertEqual(self.origin.header(e, name), [], (t, name))
        self.assertEqual(self.origin.header(self.origin.assert_reached("t=pc-h1"), "X-Kept"), ["1"])
