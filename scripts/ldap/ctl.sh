#!/usr/bin/env bash
# Runs Skybus's own OpenLDAP (slapd) for development and tests: not the system instance, but one
# with its own slapd.conf, data, certificates and pid file under $SKYBUS_CACHE/ldap, listening
# only on 127.0.0.1.
#
# Usage: scripts/ldap/ctl.sh <command> [options]
#   start               write the config and certificates, (re)load the test directory if it
#                       changed, start slapd in the background and wait until it answers (~1 s)
#   wait [--timeout S]  block until a bind as the reader account succeeds on ldap:// (StartTLS)
#                       and ldaps:// (default 30 s)
#   status              pid and port state; exit 0 if running
#   stop                SIGTERM, wait up to 10 s, then SIGKILL
#   wipe                stop, then delete the data, certificates and logs
#   env                 print the SKYBUS_LDAP_* settings for this directory (eval-able)
#
# Endpoints: ldap://127.0.0.1:3890 (StartTLS available), ldaps://127.0.0.1:6360.
# CA certificate: $SKYBUS_CACHE/ldap/tls/ca.crt (printed by start). Users and passwords:
# scripts/ldap/directory.ldif. Needs slapd + ldap-utils (scripts/ldap/install.sh).
#
# Environment:
#   SKYBUS_CACHE      cache root (default ~/.cache/skybus)
#   SKYBUS_LDAP_HOME  instance directory (default $SKYBUS_CACHE/ldap)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$SCRIPT_DIR/common.sh"

LDIF_SRC="$SCRIPT_DIR/directory.ldif"
STOP_TIMEOUT=10
# Bump when write_conf changes in a way that needs the database rebuilt.
CONF_VERSION=1

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# slapd_pid: prints the pid of our slapd if it is running, else fails. Checks the command line
# too, so a recycled pid (or the system slapd) is not mistaken for ours.
slapd_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "slapd" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF_FILE" || return 1
  printf '%s\n' "$pid"
}

# ---------------------------------------------------------------------------
# Certificates: a CA and a server certificate for 127.0.0.1/localhost, made once.
# Re-made when missing or when the server certificate expires within a day.
# ---------------------------------------------------------------------------
ensure_certs() {
  mkdir -p "$TLS_DIR"
  chmod 700 "$TLS_DIR"
  if [[ -f "$CA_FILE" && -f "$TLS_DIR/server.crt" && -f "$TLS_DIR/server.key" ]] \
     && openssl x509 -checkend 86400 -noout -in "$TLS_DIR/server.crt" >/dev/null 2>&1 \
     && openssl verify -CAfile "$CA_FILE" "$TLS_DIR/server.crt" >/dev/null 2>&1; then
    return 0
  fi
  log "making a test CA and a server certificate in $TLS_DIR"
  local tmp
  tmp="$(mktemp -d "$TLS_DIR/.new.XXXXXX")"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/O=Skybus test/CN=Skybus test LDAP CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" >/dev/null 2>&1 || die "openssl could not make the CA"
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/O=Skybus test/CN=localhost" \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" >/dev/null 2>&1 || die "openssl could not make the server key"
  cat >"$tmp/ext.cnf" <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
EOF
  openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 825 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/server.crt" >/dev/null 2>&1 || die "openssl could not sign the server certificate"
  chmod 600 "$tmp/ca.key" "$tmp/server.key"
  chmod 644 "$tmp/ca.crt" "$tmp/server.crt"
  local f
  for f in ca.key ca.crt server.key server.crt; do mv -f "$tmp/$f" "$TLS_DIR/$f"; done
  rm -rf -- "$tmp"
}

# ---------------------------------------------------------------------------
# slapd.conf: regenerated on every start.
# ---------------------------------------------------------------------------
write_conf() {
  local root_hash
  root_hash="$(slappasswd -h '{SSHA}' -s "$LDAP_ROOT_PW")"
  cat >"$CONF_FILE.tmp.$$" <<EOF
# Written by skybus scripts/ldap/ctl.sh. Regenerated on every start.
include $SCHEMA_DIR/core.schema
include $SCHEMA_DIR/cosine.schema
include $SCHEMA_DIR/inetorgperson.schema
include $SCHEMA_DIR/nis.schema

modulepath $MODULE_DIR
moduleload back_mdb
moduleload ppolicy

pidfile  $PID_FILE
argsfile $LDAP_HOME/slapd.args

TLSCACertificateFile  $CA_FILE
TLSCertificateFile    $TLS_DIR/server.crt
TLSCertificateKeyFile $TLS_DIR/server.key
TLSProtocolMin        3.3

# Nobody binds anonymously; an unauthenticated bind (DN, empty password) is refused by default.
disallow bind_anon
sizelimit 500
timelimit 10

database mdb
maxsize  67108864
suffix   "$LDAP_SUFFIX"
rootdn   "$LDAP_ROOT_DN"
rootpw   $root_hash
directory $DATA_DIR
index objectClass eq
index uid eq
index member eq

overlay ppolicy
ppolicy_default "cn=default,ou=policies,$LDAP_SUFFIX"

access to dn.base="" by * read
access to dn.base="cn=Subschema" by * read
access to attrs=userPassword
  by anonymous auth
  by * none
access to dn.subtree="$LDAP_SUFFIX"
  by dn.exact="$LDAP_READER_DN" read
  by self read
  by * none
EOF
  mv -f "$CONF_FILE.tmp.$$" "$CONF_FILE"
}

# The LDIF with every cleartext userPassword replaced by its {SSHA} hash.
hashed_ldif() {
  local line pw
  while IFS= read -r line || [[ -n "$line" ]]; do
    if [[ "$line" == "userPassword: "* ]]; then
      pw="${line#userPassword: }"
      printf 'userPassword: %s\n' "$(slappasswd -h '{SSHA}' -s "$pw")"
    else
      printf '%s\n' "$line"
    fi
  done <"$LDIF_SRC"
}

# (Re)loads the directory when it is missing or directory.ldif / the config version changed.
ensure_data() {
  local want have=""
  want="$(cat "$LDIF_SRC" | sha256sum | cut -d' ' -f1)-v$CONF_VERSION"
  [[ -f "$DATA_DIR/.loaded" ]] && have="$(cat "$DATA_DIR/.loaded")"
  if [[ "$want" == "$have" && -f "$DATA_DIR/data.mdb" ]]; then return 0; fi
  log "loading the test directory ($LDIF_SRC) into $DATA_DIR"
  rm -rf -- "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  chmod 700 "$DATA_DIR"
  local out
  if ! out="$(hashed_ldif | slapadd -f "$CONF_FILE" -q 2>&1)"; then
    err "slapadd failed:"; printf '%s\n' "$out" >&2
    rm -rf -- "$DATA_DIR"
    exit 1
  fi
  printf '%s\n' "$want" >"$DATA_DIR/.loaded"
}

check_ports_free() {
  local p
  for p in "$LDAP_PORT" "$LDAPS_PORT"; do
    if port_open "$LDAP_HOST" "$p"; then
      die "port $LDAP_HOST:$p is already in use by a process these scripts did not start"
    fi
  done
}

# ---------------------------------------------------------------------------
# Readiness: real binds as the reader account, over StartTLS and over ldaps://, verifying the
# server certificate against our CA (so a broken TLS setup fails here, not in the tests).
# ---------------------------------------------------------------------------
ready() {
  LDAPTLS_CACERT="$CA_FILE" LDAPTLS_REQCERT=demand LDAPCONF=/dev/null \
    ldapwhoami -x -ZZ -o nettimeout=2 -H "ldap://$LDAP_HOST:$LDAP_PORT" -D "$LDAP_READER_DN" -w "$LDAP_READER_PW" >/dev/null 2>&1 || return 1
  LDAPTLS_CACERT="$CA_FILE" LDAPTLS_REQCERT=demand LDAPCONF=/dev/null \
    ldapwhoami -x -o nettimeout=2 -H "ldaps://$LDAP_HOST:$LDAPS_PORT" -D "$LDAP_READER_DN" -w "$LDAP_READER_PW" >/dev/null 2>&1 || return 1
}

cmd_wait() {
  local timeout="$1" t0
  t0="$(now)"
  slapd_pid >/dev/null || die "slapd is not running; start it first: $0 start"
  until ready; do
    if ! slapd_pid >/dev/null; then
      err "slapd died; last lines of $LOG_FILE:"; tail -n 20 "$LOG_FILE" >&2 || true; exit 1
    fi
    if timed_out "$t0" "$timeout"; then
      die "slapd did not answer a bind within $timeout s (see $LOG_FILE)"
    fi
    sleep 0.2
  done
  log "ready: ldap://$LDAP_HOST:$LDAP_PORT (StartTLS) and ldaps://$LDAP_HOST:$LDAPS_PORT, CA $CA_FILE (waited $(elapsed "$t0") s)"
}

cmd_start() {
  local pid t0
  t0="$(now)"
  if pid="$(slapd_pid)"; then
    log "already running (pid $pid): ldap://$LDAP_HOST:$LDAP_PORT, ldaps://$LDAP_HOST:$LDAPS_PORT, CA $CA_FILE"
    return 0
  fi
  packages_installed || { log "slapd not installed yet; running install.sh"; "$SCRIPT_DIR/install.sh"; }
  rm -f "$PID_FILE"
  mkdir -p "$LDAP_HOME"
  chmod 700 "$LDAP_HOME"
  check_ports_free
  ensure_certs
  write_conf
  mkdir -p "$DATA_DIR"
  slaptest -u -f "$CONF_FILE" >/dev/null 2>&1 || { slaptest -u -f "$CONF_FILE" >&2 || true; die "slaptest rejected $CONF_FILE"; }
  ensure_data
  if [[ -f "$LOG_FILE" ]]; then mv -f "$LOG_FILE" "$LOG_FILE.1"; fi
  # -d stats keeps slapd in the foreground and logs connections/operations to the log file
  # (there is no syslog here). setsid: a Ctrl-C in the caller's terminal does not reach it.
  nohup setsid /usr/sbin/slapd -d stats -f "$CONF_FILE" \
    -h "ldap://$LDAP_HOST:$LDAP_PORT/ ldaps://$LDAP_HOST:$LDAPS_PORT/" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  # slapd writes the pid file itself once it is listening; write it now so stop works at once.
  printf '%s\n' "$pid" >"$PID_FILE"
  sleep 0.2
  if ! slapd_pid >/dev/null; then
    err "slapd exited immediately; last lines of $LOG_FILE:"; tail -n 20 "$LOG_FILE" >&2 || true
    rm -f "$PID_FILE"; exit 1
  fi
  log "started slapd (pid $pid, log $LOG_FILE) in $(elapsed "$t0") s"
  cmd_wait 30
}

cmd_status() {
  local pid state p
  if pid="$(slapd_pid)"; then
    state="running (pid $pid)"
    for p in "$LDAP_PORT" "$LDAPS_PORT"; do
      if port_open "$LDAP_HOST" "$p"; then state+=", $LDAP_HOST:$p open"; else state+=", $LDAP_HOST:$p NOT open"; fi
    done
    log "$state; CA $CA_FILE; data $DATA_DIR"
    return 0
  fi
  if [[ -d "$DATA_DIR" ]]; then log "stopped (data in $DATA_DIR)"; else log "not created"; fi
  return 1
}

cmd_stop() {
  local pid t0
  t0="$(now)"
  if ! pid="$(slapd_pid)"; then
    rm -f "$PID_FILE"
    log "nothing running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if timed_out "$t0" "$STOP_TIMEOUT"; then
      err "slapd (pid $pid) did not stop within $STOP_TIMEOUT s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE"
  log "stopped slapd (pid $pid) in $(elapsed "$t0") s"
}

cmd_wipe() {
  cmd_stop
  if [[ -d "$LDAP_HOME" ]]; then
    rm -rf -- "$LDAP_HOME"
    log "deleted $LDAP_HOME"
  fi
}

cmd_env() {
  cat <<EOF
export SKYBUS_LDAP_URL=ldap://$LDAP_HOST:$LDAP_PORT
export SKYBUS_LDAP_STARTTLS=true
export SKYBUS_LDAP_CA_FILE=$CA_FILE
export SKYBUS_LDAP_BIND_DN='$LDAP_READER_DN'
export SKYBUS_LDAP_BIND_PASSWORD='$LDAP_READER_PW'
export SKYBUS_LDAP_SEARCH_BASE='ou=people,$LDAP_SUFFIX'
export SKYBUS_LDAP_GROUP_SEARCH_BASE='ou=groups,$LDAP_SUFFIX'
export SKYBUS_LDAP_GROUPS='cn=research,ou=groups,$LDAP_SUFFIX=research:user;cn=cloud-admins,ou=groups,$LDAP_SUFFIX=:admin'
EOF
}

# ---------------------------------------------------------------------------
main() {
  (( $# > 0 )) || { usage >&2; exit 2; }
  local cmd="$1"; shift
  local timeout=30
  while (( $# > 0 )); do
    case "$1" in
      --timeout)
        [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds"
        timeout="$2"; shift ;;
      --timeout=*)
        timeout="${1#--timeout=}"
        [[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout needs a number of seconds" ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown argument: $1 (see $0 --help)" ;;
    esac
    shift
  done
  case "$cmd" in
    start)  cmd_start ;;
    wait)   cmd_wait "$timeout" ;;
    status) cmd_status ;;
    stop)   cmd_stop ;;
    wipe)   cmd_wipe ;;
    env)    cmd_env ;;
    -h|--help|help) usage ;;
    *) usage >&2; die "unknown command: $cmd" ;;
  esac
}

main "$@"
