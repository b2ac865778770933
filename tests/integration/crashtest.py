"""Crash test of the consent store: a client posts consents continuously and keeps every receipt it
was answered 200 for; the gateway is killed with SIGKILL at random moments and restarted; after the
run every acknowledged receipt must be in the database and the hash chain must verify.

Used by tests/integration/test_records.py (a handful of kills) and by the soak variant
`python3 tests/integration/crashtest.py --kills 50` (make bench)."""

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Poster(threading.Thread):
    """Posts {"all": true} / {"all": false} over keep-alive connections; records acknowledged receipts."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.acked = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        conn = None
        i = 0
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                body = '{"all": %s}' % ("true" if i % 2 else "false")
                conn.request("POST", "/__consent/api/consent", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status == 200:
                    self.acked.append(json.loads(data)["receipt"])
                i += 1
            except (OSError, http.client.HTTPException, ValueError):
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)


def run(workdir, kills, binary=None, min_gap=0.2, max_gap=0.8, log=print):
    origin = harness.Origin(workdir).start()
    cfg = harness.gateway_config(origin.url, admin=False, store={"sqlite": "crash.db"})
    gw = harness.Gateway(workdir, cfg, binary=binary)
    rng = random.Random(int(os.environ.get("CG_CRASH_SEED", "0")) or None)
    try:
        gw.start()
        poster = Poster(gw.port)
        poster.start()
        for k in range(kills):
            time.sleep(rng.uniform(min_gap, max_gap))
            gw.proc.send_signal(signal.SIGKILL)
            gw.proc.wait()
            gw.start()
        time.sleep(rng.uniform(min_gap, max_gap))
        poster.stop.set()
        poster.join(10)
        rc = gw.stop()
        db = sqlite3.connect(os.path.join(workdir, "crash.db"))
        present = {r[0] for r in db.execute("SELECT receipt FROM records")}
        db.close()
        acked = poster.acked
        lost = [r for r in acked if r not in present]
        verify = harness.run_binary(["-c", gw.config_path, "--verify-records"], binary=binary)
        log("crash test: kills %d, acknowledged %d, present %d, lost %d, rows %d, client errors %d, verify: %s"
            % (kills, len(acked), len(acked) - len(lost), len(lost), len(present), poster.errors, verify.stdout.strip()))
        return {"acked": len(acked), "lost": lost, "rows": len(present), "verify_rc": verify.returncode,
                "verify": verify.stdout + verify.stderr, "stop_rc": rc}
    finally:
        gw.stop()
        origin.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--binary", default=os.environ.get("CG_BIN", "build/consentgate"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cg-crash-") as d:
        res = run(d, a.kills, binary=os.path.abspath(a.binary))
    sys.exit(0 if not res["lost"] and res["verify_rc"] == 0 and res["acked"] > 0 else 1)
