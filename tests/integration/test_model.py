"""Model-based test of the consent state machine.

A small reference model (Model, below) says what README's "Cookies and the consent token" (revocations: a replayed or
planted copy of a token from before a later refusal or an erasure) and "Consent records" promise a visitor: which categories each request is granted, when a token is issued and what it carries, which records exist.
A seeded PRNG makes long random sequences of events (pages, beacons, cookies the origin sets and the browser sends back,
accept / reject / custom / form / withdraw / erase, receipts, the preference centre, travel between regimes, Sec-GPC, a
policy version bumped with a restart, keys rotated and retired with SIGHUP, the token dropped, replayed, expired, tampered
with or joined by one planted with Domain=, the store's file moved away), plays them against the real gateway and
origin, and after every step compares the answers with the model: the state API, the Set-Cookies that reached the
browser (tokens, origin cookies and their lifetimes, expiries of refused ones), the Cookie and Consent-Categories that
reached the origin, beacons forwarded or answered at the edge, the state injected into pages, the receipts and
/admin/records; at the end --verify-records.

On a disagreement it prints the seed and a shortened list of steps that still fails (prefix, then steps removed one
chunk at a time while it still fails), each step a line to read.

Environment: CG_MODEL_SEED (one seed; default: 3 fixed ones), CG_MODEL_STEPS (steps per seed; default 150),
CG_MODEL_SEEDS (how many seeds from CG_MODEL_SEED on; default 1 when CG_MODEL_SEED is set).
"""

import base64
import copy
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import tempfile
import time
import unittest
import urllib.parse

from harness import ADMIN_TOKEN, REPO, Gateway, Origin, gateway_config, run_binary, wait_until

CITY_DB = os.path.join(REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb")
CATS = ("necessary", "functional", "analytics", "marketing")
ALL = frozenset(CATS)
NEC = frozenset({"necessary"})
GPC_REFUSES = frozenset({"marketing"})  # regimes.gpc_refuses' default
# where a visitor is (X-Forwarded-For from the trusted proxy), the regime the config gives it, its country, and the
# place a record names (with the subdivision when a subdivision's rule decided the regime)
PLACES = {
    "GB": ("81.2.69.160", "opt-out", "GB", "GB"),
    "CN": ("175.16.199.0", "opt-in", "CN", "CN"),
    "US-WA": ("216.160.83.56", "notice", "US", "US-WA"),
    "nowhere": ("8.8.8.8", "opt-in", None, None),  # not in MaxMind's test database: regimes.default
}
COOKIES = {"sid": "necessary", "lang": "functional", "_ga": "analytics", "_fbp": "marketing"}
TOKEN = "cg_consent"
MAX_AGE = 365 * 86400  # policy.consent_max_age_days' default: a token's lifetime
ASKED_AGE = 400 * 86400  # what the origin asks for its cookies


# ---- the model: what README promises --------------------------------------------------------------

class Token:
    """What a consent token carries, as far as the visitor's state goes."""

    def __init__(self, visitor, decided, granted, regime, policy, key, gpc=False):
        self.visitor, self.decided, self.granted = visitor, decided, frozenset(granted)
        self.regime, self.policy, self.key = regime, policy, key
        self.gpc = gpc  # says this visitor's GPC refusal is recorded
        self.expired = False
        self.issued = None  # Unix seconds, read from the token the gateway issued

    def __repr__(self):
        return "Token(v%s %s %s %s p%d k%d%s%s)" % (self.visitor, "decided" if self.decided else "undecided",
                                                    sorted(self.granted), self.regime, self.policy, self.key,
                                                    " gpc" if self.gpc else "", " expired" if self.expired else "")


def default_grant(regime, gpc):
    """regimes.default: opt-in grants nothing non-necessary, opt-out all but what Sec-GPC refuses, notice all"""
    if regime == "opt-in":
        return NEC
    if regime == "opt-out" and gpc:
        return ALL - GPC_REFUSES
    return ALL


class Model:
    def __init__(self):
        self.policy = 1
        self.keys = {1}          # key ids in the secrets file
        self.primary = 1
        self.start_key = 1       # the key the store seals with until the next restart (kept in the file)
        self.token = None        # the Token the browser's cg_consent carries, None: none or one that cannot verify
        self.planted = None      # a second cg_consent, set with Domain= by a sibling subdomain (an old token of ours)
        self.visitors = 0
        self.records = []        # [visitor (a label, or ("erased", label)), method, granted, regime, country, policy]
        self.store_down = False  # the store's file moved away: nothing can be written (503, no cookie)
        # README "Withdrawn and erased consent": visitor -> {"cut": {category: second}, "erased": second}
        self.revocations = {}

    def revoked(self, t):
        """t as its visitor's later decisions leave it: None when it predates their erasure (it names nobody and grants
        nothing optional), else t without what a refusal in or after the second it was issued cut"""
        r = self.revocations.get(t.visitor)
        if r is None:
            return t
        if r["erased"] and t.issued <= r["erased"]:
            return None
        cut = {c for c, when in r["cut"].items() if t.issued <= when}
        if not cut & t.granted:
            return t
        t = copy.copy(t)
        t.granted = t.granted - cut
        return t

    def carried(self):
        return [t for t in (self.token, self.planted) if t is not None and t.key in self.keys]

    def verified(self):
        """the tokens the request carries whose signature verifies (in force or of an older policy), as revoked"""
        return [r for r in map(self.revoked, self.carried()) if r is not None]

    def erased_carried(self):
        return any(self.revoked(t) is None for t in self.carried())

    def revoke(self, visitor, granted, when, could):
        """a decision that grants `granted` in second `when`: what it refuses of `could` (what an earlier token of the
        visitor granted: the one presented, or one of their records') is cut then; a visitor with a revocation has a
        category granted again in that second let through from it"""
        cut = (ALL - NEC - granted) & could
        r = self.revocations.get(visitor)
        if r is None and not cut:
            return
        r = r or {"cut": {}, "erased": 0}
        for c in cut:
            r["cut"][c] = max(r["cut"].get(c, 0), when)
        for c in granted - NEC:
            if r["cut"].get(c, 0) >= when:
                r["cut"][c] = when - 1
        self.revocations[visitor] = r

    def erase_revoke(self, visitor, when):
        r = self.revocations.setdefault(visitor, {"cut": {}, "erased": 0})
        for c in ALL - NEC:
            r["cut"][c] = max(r["cut"].get(c, 0), when)
        r["erased"] = max(r["erased"], when)

    def could_grant(self, visitor):
        """what the token presented (the narrowest in force) and the visitor's records granted"""
        ts = self.in_force()
        out = ALL.intersection(*(t.granted for t in ts)) if ts else frozenset()
        for r in self.records:
            if r[0] == visitor:
                out = out | r[2]
        return out

    def in_force(self):
        return [t for t in self.verified() if t.policy == self.policy and not t.expired] or None

    def overrides(self, regime, gpc):
        """Sec-GPC in an opt-out regime after a token made without it (no GPC flag) that grants what it refuses is
        processed as an opt-out all the same (CCPA regs §7025(c)(3)): undecided again, the refusal recorded"""
        ts = self.in_force()
        return (gpc and regime == "opt-out" and ts is not None and not any(t.gpc for t in ts)
                and bool(ALL.intersection(*(t.granted for t in ts)) & GPC_REFUSES))

    def view(self, regime, gpc):
        """(granted, decided, visitor) of a request. A token in force decides, but one decided where choices start
        granted (opt-out, notice) decides nothing in an opt-in regime (Planet49); undecided, or signed under an older
        policy, it still names the visitor and narrows the regime's default: what it refused stays refused. Two tokens
        in force count as the narrower of them; two that name different visitors name none."""
        ts, in_force = self.verified(), self.in_force()
        claims = {t.visitor for t in ts}
        visitor = claims.pop() if len(claims) == 1 else None
        granted = ALL.intersection(*(t.granted for t in in_force or ts))
        if in_force is None and self.erased_carried():  # (a token from before an erasure: as one expired)
            granted = granted & NEC
        decided = (in_force is not None and not self.overrides(regime, gpc)
                   and all(t.decided and (regime != "opt-in" or t.regime == "opt-in") for t in in_force))
        return (granted if decided else default_grant(regime, gpc) & granted), decided, visitor

    def first_gpc(self, regime, gpc):
        """Sec-GPC in an opt-out regime without a token in force (a token says the refusal was recorded, or stands),
        or overriding one"""
        return gpc and regime == "opt-out" and (self.in_force() is None or self.overrides(regime, gpc))

    def gpc_applied(self, regime, gpc):
        """what an erasure's token says of GPC (README: it carries the flag only when the signal was on then; the
        gateway's reading: when the signal refused categories at that request)"""
        ts = self.in_force()
        if ts is None:
            return gpc and regime == "opt-out"
        return not self.view(regime, gpc)[1] and (any(t.gpc for t in ts) or self.overrides(regime, gpc))

    def conflict(self):
        return len({t.visitor for t in self.verified()}) > 1

    def new_visitor(self):
        self.visitors += 1
        return self.visitors

    def record(self, visitor, method, granted, place):
        self.records.append([visitor, method, frozenset(granted), PLACES[place][1], PLACES[place][3], self.policy])

    def issue(self, visitor, decided, granted, regime, gpc=False):
        return Token(visitor, decided, granted, regime, self.policy, self.primary, gpc)


# ---- steps ------------------------------------------------------------------------------------------

WEIGHTS = [("page", 20), ("beacon", 8), ("set", 12), ("accept", 5), ("reject", 5), ("custom", 8), ("withdraw", 4),
           ("erase", 3), ("receipts", 4), ("prefs", 3), ("bump", 1), ("rotate", 2), ("retire", 1), ("restart", 1),
           ("drop", 3), ("replay", 4), ("tamper", 2), ("form", 4), ("form-withdraw", 1), ("plant", 2), ("store", 1), ("age", 2)]


def make_steps(seed, n):
    """n steps from seed: tuples of plain data, so that any sub-list is a valid run too"""
    rng = random.Random(seed)
    kinds = [k for k, w in WEIGHTS for _ in range(w)]
    place, gpc, out = rng.choice(list(PLACES)), False, []
    for _ in range(n):
        if rng.random() < 0.3:  # travel
            place = rng.choice(list(PLACES))
        if rng.random() < 0.2:
            gpc = not gpc
        kind = rng.choice(kinds)
        arg = None
        if kind == "set":
            arg = rng.choice(list(COOKIES))
        elif kind == "custom":
            arg = {c: rng.random() < 0.5 for c in CATS[1:] if rng.random() < 0.7}
        elif kind == "form":  # the preference centre without JavaScript: the boxes ticked
            arg = [c for c in CATS if rng.random() < 0.5]
        elif kind in ("replay", "tamper", "retire", "plant"):
            arg = rng.randrange(1 << 16)
        out.append((kind, place, gpc, arg))
    return out


def fmt_step(s):
    kind, place, gpc, arg = s
    return "%-8s from %-7s%s%s" % (kind, place, " Sec-GPC" if gpc else "", "" if arg is None else " %r" % (arg,))


def issued_second(value):
    """the issued time of a token value (filters/token.h: bytes 26..30 of the payload)"""
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))[26:31], "big")


class Disagreement(AssertionError):
    pass


# ---- the driver: the real gateway, compared with the model after every step -----------------------------------

class Run:
    def __init__(self, workdir):
        self.workdir = workdir
        self.m = Model()
        self.jar = {}              # the browser's cookies: name -> value (cg_consent included)
        self.planted = None        # (value, sent first) of a cg_consent set with Domain=example.com
        self.by_value = {}         # token value -> Token
        self.issued = []           # every token value the gateway issued, for replays
        self.ids = {}              # visitor label -> the id the gateway gave it
        self.n = 0
        self.origin = Origin(workdir).start()
        cfg = gateway_config(
            self.origin.url,
            geoip={"database": CITY_DB, "trusted_proxies": ["127.0.0.1/32"]},
            regimes={"default": "opt-in", "by_country": {"GB": "opt-out", "CN": "opt-in", "US-WA": "notice"}},
            beacons={"endpoints": [{"path": "/collect", "category": "analytics"}]},
            cookies={"overrides": COOKIES},
            policy={"version": 1})
        self.gw = Gateway(workdir, cfg)
        try:
            self.gw.start()
        except BaseException:
            self.origin.stop()
            raise

    def close(self, check=True):
        try:
            if check:
                self.store_away(False)
                self.gw.stop_and_check()
                v = run_binary(["-c", self.gw.config_path, "--verify-records"])
                self.expect(v.returncode == 0, "--verify-records exit %d: %s%s" % (v.returncode, v.stdout, v.stderr))
        finally:
            self.gw.stop()
            self.origin.stop()

    def expect(self, cond, msg):
        if not cond:
            raise Disagreement(msg)

    # -- HTTP ------------------------------------------------------------------------------------

    def request(self, method, path, place, gpc, body=None, ctype=None, port=None, extra=()):
        headers = {"X-Forwarded-For": PLACES[place][0], "Host": "www.example.com"}
        if gpc:
            headers["Sec-GPC"] = "1"
        pairs = ["%s=%s" % kv for kv in self.jar.items()]
        if self.planted:  # a browser sends both: the longer path first, then the older
            pairs.insert(0 if self.planted[1] else len(pairs), "%s=%s" % (TOKEN, self.planted[0]))
        if pairs:
            headers["Cookie"] = "; ".join(pairs)
        if ctype:
            headers["Content-Type"] = ctype
        headers.update(extra)
        c = http.client.HTTPConnection("127.0.0.1", port or self.gw.port, timeout=15)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            c.close()

    def admin(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.gw.admin_port, timeout=15)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + ADMIN_TOKEN})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def tag(self):
        self.n += 1
        return "m%d" % self.n

    # -- what reached the browser and the origin ----------------------------------------------------------

    def take_set_cookies(self, what, headers, basis, token=None, origin_set=None, unplant=False):
        """Checks a response's Set-Cookies and applies them to the jar as a browser would.
        basis: the categories the answer enforces (the request's, or the new decision's): every cookie the request
        carried outside them is expired; token: the Token the model expects to be issued (or None: no token);
        origin_set: (name, value) the origin set, expected through iff its category is in basis."""
        sent = dict(self.jar)
        issued, expired, passed, unplanted = [], set(), {}, False
        for k, v in headers:
            if k.lower() != "set-cookie":
                continue
            nv = v.split(";", 1)[0]
            name, value = nv.split("=", 1) if "=" in nv else ("", nv)
            name = name.strip()
            if name == TOKEN and re.search(r"(?i);\s*max-age=0\s*;.*domain=example\.com", v):
                unplanted = True
            elif re.search(r"(?i);\s*max-age=0\s*(;|$)", v):
                expired.add(name)
            elif name == TOKEN:
                issued.append(value)
            else:
                passed[name] = value
                age = re.search(r"(?i);\s*max-age=(\d+)", v)
                age = int(age.group(1)) if age else None
                # granted non-necessary cookies live no longer than the consent (within the run's few minutes)
                ok = age == ASKED_AGE if COOKIES.get(name) == "necessary" else age is not None and MAX_AGE - 3600 < age <= MAX_AGE
                self.expect(ok, "%s: %r passed with Max-Age %s" % (what, v, age))
        want_expired = {n for n in sent if n != TOKEN and COOKIES[n] not in basis}
        self.expect(expired == want_expired, "%s: expired %s, the model says %s (cookies sent %s, enforcing %s)"
                    % (what, sorted(expired), sorted(want_expired), sorted(sent), sorted(basis)))
        want_passed = {}
        if origin_set and COOKIES[origin_set[0]] in basis:
            want_passed = {origin_set[0]: origin_set[1]}
        self.expect(passed == want_passed, "%s: Set-Cookie passed %s, the model says %s (enforcing %s)"
                    % (what, passed, want_passed, sorted(basis)))
        self.expect(len(issued) == (token is not None), "%s: %d consent tokens issued, the model says %s"
                    % (what, len(issued), token or "none"))
        # two tokens of different visitors: the answer expires the one set with Domain= (ours are host-only)
        self.expect(unplanted == unplant, "%s: the planted token %sexpired, the model says %s"
                    % (what, "" if unplanted else "not ", "so" if unplant else "not"))
        if unplanted:
            self.planted, self.m.planted = None, None
        for n in expired:
            self.jar.pop(n, None)
        self.jar.update(passed)
        if token is not None:
            token.issued = issued_second(issued[0])
            self.jar[TOKEN] = issued[0]
            self.by_value[issued[0]] = token
            self.issued.append(issued[0])
            self.m.token = token

    def check_origin_saw(self, what, tag, granted, sent):
        entries = self.origin.find("t=" + tag)
        self.expect(len(entries) == 1, "%s: the origin received it %d times" % (what, len(entries)))
        e = entries[0]
        got = {}
        for v in Origin.header(e, "Cookie"):
            for pair in v.split(";"):
                if pair.strip():
                    k, _, val = pair.strip().partition("=")
                    got[k] = val
        want = {k: v for k, v in sent.items() if k != TOKEN and COOKIES[k] in granted}
        self.expect(got == want, "%s: the origin received cookies %s, the model says %s" % (what, got, want))
        cc = Origin.header(e, "Consent-Categories")
        want_cc = ",".join(c for c in CATS if c in granted)
        self.expect(cc == [want_cc], "%s: Consent-Categories %s, the model says %r" % (what, cc, want_cc))

    def bind(self, what, label, hexid):
        """the gateway's id for a model visitor: one id per visitor, a new visitor a new id"""
        if label is None:
            self.expect(hexid is None, "%s: visitor %s, the model says none" % (what, hexid))
            return
        self.expect(hexid is not None, "%s: no visitor id, the model says visitor %s" % (what, label))
        if label in self.ids:
            self.expect(self.ids[label] == hexid, "%s: visitor id %s, the model says %s (visitor %s)"
                        % (what, hexid, self.ids[label], label))
        else:
            self.expect(hexid not in self.ids.values(), "%s: a new visitor got an id already given: %s" % (what, hexid))
            self.ids[label] = hexid

    # -- steps ---------------------------------------------------------------------------------------

    def proxied(self, kind, place, gpc, arg):
        """a page, a beacon, an origin's Set-Cookie, the preference centre or the receipts page"""
        m = self.m
        regime = PLACES[place][1]
        granted, decided, visitor = m.view(regime, gpc)
        token, conflict = None, m.conflict()
        revoking = None
        if m.first_gpc(regime, gpc) and not m.store_down:  # the refusal recorded once; the token says so
            visitor = visitor or m.new_visitor()
            revoking = (visitor, granted, m.could_grant(visitor))
            m.record(visitor, "gpc", granted, place)
            token = m.issue(visitor, False, granted, regime, gpc=True)
        tag, sent, origin_set = self.tag(), dict(self.jar), None
        path = {"page": "/__origin/html?file=pages/base.html&t=" + tag, "beacon": "/collect?t=" + tag,
                "prefs": "/__consent/?t=" + tag, "receipts": "/__consent/receipts?t=" + tag}.get(kind)
        if kind == "set":
            origin_set = (arg, "v" + tag)
            path = "/__origin/set-cookie?t=%s&c=%s" % (tag, urllib.parse.quote("%s=%s; Path=/; Max-Age=%d" % (origin_set + (ASKED_AGE,))))
        status, headers, body = self.request("GET", path, place, gpc, extra={"Accept": "image/*"} if kind == "beacon" else {})
        self.expect(status == 200 or (kind == "beacon" and status == 204), "%s: status %d" % (kind, status))
        # (every answer expires it but one of the gateway's own that sets a token without a decision: a GPC refusal's)
        self.take_set_cookies(kind, headers, granted, token, origin_set,
                              unplant=conflict and (kind in ("page", "beacon", "set") or token is None))
        if revoking is not None:
            m.revoke(*revoking[:2], self.last_record_second(), revoking[2])
        forwarded = kind in ("page", "set") or (kind == "beacon" and "analytics" in granted)
        if forwarded:
            self.check_origin_saw(kind, tag, granted, sent)
        elif kind == "beacon":
            self.expect(not self.origin.find("t=" + tag), "beacon: forwarded without analytics (%s)" % sorted(granted))
            self.expect(body in (b"",) or body.startswith(b"GIF89a"), "beacon: answered at the edge with %r" % body[:40])
        if kind == "page":
            st = re.search(rb'<script[^>]*id="cg-state">(.*?)</script>', body)
            self.expect(st is not None, "page: no consent UI state injected")
            st = json.loads(st.group(1))
            got = {c for c, v in st["categories"].items() if v}
            self.expect((st["decided"], got) == (decided, set(granted)),
                        "page: the injected state says decided=%s %s, the model says decided=%s %s"
                        % (st["decided"], sorted(got), decided, sorted(granted)))

    def consent(self, kind, place, gpc, arg):
        m = self.m
        regime = PLACES[place][1]
        granted, _, visitor = m.view(regime, gpc)
        visitor, conflict = visitor or m.new_visitor(), m.conflict()
        if kind == "accept":
            new, method, body = ALL, "accept_all", {"all": True}
        elif kind == "reject":
            new, method, body = NEC, "reject_all", {"all": False}
        elif kind == "withdraw":
            new, method, body = NEC, "withdraw", None
        elif kind == "form-withdraw":
            new, method, body = NEC, "withdraw", "withdraw=1"
        elif kind == "form":  # every box is a choice: the ones not ticked are refused
            new = frozenset(arg) | NEC
            method = "accept_all" if new == ALL else "reject_all" if new == NEC else "custom"
            body = "&".join("category=" + c for c in arg or ["necessary"])
        else:  # the categories not named keep what the request had
            new = frozenset(c for c in CATS if arg.get(c, c in granted)) | NEC
            method = "accept_all" if new == ALL else "reject_all" if new == NEC else "custom"
            body = {"categories": arg}
        form = kind.startswith("form")
        if m.store_down:  # nothing promised: no cookie, the state stays (a form is sent back to its page)
            status, headers, raw = self.request("DELETE" if body is None else "POST", "/__consent/api/consent", place, gpc,
                                                body=body if body is None or form else json.dumps(body),
                                                ctype="application/x-www-form-urlencoded" if form else "application/json")
            self.expect(status == (303 if form else 503), "%s with the store down: status %d" % (kind, status))
            self.take_set_cookies(kind, headers, granted, unplant=conflict)
            return
        status, headers, raw = self.request("DELETE" if body is None else "POST", "/__consent/api/consent", place, gpc,
                                            body=body if body is None or form else json.dumps(body),
                                            ctype="application/x-www-form-urlencoded" if form else "application/json")
        self.expect(status == (303 if form else 200), "%s: status %d %r" % (kind, status, raw[:200]))
        could = m.could_grant(visitor)
        m.record(visitor, method, new, place)
        # a consent given while sending the signal stands (its token carries the flag)
        token = m.issue(visitor, True, new, regime, gpc=gpc)
        self.take_set_cookies(kind, headers, new, token, unplant=conflict)
        m.revoke(visitor, new, self.last_record_second(), could)
        if kind.endswith("withdraw"):  # not "cookies": it would delete the token just set (README)
            csd = [v for k, v in headers if k.lower() == "clear-site-data"]
            self.expect(csd == ['"storage"'], "%s: Clear-Site-Data %s" % (kind, csd))
        if form:
            return
        a = json.loads(raw)
        self.expect(a["method"] == method, "%s: method %s, the model says %s" % (kind, a["method"], method))
        got = {c for c, v in a["categories"].items() if v}
        self.expect(a["decided"] and got == new, "%s: answered %s, the model says %s" % (kind, sorted(got), sorted(new)))
        self.bind(kind, visitor, a["visitor"])

    def erase(self, place, gpc):
        m = self.m
        regime = PLACES[place][1]
        granted, _, visitor = m.view(regime, gpc)
        token, down, conflict = None, m.store_down and visitor is not None, m.conflict()
        if visitor is not None and not down:
            # a pseudonym of each erasure's own (a replayed old token can bring the id back, and be erased again)
            pseudonym = ("erased", len(m.records))
            erased = sum(1 for r in m.records if r[0] == visitor)
            for r in m.records:
                if r[0] == visitor:
                    r[0] = pseudonym
            m.record(pseudonym, "erase", granted, place)
            # under a new id, undecided: what was granted is asked again, what was refused stays refused
            token = m.issue(m.new_visitor(), False, granted, regime, gpc=m.gpc_applied(regime, gpc))
        status, headers, raw = self.request("POST", "/__consent/api/erase", place, gpc, body=b"", ctype="application/json")
        self.expect(status == (503 if down else 200), "erase: status %d %r" % (status, raw[:200]))
        self.take_set_cookies("erase", headers, granted, token, unplant=conflict and token is None)
        if down:
            return
        if visitor is not None:
            m.erase_revoke(visitor, self.last_record_second())
        a = json.loads(raw)
        if visitor is None:
            self.expect(a["erased"] == 0, "erase: %r without a visitor" % a)
        else:
            self.expect(a["erased"] == erased, "erase: erased %d, the model says %d" % (a["erased"], erased))

    def read(self, what, path, place, gpc):
        """a GET of the consent API that changes nothing: the model's view of the request, and the answer"""
        view = self.m.view(PLACES[place][1], gpc)
        status, headers, raw = self.request("GET", path, place, gpc)
        self.expect(status == 200, "%s: status %d" % (what, status))
        self.take_set_cookies(what, headers, view[0], unplant=self.m.conflict())
        return view, json.loads(raw)

    def receipts(self, place, gpc):
        (_, _, visitor), a = self.read("receipts", "/__consent/api/receipts", place, gpc)
        self.bind("receipts", visitor, a["visitor"])
        got = [(r["method"], frozenset(r["granted"])) for r in a["records"]]
        want = [(r[1], r[2]) for r in self.m.records if r[0] == visitor] if visitor is not None else []
        self.expect(got == want, "receipts: %s, the model says %s" % (got, want))

    def state(self, place, gpc):
        (granted, decided, visitor), s = self.read("state", "/__consent/api/state", place, gpc)
        regime = PLACES[place][1]
        got = {c for c, v in s["categories"].items() if v}
        want = (regime, PLACES[place][2], self.m.policy)
        self.expect((s["regime"], s["country"], s["policy_version"]) == want,
                    "state: regime, country, policy %s, the model says %s"
                    % ((s["regime"], s["country"], s["policy_version"]), want))
        self.expect((s["decided"], got) == (decided, granted), "state: decided=%s %s, the model says decided=%s %s (token %s)"
                    % (s["decided"], sorted(got), decided, sorted(granted), self.m.token))
        self.bind("state", visitor, s["visitor"])

    def last_record_second(self):
        """the second of the newest record (a revocation's time is its record's)"""
        status, raw = self.admin("/admin/records")
        self.expect(status == 200, "/admin/records: status %d" % status)
        return json.loads(raw.decode().strip().splitlines()[-1])["time_ms"] // 1000

    def check_records(self):
        status, raw = self.admin("/admin/records")
        self.expect(status == 200, "/admin/records: status %d" % status)
        got = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        got = [[r["visitor"], r["method"], frozenset(r["granted"]), r["regime"], r["country"], r["policy_version"]]
               for r in got]
        want = [list(r) for r in self.m.records]
        for label, hexid in self.ids.items():  # the ids the gateway gave visitors not erased
            for r in want:
                if r[0] == label:
                    r[0] = hexid
        # visitors named by order of first appearance: the model cannot know the ids of erased records
        for rows in (got, want):
            names = {}
            for r in rows:
                r[0] = names.setdefault(r[0], len(names))
                r[2] = sorted(r[2])
        if got != want:
            i = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
            show = lambda rows: rows[i] if i < len(rows) else "(none)"  # noqa: E731
            raise Disagreement("/admin/records: %d records, the model says %d; the first that differs, #%d: %s, the "
                               "model says %s (visitors numbered by first appearance)" % (len(got), len(want), i + 1,
                                                                                           show(got), show(want)))

    # -- keys, policy, restarts, the browser's own doings -------------------------------------------------------

    def write_keys(self, keys):
        path = self.gw.path("secrets.json")
        with open(path + ".new", "w") as f:
            json.dump({"keys": keys}, f)
        os.chmod(path + ".new", 0o600)
        os.rename(path + ".new", path)

    def reloads(self, what):
        with open(self.gw.path(self.gw.config["log"]["error"]), encoding="utf-8", errors="replace") as f:
            return f.read().count(what)

    def reload_keys(self, what="consent keys reloaded"):
        before = self.reloads(what)
        self.gw.signal(signal.SIGHUP)
        self.expect(wait_until(lambda: self.reloads(what) > before, 5),
                    "no %r after SIGHUP:\n%s" % (what, self.gw.error_log()[-2000:]))

    def keys(self):
        with open(self.gw.path("secrets.json")) as f:
            return json.load(f)["keys"]

    def store_away(self, away):
        db = self.gw.path("consent.db")
        if away != self.m.store_down:
            os.rename(*((db, db + ".away") if away else (db + ".away", db)))
            self.m.store_down = away

    def age_token(self):
        """the visitor's token as it is once its lifetime has passed: expired a minute ago, signed by its key"""
        raw = base64.urlsafe_b64decode(self.jar[TOKEN] + "==")
        payload, now = bytearray(raw[:36]), int(time.time())
        payload[26:31] = (now - MAX_AGE - 60).to_bytes(5, "big")
        payload[31:36] = (now - 60).to_bytes(5, "big")
        secret = [k["secret"] for k in self.keys() if k["id"] == payload[1]][0]
        tag = hmac.new(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)), bytes(payload), hashlib.sha256).digest()
        v = base64.urlsafe_b64encode(bytes(payload) + tag[:16]).rstrip(b"=").decode()
        t = copy.copy(self.m.token)
        t.expired = True
        t.issued = now - MAX_AGE - 60
        self.jar[TOKEN], self.by_value[v], self.m.token = v, t, t
        self.issued.append(v)

    def restart(self):
        self.store_away(False)  # (a start would make a new store)
        self.gw.stop_and_check()
        self.gw.start()
        self.m.start_key = self.m.primary

    def step(self, s):
        kind, place, gpc, arg = s
        m = self.m
        if kind in ("page", "beacon", "set", "prefs"):
            self.proxied(kind, place, gpc, arg)
        elif kind in ("accept", "reject", "custom", "withdraw", "form", "form-withdraw"):
            self.consent(kind, place, gpc, arg)
        elif kind == "erase":
            self.erase(place, gpc)
        elif kind == "receipts":  # the API, then the page (which records a GPC refusal as pages do)
            self.receipts(place, gpc)
            self.proxied("receipts", place, gpc, arg)
        elif kind == "bump":
            m.policy += 1
            self.gw.config["policy"]["version"] = m.policy
            self.restart()
        elif kind == "restart":
            self.restart()
        elif kind == "store":  # the store's file moved away (as by a backup restored with mv), or back
            self.store_away(not m.store_down)
        elif kind == "rotate":
            keys = self.keys()
            kid = max(k["id"] for k in keys) + 1
            for k in keys:
                k.pop("primary", None)
            keys.append({"id": kid, "secret": base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode(),
                         "primary": True})
            if len(keys) > 16:  # a file of more than 16 keys is refused, the keys in force kept
                before = self.keys()
                self.write_keys(keys)
                self.reload_keys("consent keys not reloaded (the previous ones stay in force)")
                self.write_keys(before)  # (a start would refuse it)
            else:
                self.write_keys(keys)
                self.reload_keys()
                m.keys.add(kid)
                m.primary = kid
        elif kind == "retire":  # a key that neither signs nor seals leaves the file: its tokens verify no more
            old = sorted(m.keys - {m.primary, m.start_key})
            if old:
                kid = old[arg % len(old)]
                self.write_keys([k for k in self.keys() if k["id"] != kid])
                self.reload_keys()
                m.keys.discard(kid)
        elif kind == "drop":
            self.jar.pop(TOKEN, None)
            m.token = None
        elif kind == "replay" and self.issued:
            v = self.issued[arg % len(self.issued)]
            self.jar[TOKEN] = v
            m.token = self.by_value[v]
        elif kind == "plant":  # a sibling subdomain sets one of our old tokens with Domain=, or it goes again
            if arg % 4 == 0 or not self.issued:
                self.planted, m.planted = None, None
            else:
                v = self.issued[(arg >> 2) % len(self.issued)]
                self.planted, m.planted = (v, arg & 2 != 0), self.by_value[v]
        elif kind == "age" and m.token is not None and m.token.key in m.keys:
            self.age_token()
        elif kind == "tamper" and TOKEN in self.jar:
            v = self.jar[TOKEN]
            i = 4 + arg % (len(v) - 8)
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            self.jar[TOKEN] = v[:i] + alphabet[(alphabet.index(v[i]) + 1 + arg % 63) % 64] + v[i + 1:]
            m.token = None
        self.state(place, gpc)
        self.check_records()


def play(steps, workdir):
    """None, or (index of the failing step, message)"""
    run = Run(workdir)
    i = -1
    try:
        for i, s in enumerate(steps):
            run.step(s)
        i = len(steps)
        run.close()
        return None
    except Disagreement as e:
        run.close(check=False)
        return i, str(e)
    except BaseException:
        run.close(check=False)
        raise


def shrink(steps, failure, budget_s=120):
    """a shorter list of steps that still fails: the failing prefix, then chunks removed while it still fails"""
    steps = steps[:failure[0] + 1]
    deadline = time.monotonic() + budget_s
    chunk = max(1, len(steps) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i, removed = 0, False
        while i < len(steps) and time.monotonic() < deadline:
            trial = steps[:i] + steps[i + chunk:]
            with tempfile.TemporaryDirectory(prefix="cg-model-") as d:
                f = play(trial, d) if trial else None
            if f is not None:
                steps, failure, removed = trial[:f[0] + 1], f, True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    return steps, failure


class ConsentModelTest(unittest.TestCase):
    def test_random_event_sequences_agree_with_the_model(self):
        steps_n = int(os.environ.get("CG_MODEL_STEPS", "150"))
        if "CG_MODEL_SEED" in os.environ:
            first = int(os.environ["CG_MODEL_SEED"])
            seeds = range(first, first + int(os.environ.get("CG_MODEL_SEEDS", "1")))
        else:
            seeds = (1, 2, 3)
        for seed in seeds:
            steps = make_steps(seed, steps_n)
            d = tempfile.mkdtemp(prefix="cg-model-")
            try:
                failure = play(steps, d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
            if failure is not None:
                short, f = shrink(steps, failure)
                self.fail("seed %d (CG_MODEL_SEED=%d CG_MODEL_STEPS=%d): step %d of %d disagrees with the model: %s\n"
                          "a shorter run that still fails (its last step fails: %s):\n  %s"
                          % (seed, seed, steps_n, failure[0] + 1, len(steps), failure[1], f[1],
                             "\n  ".join(fmt_step(s) for s in short)))


if __name__ == "__main__":
    unittest.main()
