#!/usr/bin/env python3
"""Side-by-side benchmark driver (started by tests/bench/run.sh; see tests/bench/README.md).

Origin (nginx) -> {direct, h2o, nginx, consentgate, ...} -> wrk / h2load, all on 127.0.0.1.
Every load run is bounded in time; every process started here runs in its own process
group, is listed in $BENCH_DIR/pgids (the backstop of run.sh) and is stopped on exit,
failure, Ctrl-C and SIGTERM. Settings come from the environment (README.md).
"""
import datetime
import json
import os
import re
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "tests" / "bench"
LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# --- settings ---------------------------------------------------------------------------
KNOBS = {  # name: (default, meaning) -- README.md documents the same list
    "THREADS": ("1", "worker threads / processes of every proxy under test"),
    "ROUNDS": ("3", "interleaved rounds per scenario (A B C D A B C D ...); medians reported"),
    "DURATION": ("5", "seconds per load run"),
    "WARMUP": ("1", "seconds of unmeasured load per target before each scenario (0: none)"),
    "CONNS": ("32", "wrk connections (20 KB page, pixel)"),
    "BIG_CONNS": ("8", "wrk connections for the 5 MB page"),
    "WRK_THREADS": ("1", "wrk threads"),
    "H2_CONNS": ("32", "h2load connections (-c)"),
    "H2_STREAMS": ("10", "h2load concurrent streams per connection (-m)"),
    "H2_THREADS": ("1", "h2load threads (-t)"),
    "H2_REQUESTS": ("", "if set: h2load -n H2_REQUESTS (bounded by a timeout) instead of -D DURATION"),
    "SCENARIOS": ("page,big,pixel,h2", "scenarios to run"),
    "TARGETS": ("", "rows of the targets file to run (default: all)"),
    "TARGETS_FILE": ("tests/bench/targets.conf", "the rows (name, kind, env, extra config)"),
    "ORIGIN_WORKERS": ("1", "nginx worker processes of the origin"),
    "MEM": ("1", "measure idle RSS with MEM_THREADS threads (0: skip)"),
    "MEM_THREADS": ("2", "threads for the idle-memory measurement"),
    "MEM_DURATION": ("3", "seconds of load between the two RSS readings"),
    "MICRO": ("1", "run build/rel/bench/micro_* (0: skip)"),
    "MICRO_TIMEOUT": ("180", "seconds allowed per micro benchmark"),
    "MICRO_DIR": ("build/rel/bench", "where the micro_* binaries are"),
    "CONSENTGATE": ("build/consentgate", "consentgate binary"),
    "CG_EXTRA": ("", "JSON deep-merged into every consentgate config"),
    "OUT": ("build/bench/results.md", "report file (results.json is written next to it)"),
    "KEEP": ("0", "1: keep the temp dir (configs, logs) after the run"),
}


def knob(name):
    v = os.environ.get(name, "")
    return v if v != "" else KNOBS[name][0]


def knob_int(name, minimum=0):
    v = knob(name)
    try:
        n = int(v)
    except ValueError:
        raise BenchError(f"{name}={v!r} is not an integer")
    if n < minimum:
        raise BenchError(f"{name}={n} must be >= {minimum}")
    return n


class BenchError(Exception):
    pass


class Interrupted(BaseException):
    pass


def on_signal(signum, frame):
    raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def tail(path, n=25):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "    (no log)"
    return "\n".join("    " + l for l in lines[-n:]) or "    (empty log)"


# --- processes --------------------------------------------------------------------------
BENCH_DIR = Path(os.environ.get("BENCH_DIR") or "/nonexistent")
PGIDS = set()
ALL_PROCS = []


def save_pgids():
    tmp = BENCH_DIR / "pgids.tmp"
    tmp.write_text("".join(f"{g}\n" for g in sorted(PGIDS)))
    tmp.replace(BENCH_DIR / "pgids")


def proc_stat(pid):
    """(ppid, utime+stime ticks) of one process, or None if it is gone."""
    try:
        s = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()
    return int(f[1]), int(f[11]) + int(f[12])


def descendants(pid):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st:
                children.setdefault(st[0], []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pids):
    t = 0
    for p in pids:
        st = proc_stat(p)
        if st:
            t += st[1]
    return t / CLK_TCK


def rss_kb(pids, field="VmRSS"):
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


class Proc:
    """A server started in its own process group; stop() ends the whole group."""

    def __init__(self, name, argv, logfile, cwd=None, env=None):
        self.name, self.argv, self.log = name, argv, logfile
        self.fh = open(logfile, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.fh,
                                  stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                  env=dict(os.environ, **env) if env else None)
        PGIDS.add(self.p.pid)
        ALL_PROCS.append(self)
        save_pgids()
        self.exit_code = None

    def alive(self):
        return self.p.poll() is None

    def pids(self):
        return descendants(self.p.pid) if self.alive() else []

    def group_alive(self):
        try:
            os.killpg(self.p.pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def stop(self, timeout=10):
        if self.p.pid not in PGIDS:
            return self.exit_code
        if self.alive():
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.exit_code = self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"bench: {self.name} ignored SIGTERM for {timeout}s, killing it")
                self.exit_code = "killed"
        else:
            self.exit_code = self.p.returncode
        deadline = time.time() + 3
        while self.group_alive() and time.time() < deadline:  # e.g. nginx workers
            time.sleep(0.05)
        if self.group_alive():
            os.killpg(self.p.pid, signal.SIGKILL)
        try:
            self.p.wait(1)
        except subprocess.TimeoutExpired:
            pass
        self.fh.close()
        PGIDS.discard(self.p.pid)
        save_pgids()
        return self.exit_code


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_listening(proc, port, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not proc.alive():
            raise BenchError(f"{proc.name} exited with status {proc.p.returncode} during start-up:\n"
                             f"  command: {shlex.join(proc.argv)}\n{tail(proc.log)}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{proc.name} does not listen on {LOOPBACK}:{port} after {timeout}s:\n"
                     f"  command: {shlex.join(proc.argv)}\n{tail(proc.log)}")


# --- request shape ----------------------------------------------------------------------
# A returning visitor with the cookies the origin sets (see origin config below).
COOKIES = [
    ("sid", "4f0c3a9e1b7d4c2a8e6f5d3c2b1a0987", "Path=/; HttpOnly; SameSite=Lax"),
    ("lang", "en", "Path=/; Max-Age=31536000; SameSite=Lax"),
    ("_ga", "GA1.1.1234567890.1700000000", "Path=/; Max-Age=63072000; SameSite=Lax"),
    ("_gid", "GA1.1.987654321.1700000000", "Path=/; Max-Age=86400; SameSite=Lax"),
    ("_fbp", "fb.1.1700000000000.1234567890", "Path=/; Max-Age=7776000; SameSite=Lax"),
    ("_gcl_au", "1.1.1234567890.1700000000", "Path=/; Max-Age=7776000; SameSite=Lax"),
]
REQ_HEADERS = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36"),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
    ("Accept-Language", "en-GB,en;q=0.9,de;q=0.8"),
    ("Cookie", "; ".join(f"{n}={v}" for n, v, _ in COOKIES)),
]
PIXEL_PATH = "/collect?v=1&t=pageview&tid=G-XXXX&dp=%2Fjournal%2Ftrail-shoes-wet-autumn"

SCENARIOS = {
    "page": {"title": "HTTP/1.1 20 KB page", "proto": "h1", "path": "/page.html", "conns": "CONNS"},
    "big": {"title": "HTTP/1.1 5 MB page", "proto": "h1", "path": "/big.html", "conns": "BIG_CONNS"},
    "pixel": {"title": "HTTP/1.1 pixel /collect", "proto": "h1", "path": PIXEL_PATH, "conns": "CONNS"},
    "h2": {"title": "HTTP/2 (TLS) 20 KB page", "proto": "h2", "path": "/page.html"},
}


# --- origin -----------------------------------------------------------------------------
def nginx_common(d, workers):
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / "tmp" / t).mkdir(parents=True, exist_ok=True)
    return f"""worker_processes {workers};
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
"""


def nginx_http_common(d):
    return f"""  access_log off;
  types {{ text/html html; image/gif gif; text/css css; application/javascript js; }}
  default_type application/octet-stream;
  client_body_temp_path {d}/tmp/client_body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  tcp_nodelay on;
  ssl_protocols TLSv1.2 TLSv1.3;
"""


class Origin:
    def __init__(self, top, cert, key):
        self.dir = top / "origin"
        self.www = self.dir / "www"
        self.www.mkdir(parents=True)
        page = (BENCH / "page.html").read_text()
        (self.www / "page.html").write_text(page)
        # the 5 MB page: the article body repeated inside the same head/nav/footer
        a, b = page.index("<article"), page.index("</article>") + len("</article>")
        body = page[a:b] + "\n"
        reps = -(-(5 * 1024 * 1024 - len(page)) // len(body)) + 1
        (self.www / "big.html").write_text(page[:a] + body * reps + page[b:])
        self.sizes = {p: (self.www / p[1:]).stat().st_size for p in ("/page.html", "/big.html")}
        self.port, self.tls_port = free_ports(2)
        cookies = "\n".join(f'      add_header Set-Cookie "{n}={v}; {attrs}";' for n, v, attrs in COOKIES)
        conf = self.dir / "nginx.conf"
        conf.write_text(nginx_common(self.dir, knob_int("ORIGIN_WORKERS", 1)) + f"""http {{
{nginx_http_common(self.dir)}
  sendfile on;
  tcp_nopush on;
  open_file_cache max=64;
  server {{
    listen {LOOPBACK}:{self.port} default_server;
    listen {LOOPBACK}:{self.tls_port} ssl http2 default_server;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    root {self.www};
    location ~ \\.html$ {{
      add_header Cache-Control "private, max-age=0";
{cookies}
    }}
    location = /collect {{
      empty_gif;
      add_header Cache-Control "no-store";
    }}
  }}
}}
""")
        self.proc = Proc("origin (nginx)", ["nginx", "-c", str(conf), "-p", str(self.dir),
                                            "-e", str(self.dir / "error.log")],
                         self.dir / "stdout.log")
        wait_listening(self.proc, self.port)
        wait_listening(self.proc, self.tls_port)

    @property
    def upstream(self):
        return f"http://{LOOPBACK}:{self.port}"


# --- targets ----------------------------------------------------------------------------
def deep_merge(base, extra):
    for k, v in extra.items():
        if v is None:
            base.pop(k, None)
        elif isinstance(v, dict) and isinstance(base.get(k), dict):
            deep_merge(base[k], v)
        else:
            base[k] = v
    return base


def substitute(text, values):
    def rep(m):
        if m.group(1) not in values:
            raise BenchError(f"unknown placeholder @{m.group(1)}@")
        return str(values[m.group(1)])
    return re.sub(r"@([A-Z_]+)@", rep, text)


class Row(tuple):
    """(name, kind, extra JSON, env) of one targets.conf line."""
    def __new__(cls, name, kind, extra, env):
        return super().__new__(cls, (name, kind, extra, env))


class Target:
    """One row: knows how to start itself with N threads and which processes are 'the proxy'."""
    protos = ("h1", "h2")

    def __init__(self, name, kind, extra, top, origin, cert, key, env=None):
        self.name, self.kind, self.extra, self.env = name, kind, extra, env or {}
        self.top, self.origin, self.cert, self.key = top, origin, cert, key
        self.procs = []
        self.port = self.tls_port = None
        self.host_header = None  # Host header to send (privoxy)
        self.forward_proxy = False  # True: requests go to the proxy in absolute form (privoxy)

    def start(self, threads, tag=""):
        self.threads, self.tag = threads, tag
        self.dir = self.top / (self.name + tag)
        self.dir.mkdir(parents=True)
        self._start(threads)
        for p in (self.port, self.tls_port):
            if p:
                wait_listening(self.procs[0], p)
        if self.env.get("CG_BENCH_TOKEN"):
            self.consent_cookie = fetch_consent_cookie(self)
        return self

    def proxy_pids(self):
        return [p for proc in self.procs for p in proc.pids()]

    def check_alive(self):
        if not all(proc.alive() for proc in self.procs):
            raise BenchError(f"{self.name} stopped during the run\n{self.state()}")

    def stopped_from_outside(self):
        """True if a server exited cleanly or by SIGTERM/SIGINT/SIGHUP without us stopping it."""
        return any(p.p.poll() in (0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGHUP) for p in self.procs)

    def restart(self):
        self.restarts = getattr(self, "restarts", 0) + 1
        self.stop()
        return self.start(self.threads, f"{self.tag}-restart{self.restarts}")

    def state(self):
        """Why a failure may have happened: is the server still running, its logs."""
        out = []
        for proc in self.procs:
            rc = proc.p.poll()
            if rc is None:
                out.append(f"  {proc.name} is still running")
            elif rc == 0:
                out.append(f"  {proc.name} EXITED with status 0 although the benchmark did not stop it: "
                           f"it got a SIGTERM/SIGINT from outside (another job on this machine running "
                           f"pkill/killall?)")
            elif rc < 0:
                out.append(f"  {proc.name} was KILLED by signal {signal.Signals(-rc).name}")
            else:
                out.append(f"  {proc.name} EXITED with status {rc}")
        return "\n".join(out + ["  logs:", self.logs()])

    def stop(self):
        codes = [proc.stop() for proc in self.procs]
        self.procs = []
        return codes

    def url(self, proto, path):
        if proto == "h2":
            return f"https://{LOOPBACK}:{self.tls_port}{path}"
        return f"http://{LOOPBACK}:{self.port}{path}"

    def logs(self):
        return "\n".join(f"  {p.name}: {p.log}\n{tail(p.log)}" for p in self.procs)


class DirectTarget(Target):
    protos = ("h1",)  # HTTP/2 rows: the proxies only

    def _start(self, threads):
        self.port, self.tls_port = self.origin.port, self.origin.tls_port
        self.dir = self.origin.dir

    def start(self, threads, tag=""):
        self.threads, self.tag = threads, tag
        self._start(threads)
        return self

    def logs(self):
        return f"  origin: {self.origin.proc.log}\n{tail(self.origin.dir / 'error.log')}"


class H2oTarget(Target):
    def _start(self, threads):
        self.port, self.tls_port = free_ports(2)
        conf = self.dir / "h2o.conf"
        # no pid-file: started as root, h2o switches to "nobody" before writing it
        conf.write_text(f"""num-threads: {threads}
error-log: {self.dir}/error.log
listen:
  host: {LOOPBACK}
  port: {self.port}
listen:
  host: {LOOPBACK}
  port: {self.tls_port}
  ssl:
    certificate-file: {self.cert}
    key-file: {self.key}
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: {self.origin.upstream}/
        proxy.preserve-host: ON
""")
        self.procs = [Proc(f"{self.name} (h2o)", ["h2o", "-c", str(conf)], self.dir / "stdout.log",
                           env=self.env)]

    def logs(self):
        return super().logs() + f"\n  error log:\n{tail(self.dir / 'error.log')}"


class NginxTarget(Target):
    def _start(self, threads):
        self.port, self.tls_port = free_ports(2)
        conf = self.dir / "nginx.conf"
        conf.write_text(nginx_common(self.dir, threads) + f"""http {{
{nginx_http_common(self.dir)}
  upstream origin {{
    server {LOOPBACK}:{self.origin.port};
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen {LOOPBACK}:{self.port} default_server;
    listen {LOOPBACK}:{self.tls_port} ssl http2 default_server;
    ssl_certificate {self.cert};
    ssl_certificate_key {self.key};
    location / {{
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_buffers 16 16k;
      proxy_busy_buffers_size 32k;
      proxy_max_temp_file_size 0;
    }}
  }}
}}
""")
        self.procs = [Proc(f"{self.name} (nginx)", ["nginx", "-c", str(conf), "-p", str(self.dir),
                                                    "-e", str(self.dir / "error.log")],
                           self.dir / "stdout.log", env=self.env)]

    def logs(self):
        return super().logs() + f"\n  error log:\n{tail(self.dir / 'error.log')}"


class PrivoxyTarget(Target):
    """Privoxy as a forward proxy (wrk and curl send absolute-form requests for the origin's URLs)
    with every action and filter off (toggle 0): the cost of its proxying alone."""
    protos = ("h1",)
    filters = False

    def privoxy_conf(self):
        return f"""confdir {self.dir}
toggle 0
"""

    def _start(self, threads):
        self.port = free_ports(1)[0]
        self.host_header = f"{LOOPBACK}:{self.origin.port}"
        self.forward_proxy = True
        conf = self.dir / "privoxy.conf"
        conf.write_text(self.privoxy_conf() + f"""logdir {self.dir}
listen-address {LOOPBACK}:{self.port}
enable-remote-toggle 0
enable-edit-actions 0
keep-alive-timeout 60
default-server-timeout 60
connection-sharing 1
socket-timeout 30
max-client-connections 512
""")
        self.procs = [Proc(f"{self.name} (privoxy)", ["privoxy", "--no-daemon", str(conf)],
                           self.dir / "stdout.log", env=self.env)]

    def url(self, proto, path):
        return f"http://{LOOPBACK}:{self.port}{path}"  # where wrk connects; the request target is origin_url()

    def origin_url(self, path):
        return f"{self.origin.upstream}{path}"


PRIVOXY_CONFIG = Path("/etc/privoxy/config")


class PrivoxyDebianTarget(PrivoxyTarget):
    """Privoxy with the filters Debian's package turns on: confdir /etc/privoxy and the actionsfile /
    filterfile lines of Debian's /etc/privoxy/config (match-all.action, default.action, user.action,
    default.filter, user.filter as shipped), toggle 1. Everything else as the filterless row."""
    filters = True

    def privoxy_conf(self):
        try:
            lines = PRIVOXY_CONFIG.read_text(errors="replace").splitlines()
        except OSError as e:
            raise BenchError(f"{self.name}: cannot read {PRIVOXY_CONFIG} ({e}): install Debian's privoxy (make deps)")
        confdir, files = "/etc/privoxy", []
        for line in lines:
            f = line.split("#", 1)[0].split()
            if len(f) == 2 and f[0] == "confdir":
                confdir = f[1]
            elif len(f) == 2 and f[0] in ("actionsfile", "filterfile"):
                files.append(f"{f[0]} {f[1]}")
        if not any(f.startswith("filterfile") for f in files):
            raise BenchError(f"{self.name}: {PRIVOXY_CONFIG} names no filterfile")
        for f in files:
            if not (Path(confdir) / f.split()[1]).is_file():
                raise BenchError(f"{self.name}: {confdir}/{f.split()[1]} ({f.split()[0]} of {PRIVOXY_CONFIG}) is missing")
        self.privoxy_files = files
        return f"confdir {confdir}\n" + "".join(f + "\n" for f in files) + "toggle 1\n"


def fetch_consent_cookie(target):
    """A visitor who accepted everything: POST the consent API once, keep the token cookie."""
    import http.client
    conn = http.client.HTTPConnection(LOOPBACK, target.port, timeout=10)
    conn.request("POST", "/__consent/api/consent", body='{"all": true}', headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    conn.close()
    for name, value in r.getheaders():
        if name.lower() == "set-cookie" and value.startswith("cg_consent="):
            return value.split(";", 1)[0]
    raise BenchError(f"{target.name}: the consent API gave no token (status {r.status})")


class ConsentgateTarget(Target):
    def config(self, threads):
        self.port, self.tls_port, admin_port = free_ports(3)
        tokens = self.dir / "admin-tokens"
        self.admin_port, self.admin_token = admin_port, secrets.token_hex(16)
        tokens.write_text(f"bench:{self.admin_token}\n")
        tokens.chmod(0o600)
        values = {"PORT": self.port, "TLS_PORT": self.tls_port, "ADMIN_PORT": admin_port,
                  "THREADS": threads, "UPSTREAM": self.origin.upstream, "CERT": self.cert,
                  "KEY": self.key, "TOKENS_FILE": tokens, "DIR": self.dir,
                  "BENCH_DIR": self.top, "ROOT": ROOT}
        tmpl = BENCH / "lib" / "consentgate.json.in"
        try:
            cfg = json.loads(substitute(tmpl.read_text(), values))
            for src, extra in (("CG_EXTRA", knob("CG_EXTRA")), (f"targets.conf row {self.name}", self.extra)):
                if extra.strip():
                    deep_merge(cfg, json.loads(substitute(extra, values)))
        except json.JSONDecodeError as e:
            raise BenchError(f"{self.name}: bad JSON ({e}) in the config template or extra config")
        return cfg

    def _start(self, threads):
        # CG_BINARY=path on a row: that build instead of CONSENTGATE (two builds side by side in one run)
        binary = (ROOT / (self.env.get("CG_BINARY") or knob("CONSENTGATE"))).resolve()
        if not os.access(binary, os.X_OK):
            raise BenchError(f"{binary} not found or not executable: run 'make' first "
                             f"(or leave consentgate rows out: TARGETS=direct,h2o,nginx)")
        # the config sits one level below the row's dir so that default paths like
        # ../var/… (relative to the config) stay inside the temp dir
        cfgdir = self.dir / "etc"
        cfgdir.mkdir()
        conf = cfgdir / "consentgate.json"
        conf.write_text(json.dumps(self.config(threads), indent=2) + "\n")
        try:
            r = subprocess.run([str(binary), "-c", str(conf), "--check-config"], cwd=self.dir,
                               capture_output=True, text=True, timeout=10)
            if r.returncode != 0:
                raise BenchError(f"{self.name}: --check-config rejects {conf} (status {r.returncode}):\n"
                                 f"{(r.stdout + r.stderr).strip()}\n  config:\n{conf.read_text()}")
        except subprocess.TimeoutExpired:
            log(f"bench: {self.name}: '--check-config' did not return within 10s; starting anyway")
        self.procs = [Proc(f"{self.name} (consentgate)", [str(binary), "-c", str(conf)],
                           self.dir / "stdout.log", cwd=self.dir, env=self.env)]


    def metric(self, name):
        """a counter from /admin/metrics (None when it cannot be read)"""
        import http.client
        try:
            conn = http.client.HTTPConnection(LOOPBACK, self.admin_port, timeout=10)
            conn.request("GET", "/admin/metrics", headers={"Authorization": f"Bearer {self.admin_token}"})
            text = conn.getresponse().read().decode()
            conn.close()
        except OSError:
            return None
        m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
        return int(m.group(1)) if m else None


KINDS = {"origin": DirectTarget, "h2o": H2oTarget, "nginx": NginxTarget,
         "consentgate": ConsentgateTarget, "privoxy": PrivoxyTarget, "privoxy-debian": PrivoxyDebianTarget}


def read_targets():
    rows = []
    path = ROOT / knob("TARGETS_FILE")
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[1] not in KINDS:
            raise BenchError(f"{path}:{n}: expected 'NAME KIND [VAR=value ...] [JSON]' "
                             f"with KIND one of {', '.join(KINDS)}")
        rest, env = parts[2] if len(parts) > 2 else "", {}
        while True:
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)\s*", rest)
            if not m:
                break
            env[m.group(1)] = m.group(2)
            rest = rest[m.end():]
        if rest.strip() and parts[1] != "consentgate":
            raise BenchError(f"{path}:{n}: JSON config is for consentgate rows only")
        rows.append(Row(parts[0], parts[1], rest, env))
    names = [r[0] for r in rows]
    if len(set(names)) != len(names):
        raise BenchError(f"{path}: duplicate row names")
    want = [t for t in knob("TARGETS").replace(",", " ").split() if t]
    if want:
        unknown = [t for t in want if t not in names]
        if unknown:
            raise BenchError(f"TARGETS: unknown rows {unknown} (rows: {names})")
        rows = [r for r in rows if r[0] in want]
    return rows


# --- load generators --------------------------------------------------------------------
def to_ms(v):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        raise BenchError(f"cannot parse wrk latency {v!r}")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[m.group(2)]


# the cookie-enforcement row (CG_BENCH_TOKEN=1): the request carries a consent token and 10 cookies
EXTRA_COOKIES = "theme=dark; cart=3; _hjid=2f6c1e0a-77c1-4b8e; _uetvid=9a1b2c3d4e5f"


def header_args(flag, target, lower=False):
    hs = list(REQ_HEADERS)
    if getattr(target, "consent_cookie", None):
        hs = [(n, v + "; " + target.consent_cookie + "; " + EXTRA_COOKIES) if n == "Cookie" else (n, v) for n, v in hs]
    if target.host_header:
        hs.append(("Host", target.host_header))
    out = []
    for n, v in hs:
        out += [flag, f"{n.lower() if lower else n}: {v}"]
    return out


def wrk_forward_script(target, url):
    """A wrk script that sends the request in absolute form (a forward proxy's request line)."""
    path = urllib.parse.urlsplit(url)
    target_url = target.origin_url(path.path + ("?" + path.query if path.query else ""))
    script = target.dir / f"forward-{abs(hash(target_url))}.lua"
    script.write_text(f"wrk.path = {json.dumps(target_url)}\n")
    return ["-s", str(script)]


def run_wrk(target, url, conns, duration):
    argv = (["wrk", f"-t{min(knob_int('WRK_THREADS', 1), conns)}", f"-c{conns}", f"-d{duration}s",
             "--latency", "--timeout", "10s"] + header_args("-H", target)
            + (wrk_forward_script(target, url) if target.forward_proxy else []) + [url])
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{target.name}: wrk did not finish within {duration + 30}s: {shlex.join(argv)}")
    out = r.stdout + r.stderr
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    if r.returncode != 0 or not m:
        raise BenchError(f"{target.name}: wrk failed (status {r.returncode}): {shlex.join(argv)}\n{out}")
    requests = int(m.group(1))
    secs = to_ms(m.group(2) + m.group(3)) / 1e3
    problems = []
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if e and any(int(x) for x in e.groups()):
        problems.append(e.group(0))
    e = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if e:
        problems.append(e.group(0))
    if requests == 0:
        problems.append("no request completed")
    if problems:
        raise BenchError(f"{target.name}: wrk reports {'; '.join(problems)}\n  {shlex.join(argv)}\n{out}")
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {"requests": requests, "seconds": secs, "rps": requests / secs,
            "p50": to_ms(lat["50"]), "p99": to_ms(lat["99"]), "tool": "wrk"}


def percentile(sorted_vals, q):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(q / 100 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def run_h2load(target, url, duration, logfile):
    n = knob("H2_REQUESTS")
    bound = ["-n", n] if n else ["-D", str(duration)]
    argv = (["h2load", f"-c{knob_int('H2_CONNS', 1)}", f"-m{knob_int('H2_STREAMS', 1)}",
             f"-t{knob_int('H2_THREADS', 1)}"] + bound + ["--log-file", str(logfile)]
            + header_args("-H", target, lower=True) + [url])
    limit = (max(duration, 5) * 6 if n else duration) + 30
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{target.name}: h2load did not finish within {limit}s: {shlex.join(argv)}")
    out = r.stdout + r.stderr
    fin = re.search(r"finished in ([\d.]+)(us|ms|s|m), ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                    r"(\d+) errored, (\d+) timeout", out)
    st = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    proto = re.search(r"Application protocol: (\S+)", out)
    if r.returncode != 0 or not (fin and req and st):
        raise BenchError(f"{target.name}: h2load failed (status {r.returncode}): {shlex.join(argv)}\n{out}")
    problems = []
    if not proto or proto.group(1) != "h2":
        problems.append(f"protocol {proto.group(1) if proto else 'none'} instead of h2")
    failed, errored, timeouts = int(req.group(5)), int(req.group(6)), int(req.group(7))
    if failed or errored or timeouts:
        problems.append(f"{failed} failed, {errored} errored, {timeouts} timeout")
    non2xx = sum(int(x) for x in st.groups()[1:])
    if non2xx:
        problems.append(f"{non2xx} non-2xx responses ({st.group(0)})")
    ok = int(req.group(4))
    if ok == 0:
        problems.append("no request succeeded")
    if problems:
        raise BenchError(f"{target.name}: h2load reports {'; '.join(problems)}\n  {shlex.join(argv)}\n{out}")
    secs = to_ms(fin.group(1) + fin.group(2)) / 1e3
    lat = []
    for line in Path(logfile).read_text().splitlines():
        f = line.split("\t")
        if len(f) >= 3:
            lat.append(int(f[2]) / 1e3)
    lat.sort()
    cipher = re.search(r"Cipher: (\S+)", out)
    tls = re.search(r"TLS Protocol: (\S+)", out)
    return {"requests": ok, "seconds": secs, "rps": ok / secs, "p50": percentile(lat, 50),
            "p99": percentile(lat, 99), "tool": "h2load",
            "tls": f"{tls.group(1) if tls else '?'} {cipher.group(1) if cipher else '?'}"}


def measure(target, origin, scen, duration, round_no, logdir):
    url = target.url(scen["proto"], scen["path"])
    proxy_pids = target.proxy_pids()
    origin_pids = origin.proc.pids()
    p0, o0 = cpu_seconds(proxy_pids), cpu_seconds(origin_pids)
    try:
        if scen["proto"] == "h2":
            res = run_h2load(target, url, duration, logdir / f"h2load-{target.name}-{round_no}.log")
        else:
            res = run_wrk(target, url, knob_int(scen["conns"], 1), duration)
    except BenchError as e:
        raise BenchError(f"{e}\n{target.state()}")
    time.sleep(0.1)  # let the servers finish closing the connections
    p1, o1 = cpu_seconds(proxy_pids), cpu_seconds(origin_pids)
    target.check_alive()
    if not origin.proc.alive():
        raise BenchError(f"the origin died:\n{tail(origin.dir / 'error.log')}")
    res["proxy_cpu_us"] = (p1 - p0) * 1e6 / res["requests"] if proxy_pids else None
    res["origin_cpu_us"] = (o1 - o0) * 1e6 / res["requests"]
    return res


EXTERNAL_STOPS = []
MAX_EXTERNAL_STOPS = 5


def retry_if_stopped_from_outside(target, what, fn):
    """Run fn(); if it failed because someone else stopped the server (a SIGTERM from another
    job on a shared machine), restart the server and run fn() again. Crashes still fail."""
    while True:
        try:
            return fn()
        except BenchError as e:
            if not target.stopped_from_outside() or len(EXTERNAL_STOPS) >= MAX_EXTERNAL_STOPS:
                raise
            EXTERNAL_STOPS.append(f"{target.name} during {what}")
            log(f"bench: {target.name} was stopped from outside the benchmark during {what}; "
                f"restarting it and repeating the run\n{str(e).splitlines()[0]}")
            target.restart()
            warm = knob_int("WARMUP", 0)
            if warm and what.startswith(("page", "big", "pixel", "h2")):
                scen = SCENARIOS[what.split()[0]]
                try:
                    measure(target, target.origin, scen, warm, 0, BENCH_DIR)
                except BenchError:
                    pass


# Privoxy's "webbugs" filter (default.filter): <img> with width and height 0 or 1
WEB_BUG = re.compile(r"""<img[^>]*\s(?:width|height)\s*=\s*['"]?[01](?=\D)[^>]*\s(?:width|height)\s*=\s*['"]?[01](?=\D)[^>]*?>""",
                     re.I | re.S)


def sanity(target, origin, proto, path):
    """One request with curl: status, body size, Set-Cookie count, protocol."""
    hdr = target.dir / f"sanity-{target.name}-{proto}.headers"
    body = target.dir / f"sanity-{target.name}-{proto}.body"
    argv = ["curl", "-sS", "--max-time", "10", "-o", str(body), "-D", str(hdr),
            "-w", "%{http_code} %{size_download} %{http_version}"]
    argv += ["-k", "--http2"] if proto == "h2" else ["--http1.1"]
    if target.forward_proxy:
        argv += ["--proxy", f"http://{LOOPBACK}:{target.port}"] + header_args("-H", target) + [target.origin_url(path)]
    else:
        argv += ["--noproxy", "*"] + header_args("-H", target) + [target.url(proto, path)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise BenchError(f"{target.name}: {proto} request to {path} failed: {r.stderr.strip()}\n"
                         f"  {shlex.join(argv)}\n{target.logs()}")
    code, size, ver = r.stdout.split()
    cookies = sum(1 for l in hdr.read_text(errors="replace").splitlines()
                  if l.lower().startswith("set-cookie:"))
    if code != "200":
        raise BenchError(f"{target.name}: {proto} {path} answered {code}, not 200\n{target.logs()}")
    if proto == "h2" and ver != "2":
        raise BenchError(f"{target.name}: TLS listener did not negotiate HTTP/2 (got HTTP/{ver})")
    want = origin.sizes.get(path)
    out = {"status": int(code), "bytes": int(size), "set_cookie": cookies, "http": ver}
    if getattr(target, "filters", False):
        # an honest filtering row: Privoxy must actually have changed the page (web bugs squished)
        page = (origin.www / path[1:]).read_bytes().decode(errors="replace")
        got = body.read_bytes().decode(errors="replace")
        before, after = len(WEB_BUG.findall(page)), len(WEB_BUG.findall(got))
        if got == page or before == 0 or after >= before:
            raise BenchError(f"{target.name}: Privoxy did not filter {path} ({size} bytes, the origin serves {want}; "
                             f"1x1 images: {before} in the page, {after} after Privoxy)\n{target.logs()}")
        out["filtered"] = (f"Privoxy's filters changed {path}: {want:,} → {int(size):,} bytes, "
                           f"{before - after} of {before} web bugs (1×1 images) removed")
    elif want and target.kind in ("origin", "h2o", "nginx", "privoxy") and int(size) != want:
        raise BenchError(f"{target.name}: {path} has {size} bytes, the origin serves {want}")
    body.unlink(missing_ok=True)
    return out


# --- report -----------------------------------------------------------------------------
def fmt(v, nd=0):
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    return f"{v:,.{nd}f}"


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def machine_info():
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": model, "kernel": os.uname().release,
            "mem_gb": round(int(mem) / 1048576, 1)}


def versions():
    def first(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return ((r.stdout or r.stderr).strip().splitlines() or ["?"])[0]
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    v = {"h2o": first(["h2o", "--version"]), "nginx": first(["nginx", "-v"]),
         "wrk": first(["wrk", "-v"]).split(" [")[0], "h2load": first(["h2load", "--version"])}
    cg = (ROOT / knob("CONSENTGATE"))
    if os.access(cg, os.X_OK):
        v["consentgate"] = first([str(cg), "--version"])
    return v


def report(ctx):
    L = []
    w = L.append
    info = ctx["machine"]
    w(f"# consentgate side-by-side benchmark\n")
    w(f"- date: {ctx['date']}")
    w(f"- machine: nproc {info['nproc']}, {info['cpu']}, {info['mem_gb']} GB RAM, Linux {info['kernel']}; "
      f"load average at start {ctx['load_start']}, at end {ctx.get('load_end', '?')}")
    w(f"- command: `{ctx['command']}`")
    w(f"- settings: " + ", ".join(f"{k}={ctx['settings'][k]}" for k in ctx["settings"]))
    w(f"- versions: " + "; ".join(f"{k}: {v}" for k, v in ctx["versions"].items()))
    w(f"- git: {ctx['git']}")
    w("")
    w(f"Medians of {ctx['settings']['ROUNDS']} interleaved rounds. proxy CPU = (utime+stime) of the "
      f"proxy's processes / requests completed; origin CPU likewise for the origin nginx.\n")
    w("| scenario | target | req/s | p50 ms | p99 ms | proxy CPU µs/req | origin CPU µs/req | req/s min–max |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for sc, rows in ctx["summary"].items():
        for name, s in rows.items():
            w(f"| {SCENARIOS[sc]['title']} | {name} | {fmt(s['rps'])} | {fmt(s['p50'], 2)} | {fmt(s['p99'], 2)} "
              f"| {fmt(s['proxy_cpu_us'], 1)} | {fmt(s['origin_cpu_us'], 1)} | {fmt(s['rps_min'])}–{fmt(s['rps_max'])} |")
    cgs = [r[0] for r in ctx["rows"] if r[1] == "consentgate"]
    if cgs and ctx["summary"]:
        w("\n## Ratios (consentgate row / reference; req/s: higher is better, CPU: lower is better)\n")
        w("| scenario | row | req/s ÷ h2o | req/s ÷ nginx | CPU/req ÷ h2o | CPU/req ÷ nginx |")
        w("|---|---|---:|---:|---:|---:|")
        for sc, rows in ctx["summary"].items():
            for cg in cgs:
                if cg not in rows:
                    continue
                c, h, n = rows[cg], rows.get("h2o", {}), rows.get("nginx", {})
                w(f"| {SCENARIOS[sc]['title']} | {cg} | {fmt(ratio(c['rps'], h.get('rps')), 3)} "
                  f"| {fmt(ratio(c['rps'], n.get('rps')), 3)} "
                  f"| {fmt(ratio(c['proxy_cpu_us'], h.get('proxy_cpu_us')), 3)} "
                  f"| {fmt(ratio(c['proxy_cpu_us'], n.get('proxy_cpu_us')), 3)} |")
    pxs = [r[0] for r in ctx["rows"] if r[1].startswith("privoxy")]
    if cgs and pxs and ctx["summary"]:
        w("\n## Ratios to Privoxy (consentgate row / privoxy row; privoxy-filters: Debian's default filters)\n")
        w("| scenario | row | " + " | ".join(f"req/s ÷ {p} | CPU/req ÷ {p}" for p in pxs) + " |")
        w("|---|---|" + "---:|---:|" * len(pxs))
        for sc, rows in ctx["summary"].items():
            if not any(p in rows for p in pxs):
                continue
            for cg in cgs:
                if cg not in rows:
                    continue
                c = rows[cg]
                w(f"| {SCENARIOS[sc]['title']} | {cg} | " + " | ".join(
                    f"{fmt(ratio(c['rps'], rows.get(p, {}).get('rps')), 2)} "
                    f"| {fmt(ratio(c['proxy_cpu_us'], rows.get(p, {}).get('proxy_cpu_us')), 3)}" for p in pxs) + " |")
    if ctx.get("memory"):
        w(f"\n## Idle memory ({ctx['settings']['MEM_THREADS']} threads; RSS in MB; nginx: sum over master + workers)\n")
        w("| target | after start | after load | peak (VmHWM) | load |")
        w("|---|---:|---:|---:|---|")
        for name, m in ctx["memory"].items():
            w(f"| {name} | {fmt(m['start_kb'] / 1024, 1)} | {fmt(m['after_kb'] / 1024, 1)} "
              f"| {fmt(m['hwm_kb'] / 1024, 1)} | {m['load']} |")
    w("\n## Targets (project goals; a benchmark, not a test: no exit status depends on these)\n")
    if not ctx["goals"]:
        w("- no consentgate row measured: nothing to compare")
    for g in ctx["goals"]:
        w(f"- {g}")
    if ctx.get("micro") is not None:
        w(f"\n## Micro benchmarks ({knob('MICRO_DIR')}/micro_*)\n")
        if ctx["micro"]:
            w("```\n" + "\n".join(ctx["micro"]) + "\n```")
        else:
            w("- none built (make bench builds tests/bench/micro_*.c)")
    w("\n## Sanity check (one curl request per target before measuring)\n")
    w("| target | protocol | status | body bytes | Set-Cookie headers | TLS (from h2load) |")
    w("|---|---|---:|---:|---:|---|")
    for (name, proto), s in ctx["sanity"].items():
        w(f"| {name} | HTTP/{s['http']} | {s['status']} | {s['bytes']:,} | {s['set_cookie']} | {s.get('tls', '')} |")
    w("\n<details><summary>Every run</summary>\n")
    w("| scenario | round | target | requests | req/s | p50 ms | p99 ms | proxy CPU µs/req | origin CPU µs/req |")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in ctx["runs"]:
        w(f"| {r['scenario']} | {r['round']} | {r['target']} | {r['requests']:,} | {fmt(r['rps'])} | {fmt(r['p50'], 2)} "
          f"| {fmt(r['p99'], 2)} | {fmt(r['proxy_cpu_us'], 1)} | {fmt(r['origin_cpu_us'], 1)} |")
    w("\n</details>")
    if ctx.get("notes"):
        w("\n## Notes\n")
        for n in ctx["notes"]:
            w(f"- {n}")
    return "\n".join(L) + "\n"


FULL_ROW = "consentgate-full"              # the all-features row of issue #5's targets
PRIVOXY_FILTERS_ROW = "privoxy-filters"    # Privoxy with Debian's default filters
NOMEMO_ROW = "consentgate-full-nomemo"     # all features, html.memo_kb 0: every response rewritten


def goals(ctx):
    out = []
    S = ctx["summary"]
    mark = lambda ok: "**met**" if ok else "**not met**"
    for cg in [r[0] for r in ctx["rows"] if r[1] == "consentgate"]:
        # the foundation's 1.05× / 0.95× targets are the pass-through profile's; the all-features row has issue #5's
        for sc, proto in (("page", "HTTP/1"), ("h2", "HTTP/2")) if cg not in (FULL_ROW, NOMEMO_ROW) else ():
            rows = S.get(sc, {})
            if cg not in rows or "h2o" not in rows:
                out.append(f"{cg} {proto}: not measured ({sc} scenario with h2o and {cg} needed)")
                continue
            c, h = rows[cg], rows["h2o"]
            r = ratio(c["proxy_cpu_us"], h["proxy_cpu_us"])
            out.append(f"{cg} {proto} CPU/request ≤ 1.05× h2o's: {c['proxy_cpu_us']:.1f} vs "
                       f"{h['proxy_cpu_us']:.1f} µs = {r:.3f}× — {mark(r <= 1.05)}")
            r = ratio(c["rps"], h["rps"])
            out.append(f"{cg} {proto} req/s ≥ 0.95× h2o's: {c['rps']:,.0f} vs {h['rps']:,.0f} = "
                       f"{r:.3f}× — {mark(r >= 0.95)}")
        if cg == FULL_ROW:
            # issue #5: every feature on, the same page
            rows = S.get("page", {})
            if cg in rows and "h2o" in rows:
                c, h = rows[cg], rows["h2o"]
                r = ratio(c["proxy_cpu_us"], h["proxy_cpu_us"])
                out.append(f"{cg} (all features) HTTP/1 CPU/request ≤ 1.3× h2o's: {c['proxy_cpu_us']:.1f} vs "
                           f"{h['proxy_cpu_us']:.1f} µs = {r:.3f}× — {mark(r <= 1.3)}")
            if NOMEMO_ROW in rows and "h2o" in rows:
                c, h = rows[NOMEMO_ROW], rows["h2o"]
                r = ratio(c["proxy_cpu_us"], h["proxy_cpu_us"])
                out.append(f"{NOMEMO_ROW} (all features, nothing remembered: every page rewritten; not a target row) "
                           f"CPU/request: {c['proxy_cpu_us']:.1f} vs {h['proxy_cpu_us']:.1f} µs = {r:.3f}×")
            if cg in rows and PRIVOXY_FILTERS_ROW in rows:
                c, p = rows[cg], rows[PRIVOXY_FILTERS_ROW]
                r = ratio(c["rps"], p["rps"])
                out.append(f"{cg} (all features) HTTP/1 req/s ≥ 10× Privoxy's with Debian's default filters "
                           f"({PRIVOXY_FILTERS_ROW}): {c['rps']:,.0f} vs {p['rps']:,.0f} = {r:.2f}× — {mark(r >= 10)}")
            elif cg in rows:
                out.append(f"{cg} (all features) req/s ÷ Privoxy with filters: not measured "
                           f"(page scenario with the {PRIVOXY_FILTERS_ROW} row needed)")
        m = ctx.get("memory", {}).get(cg)
        if m:
            worst = max(m["start_kb"], m["after_kb"]) / 1024
            out.append(f"{cg} idle RSS ≤ 16 MB with {ctx['settings']['MEM_THREADS']} threads: after start "
                       f"{m['start_kb'] / 1024:.1f} MB, after load {m['after_kb'] / 1024:.1f} MB — "
                       f"{mark(worst <= 16)}")
        elif knob("MEM") != "0":
            out.append(f"{cg} idle RSS: not measured")
    return out


# --- phases -----------------------------------------------------------------------------
def make_cert(top):
    cert, key = top / "cert.pem", top / "key.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise BenchError(f"openssl could not make a certificate:\n{r.stderr}")
    key.chmod(0o644)  # nginx/h2o read it as root, but keep it readable for non-root runs too
    return cert, key


def memory_phase(ctx, rows, origin, cert, key):
    threads = knob_int("MEM_THREADS", 1)
    duration = knob_int("MEM_DURATION", 1)
    mem = {}
    for name, kind, extra, env in rows:
        if kind not in ("h2o", "nginx", "consentgate"):
            continue
        t = KINDS[kind](name, kind, extra, BENCH_DIR, origin, cert, key, env)
        log(f"bench: memory: {name} with {threads} threads")
        def one():
            sanity(t, origin, "h1", "/page.html")
            time.sleep(1)
            start = rss_kb(t.proxy_pids())
            try:
                run_wrk(t, t.url("h1", "/page.html"), knob_int("CONNS", 1), duration)
            except BenchError as e:
                raise BenchError(f"memory phase: {e}\n{t.state()}")
            time.sleep(1)
            after = rss_kb(t.proxy_pids())
            hwm = rss_kb(t.proxy_pids(), "VmHWM")
            t.check_alive()
            return {"start_kb": start, "after_kb": after, "hwm_kb": hwm,
                    "load": f"wrk -c{knob('CONNS')} {duration}s on the 20 KB page"}
        try:
            t.start(threads, tag=f"-mem{threads}")
            mem[name] = retry_if_stopped_from_outside(t, "memory phase", one)
        finally:
            t.stop()
    ctx["memory"] = mem


def micro_phase(ctx):
    lines, failures = [], []
    for b in sorted((ROOT / knob("MICRO_DIR")).glob("micro_*")):
        if not (b.is_file() and os.access(b, os.X_OK)):
            continue
        log(f"bench: {b}")
        t = knob_int("MICRO_TIMEOUT", 1)
        try:
            r = subprocess.run([str(b)], cwd=ROOT, capture_output=True, text=True, timeout=t)
            out = r.stdout + r.stderr
            got = [l for l in out.splitlines() if l.startswith("micro ")]
            lines += got
            if r.returncode != 0:
                failures.append(f"{b.name} exited with status {r.returncode}:\n{out[-2000:]}")
                lines.append(f"# {b.name}: FAILED, status {r.returncode}")
            elif not got:
                lines.append(f"# {b.name}: printed no 'micro <name>: …' line")
        except subprocess.TimeoutExpired:
            failures.append(f"{b.name} did not finish within {t}s")
            lines.append(f"# {b.name}: FAILED, timeout {t}s")
        except OSError as e:
            failures.append(f"{b.name} cannot run: {e}")
            lines.append(f"# {b.name}: FAILED, {e}")
    ctx["micro"] = lines
    return failures


def main():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    if not BENCH_DIR.is_dir():
        raise BenchError("BENCH_DIR is not set: start the benchmark with tests/bench/run.sh")
    settings = {k: knob(k) for k in ("THREADS", "ROUNDS", "DURATION", "WARMUP", "CONNS", "BIG_CONNS",
                                      "WRK_THREADS", "H2_CONNS", "H2_STREAMS", "H2_REQUESTS",
                                      "SCENARIOS", "ORIGIN_WORKERS", "MEM_THREADS")}
    threads, rounds = knob_int("THREADS", 1), knob_int("ROUNDS", 1)
    duration, warmup = knob_int("DURATION", 1), knob_int("WARMUP", 0)
    scen_names = [s for s in knob("SCENARIOS").replace(",", " ").split() if s]
    bad = [s for s in scen_names if s not in SCENARIOS]
    if bad:
        raise BenchError(f"SCENARIOS: unknown {bad} (known: {', '.join(SCENARIOS)})")
    rows = read_targets()
    set_env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in KNOBS if os.environ.get(k))
    git = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "?"
    notes = [f"row {r[0]} runs with {' '.join(f'{k}={v}' for k, v in r[3].items())} (tests/bench/targets.conf)"
             for r in rows if r[3]]
    ctx = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
           "machine": machine_info(), "load_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
           "command": (set_env + " " if set_env else "") + shlex.join(["tests/bench/run.sh"] + sys.argv[1:]),
           "settings": settings, "versions": versions(), "git": git, "rows": rows,
           "runs": [], "summary": {}, "sanity": {}, "notes": notes}
    log(f"bench: rows {', '.join(r[0] for r in rows)}; scenarios {', '.join(scen_names)}; "
        f"{rounds} rounds × {duration}s; THREADS={threads}; temp dir {BENCH_DIR}")

    cert, key = make_cert(BENCH_DIR)
    origin = Origin(BENCH_DIR, cert, key)
    targets = []
    failures = []
    try:
        for name, kind, extra, env in rows:
            log(f"bench: starting {name} ({kind})")
            targets.append(KINDS[kind](name, kind, extra, BENCH_DIR, origin, cert, key, env).start(threads))
        for t in targets:
            for proto in ("h1", "h2"):
                if proto in t.protos:
                    ctx["sanity"][(t.name, proto)] = sanity(t, origin, proto, "/page.html")
        for sc in scen_names:
            scen = SCENARIOS[sc]
            group = [t for t in targets if scen["proto"] in t.protos]
            if warmup:
                for t in group:
                    retry_if_stopped_from_outside(t, f"{sc} warm-up",
                                                  lambda: measure(t, origin, scen, warmup, 0, BENCH_DIR))
            for rnd in range(1, rounds + 1):
                for t in group:
                    res = retry_if_stopped_from_outside(
                        t, f"{sc} round {rnd}", lambda: measure(t, origin, scen, duration, rnd, BENCH_DIR))
                    res.update(scenario=sc, round=rnd, target=t.name)
                    ctx["runs"].append(res)
                    log(f"bench: {sc:5} round {rnd} {t.name:20} {res['rps']:10,.0f} req/s  p50 {res['p50']:7.2f} ms  "
                        f"p99 {res['p99']:7.2f} ms  proxy {fmt(res['proxy_cpu_us'], 1):>7} µs/req  "
                        f"origin {res['origin_cpu_us']:6.1f} µs/req")
                    if res.get("tls") and (t.name, "h2") in ctx["sanity"]:
                        ctx["sanity"][(t.name, "h2")]["tls"] = res["tls"]
            ctx["summary"][sc] = {}
            for t in group:
                rs = [r for r in ctx["runs"] if r["scenario"] == sc and r["target"] == t.name]
                med = lambda k: statistics.median([r[k] for r in rs]) if rs[0][k] is not None else None
                ctx["summary"][sc][t.name] = {k: med(k) for k in ("rps", "p50", "p99", "proxy_cpu_us", "origin_cpu_us")}
                ctx["summary"][sc][t.name].update(rps_min=min(r["rps"] for r in rs), rps_max=max(r["rps"] for r in rs))
        for (name, proto), sn in ctx["sanity"].items():
            if sn.get("filtered"):
                ctx["notes"].append(f"{name}: {sn['filtered']} (sanity request)")
        for t in targets:
            # how many of the pages were answered from a remembered rewrite (html.memo_kb; gateway/memo.h)
            if t.kind == "consentgate":
                hits, stored = t.metric("cg_html_memo_hits_total"), t.metric("cg_html_memo_stored_total")
                total = t.metric('cg_requests_total{status="200"}')
                if hits is not None and total and (hits or stored):
                    ctx["notes"].append(f"{t.name}: {hits:,} of {total:,} 200 responses answered from a remembered rewrite "
                                        f"(rewrites remembered: {stored:,})")
    finally:
        for t in targets:
            codes = t.stop()
            if t.kind == "consentgate" and codes and codes[0] != 0:
                ctx["notes"].append(f"{t.name} exited with status {codes[0]} on SIGTERM (contract: drains, exits 0)")
    if knob("MEM") != "0":
        memory_phase(ctx, rows, origin, cert, key)
    origin.proc.stop()
    if knob("MICRO") != "0":
        failures += micro_phase(ctx)
    if EXTERNAL_STOPS:
        ctx["notes"].append(f"servers were stopped from outside the benchmark {len(EXTERNAL_STOPS)} time(s) "
                            f"(a SIGTERM from another job on this machine): {'; '.join(EXTERNAL_STOPS)}; "
                            f"each affected run was repeated on a restarted server")
    ctx["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    ctx["goals"] = goals(ctx)

    text = report(ctx)
    out = ROOT / knob("OUT")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    js = dict(ctx, sanity={f"{k[0]} {k[1]}": v for k, v in ctx["sanity"].items()})
    out.with_name("results.json").write_text(json.dumps(js, indent=1, default=str) + "\n")
    print(text)
    log(f"bench: report written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if failures:
        for f in failures:
            log(f"bench: FAILED: {f}")
        return 1
    return 0


def stop_all():
    for p in reversed(ALL_PROCS):
        try:
            p.stop(timeout=5)
        except Interrupted:
            pass


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    except BenchError as e:
        log(f"\nbench: FAILED: {e}")
    except Interrupted as e:
        log(f"\nbench: {e}")
        rc = 130
    finally:
        stop_all()
    sys.exit(rc)
