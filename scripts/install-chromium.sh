#!/bin/sh
# Idempotent: the browser tests drive Debian's chromium (no `playwright install`).
# As root on a clean machine it installs the package; otherwise it says why it
# skipped, and the browser tests mark themselves skipped.
set -e
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-chromium: not root and /usr/bin/chromium missing; browser tests will skip" >&2
    exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
    echo "install-chromium: no apt-get; browser tests will skip" >&2
    exit 0
}
{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; } >&2
