#!/usr/bin/env bash
# The native load generator for `make bench`: Debian's wrk (idempotent; needs root).
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq wrk
fi
