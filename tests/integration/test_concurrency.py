"""The whole gateway driven the way production drives it, everything at once, for a bounded time: page views through
the origin over HTTP/1.1 and over HTTP/2 with TLS, consents, withdrawals, erasures, receipts, /admin/records streaming,
CSP reports, /__go clicks, admin list edits while a list file is rewritten on disk (inotify), a SIGHUP every second with
the secrets file, the TLS certificate and the GeoIP database changed between them, clients that go away mid-request,
and SIGTERM with requests in flight. Each answer must be one the gateway can give; the gateway must exit 0.

Its point is the build it runs: `make tsan` runs it with CG_BIN=build/tsan/consentgate, where a data race between the
worker threads, the main thread's reload hooks, the job thread, the inotify thread and the store's writer thread is a
ThreadSanitizer report on stderr, which fails the class (harness.SANITIZER_MARKERS). CG_STRESS_SECONDS sets how long
the load runs (default 20)."""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import threading
import time

import harness
from harness import ADMIN_TOKEN, GatewayTestCase, curl, curl_many, make_cert

SECONDS = float(os.environ.get("CG_STRESS_SECONDS", "20"))
MAXMIND = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "maxmind")
AUTH = {"Authorization": "Bearer " + ADMIN_TOKEN}
PAGES = ["/", "/products", "/__origin/html?file=pages/links.html", "/__origin/html?file=pages/mixed-trackers.html",
         "/__origin/html?file=pages/vendor-tags.html", "/style.css", "/pixel.gif", "/collect?x=1"]


class ConcurrencyTest(GatewayTestCase):
    with_tls = True
    config = {"threads": 4,
              "geoip": {"database": "geo.mmdb", "trusted_proxies": ["127.0.0.1/32"]},
              "risk": {"lists": [{"name": "phishing", "file": "phishing.txt", "action": "block"},
                                 {"name": "risky", "file": "risky.txt", "action": "warn"}]},
              "trackers": {"lists": [{"name": "local", "file": "trackers.txt", "format": "abp", "category": "marketing"}]},
              "beacons": {"endpoints": [{"path": "/collect", "category": "analytics"}]},
              "channel": {"csp": "report-only", "report_rate_per_minute": 100000}}
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        d = cls.tmp
        shutil.copy(os.path.join(MAXMIND, "CG-Geo-Test.mmdb"), os.path.join(d, "geo.mmdb"))
        cls.write(d, "phishing.txt", "evil.example\n")
        cls.write(d, "risky.txt", "risky.example\n")
        cls.write(d, "trackers.txt", "||tracker.evil.example^\n||fonts.evil.example^\n")
        os.makedirs(os.path.join(d, "cert2"))
        make_cert(os.path.join(d, "cert2"), cn="other")
        cls.gw.start()

    @staticmethod
    def write(d, name, text):
        """as an editor or a deploy does: the new file renamed into place"""
        tmp = os.path.join(d, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, os.path.join(d, name))

    # ---- the load ---------------------------------------------------------------------------------------------------

    def setUp(self):
        self.stop = threading.Event()
        self.errors = []
        self.counts = {}
        self.lock = threading.Lock()

    def note(self, what, ok=True, detail=""):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if not ok and not self.stop.is_set() and len(self.errors) < 20:
                self.errors.append("%s: %s" % (what, detail))

    def http(self, method, path, body=None, headers=None, admin=False, timeout=20):
        port = self.gw.admin_port if admin else self.gw.port
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=dict(headers or {}, **(AUTH if admin else {})))
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def loop(self, name, fn):
        def run():
            i = 0
            while not self.stop.is_set():
                try:
                    fn(i)
                except (OSError, http.client.HTTPException) as e:
                    if not self.stop.is_set():
                        self.note(name, False, repr(e))
                i += 1
        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        return t

    def pages(self, i):
        status, headers, body = self.http("GET", PAGES[i % len(PAGES)], headers={"X-Forwarded-For": "192.0.2.%d" % (i % 250)})
        self.note("page", status in (200, 204), status)
        for go in re.findall(rb'href="(/__go\?[^"]+)"', body)[:3]:
            s, _, _ = self.http("GET", go.decode().replace("&amp;", "&"))
            self.note("go", s in (200, 302, 403), s)

    def h2_pages(self, i):
        base = "https://127.0.0.1:%d" % self.gw.tls_port
        rs = curl_many([dict(url=base + p, http="2") for p in PAGES[:5]], timeout=30)
        for r in rs:
            self.note("h2", r.status == 200 or self.stop.is_set(), (r.status, r.stderr[-200:]))
        # streams cut off mid-response: curl gives up after 20 ms
        curl_many([dict(url=base + PAGES[2] + "&repeat=300", http="2", timeout=0.02)] * 3, timeout=30)

    def consents(self, i):
        s, h, _ = self.http("POST", "/__consent/api/consent", json.dumps({"all": i % 2 == 0}),
                            {"Content-Type": "application/json"})
        self.note("consent", s == 200, s)
        cookie = h.get("set-cookie", "").split(";", 1)[0]
        if not cookie.startswith("cg_consent="):
            return
        s, _, body = self.http("GET", "/__consent/api/receipts", headers={"Cookie": cookie})
        self.note("receipts", s == 200, s)
        s, _, _ = self.http(["DELETE", "POST"][i % 2], "/__consent/api/" + ["consent", "erase"][i % 2],
                            headers={"Cookie": cookie})
        self.note("withdraw/erase", s == 200, s)
        s, _, _ = self.http("GET", "/__consent/?lang=" + ["en", "zh-CN"][i % 2], headers={"Cookie": cookie})
        self.note("centre", s == 200, s)

    def reports(self, i):
        report = {"csp-report": {"document-uri": "http://127.0.0.1:%d/" % self.gw.port, "violated-directive": "script-src",
                                 "blocked-uri": "https://inject%d.example/x.js?q=1" % (i % 7)}}
        s, _, _ = self.http("POST", "/__consent/report", json.dumps(report), {"Content-Type": "application/csp-report"})
        self.note("report", s == 204, s)

    def admin_reads(self, i):
        path = ["/admin/records?since=0", "/admin/metrics", "/admin/cookies", "/admin/trackers", "/admin/lists",
                "/admin/check?host=evil.example", "/admin/injections", "/admin/audit"][i % 8]
        s, _, _ = self.http("GET", path, admin=True)
        self.note("admin", s == 200, (path, s))

    def admin_lists(self, i):
        if i % 2:
            s, _, _ = self.http("PUT", "/admin/lists/phishing", "evil.example\nnew%d.example\n" % i, admin=True)
        else:
            s, _, _ = self.http("POST", "/admin/lists/risky/entries",
                                json.dumps({"add": ["r%d.example" % i], "remove": ["r%d.example" % (i - 2)]}), admin=True)
        self.note("list edit", s == 200, s)
        time.sleep(0.1)

    def list_files(self, i):
        self.write(self.gw.workdir, "risky.txt", "risky.example\nfile%d.example\n" % i)  # the inotify thread sees it
        self.write(self.gw.workdir, "trackers.txt", "||tracker.evil.example^\n||t%d.example^\n" % i)
        time.sleep(0.3)

    def reloads(self, i):
        d = self.gw.workdir
        with open(os.path.join(d, "secrets.json")) as f:
            keys = json.load(f)["keys"]
        if len(keys) < 4:  # a key added, then the primary switched to it
            keys.append({"id": max(k["id"] for k in keys) + 1,
                         "secret": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")})
        for n, k in enumerate(keys):
            k["primary"] = n == (i % len(keys))
        tmp = os.path.join(d, "secrets.json.tmp")
        with open(tmp, "w") as f:
            json.dump({"keys": keys}, f)
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(d, "secrets.json"))
        src = os.path.join(d, "cert2") if i % 2 else os.path.join(d, "cert1")
        if not os.path.isdir(os.path.join(d, "cert1")):
            os.makedirs(os.path.join(d, "cert1"))
            for n in ("cert.pem", "key.pem"):
                shutil.copy(os.path.join(d, n), os.path.join(d, "cert1", n))
        for n in ("cert.pem", "key.pem"):
            shutil.copy(os.path.join(src, n), os.path.join(d, n + ".tmp"))
            os.rename(os.path.join(d, n + ".tmp"), os.path.join(d, n))
        db = ["CG-Geo-Test.mmdb", "GeoIP2-City-Test.mmdb"][i % 2]
        shutil.copy(os.path.join(MAXMIND, db), os.path.join(d, "geo.mmdb.new"))
        os.rename(os.path.join(d, "geo.mmdb.new"), os.path.join(d, "geo.mmdb"))  # as geoipupdate does
        with open(os.path.join(d, "admin-tokens.tmp"), "w") as f:  # the admin tokens: one added and taken away again
            f.write("%s:%s\n" % (harness.ADMIN_TOKEN_NAME, ADMIN_TOKEN) + ("other:other-token-%016d\n" % i if i % 2 else ""))
        os.chmod(os.path.join(d, "admin-tokens.tmp"), 0o600)
        os.rename(os.path.join(d, "admin-tokens.tmp"), os.path.join(d, "admin-tokens"))
        if i % 3 == 0:  # logrotate: the logs moved away, reopened on SIGHUP
            for n in ("access.log", "error.log"):
                os.rename(os.path.join(d, n), os.path.join(d, "%s.%d" % (n, i)))
        self.gw.signal(signal.SIGHUP)
        self.note("sighup")
        time.sleep(1)

    def aborts(self, i):
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=5) as s:
            req = ["GET /__origin/html?file=pages/links.html&repeat=200 HTTP/1.1\r\nHost: x\r\n\r\n",
                   "POST /__consent/api/consent HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"all\"",
                   "GET /__consent/api/receipts HTTP/1.1\r\nHost: x\r\n"][i % 3]
            s.sendall(req.encode())
            if i % 3 == 0:
                s.recv(1000)  # the response has begun
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
        self.note("abort")

    def test_everything_at_once_then_sigterm(self):
        threads = [self.loop("pages-%d" % n, self.pages) for n in range(3)]
        threads += [self.loop(fn.__name__, fn) for fn in (self.h2_pages, self.consents, self.consents, self.reports,
                                                          self.admin_reads, self.admin_lists, self.list_files,
                                                          self.reloads, self.aborts)]
        time.sleep(SECONDS)
        self.stop.set()
        self.gw.signal(signal.SIGTERM)  # with requests in flight
        for t in threads:
            t.join(60)
        rc = self.gw.proc.wait(60)
        self.gw.returncode = rc
        self.assertIsNone(self.gw.sanitizer_report(), "(stderr, error.log)")
        for name in os.listdir(self.gw.workdir):  # the error logs rotated away (reloads)
            if name.startswith("error.log."):
                with open(self.gw.path(name), errors="replace") as f:
                    text = f.read()
                self.assertFalse([m for m in harness.SANITIZER_MARKERS if m in text], text[-4000:])
        self.assertEqual(rc, 0, self.gw.diagnostics())
        self.assertEqual(self.errors, [], self.counts)
        for what in ("page", "go", "h2", "consent", "receipts", "withdraw/erase", "report", "admin", "list edit", "sighup", "abort"):
            self.assertGreater(self.counts.get(what, 0), 0, (what, self.counts))


class ListChangedWhileStartingTest(GatewayTestCase):
    """A risk list file that changes while the gateway starts (a feed job's download landing during a restart): the watch
    thread is up before the workers, and the rebuild it posts runs on the job thread while the main thread is still
    setting up. The snapshot readers must be known by then (the reclamation's table was filled in only as the workers
    were made: under ThreadSanitizer a data race between gw_qsbr_init and the rebuild's gw_qsbr_synchronize)."""
    config = {"threads": 2, "risk": {"lists": [{"name": "phishing", "file": "phishing.txt", "action": "block"}]}}
    start_gateway = False

    def test_list_rewritten_during_start(self):
        path = self.gw.path("phishing.txt")
        stop = threading.Event()

        def rewrite():
            i = 0
            while not stop.is_set():
                ConcurrencyTest.write(self.gw.workdir, "phishing.txt", "evil.example\nfeed%d.example\n" % i)
                i += 1
                time.sleep(0.0005)
        ConcurrencyTest.write(self.gw.workdir, "phishing.txt", "evil.example\n")
        for _ in range(3):
            t = threading.Thread(target=rewrite, daemon=True)
            stop.clear()
            t.start()
            try:
                self.gw.start()
                time.sleep(0.3)
            finally:
                stop.set()
                t.join()
            self.assertTrue(os.path.exists(path))
            self.assertEqual(curl(self.gw.url("/__go?u=x&s=y")).status, 400)  # (it serves)
            self.gw.stop_and_check()
