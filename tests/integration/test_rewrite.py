"""The streaming HTML rewriter end to end: a real origin page with real tracker tags, through the
real gateway, with a tracker list copied from EasyPrivacy (tests/data/abp)."""

import gzip
import json
import os
import random
import re
import signal
import threading
import time
import urllib.parse

from harness import ADMIN_TOKEN, GatewayTestCase, curl, gateway_config, merge, metric, metric_help, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EASYPRIVACY = os.path.join(ROOT, "tests", "data", "abp", "easyprivacy-sample.txt")
MARKETING = os.path.join(ROOT, "tests", "data", "abp", "local-marketing.txt")
GTAG = "https://www.googletagmanager.com/gtag/js?id=G-ABC123"


def scripts(html):
    return re.findall(r"<script\b[^>]*>", html, re.I)


def nonces(html):
    return set(re.findall(r"<(?:script|style)\b[^>]*\bnonce=\"([^\"]+)\"", html, re.I))


class RewriteTest(GatewayTestCase):
    config = {"trackers": {"lists": [{"name": "easyprivacy", "file": EASYPRIVACY, "format": "abp", "category": "analytics"},
                                     {"name": "local", "file": MARKETING, "format": "abp", "category": "marketing"}]}}

    def consent(self, body):
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=json.dumps(body),
                 headers=["Content-Type: application/json"])
        return [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]

    def test_trackers_inert_before_consent(self):
        r = curl(self.gw.url("/"))
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Content-Length"), "the body changed: no stale length")
        html = r.text
        tag = [s for s in scripts(html) if "googletagmanager" in s]
        self.assertEqual(len(tag), 1, scripts(html))
        self.assertIn('data-cg-src="%s"' % GTAG, tag[0])
        self.assertIn('type="text/plain"', tag[0])
        self.assertIn('data-cg-category="analytics"', tag[0])
        self.assertNotRegex(tag[0], r"\ssrc=")
        # the Meta pixel <img> is inert too, and the fbq loader snippet (inline script) as well
        self.assertNotRegex(html, r'<img[^>]*\ssrc="https://www.facebook.com/tr')
        fbq = [s for s in re.findall(r"(<script\b[^>]*>)([^<]*connect\.facebook\.net)", html)]
        self.assertTrue(fbq and all('type="text/plain"' in s[0] and 'data-cg-category="marketing"' in s[0] for s in fbq), fbq)
        # every script carries this response's nonce; the banner is injected once, before </head>
        self.assertEqual(len(nonces(html)), 1)
        self.assertTrue(all("nonce=" in s for s in scripts(html)), scripts(html))
        head = html[:html.lower().index("</head>")]
        self.assertEqual(html.count('src="/__consent/banner.js"'), 1)
        self.assertIn('src="/__consent/banner.js"', head)
        state = json.loads(re.search(r'<script[^>]*id="cg-state"[^>]*>(.*?)</script>', html, re.S).group(1))
        self.assertFalse(state["decided"])
        self.assertFalse(state["categories"]["analytics"])
        r2 = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        seen = {(s["host"], s["category"]): s for s in r2.json()["seen"]}
        self.assertGreaterEqual(seen[("www.googletagmanager.com", "analytics")]["neutralised"], 1)
        self.assertEqual(r2.json()["lists"][0]["malformed"], 0)

    def test_untouched_after_consent(self):
        token = self.consent({"all": True})
        html = curl(self.gw.url("/"), cookie=token).text
        tag = [s for s in scripts(html) if "googletagmanager" in s][0]
        self.assertIn('src="%s"' % GTAG, tag)
        self.assertNotIn("data-cg-", tag)
        self.assertRegex(html, r'<img[^>]*\ssrc="https://www.facebook.com/tr')
        self.assertEqual(len(nonces(html)), 1, "granted scripts still get the nonce")
        state = json.loads(re.search(r'id="cg-state"[^>]*>(.*?)</script>', html, re.S).group(1))
        self.assertTrue(state["decided"])

    def test_the_page_does_not_carry_the_visitor_id(self):
        # the inline state gave every script of the page (and consentgate.state()) the visitor id that the HttpOnly
        # token keeps from them: a year-long identifier any tag could send to its vendor, consent or not
        token = self.consent({"all": True})
        visitor = curl(self.gw.url("/__consent/api/state"), cookie=token).json()["visitor"]
        self.assertRegex(visitor, r"^[0-9a-f]{32}$")
        html = curl(self.gw.url("/"), cookie=token).text
        state = json.loads(re.search(r'id="cg-state"[^>]*>(.*?)</script>', html, re.S).group(1))
        self.assertTrue(state["decided"])
        self.assertNotIn("visitor", state)
        self.assertNotIn(visitor, html)

    def test_each_response_has_its_own_nonce(self):
        a, b = curl(self.gw.url("/")).text, curl(self.gw.url("/")).text
        self.assertEqual(len(nonces(a)), 1)
        self.assertNotEqual(nonces(a), nonces(b))
        self.assertRegex(nonces(a).pop(), r"^[A-Za-z0-9_-]{22}$")

    def test_gzip_from_origin(self):
        plain = curl(self.gw.url("/__origin/gzip-html?t=plain")).text
        self.assertIn("nonce=", plain)
        r = curl(self.gw.url("/__origin/gzip-html?t=gz"), headers=["Accept-Encoding: gzip"])
        self.assertEqual(r.header("Content-Encoding"), "gzip", "the rewritten page is compressed again for the client")
        html = gzip.decompress(r.body).decode()
        self.assertIn("nonce=", html)
        self.assertIn('src="/__consent/banner.js"', html)
        e = self.origin.assert_reached("t=gz")
        self.assertTrue(any("gzip" in v for v in self.origin.header(e, "Accept-Encoding")))

    def test_gzip_xml_document_compressed_again(self):
        """An XML document the origin sent gzip and a visitor opens (read as XHTML) goes out gzip again, as a page does:
        h2o's list of types to compress has no application/xml, which went out decoded (found in front of Python's
        documentation, whose opensearch.xml a visitor may open)."""
        with open(os.path.join(os.path.dirname(__file__), "..", "data", "pages", "xhtml-start.xhtml"), "rb") as f:
            origin = f.read()
        r = curl(self.gw.url("/__origin/gzip-html?file=pages/xhtml-start.xhtml&ctype=application/xml"),
                 headers=["Accept-Encoding: gzip", "Sec-Fetch-Dest: document"])
        self.assertEqual((r.status, r.header("Content-Encoding")), (200, "gzip"))
        self.assertEqual(gzip.decompress(r.body), origin)

    def test_page_without_a_content_type_read_as_the_browser_sniffs_it(self):
        # No Content-Type (or "unknown/unknown"): Chromium sniffs the first bytes and renders HTML, running its scripts;
        # passed as it came, its trackers ran. The gateway sniffs the same bytes: whole, in reads of 3 bytes and the
        # rest, gzip, and a stated unknown type; a body that does not look like HTML, or one with nosniff, goes as it came.
        before = metric(self.gw, "cg_html_sniffed_total")
        for query, headers in (("ctype=none", []), ("ctype=none&split_ms=300&split_at=3", []),
                               ("ctype=unknown/unknown", []), ("ctype=none&h=Content-Type:nonsense", [])):
            r = curl(self.gw.url("/__origin/html/sniffed?file=index.html&" + query), headers=headers)
            self.assertEqual(r.status, 200, query)
            self.assertEqual(r.header("Content-Type"), "text/html", query)
            tag = [t for t in scripts(r.text) if "googletagmanager" in t]
            self.assertEqual(len(tag), 1, query)
            self.assertNotRegex(tag[0], r"\ssrc=", query)
            self.assertEqual(r.text.count('src="/__consent/banner.js"'), 1, query)
            self.assertIsNotNone(r.header("Content-Security-Policy-Report-Only"), query)
        r = curl(self.gw.url("/__origin/gzip-html?file=index.html&ctype=none"), headers=["Accept-Encoding: gzip"])
        self.assertEqual(r.header("Content-Type"), "text/html")
        self.assertIn('src="/__consent/banner.js"', gzip.decompress(r.body).decode())
        self.assertEqual(metric(self.gw, "cg_html_sniffed_total"), before + 5)
        # what the browser does not sniff as HTML passes byte for byte, with no type added
        for query in ("file=index.html&h=X-Content-Type-Options:nosniff", "file=sheets/empty.txt&tail=%20just%20text%20%3Chtml%3E"):
            path = "/__origin/html/plain?ctype=none&" + query
            r, direct = curl(self.gw.url(path)), curl(self.origin.url + path)
            self.assertEqual(r.body, direct.body, query)
            self.assertIsNone(r.header("Content-Type"), query)
            self.assertIsNone(r.header("Content-Security-Policy-Report-Only"), query)
        self.assertEqual(metric(self.gw, "cg_html_sniffed_total"), before + 5)

    def test_content_type_read_as_chromium_reads_it(self):
        # Chromium takes "text/html(x)" for text/html (a type ends at '(', its characters unchecked) and sniffs a
        # "*/*" that has parameters: both pages below render as HTML and run their scripts. Read by the Fetch
        # standard's stricter rules they were text/plain, passed untouched, and their trackers ran
        for ctype in ("text/plain, text/html(x)", "text/plain;a=b, */*;a=b"):
            r = curl(self.gw.url("/__origin/html/ctype?file=index.html&ctype=" + urllib.parse.quote(ctype)))
            self.assertEqual(r.status, 200, ctype)
            tag = [t for t in scripts(r.text) if "googletagmanager" in t]
            self.assertEqual(len(tag), 1, ctype)
            self.assertNotRegex(tag[0], r"\ssrc=", ctype)
            self.assertEqual(r.text.count('src="/__consent/banner.js"'), 1, ctype)

    def test_host_written_with_character_references_a_host_maps_to_ascii(self):
        # Chromium decodes "&aopf;" to U+1D552, which a host maps to "a" (UTS #46), and loads Tag Manager from
        # www.googletagmanager.com; left undecoded, the host named no tracker and the tag ran before consent
        for host in ("www.googletagm&aopf;nager.com", "www.google&shy;tagmanager.com", "www.googletag&#x1D55E;anager.com"):
            tail = '<script async src="https://%s/gtag/js?id=G-REF"></script>' % host
            r = curl(self.gw.url("/__origin/html/ref?file=sheets/empty.txt&tail=" + urllib.parse.quote(tail)))
            self.assertEqual(r.status, 200, host)
            tag = [t for t in scripts(r.text) if "G-REF" in t]
            self.assertEqual(len(tag), 1, host)
            self.assertNotRegex(tag[0], r"\ssrc=", host)

    def test_accept_encoding_narrowed_to_what_the_rewriter_reads(self):
        browser = "gzip, deflate, br, zstd"
        r = curl(self.gw.url("/__origin/encoded-html?t=ae-browser"), headers=["Accept-Encoding: " + browser])
        e = self.origin.assert_reached("t=ae-browser")
        self.assertEqual(self.origin.header(e, "Accept-Encoding"), ["gzip"], "br, zstd and deflate are not asked for")
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        html = gzip.decompress(r.body).decode()
        self.assertIn('src="/__consent/banner.js"', html)
        gtag = [t for t in scripts(html) if "googletagmanager" in t]
        self.assertEqual(len(gtag), 1, scripts(html))
        self.assertIn('type="text/plain"', gtag[0], "the tracker is inert although the browser offered br")
        for label, offered in (("br-only", "br"), ("gzip-refused", "gzip;q=0, deflate"), ("zstd", "zstd;q=1.0")):
            r = curl(self.gw.url("/__origin/encoded-html?t=ae-" + label), headers=["Accept-Encoding: " + offered])
            e = self.origin.assert_reached("t=ae-" + label)
            self.assertEqual(self.origin.header(e, "Accept-Encoding"), [], "%s: the origin is asked for no encoding" % offered)
            self.assertEqual(r.status, 200)
            if r.header("Content-Encoding") is None:  # else h2o compressed it with br for this client
                self.assertIn("nonce=", r.text, offered)
        # gzip with a q-value stays gzip
        curl(self.gw.url("/__origin/encoded-html?t=ae-q"), headers=["Accept-Encoding: br;q=1, gzip;q=0.5"])
        self.assertEqual(self.origin.header(self.origin.assert_reached("t=ae-q"), "Accept-Encoding"), ["gzip"])
        # a browser's script, style, image, … requests keep what the client offered
        before = metric(self.gw, "cg_html_unreadable_total")
        r = curl(self.gw.url("/__origin/encoded-html?t=ae-script"), headers=["Accept-Encoding: " + browser, "Sec-Fetch-Dest: script"])
        e = self.origin.assert_reached("t=ae-script")
        self.assertEqual(self.origin.header(e, "Accept-Encoding"), [browser])
        # an HTML answer in an encoding the rewriter cannot read passes through byte for byte, and is counted
        self.assertEqual(r.header("Content-Encoding"), "br")
        self.assertEqual(r.body, b"\x1b\x00stand-in br bytes")
        self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before + 1)

    def test_tracker_iframes_and_connection_hints_inert_until_consent(self):
        """<iframe src> and <link rel=preconnect|dns-prefetch|prefetch|compression-dictionary> of a refused tracker: the
        frame loads nothing and no connection is opened or file fetched (a preconnect alone tells the tracker the visitor
        is here; Chromium 156 fetches a compression dictionary unasked)."""
        page = "/__origin/html?file=pages/embeds.html"

        def tags(html):
            return {m.group(1): m.group(0) for m in re.finditer(r'<(?:iframe|link) id="([^"]+)"[^>]*>', html)}
        urls = {"pc-tracker": "https://www.googletagmanager.com", "dns-tracker": "//www.googletagmanager.com",
                "pf-tracker": "https://www.googletagmanager.com/gtm.js?id=GTM-PF", "pc-ads": "https://stats.g.doubleclick.net",
                "cd-tracker": "https://www.googletagmanager.com/dict",
                "if-tracker": "https://www.googletagmanager.com/ns.html?id=GTM-ABC",
                "if-ads": "https://ad.doubleclick.net/ddm/activity/src=1;type=x"}
        category = {"pc-tracker": "analytics", "dns-tracker": "analytics", "pf-tracker": "analytics", "if-tracker": "analytics",
                    "cd-tracker": "analytics",
                    "pc-ads": "marketing", "if-ads": "marketing"}

        def assert_inert(t, ident):
            attr = "src" if ident.startswith("if-") else "href"
            self.assertIn(' data-cg-%s="%s"' % (attr, urls[ident]), t[ident])
            self.assertNotRegex(t[ident], r"\s%s=" % attr, "the browser would load it: " + t[ident])
            self.assertIn('data-cg-category="%s"' % category[ident], t[ident])
            self.assertRegex(t[ident], r'data-cg-r="[^"]+"', "re-activatable by the banner")

        def assert_live(t, ident):
            attr = "src" if ident.startswith("if-") else "href"
            self.assertIn(' %s="%s"' % (attr, urls[ident]), t[ident])
            self.assertNotIn("data-cg-", t[ident])

        t = tags(curl(self.gw.url(page)).text)
        for ident in urls:
            assert_inert(t, ident)
        # what is not a tracker stays as written
        self.assertIn('<iframe id="if-clean" src="https://video.example/embed/1" title="video">', t["if-clean"])
        self.assertEqual(t["pc-clean"], '<link id="pc-clean" rel="preconnect" href="https://fonts.example">')
        self.assertEqual(t["pf-clean"], '<link id="pf-clean" rel="prefetch" href="/next.html">')
        # marketing granted: only the marketing ones come back
        t = tags(curl(self.gw.url(page), cookie=self.consent({"categories": {"marketing": True}})).text)
        for ident in urls:
            (assert_live if category[ident] == "marketing" else assert_inert)(t, ident)
        t = tags(curl(self.gw.url(page), cookie=self.consent({"all": True})).text)
        for ident in urls:
            assert_live(t, ident)

    def test_trackers_in_css_inert_until_consent(self):
        html = curl(self.gw.url("/__origin/html?file=pages/css.html")).text
        tags = {m.group(2): m.group(0) for m in re.finditer(r'<(style|div|p|td|table|span) id="([^"]+)"[^>]*>', html)}
        st = tags["st-tracker"]
        self.assertIn('type="text/plain"', st, "a style sheet loading a refused tracker does not apply: " + st)
        self.assertIn('data-cg-category="analytics"', st)
        self.assertRegex(st, r'data-cg-r="[^"]+"')
        self.assertIn('type="text/plain"', tags["st-import-rel"], "a first-party tracker path imported by a relative URL")
        p = tags["sa-tracker"]
        self.assertIn("data-cg-style=\"background:url('//www.facebook.com/tr?id=8&amp;ev=PageView')\"", p)
        self.assertNotIn(" style=", p)
        self.assertIn('data-cg-category="analytics"', p)
        td = tags["bg-td"]
        self.assertIn('data-cg-background="https://www.facebook.com/tr?id=7&amp;ev=PageView"', td)
        self.assertNotIn(" background=", td)
        # a <link> that fetches (a style sheet, an icon) from a refused tracker is inert; a canonical reference is not a fetch
        links = {m.group(1): m.group(0) for m in re.finditer(r'<link id="([^"]+)"[^>]*>', html)}
        self.assertIn('data-cg-href="https://www.googletagmanager.com/x.css"', links["l-css"])
        self.assertIn('data-cg-href="https://www.facebook.com/tr?id=6"', links["l-icon"])
        self.assertNotIn(" href=", links["l-css"] + links["l-icon"])
        self.assertEqual(links["l-canonical"], '<link id="l-canonical" rel="canonical" href="https://www.googletagmanager.com/">')
        # no risk lists here: the evil.example URLs are not trackers either, so all else is as the origin wrote it
        for ident in ("st-clean", "st-evil", "st-escaped", "st-import"):
            self.assertNotIn("data-cg-", tags[ident])
            self.assertNotIn("text/plain", tags[ident])
        self.assertIn('<div id="sa-evil" style="background-image:url(https://img.evil.example/s.png)">', html)
        # with consent, nothing is touched
        token = self.consent({"all": True})
        html = curl(self.gw.url("/__origin/html?file=pages/css.html"), cookie=token).text
        self.assertNotIn("data-cg-", html.replace("data-cg-r=", ""))
        self.assertIn("<p id=\"sa-tracker\" style=\"background:url('//www.facebook.com/tr?id=8&amp;ev=PageView')\">", html)

    def test_link_header_preload_of_a_tracker_dropped_until_consent(self):
        link = "<%s>; rel=preload; as=script, </app.css>; rel=preload; as=style" % GTAG
        url = self.gw.url("/__origin/html?file=pages/css.html&h=" + urllib.parse.quote("Link:" + link))
        r = curl(url)
        self.assertEqual([v for h, v in r.headers if h.lower() == "link"], ["</app.css>; rel=preload; as=style"])
        r = curl(url, cookie=self.consent({"all": True}))
        self.assertEqual([v for h, v in r.headers if h.lower() == "link"], [link], "with consent the header is untouched")

    def test_link_headers_of_answers_that_are_no_page(self):
        # Chromium preloads what a Link header names on any document it shows, an image, a JSON or a text file opened
        # directly, not only on HTML pages: such an answer's preload of a tracker went out as it came (a header set for
        # the whole site, say); and on a page passed through unread (an encoding the rewriter cannot read)
        link = "<%s>; rel=preload; as=script, </app.css>; rel=preload; as=style" % GTAG
        for q in ("h=Content-Type:application/json", "h=Content-Type:image/gif", "h=Content-Type:text/plain",
                  "notype=1", "h=Content-Type:application/json&status=404"):
            for head in (False, True):
                r = curl(self.gw.url("/__origin/html?file=pages/css.html&%s&h=%s" % (q, urllib.parse.quote("Link:" + link))),
                         head=head)
                self.assertEqual(r.header_all("Link"), ["</app.css>; rel=preload; as=style"], (q, head))
        # a HEAD of a page gets the header its GET gets (a cache may update a stored GET from it)
        h = curl(self.gw.url("/__origin/html?file=pages/css.html&h=" + urllib.parse.quote("Link:" + link)), head=True)
        self.assertEqual(h.header_all("Link"), ["</app.css>; rel=preload; as=style"])
        page = "/__origin/encoded-html?h=" + urllib.parse.quote("Link:" + link)
        r = curl(self.gw.url(page), headers=["Accept-Encoding: br", "Sec-Fetch-Dest: script"])  # br kept: passed unread
        self.assertEqual(r.header("Content-Encoding"), "br")
        self.assertEqual(r.header_all("Link"), ["</app.css>; rel=preload; as=style"])
        r = curl(self.gw.url("/__origin/headers?h=Content-Type:application/json&h=" + urllib.parse.quote("Link:" + link)),
                 cookie=self.consent({"all": True}))
        self.assertEqual(r.header_all("Link"), [link], "with consent the header is untouched")
        # the header then follows the visitor's choice, as a page does: private, Vary: cookie, no origin validators (a
        # copy kept with the tracker's preload must not come back after a withdrawal, nor go to another visitor)
        cached = "/__origin/headers?h=Content-Type:image/gif&h=Cache-Control:public,max-age=600&h=ETag:%22v1%22&h="
        r = curl(self.gw.url(cached + urllib.parse.quote("Link:" + link)))
        self.assertEqual((r.header_all("Cache-Control"), r.header("ETag")), (["max-age=600, private"], None))
        self.assertIn("cookie", [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")])
        r = curl(self.gw.url(cached + urllib.parse.quote("Link:</app.css>; rel=preload; as=style")))
        self.assertEqual((r.header_all("Cache-Control"), r.header("ETag"), r.header_all("Vary")),
                         (["public,max-age=600"], '"v1"', []), "a header naming no tracker is the same for everyone")

    def test_inline_loader_after_many_urls_made_inert(self):
        # 40 harmless URLs before the tracker loader: the script is still read far enough to find it
        html = curl(self.gw.url("/__origin/html?file=pages/inline-many.html")).text
        tag = re.search(r'<script id="many"[^>]*>', html).group(0)
        self.assertIn('type="text/plain"', tag)
        self.assertIn('data-cg-category="', tag)

    def test_loader_after_a_long_inline_script_or_style_made_inert(self):
        # 200 KB of comment before the tracker loader (script) and the tracker URL (style): read whole, not only the
        # first 64 KB the rewriter holds for every page
        html = curl(self.gw.url("/__origin/html?file=pages/long-inline.html&pad=200000")).text
        for ident in ("long-loader", "long-style"):
            tag = re.search(r'<(?:script|style) id="%s"[^>]*>' % ident, html).group(0)
            self.assertIn('type="text/plain"', tag, ident)
            self.assertIn('data-cg-category="', tag, ident)
        self.assertIn('<p id="after">after</p>', html)

    def test_style_sheet_in_several_reads_is_the_visitors_too(self):
        """A sheet that comes in more than one read is held whole, and its headers go out with it: check_sheet sets its
        Cache-Control and Vary at the end. (h2o 2.2.5's h2o_ostream_send_next with no buffers while in progress only
        schedules proceed; an ostream that passed the empty send on to the protocol would send the headers with the first
        read, without them.)"""
        sheet = "/__origin/html?file=sheets/trackers.css&ctype=text/css&split_ms=300&h=Cache-Control:max-age%3D60"
        for http in ("1.1", "h2c"):
            r = curl(self.gw.url(sheet), http=http)
            self.assertEqual(r.status, 200, r)
            self.assertIn("about:invalid#", r.text)
            self.assertIn("cookie", (r.header("Vary") or "").lower(), (http, r.headers))
            self.assertEqual(r.header_all("Cache-Control"), ["no-store"], (http, "not kept for another choice"))

    def test_trackers_in_a_style_sheet_the_site_serves(self):
        # the site's own .css naming trackers: their URLs inert until granted (about:invalid, same length), and the
        # sheet the visitor's as a rewritten page is (Vary: cookie, no origin validators); a sheet without trackers
        # keeps its validators and is not made to vary
        css_type = "&h=" + urllib.parse.quote("Content-Type:text/css")
        sheet = "/__origin/html?file=sheets/trackers.css&validators=1&h=Cache-Control:max-age%3D60" + css_type
        direct = curl(self.origin.url + sheet)
        fb, gtm = "https://www.facebook.com/tr?id=9&ev=PageView", "https://www.googletagmanager.com/a.gif"

        def inert(u):
            return "about:invalid#" + "x" * (len(u) - 14)
        r = curl(self.gw.url(sheet))
        self.assertEqual(r.text, direct.text.replace(fb, inert(fb)).replace(gtm, inert(gtm)))
        self.assertIsNone(r.header("ETag"))
        self.assertIn("cookie", (r.header("Vary") or "").lower())
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"], "not kept for another choice")
        marketing_only = self.consent({"categories": {"marketing": True}})
        r = curl(self.gw.url(sheet), cookie=marketing_only)
        self.assertEqual(r.text, direct.text.replace(fb, inert(fb)).replace(gtm, inert(gtm)),
                         "both are analytics (EasyPrivacy): marketing alone releases neither")
        analytics_only = self.consent({"categories": {"analytics": True}})
        r = curl(self.gw.url(sheet), cookie=analytics_only)
        self.assertEqual(r.body, direct.body, "analytics granted: both stay")
        everything = self.consent({"all": True})
        r = curl(self.gw.url(sheet), cookie=everything)
        self.assertEqual(r.body, direct.body)
        self.assertIsNone(r.header("ETag"), "the sheet still depends on the choice")
        self.assertIn("cookie", (r.header("Vary") or "").lower())
        plain = "/__origin/html?file=sheets/escaped.css&validators=1&h=Cache-Control:max-age%3D60" + css_type
        r = curl(self.gw.url(plain))
        self.assertEqual(r.header("Cache-Control"), "max-age=60")
        self.assertEqual(r.body, curl(self.origin.url + plain).body)
        self.assertIsNotNone(r.header("ETag"))
        self.assertNotIn("cookie", (r.header("Vary") or "").lower())

    def test_script_in_svg_title_after_unquoted_slash_made_inert(self):
        # "<svg a=/>" is not self-closing: browsers run the script in its <title>, so the rewriter must see it too
        html = curl(self.gw.url("/__origin/html?file=pages/svg-title.html")).text
        tag = re.search(r'<script id="in-svg-title"[^>]*>', html).group(0)
        self.assertIn('type="text/plain"', tag)
        self.assertIn('data-cg-src="https://www.googletagmanager.com/gtag/js?id=G-SVG"', tag)

    def test_pixels_after_html_style_in_svg_and_math_made_inert(self):
        # <font color> breaks out of svg and annotation-xml encoding="text/html" reads HTML: their <style> is raw text,
        # so the "<!--" in it hides nothing from a browser, which loads the pixel after it (Chromium builds both <img>)
        html = curl(self.gw.url("/__origin/html?file=pages/foreign-html.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<img id="([^"]+)"[^>]*>', html)}
        for ident in ("font-pixel", "ann-pixel"):
            self.assertIn("data-cg-src=", tags[ident], tags[ident])
            self.assertNotIn(" src=", tags[ident])
        self.assertIn('<p id="after">after</p>', html)

    def test_pixels_after_svg_cdata_made_inert(self):
        # a CDATA section in svg ends at "]]>" (Chromium builds and loads the <img> after </svg>): a "<!--" or a quote in
        # it must not hide the pixel
        r = curl(self.gw.url("/__origin/html?file=pages/svg-cdata.html"))
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<img id="([^"]+)"[^>]*>', r.text)}
        for ident in ("after-cdata", "after-quote"):
            self.assertIn("data-cg-src=", tags[ident], tags[ident])
            self.assertNotIn(" src=", tags[ident])
        self.assertIn("<style nonce=", r.text, "the svg style sheet is the page's: it gets the nonce")
        self.assertIn("<![CDATA[ .a > .b { fill: #c00 } ]]></style>", r.text, "its section passes as it is")
        self.assertIn('<p id="after">after</p>', r.text)

    def test_scripts_in_svg_read_for_loaders(self):
        # an inline <script> in <svg> runs (Chromium), its content read as markup: character references count, a comment
        # or a tag in it hides text from a reading and a tag may break out of the <svg> and load
        html = curl(self.gw.url("/__origin/html?file=pages/svg-script.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<script id="([^"]+)"[^>]*>', html)}
        for ident in ("svg-fbq", "svg-fbq-refs"):
            self.assertIn('type="text/plain"', tags[ident], tags[ident])
            self.assertIn('data-cg-category="marketing"', tags[ident], tags[ident])
        self.assertIn("'https&colon;&sol;&sol;connect&period;facebook&period;net/en_US/fbevents&period;js'&#x29;;", html,
                      "the content passes as written")
        # not read whole: removed up to its end tag, or up to the tag that breaks out, which is read as any
        self.assertNotIn("svg-fbq-split", html)
        self.assertNotIn("connect.face<!--", html)
        self.assertNotIn("svg-break", tags)
        self.assertEqual(html.count("<!-- consentgate: removed an svg script it could not read whole -->"), 2)
        pixel = re.search(r'<img id="svg-break-pixel"[^>]*>', html).group(0)
        self.assertIn("data-cg-src=", pixel)
        self.assertNotIn(" src=", pixel)
        # a harmless one passes (with the page's nonce, as every script), the same text: its CDATA section's '<' written
        # so that Chromium's preload scanner, which reads the script as raw text, finds no "</script" in it
        self.assertRegex(tags["svg-plain"], r'^<script id="svg-plain" nonce="[^"]+">$')
        self.assertIn("<![CDATA[ if (1 ]]>&lt;<![CDATA[ 2 && document.body) document.body.setAttribute('data-svg-ran', '1'); ]]>"
                      "</script></svg>", html)
        self.assertIn('<p id="after">after</p>', html)

    def test_scripts_of_every_javascript_type_read_for_loaders(self):
        # a script runs when its type (blanks stripped, any case) is a JavaScript MIME type: text/ecmascript (an SVG
        # script's usual one), text/jscript, ... too, not only text/javascript; a data block (JSON-LD) does not.
        # Chromium's blanks are its StripWhiteSpace(): a vertical tab too, and Unicode's (U+3000, U+2003, ...)
        html = curl(self.gw.url("/__origin/html?file=pages/script-types.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<script id="([^"]+)"[^>]*>', html)}
        for ident, typ in (("ecma", " Text/ECMAScript "), ("jscript", "text/jscript"), ("svg-ecma", "application/ecmascript"),
                           ("vt", "\x0btext/javascript"), ("ideo", "\u3000text/javascript\u2003")):
            self.assertIn('type="text/plain"', tags[ident], tags[ident])
            self.assertIn('data-cg-type="%s"' % typ, tags[ident], tags[ident])
        self.assertRegex(tags["data"], r'^<script id="data" type="application/ld\+json" nonce="[^"]+">$')

    def test_tracker_loaders_in_event_handlers_made_inert(self):
        # an event handler attribute is a script Chromium runs (under the default report-only CSP): one that loads a
        # tracker is renamed data-cg-on… with its category, as an inline script is made inert; one that loads nothing stays
        html = curl(self.gw.url("/__origin/html?file=pages/event-handlers.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<(?:body|img|a|div) id="([^"]+)"[^>]*>', html)}
        for ident, name in (("body", "onload"), ("loader", "onerror"), ("assign", "OnError"), ("refs", "onmouseover")):
            self.assertIn(' data-cg-%s="' % name, tags[ident], tags[ident])
            self.assertNotRegex(tags[ident], r'\s%s=' % name, tags[ident])
            self.assertRegex(tags[ident], r'data-cg-category="(analytics|marketing)"', tags[ident])
        self.assertIn(' onclick="go()"', tags["refs"], "a handler loading nothing keeps its name")
        self.assertEqual(tags["plain"], '<div id="plain" onclick="document.body.classList.toggle(\'open\')">')
        # a data-cg-on… the page wrote itself is dropped: the banner would make it a handler on an element made inert
        self.assertIn('data-cg-src="https://www.facebook.com/tr?id=3"', tags["ugc"])
        self.assertNotRegex(tags["ugc"], r"(?i)data-cg-on", tags["ugc"])
        self.assertEqual(tags["ugc-plain"], '<img id="ugc-plain" src="/img/c.png">')
        self.assertIn('<p id="after">after</p>', html)

    def test_pixel_in_mglyph_style_made_inert(self):
        # <math><mi><mglyph><style>: the style is MathML's, not raw text; Chromium builds and loads the <img> in it
        html = curl(self.gw.url("/__origin/html?file=pages/mglyph.html")).text
        tag = re.search(r'<img id="mglyph-pixel"[^>]*>', html).group(0)
        self.assertIn("data-cg-src=", tag)
        self.assertNotIn(" src=", tag)
        self.assertIn('<p id="after">after</p>', html)

    def test_pixels_after_end_tags_ignored_in_svg_and_math_made_inert(self):
        # with an HTML element open at an integration point, "</svg>", "</math>" and "</foreignObject>" are ignored, a
        # "<![CDATA[" is a bogus comment and an <mglyph> is HTML's: Chromium builds and loads each pixel after them
        html = curl(self.gw.url("/__origin/html?file=pages/foreign-open.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<img id="([^"]+)"[^>]*>', html)}
        for ident in ("svg-end", "math-end", "cdata-bogus", "mglyph-html"):
            self.assertIn("data-cg-src=", tags[ident], tags[ident])
            self.assertNotIn(" src=", tags[ident])
        self.assertIn('<p id="after">after</p>', html)

    def test_tracker_urls_checked_as_browsers_request_them(self):
        # the lists name the URL a browser requests: a default port, dot segments, an escaped host letter or a missing
        # path do not make a listed URL another one (Chromium loads https://www.facebook.com/tr?id=1 for each)
        html = curl(self.gw.url("/__origin/html?file=pages/url-forms.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<(?:img|link) id="([^"]+)"[^>]*>', html)}
        for ident in ("plain", "port", "port0", "http80", "dotdot", "dot", "escdot", "eschost", "trail", "pc"):
            self.assertRegex(tags[ident], r'data-cg-(?:src|href)=', "made inert: " + tags[ident])
            self.assertNotRegex(tags[ident], r'\s(?:src|href)=', tags[ident])
            self.assertIn('data-cg-category="analytics"', tags[ident])
        self.assertIn('data-cg-src="https://www.facebook.com:443/tr?id=1"', tags["port"], "the URL is kept as written")
        self.assertNotIn("data-cg-", tags["ok"])
        for ident in ("fullwidth", "fwdot", "ideodot", "ideodot-pct"):  # hosts beyond ASCII, mapped as browsers map them
            tag = re.search(r'<script id="%s"[^>]*>' % ident, html).group(0)
            self.assertIn('type="text/plain"', tag, ident)
            self.assertIn('data-cg-category="analytics"', tag, ident)
        frag = re.search(r'<script id="frag"[^>]*>', html).group(0)  # the fragment stays in the browser: not in the URL asked about
        self.assertIn('data-cg-src="https://cdn.example.net/api/cmp_tracker#x"', frag)
        self.assertIn('type="text/plain"', frag)

    def test_srcset_candidates_are_checked(self):
        html = curl(self.gw.url("/__origin/html?file=pages/srcset.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<(?:img|source) id="([^"]+)"[^>]*>', html)}
        for ident in ("ss-only", "ss-later", "ss-source"):
            self.assertIn("data-cg-srcset=", tags[ident], "a tracker among the candidates makes the element inert: " + tags[ident])
            self.assertNotIn(" srcset=", tags[ident])
            self.assertIn('data-cg-category="analytics"', tags[ident])
        self.assertIn('data-cg-src="/img/ok.png"', tags["ss-later"])
        self.assertIn(' srcset="/img/a.png 1x, /img/b.png 2x"', tags["ss-clean"], "clean candidates pass untouched")
        self.assertIn('src="/img/fallback.png"', tags["ss-pic"])
        links = {m.group(1): m.group(0) for m in re.finditer(r'<link id="([^"]+)"[^>]*>', html)}
        self.assertIn('data-cg-imagesrcset="https://www.facebook.com/tr?id=4&amp;ev=PageView 1x, /img/ok-2x.png 2x"', links["ls-tracker"],
                      "a preload whose imagesrcset names a tracker is inert: " + links["ls-tracker"])
        self.assertIn('data-cg-href="/img/ok.png"', links["ls-tracker"])
        self.assertNotIn(" imagesrcset=", links["ls-tracker"])
        self.assertNotIn(" href=", links["ls-tracker"])
        self.assertNotIn("data-cg-", links["ls-clean"])
        token = self.consent({"all": True})
        html = curl(self.gw.url("/__origin/html?file=pages/srcset.html"), cookie=token).text
        self.assertNotIn("data-cg-category", html, "granted: untouched")

    def test_base_href_is_followed(self):
        html = curl(self.gw.url("/__origin/html?file=pages/base.html")).text
        self.assertLess(html.index('src="/__consent/banner.js"'), html.index("<base "), "the consent UI goes in before <base>")
        tag = [t for t in scripts(html) if "gtag/js" in t]
        self.assertEqual(len(tag), 1, scripts(html))
        self.assertIn('type="text/plain"', tag[0], "a relative tracker URL is read against the base, as the browser reads it")
        self.assertIn("/__go?u=https%3A%2F%2Fwww.googletagmanager.com%2Fabout", html, "a relative link to the base's site is wrapped")

    def test_embedded_media_checked(self):
        html = curl(self.gw.url("/__origin/html?file=pages/media.html")).text
        tags = {m.group(1): m.group(0) for m in re.finditer(r'<\w+ id="([^"]+)"[^>]*>', html)}
        self.assertIn('data-cg-data="https://cdn.example/o?id=1&amp;ev=PageView&amp;x=1"', tags["obj"])
        self.assertNotIn(" data=", tags["obj"])
        self.assertIn("data-cg-poster=", tags["vid"])
        self.assertIn('src="/v.mp4"', tags["vid"], "only the tracker attribute is made inert")
        self.assertIn('src="https://cdn.example/a.mp3"', tags["aud"], "not a tracker: untouched")
        self.assertIn("data-cg-href=", tags["svgimg"], "an SVG image loading a tracker is made inert")
        self.assertNotIn(" href=", tags["svgimg"])
        self.assertIn("data-cg-xlink-href=", tags["svguse"])
        self.assertIn('data-cg-xlink-href="https://cdn.example/f?id=5&amp;ev=PageView&amp;x=1"', tags["fe-trk"], "an SVG filter's image")
        self.assertNotIn(" xlink:href=", tags["fe-trk"])
        token = self.consent({"all": True})
        self.assertNotIn("data-cg-category", curl(self.gw.url("/__origin/html?file=pages/media.html"), cookie=token).text)

    def test_page_cut_inside_a_tag_gets_no_tracker_from_the_banner(self):
        # an origin page that ends inside a tag (cut short, or written so): browsers drop the unfinished tag, and so
        # does the gateway when the banner goes at the page's end; appended to the tag, the banner's markup finished it
        # and the browser loaded the Meta pixel the tag names, which the rewriter never saw as a tag (found by fuzz_html)
        for tail in ('<p>cut</p><img src="https://www.facebook.com/tr?id=1&ev=PageView" alt="',
                     '<p>cut</p><script src="https://connect.facebook.net/en_US/fbevents.js" async'):
            page = "/__origin/html?file=sheets/empty.txt&tail=" + urllib.parse.quote(tail)
            self.assertTrue(curl(self.origin.url + page).text.endswith(tail))
            html = curl(self.gw.url(page)).text
            self.assertNotIn("facebook", html)
            self.assertIn("<p>cut</p>", html)
            self.assertEqual(html.count('src="/__consent/banner.js"'), 1, html)

    def test_page_cut_inside_a_comment_or_raw_text_gets_the_banner_after_closing_it(self):
        # a page that ends inside a comment or a raw-text element's content (or its end tag) had no banner: it would
        # have been commented out, or text of the element. What is open is closed ("-->", the element's end tag), then
        # the banner follows
        def page(tail):
            html = curl(self.gw.url("/__origin/html?file=sheets/empty.txt&tail=" + urllib.parse.quote(tail))).text
            self.assertIn("<p>cut</p>", html)
            return html

        for start, content, closed in (("<!--", " a comment never closed", "-->"), ("<!--", " c --", "-->"),
                                       ("<title>", "Cut", "</title>"), ("<style>", "p{color:red}</sty", "</style>"),
                                       ("<textarea>", "a</textarea ", "</textarea>"), ("<noscript>", "please", "</noscript>"),
                                       ("<iframe>", "frames", "</iframe>"), ("<xmp>", "x", "</xmp>"),
                                       ("<noembed>", "x", "</noembed>"), ("<noframes>", "x", "</noframes>")):
            html = page("<p>cut</p>" + start + content)
            self.assertEqual(html.count('src="/__consent/banner.js"'), 1, html)
            before = html[:html.index('<link rel="stylesheet" href="/__consent/banner.css">')]
            if content.endswith("</textarea "):
                content = "a"  # (a cut end tag: the whole one in its place)
            self.assertTrue(before.startswith("<p>cut</p>" + start.rstrip(">")), html)
            self.assertTrue(before.endswith(content + closed), html)
        # never a script: one cut short does not run, one closed would run its truncated code, so no banner there; its
        # cut end tag too (before, it was dropped, and the banner's own "</script>" closed the truncated script)
        for tail in ('<script>track("', "<script>track()</script "):
            html = page("<p>cut</p>" + tail)
            self.assertTrue(html.endswith(tail[len("<script>"):]), html)
            self.assertNotIn("banner.js", html)

    def test_a_dropped_duplicate_does_not_join_a_url_to_the_value_before_it(self):
        # the nonce set on a script drops the tag's later nonce attributes; "//…" after the one dropped stuck to the
        # unquoted src before it: the policy read src "https:" (no host, no tracker), the browser the gtag loader, which
        # ran with the response's nonce (found by fuzz_html)
        tail = '<p>x</p><script nonce src=https: nonce//www.googletagmanager.com/gtag/js?id=G-1></script>'
        page = "/__origin/html?file=sheets/empty.txt&tail=" + urllib.parse.quote(tail)
        html = curl(self.gw.url(page)).text
        tag = re.search(r"<script\b[^>]*googletagmanager[^>]*>", html).group(0)
        self.assertNotIn("src=https://www.googletagmanager.com", tag)
        self.assertRegex(tag, r'^<script nonce="[^"]+" src=https: //www\.googletagmanager\.com/gtag/js\?id=G-1>$')

    def test_noscript_read_as_browsers_that_run_scripts_read_it(self):
        html = curl(self.gw.url("/__origin/html?file=pages/noscript.html")).text
        # "<noscript><script></noscript>" cannot hide the script after it
        tag = [t for t in scripts(html) if "G-NS" in t]
        self.assertEqual(len(tag), 1, html)
        self.assertIn('type="text/plain"', tag[0])
        # for browsers without scripts, a noscript that loads a refused tracker goes; one that does not, stays
        self.assertNotIn('id="pixel"', html)
        self.assertIn("removed a noscript element loading a tracker", html)
        self.assertIn('<noscript id="plain"><p>Please turn on JavaScript.</p></noscript>', html)
        token = self.consent({"all": True})
        after = curl(self.gw.url("/__origin/html?file=pages/noscript.html"), cookie=token).text
        self.assertIn('<noscript id="pixel"><img height="1" width="1" src="https://www.facebook.com/tr?id=1', after)

    def assert_read_as_utf8(self, r, body, what):
        """a UTF-16 page the rewriter decoded: UTF-8 with its tracker made inert and the banner in"""
        text = body.decode("utf-8")  # raises on anything but well-formed UTF-8
        self.assertIn("/__consent/banner.js", text, what)
        pixel = re.search(r'<img id="pixel"[^>]*>', text)
        self.assertIsNotNone(pixel, what)
        self.assertNotIn(' src="https://www.facebook.com/', pixel.group(0), what)
        self.assertIn("data-cg-category=", pixel.group(0), what)
        return text

    def test_utf16_charset_page_is_read_as_utf8(self):
        # a page a browser decodes as UTF-16 for its Content-Type (no byte order mark) has no ASCII bytes for its tags:
        # it is decoded first, rewritten, and served as UTF-8 (a browser submits a UTF-16 page's forms as UTF-8 anyway)
        for name, ctype in (("utf16le", "text/html;%20charset=%22UTF-16%22"), ("utf16le", "text/html;charset=utf-16le"),
                            ("utf16le", "text/html;%20charset=csUnicode"), ("utf16be", "text/html;%20charset=utf-16be"),
                            ("utf16be", "text/html;%20charset=unicodeFFFE")):  # the Encoding Standard's names for them
            before = metric(self.gw, "cg_html_unreadable_total")
            r = curl(self.gw.url("/__origin/html?file=pages/%s.html&h=Content-Type:%s" % (name, ctype)))
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8", ctype)
            text = self.assert_read_as_utf8(r, r.body, ctype)
            self.assertIn("&#233; \u00e9 \u4e2d\u6587 \U0001f600</p>", text, ctype)  # every plane decoded
            self.assertFalse(text.startswith("\ufeff"), ctype)
            self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before, ctype)
            head = curl(self.gw.url("/__origin/html?file=pages/%s.html&h=Content-Type:%s" % (name, ctype)), method="HEAD")
            self.assertEqual(head.header("Content-Type"), "text/html; charset=utf-8", "HEAD " + ctype)  # as its GET
        # labels browsers do not know (UTF-32 is not in the Encoding Standard): ignored, the page read as ASCII-compatible
        # bytes by the browser and so by the rewriter (they turned rewriting off, and Chromium loaded the page's pixel)
        for label in ("utf-32", "UTF-32LE", "utf-16x"):
            r = curl(self.gw.url("/__origin/html?file=pages/iso-2022-jp.html&h=Content-Type:text/html;%20charset=" + label))
            self.assertIn(b"banner.js", r.body, label)
        # an XHTML page in UTF-16 is passed on unread: its XML declaration may name UTF-16, which UTF-8 would contradict
        with open(os.path.join(ROOT, "tests", "data", "pages", "utf16le.html"), "rb") as f:
            page = f.read()
        before = metric(self.gw, "cg_html_unreadable_total")
        r = curl(self.gw.url("/__origin/html?file=pages/utf16le.html&h=Content-Type:application/xhtml%2Bxml;%20charset=utf-16"))
        self.assertEqual(r.body, page)
        self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before + 1)

    def test_charset_is_read_from_its_parameter(self):
        # "charset=" inside another parameter's name or quoted value is not the page's charset: browsers read such a page
        # as ASCII-compatible bytes and ran its trackers, while the rewriter took it for ISO-2022-JP and passed it unread
        page = "/__origin/html?file=pages/iso-2022-jp.html&h=Content-Type:"
        for ctype in ("text/html;%20x-charset=iso-2022-jp", 'text/html;%20q="a;charset=iso-2022-jp"',
                      "text/html;%20charset=iso-2022-jp;%20charset=utf-8"):
            r = curl(self.gw.url(page + ctype))
            self.assertIn(b"banner.js", r.body, ctype)
        # and a charset after more than 128 bytes of other parameters is still the page's
        before = metric(self.gw, "cg_html_unreadable_total")
        r = curl(self.gw.url(page + "text/html;%20a=" + "x" * 150 + ";%20charset=ISO-2022-JP"))
        self.assertNotIn(b"banner.js", r.body)
        self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before + 1)
        # counted as what it is: a character encoding, which the counter's description said nothing of
        self.assertIn("ISO-2022-JP", metric_help(self.gw, "cg_html_unreadable_total"))

    def test_utf16_bom_page_is_read_as_utf8(self):
        # a UTF-16 byte order mark wins over the Content-Type's charset=utf-8 in browsers (Chromium decodes the page as
        # UTF-16): the page is decoded, rewritten and sent with a UTF-8 mark, which wins in the browser as the UTF-16 one
        # did, whatever the Content-Type says; plain and gzip, whole and in one-byte pieces
        for name in ("utf16le-bom", "utf16be-bom"):
            for path in ("/__origin/html?file=pages/%s.html", "/__origin/gzip-html?file=pages/%s.html",
                         "/__origin/html?file=pages/%s.html&split_ms=100&split_at=1",   # the mark in two reads
                         "/__origin/html?file=pages/%s.html&split_ms=100&split_at=7"):  # a code unit in two

                before = metric(self.gw, "cg_html_unreadable_total")
                r = curl(self.gw.url(path % name), headers=["Accept-Encoding: gzip"])
                body = gzip.decompress(r.body) if r.header("Content-Encoding") == "gzip" else r.body
                self.assertTrue(body.startswith(b"\xef\xbb\xbf<!DOCTYPE html>"), (path % name, body[:20]))
                self.assert_read_as_utf8(r, body[3:], path % name)
                self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before)
        # a UTF-8 mark wins over a UTF-16 charset: the page is read as the UTF-8 it is
        r = curl(self.gw.url("/__origin/html?file=pages/meta-pixel.html&bom=utf8&h=Content-Type:text/html;%20charset=utf-16"))
        self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"), r.body[:20])
        self.assertIn(b"banner.js", r.body)
        # an XHTML page with a UTF-16 mark is passed on unread (its declaration may name UTF-16)
        with open(os.path.join(ROOT, "tests", "data", "pages", "utf16le-bom.html"), "rb") as f:
            page = f.read()
        r = curl(self.gw.url("/__origin/html?file=pages/utf16le-bom.html&h=Content-Type:application/xhtml%2Bxml"))
        self.assertEqual(r.body, page)

    def test_iso_2022_jp_page_passes_untouched(self):
        # after ESC $ B a browser reads two-byte characters: the "<!--" there is text and the pixel after ESC ( B loads
        # (Chromium), while the tokenizer, reading ASCII bytes, took it for a comment hiding the pixel
        with open(os.path.join(ROOT, "tests", "data", "pages", "iso-2022-jp.html"), "rb") as f:
            page = f.read()
        for ctype in ("text/html;%20charset=iso-2022-jp", "text/html;%20charset=%22ISO-2022-JP%22", "text/html;charset=csISO2022JP"):
            before = metric(self.gw, "cg_html_unreadable_total")
            r = curl(self.gw.url("/__origin/html?file=pages/iso-2022-jp.html&h=Content-Type:" + ctype))
            self.assertEqual(r.body, page, ctype)
            self.assertEqual(metric(self.gw, "cg_html_unreadable_total"), before + 1)
        r = curl(self.gw.url("/__origin/html?file=pages/iso-2022-jp.html&h=Content-Type:text/html;%20charset=iso-2022-jp-2"))
        self.assertIn(b"banner.js", r.body, "not a label browsers know: read as any page")

    def test_xhtml_stays_well_formed(self):
        import xml.dom.minidom
        r = curl(self.gw.url("/__origin/html?file=pages/page.xhtml&h=" + "Content-Type:application/xhtml%2Bxml"))
        self.assertEqual(r.header("Content-Type"), "application/xhtml+xml")
        doc = xml.dom.minidom.parseString(r.body)  # an XML parser, as browsers use for this type: raises if not well-formed
        scripts_ = doc.getElementsByTagName("script")
        self.assertTrue(any(s.getAttribute("src") == "/__consent/banner.js" for s in scripts_), r.text)
        self.assertTrue(any(s.getAttribute("type") == "text/plain" and "gtag" in s.getAttribute("data-cg-src") for s in scripts_))

    def test_xhtml_read_as_xml(self):
        """An XHTML page is read as Chromium's XML parser reads it. As HTML, "<script src=a/>" made the rest of the
        page that script's text, and "<![CDATA[" a bogus comment up to its first '>' (a "<!--" after it hid what
        followed); "h:script" and "l:href" were names the rewriter did not know: each tracker after them went out live."""
        gtag = '<script src="https://www.googletagmanager.com/gtag/js?id=G-%s"></script>'
        tail = ('<script src="/app.js"/>' + gtag % "A" +
                '<![CDATA[ 1 > 0 <!-- ]]>' + gtag % "B" + '<p>--></p>'
                '<h:script xmlns:h="http://www.w3.org/1999/xhtml" src="https://www.googletagmanager.com/gtag/js?id=G-C"/>'
                '<svg xmlns="http://www.w3.org/2000/svg" xmlns:l="http://www.w3.org/1999/xlink">'
                '<script l:href="https://www.googletagmanager.com/gtag/js?id=G-D"/></svg>')
        r = curl(self.gw.url("/__origin/html?file=pages/xhtml-start.xhtml&tail=" + urllib.parse.quote(tail + "</body></html>") +
                             "&h=Content-Type:application/xhtml%2Bxml"))
        import xml.dom.minidom
        xml.dom.minidom.parseString(r.body)  # still well-formed
        for ident in "ABCD":
            m = re.search(r'<[^<>]*gtag/js\?id=G-%s[^<>]*>' % ident, r.text)
            self.assertIsNotNone(m, (ident, r.text[-1500:]))
            self.assertIn('type="text/plain"', m.group(0), ident)
            self.assertNotRegex(m.group(0), r'\s(src|l:href)="', ident)

    def test_xml_stylesheet_of_a_tracker_made_inert(self):
        """<?xml-stylesheet href?> is checked as <link rel=stylesheet> is: one a tracker list names is made inert (its
        href renamed); the page stays well-formed."""
        import xml.dom.minidom
        tail = '<?xml-stylesheet type="text/css" href="https://www.googletagmanager.com/gtm.css"?><p>x</p></body></html>'
        r = curl(self.gw.url("/__origin/html?file=pages/xhtml-start.xhtml&tail=" + urllib.parse.quote(tail) +
                             "&h=Content-Type:application/xhtml%2Bxml"))
        m = re.search(r'<\?xml-stylesheet [^>]*>', r.text)
        self.assertIsNotNone(m, r.text[-800:])
        self.assertIn(' data-cg-href="https://www.googletagmanager.com/gtm.css"', m.group(0))
        self.assertNotRegex(m.group(0), r'\shref=')
        xml.dom.minidom.parseString(r.body)

    def test_svg_file_read_as_a_document_not_as_an_image(self):
        """An SVG file runs its scripts when a visitor opens it (or a page frames or embeds it): image/svg+xml passed
        unread, so its tracker ran before consent. It is read as XML now (nothing injected: the banner is HTML) unless
        the request is for an image (Sec-Fetch-Dest: image: an <img> or a CSS background runs no script), which gets
        the origin's bytes; both say Vary: sec-fetch-dest, so that no cache gives one's copy for the other."""
        import xml.dom.minidom
        url = self.gw.url("/__origin/html?file=pages/tracker.svg&h=Content-Type:image/svg%2Bxml")
        with open(os.path.join(os.path.dirname(__file__), "..", "data", "pages", "tracker.svg"), "rb") as f:
            origin = f.read()
        for dest in (None, "document", "iframe", "embed", "object"):
            r = curl(url, headers=["Sec-Fetch-Dest: " + dest] if dest else [])
            self.assertEqual(r.status, 200)
            self.assertIn("sec-fetch-dest", (r.header("Vary") or "").lower(), dest)
            doc = xml.dom.minidom.parseString(r.body)  # still well-formed
            script = doc.getElementsByTagName("script")[0]
            self.assertEqual(script.getAttribute("type"), "text/plain", (dest, r.text))
            self.assertFalse(script.hasAttribute("xlink:href"), dest)
            self.assertIn("gtag/js?id=G-SVG", script.getAttribute("data-cg-xlink-href"))
            self.assertNotIn(b"banner.js", r.body, dest)
            self.assertIn(b'<![CDATA[ if (1 < 2) document.title = "own"; ]]>', r.body, dest)
        r = curl(url, headers=["Sec-Fetch-Dest: image"])
        self.assertEqual(r.body, origin, "an SVG as an image passes as it came")
        self.assertIn("sec-fetch-dest", (r.header("Vary") or "").lower())

    def test_plain_xml_read_when_opened_as_a_document(self):
        """text/xml and application/xml with XHTML elements run their scripts when a visitor opens them: read as XML
        (nothing added) when the request says it opens a document (Sec-Fetch-Dest document, iframe, frame, embed,
        object); for a script's fetch, or a program that says nothing, the origin's bytes. Vary: sec-fetch-dest."""
        gtag = '<script src="https://www.googletagmanager.com/gtag/js?id=G-XML"></script></body></html>'
        with open(os.path.join(os.path.dirname(__file__), "..", "data", "pages", "xhtml-start.xhtml"), "rb") as f:
            origin = f.read() + gtag.encode()
        for ctype in ("text/xml", "application/xml"):
            url = self.gw.url("/__origin/html?file=pages/xhtml-start.xhtml&tail=" + urllib.parse.quote(gtag) + "&h=Content-Type:" + ctype)
            for dest in ("document", "iframe", "frame", "embed", "object"):
                r = curl(url, headers=["Sec-Fetch-Dest: " + dest])
                self.assertRegex(r.text, r'<script [^>]*type="text/plain"[^>]*>', (ctype, dest))
                self.assertNotIn(' src="https://www.googletagmanager.com', r.text, (ctype, dest))
                self.assertNotIn("banner.js", r.text)
                self.assertIn("sec-fetch-dest", (r.header("Vary") or "").lower())
            for headers in ([], ["Sec-Fetch-Dest: empty"], ["Sec-Fetch-Dest: script"]):
                r = curl(url, headers=headers)
                self.assertEqual(r.body, origin, (ctype, headers))
                self.assertIn("sec-fetch-dest", (r.header("Vary") or "").lower())

    def test_html_a_script_fetches_gets_no_consent_ui_at_its_end(self):
        """HTML a page's script fetches (Sec-Fetch-Dest: empty) may be a fragment for the page the visitor already has
        (htmx, jQuery's .load()): read as a page is (trackers inert, links shimmed) but without the consent UI at its
        end, which the script would put into that page as a second banner script and state (found in front of real
        sites: tests/data/pages/fragment.html is an htmx table row). A navigation or a prefetch (Sec-Purpose) of the
        same fragment gets it, also after the fragment was remembered (html.memo_kb), and so does a whole document a
        script fetches (a service worker's app shell, shown later as a page) before its </head>. Every answer says
        Vary: sec-fetch-dest."""
        url = self.gw.url("/__origin/html?file=pages/fragment.html")
        with open(os.path.join(os.path.dirname(__file__), "..", "data", "pages", "fragment.html"), "rb") as f:
            origin = f.read()
        hits = metric(self.gw, "cg_html_memo_hits_total")
        for i in range(10):  # rewritten, then until one is answered from the memo (two worker threads, a memo each)
            if i >= 2 and metric(self.gw, "cg_html_memo_hits_total") > hits:
                break
            r = curl(url, headers=["Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"])
            self.assertEqual(r.status, 200)
            self.assertNotIn(b"/__consent/banner", r.body)
            self.assertNotIn(b"cg-state", r.body)
            self.assertTrue(r.body.rstrip().endswith(b"</tr>"), r.body[-200:])
            self.assertIn(b'href="/__go?u=https%3A%2F%2Fwww.example.org%2Ftrack%2F7', r.body)
            self.assertRegex(r.text, r'<script data-cg-src="https://www.google-analytics.com/analytics.js" type="text/plain"')
            self.assertIn("sec-fetch-dest", [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")])
        self.assertGreater(metric(self.gw, "cg_html_memo_hits_total"), hits, "no answer came from the memo")
        for headers in (["Sec-Fetch-Dest: document"], [], ["Sec-Fetch-Dest: empty", "Sec-Purpose: prefetch"]):
            r = curl(url, headers=headers)
            self.assertIn(b"/__consent/banner.js", r.body, headers)
            self.assertIn(b'id="cg-state"', r.body, headers)
            self.assertIn("sec-fetch-dest", [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")], headers)
        r = curl(self.gw.url("/__origin/html?file=pages/links.html"), headers=["Sec-Fetch-Dest: empty"])
        self.assertRegex(r.text, r'<script nonce="[^"]*" type="application/json" id="cg-state">.*</head>')
        r = curl(url, headers=["Sec-Fetch-Dest: empty"], cookie=self.consent({"all": True}))
        self.assertEqual(re.sub(rb' nonce="[^"]*"', b"", r.body), origin.replace(b'href="https://www.example.org/track/7"',
                                                re.search(rb'href="/__go\?[^"]*"', r.body).group(0)),
                         "with consent only the link and the script's nonce differ")

    def test_oversized_active_tags_removed(self):
        # 70 KB tags are read whole (the tokenizer's buffer grows): checked and rewritten as any
        html = curl(self.gw.url("/__origin/html?file=pages/oversized.html&pad=70000")).text
        self.assertRegex(html, r'<script src="https://cdn.example/app.js" data-pad="a{70000}" nonce="[^"]+">')
        self.assertIn('<iframe src="https://frames.example/"', html)
        self.assertIn('id="big-img" src="https://images.example/photo.jpg"', html)
        # past 1 MB they are not read: what loads is removed, not let through unchecked
        before = metric(self.gw, "cg_html_oversized_removed_total")
        html = curl(self.gw.url("/__origin/html?file=pages/oversized.html&pad=1100000")).text
        self.assertNotIn("cdn.example/app.js", html, "a script tag too long to check is not let through")
        self.assertNotIn("frames.example", html)
        self.assertNotIn("fallback", html, "the removed iframe's content goes with it")
        self.assertNotIn("images.example", html, "nor an image")
        self.assertIn('<p id="big-div" data-pad="a', html, "a long tag that loads nothing passes as it is")
        self.assertIn('<p id="after">after</p>', html)
        self.assertRegex(html, r'<script src="/app.js" nonce="[^"]+">', "the rest of the page is rewritten as usual")
        self.assertEqual(metric(self.gw, "cg_html_oversized_removed_total"), before + 3)
        # the counter's description names the limit seen here (70 KB read, 1.1 MB removed), not the 64 KB it said
        self.assertIn("a start tag over 1 MB", metric_help(self.gw, "cg_html_oversized_removed_total"))

    def test_malformed_markup_passes_through(self):
        with open(os.path.join(ROOT, "tests", "data", "pages", "malformed.html"), "rb") as f:
            original = f.read()
        r = curl(self.gw.url("/__origin/html?file=pages/malformed.html"))
        # nothing to rewrite in it: only the banner, injected at the end (no </head>, no </body>)
        body = r.body
        self.assertTrue(body.startswith(original), body[:300])
        self.assertIn(b"/__consent/banner.js", body[len(original):])

    def test_rewritten_page_varies_on_cookie_and_has_no_origin_validators(self):
        # the page is this visitor's consent state: caches keep it apart by cookie, and the origin's validators
        # (which name the origin's bytes) would let a 304 bring back a page rewritten for another choice
        page = "/__origin/html?file=pages/mixed-trackers.html&validators=1&h=Cache-Control:max-age%3D600&h=Vary:Accept-Language"
        direct = curl(self.origin.url + page)
        self.assertIsNotNone(direct.header("ETag"))
        self.assertIsNotNone(direct.header("Last-Modified"))
        r = curl(self.gw.url(page))
        self.assertEqual(r.status, 200)
        self.assertIn(b"banner.js", r.body)
        self.assertIsNone(r.header("ETag"))
        self.assertIsNone(r.header("Last-Modified"))
        self.assertEqual(r.header("Cache-Control"), "max-age=600, private", "the origin's caching kept for the browser")
        vary = [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")]
        self.assertIn("cookie", vary)
        self.assertIn("accept-language", vary, "the origin's Vary is kept")
        self.assertEqual(vary.count("cookie"), 1)
        # ... and private: a shared cache that ignores Vary would hand this visitor's page (their id and choice in it,
        # the trackers their consent released) to the next one; "public" and "s-maxage" go, quoted values stay whole
        for given, want in (("public,%20max-age=600,%20s-maxage=3600", "max-age=600, private"),
                            ("no-store", "no-store"), ("private,%20max-age=60", "private, max-age=60"),
                            ("no-cache=%22Set-Cookie,%20X-A%22,%20PUBLIC", 'no-cache="Set-Cookie, X-A", private'),
                            ("private=%22Set-Cookie%22,%20max-age=9", 'private="Set-Cookie", max-age=9, private')):
            p = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&h=Cache-Control:" + given))
            self.assertEqual(p.header_all("Cache-Control"), [want], given)
        self.assertEqual(curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html")).header_all("Cache-Control"),
                         ["private"], "none given: private all the same (a CDN told to cache everything honours it)")
        self.assertEqual(curl(self.gw.url(page), head=True).header("Cache-Control"),
                         "max-age=600, private", "a HEAD as its GET")
        # already varying on everything: nothing added
        star = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&h=Vary:*"))
        self.assertEqual([v.strip() for v in star.header_all("Vary")], ["*"])
        # what is not rewritten keeps the origin's validators, and the origin's 304 passes
        text = curl(self.gw.url("/__origin/headers?h=Content-Type:text/plain&h=ETag:%22t1%22"))
        self.assertEqual(text.header("ETag"), '"t1"')
        self.assertNotIn("cookie", (text.header("Vary") or "").lower())
        # a HEAD of the page gets the headers its GET gets (a cache may update a stored GET from a HEAD)
        h = curl(self.gw.url(page), head=True)
        self.assertEqual(h.status, 200)
        self.assertIsNone(h.header("ETag"))
        self.assertIsNone(h.header("Last-Modified"))
        self.assertIn("cookie", [t.strip().lower() for v in h.header_all("Vary") for t in v.split(",")])
        self.assertIsNone(h.header("Content-Length"), "the origin's length is not the rewritten GET's")
        self.assertIsNone(r.header("Content-Length"))
        for name in ("Content-Security-Policy-Report-Only", "Reporting-Endpoints"):
            self.assertIsNotNone(r.header(name), name)
            self.assertIsNotNone(h.header(name), "the GET has %s, the HEAD must too" % name)
        cond = curl(self.gw.url(page), headers=["If-None-Match: " + direct.header("ETag")])
        self.assertEqual(cond.status, 304, "a browser holding the origin's ETag (cached before the gateway) revalidates")

    def test_error_pages_are_pages(self):
        # a browser renders the page of a 404, a 500, a 201 as any other: the site's template (tag manager and all) runs
        # in it, so it is rewritten as a 200's is; it went out as the origin wrote it, the tracker loading before consent
        for status in (404, 410, 500, 503, 201):
            r = curl(self.gw.url("/__origin/html?file=pages/embeds.html&status=%d" % status))
            self.assertEqual(r.status, status)
            tracker = re.search(r'<iframe id="if-tracker"[^>]*>', r.text).group(0)
            self.assertIn('data-cg-src="https://www.googletagmanager.com/ns.html?id=GTM-ABC"', tracker, status)
            self.assertNotRegex(tracker, r"\ssrc=")
            self.assertIn('src="/__consent/banner.js"', r.text)
            self.assertIn("cookie", [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")])
            self.assertIsNone(r.header("Content-Length"))
            self.assertIsNotNone(r.header("Content-Security-Policy-Report-Only"))
            h = curl(self.gw.url("/__origin/html?file=pages/embeds.html&status=%d" % status), head=True)
            self.assertEqual((h.status, h.header("Content-Length")), (status, None), "a HEAD as its GET")
        # an answer without a body stays one
        self.assertEqual(curl(self.gw.url("/__origin/status/204?h=Content-Type:text/html")).body, b"")
        # a redirect's body is not shown (the browser follows its Location): left as it came, and cacheable as it said
        moved = "/__origin/html?file=pages/embeds.html&status=301&h=Location:/elsewhere&h=Cache-Control:public,max-age=600"
        r = curl(self.gw.url(moved))
        self.assertEqual((r.status, r.header("Location"), r.header_all("Cache-Control")), (301, "/elsewhere", ["public,max-age=600"]))
        self.assertNotIn(b"banner.js", r.body)
        # ... one without a Location is shown, so it is read
        self.assertIn(b"banner.js", curl(self.gw.url("/__origin/html?file=pages/embeds.html&status=300")).body)

    def test_answers_of_no_type_are_sniffed_or_say_nosniff(self):
        # A browser sniffs an answer of no type it can use: one that looks like HTML is a page, and the gateway reads it
        # as one (test_page_without_a_content_type_…); a HEAD (no body to sniff) and any other body say nosniff, so that
        # the browser takes them for nothing that runs (it sniffs XML too)
        for q in ("notype=1", "h=Content-Type:unknown/unknown", "h=Content-Type:application/unknown", "h=Content-Type:*/*",
                  "h=Content-Type:html", "notype=1&status=404"):
            r = curl(self.gw.url("/__origin/html?file=pages/embeds.html&" + q))
            self.assertEqual((r.header("Content-Type"), r.header_all("X-Content-Type-Options")), ("text/html", []), q)
            self.assertNotIn(b'<iframe id="if-tracker" src=', r.body, "read as a page: its tracker frame made inert")
            h = curl(self.gw.url("/__origin/html?file=pages/embeds.html&" + q), head=True)
            self.assertEqual(h.header_all("X-Content-Type-Options"), ["nosniff"], q)
        xml = "/__origin/html?notype=1&file=sheets/empty.txt&tail=" + urllib.parse.quote('<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>')
        r, direct = curl(self.gw.url(xml)), curl(self.origin.url + xml)
        self.assertEqual((r.body, r.header("Content-Type"), r.header_all("X-Content-Type-Options")), (direct.body, None, ["nosniff"]))
        # a type a browser takes as it is: left alone
        for q in ("h=Content-Type:image/gif", "h=Content-Type:text/plain", "h=Content-Type:application/octet-stream"):
            self.assertEqual(curl(self.gw.url("/__origin/html?file=pages/embeds.html&" + q)).header_all("X-Content-Type-Options"), [], q)

    def test_rewritten_page_varies_on_the_language_of_its_consent_ui(self):
        # the page carries the consent UI's words in the visitor's language (the "Privacy choices" button's label, from
        # Accept-Language): a browser that cached it under another language shows the other one (RFC 9110 12.5.5)
        page = "/__origin/html?file=pages/mixed-trackers.html&h=Cache-Control:max-age%3D600"
        for lang, label in (("zh-CN", "\u9690\u79c1\u9009\u9879"), ("en", "Privacy choices")):
            for head in (False, True):
                r = curl(self.gw.url(page), headers=["Accept-Language: " + lang], head=head)
                self.assertEqual(r.status, 200)
                if not head:
                    self.assertIn('"reopen": "%s"' % label, r.text)
                vary = [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")]
                self.assertEqual((vary.count("cookie"), vary.count("accept-language")), (1, 1), (head, r.header_all("Vary")))
        # an origin's own Vary: Accept-Language is not repeated, and Vary: * stays alone
        r = curl(self.gw.url(page + "&h=Vary:Accept-Language"))
        self.assertEqual([t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")].count("accept-language"), 1)
        star = curl(self.gw.url(page + "&h=Vary:*"))
        self.assertEqual([v.strip() for v in star.header_all("Vary")], ["*"])

    def test_non_html_head_and_errors_untouched(self):
        direct = curl(self.origin.url + "/__origin/big?bytes=70000")
        via = curl(self.gw.url("/__origin/big?bytes=70000"))
        self.assertEqual(via.body, direct.body)
        self.assertEqual(via.header("Content-Length"), "70000")
        h = curl(self.gw.url("/"), head=True)
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        js = curl(self.gw.url("/__origin/headers?h=Content-Type:application/javascript"), headers=["Accept-Encoding: gzip"])
        self.assertIsNone(js.header("Content-Encoding"), "non-HTML is never compressed by the gateway")
        nf = curl(self.gw.url("/__origin/status/404"))
        self.assertEqual(nf.status, 404)
        self.assertNotIn(b"banner.js", nf.body)


class DefaultTrackerListsTest(GatewayTestCase):
    """Without a `trackers` key the gateway loads Debian's EasyPrivacy (analytics) and EasyList (marketing) and the shipped
    conf/ad-trackers.txt (marketing): the defaults a site that configures nothing relies on (make deps installs the
    Debian files)."""
    config = {"trackers": None}  # the harness turns the lists off by default: here the key is left out
    DEBIAN = "/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/"

    def test_default_lists_and_their_categories(self):
        with open(self.gw.config_path) as f:
            self.assertNotIn("trackers", json.load(f))
        for name in ("easyprivacy.txt", "easylist.txt"):
            self.assertTrue(os.path.isfile(self.DEBIAN + name), "%s%s is missing: make deps installs it" % (self.DEBIAN, name))
        r = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(r.status, 200)
        lists = r.json()["lists"]
        self.assertEqual([(l["name"], l["category"], os.path.realpath(l["file"])) for l in lists],
                         [("easyprivacy", "analytics", self.DEBIAN + "easyprivacy.txt"),
                          ("easylist", "marketing", self.DEBIAN + "easylist.txt"),
                          ("advertising", "marketing", os.path.join(ROOT, "conf", "ad-trackers.txt")),
                          ("embeds", "marketing", os.path.join(ROOT, "conf", "embeds.txt")),
                          ("analytics-tags", "analytics", os.path.join(ROOT, "conf", "analytics-tags.txt"))])
        for l in lists:
            self.assertTrue(l["readable"], l["name"])
            self.assertGreater(l["loaded"], {"advertising": 20, "embeds": 10, "analytics-tags": 4}.get(l["name"], 10000), l["name"])
        # and they apply: gtag (EasyPrivacy) is analytics, the Meta pixel (EasyPrivacy and ad-trackers) needs marketing too
        html = curl(self.gw.url("/")).text
        tag = [t for t in scripts(html) if "googletagmanager" in t]
        self.assertEqual(len(tag), 1, scripts(html))
        self.assertIn('data-cg-category="analytics"', tag[0])
        self.assertIn('type="text/plain"', tag[0])
        pixel = re.search(r'<img[^>]*facebook\.com/tr[^>]*>', html).group(0)
        self.assertNotRegex(pixel, r"\ssrc=")
        self.assertIn('data-cg-needs="analytics marketing"', pixel, "analytics consent alone must not release an ad pixel")


    def test_vendors_embed_codes(self):
        """Real vendors' embed codes as their documentation gives them (tests/data/pages/vendor-tags.html), under the
        default lists: each one inert before consent, in the category its lists give it. The tag managers and loaders
        EasyPrivacy does not name (Adobe Tags, Tealium, Pendo, PostHog from jsDelivr: conf/analytics-tags.txt) and the
        marketing platforms' site tags (HubSpot, Klaviyo, Mailchimp, Optimizely: conf/ad-trackers.txt), and the embeds
        whose sites set advertising cookies (YouTube, Google Maps, Facebook, X, Instagram, TikTok, LinkedIn, Disqus:
        conf/embeds.txt; Vimeo, analytics) ran or loaded before any consent without the shipped lists."""
        want = {"adobe": "analytics", "tealium": "analytics", "pendo": "analytics", "posthog": "analytics",
                "npmamplitude": "analytics", "npmdatadog": "analytics", "npmmixpanel": "analytics", "npmposthog": "analytics",
                "npmsegment": "analytics",
                "hubspot": "marketing", "klaviyo": "marketing", "mailchimp": "marketing", "optimizely": "marketing",
                "hotjar": "analytics", "clarity": "analytics", "matomo": "analytics", "segment": "analytics", "gtm": "analytics",
                "tiktok": "analytics marketing", "linkedin": "analytics marketing",
                "youtube": "marketing", "ytnocookie": "marketing", "maps": "marketing", "fbpage": "marketing",
                "xwidgets": "marketing", "instagram": "marketing", "tiktokembed": "marketing", "linkedinpost": "marketing",
                "disqus": "marketing", "vimeo": "analytics",
                "mapsquery": "marketing", "mymaps": "marketing", "ytplayerapi": "marketing", "tiktokplayer": "marketing"}
        html = curl(self.gw.url("/__origin/html?file=pages/vendor-tags.html")).text
        got = {}
        for t in re.findall(r"<(?:script|iframe)\b[^>]*>", html):
            ident = re.search(r'\bid="([a-z]+)"', t)
            if ident is None or ident.group(1) not in want:
                continue
            self.assertRegex(t, r'type="text/plain"|data-cg-src=' if t.startswith("<iframe") else 'type="text/plain"', t)
            self.assertNotRegex(t, r"\ssrc=", t)
            needs = re.search(r'data-cg-needs="([^"]+)"', t)
            got[ident.group(1)] = needs.group(1) if needs else re.search(r'data-cg-category="([^"]+)"', t).group(1)
        self.assertEqual(got, want)
        # with both categories granted every one runs as the vendor wrote it
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=json.dumps({"all": True}),
                 headers=["Content-Type: application/json"])
        cookie = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        html = curl(self.gw.url("/__origin/html?file=pages/vendor-tags.html"), cookie=cookie).text
        self.assertEqual([t for t in re.findall(r"<(?:script|iframe)\b[^>]*>", html)
                          if "data-cg-" in t and 'id="cg-state"' not in t and "banner.js" not in t], [])


    def test_loaders_that_build_their_url_on_the_sites_own_host(self):
        """PostHog's snippet behind the site's proxy (api_host "/ingest") and GTM's loading server-side GTM from the
        site's host write no "//host" for the inline-script check: the script path they load, a string literal, is
        asked about as that <script src> would be (PostHog's .../static/array.js, EasyPrivacy's /gtm.js), so the
        snippet is inert and consent releases it without a reload. Other literals, and data blocks, stay."""
        page = "/__origin/html?file=pages/first-party-loaders.html"
        html = curl(self.gw.url(page)).text
        tags = {i: re.search(r'<script id="%s"[^>]*>' % i, html).group(0) for i in ("phproxy", "sgtm", "own", "ld")}
        for i in ("phproxy", "sgtm"):
            self.assertIn('type="text/plain"', tags[i], i)
            self.assertIn('data-cg-category="analytics"', tags[i], i)
        self.assertNotIn("data-cg-", tags["own"])
        self.assertEqual(tags["ld"].split(" nonce=")[0], '<script id="ld" type="application/ld+json"')
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=json.dumps({"all": True}),
                 headers=["Content-Type: application/json"])
        cookie = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        html = curl(self.gw.url(page), cookie=cookie).text
        self.assertNotRegex(html, r'<script id="(phproxy|sgtm)"[^>]*data-cg-')


class FreshComparison(GatewayTestCase):
    """Base of the memo tests: beside cls.gw, a gateway that remembers nothing (html.memo_kb 0) with the same keys (link
    signatures), lists and origin, whose answers are the reference; normalised() takes the per-response values out."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        over = {"html": {"memo_kb": 0}, "secrets_file": os.path.join(cls.tmp, "secrets.json")}
        cls.fresh = cls.new_gateway("fresh", gateway_config(cls.origin.url, **merge(dict(cls.config), over)))

    def hits(self, gw=None):
        return metric(gw or self.gw, "cg_html_memo_hits_total")

    def normalised(self, r):
        """the page with its per-response values replaced, after checking they are this response's own"""
        self.assertEqual(r.status, 200)
        body = gzip.decompress(r.body) if r.header("Content-Encoding") == "gzip" else r.body
        html = body.decode()
        n = nonces(html)
        self.assertEqual(len(n), 1, html[:300])
        nonce = n.pop()
        self.assertIn("'nonce-%s'" % nonce, r.header("Content-Security-Policy-Report-Only"))
        release = set(re.findall(r'data-cg-r="([^"]+)"', html))
        self.assertEqual(len(release), 1)
        html = re.sub(r'(id="cg-state"[^>]*>)(.*?)(</script>)', r"\1STATE\3", html, flags=re.S)
        # under a <base> on another site the shim links name the gateway's own origin: each gateway its own port
        html = re.sub(r'http://127\.0\.0\.1:\d+/__go\?', "GATEWAY/__go?", html)
        return html.replace(nonce, "NONCE").replace(release.pop(), "RELEASE"), nonce


class MemoTest(FreshComparison):
    """Remembered rewrites (html.memo_kb): a page whose body is byte for byte one this worker rewrote before, under the
    same key and lists, is answered from that rewrite. Every answer is checked against a second gateway that remembers
    nothing (html.memo_kb 0) on the same origin with the same lists: the same page but for the per-response values
    (nonce, release token, the visitor's state). One worker thread, so that repeated requests meet the same memo."""
    config = merge(dict(RewriteTest.config), {
        "threads": 1,
        "risk": {"lists": [{"name": "blocked", "file": "blocked.txt", "format": "domains", "action": "block"}]}})
    AUTH = ["Authorization: Bearer " + ADMIN_TOKEN]

    def twice_and_fresh(self, path, **kw):
        """the page twice from the memo gateway (the second answered from the memo) and once from the fresh one"""
        a, na = self.normalised(curl(self.gw.url(path), **kw))
        h = self.hits()
        b, nb = self.normalised(curl(self.gw.url(path), **kw))
        self.assertEqual(self.hits(), h + 1, path)
        f, _ = self.normalised(curl(self.fresh.url(path), **kw))
        self.assertNotEqual(na, nb, "each response has its own nonce, remembered or not")
        self.assertEqual(a, f, path)
        self.assertEqual(b, f, path)
        return b

    def test_remembered_page_same_as_rewritten_afresh(self):
        for path in ("/__origin/html/a?file=pages/base.html", "/__origin/html/b?file=pages/media.html",
                     "/__origin/html/c?file=pages/noscript.html", "/__origin/html/d?file=pages/srcset.html",
                     "/__origin/html/e?file=rewriter/foreign/input.html",
                     "/__origin/html/f?file=rewriter/tracker_page/input.html&repeat=5",
                     "/__origin/html/g?file=pages/page.xhtml&h=Content-Type:application/xhtml%2Bxml"):
            page = self.twice_and_fresh(path)
        self.assertIn("<?xml", page)
        # gzip from the origin: compared as it came, answered without decoding it again
        page = self.twice_and_fresh("/__origin/gzip-html?t=memo", headers=["Accept-Encoding: gzip"])
        self.assertIn('data-cg-src="%s"' % GTAG, page)
        self.assertGreater(metric(self.gw, "cg_html_memo_stored_total"), 8)
        self.assertEqual(self.hits(self.fresh), 0)

    def test_granted_categories_are_part_of_the_key(self):
        path = "/__origin/html/grant?file=rewriter/tracker_page/input.html"
        self.twice_and_fresh(path)
        token = RewriteTest.consent(self, {"all": True})
        h = self.hits()
        html = curl(self.gw.url(path), cookie=token).text
        self.assertEqual(self.hits(), h, "another key: rewritten")
        self.assertIn('<script async src="https://www.googletagmanager.com/gtag/js?id=G-XXXX"', html)
        self.assertNotIn("data-cg-category", html)

    def test_changed_body_is_rewritten(self):
        # the query is not part of the key (the rewrite depends on the path only): the same key, other bodies
        path = "/__origin/html/changed?file="
        h = self.hits()
        for name in ("pages/base.html", "pages/media.html", "pages/base.html"):
            a, _ = self.normalised(curl(self.gw.url(path + name)))
            f, _ = self.normalised(curl(self.fresh.url(path + name)))
            self.assertEqual(a, f, name)
        self.assertEqual(self.hits(), h)
        # a body of the same length that differs only in its second half, which comes 200 ms after the first: the
        # first half matches the remembered page, then the rest must still be rewritten (a tracker made inert)
        harmless = "https://static.example-cdn.net/js/app.js?v=000001"
        harmless += "0" * (len(GTAG) - len(harmless))
        self.assertEqual(len(harmless), len(GTAG))
        pages = {}
        # the memo holds the last version rewritten: the second of two equal bodies in a row is answered from it
        for label, src, hit in (("harmless", harmless, 0), ("tracker", GTAG, 0), ("tracker-again", GTAG, 1),
                                ("harmless-again", harmless, 0), ("harmless-third", harmless, 1)):
            tail = '<script async src="%s"></script>' % src
            q = "/__origin/html/split?file=pages/base.html&split_ms=200&tail=" + urllib.parse.quote(tail, safe="")
            h = self.hits()
            a, _ = self.normalised(curl(self.gw.url(q)))
            f, _ = self.normalised(curl(self.fresh.url(q)))
            self.assertEqual(a, f, label)
            self.assertEqual(self.hits(), h + hit, label)
            pages[label] = a
        self.assertIn('data-cg-src="%s"' % GTAG, pages["tracker"])
        self.assertIn('src="%s"' % harmless, pages["harmless"])

    def test_page_that_changes_every_time_is_recorded_now_and_then(self):
        # a clock in the page: every answer different; after three changes in a row the worker stops paying for
        # recording it (every 16th still is), and every answer is still rewritten like the fresh gateway's
        path = "/__origin/html/clock?file=pages/base.html&tail="
        stored = metric(self.gw, "cg_html_memo_stored_total")
        for i in range(12):
            tail = urllib.parse.quote("<!--%04d-->" % i)
            a, _ = self.normalised(curl(self.gw.url(path + tail)))
            f, _ = self.normalised(curl(self.fresh.url(path + tail)))
            self.assertEqual(a, f, i)
            self.assertIn("<!--%04d-->" % i, a)
        self.assertEqual(metric(self.gw, "cg_html_memo_stored_total") - stored, 4, "recorded: the first and three changes")
        # the last page recorded comes back: answered from the memo, and recording resumes
        h = self.hits()
        self.normalised(curl(self.gw.url(path + urllib.parse.quote("<!--0003-->"))))
        self.assertEqual(self.hits(), h + 1)
        stored = metric(self.gw, "cg_html_memo_stored_total")
        self.normalised(curl(self.gw.url(path + urllib.parse.quote("<!--0099-->"))))
        self.assertEqual(metric(self.gw, "cg_html_memo_stored_total"), stored + 1)

    def test_random_pages_same_as_rewritten_afresh(self):
        # pages put together at random from tags the rewriter acts on, some repeated (answered from the memo), some
        # changed only in their second half (split_ms), with and without consent: always what the fresh gateway makes
        rnd = random.Random(20261130)
        parts = ['<script async src="%s"></script>' % GTAG, "<script>gtag('js', new Date());</script>",
                 '<img src="https://www.facebook.com/tr?id=1&amp;ev=PageView" width="1" height="1">',
                 '<a href="https://other.example/x?a=1&amp;b=2">out</a>', '<a href="/local">in</a>',
                 '<noscript><img src="https://www.facebook.com/tr?id=2"></noscript>',
                 '<svg><image href="https://cdn.example/i?id=3&amp;ev=PageView&amp;x=1" width="1" height="1"/></svg>',
                 '<iframe src="https://www.googletagmanager.com/ns.html?id=GTM-1"></iframe>', "<p>text</p>",
                 '<link rel="preconnect" href="https://www.googletagmanager.com">', "<style>p{}</style>"]
        variants = ["".join(rnd.choice(parts) for _ in range(rnd.randint(1, 12))) for _ in range(5)]
        token = RewriteTest.consent(self, {"categories": {"analytics": True}})
        h = self.hits()
        for i in range(40):
            tail = rnd.choice(variants[:3]) if rnd.random() < 0.6 else rnd.choice(variants)
            q = "/__origin/html/random?file=pages/base.html&tail=" + urllib.parse.quote(tail, safe="")
            if rnd.random() < 0.3:
                q += "&split_ms=30"
            kw = {"cookie": token} if rnd.random() < 0.3 else {}
            a, _ = self.normalised(curl(self.gw.url(q), **kw))
            f, _ = self.normalised(curl(self.fresh.url(q), **kw))
            self.assertEqual(a, f, (i, tail, kw))
        self.assertGreater(self.hits() - h, 5, "the run met remembered pages")

    def test_list_change_applies_to_the_next_page(self):
        path = "/__origin/html/list?file=pages/media.html"
        page = self.twice_and_fresh(path)
        self.assertIn('id="aud"', page)
        for gw in (self.gw, self.fresh):
            r = curl(gw.admin_url("/admin/lists/blocked"), method="PUT", data="cdn.example\n", headers=self.AUTH)
            self.assertEqual(r.status, 200, r.text)
        h = self.hits()
        a, _ = self.normalised(curl(self.gw.url(path)))
        f, _ = self.normalised(curl(self.fresh.url(path)))
        self.assertEqual(self.hits(), h, "a list changed: the remembered rewrite is not used")
        self.assertEqual(a, f)
        self.assertNotIn('id="aud"', a, "cdn.example is block-listed now: its audio element removed")
        self.twice_and_fresh(path)
        for gw in (self.gw, self.fresh):
            curl(gw.admin_url("/admin/lists/blocked"), method="PUT", data="\n", headers=self.AUTH)

    def test_counters_and_inventory_move_on_remembered_pages(self):
        path = "/__origin/html/counters?file=rewriter/tracker_page/input.html"

        def seen():
            r = curl(self.gw.admin_url("/admin/trackers"), headers=self.AUTH).json()
            return {(s["host"], s["category"]): s["neutralised"] for s in r["seen"]}

        before, s0 = metric(self.gw, "cg_tags_neutralised_total{category=\"analytics\"}"), seen()
        h = self.hits()
        curl(self.gw.url(path))  # rewritten and remembered
        mid, s1 = metric(self.gw, "cg_tags_neutralised_total{category=\"analytics\"}"), seen()
        curl(self.gw.url(path))
        after, s2 = metric(self.gw, "cg_tags_neutralised_total{category=\"analytics\"}"), seen()
        self.assertEqual(self.hits(), h + 1)
        self.assertGreater(mid - before, 0)
        self.assertEqual(after - mid, mid - before)
        key = ("www.googletagmanager.com", "analytics")
        self.assertEqual(s2[key] - s1[key], s1[key] - s0.get(key, 0))


class ConsentModeTest(FreshComparison):
    """html.google_consent_mode: the visitor's choice as Google Consent Mode's default, before the page's first script
    (Google's tag reads the consent state from the dataLayer in order: a default after its own commands comes too late),
    carrying the UI's nonce; remembered pages get it with their own nonce. Not where the page's policy would block it."""
    config = merge(dict(RewriteTest.config), {"threads": 1, "html": {"google_consent_mode": True}})
    PAGE = "/__origin/html?file=pages/consent-mode.html"
    DENIED = {"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "denied",
              "functionality_storage": "denied", "personalization_storage": "denied", "security_storage": "granted"}

    def default(self, html):
        """(the snippet's nonce, its consent default) when it is the first script, else None"""
        m = re.search(r'<script nonce="([^"]+)" data-cg-gcm(?: data-cg-uet)?>\(function\(\)\{var w=window;\(w\.dataLayer=w\.dataLayer\|\|\[\]\)'
                      r'\.push\(arguments\)\}\)\("consent","default",(\{[^}]*\})\);', html)
        if m is None:
            self.assertNotIn("data-cg-gcm", html)
            return None
        self.assertEqual(html.find("<script"), m.start(), "the first script of the page")
        return m.group(1), json.loads(m.group(2))

    def test_default_before_the_first_script(self):
        r = curl(self.gw.url(self.PAGE))
        nonce, default = self.default(r.text)
        self.assertEqual(default, self.DENIED)
        self.assertIn("'nonce-%s'" % nonce, r.header("Content-Security-Policy-Report-Only"))
        self.assertRegex(r.text, r'data-cg-gcm>[^<]*</script><script async data-cg-src="https://www\.googletagmanager\.com/[^>]* type="text/plain"')
        analytics = RewriteTest.consent(self, {"categories": {"analytics": True}})
        self.assertEqual(self.default(curl(self.gw.url(self.PAGE), cookie=analytics).text)[1],
                         dict(self.DENIED, analytics_storage="granted"))
        everything = RewriteTest.consent(self, {"all": True})
        self.assertEqual(set(self.default(curl(self.gw.url(self.PAGE), cookie=everything).text)[1].values()), {"granted"})

    def test_remembered_page_has_its_own_nonce(self):
        first = curl(self.gw.url(self.PAGE + "&t=memo"))
        hits = self.hits()
        again = curl(self.gw.url(self.PAGE + "&t=memo"))
        self.assertEqual(self.hits(), hits + 1, "answered from the remembered rewrite")
        self.assertNotEqual(self.default(first.text)[0], self.default(again.text)[0])
        self.assertEqual(self.normalised(again), self.normalised(curl(self.fresh.url(self.PAGE + "&t=memo")))[:1] +
                         (self.normalised(again)[1],))

    def test_not_where_a_policy_would_block_it(self):
        def page(*headers, file="pages/consent-mode.html"):
            q = "".join("&h=" + urllib.parse.quote(h, safe="") for h in headers)
            return curl(self.gw.url("/__origin/html?file=%s%s" % (file, q))).text
        self.assertIsNotNone(self.default(page()))  # (remembered now: what the headers let in is part of the memo's key)
        # the origin's policy allows scripts by URL only: the banner's URL is added, an inline script would be blocked
        self.assertIsNone(self.default(page("Content-Security-Policy:script-src 'self' https://www.googletagmanager.com")))
        # by a nonce: the snippet carries it, as the UI does
        self.assertEqual(self.default(page("Content-Security-Policy:script-src 'nonce-originNonce123'"))[0], "originNonce123")
        # a policy in the page: its nonce, which the UI adopts under report-only
        self.assertEqual(self.default(page(file="pages/meta-csp.html"))[0], "metaNonce_42")
        # no script, nothing to precede
        self.assertIsNone(self.default(page(file="pages/css.html")))
        # two policies, each enforced: one naming the nonce does not let in what the other blocks
        self.assertIsNone(self.default(page("Content-Security-Policy:script-src 'nonce-originNonce123'",
                                            "Content-Security-Policy:script-src 'self' https://www.googletagmanager.com")))
        self.assertIsNone(self.default(page("Content-Security-Policy:script-src 'nonce-originNonce123', script-src 'self'")))
        # a policy that restricts no script (a header, a <meta>) lets it in: the gateway's nonce, as without one
        r = curl(self.gw.url("/__origin/html/frames?file=pages/consent-mode.html&h=" +
                             urllib.parse.quote("Content-Security-Policy:frame-ancestors 'self'", safe="")))
        self.assertIn("'nonce-%s'" % self.default(r.text)[0], r.header("Content-Security-Policy-Report-Only"))
        html = curl(self.gw.url("/__origin/html/upgrade?file=pages/consent-mode-meta-upgrade.html")).text
        self.assertEqual(self.default(html)[1], self.DENIED)

    def test_not_inside_a_template(self):
        # a <template>'s content is inert: the default went before the script in it, never ran, and was not put again
        # (a path of its own: the memo's key has no query, and pages different each time are remembered less often)
        html = curl(self.gw.url("/__origin/html/template?file=pages/consent-mode-template.html")).text
        self.assertEqual(self.default(html)[1], self.DENIED)
        self.assertLess(html.find("data-cg-gcm"), html.find("<template"), "before the template")
        self.assertEqual(html.count("data-cg-gcm"), 1)

    def test_microsoft_uet_too(self):
        # Microsoft Advertising's UET reads ad_storage from window.uetq, queued before its tag as Google's is
        both = self.new_gateway("gcm-uet", gateway_config(self.origin.url, trackers=RewriteTest.config["trackers"],
                                                          html={"google_consent_mode": True, "microsoft_consent_mode": True}))
        html = curl(both.url(self.PAGE)).text
        self.assertEqual(self.default(html)[1], self.DENIED)
        m = re.search(r'<script nonce="[^"]+" data-cg-gcm data-cg-uet>[^<]*\);\(window\.uetq=window\.uetq\|\|\[\]\)\.push\('
                      r'"consent","default",\{"ad_storage":"(\w+)"\}\);</script><script async', html)
        self.assertEqual(m.group(1) if m else html[:600], "denied")
        r = curl(both.url("/__consent/api/consent"), method="POST", data='{"all": true}', headers=["Content-Type: application/json"])
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        self.assertIn('push("consent","default",{"ad_storage":"granted"});</script>', curl(both.url(self.PAGE), cookie=token).text)
        both.stop_and_check()
        uet = self.new_gateway("uet", gateway_config(self.origin.url, html={"microsoft_consent_mode": True}))
        html = curl(uet.url(self.PAGE)).text
        self.assertNotIn("dataLayer", html[:html.index("googletagmanager")])
        self.assertRegex(html, r'<script nonce="[^"]+" data-cg-uet>\(window\.uetq=window\.uetq\|\|\[\]\)\.push\("consent","default",'
                               r'\{"ad_storage":"denied"\}\);</script><script async src="https://www\.googletagmanager')
        uet.stop_and_check()

    def test_off_by_default(self):
        g = self.new_gateway("gcm-off", gateway_config(self.origin.url, trackers=RewriteTest.config["trackers"]))
        self.assertNotIn("data-cg-gcm", curl(g.url(self.PAGE)).text)
        g.stop_and_check()


class MemoRingTest(FreshComparison):
    """A small memo (html.memo_kb 256) filled past its size: the oldest pages make room, and a remembered page answered
    again and again evicts nothing (room to record a compared page is reserved only when it turns out different)."""
    config = merge(dict(RewriteTest.config), {"threads": 1, "html": {"memo_kb": 256}})

    def test_concurrent_and_aborted(self):
        # many pages at once on one worker, in a memo too small for them (evicted all the time), some arriving in two
        # halves, some given up by the client in the middle: every answer is the fresh gateway's, and the class's
        # teardown fails on any sanitizer report (pins and reservations released with the requests)
        rnd = random.Random(7)
        paths = []
        for i in range(40):
            q = "/__origin/html/conc%d?file=pages/%s&repeat=%d" % (rnd.randint(0, 11), rnd.choice(["base.html", "media.html"]),
                                                                   rnd.choice([1, 5, 20]))
            if rnd.random() < 0.4:
                q += "&tail=" + urllib.parse.quote("<!--%d-->" % rnd.randint(0, 2))
            if rnd.random() < 0.3:
                q += "&split_ms=20"
            paths.append(q)
        results, errors = [], []

        def client(k):
            try:
                for j in range(12):
                    q = paths[(k * 7 + j * 3) % len(paths)]
                    results.append((q, curl(self.gw.url(q))))
                    if j % 4 == k % 4:  # given up in the middle of a body whose second half is late
                        curl(self.gw.url("/__origin/html/conc-abort?file=pages/media.html&split_ms=300"), timeout=0.1)
            except Exception as e:  # noqa: BLE001  (reported below)
                errors.append(e)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 96)
        fresh = {}
        for q, r in results:
            self.assertEqual(r.status, 200, q)
            if q not in fresh:
                fresh[q] = self.normalised(curl(self.fresh.url(q)))[0]
            self.assertEqual(self.normalised(r)[0], fresh[q], q)
        self.assertGreater(metric(self.gw, "cg_html_memo_hits_total"), 0)
        # nothing stays pinned or reserved: the memo still takes pages (a full one would refuse them)
        stored = metric(self.gw, "cg_html_memo_stored_total")
        self.assertEqual(curl(self.gw.url("/__origin/html/conc-after?file=pages/base.html")).status, 200)
        self.assertEqual(metric(self.gw, "cg_html_memo_stored_total"), stored + 1)

    def test_hits_evict_nothing(self):
        before = metric(self.gw, "cg_html_memo_stored_total")
        for i in range(130):
            self.assertEqual(curl(self.gw.url("/__origin/html/ring%d?file=pages/base.html&repeat=10" % i)).status, 200)
        # the last one larger: room reserved to record it again would be more than its recording left over
        big = "/__origin/html/ring-big?file=pages/base.html&repeat=60"
        self.assertEqual(curl(self.gw.url(big)).status, 200)
        stored = metric(self.gw, "cg_html_memo_stored_total")
        entries, used = metric(self.gw, "cg_html_memo_entries"), metric(self.gw, "cg_html_memo_bytes")
        self.assertEqual(stored - before, 131)
        self.assertTrue(20 < entries < 130, entries)  # full: the oldest made room
        self.assertTrue(0 < used <= 256 * 1024, used)
        hits = metric(self.gw, "cg_html_memo_hits_total")
        for _ in range(10):
            html = curl(self.gw.url(big)).text
            self.assertIn('data-cg-r="', html)
        self.assertEqual(metric(self.gw, "cg_html_memo_hits_total"), hits + 10)
        self.assertEqual(metric(self.gw, "cg_html_memo_entries"), entries, "a hit evicted remembered pages")
        # the oldest page still held is still answered from the memo
        for i in range(130 - (entries - 1), 130):
            curl(self.gw.url("/__origin/html/ring%d?file=pages/base.html&repeat=10" % i))
        self.assertEqual(metric(self.gw, "cg_html_memo_hits_total"), hits + 10 + entries - 1)


class RewriteTransportsTest(GatewayTestCase):
    """The rewritten page does not depend on how it travels (plain HTTP/1.1, TLS HTTP/1.1, HTTP/2) nor on how the
    origin's bytes arrive (an 800 KB page comes in many reads)."""
    with_tls = True
    config = RewriteTest.config

    def test_same_page_over_every_transport(self):
        path = "/__origin/html?file=rewriter/tracker_page/input.html&repeat=40"  # ~800 KB: many reads from the origin
        bodies = {}
        for name, tls, http in (("h1", False, "1.1"), ("h1-tls", True, "1.1"), ("h2-tls", True, "2")):
            r = curl(self.gw.url(path, tls=tls), http=http)
            self.assertEqual(r.status, 200, name)
            html = r.text
            n = nonces(html)
            self.assertEqual(len(n), 1, name)
            release = set(re.findall(r'data-cg-r="([^"]+)"', html))
            self.assertEqual(len(release), 1, name)  # one release token per response, on the banner and each inert tag
            bodies[name] = html.replace(n.pop(), "NONCE").replace(release.pop(), "RELEASE")
        self.assertEqual(bodies["h1"], bodies["h1-tls"])
        self.assertEqual(bodies["h1"], bodies["h2-tls"])
        page = bodies["h1"]
        # every copy rewritten alike: the tracker tag made inert 40 times, every script carrying the nonce
        self.assertEqual(len(re.findall(r'data-cg-src="https://www\.googletagmanager\.com/gtag/js', page)), 40)
        self.assertNotRegex(page, r'<script\b[^>]*\ssrc="https://www\.googletagmanager\.com')
        self.assertTrue(all('nonce="NONCE"' in s for s in scripts(page) if "cg-state" not in s), scripts(page)[:5])
        self.assertGreater(len(page), 40 * 19000)

    def test_a_range_of_a_page_is_answered_with_the_whole_page_read(self):
        # A part of a page cannot be read as the browser reads the whole, and passed as the origin wrote it: its tracker
        # tags running, no banner, no CSP. The gateway asks the origin for the whole (a server may ignore Range) and
        # the visitor gets a 200 of the page read, over every transport; a single part and several (multipart/byteranges).
        page = "/__origin/html/ranged?file=index.html&ranges=1"
        direct = curl(self.origin.url + page, headers=["Range: bytes=300-"])
        self.assertEqual(direct.status, 206, "the origin honours Range")
        self.assertIn(b'<img src="https://www.facebook.com/tr', direct.body, "the part has a live pixel")
        for name, tls, http, rng in (("h1", False, "1.1", "bytes=300-"), ("h1 parts", False, "1.1", "bytes=0-10,300-"),
                                     ("h2", True, "2", "bytes=300-")):
            before = len(self.origin.find("/__origin/html/ranged"))
            r = curl(self.gw.url(page, tls=tls), http=http, headers=["Range: " + rng, 'If-Range: "x"'])
            self.assertEqual(r.status, 200, name)
            self.assertIsNone(r.header("Content-Range"), name)
            self.assertEqual(r.header("Accept-Ranges"), "none", name)
            self.assertIsNotNone(r.header("Content-Security-Policy-Report-Only"), name)
            tag = [t for t in scripts(r.text) if "googletagmanager" in t]
            self.assertEqual(len(tag), 1, name)
            self.assertNotRegex(tag[0], r"\ssrc=", name)
            self.assertEqual(r.text.count('src="/__consent/banner.js"'), 1, name)
            # the origin was asked for the part, then for the whole without Range and If-Range
            asked = self.origin.find("/__origin/html/ranged")[before:]
            self.assertEqual([self.origin.header(e, "Range") for e in asked], [[rng], []], name)
            self.assertEqual(self.origin.header(asked[1], "If-Range"), [], name)
        h = curl(self.gw.url(page), head=True, headers=["Range: bytes=300-"])
        self.assertEqual(h.status, 200)
        self.assertIsNone(h.header("Content-Range"))
        self.assertIsNotNone(h.header("Content-Security-Policy-Report-Only"))

    def test_a_range_of_other_content_passes_as_the_origin_answered(self):
        # media and downloads keep their ranges: one request, the origin's 206 as it came
        path = "/__origin/big?bytes=70000&ranges=1"
        direct = curl(self.origin.url + path, headers=["Range: bytes=100-199"])
        before = len(self.origin.find("/__origin/big"))
        r = curl(self.gw.url(path), headers=["Range: bytes=100-199"])
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), "bytes 100-199/70000")
        self.assertEqual(r.body, direct.body)
        self.assertEqual(len(self.origin.find("/__origin/big")) - before, 1)

    def test_a_part_of_a_page_that_comes_unasked_is_a_502(self):
        # an origin that answers a part even when asked for the whole: nothing the visitor can be given
        for headers in (["Range: bytes=0-50"], []):
            r = curl(self.gw.url("/__origin/html/part?file=index.html&ranges=always"), headers=headers)
            self.assertEqual(r.status, 502, headers)
            self.assertNotIn(b"googletagmanager", r.body)
        self.assertGreaterEqual(metric(self.gw, "cg_upstream_errors_total"), 2)


class UpstreamPathRangeTest(GatewayTestCase):
    """An upstream URL with a path (http://host:port/prefix): the proxy puts the prefix before the request's path.
    A Range request for a page is asked again for the whole (the front delegates it to the proxy a second time),
    and that second request went to /prefix/prefix/... : the visitor got the origin's 404 for a page that exists."""
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gw.config["upstream"] = cls.origin.url + "/__origin"
        cls.gw.start()

    def test_a_range_of_a_page_is_asked_again_at_the_same_path(self):
        page = "/html/ranged?file=index.html&ranges=1"
        whole = curl(self.gw.url(page))
        self.assertEqual(whole.status, 200)
        for rng in ("bytes=300-", "bytes=0-10,300-"):
            before = len(self.origin.requests())
            r = curl(self.gw.url(page), headers=["Range: " + rng])
            self.assertEqual(r.status, 200, rng)
            self.assertEqual(r.text.count('src="/__consent/banner.js"'), 1, rng)
            asked = self.origin.requests()[before:]
            self.assertEqual([(e["path"], self.origin.header(e, "Range")) for e in asked],
                             [("/__origin" + page, [rng]), ("/__origin" + page, [])], rng)


class UpstreamPathPageTest(GatewayTestCase):
    """Under an upstream URL with a path the response stages saw the prefixed path: a relative URL in a page was made
    absolute against /__origin/html/… instead of the /html/… the browser has, so a tracker it loads passed."""
    config = {"trackers": {"lists": [{"name": "paths", "file": "paths.txt", "format": "abp", "category": "analytics"}]}}
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.tmp, "paths.txt"), "w") as f:
            f.write("||127.0.0.1:%d/html/evil/\n" % cls.gw.port)
        cls.gw.config["upstream"] = cls.origin.url + "/__origin"
        cls.gw.start()

    def test_relative_urls_resolve_against_the_visitors_path(self):
        tail = urllib.parse.quote('<img id="rel" src="evil/x.png"><img id="ok" src="fine/x.png">')
        r = curl(self.gw.url("/html/page?file=sheets/empty.txt&tail=" + tail))
        self.assertEqual(r.status, 200)
        img = re.search(r'<img id="rel"[^>]*>', r.text).group(0)
        self.assertNotRegex(img, r"\ssrc=", "the browser loads /html/evil/x.png, a tracker")
        self.assertIn('<img id="ok" src="fine/x.png">', r.text)

class TrackerListLoadReportTest(GatewayTestCase):
    """A tracker list with malformed and unsupported lines: the rest loads, and /admin/trackers says which lines
    were refused and why."""
    config = {"trackers": {"lists": [{"name": "mixed", "file": "mixed.txt", "format": "abp", "category": "analytics"}]}}
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.tmp, "mixed.txt"), "w") as f:
            f.write("! Title: mixed\n||tracker.example^\n||\n##.ad-banner\n||pixel.example^$domain=\n||ok.example/collect\n")
        cls.gw.start()

    def test_malformed_lines_reported_rest_loaded(self):
        r = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).json()
        l = r["lists"][0]
        self.assertEqual((l["lines"], l["loaded"], l["skipped"], l["malformed"]), (6, 2, 1, 2), l)
        self.assertEqual([m["line"] for m in l["malformed_lines"]], [3, 5])
        self.assertEqual([m["text"] for m in l["malformed_lines"]], ["||", "||pixel.example^$domain="])
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html")).text
        self.assertIn('data-cg-src="https://tracker.example/t.js"', html, "the lines around the bad ones loaded")
        self.assertIn('data-cg-src="https://ok.example/collect?x=1"', html)


class TrackerListReloadTest(GatewayTestCase):
    """A tracker list that vanished (a feed job's download moved away, a package upgrade) or came back with no rule (a
    failed download, a full disk) at a SIGHUP: the reload went on without it, and its trackers loaded before consent
    on every page until the next good reload. The lists in force stay, as the risk lists' last good ones do."""
    config = {"trackers": {"lists": [{"name": "t", "file": "t.txt", "format": "abp", "category": "analytics"}]}}
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(os.path.join(cls.tmp, "t.txt"), "w") as f:
            f.write("||tracker.example^\n")
        cls.gw.start()

    def inert(self, url):
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html")).text
        return 'data-cg-src="%s"' % url in html

    def reload(self):
        """SIGHUP, and the list's line in the log that its reading ends with (once it is read)"""
        before = self.gw.error_log().count("tracker list t")
        self.gw.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.gw.error_log().count("tracker list t") > before, 5), self.gw.error_log()[-800:])

    def assert_stays_inert(self, url, why):
        deadline = time.monotonic() + 1  # (the lists are swapped just after they are read)
        while time.monotonic() < deadline:
            self.assertTrue(self.inert(url), why)
            time.sleep(0.1)

    def test_a_vanished_or_emptied_list_keeps_the_one_in_force(self):
        lst = self.gw.path("t.txt")
        self.assertTrue(self.inert("https://tracker.example/t.js"))
        os.rename(lst, lst + ".moved")
        self.reload()
        self.assert_stays_inert("https://tracker.example/t.js", "a vanished list's trackers load before consent")
        self.assertIn("tracker lists not reloaded, the ones in force stay: t has no rule now (No such file or directory)",
                      self.gw.error_log())
        for text in ("", "! Title: t\n"):
            with open(lst, "w") as f:
                f.write(text)
            self.reload()
            self.assert_stays_inert("https://tracker.example/t.js", "an emptied list's trackers load: %r" % text)
            self.assertIn("t has no rule now (the file has none)", self.gw.error_log())
        r = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).json()
        self.assertEqual((r["lists"][0]["readable"], r["lists"][0]["loaded"]), (True, 1), "what is in force")
        # a good file again: reloads as before
        with open(lst, "w") as f:
            f.write("||ok.example^\n")
        self.reload()
        self.assertTrue(wait_until(lambda: not self.inert("https://tracker.example/t.js"), 2))
        self.assertTrue(self.inert("https://ok.example/collect?x=1"))


class TrackerListFormatsTest(GatewayTestCase):
    """DESIGN: a list's format is domains, hosts, abp or urls: tracker lists in the first three formats load as the rules
    that say the same (a domain and its subdomains, a hosts file's names, URL prefixes); the gateway refused to start."""
    config = {"trackers": {"lists": [{"name": "dom", "file": "dom.txt", "format": "domains", "category": "analytics"},
                                     {"name": "hosts", "file": "hosts.txt", "format": "hosts", "category": "marketing"},
                                     {"name": "urls", "file": "urls.txt", "format": "urls", "category": "analytics"}]}}
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, text in (("dom.txt", "# tracker domains\r\nexample.org\r\nbad..name\r\n"),
                           ("hosts.txt", "127.0.0.1 localhost\n0.0.0.0 ok.example other.example # pixels\n0.0.0.0\n0.0.0.0 0.0.0.0\n"),
                           ("urls.txt", "https://tracker.example/t.js\nnot a url\nhttps://tracker.example/other/\n")):
            with open(os.path.join(cls.tmp, name), "w") as f:
                f.write(text)
        cls.gw.start()

    def test_domains_hosts_and_urls_lists(self):
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html")).text
        self.assertRegex(html, r'<script data-cg-src="https://tracker\.example/t\.js"[^>]*data-cg-category="analytics"')
        self.assertRegex(html, r'<img data-cg-src="https://ok\.example/collect\?x=1"[^>]*data-cg-category="marketing"')
        r = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).json()
        lists = {l["name"]: l for l in r["lists"]}
        self.assertEqual([(lists[n]["lines"], lists[n]["loaded"], lists[n]["malformed"]) for n in ("dom", "hosts", "urls")],
                         [(3, 1, 1), (4, 2, 1), (3, 2, 1)], lists)
        self.assertEqual([(m["line"], m["text"]) for m in lists["dom"]["malformed_lines"]], [(3, "bad..name")])
        self.assertEqual([(m["line"], m["text"]) for m in lists["hosts"]["malformed_lines"]], [(3, "0.0.0.0")])
        self.assertEqual([(m["line"], m["text"]) for m in lists["urls"]["malformed_lines"]], [(2, "not a url")])
        # a domains entry covers its subdomains; a URL entry only the URLs that begin with it
        tail = '<img src="https://cdn.example.org/p.gif"><img src="https://tracker.example/x.gif"><img src="http://localhost/l.gif">'
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        self.assertIn('data-cg-src="https://cdn.example.org/p.gif"', html)
        self.assertIn('<img src="https://tracker.example/x.gif">', html)
        self.assertIn('<img src="http://localhost/l.gif">', html, "a hosts file's own names are not trackers")


class RewriteOffTest(GatewayTestCase):
    config = {"html": {"rewrite": False}}

    def test_off_means_byte_identical(self):
        path = "/__origin/html?file=rewriter/tracker_page/input.html"
        direct = curl(self.origin.url + path)
        via = curl(self.gw.url(path))
        self.assertIn(b"googletagmanager", direct.body)
        self.assertEqual(via.body, direct.body)
        self.assertEqual(via.header("Content-Length"), str(len(direct.body)))


class AdvertisingTagsTest(GatewayTestCase):
    """The shipped advertising list (conf/ad-trackers.txt, marketing) beside EasyPrivacy (analytics): the Meta Pixel,
    which EasyPrivacy calls analytics, needs marketing consent too; the banner is told so (data-cg-needs)."""
    config = {"trackers": {"lists": [{"name": "easyprivacy", "file": EASYPRIVACY, "format": "abp", "category": "analytics"},
                                     {"name": "advertising", "file": os.path.join(ROOT, "conf", "ad-trackers.txt"),
                                      "format": "abp", "category": "marketing"}]}}

    def page(self, categories=None):
        cookie = None
        if categories is not None:
            r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=json.dumps({"categories": categories}),
                     headers=["Content-Type: application/json"])
            cookie = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        return curl(self.gw.url("/__origin/html?file=pages/meta-pixel.html"), cookie=cookie).text

    def tag(self, html, ident):
        m = re.search(r'<(?:img|script)\b[^>]*\bid="%s"[^>]*>' % ident, html)
        self.assertIsNotNone(m, ident)
        return m.group(0)

    def test_a_pixel_two_lists_name_needs_both_categories(self):
        # the pixel: EasyPrivacy (.facebook.com/tr?$image) and the advertising list; the loader (fbevents.js) and the
        # Criteo tag: the advertising list alone (the EasyPrivacy sample does not name them)
        for granted, category in ((None, "analytics"), ({"analytics": True}, "marketing"), ({"marketing": True}, "analytics")):
            html = self.page(granted)
            t = self.tag(html, "fb-px")
            self.assertIn('data-cg-category="%s"' % category, t, (granted, t))
            self.assertIn('data-cg-needs="analytics marketing"', t, (granted, t))
            for ident in ("fb-loader", "ad-only"):
                t = self.tag(html, ident)
                if granted == {"marketing": True}:
                    self.assertNotIn("data-cg-", t, "marketing granted releases what only the advertising list names")
                else:
                    self.assertIn('data-cg-category="marketing"', t, (granted, t))
                    self.assertNotIn("data-cg-needs", t, "one list, one category")
        html = self.page({"analytics": True, "marketing": True})
        for ident in ("fb-px", "fb-loader", "ad-only"):
            self.assertNotIn("data-cg-", self.tag(html, ident))
        self.assertIn('src="https://www.facebook.com/tr?id=123456789012345&amp;ev=PageView"', html)


class ReportOnlyRewriteTest(GatewayTestCase):
    """enforcement: report-only leaves the page's tracker tags as the origin wrote them (the banner and nonces are
    still added: consent is collected, not enforced) and counts what enforcing would have made inert."""
    config = dict(RewriteTest.config, enforcement="report-only")

    def test_tags_left_as_they_are_and_counted(self):
        html = curl(self.gw.url("/")).text
        tag = [s for s in scripts(html) if "googletagmanager" in s]
        self.assertEqual(len(tag), 1, scripts(html))
        self.assertIn('src="%s"' % GTAG, tag[0])
        self.assertNotIn("text/plain", tag[0])
        self.assertRegex(html, r'<img[^>]*\ssrc="https://www.facebook.com/tr')
        self.assertIsNone(re.search(r"data-cg-(src|category|ping|href|style)", html), html)
        self.assertIn('src="/__consent/banner.js"', html)
        noscript = curl(self.gw.url("/__origin/html?file=pages/noscript.html")).text
        self.assertIn('<noscript id="pixel">', noscript, "a noscript loading a tracker is kept")
        self.assertGreaterEqual(metric(self.gw, "cg_report_only_would_neutralise_total", '{category="analytics"}'), 1)
        self.assertEqual(metric(self.gw, "cg_tags_neutralised_total", '{category="analytics"}'), 0)
        self.assertEqual(metric(self.gw, "cg_tags_neutralised_total", '{category="marketing"}'), 0)
