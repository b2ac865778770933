#!/usr/bin/env python3
"""Compares compare.js's loads through the gateway (granted, refused) with the direct one, page by page, and counts
pages identical / differing / broken. usage: analyse.py out.json [verbose]  (SHOTS: the screenshots' folder)"""
import difflib, json, os, re, struct, sys, zlib

SHOTS = os.environ.get("SHOTS", os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "shots"))
# page headers the README says a rewritten page changes (Vary, caching, validators, length and coding, the CSP)
HDR_OK = {"cache-control", "vary", "accept-ranges", "content-security-policy-report-only", "reporting-endpoints",
          "etag", "last-modified", "content-length", "server", "date", "connection", "keep-alive", "set-cookie",
          "transfer-encoding", "content-encoding"}


CARET_PIXELS = 50
RES_OK = {"date", "server", "connection", "keep-alive", "vary", "accept-ranges", "content-length", "transfer-encoding",
          "content-encoding", "cache-control", "set-cookie", "etag", "last-modified"}


def canon(dom):
    """what compare.js leaves of the consent UI when the DOM was recorded by an older compare.js: the no-script link and
    the consent-mode default script"""
    dom = re.sub(r'<noscript>(?:<|&lt;)a id="cg-nojs".*?</noscript>', "", dom or "", flags=re.S)
    dom = re.sub(r'http://127\.0\.0\.1:\d+(?=https?://)', "", dom)  # (a shim's origin left before the URL it names)
    return re.sub(r'<script data-cg-gcm="">.*?</script>', "", dom, flags=re.S)


def png_pixels(path):
    """rows of pixels of an 8-bit RGB or RGBA PNG (Chromium's screenshots), without a PNG library"""
    with open(path, "rb") as f:
        d = f.read()
    pos, idat, w = 8, b"", 0
    while pos < len(d):
        n, t = struct.unpack(">I4s", d[pos:pos + 8])
        c = d[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, bd, ct = struct.unpack(">IIBB", c[:10])
            bpp = {2: 3, 6: 4}[ct]
        elif t == b"IDAT":
            idat += c
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        ft, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            cc = prev[x - bpp] if x >= bpp else 0
            if ft == 1: line[x] = (line[x] + a) & 255
            elif ft == 2: line[x] = (line[x] + b) & 255
            elif ft == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - cc; pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else cc)) & 255
        rows.append(bytes(line)); prev = line
    return rows, bpp


def shot_diff(a, b):
    pa, pb = os.path.join(SHOTS, a), os.path.join(SHOTS, b)
    if open(pa, "rb").read() == open(pb, "rb").read():
        return 0
    ra, bpp = png_pixels(pa); rb, _ = png_pixels(pb)
    n = 0
    for x, y in zip(ra, rb):
        if x != y:
            n += sum(1 for i in range(0, len(x), bpp) if x[i:i + bpp] != y[i:i + bpp])
    return n


def compare(a, b, verbose):
    diffs = []
    if a.get("status") != b.get("status"):
        diffs.append("status %s vs %s" % (a.get("status"), b.get("status")))
    for k in ("gotoError", "evalError"):
        if b.get(k): diffs.append("%s: %s" % (k, b[k]))
    if canon(a.get("dom")) != canon(b.get("dom")):
        da, db = canon(a.get("dom")).replace(">", ">\n").splitlines(), canon(b.get("dom")).replace(">", ">\n").splitlines()
        ud = [l for l in difflib.unified_diff(da, db, lineterm="", n=0) if not l.startswith(("---", "+++", "@@"))]
        diffs.append("dom (%d lines): %s" % (len(ud), " | ".join(l[:160] for l in ud[:8 if verbose else 4])))
    for k in ("console", "pageerrors", "failed", "bad", "frames", "csp"):
        sa, sb = sorted(set(a.get(k) or [])), sorted(set(b.get(k) or []))
        if sa != sb:
            diffs.append("%s: -%s +%s" % (k, [x for x in sa if x not in sb][:4], [x for x in sb if x not in sa][:4]))
    # sub-resources: bytes (an HTML answer is a page, rewritten whatever asked for it) and headers (those the README
    # says change: Vary, caching and validators of what the gateway reads, a refused cookie's expiry)
    for u, ra in (a.get("resources") or {}).items():
        rb = (b.get("resources") or {}).get(u)
        if not rb or "sha" not in ra or "sha" not in rb:
            continue
        html = any(x["headers"].get("content-type", "").startswith("text/html") for x in (ra, rb))
        if ra["sha"] != rb["sha"] and not html:
            diffs.append("bytes differ %s (%s %d vs %d)" % (u, ra["type"], ra["len"], rb["len"]))
        ha, hb = ra["headers"], rb["headers"]
        hd = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k) and not html and k not in RES_OK)
        if hd:
            diffs.append("headers %s: %s" % (u, ["%s: %r -> %r" % (k, ha.get(k), hb.get(k)) for k in hd]))
    ha, hb = a.get("headers") or {}, b.get("headers") or {}
    hd = sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k) and k not in HDR_OK)
    if hd:
        diffs.append("page headers: %s" % ["%s: %r -> %r" % (k, ha.get(k), hb.get(k)) for k in hd])
    if a.get("shot") and b.get("shot"):
        n = shot_diff(a["shot"], b["shot"])
        if n:
            diffs.append("screenshot: %d pixels differ (%s %s)" % (n, a["shot"], b["shot"]))
    return diffs


def main():
    res = json.load(open(sys.argv[1]))
    verbose = len(sys.argv) > 2
    counts = {}
    for url, r in res.items():
        for m in ("granted", "refused"):
            if m not in r: continue
            d = compare(r["direct"], r[m], verbose)
            broken = any(x.startswith(("status", "gotoError", "evalError", "pageerrors")) for x in d)
            # a report-only CSP report is no difference the visitor sees: counted apart
            seen = [x for x in d if not x.startswith("csp:")]
            # a few pixels alone: the text caret blinking in a search field the page focuses (where they were)
            caret = len(seen) == 1 and re.match(r"screenshot: (\d+) ", seen[0]) and int(seen[0].split()[1]) <= CARET_PIXELS
            k = ("broken" if broken else "identical, caret" if caret else "differing" if seen else
                 "identical, CSP reports" if d else "identical")
            counts[(m, k)] = counts.get((m, k), 0) + 1
            if d:
                print("== %s [%s] %s" % (url, m, k))
                for x in d:
                    print("   " + x)
    print(json.dumps({"%s/%s" % k: v for k, v in sorted(counts.items())}))


main()
