#!/usr/bin/env bash
# Run every test: core unit tests, host tests (incl. the component's
# import check and the Redis backend), and the end-to-end suite against
# the real host (one host, two hosts on one Redis, crashes and outages),
# then again against `spin up` (sqlite, and two instances on one Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
command -v redis-server >/dev/null || scripts/apt-install.sh redis-server  # a real Redis for the Redis tests

echo "==> cargo tests"
cargo test --release --locked --workspace --exclude tmi-auth-service --exclude tmi-auth-bench --exclude tmi-bench-trivial --exclude tmi-auth-library --exclude tmi-auth-guest --exclude tmi-auth-middleware --exclude tmi-auth-middleware-example

echo "==> end-to-end tests"
if [ ! -x .venv/bin/pytest ] || ! cmp -s tests/requirements.txt .venv/requirements.txt; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt .venv/requirements.txt
fi
# The local OpenID Connect provider (oauth2-mock-server) of the upstream tests.
if [ ! -d tests/node_modules/oauth2-mock-server ] || ! cmp -s tests/package-lock.json tests/node_modules/.tmi-package-lock.json; then
    npm ci --prefix tests --no-audit --no-fund --loglevel=error
    cp tests/package-lock.json tests/node_modules/.tmi-package-lock.json
fi
echo "==> end-to-end tests against tmi-auth-host"
.venv/bin/pytest tests/e2e -q -p no:cacheprovider

# The same suite against the same component under a real `spin up`
# (tests/e2e/hosts.py). The Spin CLI comes from ../shared (CI) or PATH.
spin_bin=""
if [ -x ../shared/tools/spin/get-spin ]; then
    command -v xz >/dev/null || scripts/apt-install.sh xz-utils
    spin_bin=$(realpath "$(../shared/tools/spin/get-spin)")
elif command -v spin >/dev/null; then
    spin_bin=$(command -v spin)
fi
if [ -n "$spin_bin" ]; then
    echo "==> end-to-end tests against spin up ($("$spin_bin" --version))"
    SPIN="$spin_bin" TMI_E2E_RUNTIME=spin .venv/bin/pytest tests/e2e -q -p no:cacheprovider
else
    echo "!!! SKIPPED: the end-to-end suite under Spin: no Spin CLI (../shared/tools/spin/get-spin or spin on PATH) !!!" >&2
fi

# Every fuzz target (fuzz/) for a short run on each commit: the regressions
# replayed, then 15 s of libFuzzer each (scripts/fuzz.sh 600 for a long run).
echo "==> fuzzing (15 s per target)"
scripts/fuzz.sh 15
