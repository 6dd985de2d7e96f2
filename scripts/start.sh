#!/usr/bin/env bash
# The main job: installs what is missing, then runs every role in one process on the embedded store
# with one agent on libvirt's test hypervisor, and prints where to point a client.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node dist/cli/skybus.js all "$@"
