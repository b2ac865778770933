"""The wall clock stepping backwards or forwards under a running gateway (an NTP step, a VM resumed from a snapshot, a
wrong clock at boot corrected later), with the real gateway and a real SQLite store. tests/integration/clock_shift.c
(LD_PRELOAD) shifts the gateway's wall clock (clock_gettime(CLOCK_REALTIME), gettimeofday, time) by the seconds the
test writes to a file; the monotonic clocks are left alone, as a real step leaves them."""

import json
import os
import sqlite3
import subprocess

from harness import GatewayTestCase, curl, gateway_config, metric, run_binary
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

    def gateway(self, name, **config):
        g = self.new_gateway(name, gateway_config(self.origin.url, **config), start=False)
        g.env = {"LD_PRELOAD": self.shim, "CG_TEST_CLOCK_FILE": self.clock_file,
                 "ASAN_OPTIONS": harness.sanitizer_env()["ASAN_OPTIONS"] + ":verify_asan_link_order=0"}
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

