"""Configurations that parse, start, and then do the wrong thing without a word: an operator's mistakes.

Each was found with the real gateway, a real origin and real clients (curl), and is now refused at the start and by
--check-config (file:line:column), or warned about there, naming the key.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import GatewayTestCase, Gateway, curl, gateway_config, run_binary, wait_until

OPENSSL = harness.OPENSSL
POS = re.compile(r"(?m)^(?P<file>\S+\.json):(?P<line>\d+):(?P<col>\d+): (?P<msg>\S.*)$")


def openssl(*args, cwd):
    subprocess.run([OPENSSL] + list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def verified_get(url, cacert):
    """curl verifying the server's certificate against cacert alone (harness.curl passes -k); the HTTP status, or 0
    when the TLS handshake failed"""
    p = subprocess.run([harness.CURL, "-sS", "--max-time", "15", "--cacert", cacert, "-o", "/dev/null", "-w", "%{http_code}",
                        url], capture_output=True, text=True, timeout=30)
    return int(p.stdout or "0") if p.returncode == 0 else 0


def make_pki(d):
    """A private root, an intermediate it signs and a server certificate the intermediate signs (localhost,
    127.0.0.1), as a public CA issues them; and an expired self-signed one. Files in d."""
    os.makedirs(d, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-days", "3",
            "-subj", "/CN=cg test root", cwd=d)
    with open(os.path.join(d, "ca.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=cg test intermediate",
            cwd=d)
    openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-days", "3",
            "-extfile", "ca.ext", "-out", "int.pem", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost", cwd=d)
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-days", "2",
            "-extfile", "leaf.ext", "-out", "cert.pem", cwd=d)
    with open(os.path.join(d, "cert.pem")) as a, open(os.path.join(d, "int.pem")) as b:
        leaf, inter = a.read(), b.read()
    with open(os.path.join(d, "fullchain.pem"), "w") as f:
        f.write(leaf + inter)
    with open(os.path.join(d, "chain-first.pem"), "w") as f:
        f.write(inter + leaf)
    # (-days -1: valid until yesterday)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "expired.key", "-out", "expired.csr", "-subj", "/CN=localhost",
            cwd=d)
    openssl("x509", "-req", "-in", "expired.csr", "-signkey", "expired.key", "-days", "-1", "-extfile", "leaf.ext", "-out",
            "expired.pem", cwd=d)
    for k in ("root.key", "int.key", "key.pem", "expired.key"):
        os.chmod(os.path.join(d, k), 0o600)


class UpstreamIsTheGatewayTest(GatewayTestCase):
    """An upstream URL that names one of the gateway's own listeners (a port copied from the wrong line): it started,
    --check-config said "valid", and every request was proxied back to the gateway, a connection more each round,
    until the client gave up (curl: nothing within 20 s) or the descriptors ran out."""
    with_origin = False
    start_gateway = False

    def config_for(self, upstream_of, admin=False):
        cfg = gateway_config("http://127.0.0.1:1", admin=admin)
        cfg["upstream"] = upstream_of(cfg)
        return cfg

    def assert_refused(self, cfg, name, mentions):
        g = Gateway(self.tmp, cfg, name=name)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 1, "--check-config: %s%s" % (p.stdout, p.stderr))
        m = POS.search(p.stderr)
        self.assertIsNotNone(m, "no file:line:column in %r" % p.stderr)
        with open(g.config_path) as f:
            line = f.read().split("\n")[int(m.group("line")) - 1]
        self.assertTrue(line[int(m.group("col")) - 1:].startswith('"%s"' % cfg["upstream"]),
                        "the position is the upstream URL's: %r" % m.group(0))
        for word in mentions:
            self.assertIn(word, m.group("msg"))
        # the start refuses too, before it listens (exit status 1: systemd does not restart it)
        with self.assertRaises(RuntimeError):
            g.start()
        self.assertEqual(g.proc.returncode, 1)
        self.assertIn(m.group("msg"), g.stderr() + g.error_log())

    def test_upstream_is_its_own_listener(self):
        self.assert_refused(self.config_for(lambda c: "http://127.0.0.1:%d" % c["listen"][0]["port"]), "same",
                            ["upstream", "the gateway's own listen[0]"])

    def test_localhost_reaches_a_wildcard_listener(self):
        def up(c):
            del c["listen"][0]["host"]  # every interface: 127.0.0.1 and localhost reach it
            return "http://localhost:%d/app/" % c["listen"][0]["port"]
        self.assert_refused(self.config_for(up), "wildcard", ["the gateway's own listen[0]"])

    def test_upstream_is_the_admin_listener(self):
        self.assert_refused(self.config_for(lambda c: "http://127.0.0.1:%d" % c["admin"]["listen"]["port"], admin=True),
                            "admin", ["the gateway's own admin listener"])

    def test_another_address_on_the_same_port_is_an_origin(self):
        # an origin on 127.0.0.1 at the port the gateway has on 127.0.0.2: no loop
        cfg = gateway_config("http://127.0.0.1:1", admin=False)
        cfg["listen"][0]["host"] = "127.0.0.2"
        cfg["upstream"] = "http://127.0.0.1:%d" % cfg["listen"][0]["port"]
        g = Gateway(self.tmp, cfg, name="other-address")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)


class CertificateChainTest(GatewayTestCase):
    """TLS certificates that load and match their key, and that clients refuse: said at the start, by --check-config and
    at a reload, naming the listener's key (listen[N].tls.cert)."""
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pki = os.path.join(cls.tmp, "pki")
        make_pki(cls.pki)

    def gateway(self, name, cert, key="key.pem"):
        cfg = gateway_config(self.origin.url, tls_cert=(os.path.join(self.pki, cert), os.path.join(self.pki, key)))
        return self.new_gateway(name, cfg, start=False)

    def check(self, g):
        g.write_config()
        return run_binary(["--check-config", "-c", g.config_path])

    def client(self, g):
        """curl trusting the private root only: a client that does not fetch a missing intermediate"""
        return verified_get(g.url("/__origin/echo?t=chain", tls=True),
                            os.path.join(self.pki, "root.pem"))

    def test_certificate_without_its_intermediate(self):
        # certbot's cert.pem where fullchain.pem belongs: a desktop browser that fetches the intermediate connects,
        # curl, Firefox, Android do not
        g = self.gateway("leaf-only", "cert.pem")
        p = self.check(g)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("listen[1].tls.cert: %s has no certificate of its issuer (/CN=cg test intermediate)"
                      % os.path.join(self.pki, "cert.pem"), p.stderr)
        self.assertIn("fullchain.pem", p.stderr)
        g.start()
        self.assertEqual(self.client(g), 0, "a client without the intermediate refuses the connection")
        self.assertIn("listen[1].tls.cert: %s has no certificate of its issuer" % os.path.join(self.pki, "cert.pem"),
                      g.error_log())
        g.stop_and_check()

    def test_full_chain_is_not_warned_about(self):
        g = self.gateway("full", "fullchain.pem")
        p = self.check(g)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("tls.cert", p.stderr)
        g.start()
        self.assertEqual(self.client(g), 200)
        self.assertNotIn("tls.cert", g.error_log())
        g.stop_and_check()

    def test_expired_certificate(self):
        g = self.gateway("expired", "expired.pem", "expired.key")
        p = self.check(g)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"listen\[1\]\.tls\.cert: \S+expired\.pem expired on \w+ +\d+ [\d:]+ \d{4} GMT: clients "
                                   r"refuse the connection")
        g.start()
        self.assertEqual(verified_get(g.url("/", tls=True), os.path.join(self.pki, "expired.pem")), 0,
                         "curl refuses an expired certificate")
        self.assertIn("expired.pem expired on", g.error_log())
        # renewed: a reload loads it and says nothing more; expired again at the next reload: said again
        shutil.copyfile(os.path.join(self.pki, "fullchain.pem"), os.path.join(self.pki, "expired.pem"))
        shutil.copyfile(os.path.join(self.pki, "key.pem"), os.path.join(self.pki, "expired.key"))
        g.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: g.error_log().count("reload done") >= 1, 5), g.error_log())
        self.assertEqual(g.error_log().count("expired.pem expired on"), 1, g.error_log())
        self.assertEqual(self.client(g), 200)
        g.stop_and_check()

    def test_an_expired_renewal_leaves_the_valid_one_in_force(self):
        # an old file put back (or a deploy hook that copied the wrong one) and a reload: every client would have
        # refused the expired certificate that replaced a valid one
        import ssl
        d = os.path.join(self.tmp, "renewal")
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(os.path.join(self.pki, "fullchain.pem"), os.path.join(d, "cert.pem"))
        shutil.copyfile(os.path.join(self.pki, "key.pem"), os.path.join(d, "key.pem"))
        g = self.new_gateway("renewal", gateway_config(self.origin.url, tls_cert=(os.path.join(d, "cert.pem"),
                                                                                  os.path.join(d, "key.pem"))))

        def served():
            return ssl.get_server_certificate(("127.0.0.1", g.tls_port))
        valid = served()
        shutil.copyfile(os.path.join(self.pki, "expired.pem"), os.path.join(d, "cert.pem"))
        shutil.copyfile(os.path.join(self.pki, "expired.key"), os.path.join(d, "key.pem"))
        g.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in g.error_log(), 5), g.error_log())
        self.assertIn("TLS certificate not reloaded (the one in force stays): %s has expired, and the one in force has not"
                      % os.path.join(d, "cert.pem"), g.error_log())
        self.assertEqual(served(), valid)
        self.assertEqual(self.client(g), 200)
        g.stop_and_check()

    def test_chain_before_the_certificate(self):
        # the intermediate pasted first: OpenSSL said "key values mismatch", which sent operators looking for another key
        g = self.gateway("chain-first", "chain-first.pem")
        p = self.check(g)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("the key is certificate 2's in %s, not the first's: the server's own certificate comes first"
                      % os.path.join(self.pki, "chain-first.pem"), p.stderr)
        with self.assertRaises(RuntimeError):
            g.start()
        self.assertIn("the key is certificate 2's", g.error_log())


STATISTICS = {"categories": ["necessary", "functional", "statistics", "marketing"],
              "ui": {"strings": {"en": {"category.statistics.title": "Statistics",
                                        "category.statistics.desc": "Counting visits"}}}}


class DatabaseCategoriesTest(GatewayTestCase):
    """A site that names a category otherwise than the cookie database ("statistics" for its "analytics", as many
    consent tools do): the database's analytics entries were skipped without a word, so Google Analytics' _ga and _gid
    were unknown cookies, cookies.unknown_category ("functional"), and passed for a visitor who had refused statistics
    and accepted functional cookies. Now the start and --check-config say so, naming the key, and
    cookies.database_categories maps the database's name onto the site's."""
    start_gateway = False

    def gateway(self, name, **over):
        return self.new_gateway(name, gateway_config(self.origin.url, admin=False, **dict(STATISTICS, **over)), start=False)

    def set_cookies_after_refusing_statistics(self, g):
        r = curl(g.url("/__consent/api/consent"), method="POST", headers=["Content-Type: application/json"],
                 data=json.dumps({"categories": {"functional": True, "statistics": False, "marketing": False}}))
        self.assertEqual(r.status, 200, r.text)
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        r = curl(g.url("/__origin/set-cookie?c=_ga%3DGA1.1.1.1&c=_gid%3DGA1.1.2.2&c=_fbp%3Dfb.1.1"), cookie=token)
        self.assertEqual(r.status, 200)
        return sorted(v.split("=", 1)[0] for v in r.header_all("Set-Cookie"))

    def test_unmapped_category_is_said(self):
        g = self.gateway("unmapped")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        said = re.search(r"categories: the cookie database \S+cookies\.json files (\d+) cookies \(\S+, \.\.\.\) under "
                         r"\"analytics\", which is not one of categories: they are classified as cookies.unknown_category, "
                         r"\"functional\"; name the category of yours they belong to in cookies.database_categories: "
                         r"\{\"analytics\": \"...\"\}", p.stderr)
        self.assertIsNotNone(said, p.stderr)
        self.assertGreater(int(said.group(1)), 100)
        g.start()
        self.assertIn(said.group(0), g.error_log())
        # (what it warns about: analytics cookies pass with "functional")
        self.assertEqual(self.set_cookies_after_refusing_statistics(g), ["_ga", "_gid"])
        g.stop_and_check()

    def test_without_functional_they_would_be_necessary(self):
        g = self.gateway("no-functional", categories=["necessary", "marketing"], ui=None)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('under "analytics", which is not one of categories: they are classified as '
                      'cookies.unknown_category, "necessary", which is always granted', p.stderr)
        self.assertIn('under "functional"', p.stderr)

    def test_mapped_category_keeps_the_classification(self):
        g = self.gateway("mapped", cookies={"database_categories": {"analytics": "statistics"}})
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("cookies.database_categories", p.stderr)
        g.start()
        self.assertEqual(self.set_cookies_after_refusing_statistics(g), [])
        self.assertNotIn("database_categories", g.error_log())
        g.stop_and_check()

    def test_mapping_onto_no_category_is_an_error(self):
        g = self.gateway("bad-map", cookies={"database_categories": {"analytics": "stats"}})
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 1, p.stderr)
        m = POS.search(p.stderr)
        self.assertIsNotNone(m, p.stderr)
        self.assertIn('cookies.database_categories.analytics: "stats" is not one of "necessary", "functional", '
                      '"statistics", "marketing"', m.group("msg"))


class MissingRiskListTest(GatewayTestCase):
    """A risk list whose file does not exist (a typo in its path): the start warned and started it empty, matching
    nothing, while --check-config, run before the restart, said only "valid". Now it says what the start will."""
    with_origin = False
    start_gateway = False

    def test_check_config_says_what_the_start_says(self):
        risk = {"lists": [{"name": "phishing", "file": "risk/phishng.txt", "format": "domains", "action": "block"}]}
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", risk=risk))
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        said = "risk list phishing: %s does not exist yet: starting empty, it matches nothing (PUT /admin/lists/phishing " \
               "creates it; is risk.lists[0].file the path meant?)" % g.path("risk/phishng.txt")
        self.assertIn(said, p.stderr)
        g.start()
        self.assertIn(said, g.error_log())
        g.stop_and_check()


class CheckConfigWarnsAsTheStartTest(GatewayTestCase):
    """--check-config is what an operator runs before a restart (README: "goes as far as a start goes"), and it said
    "valid" and nothing else where the start then warned: a public admin listener over plain HTTP, a
    regimes.by_country that cannot apply without geoip.database, a category without words, no policy.url. Every
    warning of the start is now --check-config's too."""
    with_origin = False
    start_gateway = False

    def test_check_config_warns_as_the_start(self):
        # (two categories of the site's own: one with words, which neither may warn about, and one without)
        cfg = gateway_config("http://127.0.0.1:1", categories=["necessary", "functional", "analytics", "marketing", "social",
                                                               "video"],
                             ui={"strings": {"en": {"category.video.title": "Video", "category.video.desc": "Players"}}},
                             regimes={"by_country": {"US": "opt-out"}},
                             risk={"lists": [{"name": "p", "file": "missing/p.txt", "format": "domains", "action": "block"}]})
        cfg["admin"]["listen"]["host"] = "0.0.0.0"
        g = Gateway(self.tmp, cfg)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        g.start()
        g.stop_and_check()

        def warnings(text):
            return sorted(set(re.findall(r"\[warn\] (.*)", text)))
        at_start = warnings(g.stderr() + g.error_log())
        self.assertGreaterEqual(len(at_start), 6, at_start)
        self.assertEqual(warnings(p.stderr), at_start, "the same warnings")
        self.assertNotIn("category video", " ".join(at_start))


class UnitsTest(GatewayTestCase):
    """Values in range in the wrong unit: "io_timeout_ms": 30 meant as seconds made every answer the origin took longer
    than 30 ms to give a 504; "hsts_max_age": 180 meant as days let browsers forget HTTPS after 3 minutes. Both started
    without a word."""
    start_gateway = False

    def test_seconds_for_milliseconds_and_days_for_seconds(self):
        g = self.new_gateway("units", gateway_config(self.origin.url, proxy={"io_timeout_ms": 30, "max_request_body": 10240},
                                                     channel={"hsts_max_age": 180}), start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        said = ["proxy.io_timeout_ms is 30: milliseconds (30 seconds would be 30000); an origin slower than that to answer "
                "gets 504",
                "channel.hsts_max_age is 180: seconds (under a day), so browsers soon forget to insist on HTTPS; 180 days are "
                "15552000",
                "proxy.max_request_body is 10240: bytes (10 KB), so an upload or a form post larger than that gets 413 (1 MB is "
                "1048576)"]
        for w in said:
            self.assertIn(w, p.stderr)
        g.start()
        for w in said:
            self.assertIn(w, g.error_log())
        self.assertEqual(curl(g.url("/__origin/slow?ms=300")).status, 504)  # (what the first one warns about)
        self.assertEqual(curl(g.url("/__origin/echo"), method="POST", data="x" * 20000).status, 413)  # (and the last)
        g.stop_and_check()

    def test_sensible_values_are_not_warned_about(self):
        g = self.new_gateway("units-ok", gateway_config(self.origin.url, proxy={"io_timeout_ms": 1000},
                                                        channel={"hsts_max_age": 0}), start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("io_timeout_ms", p.stderr)
        self.assertNotIn("hsts_max_age", p.stderr)
        self.assertNotIn("max_request_body", p.stderr)


class UntrustedProxyInFrontTest(GatewayTestCase):
    """The gateway behind a proxy of the site's own (nginx on the same host) without geoip.trusted_proxies: every
    visitor came from 127.0.0.1, so store.rate_per_minute counted the whole site as one client (after that many
    consents in a minute, everyone's answer was 429 and no cookie), and none was placed by country; nothing said why."""
    start_gateway = False

    def consent(self, g, visitor):
        return curl(g.url("/__consent/api/consent"), method="POST", data=json.dumps({"all": True}),
                    headers=["Content-Type: application/json", "X-Forwarded-For: 198.51.100.%d" % visitor]).status

    def test_forwarded_requests_from_an_unnamed_proxy_are_said(self):
        g = self.new_gateway("untrusted", gateway_config(self.origin.url, store={"rate_per_minute": 3}))
        self.assertEqual([self.consent(g, v) for v in range(1, 5)], [200, 200, 200, 429])  # four visitors, one client
        said = ("requests from 127.0.0.0/24 carry X-Forwarded-For, and geoip.trusted_proxies does not name their sender: if "
                "it is a proxy in front of the gateway, name it there, or the visitors behind it count as one client "
                "(store.rate_per_minute: 3 consents a minute for them all) and get regimes.default")
        self.assertTrue(wait_until(lambda: said in g.error_log(), 5), g.error_log())
        self.assertLessEqual(g.error_log().count(said), g.config["threads"], "once a minute per worker thread at most")
        g.stop_and_check()

    def test_a_named_proxy_is_not_warned_about(self):
        g = self.new_gateway("trusted", gateway_config(self.origin.url, store={"rate_per_minute": 3},
                                                       geoip={"trusted_proxies": ["127.0.0.1/32"]}))
        self.assertEqual([self.consent(g, v) for v in range(1, 5)], [200, 200, 200, 200])  # four clients
        g.stop_and_check()
        self.assertNotIn("X-Forwarded-For", g.error_log())


def get_status(url):
    p = subprocess.run([harness.CURL, "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", url],
                       capture_output=True, text=True, timeout=15)
    return int(p.stdout or "0")


class WildcardAddressesTest(GatewayTestCase):
    """The gateway's IPv6 sockets are IPv6 only (IPV6_V6ONLY), so "::" alone took no IPv4 visitor (Linux's default
    makes it dual-stack, and operators expect that), and the one way to take both, 0.0.0.0 and :: on the same port, was
    refused as a repeated listen entry."""
    start_gateway = False

    def test_both_wildcards_side_by_side(self):
        port = harness.free_port()
        g = self.new_gateway("dual", gateway_config(self.origin.url, admin=False,
                                                    listen=[{"host": "0.0.0.0", "port": port}, {"host": "::", "port": port}]),
                             start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("IPv6 connections only", p.stderr)
        g.start()
        self.assertEqual(get_status("http://127.0.0.1:%d/__origin/echo?t=v4" % port), 200)
        self.assertEqual(get_status("http://[::1]:%d/__origin/echo?t=v6" % port), 200)
        g.stop_and_check()

    def test_ipv6_wildcard_alone_is_said(self):
        port = harness.free_port()
        g = self.new_gateway("v6-only", gateway_config(self.origin.url, admin=False, listen=[{"host": "::", "port": port}]),
                             start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('listen[0]: "::" takes IPv6 connections only: IPv4 visitors cannot connect to port %d; list '
                      '{"host": "0.0.0.0", "port": %d} as well' % (port, port), p.stderr)


class PermissiveSettingsTest(GatewayTestCase):
    """Settings that hold nothing back and started without a word: "enforcement": "report-only" left after a trial
    (the banner asks, every refused cookie passes), and a cookies.unknown_category of "necessary" (set, or what it
    falls back to without a "functional" category), which grants every cookie nobody classified."""
    with_origin = False
    start_gateway = False

    def check(self, **over):
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", admin=False, **over), name="c%d" % len(over))
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def test_report_only_is_said(self):
        self.assertIn("enforcement is report-only: cookies, beacons and tracker tags of refused categories pass",
                      self.check(enforcement="report-only"))
        self.assertNotIn("report-only", self.check())

    def test_unknown_cookies_granted_is_said(self):
        said = 'cookies.unknown_category is "necessary": every cookie neither the cookie database nor cookies.overrides ' \
               'names is always granted'
        self.assertIn(said, self.check(cookies={"unknown_category": "necessary"}))
        self.assertIn(said, self.check(categories=["necessary", "analytics", "marketing"]))
        self.assertNotIn("unknown_category", self.check(cookies={"unknown_category": "marketing"}))


class RiskListsSharingAFileTest(GatewayTestCase):
    """Two risk lists naming one file (a block list and a warn list, copied from one line): it started, and an admin
    edit of the warn list rewrote the file, so the block list reloaded with the warn list's entries: a phishing domain
    it blocked came out "clean"."""
    with_origin = False
    start_gateway = False

    def assert_refused(self, second_file):
        risk = {"lists": [{"name": "phish", "file": "risk/x.txt", "action": "block"},
                          {"name": "watch", "file": second_file, "action": "warn"}]}
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", risk=risk), name="shared")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 1, p.stderr)
        m = POS.search(p.stderr)
        self.assertIsNotNone(m, p.stderr)
        self.assertIn("risk.lists[1].file: %s is risk.lists[0]'s file too: an admin change to one list would rewrite the "
                      "other's entries" % g.path(second_file), m.group("msg"))
        with open(g.config_path) as f:
            line = f.read().split("\n")[int(m.group("line")) - 1]
        self.assertTrue(line[int(m.group("col")) - 1:].startswith('"%s"' % second_file), m.group(0))

    def test_the_same_path(self):
        self.assert_refused("risk/x.txt")

    def test_a_link_to_it(self):
        os.makedirs(os.path.join(self.tmp, "risk"), exist_ok=True)
        with open(os.path.join(self.tmp, "risk", "x.txt"), "w") as f:
            f.write("evil.example\n")
        os.symlink("x.txt", os.path.join(self.tmp, "risk", "alias.txt"))
        self.assert_refused("risk/alias.txt")


class VolatileStateTest(GatewayTestCase):
    """What must outlive a restart — the consent records, the token keys, the audit log — on a file system in memory
    (/dev/shm, /run), gone at a reboot, or in /tmp under systemd, whose unit gives the service a /tmp of its own
    (PrivateTmp=yes), gone at every stop: it started and worked until then."""
    with_origin = False
    start_gateway = False

    @unittest.skipUnless(os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK), "no writable /dev/shm")
    def test_store_in_memory(self):
        shm = tempfile.mkdtemp(prefix="cg-it-volatile-", dir="/dev/shm")
        self.addCleanup(shutil.rmtree, shm, True)
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", store={"sqlite": os.path.join(shm, "consent.db")}))
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        said = "store.sqlite: %s/consent.db is on a file system in memory (%s): it is lost at a reboot" % (shm, shm)
        self.assertIn(said, p.stderr)
        self.assertNotIn("secrets_file: %s is on a file system in memory" % g.path("secrets.json"), p.stderr)
        g.start()
        g.stop_and_check()
        self.assertIn(said, g.error_log())

    def test_tmp_under_systemd(self):
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1"))
        g.write_config()
        env = harness.sanitizer_env(dict(os.environ, INVOCATION_ID="0123456789abcdef0123456789abcdef"))
        p = subprocess.run([harness.CG_BIN, "--check-config", "-c", g.config_path], capture_output=True, text=True, timeout=30,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        for key, name in (("store.sqlite", "consent.db"), ("secrets_file", "secrets.json"), ("channel.audit_log", "audit.log")):
            self.assertIn("%s: %s is in a temporary folder that systemd gives the service for its run (PrivateTmp=): it is "
                          "lost at every stop" % (key, g.path(name)), p.stderr)
        env.pop("INVOCATION_ID")
        p = subprocess.run([harness.CG_BIN, "--check-config", "-c", g.config_path], capture_output=True, text=True, timeout=30,
                           env=env)
        self.assertNotIn("PrivateTmp", p.stderr, "outside systemd /tmp is an ordinary folder")


class RegimeDefaultTest(GatewayTestCase):
    """A regimes.default of opt-out (the US's, say) with a table that does not name the EU, the EEA's three and the
    UK opt-in: their visitors got cookies until they refused, without a word (README, "Which regime where": such an
    operator names them)."""
    with_origin = False
    start_gateway = False

    def check(self, regimes):
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", admin=False, regimes=regimes), name="regimes")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def test_gdpr_visitors_left_to_the_default_are_said(self):
        self.assertIn("regimes: EU opt-out, IS opt-out, LI opt-out, NO opt-out, GB opt-out: visitors there are not asked "
                      "before optional cookies", self.check({"default": "opt-out", "by_country": {"CN": "opt-in"}}))
        self.assertIn("regimes: GB notice: visitors there",
                      self.check({"default": "opt-out", "by_country": {"EU": "opt-in", "IS": "opt-in", "LI": "opt-in",
                                                                       "NO": "opt-in", "GB": "notice"}}))

    def test_the_shipped_table_and_an_opt_in_default_are_not(self):
        with open(os.path.join(harness.REPO, "conf", "consentgate.json")) as f:
            shipped = json.load(f)["regimes"]
        self.assertNotIn("regimes:", self.check(dict(shipped, default="opt-out")))
        self.assertNotIn("regimes:", self.check({"default": "opt-in", "by_country": {"US": "opt-out"}}))


def mmdb_built(src, dst, epoch):
    """A copy of the MaxMind DB src with its metadata's build_epoch (a 4-byte uint64, as in the test databases) set"""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    at = data.index(b"build_epoch", data.rindex(b"\xab\xcd\xefMaxMind.com")) + len(b"build_epoch")
    assert data[at] == 0x04 and data[at + 1] == 0x02, "a uint64 of 4 bytes"  # (extended type 9 = 7 + 2, size 4)
    data[at + 2:at + 6] = int(epoch).to_bytes(4, "big")
    with open(dst, "wb") as f:
        f.write(data)


class StaleGeoDatabaseTest(GatewayTestCase):
    """A GeoIP database months old (geoipupdate's cron job gone, its licence key expired) started and placed moved
    address blocks in their old countries, without a word; MaxMind publishes weekly."""
    with_origin = False
    start_gateway = False

    def check(self, days_old):
        city = os.path.join(harness.REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb")
        mmdb_built(city, os.path.join(self.tmp, "geo.mmdb"), time.time() - days_old * 86400)
        g = Gateway(self.tmp, gateway_config("http://127.0.0.1:1", admin=False, geoip={"database": "geo.mmdb"}), name="geo")
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        return g, p.stderr

    def test_months_old_is_said(self):
        g, err = self.check(100)
        said = re.search(r"geoip\.database \S+geo\.mmdb was built on \d{4}-\d\d-\d\d, (\d+) days ago: addresses move between "
                         r"countries \(MaxMind publishes weekly; is geoipupdate running\?\)", err)
        self.assertIsNotNone(said, err)
        self.assertIn(said.group(1), ("99", "100"))
        g.start()
        g.stop_and_check()
        self.assertIn(said.group(0), g.error_log())

    def test_a_week_old_is_not(self):
        self.assertNotIn("days ago", self.check(7)[1])


class OverridePrefixTest(GatewayTestCase):
    """cookies.overrides' prefixes are looked up before every database entry, its exact names too: "_g*": "necessary",
    meant for a site's own _g_session, made Google Analytics' _ga and _gid necessary, set for a visitor who refused
    analytics, without a word."""
    start_gateway = False

    def test_a_prefix_that_takes_database_names_is_said(self):
        g = self.new_gateway("prefix", gateway_config(self.origin.url, cookies={"overrides": {"_g*": "necessary",
                                                                                            "_pk_*": "analytics"}}),
                             start=False)
        g.write_config()
        p = run_binary(["--check-config", "-c", g.config_path])
        self.assertEqual(p.returncode, 0, p.stderr)
        said = re.search(r'cookies\.overrides\."_g\*": takes (\d+) names the cookie database files under other categories '
                         r'\(_ga: analytics, \.\.\.\) as "necessary": an override prefix wins over the database\'s exact names '
                         r'too', p.stderr)
        self.assertIsNotNone(said, p.stderr)
        self.assertNotIn('"_pk_*"', p.stderr, "Matomo's names are analytics in the database too")
        g.start()
        self.assertIn(said.group(0), g.error_log())
        # (what it warns about: refused analytics, and _ga is set)
        r = curl(g.url("/__consent/api/consent"), method="POST", headers=["Content-Type: application/json"],
                 data=json.dumps({"all": False}))
        token = [v.split(";", 1)[0] for v in r.header_all("Set-Cookie") if v.startswith("cg_consent=")][0]
        r = curl(g.url("/__origin/set-cookie?c=_ga%3DGA1.1.1.1&c=_pk_id.1.abcd%3Dx"), cookie=token)
        self.assertEqual(sorted(v.split("=", 1)[0] for v in r.header_all("Set-Cookie")), ["_ga"])
        g.stop_and_check()
