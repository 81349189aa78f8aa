#!/usr/bin/env bash
# Build the service component (wasm32-wasip2) and the host, both optimised.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building the component"
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-service
echo "==> building the host"
cargo build --release --locked -p tmi-auth-host
