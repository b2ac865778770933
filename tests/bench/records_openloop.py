#!/usr/bin/env python3
"""Open-loop HTTP/1.1 load for tests/bench/records_bench.sh (Debian has no wrk2).

Request i is due at start + i / rate, whatever happened to the earlier ones. It goes out at once
on an idle keep-alive connection; when every connection is busy it waits in a queue, and that
wait counts: a request's latency is measured from its due time to the last byte of its answer
(no coordinated omission). Also reported: the service time (from the actual send) and how late
the client itself sent (send lag), so the client's own jitter is visible.

  records_openloop.py --port P [--rate 1000] [--duration 10] [--warmup 1] [--conns 32]
                      [--method POST] [--path /__consent/api/consent] [--body '{"all": true}']
(--method GET --path /__consent/api/state --body '' is the same load without a record)

Prints one JSON object on stdout. Exit status 0 when it ran (whatever the answers), 1 when it
could not connect at all.
"""
import argparse
import collections
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(round((len(sorted_vals) - 1) * p)))]


class Conn:
    __slots__ = ("sock", "buf", "due", "sent", "idx", "out")

    def __init__(self, addr):
        self.sock = socket.create_connection(addr, timeout=5)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.due = self.sent = None
        self.idx = -1
        self.out = b""


def parse(buf):
    """(status, total length) of the first complete response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    length = None
    for line in head[1:]:
        name, _, value = line.partition(b":")
        n = name.strip().lower()
        if n == b"content-length":
            length = int(value.strip())
        elif n == b"transfer-encoding":
            raise ValueError("chunked answers are not supported by this client")
    if length is None:
        length = 0
    total = end + 4 + length
    return (status, total) if len(buf) >= total else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds whose requests are sent but not counted")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--method", default="POST")
    ap.add_argument("--path", default="/__consent/api/consent")
    ap.add_argument("--body", default='{"all": true}', help="'' for none (e.g. --method GET)")
    ap.add_argument("--drain", type=float, default=5.0, help="seconds to wait for answers after the last send")
    a = ap.parse_args()

    body = a.body.encode()
    req = (f"{a.method} {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n"
           f"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           f"Chrome/120.0.0.0 Safari/537.36\r\n"
           + (f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body else "")
           + "\r\n").encode() + body

    sel = selectors.EpollSelector()
    addr = (a.host, a.port)
    idle, conns = collections.deque(), []  # idle: FIFO, so no connection sits idle long enough to time out
    try:
        for _ in range(a.conns):
            c = Conn(addr)
            conns.append(c)
            idle.append(c)
            sel.register(c.sock, selectors.EVENT_READ, c)
    except OSError as e:
        print(json.dumps({"error": f"cannot connect to {a.host}:{a.port}: {e}"}))
        return 1

    total = int(a.rate * (a.warmup + a.duration))
    measured_from = int(a.rate * a.warmup)
    interval = 1.0 / a.rate
    lat, svc, lag = [], [], []
    statuses, errors = {}, {}
    backlog = []  # (index, due) of requests waiting for a connection
    max_backlog, reconnects = 0, 0
    ru0 = resource.getrusage(resource.RUSAGE_SELF)

    def send(c, i, due):
        c.idx, c.due, c.sent = i, due, time.monotonic()
        c.out = req
        try:
            n = c.sock.send(c.out)
            c.out = c.out[n:]
        except BlockingIOError:
            pass
        if c.out:
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        if i >= measured_from:
            lag.append(c.sent - due)

    def fail(c, why):
        nonlocal reconnects
        if c.idx >= 0:  # a request was on it: lost (an idle connection closed by the server costs nothing)
            errors[why] = errors.get(why, 0) + 1
        sel.unregister(c.sock)
        c.sock.close()
        conns.remove(c)
        if c in idle:
            idle.remove(c)
        try:
            n = Conn(addr)
            reconnects += 1
            conns.append(n)
            sel.register(n.sock, selectors.EVENT_READ, n)
            free(n)
        except OSError:
            errors["reconnect failed"] = errors.get("reconnect failed", 0) + 1

    def free(c):
        c.idx = -1
        if backlog:
            i, due = backlog.pop(0)
            send(c, i, due)
        else:
            idle.append(c)

    start = time.monotonic() + 0.05
    nxt = 0
    deadline = None
    while True:
        now = time.monotonic()
        while nxt < total and start + nxt * interval <= now:
            due = start + nxt * interval
            if idle:
                send(idle.popleft(), nxt, due)
            else:
                backlog.append((nxt, due))
                max_backlog = max(max_backlog, len(backlog))
            nxt += 1
        if nxt >= total and deadline is None:
            deadline = now + a.drain
        busy = sum(1 for c in conns if c.idx >= 0)
        if deadline is not None and ((busy == 0 and not backlog) or now >= deadline):
            break
        timeout = max(0.0, start + nxt * interval - now) if nxt < total else max(0.0, deadline - now)
        for key, ev in sel.select(timeout):
            c = key.data
            if ev & selectors.EVENT_WRITE and c.out:
                try:
                    n = c.sock.send(c.out)
                    c.out = c.out[n:]
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail(c, f"send: {errno.errorcode.get(e.errno, e)}")
                    continue
                if not c.out:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail(c, f"recv: {errno.errorcode.get(e.errno, e)}")
                    continue
                if not data:
                    fail(c, "closed by server")
                    continue
                c.buf += data
                try:
                    r = parse(c.buf)
                except ValueError as e:
                    fail(c, str(e))
                    continue
                if r is None:
                    continue
                t = time.monotonic()
                status, n = r
                c.buf = c.buf[n:]
                if c.idx >= measured_from:
                    statuses[status] = statuses.get(status, 0) + 1
                    lat.append(t - c.due)
                    svc.append(t - c.sent)
                free(c)
    end = time.monotonic()
    unfinished = sum(1 for c in conns if c.idx >= measured_from) + sum(1 for i, _ in backlog if i >= measured_from)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in conns:
        c.sock.close()

    lat.sort()
    svc.sort()
    lag.sort()
    ms = lambda v: None if v is None else round(v * 1000, 3)
    measured = total - measured_from
    window = a.duration
    out = {
        "offered_rate": a.rate, "duration_s": a.duration, "warmup_s": a.warmup, "conns": a.conns,
        "measured_requests": measured, "answered": len(lat), "unfinished": unfinished,
        "statuses": {str(k): v for k, v in sorted(statuses.items())}, "errors": errors, "reconnects": reconnects,
        "ok_rate": round(statuses.get(200, 0) / window, 1),
        "latency_ms": {"p50": ms(pct(lat, 0.5)), "p90": ms(pct(lat, 0.9)), "p99": ms(pct(lat, 0.99)),
                       "p999": ms(pct(lat, 0.999)), "max": ms(lat[-1] if lat else None)},
        "service_ms": {"p50": ms(pct(svc, 0.5)), "p99": ms(pct(svc, 0.99)), "max": ms(svc[-1] if svc else None)},
        "send_lag_ms": {"p50": ms(pct(lag, 0.5)), "p99": ms(pct(lag, 0.99)), "max": ms(lag[-1] if lag else None)},
        "max_backlog": max_backlog,
        "client_cpu_s": round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3),
        "wall_s": round(end - start, 3),
    }
    out["lost"] = sum(errors.values())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
