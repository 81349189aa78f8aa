#!/usr/bin/env bash
# Build the service component (wasm32-wasip2) and the host, both optimised.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building the component"
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-service -p tmi-auth-library  # the library: plugin hosts (README)
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-keyring  # Spin's keyring (spin.toml)
echo "==> building the host (with the same package set as the tests, so they share every build artefact)"
cargo build --release --locked --workspace --exclude tmi-auth-service --exclude tmi-auth-bench --exclude tmi-bench-trivial --exclude tmi-auth-library --exclude tmi-auth-guest
cargo build --release --locked -p tmi-auth-host --example library  # the Rust embedding of the library
