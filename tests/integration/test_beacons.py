"""Web beacons answered at the edge: first-party collector endpoints and <a ping>, before and
after consent, against the real gateway and a real origin whose log proves what reached it."""

import json
import os

from harness import ADMIN_TOKEN, GatewayTestCase, curl, metric, raw_request
import harness

EASYPRIVACY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "tests", "data", "abp", "easyprivacy-sample.txt")


class BeaconTest(GatewayTestCase):
    config = {"beacons": {"endpoints": [{"path": "/collect", "category": "analytics"},
                                        {"path": "/tr/*/px", "category": "marketing"}]}}

    def consent(self, body):
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=json.dumps(body),
                 headers=["Content-Type: application/json"])
        self.assertEqual(r.status, 200, r.text)
        return [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]

    def test_doubled_slashes_are_the_same_endpoint(self):
        # origins merge slashes (nginx's merge_slashes, Python's http.server): "//collect" is /collect to them
        for path in ("//collect?t=dbl-1", "///collect?t=dbl-2", "/tr//abc//px?t=dbl-3"):
            out = raw_request(self.gw.port, ("GET %s HTTP/1.1\r\nHost: x\r\nSec-Fetch-Dest: image\r\nConnection: close\r\n\r\n"
                                             % path).encode())
            self.assertTrue(out.startswith(b"HTTP/1.1 200"), out[:100])
            self.assertIn(b"image/gif", out.split(b"\r\n\r\n")[0].lower())
            self.origin.assert_not_reached(path.split("?")[1])

    def test_path_parameters_are_the_same_endpoint(self):
        # servlet containers (Tomcat, Jetty, Spring) drop a segment's ";params" before routing: /collect;jsessionid=…
        # is their /collect, and /x/..;/collect too (shown with a Tomcat 10 origin)
        for path in ("/collect;jsessionid=A1B2?t=semi-1", "/tr;x/abc;y/px;z?t=semi-2", "/x/..;/collect?t=semi-3",
                     "/;a/collect;b/?t=semi-4", "/collect%3Bx?t=semi-5"):
            out = raw_request(self.gw.port, ("GET %s HTTP/1.1\r\nHost: x\r\nSec-Fetch-Dest: image\r\nConnection: close\r\n\r\n"
                                             % path).encode())
            self.assertTrue(out.startswith(b"HTTP/1.1 200"), (path, out[:100]))
            self.assertIn(b"image/gif", out.split(b"\r\n\r\n")[0].lower())
            self.origin.assert_not_reached(path.split("?")[1])
        # a parameter is not another path: /collector;x and /collect-x;y stay pages
        for path in ("/collector;x?t=semi-other-1", "/x;/collect/../y?t=semi-other-2"):
            curl(self.gw.url(path))
            self.origin.assert_reached(path.split("?")[1])

    def test_other_letter_cases_are_the_same_endpoint(self):
        # origins that route case-insensitively (Express by default, ASP.NET) take /Collect for /collect
        for path in ("/Collect?t=case-1", "/COLLECT/?t=case-2", "/TR/abc/PX?t=case-3", "/cOLLect//x?t=case-4"):
            r = curl(self.gw.url(path), headers=["Sec-Fetch-Dest: image"])
            self.assertEqual((r.status, len(r.body)), (200, 43), path)
            self.origin.assert_not_reached(path.split("?")[1])
        curl(self.gw.url("/Collector?t=case-other"))
        self.origin.assert_reached("t=case-other")

    def test_pixel_before_consent_gets_the_gif_and_never_reaches_the_origin(self):
        r = curl(self.gw.url("/collect?v=2&tid=G-1&t=before-img"), headers=["Sec-Fetch-Dest: image"])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "image/gif")
        self.assertEqual(len(r.body), 43)
        self.assertTrue(r.body.startswith(b"GIF89a"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # sendBeacon-shaped POST to the same collector: 204
        r = curl(self.gw.url("/collect?t=before-post"), method="POST", data="v=2&en=page_view",
                 headers=["Content-Type: text/plain;charset=UTF-8", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: no-cors"])
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertIsNone(r.header("Transfer-Encoding"))
        # a glob endpoint of another category
        r = curl(self.gw.url("/tr/abc/px?ev=PageView&t=before-glob"), headers=["Accept: image/avif,image/webp,*/*"])
        self.assertEqual((r.status, len(r.body)), (200, 43))
        self.origin.assert_not_reached("t=before")
        self.assertGreaterEqual(metric(self.gw, "cg_beacons_answered_total", '{category="analytics"}'), 2)

    def test_ping_answered_unless_granted(self):
        r = curl(self.gw.url("/ping?t=ping-before"), method="POST", data="PING",
                 headers=["Content-Type: text/ping", "Ping-From: http://127.0.0.1/", "Ping-To: https://elsewhere.example/"])
        self.assertEqual(r.status, 204)
        self.assertIsNone(r.header("Content-Length"), "a 204 has no Content-Length (RFC 9110 8.6)")
        self.origin.assert_not_reached("t=ping-before")
        token = self.consent({"categories": {"analytics": True}})
        curl(self.gw.url("/ping?t=ping-after"), method="POST", data="PING", cookie=token,
             headers=["Content-Type: text/ping", "Ping-From: http://127.0.0.1/"])
        self.origin.assert_reached("t=ping-after", method="POST")

    def test_after_consent_beacons_reach_the_origin_untouched(self):
        token = self.consent({"all": True})
        r = curl(self.gw.url("/collect?v=2&t=after-img"), headers=["Sec-Fetch-Dest: image"], cookie=token)
        self.assertEqual(r.status, 200)
        e = self.origin.assert_reached("t=after-img")
        self.assertEqual(e["method"], "GET")
        self.assertEqual(r.header("Content-Type"), "image/gif")  # the origin's own pixel
        # not a beacon path: always proxied, even before consent
        curl(self.gw.url("/collector?t=not-a-beacon"))
        self.origin.assert_reached("t=not-a-beacon")

    def test_only_the_refused_category_is_answered(self):
        token = self.consent({"categories": {"analytics": True, "marketing": False}})
        curl(self.gw.url("/collect?t=mixed-a"), cookie=token)
        self.origin.assert_reached("t=mixed-a")
        r = curl(self.gw.url("/tr/x/px?t=mixed-m"), cookie=token)
        self.assertEqual(r.status, 204)
        self.origin.assert_not_reached("t=mixed-m")


class SendBeaconTest(GatewayTestCase):
    """navigator.sendBeacon requests (POST, Sec-Fetch-Mode: no-cors, Sec-Fetch-Dest: empty) are beacons of
    beacons.ping_category (analytics by default) wherever they go; tracker-list matches are answered at the edge."""
    config = {"trackers": {"lists": [{"name": "easyprivacy", "file": EASYPRIVACY, "format": "abp", "category": "analytics"}]}}
    SB = ["Content-Type: text/plain;charset=UTF-8", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: no-cors", "Sec-Fetch-Site: same-origin"]

    def test_send_beacon_answered_unless_granted(self):
        r = curl(self.gw.url("/__origin/echo?t=sb-before"), method="POST", data='{"ev":"unload"}', headers=self.SB)
        self.assertEqual((r.status, r.body), (204, b""))
        self.origin.assert_not_reached("t=sb-before")
        # the page's own fetch() and form posts are not beacons
        curl(self.gw.url("/__origin/echo?t=sb-fetch"), method="POST", data="{}",
             headers=["Content-Type: application/json", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"])
        self.origin.assert_reached("t=sb-fetch", method="POST")
        curl(self.gw.url("/__origin/echo?t=sb-form"), method="POST", data="q=1",
             headers=["Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate"])
        self.origin.assert_reached("t=sb-form", method="POST")
        token = BeaconTest.consent(self, {"categories": {"analytics": True}})
        curl(self.gw.url("/__origin/echo?t=sb-after"), method="POST", data='{"ev":"unload"}', headers=self.SB, cookie=token)
        self.origin.assert_reached("t=sb-after", method="POST")

    def test_tracker_list_beacon_answered_at_the_edge(self):
        # EasyPrivacy's "&ev=PageView&" rule, on a request to the site itself
        before = metric(self.gw, "cg_beacons_answered_total", '{category="analytics"}')
        r = curl(self.gw.url("/__origin/echo?id=1&ev=PageView&t=list-before"),
                 headers=["Sec-Fetch-Dest: image", "Referer: " + self.gw.url("/shop/boots?colour=red")])
        self.assertEqual((r.status, len(r.body), r.header("Content-Type")), (200, 43, "image/gif"))
        self.origin.assert_not_reached("t=list-before")
        self.assertEqual(metric(self.gw, "cg_beacons_answered_total", '{category="analytics"}'), before + 1)
        # the inventory names the page that sent it (its Referer), not the beacon's own path
        inv = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).json()["seen"]
        mine = [e for e in inv if e["host"] == "127.0.0.1" and e["category"] == "analytics"]
        self.assertEqual([(e["page"], e["answered_at_edge"]) for e in mine], [("/shop", 1)], inv)
        token = BeaconTest.consent(self, {"categories": {"analytics": True}})
        curl(self.gw.url("/__origin/echo?id=1&ev=PageView&t=list-after"), headers=["Sec-Fetch-Dest: image"], cookie=token)
        self.origin.assert_reached("t=list-after")

    def test_pages_are_not_beacons(self):
        # a navigation, or a request that asks for HTML, is a page of the site even at a URL a list names
        for i, hdrs in enumerate((["Sec-Fetch-Mode: navigate", "Sec-Fetch-Dest: document"], ["Accept: text/html,*/*;q=0.8"])):
            r = curl(self.gw.url("/__origin/echo?id=1&ev=PageView&t=list-page-%d" % i), headers=hdrs)
            self.assertEqual(r.status, 200)
            self.origin.assert_reached("t=list-page-%d" % i)

    def test_a_beacons_host_header_is_not_shown_to_other_visitors(self):
        """A beacon answered at the edge is a request to the site itself, filed under its Host header, which any client
        writes: one request with "Host: refund-hotline-….example" put that text in every visitor's preference centre
        as a tracker seen on the site. There a first-party beacon is shown under the visitor's own host."""
        forged = "refund-hotline-call-0800-555-0100.example"
        r = curl(self.gw.url("/__origin/echo?id=1&ev=PageView&t=forged-host"), headers=["Sec-Fetch-Dest: image", "Host: " + forged])
        self.assertEqual(r.status, 200)
        page = curl(self.gw.url("/__consent/")).text
        self.assertNotIn(forged, page)
        self.assertIn("<code>127.0.0.1</code>", page, "the beacon is listed under the site the visitor is on")
        # the security team's inventory keeps what the request said
        inv = curl(self.gw.admin_url("/admin/trackers"), headers=["Authorization: Bearer " + ADMIN_TOKEN]).json()["seen"]
        self.assertIn(forged, [e["host"] for e in inv])


class PingToAListedTrackerTest(GatewayTestCase):
    """A sendBeacon or <a ping> request is a beacon of beacons.ping_category (analytics), but one whose URL a tracker
    list gives another category (an ad platform's impression beacon: marketing) needs that category too, as the
    same URL fetched as an image or by fetch() does."""
    start_gateway = False
    SB = ["Content-Type: text/plain;charset=UTF-8", "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: no-cors"]
    PING = ["Content-Type: text/ping", "Ping-From: http://127.0.0.1/", "Ping-To: https://elsewhere.example/",
            "Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: no-cors"]

    def test_ping_needs_the_lists_category_too(self):
        ads = os.path.join(self.tmp, "ads.txt")
        with open(ads, "w") as f:
            f.write("! first-party ad impression beacons\n/adunit/track-view\n/adunit/ping-only$ping\n/adunit/image-only$image\n")
        gw = self.new_gateway("gw", harness.gateway_config(self.origin.url, trackers={"lists": [
            {"name": "easyprivacy", "file": EASYPRIVACY, "format": "abp", "category": "analytics"},
            {"name": "ads", "file": ads, "format": "abp", "category": "marketing"}]},
            beacons={"endpoints": [{"path": "/collect", "category": "analytics"}]}, threads=1))
        r = curl(gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"analytics": true}}',
                 headers=["Content-Type: application/json"])
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        for tag, method, hdrs in (("img", "GET", ["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"]),
                                  ("beacon", "POST", self.SB), ("ping", "POST", self.PING)):
            r = curl(gw.url("/adunit/track-view?t=lp-" + tag), method=method, data="x=1" if method == "POST" else None,
                     headers=hdrs, cookie=token)
            self.assertIn(r.status, (200, 204), tag)
            self.origin.assert_not_reached("t=lp-" + tag)
        for tag, method, hdrs in (("img", "GET", ["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"]),
                                  ("beacon", "POST", self.SB), ("ping", "POST", self.PING)):
            # a configured endpoint of a granted category is a list match too
            curl(gw.url("/collect/adunit/track-view?t=lp-ep-" + tag), method=method,
                 data="x=1" if method == "POST" else None, headers=hdrs, cookie=token)
            self.origin.assert_not_reached("t=lp-ep-" + tag)
        # granted analytics still lets the plain ping and the collector through, untouched
        curl(gw.url("/ping?t=lp-ok"), method="POST", data="PING", headers=self.PING, cookie=token)
        self.origin.assert_reached("t=lp-ok", method="POST")
        curl(gw.url("/collect?t=lp-ok-collect"), method="POST", data="x=1", headers=self.SB, cookie=token)
        self.origin.assert_reached("t=lp-ok-collect", method="POST")
        # origins merge slashes: "//adunit//track-view" is the listed URL to them, and to the lists
        r = curl(gw.url("//adunit//track-view?t=lp-dbl"), headers=["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"], cookie=token)
        self.assertEqual(r.status, 200)
        self.origin.assert_not_reached("t=lp-dbl")
        # rules of one type ($ping, $image) are asked with the request's own type, the same URL one after the other
        # (one worker thread: the verdicts it caches are per type)
        curl(gw.url("/adunit/ping-only?t=lp-ping"), method="POST", data="PING", headers=self.PING, cookie=token)
        self.origin.assert_not_reached("t=lp-ping")
        for hdrs in (["Sec-Fetch-Dest: image", "Sec-Fetch-Mode: no-cors"], ["Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"]):
            curl(gw.url("/adunit/image-only?t=lp-type"), headers=hdrs, cookie=token)
        self.origin.assert_reached("t=lp-type", count=1)
        # with marketing granted too, the ad beacon goes to the origin
        r = curl(gw.url("/__consent/api/consent"), method="POST", data='{"all": true}', headers=["Content-Type: application/json"])
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        curl(gw.url("/adunit/track-view?t=lp-all"), method="POST", data="x=1", headers=self.PING, cookie=token)
        self.origin.assert_reached("t=lp-all", method="POST")


class FirstPartyRequestTypeTest(GatewayTestCase):
    """A request a page's own script makes to the site (the SDK a loader inserts, a fetch) is asked of the lists with
    the type its Sec-Fetch-Dest names: EasyPrivacy's rules for self-hosted analytics are typed ("/matomo/*$script",
    "/piwik.$image,script"), and a loader whose URL is relative ("var u='/matomo/'") is seen by no rewriter."""
    start_gateway = False

    def test_typed_rules_hold_the_requests_of_their_type(self):
        own = os.path.join(self.tmp, "self-hosted.txt")
        with open(own, "w") as f:
            f.write("! self-hosted analytics\n/matomo/*$script\n/stats/api/*$xmlhttprequest\n/fonts/spy-$font\n"
                    "/api/ping?$~xmlhttprequest\n")
        gw = self.new_gateway("gw", harness.gateway_config(self.origin.url, trackers={"lists": [
            {"name": "own", "file": own, "format": "abp", "category": "analytics"}]}, threads=1))
        script = ["Sec-Fetch-Dest: script", "Sec-Fetch-Mode: no-cors"]
        fetch = ["Sec-Fetch-Dest: empty", "Sec-Fetch-Mode: cors"]
        for tag, path, hdrs in (("js", "/matomo/matomo.js", script), ("js-case", "/matomo/matomo.js", ["Sec-Fetch-Dest: Script"]),
                                ("xhr", "/stats/api/event", fetch), ("font", "/fonts/spy-1.woff2", ["Sec-Fetch-Dest: font"])):
            r = curl(gw.url(path + "?t=type-" + tag), headers=hdrs)
            self.assertEqual((r.status, r.body), (204, b""), tag)
            self.origin.assert_not_reached("t=type-" + tag)
        # EasyPrivacy's "/api/ping?$~xmlhttprequest": a site's own API answers its fetch() there, an image is a pixel
        self.assertEqual(curl(gw.url("/api/ping?t=type-notxhr-img"), headers=["Sec-Fetch-Dest: image"]).status, 200)
        self.origin.assert_not_reached("t=type-notxhr-img")
        curl(gw.url("/api/ping?t=type-notxhr-fetch"), headers=fetch)
        self.origin.assert_reached("t=type-notxhr-fetch")
        # a rule of one type does not hold another's request, nor one that names none
        for tag, path, hdrs in (("img", "/matomo/logo.png", ["Sec-Fetch-Dest: image"]), ("xhr-js", "/matomo/matomo.js", fetch),
                                ("none", "/stats/api/event", []), ("nav", "/matomo/index.php",
                                                                   ["Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate"])):
            curl(gw.url(path + "?t=type-ok-" + tag), headers=hdrs)
            self.origin.assert_reached("t=type-ok-" + tag)
        r = curl(gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"analytics": true}}',
                 headers=["Content-Type: application/json"])
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        curl(gw.url("/matomo/matomo.js?t=type-granted"), headers=script, cookie=token)
        self.origin.assert_reached("t=type-granted")


class BeaconReportOnlyTest(GatewayTestCase):
    config = {"enforcement": "report-only", "beacons": {"endpoints": [{"path": "/collect", "category": "analytics"}]}}

    def test_report_only_forwards_and_counts(self):
        curl(self.gw.url("/collect?t=ro-beacon"), headers=["Sec-Fetch-Dest: image"])
        self.origin.assert_reached("t=ro-beacon")
        self.assertEqual(metric(self.gw, "cg_report_only_would_answer_beacons_total", '{category="analytics"}'), 1)
        self.assertEqual(metric(self.gw, "cg_beacons_answered_total", '{category="analytics"}'), 0)
