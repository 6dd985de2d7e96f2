#!/usr/bin/env bash
# Installs Apache Cassandra (server jars only) from Maven Central into
# ${SKYBUS_CACHE:-$HOME/.cache/skybus}/cassandra/lib. Idempotent.
#
# Maven Central carries no Cassandra tarball, but it does carry
# org.apache.cassandra:cassandra-all; its runtime dependency closure is
# everything CassandraDaemon needs. ctl.sh writes the yaml and JVM flags.
#
# Usage: scripts/cassandra/install.sh [--force]
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$SCRIPT_DIR/common.sh"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument: $arg (usage: install.sh [--force])" ;;
  esac
done

START="$(now)"

require_java
command -v mvn >/dev/null 2>&1 || die "Maven is required but 'mvn' is not on PATH: apt-get install maven"

mkdir -p "$CACHE_DIR"

# Serialise concurrent installs (e.g. two test runs starting at once).
exec 9>"$CACHE_DIR/.install.lock"
if ! flock -w 600 9; then
  die "another install holds $CACHE_DIR/.install.lock for more than 10 minutes"
fi

if (( FORCE == 0 )) && jars_installed; then
  log "Cassandra $CASSANDRA_VERSION already installed in $LIB_DIR ($(find "$LIB_DIR" -name '*.jar' | wc -l) jars)"
  exit 0
fi

log "installing Cassandra $CASSANDRA_VERSION (cassandra-all and its runtime dependencies) from Maven Central into $LIB_DIR"

cat >"$CACHE_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by skybus scripts/cassandra/install.sh: only used to fetch Cassandra's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.skybus</groupId>
  <artifactId>skybus-cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>${CASSANDRA_VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF

TMP_LIB="$CACHE_DIR/lib.tmp.$$"
MVN_LOG="$CACHE_DIR/install-mvn.log"
rm -rf "$TMP_LIB"
trap 'rm -rf "$TMP_LIB"' EXIT

if ! mvn -B -q -f "$CACHE_DIR/pom.xml" \
      dependency:copy-dependencies \
      -DincludeScope=runtime \
      -DoutputDirectory="$TMP_LIB" >"$MVN_LOG" 2>&1; then
  err "Maven could not fetch org.apache.cassandra:cassandra-all:$CASSANDRA_VERSION and its dependencies."
  err "Last lines of $MVN_LOG:"
  grep -E '^\[(ERROR|WARNING)\]' "$MVN_LOG" | grep -v 'Re-run Maven\|^\[ERROR\] *$\|-> \[Help' | head -n 15 >&2 || tail -n 15 "$MVN_LOG" >&2
  exit 1
fi

jar_count="$(find "$TMP_LIB" -maxdepth 1 -name '*.jar' | wc -l)"
if [[ ! -f "$TMP_LIB/cassandra-all-$CASSANDRA_VERSION.jar" ]]; then
  die "Maven finished but $TMP_LIB/cassandra-all-$CASSANDRA_VERSION.jar is missing (see $MVN_LOG)"
fi

rm -rf "$LIB_DIR"
mv "$TMP_LIB" "$LIB_DIR"
trap - EXIT
printf '%s\n' "$CASSANDRA_VERSION" >"$MARKER"

log "installed $jar_count jars ($(du -sh "$LIB_DIR" | cut -f1)) in $(elapsed "$START") s"
