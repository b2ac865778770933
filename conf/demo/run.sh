#!/usr/bin/env bash
# The demo: the Example Shop origin (conf/demo/origin.py) where the config's upstream says (127.0.0.1:9000) behind the gateway.
# `make run` builds and calls this; it works from any folder.
#   CG_BIN     gateway binary (default build/consentgate)
#   CG_CONFIG  gateway config (default conf/consentgate.json)
# The gateway runs in the foreground; Ctrl-C stops it, and the origin with it.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${CG_BIN:-build/consentgate}
config=${CG_CONFIG:-conf/consentgate.json}
# the origin where the config's upstream says it is (http://127.0.0.1:9000 in the shipped one)
read -r origin_host origin_port < <(python3 - "$config" <<'EOF'
import json, sys, urllib.parse
try:
    u = urllib.parse.urlsplit(json.load(open(sys.argv[1])).get("upstream", ""))
    print(u.hostname or "127.0.0.1", u.port or 80)
except Exception:
    print("127.0.0.1", 9000)
EOF
)
mkdir -p build/demo

if [ ! -x "$bin" ]; then
    echo "run: $bin not found: build it with 'make' (or 'make run')" >&2
    exit 1
fi
# The addresses, as the config says them (and the tokens file readable by its owner only: the gateway warns otherwise).
read -r gw_url admin_url tokens < <(python3 - "$config" <<'EOF'
import json, os, sys
path = sys.argv[1]
try:
    c = json.load(open(path))
except Exception:
    c = {}
plain = [l for l in c.get("listen", []) if "tls" not in l] or [{"host": "127.0.0.1", "port": 8080}]
l = plain[0]
host = "127.0.0.1" if l.get("host") in (None, "0.0.0.0", "::") else l["host"]
admin = c.get("admin") or {}
al = admin.get("listen") or {"host": "127.0.0.1", "port": 8081}
tf = admin.get("tokens_file") or "admin-tokens"
tf = os.path.normpath(os.path.join(os.path.dirname(path), tf))
print("http://%s:%d/" % (host, l["port"]), "http://%s:%d/admin/metrics" % (al.get("host", "127.0.0.1"), al["port"]), tf)
EOF
)
chmod 600 "$tokens" 2>/dev/null || true
if ! "$bin" --check-config -c "$config"; then
    echo "run: $config is not valid (see above)" >&2
    exit 1
fi

origin_pid= gw_pid=
stop() {  # SIGTERM and wait: the gateway drains its requests
    if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
}
cleanup() {
    stop "$gw_pid"
    stop "$origin_pid"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 conf/demo/origin.py --host "$origin_host" --port "$origin_port" \
    --log build/demo/origin.log --site conf/demo/site >build/demo/origin.out 2>&1 &
origin_pid=$!

# Wait until the origin answers (and is ours: a port already taken makes it exit at once).
for _ in $(seq 100); do
    if ! kill -0 "$origin_pid" 2>/dev/null; then
        echo "run: the origin did not start:" >&2
        cat build/demo/origin.out >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/$origin_host/$origin_port") 2>/dev/null; then
        break
    fi
    sleep 0.1
done
if ! (exec 3<>"/dev/tcp/$origin_host/$origin_port") 2>/dev/null; then
    echo "run: the origin does not answer on $origin_host:$origin_port" >&2
    exit 1
fi


cat <<EOF

  Example Shop behind consentgate
  -------------------------------
  gateway        $gw_url
  admin          $admin_url
                 (Authorization: Bearer <token>, tokens in $tokens, one name:token a line)
  origin direct  http://$origin_host:$origin_port/   (compare: what reaches the origin without the gateway)
  origin log     build/demo/origin.log   (one JSON line per request the origin received)

  try            ${gw_url}                cookies and tags before and after a choice in the banner
                 ${gw_url}about           the guest book's links: block page, warning page (lists in conf/risk/)
                 ${gw_url}__consent/      preference centre; receipts at ${gw_url}__consent/receipts

  Ctrl-C stops the gateway and the origin.

EOF

# In the background with `wait`, so that Ctrl-C or a SIGTERM to this script is handled at once
# (the traps stop the gateway, then the origin); when the gateway exits by itself, so does the demo.
"$bin" -c "$config" &
gw_pid=$!
status=0
wait "$gw_pid" || status=$?
gw_pid=
exit "$status"
