"""Cookie acceptance levels against the real gateway and a real origin: what reaches the origin,
what reaches the browser, the consent API, regimes from MaxMind's test database, GPC, report-only."""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import time
import urllib.parse

from harness import ADMIN_TOKEN, GatewayTestCase, curl, gateway_config, metric, raw_request
import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CITY_DB = os.path.join(ROOT, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb")

GA = "_ga=GA1.1.111.222"
FBP = "_fbp=fb.1.1700000000.42"
SID = "sid=s3ss10n"


def set_cookie_path(*cookies, tag="sc"):
    """origin URL path answering with one Set-Cookie per argument"""
    return "/__origin/set-cookie?t=%s&" % tag + "&".join("c=" + urllib.parse.quote(c, safe="") for c in cookies)


def cookie_names(entry):
    """names of the cookies the origin received in a logged request"""
    names = []
    for v in harness.Origin.header(entry, "Cookie"):
        for pair in v.split(";"):
            pair = pair.strip()
            if pair:
                names.append(pair.split("=", 1)[0])
    return names


def set_cookie_names(resp):
    return [v.split("=", 1)[0].strip() for v in resp.header_all("Set-Cookie")]


def expired_names(resp):
    return sorted({v.split("=", 1)[0] for v in resp.header_all("Set-Cookie") if re.search(r"(?i)max-age=0(;|$)", v)})


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign_token(secret, payload):
    """a consent token of a 36-byte payload (filters/token.h's layout), signed as the gateway signs: HMAC-SHA256 under
    the key's secret, truncated to 16 bytes, base64url without padding"""
    return b64url_encode(payload + hmac.new(secret, payload, hashlib.sha256).digest()[:16])


def consent_cookie(resp):
    for v in resp.header_all("Set-Cookie"):
        name, _, rest = v.partition("=")
        if name in ("cg_consent", "__Host-cg_consent"):
            return name, rest.split(";", 1)[0], v
    return None


class ConsentTest(GatewayTestCase):
    """Default regime opt-in; sid is necessary (operator override)."""
    with_tls = True
    config = {"cookies": {"overrides": {"sid": "necessary"}}}

    def decide(self, body, cookie=None, tls=False, headers=(), method="POST", content_type="application/json"):
        hdrs = list(headers)
        if content_type and method == "POST":
            hdrs.append("Content-Type: " + content_type)
        return curl(self.gw.url("/__consent/api/consent", tls=tls), method=method, headers=hdrs,
                    data=(json.dumps(body) if isinstance(body, dict) else body) if body is not None else None,
                    cookie=cookie)

    def token_of(self, resp):
        c = consent_cookie(resp)
        self.assertIsNotNone(c, "no consent cookie in %s" % resp.header_all("Set-Cookie"))
        return "%s=%s" % (c[0], c[1])

    # ---- before consent ---------------------------------------------------------------------

    def test_opt_in_before_consent_nothing_non_necessary_passes(self):
        r = curl(self.gw.url(set_cookie_path(GA + "; Max-Age=63072000; Path=/", SID + "; HttpOnly; Path=/",
                                             FBP + "; Path=/", tag="before")),
                 cookie="; ".join([GA, SID, FBP]))
        self.assertEqual(r.status, 200, r)
        e = self.origin.assert_reached("t=before")
        self.assertEqual(cookie_names(e), ["sid"], "only the necessary cookie may reach the origin")
        self.assertEqual(harness.Origin.header(e, "Consent-Categories"), ["necessary"])
        # the browser gets no Set-Cookie of a refused category, only the necessary one and expiries
        live = [v for v in r.header_all("Set-Cookie") if not re.search(r"(?i)max-age=0(;|$)", v)]
        self.assertEqual([v.split("=", 1)[0] for v in live], ["sid"], r.header_all("Set-Cookie"))
        # cookies of refused categories the browser carried are expired (host-only: an IP has no registrable domain)
        self.assertEqual(expired_names(r), ["_fbp", "_ga"])

    def test_origin_deleting_a_refused_cookie_is_let_through_without_its_value(self):
        # the gateway's own expiry covers Path=/ host-only and the registrable domain; the origin knows where it set its
        # cookies (Path=/shop, an intermediate Domain=): its deletion of a refused one must reach the browser
        r = curl(self.gw.url(set_cookie_path("_ga=GA1.1.1.1; Max-Age=0; Path=/shop",
                                             "_fbp=fb.1.2; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/shop; HttpOnly",
                                             "_gid=GA1.1.9; Max-Age=-1; Domain=shop.example.co.uk",
                                             "_gcl_au=1.1.1; Max-Age=86400; Path=/shop",
                                             "_gat=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT; Path=/", tag="del")),
                 headers=["Host: www.shop.example.co.uk"])
        self.assertEqual(r.status, 200)
        sc = r.header_all("Set-Cookie")
        self.assertIn("_ga=; Max-Age=0; Path=/shop", sc)
        self.assertIn("_fbp=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/shop; HttpOnly", sc)
        self.assertIn("_gid=; Max-Age=0; Domain=shop.example.co.uk", sc)
        self.assertFalse([v for v in sc if "GA1" in v or "fb.1" in v or v.startswith("_gcl_au") or v.startswith("_gat")],
                         "a refused cookie's value or a lasting refused cookie reached the browser: %s" % sc)

    def test_expiry_of_prefixed_names_in_any_case_is_secure(self):
        # browsers read the __Secure-/__Host- prefixes in any case (RFC 6265bis; Chromium does): an expiry of
        # __SECURE-x without Secure, or of __HOST-x with a Domain, is ignored and the refused cookie stays
        r = curl(self.gw.url("/__origin/echo?t=prefix-case", tls=True), headers=["Host: www.shop.example.co.uk"],
                 cookie="__SECURE-pref=1; __HOST-pref=2; __secure-x=3; __Host-y=4")
        self.assertEqual(r.status, 200)
        sc = sorted(r.header_all("Set-Cookie"))
        self.assertEqual(sc, sorted(["__SECURE-pref=; Max-Age=0; Path=/; Secure",
                                     "__SECURE-pref=; Max-Age=0; Path=/; Domain=example.co.uk; Secure",
                                     "__HOST-pref=; Max-Age=0; Path=/; Secure",
                                     "__secure-x=; Max-Age=0; Path=/; Secure",
                                     "__secure-x=; Max-Age=0; Path=/; Domain=example.co.uk; Secure",
                                     "__Host-y=; Max-Age=0; Path=/; Secure"]))

    def capped_ga(self, attributes, tag):
        """the one _ga line the gateway lets through, after all was granted, for the origin's GA + attributes; its
        Max-Age must be no longer than a year (the consent's lifetime)"""
        token = self.token_of(self.decide({"all": True}))
        r = curl(self.gw.url(set_cookie_path(GA + attributes, tag=tag)), cookie=token)
        ga = [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=")]
        self.assertEqual(len(ga), 1, r.header_all("Set-Cookie"))
        m = re.search(r"Max-Age=(\d+)(;|$)", ga[0])
        self.assertIsNotNone(m, ga[0])
        self.assertLessEqual(int(m.group(1)), 365 * 86400)
        return ga[0]

    def test_lifetime_cap_reads_a_plus_signed_max_age(self):
        # Chromium reads "Max-Age=+34560000" as 400 days; the cap to the consent's lifetime must read it so too
        self.capped_ga("; Max-Age=+34560000; Path=/", "plus")

    def test_lifetime_cap_reads_a_five_digit_year(self):
        # Chromium keeps a cookie that expires in the year 10000 for 400 days; the cap must see that date too
        self.assertNotIn("10000", self.capped_ga("; Expires=Wed, 01 Jan 10000 00:00:00 GMT; Path=/", "y10k"))

    def test_lifetime_cap_reads_the_last_max_age_even_when_invalid(self):
        # Chromium takes the last Max-Age even when its value is no number, and then goes by the Expires: this one lives
        # 400 days, not 5 seconds; the cap to the consent's lifetime must see that
        self.assertNotIn("2099", self.capped_ga("; Max-Age=5; Max-Age=5x; Expires=Fri, 31 Dec 2099 00:00:00 GMT; Path=/",
                                                "lastma"))

    def test_lifetime_cap_reads_a_time_as_chromium_does(self):
        # Chromium reads "010:00:00" as 10 o'clock (a time's fields may have any number of digits): the cookie lives 400
        # days, and the cap must see its date (RFC 6265's two-digit fields made it a date without a time: no date)
        self.assertNotIn("2099", self.capped_ga("; Expires=Fri, 31 Dec 2099 010:00:00 GMT; Path=/", "hms"))

    def resign(self, value, expires=None, visitor=None, granted=None, flags=None):
        """the gateway's token `value` with fields changed, signed again with the gateway's primary key"""
        payload = bytearray(b64url_decode(value)[:36])
        with open(self.gw.path("secrets.json")) as f:
            keys = json.load(f)["keys"]
        key = [k for k in keys if k.get("primary", len(keys) == 1)][0]
        if expires is not None:
            payload[31:36] = expires.to_bytes(5, "big")
        if visitor is not None:
            payload[2:18] = visitor
        if granted is not None:
            payload[18:20] = granted.to_bytes(2, "big")
        if flags is not None:
            payload[25] = flags
        return sign_token(b64url_decode(key["secret"]), bytes(payload))

    def capped_max_age(self, cookie, tag, set_cookie=GA + "; Max-Age=86400; Path=/"):
        r = curl(self.gw.url(set_cookie_path(set_cookie, tag=tag)), cookie=cookie)
        ga = [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=")]
        self.assertEqual(len(ga), 1, r.header_all("Set-Cookie"))
        return int(re.search(r"Max-Age=(\d+)(;|$)", ga[0]).group(1))

    def test_lifetime_cap_is_the_earliest_token_in_force(self):
        # a granted cookie lives no longer than the consent: the token's own expiry, not a fresh consent's lifetime,
        # and with two tokens in force the one that ends first
        name, value, _ = consent_cookie(self.decide({"all": True}))
        ending = "%s=%s" % (name, self.resign(value, expires=int(time.time()) + 1000))
        self.assertLessEqual(self.capped_max_age(ending, "cap-own"), 1000)
        for i, order in enumerate(((name + "=" + value, ending), (ending, name + "=" + value))):
            self.assertLessEqual(self.capped_max_age("; ".join(order), "cap-two-%d" % i), 1000)
        # the cap is exact: one that outlives the consent by 30 s is cut to it
        self.assertLessEqual(self.capped_max_age(name + "=" + value, "cap-exact", GA + "; Max-Age=%d; Path=/" % (365 * 86400 + 30)),
                             365 * 86400)

    def test_necessary_cookies_keep_their_lifetime_and_plain_http_adds_no_secure(self):
        token = self.token_of(self.decide({"all": True}))
        r = curl(self.gw.url(set_cookie_path(SID + "; Max-Age=63072000; Path=/", GA + "; Path=/", tag="nec-life")), cookie=token)
        sc = r.header_all("Set-Cookie")
        self.assertIn(SID + "; Max-Age=63072000; Path=/", sc, "the lifetime cap is for the categories a consent grants")
        self.assertIn(GA + "; Path=/", sc, "Secure is added under TLS only (a browser drops a Secure cookie set over http)")

    def test_origin_set_cookies_the_parser_refuses_are_dropped(self):
        # no name and no value, or a name and value over 4096 bytes: a browser ignores them, and the gateway cannot
        # classify them; enforced, they are dropped even when everything is granted
        token = self.token_of(self.decide({"all": True}))
        r = curl(self.gw.url(set_cookie_path("=; Path=/", "sid=" + "x" * 4100, SID + "; Path=/", tag="unparsable")), cookie=token)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("Set-Cookie"), [SID + "; Path=/"])

    def test_origin_may_set_neither_token_name(self):
        # the gateway's token under either name (__Host- over TLS): never set by the origin, whatever is granted
        token = self.token_of(self.decide({"all": True}))
        r = curl(self.gw.url(set_cookie_path("cg_consent=forged; Path=/", "__Host-cg_consent=forged; Path=/; Secure", SID,
                                             tag="own-names")), cookie=token)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("Set-Cookie"), [SID])

    def test_undecided_token_beside_a_decided_one_decides_nothing(self):
        # two tokens in force count as the narrower: a decided "all" beside an undecided one (the kind a GPC refusal
        # gets) is undecided, and in this opt-in regime an undecided token grants only what is necessary
        name, value, _ = consent_cookie(self.decide({"all": True}))
        undecided = self.resign(value, flags=0)
        for i, order in enumerate(((value, undecided), (undecided, value))):
            curl(self.gw.url("/__origin/echo?t=undecided-%d" % i), cookie="; ".join(["%s=%s" % (name, v) for v in order] + [GA, SID]))
            self.assertEqual(cookie_names(self.origin.assert_reached("t=undecided-%d" % i)), ["sid"])

    def test_an_expired_token_of_another_visitor_names_nobody(self):
        # every token whose signature verifies claims a visitor, expired ones too: one planted beside the visitor's
        # own means neither id is believed
        name, value, _ = consent_cookie(self.decide({"all": True}))
        planted = self.resign(value, expires=int(time.time()) - 60, visitor=bytes(range(16)))
        s = curl(self.gw.url("/__consent/api/state"), cookie="%s=%s; %s=%s" % (name, value, name, planted)).json()
        self.assertIsNone(s["visitor"])
        self.assertIsNotNone(curl(self.gw.url("/__consent/api/state"), cookie="%s=%s" % (name, value)).json()["visitor"])

    def test_a_refused_name_sent_twice_is_expired_once(self):
        # browsers send duplicates (the same name under two paths or domains): one expiry of each kind is enough
        r = curl(self.gw.url("/__origin/echo?t=dup"), cookie="_ga=1; _ga=2; _fbp=3; _ga=4", headers=["Host: www.shop.example.co.uk"])
        sc = sorted(v for v in r.header_all("Set-Cookie") if re.search(r"(?i)max-age=0(;|$)", v))
        self.assertEqual(sc, sorted(["_ga=; Max-Age=0; Path=/", "_ga=; Max-Age=0; Path=/; Domain=example.co.uk",
                                     "_fbp=; Max-Age=0; Path=/", "_fbp=; Max-Age=0; Path=/; Domain=example.co.uk"]))

    def test_nameless_refused_cookie_is_expired(self):
        # a cookie without a name (document.cookie = "abc", or Set-Cookie: abc) is sent as its bare value; browsers
        # ignore "=; Max-Age=0" (no name, no value) but expire it with "=x; Max-Age=0" (Chromium does)
        r = curl(self.gw.url("/__origin/echo?t=nameless"), cookie="sid=1; trk123abc")
        self.assertEqual(r.status, 200)
        self.assertEqual(cookie_names(self.origin.assert_reached("t=nameless")), ["sid"])
        self.assertIn("=x; Max-Age=0; Path=/", r.header_all("Set-Cookie"))
        self.assertNotIn("=; Max-Age=0; Path=/", r.header_all("Set-Cookie"))

    def test_refused_name_hidden_in_a_value_with_blanks(self):
        # "sid=1 _ga=…" is one pair to RFC 6265, but origins that split on blanks (Python's http.cookies) read _ga
        r = curl(self.gw.url("/__origin/echo?t=hidden"), cookie="sid=1 _ga=GA1.2.3 _gid=x")
        self.assertEqual(r.status, 200)
        e = self.origin.assert_reached("t=hidden")
        self.assertNotIn("_ga", "; ".join(harness.Origin.header(e, "Cookie")), "a refused name inside a value never reaches the origin")
        self.assertNotIn("sid", expired_names(r), "the carrier is not expired, only not forwarded")
        curl(self.gw.url("/__origin/echo?t=blank"), cookie="sid=hello world")
        e = self.origin.assert_reached("t=blank")
        self.assertEqual(harness.Origin.header(e, "Cookie"), ["sid=hello world"], "blanks without a name in them pass")
        # so do origins that split on commas as well (Rack before 3, which Rails apps run on: parse_query(header, ";,");
        # Jetty's and Tomcat's RFC 2965 parsers): "sid=1,_ga=…" is _ga to them
        r = curl(self.gw.url("/__origin/echo?t=comma"), cookie="sid=1,_ga=GA1.2.3")
        e = self.origin.assert_reached("t=comma")
        self.assertNotIn("_ga", "; ".join(harness.Origin.header(e, "Cookie")), "a refused name after a comma never reaches the origin")
        curl(self.gw.url("/__origin/echo?t=commas"), cookie="sid=a,b,c")
        e = self.origin.assert_reached("t=commas")
        self.assertEqual(harness.Origin.header(e, "Cookie"), ["sid=a,b,c"], "commas without a name after them pass")

    def test_expiry_covers_registrable_domain(self):
        r = curl(self.gw.url("/__origin/echo?t=domain"), cookie=GA, headers=["Host: www.shop.example.co.uk"])
        self.assertEqual(r.status, 200)
        expiries = [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=;")]
        self.assertEqual(len(expiries), 2, expiries)
        self.assertTrue(any("Domain=example.co.uk" in v for v in expiries), expiries)
        self.assertTrue(any("Domain" not in v for v in expiries), expiries)

    def test_gateway_answers_expire_refused_cookies_too(self):
        # the contract's "a response to a request that carries them expires them" holds for the gateway's own answers
        # (its API, the preference centre, its static files, the link shim, reports) as for the origin's pages: a
        # visitor who opens the privacy settings straight away must not keep _ga until some page of the site
        carried = "; ".join([GA, FBP, SID])
        answers = {
            "state": curl(self.gw.url("/__consent/api/state"), cookie=carried),
            "preferences": curl(self.gw.url("/__consent/"), cookie=carried),
            "static file": curl(self.gw.url("/__consent/banner.js"), cookie=carried),
            "receipts": curl(self.gw.url("/__consent/api/receipts"), cookie=carried),
            "unknown endpoint": curl(self.gw.url("/__consent/api/nothing"), cookie=carried),
            "link shim": curl(self.gw.url("/__go?u=https%3A%2F%2Fexample.org%2F&s=forged"), cookie=carried),
            "report": curl(self.gw.url("/__consent/report"), method="POST", cookie=carried,
                           headers=["Content-Type: application/csp-report"],
                           data=json.dumps({"csp-report": {"document-uri": "http://x/", "blocked-uri": "inline",
                                                           "violated-directive": "script-src"}})),
        }
        for what, r in answers.items():
            self.assertEqual(expired_names(r), ["_fbp", "_ga"], "%s (%d): %s" % (what, r.status, r.header_all("Set-Cookie")))
        self.assertEqual(answers["static file"].status, 200)
        # a decision that grants them expires nothing
        token = self.token_of(self.decide({"all": True}))
        self.assertEqual(expired_names(curl(self.gw.url("/__consent/"), cookie="; ".join([token, GA, FBP]))), [])
        # an answer that carries a new decision expires by that one, not by the request's: accepting keeps _ga, and
        # narrowing expires what it refuses once
        r = self.decide({"all": True}, cookie=carried)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(expired_names(r), [])
        r = self.decide({"categories": {"analytics": True}}, cookie=carried)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([v for v in r.header_all("Set-Cookie") if re.search(r"(?i)max-age=0(;|$)", v)],
                         ["_fbp=; Max-Age=0; Path=/"])

    def test_answers_carrying_the_gateways_cookies_are_private(self):
        # an expiry of a refused cookie is this visitor's: on an answer the origin let shared caches store (public,
        # s-maxage), a CDN or proxy that stores Set-Cookie would expire _ga for every later visitor, consenting ones
        # too. The origin's caching stays for the browser; without an expiry the answer is left as it came
        cacheable = "/__origin/headers?h=Cache-Control:public,%20max-age=600,%20s-maxage=3600&t="
        r = curl(self.gw.url(cacheable + "carried"), cookie="; ".join([GA, SID]))
        self.assertEqual(expired_names(r), ["_ga"])
        self.assertEqual(r.header_all("Cache-Control"), ["max-age=600, private"])
        r = curl(self.gw.url(cacheable + "clean"), cookie=SID)
        self.assertEqual(r.header_all("Set-Cookie"), [])
        self.assertEqual(r.header_all("Cache-Control"), ["public, max-age=600, s-maxage=3600"])
        # the gateway's own static files (heuristically cacheable: validators, no Cache-Control) likewise
        r = curl(self.gw.url("/__consent/banner.js"), cookie=GA)
        self.assertEqual((r.status, expired_names(r)), (200, ["_ga"]))
        self.assertEqual(r.header_all("Cache-Control"), ["no-cache, private"])
        self.assertEqual(curl(self.gw.url("/__consent/banner.js")).header_all("Cache-Control"), ["no-cache"])

    def test_answer_varying_on_the_decision_varies_on_the_cookie(self):
        # an origin that serves per decision says Vary: Consent-Categories, a header only the gateway sends: a cache
        # (the browser's too) sees no such header in any request, so it would hand the copy made for "accept all" back
        # after a withdrawal (a tag manager's config, trackers in it). The decision is in the cookie (the token changes
        # with every choice), and in the visitor's country, which no Vary names: Vary: cookie and private
        path = "/__origin/headers?h=Content-Type:application/javascript&h=Cache-Control:public,max-age=600&h=Vary:"
        r = curl(self.gw.url(path + "Accept-Encoding,%20Consent-Categories"))
        vary = [t.strip().lower() for v in r.header_all("Vary") for t in v.split(",")]
        self.assertIn("cookie", vary)
        self.assertIn("consent-categories", vary, "the origin's Vary is kept")
        self.assertEqual(r.header_all("Cache-Control"), ["max-age=600, private"])
        r = curl(self.gw.url(path + "Accept-Encoding"))
        self.assertEqual(r.header_all("Vary"), ["Accept-Encoding"], "an answer not varying on the decision is left alone")
        self.assertEqual(r.header_all("Cache-Control"), ["public,max-age=600"])

    def test_state_before_decision(self):
        r = curl(self.gw.url("/__consent/api/state"))
        self.assertEqual(r.status, 200)
        s = r.json()
        self.assertEqual(s["regime"], "opt-in")
        self.assertFalse(s["decided"])
        self.assertIsNone(s["visitor"])
        self.assertEqual(s["policy_version"], 1)
        self.assertEqual(s["categories"], {"necessary": True, "functional": False, "analytics": False, "marketing": False})

    def test_client_cannot_claim_consent_categories(self):
        curl(self.gw.url("/__origin/echo?t=spoof"), headers=["Consent-Categories: necessary,analytics,marketing"])
        e = self.origin.assert_reached("t=spoof")
        self.assertEqual(harness.Origin.header(e, "Consent-Categories"), ["necessary"])

    # ---- decisions -----------------------------------------------------------------------------

    def test_accept_all_then_withdraw(self):
        r = self.decide({"all": True})
        self.assertEqual(r.status, 200, r.text)
        body = r.json()
        self.assertRegex(body["receipt"], r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertTrue(body["decided"])
        self.assertEqual(body["method"], "accept_all")
        self.assertTrue(all(body["categories"].values()))
        name, value, raw = consent_cookie(r)
        self.assertEqual(name, "cg_consent")
        for attr in ("HttpOnly", "SameSite=Lax", "Path=/"):
            self.assertIn(attr, raw)
        token = "%s=%s" % (name, value)

        # with the token, analytics and marketing cookies pass both ways; the token itself never reaches the origin
        r = curl(self.gw.url(set_cookie_path(GA + "; Max-Age=63072000; Path=/", FBP + "; Path=/", tag="after")),
                 cookie="; ".join([token, GA, FBP, SID]))
        e = self.origin.assert_reached("t=after")
        self.assertEqual(sorted(cookie_names(e)), ["_fbp", "_ga", "sid"])
        self.assertEqual(harness.Origin.header(e, "Consent-Categories"), ["necessary,functional,analytics,marketing"])
        self.assertEqual(sorted(set_cookie_names(r)), ["_fbp", "_ga"])
        self.assertEqual(expired_names(r), [])
        # the 2-year _ga is capped to the consent's lifetime (365 days)
        ga = [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=")][0]
        max_age = int(re.search(r"Max-Age=(\d+)", ga).group(1))
        self.assertLessEqual(max_age, 365 * 86400)
        self.assertGreater(max_age, 364 * 86400)

        s = curl(self.gw.url("/__consent/api/state"), cookie=token).json()
        self.assertTrue(s["decided"])
        self.assertEqual(s["visitor"], body["visitor"])

        # withdraw: a decided necessary-only token, Clear-Site-Data, refused cookies expired
        w = self.decide(None, cookie="; ".join([token, GA, FBP]), method="DELETE")
        self.assertEqual(w.status, 200, w.text)
        self.assertEqual(w.json()["method"], "withdraw")
        self.assertEqual(w.header("Clear-Site-Data"), '"storage"')  # not "cookies": it would take the token just set
        self.assertEqual(expired_names(w), ["_fbp", "_ga"])
        token2 = self.token_of(w)
        self.assertEqual(w.json()["visitor"], body["visitor"], "withdrawal keeps the visitor id")
        curl(self.gw.url("/__origin/echo?t=withdrawn"), cookie="; ".join([token2, GA, FBP, SID]))
        e = self.origin.assert_reached("t=withdrawn")
        self.assertEqual(cookie_names(e), ["sid"])
        s = curl(self.gw.url("/__consent/api/state"), cookie=token2).json()
        self.assertTrue(s["decided"])
        self.assertFalse(s["categories"]["analytics"])

    def test_custom_choice_and_narrowing_expires(self):
        r = self.decide({"categories": {"analytics": True, "marketing": False}})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["method"], "custom")
        self.assertEqual(r.json()["categories"], {"necessary": True, "functional": False, "analytics": True, "marketing": False})
        token = self.token_of(r)
        curl(self.gw.url("/__origin/echo?t=custom"), cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=custom")), ["_ga"])
        # turning analytics off deletes _ga in the API's answer, HttpOnly or not
        r = self.decide({"categories": {"analytics": False}}, cookie="; ".join([token, GA]))
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(expired_names(r), ["_ga"])
        self.assertFalse(r.json()["categories"]["analytics"])

    def test_posthog_cookie_is_analytics_not_the_unknown_category(self):
        # posthog-js (1.449.2), bundled into a site's own script, sets "ph_<project token>_posthog" from the page: the
        # Open Cookie Database lacks it, so it fell to the unknown category (functional) and reached the origin, and
        # stayed in the browser, for a visitor who granted functional and refused analytics
        r = self.decide({"categories": {"functional": True, "analytics": False, "marketing": False}})
        self.assertEqual(r.status, 200, r.text)
        ph = "ph_phc_AbC123dEf456_posthog=%7B%22distinct_id%22%3A%22019a%22%7D"
        r = curl(self.gw.url("/__origin/echo?t=posthog"), cookie="; ".join([self.token_of(r), ph, "prefs=1"]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=posthog")), ["prefs"])
        self.assertEqual(expired_names(r), ["ph_phc_AbC123dEf456_posthog"])

    def test_form_post_redirects_back(self):
        r = self.decide("category=analytics&save=1", content_type="application/x-www-form-urlencoded")
        self.assertEqual(r.status, 303, r.text)
        self.assertEqual(r.header("Location"), "/__consent/?saved=1")
        token = self.token_of(r)
        s = curl(self.gw.url("/__consent/api/state"), cookie=token).json()
        self.assertEqual(s["categories"], {"necessary": True, "functional": False, "analytics": True, "marketing": False})

    def test_tls_token_is_host_prefixed_and_cookies_get_secure(self):
        r = self.decide({"all": True}, tls=True)
        self.assertEqual(r.status, 200)
        name, value, raw = consent_cookie(r)
        self.assertEqual(name, "__Host-cg_consent")
        self.assertIn("Secure", raw)
        r = curl(self.gw.url(set_cookie_path(GA + "; Path=/", tag="tls"), tls=True), cookie="%s=%s" % (name, value))
        ga = [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=")]
        self.assertEqual(len(ga), 1, r.header_all("Set-Cookie"))
        self.assertIn("Secure", ga[0])
        # over TLS a plain cg_consent (a sibling subdomain's Domain= cookie, or one set over plain HTTP) decides nothing:
        # the same valid token under the name any host could have planted grants nothing and names no visitor
        plain = self.token_of(self.decide({"all": True}))
        curl(self.gw.url("/__origin/echo?t=tls-plain", tls=True), cookie="; ".join([plain, GA]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=tls-plain")), [])
        s = curl(self.gw.url("/__consent/api/state", tls=True), cookie=plain).json()
        self.assertEqual((s["decided"], s["visitor"], s["categories"]["analytics"]), (False, None, False))
        # and over plain HTTP the __Host- one is not the token (a browser never sends it there)
        curl(self.gw.url("/__origin/echo?t=plain-host"), cookie="; ".join(["%s=%s" % (name, value), GA]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=plain-host")), [])

    def test_two_valid_tokens_count_as_the_narrower_and_name_nobody(self):
        # over plain HTTP a sibling subdomain can plant a valid token (its own, "accept all") beside the visitor's
        mine = self.token_of(self.decide({"categories": {"analytics": True}}))
        planted = self.token_of(self.decide({"all": True}))
        before = metric(self.gw, "cg_tokens_conflicting_total") or 0
        for order in ((planted, mine), (mine, planted)):
            curl(self.gw.url("/__origin/echo?t=two-tokens"), cookie="; ".join(list(order) + [GA, FBP]))
            self.assertEqual(cookie_names(self.origin.assert_reached("t=two-tokens")), ["_ga"], "the narrower: analytics only")
            s = curl(self.gw.url("/__consent/api/state"), cookie="; ".join(order)).json()
            self.assertIsNone(s["visitor"], "two visitor ids name nobody")
            self.assertEqual((s["categories"]["analytics"], s["categories"]["marketing"]), (True, False))
        # the planted one (set with Domain=) is expired, so the visitor's own host-only token is theirs again
        r = curl(self.gw.url("/__origin/echo?t=two-tokens-expire"), cookie="; ".join([planted, mine]),
                 headers=["Host: www.shop.example.co.uk"])
        self.assertIn("cg_consent=; Max-Age=0; Path=/; Domain=example.co.uk", r.header_all("Set-Cookie"))
        # so is it by the gateway's own answers (the consent API, the UI's files), which a visitor may reach
        # before any page
        for path in ("/__consent/api/state", "/__consent/banner.js"):
            r = curl(self.gw.url(path), cookie="; ".join([planted, mine]), headers=["Host: www.shop.example.co.uk"])
            self.assertEqual(r.status, 200, path)
            self.assertIn("cg_consent=; Max-Age=0; Path=/; Domain=example.co.uk", r.header_all("Set-Cookie"), path)
            self.assertRegex(r.header("Cache-Control") or "", r"private|no-store", path)
        # a decision made now goes under a visitor id of its own, not the planted one
        r = self.decide({"all": False}, cookie="; ".join([planted, mine]))
        self.assertNotIn(curl(self.gw.url("/__consent/api/state"), cookie=planted).json()["visitor"], r.text)
        self.assertGreaterEqual(metric(self.gw, "cg_tokens_conflicting_total"), before + 4)

    # ---- bad input -------------------------------------------------------------------------------

    def test_tampered_tokens_count_as_no_consent(self):
        r = self.decide({"all": True})
        name, value, _ = consent_cookie(r)
        before = metric(self.gw, "cg_tokens_rejected_total", '{reason="bad_mac"}') or 0
        flipped = value[:10] + ("A" if value[10] != "A" else "B") + value[11:]
        for bad in (flipped, value[:-1], value + "A", "garbage", ""):
            curl(self.gw.url("/__origin/echo?t=tamper-%d" % len(bad)), cookie="%s=%s; %s" % (name, bad, GA))
            e = self.origin.assert_reached("t=tamper-%d" % len(bad))
            self.assertEqual(cookie_names(e), [], "a bad token must never grant (%r)" % bad)
        after = metric(self.gw, "cg_tokens_rejected_total", '{reason="bad_mac"}')
        self.assertGreaterEqual(after - before, 1)

    def rejected(self):
        return {r: metric(self.gw, "cg_tokens_rejected_total", '{reason="%s"}' % r)
                for r in ("malformed", "unknown_key", "bad_mac", "expired", "old_policy")}

    def test_rejected_tokens_counted_by_reason(self):
        name, value, _ = consent_cookie(self.decide({"all": True}))
        payload = bytearray(b64url_decode(value))
        self.assertEqual(len(payload), 52)
        with open(self.gw.path("secrets.json")) as f:
            keys = json.load(f)["keys"]
        key = [k for k in keys if k.get("primary", len(keys) == 1)][0]
        self.assertEqual(payload[1], key["id"], "the token names the primary key")
        now = int(time.time())
        expired = bytearray(payload[:36])
        expired[26:31] = (now - 7200).to_bytes(5, "big")  # issued two hours ago
        expired[31:36] = (now - 3600).to_bytes(5, "big")  # expired an hour ago
        expired = sign_token(b64url_decode(key["secret"]), bytes(expired))
        unknown = bytearray(payload)
        unknown[1] = key["id"] % 255 + 1  # a key id the gateway does not have (the tag is then never checked)
        cases = [("malformed", value[:-1]), ("malformed", "garbage"), ("malformed", b64url_encode(b"\x02" + bytes(payload[1:]))),
                 ("unknown_key", b64url_encode(bytes(unknown))), ("expired", expired)]
        for i, (reason, bad) in enumerate(cases):
            with self.subTest(reason=reason, token=bad):
                before = self.rejected()
                curl(self.gw.url("/__origin/echo?t=reject-%d" % i), cookie="%s=%s; %s" % (name, bad, GA))
                self.assertEqual(cookie_names(self.origin.assert_reached("t=reject-%d" % i)), [], "a rejected token grants nothing")
                want = dict(before, **{reason: before[reason] + 1})
                self.assertEqual(self.rejected(), want, "one rejection, under its own reason")
        # the expired token is signed with the gateway's own key: still the visitor's id (receipts), but no consent
        s = curl(self.gw.url("/__consent/api/state"), cookie="%s=%s" % (name, expired)).json()
        self.assertEqual((s["decided"], s["categories"]["analytics"]), (False, False))
        self.assertEqual(s["visitor"], self.decide(None, cookie="%s=%s" % (name, value), method="DELETE").json()["visitor"],
                         "a signature that verifies (expired, not forged): the same visitor")

    def test_decisions_counted_by_regime(self):
        def decisions():
            return [metric(self.gw, "cg_decisions_total", '{regime="%s"}' % r) for r in ("opt-in", "opt-out", "notice")]
        before = decisions()
        token = self.token_of(self.decide({"all": True}))
        self.assertEqual(decisions(), [before[0] + 1, before[1], before[2]])
        self.decide({"categories": {"analytics": True}}, cookie=token)
        self.decide(None, cookie=token, method="DELETE")  # a withdrawal is a decision too
        self.assertEqual(decisions(), [before[0] + 3, before[1], before[2]])
        # what is refused decides nothing
        self.decide({"all": True}, headers=["Sec-Fetch-Site: cross-site"])
        self.decide("{\"all\": tru")
        self.assertEqual(decisions(), [before[0] + 3, before[1], before[2]])

    def test_acceptance_rate_per_category(self):
        # what share of decisions grants analytics, marketing, …: a consent dashboard's first number, from /metrics
        cats = ("necessary", "functional", "analytics", "marketing")

        def granted():
            return [metric(self.gw, "cg_decisions_granted_total", '{category="%s"}' % c) for c in cats]
        before = granted()
        token = self.token_of(self.decide({"all": True}))
        self.decide({"categories": {"analytics": True}}, cookie=self.token_of(self.decide({"all": False})))
        self.decide({"categories": {"marketing": False}}, cookie=token)  # the others as they were: granted
        self.decide(None, cookie=token, method="DELETE")                  # a withdrawal grants only what is necessary
        self.decide({"all": True}, headers=["Sec-Fetch-Site: cross-site"])  # refused: no decision
        self.assertEqual([g - b for g, b in zip(granted(), before)], [5, 2, 3, 1])

    def test_cross_site_post_refused(self):
        for hdr in ("Origin: https://evil.example", "Sec-Fetch-Site: cross-site", "Origin: null"):
            r = self.decide({"all": True}, headers=[hdr])
            self.assertEqual(r.status, 403, hdr)
            self.assertIsNone(consent_cookie(r))
        ok = self.decide({"all": True}, headers=["Origin: http://127.0.0.1:%d" % self.gw.port, "Sec-Fetch-Site: same-origin"])
        self.assertEqual(ok.status, 200, ok.text)

    def test_cross_site_withdraw_and_erase_refused(self):
        # another site's page must not be able to withdraw a visitor's consent or erase their records (a form or fetch
        # from evil.example carries the visitor's SameSite=Lax cookie on a top-level POST, and any cookie in old browsers)
        token = self.token_of(self.decide({"all": True}))
        receipts = lambda: curl(self.gw.url("/__consent/api/receipts"), cookie=token).json()["records"]  # noqa: E731
        self.assertEqual([x["method"] for x in receipts()], ["accept_all"])
        own = "Origin: http://127.0.0.1:%d" % self.gw.port
        for hdrs in (["Origin: https://evil.example"], ["Sec-Fetch-Site: cross-site"], ["Origin: null"],
                     ["Sec-Fetch-Site: cross-site", own], ["Origin: http://127.0.0.1:%d.evil.example" % self.gw.port]):
            with self.subTest(headers=hdrs):
                w = self.decide(None, cookie="; ".join([token, GA]), method="DELETE", headers=hdrs)
                self.assertEqual(w.status, 403, w.text)
                self.assertEqual(w.json()["error"], "cross_site")
                self.assertEqual(w.header_all("Set-Cookie"), [], "no token, no expiry")
                self.assertIsNone(w.header("Clear-Site-Data"))
                e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=token, headers=hdrs)
                self.assertEqual(e.status, 403, e.text)
                self.assertEqual(e.json()["error"], "cross_site")
                self.assertEqual(e.header_all("Set-Cookie"), [])
        # nothing changed: still consented, the one record still there
        s = curl(self.gw.url("/__consent/api/state"), cookie=token).json()
        self.assertEqual((s["decided"], s["categories"]["marketing"]), (True, True))
        self.assertEqual([x["method"] for x in receipts()], ["accept_all"])
        # from the site's own page both work (the refusals above were the check, not a broken request)
        w = self.decide(None, cookie=token, method="DELETE", headers=[own, "Sec-Fetch-Site: same-origin"])
        self.assertEqual(w.status, 200, w.text)
        self.assertEqual([x["method"] for x in receipts()], ["accept_all", "withdraw"])
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=token, headers=[own, "Sec-Fetch-Site: same-origin"])
        self.assertEqual((e.status, e.json()["erased"]), (200, 2), e.text)

    def test_wrong_methods_name_the_right_ones(self):
        for path, method, allow in (("/__consent/api/consent", "GET", "POST, DELETE"), ("/__consent/api/state", "POST", "GET, HEAD"),
                                    ("/__consent/api/erase", "GET", "POST"), ("/__consent/api/receipts", "DELETE", "GET, HEAD")):
            r = curl(self.gw.url(path), method=method)
            self.assertEqual((r.status, r.header("Allow")), (405, allow), path)
            self.assertEqual(r.json()["error"], "method_not_allowed")
        # the pages whose forms post to the API: another method is a 405 naming GET, not a 404 "File Not Found"
        for path in ("/__consent/", "/__consent/index.html", "/__consent/receipts"):
            for method in ("POST", "PUT", "DELETE"):
                r = curl(self.gw.url(path), method=method)
                self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"), (path, method))
                self.assertIn("text/html", r.header("Content-Type"), path)
        # the banner's strings are only read: another method is a 405 too; a language there is none of is not found
        for path in ("/__consent/i18n/strings.json", "/__consent/i18n/strings.json?lang=zh-CN", "/__consent/i18n/en.json"):
            for method in ("POST", "PUT"):
                r = curl(self.gw.url(path), method=method)
                self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"), (path, method))
        self.assertEqual(curl(self.gw.url("/__consent/i18n/xx.json"), method="PUT").status, 404)

    def test_head_of_what_get_reads(self):
        """HEAD is answered wherever GET is (RFC 9110 9.3.2): the same status and type, no body, the connection kept."""
        token = self.token_of(self.decide({"all": True}))
        for path in ("/__consent/api/state", "/__consent/api/receipts"):
            g = curl(self.gw.url(path), cookie=token)
            h = curl(self.gw.url(path), head=True, cookie=token)
            self.assertEqual((h.status, h.header("Content-Type"), h.body), (g.status, g.header("Content-Type"), b""), path)
            self.assertEqual(g.status, 200, path)

    def test_bad_bodies(self):
        cases = [("{\"all\": tru", 400, "bad_body"), ("{\"categories\": {\"ads\": true}}", 400, "unknown category"),
                 ("{}", 400, "exactly one"), ("", 400, "missing body")]
        for body, status, detail in cases:
            r = self.decide(body)
            self.assertEqual(r.status, status, body)
            self.assertIn(detail, r.text)
            self.assertIsNone(consent_cookie(r))
            err = r.json()
            self.assertIn("error", err)
            self.assertIn("detail", err)
        r = self.decide("{\"all\": true}" + " " * 5000)
        self.assertEqual(r.status, 413)
        self.assertIsNone(consent_cookie(r))
        # the cap is 4096 bytes: one more is 413, at the cap the body is read
        r = self.decide("{\"all\": true}".ljust(4097))
        self.assertEqual(r.status, 413)
        self.assertEqual(self.decide("{\"all\": true}".ljust(4096)).status, 200)

    def test_unreadable_cookie_header_fails_closed(self):
        # over GW_COOKIE_MAX_HEADER (32 KiB): the header cannot be read, so nothing of it is forwarded
        before = metric(self.gw, "cg_cookie_header_unreadable_total") or 0
        big = "; ".join([SID, GA, "pad=" + "x" * 40000])  # curl trims long cookie headers: send it raw
        out = raw_request(self.gw.port, ("GET /__origin/echo?t=unreadable HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                         "Cookie: %s\r\n\r\n" % big).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:100])
        e = self.origin.assert_reached("t=unreadable")
        self.assertEqual(cookie_names(e), [])
        self.assertEqual(metric(self.gw, "cg_cookie_header_unreadable_total"), before + 1)

    def test_many_one_byte_pairs_forwarded_whole(self):
        # "a;a;…": each kept pair goes out as "; a", three bytes for two read (the rebuilt header once outgrew its
        # buffer here: ASan's heap-buffer-overflow in on_request)
        token = self.token_of(self.decide({"all": True}))
        pairs = ";".join(["a"] * 12000)
        out = raw_request(self.gw.port, ("GET /__origin/echo?t=onebyte HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                         "Cookie: %s; %s\r\n\r\n" % (token, pairs)).encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:100])
        self.assertEqual(cookie_names(self.origin.assert_reached("t=onebyte")), ["a"] * 12000)

    def test_cookie_inventory(self):
        curl(self.gw.url(set_cookie_path("_gid=GA1.2.3; Max-Age=86400; Path=/", "mystery=1; Secure; HttpOnly", tag="inv")))
        r = curl(self.gw.admin_url("/admin/cookies"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(r.status, 200)
        rows = {c["name"]: c for c in r.json()["cookies"]}
        self.assertEqual((rows["_gid"]["category"], rows["_gid"]["enforced_as"]), ("analytics", "analytics"))
        self.assertEqual(rows["_gid"]["max_lifetime_s"], 86400)
        self.assertEqual((rows["_gid"]["host"], rows["_gid"]["path_prefix"], rows["_gid"]["count"]), ("127.0.0.1", "/__origin", 1))
        # a name neither the cookie database nor the overrides know: said so, and treated as cookies.unknown_category
        # (it was listed as "functional", indistinguishable from a cookie classified functional)
        self.assertEqual((rows["mystery"]["category"], rows["mystery"]["enforced_as"]), ("unclassified", "functional"))
        self.assertTrue(rows["mystery"]["secure"] and rows["mystery"]["http_only"])
        self.assertEqual(curl(self.gw.admin_url("/admin/cookies")).status, 401)

    def test_metrics_count_stripped_and_dropped(self):
        before = metric(self.gw, "cg_set_cookies_dropped_total", '{category="marketing"}')
        curl(self.gw.url(set_cookie_path(FBP, tag="metrics")), cookie=FBP)
        after = metric(self.gw, "cg_set_cookies_dropped_total", '{category="marketing"}')
        self.assertEqual(after - before, 1)
        self.assertGreaterEqual(metric(self.gw, "cg_cookies_stripped_total", '{category="marketing"}'), 1)


class PolicyBumpTest(GatewayTestCase):
    """A token signed for policy version 1 is no decision under version 2 (same keys)."""

    def test_old_policy_token_rejected(self):
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", headers=["Content-Type: application/json"],
                 data='{"all": true}')
        token = "cg_consent=" + consent_cookie(r)[1]
        self.gw.stop_and_check()
        # a second gateway with the same keys but the next policy version
        g2 = self.new_gateway("v2", gateway_config(self.origin.url, policy={"version": 2},
                                                   secrets_file=self.gw.path("secrets.json"),
                                                   store={"sqlite": self.gw.path("consent.db")}))
        s = curl(g2.url("/__consent/api/state"), cookie=token).json()
        self.assertEqual(s["policy_version"], 2)
        self.assertFalse(s["decided"])
        self.assertFalse(s["categories"]["analytics"])
        self.assertGreaterEqual(metric(g2, "cg_tokens_rejected_total", '{reason="old_policy"}'), 1)
        # no consent any more, but the records are still this visitor's: readable, and the next
        # decision continues them under the same visitor id
        before = curl(g2.url("/__consent/api/receipts"), cookie=token).json()
        self.assertIsNotNone(before["visitor"])
        self.assertEqual([(x["method"], x["policy_version"]) for x in before["records"]], [("accept_all", 1)])
        r = curl(g2.url("/__consent/api/consent"), method="POST", cookie=token, headers=["Content-Type: application/json"],
                 data='{"all": false}')
        self.assertEqual(r.status, 200, r.text)
        token2 = "cg_consent=" + consent_cookie(r)[1]
        after = curl(g2.url("/__consent/api/receipts"), cookie=token2).json()
        self.assertEqual(after["visitor"], before["visitor"])
        self.assertEqual([(x["method"], x["policy_version"]) for x in after["records"]], [("accept_all", 1), ("reject_all", 2)])
        # and erasable with the old token alone
        e = curl(g2.url("/__consent/api/erase"), method="POST", cookie=token, headers=["Origin: " + g2.url("").rstrip("/")])
        self.assertEqual(e.json()["erased"], 2, e.text)
        g2.stop_and_check()

    def test_sighup_reloads_signing_keys(self):
        # DESIGN: "SIGHUP reloads lists and keys": a new primary key signs from then on, the old one still verifies
        # while it is in the file, and a token whose key has left the file is no consent
        import base64
        import signal
        g = self.new_gateway("keys", gateway_config(self.origin.url, admin=False))

        def accept():
            r = curl(g.url("/__consent/api/consent"), method="POST", headers=["Content-Type: application/json"],
                     data='{"all": true}')
            self.assertEqual(r.status, 200, r.text)
            return "cg_consent=" + consent_cookie(r)[1]

        def key_id(token):  # the payload's second byte (README: format, key id, ...)
            return base64.urlsafe_b64decode(token.split("=", 1)[1] + "==")[1]

        def decided(token):
            return curl(g.url("/__consent/api/state"), cookie=token).json()["decided"]

        def write_keys(keys):
            with open(g.path("secrets.json"), "w") as f:
                json.dump({"keys": keys}, f)
            os.chmod(g.path("secrets.json"), 0o600)

        def reload(n):
            g.signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: g.error_log().count("consent keys reloaded") >= n, 5), g.error_log())

        old = accept()
        with open(g.path("secrets.json")) as f:
            first = json.load(f)["keys"][0]
        new = {"id": first["id"] + 1, "secret": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="), "primary": True}
        write_keys([dict(first, primary=False), new])
        reload(1)
        fresh = accept()
        self.assertEqual((key_id(old), key_id(fresh)), (first["id"], new["id"]))
        self.assertTrue(decided(old), "a token of a retired key still in the file must verify")
        self.assertTrue(decided(fresh))
        write_keys([new])
        reload(2)
        self.assertFalse(decided(old), "a token whose key left the file must count as no consent")
        self.assertTrue(decided(fresh))
        # the file gone at a SIGHUP (moved away, a deploy that removes it before writing it again) made a new random
        # key in its place, as a first start does: every visitor's consent stopped verifying, and the store, sealed
        # with the old key 1, refused the next start. The keys in force stay, and no file is made
        os.rename(g.path("secrets.json"), g.path("secrets.moved"))
        g.signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "consent keys not reloaded" in g.error_log(), 5), g.error_log()[-600:])
        self.assertIn("secrets.json: missing", g.error_log())
        self.assertFalse(os.path.exists(g.path("secrets.json")), "a new key made on a reload")
        self.assertTrue(decided(fresh), "a visitor's consent lost to a vanished secrets file")
        os.rename(g.path("secrets.moved"), g.path("secrets.json"))
        g.stop_and_check()
        g.start()
        self.assertTrue(decided(fresh))
        g.stop_and_check()


class GeoReloadTest(GatewayTestCase):
    """SIGHUP reloads the GeoIP database (geoipupdate renames a new one into place every week): the gateway kept the one
    it started with until a restart. A file that does not open keeps the one in force."""
    config = {"geoip": {"database": "geo.mmdb", "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"GB": "opt-out"}}}
    start_gateway = False

    def test_sighup_reloads_the_database(self):
        import shutil
        maxmind = os.path.join(ROOT, "tests", "data", "maxmind")
        shutil.copy(os.path.join(maxmind, "CG-Geo-Test.mmdb"), self.gw.path("geo.mmdb"))  # documentation networks only
        self.gw.start()
        gb = ["X-Forwarded-For: 81.2.69.160"]

        def state():
            s = curl(self.gw.url("/__consent/api/state"), headers=gb).json()
            return s["country"], s["regime"]

        def hup_and_wait(n):
            self.gw.signal(signal.SIGHUP)
            self.assertTrue(harness.wait_until(lambda: self.gw.error_log().count("reload done") >= n, 5), self.gw.error_log())

        self.assertEqual(state(), (None, "opt-in"))
        shutil.copy(os.path.join(maxmind, "GeoIP2-City-Test.mmdb"), self.gw.path("geo.mmdb.new"))
        os.rename(self.gw.path("geo.mmdb.new"), self.gw.path("geo.mmdb"))  # as geoipupdate does
        hup_and_wait(1)
        self.assertIn("GeoIP database %s reloaded" % self.gw.path("geo.mmdb"), self.gw.error_log())
        self.assertEqual(state(), ("GB", "opt-out"))
        # a broken download: said, and the database in force stays
        with open(self.gw.path("geo.mmdb.new"), "wb") as f:
            f.write(b"not a database\n")
        os.rename(self.gw.path("geo.mmdb.new"), self.gw.path("geo.mmdb"))
        hup_and_wait(2)
        self.assertIn("GeoIP database not reloaded (the previous one stays in force)", self.gw.error_log())
        self.assertEqual(state(), ("GB", "opt-out"))


class SubdivisionRuleNeedsSubdivisionsTest(GatewayTestCase):
    """A rule for a subdivision ("US-WA") with a Country database never applied: the state's visitors got the country's
    rule (a notice where the operator asked for opt-out and GPC), and nothing said so."""
    config = {"geoip": {"database": "geo.mmdb", "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"US": "notice", "US-WA": "opt-out"}}}
    start_gateway = False
    WA = ["X-Forwarded-For: 216.160.83.56"]  # Milton, WA in MaxMind's test databases

    def test_rules_the_database_cannot_apply(self):
        import shutil
        maxmind = os.path.join(ROOT, "tests", "data", "maxmind")
        shutil.copy(os.path.join(maxmind, "GeoIP2-Country-Test.mmdb"), self.gw.path("geo.mmdb"))
        self.gw.write_config()
        p = harness.run_binary(["--check-config", "-c", self.gw.config_path])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('a Country database has no subdivisions, so regimes.by_country\'s "US-WA" would never apply',
                      p.stderr)
        with self.assertRaises(RuntimeError):
            self.gw.start()
        # a City database tells the state: the rule applies
        shutil.copy(os.path.join(maxmind, "GeoIP2-City-Test.mmdb"), self.gw.path("geo.mmdb"))
        self.gw.start()
        s = curl(self.gw.url("/__consent/api/state"), headers=self.WA).json()
        self.assertEqual((s["country"], s["subdivision"], s["regime"]), ("US", "WA", "opt-out"))
        # a Country database renamed into place later is not taken up: the City one stays in force
        shutil.copy(os.path.join(maxmind, "GeoIP2-Country-Test.mmdb"), self.gw.path("geo.mmdb.new"))
        os.rename(self.gw.path("geo.mmdb.new"), self.gw.path("geo.mmdb"))
        self.gw.signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: "reload done" in self.gw.error_log(), 5), self.gw.error_log())
        self.assertIn("GeoIP database not reloaded (the previous one stays in force)", self.gw.error_log())
        s = curl(self.gw.url("/__consent/api/state"), headers=self.WA).json()
        self.assertEqual((s["subdivision"], s["regime"]), ("WA", "opt-out"))
        # without a database no rule applies: allowed (DESIGN), and said
        self.gw.stop()
        del self.gw.config["geoip"]
        self.gw.start()
        self.assertIn("regimes.by_country has 2 rules, and no geoip.database to place visitors: none applies, every "
                      "visitor gets regimes.default", self.gw.error_log())
        s = curl(self.gw.url("/__consent/api/state"), headers=self.WA).json()
        self.assertEqual((s["country"], s["regime"]), (None, "opt-in"))
        self.gw.config["geoip"] = self.config["geoip"]
        # without a subdivision rule a Country database is fine
        self.gw.stop()
        self.gw.config["regimes"] = {"default": "opt-in", "by_country": {"US": "notice"}}
        self.gw.write_config()
        p = harness.run_binary(["--check-config", "-c", self.gw.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)


class OptOutRegimeTest(GatewayTestCase):
    """GB visitors (MaxMind test database) are opt-out; X-Forwarded-For only from the trusted proxy."""
    config = {"geoip": {"database": CITY_DB, "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"GB": "opt-out", "CN": "opt-in", "US-WA": "notice"}},
              "beacons": {"endpoints": [{"path": "/collect", "category": "analytics"}]}}

    def test_opt_out_grants_until_refused(self):
        curl(self.gw.url("/__origin/echo?t=gb"), cookie="; ".join([GA, FBP]), headers=["X-Forwarded-For: 81.2.69.160"])
        e = self.origin.assert_reached("t=gb")
        self.assertEqual(sorted(cookie_names(e)), ["_fbp", "_ga"])
        s = curl(self.gw.url("/__consent/api/state"), headers=["X-Forwarded-For: 81.2.69.160"]).json()
        self.assertEqual((s["regime"], s["country"]), ("opt-out", "GB"))
        self.assertTrue(s["categories"]["marketing"])
        # refusing marketing in opt-out sticks (decided token), a decision counted under its regime
        before = [metric(self.gw, "cg_decisions_total", '{regime="%s"}' % g) for g in ("opt-in", "opt-out", "notice")]
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": false}}',
                 headers=["Content-Type: application/json", "X-Forwarded-For: 81.2.69.160"])
        token = "cg_consent=" + consent_cookie(r)[1]
        self.assertEqual([metric(self.gw, "cg_decisions_total", '{regime="%s"}' % g) for g in ("opt-in", "opt-out", "notice")],
                         [before[0], before[1] + 1, before[2]])
        curl(self.gw.url("/__origin/echo?t=gb-refused"), cookie="; ".join([token, GA, FBP]),
             headers=["X-Forwarded-For: 81.2.69.160"])
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gb-refused")), ["_ga"])

    def test_forwarded_address_with_a_port(self):
        # Azure's Application Gateway and IIS ARR write "address:port": read as malformed, the proxy's own address was
        # the client, and a GB visitor got the default regime (and shared one rate limit with every other visitor)
        for xff, country, regime in (("81.2.69.160:4711", "GB", "opt-out"), ("[2001:250::1]:443", "CN", "opt-in"),
                                     ("10.0.0.1, 81.2.69.160:80", "GB", "opt-out")):
            s = curl(self.gw.url("/__consent/api/state"), headers=["X-Forwarded-For: " + xff]).json()
            self.assertEqual((s["country"], s["regime"]), (country, regime), xff)
        curl(self.gw.url("/__origin/echo?t=xff-port"), cookie=FBP, headers=["X-Forwarded-For: 81.2.69.160:4711"])
        self.assertEqual(cookie_names(self.origin.assert_reached("t=xff-port")), ["_fbp"])

    def test_many_forwarded_for_headers_are_joined_once(self):
        # several X-Forwarded-For headers are one list: the last header's address after the others'
        s = curl(self.gw.url("/__consent/api/state"),
                 headers=["X-Forwarded-For: 81.2.69.160", "X-Forwarded-For: 127.0.0.1"]).json()
        self.assertEqual((s["regime"], s["country"]), ("opt-out", "GB"))
        # they were joined one by one, each copying the list so far: 95 headers of 4 KB (380 KB) took 18 MB of the
        # request's pool for each look at the client's address, and their square in time (30 such requests at once
        # made a release gateway's peak RSS grow by 700 MB)
        junk = ", ".join(["10.1.2.3"] * 400)
        req = ("GET /__consent/api/state HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n" +
               "X-Forwarded-For: %s\r\n" % junk * 94 + "X-Forwarded-For: 127.0.0.1, 81.2.69.160\r\n\r\n")

        def peak_kb():
            with open("/proc/%d/status" % self.gw.proc.pid) as f:
                return int(f.read().split("VmHWM:")[1].split()[0])
        before = peak_kb()
        out = raw_request(self.gw.port, req.encode())
        self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:200])
        self.assertIn(b'"country": "GB"', out)
        self.assertLess(peak_kb() - before, 8 * 1024, "peak RSS grew by more than 8 MB for one 380 KB request")

    def test_gpc_refuses_marketing_in_opt_out(self):
        curl(self.gw.url("/__origin/echo?t=gpc"), cookie="; ".join([GA, FBP]),
             headers=["X-Forwarded-For: 81.2.69.160", "Sec-GPC: 1"])
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc")), ["_ga"])
        s = curl(self.gw.url("/__consent/api/state"), headers=["X-Forwarded-For: 81.2.69.160", "Sec-GPC: 1"]).json()
        self.assertTrue(s["gpc"])
        self.assertFalse(s["categories"]["marketing"])
        self.assertTrue(s["categories"]["analytics"])

    def test_sec_gpc_is_the_value_1_only(self):
        # Sec-GPC = "1" (the GPC specification); any other value is no signal
        for i, v in enumerate(("10", "1x", "0", "true")):
            curl(self.gw.url("/__origin/echo?t=gpc-value-%d" % i), cookie="; ".join([GA, FBP]),
                 headers=["X-Forwarded-For: 81.2.69.160", "Sec-GPC: " + v])
            self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-value-%d" % i)), ["_ga", "_fbp"], v)

    def test_gpc_refusal_recorded_once(self):
        import sqlite3
        hdrs = ["X-Forwarded-For: 81.2.69.160", "Sec-GPC: 1"]
        r = curl(self.gw.url("/__origin/echo?t=gpc-rec"), headers=hdrs)
        tok = consent_cookie(r)
        self.assertIsNotNone(tok, "the first GPC visit gets a token so the refusal is recorded once")
        self.assertIn("HttpOnly", tok[2])
        token = "%s=%s" % (tok[0], tok[1])
        r2 = curl(self.gw.url("/__origin/echo?t=gpc-rec2"), headers=hdrs, cookie=token + "; " + FBP)
        self.assertIsNone(consent_cookie(r2))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-rec2")), [])
        s = curl(self.gw.url("/__consent/api/state"), headers=hdrs, cookie=token).json()
        self.assertFalse(s["decided"])
        self.assertTrue(s["gpc_applied"])
        db = sqlite3.connect(self.gw.path("consent.db"))
        rows = db.execute("SELECT method, refused, country FROM records WHERE visitor = ?", (s["visitor"],)).fetchall()
        db.close()
        self.assertEqual(rows, [("gpc", "marketing", "GB")])

    GPC = ["X-Forwarded-For: 81.2.69.160", "Sec-GPC: 1"]

    def test_gpc_after_a_decision_that_granted_marketing(self):
        """CCPA regulations §7025(c)(3): a signal that conflicts with an earlier setting allowing the sale is
        processed as an opt-out; the business may ask, and a consent given then (under the signal) stands."""
        gb = ["X-Forwarded-For: 81.2.69.160"]
        json_hdrs = ["Content-Type: application/json"]
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": true}', headers=json_hdrs + gb)
        token = "cg_consent=" + consent_cookie(r)[1]
        visitor = r.json()["visitor"]
        # the browser turns GPC on afterwards: marketing stops, its cookie is expired, the refusal is recorded once
        r = curl(self.gw.url("/__origin/echo?t=gpc-late"), headers=self.GPC, cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-late")), ["_ga"],
                         "a marketing cookie reached the origin although the browser sends Sec-GPC: 1")
        self.assertIn("_fbp=; Max-Age=0; Path=/", r.header_all("Set-Cookie"))
        late = consent_cookie(r)
        self.assertIsNotNone(late, "the refusal is recorded, and a token says so")
        late = "cg_consent=" + late[1]
        s = curl(self.gw.url("/__consent/api/state"), headers=self.GPC, cookie=late).json()
        self.assertEqual((s["visitor"], s["decided"], s["gpc_applied"]), (visitor, False, True))
        self.assertEqual([k for k, v in s["categories"].items() if not v], ["marketing"])
        self.assertIsNone(consent_cookie(curl(self.gw.url("/__origin/echo?t=gpc-late2"), headers=self.GPC, cookie=late)))
        import sqlite3
        db = sqlite3.connect(self.gw.path("consent.db"))
        rows = db.execute("SELECT method, refused FROM records WHERE visitor = ? ORDER BY seq", (visitor,)).fetchall()
        db.close()
        self.assertEqual(rows, [("accept_all", ""), ("gpc", "marketing")])
        # asked again under the signal, the visitor consents: that choice stands while the signal is sent
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": true}',
                 headers=json_hdrs + self.GPC, cookie=late)
        token = "cg_consent=" + consent_cookie(r)[1]
        curl(self.gw.url("/__origin/echo?t=gpc-consented"), headers=self.GPC, cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-consented")), ["_ga", "_fbp"])
        # a decision that refused marketing already does not conflict with the signal: it stays decided
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": false}}',
                 headers=json_hdrs + gb)
        token = "cg_consent=" + consent_cookie(r)[1]
        r = curl(self.gw.url("/__origin/echo?t=gpc-no-conflict"), headers=self.GPC, cookie=token)
        self.assertIsNone(consent_cookie(r))
        self.assertTrue(curl(self.gw.url("/__consent/api/state"), headers=self.GPC, cookie=token).json()["decided"])

    def test_gpc_after_an_erasure_is_recorded(self):
        # an erasure leaves the visitor undecided under a new id, with a token that carries no GPC flag: the signal
        # sent afterwards was enforced but never recorded, and the banner did not say it had been applied
        gb = ["X-Forwarded-For: 81.2.69.160"]
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": true}',
                 headers=["Content-Type: application/json"] + gb)
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie="cg_consent=" + consent_cookie(r)[1],
                 headers=["Origin: " + self.gw.url("").rstrip("/")] + gb)
        self.assertEqual(e.json()["erased"], 1, e.text)
        after = "cg_consent=" + consent_cookie(e)[1]
        r = curl(self.gw.url("/__origin/echo?t=gpc-erased"), headers=self.GPC, cookie="; ".join([after, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-erased")), [])
        tok = consent_cookie(r)
        self.assertIsNotNone(tok, "the refusal is recorded, and a token says so")
        visitor, n = self.gpc_records(tok)
        self.assertEqual(n, 1)
        s = curl(self.gw.url("/__consent/api/state"), headers=self.GPC, cookie="cg_consent=" + tok[1]).json()
        self.assertEqual((s["visitor"], s["decided"], s["gpc_applied"]), (visitor, False, True))

    def gpc_records(self, token_cookie):
        """The visitor id a token carries, and how many gpc records that visitor has in the store."""
        import sqlite3
        visitor = curl(self.gw.url("/__consent/api/state"), cookie="%s=%s" % token_cookie[:2]).json()["visitor"]
        db = sqlite3.connect(self.gw.path("consent.db"))
        n = db.execute("SELECT count(*) FROM records WHERE visitor = ? AND method = 'gpc'", (visitor,)).fetchone()[0]
        db.close()
        return visitor, n

    def get_with_store_away(self, path, headers):
        """GET path while the store's file is moved away (every write fails), then put it back."""
        db_path = self.gw.path("consent.db")
        os.rename(db_path, db_path + ".away")
        try:
            return curl(self.gw.url(path), headers=headers)
        finally:
            os.rename(db_path + ".away", db_path)

    def test_gpc_token_on_a_cacheable_answer_makes_it_private(self):
        # the first request of a GPC visitor gets their token (a visitor id) on whatever it asked for: a style sheet
        # the origin lets shared caches store would hand that id to every later visitor (their records, receipts)
        r = curl(self.gw.url("/__origin/headers?h=Cache-Control:public,max-age=600&t=gpc-cache"), headers=self.GPC)
        self.assertIsNotNone(consent_cookie(r))
        self.assertEqual(r.header_all("Cache-Control"), ["max-age=600, private"])

    def test_gpc_refusal_on_disk_before_the_page(self):
        r = curl(self.gw.url("/__origin/echo?t=gpc-durable"), headers=self.GPC)
        _, n = self.gpc_records(consent_cookie(r))
        self.assertEqual(n, 1, "the page came back before its GPC record was written")

    def test_gpc_refusal_not_recorded_means_no_token(self):
        hdrs = self.GPC
        r = self.get_with_store_away("/__origin/echo?t=gpc-down", hdrs)
        self.assertEqual(r.status, 200, "the page is served; GPC is enforced without the record")
        self.assertIsNone(consent_cookie(r), "no token says the refusal was recorded when it was not")
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-down")), [])
        r = curl(self.gw.url("/__origin/echo?t=gpc-up"), headers=hdrs)
        tok = consent_cookie(r)
        self.assertIsNotNone(tok, "the next request records it and gets the token")
        _, n = self.gpc_records(tok)
        self.assertEqual(n, 1)

    def test_a_consent_given_with_gpc_stands_after_a_refusal(self):
        # README: a consent the visitor gives while sending the signal stands. A decision's token carried the GPC flag
        # only when the signal refused something at that request: after a refusal (marketing refused already) a consent
        # to marketing given with GPC on got no flag, and the next GPC request overrode it (found by test_model)
        hdrs = self.GPC + ["Content-Type: application/json"]
        t = consent_cookie(curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": false}', headers=hdrs))
        c = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": true}}',
                 headers=hdrs, cookie="%s=%s" % t[:2])
        self.assertEqual(c.status, 200, c.text)
        tok = "%s=%s" % consent_cookie(c)[:2]
        r = curl(self.gw.url("/__origin/echo?t=gpc-consent-stands"), headers=self.GPC, cookie=tok)
        self.assertIsNone(consent_cookie(r), "no refusal recorded over the consent")
        s = curl(self.gw.url("/__consent/api/state"), headers=self.GPC, cookie=tok).json()
        self.assertEqual((s["decided"], s["categories"]["marketing"]), (True, True))

    def test_gpc_first_visit_to_a_gateway_page_expires_the_refused_cookies(self):
        # the preference centre's (or receipts page's) answer to a first GPC request sets the GPC token, so the filter
        # that expires refused cookies on the gateway's own answers passed it over, and nothing expired them: _fbp,
        # refused by the signal, outlived the answer (found by test_model)
        for path in ("/__consent/", "/__consent/receipts"):
            r = curl(self.gw.url(path), headers=self.GPC, cookie="_fbp=fb.1.1.1; _ga=GA1.1.1.1")
            self.assertEqual(r.status, 200, path)
            self.assertIsNotNone(consent_cookie(r), path)
            self.assertEqual(expired_names(r), ["_fbp"], path)

    def test_gpc_first_visit_to_the_preference_centre(self):
        """The gateway's own pages record a GPC visitor's refusal and issue the GPC token like a proxied page."""
        import sqlite3
        hdrs = ["X-Forwarded-For: 81.2.69.160", "Sec-GPC: 1"]
        r = curl(self.gw.url("/__consent/"), headers=hdrs)
        self.assertEqual(r.status, 200)
        tok = consent_cookie(r)
        self.assertIsNotNone(tok, "the preference centre gives the first GPC visit its token")
        token = "%s=%s" % (tok[0], tok[1])
        s = curl(self.gw.url("/__consent/api/state"), headers=hdrs, cookie=token).json()
        self.assertTrue(s["gpc_applied"])
        self.assertFalse(s["decided"])
        self.assertIsNone(consent_cookie(curl(self.gw.url("/__consent/"), headers=hdrs, cookie=token)), "once")
        db = sqlite3.connect(self.gw.path("consent.db"))  # committed before the page was sent
        rows = db.execute("SELECT method, refused FROM records WHERE visitor = ?", (s["visitor"],)).fetchall()
        db.close()
        self.assertEqual(rows, [("gpc", "marketing")])
        # without GPC (or in an opt-in regime) the page sets no token
        self.assertIsNone(consent_cookie(curl(self.gw.url("/__consent/"), headers=["X-Forwarded-For: 81.2.69.160"])))
        self.assertIsNone(consent_cookie(curl(self.gw.url("/__consent/"), headers=["X-Forwarded-For: 175.16.199.0", "Sec-GPC: 1"])))

    def test_gpc_on_the_receipts_page_not_recorded_means_no_token(self):
        hdrs = self.GPC
        r = self.get_with_store_away("/__consent/receipts", hdrs)
        self.assertEqual(r.status, 200)
        self.assertIsNone(consent_cookie(r), "no token says the refusal was recorded when it was not")
        r = curl(self.gw.url("/__consent/receipts"), headers=hdrs)
        tok = consent_cookie(r)
        self.assertIsNotNone(tok)
        visitor, n = self.gpc_records(tok)
        self.assertIn(visitor, r.text, "the page shows the visitor id its token carries")
        self.assertEqual(n, 1)

    def test_undecided_gpc_token_grants_nothing_in_an_opt_in_regime(self):
        """The undecided token a GPC refusal gets in an opt-out regime (GB) records no consent: from an opt-in
        country (CN) it must not carry the opt-out default (analytics, functional) with it."""
        r = curl(self.gw.url("/__origin/echo?t=gpc-travel-gb"), headers=self.GPC)
        tok = consent_cookie(r)
        self.assertIsNotNone(tok)
        token = "%s=%s" % tok[:2]
        cn = ["X-Forwarded-For: 175.16.199.0"]
        curl(self.gw.url("/__origin/echo?t=gpc-travel-cn"), headers=cn, cookie="; ".join([token, GA, FBP, "prefs=1"]))
        e = self.origin.assert_reached("t=gpc-travel-cn")
        self.assertEqual(cookie_names(e), [], "an opt-in visitor who decided nothing sent analytics/functional cookies")
        self.assertEqual(harness.Origin.header(e, "Consent-Categories"), ["necessary"])
        s = curl(self.gw.url("/__consent/api/state"), headers=cn, cookie=token).json()
        self.assertEqual((s["regime"], s["decided"]), ("opt-in", False))
        self.assertEqual([k for k, v in s["categories"].items() if v], ["necessary"])
        r = curl(self.gw.url("/collect?t=gpc-travel-beacon"), headers=cn, cookie=token)
        self.assertEqual(r.status, 204)
        self.origin.assert_not_reached("t=gpc-travel-beacon")
        # back in the opt-out country the token still refuses marketing (and only that)
        curl(self.gw.url("/__origin/echo?t=gpc-travel-back"), headers=["X-Forwarded-For: 81.2.69.160"],
             cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=gpc-travel-back")), ["_ga"])

    def test_a_choice_made_where_the_boxes_start_ticked_is_no_consent_in_an_opt_in_regime(self):
        """A decision in an opt-out country (GB), where every category starts granted, is not the consent an opt-in
        country (CN) asks for (Planet49, C-673/17): there the visitor is asked again, and its refusals still hold. A
        decision made in an opt-in country goes on deciding everywhere."""
        gb, cn = ["X-Forwarded-For: 81.2.69.160"], ["X-Forwarded-For: 175.16.199.0"]
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": false}}',
                 headers=["Content-Type: application/json"] + gb)
        self.assertEqual(r.status, 200, r.text)
        token = "cg_consent=" + consent_cookie(r)[1]
        s = curl(self.gw.url("/__consent/api/state"), headers=gb, cookie=token).json()
        self.assertEqual((s["regime"], s["decided"], s["categories"]["analytics"]), ("opt-out", True, True))
        s = curl(self.gw.url("/__consent/api/state"), headers=cn, cookie=token).json()
        self.assertEqual((s["regime"], s["decided"]), ("opt-in", False))
        self.assertEqual([k for k, v in s["categories"].items() if v], ["necessary"])
        curl(self.gw.url("/__origin/echo?t=ticked-cn"), headers=cn, cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=ticked-cn")), [])
        # back in GB the choice decides again (analytics granted, marketing refused)
        curl(self.gw.url("/__origin/echo?t=ticked-gb"), headers=gb, cookie="; ".join([token, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=ticked-gb")), ["_ga"])
        # a consent given in the opt-in country decides in both
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"analytics": true}}',
                 headers=["Content-Type: application/json"] + cn, cookie=token)
        self.assertEqual(r.status, 200, r.text)
        token = "cg_consent=" + consent_cookie(r)[1]
        for where, h in (("cn", cn), ("gb", gb)):
            s = curl(self.gw.url("/__consent/api/state"), headers=h, cookie=token).json()
            self.assertEqual((s["decided"], s["categories"]["analytics"], s["categories"]["marketing"]), (True, True, False), where)

    def test_refusal_outlives_a_policy_change_in_opt_out(self):
        """A new policy version asks again, but in an opt-out regime "no decision" means granted: the refusals a
        correctly signed token of the older version records must still hold until the visitor decides again."""
        gb = ["X-Forwarded-For: 81.2.69.160"]
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": false}}',
                 headers=["Content-Type: application/json"] + gb)
        token = "cg_consent=" + consent_cookie(r)[1]
        r = curl(self.gw.url("/__consent/api/consent"), method="DELETE", headers=gb)
        withdrawn = "cg_consent=" + consent_cookie(r)[1]
        g2 = self.new_gateway("policy2", gateway_config(
            self.origin.url, policy={"version": 2}, secrets_file=self.gw.path("secrets.json"),
            geoip={"database": CITY_DB, "trusted_proxies": ["127.0.0.1/32"]},
            regimes={"default": "opt-in", "by_country": {"GB": "opt-out"}},
            beacons={"endpoints": [{"path": "/collect", "category": "analytics"}, {"path": "/tr", "category": "marketing"}]}))
        curl(g2.url("/__origin/echo?t=p2-refused"), headers=gb, cookie="; ".join([token, GA, FBP]))
        e = self.origin.assert_reached("t=p2-refused")
        self.assertEqual(cookie_names(e), ["_ga"], "the marketing refusal was lost with the policy change")
        r = curl(g2.url("/tr?t=p2-beacon"), headers=gb, cookie=token)
        self.assertEqual(r.status, 204)
        self.origin.assert_not_reached("t=p2-beacon")
        s = curl(g2.url("/__consent/api/state"), headers=gb, cookie=token).json()
        self.assertEqual((s["policy_version"], s["decided"], s["categories"]["marketing"], s["categories"]["analytics"]),
                         (2, False, False, True))
        # a withdrawal (necessary only) holds the same way
        curl(g2.url("/__origin/echo?t=p2-withdrawn"), headers=gb, cookie="; ".join([withdrawn, GA, FBP]))
        self.assertEqual(cookie_names(self.origin.assert_reached("t=p2-withdrawn")), [])
        # without a token the opt-out default is unchanged
        curl(g2.url("/__origin/echo?t=p2-none"), headers=gb, cookie="; ".join([GA, FBP]))
        self.assertEqual(sorted(cookie_names(self.origin.assert_reached("t=p2-none"))), ["_fbp", "_ga"])
        g2.stop_and_check()

    def test_other_regimes_from_the_database(self):
        for ip, regime, country in (("175.16.199.0", "opt-in", "CN"), ("216.160.83.56", "notice", "US"),
                                    ("192.0.2.1", "opt-in", None)):
            s = curl(self.gw.url("/__consent/api/state"), headers=["X-Forwarded-For: " + ip]).json()
            self.assertEqual((s["regime"], s["country"]), (regime, country), ip)

    def test_xff_from_untrusted_peer_ignored(self):
        g = self.new_gateway("untrusted", gateway_config(self.origin.url, geoip={"database": CITY_DB,
                                                                                  "trusted_proxies": ["10.0.0.0/8"]},
                                                         regimes={"by_country": {"GB": "opt-out"}}))
        curl(g.url("/__origin/echo?t=untrusted"), cookie=GA, headers=["X-Forwarded-For: 81.2.69.160"])
        self.assertEqual(cookie_names(self.origin.assert_reached("t=untrusted")), [])
        s = curl(g.url("/__consent/api/state"), headers=["X-Forwarded-For: 81.2.69.160"]).json()
        self.assertEqual(s["regime"], "opt-in")


class NoticeRegimeTest(GatewayTestCase):
    """The notice regime grants every category without a decision (the banner only informs)."""
    config = {"regimes": {"default": "notice"}, "cookies": {"overrides": {"sid": "necessary", "prefs": "functional"}}}
    PREFS = "prefs=dark"

    def test_every_category_granted(self):
        s = curl(self.gw.url("/__consent/api/state")).json()
        self.assertEqual((s["regime"], s["decided"]), ("notice", False))
        self.assertEqual(s["categories"], {"necessary": True, "functional": True, "analytics": True, "marketing": True})
        # a cookie of each category reaches the origin, and the origin's Set-Cookie of each reaches the browser
        r = curl(self.gw.url(set_cookie_path(SID, self.PREFS, GA, FBP, tag="notice")), cookie="; ".join([SID, self.PREFS, GA, FBP]))
        self.assertEqual(r.status, 200)
        e = self.origin.assert_reached("t=notice")
        self.assertEqual(sorted(cookie_names(e)), ["_fbp", "_ga", "prefs", "sid"])
        self.assertEqual(harness.Origin.header(e, "Consent-Categories"), ["necessary,functional,analytics,marketing"])
        self.assertEqual(sorted(set_cookie_names(r)), ["_fbp", "_ga", "prefs", "sid"])
        self.assertEqual(expired_names(r), [])
        # a refusal in the notice regime is a decision like any, counted under its regime
        before = metric(self.gw, "cg_decisions_total", '{regime="notice"}')
        d = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"marketing": false}}',
                 headers=["Content-Type: application/json"])
        self.assertEqual(d.status, 200, d.text)
        self.assertEqual(metric(self.gw, "cg_decisions_total", '{regime="notice"}'), before + 1)
        token = "cg_consent=" + consent_cookie(d)[1]
        curl(self.gw.url("/__origin/echo?t=notice-refused"), cookie="; ".join([token, SID, self.PREFS, GA, FBP]))
        self.assertEqual(sorted(cookie_names(self.origin.assert_reached("t=notice-refused"))), ["_ga", "prefs", "sid"])


class BehindTlsProxyTest(GatewayTestCase):
    """TLS ended at a load balancer in front: its X-Forwarded-Proto: https counts when it is a trusted proxy (the
    consent API answered 403 'cross_site' to every https page's POST, and the cookie lost its Secure)."""
    config = {"geoip": {"trusted_proxies": ["127.0.0.1/32"]}}

    def post(self, gw):
        return curl(gw.url("/__consent/api/consent"), method="POST", data='{"all": true}',
                    headers=["Content-Type: application/json", "X-Forwarded-Proto: https", "Origin: https://shop.example",
                             "Sec-Fetch-Site: same-origin", "Host: shop.example"])

    def test_forwarded_https_from_a_trusted_proxy(self):
        r = self.post(self.gw)
        self.assertEqual(r.status, 200, r.text)
        name, _, raw = consent_cookie(r)
        self.assertEqual(name, "__Host-cg_consent")
        self.assertIn("Secure", raw)
        page = curl(self.gw.url("/__origin/echo?t=xfp"), headers=["X-Forwarded-Proto: https"])
        self.assertIn("max-age=", page.header("Strict-Transport-Security") or "")
        self.assertEqual(harness.Origin.header(self.origin.assert_reached("t=xfp"), "X-Forwarded-Proto"), ["https"])
        # the last X-Forwarded-Proto is the trusted proxy's (one that adds its own after the client's)
        spoof = curl(self.gw.url("/__origin/echo?t=xfp-two"), headers=["X-Forwarded-Proto: https", "X-Forwarded-Proto: http"])
        self.assertIsNone(spoof.header("Strict-Transport-Security"))
        # the value is "https", not one that begins so
        other = curl(self.gw.url("/__origin/echo?t=xfp-longer"), headers=["X-Forwarded-Proto: httpsx"])
        self.assertIsNone(other.header("Strict-Transport-Security"))
        # from a peer that is not trusted the header is the client's word: ignored
        g = self.new_gateway("untrusted-xfp", gateway_config(self.origin.url, geoip={"trusted_proxies": ["10.0.0.0/8"]}))
        self.assertEqual(self.post(g).status, 403)
        curl(g.url("/__origin/echo?t=xfp-untrusted"), headers=["X-Forwarded-Proto: https"])
        self.assertEqual(harness.Origin.header(self.origin.assert_reached("t=xfp-untrusted"), "X-Forwarded-Proto"), ["http"])


    def test_where_a_request_came_from_is_a_trusted_proxys_word(self):
        # A client's Forwarded, X-Real-IP, X-Forwarded-Host … went on to the origin: any address or host, to an origin
        # that believes them. From a peer that is no trusted proxy they go; a trusted proxy's stay. X-Forwarded-For is
        # appended to either way (DESIGN). X-Original-URL and X-Rewrite-URL, which IIS and Symfony route by, go from
        # everyone.
        spoof = ["X-Forwarded-For: 6.6.6.6", "Forwarded: for=6.6.6.6;host=evil.example", "X-Real-IP: 6.6.6.6",
                 "X-Forwarded-Host: evil.example", "X-Forwarded-Port: 443", "True-Client-IP: 6.6.6.6",
                 "CF-Connecting-IP: 6.6.6.6", "X-Original-URL: /collect", "X-Rewrite-URL: /collect", "X-Kept: yes"]
        g = self.new_gateway("untrusted-fwd", gateway_config(self.origin.url, geoip={"trusted_proxies": ["10.0.0.0/8"]}))
        for gw, tag, trusted in ((g, "fwd-untrusted", False), (self.gw, "fwd-trusted", True)):
            curl(gw.url("/__origin/echo?t=" + tag), headers=spoof)
            e = self.origin.assert_reached("t=" + tag)
            names = {n.lower() for n, _ in e["headers"]}
            self.assertIn("x-kept", names)
            self.assertFalse(names & {"x-original-url", "x-rewrite-url"}, tag)
            forwarding = {"forwarded", "x-real-ip", "x-forwarded-host", "x-forwarded-port", "true-client-ip", "cf-connecting-ip"}
            self.assertEqual(names & forwarding, forwarding if trusted else set(), tag)
            self.assertEqual(harness.Origin.header(e, "X-Forwarded-For"), ["6.6.6.6, 127.0.0.1"], tag)

class ReportOnlyTest(GatewayTestCase):
    """enforcement: report-only decides and counts everything, changes nothing."""
    config = {"enforcement": "report-only"}

    def test_changes_nothing_but_counts(self):
        r = curl(self.gw.url(set_cookie_path(GA + "; Max-Age=63072000", FBP, tag="ro")), cookie="; ".join([GA, FBP]))
        e = self.origin.assert_reached("t=ro")
        self.assertEqual(sorted(cookie_names(e)), ["_fbp", "_ga"])
        self.assertEqual(sorted(set_cookie_names(r)), ["_fbp", "_ga"])
        self.assertIn("Max-Age=63072000", [v for v in r.header_all("Set-Cookie") if v.startswith("_ga=")][0])
        self.assertEqual(expired_names(r), [])
        self.assertEqual(metric(self.gw, "cg_report_only_would_strip_total", '{category="analytics"}'), 1)
        self.assertEqual(metric(self.gw, "cg_report_only_would_drop_total", '{category="marketing"}'), 1)
        self.assertEqual(metric(self.gw, "cg_cookies_stripped_total", '{category="analytics"}'), 0)
