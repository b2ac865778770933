#!/usr/bin/env python3
"""The gateway's user-space instructions per TLS handshake (full and resumed, TLS 1.3 and 1.2), under callgrind:
counters zeroed after a warm-up and dumped after N handshakes of Python's ssl with no request, so that they count
those handshakes only and not this machine's other load. One worker thread, a self-signed certificate.

usage: python3 tests/bench/tls_handshakes.py [BINARY] [N]   (default build/consentgate, 200; needs valgrind)
"""
import glob
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402

BINARY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(harness.REPO, "build/consentgate"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def client(version):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname, c.verify_mode = False, ssl.CERT_NONE
    c.minimum_version = c.maximum_version = version
    return c


def handshake(ctx, port, session=None, request=False):
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost", session=session)
    if request:  # (a TLS 1.3 ticket comes after the handshake: read it with an answer)
        t.sendall(b"GET /__origin/echo HTTP/1.0\r\nHost: localhost\r\n\r\n")
        while t.recv(65536):
            pass
    s, reused = t.session, t.session_reused
    t.close()
    return s, reused


def counted(d, pid, work):
    """the instructions callgrind counted in the gateway while work() ran"""
    subprocess.run(["callgrind_control", "-z", str(pid)], capture_output=True, check=True)
    work()
    time.sleep(0.5)
    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, check=True)
    time.sleep(0.5)
    newest = max(glob.glob(os.path.join(d, "callgrind.out*")), key=os.path.getmtime)
    with open(newest) as f:
        return next(int(l.split()[1]) for l in f if l.startswith(("totals:", "summary:")))


def main():
    d = tempfile.mkdtemp(prefix="cg-tls-")
    wrapper = os.path.join(d, "consentgate")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out.%%p %s "$@"\n' % (d, BINARY))
    os.chmod(wrapper, 0o755)
    origin = harness.Origin(d)
    origin.start()
    harness.make_cert(d)
    cfg = harness.gateway_config(origin.url, tls_cert=("cert.pem", "key.pem"))
    cfg["threads"] = 1
    g = harness.Gateway(d, cfg, name="gw", binary=wrapper)
    g.start()
    try:
        for name, version in (("TLS 1.3", ssl.TLSVersion.TLSv1_3), ("TLS 1.2", ssl.TLSVersion.TLSv1_2)):
            ctx = client(version)
            for _ in range(20):
                handshake(ctx, g.tls_port)
            full = counted(d, g.proc.pid, lambda: [handshake(ctx, g.tls_port) for _ in range(N)])
            sess, _ = handshake(ctx, g.tls_port, request=True)
            reused = []
            resumed = counted(d, g.proc.pid, lambda: reused.extend(handshake(ctx, g.tls_port, sess)[1] for _ in range(N)))
            print("%s: full %d instructions per handshake, resumed %d (%d of %d resumed)"
                  % (name, full // N, resumed // N, sum(reused), N))
    finally:
        g.stop()
        origin.stop()


if __name__ == "__main__":
    main()
