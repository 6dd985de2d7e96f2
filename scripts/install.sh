#!/usr/bin/env bash
# Installs everything Skybus needs on a fresh Debian machine (idempotent): system packages for the
# libvirt binding and the test hypervisor, npm dependencies (native ones build from source), and
# the TypeScript build. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for p in libvirt-dev libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients pkg-config g++ make python3 qemu-utils; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "skybus: installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "skybus: Node.js 20 or newer is required (apt-get install nodejs, or nodesource)" >&2
  exit 1
fi

stamp=node_modules/.skybus-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "skybus: installing npm dependencies (better-sqlite3 and the libvirt binding build from source, ~2-3 min)"
  npm ci --no-fund --no-audit --loglevel=error
  # Native modules: make sure both really built (their install scripts are allow-listed in package.json).
  node -e 'require("better-sqlite3")' 2>/dev/null || npm rebuild better-sqlite3 --loglevel=error
  node --input-type=module -e 'await import("@unraid/libvirt")' 2>/dev/null || npm rebuild @unraid/libvirt --loglevel=error
  node -e 'require("better-sqlite3")'
  node --input-type=module -e 'await import("@unraid/libvirt")'
  touch "$stamp"
fi

echo "skybus: building"
npm run build --silent
