"""The consent UI's server side (gateway/ui.c) with the real gateway, the real origin and curl:
rendered preference centre (no JavaScript needed), language negotiation and fallback, the strings
endpoint for banner.js, escaping on the warning / blocked / refused pages, and the banner's size
budget.  The browser side is tests/browser/."""

import datetime
import gzip
import html
import json
import os
import re
import time
import urllib.parse

from harness import ADMIN_TOKEN, REPO, GatewayTestCase, curl, gateway_config, run_binary, ui_hash, wait_until

EASYPRIVACY = os.path.join(REPO, "tests", "data", "abp", "easyprivacy-sample.txt")
STATIC = os.path.join(REPO, "static")
with open(os.path.join(STATIC, "i18n", "en.json"), encoding="utf-8") as f:
    EN = json.load(f)
with open(os.path.join(STATIC, "i18n", "zh-CN.json"), encoding="utf-8") as f:
    ZH = json.load(f)
HOSTILE = 'javascript:alert(1)//https://bank.example@evil.example/"><script>window.x=1</script>\u202egnp.exe\x01'


def q(**params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def lang_of(r):
    m = re.search(r'<html lang="([^"]+)"', r.text)
    return m.group(1) if m else None


class UiTest(GatewayTestCase):
    config = {"cookies": {"overrides": {"sid": "necessary"}},
              "trackers": {"lists": [{"name": "easyprivacy", "file": EASYPRIVACY, "format": "abp", "category": "analytics"}]}}

    @classmethod
    def setUpClass(cls):
        os.environ["CG_UI_PREVIEW"] = "1"  # the warning pages' preview route (tests only)
        try:
            super().setUpClass()
        finally:
            del os.environ["CG_UI_PREVIEW"]

    def get(self, path, lang=None, cookie=None, headers=(), **kw):
        hdrs = list(headers) + (["Accept-Language: " + lang] if lang is not None else [])
        return curl(self.gw.url(path), headers=hdrs, cookie=cookie, **kw)

    def decide(self, body, cookie=None):
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=body, cookie=cookie,
                 headers=["Content-Type: application/x-www-form-urlencoded", "Origin: " + self.gw.url("/")[:-1]])
        self.assertEqual(r.status, 303, r.text)
        c = [v.split(";")[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")]
        self.assertEqual(len(c), 1, r.header_all("Set-Cookie"))
        return c[0]

    # ---- preference centre ------------------------------------------------------------------

    def test_preference_centre_renders_without_javascript(self):
        r = self.get("/__consent/", lang="en")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Content-Language"), "en")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        csp = r.header("Content-Security-Policy")
        for d in ("default-src 'none'", "script-src 'self'", "form-action 'self'", "frame-ancestors 'none'"):
            self.assertIn(d, csp)
        self.assertEqual(lang_of(r), "en")
        for cat in ("necessary", "functional", "analytics", "marketing"):
            self.assertIn('name="category" value="%s"' % cat, r.text)
            self.assertIn(html.escape(EN["category.%s.title" % cat], quote=True), r.text)
        self.assertRegex(r.text, r'value="necessary"[^>]* checked disabled>')
        self.assertNotRegex(r.text, r'value="analytics"[^>]* checked')
        self.assertEqual(r.text.count('action="/__consent/api/consent"'), 3)  # save, accept all, reject all
        self.assertIn('name="all" value="1"', r.text)
        self.assertIn('name="all" value="0"', r.text)
        self.assertIn(EN["pc.policy"].replace("{version}", "1"), r.text)
        self.assertIn(html.escape(EN["pc.status.undecided.opt-in"], quote=True), r.text)
        self.assertNotIn("{{", r.text)
        self.assertEqual(self.get("/__consent/index.html").status, 200)
        h = self.get("/__consent/", head=True)
        self.assertEqual((h.status, h.body), (200, b""))

    def test_form_round_trip_shows_the_saved_choice(self):
        token = self.decide("category=analytics&save=1&lang=en")
        r = self.get("/__consent/?saved=1", lang="en", cookie=token)
        saved = r'role="status"[^>]*>%s<' % re.escape(html.escape(EN["pc.saved"], quote=True))
        self.assertRegex(r.text, saved)
        self.assertRegex(r.text, r'value="analytics"[^>]* checked')
        self.assertNotRegex(r.text, r'value="marketing"[^>]* checked')
        self.assertIn(html.escape(EN["pc.status.decided"].split("{")[0], quote=True), r.text)
        self.assertNotRegex(self.get("/__consent/", cookie=token).text, saved)

    def test_date_the_choice_lasts_until_is_written_as_the_language_writes_dates(self):
        # it was ISO in every language ("2027-06-02"); a Chinese visitor reads 2027年6月2日, an English one June 2, 2027
        token = self.decide("category=analytics&save=1&lang=en")
        zh = self.get("/__consent/", lang="zh-CN", cookie=token).text
        en = self.get("/__consent/", lang="en", cookie=token).text
        m_zh = re.search(r"有效期至 ?(\d{4})年(\d{1,2})月(\d{1,2})日", zh)
        self.assertIsNotNone(m_zh, re.findall(r"<li>[^<]*</li>", zh))
        months = "January February March April May June July August September October November December".split()
        m_en = re.search(r"until (%s) (\d{1,2}), (\d{4})\." % "|".join(months), en)
        self.assertIsNotNone(m_en, re.findall(r"<li>[^<]*</li>", en))
        day_zh = datetime.date(int(m_zh.group(1)), int(m_zh.group(2)), int(m_zh.group(3)))
        day_en = datetime.date(int(m_en.group(3)), months.index(m_en.group(1)) + 1, int(m_en.group(2)))
        self.assertEqual(day_zh, day_en)
        today = datetime.datetime.now(datetime.timezone.utc).date()
        self.assertTrue(today < day_zh <= today + datetime.timedelta(days=800), day_zh)
        self.assertNotRegex(zh + en, r"\d{4}-\d{2}-\d{2}[^\d]")

    def test_cookies_and_trackers_seen_are_listed_escaped(self):
        sc = ["_ga=GA1.1.1.1; Path=/; Max-Age=600", "sid=s1; Path=/", 'a<b>"x=1; Path=/']
        curl(self.gw.url("/__origin/set-cookie?" + "&".join("c=" + urllib.parse.quote(c) for c in sc)))
        curl(self.gw.url("/"))  # the demo page: the gtag loader is a listed tracker
        r = self.get("/__consent/", lang="en")
        sections = {m.group(1): m.group(0) for m in
                    re.finditer(r'<section class="cg-cat" id="cat-(\w+)".*?(?=<section class="cg-cat"|</fieldset>)', r.text, re.S)}
        self.assertIn("<code>_ga</code>", sections["analytics"])
        self.assertIn("<code>www.googletagmanager.com</code>", sections["analytics"])
        self.assertIn("<code>sid</code>", sections["necessary"])
        self.assertIn("<code>cg_consent</code>", sections["necessary"])  # the gateway's own
        self.assertNotIn("<b>", r.text)
        if "a&lt;b&gt;" in r.text:  # listed if the cookie parser kept it: then escaped
            self.assertIn("a&lt;b&gt;&quot;x", r.text)

    def test_preference_centre_stays_quick_with_full_tables(self):
        # The cookie inventory fills as the site is used (an entry per name, host, first path segment and thread; 4,096
        # per thread), and so do the trackers seen (2,048). The preference centre merged the entries by comparing each
        # with all the others, and /admin/cookies and /admin/trackers the same key of other threads: with full tables,
        # every view held its worker thread's loop for a second or more (quadratic; more threads, more).
        with open(os.path.join(self.tmp, "tr.txt"), "w") as f:
            f.write("tr.example\n")
        g = self.new_gateway("full-tables", gateway_config(self.origin.url, threads=2, trackers={"lists": [
            {"name": "tr", "file": os.path.join(self.tmp, "tr.txt"), "format": "domains", "category": "analytics"}]}))
        for host in ("a.example", "b.example", "c.example"):  # one name under three hosts: listed once
            curl(g.url("/__origin/set-cookie?c=shared%3D1"), headers=["Host: " + host])
        self.assertEqual(re.findall(r"<code>shared</code>", curl(g.url("/__consent/")).text), ["<code>shared</code>"])
        names = ["n%05d=1" % i for i in range(12000)]
        for k in range(0, len(names), 80):  # (an upstream response has at most 100 header fields)
            r = curl(g.url("/__origin/set-cookie?" + "&".join("c=" + urllib.parse.quote(c) for c in names[k:k + 80])))
            self.assertEqual(r.status, 200)
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]

        def seen():
            return len(curl(g.admin_url("/admin/trackers"), headers=auth).json()["seen"])
        # each thread's table fills from the pages it served: which thread accepts a connection is the kernel's and the
        # event loops' choice, so pages of new trackers are asked for until both are full (one thread took three pages of
        # four under load once: the other's table was not full after 6,000 hosts)
        for k in range(0, 30000, 100):
            tail = "".join('<img src="https://x%d.tr.example/p.gif">' % i for i in range(k, k + 100))
            self.assertEqual(curl(g.url("/__origin/html?" + q(file="pages/links.html", tail=tail))).status, 200)
            if k >= 6000 and k % 2000 == 0 and seen() > 4000:
                break
        self.assertGreater(curl(g.admin_url("/admin/cookies"), headers=auth).json()["overflow"], 0, "the tables are full")
        self.assertGreater(seen(), 4000, "the trackers seen fill both threads' tables (2 x 2,048)")
        took = {}
        for url, auth in ((g.url("/__consent/"), []), (g.admin_url("/admin/cookies"), auth), (g.admin_url("/admin/trackers"), auth)):
            for _ in range(3):
                t = time.monotonic()
                r = curl(url, headers=auth)
                took[url] = min(took.get(url, 60), time.monotonic() - t)
                self.assertEqual(r.status, 200)
        page = curl(g.url("/__consent/")).text
        for pattern in (r"<code>(n\d{5})</code>", r"<code>(x\d+\.tr\.example)</code>"):
            listed = re.findall(pattern, page)
            self.assertEqual((len(listed), len(set(listed))), (60, 60), "the most a category lists, each once")
        self.assertLess(max(took.values()), 0.3, took)

    def test_dnss_form_in_opt_out(self):
        g = self.new_gateway("optout", gateway_config(self.origin.url, regimes={"default": "opt-out"}))
        r = curl(g.url("/__consent/"))
        form = re.search(r'<section class="cg-box" id="dnss".*?</section>', r.text, re.S)
        self.assertIsNotNone(form, "no do-not-sell form in an opt-out regime")
        kept = re.findall(r'name="category" value="(\w+)"', form.group(0))
        self.assertEqual(kept, ["necessary", "functional", "analytics"])
        self.assertNotIn('id="dnss"', self.get("/__consent/").text)  # not in opt-in

    def test_receipts_page(self):
        token = self.decide("all=1")
        state = curl(self.gw.url("/__consent/api/state"), cookie=token).json()
        r = self.get("/__consent/receipts", lang="zh-CN", cookie=token)
        self.assertEqual(r.status, 200)
        self.assertEqual(lang_of(r), "zh-CN")
        self.assertIn(state["visitor"], r.text)
        self.assertIn('href="/__consent/api/receipts?download=1"', r.text)
        self.assertIn('<data value="method.accept_all">%s</data>' % ZH["method.accept_all"], r.text)
        self.assertIn(ZH["receipts.visitor"] + " <code", r.text, "the label carries its own (full-width) colon")
        # without JavaScript, erasing asks first on a page of its own, then says what it did and shows its receipt
        self.assertNotIn('action="/__consent/api/erase"', r.text, "one click must not erase")
        confirm = self.get("/__consent/receipts?confirm=erase", cookie=token)
        self.assertIn('action="/__consent/api/erase"', confirm.text)
        self.assertIn(EN["receipts.erase_confirm"], confirm.text)
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", data="", cookie=token,
                 headers=["Content-Type: application/x-www-form-urlencoded", "Origin: " + self.gw.url("").rstrip("/")])
        self.assertEqual(e.status, 303, e.text)
        loc = e.header("Location")
        self.assertRegex(loc, r"^/__consent/receipts\?erased=1&receipt=[0-9a-f-]{36}$")
        done = self.get(loc, cookie=token)
        self.assertIn(EN["receipts.erased_one"], done.text)
        self.assertIn(loc.split("receipt=")[1], done.text)
        self.assertIn(EN["receipts.erased_none"], self.get("/__consent/receipts?erased=0").text)
        self.assertNotIn("<script>", self.get("/__consent/receipts?erased=2&receipt=%3Cscript%3E").text.split("</head>")[1])

    # ---- languages ----------------------------------------------------------------------------

    def test_accept_language_negotiation(self):
        for al, want in (("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW", "zh-CN"), ("ZH-cn", "zh-CN"), ("zh", "zh-CN"),
                         ("en-US,en;q=0.9", "en"), ("fr-FR, de;q=0.5", "en"), ("en;q=0.5, zh;q=0.9", "zh-CN"),
                         ("zh;q=0, en", "en"), ("*", "en"), ("", "en"), (None, "en")):
            r = self.get("/__consent/", lang=al)
            self.assertEqual((lang_of(r), r.header("Content-Language")), (want, want), al)

    def test_odd_accept_language_headers(self):
        long_al = ",".join("x%d-DE;q=0.5" % i for i in range(600)) + ",zh-Hans-CN;q=0.6,en;q=0.55"
        for al, want in (("zh-Hans-CN;q=0.9, en;q=0.8", "zh-CN"), ("zh-Hans", "zh-CN"), ("zh-HK", "zh-CN"),
                         ("zh-Hant", "zh-CN"), ("EN-GB", "en"), ("en-GB,en;q=0.9,zh;q=0.8", "en"),
                         ("*;q=0.5, zh-CN;q=0.1", "zh-CN"), ("zh_CN", "zh-CN"), (long_al, "zh-CN"),
                         # q=0 refuses: no fallback leads there (English, the default, is what is left)
                         ("zh-TW, zh-CN;q=0", "en"), ("zh-CN;q=0, zh-HK, en;q=0.5", "en"), ("zh-HK, zh;q=0", "en")):
            r = self.get("/__consent/", lang=al)
            self.assertEqual((r.status, lang_of(r), r.header("Content-Language")), (200, want, want), al[:80])
            self.assertIn("Accept-Language", r.header("Vary"))

    def test_traditional_chinese_of_the_operators_own(self):
        # Traditional Chinese is not shipped: its readers get Simplified (above). An operator who adds it (ui.strings
        # "zh-Hant") must have it served to them: "zh-Hant-TW", "zh-TW" and "zh-HK" got zh-CN all the same (the first
        # code with the primary subtag "zh"), with no RFC 4647 lookup ("zh-Hant-TW" → "zh-Hant") and no regard for
        # the script, and Simplified readers must keep zh-CN
        hant = {"lang.name": "繁體中文", "pc.title": "隱私偏好設定"}
        g = self.new_gateway("hant", gateway_config(self.origin.url, ui={"strings": {"zh-Hant": hant}}))
        for al, want in (("zh-Hant-TW", "zh-Hant"), ("zh-TW", "zh-Hant"), ("zh-HK,zh;q=0.9,en;q=0.8", "zh-Hant"),
                         ("zh-MO", "zh-Hant"), ("zh-TW,zh;q=0.9", "zh-Hant"), ("zh-Hans-CN;q=0.9, en;q=0.8", "zh-CN"),
                         ("zh", "zh-CN"), ("zh-SG", "zh-CN"), ("zh-CN", "zh-CN"), ("en", "en")):
            r = curl(g.url("/__consent/"), headers=["Accept-Language: " + al])
            self.assertEqual((lang_of(r), r.header("Content-Language")), (want, want), al)
            self.assertIn("<h1>%s</h1>" % (hant["pc.title"] if want == "zh-Hant" else ZH["pc.title"] if want == "zh-CN"
                                           else EN["pc.title"]), r.text, al)
            j = curl(g.url("/__consent/i18n/strings.json"), headers=["Accept-Language: " + al]).json()
            self.assertEqual(j["lang"], want, al)
        g.stop_and_check()

    def test_lang_parameter_is_remembered_for_the_consent_pages_only(self):
        r = self.get("/__consent/?lang=zh-CN", lang="en")
        self.assertEqual(lang_of(r), "zh-CN")
        self.assertIn(ZH["pc.title"], r.text)
        c = r.header("Set-Cookie")
        self.assertTrue(c.startswith("cg_lang=zh-CN; Path=/__consent;"), c)
        self.assertEqual(lang_of(self.get("/__consent/", lang="en", cookie="cg_lang=zh-CN")), "zh-CN")
        self.assertEqual(lang_of(self.get("/__consent/", lang="zh-CN", cookie="cg_lang=en")), "en")
        r = self.get("/__consent/?lang=xx", lang="en")
        self.assertEqual((lang_of(r), r.header("Set-Cookie")), ("en", None))
        # a site's own link names the language as its pages do: "zh", "zh-Hans", "zh_CN" are the UI's zh-CN (they were
        # ignored, the page and its cookie left to Accept-Language)
        for v in ("zh", "zh-Hans", "zh_CN", "ZH-hans-cn"):
            r = self.get("/__consent/?lang=" + v, lang="en")
            self.assertEqual(lang_of(r), "zh-CN", v)
            self.assertTrue(r.header("Set-Cookie", "").startswith("cg_lang=zh-CN;"), (v, r.header_all("Set-Cookie")))
            self.assertEqual(self.get("/__consent/i18n/strings.json?lang=" + v, lang="en").json()["lang"], "zh-CN", v)
        self.assertEqual(lang_of(self.get("/__consent/?lang=en-GB", lang="zh-CN")), "en")
        # the switch keeps the page's other parameters (the link shim's)
        r = self.get("/__consent/preview/warning?u=https%3A%2F%2Fa.test%2F&list=x&lang=en")
        self.assertIn('href="?u=https%3A%2F%2Fa.test%2F&amp;list=x&amp;lang=zh-CN"', r.text)

    def test_language_picked_is_the_link_shims_too(self):
        # the link shim's pages (/__go: warning, blocked, a bad link) are pages of the consent UI, but the cg_lang cookie
        # was Path=/__consent: a visitor whose browser asks for Chinese, who picked English on the preference centre
        # (or on a shim page), met the next shim page in Chinese again
        jar = self.gw.path("i18n-jar.txt")
        bad_link = "/__go?u=https%3A%2F%2Fa.test%2F&s=AAAAAAAAAAAAAAAAAAAAAA"
        r = curl(self.gw.url("/__consent/?lang=en"), headers=["Accept-Language: zh-CN"], cookie_jar=jar)
        self.assertEqual(lang_of(r), "en")
        r = curl(self.gw.url(bad_link), headers=["Accept-Language: zh-CN"], cookie_jar=jar)
        self.assertEqual((r.status, lang_of(r), r.header("Content-Language")), (400, "en", "en"))
        self.assertIn(html.escape(EN["refused.bad_link.title"]), r.text)
        self.assertIn("Cookie", r.header("Vary"))
        # picked on a shim page: the next shim page and the preference centre follow
        r = curl(self.gw.url(bad_link + "&lang=zh-CN"), headers=["Accept-Language: en"], cookie_jar=jar)
        self.assertEqual(lang_of(r), "zh-CN")
        self.assertIn(ZH["refused.bad_link.title"], r.text)
        for path in (bad_link, "/__consent/"):
            r = curl(self.gw.url(path), headers=["Accept-Language: en"], cookie_jar=jar)
            self.assertEqual(lang_of(r), "zh-CN", path)
        # and never at the origin
        curl(self.gw.url("/plain?i18n-jar"), cookie_jar=jar)
        seen = self.origin.assert_reached("/plain?i18n-jar")
        self.assertNotIn("cg_lang", json.dumps(seen))

    def test_a_cross_site_form_post_is_refused_by_a_page_in_the_visitors_language(self):
        # the preference centre's and the receipts page's forms work without JavaScript; one the gateway refused as
        # cross-site was answered with the API's JSON, in English ({"error": "cross_site", ...}), where the page the
        # refused.cross_site strings were written for was never sent
        form = "Content-Type: application/x-www-form-urlencoded"
        for path, body in (("/__consent/api/consent", "all=1"), ("/__consent/api/erase", "")):
            for lang, L, want in (("zh-CN,zh;q=0.9", ZH, "zh-CN"), ("en-GB", EN, "en")):
                r = curl(self.gw.url(path), method="POST", data=body,
                         headers=[form, "Origin: https://evil.example", "Accept-Language: " + lang])
                self.assertEqual(r.status, 403, (path, r.text[:200]))
                self.assertTrue(r.header("Content-Type", "").startswith("text/html"), (path, r.headers))
                self.assertEqual((lang_of(r), r.header("Content-Language")), (want, want), path)
                self.assertIn(html.escape(L["refused.cross_site.title"]), r.text)
                self.assertIn(html.escape(L["refused.cross_site.text"]), r.text)
                self.assertEqual([c for c in r.header_all("Set-Cookie") if c.startswith("cg_consent=")], [])
        # a script's request is still answered in JSON
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": true}',
                 headers=["Content-Type: application/json", "Origin: https://evil.example", "Accept-Language: zh-CN"])
        self.assertEqual((r.status, r.json()["error"]), (403, "cross_site"))

    def test_operator_overrides_and_english_fallback(self):
        g = self.new_gateway("strings", gateway_config(self.origin.url, ui={"strings": {
            "en": {"pc.title": "Cookie choices <& more>"}, "fr": {"lang.name": "Français", "pc.title": "Vos choix"}}}))
        r = curl(g.url("/__consent/"), headers=["Accept-Language: en"])
        self.assertIn("<h1>Cookie choices &lt;&amp; more&gt;</h1>", r.text)
        r = curl(g.url("/__consent/"), headers=["Accept-Language: fr-FR,fr;q=0.9"])  # an operator's language
        self.assertEqual(lang_of(r), "fr")
        self.assertIn("<h1>Vos choix</h1>", r.text)
        self.assertIn(EN["pc.intro"], html.unescape(r.text))  # what fr lacks is English
        self.assertIn('hreflang="fr" aria-current="true">Français</a>', r.text)
        j = curl(g.url("/__consent/i18n/strings.json"), headers=["Accept-Language: fr"]).json()
        self.assertEqual((j["lang"], j["strings"]["pc.title"], j["strings"]["banner.accept_all"]), ("fr", "Vos choix", EN["banner.accept_all"]))
        self.assertEqual([l["code"] for l in j["languages"]], ["en", "zh-CN", "fr"])
        # a consent given under overridden strings is recorded with a UI hash that covers them
        r = curl(g.url("/__consent/api/consent"), method="POST", data='{"all": true}', headers=["Content-Type: application/json"])
        self.assertEqual(r.status, 200, r.text)
        cookie = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        got = curl(g.url("/__consent/api/receipts"), cookie=cookie).json()
        hashes = {rec["ui_hash"] for rec in (got["records"] if isinstance(got, dict) else got)}
        self.assertEqual(hashes, {ui_hash({"en": {"pc.title": "Cookie choices <& more>"},
                                           "fr": {"lang.name": "Français", "pc.title": "Vos choix"}})})
        self.assertNotEqual(hashes, {ui_hash()})

    def test_a_right_to_left_language_of_the_operators_own(self):
        # a language ui.strings adds may be written right to left: its pages say so (the banner does by itself)
        g = self.new_gateway("rtl", gateway_config(self.origin.url, ui={"strings": {
            "ar": {"lang.name": "العربية", "pc.title": "خياراتك"}, "ku-Arab": {"lang.name": "کوردی"}}}))
        for lang, want in (("ar", "rtl"), ("ku-Arab", "rtl"), ("zh-CN", "ltr"), ("en", "ltr")):
            for path in ("/__consent/", "/__consent/receipts"):
                r = curl(g.url(path), headers=["Accept-Language: " + lang])
                self.assertIn('<html lang="%s" dir="%s">' % (lang, want), r.text, (lang, path))

    def test_a_category_of_the_operators_own_gets_words(self):
        # en.json names the four standard categories; one the config adds took no words (ui.strings refused
        # "category.social.title" as a typo) and visitors were asked about a bare "social" with no description
        cats = ["necessary", "functional", "analytics", "marketing", "social"]
        strings = {"en": {"category.social.title": "Social media", "category.social.desc": "Share buttons and embedded posts."},
                   "zh-CN": {"category.social.title": "社交媒体", "category.social.desc": "分享按钮和嵌入的帖子。"}}
        g = self.new_gateway("own-category", gateway_config(self.origin.url, categories=cats, ui={"strings": strings}))
        for lang, words in strings.items():
            r = curl(g.url("/__consent/"), headers=["Accept-Language: " + lang])
            self.assertEqual(lang_of(r), lang)
            text = html.unescape(r.text)
            self.assertIn(words["category.social.title"], text)
            self.assertIn(words["category.social.desc"], text)
            j = curl(g.url("/__consent/i18n/strings.json"), headers=["Accept-Language: " + lang]).json()
            self.assertEqual(j["strings"]["category.social.title"], words["category.social.title"], lang)
            self.assertEqual(j["strings"]["category.social.desc"], words["category.social.desc"], lang)
        self.assertNotIn("category social has no", g.error_log())
        # without words: started, and the log says what visitors see
        bare = self.new_gateway("own-category-bare", gateway_config(self.origin.url, categories=cats))
        self.assertIn("category social has no label in English", bare.error_log())
        self.assertIn("category social has no description in English", bare.error_log())
        self.assertNotIn("category analytics has no", bare.error_log())
        # a key for a category the config does not have is still a typo
        bad = self.new_gateway("own-category-typo", gateway_config(self.origin.url, categories=cats, ui={"strings": {
            "en": {"category.socail.title": "Social media"}}}), start=False)
        bad.write_config()
        p = run_binary(["--check-config", "-c", bad.config_path])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("ui.strings.en.category.socail.title: not a string of the UI", p.stdout + p.stderr)
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_a_site_without_a_privacy_policy_is_warned_about(self):
        # without policy.url the banner and the preference centre name no one and link no policy: visitors were asked
        # without learning who asks or why, and the start said nothing
        why = "policy.url is not set: the banner and the preference centre link no privacy policy"
        self.assertIn(why, self.gw.error_log())
        g = self.new_gateway("with-policy", gateway_config(self.origin.url, policy={"url": "/privacy"}))
        # (the port accepts before the line that says so is written: wait for it, the start's warnings come before it)
        self.assertTrue(wait_until(lambda: "listening on" in g.error_log()), g.error_log())
        self.assertNotIn(why, g.error_log())

    def test_strings_endpoint_for_the_banner(self):
        r = self.get("/__consent/i18n/strings.json", lang="zh-CN")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json; charset=utf-8")
        self.assertIn("Accept-Language", r.header("Vary"))
        j = r.json()
        self.assertEqual(j["lang"], "zh-CN")
        self.assertEqual(j["languages"], [{"code": "en", "name": "English"}, {"code": "zh-CN", "name": "简体中文"}])
        self.assertEqual(j["dnss"], ["marketing"])
        self.assertEqual(set(j["strings"]), set(EN))  # every key, English where a language lacks one
        self.assertEqual(j["strings"]["banner.accept_all"], ZH["banner.accept_all"])
        self.assertEqual(self.get("/__consent/i18n/en.json", lang="zh-CN").json()["strings"], EN)
        self.assertEqual(self.get("/__consent/i18n/strings.json?lang=en", lang="zh-CN").json()["lang"], "en")
        self.assertEqual(self.get("/__consent/i18n/fr.json").status, 404)

    def test_privacy_policy_linked_in_the_visitors_language(self):
        # the banner and the preference centre had no way to the site's privacy policy, which a consent must be informed
        # by (GDPR art. 13, PIPL art. 17): policy.url, "{lang}" in it the UI's language
        self.assertNotIn("policy_url", self.get("/__consent/i18n/strings.json", lang="en").json())
        self.assertIn("<li>Privacy policy version 1</li>", self.get("/__consent/", lang="en").text)
        g = self.new_gateway("policy-url", gateway_config(self.origin.url, policy={"url": "/{lang}/privacy?from=cg&v=1"}))
        for lang in ("en", "zh-CN"):
            j = curl(g.url("/__consent/i18n/strings.json"), headers=["Accept-Language: " + lang]).json()
            self.assertEqual(j["policy_url"], "/%s/privacy?from=cg&v=1" % lang)
            self.assertEqual(j["strings"]["banner.policy_link"], (EN if lang == "en" else ZH)["banner.policy_link"])
            page = curl(g.url("/__consent/?lang=" + lang)).text
            self.assertIn('<a href="/%s/privacy?from=cg&amp;v=1">%s</a>' % (lang, html.escape((EN if lang == "en" else ZH)["pc.policy"])
                                                                             .replace("{version}", "1")), page)
        g.stop_and_check()

    def test_strings_endpoint_answers_304_while_unchanged(self):
        # the banner fetches its strings on each page it shows itself on; no-cache without a validator fetched all of
        # them (~9 KB) every time: with an ETag, the browser revalidates and gets 304 while they are the same
        r = self.get("/__consent/i18n/strings.json", lang="zh-CN")
        etag = r.header("ETag")
        self.assertRegex(etag or "", r'^"[0-9a-f]{16}"$')
        self.assertNotEqual(self.get("/__consent/i18n/strings.json", lang="en").header("ETag"), etag, "one per language")
        for inm in (etag, "W/" + etag, '"x", ' + etag, "*"):
            again = self.get("/__consent/i18n/strings.json", lang="zh-CN", headers=["If-None-Match: " + inm])
            self.assertEqual((again.status, again.body, again.header("ETag")), (304, b"", etag), inm)
            self.assertEqual(again.header("Cache-Control"), "no-cache")
            self.assertIn("Accept-Language", again.header("Vary"))
        other = self.get("/__consent/i18n/strings.json", lang="en", headers=["If-None-Match: " + etag])
        self.assertEqual(other.status, 200, "another language's strings are not the ones held")
        self.assertEqual(other.json()["lang"], "en")

    def test_translations_are_complete(self):
        self.assertEqual(set(ZH) - set(EN), set(), "keys only in zh-CN")
        self.assertEqual(sorted(set(EN) - set(ZH)), [], "keys missing in zh-CN (English would show)")
        for k, v in EN.items():
            # (named: their order is the language's, a date's "{month} {d}, {y}" is "{y}年{month}{d}日")
            self.assertEqual(sorted(re.findall(r"\{\w+\}", v)), sorted(re.findall(r"\{\w+\}", ZH[k])), "placeholders of " + k)

    # ---- static files, templates ----------------------------------------------------------------

    def test_static_files_pass_through_and_templates_are_not_served(self):
        for path, ctype in (("/__consent/banner.js", "javascript"), ("/__consent/banner.css", "text/css"),
                            ("/__consent/ui.css", "text/css"), ("/__consent/receipts.js", "javascript")):
            r = self.get(path)
            self.assertEqual(r.status, 200, path)
            self.assertIn(ctype, r.header("Content-Type"), path)
        for path in ("/__consent/templates/preferences.html", "/__consent//templates/warning.html",
                     "/__consent///templates/receipts.html", "/__consent/Templates/warning.html", "/__consent//templates/",
                     "/__consent/x/../templates/warning.html", "/__consent/./templates/warning.html"):
            r = self.get(path)
            self.assertEqual(r.status, 404, path)
            self.assertNotIn("{{", r.text, path)
        page = self.get("/").text  # the rewriter's injection points at files that exist
        self.assertIn('src="/__consent/banner.js"', page)
        self.assertIn('id="cg-state"', page)

    def test_static_files_are_revalidated(self):
        # every consent record carries the hash of the UI served (static/): a browser that kept banner.js or ui.css by
        # heuristic freshness (a Last-Modified and no Cache-Control: a tenth of the file's age, days for a file installed
        # weeks ago) ran the old UI after an upgrade, while its records named the new one. no-cache: asked each time,
        # and answered 304 while the file is the same
        for path in ("/__consent/banner.js", "/__consent/banner.css", "/__consent/ui.css", "/__consent/preferences.js",
                     "/__consent/receipts.js"):
            r = self.get(path)
            self.assertEqual((r.status, r.header_all("Cache-Control")), (200, ["no-cache"]), path)
            etag = r.header("ETag")
            self.assertIsNotNone(etag, path)
            again = curl(self.gw.url(path), headers=["If-None-Match: " + etag])
            self.assertEqual((again.status, again.body), (304, b""), path)
            self.assertEqual(curl(self.gw.url(path), head=True).header_all("Cache-Control"), ["no-cache"], path)
        # what says otherwise itself keeps it: the pages no-store, the strings no-cache once
        self.assertEqual(self.get("/__consent/").header_all("Cache-Control"), ["no-store"])
        self.assertEqual(self.get("/__consent/i18n/strings.json").header_all("Cache-Control"), ["no-cache"])

    def test_banner_size_budget(self):
        # what every visitor's first page costs; 12 KB until banner.css's declarations became !important (~300 bytes
        # gzipped), which keeps a page's own !important rules off the banner; 13 KB until it named a CJK font for each
        # script (~150 bytes), which draws an operator's Traditional Chinese or Japanese in its own glyphs
        size = 0
        for name in ("banner.js", "banner.css"):
            with open(os.path.join(STATIC, name), "rb") as f:
                size += len(gzip.compress(f.read(), 9))
        self.assertLessEqual(size, 13 * 1024 + 256, "banner.js + banner.css gzipped")

    # ---- warning, blocked, refused ----------------------------------------------------------------

    def test_warning_page_shows_a_hostile_url_as_text(self):
        r = self.get("/__consent/preview/warning?" + q(u=HOSTILE, list="<b>phish</b>", reason='"><img src=x>',
                                                       **{"continue": "/__go?u=x&s=sig"}))
        self.assertEqual(r.status, 200)
        self.assertIn("frame-ancestors 'none'", r.header("Content-Security-Policy"))
        self.assertNotIn("script-src 'self'", r.header("Content-Security-Policy"))
        body = r.text
        self.assertNotIn("<script", body)
        self.assertNotIn("<img", body)
        self.assertNotIn("<b>", body)
        self.assertNotIn("\u202e", body)
        self.assertIn("%E2%80%AE", body)  # the right-to-left override, percent-encoded
        self.assertIn("%01", body)
        self.assertIn("&lt;script&gt;window.x=1&lt;/script&gt;", body)
        self.assertIn('<strong class="cg-host">evil.example</strong>', body)
        hrefs = re.findall(r'href="([^"]*)"', body)
        self.assertFalse([h for h in hrefs if re.match(r"\s*javascript:", h, re.I)], hrefs)
        self.assertEqual([h for h in hrefs if not h.startswith("?")], ["/__consent/ui.css", "/", "/__go?u=x&amp;s=sig"])
        self.assertIn("/__go?u=x&amp;s=sig", hrefs)
        for bad in ("javascript:alert(1)", "//evil.example/", " /x", "/\\evil.example", "data:text/html,x"):
            r = self.get("/__consent/preview/warning?" + q(u="https://a.test/", list="x") + "&continue=" + urllib.parse.quote(bad))
            self.assertNotIn(html.escape(EN["warning.continue"], quote=True), r.text, bad)

    def test_look_alike_host_is_shown_as_punycode(self):
        r = self.get("/__consent/preview/warning?" + q(u="https://p\u0430ypal.com/login", list="phishing"))  # Cyrillic a
        self.assertIn('<strong class="cg-host">xn--pypal-4ve.com</strong> <span class="cg-muted">(p\u0430ypal.com)</span>', r.text)
        r = self.get("/__consent/preview/warning?" + q(u="https://PayPal.example:8443/x", list="phishing"))
        self.assertIn('<strong class="cg-host">paypal.example</strong></dd>', r.text)

    def test_blocked_and_refused_pages(self):
        r = self.get("/__consent/preview/blocked?" + q(u=HOSTILE, list="malware"), lang="zh-CN")
        self.assertEqual(r.status, 403)
        self.assertEqual(lang_of(r), "zh-CN")
        self.assertIn(ZH["blocked.title"], r.text)
        self.assertNotIn("<script", r.text)
        self.assertNotIn(ZH["warning.continue"], r.text)
        r = self.get("/__consent/preview/refused", lang="en")
        self.assertEqual(r.status, 400)
        self.assertIn(EN["refused.bad_link.title"], r.text)

    def test_preview_route_is_off_without_the_environment_variable(self):
        g = self.new_gateway("nopreview", gateway_config(self.origin.url))
        self.assertEqual(curl(g.url("/__consent/preview/warning?u=x")).status, 404)
