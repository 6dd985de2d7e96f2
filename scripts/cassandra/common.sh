# shellcheck shell=bash
# Shared settings for scripts/cassandra/*.sh. Sourced, not executed.

CASSANDRA_VERSION="${SKYBUS_CASSANDRA_VERSION:-5.0.8}"
CACHE_DIR="${SKYBUS_CACHE:-$HOME/.cache/skybus}/cassandra"
LIB_DIR="$CACHE_DIR/lib"
MARKER="$LIB_DIR/.complete"
RUN_HOME="${SKYBUS_CASSANDRA_HOME:-$HOME/.cache/skybus/cassandra-run}"

log() { printf '[cassandra] %s\n' "$*"; }
err() { printf '[cassandra] ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

# Seconds since the epoch with millisecond precision, e.g. 1732370000.123
now() { date +%s.%3N; }
# elapsed START -> "12.3"
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# True when the jars for CASSANDRA_VERSION are fully installed.
jars_installed() {
  [[ -f "$MARKER" ]] && [[ "$(cat "$MARKER" 2>/dev/null)" == "$CASSANDRA_VERSION" ]]
}

# java_major: prints the major version of `java` on PATH (8, 11, 17, 21...).
java_major() {
  local v
  v="$(java -version 2>&1 | awk -F'"' '/ version /{ print $2; exit }')"
  [[ -n "$v" ]] || return 1
  if [[ "$v" == 1.* ]]; then v="${v#1.}"; fi
  printf '%s\n' "${v%%[.+-]*}"
}

# require_java: exits with a clear message unless Java >= 17 is on PATH.
require_java() {
  if ! command -v java >/dev/null 2>&1; then
    die "Java 17 is required but 'java' is not on PATH: apt-get install openjdk-17-jre-headless"
  fi
  local major
  major="$(java_major)" || die "could not read the version of 'java' ($(command -v java)); Java 17 is required: apt-get install openjdk-17-jre-headless"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || (( major < 17 )); then
    die "Java 17 is required, found Java $major at $(command -v java): apt-get install openjdk-17-jre-headless"
  fi
}

# port_open HOST PORT: true if a TCP connection to HOST:PORT succeeds within 2 s.
port_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
}
