#!/usr/bin/env bash
# Runs Apache Cassandra for Skybus development and tests, without the tarball:
# one node on 127.0.0.1, or a three-node cluster on 127.0.0.1/.2/.3.
#
# Usage: scripts/cassandra/ctl.sh <command> [--cluster] [options]
#   start  [--cluster]                 start the node(s) in the background; returns at once
#                                      (--cluster: waits for the seed's storage port first)
#   wait   [--cluster] [--timeout S]   block until CQL port(s) accept connections (and, for the
#                                      cluster, every node sees the other two UP); default 180 s
#   status [--cluster]                 pid / port state of each node
#   stop   [--cluster]                 SIGTERM, wait up to 60 s, then SIGKILL
#   wipe   [--cluster]                 stop, then delete the node directories (data, logs)
#
# Environment:
#   SKYBUS_CASSANDRA_CONTACT_POINTS  host[:port][,...] of an external cluster: start/stop/wipe do
#                                    nothing, wait checks the first contact point's port
#   SKYBUS_CACHE                     cache root (jars in $SKYBUS_CACHE/cassandra/lib)
#   SKYBUS_CASSANDRA_HOME            node directories (default ~/.cache/skybus/cassandra-run)
#   SKYBUS_CASSANDRA_HEAP            JVM heap per node (default 1G)
#   SKYBUS_CASSANDRA_VERSION         Cassandra version to install/run (default 5.0.8)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$SCRIPT_DIR/common.sh"

HEAP="${SKYBUS_CASSANDRA_HEAP:-1G}"
CQL_PORT=9042
STORAGE_PORT=7000
STOP_TIMEOUT=60

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# ---------------------------------------------------------------------------
# Topology. A node is "name address jmx_port".
# ---------------------------------------------------------------------------
SINGLE_NODES=("single 127.0.0.1 7199")
# SKYBUS_CASSANDRA_CLUSTER_ADDRS (three addresses, default 127.0.0.1,127.0.0.2,127.0.0.3) and
# SKYBUS_CASSANDRA_CLUSTER_JMX (first JMX port, default 7199; +100 per node) let a developer run the
# ring beside a single node (e.g. 127.0.0.4-6, JMX 7499), with its own SKYBUS_CASSANDRA_HOME.
IFS=',' read -r -a CLUSTER_ADDRS <<<"${SKYBUS_CASSANDRA_CLUSTER_ADDRS:-127.0.0.1,127.0.0.2,127.0.0.3}"
(( ${#CLUSTER_ADDRS[@]} == 3 )) || { echo "SKYBUS_CASSANDRA_CLUSTER_ADDRS must list three addresses" >&2; exit 2; }
JMX0="${SKYBUS_CASSANDRA_CLUSTER_JMX:-7199}"
CLUSTER_NODES=("node1 ${CLUSTER_ADDRS[0]} $JMX0" "node2 ${CLUSTER_ADDRS[1]} $((JMX0 + 100))" "node3 ${CLUSTER_ADDRS[2]} $((JMX0 + 200))")
SEED="${CLUSTER_ADDRS[0]}:$STORAGE_PORT"

node_name() { set -- $1; printf '%s' "$1"; }
node_addr() { set -- $1; printf '%s' "$2"; }
node_jmx()  { set -- $1; printf '%s' "$3"; }

node_dir() { printf '%s/%s' "$RUN_HOME" "$1"; }
pid_file() { printf '%s/cassandra.pid' "$(node_dir "$1")"; }

# node_pid NAME: prints the pid of NAME's Cassandra if it is running, else fails.
# Checks the command line too, so a recycled pid is not mistaken for the node.
node_pid() {
  local name="$1" pf pid
  pf="$(pid_file "$name")"
  [[ -f "$pf" ]] || return 1
  pid="$(cat "$pf" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null \
    | grep -q -- "CassandraDaemon" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null \
    | grep -qF -- "$(node_dir "$name")/cassandra.yaml" || return 1
  printf '%s\n' "$pid"
}

any_running() { # any_running NODE...
  local n
  for n in "$@"; do node_pid "$(node_name "$n")" >/dev/null && return 0; done
  return 1
}

# ---------------------------------------------------------------------------
# Configuration files
# ---------------------------------------------------------------------------
write_logback() {
  local f="$CACHE_DIR/logback.xml"
  mkdir -p "$CACHE_DIR"
  cat >"$f.tmp.$$" <<'EOF'
<!-- Written by skybus scripts/cassandra/ctl.sh. ${cassandra.logdir} is set per node. -->
<configuration scan="false" debug="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.FileAppender">
    <file>${cassandra.logdir}/system.log</file>
    <append>true</append>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="com.datastax" level="WARN"/>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG"/>
  </root>
</configuration>
EOF
  mv -f "$f.tmp.$$" "$f"
}

# write_yaml NAME ADDR CLUSTER(0|1)
write_yaml() {
  local name="$1" addr="$2" cluster="$3" dir cluster_name
  dir="$(node_dir "$name")"
  # The ring is where nodes get killed: commitlog "group" syncs before acknowledging, so a SIGKILL
  # loses no acknowledged write (nor a schema change a node applied seconds before; with "periodic"
  # a killed node came back without a just-created keyspace and never agreed on the schema again).
  local commitlog
  if (( cluster )); then
    cluster_name="skybus-cluster"
    commitlog=$'commitlog_sync: group\ncommitlog_sync_group_window: 20ms'
  else
    cluster_name="skybus-single"
    commitlog=$'commitlog_sync: periodic\ncommitlog_sync_period: 10000ms'
  fi
  cat >"$dir/cassandra.yaml" <<EOF
# Written by skybus scripts/cassandra/ctl.sh for node '$name'. Regenerated on every start.
cluster_name: '$cluster_name'
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
auto_bootstrap: false

$commitlog

seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$SEED"

listen_address: $addr
rpc_address: $addr
storage_port: $STORAGE_PORT
native_transport_port: $CQL_PORT
start_native_transport: true
endpoint_snitch: SimpleSnitch

data_file_directories:
  - $dir/data
commitlog_directory: $dir/commitlog
saved_caches_directory: $dir/saved_caches
hints_directory: $dir/hints
cdc_raw_directory: $dir/cdc_raw

materialized_views_enabled: false
EOF
}

# ---------------------------------------------------------------------------
# Starting
# ---------------------------------------------------------------------------
ensure_installed() {
  if ! jars_installed; then
    log "Cassandra jars not installed yet; running install.sh"
    "$SCRIPT_DIR/install.sh"
  fi
  require_java
}

# launch NODE CLUSTER(0|1): starts one node in the background and records its pid.
launch() {
  local node="$1" cluster="$2" name addr jmx dir pid ring_delay
  name="$(node_name "$node")"; addr="$(node_addr "$node")"; jmx="$(node_jmx "$node")"
  dir="$(node_dir "$name")"

  mkdir -p "$dir"/{data,commitlog,saved_caches,hints,cdc_raw,logs}
  write_yaml "$name" "$addr" "$cluster"
  # Keep the previous run's logs as *.1 so log checks only see this run.
  local f
  for f in system.log stdout.log; do
    if [[ -f "$dir/logs/$f" ]]; then mv -f "$dir/logs/$f" "$dir/logs/$f.1"; fi
  done

  # ring_delay_ms also bounds a non-seed's first gossip round with the seed, hence
  # 1 s for the cluster. shutdown_announce_in_ms (default 2000) is how long a
  # stopping node sleeps after telling its peers; nobody listens on a single node.
  local -a extra
  if (( cluster )); then
    ring_delay=1000
    extra=(-Dcassandra.consistent.rangemovement=false -Dcassandra.shutdown_announce_in_ms=500)
  else
    ring_delay=0
    extra=(-Dcassandra.shutdown_announce_in_ms=0)
  fi

  # JPMS flags are copied verbatim from Cassandra's conf/jvm17-server.options
  # (5.0 branch; java.nio was added on trunk and is harmless here).
  local -a jvm=(
    -Xms"$HEAP" -Xmx"$HEAP" -Xss256k
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300
    -XX:+PerfDisableSharedMem -XX:+ExitOnOutOfMemoryError
    -Djava.net.preferIPv4Stack=true
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -Dcassandra-foreground=yes
    -Dcassandra.config="file://$dir/cassandra.yaml"
    -Dcassandra.storagedir="$dir"
    -Dcassandra.logdir="$dir/logs"
    -Dlogback.configurationFile="file://$CACHE_DIR/logback.xml"
    -Dcassandra.jmx.local.port="$jmx"
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms="$ring_delay"
    "${extra[@]}"
    -cp "$LIB_DIR/*"
    org.apache.cassandra.service.CassandraDaemon
  )

  now >"$dir/started_at"
  # setsid: own session, so a Ctrl-C in the caller's terminal does not reach it.
  nohup setsid java "${jvm[@]}" >"$dir/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$name")"
  sleep 0.3
  if ! node_pid "$name" >/dev/null; then
    err "node $name ($addr) exited immediately; last lines of $dir/logs/stdout.log:"
    tail -n 20 "$dir/logs/stdout.log" >&2 || true
    rm -f "$(pid_file "$name")"
    exit 1
  fi
  log "started node $name on $addr (pid $pid, JMX 127.0.0.1:$jmx, logs $dir/logs/system.log)"
}

# refuse_conflicts CLUSTER(0|1): the single node and the cluster share 127.0.0.1:9042.
refuse_conflicts() {
  local cluster="$1"
  # Only when the ring uses 127.0.0.1 (the default); a ring elsewhere runs beside the single node.
  [[ " ${CLUSTER_ADDRS[*]} " == *" 127.0.0.1 "* ]] || return 0
  if (( cluster )) && any_running "${SINGLE_NODES[@]}"; then
    die "the single node is running on 127.0.0.1:$CQL_PORT; stop it first: $0 stop"
  fi
  if (( ! cluster )) && any_running "${CLUSTER_NODES[@]}"; then
    die "the three-node cluster is running on 127.0.0.1:$CQL_PORT; stop it first: $0 stop --cluster"
  fi
}

# A port held by some other process would make Cassandra fail late and obscurely.
check_ports_free() {
  local node="$1" addr p
  addr="$(node_addr "$node")"
  for p in "$CQL_PORT" "$STORAGE_PORT" "$(node_jmx "$node")"; do
    if [[ "$p" == "$(node_jmx "$node")" ]]; then
      port_open 127.0.0.1 "$p" || continue
      die "port 127.0.0.1:$p (JMX for node $(node_name "$node")) is already in use by another process"
    fi
    if port_open "$addr" "$p"; then
      die "port $addr:$p is already in use by a process these scripts did not start (another Cassandra?)"
    fi
  done
}

cmd_start() {
  local cluster="$1" node name
  if [[ -n "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]]; then
    log "SKYBUS_CASSANDRA_CONTACT_POINTS=$SKYBUS_CASSANDRA_CONTACT_POINTS: using that external cluster, not starting a local one"
    return 0
  fi
  refuse_conflicts "$cluster"

  local -a nodes
  if (( cluster )); then nodes=("${CLUSTER_NODES[@]}"); else nodes=("${SINGLE_NODES[@]}"); fi

  local -a todo=()
  for node in "${nodes[@]}"; do
    name="$(node_name "$node")"
    if pid="$(node_pid "$name")"; then
      log "node $name ($(node_addr "$node")) is already running (pid $pid)"
    else
      todo+=("$node")
    fi
  done
  (( ${#todo[@]} > 0 )) || return 0

  ensure_installed
  write_logback
  for node in "${todo[@]}"; do check_ports_free "$node"; done

  if (( ! cluster )); then
    launch "${todo[0]}" 0
    log "run '$0 wait' to block until CQL is ready on 127.0.0.1:$CQL_PORT"
    return 0
  fi

  # Cluster: the seed first; the others once the seed accepts gossip connections,
  # since a non-seed node gives up if no seed answers its first gossip round.
  local seed="${CLUSTER_NODES[0]}" rest=()
  for node in "${todo[@]}"; do
    if [[ "$node" == "$seed" ]]; then launch "$seed" 1; else rest+=("$node"); fi
  done
  if (( ${#rest[@]} > 0 )); then
    local t0 seedname
    t0="$(now)"; seedname="$(node_name "$seed")"
    log "waiting for the seed's storage port $SEED before starting the other nodes"
    until port_open "${CLUSTER_ADDRS[0]}" "$STORAGE_PORT"; do
      node_pid "$seedname" >/dev/null || {
        err "seed node $seedname died; last lines of its logs:"
        tail -n 20 "$(node_dir "$seedname")/logs/system.log" >&2 2>/dev/null || true
        tail -n 10 "$(node_dir "$seedname")/logs/stdout.log" >&2 2>/dev/null || true
        exit 1
      }
      if awk -v s="$t0" -v e="$(now)" 'BEGIN { exit !(e - s > 120) }'; then
        die "the seed's storage port $SEED did not open within 120 s (see $(node_dir "$seedname")/logs/system.log)"
      fi
      sleep 0.5
    done
    sleep 1
    for node in "${rest[@]}"; do launch "$node" 1; done
  fi
  log "run '$0 wait --cluster' to block until all three nodes are up"
}

# ---------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------
# first_contact_point: "host port" of the first entry of SKYBUS_CASSANDRA_CONTACT_POINTS.
first_contact_point() {
  local cp="${SKYBUS_CASSANDRA_CONTACT_POINTS%%,*}" host port
  cp="${cp//[[:space:]]/}"
  if [[ "$cp" =~ ^\[(.*)\]:([0-9]+)$ ]]; then host="${BASH_REMATCH[1]}"; port="${BASH_REMATCH[2]}"
  elif [[ "$cp" =~ ^([^:]+):([0-9]+)$ ]]; then host="${BASH_REMATCH[1]}"; port="${BASH_REMATCH[2]}"
  else host="$cp"; port="$CQL_PORT"; fi
  printf '%s %s\n' "$host" "$port"
}

timed_out() { awk -v s="$1" -v e="$(now)" -v t="$2" 'BEGIN { exit !(e - s >= t) }'; }

# peers_up NODE: true if NODE's log (this run only) shows every other cluster node as UP,
# i.e. the last "InetAddress /a.b.c.d:7000 is now UP|DOWN" line for each peer says UP.
peers_up() {
  local node="$1" other log last
  log="$(node_dir "$(node_name "$node")")/logs/system.log"
  [[ -f "$log" ]] || return 1
  for other in "${CLUSTER_NODES[@]}"; do
    [[ "$other" == "$node" ]] && continue
    last="$(grep -F "/$(node_addr "$other"):$STORAGE_PORT is now " "$log" | grep -E 'is now (UP|DOWN)' | tail -n 1)"
    [[ "$last" == *"is now UP"* ]] || return 1
  done
}

report_death() {
  local name="$1" dir
  dir="$(node_dir "$name")"
  err "node $name is not running (it died or was never started). Last lines of its logs:"
  grep -E '^(ERROR|WARN)' "$dir/logs/system.log" 2>/dev/null | tail -n 10 >&2 || true
  tail -n 10 "$dir/logs/stdout.log" >&2 2>/dev/null || true
}

cmd_wait() {
  local cluster="$1" timeout="$2" t0 node name
  t0="$(now)"
  if [[ -n "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]]; then
    local host port
    read -r host port < <(first_contact_point)
    log "external cluster (SKYBUS_CASSANDRA_CONTACT_POINTS): waiting for $host:$port"
    until port_open "$host" "$port"; do
      timed_out "$t0" "$timeout" && die "external Cassandra at $host:$port did not accept connections within $timeout s"
      sleep 1
    done
    log "external Cassandra at $host:$port accepts connections (waited $(elapsed "$t0") s)"
    return 0
  fi

  local -a nodes
  if (( cluster )); then nodes=("${CLUSTER_NODES[@]}"); else nodes=("${SINGLE_NODES[@]}"); fi
  for node in "${nodes[@]}"; do
    name="$(node_name "$node")"
    if ! node_pid "$name" >/dev/null; then
      die "node $name is not running; start it first: $0 start$( (( cluster )) && printf ' --cluster')"
    fi
  done

  local pending ready_msg
  while true; do
    pending=()
    for node in "${nodes[@]}"; do
      name="$(node_name "$node")"
      if ! node_pid "$name" >/dev/null; then report_death "$name"; exit 1; fi
      if ! port_open "$(node_addr "$node")" "$CQL_PORT"; then pending+=("$name: CQL port"); continue; fi
      if (( cluster )) && ! peers_up "$node"; then pending+=("$name: peers not UP"); fi
    done
    (( ${#pending[@]} == 0 )) && break
    if timed_out "$t0" "$timeout"; then
      die "not ready after $timeout s (still waiting for: $(IFS=,; echo "${pending[*]}")); see $RUN_HOME/<node>/logs/system.log"
    fi
    sleep 0.5
  done

  # Time since the (last) node was launched, read from its started_at stamp.
  local started latest=0 s
  for node in "${nodes[@]}"; do
    s="$(cat "$(node_dir "$(node_name "$node")")/started_at" 2>/dev/null || echo 0)"
    latest="$(awk -v a="$latest" -v b="$s" 'BEGIN { print (b > a) ? b : a }')"
  done
  started="$(awk -v s="$latest" -v e="$(now)" 'BEGIN { if (s > 0) printf "%.1f", e - s; else print "?" }')"
  if (( cluster )); then
    ready_msg="cluster ready: CQL on $(IFS=,; echo "${CLUSTER_ADDRS[*]}"):$CQL_PORT, every node sees the other two UP"
  else
    ready_msg="single node ready: CQL on 127.0.0.1:$CQL_PORT"
  fi
  log "$ready_msg (waited $(elapsed "$t0") s; $started s since the last node was launched)"
}

# ---------------------------------------------------------------------------
# Status, stop, wipe
# ---------------------------------------------------------------------------
cmd_status() {
  local cluster="$1" node name addr pid state cql any=1
  if [[ -n "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]]; then
    local host port
    read -r host port < <(first_contact_point)
    if port_open "$host" "$port"; then state="accepting connections"; else state="NOT reachable"; fi
    log "external cluster (SKYBUS_CASSANDRA_CONTACT_POINTS=$SKYBUS_CASSANDRA_CONTACT_POINTS): $host:$port $state"
    port_open "$host" "$port"; return
  fi
  local -a nodes
  if (( cluster )); then nodes=("${CLUSTER_NODES[@]}"); else nodes=("${SINGLE_NODES[@]}"); fi
  for node in "${nodes[@]}"; do
    name="$(node_name "$node")"; addr="$(node_addr "$node")"
    if pid="$(node_pid "$name")"; then
      if port_open "$addr" "$CQL_PORT"; then cql="CQL $addr:$CQL_PORT open"; else cql="CQL $addr:$CQL_PORT not open yet"; fi
      state="running (pid $pid), $cql"
      any=0
    elif [[ -d "$(node_dir "$name")" ]]; then
      state="stopped (data in $(node_dir "$name"))"
    else
      state="not created"
    fi
    printf '%-7s %-10s %s\n' "$name" "$addr" "$state"
  done
  return "$any"   # 0 if at least one node is running
}

cmd_stop() {
  local cluster="$1" node name t0
  if [[ -n "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]]; then
    log "SKYBUS_CASSANDRA_CONTACT_POINTS is set: external cluster, nothing local to stop"
    return 0
  fi
  local -a nodes
  if (( cluster )); then nodes=("${CLUSTER_NODES[@]}"); else nodes=("${SINGLE_NODES[@]}"); fi

  t0="$(now)"
  local -A pids=()
  for node in "${nodes[@]}"; do
    name="$(node_name "$node")"
    if pid="$(node_pid "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids[$name]="$pid"
      log "sent SIGTERM to node $name (pid $pid)"
    else
      rm -f "$(pid_file "$name")"
    fi
  done
  if (( ${#pids[@]} == 0 )); then
    log "nothing running"
    return 0
  fi

  while (( ${#pids[@]} > 0 )); do
    for name in "${!pids[@]}"; do
      if ! kill -0 "${pids[$name]}" 2>/dev/null; then
        log "node $name stopped after $(elapsed "$t0") s"
        rm -f "$(pid_file "$name")"
        unset "pids[$name]"
      fi
    done
    (( ${#pids[@]} == 0 )) && break
    if timed_out "$t0" "$STOP_TIMEOUT"; then
      for name in "${!pids[@]}"; do
        err "node $name (pid ${pids[$name]}) did not stop within $STOP_TIMEOUT s; sending SIGKILL"
        kill -KILL "${pids[$name]}" 2>/dev/null || true
      done
      sleep 1
      for name in "${!pids[@]}"; do rm -f "$(pid_file "$name")"; done
      break
    fi
    sleep 0.2
  done
  log "stopped in $(elapsed "$t0") s"
}

cmd_wipe() {
  local cluster="$1" node dir
  if [[ -n "${SKYBUS_CASSANDRA_CONTACT_POINTS:-}" ]]; then
    log "SKYBUS_CASSANDRA_CONTACT_POINTS is set: external cluster, nothing local to wipe"
    return 0
  fi
  cmd_stop "$cluster"
  local -a nodes
  if (( cluster )); then nodes=("${CLUSTER_NODES[@]}"); else nodes=("${SINGLE_NODES[@]}"); fi
  for node in "${nodes[@]}"; do
    dir="$(node_dir "$(node_name "$node")")"
    if [[ -d "$dir" ]]; then
      rm -rf -- "$dir"
      log "deleted $dir"
    fi
  done
  rmdir "$RUN_HOME" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
main() {
  (( $# > 0 )) || { usage >&2; exit 2; }
  local cmd="$1"; shift
  local cluster=0 timeout=180
  while (( $# > 0 )); do
    case "$1" in
      --cluster) cluster=1 ;;
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
    start)  cmd_start "$cluster" ;;
    wait)   cmd_wait "$cluster" "$timeout" ;;
    status) cmd_status "$cluster" ;;
    stop)   cmd_stop "$cluster" ;;
    wipe)   cmd_wipe "$cluster" ;;
    -h|--help|help) usage ;;
    *) usage >&2; die "unknown command: $cmd" ;;
  esac
}

main "$@"
