#!/usr/bin/env bash
# Prepare this Debian 12 machine to run real QEMU (TCG) guests through libvirtd.
# Idempotent: safe to run any number of times.
#   - installs the minimal libvirt + QEMU + busybox package set (skips apt when all present)
#   - creates the kvm / libvirt / libvirt-qemu groups and the libvirt-qemu user
#   - writes the few /etc/libvirt/qemu.conf settings this sandbox needs
# Needs root. Does NOT start the daemons: see libvirtd.sh.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: must run as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Debian 12 (bookworm) package names. We deliberately avoid libvirt-daemon-system:
# it pulls in systemd units, polkit, iptables, the default network, etc., none of
# which is wanted (or working) in a sandbox without a running systemd.
PACKAGES=(
  libvirt-daemon              # libvirtd + virtlogd
  libvirt-daemon-driver-qemu  # qemu:///system driver
  libvirt-clients             # virsh
  qemu-system-x86             # /usr/bin/qemu-system-x86_64
  busybox-static              # guest userland (build-guest.sh)
  cpio gzip                   # initramfs packing
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

export DEBIAN_FRONTEND=noninteractive
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install.sh: installing ${missing[*]}"
  # Wait for a concurrent apt/dpkg run to release its locks (up to 10 min).
  for _ in $(seq 1 60); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1; then break; fi
    sleep 10
  done
  if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  echo "install.sh: packages already installed"
fi

# Groups and the user libvirt's Debian build runs QEMU as by default.
for g in kvm libvirt libvirt-qemu; do
  getent group "$g" >/dev/null || groupadd --system "$g"
done
if ! getent passwd libvirt-qemu >/dev/null; then
  useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt \
    --no-create-home --shell /usr/sbin/nologin libvirt-qemu
fi
usermod -a -G kvm libvirt-qemu

mkdir -p /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/qemu /etc/libvirt

# /etc/libvirt/qemu.conf: without libvirt-daemon-system the file does not exist and
# libvirtd uses compiled-in defaults (qemu runs as libvirt-qemu, DAC relabelling on).
# We run QEMU as root so kernel/initrd/console files may live anywhere (e.g. under
# /root/.cache, which libvirt-qemu cannot traverse), and turn off the pieces that
# need a real host setup. Each key is set in place (or appended) so an existing
# file is edited, not replaced.
CONF=/etc/libvirt/qemu.conf
touch "$CONF"
before=$(sha256sum "$CONF")
set_key() { # key value
  local key=$1 value=$2
  if grep -qE "^[[:space:]]*${key}[[:space:]]*=" "$CONF"; then
    sed -i -E "s|^[[:space:]]*${key}[[:space:]]*=.*|${key} = ${value}|" "$CONF"
  else
    printf '%s = %s\n' "$key" "$value" >>"$CONF"
  fi
}
grep -q 'skybus scripts/qemu/install.sh' "$CONF" ||
  printf '# Keys user, group, dynamic_ownership, remember_owner, security_driver are managed by\n# skybus scripts/qemu/install.sh\n' >>"$CONF"
set_key user '"root"'
set_key group '"root"'
set_key dynamic_ownership 0
set_key remember_owner 0
set_key security_driver '"none"'

# libvirtd reads qemu.conf only at start: restart it if it runs and the file changed.
# (Running guests survive a libvirtd restart.)
if [ "$before" != "$(sha256sum "$CONF")" ] && [ -r /run/libvirtd.pid ] &&
   kill -0 "$(cat /run/libvirtd.pid)" 2>/dev/null; then
  echo "install.sh: $CONF changed; restarting libvirtd"
  "$(dirname "$0")/libvirtd.sh" restart
fi
echo "install.sh: done"
