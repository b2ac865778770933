#!/usr/bin/env python3
"""A plain static origin for the compatibility corpus.
/gz/<path>    : the file gzip-encoded (when Accept-Encoding has gzip)
/chunk/<path> : the file chunked (Transfer-Encoding), 1000-byte chunks
/br/<path>    : <path>.br precompressed, Content-Encoding: br
Sidecar <file>.ctype overrides the Content-Type. Validators and Cache-Control on everything."""
import gzip, hashlib, mimetypes, os, sys, email.utils
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlsplit, unquote

ROOT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.getcwd()
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("image/svg+xml", ".svg")


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        out = b"posted " + str(len(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self, head=False):
        path = unquote(urlsplit(self.path).path)
        mode = None
        for m in ("gz", "chunk", "br"):
            if path.startswith("/%s/" % m):
                mode, path = m, path[len(m) + 1:]
        fs = os.path.normpath(os.path.join(ROOT, path.lstrip("/")))
        if os.path.isdir(fs):
            if not path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", self.path.split("?")[0] + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fs = os.path.join(fs, "index.html")
        if not fs.startswith(ROOT) or not os.path.isfile(fs):
            body = b"<!doctype html><title>404</title><p>not found"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        with open(fs, "rb") as f:
            data = f.read()
        ctype = None
        if os.path.isfile(fs + ".ctype"):
            with open(fs + ".ctype") as f:
                ctype = f.read().strip()
        if ctype is None:
            ctype = mimetypes.guess_type(fs)[0] or "application/octet-stream"
            if ctype.startswith("text/") and ctype != "text/html":
                ctype += "; charset=utf-8"
        st = os.stat(fs)
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        enc = None
        if mode == "gz" and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data, enc = gzip.compress(data, mtime=0), "gzip"
        if mode == "br" and "br" in (self.headers.get("Accept-Encoding") or "") and os.path.isfile(fs + ".br"):
            with open(fs + ".br", "rb") as f:
                data, enc = f.read(), "br"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "public, max-age=60")
        self.send_header("X-Origin", "compat")
        if mode in ("gz", "br"):
            self.send_header("Vary", "Accept-Encoding")
        if enc:
            self.send_header("Content-Encoding", enc)
        if mode == "chunk":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if head:
                return
            for i in range(0, len(data), 1000):
                c = data[i:i + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
