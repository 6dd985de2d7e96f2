#!/usr/bin/env bash
# The whole test suite: unit, store contract on both stores, end to end (test hypervisor and a real
# QEMU guest). Installs and starts what it needs (Cassandra from Maven Central, libvirtd + QEMU),
# and stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/install.sh

started_cassandra=0
if [ -z "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]; then
  if ! bash scripts/cassandra/ctl.sh status >/dev/null 2>&1; then
    bash scripts/cassandra/install.sh
    bash scripts/cassandra/ctl.sh start
    started_cassandra=1
  fi
fi
started_cluster=0
started_ldap=0 # LDAP: set below
cleanup() {
  if [ "$started_cassandra" = 1 ]; then bash scripts/cassandra/ctl.sh stop || true; fi
  if [ "$started_cluster" = 1 ]; then bash scripts/cassandra/ctl.sh stop --cluster || true; fi
  if [ "$started_ldap" = 1 ]; then bash scripts/ldap/ctl.sh stop || true; fi # LDAP
}
trap cleanup EXIT

# Real QEMU for the real-guest end-to-end test (needs root: libvirtd's system instance).
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/qemu/install.sh
  bash scripts/qemu/libvirtd.sh start
  bash scripts/qemu/build-guest.sh "${SKYBUS_CACHE:-$HOME/.cache/skybus}/guest"
  export SKYBUS_REAL_QEMU=1 SKYBUS_AGENT_QEMU=1
fi

# --- LDAP login tests (test/e2e/ldap.test.ts): our own slapd on 127.0.0.1:3890/6360 (scripts/ldap),
# root only like QEMU (apt-get install slapd ldap-utils). One already running is used and left running.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/ldap/install.sh
  if ! bash scripts/ldap/ctl.sh status >/dev/null 2>&1; then
    bash scripts/ldap/ctl.sh start
    started_ldap=1
  fi
  export SKYBUS_REQUIRE_LDAP=1
fi
# --- end LDAP

# --- Dashboard in a real browser (test/e2e/dashboard.test.ts): Debian's chromium through
# playwright-core (apt-get install chromium), root only like LDAP; without root a missing browser skips.
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/chromium/install.sh
  export SKYBUS_REQUIRE_BROWSER=1
fi
# --- end browser

bash scripts/cassandra/ctl.sh wait --timeout 180
export SKYBUS_REQUIRE_CASSANDRA=1
echo "skybus: setup took $(( $(date +%s) - t0 )) s; running tests"
out=$(mktemp)
set +e
npx mocha --reporter spec --exit \
  'dist/test/unit/**/*.test.js' \
  'dist/test/contract/**/*.test.js' \
  'dist/test/e2e/**/*.test.js' 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e

# Fault tests on a three-node ring (RF=3, QUORUM): only when this script runs Cassandra itself
# (an external cluster's nodes cannot be killed from here).
if [ "$rc" -eq 0 ] && [ -z "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ] && [ "$started_cassandra" = 1 ]; then
  bash scripts/cassandra/ctl.sh stop
  started_cassandra=0
  # A fresh ring for every fault test file: a test kills, partitions or restarts nodes, and a node
  # that was down during another test's schema change must not decide the next test's outcome.
  for f in dist/test/faults/*.test.js; do
    bash scripts/cassandra/ctl.sh stop --cluster >/dev/null 2>&1 || true
    bash scripts/cassandra/ctl.sh wipe --cluster
    bash scripts/cassandra/ctl.sh start --cluster
    started_cluster=1
    bash scripts/cassandra/ctl.sh wait --cluster --timeout 240
    set +e
    SKYBUS_FAULTS=1 npx mocha --reporter spec --exit "$f" 2>&1 | tee -a "$out"
    frc=${PIPESTATUS[0]}
    set -e
    if [ "$frc" -ne 0 ]; then rc=$frc; fi
  done
fi
count() { sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -Eo "^ +[0-9]+ $1" | grep -Eo '[0-9]+' | awk '{ s += $1 } END { print s + 0 }' || true; }
passed=$(count passing); failed=$(count failing); skipped=$(count pending)
rm -f "$out"
echo "skybus: whole suite took $(( $(date +%s) - t0 )) s"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${passed:-0}" -eq 0 ] && [ "$rc" -eq 0 ]; then echo "skybus: no test ran" >&2; exit 1; fi
exit "$rc"
