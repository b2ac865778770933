"""Revocations against the real gateway, a real origin and a real SQLite store: a copy of a consent token kept from
before a withdrawal, a narrower choice, a GPC refusal or an erasure decides no more than the visitor's later decision
lets it (README, "Withdrawn and erased consent").

Each test keeps the token a decision gave (the copy another browser profile, a restored backup or a replaying script
holds), lets the visitor change their mind with another, and sends the kept one again: what reaches the origin (the
cookies, the beacons) is the later decision's."""

import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import sqlite3
import time

from harness import GatewayTestCase, curl, gateway_config, merge, metric, run_binary
from test_consent import FBP, GA, SID, cookie_names
from test_records import post, reseal_revocations, rows, token

GID = "_gid=GA1.1.333"
OPTIONAL = ["functional", "analytics", "marketing"]


def revocation_key(db_path, visitor_hex):
    """the revocations table's key of a visitor id, computed independently of gateway/revoke.c: HMAC-SHA256 under the
    store's meta.revocation_salt, its first 16 bytes, the lowest bit of the first set (a little-endian machine)"""
    db = sqlite3.connect(db_path)
    salt = bytes.fromhex(db.execute("SELECT value FROM meta WHERE key = 'revocation_salt'").fetchone()[0])
    db.close()
    k = bytearray(hmac.new(salt, bytes.fromhex(visitor_hex), hashlib.sha256).digest()[:16])
    k[0] |= 1
    return k.hex()


def revocation_rows(db_path):
    db = sqlite3.connect(db_path)
    out = db.execute("SELECT visitor_hash, category, cut FROM revocations ORDER BY visitor_hash, category").fetchall()
    db.close()
    return out


class RevokeBase(GatewayTestCase):
    config = {"store": {"sqlite": "consent.db"}, "cookies": {"overrides": {"sid": "necessary"}},
              "beacons": {"endpoints": [{"path": "/collect", "category": "analytics"},
                                        {"path": "/pixel", "category": "marketing"}]}}
    n = 0

    @property
    def db(self):
        return self.gw.path("consent.db")

    def tag(self):
        RevokeBase.n += 1
        return "%s-%d" % (self._testMethodName[-20:], RevokeBase.n)

    def reaching(self, tok, gw=None, headers=()):
        """the names of the cookies that reach the origin with tok, and whether an analytics and a marketing beacon do"""
        gw = gw or self.gw
        t = self.tag()
        r = curl(gw.url("/__origin/echo?t=%s" % t), cookie="; ".join([tok, SID, GA, GID, FBP]), headers=list(headers))
        self.assertEqual(r.status, 200, r.text)
        names = sorted(cookie_names(self.origin.assert_reached("t=%s" % t)))
        beacons = {}
        for path in ("/collect", "/pixel"):
            r = curl(gw.url("%s?t=%s" % (path, t)), cookie=tok, headers=list(headers))
            beacons[path] = self.origin.find("%s?t=%s" % (path, t)) != []
            if not beacons[path]:
                self.assertEqual(r.status, 204, "a beacon kept back is answered at the edge")
        return names, beacons

    def everything(self):
        return sorted(["sid", "_ga", "_gid", "_fbp"]), {"/collect": True, "/pixel": True}

    def nothing(self):
        return ["sid"], {"/collect": False, "/pixel": False}

    def accept(self, gw=None, cookie=None):
        r = post(gw or self.gw, {"all": True}, cookie=cookie)
        self.assertEqual(r.status, 200, r.text)
        return token(r), r.json()

    def state(self, tok, gw=None):
        return curl((gw or self.gw).url("/__consent/api/state"), cookie=tok).json()


class RevokeTest(RevokeBase):

    def test_withdrawal_stops_a_kept_copy(self):
        kept, first = self.accept()
        self.assertEqual(self.reaching(kept), self.everything())
        r = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.reaching(token(r)), self.nothing())
        # the copy: nothing optional reaches the origin, the beacons are answered at the edge
        self.assertEqual(self.reaching(kept), self.nothing())
        s = self.state(kept)
        self.assertEqual((s["visitor"], s["decided"]), (first["visitor"], True), "still the visitor's own token")
        self.assertEqual([k for k, v in s["categories"].items() if v], ["necessary"])
        # its receipts are still the visitor's: the withdrawal took back a grant, not the records
        rec = curl(self.gw.url("/__consent/api/receipts"), cookie=kept).json()
        self.assertEqual([x["method"] for x in rec["records"]], ["accept_all", "withdraw"])
        # durable with the withdrawal's record: the row names a keyed hash, never the id
        key = revocation_key(self.db, first["visitor"])
        cuts = [(c, t) for h, c, t in revocation_rows(self.db) if h == key]
        when = rows(self.db, "method = 'withdraw' AND visitor = '%s'" % first["visitor"])[0]["time_ms"] // 1000
        self.assertEqual(cuts, [(c, when) for c in sorted(OPTIONAL)])
        self.assertNotIn(first["visitor"], {h for h, _, _ in revocation_rows(self.db)})

    def test_narrower_choice_stops_what_it_refuses(self):
        kept, _ = self.accept()
        r = post(self.gw, {"categories": {"marketing": False}}, cookie=kept)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["method"], "custom")
        names, beacons = self.reaching(kept)
        self.assertEqual(names, ["_ga", "_gid", "sid"], "analytics still granted, marketing not")
        self.assertEqual(beacons, {"/collect": True, "/pixel": False})
        self.assertEqual(self.reaching(token(r)), (names, beacons))

    def test_reject_all_after_accept_all(self):
        kept, _ = self.accept()
        r = post(self.gw, {"all": False}, cookie=kept)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.reaching(kept), self.nothing())

    def test_a_later_consent_does_not_revive_an_older_copy(self):
        kept, _ = self.accept()
        time.sleep(1.1)  # (the copy's second is over)
        r = post(self.gw, {"all": False}, cookie=kept)
        time.sleep(1.1)
        r = post(self.gw, {"categories": {"analytics": True}}, cookie=token(r))
        self.assertEqual(r.status, 200, r.text)
        names, beacons = self.reaching(token(r))
        self.assertEqual((names, beacons), (["_ga", "_gid", "sid"], {"/collect": True, "/pixel": False}))
        self.assertEqual(self.reaching(kept), self.nothing(), "the copy from before the refusal stays stopped")

    def test_withdrawal_and_consent_in_the_same_second(self):
        # the token's times are seconds: the consent that follows a withdrawal within its second keeps its own grant,
        # while a copy from an earlier second stays stopped
        kept, first = self.accept()
        time.sleep(1.1)
        for attempt in range(5):
            w = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
            a = post(self.gw, {"all": True}, cookie=token(w))
            self.assertEqual((w.status, a.status), (200, 200))
            times = [r["time_ms"] // 1000 for r in rows(self.db, "visitor = '%s'" % first["visitor"])[-2:]]
            if times[0] == times[1]:
                break
            time.sleep(0.3)  # (crossed a second: again)
        else:
            self.fail("five withdrawals and consents each crossed a second")
        again = token(a)
        self.assertEqual(self.reaching(again), self.everything(), "the consent made in the withdrawal's second")
        self.assertEqual(self.reaching(kept), self.nothing(), "the copy from before the withdrawal")
        # and a withdrawal in the same second as the consent before it stops that consent's copy too
        w = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=again)
        self.assertEqual(self.reaching(again), self.nothing())
        self.assertEqual(self.reaching(token(w)), self.nothing())

    def test_erasure_stops_a_kept_copy_which_names_nobody(self):
        kept, first = self.accept()
        r = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=kept)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json()["erased"], 1)
        self.assertEqual(self.reaching(kept), self.nothing())
        s = self.state(kept)
        self.assertEqual((s["visitor"], s["decided"]), (None, False), "the erased id names nobody")
        # its receipts are empty, an erasure with it erases nothing, and a decision with it starts a new id
        self.assertEqual(curl(self.gw.url("/__consent/api/receipts"), cookie=kept).json(), {"visitor": None, "records": []})
        self.assertEqual(curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=kept).json(),
                         {"erased": 0, "receipt": None})
        again, second = self.accept(cookie=kept)
        self.assertNotEqual(second["visitor"], first["visitor"])
        self.assertEqual(rows(self.db, "visitor = '%s'" % first["visitor"]), [], "nothing more under the erased id")
        self.assertEqual(self.reaching(again), self.everything())
        key = revocation_key(self.db, first["visitor"])
        self.assertEqual(sorted(c for h, c, _ in revocation_rows(self.db) if h == key), sorted([""] + OPTIONAL))

    def test_a_decision_racing_an_erasure_never_lands_under_the_erased_id(self):
        # a decision read (its token naming the id) while the erasure of that id is being committed, and queued after
        # it: its record would go under the erased id, which no receipt or erasure could reach any more. Sent on two
        # open connections back to back, over and over: such a decision is refused (503, try again), never stored so.
        outcomes = set()
        for _ in range(15):
            tok, first = self.accept()
            conns = [http.client.HTTPConnection("127.0.0.1", self.gw.port, timeout=10) for _ in range(2)]
            for c in conns:
                c.connect()
            hdrs = {"Cookie": tok, "Content-Type": "application/json"}
            conns[0].request("POST", "/__consent/api/erase", body=b"", headers=hdrs)
            conns[1].request("POST", "/__consent/api/consent", body=b'{"all": true}', headers=hdrs)
            answers = [c.getresponse() for c in conns]
            statuses = [a.status for a in answers]
            bodies = [a.read() for a in answers]
            for c in conns:
                c.close()
            self.assertEqual(statuses[0], 200, bodies[0])
            self.assertIn(statuses[1], (200, 503), bodies[1])
            outcomes.add(statuses[1])
            self.assertEqual(rows(self.db, "visitor = '%s'" % first["visitor"]), [],
                             "a record under the erased id (the decision answered %d)" % statuses[1])
            # (a 200: committed before the erasure, and pseudonymised with the rest; or read after it, under a new id)
        self.assertTrue(outcomes, outcomes)

    def test_first_consent_adds_no_revocation(self):
        # the usual case: a visitor's first decision (and one refusing what no token of theirs granted) revokes nothing
        before = len(revocation_rows(self.db))
        r = post(self.gw, {"all": False})
        r = post(self.gw, {"categories": {"analytics": False, "marketing": False}}, cookie=token(r))
        self.assertEqual(r.status, 200)
        self.assertEqual(len(revocation_rows(self.db)), before)


class RevokeGpcTest(RevokeBase):
    config = merge(RevokeBase.config, {"regimes": {"default": "opt-out"}})

    def test_gpc_refusal_stops_marketing_of_a_copy(self):
        kept, _ = self.accept()
        self.assertEqual(self.reaching(kept), self.everything())
        # the visitor's browser sends the signal: the refusal is recorded, and the copy without the signal loses marketing
        names, beacons = self.reaching(kept, headers=["Sec-GPC: 1"])
        self.assertEqual((names, beacons), (["_ga", "_gid", "sid"], {"/collect": True, "/pixel": False}))
        self.assertEqual([r["method"] for r in rows(self.db)][-1], "gpc")
        names, beacons = self.reaching(kept)
        self.assertEqual((names, beacons), (["_ga", "_gid", "sid"], {"/collect": True, "/pixel": False}))

    def test_withdrawn_copy_in_opt_out_is_not_everything_again(self):
        kept, _ = self.accept()
        r = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.reaching(kept), self.nothing(), "not the opt-out default")


class RevokeThreadsTest(RevokeBase):
    config = merge(RevokeBase.config, {"threads": 2})

    def test_every_worker_sees_the_revocation_before_the_answer(self):
        kept, _ = self.accept()
        w = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
        self.assertEqual(w.status, 200)
        before = [metric(self.gw, "cg_thread_requests_total", '{thread="%d"}' % i) or 0 for i in (0, 1)]
        t = self.tag()
        # one connection each (one curl process each), at once: the kernel spreads them over both workers' sockets
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda i: curl(self.gw.url("/__origin/echo?t=%s-%d" % (t, i)), cookie="; ".join([kept, SID, GA, FBP])),
                        range(48)))
        after = [metric(self.gw, "cg_thread_requests_total", '{thread="%d"}' % i) or 0 for i in (0, 1)]
        # (the metrics requests are the admin listener's, counted apart)
        served = [a - b for a, b in zip(after, before)]
        self.assertEqual(sum(served), 48, (before, after))
        self.assertTrue(all(n >= 3 for n in served), "both workers answered some: %s" % served)
        for i in range(48):
            self.assertEqual(cookie_names(self.origin.assert_reached("t=%s-%d" % (t, i))), ["sid"])


class RevokeDurableTest(RevokeBase):
    config = merge(RevokeBase.config, {"policy": {"consent_max_age_days": 1}, "store": {"retention_days": 1}})

    def test_revocations_survive_a_restart_and_go_with_the_token_lifetime(self):
        kept, first = self.accept()
        w = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
        self.assertEqual(w.status, 200)
        other, second = self.accept()
        self.assertEqual(post(self.gw, {"all": False}, cookie=other).status, 200)
        self.gw.stop_and_check()
        self.gw.start()
        self.assertEqual(self.reaching(kept), self.nothing(), "loaded at start")
        self.assertEqual(self.reaching(other), self.nothing())
        # the first visitor's revocation as if made two days ago: no token it could stop is still in force (a day's
        # lifetime), so the purge (at start, then hourly) removes it; the second's stays
        self.gw.stop_and_check()
        key1, key2 = revocation_key(self.db, first["visitor"]), revocation_key(self.db, second["visitor"])
        db = sqlite3.connect(self.db)
        db.execute("UPDATE revocations SET cut = cut - 2 * 86400 WHERE visitor_hash = ?", (key1,))
        reseal_revocations(self.gw.path("secrets.json"), db)  # (as the gateway would have sealed them)
        db.commit()
        db.close()
        self.gw.start()
        self.assertEqual(post(self.gw, {"all": True}).status, 200)  # (the writer's first turn purges)
        self.assertTrue(any("purged 1 revocations older than the longest token lifetime (1 days)" in l
                            for l in self.gw.error_log().splitlines()), self.gw.error_log()[-2000:])
        self.assertEqual(sorted({h for h, _, _ in revocation_rows(self.db)}), [key2])
        self.assertEqual(self.reaching(other), self.nothing())
        # the purge sealed what it left: the store verifies and starts again
        self.gw.stop_and_check()
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn(", %d revocation rows, their seal matches" % len(revocation_rows(self.db)), v.stdout)
        self.gw.start()
        self.assertEqual(self.reaching(other), self.nothing())


class RevokeCapTest(RevokeBase):
    start_gateway = False

    def test_at_the_cap_a_revoking_decision_is_refused_not_left_unrevoked(self):
        self.gw.env = {"CG_REVOCATIONS_MAX": "1"}
        self.gw.start()
        a, _ = self.accept()
        b, _ = self.accept()
        self.assertEqual(curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=a).status, 200)
        r = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=b)
        self.assertEqual(r.status, 503, r.text)
        self.assertIsNone(token(r), "no cookie: the visitor's state stays as it was")
        self.assertIn("revocations, the most it keeps", self.gw.error_log())
        self.assertEqual(self.reaching(a), self.nothing())
        # a decision that revokes nothing is still taken, as is one for a visitor who has a revocation already
        self.assertEqual(post(self.gw, {"all": True}).status, 200)
        self.assertEqual(post(self.gw, {"all": True}, cookie=a).status, 200)
        self.assertEqual(curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=b).status, 503)


class RevokeGrowthTest(RevokeBase):

    def test_many_revocations_grow_the_table_while_workers_read_it(self):
        # the table starts at 16 slots and doubles when 3/4 full: 40 visitors make it grow twice while both workers
        # read it (the old table freed after they pass a quiescent state), and the start loads them all again
        kept = []
        for _ in range(40):
            tok, _ = self.accept()
            self.assertEqual(curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=tok).status, 200)
            kept.append(tok)
            self.assertFalse(any(self.state(k)["categories"]["analytics"] for k in kept[-3:]))
        self.assertEqual(len({h for h, _, _ in revocation_rows(self.db)}), 40)
        self.assertEqual([k for k in kept if self.state(k)["categories"]["marketing"]], [])
        self.gw.stop_and_check()
        self.gw.start()
        self.assertEqual([k for k in kept if self.state(k)["categories"]["marketing"]], [])
        self.assertEqual(self.reaching(kept[0]), self.nothing())


class RevokeSealTest(RevokeBase):
    """The revocations are sealed as the records are (README, "Consent records"): a revocation deleted while the gateway
    is down would let the token it stopped grant again, so the start refuses such a store and --verify-records names it."""

    def setUp(self):
        # each test on a store of its own (a tampered one is refused, and stays so)
        if self.gw.alive():
            self.gw.stop_and_check()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                os.remove(self.db + suffix)
        self.gw.start()

    def withdrawn(self):
        kept, first = self.accept()
        r = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=kept)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(self.reaching(kept), self.nothing())
        return kept, first

    def verify(self):
        return run_binary(["-c", self.gw.config_path, "--verify-records"])

    def tamper(self, *sql):
        self.gw.stop_and_check()
        db = sqlite3.connect(self.db)
        for q in sql:
            db.execute(q)
        db.commit()
        db.close()

    def assert_refused(self):
        v = self.verify()
        self.assertEqual(v.returncode, 1, v.stdout)
        self.assertIn("BROKEN: the revocations' seal does not match them", v.stdout)
        with self.assertRaises(RuntimeError) as cm:
            self.gw.start()
        self.assertIn("the revocations' seal does not match them", str(cm.exception))
        self.assertIn("refusing to start", str(cm.exception))

    def test_every_change_the_gateway_makes_keeps_the_seal(self):
        # a withdrawal (new rows), a narrower choice of the same visitor (rows replaced), an erasure (a new row set),
        # then a restart: each transaction re-sealed what it changed, so the store verifies and starts
        kept, first = self.withdrawn()
        again = post(self.gw, {"all": True}, cookie=kept)
        self.assertEqual(again.status, 200)
        narrower = post(self.gw, {"categories": {"functional": True, "analytics": False, "marketing": False}},
                        cookie=token(again))
        self.assertEqual(narrower.status, 200, narrower.text)
        other, _ = self.accept()
        self.assertEqual(curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=other).status, 200)
        n = len(revocation_rows(self.db))
        self.assertGreaterEqual(n, 5)
        v = self.verify()
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("%d revocation rows, their seal matches" % n, v.stdout)
        self.gw.stop_and_check()
        self.gw.start()
        self.assertEqual(self.reaching(token(narrower)), self.nothing(), "functional only: no cookie or beacon of the others")

    def test_a_deleted_revocation_refuses_the_start(self):
        kept, first = self.withdrawn()
        key = revocation_key(self.db, first["visitor"])
        self.tamper("DELETE FROM revocations WHERE visitor_hash = '%s'" % key)
        self.assert_refused()

    def test_a_moved_cut_refuses_the_start(self):
        kept, first = self.withdrawn()
        self.tamper("UPDATE revocations SET cut = cut - 3600")  # (before the kept token was issued: it would grant again)
        self.assert_refused()

    def test_a_changed_salt_refuses_the_start(self):
        # a new salt makes every row's key name nobody: no revocation would be found
        self.withdrawn()
        self.tamper("UPDATE meta SET value = '%s' WHERE key = 'revocation_salt'" % ("ab" * 32))
        self.assert_refused()

    def test_a_shortened_horizon_refuses_the_start(self):
        # the purge would drop revocations that tokens still in force can predate
        self.withdrawn()
        self.tamper("UPDATE meta SET value = '1' WHERE key = 'token_max_age_days'")
        self.assert_refused()

    def test_a_deleted_revocation_is_named_whatever_the_schema_version_says(self):
        # --verify-records checked the revocations' seal only when meta.schema_version said 3: a row deleted and the
        # version set back to 2 (or deleted) verified "intact" (the start refuses that store: the migration to 3 finds
        # the table there)
        kept, first = self.withdrawn()
        key = revocation_key(self.db, first["visitor"])
        self.gw.stop_and_check()
        with open(self.db, "rb") as f:
            pristine = f.read()
        for version in ("UPDATE meta SET value = '2' WHERE key = 'schema_version'", "DELETE FROM meta WHERE key = 'schema_version'"):
            for suffix in ("-wal", "-shm"):
                if os.path.exists(self.db + suffix):
                    os.remove(self.db + suffix)
            with open(self.db, "wb") as f:
                f.write(pristine)
            db = sqlite3.connect(self.db)
            db.execute("DELETE FROM revocations WHERE visitor_hash = ?", (key,))
            db.execute(version)
            db.commit()
            db.close()
            v = self.verify()
            self.assertEqual(v.returncode, 1, version + ": " + v.stdout)
            self.assertIn("BROKEN: the revocations' seal does not match them", v.stdout, version)

    def test_a_store_without_the_seal_is_sealed_at_start(self):
        # a store of the build before this seal (the same tables, no meta.revocations_seal): sealed as it is, said
        kept, first = self.withdrawn()
        self.tamper("DELETE FROM meta WHERE key = 'revocations_seal'")
        v = self.verify()
        self.assertEqual(v.returncode, 1, v.stdout)
        self.assertIn("BROKEN: the revocations carry no seal", v.stdout)
        self.gw.start()
        self.assertIn("its revocations carry no seal", self.gw.error_log())
        self.assertEqual(self.reaching(kept), self.nothing())
        v = self.verify()
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("revocation rows, their seal matches", v.stdout)

    def test_a_new_primary_key_reseals_and_a_removed_one_is_said(self):
        # the seal follows the secrets file's primary key: a new primary reseals at the next start; a store whose seal
        # names a key since removed is sealed again with the primary, with a warning (as the records' seal)
        import base64
        kept, first = self.withdrawn()
        secrets = self.gw.path("secrets.json")

        def keys(*entries):
            with open(secrets, "w") as f:
                json.dump({"keys": list(entries)}, f)
            os.chmod(secrets, 0o600)

        def sealed_by():
            db = sqlite3.connect(self.db)
            v = db.execute("SELECT value FROM meta WHERE key = 'revocations_seal'").fetchone()[0]
            db.close()
            return int(v.split(":")[0])

        with open(secrets) as f:
            old = json.load(f)["keys"][0]
        self.assertEqual(sealed_by(), old["id"])
        new = {"id": old["id"] % 255 + 1, "secret": base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
               "primary": True}
        self.gw.stop_and_check()
        keys(dict(old, primary=False), new)
        self.gw.start()
        self.assertEqual(sealed_by(), new["id"], "resealed with the new primary")
        self.assertEqual(self.reaching(kept), self.nothing())
        self.gw.stop_and_check()
        v = self.verify()
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("revocation rows, their seal matches", v.stdout)
        # sealed with the new key, which then goes: said, and sealed again with the primary (the old key, back)
        keys(dict(old, primary=True))
        self.gw.start()
        self.assertIn("its revocations' seal was made with a key no longer in the secrets file", self.gw.error_log())
        self.assertEqual(sealed_by(), old["id"])
        self.assertEqual(self.reaching(kept), self.nothing())
