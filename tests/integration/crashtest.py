"""Crash test of the consent store: concurrent clients post consents continuously and keep every receipt
they were answered 200 for; the gateway is killed with SIGKILL at random moments and restarted; after each
kill (before the restart) every receipt acknowledged so far must be in the database and the hash chain
must verify.

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


def check(workdir, gw, acked, binary):
    """With the gateway down: which acknowledged receipts are missing, and what --verify-records says."""
    db = sqlite3.connect(os.path.join(workdir, "crash.db"))
    present = {r[0] for r in db.execute("SELECT receipt FROM records")}
    db.close()
    verify = harness.run_binary(["-c", gw.config_path, "--verify-records"], binary=binary)
    return [r for r in acked if r not in present], len(present), verify


def run(workdir, kills, binary=None, min_gap=0.2, max_gap=0.8, clients=4, log=print):
    """Kills the gateway `kills` times while `clients` posters run concurrently (so a kill can land on a group
    commit of several consents); after every kill, before the restart, every receipt acknowledged so far must be
    in the database and the chain must verify."""
    origin = harness.Origin(workdir).start()
    cfg = harness.gateway_config(origin.url, admin=False, store={"sqlite": "crash.db"})
    gw = harness.Gateway(workdir, cfg, binary=binary)
    rng = random.Random(int(os.environ.get("CG_CRASH_SEED", "0")) or None)
    posters = []
    lost, bad_verify, rows, verify = [], [], 0, None
    try:
        gw.start()
        posters = [Poster(gw.port) for _ in range(clients)]
        for p in posters:
            p.start()
        for k in range(kills + 1):
            time.sleep(rng.uniform(min_gap, max_gap))
            if k == kills:
                for p in posters:
                    p.stop.set()
                for p in posters:
                    p.join(10)
                rc = gw.stop()
            else:
                gw.proc.send_signal(signal.SIGKILL)
                gw.proc.wait()
            acked = [r for p in posters for r in list(p.acked)]
            missing, rows, verify = check(workdir, gw, acked, binary)
            lost += [r for r in missing if r not in lost]
            if verify.returncode != 0:
                bad_verify.append((k, verify.stdout.strip() + verify.stderr.strip()))
            if k != kills:
                gw.start()
        acked = [r for p in posters for r in p.acked]
        log("crash test: kills %d, %d clients, checked after each: acknowledged %d, present %d, lost %d, rows %d, "
            "client errors %d, chain verified %d of %d times: %s"
            % (kills, clients, len(acked), len(acked) - len(lost), len(lost), rows, sum(p.errors for p in posters),
               kills + 1 - len(bad_verify), kills + 1, verify.stdout.strip()))
        return {"acked": len(acked), "lost": lost, "rows": rows, "verify_rc": 1 if bad_verify else 0,
                "verify": "\n".join("after kill %d: %s" % b for b in bad_verify), "stop_rc": rc}
    finally:
        for p in posters:
            p.stop.set()
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
