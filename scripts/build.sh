#!/usr/bin/env bash
# Build the components (wasm32-wasip2: the service, the library, Spin's
# keyring, the auth middleware composed with its example app) and the host,
# all optimised.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building the components"
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-service -p tmi-auth-library \
    -p tmi-auth-middleware -p tmi-auth-middleware-example
# Apart: its RustCrypto keys must not become a feature of the service's build.
cargo build --release --locked --target wasm32-wasip2 -p tmi-auth-keyring  # Spin's keyring (spin.toml)
echo "==> composing the auth middleware with its example app (components/middleware)"
wac_version=0.12.0
if [ "$(target/tools/bin/wac --version 2>/dev/null)" != "wac-cli $wac_version" ]; then
    # Without the registry client (plug needs none): a third of the build time.
    cargo install wac-cli --version "$wac_version" --locked --no-default-features --root target/tools
fi
wasm=target/wasm32-wasip2/release
target/tools/bin/wac plug "$wasm/tmi_auth_middleware.wasm" --plug "$wasm/tmi_auth_middleware_example.wasm" \
    -o "$wasm/tmi_auth_middleware_composed.wasm"
echo "==> building the host (with the same package set as the tests, so they share every build artefact)"
cargo build --release --locked --workspace --exclude tmi-auth-service --exclude tmi-auth-bench --exclude tmi-bench-trivial --exclude tmi-auth-library --exclude tmi-auth-guest --exclude tmi-auth-middleware --exclude tmi-auth-middleware-example
cargo build --release --locked -p tmi-auth-host --example library  # the Rust embedding of the library
