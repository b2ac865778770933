#!/usr/bin/env bash
# Side-by-side benchmark: origin direct, h2o, nginx and consentgate behind one nginx origin,
# driven by wrk (HTTP/1.1) and h2load (HTTP/2 over TLS); everything on 127.0.0.1.
# Prints a markdown report and writes it to build/bench/results.md. See tests/bench/README.md.
#   tests/bench/run.sh                                   full run (≈ 5 min)
#   ROUNDS=1 DURATION=2 TARGETS=direct,h2o,nginx tests/bench/run.sh   quick run
# Exit status: 0 measured, 1 a target did not start / wrk or h2load saw errors / a micro
# benchmark failed, 130 interrupted.
set -uo pipefail
cd "$(dirname "$0")/../.."

missing=()
for tool in wrk h2load nginx h2o curl openssl python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -ne 0 ]; then
    echo "bench: missing tools: ${missing[*]} (run 'make deps' as root)" >&2
    exit 1
fi

BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cgbench.XXXXXX")
chmod 755 "$BENCH_DIR"   # nginx workers (user nobody when started as root) read the origin's files
export BENCH_DIR
driver=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        kill -TERM "$driver" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$driver" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$driver" 2>/dev/null
    fi
    # backstop: process groups the driver started and did not stop (it removes stopped ones)
    if [ -s "$BENCH_DIR/pgids" ]; then
        while read -r g; do
            [ -n "$g" ] && kill -TERM -- "-$g" 2>/dev/null && echo "bench: stopped leftover process group $g" >&2
        done <"$BENCH_DIR/pgids"
        sleep 1
        while read -r g; do [ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null; done <"$BENCH_DIR/pgids"
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "bench: configs and logs kept in $BENCH_DIR" >&2
    else
        rm -rf "$BENCH_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The driver runs in the background so that this shell's traps fire at once on a signal;
# cleanup() then forwards SIGTERM to it and it stops everything it started.
python3 tests/bench/lib/bench.py "$@" &
driver=$!
wait "$driver"
rc=$?
driver=
exit "$rc"
