"""Integration-test harness: a real origin, the real gateway binary, the real curl.

What it gives a test:
  * free_port()                      a TCP port nobody listens on (and not handed out before)
  * Origin(workdir)                  conf/demo/origin.py on a free port, logging to workdir/origin.log;
                                     .requests(), .find(), .assert_reached(), .assert_not_reached()
  * Gateway(workdir, config)         the binary (env CG_BIN, default build/asan/consentgate) with
                                     `config` (a dict) written to workdir/consentgate.json;
                                     .start() waits until every listener accepts (10 s),
                                     .stop() sends SIGTERM and checks: exit 0 within 10 s and no
                                     ASan/UBSan/LSan/TSan report on stderr or in the error log
  * gateway_config(origin_url, ...)  the contract's config with free ports
  * curl(url, ...), curl_many(urls)  the real curl; Response(status, http_version, headers, body, ...)
  * raw_request(port, bytes)         bytes on a plain socket, for what curl will not send
  * make_cert(dir)                   a self-signed cert + key made with the openssl CLI
  * limit_file_size(n)               a Gateway.preexec: files the gateway writes stop at n bytes (a full disk)
  * GatewayTestCase                  a TestCase whose class shares one origin and one gateway

Environment: CG_BIN (gateway binary), CG_KEEP_TMP=1 (keep the per-class temp folders),
ASAN_OPTIONS / UBSAN_OPTIONS (defaults set here when absent).
"""

import atexit
import copy
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ORIGIN_PY = os.path.join(REPO, "conf", "demo", "origin.py")
CG_BIN = os.path.abspath(os.path.join(REPO, os.environ.get("CG_BIN", "build/asan/consentgate")))
TSAN_SUPP = os.path.join(REPO, "tests", "tsan.supp")
CURL = shutil.which("curl") or "curl"
OPENSSL = shutil.which("openssl") or "openssl"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", "WARNING: ThreadSanitizer",
                     "ThreadSanitizer:")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
ADMIN_TOKEN_NAME = "ci"
ADMIN_TOKEN = "ci-token-7f3a9c2e41d8b6"

sys.dont_write_bytecode = True  # no __pycache__ in conf/demo
sys.path.insert(0, os.path.join(REPO, "conf", "demo"))
from origin import big_body_pattern, GIF_1X1  # noqa: E402  (the same bytes the origin sends)

__all__ = ["REPO", "CG_BIN", "ADMIN_TOKEN", "ADMIN_TOKEN_NAME", "free_port", "Origin", "Gateway",
           "gateway_config", "curl", "curl_many", "Response", "raw_request", "parse_responses",
           "make_cert", "GatewayTestCase", "big_body_pattern", "GIF_1X1", "header_values",
           "wait_until", "sanitizer_env", "run_binary", "limit_file_size", "RawOrigin"]


def sanitizer_env(env=None):
    env = dict(os.environ if env is None else env)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    # (CG_BIN=build/tsan/consentgate) the reports of uninstrumented libraries known to be safe are in tests/tsan.supp
    env.setdefault("TSAN_OPTIONS", "suppressions=%s:second_deadlock_stack=1:history_size=4" % TSAN_SUPP)
    return env


# ---- ports, waiting ---------------------------------------------------------------------------

_given_ports = set()
_port_lock = threading.Lock()


def ui_hash(strings=None, static=os.path.join(REPO, "static")):
    """The UI hash a consent record carries, computed independently of gateway/records.c: SHA-256 over
    "path\0contents\0" of every file under static/ (names sorted per folder, folders where they sort),
    then, with operator overrides {lang: {key: value}}, "ui.strings\0" and "lang\0key\0value\0" of each,
    sorted by language and key."""
    h = hashlib.sha256()

    def walk(rel):
        for name in sorted(os.listdir(os.path.join(static, rel))):
            if name.startswith("."):
                continue
            sub = rel + "/" + name if rel else name
            full = os.path.join(static, sub)
            if os.path.isdir(full):
                walk(sub)
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    h.update(sub.encode() + b"\0" + f.read() + b"\0")
    walk("")
    if strings:
        h.update(b"ui.strings\0")
        for lang, key, value in sorted((l, k, v) for l, kv in strings.items() for k, v in kv.items()):
            h.update(b"".join(s.encode() + b"\0" for s in (lang, key, value)))
    return h.hexdigest()


def free_port():
    """A port that is free now and that this process has not handed out before."""
    with _port_lock:
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _given_ports:
                _given_ports.add(port)
                return port
    raise RuntimeError("no free port found")


def port_accepts(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(pred, timeout=5.0, interval=0.05):
    """Polls pred() until it returns a truthy value (returned) or the timeout (returns None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def _tail(path, n=6000):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data[-n:].decode("utf-8", "replace")


def header_values(headers, name):
    """Values of header `name` (case-insensitive) in a list of [name, value] pairs."""
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


# ---- origin -----------------------------------------------------------------------------------

class Origin:
    """conf/demo/origin.py as a child process with its request log in workdir."""

    def __init__(self, workdir, port=None, name="origin"):
        self.workdir = workdir
        self.port = port or free_port()
        self.log_path = os.path.join(workdir, name + ".log")
        self.out_path = os.path.join(workdir, name + ".out")
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, ORIGIN_PY, "--host", "127.0.0.1", "--port", str(self.port), "--log", self.log_path],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        out.close()
        ok = wait_until(lambda: self.proc.poll() is not None or port_accepts(self.port), START_TIMEOUT)
        if not ok or self.proc.poll() is not None:
            self.kill()
            raise RuntimeError("origin did not start on port %d:\n%s" % (self.port, _tail(self.out_path)))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        """Simulates a crash: SIGKILL, the port stops accepting."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def requests(self):
        """Every request the origin has logged so far, oldest first (dicts, see origin.py)."""
        try:
            with open(self.log_path, "r", encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def find(self, path_part, method=None):
        """Logged requests whose path (with query) contains path_part."""
        return [r for r in self.requests()
                if path_part in r["path"] and (method is None or r["method"] == method)]

    def assert_reached(self, path_part, method=None, count=None, timeout=2.0):
        """Returns the last matching entry; fails with the paths seen when there is none."""
        found = wait_until(lambda: self.find(path_part, method), timeout)
        if not found:
            seen = ["%s %s" % (r["method"], r["path"]) for r in self.requests()[-20:]]
            raise AssertionError("origin never received %s %r; last requests seen: %s"
                                 % (method or "any method", path_part, seen))
        if count is not None and len(found) != count:
            raise AssertionError("origin received %r %d times, expected %d" % (path_part, len(found), count))
        return found[-1]

    def assert_not_reached(self, path_part, method=None, settle=0.2):
        """Fails if any logged request's path contains path_part (after a short settle time)."""
        time.sleep(settle)
        found = self.find(path_part, method)
        if found:
            raise AssertionError("origin received what it must not: %s"
                                 % ["%s %s" % (r["method"], r["path"]) for r in found])

    @staticmethod
    def header(entry, name):
        """Values of a request header in a log entry (list, in order)."""
        return header_values(entry["headers"], name)


# ---- gateway ----------------------------------------------------------------------------------

def gateway_config(upstream, tls_cert=None, admin=True, **overrides):
    """The contract's config with free ports: one plain listener, a TLS one when tls_cert is a
    (cert, key) pair of paths, an admin listener, logs in the config's folder.  overrides are
    merged in (dicts recursively; a value of None deletes the key)."""
    cfg = {
        "listen": [{"host": "127.0.0.1", "port": free_port()}],
        "upstream": upstream,
        "threads": 2,
        "proxy": {"io_timeout_ms": 30000, "keepalive_timeout_ms": 2000, "max_request_body": 1048576},
        "log": {"access": "access.log", "error": "error.log", "level": "info"},
        # keys and records stay in the test's own folder (the defaults, ../var/, would be shared)
        "secrets_file": "secrets.json",
        # no per-client limit on record writes: the tests post hundreds of consents from 127.0.0.1
        # (test_records.RateLimitTest checks the default)
        "store": {"sqlite": "consent.db", "rate_per_minute": 0},
        # no tracker lists unless a test asks for them (loading EasyList takes a while under ASan)
        "trackers": {"lists": []},
        "channel": {"audit_log": "audit.log"},
    }
    if tls_cert:
        cfg["listen"].append({"host": "127.0.0.1", "port": free_port(),
                              "tls": {"cert": tls_cert[0], "key": tls_cert[1]}})
    if admin:
        cfg["admin"] = {"listen": {"host": "127.0.0.1", "port": free_port()}, "tokens_file": "admin-tokens"}
    return merge(cfg, overrides)


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Gateway:
    """The gateway binary with a config dict, in workdir (config, tokens, logs, stderr)."""

    def __init__(self, workdir, config, binary=None, tokens=None, name="consentgate"):
        self.workdir = workdir
        self.config = config
        self.binary = binary or CG_BIN
        self.config_path = os.path.join(workdir, name + ".json")
        self.stderr_path = os.path.join(workdir, name + ".stderr")
        self.stdout_path = os.path.join(workdir, name + ".stdout")
        self.tokens = {ADMIN_TOKEN_NAME: ADMIN_TOKEN} if tokens is None else tokens
        self.proc = None
        self.returncode = None
        self.preexec = None  # run in the child before exec (e.g. resource limits)
        self.env = {}  # more environment for the process (test hooks such as CG_HOLD_BUDGET_KB)

    # ports from the config
    @property
    def port(self):
        return [l["port"] for l in self.config["listen"] if "tls" not in l][0]

    @property
    def tls_port(self):
        return [l["port"] for l in self.config["listen"] if "tls" in l][0]

    @property
    def admin_port(self):
        return self.config["admin"]["listen"]["port"]

    def url(self, path="/", tls=False):
        if tls:
            return "https://127.0.0.1:%d%s" % (self.tls_port, path)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def admin_url(self, path="/admin/metrics"):
        return "http://127.0.0.1:%d%s" % (self.admin_port, path)

    def path(self, name):
        """A file in the gateway's workdir (where relative config paths point)."""
        return os.path.join(self.workdir, name)

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)
            f.write("\n")
        admin = self.config.get("admin") or {}
        tf = admin.get("tokens_file")
        if tf and self.tokens is not None:
            with open(os.path.join(self.workdir, tf), "w") as f:
                f.write("".join("%s:%s\n" % kv for kv in self.tokens.items()))
            os.chmod(os.path.join(self.workdir, tf), 0o600)

    def ports(self):
        ps = [l["port"] for l in self.config.get("listen", [])]
        if (self.config.get("admin") or {}).get("listen"):
            ps.append(self.admin_port)
        return ps

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("gateway binary not found: %s (run 'make asan', or set CG_BIN)" % self.binary)
        self.write_config()
        # Run from an empty folder: relative config paths must resolve against the config's folder.
        cwd = os.path.join(self.workdir, "cwd")
        os.makedirs(cwd, exist_ok=True)
        err = open(self.stderr_path, "ab")
        out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen([self.binary, "-c", self.config_path], stdout=out, stderr=err,
                                     stdin=subprocess.DEVNULL, cwd=cwd, env=sanitizer_env(dict(os.environ, **self.env)),
                                     preexec_fn=self.preexec)
        err.close()
        out.close()
        ports = self.ports()
        ok = wait_until(lambda: self.proc.poll() is not None or all(port_accepts(p) for p in ports),
                        START_TIMEOUT)
        if self.proc.poll() is not None or not ok:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            self.returncode = self.proc.returncode  # reported here; tearDownClass need not again
            raise RuntimeError("gateway did not accept on ports %s within %.0f s (exit status %s)\n%s"
                               % (ports, START_TIMEOUT, rc, self.diagnostics()))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stderr(self):
        return _tail(self.stderr_path)

    def error_log(self):
        """Tail of the configured error log (log.error, relative to the config's folder), or ''."""
        name = (self.config.get("log") or {}).get("error")
        return _tail(os.path.join(self.workdir, name)) if name else ""

    def diagnostics(self):
        return "--- stderr (%s):\n%s\n--- error log:\n%s" % (self.stderr_path, self.stderr(), self.error_log())

    def sanitizer_report(self):
        # (the error log, log.error, takes over stderr once open: the sanitizers write there from then on)
        name = (self.config.get("log") or {}).get("error")
        text = _tail(self.stderr_path, 1 << 20) + (_tail(os.path.join(self.workdir, name), 1 << 20) if name else "")
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then the exit status (SIGKILL and None if it did not exit within timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
                return None
        self.returncode = self.proc.returncode
        return self.returncode

    def stop_and_check(self, timeout=STOP_TIMEOUT, expect_running=True):
        """stop(), then raise AssertionError unless it exited 0 in time with no sanitizer report
        (and, with expect_running, unless it was still running when SIGTERM was due)."""
        was_alive = self.alive()
        rc = self.stop(timeout)
        problems = []
        if expect_running and not was_alive and self.proc is not None:
            problems.append("gateway had already exited (status %s) before SIGTERM" % self.proc.returncode)
        elif rc is None:
            problems.append("gateway did not exit within %.0f s of SIGTERM" % timeout)
        elif rc != 0:
            problems.append("gateway exited with status %s after SIGTERM" % rc)
        report = self.sanitizer_report()
        if report:
            problems.append("sanitizer report (stderr or error log):\n" + report)
        if problems:
            raise AssertionError("\n".join(problems) + ("" if report else "\n" + self.diagnostics()))


def limit_file_size(limit):
    """A preexec for the gateway (Gateway.preexec): every file it writes may grow to `limit` bytes (RLIMIT_FSIZE), and
    a write beyond fails with EFBIG (one that crosses it is cut short) instead of killing it (SIGXFSZ ignored): what a
    full disk looks like to the gateway."""
    def apply():
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def run_binary(args, timeout=15, cwd=None, binary=None):
    """Runs the gateway binary with args (not as a server); returns CompletedProcess (text)."""
    binary = binary or CG_BIN
    if not os.access(binary, os.X_OK):
        raise RuntimeError("gateway binary not found: %s (run 'make asan', or set CG_BIN)" % binary)
    return subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=sanitizer_env(), stdin=subprocess.DEVNULL)


# ---- TLS --------------------------------------------------------------------------------------

_cert_cache = {}


def make_cert(directory, cn="localhost"):
    """Writes cert.pem and key.pem (self-signed, localhost + 127.0.0.1) into directory; returns
    their paths.  The key pair is generated once per process with the openssl CLI and copied."""
    if cn not in _cert_cache:
        d = tempfile.mkdtemp(prefix="cg-cert-")
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3",
                        "-keyout", os.path.join(d, "key.pem"), "-out", os.path.join(d, "cert.pem"),
                        "-subj", "/CN=%s" % cn, "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % cn],
                       check=True, capture_output=True, timeout=60)
        _cert_cache[cn] = d
        atexit.register(shutil.rmtree, d, True)  # (each run left its key pair in /tmp)
    out = []
    for name in ("cert.pem", "key.pem"):
        dst = os.path.join(directory, name)
        shutil.copyfile(os.path.join(_cert_cache[cn], name), dst)
        out.append(dst)
    os.chmod(out[1], 0o600)
    return out[0], out[1]


# ---- curl -------------------------------------------------------------------------------------

class Response:
    """One transfer: status, http_version ("1.1", "2"), headers [(name, value)] in order (final
    response only; 1xx blocks are in .interim), body bytes, and curl's own facts."""

    def __init__(self, status, http_version, headers, body, info, stderr, interim=()):
        self.status = status
        self.http_version = http_version
        self.headers = headers
        self.body = body
        self.info = info            # curl's %{json} write-out
        self.stderr = stderr        # curl's stderr (with -v: the whole conversation)
        self.interim = list(interim)

    @property
    def exit_code(self):
        return self.info.get("exitcode", -1)

    @property
    def num_connects(self):
        return self.info.get("num_connects")

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name, default=None):
        v = header_values(self.headers, name)
        return v[0] if v else default

    def header_all(self, name):
        return header_values(self.headers, name)

    def __repr__(self):
        return "<Response %s HTTP/%s %d bytes curl-exit=%s>" % (self.status, self.http_version, len(self.body),
                                                                 self.exit_code)


def _parse_header_dump(data):
    """Splits curl's -D dump into blocks; returns (final (status, version, headers), interim list)."""
    text = data.decode("latin-1")
    blocks = []
    cur = None
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith("HTTP/"):
            m = re.match(r"HTTP/(\S+)\s+(\d{3})", line)
            cur = [int(m.group(2)), m.group(1), []] if m else [0, "", []]
            blocks.append(cur)
        elif line and cur is not None and ":" in line:
            k, _, v = line.partition(":")
            cur[2].append((k.strip(), v.strip()))
    if not blocks:
        return (0, "", []), []
    finals = [b for b in blocks if not (100 <= b[0] < 200)]
    final = finals[-1] if finals else blocks[-1]
    interim = [tuple(b) for b in blocks if b is not final]
    return tuple(final), interim


def _transfer_args(url, d, i, method=None, headers=(), data=None, data_file=None, http="1.1", head=False,
                   cookie_jar=None, cookie=None, timeout=15, extra=()):
    args = ["-s", "-S", "-k", "--max-time", str(timeout)]
    args += {"1.0": ["--http1.0"], "1.1": ["--http1.1"], "2": ["--http2"], "h2c": ["--http2-prior-knowledge"],
             None: []}[http]
    if head:
        args.append("-I")
    if method:
        args += ["-X", method]
    for h in headers:
        args += ["-H", h if isinstance(h, str) else "%s: %s" % h]
    if data is not None:
        data_file = os.path.join(d, "req-%d.bin" % i)
        with open(data_file, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    if data_file is not None:
        args += ["--data-binary", "@" + data_file]
    if cookie_jar:
        args += ["-b", cookie_jar, "-c", cookie_jar]
    if cookie:
        args += ["-b", cookie]
    args += list(extra)
    args += ["-o", os.path.join(d, "body-%d" % i), "-D", os.path.join(d, "headers-%d" % i),
             "-w", "%{json}\\n", url]
    return args


def metric(gw, name, labels=""):
    """The value of a counter or gauge on the gateway's admin /admin/metrics (labels: e.g. '{category="analytics"}'),
    or None when it is not there."""
    r = curl(gw.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
    m = re.search(r"^%s%s (\d+)$" % (re.escape(name), re.escape(labels)), r.text, re.M)
    return int(m.group(1)) if m else None


def metric_help(gw, name):
    """The # HELP text of a metric on the gateway's /admin/metrics, or None."""
    r = curl(gw.admin_url("/admin/metrics"), headers=["Authorization: Bearer " + ADMIN_TOKEN])
    m = re.search(r"^# HELP %s (.*)$" % re.escape(name), r.text, re.M)
    return m.group(1) if m else None


def curl_many(transfers, verbose=False, timeout=30):
    """Runs several transfers in ONE curl process (so curl may reuse connections), joined with
    --next.  transfers: list of dicts of curl() keyword arguments, each with 'url'.  Returns the
    Responses; each one's .stderr is the whole run's stderr (with verbose: -v output)."""
    if len(transfers) > 1 and any(t.get("http") == "h2c" for t in transfers):
        # curl 7.88 (Debian 12) fails every transfer after the first on a reused prior-knowledge
        # h2c connection ("Error in the HTTP2 framing layer"), against stock h2o 2.2.5 as well.
        raise ValueError("curl_many: use one curl process per h2c transfer (curl 7.88 bug)")
    with tempfile.TemporaryDirectory(prefix="cg-curl-") as d:
        args = [CURL]
        for i, t in enumerate(transfers):
            if i:
                args.append("--next")
            t = dict(t)
            url = t.pop("url")
            if verbose:
                args.append("-v")
            args += _transfer_args(url, d, i, **t)
        p = subprocess.run(args, capture_output=True, timeout=timeout + 5)
        infos = [json.loads(l) for l in p.stdout.decode("utf-8", "replace").splitlines() if l.startswith("{")]
        stderr = p.stderr.decode("utf-8", "replace")
        out = []
        for i in range(len(transfers)):
            info = infos[i] if i < len(infos) else {"exitcode": p.returncode, "errormsg": stderr}
            try:
                with open(os.path.join(d, "headers-%d" % i), "rb") as f:
                    hdr = f.read()
            except FileNotFoundError:
                hdr = b""
            try:
                with open(os.path.join(d, "body-%d" % i), "rb") as f:
                    body = f.read()
            except FileNotFoundError:
                body = b""
            (status, version, headers), interim = _parse_header_dump(hdr)
            if transfers[i].get("head"):
                body = b""  # with -I curl writes the headers to the output file; HEAD has no body
            out.append(Response(status, version, headers, body, info, stderr, interim))
        return out


def curl(url, verbose=False, **kw):
    """One transfer with the real curl.  Keywords: method, headers (list of "Name: value" or
    (name, value)), data (bytes/str, sent byte-exact with --data-binary), data_file, http ("1.0",
    "1.1" (default), "2" (ALPN over TLS / Upgrade on plain), "h2c" (prior knowledge), None),
    head (-I), cookie_jar (file read and written), cookie (-b string), timeout (s), extra (more
    curl args).  TLS certificates are not verified (-k).  Never raises on HTTP errors: a
    transport failure gives status 0 and .exit_code != 0."""
    timeout = kw.get("timeout", 15)
    return curl_many([dict(kw, url=url)], verbose=verbose, timeout=timeout)[0]


# ---- raw sockets ------------------------------------------------------------------------------

class RawOrigin:
    """An origin of raw bytes, for what conf/demo/origin.py will not send: each connection gets responses[path] (the
    request's path without its query; a 404 for another) and is closed. .url for the gateway's upstream; .close()."""

    NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def __init__(self, responses):
        self.responses = responses
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            path = data.split(b" ", 2)[1].decode() if data.count(b" ") >= 2 else "/"
            c.sendall(self.responses.get(path.split("?")[0], self.NOT_FOUND))
            c.close()

    def close(self):
        self.sock.close()


def raw_request(port, data, tls=False, timeout=5.0, host="127.0.0.1", read_until_close=True):
    """Sends bytes on a fresh connection and returns every byte received until the peer closes
    (or timeout).  For requests curl will not produce (pipelining, malformed input)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    try:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError):
                break
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
        return b"".join(chunks)
    finally:
        sock.close()


def parse_responses(data, methods):
    """Parses consecutive HTTP/1.x responses from bytes; methods[i] is the method of the i-th
    request (a HEAD response has no body).  Returns [(status, headers, body)]; a truncated tail
    raises ValueError."""
    out = []
    pos = 0
    for method in methods:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise ValueError("incomplete response head at byte %d: %r" % (pos, data[pos:pos + 200]))
        lines = data[pos:end].decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = [tuple(s.strip() for s in l.split(":", 1)) for l in lines[1:] if ":" in l]
        pos = end + 4
        hv = lambda n: [v for k, v in headers if k.lower() == n]  # noqa: E731
        body = b""
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif any("chunked" in v.lower() for v in hv("transfer-encoding")):
            while True:
                le = data.find(b"\r\n", pos)
                if le < 0:
                    raise ValueError("truncated chunk size")
                size = int(data[pos:le].split(b";")[0], 16)
                pos = le + 2
                if size == 0:
                    te = data.find(b"\r\n\r\n", pos - 2)
                    pos = te + 4 if te >= 0 else len(data)
                    break
                body += data[pos:pos + size]
                pos += size + 2
        elif hv("content-length"):
            n = int(hv("content-length")[0])
            if len(data) - pos < n:
                raise ValueError("truncated body: %d of %d bytes" % (len(data) - pos, n))
            body = data[pos:pos + n]
            pos += n
        else:
            body = data[pos:]
            pos = len(data)
        out.append((status, headers, body))
    if pos != len(data):
        raise ValueError("%d unexpected bytes after the responses: %r" % (len(data) - pos, data[pos:pos + 200]))
    return out


# ---- test case base ---------------------------------------------------------------------------

class GatewayTestCase(unittest.TestCase):
    """One origin and one gateway for the whole class.  Subclasses set:
         with_origin = True        start an origin (cls.origin)
         with_tls = False          add a TLS listener (cert made with openssl)
         config = {}               overrides merged into gateway_config()
         start_gateway = True      start cls.gw in setUpClass
    tearDownClass stops the gateway and fails the class unless it exited 0 with no sanitizer report.
    """
    with_origin = True
    with_tls = False
    config = {}
    start_gateway = True

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cg-it-%s-" % cls.__name__)
        cls.origin = None
        cls.gw = None
        cls._extra_gateways = []
        cls._extra_origins = []
        try:
            if cls.with_origin:
                cls.origin = Origin(cls.tmp).start()
            upstream = cls.origin.url if cls.origin else "http://127.0.0.1:%d" % free_port()
            cert = None
            if cls.with_tls:
                make_cert(cls.tmp)
                cert = ("cert.pem", "key.pem")  # relative: resolved against the config's folder
            cls.gw = Gateway(cls.tmp, gateway_config(upstream, tls_cert=cert, **cls.config))
            if cls.start_gateway:
                cls.gw.start()
        except BaseException:
            cls._cleanup(check=False)
            raise

    @classmethod
    def tearDownClass(cls):
        cls._cleanup(check=True)

    @classmethod
    def _cleanup(cls, check):
        error = None
        for g in [cls.gw] + cls._extra_gateways:
            if g is None or g.proc is None:
                continue
            if check and g.returncode is None:
                try:
                    g.stop_and_check()
                except AssertionError as e:
                    error = error or e
            else:
                g.stop()
        for o in [cls.origin] + cls._extra_origins:
            if o:
                o.stop()
        if error is None and not os.environ.get("CG_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)
        elif error is not None:
            error.args = (str(error) + "\n(files kept in %s)" % cls.tmp,)
        if error:
            raise error

    @classmethod
    def new_origin(cls, name):
        o = Origin(cls.tmp, name=name).start()
        cls._extra_origins.append(o)
        return o

    @classmethod
    def new_gateway(cls, name, config, start=True):
        """A further gateway in its own subfolder of the class's temp dir, stopped (and checked)
        in tearDownClass unless the test stopped it."""
        d = os.path.join(cls.tmp, name)
        os.makedirs(d, exist_ok=True)
        g = Gateway(d, config, name=name)
        cls._extra_gateways.append(g)
        if start:
            g.start()
        return g
