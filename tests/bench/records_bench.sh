#!/usr/bin/env bash
# Consent store benchmark: the records targets measured side by side in one run, reported as
# ratios (a benchmark, not a pass/fail test). Everything on 127.0.0.1, every run bounded in time.
#
#   1. durable consents/s through the gateway (wrk + records_load.lua POSTing {"all": true},
#      200s counted) vs, in the same folder (disk) as the gateway's database and with the batch
#      size the gateway was measured to commit (records ÷ WAL fsyncs, counted with perf or
#      strace): (a) raw append + fdatasync, (b) SQLite WAL synchronous=FULL inserts into a
#      records-shaped table (micro_store_append.c, built here with gcc -O2 -lsqlite3);
#      interleaved rounds. Targets: gateway ≥ 0.8× (a) and ≥ 0.8× (b).
#   2. POST→200 latency at RATE consents/s offered, open loop (records_openloop.py; Debian has
#      no wrk2): p50 / p99 / max. Target: p99 ≤ 10 ms.
#   3. wrk on the proxied 20 KB page alone (A) and while records_openloop.py records RATE
#      consents/s (B), A B A B ...; the median of the rounds' B ÷ A. Target: ≥ 0.9.
# Prints a markdown report and writes it to build/bench/records.md (raw numbers: records.json).
#
#   tests/bench/records_bench.sh                       full run (≈ 2 min)
#   ROUNDS=1 PROXY_ROUNDS=1 LAT_DURATION=5 tests/bench/records_bench.sh   quick look
#
# Settings (environment): CONSENTGATE (build/consentgate), THREADS (1), CONNS (32), ROUNDS (2),
# DURATION (5), MICRO_SECONDS (3), RATE (1000), OPEN_CONNS (128), LAT_DURATION (10),
# PROXY_ROUNDS (3), PROXY_DURATION (5), COMMIT_DELAY_MS (the gateway's store.commit_delay_ms; empty: its
# default), CONTROLS (1: part 3 also runs C = page + the SQLite loop
# alone at RATE, E = page + the same client on GET /__consent/api/state), SYNC_COUNTER (perf;
# strace perturbs the gateway a lot), RECORDS_DIR (build/bench: the store and the raw/SQLite files
# go to a fresh folder inside it, so this is the disk measured), OUT (build/bench/records.md),
# KEEP (0; 1 keeps the work dir and the store).
# The report shows how much CPU other jobs took meanwhile ("others' CPU %"): on a shared machine
# compare runs by it.
# Needs wrk, nginx, python3, sqlite3, gcc (+ libsqlite3-dev), curl, and perf (or strace) to count
# the gateway's fsyncs. Exit status: 0 measured, 1 something did not work, 130/143 interrupted.
set -uo pipefail
cd "$(dirname "$0")/../.."

missing=()
for tool in wrk nginx python3 sqlite3 gcc curl; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
command -v perf >/dev/null || command -v strace >/dev/null || missing+=("perf or strace")
if [ ${#missing[@]} -ne 0 ]; then
    echo "records: missing tools: ${missing[*]} (run 'make deps' as root)" >&2
    exit 1
fi

RB_WORK=$(mktemp -d "${TMPDIR:-/tmp}/cgrecords.XXXXXX") || exit 1
chmod 755 "$RB_WORK"   # nginx workers (user nobody when started as root) read the origin's files
records_dir=${RECORDS_DIR:-build/bench}
mkdir -p "$records_dir" || exit 1
RB_STORE=$(mktemp -d "$(cd "$records_dir" && pwd)/records-store.XXXXXX") || { rm -rf "$RB_WORK"; exit 1; }
export RB_WORK RB_STORE
export RB_MICRO="$RB_WORK/micro_store_append"
export RB_COMMAND="$(for v in CONSENTGATE THREADS CONNS ROUNDS DURATION MICRO_SECONDS RATE OPEN_CONNS LAT_DURATION \
    PROXY_ROUNDS PROXY_DURATION COMMIT_DELAY_MS CONTROLS SYNC_COUNTER RECORDS_DIR OUT KEEP; do [ -n "${!v:-}" ] && printf '%s=%q ' "$v" "${!v}"; done
    printf '%s' "$0"; [ $# -gt 0 ] && printf ' %q' "$@")"
driver=

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        kill -TERM "$driver" 2>/dev/null
        for _ in $(seq 150); do kill -0 "$driver" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$driver" 2>/dev/null
    fi
    # backstop: process groups the driver started and did not stop (it removes stopped ones)
    if [ -s "$RB_WORK/pgids" ]; then
        while read -r g; do
            [ -n "$g" ] && kill -TERM -- "-$g" 2>/dev/null && echo "records: stopped leftover process group $g" >&2
        done <"$RB_WORK/pgids"
        sleep 1
        while read -r g; do [ -n "$g" ] && kill -KILL -- "-$g" 2>/dev/null; done <"$RB_WORK/pgids"
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "records: work dir $RB_WORK and store $RB_STORE kept" >&2
    else
        rm -rf "$RB_WORK" "$RB_STORE"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if ! gcc -std=gnu11 -O2 -D_GNU_SOURCE -Wall -Wextra -o "$RB_MICRO" tests/bench/micro_store_append.c -lsqlite3 \
        2>"$RB_WORK/gcc.log"; then
    echo "records: cannot build tests/bench/micro_store_append.c (libsqlite3-dev missing?):" >&2
    cat "$RB_WORK/gcc.log" >&2
    exit 1
fi

# The driver runs in the background so that this shell's traps fire at once on a signal;
# cleanup() then forwards SIGTERM to it and it stops everything it started.
python3 tests/bench/records_bench.py "$@" &
driver=$!
wait "$driver"
rc=$?
driver=
exit "$rc"
