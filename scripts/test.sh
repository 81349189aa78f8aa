#!/usr/bin/env bash
# Run every test: core unit tests, host tests (incl. the component's
# import check and the Redis backend), and the end-to-end suite against
# the real host (one host, two hosts on one Redis, crashes and outages).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/install-redis.sh

echo "==> cargo tests"
cargo test --release --locked --workspace --exclude tmi-auth-service --exclude tmi-auth-bench

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
.venv/bin/pytest tests/e2e -q -p no:cacheprovider
