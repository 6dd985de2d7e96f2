#!/usr/bin/env bash
# End-to-end proof that this machine can run a Skybus test guest under libvirt + QEMU (TCG):
#   1. install.sh (fast no-op when done) and libvirtd.sh start
#   2. build-guest.sh ${SKYBUS_CACHE:-$HOME/.cache/skybus}/guest   (cached)
#   3. virsh create a transient domain with user data on the kernel command line, wait
#      (<= 60 s) for the banner and the user data on the serial console log
#   4. virsh shutdown (ACPI power button): must power off within 20 s
#   5. boot again, virsh destroy: must be gone at once
# Exit 0 when all of that works, 1 otherwise. Domains it created are always destroyed.
# Env: SKYBUS_CACHE; SKYBUS_SMOKE_CMDLINE (default "console=ttyS0 quiet"; drop quiet to see
#      kernel boot messages); SKYBUS_SMOKE_KEEP=1 (keep console log + XML in /tmp)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
URI=qemu:///system
NAME=skybus-smoke
CACHE=${SKYBUS_CACHE:-$HOME/.cache/skybus}
GUEST=$CACHE/guest
WORK=$(mktemp -d /tmp/skybus-smoke.XXXXXX)
CONSOLE=$WORK/console.log
XML=$WORK/domain.xml
virsh() { command virsh -q -c "$URI" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
fail() { echo "SMOKE FAIL: $*" >&2; echo "--- console ($CONSOLE) ---" >&2; tail -n 40 "$CONSOLE" >&2 2>/dev/null; exit 1; }

cleanup() {
  virsh destroy "$NAME" >/dev/null 2>&1 || true
  if [ "${SKYBUS_SMOKE_KEEP:-}" = 1 ] || [ "${OK:-0}" != 1 ]; then
    echo "smoke: logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

"$HERE/install.sh" >/dev/null || fail "install.sh failed"
"$HERE/libvirtd.sh" start || fail "libvirtd did not start"
"$HERE/build-guest.sh" "$GUEST" || fail "build-guest.sh failed"
virsh destroy "$NAME" >/dev/null 2>&1 || true   # leftover from an interrupted run

USERDATA="hello from skybus-smoke $$ 'single' \"double\" back\\slash ünïcødé"
UD64=$(printf '%s' "$USERDATA" | base64 -w0)

cat >"$XML" <<XMLEOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initramfs.gz</initrd>
    <cmdline>${SKYBUS_SMOKE_CMDLINE:-console=ttyS0 quiet} skybus.hostname=$NAME skybus.userdata=$UD64</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$CONSOLE'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='$CONSOLE'/>
      <target type='serial' port='0'/>
    </console>
  </devices>
</domain>
XMLEOF

boot() { # -> sets T_BANNER; fails the smoke if banner/userdata missing within 60 s
  rm -f "$CONSOLE"   # libvirt opens the file with append=on: start from an empty file
  local t0; t0=$(now)
  virsh create "$XML" >/dev/null || fail "virsh create failed"
  T_BANNER=
  while :; do
    if [ -z "$T_BANNER" ] && grep -q '^SKYBUS-GUEST-BOOTED ' "$CONSOLE" 2>/dev/null; then
      T_BANNER=$(since "$t0")
    fi
    if grep -q '^SKYBUS-USERDATA-END ' "$CONSOLE" 2>/dev/null; then break; fi
    if [ "$(since "$t0" | cut -d. -f1)" -ge 60 ]; then fail "no banner/userdata within 60 s"; fi
    sleep 0.2
  done
  T_USERDATA=$(since "$t0")
}

gone() { ! virsh domstate "$NAME" >/dev/null 2>&1; }   # transient: gone == shut off

# ---- boot 1: banner, user data, ACPI shutdown ----
boot
echo "smoke: banner after ${T_BANNER} s, user data after ${T_USERDATA} s"
grep -m1 '^SKYBUS-GUEST-BOOTED ' "$CONSOLE"
got=$(sed -n 's/^SKYBUS-USERDATA: //p' "$CONSOLE" | tr -d '\r')
[ "$got" = "$USERDATA" ] || fail "user data mismatch: got [$got] want [$USERDATA]"
echo "smoke: user data round-trips: [$got]"
grep -q "^SKYBUS-GUEST-BOOTED hostname=$NAME " "$CONSOLE" || fail "hostname not applied"

# Wait for the power-button watcher to be armed before pressing the button.
for _ in $(seq 1 50); do grep -q '^SKYBUS-ACPI ' "$CONSOLE" && break; sleep 0.2; done
grep -m1 '^SKYBUS-ACPI ' "$CONSOLE"
t0=$(now)
virsh shutdown "$NAME" >/dev/null || fail "virsh shutdown failed"
SHUT=
while [ "$(since "$t0" | cut -d. -f1)" -lt 20 ]; do
  if gone; then SHUT=$(since "$t0"); break; fi
  sleep 0.2
done
if [ -n "$SHUT" ]; then
  echo "smoke: graceful shutdown (ACPI) powered off after ${SHUT} s"
else
  virsh destroy "$NAME" >/dev/null 2>&1
  fail "guest did not power off within 20 s of virsh shutdown"
fi

# ---- boot 2: destroy ----
boot
echo "smoke: second boot banner after ${T_BANNER} s"
t0=$(now)
virsh destroy "$NAME" >/dev/null || fail "virsh destroy failed"
gone || fail "domain still present after destroy"
echo "smoke: destroy took $(since "$t0") s"

OK=1
echo "SMOKE OK"
