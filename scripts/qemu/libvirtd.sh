#!/usr/bin/env bash
# Start / stop / query virtlogd + libvirtd without systemd (none runs in this sandbox).
#   libvirtd.sh start   # idempotent; waits up to 30 s until `virsh -c qemu:///system version` works
#   libvirtd.sh stop    # stops both daemons; running QEMU guests keep running and are
#                       # re-attached by the next start (destroy them first if unwanted)
#   libvirtd.sh restart
#   libvirtd.sh status  # exit 0 if qemu:///system answers
# Logs: /var/log/libvirt/libvirtd.log, /var/log/libvirt/virtlogd.log
set -euo pipefail

URI=qemu:///system
LOGDIR=/var/log/libvirt
RUNDIR=/run/libvirt

pid_of() { # name -> prints pid if the daemon from its pid file is alive
  local f=/run/$1.pid pid
  [ -r "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

virsh_ok() { timeout 10 virsh -c "$URI" version >/dev/null 2>&1; }

start_once() {
  mkdir -p "$LOGDIR/qemu" "$RUNDIR" /var/lib/libvirt/qemu
  if ! pid_of virtlogd >/dev/null; then
    rm -f /run/virtlogd.pid
    LIBVIRT_LOG_OUTPUTS="3:file:$LOGDIR/virtlogd.log" virtlogd -d
  fi
  if ! pid_of libvirtd >/dev/null; then
    rm -f /run/libvirtd.pid
    LIBVIRT_LOG_OUTPUTS="3:file:$LOGDIR/libvirtd.log" libvirtd -d
  fi
  for _ in $(seq 1 60); do
    if virsh_ok; then
      echo "libvirtd.sh: $URI is up (libvirtd pid $(pid_of libvirtd || echo ?))"
      return 0
    fi
    sleep 0.5
  done
  return 1
}

start() {
  if [ "$(id -u)" != 0 ]; then echo "libvirtd.sh: must run as root" >&2; exit 1; fi
  start_once && return 0
  # Once seen after the daemons were killed: a start that never answers. Clear everything and retry.
  echo "libvirtd.sh: $URI did not answer within 30 s; restarting the daemons once" >&2
  pkill -9 -x libvirtd 2>/dev/null || true
  pkill -9 -x virtlogd 2>/dev/null || true
  sleep 1
  rm -f /run/libvirtd.pid /run/virtlogd.pid
  start_once && return 0
  echo "libvirtd.sh: $URI did not answer; see $LOGDIR/libvirtd.log" >&2
  tail -n 20 "$LOGDIR/libvirtd.log" >&2 2>/dev/null || true
  return 1
}

stop_one() {
  local name=$1 pid
  pid=$(pid_of "$name") || { echo "libvirtd.sh: $name not running"; return 0; }
  kill "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { echo "libvirtd.sh: $name stopped"; return 0; }
    sleep 0.2
  done
  kill -9 "$pid" 2>/dev/null || true
  echo "libvirtd.sh: $name killed"
}

stop() {
  stop_one libvirtd
  stop_one virtlogd
}

status() {
  local rc=0
  for n in virtlogd libvirtd; do
    if p=$(pid_of $n); then echo "$n: running (pid $p)"; else echo "$n: not running"; rc=1; fi
  done
  if virsh_ok; then echo "$URI: answering"; else echo "$URI: not answering"; rc=1; fi
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
