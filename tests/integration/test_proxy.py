"""The foundation: the gateway as a reverse proxy, its listeners, admin port, logs, config
checking and signals, against the real binary, a real origin and the real curl."""

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from harness import (ADMIN_TOKEN, GatewayTestCase, big_body_pattern, curl, curl_many, free_port, gateway_config, metric,
                     parse_responses, raw_request, run_binary, wait_until)
import harness
from test_http2 import hpack_int


def xff_list(entry):
    """The X-Forwarded-For chain the origin received, as a list of addresses."""
    vals = harness.Origin.header(entry, "X-Forwarded-For")
    return [a.strip() for v in vals for a in v.split(",") if a.strip()]


def last_value(entry, name):
    vals = harness.Origin.header(entry, name)
    parts = [p.strip() for v in vals for p in v.split(",") if p.strip()]
    return parts[-1] if parts else None


ZH_413 = "请求内容过大"


class ProxyTest(GatewayTestCase):
    """One origin, one gateway with a plain, a TLS and an admin listener."""
    with_tls = True

    # ---- plain HTTP/1.1 proxying -------------------------------------------------------------

    def test_get_body_identical_to_origin(self):
        path = "/__origin/big?bytes=300001&t=identical"
        direct = curl(self.origin.url + path)
        via = curl(self.gw.url(path))
        self.assertEqual(direct.status, 200)
        self.assertEqual(via.status, 200, via)
        self.assertEqual(len(via.body), 300001)
        self.assertTrue(via.body == direct.body == big_body_pattern(300001), "body differs from the origin's")
        self.assertEqual(via.header("Content-Type"), "application/octet-stream")

    def test_demo_page_through_gateway(self):
        r = curl(self.gw.url("/"))
        self.assertEqual(r.status, 200, r)
        self.assertIn("text/html", r.header("Content-Type", ""))
        self.assertIn(b"Example Shop", r.body)
        self.origin.assert_reached("/", method="GET")

    def test_host_preserved(self):
        curl(self.gw.url("/__origin/echo?t=host-default"))
        e = self.origin.assert_reached("t=host-default")
        self.assertEqual(self.origin.header(e, "Host"), ["127.0.0.1:%d" % self.gw.port])
        curl(self.gw.url("/__origin/echo?t=host-custom"), headers=["Host: shop.example.test"])
        e = self.origin.assert_reached("t=host-custom")
        self.assertEqual(self.origin.header(e, "Host"), ["shop.example.test"])

    def test_forwarded_headers_appended(self):
        r = curl(self.gw.url("/__origin/echo?t=xff-none"))
        self.assertEqual(r.status, 200, r)
        e = self.origin.assert_reached("t=xff-none")
        self.assertEqual(xff_list(e), ["127.0.0.1"], e["headers"])
        self.assertEqual(last_value(e, "X-Forwarded-Proto"), "http", e["headers"])

        curl(self.gw.url("/__origin/echo?t=xff-chain"), headers=["X-Forwarded-For: 203.0.113.7"])
        e = self.origin.assert_reached("t=xff-chain")
        self.assertEqual(xff_list(e), ["203.0.113.7", "127.0.0.1"], "X-Forwarded-For must be appended to")

    def test_keepalive_two_requests_one_connection(self):
        rs = curl_many([{"url": self.gw.url("/__origin/echo?t=ka1")}, {"url": self.gw.url("/__origin/echo?t=ka2")}],
                       verbose=True)
        self.assertEqual([r.status for r in rs], [200, 200], rs)
        self.assertRegex(rs[1].stderr, r"(?i)re-using existing connection")
        self.assertEqual(rs[0].num_connects, 1)
        self.assertEqual(rs[1].num_connects, 0, "the second request opened a new connection")

    def test_chunked_upstream_response_intact(self):
        expected = b"".join(bytes([ord("a") + i % 26]) * 1000 for i in range(40))
        for http in ("1.1", "h2c"):
            with self.subTest(http=http):
                r = curl(self.gw.url("/__origin/chunked?n=40&size=1000&delay_ms=5&t=" + http), http=http)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.exit_code, 0, r.info.get("errormsg"))
                self.assertEqual(len(r.body), len(expected))
                self.assertEqual(r.body, expected)

    def test_head_has_headers_and_no_body(self):
        r = curl(self.gw.url("/__origin/big?bytes=5000&t=head"), head=True)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("Content-Type"), "application/octet-stream")
        e = self.origin.assert_reached("t=head")
        self.assertEqual(e["method"], "HEAD")
        # On one raw connection: HEAD then GET. If the gateway sent a body after the HEAD
        # response, the GET's status line would not follow the HEAD's headers.
        req = ("HEAD /__origin/big?bytes=5000&t=rawhead HTTP/1.1\r\nHost: shop.example.test\r\n\r\n"
               "GET /__origin/big?bytes=70&t=rawget HTTP/1.1\r\nHost: shop.example.test\r\nConnection: close\r\n\r\n")
        data = raw_request(self.gw.port, req.encode())
        (s1, h1, b1), (s2, h2, b2) = parse_responses(data, ["HEAD", "GET"])
        self.assertEqual((s1, b1), (200, b""))
        self.assertEqual((s2, b2), (200, big_body_pattern(70)))

    def test_post_body_reaches_origin_byte_exact(self):
        body = os.urandom(100 * 1024)
        digest = hashlib.sha256(body).hexdigest()
        for http, tls in (("1.1", False), ("2", True)):
            with self.subTest(http=http):
                tag = "post-%s" % http
                r = curl(self.gw.url("/__origin/echo?t=" + tag, tls=tls), data=body, http=http,
                         headers=["Content-Type: application/octet-stream"])
                self.assertEqual(r.status, 200, r)
                e = self.origin.assert_reached("t=" + tag, method="POST")
                self.assertEqual(e["body_length"], len(body))
                self.assertEqual(e["body_sha256"], digest)

    def test_chunked_request_body_reaches_origin(self):
        body = os.urandom(50 * 1024)
        r = curl(self.gw.url("/__origin/echo?t=chunked-upload"), data=body,
                 headers=["Transfer-Encoding: chunked", "Content-Type: application/octet-stream"])
        self.assertEqual(r.status, 200, r)
        e = self.origin.assert_reached("t=chunked-upload", method="POST")
        self.assertEqual(e["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_body_at_limit_passes(self):
        body = b"x" * 1048576
        r = curl(self.gw.url("/__origin/echo?t=at-limit"), data=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.origin.assert_reached("t=at-limit")["body_length"], len(body))

    def test_body_over_limit_413_never_reaches_origin(self):
        body = b"y" * (1048576 + 1)
        r = curl(self.gw.url("/__origin/echo?t=over-limit"), data=body)
        self.assertEqual(r.status, 413, r)
        r = curl(self.gw.url("/__origin/echo?t=over-limit-chunked"), data=body, headers=["Transfer-Encoding: chunked"])
        self.assertEqual(r.status, 413, r)
        self.origin.assert_not_reached("t=over-limit")
        self.assertEqual(curl(self.gw.url("/__origin/echo?t=after-413")).status, 200)

    def test_body_over_limit_413_in_visitor_language(self):
        # h2o's own answer before any handler ran: "request entity is too large" as English text/plain to every visitor
        body = b"y" * (1048576 + 1)
        for http in ("1.1", "1.0"):  # (over HTTP/2 h2o 2.2.5 resets the connection instead: nothing to translate)
            r = curl(self.gw.url("/__origin/echo?t=over-limit-zh"), data=body, http=http, headers=["Accept-Language: zh-CN"])
            self.assertEqual(r.status, 413, (http, r, r.stderr[-300:]))
            self.assertTrue(r.header("Content-Type", "").startswith("text/html"), (http, r.headers))
            self.assertIn('<html lang="zh-CN">', r.text, http)
            self.assertIn(ZH_413, r.text, http)
            self.assertEqual(r.header("Content-Language"), "zh-CN", http)
            self.assertIn("accept-language", r.header("Vary", "").lower(), http)
            r = curl(self.gw.url("/__origin/echo?t=over-limit-en"), data=body, http=http, headers=["Accept-Language: en"])
            self.assertEqual((r.status, r.header("Content-Language"), '<html lang="en">' in r.text), (413, "en", True), http)
        self.origin.assert_not_reached("t=over-limit-")

    # ---- HTTP/2 ------------------------------------------------------------------------------

    def test_http2_over_tls(self):
        path = "/__origin/big?bytes=100000&t=h2tls"
        r = curl(self.gw.url(path, tls=True), http="2", verbose=True)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.http_version, "2")
        self.assertRegex(r.stderr, r"(?m)^< HTTP/2 200")
        self.assertEqual(r.body, big_body_pattern(100000))
        e = self.origin.assert_reached("t=h2tls")
        self.assertEqual(last_value(e, "X-Forwarded-Proto"), "https", e["headers"])
        self.assertEqual(self.origin.header(e, "Host"), ["127.0.0.1:%d" % self.gw.tls_port])

    def test_http11_over_tls(self):
        r = curl(self.gw.url("/__origin/echo?t=h1tls", tls=True), http="1.1")
        self.assertEqual((r.status, r.http_version), (200, "1.1"), r)
        self.assertEqual(last_value(self.origin.assert_reached("t=h1tls"), "X-Forwarded-Proto"), "https")

    def test_h2c_prior_knowledge(self):
        r = curl(self.gw.url("/__origin/big?bytes=20000&t=h2c"), http="h2c")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.http_version, "2")
        self.assertEqual(r.body, big_body_pattern(20000))
        self.origin.assert_reached("t=h2c")

    # ---- what must not reach the origin ------------------------------------------------------

    def test_connect_rejected_405(self):
        r = curl(self.gw.url("/"), method="CONNECT", extra=["--request-target", "www.example.com:443"])
        self.assertEqual(r.status, 405, r)
        data = raw_request(self.gw.port, b"CONNECT internal.example:22 HTTP/1.1\r\nHost: internal.example:22\r\n\r\n",
                           read_until_close=False)
        self.assertRegex(data[:20], rb"^HTTP/1\.[01] 405 ")
        self.origin.assert_not_reached("example", method="CONNECT")
        self.assertEqual([e for e in self.origin.requests() if e["method"] == "CONNECT"], [])

    def test_gateway_refusals_in_visitor_language(self):
        """The gateway's own pages for a refused method (405), a request line HTTP/1 cannot carry (400) and too many
        header fields (431) were English whatever the visitor asked for; they now follow the language as the 502/504
        pages and the consent pages do, and say that they vary by it."""
        zh, en = ["Accept-Language: zh-CN,zh;q=0.9"], ["Accept-Language: en-GB"]
        cases = (
            ("CONNECT", dict(method="CONNECT", extra=["--request-target", "www.example.com:443"]), 405, "不支持 CONNECT"),
            ("TRACE", dict(method="TRACE"), 405, "不支持 TRACE"),
            ("431", dict(http="h2c", headers=["X-Small-%03d: v" % i for i in range(150)]), 431, "请求头"),
        )
        for name, kw, status, words in cases:
            r = curl(self.gw.url("/__origin/echo?t=lang-" + name), **dict(kw, headers=kw.get("headers", []) + zh))
            self.assertEqual(r.status, status, (name, r))
            self.assertIn('<html lang="zh-CN">', r.text, name)
            self.assertIn(words, r.text, name)
            self.assertEqual(r.header("Content-Language"), "zh-CN", name)
            self.assertIn("accept-language", r.header("Vary", "").lower(), name)
            r = curl(self.gw.url("/__origin/echo?t=lang-" + name), **dict(kw, headers=kw.get("headers", []) + en))
            self.assertEqual((r.status, r.header("Content-Language"), '<html lang="en">' in r.text), (status, "en", True), name)
        # the language the visitor chose on the consent pages (the cg_lang cookie) wins over Accept-Language, as there;
        # a 431's fields are not read through for it: its Accept-Language alone
        r = curl(self.gw.url("/"), method="TRACE", headers=["Cookie: a=1; cg_lang=zh-CN"] + en)
        self.assertEqual((r.status, r.header("Content-Language")), (405, "zh-CN"))
        r = curl(self.gw.url("/"), http="h2c", headers=["X-Small-%03d: v" % i for i in range(150)] + ["Cookie: cg_lang=zh-CN"] + en)
        self.assertEqual((r.status, r.header("Content-Language")), (431, "en"))
        # the HTTP/2 request line with a space: answered by the gateway's page (the origin is not asked)
        p = subprocess.run(["nghttp", "-v", "-H", "accept-language: zh-CN", "-H", ":path: /__origin/echo?t=lang-400 a",
                            self.gw.url("/")], capture_output=True, text=True, timeout=20)
        self.assertIn(":status: 400", p.stdout)
        self.assertIn("content-language: zh-CN", p.stdout)
        self.assertIn('<html lang="zh-CN">', p.stdout)
        self.assertIn("请求行", p.stdout)
        self.origin.assert_not_reached("t=lang-")

    def test_header_flood_rejected_gateway_survives(self):
        headers = ["X-Flood-%03d: %s" % (i, "v" * 20) for i in range(200)]
        r = curl(self.gw.url("/__origin/echo?t=flood"), headers=headers)
        self.assertIn(r.status, (400, 431), r)
        self.origin.assert_not_reached("t=flood")
        self.assertTrue(self.gw.alive())
        self.assertEqual(curl(self.gw.url("/__origin/echo?t=after-flood")).status, 200)

    def test_h2_header_flood_answered_431_unread(self):
        """Over HTTP/2 nothing but the header block's size bounded a request's fields, and HPACK names an indexed one
        in a byte: a 300 KB block of 100,000 Cookie fields of 4 KB each (400 MB) took 2.8 s of a worker's CPU (the
        stripping read them all and deleted them one by one, quadratic), 300,000 took 26 s; 300,000 other fields made
        h2o's proxy build a 1.2 GB request (peak RSS +2.4 GB). Now a request with more or larger fields than an
        HTTP/1 request may have (H2O_MAX_HEADERS, H2O_MAX_REQLEN) is answered 431 before anything reads them."""
        hint = hpack_int  # an HPACK integer (test_http2)

        def frame(t, flags, payload):
            return len(payload).to_bytes(3, "big") + bytes([t, flags]) + (1 if t in (1, 9) else 0).to_bytes(4, "big") + payload

        def request(name, value, repeat):
            path = b"/__origin/echo?t=h2flood-" + name
            block = (b"\x82\x86" + hint(4, 4, 0) + hint(len(path), 7, 0) + path + hint(1, 4, 0) + hint(9, 7, 0) + b"localhost" +
                     b"\x40" + hint(len(name), 7, 0) + name + hint(len(value), 7, 0) + value +  # into the dynamic table...
                     b"\xbe" * repeat)  # ... and named again, a byte each
            chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
            frames = b"".join(frame(1 if i == 0 else 9, (4 if i == len(chunks) - 1 else 0) | (1 if i == 0 else 0), c)
                              for i, c in enumerate(chunks))
            with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as sock:
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, b"") + frames)
                data = b""
                while self.h2_status(data) is None:
                    more = sock.recv(65536)
                    if not more:
                        break
                    data += more
            return data

        for name, value, repeat in ((b"cookie", b"sid=" + b"a" * 4000, 100000), (b"x-flood", b"v" * 4000, 100000),
                                    (b"x-small", b"v", 150)):
            t0 = time.monotonic()
            out = self.h2_status(request(name, value, repeat))
            self.assertEqual(out, 431, (name, repeat))
            self.assertLess(time.monotonic() - t0, 2.0)
            self.origin.assert_not_reached("t=h2flood-" + name.decode())
        # a request of h2o's HTTP/1 size still passes
        self.assertEqual(self.h2_status(request(b"x-fine", b"v" * 100, 90)), 200)
        # an HTTP/2 client's cookie crumbs (RFC 9113 8.2.3: a field per pair) are the one Cookie field HTTP/1 sends: a
        # visitor with 150 cookies is answered (it was 431), and 30,000 small crumbs within the size are stripped in one
        # pass (deleting them one by one moved the rest each time: quadratic)
        r = curl(self.gw.url("/__origin/echo?t=h2crumbs"), http="h2c", headers=["Cookie: c%d=v%d" % (k, k) for k in range(150)])
        self.assertEqual(r.status, 200, r)
        self.origin.assert_reached("t=h2crumbs")
        t0 = time.monotonic()
        self.assertEqual(self.h2_status(request(b"cookie", b"a=1", 30000)), 200)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertTrue(self.gw.alive())

    def h2_status(self, data):
        """The :status of the first HEADERS frame the gateway sent (a literal or the static table's 200), else None."""
        i = 0
        while i + 9 <= len(data):
            n, t = int.from_bytes(data[i:i + 3], "big"), data[i + 3]
            if t == 1 and i + 9 + n <= len(data):
                block = data[i + 9:i + 9 + n]
                if block[:1] == b"\x88":
                    return 200
                m = re.match(rb"[\x08\x48]\x03(\d{3})", block)
                return int(m.group(1)) if m else None
            i += 9 + n
        return None

    # ---- admin -------------------------------------------------------------------------------

    def test_admin_metrics_auth(self):
        url = self.gw.admin_url("/admin/metrics")
        self.assertEqual(curl(url).status, 401)
        self.assertEqual(raw_request(self.gw.admin_port, b"GET /admin/metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \r\n"
                                                         b"Connection: close\r\n\r\n")[:12], b"HTTP/1.1 401", "no token given")
        self.assertEqual(curl(url, headers=["Authorization: Bearer wrong-%s" % ADMIN_TOKEN]).status, 403)
        r = curl(url, headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type", "").startswith("text/plain"), r.headers)
        self.assertIn("cg_requests_total", r.text)
        sample = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+]?([0-9.eE+-]+|NaN|Inf)( [0-9]+)?$")
        for line in r.text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, sample, "not Prometheus text format")

    def test_metrics_count_requests(self):
        def total():
            r = curl(self.gw.admin_url(), headers=["Authorization: Bearer " + ADMIN_TOKEN])
            return sum(float(m.group(1)) for m in
                       re.finditer(r"(?m)^cg_requests_total(?:\{[^}]*\})? (\S+)", r.text))
        before = total()
        for i in range(5):
            curl(self.gw.url("/__origin/echo?t=count%d" % i))
        self.assertTrue(wait_until(lambda: total() >= before + 5, 3), "cg_requests_total did not grow by 5")

    def test_admin_port_does_not_proxy(self):
        for hdrs in ([], ["Authorization: Bearer " + ADMIN_TOKEN]):
            r = curl(self.gw.admin_url("/__origin/echo?t=admin-proxy"), headers=hdrs)
            self.assertTrue(400 <= r.status < 500, r)
            r = curl(self.gw.admin_url("/?t=admin-proxy-root"), headers=hdrs)
            self.assertTrue(400 <= r.status < 500, r)
        self.origin.assert_not_reached("t=admin-proxy")

    def test_admin_listener_binds_loopback_unless_configured(self):
        # DESIGN: "the admin listener binds loopback unless configured": an admin "listen" that names only its port
        # (and no "listen" at all, the default 127.0.0.1:8081) must not bind every interface, as a public listener
        # without "host" does
        cfg = gateway_config(self.origin.url, admin=False)
        cfg["admin"] = {"listen": {"port": free_port()}, "tokens_file": "admin-tokens"}
        g = self.new_gateway("admin-no-host", cfg)

        def bound(port):
            """local addresses (hex, as /proc/net/tcp[6] writes them) of the sockets listening on port"""
            out = []
            for name in ("/proc/net/tcp", "/proc/net/tcp6"):
                with open(name) as f:
                    for line in f.readlines()[1:]:
                        local, state = line.split()[1], line.split()[3]
                        addr, _, p = local.rpartition(":")
                        if state == "0A" and int(p, 16) == port:
                            out.append(addr)
            return out
        self.assertEqual(bound(g.admin_port), ["0100007F"], "the admin listener is not on 127.0.0.1 only")
        self.assertEqual(curl(g.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).status, 200)
        self.assertTrue(wait_until(lambda: "worker threads, upstream" in g.error_log(), 5), g.error_log())
        self.assertIn("admin listener on http://127.0.0.1:%d/admin/" % g.admin_port, g.error_log())
        self.assertNotIn("plain HTTP", g.error_log())
        g.stop_and_check()
        # configured onto every interface: allowed, and said what it means for the tokens (plain HTTP, no TLS there)
        cfg["admin"]["listen"] = {"host": "0.0.0.0", "port": free_port()}
        g = self.new_gateway("admin-any", cfg)
        # (the start's lines follow the listeners' first accept)
        self.assertTrue(wait_until(lambda: "worker threads, upstream" in g.error_log(), 5), g.error_log())
        self.assertIn("[warn] admin listener on 0.0.0.0: other machines reach it over plain HTTP, and its bearer tokens cross the "
                      "network in clear (keep it on 127.0.0.1 and reach it through ssh -L %d:127.0.0.1:%d, or behind a TLS proxy)"
                      % (g.admin_port, g.admin_port), g.error_log())
        g.stop_and_check()

    # ---- logs --------------------------------------------------------------------------------

    def test_access_log_one_line_per_request(self):
        # one line per request, with what operating the site needs and not who the visitor is: no client address, no
        # user agent, no query string (an e-mail address in it, say), no Referer (log.access_format brings them back)
        marks = ["acc-%d-%d" % (os.getpid(), i) for i in range(3)]
        for m in marks:
            curl(self.gw.url("/__origin/" + m + "?email=alice%40example.com"),
                 headers=["User-Agent: Secret-UA/1.0", "Referer: https://ref.example/?who=alice"])
        path = self.gw.path("access.log")

        def counts():
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            c = [sum(1 for l in lines if m in l) for m in marks]
            return c if all(c) else None
        got = wait_until(counts, 3)
        self.assertIsNotNone(got, "access log %s lacks the requests" % path)
        self.assertEqual(got, [1, 1, 1])
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for secret in ("alice", "Secret-UA", "127.0.0.1", "ref.example"):
            self.assertNotIn(secret, text)
        self.assertRegex(text, r'"GET /__origin/acc-\d+-0 HTTP/1\.1" \d{3} \d+ \d')
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o640)

    def test_access_log_has_the_requests_h2o_refuses(self):
        # a body over proxy.max_request_body is refused (413) before any handler runs, on the public and the admin
        # listener: the metrics counted those answers, the access log had no line for them
        path = self.gw.path("access.log")
        big = b"x" * (1048576 + 1)
        self.assertEqual(curl(self.gw.url("/upload-too-big"), method="POST", data=big).status, 413)
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/too-big"), method="PUT", data=big,
                              headers=["Authorization: Bearer " + ADMIN_TOKEN]).status, 413)

        def lines():
            with open(path, encoding="utf-8", errors="replace") as f:
                return [l for l in f.read().splitlines() if "too-big" in l]
        self.assertTrue(wait_until(lambda: len(lines()) == 2, 3), lines())
        self.assertRegex(lines()[0], r'"POST /upload-too-big HTTP/1\.1" 413 ')
        self.assertRegex(lines()[1], r'"PUT /admin/lists/too-big HTTP/1\.1" 413 ')

    def test_sighup_bursts_do_not_end_the_gateway(self):
        # logrotate's SIGHUP right after a deploy's: a signal that came while the main thread was reloading went to a
        # thread that did not block it (the job, store or watch thread, made before signals were blocked), and its
        # default action ended the process
        g = self.new_gateway("gw-sighup-burst", gateway_config(self.origin.url, threads=2))
        for _ in range(20):
            for _ in range(3):
                g.signal(signal.SIGHUP)
            time.sleep(0.02)
        time.sleep(0.5)
        self.assertTrue(g.alive(), "the gateway ended:\n" + g.error_log()[-600:])
        self.assertGreaterEqual(g.error_log().count("SIGHUP: reloading"), 1)
        self.assertEqual(curl(g.url("/__origin/echo?t=after-burst")).status, 200)
        g.stop_and_check()

    def test_logs_reopened_on_sighup(self):
        # logrotate moves the logs away and sends SIGHUP: the next lines go to new files (they went on into the moved
        # access log, which logrotate then compresses or deletes)
        g = self.new_gateway("gw-logrotate", gateway_config(self.origin.url, threads=2))
        read = lambda p: open(p, encoding="utf-8", errors="replace").read() if os.path.exists(p) else ""
        self.assertEqual(curl(g.url("/__origin/before-rotate")).status, 404)  # the origin's answer: no such endpoint
        self.assertTrue(wait_until(lambda: "before-rotate" in read(g.path("access.log")), 3))
        os.rename(g.path("access.log"), g.path("access.log.1"))
        os.rename(g.path("error.log"), g.path("error.log.1"))
        g.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in read(g.path("error.log")), 5), read(g.path("error.log.1")))
        for i in range(4):  # both worker threads write through the same descriptor
            self.assertEqual(curl(g.url("/__origin/after-rotate-%d" % i)).status, 404)
        self.assertTrue(wait_until(lambda: read(g.path("access.log")).count("after-rotate") == 4, 3), read(g.path("access.log")))
        self.assertNotIn("before-rotate", read(g.path("access.log")))
        self.assertNotIn("after-rotate", read(g.path("access.log.1")))
        self.assertIn("before-rotate", read(g.path("access.log.1")))
        self.assertEqual(os.stat(g.path("access.log")).st_mode & 0o777, 0o640)


def scrape(gw):
    """Every sample of the gateway's /admin/metrics as {'name{labels}': value}."""
    r = curl(gw.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
    assert r.status == 200, r
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$", r.text)}


class MetricsTest(GatewayTestCase):
    """The request counters an operator graphs and alerts on, counted exactly on a gateway nothing else talks to: the
    requests counter by status, the latency histogram, and the per-thread counter."""
    config = {"threads": 2}

    def test_status_labels_histogram_and_threads(self):
        def settled(expect):
            """the scrape once the counters say expect (the requests before it finish being counted), else the last one;
            the scrapes themselves are the admin listener's (cg_admin_requests_total), not counted here"""
            last = {}

            def check():
                nonlocal last
                last = scrape(self.gw)
                return all(last.get(k) == v for k, v in expect.items())
            wait_until(check, 3)
            return last

        base = settled({'cg_requests_total{status="200"}': 0})  # a fresh gateway
        self.assertEqual(base.get('cg_requests_total{status="404"}'), 0)
        self.assertEqual(base.get('cg_requests_total{status="502"}'), 0)
        for i in range(3):
            self.assertEqual(curl(self.gw.url("/__origin/echo?t=m200-%d" % i)).status, 200)
        for i in range(2):
            self.assertEqual(curl(self.gw.url("/__origin/status/404?t=m404-%d" % i)).status, 404)
        self.assertEqual(curl(self.gw.url("/__origin/status/418?t=m418")).status, 418)
        # one slower request: in the histogram above 0.25 s, at or under 0.5 s
        self.assertEqual(curl(self.gw.url("/__origin/slow?ms=320&t=m-slow")).status, 200)
        m = settled({'cg_requests_total{status="200"}': 4, 'cg_requests_total{status="404"}': 2,
                     'cg_requests_total{status="4xx"}': 1})
        self.assertEqual(m.get('cg_requests_total{status="200"}'), 4, {k: v for k, v in m.items() if k.startswith("cg_requests_total")})
        self.assertEqual(m.get('cg_requests_total{status="404"}'), 2)
        self.assertEqual(m.get('cg_requests_total{status="4xx"}'), 1, "a status without its own series counts as its class")
        self.assertEqual(m.get('cg_requests_total{status="502"}'), 0)
        total = 7
        self.assertEqual(sum(v for k, v in m.items() if k.startswith("cg_requests_total{")), total)
        # the histogram counts every request once; its buckets are cumulative and end at the count
        self.assertEqual(m.get("cg_request_duration_seconds_count"), total)
        self.assertEqual(m.get('cg_request_duration_seconds_bucket{le="+Inf"}'), total)
        les = [(float(k.split('"')[1]), v) for k, v in m.items()
               if k.startswith("cg_request_duration_seconds_bucket{") and "+Inf" not in k]
        self.assertEqual(len(les), 14)
        self.assertEqual([v for _, v in sorted(les)], sorted(v for _, v in les), "buckets are cumulative")
        self.assertEqual(m.get('cg_request_duration_seconds_bucket{le="0.5"}') - m.get('cg_request_duration_seconds_bucket{le="0.25"}'), 1,
                         "the one request of 0.32 s is in (0.25, 0.5]")
        self.assertGreaterEqual(m.get("cg_request_duration_seconds_sum"), 0.32)
        self.assertLess(m.get("cg_request_duration_seconds_sum"), 0.32 + total * 0.25)
        # per worker thread: one series for each of the two, adding up to the same total
        threads = {k: v for k, v in m.items() if k.startswith("cg_thread_requests_total{")}
        self.assertEqual(sorted(threads), ['cg_thread_requests_total{thread="0"}', 'cg_thread_requests_total{thread="1"}'])
        self.assertEqual(sum(threads.values()), total)
        # and it grows with requests, the histogram with it
        for i in range(5):
            curl(self.gw.url("/__origin/echo?t=m-more-%d" % i))
        m2 = settled({'cg_requests_total{status="200"}': 4 + 5})
        total2 = 4 + 5 + 3  # the 200s and the three 4xx
        self.assertEqual(m2.get("cg_request_duration_seconds_count"), total2)
        self.assertEqual(m2.get('cg_request_duration_seconds_bucket{le="+Inf"}'), total2)
        self.assertEqual(sum(v for k, v in m2.items() if k.startswith("cg_thread_requests_total{")), total2)
        self.assertGreater(m2.get('cg_admin_requests_total{status="200"}'), 0, "the scrapes, apart")


class UpstreamFailureTest(GatewayTestCase):
    """502 when the origin is down, 504 when it is slower than proxy.io_timeout_ms."""
    config = {"proxy": {"io_timeout_ms": 500}}

    def assert_html_error(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.header("Content-Type", "").startswith("text/html"), r.headers)
        self.assertRegex(r.text, r"(?i)<(!doctype html|html|body|h1|p)\b")

    def test_upstream_not_started_502(self):
        g = self.new_gateway("gw-dead-upstream", gateway_config("http://127.0.0.1:%d" % free_port()))
        self.assert_html_error(curl(g.url("/")), 502)
        # in the visitor's language, as the consent pages are
        zh = curl(g.url("/"), headers=["Accept-Language: zh-CN,zh;q=0.9"])
        self.assert_html_error(zh, 502)
        self.assertIn('<html lang="zh-CN">', zh.text)
        self.assertIn("网关错误", zh.text)
        # and says so, and that it varies by the language asked for: a cache (a CDN that keeps errors briefly,
        # whatever no-store says) must not hand the Chinese page to the next visitor
        self.assertEqual(zh.header("Content-Language"), "zh-CN")
        self.assertIn("accept-language", zh.header("Vary", "").lower())
        en = curl(g.url("/"), headers=["Accept-Language: en-GB"])
        self.assertEqual((en.status, en.header("Content-Language"), '<html lang="en">' in en.text), (502, "en", True))
        self.assert_html_error(curl(g.url("/products"), http="h2c"), 502)
        self.assertTrue(g.alive())
        # what an operator alerts on: four origin failures, none of them a timeout (a fresh gateway: counted from 0)
        self.assertEqual(metric(g, "cg_upstream_errors_total"), 4)
        self.assertEqual(metric(g, "cg_upstream_timeouts_total"), 0)
        self.assertEqual(metric(g, "cg_requests_total", '{status="502"}'), 4)
        self.assertEqual(metric(g, "cg_requests_total", '{status="504"}'), 0)

    def test_error_log_names_the_origin_not_the_visitor(self):
        # h2o's own line was "[lib/core/proxy.c] in request:/account?email=alice%40example.com:connection failed": the
        # visitor's query (which the access log leaves out), and nothing about the origin or what to do
        port = free_port()
        g = self.new_gateway("gw-dead-logged", gateway_config("http://127.0.0.1:%d" % port, threads=1))
        for _ in range(3):
            self.assertEqual(curl(g.url("/account?email=alice%40example.com&reset=s3cr3t-t0ken")).status, 502)
        log = g.error_log() + g.stderr()
        self.assertIn("[error] upstream http://127.0.0.1:%d: connection failed, answered 502 (is the origin running and "
                      "listening there?)" % port, log)
        for leaked in ("alice", "s3cr3t", "/account", "lib/core/proxy.c"):
            self.assertNotIn(leaked, log)
        # an origin that is down fails every request: a line a second per worker thread, then how many were not logged
        self.assertEqual(log.count("connection failed"), 1, log)
        time.sleep(1.1)
        curl(g.url("/again"))
        self.assertIn("answered 502 (is the origin running and listening there?); 2 more since the last such line", g.error_log())
        g.stop_and_check()
        # a host name that does not resolve: the resolver's words, not a guess that the origin is down
        g = self.new_gateway("gw-unresolved", gateway_config("http://no-such-host.invalid:%d" % port, threads=1))
        self.assertEqual(curl(g.url("/x")).status, 502)
        self.assertRegex(g.error_log(), r"\[error\] upstream http://no-such-host\.invalid:%d: [^,]+, answered 502\n" % port)
        g.stop_and_check()

    def test_head_gets_no_error_page_body(self):
        # a HEAD's answer ends with its headers: body bytes after them would be read as the next response on the
        # connection (a pipelined GET here, or a CDN's pooled connection)
        g = self.new_gateway("gw-head-dead", gateway_config("http://127.0.0.1:%d" % free_port()))
        out = raw_request(g.port, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /__consent/api/state HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n")
        head, _, rest = out.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 502"), out[:200])
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest[:200])

    def test_upstream_killed_502(self):
        o = self.new_origin("origin-killed")
        g = self.new_gateway("gw-killed", gateway_config(o.url))
        self.assertEqual(curl(g.url("/__origin/echo?t=before-kill")).status, 200)
        o.kill()
        self.assert_html_error(curl(g.url("/__origin/echo?t=after-kill")), 502)
        self.assertTrue(g.alive())

    def test_upstream_slow_504(self):
        errors, timeouts = metric(self.gw, "cg_upstream_errors_total"), metric(self.gw, "cg_upstream_timeouts_total")
        t0 = time.monotonic()
        r = curl(self.gw.url("/__origin/slow?ms=3000&t=slow504"))
        took = time.monotonic() - t0
        self.assert_html_error(r, 504)
        self.assertLess(took, 2.5, "the gateway waited longer than io_timeout_ms")
        self.assertEqual(curl(self.gw.url("/__origin/slow?ms=50&t=fast")).status, 200)
        # a timeout is an upstream error and a timeout; the answer that came in time is neither
        self.assertEqual((metric(self.gw, "cg_upstream_errors_total"), metric(self.gw, "cg_upstream_timeouts_total")),
                         (errors + 1, timeouts + 1))
        self.assertIn("answered 504 (slower than proxy.io_timeout_ms)", self.gw.error_log())
        self.assertNotIn("slow504", self.gw.error_log())


class LoggingTest(GatewayTestCase):
    """What the error log says and leaves out: log.level, the default number of worker threads it names, and a risk list
    file's bad lines, each named by file:line."""
    start_gateway = False

    @staticmethod
    def read(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def test_default_threads_one_per_cpu(self):
        cpus = os.sysconf("SC_NPROCESSORS_ONLN")  # what the gateway asks (sysconf), not the affinity mask
        g = self.new_gateway("gw-threads", gateway_config(self.origin.url, threads=None))
        self.assertNotIn("threads", g.config)
        self.assertTrue(wait_until(lambda: "consentgate " in self.read(g.path("error.log")), 3))
        self.assertRegex(self.read(g.path("error.log")), r"\[info\] consentgate \S+: %d worker threads?, upstream " % cpus)
        text = curl(g.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).text
        self.assertEqual(re.findall(r'(?m)^cg_thread_requests_total\{thread="(\d+)"\}', text), [str(i) for i in range(cpus)])

    def test_error_log_folder_made(self):
        # as log.access's: an error log in a folder that does not exist yet (/var/log/consentgate/ on a first start) was
        # "cannot open the error log: No such file or directory", after --check-config had said "valid"
        g = self.new_gateway("gw-log-folder", gateway_config(self.origin.url, log={"error": "logs/new/error.log"}), start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        g.start()
        self.assertTrue(wait_until(lambda: "worker threads, upstream" in self.read(g.path("logs/new/error.log")), 5))
        self.assertEqual(os.stat(g.path("logs/new")).st_mode & 0o777, 0o750)
        g.stop_and_check()

    def test_level_warn_writes_no_info_lines(self):
        # a list file that does not exist yet is a warning; starting, listening and a reload are information
        risk = {"lists": [{"name": "later", "file": "lists/later.txt", "format": "domains", "action": "block"}]}
        logs = {}
        for level in ("info", "warn"):
            g = self.new_gateway("gw-" + level, gateway_config(self.origin.url, risk=risk, log={"level": level}))
            self.assertEqual(curl(g.url("/__origin/echo?t=level-" + level)).status, 200)
            g.signal(signal.SIGHUP)
            time.sleep(1.0)
            g.stop_and_check()
            logs[level] = self.read(g.path("error.log"))
        self.assertIn("[info] listening on", logs["info"])
        self.assertIn("[info] reload done", logs["info"])
        self.assertIn("[warn] risk list later: ", logs["info"])
        self.assertIn("[warn] risk list later: ", logs["warn"], "warnings are still written")
        self.assertNotIn("[info]", logs["warn"])
        self.assertNotIn("[debug]", logs["warn"] + logs["info"])

    def test_rejected_lines_of_a_list_file_named_by_line(self):
        d = os.path.join(self.tmp, "gw-rejects")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "phishing.txt")
        with open(path, "w") as f:
            f.write("# phishing\nevil.example\nnot a domain!!\nphish.example\n\nbad_host_$\n")
        risk = {"lists": [{"name": "phishing", "file": "phishing.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("gw-rejects", gateway_config(self.origin.url, risk=risk))
        log = self.read(g.path("error.log"))
        self.assertIn("[info] risk list phishing (domains, block): 2 entries, 2 rejected lines", log)
        self.assertEqual(re.findall(r"\[warn\] risk list (\S+): rejected: (.*)", log),
                         [(path + ":3", "not a domain!!"), (path + ":6", "bad_host_$")])
        # and again, with the new file's lines, when a changed file is reloaded
        with open(path, "w") as f:
            f.write("evil.example\n-bad-.example.\n")
        self.assertTrue(wait_until(lambda: "reloaded from" in self.read(g.path("error.log")), 5), self.read(g.path("error.log")))
        log = self.read(g.path("error.log"))
        self.assertRegex(log, r"\[info\] risk list phishing reloaded from %s in .*: 1 entries, 1 rejected lines" % re.escape(path))
        self.assertEqual(re.findall(r"\[warn\] risk list (\S+): rejected: (.*)", log)[2:], [(path + ":2", "-bad-.example.")])


class RawOriginTest(GatewayTestCase):
    """What an origin may send that a proxy must not pass on as it is (an origin of raw bytes, one response per
    connection), and what an HTTP/2 client says that the connection decides."""
    with_tls = True

    RESPONSES = {
        "/fold": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Fold: a\r\n  b\r\nSet-Cookie: sid=1;\r\n _ga=fold\r\n"
                 b"Content-Length: 2\r\nConnection: close\r\n\r\nok",
        "/hop": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nLocation: /x\r\nProxy-Connection: keep-alive\r\n"
                b"  Domain=evil\r\nTE: gzip\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        "/204body": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
    }

    @classmethod
    def setUpClass(cls):
        cls.raw = harness.RawOrigin(cls.RESPONSES)
        super().setUpClass()
        cls.rawgw = cls.new_gateway("raw", gateway_config(cls.raw.url, cookies={"overrides": {"sid": "necessary"}}))

    @classmethod
    def tearDownClass(cls):
        cls.raw.close()
        super().tearDownClass()

    def test_folded_and_connection_specific_headers(self):
        for http in ("1.1", "h2c"):
            r = curl(self.rawgw.url("/fold"), http=http)
            self.assertEqual(r.status, 200, (http, r))
            # a folded line goes (its own field may be one h2o dropped: joined, it would land on the field before)
            self.assertEqual(r.header("X-Fold"), "a", http)
            cookies = r.header_all("Set-Cookie")
            self.assertEqual(len(cookies), 1, cookies)
            self.assertTrue(cookies[0].startswith("sid=1;"), cookies)
            self.assertFalse(any("_ga" in c for c in cookies), cookies)
            self.assertFalse(any(not name for name, _ in r.headers), r.headers)
            h = curl(self.rawgw.url("/hop"), http=http)
            self.assertEqual(h.status, 200, (http, h))
            self.assertIsNone(h.header("Proxy-Connection"))
            self.assertIsNone(h.header("TE"))
            self.assertEqual(h.header("Location"), "/x", "a dropped field's folded line must not land on the one before")
            n = curl(self.rawgw.url("/204body"), http=http)
            self.assertEqual(n.status, 204, (http, n))
            self.assertIsNone(n.header("Content-Length"))

    def test_the_connection_decides_the_scheme(self):
        # an HTTP/2 client's :scheme is its own word: on a plain listener it gets no __Host- Secure cookie, no HSTS
        body = os.path.join(self.tmp, "all.json")
        with open(body, "w") as f:
            f.write('{"all": true}')
        p = subprocess.run(["nghttp", "-nv", "-H", ":scheme: https", "-H", "content-type: application/json", "-d", body,
                            self.gw.url("/__consent/api/consent")], capture_output=True, text=True, timeout=20)
        self.assertIn(":status: 200", p.stdout, p.stdout[-2000:])
        cookies = re.findall(r"set-cookie: (\S+)", p.stdout)
        self.assertTrue(any(c.startswith("cg_consent=") for c in cookies), cookies)
        self.assertFalse(any(c.startswith("__Host-") for c in cookies), cookies)
        p = subprocess.run(["nghttp", "-nv", "-H", ":scheme: https", self.gw.url("/__origin/echo?t=h2-scheme")],
                           capture_output=True, text=True, timeout=20)
        self.assertNotIn("strict-transport-security", p.stdout)
        self.assertEqual(harness.Origin.header(self.origin.assert_reached("t=h2-scheme"), "X-Forwarded-Proto"), ["http"])

    def test_http2_request_line_http1_cannot_carry_is_refused(self):
        # h2o 2.2.5 takes an HTTP/2 :path or :method with a space in it (it refuses only CR, LF and NUL), and the proxy
        # wrote "GET /a b HTTP/1.1" or "GE T / HTTP/1.1" to the origin, which origins read in different ways: a 400,
        # the origin not asked. The same path encoded goes through. (The 400 must be the gateway's page: the test origin
        # answers such a line with a 400 of its own and does not log it, so the status and its log alone cannot tell.)
        for args in (["-H", ":path: /__origin/echo?t=h2-line a"], ["-H", ":method: GE T"], ["-H", ":path: /__origin/echo?t=h2-line\tb"]):
            p = subprocess.run(["nghttp", "-v"] + args + [self.gw.url("/__origin/echo?t=h2-line-m")], capture_output=True,
                               text=True, timeout=20)
            self.assertIn(":status: 400", p.stdout, args)
            self.assertIn("characters a request line cannot carry", p.stdout, args)
        self.origin.assert_not_reached("t=h2-line")
        p = subprocess.run(["nghttp", "-nv", "-H", ":path: /__origin/echo?t=h2-ok%20a", self.gw.url("/")], capture_output=True,
                           text=True, timeout=20)
        self.assertIn(":status: 200", p.stdout)
        self.origin.assert_reached("t=h2-ok%20a")

    def test_no_server_push(self):
        p = subprocess.run(["nghttp", "-nv", self.gw.url("/__origin/headers?h=" + "Link:%3C/%3E;%20rel=preload")],
                           capture_output=True, text=True, timeout=20)
        self.assertIn(":status: 200", p.stdout)
        self.assertNotIn("PUSH_PROMISE", p.stdout)


class SecondInstanceTest(GatewayTestCase):
    """A second gateway on the same address or the same consent store refuses to start: sharing the port
    (SO_REUSEPORT) split the traffic between two processes, and two writers forked the records' hash chain."""

    def test_same_address_or_store_refused(self):
        first = self.gw.config

        def refused(name, config):
            # run as a server: it must exit by itself (it used to run, sharing the port)
            g = self.new_gateway(name, config, start=False)
            g.write_config()
            p = run_binary(["-c", g.config_path], timeout=10, cwd=g.workdir)
            self.assertEqual(p.returncode, 1, p.stderr)
            return p.stderr + g.error_log()

        err = refused("gw-same-port", gateway_config(self.origin.url, listen=first["listen"], admin=False))
        self.assertIn("cannot listen on 127.0.0.1:%d: another consentgate is listening there" % first["listen"][0]["port"], err)
        # another kind of server on the address: the same refusal, said as the system says it
        import socket
        other = socket.socket()
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        try:
            err = refused("gw-other-server", gateway_config(self.origin.url, listen=[{"host": "127.0.0.1", "port": other.getsockname()[1]}],
                                                            admin=False))
        finally:
            other.close()
        self.assertIn("Address already in use (another consentgate, or another server, is listening there)", err)
        err = refused("gw-same-store", gateway_config(self.origin.url, store={"sqlite": self.gw.path(first["store"]["sqlite"])}))
        self.assertIn("in use by another process", err)
        twice = gateway_config(self.origin.url)
        twice["listen"].append(dict(twice["listen"][0]))
        self.assertRegex(refused("gw-listen-twice", twice), r"listen\[1\]: repeats listen\[0\]")
        # another local user squatting the claim's name (an abstract unix socket) cannot keep the gateway from starting
        port = free_port()
        squat = subprocess.Popen(["/usr/bin/python3", "-c", "import socket, time; s = socket.socket(socket.AF_UNIX); "
                                  "s.bind('\\0consentgate-listen/127.0.0.1:%d'); s.listen(1); print('ok', flush=True); time.sleep(60)" % port],
                                 stdout=subprocess.PIPE, text=True, preexec_fn=lambda: os.setuid(65534))
        try:
            self.assertEqual(squat.stdout.readline().strip(), "ok")
            g = self.new_gateway("gw-squatted", gateway_config(self.origin.url, listen=[{"host": "127.0.0.1", "port": port}], admin=False))
            self.assertEqual(curl(g.url("/__origin/echo?t=squatted")).status, 200)
            self.assertIn("held by another user's process: ignored", g.error_log())
            g.stop_and_check()
        finally:
            squat.kill()
            squat.wait()
        # the first one was not disturbed
        self.assertEqual(curl(self.gw.url("/__origin/echo?t=still-mine")).status, 200)


    def test_addresses_it_cannot_bind_say_what_to_do(self):
        """A failed bind said only the system's words ("Permission denied"), not what an operator does about them."""
        def refused(name, listen, uid=None):
            g = self.new_gateway(name, gateway_config(self.origin.url, listen=[listen], admin=False), start=False)
            g.write_config()
            if uid is not None:  # the gateway's own folder only: it writes its secrets, store and logs there
                os.chmod(self.tmp, 0o755)
                os.chown(g.workdir, uid, -1)
            p = subprocess.run([g.binary, "-c", g.config_path], capture_output=True, text=True, timeout=30, cwd=g.workdir,
                               env=harness.sanitizer_env(), preexec_fn=(lambda: os.setuid(uid)) if uid is not None else None)
            self.assertEqual(p.returncode, 1, p.stderr)
            return p.stderr + g.error_log()

        # an address no interface has (TEST-NET-1, RFC 5737)
        self.assertIn("cannot listen on 192.0.2.1:%d: Cannot assign requested address (no network interface of this machine has "
                      "that address" % 18099, refused("gw-not-mine", {"host": "192.0.2.1", "port": 18099}))
        # a privileged port without the privilege (as root: as nobody; else as ourselves)
        err = refused("gw-port-1", {"host": "127.0.0.1", "port": 1}, uid=65534 if os.geteuid() == 0 else None)
        self.assertIn("cannot listen on 127.0.0.1:1: Permission denied (a port below 1024 takes root or the capability "
                      "CAP_NET_BIND_SERVICE", err)


class ThreadLimitTest(GatewayTestCase):
    """A thread the start cannot make (pthread_create fails when the tasks a user or a cgroup may have are spent:
    systemd's TasksMax=, a container's pids limit) ends the start with a clear error, or for the file watcher a warning.
    The failures were not looked at: a worker that was not made left the others and the main thread at the start-up
    barrier for good (no error, deaf to SIGTERM), a store without its writer thread queued every consent for good, and
    the file watcher's thread id was detached uninitialised. tests/integration/fail_thread.c (LD_PRELOAD) makes the
    n-th pthread_create call fail. Threads are made in this order: the job thread, the file watcher (with risk lists),
    the store's writer, the workers."""
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = os.path.join(cls.tmp, "fail_thread.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", cls.shim, os.path.join(harness.REPO, "tests/integration/fail_thread.c"),
                        "-ldl"], check=True, capture_output=True, timeout=60)

    def env(self, nth):
        env = harness.sanitizer_env()
        env["LD_PRELOAD"] = self.shim
        env["CG_TEST_FAIL_THREAD"] = str(nth)
        env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"  # (the shim comes before ASan's runtime)
        return env

    def refused(self, name, nth):
        g = self.new_gateway(name, gateway_config(self.origin.url), start=False)
        g.write_config()
        # a start that hangs is killed at the timeout: the test then fails with TimeoutExpired
        p = subprocess.run([g.binary, "-c", g.config_path], capture_output=True, text=True, timeout=20, cwd=g.workdir,
                           env=self.env(nth))
        self.assertEqual(p.returncode, 1, p.stderr + g.error_log())
        return p.stderr + g.error_log()

    def test_a_thread_that_cannot_be_made_ends_the_start(self):
        self.assertIn("consent.db: cannot start its writer thread: Resource temporarily unavailable",
                      self.refused("gw-no-writer", 2))
        self.assertIn("cannot start worker thread 1 of 2: Resource temporarily unavailable (lower `threads`",
                      self.refused("gw-no-first-worker", 3))
        # the first worker is made and waits for the others: the start still ends
        self.assertIn("cannot start worker thread 2 of 2", self.refused("gw-no-second-worker", 4))

    def test_without_the_file_watcher_the_lists_reload_on_sighup(self):
        g = self.new_gateway("gw-no-watcher", gateway_config(self.origin.url, risk={"lists": [
            {"name": "phishing", "file": "phishing.txt", "format": "domains", "action": "block"}]}), start=False)
        g.env = {k: v for k, v in self.env(2).items() if k in ("LD_PRELOAD", "CG_TEST_FAIL_THREAD", "ASAN_OPTIONS")}
        g.start()
        self.assertIn("cannot start the thread that watches the risk list files (Resource temporarily unavailable): they "
                      "are reloaded on SIGHUP only", g.error_log())
        self.assertEqual(curl(g.url("/__origin/echo?t=no-watcher")).status, 200)
        g.stop_and_check()


def cert_dir(test, name):
    """a folder of the test class's, with cert.pem and key.pem for localhost"""
    d = os.path.join(test.tmp, name)
    os.makedirs(d, exist_ok=True)
    harness.make_cert(d)
    return d


def tls_session(test, g, version, sess, out, port=None, extra=()):
    """openssl s_client to g's TLS listener ("-tls1_3" or "-tls1_2"; or the one on port; extra: more options) with the
    session read from sess (or None) and written to out: 'New' (a full handshake) or 'Reused'; the request is answered
    either way"""
    return tls_handshake(test, g, version, sess, out, port, extra)[0]


def tls_handshake(test, g, version, sess, out, port=None, extra=()):
    """tls_session's verdict, and what s_client printed (the session after the handshake: a TLS 1.2 ticket renewed in a
    resumption is there, as s_client writes no -sess_out for a resumed session)"""
    args = [harness.OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % (port or g.tls_port), "-servername", "localhost",
            version, "-ign_eof", "-sess_out", out] + (["-sess_in", sess] if sess else []) + list(extra)
    # (a request answered and the connection closed: a TLS 1.3 ticket comes after the handshake)
    p = subprocess.run(args, input=b"GET /__origin/echo?t=tickets HTTP/1.0\r\n\r\n", capture_output=True, timeout=20)
    text = p.stdout.decode(errors="replace")
    m = re.search(r"^(New|Reused), (TLSv1\.[23])", text, re.M)
    test.assertIsNotNone(m, text + p.stderr.decode(errors="replace"))
    test.assertEqual(m.group(2), {"-tls1_3": "TLSv1.3", "-tls1_2": "TLSv1.2"}[version])
    test.assertIn("HTTP/1.1 200 OK", text)
    return m.group(1), text


def ticket_key_name(sess=None, text=None):
    """the name of the key that sealed the session ticket in the session file sess, or in the session printed in text
    (a ticket's first 16 bytes), hex"""
    if sess is not None:
        text = subprocess.run([harness.OPENSSL, "sess_id", "-in", sess, "-noout", "-text"], capture_output=True,
                              check=True, timeout=20).stdout.decode()
    m = re.search(r"TLS session ticket:\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})", text)
    assert m is not None, text
    return re.sub(r"[ -]", "", m.group(1))


class SignalTest(GatewayTestCase):
    """SIGTERM drains in-flight requests; SIGHUP reloads without failing a request."""
    start_gateway = False

    def test_sigterm_completes_inflight_request(self):
        g = self.new_gateway("gw-term", gateway_config(self.origin.url))
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("r", curl(g.url("/__origin/slow?ms=1500&t=drain"))))
        t.start()
        self.origin.assert_reached("t=drain", timeout=5)
        g.signal(signal.SIGTERM)
        t.join(15)
        r = result.get("r")
        self.assertIsNotNone(r, "curl did not finish")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"slept 1500 ms\n")
        try:
            g.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.fail("gateway still running 10 s after SIGTERM")
        g.stop_and_check(expect_running=False)  # exit status 0 and no sanitizer report

    def test_sighup_reloads_tls_certificates(self):
        # certbot renews a certificate and signals a reload (a deploy hook): the gateway kept serving the one it started
        # with until a restart, and then an expired one
        import ssl
        d = cert_dir(self, "gw-renewed")
        g = self.new_gateway("gw-renewed", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")))

        def served():
            return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", g.tls_port))))

        def hup(n):
            g.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= n, 5), g.error_log())

        def pem(path):
            with open(path) as f:
                return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(f.read()))

        first = served()
        self.assertEqual(first, pem(os.path.join(d, "cert.pem")))
        renewed = os.path.join(self.tmp, "renewed")
        os.makedirs(renewed, exist_ok=True)
        harness.make_cert(renewed, cn="renewed.localhost")
        for name in ("key.pem", "cert.pem"):
            os.replace(os.path.join(renewed, name), os.path.join(d, name))
        hup(1)
        self.assertIn("TLS certificate %s reloaded" % os.path.join(d, "cert.pem"), g.error_log())
        self.assertNotEqual(served(), first)
        self.assertEqual(served(), pem(os.path.join(d, "cert.pem")))
        self.assertEqual(curl(g.url("/__origin/echo?t=renewed", tls=True)).status, 200)
        # a key that is not the certificate's (a renewal half done): said, and the certificate in force stays
        harness.make_cert(renewed)
        os.replace(os.path.join(renewed, "key.pem"), os.path.join(d, "key.pem"))
        hup(2)
        self.assertIn("TLS certificate not reloaded (the one in force stays): %s" % os.path.join(d, "key.pem"), g.error_log())
        self.assertEqual(served(), pem(os.path.join(d, "cert.pem")))
        self.assertEqual(curl(g.url("/__origin/echo?t=kept", tls=True)).status, 200)
        g.stop_and_check()

    def test_tls_sessions_resume_across_sighup(self):
        # a reload made a new SSL_CTX, and with it new session ticket keys: every visitor's TLS 1.3 or 1.2 session from
        # before it could not be resumed (a full handshake for everyone after each certificate renewal, daily on sites
        # whose certbot hook signals a reload). The ring of ticket keys (gateway/tickets.h) now outlives the contexts.
        d = cert_dir(self, "gw-tickets")
        g = self.new_gateway("gw-tickets", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")))

        def connect(version, sess, out):
            return tls_session(self, g, version, sess, out)

        reloads = 0
        for version in ("-tls1_3", "-tls1_2"):
            sess = os.path.join(d, "sess%s" % version)
            self.assertEqual(connect(version, None, sess), "New")
            self.assertEqual(connect(version, sess, sess + ".1"), "Reused")  # (no reload: resumed, as before)
            for _ in range(2):  # (and after a second reload, whose keys came from the first's context)
                reloads += 1
                g.signal(signal.SIGHUP)
                self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= reloads, 5), g.error_log())
                self.assertEqual(connect(version, sess, sess + ".2"), "Reused", (version, reloads))
        self.assertEqual(g.error_log().count("TLS certificate %s reloaded" % os.path.join(d, "cert.pem")), 4)
        self.assertNotIn("session tickets", g.error_log())
        g.stop_and_check()

    def test_tls12_session_ids_resume_across_sighup(self):
        # a TLS 1.2 client without tickets resumes by session ID, from a cache OpenSSL keeps in the SSL_CTX: each reload
        # made a new one, with an empty cache, and every such session from before it had a full handshake
        d = cert_dir(self, "gw-ids")
        g = self.new_gateway("gw-ids", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")))
        sess = os.path.join(d, "sess")
        self.assertEqual(tls_session(self, g, "-tls1_2", None, sess, extra=["-no_ticket"]), "New")
        text = subprocess.run([harness.OPENSSL, "sess_id", "-in", sess, "-noout", "-text"], capture_output=True,
                              check=True, timeout=20).stdout.decode()
        self.assertNotIn("TLS session ticket:", text)  # (a session ID only)
        self.assertRegex(text, r"Session-ID: [0-9A-F]{64}")
        self.assertEqual(tls_session(self, g, "-tls1_2", sess, sess + ".1", extra=["-no_ticket"]), "Reused")
        for n in (1, 2):
            g.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= n, 5), g.error_log())
            self.assertEqual(tls_session(self, g, "-tls1_2", sess, sess + ".2", extra=["-no_ticket"]), "Reused", n)
        g.stop_and_check()

    def test_sighup_while_a_client_has_not_said_hello(self):
        # h2o 2.2.5 makes a connection's SSL (SSL_new, which holds its SSL_CTX) when the ClientHello comes, not at accept:
        # a client that connected before a reload and spoke after it made its SSL from the SSL_CTX the reload had freed
        # (ASan: heap-use-after-free in SSL_new; without ASan, whatever that memory then held)
        import socket
        import ssl
        d = cert_dir(self, "gw-hello")
        g = self.new_gateway("gw-hello", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")))
        quiet = [socket.create_connection(("127.0.0.1", g.tls_port)) for _ in range(4)]
        time.sleep(0.3)  # accepted, the handshake waiting for the hello
        for n in (1, 2):
            g.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= n, 5), g.error_log())
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        for s in quiet:
            with ctx.wrap_socket(s) as t:
                t.sendall(b"GET /__origin/echo?t=hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                self.assertTrue(t.recv(4096).startswith(b"HTTP/1.1 200 "))
        self.assertEqual(curl(g.url("/__origin/echo?t=after", tls=True)).status, 200)
        g.stop_and_check()

    def test_sighup_says_an_edited_config_needs_a_restart(self):
        # SIGHUP reloads lists, keys, tokens, the GeoIP database and the logs, not the configuration: an operator who edited
        # it and sent SIGHUP saw "reload done" and believed it applied
        g = self.new_gateway("gw-edited", gateway_config(self.origin.url))

        def hup(n):
            g.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= n, 5), g.error_log())
            return g.error_log()

        self.assertNotIn("has changed since the start", hup(1))
        g.config["proxy"]["io_timeout_ms"] = 1000
        g.write_config()
        self.assertIn("[warn] SIGHUP: %s has changed since the start, and a reload does not apply it: restart the gateway to"
                      % g.config_path, hup(2))
        with open(g.config_path, "a") as f:
            f.write(",\n")
        self.assertIn("[error] SIGHUP: %s has changed since the start, and a restart would fail: %s:" % (g.config_path, g.config_path),
                      hup(3))
        self.assertIn("(the file is one JSON object: this follows its closing '}')", g.error_log())
        self.assertEqual(curl(g.url("/__origin/echo?t=after-edits")).status, 200)
        g.config["proxy"]["io_timeout_ms"] = 30000
        g.write_config()  # as it started: nothing to say
        log = hup(4)
        self.assertEqual(log.count("has changed since the start"), 2, log)
        g.stop_and_check()

    def test_sighup_during_requests(self):
        d = cert_dir(self, "gw-hup")
        g = self.new_gateway("gw-hup", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")))
        stop = threading.Event()
        results = []
        lock = threading.Lock()

        def load(n):
            i = 0
            while not stop.is_set():
                if n == 0:    # HTTP/1.1: five requests on one keep-alive connection
                    rs = curl_many([{"url": g.url("/__origin/echo?t=hup-%d-%d-%d" % (n, i, k))} for k in range(5)])
                elif n == 1:  # HTTP/2 over TLS: five streams on one connection
                    rs = curl_many([{"url": g.url("/__origin/echo?t=hup-%d-%d-%d" % (n, i, k), tls=True), "http": "2"}
                                    for k in range(5)])
                else:         # h2c: one transfer per curl (see curl_many)
                    rs = [curl(g.url("/__origin/echo?t=hup-%d-%d" % (n, i)), http="h2c")]
                i += 1
                with lock:
                    results.extend(rs)
        threads = [threading.Thread(target=load, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        for _ in range(3):
            g.signal(signal.SIGHUP)
            time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(30)
        self.assertTrue(g.alive(), "gateway died on SIGHUP:\n" + g.stderr())
        bad = [r for r in results if r.status != 200 or r.exit_code != 0]
        self.assertGreater(len(results), 10)
        self.assertEqual(bad, [], "%d of %d requests failed around SIGHUP" % (len(bad), len(results)))
        self.assertEqual(curl(g.url("/__origin/echo?t=after-hup")).status, 200)
        g.stop_and_check()


    def test_systemd_readiness_reload_and_stop(self):
        """Under systemd (Type=notify, conf/consentgate.service) the gateway says READY=1 on $NOTIFY_SOCKET once every
        listener accepts, RELOADING=1 … READY=1 around a SIGHUP's reload and STOPPING=1 on SIGTERM; one that refuses to
        start says nothing, so `systemctl start` fails instead of reporting a service that then dies."""
        def listen(name, abstract):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            addr = "\0cg-notify-%d-%s" % (os.getpid(), name) if abstract else os.path.join(self.tmp, name + ".sock")
            s.bind(addr)
            s.settimeout(10)
            self.addCleanup(s.close)
            return s, ("@" + addr[1:] if abstract else addr)

        def messages(s, n):
            return [s.recv(4096).decode() for _ in range(n)]

        for abstract in (False, True):
            sock, env = listen("gw-notify-%d" % abstract, abstract)
            g = self.new_gateway("gw-notify-%d" % abstract, gateway_config(self.origin.url), start=False)
            g.env["NOTIFY_SOCKET"] = env
            seen = {}

            def ready_when_accepting():
                seen["first"] = sock.recv(4096).decode()
                seen["accepting"] = all(harness.port_accepts(p) for p in g.ports())
            t = threading.Thread(target=ready_when_accepting)
            t.start()
            g.start()
            t.join(10)
            self.assertEqual(seen.get("first"), "READY=1")
            self.assertTrue(seen["accepting"], "READY=1 came before every listener accepted")

            g.signal(signal.SIGHUP)
            reloading, ready = messages(sock, 2)
            self.assertRegex(reloading, r"^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$")
            self.assertEqual(ready, "READY=1")
            self.assertIn("reload done", g.error_log())  # READY=1 again only after it
            self.assertEqual(curl(g.url("/__origin/echo?t=notified")).status, 200)
            g.signal(signal.SIGTERM)
            self.assertEqual(messages(sock, 1), ["STOPPING=1"])
            g.stop_and_check(expect_running=False)

        # one that cannot start (its port taken) never says READY=1
        sock, env = listen("gw-notify-refused", False)
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        g = self.new_gateway("gw-notify-refused", gateway_config(self.origin.url, admin=False,
                             listen=[{"host": "127.0.0.1", "port": taken.getsockname()[1]}]), start=False)
        g.write_config()
        p = subprocess.run([g.binary, "-c", g.config_path], capture_output=True, text=True, timeout=30, cwd=g.workdir,
                           env=harness.sanitizer_env(dict(os.environ, NOTIFY_SOCKET=env)))
        self.assertEqual(p.returncode, 1, p.stderr)
        sock.settimeout(0.5)
        self.assertRaises(socket.timeout, sock.recv, 4096)


    def test_installed_unit_runs_the_service(self):
        """make install's systemd unit: systemd-analyze finds nothing wrong in it, its sysusers.d line makes the user, and
        the setup its header describes works for that user: the gateway as ExecStart starts it (in WorkingDirectory, with
        $NOTIFY_SOCKET), says READY=1, proxies, records a consent in the state folder, and the admin API rewrites a list
        in the one folder of /etc the unit lets it write (ReadWritePaths). The sandbox itself needs a running systemd."""
        import shlex
        import shutil
        root = os.path.join(self.tmp, "svc")
        prefix, etc, state, logs = (os.path.join(root, d) for d in ("usr", "etc", "state", "log"))
        build = os.path.relpath(os.path.dirname(harness.CG_BIN), harness.REPO)
        p = subprocess.run(["make", "-s", "-o", "all", "install", "PREFIX=" + prefix, "SYSCONFDIR=" + etc, "STATEDIR=" + state,
                            "LOGDIR=" + logs, "BUILD=" + build], cwd=harness.REPO, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        unit = os.path.join(prefix, "lib", "systemd", "system", "consentgate.service")
        p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, timeout=60, cwd=root)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), "systemd-analyze verify " + unit)
        keys = {}
        with open(unit) as f:
            for k, v in (l.rstrip("\n").split("=", 1) for l in f if "=" in l and not l.startswith("#")):
                keys[k] = keys[k] + " " + v if k in keys else v
        self.assertEqual(keys["Type"], "notify")
        # folders outside /var/lib and /var/log: the operator's to make, the unit lets the service write there
        self.assertEqual(keys["ReadWritePaths"].split(), [state, logs, "-%s/consentgate/risk" % etc])
        sysroot = os.path.join(root, "sysroot")
        os.makedirs(os.path.join(sysroot, "etc"))
        p = subprocess.run(["systemd-sysusers", "--root=" + sysroot, os.path.join(prefix, "lib", "sysusers.d", "consentgate.conf")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(sysroot, "etc", "passwd")) as f:
            self.assertRegex(f.read(), r"(?m)^consentgate:x:\d+:\d+:[^:]*:[^:]*:/usr/sbin/nologin$")

        # the setup the unit's header gives, for a user who is not root (nobody: the sysusers user exists only in sysroot)
        uid = 65534 if os.geteuid() == 0 else os.geteuid()
        conf_dir = os.path.join(etc, "consentgate")
        os.makedirs(conf_dir)
        shared = os.path.join(prefix, "share", "consentgate", "conf")
        shutil.copy(os.path.join(shared, "consentgate.json"), conf_dir)
        shutil.copytree(os.path.join(shared, "risk"), os.path.join(conf_dir, "risk"))
        with open(os.path.join(conf_dir, "consentgate.json")) as f:
            conf = json.load(f)
        port, admin = free_port(), free_port()  # (an operator edits the example: its ports are the demo's)
        conf.update(listen=[{"host": "127.0.0.1", "port": port}], upstream=self.origin.url, trackers={"lists": []})
        conf["admin"]["listen"]["port"] = admin
        with open(os.path.join(conf_dir, "consentgate.json"), "w") as f:
            json.dump(conf, f)
        with open(os.path.join(conf_dir, "admin-tokens"), "w") as f:
            f.write("ops:%s\n" % ADMIN_TOKEN)
        os.chmod(os.path.join(conf_dir, "admin-tokens"), 0o600)
        for d in (state, logs):  # what StateDirectory= and LogsDirectory= make
            os.makedirs(d)
        for path in [os.path.join(conf_dir, "admin-tokens"), state, logs, os.path.join(conf_dir, "risk")] + \
                [os.path.join(conf_dir, "risk", f) for f in os.listdir(os.path.join(conf_dir, "risk"))]:
            os.chown(path, uid, -1)
        os.chmod(self.tmp, 0o755)
        os.chmod(root, 0o755)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(os.path.join(root, "notify.sock"))
        os.chmod(os.path.join(root, "notify.sock"), 0o777)
        sock.settimeout(60)
        proc = subprocess.Popen(shlex.split(keys["ExecStart"]), cwd=keys["WorkingDirectory"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "stderr"), "wb"),
                                env=harness.sanitizer_env(dict(os.environ, NOTIFY_SOCKET=os.path.join(root, "notify.sock"))),
                                preexec_fn=(lambda: os.setuid(uid)) if uid != os.geteuid() else None)
        try:
            self.assertEqual(sock.recv(4096), b"READY=1", open(os.path.join(root, "stderr")).read())
            self.assertEqual(curl("http://127.0.0.1:%d/__origin/echo?t=service" % port).status, 200)
            r = curl("http://127.0.0.1:%d/__consent/api/consent" % port, method="POST", data='{"all": true}',
                     headers=["Content-Type: application/json"])
            self.assertEqual(r.status, 200, r.text)
            self.assertTrue(os.path.getsize(os.path.join(state, "consent.db")) > 0)
            r = curl("http://127.0.0.1:%d/admin/lists/example-block/entries" % admin, method="POST",
                     data=json.dumps({"add": ["service.example"]}), headers=["Authorization: Bearer " + ADMIN_TOKEN])
            self.assertEqual(r.status, 200, r.text)
            with open(os.path.join(conf_dir, "risk", "example-block.txt")) as f:
                self.assertIn("service.example", f.read())
            self.assertTrue(os.path.getsize(os.path.join(state, "audit.log")) > 0)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(sock.recv(4096), b"STOPPING=1")
            self.assertEqual(proc.wait(30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(os.path.join(root, "stderr")) as f:
            err = f.read()
        self.assertEqual([m for m in harness.SANITIZER_MARKERS if m in err], [], err)


GOOD = """{
  "listen": [{"host": "127.0.0.1", "port": 18080}],
  "upstream": "http://127.0.0.1:9000",
  "threads": 2
}
"""


class TicketKeyTest(GatewayTestCase):
    """The TLS session ticket keys rotate: the newest seals, the older ones of the ring open (and renew), a retired one
    does not."""
    start_gateway = False

    def test_ticket_keys_rotate_with_overlap(self):
        # the keys were those OpenSSL drew for the first SSL_CTX, passed on at every reload: one key for the process's
        # life, and one key disclosed (a memory leak) opened every ticket of every session since the start. A new key is
        # now drawn every hour (2 s here: CG_TICKET_KEY_SECONDS) and each opens tickets for 3 rotations.
        d = cert_dir(self, "gw-rotate")
        g = self.new_gateway("gw-rotate", gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem")), start=False)
        g.env = {"CG_TICKET_KEY_SECONDS": "2"}
        g.start()
        versions = ("-tls1_3", "-tls1_2")
        first = {}
        for v in versions:
            first[v] = os.path.join(d, "first%s" % v)
            self.assertEqual(tls_session(self, g, v, None, first[v]), "New")
        # a TLS 1.3 resumption under the newest key brings a new ticket too, as with OpenSSL's own keys: a browser uses
        # a ticket once, and without a new one its next connection would be a full handshake
        fresh = os.path.join(d, "fresh-tls1_3")
        self.assertEqual(tls_session(self, g, "-tls1_3", first["-tls1_3"], fresh), "Reused")
        self.assertTrue(os.path.exists(fresh), "no new ticket after a TLS 1.3 resumption")
        old = {ticket_key_name(first[v]) for v in versions}  # (two names when a rotation fell between them)
        probe = os.path.join(d, "probe")
        newer = []  # the names of the keys drawn since, oldest first, as new tickets show them

        def drawn(n):
            """whether n keys were drawn since (a new ticket is sealed under the newest)"""
            self.assertEqual(tls_session(self, g, "-tls1_2", None, probe), "New")
            name = ticket_key_name(probe)
            if name not in old and name not in newer:
                newer.append(name)
            return len(newer) >= n

        self.assertTrue(wait_until(lambda: drawn(1), 20, 0.2), "no new ticket key: %s" % old)
        # within the overlap: the tickets sealed under the previous key resume, and come back under the newest
        for v in versions:
            again = os.path.join(d, "again%s" % v)
            verdict, text = tls_handshake(self, g, v, first[v], again)
            self.assertEqual(verdict, "Reused", v)
            # (OpenSSL sends a TLS 1.3 ticket after a resumption only when the key callback asks for a renewal)
            self.assertTrue(v != "-tls1_3" or os.path.exists(again), "no new ticket after a resumption under an older key")
            renewed = ticket_key_name(again) if v == "-tls1_3" else ticket_key_name(text=text)
            self.assertNotIn(renewed, old, v)
            drawn(1)
            self.assertIn(renewed, newer, v)
        # three keys drawn after theirs: retired, and the tickets sealed under them no longer resume (a full handshake,
        # answered as any)
        self.assertTrue(wait_until(lambda: drawn(3), 30, 0.2), newer)
        for v in versions:
            self.assertEqual(tls_session(self, g, v, first[v], os.path.join(d, "late%s" % v)), "New", v)
        self.assertNotIn("TLS session ticket", g.error_log())
        g.stop_and_check()

    def test_sessions_resume_on_their_own_listener_only(self):
        # the ticket keys are the process's (before, each listener's SSL_CTX had its own): a session made on one TLS
        # listener, under its certificate, resumed on another, whose certificate the client never saw
        d = cert_dir(self, "gw-two")
        cfg = gateway_config(self.origin.url, tls_cert=("cert.pem", "key.pem"))
        other = free_port()
        cfg["listen"].append({"host": "127.0.0.1", "port": other, "tls": {"cert": "cert.pem", "key": "key.pem"}})
        g = self.new_gateway("gw-two", cfg)
        for v in ("-tls1_3", "-tls1_2"):
            sess = os.path.join(d, "sess%s" % v)
            self.assertEqual(tls_session(self, g, v, None, sess), "New")
            self.assertEqual(tls_session(self, g, v, sess, sess + ".other", port=other), "New", v)
            self.assertEqual(tls_session(self, g, v, sess, sess + ".again"), "Reused", v)
        g.stop_and_check()


class AdminTokensReloadTest(GatewayTestCase):
    """admin.tokens_file is re-read on SIGHUP: a token taken out stops working (a leaked one revoked), one put in starts;
    a file that does not load (a bad line, or gone) leaves the tokens in force, with an error."""

    def status(self, token):
        return curl(self.gw.admin_url(), headers=["Authorization: Bearer " + token]).status

    def reload(self, said):
        before = self.gw.error_log().count(said)
        self.gw.signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: self.gw.error_log().count(said) > before, 5), self.gw.error_log()[-600:])

    def test_revoked_and_added_on_sighup_kept_when_the_file_does_not_load(self):
        tokens = self.gw.path("admin-tokens")
        self.assertEqual(self.status(ADMIN_TOKEN), 200)
        with open(tokens, "w") as f:
            f.write("new:0123456789abcdef-new\n")
        self.reload("admin tokens reloaded")
        self.assertEqual((self.status(ADMIN_TOKEN), self.status("0123456789abcdef-new")), (403, 200))
        for bad in ("new:short\n", None):
            if bad is None:
                os.unlink(tokens)
            else:
                with open(tokens, "w") as f:
                    f.write(bad)
            self.reload("admin tokens not reloaded (the previous ones stay in force)")
            self.assertEqual(self.status("0123456789abcdef-new"), 200, bad)
        self.assertIn("admin-tokens: cannot open: No such file or directory", self.gw.error_log())
        # no credentials (401, with the challenge) and a token longer than any in a file (403, not compared)
        r = curl(self.gw.admin_url(), headers=["Authorization: Bearer    "])
        self.assertEqual((r.status, r.header("WWW-Authenticate")), (401, 'Bearer realm="consentgate-admin"'))
        self.assertEqual(self.status("x" * 513), 403)


class ProxyProtocolTest(GatewayTestCase):
    """Behind a TCP load balancer (HAProxy send-proxy[-v2], an AWS Network Load Balancer, Google's TCP proxies) every
    connection came from the balancer: every visitor had its address (the regime of the balancer's country, one rate
    limit for everyone, records with its address), and X-Forwarded-For is HTTP, which such a balancer does not write.
    listen[].proxy_protocol reads the PROXY header (v1 or v2) it sends first, believed only from geoip.trusted_proxies."""
    with_tls = True
    config = {"geoip": {"database": os.path.join(harness.REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb"),
                        "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"GB": "opt-out"}}}
    start_gateway = False

    V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for l in cls.gw.config["listen"]:
            l["proxy_protocol"] = True
        cls.gw.start()

    def v1(self, client, port=50000):
        family = "TCP6" if ":" in client else "TCP4"
        return ("PROXY %s %s %s %d %d\r\n" % (family, client, "::1" if ":" in client else "127.0.0.1", port,
                                               self.gw.port)).encode()

    def v2(self, client, port=50000, local=False):
        packed = socket.inet_pton(socket.AF_INET6 if ":" in client else socket.AF_INET, client)
        body = packed + bytes(len(packed)) + port.to_bytes(2, "big") + self.gw.port.to_bytes(2, "big")
        family = 0x21 if ":" in client else 0x11
        return self.V2SIG + bytes([0x20 if local else 0x21, family]) + len(body).to_bytes(2, "big") + body

    def send(self, header, request, tls=False, pieces=1):
        """header, then the request (over TLS when tls: the header goes before the handshake); the answer's bytes"""
        sock = socket.create_connection(("127.0.0.1", self.gw.tls_port if tls else self.gw.port), timeout=5)
        try:
            step = max(1, len(header) // pieces)
            for i in range(0, len(header), step):  # (in pieces: as a slow balancer's packets come)
                sock.sendall(header[i:i + step])
                time.sleep(0.05 if pieces > 1 else 0)
            if tls:
                import ssl
                ctx = ssl.create_default_context()
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
                sock = ctx.wrap_socket(sock, server_hostname="localhost")
            sock.sendall(request)
            out = b""
            while True:
                try:
                    b = sock.recv(65536)
                except (socket.timeout, ConnectionResetError):
                    break
                if not b:
                    break
                out += b
            return out
        finally:
            sock.close()

    def get(self, header, path, tls=False, pieces=1, extra=""):
        return self.send(header, ("GET %s HTTP/1.1\r\nHost: shop.example\r\n%sConnection: close\r\n\r\n" % (path, extra)).encode(),
                         tls=tls, pieces=pieces)

    def state(self, header, **kw):
        status, _, body = parse_responses(self.get(header, "/__consent/api/state", **kw), ["GET"])[0]
        self.assertEqual(status, 200)
        s = json.loads(body)
        return s["country"], s["regime"]

    def forwarded_for(self, header, tag, **kw):
        self.assertEqual(parse_responses(self.get(header, "/__origin/echo?t=" + tag, **kw), ["GET"])[0][0], 200)
        return xff_list(self.origin.assert_reached("t=" + tag))

    def test_the_header_names_the_client(self):
        gb = "81.2.69.160"  # GB in MaxMind's test database: opt-out here
        self.assertEqual(self.state(self.v1(gb)), ("GB", "opt-out"))
        self.assertEqual(self.state(self.v2(gb)), ("GB", "opt-out"))
        self.assertEqual(self.state(self.v1(gb), tls=True), ("GB", "opt-out"))
        self.assertEqual(self.state(self.v2(gb), pieces=5), ("GB", "opt-out"))
        # what reaches the origin: the client, as X-Forwarded-For names a direct client
        self.assertEqual(self.forwarded_for(self.v1("203.0.113.7"), "pp-v1"), ["203.0.113.7"])
        self.assertEqual(self.forwarded_for(self.v2("2001:db8::1"), "pp-v2-6"), ["2001:db8::1"])
        # a real client that speaks it (curl --haproxy-protocol: v1 naming curl's own address), over h2c and HTTP/2
        for tls, http in ((False, "h2c"), (True, "2")):
            r = curl(self.gw.url("/__origin/echo?t=pp-curl-%s" % http, tls=tls), http=http, extra=["--haproxy-protocol"])
            self.assertEqual((r.status, r.http_version), (200, "2"), r)
            self.assertEqual(xff_list(self.origin.assert_reached("t=pp-curl-" + http)), ["127.0.0.1"])
        # the balancer's own connections (v2 LOCAL: health checks) keep its address
        self.assertEqual(self.forwarded_for(self.v2("203.0.113.7", local=True), "pp-local"), ["127.0.0.1"])
        # the client named is no trusted proxy: an X-Forwarded-For it writes itself is not believed
        self.assertEqual(self.state(self.v1("203.0.113.7"), extra="X-Forwarded-For: %s\r\n" % gb), (None, "opt-in"))
        # and its consent is recorded with its address (truncated), not the balancer's
        r = parse_responses(self.send(self.v1(gb), b"POST /__consent/api/consent HTTP/1.1\r\nHost: shop.example\r\n"
                                                   b"Content-Type: application/json\r\nContent-Length: 13\r\n"
                                                   b"Connection: close\r\n\r\n{\"all\": true}"), ["POST"])[0]
        self.assertEqual(r[0], 200, r)
        import sqlite3
        db = sqlite3.connect(self.gw.path("consent.db"))
        try:
            row = db.execute("SELECT client_ip, country FROM records WHERE receipt = ?", (json.loads(r[2])["receipt"],)).fetchone()
        finally:
            db.close()
        self.assertEqual(row, ("81.2.69.0/24", "GB"))

    def test_a_client_not_named_is_not_the_balancer(self):
        # v1 UNKNOWN, v2 PROXY over UNSPEC or UNIX: a client relayed unnamed (HAProxy behind a unix socket), whose
        # bytes the balancer passes as they came: with the balancer's (trusted) address, the X-Forwarded-For it wrote
        # itself chose its regime, and its X-Forwarded-Host reached the origin
        gb, v2_unspec = "81.2.69.160", self.V2SIG + b"\x21\x00\x00\x00"
        for header in (b"PROXY UNKNOWN\r\n", v2_unspec, self.V2SIG + b"\x21\x31\x00\x00"):
            self.assertEqual(self.state(header, extra="X-Forwarded-For: %s\r\n" % gb), (None, "opt-in"), header)
        self.assertEqual(self.forwarded_for(b"PROXY UNKNOWN\r\n", "unnamed-v1"), ["0.0.0.0"])
        self.get(v2_unspec, "/__origin/echo?t=unnamed-v2-host", extra="X-Forwarded-Host: evil.example\r\n")
        self.assertEqual(harness.Origin.header(self.origin.assert_reached("t=unnamed-v2-host"), "X-Forwarded-Host"), [])

    def test_no_header_or_an_untrusted_balancer_is_closed(self):
        # a client that reaches the listener itself, with no header, never has its request answered (nor forwarded)
        idle = socket.create_connection(("127.0.0.1", self.gw.port), timeout=15)  # (and one that says nothing: h2o's
        started = time.monotonic()                                                 # 10 s handshake timeout closes it)
        before = metric(self.gw, "cg_proxy_headers_refused_total")
        self.assertEqual(self.get(b"", "/__origin/echo?t=pp-none"), b"")
        self.assertEqual(self.send(b"", b"\x16\x03\x01\x00\x05hello", tls=False), b"")
        self.assertEqual(self.get(b"PROXY TCP4 203.0.113.7 127.0.0.1 99999 80\r\n", "/__origin/echo?t=pp-bad"), b"")
        self.origin.assert_not_reached("t=pp-")
        self.assertEqual(metric(self.gw, "cg_proxy_headers_refused_total"), before + 3)
        self.assertIn("closed: what came first is no PROXY header (listen[].proxy_protocol)", self.gw.error_log())
        self.assertEqual(idle.recv(1), b"")
        self.assertGreater(time.monotonic() - started, 5)
        idle.close()
        # a balancer that is not one of geoip.trusted_proxies: its header would let anyone say who they are
        g = self.new_gateway("pp-untrusted", gateway_config(self.origin.url, admin=False, geoip={"trusted_proxies": ["10.0.0.0/8"]},
                                                            listen=[{"host": "127.0.0.1", "port": free_port(), "proxy_protocol": True}]))
        r = raw_request(g.port, self.v1("81.2.69.160") + b"GET /__origin/echo?t=pp-untrusted HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(r, b"")
        self.origin.assert_not_reached("t=pp-untrusted")
        # logged with the peer's /24 (/48), as records keep a visitor's address: it is no trusted balancer's, so it may
        # be a visitor's own (a listener reached round the balancer)
        self.assertIn("connection from 127.0.0.0/24 closed: not one of geoip.trusted_proxies", g.error_log())
        g.stop_and_check()


class CheckConfigTest(GatewayTestCase):
    """--check-config: "file:line:column: message" on stderr and exit 1 for a bad config."""
    with_origin = False
    start_gateway = False
    pos_re = re.compile(r"(?m)^(?P<file>\S*?check\.json):(?P<line>\d+):(?P<col>\d+): (?P<msg>\S.*)$")

    def check(self, text, name="check.json"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return run_binary(["--check-config", "-c", path], cwd=self.tmp)

    def assert_bad(self, text, line=None, mentions=()):
        p = self.check(text)
        self.assertEqual(p.returncode, 1, "exit status for a bad config (stderr: %r)" % p.stderr)
        m = self.pos_re.search(p.stderr)
        self.assertIsNotNone(m, "no 'file:line:column: message' on stderr: %r" % p.stderr)
        if line is not None:
            self.assertEqual(int(m.group("line")), line, "wrong line in %r" % m.group(0))
        for word in mentions:
            self.assertIn(word, m.group("msg"), "message should name %r" % word)
        self.assertNotIn("AddressSanitizer", p.stderr)
        self.assertNotIn("runtime error:", p.stderr)
        return m

    def test_good_config_exit_0(self):
        p = self.check(GOOD)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_addresses_it_could_not_listen_on(self):
        # found by --check-config, not only by a start that had already made the secrets file and the consent store
        twice = GOOD.replace('"listen": [{"host": "127.0.0.1", "port": 18080}]',
                             '"listen": [{"host": "127.0.0.1", "port": 18080},\n             {"host": "localhost", "port": 18080}]')
        self.assert_bad(twice, line=3, mentions=["listen[1]", "repeats listen[0] (127.0.0.1:18080)"])
        for admin, line in (('{"listen": {"port": 18080}, "tokens_file": "t"}', 5),
                            ('{"listen": {"host": "127.0.0.1", "port": 18080}, "tokens_file": "t"}', 5)):
            with open(os.path.join(self.tmp, "t"), "w") as f:
                f.write("ops:0123456789abcdef0123\n")
            os.chmod(os.path.join(self.tmp, "t"), 0o600)
            bad = GOOD.replace('"threads": 2', '"threads": 2,\n  "admin": %s' % admin)
            self.assert_bad(bad, line=line, mentions=["admin", "port 18080 is listen[0]'s too"])
        ok = GOOD.replace('"threads": 2', '"threads": 2,\n  "admin": {"listen": {"port": 18081}, "tokens_file": "t"}')
        self.assertEqual(self.check(ok).returncode, 0, self.check(ok).stderr)

    def test_good_config_with_tls_exit_0(self):
        harness.make_cert(self.tmp)
        p = self.check(GOOD.replace('"port": 18080}', '"port": 18443, "tls": {"cert": "cert.pem", "key": "key.pem"}}'))
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_invalid_json(self):
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,,'), line=4)

    def test_unknown_key_top_level(self):
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "bogus_key": true'), line=5,
                        mentions=["bogus_key"])

    def test_unknown_key_nested(self):
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "proxy": {"io_timeout_ms": 100, "frobnicate": 1}'),
                        line=5, mentions=["frobnicate"])

    def test_wrong_type(self):
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": "two"'), line=4, mentions=["threads"])

    def test_missing_listen(self):
        self.assert_bad(GOOD.replace('"listen": [{"host": "127.0.0.1", "port": 18080}],\n', ""), mentions=["listen"])

    def test_missing_upstream(self):
        self.assert_bad(GOOD.replace('"upstream": "http://127.0.0.1:9000",\n', ""), mentions=["upstream"])

    def test_bad_ports(self):
        for port in ("0", "70000", '"80"'):
            with self.subTest(port=port):
                self.assert_bad(GOOD.replace("18080", port), line=2, mentions=["port"])

    def test_bad_upstream(self):
        for url in ("ftp://x", "http://", "http://[::1", "http://[zz]:9000", "http://[::1]x", "http://a[b]"):
            with self.subTest(url=url):
                self.assert_bad(GOOD.replace("http://127.0.0.1:9000", url), line=3, mentions=["upstream"])

    def test_ipv6_upstream(self):
        # an origin at an IPv6 literal, http://[::1]:PORT (RFC 3986; h2o's URL parser takes it): accepted and proxied
        port = free_port()
        origin = subprocess.Popen([sys.executable, "-c", """if 1:
            import http.server, socket, sys
            class S(http.server.HTTPServer):
                address_family = socket.AF_INET6
            class H(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Length", "8")
                    self.end_headers()
                    self.wfile.write(b"over v6\\n")
                def log_message(self, *a):
                    pass
            S(("::1", int(sys.argv[1])), H).serve_forever()""", str(port)], stdin=subprocess.DEVNULL)
        try:
            self.assertTrue(wait_until(lambda: harness.port_accepts(port, "::1"), 10), "the IPv6 origin did not start")
            upstream = "http://[::1]:%d" % port
            p = self.check(GOOD.replace("http://127.0.0.1:9000", upstream))
            self.assertEqual(p.returncode, 0, p.stderr)
            g = self.new_gateway("v6-upstream", gateway_config(upstream, admin=False))
            r = curl(g.url("/v6"))
            self.assertEqual((r.status, r.body), (200, b"over v6\n"))
            g.stop_and_check()
        finally:
            origin.kill()
            origin.wait()

    def test_bad_store_commit_delay(self):
        for value in ("-1", "1001", '"2"'):
            with self.subTest(value=value):
                text = GOOD.replace('"threads": 2', '"threads": 2,\n  "store": {"sqlite": "c.db", "commit_delay_ms": %s}' % value)
                self.assert_bad(text, line=5, mentions=["commit_delay_ms"])

    def test_records_kept_shorter_than_the_consents_they_show(self):
        # a token is acted on for policy.consent_max_age_days; a store.retention_days below that purged the records of
        # consents still in force, which then granted with nothing left to show them (GDPR art. 7(1))
        text = GOOD.replace('"threads": 2', '"threads": 2,\n  "store": {"sqlite": "c.db", "retention_days": 30}')
        self.assert_bad(text, line=5, mentions=["store.retention_days (30)", "consent_max_age_days (365)"])
        text = GOOD.replace('"threads": 2', '"threads": 2,\n  "policy": {"consent_max_age_days": 1000}')  # default 730
        self.assert_bad(text, line=5, mentions=["store.retention_days (730)", "consent_max_age_days (1000)"])
        text = GOOD.replace('"threads": 2', '"threads": 2,\n  "store": {"sqlite": "c.db", "retention_days": 30},\n'
                                            '  "policy": {"consent_max_age_days": 30}')
        self.assertEqual(self.check(text).returncode, 0)

    def test_missing_tls_cert(self):
        text = GOOD.replace('"port": 18080}', '"port": 18443,\n    "tls": {"cert": "no-such-cert.pem", "key": "no-such-key.pem"}}')
        self.assert_bad(text, line=3, mentions=["no-such-cert.pem"])

    def test_resources_checked_as_a_start_would(self):
        """--check-config said "valid" for configurations whose start then failed."""
        harness.make_cert(self.tmp)
        other = os.path.join(self.tmp, "other")
        os.makedirs(other, exist_ok=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                        os.path.join(other, "key.pem")], check=True, capture_output=True)  # a key that is not the cert's
        with open(os.path.join(self.tmp, "not.mmdb"), "w") as f:
            f.write("not a database\n")
        with open(os.path.join(self.tmp, "loose-secrets.json"), "w") as f:
            f.write("{}")
        os.chmod(os.path.join(self.tmp, "loose-secrets.json"), 0o644)
        with open(os.path.join(self.tmp, "bad-tokens"), "w") as f:
            f.write("nocolon\n")
        with open(os.path.join(self.tmp, "list.txt"), "w") as f:
            f.write("tracker.example\n")
        tls = '"port": 18443, "tls": {"cert": "cert.pem", "key": "%s"}}'
        cases = [
            (GOOD.replace('"port": 18080}', tls % "other/key.pem"), "key"),
            (GOOD.replace('"threads": 2', '"threads": 2, "geoip": {"database": "not.mmdb"}'), "not.mmdb"),
            (GOOD.replace('"threads": 2', '"threads": 2, "secrets_file": "loose-secrets.json"'), "loose-secrets.json"),
            (GOOD.replace('"threads": 2', '"threads": 2, "admin": {"listen": {"host": "127.0.0.1", "port": 18081}, '
                                           '"tokens_file": "bad-tokens"}'), "bad-tokens"),
            (GOOD.replace('"threads": 2', '"threads": 2, "trackers": {"lists": [{"name": "t", "file": "list.txt", '
                                           '"format": "csv", "category": "analytics"}]}'), "trackers.lists[0].format"),
            (GOOD.replace('"threads": 2', '"threads": 2, "log": {"access": "a.log", "access_format": "%Z"}'), "log.access_format"),
        ]
        for text, mention in cases:
            with self.subTest(mention=mention):
                p = self.check(text)
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertIn(mention, p.stderr)
                self.assertNotIn("configuration is valid", p.stdout)

    def test_admin_tokens_file(self):
        def check_tokens(text):
            with open(os.path.join(self.tmp, "tokens"), "w") as f:
                f.write(text)
            return self.check(GOOD.replace('"threads": 2', '"threads": 2, "admin": {"listen": {"host": "127.0.0.1", "port": 18081}, '
                                                          '"tokens_file": "tokens"}'))
        for text, why in (("a:x\n", "shorter than 16 bytes"), ("a:0123456789abcdef\nb:0123456789abcdef\n", "token is used twice"),
                          ("a:0123456789abcdef\na:fedcba9876543210\n", "name is used twice"), ("  :0123456789abcdef\n", "expected"),
                          ("a:        0123456789\n", "shorter than 16 bytes")):
            with self.subTest(text=text):
                p = check_tokens(text)
                self.assertEqual(p.returncode, 1, p.stdout)
                self.assertIn(why, p.stderr)
                self.assertIn("tokens:", p.stderr)
        self.assertEqual(check_tokens("# ok\nops : 0123456789abcdef \n").returncode, 0)
        # a line longer than the reader's buffer was read in pieces, each taken for a line of its own: the tail of a
        # long comment ("…see https://wiki.example/…") became a token anyone reading the comment knew
        p = check_tokens("ops:0123456789abcdef\n# " + "c" * 637 + "ps://wiki.example/rotating-admin-tokens\n")
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("tokens:2:", p.stderr)
        self.assertIn("too long", p.stderr)

    def test_values_that_cannot_work(self):
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "proxy": {"max_request_body": 1000}'), line=5,
                        mentions=["max_request_body"])
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "regimes": {"gpc_refuses": ["marketing", "necessary"]}'),
                        line=5, mentions=["necessary"])

    def test_policy_url_is_a_link_of_the_site(self):
        for bad in ("javascript:alert(1)", "//evil.example/privacy", "/pri\\\"vacy", "privacy.html", "/a b", "data:text/html,x"):
            self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "policy": {"url": %s}' % json.dumps(bad)), line=5,
                            mentions=["policy.url", "is not an http(s) URL or a path on this site"])
        for good in ("/privacy", "/{lang}/privacy?x=1&y=2", "https://shop.example/datenschutz", "HTTP://shop.example/p"):
            p = self.check(GOOD.replace('"threads": 2', '"threads": 2, "policy": {"url": %s}' % json.dumps(good)))
            self.assertEqual(p.returncode, 0, (good, p.stderr))

    def test_regime_keys_that_name_no_country(self):
        # "UK" and "EL" place no visitor (the database says GB and GR): the United Kingdom's and Greece's visitors got
        # regimes.default with nothing said; "EEA" is no group the database knows
        for key, hint in (("UK", 'the United Kingdom is "GB"'), ("EL", 'Greece is "GR"'),
                          ("EEA", 'the EEA is no group: name "EU", "IS", "LI" and "NO"')):
            text = GOOD.replace('"threads": 2', '"threads": 2,\n  "regimes": {"default": "opt-out",\n    "by_country": '
                                                '{"EU": "opt-in", "%s": "opt-in"}}' % key)
            self.assert_bad(text, line=6, mentions=["regimes.by_country.%s" % key, "is not an ISO 3166-1 code: " + hint])
        ok = GOOD.replace('"threads": 2', '"threads": 2, "regimes": {"by_country": {"GB": "opt-in", "GR": "opt-in"}}')
        self.assertEqual(self.check(ok).returncode, 0)

    def test_proxy_protocol_needs_trusted_proxies(self):
        with_pp = GOOD.replace('"port": 18080}', '"port": 18080, "proxy_protocol": true}')
        self.assert_bad(with_pp, line=2, mentions=["listen[0].proxy_protocol", "needs geoip.trusted_proxies"])
        self.assert_bad(GOOD.replace('"port": 18080}', '"port": 18080, "proxy_protocol": "yes"}'), line=2,
                        mentions=["proxy_protocol"])
        self.assertEqual(self.check(with_pp.replace('"threads": 2', '"threads": 2, "geoip": {"trusted_proxies": ["10.0.0.0/8"]}'))
                         .returncode, 0)
        # the admin listener's clients are the operator's own: no header there
        self.assert_bad(with_pp.replace('"threads": 2', '"threads": 2, "geoip": {"trusted_proxies": ["10.0.0.0/8"]},\n'
                                        '  "admin": {"listen": {"port": 18081, "proxy_protocol": true}, "tokens_file": "t"}'),
                        line=5, mentions=["proxy_protocol"])

    def test_ui_strings_must_name_strings_of_the_ui(self):
        p = self.check(GOOD.replace('"threads": 2', '"threads": 2, "ui": {"strings": {"en": {"banner.titel": "x"}}}'))
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("ui.strings.en.banner.titel: not a string of the UI", p.stderr)
        self.assert_bad(GOOD.replace('"threads": 2', '"threads": 2,\n  "ui": {"strings": {"../../etc": {"pc.title": "x"}}}'), line=5,
                        mentions=["language code"])
        self.assertEqual(self.check(GOOD.replace('"threads": 2', '"threads": 2, "ui": {"strings": {"sr-Latn-RS": {"pc.title": "x"}}}'))
                         .returncode, 0)

    def test_installed_layout_finds_its_files(self):
        # make install: PREFIX/bin/consentgate beside PREFIX/share/consentgate/{static,conf} (the binary ran only from
        # inside the source tree: "cannot find the static/ folder")
        import shutil
        prefix = os.path.join(self.tmp, "prefix")
        os.makedirs(os.path.join(prefix, "bin"), exist_ok=True)
        shutil.copy(harness.CG_BIN, os.path.join(prefix, "bin", "consentgate"))
        share = os.path.join(prefix, "share", "consentgate")
        shutil.copytree(os.path.join(harness.REPO, "static"), os.path.join(share, "static"), dirs_exist_ok=True)
        os.makedirs(os.path.join(share, "conf"), exist_ok=True)
        for f in ("cookies.json", "ad-trackers.txt", "analytics-tags.txt", "embeds.txt"):
            shutil.copy(os.path.join(harness.REPO, "conf", f), os.path.join(share, "conf", f))
        path = os.path.join(self.tmp, "installed.json")
        with open(path, "w") as f:
            f.write(GOOD)
        p = run_binary(["--check-config", "-c", path], binary=os.path.join(prefix, "bin", "consentgate"))
        self.assertEqual(p.returncode, 0, p.stderr)
        shutil.rmtree(os.path.join(share, "static"))
        p = run_binary(["--check-config", "-c", path], binary=os.path.join(prefix, "bin", "consentgate"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("share/consentgate", p.stderr)

    def test_files_the_start_writes(self):
        """--check-config said "valid" and the start, as the service's user, failed: a consent store, a secrets file to
        create, a log or the audit log in a folder that user cannot write in."""
        ro = os.path.join(self.tmp, "ro")
        os.makedirs(ro, exist_ok=True)
        os.chmod(ro, 0o555)
        os.chmod(self.tmp, 0o755)  # (the config is read as nobody)
        as_user = {"preexec_fn": lambda: os.setuid(65534)} if os.geteuid() == 0 else {}  # root may write anywhere
        ok = os.path.join(self.tmp, "ok")
        os.makedirs(ok, exist_ok=True)
        os.chmod(ok, 0o777)
        base = GOOD.replace('"threads": 2', '"threads": 2, "secrets_file": "ok/s.json", "store": {"sqlite": "ok/c.db"}, "channel": '
                                             '{"audit_log": "ok/audit.log"}, "risk": {"lists": []}, "log": {%s}')
        for key, text in (("store.sqlite", base.replace('"ok/c.db"', '"ro/c.db"') % ""),
                          ("secrets_file", base.replace('"ok/s.json"', '"ro/s.json"') % ""),
                          ("log.access", base % '"access": "ro/logs/access.log"'),
                          ("log.error", base % '"error": "ro/error.log"'),
                          ("channel.audit_log", base.replace('"ok/audit.log"', '"ro/audit.log"').replace('"lists": []', '"lists": [{"name": '
                           '"p", "file": "ok/p.txt", "format": "domains", "action": "block"}]') % "")):
            with self.subTest(key=key):
                path = os.path.join(self.tmp, "check.json")
                with open(path, "w") as f:
                    f.write(text)
                os.chmod(path, 0o644)
                p = subprocess.run([harness.CG_BIN, "--check-config", "-c", path], capture_output=True, text=True, timeout=30,
                                   env=harness.sanitizer_env(), **as_user)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("%s: %s/ro/" % (key, self.tmp), p.stderr)
                self.assertIn("cannot write in %s/ro: Permission denied (the gateway runs as uid" % self.tmp, p.stderr)
        # a risk list it cannot read (one that does not exist starts empty)
        with open(os.path.join(self.tmp, "secret-list.txt"), "w") as f:
            f.write("bad.example\n")
        os.chmod(os.path.join(self.tmp, "secret-list.txt"), 0o600 if as_user else 0o000)
        with open(path, "w") as f:
            f.write(base.replace('"lists": []', '"lists": [{"name": "p", "file": "secret-list.txt", "format": "domains", '
                                                '"action": "block"}]') % "")
        p = subprocess.run([harness.CG_BIN, "--check-config", "-c", path], capture_output=True, text=True, timeout=30,
                           env=harness.sanitizer_env(), **as_user)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("risk.lists[0].file: %s/secret-list.txt: Permission denied (the gateway runs as uid" % self.tmp, p.stderr)
        # the same user, its files where it may write them
        with open(os.path.join(self.tmp, "good.json"), "w") as f:
            f.write(base % "")
        os.chmod(os.path.join(self.tmp, "good.json"), 0o644)
        p = subprocess.run([harness.CG_BIN, "--check-config", "-c", os.path.join(self.tmp, "good.json")], capture_output=True,
                           text=True, timeout=30, env=harness.sanitizer_env(), **as_user)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_make_install_example_config(self):
        """make install's example config, checked by the installed binary: it kept the demo's state paths
        (../build/demo/: beside the installed files, or /etc/build/ for a copy in /etc/consentgate/), and the tokens file
        it names (not installed: a shipped token would be everyone's) was only "No such file or directory"."""
        dest = os.path.join(self.tmp, "dest")
        build = os.path.relpath(os.path.dirname(harness.CG_BIN), harness.REPO)  # the binary under test, not a release build
        p = subprocess.run(["make", "-s", "-o", "all", "install", "DESTDIR=" + dest, "PREFIX=/opt/cg", "BUILD=" + build],
                           cwd=harness.REPO, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        binary = os.path.join(dest, "opt", "cg", "bin", "consentgate")
        conf = os.path.join(dest, "opt", "cg", "share", "consentgate", "conf", "consentgate.json")
        with open(conf) as f:
            text = f.read()
        self.assertNotIn("build/demo", text)
        with open(os.path.join(dest, "opt", "cg", "lib", "systemd", "system", "consentgate.service")) as f:
            unit = f.read()  # the default folders are systemd's to make and give the service's user
        for line in ("ExecStart=/opt/cg/bin/consentgate -c /etc/consentgate/consentgate.json", "StateDirectory=consentgate",
                     "LogsDirectory=consentgate", "ReadWritePaths=-/etc/consentgate/risk"):
            self.assertIn("\n" + line + "\n", unit)
        self.assertNotIn("@", unit.replace("$MAINPID", ""))  # every placeholder filled in
        self.assertIn('"/var/lib/consentgate/consent.db"', text)
        p = run_binary(["--check-config", "-c", conf], binary=binary)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("admin.tokens_file: cannot read", p.stderr)
        m = re.search(r"\(make one, a \"name:token\" line per person: (.*)\)$", p.stderr.strip())
        self.assertIsNotNone(m, p.stderr)
        subprocess.run(["sh", "-c", m.group(1)], check=True)  # what the message says to do
        tokens = os.path.join(os.path.dirname(conf), "admin-tokens")
        self.assertEqual(os.stat(tokens).st_mode & 0o777, 0o600)
        p = run_binary(["--check-config", "-c", conf], binary=binary)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("holds no token", p.stderr)

    def test_no_config_given_says_what_to_give(self):
        # the default conf/consentgate.json is relative to the working directory: an installed binary started from
        # anywhere said only "conf/consentgate.json: cannot open: No such file or directory"
        p = run_binary([], cwd=self.tmp)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("conf/consentgate.json: cannot open: No such file or directory", p.stderr)
        self.assertIn("consentgate: no -c FILE given, and conf/consentgate.json is relative to the working directory (%s): give "
                      "-c FILE (an example: %s)" % (os.path.realpath(self.tmp), os.path.join(harness.REPO, "conf", "consentgate.json")),
                      p.stderr)
        p = run_binary(["-c", os.path.join(self.tmp, "nosuch.json")], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn("no -c FILE given", p.stderr)

    def test_version_and_help(self):
        p = run_binary(["--version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.strip(), "--version printed nothing on stdout")
        p = run_binary(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--check-config", p.stdout + p.stderr)
        self.assertIn("--verify-records", p.stdout.splitlines()[0], "the usage line names every mode")
        # a usage error is 2: 1 is "invalid config" and, for --verify-records, "chain broken"
        # --check-config with --verify-records: the usage line offers one or the other, and one would go unrun
        for args in (["--bogus"], ["-c"], ["extra-argument"], ["--check-config", "--verify-records"]):
            p = run_binary(args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn("usage:", p.stderr)
