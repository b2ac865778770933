#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet.
# Packages after "--" are installed with --no-install-recommends. Idempotent: checks dpkg first.
set -euo pipefail
want=() norec=() mode=want
for p in "$@"; do
    if [ "$p" = "--" ]; then mode=norec; continue; fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        if [ $mode = want ]; then want+=("$p"); else norec+=("$p"); fi
    fi
done
if [ ${#want[@]} -eq 0 ] && [ ${#norec[@]} -eq 0 ]; then
    echo "deps: all packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages: ${want[*]} ${norec[*]} (run 'make deps' as root)" >&2
    exit 1
fi
echo "deps: installing ${want[*]} ${norec[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ ${#want[@]} -eq 0 ] || apt-get install -y -qq "${want[@]}" >/dev/null
[ ${#norec[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${norec[@]}" >/dev/null
# The Debian nginx and h2o packages start system services; the benchmarks run their own instances.
for svc in nginx h2o privoxy; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then systemctl stop "$svc" || true; fi
done
echo "deps: done"
