#!/usr/bin/env bash
# Runs the test suites and prints one closing line "N passed, N failed".
#   tests/run.sh              unit + integration + browser (what make test runs)
#   tests/run.sh unit         unit tests only (cmocka, ASan/UBSan build)
#   tests/run.sh integration  integration tests only (real gateway, real origin, curl)
#   tests/run.sh browser      browser tests only (headless Chromium + Playwright against the real gateway)
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
passed=0 failed=0

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in build/asan/tests/test_*; do
        [ -x "$t" ] || continue
        out=$("$t" 2>&1); rc=$?
        p=$(grep -Eo '\[  PASSED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
        f=$(grep -Eo '\[  FAILED  \] [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | tail -1)
        p=${p:-0} f=${f:-0}
        if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed or sanitizer abort
        if [ "$f" != 0 ]; then echo "$out"; fi
        echo "unit ${t##*/}: $p passed, $f failed"
        passed=$((passed + p)) failed=$((failed + f))
    done
fi

if [ "$what" = all ] || [ "$what" = integration ]; then
    out=$(mktemp)
    python3 tests/integration/run.py 2>&1 | tee "$out"
    line=$(grep -E '^integration: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); echo "integration: runner did not finish"
    else
        p=$(sed -E 's/^integration: ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
        f=$(sed -E 's/^integration: ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
        passed=$((passed + p)) failed=$((failed + f))
    fi
    rm -f "$out"
fi

if [ "$what" = all ] || [ "$what" = browser ]; then
    out=$(mktemp)
    tests/browser/run.sh 2>&1 | tee "$out"
    line=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed' "$out" | tail -1)
    if [ -z "$line" ]; then
        failed=$((failed + 1)); echo "browser: runner did not finish"
    else
        p=$(sed -E 's/^browser: ([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/.*passed, ([0-9]+) failed.*/\1/' <<<"$line")
        passed=$((passed + p)) failed=$((failed + f))
    fi
    rm -f "$out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
