#!/usr/bin/env bash
# Benchmarks (not tests): `scripts/bench.sh [core|library|http|storage]`
# (default: core, library and http).
#   core: criterion on the core's hot paths, each next to GET /healthz.
#   http: wrk against the real host (grant, introspection, /healthz), next to
#         the same host on a trivial component, `wasmtime serve` on that
#         component, and node oidc-provider (one process and a cluster), all
#         in the same run (benches/http/run.py; --duration, --connections,
#         --rounds pass through).
#   library: verify-token through the library component embedded in Rust,
#         next to the same check in the native core.
#   storage: does the store stop growing? redb with the clock running ahead,
#         then Redis (keys without a TTL, longest TTL) in real time.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [ "$what" = core ] || [ "$what" = all ]; then
    cargo bench --locked -p tmi-auth-bench --bench core
    python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion/core")
est = {p.parent.parent.name: json.loads(p.read_text())["mean"]["point_estimate"] for p in root.glob("*/new/estimates.json")}
base = next(v for k, v in est.items() if "baseline" in k)
print(f"\n{'core operation':<45} {'mean':>12} {'vs healthz':>11}")
for name, ns in sorted(est.items(), key=lambda kv: kv[1]):
    print(f"{name:<45} {ns / 1000:>10.2f}us {ns / base:>10.1f}x")
PY
fi

if [ "$what" = library ] || [ "$what" = all ]; then
    scripts/build.sh
    cargo bench --locked -p tmi-auth-bench --bench library
fi

if [ "$what" = http ] || [ "$what" = all ]; then
    command -v wrk >/dev/null || scripts/apt-install.sh wrk
    [ -d benches/http/node_modules/oidc-provider ] || npm ci --prefix benches/http --no-audit --no-fund --silent
    scripts/build.sh
    cargo build --release --locked --target wasm32-wasip2 -p tmi-bench-trivial
    python3 benches/http/run.py "${@:2}"
fi

if [ "$what" = storage ]; then
    command -v redis-server >/dev/null || scripts/apt-install.sh redis-server
    cargo build --release --locked -p tmi-auth-host
    cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-service
    python3 benches/storage/run.py --backend redb "${@:2}"
    python3 benches/storage/run.py --backend redis "${@:2}"
fi
