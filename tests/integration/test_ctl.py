"""consentgate-ctl, the security team's CLI, against the real gateway's admin API."""

import os
import subprocess
import sys

from harness import ADMIN_TOKEN, GatewayTestCase

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
        self.assertIn("2 entries, 1 rejected lines", r.stdout)
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
        self.assertIn("scams", r.stdout)
        import harness
        self.assertIn(harness.ADMIN_TOKEN_NAME, r.stdout, "the audit names who made the change")

    def test_large_import_in_chunks_with_progress(self):
        src = os.path.join(self.tmp, "big.txt")
        with open(src, "w") as f:
            for i in range(60000):
                f.write("host-%06d.bad.example\n" % i)
        r = self.ctl("import", "scams", src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("100.0%", r.stderr)
        self.assertIn("60000 entries added", r.stdout)
        self.assertEqual(self.ctl("check", "host-059999.bad.example").returncode, 3)

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
