#!/usr/bin/env python3
"""Non-HTML files of the corpus, as a browser asks for them (Sec-Fetch-Dest by extension), each plain, gzip (/gz/) and
chunked (/chunk/) from origin.py: bytes (gzip decoded) and headers direct and through the gateway with a consent
cookie. Prints the files whose bytes differ and the header changes by kind. usage: bytes.py CORPUS 'cg_consent=...'
(ORIGIN_PORT, GW_PORT: 18490, 18480)"""
import gzip
import http.client
import os
import random
import sys

ROOT, COOKIE = sys.argv[1], sys.argv[2]
ORIGIN_PORT, GW_PORT = int(os.environ.get("ORIGIN_PORT", 18490)), int(os.environ.get("GW_PORT", 18480))
DEST = {".css": "style", ".js": "script", ".mjs": "script", ".png": "image", ".gif": "image", ".jpg": "image", ".svg": "image",
        ".woff2": "font", ".woff": "font", ".ttf": "font", ".json": "empty", ".txt": "document", ".gz": "document", ".xml": "document",
        ".md": "document", ".ico": "image", ".webmanifest": "manifest", ".vtt": "track", ".map": "empty", ".pdf": "document"}
files = []
for d, _, fs in os.walk(ROOT, followlinks=False):
    for f in fs:
        ext = os.path.splitext(f)[1].lower()
        if ext in DEST and not f.endswith(".ctype"):
            files.append(os.path.relpath(os.path.join(d, f), ROOT))
random.seed(1)
files = random.sample(files, min(600, len(files)))  # (the same 600 every run)


def get(port, path, dest, enc):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    h = {"Sec-Fetch-Dest": dest, "Accept-Encoding": enc, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"}
    if port == GW_PORT:
        h["Cookie"] = COOKIE
    c.request("GET", path, headers=h)
    r = c.getresponse()
    h = {k.lower(): v for k, v in r.getheaders()}
    body = r.read()
    if h.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return r.status, h, body


stats = {"same": 0, "bytes": 0, "headers": 0}
hdrdiff = {}
for f in files:
    ext = os.path.splitext(f)[1].lower()
    for prefix, enc in (("/", "gzip, deflate, br"), ("/gz/", "gzip, deflate, br"), ("/chunk/", "identity")):
        path = prefix + f
        a, b = get(ORIGIN_PORT, path, DEST[ext], enc), get(GW_PORT, path, DEST[ext], enc)
        if a[0] != b[0] or a[2] != b[2]:
            stats["bytes"] += 1
            print("BYTES", path, a[0], b[0], len(a[2]), len(b[2]), a[1].get("content-type"))
            continue
        d = sorted(k for k in set(a[1]) | set(b[1]) if a[1].get(k) != b[1].get(k) and k not in ("date", "server", "connection"))
        if d:
            stats["headers"] += 1
            key = (ext, prefix, tuple("%s:%s->%s" % (k, a[1].get(k), b[1].get(k)) if k not in ("etag", "last-modified", "content-length") else k for k in d))
            hdrdiff[key] = hdrdiff.get(key, 0) + 1
        else:
            stats["same"] += 1
for k, v in sorted(hdrdiff.items(), key=lambda x: -x[1]):
    print("HDR x%d %s %s %s" % (v, k[0], k[1], k[2]))
print(len(files), "files", stats)
