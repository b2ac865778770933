#!/usr/bin/env python3
"""Consent store benchmark driver (started by tests/bench/records_bench.sh, which documents it).

Origin (nginx, own config) <- consentgate (its store in STORE_DIR) <- wrk / records_openloop.py,
everything on 127.0.0.1. Every process started here runs in its own process group, is listed in
$RB_WORK/pgids (the backstop of records_bench.sh) and is stopped on exit, failure and SIGTERM.
Every run is bounded in time. Settings come from the environment.
"""
import datetime
import json
import os
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import tempfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "bench"
WORK = Path(os.environ["RB_WORK"])
# the side-by-side benchmark's process handling, request shape and helpers; its list of process groups
# (BENCH_DIR/pgids) is the file records_bench.sh cleans up after
os.environ["BENCH_DIR"] = str(WORK)
sys.path.insert(0, str(BENCH / "lib"))
sys.dont_write_bytecode = True
from bench import (ALL_PROCS as ALL, COOKIES as ORIGIN_COOKIES, LOOPBACK, PGIDS, REQ_HEADERS, BenchError,  # noqa: E402
                   Proc, free_ports, log, save_pgids, tail, wait_listening)
CLK_TCK = os.sysconf("SC_CLK_TCK")

KNOBS = {  # name: (default, meaning) -- records_bench.sh lists the same
    "CONSENTGATE": ("build/consentgate", "the gateway binary"),
    "THREADS": ("1", "gateway worker threads"),
    "CONNS": ("32", "wrk connections (consents and page)"),
    "ROUNDS": ("2", "interleaved rounds of part 1 (gateway, raw, sqlite, raw-overwrite, sqlite-prep)"),
    "DURATION": ("5", "seconds of each wrk run of part 1"),
    "MICRO_SECONDS": ("3", "seconds of each raw / sqlite loop of part 1"),
    "RATE": ("1000", "offered consents/s of parts 2 and 3"),
    "OPEN_CONNS": ("128", "connections of the open-loop client (enough that requests rarely wait for one)"),
    "LAT_DURATION": ("10", "measured seconds of part 2 (after 1 s unmeasured)"),
    "PROXY_ROUNDS": ("3", "A B pairs of part 3"),
    "PROXY_DURATION": ("5", "seconds of each wrk page run of part 3"),
    "RECORDER": ("wrk", "part 3's client at RATE: wrk (records_load.lua paced by a timetable; little CPU) or python "
                        "(records_openloop.py, open loop, as part 2; ~5x the CPU)"),
    "PACED_CONNS": ("16", "connections of the wrk recorder of part 3"),
    "COMMIT_DELAY_MS": ("", "store.commit_delay_ms of the gateway (empty: its default)"),
    "CONTROLS": ("1", "part 3 also runs C (page + the SQLite loop alone at RATE) and E (page + the same client "
                      "at RATE on GET /__consent/api/state, no record); 0: A B only"),
    "SYNC_COUNTER": ("perf", "how the gateway's fsyncs are counted: perf (in-kernel, falls back to strace when "
                             "perf cannot count syscall tracepoints) or strace"),
    "RECORDS_DIR": ("build/bench", "folder (disk) of the gateway's store and of the raw/sqlite files"),
    "OUT": ("build/bench/records.md", "report (records.json next to it)"),
    "KEEP": ("0", "1: keep the work dir and the store after the run"),
}
TARGETS = {"vs_raw": 0.8, "vs_sqlite": 0.8, "p99_ms": 10.0, "proxy_ratio": 0.9}

PAGE_HEADERS = [f"{n}: {v}" for n, v in REQ_HEADERS]


def knob(name):
    v = os.environ.get(name, "")
    return v if v != "" else KNOBS[name][0]


def knob_num(name, minimum, conv=int):
    try:
        v = conv(knob(name))
    except ValueError:
        raise BenchError(f"{name}={knob(name)!r} is not a number")
    if v < minimum:
        raise BenchError(f"{name} must be at least {minimum}")
    return v


HELPERS = []


def spawn(argv, **kw):
    """a load generator or helper in its own process group, killed at the end if still running"""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, start_new_session=True, **kw)
    HELPERS.append(p)
    PGIDS.add(p.pid)
    save_pgids()
    return p


def helper_done(p):
    if p.pid in PGIDS:
        PGIDS.discard(p.pid)
        save_pgids()


def reap_helpers():
    for p in HELPERS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        PGIDS.discard(p.pid)
    HELPERS.clear()
    save_pgids()


def run(argv, timeout, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise BenchError(f"did not finish within {timeout}s: {shlex.join(argv)}")


# --- the servers ------------------------------------------------------------------------------
def start_origin():
    d = WORK / "origin"
    (d / "www").mkdir(parents=True)
    for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / "tmp" / t).mkdir(parents=True)
    shutil.copy(BENCH / "page.html", d / "www" / "page.html")
    port = free_ports(1)[0]
    cookies = "\n".join(f'      add_header Set-Cookie "{n}={v}; {a}";' for n, v, a in ORIGIN_COOKIES)
    conf = d / "nginx.conf"
    conf.write_text(f"""worker_processes 1;
daemon off;
master_process on;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  types {{ text/html html; }}
  default_type application/octet-stream;
  client_body_temp_path {d}/tmp/client_body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  tcp_nodelay on;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=64;
  server {{
    listen {LOOPBACK}:{port} default_server;
    root {d}/www;
    location ~ \\.html$ {{
      add_header Cache-Control "private, max-age=0";
{cookies}
    }}
  }}
}}
""")
    p = Proc("origin (nginx)", ["nginx", "-c", str(conf), "-p", str(d), "-e", str(d / "error.log")], d / "stdout.log")
    wait_listening(p, port)
    return p, port


def gateway_config(store_dir, origin_port):
    d = WORK / "gateway"
    (d / "etc").mkdir(parents=True, exist_ok=True)
    port = free_ports(1)[0]
    cfg = {"listen": [{"host": LOOPBACK, "port": port}], "upstream": f"http://{LOOPBACK}:{origin_port}",
           "threads": knob_num("THREADS", 1), "secrets_file": str(d / "secrets.json"),
           # no per-client limit: every consent comes from 127.0.0.1 (the default would answer 429 after 60 a minute)
           "store": {"sqlite": str(store_dir / "consent.db"), "rate_per_minute": 0}}
    if knob("COMMIT_DELAY_MS") != "":
        cfg["store"]["commit_delay_ms"] = knob_num("COMMIT_DELAY_MS", 0)
    conf = d / "etc" / "gateway.json"
    conf.write_text(json.dumps(cfg, indent=2) + "\n")
    binary = knob("CONSENTGATE")
    binary = binary if os.path.isabs(binary) else str((ROOT / binary).resolve())
    if not os.access(binary, os.X_OK):
        raise BenchError(f"{binary} is missing: run 'make' first (or set CONSENTGATE)")
    r = run([binary, "-c", str(conf), "--check-config"], 30)
    if r.returncode != 0:
        raise BenchError(f"{binary} rejects the config (is it a build with the consent store?):\n{r.stdout}{r.stderr}")
    return binary, conf, port


def launch_gateway(binary, conf, port):
    p = Proc("consentgate", [binary, "-c", str(conf)], WORK / "gateway" / "consentgate.log", cwd=WORK / "gateway")
    wait_listening(p, port)
    return p


def check_gateway(port):
    """one consent (200 + cookie + receipt) and one page (200, full size) through the gateway"""
    r = run(["curl", "-sS", "-o", str(WORK / "check.json"), "-D", "-", "-w", "%{http_code}", "-X", "POST",
             "-H", "Content-Type: application/json", "-d", '{"all": true}',
             f"http://{LOOPBACK}:{port}/__consent/api/consent"], 15)
    body = (WORK / "check.json").read_text(errors="replace") if (WORK / "check.json").exists() else ""
    if not r.stdout.endswith("200") or "receipt" not in body or "cg_consent=" not in r.stdout:
        raise BenchError(f"consent API check failed: {r.stdout[-500:]} {body[:300]} {r.stderr}")
    size = (BENCH / "page.html").stat().st_size
    r = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
             f"http://{LOOPBACK}:{port}/page.html"], 15)
    got = r.stdout.split()
    # the gateway may rewrite the HTML (tracker tags, banner): the size changes a little
    if len(got) != 2 or got[0] != "200" or not 0.9 * size <= int(got[1]) <= 1.5 * size:
        raise BenchError(f"page check through the gateway failed: {r.stdout} (want 200, about {size} bytes) {r.stderr}")
    return int(got[1])


# --- measurements -------------------------------------------------------------------------------
def proc_io(pid):
    out = {}
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            k, v = line.split(":")
            out[k] = int(v)
    except OSError:
        pass
    return out


def proc_cpu(pid):
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


def group_cpu(pgid):
    """utime + stime of the live processes of a process group (a server and, for nginx, its workers)"""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(f[2]) == pgid:
            total += (int(f[11]) + int(f[12])) / CLK_TCK
    return total


def usage():
    """(machine busy s, machine total s, CPU s of this benchmark): everything this driver ran and waited for,
    itself, and the live servers"""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    v = [int(x) / CLK_TCK for x in f]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    t = os.times()
    ours = t.user + t.system + t.children_user + t.children_system
    ours += sum(group_cpu(p.p.pid) for p in ALL if p.alive())
    return busy, busy + v[3] + v[4], ours


def others_share(u0, u1):
    """share of the machine's CPU used by other jobs between two usage() snapshots"""
    total = u1[1] - u0[1]
    return max(0.0, (u1[0] - u0[0]) - (u1[2] - u0[2])) / total if total > 0 else 0.0


def task_cpu(pid, tid):
    try:
        f = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK_TCK
    except (OSError, IndexError):
        return None


def writer_tid(pid):
    """the store's writer thread: at idle the only thread waiting in futex (x86-64: 202); the main thread
    waits in rt_sigtimedwait, the workers in epoll_wait. None if that does not single it out."""
    if os.uname().machine != "x86_64":
        return None
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            nr = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()[0]
        except (OSError, IndexError):
            continue
        if int(tid) != pid and nr == "202":
            found.append(int(tid))
    return found[0] if len(found) == 1 else None


def writer_tid_sampled(pid, wal_fd, seconds):
    """the thread seen in fdatasync/fsync/pwrite64 on the WAL fd (x86-64: 75, 74, 18) while consents are posted"""
    if os.uname().machine != "x86_64":
        return None
    seen = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                f = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()
            except OSError:
                continue
            if len(f) > 1 and f[0] in ("75", "74", "18") and int(f[1], 16) == wal_fd:
                seen[int(tid)] = seen.get(int(tid), 0) + 1
        time.sleep(0.002)
    return max(seen, key=seen.get) if seen else None


def count_records(db):
    r = run(["sqlite3", "-readonly", str(db), "SELECT count(*) FROM records"], 30)
    if r.returncode != 0:
        raise BenchError(f"sqlite3 cannot read {db}: {r.stderr}")
    return int(r.stdout.strip())


def row_bytes(db):
    """average bytes of column data of a gateway record (integers counted as 8 bytes)"""
    r = run(["sqlite3", "-readonly", str(db),
             "SELECT CAST(round(avg(length(receipt) + length(visitor) + ifnull(length(visitor_nonce), 0)"
             " + length(visitor_commit) + 16 + length(granted) + length(refused) + length(regime) + length(country)"
             " + length(method) + length(client_ip) + length(ua_hash) + length(ui_hash) + length(prev_hash)"
             " + length(hash))) AS INTEGER) FROM records"], 30)
    return int(r.stdout.strip())


def store_fds(pid, db):
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t == str(db):
            fds["db"] = int(fd)
        elif t == str(db) + "-wal":
            fds["wal"] = int(fd)
    if set(fds) != {"db", "wal"}:
        raise BenchError(f"cannot find the store's file descriptors in /proc/{pid}/fd: {fds}")
    return fds


SYNC_TOOL = None


def sync_tool():
    """perf (in-kernel counting, no stop of the gateway) if it can count the syscall tracepoints, else strace"""
    global SYNC_TOOL
    if SYNC_TOOL is None:
        SYNC_TOOL = "strace"
        if knob("SYNC_COUNTER") != "strace" and shutil.which("perf"):
            r = run(["perf", "stat", "-x,", "-e", "syscalls:sys_enter_fdatasync", "--", "true"], 30)
            if r.returncode == 0 and "syscalls:sys_enter_fdatasync" in r.stderr and "<not" not in r.stderr:
                SYNC_TOOL = "perf"
        if SYNC_TOOL == "strace" and not shutil.which("strace"):
            raise BenchError("neither perf (with syscall tracepoints) nor strace can count the gateway's fsyncs")
    return SYNC_TOOL


def start_sync_count(pid, fds, seconds):
    """starts counting fdatasync+fsync calls on the WAL and on the database file for `seconds`"""
    if sync_tool() == "perf":
        ev = []
        for name in ("wal", "db"):
            for sc in ("fdatasync", "fsync"):
                ev += ["-e", f"syscalls:sys_enter_{sc}", "--filter", f"fd == {fds[name]}"]
        argv = ["perf", "stat", "-x,", "-o", str(WORK / "perf.out")] + ev + ["-p", str(pid), "--", "sleep",
                                                                              str(seconds)]
    else:
        argv = ["timeout", "-s", "INT", str(seconds), "strace", "-f", "-qq", "-e", "trace=fdatasync,fsync",
                "-o", str(WORK / "strace.out"), "-p", str(pid)]
    return {"argv": argv, "p": spawn(argv, stderr=subprocess.STDOUT), "fds": fds, "seconds": seconds}


def finish_sync_count(h):
    out = finish(h["p"], h["argv"], h["seconds"] + 30, "fsync counting") if sync_tool() == "perf" else None
    if out is None:
        h["p"].communicate(timeout=h["seconds"] + 30)
        helper_done(h["p"])
        text = (WORK / "strace.out").read_text(errors="replace")
        c = lambda fd: len(re.findall(rf"\b(?:fdatasync|fsync)\({fd}\)", text))
        return {"wal": c(h["fds"]["wal"]), "db": c(h["fds"]["db"]),
                "tool": "strace -f (it slows the gateway while it counts)"}
    text = (WORK / "perf.out").read_text(errors="replace")
    counts = [int(l.split(",")[0]) for l in text.splitlines() if "syscalls:sys_enter_" in l
              and l.split(",")[0].isdigit()]
    if len(counts) != 4:
        raise BenchError(f"cannot read perf stat's counts:\n{text}{out}")
    return {"wal": counts[0] + counts[1], "db": counts[2] + counts[3], "tool": "perf stat (syscall tracepoints)"}


def parse_wrk(out, what):
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", out)
    if not m:
        raise BenchError(f"{what}: cannot parse wrk's output:\n{out}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    res = {"requests": int(m.group(1)), "seconds": float(m.group(2)) * scale}
    e = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in e.groups()) if e else 0
    n = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(n.group(1)) if n else 0
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    if lat:
        res["avg_latency_ms"] = float(lat.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[lat.group(2)]
    return res


def wrk_consents(port, duration):
    argv = ["wrk", "-t1", f"-c{knob_num('CONNS', 1)}", f"-d{duration}s", "-s", str(BENCH / "records_load.lua"),
            f"http://{LOOPBACK}:{port}"]
    return argv, spawn(argv, stderr=subprocess.STDOUT)


def finish(p, argv, timeout, what):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise BenchError(f"{what} did not finish within {timeout}s: {shlex.join(argv)}")
    finally:
        if p.poll() is not None:
            helper_done(p)
    if p.returncode != 0:
        raise BenchError(f"{what} failed (status {p.returncode}): {shlex.join(argv)}\n{out}")
    return out


def gateway_round(gw, port, db, duration, wtid):
    pid = gw.p.pid
    fds = store_fds(pid, db)
    io0, cpu0 = proc_io(pid), proc_cpu(pid)
    w0 = task_cpu(pid, wtid) if wtid else None
    # every commit and every record of the run: counting starts before wrk and ends after it
    c0 = count_records(db)
    h = start_sync_count(pid, fds, duration + 3)
    time.sleep(1)  # perf/strace attached
    argv, p = wrk_consents(port, duration)
    out = finish(p, argv, duration + 30, "wrk (consents)")
    time.sleep(0.3)  # requests wrk left in flight are committed too
    c1 = count_records(db)
    syncs = finish_sync_count(h)
    io1, cpu1 = proc_io(pid), proc_cpu(pid)
    w1 = task_cpu(pid, wtid) if wtid else None
    res = parse_wrk(out, "wrk (consents)")
    m = re.search(r"records: ok=(\d+) other=(\d+) statuses=(\S*)", out)
    if not m:
        raise BenchError(f"records_load.lua printed no summary:\n{out}")
    res["ok"], res["other"], res["statuses"] = int(m.group(1)), int(m.group(2)), m.group(3)
    if res["ok"] == 0 or res["socket_errors"]:
        raise BenchError(f"the consent load failed: {res}\n{out}\ngateway log:\n{tail(gw.log)}")
    commits = syncs["wal"] - syncs["db"]  # a checkpoint syncs the WAL and then the database once
    res.update({"ok_per_s": res["ok"] / res["seconds"], "records": c1 - c0,
                "wal_syncs": syncs["wal"], "checkpoints": syncs["db"], "commits": commits,
                "batch": (c1 - c0) / commits if commits > 0 else None, "sync_tool": syncs["tool"],
                "write_bytes_per_record": (io1.get("write_bytes", 0) - io0.get("write_bytes", 0)) / max(1, c1 - c0),
                "cpu_us_per_record": (cpu1 - cpu0) * 1e6 / max(1, c1 - c0),
                "writer_cpu_us_per_record": (w1 - w0) * 1e6 / max(1, c1 - c0) if w0 is not None and w1 is not None
                else None, "argv": shlex.join(argv)})
    return res


def micro(binary, mode, batch, record, seconds, prefill, store_dir):
    argv = [str(binary), "-m", mode, "-b", str(batch), "-s", str(record), "-t", str(seconds), "-p", str(prefill),
            "-d", str(store_dir)]
    r = run(argv, seconds + 120)
    m = re.search(r"micro store_append_\S+: (\d+) records/s \(([^)]*)\)", r.stdout)
    if r.returncode != 0 or not m:
        raise BenchError(f"{shlex.join(argv)} failed (status {r.returncode}):\n{r.stdout}{r.stderr}")
    res = {"per_s": float(m.group(1)), "argv": shlex.join(argv)}
    for kv in m.group(2).split():
        k, v = kv.split("=")
        res[k] = float(v)
    return res


def openloop(port, rate, duration, warmup, state_only=False):
    argv = [sys.executable, str(BENCH / "records_openloop.py"), "--port", str(port), "--rate", str(rate),
            "--duration", str(duration), "--warmup", str(warmup), "--conns", str(knob_num("OPEN_CONNS", 1))]
    if state_only:
        argv += ["--method", "GET", "--path", "/__consent/api/state", "--body", ""]
    return argv, spawn(argv, stderr=subprocess.PIPE)


def paced(port, rate, duration, state_only=False):
    """Part 3's recorder: wrk with records_load.lua at RATE requests/s in all, under /usr/bin/time for its CPU."""
    if knob("RECORDER") == "python":
        return openloop(port, rate, duration, 1, state_only)
    cpu = Path(tempfile.mkstemp(prefix="cgpaced.", suffix=".cpu")[1])
    argv = ["/usr/bin/time", "-o", str(cpu), "-f", "%U %S", "wrk", "-t1", f"-c{knob_num('PACED_CONNS', 1)}",
            f"-d{duration + 1}s", "--timeout", "10s", "-s", str(BENCH / "records_load.lua"), f"http://{LOOPBACK}:{port}"]
    env = dict(os.environ, CG_RATE=str(rate), CG_STATE_ONLY="1" if state_only else "0")
    p = spawn(argv, stderr=subprocess.STDOUT, env=env)
    p.cg_cpu_file, p.cg_duration = cpu, duration + 1
    return argv, p


def paced_result(argv, p, timeout):
    if knob("RECORDER") == "python":
        return openloop_result(argv, p, timeout)
    try:
        out = finish(p, argv, timeout, "paced recorder (wrk)")
        cpu = p.cg_cpu_file.read_text().split()
    finally:
        p.cg_cpu_file.unlink(missing_ok=True)
    m = re.search(r"records: ok=(\d+) other=(\d+) statuses=\S* p50_us=(\d+) p99_us=(\d+) max_us=(\d+)", out)
    if not m:
        raise BenchError(f"paced recorder: cannot parse its output: {shlex.join(argv)}\n{out}")
    ok, other, p50, p99, mx = (int(x) for x in m.groups())
    w = parse_wrk(out, "paced recorder (wrk)")
    errors = {"socket": w["socket_errors"]} if w["socket_errors"] else {}
    return {"answered": ok + other, "unfinished": 0, "statuses": {"200": ok, **({"other": other} if other else {})},
            "errors": errors, "ok_rate": round(ok / w["seconds"], 1),
            "latency_ms": {"p50": round(p50 / 1000, 3), "p99": round(p99 / 1000, 3), "max": round(mx / 1000, 3)},
            "client_cpu_s": round(float(cpu[0]) + float(cpu[1]), 3), "argv": shlex.join(argv)}


def openloop_result(argv, p, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise BenchError(f"open-loop client did not finish within {timeout}s: {shlex.join(argv)}")
    finally:
        if p.poll() is not None:
            helper_done(p)
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError(f"open-loop client failed (status {p.returncode}): {shlex.join(argv)}\n{out}{err}")
    if "error" in res:
        raise BenchError(f"open-loop client: {res['error']}")
    res["argv"] = shlex.join(argv)
    return res


def wrk_page(port, duration):
    argv = ["wrk", "-t1", f"-c{knob_num('CONNS', 1)}", f"-d{duration}s"]
    for h in PAGE_HEADERS:
        argv += ["-H", h]
    argv.append(f"http://{LOOPBACK}:{port}/page.html")
    r = run(argv, duration + 30)
    if r.returncode != 0:
        raise BenchError(f"wrk (page) failed: {shlex.join(argv)}\n{r.stdout}{r.stderr}")
    res = parse_wrk(r.stdout, "wrk (page)")
    if res["socket_errors"] or res["non2xx"]:
        raise BenchError(f"wrk (page) saw errors: {res}\n{r.stdout}")
    res["per_s"] = res["requests"] / res["seconds"]
    res["argv"] = shlex.join(argv)
    return res


# --- report ---------------------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except subprocess.TimeoutExpired:
        return "?"


def fmt(v, nd=0):
    if v is None:
        return "—"
    return f"{v:,.{nd}f}"


def verdict(ok):
    return "**met**" if ok else "**not met**"


def report(ctx):
    L = []
    w = L.append
    s = ctx["settings"]
    w(f"# consentgate consent store benchmark — {ctx['date']}\n")
    w(f"- machine: {ctx['nproc']} CPUs, {ctx['cpu']}; kernel {ctx['kernel']}; load average at start "
      f"{ctx['load_start']}, at end {ctx['load_end']}")
    w(f"- store folder: `{ctx['store_dir']}` on `{ctx['df']}`")
    w(f"- command: `{ctx['command']}`")
    w(f"- settings: " + ", ".join(f"{k}={v}" for k, v in s.items()))
    w(f"- versions: consentgate `{ctx['cg_version']}`, git `{ctx['git']}`, SQLite {ctx['sqlite']}, {ctx['wrk']}, "
      f"{ctx['nginx']}")
    w("")
    p1 = ctx["part1"]
    g = statistics.median(r["gw"]["ok_per_s"] for r in p1)
    a = statistics.median(r["raw"]["per_s"] for r in p1)
    b = statistics.median(r["sqlite"]["per_s"] for r in p1)
    bp = statistics.median(r["sqlite_prep"]["per_s"] for r in p1)
    ao = statistics.median(r["raw_overwrite"]["per_s"] for r in p1)
    batch = statistics.median(r["batch"] for r in p1)
    rec = p1[0]["record"]
    lat = ctx["part2"]
    p3 = ctx["part3"]
    pa = statistics.median(r["alone"]["per_s"] for r in p3)
    pb = statistics.median(r["with"]["per_s"] for r in p3)
    # each round's B is measured right after its A: the ratio of a pair cancels the machine's slow drifts, which
    # the medians of A and of B taken apart do not
    pab = statistics.median(r["with"]["per_s"] / r["alone"]["per_s"] for r in p3)
    rows = [
        ("1", f"durable consents/s through the gateway (wrk -t1 -c{s['CONNS']} -d{s['DURATION']}s, 200s counted; "
              f"median of {len(p1)})", fmt(g), "", "", ""),
        ("1a", f"raw append + fdatasync, batch {batch:.0f} × {rec} B (records/s)", fmt(a), "gateway ≥ 0.8× (a)",
         f"{g / a:.2f}", verdict(g >= TARGETS['vs_raw'] * a)),
        ("1b", f"SQLite WAL synchronous=FULL, batch {batch:.0f}, records-shaped table, statement prepared once "
               f"(records/s)", fmt(b), "gateway ≥ 0.8× (b)", f"{g / b:.2f}", verdict(g >= TARGETS['vs_sqlite'] * b)),
        ("1a'", f"raw overwrite + fdatasync (file written and synced beforehand: no size/allocation to sync, like a "
                f"reused WAL), same batch (info)", fmt(ao), "—", f"{g / ao:.2f}", "—"),
        ("1b'", "SQLite as 1b, but the INSERT prepared again for every row (gateway/store.c prepares it once; info)", fmt(bp), "—",
         f"{g / bp:.2f}", "—"),
        ("2", f"POST→200 latency at {fmt(lat['offered_rate'])} consents/s offered, open loop, "
              f"{lat['duration_s']:.0f} s: p50 / p99 / max (ms)",
         f"{fmt(lat['latency_ms']['p50'], 2)} / {fmt(lat['latency_ms']['p99'], 2)} / {fmt(lat['latency_ms']['max'], 2)}",
         "p99 ≤ 10 ms", "", verdict(lat['latency_ms']['p99'] is not None and lat['latency_ms']['p99'] <= TARGETS['p99_ms']
                                   and lat['statuses'].get('200', 0) == lat['measured_requests'])),
        ("3", f"20 KB page through the gateway, wrk -c{s['CONNS']} {s['PROXY_DURATION']} s, req/s alone / while "
              f"recording {fmt(float(s['RATE']))}/s (medians of {len(p3)} interleaved rounds; ratio: median of the "
              f"rounds' B ÷ A)",
         f"{fmt(pa)} / {fmt(pb)}", "≥ 0.9×", f"{pab:.2f}", verdict(pab >= TARGETS['proxy_ratio'])),
    ]
    w("## Targets\n")
    w("| # | measure | value | target | ratio | result |")
    w("|---|---|---|---|---|---|")
    for r in rows:
        w("| " + " | ".join(r) + " |")
    w("")
    w("Ratios: gateway ÷ baseline for 1a/1b/1a'/1b', with ÷ without for 3. A benchmark, not a test: the exit status "
      "does not depend on the targets.\n")
    shares = ([r["gw"]["others"] for r in p1] + [r["micro_others"] for r in p1] + [lat["others"]]
              + [r["others"] for r in p3])
    w(f"**Machine contention:** other jobs used {statistics.median(shares) * 100:.0f} % of the machine's CPU "
      f"(median over the steps; {min(shares) * 100:.0f}–{max(shares) * 100:.0f} %) while this ran — /proc/stat busy "
      f"time minus the CPU time of everything this benchmark started. Above ~10 % the ratios and latencies say "
      f"more about the neighbours than about the gateway; compare runs by this column.\n")

    w("## 1. Durable consents/s, per round (interleaved: gateway, raw, sqlite, raw-overwrite, sqlite-prep)\n")
    w("| round | load; others' CPU % (gateway / loops) | gateway ok/s | non-200 | batch | commits/s | checkpoints/s | disk write B/record | gateway CPU "
      "µs/record (writer thread) | raw /s | sqlite /s | raw-overwrite /s | sqlite-prep /s | prefill rows |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(p1, 1):
        gw = r["gw"]
        wc = gw["writer_cpu_us_per_record"]
        w(f"| {i} | {r['load']:.1f}; {gw['others'] * 100:.0f} / {r['micro_others'] * 100:.0f} | {fmt(gw['ok_per_s'])} | "
          f"{gw['other']} | {gw['batch']:.1f} | {gw['commits'] / gw['seconds']:.0f} | "
          f"{gw['checkpoints'] / gw['seconds']:.1f} | {fmt(gw['write_bytes_per_record'])} | "
          f"{gw['cpu_us_per_record']:.0f} ({fmt(wc)}) | {fmt(r['raw']['per_s'])} | {fmt(r['sqlite']['per_s'])} | "
          f"{fmt(r['raw_overwrite']['per_s'])} | {fmt(r['sqlite_prep']['per_s'])} | {int(r['prefill']):,} |")
    w("")
    w("Baseline loops, per round: commit (write + fdatasync, or BEGIN … COMMIT) time p50 / p99 / max in ms, and their "
      "own CPU µs/record:\n")
    w("| round | raw | sqlite | raw-overwrite | sqlite-prep |")
    w("|---|---|---|---|---|")
    for i, r in enumerate(p1, 1):
        cells = [f"{m['commit_p50_ms']:.2f} / {m['commit_p99_ms']:.2f} / {m['commit_max_ms']:.1f}; "
                 f"{m['cpu_us_per_record']:.0f} µs" for m in (r["raw"], r["sqlite"], r["raw_overwrite"], r["sqlite_prep"])]
        w(f"| {i} | " + " | ".join(cells) + " |")
    w("")
    w(f"- batch: records committed (`SELECT count(*)` before and after) ÷ commits during each gateway run; "
      f"commits/s: ÷ the run's seconds; commits = fdatasync/fsync calls on the WAL fd − those on the database fd (each "
      f"checkpoint syncs both), counted with {p1[0]['gw']['sync_tool']}. The raw and SQLite loops of the round "
      f"use that batch rounded ({', '.join(str(int(r['batch_int'])) for r in p1)}), {rec} B per record (the "
      f"average column bytes of the gateway's rows), in the store's own folder; SQLite's table is pre-filled to "
      f"the gateway's row count so its indexes are as deep.")
    w(f"- disk write B/record: `write_bytes` of /proc/<gateway>/io ÷ records (WAL frames + checkpoints). CPU: "
      f"/proc/<gateway>/stat (and the writer thread's task) ÷ records.")
    w(f"- gateway command: `{p1[0]['gw']['argv']}`; micro: `{p1[0]['raw']['argv']}` "
      f"(and `-m sqlite`, `-m raw-overwrite`, `-m sqlite-prep`).")
    w("")
    w(f"## 2. Latency at {fmt(lat['offered_rate'])} consents/s offered\n")
    w("| others' CPU % | answered | statuses | unfinished | errors | p50 | p90 | p99 | p99.9 | max | service p99 | client send lag "
      "p50/p99 | max queued | client CPU s | commits/s | batch |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    L2 = lat["latency_ms"]
    w(f"| {lat['others'] * 100:.0f} | {lat['answered']} | {lat['statuses']} | {lat['unfinished']} | {lat['errors'] or 0} | {L2['p50']} | "
      f"{L2['p90']} | {L2['p99']} | {L2['p999']} | {L2['max']} | {lat['service_ms']['p99']} | "
      f"{lat['send_lag_ms']['p50']}/{lat['send_lag_ms']['p99']} | {lat['max_backlog']} | {lat['client_cpu_s']} | "
      f"{lat['commits_per_s']:.0f} | {lat['batch']:.1f} |")
    w("")
    w(f"- ms; latency from each request's due time (open loop, {s['OPEN_CONNS']} keep-alive connections, a "
      f"request waits for a free connection and that wait counts) to the last byte of the 200. Service = from "
      f"the actual send. Send lag = how late the Python client itself sent (its own jitter, included in the "
      f"latency). Command: `{lat['argv']}`.")
    w("")
    controls = "storage_only" in p3[0]
    w(f"## 3. Proxy throughput while recording (A = page alone, B = page + {fmt(float(s['RATE']))} consents/s"
      + (", controls: C = page + the SQLite loop alone at the same rate, E = page + the same client on "
         "GET /__consent/api/state (no record)" if controls else "") + ")\n")
    if controls:
        w("| round | load; others' CPU % | A req/s | B req/s | B ÷ A | C req/s | C ÷ A | E req/s | E ÷ A | recorder ok/s, p99 ms | "
          "SQLite loop rec/s | state client ok/s, p99 ms | client CPU s (B / E) |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    else:
        w("| round | load; others' CPU % | A req/s | B req/s | B ÷ A | recorder ok/s, p99 ms | client CPU s |")
        w("|---|---|---|---|---|---|---|")
    for i, r in enumerate(p3, 1):
        a_, rc = r["alone"]["per_s"], r["recorder"]
        line = (f"| {i} | {r['load']:.1f}; {r['others'] * 100:.0f} | {fmt(a_)} | {fmt(r['with']['per_s'])} | {r['with']['per_s'] / a_:.2f} | ")
        if controls:
            sc = r["state_client"]
            line += (f"{fmt(r['storage_only']['per_s'])} | {r['storage_only']['per_s'] / a_:.2f} | "
                     f"{fmt(r['http_only']['per_s'])} | {r['http_only']['per_s'] / a_:.2f} | "
                     f"{fmt(rc['ok_rate'])}, {rc['latency_ms']['p99']} | {fmt(r['storage_loop']['per_s'])} | "
                     f"{fmt(sc['ok_rate'])}, {sc['latency_ms']['p99']} | {rc['client_cpu_s']} / {sc['client_cpu_s']} |")
        else:
            line += f"{fmt(rc['ok_rate'])}, {rc['latency_ms']['p99']} | {rc['client_cpu_s']} |"
        w(line)
    if controls:
        med = lambda k: statistics.median(r[k]["per_s"] for r in p3)
        rmed = lambda k: statistics.median(r[k]["per_s"] / r["alone"]["per_s"] for r in p3)
        w(f"| median | | {fmt(pa)} | {fmt(pb)} | {pab:.2f} | {fmt(med('storage_only'))} | "
          f"{rmed('storage_only'):.2f} | {fmt(med('http_only'))} | {rmed('http_only'):.2f} | | | | |")
    w("")
    # what the machine's neighbours distort least: the gateway's own CPU per page and per consent
    cpu_page = statistics.median(r["alone"]["gw_cpu_s"] / r["alone"]["requests"] for r in p3) * 1e6
    cpu_cons = statistics.median(r["gw"]["cpu_us_per_record"] for r in p1)
    wcpu = [r["gw"]["writer_cpu_us_per_record"] for r in p1 if r["gw"]["writer_cpu_us_per_record"] is not None]
    rate_ = float(s["RATE"])
    cpu_rate = lat.get("gw_cpu_us_per_record") or cpu_cons
    w(f"- gateway CPU (/proc; less sensitive to the neighbours than req/s): {cpu_page:.0f} µs per page (A, median); "
      f"{cpu_cons:.0f} µs per consent in part 1 (batches of ≈ {statistics.median(r['batch'] for r in p1):.0f}"
      + (f"; {statistics.median(wcpu):.0f} µs of it in the writer thread" if wcpu else "")
      + f"), {cpu_rate:.0f} µs per consent in part 2 (batches of ≈ {lat['batch']:.1f} at {fmt(rate_)}/s: a commit's "
      f"cost is shared by fewer). Recording {fmt(rate_)} consents/s costs the gateway ≈ {rate_ * cpu_rate / 1e4:.0f} % "
      f"of one core, the CPU of ≈ {rate_ * cpu_rate / cpu_page:,.0f} page requests/s; the machine has two cores and "
      f"part 3's page load keeps both busy (wrk, gateway, nginx), so that CPU comes out of the page rate.")
    w(f"- page: {ctx['page_bytes']:,} bytes from the origin, {ctx['page_bytes_proxied']:,} through the gateway. "
      f"Command: `{p3[0]['alone']['argv']}`; recorder: `{p3[0]['recorder']['argv']}` (started 1 s before "
      f"wrk; its unmeasured first second covers that). The client's own CPU competes for the same cores."
      + (f" C: `{p3[0]['storage_loop']['argv']}` (started 1 s before wrk). E: the recorder's command on "
         f"GET /__consent/api/state." if controls else ""))
    if ctx.get("notes"):
        w("\n## Notes\n")
        for n in ctx["notes"]:
            w(f"- {n}")
    return "\n".join(L) + "\n"


class Servers:
    """The origin and the gateway. Other jobs on a shared machine may stop them from outside (pkill): a step
    that finds one stopped that way (exit 0 after draining, or SIGTERM/SIGINT/SIGKILL) restarts it, with the
    same config and store, and repeats the step (at most twice, noted in the report). A crash fails the run."""

    def __init__(self, store_dir):
        self.store_dir = store_dir
        self.origin = self.gw = None
        self.restarts = 0

    def start(self):
        self.origin, self.oport = start_origin()
        self.binary, self.conf, self.port = gateway_config(self.store_dir, self.oport)
        self.gw = launch_gateway(self.binary, self.conf, self.port)
        self.wtid = writer_tid(self.gw.p.pid)

    @staticmethod
    def from_outside(proc):
        rc = proc.p.poll()
        return rc is not None and rc in (0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGKILL)

    def check(self):
        for proc in (self.origin, self.gw):
            if not proc.alive() and not self.from_outside(proc):
                raise BenchError(f"{proc.name} died (status {proc.p.returncode}):\n{tail(proc.log)}")

    def guarded(self, ctx, what, fn):
        for attempt in range(3):
            err = None
            try:
                res = fn()
            except BenchError as e:
                err = e
            self.check()
            stopped = [p for p in (self.origin, self.gw) if not p.alive()]
            if not stopped:
                if err is not None:
                    raise err
                return res
            if attempt == 2:
                raise BenchError(f"{what}: servers stopped from outside three times; giving up")
            names = ", ".join(f"{p.name} (status {p.p.returncode})" for p in stopped)
            ctx["notes"].append(f"{what}: {names} stopped from outside (another job on this machine?); restarted, "
                                f"step repeated")
            log(f"records: {what}: {names} stopped from outside; restarting and repeating the step")
            self.restarts += 1
            if not self.origin.alive():
                self.origin.stop()
                self.origin, oport = start_origin()
                if oport != self.oport:  # the gateway's upstream port: rewrite its config
                    self.gw.stop()
                    self.oport = oport
                    self.binary, self.conf, self.port = gateway_config(self.store_dir, self.oport)
            if not self.gw.alive():
                self.gw.stop()
                self.gw = launch_gateway(self.binary, self.conf, self.port)
                time.sleep(0.3)
                self.wtid = writer_tid(self.gw.p.pid)

    def stop(self):
        for p in (self.gw, self.origin):
            if p is not None:
                p.stop()


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    store_dir = Path(os.environ["RB_STORE"])
    micro_bin = Path(os.environ["RB_MICRO"])
    settings = {k: knob(k) for k in KNOBS}
    ctx = {"settings": settings, "notes": [], "store_dir": str(store_dir)}
    ctx["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    ctx["nproc"] = os.cpu_count()
    ctx["cpu"] = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip() or "?"
    ctx["kernel"] = os.uname().release
    ctx["load_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    ctx["df"] = " ".join(sh(f"df -T {shlex.quote(str(store_dir))} | tail -n 1").split())
    ctx["command"] = os.environ.get("RB_COMMAND", "tests/bench/records_bench.sh")
    ctx["git"] = sh(f"git -C {shlex.quote(str(ROOT))} describe --always --dirty")
    ctx["sqlite"] = sh("sqlite3 --version | cut -d' ' -f1")
    ctx["wrk"] = sh("wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2")
    ctx["nginx"] = sh("nginx -v 2>&1")
    if "tmpfs" in ctx["df"].split()[1:2]:
        ctx["notes"].append("the store folder is on tmpfs: fdatasync costs nothing there, set RECORDS_DIR to a disk")
    db = store_dir / "consent.db"
    rounds, duration, msec = knob_num("ROUNDS", 1), knob_num("DURATION", 3), knob_num("MICRO_SECONDS", 1, float)
    rate = knob_num("RATE", 1, float)
    lat_duration = knob_num("LAT_DURATION", 1, float)
    prounds, pduration = knob_num("PROXY_ROUNDS", 1), knob_num("PROXY_DURATION", 1)
    S = Servers(store_dir)
    try:
        S.start()
        ctx["cg_version"] = run([S.binary, "--version"], 10).stdout.strip()
        ctx["page_bytes"] = (BENCH / "page.html").stat().st_size
        ctx["page_bytes_proxied"] = check_gateway(S.port)
        log(f"records: gateway on {LOOPBACK}:{S.port} (store {db}), origin on {LOOPBACK}:{S.oport}")

        # --- 1: gateway vs raw vs SQLite, interleaved rounds ---
        def warm_up():
            argv, p = wrk_consents(S.port, 2)
            time.sleep(0.3)
            tid = writer_tid_sampled(S.gw.p.pid, store_fds(S.gw.p.pid, db)["wal"], 1.2)
            finish(p, argv, 32, "wrk (warm-up)")
            if tid is not None:
                S.wtid = tid
        S.guarded(ctx, "warm-up", warm_up)
        if S.wtid is None:
            ctx["notes"].append("the writer thread could not be singled out: its CPU/record is not shown")

        def round1(i):
            log(f"records: part 1 round {i + 1}/{rounds}: gateway")
            load = os.getloadavg()[0]
            u0 = usage()
            gwr = gateway_round(S.gw, S.port, db, duration, S.wtid)
            gwr["others"] = others_share(u0, usage())
            if gwr["batch"] is None:
                raise BenchError(f"no commits counted during the gateway run: {gwr}")
            rec = row_bytes(db)
            bint = max(1, round(gwr["batch"]))
            prefill = count_records(db)
            log(f"records: part 1 round {i + 1}/{rounds}: raw / sqlite / raw-overwrite / sqlite-prep, batch {bint}, "
                f"{rec} B")
            u0 = usage()
            mic = {"raw": micro(micro_bin, "raw", bint, rec, msec, 0, store_dir),
                   "sqlite": micro(micro_bin, "sqlite", bint, rec, msec, prefill, store_dir),
                   "raw_overwrite": micro(micro_bin, "raw-overwrite", bint, rec, msec, 0, store_dir),
                   "sqlite_prep": micro(micro_bin, "sqlite-prep", bint, rec, msec, prefill, store_dir)}
            return dict({"load": load, "micro_others": others_share(u0, usage()), "gw": gwr, "batch": gwr["batch"],
                         "batch_int": bint, "record": rec, "prefill": prefill}, **mic)
        ctx["part1"] = [S.guarded(ctx, f"part 1 round {i + 1}", lambda: round1(i)) for i in range(rounds)]

        # --- 2: latency at the offered rate ---
        def part2():
            log(f"records: part 2: {rate:g} consents/s for 1 + {lat_duration:g} s")
            fds = store_fds(S.gw.p.pid, db)
            c0 = count_records(db)
            u0 = usage()
            h = start_sync_count(S.gw.p.pid, fds, lat_duration + 4)
            time.sleep(1)
            g0 = proc_cpu(S.gw.p.pid)
            argv, p = openloop(S.port, rate, lat_duration, 1)
            lat = openloop_result(argv, p, lat_duration + 40)
            time.sleep(0.3)
            g1 = proc_cpu(S.gw.p.pid)
            c1 = count_records(db)
            syncs = finish_sync_count(h)
            lat["others"] = others_share(u0, usage())
            win = lat_duration + 1
            commits = syncs["wal"] - syncs["db"]
            lat["commits_per_s"] = commits / win
            lat["batch"] = (c1 - c0) / commits if commits > 0 else 0.0
            # the gateway's CPU per consent at this rate (all its threads; small batches cost more than part 1's)
            lat["gw_cpu_us_per_record"] = (g1 - g0) / (c1 - c0) * 1e6 if c1 > c0 else None
            return lat
        lat = ctx["part2"] = S.guarded(ctx, "part 2", part2)
        if lat["errors"] or lat["unfinished"]:
            ctx["notes"].append(f"part 2: client errors {lat['errors']}, unfinished {lat['unfinished']}")

        # --- 3: proxy throughput alone / while recording, A B [C E] A B [C E] ... ---
        S.guarded(ctx, "page warm-up", lambda: wrk_page(S.port, 1))
        controls = knob("CONTROLS") != "0"

        def round3(i):
            port = S.port
            log(f"records: part 3 round {i + 1}/{prounds}: A B" + (" C E" if controls else ""))
            u0 = usage()
            gpid = S.gw.p.pid
            c0 = proc_cpu(gpid)
            one = {"load": os.getloadavg()[0], "alone": wrk_page(port, pduration)}
            one["alone"]["gw_cpu_s"] = proc_cpu(gpid) - c0
            argv, p = paced(port, rate, pduration)
            time.sleep(1)
            try:
                c0 = proc_cpu(gpid)
                one["with"] = wrk_page(port, pduration)
                one["with"]["gw_cpu_s"] = proc_cpu(gpid) - c0
            finally:
                one["recorder"] = paced_result(argv, p, pduration + 45)
            if controls:
                # C: the same storage work without the gateway: SQLite loop (1b's table, pre-filled to the
                # store's size) at RATE records/s, each commit taking every record due (as a group commit does)
                margv = [str(micro_bin), "-m", "sqlite", "-r", str(rate), "-t", str(pduration + 2),
                         "-p", str(count_records(db)), "-d", str(store_dir)]
                mp = spawn(margv, stderr=subprocess.STDOUT)
                try:
                    first = ""
                    if select.select([mp.stdout], [], [], 90)[0]:
                        first = mp.stdout.readline()  # "# loop started", after the prefill
                    if "loop started" not in first:
                        raise BenchError(f"control C: {shlex.join(margv)} did not start its loop: {first}")
                    time.sleep(1)
                    one["storage_only"] = wrk_page(port, pduration)
                finally:
                    mout = finish(mp, margv, pduration + 120, "micro_store_append (control C)")
                m = re.search(r"micro store_append_sqlite: (\d+) records/s \(([^)]*)\)", mout)
                one["storage_loop"] = {"per_s": float(m.group(1)) if m else None, "argv": shlex.join(margv),
                                       "out": mout.strip()}
                argv, p = paced(port, rate, pduration, state_only=True)
                time.sleep(1)
                try:
                    one["http_only"] = wrk_page(port, pduration)
                finally:
                    one["state_client"] = paced_result(argv, p, pduration + 45)
            one["others"] = others_share(u0, usage())
            return one
        part3 = ctx["part3"] = [S.guarded(ctx, f"part 3 round {i + 1}", lambda: round3(i)) for i in range(prounds)]
        for i, one in enumerate(part3, 1):
            rc = one["recorder"]
            if rc["errors"] or rc["unfinished"] or rc["statuses"].get("200", 0) != rc["answered"]:
                ctx["notes"].append(f"part 3 round {i}: recorder statuses {rc['statuses']}, errors "
                                    f"{rc['errors']}, unfinished {rc['unfinished']}")
        gw = S.gw
        code = gw.stop()
        if code != 0:
            ctx["notes"].append(f"consentgate exited with {code} on SIGTERM")
        r = run([S.binary, "-c", str(S.conf), "--verify-records"], 120)
        ctx["notes"].append(f"after the run: {r.stdout.strip() or r.stderr.strip()} (exit {r.returncode})")
        ctx["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        text = report(ctx)
        out = Path(knob("OUT"))
        out = out if out.is_absolute() else ROOT / out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(ctx, indent=1, default=str) + "\n")
        print(text)
        log(f"records: report written to {out}")
        return 0
    except BenchError as e:
        log(f"records: FAILED: {e}")
        return 1
    finally:
        reap_helpers()
        for p in reversed(ALL):
            p.stop()


if __name__ == "__main__":
    sys.exit(main())
