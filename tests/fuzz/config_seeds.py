#!/usr/bin/env python3
"""Seeds for fuzz_config: the configuration of every integration test class (tests/integration, merged into the
harness's base config as the tests merge it), one JSON file each, written to the folder given (default
tests/fuzz/corpus/fuzz_config). The paths a config must find readable (the admin tokens file, TLS certificate and key,
GeoIP and cookie databases, risk list files) are renamed to the files fuzz_config.c makes in its own folder, so the
loader goes past them into the sections after; the rest keep their names. Run from the repository's root."""
import glob
import hashlib
import importlib
import inspect
import json
import os
import sys

sys.path.insert(0, "tests/integration")
import harness  # noqa: E402

# the files fuzz_config.c makes (keep the two lists alike)
READABLE = {"tokens_file": "admin-tokens", "cert": "cert.pem", "key": "key.pem", "database": "data.db", "file": "list.txt"}


def readable(v):
    if isinstance(v, dict):
        return {k: READABLE[k] if k in READABLE and isinstance(x, str) else readable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [readable(x) for x in v]
    return v


def main(out):
    os.makedirs(out, exist_ok=True)
    seen = set()
    for f in sorted(glob.glob("tests/integration/test_*.py")):
        m = importlib.import_module(os.path.basename(f)[:-3])
        for name, cls in inspect.getmembers(m, inspect.isclass):
            cfg = getattr(cls, "config", None)
            if not isinstance(cfg, dict) or not cfg:
                continue
            text = json.dumps(readable(harness.merge(harness.gateway_config("http://127.0.0.1:9000"), cfg)),
                              separators=(",", ":"), sort_keys=True)
            h = hashlib.sha1(text.encode()).hexdigest()[:12]
            if h not in seen:
                seen.add(h)
                with open(os.path.join(out, "it-%s.json" % h), "w") as fp:
                    fp.write(text)
    print("%d seeds in %s" % (len(seen), out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_config")
