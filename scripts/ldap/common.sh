# shellcheck shell=bash
# Shared settings for scripts/ldap/*.sh. Sourced, not executed.

LDAP_HOME="${SKYBUS_LDAP_HOME:-${SKYBUS_CACHE:-$HOME/.cache/skybus}/ldap}"
LDAP_HOST=127.0.0.1
LDAP_PORT=3890     # ldap:// (plain, StartTLS available)
LDAPS_PORT=6360    # ldaps:// (TLS from the first byte)
LDAP_SUFFIX="dc=skybus,dc=test"
LDAP_ROOT_DN="cn=admin,$LDAP_SUFFIX"
LDAP_ROOT_PW="admin-secret"
LDAP_READER_DN="cn=skybus-reader,ou=services,$LDAP_SUFFIX"
LDAP_READER_PW="reader-secret"

CONF_FILE="$LDAP_HOME/slapd.conf"
DATA_DIR="$LDAP_HOME/data"
TLS_DIR="$LDAP_HOME/tls"
CA_FILE="$TLS_DIR/ca.crt"
PID_FILE="$LDAP_HOME/slapd.pid"
LOG_FILE="$LDAP_HOME/slapd.log"
MODULE_DIR=/usr/lib/ldap
SCHEMA_DIR=/etc/ldap/schema

log() { printf '[ldap] %s\n' "$*"; }
err() { printf '[ldap] ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

# Seconds since the epoch with millisecond precision, e.g. 1732370000.123
now() { date +%s.%3N; }
# elapsed START -> "0.4"
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }
timed_out() { awk -v s="$1" -v e="$(now)" -v t="$2" 'BEGIN { exit !(e - s >= t) }'; }

# port_open HOST PORT: true if a TCP connection to HOST:PORT succeeds within 2 s.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
}

# True when the Debian packages this needs are installed.
packages_installed() {
  command -v slapd >/dev/null 2>&1 || [[ -x /usr/sbin/slapd ]] || return 1
  command -v ldapwhoami >/dev/null 2>&1 || return 1
  command -v openssl >/dev/null 2>&1 || return 1
  [[ -f "$MODULE_DIR/back_mdb.so" && -f "$MODULE_DIR/ppolicy.so" && -f "$SCHEMA_DIR/inetorgperson.schema" ]]
}
