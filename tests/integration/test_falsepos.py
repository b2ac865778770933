"""What the gateway must not break on a legitimate site (false positives): the site's own session, login, cart and
CSRF cookies, which the shipped cookie database must not hold back before consent, and the site's own pages, which are
never beacons. Real gateway, real origin (conf/demo/origin.py), the shipped conf/cookies.json."""

import http.client
import os
import urllib.parse

from harness import GatewayTestCase, curl
import harness

CORPUS = os.path.join(harness.REPO, "tests", "data", "abp", "first-party-corpus.txt")

# Cookies a site's own software sets for itself to work (framework sessions, sign-in, carts, CSRF tokens, load
# balancer affinity, bot protection, the consent manager's own choice): strictly necessary, so granted before any
# consent under opt-in. Before the fix the shipped database filed all of these under an optional category.
NECESSARY = [
    "PHPSESSID",                               # PHP
    "JSESSIONID",                              # Servlet containers
    "ASP.NET_SessionId", ".ASPXAUTH", "__RequestVerificationToken", ".AspNetCore.Session",
    ".AspNetCore.Antiforgery.Xp9cQ3kAbc",      # ASP.NET
    "laravel_session", "XSRF-TOKEN",           # Laravel
    "sessionid", "csrftoken",                  # Django (the database has "sessionid" as Instagram's, marketing)
    "connect.sid",                             # Express (the database has it as Zendesk's)
    "_session_id", "_rails_session",           # Rails
    "wordpress_logged_in_5c3b9d1e2f", "wordpress_sec_5c3b9d1e2f", "wordpress_test_cookie",
    "woocommerce_cart_hash", "woocommerce_items_in_cart", "wp_woocommerce_session_5c3b9d1e2f",
    "SSESS4b2f0c3a9d0e",                       # Drupal over https
    "_secure_session_id", "cart", "cart_sig",  # Shopify
    "mage-cache-sessid", "form_key",           # Magento
    "__Secure-next-auth.session-token",        # NextAuth.js
    "_gitlab_session", "_mastodon_session", "_forum_session",
    "auth_token",                              # a sign-in token (the database: X's, marketing, on x.com)
    "KEYCLOAK_SESSION", "AWSALB", "__cf_bm", "cf_clearance", "BIGipServerpool_web",
    "CookieConsent", "OptanonConsent",         # the consent manager's own record of the visitor's choice
]
# still held back before consent: analytics and advertising cookies, and a vendor's cookie the database files under
# Functional (Hotjar's session sample)
OPTIONAL = ["_ga", "_fbp", "_hjSession_123"]


class NecessaryCookiesTest(GatewayTestCase):
    """Before consent (opt-in, the default regime), a site's own necessary cookies pass both ways."""

    maxDiff = None

    def test_necessary_cookies_pass_before_consent(self):
        names = NECESSARY + OPTIONAL
        # the origin sets them (Set-Cookie): the ones kept reach the browser
        q = "&".join("c=" + urllib.parse.quote("%s=v%d; Path=/" % (n, i)) for i, n in enumerate(names))
        r = curl(self.gw.url("/__origin/set-cookie?type=text&" + q))
        self.assertEqual(r.status, 200)
        kept = {v.split("=", 1)[0] for v in r.header_all("Set-Cookie")}
        dropped = [n for n in NECESSARY if n not in kept]
        # the browser sends them (Cookie): the ones kept reach the origin
        cookie = "; ".join("%s=v%d" % (n, i) for i, n in enumerate(names))
        r = curl(self.gw.url("/__origin/echo?t=necessary-cookies"), cookie=cookie)
        self.assertEqual(r.status, 200)
        sent = "; ".join(v for k, v in r.json()["headers"] if k.lower() == "cookie")
        at_origin = {p.split("=", 1)[0].strip() for p in sent.split(";") if "=" in p}
        stripped = [n for n in NECESSARY if n not in at_origin]
        self.assertEqual((dropped, stripped), ([], []),
                         "necessary cookies dropped from Set-Cookie / stripped from Cookie before consent")
        # consent is still enforced for the optional ones
        self.assertEqual([n for n in OPTIONAL if n in kept or n in at_origin], [])


NAVIGATE = ["Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
            "Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Site: same-origin", "Sec-Fetch-User: ?1"]


class PagesUnderAnEndpointTest(GatewayTestCase):
    """A collector endpoint covers the paths below it ("/collect", the shipped config's, is Google Analytics' proxied
    collector), and a shop's click-and-collect pages live there too: a visitor's navigation to one is a page, never a
    beacon (a 204 to a navigation leaves the visitor on the page they clicked from, the link dead). Beacons to the
    endpoint are still answered at the edge."""
    config = {"beacons": {"endpoints": [{"path": "/collect", "category": "analytics"}]}}

    def test_navigations_reach_the_origin(self):
        for tag, path, method, hdrs in (
                ("nav", "/collect/store-locator", "GET", NAVIGATE),
                ("nav-root", "/collect", "GET", NAVIGATE),
                ("form", "/collect/book-slot", "POST", NAVIGATE + ["Content-Type: application/x-www-form-urlencoded"]),
                # a browser that sends no Sec-Fetch-* (Safari before 16.4, a page over plain HTTP) asks for HTML
                ("nav-nosf", "/collect/stores/42", "GET", [NAVIGATE[0]])):
            r = curl(self.gw.url(path + "?t=page-" + tag), method=method, data="slot=9" if method == "POST" else None,
                     headers=hdrs)
            self.origin.assert_reached("t=page-" + tag, method=method)
            self.assertNotEqual(r.status, 204, tag)
        # what is not a page is still a beacon: GA's pixel, its sendBeacon, a fetch, a frame
        for tag, method, hdrs in (("img", "GET", ["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"]),
                                  ("beacon", "POST", ["Content-Type: text/plain;charset=UTF-8", "Sec-Fetch-Dest: empty",
                                                      "Sec-Fetch-Mode: no-cors"]),
                                  ("fetch", "POST", ["Content-Type: application/json", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"]),
                                  ("frame", "GET", ["Accept: text/html,*/*;q=0.8", "Sec-Fetch-Dest: iframe", "Sec-Fetch-Mode: navigate"]),
                                  ("curl", "GET", [])):
            r = curl(self.gw.url("/collect?v=2&tid=G-1&t=beacon-" + tag), method=method,
                     data='{"v":2}' if method == "POST" else None, headers=hdrs)
            self.assertIn(r.status, (200, 204), tag)
            self.origin.assert_not_reached("t=beacon-" + tag)


class RequestTypeTest(GatewayTestCase):
    """The lists' type options ($~xmlhttprequest, $image) are read as uBlock Origin reads them, with the request's type
    as the browser gives it (Sec-Fetch-Dest). EasyList's "/adverts/*$~xmlhttprequest" and EasyPrivacy's
    "/api/ping?$~xmlhttprequest" spare a classifieds site's own API, which its pages fetch(); uBO, which knows the
    type of every request, holds only the rest. Real Debian lists, as shipped (the default tracker lists)."""
    config = {"trackers": None}

    def test_a_fetch_is_not_held_by_a_rule_that_spares_fetches(self):
        fetch_nosf = ["Accept: application/json, text/plain, */*"]  # a page over plain HTTP, or Safari before 16.4
        for tag, path, hdrs in (
                ("nosf-adverts", "/adverts/123/edit.json", fetch_nosf),
                ("nosf-ping", "/api/ping?session=1", ["Accept: */*"]),
                # a fetch() of an image file is a fetch (Sec-Fetch-Dest: empty), whatever its name ends in
                ("fetch-jpg", "/adverts/123/photo.jpg", ["Accept: */*", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"])):
            r = curl(self.gw.url(path + ("&" if "?" in path else "?") + "t=type-" + tag), headers=hdrs)
            self.origin.assert_reached("t=type-" + tag)
            self.assertNotEqual(r.status, 204, tag)
        # what the rules hold still is: the image itself, with or without Sec-Fetch-*, and a rule of every type
        for tag, path, hdrs in (("img", "/adverts/123/photo.jpg", ["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"]),
                                ("img-nosf", "/adverts/123/photo.jpg", ["Accept: image/webp,image/png,image/*;q=0.8,*/*;q=0.5"]),
                                ("nosf-any", "/api/analytics/events", ["Accept: */*"])):
            r = curl(self.gw.url(path + "?t=held-" + tag), headers=hdrs)
            self.assertIn(r.status, (200, 204), tag)
            self.origin.assert_not_reached("t=held-" + tag)


class FrameExceptionTest(GatewayTestCase):
    """EasyList's "@@||bannersnack.com/banners/$document,subdocument,domain=kingsmead.com|…" allows a card shop's
    product-banner frames, which "||bannersnack.com^$third-party" blocks elsewhere; uBlock Origin reads the rule's
    subdocument part as an exception. It was skipped whole (for its $document part), and the shop's frame was inert."""
    config = {"trackers": None}

    def test_the_frame_an_exception_allows_stays(self):
        r = curl(self.gw.url("/__origin/html?file=pages/allowed-frames.html"), headers=["Host: kingsmead.com"])
        self.assertEqual(r.status, 200)
        self.assertRegex(r.text, r'<iframe id="shop-banner" src="https://www\.bannersnack\.com/banners/abc123/embed"')
        # the rest of bannersnack.com is still held before consent
        self.assertNotRegex(r.text, r'<iframe id="other-banner" src=')



class ExactEndpointTest(GatewayTestCase):
    """An endpoint covers the paths below it; one that ends in "|" is that path alone, so an operator can name Google
    Analytics' "/collect" without the shop's "/collect/…" click-and-collect API, which its pages fetch()."""
    config = {"beacons": {"endpoints": [{"path": "/collect|", "category": "analytics"}]}}

    def test_the_path_alone(self):
        fetch = ["Accept: application/json", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"]
        for tag, path in (("below", "/collect/api/slots"), ("slash", "/collect/"), ("longer", "/collector")):
            curl(self.gw.url(path + "?store=42&t=exact-" + tag), headers=fetch)
            self.origin.assert_reached("t=exact-" + tag)
        for tag, path in (("same", "/collect"), ("case", "/Collect"), ("dbl", "//collect"), ("param", "/collect;jsessionid=1")):
            r = curl(self.gw.url(path + "?v=2&t=exact-beacon-" + tag), headers=["Sec-Fetch-Dest: image"])
            self.assertEqual((r.status, len(r.body)), (200, 43), tag)
            self.origin.assert_not_reached("t=exact-beacon-" + tag)

# what a browser sends for each kind of request (Chromium 131), and without Sec-Fetch-* (a page over plain HTTP, Safari
# before 16.4)
KIND_HEADERS = {
    "doc": {"Accept": NAVIGATE[0].split(": ", 1)[1], "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate"},
    "form": {"Accept": NAVIGATE[0].split(": ", 1)[1], "Sec-Fetch-Dest": "document", "Sec-Fetch-Mode": "navigate",
             "Content-Type": "application/x-www-form-urlencoded"},
    "xhr": {"Accept": "application/json, text/plain, */*", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Mode": "cors"},
    "script": {"Accept": "*/*", "Sec-Fetch-Dest": "script", "Sec-Fetch-Mode": "no-cors"},
    "img": {"Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", "Sec-Fetch-Dest": "image",
            "Sec-Fetch-Mode": "no-cors"},
    "css": {"Accept": "text/css,*/*;q=0.1", "Sec-Fetch-Dest": "style", "Sec-Fetch-Mode": "no-cors"},
    "ws": {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-Fetch-Dest": "websocket", "Sec-Fetch-Mode": "websocket"},
}
IMAGE_NAMES = (".gif", ".png", ".jpg", ".jpeg", ".webp", ".avif", ".svg", ".ico", ".bmp")


class FirstPartyCorpusTest(GatewayTestCase):
    """440 first-party requests of real applications' routes (tests/data/abp/first-party-corpus.txt) through a gateway
    with the default lists (Debian's EasyPrivacy and EasyList and the shipped ones), before consent: it holds what
    uBlock Origin with the same lists holds as first-party (the file says which, and by which rule), no more; a
    navigation or a form post is never held."""
    config = {"trackers": None}

    def run_corpus(self, tag, sec_fetch):
        lines = [l.split(" ", 2) for l in open(CORPUS).read().splitlines() if l and not l.startswith("#")]
        ids = {}
        for i, (kind, path, *rest) in enumerate(lines):
            hdrs = {k: v for k, v in KIND_HEADERS[kind].items() if sec_fetch or not k.startswith("Sec-Fetch")}
            hdrs.update({"Host": "www.shop-example.com", "X-Corpus-Id": "%s-%d" % (tag, i), "Connection": "close"})
            c = http.client.HTTPConnection("127.0.0.1", self.gw.port, timeout=10)
            c.request("POST" if kind == "form" else "GET", path, body="a=1" if kind == "form" else None, headers=hdrs)
            c.getresponse().read()
            c.close()
            ids["%s-%d" % (tag, i)] = (kind, path, rest[0][len("held "):] if rest else None)
        # a last page, which reaches the origin after the others: then its log has every request that reached it
        curl(self.gw.url("/corpus-end?t=" + tag), headers=NAVIGATE)
        self.origin.assert_reached("/corpus-end?t=" + tag)
        reached = {v for e in self.origin.requests() for v in harness.header_values(e["headers"], "X-Corpus-Id")}
        return {(k, p): rule for i, (k, p, rule) in ids.items() if i not in reached}, \
            {(k, p): rule for i, (k, p, rule) in ids.items() if rule}

    def test_held_as_ublock_holds_them(self):
        held, ubo = self.run_corpus("sf", True)
        self.assertEqual(sorted(held), sorted(ubo), "held by the gateway vs by uBlock Origin with the same lists")
        # without Sec-Fetch-*, no more than that (a fetch of an image's name is taken for an image, as said in README)
        held, ubo = self.run_corpus("nosf", False)
        more = [kp for kp in held if kp not in ubo and not (kp[0] == "xhr" and kp[1].split("?")[0].endswith(IMAGE_NAMES))]
        self.assertEqual(more, [])
        self.assertEqual([kp for kp in held if kp[0] in ("doc", "form")], [])


class SameSitePixelTest(GatewayTestCase):
    """An unlisted 1x1 image is a web beacon when it comes from a third party (README: "third-party 1x1 pixels"), as
    uBlock Origin's $third-party reads it: another registrable domain. The site's own spacer images on its static host
    (static.example.com for www.example.com) are first-party; they were made inert as another host's."""

    def test_a_same_site_spacer_stays(self):
        r = curl(self.gw.url("/__origin/html?file=pages/same-site-pixels.html"), headers=["Host: www.example.com"])
        self.assertEqual(r.status, 200)
        self.assertRegex(r.text, r'<img id="own-static" src="https://static\.example\.com/img/spacer\.gif"')
        self.assertRegex(r.text, r'<img id="own-host" src="/img/spacer\.gif"')
        self.assertNotRegex(r.text, r'<img id="other-site" src=')


DEBIAN_LISTS = "/usr/share/chromium/extensions/ublock-origin/assets/thirdparties/easylist/"


class OperatorAllowRuleTest(GatewayTestCase):
    """The remedy the README gives an operator whose own URL a list names (uBO would hold it too): an exception rule in
    a list of their own, beside the real lists, lets it through; the rest of the lists still hold."""
    start_gateway = False

    def test_an_allow_rule_lets_the_sites_own_url_through(self):
        allow = self.tmp + "/allow.txt"
        with open(allow, "w") as f:
            f.write("! our own API, which EasyPrivacy's \"/analytics/event\" names\n@@/api/analytics/events$~third-party\n")
        gw = self.new_gateway("gw", __import__("harness").gateway_config(self.origin.url, trackers={"lists": [
            {"name": "easyprivacy", "file": DEBIAN_LISTS + "easyprivacy.txt", "category": "analytics"},
            {"name": "easylist", "file": DEBIAN_LISTS + "easylist.txt", "category": "marketing"},
            {"name": "own-allow", "file": allow, "category": "analytics"}]}))
        fetch = ["Accept: application/json", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"]
        curl(gw.url("/api/analytics/events?t=allowed"), headers=fetch)
        self.origin.assert_reached("t=allowed")
        r = curl(gw.url("/wp-json/wp-statistics/v2/hit?t=still-held"), headers=fetch)  # EasyPrivacy's "/wp-statistics/v2/hit"
        self.assertEqual(r.status, 204)
        self.origin.assert_not_reached("still-held")


if __name__ == "__main__":
    import unittest
    unittest.main()
