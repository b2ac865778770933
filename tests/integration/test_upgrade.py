"""Upgrades in place: the current gateway started on the files an older build left (its config, consent store, secrets
file, risk lists and audit log) and on the cookies it gave its visitors.

The state under fixtures/upgrade/<commit>/ was made by that commit's own build with fixtures/upgrade/make.py (its
docstring says how); the store is kept as the SQL dump of the file the build left, loaded back here.
  b014a6c  the store's first schema (version 1: no injections table), unsealed, random visitor ids, UUIDv4 receipts
  8787cab  schema version 2, the last build before the records were sealed (a1e2aa1)
  c1def0f  schema version 2, sealed: the last build before revocations (schema 3)
All three are migrated to schema 3 (revocations): a withdrawal their records hold revokes a copy of the token before it.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import uuid

from harness import ADMIN_TOKEN, GatewayTestCase, Gateway, curl, free_port, run_binary
from test_consent import b64url_decode, sign_token
from test_records import chain_hash, post, rows
from test_revoke import revocation_key, revocation_rows

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "upgrade")
ADMIN = ["Authorization: Bearer " + ADMIN_TOKEN]


def kept(old, new):
    """new as far as old goes: the members old has (a later build may answer with more), lists whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: kept(v, new[k]) if k in new else "(missing)" for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [kept(o, n) for o, n in zip(old, new)]
    return new


def forged(secrets_path, visitor_hex, issued, granted=0xf, flags=0x02, regime=1):
    """a token the old build could have issued (its own secrets file signs it): the copy a visitor kept"""
    with open(secrets_path) as f:
        key = json.load(f)["keys"][0]
    payload = bytes([1, key["id"]]) + bytes.fromhex(visitor_hex) + granted.to_bytes(2, "big") + (1).to_bytes(4, "big") + \
        bytes([regime, flags]) + issued.to_bytes(5, "big") + (issued + 3650 * 86400).to_bytes(5, "big")
    return "cg_consent=" + sign_token(b64url_decode(key["secret"]), payload)


class UpgradeTest(GatewayTestCase):
    start_gateway = False

    def old_state(self, commit, name=None):
        """A gateway (not started) on a copy of the state `commit` left, with the config it read (new ports and
        origin), and what that build answered then."""
        src = os.path.join(FIXTURES, commit)
        d = os.path.join(self.tmp, name or commit)
        shutil.copytree(src, d, ignore=shutil.ignore_patterns("consent.sql", "expected.json", "consentgate.json"))
        with open(os.path.join(src, "consentgate.json")) as f:
            cfg = json.load(f)
        os.chmod(os.path.join(d, "secrets.json"), 0o600)  # (git keeps no mode but x)
        # nor times: each list file as old as the audit log's last line about its list, as the build left it (a file
        # newer than that changed while the gateway was down, and gets a version more)
        with open(os.path.join(d, "audit.log")) as f:
            written = {a["list"]: a["time_ms"] / 1000 for a in map(json.loads, f)}
        for lst in cfg["risk"]["lists"]:
            os.utime(os.path.join(d, lst["file"]), (written[lst["name"]],) * 2)
        db = sqlite3.connect(os.path.join(d, "consent.db"))
        with open(os.path.join(src, "consent.sql")) as f:
            db.executescript(f.read())
        db.execute("PRAGMA journal_mode = WAL")  # (a .dump does not say it; every build's store is in WAL mode)
        db.close()
        cfg["upstream"] = self.origin.url
        cfg["listen"][0]["port"] = free_port()
        cfg["admin"]["listen"]["port"] = free_port()
        with open(os.path.join(src, "expected.json")) as f:
            expected = json.load(f)
        g = Gateway(d, cfg, name="consentgate")
        self._extra_gateways.append(g)
        g.write_config()
        return g, expected

    def verify(self, g):
        return run_binary(["-c", g.config_path, "--verify-records"])

    def check_upgrade(self, commit, schema_before, sealed=False):
        g, expected = self.old_state(commit)
        db = g.path("consent.db")
        before = rows(db)
        conn = sqlite3.connect(db)
        self.assertEqual(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0], schema_before)
        reports = conn.execute("SELECT blocked_host FROM injections").fetchall() if schema_before != "1" else []
        conn.close()
        # a store from before sealing has no seal until the new build has started on it once (README, Upgrades)
        v = self.verify(g)
        if sealed:
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertIn("%d records, chain intact, seal matches" % len(before), v.stdout)
        else:
            self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
            self.assertIn("carries no seal", v.stdout)

        withdrawn = expected["state"]["withdraw"]["visitor"]
        when = [r["time_ms"] // 1000 for r in expected["receipts"]["withdraw"]["records"] if r["method"] == "withdraw"][0]
        g.start()
        # the withdrawal the old build recorded revokes what a copy of the visitor's token from before it granted (the
        # migration makes the revocation from the records); a token issued after it is not touched
        self.assertIn("consent store: 1 revocations made from the records of withdrawals and narrowed decisions", g.error_log())
        key = revocation_key(db, withdrawn)
        self.assertEqual([(c, t) for h, c, t in revocation_rows(db) if h == key],
                         [(c, when) for c in ("analytics", "functional", "marketing")])
        before_it = curl(g.url("/__consent/api/state"), cookie=forged(g.path("secrets.json"), withdrawn, when)).json()
        after_it = curl(g.url("/__consent/api/state"), cookie=forged(g.path("secrets.json"), withdrawn, when + 1)).json()
        self.assertEqual([k for k, v in before_it["categories"].items() if v], ["necessary"])
        self.assertEqual([k for k, v in after_it["categories"].items() if v], ["necessary", "functional", "analytics",
                                                                              "marketing"])
        if sealed:
            self.assertNotIn("carries no seal", g.error_log())
        else:
            self.assertRegex(g.error_log(), r"\[warn\] consent store: it carries no seal .*sealed as it is now, its newest "
                                            r"record's hash %s" % before[-1]["hash"][:16],
                             "sealing a store that had none is said in the log")
        # the old build's cookies: every visitor's records and decision as that build showed them
        for kind, cookie in expected["cookies"].items():
            self.assertIsNotNone(cookie, kind)
            r = curl(g.url("/__consent/api/receipts"), cookie=cookie)
            self.assertEqual(r.status, 200, kind)
            self.assertEqual(kept(expected["receipts"][kind], r.json()), expected["receipts"][kind], kind)
            s = curl(g.url("/__consent/api/state"), cookie=cookie)
            self.assertEqual(s.status, 200, kind)
            self.assertEqual(kept(expected["state"][kind], s.json()), expected["state"][kind], kind)
        # the risk lists' files and versions (read back from the old audit log), and the audit log itself
        lists = curl(g.admin_url("/admin/lists"), headers=ADMIN).json()
        self.assertEqual([{k: l[k] for k in ("name", "entries", "version")} for l in lists], expected["lists"])
        self.assertEqual(curl(g.admin_url("/admin/check?host=worse.example"), headers=ADMIN).json()["verdict"], "block")
        with open(os.path.join(FIXTURES, commit, "audit.log")) as f:
            old_audit = f.read()
        audit = curl(g.admin_url("/admin/audit"), headers=ADMIN)
        self.assertEqual(audit.status, 200)
        self.assertTrue(audit.text.startswith(old_audit), audit.text)
        # an old visitor decides again: the same visitor id, the chain continues from the old build's newest record
        accept = expected["state"]["accept"]
        r = post(g, {"categories": {"analytics": False}}, cookie=expected["cookies"]["accept"])
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["visitor"], accept["visitor"])
        r = curl(g.url("/__consent/api/erase"), method="POST", cookie=expected["cookies"]["custom"])
        self.assertEqual((r.status, r.json()["erased"]), (200, len(expected["receipts"]["custom"]["records"])), r.text)
        # injection reports: the table the version-2 migration makes
        r = curl(g.url("/__consent/report"), method="POST", headers=["Content-Type: application/csp-report"],
                 data=json.dumps({"csp-report": {"document-uri": "http://127.0.0.1/", "blocked-uri": "https://inject.example/x.js",
                                                 "violated-directive": "script-src"}}))
        self.assertEqual(r.status, 204, r.text)
        g.stop_and_check()

        after = rows(db)
        erased = expected["state"]["custom"]["visitor"]
        was = {r["seq"]: r for r in before}
        for row in after[:len(before)]:  # (the erasure pseudonymised that visitor's)
            if was[row["seq"]]["visitor"] == erased and row["visitor"].startswith("erased-") and row["visitor_nonce"] is None:
                row["visitor"], row["visitor_nonce"] = erased, was[row["seq"]]["visitor_nonce"]
        self.assertEqual(after[:len(before)], before, "the old records are kept as they were")
        self.assertEqual(len(after), len(before) + 2, "the consent and the erasure")
        self.assertEqual(after[len(before)]["prev_hash"], before[-1]["hash"])
        conn = sqlite3.connect(db)
        self.assertEqual(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0], "3")
        self.assertEqual(conn.execute("SELECT blocked_host FROM injections").fetchall(), reports + [("inject.example",)])
        conn.close()
        # the new build's own: the accepting visitor's narrower choice, and the erased visitor's (every category)
        self.assertEqual(sorted({h for h, _, _ in revocation_rows(db)}),
                         sorted([key, revocation_key(db, accept["visitor"]), revocation_key(db, erased)]))
        v = self.verify(g)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("%d records, chain intact, seal matches" % len(after), v.stdout)

    def test_first_schema_store_made_by_b014a6c(self):
        self.check_upgrade("b014a6c", "1")

    def test_unsealed_store_made_by_8787cab(self):
        self.check_upgrade("8787cab", "2")

    def test_sealed_store_made_by_c1def0f(self):
        self.check_upgrade("c1def0f", "2", sealed=True)

    def test_newer_schema_is_refused_and_left_alone(self):
        g, _ = self.old_state("8787cab", "newer")
        db = g.path("consent.db")
        conn = sqlite3.connect(db)
        conn.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
        conn.commit()
        conn.close()
        with open(db, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        v = self.verify(g)
        self.assertEqual(v.returncode, 2, v.stdout + v.stderr)
        self.assertIn("unknown consent store schema version 4 (this build knows 1..3): verify it with the build that wrote it",
                      v.stdout)
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn("unknown consent store schema version 4 (this build knows 1..3)", str(cm.exception))
        self.assertIn("refusing to start", str(cm.exception))
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, "the file is not changed")

    def downgraded(self, name):
        """The 8787cab state upgraded (sealed), then a record added as 8787cab's build adds it when run on the store
        again (a downgrade and back): chained to the newest record, the seal left as it was. Returns the gateway, the
        seq the seal covers and the added record's receipt."""
        g, _ = self.old_state("8787cab", name)
        g.start()
        g.stop_and_check()
        db = g.path("consent.db")
        last = rows(db)[-1]
        added = dict(last, seq=last["seq"] + 1, receipt=str(uuid.uuid4()), time_ms=last["time_ms"] + 1000,
                     prev_hash=last["hash"])
        added["hash"] = chain_hash(added)
        conn = sqlite3.connect(db)
        conn.execute("INSERT INTO records (%s) VALUES (%s)" % (", ".join(added), ", ".join("?" * len(added))),
                     list(added.values()))
        conn.commit()
        conn.close()
        return g, last["seq"], added["receipt"]

    def test_records_added_by_a_build_that_does_not_seal_are_named(self):
        g, seq, receipt = self.downgraded("downgrade")
        said = "the seal covers the records up to seq=%d; 1 record(s) after it (from receipt %s) were added without " \
               "sealing" % (seq, receipt)
        v = self.verify(g)
        self.assertEqual(v.returncode, 1, v.stdout + v.stderr)
        self.assertIn(said, v.stdout, "not 'records were removed'")
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn(said, str(cm.exception))
        self.assertNotIn("removed", str(cm.exception).split("\n")[0])

    def test_records_added_without_sealing_kept_or_dropped(self):
        # README (Upgrades): drop them (the seal matches again) ...
        g, seq, _ = self.downgraded("drop")
        conn = sqlite3.connect(g.path("consent.db"))
        conn.execute("DELETE FROM records WHERE seq > ?", (seq,))
        conn.commit()
        conn.close()
        v = self.verify(g)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("%d records, chain intact, seal matches" % seq, v.stdout)
        # ... or keep them: the seal removed, the next start seals the chain as it is, and says so
        g, seq, _ = self.downgraded("keep")
        conn = sqlite3.connect(g.path("consent.db"))
        conn.execute("DELETE FROM meta WHERE key = 'seal'")
        conn.commit()
        conn.close()
        g.start()
        self.assertIn("carries no seal", g.error_log())
        g.stop_and_check()
        v = self.verify(g)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("%d records, chain intact, seal matches" % (seq + 1), v.stdout)

    def test_store_without_its_secrets_file_is_refused(self):
        # the store moved (or restored) without the secrets file it goes with: a new key would leave every visitor's
        # token unverifiable and seal the records anew; the start is refused and leaves no new secrets file behind
        g, expected = self.old_state("8787cab", "no-secrets")
        db = g.path("consent.db")
        os.rename(g.path("secrets.json"), g.path("secrets.kept"))
        with open(db, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        c = run_binary(["-c", g.config_path, "--check-config"])
        self.assertEqual(c.returncode, 1, c.stdout + c.stderr)
        self.assertIn("secrets_file: %s does not exist, but the consent store %s holds records: restore the secrets file"
                      % (g.path("secrets.json"), db), c.stderr)
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn("it holds records, but the secrets file did not exist and was made by this start: restore the secrets "
                      "file that goes with this store", str(cm.exception))
        self.assertFalse(os.path.exists(g.path("secrets.json")), "the key made by the refused start is gone with it")
        with open(db, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, "the store is not changed (nor migrated, nor sealed)")
        # the next start after the file is restored takes the store and honours the old cookies
        os.rename(g.path("secrets.kept"), g.path("secrets.json"))
        self.assertEqual(run_binary(["-c", g.config_path, "--check-config"]).returncode, 0)
        g.start()
        s = curl(g.url("/__consent/api/state"), cookie=expected["cookies"]["accept"]).json()
        self.assertEqual((s["visitor"], s["decided"]), (expected["state"]["accept"]["visitor"], True))
        g.stop_and_check()
