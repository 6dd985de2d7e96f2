#!/usr/bin/env bash
# Build a tiny Linux guest for Skybus end-to-end tests:
#   OUTDIR/vmlinuz        Debian 12 kernel (linux-image-<ver>-cloud-amd64 by default)
#   OUTDIR/initramfs.gz   busybox-static + /init (see the INIT section below)
# Boot it by direct kernel boot with `console=ttyS0`; see README.md for the domain XML.
#
# Usage: build-guest.sh OUTDIR
# Env:   SKYBUS_GUEST_FLAVOUR  cloud-amd64 (default, smaller and boots faster) | amd64
#        SKYBUS_GUEST_KERNEL   exact package, e.g. linux-image-6.1.0-56-cloud-amd64
#        SKYBUS_GUEST_REBUILD=1  ignore the cache
# Cached: nothing is downloaded or rebuilt when OUTDIR/.stamp matches the kernel package and
# this script's content. Needs busybox-static and cpio (install.sh); root only for mknod.
set -euo pipefail

OUTDIR=${1:?usage: build-guest.sh OUTDIR}
FLAVOUR=${SKYBUS_GUEST_FLAVOUR:-cloud-amd64}
HERE=$(cd "$(dirname "$0")" && pwd)
SELF_HASH=$(sha256sum "$HERE/build-guest.sh" | cut -c1-16)

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

log() { echo "build-guest.sh: $*" >&2; }

# ---- which kernel package -------------------------------------------------------------
kernel_pkg() {
  if [ -n "${SKYBUS_GUEST_KERNEL:-}" ]; then echo "$SKYBUS_GUEST_KERNEL"; return; fi
  # The meta package depends on the current ABI, e.g. linux-image-6.1.0-56-cloud-amd64.
  apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
    sed -n "s/^ *Depends: \(linux-image-[0-9].*-$FLAVOUR\)\$/\1/p" | head -n1
}

# If the cache is complete and the stamp's script hash matches, do not even ask apt.
if [ -z "${SKYBUS_GUEST_REBUILD:-}" ] && [ -s "$OUTDIR/vmlinuz" ] && [ -s "$OUTDIR/initramfs.gz" ] &&
   [ -f "$OUTDIR/.stamp" ] && grep -q "^script=$SELF_HASH\$" "$OUTDIR/.stamp" &&
   { [ -z "${SKYBUS_GUEST_KERNEL:-}" ] || grep -q "^kernel=$SKYBUS_GUEST_KERNEL\$" "$OUTDIR/.stamp"; } &&
   { [ -n "${SKYBUS_GUEST_KERNEL:-}" ] || grep -q "^flavour=$FLAVOUR\$" "$OUTDIR/.stamp"; }; then
  log "cached: $OUTDIR ($(sed -n 's/^kernel=//p' "$OUTDIR/.stamp"))"
  exit 0
fi

PKG=$(kernel_pkg)
if [ -z "$PKG" ]; then
  log "cannot resolve linux-image-$FLAVOUR; running apt-get update"
  apt-get update >/dev/null
  PKG=$(kernel_pkg)
fi
[ -n "$PKG" ] || { log "no kernel package found for flavour $FLAVOUR"; exit 1; }

for tool in cpio gzip; do command -v $tool >/dev/null || { log "missing $tool (run install.sh)"; exit 1; }; done
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
  { log "$BUSYBOX is not the static busybox (apt-get install busybox-static)"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/skybus-guest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# ---- kernel + the two modules needed for the ACPI power button -------------------------
# apt-get download writes into the current directory; _apt cannot write into a mktemp
# dir, which only produces a harmless warning ("Download is performed unsandboxed").
log "downloading $PKG"
( cd "$WORK" && { apt-get download "$PKG" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download "$PKG"; }; } )
DEB=$(ls "$WORK"/*.deb)
dpkg-deb -x "$DEB" "$WORK/k"
VMLINUZ=$(ls "$WORK"/k/boot/vmlinuz-* | head -n1)
[ -s "$VMLINUZ" ] || { log "no /boot/vmlinuz-* in $PKG (try the -unsigned package)"; exit 1; }
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR="$WORK/k/lib/modules/$KVER/kernel"

# ---- initramfs tree --------------------------------------------------------------------
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,lib/modules}
cp "$BUSYBOX" "$R/bin/busybox"
# One symlink per applet (faster than `busybox --install` at every boot).
"$BUSYBOX" --list-full | while read -r path; do
  [ -e "$R/$path" ] || ln -s /bin/busybox "$R/$path"
done
# button.ko: ACPI power button -> input device; evdev.ko: /dev/input/eventN for it.
# Both are modules in Debian kernels; serial 8250 console, devtmpfs, initrd/gzip are built in.
for m in drivers/acpi/button.ko drivers/input/evdev.ko; do
  cp "$MODDIR/$m" "$R/lib/modules/"
done
# Block devices (virtio disks: Skybus volumes and a machine's extra disks, docs/volumes.md). In the
# Debian cloud kernel virtio, its PCI transport and virtio_blk are modules (CONFIG_VIRTIO=m,
# CONFIG_VIRTIO_PCI=m, CONFIG_VIRTIO_BLK=m); listed in load order (each after what it depends on).
# A module absent from the package is built in (another flavour) and simply skipped, here and in /init.
# No filesystem module: tests read and write the raw device (dd), which needs none.
BLOCK_MODULES="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_modern_dev.ko
  drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko"
: >"$R/lib/modules/block.order"
for m in $BLOCK_MODULES; do
  if [ -f "$MODDIR/$m" ]; then
    cp "$MODDIR/$m" "$R/lib/modules/"
    basename "$m" >>"$R/lib/modules/block.order"
  else
    log "$m not in $PKG (built in?): skipped"
  fi
done
# An initial console before devtmpfs is mounted (needs root; /init also re-opens it).
if [ "$(id -u)" = 0 ]; then
  mknod -m 600 "$R/dev/console" c 5 1
  mknod -m 666 "$R/dev/null" c 1 3
fi
echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"

# ---- INIT ------------------------------------------------------------------------------
# Serial-console protocol (one line each, all start with SKYBUS-):
#   SKYBUS-GUEST-BOOTED hostname=<h> uuid=<smbios uuid> kernel=<uname -r> uptime=<s>
#   SKYBUS-USERDATA: <line>          one per line of decoded user data (if any)
#   SKYBUS-USERDATA-END bytes=<n>    after the user data (bytes=0 if none / undecodable)
#   SKYBUS-USERDATA-ERROR <reason>   when skybus.userdata is not valid base64
#   SKYBUS-SSH-KEY: <key line>       one per SSH key in the user data's ssh_authorized_keys list
#   SKYBUS-SSH-KEYS count=<n>        after them (the keys are also in /root/.ssh/authorized_keys)
#   SKYBUS-BLOCK devices=<vda,vdb,...>  the virtio disks the guest sees (before the user data runs)
#   SKYBUS-BLOCK-DEVICE name=<vdX> serial=<s>  one per disk: the guest names disks in PCI order, not by
#                                    libvirt's target dev; the serial identifies one (Skybus volumes:
#                                    the first 20 hex digits of the volume id, docs/volumes.md)
#   SKYBUS-ACPI power-button=<yes|no>  whether graceful shutdown is armed
#   SKYBUS-HEARTBEAT uptime=<s>      every 5 s
#   SKYBUS-GUEST-POWEROFF reason=acpi-power-button   just before powering off
# Kernel command line parameters read from /proc/cmdline:
#   skybus.userdata=<base64 or base64url, padding optional>
#   skybus.hostname=<name>           (default skybus-guest)
#   skybus.heartbeat=<seconds>       (default 5; 0 disables)
# If the user data starts with "#!", it is also run as a script after being printed; its
# output goes to the console. This guest is not cloud-init: it finds SSH keys the way Skybus writes
# them (docs/guest-data.md), as YAML list items `  - "<type> <base64> [comment]"`, in a plain
# #cloud-config or in any 8bit part of a MIME multipart document.
cat >"$R/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# Keep later kernel messages (module loads etc.) from interleaving with our lines; boot
# messages before this point are still on the console (use `quiet` to drop them too).
echo 1 >/proc/sys/kernel/printk

param() { # name -> value of name=... on the kernel command line
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}"; return 0 ;; esac
  done
  return 1
}
up() { cut -d' ' -f1 /proc/uptime; }

# ---- block devices: load virtio + virtio_blk, wait for every virtio disk on the PCI bus ----
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </lib/modules/block.order
want=0
for d in /sys/bus/pci/devices/*; do
  # virtio vendor 0x1af4; block device id 0x1001 (transitional) or 0x1042 (modern)
  [ "$(cat "$d/vendor" 2>/dev/null)" = 0x1af4 ] || continue
  case "$(cat "$d/device" 2>/dev/null)" in 0x1001|0x1042) want=$((want + 1)) ;; esac
done
i=0
while [ "$(ls -d /sys/block/vd* 2>/dev/null | wc -l)" -lt "$want" ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done

HOST=$(param skybus.hostname) || HOST=skybus-guest
hostname "$HOST"
UUID=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null) || UUID=unknown
echo "SKYBUS-GUEST-BOOTED hostname=$HOST uuid=$UUID kernel=$(uname -r) uptime=$(up)"
echo "SKYBUS-BLOCK devices=$(ls /sys/block 2>/dev/null | grep '^vd' | tr '\n' ',' | sed 's/,$//')"
for b in /sys/block/vd*; do
  [ -e "$b" ] && echo "SKYBUS-BLOCK-DEVICE name=${b##*/} serial=$(cat "$b/serial" 2>/dev/null)"
done

# ---- user data ----
if UD=$(param skybus.userdata) && [ -n "$UD" ]; then
  UD=$(echo "$UD" | tr -- '-_' '+/' | tr -d '=')
  case $(( ${#UD} % 4 )) in 2) UD="$UD==" ;; 3) UD="$UD=" ;; esac
  if echo "$UD" | base64 -d >/run/userdata 2>/dev/null; then
    while IFS= read -r line || [ -n "$line" ]; do
      printf 'SKYBUS-USERDATA: %s\n' "$line"
    done </run/userdata
    echo "SKYBUS-USERDATA-END bytes=$(wc -c </run/userdata)"
    if [ "$(head -c 2 /run/userdata)" = "#!" ]; then
      chmod +x /run/userdata
      /run/userdata
    fi
    # ---- SSH keys: a stand-in for cloud-init's ssh_authorized_keys ----
    mkdir -p /root/.ssh && chmod 700 /root/.ssh
    sed -nE 's/^[[:space:]]*-[[:space:]]*"?((ssh-ed25519|ssh-rsa|ecdsa-sha2-[a-z0-9]+) [A-Za-z0-9+\/=]+( [^"]*)?)"?[[:space:]]*$/\1/p' \
      /run/userdata >/root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
    while IFS= read -r key; do
      printf 'SKYBUS-SSH-KEY: %s\n' "$key"
    done </root/.ssh/authorized_keys
    echo "SKYBUS-SSH-KEYS count=$(grep -c . /root/.ssh/authorized_keys)"
  else
    echo "SKYBUS-USERDATA-ERROR invalid-base64"
    echo "SKYBUS-USERDATA-END bytes=0"
  fi
else
  echo "SKYBUS-USERDATA-END bytes=0"
fi

# ---- graceful shutdown: ACPI power button -> poweroff ----
# `virsh shutdown` (virDomainShutdown) without a guest agent presses the ACPI power button.
# button.ko turns it into a key press on an input device; we wait for any event there.
insmod /lib/modules/evdev.ko 2>/dev/null
insmod /lib/modules/button.ko 2>/dev/null
PWR=
for d in /sys/class/input/input*; do
  [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ] || continue
  for e in "$d"/event*; do [ -e "$e" ] && PWR=/dev/input/${e##*/}; done
done
if [ -n "$PWR" ] && [ -c "$PWR" ]; then
  echo "SKYBUS-ACPI power-button=yes device=$PWR"
  (
    dd if="$PWR" of=/dev/null bs=24 count=1 2>/dev/null
    echo "SKYBUS-GUEST-POWEROFF reason=acpi-power-button uptime=$(up)"
    sync
    poweroff -f
  ) &
else
  echo "SKYBUS-ACPI power-button=no"
fi

# ---- stay alive (PID 1 must never exit) ----
HB=$(param skybus.heartbeat) || HB=5
while :; do
  if [ "$HB" -gt 0 ] 2>/dev/null; then
    sleep "$HB"
    echo "SKYBUS-HEARTBEAT uptime=$(up)"
  else
    sleep 3600
  fi
done
INIT
chmod 755 "$R/init"

# ---- pack ------------------------------------------------------------------------------
( cd "$R" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet ) | gzip -9 >"$WORK/initramfs.gz"
install -m 644 "$VMLINUZ" "$OUTDIR/vmlinuz.tmp" && mv -f "$OUTDIR/vmlinuz.tmp" "$OUTDIR/vmlinuz"
install -m 644 "$WORK/initramfs.gz" "$OUTDIR/initramfs.gz.tmp" && mv -f "$OUTDIR/initramfs.gz.tmp" "$OUTDIR/initramfs.gz"
cat >"$OUTDIR/.stamp" <<STAMP
kernel=$PKG
kver=$KVER
flavour=$FLAVOUR
script=$SELF_HASH
STAMP
log "built $OUTDIR/vmlinuz ($KVER, $(du -h "$OUTDIR/vmlinuz" | cut -f1)) and initramfs.gz ($(du -h "$OUTDIR/initramfs.gz" | cut -f1))"
