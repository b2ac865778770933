#!/usr/bin/env python3
"""Risk-list reload under load (issue #6: "reload of a 1M-entry list <= 1 s while wrk drives the
gateway: zero failed or slowed-beyond-p99x2 requests during the swap").

The gateway runs with every feature on (the consentgate-full row of targets.conf) plus one risk list
of 1,000,000 generated domains (format `domains`, action block), in front of the benchmark's nginx
origin; wrk drives the 20 KB tracker-laden page (tests/bench/page.html), whose links and third-party
subresources are checked against the list on every request. Each round:

  B  baseline: wrk alone for DURATION s; its p99 sets the threshold T = 2 x p99;
  R  reload:   wrk for RELOAD_AT s (load before the swap), then at once a second wrk for WINDOW s,
               SETTLE s into which the list file is replaced (rename of a different 1M-domain file
               into place: inotify -> job thread rebuilds -> snapshot swap); the swap is timed from
               the rename to the new version in /admin/lists and must end inside the window;
  C  control:  the same two runs without a rename, counted against the same T (the machine's own
               noise floor over a window of the same length).
  D  burner:   the same two runs, and SETTLE s into the window a separate process burns as much CPU as
               the gateway's rebuild took in R (its log says how much): what that much CPU, spent by
               anyone on this machine while wrk drives it, does to the requests.
  M  memory burner: as D, but the process (tests/bench/burner.c) spends that CPU as a rebuild does: it
               reads the list file, then writes at random into as much fresh memory as the snapshot
               holds (/admin/lists memory_bytes). D and M apart say how much of the rebuild's harm is
               CPU, how much memory traffic, and what is left is the gateway's own.

In every window the gateway's worker threads' scheduler statistics are read before and after
(/proc/<pid>/task/<tid>/schedstat): how long they ran, and how long they were runnable but waited
for a CPU. The wait says whether a window's slow requests come from the workers losing their CPU.

"During the swap" is the window run: it holds the whole swap (checked) and little else, so a
stall of the VM elsewhere in the round does not count against the gateway; the runs before the
window are reported too. wrk counts every request's latency in its histogram;
tests/bench/reload_count.lua adds up the requests slower than T. A request "failed" is any socket
error, timeout or non-2xx/3xx answer, in any run.
Prints a markdown report and writes it to build/bench/reload.md. A benchmark, not a test: the
exit status is 0 when everything ran (whatever the counts), 1 when something did not work.

Settings (environment): ROUNDS (3), DURATION (6), RELOAD_AT (2), WINDOW (1, whole seconds), SETTLE (0.05), CONNS (32),
THREADS (1), DOMAINS (1000000), CONSENTGATE (build/consentgate), OUT (build/bench/reload.md), KEEP (0).
"""
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOP = Path(tempfile.mkdtemp(prefix="cgreload."))
TOP.chmod(0o755)  # nginx workers (user nobody when run as root) read the origin's files
os.environ["BENCH_DIR"] = str(TOP)
sys.path.insert(0, str(HERE / "lib"))
import bench  # noqa: E402  (after BENCH_DIR is set: the module records its process groups there)

ROUNDS = int(os.environ.get("ROUNDS") or 3)
DURATION = int(os.environ.get("DURATION") or 6)
RELOAD_AT = int(os.environ.get("RELOAD_AT") or 2)
WINDOW = int(os.environ.get("WINDOW") or 1)  # wrk takes whole seconds
SETTLE = float(os.environ.get("SETTLE") or 0.05)
CONNS = int(os.environ.get("CONNS") or 32)
THREADS = int(os.environ.get("THREADS") or 1)
DOMAINS = int(os.environ.get("DOMAINS") or 1000000)
OUT = ROOT / (os.environ.get("OUT") or "build/bench/reload.md")
LIST_NAME = "bench1m"

TLDS = ["com", "com", "com", "com", "net", "org", "ru", "cn", "de", "info", "xyz", "top", "co.uk",
        "com.br", "io", "online", "site", "shop", "github.io", "pages.dev"]
ALPHA = "abcdefghijklmnopqrstuvwxyz0123456789"


def write_list(path, seed):
    """DOMAINS generated registrable domains (a third with a subdomain), one per line."""
    rnd = random.Random(seed)
    lines = [f"# {DOMAINS} generated domains, seed {seed}\n"]
    for _ in range(DOMAINS):
        name = "".join(rnd.choices(ALPHA, k=rnd.randint(5, 14)))
        sub = "www." if rnd.random() < 0.33 else ""
        lines.append(f"{sub}{name}.{rnd.choice(TLDS)}\n")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(lines))
    return tmp


def admin_lists(port, token):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/admin/lists", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return {l["name"]: l for l in json.loads(r.read())}


def run_wrk(url, slow_us, duration=None):
    duration = duration or DURATION
    argv = ["wrk", "-t1", f"-c{CONNS}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(HERE / "reload_count.lua"), url]
    for name, value in bench.REQ_HEADERS:
        argv[1:1] = ["-H", f"{name}: {value}"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=dict(os.environ, CG_SLOW_US=str(slow_us)))
    return p, argv, duration


def worker_sched(pid):
    """(ms run, ms waited for a CPU) of the gateway's worker threads so far (schedstat)"""
    run = wait = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            if not Path(f"/proc/{pid}/task/{tid}/comm").read_text().startswith("cg-worker"):
                continue
            f = Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()
        except OSError:
            continue
        run, wait = run + int(f[0]), wait + int(f[1])
    return run / 1e6, wait / 1e6


def with_sched(r, s0, pid):
    """r with the workers' run and wait ms since s0 (worker_sched) added"""
    s1 = worker_sched(pid)
    r["worker_run_ms"], r["worker_wait_ms"] = s1[0] - s0[0], s1[1] - s0[1]
    return r


def wrk_result(p, argv, duration):
    out, _ = p.communicate(timeout=duration + 60)
    m = re.search(r"^CGRESULT (.*)$", out, re.M)
    if p.returncode != 0 or m is None:
        raise bench.BenchError(f"wrk failed (status {p.returncode}): {shlex.join(argv)}\n{out}")
    r = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["failed"] = r["errors"] + r["status"]
    r["rps"] = r["requests"] / duration
    return r


def main():
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, bench.on_signal)
    for tool in ("wrk", "nginx", "openssl"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise bench.BenchError(f"missing tool: {tool} (run 'make deps' as root)")
    t0 = time.time()
    lists = TOP / "lists"
    lists.mkdir()
    live = lists / f"{LIST_NAME}.txt"
    write_list(live, 1).replace(live)
    staged = [write_list(lists / "a.txt", 2), write_list(lists / "b.txt", 3)]
    bench.log(f"reload: 3 lists of {DOMAINS} domains generated in {time.time() - t0:.1f} s "
              f"({live.stat().st_size / 1e6:.1f} MB each)")

    cert, key = bench.make_cert(TOP)
    origin = bench.Origin(TOP, cert, key)
    extra = json.dumps({"risk": {"lists": [{"name": LIST_NAME, "file": str(live), "format": "domains",
                                            "action": "block"}]}})
    gw = bench.ConsentgateTarget("consentgate-reload", "consentgate", extra, TOP, origin, cert, key)
    gw.start(THREADS)
    cfg = json.loads((gw.dir / "etc" / "consentgate.json").read_text())
    admin_port = cfg["admin"]["listen"]["port"]
    token = (gw.dir / "admin-tokens").read_text().strip().split(":", 1)[1]
    info = admin_lists(admin_port, token)[LIST_NAME]
    if info["entries"] < DOMAINS * 0.99:
        raise bench.BenchError(f"the gateway loaded {info['entries']} entries of {DOMAINS}")
    snapshot_mb = info["memory_bytes"] / 1048576
    gw_pid = gw.procs[0].p.pid
    burner = TOP / "burner"
    subprocess.run(["gcc", "-O2", "-o", str(burner), str(HERE / "burner.c")], check=True)
    url = gw.url("h1", "/page.html")
    bench.sanity(gw, origin, "h1", "/page.html")
    bench.log(f"reload: gateway up with {info['entries']} entries ({info['memory_bytes'] / 1e6:.1f} MB); warming up")
    wrk_result(*run_wrk(url, 0))

    rounds = []
    for rnd in range(ROUNDS):
        base = wrk_result(*run_wrk(url, 0))
        slow_us = 2 * base["p99"]
        # R: the reload in the middle of a run
        version = admin_lists(admin_port, token)[LIST_NAME]["version"]
        # the new file is written and on disk before the run: during it only the rename happens (the
        # writeback of 18 MB is the editor's cost, not the gateway's, and on a VM it takes CPU from all)
        src = staged[rnd % 2]
        keep = src.with_suffix(".keep")
        subprocess.run(["cp", str(src), str(keep)], check=True)
        os.sync()
        pre = wrk_result(*run_wrk(url, slow_us, RELOAD_AT))
        s0 = worker_sched(gw_pid)
        p, argv, d = run_wrk(url, slow_us, WINDOW)
        time.sleep(SETTLE)
        t_rename = time.monotonic()
        os.replace(keep, live)
        swap_s = None
        while time.monotonic() - t_rename < WINDOW + 10:
            cur = admin_lists(admin_port, token)[LIST_NAME]
            if cur["version"] > version:
                swap_s = time.monotonic() - t_rename
                entries = cur["entries"]
                break
            time.sleep(0.02)
        rel = with_sched(wrk_result(p, argv, d), s0, gw_pid)
        if swap_s is None:
            raise bench.BenchError("the list was not reloaded (no new version in /admin/lists)")
        inside = swap_s <= WINDOW - SETTLE
        if not inside:
            bench.log(f"reload: round {rnd + 1}: the swap ended after the window ({swap_s:.2f} s)")
        ctl_pre = wrk_result(*run_wrk(url, slow_us, RELOAD_AT))
        s0 = worker_sched(gw_pid)
        ctl = with_sched(wrk_result(*run_wrk(url, slow_us, WINDOW)), s0, gw_pid)
        # D: the rebuild's CPU time, burnt by another process
        cpu_ms = rebuild_cpu_ms(gw)
        wrk_result(*run_wrk(url, slow_us, RELOAD_AT))
        s0 = worker_sched(gw_pid)
        p, argv, d = run_wrk(url, slow_us, WINDOW)
        time.sleep(SETTLE)
        subprocess.run([sys.executable, "-c", "import time\nwhile time.process_time() < %f: pass" % (cpu_ms / 1000)],
                       check=True)
        burn = with_sched(wrk_result(p, argv, d), s0, gw_pid)
        # M: the same CPU time, spent on the list file and fresh memory of the snapshot's size
        wrk_result(*run_wrk(url, slow_us, RELOAD_AT))
        s0 = worker_sched(gw_pid)
        p, argv, d = run_wrk(url, slow_us, WINDOW)
        time.sleep(SETTLE)
        subprocess.run([str(burner), f"{cpu_ms:.0f}", f"{snapshot_mb:.1f}", str(staged[rnd % 2])], check=True,
                       stdout=subprocess.DEVNULL)
        mburn = with_sched(wrk_result(p, argv, d), s0, gw_pid)
        gw.check_alive()
        rounds.append({"base": base, "pre": pre, "reload": rel, "control_pre": ctl_pre, "control": ctl,
                       "burn": burn, "burn_cpu_ms": cpu_ms, "mburn": mburn,
                       "swap_s": swap_s, "inside": inside, "entries": entries, "threshold_us": slow_us,
                       "load": os.getloadavg()[0]})
        bench.log(f"reload: round {rnd + 1}: swap {swap_s * 1000:.0f} ms; requests slower than "
                  f"{slow_us / 1000:.1f} ms: swap window {rel['slow']} of {rel['requests']} (before it {pre['slow']}), "
                  f"control window {ctl['slow']} of {ctl['requests']} (before it {ctl_pre['slow']}), "
                  f"burner window ({cpu_ms:.0f} ms CPU) {burn['slow']} of {burn['requests']}, memory burner window "
                  f"{mburn['slow']} of {mburn['requests']}; workers waited for a CPU (ms of run + wait): swap "
                  f"{wait_share(rel)}, control {wait_share(ctl)}, burner {wait_share(burn)}, memory burner "
                  f"{wait_share(mburn)}; "
                  f"failed {rel['failed'] + pre['failed']}")
    report(rounds, url)
    return 0


def wait_share(r):
    return f"{r['worker_wait_ms']:.0f} of {r['worker_run_ms'] + r['worker_wait_ms']:.0f}"


def rebuild_cpu_ms(gw):
    """the CPU time of the last reload, from the gateway's log line "reloaded from … in W ms (C ms CPU)" """
    found = re.findall(r"reloaded from .* in \d+ ms \((\d+) ms CPU\)", (gw.dir / "stdout.log").read_text(errors="replace"))
    if not found:
        raise bench.BenchError("the gateway's log does not say how much CPU the reload took")
    return float(found[-1])


def report(rounds, url):
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    lines = [f"# consentgate risk-list reload under load — {now}", "",
             f"- machine: {os.cpu_count()} CPUs; load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
             f"- gateway: {THREADS} worker thread(s), every feature on, one `domains` list of {DOMAINS:,} generated "
             f"domains; wrk -t1 -c{CONNS} on {url} (20 KB page, links checked against the list): baseline "
             f"{DURATION:g} s, then {RELOAD_AT:g} s of load and a {WINDOW:g} s window run, the list file replaced "
             f"{SETTLE:g} s into the window (control: the same without a replace; burner: the same with another "
             f"process burning the rebuild's CPU time instead; memory burner: another process spending that CPU "
             f"time as a rebuild does, on the list file and on fresh memory of the snapshot's size)", "",
             "| round | baseline req/s | baseline p99 ms | T = 2×p99 ms | swap ms (rename → new version) | "
             "window req/s | window p99 / max ms | failed | swap window slower than T | before it | "
             "control window slower than T | before it | control failed | burner: rebuild's CPU ms, window slower than T | "
             "memory burner window slower than T | workers' wait for a CPU, ms of run + wait: swap / control / burner / "
             "memory burner window |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rounds, 1):
        b, rl, c = r["base"], r["reload"], r["control"]
        lines.append(f"| {i} | {b['rps']:,.0f} | {b['p99'] / 1000:.1f} | {r['threshold_us'] / 1000:.1f} | "
                     f"{r['swap_s'] * 1000:.0f}{'' if r['inside'] else ' (after the window)'} | {rl['rps']:,.0f} | "
                     f"{rl['p99'] / 1000:.1f} / {rl['max'] / 1000:.1f} | {rl['failed'] + r['pre']['failed']} | "
                     f"{rl['slow']} of {rl['requests']:,} | {r['pre']['slow']} of {r['pre']['requests']:,} | "
                     f"{c['slow']} of {c['requests']:,} | {r['control_pre']['slow']} of {r['control_pre']['requests']:,} | "
                     f"{c['failed'] + r['control_pre']['failed']} | {r['burn_cpu_ms']:.0f}, {r['burn']['slow']} of "
                     f"{r['burn']['requests']:,} | {r['mburn']['slow']} of {r['mburn']['requests']:,} | "
                     f"{wait_share(rl)} / {wait_share(c)} / {wait_share(r['burn'])} / {wait_share(r['mburn'])} |")
    failed = sum(r["reload"]["failed"] + r["pre"]["failed"] for r in rounds)
    slow = sum(r["reload"]["slow"] for r in rounds)
    ctl = sum(r["control"]["slow"] for r in rounds)
    burnt = sum(r["burn"]["slow"] for r in rounds)
    mburnt = sum(r["mburn"]["slow"] for r in rounds)
    worst = max(r["swap_s"] for r in rounds)
    inside = all(r["inside"] for r in rounds)
    lines += ["", f"Totals over {len(rounds)} rounds: failed {failed}; slower than 2×p99 in the swap windows "
              f"{slow} (control windows without a reload: {ctl}; burner windows, the rebuild's CPU time spent by "
              f"another process: {burnt}; memory burner windows, the same CPU time spent on the list file and "
              f"fresh memory: {mburnt}); slowest swap {worst * 1000:.0f} ms"
              f"{'' if inside else ', not always inside its window'}. "
              f"Target: swap ≤ 1 s — {'met' if worst <= 1 else 'not met'}; zero failed — "
              f"{'met' if failed == 0 else 'not met'}; zero slowed beyond p99×2 during the swap — "
              f"{'met' if slow == 0 and inside else 'not met'}.",
              "", "A benchmark, not a test: the numbers depend on the machine and its other jobs."]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    OUT.with_suffix(".json").write_text(json.dumps(rounds, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    except bench.BenchError as e:
        bench.log(f"\nreload: FAILED: {e}")
    except bench.Interrupted as e:
        bench.log(f"\nreload: {e}")
        rc = 130
    finally:
        bench.stop_all()
        if os.environ.get("KEEP") == "1":
            bench.log(f"reload: work dir kept in {TOP}")
        else:
            subprocess.run(["rm", "-rf", str(TOP)])
    sys.exit(rc)
