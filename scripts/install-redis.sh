#!/usr/bin/env bash
# A real Redis for the Redis backend's tests, the many-hosts tests and the
# storage benchmark: the Debian package, installed once.
set -euo pipefail
command -v redis-server >/dev/null && exit 0
echo "==> installing redis-server (Debian package)"
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null
