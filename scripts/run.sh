#!/usr/bin/env bash
# Run the service on the embedded default store (redb in ./data) with
# development keys and the test provider. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec target/release/tmi-auth-host serve --dev --listen "${TMI_LISTEN:-127.0.0.1:8080}" --data-dir "${TMI_DATA_DIR:-data}" "$@"
