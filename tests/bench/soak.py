#!/usr/bin/env python3
"""Soak run: the gateway under moderate mixed load for a long time, sampled for slow growth.

    tests/bench/soak.py [--minutes 35] [--bin build/consentgate] [--rate 250] [--out DIR] [--keep]

Starts conf/demo/origin.py (no request log) and the gateway binary (release build by default; the ASan build with
--bin build/asan/consentgate, whose LeakSanitizer report at SIGTERM is then checked) in a temp folder, on free high
ports, with a TLS listener, the admin API, access/error/audit logs, risk lists, the shipped tracker lists, the
Country test GeoIP database (US opt-out, so Sec-GPC visitors there write records) and a one-day retention. Then, for
--minutes, it drives about --rate requests a second of:
  * visitors, each with a new forwarded address (X-Forwarded-For from 127.0.0.1, a trusted proxy) and no cookie at
    first: page views (a few fixed pages, and pages under fresh paths with fresh outbound hosts and cookie names, so
    the rewrite memo, the verdict caches and the cookie inventory keep seeing new keys), the state, consents,
    page views with the new token, beacons, receipts, withdrawals, erasures, CSP reports, /__go clicks;
  * HTTP/2 over TLS (h2load, rate-limited, pages and beacons with and without a token);
  * aborted clients (half a request, a page read half-way, a TLS handshake dropped);
  * admin PUTs and entry edits of a risk list and reads of every admin endpoint every few seconds;
  * SIGHUP every 30 s (--sighup).
Every 15 s, and once more 15 s after the load stops (idle), it samples the gateway's VmRSS, VmHWM, descriptors,
threads, the store's db/-wal/-shm, the audit, access and error logs, and counters from /admin/metrics, into
DIR/samples.jsonl, and prints a table at the end (first, middle, last and idle sample). Exit status 0 unless the
gateway died, a SIGTERM stop failed or a sanitizer reported (on stderr or in the error log, which takes stderr over).
Not part of `make test`: a measurement, run by hand.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402
from harness import Gateway, gateway_config, make_cert, free_port, wait_until, ADMIN_TOKEN  # noqa: E402

harness.START_TIMEOUT = 120  # the ASan build takes a while over EasyList

AUTH = {"Authorization": "Bearer " + ADMIN_TOKEN}
GEO_DB = os.path.join(REPO, "tests", "data", "maxmind", "GeoIP2-Country-Test.mmdb")
US_NET = "216.160.83.%d"  # in the test database: US (opt-out here)
METRICS = ("cg_requests_total", "cg_connections_accepted_total", "cg_decisions_total", "cg_beacons_answered_total",
           "cg_go_total", "cg_injection_reports_total", "cg_html_memo_entries", "cg_html_memo_bytes",
           "cg_html_memo_hits_total", "cg_html_memo_stored_total", "cg_store_queue", "cg_records_rate_limited_total",
           "cg_tokens_rejected_total", "cg_links_wrapped_total", "cg_tags_neutralised_total")


def now():
    return time.monotonic()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n


class Paced:
    """Sleeps so that a loop runs at `rate` iterations a second."""

    def __init__(self, rate):
        self.interval = 1.0 / rate
        self.next = now()

    def wait(self):
        self.next += self.interval
        d = self.next - now()
        if d > 0:
            time.sleep(d)
        elif d < -1:
            self.next = now()  # fell behind (a slow answer): do not burst to catch up


class Visitor:
    """One browser: its own forwarded address and token, one keep-alive connection (plain HTTP)."""

    def __init__(self, run, port):
        self.run = run
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        us = random.random() < 0.1
        self.ip = US_NET % random.randint(57, 62) if us else "10.%d.%d.%d" % tuple(random.randint(1, 254) for _ in range(3))
        self.gpc = us and random.random() < 0.5
        self.cookie = None
        self.links = []

    def request(self, method, path, body=None, headers=None):
        h = {"X-Forwarded-For": self.ip, "Host": "shop.example:%d" % self.port, "User-Agent": "soak/%d" % (hash(self.ip) % 50)}
        if self.cookie:
            h["Cookie"] = self.cookie + "; _ga=GA1.2.3; sid=abc"
        if self.gpc:
            h["Sec-GPC"] = "1"
        h.update(headers or {})
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    self.run.stats.add("error")
                    return None, b""
        self.run.stats.add("status_%d" % r.status)
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("cg_consent="):
                val = v.split(";", 1)[0]
                self.cookie = None if val == "cg_consent=" else val
        if r.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return r, data

    def page(self):
        choice = random.random()
        if choice < 0.3:
            path = random.choice(["/", "/products", "/about"])
        elif choice < 0.6:
            path = "/__origin/html?file=pages/" + random.choice(["links.html", "vendor-tags.html", "mixed-trackers.html",
                                                               "srcset.html", "embeds.html"])
        else:
            # a fresh path (a new memo key), fresh outbound hosts and subresources (new verdict cache keys)
            n = random.getrandbits(40)
            tail = ('<a href="https://h%x.example/p">x</a><img src="https://i%x.example/p.gif">'
                    '<script src="https://t%x.example/t.js"></script>' % (n, n, n))
            path = "/__origin/html/p%x?file=pages/links.html&tail=%s" % (n, urllib.parse.quote(tail))
        r, body = self.request("GET", path, headers={"Accept": "text/html", "Accept-Language": "zh-CN,en;q=0.5",
                                                      "Sec-Fetch-Dest": "document"})
        if r is not None:
            text = body.decode("utf-8", "replace")
            i = text.find('href="/__go?')
            while i != -1 and len(self.links) < 8:
                j = text.find('"', i + 6)
                self.links.append(text[i + 6:j].replace("&amp;", "&"))
                i = text.find('href="/__go?', j)

    def consent(self):
        cats = {c: random.random() < 0.5 for c in ("functional", "analytics", "marketing")}
        body = json.dumps({"all": True} if random.random() < 0.3 else {"categories": cats})
        self.request("POST", "/__consent/api/consent", body,
                     {"Content-Type": "application/json", "Origin": "http://shop.example:%d" % self.port})

    def session(self):
        acts = [self.page, lambda: self.request("GET", "/__consent/api/state"), self.consent, self.page,
                lambda: self.request("GET", random.choice(["/collect?v=1&tid=x", "/pixel.gif", "/ping"]),
                                     headers={"Sec-Fetch-Dest": "image"}),
                lambda: self.request("GET", "/__consent/banner.js")]
        if random.random() < 0.3:
            acts.append(lambda: self.request("GET", "/__consent/api/receipts"))
        if random.random() < 0.2:
            acts.append(self.consent)
        if random.random() < 0.1:
            acts.append(lambda: self.request("DELETE", "/__consent/api/consent", None,
                                             {"Origin": "http://shop.example:%d" % self.port}))
        if random.random() < 0.05:
            acts.append(lambda: self.request("POST", "/__consent/api/erase", b"",
                                             {"Origin": "http://shop.example:%d" % self.port}))
        if random.random() < 0.1:
            acts.append(self.report)
        if self.links or random.random() < 0.5:
            acts.append(self.go)
        if random.random() < 0.05:
            acts.append(lambda: self.request("GET", "/__consent/"))
        if random.random() < 0.03:
            acts.append(lambda: self.request("GET", "/__origin/set-cookie?c=%s" % urllib.parse.quote(
                "c%x=1; Max-Age=99" % random.getrandbits(32))))
        return acts

    def report(self):
        host = "inj%d.example" % random.randint(0, 500)
        body = {"csp-report": {"document-uri": "http://shop.example/", "blocked-uri": "https://%s/x.js" % host,
                               "violated-directive": "script-src-elem", "line-number": 7}}
        self.request("POST", "/__consent/report", json.dumps(body), {"Content-Type": "application/csp-report"})

    def go(self):
        if self.links:
            self.request("GET", random.choice(self.links))
        else:  # an unsigned one: 400
            self.request("GET", "/__go?u=https%3A%2F%2Fx.example%2F&s=AAAA")

    def close(self):
        self.conn.close()


class Run:
    def __init__(self, args):
        self.args = args
        self.stats = Stats()
        self.stop = threading.Event()
        self.work = tempfile.mkdtemp(prefix="cg-soak-") if not args.out else args.out
        os.makedirs(self.work, exist_ok=True)
        self.samples = []
        self.failures = []

    # ---- set-up ----------------------------------------------------------------------------------

    def start(self):
        self.origin_port = free_port()
        out = open(os.path.join(self.work, "origin.out"), "ab")
        self.origin = subprocess.Popen([sys.executable, os.path.join(REPO, "conf", "demo", "origin.py"), "--host", "127.0.0.1",
                                        "--port", str(self.origin_port)], stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=self.work)
        out.close()
        wait_until(lambda: _accepts(self.origin_port), 10)
        os.makedirs(os.path.join(self.work, "risk"), exist_ok=True)
        with open(os.path.join(self.work, "risk", "block.txt"), "w") as f:
            f.write("evil.example\n" + "".join("b%d.example\n" % i for i in range(1000)))
        with open(os.path.join(self.work, "risk", "warn.txt"), "w") as f:
            f.write("risky.example\n")
        cert = make_cert(self.work)
        cfg = gateway_config("http://127.0.0.1:%d" % self.origin_port, tls_cert=cert,
                             threads=2,
                             policy={"version": 1, "consent_max_age_days": 1},
                             store={"sqlite": "var/consent.db", "retention_days": 1, "rate_per_minute": 60},
                             regimes={"default": "opt-in", "by_country": {"US": "opt-out"}},
                             geoip={"database": GEO_DB, "trusted_proxies": ["127.0.0.1/32"]},
                             beacons={"endpoints": [{"path": "/collect", "category": "analytics"}]},
                             trackers=None,  # the defaults: the shipped lists (and Debian's, when installed)
                             channel={"audit_log": "var/audit.log", "report_rate_per_minute": 60},
                             log={"access": "log/access.log", "error": "log/error.log", "level": "info"},
                             risk={"lists": [{"name": "block", "file": "risk/block.txt", "format": "domains", "action": "block"},
                                             {"name": "warn", "file": "risk/warn.txt", "format": "domains", "action": "warn"}]})
        self.gw = Gateway(self.work, cfg, binary=os.path.abspath(self.args.bin))
        self.gw.start()
        self.pid = self.gw.proc.pid
        print("soak: gateway pid %d, plain %d, tls %d, admin %d, origin %d, folder %s" % (
            self.pid, self.gw.port, self.gw.tls_port, self.gw.admin_port, self.origin_port, self.work), flush=True)

    # ---- load ------------------------------------------------------------------------------------

    def visitors(self, rate):
        pace = Paced(rate)
        while not self.stop.is_set():
            v = Visitor(self, self.gw.port)
            for act in v.session():
                if self.stop.is_set():
                    break
                act()
                pace.wait()
            v.close()

    def h2(self):
        """h2load over TLS, 20 s at a time at a limited rate, pages and beacons with a token and without."""
        token = None
        while not self.stop.is_set():
            if token is None:
                v = Visitor(self, self.gw.port)
                v.consent()
                token = v.cookie
                v.close()
            base = "https://127.0.0.1:%d" % self.gw.tls_port
            uris = [base + "/", base + "/products", base + "/__origin/html?file=pages/links.html", base + "/pixel.gif",
                    base + "/__consent/api/state", base + "/__consent/banner.css"]
            cmd = ["h2load", "-D", "20", "-c", "4", "-m", "4", "--rps", "10", "-H", "Accept: text/html"]
            if random.random() < 0.5 and token:
                cmd += ["-H", "Cookie: __Host-" + token + "; _fbp=1"]
            try:
                out = subprocess.run(cmd + uris, capture_output=True, text=True, timeout=60).stdout
            except subprocess.TimeoutExpired:
                self.stats.add("h2load_timeout")
                continue
            for line in out.splitlines():
                if line.startswith("requests:"):
                    parts = line.split()
                    # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
                    self.stats.add("h2_requests", int(parts[1]))
                    self.stats.add("h2_failed", int(parts[9]) + int(parts[11]) + int(parts[13]))
            self.stop.wait(2)

    def aborts(self):
        """Clients that go away: half a request, a page read half-way, a TLS handshake dropped, an idle connection."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        while not self.stop.wait(0.2):
            kind = random.randrange(4)
            try:
                if kind == 0:
                    with socket.create_connection(("127.0.0.1", self.gw.port), 5) as s:
                        s.sendall(b"POST /__consent/api/consent HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"all\"")
                elif kind == 1:
                    with socket.create_connection(("127.0.0.1", self.gw.port), 5) as s:
                        s.sendall(b"GET /__origin/big?bytes=2000000 HTTP/1.1\r\nHost: x\r\n\r\n")
                        s.recv(16384)
                elif kind == 2:
                    with socket.create_connection(("127.0.0.1", self.gw.tls_port), 5) as raw:
                        raw.sendall(b"\x16\x03\x01\x00\xa5\x01\x00")  # a ClientHello cut short
                else:
                    with socket.create_connection(("127.0.0.1", self.gw.tls_port), 5) as raw:
                        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                            s.sendall(b"GET /__origin/slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
                self.stats.add("aborted")
            except OSError:
                self.stats.add("abort_error")

    def admin(self):
        i = 0
        while not self.stop.wait(3):
            i += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.gw.admin_port, timeout=30)
                if i % 2:
                    body = "".join("w%x.example\n" % random.getrandbits(32) for _ in range(200)) + "risky.example\n"
                    c.request("PUT", "/admin/lists/warn", body, AUTH)
                else:
                    body = json.dumps({"add": ["e%x.example" % random.getrandbits(32) for _ in range(5)],
                                       "remove": ["b%d.example" % random.randrange(1000)]})
                    c.request("POST", "/admin/lists/block/entries", body, dict(AUTH, **{"Content-Type": "application/json"}))
                self.admin_status(c)
                reads = ["/admin/lists", "/admin/check?host=b7.example", "/admin/injections", "/admin/cookies",
                         "/admin/trackers", "/admin/records?since=%d" % int((time.time() - 60) * 1000)]
                for path in reads + (["/admin/audit"] if i % 10 == 0 else []):
                    c.request("GET", path, headers=AUTH)
                    self.admin_status(c)
                c.close()
            except (OSError, http.client.HTTPException) as e:
                self.stats.add("admin_error")
                print("soak: admin: %s" % e, flush=True)

    def admin_status(self, c):
        r = c.getresponse()
        r.read()
        self.stats.add("admin_%d" % r.status)

    def sighup(self):
        while self.args.sighup and not self.stop.wait(self.args.sighup):
            os.kill(self.pid, signal.SIGHUP)
            self.stats.add("sighup")

    # ---- samples ---------------------------------------------------------------------------------

    def metrics(self):
        c = http.client.HTTPConnection("127.0.0.1", self.gw.admin_port, timeout=30)
        c.request("GET", "/admin/metrics", headers=AUTH)
        text = c.getresponse().read().decode()
        c.close()
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            if name in METRICS:
                out[name] = out.get(name, 0) + float(value)
        return out

    def sample(self, t0):
        s = {"t": round(now() - t0)}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    s[k] = int(v.split()[0])
        s["fds"] = len(os.listdir("/proc/%d/fd" % self.pid))
        for key, name in (("db", "var/consent.db"), ("wal", "var/consent.db-wal"), ("shm", "var/consent.db-shm"),
                          ("audit", "var/audit.log"), ("access", "log/access.log"), ("error", "log/error.log")):
            try:
                s[key] = os.path.getsize(os.path.join(self.work, name))
            except OSError:
                s[key] = -1
        try:
            s.update(self.metrics())
        except (OSError, http.client.HTTPException) as e:
            s["metrics_error"] = str(e)
        with self.stats.lock:
            s["driver"] = dict(self.stats.counts)
        return s

    def go(self):
        threads = [threading.Thread(target=self.visitors, args=(self.args.rate / 5,), daemon=True) for _ in range(5)]
        threads += [threading.Thread(target=f, daemon=True) for f in (self.h2, self.aborts, self.admin, self.sighup)]
        for t in threads:
            t.start()
        t0 = now()
        end = t0 + self.args.minutes * 60
        with open(os.path.join(self.work, "samples.jsonl"), "a") as out:
            while True:
                if not self.gw.alive():
                    self.failures.append("the gateway died (status %s)" % self.gw.proc.poll())
                    break
                s = self.sample(t0)
                self.samples.append(s)
                out.write(json.dumps(s) + "\n")
                out.flush()
                print(row(s), flush=True)
                if now() >= end:
                    break
                time.sleep(max(0, min(15, end - now())))
        self.stop.set()
        for t in threads:
            t.join(70)
        # idle: the main thread gives freed heap back after 10 idle seconds (README, Architecture)
        time.sleep(15)
        if self.gw.alive():
            s = self.sample(t0)
            s["idle"] = True
            self.samples.append(s)
            print(row(s) + "  (idle)", flush=True)

    def finish(self):
        if self.gw.alive():
            try:
                self.gw.stop_and_check(timeout=30)
            except AssertionError as e:
                self.failures.append(str(e))
        # log.error takes over stderr: a sanitizer's report at exit lands in the error log
        with open(os.path.join(self.work, "log", "error.log"), errors="replace") as f:
            text = f.read()
        self.failures += ["sanitizer report in the error log: " + m for m in harness.SANITIZER_MARKERS if m in text]
        self.origin.terminate()
        self.origin.wait(10)
        print(HEADER)
        if self.samples:
            picks = [self.samples[0], self.samples[len(self.samples) // 2]] + self.samples[-2:]
            for s in picks:
                print(row(s))
        print("driver:", json.dumps(self.stats.counts, sort_keys=True))
        for f in self.failures:
            print("FAILED:", f)
        if not self.args.keep and not self.args.out and not self.failures:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print("soak: kept %s" % self.work)
        return 1 if self.failures else 0


COLUMNS = [("t", "t/s", 6), ("VmRSS", "RSS/kB", 8), ("VmHWM", "HWM/kB", 8), ("fds", "fds", 5), ("Threads", "thr", 4),
           ("db", "db/B", 10), ("wal", "wal/B", 10), ("shm", "shm/B", 7), ("audit", "audit/B", 9), ("access", "access/B", 11),
           ("error", "error/B", 9), ("cg_requests_total", "requests", 9), ("cg_html_memo_entries", "memo", 5),
           ("cg_html_memo_bytes", "memo/B", 9), ("cg_store_queue", "queue", 5), ("cg_decisions_total", "decisions", 9),
           ("cg_records_rate_limited_total", "limited", 7)]
HEADER = " ".join(h.rjust(w) for _, h, w in COLUMNS)


def row(s):
    return " ".join(str(int(s.get(k, -1))).rjust(w) for k, _, w in COLUMNS)


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=35)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "consentgate"))
    ap.add_argument("--rate", type=float, default=250, help="visitor requests a second (h2load adds ~160)")
    ap.add_argument("--sighup", type=float, default=30, help="seconds between SIGHUPs (0: none)")
    ap.add_argument("--out", help="keep everything in this folder (default: a temp folder, removed after a clean run)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args()
    run = Run(args)
    run.start()
    print(HEADER, flush=True)
    try:
        run.go()
    except KeyboardInterrupt:
        run.stop.set()
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
