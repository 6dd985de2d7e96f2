#!/usr/bin/env bash
# Installs what scripts/ldap/ctl.sh needs on Debian 12 (idempotent): the `slapd` and `ldap-utils`
# packages (and openssl). slapd is preseeded with slapd/no_configuration=true, so the package
# creates no database of its own; the system instance is never configured or started by us —
# ctl.sh runs a separate slapd with its own slapd.conf, data and ports. Needs root (or sudo).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$SCRIPT_DIR/common.sh"

if packages_installed; then
  log "slapd, ldap-utils and openssl are installed"
  exit 0
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "run as root (apt-get install slapd ldap-utils openssl)"
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# No default database, no admin password prompt: our instance has its own config.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections

# Wait for a concurrent apt/dpkg run to release its locks (up to 10 min).
for _ in $(seq 1 60); do
  if ! $SUDO fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; then break; fi
  log "waiting for another apt/dpkg run to finish"
  sleep 10
done

log "installing slapd ldap-utils openssl"
if ! $SUDO apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends slapd ldap-utils openssl >/dev/null
fi
packages_installed || die "slapd/ldap-utils installed but $MODULE_DIR/back_mdb.so, ppolicy.so or $SCHEMA_DIR/inetorgperson.schema is missing"
log "installed: $(/usr/sbin/slapd -VV 2>&1 | head -n 1 | sed 's/^@(#) \$OpenLDAP: //; s/ (.*//')"
