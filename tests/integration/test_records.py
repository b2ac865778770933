"""Consent records against the real gateway and a real SQLite file: durability, receipts, erase,
export, admin stream, retention, store failures (503, no cookie), restarts, crash test, verify."""

import ctypes
import errno
import hashlib
import hmac
import html
import json
import re
import os
import shutil
import sqlite3
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import ADMIN_TOKEN, GatewayTestCase, curl, curl_many, gateway_config, metric, run_binary
import crashtest
import harness


def post(gw, body, cookie=None, headers=()):
    return curl(gw.url("/__consent/api/consent"), method="POST", data=json.dumps(body),
                headers=["Content-Type: application/json"] + list(headers), cookie=cookie)


def token(resp):
    for v in resp.header_all("Set-Cookie"):
        if v.startswith("cg_consent="):
            return v.split(";", 1)[0]
    return None


def rows(path, where="1=1"):
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    out = [dict(r) for r in db.execute("SELECT * FROM records WHERE %s ORDER BY seq" % where)]
    db.close()
    return out


def chain_hash(r):
    """The canonical encoding, written independently of gateway/chain.c."""
    fields = ["cg-record-v1", r["receipt"], r["visitor_commit"], str(r["time_ms"]), str(r["policy_version"]), r["granted"],
              r["refused"], r["regime"], r["country"], r["method"], r["client_ip"], r["ua_hash"], r["ui_hash"], r["prev_hash"]]
    return hashlib.sha256("\n".join(fields).encode()).hexdigest()


def seal_key(secrets_path):
    """The primary key's id and the seal key derived from it: HKDF-SHA256(secret, info "consentgate records seal v1")."""
    import base64
    with open(secrets_path) as f:
        key = [k for k in json.load(f)["keys"] if k.get("primary")][0]
    secret = base64.urlsafe_b64decode(key["secret"] + "=" * (-len(key["secret"]) % 4))
    prk = hmac.new(b"\0" * 32, secret, hashlib.sha256).digest()
    return key["id"], hmac.new(prk, b"consentgate records seal v1\x01", hashlib.sha256).digest()


def reseal_revocations(secrets_path, db):
    """What a gateway holding the secrets file writes as meta.revocations_seal (gateway/chain.h), written independently:
    the XOR of each row's HMAC, then an HMAC over the salt, the horizon and that digest."""
    kid, k = seal_key(secrets_path)
    digest = bytes(32)
    for h, c, t in db.execute("SELECT visitor_hash, category, cut FROM revocations"):
        mac = hmac.new(k, b"consentgate revocation v1\0" + h.encode() + b"\0" + c.encode() + b"\0" + str(t).encode(),
                       hashlib.sha256).digest()
        digest = bytes(a ^ b for a, b in zip(digest, mac))
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('revocation_salt', 'token_max_age_days')"))
    msg = "consentgate revocations seal v1\n%s\n%s\n%s" % (meta["revocation_salt"], meta.get("token_max_age_days", "0"),
                                                           digest.hex())
    seal = "%d:%s" % (kid, hmac.new(k, msg.encode(), hashlib.sha256).hexdigest()[:32])
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('revocations_seal', ?)", (seal,))


def reseal(secrets_path, db):
    """What a gateway holding the secrets file writes as meta.seal (gateway/chain.h), written independently:
    the seal key (seal_key) keys HMAC-SHA256 over the chain's two ends."""
    kid, seal_key_ = seal_key(secrets_path)
    anchor = (db.execute("SELECT value FROM meta WHERE key = 'chain_anchor'").fetchone() or ["0" * 64])[0]
    head = (db.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone() or [anchor])[0]
    mac = hmac.new(seal_key_, b"consentgate records seal v1\n" + anchor.encode() + b"\n" + head.encode(), hashlib.sha256)
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seal', ?)", ("%d:%s" % (kid, mac.hexdigest()[:32]),))


class RecordsTest(GatewayTestCase):
    config = {"store": {"sqlite": "consent.db"}, "geoip": {"trusted_proxies": ["127.0.0.1/32"]}}

    @property
    def db(self):
        return self.gw.path("consent.db")

    def test_post_then_row_exists_with_the_chain(self):
        r = post(self.gw, {"categories": {"analytics": True}}, headers=["User-Agent: TestBrowser/1.0"])
        self.assertEqual(r.status, 200, r.text)
        receipt = r.json()["receipt"]
        row = rows(self.db, "receipt = '%s'" % receipt)
        self.assertEqual(len(row), 1, "a 200 means the record is on disk")
        row = row[0]
        self.assertEqual(row["visitor"], r.json()["visitor"])
        self.assertEqual(row["granted"], "necessary,analytics")
        self.assertEqual(row["refused"], "functional,marketing")
        self.assertEqual(row["method"], "custom")
        self.assertEqual(row["regime"], "opt-in")
        self.assertEqual(row["client_ip"], "127.0.0.0/24")
        # the user agent is stored only as HMAC-SHA256 under the store's own random salt (meta.ua_salt)
        self.assertNotIn("TestBrowser", json.dumps(row))
        db = sqlite3.connect(self.db)
        salt = db.execute("SELECT value FROM meta WHERE key = 'ua_salt'").fetchone()[0]
        db.close()
        self.assertEqual(len(salt), 64)
        self.assertNotEqual(salt, "0" * 64)
        self.assertEqual(row["ua_hash"], hmac.new(bytes.fromhex(salt), b"TestBrowser/1.0", hashlib.sha256).hexdigest())
        self.assertEqual(row["ui_hash"], harness.ui_hash(), "the hash of the UI files served (static/)")
        self.assertEqual(row["hash"], chain_hash(row), "canonical encoding differs from the documented one")
        previous = rows(self.db, "seq < %d" % row["seq"])
        self.assertEqual(row["prev_hash"], previous[-1]["hash"] if previous else "0" * 64)

    def test_every_category_is_recorded_however_long_their_names(self):
        # the config allows 16 categories of 32 bytes: their list is 527 bytes, and the record's granted and refused
        # columns were written from 256-byte buffers, cut short (and hashed into the chain as cut)
        cats = ["necessary", "functional", "analytics", "marketing"] + ["c%02d-%s" % (i, "x" * 28) for i in range(12)]
        g = self.new_gateway("long-categories", gateway_config(self.origin.url, categories=cats, store={"sqlite": "consent.db"}))
        for body, granted, refused in (({"all": True}, cats, []), ({"all": False}, cats[:1], cats[1:])):
            r = post(g, body)
            self.assertEqual(r.status, 200, r.text)
            row = rows(g.path("consent.db"), "receipt = '%s'" % r.json()["receipt"])[0]
            self.assertEqual((row["granted"], row["refused"]), (",".join(granted), ",".join(refused)))
            self.assertEqual(row["hash"], chain_hash(row))
        g.stop_and_check()

    def test_client_address_from_a_trusted_proxy_truncated(self):
        cases = [("81.2.69.160", "81.2.69.0/24"), ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
                 ("2a02:d040::1", "2a02:d040::/48"), ("2001:0:0:1::1", "2001::/48"), ("::1", "::/48"),  # RFC 5952
                 ("::ffff:81.2.69.161", "81.2.69.0/24"), ("not-an-address", "127.0.0.0/24")]
        for xff, stored in cases:
            r = post(self.gw, {"all": True}, headers=["X-Forwarded-For: " + xff])
            self.assertEqual(r.status, 200, r.text)
            row = rows(self.db, "receipt = '%s'" % r.json()["receipt"])[0]
            self.assertEqual(row["client_ip"], stored, xff)

    def test_receipts_are_the_latest_ones(self):
        # a visitor id collects records as long as its token comes back (a consent a minute per client address, and
        # an IPv6 /48 is 65,536 of them), and every GET of its receipts was all of them, built whole on the writer
        # thread (16,000 records: 10 MB and 0.1-0.2 s a GET): now the latest 1,000 (CG_RECEIPTS_MAX: 3 here)
        g = self.new_gateway("receipts-max", gateway_config(self.origin.url, store={"sqlite": "consent.db"}), start=False)
        g.env["CG_RECEIPTS_MAX"] = "3"
        g.start()
        t, receipts = None, []
        for i in range(5):
            r = post(g, {"all": i % 2 == 0}, cookie=t)
            self.assertEqual(r.status, 200, r.text)
            t, receipts = token(r), receipts + [r.json()["receipt"]]
            if i == 1:
                two = curl(g.url("/__consent/api/receipts"), cookie=t).json()
                self.assertEqual([x["receipt"] for x in two["records"]], receipts)
                self.assertNotIn("truncated", two)
        r = curl(g.url("/__consent/api/receipts"), cookie=t).json()
        self.assertEqual([x["receipt"] for x in r["records"]], receipts[2:], "the latest three, oldest first")
        self.assertIs(r["truncated"], True)

    def test_withdraw_is_a_record(self):
        t = token(post(self.gw, {"all": True}))
        w = curl(self.gw.url("/__consent/api/consent"), method="DELETE", cookie=t)
        self.assertEqual(w.status, 200, w.text)
        row = rows(self.db, "receipt = '%s'" % w.json()["receipt"])
        self.assertEqual(len(row), 1, "the withdrawal's 200 means its record is on disk")
        self.assertEqual((row[0]["method"], row[0]["granted"], row[0]["refused"]),
                         ("withdraw", "necessary", "functional,analytics,marketing"))
        self.assertEqual(row[0]["visitor"], w.json()["visitor"])

    def test_withdraw_without_javascript(self):
        # the preference centre offered "Withdraw my consent" only to visitors running its script (DELETE): without it,
        # no button, and the nearest thing, "Reject all", records reject_all and clears no site data
        t = token(post(self.gw, {"all": True}))
        for lang, label in (("en", "Withdraw my consent"), ("zh-CN", None)):
            page = curl(self.gw.url("/__consent/?lang=" + lang), cookie=t).text
            box = re.search(r'<form id="cg-withdraw-box" method="post" action="/__consent/api/consent">(.*?)</form>', page, re.S)
            self.assertIsNotNone(box, lang + ": a withdrawal a form can make")
            self.assertIn('<input type="hidden" name="withdraw" value="1">', box.group(1))
            self.assertRegex(box.group(1), r'<button[^>]*type="submit"[^>]*>[^<]+</button>')
            if label:
                self.assertIn(label, box.group(1))
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data="lang=zh-CN&withdraw=1", cookie=t + "; _ga=GA1.1.1",
                 headers=["Content-Type: application/x-www-form-urlencoded"])
        self.assertEqual((r.status, r.header("Location")), (303, "/__consent/?withdrawn=1"), r.text)
        self.assertEqual(r.header("Clear-Site-Data"), '"storage"')
        self.assertIn("_ga=; Max-Age=0; Path=/", r.header_all("Set-Cookie"))
        s = curl(self.gw.url("/__consent/api/state"), cookie=token(r)).json()
        self.assertEqual((s["decided"], [c for c, on in s["categories"].items() if on]), (True, ["necessary"]))
        last = rows(self.db, "visitor = '%s'" % s["visitor"])[-1]
        self.assertEqual((last["method"], last["granted"]), ("withdraw", "necessary"))
        self.assertIn("role=\"status\"", curl(self.gw.url(r.header("Location")), cookie=token(r)).text)

    def test_receipts_export_erase(self):
        a = post(self.gw, {"all": True})
        t = token(a)
        b = post(self.gw, {"all": False}, cookie=t)
        t = token(b)
        r = curl(self.gw.url("/__consent/api/receipts"), cookie=t)
        self.assertEqual(r.status, 200)
        recs = r.json()["records"]
        self.assertEqual([x["receipt"] for x in recs], [a.json()["receipt"], b.json()["receipt"]], "oldest first")
        self.assertEqual(recs[0]["granted"], ["necessary", "functional", "analytics", "marketing"])
        self.assertEqual(recs[1]["method"], "reject_all")
        d = curl(self.gw.url("/__consent/api/receipts?download=1"), cookie=t)
        self.assertIn("attachment", d.header("Content-Disposition"))
        self.assertEqual(d.json()["records"], recs)
        visitor = a.json()["visitor"]

        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t)
        self.assertEqual(e.status, 200, e.text)
        self.assertEqual(e.json()["erased"], 2)
        self.assertEqual(rows(self.db, "visitor = '%s'" % visitor), [], "the visitor id is gone from the store")
        erased = rows(self.db, "receipt IN ('%s', '%s')" % (a.json()["receipt"], b.json()["receipt"]))
        self.assertTrue(all(x["visitor"].startswith("erased-") and x["visitor_nonce"] is None for x in erased))
        last = rows(self.db, "receipt = '%s'" % e.json()["receipt"])[0]
        self.assertEqual(last["method"], "erase")
        # the new token is a new visitor, undecided, what was refused still refused; the old id has no receipts left
        t2 = token(e)
        self.assertIsNotNone(t2)
        s = curl(self.gw.url("/__consent/api/state"), cookie=t2).json()
        self.assertNotEqual(s["visitor"], visitor)
        self.assertFalse(s["categories"]["analytics"])
        self.assertFalse(s["decided"])
        self.assertEqual(curl(self.gw.url("/__consent/api/receipts"), cookie=t2).json()["records"], [])
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("chain intact", v.stdout)

    def test_the_id_after_an_erasure_does_not_lead_back_to_the_erased_records(self):
        # the erase record carries the pseudonym of the erased records and the erasure's time; a new visitor id made as
        # for a first decision starts with the time it was made (48 bits of ms), which was that time: the new id,
        # in every record its owner makes from then on, pointed at the erase record and through it at the erased ones
        t = token(post(self.gw, {"all": True}))
        for _ in range(3):
            e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t)
            self.assertEqual(e.status, 200, e.text)
            erase = rows(self.db, "receipt = '%s'" % e.json()["receipt"])[0]
            t = token(e)
            new_id = curl(self.gw.url("/__consent/api/state"), cookie=t).json()["visitor"]
            self.assertGreater(abs(int(new_id[:12], 16) - erase["time_ms"]), 60000, (new_id, erase["time_ms"]))
            t = token(post(self.gw, {"all": True}, cookie=t))

    def test_an_erased_id_is_gone_from_the_files(self):
        # the pseudonymised rows' earlier versions stayed in the WAL's frames (the file keeps them until later commits
        # happen to overwrite them): an erased visitor id could be read back from consent.db-wal
        a = post(self.gw, {"all": True})
        visitor, t = a.json()["visitor"].encode(), token(a)
        for i in range(3):
            t = token(post(self.gw, {"all": bool(i % 2)}, cookie=t))
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t)
        self.assertEqual(e.status, 200, e.text)
        for name in ("consent.db", "consent.db-wal"):
            if os.path.exists(self.gw.path(name)):
                with open(self.gw.path(name), "rb") as f:
                    self.assertFalse(visitor in f.read(), "the erased id is still in " + name)

    def test_an_erasure_while_an_operator_reads_the_store(self):
        # README: an operator's sqlite3 holding a read transaction keeps the WAL as it is (logged), and the next
        # erasure empties it
        a = post(self.gw, {"all": True})
        visitor = a.json()["visitor"].encode()
        reader = sqlite3.connect(self.db)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM records").fetchone()
            e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=token(a))
            self.assertEqual(e.status, 200, e.text)
            self.assertTrue(harness.wait_until(lambda: "the WAL still holds what the erasure removed" in self.gw.error_log(), 5))
        finally:
            reader.close()
        b = post(self.gw, {"all": True})
        self.assertEqual(curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=token(b)).status, 200)
        for name in ("consent.db", "consent.db-wal"):
            if os.path.exists(self.gw.path(name)):
                with open(self.gw.path(name), "rb") as f:
                    self.assertFalse(visitor in f.read(), "the first erased id is still in " + name)
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_a_consent_is_not_relied_on_once_its_records_are_erased(self):
        # after an erasure the visitor's token named a new id that no record names, and still said "decided, everything
        # granted": a consent the store could no longer show (GDPR art. 7(1)) kept releasing cookies and trackers
        t = token(post(self.gw, {"all": True}))
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t)
        self.assertEqual(e.status, 200, e.text)
        s = curl(self.gw.url("/__consent/api/state"), cookie=token(e)).json()
        self.assertEqual(curl(self.gw.url("/__consent/api/receipts"), cookie=token(e)).json()["records"], [])
        self.assertFalse(s["decided"], "asked again")
        self.assertEqual([c for c, on in s["categories"].items() if on], ["necessary"], "opt-in: nothing until asked")

    def test_an_erasure_expires_the_refused_cookies_it_carries(self):
        # the erasure's answer sets the new token, so the filter that expires refused cookies on the gateway's own
        # answers passes it over (it counts on such an answer to have done it), and the erasure did not: a refused
        # cookie the request carried outlived it (found by test_model)
        t = token(post(self.gw, {"all": False}))
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie="; ".join([t, "_ga=GA1.1.1.1", "CRAFT_CSRF_TOKEN=c1"]))
        self.assertEqual(e.status, 200, e.text)
        self.assertIsNotNone(token(e))
        self.assertIn("_ga=; Max-Age=0; Path=/", e.header_all("Set-Cookie"))
        self.assertFalse([v for v in e.header_all("Set-Cookie") if v.startswith("CRAFT_CSRF_TOKEN=")], "necessary: kept")

    def test_erase_from_a_form_without_javascript(self):
        t = token(post(self.gw, {"all": True}))
        r = curl(self.gw.url("/__consent/api/erase"), method="POST", data="", cookie=t,
                 headers=["Content-Type: application/x-www-form-urlencoded"])
        self.assertEqual(r.status, 303, r.text)
        # back to the receipts page, which says how many records went and shows the erasure's receipt
        self.assertRegex(r.header("Location"), r"^/__consent/receipts\?erased=1&receipt=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertIsNotNone(token(r), "the visitor continues under a new id")

    def test_erase_and_receipts_without_a_visitor_touch_nothing(self):
        # no token, or one that does not verify: no visitor whose records could be erased or shown, and no record
        # written (an erase record for nobody would be a record of nothing)
        n = len(rows(self.db))
        for cookie in (None, "cg_consent=v1.forged.token"):
            e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=cookie)
            self.assertEqual((e.status, e.json()), (200, {"erased": 0, "receipt": None}), e.text)
            self.assertIsNone(token(e))
            f = curl(self.gw.url("/__consent/api/erase"), method="POST", data="", cookie=cookie,
                     headers=["Content-Type: application/x-www-form-urlencoded"])
            self.assertEqual((f.status, f.header("Location")), (303, "/__consent/receipts?erased=0"), f.text)
            r = curl(self.gw.url("/__consent/api/receipts"), cookie=cookie)
            self.assertEqual(r.json(), {"visitor": None, "records": []})
        self.assertEqual(len(rows(self.db)), n)

    def test_admin_records_stream(self):
        since = int(time.time() * 1000)
        for i in range(3):
            post(self.gw, {"all": bool(i % 2)})
        r = curl(self.gw.admin_url("/admin/records?since=%d" % since), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/x-ndjson")
        lines = [json.loads(l) for l in r.text.splitlines()]
        self.assertEqual(len(lines), 3)
        self.assertTrue(all(l["time_ms"] >= since for l in lines))
        for bad in ("x", "-1", "99999999999999999999", "1" + "0" * 30):  # not a number, negative, overflow, cut off
            self.assertEqual(curl(self.gw.admin_url("/admin/records?since=" + bad),
                                  headers=["Authorization: Bearer " + ADMIN_TOKEN]).status, 400, bad)
        self.assertEqual(curl(self.gw.admin_url("/admin/records")).status, 401)

    def test_admin_stream_pages_through_many_records(self):
        # more than one writer page (500 rows) without building the answer in memory
        before = len(rows(self.db))
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.gw.port, timeout=10)
        for i in range(1203):
            conn.request("POST", "/__consent/api/consent", body='{"all": false}', headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
        conn.close()
        r = curl(self.gw.admin_url("/admin/records?since=0"), headers=["Authorization: Bearer " + ADMIN_TOKEN], timeout=30)
        lines = r.text.splitlines()
        self.assertEqual(len(lines), before + 1203)
        seqs = [json.loads(l)["seq"] for l in lines]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(set(seqs)), len(seqs))
        # a client that goes away after the first page (the next one asked of the writer, or on its way): the
        # answer's page and the request are let go (no ASan report at stop), and the next export is whole
        import socket
        import struct
        for wait in (0, 0.05, 0.3):
            s = socket.create_connection(("127.0.0.1", self.gw.admin_port))
            s.sendall(b"GET /admin/records?since=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                      % ADMIN_TOKEN.encode())
            self.assertIn(b" 200 ", s.recv(4096))
            time.sleep(wait)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
            s.close()
        r = curl(self.gw.admin_url("/admin/records?since=0"), headers=["Authorization: Bearer " + ADMIN_TOKEN], timeout=30)
        self.assertEqual(len(r.text.splitlines()), before + 1203)

    def test_bad_bodies_write_nothing(self):
        n = len(rows(self.db))
        for body in ('{"all": 1}', '{"categories": {"ads": true}}', "x" * 5000):
            r = curl(self.gw.url("/__consent/api/consent"), method="POST", data=body, headers=["Content-Type: application/json"])
            self.assertIn(r.status, (400, 413))
            self.assertIsNone(token(r))
        self.assertEqual(len(rows(self.db)), n)


class StoreFailureTest(GatewayTestCase):
    """The store made read-only or removed mid-run: 503 and no cookie; restart keeps every record."""
    config = {"store": {"sqlite": "store/consent.db"}}

    def test_a_system_without_statx_stores_records(self):
        # the writer checks its files before each batch with statx(); where the system call is refused rather than
        # missing (EPERM: a container's seccomp profile from before statx, as Docker's before 18.04; a systemd
        # SystemCallFilter), every batch failed ("the database file … is gone: Operation not permitted", 503 to every
        # consent) where stat() works
        def deny_statx():
            lib = ctypes.CDLL("libseccomp.so.2")
            lib.seccomp_init.restype = ctypes.c_void_p
            f = ctypes.c_void_p(lib.seccomp_init(0x7fff0000))  # SCMP_ACT_ALLOW
            if lib.seccomp_rule_add(f, 0x00050000 | errno.EPERM, lib.seccomp_syscall_resolve_name(b"statx"), 0) != 0 or \
                    lib.seccomp_load(f) != 0:
                os._exit(99)

        g = self.new_gateway("no-statx", gateway_config(self.origin.url, **self.config), start=False)
        g.preexec = deny_statx
        g.start()
        r = post(g, {"all": True})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual([x["receipt"] for x in rows(g.path("store/consent.db"))], [r.json()["receipt"]])
        g.stop_and_check()

    def test_read_only_then_removed_then_restart(self):
        db = self.gw.path("store/consent.db")
        ok = post(self.gw, {"all": True})
        self.assertEqual(ok.status, 200)
        failed = metric(self.gw, "cg_store_failed_total")
        os.chmod(db, 0o444)
        r = post(self.gw, {"all": False})
        self.assertEqual(r.status, 503, r.text)
        self.assertIsNone(token(r), "no cookie without a durable record")
        self.assertEqual(r.json()["error"], "store_unavailable")
        self.assertEqual(metric(self.gw, "cg_store_failed_total"), failed + 1, "an operator can alert on it")
        self.assertEqual(metric(self.gw, "cg_store_queue"), 0)
        os.chmod(db, 0o640)
        self.assertEqual(post(self.gw, {"all": False}).status, 200, "recovers once writable again")
        kept = {x["receipt"] for x in rows(db)}
        self.assertEqual(len(kept), 2)

        shutil.move(self.gw.path("store"), self.gw.path("store-moved"))
        r = post(self.gw, {"all": True})
        self.assertEqual(r.status, 503, r.text)
        self.assertIsNone(token(r))
        shutil.move(self.gw.path("store-moved"), self.gw.path("store"))

        self.gw.stop_and_check()
        self.gw.start()
        self.assertEqual({x["receipt"] for x in rows(db)}, kept)
        self.assertEqual(post(self.gw, {"all": True}).status, 200)
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_a_store_another_process_holds_locked(self):
        """An operator's sqlite3 in a write transaction (SQLITE_BUSY past the writer's 5 s): 503 and no cookie, the
        batch not half-written; the next consent once it is let go is taken, and the chain and seal verify."""
        g = self.new_gateway("busy", gateway_config(self.origin.url))
        self.assertEqual(post(g, {"all": True}).status, 200)
        other = sqlite3.connect(g.path("consent.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            r = post(g, {"all": False})
        finally:
            other.execute("ROLLBACK")
            other.close()
        self.assertEqual(r.status, 503, r.text)
        self.assertIsNone(token(r), "no cookie without a durable record")
        self.assertIn("1 records not stored: database is locked", g.error_log())
        self.assertEqual(post(g, {"all": True}).status, 200)
        self.assertEqual(len(rows(g.path("consent.db"))), 2)
        g.stop_and_check()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_a_database_file_replaced_while_running(self):
        """A backup restored with mv while the gateway runs (another file at the store's name): nothing is written into
        the file SQLite still has open, which is no longer the store (503, no cookie), nor into the restored one. The
        -wal file beside it was the old file's, and SQLite leaves it there when it closes a file that lost its name:
        the restart read the restored backup with the old file's pages over it, as corrupted (refused to start), or
        with records it does not have."""
        g = self.new_gateway("replaced", gateway_config(self.origin.url, store={"sqlite": "store/consent.db"}))
        db = g.path("store/consent.db")
        kept = [post(g, {"all": True}).json()["receipt"] for _ in range(3)]
        src, dst = sqlite3.connect(db), sqlite3.connect(db + ".restore")
        src.backup(dst)
        src.close(), dst.close()
        for i in range(300):  # records the backup does not have
            self.assertEqual(post(g, {"all": bool(i % 2)}).status, 200)
        os.rename(db + ".restore", db)
        r = post(g, {"all": True})
        self.assertEqual(r.status, 503, r.text)
        self.assertIsNone(token(r), "no cookie without a durable record")
        self.assertIn("the database file %s was replaced" % db, g.error_log())
        g.stop_and_check()
        g.start()
        self.assertEqual([x["receipt"] for x in rows(db)], kept, "the restored file as it was")
        self.assertEqual(post(g, {"all": True}).status, 200)
        g.stop_and_check()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_form_posts_without_javascript_come_back_to_a_page_that_says_why(self):
        """The preference centre and receipts page post forms; a failure is a page, not the API's JSON."""
        en = json.load(open(os.path.join(harness.REPO, "static", "i18n", "en.json")))
        g = self.new_gateway("forms", gateway_config(self.origin.url, store={"sqlite": "store/consent.db"}))
        t = token(post(g, {"all": True}))
        db = g.path("store/consent.db")
        before = len(rows(db))
        os.chmod(db, 0o444)
        try:
            r = curl(g.url("/__consent/api/consent"), method="POST", data="category=analytics&lang=en", cookie=t,
                     headers=["Content-Type: application/x-www-form-urlencoded"])
            e = curl(g.url("/__consent/api/erase"), method="POST", data="", cookie=t,
                     headers=["Content-Type: application/x-www-form-urlencoded", "Origin: " + g.url("").rstrip("/")])
        finally:
            os.chmod(db, 0o640)
        # back with what was asked for: the switches show it, so trying again is one click (it showed the consent in force)
        self.assertEqual((r.status, r.header("Location")), (303, "/__consent/?error=store_unavailable&chosen=necessary,analytics"),
                         r.text)
        shown = curl(g.url(r.header("Location")), headers=["Accept-Language: en"], cookie=t).text
        checked = re.findall(r'<input type="checkbox" role="switch" id="cg-c-(\w+)"[^>]*\schecked', shown)
        self.assertEqual(checked, ["necessary", "analytics"], "the token in force grants everything; the page shows the choice")
        self.assertIsNone(token(r), "no cookie without a durable record")
        self.assertEqual((e.status, e.header("Location")), (303, "/__consent/receipts?error=store_unavailable"), e.text)
        self.assertEqual(len(rows(db)), before)
        alert = r'role="alert"[^>]*>%s<' % re.escape(html.escape(en["error.store_unavailable"], quote=True))
        for page in ("/__consent/?error=store_unavailable", "/__consent/receipts?error=store_unavailable"):
            self.assertRegex(curl(g.url(page), headers=["Accept-Language: en"], cookie=t).text, alert, page)
        self.assertNotIn('role="alert"', curl(g.url("/__consent/"), headers=["Accept-Language: en"]).text)

    def test_a_failed_erasure_is_counted_and_logged(self):
        # cg_store_failed_total is what an operator alerts on for records not stored; an erasure that failed (its
        # erase record not stored, the visitor's records not pseudonymised) was answered 503 and neither counted nor logged
        g = self.new_gateway("erase-fails", gateway_config(self.origin.url, store={"sqlite": "store/consent.db"}))
        t = token(post(g, {"all": True}))
        failed = metric(g, "cg_store_failed_total")
        os.chmod(g.path("store/consent.db"), 0o444)
        try:
            e = curl(g.url("/__consent/api/erase"), method="POST", cookie=t)
        finally:
            os.chmod(g.path("store/consent.db"), 0o640)
        self.assertEqual(e.status, 503, e.text)
        self.assertIsNone(token(e))
        self.assertEqual(metric(g, "cg_store_failed_total"), failed + 1)
        self.assertIn("an erasure not done", g.error_log())

    def test_a_failed_erasure_leaves_the_chain_as_it_was(self):
        """An erasure that fails after its erase record went in (here the seal's write, refused by a trigger an outside
        sqlite3 adds for the test) is rolled back whole, and the chain's head in the writer goes back with it: the next
        consent chains to the last record there is, and the chain verifies. (Mutation testing found nothing that failed
        if the head stayed on the rolled-back erase record. And the seal's statement, not reset after its failed step,
        failed the next batch too: sqlite3_reset returns the outcome of the step before it.)"""
        d = os.path.join(self.tmp, "erase-rollback")
        os.makedirs(d)
        path = os.path.join(d, "consent.db")
        g = self.new_gateway("erase-rollback", gateway_config(self.origin.url, store={"sqlite": path}))
        t = token(post(g, {"all": True}))
        db = sqlite3.connect(path)
        self.assertIsNotNone(db.execute("SELECT value FROM meta WHERE key = 'seal'").fetchone(), "the store is sealed")
        db.execute("CREATE TRIGGER cg_test_fail BEFORE INSERT ON meta WHEN NEW.key = 'seal' AND "
                   "EXISTS (SELECT 1 FROM records WHERE method = 'erase') BEGIN SELECT RAISE(ABORT, 'injected'); END")
        db.commit()
        e = curl(g.url("/__consent/api/erase"), method="POST", cookie=t)
        self.assertEqual(e.status, 503, e.text)
        db.execute("DROP TRIGGER cg_test_fail")
        db.commit()
        db.close()
        self.assertEqual(post(g, {"all": False}, cookie=t).status, 200, g.error_log())
        g.stop_and_check()
        self.assertEqual([(r["method"], r["visitor_nonce"] is not None) for r in rows(path)], [("accept_all", True), ("reject_all", True)])
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)

    def test_corrupt_database_refuses_to_start(self):
        d = os.path.join(self.tmp, "corrupt")
        os.makedirs(d)
        path = os.path.join(d, "bad.db")
        garbage = b"SQLite format 3\x00" + os.urandom(4096)
        with open(path, "wb") as f:
            f.write(garbage)
        g = self.new_gateway("corrupt", gateway_config(self.origin.url, store={"sqlite": path}), start=False)
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn("refusing to start", str(cm.exception))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), garbage, "the file is never recreated over")


    def test_version_1_store_is_migrated(self):
        # a store as the first schema left it: records, no injections or revocations table; its records must survive the
        # migration
        d = os.path.join(self.tmp, "v1")
        os.makedirs(d)
        path = os.path.join(d, "store.db")
        g = self.new_gateway("v1", gateway_config(self.origin.url, store={"sqlite": path}))
        kept = [post(g, {"all": True}).json()["receipt"] for _ in range(3)]
        g.stop_and_check()
        db = sqlite3.connect(path)
        db.executescript("DROP TABLE injections; DROP TABLE revocations; DELETE FROM meta WHERE key IN ('revocation_salt', "
                         "'revocations_seal', 'token_max_age_days');"
                         "UPDATE meta SET value = '1' WHERE key = 'schema_version';")
        db.close()
        g.start()
        r = curl(g.url("/__consent/report"), method="POST", headers=["Content-Type: application/csp-report"],
                 data=json.dumps({"csp-report": {"document-uri": "http://127.0.0.1/", "blocked-uri": "https://inject.example/x.js",
                                                 "violated-directive": "script-src"}}))
        self.assertEqual(r.status, 204, r.text)
        self.assertEqual(post(g, {"all": False}).status, 200)
        g.stop_and_check()
        db = sqlite3.connect(path)
        self.assertEqual(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0], "3")
        self.assertEqual(db.execute("SELECT blocked_host FROM injections").fetchall(), [("inject.example",)])
        self.assertTrue(set(kept) <= {r[0] for r in db.execute("SELECT receipt FROM records")})
        db.close()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_corrupted_page_inside_refuses_to_start(self):
        # a valid store with enough records to span many pages, then one page in the middle overwritten
        d = os.path.join(self.tmp, "corrupt-page")
        os.makedirs(d)
        path = os.path.join(d, "store.db")
        g = self.new_gateway("corrupt-page", gateway_config(self.origin.url, store={"sqlite": path}))
        for _ in range(40):
            self.assertEqual(post(g, {"all": True}).status, 200)
        g.stop_and_check()
        db = sqlite3.connect(path)
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.close()
        self.assertGreaterEqual(pages, 6)
        with open(path, "r+b") as f:
            f.seek(page_size * (pages // 2))
            f.write(b"\xa5" * page_size)
        with open(path, "rb") as f:
            damaged = f.read()
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn("corrupted", str(cm.exception))
        self.assertIn("refusing to start", str(cm.exception))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), damaged, "the damaged file is left as it is for recovery")


    def test_records_removed_while_down_are_caught(self):
        d = os.path.join(self.tmp, "sealed")
        os.makedirs(d)
        path = os.path.join(d, "store.db")
        g = self.new_gateway("sealed", gateway_config(self.origin.url, store={"sqlite": path}))
        receipts = [post(g, {"all": bool(i % 2)}).json()["receipt"] for i in range(5)]
        g.stop_and_check()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("5 records, chain intact, seal matches", v.stdout)
        # the newest record deleted: what is left still chains, but no longer matches the seal
        db = sqlite3.connect(path)
        db.execute("DELETE FROM records WHERE receipt = ?", (receipts[-1],))
        db.commit()
        db.close()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 1, v.stdout)
        self.assertIn("seal does not match", v.stdout)
        with self.assertRaises(RuntimeError) as cm:
            g.start()
        self.assertIn("seal does not match", str(cm.exception), "it does not chain on from what is left and seal that")


class PlaceTest(GatewayTestCase):
    """A record shows why its regime applied: a regime decided by a subdivision's rule (US-WA here: MaxMind's test
    database has no Californian address) is recorded with the subdivision, every other one with the country alone."""
    CITY_DB = os.path.join(harness.REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb")
    config = {"geoip": {"database": CITY_DB, "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"US-WA": "opt-out", "GB": "notice", "SE": "opt-in"}}}

    def test_subdivision_recorded_when_its_rule_decided(self):
        db = self.gw.path("consent.db")
        # a GPC visitor's first page (the gpc record), then a consent and an erasure, from Washington state
        wa = ["X-Forwarded-For: 216.160.83.57"]
        page = curl(self.gw.url("/"), headers=wa + ["Sec-GPC: 1"])
        self.assertEqual(page.status, 200)
        t = token(page)
        self.assertIsNotNone(t, "the GPC refusal was recorded")
        c = post(self.gw, {"all": False}, headers=wa, cookie=t)
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", headers=wa, cookie=token(c))
        self.assertEqual((c.status, e.status), (200, 200), c.text + e.text)
        mine = rows(db)[-3:]
        self.assertEqual([(r["method"], r["regime"], r["country"]) for r in mine],
                         [("gpc", "opt-out", "US-WA"), ("reject_all", "opt-out", "US-WA"), ("erase", "opt-out", "US-WA")])
        # by the country's rule (England has none of its own), by none, an unknown place: the country alone, no more
        # than the regime needs
        for xff, want in (("81.2.69.161", ("notice", "GB")), ("89.160.20.113", ("opt-in", "SE")),
                          ("2001:218::1", ("opt-in", "JP")), ("10.1.2.3", ("opt-in", ""))):
            r = post(self.gw, {"all": True}, headers=["X-Forwarded-For: " + xff])
            self.assertEqual(r.status, 200, r.text)
            row = rows(db, "receipt = '%s'" % r.json()["receipt"])[0]
            self.assertEqual((row["regime"], row["country"]), want, xff)


class UiFilesTest(GatewayTestCase):
    """A record's ui_hash names the UI served. The files were served from the disk and hashed at start: a banner.css
    edited while the gateway ran (or an upgrade's files installed before its restart) went out at once, and the records
    went on naming the old files. Now they are read once: what is served is what is hashed, until a restart."""
    start_gateway = False

    def test_files_changed_while_running_are_neither_served_nor_named(self):
        # an installed layout of its own (bin/consentgate finds ../static and ../conf), whose static/ the test may edit
        root = os.path.join(self.tmp, "install")
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "conf"))
        shutil.copy(harness.CG_BIN, os.path.join(root, "bin", "consentgate"))
        shutil.copy(os.path.join(harness.REPO, "conf", "cookies.json"), os.path.join(root, "conf"))
        static = os.path.join(root, "static")
        shutil.copytree(os.path.join(harness.REPO, "static"), static)
        g = self.new_gateway("installed", gateway_config(self.origin.url), start=False)
        g.binary = os.path.join(root, "bin", "consentgate")
        g.start()
        started = harness.ui_hash(static=static)
        css = curl(g.url("/__consent/banner.css"))
        with open(os.path.join(static, "banner.css"), "a") as f:
            f.write("\n#cg-banner { display: none }\n")  # (a banner nobody sees)
        again = curl(g.url("/__consent/banner.css"), headers=["If-None-Match: " + css.header("ETag")])
        self.assertEqual(again.status, 304, "the banner.css of the start is still the one served")
        self.assertEqual(curl(g.url("/__consent/banner.css")).body, css.body)
        r = post(g, {"all": True})
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(rows(g.path("consent.db"), "receipt = '%s'" % r.json()["receipt"])[0]["ui_hash"], started)
        g.stop_and_check()
        g.start()  # the restart reads, serves and names the new files
        self.assertIn(b"display: none", curl(g.url("/__consent/banner.css")).body)
        r = post(g, {"all": True})
        self.assertEqual(rows(g.path("consent.db"), "receipt = '%s'" % r.json()["receipt"])[0]["ui_hash"],
                         harness.ui_hash(static=static))
        self.assertNotEqual(harness.ui_hash(static=static), started)


class TamperTest(GatewayTestCase):
    """--verify-records names the row an edit of the store broke, whichever column it was in."""
    config = {"store": {"sqlite": "consent.db"}}

    def test_every_column_and_a_record_moved_to_another_visitor(self):
        t = None
        for i in range(5):  # two visitors; the third record is erased (a pseudonym, no nonce)
            t = token(post(self.gw, {"all": bool(i % 2)}, cookie=t if i != 3 else None))
            if i == 2:
                self.assertEqual(curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t).status, 200)
        self.gw.stop_and_check()
        path = self.gw.path("consent.db")
        with open(path, "rb") as f:
            pristine = f.read()
        target = [r for r in rows(path) if r["visitor_nonce"] is not None][0]
        erased = [r for r in rows(path) if r["visitor_nonce"] is None and r["method"] != "erase"][0]

        def changed(v):
            if isinstance(v, int):
                return v + 1
            return ("0" if v[:1] != "0" else "1") + v[1:]

        edits = [("%s of seq %d" % (c, target["seq"]), target, "%s = ?" % c, (changed(target[c]),))
                 for c in target if c not in ("seq",)]
        # a record given to another visitor by dropping its nonce, as an erasure drops it; and an erased record's
        # pseudonym replaced by someone's id
        edits += [("nonce dropped, visitor replaced", target, "visitor_nonce = NULL, visitor = ?", ("00" * 16,)),
                  ("erased record given a visitor id", erased, "visitor = ?", (target["visitor"],)),
                  # the same bytes written otherwise (sscanf's %2hhx read them alike): another id to the store, whose
                  # receipts and erasure look records up by the id as written, so the record hid from its visitor
                  ("visitor id in upper case", target, "visitor = ?", (target["visitor"].upper(),))]
        self.assertNotEqual(target["visitor"].upper(), target["visitor"])
        for name, row, assignment, args in edits:
            with open(path, "wb") as f:
                f.write(pristine)
            db = sqlite3.connect(path)
            db.execute("UPDATE records SET %s WHERE seq = ?" % assignment, args + (row["seq"],))
            db.commit()
            db.close()
            v = run_binary(["-c", self.gw.config_path, "--verify-records"])
            self.assertEqual(v.returncode, 1, name + ": " + v.stdout)
            self.assertIn("BROKEN at record seq=%d " % row["seq"], v.stdout, name)
        with open(path, "wb") as f:
            f.write(pristine)
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_a_store_written_meanwhile_is_read_as_of_one_moment(self):
        # --verify-records on a store the gateway writes (the README's backups, an operator's check): every commit leaves
        # the chain, its seal and the revocations' seal matching, so each run must find them intact. Read statement by
        # statement, the seals were read after a later commit than the rows they were checked against: "BROKEN".
        g = self.new_gateway("live", gateway_config(self.origin.url, **self.config))
        t = token(post(g, {"all": True}))
        self.assertEqual(post(g, {"all": False}, cookie=t).status, 200)  # (a revocation)
        g.stop_and_check()
        path, secrets = g.path("consent.db"), g.path("secrets.json")
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # (the writer thread's, after the seed)
        db.row_factory = sqlite3.Row
        last = dict(db.execute("SELECT * FROM records ORDER BY seq DESC LIMIT 1").fetchone())

        def append(n, tag):  # records as the gateway chains them, a revocation row, both seals: one commit
            nonlocal last
            db.execute("BEGIN IMMEDIATE")
            for i in range(n):
                last = dict(last, seq=last["seq"] + 1, receipt="%s-%d" % (tag, i), prev_hash=last["hash"])
                last["hash"] = chain_hash(last)
                cols = sorted(last)
                db.execute("INSERT INTO records (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                           [last[c] for c in cols])
            db.execute("INSERT INTO revocations (visitor_hash, category, cut) VALUES (?, 'analytics', 1)",
                       (hashlib.md5(tag.encode()).hexdigest(),))
            reseal(secrets, db)
            reseal_revocations(secrets, db)
            db.execute("COMMIT")

        append(3000, "seed")
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        stop = threading.Event()

        def writer():
            n = 0
            while not stop.is_set():
                append(1, "live-%d" % n)
                n += 1
                time.sleep(0.002)

        w = threading.Thread(target=writer)
        w.start()
        self.assertTrue(harness.wait_until(lambda: last["receipt"].startswith("live-"), 10))
        try:
            runs = [run_binary(["-c", g.config_path, "--verify-records"]) for _ in range(8)]
        finally:
            stop.set()
            w.join()
            db.close()
        self.assertFalse(w.is_alive())
        self.assertGreater(int(last["receipt"].split("-")[1]), 8, "the writer wrote while the runs read")
        for v in runs:
            self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
            self.assertIn("chain intact, seal matches", v.stdout)

    def test_a_config_that_does_not_load_is_not_a_broken_chain(self):
        # exit 1 is "broken" (tampering); a store that could not even be found is "unreadable", 2, as a usage error is
        bad = self.gw.path("bad.json")
        with open(bad, "w") as f:
            f.write('{"listen": [{"port": 8080}], "upstream": "http://127.0.0.1:9000", "store": {"queue_max": 0}}')
        for config in (bad, self.gw.path("nosuch.json")):
            v = run_binary(["-c", config, "--verify-records"])
            self.assertEqual(v.returncode, 2, config + ": " + v.stdout + v.stderr)
            self.assertNotIn("BROKEN", v.stdout)
        self.assertEqual(run_binary(["-c", bad, "--check-config"]).returncode, 1)


class LostWalTest(GatewayTestCase):
    """After SIGKILL the newest records are in consent.db-wal only. That file removed or cut short while the gateway is
    down: SQLite opens what the database file holds without a word (here: no table at all, and a new store was made
    over it). The WAL's index (-shm) tells: the start is refused and --verify-records says so."""
    start_gateway = False

    def test_missing_or_short_wal_after_a_crash_refuses_to_start(self):
        import signal
        g = self.new_gateway("lost-wal", gateway_config(self.origin.url, store={"sqlite": "store/consent.db"}))
        acked = [post(g, {"all": bool(i % 2)}).json()["receipt"] for i in range(10)]
        g.proc.send_signal(signal.SIGKILL)
        g.proc.wait()
        g.proc = None
        db, wal = g.path("store/consent.db"), g.path("store/consent.db-wal")
        with open(wal, "rb") as f:
            whole = f.read()
        for damage, data in (("cut short", whole[:-3 * (4096 + 24)]), ("missing", None)):
            if data is None:
                os.unlink(wal)
            else:
                with open(wal, "wb") as f:
                    f.write(data)
            files = {n: open(g.path("store/" + n), "rb").read() for n in os.listdir(g.path("store"))}
            v = run_binary(["-c", g.config_path, "--verify-records"])
            self.assertEqual(v.returncode, 1, damage + ": " + v.stdout)
            self.assertIn("-wal file is " + damage, v.stdout)
            with self.assertRaises(RuntimeError) as cm:
                g.start()
            self.assertIn("-wal file is " + damage, str(cm.exception))
            self.assertIn("refusing to start", str(cm.exception))
            self.assertEqual({n: open(g.path("store/" + n), "rb").read() for n in os.listdir(g.path("store"))}, files,
                             "the files are left as they are")
        with open(wal, "wb") as f:
            f.write(whole)
        g.start()
        self.assertEqual({r["receipt"] for r in rows(db)}, set(acked), "restored: every acknowledged record is back")
        g.stop_and_check()
        v = run_binary(["-c", g.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)


class WalRemovedWhileRunningTest(GatewayTestCase):
    """consent.db-wal removed while the gateway runs: SQLite went on committing into the unlinked file, each record
    answered 200, and all of them since the last checkpoint were gone at the next crash. The writer notices before
    its next commit, copies them into the database through SQLite's open descriptor and makes a new WAL."""
    config = {"store": {"sqlite": "consent.db"}}

    def test_records_survive_a_crash_after_the_wal_was_removed(self):
        before = post(self.gw, {"all": True})
        os.unlink(self.gw.path("consent.db-wal"))
        after = [post(self.gw, {"all": bool(i % 2)}) for i in range(3)]
        self.assertEqual([r.status for r in after], [200] * 3, after[0].text)
        self.assertTrue(os.path.exists(self.gw.path("consent.db-wal")), "a new WAL")
        self.crash_and_check([before] + after)

    def crash_and_check(self, acknowledged):
        """SIGKILL, restart: every acknowledged record is there, and the chain verifies."""
        import signal
        self.gw.proc.send_signal(signal.SIGKILL)
        self.gw.proc.wait()
        self.gw.proc = None
        self.gw.start()
        kept = {r["receipt"] for r in rows(self.gw.path("consent.db"))}
        self.assertEqual({r.json()["receipt"] for r in acknowledged} - kept, set(), "acknowledged records lost")
        self.gw.stop_and_check()
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.gw.start()

    def test_records_survive_a_crash_after_the_wal_was_replaced(self):
        """The -wal removed and another file made at its name before the next commit (a program that opens the
        database, a restore of a copy): a -wal there is not the one SQLite writes into. Seen as a removal: the
        records go into the database file and the WAL is made again."""
        before = post(self.gw, {"all": True})
        wal = self.gw.path("consent.db-wal")
        os.unlink(wal)
        open(wal, "wb").close()
        after = [post(self.gw, {"all": bool(i % 2)}) for i in range(3)]
        self.assertEqual([r.status for r in after], [200] * 3, after[0].text)
        self.crash_and_check([before] + after)


class RetentionTest(GatewayTestCase):
    """Records older than store.retention_days are purged at start; the rest of the chain verifies."""
    config = {"store": {"sqlite": "consent.db", "retention_days": 30}, "policy": {"consent_max_age_days": 30}}

    def test_purge_keeps_chain_verifiable(self):
        receipts = [post(self.gw, {"all": bool(i % 2)}).json()["receipt"] for i in range(6)]
        self.gw.stop_and_check()
        # age the first four records by 60 days and re-chain them (as if written back then)
        db = sqlite3.connect(self.gw.path("consent.db"))
        db.row_factory = sqlite3.Row
        all_rows = [dict(r) for r in db.execute("SELECT * FROM records ORDER BY seq")]
        prev = "0" * 64
        for i, r in enumerate(all_rows):
            if i < 4:
                r["time_ms"] -= 60 * 86400 * 1000
            r["prev_hash"] = prev
            r["hash"] = chain_hash(r)
            prev = r["hash"]
            db.execute("UPDATE records SET time_ms=?, prev_hash=?, hash=? WHERE seq=?",
                       (r["time_ms"], r["prev_hash"], r["hash"], r["seq"]))
        reseal(self.gw.path("secrets.json"), db)  # as the gateway would have sealed them
        db.commit()
        db.close()
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.gw.start()
        self.assertEqual(post(self.gw, {"all": True}).status, 200)  # the writer has run its start-up purge
        left = [r["receipt"] for r in rows(self.gw.path("consent.db"))]
        self.assertEqual(left[:2], receipts[4:])
        self.assertEqual(len(left), 3)
        self.assertIn("purged 4 records older than 30 days", self.gw.error_log())  # (said "1": the seal's row)
        # purged means gone from the files: not left in the database's pages until a checkpoint copies the WAL's over
        for name in ("consent.db", "consent.db-wal"):
            if os.path.exists(self.gw.path(name)):
                with open(self.gw.path(name), "rb") as f:
                    data = f.read()
                self.assertEqual([r for r in receipts[:4] if r.encode() in data], [], "purged receipts still in " + name)
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)

    def test_purge_of_many_records_does_not_hold_the_writer(self):
        # The hourly purge takes an hour's records at once (a busy site's tens of thousands), and a first purge after an
        # outage or a lowered retention more. Its search counted, for every record that goes, the records before it:
        # 40,000 held the writer thread, and every consent behind it, for a minute or more (quadratic).
        old = 40000
        g = self.new_gateway("many-old", gateway_config(self.origin.url, **self.config))
        self.assertEqual(post(g, {"all": True}).status, 200)
        g.stop_and_check()
        db = sqlite3.connect(g.path("consent.db"))
        db.row_factory = sqlite3.Row
        new = dict(db.execute("SELECT * FROM records").fetchone())
        db.execute("UPDATE records SET seq = ? WHERE seq = ?", (old + 1, new["seq"]))
        aged = dict(new, time_ms=new["time_ms"] - 60 * 86400 * 1000)
        cols = sorted(aged)
        db.executemany("INSERT INTO records (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                       ([i if c == "seq" else "old-%d" % i if c == "receipt" else aged[c] for c in cols]
                        for i in range(1, old + 1)))
        reseal(g.path("secrets.json"), db)  # the chain's ends are as they were: the start accepts the store
        db.commit()
        db.close()
        g.start()
        t = time.monotonic()
        r = curl(g.url("/__consent/api/consent"), method="POST", data='{"all": false}',  # after the start-up purge
                 headers=["Content-Type: application/json"], timeout=300)
        took = time.monotonic() - t
        self.assertEqual(r.status, 200, r.text)
        self.assertIn("purged %d records older than 30 days" % old, g.error_log())
        self.assertEqual([x["receipt"] for x in rows(g.path("consent.db"))], [new["receipt"], r.json()["receipt"]])
        self.assertLess(took, 10, "the purge of %d records held a consent for %.1f s" % (old, took))


class CommitDelayTest(GatewayTestCase):
    """store.commit_delay_ms: a commit of fewer than 8 consents waits until the oldest has waited that
    long; 8 queued at once are committed without waiting. Every answer still follows its commit."""
    config = {"store": {"sqlite": "consent.db", "commit_delay_ms": 1000}}

    def test_lone_consent_waits_eight_do_not(self):
        t = time.monotonic()
        r = post(self.gw, {"all": True})
        lone = time.monotonic() - t
        self.assertEqual(r.status, 200, r.text)
        self.assertGreaterEqual(lone, 1.0, "a lone consent waits the commit delay")
        self.assertEqual(len(rows(self.gw.path("consent.db"))), 1)
        with ThreadPoolExecutor(8) as ex:
            t = time.monotonic()
            answers = list(ex.map(lambda i: post(self.gw, {"all": bool(i % 2)}), range(8)))
            eight = time.monotonic() - t
        self.assertEqual([a.status for a in answers], [200] * 8)
        self.assertLess(eight, 0.8, "eight queued at once fill a batch: no wait")
        receipts = {r["receipt"] for r in rows(self.gw.path("consent.db"))}
        self.assertTrue({a.json()["receipt"] for a in answers} <= receipts, "every 200 is on disk")
        t = time.monotonic()
        mine = curl(self.gw.url("/__consent/api/receipts"), cookie=token(r))
        self.assertEqual(mine.status, 200, mine.text)
        self.assertLess(time.monotonic() - t, 0.8, "reads do not wait for company")
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)


class DiskFullTest(GatewayTestCase):
    """The disk fills up under the store: 503 and no cookie from then on, every 200 before it is on disk, nothing
    half-written (after a restart with room again the chain and its seal verify and consents are taken again)."""
    start_gateway = False

    def test_full_disk_503_nothing_lost(self):
        self.gw.preexec = harness.limit_file_size(2 * 1024 * 1024)
        self.gw.start()
        acked, first_503 = [], None
        for i in range(3000):
            r = post(self.gw, {"all": bool(i % 2)})
            if r.status == 200:
                self.assertIsNone(first_503, "a 200 after the disk was full: %s" % r.text)
                acked.append(r.json()["receipt"])
                continue
            self.assertEqual(r.status, 503, r.text)
            self.assertEqual(r.json()["error"], "store_unavailable")
            self.assertIsNone(token(r), "no cookie for a consent that was not recorded")
            first_503 = first_503 if first_503 is not None else i
            if i - first_503 >= 5:
                break
        self.assertIsNotNone(first_503, "the store never hit the size limit")
        self.assertGreater(len(acked), 20)
        self.gw.stop_and_check()
        self.gw.preexec = None
        self.gw.start()
        db_rows = rows(self.gw.path("consent.db"))
        self.assertEqual({x["receipt"] for x in db_rows}, set(acked), "exactly the acknowledged records, no half batch")
        self.assertEqual(post(self.gw, {"all": True}).status, 200, "room again: consents are taken again")
        self.gw.stop_and_check()
        v = run_binary(["-c", self.gw.config_path, "--verify-records"])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn("seal matches", v.stdout)


class QueueBoundTest(GatewayTestCase):
    """store.queue_max: consents beyond the bound are refused at once (503, no cookie), nothing half-written."""
    config = {"store": {"sqlite": "consent.db", "commit_delay_ms": 1000, "queue_max": 2}}

    def test_over_the_bound_is_503_at_once(self):
        with ThreadPoolExecutor(2) as ex:
            waiting = [ex.submit(post, self.gw, {"all": True}) for _ in range(2)]
            time.sleep(0.4)  # both are queued: the writer waits up to 1 s for company
            t = time.monotonic()
            r = post(self.gw, {"all": True})
            self.assertLess(time.monotonic() - t, 0.5, "refused at once, not after the commit")
            self.assertEqual(r.status, 503, r.text)
            self.assertEqual(r.json()["error"], "store_unavailable")
            self.assertIsNone(token(r), "no cookie for a consent that was not recorded")
            answers = [f.result() for f in waiting]
        self.assertEqual([a.status for a in answers], [200, 200])
        self.assertEqual({x["receipt"] for x in rows(self.gw.path("consent.db"))}, {a.json()["receipt"] for a in answers})
        self.assertEqual(post(self.gw, {"all": False}).status, 200, "room again once the queue drained")


class QueueBoundExportTest(GatewayTestCase):
    """store.queue_max and the export (GET /admin/records), whose response starts with its first page."""
    config = QueueBoundTest.config

    def test_export_the_store_refuses_is_503(self):
        # the export's response started before its first page was asked for: the refusal went out as a 200 whose
        # chunked body was broken at once (curl: an error, no status a script could act on, no reason)
        auth = ["Authorization: Bearer " + ADMIN_TOKEN]
        with ThreadPoolExecutor(2) as ex:
            waiting = [ex.submit(post, self.gw, {"all": True}) for _ in range(2)]
            time.sleep(0.4)  # both are queued: the writer waits up to 1 s for company
            for http in ("1.1", "h2c"):
                r = curl(self.gw.admin_url("/admin/records?since=0"), headers=auth, http=http)
                self.assertEqual((r.status, r.exit_code), (503, 0), (http, r, r.body))
                self.assertEqual(r.json()["error"], "store_unavailable")
            self.assertEqual([f.result().status for f in waiting], [200, 200])
        r = curl(self.gw.admin_url("/admin/records?since=0"), headers=auth)
        self.assertEqual((r.status, r.exit_code, r.header("Content-Type")), (200, 0, "application/x-ndjson"), r)
        self.assertEqual(len(r.body.splitlines()), 2)


class CrashTest(GatewayTestCase):
    """SIGKILL at random moments while consents are posted: no acknowledged record is lost."""
    start_gateway = False
    with_origin = False

    def test_sigkill_loses_nothing(self):
        res = crashtest.run(self.tmp, kills=5, log=print)
        self.assertGreater(res["acked"], 20, "the client got too few answers to prove anything")
        self.assertEqual(res["lost"], [], "acknowledged receipts missing after SIGKILL")
        self.assertEqual(res["verify_rc"], 0, res["verify"])
        self.assertEqual(res["stop_rc"], 0)


class RateLimitTest(GatewayTestCase):
    """store.rate_per_minute at its default (60): record writes per client address per minute. Clients told apart
    by the address the trusted proxy forwards, as a gateway behind a CDN must (the CDN's own address would be one
    client)."""
    CITY_DB = os.path.join(harness.REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb")
    config = {"threads": 1, "store": {"rate_per_minute": None},
              "geoip": {"database": CITY_DB, "trusted_proxies": ["127.0.0.1/32"]},
              "regimes": {"default": "opt-in", "by_country": {"GB": "opt-out"}}}

    def posts(self, n, client):
        return curl_many([{"url": self.gw.url("/__consent/api/consent"), "method": "POST", "data": '{"all": true}',
                           "headers": ["Content-Type: application/json", "X-Forwarded-For: " + client]}] * n)

    def count(self, where):
        db = sqlite3.connect(self.gw.path("consent.db"))
        n = db.execute("SELECT count(*) FROM records WHERE " + where).fetchone()[0]
        db.close()
        return n

    def limited(self):
        r = curl(self.gw.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
        return int([l for l in r.text.splitlines() if l.startswith("cg_records_rate_limited_total ")][0].split()[1])

    def test_sixty_a_minute_then_429_and_nothing_written(self):
        before = self.count("client_ip = '198.51.100.0/24'")
        limited = self.limited()
        got = self.posts(60, "198.51.100.7")
        self.assertEqual([r.status for r in got], [200] * 60, got[-1].text)
        r = self.posts(1, "198.51.100.7")[0]
        self.assertEqual(r.status, 429, r.text)
        self.assertEqual(r.json()["error"], "rate_limited")
        self.assertTrue(1 <= int(r.header("Retry-After")) <= 60, r.header("Retry-After"))
        self.assertIsNone(token(r), "nothing was saved: no cookie says otherwise")
        self.assertEqual(self.count("client_ip = '198.51.100.0/24'"), before + 60, "the 61st wrote a record")
        # erasure writes a record too: same window
        t = token(got[0])
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", cookie=t,
                 headers=["X-Forwarded-For: 198.51.100.7", "Origin: " + self.gw.url("").rstrip("/")])
        self.assertEqual(e.status, 429, e.text)
        self.assertEqual(self.count("method = 'erase'"), 0)
        # another address has its own window
        self.assertEqual(self.posts(1, "198.51.100.8")[0].status, 200)
        self.assertEqual(self.limited(), limited + 2)

    def test_form_post_over_the_limit_comes_back_to_the_page(self):
        en = json.load(open(os.path.join(harness.REPO, "static", "i18n", "en.json")))
        client = ["X-Forwarded-For: 198.51.100.20"]
        got = self.posts(60, "198.51.100.20")
        self.assertEqual([r.status for r in got], [200] * 60)
        t = token(got[-1])
        r = curl(self.gw.url("/__consent/api/consent"), method="POST", data="all=0&lang=en", cookie=t,
                 headers=["Content-Type: application/x-www-form-urlencoded"] + client)
        # back with what was asked for ("reject all": necessary only), which the page's switches show
        self.assertEqual((r.status, r.header("Location")), (303, "/__consent/?error=rate_limited&chosen=necessary"), r.text)
        self.assertIsNone(token(r))
        e = curl(self.gw.url("/__consent/api/erase"), method="POST", data="", cookie=t,
                 headers=["Content-Type: application/x-www-form-urlencoded", "Origin: " + self.gw.url("").rstrip("/")] + client)
        self.assertEqual((e.status, e.header("Location")), (303, "/__consent/receipts?error=rate_limited"), e.text)
        alert = r'role="alert"[^>]*>%s<' % re.escape(html.escape(en["error.rate_limited"], quote=True))
        for page in ("/__consent/?error=rate_limited", "/__consent/receipts?error=rate_limited"):
            self.assertRegex(curl(self.gw.url(page), headers=["Accept-Language: en"] + client, cookie=t).text, alert, page)

    def test_ipv6_counts_per_64(self):
        got = self.posts(60, "2001:db8:7:1::1") + self.posts(1, "2001:db8:7:1::ffff")
        self.assertEqual([r.status for r in got], [200] * 60 + [429], "another host of the same /64 is the same client")
        self.assertEqual(self.posts(1, "2001:db8:7:2::1")[0].status, 200, "the next /64 is another client")

    def test_gpc_refusal_over_the_limit_enforced_not_recorded(self):
        gb = "81.2.69.170"  # GB in the MaxMind test database: opt-out, where Sec-GPC refuses marketing
        self.assertEqual([r.status for r in self.posts(60, gb)], [200] * 60)
        before = self.count("method = 'gpc'")
        r = curl(self.gw.url("/__origin/echo?t=gpc-limited"), headers=["X-Forwarded-For: " + gb, "Sec-GPC: 1"],
                 cookie="_fbp=fb.1.1700000000000.1234567890")
        self.assertEqual(r.status, 200, "the page is served")
        self.assertIsNone(token(r), "no token says the refusal was recorded when it was not")
        e = self.origin.assert_reached("t=gpc-limited")
        self.assertEqual(self.origin.header(e, "cookie"), [], "GPC enforced all the same: the marketing cookie stayed out")
        self.assertEqual(self.count("method = 'gpc'"), before)
        with open(self.gw.path("error.log")) as f:
            self.assertNotIn("GPC refusal of a visitor not recorded", f.read(), "a refusal over the limit is counted, not logged")


class RateLimitThreadsTest(GatewayTestCase):
    """The worker threads count one client together: a client whose connections land on both threads gets the
    limit, not the limit once per thread (as when each thread kept its own table)."""
    config = {"threads": 2, "store": {"rate_per_minute": 20}}

    def test_limit_is_per_client_not_per_thread(self):
        # 50 connections (Connection: close), which SO_REUSEPORT spreads over both threads by their ports
        got = curl_many([{"url": self.gw.url("/__consent/api/consent"), "method": "POST", "data": '{"all": true}',
                          "headers": ["Content-Type: application/json", "Connection: close"]}] * 50)
        statuses = [r.status for r in got]
        self.assertEqual(statuses, [200] * 20 + [429] * 30, statuses)
        db = sqlite3.connect(self.gw.path("consent.db"))
        self.assertEqual(db.execute("SELECT count(*) FROM records").fetchone()[0], 20)
        db.close()
