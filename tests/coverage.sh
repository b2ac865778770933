#!/usr/bin/env bash
# Line and branch coverage of gateway/ and filters/ by the unit programs and the integration suite (make cov).
#   tests/coverage.sh               clear the counters, run build/cov/tests/test_* and the integration suite against
#                                   build/cov/consentgate, print the per-file summary
#   tests/coverage.sh report        only print the summary of the counters gathered so far
#   tests/coverage.sh run FILTER    add the integration tests matching FILTER to the counters, then print the summary
# The annotated sources (which line ran how often, which branch was never taken) land in build/cov/gcov/*.gcov.
set -uo pipefail
cd "$(dirname "$0")/.."
cov=build/cov
mode=${1:-all}

if [ "$mode" = all ]; then
    find $cov -name '*.gcda' -delete
    for t in $cov/tests/test_*; do
        [ -x "$t" ] || continue
        CG_SRCDIR=. "$t" >/dev/null 2>&1 || echo "coverage: ${t##*/} failed (its counters are kept)"
    done
    CG_BIN=$cov/consentgate python3 tests/integration/run.py 2>&1 | grep -E '^(integration:|FAIL|ERROR)'
elif [ "$mode" = run ]; then
    CG_BIN=$cov/consentgate python3 tests/integration/run.py "${2:?a test filter}" 2>&1 | grep -E '^(integration:|FAIL|ERROR)'
fi

# gcov -b prints, per source: "File 'x.c'", "Lines executed:P% of N", "Branches executed:...", "Taken at least
# once:P% of N"; the .gcov files go to build/cov/gcov
mkdir -p $cov/gcov
ln -sfn ../../../gateway $cov/gcov/gateway   # (gcov finds a source by the name it was compiled with)
ln -sfn ../../../filters $cov/gcov/filters
for src in gateway/*.c filters/*.c; do
    if [ ! -e "$cov/${src%.c}.gcda" ]; then printf "File '%s'\nLines executed:0.00%% of 1\n\n" "$src"; continue; fi
    (cd $cov/gcov && gcov -b -o "../$(dirname "$src")" "$src" 2>/dev/null) | sed -n "\|^File '$src'|,/^\$/p"
done | python3 -c '
import re, sys, collections
rows, cur = [], None
for line in sys.stdin:
    m = re.match(r"File .(?:\.\./)*(.+).$", line.strip())
    if m:
        cur = {"file": m.group(1), "lines": (0, 0), "branches": (0, 0)}; rows.append(cur); continue
    m = re.match(r"(Lines executed|Taken at least once):([\d.]+)% of (\d+)", line.strip())
    if m and cur:
        n = int(m.group(3)); hit = round(float(m.group(2)) * n / 100)
        cur["lines" if m.group(1).startswith("Lines") else "branches"] = (hit, n)
def pct(h, n): return "%6.1f%%" % (100.0 * h / n) if n else "     -"
print("%-28s %14s %8s %14s %8s" % ("file", "lines", "", "branches", ""))
tot = collections.defaultdict(lambda: [0, 0, 0, 0])
for r in sorted(rows, key=lambda r: r["file"]):
    (lh, ln), (bh, bn) = r["lines"], r["branches"]
    print("%-28s %6d/%-7d %s %6d/%-7d %s" % (r["file"], lh, ln, pct(lh, ln), bh, bn, pct(bh, bn)))
    for key in (r["file"].split("/")[0] + "/", "total"):
        t = tot[key]; t[0] += lh; t[1] += ln; t[2] += bh; t[3] += bn
for key in sorted(tot, key=lambda k: k == "total"):
    lh, ln, bh, bn = tot[key]
    print("%-28s %6d/%-7d %s %6d/%-7d %s" % (key, lh, ln, pct(lh, ln), bh, bn, pct(bh, bn)))
'
