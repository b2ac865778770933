#!/usr/bin/env bash
# Browser tests of the consent UI (see run.js): installs the two npm packages from
# package-lock.json when they are missing or stale (`npm ci`; no browser is downloaded:
# Debian's /usr/bin/chromium is used), then runs them. The last line printed is
# "browser: N passed, N failed". CG_BIN picks the gateway (default build/asan/consentgate).
set -uo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "browser: node and npm are missing (make deps)"; echo "browser: 0 passed, 1 failed"; exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    echo "browser: ${CHROMIUM:-/usr/bin/chromium} is missing (make deps)"; echo "browser: 0 passed, 1 failed"; exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null; then
        echo "browser: npm ci failed"; echo "browser: 0 passed, 1 failed"; exit 1
    fi
fi
exec node run.js "$@"
