#!/usr/bin/env bash
# Build the service component (wasm32-wasip2) and the host, both optimised.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building the component"
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-service
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-keyring  # Spin's keyring (spin.toml)
echo "==> building the host (with the same package set as the tests, so they share every build artefact)"
cargo build --release --locked --workspace --exclude tmi-auth-service --exclude tmi-auth-bench --exclude tmi-bench-trivial
