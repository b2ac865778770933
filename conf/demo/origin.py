#!/usr/bin/env python3
"""The origin behind consentgate: the "Example Shop" demo site and a scriptable test server.

One program serves two purposes:
  * `make run` starts it as the website the gateway protects (pages in --site);
  * the integration tests start it as a scriptable origin (endpoints under /__origin/) and
    read its request log to prove what did, and did not, reach the origin.

    python3 conf/demo/origin.py --host 127.0.0.1 --port 9000 [--log FILE] [--site DIR] [--verbose]

Every request received is logged as one JSON line (flushed at once), written after the request
body has been read and before the answer is sent, so a client that has its answer can read the
line.  Fields: time (ISO 8601, UTC), ts (Unix seconds), method, path (with query), version,
headers ([name, value] pairs in the order received, names as sent), body_length, body_sha256,
body (first 4 KB, UTF-8 with replacement), client ([address, port]), and "incomplete": true
when the connection closed before the announced body arrived.  A request the HTTP parser rejects
(malformed request line or headers) gets the standard library's 400 and is not logged.

Scriptable endpoints (every one also takes h=Name:value, repeatable, to add response headers;
a Content-Type given that way replaces the default one):
  /__origin/echo                      the request as JSON: method, path, headers, body, ...
  /__origin/set-cookie?c=V&c=V        one Set-Cookie header per c (URL-encoded), small HTML body
                                      (type=text for text/plain)
  /__origin/status/<code>             that status, small text body (none for 204/304)
  /__origin/slow?ms=N                 sleeps N ms, then answers; headers_first=1 sends the
                                      headers first and sleeps before the body
  /__origin/big?bytes=N               N bytes of big_body_pattern (application/octet-stream);
                                      ranges=1|always as for html
  /__origin/chunked?n=K&size=S        Transfer-Encoding: chunked, K chunks of S bytes; chunk i is
                                      S times the letter chr(ord('a') + i % 26); delay_ms=D
                                      between chunks; ct=TYPE for the Content-Type
  /__origin/html[/ANY]?file=NAME      tests/data/NAME, else <site>/NAME, as text/html (repeat=N: N
                                      times over, in one body; tail=TEXT appended; split_ms=D: the
                                      second half of the body D ms after the first; pad=N: every
                                      "@PAD@" in the file becomes N letters 'a', for long tags;
                                      validators=1: an ETag (of the body) and a Last-Modified, and 304
                                      to a request whose If-None-Match has that ETag; status=N: with
                                      that status; ranges=1: a Range honoured as nginx does, one part
                                      a 206, several a multipart/byteranges 206; ranges=always: the
                                      first 100 bytes as a 206 even without a Range; ctype=TYPE: that
                                      Content-Type, ctype=none: none)
  /__origin/gzip-html[?file=NAME]     an HTML page, gzip-encoded when Accept-Encoding has gzip (ctype
                                      as for html)
  /__origin/encoded-html              the gzip-html page in the first coding of Accept-Encoding it
                                      knows, as an origin that prefers the newest would pick: br and
                                      zstd (stand-in bytes: the stdlib has no codec), deflate, gzip
  /__origin/headers?h=Name:value&...  an empty-ish 200 with the given response headers
  /__origin/log                       the log lines received so far, as a JSON array
Beacon endpoints of the demo site: /collect (GET: 43-byte GIF, other methods: 204),
/pixel.gif (43-byte GIF), /ping (204).  Pages: /, /products, /about; other files of --site
are served as static files.
"""

import argparse
import datetime
import gzip
import hashlib
import html
import http.client
import http.server
import json
import os
import random
import re
import socketserver
import string
import sys
import threading
import time
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TEST_DATA = os.path.join(REPO, "tests", "data")

# The stdlib refuses requests with more than 100 headers (431) before the handler sees them.
# The origin must see and log everything a gateway forwards, so lift that limit.
http.client._MAXHEADERS = 10000

# The classic 43-byte transparent 1x1 GIF.
GIF_1X1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
           b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
assert len(GIF_1X1) == 43

LOG_BODY_MAX = 4096
BIG_PATTERN = b"consentgate big body 0123456789 abcdefghijklmnopqrstuvwxyz\n"


def big_body_pattern(n):
    """The body of /__origin/big?bytes=n (the tests compute the same bytes)."""
    reps = n // len(BIG_PATTERN) + 1
    return (BIG_PATTERN * reps)[:n]


# Cookies the home page sets on first visit: name -> (category, Set-Cookie attributes, value maker).
def _rand_digits(n):
    return "".join(random.choice(string.digits) for _ in range(n))


DEMO_COOKIES = [
    ("sid", "necessary", "Path=/; HttpOnly; SameSite=Lax",
     lambda now: "".join(random.choice(string.ascii_letters + string.digits) for _ in range(24))),
    ("lang", "functional", "Path=/; Max-Age=31536000; SameSite=Lax", lambda now: "en"),
    ("_ga", "analytics", "Path=/; Max-Age=63072000; SameSite=Lax",
     lambda now: "GA1.1.%s.%d" % (_rand_digits(10), now)),
    ("_ga_ABC123", "analytics", "Path=/; Max-Age=63072000; SameSite=Lax",
     lambda now: "GS1.1.%d.1.0.%d.0.0.0" % (now, now)),
    ("_gid", "analytics", "Path=/; Max-Age=86400; SameSite=Lax",
     lambda now: "GA1.1.%s.%d" % (_rand_digits(10), now)),
    ("_fbp", "marketing", "Path=/; Max-Age=7776000; SameSite=Lax",
     lambda now: "fb.1.%d.%s" % (now * 1000, _rand_digits(10))),
    ("_gcl_au", "marketing", "Path=/; Max-Age=7776000; SameSite=Lax",
     lambda now: "1.1.%s.%d" % (_rand_digits(10), now)),
]

PAGES = {"/": "index.html", "/products": "products.html", "/about": "about.html"}
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".gif": "image/gif",
                ".ico": "image/x-icon", ".html": "text/html; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".json": "application/json"}

GZIP_DEFAULT_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>gzip page</title>
<!-- Google tag (gtag.js) -->
<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-ABC123');
</script>
</head><body><h1>Compressed page</h1>
<p>This page was sent gzip-encoded by the origin.</p>
<img src="https://www.facebook.com/tr?id=123456789012345&amp;ev=PageView" width="1" height="1" alt="">
<a href="https://www.example.org/">outbound</a>
</body></html>
"""


class RequestLog:
    """Thread-safe request log: JSON lines to a file (flushed per line) and kept in memory."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.entries = []
        self.file = open(path, "a", encoding="utf-8") if path else None

    def write(self, entry):
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.entries.append(entry)
            if self.file:
                self.file.write(line + "\n")
                self.file.flush()

    def snapshot(self):
        with self.lock:
            return list(self.entries)


class BodyIncomplete(Exception):
    def __init__(self, partial):
        super().__init__("connection closed inside the request body")
        self.partial = partial


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ExampleShopOrigin/1.0"
    sys_version = ""

    def version_string(self):
        return self.server_version
    timeout = 120  # idle keep-alive connections are closed after this

    # ---- plumbing ----------------------------------------------------------------------------

    def handle_one_request(self):
        """Like the stdlib's, but every method goes to dispatch() (CONNECT, PATCH, anything)."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self.dispatch()
            self.wfile.flush()
        except (TimeoutError, ConnectionError) as e:
            self.log_error("connection: %r", e)
            self.close_connection = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("origin: %s %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BodyIncomplete(bytes(out))
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers up to the empty line
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return bytes(out)
                data = self.rfile.read(size)
                out += data
                if len(data) < size:
                    raise BodyIncomplete(bytes(out))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length)
        data = self.rfile.read(n) if n > 0 else b""
        if len(data) < n:
            raise BodyIncomplete(data)
        return data

    def log_request_entry(self, body, incomplete=False):
        now = time.time()
        entry = {
            "time": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "ts": now,
            "method": self.command,
            "path": self.path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body": body[:LOG_BODY_MAX].decode("utf-8", "replace"),
            "client": [self.client_address[0], self.client_address[1]],
        }
        if incomplete:
            entry["incomplete"] = True
        self.server.request_log.write(entry)
        return entry

    def send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=(), length=True):
        """Sends a complete answer with Content-Length (none for 1xx/204/304)."""
        self.send_response(status)
        hdrs = list(headers)
        no_body_status = status in (204, 304) or status < 200
        if ctype and not no_body_status and not any(k.lower() == "content-type" for k, _ in hdrs):
            hdrs.insert(0, ("Content-Type", ctype))
        for k, v in hdrs:
            self.send_header(k, v)
        if length and not no_body_status:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and not no_body_status:
            self.wfile.write(body)

    def page_type(self):
        """The Content-Type of a page: ctype=TYPE, ctype=none (or notype=1) for no Content-Type at all, else text/html;
        charset=utf-8."""
        ctype = self.q("ctype")
        return None if ctype == "none" or self.q("notype") == "1" else ctype or "text/html; charset=utf-8"

    def send_ranged(self, status, body, ctype, headers):
        """send(), and with ranges=1 the Range of a 200 served as nginx serves a static file: one "bytes=a-b" gets a 206
        of that part, several a multipart/byteranges 206. ranges=always answers the first 100 bytes as a 206 even without
        a Range (a broken origin)."""
        mode = self.q("ranges")
        want = self.headers.get("Range", "") if mode == "1" else "bytes=0-99" if mode == "always" else ""
        spec = re.fullmatch(r"bytes=(\d+-\d*(?:,\s*\d+-\d*)*)", want.strip()) if status == 200 else None
        if spec is None:
            self.send(status, body, ctype, list(headers) + ([("Accept-Ranges", "bytes")] if mode else []))
            return
        parts = []
        for one in spec.group(1).split(","):
            first, last = one.strip().split("-")
            parts.append((int(first), min(int(last) if last else len(body) - 1, len(body) - 1)))
        if len(parts) == 1:
            first, last = parts[0]
            self.send(206, body[first:last + 1], ctype,
                      list(headers) + [("Content-Range", "bytes %d-%d/%d" % (first, last, len(body)))])
            return
        out = b"".join(b"--cgparts\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n%s\r\n"
                       % (ctype.encode(), first, last, len(body), body[first:last + 1]) for first, last in parts)
        self.send(206, out + b"--cgparts--\r\n", "multipart/byteranges; boundary=cgparts", headers)

    # ---- routing -----------------------------------------------------------------------------

    def dispatch(self):
        try:
            body = self.read_body()
        except BodyIncomplete as e:
            self.log_request_entry(e.partial, incomplete=True)
            self.close_connection = True
            return
        except ValueError:
            self.log_request_entry(b"", incomplete=True)
            self.send(400, b"bad request body\n")
            self.close_connection = True
            return
        self.body = body
        self.entry = self.log_request_entry(body)
        url = urllib.parse.urlsplit(self.path)
        self.url_path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        p = url.path
        if self.command == "CONNECT":
            # A gateway must never forward CONNECT; answer as a naive tunnel would, so a test
            # sees the difference in the status as well as in the log.
            self.close_connection = True
            self.send(200, b"CONNECT reached the origin\n")
        elif p.startswith("/__origin/"):
            self.scripted(p[len("/__origin/"):])
        elif p in ("/collect", "/pixel.gif", "/ping"):
            self.beacon(p)
        elif p in PAGES and self.command in ("GET", "HEAD"):
            self.page(p)
        elif p in PAGES:
            self.send(405, b"method not allowed\n", headers=[("Allow", "GET, HEAD")])
        elif p == "/favicon.ico":
            self.send(204, ctype=None)
        else:
            self.static(p)

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[0] if v else default

    def qint(self, name, default):
        try:
            return int(self.q(name, default))
        except (TypeError, ValueError):
            return default

    def extra_headers(self):
        out = []
        for h in self.query.get("h", []):
            name, sep, value = h.partition(":")
            if sep and name.strip():
                out.append((name.strip(), value.strip()))
        return out

    # ---- /__origin/ ------------------------------------------------------------------------------

    def scripted(self, name):
        extra = self.extra_headers()
        if name == "echo":
            doc = {k: self.entry[k] for k in ("method", "path", "version", "headers", "body_length",
                                              "body_sha256", "body", "client")}
            self.send(200, json.dumps(doc, indent=1).encode() + b"\n", "application/json", extra)
        elif name == "set-cookie":
            cookies = [("Set-Cookie", c) for c in self.query.get("c", [])]
            if self.q("type") == "text":
                body, ctype = b"cookies set\n", "text/plain; charset=utf-8"
            else:
                items = "".join("<li><code>%s</code></li>" % html.escape(v) for _, v in cookies)
                body = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>cookies</title></head>"
                        "<body><p>Set-Cookie sent:</p><ul>%s</ul></body></html>\n" % items).encode()
                ctype = "text/html; charset=utf-8"
            self.send(200, body, ctype, cookies + extra)
        elif name.startswith("status/"):
            try:
                code = int(name[len("status/"):])
                assert 200 <= code <= 999
            except (ValueError, AssertionError):
                self.send(400, b"bad status code\n")
                return
            self.send(code, b"status %d from origin\n" % code, headers=extra)
        elif name == "slow":
            ms = self.qint("ms", 1000)
            if self.q("headers_first") == "1":
                body = b"slept %d ms\n" % ms
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                for k, v in extra:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.flush()
                time.sleep(ms / 1000.0)
                if self.command != "HEAD":
                    self.wfile.write(body)
            else:
                time.sleep(ms / 1000.0)
                self.send(200, b"slept %d ms\n" % ms, headers=extra)
        elif name == "big":
            n = max(0, self.qint("bytes", 1024))
            if self.q("ranges"):
                whole = BIG_PATTERN * (n // len(BIG_PATTERN) + 1)
                self.send_ranged(200, whole[:n], "application/octet-stream", extra)
                return
            self.send_response(200)
            hdrs = [("Content-Type", "application/octet-stream")] + extra
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command != "HEAD":
                step = len(BIG_PATTERN) * 4096
                chunk = BIG_PATTERN * 4096
                sent = 0
                while sent < n:
                    part = chunk[: min(step, n - sent)]
                    self.wfile.write(part)
                    sent += len(part)
        elif name == "chunked":
            self.chunked(extra)
        elif name == "html" or name.startswith("html/"):
            path = self.find_file(self.q("file", ""), [TEST_DATA, self.server.site])
            if not path:
                self.send(404, b"no such file\n", headers=extra)
                return
            with open(path, "rb") as f:
                body = f.read().replace(b"@PAD@", b"a" * max(0, self.qint("pad", 0)))
                body = body * max(1, self.qint("repeat", 1)) + (self.q("tail") or "").encode()
                if self.q("bom") == "utf8":
                    body = b"\xef\xbb\xbf" + body
            if self.q("validators") == "1":
                # as nginx serves a static file: an ETag and a Last-Modified, and 304 to a request that has it
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                extra += [("ETag", etag), ("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")]
                tags = [t.strip() for t in ",".join(self.headers.get_all("If-None-Match") or []).split(",")]
                if etag in tags or "W/" + etag in tags or "*" in tags:
                    self.send(304, headers=extra)
                    return
            ctype = self.page_type()
            if self.qint("split_ms", 0) <= 0:
                self.send_ranged(self.qint("status", 200), body, ctype, extra)
                return
            # the first half (or split_at bytes), then (after split_ms) the rest: the gateway sees the body in two reads
            self.send_response(200)
            for k, v in ([("Content-Type", ctype)] if ctype else []) + extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                cut = self.qint("split_at", len(body) // 2)
                self.wfile.write(body[:cut])
                self.wfile.flush()
                time.sleep(self.qint("split_ms", 0) / 1000.0)
                self.wfile.write(body[cut:])
        elif name == "gzip-html":
            page = GZIP_DEFAULT_PAGE
            if self.q("file"):
                path = self.find_file(self.q("file"), [TEST_DATA, self.server.site])
                if not path:
                    self.send(404, b"no such file\n", headers=extra)
                    return
                with open(path, "rb") as f:
                    page = f.read()
            hdrs = [("Vary", "Accept-Encoding")] + extra
            if self.accepts_gzip():
                page = gzip.compress(page, mtime=0)
                hdrs.insert(0, ("Content-Encoding", "gzip"))
            self.send(200, page, self.page_type(), hdrs)
        elif name == "encoded-html":
            offered = [p.split(";")[0].strip().lower() for p in (self.headers.get("Accept-Encoding") or "").split(",")]
            hdrs = [("Vary", "Accept-Encoding")] + extra
            page = GZIP_DEFAULT_PAGE
            for coding in ("br", "zstd", "deflate", "gzip"):
                if coding in offered:
                    page = {"br": b"\x1b\x00stand-in br bytes", "zstd": b"\x28\xb5\x2f\xfdstand-in zstd bytes",
                            "deflate": zlib.compress(page), "gzip": gzip.compress(page, mtime=0)}[coding]
                    hdrs.insert(0, ("Content-Encoding", coding))
                    break
            self.send(200, page, "text/html; charset=utf-8", hdrs)
        elif name == "headers":
            self.send(200, b"headers sent\n", headers=extra)
        elif name == "log":
            data = json.dumps(self.server.request_log.snapshot(), indent=1).encode() + b"\n"
            self.send(200, data, "application/json", extra)
        else:
            self.send(404, b"unknown /__origin/ endpoint\n", headers=extra)

    def chunked(self, extra):
        n, size = max(0, self.qint("n", 3)), max(1, self.qint("size", 16))
        delay = self.qint("delay_ms", 0) / 1000.0
        ctype = self.q("ct", "text/plain; charset=utf-8")
        can_chunk = self.request_version == "HTTP/1.1"
        self.send_response(200)
        hdrs = extra if any(k.lower() == "content-type" for k, _ in extra) else [("Content-Type", ctype)] + extra
        for k, v in hdrs:
            self.send_header(k, v)
        if can_chunk:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.close_connection = True  # HTTP/1.0: the end of the body is the close
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        for i in range(n):
            data = bytes([ord("a") + i % 26]) * size
            if can_chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self.wfile.flush()
            if delay and i + 1 < n:
                time.sleep(delay)
        if can_chunk:
            self.wfile.write(b"0\r\n\r\n")

    def accepts_gzip(self):
        for part in (self.headers.get("Accept-Encoding") or "").split(","):
            coding, _, params = part.strip().partition(";")
            if coding.strip().lower() in ("gzip", "x-gzip", "*"):
                q = params.strip().replace(" ", "")
                return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    @staticmethod
    def find_file(name, roots):
        if not name or "\x00" in name:
            return None
        for root in roots:
            root = os.path.realpath(root)
            path = os.path.realpath(os.path.join(root, name))
            if path.startswith(root + os.sep) and os.path.isfile(path):
                return path
        return None

    # ---- demo site ---------------------------------------------------------------------------

    def beacon(self, p):
        if p == "/ping" or (p == "/collect" and self.command not in ("GET", "HEAD")):
            self.send(204, ctype=None, headers=[("Cache-Control", "no-store")])
        else:
            self.send(200, GIF_1X1, "image/gif", [("Cache-Control", "no-store")])

    def static(self, p):
        path = self.find_file(urllib.parse.unquote(p).lstrip("/"), [self.server.site])
        if not path or os.path.basename(path) in PAGES.values() or self.command not in ("GET", "HEAD"):
            body = NOT_FOUND % html.escape(p).encode()
            self.send(404, body, "text/html; charset=utf-8")
            return
        ctype = STATIC_TYPES.get(os.path.splitext(path)[1], "application/octet-stream")
        with open(path, "rb") as f:
            self.send(200, f.read(), ctype, [("Cache-Control", "max-age=60")])

    def request_cookies(self):
        """Cookie names and values in the order received (all Cookie headers)."""
        out = []
        for value in self.headers.get_all("Cookie") or []:
            for pair in value.split(";"):
                name, sep, val = pair.strip().partition("=")
                if name:
                    out.append((name, val))
        return out

    def page(self, p):
        with open(os.path.join(self.server.site, PAGES[p]), "r", encoding="utf-8") as f:
            text = f.read()
        received = self.request_cookies()
        have = {name for name, _ in received}
        set_cookies = []
        if p == "/":
            now = int(time.time())
            for name, _cat, attrs, make in DEMO_COOKIES:
                if name not in have:
                    set_cookies.append("%s=%s; %s" % (name, make(now), attrs))
        text = text.replace("<!--origin:panel-->", self.panel(received, set_cookies))
        hdrs = [("Set-Cookie", c) for c in set_cookies] + [("Cache-Control", "no-store")]
        self.send(200, text.encode("utf-8"), "text/html; charset=utf-8", hdrs)

    def panel(self, received, set_cookies):
        e = html.escape
        have = {name for name, _ in received}
        rows = []
        for name, cat, _attrs, _make in DEMO_COOKIES:
            ok = name in have
            rows.append('<tr class="%s"><td><code>%s</code></td><td>%s</td><td>%s</td></tr>'
                        % ("yes" if ok else "no", e(name), e(cat), "received" if ok else "not received"))
        known = {c[0] for c in DEMO_COOKIES}
        for name, _ in received:
            if name not in known:
                rows.append('<tr class="yes"><td><code>%s</code></td><td>other</td><td>received</td></tr>' % e(name))
        cookie_raw = ", ".join(self.headers.get_all("Cookie") or [])

        def hdr(name):
            v = ", ".join(self.headers.get_all(name) or [])
            return "<code>%s</code>" % e(v) if v else '<span class="absent">absent</span>'

        sent = "".join("<li><code>%s</code></li>" % e(c.split(";")[0].split("=")[0]) for c in set_cookies)
        sent_html = ("<p>This answer carries <code>Set-Cookie</code> for:</p><ul class=\"inline\">%s</ul>" % sent
                     if sent else "<p>This answer sets no cookies.</p>")
        return (
            '<section class="panel" id="origin-panel">\n'
            "<h2>What reached the origin</h2>\n"
            "<p>The shop's server (the origin) saw this request as follows. Open this page through "
            "the gateway and directly to compare.</p>\n"
            "<table><thead><tr><th>cookie</th><th>category</th><th>in this request</th></tr></thead>\n"
            "<tbody>%s</tbody></table>\n"
            "<dl>\n"
            "<dt>Cookie header</dt><dd>%s</dd>\n"
            "<dt>Consent-Categories</dt><dd>%s</dd>\n"
            "<dt>X-Forwarded-For</dt><dd>%s</dd>\n"
            "<dt>X-Forwarded-Proto</dt><dd>%s</dd>\n"
            "<dt>Host</dt><dd>%s</dd>\n"
            "</dl>\n%s\n"
            '<p>Cookies your browser lets this page\'s scripts read: <code id="js-cookies">(script not run)</code></p>\n'
            "</section>"
            % ("\n".join(rows),
               "<code>%s</code>" % e(cookie_raw) if cookie_raw else '<span class="absent">absent</span>',
               hdr("Consent-Categories"), hdr("X-Forwarded-For"), hdr("X-Forwarded-Proto"), hdr("Host"),
               sent_html))


NOT_FOUND = (b"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title>"
             b"<link rel=\"stylesheet\" href=\"/style.css\"></head><body><main><h1>Not found</h1>"
             b"<p>Example Shop has no page at <code>%s</code>.</p><p><a href=\"/\">Home</a></p></main>"
             b"</body></html>\n")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Example Shop origin and scriptable test origin")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--site", default=os.path.join(HERE, "site"), help="demo site folder")
    ap.add_argument("--verbose", action="store_true", help="print each request on stderr")
    args = ap.parse_args(argv)
    if args.log:
        os.makedirs(os.path.dirname(os.path.abspath(args.log)), exist_ok=True)
    server = Server((args.host, args.port), Handler)
    server.request_log = RequestLog(args.log)
    server.site = os.path.abspath(args.site)
    server.verbose = args.verbose
    print("origin: listening on http://%s:%d/ (site %s, log %s)"
          % (args.host, server.server_port, server.site, args.log or "-"), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
