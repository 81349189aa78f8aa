#!/usr/bin/env bash
# Install Debian packages the tests or benchmarks need (redis-server, wrk,
# xz-utils), as root or through sudo. `scripts/apt-install.sh PACKAGE...`
set -euo pipefail
echo "==> installing $* (Debian packages)"
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
