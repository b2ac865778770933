"""The private network channel against the real gateway: risk lists through the admin API (auth,
PUT, entries, check, audit across restarts), the signed link shim, subresource removal, CSP with
the page's nonces, HSTS, reloads from file changes and SIGHUP."""

import gzip
import html as htmlmod
import json
import os
import re
import signal
import time
import urllib.parse

from harness import (ADMIN_TOKEN, REPO, GatewayTestCase, curl, free_port, gateway_config, limit_file_size, metric, raw_request,
                     run_binary, wait_until)

AUTH = ["Authorization: Bearer " + ADMIN_TOKEN]


class ChannelTest(GatewayTestCase):
    with_tls = True
    config = {"risk": {"lists": [
        {"name": "phishing", "file": "phishing.txt", "format": "domains", "action": "block"},
        {"name": "risky", "file": "risky.txt", "format": "hosts", "action": "warn"},
        {"name": "paths", "file": "paths.txt", "format": "urls", "action": "block"},
        {"name": "allow", "file": "allow.txt", "format": "domains", "action": "allow"},
        {"name": "watch", "file": "watch.txt", "format": "domains", "action": "monitor"},
        {"name": "ips", "file": "ips.txt", "format": "domains", "action": "block"}]},
        "channel": {"csp": "enforce", "audit_log": "audit.log"},
        # a tracker list naming a block-listed host: the block list wins (the tag is removed, not made re-activatable)
        "trackers": {"lists": [{"name": "local", "file": "trackers.txt", "format": "abp", "category": "marketing"}]}}

    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.write_lists(cls.tmp)
        cls.gw.start()

    LIST_FILES = {
        "phishing.txt": "# phishing sites\nevil.example\n",
        "risky.txt": "0.0.0.0 risky.example\n127.0.0.1 localhost\n",
        "paths.txt": "files.example/malware/\n",
        "allow.txt": "safe.evil.example\n",
        "ips.txt": "10.9.8.7\n",
        "watch.txt": "watched.example\n",
        "trackers.txt": "||tracker.evil.example^\n||img.evil.example^\n",
    }

    @classmethod
    def write_lists(cls, d):
        for name, text in cls.LIST_FILES.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)

    def admin(self, path, **kw):
        kw.setdefault("headers", AUTH)
        return curl(self.gw.admin_url(path), **kw)

    def audit_lines(self):
        return [json.loads(l) for l in self.admin("/admin/audit").text.splitlines()]

    def check(self, q):
        r = self.admin("/admin/check?" + q)
        self.assertEqual(r.status, 200, r.text)
        return r.json()

    # ---- admin API -----------------------------------------------------------------------------------

    def test_admin_auth(self):
        self.assertEqual(curl(self.gw.admin_url("/admin/lists")).status, 401)
        self.assertEqual(curl(self.gw.admin_url("/admin/lists"), headers=["Authorization: Bearer nope"]).status, 403)
        r = self.admin("/admin/lists")
        self.assertEqual(r.status, 200)
        names = {l["name"]: l for l in r.json()}
        self.assertEqual(set(names), {"phishing", "risky", "paths", "allow", "watch", "ips"})
        self.assertEqual(names["phishing"]["action"], "block")
        self.assertEqual(names["phishing"]["entries"], 1)
        self.assertEqual(names["risky"]["entries"], 1, "localhost boilerplate is skipped")
        r = curl(self.gw.admin_url("/admin/lists/phishing"), method="PUT", data="x.example\n", headers=["Authorization: Bearer nope"])
        self.assertEqual(r.status, 403)

    def test_list_change_without_a_body(self):
        # a PUT or POST with no body at all (no Content-Length: h2o's req->entity is NULL, not "") is read as an empty
        # one; the PUT's copy of it ended the sanitizer build (memcpy from NULL)
        for method, path in (("PUT", "/admin/lists/phishing"), ("POST", "/admin/lists/phishing/entries")):
            empty = self.admin(path, method=method, data="")
            self.assertIn(empty.status, (400, 409), empty.text)  # (an empty list is refused without allow_empty)
            data = raw_request(self.gw.admin_port, ("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                                                    "Connection: close\r\n\r\n" % (method, path, ADMIN_TOKEN)).encode())
            self.assertEqual(data[:12], b"HTTP/1.1 %d" % empty.status, (method, data[:300]))
            self.assertTrue(self.gw.alive(), self.gw.diagnostics())
        self.assertEqual(self.check("host=www.evil.example")["verdict"], "block", "the list as it was")

    def test_check_verdicts(self):
        self.assertEqual(self.check("host=www.evil.example")["verdict"], "block")
        self.assertEqual(self.check("host=WWW.EVIL.EXAMPLE.")["verdict"], "block")
        self.assertEqual(self.check("host=evil.example.org")["verdict"], "clean")
        v = self.check("url=" + urllib.parse.quote("https://safe.evil.example/x", safe=""))
        self.assertEqual((v["verdict"], v["list"]), ("clean", "allow"), "allow lists win")
        self.assertEqual(self.check("host=risky.example")["verdict"], "warn")
        self.assertEqual(self.check("url=" + urllib.parse.quote("https://files.example/malware/x.exe", safe=""))["verdict"], "block")
        self.assertEqual(self.check("url=" + urllib.parse.quote("https://files.example/docs/x.pdf", safe=""))["verdict"], "clean")
        self.assertEqual(self.admin("/admin/check").status, 400)

    def test_put_then_check_and_audit_survives_restart(self):
        seen = len(self.admin("/admin/audit").text.splitlines())
        r = self.admin("/admin/lists/phishing", method="PUT", data="evil.example\nnew-phish.example\nnot a domain!!\n")
        self.assertEqual(r.status, 200, r.text)
        body = r.json()
        self.assertEqual(body["entries"], 2)
        self.assertEqual(body["rejected_lines"], 1)
        self.assertEqual(body["rejected"][0]["line"], 3)
        self.assertEqual((body["added"], body["removed"]), (1, 0), "what the replace changed: evil.example was listed")
        self.assertEqual(self.check("host=a.new-phish.example")["verdict"], "block")
        with open(self.gw.path("phishing.txt")) as f:
            self.assertIn("new-phish.example", f.read(), "PUT persists the list to its file")
        # garbage: refused, the old list unchanged
        bad = self.admin("/admin/lists/phishing", method="PUT", data="!!!\n???\n")
        self.assertEqual(bad.status, 400, bad.text)
        self.assertEqual(self.check("host=new-phish.example")["verdict"], "block")
        # entries
        r = self.admin("/admin/lists/phishing/entries", method="POST", data=json.dumps({"add": ["third.example"], "remove": ["new-phish.example"]}))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual((r.json()["added"], r.json()["removed"]), (1, 1))
        self.assertEqual(self.check("host=third.example")["verdict"], "block")
        self.assertEqual(self.check("host=new-phish.example")["verdict"], "clean")
        self.assertEqual(self.admin("/admin/lists/phishing/entries", method="POST", data="{oops").status, 400)
        self.assertEqual(self.admin("/admin/lists/nosuch", method="PUT", data="a.example\n").status, 404)
        time.sleep(1.0)  # room for a (wrong) reload of the gateway's own writes to show up
        audit = [json.loads(l) for l in self.admin("/admin/audit").text.splitlines()]
        mine = [a for a in audit[seen:] if a["list"] == "phishing"]
        self.assertEqual([a["action"] for a in mine], ["replace", "edit"], "each change audited once, never reloaded as a file change")
        self.assertTrue(all(a["who"] == harness_token_name() for a in mine))
        self.assertEqual(mine[-1]["version"], r.json()["version"], "the version the API answered is the one in force")
        self.assertEqual((mine[-1]["add"], mine[-1]["remove"]), (["third.example"], ["new-phish.example"]),
                         "an edit's audit line names what was asked (who removed an entry, and when)")
        self.assertEqual((mine[0]["entries_before"], mine[0]["entries"]), (1, 2), "a replace: the size before and after")
        self.assertEqual((mine[0]["added"], mine[0]["removed"], mine[0]["add"], mine[0]["remove"]), (1, 0, ["new-phish.example"], []),
                         "and what it changed (it said added 2 — every entry of the new list — and removed 0)")
        self.gw.stop_and_check()
        self.gw.start()
        audit2 = [json.loads(l) for l in self.admin("/admin/audit").text.splitlines()]
        self.assertEqual(audit2[:len(audit)], audit, "the audit log survives a restart")
        self.assertEqual(self.check("host=third.example")["verdict"], "block", "the list file was reloaded at start")
        lists = {l["name"]: l for l in self.admin("/admin/lists").json()}
        self.assertEqual(lists["phishing"]["version"], mine[-1]["version"], "the version goes on across a restart")
        self.assertEqual(lists["phishing"]["updated_at"], mine[-1]["time_ms"], "and so does the time of the last change")
        # an edit that changes nothing makes no version, no file write, no audit line
        before = len(self.admin("/admin/audit").text.splitlines())
        r = self.admin("/admin/lists/phishing/entries", method="POST", data=json.dumps({"remove": ["never-listed.example"]}))
        self.assertEqual((r.status, r.json()["not_found"], r.json()["version"]), (200, 1, mine[-1]["version"]))
        self.assertEqual(r.json()["not_found_entries"], ["never-listed.example"])
        self.assertEqual(len(self.admin("/admin/audit").text.splitlines()), before)

    def test_file_change_and_sighup_reload(self):
        with open(self.gw.path("risky.txt"), "w") as f:
            f.write("0.0.0.0 risky.example\n0.0.0.0 later.example\n")
        self.assertTrue(wait_until(lambda: self.check("host=later.example")["verdict"] == "warn", 5), "inotify reload")
        self.assertTrue(wait_until(lambda: any(a["list"] == "risky" and a["action"] == "reload" for a in self.audit_lines()), 3))
        last = [a for a in self.audit_lines() if a["list"] == "risky"][-1]
        self.assertEqual((last["who"], last["added"], last["removed"], last["add"], last["remove"]),
                         ("file-change", 1, 0, ["0.0.0.0 later.example"], []))
        # a vanished file keeps the last good list, and says so at once
        os.rename(self.gw.path("risky.txt"), self.gw.path("risky.moved"))
        self.assertTrue(wait_until(lambda: "risky.txt was deleted or moved away" in self.gw.error_log(), 5))
        self.gw.signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertEqual(self.check("host=later.example")["verdict"], "warn")
        os.rename(self.gw.path("risky.moved"), self.gw.path("risky.txt"))
        # a file truncated to nothing, or to its comments (a failed download), keeps the last good list too
        for text in ("", "# risky sites\n"):
            with open(self.gw.path("risky.txt"), "w") as f:
                f.write(text)
            self.assertTrue(wait_until(lambda: self.gw.error_log().count("no entries: the 2 in force stay") >= (1 if not text else 2), 5),
                            self.gw.error_log()[-500:])
            self.assertEqual(self.check("host=later.example")["verdict"], "warn")
        with open(self.gw.path("risky.txt"), "w") as f:
            f.write(self.LIST_FILES["risky.txt"])

    # ---- pages -------------------------------------------------------------------------------------------

    def page(self, tls=False):
        r = curl(self.gw.url("/__origin/html?file=pages/links.html", tls=tls))
        self.assertEqual(r.status, 200)
        return r

    def href(self, html, ident):
        m = re.search(r'<a id="%s" href="([^"]*)"' % ident, html)
        return htmlmod.unescape(m.group(1))

    def test_block_listed_srcset_candidate_removes_the_image(self):
        html = curl(self.gw.url("/__origin/html?file=pages/srcset.html")).text
        self.assertNotIn("img.evil.example", html)
        self.assertNotIn('id="ss-evil"', html)
        self.assertNotIn('id="ls-evil"', html, "a preload with a block-listed imagesrcset candidate is removed")
        self.assertIn('id="ls-clean"', html)
        self.assertIn('id="ss-clean"', html)
        self.assertIn('<p id="after">after</p>', html)

    CSS_TYPE = "&h=" + urllib.parse.quote("Content-Type:text/css; charset=utf-8")
    SHEET_BLOCKED = ("https://evil.example/theme.css", "https://img.evil.example/bg.png", "//evil.example/h.jpg",
                     "https://fonts.evil.example/shop.woff2", "https://img.evil.example/sprite.png",
                     "https://files.example/malware/x.png")

    def test_block_listed_urls_in_a_style_sheet_the_site_serves(self):
        # a site's own .css file: what it loads from a block-listed site becomes about:invalid of the same length
        sheet = "/__origin/html?file=sheets/site.css" + self.CSS_TYPE
        direct = curl(self.origin.url + sheet)
        checked, removed = metric(self.gw, "cg_css_checked_total"), metric(self.gw, "cg_risk_subresources_total", '{action="removed"}')
        r = curl(self.gw.url(sheet))
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), len(direct.body), "the sheet keeps its length")
        self.assertEqual(r.header("Content-Length"), str(len(direct.body)))
        css = r.text
        self.assertNotRegex(css.replace("safe.evil.example", ""), r"evil\.example|files\.example/malware",
                            "a block-listed URL in the sheet went out")
        # each block-listed URL (url(), quoted or not, @import, image-set, @font-face, twice the same) became about:invalid
        # padded to its length; everything else byte for byte, the allow-listed subdomain and the other sites' URLs too
        expected = direct.text
        for u in self.SHEET_BLOCKED:
            expected = expected.replace(u, "about:invalid#" + "x" * (len(u) - 14))
        self.assertEqual(css, expected)
        self.assertEqual(metric(self.gw, "cg_css_checked_total"), checked + 1)
        # each URL counted once (the sprite is named twice)
        self.assertEqual(metric(self.gw, "cg_risk_subresources_total", '{action="removed"}'), removed + 6)

    def test_style_sheet_gzip_escapes_size_and_other_types(self):
        # gzip from the origin: read, checked, and compressed again for the client
        r = curl(self.gw.url("/__origin/gzip-html?file=sheets/site.css" + self.CSS_TYPE), headers=["Accept-Encoding: gzip"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        css = gzip.decompress(r.body).decode()
        self.assertEqual(css.count("about:invalid#"), 7)
        self.assertNotIn("img.evil.example", css)
        # a block-listed URL spelled with escapes cannot be replaced in place: the sheet goes, its length kept
        direct = curl(self.origin.url + "/__origin/html?file=sheets/escaped.css" + self.CSS_TYPE)
        r = curl(self.gw.url("/__origin/html?file=sheets/escaped.css" + self.CSS_TYPE))
        self.assertEqual(len(r.body), len(direct.body))
        self.assertTrue(r.text.startswith("/* consentgate: removed a style sheet loading from a blocked site or a refused tracker */"), r.text)
        self.assertNotIn("evil", r.text)
        # so is one only a block list names (img.evil.example above is a tracker as well): the browser's reading is
        # checked against the risk lists too
        blocked_only = "/__origin/html?file=sheets/empty.txt&tail=" + urllib.parse.quote(
            "/* u\\72l is url */ .b { background: u\\72l(https://cdn.evil.example/e.png) }") + self.CSS_TYPE
        r = curl(self.gw.url(blocked_only))
        self.assertEqual(len(r.body), len(curl(self.origin.url + blocked_only).body))
        self.assertTrue(r.text.startswith("/*") and r.text.rstrip().endswith("*/"), r.text)
        self.assertNotIn("evil", r.text)
        # over 1 MB: passed through unchecked, and counted
        unchecked = metric(self.gw, "cg_css_unchecked_total")
        big = "/__origin/html?file=sheets/site.css&repeat=1200" + self.CSS_TYPE
        r = curl(self.gw.url(big))
        self.assertEqual(r.body, curl(self.origin.url + big).body)
        self.assertGreater(len(r.body), 1024 * 1024)
        self.assertEqual(metric(self.gw, "cg_css_unchecked_total"), unchecked + 1)
        # a sheet that comes in many pieces is held whole and goes on unchanged when it names nothing listed; over
        # HTTP/2 the same as over HTTP/1.1
        pieces = "/__origin/chunked?n=60&size=1000&delay_ms=2&ct=" + urllib.parse.quote("text/css")
        self.assertEqual(curl(self.gw.url(pieces)).body, curl(self.origin.url + pieces).body)
        h2 = curl(self.gw.url("/__origin/html?file=sheets/site.css" + self.CSS_TYPE, tls=True), http="2")
        self.assertEqual(h2.status, 200)
        self.assertEqual(h2.text.count("about:invalid#"), 7)
        # not a style sheet: untouched
        text = "/__origin/html?file=sheets/site.css&h=" + urllib.parse.quote("Content-Type:text/plain")
        self.assertEqual(curl(self.gw.url(text)).body, curl(self.origin.url + text).body)
        # a browser's request for a sheet asks the origin for what the gateway reads (gzip), not br
        curl(self.gw.url("/__origin/echo?sheet=1"), headers=["Sec-Fetch-Dest: style", "Accept-Encoding: gzip, deflate, br, zstd"])
        sent = [r for r in self.origin.requests() if "sheet=1" in r["path"]][-1]
        self.assertEqual([v for n, v in sent["headers"] if n.lower() == "accept-encoding"], ["gzip"])

    def test_big_buffers_held_at_once_have_a_budget(self):
        # the big buffers one worker holds at once (sheets held whole, long tags, long inline content) have a budget
        # (32 MB; lowered here to 80 KB with the test hook CG_HOLD_BUDGET_KB): past it a sheet goes through unchecked
        # and a page gets no bigger buffer (a long tag overflows: what loads goes), both counted; what a finished
        # response held is given back
        g = self.new_gateway("budget", dict(self.gw.config, threads=1, listen=[{"host": "127.0.0.1", "port": free_port()}],
                                            admin=dict(self.gw.config["admin"], listen={"host": "127.0.0.1",
                                                                                         "port": free_port()})),
                             start=False)
        g.env["CG_HOLD_BUDGET_KB"] = "80"
        self.write_lists(g.workdir)
        g.start()
        small = "/__origin/html?file=sheets/site.css" + self.CSS_TYPE  # ~1 KB: a 16 KB buffer
        big = "/__origin/html?file=sheets/site.css&repeat=100" + self.CSS_TYPE  # ~92 KB: a 128 KB buffer
        unchecked, refused = metric(g, "cg_css_unchecked_total"), metric(g, "cg_html_big_refused_total")
        r = curl(g.url(big))
        self.assertEqual(r.body, curl(self.origin.url + big).body, "over the budget: unchecked")
        self.assertEqual(metric(g, "cg_css_unchecked_total"), unchecked + 1)
        for _ in range(6):  # each gives back its 16 KB: never over 80 KB
            self.assertIn("about:invalid#", curl(g.url(small)).text)
        # a page with 40 KB tags: one 64 KB buffer, given back each time
        for _ in range(3):
            html = curl(g.url("/__origin/html?file=pages/long-tags.html&pad=40000")).text
            self.assertTrue(self.href_after_pad(html, "long-clean").startswith("/__go?u="))
            self.assertNotIn('id="long-img"', html)
        self.assertEqual(metric(g, "cg_css_unchecked_total"), unchecked + 1)
        self.assertEqual(metric(g, "cg_html_big_refused_total"), refused)
        # 70 KB tags need a 256 KB buffer: refused, the tags overflow and what loads or leads elsewhere goes
        html = curl(g.url("/__origin/html?file=pages/long-tags.html&pad=70000")).text
        for gone in ("login.evil.example", "www.partner.example", "/app.js", 'id="long-img"'):
            self.assertNotIn(gone, html)
        self.assertIn('<p id="after">after</p>', html)
        self.assertGreater(metric(g, "cg_html_big_refused_total"), refused)

    def test_block_listed_urls_in_css(self):
        html = curl(self.gw.url("/__origin/html?file=pages/css.html")).text
        self.assertNotIn("evil.example/", html.replace('title="https://img.evil.example/not-loaded"', ""),
                         "a block-listed URL in a style sheet or attribute went out")
        for gone in ("st-evil", "st-escaped", "st-import", "st-late"):  # url(), CSS escapes, @import "…", after repeats
            self.assertNotIn('id="%s"' % gone, html, "a style sheet loading from a block-listed site is removed")
        self.assertRegex(html, r'<style id="st-clean" nonce="[^"]+">body \{ background: url\(/img/bg.png\) \}',
                         "a clean style sheet stays as it was (with the nonce)")
        # attributes: the element stays (a <td> or <p> cannot be removed safely), the attribute goes
        self.assertIn('<div id="sa-evil">evil</div>', html)
        self.assertIn('<div id="sa-ref">refs</div>', html, "character references hide no URL")
        self.assertIn('<table id="bg-table"><tr>', html, "the legacy background attribute is checked")
        self.assertIn('<div id="sa-clean" style="background: url(/img/ok.png); color: red">', html)
        self.assertIn('<span id="sa-other" style="color: red" title="https://img.evil.example/not-loaded">', html,
                      "only URLs that load are checked")
        self.assertEqual(html.count("removed a resource from a site on a block list"), 7)
        self.assertIn('<p id="after">after</p>', html)

    def test_origin_redirects_to_listed_sites_go_through_the_shim(self):
        """An open redirect on the site (the origin answering 3xx with another site's URL) would take a visitor to a
        block- or warn-listed site without the shim ever seeing it: such a Location becomes the signed /__go URL."""
        def redirect(status, location):
            return curl(self.gw.url("/__origin/status/%d?h=%s" % (status, urllib.parse.quote("Location:" + location))))
        before = metric(self.gw, "cg_risk_redirects_total")
        for status, location, outcome in ((302, "https://login.evil.example/signin?x=1", 403), (307, "/\\login.evil.example/a", 403),
                                          (301, "//risky.example/offer", 200), (303, "HTTPS://files.example/malware/x.exe", 403),
                                          (302, "https:login.evil.example/signin", 403),  # (another scheme: a host)
                                          (308, "https://login.evil.example/api", 403),
                                          (302, "http://login.evil.example/x", 403),
                                          # a backslash after the host is a slash to browsers: the host is evil's
                                          (302, "https://login.evil.example\\@www.partner.example/", 403)):
            r = redirect(status, location)
            self.assertEqual(r.status, status)
            go = r.header("Location")
            self.assertTrue(go.startswith("/__go?u="), (location, go))
            followed = curl(self.gw.url(go))
            self.assertEqual(followed.status, outcome, (location, followed.text[:200]))
            if outcome == 200:  # warn-listed: the interstitial names where the redirect was going
                self.assertIn("http://risky.example/offer", htmlmod.unescape(followed.text))  # "//": the request's scheme
        self.assertEqual(metric(self.gw, "cg_risk_redirects_total"), before + 8)
        # clean sites, the site itself, relative URLs and unlisted paths of a listed host are left as they are
        for location in ("https://www.partner.example/offer", "/local/page", "https:local", "https://files.example/ok/x",
                         "mailto:someone@evil.example"):
            self.assertEqual(redirect(302, location).header("Location"), location)
        # "https:path" on an https request is a path of the site itself (on an http one, a host: above)
        r = curl(self.gw.url("/__origin/status/302?h=%s" % urllib.parse.quote("Location:https:login.evil.example"), tls=True))
        self.assertEqual(r.header("Location"), "https:login.evil.example")
        self.assertEqual(metric(self.gw, "cg_risk_redirects_total"), before + 8)

    def test_paths_and_hosts_read_as_browsers_read_them(self):
        """A URL entry is matched against the path the server will read (dot segments and escapes of unreserved
        characters resolved, as browsers resolve them before requesting); a host no list can be asked about (a label
        over 63 bytes) is neither loaded nor followed; a TAB inside a redirect's host is dropped, as browsers drop it."""
        before = metric(self.gw, "cg_go_total", '{outcome="unreadable"}') or 0
        html = curl(self.gw.url("/__origin/html?file=pages/risk-paths.html")).text
        for ident in ("dots", "pct-dots", "pct-path", "long-label"):
            self.assertNotIn('id="%s"' % ident, html)
        self.assertIn('id="unlisted"', html, "a path that only starts like an entry's stays")
        self.assertIn("consentgate: removed a resource from a site that cannot be checked", html)
        self.assertIn("after", html)
        self.assertEqual(curl(self.gw.url(self.href(html, "dots-link"))).status, 403)
        r = curl(self.gw.url(self.href(html, "long-link")))
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))
        self.assertIn("cannot be checked", r.text)
        self.assertEqual(metric(self.gw, "cg_go_total", '{outcome="unreadable"}'), before + 1)
        for url in ("https://files.example/ok/../malware/x.exe", "https://files.example/x/%2e%2e/malware/",
                    "https://evil.example\\@good.example/"):
            self.assertEqual(self.check("url=" + urllib.parse.quote(url, safe=""))["verdict"], "block", url)
        for location in ("https://login.ev\til.example/", "/\t/login.evil.example/", "ht\ttps://login.evil.example/",
                         "https:\t//login.evil.example/"):  # browsers take tabs out of the whole value first
            r = curl(self.gw.url("/__origin/status/302?h=%s" % urllib.parse.quote("Location:" + location)))
            go = r.header("Location")
            self.assertTrue(go.startswith("/__go?u=http") and "login.evil.example%2F&s=" in go, (location, go))
            self.assertEqual(curl(self.gw.url(go)).status, 403, location)

    def test_refresh_header_to_another_site_goes_through_the_shim(self):
        """A Refresh response header is <meta http-equiv=refresh> as a header: to another site it goes through /__go,
        the delay kept; to the site itself it stays; one too long for the shim is removed."""
        def page(refresh):
            r = curl(self.gw.url("/__origin/status/200?h=%s" % urllib.parse.quote("Refresh:" + refresh)))
            self.assertEqual(r.status, 200)
            return [v for h, v in r.headers if h.lower() == "refresh"]
        got = page("3; url='https://www.partner.example/offer'")
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0], r"^3; url=/__go\?u=https%3A%2F%2Fwww\.partner\.example%2Foffer&s=[A-Za-z0-9_-]{22}$")
        self.assertEqual(curl(self.gw.url(got[0][len("3; url="):])).header("Location"), "https://www.partner.example/offer")
        blocked = page("0;URL=//login.evil.example/signin")[0]
        self.assertEqual(curl(self.gw.url(blocked[len("0; url="):])).status, 403)
        for same in ("5; url=/local/page", "10", "0; url=https://127.0.0.1/x", "junk; url=https://evil.example/"):
            self.assertEqual(page(same), [same], same)
        self.assertEqual(page("0; url=https://www.partner.example/" + "a" * 9000), [], "too long for the shim: removed")

    def test_link_headers_to_blocked_sites_dropped(self):
        """A page's Link header asks the browser to fetch as a <link> tag does: a value that fetches from a block-listed
        site (or a refused tracker) is dropped, the rest of the header kept as it was; a header left empty goes."""
        link1 = ("<https://cdn.evil.example/a.js>; rel=preload; as=script, </local.css>; rel=preload; as=style, "
                 "<https://www.partner.example/a,b.css>; rel=stylesheet, <https://evil.example/about>; rel=canonical")
        link2 = '<https://img.evil.example/p.png>; rel="preload"; as="image"'
        link3 = "<https://tracker.evil.example/t.js>; rel=modulepreload"
        q = "&".join("h=" + urllib.parse.quote("Link:" + v) for v in (link1, link2, link3))
        r = curl(self.gw.url("/__origin/html?file=pages/links.html&" + q))
        self.assertEqual(r.status, 200)
        got = [v for h, v in r.headers if h.lower() == "link"]
        self.assertEqual(got, ["</local.css>; rel=preload; as=style, <https://www.partner.example/a,b.css>; rel=stylesheet, "
                               "<https://evil.example/about>; rel=canonical"],
                         "only the preloads from block-listed sites go (a canonical reference fetches nothing)")

    def test_redirects_and_link_headers_too_long_to_check(self):
        """Padding a URL past what the shim (8 KB) or the rewriter (16 KB) takes must not let it through unchecked: an
        open redirect's Location to a block- or warn-listed site too long to shim loses its Location (nothing to follow;
        a clean one keeps it), and a Link value that fetches from a URL too long to check is dropped. Both went out as
        they came."""
        pad = "a" * 9000
        for status, location in ((302, "https://login.evil.example/" + pad), (301, "//risky.example/" + pad),
                                 (307, "https://x." + "a" * 64 + ".example/" + pad)):  # (a host no list can be asked about)
            r = curl(self.gw.url("/__origin/status/%d?h=%s" % (status, urllib.parse.quote("Location:" + location))))
            self.assertEqual(r.status, status)
            self.assertTrue(r.header("Location") is None, location[:40])
        clean = "https://www.partner.example/" + pad
        r = curl(self.gw.url("/__origin/status/302?h=%s" % urllib.parse.quote("Location:" + clean)))
        self.assertEqual(r.header("Location"), clean)
        long_link = "<https://cdn.evil.example/%s.js>; rel=preload; as=script, </local.css>; rel=preload; as=style" % ("a" * 17000)
        r = curl(self.gw.url("/__origin/html?file=pages/links.html&h=" + urllib.parse.quote("Link:" + long_link)))
        self.assertEqual(r.status, 200)
        self.assertEqual([v for h, v in r.headers if h.lower() == "link"], ["</local.css>; rel=preload; as=style"])

    def test_blocked_media_and_svg_script_removed(self):
        html = curl(self.gw.url("/__origin/html?file=pages/media.html")).text
        for gone in ("media.evil.example", "cdn.evil.example/s.js", "subs.evil.example", "img.evil.example/s.png",
                     "img.evil.example/fe.png", "img.evil.example/h.png"):
            self.assertNotIn(gone, html)
        self.assertIn('<circle r="1"/></svg>', html, "a removed self-closed SVG image takes nothing after it")
        # an SVG filter's image loses its URL, not the element; outside SVG the same (an unknown element, no end tag)
        self.assertRegex(html, r'<feImage id="fe-evil"\s*/?>')
        self.assertIn('<rect id="fe-user" filter="url(#fx)" width="1" height="1"/></svg>', html)
        self.assertRegex(html, r'<feimage id="fe-html">outside SVG, an unknown element')
        self.assertIn('<p id="after">after</p>', html)

    def test_base_on_a_blocked_site_removed(self):
        html = curl(self.gw.url("/__origin/html?file=pages/base-blocked.html")).text
        self.assertNotIn("<base", html)
        self.assertIn("consentgate: removed", html)
        self.assertRegex(html, r'<script src="app.js" nonce="[^"]+">', "relative URLs stay on the page's own site")

    def test_links_wrapped_and_followed(self):
        html = self.page().text
        self.assertEqual(self.href(html, "local"), "/about")
        clean = self.href(html, "clean")
        self.assertTrue(clean.startswith("/__go?u="), clean)
        r = curl(self.gw.url(clean))
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("Location"), "https://www.partner.example/offer?x=1&y=2")
        # the site the visitor leaves is not told where they were, and the answer is not kept
        self.assertEqual((r.header("Referrer-Policy"), r.header("Cache-Control")), ("no-referrer", "no-store"))
        w = curl(self.gw.url(self.href(html, "warn")))
        self.assertEqual(w.status, 200)
        self.assertIn("risky.example", w.text)
        cont = htmlmod.unescape(re.search(r'href="(/__go\?[^"]*&amp;c=[^"]*|/__go\?[^"]*&c=[^"]*)"', w.text).group(1))
        c = curl(self.gw.url(cont))
        self.assertEqual((c.status, c.header("Location")), (302, "https://risky.example/page"))
        b = curl(self.gw.url(self.href(html, "block")))
        self.assertEqual(b.status, 403)
        self.assertNotIn("Location", [h for h, _ in b.headers])
        # an SVG link named by xlink:href only: wrapped through href, which SVG 2 prefers
        svg = re.search(r'<a id="svglink"[^>]*\shref="([^"]*)"', html)
        self.assertIsNotNone(svg, html)
        self.assertEqual(curl(self.gw.url(htmlmod.unescape(svg.group(1)))).status, 403)
        # a percent-encoded host is the host a browser decodes it to: blocked and warned alike
        for ident, status in (("pct-block", 403), ("pct-warn", 200)):
            r = curl(self.gw.url(self.href(html, ident)))
            self.assertEqual(r.status, status, ident)
            self.assertNotIn("Location", [h for h, _ in r.headers], ident)

    def test_start_tags_past_8_kb_are_checked_like_any(self):
        """Tags padded to 40 KB, 70 KB and 300 KB (past the tokenizer's 8 KB buffer, and past the first and second
        buffers it grows to) are read whole: the link goes through the shim, block-listed subresources go, the script
        gets its nonce. A noscript URL with such a host (once decoded past a 16 KB buffer: a crash) is just not a URL."""
        for pad in (40000, 70000, 300000):
            r = curl(self.gw.url("/__origin/html?file=pages/long-tags.html&pad=%d" % pad))
            self.assertEqual(r.status, 200)
            html = r.text
            self.assertTrue('<p id="after">after</p>' in html, pad)
            self.assertTrue('<p id="after-noscript">after the noscript</p>' in html, pad)
            clean = self.href_after_pad(html, "long-clean")
            self.assertTrue(clean.startswith("/__go?u="), clean[:200])
            self.assertEqual(curl(self.gw.url(clean)).header("Location"), "https://www.partner.example/offer")
            self.assertEqual(curl(self.gw.url(self.href_after_pad(html, "long-block"))).status, 403)
            for gone in ("img.evil.example", 'id="long-img"', "evil.example/frame"):
                self.assertTrue(gone not in html, "%s at %d" % (gone, pad))
            self.assertTrue(re.search(r'<script data-pad="a{%d}" src="/app.js" nonce="[^"]+">' % pad, html), pad)
            self.assertTrue(self.gw.alive(), "the gateway is still running")
        # past 1 MB a tag is not read: whatever loads or leads elsewhere goes rather than pass unchecked, an image too
        before = metric(self.gw, "cg_html_oversized_removed_total")
        huge = curl(self.gw.url("/__origin/html?file=pages/long-tags.html&pad=1100000")).text
        for gone in ("login.evil.example", "www.partner.example", "evil.example/frame", "/app.js", 'id="long-img"'):
            self.assertTrue(gone not in huge, gone)
        self.assertTrue('<p id="after">after</p>' in huge)
        self.assertEqual(metric(self.gw, "cg_html_oversized_removed_total"), before + 5)

    def test_urls_too_long_to_check_are_not_followed(self):
        """A URL of 20 KB (past the 16 KB the rewriter decodes URLs into) cannot be checked, and one of 10 KB cannot go
        through the link shim (8 KB): a link keeps its text but stops being a link, an image or script naming one goes;
        an inline data: image of that length stays."""
        # 10 KB: checked, but too long for the link shim (8 KB); 20 KB: too long to check
        for pad in (10000, 20000):
            html = curl(self.gw.url("/__origin/html?file=pages/long-urls.html&pad=%d" % pad)).text
            self.assertTrue('<p id="after">after</p>' in html)
            self.assertRegex(html, r'<a id="long-link" data-cg-unchecked-href="http://login\.evil\.example/a{%d}">phish</a>' % pad)
            self.assertTrue(self.href(html, "short-link").startswith("/__go?u="), "a link of ordinary length is wrapped")
            for gone in ('id="long-img"', "img.evil.example", "cdn.evil.example"):
                self.assertTrue(gone not in html, (pad, gone))
            self.assertTrue('<img id="inline-img" src="data:image/gif;base64,R0lGODlh' in html, "the inline image stays")
        # the shim's limit is exact: a URL of 8192 bytes goes through it, one of 8193 does not
        prefix = len("http://login.evil.example/")
        for length, attr in ((8192, "href"), (8193, "data-cg-unchecked-href")):
            html = curl(self.gw.url("/__origin/html?file=pages/long-urls.html&pad=%d" % (length - prefix))).text
            m = re.search(r'<a id="long-link" ([a-z-]+)="([^"]*)"', html)
            self.assertIsNotNone(m, length)
            self.assertEqual(m.group(1), attr, length)

    def test_meta_refresh_to_another_site_goes_through_the_shim(self):
        """A refresh is a navigation the page makes by itself: its URL is wrapped like a link's, the delay kept."""
        html = curl(self.gw.url("/__origin/html?file=pages/refresh.html")).text

        def content(ident):
            m = re.search(r'<meta id="%s"[^>]* content="([^"]*)"' % ident, html)
            self.assertIsNotNone(m, ident)
            return htmlmod.unescape(m.group(1))
        block, clean = content("r-block"), content("r-clean")
        self.assertRegex(block, r"^30; url=/__go\?u=[^ ]+&s=[^ ]+$")
        self.assertRegex(clean, r"^5; url=/__go\?u=")
        self.assertEqual(curl(self.gw.url(block.split("url=", 1)[1])).status, 403, "a block-listed target is stopped")
        r = curl(self.gw.url(clean.split("url=", 1)[1]))
        self.assertEqual((r.status, r.header("Location")), (302, "https://www.partner.example/offer"))
        self.assertEqual(content("r-local"), "10; url=/about", "a refresh within the site stays")
        self.assertEqual(content("r-reload"), "60")
        self.assertEqual(content("r-other"), "url=https://login.evil.example/", "only http-equiv=refresh is a refresh")
        # browsers do not refresh without a delay or with junk after it: made into a refresh, it would start one
        self.assertEqual(content("r-nodelay"), "url=https://www.partner.example/")
        self.assertEqual(content("r-baddelay"), "5x; url=https://www.partner.example/")

    def legacy_locations(self, file, ctype, ids, refresh=False):
        """{id: the Location /__go sends for that link} of a page in a legacy encoding served with Content-Type ctype"""
        r = curl(self.gw.url("/__origin/html?file=pages/%s&ctype=%s" % (file, urllib.parse.quote(ctype))))
        self.assertEqual(r.status, 200)
        html = r.body.decode("latin-1")
        got = {}
        for ident in ids:
            go = self.href(html, ident)
            self.assertTrue(go.startswith("/__go?u="), (ident, go))
            f = curl(self.gw.url(go))
            self.assertEqual(f.status, 302, (ident, f.text[:200]))
            got[ident] = f.header("Location")
        if refresh:
            m = re.search(r'<meta http-equiv="refresh" content="([^"]*)"', html)
            go = htmlmod.unescape(m.group(1)).split("url=", 1)[1]
            got["refresh"] = curl(self.gw.url(go)).header("Location")
        return got

    SHIFT_JIS_WANT = {
        # the path and fragment percent-encoded as UTF-8, the query in the page's encoding (as Chromium asks for them)
        "path": "https://ja.example.org/wiki/%E6%97%A5%E6%9C%AC?q=%93%FA%96{#%E6%97%A5%E6%9C%AC",
        "host": "https://xn--wgv71a.example/x",  # 日本.example through IDNA
        # a lead and a non-ASCII byte that make no character: one U+FFFD; a lead before an ASCII byte: U+FFFD, the byte
        "broken": "https://ja.example.org/a%EF%BF%BDb%EF%BF%BD!",
        # character references are characters: 日 in the path, € (not in Shift_JIS) in the query as "&#8364;"
        "refs": "https://ja.example.org/wiki/%E6%97%A5?q=%26%238364%3B",
        "trail5c": "https://ja.example.org/%E8%A1%A8",  # 表 is 95 5C: that 5C is no backslash (no '/')
        "ascii": "https://ja.example.org/plain?x=1",
        "refresh": "https://ja.example.org/wiki/%E6%97%A5%E6%9C%AC",
    }

    def test_links_in_a_shift_jis_page_lead_where_the_browser_goes(self):
        """A link in a page in a legacy encoding with characters beyond ASCII written as they are is read as the
        browser reads it: decoded from the page's encoding, its path and fragment percent-encoded as UTF-8, its query
        in the page's encoding, its host through IDNA. So /__go leads where the browser would have gone without the
        gateway (it used to send the page's bytes: /wiki/%93%FA%96%7B, a 404 there; and a 400 for the host)."""
        got = self.legacy_locations("legacy-shift_jis.html", "text/html; charset=Shift_JIS", ["path", "host", "broken", "refs",
                                                                                              "trail5c", "ascii"], refresh=True)
        self.assertEqual(got, self.SHIFT_JIS_WANT)
        # the encoding named only in a <meta charset>: the same
        got = self.legacy_locations("legacy-meta.html", "text/html", ["path", "host", "broken", "refs", "trail5c", "ascii"],
                                    refresh=True)
        self.assertEqual(got, self.SHIFT_JIS_WANT)
        # the Content-Type's charset wins over the <meta>'s: read as windows-1252, 日本's bytes are 4 Latin letters
        got = self.legacy_locations("legacy-meta.html", "text/html; charset=windows-1252", ["path"])
        # ('{' as written, which the browser percent-encodes in a path when it follows the Location, as it would have)
        self.assertEqual(got["path"], "https://ja.example.org/wiki/%E2%80%9C%C3%BA%E2%80%93{?q=%93%FA%96{#%E2%80%9C%C3%BA%E2%80%93{")

    def test_links_in_windows_1252_and_euc_kr_pages_lead_where_the_browser_goes(self):
        got = self.legacy_locations("legacy-windows-1252.html", "text/html; charset=iso-8859-1", ["path", "host"])
        self.assertEqual(got, {"path": "https://de.example.org/Stra%C3%9Fe?q=%DF%80#%C3%A9",
                               "host": "https://xn--mnchen-3ya.example/"})
        got = self.legacy_locations("legacy-euc-kr.html", "text/html; charset=euc-kr", ["path"])
        self.assertEqual(got, {"path": "https://ko.example.org/wiki/%ED%95%9C%EA%B5%AD?q=%C7%D1%B1%B9"})
        # a UTF-8 byte order mark wins over the Content-Type, in the browser as here: the link's bytes are UTF-8's
        r = curl(self.gw.url("/__origin/html?file=pages/legacy-bom.html&ctype=" + urllib.parse.quote("text/html; charset=Shift_JIS")))
        self.assertIn("wiki%2F%E6%97%A5%E6%9C%AC&s=", self.href(r.body.decode("latin-1"), "path"))
        # served as UTF-8 (a page whose bytes are not UTF-8 then): as before, the bytes as they are
        r = curl(self.gw.url("/__origin/html?file=pages/legacy-euc-kr.html"))
        f = curl(self.gw.url(self.href(r.body.decode("latin-1"), "path")))
        self.assertEqual(f.status, 302)
        self.assertNotIn("%ED%95%9C", f.header("Location"))

    def test_submit_buttons_sending_forms_to_a_blocked_site_removed(self):
        """formaction (button, input) is checked like a form's action, and an image button's src like an image's."""
        html = curl(self.gw.url("/__origin/html?file=pages/formaction.html")).text
        for gone in ('id="b-evil"', 'id="i-evil"', 'id="i-img-evil"', "evil.example"):
            self.assertTrue(gone not in html, gone)
        for kept in ('<button id="b-clean" formaction="https://www.partner.example/form">', '<button id="b-plain"',
                     '<input id="i-img-clean" type=" IMAGE " src="https://images.partner.example/go.png"',
                     '<form id="f" action="/search"', '<p id="after">after</p>'):
            self.assertTrue(kept in html, kept)

    def test_iframe_srcdoc_is_rewritten_like_the_page(self):
        """The document in a srcdoc attribute has the page's origin: its links are shimmed, its block-listed
        subresources removed, a srcdoc inside it removed; its <base> stays its own; its text comes back as written."""
        html = curl(self.gw.url("/__origin/html?file=pages/srcdoc.html")).text
        m = re.search(r'<iframe id="ad" srcdoc="([^"]*)"', html)
        self.assertIsNotNone(m)
        doc = htmlmod.unescape(m.group(1))
        self.assertTrue('<p>an ad &amp; more</p>' in doc, doc)
        self.assertTrue('<base href="https://cdn.partner.example/">' in doc, doc)
        link = htmlmod.unescape(re.search(r'<a id="sd-link" href="([^"]*)"', doc).group(1))
        # the srcdoc has its own <base> on another site: its shim links name the gateway's origin
        self.assertTrue(link.startswith(self.gw.url("/__go?u=")), link)
        self.assertEqual(curl(link).header("Location"), "https://www.partner.example/offer")
        for gone in ("img.evil.example", "tracker.evil.example", "srcdoc"):
            self.assertTrue(gone not in doc, (gone, doc))
        self.assertTrue('<img id="sd-rel" src="banner.png">' in doc, doc)
        self.assertTrue('<a id="after-link" href="next">' in html, "the srcdoc's <base> does not move the page's")
        self.assertTrue('<p id="after">after</p>' in html)

    def generated_page(self, prefix, text):
        """text served by the origin as a page (a file of tests/data/pages made for this request, removed after it)"""
        name = "%s-%d.html" % (prefix, int(time.time() * 1000))
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "pages", name)
        with open(path, "w") as f:
            f.write(text)
        try:
            return curl(self.gw.url("/__origin/html?file=pages/" + name))
        finally:
            os.unlink(path)

    def peak_kb(self):
        """the gateway's peak RSS so far (VmHWM), KB"""
        with open("/proc/%d/status" % self.gw.proc.pid) as f:
            return int(f.read().split("VmHWM:")[1].split()[0])

    def test_many_srcdoc_frames_hold_no_memory_each(self):
        # each <iframe srcdoc> took its own 16 KB tokenizer from the response's pool: 20,000 of them in a 520 KB page
        # made the (release) gateway's peak RSS grow by 175 MB; now one is set up again for each
        before = self.peak_kb()
        r = self.generated_page("srcdoc-many", "<!DOCTYPE html><p>" + "<iframe srcdoc=a></iframe>" * 20000 + "</p>")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.text.count('<iframe srcdoc="a">'), 20000)
        self.assertLess(self.peak_kb() - before, 64 * 1024, "peak RSS grew by more than 64 MB for one page")

    def test_many_srcdocs_with_long_tags_share_one_big_buffer(self):
        # a srcdoc's tokenizer is set up again for each srcdoc, and each one asked for its own 64 KB buffer for a tag
        # over 8 KB, charged to the worker's 32 MB budget until the page ended: 600 of them in a 5 MB page used the
        # budget up (89 tags of this page removed as oversized, and for as long as the response lived every other
        # page on the thread got no bigger buffer and every sheet passed unchecked); now the buffers are kept for
        # the next srcdoc
        refused, removed = metric(self.gw, "cg_html_big_refused_total"), metric(self.gw, "cg_html_oversized_removed_total")
        r = self.generated_page("srcdoc-long", "<!DOCTYPE html>" +
                                ('<iframe srcdoc="&lt;img src=/a.png title=%s&gt;"></iframe>' % ("x" * 9000)) * 600)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.text.count("<img src=/a.png title=%s>" % ("x" * 9000)), 600)
        self.assertEqual(metric(self.gw, "cg_html_big_refused_total"), refused)
        self.assertEqual(metric(self.gw, "cg_html_oversized_removed_total"), removed)

    def test_many_shimmed_links_hold_no_memory_each(self):
        # what a tag's rewrite writes into it (here the link shim's /__go URL; a decoded style, srcset or srcdoc, a
        # meta refresh's content) came from the response's pool and stayed there until the page ended: this 14 MB
        # page of 160,000 links to another site made the (ASan) gateway's peak RSS grow by 120-131 MB, and a 40 MB
        # one the release build's by 158 MB; now one tag's worth is reused from tag to tag (44-50 MB here, most of it
        # the page and its output in h2o's buffers: the origin sends faster than a sanitizer build rewrites)
        before = self.peak_kb()
        r = self.generated_page("links-many", "<!DOCTYPE html>" +
                                ('<a href="https://www.partner.example/offer/%s">x</a>' % ("o" * 40)) * 160000)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.text.count('<a href="/__go?u='), 160000)
        self.assertLess(self.peak_kb() - before, 80 * 1024, "peak RSS grew by more than 80 MB for one 14 MB page")

    def test_frameset_frame_on_a_blocked_site_removed(self):
        html = curl(self.gw.url("/__origin/html?file=pages/frames.html")).text
        self.assertTrue("evil.example" not in html and 'id="f-evil"' not in html)
        self.assertTrue('<frame id="f-ok" src="/about">' in html, "a frame is void: removing one takes nothing after it")
        self.assertTrue("</frameset>" in html)

    def test_html_image_tag_is_an_img(self):
        """In HTML content browsers read <image src> as <img src>: checked as one, and removing it takes only the tag
        (it is void there); in SVG it keeps its href check."""
        html = curl(self.gw.url("/__origin/html?file=pages/html-image.html")).text
        self.assertTrue("img.evil.example" not in html)
        self.assertTrue('<p id="after">after</p>' in html and '<p id="after2">after2</p>' in html)

    def test_shim_links_under_a_base_elsewhere_name_the_gateway(self):
        """With <base href> on another origin a relative /__go would be resolved there: the shim links name the
        gateway's own origin instead."""
        html = curl(self.gw.url("/__origin/html?file=pages/base-elsewhere.html")).text
        own = self.gw.url("/__go?u=")
        out, rel = self.href(html, "out"), self.href(html, "rel")
        self.assertTrue(out.startswith(own), out)
        self.assertTrue(rel.startswith(own), rel)
        self.assertEqual(curl(out).header("Location"), "https://www.partner.example/x")
        self.assertEqual(curl(rel).header("Location"), "https://cdn.partner.example/assets/page2.html")
        # without such a base the shim links stay relative
        self.assertTrue(self.href(self.page().text, "clean").startswith("/__go?u="))

    def href_after_pad(self, html, ident):
        m = re.search(r'<a id="%s" data-pad="a*" href="([^"]*)"' % ident, html)
        self.assertIsNotNone(m, ident)
        return htmlmod.unescape(m.group(1))

    def test_only_links_leaving_the_site_are_wrapped(self):
        # the rewriter passes a link to the shim only when it names another host; the shim wraps it when the
        # registrable domain differs. Relative links, the page's own host in any spelling, and other hosts of
        # the same site stay as written; character references are decoded before deciding.
        port = self.gw.url().rsplit(":", 1)[1].rstrip("/")
        links = {
            "rel": "about.html", "abs-path": "/a?b=1&amp;c=2", "query": "?q=1", "frag": "#top",
            "own": "http://127.0.0.1:%s/x" % port, "own-case": "HTTP://127.0.0.1/y", "own-proto-rel": "//127.0.0.1:%s/z" % port,
            "ws-rel": "  \n/path", "mailto": "mailto:a@b.example", "js": "javascript:void(0)",
            "off": "https://www.partner.example/p", "off-proto-rel": "//www.partner.example/q",
            "off-encoded": "&#47;&#47;www.partner.example/r", "off-case": "HTTPS://WWW.Partner.Example/s",
            # what browsers also take for another host (WHATWG URL parsing): backslashes, tabs and newlines inside,
            # another http(s) scheme without slashes, userinfo before the host
            "off-backslash": "/\\www.partner.example/t", "off-backslashes": "\\\\www.partner.example/u",
            "off-tab": "/&#9;/www.partner.example/v", "off-newline": "/\n/www.partner.example/v2",
            "off-other-scheme": "https:www.partner.example/w", "off-other-scheme-slash": "https:/\\www.partner.example/x",
            "off-same-scheme-backslashes": "http:\\\\www.partner.example/y", "off-userinfo": "//127.0.0.1@www.partner.example/z",
            # and what stays on the page's host
            "own-scheme-rel": "http:about.html", "own-scheme-path": "http:/path", "own-userinfo": "//u@127.0.0.1:%s/x" % port,
        }
        name = "linkkinds-%d.html" % int(time.time() * 1000)
        d = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "pages")
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write("<!DOCTYPE html>" + "".join('<a id="%s" href="%s">x</a>' % (k, v) for k, v in links.items()))
        try:
            html = curl(self.gw.url("/__origin/html?file=pages/" + name)).text
        finally:
            os.unlink(path)
        for k, v in links.items():
            got = re.search(r'<a id="%s" href="([^"]*)"' % k, html).group(1)
            if k.startswith("off"):
                self.assertTrue(got.startswith("/__go?u="), (k, got))
                target = urllib.parse.parse_qs(urllib.parse.urlsplit(htmlmod.unescape(got)).query)["u"][0]
                self.assertEqual(urllib.parse.urlsplit(target).hostname, "www.partner.example", (k, target))
            else:
                self.assertEqual(got, v, k)
        self.assertEqual(urllib.parse.parse_qs(urllib.parse.urlsplit(htmlmod.unescape(
            re.search(r'<a id="off-other-scheme" href="([^"]*)"', html).group(1))).query)["u"][0],
            "https://www.partner.example/w")

    def test_hosts_longer_than_the_site_buffer_are_not_the_pages_site(self):
        """Whether a link leaves the page's site was decided on the host as written cut to 255 bytes: a host whose first
        255 bytes end in the page's registrable domain (percent-escapes make it long, browsers decode them to a short,
        valid name) was taken for the site itself, so a link, a redirect or a Refresh to a block-listed site went out
        unwrapped and unchecked."""
        host = "www.site.example"
        fill = "%61" * 60 + "." + "%61" * 20 + "a."  # 243 bytes, "aaa….aaa…." to a browser
        target = "https://" + fill + "site.example.login.evil.example/signin"
        self.assertEqual(len(fill + "site.example"), 255)
        self.assertEqual(urllib.parse.urlsplit(urllib.parse.unquote(target)).hostname,
                         "a" * 60 + "." + "a" * 21 + ".site.example.login.evil.example")
        # and a host of the site's own as long as the buffer (256 bytes as written, no room for its NUL): too long to
        # tell, so the shim decides
        target256 = "https://" + "%61" * 60 + "." + "%61" * 20 + "aa.site.example/x"
        self.assertEqual(len(urllib.parse.urlsplit(target256).netloc), 256)
        tail = ('<a id="long-host" href="%s">x</a><a id="own" href="https://shop.site.example/">y</a>'
                '<a id="long-host-256" href="%s">z</a>' % (target, target256))
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail)),
                    headers=["Host: " + host]).text
        self.assertEqual(self.href(html, "own"), "https://shop.site.example/", "the site's own hosts stay as written")
        go = self.href(html, "long-host")
        self.assertTrue(go.startswith("/__go?u="), go)
        self.assertEqual(curl(self.gw.url(go)).status, 403)
        self.assertTrue(self.href(html, "long-host-256").startswith("/__go?u="), html)
        r = curl(self.gw.url("/__origin/status/302?h=%s" % urllib.parse.quote("Location:" + target)), headers=["Host: " + host])
        self.assertTrue(r.header("Location").startswith("/__go?u="), r.header("Location"))
        r = curl(self.gw.url("/__origin/status/200?h=%s" % urllib.parse.quote("Refresh:0; url=" + target)), headers=["Host: " + host])
        self.assertTrue(r.header("Refresh").startswith("0; url=/__go?u="), r.header("Refresh"))

    def test_svg_animations_of_href_to_other_sites_turned_off(self):
        """SVG <set>/<animate> with attributeName href (or xlink:href) give an <a>, <image> or <use> a URL the rewriter
        never read as one: Chromium loads <image>/<use> from it and follows the <a> to it, so a block-listed image and
        an unwrapped link to a block-listed site went through (and a tracker pixel before consent). An animation of
        href to another host is turned off (its attributeName renamed); one to the page's own host or a fragment
        stays."""
        tail = ('<svg><a id="anim-link"><set attributeName="href" to="https://login.evil.example/"/><text>x</text></a>'
                '<a id="anim-partner"><set attributeName=" HREF " to="//www.partner.example/"/></a>'
                '<image id="anim-img"><animate attributeName="xlink:href" values="/ok.png; https://img.evil.example/p.gif"'
                ' dur="1s"/></image>'
                '<image id="anim-from"><animate attributeName="href" from="https://tracker.evil.example/p.gif" to="/x.png"/></image>'
                '<use id="anim-local"><set attributeName="href" to="#shape"/></use>'
                '<image id="anim-own"><set attributeName="href" to="/own.png"/></image>'
                '<rect id="anim-fill"><set attributeName="fill" to="https://evil.example/"/></rect></svg><p id="after">after</p>')
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        for ident in ("anim-link", "anim-partner", "anim-img", "anim-from"):
            m = re.search(r'id="%s">(.*?)</' % ident, html)
            self.assertIsNotNone(m, (ident, html[-1500:]))
            self.assertNotRegex(m.group(1), r'(?i) attributeName=', (ident, m.group(1)))
            self.assertIn("data-cg-attributename=", m.group(1), ident)
        self.assertIn('<use id="anim-local"><set attributeName="href" to="#shape"/>', html)
        self.assertIn('<image id="anim-own"><set attributeName="href" to="/own.png"/>', html)
        self.assertIn('<rect id="anim-fill"><set attributeName="fill" to="https://evil.example/"/>', html)
        self.assertIn('<p id="after">after</p>', html)

    def test_svg_animations_of_presentation_urls_to_other_sites_turned_off(self):
        """An SVG <set>/<animate> of a presentation attribute (cursor, mask, filter, …) gives its element a CSS url()
        that Chromium 156 fetches from another site (a cursor image, a mask or filter document): such an animation to
        another host is turned off as one of href is; one to the page's own paint stays. An XML page may bind any
        prefix to xlink ("l:href"): every prefixed href counts."""
        tail = ('<svg><rect id="p-cursor"><set attributeName="cursor" to="url(https://img.evil.example/c.png), auto"/></rect>'
                '<rect id="p-mask"><animate attributeName="mask" values="url(#m); url(//evil.example/m.svg#m)" dur="1s"/></rect>'
                '<rect id="p-filter"><set attributeName="filter" to="u\\72l(https://evil.example/f.svg#f)"/></rect>'
                '<image id="p-prefix"><set attributeName="l:href" to="https://img.evil.example/p.gif"/></image>'
                '<rect id="p-own"><set attributeName="fill" to="url(#paint)"/></rect>'
                '<rect id="p-data"><set attributeName="fill" to="url(data:image/svg+xml,x)"/></rect></svg><p id="after">after</p>')
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        for ident in ("p-cursor", "p-mask", "p-filter", "p-prefix"):
            m = re.search(r'id="%s">(.*?)</' % ident, html)
            self.assertIsNotNone(m, (ident, html[-1500:]))
            self.assertNotRegex(m.group(1), r'(?i) attributeName=', (ident, m.group(1)))
            self.assertIn("data-cg-attributename=", m.group(1), ident)
        self.assertIn('<rect id="p-own"><set attributeName="fill" to="url(#paint)"/>', html)
        self.assertIn('<rect id="p-data"><set attributeName="fill" to="url(data:image/svg+xml,x)"/>', html)
        self.assertIn('<p id="after">after</p>', html)

    def test_xml_stylesheet_on_a_block_listed_site_removed(self):
        """An XML page's <?xml-stylesheet href?> loads a style sheet as <link rel=stylesheet> does (Chromium 156 fetched
        a block-listed one before anything): read as a bogus comment, it went out as the origin wrote it. It is
        checked as a link now: a block-listed one is removed, the site's own stays; the page stays well-formed."""
        import xml.dom.minidom
        r = curl(self.gw.url("/__origin/html?file=pages/xml-stylesheet.xhtml&h=Content-Type:application/xhtml%2Bxml"))
        self.assertNotIn("evil.example", r.text)
        self.assertIn('<?xml-stylesheet type="text/css" href="/own.css"?>', r.text)
        self.assertTrue(r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>'))
        xml.dom.minidom.parseString(r.body)

    def test_inline_documents_in_data_urls_not_loaded_unchecked(self):
        """An <iframe>, <frame>, <object> or <embed> whose URL is a data: URL of a document (HTML, XML, SVG) loads that
        document's images and frames (Chromium 156 fetched them): the rewriter never read it, so block-listed sites and
        trackers in it loaded. Such a URL is renamed data-cg-unchecked-<attribute>; an inline image or text stays."""
        img = urllib.parse.quote('<img src="https://img.evil.example/x.png">')
        tail = ('<iframe id="d1" src="data:text/html,%s"></iframe>' % img +
                '<iframe id="d2" src=" DATA:Text/HTML;base64,PGltZyBzcmM9Imh0dHBzOi8vaW1nLmV2aWwuZXhhbXBsZS95LnBuZyI+"></iframe>'
                '<object id="d3" data="data:image/svg+xml,%3Csvg%3E%3C/svg%3E"></object>'
                '<embed id="d4" src="data:application/xhtml+xml,x">'
                '<iframe id="d5" src="data:image/png;base64,iVBORw0KGgo="></iframe>'
                '<iframe id="d6" src="data:,hello"></iframe>')
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        for ident, attr in (("d1", "src"), ("d2", "src"), ("d3", "data"), ("d4", "src")):
            m = re.search(r'<(?:iframe|object|embed) id="%s"[^>]*>' % ident, html)
            self.assertIsNotNone(m, ident)
            self.assertNotRegex(m.group(0), r'\s%s="' % attr, ident)
            self.assertIn(' data-cg-unchecked-%s="' % attr, m.group(0))
        self.assertIn('<iframe id="d5" src="data:image/png;base64,iVBORw0KGgo=">', html)
        self.assertIn('<iframe id="d6" src="data:,hello">', html)

    def test_inline_style_sheets_in_data_urls_not_loaded_unchecked(self):
        """A style sheet in a data: URL (<link rel=stylesheet href="data:text/css,…">, @import of one) loads its own
        url()s and @imports (Chromium 156 fetched both): not read by the rewriter, so not loaded; inline images stay."""
        sheet = urllib.parse.quote("body{background:url(https://img.evil.example/x.png)}")
        tail = ('<link id="dl1" rel="stylesheet" href="data:text/css,%s">' % sheet +
                '<style id="ds1">@import url("data:text/css,%s");</style>' % sheet +
                '<p id="da1" style="color:red;background:url(&quot;data:text/css;charset=utf-8,x&quot;)">a</p>'
                '<link id="dl2" rel="icon" href="data:image/png;base64,iVBORw0KGgo=">'
                '<p id="da2" style="background:url(data:image/svg+xml,%3Csvg%3E%3C/svg%3E)">b</p><p id="after">after</p>')
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        m = re.search(r'<link id="dl1"[^>]*>', html)
        self.assertNotRegex(m.group(0), r'\shref="')
        self.assertIn(' data-cg-unchecked-href="', m.group(0))
        self.assertNotIn('id="ds1"', html)
        self.assertRegex(html, r'<p id="da1">a</p>')
        self.assertIn('<link id="dl2" rel="icon" href="data:image/png;base64,iVBORw0KGgo=">', html)
        self.assertIn('<p id="da2" style="background:url(data:image/svg+xml,%3Csvg%3E%3C/svg%3E)">b</p>', html)
        self.assertIn('<p id="after">after</p>', html)

    def test_srcset_candidates_past_the_checked_ones(self):
        """Only the first 16 candidates of a srcset were checked, and none of one longer than 16 KB that begins with an
        inline data: image: Chromium picks the 17th when it is the only one dense enough ("… 0.16x, URL 1x"), so a
        block-listed image loaded. A srcset with candidates the rewriter cannot check is renamed
        data-cg-unchecked-srcset (the image falls back to its src, which is checked)."""
        cands = ", ".join("/ok%d.png 0.%02dx" % (i, i + 1) for i in range(40))
        data = "data:image/gif;base64," + "R0lGODlh" * 2200
        tail = ('<img id="ss-many" src="/ok.png" srcset="%s, https://img.evil.example/x.png 1x">' % cands +
                '<img id="ss-data" src="/ok.png" srcset="%s 0.5x, https://img.evil.example/y.png 1x">' % data +
                '<img id="ss-ok" src="/ok.png" srcset="/a.png 1x, /b.png 2x">')
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        m = re.search(r'<img id="ss-many"[^>]*>', html)
        self.assertNotRegex(m.group(0), r'\ssrcset="')
        self.assertIn(' data-cg-unchecked-srcset="', m.group(0))
        # the long data: image is skipped as before, and the candidate after it is now checked: block-listed, removed
        self.assertNotIn('id="ss-data"', html)
        self.assertNotIn("img.evil.example/y.png", html)
        self.assertIn('<img id="ss-ok" src="/ok.png" srcset="/a.png 1x, /b.png 2x">', html)

    def test_svg_presentation_attributes_with_urls_checked(self):
        """SVG presentation attributes take CSS url()s that Chromium 156 fetches from other sites (fill, stroke, mask,
        clip-path, marker-*, cursor): read like a style attribute. A block-listed site removes the attribute, a refused
        tracker makes it inert (data-cg-<name>); a clean site's stays."""
        def page(svg):
            tail = "<svg>" + svg + '</svg><p id="after">after</p>'
            return curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        html = page('<rect id="pa-fill" width="5" fill="url(https://img.evil.example/p.svg#x)"/>'
                    '<path id="pa-marker" d="M0 0" marker-start="URL(&quot;//img.evil.example/m.svg#k&quot;)"/>'
                    '<rect id="pa-cursor" cursor="url(https://img.evil.example/c.png), auto"/>'
                    '<rect id="pa-clean" mask="url(https://www.partner.example/m.svg#m)" fill="red"/>')
        for ident in ("pa-fill", "pa-marker", "pa-cursor"):
            m = re.search(r'<(?:rect|path) id="%s"[^>]*>' % ident, html)
            self.assertIsNotNone(m, ident)
            self.assertNotIn("img.evil.example", m.group(0))
        self.assertIn('<rect id="pa-clean" mask="url(https://www.partner.example/m.svg#m)" fill="red"/>', html)
        self.assertIn('<p id="after">after</p>', html)
        # more attributes to take out than a tag's edits: the element goes rather than load one of them
        names = ("fill", "stroke", "mask", "clip-path", "marker-start", "marker-mid", "marker-end", "cursor", "filter")
        html = page('<rect id="pa-many" %s/>' % " ".join('%s="url(//img.evil.example/%s.svg#x)"' % (n, n) for n in names))
        self.assertNotIn("img.evil.example", html)
        self.assertIn('<p id="after">after</p>', html)
        self.admin("/admin/lists/phishing", method="PUT", data="phish.example\n")
        try:
            html = page('<rect id="pa-tracker" stroke="url(https://tracker.evil.example/s.svg#s)"/>')
            self.assertRegex(html, r'<rect id="pa-tracker" data-cg-stroke="url\(https://tracker\.evil\.example/s\.svg#s\)"'
                                   r'[^>]* data-cg-category="marketing"')
            # a tag whose checks need more edits than a tag can take: it goes whole, none of its URLs left live
            t = "https://tracker.evil.example/"
            html = page('</svg><img id="many" src="%sp.gif" style="background:url(%sb.gif)" fill="url(%sf.svg#a)" '
                        'stroke="url(%ss.svg#b)" mask="url(%sm.svg#c)" clip-path="url(%sc.svg#d)" marker-start="url(%sk.svg#e)">'
                        '<svg>' % ((t,) * 7))
            self.assertNotRegex(html, r'\s(src|style|fill|stroke|mask|clip-path|marker-start)="[^"]*tracker\.evil', html[-800:])
            self.assertIn('<p id="after">after</p>', html)
        finally:
            self.admin("/admin/lists/phishing", method="PUT", data="evil.example\n")

    def test_speculation_rules_read_like_the_urls_they_fetch(self):
        """<script type="speculationrules"> makes Chromium prefetch the URLs it lists, another site's too (Chromium 156
        fetched one before any click): the rewriter did not read them. A rule naming a block-listed site is removed,
        one naming a refused tracker made inert (text/plain, released with consent), JSON escapes read as JSON reads
        them; rules too long to read whole are removed; rules to clean sites stay."""
        def page(script):
            tail = script + '<p id="after">after</p>'
            return curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        rules = '{"prefetch": [{"source": "list", "urls": ["/local", "%s"]}]}'
        blocked = page('<script id="r1" type="speculationrules">%s</script>' % (rules % "https://login.evil.example/x"))
        self.assertNotIn('id="r1"', blocked)
        self.assertNotIn("login.evil.example", blocked)
        self.assertIn('<p id="after">after</p>', blocked)
        escaped = page('<script id="r2" type=" SpeculationRules ">%s</script>' % (rules % "https:\\/\\/login.evil.\\u0065xample\\/x"))
        self.assertNotIn('id="r2"', escaped)
        tracker = page('<script id="r3" type="speculationrules">%s</script>' % (rules % "https://tracker.evil.example/p"))
        self.assertNotIn('id="r3"', tracker, "tracker.evil.example is block-listed too (evil.example): removed")
        self.admin("/admin/lists/phishing", method="PUT", data="phish.example\n")
        try:
            inert = page('<script id="r4" type="speculationrules">%s</script>' % (rules % "https://tracker.evil.example/p"))
            self.assertRegex(inert, r'<script id="r4" data-cg-type="speculationrules" type="text/plain"[^>]* data-cg-category="marketing"')
            clean = page('<script id="r5" type="speculationrules">%s</script>' % (rules % "https://www.partner.example/next"))
            self.assertRegex(clean, r'<script id="r5" type="speculationrules" nonce="[^"]+">')
            long_rules = rules % ("https://www.partner.example/" + "a" * 70000)
            self.assertNotIn('id="r6"', page('<script id="r6" type="speculationrules">%s</script>' % long_rules))
        finally:
            self.admin("/admin/lists/phishing", method="PUT", data="evil.example\n")

    def test_speculation_rule_sets_read_like_inline_rules(self):
        """A page's Speculation-Rules header names a rule set (application/speculationrules+json) that Chromium fetches
        and acts on before any click: it was passed on unread. It is read as inline rules are: one naming a
        block-listed site or a refused tracker, or one that cannot be read whole, is answered as no rules ({}); a
        clean one passes as it came."""
        ctype = "&h=" + urllib.parse.quote("Content-Type:application/speculationrules+json")

        def rule_set(url, cookie=None, path="/__origin/html?file=sheets/empty.txt&tail="):
            body = '{"prefetch": [{"source": "list", "urls": ["/local", "%s"]}]}' % url
            return body, curl(self.gw.url(path + urllib.parse.quote(body) + ctype), cookie=cookie)
        before = metric(self.gw, "cg_speculation_rules_dropped_total")
        for url in ("https://login.evil.example/x", "https:\\/\\/login.evil.\\u0065xample\\/x"):
            body, r = rule_set(url)
            self.assertEqual((r.status, r.text), (200, "{}\n"), url)
        body, r = rule_set("https://www.partner.example/" + "a" * 20000)  # a string longer than a URL is read
        self.assertEqual(r.text, "{}\n", "too long to read whole: no rules")
        body, r = rule_set("https://www.partner.example/next")
        self.assertEqual(r.text, body, "a clean set passes as it came")
        self.assertEqual(metric(self.gw, "cg_speculation_rules_dropped_total"), before + 3)
        self.admin("/admin/lists/phishing", method="PUT", data="phish.example\n")
        try:
            body, r = rule_set("https://tracker.evil.example/p")  # a marketing tracker (not block-listed now)
            self.assertEqual(r.text, "{}\n", "a refused tracker: no rules before consent")
            self.assertEqual(r.header("Cache-Control"), "no-store")
            self.assertIn("cookie", (r.header("Vary") or "").lower())
            c = curl(self.gw.url("/__consent/api/consent"), method="POST", headers=["Content-Type: application/json"],
                     data='{"all": true}')
            token = [v.split(";", 1)[0] for v in c.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
            body, r = rule_set("https://tracker.evil.example/p", cookie=token)
            self.assertEqual(r.text, body, "granted: the set as it came")
        finally:
            self.admin("/admin/lists/phishing", method="PUT", data="evil.example\n")

    def test_speculation_rule_sets_sent_gzip_encoded(self):
        """A rule set gzip-encoded by the origin (as servers send JSON) is decoded and read as any (no test sent one)."""
        def rule_set(name):
            r = curl(self.gw.url("/__origin/gzip-html?file=sheets/%s&ctype=%s" % (
                name, urllib.parse.quote("application/speculationrules+json"))), headers=["Accept-Encoding: gzip"])
            self.assertEqual(r.status, 200)
            return gzip.decompress(r.body) if r.header("Content-Encoding") == "gzip" else r.body
        with open(os.path.join(REPO, "tests", "data", "sheets", "rules-clean.json"), "rb") as f:
            clean = f.read()
        self.assertEqual(rule_set("rules-listed.json"), b"{}\n", "a block-listed site in a gzip-encoded set")
        self.assertEqual(rule_set("rules-clean.json"), clean, "a clean gzip-encoded set, decoded")

    def test_speculation_rule_sets_on_another_origin_dropped(self):
        """A Speculation-Rules header naming a rule set on another origin: Chromium fetches that set from there and
        prefetches what it lists, unseen by the gateway. Such a value is dropped from the page's header; a set on the
        page's own origin (read when it is fetched) stays, as does the rest of the header."""
        def header_of(value):
            r = curl(self.gw.url("/__origin/html?file=index.html&h=" + urllib.parse.quote("Speculation-Rules:" + value)))
            self.assertEqual(r.status, 200)
            return r.header_all("Speculation-Rules")
        before = metric(self.gw, "cg_speculation_rules_dropped_total")
        own = "http://" + urllib.parse.urlsplit(self.gw.url("/")).netloc + "/rules/b.json"
        self.assertEqual(header_of('"/rules/a.json", "https://cdn.tracker.example/r.json";x=1, "%s"' % own),
                         ['"/rules/a.json", "%s"' % own])
        self.assertEqual(header_of('"//other.example/r.json", "https://evil.example/\\"q.json"'), [])
        self.assertEqual(header_of('"rel.json";tag="a,b" , "javascript:x"'), ['"rel.json";tag="a,b"'])
        self.assertEqual(header_of("/unquoted.json"), [], "not a list of strings: dropped, as Chromium ignores it")
        self.assertEqual(metric(self.gw, "cg_speculation_rules_dropped_total"), before + 5)

    def test_forged_and_hostile_links(self):
        html = self.page().text
        clean = self.href(html, "clean")
        forged = re.sub(r"s=[^&]+", "s=AAAAAAAAAAAAAAAAAAAAAA", clean)
        r = curl(self.gw.url(forged))
        self.assertEqual(r.status, 400)
        self.assertIsNone(r.header("Location"))
        # every byte of the signature counts: the last character (two bits of the 16th byte) changed to another
        # canonical one
        sig = clean.split("&s=")[1]
        last = [c for c in "AQgw" if c != sig[-1]][0]
        self.assertEqual(curl(self.gw.url(clean[:-1] + last)).status, 400)
        other = "/__go?u=" + urllib.parse.quote("https://evil-redirect.example/", safe="") + "&s=" + clean.split("&s=")[1]
        self.assertEqual(curl(self.gw.url(other)).status, 400, "a signature is bound to its URL: no open redirect")
        self.assertEqual(curl(self.gw.url("/__go")).status, 400)
        # a hostile URL on the warning page is shown escaped (signed through a page the gateway rewrote)
        hostile = 'https://risky.example/"><script>alert(1)</script>'
        self.admin("/admin/lists/phishing", method="PUT", data="evil.example\n")
        sig = sign_via_page(self, hostile)
        w = curl(self.gw.url("/__go?u=" + urllib.parse.quote(hostile, safe="") + "&s=" + sig))
        self.assertEqual(w.status, 200)
        self.assertNotIn("<script>alert(1)</script>", w.text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", w.text)

    def test_subresources_removed_and_csp(self):
        r = self.page()
        html = r.text
        self.assertNotIn("cdn.evil.example/inject.js", html)
        self.assertNotIn("evil.example/frame", html)
        self.assertNotIn("evil.example/steal", html)
        # an image, a preconnect and a script that are also on a tracker list: removed, never left re-activatable
        for host in ("img.evil.example", "fonts.evil.example", "tracker.evil.example"):
            self.assertNotIn(host, html)
        # hosts written the way browsers decode: percent-encoded, an IPv4-mapped IPv6 literal of a listed address
        for src in ("cdn.ev%69l.example", "::ffff:10.9.8.7"):
            self.assertNotIn(src, html)
        self.assertEqual(html.count("consentgate: removed"), 8, html)  # 3 scripts, iframe, 2 img, link, form
        self.assertIn("consentgate: removed", html)
        self.assertIn("after", html, "content after a removed element survives")
        self.assertIn('src="https://risky.example/banner.png"', html, "warn-listed subresources load (counted)")
        csp = r.header("Content-Security-Policy")
        self.assertIsNotNone(csp, r.headers)
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        tags = re.findall(r"<script\b[^>]*>", html)
        self.assertTrue(tags)
        self.assertTrue(all('nonce="%s"' % nonce in t for t in tags), tags)
        for part in ("'strict-dynamic'", "object-src 'none'", "base-uri 'self'", "report-uri /__consent/report"):
            self.assertIn(part, csp)
        self.assertIn("/__consent/report", r.header("Reporting-Endpoints"))
        self.assertIsNone(r.header("Strict-Transport-Security"), "no HSTS over plain HTTP")
        t = self.page(tls=True)
        self.assertIn("max-age=", t.header("Strict-Transport-Security"))
        # an origin's own policy is kept, not doubled by the gateway's
        o = curl(self.gw.url("/__origin/status/200?h=%s" % urllib.parse.quote("Strict-Transport-Security:max-age=600; includeSubDomains"),
                             tls=True))
        self.assertEqual(o.header_all("Strict-Transport-Security"), ["max-age=600; includeSubDomains"])
        m = curl(self.gw.admin_url("/admin/metrics"), headers=AUTH).text
        self.assertRegex(m, r'cg_risk_subresources_total\{action="removed"\} [1-9]')
        self.assertRegex(m, r'cg_risk_subresources_total\{action="warned"\} [1-9]')
        # monitored: left in the page, counted, and named by the check
        self.assertIn('src="https://cdn.watched.example/widget.js"', html)
        self.assertRegex(m, r'cg_risk_subresources_total\{action="monitored"\} [1-9]')
        v = self.check("host=cdn.watched.example")
        self.assertEqual((v["verdict"], v["action"], v["list"]), ("clean", "monitor", "watch"))


def harness_token_name():
    import harness
    return harness.ADMIN_TOKEN_NAME


def sign_via_page(test, url):
    """Gets the gateway to sign url by serving a page that links to it (the only way a client gets a signature)."""
    name = "hostile-%d.html" % int(time.time() * 1000)
    d = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "pages")
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write('<!DOCTYPE html><a id="x" href="%s">x</a>' % htmlmod.escape(url))
    try:
        html = curl(test.gw.url("/__origin/html?file=pages/" + name)).text
    finally:
        os.unlink(path)
    href = htmlmod.unescape(re.search(r'<a id="x" href="([^"]*)"', html).group(1))
    return href.split("&s=")[1]


class ShimChecksAtClickTest(GatewayTestCase):
    """The link shim decides when the link is followed, not when the page was served: a /__go link handed out while
    its target was clean leads to the block page once the target is block-listed (a page cached in a browser or a
    CDN, or a tab left open, keeps its links for days), and to the warning page once warn-listed."""
    config = {"risk": {"lists": [{"name": "phishing", "file": "phishing.txt", "format": "domains", "action": "block"},
                                 {"name": "risky", "file": "risky.txt", "format": "domains", "action": "warn"}]}}

    def test_old_link_to_a_site_listed_since(self):
        target = "https://www.later-phish.example/login?next=%2Faccount"
        tail = '<a id="later" href="%s">later</a>' % htmlmod.escape(target)
        html = curl(self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))).text
        m = re.search(r'<a id="later" href="([^"]*)"', html)
        self.assertIsNotNone(m, html)
        link = htmlmod.unescape(m.group(1))
        self.assertTrue(link.startswith("/__go?u="), link)
        r = curl(self.gw.url(link))
        self.assertEqual((r.status, r.header("Location")), (302, target), "clean when the page was served: followed")
        blocked = metric(self.gw, "cg_go_total", '{outcome="blocked"}')
        p = curl(self.gw.admin_url("/admin/lists/phishing"), method="PUT", data="later-phish.example\n", headers=AUTH)
        self.assertEqual(p.status, 200, p.text)
        r = curl(self.gw.url(link))
        self.assertEqual(r.status, 403, "the same link, followed after the site was block-listed")
        self.assertIsNone(r.header("Location"))
        self.assertTrue(r.header("Content-Type", "").startswith("text/html"), r.headers)
        self.assertIn("www.later-phish.example", r.text, "the block page names where the link led")
        self.assertIn("phishing", r.text, "and the list")
        self.assertEqual(metric(self.gw, "cg_go_total", '{outcome="blocked"}'), blocked + 1)
        # off the block list and onto the warn list: the warning page, then off every list: followed again
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/phishing?allow_empty=1"), method="PUT", data="", headers=AUTH).status, 200)
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/risky"), method="PUT", data="later-phish.example\n", headers=AUTH).status, 200)
        w = curl(self.gw.url(link))
        self.assertEqual(w.status, 200)
        self.assertIsNone(w.header("Location"))
        self.assertIn("www.later-phish.example", w.text)
        # the warning's "continue" link goes past a warning, never past a block: block-listed since, it is refused too
        cont = htmlmod.unescape(re.search(r'href="(/__go\?[^"]*&amp;c=[^"]*)"', w.text).group(1))
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/phishing"), method="PUT", data="later-phish.example\n", headers=AUTH).status, 200)
        r = curl(self.gw.url(cont))
        self.assertEqual(r.status, 403, "a continue link followed after the site was block-listed")
        self.assertIsNone(r.header("Location"))
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/phishing?allow_empty=1"), method="PUT", data="", headers=AUTH).status, 200)
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/risky?allow_empty=1"), method="PUT", data="", headers=AUTH).status, 200)
        r = curl(self.gw.url(link))
        self.assertEqual((r.status, r.header("Location")), (302, target))

    def test_subresource_of_a_site_listed_since_removed(self):
        """A page served again after one of its resources' sites was block-listed loses it (a worker keeps the verdicts
        on the resources pages name: one kept from before the change is not used), and has it again once unlisted."""
        tail = '<script id="later" src="https://cdn.later-bad.example/widget.js"></script>'
        url = self.gw.url("/__origin/html?file=pages/mixed-trackers.html&tail=" + urllib.parse.quote(tail))
        for _ in range(2):
            self.assertIn("cdn.later-bad.example/widget.js", curl(url).text, "clean: loads")
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/phishing"), method="PUT", data="later-bad.example\n", headers=AUTH).status, 200)
        html = curl(url).text
        self.assertNotIn("cdn.later-bad.example/widget.js", html, "block-listed since: removed")
        self.assertIn("consentgate: removed a resource from a site on a block list", html)
        self.assertEqual(curl(self.gw.admin_url("/admin/lists/phishing?allow_empty=1"), method="PUT", data="", headers=AUTH).status, 200)
        self.assertIn("cdn.later-bad.example/widget.js", curl(url).text, "unlisted again: loads")


class ListFolderTest(GatewayTestCase):
    """A list whose file is in a folder that does not exist yet: started empty, and PUT creates both."""

    def test_put_creates_the_folder(self):
        risk = {"lists": [{"name": "p", "file": "lists/new/p.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("list-folder", gateway_config(self.origin.url, risk=risk))
        # a SIGHUP before the file exists: nothing lost, so no error (it said "not reloaded" as an error each time)
        g.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "risk list p: " in g.error_log() and "does not exist yet: the list stays empty"
                                   in g.error_log(), 5), g.error_log()[-600:])
        self.assertNotIn("risk list p not reloaded", g.error_log())
        r = curl(g.admin_url("/admin/lists/p"), method="PUT", data="evil.example\n", headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        with open(g.path("lists/new/p.txt")) as f:
            self.assertEqual(f.read(), "evil.example\n")
        # once it had entries, a vanished file is an error again: the list in force stays
        os.unlink(g.path("lists/new/p.txt"))
        g.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "risk list p not reloaded, the last good one stays in force" in g.error_log(), 5))
        # a list the gateway cannot save (its folder replaced by a file: no write, root or not) is the server's fault,
        # not the list's: 500 not_saved (it was a 400 "rejected", which sent the security team looking at their list),
        # and nothing changes
        os.rmdir(g.path("lists/new"))
        with open(g.path("lists/new"), "w") as f:
            f.write("not a folder\n")
        for method, path, data in (("PUT", "/admin/lists/p", "other.example\n"),
                                   ("POST", "/admin/lists/p/entries", json.dumps({"add": ["other.example"]}))):
            r = curl(g.admin_url(path), method=method, data=data, headers=AUTH)
            self.assertEqual(r.status, 500, r.text)
            self.assertEqual(r.json()["error"], "not_saved", r.text)
            verdict = curl(g.admin_url("/admin/check?host=other.example"), headers=AUTH).json()["verdict"]
            self.assertEqual(verdict, "clean", "not saved, not in force")
        self.assertEqual(curl(g.admin_url("/admin/check?host=evil.example"), headers=AUTH).json()["verdict"], "block")


class SymlinkedListTest(GatewayTestCase):
    """A list file that is a symbolic link to a feed job's current download, in another folder: the file it leads to is
    watched (a rewrite in place reloads the list), so is the link (re-pointed with `ln -sf`, or replaced with `mv -T`),
    and an admin edit writes through the link, which stays a link (the edit used to replace it with a file of its own,
    and the watch stopped at the link's folder)."""

    def test_link_followed_watched_and_kept(self):
        d = os.path.join(self.tmp, "symlinked")
        os.makedirs(os.path.join(d, "feeds"))
        os.makedirs(os.path.join(d, "lists"))
        with open(os.path.join(d, "feeds", "phish-v1.txt"), "w") as f:
            f.write("one.example\n")
        link = os.path.join(d, "lists", "phish.txt")
        os.symlink("../feeds/phish-v1.txt", link)
        risk = {"lists": [{"name": "p", "file": "lists/phish.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("symlinked", gateway_config(self.origin.url, risk=risk, channel={"audit_log": "audit.log"}))

        def verdict(host):
            return curl(g.admin_url("/admin/check?host=" + host), headers=AUTH).json()["verdict"]

        def entries():
            return {l["name"]: l["entries"] for l in curl(g.admin_url("/admin/lists"), headers=AUTH).json()}["p"]
        self.assertEqual(verdict("one.example"), "block")
        # the downloaded file rewritten in place, in its own folder
        with open(os.path.join(d, "feeds", "phish-v1.txt"), "w") as f:
            f.write("one.example\ntwo.example\n")
        self.assertTrue(wait_until(lambda: verdict("two.example") == "block", 5), g.error_log()[-800:])
        # the link re-pointed at the next download, as ln -sf does it (unlink, then a new link)
        with open(os.path.join(d, "feeds", "phish-v2.txt"), "w") as f:
            f.write("three.example\n")
        os.unlink(link)
        os.symlink("../feeds/phish-v2.txt", link)
        self.assertTrue(wait_until(lambda: verdict("three.example") == "block" and verdict("one.example") == "clean", 5),
                        g.error_log()[-800:])
        # ... and the new target is watched in its turn
        with open(os.path.join(d, "feeds", "phish-v2.txt"), "a") as f:
            f.write("four.example\n")
        self.assertTrue(wait_until(lambda: verdict("four.example") == "block", 5), g.error_log()[-800:])
        # replaced atomically (mv -T of a new link over it)
        with open(os.path.join(d, "feeds", "phish-v3.txt"), "w") as f:
            f.write("five.example\n")
        os.symlink("../feeds/phish-v3.txt", link + ".new")
        os.rename(link + ".new", link)
        self.assertTrue(wait_until(lambda: verdict("five.example") == "block" and entries() == 1, 5), g.error_log()[-800:])
        # an admin edit writes the file the link leads to; the link stays
        # (the log line follows the swap: waited for, each change above was one reload)
        self.assertTrue(wait_until(lambda: g.error_log().count("risk list p reloaded from") >= 4, 5), g.error_log()[-800:])
        reloads = g.error_log().count("risk list p reloaded from")
        r = curl(g.admin_url("/admin/lists/p/entries"), method="POST", data=json.dumps({"add": ["six.example"]}), headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(os.readlink(link), "../feeds/phish-v3.txt")
        with open(os.path.join(d, "feeds", "phish-v3.txt")) as f:
            self.assertIn("six.example", f.read())
        self.assertEqual(verdict("six.example"), "block")
        time.sleep(0.5)  # the edit's own write is not reloaded again as a file change
        self.assertEqual(g.error_log().count("risk list p reloaded from"), reloads)
        audit = [json.loads(l) for l in curl(g.admin_url("/admin/audit"), headers=AUTH).text.splitlines()]
        self.assertEqual(audit[-1]["action"], "edit", audit[-3:])

        # a link re-pointed to one folder after another: the folder it left is no longer watched (each one stayed
        # watched, up to the user's inotify limit, after which the target's rewrites went unnoticed)
        def watches():
            n = 0
            for fd in os.listdir("/proc/%d/fd" % g.proc.pid):
                try:
                    if os.readlink("/proc/%d/fd/%s" % (g.proc.pid, fd)) == "anon_inode:inotify":
                        with open("/proc/%d/fdinfo/%s" % (g.proc.pid, fd)) as f:
                            n += sum(1 for l in f if l.startswith("inotify wd:"))
                except OSError:
                    pass
            return n
        start = watches()
        for k in range(6):
            folder = os.path.join(d, "dl-%d" % k)
            os.makedirs(folder)
            with open(os.path.join(folder, "list.txt"), "w") as f:
                f.write("dl%d.example\n" % k)
            os.symlink(os.path.join(folder, "list.txt"), link + ".new")
            os.rename(link + ".new", link)
            self.assertTrue(wait_until(lambda: verdict("dl%d.example" % k) == "block", 5), g.error_log()[-600:])
        self.assertLessEqual(watches(), start + 1, "watches after 6 re-points: %d, at start %d" % (watches(), start))
        with open(os.path.join(d, "dl-5", "list.txt"), "a") as f:  # and the current target is still watched
            f.write("dl-last.example\n")
        self.assertTrue(wait_until(lambda: verdict("dl-last.example") == "block", 5))


class InotifyOverflowTest(GatewayTestCase):
    """The kernel's inotify queue overflows when the watched folders are busy with other files (or the watcher is held
    up): the events after it are lost, a list file's change among them. The overflow itself is an event; the watcher
    took no notice of it, and the list in force stayed the old one until a SIGHUP or the next change."""
    start_gateway = False
    SYSCTL = "/proc/sys/fs/inotify/max_queued_events"

    def test_a_change_lost_in_an_overflow_is_reloaded(self):
        if not os.access(self.SYSCTL, os.W_OK):
            self.skipTest("%s is not writable here (a queue small enough to overflow needs it)" % self.SYSCTL)
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        with open(self.SYSCTL) as f:
            limit = f.read().strip()
        with open(self.SYSCTL, "w") as f:  # read by inotify_init: only the watcher made meanwhile gets it
            f.write("16")
        try:
            g = self.new_gateway("overflow", gateway_config(self.origin.url, risk=risk), start=False)
            with open(g.path("p.txt"), "w") as f:
                f.write("one.example\n")
            g.start()

            def watching():
                for fd in os.listdir("/proc/%d/fd" % g.proc.pid):
                    try:
                        if os.readlink("/proc/%d/fd/%s" % (g.proc.pid, fd)) == "anon_inode:inotify":
                            return True
                    except OSError:
                        pass
                return False
            self.assertTrue(wait_until(watching, 5), "the watcher's inotify instance")
        finally:
            with open(self.SYSCTL, "w") as f:
                f.write(limit)

        def verdict(host):
            return curl(g.admin_url("/admin/check?host=" + host), headers=AUTH).json()["verdict"]
        self.assertEqual(verdict("one.example"), "block")
        os.kill(g.proc.pid, signal.SIGSTOP)  # the watcher reads nothing: 80 events of other files fill its queue of 16
        try:
            for k in range(40):
                with open(g.path("other-%d.txt" % k), "w") as f:
                    f.write("x")
            with open(g.path("p.txt"), "w") as f:  # its event is past the overflow: lost
                f.write("one.example\ntwo.example\n")
        finally:
            os.kill(g.proc.pid, signal.SIGCONT)
        self.assertTrue(wait_until(lambda: verdict("two.example") == "block", 5),
                        "the list file changed during the overflow is reloaded: " + g.error_log()[-600:])
        self.assertIn("inotify: events were lost", g.error_log())
        last = json.loads(curl(g.admin_url("/admin/audit"), headers=AUTH).text.splitlines()[-1])
        self.assertEqual((last["who"], last["action"], last["add"]), ("file-change", "reload", ["two.example"]))


class ReloadQueueFullTest(GatewayTestCase):
    """The job thread's queue holds 1,024 admin requests (edits, audit reads) and answers 503 past that. A list file
    changed while the queue was full was not reloaded, and nothing said so: the reload was dropped like an admin
    request, but nobody gets its 503. Reloads are now coalesced per list (one queued at most) and not held to the
    bound."""
    start_gateway = False

    def test_a_change_while_the_queue_is_full_is_reloaded(self):
        import resource
        import selectors
        import socket
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1400:
            self.skipTest("1,100 connections need more descriptors than the hard limit %d" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096) if hard == resource.RLIM_INFINITY else hard, hard))
        risk = {"lists": [{"name": "big", "file": "big.txt", "format": "domains", "action": "warn"},
                          {"name": "q", "file": "q.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("queue-full", gateway_config(self.origin.url, risk=risk), start=False)
        with open(g.path("q.txt"), "w") as f:
            f.write("one.example\n")
        g.start()

        def verdict(host):
            return curl(g.admin_url("/admin/check?host=" + host), headers=AUTH).json()["verdict"]
        self.assertEqual(verdict("one.example"), "block")
        # the job thread busy building a big list while 1,100 audit reads queue up behind it (connected first, so that
        # their requests come within a few milliseconds)
        with open(g.path("big.txt.new"), "w") as f:
            f.writelines("h%d.big.example\n" % k for k in range(1500000))
        sel = selectors.DefaultSelector()
        socks = []
        try:
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", g.admin_port))
                sel.register(s, selectors.EVENT_READ, bytearray())
                socks.append(s)
            os.rename(g.path("big.txt.new"), g.path("big.txt"))
            time.sleep(0.2)
            for s in socks:
                s.sendall(b"GET /admin/audit HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n"
                          % ADMIN_TOKEN.encode())
                s.setblocking(False)
            statuses = []
            deadline = time.time() + 30
            changed = False
            while len(statuses) < len(socks) and time.time() < deadline:
                for key, _ in sel.select(0.5):
                    chunk = key.fileobj.recv(65536)
                    key.data.extend(chunk)
                    if not chunk:
                        statuses.append(int(bytes(key.data[9:12]) or b"0"))
                        sel.unregister(key.fileobj)
                if not changed and 503 in statuses:  # the queue is full now, and stays so while the big list builds
                    with open(g.path("q.txt.new"), "w") as f:
                        f.write("one.example\ntwo.example\n")
                    os.rename(g.path("q.txt.new"), g.path("q.txt"))
                    changed = True
            self.assertTrue(changed, "no audit read was refused: the queue never filled (%s)" % sorted(set(statuses)))
        finally:
            for s in socks:
                s.close()
        self.assertTrue(wait_until(lambda: verdict("two.example") == "block", 30),
                        "the file changed while the queue was full is reloaded: " + g.error_log()[-600:])


class AuditLogTest(GatewayTestCase):
    """Every admin change is audited: the audit log's folder is made at start, and a gateway that could not write it
    does not start (it used to start and answer 200 to changes no audit line recorded)."""
    start_gateway = False

    def test_a_file_changed_while_down_is_a_new_audited_version(self):
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("audit-load", gateway_config(self.origin.url, risk=risk))
        r = curl(g.admin_url("/admin/lists/p"), method="PUT", data="a.example\nb.example\n", headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        version = r.json()["version"]
        g.stop_and_check()
        with open(g.path("p.txt"), "w") as f:
            f.write("")  # a truncated download while the gateway was down
        t = time.time() + 5
        os.utime(g.path("p.txt"), (t, t))
        g.start()
        lists = {l["name"]: l for l in curl(g.admin_url("/admin/lists"), headers=AUTH).json()}
        self.assertEqual((lists["p"]["entries"], lists["p"]["version"]), (0, version + 1))
        last = json.loads(curl(g.admin_url("/admin/audit"), headers=AUTH).text.splitlines()[-1])
        self.assertEqual((last["who"], last["action"], last["entries_before"], last["entries"], last["version"]),
                         ("start", "load", 2, 0, version + 1))
        self.assertIn("has no entries now, 2 when last in force", g.error_log())

    def test_folder_made_and_unwritable_log_refused(self):
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("audit-folder", gateway_config(self.origin.url, risk=risk, channel={"audit_log": "var/deep/audit.log"}))
        r = curl(g.admin_url("/admin/lists/p/entries"), method="POST", data=json.dumps({"add": ["a.example"]}), headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        self.assertNotIn("audit_error", r.json())
        with open(g.path("var/deep/audit.log")) as f:
            self.assertEqual(json.loads(f.read().splitlines()[-1])["list"], "p")
        g.stop_and_check()
        bad = self.new_gateway("audit-unwritable", gateway_config(self.origin.url, risk=risk,
                                                                  channel={"audit_log": "/proc/no-such/audit.log"}), start=False)
        with self.assertRaises(RuntimeError) as cm:
            bad.start()
        self.assertIn("channel.audit_log /proc/no-such/audit.log", str(cm.exception))

    def test_a_line_the_disk_had_no_room_for_is_not_left_half_written(self):
        """The disk full (RLIMIT_FSIZE) as an audit line is written: what fit of it stayed, without its newline, and the
        next line written once there was room ran into it: both read as no line at all (GET /admin/audit,
        consentgate-ctl audit, and the versions a restart continues from the log)."""
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        g = self.new_gateway("audit-full", gateway_config(self.origin.url, risk=risk), start=False)
        g.preexec = limit_file_size(256 * 1024)
        g.start()
        failed = None
        for n in range(60):  # two lists of 50 long names in turn: each line names the 50 added and the 50 removed
            body = "".join("%s%02d.%s.example\n" % ("ab"[n % 2], i, ".".join(["x" * 60] * 3)) for i in range(50))
            r = curl(g.admin_url("/admin/lists/p"), method="PUT", data=body, headers=AUTH)
            self.assertEqual(r.status, 200, r.text)
            if "audit_error" in r.json():
                failed = n
                break
        self.assertIsNotNone(failed, "the audit log never reached the size limit")
        with open(g.path("audit.log"), "rb") as f:
            text = f.read()
        self.assertTrue(text.endswith(b"\n"), "a line cut short at the end: ...%r" % text[-60:])
        self.assertEqual([json.loads(line)["version"] for line in text.splitlines()][-1], failed + 1, "the last change audited")
        self.assertIn("/audit.log: File too large (the change itself is in force)", g.error_log(), "what cut it short")


class ReportsTest(GatewayTestCase):
    """POST /__consent/report in both formats: recorded, listed with counts by blocked host, capped, rate-limited."""
    config = {"channel": {"report_rate_per_minute": 100, "audit_log": "audit.log"}, "threads": 1}

    LEGACY = {"csp-report": {"document-uri": "https://shop.example/", "blocked-uri": "https://ads.injector.example/x.js",
                             "violated-directive": "script-src-elem", "line-number": 7, "source-file": "https://shop.example/"}}
    BATCH = [{"type": "csp-violation", "url": "https://shop.example/p", "body": {
        "documentURL": "https://shop.example/p", "blockedURL": "https://ads.injector.example/y.js",
        "effectiveDirective": "script-src-elem", "lineNumber": 3, "sample": ""}},
        {"type": "deprecation", "body": {"id": "x"}}]

    def post(self, body, ctype, host="shop.example"):
        return curl(self.gw.url("/__consent/report"), method="POST", data=body if isinstance(body, str) else json.dumps(body),
                    headers=["Content-Type: " + ctype, "Host: " + host])

    def test_reports_from_srcdoc_frames_are_the_sites(self):
        # an <iframe srcdoc> inherits the page's CSP; its reports name "about:srcdoc"
        from harness import gateway_config
        g = self.new_gateway("srcdoc-reports", gateway_config(self.origin.url, threads=1, channel={"audit_log": "audit.log"}))
        srcdoc = {"csp-report": dict(self.LEGACY["csp-report"], **{"document-uri": "about:srcdoc",
                                                                    "blocked-uri": "https://frame.injector.example/f.js"})}
        r = curl(g.url("/__consent/report"), method="POST", data=json.dumps(srcdoc),
                 headers=["Content-Type: application/csp-report", "Host: shop.example"])
        self.assertEqual(r.status, 204, r.text)
        time.sleep(0.3)
        hosts = {h["host"] for h in curl(g.admin_url("/admin/injections"), headers=AUTH).json()["by_blocked_host"]}
        self.assertIn("frame.injector.example", hosts)

    def test_reports_minimised_foreign_refused_and_purged(self):
        import sqlite3
        with_query = {"csp-report": dict(self.LEGACY["csp-report"], **{
            "document-uri": "https://shop.example/account?email=alice%40example.com#top",
            "blocked-uri": "https://ads.injector.example/z.js?uid=alice"})}
        self.assertEqual(self.post(with_query, "application/csp-report").status, 204)
        # a report about another site's page (forged: browsers report the page they show) is not stored
        self.assertEqual(self.post(self.LEGACY, "application/csp-report", host="other.example").status, 400)
        self.assertEqual(self.post({"csp-report": {}}, "application/csp-report").status, 400)
        time.sleep(0.3)
        db = sqlite3.connect(self.gw.path("consent.db"))
        rows = db.execute("SELECT document_uri, blocked_uri FROM injections ORDER BY id DESC LIMIT 1").fetchall()
        db.close()
        self.assertEqual(rows, [("https://shop.example/account", "https://ads.injector.example/z.js")])
        self.assertEqual(metric(self.gw, "cg_injection_reports_total", '{outcome="foreign"}'), 2)
        # kept no longer than the consent records (store.retention_days): an old one goes at the next start
        self.gw.stop_and_check()
        db = sqlite3.connect(self.gw.path("consent.db"))
        db.execute("UPDATE injections SET time_ms = 1000 WHERE document_uri = 'https://shop.example/account'")
        db.commit()
        db.close()
        self.gw.start()
        self.assertEqual(curl(self.gw.admin_url("/admin/injections"), headers=AUTH).status, 200)  # the writer's first turn purges
        db = sqlite3.connect(self.gw.path("consent.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM injections WHERE document_uri = 'https://shop.example/account'")
                         .fetchone()[0], 0)
        db.close()

    def test_a_report_the_store_cannot_write_is_logged(self):
        # the 204 goes out before the write (a browser does not retry a report): a store that cannot write (read-only,
        # full) lost the reports without a word in the log, where a consent's failure is logged
        db = self.gw.path("consent.db")
        os.chmod(db, 0o444)
        try:
            self.assertEqual(self.post(self.LEGACY, "application/csp-report").status, 204)
            self.assertTrue(wait_until(lambda: "1 injection reports not stored: the database file" in self.gw.error_log(), 5),
                            self.gw.error_log()[-500:])
        finally:
            os.chmod(db, 0o640)

    def test_reports_bounded_by_age_and_count(self):
        # a report-only policy that every page view breaks writes a report per view: kept 730 days (the records'
        # retention), the table grew by gigabytes. Now channel.report_retention_days and channel.reports_max (the newest)
        import sqlite3
        g = self.new_gateway("report-limits", gateway_config(self.origin.url, threads=1, channel={
            "audit_log": "audit.log", "report_rate_per_minute": 100, "report_retention_days": 2, "reports_max": 3}))
        for i in range(1, 6):
            report = {"csp-report": dict(self.LEGACY["csp-report"], **{"blocked-uri": "https://x%d.injector.example/a.js" % i})}
            r = curl(g.url("/__consent/report"), method="POST", data=json.dumps(report),
                     headers=["Content-Type: application/csp-report", "Host: shop.example"])
            self.assertEqual(r.status, 204, r.text)
        self.assertTrue(wait_until(lambda: len(curl(g.admin_url("/admin/injections"), headers=AUTH).json()["recent"]) == 5))
        g.stop_and_check()
        db = sqlite3.connect(g.path("consent.db"))
        db.execute("UPDATE injections SET time_ms = time_ms - 3 * 86400000 WHERE blocked_host = 'x5.injector.example'")
        db.commit()
        db.close()
        g.start()
        curl(g.admin_url("/admin/injections"), headers=AUTH)  # (the writer purges on its first turn, then hourly)
        self.assertTrue(wait_until(lambda: "purged the 1 oldest injection reports (channel.reports_max 3)" in g.error_log()),
                        g.error_log())
        hosts = sorted(h["host"] for h in curl(g.admin_url("/admin/injections"), headers=AUTH).json()["by_blocked_host"])
        self.assertEqual(hosts, ["x2.injector.example", "x3.injector.example", "x4.injector.example"])
        self.assertIn("purged 1 injection reports older than 2 days", g.error_log())
        g.stop_and_check()

    def test_reports_recorded_and_listed(self):
        r = self.post(self.LEGACY, "application/csp-report")
        self.assertEqual(r.status, 204)
        self.assertIsNone(r.header("Content-Length"), "a 204 has no Content-Length (RFC 9110 8.6)")
        self.assertEqual(self.post(self.BATCH, "application/reports+json").status, 204)
        self.assertEqual(self.post("{nope", "application/csp-report").status, 400)
        self.assertEqual(self.post("x" * 70000, "application/csp-report").status, 413)
        time.sleep(0.3)
        r = curl(self.gw.admin_url("/admin/injections"), headers=AUTH)
        self.assertEqual(r.status, 200, r.text)
        body = r.json()
        hosts = {h["host"]: h["count"] for h in body["by_blocked_host"]}
        self.assertEqual(hosts.get("ads.injector.example"), 2)
        formats = sorted(x["format"] for x in body["recent"])
        self.assertEqual(formats, ["csp-report", "reports+json"])
        self.assertEqual(body["recent"][0]["client_ip"], "127.0.0.0/24")
        self.assertEqual(curl(self.gw.admin_url("/admin/injections")).status, 401)
        # the store's own table: the same SQLite file as the consent records
        import sqlite3
        db = sqlite3.connect(self.gw.path("consent.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM injections WHERE blocked_host = 'ads.injector.example' "
                                    "AND document_uri LIKE 'https://shop.example/%' AND blocked_uri NOT LIKE '%z.js'")
                         .fetchone()[0], 2)
        self.assertEqual(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0], "3")
        db.close()

    def assert_json_error(self, r, status, error):
        # DESIGN: the public endpoints' errors are {"error": "...", "detail": "..."} (JSON, UTF-8)
        self.assertEqual(r.status, status, r.text)
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r.headers)
        body = r.json()
        self.assertEqual(sorted(body), ["detail", "error"], body)
        self.assertEqual(body["error"], error)
        self.assertTrue(body["detail"])

    def test_errors_are_json(self):
        # (a gateway of its own: the class's counts its reports)
        from harness import gateway_config
        g = self.new_gateway("errors", gateway_config(self.origin.url, threads=1, channel={"audit_log": "audit.log"}))

        def post(body, host="shop.example"):
            return curl(g.url("/__consent/report"), method="POST", data=body,
                        headers=["Content-Type: application/csp-report", "Host: " + host])
        self.assert_json_error(post("{nope"), 400, "bad_report")
        self.assert_json_error(post(json.dumps(self.LEGACY), host="other.example"), 400, "foreign_report")
        self.assert_json_error(post("x" * 70000), 413, "too_large")
        r = curl(g.url("/__consent/report"))
        self.assert_json_error(r, 405, "method_not_allowed")
        self.assertEqual(r.header("Allow"), "POST")

    def test_rate_limited(self):
        from harness import gateway_config
        g = self.new_gateway("limited", gateway_config(self.origin.url, threads=1,
                                                       channel={"report_rate_per_minute": 5, "audit_log": "audit.log"}))
        answers = [curl(g.url("/__consent/report"), method="POST", data=json.dumps(self.LEGACY),
                        headers=["Content-Type: application/csp-report", "Host: shop.example"]) for _ in range(8)]
        # a one-minute window opened by the first report: the first 5 pass, the rest get 429
        self.assertEqual([r.status for r in answers], [204] * 5 + [429] * 3)
        self.assert_json_error(answers[-1], 429, "rate_limited")
        self.assertTrue(answers[-1].header("Retry-After"))


class ShippedDemoListsTest(GatewayTestCase):
    """The shipped config's risk lists and regime table (conf/consentgate.json, conf/risk/), as `make run` starts them, in
    front of the demo origin: the about page's guest-book links go through the shim to a block page, a warning page and
    the clean site, and the block-listed image is removed. The lists are copied (an admin edit would change the repo's)."""
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        repo_conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
        with open(os.path.join(repo_conf, "consentgate.json")) as f:
            shipped = json.load(f)
        cls.config = {k: shipped[k] for k in ("regimes", "risk", "cookies", "beacons", "html", "policy")}
        super().setUpClass()
        os.makedirs(os.path.join(cls.tmp, "risk"))
        for l in shipped["risk"]["lists"]:
            with open(os.path.join(repo_conf, l["file"])) as src, open(os.path.join(cls.tmp, l["file"]), "w") as dst:
                dst.write(src.read())
        cls.gw.start()

    def test_guest_book_links(self):
        r = curl(self.gw.url("/about"))
        self.assertEqual(r.status, 200)
        links = {htmlmod.unescape(m.group(2)): htmlmod.unescape(m.group(1))
                 for m in re.finditer(r'<a href="([^"]*)">([^<]*)</a>', r.text)}
        for text, status in (("Free glaze recipes!", 403), ("Win a kiln", 200), ("Our clay supplier", 302)):
            self.assertTrue(links[text].startswith("/__go?u="), (text, links.get(text)))
            g = curl(self.gw.url(links[text]))
            self.assertEqual(g.status, status, text)
        self.assertIn("casino-offers.example", curl(self.gw.url(links["Win a kiln"])).text)
        self.assertNotIn("drive-by-download.example", r.text)
        lists = {l["name"]: l["entries"] for l in curl(self.gw.admin_url("/admin/lists"), headers=AUTH).json()}
        self.assertEqual(lists, {"example-block": 3, "example-warn": 2})
        self.assertEqual(curl(self.gw.url("/__consent/api/state")).json()["regime"], "opt-in")

    def test_shop_gets_google_consent_mode(self):
        # the demo shop's pages carry gtag and the Meta Pixel: the example config gives Google's tags the choice
        html = curl(self.gw.url("/")).text
        self.assertRegex(html, r'<script nonce="[^"]+" data-cg-gcm>[^<]*"consent","default",\{"ad_storage":"denied"')
        self.assertLess(html.index("data-cg-gcm"), html.index("googletagmanager"))

    def test_privacy_policy_page(self):
        # the banner's "Privacy policy" link leads to a page of the shop's own
        url = curl(self.gw.url("/__consent/i18n/strings.json")).json()["policy_url"]
        r = curl(self.gw.url(url))
        self.assertEqual(r.status, 200)
        self.assertIn("<h1>Privacy policy</h1>", r.text)


class MetaCspTest(GatewayTestCase):
    """A policy in the page itself (<meta http-equiv="Content-Security-Policy">), which the browser enforces beside the
    headers' from where it stands, so over the consent UI injected at the head's end. The gateway's own policy reports
    only here (the default): the meta's nonce goes on the UI and stays on the page's own nonced elements, so the site
    works; the meta is amended as little as lets the UI work."""

    def page(self, name):
        r = curl(self.gw.url("/__origin/html?file=pages/" + name))
        self.assertEqual(r.status, 200)
        return r, r.text

    def test_nonce_policy_kept_and_ui_carries_it(self):
        r, html = self.page("meta-csp.html")
        g = re.search(r"script-src 'nonce-([^']+)'", r.header("Content-Security-Policy-Report-Only")).group(1)
        self.assertNotEqual(g, "metaNonce_42")
        tag = lambda p: re.search(p, html).group(0)  # noqa: E731
        for ui in (r'<script[^>]*src="/__consent/banner.js"[^>]*>', r'<script[^>]*id="cg-state"[^>]*>',
                   r'<link[^>]*href="/__consent/banner.css"[^>]*>', r'<script[^>]*id="own"[^>]*>', r'<style[^>]*id="own-style"[^>]*>'):
            self.assertIn('nonce="metaNonce_42"', tag(ui), ui)
        # what the page did not nonce gets the gateway's only: the page's policy still blocks it
        self.assertIn('nonce="%s"' % g, tag(r'<script[^>]*id="unnonced"[^>]*>'))
        # the page's policy: connect-src gets 'self' (the banner's fetch), nothing else; a srcdoc's own policy is its own
        self.assertIn("content=\"script-src 'nonce-metaNonce_42'; style-src 'nonce-metaNonce_42'; connect-src 'none' 'self'\"", html)
        self.assertIn("content=&quot;connect-src 'none'&quot;>", re.search(r"<iframe srcdoc=[^>]*>", html).group(0))
        # not remembered (the nonce the UI carries comes from the page): the next answers are the same
        for _ in range(2):
            self.assertEqual(self.page("meta-csp.html")[1].count("metaNonce_42"), html.count("metaNonce_42"))

    def test_hash_policy_amended_for_the_ui(self):
        r, html = self.page("meta-csp-hash.html")
        js = "http://127.0.0.1:%d/__consent/banner.js" % self.gw.port
        want = ("default-src 'none'; script-src 'sha256-AAAA' %s; img-src 'self'; connect-src 'none' 'self'; "
                "style-src 'none' 'self'") % js
        self.assertIn('content="%s"' % want, html)
        g = re.search(r"script-src 'nonce-([^']+)'", r.header("Content-Security-Policy-Report-Only")).group(1)
        self.assertIn('nonce="%s"' % g, re.search(r'<script[^>]*src="/__consent/banner.js"[^>]*>', html).group(0))
        # remembered pages give the same (the amendment depends on the host only)
        for _ in range(2):
            self.assertIn('content="%s"' % want, self.page("meta-csp-hash.html")[1])

    def test_svg_meta_nonce_adds_no_ui(self):
        """An SVG opened as a document is read as XML with nothing added (the banner is HTML). A meta policy with a
        nonce in it (an XHTML meta in a foreignObject) keeps its nonce on the SVG's own script, and brings no UI: the
        snippet rebuilt for the meta's nonce went out at the document's end, after </svg>, which made the file
        malformed XML (the browser shows a parse error instead of the image)."""
        import xml.dom.minidom
        r = curl(self.gw.url("/__origin/html?file=pages/meta-csp.svg&h=Content-Type:image/svg%2Bxml"),
                 headers=["Sec-Fetch-Dest: document"])
        self.assertEqual(r.status, 200)
        self.assertNotIn(b"banner.js", r.body)
        xml.dom.minidom.parseString(r.body)  # still well-formed
        self.assertIn('nonce="svgNonce_7"', re.search(r"<script[^>]*>", r.text).group(0))


class CspSourcesTest(GatewayTestCase):
    """channel.csp_sources: the operator's script-src sources follow the gateway's own, in their order; what would end
    the directive or the header (';', ',', '"', a line break), an empty one and a 17th are refused at start."""
    config = {"channel": {"csp": "enforce", "csp_sources": ["https://cdn.example.com", "'wasm-unsafe-eval'"]}}

    def test_sources_in_the_policy(self):
        r = curl(self.gw.url("/__origin/html?file=pages/links.html"))
        csp = r.header("Content-Security-Policy")
        self.assertRegex(csp, r"^script-src 'nonce-[^']+' 'strict-dynamic' https: 'unsafe-inline' https://cdn\.example\.com "
                              r"'wasm-unsafe-eval'; object-src 'none'; ", csp)

    def test_bad_sources_refused(self):
        for bad in (["https://a.example; script-src *"], ["a,b"], ['a"b'], ["a\r\nX-Evil: 1"], [""], [1],
                    ["https://s%d.example" % i for i in range(17)]):
            g = self.new_gateway("bad-src", gateway_config(self.origin.url, channel={"csp_sources": bad}), start=False)
            g.write_config()
            p = run_binary(["--check-config", "-c", g.config_path])
            self.assertEqual(p.returncode, 1, (bad, p.stderr))
            self.assertIn("channel.csp_sources[%d]: must be a CSP source expression" % (len(bad) - 1), p.stderr)


class MetaCspEnforcedTest(GatewayTestCase):
    """Under the gateway's enforcing policy the UI keeps the gateway's nonce (the header, out before the page, cannot
    name the meta's): the meta gets the banner script's URL. The page's nonced elements keep the meta's nonce."""
    config = {"channel": {"csp": "enforce"}}

    def test_enforced(self):
        r = curl(self.gw.url("/__origin/html?file=pages/meta-csp.html"))
        html = r.text
        ours = [v for v in r.header_all("Content-Security-Policy") if "/__consent/report" in v][0]
        g = re.search(r"script-src 'nonce-([^']+)'", ours).group(1)
        self.assertIn('nonce="%s"' % g, re.search(r'<script[^>]*src="/__consent/banner.js"[^>]*>', html).group(0))
        self.assertIn('nonce="metaNonce_42"', re.search(r'<script[^>]*id="own"[^>]*>', html).group(0))
        js = "http://127.0.0.1:%d/__consent/banner.js" % self.gw.port
        self.assertIn("content=\"script-src 'nonce-metaNonce_42' %s; style-src 'nonce-metaNonce_42' 'self'; connect-src 'none' 'self'\"" % js,
                      html)


class OriginCspTest(GatewayTestCase):
    """An origin's own Content-Security-Policy that allows scripts by nonce: the gateway's injected elements carry the
    origin's nonce, the origin's nonced elements keep it, everything else gets only the gateway's (so the origin's
    policy still blocks what it did not nonce), and the gateway's own policy lists the origin's nonce."""
    config = {"channel": {"csp": "enforce"}}

    def get(self, *policies, report_only=(), path="/__origin/html?file=pages/origin-csp.html"):
        hs = ["Content-Security-Policy:" + p for p in policies] + ["Content-Security-Policy-Report-Only:" + p for p in report_only]
        r = curl(self.gw.url(path + "".join("&h=" + urllib.parse.quote(h, safe="") for h in hs)))
        self.assertEqual(r.status, 200)
        return r

    @staticmethod
    def tag(html, pattern):
        m = re.search(pattern, html)
        return m.group(0) if m else None

    def gateway_nonce(self, r):
        ours = [v for v in r.header_all("Content-Security-Policy") if "/__consent/report" in v]
        self.assertEqual(len(ours), 1, r.headers)
        return re.search(r"script-src 'nonce-([^']+)'", ours[0]).group(1), ours[0]

    def test_origin_nonce_on_injected_ui_and_kept(self):
        origin = "script-src 'nonce-originNonce123'; style-src 'self' 'nonce-originNonce123'; object-src 'none'"
        r = self.get(origin)
        html = r.text
        self.assertIn(origin, r.header_all("Content-Security-Policy"), "the origin's policy is passed on as it came (it lets the UI in)")
        g, ours = self.gateway_nonce(r)
        self.assertNotEqual(g, "originNonce123")
        self.assertIn("'nonce-originNonce123'", ours, "the gateway's policy lets the origin's nonced scripts run")
        # the gateway's own elements: the origin's nonce
        self.assertIn('nonce="originNonce123"', self.tag(html, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))
        self.assertIn('nonce="originNonce123"', self.tag(html, r'<script[^>]*id="cg-state"[^>]*>'))
        self.assertIn('nonce="originNonce123"', self.tag(html, r'<link[^>]*href="/__consent/banner.css"[^>]*>'))
        # the origin's nonced elements keep theirs; the others get the gateway's only
        self.assertIn('nonce="originNonce123"', self.tag(html, r'<script[^>]*id="own"[^>]*>'))
        self.assertIn('nonce="originNonce123"', self.tag(html, r'<style[^>]*id="own-style"[^>]*>'))
        self.assertEqual(html.count("originNonce123"), 5, html)
        for i in ("unnonced", "wrong"):
            self.assertIn('nonce="%s"' % g, self.tag(html, r'<script[^>]*id="%s"[^>]*>' % i))

    def test_policies_in_one_field_and_default_src(self):
        # several policies in one field (comma), the nonce in default-src of the second: it is the scripts' list
        r = self.get("img-src *, default-src 'nonce-fromDefault_-' 'self'; connect-src 'self'")
        self.assertIn('nonce="fromDefault_-"', self.tag(r.text, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))
        # script-src present without a nonce: default-src's nonce is not the scripts' (the UI needs 'self' there)
        r = self.get("default-src 'nonce-notForScripts'; script-src 'self'")
        self.assertNotIn("notForScripts", self.tag(r.text, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))
        # report-only alone counts too (what it would block is reported); script-src-elem wins over script-src
        r = self.get(report_only=["script-src 'nonce-aaa'; script-src-elem 'nonce-bbb'"])
        self.assertIn('nonce="bbb"', self.tag(r.text, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))
        # an enforcing policy's nonce is preferred over a report-only one's
        r = self.get("script-src 'nonce-enforced'", report_only=["script-src 'nonce-reported'"])
        self.assertIn('nonce="enforced"', self.tag(r.text, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))

    def test_malformed_nonce_not_copied(self):
        # a nonce that is not base64 (a quote, markup) is not a nonce: never written into the page
        r = self.get("script-src 'nonce-a\"><x' 'nonce-' 'self'")
        html = r.text
        self.assertNotIn('a"><x', html)
        g, ours = self.gateway_nonce(r)
        self.assertIn('nonce="%s"' % g, self.tag(html, r'<script[^>]*src="/__consent/banner.js"[^>]*>'))
        self.assertNotIn("'nonce-a", ours)

    def origin_policies(self, r, name="Content-Security-Policy"):
        return [v for v in r.header_all(name) if "/__consent/report" not in v]

    def test_amended_as_little_as_the_ui_needs(self):
        """A policy that would block the UI's fetch, style sheet or script gets the least that lets them in, in each of
        its fields and policies, report-only too; one that lets them in is passed on as it came."""
        host = "127.0.0.1:%d" % self.gw.port
        js = "http://%s/__consent/banner.js" % host
        cases = [
            ("connect-src 'none'; img-src *", "connect-src 'none' 'self'; img-src *"),
            ("default-src 'none'", "default-src 'none'; connect-src 'none' 'self'; style-src 'none' 'self'; script-src 'none' " + js),
            ("script-src 'sha256-AAAA'", "script-src 'sha256-AAAA' " + js),              # hashes only: the banner's URL, no more
            ("script-src 'sha256-AAAA' 'strict-dynamic'", "script-src 'sha256-AAAA' 'strict-dynamic'"),  # URLs ignored there
            ("script-src 'self'; connect-src 'self'; style-src 'self'", "script-src 'self'; connect-src 'self'; style-src 'self'"),
            ("script-src 'nonce-abc'; style-src 'nonce-abc'", "script-src 'nonce-abc'; style-src 'nonce-abc'"),
        ]
        for given, want in cases:
            r = self.get(given, report_only=[given])
            self.assertEqual(self.origin_policies(r), [want], given)
            self.assertEqual(self.origin_policies(r, "Content-Security-Policy-Report-Only"), [want], given)
        # several policies in one field, and several fields
        r = self.get("script-src 'self', connect-src https://api.example", "style-src 'none'")
        self.assertEqual(self.origin_policies(r), ["script-src 'self', connect-src https://api.example 'self'", "style-src 'none' 'self'"])
        # a HEAD gets the headers its GET would
        h = curl(self.gw.url("/__origin/html?file=pages/origin-csp.html&h=" + urllib.parse.quote("Content-Security-Policy:connect-src 'none'", safe="")),
                 head=True)
        self.assertEqual(self.origin_policies(h), ["connect-src 'none' 'self'"])
        # a Host that is not a plain host[:port] never goes into the header: no script amendment then
        r = curl(self.gw.url("/__origin/html?file=pages/origin-csp.html&h=" + urllib.parse.quote("Content-Security-Policy:script-src 'none'", safe="")),
                 headers=["Host: a;b"])
        self.assertEqual(self.origin_policies(r), ["script-src 'none'"], r.headers)

    def test_no_origin_policy_unchanged(self):
        r = self.get()
        g, ours = self.gateway_nonce(r)
        self.assertEqual(len(re.findall(r"'nonce-", ours)), 1, ours)
        self.assertIn('nonce="%s"' % g, self.tag(r.text, r'<script[^>]*id="own"[^>]*>'))
