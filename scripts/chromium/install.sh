#!/usr/bin/env bash
# Installs Debian's `chromium` (idempotent) for the dashboard's real-browser test
# (test/e2e/dashboard.test.ts, through playwright-core with executablePath /usr/bin/chromium).
# Root only: as another user it says so and exits 0 (the test then skips, unless
# SKYBUS_REQUIRE_BROWSER=1).
set -euo pipefail

log() { echo "skybus chromium: $*"; }

if [ -x /usr/bin/chromium ]; then
  log "installed: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  log "/usr/bin/chromium is missing and this is not root: not installing (as root: apt-get install chromium)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive

# Wait for a concurrent apt/dpkg run to release its locks (up to 10 min).
if command -v fuser >/dev/null 2>&1; then
  for _ in $(seq 1 60); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; then break; fi
    log "waiting for another apt/dpkg run to finish"
    sleep 10
  done
fi

log "installing chromium"
if ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "skybus chromium: apt-get installed chromium but /usr/bin/chromium is missing" >&2; exit 1; }
log "installed: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
