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
# The Debian nginx, h2o and privoxy packages start system services; the benchmarks run their own instances. Only the
# services of packages installed just now are stopped, and disabled (they would start again at the next boot); a
# server the machine already ran is left alone.
for pkg in "${want[@]}" "${norec[@]}"; do
    case "$pkg" in nginx-light) svc=nginx ;; h2o|privoxy) svc=$pkg ;; *) continue ;; esac
    if command -v systemctl >/dev/null && systemctl is-enabled --quiet "$svc" 2>/dev/null; then
        systemctl disable --now --quiet "$svc" 2>/dev/null || systemctl stop "$svc" 2>/dev/null || true
    elif command -v service >/dev/null; then
        service "$svc" stop >/dev/null 2>&1 || true
    fi
done
echo "deps: done"
