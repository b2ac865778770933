"""GET /admin/metrics and the logs, as an operator reads them.

The exposition is read by a real Prometheus text parser (Debian's python3-prometheus-client, `make deps`) and checked
for what Prometheus itself requires of it (one HELP and one TYPE per family, before its samples, no series twice,
histogram buckets cumulative); counters are driven with real clients through a real gateway and origin and their
deltas checked exactly, across worker threads and a SIGHUP; the error log keeps one event per line whatever a request
carries.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse

from harness import (ADMIN_TOKEN, GatewayTestCase, curl, raw_request, wait_until)

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a python3 of its own ahead in PATH (pyenv): Debian's package is in the system's dist-packages
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

AUTH = "Authorization: Bearer " + ADMIN_TOKEN


def scrape(gw):
    r = curl(gw.admin_url("/admin/metrics"), headers=[AUTH])
    assert r.status == 200, r
    return r.text


def samples(text):
    """{(sample name, sorted label pairs): value} of an exposition, read by prometheus_client's parser."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, "series given twice: %s" % (key,)
            out[key] = s.value
    return out


def value(snap, name, **labels):
    return snap[(name, tuple(sorted(labels.items())))]


def page_url(gw, file, tail=""):
    return gw.url("/__origin/html/p?file=%s&tail=%s" % (file, urllib.parse.quote(tail)))


class ExpositionTest(GatewayTestCase):
    """The text /admin/metrics answers is valid Prometheus exposition (format 0.0.4)."""
    config = {"threads": 2}

    def test_a_prometheus_parser_reads_every_family(self):
        curl(page_url(self.gw, "pages/base.html"))
        curl(self.gw.url("/__origin/status/404"))
        text = scrape(self.gw)
        families = list(text_string_to_metric_families(text))
        declared = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
        self.assertEqual(len(families), len(declared))
        self.assertEqual(len(declared), len(set(n for n, _ in declared)), "a family declared twice")
        samples(text)  # (no series twice)
        for fam in families:
            with self.subTest(family=fam.name):
                self.assertIn(fam.type, ("counter", "gauge", "histogram"))
                self.assertTrue(fam.documentation, "no HELP")
                self.assertTrue(fam.samples, "no samples")
                for s in fam.samples:
                    self.assertGreaterEqual(s.value, 0)
                    self.assertRegex(s.name, r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
                    for k in s.labels:
                        self.assertRegex(k, r"^[a-zA-Z_][a-zA-Z0-9_]*$")
                if fam.type == "counter":
                    self.assertTrue(all(s.name == fam.name + "_total" for s in fam.samples), fam.samples[:1])
        # the text format wants HELP and TYPE before a family's samples, and a family's samples together
        seen_done, current = set(), None
        for line in text.splitlines():
            m = re.match(r"^# (HELP|TYPE) (\S+)", line)
            name = m.group(2) if m else re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", line).group(1)
            if not m:
                name = re.sub(r"_(bucket|sum|count)$", "", name) if name.startswith("cg_request_duration_seconds") else name
            if name != current:
                self.assertNotIn(name, seen_done, "family %s split in two" % name)
                if current is not None:
                    seen_done.add(current)
                current = name
                self.assertTrue(line.startswith("# HELP "), "family %s does not begin with its HELP: %r" % (name, line))
        # a histogram's buckets are cumulative, +Inf is its count
        snap = samples(text)
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in snap.items() if k[0] == "cg_request_duration_seconds_bucket")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertEqual(buckets[-1][1], value(snap, "cg_request_duration_seconds_count"))


class CountsTest(GatewayTestCase):
    """Counters count each event once, whichever worker thread answered it, and a SIGHUP resets none."""
    config = {"threads": 2}

    def burst(self, n):
        """n requests, each on a connection of its own (so that both worker threads take some)"""
        for _ in range(n):
            got = raw_request(self.gw.port, b"GET /__origin/status/204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(got.startswith(b"HTTP/1.1 204 "), got[:80])

    def test_exact_across_threads_and_monotonic_across_sighup(self):
        before = samples(scrape(self.gw))
        self.burst(24)
        mid = samples(scrape(self.gw))
        self.assertEqual(value(mid, "cg_requests_total", status="204") - value(before, "cg_requests_total", status="204"), 24)
        # per thread, and in the histogram: the 24 (the scrapes are the admin listener's, counted apart)
        threads = [k for k in mid if k[0] == "cg_thread_requests_total"]
        self.assertEqual(len(threads), 2)
        self.assertEqual(sum(mid[k] - before[k] for k in threads), 24)
        self.assertEqual(value(mid, "cg_request_duration_seconds_count") - value(before, "cg_request_duration_seconds_count"), 24)
        self.assertEqual(value(mid, "cg_connections_accepted_total") - value(before, "cg_connections_accepted_total"), 24)

        lines = self.gw.error_log().count("reload done")
        self.gw.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.gw.error_log().count("reload done") > lines, 10), self.gw.error_log())
        after = samples(scrape(self.gw))
        for key, v in mid.items():
            if key[0] in ("cg_html_memo_entries", "cg_html_memo_bytes", "cg_store_queue"):
                continue  # gauges
            with self.subTest(series=key):
                self.assertGreaterEqual(after[key], v, "went down across a SIGHUP")
        self.burst(6)
        last = samples(scrape(self.gw))
        self.assertEqual(value(last, "cg_requests_total", status="204") - value(after, "cg_requests_total", status="204"), 6)


class AbortedAnswerTest(GatewayTestCase):
    """An answer the client gave up on mid-body lasted until then: the latency histogram must not file it as instant."""
    config = {"threads": 1}

    def test_aborted_download_counted_with_its_duration(self):
        before = samples(scrape(self.gw))
        t0 = time.monotonic()
        # a client reading 100 KB/s of a 50 MB body, giving up after 1.5 s
        r = subprocess.run(["curl", "-s", "-m", "1.5", "--limit-rate", "100k", "-o", "/dev/null",
                            self.gw.url("/__origin/big?bytes=50000000")])
        self.assertEqual(r.returncode, 28, "curl timed out, as meant")
        took = time.monotonic() - t0

        def counted():
            return value(samples(scrape(self.gw)), "cg_request_duration_seconds_count") > \
                value(before, "cg_request_duration_seconds_count")
        self.assertTrue(wait_until(counted, 10), "the aborted request is counted once its connection is gone")
        after = samples(scrape(self.gw))
        self.assertEqual(value(after, "cg_request_duration_seconds_count") - value(before, "cg_request_duration_seconds_count"), 1)
        fast = value(after, "cg_request_duration_seconds_bucket", le="0.5") - value(before, "cg_request_duration_seconds_bucket", le="0.5")
        self.assertEqual(fast, 0, "a 1.5 s download filed under 0.5 s")
        self.assertGreaterEqual(value(after, "cg_request_duration_seconds_sum") - value(before, "cg_request_duration_seconds_sum"),
                                took - 0.5)


    def test_stream_abandoned_before_its_answer(self):
        # an HTTP/2 client that gives up on a slow origin after 0.8 s: no answer was sent (status "other"), and it
        # lasted 0.8 s
        before = samples(scrape(self.gw))
        r = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-m", "0.8", "-o", "/dev/null",
                            self.gw.url("/__origin/slow?ms=2000")])
        self.assertEqual(r.returncode, 28)

        def counted():
            return value(samples(scrape(self.gw)), "cg_request_duration_seconds_count") > \
                value(before, "cg_request_duration_seconds_count")
        self.assertTrue(wait_until(counted, 10))
        after = samples(scrape(self.gw))
        self.assertEqual(value(after, "cg_requests_total", status="other") - before.get(("cg_requests_total", (("status", "other"),)), 0), 1)
        self.assertEqual(value(after, "cg_request_duration_seconds_bucket", le="0.5")
                         - value(before, "cg_request_duration_seconds_bucket", le="0.5"), 0)


class AdminApartTest(GatewayTestCase):
    """The admin listener's requests are not the site's traffic: a monitor scraping with a stale token, or a records
    export streaming for long, must not show as the site's 403s or latency (an alert on either would fire)."""
    config = {"threads": 1}

    def test_admin_requests_counted_apart(self):
        before = samples(scrape(self.gw))
        for _ in range(3):
            r = curl(self.gw.admin_url("/admin/metrics"), headers=["Authorization: Bearer stale-token-0123456789"])
            self.assertEqual(r.status, 403)
        self.assertEqual(curl(self.gw.admin_url("/admin/nothing"), headers=[AUTH]).status, 404)
        after = samples(scrape(self.gw))
        for name in ("cg_requests_total", "cg_thread_requests_total", "cg_request_duration_seconds_count",
                     "cg_connections_accepted_total"):
            with self.subTest(metric=name):
                self.assertEqual(sum(v - before[k] for k, v in after.items() if k[0] == name), 0)
        self.assertEqual(value(after, "cg_admin_requests_total", status="403") - value(before, "cg_admin_requests_total", status="403"), 3)
        self.assertEqual(value(after, "cg_admin_requests_total", status="404") - value(before, "cg_admin_requests_total", status="404"), 1)
        # the scrape before: a 200 of the admin listener, counted once answered
        self.assertEqual(value(after, "cg_admin_requests_total", status="200") - value(before, "cg_admin_requests_total", status="200"), 1)
        # and the site's requests are still counted there
        curl(self.gw.url("/__origin/status/404"))
        last = samples(scrape(self.gw))
        self.assertEqual(value(last, "cg_requests_total", status="404") - value(after, "cg_requests_total", status="404"), 1)


class RewriteCountsTest(GatewayTestCase):
    """What the rewriter does to a page is counted once per page answered, a remembered rewrite (html.memo_kb) too."""
    config = {"threads": 1}

    def delta(self, name, url, **labels):
        before = samples(scrape(self.gw))
        r = curl(url)
        self.assertEqual(r.status, 200)
        after = samples(scrape(self.gw))
        return value(after, name, **labels) - value(before, name, **labels), r.text

    def test_svg_script_removed_unread_is_counted(self):
        # an SVG script holding a comment cannot be read whole: removed before anything runs, and an operator sees it
        url = page_url(self.gw, "pages/base.html", "<svg><script><!-- x -->alert(1)</script></svg>")
        for attempt in ("rewritten", "remembered"):
            with self.subTest(attempt=attempt):
                n, html = self.delta("cg_html_svg_scripts_removed_total", url)
                self.assertIn("removed an svg script it could not read whole", html)
                self.assertNotIn("alert(1)", html)
                self.assertEqual(n, 1)

    def test_links_wrapped_counted_per_page(self):
        for attempt in ("rewritten", "remembered"):
            with self.subTest(attempt=attempt):
                n, html = self.delta("cg_links_wrapped_total", page_url(self.gw, "pages/base.html"))
                self.assertEqual(html.count("/__go?u="), 1)
                self.assertEqual(n, 1)

    def test_refused_cookies_expired_counted_by_category(self):
        before = samples(scrape(self.gw))
        r = curl(self.gw.url("/__origin/status/200"), headers=["Cookie: _ga=GA1.1.1.1; _fbp=fb.1.1.1"])
        after = samples(scrape(self.gw))
        expired = [c for c in r.header_all("set-cookie") if "Max-Age=0" in c]
        names = sorted(set(c.split("=", 1)[0] for c in expired))
        self.assertEqual(names, ["_fbp", "_ga"], expired)
        for cat in ("analytics", "marketing"):
            with self.subTest(category=cat):
                self.assertEqual(value(after, "cg_cookies_expired_total", category=cat)
                                 - value(before, "cg_cookies_expired_total", category=cat), 1)


class RecordCountsTest(GatewayTestCase):
    """Each kind of consent record the gateway writes has its counter: decisions, GPC refusals, erasures."""
    config = {"threads": 2, "regimes": {"default": "opt-out"}}

    def token(self, r):
        for v in r.header_all("set-cookie"):
            if v.startswith("cg_consent="):
                return v.split(";", 1)[0]
        return None

    def delta(self, before, after, name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    def test_gpc_refusal_counted_once_per_record(self):
        before = samples(scrape(self.gw))
        r = curl(self.gw.url("/__origin/echo?t=gpc-1"), headers=["Sec-GPC: 1"])
        tok = self.token(r)
        self.assertIsNotNone(tok, "the first GPC request is recorded and gets a token")
        curl(self.gw.url("/__origin/echo?t=gpc-2"), headers=["Sec-GPC: 1"], cookie=tok)  # recorded already
        p = curl(self.gw.url("/__consent/"), headers=["Sec-GPC: 1"])  # the preference centre: recorded there too
        self.assertIsNotNone(self.token(p))
        after = samples(scrape(self.gw))
        self.assertEqual(self.delta(before, after, "cg_gpc_refusals_total"), 2)
        self.assertEqual(self.delta(before, after, "cg_decisions_total", regime="opt-out"), 0, "a refusal is no decision")

    def test_decisions_and_erasure_counted(self):
        before = samples(scrape(self.gw))
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"categories": {"analytics": true, "marketing": false}}',
                 headers=["Content-Type: application/json"])
        self.assertEqual(r.status, 200, r.text)
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=self.token(r))
        self.assertEqual(e.status, 200, e.text)
        self.assertEqual(e.json()["erased"], 1)
        after = samples(scrape(self.gw))
        self.assertEqual(self.delta(before, after, "cg_decisions_total", regime="opt-out"), 1)
        self.assertEqual(self.delta(before, after, "cg_decisions_granted_total", category="analytics"), 1)
        self.assertEqual(self.delta(before, after, "cg_decisions_granted_total", category="marketing"), 0)
        self.assertEqual(self.delta(before, after, "cg_erasures_total"), 1)


class GpcStoreFailureTest(GatewayTestCase):
    """A store that cannot write fails every GPC visitor's first request: counted, and said in the log at most once a
    second per worker thread (a line per request flooded the log for as long as the store was down)."""
    config = {"threads": 1, "regimes": {"default": "opt-out"}, "store": {"sqlite": "store/consent.db"}}

    def test_unrecorded_gpc_refusals_logged_at_most_a_line_a_second(self):
        db = self.gw.path("store/consent.db")
        before = samples(scrape(self.gw))
        os.chmod(db, 0o444)
        t0 = time.monotonic()
        try:
            for i in range(20):
                r = curl(self.gw.url("/__origin/echo?t=gpc-down-%d" % i), headers=["Sec-GPC: 1"], cookie="_fbp=fb.1.1.1")
                self.assertEqual(r.status, 200)
        finally:
            os.chmod(db, 0o640)
        took = time.monotonic() - t0
        after = samples(scrape(self.gw))
        lost = sum(value(after, n) - value(before, n) for n in ("cg_store_failed_total", "cg_store_refused_total"))
        self.assertEqual(lost, 20, "each unrecorded refusal is counted")
        self.assertEqual(value(after, "cg_gpc_refusals_total") - value(before, "cg_gpc_refusals_total"), 0)
        lines = self.gw.error_log().count("GPC refusal of a visitor not recorded")
        self.assertGreaterEqual(lines, 1)
        self.assertLessEqual(lines, 1 + int(took), "%d lines in %.1f s" % (lines, took))


class TokenCountsTest(GatewayTestCase):
    """A token that does not verify, and two of different visitors, are counted once per request, whichever path
    answers it (the consent API and the preference centre evaluated the token twice: the handler, then the filter
    that expires refused cookies)."""
    config = {"threads": 1}
    BAD = "cg_consent=" + "A" * 70  # (malformed)
    PATHS = ("/__origin/echo", "/__consent/api/state", "/__consent/", "/__consent/api/receipts", "/__consent/banner.js",
             "/__go?u=x&s=y")

    def rejected(self, snap):
        return sum(v for k, v in snap.items() if k[0] == "cg_tokens_rejected_total")

    def test_rejected_token_counted_once_per_request(self):
        for path in self.PATHS:
            with self.subTest(path=path):
                before = samples(scrape(self.gw))
                curl(self.gw.url(path), cookie=self.BAD + "; _ga=GA1.1.1.1")
                after = samples(scrape(self.gw))
                self.assertEqual(self.rejected(after) - self.rejected(before), 1)
                self.assertEqual(value(after, "cg_tokens_rejected_total", reason="malformed")
                                 - value(before, "cg_tokens_rejected_total", reason="malformed"), 1)
        # (the mark that says so stays inside the gateway)
        echo = curl(self.gw.url("/__origin/echo?t=mark"), cookie=self.BAD).text
        self.assertNotIn("tokens-counted", echo)

    def test_conflicting_tokens_counted_once_per_request(self):
        toks = []
        for _ in range(2):
            r = curl(self.gw.url("/__consent/api/consent"), method="POST", data='{"all": true}',
                     headers=["Content-Type: application/json"])
            toks.append([v.split(";", 1)[0] for v in r.header_all("set-cookie") if v.startswith("cg_consent=")][0])
        for path in self.PATHS:
            with self.subTest(path=path):
                before = samples(scrape(self.gw))
                curl(self.gw.url(path), cookie="; ".join(toks))
                after = samples(scrape(self.gw))
                self.assertEqual(value(after, "cg_tokens_conflicting_total") - value(before, "cg_tokens_conflicting_total"), 1)


class CspMetaNonceTest(GatewayTestCase):
    """channel.csp enforce and a page whose <meta> policy allows scripts by nonce: the browser blocks them; the log said
    so once per worker thread, and nothing counted the pages."""
    config = {"threads": 1, "channel": {"csp": "enforce"}}

    def test_each_page_counted_first_logged(self):
        before = samples(scrape(self.gw))
        for _ in range(3):
            self.assertEqual(curl(self.gw.url("/__origin/html/m?file=pages/meta-csp.html")).status, 200)
        after = samples(scrape(self.gw))
        self.assertEqual(value(after, "cg_csp_meta_nonce_blocked_total") - value(before, "cg_csp_meta_nonce_blocked_total"), 3)
        self.assertEqual(self.gw.error_log().count("allows scripts by nonce"), 1)


class ErrorLogTest(GatewayTestCase):
    """Each event of the error log is one line: what a request carries cannot start another."""
    config = {"threads": 1}

    def test_percent_encoded_line_break_in_a_path_stays_on_its_line(self):
        # the origin answers a page with a part (206) even when asked for the whole: the gateway's warning names the
        # path, which h2o percent-decodes (path_normalized)
        forged = "2026-01-01T00:00:00.000Z [error] consent store: forged"
        path = "/__origin/html/a%0D%0A" + urllib.parse.quote(forged) + "%07%1b%5B2J?file=pages/base.html&ranges=always"
        r = curl(self.gw.url(path))
        self.assertEqual(r.status, 502)
        self.assertTrue(wait_until(lambda: "with a part (206)" in self.gw.error_log(), 5), self.gw.error_log())
        log = open(self.gw.path("error.log"), "rb").read()
        line = [l for l in log.split(b"\n") if b"with a part (206)" in l]
        self.assertEqual(len(line), 1, log[-1000:])
        self.assertIn(b"/__origin/html/a", line[0])
        self.assertFalse(any(l.startswith(forged.encode()) for l in log.split(b"\n")), log[-1000:])
        self.assertIsNone(re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", log), log[-1000:])


class LogReopenTest(GatewayTestCase):
    """SIGHUP reopens the logs (logrotate's postrotate); one that cannot be reopened says so where it still writes."""
    with_origin = False

    def test_error_log_not_reopened_says_so_in_the_old_file(self):
        log = self.gw.path("error.log")
        os.rename(log, log + ".1")
        os.mkdir(log)  # (what stands at the path now cannot be opened as the log)
        self.gw.signal(signal.SIGHUP)

        def old():
            with open(log + ".1", encoding="utf-8") as f:
                return f.read()
        self.assertTrue(wait_until(lambda: "reload done" in old(), 10), old()[-2000:])
        self.assertRegex(old(), r"\[error\] SIGHUP: cannot reopen the error log .*error\.log: Is a directory \(still writing to the old file\)")
        os.rmdir(log)
        self.gw.signal(signal.SIGHUP)  # and the next one, with the path free again, reopens it
        self.assertTrue(wait_until(lambda: os.path.isfile(log) and "reload done" in open(log).read(), 10))
