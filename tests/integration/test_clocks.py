"""The wall clock stepping backwards or forwards under a running gateway (an NTP step, a VM resumed from a snapshot, a
wrong clock at boot corrected later), with the real gateway and a real SQLite store. tests/integration/clock_shift.c
(LD_PRELOAD) shifts the gateway's wall clock (clock_gettime(CLOCK_REALTIME), gettimeofday, time) by the seconds the
test writes to a file; the monotonic clocks are left alone, as a real step leaves them."""

import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

from harness import ADMIN_TOKEN, GatewayTestCase, curl, gateway_config, metric, run_binary, wait_until
import harness

DAY = 86400


def post(gw, body, cookie=None):
    return curl(gw.url("/__consent/api/consent"), method="POST", data=json.dumps(body),
                headers=["Content-Type: application/json"], cookie=cookie)


def token(resp):
    for v in resp.header_all("Set-Cookie"):
        if v.startswith("cg_consent="):
            return v.split(";", 1)[0]
    return None


def receipts(db_path):
    db = sqlite3.connect(db_path)
    out = [r[0] for r in db.execute("SELECT receipt FROM records ORDER BY seq")]
    db.close()
    return out


class ClockTestCase(GatewayTestCase):
    """Gateways started with the clock shim; self.step(seconds) sets the shift of every one of them."""
    start_gateway = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = os.path.join(cls.tmp, "clock_shift.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", cls.shim,
                        os.path.join(harness.REPO, "tests/integration/clock_shift.c"), "-ldl"],
                       check=True, capture_output=True, timeout=60)
        cls.clock_file = os.path.join(cls.tmp, "clock-shift")

    def setUp(self):
        self.step(0)

    def step(self, seconds):
        tmp = self.clock_file + ".new"
        with open(tmp, "w") as f:
            f.write("%d\n" % seconds)
        os.replace(tmp, self.clock_file)  # (the shim reads it at every call: never half written)

    def gateway(self, name, env=None, **config):
        g = self.new_gateway(name, gateway_config(self.origin.url, **config), start=False)
        g.env = dict(env or {}, LD_PRELOAD=self.shim, CG_TEST_CLOCK_FILE=self.clock_file,
                     ASAN_OPTIONS=harness.sanitizer_env()["ASAN_OPTIONS"] + ":verify_asan_link_order=0")
        return g.start()

    def verify(self, g):
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)


class RetentionClockTest(ClockTestCase):
    """store.retention_days under a clock that was wrong for a while."""

    def test_records_stamped_by_a_clock_behind_do_not_take_newer_ones_with_them(self):
        # A machine that boots with its clock years behind (a dead RTC battery, a VM restored from an old snapshot)
        # and is corrected by NTP a minute later stamps that minute's records with the old time. The purge deleted
        # every record up to the last one stamped too old, by its place in the chain: the consents of the last 30
        # days, each still in force, went with them.
        g = self.gateway("behind", store={"sqlite": "consent.db", "retention_days": 30},
                         policy={"consent_max_age_days": 30})
        kept = [post(g, {"all": True}).json()["receipt"] for _ in range(3)]
        self.step(-400 * DAY)
        kept.append(post(g, {"all": False}).json()["receipt"])
        self.step(0)
        kept.append(post(g, {"all": True}).json()["receipt"])
        g.stop_and_check()
        g.start()  # the writer purges at start
        kept.append(post(g, {"all": True}).json()["receipt"])  # answered after that purge
        self.assertEqual(receipts(g.path("consent.db")), kept)
        self.assertNotIn("purged", g.error_log())
        g.stop_and_check()
        self.verify(g)

    def test_the_purge_goes_on_after_the_clock_stepped_back(self):
        # The purge was due when the wall clock had moved an interval past the last one's time: a gateway started with
        # its clock 2 days ahead, then set right by NTP, purged nothing for those 2 days and an hour (a clock a year
        # ahead at boot: a year). The interval is timed by the monotonic clock now (an hour; 1 s here).
        self.step(2 * DAY)
        g = self.gateway("stepped-back", env={"CG_PURGE_SECONDS": "1"},
                         store={"sqlite": "consent.db", "retention_days": 30}, policy={"consent_max_age_days": 30})
        export = curl(g.admin_url("/admin/records"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(export.status, 200)  # the writer's first turn: the purge at start, 2 days ahead
        self.step(-400 * DAY)
        old = post(g, {"all": True}).json()["receipt"]  # a record 400 days old by its stamp
        self.step(0)
        gone = wait_until(lambda: post(g, {"all": True}).status == 200 and old not in receipts(g.path("consent.db")),
                          timeout=15, interval=0.3)
        self.assertTrue(gone, "no purge since the clock stepped back:\n" + g.error_log()[-2000:])
        self.assertIn("purged 1 records older than 30 days", g.error_log())
        g.stop_and_check()
        self.verify(g)


class TokenClockTest(ClockTestCase):
    """Consent tokens issued while the clock was wrong."""

    def test_a_withdrawal_revokes_a_token_issued_while_the_clock_was_ahead(self):
        # A token issued while the clock was a year ahead said it was issued a year from now. The visitor's later
        # withdrawal cut marketing at its own (correct) time, before that: a copy of the old token (another browser
        # profile, a restored backup, a script replaying it) went on granting marketing for a year and the token's
        # life, and the gateway accepted it as in force for all that time whatever consent_max_age_days said.
        g = self.gateway("ahead", policy={"consent_max_age_days": 30})
        self.step(365 * DAY)
        old = token(post(g, {"all": True}))
        self.step(0)
        state = curl(g.url("/__consent/api/state"), cookie=old).json()
        withdrawn = curl(g.url("/__consent/api/consent"), method="DELETE", cookie=old)
        self.assertEqual(withdrawn.status, 200, withdrawn.text)
        replay = curl(g.url("/__consent/api/state"), cookie=old).json()
        self.assertFalse(replay["categories"]["marketing"], "the withdrawn token still grants: %s" % replay)
        self.assertFalse(state["decided"] and state["categories"]["marketing"],
                         "a token issued a year from now is in force: %s" % state)
        self.assertGreaterEqual(metric(g, "cg_tokens_rejected_total", '{reason="issued_ahead"}'), 1)
        # a year on the token's issue time has come: in force again by its times, but the withdrawal cut it
        self.step(365 * DAY)
        replay = curl(g.url("/__consent/api/state"), cookie=old).json()
        self.assertFalse(replay["categories"]["marketing"], "the withdrawn token grants again a year on: %s" % replay)

    def test_an_erasure_names_nobody_for_a_token_issued_while_the_clock_was_ahead(self):
        # The erasure's time was the clock's at the erasure: a token issued while the clock was a year ahead was, once
        # that year had passed, "issued after the erasure", and a copy of it named the erased visitor and granted again.
        g = self.gateway("ahead-erased", policy={"consent_max_age_days": 30})
        self.step(365 * DAY)
        old = token(post(g, {"all": True}))
        self.step(0)
        erased = curl(g.url("/__consent/api/erase"), method="POST", cookie=old)
        self.assertEqual((erased.status, erased.json()["erased"]), (200, 1), erased.text)
        self.step(365 * DAY)
        replay = curl(g.url("/__consent/api/state"), cookie=old).json()
        self.assertFalse(replay["decided"] or replay["categories"]["marketing"],
                         "a copy of the erased visitor's token decides again a year on: %s" % replay)


class ExportClockTest(ClockTestCase):
    """GET /admin/records, exported piece by piece by an archive or a SIEM."""

    def export(self, g, query):
        r = curl(g.admin_url("/admin/records?" + query), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(r.status, 200, r.text)
        return [json.loads(line) for line in r.text.splitlines()]

    def test_an_incremental_export_does_not_miss_the_records_of_a_clock_stepped_back(self):
        # An export that goes on from the last record it saw had only since=<ms>, the records' wall-clock times: the
        # records written after NTP stepped the clock back an hour are older than the last one it saw, and never came.
        # after=<seq> goes on from the last line's seq: the chain's order, which no clock changes.
        g = self.gateway("export")
        for _ in range(2):
            post(g, {"all": True})
        seen = self.export(g, "since=0")
        self.step(-3600)
        late = [post(g, {"all": False}).json()["receipt"] for _ in range(2)]
        self.assertEqual([x["receipt"] for x in self.export(g, "since=%d" % seen[-1]["time_ms"])][1:], [],
                         "(since: the clock's order, as documented)")
        self.assertEqual([x["receipt"] for x in self.export(g, "after=%d" % seen[-1]["seq"])], late)
        self.assertEqual([x["receipt"] for x in self.export(g, "after=%d" % seen[-1]["seq"] + "&since=0")], late)
        for bad in ("x", "-1", "+1", "%201", "99999999999999999999"):
            r = curl(g.admin_url("/admin/records?after=" + bad), headers=["Authorization: Bearer " + ADMIN_TOKEN])
            self.assertEqual((r.status, r.json()["error"]), (400, "bad_after"), bad)


class ListVersionClockTest(ClockTestCase):
    """A risk list edited while the gateway was down is a new version, with an audit line, at the next start."""

    def test_an_edit_while_down_is_seen_after_the_clock_was_ahead(self):
        # The start compared the file's modification time with the time of the list's last audit line: a line written
        # while the gateway's clock was a day ahead made every edit of the next day (with the clock set right) look
        # older than it. The list loaded, but under its old version, and the audit log never said it had changed.
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        self.step(DAY)
        g = self.gateway("lists", risk=risk)
        r = curl(g.admin_url("/admin/lists/p"), method="PUT", data="a.example\n", headers=auth)
        self.assertEqual(r.status, 200, r.text)
        version = r.json()["version"]
        g.stop_and_check()
        self.step(0)
        with open(g.path("p.txt"), "w") as f:  # edited by hand (this process's clock is right), the gateway down
            f.write("a.example\nb.example\n")
        g.start()
        lists = {l["name"]: l for l in curl(g.admin_url("/admin/lists"), headers=auth).json()}
        self.assertEqual((lists["p"]["entries"], lists["p"]["version"]), (2, version + 1))
        last = json.loads(curl(g.admin_url("/admin/audit"), headers=auth).text.splitlines()[-1])
        self.assertEqual((last["who"], last["action"], last["entries_before"], last["entries"], last["version"]),
                         ("start", "load", 1, 2, version + 1))


class CtlTimesTest(ClockTestCase):
    """The times consentgate-ctl prints: UTC, and saying so."""

    def ctl(self, g, *args, tz="America/New_York"):
        ctl = os.path.join(harness.REPO, "gateway", "consentgate-ctl")
        env = dict(os.environ, CG_ADMIN="http://127.0.0.1:%d" % g.admin_port, CG_ADMIN_TOKEN=ADMIN_TOKEN, TZ=tz)
        return subprocess.run([sys.executable, ctl] + list(args), capture_output=True, text=True, env=env, timeout=60)

    def test_times_name_their_zone(self):
        # `audit`, `lists` and `injections` printed UTC times with no zone: "2026-12-02 08:43:09" read in New York as
        # the local time there, five hours off.
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        risk = {"lists": [{"name": "p", "file": "p.txt", "format": "domains", "action": "block"}]}
        g = self.gateway("ctl", risk=risk)
        self.assertEqual(curl(g.admin_url("/admin/lists/p"), method="PUT", data="a.example\n", headers=auth).status, 200)
        line = json.loads(curl(g.admin_url("/admin/audit"), headers=auth).text.splitlines()[-1])
        utc = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(line["time_ms"] // 1000))
        r = self.ctl(g, "audit")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(utc + "Z", r.stdout)
        r = self.ctl(g, "lists")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\np +block +domains +1 +\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n")


class AcceptRestClockTest(ClockTestCase):
    """A worker out of file descriptors rests ACCEPT_REST_MS (100 ms) before it accepts again (gateway/server.c)."""

    def test_a_rest_is_not_stretched_by_a_clock_stepped_back(self):
        # The rest ended at a time of the event loop's clock, the wall clock: stepped back an hour during a rest (an
        # NTP step while the process was out of descriptors), the worker accepted nothing for an hour, its listener
        # deaf with every descriptor free again.
        g = self.gateway("rest", threads=1)
        n = len(os.listdir("/proc/%d/fd" % g.proc.pid))
        limits = resource.prlimit(g.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(g.proc.pid, resource.RLIMIT_NOFILE, (n + 2, limits[1]))
        # connections until one finds no descriptor left (the gateway's own count may have moved since it was read:
        # a file it had open at start closed since); that one waits in the backlog
        held, waiting = [], None
        for _ in range(8):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            if wait_until(lambda: "cannot accept connections" in g.error_log(), timeout=1):
                waiting = s
                break
            held.append(s)
        self.assertIsNotNone(waiting, g.error_log())
        self.step(-3600)
        # descriptors free again (the limit as it was: room for the waiting one and its connection to the origin)
        resource.prlimit(g.proc.pid, resource.RLIMIT_NOFILE, limits)
        for s in held:
            s.close()
        waiting.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        try:
            answer = waiting.recv(100)
        except socket.timeout:
            answer = b"(nothing in 10 s)"
        waiting.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer)


class DrainClockTest(ClockTestCase):
    """SIGTERM drains the requests in flight for at most 30 s (gateway/server.c DRAIN_TIMEOUT_MS)."""

    def test_the_drain_deadline_is_not_stretched_by_a_clock_stepped_back(self):
        # The deadline was a time of the event loop's clock, the wall clock: stepped back an hour while draining, the
        # gateway waited for a request in flight as long as that took (h2o's own proxy timeout, of the same clock,
        # stretched as well), past systemd's TimeoutStopSec and its SIGKILL.
        g = self.gateway("drain", threads=1, proxy={"io_timeout_ms": 120000})
        slow = threading.Thread(target=curl, args=(g.url("/__origin/slow?ms=90000"),), kwargs={"timeout": 100})
        slow.daemon = True
        slow.start()
        self.assertTrue(wait_until(lambda: self.origin.find("/__origin/slow"), timeout=10))
        began = time.monotonic()
        g.signal(signal.SIGTERM)
        self.step(-3600)
        try:
            g.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - began
        self.assertIsNotNone(g.proc.poll(), "still draining after %.0f s" % took)
        g.stop_and_check(expect_running=False)  # exit status 0, no sanitizer report
        self.assertLess(took, 40)
        self.assertIn("drain deadline passed with 1 requests in flight", g.error_log())


class BackfillClockTest(ClockTestCase):
    """The revocations a store from before them (schema 2) gets from its records at the upgrade (store.c)."""

    def test_a_withdrawal_after_a_record_stamped_ahead_revokes_its_token(self):
        # The upgrade made a withdrawal's revocation at the withdrawal's time, as decide_revocation did: the token of
        # the visitor's consent before it, stamped an hour later by a clock an hour ahead, was not revoked by it.
        import test_upgrade  # (the module, not its classes: they would run again as this module's)
        from test_records import chain_hash, reseal
        g, expected = test_upgrade.UpgradeTest.old_state(self, "c1def0f", "backfill")
        visitor = expected["state"]["withdraw"]["visitor"]
        db = sqlite3.connect(g.path("consent.db"))
        db.row_factory = sqlite3.Row
        records = [dict(r) for r in db.execute("SELECT * FROM records ORDER BY seq")]
        mine = [r for r in records if r["visitor"] == visitor]
        self.assertEqual([r["method"] for r in mine], ["accept_all", "withdraw"])
        ahead = mine[0]["time_ms"] // 1000 + 3600  # the consent's clock an hour ahead, the withdrawal's set right
        mine[0]["time_ms"] = ahead * 1000
        prev = None
        for r in records:  # the chain from there on, as that build would have written it
            if prev is not None:
                r["prev_hash"] = prev
            if r["seq"] >= mine[0]["seq"]:
                r["hash"] = chain_hash(r)
                db.execute("UPDATE records SET time_ms = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (r["time_ms"], r["prev_hash"], r["hash"], r["seq"]))
            prev = r["hash"]
        reseal(g.path("secrets.json"), db)
        db.commit()
        db.close()
        self.verify(g)
        g.start()
        copy = test_upgrade.forged(g.path("secrets.json"), visitor, ahead)  # the consent's token, kept
        state = curl(g.url("/__consent/api/state"), cookie=copy).json()
        self.assertEqual([k for k, v in state["categories"].items() if v], ["necessary"], state)
