"""HTTP semantics of the gateway as an intermediary (RFC 9110, RFC 9112): hop-by-hop fields in both directions,
Max-Forwards, and what the gateway's own answers carry (HSTS, the send timeout, HEAD), against the real binary, a real
origin (conf/demo/origin.py, or one of raw bytes for what that one will not send) and real clients."""

import os
import time

from harness import ADMIN_TOKEN, GatewayTestCase, curl, gateway_config, metric
import harness
from test_http2 import CANCEL, END_STREAM, H2, HEADERS, RST_STREAM, SETTINGS_INITIAL_WINDOW_SIZE, rst_code

# the fields RFC 9110 7.6.1 names connection-specific (and RFC 2616's hop-by-hop list: Proxy-Authenticate,
# Proxy-Authorization, Trailer), which a proxy does not pass on in either direction
FIXED_HOP = ("Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection")


# 95 fields, and ~300 KB of connection options that name none of them (h2o takes a head of up to 408 KB)
MANY_FIELDS = b"".join(b"X-H%02d: 1\r\n" % i for i in range(95))
LONG_OPTIONS = b"x-zz," * 60000


def cpu_seconds(pid):
    """The CPU time (user + system) the process has used: what other load on the machine does not move."""
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


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
        # a Connection field of ~300 KB beside 95 other fields, and the same bytes in a field dropped by its name alone
        "/long-connection": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + MANY_FIELDS + b"Connection: close, " +
                            LONG_OPTIONS + b"\r\nContent-Length: 2\r\n\r\nok",
        "/long-dropped": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" + MANY_FIELDS + b"Connection: close\r\n"
                         b"Proxy-Connection: " + LONG_OPTIONS + b"\r\nContent-Length: 2\r\n\r\nok",
    }

    @classmethod
    def setUpClass(cls):
        cls.raw = harness.RawOrigin(cls.RESPONSES)
        super().setUpClass()
        cls.rawgw = cls.new_gateway("raw", gateway_config(cls.raw.url))

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

    def test_a_long_connection_field_costs_no_more_than_its_bytes(self):
        # the gateway's CPU for 20 requests with a long Connection field beside many fields, against 20 of the same bytes
        # in a field the gateway drops without reading it (CPU time of its process: the machine is shared). Each field
        # looked up in the whole value cost fields x bytes: ~50 ms of CPU a request (ASan build), ~7 ms to parse it
        def send(extra):
            got = harness.raw_request(self.gw.port, b"GET /__origin/echo?t=conn-long HTTP/1.1\r\nHost: localhost\r\n" +
                                      MANY_FIELDS + extra + b"\r\n", timeout=30)
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:200])

        spent = {}
        for what, extra in (("dropped", b"Connection: close\r\nProxy-Connection: " + LONG_OPTIONS + b"\r\n"),
                            ("connection", b"Connection: close, " + LONG_OPTIONS + b"\r\n")):
            before = cpu_seconds(self.gw.proc.pid)
            for _ in range(20):
                send(extra)
            spent[what] = cpu_seconds(self.gw.proc.pid) - before
        self.assertLess(spent["connection"], 2 * spent["dropped"] + 0.2, spent)
        # the origin's alike
        spent = {}
        for what in ("dropped", "connection"):
            before = cpu_seconds(self.rawgw.proc.pid)
            for _ in range(20):
                r = curl(self.rawgw.url("/long-" + what))
                self.assertEqual((r.status, r.body, r.header("X-H07")), (200, b"ok", "1"), r)
            spent[what] = cpu_seconds(self.rawgw.proc.pid) - before
        self.assertLess(spent["connection"], 2 * spent["dropped"] + 0.2, spent)

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


# the gateway's own answers on the public listeners: (method, path, body or None, status)
OWN_ANSWERS = [
    ("GET", "/__consent/", None, 200),                         # the preference centre
    ("GET", "/__consent/receipts", None, 200),
    ("GET", "/__consent/banner.js", None, 200),                # a UI file
    ("GET", "/__consent/i18n/strings.json", None, 200),
    ("GET", "/__consent/api/state", None, 200),
    ("PUT", "/__consent/api/state", None, 405),
    ("POST", "/__consent/api/consent", "{", 400),
    ("GET", "/__consent/no-such-file", None, 404),
    ("POST", "/__consent/report", "{", 400),
    ("GET", "/__go?u=https%3A%2F%2Fexample.com%2F&s=forged", None, 400),
    ("DELETE", "/__go", None, 405),
]


class OwnAnswersTest(GatewayTestCase):
    """HSTS and the send timeout on every answer the gateway sends, its own (UI, API, /__go, reports, error pages) as
    the proxied ones: a visitor's browser gets Strict-Transport-Security on every HTTPS response of the site, and a
    client that does not take an answer does not hold it for good."""
    with_tls = True
    config = {"proxy": {"send_timeout_ms": 1000}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # an origin that is down: the gateway's 502 page
        cls.downgw = cls.new_gateway("down", gateway_config(
            "http://127.0.0.1:%d" % harness.free_port(),
            tls_cert=(cls.gw.path("cert.pem"), cls.gw.path("key.pem"))))

    def own(self, gw, method, path, body, tls, http="1.1"):
        return curl(gw.url(path, tls=tls), method=method, data=body, http=http,
                    headers=["Content-Type: application/json"] if body is not None else [])

    def test_hsts_on_every_https_answer(self):
        want = "max-age=15552000"
        for http in ("1.1", "2"):
            for method, path, body, status in OWN_ANSWERS:
                r = self.own(self.gw, method, path, body, True, http)
                self.assertEqual(r.status, status, (http, method, path, r))
                self.assertEqual(r.header_all("Strict-Transport-Security"), [want], (http, method, path))
            # the gateway's error page for an origin that is down, and the answers the front handler gives itself
            r = curl(self.downgw.url("/__origin/echo", tls=True), http=http)
            self.assertEqual(r.status, 502, (http, r))
            self.assertEqual(r.header_all("Strict-Transport-Security"), [want], (http, "502"))
            self.assertEqual(curl(self.gw.url("/__origin/echo?t=hsts", tls=True), http=http).header_all(
                "Strict-Transport-Security"), [want], http)
        r = curl(self.gw.url("/", tls=True), method="CONNECT", extra=["--request-target", "www.example.com:443"])
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header_all("Strict-Transport-Security"), [want])
        # h2o's own refusal before routing (a body over proxy.max_request_body)
        r = curl(self.gw.url("/__consent/api/consent", tls=True), method="POST", data="x" * 1100000)
        self.assertEqual(r.status, 413, r)
        self.assertEqual(r.header_all("Strict-Transport-Security"), [want])
        # never over plain HTTP (RFC 6797 7.2)
        for method, path, body, status in OWN_ANSWERS:
            r = self.own(self.gw, method, path, body, False)
            self.assertEqual(r.status, status, (method, path, r))
            self.assertEqual(r.header_all("Strict-Transport-Security"), [], (method, path))

    def test_own_answers_a_client_does_not_take_are_ended(self):
        for tls in (False, True):
            before = metric(self.gw, "cg_send_timeouts_total")
            c = H2(self.gw.tls_port if tls else self.gw.port, tls=tls, settings=[(SETTINGS_INITIAL_WINDOW_SIZE, 0)])
            sids = []
            for i, (method, path, body, status) in enumerate(OWN_ANSWERS):
                if status == 404:
                    continue  # (h2o's own "not found": the body fits in no window either, but is h2o's)
                sid = 1 + 2 * i
                sids.append(sid)
                c.request(sid, path, method=method, headers=[("content-type", "application/json")] if body else [],
                          end_stream=body is None)
                if body is not None:
                    c.send(0, END_STREAM, sid, body.encode())  # DATA
            t0 = time.monotonic()
            self.assertTrue(c.read(lambda f: all(c.of(sid, RST_STREAM) for sid in sids), timeout=8),
                            (tls, [(sid, [f[0] for f in c.of(sid)]) for sid in sids]))
            self.assertLess(time.monotonic() - t0, 6)
            self.assertEqual({rst_code(c.of(sid, RST_STREAM)[0]) for sid in sids}, {CANCEL})
            self.assertTrue(all(c.of(sid, HEADERS) for sid in sids), tls)  # (the head went: a body was kept back)
            c.close()
            self.assertEqual(metric(self.gw, "cg_send_timeouts_total") - before, len(sids), tls)
        self.assertTrue(self.gw.alive())


class HeadTest(GatewayTestCase):
    """HEAD is GET without the body (RFC 9110 9.3.2): the same status and fields, Content-Length where GET has one."""

    ADMIN_GETS = ["/admin/metrics", "/admin/lists", "/admin/check?host=example.com", "/admin/records", "/admin/audit",
                  "/admin/injections", "/admin/cookies", "/admin/trackers", "/admin/no-such-endpoint"]
    # (length may change between two answers: the metrics count the requests; a new visitor's state names its id)
    VARYING = ("/admin/metrics",)

    def same_but_body(self, get, head, what):
        self.assertEqual(head.status, get.status, (what, head))
        self.assertEqual(head.body, b"", what)
        for name in ("Content-Type", "Cache-Control", "Allow", "WWW-Authenticate"):
            self.assertEqual(head.header_all(name), get.header_all(name), (what, name))
        self.assertEqual(head.header("Content-Length") is not None, get.header("Content-Length") is not None, what)
        if what not in self.VARYING and get.header("Content-Length") is not None:
            self.assertEqual(head.header("Content-Length"), get.header("Content-Length"), what)
            self.assertEqual(int(get.header("Content-Length")), len(get.body), what)

    def test_admin_gets(self):
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        for path in self.ADMIN_GETS:
            for headers in (auth, [], ["Authorization: Bearer not-a-token-of-this-gateway"]):
                get = curl(self.gw.admin_url(path), headers=headers)
                head = curl(self.gw.admin_url(path), headers=headers, head=True)
                self.same_but_body(get, head, (path, len(headers)))
        r = curl(self.gw.admin_url("/admin/lists"), headers=auth, head=True)
        self.assertEqual(r.status, 200, r)
        # a method a GET endpoint does not take names both
        r = curl(self.gw.admin_url("/admin/lists"), headers=auth, method="DELETE")
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"))

    def test_public_gets(self):
        # (checked: the consent UI and API answered HEAD as GET already)
        for path in ("/__consent/", "/__consent/receipts", "/__consent/banner.js", "/__consent/i18n/strings.json",
                     "/__consent/i18n/en.json", "/__consent/api/state", "/__consent/api/receipts",
                     "/__go?u=https%3A%2F%2Fexample.com%2F&s=forged"):
            get = curl(self.gw.url(path), cookie="cg_lang=en")
            head = curl(self.gw.url(path), cookie="cg_lang=en", head=True)
            self.assertEqual(head.status, get.status, (path, head))
            self.assertEqual(head.body, b"", path)
            self.assertEqual(head.header_all("Content-Type"), get.header_all("Content-Type"), path)
            self.assertEqual(head.header("Content-Length") is not None, get.header("Content-Length") is not None, path)


class MaxForwardsTest(GatewayTestCase):
    """Max-Forwards on OPTIONS (RFC 9110 7.6.2): 0 is answered by the gateway, more goes on with one less. TRACE is
    refused whatever it carries: its echo would give a page's script the cookies the gateway forwards."""

    def test_zero_is_answered_here(self):
        for http in ("1.1", "h2c"):
            tag = "t=mf0-opt-" + http
            r = curl(self.gw.url("/__origin/echo?" + tag), http=http, method="OPTIONS", headers=["Max-Forwards: 0"])
            self.assertEqual((r.status, r.body, r.header("Content-Length")), (200, b"", "0"), (http, r))
            self.assertIn("OPTIONS", r.header("Allow"))
            self.assertNotIn("TRACE", r.header("Allow"))
            self.origin.assert_not_reached(tag)

    def test_trace_is_refused(self):
        for http in ("1.1", "h2c"):
            for mf in ([], ["Max-Forwards: 0"], ["Max-Forwards: 3"]):
                tag = "t=trace-%s-%d" % (http, len(mf))
                r = curl(self.gw.url("/__origin/echo?" + tag), http=http, method="TRACE",
                         headers=mf + ["Cookie: sid=secret", "Authorization: Basic c2VjcmV0"])
                self.assertEqual(r.status, 405, (http, mf, r))
                self.assertNotIn("TRACE", r.header("Allow"))
                self.assertNotIn(b"secret", r.body)
                self.assertNotIn(b"c2VjcmV0", r.body)
                self.origin.assert_not_reached(tag)

    def test_more_goes_on_with_one_less(self):
        for method in ("OPTIONS",):
            for sent, seen in (("5", ["4"]), ("1", ["0"]), (" 12 ", ["11"]), ("x", ["x"])):
                tag = "t=mf-%s-%s" % (method, sent.strip())
                r = curl(self.gw.url("/__origin/echo?" + tag), method=method, headers=["Max-Forwards: " + sent])
                self.assertEqual(r.status, 200, r)
                self.assertEqual(origin_saw(self.origin.assert_reached(tag), "Max-Forwards"), seen, (method, sent))
        # other methods are not the field's (RFC 9110 7.6.2): passed on as they came
        r = curl(self.gw.url("/__origin/echo?t=mf-get"), headers=["Max-Forwards: 0"])
        self.assertEqual(origin_saw(self.origin.assert_reached("t=mf-get"), "Max-Forwards"), ["0"])
