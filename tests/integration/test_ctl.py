"""consentgate-ctl, the security team's CLI, against the real gateway's admin API."""

import json
import os
import re
import subprocess
import sys
import urllib.parse

from harness import ADMIN_TOKEN, GatewayTestCase, curl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = os.path.join(ROOT, "gateway", "consentgate-ctl")


class CtlTest(GatewayTestCase):
    config = {"risk": {"lists": [{"name": "phishing", "file": "phishing.txt", "format": "domains", "action": "block"},
                                 {"name": "scams", "file": "scams.txt", "format": "domains", "action": "warn"}]}}

    def ctl(self, *args, token=True):
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % self.gw.admin_port)
        if token:
            env["CG_ADMIN_TOKEN"] = ADMIN_TOKEN
        else:
            env.pop("CG_ADMIN_TOKEN", None)
        return subprocess.run([sys.executable, CTL] + list(args), capture_output=True, text=True, env=env, timeout=120)

    def test_import_check_lists_audit(self):
        src = os.path.join(self.tmp, "phish-import.txt")
        with open(src, "w") as f:
            f.write("# from the feed\nlogin-bank.example\npaypa1.example\nnot valid!\n")
        r = self.ctl("import", "phishing", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"2 entries \(\d+ before\), 1 rejected lines")
        self.assertIn("rejected line 4", r.stderr)
        r = self.ctl("check", "https://www.paypa1.example/login")
        self.assertEqual(r.returncode, 4, r.stdout)
        self.assertIn("block (list phishing, matched paypa1.example)", r.stdout)
        self.assertEqual(self.ctl("check", "example.org").returncode, 0)
        self.assertEqual(self.ctl("add", "scams", "giveaway.example").returncode, 0)
        self.assertEqual(self.ctl("check", "giveaway.example").returncode, 3)
        r = self.ctl("lists")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"phishing\s+block\s+domains\s+2\s+")
        r = self.ctl("audit")
        self.assertIn("replace", r.stdout)
        self.assertRegex(r.stdout, r"replace\s+phishing\s+\d+ -> 2\s+2 entries", "a replace says the list's size before and after")
        self.assertRegex(r.stdout, r"edit\s+scams\s+\+1 -0\s+")
        self.assertIn("scams", r.stdout)
        import harness
        self.assertIn(harness.ADMIN_TOKEN_NAME, r.stdout, "the audit names who made the change")

    def test_hosts_lists_empty_files_and_url_like_targets(self):
        # a hosts list takes bare names from the command line; what it cannot take is said, and the exit says so
        self.gw.stop()
        self.gw.config["risk"]["lists"].append({"name": "hostsbl", "file": "hostsbl.txt", "format": "hosts", "action": "block"})
        self.gw.write_config()
        self.gw.start()
        try:
            self.assertEqual(self.ctl("add", "hostsbl", "newbad.example").returncode, 0)
            self.assertEqual(self.ctl("check", "newbad.example").returncode, 4)
            r = self.ctl("remove", "hostsbl", "newbad.example", "never.example", "bad host!")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("1 removed, 1 not found, 1 rejected", r.stdout)
            self.assertIn("rejected: bad host!", r.stderr)
            # README: add/remove name each item the list rejected or did not hold
            self.assertIn("not found: never.example", r.stderr)
            self.assertNotIn("not found: newbad.example", r.stderr)
            self.assertEqual(self.ctl("check", "newbad.example").returncode, 0)
            # an empty file does not empty a list with entries unless asked to
            self.assertEqual(self.ctl("add", "hostsbl", "keep.example").returncode, 0)
            empty = os.path.join(self.tmp, "empty.txt")
            open(empty, "w").close()
            r = self.ctl("import", "hostsbl", empty)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no entries: the 1 in force stay", r.stderr)
            self.assertEqual(self.ctl("check", "keep.example").returncode, 4)
            self.assertEqual(self.ctl("import", "hostsbl", empty, "--allow-empty").returncode, 0)
            self.assertEqual(self.ctl("check", "keep.example").returncode, 0)
            # a URL typed without its scheme is checked as one
            self.assertEqual(self.ctl("add", "phishing", "paths-too.example").returncode, 0)
            self.assertEqual(self.ctl("check", "paths-too.example/login").returncode, 4)
            self.assertEqual(self.ctl("check", "paths-too.example:8443").returncode, 4)
        finally:
            self.gw.stop()
            self.gw.config["risk"]["lists"].pop()
            self.gw.write_config()
            self.gw.start()

    def test_large_import_in_chunks_with_progress(self):
        src = os.path.join(self.tmp, "big.txt")
        with open(src, "w") as f:
            for i in range(60000):
                f.write("host-%06d.bad.example\n" % i)
            for i in range(15000):  # long lines: a chunk is counted in bytes (20,000 such lines were over 1 MiB)
                f.write("very-long-subdomain-label-for-a-url-list-entry-%06d.bad.example\n" % i)
        r = self.ctl("import", "scams", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("100.0%", r.stderr)
        # stderr is not a terminal here: a line per chunk, without the bar's carriage returns (a cron mail of one long line)
        self.assertNotIn("\r", r.stderr)
        self.assertRegex(r.stderr, r"(?m)^100\.0%  75000/75000 lines$")
        self.assertGreater(len(re.findall(r"(?m)^ *\d+\.\d%  \d+/75000 lines$", r.stderr)), 1)
        self.assertIn("75000 entries added", r.stdout)
        self.assertEqual(self.ctl("check", "host-059999.bad.example").returncode, 3)

    def test_admin_405_says_which_method(self):
        # RFC 9110: a 405 names the methods the resource takes (Allow), as the public endpoints' 405s did
        from harness import curl
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        for method, path, allow in (("POST", "/admin/lists", "GET, HEAD"), ("DELETE", "/admin/audit", "GET, HEAD"),
                                    ("DELETE", "/admin/lists/phishing", "PUT"), ("POST", "/admin/lists/phishing", "PUT"),
                                    ("PUT", "/admin/lists/phishing/entries", "POST"), ("GET", "/admin/lists/phishing/entries", "POST")):
            r = curl(self.gw.admin_url(path), method=method, headers=auth)
            self.assertEqual((r.status, r.header("Allow")), (405, allow), (method, path, r.text))
            self.assertEqual(r.json(), {"error": "method_not_allowed", "detail": "this endpoint takes " + allow})
        r = curl(self.gw.admin_url("/admin/nosuch"), method="POST", headers=auth)
        self.assertEqual((r.status, r.header("Allow")), (404, None))

    def report(self, document_uri, blocked_uri):
        """a CSP report, as a browser POSTs it, until the CLI lists the host it names"""
        import harness
        report = {"csp-report": {"document-uri": document_uri, "blocked-uri": blocked_uri,
                                 "violated-directive": "script-src-elem"}}
        r = harness.curl(self.gw.url("/__consent/report"), method="POST", data=json.dumps(report),
                         headers=["Content-Type: application/csp-report", "Host: shop.example"])
        self.assertEqual(r.status, 204, r.text)
        host = urllib.parse.urlsplit(blocked_uri).hostname or "(inline)"
        self.assertTrue(harness.wait_until(lambda: host in self.ctl("injections").stdout, 5))

    def test_injections(self):
        # the security team reads what the pages' CSP blocked from the CLI too, not only from GET /admin/injections
        for blocked in ("https://ads.injector.example/a.js", "https://ads.injector.example/b.js", "inline"):
            self.report("https://shop.example/cart", blocked)
        r = self.ctl("injections", "--recent", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^\s+2  ads\.injector\.example$")
        self.assertRegex(r.stdout, r"(?m)^\s+1  \(inline\)$")
        recent = [l for l in r.stdout.splitlines() if " on https://shop.example/cart" in l]
        self.assertEqual(len(recent), 2, r.stdout)
        self.assertIn("script-src-elem", recent[0])

    def test_injections_printed_inert(self):
        # a report is anyone's to send: a terminal's controls in it (C1 CSI, DEL, a right-to-left override) reached the
        # operator's terminal as they came, to clear it, recolour it or show a host name backwards
        self.report("https://shop.example/x\u009b2J\u009b31m\u007f\u202egro.elpmaxe", "https://tty.injector.example/\u009b2J.js")
        r = self.ctl("injections", "--recent", "100")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tty.injector.example", r.stdout)
        self.assertEqual([c for c in r.stdout if not (c.isprintable() or c == "\n")], [], r.stdout)
        self.assertIn("\\u009b2J\\u009b31m\\u007f\\u202egro.elpmaxe", r.stdout)

    def test_help_describes_every_option(self):
        # argparse listed "--admin ADMIN" and "--token-file TOKEN_FILE" without a word, and each command's arguments bare
        r = self.ctl("--help")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"--admin URL\s+the gateway's admin listener \(default: \$CG_ADMIN")
        self.assertRegex(r.stdout, r"--token-file FILE\s+an admin tokens file")
        r = self.ctl("check", "--help")
        self.assertRegex(r.stdout, r"URL\|HOST\s+a URL, a host, or a URL without its scheme")
        r = self.ctl("add", "--help")
        self.assertRegex(r.stdout, r"NAME\s+a risk list of the gateway's configuration")
        # a count that is not one is a usage error, not every line (--tail 0) or all but the first N (--tail -3)
        for n in ("0", "-3", "x"):
            r = self.ctl("audit", "--tail", n)
            self.assertEqual(r.returncode, 2, (n, r.stdout))
            self.assertIn("--tail: must be a number of at least 1", r.stderr)

    def test_token_only_to_the_admin_listener(self):
        # --admin on the public listener's port: the request, bearer token and all, was proxied to the origin
        r = self.ctl("--admin", "http://127.0.0.1:%d" % self.gw.port, "add", "phishing", "x.example")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("consentgate-ctl: http://127.0.0.1:%d is not consentgate's admin listener (without a token it answered 404, "
                      "not 401 Bearer realm=\"consentgate-admin\"); the token was not sent" % self.gw.port, r.stderr)
        self.origin.assert_reached("/admin/lists")  # the look without a token
        for e in self.origin.requests():
            self.assertEqual(self.origin.header(e, "Authorization"), [], e)
        self.origin.assert_not_reached("/admin/lists/phishing/entries")

    def test_import_under_a_small_body_limit(self):
        # proxy.max_request_body (the admin listener's limit too) below the CLI's ~900 KB requests: every import over it
        # failed with 413; now the chunks are halved until they pass
        from harness import gateway_config
        g = self.new_gateway("small-bodies", gateway_config(self.origin.url, proxy={"max_request_body": 16384},
                                                            risk={"lists": [{"name": "feed", "file": "feed.txt", "format": "domains",
                                                                             "action": "block"}]}))
        src = os.path.join(self.tmp, "feed-100k.txt")
        with open(src, "w") as f:
            for i in range(5000):
                f.write("feed-%05d.bad.example\n" % i)
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % g.admin_port, CG_ADMIN_TOKEN=ADMIN_TOKEN)
        r = subprocess.run([sys.executable, CTL, "import", "feed", src], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("feed: 5000 entries added, 0 rejected, 5000 entries now", r.stdout)
        self.assertIn("100.0%  5000/5000 lines", r.stderr)
        r = subprocess.run([sys.executable, CTL, "check", "feed-04999.bad.example"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 4, r.stdout)
        # an edit over the limit: said, no traceback
        r = subprocess.run([sys.executable, CTL, "add", "feed"] + ["big-%05d.bad.example" % i for i in range(1000)],
                           capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("consentgate-ctl: add: 413: the request is larger than the gateway's proxy.max_request_body", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        g.stop_and_check()

    def test_refused_tokens_are_logged(self):
        # a token given and unknown (an old one still in a script, someone guessing) was a 403 and nothing more: the
        # security team's to see, with where from and never the token; at most a line a second
        import time
        from harness import curl, gateway_config
        g = self.new_gateway("refused-tokens", gateway_config(self.origin.url, threads=1))
        for _ in range(3):
            r = curl(g.admin_url("/admin/lists?x=1"), headers=["Authorization: Bearer guessed-0123456789abcdef"])
            self.assertEqual(r.status, 403)
        self.assertEqual(curl(g.admin_url("/admin/lists")).status, 401)  # no token: a look (consentgate-ctl's), not logged
        log = g.error_log()
        self.assertEqual(log.count("admin API: refused"), 1, log)
        self.assertIn("[warn] admin API: refused a request with an unknown token from 127.0.0.1 (GET /admin/lists)\n", log)
        self.assertNotIn("guessed", log)
        time.sleep(1.1)
        curl(g.admin_url("/admin/audit"), headers=["Authorization: Bearer guessed-again-0123456789"])
        self.assertIn("unknown token from 127.0.0.1 (GET /admin/audit); 2 more since the last such line", g.error_log())
        g.stop_and_check()

    def long_audit_gateway(self, name):
        """a gateway whose audit log has 3,000 lines (~690 KB: more than a pipe holds, and than one 64 KiB block)"""
        from harness import gateway_config
        cfg = gateway_config(self.origin.url, risk={"lists": [{"name": "scams", "file": "scams.txt", "format": "domains",
                                                               "action": "warn"}]})
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "audit.log"), "w") as f:
            for i in range(1, 3001):
                f.write(json.dumps({"time_ms": 1700000000000 + i, "who": "ci", "action": "edit", "list": "scams", "added": 1,
                                    "removed": 0, "entries_before": i - 1, "entries": i, "version": i, "add": ["x%d.example" % i],
                                    "remove": []}) + "\n")
        return self.new_gateway(name, cfg)

    def test_audit_tail_reads_the_end(self):
        # `audit --tail N` fetched the whole log and dropped all but N lines; ?tail=N reads the file from its end
        g = self.long_audit_gateway("tail-audit")
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        whole = curl(g.admin_url("/admin/audit"), headers=auth).text.splitlines(keepends=True)
        self.assertEqual(len(whole), 3000)
        for n in (1, 2, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 700, 2999, 3000, 3001, 1000000):
            r = curl(g.admin_url("/admin/audit?tail=%d" % n), headers=auth)
            self.assertEqual(r.status, 200, r.text)
            self.assertEqual(r.text, "".join(whole[-n:]), n)
        for bad in ("0", "-1", "x", "1000001", "", "2x", "99999999999999999999999"):
            r = curl(g.admin_url("/admin/audit?tail=" + bad), headers=auth)
            self.assertEqual((r.status, r.json()["error"]), (400, "bad_tail"), bad)
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % g.admin_port, CG_ADMIN_TOKEN=ADMIN_TOKEN)
        r = subprocess.run([sys.executable, CTL, "audit", "--tail", "2"], capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([l.split()[-1] for l in r.stdout.splitlines()], ["v2999", "v3000"])
        g.stop_and_check()

    def test_output_cut_short_by_its_reader(self):
        # `consentgate-ctl audit | head`: the reader closes the pipe, and the CLI printed a BrokenPipeError traceback
        g = self.long_audit_gateway("long-audit")
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % g.admin_port, CG_ADMIN_TOKEN=ADMIN_TOKEN)
        p = subprocess.Popen([sys.executable, CTL, "audit"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.assertTrue(p.stdout.readline())
        p.stdout.close()
        err = p.stderr.read().decode()
        p.wait(30)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("BrokenPipeError", err)
        g.stop_and_check()

    def test_errors(self):
        r = self.ctl("lists", token=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("CG_ADMIN_TOKEN", r.stderr)
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % self.gw.admin_port, CG_ADMIN_TOKEN="wrong")
        r = subprocess.run([sys.executable, CTL, "lists"], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused the token", r.stderr)
        r = self.ctl("import", "nosuch", os.path.join(ROOT, "README.md"))
        self.assertEqual(r.returncode, 1)
        # usage and connection errors: exit 2 with a message, never a traceback
        for args in (["--token-file", "/nonexistent/tokens", "lists"], ["import", "scams", "/nonexistent/list.txt"],
                     ["--admin", "http://127.0.0.1:99999", "lists"], ["--admin", "https://127.0.0.1:1", "lists"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertNotIn("Traceback", r.stderr)
            self.assertTrue(r.stderr.startswith("consentgate-ctl: "), r.stderr)
