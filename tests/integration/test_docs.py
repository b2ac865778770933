"""README.md and DESIGN.md as executable contracts.

README's tables (configuration keys, endpoints, command-line options, metrics) and DESIGN's contract (endpoints,
configuration keys, the consent cookie) are read and checked against the real binaries, both ways: what the documents
name exists and behaves as documented, and what the code has (the config parser's key lists, the routes it
registers, the metrics it exports, the options it takes) is documented.  The parsing is strict on purpose: a table
row this test cannot read is a failure naming its line, so the documents stay checkable.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import (REPO, ADMIN_TOKEN, GatewayTestCase, Gateway, gateway_config, curl, free_port, run_binary,
                     merge, wait_until)

README_MD = os.path.join(REPO, "README.md")
# the design document sits beside the work trees (/work/shared), out of the repository
DESIGN_MD = os.path.join(os.path.dirname(REPO), "shared", "DESIGN.md")
CTL = os.path.join(REPO, "gateway", "consentgate-ctl")
SRC = os.path.join(REPO, "gateway")
AUTH = "Authorization: Bearer " + ADMIN_TOKEN


class Doc:
    """A markdown file: its sections and their tables, read strictly."""

    def __init__(self, path):
        self.name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().split("\n")

    def section(self, title):
        """(first, end) line indexes of the section under the heading `title` (to the next heading of its level or
        above)."""
        for i, line in enumerate(self.lines):
            m = re.match(r"^(##+) (.*)$", line)  # (the document's title, #, is no section)
            if m and m.group(2).strip() == title:
                level = len(m.group(1))
                for j in range(i + 1, len(self.lines)):
                    n = re.match(r"^(#+) ", self.lines[j])
                    if n and len(n.group(1)) <= level:
                        return i + 1, j
                return i + 1, len(self.lines)
        raise AssertionError("%s: no section \"%s\"" % (self.name, title))

    @staticmethod
    def split(line):
        """A table row's cells: split at each '|' outside `code` and not escaped (DESIGN writes "a"|"b" in code)."""
        parts, cell, code, prev = [], "", False, ""
        for ch in line:
            if ch == "`":
                code = not code
            if ch == "|" and not code and prev != "\\":
                parts.append(cell)
                cell = ""
            else:
                cell += ch
            prev = ch
        return [p.strip() for p in parts[1:]] if line.startswith("|") and line.endswith("|") else []

    def cells(self, i, n):
        """The n cells of the table row on line index i; a row that does not split into n is a failure."""
        cells = self.split(self.lines[i])
        if len(cells) != n:
            raise AssertionError("%s:%d: not a table row of %d cells: %s" % (self.name, i + 1, n, self.lines[i]))
        return cells

    def tables(self, title, header):
        """The tables of section `title` whose header row is `header`: lists of (line number, cells)."""
        first, end = self.section(title)
        out = []
        i = first
        while i < end:
            line = self.lines[i]
            if line.startswith("|") and i + 1 < end and re.match(r"^\|(\s*-+\s*\|)+$", self.lines[i + 1]):
                if self.split(line) == header:
                    rows = []
                    i += 2
                    while i < end and self.lines[i].startswith("|"):
                        rows.append((i + 1, self.cells(i, len(header))))
                        i += 1
                    out.append(rows)
                    continue
            i += 1
        return out

    def table(self, title, header):
        ts = self.tables(title, header)
        if len(ts) != 1:
            raise AssertionError("%s: section \"%s\" has %d tables headed %s, not 1" % (self.name, title, len(ts), header))
        return ts[0]

    def text(self, title):
        first, end = self.section(title)
        return "\n".join(self.lines[first:end])


def readme():
    return Doc(README_MD)


def design():
    if not os.path.exists(DESIGN_MD):
        raise unittest.SkipTest("%s not found: the design contract is not checked" % DESIGN_MD)
    return Doc(DESIGN_MD)


def source(name):
    with open(os.path.join(SRC, name), encoding="utf-8") as f:
        return f.read()


# ---- configuration ----------------------------------------------------------------------------

def readme_config():
    """{key: (line, default cell)} of README's configuration table."""
    out = {}
    doc = readme()
    for line, (key, default, _) in doc.table("Configuration", ["key", "default", "meaning"]):
        m = re.match(r"^`([a-z_]+(?:\.[a-z_]+)*)`$", key)
        if not m:
            raise AssertionError("README.md:%d: a key cell is one `key.path`: %s" % (line, key))
        if m.group(1) in out:
            raise AssertionError("README.md:%d: %s listed twice" % (line, m.group(1)))
        out[m.group(1)] = (line, default)
    return out


def parser_keys():
    """The keys gateway/config.c accepts, as README names them: a section's keys as section.key (its lists of key
    names, and the load_object() call that reads each section with one)."""
    src = source("config.c")
    arrays = [(m.start(), re.findall(r'"([a-z_]+)"', m.group(1)))
              for m in re.finditer(r"static const char \*const keys\[\] = \{(.*?)\};", src, re.S)]
    top = [names for _, names in arrays if "upstream" in names]
    assert len(top) == 1, "config.c: no top-level key list (the one naming \"upstream\")"
    sections = {}
    for pos, names in arrays:
        body = src[pos:src.find("\n}\n", pos)]
        m = re.search(r'load_object\(ld, root, ("([a-z_]+)"|section), keys', body)
        if not m:
            continue
        # load_lists() reads "trackers" and "risk" with one key list: the callers name them
        for sec in [m.group(2)] if m.group(2) else re.findall(r'load_lists\(ld, root, "([a-z_]+)"', src):
            sections[sec] = names
    keys = set()
    for k in top[0]:
        if k in sections:
            keys.update(k + "." + s for s in sections[k])
        else:
            keys.add(k)
    return keys


def parser_ranges():
    """{key: (min, max)} of the integer keys gateway/config.c reads (get_uint), as README names them (a key of a list
    entry, "port", has no row of its own)."""
    rows, out = readme_config(), {}
    for m in re.finditer(r'get_uint\(ld, \w+, "([a-z_]+)", ([^,]+), ([^,]+), ', source("config.c")):
        names = [k for k in rows if k == m.group(1) or k.endswith("." + m.group(1))]
        bounds = [eval(b.replace("(uint64_t)", "").replace("UINT32_MAX", str(2 ** 32 - 1)), {}) for b in m.group(2, 3)]
        if len(names) == 1:
            out[names[0]] = tuple(bounds)
    return out


def config_arrays():
    """{array name: [strings]} of config.c's static string arrays (the section key lists, all named "keys", left out)."""
    return {m.group(1): re.findall(r'"([^"]+)"', m.group(2)) for m in
            re.finditer(r"static const char \*const (\w+)\[\](?:\[\d+\])? = \{(.*?)\};", source("config.c"), re.S)
            if m.group(1) != "keys"}


# the rows whose meaning names the keys of their entries (listen's tls object too), by config.c's array of them
ENTRY_KEYS = {"listen": ["listen_keys", "tls_keys"], "admin.listen": ["keys_notls"], "beacons.endpoints": ["ep_keys"],
              "trackers.lists": ["tracker_keys"], "risk.lists": ["risk_keys"]}


# values for the keys whose default README does not give as a JSON value (or whose default path would be outside the
# test's folder)
SAMPLES = {
    "listen": None,  # the base config's own
    "upstream": None,
    "threads": 2,
    "admin.tokens_file": "admin-tokens",
    "log.access": "access.log",
    "log.access_format": '%t "%m %U %H" %s %b',
    "log.error": "error.log",
    "secrets_file": "secrets.json",
    "store.sqlite": "consent.db",
    "channel.audit_log": "audit.log",
    "policy.url": "/privacy",
    "geoip.database": os.path.join(REPO, "tests", "data", "maxmind", "GeoIP2-City-Test.mmdb"),
    "cookies.database": os.path.join(REPO, "conf", "cookies.json"),
    "trackers.lists": [],
    "risk.lists": [],
}

# what a key's largest value needs besides (README: store.retention_days is at least policy.consent_max_age_days)
COMPANIONS = {"policy.consent_max_age_days": {"store": {"retention_days": 36500}}}

WRONG = {int: "1", bool: 1, str: 1, list: {}, dict: []}


def default_value(default):
    """README's default cell as a JSON value: `x` (JSON, or else a string) or a bare JSON literal; None when it is
    prose."""
    m = re.match(r"^`([^`]+)`$", default)
    if m:
        try:
            return json.loads(m.group(1))
        except ValueError:
            return m.group(1)
    try:
        return json.loads(default)
    except ValueError:
        return None


def nested(key, value):
    out = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


class ConfigTableTest(unittest.TestCase):
    """README's configuration table against the config parser."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cg-it-docs-config-")
        cls.base = gateway_config("http://127.0.0.1:%d" % free_port())
        cls.keys = readme_config()
        Gateway(cls.tmp, cls.base).write_config()  # (its admin tokens file)
        cls.config_path = os.path.join(cls.tmp, "consentgate.json")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def check(self, config, path=None):
        path = path or self.config_path
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        return run_binary(["--check-config", "-c", path])

    def test_the_base_config_is_valid(self):
        r = self.check(self.base)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_readme_names_every_key_the_parser_takes(self):
        documented, accepted = set(self.keys), parser_keys()
        self.assertEqual(sorted(accepted - documented), [], "keys gateway/config.c accepts and README's table lacks")
        self.assertEqual(sorted(documented - accepted), [], "keys README's table names and gateway/config.c refuses")

    def test_every_key_takes_its_documented_type(self):
        for key, (line, default) in sorted(self.keys.items()):
            with self.subTest(key=key):
                if key in SAMPLES:
                    value = self.base[key] if SAMPLES[key] is None else SAMPLES[key]
                else:
                    value = default_value(default)
                self.assertIsNotNone(value, "README.md:%d: %s: its default (%s) is no JSON value: give the test a "
                                            "sample in SAMPLES" % (line, key, default))
                r = self.check(merge(self.base, nested(key, value)))
                self.assertEqual(r.returncode, 0, "README.md:%d: %s = %s refused: %s" % (line, key, json.dumps(value),
                                                                                        r.stderr))
                wrong = WRONG[type(value)]
                r = self.check(merge(self.base, nested(key, wrong)))
                self.assertEqual(r.returncode, 1, "%s = %s accepted" % (key, json.dumps(wrong)))
                self.assertRegex(r.stderr, r"consentgate\.json:\d+:\d+: %s(\[\d+\])?: " % re.escape(key))

    def test_integer_ranges(self):
        """Each integer key's row states its range, A–B, and the parser takes exactly that."""
        ranges = parser_ranges()
        self.assertGreater(len(ranges), 10)
        for key, (low, high) in sorted(ranges.items()):
            with self.subTest(key=key):
                line, _ = self.keys[key]
                documented = [(int(a.replace(",", "")), int(b.replace(",", "")))
                              for a, b in re.findall(r"(?<![\w.])(\d[\d,]*)–(\d[\d,]*)", readme().lines[line - 1])]
                self.assertEqual(documented[:1], [(low, high)], "README.md:%d: %s's range (A–B) and config.c's" %
                                 (line, key))
                r = self.check(merge(merge(self.base, COMPANIONS.get(key, {})), nested(key, high)))
                self.assertEqual(r.returncode, 0, "%s = %d: %s" % (key, high, r.stderr))
                for bad in [low - 1, high + 1] if low > 0 else [high + 1]:
                    r = self.check(merge(self.base, nested(key, bad)))
                    self.assertEqual(r.returncode, 1, "%s = %d accepted" % (key, bad))
                    self.assertRegex(r.stderr, r"consentgate\.json:\d+:\d+: %s: " % re.escape(key))

    def test_rows_name_their_values_and_entry_keys(self):
        """A key read with get_enum() has each of its values in its row (`value`), and a row of objects names their
        keys (`"key"` or `key`)."""
        arrays, src = config_arrays(), source("config.c")
        arrays["listen_keys"] = re.search(r'keys\[\] = \{("host", [^}]*)\}', src).group(1).replace('"', "").split(", ")[:-1]
        enums = re.findall(r'get_enum\(ld, \w+, "([a-z_]+)", (\w+), \d+,', src)
        self.assertGreater(len(enums), 4)
        expected = {}
        for key, array in enums:
            # a section's key (log.level), else the rows whose entries have it (a list's "format")
            rows = [k for k in self.keys if k == key or k.endswith("." + key)] or \
                [k for k, names in ENTRY_KEYS.items() if any(key in arrays.get(a, []) for a in names)]
            self.assertTrue(rows, "get_enum of \"%s\": no README row" % key)
            for row in rows:
                expected.setdefault(row, set()).update("`%s`" % v for v in arrays[array])
        for row, names in ENTRY_KEYS.items():
            for a in names:
                expected.setdefault(row, set()).update('"%s"' % k for k in arrays[a])
        for row, words in sorted(expected.items()):
            with self.subTest(key=row):
                line, _ = self.keys[row]
                text = readme().lines[line - 1]
                missing = [w for w in sorted(words) if w not in text and w.replace('"', "`") not in text]
                self.assertEqual(missing, [], "README.md:%d: %s's row does not name them" % (line, row))

    def test_number_and_boolean_defaults_are_the_parsers(self):
        """README's default of each number or boolean key is what gw_config_defaults() sets (memset: 0, false)."""
        src = source("config.c")
        body = src[src.index("void gw_config_defaults("):]
        body = body[:body.index("\n}\n")]
        sets = {k: eval(v, {}) for k, v in re.findall(r"c->([a-z_]+(?:\.[a-z_]+)?) = ([0-9][0-9 *]*);", body)}
        checked = 0
        for key, (line, default) in sorted(self.keys.items()):
            value = default_value(default)
            if isinstance(value, (bool, int)):
                with self.subTest(key=key):
                    self.assertEqual(sets.get(key, 0), int(value), "README.md:%d: %s's default" % (line, key))
                    checked += 1
        self.assertGreater(checked, 15)

    def test_keys_named_in_prose_exist(self):
        """A `section.key` anywhere in README or DESIGN (a renamed key's old name, a typo) is one of the table's."""
        sections = {k.split(".")[0] for k in self.keys}
        docs = [README_MD] + ([DESIGN_MD] if os.path.exists(DESIGN_MD) else [])
        for path in docs:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    for name in re.findall(r"`([a-z_]+(?:\.[a-z_]+)+)", line):
                        if name.split(".")[0] in sections and not re.search(r"\.(json|txt|mmdb|db|pem|log)$", name):
                            self.assertIn(name, self.keys, "%s:%d" % (os.path.basename(path), n))

    def test_required_keys(self):
        """The rows whose default says "required" are: without one the check fails naming it; with only the top-level
        ones (DESIGN: listen and upstream) the config is valid."""
        required = sorted(k for k, (_, default) in self.keys.items() if "required" in default)
        self.assertIn("listen", required)
        for key in required:
            with self.subTest(key=key):
                parent, _, name = key.rpartition(".")
                config = merge(self.base, nested(key, None)) if parent else merge(self.base, {key: None})
                r = self.check(config)
                self.assertEqual(r.returncode, 1, key)
                self.assertIn('missing required key "%s"' % name, r.stderr)
        # (its default paths, ../var/…, in the test's folder)
        os.makedirs(os.path.join(self.tmp, "minimal", "conf"), exist_ok=True)
        r = self.check({k: self.base[k] for k in required if "." not in k},
                       os.path.join(self.tmp, "minimal", "conf", "consentgate.json"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_an_unknown_key_is_refused_with_its_place(self):
        r = self.check(merge(self.base, {"proxy": {"io_timeout": 5}}))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"consentgate\.json:\d+:\d+: proxy\.io_timeout: ")


class ObservedDefaultsTest(GatewayTestCase):
    """Documented defaults the running gateway shows: the config leaves these keys out."""
    config = {"proxy": {"max_request_body": None}, "cookies": {"overrides": {"sid": "necessary"}}}

    def default(self, key):
        return default_value(readme_config()[key][1])

    def test_consent_state(self):
        state = curl(self.gw.url("/__consent/api/state")).json()
        self.assertEqual(state["policy_version"], self.default("policy.version"))
        self.assertEqual(state["regime"], self.default("regimes.default"))
        self.assertEqual(list(state["categories"]), self.default("categories"))

    def test_max_request_body(self):
        limit = self.default("proxy.max_request_body")
        self.assertEqual(curl(self.gw.url("/upload"), method="POST", data=b"x" * (limit + 1)).status, 413)
        self.assertNotEqual(curl(self.gw.url("/upload"), method="POST", data=b"x" * limit).status, 413)

    def test_consent_api_body_limit(self):
        kib = int(re.search(r"413 a body over (\d+) KiB", readme().text("Endpoints")).group(1))
        url, ct = self.gw.url("/__consent/api/consent"), ["Content-Type: application/json"]
        body = '{"all": true}'
        self.assertEqual(curl(url, method="POST", headers=ct, data=body + " " * (kib * 1024 + 1 - len(body))).status, 413)
        self.assertEqual(curl(url, method="POST", headers=ct, data=body + " " * (kib * 1024 - len(body))).status, 200)

    def test_secrets_file_is_0600(self):
        # DESIGN: secrets files are created 0600
        self.assertEqual(os.stat(self.gw.path("secrets.json")).st_mode & 0o777, 0o600)

    def test_language_cookie(self):
        # README: the UI language is ?lang=, then the cg_lang cookie (Path=/__consent and Path=/__go, never sent to the
        # origin: ...)
        m = re.search(r"the `([a-z_]+)` cookie \((Path=[^,]+), never sent to the origin", readme().text("Endpoints"))
        paths = re.findall(r"Path=\S+", m.group(2))
        self.assertEqual(paths, ["Path=/__consent", "Path=/__go"])
        r = curl(self.gw.url("/__consent/?lang=zh-CN"))
        mine = [c for c in r.header_all("set-cookie") if c.startswith(m.group(1) + "=")]
        self.assertEqual(sorted(p for c in mine for p in (a.strip() for a in c.split(";")) if p.startswith("Path=")), paths,
                         r.header_all("set-cookie"))
        curl(self.gw.url("/lang-probe"), cookie="%s=zh-CN; sid=1" % m.group(1))
        cookies = " ".join(self.origin.header(self.origin.assert_reached("/lang-probe"), "cookie"))
        self.assertIn("sid=1", cookies)
        self.assertNotIn(m.group(1), cookies)

    def test_csp_mode(self):
        self.assertEqual(self.default("channel.csp"), "report-only")
        r = curl(self.gw.url("/"))
        self.assertIn("text/html", r.header("content-type", ""))
        self.assertIsNotNone(r.header("content-security-policy-report-only"))
        self.assertIsNone(r.header("content-security-policy"))


# ---- endpoints --------------------------------------------------------------------------------

def endpoint_rows(doc, title, header, cell_re):
    """[(line, method, path)] of each table of `title` headed `header`, in order of the tables."""
    out = []
    for rows in doc.tables(title, header):
        t = []
        for line, cells in rows:
            m = re.match(cell_re, cells[0])
            if not m:
                raise AssertionError("%s:%d: an endpoint cell is `METHOD /path[?query]`: %s" % (doc.name, line, cells[0]))
            t.append((line, m.group(1), m.group(2)))
        out.append(t)
    return out


README_ENDPOINT = r"^`(GET|HEAD|POST|PUT|DELETE) (/[^` ?]*)(?:\?[^` ]*)?`$"
DESIGN_ENDPOINT = r"^(GET|HEAD|POST|PUT|DELETE) `(/[^` ?]*)(?:\?[^` ]*)?`(?: \(or `[a-z]+=`\))?$"


def readme_endpoints():
    """(public, admin): README's two endpoint tables, [(line, method, path)]."""
    tables = endpoint_rows(readme(), "Endpoints", ["endpoint", "what it does"], README_ENDPOINT)
    if len(tables) != 2:
        raise AssertionError("README.md: section \"Endpoints\" has %d endpoint tables, not 2 (public, admin)" % len(tables))
    return tables


def source_routes():
    """(public, admin) paths the gateway answers itself, from the source: the admin routes (gw_admin_add_route: one
    ending in '/' is a prefix), the paths registered with h2o, and the paths its handlers compare with (the prefixes
    they memcmp end in '/'): sets of (path, is_prefix)."""
    admin, public = set(), set()
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".c"):
            continue
        src = source(name)
        admin.update((p, p.endswith("/")) for p in re.findall(r'gw_admin_add_route\((?:"[A-Z]+"|NULL), "(/[^"]*)"', src))
        public.update((p, False) for p in re.findall(r'h2o_config_register_path\([^,]+, "(/[^"]*)"', src) if p != "/")
        public.update((p, False) for p in re.findall(r'h2o_memis\(path\.base, path\.len, H2O_STRLIT\("(/[^"]*)"\)\)', src))
        public.update((p, True) for p in re.findall(r'memcmp\(path\.base, "(/__[^"]*/)", \d+\)', src))
    return public, admin


# served and not in the endpoint tables, each for a reason of its own
UNLISTED = {
    "/__consent": "the UI's folder: its pages are the table's, its files (banner.js, …) what the pages load",
    "/__consent/api": "the consent API's prefix: its endpoints are the table's",
    "/__consent/index.html": "the preference centre's other name, as a file handler has it",
    "/__consent/preview/": "only with CG_UI_PREVIEW=1 (README: Tests), the screenshots' pages",
}


def fill(path):
    """A documented path family's member: {name} a risk list of the test's config, {lang} a UI language."""
    return path.replace("{name}", "docs-block").replace("{lang}", "zh-CN")


class EndpointsTest(GatewayTestCase):
    """README's endpoint tables against the running gateway and the routes in the source."""
    config = {"risk": {"lists": [{"name": "docs-block", "file": "docs-block.txt", "action": "block"}]}}

    def test_every_public_endpoint_answers_its_method(self):
        public, _ = readme_endpoints()
        for line, method, path in public:
            path = fill(path)
            with self.subTest(endpoint="%s %s" % (method, path)):
                r = curl(self.gw.url(path), method=method, headers=["Content-Type: application/json"],
                         data=b"{}" if method in ("POST", "PUT") else None)
                self.assertNotIn(r.status, (0, 404, 405), "README.md:%d: %s %s" % (line, method, path))
                self.assertEqual(self.origin.find(path.rstrip("/") or "/", method=method), [],
                                 "README.md:%d: %s %s went to the origin" % (line, method, path))
                # the admin listener is the admin API's only
                r = curl(self.gw.admin_url(path), method=method, headers=[AUTH])
                self.assertEqual(r.status, 404, "README.md:%d: %s %s on the admin listener" % (line, method, path))

    def test_every_admin_endpoint_answers_on_the_admin_listener_only(self):
        _, admin = readme_endpoints()
        for line, method, path in admin:
            path = fill(path)
            with self.subTest(endpoint="%s %s" % (method, path)):
                where = "README.md:%d: %s %s" % (line, method, path)
                data = {"PUT": b"docs.example\n", "POST": b'{"add": ["docs.example"]}'}.get(method)
                self.assertEqual(curl(self.gw.admin_url(path), method=method, data=data).status, 401, where)
                self.assertEqual(curl(self.gw.admin_url(path), method=method, data=data,
                                      headers=["Authorization: Bearer wrong-token-0123456789"]).status, 403, where)
                r = curl(self.gw.admin_url(path), method=method, data=data, headers=[AUTH])
                self.assertNotIn(r.status, (0, 401, 403, 404, 405), where)
                # on the public listener it is the site's path: proxied, never the admin API
                curl(self.gw.url(path), method=method, data=data, headers=[AUTH])
                self.origin.assert_reached(path, method=method)

    def test_other_methods_are_405_naming_the_documented_ones(self):
        """README: a method an endpoint does not take is a 405 naming the ones it does; a GET, public or admin, takes HEAD."""
        public, admin = readme_endpoints()
        for rows, url, headers, head in [(public, self.gw.url, [], True), (admin, self.gw.admin_url, [AUTH], True)]:
            methods = {}
            for _, method, path in rows:
                methods.setdefault(fill(path), set()).add(method)
            for path, taken in sorted(methods.items()):
                allow = taken | ({"HEAD"} if head and "GET" in taken else set())
                for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH"} - allow):
                    with self.subTest(endpoint="%s %s" % (method, path)):
                        r = curl(url(path), method=method, headers=headers)
                        self.assertEqual(r.status, 405, "%s %s" % (method, path))
                        self.assertEqual(sorted(re.split(r",\s*", r.header("allow", ""))), sorted(allow))
                if head and "GET" in taken:
                    with self.subTest(endpoint="HEAD %s" % path):
                        self.assertNotIn(curl(url(path), head=True, headers=headers).status, (404, 405))

    def test_wrong_token_is_logged_without_it(self):
        # README: a wrong token is logged as a warning with the address it came from, never the token
        token = "docs-wrong-token-5c1e0a9b"
        self.assertEqual(curl(self.gw.admin_url("/admin/lists"), headers=["Authorization: Bearer " + token]).status, 403)
        self.assertTrue(wait_until(lambda: re.search(r"\[warn\] .*127\.0\.0\.1", self.gw.error_log())))
        self.assertNotIn(token, self.gw.error_log())

    def test_ctl_exit_codes(self):
        # README: check exits 0 clean, 4 block; a request the gateway refuses exits 1
        env = {"CG_ADMIN": "http://127.0.0.1:%d" % self.gw.admin_port, "CG_ADMIN_TOKEN": ADMIN_TOKEN}
        self.assertEqual(ctl("add", "docs-block", "blocked.example", env=env).returncode, 0)
        self.assertEqual(ctl("check", "https://www.blocked.example/x", env=env).returncode, 4)
        self.assertEqual(ctl("check", "clean.example", env=env).returncode, 0)
        self.assertEqual(ctl("add", "no-such-list", "x.example", env=env).returncode, 1)

    def readme_fields(self, endpoint):
        """The `field`s README's row of endpoint lists after its first ':' (what is in parentheses is about them)."""
        public, admin = readme_endpoints()
        doc = readme()
        for line, method, path in public + admin:
            if "%s %s" % (method, path) == endpoint:
                text = doc.cells(line - 1, 2)[1].split(":", 1)[1].split(";")[0]
                return line, re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", text))
        raise AssertionError("README.md: no row for %s" % endpoint)

    def test_answers_have_the_fields_readme_lists(self):
        line, fields = self.readme_fields("GET /__consent/api/state")
        self.assertEqual(sorted(curl(self.gw.url("/__consent/api/state")).json()), sorted(fields),
                         "README.md:%d: the state's fields" % line)
        line, fields = self.readme_fields("GET /admin/lists")
        lists = curl(self.gw.admin_url("/admin/lists"), headers=[AUTH]).json()
        self.assertEqual(len(lists), 1)
        self.assertEqual(sorted(lists[0]), sorted(fields), "README.md:%d: a list's fields" % line)
        line, fields = self.readme_fields("GET /admin/check")
        r = curl(self.gw.admin_url("/admin/check?host=clean.example"), headers=[AUTH])
        self.assertEqual(sorted(r.json()), sorted(fields), "README.md:%d: a verdict's fields" % line)

    def test_list_changes_and_audit_lines_have_the_fields_readme_lists(self):
        """README's sentence on a list change's answer and channel.audit_log's row name their fields (what is in
        parentheses is about them; add_more/remove_more only come past 50 items)."""
        text = re.sub(r"\s+", " ", readme().text("Endpoints"))
        answer = re.search(r"A list change answers (.*?)\. ", text).group(1)
        line, _ = readme_config()["channel.audit_log"]
        audit = re.search(r"one JSON line, fsynced: (.*?)\. ", readme().lines[line - 1]).group(1)
        answer, audit = (set(re.findall(r"`([a-z_]+)`", re.sub(r"\([^()]*(?:\([^()]*\)[^()]*)*\)", "", t)))
                         for t in (answer, audit))
        r = curl(self.gw.admin_url("/admin/lists/docs-block/entries"), method="POST", headers=[AUTH],
                 data='{"add": ["audit.example"], "remove": ["absent.example"]}')
        self.assertEqual(sorted(r.json()), sorted(answer), "an edit's answer and README's")
        r = curl(self.gw.admin_url("/admin/lists/docs-block"), method="PUT", headers=[AUTH], data="audit.example\n")
        self.assertEqual(sorted(r.json()), sorted(answer), "a replace's answer and README's")
        lines = [json.loads(l) for l in curl(self.gw.admin_url("/admin/audit"), headers=[AUTH]).text.splitlines()]
        self.assertEqual(sorted(lines[-1]), sorted(audit), "README.md:%d: an audit line's fields" % line)

    def test_every_route_in_the_source_is_documented(self):
        public, admin = readme_endpoints()
        documented = {p for _, _, p in public + admin}
        src_public, src_admin = source_routes()
        self.assertTrue(src_admin and src_public, "no routes found in gateway/*.c: the patterns need updating")
        for path, prefix in sorted(src_public | src_admin):
            with self.subTest(route=path):
                if path in UNLISTED:
                    continue
                if prefix:  # a family of paths: the table shows it as one, /prefix/{placeholder}…
                    self.assertTrue(any(re.match(re.escape(path) + r"\{[a-z]+\}", p) for p in documented),
                                    "%s{…} is in no endpoint table" % path)
                else:
                    self.assertIn(path, documented, "%s is in no endpoint table" % path)
        for _, _, p in public:
            with self.subTest(documented=p):
                self.assertNotIn((p, False), src_admin, "%s is an admin route in the public table" % p)
        for _, _, p in admin:
            with self.subTest(documented=p):
                self.assertTrue((p, False) in src_admin or any(pre and p.startswith(a) for a, pre in src_admin),
                                "%s is in the admin table and no admin route" % p)


# ---- metrics ----------------------------------------------------------------------------------

def readme_metrics():
    """{name: (line, type, label, [values])} of README's metrics table; `…_x` continues the row's first name's
    prefix."""
    out = {}
    for line, (names, labels, _) in readme().table("Metrics", ["metric", "labels", "counts"]):
        gauges = re.search(r"\bgauges? (.*)$", names)
        gauge_names = set(re.findall(r"`([^`]+)`", gauges.group(1))) if gauges else set()
        tokens = re.findall(r"`([^`]+)`", names)
        if not tokens or not all(re.match(r"^(cg|…)_[a-z_]+$", t) for t in tokens):
            raise AssertionError("README.md:%d: a metric cell names `cg_…` metrics: %s" % (line, names))
        if labels == "histogram":
            kind, label, values = "histogram", None, []
        elif labels == "":
            kind, label, values = None, None, []
        else:
            m = re.match(r"^`([a-z_]+)`(?:: ((?:`[a-z_]+`(?:, )?)+)| \(.*\))?$", labels)
            if not m:
                raise AssertionError("README.md:%d: a labels cell is empty, `histogram`, `label`, `label` (…) or "
                                     "`label`: `value`, …: %s" % (line, labels))
            kind, label, values = None, m.group(1), re.findall(r"`([a-z_]+)`", m.group(2) or "")
        for t in tokens:
            if t.startswith("…"):
                first = tokens[0]
                at = first.find(t[1:].split("_")[1])
                assert at > 0, "README.md:%d: %s continues no prefix of %s" % (line, t, first)
                t = first[:at - 1] + t[1:]
            k = kind or ("gauge" if t in gauge_names else "counter")
            if t in out:
                raise AssertionError("README.md:%d: %s listed twice" % (line, t))
            out[t] = (line, k, label, values)
    return out


def exported_metrics(text):
    """{name: (type, {label: set of values})} of a Prometheus exposition."""
    out = {}
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M):
        labels = {}
        for sample, lab in re.findall(r"^(%s(?:_bucket|_sum|_count)?)(?:\{(.*)\})? \S+$" % re.escape(name), text, re.M):
            for k, v in re.findall(r'([a-z_]+)="([^"]*)"', lab or ""):
                labels.setdefault(k, set()).add(v)
        out[name] = (kind, labels)
    return out


class MetricsTest(GatewayTestCase):
    """README's metrics table against /admin/metrics."""
    with_origin = False

    def test_metrics_match_the_table(self):
        text = curl(self.gw.admin_url("/admin/metrics"), headers=[AUTH]).text
        exported, documented = exported_metrics(text), readme_metrics()
        self.assertGreater(len(exported), 10)
        self.assertEqual(sorted(set(exported) - set(documented)), [], "exported and not in README's metrics table")
        self.assertEqual(sorted(set(documented) - set(exported)), [], "in README's metrics table and not exported")
        for name, (line, kind, label, values) in sorted(documented.items()):
            with self.subTest(metric=name):
                got_kind, got_labels = exported[name]
                self.assertEqual(got_kind, kind, "README.md:%d: %s" % (line, name))
                got_labels = {k: v for k, v in got_labels.items() if not (kind == "histogram" and k == "le")}
                self.assertEqual(sorted(got_labels), [label] if label else [], "README.md:%d: %s" % (line, name))
                if values:
                    self.assertEqual(sorted(got_labels[label]), sorted(values), "README.md:%d: %s" % (line, name))


# ---- command line -----------------------------------------------------------------------------

def options_in(text):
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))


def readme_gateway_options():
    """{option: line} of README's consentgate options table."""
    out = {}
    for line, (opts, _) in readme().table("consentgate", ["option", ""]):
        names = re.findall(r"`(--?[a-z][a-z-]*)(?: [A-Z]+)?`", opts)
        if not names or re.sub(r"`[^`]+`|,| |-h|-v", "", opts):
            raise AssertionError("README.md:%d: an option cell is `-x`, `--long ARG`, …: %s" % (line, opts))
        out.update((n, line) for n in names)
    return out


def readme_ctl():
    """(global options, {command: options}) of README's consentgate-ctl synopsis block."""
    text = readme().text("consentgate-ctl")
    m = re.search(r"^```\n(consentgate-ctl .*?)\n```$", text, re.M | re.S)
    assert m, "README.md: consentgate-ctl: no synopsis block"
    first, *rest = m.group(1).split("\n")
    commands = {}
    for line in rest:
        c = re.match(r"^  ([a-z]+)\b(.*?)(?: {2,}.*)?$", line)
        if not c:
            raise AssertionError("README.md: consentgate-ctl synopsis: not `  command [options]  what`: %s" % line)
        commands[c.group(1)] = options_in(c.group(2))
    return options_in(first), commands


def ctl(*args, env=None):
    return subprocess.run([sys.executable, CTL] + list(args), capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))


class CommandLineTest(unittest.TestCase):
    """README's options of consentgate and consentgate-ctl against the programs."""

    def test_gateway_options(self):
        documented = readme_gateway_options()
        src = source("main.c")
        longs = {"--" + n for n in re.findall(r'\{"([a-z-]+)", (?:no|required)_argument', src)}
        shorts = {"-" + c for c in re.search(r'getopt_long\(argc, argv, "([a-z:]+)"', src).group(1).replace(":", "")}
        self.assertEqual(sorted(longs | shorts), sorted(documented), "main.c's options and README's table")
        helptext = run_binary(["--help"])
        self.assertEqual(helptext.returncode, 0)
        self.assertEqual(sorted(options_in(helptext.stdout)), sorted(documented),
                         "--help's options and README's table")

    def test_usage_lines(self):
        """README's synopsis of each command is its --help's usage line (argparse's -h and trailing ... aside), and the
        variables consentgate-ctl reads are the ones README names."""
        text = readme().text("consentgate")
        synopsis = re.search(r"^```\n(consentgate .*)\n```$", text, re.M).group(1)
        self.assertEqual("usage: " + synopsis, run_binary(["--help"]).stdout.split("\n")[0])
        first = re.search(r"^```\n(consentgate-ctl .*)$", readme().text("consentgate-ctl"), re.M).group(1)
        usage = ctl("--help").stdout.split("\n")[0]
        self.assertEqual("usage: " + first, usage.replace(" [-h]", "").replace(" ...", ""))
        with open(CTL, encoding="utf-8") as f:
            read = set(re.findall(r'environ\.get\("(CG_[A-Z_]+)"', f.read()))
        self.assertEqual(sorted(read), sorted(set(re.findall(r"\$(CG_[A-Z_]+)", readme().text("consentgate-ctl")))))

    def test_gateway_exit_codes(self):
        # README: usage errors (both modes at once too) 2; --check-config 0 valid, 1 not; --version 0
        self.assertEqual(run_binary(["--no-such-option"]).returncode, 2)
        self.assertEqual(run_binary(["--check-config", "--verify-records"]).returncode, 2)
        self.assertEqual(run_binary(["--version"]).returncode, 0)
        with tempfile.TemporaryDirectory(prefix="cg-it-docs-cli-") as tmp:
            cfg = gateway_config("http://127.0.0.1:1", admin=False, store={"sqlite": "consent.db"})
            path = os.path.join(tmp, "c.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            r = run_binary(["-t", "-c", path])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "w") as f:
                json.dump(merge(cfg, {"threads": "2"}), f)
            r = run_binary(["--check-config", "--config", path])
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"c\.json:\d+:\d+: threads: ")
            # README: --verify-records exits 2 when the configuration does not load
            self.assertEqual(run_binary(["--verify-records", "-c", path]).returncode, 2)

    def test_environment_hooks(self):
        """The CG_* variables the gateway reads are README's test hooks."""
        text = re.sub(r"\s+", " ", readme().text("Tests"))
        sentence = re.search(r"reads (\w+) test hooks from its environment[^:]*: (.*?)\. ", text)
        documented = set(re.findall(r"`(CG_[A-Z_]+)", sentence.group(2)))
        read = set()
        for d in ("gateway", "filters"):
            for name in os.listdir(os.path.join(REPO, d)):
                if name.endswith(".c"):
                    with open(os.path.join(REPO, d, name), encoding="utf-8") as f:
                        read.update(re.findall(r'getenv\("(CG_[A-Z_]+)"\)', f.read()))
        self.assertEqual(sorted(read), sorted(documented))
        self.assertEqual(sentence.group(1), {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}[len(read)])

    def test_ctl_options_and_commands(self):
        glob, commands = readme_ctl()
        src = open(CTL, encoding="utf-8").read()
        main = src[src.index("def main():"):]
        self.assertEqual(sorted(set(re.findall(r'ap\.add_argument\("(--[a-z-]+)"', main))), sorted(glob),
                         "consentgate-ctl's options and README's synopsis")
        helptext = ctl("--help")
        self.assertEqual(helptext.returncode, 0)
        taken = set(re.findall(r"^    ([a-z]+) ", helptext.stdout, re.M))  # argparse's list of sub-commands
        self.assertEqual(sorted(taken), sorted(commands), "consentgate-ctl --help's commands and README's synopsis")
        # the program's own synopsis, its --help's first lines, names them too
        synopsis = set(re.findall(r"^  consentgate-ctl ([a-z]+)", helptext.stdout, re.M))
        self.assertEqual(sorted(synopsis), sorted(commands), "consentgate-ctl --help's synopsis and README's")
        for cmd, opts in sorted(commands.items()):
            with self.subTest(command=cmd):
                r = ctl(cmd, "--help")
                self.assertEqual(r.returncode, 0)
                self.assertEqual(sorted(options_in(r.stdout.split("\n", 1)[1]) - {"-h", "--help"}), sorted(opts),
                                 "consentgate-ctl %s --help and README's synopsis" % cmd)

    def test_ctl_exit_codes(self):
        # README: usage and connection errors exit 2
        self.assertEqual(ctl().returncode, 2)
        r = ctl("--admin", "http://127.0.0.1:%d" % free_port(), "lists", env={"CG_ADMIN_TOKEN": ADMIN_TOKEN})
        self.assertEqual(r.returncode, 2, r.stderr)


class MakeTargetsTest(unittest.TestCase):
    """README's table of make targets against the Makefile's .PHONY ones (check-deps: the others' helper)."""

    def test_targets(self):
        documented = set()
        for line, cells in readme().table("The two commands", ["target", "does"]):
            if not re.match(r"^`make(?: [a-z-]+)?`", cells[0]):
                raise AssertionError("README.md:%d: a target cell is `make x`, …: %s" % (line, cells[0]))
            documented.update(n or "all" for n in re.findall(r"`make(?: ([a-z-]+))?`", " ".join(cells)))
        documented.update(re.findall(r"^make ([a-z-]+) ", readme().text("The two commands"), re.M))  # run, test
        with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as f:
            phony = set(re.search(r"^\.PHONY: (.*)$", f.read(), re.M).group(1).split())
        self.assertEqual(sorted(documented - phony), [], "README's targets the Makefile lacks")
        self.assertEqual(sorted(phony - documented - {"check-deps"}), [], "the Makefile's targets README's table lacks")


# ---- the design contract ----------------------------------------------------------------------

def design_config_keys(doc):
    """The keys of DESIGN's example config, at README's granularity (a section's keys as section.key, where README
    has no row for the section as a whole), and the `key.path` (default `value`) of its prose."""
    text = doc.text("External contract (tests outside the project drive exactly this; keep it stable)")
    m = re.search(r"^```json\n(.*?)\n```$", text, re.M | re.S)
    assert m, "DESIGN.md: no example config"
    example = json.loads(m.group(1))
    rows = readme_config()
    keys = set()
    for k, v in example.items():
        if isinstance(v, dict) and k not in rows:
            keys.update(k + "." + s for s in v)
        else:
            keys.add(k)
    defaults = dict(re.findall(r"`([a-z_]+\.[a-z_]+)` [^.()]*?\(default `([^`]+)`\)", text))
    return keys, defaults


class DesignContractTest(GatewayTestCase):
    """DESIGN.md's external contract against README and the running gateway."""
    with_tls = True
    config = EndpointsTest.config

    @classmethod
    def setUpClass(cls):
        cls.design = design()
        super().setUpClass()

    def test_config_keys(self):
        keys, defaults = design_config_keys(self.design)
        rows = readme_config()
        self.assertGreater(len(keys), 15)
        self.assertEqual(sorted(keys - set(rows)), [], "DESIGN's config keys README's table lacks")
        self.assertEqual(sorted(defaults), ["beacons.ping_category", "regimes.gpc_refuses"])
        for key, value in defaults.items():
            self.assertEqual(default_value(rows[key][1]), json.loads(value) if value.startswith("[") else value,
                             "README.md:%d: %s's default and DESIGN's" % (rows[key][0], key))

    def test_endpoints(self):
        tables = endpoint_rows(self.design, "External contract (tests outside the project drive exactly this; keep it "
                               "stable)", ["method path", "answer"], DESIGN_ENDPOINT)
        self.assertEqual(len(tables), 2, "DESIGN.md: public and admin endpoint tables")
        public, admin = ({(m, p) for _, m, p in t} for t in readme_endpoints())
        for (line, method, path), where in [(e, public) for e in tables[0]] + [(e, admin) for e in tables[1]]:
            with self.subTest(endpoint="%s %s" % (method, path)):
                self.assertIn((method, path), where, "DESIGN.md:%d: not in README's table of its listener" % line)

    def test_answer_fields(self):
        """The fields DESIGN's answers name ({"a", "b": …}) are in the gateway's answers (README's may add more)."""
        tables = endpoint_rows(self.design, "External contract (tests outside the project drive exactly this; keep it "
                               "stable)", ["method path", "answer"], DESIGN_ENDPOINT)
        answers = {"%s %s" % (m, p): self.design.cells(line - 1, 2)[1] for t in tables for line, m, p in t}
        for endpoint, url, pick in [("GET /__consent/api/state", self.gw.url("/__consent/api/state"), lambda j: j),
                                    ("GET /admin/lists", self.gw.admin_url("/admin/lists"), lambda j: j[0]),
                                    ("GET /admin/check", self.gw.admin_url("/admin/check?host=a.example"), lambda j: j)]:
            with self.subTest(endpoint=endpoint):
                fields = re.findall(r'(?:\{|, )"([a-z_]+)"(?=[,:}])', answers[endpoint])
                self.assertGreater(len(fields), 2, answers[endpoint])
                got = pick(curl(url, headers=[AUTH]).json())
                self.assertEqual([f for f in fields if f not in got], [], "%s: DESIGN's fields missing" % endpoint)

    def test_command_line(self):
        text = self.design.text("External contract (tests outside the project drive exactly this; keep it stable)")
        line = re.search(r"^Command line: (.*?)\n\n", text, re.M | re.S).group(1)
        documented = readme_gateway_options()
        for opt in options_in(line):
            self.assertIn(opt, documented, "DESIGN's option %s is not in README's table" % opt)

    def test_consent_cookie(self):
        text = self.design.text("External contract (tests outside the project drive exactly this; keep it stable)")
        m = re.search(r"^Consent cookie: `([^`]+)` \(plain HTTP\) / `([^`]+)` \(TLS\): ([A-Za-z=/,\s]+),", text, re.M)
        self.assertIsNotNone(m, "DESIGN.md: the consent cookie's sentence")
        attrs = [a.strip() for a in m.group(3).split(",")]  # (HMAC-SHA256-signed, … are the value's)
        self.assertEqual(attrs, ["HttpOnly", "SameSite=Lax", "Path=/"])
        for name, tls in [(m.group(1), False), (m.group(2), True)]:
            with self.subTest(cookie=name):
                url = self.gw.url("/__consent/api/consent", tls=tls)
                r = curl(url, method="POST", data='{"all": true}', headers=["Content-Type: application/json"])
                self.assertEqual(r.status, 200, r.text)
                mine = [c for c in r.header_all("set-cookie") if c.startswith(name + "=")]
                self.assertEqual(len(mine), 1, r.header_all("set-cookie"))
                got = [a.strip() for a in mine[0].split(";")[1:]]
                for a in attrs:
                    self.assertIn(a, got)
                self.assertEqual("Secure" in got, tls)
